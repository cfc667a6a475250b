#!/usr/bin/env bash
# Build and run the IMAP parser libFuzzer targets, one after the other,
# on one core: the command parser, mUTF-7 with sequence sets, FETCH, and
# the SEARCH compiler and matcher.
#   fuzz/run-imapd.sh [seconds]     (per target, default 300)
# Needs clang (Debian package "clang", with libFuzzer); installs it if
# missing.  Crashes land in fuzz/out/imapd_<target>/ (git-ignored); the
# corpora grow there too, seeded from fuzz/corpus/imapd_<target>.
set -euo pipefail

SECONDS_TO_RUN=${1:-300}
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/fuzz/out/imapd

if ! command -v clang >/dev/null; then
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang
fi

mkdir -p "$OUT"
make -s -C "$TOP/modules/imap" fuzz O="$OUT"

for target in command utf7 fetch search; do
    dir=$TOP/fuzz/out/imapd_$target
    mkdir -p "$dir/corpus"
    echo "== imapd-$target-fuzz for $SECONDS_TO_RUN s"
    (cd "$dir" && "$OUT/imapd-$target-fuzz" \
        -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
        -max_len=8192 -print_final_stats=1 -artifact_prefix="$dir/" \
        corpus "$TOP/fuzz/corpus/imapd_$target")
done
