# spam_bayes_expire: nginx expires the Bayes counts by itself, as
# "mailctl spam expire --all" would (t/spam-11): every worker has a turn
# each spam_bayes_expire_interval, the one that takes lock:bayes-expire
# walks every scope and forgets the tokens seen at most max_count times
# and not learnt for "days", and the digests of the messages not learnt
# for "days"; the others leave it.  One log line a run.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port wait_for);

my $t = MailTest->new;
$t->start_redis;

$t->mailctl('', 'domain', 'add', 'example.test');
$t->mailctl("Secret-1\n", 'user', 'add', 'demo@example.test');

my $dir = $t->dir;

# each message: its class's words, and a word of its own (a hapax)
sub message {
    my ($n, $class, @words) = @_;
    my $file = "$dir/$class$n.eml";
    open my $fh, '>', $file or die "$file: $!";
    print $fh "From: someone\@example.org\r\nSubject: $class\r\n\r\n"
            . "@words own${n}x$class\r\n";
    close $fh;
    return $file;
}

my @spams = map { message($_, 'spam', qw(viagra casino lottery)) } 1 .. 5;
my @hams = map { message($_, 'ham', qw(meeting agenda review)) } 1 .. 5;

for my $scope ([], ['--user', 'demo@example.test']) {
    for ([spam => \@spams], [ham => \@hams]) {
        my ($class, $files) = @$_;
        my ($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', "--$class",
                                           @$scope, @$files);
        die "learn: $err" if $rc;
    }
}

my $today = int((split /\n/, $t->redis('TIME'))[0] / 86400);

# every date 100 days back but one hapax's in each scope; what should go
my %gone;
for my $s ('global', 'demo@example.test') {
    my %count = split /\n/, $t->redis('HGETALL', "bayes:{$s}:spam");
    my %ham = split /\n/, $t->redis('HGETALL', "bayes:{$s}:ham");
    $count{$_} += $ham{$_} for keys %ham;
    my ($recent, @old) = sort grep { $count{$_} == 1 } keys %count;
    $t->redis('EVAL', "for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do "
                    . "redis.call('HSET', KEYS[1], f, ARGV[1]) end",
              1, "bayes:{$s}:age", $today - 100);
    $t->redis('HSET', "bayes:{$s}:age", $recent, $today - 30);
    $gone{$s} = { old => \@old, recent => $recent,
                  kept => [grep { $count{$_} > 1 } keys %count] };

    # the digests: 8 learnt 100 days ago, one 30, one with no day
    my ($recent_digest, $undated, @old_digests) = sort split /\n/,
        $t->redis('HKEYS', "bayes:{$s}:learnt");
    $t->redis('HSET', "bayes:{$s}:learnt", $_, 'spam:' . ($today - 100))
        for @old_digests;
    $t->redis('HSET', "bayes:{$s}:learnt", $recent_digest,
              'ham:' . ($today - 30), $undated, 'spam');
    $gone{$s}{digests} = { old => \@old_digests, recent => $recent_digest,
                           undated => $undated };
}
is(scalar @{ $gone{global}{old} }, 9, '9 old hapaxes in the global scope');
is(scalar @{ $gone{'demo@example.test'}{old} }, 9, 'and in the user\'s');

# --- the directives ---------------------------------------------------------

for (['spam_bayes_expire x;', 'invalid number of days'],
     ['spam_bayes_expire 90 y;', 'invalid count'],
     ['spam_bayes_expire off 3;', 'no count'],
     ['spam_bayes_expire_interval soon;', 'invalid value'],
     ['spam_bayes_expire 36501;', 'invalid number of days'],
     ['spam_bayes_expire off; spam_bayes_expire 90;', 'is duplicate'],
     ['spam_bayes_expire 90; spam_bayes_expire_interval 0;',
      'must be 1s at least'])
{
    my ($conf, $why) = @$_;
    my ($rc, $out) = $t->nginx_test_conf("    $conf\n");
    isnt($rc, 0, "\"$conf\" is refused");
    like($out, qr/\Q$why\E/, '... saying why');
}
my ($rc, $out) = $t->nginx_test_conf("    spam_bayes_expire 90 1;\n"
                                     . "    spam_bayes_expire_interval 1d;\n");
is($rc, 0, 'spam_bayes_expire 90 1 and an interval are accepted')
    or diag $out;

# --- a run -------------------------------------------------------------------

# another node holds this turn: nobody here may run until it ends
$t->redis('SET', 'lock:bayes-expire', 'elsewhere:1', 'EX', 4);

my $port = free_port();
$t->start_nginx(<<CONF, ports => [$port], workers => 2);
    spam_bayes_expire 90;
    spam_bayes_expire_interval 2s;
    server {
        listen 127.0.0.1:$port;
        protocol smtpd;
    }
CONF

my $run = qr/spam: bayes expiry: (\d+) tokens and (\d+) digests forgotten/;
sub runs {
    return $t->error_log =~ /$run in (\d+) scopes/g;
}
my $early = 0;
while (($t->redis('GET', 'lock:bayes-expire') // '') eq 'elsewhere:1') {
    $early += () = runs();
    select undef, undef, undef, 0.1;
}
is($early, 0, 'no run while another node holds the turn');
ok(wait_for(sub { runs() }, 'an expiry run', 10), 'a worker ran the expiry');
my ($forgotten, $digests, $scopes) = runs();
is($scopes, 2, 'over both scopes');
is($forgotten, 18, 'forgetting the 18 old hapaxes');
is($digests, 16, 'and the 16 digests learnt 100 days ago');
like($t->redis('GET', 'lock:bayes-expire'), qr/^\S+:\d+$/,
     'the lock names the node and worker holding this turn');

for my $s ('global', 'demo@example.test') {
    my %age = split /\n/, $t->redis('HGETALL', "bayes:{$s}:age");
    my $spam = $t->redis('HGETALL', "bayes:{$s}:spam");
    is(scalar(grep { exists $age{$_} || $spam =~ /^\Q$_\E$/m }
                   @{ $gone{$s}{old} }), 0, "$s: the old hapaxes are gone");
    ok(exists $age{ $gone{$s}{recent} }, "$s: the recent one stays");
    is(scalar(grep { !exists $age{$_} } @{ $gone{$s}{kept} }), 0,
       "$s: tokens seen twice or more stay");
    is($t->redis('HGET', "bayes:{$s}", 'nspam'), 5, "$s: nspam stays");

    my %learnt = split /\n/, $t->redis('HGETALL', "bayes:{$s}:learnt");
    my $d = $gone{$s}{digests};
    is(scalar(grep { exists $learnt{$_} } @{ $d->{old} }), 0,
       "$s: the old digests are gone");
    is($learnt{ $d->{recent} }, 'ham:' . ($today - 30),
       "$s: the recent one stays");
    is($learnt{ $d->{undated} }, "spam:$today",
       "$s: the undated one is dated today");
}

unlike($t->error_log, qr/bayes expiry stopped|\[(?:alert|crit|emerg)\]/,
       'no run failed');

done_testing;
