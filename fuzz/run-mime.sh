#!/usr/bin/env bash
# Build and run the MIME libFuzzer target on one core.
#   fuzz/run-mime.sh [seconds]     (default 600)
# Needs clang (Debian package "clang", with libFuzzer); installs it if missing.
# Crashes and timeouts land in fuzz/out/mime/ (git-ignored); the corpus
# grows in fuzz/out/mime/corpus, seeded from fuzz/corpus/mime.
set -euo pipefail

SECONDS_TO_RUN=${1:-600}
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/fuzz/out/mime

if ! command -v clang >/dev/null; then
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang
fi

mkdir -p "$OUT/corpus"
make -s -C "$TOP/modules/mime" fuzz O="$OUT"

cd "$OUT"
exec ./mime-fuzz -max_total_time="$SECONDS_TO_RUN" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$OUT/" corpus "$TOP/fuzz/corpus/mime"
