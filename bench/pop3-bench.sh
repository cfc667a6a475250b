#!/usr/bin/env bash
# POP3 retrieval benchmark: nginx-mailserver's pop3d vs Debian's Dovecot pop3.
#
#   bench/pop3-bench.sh [-c clients] [-m messages] [-l bytes] [-r rounds]
#                       [-W window] [-w workers] [-H scheme]
#                       [-o ours|dovecot|both] [-k]
#
# N clients (default 20) each have their own user, user1..userN@example.test,
# with M messages (default 100) of 10240 bytes payload on both servers, put
# there the way mail arrives: Postfix's smtp-source sends them to our smtpd
# (SMTP), resp. to Dovecot's LMTP (unix socket), so both sides store what
# their delivery path writes (Return-Path, Received, ...: about 10.6 KB);
# then nginx (Redis keeps the data) and Dovecot are restarted, so nothing
# left over from delivery (Dovecot's idle lmtp processes) counts.
# The load generator (bench/pop3/pop3load.c, C, a thread per client, built
# here) starts all clients at once; each runs R sessions in a row (default
# 6): connect, USER/PASS, STAT, LIST, RETR 1..M, QUIT without DELE (so runs
# repeat).  Commands go one at a time, each reply read before the next
# command (-W 1, what most POP3 clients do); -W K keeps K RETRs in flight
# (PIPELINING, which both servers announce).  Same client, same settings
# for both sides, one side after the other, never at the same time.  A
# session that fails is counted and the client goes on with its next one;
# BENCH_LIMIT and BENCH_READ_TIMEOUT bound the run when a server hangs.
# The default run takes 1 to 2 minutes on 2 cores.
#
# Before the timed pass each side gets one untimed warm-up pass (every
# client one session): Dovecot builds its index and cache files
# (dovecot.index*, virtual sizes) and moves the messages from new/ to cur/
# with the \Seen flag; ours sets \Seen in Redis.  So the timed pass reads
# from warm caches on both sides and changes no flags.
#
# Printed: each side's settings, then per side the messages retrieved,
# seconds, msg/s, MB/s (message octets as LIST counts them, 10^6 bytes),
# login latency (connect to +OK of PASS: greeting, password hash, opening
# the maildrop), peak RSS and PSS summed over nginx master + workers +
# redis-server, resp. every process of the Dovecot instance (sampled every
# 100 ms from /proc), their CPU seconds, and the client's own CPU; then the
# ratio ours/dovecot, the load generator's ceiling against a trivial
# in-memory POP3 server, and the correctness checks: every RETR's octets
# equal the LIST size (in the client), and the first message user1
# retrieved is byte-for-byte what the server stores (Redis blob, resp. the
# Maildir file with CRLF line ends).
#
# Passwords: `mailctl user add` (yescrypt, libxcrypt's default cost) for
# ours, and the very same hash strings in Dovecot's passwd-file as {CRYPT}
# (Dovecot verifies them with the same libxcrypt crypt()), so both sides
# pay the same hash per login.  -H sha512-crypt / bcrypt: mailctl's other
# schemes (200000 rounds / cost 10, near yescrypt's cost).  -H
# sha512-crypt-5000: glibc's default SHA512-CRYPT (5000 rounds, what
# `doveadm pw -s SHA512-CRYPT` makes, about 50 times cheaper), stored over
# mailctl's hash with HSET, to see the RETR work with little login cost.
#
# Durability, as each product ships: Redis with appendonly yes, appendfsync
# always (conf/run.sh); Dovecot's defaults (mail_fsync = optimized).  Redis
# RDB snapshots are off (BENCH_REDIS_SAVE).  Logging at info on both sides
# (nginx error_log info; Dovecot logs every login and logout).
#
# Everything runs on free 127.0.0.1 ports in a temp dir that is removed on
# exit (Ctrl-C included; -k keeps it).  /etc/dovecot and system services
# are not touched: Dovecot runs as `dovecot -F -c TMP/dovecot/dovecot.conf`
# with its own base_dir and state_dir, the Maildirs owned by the user mail.
# Missing Debian packages (dovecot-core, dovecot-pop3d, dovecot-lmtpd,
# postfix for smtp-source with the debconf answer "No configuration",
# redis-server, redis-tools, gcc, libc6-dev, perl) are installed with
# apt-get, as root or via sudo; build/ is built with ./build.sh when
# missing.  Dovecot needs root, so does part of this script.
#
# Environment:
#   BENCH_LIMIT=120      start no new session after this many seconds
#   BENCH_READ_TIMEOUT=30  a session fails when the server is silent this long
#   BENCH_REDIS_SAVE=    Redis RDB snapshots ("" = off; "default" = Redis')
#   BENCH_VMAIL_USER=mail  owner of the Dovecot Maildirs (not root)
#   TMPDIR               where the temp dir goes

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${MAIL_BUILD_DIR:-$TOP/build}
HERE=$TOP/bench/pop3

CLIENTS=20 MSGS=100 SIZE=10240 ROUNDS=6 WINDOW=1 WORKERS=2 SCHEME=yescrypt
ONLY=both KEEP=0
LIMIT=${BENCH_LIMIT:-120}
READ_TIMEOUT=${BENCH_READ_TIMEOUT:-30}
REDIS_SAVE=${BENCH_REDIS_SAVE-}
VMAIL_USER=${BENCH_VMAIL_USER:-mail}
PASSWORD=bench-Pa55word
SENDER=sender@remote.example
DOMAIN=example.test

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

while getopts c:m:l:r:W:w:H:o:kh opt; do
    case $opt in
        c) CLIENTS=$OPTARG ;;
        m) MSGS=$OPTARG ;;
        l) SIZE=$OPTARG ;;
        r) ROUNDS=$OPTARG ;;
        W) WINDOW=$OPTARG ;;
        w) WORKERS=$OPTARG ;;
        H) SCHEME=$OPTARG ;;
        o) ONLY=$OPTARG ;;
        k) KEEP=1 ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# = 0 ] || usage
for v in "$CLIENTS" "$MSGS" "$SIZE" "$ROUNDS" "$WINDOW" "$LIMIT" "$READ_TIMEOUT"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "pop3-bench: bad number: $v" >&2; exit 2; }
done
[ "$CLIENTS" -le 1000 ] || { echo "pop3-bench: at most 1000 clients" >&2; exit 2; }
[ "$WINDOW" -le 100 ] || { echo "pop3-bench: -W at most 100" >&2; exit 2; }
[[ $WORKERS =~ ^([1-9][0-9]*|auto)$ ]] || { echo "pop3-bench: bad -w" >&2; exit 2; }
case $ONLY in ours|dovecot|both) ;; *) usage ;; esac
case $SCHEME in yescrypt|sha512-crypt|bcrypt|sha512-crypt-5000) ;; *) usage ;; esac

NAME=pop3-bench
# shellcheck source=bench/lib/common.sh
. "$TOP/bench/lib/common.sh"

# ---- dependencies -------------------------------------------------------------

apt_install dovecot-core dovecot-pop3d dovecot-lmtpd postfix \
    redis-server redis-tools gcc libc6-dev perl
[ -x /usr/sbin/smtp-source ] || die "/usr/sbin/smtp-source missing (postfix package)"
[ -x /usr/lib/dovecot/pop3 ] || die "/usr/lib/dovecot/pop3 missing (dovecot-pop3d)"
[ -x /usr/lib/dovecot/lmtp ] || die "/usr/lib/dovecot/lmtp missing (dovecot-lmtpd)"

if [ "$ONLY" != dovecot ]; then
    need_build
fi

# ---- temp dir, ports, cleanup ------------------------------------------------------

T=$(mktemp -d "${TMPDIR:-/tmp}/pop3-bench.XXXXXX")
chmod 0755 "$T"
# Dovecot's unix sockets live under $T/dovecot/run: sun_path is 108 bytes
[ ${#T} -le 60 ] || { rm -rf "$T"; die "temp dir path too long: $T (set TMPDIR)"; }

REDIS_PID='' NGINX_PID='' DC_PID='' SAMPLER_PID='' TRIVIAL_PID='' CLIENT_PID=''
DC_CONF=$T/dovecot/dovecot.conf

stop_ours() {
    stop_pid "$NGINX_PID" QUIT 100; NGINX_PID=
    stop_pid "$REDIS_PID" TERM 300; REDIS_PID=
}

dc_procs() {  # every process below the Dovecot master we started
    [ -n "$DC_PID" ] || return 0
    ps -e -o pid=,ppid= | awk -v r="$DC_PID" '
        { parent[$1] = $2 }
        END { for (p in parent) { q = p
                while (q != "" && q != 0 && q != 1) { if (q == r) { print p; break } q = parent[q] } } }'
}

stop_dovecot() {
    [ -n "$DC_PID" ] || return 0
    $SUDO dovecot -c "$DC_CONF" stop >/dev/null 2>&1 \
        || $SUDO kill -TERM "$DC_PID" 2>/dev/null || true
    local i left
    for ((i = 0; i < 100; i++)); do
        [ -d "/proc/$DC_PID" ] || break
        sleep 0.1
    done
    left=$(dc_procs)
    # shellcheck disable=SC2086
    [ -z "$left" ] || $SUDO kill -KILL $left "$DC_PID" 2>/dev/null || true
    wait "$DC_PID" 2>/dev/null || true
    DC_PID=
}

# shellcheck disable=SC2317  # (called from the trap)
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    local p
    for p in "$CLIENT_PID" "$SAMPLER_PID" "$TRIVIAL_PID"; do
        [ -n "$p" ] || continue
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    stop_ours
    stop_dovecot
    if [ "$KEEP" = 1 ]; then
        say "kept $T"
    else
        $SUDO rm -rf -- "$T"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo; say interrupted; exit 130' INT TERM HUP

# ---- the load generator ------------------------------------------------------------

mkdir -p "$T/bin"
LOAD=$T/bin/pop3load
cc -O2 -Wall -pthread -o "$LOAD" "$HERE/pop3load.c" || die "cannot build pop3load"

# run_client NAME PORT ROUNDS [DUMP]: sets C_* from pop3load's line
run_client() {
    local name=$1 port=$2 rounds=$3 dump=${4:-} kv line
    local args=(-p "$port" -c "$CLIENTS" -r "$rounds" -m "$MSGS" -W "$WINDOW"
                -u "user%d@$DOMAIN" -w "$PASSWORD" -t "$READ_TIMEOUT" -T "$LIMIT")
    [ -z "$dump" ] || args+=(-d "$dump")
    "$LOAD" "${args[@]}" > "$T/$name.client" 2>&1 &
    CLIENT_PID=$!
    wait "$CLIENT_PID" || true
    CLIENT_PID=
    line=$(grep '^status=' "$T/$name.client" | tail -n 1 || true)
    C_STATUS='' C_MSGS=0 C_OCTETS=0 C_SECS=0 C_FAILED=0 C_SKIPPED=0 C_MISMATCH=0
    C_OK=0 C_LAVG=0 C_LP50=0 C_LP95=0 C_LMAX=0 C_CPU=0 C_ERR=- C_RETR=0
    for kv in ${line%% first_error=*}; do
        case $kv in
            status=*) C_STATUS=${kv#*=} ;;          messages=*) C_MSGS=${kv#*=} ;;
            octets=*) C_OCTETS=${kv#*=} ;;          secs=*) C_SECS=${kv#*=} ;;
            sessions_ok=*) C_OK=${kv#*=} ;;         sessions_failed=*) C_FAILED=${kv#*=} ;;
            sessions_skipped=*) C_SKIPPED=${kv#*=} ;;  mismatches=*) C_MISMATCH=${kv#*=} ;;
            login_avg_ms=*) C_LAVG=${kv#*=} ;;      login_p50_ms=*) C_LP50=${kv#*=} ;;
            login_p95_ms=*) C_LP95=${kv#*=} ;;      login_max_ms=*) C_LMAX=${kv#*=} ;;
            client_cpu_s=*) C_CPU=${kv#*=} ;;     retr_avg_ms=*) C_RETR=${kv#*=} ;;
        esac
    done
    case $line in *" first_error="*) C_ERR=${line#* first_error=} ;; esac
    if [ -z "$C_STATUS" ]; then
        C_STATUS=client-failed
        say "$name: pop3load said:"
        sed 's/^/    /' "$T/$name.client" | head -n 10 || true
    fi
}

rate() {  # messages seconds
    awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0) ? n / s : 0 }'
}

# the client against a trivial in-memory server: its own ceiling here
CEILING=''
bench_ceiling() {
    local port
    "$LOAD" -S -m "$MSGS" -l $((SIZE + 400)) > "$T/trivial.out" 2>&1 &
    TRIVIAL_PID=$!
    local i
    for ((i = 0; i < 50; i++)); do
        port=$(sed -n 's/^port=//p' "$T/trivial.out")
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { CEILING="trivial server did not start"; return 0; }
    run_client ceiling "$port" "$ROUNDS"
    CEILING="$(rate "$C_MSGS" "$C_SECS") msg/s ($C_MSGS messages of $((SIZE + 400)) octets in ${C_SECS}s, $C_STATUS); client CPU ${C_CPU}s"
    stop_pid "$TRIVIAL_PID" TERM 20; TRIVIAL_PID=
}

# ---- passwords ---------------------------------------------------------------------

# HASH[i]: the crypt(3) string of user i, the same on both sides
declare -A HASH=()
HASH_FROM="the same strings as ours"

make_hashes() {  # only when ours does not run: the same kind of hash mailctl makes
    local prefix i
    HASH_FROM="made with crypt(3) like mailctl's, ours did not run"
    # shellcheck disable=SC2016  # (crypt prefixes, not expansions)
    case $SCHEME in
        yescrypt) prefix='$y$j9T$' ;;
        sha512-crypt) prefix='$6$rounds=200000$' ;;
        bcrypt) prefix='$2b$10$' ;;
        sha512-crypt-5000) prefix='$6$' ;;
    esac
    while read -r i h; do HASH[$i]=$h; done < <(
        perl -e '
            my ($prefix, $pw, $n) = @ARGV;
            my @c = ("a".."z", "A".."Z", 0..9, ".", "/");
            for my $i (1 .. $n) {
                # bcrypt: 22 salt characters, the last one of only 2 bits
                my $salt = $prefix =~ /^\$2b/
                    ? join("", map { $c[rand 64] } 1 .. 21) . "."
                    : join("", map { $c[rand 64] } 1 .. 16) . "\$";
                my $h = crypt($pw, $prefix . $salt);
                die "crypt failed for $prefix\n" unless defined $h && $h =~ /^\$/;
                print "$i $h\n";
            }' "$prefix" "$PASSWORD" "$CLIENTS")
}

# ---- results -----------------------------------------------------------------------

ROWS=()
RATE_ours='' RATE_dovecot='' STATUS_ours='' STATUS_dovecot=''
LOGIN_ours='' LOGIN_dovecot='' CPUINFO_ours='' CPUINFO_dovecot=''
CHECK_ours='' CHECK_dovecot=''

# sampler_start PIDS / sampler_stop NAME: sets S_* (peak RSS etc.)
sampler_start() {
    perl "$HERE/rss.pl" --pids "$1" > "$T/sampler.out" &
    SAMPLER_PID=$!
    sleep 0.2
}

sampler_stop() {
    local kv
    kill -TERM "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=
    S_RSS=0 S_PSS=n/a S_N=0 S_CPU=0 S_DETAIL=-
    for kv in $(tail -n 1 "$T/sampler.out"); do
        case $kv in
            rss_kb=*) S_RSS=${kv#*=} ;;   pss_kb=*) S_PSS=${kv#*=} ;;
            nprocs=*) S_N=${kv#*=} ;;     cpu_s=*) S_CPU=${kv#*=} ;;
            detail=*) S_DETAIL=${kv#*=} ;;
        esac
    done
}

record() {  # name
    local name=$1 r mb rss pss detail want status
    r=$(rate "$C_MSGS" "$C_SECS")
    mb=$(awk -v o="$C_OCTETS" -v s="$C_SECS" 'BEGIN { printf "%.1f", (s > 0) ? o / s / 1e6 : 0 }')
    rss=$(awk -v k="$S_RSS" 'BEGIN { printf "%.1f", k / 1024 }')
    pss=n/a
    [ "$S_PSS" = n/a ] || pss=$(awk -v k="$S_PSS" 'BEGIN { printf "%.1f", k / 1024 }')
    want=$((CLIENTS * ROUNDS * MSGS))
    status=$C_STATUS
    printf -v "RATE_$name" '%s' "$r"
    printf -v "STATUS_$name" '%s' "$status"
    ROWS+=("$(printf '%-8s %7s %13s %7.2f %8s %5s %8.0f %8.0f %7s %7s %6s   %s' "$name" \
        "$CLIENTS" "$C_MSGS/$want" "$C_SECS" "$r" "$mb" "$C_LP50" "$C_RETR" "$rss" "$pss" \
        "$S_CPU" "$status")")
    printf -v "LOGIN_$name" 'avg %s, p50 %s, p95 %s, max %s ms over %s logins; RETR 1..%s: avg %s ms a session' \
        "$C_LAVG" "$C_LP50" "$C_LP95" "$C_LMAX" "$((C_OK + C_FAILED))" "$MSGS" "$C_RETR"
    printf -v "CPUINFO_$name" 'server CPU %ss, client CPU %ss (%s%% of one core)' \
        "$S_CPU" "$C_CPU" "$(awk -v c="$C_CPU" -v s="$C_SECS" 'BEGIN { printf "%.0f", (s > 0) ? 100 * c / s : 0 }')"
    detail=$(echo "$S_DETAIL" | tr ',' '\n' \
        | awk -F: '$1 != "-" { printf "%s%s %.1f", sep, $1, $2 / 1024; sep = ", " }')
    say "$name: $status — $C_MSGS of $want messages ($C_OK sessions ok," \
        "$C_FAILED failed, $C_SKIPPED not started, $C_MISMATCH RETRs with wrong octets)" \
        "in ${C_SECS}s"
    [ "$C_ERR" = - ] || say "$name: first error: $C_ERR"
    say "$name: peak RSS $rss MB (PSS $pss MB) over up to $S_N processes" \
        "(RSS MB at the peak: $detail)"
}

load_avg() { cut -d' ' -f1-3 /proc/loadavg; }

# compare_dump NAME DUMP STORED: "identical" or what differs
compare_dump() {
    if [ ! -s "$2" ]; then echo "no message was dumped"; return; fi
    if cmp -s "$2" "$3"; then
        echo "byte-for-byte identical"
    else
        echo "DIFFERENT ($(cmp "$2" "$3" 2>&1 | head -n 1))"
    fi
}

# ---- ours: redis-server + nginx -------------------------------------------------------

bench_ours() {
    local d=$T/ours rport sport pport rc=0 i
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
    for ((i = 0; i < 100; i++)); do
        redis-cli -p "$rport" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -p "$rport" ping >/dev/null 2>&1 || die "redis-server did not start ($d/redis.log)"
    local rcli=(redis-cli -p "$rport" --raw)

    export REDIS_URL="redis://127.0.0.1:$rport"
    "$mailctl" domain add "$DOMAIN" >/dev/null
    local mscheme=$SCHEME
    [ "$SCHEME" = sha512-crypt-5000 ] && mscheme=sha512-crypt
    for ((i = 1; i <= CLIENTS; i++)); do
        echo "$PASSWORD" | "$mailctl" user add "user$i@$DOMAIN" --scheme "$mscheme" >/dev/null
        if [ "$SCHEME" = sha512-crypt-5000 ]; then
            "${rcli[@]}" hset "user:{user$i@$DOMAIN}" password \
                "$(perl -e 'my @c = ("a".."z", "A".."Z", 0..9, ".", "/");
                            print crypt($ARGV[0], q{$6$} . join("", map { $c[rand 64] } 1 .. 16) . q{$})' \
                    "$PASSWORD")" >/dev/null
        fi
        HASH[$i]=$("${rcli[@]}" hget "user:{user$i@$DOMAIN}" password)
    done

    sport=$(free_port)
    pport=$(free_port)
    cat > "$d/nginx.conf" <<EOF
load_module $mail_mod;
load_module $server_mod;
worker_processes $WORKERS;
error_log $d/error.log info;
pid $d/nginx.pid;
events { worker_connections 4096; }
mail {
    server_name mail.example.test;
    mail_redis 127.0.0.1:$rport;
    timeout 300s;
    # delivery, to fill the maildrops
    server {
        listen 127.0.0.1:$sport;
        protocol smtpd;
        smtpd_role mx;
    }
    server {
        listen 127.0.0.1:$pport;
        protocol pop3d;
        pop3d_auth_plaintext on;
    }
}
EOF
    "$nginx_bin" -t -q -e "$d/error.log" -p "$d" -c "$d/nginx.conf" \
        || die "nginx -t failed on $d/nginx.conf"
    start_nginx() {
        "$nginx_bin" -e "$d/error.log" -p "$d" -c "$d/nginx.conf" -g 'daemon off;' &
        NGINX_PID=$!
        wait_port "$pport" 100 || die "nginx did not listen on $pport ($d/error.log)"
        wait_port "$sport" 100 || die "nginx did not listen on $sport ($d/error.log)"
    }
    start_nginx

    local nver rver nworkers
    nver=$("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///')
    rver=$(redis-server --version | sed 's/.* v=\([^ ]*\).*/\1/')
    nworkers=$(ps -o pid= --ppid "$NGINX_PID" | wc -l)
    # what is measured: the module as built, and the tree it came from
    # (read-only git: --no-optional-locks, so not even the index is written)
    local rev=unknown
    if command -v git >/dev/null 2>&1 && git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
        rev=$(git --no-optional-locks -C "$TOP" rev-parse --short HEAD)
        [ -z "$(git --no-optional-locks -C "$TOP" status --porcelain -- modules tools config 2>/dev/null)" ] \
            || rev+=" with uncommitted changes in modules/, tools/ or config"
    fi
    say "ours: module ${NGINX_SERVER_MODULE##*/} built $(date -r "$NGINX_SERVER_MODULE" '+%F %T')," \
        "sha256 $(sha256sum "$server_mod" | cut -c1-12); source tree at $rev"
    say "ours: nginx $nver, worker_processes $WORKERS ($nworkers running)," \
        "error_log info, pop3d on port $pport (no TLS, pop3d_auth_plaintext on," \
        "pop3d_retr_seen on by default), smtpd on $sport for filling"
    say "ours: redis-server $rver, port $rport:" \
        "$("${rcli[@]}" config get appendonly | paste -sd' ')," \
        "$("${rcli[@]}" config get appendfsync | paste -sd' ')," \
        "save \"$("${rcli[@]}" config get save | sed -n 2p)\", AOF in $d/redis"
    local how="mailctl user add --scheme $mscheme"
    # shellcheck disable=SC2016
    [ "$SCHEME" != sha512-crypt-5000 ] || how+=', then HSET to a 5000-round $6$ hash'
    say "ours: passwords: $how, hash ${HASH[1]:0:12}...," \
        "checked in nginx's thread pool \"default\""

    # fill: smtp-source to our smtpd, a few users at a time
    local t0 t1 pids=() bad=0 n
    t0=$(date +%s.%N)
    for ((i = 1; i <= CLIENTS; i++)); do
        /usr/sbin/smtp-source -s 5 -l "$SIZE" -m "$MSGS" -f "$SENDER" \
            -t "user$i@$DOMAIN" "127.0.0.1:$sport" >> "$d/smtp-source.log" 2>&1 &
        pids+=($!)
        if [ ${#pids[@]} -ge 4 ] || [ "$i" = "$CLIENTS" ]; then
            for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
            pids=()
        fi
    done
    t1=$(date +%s.%N)
    [ "$bad" = 0 ] || say "ours: $bad smtp-source runs failed ($(head -n 3 "$d/smtp-source.log" | paste -sd' '))"
    local short=0 box
    for ((i = 1; i <= CLIENTS; i++)); do
        box=$("${rcli[@]}" hget "mailboxes:{user$i@$DOMAIN}" INBOX)
        n=$([ -n "$box" ] && "${rcli[@]}" hget "mailbox:{user$i@$DOMAIN}:$box" messages || echo 0)
        [ "$n" = "$MSGS" ] || { short=$((short + 1)); say "ours: user$i has $n messages, not $MSGS"; }
    done
    say "ours: filled $CLIENTS maildrops x $MSGS messages via SMTP in" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s" \
        "(redis used_memory $("${rcli[@]}" info memory | tr -d '\r' | sed -n 's/^used_memory_human://p'))"
    [ "$short" = 0 ] || { say "ours: $short maildrops short; not measuring"; stop_ours; return 1; }
    # a fresh nginx for POP3, as Dovecot is restarted after LMTP (Redis keeps the data)
    stop_pid "$NGINX_PID" QUIT 100
    start_nginx

    # warm-up, untimed
    run_client ours-warmup "$pport" 1
    say "ours: warm-up pass (untimed): $C_MSGS messages in ${C_SECS}s, $C_STATUS$([ "$C_ERR" = - ] || echo " — $C_ERR")"

    say "ours: load average before: $(load_avg)"
    local lines_before
    lines_before=$(wc -l < "$d/error.log")
    sampler_start "$NGINX_PID,$REDIS_PID"
    run_client ours "$pport" "$ROUNDS" "$d/dump"
    sampler_stop
    record ours
    say "ours: timed logins per nginx worker (pid: count):" \
        "$(tail -n +"$((lines_before + 1))" "$d/error.log" | grep ' logged in while in POP3' \
            | sed 's/^[^]]*\] \([0-9]*\)#.*/\1/' | sort | uniq -c | awk '{ printf "%s%s: %s", sep, $2, $1; sep = ", " }')"
    [ "$C_STATUS" = ok ] || rc=1

    # correctness: user1's message 1 as stored, and the log
    local a="user1@$DOMAIN" uid1 blob size bsize errs
    box=$("${rcli[@]}" hget "mailboxes:{$a}" INBOX)
    uid1=$("${rcli[@]}" zrange "mailbox:{$a}:$box:uids" 0 0)
    blob=$("${rcli[@]}" hget "msg:{$a}:$box:$uid1" blob)
    size=$("${rcli[@]}" hget "msg:{$a}:$box:$uid1" size)
    bsize=$("${rcli[@]}" strlen "blob:{$blob}")
    # --raw ends the value with a newline of its own
    { "${rcli[@]}" get "blob:{$blob}" | head -c "$bsize" > "$d/stored"; } || true
    CHECK_ours="user1 RETR 1: $(stat -c %s "$d/dump" 2>/dev/null || echo 0) octets received;"
    CHECK_ours+=" stored (uid $uid1): size field $size, blob $bsize bytes;"
    CHECK_ours+=" received vs blob: $(compare_dump ours "$d/dump" "$d/stored")"
    CHECK_ours+="; flags $("${rcli[@]}" hget "msg:{$a}:$box:$uid1" flags)"
    CHECK_ours+="; average message $(awk -v o="$C_OCTETS" -v n="$C_MSGS" 'BEGIN { printf "%.0f", n ? o / n : 0 }') octets"
    errs=$(grep -cE '\[(error|crit|alert|emerg)\]' "$d/error.log" || true)
    CHECK_ours+="; error.log: $errs error/crit/alert lines"
    CHECK_ours+=", $(grep -c '\[warn\]' "$d/error.log" || true) warn"
    CHECK_ours+="; redis forks during the run: $("${rcli[@]}" info stats | tr -d '\r' | sed -n 's/^total_forks://p')"
    if [ "$errs" != 0 ]; then
        say "ours: error.log, first error lines:"
        grep -E '\[(error|crit|alert|emerg)\]' "$d/error.log" | head -n 10 | sed 's/^/    /' || true
    fi
    stop_ours
    return $rc
}

# ---- Dovecot -----------------------------------------------------------------------------

bench_dovecot() {
    local d=$T/dovecot port vuid vgid rc=0 i
    vuid=$(id -u "$VMAIL_USER") || die "no user $VMAIL_USER"
    vgid=$(id -g "$VMAIL_USER")
    [ "$vuid" != 0 ] || die "BENCH_VMAIL_USER must not be root"
    port=$(free_port)
    local procs=$((CLIENTS * 2 + 10))
    local login_limit=$((procs > 100 ? procs : 100)) pop3_limit=$((procs > 1024 ? procs : 1024))
    local userip=$((CLIENTS * 2 > 1000 ? CLIENTS * 2 : 1000))
    local dscheme=CRYPT
    [ "$SCHEME" = sha512-crypt-5000 ] && dscheme=SHA512-CRYPT

    $SUDO mkdir -p "$d/run" "$d/state" "$d/mail"
    $SUDO chown "$vuid:$vgid" "$d/mail"
    $SUDO chmod 0700 "$d/mail"
    $SUDO chmod 0750 "$d/state"
    for ((i = 1; i <= CLIENTS; i++)); do
        # passwd-file: user:password:uid:gid:gecos:home:shell:extra
        printf 'user%s@%s:{%s}%s:%s:%s::%s::\n' "$i" "$DOMAIN" "$dscheme" "${HASH[$i]}" \
            "$vuid" "$vgid" "$d/mail/$DOMAIN/user$i"
    done | $SUDO tee "$d/users" >/dev/null
    $SUDO chown root:dovecot "$d/users"
    $SUDO chmod 0640 "$d/users"
    $SUDO tee "$DC_CONF" >/dev/null <<EOF
# generated by bench/pop3-bench.sh: a private Dovecot on 127.0.0.1:$port
instance_name = pop3-bench
base_dir = $d/run
state_dir = $d/state
protocols = pop3 lmtp
listen = 127.0.0.1
log_path = $d/dovecot.log
ssl = no
# clear-text USER/PASS without TLS, as pop3d_auth_plaintext on for ours
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = $vuid
last_valid_uid = $vuid
first_valid_gid = $vgid
last_valid_gid = $vgid
mail_location = maildir:$d/mail/%d/%n/Maildir
mail_max_userip_connections = $userip
passdb {
  driver = passwd-file
  args = scheme=$dscheme $d/users
}
userdb {
  driver = passwd-file
  args = $d/users
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $port
  }
  process_limit = $login_limit
}
service pop3 {
  process_limit = $pop3_limit
}
service lmtp {
  unix_listener lmtp {
    mode = 0600
  }
}
protocol lmtp {
  postmaster_address = postmaster@$DOMAIN
}
EOF
    $SUDO chmod 0644 "$DC_CONF"
    $SUDO doveconf -c "$DC_CONF" -n > "$d/doveconf-n.txt" 2>&1 \
        || { cat "$d/doveconf-n.txt" >&2; die "bad dovecot config"; }

    start_dovecot() {
        $SUDO dovecot -F -c "$DC_CONF" >> "$d/dovecot.stderr" 2>&1 &
        DC_PID=$!
        wait_port "$port" 100 || { cat "$d/dovecot.stderr" >&2; die "dovecot did not listen on $port ($d/dovecot.log)"; }
        for ((i = 0; i < 50; i++)); do $SUDO test -S "$d/run/lmtp" && break; sleep 0.1; done
    }
    start_dovecot

    local ver
    ver=$(dovecot --version)
    h() { $SUDO doveconf -c "$DC_CONF" -h "$1" 2>/dev/null | paste -sd' '; }
    say "dovecot: Dovecot $ver, pop3 on port $port, ssl = no, disable_plaintext_auth = no," \
        "mail_location = maildir (owner $VMAIL_USER), mail_fsync = $(h mail_fsync)," \
        "pop3_no_flag_updates = $(h pop3_no_flag_updates), auth_cache_size = $(h auth_cache_size)"
    say "dovecot: pop3-login: process_limit $login_limit, service_count" \
        "$($SUDO doveconf -c "$DC_CONF" service/pop3-login/service_count 2>/dev/null | sed 's/.*= //')" \
        "(Debian's default: a login process per connection); pop3: process_limit $pop3_limit;" \
        "mail_max_userip_connections $userip; passdb passwd-file scheme=$dscheme," \
        "hash ${HASH[1]:0:12}... ($HASH_FROM)"

    # fill: smtp-source over LMTP, a few users at a time
    local t0 t1 pids=() bad=0 n short=0 md
    t0=$(date +%s.%N)
    for ((i = 1; i <= CLIENTS; i++)); do
        $SUDO /usr/sbin/smtp-source -L -s 5 -l "$SIZE" -m "$MSGS" -f "$SENDER" \
            -t "user$i@$DOMAIN" "unix:$d/run/lmtp" >> "$T/dovecot-smtp-source.log" 2>&1 &
        pids+=($!)
        if [ ${#pids[@]} -ge 4 ] || [ "$i" = "$CLIENTS" ]; then
            for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
            pids=()
        fi
    done
    t1=$(date +%s.%N)
    [ "$bad" = 0 ] || say "dovecot: $bad smtp-source runs failed ($(head -n 3 "$T/dovecot-smtp-source.log" | paste -sd' '))"
    for ((i = 1; i <= CLIENTS; i++)); do
        md=$d/mail/$DOMAIN/user$i/Maildir
        n=$($SUDO find "$md/new" "$md/cur" -type f 2>/dev/null | wc -l)
        [ "$n" = "$MSGS" ] || { short=$((short + 1)); say "dovecot: user$i has $n messages, not $MSGS"; }
    done
    say "dovecot: filled $CLIENTS Maildirs x $MSGS messages via LMTP in" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s" \
        "($($SUDO du -sh "$d/mail" | cut -f1) on disk)"
    [ "$short" = 0 ] || { say "dovecot: $short Maildirs short; not measuring"; stop_dovecot; return 1; }
    # restart: the idle lmtp processes would otherwise count in the RSS
    stop_dovecot
    start_dovecot
    local log_from
    log_from=$($SUDO wc -l < "$d/dovecot.log")

    # warm-up, untimed: index and cache files, new/ -> cur/, \Seen
    run_client dovecot-warmup "$port" 1
    say "dovecot: warm-up pass (untimed): $C_MSGS messages in ${C_SECS}s, $C_STATUS$([ "$C_ERR" = - ] || echo " — $C_ERR")"
    md=$d/mail/$DOMAIN/user1/Maildir
    say "dovecot: after warm-up, user1's Maildir has:" \
        "$($SUDO ls "$md" | grep '^dovecot' | paste -sd' ')," \
        "$($SUDO find "$md/new" -type f | wc -l) files in new/, $($SUDO find "$md/cur" -type f | wc -l) in cur/"
    local logged_before
    logged_before=$($SUDO grep -c 'Disconnected: Logged out' "$d/dovecot.log" || true)

    say "dovecot: load average before: $(load_avg)"
    sampler_start "$DC_PID"
    run_client dovecot "$port" "$ROUNDS" "$d/dump"
    sampler_stop
    record dovecot
    [ "$C_STATUS" = ok ] || rc=1

    # correctness: the Maildir file of user1's message 1 (by Message-Id)
    local mid f errs sessions retr
    mid=$(grep -a -m 1 -i '^Message-Id:' "$d/dump" 2>/dev/null | tr -d '\r' | sed 's/^[^:]*: *//' || true)
    f=''
    [ -z "$mid" ] || f=$($SUDO grep -r -l -F -- "$mid" "$md/cur" "$md/new" 2>/dev/null | head -n 1 || true)
    if [ -n "$f" ]; then
        $SUDO cat "$f" | perl -pe 's/\r?\n/\r\n/' > "$d/stored"
        CHECK_dovecot="user1 RETR 1: $(stat -c %s "$d/dump") octets received;"
        CHECK_dovecot+=" stored: $(basename "$f") ($($SUDO stat -c %s "$f") bytes with LF,"
        CHECK_dovecot+=" $(stat -c %s "$d/stored") with CRLF);"
        CHECK_dovecot+=" received vs file: $(compare_dump dovecot "$d/dump" "$d/stored")"
    else
        CHECK_dovecot="user1 RETR 1: no Maildir file with Message-Id ${mid:-(none)}"
    fi
    CHECK_dovecot+="; average message $(awk -v o="$C_OCTETS" -v n="$C_MSGS" 'BEGIN { printf "%.0f", n ? o / n : 0 }') octets"
    sessions=$(( $($SUDO grep -c 'Disconnected: Logged out' "$d/dovecot.log" || true) - logged_before ))
    retr=$($SUDO grep -o 'Logged out top=[0-9]*/[0-9]*, retr=[0-9]*' "$d/dovecot.log" \
        | tail -n "$sessions" | awk -F'retr=' '{ s += $2 } END { print s + 0 }' || true)
    CHECK_dovecot+="; log: $sessions timed sessions logged out, retr=$retr in total"
    # (from the restart on: stopping after the fill logs a warning)
    errs=$($SUDO tail -n +"$((log_from + 1))" "$d/dovecot.log" | grep -cE ': (Error|Fatal|Panic|Warning): ' || true)
    CHECK_dovecot+=", $errs error/warning lines"
    if [ "$errs" != 0 ]; then
        say "dovecot: log, first error/warning lines:"
        $SUDO tail -n +"$((log_from + 1))" "$d/dovecot.log" | grep -E ': (Error|Fatal|Panic|Warning): ' \
            | head -n 10 | sed 's/^/    /' || true
    fi
    stop_dovecot
    return $rc
}

# ---- main -------------------------------------------------------------------------------

say "$CLIENTS clients x $ROUNDS sessions each: USER/PASS, STAT, LIST, RETR 1..$MSGS" \
    "($SIZE bytes payload each), QUIT without DELE;" \
    "$([ "$WINDOW" = 1 ] && echo 'one command at a time' || echo "up to $WINDOW RETRs pipelined")"
say "$(nproc) CPUs, load average $(load_avg), temp dir $T on" \
    "$(df -PT "$T" | awk 'NR == 2 { print $2 }'), password hashes: $SCHEME"
fail=0
bench_ceiling
say "load generator ceiling (trivial in-memory server): $CEILING"
if [ "$ONLY" != dovecot ]; then bench_ours || fail=1; fi
if [ "$ONLY" != ours ]; then
    [ ${#HASH[@]} = "$CLIENTS" ] || make_hashes
    bench_dovecot || fail=1
fi

echo
printf '%-8s %7s %13s %7s %8s %5s %8s %8s %7s %7s %6s   %s\n' server clients \
    messages seconds msg/s MB/s "login ms" "RETR ms" "RSS MB" "PSS MB" "CPU s" status
for r in "${ROWS[@]}"; do echo "$r"; done
if [ -n "$RATE_ours" ] && [ -n "$RATE_dovecot" ]; then
    awk -v a="$RATE_ours" -v b="$RATE_dovecot" \
        'BEGIN { if (b > 0) printf "ratio ours/dovecot: %.2f (msg/s; target >= 1.5)", a / b; else printf "ratio ours/dovecot: n/a" }'
    if [ "$STATUS_ours" != ok ] || [ "$STATUS_dovecot" != ok ]; then
        echo "  (NOT a valid comparison: ours $STATUS_ours, dovecot $STATUS_dovecot)"
    else
        echo
    fi
fi
echo "MB/s: message octets (CRLF form, as LIST counts them) / s, 10^6 bytes. RSS/PSS: peak of the sum over"
echo "nginx master + workers + redis-server, resp. every process of the Dovecot instance (master, log, config,"
echo "anvil, auth, stats, lmtp, pop3-login and pop3 processes), sampled every 100 ms; PSS divides shared pages."
echo "CPU s: user+system CPU of those processes during the timed pass. login ms: median time from connect to"
echo "the +OK of PASS. RETR ms: average time a session took for RETR 1..$MSGS (first RETR sent to the last \".\")."
[ -z "$LOGIN_ours" ] || echo "login ours:    $LOGIN_ours; $CPUINFO_ours"
[ -z "$LOGIN_dovecot" ] || echo "login dovecot: $LOGIN_dovecot; $CPUINFO_dovecot"
echo "load generator ceiling: $CEILING"
echo "load average now: $(load_avg) ($(nproc) CPUs)"
[ -z "$CHECK_ours" ] || echo "check ours:    $CHECK_ours"
[ -z "$CHECK_dovecot" ] || echo "check dovecot: $CHECK_dovecot"
exit $fail
