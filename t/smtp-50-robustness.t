# Regressions from review: clients that vanish while a command waits for
# Redis, pipelining after a refused MAIL, aliases that lead nowhere or to
# a full mailbox, refused messages leaving no spool, AUTH inside a
# transaction, a refused BDAT's chunk, and local-part case kept for relay.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Socket qw(SOL_SOCKET SO_LINGER);
use MIME::Base64 qw(encode_base64);
use MailTest qw(free_port client reply_of smtp_cmd smtp_session
                submission_server);

my $t = MailTest->new;
$t->start_redis;
my ($mx, $sub, $strict) = (free_port(), free_port(), free_port());
my ($crt, $key) = $t->tls_cert;
$t->start_nginx(<<CONF, ports => [$mx, $sub, $strict]);
    ssl_certificate $crt;
    ssl_certificate_key $key;
    server { listen 127.0.0.1:$mx; protocol smtpd; smtpd_auth_plaintext on; }
    @{[ submission_server($sub) ]}
    server {
        listen 127.0.0.1:$strict;
        protocol smtpd;
        starttls only;
    }
CONF
$t->add_user('demo@example.test', 'Secret-1');
$t->add_user('full@example.test', 'Secret-2');
$t->redis('HSET', 'user:{full@example.test}', 'quota_bytes', 1, 'used_bytes', 5);
$t->redis('SADD', 'alias:{nowhere@example.test}', 'ghost@example.test',
          'other-alias@example.test');
$t->redis('SADD', 'alias:{other-alias@example.test}', 'demo@example.test');
$t->redis('SADD', 'alias:{withfull@example.test}', 'demo@example.test',
          'full@example.test');

sub session { smtp_session($_[0] || $mx) }

sub crashed { $t->error_log =~ /exited on signal/ }

# a server without "starttls" says so
my $plain = session();
is(smtp_cmd($plain, 'STARTTLS'), "502 5.5.1 Error: STARTTLS not available\r\n",
   'STARTTLS where TLS is not configured: 502');
close $plain;

# clients that reset the connection while their RCPT or AUTH waits
for my $n (1 .. 20) {
    my $s = client($mx);
    reply_of($s);
    print $s "EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<demo\@example.test>\r\n"
           . "RCPT TO:<withfull\@example.test>\r\nAUTH PLAIN "
           . encode_base64("\0demo\@example.test\0Secret-1", '') . "\r\n";
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $s;
}
my $s = session();
is(smtp_cmd($s, 'NOOP'), "250 2.0.0 Ok\r\n",
   'the server still answers after 20 resets mid-command');
ok(!crashed(), 'and no worker died') or diag $t->error_log;
close $s;

# a refused MAIL with a pipelined RCPT behind it
$s = session($sub);
smtp_cmd($s, 'AUTH PLAIN '
         . encode_base64("\0demo\@example.test\0Secret-1", ''));
print $s "MAIL FROM:<someone-else\@example.test>\r\nRCPT TO:<demo\@example.test>\r\n";
like(reply_of($s), qr/^553 5\.7\.1 /, 'MAIL with a foreign sender: 553');
is(reply_of($s), "503 5.5.1 Error: need MAIL command\r\n",
   'the pipelined RCPT finds no transaction');
is(smtp_cmd($s, 'NOOP'), "250 2.0.0 Ok\r\n", 'and the session goes on');
ok(!crashed(), 'no worker died');
close $s;

# aliases
$s = session();
smtp_cmd($s, 'MAIL FROM:<a@remote.example>');
is(smtp_cmd($s, 'RCPT TO:<nowhere@example.test>'),
   "550 5.1.1 <nowhere\@example.test>: Recipient address rejected: "
   . "User unknown\r\n",
   'an alias whose targets are no mailboxes (unknown, nested alias): 550');
is(smtp_cmd($s, 'RCPT TO:<withfull@example.test>'),
   "452 4.2.2 <withfull\@example.test>: Mailbox full\r\n",
   'an alias with a full target: 452 4.2.2, nothing added');
is(smtp_cmd($s, 'DATA'), "503 5.5.1 Error: need RCPT command\r\n",
   'no recipient was taken');
is(smtp_cmd($s, 'AUTH PLAIN '
              . encode_base64("\0demo\@example.test\0Secret-1", '')),
   "503 5.5.1 Error: MAIL transaction in progress\r\n",
   'AUTH inside a transaction: 503 (RFC 4954 4)');
close $s;

# a refused message leaves no spool behind
$t->redis('HSET', 'user:{demo@example.test}', 'quota_bytes', 100);
$s = session();
smtp_cmd($s, 'MAIL FROM:<a@remote.example>');
smtp_cmd($s, 'RCPT TO:<demo@example.test>');
smtp_cmd($s, 'DATA');
print $s "Subject: x\r\n\r\n", "y" x 300, "\r\n.\r\n";
like(reply_of($s), qr/^552 5\.2\.2 /, 'over the quota at the end of data');
my $left = 'x';
for (1 .. 100) {
    $left = $t->redis('KEYS', 'spool:*');
    last if $left eq '';
    select undef, undef, undef, 0.02;
}
is($left, '', 'and its spool is deleted');
$t->redis('HSET', 'user:{demo@example.test}', 'quota_bytes', 0);
close $s;

# a BDAT refused before TLS: its chunk is skipped, not run as commands
$s = session($strict);
print $s "BDAT 6 LAST\r\nQUIT\r\n";
like(reply_of($s), qr/^530 5\.7\.0 /, 'BDAT before STARTTLS: 530');
is(smtp_cmd($s, 'NOOP'), "250 2.0.0 Ok\r\n",
   'the chunk ("QUIT\\r\\n") was skipped: the session is still open');
close $s;

# the case of a remote local part is kept for the queue (RFC 5321 2.4)
$s = session($sub);
smtp_cmd($s, 'AUTH PLAIN '
         . encode_base64("\0demo\@example.test\0Secret-1", ''));
is(smtp_cmd($s, 'MAIL FROM:<Demo@Example.TEST>'), "250 2.1.0 Ok\r\n",
   'the login matches a sender in any case');
is(smtp_cmd($s, 'RCPT TO:<John.Smith@Remote.EXAMPLE>'), "250 2.1.5 Ok\r\n",
   'remote RCPT');
smtp_cmd($s, 'DATA');
print $s "Subject: case\r\n\r\nhi\r\n.\r\n";
like(reply_of($s), qr/^250 /, 'queued');
my @q = split /\n/, $t->redis('XRANGE', 'queue:outbound', '-', '+');
my $env = "queue:{$q[-1]}:env";
is($t->redis('HGET', $env, 'rcpts'), 'John.Smith@remote.example',
   'the local part keeps its case, the domain is lower-cased');
is($t->redis('HGET', $env, 'from'), 'Demo@example.test',
   'and so does the sender\'s');
close $s;

done_testing;
