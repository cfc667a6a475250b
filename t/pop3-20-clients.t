# Real POP3 clients: fetchmail (Debian) downloads and deletes a maildrop,
# and curl lists and retrieves.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port smtp_deliver);

my $t = MailTest->new;
$t->start_redis;
my ($smtp, $pop) = (free_port(), free_port());
$t->start_nginx(<<CONF, ports => [$smtp, $pop]);
    server { listen 127.0.0.1:$smtp; protocol smtpd; }
    server { listen 127.0.0.1:$pop; protocol pop3d; pop3d_auth_plaintext on; }
CONF
$t->add_user('demo@example.test', 'Secret-1');

sub deliver {
    my ($subject) = @_;
    smtp_deliver($smtp, 'demo@example.test', "Subject: $subject\r\n\r\n"
                 . "body of $subject\r\n.starts with a dot\r\n");
}

deliver("message $_") for 1 .. 3;

# --- curl -------------------------------------------------------------------
my $url = "pop3://127.0.0.1:$pop/";
my $list = `curl -sS --max-time 20 -u 'demo\@example.test:Secret-1' '$url' 2>&1`;
is($?, 0, 'curl lists the maildrop') or diag $list;
like($list, qr/\A1 \d+\r?\n2 \d+\r?\n3 \d+\r?\n\z/, 'curl: three messages');
my $one = `curl -sS --max-time 20 -u 'demo\@example.test:Secret-1' '${url}2' 2>&1`;
like($one, qr/^Subject: message 2\r$/m, 'curl retrieves message 2');
like($one, qr/^\.starts with a dot\r$/m, 'dot-stuffing undone by curl');

# --- fetchmail ----------------------------------------------------------------
my $dir = $t->dir;
my $out = "$dir/fetched.mbox";
open my $rc, '>', "$dir/fetchmailrc" or die;
print $rc <<RC;
set no syslog
poll 127.0.0.1 with proto POP3 port $pop auth password
    user "demo\@example.test" there with password "Secret-1" is root here
    sslproto '' no idle
    mda "/bin/sh -c 'cat >> $out'"
RC
close $rc;
chmod 0600, "$dir/fetchmailrc";

for (1 .. 100) {
    last unless $t->redis('EXISTS', 'lock:pop3:{demo@example.test}');
    select undef, undef, undef, 0.05;
}

# its own lock file: as root fetchmail takes /var/run/fetchmail.pid, which
# another test run on the machine may hold
my $fetchmail = "HOME=$dir FETCHMAILHOME=$dir fetchmail -f $dir/fetchmailrc"
                . " --pidfile $dir/fetchmail.pid --nodetach --nosyslog -v";
my $log = `$fetchmail 2>&1`;
my $status = $? >> 8;
is($status, 0, 'fetchmail exits 0 (mail retrieved)') or diag $log;
like($log, qr/3 messages? for demo\@example\.test/, 'fetchmail saw 3 messages');

open my $mbox, '<', $out or die "$out: $!";
my $fetched = do { local $/; <$mbox> };
close $mbox;
is(scalar(() = $fetched =~ /^Subject: message \d/mg), 3,
   'all three messages were delivered by fetchmail');
like($fetched, qr/^\.starts with a dot\r?$/m, 'with dot-stuffing undone');
is($t->redis('HGET', 'mailbox:{demo@example.test}:1', 'messages'), 0,
   'fetchmail deleted them: the maildrop is empty');
is($t->redis('KEYS', 'blob:*'), '', 'and their blobs are gone');

done_testing;
