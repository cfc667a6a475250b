# IMAP mailbox list: LIST with references and patterns, special-use and
# CHILDREN attributes, LSUB, STATUS after a delivery through our smtpd,
# CREATE (with superiors), DELETE (messages and blob references go too),
# RENAME (inferiors move along), SUBSCRIBE/UNSUBSCRIBE, a non-ASCII name
# through modified UTF-7, and Mail::IMAPClient.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Mail::IMAPClient;
use MailTest qw(free_port client imap_line imap_cmd smtp_deliver);

my $t = MailTest->new;
$t->start_redis;
my ($smtp, $imap) = map { free_port() } 1 .. 2;

$t->start_nginx(<<CONF, ports => [$smtp, $imap]);
    server { listen 127.0.0.1:$smtp; protocol smtpd; }
    server {
        listen 127.0.0.1:$imap;
        protocol imapd;
        imapd_auth_plaintext on;
    }
CONF
is(($t->mailctl('', 'domain', 'add', 'example.test'))[0], 0, 'domain');
is(($t->mailctl("Secret-1\n", 'user', 'add', 'demo@example.test'))[0], 0,
   'user, with the default mailboxes');

my $u = 'demo@example.test';

my $s = client($imap);
imap_line($s);
like(imap_cmd($s, "a0 LOGIN $u Secret-1"), qr/^a0 OK /, 'logged in');

# --- LIST --------------------------------------------------------------------
is(imap_cmd($s, 'a1 LIST "" ""'),
   "* LIST (\\Noselect) \"/\" \"\"\r\na1 OK LIST completed\r\n",
   'LIST "" "": the delimiter');
is(imap_cmd($s, 'a2 LIST "" *'),
   "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
   . "* LIST (\\HasNoChildren \\Archive) \"/\" \"Archive\"\r\n"
   . "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"\r\n"
   . "* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"\r\n"
   . "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"
   . "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"\r\n"
   . "a2 OK LIST completed\r\n", 'LIST "" *: INBOX first, special use');
is(imap_cmd($s, 'a3 list "" inbox'),
   "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\na3 OK LIST completed\r\n",
   'INBOX in any case');
is(imap_cmd($s, 'a4 LIST "" "D*"'),
   "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"\r\n"
   . "a4 OK LIST completed\r\n", 'a quoted pattern');
is(imap_cmd($s, 'a5 LIST "" Nothing*'), "a5 OK LIST completed\r\n",
   'no match: just OK');

is(imap_cmd($s, 'b1 CREATE Work/Projects/2024'), "b1 OK CREATE completed\r\n",
   'CREATE with superiors');
is(imap_cmd($s, 'b2 CREATE Work'),
   "b2 NO [ALREADYEXISTS] Mailbox already exists\r\n",
   'the superior was created');
is(imap_cmd($s, 'b3 CREATE inbox'),
   "b3 NO [ALREADYEXISTS] Mailbox already exists\r\n", 'CREATE INBOX');
is(imap_cmd($s, 'b4 CREATE Notes/'), "b4 OK CREATE completed\r\n",
   'CREATE with a trailing delimiter');
is(imap_cmd($s, 'b5 CREATE a//b'), "b5 NO [CANNOT] Invalid mailbox name\r\n",
   'an empty level: refused');
is(imap_cmd($s, 'b6 CREATE "x*"'), "b6 NO [CANNOT] Invalid mailbox name\r\n",
   'a wildcard: refused');
is(imap_cmd($s, 'b7 CREATE "&Jjo"'), "b7 NO [CANNOT] Invalid mailbox name\r\n",
   'bad modified UTF-7: refused');

is(imap_cmd($s, 'c1 LIST "" %'),
   "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
   . "* LIST (\\HasNoChildren \\Archive) \"/\" \"Archive\"\r\n"
   . "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"\r\n"
   . "* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"\r\n"
   . "* LIST (\\HasNoChildren) \"/\" \"Notes\"\r\n"
   . "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"
   . "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"\r\n"
   . "* LIST (\\HasChildren) \"/\" \"Work\"\r\n"
   . "c1 OK LIST completed\r\n", '"%": one level, \HasChildren');
is(imap_cmd($s, 'c2 LIST Work/ %'),
   "* LIST (\\HasChildren) \"/\" \"Work/Projects\"\r\nc2 OK LIST "
   . "completed\r\n", 'a reference');
is(imap_cmd($s, 'c3 LIST "" Work/*'),
   "* LIST (\\HasChildren) \"/\" \"Work/Projects\"\r\n"
   . "* LIST (\\HasNoChildren) \"/\" \"Work/Projects/2024\"\r\n"
   . "c3 OK LIST completed\r\n", '"*" crosses levels');
is(imap_cmd($s, 'c4 LIST "" W%/%'),
   "* LIST (\\HasChildren) \"/\" \"Work/Projects\"\r\nc4 OK LIST "
   . "completed\r\n", 'wildcards mixed');

is(imap_cmd($s, 'c5 LIST "" "Wo**%%"'),
   "* LIST (\\HasChildren) \"/\" \"Work\"\r\n"
   . "* LIST (\\HasChildren) \"/\" \"Work/Projects\"\r\n"
   . "* LIST (\\HasNoChildren) \"/\" \"Work/Projects/2024\"\r\n"
   . "c5 OK LIST completed\r\n", 'a run of wildcards is its widest');
is(imap_cmd($s, 'c6 LIST "" "' . ('%x' x 2000) . '"'),
   "c6 OK LIST completed\r\n",
   'a pattern longer than any name');

# --- non-ASCII names ---------------------------------------------------------
is(imap_cmd($s, 'd1 CREATE "Entw&APw-rfe"'), "d1 OK CREATE completed\r\n",
   'CREATE a non-ASCII name');
is($t->redis('HEXISTS', "mailboxes:{$u}", "Entw\xc3\xbcrfe"), 1,
   'stored as UTF-8');
is(imap_cmd($s, 'd2 LIST "" Entw*'),
   "* LIST (\\HasNoChildren) \"/\" \"Entw&APw-rfe\"\r\nd2 OK LIST "
   . "completed\r\n", 'listed in modified UTF-7');

# --- LSUB, SUBSCRIBE ---------------------------------------------------------
is(imap_cmd($s, 'e1 LSUB "" *'),
   "* LSUB () \"/\" \"INBOX\"\r\n* LSUB () \"/\" \"Archive\"\r\n"
   . "* LSUB () \"/\" \"Drafts\"\r\n* LSUB () \"/\" \"Junk\"\r\n"
   . "* LSUB () \"/\" \"Sent\"\r\n* LSUB () \"/\" \"Trash\"\r\n"
   . "e1 OK LSUB completed\r\n", 'LSUB: what mailctl subscribed');
is(imap_cmd($s, 'e2 SUBSCRIBE "Entw&APw-rfe"'),
   "e2 OK SUBSCRIBE completed\r\n",
   'SUBSCRIBE');
is(imap_cmd($s, 'e3 UNSUBSCRIBE Junk'), "e3 OK UNSUBSCRIBE completed\r\n",
   'UNSUBSCRIBE');
is(imap_cmd($s, 'e4 LSUB "" *'),
   "* LSUB () \"/\" \"INBOX\"\r\n* LSUB () \"/\" \"Archive\"\r\n"
   . "* LSUB () \"/\" \"Drafts\"\r\n* LSUB () \"/\" \"Entw&APw-rfe\"\r\n"
   . "* LSUB () \"/\" \"Sent\"\r\n* LSUB () \"/\" \"Trash\"\r\n"
   . "e4 OK LSUB completed\r\n", 'LSUB follows');
is(imap_cmd($s, 'e5 SUBSCRIBE Nowhere'),
   "e5 NO [NONEXISTENT] Mailbox does not exist\r\n",
   'SUBSCRIBE a missing mailbox');

# --- STATUS ------------------------------------------------------------------
my $uv = $t->redis('HGET', "mailbox:{$u}:1", 'uidvalidity');
is(imap_cmd($s, 'f1 STATUS INBOX (MESSAGES UIDNEXT UNSEEN)'),
   "* STATUS \"INBOX\" (MESSAGES 0 UIDNEXT 1 UNSEEN 0)\r\n"
   . "f1 OK STATUS completed\r\n", 'STATUS of an empty INBOX');
smtp_deliver($smtp, $u, "Subject: one\r\n\r\nbody\r\n");
smtp_deliver($smtp, $u, "Subject: two\r\n\r\nbody\r\n");
is(imap_cmd($s, 'f2 STATUS inbox (UIDVALIDITY MESSAGES RECENT UIDNEXT UNSEEN '
                . 'HIGHESTMODSEQ)'),
   "* STATUS \"INBOX\" (UIDVALIDITY $uv MESSAGES 2 RECENT 2 UIDNEXT 3 "
   . "UNSEEN 2 HIGHESTMODSEQ "
   . $t->redis('HGET', "mailbox:{$u}:1", 'highestmodseq') . ")\r\n"
   . "f2 OK STATUS completed\r\n", 'STATUS after two deliveries');
is(imap_cmd($s, 'f3 STATUS Nowhere (MESSAGES)'),
   "f3 NO [NONEXISTENT] Mailbox does not exist\r\n", 'STATUS of nothing');
is(imap_cmd($s, 'f4 STATUS INBOX (BOGUS)'), "f4 BAD Unknown STATUS item\r\n",
   'an unknown item');
is(imap_cmd($s, 'f5 STATUS INBOX ()'), "f5 BAD Invalid arguments\r\n",
   'no item');

# --- RENAME ------------------------------------------------------------------
is(imap_cmd($s, 'g1 RENAME Work Job/Old'), "g1 OK RENAME completed\r\n",
   'RENAME with inferiors, to a new superior');
is(imap_cmd($s, 'g2 LIST "" J*'),
   "* LIST (\\HasChildren) \"/\" \"Job\"\r\n"
   . "* LIST (\\HasChildren) \"/\" \"Job/Old\"\r\n"
   . "* LIST (\\HasChildren) \"/\" \"Job/Old/Projects\"\r\n"
   . "* LIST (\\HasNoChildren) \"/\" \"Job/Old/Projects/2024\"\r\n"
   . "* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"\r\n"
   . "g2 OK LIST completed\r\n", 'the inferiors moved along');
is(imap_cmd($s, 'g3 LIST "" Work*'), "g3 OK LIST completed\r\n",
   'nothing left under the old name');
my $inbox_count = $t->redis('ZCARD', "mailbox:{$u}:1:uids");
ok($inbox_count > 0, 'INBOX has messages to move');
is(imap_cmd($s, 'g4 RENAME INBOX Old'), "g4 OK RENAME completed\r\n",
   'RENAME INBOX (RFC 3501 6.3.5)');
like(imap_cmd($s, 'g4a STATUS Old (MESSAGES)'), qr/\(MESSAGES $inbox_count\)/,
     'RENAME INBOX: the messages moved to the new mailbox');
like(imap_cmd($s, 'g4b STATUS INBOX (MESSAGES UNSEEN)'),
     qr/\(MESSAGES 0 UNSEEN 0\)/, 'RENAME INBOX: INBOX stays, empty');
# and back, for the tests below
like(imap_cmd($s, 'g4c SELECT Old'), qr/^g4c OK/m, 'SELECT the renamed INBOX');
like(imap_cmd($s, 'g4d MOVE 1:* INBOX'), qr/^g4d OK/m, 'MOVE everything back');
like(imap_cmd($s, 'g4e CLOSE'), qr/^g4e OK/m, 'CLOSE');
is(imap_cmd($s, 'g4f DELETE Old'), "g4f OK DELETE completed\r\n", 'DELETE it');
is(imap_cmd($s, 'g5 RENAME Notes Sent'),
   "g5 NO [ALREADYEXISTS] Mailbox already exists\r\n", 'onto an existing one');
is(imap_cmd($s, 'g6 RENAME Nowhere Else'),
   "g6 NO [NONEXISTENT] Mailbox does not exist\r\n", 'a missing one');
is(imap_cmd($s, 'g7 RENAME Job Job/Sub'),
   "g7 NO [CANNOT] A mailbox cannot be moved under itself\r\n",
   'under itself');
is(imap_cmd($s, 'g8 RENAME "Entw&APw-rfe" "&AMk-t&AOk-"'),
   "g8 OK RENAME completed\r\n", 'RENAME non-ASCII');
is($t->redis('HEXISTS', "mailboxes:{$u}", "\xc3\x89t\xc3\xa9"), 1,
   'the new name is stored as UTF-8');

# --- DELETE ------------------------------------------------------------------
is(imap_cmd($s, 'h1 DELETE INBOX'),
   "h1 NO [CANNOT] INBOX cannot be deleted\r\n",
   'DELETE INBOX');
is(imap_cmd($s, 'h2 DELETE Job'),
   "h2 NO [INUSE] Mailbox has inferior hierarchical names\r\n",
   'DELETE with inferiors');
is(imap_cmd($s, 'h3 DELETE Job/Old/Projects/2024'),
   "h3 OK DELETE completed\r\n",
   'DELETE a leaf');
is(imap_cmd($s, 'h4 DELETE Nowhere'),
   "h4 NO [NONEXISTENT] Mailbox does not exist\r\n", 'DELETE nothing');

# a mailbox with a message in it: the message and its blob go too
my $notes = $t->redis('HGET', "mailboxes:{$u}", 'Notes');
my $blob = $t->redis('HGET', "msg:{$u}:1:1", 'blob');
$t->redis('HSET', "msg:{$u}:$notes:1", 'blob', $blob, 'size', 10,
          'flags', '', 'internaldate', time, 'modseq', 1);
$t->redis('ZADD', "mailbox:{$u}:$notes:uids", 1, 1);
$t->redis('INCR', "blob:{$blob}:refs");
my $used = $t->redis('HGET', "user:{$u}", 'used_bytes');
is(imap_cmd($s, 'h5 DELETE Notes'), "h5 OK DELETE completed\r\n",
   'DELETE a mailbox holding a message');
is($t->redis('EXISTS', "msg:{$u}:$notes:1", "mailbox:{$u}:$notes",
             "mailbox:{$u}:$notes:uids"), 0, 'its keys are gone');
is($t->redis('GET', "blob:{$blob}:refs"), 1,
   'the blob keeps the INBOX reference');
is($t->redis('HGET', "user:{$u}", 'used_bytes'), $used - 10,
   'quota usage goes down');
is(imap_cmd($s, 'h6 CREATE Notes'), "h6 OK CREATE completed\r\n",
   'CREATE the name again');
my $notes2 = $t->redis('HGET', "mailboxes:{$u}", 'Notes');
isnt($notes2, $notes, 'a new id');
cmp_ok($t->redis('HGET', "mailbox:{$u}:$notes2", 'uidvalidity'), '>',
       $t->redis('HGET', "mailbox:{$u}:$notes", 'uidvalidity') || 0,
       'a new UIDVALIDITY');

is(imap_cmd($s, 'i1 NOOP'), "i1 OK NOOP completed\r\n", 'still there');
close $s;

# --- Mail::IMAPClient --------------------------------------------------------
my $c = Mail::IMAPClient->new(Server => '127.0.0.1', Port => $imap,
                              User => $u, Password => 'Secret-1',
                              Timeout => 10);
ok($c && $c->IsAuthenticated, 'Mail::IMAPClient logs in')
    or diag($@);
my $folders = $c->folders;
is_deeply([ sort @$folders ],
          [ sort 'INBOX', 'Archive', 'Drafts', 'Junk', 'Sent', 'Trash',
                 'Notes', 'Job', 'Job/Old', 'Job/Old/Projects',
                 '&AMk-t&AOk-' ], 'Mail::IMAPClient lists the folders');
is($c->separator, '/', 'the separator');
ok($c->create('Client'), 'Mail::IMAPClient creates a folder');
ok($c->exists('Client'), 'and sees it');
is($c->message_count('INBOX'), 2, 'message_count uses STATUS');
$c->logout;

# --- Redis down --------------------------------------------------------------
$s = client($imap);
imap_line($s);
like(imap_cmd($s, "j1 LOGIN $u Secret-1"), qr/^j1 OK /, 'logged in');
$t->stop_redis;
is(imap_cmd($s, 'j2 LIST "" *'),
   "j2 NO [UNAVAILABLE] Temporary failure, try again later\r\n",
   'Redis down: LIST NO [UNAVAILABLE]');
is(imap_cmd($s, 'j3 CREATE Foo'),
   "j3 NO [UNAVAILABLE] Temporary failure, try again later\r\n",
   'Redis down: CREATE NO [UNAVAILABLE]');
is(imap_cmd($s, 'j4 NOOP'), "j4 OK NOOP completed\r\n", 'the session goes on');
close $s;

done_testing;
