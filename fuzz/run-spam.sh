#!/usr/bin/env bash
# Build and run the spam filter's libFuzzer targets: the SPF evaluator
# (records, macros and DNS answers from the input).
#   fuzz/run-spam.sh [seconds]     (per target, default 300)
# Needs clang (Debian package "clang", with libFuzzer); installs it if
# missing.  Crashes land in fuzz/out/spam_<target>/ (git-ignored); the
# corpora grow there too, seeded from fuzz/corpus/spam_<target>.
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
make -s -C "$TOP/modules/spam" spf-fuzz O="$OUT"

for name in spf; do
    dir=$TOP/fuzz/out/spam_$name
    mkdir -p "$dir/corpus"
    echo "== spam-$name-fuzz for $SECONDS_TO_RUN s"
    (cd "$dir" && "$OUT/spam-$name-fuzz" \
        -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
        -max_len=8192 -print_final_stats=1 -artifact_prefix="$dir/" \
        corpus "$TOP/fuzz/corpus/spam_$name")
done
