# IMAP selected state: SELECT/EXAMINE replies, \Recent, STORE (+, -, =,
# .SILENT, UNCHANGEDSINCE), COPY/MOVE with COPYUID, EXPUNGE and UID
# EXPUNGE, CLOSE, UNSELECT, and two sessions on one mailbox seeing each
# other's changes (EXISTS, EXPUNGE, FETCH FLAGS), IDLE included.

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

smtp_deliver($smtp, $u, "Subject: $_\n\nbody $_\n") for 1 .. 3;

my $a = client($imap);
imap_line($a);
like(imap_cmd($a, "a0 LOGIN $u Secret-1"), qr/^a0 OK/m, 'login');

my $r = imap_cmd($a, 'a1 SELECT inbox');
like($r, qr/^\* FLAGS \(\\Answered \\Flagged \\Deleted \\Seen \\Draft\)\r$/m,
     'SELECT: FLAGS');
like($r, qr/^\* OK \[PERMANENTFLAGS \(.*\\\*\)\]/m, 'PERMANENTFLAGS with \*');
like($r, qr/^\* 3 EXISTS\r$/m, 'EXISTS');
like($r, qr/^\* 3 RECENT\r$/m, 'RECENT: this session is the first');
like($r, qr/^\* OK \[UNSEEN 1\]/m, 'UNSEEN: the first unseen');
like($r, qr/^\* OK \[UIDVALIDITY \d+\]/m, 'UIDVALIDITY');
like($r, qr/^\* OK \[UIDNEXT 4\]/m, 'UIDNEXT');
like($r, qr/^\* OK \[HIGHESTMODSEQ \d+\]/m, 'HIGHESTMODSEQ');
like($r, qr/^a1 OK \[READ-WRITE\] SELECT completed\r\n\z/m, 'READ-WRITE');

is(imap_cmd($a, 'a2 STORE 1 +FLAGS (\\Seen $Label1)'),
   "* 1 FETCH (FLAGS (\\Seen \$Label1 \\Recent))\r\n"
   . "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \$Label1)\r\n"
   . "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft "
   . "\$Label1 \\*)] Flags permitted\r\n"
   . "a2 OK STORE completed\r\n", 'STORE +FLAGS: new keyword announced');
is(imap_cmd($a, 'a3 STORE 1 -FLAGS ($label1)'),
   "* 1 FETCH (FLAGS (\\Seen \\Recent))\r\na3 OK STORE completed\r\n",
   'STORE -FLAGS: keywords compare case-insensitively');
is(imap_cmd($a, 'a4 UID STORE 2 FLAGS \\flagged \\Draft'),
   "* 2 FETCH (UID 2 FLAGS (\\Flagged \\Draft \\Recent))\r\n"
   . "a4 OK STORE completed\r\n",
   'UID STORE FLAGS with bare flags: canonical case, UID in the reply');
is(imap_cmd($a, 'a5 STORE 3 +FLAGS.SILENT (\\Deleted)'),
   "a5 OK STORE completed\r\n", '.SILENT: no FETCH');
like(imap_cmd($a, 'a6 STORE 1 +FLAGS (\\Recent)'), qr/^a6 BAD/m,
     '\Recent cannot be stored');
like(imap_cmd($a, 'a7 STORE 9 +FLAGS (\\Seen)'), qr/^a7 BAD/m,
     'a sequence number past the end: BAD');
is(imap_cmd($a, 'a8 UID STORE 9 +FLAGS (\\Seen)'),
   "a8 OK STORE completed\r\n", 'a UID that does not exist: nothing');

# a second session, read-only
my $b = client($imap);
imap_line($b);
imap_cmd($b, "b0 LOGIN $u Secret-1");
$r = imap_cmd($b, 'b1 EXAMINE INBOX');
like($r, qr/^\* 0 RECENT\r$/m, 'EXAMINE: \Recent belongs to the first');
like($r, qr/^\* OK \[UNSEEN 2\]/m, 'UNSEEN after \Seen on 1');
like($r, qr/^\* OK \[PERMANENTFLAGS \(\)\]/m, 'read-only: no PERMANENTFLAGS');
like($r, qr/^b1 OK \[READ-ONLY\] EXAMINE completed/m, 'READ-ONLY');
like(imap_cmd($b, 'b2 STORE 1 +FLAGS (\\Seen)'), qr/^b2 NO \[READ-ONLY\]/m,
     'STORE in a read-only mailbox');
like(imap_cmd($b, 'b3 EXPUNGE'), qr/^b3 NO \[READ-ONLY\]/m,
     'EXPUNGE in a read-only mailbox');

# COPY, MOVE
like(imap_cmd($a, 'a9 COPY 1:2 Archive'),
     qr/^a9 OK \[COPYUID \d+ 1:2 1:2\] COPY completed\r\n\z/,
     'COPY: COPYUID');
is(imap_cmd($a, 'a10 COPY 1 Nonexistent'),
   "a10 NO [TRYCREATE] Mailbox does not exist\r\n", 'COPY: TRYCREATE');
like(imap_cmd($a, 'a11 STATUS Archive (MESSAGES UNSEEN)'),
     qr/^\* STATUS "Archive" \(MESSAGES 2 UNSEEN 1\)/m,
     'the copies keep their flags');

# EXPUNGE: the other session hears of it at its next command
is(imap_cmd($a, 'a12 EXPUNGE'), "* 3 EXPUNGE\r\na12 OK EXPUNGE completed\r\n",
   'EXPUNGE: the \Deleted message');
is(imap_cmd($b, 'b4 NOOP'), "* 3 EXPUNGE\r\nb4 OK NOOP completed\r\n",
   'the other session: the expunge at its next command');

like(imap_cmd($a, 'a13 MOVE 2 Trash'),
     qr/^\* OK \[COPYUID \d+ 2 1\] Moved\r\n\* 2 EXPUNGE\r\na13 OK MOVE/,
     'MOVE: COPYUID, then EXPUNGE');

# IDLE: a delivery and an expunge from another session arrive unasked
imap_cmd($a, 'a13a STORE 1 +FLAGS (\\Answered)');
send_line($b, 'b5 IDLE');
is(imap_line($b), "+ idling\r\n", 'IDLE: continuation');
is(imap_line($b), "* 2 EXPUNGE\r\n", 'IDLE: the expunge at once');
is(imap_line($b), "* 1 FETCH (UID 1 FLAGS (\\Seen \\Answered))\r\n",
   'IDLE: the flag change at once');
smtp_deliver($smtp, $u, "Subject: 4\n\nbody 4\n");
is(imap_line($b), "* 2 EXISTS\r\n", 'IDLE: new mail pushed');
is(imap_line($b), "* 0 RECENT\r\n", 'IDLE: RECENT');
send_line($b, 'DONE');
is(imap_until($b, 'b5'), "b5 OK IDLE terminated\r\n", 'DONE ends IDLE');

# UID EXPUNGE takes only what it names
is(imap_cmd($a, 'a14 NOOP'), "* 2 EXISTS\r\n* 2 RECENT\r\na14 OK NOOP "
   . "completed\r\n", 'the delivery, at the next command');
imap_cmd($a, 'a14a STORE 1:* +FLAGS.SILENT (\\Deleted)');
is(imap_cmd($a, 'a15 UID EXPUNGE 4'),
   "* 2 EXPUNGE\r\na15 OK EXPUNGE completed\r\n",
   'UID EXPUNGE: only the UIDs named');

# UNCHANGEDSINCE
$r = imap_cmd($a, 'a16 STORE 1 (UNCHANGEDSINCE 1) +FLAGS (\\Answered)');
like($r, qr/^a16 OK \[MODIFIED 1\] Conditional STORE failed/m,
     'UNCHANGEDSINCE: MODIFIED with sequence numbers');

# CLOSE expunges silently; UNSELECT does not
is(imap_cmd($a, 'a17 CLOSE'), "a17 OK CLOSE completed\r\n", 'CLOSE');
like(imap_cmd($a, 'a18 STATUS INBOX (MESSAGES)'),
     qr/\(MESSAGES 0\)/, 'CLOSE expunged the \Deleted messages');
like(imap_cmd($a, 'a19 EXPUNGE'), qr/^a19 BAD/m, 'no mailbox: BAD');
imap_cmd($a, 'a20 SELECT Archive');
is(imap_cmd($a, 'a21 UNSELECT'), "a21 OK UNSELECT completed\r\n", 'UNSELECT');
like(imap_cmd($a, 'a22 SELECT Nonexistent'), qr/^a22 NO \[NONEXISTENT\]/m,
     'SELECT of nothing');
like(imap_cmd($b, 'b6 SELECT Archive'),
     qr/^\* OK \[CLOSED\][^\n]*\n.*^b6 OK \[READ-WRITE\]/ms,
     'SELECT while selected: [CLOSED] first');

# flags longer than a reply line: cut after a whole flag, never inside one
my @kw = map { sprintf('$Kw%02d', $_) . ('x' x 95) } 1 .. 30;
print $b "b6a APPEND INBOX {19+}\r\nSubject: k\r\n\r\nkw\r\n\r\n";
like(imap_until($b, 'b6a'), qr/^b6a OK/m, 'a message for the keywords');
imap_cmd($b, 'b7 SELECT INBOX');
my $st = imap_cmd($b, 'b8 STORE 1 +FLAGS (' . join(' ', @kw) . ')');
my ($list) = $st =~ /^\* 1 FETCH \(FLAGS \(([^)]*)\)\)\r$/m;
ok(defined $list, 'STORE of 30 long keywords: a well-formed FETCH');
my @got = split / /, $list // '';
ok(@got > 3 && !grep({ $_ !~ /^(?:\\\w+|\$Kw\d\dx{95})$/ } @got),
   'only whole flags in the reply') or diag $list;
like($st, qr/^b8 OK STORE completed/m, 'STORE completes');

# APPEND and COPY add keywords once, whatever their case
imap_cmd($b, 'b9 CREATE Kw');
print $b "b10 APPEND Kw (\$Foo) {8+}\r\nSubj: a\r\n\r\n";
imap_until($b, 'b10');
print $b "b11 APPEND Kw (\$foo \$Bar) {8+}\r\nSubj: b\r\n\r\n";
imap_until($b, 'b11');
imap_cmd($b, 'b12 SELECT Kw');
like(imap_cmd($b, 'b13 COPY 1:2 Kw'), qr/^b13 OK/m, 'COPY into the mailbox');
like(imap_cmd($b, 'b14 SELECT Kw'),
     qr/^\* FLAGS \(\\Answered \\Flagged \\Deleted \\Seen \\Draft \$Foo \$Bar\)\r$/m,
     'APPEND and COPY: each keyword once, in its first case');

done_testing;
