# The mail transaction end to end: MAIL, RCPT, DATA and BDAT into Redis
# mailboxes and the outbound queue; relay control, aliases, quota, size
# limits, dot-stuffing, and the SMTP smuggling sequences of 2023.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Net::SMTP;
use MIME::Base64 qw(encode_base64);
use MailTest qw(free_port send_line reply_of smtp_cmd smtp_session
                submission_server);

my $t = MailTest->new;
$t->start_redis;
my ($mx, $sub) = (free_port(), free_port());

$t->start_nginx(<<CONF, ports => [$mx, $sub]);
    smtpd_max_message_size 100k;
    server { listen 127.0.0.1:$mx; protocol smtpd; smtpd_auth_plaintext on; }
    @{[ submission_server($sub) ]}
CONF

$t->add_user('demo@example.test', 'Secret-1');
$t->add_user('bob@example.test', 'Secret-2');
$t->add_user('off@example.test', 'Secret-3', enabled => 0);
$t->redis('SADD', 'alias:{team@example.test}', 'demo@example.test',
          'bob@example.test', 'friend@remote.example');
$t->redis('SADD', 'alias:{@catch.test}', 'bob@example.test');
$t->redis('SADD', 'domains', 'catch.test');

# the n-th message of a user's INBOX, as stored
sub stored {
    my ($user, $uid) = @_;
    my $id = $t->redis('HGET', "mailboxes:{$user}", 'INBOX');
    return undef unless length $id;
    my $blob = $t->redis('HGET', "msg:{$user}:$id:$uid", 'blob');
    return undef unless length $blob;
    return $t->redis_get_raw("blob:{$blob}");
}

sub messages { $t->redis('HGET', "mailbox:{$_[0]}:1", 'messages') || 0 }

sub session { smtp_session($_[0] || $mx) }

sub body_of {
    my ($msg) = @_;
    my ($body) = $msg =~ /\r\n\r\n(.*)\z/s;
    return $body;
}

my $s = session();
my $ehlo = smtp_cmd($s, 'EHLO client.example');
for my $ext (qw(PIPELINING 8BITMIME DSN SMTPUTF8 CHUNKING ENHANCEDSTATUSCODES),
             'SIZE 102400') {
    like($ehlo, qr/^250[- ]\Q$ext\E\r$/m, "EHLO advertises $ext");
}

# --- one local recipient ----------------------------------------------------
is(smtp_cmd($s, 'RCPT TO:<demo@example.test>'),
   "503 5.5.1 Error: need MAIL command\r\n", 'RCPT before MAIL: 503');
is(smtp_cmd($s, 'DATA'), "503 5.5.1 Error: need MAIL command\r\n",
   'DATA before MAIL: 503');
is(smtp_cmd($s, 'MAIL FROM:<sender@remote.example> BODY=8BITMIME RET=HDRS '
            . 'ENVID=abc+2Bdef AUTH=someone@remote.example SMTPUTF8'),
   "250 2.1.0 Ok\r\n", 'MAIL with every parameter');
is(smtp_cmd($s, 'MAIL FROM:<sender@remote.example>'),
   "503 5.5.1 Error: nested MAIL command\r\n", 'nested MAIL: 503');
is(smtp_cmd($s, 'DATA'), "503 5.5.1 Error: need RCPT command\r\n",
   'DATA before RCPT: 503');
is(smtp_cmd($s, 'RCPT TO:<Demo@Example.TEST>'), "250 2.1.5 Ok\r\n",
   'RCPT to a local user (any case)');
is(smtp_cmd($s, 'DATA'), "354 End data with <CR><LF>.<CR><LF>\r\n",
   'DATA: 354');
print $s "Subject: first\r\n\r\nHello\r\n..leading dot\r\n.\r\n";
like(reply_of($s), qr/^250 2\.0\.0 Ok: queued as ([0-9a-f]+)\r\n\z/,
     'the end of data: 250 queued');
is(messages('demo@example.test'), 1, 'one message in the INBOX');
my $msg = stored('demo@example.test', 1);
like($msg, qr/\AReturn-Path: <sender\@remote\.example>\r\n/,
     'Return-Path first');
like($msg, qr/^Received: from client\.example \(unknown \[127\.0\.0\.1\]\)\r\n\tby mx\.example\.test \(nginx-mailserver\) with UTF8SMTP id [0-9a-f]+\r\n\tfor <demo\@example\.test>; \w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n/m,
     'Received: RFC 6531 protocol word UTF8SMTP (SMTPUTF8 given), id, one "for"');
is(body_of($msg), "Hello\r\n.leading dot\r\n", 'dot-stuffing undone');
is($t->redis('HGET', 'msg:{demo@example.test}:1:1', 'size'), length $msg,
   'the stored size is the octet count');
is($t->redis('HGET', 'user:{demo@example.test}', 'used_bytes'), length $msg,
   'the quota usage grew by it');
my $blob1 = $t->redis('HGET', 'msg:{demo@example.test}:1:1', 'blob');
is($t->redis('TTL', "blob:{$blob1}"), -1, 'the stored message does not expire');
is($t->redis('GET', "blob:{$blob1}:refs"), 1, 'one reference to it');
is($t->redis('KEYS', 'spool:*'), '', 'no spool is left behind');

# --- pipelined transaction, several recipients, an alias ---------------------
print $s "MAIL FROM:<sender\@remote.example> RET=FULL ENVID=q+2Bx "
       . "AUTH=sender\@remote.example\r\nRCPT TO:<team\@example.test>\r\n"
       . "RCPT TO:<demo\@example.test>\r\nDATA\r\n";
is(reply_of($s) . reply_of($s) . reply_of($s) . reply_of($s),
   "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
   . "354 End data with <CR><LF>.<CR><LF>\r\n", 'pipelined MAIL RCPT RCPT DATA');
print $s "Subject: team\r\n\r\nfor the team\r\n.\r\n";
like(reply_of($s), qr/^250 2\.0\.0 Ok: queued as ([0-9a-f]+)/, 'queued');
is(messages('demo@example.test'), 2, 'demo got it once, not twice');
is(messages('bob@example.test'), 1, 'bob got it through the alias');
unlike(stored('demo@example.test', 2), qr/\tfor </,
       'no "for" with several recipients');
my @queue = split /\n/, $t->redis('XRANGE', 'queue:outbound', '-', '+');
is(scalar(grep { $_ eq 'id' } @queue), 1, 'one entry in the outbound queue');
my ($qid) = $queue[-1];
is($t->redis('HGET', "queue:{$qid}:env", 'rcpts'), 'friend@remote.example',
   'the remote alias target is queued');
is($t->redis('HGET', "queue:{$qid}:env", 'from'), 'sender@remote.example',
   'with the envelope sender');
is($t->redis('HGET', "queue:{$qid}:env", 'params'),
   'RET=FULL ENVID=q+2Bx AUTH=<>',
   'and MAIL\'s DSN parameters; an unauthenticated AUTH= becomes <>');
my $blob = $t->redis('HGET', "queue:{$qid}:env", 'blob');
like($t->redis_get_raw("blob:{$blob}"), qr/for the team\r\n\z/,
     'and the message');
is($t->redis('HGET', 'msg:{bob@example.test}:1:1', 'blob'), $blob,
   'bob\'s copy is the same blob');
is($t->redis('HGET', 'msg:{demo@example.test}:1:2', 'blob'), $blob,
   'and so is demo\'s');
is($t->redis('GET', "blob:{$blob}:refs"), 3,
   'referenced three times: two mailboxes and the queue');

# two whole transactions in one write: the second waits for the first's 250
my $n0 = messages('demo@example.test');
print $s join '', map { "MAIL FROM:<p$_\@remote.example>\r\n"
                        . "RCPT TO:<demo\@example.test>\r\nDATA\r\n"
                        . "Subject: pipelined $_\r\n\r\nbody $_\r\n.\r\n" } 1 .. 2;
my $replies = join '', map { reply_of($s) } 1 .. 8;
like($replies, qr/\A(250 2\.1\.0 Ok\r\n250 2\.1\.5 Ok\r\n354 [^\n]*\n250 2\.0\.0 Ok: queued as [0-9a-f]+\r\n){2}\z/,
     'two pipelined transactions: both answered in order');
is(messages('demo@example.test'), $n0 + 2, 'and both stored');
like(body_of(stored('demo@example.test', $n0 + 2)), qr/\Abody 2\r\n\z/,
     'the second one whole');

# --- catch-all, unknown, disabled, relay ------------------------------------
is(smtp_cmd($s, 'MAIL FROM:<>'), "250 2.1.0 Ok\r\n", 'null sender');
is(smtp_cmd($s, 'RCPT TO:<anything@catch.test>'), "250 2.1.5 Ok\r\n",
   'catch-all takes any address of its domain');
is(smtp_cmd($s, 'RCPT TO:<nobody@example.test>'),
   "550 5.1.1 <nobody\@example.test>: Recipient address rejected: "
   . "User unknown\r\n", 'unknown user: 550 5.1.1');
is(smtp_cmd($s, 'RCPT TO:<off@example.test>'),
   "550 5.2.1 <off\@example.test>: Mailbox disabled\r\n",
   'disabled account: 550 5.2.1');
is(smtp_cmd($s, 'RCPT TO:<someone@elsewhere.example>'),
   "554 5.7.1 <someone\@elsewhere.example>: Relay access denied\r\n",
   'no relaying for strangers');
is(smtp_cmd($s, 'RCPT TO:<x@[192.0.2.1]>'),
   "554 5.7.1 <x\@[192.0.2.1]>: Relay access denied\r\n",
   'nor to address literals');
is(smtp_cmd($s, 'RCPT TO:<a@b@c>'),
   "501 5.1.3 Bad recipient address syntax\r\n", 'bad syntax: 501');
is(smtp_cmd($s, 'RCPT TO:<bob@example.test> FOO=BAR'),
   "555 5.5.4 Unsupported option: FOO=BAR\r\n", 'unknown parameter: 555');
is(smtp_cmd($s, 'RSET'), "250 2.0.0 Ok\r\n", 'RSET');
is(smtp_cmd($s, 'RCPT TO:<bob@example.test>'),
   "503 5.5.1 Error: need MAIL command\r\n", 'RSET ended the transaction');
close $s;

# --- sizes and quota --------------------------------------------------------
$s = session();
is(smtp_cmd($s, 'MAIL FROM:<a@remote.example> SIZE=200000'),
   "552 5.3.4 Message size exceeds fixed limit\r\n", 'SIZE over the limit');
smtp_cmd($s, 'MAIL FROM:<a@remote.example>');
smtp_cmd($s, 'RCPT TO:<bob@example.test>');
smtp_cmd($s, 'DATA');
print $s "Subject: big\r\n\r\n", ("x" x 998 . "\r\n") x 120, ".\r\n";
is(reply_of($s), "552 5.3.4 Message size exceeds fixed limit\r\n",
   'a message over the limit: 552 after the data');
is(messages('bob@example.test'), 1, 'and it is not stored');
is(smtp_cmd($s, 'NOOP'), "250 2.0.0 Ok\r\n", 'the session goes on');
close $s;

my $used = $t->redis('HGET', 'user:{bob@example.test}', 'used_bytes');
$t->redis('HSET', 'user:{bob@example.test}', 'quota_bytes', $used + 300);
$s = session();
smtp_cmd($s, 'MAIL FROM:<a@remote.example>');
is(smtp_cmd($s, 'RCPT TO:<bob@example.test>'), "250 2.1.5 Ok\r\n",
   'room left: RCPT accepted');
smtp_cmd($s, 'DATA');
print $s "Subject: too big for the quota\r\n\r\n", "y" x 500, "\r\n.\r\n";
is(reply_of($s), "552 5.2.2 <bob\@example.test>: Mailbox full\r\n",
   'a message over the remaining quota: 552 5.2.2');
$t->redis('HSET', 'user:{bob@example.test}', 'quota_bytes', 10);
smtp_cmd($s, 'MAIL FROM:<a@remote.example>');
is(smtp_cmd($s, 'RCPT TO:<bob@example.test>'),
   "452 4.2.2 <bob\@example.test>: Mailbox full\r\n",
   'a full mailbox: 452 4.2.2 at RCPT');
$t->redis('HSET', 'user:{bob@example.test}', 'quota_bytes', 0);
close $s;

# --- SMTP smuggling: only CRLF.CRLF ends the data ---------------------------
my @smuggle = (
    "\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r.\r\n", "\n.\r", "\r\n.\r",
);
for my $seq (@smuggle) {
    (my $name = $seq) =~ s/\r/<CR>/g;
    $name =~ s/\n/<LF>/g;
    my $before = messages('demo@example.test');
    $s = session();
    smtp_cmd($s, 'MAIL FROM:<a@remote.example>');
    smtp_cmd($s, 'RCPT TO:<demo@example.test>');
    smtp_cmd($s, 'DATA');
    print $s "Subject: smuggle\r\n\r\nfirst$seq"
           . "MAIL FROM:<evil\@remote.example>\r\n"
           . "RCPT TO:<bob\@example.test>\r\nDATA\r\nSubject: evil\r\n\r\n"
           . "second\r\n.\r\n";
    like(reply_of($s), qr/^250 2\.0\.0 Ok: queued/, "$name: one 250");
    is(smtp_cmd($s, 'NOOP'), "250 2.0.0 Ok\r\n",
       "$name: the next reply answers NOOP, no second message");
    is(messages('demo@example.test'), $before + 1, "$name: one message");
    my $m = stored('demo@example.test', $before + 1);
    like(body_of($m), qr/first\r\n.*MAIL FROM:<evil\@remote\.example>\r\n.*second\r\n\z/s,
         "$name: the smuggled commands are content");
    unlike($m, qr/[^\r]\n|\r[^\n]/, "$name: no bare CR or LF is stored");
    close $s;
}

# --- BDAT (RFC 3030) --------------------------------------------------------
$s = session();
is(smtp_cmd($s, 'BDAT 5'), "503 5.5.1 Error: need MAIL command\r\n",
   'BDAT without MAIL: 503');
print $s "NOOP\r";    # the 5 octets of the refused chunk
is(smtp_cmd($s, 'NOOP'), "250 2.0.0 Ok\r\n",
   'the refused chunk was skipped: NOOP after it works');
smtp_cmd($s, 'MAIL FROM:<a@remote.example>');
smtp_cmd($s, 'RCPT TO:<demo@example.test>');
my $part1 = "Subject: chunks\r\n\r\nfirst part\r";
my $part2 = "\nsecond part\n.\r\n";
print $s "BDAT " . length($part1) . "\r\n$part1";
is(reply_of($s), "250 2.0.0 " . length($part1) . " octets received\r\n",
   'BDAT chunk 1');
print $s "BDAT " . length($part2) . " LAST\r\n$part2";
like(reply_of($s), qr/^250 2\.0\.0 Ok: queued/, 'BDAT LAST: queued');
my $n = messages('demo@example.test');
is(body_of(stored('demo@example.test', $n)),
   "first part\r\nsecond part\r\n.\r\n",
   'BDAT content: CR|LF across chunks is one CRLF, no dot handling');
smtp_cmd($s, 'MAIL FROM:<a@remote.example>');
smtp_cmd($s, 'RCPT TO:<demo@example.test>');
send_line($s, 'BDAT 0 LAST');
like(reply_of($s), qr/^250 2\.0\.0 Ok: queued/, 'an empty BDAT LAST message');
is(smtp_cmd($s, 'BDAT x'), "501 5.5.4 Syntax: BDAT size [LAST]\r\n",
   'BDAT syntax error');
close $s;

# --- submission ------------------------------------------------------------
$s = session($sub);
is(smtp_cmd($s, 'MAIL FROM:<demo@example.test>'),
   "530 5.7.0 Authentication required\r\n", 'submission: AUTH first');
is(smtp_cmd($s, 'AUTH PLAIN '
              . encode_base64("\0demo\@example.test\0Secret-1", '')),
   "235 2.7.0 Authentication successful\r\n", 'AUTH');
is(smtp_cmd($s, 'MAIL FROM:<bob@example.test>'),
   "553 5.7.1 <bob\@example.test>: Sender address rejected: not owned by "
   . "user demo\@example.test\r\n", 'someone else\'s address: 553');
is(smtp_cmd($s, 'MAIL FROM:<team@example.test>'), "250 2.1.0 Ok\r\n",
   'an alias that delivers to the user is allowed');
smtp_cmd($s, 'RSET');
is(smtp_cmd($s, 'MAIL FROM:<demo@example.test> AUTH=<>'), "250 2.1.0 Ok\r\n",
   'own address');
is(smtp_cmd($s, 'RCPT TO:<someone@elsewhere.example> NOTIFY=SUCCESS,FAILURE'),
   "250 2.1.5 Ok\r\n", 'authenticated: relaying allowed');
smtp_cmd($s, 'RCPT TO:<bob@example.test>');
smtp_cmd($s, 'DATA');
print $s "Subject: no date\r\n\r\nhi\r\n.\r\n";
like(reply_of($s), qr/^250 2\.0\.0 Ok: queued as ([0-9a-f]+)/, 'queued');
my $bob = stored('bob@example.test', messages('bob@example.test'));
like($bob, qr/ with ESMTPA id /, 'protocol word ESMTPA');
like($bob, qr/^Date: \w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r$/m,
     'a missing Date is added on submission');
like($bob, qr/^Message-ID: <[0-9a-f]+\@mx\.example\.test>\r$/m,
     'a missing Message-ID is added');
@queue = split /\n/, $t->redis('XRANGE', 'queue:outbound', '-', '+');
$qid = $queue[-1];
is($t->redis('HGET', "queue:{$qid}:env", 'rcpts'),
   'someone@elsewhere.example NOTIFY=SUCCESS,FAILURE',
   'the remote recipient is queued with its DSN parameters');
is($t->redis('HGET', "queue:{$qid}:env", 'params'), 'AUTH=demo@example.test',
   'and the submitter as AUTH= (RFC 4954 5), whatever the client claimed');
smtp_cmd($s, 'MAIL FROM:<demo@example.test>');
smtp_cmd($s, 'RCPT TO:<bob@example.test>');
smtp_cmd($s, 'DATA');
print $s "Date: Tue, 1 Jan 2030 00:00:00 +0000\r\nMessage-ID: <x\@y>\r\n\r\nhi\r\n.\r\n";
reply_of($s);
$bob = stored('bob@example.test', messages('bob@example.test'));
is(scalar(() = $bob =~ /^Date:/mg), 1, 'a present Date is kept, not added');
is(scalar(() = $bob =~ /^Message-ID:/mg), 1, 'the same for Message-ID');
close $s;

# --- Net::SMTP, and a large message streamed in chunks ------------------------
my $big = join '', map { sprintf("line %06d %s\r\n", $_, 'z' x 60) } 1 .. 1200;
my $smtp = Net::SMTP->new('127.0.0.1', Port => $mx, Hello => 'netsmtp',
                          Timeout => 10);
ok($smtp->mail('sender@remote.example'), 'Net::SMTP MAIL');
ok($smtp->to('demo@example.test'), 'Net::SMTP RCPT');
ok($smtp->data("Subject: big\r\n\r\n$big"), 'Net::SMTP DATA of 90 kB');
$smtp->quit;
is(body_of(stored('demo@example.test', messages('demo@example.test'))), $big,
   'the large message arrived whole, byte for byte');

# --- Redis goes away between RCPT and the end of the data --------------------
$s = session();
smtp_cmd($s, 'MAIL FROM:<a@remote.example>');
smtp_cmd($s, 'RCPT TO:<demo@example.test>');
smtp_cmd($s, 'DATA');
$t->stop_redis;
print $s "Subject: lost\r\n\r\nhello\r\n.\r\n";
is(reply_of($s), "451 4.3.0 Error: queue file write error\r\n",
   'Redis down during DATA: 451, the client keeps the message');
is(smtp_cmd($s, 'NOOP'), "250 2.0.0 Ok\r\n", 'the session goes on');
close $s;

done_testing;
