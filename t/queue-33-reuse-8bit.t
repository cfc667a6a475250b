# A kept connection that fails its RSET after the next message was set to
# be converted to 7 bit (the server had no 8BITMIME): the fresh connection
# to a server that has 8BITMIME gets the whole message as it is, with
# BODY=8BITMIME, never an empty one.  (Before the fix the converted copy,
# never loaded, was sent: the server got only the final dot and the
# recipient was marked delivered.)

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port smtp_submit wait_for submission_server);
use SMTPPeer;

my $t = MailTest->new;
$t->start_redis;
my $dns = $t->start_dns({ mx => { 'p.test' => [[10, 'mx.p.test']] },
                          a  => { 'mx.p.test' => '127.0.0.11' } });
my $port = free_port();

# the first connection without 8BITMIME; its RSET answered, then a 421
# that comes while the message is being read from Redis
my $peer = SMTPPeer->start(addr => '127.0.0.11', port => $port,
    dir => $t->dir, drip => 0.003,
    ehlo_reply => sub {
        my ($arg, $s) = @_;
        return $s->{conn} == 1 ? "250-x\r\n250 PIPELINING"
                               : "250-x\r\n250-PIPELINING\r\n250 8BITMIME";
    },
    rset => sub { "250 2.0.0 ok\r\n421 4.4.2 idle too long" },
);

my $sub = free_port();
$t->start_nginx(<<CONF, ports => [$sub]);
    queue_workers 1;
    dns_resolver 127.0.0.1:$dns;
    queue_smtp_port $port;
    queue_poll_interval 100ms;
    queue_retry 60s 60s;
    queue_tls off;
    queue_connection_cache_time 60s;
    @{[ submission_server($sub) ]}
CONF
$t->add_user('demo@example.test', 'Secret-1');

my $id = smtp_submit(port => $sub, rcpts => ['a@p.test'],
                     content => "Subject: one\r\n\r\nbody\r\n");
ok(wait_for(sub { !$t->queued($id) }, 'the first message'),
   'the first message delivered, its connection kept');

# big enough that reading it from Redis takes a while
my $line = "h\xc3\xa9llo w\xc3\xb6rld " x 7 . "\r\n";
my $body = $line x 100000;
$id = smtp_submit(port => $sub, rcpts => ['b@p.test'],
                  mail => ' BODY=8BITMIME',
                  content => "Subject: two\r\nContent-Type: text/plain; "
                           . "charset=utf-8\r\n\r\n$body");
ok(wait_for(sub { !$t->queued($id) }, 'the second message', 30),
   'the second message left the queue');

my ($second) = grep { "@{ $_->{rcpts} }" =~ /b\@p\.test/ }
               $peer->all_transactions;
ok($second, 'the server got a transaction for b@p.test');
is($second && $second->{conn}, 2, 'on a new connection');
like($second && $second->{mail_params}, qr/BODY=8BITMIME/,
     'with BODY=8BITMIME: that server has it');
cmp_ok(length($second ? $second->{data} : ''), '>=', length $body,
       'the whole message, not an empty one');
like($second && $second->{data}, qr/h\xc3\xa9llo w\xc3\xb6rld/,
     'its 8-bit text as it was');
like($t->error_log, qr/kept connection to \S+ not reused: /,
     'the kept connection was given up');

done_testing;
