#!/usr/bin/env bash
# Build and run the spam filter's libFuzzer targets, one after the other,
# on one core: the Bayesian tokenizer and the SPF evaluator.
#   fuzz/run-spam.sh [seconds]     (per target, default 300)
# Needs clang (Debian package "clang", with libFuzzer); installs it if
# missing.  Crashes land in fuzz/out/spam_<target>/ (git-ignored); the
# corpora grow there too, seeded from fuzz/corpus/spam_<target> (and the
# MIME library's messages for the tokenizer).
set -euo pipefail

SECONDS_TO_RUN=${1:-300}
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/fuzz/out/spam

if ! command -v clang >/dev/null; then
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang
fi

mkdir -p "$OUT"
make -s -C "$TOP/modules/spam" fuzz O="$OUT"

for name in tokenize spf; do
    dir=$TOP/fuzz/out/spam_$name
    mkdir -p "$dir/corpus"
    seeds="$TOP/fuzz/corpus/spam_$name"
    [ "$name" = tokenize ] && seeds="$seeds $TOP/fuzz/corpus/mime"
    echo "== spam-$name-fuzz for $SECONDS_TO_RUN s"
    # shellcheck disable=SC2086
    (cd "$dir" && "$OUT/spam-$name-fuzz" \
        -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$dir/" \
        corpus $seeds)
done
