# Clients end to end: Mail::IMAPClient (login, select, append, fetch,
# search, flags, move, expunge), then the command sequences Thunderbird
# and mbsync send on a first sync and on a resync with CONDSTORE/QRESYNC,
# as raw commands: every tagged reply OK, the untagged data checked.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Mail::IMAPClient;
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

for my $i (1 .. 3) {
    smtp_deliver($smtp, $u, "From: Sender $i <s$i\@remote.example>\n"
                 . "To: $u\nSubject: message $i\n"
                 . "Message-ID: <m$i\@remote.example>\n"
                 . "Date: Mon, 0$i Jan 2024 10:00:00 +0000\n\nbody $i\n");
}

# --- Mail::IMAPClient -------------------------------------------------------------
{
    my $c = Mail::IMAPClient->new(Server => '127.0.0.1', Port => $imap,
                                  User => $u, Password => 'Secret-1',
                                  Uid => 1, Timeout => 10, Debug => $ENV{IMAPDEBUG});
    ok($c && $c->IsAuthenticated, 'IMAPClient: login') or diag($@);
    ok($c->has_capability('UIDPLUS') && $c->has_capability('MOVE'),
       'IMAPClient: UIDPLUS and MOVE');
    ok($c->select('INBOX'), 'IMAPClient: select');
    is($c->message_count, 3, 'IMAPClient: 3 messages');
    is_deeply([ $c->search('ALL') ], [1, 2, 3], 'IMAPClient: search ALL');
    is_deeply([ $c->search('SUBJECT "message 2"') ], [2],
              'IMAPClient: search SUBJECT');

    my $new = "From: me\@example.test\r\nSubject: drafted\r\n\r\nnew body\r\n";
    my $uid = $c->append_string('INBOX', $new, '\\Draft',
                                '02-Feb-2024 12:00:00 +0000');
    is($uid, 4, 'IMAPClient: append_string returns the APPENDUID');
    is($c->message_string(4), $new, 'IMAPClient: message_string');
    is($c->get_header(2, 'Subject'), 'message 2', 'IMAPClient: get_header');
    my $f = $c->flags(4);
    ok((grep { $_ eq '\\Draft' } @$f), 'IMAPClient: flags (\Draft)');
    ok($c->see(1), 'IMAPClient: see');
    is_deeply([ $c->seen ], [1, 4], 'IMAPClient: seen (message_string set \Seen)');
    is_deeply([ $c->unseen ], [2, 3], 'IMAPClient: unseen');
    is($c->get_bodystructure(1)->bodytype, 'TEXT',
       'IMAPClient: bodystructure parsed');
    my $h = $c->parse_headers(3, 'Subject', 'From');
    is($h->{Subject}[0], 'message 3', 'IMAPClient: parse_headers');
    is($c->internaldate(4), '02-Feb-2024 12:00:00 +0000',
       'IMAPClient: internaldate as appended');
    ok($c->move('Archive', 2), 'IMAPClient: move (COPY, then \Deleted)');
    is_deeply([ $c->search('NOT DELETED') ], [1, 3, 4], 'IMAPClient: moved away');
    ok($c->delete_message(3), 'IMAPClient: delete_message (\Deleted)');
    ok($c->expunge, 'IMAPClient: expunge');
    is_deeply([ $c->search('ALL') ], [1, 4], 'IMAPClient: expunged');
    ok($c->select('Archive'), 'IMAPClient: select Archive');
    is_deeply([ $c->search('ALL') ], [1], 'IMAPClient: the moved message');
    is($c->get_header(1, 'Subject'), 'message 2', 'IMAPClient: it is message 2');
    ok($c->logout, 'IMAPClient: logout');
}
# INBOX now: UID 1 (\Seen), UID 4 (\Seen \Draft)

sub ok_cmd {
    my ($s, $cmd, $what) = @_;
    my ($tag) = $cmd =~ /^(\S+)/;
    my $r = imap_cmd($s, $cmd);
    like($r, qr/^\Q$tag\E OK /m, "$what: OK") or diag($r);
    return $r;
}

# --- Thunderbird, first sync --------------------------------------------------------
my $tb = client($imap);
like(imap_line($tb), qr/^\* OK \[CAPABILITY /, 'TB: greeting with CAPABILITY');
ok_cmd($tb, '1 capability', 'TB capability');
my $r = ok_cmd($tb, qq{2 login "$u" "Secret-1"}, 'TB login');
like($r, qr/^2 OK \[CAPABILITY [^\]]*\bCONDSTORE\b/m,
     'TB login: CAPABILITY in the OK');
$r = ok_cmd($tb, '3 ID ("name" "Thunderbird" "version" "128.5.0")', 'TB ID');
like($r, qr/^\* ID (?:NIL|\()/m, 'TB ID: the server\'s ID');
is(imap_cmd($tb, '4 ENABLE CONDSTORE'),
   "* ENABLED CONDSTORE\r\n4 OK ENABLE completed\r\n", 'TB ENABLE CONDSTORE');
$r = ok_cmd($tb, '5 namespace', 'TB namespace');
like($r, qr/^\* NAMESPACE \(\(""\s+"\/"\)\) NIL NIL\r$/m, 'TB namespace: personal ""');
$r = ok_cmd($tb, '6 list "" "INBOX"', 'TB list INBOX');
like($r, qr/^\* LIST \([^)]*\) "\/" "?INBOX"?\r$/m, 'TB list INBOX: one');
$r = ok_cmd($tb, '7 lsub "" "*"', 'TB lsub');
like($r, qr/^\* LSUB \([^)]*\) "\/" "?INBOX"?\r$/m, 'TB lsub: INBOX subscribed');
$r = ok_cmd($tb, '8 list "" "*"', 'TB list *');
like($r, qr/^\* LIST \([^)]*\\Trash[^)]*\) "\/" "?Trash"?\r$/m,
     'TB list: \Trash for the trash folder');
$r = ok_cmd($tb, '9 select "INBOX" (CONDSTORE)', 'TB select (CONDSTORE)');
my ($uidv) = $r =~ /^\* OK \[UIDVALIDITY (\d+)\]/m;
my ($hms) = $r =~ /^\* OK \[HIGHESTMODSEQ (\d+)\]/m;
like($r, qr/^\* 2 EXISTS\r$/m, 'TB select: 2 EXISTS');
ok($uidv && $hms, 'TB select: UIDVALIDITY and HIGHESTMODSEQ');
like($r, qr/^\* OK \[UIDNEXT 5\]/m, 'TB select: UIDNEXT 5');
$r = ok_cmd($tb, '10 UID fetch 1:* (FLAGS)', 'TB UID fetch 1:* (FLAGS)');
like($r, qr/\A\* 1 FETCH \((?=[^\n]*UID 1\b)(?=[^\n]*FLAGS \(\\Seen\))(?=[^\n]*MODSEQ \(\d+\))[^\n]*\n\* 2 FETCH \((?=[^\n]*UID 4\b)(?=[^\n]*FLAGS \((?:\\Seen \\Draft|\\Draft \\Seen)\))/,
     'TB flags: UID, FLAGS, MODSEQ (CONDSTORE enabled) for both');
$r = ok_cmd($tb, '11 UID fetch 1:4 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS'
           . ' (From To Cc Bcc Subject Date Message-ID Priority X-Priority'
           . ' References Newsgroups In-Reply-To Content-Type Reply-To)])',
           'TB header fetch');
like($r, qr/^\* 1 FETCH \(.*BODY\[HEADER\.FIELDS \(FROM TO CC BCC SUBJECT DATE MESSAGE-ID PRIORITY X-PRIORITY REFERENCES NEWSGROUPS IN-REPLY-TO CONTENT-TYPE REPLY-TO\)\] \{\d+\}\r\nFrom: Sender 1 <s1\@remote\.example>\r\nTo: \Q$u\E\r\nSubject: message 1\r\nMessage-ID: <m1\@remote\.example>\r\nDate: Mon, 01 Jan 2024 10:00:00 \+0000\r\n\r\n\)/m,
     'TB header fetch: the fields in message order, blank line');
like($r, qr/^\* 2 FETCH \((?s:.*)Subject: drafted\r\n\r\n\)/m,
     'TB header fetch: the appended message too');
unlike($r, qr/BODY\[HEADER[^\n]*\n(?:[^\n]*\n)*?Received:/, 'no other fields');

# TB reads a message, marks it, IDLEs
smtp_deliver($smtp, $u, "From: x\@remote.example\nSubject: new\n\nnew mail\n");
$r = ok_cmd($tb, '12 noop', 'TB noop');
like($r, qr/^\* 3 EXISTS\r$/m, 'TB noop: the new message');
$r = ok_cmd($tb, '13 UID fetch 5:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)])',
            'TB fetch of the new');
like($r, qr/^\* 3 FETCH \(.*UID 5\b(?s:.*)Subject: new/m, 'TB: UID 5');
$r = ok_cmd($tb, '14 UID fetch 5 (UID RFC822.SIZE BODY.PEEK[])', 'TB read');
like($r, qr/BODY\[\] \{\d+\}\r\n.*new mail\r\n\)/s, 'TB read: the body');
$r = ok_cmd($tb, '15 uid store 5 +Flags (\\Seen)', 'TB mark read');
like($r, qr/^\* 3 FETCH \((?=.*UID 5)(?=.*FLAGS \(\\Seen(?: \\Recent)?\))(?=.*MODSEQ \((\d+)\))/m,
     'TB mark read: FETCH with MODSEQ');
send_line($tb, '16 IDLE');
is(imap_line($tb), "+ idling\r\n", 'TB IDLE');
send_line($tb, 'DONE');
is(imap_until($tb, '16'), "16 OK IDLE terminated\r\n", 'TB DONE');
# TB deletes with a move to the trash
$r = ok_cmd($tb, '17 uid move 5 "Trash"', 'TB uid move to Trash');
like($r, qr/^\* OK \[COPYUID \d+ 5 1\]/m, 'TB move: COPYUID');
like($r, qr/^\* 3 EXPUNGE\r$/m, 'TB move: EXPUNGE');
$r = ok_cmd($tb, '18 select "INBOX" (CONDSTORE)', 'TB reselect');
my ($hms2) = $r =~ /HIGHESTMODSEQ (\d+)/;
cmp_ok($hms2, '>', $hms, 'TB: HIGHESTMODSEQ went up');

# --- changes while Thunderbird is away -------------------------------------------
my $o = client($imap);
imap_line($o);
imap_cmd($o, "o1 LOGIN $u Secret-1");
imap_cmd($o, 'o2 SELECT INBOX');
imap_cmd($o, 'o3 UID STORE 4 -FLAGS (\\Seen)');
smtp_deliver($smtp, $u, "From: y\@remote.example\nSubject: later\n\nlater\n");
imap_cmd($o, 'o4 NOOP');
imap_cmd($o, 'o5 UID STORE 1 +FLAGS.SILENT (\\Deleted)');
imap_cmd($o, 'o6 UID EXPUNGE 1');

# --- Thunderbird resync, CONDSTORE -----------------------------------------------
my $tb2 = client($imap);
imap_line($tb2);
ok_cmd($tb2, qq{1 login "$u" "Secret-1"}, 'TB2 login');
ok_cmd($tb2, '2 ENABLE CONDSTORE', 'TB2 ENABLE CONDSTORE');
$r = ok_cmd($tb2, '3 select "INBOX" (CONDSTORE)', 'TB2 select');
like($r, qr/^\* OK \[UIDVALIDITY $uidv\]/m, 'TB2: UIDVALIDITY unchanged');
like($r, qr/^\* 2 EXISTS\r$/m, 'TB2: 2 EXISTS (UIDs 4 and 6)');
like($r, qr/^\* OK \[UIDNEXT 7\]/m, 'TB2: UIDNEXT 7');
$r = ok_cmd($tb2, "4 UID fetch 1:6 (FLAGS) (CHANGEDSINCE $hms2)", 'TB2 CHANGEDSINCE');
like($r, qr/^\* 1 FETCH \((?=[^\n]*UID 4\b)(?=[^\n]*FLAGS \(\\Draft\))/m,
     'TB2: the \Seen removed from UID 4');
like($r, qr/^\* 2 FETCH \((?=[^\n]*UID 6\b)/m, 'TB2: the new UID 6');
$r = ok_cmd($tb2, '5 UID fetch 1:* (FLAGS)', 'TB2 full flag fetch (expunge check)');
is(scalar(() = $r =~ /^\* \d+ FETCH/mg), 2, 'TB2: UID 1 is gone');
ok_cmd($tb2, '6 logout', 'TB2 logout');

# --- Thunderbird resync, QRESYNC ------------------------------------------------
my $tb3 = client($imap);
imap_line($tb3);
ok_cmd($tb3, qq{1 login "$u" "Secret-1"}, 'TB3 login');
is(imap_cmd($tb3, '2 ENABLE QRESYNC'),
   "* ENABLED QRESYNC\r\n2 OK ENABLE completed\r\n", 'TB3 ENABLE QRESYNC');
$r = ok_cmd($tb3, "3 select \"INBOX\" (QRESYNC ($uidv $hms2 1:5))",
            'TB3 select (QRESYNC)');
like($r, qr/^\* VANISHED \(EARLIER\) 1\r$/m, 'TB3: VANISHED (EARLIER) 1');
like($r, qr/^\* 1 FETCH \((?=[^\n]*UID 4\b)(?=[^\n]*FLAGS \(\\Draft\))(?=[^\n]*MODSEQ)/m,
     'TB3: FETCH for the changed UID 4');
like($r, qr/^\* 2 EXISTS\r$/m, 'TB3: EXISTS');
$r = ok_cmd($tb3, '4 UID fetch 6:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])',
            'TB3 new headers');
like($r, qr/^\* 2 FETCH \((?s:.*)Subject: later/m, 'TB3: the new message');
imap_cmd($o, 'o7 UID STORE 6 +FLAGS.SILENT (\\Deleted)');
imap_cmd($o, 'o8 UID EXPUNGE 6');
is(imap_cmd($tb3, '5 noop'), "* VANISHED 6\r\n5 OK NOOP completed\r\n",
   'TB3 noop: VANISHED while selected');
ok_cmd($tb3, '6 logout', 'TB3 logout');

# --- mbsync, first sync -----------------------------------------------------------
my $mb = client($imap);
like(imap_line($mb), qr/^\* OK /, 'mbsync: greeting');
ok_cmd($mb, '1 CAPABILITY', 'mbsync CAPABILITY');
ok_cmd($mb, qq{2 LOGIN "$u" "Secret-1"}, 'mbsync LOGIN');
ok_cmd($mb, '3 NAMESPACE', 'mbsync NAMESPACE');
$r = ok_cmd($mb, '4 LIST "" "*"', 'mbsync LIST');
is(scalar(() = $r =~ /^\* LIST /mg), 6, 'mbsync LIST: 6 mailboxes');
$r = ok_cmd($mb, '5 SELECT "INBOX"', 'mbsync SELECT');
my ($mbuidv) = $r =~ /UIDVALIDITY (\d+)/;
is($mbuidv, $uidv, 'mbsync: UIDVALIDITY');
$r = ok_cmd($mb, '6 UID FETCH 1:1000000000 (UID FLAGS)', 'mbsync UID FETCH');
is($r =~ s/ MODSEQ \(\d+\)//gr,
   "* 1 FETCH (UID 4 FLAGS (\\Draft))\r\n6 OK UID FETCH completed\r\n",
   'mbsync: UID 4 only');
$r = ok_cmd($mb, '7 UID FETCH 4 (BODY.PEEK[] INTERNALDATE FLAGS)', 'mbsync fetch');
like($r, qr/^\* 1 FETCH \((?s)(?=.*UID 4)(?=.*INTERNALDATE "02-Feb-2024 12:00:00 \+0000").*BODY\[\] \{\d+\}\r\nFrom: me\@example\.test/m,
     'mbsync fetch: the message');
my $near = "X-TUID: abcdefghijkl\r\nSubject: from mbsync\r\n\r\nnear side\r\n";
print $mb qq{8 APPEND "INBOX" (\\Seen) "03-Mar-2024 04:05:06 +0200" \{}
          . length($near) . "+}\r\n$near\r\n";
$r = imap_until($mb, '8');
like($r, qr/^8 OK \[APPENDUID $uidv 7\]/m, 'mbsync APPEND: APPENDUID 7');
like($r, qr/^\* 2 EXISTS\r$/m, 'mbsync APPEND: EXISTS');
$r = ok_cmd($mb, '9 UID FETCH 7:1000000000 (UID BODY.PEEK[HEADER.FIELDS (X-TUID)])',
            'mbsync TUID fetch');
like($r, qr/X-TUID: abcdefghijkl\r\n\r\n\)/, 'mbsync: the TUID found');
$r = ok_cmd($mb, '10 UID STORE 4 +FLAGS.SILENT (\\Seen)', 'mbsync flag push');
is($r, "10 OK STORE completed\r\n", 'mbsync: .SILENT');
ok_cmd($mb, '11 UID STORE 7 +FLAGS.SILENT (\\Deleted)', 'mbsync mark deleted');
is(imap_cmd($mb, '12 UID EXPUNGE 7'), "* 2 EXPUNGE\r\n12 OK EXPUNGE completed\r\n",
   'mbsync UID EXPUNGE');
ok_cmd($mb, '13 CLOSE', 'mbsync CLOSE');
ok_cmd($mb, '14 LOGOUT', 'mbsync LOGOUT');

# --- mbsync resync (it keeps UIDNEXT and asks for what is past it) -----------------
my $mb2 = client($imap);
imap_line($mb2);
ok_cmd($mb2, qq{1 LOGIN "$u" "Secret-1"}, 'mbsync2 LOGIN');
$r = ok_cmd($mb2, '2 SELECT "INBOX"', 'mbsync2 SELECT');
like($r, qr/UIDNEXT 8\]/, 'mbsync2: UIDNEXT 8');
smtp_deliver($smtp, $u, "Subject: more\n\nmore\n");
$r = ok_cmd($mb2, '3 UID FETCH 1:7 (UID FLAGS)', 'mbsync2 old UIDs');
like($r, qr/\A\* 1 FETCH \(UID 4 FLAGS \((?:\\Seen \\Draft|\\Draft \\Seen)\)\)\r\n/,
     'mbsync2: UID 4 with the pushed \Seen');
like($r, qr/^\* 2 EXISTS\r$/m, 'mbsync2: the delivery announced (UID FETCH may)');
$r = ok_cmd($mb2, '4 UID FETCH 8:1000000000 (UID FLAGS RFC822.SIZE BODY.PEEK[])',
            'mbsync2 new');
like($r, qr/UID 8\b.*Subject: more/s, 'mbsync2: the new message');
ok_cmd($mb2, '5 LOGOUT', 'mbsync2 LOGOUT');

done_testing;
