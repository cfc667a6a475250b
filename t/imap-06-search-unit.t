#!/usr/bin/perl

# The IMAP SEARCH key compiler and matcher, tested in C
# (modules/imap/test/imapd_search_test.c): this file runs the binary,
# whose TAP output is this test's.  Build it with
#   make -C modules/imap O=$PWD/build/imap
# A missing binary fails rather than skips, so it cannot go unnoticed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use CTest;

CTest::run('imap', 'imapd-search-test');
