# IMAP session: greeting, CAPABILITY before and after STARTTLS and login,
# LOGINDISABLED without TLS, LOGIN (plain, quoted, literals with and
# without LITERAL+), AUTHENTICATE PLAIN and LOGIN with and without SASL-IR
# and "*" to cancel, ID, NAMESPACE, ENABLE, LOGOUT, bad syntax, and
# Redis down.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::SSL;
use MIME::Base64 qw(encode_base64);
use MailTest qw(free_port client send_line imap_line imap_cmd imap_until);

my $t = MailTest->new;
$t->start_redis;
my ($plain, $tls, $only, $idle) = map { free_port() } 1 .. 4;
my ($crt, $key) = $t->tls_cert;

$t->start_nginx(<<CONF, ports => [$plain, $tls, $only, $idle]);
    ssl_certificate $crt;
    ssl_certificate_key $key;
    server {
        listen 127.0.0.1:$plain;
        protocol imapd;
        imapd_auth_plaintext on;
        starttls on;
    }
    server { listen 127.0.0.1:$tls; protocol imapd; starttls on; }
    server {
        listen 127.0.0.1:$only;
        protocol imapd;
        imapd_auth_plaintext on;
        starttls only;
    }
    server { listen 127.0.0.1:$idle; protocol imapd; timeout 1s; }
CONF
$t->add_user('demo@example.test', 'Secret-1');

my $caps = 'IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE SPECIAL-USE '
         . 'CHILDREN UIDPLUS MOVE UNSELECT CONDSTORE QRESYNC QUOTA '
         . 'QUOTA=RES-STORAGE';

# --- not authenticated -------------------------------------------------------
my $s = client($plain);
is(imap_line($s), "* OK [CAPABILITY $caps STARTTLS AUTH=PLAIN AUTH=LOGIN] "
                  . "nginx-mailserver ready\r\n",
   'greeting with capabilities');
is(imap_cmd($s, 'a1 CAPABILITY'),
   "* CAPABILITY $caps STARTTLS AUTH=PLAIN AUTH=LOGIN\r\n"
   . "a1 OK Capability completed\r\n", 'CAPABILITY');
is(imap_cmd($s, 'a2 noop'), "a2 OK NOOP completed\r\n", 'NOOP, any case');
is(imap_cmd($s, 'a3 ID ("name" "test" "version" "1")'),
   "* ID (\"name\" \"nginx-mailserver\")\r\na3 OK ID completed\r\n", 'ID');
is(imap_cmd($s, 'a4 ID NIL'),
   "* ID (\"name\" \"nginx-mailserver\")\r\na4 OK ID completed\r\n",
   'ID NIL');
is(imap_cmd($s, 'a5 LIST "" *'), "a5 BAD Command not valid in this state\r\n",
   'LIST before login: BAD');
is(imap_cmd($s, 'a6 ENABLE CONDSTORE'),
   "a6 BAD Command not valid in this state\r\n", 'ENABLE before login: BAD');
is(imap_cmd($s, 'a7 SELECT INBOX'),
   "a7 BAD Command not valid in this state\r\n",
   'SELECT before login: BAD');
is(imap_cmd($s, 'a8 LOGIN "demo@example.test"'),
   "a8 BAD Invalid arguments\r\n",
   'LOGIN with one argument: BAD');
is(imap_cmd($s, 'a9 LOGIN (x) y'), "a9 BAD Invalid arguments\r\n",
   'LOGIN with a list: BAD');
is(imap_cmd($s, 'b1 LOGIN "unclosed'), "b1 BAD Unterminated quoted string\r\n",
   'unclosed quoted string: BAD');
is(imap_cmd($s, 'b2 NOOP'), "b2 OK NOOP completed\r\n", 'the session goes on');
send_line($s, '');
like(imap_line($s), qr/^\* BAD .+\r\n\z/, 'an empty line: untagged BAD');
send_line($s, '(((');
like(imap_line($s), qr/^\* BAD .+\r\n\z/, 'garbage: untagged BAD');
is(imap_cmd($s, 'b3 LOGIN demo@example.test wrong'),
   "b3 NO [AUTHENTICATIONFAILED] Authentication failed\r\n",
   'LOGIN, wrong password');
is(imap_cmd($s, 'b4 LOGIN demo@example.test "Secret-1"'),
   "b4 OK [CAPABILITY $caps] Logged in\r\n", 'LOGIN: capabilities change');

# --- authenticated -----------------------------------------------------------
is(imap_cmd($s, 'c1 CAPABILITY'), "* CAPABILITY $caps\r\nc1 OK Capability "
   . "completed\r\n", 'CAPABILITY after login: no AUTH=, no STARTTLS');
is(imap_cmd($s, 'c2 LOGIN demo@example.test Secret-1'),
   "c2 BAD Command not valid in this state\r\n", 'LOGIN again: BAD');
is(imap_cmd($s, 'c3 STARTTLS'), "c3 BAD Command not valid in this state\r\n",
   'STARTTLS after login: BAD');
is(imap_cmd($s, 'c4 NAMESPACE'),
   "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nc4 OK NAMESPACE completed\r\n",
   'NAMESPACE');
is(imap_cmd($s, 'c5 ENABLE CONDSTORE UTF8=ACCEPT'),
   "* ENABLED CONDSTORE\r\nc5 OK ENABLE completed\r\n",
   'ENABLE: CONDSTORE only');
is(imap_cmd($s, 'c5a ENABLE QRESYNC CONDSTORE'),
   "* ENABLED QRESYNC\r\nc5a OK ENABLE completed\r\n",
   'ENABLE: only what was not enabled yet');
is(imap_cmd($s, 'c6 UID FETCH 1 FLAGS'),
   "c6 BAD Command not valid in this state\r\n",
   'UID FETCH without a mailbox: BAD');
is(imap_cmd($s, 'c7 LOGOUT'),
   "* BYE Logging out\r\nc7 OK Logout completed\r\n",
   'LOGOUT: BYE, then OK');
is(imap_line($s), '', 'and the connection is closed');
close $s;

# --- bad input ----------------------------------------------------------------
$s = client($plain);
imap_line($s);
send_line($s, 'h1 NOOP ' . ('x' x 9000));
is(imap_line($s), "h1 BAD Line too long\r\n", 'a line over 8192 octets: BAD');
is(imap_cmd($s, 'h2 NOOP'), "h2 OK NOOP completed\r\n", 'the session goes on');
send_line($s, ('t' x 129) . ' NOOP');
is(imap_line($s), "* BAD Tag too long\r\n",
   'a tag over 128 octets: untagged BAD');
send_line($s, ('t' x 129) . ' NOOP "x');
like(imap_line($s), qr/^\* BAD .+\r\n\z/, 'and after a syntax error');
send_line($s, "h3 NOOP\0");
like(imap_line($s), qr/^h3 BAD .+\r\n\z/, 'NUL: BAD');
# pipelined commands, replies in order
print $s "h4 NOOP\r\nh5 ID NIL\r\nh6 NOOP\r\n";
is(imap_until($s, 'h6'), "h4 OK NOOP completed\r\n* ID (\"name\" "
   . "\"nginx-mailserver\")\r\nh5 OK ID completed\r\nh6 OK NOOP completed\r\n",
   'pipelining');
my $bad = '';
for my $i (1 .. 15) { send_line($s, "x$i FOO"); $bad .= imap_line($s) }
is($bad, join('', map { "x$_ BAD Unknown command\r\n" } 1 .. 15),
   'unknown commands: BAD');
send_line($s, 'x16 FOO');
is(imap_line($s) . imap_line($s), "x16 BAD Unknown command\r\n"
   . "* BYE Too many invalid commands\r\n", 'the 20th error: BYE');
is(imap_line($s), '', 'and closed');
close $s;

# --- idle timeout ------------------------------------------------------------
$s = client($idle);
imap_line($s);
is(imap_line($s), "* BYE Autologout; idle for too long\r\n", 'idle: BYE');
close $s;

# --- starttls only -----------------------------------------------------------
$s = client($only);
is(imap_line($s), "* OK [CAPABILITY $caps STARTTLS LOGINDISABLED] "
                  . "nginx-mailserver ready\r\n",
   '"starttls only": LOGINDISABLED whatever imapd_auth_plaintext says');
close $s;

# --- literals ----------------------------------------------------------------
$s = client($plain);
imap_line($s);
print $s "d1 LOGIN {17}\r\n";
is(imap_line($s), "+ Ready for literal data\r\n",
   'synchronizing literal: "+"');
print $s "demo\@example.test {8}\r\n";
is(imap_line($s), "+ Ready for literal data\r\n", 'a second one');
print $s "Secret-1\r\n";
is(imap_line($s), "d1 OK [CAPABILITY $caps] Logged in\r\n",
   'LOGIN with literals');
close $s;

$s = client($plain);
imap_line($s);
print $s "d2 LOGIN {17+}\r\ndemo\@example.test {8+}\r\nSecret-1\r\n";
is(imap_line($s), "d2 OK [CAPABILITY $caps] Logged in\r\n",
   'LOGIN with LITERAL+: no "+" at all');
close $s;

$s = client($plain);
imap_line($s);
print $s "d3 LOGIN {999999}\r\n";
is(imap_line($s), "d3 BAD Literal too large\r\n", 'a huge literal: refused');
is(imap_cmd($s, 'd4 NOOP'), "d4 OK NOOP completed\r\n", 'the session goes on');
print $s "d5 LOGIN a {20000+}\r\n" . ('x' x 20000) . "\r\nd6 NOOP\r\n";
is(imap_line($s), "d5 BAD Literal too large\r\n",
   'a huge non-synchronizing literal: refused');
is(imap_line($s), "d6 OK NOOP completed\r\n", 'and skipped');
close $s;

# --- AUTHENTICATE ------------------------------------------------------------
my $plain_ir = encode_base64("\0demo\@example.test\0Secret-1", '');
$s = client($plain);
imap_line($s);
is(imap_cmd($s, "e1 AUTHENTICATE PLAIN $plain_ir"),
   "e1 OK [CAPABILITY $caps] Logged in\r\n", 'AUTHENTICATE PLAIN, SASL-IR');
close $s;

$s = client($plain);
imap_line($s);
send_line($s, 'e2 AUTHENTICATE PLAIN');
is(imap_line($s), "+ \r\n", 'AUTHENTICATE PLAIN: empty challenge');
is(imap_cmd($s, $plain_ir, 'e2'), "e2 OK [CAPABILITY $caps] Logged in\r\n",
   'AUTHENTICATE PLAIN without SASL-IR');
close $s;

$s = client($plain);
imap_line($s);
send_line($s, 'e3 AUTHENTICATE LOGIN');
is(imap_line($s), "+ VXNlcm5hbWU6\r\n", 'AUTHENTICATE LOGIN: Username:');
send_line($s, encode_base64('demo@example.test', ''));
is(imap_line($s), "+ UGFzc3dvcmQ6\r\n", 'Password:');
is(imap_cmd($s, encode_base64('wrong', ''), 'e3'),
   "e3 NO [AUTHENTICATIONFAILED] Authentication failed\r\n",
   'AUTHENTICATE LOGIN, wrong password');
send_line($s, 'e4 AUTHENTICATE PLAIN');
imap_line($s);
is(imap_cmd($s, '*', 'e4'), "e4 BAD Authentication cancelled\r\n",
   '"*" cancels: BAD');
is(imap_cmd($s, 'e5 AUTHENTICATE CRAM-MD5'),
   "e5 NO Unsupported authentication mechanism\r\n", 'unknown mechanism');
is(imap_cmd($s, 'e6 AUTHENTICATE PLAIN !!!'), "e6 BAD Invalid base64 data\r\n",
   'bad base64');
is(imap_cmd($s, 'e7 NOOP'), "e7 OK NOOP completed\r\n", 'the session goes on');
close $s;

# --- no TLS, no plaintext auth: LOGINDISABLED --------------------------------
$s = client($tls);
is(imap_line($s), "* OK [CAPABILITY $caps STARTTLS LOGINDISABLED] "
                  . "nginx-mailserver ready\r\n", 'LOGINDISABLED without TLS');
is(imap_cmd($s, 'f1 LOGIN demo@example.test Secret-1'),
   "f1 NO [PRIVACYREQUIRED] Plaintext authentication disallowed on "
   . "non-secure connections\r\n", 'LOGIN refused');
is(imap_cmd($s, "f2 AUTHENTICATE PLAIN $plain_ir"),
   "f2 NO [PRIVACYREQUIRED] Plaintext authentication disallowed on "
   . "non-secure connections\r\n", 'AUTHENTICATE refused');
# pipelined after STARTTLS: must be dropped (CVE-2011-0411)
print $s "f3 STARTTLS\r\nf4 NOOP\r\n";
is(imap_line($s), "f3 OK Begin TLS negotiation now\r\n", 'STARTTLS');
IO::Socket::SSL->start_SSL($s, SSL_verify_mode => SSL_VERIFY_NONE)
    or die "TLS: $SSL_ERROR";
is(imap_cmd($s, 'f5 CAPABILITY'),
   "* CAPABILITY $caps AUTH=PLAIN AUTH=LOGIN\r\n"
   . "f5 OK Capability completed\r\n",
   'after STARTTLS: AUTH=, no STARTTLS, no LOGINDISABLED; f4 was dropped');
is(imap_cmd($s, 'f6 STARTTLS'), "f6 BAD STARTTLS not available\r\n",
   'STARTTLS twice: BAD');
is(imap_cmd($s, 'f7 LOGIN demo@example.test Secret-1'),
   "f7 OK [CAPABILITY $caps] Logged in\r\n", 'LOGIN over TLS');
close $s;

# --- Redis down --------------------------------------------------------------
$t->stop_redis;
$s = client($plain);
imap_line($s);
is(imap_cmd($s, 'g1 LOGIN demo@example.test Secret-1'),
   "g1 NO [UNAVAILABLE] Temporary authentication failure\r\n",
   'Redis down: NO [UNAVAILABLE]');
is(imap_cmd($s, 'g2 NOOP'), "g2 OK NOOP completed\r\n", 'the session goes on');
close $s;

done_testing;
