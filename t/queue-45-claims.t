# A worker keeps its claim on the entries it delivers however long the
# delivery takes: also when all its places are taken (queue_concurrency
# reached, so it reads no new entries), and after nginx -s reload, while
# the old worker finishes what it started.  Else another worker takes the
# entry over after queue_reclaim_timeout and the message goes out twice.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use POSIX ();
use MailTest qw(free_port client send_line reply_of smtp_cmd smtp_submit
                wait_for submission_server);

my $t = MailTest->new;
$t->start_redis;

my $dns = $t->start_dns({
    mx => { 'remote.test' => [[10, 'mx.remote.test']] },
    a  => { 'mx.remote.test' => '127.0.0.2' },
});

# the greeting waits while the gate is shut
my $port = free_port();
my $peer = $t->gated_peer(addr => '127.0.0.2', port => $port);

# two delivering workers, one place each: the one that delivers is full
my $sub = free_port();
$t->start_nginx(<<CONF, ports => [$sub], workers => 2);
    queue_workers 2;
    queue_concurrency 1;
    dns_resolver 127.0.0.1:$dns;
    queue_smtp_port $port;
    queue_poll_interval 100ms;
    queue_reclaim_timeout 2s;
    queue_timeout 60s;
    # every delivery waits at the gate, in the greeting: none on a kept
    # connection
    queue_connection_cache_time off;
    @{[ submission_server($sub) ]}
CONF

$t->add_user('demo@example.test', 'Secret-1');

sub submit {
    my ($subject) = @_;
    return smtp_submit(port => $sub, rcpts => ['someone@remote.test'],
                       content => "Subject: $subject\r\n\r\nbody\r\n");
}

sub delivered {
    my ($subject) = @_;
    return scalar grep { $_->{data} =~ /Subject: $subject\r\n/ }
                       $peer->transactions;
}

# --- a full worker renews its claim ---------------------------------------
my $id = submit('full');
ok($peer->wait_connections(1, 20), 'a worker connected to the MX');
my ($holder) = keys %{ { $t->queue_holders } };
# over two reclaim timeouts (a state once the time has passed)
sleep 5;
is_deeply([keys %{ { $t->queue_holders } }], [$holder],
          'the full worker kept its claim');
is($peer->connections, 1, 'the other worker did not deliver it too');
$t->gate_open;
ok(wait_for(sub { !$t->queued($id) }, 'full'), 'delivered');
is(delivered('full'), 1, 'exactly once');

# --- reload while a delivery runs -----------------------------------------
$t->gate_shut;
$id = submit('reload');
ok($peer->wait_connections(2, 20), 'a worker connected again');
($holder) = keys %{ { $t->queue_holders } };
my ($old) = $holder =~ /:(\d+)\z/;
ok(kill('HUP', $t->{pids}{nginx}), 'nginx -s reload');
sleep 5;
is_deeply([keys %{ { $t->queue_holders } }], [$holder],
          'the old worker kept its claim while it finished');
is($peer->connections, 2, 'the new workers did not deliver it too');
$t->gate_open;
ok(wait_for(sub { !$t->queued($id) }, 'reload'), 'delivered');
is(delivered('reload'), 1, 'exactly once');
ok(wait_for(sub { !kill(0, $old) }, 'the old worker to exit'),
   'the old worker exited once done');

# the new workers deliver
$id = submit('after');
ok(wait_for(sub { !$t->queued($id) }, 'after'),
   'a new message is delivered after the reload');
is(delivered('after'), 1, 'once');

# --- deleted while it is delivered ---------------------------------------
# the attempt ends without the content; its record must not bring back
# the recipient states of a message that is gone
$t->gate_shut;
$id = submit('deleted');
ok($peer->wait_connections(4, 20), 'a worker connected for "deleted"');
# a short read of the content is judged by this
is($t->redis('HGET', "queue:{$id}:env", 'size'),
   $t->redis('STRLEN', "blob:{$id}"), 'the size queued is the blob\'s');
my ($rc) = $t->mailctl(undef, 'queue', 'delete', $id);
is($rc, 0, 'mailctl queue delete');
$t->gate_open;
ok(wait_for(sub { $t->error_log =~ /\Q$id\E: from=.*GONE/ }, 'settled'),
   'the attempt settled as gone');
is($t->redis('EXISTS', "queue:{$id}:rcpt"), 0, 'no recipient states left');
is($t->queued($id), 0, 'no envelope left');

# --- nginx -s quit while a delivery runs: it ends first ------------------
$t->gate_shut;
$id = submit('quit');
ok($peer->wait_connections(5, 20), 'a worker connected for "quit"');
my $master = $t->{pids}{nginx};
ok(kill('QUIT', $master), 'nginx -s quit');
sleep 2;
ok(kill(0, $master), 'nginx waits for the delivery');
$t->gate_open;
ok(wait_for(sub { waitpid($master, POSIX::WNOHANG()) == $master }, 'exit'),
   'and exits once it is done');
delete $t->{pids}{nginx};
is(delivered('quit'), 1, 'the message was delivered before the exit');
ok(gone_all($id), 'and settled');

sub gone_all { !$t->queued($_[0]) && !$t->redis('XLEN', 'queue:outbound') }

done_testing;
