#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions called through check() are reached
# Checks the delivery queue demo of "./build.sh run", which must be running:
# as demo@example.test, through the submission port, it sends one message
# to friend@remote.test and one to nobody@remote.test, then checks over IMAP
# that
#   - the first is in friend@remote.test's INBOX on the remote instance
#     (found through the demo's DNS: remote.test MX 10 mx.remote.test), and
#   - the second came back as a bounce, a multipart/report naming
#     nobody@remote.test, in demo@example.test's INBOX,
# and that both left the queue; and that a message to someone@offline.test,
# whose MX is down, waits in the queue, deferred (then it deletes it);
# and that after "mailctl spam learn" a new spam sent to the MX port is
# filed into demo's Junk.
# Prints one "ok"/"not ok" line per check; the exit status is 0 when all
# passed.
#
# Passwords: $DEMO_PASSWORD and $FRIEND_PASSWORD, else the files run.sh
# writes when it creates the accounts (run/demo-password and
# run/remote/friend-password).

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run="$top/run"
remote="$run/remote"
mailctl="$top/build/mailctl"
wait_seconds=${WAIT_SECONDS:-30}

for port in 2587 2143 2144; do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "demo-check.sh: nothing on 127.0.0.1:$port; start the demo" \
             "first: ./build.sh run" >&2
        exit 2
    fi
done

password() {
    local file=$2
    if [ -n "$1" ]; then printf '%s' "$1"; return 0; fi
    [ -r "$file" ] && head -n1 "$file" && return 0
    echo "demo-check.sh: no password: set \$$3 or create $file" >&2
    exit 2
}
demo_pw=$(password "${DEMO_PASSWORD:-}" "$run/demo-password" DEMO_PASSWORD)
friend_pw=$(password "${FRIEND_PASSWORD:-}" "$remote/friend-password" \
                     FRIEND_PASSWORD)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failed=0
n=0
ok()     { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }
check()  { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

# curl_as USER PASSWORD CAFILE ARGS...: the credentials go through a config
# on standard input, not the command line
curl_as() {
    local user=$1 pw=$2 ca=$3
    shift 3
    pw=${pw//\\/\\\\}
    pw=${pw//\"/\\\"}
    printf 'user = "%s:%s"\n' "$user" "$pw" \
        | curl -sS --ssl-reqd --cacert "$ca" --max-time 20 -K - "$@"
}

demo()   { curl_as demo@example.test "$demo_pw" "$run/tls/cert.pem" "$@"; }
friend() { curl_as friend@remote.test "$friend_pw" "$remote/tls/cert.pem" "$@"; }

# send RCPT TAG: submits as demo on 2587, with TAG in the subject and the
# body; prints the queue id
send() {
    printf 'From: demo@example.test\r\nTo: <%s>\r\nSubject: %s\r\n\r\n%s\r\n' \
        "$1" "$2" "$2: sent by conf/demo-check.sh" > "$tmp/msg"
    demo -v smtp://127.0.0.1:2587 --mail-from demo@example.test \
        --mail-rcpt "$1" -T "$tmp/msg" 2>&1 \
        | sed -n 's/^< 250 .*queued as \([A-Za-z0-9]*\).*/\1/p'
}

# search demo|friend CRITERIA: the sequence numbers that match, by IMAP
search() {
    local who=$1 port=2143
    [ "$who" = friend ] && port=2144
    "$who" "imap://127.0.0.1:$port/INBOX" -X "SEARCH $2" \
        | sed -n 's/^\* SEARCH *//p' | tr -d '\r' | tr ' ' '\n' | sed '/^$/d'
}

# fetch demo|friend N: message N of the INBOX
fetch() {
    local who=$1 port=2143
    [ "$who" = friend ] && port=2144
    "$who" "imap://127.0.0.1:$port/INBOX;MAILINDEX=$2"
}

# wait_for demo|friend CRITERIA: the last match, within $wait_seconds
wait_for() {
    local found
    for _ in $(seq $((wait_seconds * 2))); do
        found=$(search "$1" "$2" | tail -n1)
        [ -n "$found" ] && { echo "$found"; return 0; }
        sleep 0.5
    done
    return 1
}

has() { grep -qiE -- "$2" "$1"; }
quiet() { "$@" >/dev/null; }

tag="demo-check-$(date +%s)-$$"

id1=$(send friend@remote.test "$tag-friend" || true)
check "submitted to friend@remote.test as demo (queue id ${id1:-none})" \
    test -n "$id1"
id2=$(send nobody@remote.test "$tag-nobody" || true)
check "submitted to nobody@remote.test as demo (queue id ${id2:-none})" \
    test -n "$id2"

# the remote instance has it
if m=$(wait_for friend "SUBJECT \"$tag-friend\""); then
    ok "friend@remote.test's INBOX on the remote instance has the message"
    fetch friend "$m" | tr -d '\r' > "$tmp/delivered"
    check "it was received by mx.remote.test from the queue" \
        has "$tmp/delivered" '^[[:space:]]+by mx\.remote\.test '
    check "with the demo user as the envelope sender" \
        has "$tmp/delivered" '^Return-Path: <demo@example\.test>$'
else
    not_ok "friend@remote.test's INBOX on the remote instance has the message"
fi

# the bounce, in demo's INBOX: the returned message's body has the tag
if m=$(wait_for demo "SUBJECT \"Undelivered\" BODY \"$tag-nobody\""); then
    ok "demo@example.test's INBOX has a bounce for the message to nobody"
    fetch demo "$m" | tr -d '\r' > "$tmp/bounce"
    check "the bounce has a null Return-Path" \
        has "$tmp/bounce" '^Return-Path: <>$'
    check "the bounce is a multipart/report (delivery-status)" \
        has "$tmp/bounce" '^Content-Type: multipart/report; *report-type=delivery-status'
    check "the bounce names nobody@remote.test as failed" \
        grep -qiE '^Final-Recipient: rfc822; *nobody@remote\.test$' "$tmp/bounce"
    check "with the remote MX's 5.1.1" \
        has "$tmp/bounce" '^Status: 5\.1\.1$'
    check "as said by mx.remote.test" \
        has "$tmp/bounce" '^Remote-MTA: dns; *mx\.remote\.test$'
else
    not_ok "demo@example.test's INBOX has a bounce for the message to nobody"
fi

check "no bounce for the message to friend" \
    test -z "$(search demo "SUBJECT \"Undelivered\" BODY \"$tag-friend\"")"

gone() {
    local out
    out=$("$mailctl" -s 127.0.0.1:6380 queue show "$1" 2>&1) && return 1
    case $out in *"unknown queue id"*) return 0 ;; esac
    echo "$out" >&2
    return 1
}
for id in $id1 $id2; do
    check "queue id $id has left the queue" gone "$id"
done

# a site that is down: the message stays in the queue, deferred
id3=$(send someone@offline.test "$tag-offline" || true)
check "submitted to someone@offline.test as demo (queue id ${id3:-none})" \
    test -n "$id3"
deferred() {
    for _ in $(seq $((wait_seconds * 2))); do
        "$mailctl" -s 127.0.0.1:6380 queue list \
            | grep -qE "^$1 .* deferred until .*connect" && return 0
        sleep 0.5
    done
    return 1
}
delete() {
    "$mailctl" -s 127.0.0.1:6380 queue delete "$1" >/dev/null && gone "$1"
}
if [ -n "$id3" ]; then
    check "mailctl queue list shows it deferred, offline.test's MX is down" \
        deferred "$id3"
    check "mailctl queue delete removes it" delete "$id3"
fi

# the spam filter: teach it 25 spams and 25 hams (mailctl spam learn; a
# message learnt again counts once), then a new spam over the MX port
# lands in demo's Junk
words() {
    local list=($1) i out=
    for i in $(seq 40); do out="$out ${list[$(( (i * $2 + i / 3) % ${#list[@]} ))]}"; done
    echo "$out"
}
spamwords="viagra casino jackpot winner lottery pharmacy discount bitcoin
           investment guaranteed prize cheap pills bonus"
hamwords="meeting agenda project review schedule minutes report lunch budget
          quarterly colleague draft deadline notes"
for i in $(seq 25); do
    printf 'Subject: offer %s\r\n\r\n%s\r\n' "$i" \
        "$(words "$spamwords" "$i")" > "$tmp/spam$i.eml"
    printf 'Subject: notes %s\r\n\r\n%s\r\n' "$i" \
        "$(words "$hamwords" "$i")" > "$tmp/ham$i.eml"
done
check "mailctl spam learn --spam (25 messages)" \
    quiet "$mailctl" -s 127.0.0.1:6380 spam learn --spam "$tmp"/spam*.eml
check "mailctl spam learn --ham (25 messages)" \
    quiet "$mailctl" -s 127.0.0.1:6380 spam learn --ham "$tmp"/ham*.eml

printf 'From: <winner@lottery.test>\r\nTo: <demo@example.test>\r\nSubject: %s\r\n\r\n%s\r\n' \
    "$tag-spam" "$(words "$spamwords" 31)" > "$tmp/spam.eml"
check "a new spam is accepted on the MX port" \
    curl -sS --max-time 20 smtp://127.0.0.1:2525 \
        --mail-from winner@lottery.test --mail-rcpt demo@example.test \
        -T "$tmp/spam.eml"
junk_has() {
    for _ in $(seq $((wait_seconds * 2))); do
        demo "imap://127.0.0.1:2143/Junk" -X "SEARCH SUBJECT $tag-spam" \
            | grep -qE '^\* SEARCH [0-9]' && return 0
        sleep 0.5
    done
    return 1
}
check "it was filed into demo's Junk by the filter" junk_has
check "the filter logged its verdict" \
    grep -q "spam: .* verdict=junk .*bayes=demo@example.test" \
        "$run/logs/error.log"

check "the queue asked the demo's DNS for the MX of remote.test" \
    grep -q 'query\[MX\] remote\.test ' "$run/logs/dnsmasq.log"

echo "1..$n"
if [ "$failed" = 0 ]; then
    echo "demo-check.sh: all $n checks passed"
else
    echo "demo-check.sh: FAILED; see $run/logs/error.log and" \
         "$remote/logs/error.log" >&2
fi
exit "$failed"
