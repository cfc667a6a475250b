#!/usr/bin/perl

# The POP3 server's command-line and message-number parser, tested in C
# (modules/pop3/test/pop3d_parse_test.c): this file runs the binary,
# whose TAP output is this test's.  Build it with
#   make -C modules/pop3 O=$PWD/build/pop3
# A missing binary fails rather than skips, so it cannot go unnoticed.

use strict;
use warnings;

use FindBin;

my $root = "$FindBin::Bin/..";
my $build = $ENV{MAIL_BUILD_DIR} || "$root/build";
my $test = "$build/pop3/pop3d-parse-test";

$| = 1;

unless (-x $test) {
    print "1..1\n";
    print "not ok 1 - $test missing: make -C modules/pop3 O=$build/pop3\n";
    exit 1;
}

exec $test or do {
    print "1..1\n";
    print "not ok 1 - cannot run $test: $!\n";
    exit 1;
};
