# Lua scripts go to Redis once per connection (SCRIPT LOAD before their
# first use), then by their SHA1 (EVALSHA), not as their text with every
# call; after SCRIPT FLUSH the first call fails as any Redis error does
# (a temporary failure) and the next ones load the scripts again.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port client send_line reply_of);

my $t = MailTest->new;
$t->start_redis;
my $port = free_port();

$t->start_nginx(<<CONF, ports => [$port]);
    server {
        listen 127.0.0.1:$port;
        protocol smtpd;
    }
CONF

$t->add_user('demo@example.test', 'Secret-1');

# one message to demo over the MX port: the reply to its data
sub deliver {
    my ($subject) = @_;
    my $s = client($port);
    reply_of($s);
    for ('EHLO client.example', 'MAIL FROM:<a@remote.example>',
         'RCPT TO:<demo@example.test>', 'DATA')
    {
        send_line($s, $_);
        my $r = reply_of($s);
        return $r unless $r =~ /^[23]/;
    }
    print $s "Subject: $subject\r\n\r\nbody\r\n.\r\n";
    my $r = reply_of($s);
    close $s;
    return $r;
}

sub stored { $t->redis('HGET', 'mailbox:{demo@example.test}:1',
                       'messages') || 0 }

# what the server asks Redis meanwhile, seen by MONITOR
my $mpid = open(my $mon, '-|', 'redis-cli', '-p', $t->redis_port, 'MONITOR')
    or die "redis-cli MONITOR: $!";
<$mon>;    # "OK" once it is on

like(deliver('one'), qr/^250 /, 'a message is stored');
like(deliver('two'), qr/^250 /, 'and another');
is(stored(), 2, 'both in the INBOX');

$t->redis('SCRIPT', 'FLUSH');
my $r = deliver('three');
like($r, qr/^(?:250|4\d\d) /, 'after SCRIPT FLUSH: stored, or a temporary '
                              . 'failure');
like(deliver('four'), qr/^250 /, 'the next message is stored');
is(stored(), $r =~ /^250/ ? 4 : 3, 'the INBOX has what was accepted');

kill 'TERM', $mpid;
my @seen = <$mon>;
close $mon;

my @load = grep { /"SCRIPT" "LOAD"/ } @seen;
my @evalsha = grep { /"EVALSHA" "[0-9a-f]{40}"/ } @seen;
my @eval = grep { /"EVAL" "/ } @seen;
cmp_ok(scalar @evalsha, '>=', 4, 'scripts are called by their SHA1');
is(scalar @eval, 0, 'never with their text');

# the loads of the delivery script: before "one", and again after the
# flush only
my ($sha) = map { /"EVALSHA" "([0-9a-f]{40})"/ } @evalsha;
my @order = map { /"SCRIPT" "LOAD"/ ? 'L' : /"EVALSHA" "$sha"/ ? 'E'
                : /"SCRIPT" "FLUSH"/ ? 'F' : () } @seen;
my $flow = join '', @order;
like($flow, qr/\AL+E+F/, 'loaded once before the first call, not again '
                          . "for the second ($flow)");
like($flow, qr/F.*L.*E\z/, 'loaded again after the flush');
like($t->error_log, qr/scripts flushed, loading them again/,
     'the flush is logged');

done_testing;
