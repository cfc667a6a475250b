#!/usr/bin/perl

# The SMTP server's MAIL/RCPT argument parser and DATA/BDAT decoder,
# tested in C (modules/smtp/test/smtpd_parse_test.c): this file runs
# the binary, whose TAP output is this test's.  Build it with
#   make -C modules/smtp O=$PWD/build/smtp
# A missing binary fails rather than skips, so it cannot go unnoticed.

use strict;
use warnings;

use FindBin;

my $root = "$FindBin::Bin/..";
my $build = $ENV{MAIL_BUILD_DIR} || "$root/build";
my $test = "$build/smtp/smtpd-parse-test";

$| = 1;

unless (-x $test) {
    print "1..1\n";
    print "not ok 1 - $test missing: make -C modules/smtp O=$build/smtp\n";
    exit 1;
}

exec $test or do {
    print "1..1\n";
    print "not ok 1 - cannot run $test: $!\n";
    exit 1;
};
