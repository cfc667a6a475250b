# DNSBL (RFC 5782) details the SMTP-level test (spam-20) leaves out: a
# listing is cached in Redis with its A record's TTL and used, without
# asking again, until it expires; an answer outside 127.0.0.0/8 is no
# listing and is not cached (RFC 5782 2.3); an IPv6 client is looked up by
# its reversed nibbles (2.4) and checked by SPF's ip6 and AAAA-based "a"
# mechanisms; a recipient's own junk score decides its mailbox.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::IP;
use MailTest qw(free_port client send_line reply_of);

my $t = MailTest->new;
$t->start_redis;

# ::1 as a DNSBL names it: 32 nibbles, last first
my $six = join('.', 1, (0) x 31);

my %zone = (
    a => {
        '1.0.0.127.ttl.test' => ['127.0.0.2', 120],      # TTL 120 s
        '1.0.0.127.odd.test' => '10.0.0.2',              # not 127/8
        "$six.six.test"      => '127.0.0.4',
        'mail6.a6.test'      => '::1',
    },
    txt => {
        'ip6.test'  => ['v=spf1 ip6:::1/128 -all'],
        'ip4.test'  => ['v=spf1 ip4:127.0.0.1 -all'],
        'a6.test'   => ['v=spf1 a:mail6.a6.test -all'],
        # a 64-octet local part makes a label no DNS name may have
        'label.test' => ['v=spf1 exists:%{l}.ex.test -all'],
    },
);
my $dns = $t->start_dns(\%zone);

# can this host take IPv6 loopback connections?
my $ipv6 = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0,
                               Listen => 1);
undef $ipv6 if $ipv6 && !$ipv6->sockport;
my $port = free_port();
my $listen6 = $ipv6 ? "        listen [::1]:$port;\n" : '';
undef $ipv6;

$t->start_nginx(<<CONF, ports => [$port]);
    dns_resolver 127.0.0.1:$dns;
    dns_resolver_timeout 1s;
    server {
        listen 127.0.0.1:$port;
$listen6        protocol smtpd;
        spam on;
        spam_bayes off;
        spam_spf on;
        spam_spf_score pass 0;
        spam_spf_score none 0;
        spam_spf_score fail 3;
        spam_dnsbl ttl.test 2;
        spam_dnsbl odd.test 4;
        spam_dnsbl six.test 4;
        spam_junk_score 5;
    }
CONF

is(($t->mailctl('', 'domain', 'add', 'example.test'))[0], 0, 'domain add');
for my $u (qw(bob low)) {
    is(($t->mailctl("Secret-1\n", 'user', 'add', "$u\@example.test"))[0],
       0, "user add $u");
}
# low files into Junk from 2 points on, bob from the directive's 5
$t->redis('HSET', 'user:{low@example.test}', 'spam_junk_score', 2);

my $n = 0;

# One transaction from "host" (127.0.0.1 or ::1) to the recipients;
# returns the reply to the end of the data and the subject.
sub deliver {
    my ($host, $from, @rcpts) = @_;
    my $subject = 'dnsbl ' . ++$n;
    my $s = IO::Socket::IP->new(PeerHost => $host, PeerPort => $port,
                                Timeout => 10)
        or die "connect [$host]:$port: $!";
    $s->autoflush(1);
    reply_of($s);
    for ('EHLO client.example', "MAIL FROM:<$from>",
         (map { "RCPT TO:<$_>" } @rcpts), 'DATA')
    {
        send_line($s, $_);
        my $r = reply_of($s);
        return $r unless $r =~ /^[23]/;
    }
    print $s "From: <$from>\r\nSubject: $subject\r\n\r\nHello.\r\n.\r\n";
    my $reply = reply_of($s);
    send_line($s, 'QUIT');
    reply_of($s);
    return ($reply, $subject);
}

sub asked {
    my ($name) = @_;
    my @q = $t->dns->query_log =~ /query\[A\] \Q$name\E /g;
    return scalar @q;
}

# --- a listing, cached with its TTL ---------------------------------------

my $key = 'dnsbl:{ttl.test}:127.0.0.1';
my ($reply, $subject) = deliver('127.0.0.1', 'a@ip4.test',
                                'bob@example.test', 'low@example.test');
like($reply, qr/^250 /, 'listed with weight 2: accepted');
my ($box, $head) = $t->stored_message('bob@example.test', $subject);
is($box, 'INBOX', 'score 2, junk score 5: INBOX');
like($head, qr/^X-Spam-Status: No, score=2\.0 required=5\.0 tests=\S*DNSBL_TTL_TEST/m,
     'X-Spam-Status names the listing');
is(($t->stored_message('low@example.test', $subject))[0], 'Junk',
   'the recipient with junk score 2: Junk');
is($t->redis('GET', $key), '127.0.0.2', 'the listing is cached');
my $ttl = $t->redis('TTL', $key);
ok($ttl > 100 && $ttl <= 120, "with the record's TTL of 120 s ($ttl)");
is(asked('1.0.0.127.ttl.test'), 1, 'asked once');

# the zone drops the listing; the cache still holds it until it expires
delete $zone{a}{'1.0.0.127.ttl.test'};
$t->start_dns(\%zone);
($reply, $subject) = deliver('127.0.0.1', 'a@ip4.test', 'bob@example.test');
($box, $head) = $t->stored_message('bob@example.test', $subject);
like($head, qr/^X-Spam-Score: 2\.0$/m, 'within the TTL: listed from the cache');
is(asked('1.0.0.127.ttl.test'), 0, 'without asking the zone');

$t->redis('PEXPIRE', $key, 1);
ok(MailTest::wait_for(sub { $t->redis('EXISTS', $key) eq '0' },
                      'the cached listing to expire'),
   'the cached listing expires');
($reply, $subject) = deliver('127.0.0.1', 'a@ip4.test', 'bob@example.test');
($box, $head) = $t->stored_message('bob@example.test', $subject);
like($head, qr/^X-Spam-Score: 0\.0$/m, 'after the TTL: asked again, not listed');
is(asked('1.0.0.127.ttl.test'), 1, 'the zone was asked');
is($t->redis('GET', $key), '-', 'and "not listed" is cached');

# --- an answer outside 127.0.0.0/8 -----------------------------------------

unlike($head, qr/DNSBL_ODD_TEST/, 'an answer outside 127/8 is no listing');
is($t->redis('EXISTS', 'dnsbl:{odd.test}:127.0.0.1'), '0',
   'and is not cached');

# --- an SPF target name with a label over 63 octets -----------------------

{
    my $local = 'x' x 64;
    ($reply, $subject) = deliver('127.0.0.1', "$local\@label.test",
                                 'bob@example.test');
    like($reply, qr/^250 /, 'exists:%{l} with a 64-octet label: accepted');
    ($box, $head) = $t->stored_message('bob@example.test', $subject);
    like($head, qr/^Received-SPF: fail .*mechanism=-all;/m,
         'the name is no match, -all decides');
    unlike($t->dns->query_log, qr/query\[A\] x{64}\./,
           'and it was never asked');
}

# --- an IPv6 client -----------------------------------------------------------

SKIP: {
    skip 'no IPv6 loopback on this host', 12 unless $listen6;

    ($reply, $subject) = deliver('::1', 'a@ip6.test', 'bob@example.test');
    like($reply, qr/^250 /, 'IPv6 client: accepted');
    is(asked("$six.six.test"), 1, 'the zone is asked for the nibbles of ::1');
    ($box, $head) = $t->stored_message('bob@example.test', $subject);
    like($head, qr/^X-Spam-Status: No, score=4\.0 .*DNSBL_SIX_TEST/m,
         'listed by its IPv6 address');
    is($t->redis('GET', 'dnsbl:{six.test}:::1'), '127.0.0.4',
       'cached under the address inet_ntop writes');
    like($head, qr/^Received-SPF: pass .*client-ip="::1";.*mechanism="ip6:::1\/128"/m,
         'SPF ip6: pass, the address quoted (RFC 7208 9.1)');
    like($head, qr/^Authentication-Results: .*\bspf=pass\b.* smtp\.mailfrom=a\@ip6\.test/m,
         'Authentication-Results: spf=pass');
    like($head, qr/^Received: from client\.example \(unknown \[IPv6:::1\]\) by /m,
         'Received: the address literal of RFC 5321 4.1.3');

    ($reply, $subject) = deliver('::1', 'a@ip4.test', 'bob@example.test');
    ($box, $head) = $t->stored_message('bob@example.test', $subject);
    like($head, qr/^Received-SPF: fail /m,
         'SPF ip4 only: fail for an IPv6 client');
    is($box, 'Junk', 'listed (4) and fail (3): Junk');

    ($reply, $subject) = deliver('::1', 'a@a6.test', 'bob@example.test');
    ($box, $head) = $t->stored_message('bob@example.test', $subject);
    like($head, qr/^Received-SPF: pass /m,
         'SPF "a" with an AAAA record: pass');
    like($t->dns->query_log, qr/query\[AAAA\] mail6\.a6\.test/,
         'asked for the AAAA record');
    like($t->error_log,
         qr/spam: \S+ from=<a\@a6\.test> ip=::1 score=4\.0 verdict=inbox dnsbl=six\.test:127\.0\.0\.4 spf=pass/,
         'the log line');
}

unlike($t->error_log, qr/\[(?:alert|crit|emerg)\]/, 'nothing alarming logged');

done_testing;
