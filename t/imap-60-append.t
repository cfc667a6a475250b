# IMAP APPEND (RFC 3501 6.3.11, RFC 4315 APPENDUID, RFC 7888 LITERAL+)
# and QUOTA (RFC 9208): flags and date (INTERNALDATE read back), the
# synchronizing literal's "+" and the non-synchronizing literal without
# it, TOOBIG before any "+", TRYCREATE, OVERQUOTA, EXISTS for the selected
# mailbox (and for another session on it), GETQUOTA/GETQUOTAROOT/SETQUOTA.

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
    server {
        listen 127.0.0.1:$imap;
        protocol imapd;
        imapd_auth_plaintext on;
        imapd_max_message_size 10k;
    }
CONF
$t->mailctl('', 'domain', 'add', 'example.test');
$t->mailctl("Secret-1\n", 'user', 'add', 'demo@example.test');
my $u = 'demo@example.test';

my $msg = "Subject: appended\r\n\r\nhello\r\n";
my $len = length $msg;

my $s = client($imap);
imap_line($s);

send_line($s, "n1 APPEND INBOX {$len}");
my $r = imap_line($s);
if ($r =~ /^\+/) {     # the server may take the literal and refuse after it
    print $s $msg, "\r\n";
    $r = imap_until($s, 'n1');
}
like($r, qr/^n1 (?:BAD|NO) /m, 'APPEND before LOGIN: refused');
like(imap_cmd($s, 'n2 NOOP'), qr/^n2 OK/m, 'and the connection goes on');

like(imap_cmd($s, "a0 LOGIN $u Secret-1"), qr/^a0 OK/m, 'login');

# --- sync literal, flags, date ---------------------------------------------------
send_line($s, "a1 APPEND INBOX (\\Seen \$Foo) \" 5-Jan-2021 08:09:10 +0100\" {$len}");
is(imap_line($s), "+ Ready for literal data\r\n",
   'a synchronizing literal: "+" first');
print $s $msg, "\r\n";
$r = imap_until($s, 'a1');
like($r, qr/^a1 OK \[APPENDUID (\d+) 1\] APPEND completed\r\n\z/,
     'APPENDUID: uidvalidity and UID 1');
my ($uidvalidity) = $r =~ /APPENDUID (\d+)/;

$r = imap_cmd($s, 'a2 SELECT INBOX');
like($r, qr/^\* OK \[UIDVALIDITY $uidvalidity\]/m,
     'APPENDUID gave the mailbox UIDVALIDITY');
like($r, qr/^\* FLAGS \(.*\$Foo\)\r$/m, 'the new keyword is in FLAGS');
is(imap_cmd($s, 'a3 FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])'),
   "* 1 FETCH (FLAGS (\\Seen \\Recent \$Foo) INTERNALDATE "
   . "\"05-Jan-2021 07:09:10 +0000\" RFC822.SIZE $len BODY[] {$len}\r\n"
   . "$msg)\r\na3 OK FETCH completed\r\n",
   'flags, INTERNALDATE (the same instant), the message as sent');

# --- non-sync literal into the selected mailbox: EXISTS ------------------------
print $s "a4 APPEND INBOX (\\Flagged) {$len+}\r\n$msg\r\n";
is(imap_until($s, 'a4'),
   "* 2 EXISTS\r\n* 2 RECENT\r\na4 OK [APPENDUID $uidvalidity 2] APPEND "
   . "completed\r\n", 'LITERAL+: no "+", EXISTS for the selected mailbox');

print $s "a5 APPEND Archive {$len+}\r\n$msg\r\n";
like(imap_until($s, 'a5'), qr/^a5 OK \[APPENDUID \d+ 1\] APPEND completed\r\n\z/,
     'APPEND to another mailbox: no EXISTS');

# another session on INBOX learns of an APPEND at its next command
my $o = client($imap);
imap_line($o);
imap_cmd($o, "o0 LOGIN $u Secret-1");
imap_cmd($o, 'o1 EXAMINE INBOX');
print $s "a6 APPEND INBOX {$len+}\r\n$msg\r\n";
like(imap_until($s, 'a6'), qr/^\* 3 EXISTS\r\n.*^a6 OK \[APPENDUID \d+ 3\]/ms,
     'a third message');
like(imap_cmd($o, 'o2 NOOP'), qr/\A\* 3 EXISTS\r\n.*^o2 OK/ms,
     'the other session: EXISTS at NOOP');

# a date on the other side of the epoch's day, a zone west of UTC
print $s "a7 APPEND INBOX () \"31-Dec-1999 23:59:59 -0130\" {$len+}\r\n$msg\r\n";
like(imap_until($s, 'a7'), qr/^a7 OK \[APPENDUID/m, 'empty flag list, a date');
is(imap_cmd($s, 'a8 FETCH 4 (FLAGS INTERNALDATE)'),
   "* 4 FETCH (FLAGS (\\Recent) INTERNALDATE \"01-Jan-2000 01:29:59 +0000\")"
   . "\r\na8 OK FETCH completed\r\n", 'a negative zone');

# the mailbox as a literal, and "inbox" in any case
print $s "a9 APPEND {4+}\r\nSent (\\Seen) {$len+}\r\n$msg\r\n";
like(imap_until($s, 'a9'), qr/^a9 OK \[APPENDUID \d+ 1\] APPEND completed\r\n\z/,
     'the mailbox name as a literal');
print $s "a10 APPEND inbox {$len+}\r\n$msg\r\n";
like(imap_until($s, 'a10'), qr/^\* 5 EXISTS\r\n.*^a10 OK \[APPENDUID $uidvalidity 5\]/ms,
     '"inbox" is INBOX');
imap_cmd($s, 'a11 STORE 5 +FLAGS.SILENT (\\Deleted)');
imap_cmd($s, 'a12 EXPUNGE');

# --- refusals --------------------------------------------------------------------
send_line($s, "b1 APPEND Nope {$len}");
is(imap_line($s), "+ Ready for literal data\r\n", 'TRYCREATE case: "+"');
print $s $msg, "\r\n";
is(imap_until($s, 'b1'), "b1 NO [TRYCREATE] Mailbox does not exist\r\n",
   'APPEND to a missing mailbox: NO [TRYCREATE]');

send_line($s, 'b2 APPEND INBOX {20000}');
is(imap_line($s), "b2 NO [TOOBIG] Message too large\r\n",
   'over imapd_max_message_size: NO [TOOBIG] instead of "+"');
is(imap_cmd($s, 'b3 NOOP'), "b3 OK NOOP completed\r\n",
   'no literal was sent: the next command is read as one');

print $s 'b4 APPEND INBOX {20000+}' . "\r\n" . ('x' x 20000) . "\r\n";
like(imap_until($s, 'b4'), qr/^b4 (?:NO|BAD) \[TOOBIG\]/m,
     'a non-synchronizing literal too big: [TOOBIG]');
is(imap_cmd($s, 'b5 NOOP'), "b5 OK NOOP completed\r\n",
   'its octets were skipped, not read as commands');

send_line($s, 'b6 APPEND INBOX {10240}');
is(imap_line($s), "+ Ready for literal data\r\n", 'exactly the limit: "+"');
print $s 'y' x 10240, "\r\n";
like(imap_until($s, 'b6'), qr/^b6 OK \[APPENDUID/m, 'exactly the limit: OK');

for (['c1', '(\\Recent)', '\Recent in the flags'],
     ['c2', '(\\Bogus)', 'an unknown system flag'],
     ['c3', '"bad date"', 'a bad date'],
     ['c4', '"32-Jan-2021 00:00:00 +0000"', 'day 32'],
     ['c5', '(\\Seen', 'an unclosed list'])
{
    my ($tag, $arg, $what) = @$_;
    print $s "$tag APPEND INBOX $arg {$len+}\r\n$msg\r\n";
    like(imap_until($s, $tag), qr/^$tag BAD /m, "$what: BAD");
}
is(imap_cmd($s, 'c6 NOOP'), "c6 OK NOOP completed\r\n",
   'still in step after the refusals');
like(imap_cmd($s, 'c7 APPEND INBOX'), qr/^c7 BAD/m, 'no message: BAD');

# --- QUOTA -----------------------------------------------------------------------
is(imap_cmd($s, 'q1 GETQUOTAROOT INBOX'),
   "* QUOTAROOT \"INBOX\"\r\nq1 OK GETQUOTAROOT completed\r\n",
   'no quota: GETQUOTAROOT names no root');
like(imap_cmd($s, 'q2 GETQUOTAROOT Nope'), qr/^q2 NO /m,
     'GETQUOTAROOT of a missing mailbox: NO');
like(imap_cmd($s, 'q3 GETQUOTA "x"'), qr/^q3 NO /m, 'an unknown root: NO');
like(imap_cmd($s, 'q4 SETQUOTA "" (STORAGE 10)'), qr/^q4 NO /m,
     'SETQUOTA by a user: NO');

is(($t->mailctl('', 'user', 'quota', $u, '15k'))[0], 0, 'mailctl user quota 15k');
my $used = int((6 * $len + 10240 + 1023) / 1024);
is(imap_cmd($s, 'q5 GETQUOTAROOT INBOX'),
   "* QUOTAROOT \"INBOX\" \"\"\r\n* QUOTA \"\" (STORAGE $used 15)\r\n"
   . "q5 OK GETQUOTAROOT completed\r\n", 'GETQUOTAROOT: root "" and its QUOTA');
is(imap_cmd($s, 'q6 GETQUOTA ""'),
   "* QUOTA \"\" (STORAGE $used 15)\r\nq6 OK GETQUOTA completed\r\n",
   'GETQUOTA "": usage and limit in KiB');
like(imap_cmd($s, 'q7 getquotaroot Archive'), qr/^\* QUOTAROOT "Archive" ""\r$/m,
     'every mailbox under the one root');

send_line($s, 'q8 APPEND INBOX {9000}');
is(imap_line($s), "+ Ready for literal data\r\n", 'over quota: "+" first');
print $s 'z' x 9000, "\r\n";
is(imap_until($s, 'q8'), "q8 NO [OVERQUOTA] Quota exceeded\r\n",
   'APPEND over the quota: NO [OVERQUOTA]');
is(imap_cmd($s, 'q9 FETCH 1:* UID'),
   join('', map { "* $_ FETCH (UID " . ($_ == 5 ? 6 : $_) . ")\r\n" } 1 .. 5)
   . "q9 OK FETCH completed\r\n", 'nothing was added');
like(imap_cmd($s, 'q10 GETQUOTA ""'), qr/\(STORAGE $used 15\)/, 'usage unchanged');
imap_cmd($s, 'q11 STORE 5 +FLAGS.SILENT (\\Deleted)');
imap_cmd($s, 'q12 EXPUNGE');
my $used2 = int((6 * $len + 1023) / 1024);
like(imap_cmd($s, 'q13 GETQUOTA ""'), qr/\(STORAGE $used2 15\)/,
     'EXPUNGE gives the space back');
print $s "q14 APPEND INBOX {9000+}\r\n" . ('z' x 9000) . "\r\n";
like(imap_until($s, 'q14'), qr/^q14 OK \[APPENDUID/m, 'under the quota again: OK');

# --- an empty message -----------------------------------------------------------
my $e = client($imap);
imap_line($e);
imap_cmd($e, "e0 LOGIN $u Secret-1");
send_line($e, 'e1 APPEND Archive {0}');
my $got = eval {
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 3;
    my $l = <$e>;
    $l .= <$e> if defined $l && $l =~ /^\+/ && print $e "\r\n";
    alarm 0;
    $l;
};
alarm 0;
{
    like(defined $got ? $got : '', qr/^e1 (?:OK|NO|BAD)/m,
         'APPEND {0}: a tagged reply (RFC 3501: literal may be empty)');
}

imap_cmd($s, 'z LOGOUT');
done_testing;
