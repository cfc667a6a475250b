# The queue's SMTP client against servers that break the protocol on
# purpose: a reply in the middle of the content, DATA after every RCPT
# was refused, an endless greeting, a close after the dot, and content
# that crosses the 64 kB chunks read from Redis with a dot at a line
# start on the boundary.  Each is logged and decided, never a crash.

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

my %host = (early => 2, nordata => 3, long => 4, dotclose => 5, big => 6,
            dataok => 7, extra => 8);
my $dns = $t->start_dns({
    mx => { map { ("$_.test" => [[10, "mx.$_.test"]]) } keys %host },
    a  => { map { ("mx.$_.test" => "127.0.0.$host{$_}") } keys %host },
});

my $port = free_port();
my @ext = qw(PIPELINING SIZE 8BITMIME ENHANCEDSTATUSCODES);
my %peer;
sub peer {
    my ($name, %o) = @_;
    $peer{$name} = SMTPPeer->start(addr => "127.0.0.$host{$name}",
        port => $port, dir => $t->dir, ehlo => [@ext], %o);
}
peer('early', data => "354 go ahead\n250 2.0.0 queued before the data");
peer('nordata', rcpt => '550 5.1.1 no such user');
peer('long', greeting => '220 ' . ('x' x 20000));
peer('dotclose', data_end => 'CLOSE');
peer('big');
peer('dataok', data => '250 2.0.0 no need for the content');
# one reply too many after EHLO, to a server without 8BITMIME: the
# message is read for its conversion before MAIL
$peer{extra} = SMTPPeer->start(addr => "127.0.0.$host{extra}",
    port => $port, dir => $t->dir,
    ehlo_reply => "250 peer-extra\n250 2.1.0 a reply to no command");

my $sub = free_port();
$t->start_nginx(<<CONF, ports => [$sub]);
    queue_workers 1;
    dns_resolver 127.0.0.1:$dns;
    dns_resolver_timeout 1s;
    queue_smtp_port $port;
    queue_poll_interval 100ms;
    queue_retry 60s 60s;
    queue_timeout 5s;
    @{[ submission_server($sub) ]}
CONF

$t->add_user('demo@example.test', 'Secret-1');

sub submit {
    my ($rcpt, $subject, $body, $mail) = @_;
    return smtp_submit(port => $sub, rcpts => [$rcpt], mail => $mail,
        content => "From: demo\@example.test\r\nSubject: $subject\r\n"
                 . "\r\n" . ($body // "body\r\n"));
}

# --- a final reply before the content: not in step, deferred ---------------
my $id = submit('a@early.test', 'early');
ok(wait_for(sub { $t->rcpt_state($id, 'a@early.test') =~ /^deferred/ },
            'early'),
   'a reply during the content defers');
like($t->rcpt_state($id, 'a@early.test'), qr/unexpected reply during data/,
     'the reason is recorded');
is(scalar $peer{early}->transactions, 0, 'no content was taken as a mail');

# --- every RCPT refused, DATA pipelined behind them ----------------------
$id = submit('a@nordata.test', 'nordata');
ok(wait_for(sub { !$t->queued($id) }, 'nordata'),
   'the refused recipient settles');
is(scalar $peer{nordata}->transactions, 0, 'no content sent');

# --- DATA answered 250: no content went, nothing was delivered -----------
$id = submit('a@dataok.test', 'dataok');
ok(wait_for(sub { $t->rcpt_state($id, 'a@dataok.test') =~ /^deferred/ },
            'dataok'),
   'a 250 to DATA defers');
like($t->rcpt_state($id, 'a@dataok.test'), qr/DATA not answered with 354/,
     'the reason is recorded');

# --- a reply to no command, before MAIL ------------------------------------
$id = submit('a@extra.test', 'extra', "gr\xc3\xbc\xc3\x9fe\r\n",
             ' BODY=8BITMIME');
ok(wait_for(sub { $t->rcpt_state($id, 'a@extra.test') =~ /^deferred/ },
            'extra'),
   'a reply to no command defers');
like($t->rcpt_state($id, 'a@extra.test'), qr/unexpected reply/,
     'the reason is recorded');
is(scalar $peer{extra}->transactions, 0, 'not taken for a delivery');

# --- a greeting without end -----------------------------------------------
$id = submit('a@long.test', 'long');
ok(wait_for(sub { $t->rcpt_state($id, 'a@long.test') =~ /^deferred/ }, 'long'),
   'an over-long greeting defers');

# --- the connection closes after the dot, before the reply ----------------
$id = submit('a@dotclose.test', 'dotclose');
ok(wait_for(sub { $t->rcpt_state($id, 'a@dotclose.test') =~ /^deferred/ },
            'dotclose'), 'no reply to the dot: deferred');
like($t->rcpt_state($id, 'a@dotclose.test'), qr/4\.4\.2 .*lost connection/,
     'as a lost connection');

# --- dots at line starts across the 64 kB chunks --------------------------
# lines of 3 and 4 octets: a line starts on every chunk boundary in one of
# the messages, whatever the length of the header in front
my $body = join '', map { $_ % 2 ? ".\r\n" : ".x\r\n" } 1 .. 60000;
my @ids;
for my $pad (0 .. 6) {
    push @ids, submit('a@big.test', "big-$pad", ('y' x $pad) . "\r\n" . $body);
}
ok(wait_for(sub { !grep { $t->queued($_) } @ids }, 'big', 60),
   'seven messages over three chunks delivered');
my %got = map { $_->{data} =~ /Subject: (big-\d)/ ? ($1 => $_->{data}) : () }
              $peer{big}->transactions;
for my $pad (0 .. 6) {
    my $want = ('y' x $pad) . "\r\n" . $body;
    my $data = $got{"big-$pad"} // '';
    $data =~ s/\A.*?\r\n\r\n//s;
    ok($data eq $want, "big-$pad arrived unchanged, dots and all");
}

unlike($t->error_log, qr/\[(?:alert|crit|emerg)\]/, 'no alert in the log');

done_testing;
