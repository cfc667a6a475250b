#!/usr/bin/perl

# The delivery queue's parsers of untrusted input, the remote server's
# SMTP replies and the DNS answers about a destination, the delivery
# status notifications written from what they said, and the 8BITMIME to
# 7 bit conversion, tested in C
# (modules/queue/test/*.c): this file runs the binary, whose TAP output
# is this test's.  Build it with
#   make -C modules/queue O=$PWD/build/queue
# A missing binary fails rather than skips, so it cannot go unnoticed.

use strict;
use warnings;

use FindBin;

my $root = "$FindBin::Bin/..";
my $build = $ENV{MAIL_BUILD_DIR} || "$root/build";
my $test = "$build/queue/queue-parse-test";

$| = 1;

unless (-x $test) {
    print "1..1\n";
    print "not ok 1 - $test missing: make -C modules/queue O=$build/queue\n";
    exit 1;
}

exec $test or do {
    print "1..1\n";
    print "not ok 1 - cannot run $test: $!\n";
    exit 1;
};
