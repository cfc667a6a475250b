#!/usr/bin/perl

# The IMAP SEARCH key compiler and matcher, tested in C
# (modules/imap/test/imapd_search_test.c): this file runs the binary,
# whose TAP output is this test's.  Build it with
#   make -C modules/imap O=$PWD/build/imap
# A missing binary fails rather than skips, so it cannot go unnoticed.

use strict;
use warnings;

use FindBin;

my $root = "$FindBin::Bin/..";
my $build = $ENV{MAIL_BUILD_DIR} || "$root/build";
my $test = "$build/imap/imapd-search-test";

$| = 1;

unless (-x $test) {
    print "1..1\n";
    print "not ok 1 - $test missing: make -C modules/imap O=$build/imap\n";
    exit 1;
}

exec $test or do {
    print "1..1\n";
    print "not ok 1 - cannot run $test: $!\n";
    exit 1;
};
