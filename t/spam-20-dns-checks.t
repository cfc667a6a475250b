# The spam filter's DNS checks through SMTP: DNSBL zones (RFC 5782) and
# SPF (RFC 7208) on the queue's resolver, their score, the verdict (inbox,
# Junk, 550 5.7.1 at the end of the data) and what the delivered message
# carries: Received-SPF (RFC 7208 9.1), Authentication-Results (RFC 8601),
# X-Spam-Score and X-Spam-Status; one "spam:" log line per message.
#
# The client is 127.0.0.1, so a DNSBL lists it as 1.0.0.127.<zone>.
# Until the SMTP server has the "spam" directives the file skips itself.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time);
use MailTest qw(free_port client send_line reply_of);

my $t = MailTest->new;
$t->start_redis;

my $dns = $t->start_dns({
    a => {
        '1.0.0.127.listed.test' => '127.0.0.2',     # the client is listed
        'mail.a.test'           => '127.0.0.1',
        'mx1.mx.test'           => '127.0.0.1',
        'host.ptr.test'         => '127.0.0.1',
        '127.0.0.1.ex.test'     => '127.0.0.2',
    },
    mx  => { 'mx.test' => [[10, 'mx1.mx.test']] },
    ptr => { '127.0.0.1' => 'host.ptr.test' },
    txt => {
        'pass.test'      => ['v=spf1 ip4:127.0.0.1 -all'],
        'fail.test'      => ['v=spf1 -all'],
        'softfail.test'  => ['v=spf1 ~all'],
        'neutral.test'   => ['v=spf1 ?all'],
        'perm.test'      => ['v=spf1 foo:bar -all'],
        'two.test'       => ['v=spf1 -all', 'v=spf1 +all'],
        'a.test'         => ['v=spf1 a:mail.a.test -all'],
        'mx.test'        => ['v=spf1 mx -all'],
        'include.test'   => ['v=spf1 include:pass.test -all'],
        'exists.test'    => ['v=spf1 exists:%{i}.ex.test -all'],
        'redirect.test'  => ['v=spf1 redirect=fail.test'],
        'ptr.test'       => ['v=spf1 ptr -all'],
        'exp.test'       => ['v=spf1 -all exp=why.exp.test'],
        'why.exp.test'   => ['%{i} may not send for %{d}'],
        'split.test'     => [['v=spf1 ip4:127.0.0.1', ' -all']],
        'helo.pass.test' => ['v=spf1 ip4:127.0.0.1 -all'],
        'slow.test'      => ['v=spf1 include:x.timeout.test -all'],
    },
    servfail => ['servfail.test'],
    timeout  => ['timeout.test'],
});

my ($mx1, $mx2, $mx3, $sub) = map { free_port() } 1 .. 4;

# the same scores everywhere but the weight of the zone that lists us
sub spam_conf {
    my ($listed_weight, $extra, $dnsbl_timeout) = @_;
    $dnsbl_timeout ||= '2s';
    return <<CONF;
        spam on;
        spam_dnsbl listed.test $listed_weight;
        spam_dnsbl clean.test 3;
        spam_dnsbl_timeout $dnsbl_timeout;
        spam_spf on;
        spam_spf_score fail 5;
        spam_spf_score softfail 2;
        spam_spf_score pass -1;
        spam_spf_score neutral 0;
        spam_spf_score none 0;
        spam_spf_score permerror 0;
        spam_spf_score temperror 0;
        spam_junk_score 5;
        spam_reject_score 10;
$extra
CONF
}

my $conf = "    dns_resolver 127.0.0.1:$dns;\n"
    . "    dns_resolver_timeout 1s;\n"
    . "    server {\n        listen 127.0.0.1:$mx1;\n        protocol smtpd;\n"
    . spam_conf('1.5', '') . "    }\n"
    . "    server {\n        listen 127.0.0.1:$mx2;\n        protocol smtpd;\n"
    . spam_conf('5.5', '') . "    }\n"
    . "    server {\n        listen 127.0.0.1:$mx3;\n        protocol smtpd;\n"
    . spam_conf('1.5', "        spam_dnsbl x.timeout.test 4;\n", '1s')
    . "    }\n"
    . "    server {\n        listen 127.0.0.1:$sub;\n        protocol smtpd;\n"
    . "        smtpd_role submission;\n        smtpd_auth_plaintext on;\n"
    . spam_conf('5.5', '') . "    }\n";

my ($rc, $out) = $t->nginx_test_conf($conf);
is($rc, 0, 'the spam directives are accepted') or diag($out);

$t->start_nginx($conf, ports => [$mx1, $mx2, $mx3, $sub]);

is(($t->mailctl('', 'domain', 'add', 'example.test'))[0], 0, 'domain add');
is(($t->mailctl("Secret-1\n", 'user', 'add', 'bob@example.test'))[0], 0,
   'user add: INBOX and Junk');
ok(length $t->redis('HGET', 'mailboxes:{bob@example.test}', 'Junk'),
   'bob has a Junk mailbox');

my $n = 0;

# One transaction on "port"; returns the reply to the end of the data and
# the subject that finds the message again.
sub deliver {
    my ($port, $from, %opt) = @_;
    my $subject = 'dns check ' . ++$n;
    my $s = client($port);
    reply_of($s);
    send_line($s, 'EHLO ' . ($opt{helo} || 'client.example'));
    reply_of($s);
    if ($opt{auth}) {
        send_line($s, 'AUTH PLAIN ' . encode_base64("\0$opt{auth}", ''));
        my $r = reply_of($s);
        return $r unless $r =~ /^235 /;
    }
    for ("MAIL FROM:<$from>", 'RCPT TO:<bob@example.test>', 'DATA') {
        send_line($s, $_);
        my $r = reply_of($s);
        return $r unless $r =~ /^[23]/;
    }
    print $s "From: <sender\@example.net>\r\nTo: <bob\@example.test>\r\n"
           . "Subject: $subject\r\n\r\nHello Bob.\r\n.\r\n";
    my $reply = reply_of($s);
    send_line($s, 'QUIT');
    reply_of($s);
    close $s;
    return wantarray ? ($reply, $subject) : $reply;
}

# (mailbox, header block unfolded) of bob's message with that subject
sub find_message {
    my ($subject) = @_;
    return ('', '') unless defined $subject;
    return $t->stored_message('bob@example.test', $subject);
}

# the log line of the message from "from"
sub log_line {
    my ($from) = @_;
    my @l = grep { /spam: \S+ from=<\Q$from\E> / } split /\n/, $t->error_log;
    return $l[-1] // '';
}

# --- SPF results, and the headers that report them -----------------------

my %spf = (
    'a@pass.test'          => 'pass',
    'a@fail.test'          => 'fail',
    'a@softfail.test'      => 'softfail',
    'a@neutral.test'       => 'neutral',
    'a@none.test'          => 'none',
    'a@localhost'          => 'none',     # known before any lookup
    'a@perm.test'          => 'permerror',
    'a@two.test'           => 'permerror',
    'a@x.servfail.test'    => 'temperror',
    'a@a.test'             => 'pass',
    'a@mx.test'            => 'pass',
    'a@include.test'       => 'pass',
    'a@exists.test'        => 'pass',
    'a@redirect.test'      => 'fail',
    'a@ptr.test'           => 'pass',
    'a@exp.test'           => 'fail',
    'a@split.test'         => 'pass',
);

# on mx1: DNSBL 1.5 (listed.test), fail +5, softfail +2, pass -1
my %score = (pass => '0.5', fail => '6.5', softfail => '3.5',
             neutral => '1.5', none => '1.5', permerror => '1.5',
             temperror => '1.5');

for my $from (sort keys %spf) {
    my $result = $spf{$from};
    my ($reply, $subject) = deliver($mx1, $from);
    like($reply, qr/^250 /, "$from: accepted");
    my ($mailbox, $head) = find_message($subject);
    my $want_box = $result eq 'fail' ? 'Junk' : 'INBOX';
    is($mailbox, $want_box, "$from: filed into $want_box");
    like($head, qr/^Received-SPF: \Q$result\E /m,
         "$from: Received-SPF: $result");
    like($head, qr/^Received-SPF: .*client-ip=127\.0\.0\.1;/m,
         "$from: Received-SPF names the client");
    like($head, qr/^Authentication-Results: mx\.example\.test;.*\bspf=\Q$result\E\b(?: \([^)]*\))? smtp\.mailfrom=\Q$from\E/m,
         "$from: Authentication-Results: spf=$result smtp.mailfrom");
    like($head, qr/^X-Spam-Score: \Q$score{$result}\E$/m,
         "$from: X-Spam-Score: $score{$result}");
    my $yes = $result eq 'fail' ? 'Yes' : 'No';
    like($head, qr/^X-Spam-Status: $yes, score=\Q$score{$result}\E required=5\.0 tests=\S*DNSBL_LISTED_TEST/m,
         "$from: X-Spam-Status: $yes, with the listing");
    like($head, qr/^X-Spam-Status: .*tests=\S*SPF_FAIL/m,
         "$from: X-Spam-Status names SPF_FAIL") if $result eq 'fail';
    unlike($head, qr/^X-Spam-Status: .*DNSBL_CLEAN_TEST/m,
           "$from: the zone that does not list the client is no test");
    my $verdict = $result eq 'fail' ? 'junk' : 'inbox';
    like(log_line($from),
         qr/spam: \S+ from=<\Q$from\E> ip=127\.0\.0\.1 score=\Q$score{$result}\E verdict=$verdict dnsbl=\S*listed\.test:127\.0\.0\.2\S* spf=\Q$result\E bayes=/,
         "$from: the log line");
}

# the explanation of exp= was asked for when the result was fail
like($t->dns->query_log, qr/query\[TXT\] why\.exp\.test/,
     'exp: the explanation was looked up');
# the ptr mechanism asked for the client's name and its address
like($t->dns->query_log, qr/query\[PTR\] 1\.0\.0\.127\.in-addr\.arpa/,
     'ptr: the PTR name was looked up');

# the null sender: the HELO identity (RFC 7208 2.3)
{
    my ($reply, $subject) = deliver($mx1, '', helo => 'helo.pass.test');
    like($reply, qr/^250 /, 'null sender: accepted');
    my (undef, $head) = find_message($subject);
    like($head, qr/^Received-SPF: pass .*helo=helo\.pass\.test/m,
         'null sender: the HELO name is checked');
    like($head, qr/^Authentication-Results: mx\.example\.test;.*\bspf=pass\b(?: \([^)]*\))? smtp\.helo=helo\.pass\.test/m,
         'null sender: smtp.helo in Authentication-Results');
}

# --- DNSBL cache in Redis -------------------------------------------------

is($t->redis('GET', 'dnsbl:{clean.test}:127.0.0.1'), '-',
   'DNSBL cache: not listed is "-"');
my $ttl = $t->redis('TTL', 'dnsbl:{clean.test}:127.0.0.1');
ok($ttl > 0 && $ttl <= 300, "DNSBL cache: NXDOMAIN kept at most 300 s ($ttl)");
my @asked = $t->dns->query_log =~ /query\[A\] 1\.0\.0\.127\.clean\.test /g;
is(scalar @asked, 1, 'DNSBL cache: the clean zone was asked once for '
                     . "$n messages");

# --- reject: score at spam_reject_score -----------------------------------

# on mx2 the listing weighs 5.5: fail 10.5 rejected, softfail 7.5 junk,
# pass 4.5 inbox
{
    my ($reply, $subject) = deliver($mx2, 'a@fail.test');
    like($reply, qr/^550 5\.7\.1 /, 'score 10.5: 550 5.7.1 at the end of data');
    is((find_message($subject))[0], '', 'and nothing stored');
    like(log_line('a@fail.test'),
         qr/score=10\.5 verdict=reject dnsbl=\S*listed\.test\S* spf=fail /,
         'the log line says reject');

    ($reply, $subject) = deliver($mx2, 'a@softfail.test');
    like($reply, qr/^250 /, 'score 7.5: accepted');
    my ($mailbox, $head) = find_message($subject);
    is($mailbox, 'Junk', 'score 7.5: into Junk');
    like($head, qr/^X-Spam-Status: Yes, score=7\.5 required=5\.0 /m,
         'X-Spam-Status: Yes');

    ($reply, $subject) = deliver($mx2, 'a@pass.test');
    ($mailbox, $head) = find_message($subject);
    is($mailbox, 'INBOX', 'score 4.5: inbox');
    like($head, qr/^X-Spam-Score: 4\.5$/m, 'X-Spam-Score: 4.5');
}

# --- a zone that does not answer ------------------------------------------

{
    my $start = time;
    my ($reply, $subject) = deliver($mx3, 'a@pass.test');
    my $took = time - $start;
    like($reply, qr/^250 /, 'a DNSBL timeout: the message is accepted');
    ok($took < 4, sprintf('within spam_dnsbl_timeout (%.1f s)', $took));
    my ($mailbox, $head) = find_message($subject);
    is($mailbox, 'INBOX', 'and filed by what is known');
    like($head, qr/^X-Spam-Score: 0\.5$/m,
         'the silent zone counts neither way');
    unlike($head, qr/DNSBL_X_TIMEOUT_TEST/, 'and is no test');
    is($t->redis('EXISTS', 'dnsbl:{x.timeout.test}:127.0.0.1'), '0',
       'nor cached');
}

# --- a client that leaves while the lookups wait ---------------------------

{
    my $s = client($mx3);
    reply_of($s);
    send_line($s, 'EHLO client.example');
    reply_of($s);
    send_line($s, 'MAIL FROM:<a@slow.test>');
    like(reply_of($s), qr/^250 /, 'MAIL with an SPF record that times out');
    close $s;
    # the DNSBL and SPF timers would have run out by now
    select(undef, undef, undef, 2.5);
    my ($reply, $subject) = deliver($mx3, 'a@pass.test');
    like($reply, qr/^250 /, 'the server goes on after the session went');
    my ($mailbox, $head) = find_message($subject);
    like($head, qr/^Received-SPF: pass /m, 'and checks the next one');
}

# --- authenticated submission skips the filters ---------------------------

{
    my ($reply, $subject) = deliver($sub, 'bob@example.test',
                                    auth => "bob\@example.test\0Secret-1");
    like($reply, qr/^250 /, 'submission: accepted');
    my ($mailbox, $head) = find_message($subject);
    is($mailbox, 'INBOX', 'submission: inbox');
    unlike($head, qr/^(?:X-Spam-|Received-SPF:)/m,
           'submission: no spam headers');
}

unlike($t->error_log, qr/\[(?:alert|crit|emerg)\]/, 'nothing alarming logged');

done_testing;
