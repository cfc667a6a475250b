#!/usr/bin/perl

# The SPF evaluator (RFC 7208), tested in C (modules/spam/test/spf_test.c)
# against a DNS table in memory: this file runs the binary, whose TAP
# output is this test's.  Build it with
#   make -C modules/spam O=$PWD/build/spam spf-all
# A missing binary fails rather than skips, so it cannot go unnoticed.

use strict;
use warnings;

use FindBin;

my $root = "$FindBin::Bin/..";
my $build = $ENV{MAIL_BUILD_DIR} || "$root/build";
my $test = "$build/spam/spf-test";

$| = 1;

unless (-x $test) {
    print "1..1\n";
    print "not ok 1 - $test missing: make -C modules/spam O=$build/spam"
        . " spf-all\n";
    exit 1;
}

exec $test or do {
    print "1..1\n";
    print "not ok 1 - cannot run $test: $!\n";
    exit 1;
};
