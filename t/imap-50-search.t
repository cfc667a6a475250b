# IMAP SEARCH and UID SEARCH (RFC 3501 6.4.4): every key family (flags,
# keywords, addresses, HEADER, BODY/TEXT through base64 and
# quoted-printable ISO-8859-1 content, internal and sent dates, sizes,
# sequence and UID sets), OR/NOT/nested lists, CHARSET UTF-8 with a
# literal, BADCHARSET, bad keys, and 1500 messages (more than a batch).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port client send_line imap_line imap_cmd imap_until);

my $t = MailTest->new;
$t->start_redis;
my $imap = free_port();

$t->start_nginx(<<CONF, ports => [$imap]);
    server { listen 127.0.0.1:$imap; protocol imapd; imapd_auth_plaintext on; }
CONF
$t->mailctl('', 'domain', 'add', 'example.test');
$t->mailctl("Secret-1\n", 'user', 'add', 'demo@example.test');
my $u = 'demo@example.test';

my $s = client($imap);
imap_line($s);
like(imap_cmd($s, "a0 LOGIN $u Secret-1"), qr/^a0 OK/m, 'login');

sub append {
    my ($mb, $msg, $extra) = @_;
    $msg =~ s/(?<!\r)\n/\r\n/g;
    send_line($s, "ap APPEND $mb $extra {" . length($msg) . "+}");
    print $s $msg, "\r\n";
    return imap_until($s, 'ap');
}

like(append('INBOX', <<'M', '(\\Seen) "01-Mar-2022 10:00:00 +0000"'), qr/^ap OK/m, 'message 1');
From: Alice <alice@a.example>
To: bob@b.example
Subject: hello world
Date: Tue, 01 Mar 2022 10:00:00 +0000
X-Tag: red

plain body with needle inside
M
like(append('INBOX', <<'M', '(\\Flagged \\Answered) "02-Mar-2022 10:00:00 +0000"'), qr/^ap OK/m, 'message 2: QP ISO-8859-1');
From: Bob <bob@b.example>
To: alice@a.example
Cc: carol@c.example
Subject: =?ISO-8859-1?Q?Gr=FC=DFe?=
Date: Wed, 02 Mar 2022 10:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

Sch=F6ne Gr=FC=DFe aus M=FCnchen
M
like(append('INBOX', <<'M', '(\\Deleted $Work) "03-Mar-2022 10:00:00 +0000"'), qr/^ap OK/m, 'message 3: base64 UTF-8');
From: carol@c.example
To: alice@a.example
Bcc: dave@d.example
Subject: report
Date: Thu, 03 Mar 2022 10:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

w5xiZXJncsO2w59lIHNlY3JldHdvcmQK
M
like(append('INBOX', "From: dave\@d.example\nSubject: big one\nDate: Fri, 04 Mar 2022 10:00:00 +0000\n\n" . ('y' x 5000) . "\n", '(\\Draft) "04-Mar-2022 10:00:00 +0000"'), qr/^ap OK/m, 'message 4: 5000 octets');

like(imap_cmd($s, 'a1 SELECT INBOX'), qr/^\* 4 EXISTS\r$/m, 'SELECT');

my @cases = (
    ['ALL', '1 2 3 4'],
    ['SEEN', '1'],
    ['UNSEEN', '2 3 4'],
    ['FLAGGED ANSWERED', '2'],
    ['DELETED', '3'],
    ['DRAFT', '4'],
    ['UNDRAFT UNFLAGGED UNANSWERED UNDELETED', '1'],
    ['OR SEEN DRAFT', '1 4'],
    ['NOT DELETED', '1 2 4'],
    ['NOT NOT DELETED', '3'],
    ['KEYWORD $Work', '3'],
    ['KEYWORD $work', '3'],
    ['UNKEYWORD $Work', '1 2 4'],
    ['KEYWORD $Nothing', ''],
    ['NEW', '2 3 4'],
    ['OLD', ''],
    ['RECENT', '1 2 3 4'],
    ['FROM alice', '1'],
    ['FROM "Bob"', '2'],
    ['TO alice', '2 3'],
    ['CC carol', '2'],
    ['BCC dave', '3'],
    ['SUBJECT WORLD', '1'],
    ['SUBJECT "hello world"', '1'],
    ['HEADER X-Tag red', '1'],
    ['HEADER x-tag ""', '1'],
    ['HEADER Subject big', '4'],
    ['HEADER X-Missing ""', ''],
    ['BODY needle', '1'],
    ['BODY subject', ''],
    ['TEXT secretword', '3'],
    ['BODY secretword', '3'],
    ['TEXT alice', '1 2 3'],
    ['TEXT "hello world"', '1'],
    ['BEFORE 02-Mar-2022', '1'],
    ['ON 02-Mar-2022', '2'],
    ['SINCE 03-Mar-2022', '3 4'],
    ['SENTBEFORE 02-Mar-2022', '1'],
    ['SENTON 3-Mar-2022', '3'],
    ['SENTSINCE 03-Mar-2022', '3 4'],
    ['SINCE 01-Mar-2022 BEFORE 03-Mar-2022', '1 2'],
    ['LARGER 1000', '4'],
    ['SMALLER 300', '1 2 3'],
    ['NOT LARGER 1000 NOT SMALLER 300', ''],
    ['UID 2:3', '2 3'],
    ['UID 3:*', '3 4'],
    ['UID 1,3 NOT 3', '1'],
    ['2,4', '2 4'],
    ['*', '4'],
    ['2:*', '2 3 4'],
    ['(OR FLAGGED DRAFT) NOT (SEEN)', '2 4'],
    ['OR (FROM bob TO bob) (SUBJECT report)', '3'],
    ['OR OR SEEN DRAFT DELETED', '1 3 4'],
    ['((SEEN))', '1'],
    ['NOT (OR SEEN (FLAGGED))', '3 4'],
    ['OR NOT SEEN FROM alice', '1 2 3 4'],
);
my $n = 0;
for my $c (@cases) {
    my ($key, $want) = @$c;
    $n++;
    is(imap_cmd($s, "s$n SEARCH $key"),
       '* SEARCH' . ($want eq '' ? '' : " $want") . "\r\ns$n OK SEARCH completed\r\n",
       "SEARCH $key");
}
is(imap_cmd($s, 'u1 UID SEARCH SEEN'),
   "* SEARCH 1\r\nu1 OK UID SEARCH completed\r\n", 'UID SEARCH');

# --- charsets --------------------------------------------------------------------
is(imap_cmd($s, 'c1 SEARCH CHARSET UTF-8 BODY "sch' . "\xc3\xb6" . 'ne"'),
   "* SEARCH 2\r\nc1 OK SEARCH completed\r\n",
   'CHARSET UTF-8: QP ISO-8859-1 body decoded');
is(imap_cmd($s, 'c2 SEARCH CHARSET UTF-8 SUBJECT "gr' . "\xc3\xbc\xc3\x9f" . 'e"'),
   "* SEARCH 2\r\nc2 OK SEARCH completed\r\n",
   'CHARSET UTF-8: encoded-word subject decoded, case-insensitive');
my $lit = "\xc3\xbcbergr\xc3\xb6\xc3\x9fe";
send_line($s, 'c3 SEARCH CHARSET UTF-8 TEXT {' . length($lit) . '}');
like(imap_line($s), qr/^\+ /, 'a synchronizing literal in SEARCH: "+"');
send_line($s, $lit);
is(imap_until($s, 'c3'), "* SEARCH 3\r\nc3 OK SEARCH completed\r\n",
   'CHARSET UTF-8 with a literal: base64 UTF-8 body decoded');
my $lit2 = "M\xc3\xbcnchen";
print $s 'c4 SEARCH CHARSET utf-8 BODY {' . length($lit2) . "+}\r\n$lit2\r\n";
is(imap_until($s, 'c4'), "* SEARCH 2\r\nc4 OK SEARCH completed\r\n",
   'LITERAL+ in SEARCH, charset name case-insensitive');
is(imap_cmd($s, 'c5 SEARCH CHARSET US-ASCII FROM bob'),
   "* SEARCH 2\r\nc5 OK SEARCH completed\r\n", 'CHARSET US-ASCII');
like(imap_cmd($s, 'c6 SEARCH CHARSET KOI8-R BODY x'),
     qr/^c6 NO \[BADCHARSET(?: \([^)]*UTF-8[^)]*\))?\] /,
     'unknown charset: NO [BADCHARSET]');

# UIDs differ from sequence numbers once something is expunged
imap_cmd($s, 'a2 EXPUNGE');
is(imap_cmd($s, 'u2 UID SEARCH ALL'),
   "* SEARCH 1 2 4\r\nu2 OK UID SEARCH completed\r\n", 'UID SEARCH: UIDs');
is(imap_cmd($s, 'u3 SEARCH UID 4'),
   "* SEARCH 3\r\nu3 OK SEARCH completed\r\n", 'SEARCH UID: sequence numbers');
is(imap_cmd($s, 'u4 UID SEARCH 3'),
   "* SEARCH 4\r\nu4 OK UID SEARCH completed\r\n",
   'UID SEARCH with a sequence set: UIDs of those messages');

# --- errors ------------------------------------------------------------------------
like(imap_cmd($s, 'e1 SEARCH BOGUS'), qr/^e1 BAD/, 'unknown key: BAD');
like(imap_cmd($s, 'e2 SEARCH BEFORE 32-Mar-2022'), qr/^e2 BAD/, 'bad date: BAD');
like(imap_cmd($s, 'e3 SEARCH OR SEEN'), qr/^e3 BAD/, 'OR with one key: BAD');
like(imap_cmd($s, 'e4 SEARCH (SEEN'), qr/^e4 BAD/, 'unclosed list: BAD');
like(imap_cmd($s, 'e5 SEARCH LARGER x'), qr/^e5 BAD/, 'LARGER x: BAD');
like(imap_cmd($s, 'e6 SEARCH'), qr/^e6 BAD/, 'no key: BAD');
like(imap_cmd($s, 'e7 SEARCH HEADER Subject'), qr/^e7 BAD/,
     'HEADER without a string: BAD');
{
    like(imap_cmd($s, 'e8 SEARCH 9'), qr/^e8 BAD/,
         'a sequence number past EXISTS: BAD (RFC 3501 9, seq-number)');
}
imap_cmd($s, 'e9 UNSELECT');
like(imap_cmd($s, 'e10 SEARCH ALL'), qr/^e10 BAD/, 'no mailbox selected: BAD');

# --- an expunge by another session while SEARCH runs: deferred ----------------------
imap_cmd($s, 'd0 SELECT Trash');
for my $k (1 .. 3) {
    print $s "d$k APPEND Trash {9+}\r\nSubj: x\r\n\r\n";
    imap_until($s, "d$k");
}
my $o = client($imap);
imap_line($o);
imap_cmd($o, "o0 LOGIN $u Secret-1");
imap_cmd($o, 'o1 SELECT Trash');
imap_cmd($o, 'o2 STORE 2 +FLAGS.SILENT (\\Deleted)');
is(imap_cmd($o, 'o3 EXPUNGE'), "* 2 EXPUNGE\r\no3 OK EXPUNGE completed\r\n",
   'another session expunges message 2');
is(imap_cmd($s, 'd4 SEARCH ALL'), "* SEARCH 1 3\r\nd4 OK SEARCH completed\r\n",
   'SEARCH: no EXPUNGE, the old numbers (the expunged one left out)');
is(imap_cmd($s, 'd5 SEARCH 3'), "* SEARCH 3\r\nd5 OK SEARCH completed\r\n",
   'SEARCH 3 still valid before the EXPUNGE is reported');
{
    is(imap_cmd($s, 'd6 NOOP'), "* 2 EXPUNGE\r\nd6 OK NOOP completed\r\n",
       'NOOP: the deferred EXPUNGE');
    is(imap_cmd($s, 'd7 EXPUNGE'), "d7 OK EXPUNGE completed\r\n",
       'reported once: not again at the session\'s own EXPUNGE');
}
imap_cmd($s, 'd8 UNSELECT');

# --- 1500 messages ---------------------------------------------------------------
imap_cmd($s, 'b0 SELECT Archive');
my $count = 1500;
my $out = '';
for my $k (1 .. $count) {
    my $m = "Subject: m$k\r\n\r\n" . ($k % 3 == 0 ? 'fizz' : 'plain') . "\r\n";
    my $f = $k % 5 == 0 ? '(\\Flagged) ' : '';
    $out .= "p$k APPEND Archive $f\{" . length($m) . "+}\r\n$m\r\n";
}
print $s $out;
my $ok = 0;
for my $k (1 .. $count) { $ok++ if imap_until($s, "p$k") =~ /^p$k OK /m }
is($ok, $count, "$count messages appended");
is(imap_cmd($s, 'b1 SEARCH ALL'),
   '* SEARCH ' . join(' ', 1 .. $count) . "\r\nb1 OK SEARCH completed\r\n",
   "SEARCH ALL: $count numbers, in order");
is(imap_cmd($s, 'b2 UID SEARCH FLAGGED'),
   '* SEARCH ' . join(' ', grep { $_ % 5 == 0 } 1 .. $count)
   . "\r\nb2 OK UID SEARCH completed\r\n", 'UID SEARCH FLAGGED over batches');
is(imap_cmd($s, 'b3 SEARCH BODY fizz NOT FLAGGED'),
   '* SEARCH ' . join(' ', grep { $_ % 3 == 0 && $_ % 5 } 1 .. $count)
   . "\r\nb3 OK SEARCH completed\r\n", 'SEARCH BODY over batches');
is(imap_cmd($s, 'b4 SEARCH 990:1010 SUBJECT m1000'),
   "* SEARCH 1000\r\nb4 OK SEARCH completed\r\n",
   'a sequence range across the batch boundary');

imap_cmd($s, 'z LOGOUT');
done_testing;
