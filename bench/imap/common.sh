# shellcheck shell=bash
# bench/imap/common.sh — shared by bench/imap-bench.sh, imap-idle-bench.sh
# and imap-bigbox-bench.sh (sourced, not run).
#
# Before sourcing: NAME (the script's name for messages), TOP (the source
# tree).  Gives: say/die, deps, the temp dir $T with a cleanup trap that
# stops whatever was started here (by pid) and removes $T unless KEEP=1,
# free_port, wait_port, build_load (bin/imap-load), start_ours (redis +
# nginx with an imapd server block), start_dovecot / stop_dovecot (a
# private Dovecot 2.3, imap only, Maildir, passwd-file), add_users_*,
# rss_of (the RSS sum of a process tree, in kB).

set -euo pipefail

BUILD=${MAIL_BUILD_DIR:-$TOP/build}
HERE=$TOP/bench/imap
DOMAIN=example.test
PASSWORD=bench-Pa55word
VMAIL_USER=${BENCH_VMAIL_USER:-mail}
KEEP=${KEEP:-0}

# shellcheck source=bench/lib/common.sh
. "$TOP/bench/lib/common.sh"

[ "$(id -u)" = 0 ] || die "run as root (Dovecot needs it)"

deps() {
    apt_install dovecot-core dovecot-imapd redis-server redis-tools gcc \
        libc6-dev perl
}

T=$(mktemp -d "${TMPDIR:-/tmp}/$NAME.XXXXXX")
chmod 0755 "$T"
# Dovecot's unix sockets live under $T/dovecot/run: sun_path is 108 bytes
[ ${#T} -le 60 ] || { rm -rf "$T"; die "temp dir path too long: $T (set TMPDIR)"; }
mkdir -p "$T/bin"

REDIS_PID='' NGINX_PID='' DC_PID='' CLIENT_PIDS=() ON_EXIT=()
DC_DIR=$T/dovecot
DC_CONF=$DC_DIR/dovecot.conf

tree_pids() {  # every process below (and including) pid $1
    [ -n "$1" ] || return 0
    ps -e -o pid=,ppid= | awk -v r="$1" '
        { parent[$1] = $2 }
        END { for (p in parent) { q = p
                while (q != "" && q != 0 && q != 1) { if (q == r) { print p; break } q = parent[q] } } }'
}

rss_of() {  # pids... : the RSS sum in kB of those processes and their trees
    local p all=()
    # shellcheck disable=SC2207  # (pids: numbers)
    for p in "$@"; do [ -z "$p" ] || all+=($(tree_pids "$p")); done
    [ ${#all[@]} = 0 ] && { echo 0; return; }
    # shellcheck disable=SC2068
    ps -o rss= -p "$(IFS=,; echo "${all[*]}")" | awk '{ s += $1 } END { print s + 0 }'
}

nprocs_of() {
    local p n=0
    for p in "$@"; do [ -z "$p" ] || n=$((n + $(tree_pids "$p" | wc -l))); done
    echo "$n"
}

rss_detail() {  # pid: "comm count MB, ..." of its tree
    local all
    all=$(tree_pids "$1" | paste -sd,)
    [ -n "$all" ] || { echo -; return; }
    ps -o comm=,rss= -p "$all" | awk '{ n[$1]++; s[$1] += $2 }
        END { for (c in s) printf "%s%s x%d %.1f MB", (sep++ ? ", " : ""), c, n[c], s[c] / 1024 }'
}

stop_ours() {
    stop_pid "$NGINX_PID" QUIT 100; NGINX_PID=
    stop_pid "$REDIS_PID" TERM 300; REDIS_PID=
}

stop_dovecot() {
    [ -n "$DC_PID" ] || return 0
    local left
    dovecot -c "$DC_CONF" stop >/dev/null 2>&1 || kill -TERM "$DC_PID" 2>/dev/null || true
    wait_gone "$DC_PID" 100 || true
    left=$(tree_pids "$DC_PID")
    # shellcheck disable=SC2086
    [ -z "$left" ] || kill -KILL $left 2>/dev/null || true
    wait "$DC_PID" 2>/dev/null || true
    DC_PID=
}

# shellcheck disable=SC2317  # (called from the trap)
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM HUP
    for p in "${CLIENT_PIDS[@]}"; do
        [ -n "$p" ] || continue
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    stop_ours
    stop_dovecot
    for p in "${ON_EXIT[@]}"; do eval "$p" || true; done
    if [ "$KEEP" = 1 ]; then say "kept $T"; else rm -rf -- "$T"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo; say interrupted; exit 130' INT TERM HUP

build_load() {
    cc -O2 -Wall -o "$T/bin/imap-load" "$HERE/imap-load.c" || die "cannot build imap-load"
    # shellcheck disable=SC2034  # (used by the scripts that source this)
    LOAD=$T/bin/imap-load
}

# ---- ours: redis-server + nginx ----------------------------------------------------

# start_ours WORKERS WORKER_CONNECTIONS [extra server directives]
# sets OUR_DIR, RPORT, IPORT, RCLI (array), MAILCTL; REDIS_URL exported
start_ours() {
    local workers=$1 wconn=$2 extra=${3:-} i
    OUR_DIR=$T/ours
    local d=$OUR_DIR
    mkdir -p "$d/redis" "$d/bin"
    # private copies: a rebuild of build/ during the run must not hit nginx
    cp "$NGINX_BIN" "$d/bin/nginx"
    cp "$NGINX_MAIL_MODULE" "$d/bin/"
    cp "$NGINX_SERVER_MODULE" "$d/bin/"
    cp "$BUILD/mailctl" "$d/bin/mailctl"
    MAILCTL=$d/bin/mailctl
    RPORT=$(free_port)
    redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$d/redis" \
        --appendonly "${BENCH_REDIS_AOF:-yes}" --appendfsync "${BENCH_REDIS_FSYNC:-always}" \
        --save '' --maxclients 60000 \
        --daemonize no --logfile "$d/redis.log" &
    REDIS_PID=$!
    for ((i = 0; i < 100; i++)); do
        redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -p "$RPORT" ping >/dev/null 2>&1 || die "redis-server did not start ($d/redis.log)"
    RCLI=(redis-cli -p "$RPORT" --raw)
    export REDIS_URL="redis://127.0.0.1:$RPORT"
    IPORT=$(free_port)
    local nofile=$((wconn * 2 + 100)) hard
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] || [ "$nofile" -le "$hard" ] || nofile=$hard
    cat > "$d/nginx.conf" <<EOF
load_module $d/bin/${NGINX_MAIL_MODULE##*/};
load_module $d/bin/${NGINX_SERVER_MODULE##*/};
worker_processes $workers;
worker_rlimit_nofile $nofile;
error_log $d/error.log ${BENCH_NGINX_LOG:-notice};
pid $d/nginx.pid;
events { worker_connections $wconn; }
mail {
    server_name mail.example.test;
    mail_redis 127.0.0.1:$RPORT;
    timeout 3600s;
    # a login is counted as failed until its password checks out, so more
    # than ip=20 (the default) logins in flight from one address are
    # refused as "Too many failed logins": the benches log in many at once
    mail_auth_throttle ip=${BENCH_THROTTLE_IP:-1000000} user=${BENCH_THROTTLE_USER:-1000000};
    server {
        listen 127.0.0.1:$IPORT backlog=4096;
        protocol imapd;
        imapd_auth_plaintext on;
        $extra
    }
}
EOF
    "$d/bin/nginx" -t -q -e "$d/error.log" -p "$d" -c "$d/nginx.conf" \
        || die "nginx -t failed on $d/nginx.conf"
    start_nginx
}

start_nginx() {
    local d=$OUR_DIR
    "$d/bin/nginx" -e "$d/error.log" -p "$d" -c "$d/nginx.conf" -g 'daemon off;' &
    NGINX_PID=$!
    wait_port "$IPORT" 100 || die "nginx did not listen on $IPORT ($d/error.log)"
}

# add_users_ours FIRST LAST: mailctl user add (sha512-crypt, then a cheap
# 5000-round $6$ hash over it: the same kind Dovecot gets), writes the
# "address INBOX-id" lines to $OUR_DIR/mbids
add_users_ours() {
    local i a
    "$MAILCTL" domain add "$DOMAIN" >/dev/null 2>&1 || true
    : > "$OUR_DIR/mbids"
    for ((i = $1; i <= $2; i++)); do
        a="user$i@$DOMAIN"
        echo "$PASSWORD" | "$MAILCTL" user add "$a" --scheme sha512-crypt >/dev/null
        "${RCLI[@]}" hset "user:{$a}" password "$(user_hash "$i")" >/dev/null
        echo "$a $("${RCLI[@]}" hget "mailboxes:{$a}" INBOX)" >> "$OUR_DIR/mbids"
    done
}

# the same password hash for user i on both sides: SHA512-CRYPT with 5000
# rounds (what `doveadm pw -s SHA512-CRYPT` makes), salt from i
user_hash() {
    perl -e 'my @c = ("a".."z", "A".."Z", 0..9, ".", "/"); srand($ARGV[1] * 7 + 1);
             print crypt($ARGV[0], q{$6$} . join("", map { $c[rand 64] } 1 .. 16) . q{$})' \
        "$PASSWORD" "$1"
}

# ---- Dovecot ------------------------------------------------------------------------

# start_dovecot FIRST LAST [extra config]: users FIRST..LAST; sets DPORT
dovecot_setup() {
    local first=$1 last=$2 extra=${3:-} i vuid vgid
    vuid=$(id -u "$VMAIL_USER") || die "no user $VMAIL_USER"
    vgid=$(id -g "$VMAIL_USER")
    [ "$vuid" != 0 ] || die "BENCH_VMAIL_USER must not be root"
    DPORT=$(free_port)
    local d=$DC_DIR
    mkdir -p "$d/run" "$d/state" "$d/mail"
    chown "$vuid:$vgid" "$d/mail"
    chmod 0750 "$d/state"
    for ((i = first; i <= last; i++)); do
        printf 'user%s@%s:{SHA512-CRYPT}%s:%s:%s::%s::\n' "$i" "$DOMAIN" "$(user_hash "$i")" \
            "$vuid" "$vgid" "$d/mail/$DOMAIN/user$i"
    done > "$d/users"
    chown root:dovecot "$d/users"
    chmod 0640 "$d/users"
    cat > "$DC_CONF" <<EOF
# generated by bench/$NAME.sh: a private Dovecot on 127.0.0.1:$DPORT
instance_name = $NAME
base_dir = $d/run
state_dir = $d/state
protocols = imap
listen = 127.0.0.1
log_path = $d/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = $vuid
last_valid_uid = $vuid
first_valid_gid = $vgid
last_valid_gid = $vgid
mail_location = maildir:$d/mail/%d/%n/Maildir
mail_max_userip_connections = 100000
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT $d/users
}
userdb {
  driver = passwd-file
  args = $d/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DPORT
  }
  inet_listener imaps {
    port = 0
  }
}
service auth {
  client_limit = 20000
}
service anvil {
  client_limit = 20000
}
$extra
EOF
    chmod 0644 "$DC_CONF"
    doveconf -c "$DC_CONF" -n > "$d/doveconf-n.txt" 2>&1 \
        || { cat "$d/doveconf-n.txt" >&2; die "bad dovecot config"; }
}

start_dovecot() {
    dovecot -F -c "$DC_CONF" >> "$DC_DIR/dovecot.stderr" 2>&1 &
    DC_PID=$!
    wait_port "$DPORT" 100 \
        || { cat "$DC_DIR/dovecot.stderr" >&2; die "dovecot did not listen on $DPORT ($DC_DIR/dovecot.log)"; }
}

dovecot_errors() {  # count of error lines in the log, from line $1 on
    tail -n +"$1" "$DC_DIR/dovecot.log" 2>/dev/null | grep -cE ': (Error|Fatal|Panic): ' || true
}

nginx_errors() {
    grep -cE '\[(error|crit|alert|emerg)\]' "$OUR_DIR/error.log" 2>/dev/null || true
}

fill_maildirs() {  # first last fill.pl-args...
    local first=$1 last=$2 vuid vgid
    shift 2
    vuid=$(id -u "$VMAIL_USER"); vgid=$(id -g "$VMAIL_USER")
    perl "$HERE/fill.pl" --first "$first" --users $((last - first + 1)) \
        --user-fmt "user%d@$DOMAIN" --maildir "$DC_DIR/mail/$DOMAIN/%s/Maildir" "$@"
    chown -R "$vuid:$vgid" "$DC_DIR/mail"
}

fill_redis() {  # first last fill.pl-args...
    local first=$1 last=$2
    shift 2
    perl "$HERE/fill.pl" --first "$first" --users $((last - first + 1)) \
        --user-fmt "user%d@$DOMAIN" --redis "$OUR_DIR/fill.resp" --mbids "$OUR_DIR/mbids" "$@"
    redis-cli -p "$RPORT" --pipe < "$OUR_DIR/fill.resp" > "$OUR_DIR/fill.out" 2>&1 \
        || { cat "$OUR_DIR/fill.out" >&2; die "redis-cli --pipe failed"; }
    grep -q 'errors: 0' "$OUR_DIR/fill.out" || { cat "$OUR_DIR/fill.out" >&2; die "redis fill had errors"; }
    rm -f "$OUR_DIR/fill.resp"
}

# the module's source state, for the record
our_version() {
    local rev=unknown
    if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
        rev=$(git --no-optional-locks -C "$TOP" rev-parse --short HEAD)
        [ -z "$(git --no-optional-locks -C "$TOP" status --porcelain -- modules 2>/dev/null)" ] \
            || rev+="+uncommitted"
    fi
    echo "nginx $("$OUR_DIR/bin/nginx" -v 2>&1 | sed 's/.*nginx\///'), module built" \
        "$(date -r "$NGINX_SERVER_MODULE" '+%F %T') from $rev; redis $(redis-server --version | sed 's/.* v=\([^ ]*\).*/\1/')"
}
