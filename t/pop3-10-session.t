# POP3: states, every command, CAPA, logins (USER/PASS, AUTH PLAIN and
# LOGIN with initial responses, APOP), STLS, exact octet counts and
# dot-stuffing, TOP, UIDL, deletions only at QUIT, \Seen on RETR, the
# maildrop lock across two nginx instances, and bad input.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Net::POP3;
use IO::Socket::SSL;
use Digest::MD5 qw(md5_hex);
use MIME::Base64 qw(encode_base64);
use MailTest qw(free_port client send_line smtp_deliver);

my $t = MailTest->new;
$t->start_redis;
my ($smtp, $pop, $tls, $apop, $noseen) = map { free_port() } 1 .. 5;
my ($crt, $key) = $t->tls_cert;

$t->start_nginx(<<CONF, ports => [$smtp, $pop, $tls, $apop, $noseen]);
    ssl_certificate $crt;
    ssl_certificate_key $key;
    server { listen 127.0.0.1:$smtp; protocol smtpd; }
    server {
        listen 127.0.0.1:$pop;
        protocol pop3d;
        pop3d_auth_plaintext on;
        starttls on;
    }
    server { listen 127.0.0.1:$tls; protocol pop3d; starttls on; }
    server { listen 127.0.0.1:$apop; protocol pop3d; pop3d_apop on; }
    server {
        listen 127.0.0.1:$noseen;
        protocol pop3d;
        pop3d_auth_plaintext on;
        pop3d_retr_seen off;
    }
CONF
$t->add_user('demo@example.test', 'Secret-1');

# a message through our own SMTP server
sub deliver { smtp_deliver($smtp, 'demo@example.test', $_[0]) }

# one POP3 line reply, or a multi-line one up to "."
sub line { my $s = shift; local $SIG{ALRM} = sub { die "timeout\n" };
           alarm 10; my $l = <$s>; alarm 0; return defined $l ? $l : '' }

sub multi {
    my ($s) = @_;
    my $first = line($s);
    return ($first, undef) unless $first =~ /^\+OK/;
    my $body = '';
    while (1) {
        my $l = line($s);
        last if $l eq ".\r\n" || $l eq '';
        $body .= $l;
    }
    return ($first, $body);
}

sub cmd {
    my ($s, $line) = @_;
    send_line($s, $line);
    return line($s);
}

sub login {
    my ($port) = @_;
    my $s = client($port || $pop);
    line($s);
    cmd($s, 'USER demo@example.test');
    my $r = cmd($s, 'PASS Secret-1');
    return wantarray ? ($s, $r) : $s;
}

my $m1 = "Subject: first\r\n\r\nline one\r\n.starts with a dot\r\n..two dots\r\nlast\r\n";
my $m2 = "Subject: second\r\nX-Long: yes\r\n\r\n" . join('', map { "body line $_\r\n" } 1 .. 5);
deliver($m1);
deliver($m2);
deliver("Subject: third\r\n\r\nthird\r\n");

# --- AUTHORIZATION ----------------------------------------------------------
my $s = client($pop);
is(line($s), "+OK POP3 server ready\r\n", 'greeting');
send_line($s, 'CAPA');
my ($ok, $capa) = multi($s);
is($ok, "+OK Capability list follows\r\n", 'CAPA');
is($capa, "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nUSER\r\n"
          . "SASL PLAIN LOGIN\r\nSTLS\r\nIMPLEMENTATION nginx-mailserver\r\n",
   'CAPA lists exactly what is supported');
is(cmd($s, 'STAT'), "-ERR Command not valid in this state\r\n",
   'STAT before login: -ERR');
is(cmd($s, 'PASS x'), "-ERR No username given\r\n", 'PASS before USER');
is(cmd($s, 'USER demo@example.test'), "+OK\r\n", 'USER');
is(cmd($s, 'PASS wrong'), "-ERR [AUTH] Authentication failed\r\n",
   'wrong password: -ERR [AUTH]');
is(cmd($s, 'FOO'), "-ERR Unknown command\r\n", 'unknown command');
is(cmd($s, 'USER demo@example.test'), "+OK\r\n", 'USER again');
is(cmd($s, 'PASS Secret-1'), "+OK Logged in, 3 messages\r\n", 'PASS: logged in');

# --- TRANSACTION -------------------------------------------------------------
is(cmd($s, 'USER x'), "-ERR Command not valid in this state\r\n",
   'USER after login: -ERR');
my $stat = cmd($s, 'STAT');
like($stat, qr/^\+OK 3 (\d+)\r\n\z/, 'STAT: 3 messages');
send_line($s, 'LIST');
my ($list_ok, $list) = multi($s);
like($list_ok, qr/^\+OK 3 \d+\r\n/, 'LIST');
my %size = $list =~ /^(\d+) (\d+)\r$/mg;
is(scalar(keys %size), 3, 'three sizes');
my ($total) = $stat =~ /^\+OK 3 (\d+)/;
is($size{1} + $size{2} + $size{3}, $total, 'STAT total is the sum of LIST');
is(cmd($s, 'LIST 2'), "+OK 2 $size{2}\r\n", 'LIST 2');
is(cmd($s, 'LIST 4'), "-ERR There's no message 4\r\n", 'LIST 4: no such');
is(cmd($s, 'LIST 0'), "-ERR There's no message 0\r\n", 'LIST 0: no such');
is(cmd($s, 'LIST x'), "-ERR Invalid message number\r\n", 'LIST x');

send_line($s, 'RETR 1');
my ($retr_ok, $retr) = multi($s);
is($retr_ok, "+OK $size{1} octets\r\n", 'RETR: +OK with the octet count');
(my $unstuffed = $retr) =~ s/^\.\./\./mg;
is(length $unstuffed, $size{1}, 'the octet count is exact for the CRLF form');
like($retr, qr/\r\n\.\.starts with a dot\r\n\.\.\.two dots\r\n/,
     'lines starting with "." are dot-stuffed');
like($unstuffed, qr/\r\n\Q$m1\E\z/, 'the message arrives whole');

send_line($s, 'TOP 2 2');
my ($top_ok, $top) = multi($s);
is($top_ok, "+OK\r\n", 'TOP');
like($top, qr/X-Long: yes\r\n\r\nbody line 1\r\nbody line 2\r\n\z/,
     'TOP 2 2: the header and two body lines');
send_line($s, 'TOP 2 0');
(undef, $top) = multi($s);
like($top, qr/X-Long: yes\r\n\r\n\z/, 'TOP 2 0: the header only');

send_line($s, 'UIDL');
my ($uidl_ok, $uidl) = multi($s);
is($uidl_ok, "+OK\r\n", 'UIDL');
my %uidl = $uidl =~ /^(\d+) (\S+)\r$/mg;
is(scalar(keys %uidl), 3, 'three UIDLs');
my $uidvalidity = $t->redis('HGET', 'mailbox:{demo@example.test}:1',
                            'uidvalidity');
is($uidl{1}, sprintf('%08x%08x', 1, $uidvalidity),
   'UIDL = UID and UIDVALIDITY, as Dovecot\'s default format');
is(cmd($s, 'UIDL 3'), "+OK 3 $uidl{3}\r\n", 'UIDL 3');

is($t->redis('HGET', 'msg:{demo@example.test}:1:1', 'flags'), '\\Seen',
   'RETR set \\Seen');
is($t->redis('HGET', 'msg:{demo@example.test}:1:2', 'flags'), '',
   'TOP did not');

is(cmd($s, 'DELE 1'), "+OK Marked to be deleted\r\n", 'DELE 1');
is(cmd($s, 'DELE 1'), "-ERR Message 1 is deleted\r\n", 'DELE 1 again');
is(cmd($s, 'RETR 1'), "-ERR Message 1 is deleted\r\n", 'RETR of a deleted');
like(cmd($s, 'STAT'), qr/^\+OK 2 /, 'STAT counts what is left');
is(cmd($s, 'RSET'), "+OK\r\n", 'RSET');
like(cmd($s, 'STAT'), qr/^\+OK 3 /, 'RSET undeletes');
is(cmd($s, 'DELE 1'), "+OK Marked to be deleted\r\n", 'DELE 1 once more');
is(cmd($s, 'NOOP'), "+OK\r\n", 'NOOP');
close $s;    # no QUIT: RFC 1939 6, nothing is deleted

my $c2;
for (1 .. 100) {
    ($c2, my $r) = login();
    last if $r =~ /^\+OK/;
    close $c2;
    select undef, undef, undef, 0.05;    # the lock goes with the session
}
like(cmd($c2, 'STAT'), qr/^\+OK 3 /,
     'a session that ends without QUIT deletes nothing');

# the UPDATE state
is(cmd($c2, 'DELE 2'), "+OK Marked to be deleted\r\n", 'DELE 2');
my $blob2 = $t->redis('HGET', 'msg:{demo@example.test}:1:2', 'blob');
is(cmd($c2, 'QUIT'), "+OK Logging out, messages deleted\r\n",
   'QUIT: UPDATE state, deleted');
is(line($c2), '', 'and the server closes');
is($t->redis('ZRANGE', 'mailbox:{demo@example.test}:1:uids', 0, -1),
   "1\n3", 'UID 2 is gone from the mailbox');
is($t->redis('HGET', 'mailbox:{demo@example.test}:1', 'messages'), 2,
   'the message count follows');
is($t->redis('EXISTS', "blob:{$blob2}"), 0, 'its only blob reference went');
is($t->redis('ZSCORE', 'mailbox:{demo@example.test}:1:expunged', 2) > 0, 1,
   'the expunge is recorded for IMAP');

# --- the maildrop lock ------------------------------------------------------
my $a = login();
my ($b, $r) = login();
is($r, "-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n",
   'a second session: -ERR [IN-USE]');
is(cmd($b, 'NOOP'), "-ERR Command not valid in this state\r\n",
   'and stays in AUTHORIZATION');

# a second nginx on the same Redis: the lock holds across nodes
my $t2 = MailTest->new;
$t2->{redis_port} = $t->redis_port;
my $pop2 = free_port();
$t2->start_nginx(<<CONF, ports => [$pop2]);
    server { listen 127.0.0.1:$pop2; protocol pop3d; pop3d_auth_plaintext on; }
CONF
(undef, $r) = login($pop2);
is($r, "-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n",
   'the lock holds on another nginx sharing the Redis');
cmd($a, 'QUIT');
my $ok2 = '';
for (1 .. 100) {
    (my $c, $ok2) = login($pop2);
    close $c;
    last if $ok2 =~ /^\+OK/;
    select undef, undef, undef, 0.05;
}
like($ok2, qr/^\+OK Logged in/, 'after QUIT the other node gets it');

# a lock left by a node that died expires by itself
$t->redis('SET', 'lock:pop3:{demo@example.test}', 'dead-node', 'PX', 1500);
(undef, $r) = login();
like($r, qr/IN-USE/, 'a dead node\'s lock holds for now');
$ok2 = '';
for (1 .. 100) {
    (my $c, $ok2) = login();
    close $c;
    last if $ok2 =~ /^\+OK/;
    select undef, undef, undef, 0.05;
}
like($ok2, qr/^\+OK Logged in/, 'then expires');
$t2->stop_nginx;

# --- AUTH (RFC 5034) --------------------------------------------------------
sub fresh {
    my ($port) = @_;
    for (1 .. 100) {
        last unless $t->redis('EXISTS', 'lock:pop3:{demo@example.test}');
        select undef, undef, undef, 0.05;
    }
    my $s = client($port || $pop);
    return ($s, line($s));
}

($s) = fresh();
send_line($s, 'AUTH');
my ($auth_ok, $mechs) = multi($s);
is($mechs, "PLAIN\r\nLOGIN\r\n", 'AUTH lists the mechanisms');
is(cmd($s, 'AUTH PLAIN ' . encode_base64("\0demo\@example.test\0Secret-1", '')),
   "+OK Logged in, 2 messages\r\n", 'AUTH PLAIN with initial response');
cmd($s, 'QUIT');
($s) = fresh();
is(cmd($s, 'AUTH PLAIN'), "+ \r\n", 'AUTH PLAIN: continuation');
is(cmd($s, encode_base64("\0demo\@example.test\0Secret-1", '')),
   "+OK Logged in, 2 messages\r\n", 'then the response');
cmd($s, 'QUIT');
($s) = fresh();
is(cmd($s, 'AUTH LOGIN ' . encode_base64('demo@example.test', '')),
   "+ UGFzc3dvcmQ6\r\n", 'AUTH LOGIN with the user');
is(cmd($s, encode_base64('Secret-1', '')), "+OK Logged in, 2 messages\r\n",
   'AUTH LOGIN');
cmd($s, 'QUIT');
($s) = fresh();
is(cmd($s, 'AUTH PLAIN'), "+ \r\n", 'AUTH PLAIN');
is(cmd($s, '*'), "-ERR Authentication aborted\r\n", '"*" aborts');
is(cmd($s, 'AUTH PLAIN !!!'), "-ERR Cannot decode response\r\n", 'bad base64');
is(cmd($s, 'AUTH CRAM-MD5'), "-ERR Unsupported authentication mechanism\r\n",
   'unknown mechanism');
close $s;

# --- no plaintext before TLS, STLS -------------------------------------------
($s) = fresh($tls);
send_line($s, 'CAPA');
(undef, $capa) = multi($s);
unlike($capa, qr/USER|SASL/, 'no USER or SASL before TLS by default');
like($capa, qr/^STLS\r$/m, 'STLS offered');
is(cmd($s, 'USER demo@example.test'),
   "-ERR [AUTH] Plaintext authentication disallowed on non-secure "
   . "connections\r\n", 'USER refused before TLS');
print $s "STLS\r\nUSER injected\@example.test\r\n";
is(line($s), "+OK Begin TLS negotiation\r\n", 'STLS');
ok(IO::Socket::SSL->start_SSL($s, SSL_verify_mode => SSL_VERIFY_NONE),
   'TLS handshake');
is(cmd($s, 'PASS Secret-1'), "-ERR No username given\r\n",
   'the USER pipelined behind STLS was discarded');
send_line($s, 'CAPA');
(undef, $capa) = multi($s);
like($capa, qr/^USER\r$/m, 'USER offered over TLS');
unlike($capa, qr/STLS/, 'STLS no longer offered');
cmd($s, 'USER demo@example.test');
is(cmd($s, 'PASS Secret-1'), "+OK Logged in, 2 messages\r\n",
   'login over TLS');
cmd($s, 'QUIT');

# --- APOP (RFC 1939 7) ------------------------------------------------------
$t->redis('HSET', 'user:{demo@example.test}', 'apop_secret', 'tanstaaf');
my $greet;
($s, $greet) = fresh($apop);
my ($stamp) = $greet =~ /^\+OK POP3 server ready (<[^>]+>)\r\n\z/;
ok($stamp, 'the greeting carries a timestamp');
is(cmd($s, 'APOP demo@example.test ' . md5_hex($stamp . 'wrong')),
   "-ERR [AUTH] Authentication failed\r\n", 'APOP with a wrong digest');
is(cmd($s, 'APOP demo@example.test ' . md5_hex($stamp . 'tanstaaf')),
   "+OK Logged in, 2 messages\r\n", 'APOP with the right digest');
cmd($s, 'QUIT');
($s, $greet) = fresh($pop);
is($greet, "+OK POP3 server ready\r\n", 'no timestamp without pop3d_apop');
is(cmd($s, 'APOP demo@example.test 0123456789abcdef0123456789abcdef'),
   "-ERR APOP not available\r\n", 'and APOP is refused');
close $s;

# --- pop3d_retr_seen off ----------------------------------------------------
deliver("Subject: unseen\r\n\r\nstill unseen\r\n");
($s) = fresh($noseen);
cmd($s, 'USER demo@example.test');
cmd($s, 'PASS Secret-1');
send_line($s, 'RETR 3');
multi($s);
cmd($s, 'QUIT');
my $uid = (split /\n/, $t->redis('ZRANGE', 'mailbox:{demo@example.test}:1:uids',
                                 -1, -1))[0];
is($t->redis('HGET', "msg:{demo\@example.test}:1:$uid", 'flags'), '',
   'pop3d_retr_seen off: RETR leaves the message unseen');

# --- bad input --------------------------------------------------------------
($s) = fresh();
cmd($s, 'USER demo@example.test');
cmd($s, 'PASS Secret-1');
is(cmd($s, 'RETR 99'), "-ERR There's no message 99\r\n", 'RETR 99');
is(cmd($s, 'TOP 1'), "-ERR Syntax: TOP msg lines\r\n", 'TOP without lines');
is(cmd($s, 'NOOP ' . ('x' x 300)), "-ERR Line too long\r\n", 'line too long');
is(cmd($s, 'NOOP'), "+OK\r\n", 'the session goes on');
# errors so far: TOP's syntax and the long line; a missing message is none
for my $n (3 .. 9) {
    is(cmd($s, 'BOGUS'), "-ERR Unknown command\r\n", "bad command $n");
}
is(cmd($s, 'BOGUS'), "-ERR Unknown command\r\n", 'the tenth bad command');
is(line($s), "-ERR Too many bad commands\r\n", 'is one too many');
is(line($s), '', 'and the connection is closed');

# --- Net::POP3, a real client library ---------------------------------------
for (1 .. 100) {
    last unless $t->redis('EXISTS', 'lock:pop3:{demo@example.test}');
    select undef, undef, undef, 0.05;
}
my $np = Net::POP3->new('127.0.0.1', Port => $pop, Timeout => 10);
ok($np, 'Net::POP3 connects');
is($np->login('demo@example.test', 'Secret-1'), 3, 'Net::POP3 login: 3');
my $msgs = $np->list;
is(scalar(keys %$msgs), 3, 'Net::POP3 list');
my $lines = $np->get(1);
# Net::Cmd hands lines over with "\n" ends
(my $got = join '', @$lines) =~ s/\n/\r\n/g;
is($got, $unstuffed, 'Net::POP3 get: the same message');
ok($np->delete(1), 'Net::POP3 delete');
$np->quit;
is($t->redis('HGET', 'mailbox:{demo@example.test}:1', 'messages'), 2,
   'Net::POP3 quit deleted it');

# --- Redis gone: temporary failure ------------------------------------------
$t->stop_redis;
($s) = (client($pop));
line($s);
cmd($s, 'USER demo@example.test');
is(cmd($s, 'PASS Secret-1'),
   "-ERR [SYS/TEMP] Temporary authentication failure\r\n",
   'Redis down: -ERR [SYS/TEMP]');
close $s;

done_testing;
