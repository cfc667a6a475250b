package MailTest;

# Test harness: each test file starts its own redis-server (and, with
# start_nginx, the Debian nginx binary with our modules) on free loopback
# ports in a temporary directory; everything is stopped when the file ends.

use strict;
use MIME::Base64 ();
use warnings;

use Exporter 'import';
use File::Temp qw(tempdir);
use File::Basename qw(dirname);
use File::Spec;
use IO::Socket::INET;
use FreePort;
use Time::HiRes qw(sleep time);
use Cwd qw(abs_path);
use Scalar::Util ();
use Test::More ();

our @EXPORT_OK = qw(free_port build_dir top_dir wait_port reply_of
                    client send_line imap_line imap_cmd imap_until
                    smtp_deliver smtp_cmd smtp_session smtp_submit
                    wait_for submission_server);

my $top = abs_path(File::Spec->catdir(dirname(__FILE__), '..', '..'));

my @instances;    # for the error log dump at the end

# A server that hangs up on a test must fail the test, not kill it: a
# test killed by SIGPIPE would leave its redis-server and nginx running.
$SIG{PIPE} = 'IGNORE';

sub top_dir   { $top }
sub build_dir { $ENV{MAIL_BUILD_DIR} || "$top/build" }

# A port for a server of the test, reserved against the other tests
# running at the same time (t/lib/FreePort.pm).
sub free_port { FreePort::take() }

sub wait_port {
    my ($port, $timeout) = @_;
    my $deadline = time + ($timeout || 10);
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        if ($s) { close $s; return 1; }
        sleep 0.05;
    }
    return 0;
}

sub new {
    my ($class, %opt) = @_;
    my $self = bless {
        dir  => tempdir('mailtest-XXXXXX', TMPDIR => 1,
                        CLEANUP => !$ENV{MAILTEST_KEEP}),
        opt  => \%opt,
        pids => {},
    }, $class;
    push @instances, $self;
    Scalar::Util::weaken($instances[-1]);
    return $self;
}

sub dir { $_[0]{dir} }

# --- redis -----------------------------------------------------------------

sub start_redis {
    my ($self) = @_;
    my $port = $self->{redis_port} ||= free_port();
    my $dir = "$self->{dir}/redis";
    mkdir $dir;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$dir/redis.log";
        open STDERR, '>&', \*STDOUT;
        exec 'redis-server', '--port', $port, '--bind', '127.0.0.1',
             '--dir', $dir, '--save', '', '--appendonly', 'no',
             '--daemonize', 'no';
        die "exec redis-server: $!";
    }
    $self->{pids}{redis} = $pid;
    wait_port($port) or die "redis-server did not start on $port";
    return $port;
}

sub stop_redis {
    my ($self) = @_;
    my $pid = delete $self->{pids}{redis} or return;
    kill 'TERM', $pid;
    waitpid $pid, 0;
}

sub redis_port { $_[0]{redis_port} }

# Run redis-cli against our server; returns its output without the newline.
sub redis {
    my ($self, @args) = @_;
    open my $fh, '-|', 'redis-cli', '-p', $self->{redis_port}, '--raw', @args
        or die "redis-cli: $!";
    local $/;
    my $out = <$fh>;
    close $fh;
    $out = '' unless defined $out;
    $out =~ s/\s+\z//;
    return $out;
}

# GET over a raw connection, without redis-cli's newline handling: the
# value byte for byte, undef for a missing key
sub redis_get_raw {
    my ($self, $key) = @_;
    my $s = client($self->{redis_port});
    print $s "*2\r\n\$3\r\nGET\r\n\$" . length($key) . "\r\n$key\r\n";
    my $head = <$s>;
    return undef if !defined $head || $head =~ /^\$-1/;
    my ($len) = $head =~ /^\$(\d+)/ or die "GET $key: $head";
    my $data = '';
    read($s, $data, $len + 2) == $len + 2 or die "GET $key: short read";
    return substr($data, 0, $len);
}

# A command over one connection kept open: on a slow machine a redis-cli
# per check costs more than what it checks (the mailctl tests).  The reply
# reads as redis-cli --raw prints it, like redis, but is not trimmed.
sub redis_fast {
    my ($self, @args) = @_;
    my $s = $self->{redis_sock} ||= IO::Socket::INET->new(
        PeerAddr => '127.0.0.1', PeerPort => $self->{redis_port})
        or die "redis: $!";
    print $s '*' . @args . "\r\n",
          map { '$' . length($_) . "\r\n$_\r\n" } @args;
    return join "\n", _redis_reply($s);
}

sub _redis_reply {
    my ($s) = @_;
    my $line = <$s>;
    defined $line or die 'redis: connection closed';
    my ($type, $rest) = $line =~ /\A(.)(.*)\r\n\z/s;
    return $rest if $type =~ /[+:-]/;
    return () if $rest < 0;
    return map { _redis_reply($s) } 1 .. $rest if $type eq '*';
    read($s, my $bulk, $rest + 2) == $rest + 2
        or die 'redis: short read';
    return substr($bulk, 0, $rest);
}

# The user's stored message whose Subject is "subject", searched in the
# named mailboxes (INBOX and Junk): (mailbox, header block unfolded with
# LF line ends), or ('', '') when there is none.
sub stored_message {
    my ($self, $user, $subject, @mailboxes) = @_;
    @mailboxes = ('INBOX', 'Junk') unless @mailboxes;
    for my $mailbox (@mailboxes) {
        my $id = $self->redis('HGET', "mailboxes:{$user}", $mailbox);
        next unless length $id;
        for my $uid (split /\n/, $self->redis('ZRANGE',
                                              "mailbox:{$user}:$id:uids",
                                              0, -1))
        {
            my $blob = $self->redis('HGET', "msg:{$user}:$id:$uid", 'blob');
            my $msg = $self->redis_get_raw("blob:{$blob}");
            next unless defined $msg;
            my ($head) = $msg =~ /\A(.*?\r\n)\r\n/s;
            next unless defined $head
                        && $head =~ /^Subject: \Q$subject\E\r$/m;
            $head =~ s/\r\n[ \t]+/ /g;
            $head =~ s/\r\n/\n/g;
            return ($mailbox, $head);
        }
    }
    return ('', '');
}

# Checks that a command changed only what it should have: $snapshot
# returns every key with its value, $before is what it returned before
# the command.  The keys in @$gone are gone, every other key is left, and
# is as it was unless it is in @$changed (whose values the caller checks).
sub unchanged_but {
    my ($snapshot, $before, $gone, $changed, $name) = @_;
    my %expected = %$before;
    delete @expected{@$gone};
    my $after = $snapshot->();
    Test::More::is_deeply([ sort keys %$after ], [ sort keys %expected ],
                          "$name: the keys left");
    delete @expected{@$changed};
    my @differ = grep { exists $after->{$_}
                        && $after->{$_} ne $expected{$_} } keys %expected;
    Test::More::is_deeply([ sort @differ ], [], "$name: nothing else changed");
}

# --- DNS (dnsmasq, t/lib/DNSServer.pm) --------------------------------------

# Starts dnsmasq on 127.0.0.1 with the records of %$zone (see DNSServer.pm
# for the keys: mx, a, txt, cname, ptr, servfail, timeout, local) and waits
# until it answers; returns its port (UDP and TCP).  Called again, it
# restarts dnsmasq on the same port with the new records.
sub start_dns {
    my ($self, $zone) = @_;
    require DNSServer;
    if ($self->{dns}) {
        return $self->{dns}->restart($zone);
    }
    my $dir = "$self->{dir}/dns";
    mkdir $dir;
    $self->{dns} = DNSServer->start(dir => $dir, zone => $zone);
    return $self->{dns}->port;
}

sub dns_port { $_[0]{dns} && $_[0]{dns}->port }
sub dns      { $_[0]{dns} }

sub stop_dns {
    my ($self) = @_;
    my $dns = delete $self->{dns} or return;
    $dns->stop;
}

# --- mailctl ---------------------------------------------------------------

# Run build/mailctl with @args and $stdin; returns (exit code, stdout, stderr).
sub mailctl {
    my ($self, $stdin, @args) = @_;
    my $out = "$self->{dir}/mailctl.out";
    my $err = "$self->{dir}/mailctl.err";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $ENV{REDIS_URL} = "redis://127.0.0.1:$self->{redis_port}"
            if $self->{redis_port};
        my $in = "$self->{dir}/mailctl.in";
        open my $fh, '>', $in or die; print $fh (defined $stdin ? $stdin : '');
        close $fh;
        open STDIN, '<', $in;
        open STDOUT, '>', $out;
        open STDERR, '>', $err;
        exec build_dir() . '/mailctl', @args;
        die "exec mailctl: $!";
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    return ($rc, _slurp($out), _slurp($err));
}

sub _slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    my $s = <$fh>;
    return defined $s ? $s : '';
}

# --- nginx -----------------------------------------------------------------

my %nginx_env;

sub nginx_env {
    return %nginx_env if %nginx_env;
    my $f = build_dir() . '/nginx.env';
    open my $fh, '<', $f or die "$f: $! (run ./build.sh first)";
    while (<$fh>) {
        chomp;
        my ($k, $v) = split /=/, $_, 2;
        $nginx_env{$k} = $v;
    }
    return %nginx_env;
}

# The whole nginx.conf around the test's mail{} body.
sub nginx_conf {
    my ($self, $mail, %opt) = @_;
    my %env = nginx_env();
    my $dir = $self->{dir};
    my $redis = defined $opt{redis} ? $opt{redis}
              : "mail_redis 127.0.0.1:$self->{redis_port};";
    my $workers = $opt{workers} || 1;
    # the delivery queue runs only in the tests that are about it
    $mail = "    queue_workers 0;\n$mail" unless $mail =~ /\bqueue_workers\b/;
    return <<CONF;
load_module $env{NGINX_MAIL_MODULE};
load_module $env{NGINX_SERVER_MODULE};
worker_processes $workers;
error_log $dir/error.log info;
pid $dir/nginx.pid;
events { worker_connections 1024; }
mail {
    server_name mx.example.test;
    $redis
$mail
}
CONF
}

sub write_conf {
    my ($self, $mail, %opt) = @_;
    my $f = "$self->{dir}/nginx.conf";
    open my $fh, '>', $f or die "$f: $!";
    print $fh $self->nginx_conf($mail, %opt);
    close $fh;
    return $f;
}

# "nginx -t" on a generated config: (exit code, output)
sub nginx_test_conf {
    my ($self, $mail, %opt) = @_;
    my %env = nginx_env();
    my $conf = $self->write_conf($mail, %opt);
    my $out = `$env{NGINX_BIN} -t -p $self->{dir} -c $conf 2>&1`;
    return ($? >> 8, $out);
}

# Starts nginx in the foreground (daemon off) and waits for every port.
sub start_nginx {
    my ($self, $mail, %opt) = @_;
    my %env = nginx_env();
    my $conf = $self->write_conf($mail, %opt);
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$self->{dir}/nginx.out";
        open STDERR, '>&', \*STDOUT;
        exec $env{NGINX_BIN}, '-p', $self->{dir}, '-c', $conf,
             '-g', 'daemon off;';
        die "exec nginx: $!";
    }
    $self->{pids}{nginx} = $pid;
    for my $port (@{ $opt{ports} || [] }) {
        wait_port($port) or die "nginx did not listen on $port:\n"
                                . _slurp("$self->{dir}/nginx.out")
                                . _slurp("$self->{dir}/error.log");
    }
    return $pid;
}

sub stop_nginx {
    my ($self) = @_;
    my $pid = delete $self->{pids}{nginx} or return;
    kill 'QUIT', $pid;
    waitpid $pid, 0;
}

sub error_log { _slurp("$_[0]{dir}/error.log") }

# A self-signed certificate for TLS tests: (cert, key)
sub tls_cert {
    my ($self) = @_;
    my ($crt, $key) = ("$self->{dir}/cert.pem", "$self->{dir}/key.pem");
    unless (-f $crt) {
        my $rc = system("openssl req -x509 -newkey rsa:2048 -nodes"
                        . " -subj /CN=mx.example.test -days 2"
                        . " -keyout $key -out $crt 2>/dev/null");
        $rc == 0 or die "openssl failed";
    }
    return ($crt, $key);
}

# --- accounts without mailctl (tests of the server side) -------------------

sub add_user {
    my ($self, $addr, $password, %opt) = @_;
    my $salt = $opt{salt} || '$y$j9T$' . join('', map {
        ('a'..'z', 'A'..'Z', 0..9, '.', '/')[rand 64] } 1..21) . '.$';
    my $hash = crypt($password, $salt);
    die "crypt failed for $salt" unless defined $hash && $hash =~ /^\$/;
    my ($domain) = $addr =~ /@(.+)$/;
    $self->redis('SADD', 'domains', $domain);
    $self->redis('SADD', "domain:{$domain}:users", $addr);
    $self->redis('HSET', "user:{$addr}", 'password', $hash,
                 'enabled', defined $opt{enabled} ? $opt{enabled} : 1,
                 'quota_bytes', 0, 'created', time);
    return $hash;
}

# --- raw protocol clients --------------------------------------------------

sub client {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 10)
        or die "connect $port: $!";
    $s->autoflush(1);
    return $s;
}

sub send_line {
    my ($sock, $line) = @_;
    print $sock "$line\r\n";
}

# One SMTP reply, all its lines: "250-a\r\n250 b\r\n"; '' on EOF.
sub reply_of {
    my ($sock) = @_;
    my $reply = '';
    local $SIG{ALRM} = sub { die "timeout reading a reply\n" };
    alarm 10;
    while (defined(my $line = <$sock>)) {
        $reply .= $line;
        last if $line =~ /^\d{3}(?: |\r?\n)/;
    }
    alarm 0;
    return $reply;
}

# --- IMAP ---------------------------------------------------------------------

# One line from an IMAP server, '' on EOF; dies after 10 s.
sub imap_line {
    my ($sock) = @_;
    local $SIG{ALRM} = sub { die "timeout reading an IMAP line\n" };
    alarm 10;
    my $l = <$sock>;
    alarm 0;
    return defined $l ? $l : '';
}

# Sends "tag command" and returns every line up to the tagged one; with
# "tag" given, the line is a continuation (an AUTHENTICATE response) of
# that command.  Literals in the reply are read whole, so "{n}" never ends
# a reply early.
sub imap_cmd {
    my ($sock, $line, $tag) = @_;
    ($tag) = $line =~ /^(\S+)/ unless defined $tag;
    send_line($sock, $line);
    return imap_until($sock, $tag);
}

sub imap_until {
    my ($sock, $tag) = @_;
    my $r = '';
    while (1) {
        my $l = imap_line($sock);
        $r .= $l;
        last if $l eq '';
        if ($l =~ /\{(\d+)\}\r\n\z/) {
            my $n = $1;
            local $SIG{ALRM} = sub { die "timeout reading a literal\n" };
            alarm 10;
            while ($n > 0) {
                my $got = read($sock, my $buf, $n);
                last unless $got;
                $r .= $buf;
                $n -= $got;
            }
            alarm 0;
            next;
        }
        last if $l =~ /^\Q$tag\E /;
    }
    return $r;
}

# Delivers a message to "to" through our smtpd on "port"; dies unless 250.
sub smtp_deliver {
    my ($port, $to, $content, $from) = @_;
    my $s = client($port);
    reply_of($s);
    for ('EHLO test.example', 'MAIL FROM:<' . ($from || 'a@remote.example')
         . '>', "RCPT TO:<$to>", 'DATA')
    {
        send_line($s, $_);
        my $r = reply_of($s);
        die "smtp: $_: $r" unless $r =~ /^[23]/;
    }
    $content =~ s/(?<!\r)\n/\r\n/g;
    $content =~ s/^\./../mg;
    print $s $content, ".\r\n";
    my $r = reply_of($s);
    close $s;
    die "not delivered: $r" unless $r =~ /^250/;
}

# --- teardown ----------------------------------------------------------------

# one SMTP command, its whole reply
sub smtp_cmd {
    my ($s, $line) = @_;
    send_line($s, $line);
    return reply_of($s);
}

# A connection to our smtpd on "port" past the greeting and its EHLO
sub smtp_session {
    my ($port) = @_;
    my $s = client($port);
    reply_of($s);
    smtp_cmd($s, 'EHLO client.example');
    return $s;
}

# Submits a message with AUTH PLAIN (default demo@example.test/Secret-1)
# and returns its queue id; dies if it is not accepted.  "content" is the
# message as sent, CRLF, not yet dot-stuffed; "mail" and "rcpt" are
# parameters added to MAIL and to each RCPT (a recipient given as
# [address, parameters] has its own).
# The server block of a submission port for a mail {} block in a heredoc,
# "@{[ submission_server($port) ]}": AUTH PLAIN allowed without TLS, as
# the tests log in on loopback.
sub submission_server {
    my ($port) = @_;
    return "server {\n"
         . "        listen 127.0.0.1:$port;\n"
         . "        protocol smtpd;\n"
         . "        smtpd_role submission;\n"
         . "        smtpd_auth_plaintext on;\n"
         . "    }";
}

sub smtp_submit {
    my (%o) = @_;
    my $user = $o{user} || 'demo@example.test';
    my $from = exists $o{from} ? $o{from} : $user;
    my $s = smtp_session($o{port});
    my $r = smtp_cmd($s, 'AUTH PLAIN ' . MIME::Base64::encode_base64(
                    "\0$user\0" . ($o{password} || 'Secret-1'), ''));
    die "AUTH: $r" unless $r =~ /^235/;
    $r = smtp_cmd($s, "MAIL FROM:<$from>" . ($o{mail} || ''));
    die "MAIL: $r" unless $r =~ /^250/;
    # a recipient is an address, or [address, its own parameters]
    for (@{ $o{rcpts} }) {
        my ($addr, $params) = ref $_ ? @$_ : ($_, $o{rcpt});
        $r = smtp_cmd($s, "RCPT TO:<$addr>" . ($params || ''));
        die "RCPT $addr: $r" unless $r =~ /^250/;
    }
    smtp_cmd($s, 'DATA');
    (my $wire = $o{content}) =~ s/^\./../mg;
    print $s $wire, ".\r\n";
    $r = reply_of($s);
    die "DATA: $r" unless $r =~ /^250.*queued as (\w+)/;
    my $id = $1;
    smtp_cmd($s, 'QUIT');
    return $id;
}

# Waits up to "secs" (20) for the condition; 0 and a note if it never held
sub wait_for {
    my ($cond, $what, $secs) = @_;
    for (1 .. ($secs || 20) * 10) {
        return 1 if $cond->();
        select undef, undef, undef, 0.1;
    }
    Test::More::diag("timed out waiting for $what");
    return 0;
}

# whether a message is still in the outbound queue, and a recipient's state
sub queued { $_[0]->redis('EXISTS', "queue:{$_[1]}:env") }
sub rcpt_state { $_[0]->redis('HGET', "queue:{$_[1]}:rcpt", $_[2]) // '' }

# The consumers holding entries of the outbound queue: name => count
sub queue_holders {
    my ($self) = @_;
    my @l = split /\n/, $self->redis('XPENDING', 'queue:outbound',
                                     'delivery');
    my %h;
    while (@l) {
        my $x = shift @l;
        $h{$x} = shift @l if $x =~ /:\d+\z/;
    }
    return %h;
}

# A remote MX (SMTPPeer, %opt as its start) whose greeting waits while the
# gate is shut: a delivery is "in the middle" for as long as the test
# needs.  The gate starts shut; gate_open and gate_shut move it.
sub gated_peer {
    my ($self, %opt) = @_;
    require SMTPPeer;
    my $gate = "$self->{dir}/gate";
    return SMTPPeer->start(dir => $self->{dir}, ehlo => ['PIPELINING'], %opt,
        greeting => sub {
            select undef, undef, undef, 0.05 until -e $gate;
            return undef;
        });
}

sub gate_open {
    open my $g, '>', "$_[0]{dir}/gate" or die "gate: $!";
    close $g;
}

sub gate_shut { unlink "$_[0]{dir}/gate" }

sub DESTROY {
    my ($self) = @_;
    $self->stop_dns;
    for my $name (keys %{ $self->{pids} }) {
        my $pid = $self->{pids}{$name};
        kill 'TERM', $pid;
        waitpid $pid, 0;
    }
}

# On failure, show what nginx said: most failures are explained there.
END {
    my $tb = Test::More->builder;
    return if $tb->is_passing;
    for my $t (grep { defined } @instances) {
        my $log = $t->error_log;
        next unless length $log;
        $tb->diag("nginx error log ($t->{dir}/error.log):\n$log");
    }
}

1;
