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
use lib "$FindBin::Bin/lib";
use CTest;

CTest::run('queue', 'queue-parse-test');
