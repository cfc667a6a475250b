# Expiry of the Bayes counts (docs/redis-keys.md, "Spam filter";
# docs/mailctl.md, "spam expire"): learning dates every token it counts
# with Redis's day; "mailctl spam expire" forgets the tokens last learnt
# before --days ago that were seen in at most --max-count messages, and
# the dates of tokens whose counts are gone; it dates the tokens learnt
# before dates were kept, keeps everything else untouched, walks one
# scope, a user's or every one (--all).  Deleting a user deletes the
# user's counts.  Learning dates the message's digest too, and expiry
# forgets the digests of messages not learnt for --days: such a message,
# learnt again, counts again; a digest of before dates (no day) learns as
# its class and is dated by the first expiry.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest;

my $t = MailTest->new;
$t->start_redis;

$t->mailctl('', 'domain', 'add', 'example.test');
$t->mailctl("Secret-1\n", 'user', 'add', 'demo@example.test');

my $dir = $t->dir;

# every message has the common words of its class, a word of its own
# (seen once: a hapax) and a word it shares with one other message; the
# first spam has 3000 words of its own more, so that the hashes are more
# than the 1000 fields of one step of the walk
my @spam_words = qw(viagra casino lottery winner prize bitcoin);
my @ham_words = qw(meeting agenda project review quarterly minutes);

sub message {
    my ($n, $class, $words) = @_;
    my $own = "own" . join '', map { chr(97 + ($n >> $_) % 26) } 0, 5;
    my $pair = "pair" . chr(97 + int($n / 2));
    my $file = "$dir/$class$n.eml";
    open my $fh, '>', $file or die "$file: $!";
    my $many = ($n == 1 && $class eq 'spam')
               ? join(' ', map { sprintf "many%04d", $_ } 1 .. 3000) : '';
    print $fh "From: someone\@example.org\r\nSubject: $class number\r\n\r\n"
            . "@$words ${own}x$class $pair$class\r\n$many\r\n";
    close $fh;
    return $file;
}

my @spams = map { message($_, 'spam', \@spam_words) } 1 .. 6;
my @hams = map { message($_, 'ham', \@ham_words) } 1 .. 6;

my ($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', '--spam', @spams);
is($rc, 0, 'six spams learnt') or diag $err;
($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', '--ham', @hams);
is($rc, 0, 'six hams learnt') or diag $err;

my $g = 'bayes:{global}';

sub hash_of {
    my ($key) = @_;
    return { split /\n/, $t->redis('HGETALL', $key) };
}

my $today = int((split /\n/, $t->redis('TIME'))[0] / 86400);
my $spam = hash_of("$g:spam");
my $ham = hash_of("$g:ham");
my $age = hash_of("$g:age");
my %tokens = map { $_ => 1 } keys %$spam, keys %$ham;

cmp_ok(scalar keys %tokens, '>', 3000, 'tokens counted');
is_deeply([sort keys %$age], [sort keys %tokens],
          'learning dated every token it counted');
is_deeply([grep { $age->{$_} != $today } keys %$age], [],
          "... with today's day, $today");

# --- nothing is old yet ------------------------------------------------------

($rc, $out, $err) = $t->mailctl('', 'spam', 'expire');
is($rc, 0, 'expire') or diag $err;
my $n = keys %tokens;
is($out, "global: 0 tokens forgotten, $n kept, 0 dated now; "
         . "0 digests forgotten, 12 kept\n",
   'nothing forgotten: every token and message learnt today');
is_deeply(hash_of("$g:spam"), $spam, 'spam counts untouched');
is_deeply(hash_of("$g:ham"), $ham, 'ham counts untouched');

# --- age the counts ----------------------------------------------------------

# every date 100 days back, but for one hapax learnt "lately" (30 days);
# one token loses its date, as if learnt by an older version; one date
# is left of a token whose counts are gone
my @hapax = sort grep { ($spam->{$_} // 0) + ($ham->{$_} // 0) == 1 }
                 keys %tokens;
cmp_ok(scalar @hapax, '>=', 3012, 'hapaxes: each message has its own word');
my ($recent, $undated, @old_hapax) = @hapax;
sub date_all {
    my ($key, $day) = @_;
    $t->redis('EVAL', "for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do "
                    . "redis.call('HSET', KEYS[1], f, ARGV[1]) end",
              1, $key, $day);
}
date_all("$g:age", $today - 100);
$t->redis('HSET', "$g:age", $recent, $today - 30);
$t->redis('HDEL', "$g:age", $undated);
$t->redis('HSET', "$g:age", 'ffffffffffffffff', $today);

($rc, $out, $err) = $t->mailctl('', 'spam', 'expire', '--days', 'x');
is($rc, 1, '--days x: usage error');
like($err, qr/--days: "x" is not a number/, '... said so');
($rc, $out, $err) = $t->mailctl('', 'spam', 'expire', '--max-count', '-1');
is($rc, 1, '--max-count -1: usage error');
like($err, qr/--max-count: "-1" is not a number/, '... said so');
($rc, $out, $err) = $t->mailctl('', 'spam', 'expire', '--days', '+5');
is($rc, 1, '--days +5: usage error');
($rc, $out, $err) = $t->mailctl('', 'spam', 'expire', '--all', '--user',
                                'demo@example.test');
is($rc, 1, '--all with --user: usage error');

# --max-count 0: only the date with no counts goes
($rc, $out, $err) = $t->mailctl('', 'spam', 'expire', '--max-count', '0');
is($rc, 0, 'expire --max-count 0') or diag $err;
is($out, "global: 1 tokens forgotten, $n kept, 1 dated now; "
         . "0 digests forgotten, 12 kept\n",
   'the orphan date forgotten, the undated token dated');
is($t->redis('HGET', "$g:age", $undated), $today, 'dated today');
is($t->redis('HEXISTS', "$g:age", 'ffffffffffffffff'), 0, 'orphan gone');

# the defaults: 90 days, count 1
my $forget = @old_hapax;
my $kept = $n - $forget;
($rc, $out, $err) = $t->mailctl('', 'spam', 'expire');
is($rc, 0, 'expire, defaults') or diag $err;
is($out, "global: $forget tokens forgotten, $kept kept, 0 dated now; "
         . "0 digests forgotten, 12 kept\n",
   'the old hapaxes forgotten');

my $spam2 = hash_of("$g:spam");
my $ham2 = hash_of("$g:ham");
my $age2 = hash_of("$g:age");
is_deeply([grep { exists $spam2->{$_} || exists $ham2->{$_}
                  || exists $age2->{$_} } @old_hapax], [],
          'an old hapax is gone from the counts and the dates');
my %left = map { $_ => 1 } keys %$spam2, keys %$ham2;
ok($left{$recent}, 'a hapax learnt 30 days ago is kept');
ok($left{$undated}, 'a hapax dated just now is kept');
my @common = grep { ($spam->{$_} // 0) + ($ham->{$_} // 0) > 1 }
             keys %tokens;
is_deeply([grep { ($spam2->{$_} // 0) != ($spam->{$_} // 0)
                  || ($ham2->{$_} // 0) != ($ham->{$_} // 0) } @common], [],
          'tokens seen twice or more keep their counts');
is($t->redis('HMGET', $g, 'nspam', 'nham'), "6\n6",
   'the message counts stay');
is($t->redis('HLEN', "$g:learnt"), 12, 'the digests stay');

# a higher count and fewer days forget the pairs and the recent hapax
($rc, $out) = $t->mailctl('', 'spam', 'expire', '--max-count', '2',
                          '--days', '20');
my @pairs = grep { ($spam->{$_} // 0) + ($ham->{$_} // 0) == 2 } @common;
cmp_ok(scalar @pairs, '>', 0, 'tokens seen twice');
my $left = $kept - @pairs - 1;
is($out, "global: " . (@pairs + 1) . " tokens forgotten, $left kept, "
         . "0 dated now; 0 digests forgotten, 12 kept\n",
   '--max-count 2 --days 20: those forgotten');
ok(!$t->redis('HEXISTS', "$g:age", $recent), 'the recent hapax too');

# relearning a message some of whose tokens were forgotten
($rc, $out) = $t->mailctl('', 'spam', 'learn', '--ham', $spams[0]);
is($out, "ham for global: 0 learnt, 1 moved from spam, 0 already learnt\n",
   'a spam relearnt as ham');
my $spam3 = hash_of("$g:spam");
my $ham3 = hash_of("$g:ham");
my $age3 = hash_of("$g:age");
is_deeply([grep { $_ <= 0 } values %$spam3, values %$ham3], [],
          'no count at or below zero after moving forgotten tokens');
is_deeply([grep { !exists $age3->{$_} } keys %$spam3, keys %$ham3], [],
          'every counted token has a date');
is(scalar(grep { $age3->{$_} == $today } keys %$ham3) > 0
   && !grep({ $ham3->{$_} == 1 && $age3->{$_} != $today } keys %$ham3), 1,
   'the tokens the learning counted are dated today');
is($t->redis('HMGET', $g, 'nspam', 'nham'), "5\n7", 'nspam 5, nham 7');

# --- a user's scope, every scope ---------------------------------------------

my $u = 'demo@example.test';
($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', '--spam', '--user', $u,
                                @spams[0 .. 1]);
is($rc, 0, 'two spams for the user') or diag $err;
my $uspam = hash_of("bayes:{$u}:spam");
my @uhapax = grep { $uspam->{$_} == 1 } keys %$uspam;
cmp_ok(scalar @uhapax, '>', 3000, 'the user has hapaxes');
date_all("bayes:{$u}:age", $today - 365);

($rc, $out, $err) = $t->mailctl('', 'spam', 'expire', '--user',
                                'nobody@example.test');
is($rc, 2, 'unknown user');

my $gkept = $t->redis('HLEN', "$g:age");
($rc, $out, $err) = $t->mailctl('', 'spam', 'expire', '--all');
is($rc, 0, 'expire --all') or diag $err;
my @lines = sort split /\n/, $out;
my $ukept = keys(%$uspam) - @uhapax;
is_deeply(\@lines, ["$u: " . @uhapax . " tokens forgotten, $ukept kept, "
                    . "0 dated now; 0 digests forgotten, 2 kept",
                    "global: 0 tokens forgotten, $gkept kept, "
                    . "0 dated now; 0 digests forgotten, 12 kept"],
          'both scopes walked: the user\'s old hapaxes forgotten');
is($t->redis('HEXISTS', "bayes:{$u}:spam", $uhapax[0]), 0,
   'a hapax of the user is gone');
is($t->redis('HLEN', "bayes:{$u}:spam"), $ukept, 'the user keeps the rest');

# a Redis with a password: the command logs in once and walks
$t->redis('CONFIG', 'SET', 'requirepass', 'expire-pw');
{
    local $ENV{REDIS_PASSWORD} = 'expire-pw';
    ($rc, $out, $err) = $t->mailctl('', 'spam', 'expire', '--user', $u);
}
system('redis-cli', '-p', $t->{redis_port}, '-a', 'expire-pw',
       '--no-auth-warning', 'CONFIG', 'SET', 'requirepass', '') == 0
    or BAIL_OUT('cannot reset the Redis password');
is($rc, 0, 'expire --user with a Redis password') or diag $err;
is($out, "$u: 0 tokens forgotten, $ukept kept, 0 dated now; "
         . "0 digests forgotten, 2 kept\n",
   '... walked the user\'s scope');

# --- deleting the user deletes the user's counts -----------------------------

($rc, $out, $err) = $t->mailctl('', 'user', 'del', $u);
is($rc, 0, 'user deleted') or diag $err;
is($t->redis('KEYS', "bayes:{$u}*"), '', "no bayes key of the user is left");
is($t->redis('HGET', $g, 'nspam'), 5, 'the global counts stay');

# --- digests -----------------------------------------------------------------

# every message learnt: its digest, "class:day"
my $learnt = hash_of("$g:learnt");
is_deeply([sort values %$learnt],
          [(("ham:$today") x 7), (("spam:$today") x 5)],
          'each digest: the class and the day it was learnt');

# messages learnt one by one, to know each one's digest
my %digest;
sub learn {
    my ($class, $file) = @_;
    my %before = map { $_ => 1 } split /\n/, $t->redis('HKEYS', "$g:learnt");
    my ($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', "--$class",
                                       $file);
    die "learn: $err" if $rc;
    my ($new) = grep { !$before{$_} } split /\n/,
                     $t->redis('HKEYS', "$g:learnt");
    $digest{$file} //= $new;
    return $out;
}
sub learnt { return $t->redis('HGET', "$g:learnt", $digest{$_[0]}) }
sub counts { return join ' ', split /\n/, $t->redis('HMGET', $g, 'nspam',
                                                    'nham') }

my ($old, $recent_msg, $refreshed, $undated_same, $undated_flip,
    $undated_kept) = map { message($_, 'spam', \@spam_words) } 21 .. 26;
learn(spam => $_) for $old, $recent_msg, $refreshed, $undated_same,
                      $undated_flip, $undated_kept;
is(scalar(grep { defined $digest{$_} } keys %digest), 6,
   'six more messages, six more digests');
is(learnt($old), "spam:$today", 'a spam learnt today: "spam:' . $today . '"');

$t->redis('HSET', "$g:learnt", $digest{$old}, "spam:" . ($today - 100),
          $digest{$recent_msg}, "spam:" . ($today - 30),
          $digest{$refreshed}, "spam:" . ($today - 100),
          $digest{$undated_same}, 'spam', $digest{$undated_flip}, 'spam',
          $digest{$undated_kept}, 'ham');

# relearnt before expiry: counted once still, and dated anew
my $before = counts();
is(learn(spam => $refreshed),
   "spam for global: 0 learnt, 0 moved from ham, 1 already learnt\n",
   'a message learnt 100 days ago, again as spam: already learnt');
is(counts(), $before, '... the counts unchanged');
is(learnt($refreshed), "spam:$today", '... its digest dated today');

# a digest of before dates: its class still counts
is(learn(spam => $undated_same),
   "spam for global: 0 learnt, 0 moved from ham, 1 already learnt\n",
   'an undated "spam" digest, learnt as spam: already learnt');
is(learnt($undated_same), "spam:$today", '... and dated');
my ($nspam, $nham) = split / /, counts();
is(learn(ham => $undated_flip),
   "ham for global: 0 learnt, 1 moved from spam, 0 already learnt\n",
   'an undated "spam" digest, learnt as ham: moved');
is(counts(), ($nspam - 1) . ' ' . ($nham + 1), '... the counts moved');
is(learnt($undated_flip), "ham:$today", '... the digest says ham, today');

# thousands more, so that the walk of the digests takes several steps
$t->redis('EVAL', "for i = 1, 2500 do redis.call('HSET', KEYS[1], "
                . "string.format('%032x', i), 'spam:' .. ARGV[1], "
                . "string.format('%032x', i + 1000000), 'ham:' .. ARGV[2]) "
                . "end", 1, "$g:learnt", $today - 91, $today - 89);
my $remembered = $t->redis('HLEN', "$g:learnt");

($rc, $out, $err) = $t->mailctl('', 'spam', 'expire');
is($rc, 0, 'expire') or diag $err;
my $digests_kept = $remembered - 2501;
my ($tokens_said, $digests_said) = split /; /, $out;
like($tokens_said, qr/^global: \d+ tokens forgotten, \d+ kept, 0 dated now$/,
     'the tokens as before');
is($digests_said, "2501 digests forgotten, $digests_kept kept\n",
   'the 2501 digests learnt 91 and 100 days ago forgotten');
is($t->redis('HLEN', "$g:learnt"), $digests_kept, '... the rest kept');
my $left_over = hash_of("$g:learnt");
ok(!exists $left_over->{ $digest{$old} }, 'the old digest is gone');
ok(!exists $left_over->{ sprintf '%032x', 1 }, 'so is one of 91 days');
is($left_over->{ sprintf '%032x', 1000001 }, 'ham:' . ($today - 89),
   'one of 89 days stays');
is(learnt($recent_msg), 'spam:' . ($today - 30),
   'one learnt 30 days ago stays, its day untouched');
is(learnt($refreshed), "spam:$today", 'the one learnt again stays');
is(learnt($undated_kept), "ham:$today",
   'an undated digest is dated today, not forgotten');
is_deeply([grep { !/^(?:spam|ham):\d+$/ } values %$left_over], [],
          'every digest left has its day');

# learnt again after its digest was forgotten: a new message
$before = counts();
is(learn(spam => $old),
   "spam for global: 1 learnt, 0 moved from ham, 0 already learnt\n",
   'the message whose digest was forgotten, again: learnt');
($nspam, $nham) = split / /, $before;
is(counts(), ($nspam + 1) . " $nham", '... and counted again');
is(learn(spam => $recent_msg),
   "spam for global: 0 learnt, 0 moved from ham, 1 already learnt\n",
   'the one whose digest was kept: already learnt');
is(counts(), ($nspam + 1) . " $nham", '... not counted again');

($rc, $out) = $t->mailctl('', 'spam', 'stats');
like($out, qr/^learnt: @{[ $digests_kept + 1 ]}$/m,
     'stats: the messages remembered');

# a learning that fails half way (a count Redis cannot add to) leaves no
# digest: the message is not "learnt already" with nothing counted
my $broken = message(27, 'spam', \@spam_words);
my $fields = $t->redis('EVAL', "local f = redis.call('HKEYS', KEYS[1]) "
                     . "for _, k in ipairs(f) do "
                     . "redis.call('HSET', KEYS[1], k, 'x') end "
                     . "return #f", 1, "$g:spam");
my $learnt_before = $t->redis('HLEN', "$g:learnt");
($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', '--spam', $broken);
isnt($rc, 0, 'a learning whose counts fail is an error') or diag $out;
is($t->redis('HLEN', "$g:learnt"), $learnt_before,
   '... and leaves no digest behind');
$t->redis('EVAL', "for _, k in ipairs(redis.call('HKEYS', KEYS[1])) do "
                . "redis.call('HSET', KEYS[1], k, 1) end", 1, "$g:spam");
($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', '--spam', $broken);
is($out, "spam for global: 1 learnt, 0 moved from ham, 0 already learnt\n",
   'learnt again once Redis can count: learnt, not "already learnt"')
    or diag $err;

done_testing;
