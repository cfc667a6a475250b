# shellcheck shell=bash
# bench/lib/common.sh — the helpers every benchmark script uses (sourced,
# not run): messages, the Debian package check, free loopback ports and
# waiting for processes and ports.  Before sourcing: NAME (the script's
# name for messages).

say() { printf '%s: %s\n' "$NAME" "$*"; }
die() { printf '%s: ERROR: %s\n' "$NAME" "$*" >&2; exit 1; }

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# a free TCP port on 127.0.0.1
free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                      LocalPort => 0, ReuseAddr => 1) or die $!;
        print $s->sockport'
}

wait_gone() {  # pid, tenths of a second
    local i
    for ((i = 0; i < $2; i++)); do [ -d "/proc/$1" ] || return 0; sleep 0.1; done
    return 1
}

wait_port() {  # port, tenths of a second
    local i
    for ((i = 0; i < $2; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

stop_pid() {  # pid signal tenths
    [ -n "$1" ] || return 0
    kill "-$2" "$1" 2>/dev/null || true
    wait_gone "$1" "$3" || kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
