#!/usr/bin/env bash
# IMAP big-mailbox latency: SELECT INBOX and FETCH 1:* FLAGS on a mailbox of
# 100,000 messages, nginx-mailserver's imapd vs Debian's Dovecot 2.3.
#
#   bench/imap-bigbox-bench.sh [-m messages] [-r sessions] [-w workers]
#                              [-o ours|dovecot|both] [-k]
#
# One user, user1@example.test, with M messages (default 100000) of 600 to
# 1500 octets in INBOX, the same bytes on both sides (bench/imap/fill.pl):
# for Dovecot written straight into the Maildir's cur/ (then one untimed
# SELECT lets Dovecot build dovecot-uidlist and its index; its time is
# printed as "index build"), for ours written straight into Redis with
# redis-cli --pipe in the schema of docs/redis-keys.md (msg:{A}:N:U
# hashes, blob keys with refs, the :uids ZSET, the :modseq ZSET, the
# mailbox hash's counters).  Then the server is restarted (fresh
# processes; the data stays in Redis, resp. in the page cache) and
# bench/imap/imap-load.c -M latency runs R sessions (default 5) one after
# the other, each on a new connection: LOGIN, SELECT INBOX, FETCH 1:*
# FLAGS, FETCH 1:* FLAGS again, LOGOUT, timing every command.
#
# Prints a table per server: SELECT in the first session and the median of
# the later ones, FETCH 1:* FLAGS first (first session), again in the same
# session, and the median over the later sessions, and checks that SELECT
# said M EXISTS and every FETCH returned M lines.
#
# Ours: -w workers (default 2), Redis with appendonly yes, appendfsync
# always.  Needs root; free ports, temp dir removed on exit (-k keeps it).

set -euo pipefail
NAME=imap-bigbox-bench
TOP=$(cd "$(dirname "$0")/.." && pwd)

MSGS=100000 SESSIONS=5 WORKERS=2 ONLY=both KEEP=0
usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts m:r:w:o:kh opt; do
    case $opt in
        m) MSGS=$OPTARG ;; r) SESSIONS=$OPTARG ;; w) WORKERS=$OPTARG ;;
        o) ONLY=$OPTARG ;; k) KEEP=1 ;; *) usage ;;
    esac
done
case $ONLY in ours|dovecot|both) ;; *) usage ;; esac

# shellcheck source=bench/imap/common.sh
. "$TOP/bench/imap/common.sh"
[ "$SESSIONS" -ge 2 ] || die "-r: at least 2 sessions"
deps
[ "$ONLY" = dovecot ] || need_build
build_load

declare -A ROW INDEXBUILD

latency() {  # name port: runs the sessions, fills ROW[name]
    local name=$1 port=$2 out=$T/$1.latency
    "$LOAD" -M latency -p "$port" -r "$SESSIONS" -u "user%d@$DOMAIN" -w "$PASSWORD" \
        -t 600 > "$out" 2>&1 || true
    sed 's/^/    /' "$out"
    ROW[$name]=$(awk -v want="$MSGS" '
        function median(a, n,   i, j, t) {
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            if (n == 0) return -1
            return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
        /^session / { s = $2 }
        / FAILED/ { failed++ }
        /^SELECT INBOX/ { v = / FAILED/ ? -1 : $3
                          if (s == 1) sel1 = v; else sel[++ns] = v
                          if (v >= 0 && $0 !~ "exists=" want "$") bad++ }
        /^FETCH 1:\* FLAGS again/ { v = / FAILED/ ? -1 : $5
                                    if (s == 1) fa1 = v; else fa[++na] = v
                                    if (v >= 0 && $0 !~ "fetch_lines=" want "$") bad++; next }
        /^FETCH 1:\* FLAGS/ { v = / FAILED/ ? -1 : $4
                              if (s == 1) f1 = v; else f[++nf] = v
                              if (v >= 0 && $0 !~ "fetch_lines=" want "$") bad++ }
        END { printf "%10.1f %10.1f %10.1f %10.1f %10.1f   %s",
                  sel1 == "" ? -1 : sel1, median(sel, ns), f1 == "" ? -1 : f1, fa1 == "" ? -1 : fa1,
                  median(f, nf), (failed || bad) ? failed + 0 " failed, " bad + 0 " wrong counts" : "ok" }' "$out")
}

bench_ours() {
    start_ours "$WORKERS" 1024
    say "ours: $(our_version); imapd on $IPORT"
    add_users_ours 1 1
    local t0 t1
    t0=$(date +%s.%N)
    fill_redis 1 1 --msgs "$MSGS" --min 600 --max 1500
    t1=$(date +%s.%N)
    say "ours: $MSGS messages written to Redis in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s" \
        "(used_memory $("${RCLI[@]}" info memory | tr -d '\r' | sed -n 's/^used_memory_human://p'))"
    stop_pid "$NGINX_PID" QUIT 100
    start_nginx
    "${RCLI[@]}" config resetstat >/dev/null
    latency ours "$IPORT"
    say "ours: Redis commands of the $SESSIONS sessions by CPU time (calls, usec total, usec/call):"
    "${RCLI[@]}" info commandstats | tr -d '\r' | grep '^cmdstat_' \
        | sed 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),usec=\([0-9]*\),usec_per_call=\([0-9.]*\).*/\3 \1 \2 \4/' \
        | sort -rn | head -n 6 | awk '{ printf "    %-14s %9s calls %12s usec %10s usec/call\n", $2, $3, $1, $4 }'
    local e
    e=$(nginx_errors)
    say "ours: error.log: $e error/crit/alert lines"
    [ "$e" = 0 ] || grep -E '\[(error|crit|alert|emerg)\]' "$OUR_DIR/error.log" | head -n 10 | sed 's/^/    /'
    stop_ours
}

bench_dovecot() {
    dovecot_setup 1 1
    local t0 t1
    t0=$(date +%s.%N)
    fill_maildirs 1 1 --msgs "$MSGS" --min 600 --max 1500
    t1=$(date +%s.%N)
    say "dovecot: $MSGS Maildir files written in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s" \
        "($(du -sh "$DC_DIR/mail" | cut -f1))"
    start_dovecot
    say "dovecot: Dovecot $(dovecot --version), imap on $DPORT, maildir"
    # the index build: one untimed session
    "$LOAD" -M latency -p "$DPORT" -r 1 -u "user%d@$DOMAIN" -w "$PASSWORD" -t 600 \
        > "$T/dovecot.index-build" 2>&1 || true
    INDEXBUILD[dovecot]=$(awk '/^SELECT INBOX/ { print $3 " ms (" $5 ")" }' "$T/dovecot.index-build")
    say "dovecot: index build (first SELECT of the new Maildir): ${INDEXBUILD[dovecot]}"
    stop_dovecot
    start_dovecot
    local from
    from=$(($(wc -l < "$DC_DIR/dovecot.log") + 1))
    latency dovecot "$DPORT"
    local e
    e=$(dovecot_errors "$from")
    say "dovecot: log: $e Error/Fatal/Panic lines"
    [ "$e" = 0 ] || tail -n +"$from" "$DC_DIR/dovecot.log" | grep -E ': (Error|Fatal|Panic): ' | head -n 10 | sed 's/^/    /'
    stop_dovecot
}

say "$MSGS messages in one INBOX, $SESSIONS sessions; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$ONLY" = dovecot ] || bench_ours
[ "$ONLY" = ours ] || bench_dovecot

echo
echo "milliseconds; \"first\": the first session after a server (re)start, \"later\": median of sessions 2..$SESSIONS"
printf '%-9s %10s %10s %10s %10s %10s   %s\n' server "SELECT" "SELECT" "FETCH" "FETCH" "FETCH" check
printf '%-9s %10s %10s %10s %10s %10s\n' "" first later first "again" later
for s in ours dovecot; do
    [ -n "${ROW[$s]:-}" ] || continue
    printf '%-9s %s\n' "$s" "${ROW[$s]}"
done
echo "FETCH = FETCH 1:* FLAGS; \"again\": the second FETCH in the first session. -1: the command failed"
echo "(not measured). check: SELECT said $MSGS EXISTS and every FETCH gave $MSGS lines, else how many did not."
[ -z "${INDEXBUILD[dovecot]:-}" ] || echo "dovecot index build (first SELECT of the fresh Maildir, untimed above): ${INDEXBUILD[dovecot]}"
