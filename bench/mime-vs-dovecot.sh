#!/usr/bin/env bash
# Compares our IMAP ENVELOPE, BODYSTRUCTURE and BODY with Dovecot 2.3's on
# the spam-1 and easy-ham-1 messages of the SpamAssassin corpus.  Prints the
# match counts and the first differences (all of them and Dovecot's values
# go to bench/out/).
#
#   bench/mime-vs-dovecot.sh [max-messages]
#   bench/mime-vs-dovecot.sh FILE...     (compare these messages instead)
#
# Starts a throwaway Dovecot (Debian's dovecot-imapd) as a private instance:
# its own config, base_dir and mail in a temp dir, IMAP on a free
# 127.0.0.1 port, stopped and removed on exit.  /etc/dovecot and system
# services are not touched.  Needs (installed when missing, as root or via
# sudo): dovecot-imapd, npm, make, gcc, perl.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
MAX=0
ARGS=()
if [ $# = 1 ] && [[ $1 =~ ^[0-9]+$ ]]; then MAX=$1; else ARGS=("$@"); fi
BUILD=${MAIL_BUILD_DIR:-$TOP/build}/mime
OUT=$TOP/bench/out
mkdir -p "$OUT"

if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi

if [ ! -x /usr/sbin/dovecot ] || [ ! -x /usr/lib/dovecot/imap ]; then
    $SUDO apt-get update -qq
    # the package's own service start fails harmlessly without systemd
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dovecot-imapd
fi

make -s -C "$TOP/modules/mime" O="$BUILD" "$BUILD/mime-imap"
CORPUS=$("$TOP/bench/mime-corpus.sh")

D=$(mktemp -d /tmp/mimedc.XXXXXX)
chmod 0755 "$D"
DC_PID=

cleanup() {
    if [ -n "$DC_PID" ] && [ -d "/proc/$DC_PID" ]; then
        $SUDO doveadm -c "$D/dovecot.conf" stop 2>/dev/null \
            || $SUDO kill "$DC_PID" 2>/dev/null || true
        for _ in $(seq 50); do [ -d "/proc/$DC_PID" ] || break; sleep 0.1; done
    fi
    $SUDO rm -rf "$D"
}
trap cleanup EXIT

PORT=$(perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                  LocalPort => 0) or die; print $s->sockport')

MAILUSER=mail
UID_=$(id -u $MAILUSER)
GID_=$(id -g $MAILUSER)
mkdir -p "$D/run" "$D/state" "$D/mail"
$SUDO chown "$UID_:$GID_" "$D/mail"
echo "cmp:{PLAIN}cmp-pass::::::" > "$D/users"

cat > "$D/dovecot.conf" <<CONF
# throwaway instance of bench/mime-vs-dovecot.sh
instance_name = dovecot-mimecmp
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = $UID_
last_valid_uid = $UID_
mail_location = maildir:$D/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN $D/users
}
userdb {
  driver = static
  args = uid=$UID_ gid=$GID_ home=$D/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
CONF

$SUDO dovecot -c "$D/dovecot.conf"
for _ in $(seq 100); do
    [ -s "$D/run/master.pid" ] && break; sleep 0.1
done
DC_PID=$(cat "$D/run/master.pid")
perl -MIO::Socket::INET -e '
    for (1..100) { exit 0 if IO::Socket::INET->new(PeerAddr => "127.0.0.1",
        PeerPort => $ARGV[0]); select undef, undef, undef, 0.1 } exit 1' "$PORT"

if [ ${#ARGS[@]} -gt 0 ]; then
    FILES=$(for f in "${ARGS[@]}"; do readlink -f "$f"; done)
else
    FILES=$(ls "$CORPUS"/spam-1/*.eml "$CORPUS"/easy-ham-1/*.eml)
fi
if [ "$MAX" != 0 ]; then FILES=$(echo "$FILES" | sed -n "1,${MAX}p"); fi

# shellcheck disable=SC2086
perl "$TOP/bench/mime-imap-compare.pl" "$PORT" cmp cmp-pass \
    "$BUILD/mime-imap" "$OUT" $FILES
