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
use lib "$FindBin::Bin/lib";
use CTest;

CTest::run('spam', 'spam-dns-test', target => 'dns-all');
