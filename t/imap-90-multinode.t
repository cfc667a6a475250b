# Two nginx instances sharing one Redis: IMAP sessions on node A and node
# B see each other's STORE, EXPUNGE and APPEND, and an IDLE client on
# node B hears of a delivery through node A's smtpd (bounded by alarm).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port client send_line imap_line imap_cmd imap_until
                smtp_deliver);

my $ta = MailTest->new;
my $redis = $ta->start_redis;
my ($smtp_a, $imap_a, $smtp_b, $imap_b) = map { free_port() } 1 .. 4;

$ta->start_nginx(<<CONF, ports => [$smtp_a, $imap_a]);
    server { listen 127.0.0.1:$smtp_a; protocol smtpd; }
    server { listen 127.0.0.1:$imap_a; protocol imapd; imapd_auth_plaintext on; }
CONF

my $tb = MailTest->new;
$tb->{redis_port} = $redis;    # node B: no redis of its own
$tb->start_nginx(<<CONF, ports => [$smtp_b, $imap_b], redis => "mail_redis 127.0.0.1:$redis;");
    server { listen 127.0.0.1:$smtp_b; protocol smtpd; }
    server { listen 127.0.0.1:$imap_b; protocol imapd; imapd_auth_plaintext on; }
CONF
isnt($ta->dir, $tb->dir, 'two nginx instances, two prefixes');

$ta->mailctl('', 'domain', 'add', 'example.test');
$ta->mailctl("Secret-1\n", 'user', 'add', 'demo@example.test');
my $u = 'demo@example.test';

smtp_deliver($smtp_a, $u, "Subject: one\n\nbody one\n");
smtp_deliver($smtp_b, $u, "Subject: two\n\nbody two\n");

sub session {
    my ($port) = @_;
    my $s = client($port);
    imap_line($s);
    imap_cmd($s, "x LOGIN $u Secret-1") =~ /^x OK/m or die 'login';
    return $s;
}

my $a = session($imap_a);
my $b = session($imap_b);
my $r = imap_cmd($a, 'a1 SELECT INBOX');
like($r, qr/^\* 2 EXISTS\r$/m, 'node A: both deliveries (one per node)');
my ($uidv) = $r =~ /UIDVALIDITY (\d+)/;
$r = imap_cmd($b, 'b1 SELECT INBOX');
like($r, qr/^\* 2 EXISTS\r$/m, 'node B: the same two');
like($r, qr/^\* OK \[UIDVALIDITY $uidv\]/m, 'the same UIDVALIDITY');
like($r, qr/^\* 0 RECENT\r$/m, '\Recent went to node A\'s session');

# STORE on A, seen on B
imap_cmd($a, 'a2 STORE 1 +FLAGS (\\Flagged)');
like(imap_cmd($b, 'b2 NOOP'),
   qr/\A\* 1 FETCH \((?:UID 1 )?FLAGS \(\\Flagged\)\)\r\nb2 OK NOOP completed\r\n\z/,
   'node B: the flag change from node A at NOOP');
is(imap_cmd($b, 'b3 FETCH 1 FLAGS'),
   "* 1 FETCH (FLAGS (\\Flagged))\r\nb3 OK FETCH completed\r\n",
   'node B: FETCH FLAGS agrees');

# STORE on B, seen on A
imap_cmd($b, 'b4 STORE 2 +FLAGS (\\Seen $Done)');
like(imap_cmd($a, 'a3 NOOP'),
     qr/^\* 2 FETCH \((?:UID 2 )?FLAGS \(\\Seen \$Done \\Recent\)\)\r\na3 OK/m,
     'node A: the flag change from node B');

# APPEND on B: EXISTS on A
my $m = "Subject: three\r\n\r\nbody three\r\n";
print $b 'b5 APPEND INBOX {' . length($m) . "+}\r\n$m\r\n";
like(imap_until($b, 'b5'), qr/^\* 3 EXISTS\r\n.*^b5 OK \[APPENDUID $uidv 3\]/ms,
     'node B: APPEND with APPENDUID');
like(imap_cmd($a, 'a4 NOOP'), qr/^\* 3 EXISTS\r\n(?:.*\r\n)*a4 OK/m,
     'node A: EXISTS for node B\'s APPEND');
is(imap_cmd($a, 'a5 UID FETCH 3 BODY.PEEK[TEXT]'),
   "* 3 FETCH (UID 3 BODY[TEXT] {12}\r\nbody three\r\n)\r\n"
   . "a5 OK UID FETCH completed\r\n", 'node A reads the message node B stored');

# EXPUNGE on A: EXPUNGE on B
imap_cmd($a, 'a6 STORE 1 +FLAGS.SILENT (\\Deleted)');
is(imap_cmd($a, 'a7 EXPUNGE'), "* 1 EXPUNGE\r\na7 OK EXPUNGE completed\r\n",
   'node A: EXPUNGE');
is(imap_cmd($b, 'b6 NOOP'), "* 1 EXPUNGE\r\nb6 OK NOOP completed\r\n",
   'node B: the EXPUNGE at NOOP');
is(imap_cmd($b, 'b7 UID SEARCH ALL'), "* SEARCH 2 3\r\nb7 OK UID SEARCH completed\r\n",
   'node B: UIDs 2 and 3 left');

# EXPUNGE on B: A, QRESYNC-enabled, gets VANISHED
imap_cmd($a, 'a8 ENABLE QRESYNC');
imap_cmd($b, 'b8 UID STORE 2 +FLAGS.SILENT (\\Deleted)');
is(imap_cmd($b, 'b9 UID EXPUNGE 2'), "* 1 EXPUNGE\r\nb9 OK EXPUNGE completed\r\n",
   'node B: UID EXPUNGE');
is(imap_cmd($a, 'a9 NOOP'), "* VANISHED 2\r\na9 OK NOOP completed\r\n",
   'node A (QRESYNC): VANISHED for node B\'s expunge');

# IDLE on B, delivery through A's smtpd
send_line($b, 'b10 IDLE');
is(imap_line($b), "+ idling\r\n", 'node B: IDLE');
smtp_deliver($smtp_a, $u, "Subject: four\n\nbody four\n");
my @got;
my $ok = eval {
    local $SIG{ALRM} = sub { die "no EXISTS within 5 s\n" };
    alarm 5;
    while (defined(my $l = <$b>)) {
        push @got, $l;
        last if $l =~ /^\* \d+ EXISTS\r\n\z/;
    }
    alarm 0;
    1;
};
alarm 0;
ok($ok, 'node B: pushed within 5 s') or diag($@);
is($got[0], "* 2 EXISTS\r\n", 'node B in IDLE: EXISTS for node A\'s delivery');
send_line($b, 'DONE');
like(imap_until($b, 'b10'), qr/^b10 OK IDLE terminated\r\n\z/m, 'DONE');

# IDLE on A, APPEND on B
send_line($a, 'a10 IDLE');
is(imap_line($a), "+ idling\r\n", 'node A: IDLE');
print $b 'b11 APPEND INBOX {' . length($m) . "+}\r\n$m\r\n";
like(imap_until($b, 'b11'), qr/^b11 OK/m, 'node B: APPEND');
@got = ();
$ok = eval {
    local $SIG{ALRM} = sub { die "no EXISTS within 5 s\n" };
    alarm 5;
    while (defined(my $l = <$a>)) {
        push @got, $l;
        last if $l =~ /^\* 3 EXISTS\r\n\z/;
    }
    alarm 0;
    1;
};
alarm 0;
ok($ok, 'node A: pushed within 5 s') or diag($@);
# the delivery A had not heard of may come first as "* 2 EXISTS", or be
# counted in with the APPEND when both are in Redis by the time A looks
# (RFC 9051 7.4.1: a client needs only the latest count)
my @counts = map { /^\* (\d+) EXISTS\r\n\z/ ? $1 : () } @got;
my $rising = !grep { $counts[$_] < $counts[$_ - 1] } 1 .. $#counts;
ok(@counts && $counts[0] >= 2 && $rising,
   "node A in IDLE: EXISTS from 2 on, never going down (@counts)");
is($got[-1], "* 3 EXISTS\r\n", 'node A in IDLE: EXISTS for node B\'s APPEND');
send_line($a, 'DONE');
like(imap_until($a, 'a10'), qr/^a10 OK IDLE terminated\r\n\z/m, 'DONE');

# IDLE on A, flag change on B
send_line($a, 'a11 IDLE');
is(imap_line($a), "+ idling\r\n", 'node A: IDLE again');
imap_cmd($b, 'b12 STORE 1 +FLAGS (\\Answered)');
my $l = eval { imap_line($a) };
like($l // '', qr/^\* 1 FETCH \((?=.*UID 3\b)(?=.*FLAGS \([^)]*\\Answered)/,
     'node A in IDLE: FETCH for node B\'s STORE');
send_line($a, 'DONE');
like(imap_until($a, 'a11'), qr/^a11 OK IDLE terminated\r\n\z/m, 'DONE');

done_testing;
