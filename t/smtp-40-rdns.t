# The client's name in the Received header: with nginx's "resolver", the
# PTR name of the client address, kept only when it resolves back to that
# address; "unknown" otherwise.  A small DNS server on loopback answers.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Net::DNS::Nameserver;
use IO::Socket::INET;
use MailTest qw(free_port client send_line reply_of);

# a UDP port nobody uses
sub free_udp_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'udp') or die "udp: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# zone: name => [type, data]
sub start_dns {
    my ($port, %zone) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    my $ns = Net::DNS::Nameserver->new(
        LocalAddr => '127.0.0.1', LocalPort => $port, Verbose => 0,
        ReplyHandler => sub {
            my ($qname, $qclass, $qtype) = @_;
            my $rr = $zone{lc $qname};
            return ('NXDOMAIN', [], [], [], { aa => 1 })
                unless $rr && $rr->[0] eq $qtype;
            return ('NOERROR',
                    [ Net::DNS::RR->new("$qname 60 IN $qtype $rr->[1]") ],
                    [], [], { aa => 1 });
        }) or die "nameserver: $!";
    $ns->main_loop;
    exit 0;
}

my ($good, $liar) = (free_udp_port(), free_udp_port());
my @dns = (
    start_dns($good, '1.0.0.127.in-addr.arpa' => [ 'PTR', 'client.example.test.' ],
                     'client.example.test'    => [ 'A', '127.0.0.1' ]),
    start_dns($liar, '1.0.0.127.in-addr.arpa' => [ 'PTR', 'liar.example.test.' ],
                     'liar.example.test'      => [ 'A', '192.0.2.1' ]),
);

my $t = MailTest->new;
$t->start_redis;
my ($p1, $p2, $p3) = (free_port(), free_port(), free_port());
$t->start_nginx(<<CONF, ports => [$p1, $p2, $p3]);
    resolver_timeout 5s;
    server {
        listen 127.0.0.1:$p1;
        protocol smtpd;
        resolver 127.0.0.1:$good ipv6=off;
    }
    server {
        listen 127.0.0.1:$p2;
        protocol smtpd;
        resolver 127.0.0.1:$liar ipv6=off;
    }
    server { listen 127.0.0.1:$p3; protocol smtpd; }
CONF
$t->add_user('demo@example.test', 'Secret-1');

sub deliver {
    my ($port) = @_;
    my $s = client($port);
    my $greeting = reply_of($s);
    for my $cmd ('EHLO helo.example', 'MAIL FROM:<a@remote.example>',
                 'RCPT TO:<demo@example.test>', 'DATA') {
        send_line($s, $cmd);
        reply_of($s);
    }
    print $s "Subject: rdns\r\n\r\nhi\r\n.\r\n";
    my $reply = reply_of($s);
    close $s;
    my $n = $t->redis('HGET', 'mailbox:{demo@example.test}:1', 'messages');
    my $blob = $t->redis('HGET', "msg:{demo\@example.test}:1:$n", 'blob');
    return ($greeting, $reply, $t->redis('GET', "blob:{$blob}"));
}

my ($greeting, $reply, $msg) = deliver($p1);
is($greeting, "220 mx.example.test ESMTP\r\n", 'greeting after the lookups');
like($reply, qr/^250 /, 'delivered');
like($msg, qr/^Received: from helo\.example \(client\.example\.test \[127\.0\.0\.1\]\)/m,
     'a forward-confirmed PTR name is in the Received header');

($greeting, $reply, $msg) = deliver($p2);
like($msg, qr/^Received: from helo\.example \(unknown \[127\.0\.0\.1\]\)/m,
     'a PTR name that does not resolve back: unknown');
like($t->error_log, qr/PTR name "liar\.example\.test" of 127\.0\.0\.1 does not resolve back to it/,
     'and the log says so');

($greeting, $reply, $msg) = deliver($p3);
like($msg, qr/^Received: from helo\.example \(unknown \[127\.0\.0\.1\]\)/m,
     'no resolver: unknown');

kill 'TERM', @dns;
waitpid $_, 0 for @dns;

done_testing;
