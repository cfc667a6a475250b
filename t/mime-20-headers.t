#!/usr/bin/perl
# MIME library unit tests: header fields, RFC 2231 parameters, addresses, dates, RFC 2047 words.
# Runs the C test program; its TAP output is this file's output.
# A missing binary is a failure: build it with
#   make -C modules/mime O=$PWD/build/mime

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use CTest;

CTest::run('mime', 'mime-test', args => [qw(header address date words)]);
