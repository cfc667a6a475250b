# The delivery queue's retries and what the sender hears of them: a server
# that refuses EHLO gets HELO (RFC 5321 3.2); the wait before each retry
# starts at queue_retry's minimum and doubles up to its maximum (read from
# the "next" time each attempt sets, the attempts made at once with
# "mailctl queue retry"); NOTIFY=DELAY alone gets the delay warning but no
# bounce, NOTIFY=FAILURE alone the bounce but no delay warning (RFC 3461
# 4.1), each checked in a report that names another recipient.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port smtp_submit wait_for submission_server);
use SMTPPeer;

my $t = MailTest->new;
$t->start_redis;

my $dns = $t->start_dns({
    mx => {
        'old.test'  => [[10, 'mx.old.test']],
        'busy.test' => [[10, 'mx.busy.test']],
    },
    a => {
        'mx.old.test'  => '127.0.0.2',
        'mx.busy.test' => '127.0.0.3',
    },
});

my $port = free_port();
# an old server: EHLO is an unknown command
my $old = SMTPPeer->start(addr => '127.0.0.2', port => $port,
    dir => $t->dir, ehlo_reply => '500 5.5.1 command unrecognized');
# "perm..." recipients are refused, all others asked to come back later
my $busy = SMTPPeer->start(addr => '127.0.0.3', port => $port,
    dir => $t->dir, ehlo => [qw(PIPELINING DSN ENHANCEDSTATUSCODES)],
    rcpt => sub { $_[0] =~ /^perm/ ? '550 5.1.1 no such user'
                                    : '451 4.3.0 try again later' });

my $sub = free_port();
$t->start_nginx(<<CONF, ports => [$sub]);
    queue_workers 1;
    dns_resolver 127.0.0.1:$dns;
    dns_resolver_timeout 1s;
    queue_smtp_port $port;
    queue_poll_interval 100ms;
    queue_retry 100s 700s;
    queue_delay_warning 4s;
    queue_lifetime 1h;
    @{[ submission_server($sub) ]}
CONF

$t->add_user('demo@example.test', 'Secret-1');

sub submit {
    my ($rcpts, $subject) = @_;
    return smtp_submit(port => $sub, rcpts => $rcpts,
        content => "From: demo\@example.test\r\nSubject: $subject\r\n\r\n"
                 . "body of $subject\r\n");
}

sub env { $t->redis('HGET', "queue:{$_[0]}:env", $_[1]) // '' }

# the reports in demo's INBOX about "subject"
sub reports {
    my ($subject) = @_;
    my @r;
    for my $uid (split /\n/, $t->redis('ZRANGE',
                     'mailbox:{demo@example.test}:1:uids', 0, -1)) {
        my $blob = $t->redis('HGET', "msg:{demo\@example.test}:1:$uid",
                             'blob');
        my $m = $t->redis_get_raw("blob:{$blob}") // '';
        push @r, $m if $m =~ /^Subject: \Q$subject\E\r$/m;
    }
    return @r;
}

# --- HELO after a refused EHLO ---------------------------------------------

my $id = submit(['a@old.test'], 'helo');
ok(wait_for(sub { !$t->queued($id) }, 'helo'), 'delivered to the old server');
my ($txn) = $old->transactions;
like($txn->{data} // '', qr/Subject: helo/, 'the message arrived');
my ($log) = $old->transcripts;
like($log, qr/^C: EHLO \S+\n.*^C: HELO \S+\n/ms, 'EHLO, refused, then HELO');
unlike($log, qr/BODY=|SIZE=/, 'and no ESMTP parameters after HELO');

# --- the wait doubles ----------------------------------------------------------

$id = submit(['a@busy.test'], 'backoff');
my @want = (100, 200, 400, 700, 700);
for my $k (1 .. @want) {
    ok(wait_for(sub { env($id, 'attempts') eq $k && env($id, 'next') ne '' },
                "attempt $k"), "attempt $k: deferred");
    my $wait = env($id, 'next') - time;
    my $want = $want[$k - 1];
    ok($wait > $want - 5 && $wait <= $want,
       "after attempt $k the next is in $want s ($wait)");
    last if $k == @want;
    my ($rc, $out) = $t->mailctl(undef, 'queue', 'retry', $id);
    like($out, qr/^\Q$id\E: queued for delivery$/m, "retried at once");
}
like($t->rcpt_state($id, 'a@busy.test'), qr/^deferred.*4\.3\.0/,
     'the recipient is deferred with the server\'s reason');
# a transaction an attempt: the connection may be a kept one
is(scalar(() = join('', $busy->transcripts) =~ /^C: MAIL/mg), scalar @want,
   'one transaction an attempt');

# --- NOTIFY=DELAY and NOTIFY=FAILURE alone -----------------------------------

$id = submit([['delay@busy.test', ' NOTIFY=DELAY'],
              ['failure@busy.test', ' NOTIFY=FAILURE'],
              ['perm-delay@busy.test', ' NOTIFY=DELAY'],
              ['perm-failure@busy.test', ' NOTIFY=FAILURE']], 'notify');
ok(wait_for(sub { env($id, 'attempts') eq '1' }, 'notify'),
   'first attempt made');
ok(wait_for(sub { reports('notify') >= 1 }, 'bounce'), 'a bounce came');
my @r = reports('notify');
is(scalar @r, 1, 'one report so far');
like($r[0], qr/^Action: failed\r$/m, 'it reports a failure');
like($r[0], qr/^Final-Recipient: rfc822; ?perm-failure\@busy\.test\r$/m,
     'of the NOTIFY=FAILURE recipient');
unlike($r[0], qr/perm-delay\@busy\.test/,
       'not of the NOTIFY=DELAY one refused just as well');

# the delay warning is due from the first attempt 4 s after arrival on
ok(wait_for(sub { time - env($id, 'created') >= 5 }, 'age'),
   'older than queue_delay_warning');
my ($rc, $out) = $t->mailctl(undef, 'queue', 'retry', $id);
like($out, qr/queued for delivery/, 'retried');
ok(wait_for(sub { reports('notify') >= 2 }, 'warning'), 'a warning came');
@r = reports('notify');
my ($warn) = grep { /^Action: delayed\r$/m } @r;
ok(defined $warn, 'a delay warning');
like($warn // '', qr/^Final-Recipient: rfc822; ?delay\@busy\.test\r$/m,
     'for the NOTIFY=DELAY recipient');
unlike($warn // '', qr/^Final-Recipient: rfc822; ?failure\@busy\.test\r$/m,
       'not for the NOTIFY=FAILURE one, deferred just as well');
is(env($id, 'warned'), 1, 'the message is marked warned');
is($t->rcpt_state($id, 'failure@busy.test') =~ /^deferred/ ? 1 : 0, 1,
   'the NOTIFY=FAILURE recipient is still deferred');

done_testing;
