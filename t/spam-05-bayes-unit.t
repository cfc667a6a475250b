#!/usr/bin/perl

# The Bayesian spam classifier: tokenizer, hash, Robinson f(w) and
# Fisher combining, tested in C (modules/spam/test/spam_bayes_test.c):
# this file runs the binary, whose TAP output is its own.  Build it with
#   make -C modules/spam O=$PWD/build/spam
# A missing binary fails rather than skips, so it cannot go unnoticed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use CTest;

CTest::run('spam', 'spam-bayes-test');
