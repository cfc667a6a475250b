#!/usr/bin/perl
# MIME library unit tests: the MIME parser: part tree, torture cases, limits, linear time.
# Runs the C test program; its TAP output is this file's output.
# A missing binary is a failure: build it with
#   make -C modules/mime O=$PWD/build/mime

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use CTest;

CTest::run('mime', 'mime-test', args => [qw(parse limits)]);
