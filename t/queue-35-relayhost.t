# A hosting setup: every outbound message goes to a smarthost
# (queue_relayhost) with AUTH PLAIN (queue_relayhost_auth), no MX lookup.
# The smarthost is a second instance of our own server, with its own
# Redis, where the message must land in the outbound queue.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port client send_line reply_of smtp_cmd smtp_submit
                wait_for submission_server);

# the smarthost: submission with AUTH, its queue not running
my $relay = MailTest->new;
$relay->start_redis;
my $relay_port = free_port();
$relay->start_nginx(<<CONF, ports => [$relay_port]);
    @{[ submission_server($relay_port) ]}
CONF
# the smarthost's account is the sender's: submission allows no other
$relay->add_user('demo@example.test', 'Relay-Pass-1');

sub node {
    my ($password, $tls) = @_;
    $tls ||= 'off';
    my $t = MailTest->new;
    $t->start_redis;
    my $sub = free_port();
    $t->start_nginx(<<CONF, ports => [$sub]);
    queue_workers 1;
    queue_relayhost 127.0.0.1:$relay_port;
    queue_relayhost_auth demo\@example.test $password;
    queue_tls $tls;
    queue_poll_interval 100ms;
    queue_retry 60s 60s;
    @{[ submission_server($sub) ]}
CONF
    $t->add_user('demo@example.test', 'Secret-1');
    return ($t, $sub);
}

sub submit {
    my ($port, @rcpts) = @_;
    return smtp_submit(port => $port, rcpts => \@rcpts,
        content => "Subject: via the smarthost\r\n\r\nbody\r\n");
}

my ($t, $sub) = node('Relay-Pass-1');
my $id = submit($sub, 'a@one.example', 'b@two.example');
ok(wait_for(sub { !$t->queued($id) }, 'relay'),
   'sent to the smarthost');
my @ids = split /\n/, $relay->redis('ZRANGE', 'queue:ids', 0, -1);
is(scalar @ids, 1, 'one message in the smarthost\'s queue');
my %env = map { $_ => $relay->redis('HGET', "queue:{$ids[0]}:env", $_) }
          qw(from rcpts params);
is($env{from}, 'demo@example.test', 'with the envelope sender');
is_deeply([sort split /\n/, $env{rcpts}],
          ['a@one.example', 'b@two.example'],
          'both recipients, in one transaction');
like($env{params}, qr/AUTH=demo\@example\.test/,
     'submitted as the relay account');
like($t->error_log, qr/to 127\.0\.0\.1\[127\.0\.0\.1:\d+\]: 250/,
     'no MX lookup: the relayhost itself');

# a wrong password: the smarthost refuses AUTH, the message waits
my ($t2, $sub2) = node('wrong');
$id = submit($sub2, 'c@three.example');
ok(wait_for(sub { $t2->redis('ZSCORE', 'queue:deferred', $id) }, 'defer'),
   'refused AUTH defers');
like($t2->rcpt_state($id, 'c@three.example'),
     qr/^deferred .* 535 5\.7\.8 .*AUTH/, 'with the smarthost\'s 535');

# queue_tls may: the password is not sent to a relayhost without STARTTLS
my ($t3, $sub3) = node('Relay-Pass-1', 'may');
$id = submit($sub3, 'd@four.example');
ok(wait_for(sub { $t3->redis('ZSCORE', 'queue:deferred', $id) }, 'notls'),
   'AUTH without TLS is refused on our side');
like($t3->rcpt_state($id, 'd@four.example'),
     qr/^deferred .* 4\.7\.0 .*no STARTTLS for AUTH/, 'and says why');
is(scalar(() = split /\n/, $relay->redis('ZRANGE', 'queue:ids', 0, -1)), 1,
   'nothing reached the smarthost');

done_testing;
