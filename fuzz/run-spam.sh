#!/usr/bin/env bash
# Build and run the Bayesian tokenizer's libFuzzer target on one core.
#   fuzz/run-spam.sh [seconds]     (default 300)
# Needs clang (Debian package "clang", with libFuzzer); installs it if
# missing.  Crashes land in fuzz/out/spam/ (git-ignored); the corpus
# grows there too, seeded from fuzz/corpus/spam_tokenize and the MIME
# library's messages.
set -euo pipefail

SECONDS_TO_RUN=${1:-300}
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/fuzz/out/spam

if ! command -v clang >/dev/null; then
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang
fi

mkdir -p "$OUT/corpus"
make -s -C "$TOP/modules/spam" fuzz O="$OUT"

cd "$OUT"
exec ./spam-tokenize-fuzz -max_total_time="$SECONDS_TO_RUN" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$OUT/" corpus "$TOP/fuzz/corpus/spam_tokenize" \
    "$TOP/fuzz/corpus/mime"
