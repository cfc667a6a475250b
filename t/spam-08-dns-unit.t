#!/usr/bin/perl

# The spam filter's DNS answers read into SPF records and DNSBL codes
# (modules/spam/ngx_mail_spam_dns.c), tested in C with DNS messages built
# byte for byte (modules/spam/test/spam_dns_test.c): this file runs the
# binary, whose TAP output is this test's.  Build it with
#   make -C modules/spam O=$PWD/build/spam dns-all
# A missing binary fails rather than skips, so it cannot go unnoticed.

use strict;
use warnings;

use FindBin;

my $root = "$FindBin::Bin/..";
my $build = $ENV{MAIL_BUILD_DIR} || "$root/build";
my $test = "$build/spam/spam-dns-test";

$| = 1;

unless (-x $test) {
    print "1..1\n";
    print "not ok 1 - $test missing: make -C modules/spam O=$build/spam"
        . " dns-all\n";
    exit 1;
}

exec $test or do {
    print "1..1\n";
    print "not ok 1 - cannot run $test: $!\n";
    exit 1;
};
