# The spam filter's Bayes counts in Redis (docs/redis-keys.md, "Spam
# filter"): "mailctl spam learn" from files, an mbox and a user's mailbox,
# learning twice counts once, learning as the other class moves the
# counts, "mailctl spam stats"; IMAP training: MOVE or COPY into Junk
# learns spam for the user, MOVE out of Junk learns ham, MOVE from Junk to
# Trash learns nothing, at most 100 messages a command; a message learnt
# by IMAP and again by mailctl from a file is recognised as the same.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use MailTest qw(free_port client send_line imap_line imap_cmd imap_until);

my $t = MailTest->new;
$t->start_redis;
my $imap = free_port();

$t->start_nginx(<<CONF, ports => [$imap]);
    server {
        listen 127.0.0.1:$imap;
        protocol imapd;
        imapd_auth_plaintext on;
    }
CONF

$t->mailctl('', 'domain', 'add', 'example.test');
$t->mailctl("Secret-1\n", 'user', 'add', 'demo@example.test');
$t->mailctl("Secret-1\n", 'user', 'add', 'imap@example.test');

my $dir = $t->dir;

# --- the corpus: two vocabularies, every message different -------------------

my @spam_words = qw(viagra casino lottery winner prize bitcoin pharmacy
                    discount unsubscribe guaranteed millions refinance);
my @ham_words = qw(meeting agenda project review quarterly minutes lunch
                   schedule deadline colleague budget conference);

sub message {
    my ($n, $words, $from, $subject) = @_;
    # every word of the vocabulary, in an order of the message's own
    my @w = map { $words->[($n * 7 + $_ * 5) % @$words] } 0 .. 11;
    my $tag = join '', map { chr(97 + ($n >> $_) % 26) } 0, 5, 10;
    return "From: $from\r\nTo: demo\@example.test\r\n"
         . "Subject: $subject $w[0] $w[1]\r\n"
         . "Message-ID: <$n.$w[2]\@example.org>\r\n\r\n"
         . "@w[3..11]\r\nnumber $n $tag\r\n";
}

sub write_file {
    my ($name, $content) = @_;
    open my $fh, '>', "$dir/$name" or die "$name: $!";
    binmode $fh;
    print $fh $content;
    close $fh;
    return "$dir/$name";
}

my (@spams, @hams);
for my $n (1 .. 25) {
    push @spams, write_file("spam$n.eml",
        message($n, \@spam_words, 'Winner <promo@bulk.example>', 'URGENT'));
    push @hams, write_file("ham$n.eml",
        message($n, \@ham_words, 'Alice <alice@example.org>', 'Re:'));
}

sub field_max {
    my ($key) = @_;
    my %h = split /\n/, $t->redis('HGETALL', $key);
    my ($max) = sort { $b <=> $a } values %h;
    return ($max || 0, scalar keys %h);
}

# --- mailctl spam learn: files, global scope ---------------------------------

my ($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', '--spam', @spams);
is($rc, 0, 'learn 25 spams') or diag $err;
is($out, "spam for global: 25 learnt, 0 moved from ham, 0 already learnt\n",
   'all 25 learnt');
is($t->redis('HGET', 'bayes:{global}', 'nspam'), 25, 'nspam 25');
my ($max, $nspam_tokens) = field_max('bayes:{global}:spam');
is($max, 25, 'a token in every spam counts 25');
ok($nspam_tokens > 20, "spam tokens stored ($nspam_tokens)");
like($t->redis('HKEYS', 'bayes:{global}:spam'), qr/\A(?:[0-9a-f]{16}\n?)+\z/,
     'token fields are 16 lower-case hex digits');
is($t->redis('HLEN', 'bayes:{global}:learnt'), 25, '25 digests remembered');
like($t->redis('HKEYS', 'bayes:{global}:learnt'),
     qr/\A(?:[0-9a-f]{32}\n?)+\z/, 'digests are 32 hex digits');

($rc, $out) = $t->mailctl('', 'spam', 'learn', '--spam', @spams);
is($out, "spam for global: 0 learnt, 0 moved from ham, 25 already learnt\n",
   'learning them again: already learnt');
is($t->redis('HGET', 'bayes:{global}', 'nspam'), 25, 'nspam still 25');
is((field_max('bayes:{global}:spam'))[0], 25, 'token counts unchanged');

($rc, $out) = $t->mailctl('', 'spam', 'learn', '--ham', @hams);
is($out, "ham for global: 25 learnt, 0 moved from spam, 0 already learnt\n",
   'learn 25 hams');
is($t->redis('HGET', 'bayes:{global}', 'nham'), 25, 'nham 25');
is((field_max('bayes:{global}:ham'))[0], 25, 'a token in every ham counts 25');

# a spam relearnt as ham: its counts move
($rc, $out) = $t->mailctl('', 'spam', 'learn', '--ham', $spams[0]);
is($out, "ham for global: 0 learnt, 1 moved from spam, 0 already learnt\n",
   'a spam relearnt as ham moves');
is($t->redis('HMGET', 'bayes:{global}', 'nspam', 'nham'), "24\n26",
   'nspam 24, nham 26');
is((field_max('bayes:{global}:spam'))[0], 24,
   'the spam tokens it had count one less');
($rc, $out) = $t->mailctl('', 'spam', 'learn', '--spam', $spams[0]);
is($out, "spam for global: 0 learnt, 1 moved from ham, 0 already learnt\n",
   'and back');
is($t->redis('HMGET', 'bayes:{global}', 'nspam', 'nham'), "25\n25",
   'nspam 25, nham 25 again');
is((field_max('bayes:{global}:spam'))[0], 25, 'token counts back');
is((field_max('bayes:{global}:ham'))[0], 25, 'ham counts back');

($rc, $out) = $t->mailctl('', 'spam', 'stats');
my ($nham_tokens) = (field_max('bayes:{global}:ham'))[1];
is($out, "scope: global\nnspam: 25\nnham: 25\nspam_tokens: $nspam_tokens\n"
         . "ham_tokens: $nham_tokens\nlearnt: 50\n", 'spam stats');

# standard input, and LF line ends: the same message
my $lf = message(1, \@ham_words, 'Alice <alice@example.org>', 'Re:');
$lf =~ s/\r\n/\n/g;
($rc, $out) = $t->mailctl($lf, 'spam', 'learn', '--ham', '-');
is($out, "ham for global: 0 learnt, 0 moved from spam, 1 already learnt\n",
   'stdin, LF line ends: recognised as learnt');

# --- usage errors ------------------------------------------------------------

($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', $spams[0]);
is($rc, 1, 'neither --spam nor --ham: usage error');
($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', '--spam', '--ham',
                                $spams[0]);
is($rc, 1, 'both: usage error');
($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', '--spam');
is($rc, 1, 'no message: usage error');
($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', '--spam', '--user',
                                'nobody@example.test', $spams[0]);
is($rc, 2, 'unknown user');
like($err, qr/unknown user "nobody\@example.test"/, '... said so');
($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', '--spam',
                                "$dir/missing.eml");
is($rc, 2, 'missing file');

# --- an mbox, user scope -----------------------------------------------------

my @mbox_msgs;
for my $n (1 .. 3) {
    my $m = message($n, \@ham_words, 'Alice <alice@example.org>', 'Re:');
    $m =~ s/\r\n/\n/g;
    $m .= "From the desk of Alice\n>From here on, quoted\n" if $n == 2;
    push @mbox_msgs, $m;
}
# mboxrd: one more '>' before a body line that starts so
my $mbox = join '', map {
    (my $e = $_) =~ s/^(>*From )/>$1/mg;
    "From alice\@example.org Mon Nov 23 10:00:00 2026\n$e\n";
} @mbox_msgs;
like($mbox, qr/^>From the desk of Alice\n>>From here on/m,
     'the mbox is escaped');
write_file('ham.mbox', $mbox);
($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', '--ham', '--user',
                                'Demo@Example.test', '--mbox', "$dir/ham.mbox");
is($rc, 0, 'learn an mbox for a user') or diag $err;
is($out, "ham for demo\@example.test: 3 learnt, 0 moved from spam, "
         . "0 already learnt\n", 'three messages, the address lowercased');
is($t->redis('HMGET', 'bayes:{demo@example.test}', 'nspam', 'nham'), "\n3",
   'the user scope: nham 3');

# the second message as a file: the same message once unescaped
my $second = $mbox_msgs[1];
write_file('second.eml', $second);
($rc, $out) = $t->mailctl('', 'spam', 'learn', '--ham', '--user',
                          'demo@example.test', "$dir/second.eml");
is($out, "ham for demo\@example.test: 0 learnt, 0 moved from spam, "
         . "1 already learnt\n", 'an mbox message unescaped: the same');

($rc, $out) = $t->mailctl('', 'spam', 'stats', '--user', 'demo@example.test');
like($out, qr/\Ascope: demo\@example.test\nnspam: 0\nnham: 3\n/,
     'stats of the user');

# --- IMAP training -----------------------------------------------------------

my $u = 'imap@example.test';

sub log_count {
    my ($re) = @_;
    my @m = $t->error_log =~ /$re/g;
    return scalar @m;
}

# waits until the log has $n lines matching $re
sub wait_log {
    my ($re, $n) = @_;
    my $deadline = time + 10;
    while (time < $deadline) {
        return 1 if log_count($re) >= $n;
        sleep 0.05;
    }
    diag $t->error_log;
    return 0;
}

sub user_counts {
    my $r = $t->redis('HMGET', "bayes:{$u}", 'nspam', 'nham');
    my ($s, $h) = split /\n/, $r, -1;
    return sprintf "%d/%d", $s || 0, $h || 0;
}

my $s = client($imap);
imap_line($s);
like(imap_cmd($s, "a0 LOGIN $u Secret-1"), qr/^a0 OK/m, 'IMAP login');

my $junk = message(40, \@spam_words, 'Winner <promo@bulk.example>', 'URGENT');
my $len = length $junk;
print $s "a1 APPEND INBOX {$len+}\r\n$junk\r\n";
like(imap_until($s, 'a1'), qr/^a1 OK/m, 'a spam in INBOX');
like(imap_cmd($s, 'a2 SELECT INBOX'), qr/^a2 OK/m, 'SELECT INBOX');

my $spam_re = qr/imap: 1 of 1 messages learnt as spam for "\Q$u\E", 0 failed/;
my $ham_re = qr/imap: 1 of 1 messages learnt as ham for "\Q$u\E", 0 failed/;

like(imap_cmd($s, 'a3 MOVE 1 Junk'), qr/^a3 OK MOVE completed/m,
     'MOVE to Junk');
ok(wait_log($spam_re, 1), 'learnt as spam: logged');
is(user_counts(), '1/0', 'the user scope: nspam 1');
is($t->redis('HGET', 'bayes:{global}', 'nspam'), 25, 'global untouched');

like(imap_cmd($s, 'a4 SELECT Junk'), qr/^a4 OK/m, 'SELECT Junk');
like(imap_cmd($s, 'a5 MOVE 1 INBOX'), qr/^a5 OK MOVE completed/m,
     'MOVE back to INBOX');
ok(wait_log($ham_re, 1), 'learnt as ham: logged');
is(user_counts(), '0/1', 'the counts moved: nspam 0, nham 1');
is($t->redis('HLEN', "bayes:{$u}:learnt"), 1, 'one message remembered');
is($t->redis('HLEN', "bayes:{$u}:spam"), 0,
   'no spam counts left: fields at zero are deleted');
cmp_ok($t->redis('HLEN', "bayes:{$u}:ham"), '>', 10, 'ham tokens counted');
is($t->redis('HLEN', "bayes:{$u}:age"), $t->redis('HLEN', "bayes:{$u}:ham"),
   'IMAP learning dated every token it counted');

# the same message as a file (LF): recognised
(my $junk_lf = $junk) =~ s/\r\n/\n/g;
write_file('junk.eml', $junk_lf);
($rc, $out) = $t->mailctl('', 'spam', 'learn', '--ham', '--user', $u,
                          "$dir/junk.eml");
is($out, "ham for $u: 0 learnt, 0 moved from spam, 1 already learnt\n",
   'mailctl recognises the message IMAP learnt');

# COPY into Junk learns too
like(imap_cmd($s, 'a6 SELECT INBOX'), qr/^a6 OK/m, 'SELECT INBOX');
like(imap_cmd($s, 'a7 COPY 1 Junk'), qr/^a7 OK \[COPYUID/m, 'COPY to Junk');
ok(wait_log($spam_re, 2), 'COPY: learnt as spam');
is(user_counts(), '1/0', 'nspam 1, nham 0');

# from Junk to Trash: nothing learnt
like(imap_cmd($s, 'a8 SELECT Junk'), qr/^a8 OK/m, 'SELECT Junk');
like(imap_cmd($s, 'a9 MOVE 1 Trash'), qr/^a9 OK MOVE completed/m,
     'MOVE Junk to Trash');
# a COPY between other mailboxes comes after it on the same Redis link
like(imap_cmd($s, 'a10 SELECT INBOX'), qr/^a10 OK/m, 'SELECT INBOX');
like(imap_cmd($s, 'a11 COPY 1 Archive'), qr/^a11 OK/m, 'COPY to Archive');
# then one that learns: had either learnt, its line would come first
like(imap_cmd($s, 'a11b COPY 1 Junk'), qr/^a11b OK/m, 'COPY to Junk again');
ok(wait_log($spam_re, 3), 'learnt (already) as spam');
is(log_count(qr/messages learnt as/), 4,
   'Trash, Archive: nothing learnt before it');
is(user_counts(), '1/0', 'counts unchanged');

# at most 100 messages a command
my $batch = '';
for my $n (101 .. 205) {
    my $m = message($n, \@spam_words, 'Winner <promo@bulk.example>', 'URGENT');
    my $l = length $m;
    $batch .= "b$n APPEND Archive {$l+}\r\n$m\r\n";
}
print $s $batch;
my $r = imap_until($s, 'b205');
like($r, qr/^b205 OK/m, '105 messages in Archive');
like(imap_cmd($s, 'a12 SELECT Archive'), qr/^\* 106 EXISTS/m,
     'SELECT Archive: 106');
like(imap_cmd($s, 'a13 MOVE 1:* Junk'), qr/^a13 OK MOVE completed/m,
     'MOVE all 106 to Junk');
ok(wait_log(qr/imap: 100 of 100 messages learnt as spam for "\Q$u\E", 0 f/,
            1), 'the first 100 learnt');
is(user_counts(), '100/0', 'nspam 100: 99 new, the first learnt before');

# --- a user's mailbox by mailctl ---------------------------------------------

($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', '--spam', '--user', $u,
                                '--folder', "$u:Junk");
is($rc, 0, 'learn --folder') or diag $err;
is($out, "spam for $u: 6 learnt, 0 moved from ham, 101 already learnt\n",
   'the 6 the command left, the 101 already learnt');
is(user_counts(), '106/0', 'nspam 106');
($rc, $out, $err) = $t->mailctl('', 'spam', 'learn', '--spam',
                                '--folder', "$u:Nope");
is($rc, 2, 'an unknown mailbox');

close $s;

done_testing;
