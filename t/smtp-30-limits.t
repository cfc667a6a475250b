# An open-relay battery (none may relay), the command timeout, the 421 of
# a graceful shutdown, too many recipients, and mail_redis_wait with and
# without a replica.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port reply_of smtp_cmd smtp_session);

my $t = MailTest->new;
$t->start_redis;
my ($mx, $slow) = (free_port(), free_port());

$t->start_nginx(<<CONF, ports => [$mx, $slow]);
    smtpd_max_recipients 3;
    server { listen 127.0.0.1:$mx; protocol smtpd; }
    server { listen 127.0.0.1:$slow; protocol smtpd; timeout 1s; }
CONF
$t->add_user('demo@example.test', 'Secret-1');
$t->add_user('bob@example.test', 'Secret-2');

sub session { smtp_session($_[0] || $mx) }

# --- open relay battery: every trick is refused without AUTH ----------------
my $s = session();
smtp_cmd($s, 'MAIL FROM:<spammer@remote.example>');
my %relay = (
    '<victim%elsewhere.example@example.test>' =>
        qr/^550 5\.1\.1 .*User unknown/,           # percent hack
    '<elsewhere.example!victim@example.test>' =>
        qr/^550 5\.1\.1 .*User unknown/,           # bang path
    '<@example.test:victim@elsewhere.example>' =>
        qr/^554 5\.7\.1 <victim\@elsewhere\.example>: Relay access denied/,
    '<"victim@elsewhere.example"@example.test>' =>
        qr/^550 5\.1\.1 .*User unknown/,           # quoted local part
    '<victim@[127.0.0.1]>' => qr/^554 5\.7\.1 .*Relay access denied/,
    '<victim@[IPv6:::1]>'  => qr/^554 5\.7\.1 .*Relay access denied/,
    '<victim@>'            => qr/^501 5\.1\.3 /,
    '<victim>'             => qr/^5\d\d /,
    '<victim@elsewhere.example.>' => qr/^5\d\d /,
    '<victim@ELSEWHERE.example>'  => qr/^554 5\.7\.1 .*Relay access denied/,
    '<victim@example.test.elsewhere.example>' =>
        qr/^554 5\.7\.1 .*Relay access denied/,
);
for my $rcpt (sort keys %relay) {
    like(smtp_cmd($s, "RCPT TO:$rcpt"), $relay{$rcpt}, "no relay: $rcpt");
}
is(smtp_cmd($s, 'DATA'), "503 5.5.1 Error: need RCPT command\r\n",
   'and nothing was accepted');
close $s;

# --- too many recipients ---------------------------------------------------
$s = session();
smtp_cmd($s, 'MAIL FROM:<a@remote.example>');
for my $n (1 .. 3) {
    is(smtp_cmd($s, 'RCPT TO:<demo@example.test>'), "250 2.1.5 Ok\r\n",
       "recipient $n");
}
is(smtp_cmd($s, 'RCPT TO:<bob@example.test>'),
   "452 4.5.3 Error: too many recipients\r\n",
   'the fourth: 452 4.5.3 (smtpd_max_recipients 3)');
close $s;

# --- timeout: 421 and the connection closes --------------------------------
$s = session($slow);
is(reply_of($s), "421 4.4.2 mx.example.test Error: timeout exceeded\r\n",
   'an idle client gets 421 4.4.2 after "timeout"');
is(reply_of($s), '', 'and is disconnected');
close $s;

# --- graceful shutdown: idle sessions get 421 4.3.2 -------------------------
$s = session();
is(smtp_cmd($s, 'NOOP'), "250 2.0.0 Ok\r\n", 'an idle session');
kill 'QUIT', $t->{pids}{nginx};
is(reply_of($s), "421 4.3.2 mx.example.test Service shutting down\r\n",
   'nginx -s quit: 421 4.3.2');
is(reply_of($s), '', 'and the connection is closed');
close $s;
waitpid delete $t->{pids}{nginx}, 0;

# --- mail_redis_wait -------------------------------------------------------
my $port = free_port();
$t->start_nginx(<<CONF, ports => [$port]);
    mail_redis_wait 1 300ms;
    server { listen 127.0.0.1:$port; protocol smtpd; }
CONF

sub send_one {
    my $s = session($port);
    smtp_cmd($s, 'MAIL FROM:<a@remote.example>');
    smtp_cmd($s, 'RCPT TO:<demo@example.test>');
    smtp_cmd($s, 'DATA');
    print $s "Subject: replicas\r\n\r\nhi\r\n.\r\n";
    my $reply = reply_of($s);
    close $s;
    return $reply;
}

is(send_one(), "451 4.3.0 Error: queue file write error\r\n",
   'no replica acknowledges: 451, the client will retry');
like($t->error_log, qr/reached 0 of 1 replicas in 300 ms/,
     'and the log says why');

my $replica = MailTest->new;
$replica->start_redis;
$replica->redis('REPLICAOF', '127.0.0.1', $t->redis_port);
my $synced = 0;
for (1 .. 200) {
    $synced = 1, last
        if $t->redis('INFO', 'replication') =~ /connected_slaves:1/
           && $replica->redis('INFO', 'replication')
              =~ /master_link_status:up/;
    select undef, undef, undef, 0.05;
}
ok($synced, 'a replica is attached');

# a generous timeout: a loaded machine must not make this test flaky
$t->stop_nginx;
$port = free_port();
$t->start_nginx(<<CONF, ports => [$port]);
    mail_redis_wait 1 4s;
    server { listen 127.0.0.1:$port; protocol smtpd; }
CONF
like(send_one(), qr/^250 2\.0\.0 Ok: queued as /,
     'with a replica that acknowledges: 250');
my $id = $replica->redis('HGET', 'mailboxes:{demo@example.test}', 'INBOX');
ok($replica->redis('HGET', "mailbox:{demo\@example.test}:$id", 'messages') >= 1,
   'the message is on the replica');

my ($rc, $out) = $t->nginx_test_conf(<<CONF);
    mail_redis_wait 0 1s;
    server { listen 127.0.0.1:$port; protocol smtpd; }
CONF
like($out, qr/invalid number of replicas "0" in "mail_redis_wait"/,
     'mail_redis_wait 0 is refused');

done_testing;
