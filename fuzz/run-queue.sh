#!/usr/bin/env bash
# Build and run the delivery queue's libFuzzer targets, one after the
# other, on one core: the SMTP reply parser, the DNS answer handling
# (through c-ares's parsers), the delivery status notifications (a
# remote server's text in them) and the 8BITMIME to 7 bit conversion,
# alone and against the MIME library's reading of it.
#   fuzz/run-queue.sh [seconds]     (per target, default 300)
# Needs clang (Debian package "clang", with libFuzzer) and
# libc-ares-dev; installs them if missing.  Crashes land in
# fuzz/out/queue_<target>/ (git-ignored); the corpora grow there too,
# seeded from fuzz/corpus/queue_<target>.
set -euo pipefail

SECONDS_TO_RUN=${1:-300}
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/fuzz/out/queue

missing=()
command -v clang >/dev/null || missing+=(clang)
[ -f /usr/include/ares.h ] || missing+=(libc-ares-dev)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

mkdir -p "$OUT"
make -s -C "$TOP/modules/queue" fuzz O="$OUT"

# the longest input each target looks at: a reply of BYTES_MAX and
# more; a DNS answer over TCP; a report's values and a message
for target in reply:20480 dns:65540 report:16384 downgrade:65536 \
        downgrade-mime:65536; do
    name=${target%%:*}
    max_len=${target##*:}
    dir=$TOP/fuzz/out/queue_${name//-/_}
    mkdir -p "$dir/corpus"
    echo "== queue-$name-fuzz for $SECONDS_TO_RUN s"
    (cd "$dir" && "$OUT/queue-$name-fuzz" \
        -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
        -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$dir/" \
        corpus "$TOP/fuzz/corpus/queue_${name//-/_}")
done
