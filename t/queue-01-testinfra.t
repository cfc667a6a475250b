# The outbound queue's test infrastructure checks itself: the DNS server
# (dnsmasq through MailTest::start_dns) answers exactly what the zone
# declares, and the scriptable SMTP peer (t/lib/SMTPPeer.pm) replies and
# records what it is told to.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Net::DNS;
use Net::SMTP;
use IO::Socket::INET;
use IO::Select;
use IO::Socket::IP;
use MailTest qw(free_port reply_of send_line);
use SMTPPeer;

my $t = MailTest->new;

# --- DNS ---------------------------------------------------------------------

my $dport = $t->start_dns({
    mx  => { 'example.test' => [[20, 'mx2.example.test'],
                                [10, 'mx1.example.test']],
             'nullmx.test'  => [[0, '.']] },
    a   => { 'mx1.example.test' => ['127.0.0.2', '::1'],
             'mx2.example.test' => '127.0.0.3',
             '2.0.0.127.zen.test' => '127.0.0.2' },
    txt => { 'example.test' => ['v=spf1 ip4:127.0.0.0/8 -all',
                                ['part one;', 'part two']] },
    cname    => { 'alias.example.test' => 'mx1.example.test' },
    servfail => ['servfail.test'],
    timeout  => ['timeout.test'],
});
ok($dport, "dnsmasq on port $dport");

my $res = Net::DNS::Resolver->new(nameservers => ['127.0.0.1'],
                                  port => $dport, recurse => 1,
                                  udp_timeout => 2, tcp_timeout => 2,
                                  retry => 1);

sub ask {
    my ($name, $type, $r) = @_;
    my $p = ($r || $res)->send($name, $type);
    return $p ? $p : undef;
}

sub rdata { my $p = shift; [sort map { $_->rdstring } $p->answer] }

my $p = ask('example.test', 'MX');
is($p->header->rcode, 'NOERROR', 'MX: NOERROR');
is_deeply([sort { $a->[0] <=> $b->[0] }
           map { [$_->preference, $_->exchange] } $p->answer],
          [[10, 'mx1.example.test'], [20, 'mx2.example.test']],
          'MX: both exchanges with their preferences');
ok($p->header->aa, 'MX: authoritative');

$p = ask('nullmx.test', 'MX');
is($p->header->rcode, 'NOERROR', 'null MX: NOERROR');
is_deeply([map { [$_->preference, $_->exchange] } $p->answer], [[0, '.']],
          'null MX: "MX 0 ." (RFC 7505)');
like(($p->answer)[0]->string, qr/\bMX\s+0 \.$/, 'null MX target is the root');

$p = ask('mx1.example.test', 'A');
is_deeply(rdata($p), ['127.0.0.2'], 'A');
$p = ask('mx1.example.test', 'AAAA');
is_deeply([map { $_->address_short } $p->answer], ['::1'], 'AAAA');
$p = ask('mx2.example.test', 'AAAA');
is($p->header->rcode, 'NOERROR', 'no AAAA for an A-only host: NOERROR');
is(scalar $p->answer, 0, '... and no data');
$p = ask('mx1.example.test', 'MX');
is($p->header->rcode, 'NOERROR', 'MX of a host without MX: NODATA');
is(scalar $p->answer, 0, '... empty');

$p = ask('alias.example.test', 'A');
is_deeply([map { $_->type } $p->answer], ['CNAME', 'A'], 'CNAME then A');

$p = ask('nothere.example.test', 'MX');
is($p->header->rcode, 'NXDOMAIN', 'unknown name under a test domain');
$p = ask('other.test', 'A');
is($p->header->rcode, 'NXDOMAIN', 'unknown name under .test');

$p = ask('example.test', 'TXT');
is_deeply([sort map { join '|', $_->txtdata } $p->answer],
          ['part one;|part two', 'v=spf1 ip4:127.0.0.0/8 -all'],
          'TXT: two records, one of two strings');

$p = ask('2.0.0.127.zen.test', 'A');
is_deeply(rdata($p), ['127.0.0.2'], 'DNSBL listing');
$p = ask('3.0.0.127.zen.test', 'A');
is($p->header->rcode, 'NXDOMAIN', 'DNSBL: not listed');

$p = ask('servfail.test', 'MX');
is($p && $p->header->rcode, 'SERVFAIL', 'SERVFAIL domain');
$p = ask('mx.servfail.test', 'A');
is($p && $p->header->rcode, 'SERVFAIL', 'SERVFAIL below it too');

my $tcp = Net::DNS::Resolver->new(nameservers => ['127.0.0.1'],
                                  port => $dport, usevc => 1,
                                  tcp_timeout => 2);
$p = ask('example.test', 'MX', $tcp);
is($p && scalar $p->answer, 2, 'TCP works too');

{
    my $h = $res->bgsend('timeout.test', 'MX');
    ok(!IO::Select->new($h)->can_read(0.5),
       'timeout domain: no answer in 0.5 s');
}

like($t->dns->query_log, qr/query\[MX\] example\.test from 127\.0\.0\.1/,
     'query log');

# new records on the same port
is($t->start_dns({ mx => { 'example.test' => [[5, 'mx9.example.test']] } }),
   $dport, 'restart on the same port');
$p = ask('example.test', 'MX');
is_deeply([map { [$_->preference, $_->exchange] } $p->answer],
          [[5, 'mx9.example.test']], 'new records after restart');
$p = ask('mx1.example.test', 'A');
is($p->header->rcode, 'NXDOMAIN', 'old records gone');

# --- SMTP peer ---------------------------------------------------------------

my $port = free_port();

my $peer = SMTPPeer->start(
    addr => '127.0.0.3', port => $port, dir => $t->dir,
    ehlo => [qw(PIPELINING SIZE 10000 8BITMIME DSN ENHANCEDSTATUSCODES)],
    rcpt => sub {
        my ($addr) = @_;
        return '550 5.1.1 no such user' if $addr =~ /^nobody@/;
        return undef;
    },
);
is($peer->port, $port, 'peer on the given port');

my $smtp = Net::SMTP->new('127.0.0.3', Port => $port, Hello => 'client.test',
                          Timeout => 5)
    or die "Net::SMTP: $@";
is($smtp->supports('SIZE'), '10000', 'EHLO: SIZE 10000');
ok(defined $smtp->supports('PIPELINING'), 'EHLO: PIPELINING');
ok(!defined $smtp->supports('STARTTLS'), 'no STARTTLS without a certificate');
ok($smtp->mail('a@sender.test', Size => 123), 'MAIL');
ok($smtp->to('b@example.test'), 'RCPT ok');
ok(!$smtp->to('nobody@example.test'), 'RCPT nobody refused');
like($smtp->code . ' ' . $smtp->message, qr/^550 5\.1\.1 no such user/,
     '... with the scripted reply');
ok($smtp->data, 'DATA');
$smtp->datasend("Subject: hi\n\n.starts with a dot\nline\n");
ok($smtp->dataend, 'final dot: 250');
$smtp->quit;

ok($peer->wait_transactions(1, 5), 'transaction recorded');
my ($txn) = $peer->transactions;
is($txn->{helo}, 'client.test', 'helo');
is($txn->{mail_from}, 'a@sender.test', 'mail_from');
is($txn->{mail_params}, 'SIZE=123', 'mail_params');
is_deeply($txn->{rcpts}, ['b@example.test'], 'rcpts: the accepted one');
is_deeply($txn->{rejected_rcpts}, ['nobody@example.test'], 'rejected_rcpts');
is($txn->{data}, "Subject: hi\r\n\r\n.starts with a dot\r\nline\r\n",
   'data, dot-unstuffed');
is($txn->{tls}, 0, 'no TLS');
is($txn->{reply}, '250 2.0.0 queued', 'reply to the dot');
is($peer->connections, 1, 'one connection');

# PIPELINING: one write, replies in order
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.3', PeerPort => $port,
                                  Timeout => 5) or die "connect: $!";
    like(reply_of($s), qr/^220 /, 'greeting');
    send_line($s, 'EHLO pipe.test');
    like(reply_of($s), qr/^250 ENHANCEDSTATUSCODES\r\n\z/m, 'EHLO');
    print $s "MAIL FROM:<p\@sender.test> BODY=8BITMIME\r\n"
           . "RCPT TO:<nobody\@example.test>\r\n"
           . "RCPT TO:<c\@example.test> NOTIFY=NEVER\r\n"
           . "DATA\r\n";
    my @r = map { reply_of($s) } 1 .. 4;
    is_deeply([map { substr $_, 0, 3 } @r], [250, 550, 250, 354],
              'pipelined replies in order');
    print $s "one line\r\n.\r\nQUIT\r\n";
    like(reply_of($s), qr/^250 /, 'dot');
    like(reply_of($s), qr/^221 /, 'quit');
    close $s;
    ok($peer->wait_transactions(2, 5), 'second transaction');
    my $x = ($peer->transactions)[1];
    is_deeply($x->{rcpts}, ['c@example.test'], 'pipelined rcpts');
    is($x->{rcpt_params}{'c@example.test'}, 'NOTIFY=NEVER', 'rcpt params');
    is($x->{data}, "one line\r\n", 'pipelined data');
    my $tr = ($peer->transcripts)[1];
    like($tr, qr/^C: MAIL FROM.*\nS: 250.*\nC\+ RCPT TO:<nobody/m,
         'transcript marks pipelined commands');
}
$peer->stop;

# greeting 421, per connection
my $busy = SMTPPeer->start(
    addr => '127.0.0.4', port => $port, dir => $t->dir,
    greeting => sub { $_[0]{conn} == 1 ? '421 4.3.2 busy' : undef },
);
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.4', PeerPort => $port,
                                  Timeout => 5) or die "connect: $!";
    like(reply_of($s), qr/^421 4\.3\.2 busy/, 'greeting 421');
    is(reply_of($s), '', '... and the connection is closed');
}
ok(!Net::SMTP->new('127.0.0.4', Port => $port, Timeout => 5) ? 0 : 1,
   'second connection gets 220');
is($busy->connections, 2, 'two connections counted');

# close_after, data_end reply, drip, hold_data, garbage
my $rude = SMTPPeer->start(addr => '127.0.0.5', port => $port,
                           dir => $t->dir, close_after => 'RCPT');
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.5', PeerPort => $port,
                                  Timeout => 5) or die "connect: $!";
    reply_of($s);
    send_line($s, 'HELO x');       reply_of($s);
    send_line($s, 'MAIL FROM:<>'); like(reply_of($s), qr/^250/, 'MAIL <>');
    send_line($s, 'RCPT TO:<a@b>');
    is(reply_of($s), '', 'close_after RCPT: closed without a reply');
}

my $flag = SMTPPeer->start(
    addr => '127.0.0.6', port => $port, dir => $t->dir,
    hold_data => 'go', drip => 0.005,
    data_end => sub { my ($data) = @_; '452 4.3.1 ' . length($data) },
);
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.6', PeerPort => $port,
                                  Timeout => 5) or die "connect: $!";
    like(reply_of($s), qr/^220 peer-127\.0\.0\.6\.test /, 'dripped greeting');
    print $s "HELO x\r\nMAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\nDATA\r\n";
    reply_of($s) for 1 .. 4;
    print $s "abc\r\n.\r\n";
    ok($flag->wait_holding(5), 'holding the reply to the dot');
    ok(!IO::Select->new($s)->can_read(0.3), '... nothing sent');
    $flag->release;
    like(reply_of($s), qr/^452 4\.3\.1 5\r\n\z/, 'released: scripted data_end');
    is(scalar $flag->transactions, 0, 'a 4xx: not accepted');
    is(scalar $flag->all_transactions, 1, '... but recorded');
}

my $junk = SMTPPeer->start(addr => '127.0.0.7', port => $port,
                           dir => $t->dir, garbage => 'EHLO');
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.7', PeerPort => $port,
                                  Timeout => 5) or die "connect: $!";
    reply_of($s);
    send_line($s, 'EHLO x');
    my $l = <$s>;
    unlike($l, qr/^\d{3}/, 'garbage instead of the EHLO reply');
}

# dropped after the dot, on ::1, EHLO reply replaced
my $drop = SMTPPeer->start(addr => '::1', port => $port, dir => $t->dir,
                           close_after => 'DATA_END',
                           ehlo_reply => "250-v6\n250 PIPELINING");
{
    my $s = IO::Socket::IP->new(PeerHost => '::1', PeerPort => $port,
                                Timeout => 5) or die "connect ::1: $@";
    reply_of($s);
    send_line($s, 'EHLO x');
    is(reply_of($s), "250-v6\r\n250 PIPELINING\r\n", 'ehlo_reply');
    print $s "MAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\nDATA\r\n";
    reply_of($s) for 1 .. 3;
    print $s "x\r\n.\r\n";
    is(reply_of($s), '', 'close_after DATA_END: no reply');
    my @all = $drop->all_transactions;
    is(scalar @all, 1, '... the message was received');
    ok(!$all[0]{accepted} && !defined $all[0]{reply}, '... unanswered');
}

# STARTTLS
my ($crt, $key) = $t->tls_cert;
my $tls = SMTPPeer->start(addr => '127.0.0.8', port => $port, dir => $t->dir,
                          starttls => { cert => $crt, key => $key });
{
    my $c = Net::SMTP->new('127.0.0.8', Port => $port, Hello => 'tls.test',
                           Timeout => 5) or die "Net::SMTP: $@";
    ok(defined $c->supports('STARTTLS'), 'STARTTLS offered');
    ok($c->starttls(SSL_verify_mode => 0), 'STARTTLS') or diag $tls->errors;
    ok(!defined $c->supports('STARTTLS'), 'not offered again after TLS');
    $c->mail('t@sender.test');
    $c->to('u@example.test');
    $c->data("Subject: tls\r\n\r\nx\r\n");
    $c->quit;
    ok($tls->wait_transactions(1, 5), 'TLS transaction');
    my ($x) = $tls->transactions;
    is($x->{tls}, 1, 'recorded with tls => 1');
    is($x->{helo}, 'tls.test', 'helo after STARTTLS');
}

done_testing;
