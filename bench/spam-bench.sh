#!/usr/bin/env bash
# Accuracy and speed of our Bayesian classifier next to SpamAssassin's
# Bayes, on the SpamAssassin public corpus (issue 9).
#
# Only spam-1 (1000 messages) and easy-ham-1 (5000) are used, prepared
# by bench/mime-corpus.sh (mbox "From " line removed, CRLF).  The split
# is deterministic: each folder's files sorted by name, every message
# whose index modulo 10 is 2, 5 or 8 is a test message (30 %), the others
# are learned (70 %).  Both classifiers learn the same messages once and
# score the same test messages:
#   - ours: bench/spam/spam_bench.c, counts in an in-memory table;
#   - SpamAssassin: sa-learn --spam / --ham into a temporary database,
#     then bench/spam/sa-bayes.pl reads Bayes' probability of each test
#     message (only the Bayes rule configured, network tests off).
# Spam recall is the share of test spams scored above a threshold, the
# false-positive rate the share of test hams above it ("above", as
# SpamAssassin's check_bayes() compares, so a message with no known
# token, 0.5 in both, never counts as spam at 0.5); both are
# printed for a few thresholds.  The thresholds that matter: ours 0.9
# (our junk filing point), SpamAssassin's 0.99 (its BAYES_99 rule, the
# only Bayes rule that scores high enough by itself to file mail).
#
#   bench/spam-bench.sh [spam-bench options, e.g. -s 0.5]
# Needs: a C compiler, perl, npm (for the corpus, installed once under
# bench/node_modules/), spamassassin (Debian package; installed if
# missing).  Results also in bench/out/spam/.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/bench/out/spam

if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi

if ! command -v sa-learn >/dev/null; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq spamassassin
fi

CORPUS=$("$TOP/bench/mime-corpus.sh")

rm -rf "$OUT"
mkdir -p "$OUT/train/spam" "$OUT/train/ham" "$OUT/sa"

make -s -C "$TOP/modules/spam" bench O="$OUT"

# the split, and the training folders sa-learn reads
for folder in spam-1 easy-ham-1; do
    case $folder in spam-*) class=spam ;; *) class=ham ;; esac
    i=0
    for f in $(ls "$CORPUS/$folder" | LC_ALL=C sort); do
        case $((i % 10)) in
        2|5|8) echo "test $class $CORPUS/$folder/$f" ;;
        *)     echo "train $class $CORPUS/$folder/$f"
               ln -s "$CORPUS/$folder/$f" "$OUT/train/$class/$f" ;;
        esac
        i=$((i + 1))
    done
done > "$OUT/list"

echo "split: $(grep -c '^train spam' "$OUT/list") spam +" \
     "$(grep -c '^train ham' "$OUT/list") ham learned," \
     "$(grep -c '^test spam' "$OUT/list") spam +" \
     "$(grep -c '^test ham' "$OUT/list") ham tested"

"$OUT/spam-bench" "$@" "$OUT/list" > "$OUT/ours.scores"

# SpamAssassin: Bayes only, auto-learning off, its database in $OUT/sa
cat > "$OUT/sa/bayes.cf" <<CF
loadplugin Mail::SpamAssassin::Plugin::Check
loadplugin Mail::SpamAssassin::Plugin::Bayes
use_bayes 1
use_bayes_rules 1
bayes_auto_learn 0
bayes_path $OUT/sa/bayes
lock_method flock
body BAYES_ALL eval:check_bayes('0.00', '1.00')
score BAYES_ALL 0.001
CF
# the top-level domains, so that its URI tokens see registered domains
if [ -f /usr/share/spamassassin/20_aux_tlds.cf ]; then
    cp /usr/share/spamassassin/20_aux_tlds.cf "$OUT/sa/"
fi
: > "$OUT/sa/user_prefs"

SA_ARGS="--siteconfigpath=$OUT/sa --configpath=$OUT/sa -p $OUT/sa/user_prefs"
start=$(date +%s.%N)
sa-learn $SA_ARGS --dbpath "$OUT/sa/bayes" --no-sync --spam "$OUT/train/spam"
sa-learn $SA_ARGS --dbpath "$OUT/sa/bayes" --no-sync --ham "$OUT/train/ham"
sa-learn $SA_ARGS --dbpath "$OUT/sa/bayes" --sync
awk -v a="$start" -v b="$(date +%s.%N)" \
    'BEGIN { printf "sa: learned in %.1f s\n", b - a }'
sa-learn $SA_ARGS --dbpath "$OUT/sa/bayes" --dump magic | grep -E 'nspam|nham'

perl "$TOP/bench/spam/sa-bayes.pl" "$OUT/sa" "$OUT/list" > "$OUT/sa.scores"

report() {
    awk -v name="$1" '
        $2 == "spam" { ns++; s[ns] = $3 }
        $2 == "ham"  { nh++; h[nh] = $3 }
        END {
            split("0.5 0.9 0.95 0.99 0.999", th, " ")
            for (t = 1; t <= 5; t++) {
                sp = 0; fp = 0
                for (i = 1; i <= ns; i++) if (s[i] > th[t]) sp++
                for (i = 1; i <= nh; i++) if (h[i] > th[t]) fp++
                printf "%-13s > %-5s  spam recall %6.2f %% (%d/%d)" \
                       "  ham FP %5.2f %% (%d/%d)\n", name, th[t],
                       100 * sp / ns, sp, ns, 100 * fp / nh, fp, nh
            }
        }' "$2"
}

echo
report ours "$OUT/ours.scores"
report SpamAssassin "$OUT/sa.scores"
