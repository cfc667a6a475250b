# The delivery queue's TLS: opportunistic STARTTLS, a destination that
# requires TLS (queue_tls_policy encrypt) or a verified certificate
# (verify, against queue_tls_trusted_certificate), and a server whose
# replies drip slower than queue_timeout allows.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port client send_line reply_of smtp_cmd smtp_submit
                wait_for submission_server);
use SMTPPeer;

my $t = MailTest->new;
$t->start_redis;
my ($crt, $key) = $t->tls_cert;     # CN=mx.example.test, self-signed

my $dns = $t->start_dns({
    mx => {
        'tls.test'      => [[10, 'mx.tls.test']],
        'verified.test' => [[10, 'mx.example.test']],
        'wrongname.test' => [[10, 'mx.wrongname.test']],
        'plain.test'    => [[10, 'mx.plain.test']],
        'slow.test'     => [[10, 'mx.slow.test']],
    },
    a => {
        'mx.tls.test'       => '127.0.0.2',
        'mx.example.test'   => '127.0.0.2',
        'mx.wrongname.test' => '127.0.0.2',
        'mx.plain.test'     => '127.0.0.3',
        'mx.slow.test'      => '127.0.0.4',
    },
});

my $port = free_port();
my %peer = (
    tls   => SMTPPeer->start(addr => '127.0.0.2', port => $port,
                             dir => $t->dir, ehlo => ['PIPELINING'],
                             starttls => { cert => $crt, key => $key }),
    plain => SMTPPeer->start(addr => '127.0.0.3', port => $port,
                             dir => $t->dir, ehlo => ['PIPELINING']),
    slow  => SMTPPeer->start(addr => '127.0.0.4', port => $port,
                             dir => $t->dir, drip => 0.2),
);

my $sub = free_port();
$t->start_nginx(<<CONF, ports => [$sub]);
    queue_workers 1;
    dns_resolver 127.0.0.1:$dns;
    queue_smtp_port $port;
    queue_poll_interval 100ms;
    queue_retry 60s 60s;
    queue_timeout 2s;
    queue_tls may;
    queue_helo_name out.tls.test;
    queue_tls_policy verified.test verify;
    queue_tls_policy wrongname.test verify;
    queue_tls_policy plain.test encrypt;
    queue_tls_trusted_certificate $crt;
    @{[ submission_server($sub) ]}
CONF

$t->add_user('demo@example.test', 'Secret-1');

sub submit {
    my ($rcpt, $subject) = @_;
    return smtp_submit(port => $sub, rcpts => [$rcpt],
                       content => "Subject: $subject\r\n\r\nbody\r\n");
}

sub txn { my ($p, $s) = @_;
          (grep { $_->{data} =~ /Subject: $s\r/ } $p->transactions)[0] }

my $id = submit('a@tls.test', 'opportunistic');
ok(wait_for(sub { !$t->queued($id) }, 'tls'),
   'delivered with STARTTLS offered');
my $tx = txn($peer{tls}, 'opportunistic');
ok($tx && $tx->{tls}, 'the transaction ran under TLS');
is($tx->{helo}, 'out.tls.test', 'EHLO under TLS with queue_helo_name');
like(($peer{tls}->transcripts)[0], qr/C: STARTTLS.*C: EHLO/s,
     'STARTTLS, then EHLO again (RFC 3207 4.2)');

$id = submit('a@verified.test', 'verified');
ok(wait_for(sub { !$t->queued($id) }, 'verify'),
   'verify: certificate matches');
ok(txn($peer{tls}, 'verified')->{tls}, 'sent under verified TLS');

$id = submit('a@wrongname.test', 'wrongname');
ok(wait_for(sub { $t->rcpt_state($id, 'a@wrongname.test') =~ /^deferred/ },
            'wrong name'), 'verify: a certificate for another name defers');
like($t->rcpt_state($id, 'a@wrongname.test'),
     qr/ 4\.7\.5 .*certificate not verified/,
     'with the reason');
ok(!txn($peer{tls}, 'wrongname'), 'nothing was sent');

$id = submit('a@plain.test', 'plain');
ok(wait_for(sub { $t->rcpt_state($id, 'a@plain.test') =~ /^deferred/ },
            'encrypt'),
   'encrypt: a server without STARTTLS defers');
like($t->rcpt_state($id, 'a@plain.test'), qr/ 4\.7\.4 .*TLS is required/,
     'with the reason');
ok(!txn($peer{plain}, 'plain'), 'nothing was sent in clear');

$id = submit('a@slow.test', 'slow');
ok(wait_for(sub { $t->rcpt_state($id, 'a@slow.test') =~ /^deferred/ }, 'slow'),
   'a reply that drips past queue_timeout defers');
like($t->rcpt_state($id, 'a@slow.test'), qr/timed out/, 'as a timeout');

done_testing;
