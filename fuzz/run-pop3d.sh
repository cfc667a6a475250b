#!/usr/bin/env bash
# Build and run the POP3 command-line parser's libFuzzer target on one
# core.
#   fuzz/run-pop3d.sh [seconds]     (default 300)
# Needs clang (Debian package "clang", with libFuzzer); installs it if
# missing.  Crashes land in fuzz/out/pop3d_command/ (git-ignored); the
# corpus grows there too, seeded from fuzz/corpus/pop3d_command.
set -euo pipefail

SECONDS_TO_RUN=${1:-300}
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/fuzz/out/pop3d

if ! command -v clang >/dev/null; then
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang
fi

mkdir -p "$OUT"
make -s -C "$TOP/modules/pop3" fuzz O="$OUT"

for target in command; do
    dir=$TOP/fuzz/out/pop3d_$target
    mkdir -p "$dir/corpus"
    echo "== pop3d-$target-fuzz for $SECONDS_TO_RUN s"
    (cd "$dir" && "$OUT/pop3d-$target-fuzz" \
        -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
        -max_len=8192 -jobs=1 -workers=1 -print_final_stats=1 \
        -artifact_prefix="$dir/" \
        corpus "$TOP/fuzz/corpus/pop3d_command")
done
