#!/usr/bin/perl

# The Bayes store's view of a message: token fields with the fixed hash
# key, and the digest that recognises a message learnt before, tested in
# C (modules/spam/test/spam_store_test.c): this file runs the binary,
# whose TAP output is its own.  Build it with
#   make -C modules/spam O=$PWD/build/spam
# A missing binary fails rather than skips, so it cannot go unnoticed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use CTest;

CTest::run('spam', 'spam-store-test');
