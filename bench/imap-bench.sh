#!/usr/bin/env bash
# IMAP mixed-workload benchmark: nginx-mailserver's imapd vs Debian's Dovecot 2.3.
#
#   bench/imap-bench.sh [-c clients] [-m messages] [-d seconds] [-r rounds]
#                       [-w workers] [-o ours|dovecot|both] [-k]
#
# C clients (default 20), each its own user user1..userC@example.test with
# M messages (default 200, 2-20 kB, 70 % \Seen) in INBOX, the same bytes on
# both sides (bench/imap/fill.pl: Maildir files for Dovecot, which indexes
# them on the first SELECT; the Redis keys our delivery writes, through
# redis-cli --pipe, for ours).  bench/imap/imap-load.c (C, epoll) runs the
# clients at once for D seconds (default 30), after an untimed warm-up of
# 5 s; each session is LOGIN, then R times (default 5) SELECT INBOX, FETCH
# 1:* (UID FLAGS RFC822.SIZE), UID FETCH of 50 messages' header fields,
# 3 x FETCH k BODY[], STORE +FLAGS/-FLAGS (\Seen), SEARCH UNSEEN / SUBJECT /
# FROM, APPEND of a 10 kB message, STORE +FLAGS (\Deleted) of it and (UID)
# EXPUNGE, then LOGOUT.  An op is a command answered with a tagged OK;
# NO, BAD, BYE, a dropped connection and a timeout are errors (the first
# 20 are printed).
#
# Prints per side the per-command table (count, errors, average and max
# latency), then one table: ops/s ours, ops/s Dovecot, the ratio (target
# >= 1.5), errors, peak RSS and CPU seconds of the server processes
# (nginx + redis-server, resp. every Dovecot process).
#
# Ours: nginx with -w workers (default 2), Redis with appendonly yes,
# appendfsync always (as shipped; BENCH_REDIS_FSYNC=everysec to compare).
# Dovecot: stock settings but for the limits (process_limit 1000 for
# imap and imap-login), Maildir, mail_fsync = optimized (its default).
# Passwords: the same SHA512-CRYPT (5000 rounds) hash on both sides.
# BENCH_REDIS_PROFILE=1: also Redis' time per Lua script (bench/imap/
# redis-scripts.pl, through SLOWLOG; it costs a little throughput).
# Everything runs on free 127.0.0.1 ports in a temp dir removed on exit
# (-k keeps it); needs root.  About 2 minutes with the defaults.

set -euo pipefail
NAME=imap-bench
TOP=$(cd "$(dirname "$0")/.." && pwd)

CLIENTS=20 MSGS=200 DURATION=30 ROUNDS=5 WORKERS=2 ONLY=both KEEP=0 WARMUP=5
usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts c:m:d:r:w:o:kh opt; do
    case $opt in
        c) CLIENTS=$OPTARG ;; m) MSGS=$OPTARG ;; d) DURATION=$OPTARG ;;
        r) ROUNDS=$OPTARG ;; w) WORKERS=$OPTARG ;; o) ONLY=$OPTARG ;;
        k) KEEP=1 ;; *) usage ;;
    esac
done
case $ONLY in ours|dovecot|both) ;; *) usage ;; esac

# shellcheck source=bench/imap/common.sh
. "$TOP/bench/imap/common.sh"
deps
[ "$ONLY" = dovecot ] || need_build
build_load

declare -A OPS ERR RSS CPU STATUS REDIS_CPU
proc_cpu() {  # utime + stime of one process, seconds
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}
run_load() {  # name port seconds pids-to-sample
    local name=$1 port=$2 secs=$3 pids=$4 sampler rcpu0=''
    [ -z "$REDIS_PID" ] || rcpu0=$(proc_cpu "$REDIS_PID")
    perl "$TOP/bench/pop3/rss.pl" --pids "$pids" > "$T/$name.rss" &
    sampler=$!
    CLIENT_PIDS+=("$sampler")
    "$LOAD" -M load -p "$port" -c "$CLIENTS" -d "$secs" -r "$ROUNDS" \
        -u "user%d@$DOMAIN" -w "$PASSWORD" -t 30 > "$T/$name.out" 2>&1 || true
    kill -TERM "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    REDIS_CPU[$name]=''
    [ -z "$rcpu0" ] || REDIS_CPU[$name]=$(awk -v a="$rcpu0" -v b="$(proc_cpu "$REDIS_PID")" 'BEGIN { printf "%.2f", b - a }')
    local line kv
    line=$(grep '^status=' "$T/$name.out" | tail -n 1 || true)
    OPS[$name]=0 ERR[$name]=- STATUS[$name]=client-failed RSS[$name]=0 CPU[$name]=0
    for kv in $line; do
        case $kv in
            status=*) STATUS[$name]=${kv#*=} ;;
            ops_per_s=*) OPS[$name]=${kv#*=} ;;
            errors=*) ERR[$name]=${kv#*=} ;;
        esac
    done
    for kv in $(tail -n 1 "$T/$name.rss"); do
        case $kv in
            rss_kb=*) RSS[$name]=$(awk -v k="${kv#*=}" 'BEGIN { printf "%.1f", k / 1024 }') ;;
            cpu_s=*) CPU[$name]=${kv#*=} ;;
        esac
    done
}

show() {  # name
    say "$1: $(grep -c '^error:' "$T/$1.out" || true) error lines printed by imap-load"
    sed 's/^/    /' "$T/$1.out"
}

bench_ours() {
    start_ours "$WORKERS" 4096
    say "ours: $(our_version); imapd on $IPORT, $WORKERS workers;" \
        "redis appendonly $("${RCLI[@]}" config get appendonly | sed -n 2p)," \
        "appendfsync $("${RCLI[@]}" config get appendfsync | sed -n 2p)"
    add_users_ours 1 "$CLIENTS"
    fill_redis 1 "$CLIENTS" --msgs "$MSGS"
    say "ours: $CLIENTS users x $MSGS messages written to Redis" \
        "(used_memory $("${RCLI[@]}" info memory | tr -d '\r' | sed -n 's/^used_memory_human://p'))"
    run_load ours-warmup "$IPORT" "$WARMUP" "$NGINX_PID,$REDIS_PID"
    say "ours: warm-up: ${OPS[ours-warmup]} ops/s, ${ERR[ours-warmup]} errors"
    "${RCLI[@]}" config resetstat >/dev/null
    [ "${BENCH_REDIS_PROFILE:-0}" = 0 ] || perl "$HERE/redis-scripts.pl" "$RPORT" start
    run_load ours "$IPORT" "$DURATION" "$NGINX_PID,$REDIS_PID"
    if [ "${BENCH_REDIS_PROFILE:-0}" != 0 ]; then
        say "ours: Redis time by command and Lua script (SLOWLOG of every command):"
        perl "$HERE/redis-scripts.pl" "$RPORT" report || true
    fi
    say "ours: Redis commands by CPU time during the run (calls, usec total, usec/call):"
    "${RCLI[@]}" info commandstats | tr -d '\r' | grep '^cmdstat_' \
        | sed 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),usec=\([0-9]*\),usec_per_call=\([0-9.]*\).*/\3 \1 \2 \4/' \
        | sort -rn | head -n 6 | awk '{ printf "    %-14s %9s calls %12s usec %10s usec/call\n", $2, $3, $1, $4 }'
    show ours
    say "ours: of the CPU seconds, redis-server used ${REDIS_CPU[ours]} (nginx the rest)"
    local e
    e=$(nginx_errors)
    say "ours: error.log: $e error/crit/alert lines"
    [ "$e" = 0 ] || grep -E '\[(error|crit|alert|emerg)\]' "$OUR_DIR/error.log" | head -n 10 | sed 's/^/    /'
    stop_ours
}

bench_dovecot() {
    dovecot_setup 1 "$CLIENTS" "
service imap-login {
  process_limit = 1000
}
service imap {
  process_limit = 1000
}"
    fill_maildirs 1 "$CLIENTS" --msgs "$MSGS"
    start_dovecot
    say "dovecot: Dovecot $(dovecot --version), imap on $DPORT, maildir, mail_fsync =" \
        "$(doveconf -c "$DC_CONF" -h mail_fsync)"
    local from
    from=$(($(wc -l < "$DC_DIR/dovecot.log") + 1))
    run_load dovecot-warmup "$DPORT" "$WARMUP" "$DC_PID"
    say "dovecot: warm-up (indexes the Maildirs): ${OPS[dovecot-warmup]} ops/s, ${ERR[dovecot-warmup]} errors"
    run_load dovecot "$DPORT" "$DURATION" "$DC_PID"
    show dovecot
    local e
    e=$(dovecot_errors "$from")
    say "dovecot: log: $e Error/Fatal/Panic lines"
    [ "$e" = 0 ] || tail -n +"$from" "$DC_DIR/dovecot.log" | grep -E ': (Error|Fatal|Panic): ' | head -n 10 | sed 's/^/    /'
    stop_dovecot
}

say "$CLIENTS clients, $MSGS messages each, $DURATION s, $ROUNDS rounds a session; $(nproc) CPUs"
[ "$ONLY" = dovecot ] || bench_ours
[ "$ONLY" = ours ] || bench_dovecot

echo
printf '%-9s %8s %10s %8s %9s %7s  %s\n' server clients ops/s errors "RSS MB" "CPU s" status
for s in ours dovecot; do
    [ -n "${STATUS[$s]:-}" ] || continue
    printf '%-9s %8s %10s %8s %9s %7s  %s\n' "$s" "$CLIENTS" "${OPS[$s]}" "${ERR[$s]}" \
        "${RSS[$s]}" "${CPU[$s]}" "${STATUS[$s]}"
done
if [ -n "${STATUS[ours]:-}" ] && [ -n "${STATUS[dovecot]:-}" ]; then
    awk -v a="${OPS[ours]}" -v b="${OPS[dovecot]}" 'BEGIN {
        if (b > 0) printf "ratio ours/dovecot: %.2f (ops/s; target >= 1.5)", a / b;
        else printf "ratio ours/dovecot: n/a" }'
    if [ "${STATUS[ours]}" != ok ] || [ "${STATUS[dovecot]}" != ok ]; then
        echo "  (errors: ours ${ERR[ours]}, dovecot ${ERR[dovecot]}; see above)"
    else
        echo
    fi
fi
echo "ops/s: IMAP commands answered OK per second over ${DURATION}s ($CLIENTS clients, one command at a time each)."
echo "RSS MB: peak RSS sum of nginx + redis-server, resp. every process of the Dovecot instance; CPU s: theirs during the run."
