#!/usr/bin/perl

# The POP3 server's command-line and message-number parser, tested in C
# (modules/pop3/test/pop3d_parse_test.c): this file runs the binary,
# whose TAP output is this test's.  Build it with
#   make -C modules/pop3 O=$PWD/build/pop3
# A missing binary fails rather than skips, so it cannot go unnoticed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use CTest;

CTest::run('pop3', 'pop3d-parse-test');
