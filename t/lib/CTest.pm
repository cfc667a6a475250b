package CTest;

# A test file that is one of the C unit tests (modules/*/test/): run
# replaces the Perl process with the binary, whose TAP output is the
# test's.  A missing binary fails rather than skips, so it cannot go
# unnoticed.
#
#   CTest::run('imap', 'imapd-parse-test');   # build/imap/imapd-parse-test
#   CTest::run('spam', 'spf-test', target => 'spf-all');  # its make target
#   CTest::run('mime', 'mime-test', args => [qw(parse limits)]);

use strict;
use warnings;

use FindBin;

sub run {
    my ($module, $name, %opt) = @_;
    my $root = "$FindBin::Bin/..";
    my $build = $ENV{MAIL_BUILD_DIR} || "$root/build";
    my $test = "$build/$module/$name";

    $| = 1;

    unless (-x $test) {
        print "1..1\n";
        print "not ok 1 - $test missing: make -C modules/$module"
            . " O=$build/$module"
            . (defined $opt{target} ? " $opt{target}" : '') . "\n";
        exit 1;
    }

    exec $test, @{ $opt{args} || [] } or do {
        print "1..1\n";
        print "not ok 1 - cannot run $test: $!\n";
        exit 1;
    };
}

1;
