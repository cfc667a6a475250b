#!/usr/bin/perl

# SpamAssassin's Bayes on the bench's split: spam-bench.sh trains it with
# sa-learn into a temporary database; this script scores the test
# messages through the Mail::SpamAssassin API, loaded once (one
# "spamassassin" process per message would measure Perl's start-up).
# The configuration loads only the Check and Bayes plugins and one rule
# that runs the Bayes check over the whole range, so the score read is
# Bayes' own probability, untouched by any other rule:
#   sa-bayes.pl CONFIG_DIR LIST   ->   "sa <spam|ham> <prob> <path>" lines

use strict;
use warnings;

use Mail::SpamAssassin;
use Time::HiRes qw(time);

my ($cf, $list) = @ARGV;
die "usage: sa-bayes.pl CONFIG_DIR LIST\n" unless defined $list;

my $sa = Mail::SpamAssassin->new({
    rules_filename => $cf,
    site_rules_filename => $cf,
    userprefs_filename => "$cf/user_prefs",
    dont_copy_prefs => 1,
    local_tests_only => 1,
    home_dir_for_helpers => $cf,
});

$sa->init(1);

open my $l, '<', $list or die "$list: $!";
my ($n, $start) = (0, time);

while (my $line = <$l>) {
    my ($role, $class, $path) = $line =~ /^(\S+) (\S+) (.+)$/ or next;
    next unless $role eq 'test';

    open my $f, '<:raw', $path or die "$path: $!";
    my $text = do { local $/; <$f> };
    close $f;

    my $mail = $sa->parse($text);
    my $status = $sa->check($mail);

    # bayes_score is what the BAYES tag prints with four decimals only
    my $p = $status->{bayes_score};
    $p = $status->get_tag('BAYES') unless defined $p;

    printf "sa %s %.6f %s\n", $class, $p, $path;

    $status->finish;
    $mail->finish;
    $n++;
}

my $elapsed = time - $start;
printf STDERR "sa: classified %d messages in %.1f s: %.0f messages/s\n",
    $n, $elapsed, $elapsed > 0 ? $n / $elapsed : 0;
