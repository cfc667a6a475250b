# The delivery queue end to end: a message submitted for remote domains is
# resolved through a real DNS server (dnsmasq) and delivered by our
# workers to scriptable SMTP peers on loopback addresses; failures come
# back to the sender's INBOX as RFC 3464 reports.

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
        'remote.test'   => [[10, 'mx1.remote.test'], [20, 'mx2.remote.test']],
        'fallback.test' => [[10, 'dead.fallback.test'],
                            [20, 'mx.fallback.test']],
        'nullmx.test'   => [[0, '.']],
        'split.test'    => [[10, 'mx.split.test']],
        'temp.test'     => [[10, 'mx.temp.test']],
    },
    a => {
        'mx1.remote.test'    => '127.0.0.2',
        'mx2.remote.test'    => '127.0.0.3',
        'dead.fallback.test' => '127.0.0.9',
        'mx.fallback.test'   => '127.0.0.3',
        'implicit.test'      => '127.0.0.4',
        'mx.split.test'      => '127.0.0.4',
        'mx.temp.test'       => '127.0.0.5',
    },
});

my $port = free_port();
my @ext = qw(PIPELINING SIZE 8BITMIME DSN SMTPUTF8 ENHANCEDSTATUSCODES);
my $reject = sub { $_[0] =~ /^nobody@/ ? '550 5.1.1 <' . $_[0]
                                         . '>: no such user' : undef };
my %peer = map {
    my $n = $_;
    ($n => SMTPPeer->start(addr => "127.0.0.$n", port => $port,
                           dir => $t->dir, ehlo => [@ext], rcpt => $reject))
} 2, 3, 4;

# the first try of each recipient of temp.test is refused for now
my %tried;
$peer{5} = SMTPPeer->start(addr => '127.0.0.5', port => $port,
    dir => $t->dir, ehlo => [@ext],
    rcpt => sub { -e $t->dir . "/temp-$_[0]" ? undef
                  : do { open my $f, '>', $t->dir . "/temp-$_[0]"; close $f;
                         '451 4.7.1 try again later' } });

my ($sub, $mx) = (free_port(), free_port());
$t->start_nginx(<<CONF, ports => [$sub, $mx]);
    queue_workers 1;
    dns_resolver 127.0.0.1:$dns;
    queue_smtp_port $port;
    queue_poll_interval 100ms;
    queue_retry 2s 4s;
    queue_connect_timeout 2s;
    queue_helo_name out.example.test;
    @{[ submission_server($sub) ]}
    server { listen 127.0.0.1:$mx; protocol smtpd; }
CONF

$t->add_user('demo@example.test', 'Secret-1');

# submits a message as demo@example.test; returns the queue id
sub submit {
    my ($rcpts, $body, %o) = @_;
    return smtp_submit(port => $sub, rcpts => $rcpts, %o,
        content => "From: demo\@example.test\r\nTo: someone\r\n"
                 . "Subject: $body\r\nMessage-ID: <$body\@example.test>"
                 . "\r\n\r\n$body\r\n.hidden dot\r\n");
}

sub inbox_count { $t->redis('HGET', 'mailbox:{demo@example.test}:1',
                            'messages') || 0 }

sub inbox_last {
    my $uid = $t->redis('ZRANGE', 'mailbox:{demo@example.test}:1:uids',
                        -1, -1);
    my $blob = $t->redis('HGET', "msg:{demo\@example.test}:1:$uid", 'blob');
    return $t->redis('GET', "blob:{$blob}");
}

my $inbox = inbox_count();

# --- a plain delivery, to the best MX ---------------------------------------
my $id = submit(['alice@remote.test'], 'plain');
ok(wait_for(sub { !$t->queued($id) }, 'delivery'),
   'delivered and removed from queue');
my @tx = $peer{2}->transactions;
is(scalar @tx, 1, 'the preferred MX got one transaction');
is($tx[0]{mail_from}, 'demo@example.test', 'envelope sender kept');
is_deeply($tx[0]{rcpts}, ['alice@remote.test'], 'envelope recipient');
is($tx[0]{helo}, 'out.example.test', 'EHLO with queue_helo_name');
like($tx[0]{data}, qr/^Received: /, 'content starts with our Received');
unlike($tx[0]{data}, qr/^Return-Path:/mi, 'no Return-Path sent on');
like($tx[0]{data}, qr/\r\n\.hidden dot\r\n/, 'dot-stuffing undone');
like($tx[0]{mail_params} // '', qr/SIZE=\d+/, 'SIZE passed');
like(($peer{2}->transcripts)[0], qr/C: MAIL FROM:.*\n(?:S: .*\n)*C\+ RCPT TO:.*\n(?:S: .*\n)*C\+ DATA/,
     'PIPELINING: MAIL, RCPT and DATA in one write');
is($peer{3}->connections, 0, 'the second MX was not tried');
is($t->redis('ZCARD', 'queue:ids'), 0, 'queue index empty');
is($t->redis('XLEN', 'queue:outbound'), 0, 'stream entry deleted');
is(inbox_count(), $inbox, 'no report for a plain delivery');

# --- 5xx: a bounce to the sender's INBOX -------------------------------------
$id = submit(['nobody@remote.test'], 'bounced');
ok(wait_for(sub { !$t->queued($id) && inbox_count() == $inbox + 1 }, 'bounce'),
   'refused recipient: message removed, bounce delivered');
my $b = inbox_last();
like($b, qr/^Return-Path: <>\r\n/, 'bounce has a null Return-Path');
like($b, qr/^Content-Type: multipart\/report; report-type=delivery-status;/mi,
     'multipart/report');
like($b, qr/^To: <?demo\@example\.test>?\r?$/mi, 'addressed to the sender');
like($b, qr/^Auto-Submitted: auto-replied/mi, 'Auto-Submitted');
like($b, qr/^Final-Recipient: rfc822; ?nobody\@remote\.test/mi,
     'Final-Recipient');
like($b, qr/^Action: failed/mi, 'Action: failed');
like($b, qr/^Status: 5\.1\.1/mi, 'Status 5.1.1 from the server');
like($b, qr/^Remote-MTA: dns; ?mx1\.remote\.test/mi, 'Remote-MTA');
like($b, qr/^Diagnostic-Code: smtp; ?550 5\.1\.1/mi, 'Diagnostic-Code');
like($b, qr/^Subject: bounced/m, 'the original is returned');
$inbox = inbox_count();

# --- MX fallback, implicit MX -----------------------------------------------
$id = submit(['carol@fallback.test'], 'fallback');
ok(wait_for(sub { !$t->queued($id) }, 'fallback'),
   'delivered despite a dead first MX');
ok((grep { $_->{rcpts}[0] eq 'carol@fallback.test' }
    $peer{3}->transactions), 'the second MX got it');

$id = submit(['dave@implicit.test'], 'implicit');
ok(wait_for(sub { !$t->queued($id) }, 'implicit'), 'implicit MX delivered');
ok((grep { $_->{rcpts}[0] eq 'dave@implicit.test' } $peer{4}->transactions),
   'to the address of the domain itself');

# --- null MX and NXDOMAIN bounce at once -------------------------------------
$id = submit(['x@nullmx.test'], 'nullmx');
ok(wait_for(sub { !$t->queued($id) && inbox_count() == $inbox + 1 },
            'null MX bounce'),
   'null MX: bounced');
like(inbox_last(), qr/^Status: 5\.1\.10/mi, 'null MX: status 5.1.10');
$inbox = inbox_count();

$id = submit(['x@nxdomain.test'], 'nxdomain');
ok(wait_for(sub { !$t->queued($id) && inbox_count() == $inbox + 1 },
            'NXDOMAIN bounce'),
   'NXDOMAIN: bounced');
like(inbox_last(), qr/^Status: 5\.1\.2/mi, 'NXDOMAIN: status 5.1.2');
$inbox = inbox_count();

# --- one message, recipients in several domains -----------------------------
$id = submit(['e1@split.test', 'e2@split.test', 'e3@remote.test',
              'nobody@split.test'], 'split');
ok(wait_for(sub { !$t->queued($id) }, 'split'), 'split delivery done');
my @s = grep { $_->{data} =~ /Subject: split/ } $peer{4}->transactions;
is(scalar @s, 1, 'one transaction for the split.test recipients');
is_deeply([sort @{ $s[0]{rcpts} }], ['e1@split.test', 'e2@split.test'],
          'both accepted recipients in it');
ok((grep { $_->{data} =~ /Subject: split/ } $peer{2}->transactions),
   'the remote.test recipient went to its own MX');
ok(wait_for(sub { inbox_count() == $inbox + 1 }, 'partial bounce'),
   'a bounce for the refused one');
$b = inbox_last();
like($b, qr/nobody\@split\.test/, 'the bounce names the refused recipient');
unlike($b, qr/^Final-Recipient: rfc822; ?e1\@split/mi,
       'and not the delivered ones');
$inbox = inbox_count();

# --- 4xx, then delivered on the retry ----------------------------------------
$id = submit(['later@temp.test'], 'temporary');
# read together, as soon as deferred: the retry comes 2 s later
my ($state, $error);
ok(wait_for(sub {
       return 0 unless $t->redis('ZSCORE', 'queue:deferred', $id);
       $state = $t->rcpt_state($id, 'later@temp.test');
       $error = $t->redis('HGET', "queue:{$id}:env", 'last_error');
       return 1 }, 'deferral'),
   'a 4xx defers the message');
like($state, qr/^deferred \d+ 451 4\.7\.1 mx\.temp\.test try again later/,
     'recipient state recorded as deferred');
like($error, qr/try again/, 'last error kept');
ok(wait_for(sub { !$t->queued($id) }, 'retry'), 'delivered on the retry');
ok((grep { $_->{data} =~ /Subject: temporary/ } $peer{5}->transactions),
   'the retry reached the server');
is(inbox_count(), $inbox, 'no report for a delivery that succeeded later');

# two destinations, one deferred: both states stay in Redis, whichever
# destination was done first (recorded at once) or last (by the settling)
$id = submit(['e1@split.test', 'again@temp.test'], 'mixed');
my %st;
ok(wait_for(sub {
       return 0 unless $t->redis('ZSCORE', 'queue:deferred', $id);
       %st = map { $_ => $t->rcpt_state($id, $_) }
             'e1@split.test', 'again@temp.test';
       return 1 }, 'mixed deferral'),
   'one destination of two deferred');
like($st{'e1@split.test'}, qr/^sent \d+ 250 /, 'the delivered one: sent');
like($st{'again@temp.test'}, qr/^deferred \d+ 451 /,
     'the other one: deferred');
ok(wait_for(sub { !$t->queued($id) }, 'mixed retry'), 'the rest on the retry');
is(scalar(grep { $_->{data} =~ /Subject: mixed/ } $peer{4}->transactions),
   1, 'the delivered recipient was not sent again');

# --- a remote sender's bounce is queued, with a null sender --------------
# fwd@example.test forwards to a refused address; the original sender is
# at implicit.test, whose server gets the report
$t->redis('SADD', 'alias:{fwd@example.test}', 'nobody@remote.test');
my $before = () = $peer{4}->transactions;
my $s = client($mx);
reply_of($s);
for ('EHLO sender.implicit.test', 'MAIL FROM:<writer@implicit.test>',
     'RCPT TO:<fwd@example.test>', 'DATA')
{
    send_line($s, $_);
    reply_of($s);
}
print $s "Subject: forwarded\r\n\r\nbody\r\n.\r\n";
like(reply_of($s), qr/^250/, 'accepted for a forwarding alias');
close $s;
ok(wait_for(sub { scalar(() = $peer{4}->transactions) > $before },
            'remote bounce'), 'the bounce reached the sender\'s server');
my ($rb) = grep { $_->{data} =~ /Subject: forwarded/ }
           $peer{4}->transactions;
is($rb->{mail_from}, '', 'sent with a null envelope sender');
is_deeply($rb->{rcpts}, ['writer@implicit.test'], 'to the original sender');
like($rb->{data}, qr/^Action: failed/mi, 'a failure report');
unlike($rb->{data}, qr/^Return-Path:/mi, 'without our Return-Path');

like($t->error_log, qr/queue: \w+: from=<demo\@example\.test> attempt 2: 1 sent/,
     'one log line per attempt');

done_testing;
