# Logins against the accounts in Redis, through SMTP AUTH: right and wrong
# passwords, every accepted hash scheme, disabled and unknown users, and the
# throttling of failed logins per user and per client address.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64 qw(encode_base64);
use Net::SMTP;
use MailTest qw(free_port client send_line reply_of);

my $t = MailTest->new;
$t->start_redis;
my $port = free_port();
my $strict = free_port();

$t->start_nginx(<<CONF, ports => [$port, $strict]);
    mail_auth_throttle user=3 ip=6 window=60s;
    server {
        listen 127.0.0.1:$port;
        protocol smtpd;
        smtpd_auth_plaintext on;
    }
    server {
        listen 127.0.0.1:$strict;
        protocol smtpd;
    }
CONF

$t->add_user('demo@example.test', 'Secret-1');

sub plain { encode_base64(join("\0", @_), '') }

sub session {
    my $s = client($port);
    like(reply_of($s), qr/^220 mx\.example\.test ESMTP\r\n\z/, 'greeting');
    send_line($s, 'EHLO client.example');
    like(reply_of($s), qr/^250-mx\.example\.test\r\n.*^250-AUTH PLAIN LOGIN\r\n/ms,
         'EHLO offers AUTH PLAIN LOGIN');
    return $s;
}

sub auth_plain {
    my ($s, @cred) = @_;
    send_line($s, 'AUTH PLAIN ' . plain(@cred));
    return reply_of($s);
}

my $s = session();
is(auth_plain($s, '', 'demo@example.test', 'Secret-1'),
   "235 2.7.0 Authentication successful\r\n", 'right password: 235');
send_line($s, 'AUTH PLAIN ' . plain('', 'demo@example.test', 'Secret-1'));
is(reply_of($s), "503 5.5.1 Error: already authenticated\r\n",
   'a second AUTH: 503');
close $s;

$s = session();
is(auth_plain($s, '', 'DEMO@Example.TEST', 'Secret-1'),
   "235 2.7.0 Authentication successful\r\n", 'login is case-insensitive');
close $s;

$s = session();
is(auth_plain($s, '', 'demo@example.test', 'secret-1'),
   "535 5.7.8 Authentication credentials invalid\r\n",
   'wrong password: 535');
is($t->redis('GET', 'user:{demo@example.test}:authfail'), 1,
   'the failure is counted for the user');
is($t->redis('GET', 'authfail:ip:{127.0.0.1}'), 1,
   'and for the client address');
cmp_ok($t->redis('TTL', 'user:{demo@example.test}:authfail'), '>', 0,
       'the user counter expires');
is(auth_plain($s, '', 'demo@example.test', 'Secret-1'),
   "235 2.7.0 Authentication successful\r\n",
   'the session goes on: right password now works');
# parallel guesses: every attempt is counted before its password is checked,
# so ten connections at once get no more than the limit of tries
# (tested below, after the single-connection cases)

# the counter is cleared without delaying the reply: allow it a moment
my $cleared = 0;
for (1 .. 100) {
    $cleared = 1, last
        if $t->redis('EXISTS', 'user:{demo@example.test}:authfail') eq '0';
    select undef, undef, undef, 0.02;
}
ok($cleared, 'a good login clears the user counter');
close $s;

$s = session();
is(auth_plain($s, 'other@example.test', 'demo@example.test', 'Secret-1'),
   "535 5.7.8 Authentication credentials invalid\r\n",
   'PLAIN with a foreign authzid is refused');
is(auth_plain($s, 'demo@example.test', 'demo@example.test', 'Secret-1'),
   "235 2.7.0 Authentication successful\r\n",
   'PLAIN with authzid equal to the login works');
close $s;

# AUTH LOGIN, with and without an initial response
$s = session();
send_line($s, 'AUTH LOGIN');
is(reply_of($s), "334 VXNlcm5hbWU6\r\n", 'LOGIN asks for the username');
send_line($s, encode_base64('demo@example.test', ''));
is(reply_of($s), "334 UGFzc3dvcmQ6\r\n", 'then for the password');
send_line($s, encode_base64('Secret-1', ''));
is(reply_of($s), "235 2.7.0 Authentication successful\r\n", 'LOGIN works');
close $s;

$s = session();
send_line($s, 'AUTH LOGIN ' . encode_base64('demo@example.test', ''));
is(reply_of($s), "334 UGFzc3dvcmQ6\r\n", 'LOGIN with initial response');
send_line($s, encode_base64('Secret-1', ''));
is(reply_of($s), "235 2.7.0 Authentication successful\r\n",
   'LOGIN with initial response works');
close $s;

# malformed exchanges get a 5xx and the session goes on
$s = session();
send_line($s, 'AUTH PLAIN');
is(reply_of($s), "334 \r\n", 'PLAIN without initial response: 334');
send_line($s, '*');
is(reply_of($s), "501 5.7.0 Authentication aborted\r\n", '"*" cancels');
send_line($s, 'AUTH PLAIN !!!not-base64!!!');
is(reply_of($s), "501 5.5.2 Cannot decode response\r\n", 'bad base64: 501');
send_line($s, 'AUTH CRAM-MD5');
is(reply_of($s), "504 5.5.4 Unrecognized authentication type\r\n",
   'unknown mechanism: 504');
send_line($s, 'AUTH');
is(reply_of($s), "501 5.5.4 Syntax: AUTH mechanism\r\n", 'no mechanism: 501');
send_line($s, 'NOOP');
is(reply_of($s), "250 2.0.0 Ok\r\n", 'the session goes on');
close $s;

$s = client($port);
reply_of($s);
send_line($s, 'AUTH PLAIN ' . plain('', 'demo@example.test', 'Secret-1'));
is(reply_of($s), "503 5.5.1 Error: send EHLO first\r\n",
   'AUTH before EHLO: 503');
close $s;

# without TLS and without smtpd_auth_plaintext, AUTH is not offered
$s = client($strict);
reply_of($s);
send_line($s, 'EHLO client.example');
unlike(reply_of($s), qr/AUTH/, 'no AUTH in EHLO before TLS by default');
send_line($s, 'AUTH PLAIN ' . plain('', 'demo@example.test', 'Secret-1'));
is(reply_of($s), "503 5.5.1 Error: authentication not enabled\r\n",
   'and AUTH is refused');
close $s;

# every hash scheme mailctl can write is accepted
my %schemes = (
    'bcrypt'       => '$2b$05$abcdefghijklmnopqrstuu',
    'sha512-crypt' => '$6$saltsaltsalt$',
    'yescrypt'     => '$y$j9T$abcdefghijklmnopqrstu.$',
);
for my $scheme (sort keys %schemes) {
    my $user = "$scheme\@example.test";
    my $hash = $t->add_user($user, "pw-$scheme", salt => $schemes{$scheme});
    like($hash, qr/^\Q$schemes{$scheme}\E/, "stored a $scheme hash");
    $s = session();
    is(auth_plain($s, '', $user, "pw-$scheme"),
       "235 2.7.0 Authentication successful\r\n", "$scheme hash: 235");
    close $s;
}

# a disabled account and an unknown user fail like a wrong password
$t->add_user('off@example.test', 'Secret-2', enabled => 0);
$s = session();
is(auth_plain($s, '', 'off@example.test', 'Secret-2'),
   "535 5.7.8 Authentication credentials invalid\r\n",
   'disabled account: 535');
is(auth_plain($s, '', 'nobody@example.test', 'Secret-2'),
   "535 5.7.8 Authentication credentials invalid\r\n", 'unknown user: 535');
close $s;

# Net::SMTP, a real client library, logs in too
$t->redis('DEL', 'authfail:ip:{127.0.0.1}');
my $smtp = Net::SMTP->new('127.0.0.1', Port => $port, Hello => 'client',
                          Timeout => 10);
ok($smtp, 'Net::SMTP connects');
ok($smtp->auth('demo@example.test', 'Secret-1'), 'Net::SMTP auth works');
$smtp->quit;

# throttling: user=3 failures block the user, even with the right password
$t->redis('DEL', 'authfail:ip:{127.0.0.1}');
$s = session();
for my $n (1 .. 3) {
    is(auth_plain($s, '', 'demo@example.test', "wrong-$n"),
       "535 5.7.8 Authentication credentials invalid\r\n", "failure $n");
}
close $s;
$s = session();
is(auth_plain($s, '', 'demo@example.test', 'Secret-1'),
   "454 4.7.0 Too many failed logins, try again later\r\n",
   'after 3 failures the user is throttled, right password or not');
# the refused attempt takes its count back without delaying the reply
my $count;
for (1 .. 100) {
    $count = $t->redis('GET', 'user:{demo@example.test}:authfail');
    last if $count eq '3';
    select undef, undef, undef, 0.02;
}
is($count, 3, 'a throttled attempt is not counted');
close $s;

# ip=6: failures for other users from the same address add up
$s = session();
for my $n (1 .. 3) {
    auth_plain($s, '', "stranger$n\@example.test", 'x');
}
close $s;
for (1 .. 100) {
    $count = $t->redis('GET', 'authfail:ip:{127.0.0.1}');
    last if $count eq '6';
    select undef, undef, undef, 0.02;
}
is($count, 6, 'six failures from here, good logins not counted');
$t->redis('DEL', 'user:{demo@example.test}:authfail');
$s = session();
is(auth_plain($s, '', 'bcrypt@example.test', 'pw-bcrypt'),
   "454 4.7.0 Too many failed logins, try again later\r\n",
   'the client address is throttled for every user');
close $s;

# ten parallel wrong guesses for one user: at most user=3 are checked
$t->redis('DEL', 'authfail:ip:{127.0.0.1}', 'user:{bob-x@example.test}:authfail');
$t->add_user('bob-x@example.test', 'Secret-9');
my @par = map { session() } 1 .. 10;
print $_ "AUTH PLAIN " . plain('', 'bob-x@example.test', 'guess') . "\r\n" for @par;
my %replies;
$replies{ reply_of($_) }++ for @par;
close $_ for @par;
is($replies{"535 5.7.8 Authentication credentials invalid\r\n"}, 3,
   'ten parallel guesses: three are checked');
is($replies{"454 4.7.0 Too many failed logins, try again later\r\n"}, 7,
   'and seven are refused unheard');

# after the window (counters gone) logins work again
$t->redis('DEL', 'authfail:ip:{127.0.0.1}');
$s = session();
is(auth_plain($s, '', 'demo@example.test', 'Secret-1'),
   "235 2.7.0 Authentication successful\r\n", 'counters expired: 235');
close $s;

done_testing;
