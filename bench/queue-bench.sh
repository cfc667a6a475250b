#!/usr/bin/env bash
# Outbound delivery benchmark: our delivery queue vs Postfix's qmgr + smtp.
#
#   bench/queue-bench.sh [-m messages] [-c connections] [-l bytes]
#                        [-w workers] [-o ours|postfix|both] [-C|-B] [-k]
#
# N messages (default 5000) of 10240 bytes, each from sender@example.test
# to one recipient user<i>@remote.test, are put into a full outbound queue,
# then delivered to one local sink, Postfix's smtp-sink (which announces
# PIPELINING, 8BITMIME, DSN ...; no STARTTLS) listening on 127.0.0.1, with
# at most C parallel SMTP connections (default 20) on each side:
#
#   ours     the messages are written into Redis as our SMTP server queues
#            them (bench/queue/gen.pl | redis-cli --pipe: blob, refs, the
#            queue:{ID}:env envelope, queue:ids, an entry in queue:outbound)
#            while no nginx runs; the clock starts with nginx: W worker
#            processes (default 2), all of them delivery workers
#            (queue_workers W), queue_concurrency and
#            queue_destination_concurrency C/W each, queue_relayhost the
#            sink, queue_tls off.
#   postfix  a private Postfix instance takes the same messages over SMTP
#            (gen.pl, 10 connections) and puts them on hold (an access
#            table's HOLD for every recipient); once all N are in hold/,
#            `postsuper -H ALL` moves them to deferred/, and the clock
#            starts with `postqueue -f` (qmgr takes them all at once).
#            relayhost = [127.0.0.1]:sink, smtp_destination_concurrency_limit
#            = C (Postfix's slow start from initial_destination_concurrency
#            5 kept), smtp_tls_security_level none, everything else default:
#            the smtp client keeps idle connections to the relayhost and
#            reuses them while the destination has mail waiting
#            (smtp_connection_cache_on_demand), as ours does with its
#            defaults (queue_connection_cache_time 2s); -C turns Postfix's
#            off, one connection per message (row "postfix_nc"), -B runs
#            Postfix both ways, one after the other (each with a queue of
#            its own).
#
# For each side it prints the time until the sink has N messages and the
# queue is empty (ZCARD queue:ids = 0 for ours, no file in Postfix's
# incoming/, active/, deferred/; polled every 50 ms), messages per second,
# the peak RSS (and PSS) summed over nginx master + workers + redis-server, resp.
# every process of the Postfix instance (sampled every 100 ms from /proc),
# and their CPU seconds (plus the sink's); then the ratio ours/postfix.
# Each side has a sink of its own (a new smtp-sink, -d: one file per
# message) so the check is exact: N files, each recipient user1..userN
# exactly once (no loss, no duplicate), sizes right; for ours also that
# nothing is left in Redis (no queue, stream entry or blob key), for
# Postfix that its log has N status=sent.  The sides run one after the
# other, never at the same time.
#
# Durability, as each product documents it: Redis runs with appendonly yes,
# appendfsync always (conf/run.sh), so each recipient's state and the
# message's removal are on disk when written; Postfix with its defaults
# (the queue file is removed after the delivery, no fsync needed for that).
#
# Everything runs on free 127.0.0.1 ports in a temp dir that is removed on
# exit (Ctrl-C included; -k keeps it).  /etc/postfix and system services
# are not touched: Postfix runs as `postfix -c TMP/postfix/etc` with its own
# queue and data directories.  Missing Debian packages (postfix, with the
# debconf answer "No configuration", redis-server, redis-tools, perl) are
# installed with apt-get, as root or via sudo; build/ is built with
# ./build.sh when missing.  Postfix and smtp-sink need root, so does part
# of this script.
#
# Environment:
#   BENCH_TIMEOUT=30+N/20  give up on a side after this many seconds
#   BENCH_STALL=20         ... or when the sink got nothing for this long
#   BENCH_APPENDFSYNC=always  Redis' appendfsync; "everysec" or "no" only
#                          to see what the fsyncs cost (not a fair run)
#   BENCH_PF_OPTS=         more main.cf lines for Postfix, ";"-separated,
#                          e.g. "qmgr_message_active_limit = 1000"
#   TMPDIR                 where the temp dir goes (same fs for both sides)

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${MAIL_BUILD_DIR:-$TOP/build}
GEN=$TOP/bench/queue/gen.pl
WATCH=$TOP/bench/queue/watch.pl

N=5000 CONNS=20 SIZE=10240 WORKERS=2 ONLY=both KEEP=0 PF_MODES=postfix
TIMEOUT=${BENCH_TIMEOUT:-}
STALL=${BENCH_STALL:-20}
FSYNC=${BENCH_APPENDFSYNC:-always}

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

while getopts m:c:l:w:o:CBkh opt; do
    case $opt in
        m) N=$OPTARG ;;
        c) CONNS=$OPTARG ;;
        l) SIZE=$OPTARG ;;
        w) WORKERS=$OPTARG ;;
        o) ONLY=$OPTARG ;;
        C) PF_MODES=postfix_nc ;;
        B) PF_MODES="postfix postfix_nc" ;;
        k) KEEP=1 ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# = 0 ] || usage
for v in "$N" "$CONNS" "$SIZE" "$WORKERS"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "queue-bench: bad number: $v" >&2; exit 2; }
done
[ "$SIZE" -ge 512 ] || { echo "queue-bench: -l below 512" >&2; exit 2; }
case $ONLY in ours|postfix|both) ;; *) usage ;; esac
# below 20 msg/s a run counts as failed: 280 s for the default 5000
[ -n "$TIMEOUT" ] || TIMEOUT=$((30 + N / 20))
# per delivery worker; C/W rounded up, so never fewer connections than C
PER_WORKER=$(((CONNS + WORKERS - 1) / WORKERS))

NAME=queue-bench
# shellcheck source=bench/lib/common.sh
. "$TOP/bench/lib/common.sh"

# ---- dependencies -------------------------------------------------------------

apt_install postfix redis-server redis-tools perl
[ -x /usr/sbin/smtp-sink ] || die "/usr/sbin/smtp-sink missing (postfix package)"

need_build

# ---- temp dir, ports, cleanup ------------------------------------------------------

T=$(mktemp -d "${TMPDIR:-/tmp}/queue-bench.XXXXXX")
chmod 0755 "$T"
# Postfix's unix sockets live under $T/postfix/queue: sun_path is 108 bytes
[ ${#T} -le 60 ] || { rm -rf "$T"; die "temp dir path too long: $T (set TMPDIR)"; }

REDIS_PID='' NGINX_PIDFILE='' PF_MASTER='' PF_ETC='' SINK_PID='' WATCH_PID=''

# start_sink DIR: a new smtp-sink dumping one file per message into DIR
SINK_PORT=''
start_sink() {
    local dir=$1 user=()
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        user=(-u postfix)
        chown postfix "$dir"
    fi
    SINK_PORT=$(free_port)
    # %H%M%S. and smtp-sink's random suffix: no two messages share a name
    /usr/sbin/smtp-sink "${user[@]}" -d "$dir/%H%M%S." -m 1024 \
        "127.0.0.1:$SINK_PORT" 1024 >"$dir.log" 2>&1 &
    SINK_PID=$!
    wait_port "$SINK_PORT" 50 || die "smtp-sink did not start ($dir.log)"
}

stop_sink() {
    [ -n "$SINK_PID" ] || return 0
    kill -TERM "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
    SINK_PID=''
}

nginx_pid() {
    if [ -n "$NGINX_PIDFILE" ]; then cat "$NGINX_PIDFILE" 2>/dev/null || true; fi
}

stop_ours() {
    local p
    p=$(nginx_pid)
    if [ -n "$p" ]; then
        kill -QUIT "$p" 2>/dev/null || true
        wait_gone "$p" 100 || kill -KILL "$p" 2>/dev/null || true
    fi
    NGINX_PIDFILE=
    if [ -n "$REDIS_PID" ]; then
        kill -TERM "$REDIS_PID" 2>/dev/null || true
        wait_gone "$REDIS_PID" 300 || kill -KILL "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
        REDIS_PID=
    fi
}

pf_procs() {  # every process of the Postfix session (the master calls setsid)
    ps -e -o pid=,sid= | awk -v s="$1" '$2 == s { print $1 }'
}

stop_postfix() {
    [ -n "$PF_MASTER" ] || return 0
    $SUDO postfix -c "$PF_ETC" stop >/dev/null 2>&1 \
        || $SUDO kill -TERM "$PF_MASTER" 2>/dev/null || true
    local i left
    for ((i = 0; i < 100; i++)); do
        [ -z "$(pf_procs "$PF_MASTER")" ] && break
        sleep 0.1
    done
    left=$(pf_procs "$PF_MASTER")
    # shellcheck disable=SC2086
    [ -z "$left" ] || $SUDO kill -KILL $left 2>/dev/null || true
    PF_MASTER=
}

# shellcheck disable=SC2317  # (called from the trap)
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ -n "$WATCH_PID" ]; then
        kill -TERM "$WATCH_PID" 2>/dev/null || true
        wait "$WATCH_PID" 2>/dev/null || true
    fi
    stop_ours
    stop_postfix
    stop_sink
    if [ "$KEEP" = 1 ]; then
        say "kept $T"
    else
        $SUDO rm -rf -- "$T"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo; say interrupted; exit 130' INT TERM HUP

# ---- measuring ---------------------------------------------------------------------

# run_watch NAME watch-args... -- start command: sets R_* variables
run_watch() {
    local name=$1 line kv
    shift
    perl "$WATCH" --target "$N" --timeout "$TIMEOUT" --stall "$STALL" \
        --sink "$T/$name-sink" --sink-pid "$SINK_PID" \
        --log "$T/$name-start.log" "$@" > "$T/$name-watch.out" &
    WATCH_PID=$!
    wait "$WATCH_PID" || true
    WATCH_PID=
    line=$(tail -n 1 "$T/$name-watch.out")
    R_STATUS='' R_SUNK=0 R_LEFT='' R_SECS=0 R_RSS=0 R_PSS=n/a R_CPU=0 R_SINK_CPU=n/a
    R_NPROCS=0 R_DETAIL=-
    for kv in $line; do
        case $kv in
            status=*) R_STATUS=${kv#*=} ;;      sunk=*) R_SUNK=${kv#*=} ;;
            left=*) R_LEFT=${kv#*=} ;;          secs=*) R_SECS=${kv#*=} ;;
            rss_kb=*) R_RSS=${kv#*=} ;;         pss_kb=*) R_PSS=${kv#*=} ;;
            cpu_s=*) R_CPU=${kv#*=} ;;
            sink_cpu_s=*) R_SINK_CPU=${kv#*=} ;; nprocs=*) R_NPROCS=${kv#*=} ;;
            detail=*) R_DETAIL=${kv#*=} ;;
        esac
    done
    [ -n "$R_STATUS" ] || { R_STATUS=watch-failed; cat "$T/$name-watch.out" >&2; }
    if [ -s "$T/$name-start.log" ]; then
        say "$name: the start command said:"
        head -n 10 "$T/$name-start.log" | sed 's/^/    /'
    fi
}

ROWS=()
# per side: RATE_<name>, STATUS_<name>, CHECK_<name> (set with printf -v)
# shellcheck disable=SC2034
RATE_ours='' STATUS_ours='' RATE_postfix='' STATUS_postfix=''
# shellcheck disable=SC2034
RATE_postfix_nc='' STATUS_postfix_nc='' CHECK_postfix_nc=''

record() {  # name
    local name=$1 rate mb pss detail
    rate=$(awk -v n="$R_SUNK" -v s="$R_SECS" 'BEGIN { printf "%.1f", (s > 0) ? n / s : 0 }')
    mb=$(awk -v k="$R_RSS" 'BEGIN { printf "%.1f", k / 1024 }')
    pss=n/a
    [ "$R_PSS" = n/a ] || pss=$(awk -v k="$R_PSS" 'BEGIN { printf "%.1f", k / 1024 }')
    printf -v "RATE_$name" '%s' "$rate"
    printf -v "STATUS_$name" '%s' "$R_STATUS"
    ROWS+=("$(printf '%-10s %11s %8.2f %8s %12s %12s %7.1f %8s   %s' "$name" \
        "$R_SUNK/$N" "$R_SECS" "$rate" "$mb" "$pss" "$R_CPU" "$R_SINK_CPU" "$R_STATUS")")
    detail=$(echo "$R_DETAIL" | tr ',' '\n' \
        | awk -F: '$1 != "-" { printf "%s%s %.1f", sep, $1, $2 / 1024; sep = ", " }')
    say "$name: $R_STATUS — the sink has $R_SUNK of $N after ${R_SECS}s," \
        "$R_LEFT left in the queue"
    say "$name: peak RSS $mb MB (PSS $pss MB) over $R_NPROCS processes" \
        "(RSS MB at the peak: $detail)"
}

# check_sink NAME: "files=N rcpts unique=U of N, sizes MIN..MAX" + verdict
check_sink() {
    perl -e '
        my ($dir, $n, $size) = @ARGV;
        opendir(my $d, $dir) or die "$dir: $!\n";
        my @f = grep { !/^\./ } readdir $d;
        my (%seen, $dup, $bad, $min, $max);
        for my $f (@f) {
            open(my $fh, "<", "$dir/$f") or next;
            local $/;
            my $m = <$fh>;
            my @r = $m =~ /^X-Rcpt-Args: <user(\d+)\@remote\.test>/mg;
            $bad++ if @r != 1;
            for (@r) { $dup++ if $seen{$_}++; }
            # the content as sent: after the blank line ending the header
            my ($body) = $m =~ /\n\n(.*)\z/s;
            my $len = defined $body ? length($body) : 0;
            $min = $len if !defined $min || $len < $min;
            $max = $len if !defined $max || $len > $max;
        }
        my $missing = grep { !$seen{$_} } 1 .. $n;
        my $ok = @f == $n && !$dup && !$bad && !$missing;
        printf "%s: %d files, %d distinct recipients, %d missing, %d duplicate,"
             . " %d with no or several recipients; body %d..%d bytes (LF)\n",
             $ok ? "OK" : "WRONG", scalar @f, scalar keys %seen, $missing,
             $dup // 0, $bad // 0, $min // 0, $max // 0;
    ' "$T/$1-sink" "$N" "$SIZE"
}

# ---- ours: redis-server + nginx ------------------------------------------------------

bench_ours() {
    local d=$T/ours rport rc=0 i sent reused
    mkdir -p "$d/redis" "$d/bin"
    # private copies: a rebuild of build/ during the run would crash workers
    local nginx_bin=$d/bin/nginx mail_mod=$d/bin/${NGINX_MAIL_MODULE##*/}
    local server_mod=$d/bin/${NGINX_SERVER_MODULE##*/}
    cp "$NGINX_BIN" "$nginx_bin"
    cp "$NGINX_MAIL_MODULE" "$mail_mod"
    cp "$NGINX_SERVER_MODULE" "$server_mod"

    start_sink "$T/ours-sink"
    rport=$(free_port)
    redis-server --port "$rport" --bind 127.0.0.1 --dir "$d/redis" \
        --appendonly yes --appendfsync "$FSYNC" --save "" \
        --daemonize no --logfile "$d/redis.log" &
    REDIS_PID=$!
    for ((i = 0; i < 100; i++)); do
        redis-cli -p "$rport" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -p "$rport" ping >/dev/null 2>&1 || die "redis-server did not start ($d/redis.log)"
    local rcli=(redis-cli -p "$rport" --raw)

    # the full queue, before any worker runs
    local t0 t1
    t0=$(date +%s.%N)
    perl "$GEN" --n "$N" --size "$SIZE" redis \
        | redis-cli -p "$rport" --pipe > "$d/fill.log" 2>&1 \
        || { cat "$d/fill.log" >&2; die "filling Redis failed"; }
    t1=$(date +%s.%N)
    local queued stream
    queued=$("${rcli[@]}" zcard queue:ids)
    stream=$("${rcli[@]}" xlen queue:outbound)
    if [ "$queued" != "$N" ] || [ "$stream" != "$N" ]; then
        die "Redis has $queued queued ids and $stream stream entries, not $N"
    fi
    say "ours: $N messages queued in Redis in" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s" \
        "(blob $("${rcli[@]}" strlen "blob:{$("${rcli[@]}" zrange queue:ids 0 0)}") bytes)," \
        "used_memory $("${rcli[@]}" info memory | tr -d '\r' | sed -n 's/^used_memory_human://p')"

    NGINX_PIDFILE=$d/nginx.pid
    cat > "$d/nginx.conf" <<EOF
load_module $mail_mod;
load_module $server_mod;
worker_processes $WORKERS;
error_log $d/error.log info;
pid $NGINX_PIDFILE;
events { worker_connections 4096; }
mail {
    server_name mx.example.test;
    mail_redis 127.0.0.1:$rport;
    queue_workers $WORKERS;
    queue_concurrency $PER_WORKER;
    queue_destination_concurrency $PER_WORKER;
    queue_relayhost 127.0.0.1:$SINK_PORT;
    queue_tls off;
    queue_helo_name mx.example.test;
}
EOF
    "$nginx_bin" -t -q -e "$d/error.log" -p "$d" -c "$d/nginx.conf" \
        || die "nginx -t failed on $d/nginx.conf"

    local nver rver
    nver=$("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///')
    rver=$(redis-server --version | sed 's/.* v=\([^ ]*\).*/\1/')
    say "ours: nginx $nver, worker_processes $WORKERS, queue_workers $WORKERS," \
        "queue_concurrency and queue_destination_concurrency $PER_WORKER per worker" \
        "($((PER_WORKER * WORKERS)) connections at most), queue_tls off," \
        "relayhost smtp-sink 127.0.0.1:$SINK_PORT"
    say "ours: redis-server $rver, port $rport:" \
        "$("${rcli[@]}" config get appendonly | paste -sd' ')," \
        "$("${rcli[@]}" config get appendfsync | paste -sd' '), AOF in $d/redis"
    say "ours: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

    "${rcli[@]}" info commandstats | tr -d '\r' > "$d/commandstats.before"
    "${rcli[@]}" info all | tr -d '\r' > "$d/info.before"
    # nginx daemonizes: the command returns once the master runs
    run_watch ours --redis "$rport" --pids "$REDIS_PID" --pidfile "$NGINX_PIDFILE" \
        -- "$nginx_bin" -e "$d/error.log" -p "$d" -c "$d/nginx.conf"
    record ours

    # the queue must be gone from Redis, all of it
    local left errs keys
    left="queue:ids $("${rcli[@]}" zcard queue:ids), queue:outbound $("${rcli[@]}" xlen queue:outbound)"
    left+=", queue:deferred $("${rcli[@]}" zcard queue:deferred)"
    left+=", pending $("${rcli[@]}" xpending queue:outbound delivery | head -n 1)"
    keys=$("${rcli[@]}" --scan --pattern 'blob:*' | wc -l)
    left+=", blob keys $keys, queue:{*} keys $("${rcli[@]}" --scan --pattern 'queue:{*' | wc -l)"
    CHECK_ours="sink $(check_sink ours); Redis left: $left"
    # what the delivery asked of Redis, per message (diagnosis)
    "${rcli[@]}" info commandstats | tr -d '\r' > "$d/commandstats.after"
    REDIS_PER_MSG=$(awk -F'[_:=,]' -v n="$N" '
        /^cmdstat_/ { if (FILENAME ~ /before$/) c[$2] -= $4; else c[$2] += $4 }
        END { for (k in c) t += c[k]
              printf "%.1f commands per message:", t / n
              for (k in c) if (c[k] / n >= 0.1) printf " %s %.1f", k, c[k] / n }' \
        "$d/commandstats.before" "$d/commandstats.after")
    # and what it cost Redis: bytes it read, CPU it used, per message
    "${rcli[@]}" info all | tr -d '\r' > "$d/info.after"
    REDIS_PER_MSG+=$(awk -F: -v n="$N" '
        $1 == "total_net_input_bytes" { b[FILENAME ~ /after$/] = $2 }
        $1 == "used_cpu_sys" || $1 == "used_cpu_user" {
            c[FILENAME ~ /after$/] += $2 }
        END { printf "; Redis read %.0f bytes and used %.0f us of CPU per message",
                     (b[1] - b[0]) / n, (c[1] - c[0]) * 1e6 / n }' \
        "$d/info.before" "$d/info.after")
    CHECK_ours+="; redis used_memory $("${rcli[@]}" info memory | tr -d '\r' | sed -n 's/^used_memory_human://p')"
    # each delivery logs a line; one sent on a kept connection ends "reused=N"
    sent=$(grep -cE 'queue: [^ ]+: to [^ ]+: 2[0-9][0-9] ' "$d/error.log" || true)
    reused=$(grep -cE 'queue: [^ ]+: to [^ ]+: 2[0-9][0-9] .*, reused=[0-9]+$' \
             "$d/error.log" || true)
    CHECK_ours+="; log: $sent sent ($((sent - reused)) on a new connection)"
    errs=$(grep -cE '\[(error|crit|alert|emerg)\]' "$d/error.log" || true)
    CHECK_ours+="; error.log: $errs error/crit/alert lines"
    if [ "$errs" != 0 ]; then
        say "ours: error.log, first error lines:"
        grep -E '\[(error|crit|alert|emerg)\]' "$d/error.log" | head -n 10 | sed 's/^/    /'
    fi
    [ "$R_STATUS" = ok ] || rc=1
    stop_ours
    stop_sink
    return $rc
}

# ---- Postfix --------------------------------------------------------------------------

bench_postfix() {  # name: postfix (stock) or postfix_nc (no connection cache)
    local name=$1 d=$T/$1 port rc=0 i p
    local etc=$d/etc queue=$d/queue data=$d/data log=$d/log
    id postfix >/dev/null 2>&1 || die "no postfix user (is the postfix package installed?)"

    start_sink "$T/$name-sink"
    port=$(free_port)
    $SUDO mkdir -p "$etc" "$queue" "$data" "$log"
    $SUDO chown root:root "$etc" "$queue"
    $SUDO chown postfix:postfix "$data"
    $SUDO chmod 0700 "$data"

    local cache=yes
    [ "$name" = postfix ] || cache=no
    PF_ETC=$etc
    $SUDO tee "$etc/main.cf" >/dev/null <<EOF
# generated by bench/queue-bench.sh: a private Postfix on 127.0.0.1:$port
compatibility_level = 3.6
queue_directory = $queue
data_directory = $data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-qbench
maillog_file = $log/postfix.log
maillog_file_prefixes = $log
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.example.test
mydomain = example.test
myorigin = \$myhostname
mydestination =
mynetworks = 127.0.0.0/8
local_recipient_maps =
local_transport = error:5.1.1 local delivery is disabled
alias_maps =
alias_database =
biff = no
readme_directory = no
smtpd_client_event_limit_exceptions = 127.0.0.0/8
# what comes in waits in hold/ until the measured part releases it
smtpd_recipient_restrictions = check_recipient_access static:HOLD,
    permit_mynetworks, reject
# everything to the sink, no DNS, no TLS (the sink has none)
relayhost = [127.0.0.1]:$SINK_PORT
smtp_tls_security_level = none
smtp_destination_concurrency_limit = $CONNS
default_process_limit = $((CONNS > 100 ? CONNS + 10 : 100))
smtp_connection_cache_on_demand = $cache
# all N due at once and one destination is what this measures: qmgr's
# "mail for ... is using up N of N active queue entries" is expected
qmgr_clog_warn_time = 0
$(printf '%s\n' "${BENCH_PF_OPTS:-}" | tr ';' '\n')
EOF
    $SUDO tee "$etc/master.cf" >/dev/null <<EOF
# generated by bench/queue-bench.sh: Debian's stock services, without chroot
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    $SUDO chmod 0644 "$etc"/*

    $SUDO postfix -c "$etc" start >"$d.start.log" 2>&1 \
        || { cat "$d.start.log" >&2; die "$name: postfix did not start (see above)"; }
    for ((i = 0; i < 100; i++)); do
        p=$($SUDO cat "$queue/pid/master.pid" 2>/dev/null | tr -d ' ' || true)
        if [ -n "$p" ] && [ -d "/proc/$p" ]; then PF_MASTER=$p; fi
        [ -n "$PF_MASTER" ] && wait_port "$port" 1 && break
        sleep 0.1
    done
    [ -n "$PF_MASTER" ] || die "$name: postfix master did not come up ($log/postfix.log)"

    # the full queue: N messages in hold/
    local t0 t1 held
    t0=$(date +%s.%N)
    perl "$GEN" --n "$N" --size "$SIZE" smtp --port "$port" --parallel 10 \
        > "$d/fill.log" 2>&1 || { head -n 5 "$d/fill.log" >&2; die "filling Postfix failed"; }
    for ((i = 0; i < 600; i++)); do
        held=$($SUDO find "$queue/hold" -type f | wc -l)
        [ "$held" -ge "$N" ] && break
        sleep 0.1
    done
    t1=$(date +%s.%N)
    [ "$held" = "$N" ] || die "Postfix has $held messages in hold/, not $N"
    # the smtpd and cleanup processes of the fill would idle on for
    # max_idle and count in the RSS: a reload ends them (nothing is due)
    $SUDO postfix -c "$etc" reload >>"$d/fill.log" 2>&1
    for ((i = 0; i < 100; i++)); do
        ps -o comm= -p "$(pf_procs "$PF_MASTER" | paste -sd,)" \
            | grep -qxE 'smtpd|cleanup' || break
        sleep 0.1
    done
    $SUDO postsuper -c "$etc" -H ALL 2>>"$d/fill.log"
    held=$($SUDO find "$queue/deferred" -type f | wc -l)
    [ "$held" = "$N" ] || die "Postfix has $held messages in deferred/ after postsuper -H, not $N"
    say "$name: $N messages queued (held, then moved to deferred/) in" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s," \
        "queue file $($SUDO find "$queue/deferred" -type f | head -n 1 | xargs $SUDO stat -c %s) bytes"

    say "$name: $($SUDO postconf -c "$etc" -h mail_version | sed 's/^/Postfix /')," \
        "master pid $PF_MASTER, relayhost smtp-sink 127.0.0.1:$SINK_PORT," \
        "smtp_destination_concurrency_limit $CONNS" \
        "(initial_destination_concurrency $($SUDO postconf -c "$etc" -xh initial_destination_concurrency))," \
        "smtp_connection_cache_on_demand $cache, no TLS"
    say "$name: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

    run_watch "$name" --pfqueue "$queue" --sid "$PF_MASTER" \
        -- $SUDO postqueue -c "$etc" -f
    record "$name"

    local sent deferred bounced warn conns
    sent=$($SUDO grep -c 'status=sent' "$log/postfix.log" || true)
    deferred=$($SUDO grep -c 'status=deferred' "$log/postfix.log" || true)
    bounced=$($SUDO grep -c 'status=bounced' "$log/postfix.log" || true)
    warn=$($SUDO grep -cE ' (warning|error|fatal|panic): ' "$log/postfix.log" || true)
    # conn_use=K on a status=sent line: the K-th message on a cached connection
    conns=$($SUDO grep 'status=sent' "$log/postfix.log" | grep -vc 'conn_use=' || true)
    printf -v "CHECK_$name" '%s' "sink $(check_sink "$name"); log: $sent sent ($conns on a new connection), $deferred deferred, $bounced bounced, $warn warning/fatal lines"
    if [ "$warn" != 0 ]; then
        say "$name: log, first warnings:"
        $SUDO grep -E ' (warning|error|fatal|panic): ' "$log/postfix.log" | head -n 10 | sed 's/^/    /'
    fi
    [ "$R_STATUS" = ok ] || rc=1
    stop_postfix
    stop_sink
    return $rc
}

# ---- main -------------------------------------------------------------------------------

CHECK_ours='' CHECK_postfix='' REDIS_PER_MSG=''
say "$N queued messages x $SIZE bytes, one recipient each, delivered to smtp-sink" \
    "on 127.0.0.1 over at most $CONNS parallel connections per side"
say "$(nproc) CPUs, temp dir $T on $(df -PT "$T" | awk 'NR == 2 { print $2 }')," \
    "timeout ${TIMEOUT}s per side (stall ${STALL}s)"
[ "$FSYNC" = always ] || say "NOTE: Redis with appendfsync $FSYNC, not always: not a fair comparison"
fail=0
if [ "$ONLY" != postfix ]; then bench_ours || fail=1; fi
if [ "$ONLY" != ours ]; then
    for m in $PF_MODES; do bench_postfix "$m" || fail=1; done
fi

echo
printf '%-10s %11s %8s %8s %12s %12s %7s %8s   %s\n' server messages seconds msg/s \
    "peak RSS MB" "peak PSS MB" "CPU s" "sink CPU" status
for r in "${ROWS[@]}"; do echo "$r"; done
for m in $PF_MODES; do
    rate_var=RATE_$m status_var=STATUS_$m
    if [ -z "$RATE_ours" ] || [ -z "${!rate_var}" ]; then continue; fi
    awk -v a="$RATE_ours" -v b="${!rate_var}" -v m="$m" \
        'BEGIN { if (b > 0) printf "ratio ours/%s: %.2f", m, a / b; else printf "ratio ours/%s: n/a", m }'
    if [ "$STATUS_ours" != ok ] || [ "${!status_var}" != ok ]; then
        echo "  (NOT a valid comparison: ours $STATUS_ours, $m ${!status_var})"
    else
        echo
    fi
done
echo "messages = in the sink / queued; seconds from the start of delivery (nginx" \
     "start, resp. postqueue -f) until the sink has all and the queue is empty." \
     "RSS: ours = nginx master + workers + redis-server; postfix = every process" \
     "of the instance (RSS sums count shared pages once per process, PSS" \
     "divides them among the processes). CPU s = user+system CPU seconds of those during the run;" \
     "sink CPU = the smtp-sink's."
[ -z "$CHECK_ours" ] || echo "check ours:    $CHECK_ours"
[ -z "$REDIS_PER_MSG" ] || echo "ours, Redis:   $REDIS_PER_MSG (while delivering; commands run by scripts (EVAL, EVALSHA) counted too)"
[ -z "$CHECK_postfix" ] || echo "check postfix: $CHECK_postfix"
[ -z "$CHECK_postfix_nc" ] || echo "check postfix_nc: $CHECK_postfix_nc"
exit $fail
