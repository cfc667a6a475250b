# IMAP FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8; RFC 3516 BINARY):
# every data item against known messages (ENVELOPE and BODYSTRUCTURE
# exactly), sections and partials, \Seen as a side effect (and not with
# .PEEK nor in EXAMINE), bad sequence sets, a 1 MB message whole, 1500
# messages across the batch boundary, and an expunge by another session
# deferred while FETCH runs (RFC 3501 7.4.1).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port client send_line imap_line imap_cmd imap_until);

my $t = MailTest->new;
$t->start_redis;
my ($smtp, $imap) = map { free_port() } 1 .. 2;

$t->start_nginx(<<CONF, ports => [$smtp, $imap]);
    server { listen 127.0.0.1:$smtp; protocol smtpd; }
    server {
        listen 127.0.0.1:$imap;
        protocol imapd;
        imapd_auth_plaintext on;
        imapd_max_message_size 2m;
    }
CONF
$t->mailctl('', 'domain', 'add', 'example.test');
$t->mailctl("Secret-1\n", 'user', 'add', 'demo@example.test');
my $u = 'demo@example.test';

sub crlf { my $m = shift; $m =~ s/(?<!\r)\n/\r\n/g; return $m }

# APPEND with a non-synchronizing literal; returns the tagged reply
sub append {
    my ($s, $mb, $msg, $extra) = @_;
    $msg = crlf($msg);
    $extra = defined $extra ? "$extra " : '';
    send_line($s, "ap APPEND $mb $extra\{" . length($msg) . "+}");
    print $s $msg, "\r\n";
    return imap_until($s, 'ap');
}

my $m1 = crlf(<<'M');
Date: Mon, 7 Feb 1994 21:52:25 -0800
From: Fred Foobar <foobar@Blurdybloop.example>
Subject: afternoon meeting
To: mooch@owatagu.example, "Joe" <joe@x.example>
Cc: group: a@b.example, c@d.example;
Message-Id: <B27397-0100000@Blurdybloop.example>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

Hello Joe, do you think we can meet at 3:30 tomorrow?
M
my $m1_header = substr($m1, 0, index($m1, "\r\n\r\n") + 4);
my $m1_text = substr($m1, index($m1, "\r\n\r\n") + 4);

my $m2 = crlf(<<'M');
From: a@b.example
Subject: multi
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=outer

preamble
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8

plain part
--inner
Content-Type: text/html; charset=utf-8

<p>html part</p>
--inner--
--outer
Content-Type: application/octet-stream; name="f.bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="f.bin"

AAECAwQF
--outer--
M

my $s = client($imap);
imap_line($s);
like(imap_cmd($s, "a0 LOGIN $u Secret-1"), qr/^a0 OK/m, 'login');
like(append($s, 'INBOX', $m1, '(\\Flagged) "07-Feb-1994 21:52:25 -0800"'),
     qr/^ap OK \[APPENDUID \d+ 1\]/m, 'message 1 appended');
like(append($s, 'INBOX', $m2), qr/^ap OK \[APPENDUID \d+ 2\]/m,
     'message 2 appended');

# --- EXAMINE first: nothing may set \Seen ----------------------------------
like(imap_cmd($s, 'b1 EXAMINE INBOX'), qr/^b1 OK \[READ-ONLY\]/m, 'EXAMINE');
is(imap_cmd($s, 'b2 FETCH 2 (BODY[TEXT]<0.5>)'),
   "* 2 FETCH (BODY[TEXT]<0> {5}\r\npream)\r\nb2 OK FETCH completed\r\n",
   'EXAMINE: BODY[TEXT] partial, no FLAGS in the reply');
is(imap_cmd($s, 'b3 FETCH 1:2 (FLAGS RFC822.TEXT)'),
   "* 1 FETCH (FLAGS (\\Flagged) RFC822.TEXT {" . length($m1_text)
   . "}\r\n$m1_text)\r\n* 2 FETCH (FLAGS () RFC822.TEXT {"
   . length(substr($m2, index($m2, "\r\n\r\n") + 4)) . "}\r\n"
   . substr($m2, index($m2, "\r\n\r\n") + 4) . ")\r\nb3 OK FETCH completed\r\n",
   'EXAMINE: RFC822.TEXT leaves the flags alone');
is(imap_cmd($s, 'b4 FETCH 1:2 FLAGS'),
   "* 1 FETCH (FLAGS (\\Flagged))\r\n* 2 FETCH (FLAGS ())\r\n"
   . "b4 OK FETCH completed\r\n", 'EXAMINE: still not \Seen');

my $r = imap_cmd($s, 'a1 SELECT INBOX');
like($r, qr/^\* 2 EXISTS\r$/m, 'SELECT: 2 messages');
like($r, qr/^a1 OK \[READ-WRITE\]/m, 'SELECT read-write');

# --- the simple items -------------------------------------------------------
is(imap_cmd($s, 'a2 FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE UID)'),
   "* 1 FETCH (FLAGS (\\Flagged \\Recent) INTERNALDATE "
   . "\"08-Feb-1994 05:52:25 +0000\" RFC822.SIZE " . length($m1)
   . " UID 1)\r\na2 OK FETCH completed\r\n",
   'FLAGS INTERNALDATE (the APPEND date, same instant) RFC822.SIZE UID');

my $env1 = 'ENVELOPE ("Mon, 7 Feb 1994 21:52:25 -0800" "afternoon meeting" '
    . '(("Fred Foobar" NIL "foobar" "Blurdybloop.example")) '
    . '(("Fred Foobar" NIL "foobar" "Blurdybloop.example")) '
    . '(("Fred Foobar" NIL "foobar" "Blurdybloop.example")) '
    . '((NIL NIL "mooch" "owatagu.example")("Joe" NIL "joe" "x.example")) '
    . '((NIL NIL "group" NIL)(NIL NIL "a" "b.example")(NIL NIL "c" '
    . '"d.example")(NIL NIL NIL NIL)) NIL NIL '
    . '"<B27397-0100000@Blurdybloop.example>")';
is(imap_cmd($s, 'a3 FETCH 1 ENVELOPE'),
   "* 1 FETCH ($env1)\r\na3 OK FETCH completed\r\n",
   'ENVELOPE: sender and reply-to from From, a group, NIL in-reply-to');

is(imap_cmd($s, 'a4 FETCH 1 BODYSTRUCTURE'),
   "* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") "
   . "NIL NIL \"7bit\" 55 1 NIL NIL NIL NIL))\r\na4 OK FETCH completed\r\n",
   'BODYSTRUCTURE of a text/plain message: size, lines, extension data');

my $bs2 = '((("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 10 0 NIL NIL '
    . 'NIL NIL)("text" "html" ("charset" "utf-8") NIL NIL "7bit" 16 0 NIL NIL'
    . ' NIL NIL) "alternative" ("boundary" "inner") NIL NIL NIL)'
    . '("application" "octet-stream" ("name" "f.bin") NIL NIL "base64" 8 NIL'
    . ' ("attachment" ("filename" "f.bin")) NIL NIL) "mixed" ("boundary" '
    . '"outer") NIL NIL NIL)';
is(imap_cmd($s, 'a5 FETCH 2 BODYSTRUCTURE'),
   "* 2 FETCH (BODYSTRUCTURE $bs2)\r\na5 OK FETCH completed\r\n",
   'BODYSTRUCTURE: nested multipart, disposition');
is(imap_cmd($s, 'a6 FETCH 2 BODY'),
   "* 2 FETCH (BODY (((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
   . "\"7bit\" 10 0)(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL "
   . "\"7bit\" 16 0) \"alternative\")(\"application\" \"octet-stream\" "
   . "(\"name\" \"f.bin\") NIL NIL \"base64\" 8) \"mixed\"))\r\n"
   . "a6 OK FETCH completed\r\n", 'BODY: no extension data');

# --- sections ----------------------------------------------------------------
is(imap_cmd($s, 'a7 FETCH 2 (BODY.PEEK[1.2] BODY.PEEK[1.2.MIME] '
                . 'BODY.PEEK[2]<2.3>)'),
   "* 2 FETCH (BODY[1.2] {16}\r\n<p>html part</p> BODY[1.2.MIME] {42}\r\n"
   . "Content-Type: text/html; charset=utf-8\r\n\r\n BODY[2]<2> {3}\r\nECA)"
   . "\r\na7 OK FETCH completed\r\n", 'BODY[1.2], [1.2.MIME], partial <2.3>');
is(imap_cmd($s, 'a8 FETCH 2 (BINARY.PEEK[2] BINARY.SIZE[2])'),
   "* 2 FETCH (BINARY[2] ~{6}\r\n\x00\x01\x02\x03\x04\x05 BINARY.SIZE[2] 6)"
   . "\r\na8 OK FETCH completed\r\n", 'BINARY: base64 decoded, literal8');
is(imap_cmd($s, 'a8b FETCH 2 BINARY.PEEK[1.1]'),
   "* 2 FETCH (BINARY[1.1] {10}\r\nplain part)\r\na8b OK FETCH completed\r\n",
   'BINARY of a 7bit part: a plain literal');
is(imap_cmd($s, 'a9 FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject From)] '
                . 'BODY.PEEK[HEADER.FIELDS.NOT (Subject)]<0.10> '
                . 'BODY.PEEK[TEXT]<0.10>)'),
   "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)] {78}\r\n"
   . "From: Fred Foobar <foobar\@Blurdybloop.example>\r\n"
   . "Subject: afternoon meeting\r\n\r\n"
   . " BODY[HEADER.FIELDS.NOT (SUBJECT)]<0> {10}\r\nDate: Mon,"
   . " BODY[TEXT]<0> {10}\r\nHello Joe,)\r\na9 OK FETCH completed\r\n",
   'HEADER.FIELDS, HEADER.FIELDS.NOT with a partial, TEXT partial');
is(imap_cmd($s, 'a10 FETCH 1 (BODY.PEEK[]<300.100> BODY.PEEK[]<400.10>)'),
   "* 1 FETCH (BODY[]<300> {72}\r\n" . substr($m1, 300)
   . " BODY[]<400> \"\")\r\na10 OK FETCH completed\r\n",
   'partials: cut at the end, past the end empty');
is(imap_cmd($s, 'a11 FETCH 1 (RFC822.HEADER BODY.PEEK[HEADER])'),
   "* 1 FETCH (RFC822.HEADER {" . length($m1_header) . "}\r\n$m1_header"
   . " BODY[HEADER] {" . length($m1_header) . "}\r\n$m1_header)\r\n"
   . "a11 OK FETCH completed\r\n", 'RFC822.HEADER = BODY.PEEK[HEADER]');
like(imap_cmd($s, 'a12 FETCH 2 BODY.PEEK[1]<0.0>'), qr/^a12 BAD/m,
     'a partial of length 0: BAD (nz-number)');
is(imap_cmd($s, 'a13 FETCH 1:2 FLAGS'),
   "* 1 FETCH (FLAGS (\\Flagged \\Recent))\r\n"
   . "* 2 FETCH (FLAGS (\\Recent))\r\na13 OK FETCH completed\r\n",
   '.PEEK did not set \Seen');

# --- \Seen as a side effect ---------------------------------------------------
is(imap_cmd($s, 'a14 FETCH 2 BODY[]<0.10>'),
   "* 2 FETCH (BODY[]<0> {10}\r\nFrom: a\@b. FLAGS (\\Seen \\Recent))\r\n"
   . "a14 OK FETCH completed\r\n", 'BODY[] sets \Seen, FLAGS follow');
is(imap_cmd($s, 'a15 FETCH 2 BODY[]<0.4>'),
   "* 2 FETCH (BODY[]<0> {4}\r\nFrom)\r\na15 OK FETCH completed\r\n",
   'already \Seen: no FLAGS');
is(imap_cmd($s, 'a16 FETCH 1 RFC822'),
   "* 1 FETCH (RFC822 {" . length($m1) . "}\r\n$m1 FLAGS (\\Flagged \\Seen "
   . "\\Recent))\r\na16 OK FETCH completed\r\n", 'RFC822 sets \Seen');
imap_cmd($s, 'a17 STORE 1:2 -FLAGS.SILENT (\\Seen)');
like(imap_cmd($s, 'a18 FETCH 1 BINARY[1]'),
     qr/^\* 1 FETCH \(BINARY\[1\] \{55\}\r\nHello.*\r\n FLAGS \(\\Flagged \\Seen \\Recent\)\)\r\na18 OK/s,
     'BINARY[] sets \Seen');
is(imap_cmd($s, 'a19 UID FETCH 2 (RFC822.SIZE)'),
   "* 2 FETCH (UID 2 RFC822.SIZE " . length($m2) . ")\r\n"
   . "a19 OK UID FETCH completed\r\n", 'UID FETCH: UID always in the reply');

# --- macros -------------------------------------------------------------------
is(imap_cmd($s, 'a20 FETCH 1 FAST'),
   "* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent) INTERNALDATE "
   . "\"08-Feb-1994 05:52:25 +0000\" RFC822.SIZE " . length($m1) . ")\r\n"
   . "a20 OK FETCH completed\r\n", 'FAST');
like(imap_cmd($s, 'a21 FETCH 1 ALL'),
     qr/^\* 1 FETCH \(FLAGS \(.*\) INTERNALDATE "[^"]+" RFC822.SIZE \d+ \Q$env1\E\)\r\na21 OK/,
     'ALL');
like(imap_cmd($s, 'a22 FETCH 1 FULL'),
     qr/^\* 1 FETCH \(FLAGS .* \Q$env1\E BODY \("text" "plain" \("charset" "us-ascii"\) NIL NIL "7bit" 55 1\)\)\r\na22 OK/,
     'FULL');

# --- sequence sets ------------------------------------------------------------
is(imap_cmd($s, 'a23 FETCH 3 FLAGS'),
   "a23 BAD Invalid message sequence number\r\n",
   'a sequence number past EXISTS: BAD');
like(imap_cmd($s, 'a24 FETCH 0 FLAGS'), qr/^a24 BAD/, 'sequence number 0: BAD');
like(imap_cmd($s, 'a25 FETCH 1:3 FLAGS'), qr/^a25 BAD/, 'a range past the end');
like(imap_cmd($s, 'a26 FETCH x FLAGS'), qr/^a26 BAD/, 'not a sequence set');
like(imap_cmd($s, 'a27 FETCH 1 BOGUS'), qr/^a27 BAD/, 'unknown item: BAD');
like(imap_cmd($s, 'a28 FETCH 1 (FLAGS'), qr/^a28 BAD/, 'unclosed list: BAD');
is(imap_cmd($s, 'a29 FETCH 2:1 UID'),
   "* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\na29 OK FETCH completed\r\n",
   'a reversed range');
is(imap_cmd($s, 'a30 FETCH * UID'),
   "* 2 FETCH (UID 2)\r\na30 OK FETCH completed\r\n", '*: the last');
is(imap_cmd($s, 'a31 FETCH *:1 UID'),
   "* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\na31 OK FETCH completed\r\n",
   '*:1');
is(imap_cmd($s, 'a32 UID FETCH 5:* UID'),
   "* 2 FETCH (UID 2)\r\na32 OK UID FETCH completed\r\n",
   'UID 5:* is 2:5 when the largest UID is 2');
is(imap_cmd($s, 'a33 UID FETCH 3:4 UID'),
   "a33 OK UID FETCH completed\r\n", 'UIDs that do not exist: nothing, OK');
is(imap_cmd($s, 'a34 FETCH 1,1,2 UID'),
   "* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\na34 OK FETCH completed\r\n",
   'a message named twice is fetched once');

# --- a 1 MB message, whole --------------------------------------------------------
my $big = "From: big\@example.test\r\nSubject: big\r\n\r\n";
my $i = 0;
$big .= sprintf("%07d %s\r\n", $i++, 'x' x 70) while length($big) < 1048576;
send_line($s, "a35 APPEND INBOX {" . length($big) . "}");
is(imap_line($s), "+ Ready for literal data\r\n", 'APPEND 1 MB: continuation');
print $s $big, "\r\n";
like(imap_until($s, 'a35'), qr/^\* 3 EXISTS\r\n.*^a35 OK \[APPENDUID \d+ 3\]/ms,
     '1 MB appended');
$r = imap_cmd($s, 'a36 FETCH 3 BODY.PEEK[]');
my ($n) = $r =~ /^\* 3 FETCH \(BODY\[\] \{(\d+)\}\r\n/;
is($n, length($big), '1 MB: the literal size is exact');
my $off = length("* 3 FETCH (BODY[] {$n}\r\n");
ok(substr($r, $off, $n) eq $big, '1 MB: every octet as appended');
is(substr($r, $off + $n), ")\r\na36 OK FETCH completed\r\n",
   '1 MB: the reply ends after the literal');

# --- expunge by another session while FETCH runs: deferred -----------------------
my $o = client($imap);
imap_line($o);
imap_cmd($o, "o0 LOGIN $u Secret-1");
imap_cmd($o, 'o1 SELECT INBOX');
imap_cmd($o, 'o2 STORE 1 +FLAGS.SILENT (\\Deleted)');
is(imap_cmd($o, 'o3 EXPUNGE'), "* 1 EXPUNGE\r\no3 OK EXPUNGE completed\r\n",
   'the other session expunges message 1');
$r = imap_cmd($s, 'a37 FETCH 2:3 UID');
unlike($r, qr/EXPUNGE/, 'FETCH: no EXPUNGE response during FETCH');
is($r, "* 2 FETCH (UID 2)\r\n* 3 FETCH (UID 3)\r\na37 OK FETCH completed\r\n",
   'FETCH: the old sequence numbers still hold');
{
    is(imap_cmd($s, 'a39 NOOP'), "* 1 EXPUNGE\r\na39 OK NOOP completed\r\n",
       'NOOP: the EXPUNGE now');
    is(imap_cmd($s, 'a40 FETCH 1 UID'),
       "* 1 FETCH (UID 2)\r\na40 OK FETCH completed\r\n",
       'and the sequence numbers move');
    send_line($s, 'a40a IDLE');
    my @l;
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 3;
        push @l, scalar <$s> for 1 .. 1;
        alarm 0;
    };
    alarm 0;
    is(join('', grep { defined } @l), "+ idling\r\n",
       'IDLE: the EXPUNGE was reported once, not again');
    send_line($s, 'DONE');
    imap_until($s, 'a40a');
}
# any other change in the mailbox brings the pending EXPUNGE out
imap_cmd($o, 'o4 STORE 1 +FLAGS (\\Answered)');
like(imap_cmd($s, 'a40b NOOP'),
     qr/\A(?:\* 1 EXPUNGE\r\n)?(?:\* 1 FETCH \([^\n]*\\Answered[^\n]*\r\n)?a40b OK/,
     'NOOP after another change');
like(imap_cmd($s, 'a40c FETCH 1 UID'), qr/\A\* 1 FETCH \(UID 2\)\r\na40c OK/,
     'in step again: sequence number 1 is UID 2');
imap_cmd($s, 'a40d UNSELECT');
imap_cmd($s, 'a40e SELECT INBOX');

# --- harder messages: message/rfc822, QP, unknown encodings, quoting ---------------
my $m3 = crlf(<<'M');
From: "Doe, \"JD\" John" <john@x.example>
Subject: =?UTF-8?B?w6TDtsO8?= and "quotes" \ back
Date: Tue, 01 Mar 2022 10:00:00 +0000
In-Reply-To: <a@b>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b1

--b1
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

caf=E9 =3D x
--b1
Content-Type: message/rfc822

From: inner@x.example
Subject: inner

inner body
line 2
--b1
Content-Type: text/plain
Content-Transfer-Encoding: x-uuencode

abc
--b1--
M
like(append($s, 'Drafts', $m3), qr/^ap OK/m, 'a harder message');
imap_cmd($s, 'h0 SELECT Drafts');
is(imap_cmd($s, 'h1 FETCH 1 ENVELOPE'),
   "* 1 FETCH (ENVELOPE (\"Tue, 01 Mar 2022 10:00:00 +0000\" {40}\r\n"
   . "=?UTF-8?B?w6TDtsO8?= and \"quotes\" \\ back"
   . (" ((\{14}\r\nDoe, \"JD\" John NIL \"john\" \"x.example\"))" x 3)
   . " NIL NIL NIL \"<a\@b>\" NIL))\r\nh1 OK FETCH completed\r\n",
   'ENVELOPE: quotes and backslashes as literals, encoded words as they are');
like(imap_cmd($s, 'h2 FETCH 1 BODYSTRUCTURE'),
     qr/\("message" "rfc822" NIL NIL NIL "7bit" 59 \(NIL "inner" \(\(NIL NIL "inner" "x.example"\)\) \(\(NIL NIL "inner" "x.example"\)\) \(\(NIL NIL "inner" "x.example"\)\) NIL NIL NIL NIL NIL\) \("text" "plain" \("charset" "us-ascii"\) NIL NIL "7bit" 18 1 NIL NIL NIL NIL\) 4 NIL NIL NIL NIL\)/,
     'BODYSTRUCTURE of message/rfc822: envelope, body, lines');
is(imap_cmd($s, 'h3 FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[1]<0.3>)'),
   "* 1 FETCH (BINARY[1] {8}\r\ncaf\xe9 = x BINARY.SIZE[1] 8 BINARY[1]<0> {3}\r\n"
   . "caf)\r\nh3 OK FETCH completed\r\n", 'BINARY of quoted-printable, a partial');
is(imap_cmd($s, 'h4 FETCH 1 (BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[2.1])'),
   "* 1 FETCH (BODY[2.HEADER] {41}\r\nFrom: inner\@x.example\r\nSubject: inner"
   . "\r\n\r\n BODY[2.TEXT] {18}\r\ninner body\r\nline 2 BODY[2.1] {18}\r\n"
   . "inner body\r\nline 2)\r\nh4 OK FETCH completed\r\n",
   'sections inside message/rfc822: 2.HEADER, 2.TEXT, 2.1');
{
    like(imap_cmd($s, 'h5 FETCH 1 BINARY.PEEK[3]'), qr/^h5 NO \[UNKNOWN-CTE\]/m,
         'BINARY of x-uuencode: NO [UNKNOWN-CTE] (RFC 3516 4.2)');
}
{
    local $TODO = 'a header-fld-name as a literal is refused';
    send_line($s, 'h6 FETCH 1 BODY.PEEK[HEADER.FIELDS ({7}');
    my $l = imap_line($s);
    if ($l =~ /^\+/) {
        print $s "Subject)]\r\n";
        $l = imap_until($s, 'h6');
    }
    like($l, qr/^\* 1 FETCH \(BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}\r\nSubject: /,
         'HEADER.FIELDS with a literal field name (astring, RFC 3501 9)');
}
imap_cmd($s, 'h7 NOOP');

# --- 1500 messages: more than one batch ---------------------------------------------
imap_cmd($s, 'a41 SELECT Archive');
my $count = 1500;
my $out = '';
for my $k (1 .. $count) {
    my $m = "Subject: m$k\r\n\r\nbody $k\r\n";
    $out .= "p$k APPEND Archive {" . length($m) . "+}\r\n$m\r\n";
}
print $s $out;
my ($ok, $exists) = (0, 0);
for my $k (1 .. $count) {
    my $l = imap_until($s, "p$k");
    $ok++ if $l =~ /^p$k OK /m;
    $exists++ if $l =~ /^\* $k EXISTS\r$/m;
}
is($ok, $count, "$count APPENDs pipelined, all OK");
is($exists, $count, 'each APPEND to the selected mailbox: its EXISTS');
$r = imap_cmd($s, 'a43 FETCH 1:* (UID FLAGS)');
my @seq = $r =~ /^\* (\d+) FETCH \(UID (\d+) FLAGS \(\\Recent\)\)\r$/mg;
is(scalar(@seq), 2 * $count, "FETCH 1:*: $count responses");
my $inorder = 1;
for my $k (1 .. $count) {
    $inorder = 0 unless $seq[2 * $k - 2] == $k && $seq[2 * $k - 1] == $k;
}
ok($inorder, 'every message once, in order, UID = sequence number');
like($r, qr/\r\na43 OK FETCH completed\r\n\z/, 'FETCH 1:* completes');
$r = imap_cmd($s, 'a44 UID FETCH 999:1002 BODY.PEEK[TEXT]');
is($r, join('', map { my $b = "body $_\r\n";
                      "* $_ FETCH (UID $_ BODY[TEXT] {" . length($b)
                      . "}\r\n$b)\r\n" } 999 .. 1002)
       . "a44 OK UID FETCH completed\r\n",
   'content across the 1000 boundary');

# --- three large messages in one FETCH: over the batch's octet budget ----------------
imap_cmd($s, 'j0 SELECT Junk');
my @bigs;
for my $k (1 .. 3) {
    my $b = "Subject: big $k\r\n\r\n";
    $b .= sprintf("%d-%07d %s\r\n", $k, length($b), 'z' x 60)
        while length($b) < 900000 + $k * 100000;
    push @bigs, $b;
    print $s "j$k APPEND Junk {" . length($b) . "+}\r\n$b\r\n";
    like(imap_until($s, "j$k"), qr/^j$k OK /m, "large message $k appended");
}
$r = imap_cmd($s, 'j4 FETCH 1:3 (RFC822.SIZE BODY.PEEK[])');
my $all = 1;
for my $k (1 .. 3) {
    my $want = $bigs[$k - 1];
    my $l = length $want;
    unless ($r =~ /\G\* $k FETCH \(RFC822\.SIZE $l BODY\[\] \{$l\}\r\n/gc
            && substr($r, pos($r), $l) eq $want)
    {
        $all = 0;
        last;
    }
    pos($r) = pos($r) + $l;
    $r =~ /\G\)\r\n/gc or do { $all = 0; last };
}
ok($all, '3 messages of 1 to 1.2 MB in one FETCH: sizes and octets exact');
is($all ? substr($r, pos($r)) : '', "j4 OK FETCH completed\r\n",
   'and the FETCH completes after them');

# a header longer than what is read first when only the header is needed
my $long = join('', map { "X-Filler-$_: " . ('x' x 70) . "\r\n" } 1 .. 150)
         . "Subject: far down\r\n\r\nbody\r\n";
ok(length($long) > 10000, 'a header of more than 10 kB');
imap_cmd($s, 'k1 CREATE Long');
print $s 'k2 APPEND Long {' . length($long) . "+}\r\n$long\r\n";
like(imap_until($s, 'k2'), qr/^k2 OK/m, 'APPEND of the long header');
imap_cmd($s, 'k3 SELECT Long');
is(imap_cmd($s, 'k4 FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]'),
   "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {21}\r\nSubject: far down\r\n"
   . "\r\n)\r\nk4 OK FETCH completed\r\n",
   'HEADER.FIELDS finds a field past the first 8 kB');
is(imap_cmd($s, 'k5 SEARCH SUBJECT "far down"'),
   "* SEARCH 1\r\nk5 OK SEARCH completed\r\n",
   'SEARCH SUBJECT too');
my $hdr = substr($long, 0, index($long, "\r\n\r\n") + 4);
is(imap_cmd($s, 'k6 FETCH 1 RFC822.HEADER'),
   "* 1 FETCH (RFC822.HEADER {" . length($hdr) . "}\r\n$hdr)\r\n"
   . "k6 OK FETCH completed\r\n", 'RFC822.HEADER whole');

imap_cmd($s, 'z LOGOUT');
done_testing;
