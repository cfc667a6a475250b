# Nodes share the queue through a Redis consumer group: a node whose
# worker is killed (SIGKILL) in the middle of a delivery loses the entry
# to another node after queue_reclaim_timeout, and the message arrives
# exactly once.  While a worker lives, it keeps its claim however long
# the delivery takes.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port client send_line reply_of smtp_cmd smtp_submit
                wait_for submission_server);

my $ta = MailTest->new;
my $redis = $ta->start_redis;
$redis = $ta->redis_port;

my $dns = $ta->start_dns({
    mx => { 'remote.test' => [[10, 'mx.remote.test']] },
    a  => { 'mx.remote.test' => '127.0.0.2' },
});

# the greeting waits until the test lets it go: the delivery is "in the
# middle" for as long as the test needs
my $port = free_port();
my $peer = $ta->gated_peer(addr => '127.0.0.2', port => $port);

my $queue = <<CONF;
    queue_workers 1;
    dns_resolver 127.0.0.1:$dns;
    queue_smtp_port $port;
    queue_poll_interval 100ms;
    queue_reclaim_timeout 2s;
    queue_timeout 60s;
CONF

my $sub = free_port();
$ta->start_nginx(<<CONF, ports => [$sub]);
$queue
    @{[ submission_server($sub) ]}
CONF

$ta->add_user('demo@example.test', 'Secret-1');

sub submit {
    my ($subject) = @_;
    return smtp_submit(port => $sub, rcpts => ['someone@remote.test'],
                       content => "Subject: $subject\r\n\r\nbody\r\n");
}

# --- a slow delivery keeps its claim ------------------------------------
my $id = submit('slow');
ok($peer->wait_connections(1, 20), 'node A connected to the MX');
my %h = $ta->queue_holders;
is(scalar keys %h, 1, 'one consumer holds the entry');
my ($holder) = keys %h;
like($holder, qr/:\d+\z/, "consumer name is host:pid ($holder)");

# node B comes up while A's delivery hangs for longer than the timeout
my $tb = MailTest->new;
$tb->{redis_port} = $redis;
$tb->start_nginx($queue . "    server { listen 127.0.0.1:" . free_port()
                 . "; protocol smtpd; }\n",
                 redis => "mail_redis 127.0.0.1:$redis;");
# over two reclaim timeouts: a live worker's claim holds (a state after
# the time has passed, not a timing measurement)
sleep 5;
%h = $ta->queue_holders;
is_deeply([keys %h], [$holder], 'the live worker kept its claim');
is($peer->connections, 1, 'node B did not start a second delivery');

# --- the holding worker dies: another takes over, exactly once ----------
my ($worker) = $holder =~ /:(\d+)\z/;
ok(kill('KILL', $worker), "SIGKILL to the delivering worker $worker");
$ta->gate_open;      # the MX answers from now on
ok(wait_for(sub { !$ta->queued($id) }, 'takeover'),
   'the message was delivered after the takeover');
my @tx = grep { $_->{data} =~ /Subject: slow/ } $peer->transactions;
is(scalar @tx, 1, 'exactly once');
is($ta->redis('XLEN', 'queue:outbound'), 0, 'the stream entry is gone');
%h = $ta->queue_holders;
is(scalar keys %h, 0, 'nothing pending');
like($ta->error_log . $tb->error_log, qr/took over 1 entries/,
     'the takeover is logged');

# --- and both nodes keep delivering -------------------------------------
my @ids = map { submit("after-$_") } 1 .. 6;
ok(wait_for(sub { !grep { $ta->queued($_) } @ids }, 'after'),
   'six more delivered');
my %n;
$n{$_->{data} =~ /Subject: (after-\d)/ ? $1 : ''}++ for $peer->transactions;
is_deeply([map { $n{"after-$_"} } 1 .. 6], [(1) x 6], 'each exactly once');

done_testing;
