#!/usr/bin/perl
# MIME library unit tests: base64, quoted-printable, text extraction
# and the UTF-8 decoder.
# Runs the C test program; its TAP output is this file's output.
# A missing binary is a failure: build it with
#   make -C modules/mime O=$PWD/build/mime

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use CTest;

CTest::run('mime', 'mime-test', args => [qw(decode text utf8)]);
