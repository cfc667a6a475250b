# The delivery queue against servers that misbehave or lack extensions,
# and the sender's side of it: what RFC 3461 DSN parameters ask for,
# delay warnings and the end of the queue lifetime.

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

my $dns = $t->start_dns({
    mx => {
        'garbage.test' => [[10, 'mx.garbage.test']],
        'drip.test'    => [[10, 'mx.drip.test']],
        'close.test'   => [[10, 'mx.close.test']],
        'busy.test'    => [[10, 'mx1.busy.test'], [20, 'mx2.busy.test']],
        'dsn.test'     => [[10, 'mx.dsn.test']],
        'small.test'   => [[10, 'mx.small.test']],
        'long.test'    => [[10, 'mx.long.test']],
        'slots.test'   => [[10, 'mx.slots.test']],
    },
    a => {
        'mx.garbage.test' => '127.0.0.2',
        'mx.drip.test'    => '127.0.0.3',
        'mx.close.test'   => '127.0.0.4',
        'mx1.busy.test'   => '127.0.0.5',
        'mx2.busy.test'   => '127.0.0.6',
        'mx.dsn.test'     => '127.0.0.6',
        'mx.small.test'   => '127.0.0.7',
        'mx.long.test'    => '127.0.0.8',
        'mx.slots.test'   => '127.0.0.9',
    },
    servfail => ['servfail.test'],
});

my $port = free_port();
my @ext = qw(PIPELINING SIZE 8BITMIME DSN SMTPUTF8 ENHANCEDSTATUSCODES);
my $reject = sub { $_[0] =~ /^nobody@/ ? '550 5.1.1 no such user' : undef };
my %peer;
$peer{garbage} = SMTPPeer->start(addr => '127.0.0.2', port => $port,
    dir => $t->dir, ehlo => [@ext], garbage => 'EHLO');
$peer{drip} = SMTPPeer->start(addr => '127.0.0.3', port => $port,
    dir => $t->dir, ehlo => ['PIPELINING'], drip => 0.01);
$peer{close} = SMTPPeer->start(addr => '127.0.0.4', port => $port,
    dir => $t->dir, ehlo => [@ext], close_after => 'RCPT');
$peer{busy} = SMTPPeer->start(addr => '127.0.0.5', port => $port,
    dir => $t->dir, ehlo => [@ext], greeting => '421 4.3.2 too busy');
$peer{good} = SMTPPeer->start(addr => '127.0.0.6', port => $port,
    dir => $t->dir, ehlo => [@ext], rcpt => $reject);
# an old server: no 8BITMIME, DSN, SMTPUTF8; a small SIZE; no PIPELINING
$peer{small} = SMTPPeer->start(addr => '127.0.0.7', port => $port,
    dir => $t->dir, ehlo => ['SIZE 4000'], rcpt => $reject);

# a reply line of 5000 octets (RFC 5321 4.5.3.1.5 allows 512)
$peer{long} = SMTPPeer->start(addr => '127.0.0.8', port => $port,
    dir => $t->dir, ehlo => [@ext], ehlo_reply => '250 ' . ('x' x 5000));

# holds its reply to the data until released: connections pile up
$peer{slots} = SMTPPeer->start(addr => '127.0.0.9', port => $port,
    dir => $t->dir, ehlo => [@ext], hold_data => 'slots-release');

my $sub = free_port();
$t->start_nginx(<<CONF, ports => [$sub]);
    queue_workers 1;
    dns_resolver 127.0.0.1:$dns;
    dns_resolver_timeout 1s;
    queue_smtp_port $port;
    queue_poll_interval 100ms;
    queue_retry 1s 1s;
    queue_timeout 3s;
    queue_delay_warning 2s;
    queue_lifetime 6s;
    queue_destination_concurrency 2;
    @{[ submission_server($sub) ]}
CONF

$t->add_user('demo@example.test', 'Secret-1');

sub submit {
    my ($rcpts, $subject, %o) = @_;
    my ($headers, $body) = (delete $o{headers}, delete $o{body});
    return smtp_submit(port => $sub, rcpts => $rcpts, %o,
        content => "From: demo\@example.test\r\nTo: x\r\n"
                 . "Subject: $subject\r\n" . ($headers || '') . "\r\n"
                 . ($body || "body of $subject\r\n"));
}

# the reports in demo's INBOX whose text matches; read once each
my (%seen, @inbox);
sub reports {
    my ($re) = @_;
    my $n = $t->redis('HGET', 'mailbox:{demo@example.test}:1', 'messages')
            || 0;
    if ($n != keys %seen) {
        for my $uid (split /\n/, $t->redis('ZRANGE',
                         'mailbox:{demo@example.test}:1:uids', 0, -1)) {
            next if $seen{$uid}++;
            my $blob = $t->redis('HGET', "msg:{demo\@example.test}:1:$uid",
                                 'blob');
            push @inbox, $t->redis('GET', "blob:{$blob}");
        }
    }
    return grep { $_ =~ $re } @inbox;
}

sub txns_with { my ($p, $s) = @_; grep { $_->{data} =~ /Subject: $s\r/ }
                                      $p->transactions }

# --- hostile or broken servers: logged, deferred, never a crash -------------
my $g = submit(['a@garbage.test'], 'garbage');
my $c = submit(['a@close.test'], 'closing');
my $sf = submit(['a@servfail.test'], 'servfail');
my $long = submit(['a@long.test'], 'long-line');
ok(wait_for(sub { $t->rcpt_state($g, 'a@garbage.test') =~ /^deferred/ },
            'garbage'),
   'a reply without a code defers');
like($t->rcpt_state($g, 'a@garbage.test'), qr/malformed reply/,
     'the reason is recorded');
ok(wait_for(sub { $t->rcpt_state($c, 'a@close.test') =~ /^deferred/ },
            'close'),
   'a connection closed in the middle defers');
like($t->rcpt_state($c, 'a@close.test'), qr/4\.4\.2 .*lost connection/,
     'as a lost connection, 4.4.2');
ok(wait_for(sub { $t->rcpt_state($sf, 'a@servfail.test') =~ /^deferred/ },
            'servfail'), 'SERVFAIL defers');
like($t->rcpt_state($sf, 'a@servfail.test'), qr/ 4\.4\.3 /, 'with 4.4.3');
ok(wait_for(sub { $t->rcpt_state($long, 'a@long.test') =~ /^deferred/ },
            'long'),
   'an over-long reply line defers');
like($t->error_log, qr/malformed reply from 127\.0\.0\.8.*too long/,
     'and is logged as too long');
like($t->error_log, qr/malformed reply from 127\.0\.0\.2/,
     'the malformed reply is logged');

# --- a slow server is waited for, a busy one skipped -------------------------
my $d = submit(['a@drip.test'], 'dripping');
ok(wait_for(sub { !$t->queued($d) }, 'drip'),
   'a server that drips its replies');
is(scalar txns_with($peer{drip}, 'dripping'), 1, 'got the message');

my $b = submit(['a@busy.test'], 'busy');
ok(wait_for(sub { !$t->queued($b) }, 'busy'), '421 greeting: next MX');
is(scalar txns_with($peer{good}, 'busy'), 1, 'the second MX got it');
is($peer{busy}->connections, 1, 'the busy one was tried once');

# --- DSN parameters pass to a server that knows DSN --------------------------
my $n = submit(['a@dsn.test'], 'dsn-passed', mail => ' RET=HDRS ENVID=env-1',
               rcpt => ' NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig@dsn.test');
ok(wait_for(sub { !$t->queued($n) }, 'dsn'), 'delivered to a DSN server');
my ($tx) = txns_with($peer{good}, 'dsn-passed');
like($tx->{mail_params}, qr/RET=HDRS/, 'RET passed on');
like($tx->{mail_params}, qr/ENVID=env-1/, 'ENVID passed on');
like($tx->{rcpt_params}{'a@dsn.test'}, qr/NOTIFY=SUCCESS,FAILURE/,
     'NOTIFY passed on');
like($tx->{rcpt_params}{'a@dsn.test'}, qr/ORCPT=rfc822;orig\@dsn\.test/,
     'ORCPT passed on');
is(scalar reports(qr/dsn-passed/), 0,
   'no success report of ours: the next server reports');

# --- ... and are honoured by us for a server without DSN --------------------
$n = submit(['a@small.test'], 'relayed', rcpt => ' NOTIFY=SUCCESS');
ok(wait_for(sub { !$t->queued($n) && reports(qr/Subject: relayed/) },
            'relayed report'), 'NOTIFY=SUCCESS to a server without DSN');
my ($rep) = reports(qr/Subject: relayed/);
like($rep, qr/^Action: relayed/mi, 'a "relayed" report');
my @relayed = txns_with($peer{small}, "relayed");
is(scalar @relayed, 1, 'one transaction with the server without DSN');
unlike($relayed[0]{mail_params} // '', qr/RET=|ENVID=/,
       'no DSN parameters to a server without DSN');

$n = submit(['nobody@dsn.test'], 'never', rcpt => ' NOTIFY=NEVER');
ok(wait_for(sub { !$t->queued($n) }, 'never'),
   'refused recipient, NOTIFY=NEVER');
is(scalar reports(qr/Subject: never/), 0, 'no bounce for NOTIFY=NEVER');

$n = submit(['nobody@dsn.test'], 'headers-only', mail => ' RET=HDRS',
            body => "the secret body\r\n");
ok(wait_for(sub { reports(qr/Subject: headers-only/) }, 'RET=HDRS bounce'),
   'bounce with RET=HDRS');
($rep) = reports(qr/Subject: headers-only/);
like($rep, qr{^Content-Type: text/rfc822-headers}mi,
     'the original headers only');
unlike($rep, qr/the secret body/, 'without the body');

$n = submit(['nobody@dsn.test'], 'null-sender', from => '');
ok(wait_for(sub { !$t->queued($n) }, 'null sender'), 'refused, null sender');
is(scalar reports(qr/Subject: null-sender/), 0,
   'a message with a null sender never bounces');

# --- what a small, old server cannot take ------------------------------------
$n = submit(['a@small.test'], 'too-big',
            body => join("", (("x" x 70) . "\r\n") x 80));
ok(wait_for(sub { reports(qr/Subject: too-big/) }, 'SIZE bounce'),
   'bigger than SIZE: bounced');
like((reports(qr/Subject: too-big/))[0], qr/^Status: 5\.3\.4/mi, '5.3.4');
is(scalar grep({ $_->{data} =~ /too-big/ } $peer{small}->all_transactions),
   0, 'without a transaction');

$n = submit(['a@small.test'], 'eight-bit', mail => ' BODY=8BITMIME',
            headers => "MIME-Version: 1.0\r\n"
                     . "Content-Type: text/plain; charset=utf-8\r\n",
            body => "gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\r\n");
ok(wait_for(sub { !$t->queued($n) }, '8bit'),
   '8-bit message to a 7-bit server');
($tx) = txns_with($peer{small}, 'eight-bit');
ok($tx && $tx->{data} !~ /[\x80-\xff]/, 'converted to 7 bit');
like($tx->{data}, qr/^Content-Transfer-Encoding: quoted-printable/mi,
     'as quoted-printable');
like($tx->{data}, qr/gr=C3=BC=C3=9Fe/, 'the text encoded');
unlike($tx->{mail_params} // '', qr/BODY=/, 'no BODY= to that server');

$n = submit(['a@small.test'], 'utf8', mail => ' SMTPUTF8');
ok(wait_for(sub { reports(qr/Subject: utf8/) }, 'SMTPUTF8 bounce'),
   'SMTPUTF8 to a server without it: bounced');
like((reports(qr/Subject: utf8/))[0], qr/^Status: 5\.6\.7/mi, '5.6.7');

# an 8-bit header cannot be made 7-bit: bounced with 5.6.3, not sent
$n = submit(['a@small.test'], 'eight-bit-header', mail => ' BODY=8BITMIME',
            headers => "X-Note: K\xc3\xb6ln\r\n",
            body => "gr\xc3\xbc\xc3\x9fe\r\n");
ok(wait_for(sub { reports(qr/Subject: eight-bit-header/) }, '5.6.3'),
   'an 8-bit header for a 7-bit server: bounced');
like((reports(qr/Subject: eight-bit-header/))[0], qr/^Status: 5\.6\.3/mi,
     '5.6.3');
is(scalar grep({ $_->{data} =~ /eight-bit-header/ }
               $peer{small}->all_transactions), 0, 'nothing sent');

# --- queue_destination_concurrency 2: four messages, two connections ---------
my @slots = map { submit(["s$_\@slots.test"], "slot-$_") } 1 .. 4;
ok($peer{slots}->wait_holding(20, 2), 'two deliveries to slots.test at once');
# a state after a while, not a timing measurement: no third connection
sleep 1;
is($peer{slots}->connections, 2, 'no more than queue_destination_concurrency');
$peer{slots}->release;
ok(wait_for(sub { !grep { $t->queued($_) } @slots }, 'slots'),
   'the others follow as connections free up');
# the two connections are kept for the next message (the cache), and
# none is opened beyond them
is($peer{slots}->connections, 2, 'on the two connections, kept');
is(scalar(() = join('', $peer{slots}->transcripts) =~ /^C: RSET/mg), 2,
   'each reused once, after RSET');

# --- the garbage one: a delay warning, then the end of its lifetime ---------
ok(wait_for(sub { reports(qr/Subject: garbage/) }, 'delay warning'),
   'a delay warning after queue_delay_warning');
my ($warn) = reports(qr/Subject: garbage/);
like($warn, qr/^Action: delayed/mi, 'Action: delayed');
like($warn, qr/^Will-Retry-Until: /mi, 'Will-Retry-Until');
ok(wait_for(sub { !$t->queued($g) }, 'lifetime'),
   'removed after queue_lifetime');
my @g = reports(qr/Subject: garbage/);
is(scalar @g, 2, 'one warning, one bounce');
like($g[1], qr/^Action: failed/mi, 'the bounce');
like($g[1], qr/delivery time expired/, 'says why');

done_testing;
