#!/usr/bin/perl

# The SPF evaluator (RFC 7208), tested in C (modules/spam/test/spf_test.c)
# against a DNS table in memory: this file runs the binary, whose TAP
# output is this test's.  Build it with
#   make -C modules/spam O=$PWD/build/spam spf-all
# A missing binary fails rather than skips, so it cannot go unnoticed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use CTest;

CTest::run('spam', 'spf-test', target => 'spf-all');
