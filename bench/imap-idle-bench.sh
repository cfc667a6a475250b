#!/usr/bin/env bash
# IMAP IDLE memory benchmark: N logged-in IDLE connections against
# nginx-mailserver's imapd and against Debian's Dovecot 2.3.
#
#   bench/imap-idle-bench.sh [-n connections] [-u users] [-P parallel]
#                            [-w workers] [-D hibernate|stock]
#                            [-o ours|dovecot|both] [-k]
#
# bench/imap/imap-load.c -M idle opens N connections (default 10000), at
# most P (default 100) in their login phase at a time, spread over the
# source addresses 127.0.0.2..127.0.0.5 and over U users (default 100,
# user1..userU@example.test, 10 small messages each); each does LOGIN,
# SELECT INBOX, IDLE.  When all are idling (or no progress for 60 s) and
# 5 s have passed, the RSS of the server is summed from /proc: nginx
# master + workers + redis-server, resp. every process of the Dovecot
# instance (master, auth, anvil, log, config, imap-login, imap,
# imap-hibernate, ...); PSS too (shared pages divided).  Then one message
# is delivered to user1 (ours: SMTP to our smtpd; Dovecot: dovecot-lda)
# and the script waits up to 10 s for an untagged EXISTS on each of
# user1's N/U idling connections.
#
# Dovecot: -D hibernate (default) is the setup Dovecot documents for many
# IDLE clients: imap_hibernate_timeout = 5s moves idling sessions into
# imap-hibernate, so no imap process per connection is kept; -D stock keeps
# one imap process per connection (process_limit raised to N + 100).
# Both: imap-login in Dovecot's high-performance mode (service_count = 0,
# process_min_avail = CPUs), else Debian's one login process per
# connection makes the setup of 10,000 sessions take many minutes.
# Ours: -w workers (default 2), worker_connections N + 1000.
# The open-files limit is raised (ulimit -n 65536, or the hard limit).
# Needs root; temp dir and processes are removed on exit (-k keeps the dir).

set -euo pipefail
NAME=imap-idle-bench
TOP=$(cd "$(dirname "$0")/.." && pwd)

CONNS=10000 USERS=100 PARALLEL=100 WORKERS=2 DMODE=hibernate ONLY=both KEEP=0
usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts n:u:P:w:D:o:kh opt; do
    case $opt in
        n) CONNS=$OPTARG ;; u) USERS=$OPTARG ;; P) PARALLEL=$OPTARG ;;
        w) WORKERS=$OPTARG ;; D) DMODE=$OPTARG ;; o) ONLY=$OPTARG ;;
        k) KEEP=1 ;; *) usage ;;
    esac
done
case $ONLY in ours|dovecot|both) ;; *) usage ;; esac
case $DMODE in hibernate|stock) ;; *) usage ;; esac

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)

# shellcheck source=bench/imap/common.sh
. "$TOP/bench/imap/common.sh"
deps
[ "$ONLY" = dovecot ] || need_build
build_load
[ "$NOFILE" -ge $((CONNS + 100)) ] || die "open files limit $NOFILE is below $CONNS + 100"
SRC=127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5

# Dovecot's imap processes take an inotify instance each (all run as the
# one mail uid; the kernel's default is 128 per user): raised for the run
# when lower, put back on exit
INOTIFY=$(cat /proc/sys/fs/inotify/max_user_instances)
if [ "$ONLY" != ours ] && [ "$INOTIFY" -lt $((CONNS + 1000)) ]; then
    if sysctl -q -w fs.inotify.max_user_instances=$((CONNS + 1000)) 2>/dev/null; then
        ON_EXIT+=("sysctl -q -w fs.inotify.max_user_instances=$INOTIFY")
        say "fs.inotify.max_user_instances raised from $INOTIFY to $((CONNS + 1000)) for the run"
    else
        say "cannot raise fs.inotify.max_user_instances ($INOTIFY): Dovecot will poll instead"
    fi
fi

declare -A IDLE RSSMB PSSMB NPROC DETAIL EXISTS SECS ERRS
PER_USER1=$(( (CONNS + USERS - 1) / USERS ))

pss_of() {  # pids...: PSS sum in kB
    local p all=() q s=0 v
    # shellcheck disable=SC2207  # (pids: numbers)
    for p in "$@"; do [ -z "$p" ] || all+=($(tree_pids "$p")); done
    for q in "${all[@]}"; do
        v=$(awk '/^Pss:/ { print $2; exit }' "/proc/$q/smaps_rollup" 2>/dev/null || echo 0)
        s=$((s + ${v:-0}))
    done
    echo "$s"
}

# run_idle NAME PORT deliver-function pids...
run_idle() {
    local name=$1 port=$2 deliver=$3
    shift 3
    local out=$T/$name.idle line idle=0 last=-1 stall=0 t0 i
    t0=$(date +%s)
    "$LOAD" -M idle -p "$port" -c "$CONNS" -U "$USERS" -P "$PARALLEL" -b "$SRC" \
        -u "user%d@$DOMAIN" -w "$PASSWORD" -t 60 > "$out" 2>&1 &
    local cpid=$!
    CLIENT_PIDS+=("$cpid")
    while :; do
        sleep 1
        line=$(grep '^idle=' "$out" | tail -n 1 || true)
        idle=$(echo "$line" | sed -n 's/^idle=\([0-9]*\).*/\1/p')
        idle=${idle:-0}
        [ "$idle" -ge "$CONNS" ] && break
        [ -d "/proc/$cpid" ] || break
        if [ "$idle" = "$last" ]; then stall=$((stall + 1)); else stall=0; last=$idle; fi
        [ "$stall" -lt 60 ] || { say "$name: no progress for 60 s at $idle idle"; break; }
    done
    SECS[$name]=$(($(date +%s) - t0))
    say "$name: $idle of $CONNS connections idling after ${SECS[$name]} s; settling 5 s"
    sleep 5
    line=$(grep '^idle=' "$out" | tail -n 1 || true)
    IDLE[$name]=$(echo "$line" | sed -n 's/^idle=\([0-9]*\).*/\1/p')
    ERRS[$name]=$(echo "$line" | sed -n 's/.* errors=\([0-9]*\).*/\1/p')
    RSSMB[$name]=$(awk -v k="$(rss_of "$@")" 'BEGIN { printf "%.1f", k / 1024 }')
    PSSMB[$name]=$(awk -v k="$(pss_of "$@")" 'BEGIN { printf "%.1f", k / 1024 }')
    NPROC[$name]=$(nprocs_of "$@")
    DETAIL[$name]=$(for p in "$@"; do rss_detail "$p"; echo; done | grep -v '^-$' | paste -sd';')
    say "$name: RSS ${RSSMB[$name]} MB, PSS ${PSSMB[$name]} MB over ${NPROC[$name]} processes (${DETAIL[$name]})"
    grep '^error:' "$out" | head -n 10 | sed 's/^/    /' || true

    # a delivery to user1 must reach user1's idling connections
    EXISTS[$name]=n/a
    if [ "${IDLE[$name]:-0}" -gt 0 ]; then
        $deliver
        local want=$PER_USER1 got=0
        for ((i = 0; i < 100; i++)); do
            got=$(grep '^idle=' "$out" | tail -n 1 | sed -n 's/.* exists=\([0-9]*\).*/\1/p')
            [ "${got:-0}" -ge "$want" ] && break
            sleep 0.1
        done
        EXISTS[$name]="${got:-0}/$want in $(awk -v i="$i" 'BEGIN { printf "%.1f", i / 10 }') s"
        say "$name: after one delivery to user1: EXISTS on ${EXISTS[$name]} of user1's idling connections"
    fi
    kill -TERM "$cpid" 2>/dev/null || true
    wait "$cpid" 2>/dev/null || true
}

MSGFILE=$T/deliver.eml
printf 'From: Idle Tester <tester@remote.example>\r\nTo: user1@%s\r\nSubject: wake up\r\nMessage-ID: <wake@remote.example>\r\n\r\nnew mail for the idle clients\r\n' \
    "$DOMAIN" > "$MSGFILE"

deliver_ours() {
    perl -MNet::SMTP -e '
        my $s = Net::SMTP->new("127.0.0.1", Port => $ARGV[0], Hello => "bench.example", Timeout => 10)
            or die "smtp connect: $@\n";
        $s->mail("tester\@remote.example") && $s->to($ARGV[1]) or die "smtp: ", $s->message;
        open(my $f, "<", $ARGV[2]) or die; local $/; my $m = <$f>;
        $s->data($m) or die "smtp data: ", $s->message; $s->quit;' \
        "$SPORT" "user1@$DOMAIN" "$MSGFILE" || say "ours: delivery failed"
}

deliver_dovecot() {
    /usr/lib/dovecot/dovecot-lda -c "$DC_CONF" -d "user1@$DOMAIN" -f tester@remote.example \
        < "$MSGFILE" || say "dovecot: dovecot-lda failed"
}

bench_ours() {
    SPORT=$(free_port)
    local wconn=$((CONNS + 1000))
    start_ours "$WORKERS" "$wconn" "}
    server {
        listen 127.0.0.1:$SPORT;
        protocol smtpd;
        smtpd_role mx;"
    say "ours: $(our_version); $WORKERS workers, worker_connections $wconn, nofile $NOFILE"
    add_users_ours 1 "$USERS"
    fill_redis 1 "$USERS" --msgs 10 --min 1000 --max 3000
    local base
    base=$(rss_of "$NGINX_PID" "$REDIS_PID")
    say "ours: RSS before the clients: $(awk -v k="$base" 'BEGIN { printf "%.1f", k / 1024 }') MB"
    run_idle ours "$IPORT" deliver_ours "$NGINX_PID" "$REDIS_PID"
    local e
    e=$(nginx_errors)
    say "ours: error.log: $e error/crit/alert lines"
    [ "$e" = 0 ] || grep -E '\[(error|crit|alert|emerg)\]' "$OUR_DIR/error.log" | head -n 10 | sed 's/^/    /'
    stop_ours
}

bench_dovecot() {
    local extra
    extra="
service imap-login {
  process_limit = 1000
  service_count = 0
  process_min_avail = $(nproc)
}
service imap {
  process_limit = $((CONNS + 100))
}"
    if [ "$DMODE" = hibernate ]; then
        extra="
imap_hibernate_timeout = 5s
service imap-login {
  process_limit = 1000
  service_count = 0
  process_min_avail = $(nproc)
}
service imap {
  process_limit = $((CONNS + 100))
  unix_listener imap-master {
    user = \$default_internal_user
  }
  extra_groups = \$default_internal_group
}
service imap-hibernate {
  client_limit = $((CONNS + 1000))
  unix_listener imap-hibernate {
    mode = 0660
    group = \$default_internal_group
  }
}"
    fi
    extra+="
default_client_limit = $((CONNS + 1000))
default_vsz_limit = 1G
protocol lda {
  postmaster_address = postmaster@$DOMAIN
}"
    dovecot_setup 1 "$USERS" "$extra"
    fill_maildirs 1 "$USERS" --msgs 10 --min 1000 --max 3000
    start_dovecot
    sleep 1
    say "dovecot: Dovecot $(dovecot --version), imap on $DPORT, -D $DMODE"
    local base from
    base=$(rss_of "$DC_PID")
    from=$(($(wc -l < "$DC_DIR/dovecot.log") + 1))
    say "dovecot: RSS before the clients: $(awk -v k="$base" 'BEGIN { printf "%.1f", k / 1024 }') MB"
    run_idle dovecot "$DPORT" deliver_dovecot "$DC_PID"
    local e
    e=$(dovecot_errors "$from")
    say "dovecot: log: $e Error/Fatal/Panic lines"
    [ "$e" = 0 ] || tail -n +"$from" "$DC_DIR/dovecot.log" | grep -E ': (Error|Fatal|Panic): ' | head -n 10 | sed 's/^/    /'
    stop_dovecot
}

say "$CONNS IDLE connections over $USERS users, $PARALLEL logins at a time; $(nproc) CPUs, nofile $NOFILE"
[ "$ONLY" = dovecot ] || bench_ours
[ "$ONLY" = ours ] || bench_dovecot

echo
printf '%-9s %9s %7s %9s %9s %10s %6s  %s\n' server idle errors "RSS MB" "PSS MB" "KB/conn" procs "EXISTS after a delivery"
for s in ours dovecot; do
    [ -n "${IDLE[$s]:-}" ] || continue
    printf '%-9s %9s %7s %9s %9s %10s %6s  %s\n' "$s" "${IDLE[$s]}" "${ERRS[$s]:-?}" \
        "${RSSMB[$s]}" "${PSSMB[$s]}" \
        "$(awk -v m="${RSSMB[$s]}" -v n="${IDLE[$s]}" 'BEGIN { printf "%.1f", (n > 0) ? m * 1024 / n : 0 }')" \
        "${NPROC[$s]}" "${EXISTS[$s]}"
done
echo "RSS/PSS: sum over nginx + redis-server, resp. every process of the Dovecot instance (-D $DMODE), with all"
echo "connections idling; KB/conn = RSS / idle connections (the servers' base memory included)."
