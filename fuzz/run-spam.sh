#!/usr/bin/env bash
# Build and run the spam filter's libFuzzer targets, one after the other,
# on one core: the Bayesian tokenizer, the SPF evaluator, and the DNS
# answers read for the SPF and DNSBL checks (through c-ares's parsers,
# then into the evaluator).
#   fuzz/run-spam.sh [seconds]     (per target, default 300)
# Needs clang (Debian package "clang", with libFuzzer) and
# libc-ares-dev; installs them if missing.  Crashes land in fuzz/out/spam_<target>/ (git-ignored); the
# corpora grow there too, seeded from fuzz/corpus/spam_<target> (and the
# MIME library's messages for the tokenizer).
set -euo pipefail

SECONDS_TO_RUN=${1:-300}
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/fuzz/out/spam

missing=()
command -v clang >/dev/null || missing+=(clang)
[ -f /usr/include/ares.h ] || missing+=(libc-ares-dev)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

mkdir -p "$OUT"
make -s -C "$TOP/modules/spam" fuzz O="$OUT"

# the longest input each target looks at: a message, SPF lines, a DNS
# answer over TCP and the four octets before it
for target in tokenize:65536 spf:65536 dns:65540; do
    name=${target%%:*}
    max_len=${target##*:}
    dir=$TOP/fuzz/out/spam_$name
    mkdir -p "$dir/corpus"
    seeds="$TOP/fuzz/corpus/spam_$name"
    [ "$name" = tokenize ] && seeds="$seeds $TOP/fuzz/corpus/mime"
    echo "== spam-$name-fuzz for $SECONDS_TO_RUN s"
    # shellcheck disable=SC2086
    (cd "$dir" && "$OUT/spam-$name-fuzz" \
        -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
        -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$dir/" \
        corpus $seeds)
done
