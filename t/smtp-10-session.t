# The SMTP session around the mail transaction: greeting, EHLO/HELO,
# NOOP, RSET, HELP, VRFY, EXPN, QUIT, unknown and over-long commands,
# the error limit, STARTTLS (and what a client pipelines behind it), and
# "starttls only" as on the submission port.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::SSL;
use MIME::Base64 qw(encode_base64);
use MailTest qw(free_port client send_line reply_of);

my $t = MailTest->new;
$t->start_redis;
my ($mx, $sub, $smtps) = (free_port(), free_port(), free_port());
my ($crt, $key) = $t->tls_cert;

$t->start_nginx(<<CONF, ports => [$mx, $sub, $smtps]);
    ssl_certificate $crt;
    ssl_certificate_key $key;
    smtpd_hard_error_limit 5;
    server { listen 127.0.0.1:$mx; protocol smtpd; starttls on; }
    server {
        listen 127.0.0.1:$sub;
        protocol smtpd;
        smtpd_role submission;
        starttls only;
    }
    server {
        listen 127.0.0.1:$smtps ssl;
        protocol smtpd;
        smtpd_role submission;
    }
CONF
$t->add_user('demo@example.test', 'Secret-1');

my $s = client($mx);
is(reply_of($s), "220 mx.example.test ESMTP\r\n", 'greeting');
send_line($s, 'HELO client.example');
is(reply_of($s), "250 mx.example.test\r\n", 'HELO');
send_line($s, 'ehlo client.example');
is(reply_of($s), "250-mx.example.test\r\n250-PIPELINING\r\n"
   . "250-SIZE 26214400\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
   . "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n",
   'EHLO (lower case) lists the extensions; no AUTH before TLS');
send_line($s, 'EHLO');
is(reply_of($s), "501 5.5.4 Syntax: EHLO hostname\r\n", 'EHLO needs a name');
send_line($s, 'NOOP');
is(reply_of($s), "250 2.0.0 Ok\r\n", 'NOOP');
send_line($s, 'RSET');
is(reply_of($s), "250 2.0.0 Ok\r\n", 'RSET');
send_line($s, 'HELP');
like(reply_of($s), qr/^214-.*\r\n214 2\.0\.0 End of HELP info\r\n\z/s,
     'HELP: 214');
send_line($s, 'VRFY demo@example.test');
like(reply_of($s), qr/^252 2\.0\.0 /, 'VRFY: 252, reveals nothing');
send_line($s, 'VRFY nobody@example.test');
like(reply_of($s), qr/^252 2\.0\.0 /, 'VRFY of an unknown user: the same');
send_line($s, 'EXPN staff');
is(reply_of($s), "502 5.5.1 Error: EXPN not available\r\n", 'EXPN: 502');
send_line($s, 'FOO bar');
is(reply_of($s), "502 5.5.2 Error: command not recognized\r\n",
   'unknown command: 502');
send_line($s, '{}');
is(reply_of($s), "500 5.5.2 Error: command not recognized\r\n",
   'garbage: 500');
send_line($s, 'NOOP ' . ('x' x 600));
is(reply_of($s), "500 5.5.2 Error: line too long\r\n",
   'a command line over 512 octets: 500');
send_line($s, 'NOOP');
is(reply_of($s), "250 2.0.0 Ok\r\n", 'the session goes on');
send_line($s, 'QUIT');
is(reply_of($s), "221 2.0.0 Bye\r\n", 'QUIT: 221');
is(reply_of($s), '', 'and the server closes');
close $s;

# RFC 2920: pipelined commands are answered in order, in one go
$s = client($mx);
reply_of($s);
print $s "EHLO a\r\nNOOP\r\nRSET\r\nNOOP\r\nQUIT\r\n";
like(reply_of($s), qr/^250-mx/, 'pipelined EHLO');
is(reply_of($s) . reply_of($s) . reply_of($s),
   "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n",
   'pipelined NOOP RSET NOOP');
is(reply_of($s), "221 2.0.0 Bye\r\n", 'pipelined QUIT');
close $s;

# an endless line without LF is cut off at the limit, and the session lives
$s = client($mx);
reply_of($s);
print $s 'X' x 40000;
print $s "\r\nNOOP\r\n";
is(reply_of($s), "500 5.5.2 Error: line too long\r\n", 'a 40 kB line: 500');
is(reply_of($s), "250 2.0.0 Ok\r\n", 'then NOOP works');
close $s;

# smtpd_hard_error_limit 5: the fifth error closes with 421
$s = client($mx);
reply_of($s);
for my $n (1 .. 4) {
    send_line($s, 'BOGUS');
    is(reply_of($s), "502 5.5.2 Error: command not recognized\r\n",
       "error $n");
}
send_line($s, 'BOGUS');
is(reply_of($s), "502 5.5.2 Error: command not recognized\r\n",
   'the fifth error is still answered');
is(reply_of($s), "421 4.7.0 mx.example.test Error: too many errors\r\n",
   'then 421 too many errors');
is(reply_of($s), '', 'and the connection is closed');
close $s;

# STARTTLS; what the client pipelined behind it is discarded (CVE-2011-0411)
$s = client($mx);
reply_of($s);
send_line($s, 'EHLO client.example');
reply_of($s);
print $s "STARTTLS\r\nRSET\r\n";
is(reply_of($s), "220 2.0.0 Ready to start TLS\r\n", 'STARTTLS: 220');
ok(IO::Socket::SSL->start_SSL($s, SSL_verify_mode => SSL_VERIFY_NONE),
   'TLS handshake') or diag IO::Socket::SSL::errstr();
send_line($s, 'NOOP');
is(reply_of($s), "250 2.0.0 Ok\r\n",
   'the first reply after TLS answers NOOP: the injected RSET never ran');
send_line($s, 'AUTH PLAIN ' . encode_base64("\0demo\@example.test\0Secret-1", ''));
is(reply_of($s), "503 5.5.1 Error: send EHLO first\r\n",
   'the EHLO before TLS is forgotten (RFC 3207 4.2)');
send_line($s, 'EHLO client.example');
my $ehlo = reply_of($s);
like($ehlo, qr/^250-AUTH PLAIN LOGIN\r\n/m, 'AUTH offered over TLS');
unlike($ehlo, qr/STARTTLS/, 'STARTTLS no longer offered');
send_line($s, 'AUTH PLAIN ' . encode_base64("\0demo\@example.test\0Secret-1", ''));
is(reply_of($s), "235 2.7.0 Authentication successful\r\n", 'AUTH over TLS');
send_line($s, 'STARTTLS');
is(reply_of($s), "554 5.5.1 Error: TLS already active\r\n",
   'a second STARTTLS: 554, as Postfix');
send_line($s, 'QUIT');
is(reply_of($s), "221 2.0.0 Bye\r\n", 'QUIT over TLS');
close $s;

# starttls only (submission): nothing but the basics before TLS
$s = client($sub);
reply_of($s);
send_line($s, 'EHLO client.example');
like(reply_of($s), qr/^250-STARTTLS\r\n/m, 'submission offers STARTTLS');
for my $cmd ('AUTH PLAIN AGRlbW8AeA==', 'MAIL FROM:<a@b.c>', 'VRFY x') {
    send_line($s, $cmd);
    is(reply_of($s), "530 5.7.0 Must issue a STARTTLS command first\r\n",
       "before TLS on submission: $cmd => 530");
}
send_line($s, 'NOOP');
is(reply_of($s), "250 2.0.0 Ok\r\n", 'NOOP is allowed before TLS');
close $s;

# implicit TLS (submissions, RFC 8314)
$s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $smtps,
                          SSL_verify_mode => SSL_VERIFY_NONE);
ok($s, 'implicit TLS connects') or diag IO::Socket::SSL::errstr();
is(reply_of($s), "220 mx.example.test ESMTP\r\n", 'greeting over TLS');
send_line($s, 'EHLO client.example');
like(reply_of($s), qr/^250-AUTH PLAIN LOGIN\r\n/m, 'AUTH offered at once');
close $s;

# Net::SMTP, a real client library, through STARTTLS on submission
use Net::SMTP;
my $smtp = Net::SMTP->new('127.0.0.1', Port => $sub, Hello => 'netsmtp',
                          Timeout => 10);
ok($smtp, 'Net::SMTP connects to submission');
ok($smtp->starttls(SSL_verify_mode => SSL_VERIFY_NONE),
   'Net::SMTP STARTTLS (IO::Socket::SSL)');
ok($smtp->auth('demo@example.test', 'Secret-1'), 'Net::SMTP AUTH over TLS');
ok($smtp->mail('demo@example.test'), 'Net::SMTP MAIL');
ok($smtp->to('demo@example.test'), 'Net::SMTP RCPT');
ok($smtp->data("Subject: over TLS\r\n\r\nhello\r\n"), 'Net::SMTP DATA');
$smtp->quit;
is($t->redis('HGET', 'mailbox:{demo@example.test}:1', 'messages'), 1,
   'the message is in the INBOX');

done_testing;
