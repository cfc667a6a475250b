#!/usr/bin/env bash
# SMTP delivery benchmark: nginx-mailserver's smtpd vs a stock Postfix.
#
#   bench/smtp-bench.sh [-m messages] [-s sessions] [-l bytes] [-w workers]
#                       [-o ours|postfix|both] [-k]
#
# Postfix's smtp-source sends N messages (default 5000) of 10240 bytes with
# 20 parallel sessions (one message per connection) to demo@example.test,
# first at our smtpd, then at a private Postfix that delivers to a virtual
# Maildir user.  For each side it prints the time until all N messages are
# in the mailbox (Redis INBOX count for ours, Maildir new/ for Postfix,
# polled every 50 ms, so Postfix's queue and delivery are included), the
# messages per second, and the peak RSS summed over nginx master + workers
# + redis-server, resp. over every process of the Postfix instance (sampled
# every 100 ms from /proc; PSS and CPU seconds too); then the ratio
# ours/postfix, the load generator's own ceiling (smtp-source against
# smtp-sink, which stores nothing) and a check of the delivered mail on each
# side (count, size of one message, logs).  The sides run one after the
# other, never at the same time.
#
# Durability, as each product documents it: Redis runs with appendonly yes,
# appendfsync always (conf/run.sh): the delivery script's writes are on
# disk before the 250 (Redis fsyncs once per event-loop round, so
# concurrent sessions share an fsync); Postfix with its defaults: cleanup(8)
# fsyncs the queue file before the 250, virtual(8) fsyncs each Maildir file
# before the delivery counts.
#
# Everything runs on free 127.0.0.1 ports in a temp dir that is removed on
# exit (Ctrl-C included; -k keeps it).  /etc/postfix and system services
# are not touched: Postfix runs as `postfix -c TMP/postfix/etc` with its own
# queue and data directories.  Missing Debian packages (postfix, with the
# debconf answer "No configuration", redis-server, redis-tools, perl) are
# installed with apt-get, as root or via sudo; build/ is built with
# ./build.sh when missing.  Postfix needs root, so does part of this script.
#
# Environment:
#   BENCH_TIMEOUT=30+N/40  give up on a side after this many seconds
#   BENCH_STALL=20       ... or when no message arrived for this long
#   BENCH_REDIS_SAVE=    Redis RDB snapshots ("" = off; the AOF is the
#                        durable copy).  "default" keeps Redis' own rules.
#   BENCH_VMAIL_USER=mail  owner of the Postfix Maildir (not root)
#   BENCH_SPAM=1         ours with the spam filter's Bayes check on every
#                        message ("spam on; spam_spf off;", global counts
#                        trained first on 25 + 25 generated messages);
#                        Postfix runs without a filter as always
#   TMPDIR               where the temp dir goes (same fs for both sides)

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${MAIL_BUILD_DIR:-$TOP/build}
WATCH=$TOP/bench/smtp/watch.pl

N=5000 SESSIONS=20 SIZE=10240 WORKERS=2 ONLY=both KEEP=0
TIMEOUT=${BENCH_TIMEOUT:-}
STALL=${BENCH_STALL:-20}
REDIS_SAVE=${BENCH_REDIS_SAVE-}
SPAM=${BENCH_SPAM:-0}
VMAIL_USER=${BENCH_VMAIL_USER:-mail}
USER_ADDR=demo@example.test
SENDER=sender@remote.example

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

while getopts m:s:l:w:o:kh opt; do
    case $opt in
        m) N=$OPTARG ;;
        s) SESSIONS=$OPTARG ;;
        l) SIZE=$OPTARG ;;
        w) WORKERS=$OPTARG ;;
        o) ONLY=$OPTARG ;;
        k) KEEP=1 ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# = 0 ] || usage
for v in "$N" "$SESSIONS" "$SIZE"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "smtp-bench: bad number: $v" >&2; exit 2; }
done
[[ $WORKERS =~ ^([1-9][0-9]*|auto)$ ]] || { echo "smtp-bench: bad -w" >&2; exit 2; }
case $ONLY in ours|postfix|both) ;; *) usage ;; esac
# below 40 msg/s a run counts as failed: 130 s for the default 5000
[ -n "$TIMEOUT" ] || TIMEOUT=$((30 + N / 40))

NAME=smtp-bench
# shellcheck source=bench/lib/common.sh
. "$TOP/bench/lib/common.sh"

# ---- dependencies -------------------------------------------------------------

apt_install postfix redis-server redis-tools perl
[ -x /usr/sbin/smtp-source ] || die "/usr/sbin/smtp-source missing (postfix package)"

need_build

# ---- temp dir, ports, cleanup ------------------------------------------------------

T=$(mktemp -d "${TMPDIR:-/tmp}/smtp-bench.XXXXXX")
chmod 0755 "$T"
# Postfix's unix sockets live under $T/postfix/queue: sun_path is 108 bytes
[ ${#T} -le 60 ] || { rm -rf "$T"; die "temp dir path too long: $T (set TMPDIR)"; }

REDIS_PID='' NGINX_PID='' PF_MASTER='' WATCH_PID='' SINK_PID=''

stop_ours() {
    if [ -n "$NGINX_PID" ]; then
        kill -QUIT "$NGINX_PID" 2>/dev/null || true
        wait_gone "$NGINX_PID" 100 || kill -KILL "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
        NGINX_PID=
    fi
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
    $SUDO postfix -c "$T/postfix/etc" stop >/dev/null 2>&1 \
        || $SUDO kill -TERM "$PF_MASTER" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do
        [ -z "$(pf_procs "$PF_MASTER")" ] && break
        sleep 0.1
    done
    local left
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
    if [ -n "$SINK_PID" ]; then
        kill -TERM "$SINK_PID" 2>/dev/null || true
        wait "$SINK_PID" 2>/dev/null || true
    fi
    stop_ours
    stop_postfix
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

# run_watch NAME watch-args...: smtp-source under watch.pl; sets R_* variables
run_watch() {
    local name=$1 port=$2 line
    shift 2
    : > "$T/$name-smtp-source.log"
    perl "$WATCH" --target "$N" --timeout "$TIMEOUT" --stall "$STALL" \
        --log "$T/$name-smtp-source.log" "$@" -- \
        /usr/sbin/smtp-source -s "$SESSIONS" -l "$SIZE" -m "$N" \
        -f "$SENDER" -t "$USER_ADDR" "127.0.0.1:$port" \
        > "$T/$name-watch.out" &
    WATCH_PID=$!
    wait "$WATCH_PID" || true
    WATCH_PID=
    line=$(tail -n 1 "$T/$name-watch.out")
    R_STATUS='' R_DELIVERED=0 R_SECS=0 R_SRC_SECS=0 R_SRC_RC='' R_RSS=0 R_PSS=n/a R_CPU=0 R_NPROCS=0 R_DETAIL=-
    local kv
    for kv in $line; do
        case $kv in
            status=*) R_STATUS=${kv#*=} ;;      delivered=*) R_DELIVERED=${kv#*=} ;;
            secs=*) R_SECS=${kv#*=} ;;          src_secs=*) R_SRC_SECS=${kv#*=} ;;
            src_rc=*) R_SRC_RC=${kv#*=} ;;      rss_kb=*) R_RSS=${kv#*=} ;;
            pss_kb=*) R_PSS=${kv#*=} ;;        cpu_s=*) R_CPU=${kv#*=} ;;
            nprocs=*) R_NPROCS=${kv#*=} ;;      detail=*) R_DETAIL=${kv#*=} ;;
        esac
    done
    [ -n "$R_STATUS" ] || { R_STATUS=watch-failed; cat "$T/$name-watch.out" >&2; }
    if [ -s "$T/$name-smtp-source.log" ]; then
        say "$name: smtp-source said ($(wc -l < "$T/$name-smtp-source.log") lines, first 10):"
        head -n 10 "$T/$name-smtp-source.log" | sed 's/^/    /'
    fi
}

# results, one row per side
ROWS=()
RATE_ours='' RATE_postfix='' STATUS_ours='' STATUS_postfix=''

record() {  # name
    local name=$1 rate mb pss detail
    rate=$(awk -v n="$R_DELIVERED" -v s="$R_SECS" 'BEGIN { printf "%.1f", (s > 0) ? n / s : 0 }')
    mb=$(awk -v k="$R_RSS" 'BEGIN { printf "%.1f", k / 1024 }')
    pss=n/a
    [ "$R_PSS" = n/a ] || pss=$(awk -v k="$R_PSS" 'BEGIN { printf "%.1f", k / 1024 }')
    printf -v "RATE_$name" '%s' "$rate"
    ROWS+=("$(printf '%-8s %11s %8.2f %8s %12s %12s %7.1f   %s' "$name" \
        "$R_DELIVERED/$N" "$R_SECS" "$rate" "$mb" "$pss" "$R_CPU" "$R_STATUS")")
    printf -v "STATUS_$name" '%s' "$R_STATUS"
    detail=$(echo "$R_DETAIL" | tr ',' '\n' \
        | awk -F: '$1 != "-" { printf "%s%s %.1f", sep, $1, $2 / 1024; sep = ", " }')
    say "$name: $R_STATUS — $R_DELIVERED of $N in the mailbox after ${R_SECS}s" \
        "(smtp-source finished after ${R_SRC_SECS}s, exit $R_SRC_RC)"
    say "$name: peak RSS $mb MB (PSS $pss MB) over $R_NPROCS processes" \
        "(RSS MB at the peak: $detail)"
}

size_ok() {  # bytes -> "ok" when within 90%..150% of the payload size
    awk -v b="$1" -v l="$SIZE" 'BEGIN { ok = (b >= l * 0.9 && b <= l * 1.5 + 2048); print ok ? "ok" : "WRONG SIZE" }'
}

# ---- ours: redis-server + nginx ------------------------------------------------------

bench_ours() {
    local d=$T/ours rport sport rc=0
    mkdir -p "$d/redis" "$d/bin"
    # private copies: a rebuild of build/ during the run (cp over the .so
    # nginx has mapped) would crash the workers with SIGBUS/SIGSEGV
    local nginx_bin=$d/bin/nginx mail_mod=$d/bin/${NGINX_MAIL_MODULE##*/}
    local server_mod=$d/bin/${NGINX_SERVER_MODULE##*/} mailctl=$d/bin/mailctl
    cp "$NGINX_BIN" "$nginx_bin"
    cp "$NGINX_MAIL_MODULE" "$mail_mod"
    cp "$NGINX_SERVER_MODULE" "$server_mod"
    cp "$BUILD/mailctl" "$mailctl"
    rport=$(free_port)
    local save=(--save "$REDIS_SAVE")
    [ "$REDIS_SAVE" = default ] && save=()
    redis-server --port "$rport" --bind 127.0.0.1 --dir "$d/redis" \
        --appendonly yes --appendfsync always "${save[@]}" \
        --daemonize no --logfile "$d/redis.log" &
    REDIS_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        redis-cli -p "$rport" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -p "$rport" ping >/dev/null 2>&1 || die "redis-server did not start ($d/redis.log)"
    local rcli=(redis-cli -p "$rport" --raw)
    redis_info() { "${rcli[@]}" info | tr -d '\r' | sed -n "s/^$1://p"; }

    export REDIS_URL="redis://127.0.0.1:$rport"
    "$mailctl" domain add example.test >/dev/null
    echo "bench-Pa55word" | "$mailctl" user add "$USER_ADDR" >/dev/null

    local spam_conf=""
    if [ "$SPAM" = 1 ]; then
        local i w
        mkdir -p "$d/learn"
        for ((i = 0; i < 25; i++)); do
            for w in spam ham; do
                printf 'From: x%d@%s.example\r\nSubject: %s %d\r\n\r\n%s\r\n' \
                    "$i" "$w" "$w" "$i" \
                    "$(shuf -n 40 -r -e ${w}word{1..60} | tr '\n' ' ')" \
                    > "$d/learn/$w$i.eml"
            done
        done
        "$mailctl" spam learn --spam "$d"/learn/spam*.eml >/dev/null
        "$mailctl" spam learn --ham "$d"/learn/ham*.eml >/dev/null
        spam_conf="spam on; spam_spf off;"
    fi

    sport=$(free_port)
    cat > "$d/nginx.conf" <<EOF
load_module $mail_mod;
load_module $server_mod;
worker_processes $WORKERS;
error_log $d/error.log info;
pid $d/nginx.pid;
events { worker_connections 4096; }
mail {
    server_name mx.example.test;
    mail_redis 127.0.0.1:$rport;
    timeout 300s;
    server {
        listen 127.0.0.1:$sport;
        protocol smtpd;
        smtpd_role mx;
        $spam_conf
    }
}
EOF
    "$nginx_bin" -t -q -e "$d/error.log" -p "$d" -c "$d/nginx.conf" \
        || die "nginx -t failed on $d/nginx.conf"
    "$nginx_bin" -e "$d/error.log" -p "$d" -c "$d/nginx.conf" -g 'daemon off;' &
    NGINX_PID=$!
    for ((i = 0; i < 100; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$sport") 2>/dev/null && break
        sleep 0.1
    done

    local nver rver nworkers
    nver=$("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///')
    rver=$(redis-server --version | sed 's/.* v=\([^ ]*\).*/\1/')
    nworkers=$(ps -o pid= --ppid "$NGINX_PID" | wc -l)
    say "ours: nginx $nver, worker_processes $WORKERS ($nworkers running)," \
        "error_log info, smtpd_role mx, no TLS, port $sport," \
        "spam filter: $([ "$SPAM" = 1 ] && echo "Bayes (spam on, spam_spf off)" || echo off)"
    say "ours: redis-server $rver, port $rport:" \
        "$("${rcli[@]}" config get appendonly | paste -sd' ')," \
        "$("${rcli[@]}" config get appendfsync | paste -sd' ')," \
        "save \"$("${rcli[@]}" config get save | sed -n 2p)\"," \
        "AOF in $d/redis"
    say "ours: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

    run_watch ours "$sport" --redis "$rport" --user "$USER_ADDR" \
        --pids "$NGINX_PID,$REDIS_PID"
    record ours

    # correctness: the count, one message's size, nothing left in spool
    local inbox uid1 blob size bsize spools errs
    inbox=$("${rcli[@]}" hget "mailboxes:{$USER_ADDR}" INBOX)
    if [ -n "$inbox" ]; then
        uid1=$("${rcli[@]}" zrange "mailbox:{$USER_ADDR}:$inbox:uids" 0 0)
        blob=$("${rcli[@]}" hget "msg:{$USER_ADDR}:$inbox:$uid1" blob)
        size=$("${rcli[@]}" hget "msg:{$USER_ADDR}:$inbox:$uid1" size)
        bsize=$("${rcli[@]}" strlen "blob:{$blob}")
        CHECK_ours="INBOX messages=$("${rcli[@]}" hget "mailbox:{$USER_ADDR}:$inbox" messages)"
        CHECK_ours+=" (want $N); uid $uid1: size field $size, blob $bsize bytes"
        CHECK_ours+=" -> $(size_ok "$bsize")"
        [ "$size" = "$bsize" ] || CHECK_ours+=" (size field != blob length!)"
        CHECK_ours+=", MEMORY USAGE $("${rcli[@]}" memory usage "blob:{$blob}")"
    else
        CHECK_ours="no INBOX for $USER_ADDR: nothing delivered"
    fi
    spools=$("${rcli[@]}" --scan --pattern 'spool:*' | wc -l)
    CHECK_ours+="; spool keys left: $spools"
    CHECK_ours+="; redis used_memory $(redis_info used_memory_human)"
    CHECK_ours+=", forks (AOF rewrite / RDB save) during the run: $(redis_info total_forks)"
    errs=$(grep -cE '\[(error|crit|alert|emerg)\]' "$d/error.log" || true)
    CHECK_ours+="; error.log: $errs error/crit/alert lines"
    if [ "$errs" != 0 ]; then
        say "ours: error.log, first error lines:"
        grep -E '\[(error|crit|alert|emerg)\]' "$d/error.log" | head -n 10 | sed 's/^/    /'
    fi
    [ "$R_STATUS" = ok ] || rc=1
    stop_ours
    return $rc
}

# ---- Postfix --------------------------------------------------------------------------

bench_postfix() {
    local d=$T/postfix port vuid vgid rc=0
    local etc=$d/etc queue=$d/queue data=$d/data log=$d/log vmail=$d/vmail
    vuid=$(id -u "$VMAIL_USER") || die "no user $VMAIL_USER"
    vgid=$(id -g "$VMAIL_USER")
    [ "$vuid" != 0 ] || die "BENCH_VMAIL_USER must not be root"
    id postfix >/dev/null 2>&1 || die "no postfix user (is the postfix package installed?)"
    port=$(free_port)

    $SUDO mkdir -p "$etc" "$queue" "$data" "$log" "$vmail/example.test/demo"
    $SUDO chown root:root "$etc" "$queue"
    $SUDO chown postfix:postfix "$data"
    $SUDO chmod 0700 "$data"
    # the Maildir exists up front, readable, so the watcher can count new/
    $SUDO mkdir -p "$vmail/example.test/demo/"{new,cur,tmp}
    $SUDO chown -R "$vuid:$vgid" "$vmail"
    $SUDO chmod -R 0755 "$vmail"

    $SUDO tee "$etc/main.cf" >/dev/null <<EOF
# generated by bench/smtp-bench.sh: a private Postfix on 127.0.0.1:$port
compatibility_level = 3.6
queue_directory = $queue
data_directory = $data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-bench
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
# nothing leaves this instance
default_transport = error:5.7.1 no outbound mail from the benchmark
relay_transport = error:5.7.1 no outbound mail from the benchmark
# the virtual Maildir user
virtual_mailbox_domains = example.test
virtual_mailbox_base = $vmail
virtual_mailbox_maps = texthash:$etc/vmailbox
virtual_uid_maps = static:$vuid
virtual_gid_maps = static:$vgid
virtual_minimum_uid = $vuid
# no anvil rate limits for the load generator on loopback
smtpd_client_event_limit_exceptions = 127.0.0.0/8
EOF
    $SUDO tee "$etc/master.cf" >/dev/null <<EOF
# generated by bench/smtp-bench.sh: Debian's stock services, without chroot
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    echo "$USER_ADDR example.test/demo/" | $SUDO tee "$etc/vmailbox" >/dev/null
    $SUDO chmod 0644 "$etc"/*

    $SUDO postfix -c "$etc" start >"$d.start.log" 2>&1 \
        || { cat "$d.start.log" >&2; die "postfix did not start (see above)"; }
    local i p
    for ((i = 0; i < 100; i++)); do
        p=$($SUDO cat "$queue/pid/master.pid" 2>/dev/null | tr -d ' ' || true)
        if [ -n "$p" ] && [ -d "/proc/$p" ]; then PF_MASTER=$p; fi
        [ -n "$PF_MASTER" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    [ -n "$PF_MASTER" ] || die "postfix master did not come up ($log/postfix.log)"

    say "postfix: $($SUDO postconf -c "$etc" -h mail_version | sed 's/^/Postfix /')," \
        "master pid $PF_MASTER, port $port, virtual(8) -> Maildir as $VMAIL_USER ($vuid)," \
        "default durability (fsync), default concurrency" \
        "(virtual_destination_concurrency_limit=$($SUDO postconf -c "$etc" -xh virtual_destination_concurrency_limit))"
    say "postfix: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

    run_watch postfix "$port" --maildir "$vmail/example.test/demo/new" --sid "$PF_MASTER"
    record postfix

    local f n sent deferred bounced warn
    n=$(find "$vmail/example.test/demo/new" -type f | wc -l)
    f=$(find "$vmail/example.test/demo/new" -type f | head -n 1)
    if [ -n "$f" ]; then
        CHECK_postfix="Maildir new/ files=$n (want $N); $(basename "$f"): $(stat -c %s "$f") bytes"
        CHECK_postfix+=" -> $(size_ok "$(stat -c %s "$f")")"
    else
        CHECK_postfix="Maildir new/ is empty: nothing delivered"
    fi
    sent=$($SUDO grep -c 'status=sent' "$log/postfix.log" || true)
    deferred=$($SUDO grep -c 'status=deferred' "$log/postfix.log" || true)
    bounced=$($SUDO grep -c 'status=bounced' "$log/postfix.log" || true)
    warn=$($SUDO grep -cE ' (warning|error|fatal|panic): ' "$log/postfix.log" || true)
    CHECK_postfix+="; log: $sent sent, $deferred deferred, $bounced bounced, $warn warning/fatal lines"
    if [ "$warn" != 0 ]; then
        say "postfix: log, first warnings:"
        $SUDO grep -E ' (warning|error|fatal|panic): ' "$log/postfix.log" | head -n 10 | sed 's/^/    /'
    fi
    [ "$R_STATUS" = ok ] || rc=1
    stop_postfix
    return $rc
}

# ---- the load generator's own ceiling ----------------------------------------------------

# smtp-source against Postfix's smtp-sink (accepts and discards, stores
# nothing): how fast the client side can go on this machine at all
SINK_RATE=''
bench_sink() {
    local port t0 t1 user=()
    [ -x /usr/sbin/smtp-sink ] || return 0
    port=$(free_port)
    [ "$(id -u)" = 0 ] && user=(-u postfix)
    /usr/sbin/smtp-sink "${user[@]}" "127.0.0.1:$port" 256 \
        >"$T/sink.log" 2>&1 &
    SINK_PID=$!
    local i
    for ((i = 0; i < 50; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    t0=$(date +%s.%N)
    if /usr/sbin/smtp-source -s "$SESSIONS" -l "$SIZE" -m "$N" -f "$SENDER" \
        -t "$USER_ADDR" "127.0.0.1:$port" >>"$T/sink.log" 2>&1; then
        t1=$(date +%s.%N)
        SINK_RATE=$(awk -v a="$t0" -v b="$t1" -v n="$N" \
            'BEGIN { printf "%.1f msg/s (%.2f s)", n / (b - a), b - a }')
    else
        SINK_RATE="failed: $(head -n 1 "$T/sink.log")"
    fi
    kill -TERM "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
    SINK_PID=''
}

# ---- main -------------------------------------------------------------------------------

CHECK_ours='' CHECK_postfix=''
say "$N messages x $SIZE bytes payload, $SESSIONS parallel sessions" \
    "(smtp-source, one message per connection), to $USER_ADDR"
say "$(nproc) CPUs, temp dir $T on $(df -PT "$T" | awk 'NR == 2 { print $2 }')," \
    "timeout ${TIMEOUT}s per side (stall ${STALL}s)"
fail=0
bench_sink
if [ "$ONLY" != postfix ]; then bench_ours || fail=1; fi
if [ "$ONLY" != ours ]; then bench_postfix || fail=1; fi

echo
printf '%-8s %11s %8s %8s %12s %12s %7s   %s\n' server messages seconds msg/s \
    "peak RSS MB" "peak PSS MB" "CPU s" status
for r in "${ROWS[@]}"; do echo "$r"; done
if [ -n "$RATE_ours" ] && [ -n "$RATE_postfix" ]; then
    awk -v a="$RATE_ours" -v b="$RATE_postfix" \
        'BEGIN { if (b > 0) printf "ratio ours/postfix: %.2f", a / b; else printf "ratio ours/postfix: n/a" }'
    if [ "$STATUS_ours" != ok ] || [ "$STATUS_postfix" != ok ]; then
        echo "  (NOT a valid comparison: ours $STATUS_ours, postfix $STATUS_postfix)"
    else
        echo
    fi
fi
echo "RSS/PSS: ours = nginx master + workers + redis-server (and any child it forks);" \
     "postfix = every process of the instance's session. RSS sums count shared pages" \
     "(libraries) once per process; PSS divides them among the processes." \
     "CPU s = user+system CPU seconds of those processes during the run."
[ -z "$SINK_RATE" ] || echo "load generator ceiling (smtp-source -> smtp-sink, stores nothing): $SINK_RATE"
[ -z "$CHECK_ours" ] || echo "check ours:    $CHECK_ours"
[ -z "$CHECK_postfix" ] || echo "check postfix: $CHECK_postfix"
exit $fail
