# The spam filter in the SMTP path, end to end: messages trained as spam
# (mailctl spam learn) are filed into Junk with X-Spam-* fields, hams go
# to the INBOX, a user's own reject score refuses at the end of the data
# with 550 5.7.1 (no bounce), authenticated submission is not filtered,
# and each message gets one log line with every check's verdict.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64 qw(encode_base64);
use MailTest qw(free_port client send_line reply_of smtp_cmd);

my $t = MailTest->new;
$t->start_redis;
my ($mx, $sub, $mx9) = (free_port(), free_port(), free_port());
$t->start_nginx(<<CONF, ports => [$mx, $sub, $mx9]);
    spam_spf off;
    server {
        listen 127.0.0.1:$mx;
        protocol smtpd;
        spam on;
        spam_junk_score 5;
    }
    server {
        listen 127.0.0.1:$sub;
        protocol smtpd;
        smtpd_role submission;
        smtpd_auth_plaintext on;
        spam on;
    }
    server {
        listen 127.0.0.1:$mx9;
        protocol smtpd;
        spam on;
        spam_junk_score 9;
    }
CONF

for my $u (qw(demo strict)) {
    my ($rc, $out, $err) = $t->mailctl("Secret-1\n", 'user', 'add',
                                       "$u\@example.test");
    die "user add: $err" if $rc && $err !~ /domain/;
    if ($rc) {
        $t->mailctl(undef, 'domain', 'add', 'example.test');
        ($rc, $out, $err) = $t->mailctl("Secret-1\n", 'user', 'add',
                                        "$u\@example.test");
        die "user add: $err" if $rc;
    }
}

# a small corpus with two clear vocabularies
my @spamwords = qw(viagra casino jackpot winner lottery pharmacy discount
                   bitcoin investment guaranteed prize cheap pills bonus);
my @hamwords = qw(meeting agenda project review schedule minutes report
                  lunch budget quarterly colleague draft deadline notes);
sub text {
    my ($words, $n, $seed) = @_;
    srand($seed);
    return join(' ', map { $words->[int rand @$words] } 1 .. $n);
}
sub message {
    my ($subject, $body) = @_;
    return "From: someone\@sender.example\r\nTo: demo\@example.test\r\n"
         . "Subject: $subject\r\nMessage-ID: <$subject\@sender.example>"
         . "\r\n\r\n$body\r\n";
}

my $dir = $t->dir;
my (@spam, @ham);
for my $i (1 .. 30) {
    for ([\@spam, 's', \@spamwords], [\@ham, 'h', \@hamwords]) {
        my ($list, $tag, $words) = @$_;
        my $f = "$dir/$tag$i.eml";
        open my $fh, '>', $f or die;
        print $fh message("$tag$i", text($words, 40, $i));
        close $fh;
        push @$list, $f;
    }
}
my ($rc, $out, $err) = $t->mailctl(undef, 'spam', 'learn', '--spam', @spam);
is($rc, 0, 'mailctl spam learn --spam') or diag $err;
($rc, $out, $err) = $t->mailctl(undef, 'spam', 'learn', '--ham', @ham);
is($rc, 0, 'mailctl spam learn --ham') or diag $err;
is($t->redis('HGET', 'bayes:{global}', 'nspam'), 30, '30 spams learnt');

# one message over an MX port ($mx unless given); returns the reply to
# the data
sub mx_send {
    my ($rcpts, $content, $port) = @_;
    my $s = client($port // $mx);
    reply_of($s);
    smtp_cmd($s, 'EHLO sender.example');
    smtp_cmd($s, 'MAIL FROM:<someone@sender.example>');
    for (@$rcpts) {
        my $r = smtp_cmd($s, "RCPT TO:<$_>");
        die "RCPT: $r" unless $r =~ /^250/;
    }
    smtp_cmd($s, 'DATA');
    print $s $content, ".\r\n";
    my $r = reply_of($s);
    smtp_cmd($s, 'QUIT');
    return $r;
}

# the last message of a user's mailbox by name, as stored
sub last_in {
    my ($user, $name) = @_;
    my $id = $t->redis('HGET', "mailboxes:{$user}", $name);
    return '' unless length $id;
    my $uid = $t->redis('ZRANGE', "mailbox:{$user}:$id:uids", -1, -1);
    return '' unless length $uid;
    my $blob = $t->redis('HGET', "msg:{$user}:$id:$uid", 'blob');
    return $t->redis('GET', "blob:{$blob}");
}
sub count_in {
    my ($user, $name) = @_;
    my $id = $t->redis('HGET', "mailboxes:{$user}", $name);
    return $t->redis('HGET', "mailbox:{$user}:$id", 'messages') || 0;
}

my $r = mx_send(['demo@example.test'],
                message('fresh-spam', text(\@spamwords, 40, 1001)));
like($r, qr/^250/, 'spam accepted (no reject score set)');
my $m = last_in('demo@example.test', 'Junk');
like($m, qr/Subject: fresh-spam/, 'filed into Junk');
like($m, qr/^X-Spam-Status: Yes, score=\d+\.\d required=5\.0 tests=.*BAYES_9\d/m,
     'X-Spam-Status: Yes, with the Bayes test');
# the default Bayes weight: a sure spam scores junk / (2 * 0.95 - 1)
like($m, qr/^X-Spam-Score: 5\.[56]\r$/m,
     'X-Spam-Score: 5.5 or 5.6, the default Bayes weight for junk score 5');
like($m, qr/\AReturn-Path: <someone\@sender\.example>\r\nX-Spam-Score: /,
     'Return-Path first, then the filter\'s fields');
is(count_in('demo@example.test', 'INBOX'), 0, 'not in the INBOX');

# the weight follows the junk score: Bayes alone still files a sure spam
$r = mx_send(['demo@example.test'],
             message('junk-nine', text(\@spamwords, 40, 1002)), $mx9);
like($r, qr/^250/, 'junk score 9: spam accepted');
$m = last_in('demo@example.test', 'Junk');
like($m, qr/Subject: junk-nine/, 'junk score 9: filed into Junk by Bayes alone');
like($m, qr/^X-Spam-Status: Yes, score=(?:9\.9|10\.0) required=9\.0 /m,
     'score 9.9 or 10.0: the Bayes weight is 9 / (2 * 0.95 - 1)');

$r = mx_send(['demo@example.test'],
             message('fresh-ham', text(\@hamwords, 40, 2002)));
like($r, qr/^250/, 'ham accepted');
$m = last_in('demo@example.test', 'INBOX');
like($m, qr/Subject: fresh-ham/, 'ham filed into the INBOX');
like($m, qr/^X-Spam-Status: No, score=-\d+\.\d/m, 'X-Spam-Status: No');

# a user's own reject score: the message is refused, not bounced later
$t->redis('HSET', 'user:{strict@example.test}', 'spam_reject_score', 4);
$r = mx_send(['strict@example.test'],
             message('refused-spam', text(\@spamwords, 40, 3003)));
like($r, qr/^550 5\.7\.1 /, 'over the reject score: 550 5.7.1');
is(count_in('strict@example.test', 'Junk')
   + count_in('strict@example.test', 'INBOX'), 0, 'nothing stored');
is($t->redis('KEYS', 'spool:*'), '', 'the spool is gone');

# two recipients, one would refuse: the message is taken, both get Junk
$r = mx_send(['strict@example.test', 'demo@example.test'],
             message('shared-spam', text(\@spamwords, 40, 4004)));
like($r, qr/^250/, 'one recipient would refuse, the other takes it');
like(last_in('strict@example.test', 'Junk'), qr/shared-spam/,
     'the strict one gets it in Junk');
like(last_in('demo@example.test', 'Junk'), qr/shared-spam/,
     'the other too, by score');

# a user's own junk score: higher than the score, the spam stays in the
# INBOX, while the other recipient (the directive's 5) gets it in Junk
$t->add_user('lenient@example.test', 'Secret-1');
$t->redis('HSET', 'user:{lenient@example.test}', 'spam_junk_score', 50);
$r = mx_send(['lenient@example.test', 'demo@example.test'],
             message('lenient-spam', text(\@spamwords, 40, 7007)));
like($r, qr/^250/, 'a user with junk score 50: accepted');
like(last_in('lenient@example.test', 'INBOX'), qr/Subject: lenient-spam/,
     'junk score 50: the spam stays in the INBOX');
is(count_in('lenient@example.test', 'Junk'), 0, 'and not in Junk');
like(last_in('demo@example.test', 'Junk'), qr/Subject: lenient-spam/,
     'the other recipient, junk score 5: Junk');

# a user's own Bayes counts take over from the global ones once the user
# has learnt spam_bayes_min_learned (20) of each class: this user calls
# the global spam vocabulary ham and the ham vocabulary spam
$t->add_user('own@example.test', 'Secret-1');
sub learn_for {
    my ($user, $class, @files) = @_;
    my ($rc, $out, $err) = $t->mailctl(undef, 'spam', 'learn', "--$class",
                                       '--user', $user, @files);
    die "learn: $err" if $rc;
}
learn_for('own@example.test', 'spam', @ham[0 .. 18]);
learn_for('own@example.test', 'ham', @spam[0 .. 18]);
$r = mx_send(['own@example.test'],
             message('own-before', text(\@spamwords, 40, 8008)));
like(last_in('own@example.test', 'Junk'), qr/Subject: own-before/,
     '19 learnt of each: the global counts judge (Junk)');
learn_for('own@example.test', 'spam', $ham[19]);
learn_for('own@example.test', 'ham', $spam[19]);
is($t->redis('HGET', 'bayes:{own@example.test}', 'nspam'), 20,
   'the user has learnt 20 spams');
$r = mx_send(['own@example.test', 'demo@example.test'],
             message('own-after', text(\@spamwords, 40, 9009)));
like(last_in('own@example.test', 'INBOX'), qr/Subject: own-after/,
     '20 learnt of each: the user\'s counts judge (INBOX)');
like(last_in('demo@example.test', 'Junk'), qr/Subject: own-after/,
     'the same message, global counts: Junk');
$r = mx_send(['own@example.test'],
             message('own-ham', text(\@hamwords, 40, 9010)));
like(last_in('own@example.test', 'Junk'), qr/Subject: own-ham/,
     'and the user\'s "spam" words go to the user\'s Junk');
like($t->error_log,
     qr/spam: \w+ from=<someone\@sender\.example> .* bayes=own\@example\.test:0\.0\d+,demo\@example\.test:(?:0\.9\d+|1\.000)/,
     'the log line gives each recipient\'s probability');

# more recipients than are classified one by one (16): the rest follow
# the first one's score
my @many = map { "u$_\@example.test" } 1 .. 18;
$t->add_user($_, 'Secret-1') for @many;
# what the server asks Redis meanwhile, seen by MONITOR
my $mpid = open(my $mon, '-|', 'redis-cli', '-p', $t->redis_port, 'MONITOR')
    or die "redis-cli MONITOR: $!";
<$mon>;    # "OK" once it is on
$r = mx_send(\@many, message('many-spam', text(\@spamwords, 40, 6006)));
like($r, qr/^250/, '18 recipients: accepted');
is(scalar(grep { last_in($_, 'Junk') =~ /many-spam/ } @many), 18,
   'all 18 get it in Junk, the last two by the first one\'s score');
kill 'TERM', $mpid;
my @seen = <$mon>;
close $mon;
is(scalar(grep { /"HMGET" "bayes:\{global\}:spam"/ } @seen), 1,
   'the global counts are looked up once for all recipients');
is(scalar(grep { /"HMGET" "bayes:\{u\d+\@example\.test\}" "nspam"/ } @seen),
   16, 'each classified recipient\'s message counts once');
is(scalar(grep { /"HMGET" "bayes:\{u\d+\@example\.test\}:(?:spam|ham)"/ }
              @seen),
   0, 'and no token counts of those who have learnt too little to judge');

# authenticated submission skips the filter
my $s = client($sub);
reply_of($s);
smtp_cmd($s, 'EHLO me');
smtp_cmd($s, 'AUTH PLAIN ' . encode_base64("\0demo\@example.test\0Secret-1", ''));
smtp_cmd($s, 'MAIL FROM:<demo@example.test>');
smtp_cmd($s, 'RCPT TO:<strict@example.test>');
smtp_cmd($s, 'DATA');
print $s message('submitted-spam', text(\@spamwords, 40, 5005)), ".\r\n";
like(reply_of($s), qr/^250/, 'submission: accepted');
$m = last_in('strict@example.test', 'INBOX');
like($m, qr/submitted-spam/, 'submission: into the INBOX, unfiltered');
unlike($m, qr/^X-Spam-/m, 'no X-Spam fields');

my $log = $t->error_log;
like($log, qr/spam: \w+ from=<someone\@sender\.example> ip=127\.0\.0\.1 score=\d+\.\d verdict=junk dnsbl=off spf=off bayes=demo\@example\.test:(?:0\.9\d+|1\.000)/,
     'one log line: verdict and every check');
like($log, qr/verdict=reject/, 'the rejection is logged');

done_testing;
