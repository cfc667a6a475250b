#!/usr/bin/perl
# MIME library unit tests: header fields, RFC 2231 parameters, addresses, dates, RFC 2047 words.
# Runs the C test program; its TAP output is this file's output.
# A missing binary is a failure: build it with
#   make -C modules/mime O=$PWD/build/mime

use strict;
use warnings;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $top = abs_path(dirname(__FILE__) . '/..');
my $bin = ($ENV{MAIL_BUILD_DIR} || "$top/build") . '/mime/mime-test';

unless (-x $bin) {
    print "1..1\nnot ok 1 - $bin exists (run make -C modules/mime)\n";
    exit 1;
}

exec $bin, qw(header address date words) or die "exec $bin: $!\n";
