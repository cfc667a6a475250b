# CONDSTORE and QRESYNC (RFC 7162) with ENABLE (RFC 5161): MODSEQ in
# FETCH, CHANGEDSINCE, UNCHANGEDSINCE and [MODIFIED], SEARCH MODSEQ,
# STATUS HIGHESTMODSEQ, VANISHED in place of EXPUNGE, UID FETCH
# (CHANGEDSINCE n VANISHED), SELECT (QRESYNC (uidvalidity modseq
# [known-uids])) giving VANISHED (EARLIER) and FETCH, and the BAD cases.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port client send_line imap_line imap_cmd imap_until
                smtp_deliver);

my $t = MailTest->new;
$t->start_redis;
my ($smtp, $imap) = map { free_port() } 1 .. 2;

$t->start_nginx(<<CONF, ports => [$smtp, $imap]);
    server { listen 127.0.0.1:$smtp; protocol smtpd; }
    server { listen 127.0.0.1:$imap; protocol imapd; imapd_auth_plaintext on; }
CONF
$t->mailctl('', 'domain', 'add', 'example.test');
$t->mailctl("Secret-1\n", 'user', 'add', 'demo@example.test');
my $u = 'demo@example.test';

smtp_deliver($smtp, $u, "Subject: $_\n\nbody $_\n") for 1 .. 5;

sub session {
    my $s = client($imap);
    imap_line($s);
    imap_cmd($s, "x LOGIN $u Secret-1") =~ /^x OK/m or die 'login';
    return $s;
}

my $A = session();
like(imap_cmd($A, 'a0 CAPABILITY'), qr/^\* CAPABILITY .*\bCONDSTORE\b.*\bQRESYNC\b/m,
     'CONDSTORE and QRESYNC advertised');

my $r = imap_cmd($A, 'a1 SELECT INBOX (CONDSTORE)');
my ($h0) = $r =~ /^\* OK \[HIGHESTMODSEQ (\d+)\]/m;
ok($h0, "SELECT (CONDSTORE): HIGHESTMODSEQ $h0");
like($r, qr/^a1 OK \[READ-WRITE\]/m, 'SELECT (CONDSTORE) OK');

$r = imap_cmd($A, 'a2 FETCH 1:* (UID MODSEQ)');
my %ms = $r =~ /^\* \d+ FETCH \(UID (\d+) MODSEQ \((\d+)\)\)\r$/mg;
is(scalar(keys %ms), 5, 'FETCH MODSEQ: every message, MODSEQ in parentheses');
my ($max) = sort { $::b <=> $::a } values %ms;
is($max, $h0, 'HIGHESTMODSEQ is the largest MODSEQ');

like(imap_cmd($A, 'a3 STORE 2 +FLAGS (\\Seen)'),
   qr/\A\* 2 FETCH \((?:UID 2 )?FLAGS \(\\Seen \\Recent\) MODSEQ \(@{[$h0 + 1]}\)\)\r\na3 OK STORE completed\r\n\z/,
   'STORE with CONDSTORE on: the new MODSEQ in the FETCH');
my $h1 = $h0 + 1;

is(imap_cmd($A, "a4 FETCH 1:* (FLAGS) (CHANGEDSINCE $h0)"),
   "* 2 FETCH (MODSEQ ($h1) FLAGS (\\Seen \\Recent))\r\na4 OK FETCH completed\r\n",
   'FETCH (CHANGEDSINCE): only the changed message, MODSEQ included');
is(imap_cmd($A, "a5 UID FETCH 1:* (FLAGS) (CHANGEDSINCE $h1)"),
   "a5 OK UID FETCH completed\r\n", 'CHANGEDSINCE the highest: nothing');
like(imap_cmd($A, 'a6 FETCH 1:* (FLAGS) (CHANGEDSINCE 1)'),
     qr/\A(?:\* \d FETCH \(MODSEQ \(\d+\) FLAGS \([^)]*\)\)\r\n){5}a6 OK/,
     'CHANGEDSINCE 1: everything');
like(imap_cmd($A, 'a6b FETCH 1 (FLAGS) (CHANGEDSINCE 0)'), qr/^a6b BAD/m,
     'CHANGEDSINCE 0: BAD (mod-sequence-value is at least 1)');
like(imap_cmd($A, 'a7 FETCH 1 (FLAGS) (CHANGEDSINCE x)'), qr/^a7 BAD/m,
     'CHANGEDSINCE x: BAD');
like(imap_cmd($A, 'a8 FETCH 1 (FLAGS) (BOGUS 1)'), qr/^a8 BAD/m,
     'an unknown FETCH modifier: BAD');

# --- UNCHANGEDSINCE ---------------------------------------------------------------
my $m3 = $ms{3};
like(imap_cmd($A, "a9 STORE 3 (UNCHANGEDSINCE $m3) +FLAGS (\\Flagged)"),
   qr/\A\* 3 FETCH \((?:UID 3 )?FLAGS \(\\Flagged \\Recent\) MODSEQ \(@{[$h1 + 1]}\)\)\r\na9 OK STORE completed\r\n\z/, 'UNCHANGEDSINCE its own MODSEQ: stored');
my $h2 = $h1 + 1;
is(imap_cmd($A, "a10 STORE 3 (UNCHANGEDSINCE $m3) -FLAGS (\\Flagged)"),
   "a10 OK [MODIFIED 3] Conditional STORE failed\r\n",
   'UNCHANGEDSINCE an older MODSEQ: [MODIFIED 3], nothing stored');
is(imap_cmd($A, "a11 UID STORE 1,3 (UNCHANGEDSINCE $m3) +FLAGS (\\Answered)"),
   "* 1 FETCH (UID 1 FLAGS (\\Answered \\Recent) MODSEQ (" . ($h2 + 1)
   . "))\r\na11 OK [MODIFIED 3] Conditional STORE failed\r\n",
   'UID STORE: the unmodified one stored, [MODIFIED] with UIDs');
my $h3 = $h2 + 1;
like(imap_cmd($A, 'a12 STORE 4 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)'),
     qr/^a12 OK \[MODIFIED 4\]/m, 'UNCHANGEDSINCE 0 always fails');
like(imap_cmd($A, 'a13 FETCH 3:4 (FLAGS)'),
   qr/\A\* 3 FETCH \((?:MODSEQ \($h2\) )?FLAGS \(\\Flagged \\Recent\)\)\r\n\* 4 FETCH \((?:MODSEQ \(\d+\) )?FLAGS \(\\Recent\)\)\r\na13 OK FETCH completed\r\n\z/, 'the failed STOREs changed nothing');

# --- SEARCH MODSEQ, STATUS HIGHESTMODSEQ ---------------------------------------------
is(imap_cmd($A, "a14 SEARCH MODSEQ $h1"),
   "* SEARCH 1 2 3 (MODSEQ $h3)\r\na14 OK SEARCH completed\r\n",
   'SEARCH MODSEQ: the highest MODSEQ of the matches');
is(imap_cmd($A, "a15 SEARCH MODSEQ " . ($h3 + 1)),
   "* SEARCH\r\na15 OK SEARCH completed\r\n", 'no match: no (MODSEQ)');
is(imap_cmd($A, 'a16 STATUS Archive (HIGHESTMODSEQ MESSAGES)'),
   "* STATUS \"Archive\" (HIGHESTMODSEQ 1 MESSAGES 0)\r\n"
   . "a16 OK STATUS completed\r\n", 'STATUS HIGHESTMODSEQ');

# --- ENABLE ---------------------------------------------------------------------------
my $c = session();
like(imap_cmd($c, 'c1 SELECT INBOX'), qr/^c1 OK/m, 'another session');
like(imap_cmd($c, 'c2 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)'),
     qr/^c2 BAD/m, 'VANISHED without ENABLE QRESYNC: BAD');
imap_cmd($c, 'c3 UNSELECT');
like(imap_cmd($c, "c4 SELECT INBOX (QRESYNC (1 1))"), qr/^c4 BAD/m,
     'SELECT (QRESYNC) without ENABLE QRESYNC: BAD');
is(imap_cmd($c, 'c5 ENABLE QRESYNC'),
   "* ENABLED QRESYNC\r\nc5 OK ENABLE completed\r\n", 'ENABLE QRESYNC');
is(imap_cmd($c, 'c6 ENABLE QRESYNC CONDSTORE'),
   "* ENABLED\r\nc6 OK ENABLE completed\r\n",
   'ENABLE again: nothing newly enabled (QRESYNC implies CONDSTORE)');
like(imap_cmd($c, 'c7 ENABLE X-UNKNOWN'), qr/^\* ENABLED\r\nc7 OK/,
     'an unknown extension: ENABLED with nothing');

is(imap_cmd($A, 'a17 ENABLE QRESYNC'),
   "* ENABLED QRESYNC\r\na17 OK ENABLE completed\r\n",
   'ENABLE QRESYNC in the selected state');
like(imap_cmd($A, 'a18 FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)'),
     qr/^a18 BAD/m, 'VANISHED with FETCH (not UID FETCH): BAD');
like(imap_cmd($A, 'a19 UID FETCH 1:* (FLAGS) (VANISHED)'), qr/^a19 BAD/m,
     'VANISHED without CHANGEDSINCE: BAD');

# --- expunges: VANISHED ------------------------------------------------------------------
my $b = session();
imap_cmd($b, 'b1 SELECT INBOX');
imap_cmd($b, 'b2 STORE 4:5 +FLAGS.SILENT (\\Deleted)');
is(imap_cmd($b, 'b3 EXPUNGE'),
   "* 5 EXPUNGE\r\n* 4 EXPUNGE\r\nb3 OK EXPUNGE completed\r\n",
   'a non-QRESYNC session: EXPUNGE, highest first');
$r = imap_cmd($A, 'a20 NOOP');
like($r, qr/\A(?:\* 4 FETCH[^\n]*\n)?\* VANISHED 4[:,]5\r\na20 OK NOOP completed\r\n\z/,
     'the QRESYNC session: VANISHED 4:5 instead of EXPUNGE');
$r = imap_cmd($A, 'a21 SELECT INBOX (CONDSTORE)');
my ($h4) = $r =~ /HIGHESTMODSEQ (\d+)/;
cmp_ok($h4, '>', $h3, 'the expunge raised HIGHESTMODSEQ');
my ($uidv) = $r =~ /UIDVALIDITY (\d+)/;

$r = imap_cmd($A, "a22 UID FETCH 1:10 (FLAGS) (CHANGEDSINCE $h1 VANISHED)");
$r =~ s/^(\* VANISHED \(EARLIER\) 4),5\r$/$1:5\r/m;    # either form is a set
is($r, "* VANISHED (EARLIER) 4:5\r\n"
   . "* 1 FETCH (UID 1 MODSEQ ($h3) FLAGS (\\Answered))\r\n"
   . "* 3 FETCH (UID 3 MODSEQ ($h2) FLAGS (\\Flagged))\r\n"
   . "a22 OK UID FETCH completed\r\n",
   'UID FETCH (CHANGEDSINCE VANISHED): VANISHED (EARLIER) first, then FETCH');
is(imap_cmd($A, "a23 UID FETCH 1:3 (FLAGS) (CHANGEDSINCE $h3 VANISHED)"),
   "a23 OK UID FETCH completed\r\n",
   'VANISHED only for UIDs in the set');
is(imap_cmd($A, "a24 UID FETCH 5 (FLAGS) (CHANGEDSINCE 1 VANISHED)"),
   "* VANISHED (EARLIER) 5\r\na24 OK UID FETCH completed\r\n",
   'a single expunged UID');

# --- SELECT (QRESYNC ...) -----------------------------------------------------------------
imap_cmd($c, 'c8 STORE 2 -FLAGS (\\Seen)');    # c has no mailbox: BAD, fine
$r = imap_cmd($c, "c9 SELECT INBOX (QRESYNC ($uidv $h1))");
like($r, qr/^\* VANISHED \(EARLIER\) 4[:,]5\r$/m,
     'SELECT (QRESYNC): VANISHED (EARLIER) for the expunged');
like($r, qr/^\* 1 FETCH \((?=.*UID 1\b)(?=.*MODSEQ \($h3\))(?=.*FLAGS \(\\Answered\))[^\n]*\)\r$/m,
     'SELECT (QRESYNC): FETCH for message 1 with UID, MODSEQ, FLAGS');
like($r, qr/^\* 3 FETCH \((?=.*UID 3\b)(?=.*MODSEQ \($h2\))[^\n]*\)\r$/m,
     'SELECT (QRESYNC): FETCH for message 3');
unlike($r, qr/UID 2\b/, 'not for the unchanged message');
like($r, qr/^\* 3 EXISTS\r$/m, 'EXISTS 3');
like($r, qr/VANISHED.*\n(?:.*\n)*.*HIGHESTMODSEQ|HIGHESTMODSEQ.*\n(?:.*\n)*.*VANISHED/,
     'all in the SELECT reply');
like($r, qr/\r\nc9 OK \[READ-WRITE\] SELECT completed\r\n\z/, 'SELECT OK');

$r = imap_cmd($c, "c10 EXAMINE INBOX (QRESYNC ($uidv $h1 1:2))");
like($r, qr/^\* OK \[CLOSED\]/m, 'EXAMINE (QRESYNC) while selected: [CLOSED]');
{
    unlike($r, qr/VANISHED/, 'known-uids 1:2: no VANISHED for 4:5');
    unlike($r, qr/UID 3\b/, 'known-uids 1:2: no FETCH for UID 3');
}
like($r, qr/^\* 1 FETCH \(/m, 'the FETCH for message 1 still');
like($r, qr/^c10 OK \[READ-ONLY\]/m, 'EXAMINE (QRESYNC): READ-ONLY');

$r = imap_cmd($c, 'c11 SELECT INBOX (QRESYNC (' . ($uidv + 1) . " $h1))");
unlike($r, qr/VANISHED|FETCH/, 'a different UIDVALIDITY: no VANISHED, no FETCH');
like($r, qr/^c11 OK/m, 'but the SELECT succeeds');

$r = imap_cmd($c, "c12 SELECT INBOX (QRESYNC ($uidv $h4))");
unlike($r, qr/VANISHED|FETCH/, 'modseq = HIGHESTMODSEQ: nothing to report');
like($r, qr/^c12 OK/m, 'SELECT OK');

like(imap_cmd($c, 'c13 SELECT INBOX (QRESYNC (x 1))'), qr/^c13 BAD/m,
     'SELECT (QRESYNC (x 1)): BAD');
like(imap_cmd($c, 'c14 SELECT INBOX (QRESYNC)'), qr/^c14 BAD/m,
     'SELECT (QRESYNC) without its list: BAD');

# --- flag changes by another session, in a QRESYNC session ---------------------------------
imap_cmd($c, 'c15 SELECT INBOX');
imap_cmd($b, 'b4 STORE 1 +FLAGS (\\Draft)');
like(imap_cmd($c, 'c16 NOOP'),
     qr/^\* 1 FETCH \((?=.*UID 1\b)(?=.*MODSEQ \(\d+\))(?=.*FLAGS \(\\Answered \\Draft\))/m,
     'unsolicited FETCH with QRESYNC: UID and MODSEQ included');

# --- CHANGEDSINCE enables CONDSTORE; a deferred VANISHED -------------------------------
my $d = session();
imap_cmd($d, 'd1 SELECT INBOX');
like(imap_cmd($d, 'd2 FETCH 1 (FLAGS) (CHANGEDSINCE 1)'),
     qr/\A\* OK \[HIGHESTMODSEQ \d+\][^\n]*\n\* 1 FETCH \(MODSEQ \(\d+\) FLAGS \([^)]*\)\)\r\nd2 OK/,
     'CHANGEDSINCE in a plain session: MODSEQ (CONDSTORE enabling)');
imap_cmd($b, 'b5 STORE 1 -FLAGS (\\Draft)');
like(imap_cmd($d, 'd3 NOOP'), qr/^\* 1 FETCH \((?=[^\n]*MODSEQ \(\d+\))/m,
     'after it, unsolicited FETCH carries MODSEQ');
is(imap_cmd($d, 'd4 ENABLE QRESYNC'), "* ENABLED QRESYNC\r\nd4 OK ENABLE completed\r\n",
   'ENABLE QRESYNC after CONDSTORE: QRESYNC only');
imap_cmd($b, 'b6 NOOP');
imap_cmd($b, 'b7 UID STORE 3 +FLAGS.SILENT (\\Deleted)');
is(imap_cmd($b, 'b8 UID EXPUNGE 3'), "* 3 EXPUNGE\r\nb8 OK EXPUNGE completed\r\n",
   'the other session expunges UID 3');
like(imap_cmd($d, 'd5 FETCH 1 FLAGS'), qr/\A\* 1 FETCH [^\n]*\r\nd5 OK/,
     'FETCH: no VANISHED during it');
{
    is(imap_cmd($d, 'd6 NOOP'), "* VANISHED 3\r\nd6 OK NOOP completed\r\n",
       'NOOP: the deferred VANISHED');
}

done_testing;
