# Real IMAP clients of Debian 12 against a setup like "./build.sh run"'s
# (IMAP with STARTTLS on, IMAPS, a certificate for 127.0.0.1): curl, mbsync
# (isync) and mutt each list, read, move and delete the user's mail, and
# what they did is checked on the server.  A client that is not installed
# fails the test ("./build.sh deps" installs them all).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port client imap_line imap_cmd smtp_deliver);

for my $bin (qw(curl mbsync mutt script openssl)) {
    my $path = `command -v $bin 2>/dev/null`;
    ok($path =~ m{^/}, "$bin is installed")
        or die "$bin is missing: run ./build.sh deps\n";
}

my $t = MailTest->new;
my $dir = $t->dir;
$t->start_redis;

# as conf/run.sh makes it: valid for 127.0.0.1 (curl, mutt) and localhost
# (mbsync checks host names only), so that clients verify it
my ($crt, $key) = ("$dir/cert.pem", "$dir/key.pem");
system("openssl req -x509 -newkey rsa:2048 -nodes -days 2"
       . " -subj /CN=mail.example.test"
       . " -addext subjectAltName=DNS:mail.example.test,DNS:localhost,IP:127.0.0.1"
       . " -keyout $key -out $crt 2>/dev/null") == 0 or die "openssl failed";

my ($smtp, $imap, $imaps, $check) = map { free_port() } 1 .. 4;
$t->start_nginx(<<CONF, ports => [$smtp, $imap, $imaps, $check]);
    ssl_certificate $crt;
    ssl_certificate_key $key;
    server { listen 127.0.0.1:$smtp; protocol smtpd; }
    server { listen 127.0.0.1:$imap; protocol imapd; starttls on; }
    server { listen 127.0.0.1:$imaps ssl; protocol imapd; }
    # the test's own look at the mailboxes
    server { listen 127.0.0.1:$check; protocol imapd; imapd_auth_plaintext on; }
CONF
$t->mailctl('', 'domain', 'add', 'example.test');
$t->mailctl("Secret-1\n", 'user', 'add', 'demo@example.test');
my $u = 'demo@example.test';

sub sq { my ($s) = @_; $s =~ s/'/'\\''/g; return "'$s'" }

# Runs a shell command line with a time limit: (exit code, output).
sub run {
    my ($cmd) = @_;
    my $out = `timeout 20 sh -c @{[ sq($cmd) ]} 2>&1 < /dev/null`;
    return ($? >> 8, $out);
}

# The server's view, through a plain IMAP session of the test
sub server_view {
    my ($mailbox) = @_;
    my $c = client($check);
    imap_line($c);
    imap_cmd($c, "v0 LOGIN $u Secret-1");
    my $r = imap_cmd($c, "v1 EXAMINE \"$mailbox\"");
    my %v;
    if ($r =~ /^v1 OK/m) {
        $r = imap_cmd($c, 'v2 FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS '
                          . '(SUBJECT)])');
        while ($r =~ /^\* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\)[^\n]*\n(?:Subject: (\S+))?/mg) {
            $v{defined $3 ? $3 : "uid$1"} = { uid => $1, flags => $2 };
        }
    } else {
        $v{_error} = $r;
    }
    imap_cmd($c, 'v3 LOGOUT');
    return \%v;
}

sub subjects { join ' ', sort grep { !/^_/ } keys %{ $_[0] } }

# --- curl -------------------------------------------------------------------

smtp_deliver($smtp, $u, "Subject: c$_\n\nbody of c$_\n") for 1 .. 4;

# A session that stays open while the clients come and go: it must not
# notice them (but a crashing nginx worker takes it along).
my $watch = client($check);
imap_line($watch);
imap_cmd($watch, "w0 LOGIN $u Secret-1");
imap_cmd($watch, 'w1 SELECT INBOX');

my $curl = "curl -sS --max-time 15 --ssl-reqd --cacert $crt"
         . " -u 'demo\@example.test:Secret-1'";
my $base = "imap://127.0.0.1:$imap";
my ($rc, $out);

# Archive, like Drafts, Sent, Junk and Trash, comes with every account
($rc, $out) = run("$curl -X 'CREATE Projects' $base/");
is($rc, 0, 'curl: CREATE Projects (STARTTLS, then LOGIN)') or diag $out;

($rc, $out) = run("$curl $base/");
is($rc, 0, 'curl lists the mailboxes') or diag $out;
like($out, qr/^\* LIST \([^)]*\) "\/" "?INBOX"?\r?$/m, 'curl: INBOX listed');
like($out, qr/^\* LIST \([^)]*\\Archive[^)]*\) "\/" "?Archive"?\r?$/m,
     'curl: Archive listed, special-use');
like($out, qr/^\* LIST \([^)]*\) "\/" "?Projects"?\r?$/m,
     'curl: the new mailbox listed');

($rc, $out) = run("$curl '$base/INBOX;UID=2'");
is($rc, 0, 'curl fetches UID 2') or diag $out;
like($out, qr/\AReturn-Path: <a\@remote.example>\r?\n/,
   'curl: the message, from its first line');
like($out, qr/^Subject: c2\r?$/m, 'curl: its header');
like($out, qr/^body of c2\r?$/m, 'curl: and its body');

($rc, $out) = run("$curl '$base/INBOX;UID=2;SECTION=HEADER.FIELDS%20(SUBJECT)'");
like($out, qr/\ASubject: c2\r?\n\r?\n\z/, 'curl: a section') or diag $out;

($rc, $out) = run("$curl '$base/INBOX?SUBJECT%20c3'");
is($rc, 0, 'curl searches') or diag $out;
like($out, qr/^\* SEARCH 3\r?$/m, 'curl: SEARCH finds the message');

($rc, $out) = run("$curl -X 'UID MOVE 3 Archive' '$base/INBOX'");
is($rc, 0, 'curl: UID MOVE') or diag $out;

($rc, $out) = run("$curl -X 'UID STORE 1 +FLAGS (\\Deleted)' '$base/INBOX'");
is($rc, 0, 'curl: UID STORE +FLAGS (\Deleted)') or diag $out;
like($out, qr/^\* 1 FETCH \(.*FLAGS \([^)]*\\Deleted/m,
     'curl: the new flags') or diag $out;

like(imap_cmd($watch, 'w2 NOOP'), qr/^w2 OK/m,
     'another session survives the end of curl\'s STORE session');

($rc, $out) = run("$curl -X EXPUNGE '$base/INBOX'");
is($rc, 0, 'curl: EXPUNGE') or diag $out;
like($out, qr/^\* 1 EXPUNGE\r?$/m, 'curl: message 1 expunged') or diag $out;

my $v = server_view('INBOX');
is(subjects($v), 'c2 c4', 'after curl: INBOX has c2 and c4');
like($v->{c2}{flags} || '', qr/\\Seen/, 'c2 was read: \Seen');
unlike($v->{c4}{flags} || '', qr/\\Seen/, 'c4 was not');
is(subjects(server_view('Archive')), 'c3', 'after curl: Archive has c3');

# --- mbsync -------------------------------------------------------------------

my $maildir = "$dir/Maildir";
mkdir $maildir;
open my $rcf, '>', "$dir/mbsyncrc" or die;
print $rcf <<RC;
IMAPAccount nginx
Host localhost
Port $imaps
User $u
Pass Secret-1
SSLType IMAPS
CertificateFile $crt
SystemCertificates no

IMAPStore far
Account nginx

MaildirStore near
Path $maildir/
Inbox $maildir/INBOX
SubFolders Verbatim

Channel mail
Far :far:
Near :near:
Patterns *
Create Both
Remove None
Expunge Both
SyncState *
RC
close $rcf;

my $mbsync = "HOME=$dir mbsync -c $dir/mbsyncrc -V mail";

($rc, $out) = run($mbsync);
is($rc, 0, 'mbsync: first sync down') or diag $out;

sub maildir_files {
    my ($box) = @_;
    my %m;
    for my $f (glob("$maildir/$box/cur/* $maildir/$box/new/*")) {
        open my $fh, '<', $f or next;
        local $/;
        my $c = <$fh>;
        $m{$1} = $f if $c =~ /^Subject: (\S+)\r?$/m;
    }
    return \%m;
}

my $inbox = maildir_files('INBOX');
is(join(' ', sort keys %$inbox), 'c2 c4', 'mbsync: INBOX synced down');
is(join(' ', sort keys %{ maildir_files('Archive') }), 'c3',
   'mbsync: Archive synced down (mailboxes listed)');

# the new mail of the next sync, then a move and a deletion on the near side
smtp_deliver($smtp, $u, "Subject: m5\n\nbody of m5\n");
($rc, $out) = run($mbsync);
is($rc, 0, 'mbsync: second sync') or diag $out;
$inbox = maildir_files('INBOX');
is(join(' ', sort keys %$inbox), 'c2 c4 m5', 'mbsync: new mail synced down');

SKIP: {
    skip 'INBOX not synced', 3 unless $inbox->{c4} && $inbox->{m5};
    (my $name = $inbox->{c4}) =~ s{.*/}{};
    $name =~ s/,U=\d+//;    # a new message of Archive for mbsync
    rename $inbox->{c4}, "$maildir/Archive/cur/$name" or die "rename: $!";
    unlink $inbox->{m5} or die "unlink: $!";

    ($rc, $out) = run($mbsync);
    is($rc, 0, 'mbsync: sync up') or diag $out;
    is(subjects(server_view('INBOX')), 'c2',
       'after mbsync: moved and deleted mail gone from INBOX');
    is(subjects(server_view('Archive')), 'c3 c4',
       'after mbsync: the moved message appended to Archive');
}

# a flag changed on the near side goes up
$inbox = maildir_files('INBOX');
if (my $f = $inbox->{c2}) {
    (my $g = $f) =~ s/:2,([A-Z]*)$/':2,' . join '', sort split(m{}, "F$1")/e;
    rename $f, $g or die "rename: $!";
    ($rc, $out) = run($mbsync);
    is($rc, 0, 'mbsync: flag sync') or diag $out;
    like(server_view('INBOX')->{c2}{flags} || '', qr/\\Flagged/,
         'mbsync: \Flagged set on the server');
} else {
    fail('mbsync: c2 is in the Maildir');
}

# --- mutt ---------------------------------------------------------------------

# mutt is a full-screen program: "script" gives it a terminal, and the keys
# come from "push", ending in <quit>, so it never waits for a key.
smtp_deliver($smtp, $u, "Subject: u$_\n\nbody of u$_\n") for 6 .. 8;

open my $mrc, '>', "$dir/muttrc" or die;
print $mrc <<RC;
set imap_user = "$u"
set imap_pass = "Secret-1"
set ssl_starttls = yes
set ssl_force_tls = yes
set certificate_file = "$crt"
set folder = "imap://127.0.0.1:$imap/"
set spoolfile = "+INBOX"
set record = ""
set postponed = ""
set header_cache = ""
set message_cachedir = ""
set mail_check = 0
set timeout = 0
set confirmappend = no
set confirmcreate = no
set delete = yes
set move = no
set quit = yes
set wait_key = no
set sort = date-sent
set index_format = "%4C %s"
set pager_stop = yes
set beep = no
RC
close $mrc;

# Runs mutt on INBOX with the keys; returns (exit code, what it wrote
# on the terminal, its IMAP conversation from the debug log).
sub mutt {
    my ($keys) = @_;
    my $log = "$dir/mutt.typescript";
    unlink $log, "$dir/.muttdebug0";
    my $cmd = "HOME=$dir TERM=vt100 mutt -n -F $dir/muttrc -d 2"
            . " -f imap://127.0.0.1:$imap/INBOX -e " . sq("push '$keys'");
    my ($rc, $out) = run("script -q -e -c " . sq($cmd) . " $log");
    my $screen = $out . MailTest::_slurp($log);
    my $imap = join '', grep { /^\[[^]]*\] \d[<>] / }
                        split /^/, MailTest::_slurp("$dir/.muttdebug0");
    $imap =~ s/^\[[^]]*\] \d//mg;
    return ($rc, $screen, $imap);
}

# list: the index shows the messages (the screen is drawn before mutt
# reads its first key); read one: mutt fetches it and sets \Seen.  The
# pager is not drawn: all keys are pushed, mutt never waits for one.
my ($screen, $proto);
($rc, $screen, $proto) = mutt('<search>~s u7<enter><display-message>'
                              . '<exit><quit>');
is($rc, 0, 'mutt: open INBOX, read a message, quit')
    or diag "$screen\n$proto";
like($screen, qr/u6.*u7.*u8/s, 'mutt: the index lists the messages')
    or diag $screen;
like($proto, qr/^> \S+ UID FETCH \d+ BODY\.PEEK\[\]\r?$/m,
     'mutt: the message fetched') or diag $proto;
like($proto, qr/^< \* \d+ FETCH \(UID \d+ BODY\[\] \{2\d\d\}\r?$/m,
     'mutt: the server sends it') or diag $proto;
$v = server_view('INBOX');
is(subjects($v), 'c2 u6 u7 u8', 'after mutt: INBOX unchanged') or diag $proto;
like($v->{u7}{flags} || '', qr/\\Seen/, 'mutt read u7: \Seen')
    or diag $proto;

# list the mailboxes (the folder browser), move u6 to Archive, delete u8
($rc, $screen, $proto) = mutt('<change-folder>?<exit>'
                              . '<search>~s u6<enter><save-message>=Archive<enter>'
                              . '<search>~s u8<enter><delete-message>'
                              . '<sync-mailbox><quit>');
like($proto, qr/^< \* LIST \([^)]*\) "\/" "?Archive"?\r?$/m,
     'mutt: the folder browser lists the mailboxes') or diag $proto;
is($rc, 0, 'mutt: save to Archive, delete, sync') or diag "$screen\n$proto";
$v = server_view('INBOX');
is(subjects($v), 'c2 u7', 'after mutt: u6 moved and u8 deleted from INBOX')
    or diag $proto;
is(subjects(server_view('Archive')), 'c3 c4 u6', 'after mutt: u6 in Archive')
    or diag $proto;

my @crashes = $t->error_log =~ /^(.*exited on signal.*)$/mg;
ok(!@crashes, 'no nginx worker crashed during all this')
    or diag join "\n", @crashes;

done_testing;
