# shellcheck shell=bash
# bench/lib/common.sh — the helpers every benchmark script uses (sourced,
# not run): messages, installing missing Debian packages, building the
# project when it is not built, free loopback ports and waiting for
# processes and ports.  Before sourcing: NAME (the script's name for
# messages), TOP (the source tree), BUILD (the build directory).

say() { printf '%s: %s\n' "$NAME" "$*"; }
die() { printf '%s: ERROR: %s\n' "$NAME" "$*" >&2; exit 1; }

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi

# apt_install PKG...: those of the packages that are missing
apt_install() {
    local missing=() p
    for p in "$@"; do
        installed "$p" || missing+=("$p")
    done
    [ ${#missing[@]} = 0 ] && return 0
    say "installing ${missing[*]}"
    # as peer-stack: no system configuration, no main.cf in /etc/postfix
    echo "postfix postfix/main_mailer_type select No configuration" \
        | $SUDO debconf-set-selections
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # the packages' service start fails harmlessly without systemd
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
}

# builds the project when a part is missing, then reads nginx.env
need_build() {
    if [ ! -f "$BUILD/ngx_mail_server_module.so" ] || [ ! -x "$BUILD/mailctl" ] \
       || [ ! -f "$BUILD/nginx.env" ]; then
        [ -z "${MAIL_BUILD_DIR:-}" ] || die "MAIL_BUILD_DIR=$MAIL_BUILD_DIR is not built"
        say "building the project (./build.sh deps && ./build.sh)"
        (cd "$TOP" && ./build.sh deps && ./build.sh)
    fi
    # shellcheck disable=SC1091
    . "$BUILD/nginx.env"
    : "${NGINX_BIN:?}" "${NGINX_MAIL_MODULE:?}" "${NGINX_SERVER_MODULE:?}"
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
