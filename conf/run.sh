#!/usr/bin/env bash
# Starts Redis and nginx with conf/nginx.conf on loopback, creates the demo
# account, and stops everything on Ctrl-C.  Called by "./build.sh run".
#
# For the delivery queue it also starts, on loopback too:
#   - dnsmasq on 127.0.0.1:2553 with conf/dnsmasq.conf (.test names only,
#     nothing forwarded): remote.test MX 10 mx.remote.test -> 127.0.0.1;
#   - the "remote site": a second Redis (6381, run/remote/redis) and a
#     second nginx with conf/remote.conf, MX of remote.test on 2526 and
#     IMAP on 2144, with the user friend@remote.test.
# conf/demo-check.sh sends mail through it and checks the outcome.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run="$top/run"
remote="$run/remote"
build="$top/build"
redis_port=6380
remote_redis_port=6381
dns_port=2553
mailctl="$build/mailctl"

# shellcheck disable=SC1091
. "$build/nginx.env"

mkdir -p "$run/redis" "$run/tls" "$run/logs" \
         "$remote/redis" "$remote/tls" "$remote/logs"

# cert DIR NAME: a self-signed certificate for NAME, once
cert() {
    [ -f "$1/cert.pem" ] && return 0
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$2" \
        -addext "subjectAltName=DNS:$2,DNS:localhost,IP:127.0.0.1" \
        -keyout "$1/key.pem" -out "$1/cert.pem" 2>/dev/null
    echo "run.sh: made a self-signed certificate in $1"
}
cert "$run/tls" mail.example.test
cert "$remote/tls" mx.remote.test

redis_pid='' nginx_pid='' remote_redis_pid='' remote_nginx_pid='' dns_pid=''

stop_nginx() {
    [ -n "$1" ] || return 0
    if kill -QUIT "$1" 2>/dev/null; then wait "$1" 2>/dev/null || true; fi
}

stop_redis() {
    [ -n "$1" ] || return 0
    redis-cli -p "$2" shutdown >/dev/null 2>&1 || kill "$1" 2>/dev/null \
        || true
    wait "$1" 2>/dev/null || true
}

stop() {
    trap - INT TERM EXIT
    echo
    stop_nginx "$nginx_pid"
    stop_nginx "$remote_nginx_pid"
    stop_redis "$redis_pid" "$redis_port"
    stop_redis "$remote_redis_pid" "$remote_redis_port"
    if [ -n "$dns_pid" ] && kill "$dns_pid" 2>/dev/null; then
        wait "$dns_pid" 2>/dev/null || true
    fi
    echo "run.sh: nginx, Redis and dnsmasq stopped (both instances)"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_redis PIDVAR PORT DIR LOG: durable, every write is fsynced before
# Redis answers; its pid goes into the variable PIDVAR at once, for stop()
start_redis() {
    redis-server --port "$2" --bind 127.0.0.1 --dir "$3" \
        --appendonly yes --appendfsync always --daemonize no \
        --logfile "$4" &
    printf -v "$1" %s "$!"
    for _ in $(seq 100); do
        redis-cli -p "$2" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "run.sh: Redis did not start on $2, see $4" >&2
    return 1
}

# start_nginx PIDVAR CONF RUNDIR: fills in the paths, checks, starts
start_nginx() {
    sed -e "s|@RUN@|$3|g" -e "s|@MODULE@|$NGINX_SERVER_MODULE|g" \
        -e "s|@MAIL_MODULE@|$NGINX_MAIL_MODULE|g" \
        "$2" > "$3/nginx.conf"
    "$NGINX_BIN" -t -q -p "$3" -c "$3/nginx.conf"
    "$NGINX_BIN" -p "$3" -c "$3/nginx.conf" -g 'daemon off;' &
    printf -v "$1" %s "$!"
    # its pid file is written once its ports are bound; nginx tries a taken
    # port for a few seconds, then exits
    for _ in $(seq 100); do
        [ "$(cat "$3/nginx.pid" 2>/dev/null)" = "${!1}" ] && return 0
        kill -0 "${!1}" 2>/dev/null || break
        sleep 0.1
    done
    echo "run.sh: nginx with $3/nginx.conf did not start; see" \
         "$3/logs/error.log" >&2
    return 1
}

# The demo's DNS, asked by the main instance's queue and the remote MX.
# --no-resolv --no-hosts: neither /etc/resolv.conf nor /etc/hosts is read
# and nothing is forwarded; --conf-file: not /etc/dnsmasq.conf either.
rm -f "$run/logs/dnsmasq.log"
dnsmasq --keep-in-foreground --no-resolv --no-hosts --port="$dns_port" \
    --listen-address=127.0.0.1 --bind-interfaces \
    --conf-file="$top/conf/dnsmasq.conf" --pid-file= \
    --user="$(id -un)" --log-facility="$run/logs/dnsmasq.log" \
    --log-queries &
dns_pid=$!
for _ in $(seq 50); do
    grep -q 'started, version' "$run/logs/dnsmasq.log" 2>/dev/null && break
    kill -0 "$dns_pid" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q 'started, version' "$run/logs/dnsmasq.log" 2>/dev/null; then
    echo "run.sh: dnsmasq did not start on 127.0.0.1:$dns_port" >&2
    exit 1
fi

# the remote site: MX of remote.test on 2526, IMAP on 2144
start_redis remote_redis_pid "$remote_redis_port" "$remote/redis" \
    "$remote/logs/redis.log"
start_nginx remote_nginx_pid "$top/conf/remote.conf" "$remote"

rmailctl() { "$mailctl" -s "127.0.0.1:$remote_redis_port" "$@"; }

if ! rmailctl domain list | grep -qx remote.test; then
    rmailctl domain add remote.test
fi

if ! rmailctl user list remote.test | grep -qx friend@remote.test; then
    password=${FRIEND_PASSWORD:-$(openssl rand -base64 12)}
    printf '%s\n' "$password" | rmailctl user add friend@remote.test
    (umask 077; printf '%s\n' "$password" > "$remote/friend-password")
fi

# this instance
start_redis redis_pid "$redis_port" "$run/redis" "$run/logs/redis.log"
start_nginx nginx_pid "$top/conf/nginx.conf" "$run"

export REDIS_URL="redis://127.0.0.1:$redis_port"

if ! "$mailctl" domain list | grep -qx example.test; then
    "$mailctl" domain add example.test
fi

# a new demo account, or a new password when its file was lost: the file
# is the only place the password is kept (conf/demo-check.sh reads it)
demo_cmd=
if ! "$mailctl" user list example.test | grep -qx demo@example.test; then
    demo_cmd=add
elif [ -z "${DEMO_PASSWORD:-}" ] && [ ! -s "$run/demo-password" ]; then
    demo_cmd=passwd
fi
if [ -n "$demo_cmd" ]; then
    password=${DEMO_PASSWORD:-$(openssl rand -base64 12)}
    printf '%s\n' "$password" | "$mailctl" user $demo_cmd demo@example.test
    (umask 077; printf '%s\n' "$password" > "$run/demo-password")
    [ -z "${DEMO_PASSWORD:-}" ] && echo "demo password: $password"
fi

tls="-sS --ssl-reqd --cacert $run/tls/cert.pem"
rtls="-sS --ssl-reqd --cacert $remote/tls/cert.pem"
demo_u="-u \"demo@example.test:\$(cat $run/demo-password)\""
friend_u="-u \"friend@remote.test:\$(cat $remote/friend-password)\""

cat <<INFO

nginx-mailserver is running (nginx pid $nginx_pid, Redis pid $redis_pid).

  SMTP (MX)        127.0.0.1:2525   STARTTLS offered
  submission       127.0.0.1:2587   STARTTLS required, then AUTH
  submissions      127.0.0.1:2465   implicit TLS, then AUTH
  POP3             127.0.0.1:2110   STLS, then USER/PASS or AUTH
  POP3S            127.0.0.1:2995   implicit TLS
  IMAP             127.0.0.1:2143   STARTTLS, then LOGIN or AUTHENTICATE
  IMAPS            127.0.0.1:2993   implicit TLS
  Redis            127.0.0.1:$redis_port  data in $run/redis
  error log        $run/logs/error.log

  demo account     demo@example.test (password: \$DEMO_PASSWORD or printed
                   above when it was created, and kept in $run/demo-password)
  accounts         REDIS_URL=$REDIS_URL $mailctl user list

  try it           openssl s_client -quiet -starttls smtp -connect 127.0.0.1:2587
                   curl --ssl-reqd --cacert $run/tls/cert.pem \\
                        -u demo@example.test imap://127.0.0.1:2143/INBOX
                   (more in docs/testing.md, "IMAP clients by hand")

The delivery queue sends mail for other domains to their MX hosts.  Here:

  DNS              127.0.0.1:$dns_port   dnsmasq with conf/dnsmasq.conf: .test names
                   only, nothing forwarded; queries in $run/logs/dnsmasq.log
  remote.test      MX 10 mx.remote.test (127.0.0.1), a second instance with
                   conf/remote.conf (nginx pid $remote_nginx_pid, Redis pid $remote_redis_pid):
  remote MX        127.0.0.1:2526   the queue's queue_smtp_port (25 in production)
  remote IMAP      127.0.0.1:2144   STARTTLS, then LOGIN
  remote Redis     127.0.0.1:$remote_redis_port  data in $remote/redis
  remote account   friend@remote.test, password in $remote/friend-password
  offline.test     MX 10 mx.offline.test (127.0.0.2): nobody listens there

  send as demo to friend and to nobody, who does not exist there:
    printf 'Subject: hello\\r\\n\\r\\nHi friend.\\r\\n' | curl $tls \\
      smtp://127.0.0.1:2587 $demo_u -T - \\
      --mail-from demo@example.test --mail-rcpt friend@remote.test \\
      --mail-rcpt nobody@remote.test
  what the queue did (a message is there for a second or so):
    grep ' queue: ' $run/logs/error.log
  a message that stays: offline.test's MX (127.0.0.2) is down, so one sent
  to anyone@offline.test waits for its next try (in 5 minutes), deferred:
    REDIS_URL=$REDIS_URL $mailctl queue list
    REDIS_URL=$REDIS_URL $mailctl queue show ID     (or delete ID)
  friend's INBOX on the remote instance (UID 1 is the first message):
    curl $rtls $friend_u \\
      'imap://127.0.0.1:2144/INBOX;UID=1'
  the bounce for nobody in demo's INBOX: the numbers of the bounces, then one
    curl $tls $demo_u \\
      imap://127.0.0.1:2143/INBOX -X 'SEARCH SUBJECT Undelivered'
    curl $tls $demo_u \\
      'imap://127.0.0.1:2143/INBOX;MAILINDEX=N'
  all of it, checked:
    conf/demo-check.sh

Press Ctrl-C to stop everything.
INFO

wait "$nginx_pid"
