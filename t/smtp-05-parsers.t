#!/usr/bin/perl

# The SMTP server's MAIL/RCPT argument parser and DATA/BDAT decoder,
# tested in C (modules/smtp/test/smtpd_parse_test.c): this file runs
# the binary, whose TAP output is this test's.  Build it with
#   make -C modules/smtp O=$PWD/build/smtp
# A missing binary fails rather than skips, so it cannot go unnoticed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use CTest;

CTest::run('smtp', 'smtpd-parse-test');
