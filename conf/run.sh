#!/usr/bin/env bash
# Starts Redis and nginx with conf/nginx.conf on loopback, creates the demo
# account, and stops both on Ctrl-C.  Called by "./build.sh run".

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run="$top/run"
build="$top/build"
redis_port=6380
mailctl="$build/mailctl"

# shellcheck disable=SC1091
. "$build/nginx.env"

mkdir -p "$run/redis" "$run/tls" "$run/logs"

if [ ! -f "$run/tls/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
        -subj /CN=mail.example.test \
        -addext subjectAltName=DNS:mail.example.test,DNS:localhost,IP:127.0.0.1 \
        -keyout "$run/tls/key.pem" -out "$run/tls/cert.pem" 2>/dev/null
    echo "run.sh: made a self-signed certificate in $run/tls"
fi

redis_pid= nginx_pid=

stop() {
    trap - INT TERM EXIT
    echo
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null \
        && wait "$nginx_pid" 2>/dev/null || true
    [ -n "$redis_pid" ] && redis-cli -p "$redis_port" shutdown >/dev/null \
        2>&1 || true
    [ -n "$redis_pid" ] && wait "$redis_pid" 2>/dev/null || true
    echo "run.sh: nginx and Redis stopped"
}
trap stop INT TERM EXIT

# durable: every write is fsynced before Redis answers
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$run/redis" \
    --appendonly yes --appendfsync always --daemonize no \
    --logfile "$run/logs/redis.log" &
redis_pid=$!

for _ in $(seq 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
done

sed -e "s|@RUN@|$run|g" -e "s|@MODULE@|$NGINX_SERVER_MODULE|g" \
    -e "s|@MAIL_MODULE@|$NGINX_MAIL_MODULE|g" \
    "$top/conf/nginx.conf" > "$run/nginx.conf"

"$NGINX_BIN" -t -q -p "$run" -c "$run/nginx.conf"
"$NGINX_BIN" -p "$run" -c "$run/nginx.conf" -g 'daemon off;' &
nginx_pid=$!

export REDIS_URL="redis://127.0.0.1:$redis_port"

if ! "$mailctl" domain list | grep -qx example.test; then
    "$mailctl" domain add example.test
fi

if ! "$mailctl" user list example.test | grep -qx demo@example.test; then
    password=${DEMO_PASSWORD:-$(openssl rand -base64 12)}
    printf '%s\n' "$password" | "$mailctl" user add demo@example.test
    [ -z "${DEMO_PASSWORD:-}" ] && echo "demo password: $password"
fi

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
                   above when it was created)
  accounts         REDIS_URL=$REDIS_URL $mailctl user list

  try it           openssl s_client -quiet -starttls smtp -connect 127.0.0.1:2587
                   curl --ssl-reqd --cacert $run/tls/cert.pem \\
                        -u demo@example.test imap://127.0.0.1:2143/INBOX
                   (more in docs/testing.md, "IMAP clients by hand")

Press Ctrl-C to stop both.
INFO

wait "$nginx_pid"
