#!/usr/bin/env bash
# Parse speed of the MIME library next to GMime 3.2, same messages, one run:
# the spam-1 and easy-ham-1 folders of the SpamAssassin corpus (see
# bench/mime-corpus.sh), in memory.  Prints messages/s and MB/s for both
# and the ratio.
#
#   bench/mime-bench.sh [rounds]        (default 5)
#
# Needs (installed when missing, as root or via sudo): libgmime-3.0-dev,
# pkg-config, gcc, make, npm, perl.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${1:-5}
OUT=$TOP/bench/out
BUILD=$OUT/mime-build

if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi

if ! pkg-config --exists gmime-3.0 2>/dev/null; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        libgmime-3.0-dev pkg-config
fi

mkdir -p "$OUT"
make -s -C "$TOP/modules/mime" O="$BUILD" "$BUILD/libmime.a"
# shellcheck disable=SC2046
gcc -O2 -g -std=c99 -Wall -Werror -I"$TOP/modules/mime" \
    $(pkg-config --cflags gmime-3.0) -o "$OUT/mime-bench" \
    "$TOP/bench/mime_bench.c" "$BUILD/libmime.a" $(pkg-config --libs gmime-3.0)

CORPUS=$("$TOP/bench/mime-corpus.sh")
ls "$CORPUS"/spam-1/*.eml "$CORPUS"/easy-ham-1/*.eml > "$OUT/mime-bench.list"

"$OUT/mime-bench" "$OUT/mime-bench.list" "$ROUNDS"
