# The delivery queue's connection cache: messages to one destination, one
# after the other, go over one connection (RSET between them), up to
# queue_connection_reuse_count reuses; a kept connection that the server
# closed, or whose RSET is refused, dropped or not answered (within
# queue_connect_timeout), gives way to a new one without the message
# noticing; queue_connection_cache_time bounds the idle time, "off" keeps
# none; a reload or a quit closes the idle connections at once.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port smtp_submit wait_for submission_server);
use SMTPPeer;
use POSIX ();

my $t = MailTest->new;
$t->start_redis;
my ($crt, $key) = $t->tls_cert;

my %addr = (reuse => 2, gone => 3, refused => 4, vanished => 5, tls => 6,
            idle => 7, off => 8, quit => 9, hung => 10);

my $dns = $t->start_dns({
    mx => { map { ("$_.test" => [[10, "mx.$_.test"]]) } keys %addr },
    a  => { map { ("mx.$_.test" => "127.0.0.$addr{$_}") } keys %addr },
});

my $port = free_port();
my %opt = (
    gone     => [idle_timeout => 2],
    refused  => [rset => '451 4.3.0 not now'],
    vanished => [rset => 'CLOSE'],
    hung     => [rset => sub { sleep 5; '250 2.0.0 too late' }],
    tls      => [starttls => { cert => $crt, key => $key }],
);
my %peer = map {
    ($_ => SMTPPeer->start(addr => "127.0.0.$addr{$_}", port => $port,
                           dir => $t->dir, ehlo => ['PIPELINING'],
                           @{ $opt{$_} || [] }))
} keys %addr;

my $sub = free_port();

sub conf {
    my ($cache) = @_;
    return <<CONF;
    queue_workers 1;
    dns_resolver 127.0.0.1:$dns;
    queue_smtp_port $port;
    queue_poll_interval 100ms;
    queue_retry 60s 60s;
    queue_tls may;
    queue_connect_timeout 1s;
    queue_connection_cache_time $cache;
    queue_connection_reuse_count 2;
    @{[ submission_server($sub) ]}
CONF
}

my $master = $t->start_nginx(conf('60s'), ports => [$sub]);
$t->add_user('demo@example.test', 'Secret-1');

my $n = 0;

# one message, delivered before the next is submitted: true once it left
# the queue, i.e. every recipient was sent on the first attempt
sub deliver {
    my ($domain) = @_;
    $n++;
    my $id = smtp_submit(port => $sub, rcpts => ["user$n\@$domain"],
                         content => "Subject: message $n\r\n\r\nbody\r\n");
    return wait_for(sub { !$t->queued($id) }, "message $n to $domain");
}

sub count { my ($re, $s) = @_; my @m = $s =~ /$re/g; scalar @m }

sub workers {
    my @w;
    opendir my $dh, '/proc' or return ();
    for my $pid (grep { /^\d+\z/ } readdir $dh) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my $stat = <$fh> // '';
        push @w, $pid if $stat =~ /\) \S+ (\d+)/ && $1 == $master;
    }
    return @w;
}

# a reload: true once the old worker is gone, which its idle connections
# must not hold up (they are kept for 60 s)
sub reload {
    my ($cache) = @_;
    my @old = workers();
    $t->write_conf(conf($cache));
    kill 'HUP', $master;
    return wait_for(sub { !grep { -e "/proc/$_" && !zombie($_) } @old },
                    'the old worker to exit', 10);
}

sub zombie {
    open my $fh, '<', "/proc/$_[0]/stat" or return 1;
    return (<$fh> // '') =~ /\) Z /;
}

# several messages, one connection, up to the reuse count

ok(deliver('reuse.test'), "message $n delivered") for 1 .. 4;
is($peer{reuse}->connections, 2,
   '4 messages over 2 connections (reuse count 2: 3 transactions each)');
ok($peer{reuse}->wait_ended(1, 10), 'the first connection was closed');
my @tr = $peer{reuse}->transcripts;
is(count(qr/^C: MAIL/m, $tr[0]), 3, 'three transactions on the first');
is(count(qr/^C: RSET/m, $tr[0]), 2, 'each after the first after RSET');
is(count(qr/^C: EHLO/m, $tr[0]), 1, 'one EHLO');
like($tr[0], qr/C: QUIT\n[^\n]*\n?\z/, 'then QUIT');
is(count(qr/^C: MAIL/m, $tr[1]), 1, 'the fourth on a new one');
like($t->error_log, qr/to mx\.reuse\.test\S+: 250 .*, reused=2\n/,
     'the log says a connection was reused');

# the server closes the idle connection: the next message opens a new one

ok(deliver('gone.test'), 'first message to gone.test');
ok($peer{gone}->wait_ended(1, 10), 'the server ended the idle session');
my $closed = qr/idle connection to mx\.gone\.test\S+ closed by the server/;
ok(wait_for(sub { $t->error_log =~ $closed },
            'the close noticed'), 'the queue noticed the close');
ok(deliver('gone.test'), 'the second message delivered');
is($peer{gone}->connections, 2, 'over a new connection');
unlike(join('', $peer{gone}->transcripts), qr/RSET/, 'no RSET was tried');

# RSET refused, the connection dropped on RSET, or RSET not answered
# within queue_connect_timeout: a new connection

for my $d (qw(refused vanished hung)) {
    ok(deliver("$d.test"), "first message to $d.test");
    ok(deliver("$d.test"), "second message to $d.test, at once");
    is($peer{$d}->connections, 2, 'over a new connection');
    @tr = $peer{$d}->transcripts;
    like($tr[0], qr/C: RSET/, 'after RSET on the kept one');
    is(count(qr/^C: MAIL/m, $tr[0]), 1, 'which carried no second message');
    is(scalar $peer{$d}->transactions, 2, 'both arrived');
}
like($t->error_log,
     qr/kept connection to mx\.refused\.test\S+ not reused: RSET answered 451 /,
     'the refusal is logged');
like($t->error_log,
     qr/kept connection to mx\.vanished\.test\S+ not reused: lost connection\n/,
     'so is the lost connection');
like($t->error_log,
     qr/kept connection to mx\.hung\.test\S+ not reused: timed out\n/,
     'and the silent one');

# TLS: kept with its TLS, no second STARTTLS

ok(deliver('tls.test'), 'first message over TLS');
ok(deliver('tls.test'), 'second message over TLS');
is($peer{tls}->connections, 1, 'one connection');
is(scalar(grep { $_->{tls} } $peer{tls}->transactions), 2,
   'both transactions under TLS');
@tr = $peer{tls}->transcripts;
is(count(qr/^C: STARTTLS/m, $tr[0]), 1, 'one STARTTLS');
like($tr[0], qr/C: RSET\nS: 250/, 'the second after RSET');

# a reload with idle connections does not wait for their time limit

ok(reload('1s'), 'reload: the old worker exited at once');
ok($peer{tls}->wait_ended(1, 10), 'its idle TLS connection was closed');
like(($peer{tls}->transcripts)[0], qr/C: QUIT\n[^\n]*\n?\z/, 'with QUIT');
is($peer{tls}->errors, '', 'no TLS error on the peer');

# queue_connection_cache_time 1s: an idle connection goes after it

ok(deliver('idle.test'), 'first message with a 1s idle limit');
ok(wait_for(sub { ($peer{idle}->transcripts)[0] =~ /C: QUIT/ },
            'the idle limit', 10), 'the idle connection was closed');
ok(deliver('idle.test'), 'second message');
is($peer{idle}->connections, 2, 'on a new connection');

# off: one connection per message, each ended with QUIT

ok(reload('off'), 'reload with the cache off');
ok(deliver('off.test'), 'first message, cache off') for 1 .. 2;
is($peer{off}->connections, 2, 'one connection per message');
@tr = $peer{off}->transcripts;
is(scalar(grep { /C: QUIT/ && !/C: RSET/ } @tr), 2, 'each ended by QUIT');

# quit with an idle connection: nginx exits at once

ok(reload('60s'), 'reload with 60s');
ok(deliver('quit.test'), 'a message, its connection kept');
kill 'QUIT', $master;
ok(wait_for(sub { waitpid($master, POSIX::WNOHANG()) == $master },
            'nginx to quit', 10), 'nginx quit at once');
delete $t->{pids}{nginx};
like(($peer{quit}->transcripts)[0], qr/C: QUIT/, 'after QUIT on it');

done_testing;
