#!/usr/bin/perl

# The Bayes store's view of a message: token fields with the fixed hash
# key, and the digest that recognises a message learnt before, tested in
# C (modules/spam/test/spam_store_test.c): this file runs the binary,
# whose TAP output is its own.  Build it with
#   make -C modules/spam O=$PWD/build/spam
# A missing binary fails rather than skips, so it cannot go unnoticed.

use strict;
use warnings;

use FindBin;

my $root = "$FindBin::Bin/..";
my $build = $ENV{MAIL_BUILD_DIR} || "$root/build";
my $test = "$build/spam/spam-store-test";

$| = 1;

unless (-x $test) {
    print "1..1\n";
    print "not ok 1 - $test missing: make -C modules/spam O=$build/spam\n";
    exit 1;
}

exec $test or do {
    print "1..1\n";
    print "not ok 1 - cannot run $test: $!\n";
    exit 1;
};
