# The Redis link: a login while Redis is down gets the temporary failure,
# the session goes on, and logins work again once Redis is back; password
# and database selection of mail_redis.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64 qw(encode_base64);
use MailTest qw(free_port client send_line reply_of);

my $t = MailTest->new;
$t->start_redis;
my $port = free_port();

$t->start_nginx(<<CONF, ports => [$port]);
    mail_redis_timeout 2s;
    server {
        listen 127.0.0.1:$port;
        protocol smtpd;
        smtpd_auth_plaintext on;
    }
CONF

sub login {
    my ($p, $user, $pw) = @_;
    my $s = client($p);
    reply_of($s);
    send_line($s, 'EHLO client.example');
    reply_of($s);
    send_line($s, 'AUTH PLAIN ' . encode_base64("\0$user\0$pw", ''));
    my $reply = reply_of($s);
    send_line($s, 'NOOP');
    my $noop = reply_of($s);
    close $s;
    return ($reply, $noop);
}

# Retries until the reply is what we want; Redis reconnects with backoff.
sub login_until {
    my ($want, @args) = @_;
    my $reply;
    for (1 .. 100) {
        ($reply) = login(@args);
        return $reply if $reply eq $want;
        select undef, undef, undef, 0.1;
    }
    return $reply;
}

$t->add_user('demo@example.test', 'Secret-1');

my ($reply, $noop) = login($port, 'demo@example.test', 'Secret-1');
is($reply, "235 2.7.0 Authentication successful\r\n", 'login with Redis up');

$t->stop_redis;

($reply, $noop) = login($port, 'demo@example.test', 'Secret-1');
is($reply, "454 4.7.0 Temporary authentication failure\r\n",
   'Redis down: temporary failure (RFC 4954 454 4.7.0)');
is($noop, "250 2.0.0 Ok\r\n", 'the session goes on');

($reply) = login($port, 'demo@example.test', 'Secret-1');
is($reply, "454 4.7.0 Temporary authentication failure\r\n",
   'still down: still temporary');

$t->start_redis;    # the same port, an empty database
$t->add_user('demo@example.test', 'Secret-1');

is(login_until("235 2.7.0 Authentication successful\r\n",
               $port, 'demo@example.test', 'Secret-1'),
   "235 2.7.0 Authentication successful\r\n",
   'Redis back: logins work again without restarting nginx');
like($t->error_log, qr/redis: connected to 127\.0\.0\.1:\d+/,
     'the reconnect is logged');

# a Redis that answers nothing: the per-command timeout fails the login
kill 'STOP', $t->{pids}{redis};
($reply, $noop) = login($port, 'demo@example.test', 'Secret-1');
kill 'CONT', $t->{pids}{redis};
is($reply, "454 4.7.0 Temporary authentication failure\r\n",
   'a stuck Redis: temporary failure after mail_redis_timeout');
like($t->error_log, qr/redis: no reply in 2000 ms, reconnecting/,
     'the timeout is logged');
is(login_until("235 2.7.0 Authentication successful\r\n",
               $port, 'demo@example.test', 'Secret-1'),
   "235 2.7.0 Authentication successful\r\n", 'and it recovers');

$t->stop_nginx;

# password= and db=
my $r2 = MailTest->new;
my $rport = free_port();
$r2->{redis_port} = $rport;
$r2->start_redis;
$r2->redis('CONFIG', 'SET', 'requirepass', 'redis-pw');
my $port2 = free_port();
$r2->start_nginx(<<CONF, ports => [$port2], redis => "mail_redis 127.0.0.1:$rport db=3 password=redis-pw;");
    server {
        listen 127.0.0.1:$port2;
        protocol smtpd;
        smtpd_auth_plaintext on;
    }
CONF
{
    local $ENV{REDISCLI_AUTH} = 'redis-pw';
    $r2->redis('-n', 3, 'HSET', 'user:{demo@example.test}', 'password',
               crypt('Secret-3', '$6$saltsalt$'), 'enabled', 1);
}
($reply) = login($port2, 'demo@example.test', 'Secret-3');
is($reply, "235 2.7.0 Authentication successful\r\n",
   'AUTH and SELECT reach the user in db 3');
$r2->stop_nginx;

my $port3 = free_port();
$r2->start_nginx(<<CONF, ports => [$port3], redis => "mail_redis 127.0.0.1:$rport db=3 password=wrong;");
    server {
        listen 127.0.0.1:$port3;
        protocol smtpd;
        smtpd_auth_plaintext on;
    }
CONF
($reply) = login($port3, 'demo@example.test', 'Secret-3');
is($reply, "454 4.7.0 Temporary authentication failure\r\n",
   'a wrong Redis password: temporary failure');
like($r2->error_log, qr/redis: AUTH failed/, 'and the reason is logged');

done_testing;
