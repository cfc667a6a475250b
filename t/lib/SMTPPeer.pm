package SMTPPeer;

# A scriptable SMTP server for the outbound queue's tests: the remote MX.
# A forked listener on addr:port forks a child per connection; every reply
# can be replaced by a string or a sub, and every transaction that reaches
# the final dot is written to a file in the peer's directory, where the
# test reads it back with ->transactions.
#
#   my $peer = SMTPPeer->start(addr => '127.0.0.3', port => $port,
#       dir  => $t->dir,
#       ehlo => [qw(PIPELINING SIZE 10000 8BITMIME ENHANCEDSTATUSCODES)],
#       rcpt => sub { my ($addr) = @_;
#                     $addr =~ /^nobody@/ ? '550 5.1.1 no such user' : undef },
#   );
#   ... the queue delivers ...
#   $peer->wait_transactions(1, 10);
#   my ($txn) = $peer->transactions;   # { mail_from, rcpts, data, ... }
#
# See docs/testing.md for every option.

use strict;
use warnings;

use IO::Socket::IP;
use IO::Select;
use POSIX ();
use Storable ();
use File::Path ();
use Time::HiRes qw(sleep time);

my %default = (        # ehlo: built from the "ehlo" keyword list
    greeting => sub { "220 $_[0]{hostname} ESMTP SMTPPeer" },
    helo     => sub { "250 $_[0]{hostname}" },
    mail     => '250 2.1.0 ok',
    rcpt     => '250 2.1.5 ok',
    data     => '354 go ahead',
    data_end => '250 2.0.0 queued',
    rset     => '250 2.0.0 ok',
    noop     => '250 2.0.0 ok',
    vrfy     => '252 2.0.0 cannot verify',
    quit     => '221 2.0.0 bye',
    starttls => '220 2.0.0 ready for TLS',
    unknown  => '500 5.5.2 command not recognized',
);

my $peer_seq = 0;

sub start {
    my ($class, %opt) = @_;
    my $addr = $opt{addr} || '127.0.0.1';
    my $listen = IO::Socket::IP->new(LocalHost => $addr,
                                     LocalPort => $opt{port} || 0,
                                     Listen => 128, ReuseAddr => 1)
        or die "SMTPPeer: listen on $addr:" . ($opt{port} || 0) . ": $@";
    my $port = $listen->sockport;
    my $base = $opt{dir} or die "SMTPPeer: dir required";
    (my $name = "smtppeer-$addr-$port") =~ s/[^\w.-]/_/g;
    $name .= '-' . ++$peer_seq if -e "$base/$name";
    my $dir = "$base/$name";
    File::Path::make_path($dir);

    my $self = bless {
        %opt, addr => $addr, port => $port, dir => $dir, owner => $$,
        hostname => $opt{hostname} || "peer-$addr.test",
    }, $class;

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        eval { $self->_listener($listen) };
        _append("$dir/errors", "listener: $@") if $@;
        POSIX::_exit(0);
    }
    close $listen;
    $self->{pid} = $pid;
    return $self;
}

sub addr { $_[0]{addr} }
sub port { $_[0]{port} }
sub dir  { $_[0]{dir} }

# --- the test's side -----------------------------------------------------------

# Every transaction that reached the final dot, in the order they ended:
# hashes { conn, helo, tls, mail_from, mail_params, rcpts, rcpt_params,
# rejected_rcpts, data, reply, accepted }.
sub all_transactions {
    my ($self) = @_;
    opendir my $dh, $self->{dir} or return ();
    my @f = sort grep { /^txn-/ } readdir $dh;
    return map { Storable::retrieve("$self->{dir}/$_") } @f;
}

# Those the peer answered with 2xx.
sub transactions {
    my ($self) = @_;
    return grep { $_->{accepted} } $self->all_transactions;
}

# How many connections were accepted.
sub connections {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/connections" or return 0;
    my $n = 0;
    $n++ while <$fh>;
    return $n;
}

# Session transcripts ("C: " client line, "C+ " a client line that came in
# the same read as the previous one, i.e. pipelined; "S: " reply lines),
# one string per connection, in connection order.
sub transcripts {
    my ($self) = @_;
    opendir my $dh, $self->{dir} or return ();
    my @f = sort { ($a =~ /(\d+)/)[0] <=> ($b =~ /(\d+)/)[0] }
            grep { /^session-\d+\.log\z/ } readdir $dh;
    return map { _slurp("$self->{dir}/$_") } @f;
}

# Errors of the peer itself (a failed TLS handshake, a bug in a reply sub).
sub errors { _slurp("$_[0]{dir}/errors") }

sub _wait {
    my ($cond, $timeout) = @_;
    my $deadline = time + (defined $timeout ? $timeout : 10);
    while (1) {
        return 1 if $cond->();
        return 0 if time >= $deadline;
        sleep 0.05;
    }
}

sub wait_transactions {
    my ($self, $n, $timeout) = @_;
    return _wait(sub { $self->transactions >= $n }, $timeout);
}

sub wait_connections {
    my ($self, $n, $timeout) = @_;
    return _wait(sub { $self->connections >= $n }, $timeout);
}

# How many sessions are over (the peer closed its side).
sub ended {
    my ($self) = @_;
    my $n = () = _slurp("$self->{dir}/ended") =~ /\n/g;
    return $n;
}

sub wait_ended {
    my ($self, $n, $timeout) = @_;
    return _wait(sub { $self->ended >= $n }, $timeout);
}

# With hold_data: true once $n sessions (1) held back their reply to the
# dot.
sub wait_holding {
    my ($self, $timeout, $n) = @_;
    $n ||= 1;
    return _wait(sub {
        my $c = () = _slurp("$self->{dir}/holding") =~ /\n/g;
        $c >= $n;
    }, $timeout);
}

# With hold_data => a file name: creates the file, the held replies go out.
sub release {
    my ($self) = @_;
    my $f = $self->_hold_file or die "SMTPPeer: hold_data is not a file";
    open my $fh, '>', $f or die "$f: $!";
    close $fh;
}

sub _hold_file {
    my ($self) = @_;
    my $h = $self->{hold_data};
    return undef if !defined $h || $h =~ /^\d+(?:\.\d+)?\z/;
    return $h =~ m{^/} ? $h : "$self->{dir}/$h";
}

sub stop {
    my ($self) = @_;
    return unless $self->{owner} == $$;
    my $pid = delete $self->{pid} or return;
    kill 'TERM', $pid;
    waitpid $pid, 0;
}

sub DESTROY { $_[0]->stop }

# --- the listener (forked) -----------------------------------------------------

sub _listener {
    my ($self, $listen) = @_;
    my %kids;
    $SIG{PIPE} = 'IGNORE';
    $SIG{TERM} = sub {
        kill 'TERM', keys %kids;
        1 while waitpid(-1, 0) > 0;
        POSIX::_exit(0);
    };
    $SIG{CHLD} = sub {
        while ((my $k = waitpid(-1, POSIX::WNOHANG())) > 0) { delete $kids{$k} }
    };
    my $conn = 0;
    while (1) {
        my $c = $listen->accept;
        next unless $c;      # EINTR from SIGCHLD or SIGTERM
        $conn++;
        _append("$self->{dir}/connections",
                sprintf("%d %.3f %s\n", $conn, time, $c->peerhost));
        my $pid = fork;
        if (!defined $pid) { close $c; next; }
        if ($pid == 0) {
            $SIG{TERM} = 'DEFAULT';
            $SIG{CHLD} = 'DEFAULT';
            close $listen;
            eval { $self->_session($c, $conn) };
            _append("$self->{dir}/errors", "session $conn: $@") if $@;
            close $c;
            _append("$self->{dir}/ended", "$conn\n");
            POSIX::_exit(0);
        }
        $kids{$pid} = 1;
        close $c;
    }
}

# --- one SMTP session (forked per connection) ----------------------------------

sub _session {
    my ($self, $sock, $conn) = @_;
    my $log = "$self->{dir}/session-$conn.log";
    my $s = {                              # what reply subs get
        conn => $conn, hostname => $self->{hostname}, tls => 0,
        peer => $sock->peerhost,
    };
    my $in = '';
    my $out = '';
    my $closed = 0;

    my $flush = sub {
        return unless length $out;
        my $drip = $self->{drip};
        if ($drip) {
            my $pause = $drip >= 1 ? 0.2 : $drip;
            for my $ch (split //, $out) {
                _write($sock, $ch) or last;
                sleep $pause;
            }
        } else {
            _write($sock, $out);
        }
        $out = '';
    };
    # the reply to $cmd, its default or the test's override; undef: close
    my $reply = sub {
        my ($cmd, @args) = @_;
        if (defined $self->{close_after} && $cmd ne 'greeting'
            && lc $self->{close_after} eq $cmd)
        {
            return undef;
        }
        if (defined $self->{garbage} && lc $self->{garbage} eq $cmd) {
            return "\x01garbage\xff from $self->{hostname} without a code";
        }
        # "ehlo" is the keyword list and "starttls" the certificate:
        # "ehlo_reply" and "starttls_reply" replace those replies
        my $r = $self->{$cmd =~ /^(?:ehlo|starttls)\z/ ? "${cmd}_reply" : $cmd};
        $r = $r->(@args, $s) if ref $r eq 'CODE';
        if (!defined $r) {
            $r = $cmd eq 'ehlo' ? $self->_ehlo_reply($s) : $default{$cmd};
            $r = $r->($s) if ref $r eq 'CODE';
        }
        return undef if $r eq 'CLOSE';
        return $r;
    };
    my $send = sub {
        my ($r) = @_;
        $r =~ s/\r?\n\z//;
        $r =~ s/\r?\n/\r\n/g;
        $out .= "$r\r\n";
        _append($log, join('', map { "S: $_\n" } split /\r\n/, $r));
        # a 421 ends the session
        $closed = 1 if $r =~ /(?:\A|\n)421 [^\n]*\z/;
    };

    if (defined $self->{close_after} && lc $self->{close_after} eq 'connect') {
        return;
    }
    my $g = $reply->('greeting');
    return unless defined $g;
    $send->($g);
    if (defined $self->{close_after} && lc $self->{close_after} eq 'greeting')
    {
        $flush->();
        return;
    }

    my $txn;            # the transaction in progress
    my $in_data = 0;
    my $scan = 0;       # where to look for the end of the data
    my $lines_this_read = 0;
    my $reset = sub {
        $txn = undef;
        delete @$s{qw(mail_from mail_params rcpts rcpt_params
                      rejected_rcpts)};
    };

    while (!$closed) {
        if ($in_data) {
            # the message ends at CRLF.CRLF (or at ".CRLF" as the first
            # line); the search goes on where the last one stopped
            my ($end, $to);
            if ($in =~ /\A\.\r?\n/) {
                ($end, $to) = (0, $+[0]);
            } else {
                pos($in) = $scan;
                if ($in =~ /\n\.\r?\n/g) {
                    # the line break before the dot ends the last line
                    ($end, $to) = ($-[0] + 1, $+[0]);
                } else {
                    $scan = length($in) > 3 ? length($in) - 3 : 0;
                }
            }
            if (defined $end) {
                my $data = substr($in, 0, $end);
                substr($in, 0, $to) = '';
                $data =~ s/^\.//mg;
                $in_data = 0;
                _append($log, "C: <" . length($data) . " octets of data>\n"
                              . "C: .\n");
                $self->_data_end($s, $txn, $data, $reply, $send, $flush, $log)
                    or return;
                $reset->();
                next;
            }
        } elsif ($in =~ s/\A([^\n]*)\n//) {
            my $line = $1;
            $line =~ s/\r\z//;
            _append($log, ($lines_this_read++ ? 'C+ ' : 'C: ') . "$line\n");
            my ($verb, $arg) = $line =~ /^(\S*)\s*(.*)\z/;
            $verb = lc $verb;
            my $r;
            if ($verb eq 'ehlo') {
                $reset->();
                $s->{helo} = $arg;
                $r = $reply->('ehlo', $arg);
            } elsif ($verb eq 'helo') {
                $reset->();
                $s->{helo} = $arg;
                $r = $reply->('helo', $arg);
            } elsif ($verb eq 'mail' && $arg =~ /^from:\s*<([^>]*)>\s*(.*)\z/i) {
                my ($addr, $params) = ($1, $2);
                $r = $reply->('mail', $addr, $params);
                if (defined $r && $r =~ /^2/) {
                    $txn = { mail_from => $addr, mail_params => $params,
                             rcpts => [], rcpt_params => {},
                             rejected_rcpts => [] };
                    @$s{qw(mail_from mail_params)} = ($addr, $params);
                    $s->{rcpts} = $txn->{rcpts};
                    $s->{rcpt_params} = $txn->{rcpt_params};
                    $s->{rejected_rcpts} = $txn->{rejected_rcpts};
                }
            } elsif ($verb eq 'rcpt' && $arg =~ /^to:\s*<([^>]*)>\s*(.*)\z/i) {
                my ($addr, $params) = ($1, $2);
                if (!$txn) {
                    $r = '503 5.5.1 MAIL first';
                } else {
                    $r = $reply->('rcpt', $addr, $params);
                    if (defined $r && $r =~ /^2/) {
                        push @{ $txn->{rcpts} }, $addr;
                        $txn->{rcpt_params}{$addr} = $params;
                    } elsif (defined $r) {
                        push @{ $txn->{rejected_rcpts} }, $addr;
                    }
                }
            } elsif ($verb eq 'data' && $arg eq '') {
                if (!$txn || !@{ $txn->{rcpts} }) {
                    $r = $txn ? '554 5.5.1 no valid recipients'
                              : '503 5.5.1 MAIL first';
                } else {
                    $r = $reply->('data');
                    ($in_data, $scan) = (1, 0) if defined $r && $r =~ /^354/;
                }
            } elsif ($verb eq 'mail' || $verb eq 'rcpt') {
                $r = '501 5.5.4 syntax: MAIL FROM:<addr>, RCPT TO:<addr>';
            } elsif ($verb eq 'rset') {
                $reset->();
                $r = $reply->('rset');
            } elsif ($verb eq 'noop') {
                $r = $reply->('noop');
            } elsif ($verb eq 'vrfy') {
                $r = $reply->('vrfy', $arg);
            } elsif ($verb eq 'quit') {
                $r = $reply->('quit');
                if (defined $r) {
                    $send->($r);
                    $flush->();
                    return;
                }
            } elsif ($verb eq 'starttls' && $self->{starttls} && !$s->{tls}) {
                $r = $reply->('starttls');
                if (defined $r && $r =~ /^220/) {
                    $send->($r);
                    $flush->();
                    $in = '';       # nothing sent before the handshake counts
                    $sock = $self->_start_tls($sock) or return;
                    $s->{tls} = 1;
                    $reset->();
                    delete $s->{helo};
                    next;
                }
            } else {
                $r = $reply->('unknown', $line);
            }
            return $flush->() unless defined $r;     # close without a reply
            $send->($r);
            next;
        }
        # nothing complete in the buffer: replies out, then read
        $flush->();
        last if $closed;
        my $buf = _read($sock, $self->{idle_timeout} || 120);
        return unless defined $buf && length $buf;
        $in .= $buf;
        $lines_this_read = 0;
    }
    $flush->();
}

sub _data_end {
    my ($self, $s, $txn, $data, $reply, $send, $flush, $log) = @_;
    if (defined(my $h = $self->{hold_data})) {
        $flush->();
        _append("$self->{dir}/holding", "$s->{conn}\n");
        my $file = $self->_hold_file;
        if (defined $file) {
            my $deadline = time + 600;
            sleep 0.05 while !-e $file && time < $deadline;
        } else {
            sleep $h;
        }
    }
    my $r = $reply->('data_end', $data);
    my %rec = (%$txn, conn => $s->{conn}, helo => $s->{helo},
               tls => $s->{tls}, data => $data, reply => $r,
               accepted => (defined $r && $r =~ /^2/) ? 1 : 0);
    my $f = sprintf("%s/txn-%017.6f-%06d-%06d", $self->{dir}, time, $$,
                    $s->{conn});
    Storable::nstore(\%rec, "$f.tmp");
    rename "$f.tmp", $f;
    return 0 unless defined $r;
    $send->($r);
    return 1;
}

sub _ehlo_reply {
    my ($self, $s) = @_;
    my @kw;
    for my $k (@{ $self->{ehlo} || [qw(PIPELINING 8BITMIME
                                       ENHANCEDSTATUSCODES)] }) {
        # qw(SIZE 10000) gives "SIZE", "10000": one keyword with its value
        if ($k =~ /^\d+\z/ && @kw) { $kw[-1] .= " $k"; next; }
        push @kw, $k;
    }
    push @kw, 'STARTTLS' if $self->{starttls} && !$s->{tls};
    my @l = ($self->{hostname}, @kw);
    return join("\r\n", map { ($_ == $#l ? '250 ' : '250-') . $l[$_] }
                        0 .. $#l);
}

sub _start_tls {
    my ($self, $sock) = @_;
    require IO::Socket::SSL;
    my $t = $self->{starttls};
    my ($cert, $key) = ref $t eq 'HASH' ? @$t{qw(cert key)} : @$t;
    my $ok = IO::Socket::SSL->start_SSL($sock, SSL_server => 1,
                                        SSL_cert_file => $cert,
                                        SSL_key_file => $key,
                                        Timeout => 10);
    unless ($ok) {
        _append("$self->{dir}/errors",
                "TLS handshake: " . IO::Socket::SSL::errstr() . "\n");
        return undef;
    }
    return $sock;
}

# --- io ----------------------------------------------------------------------

# What is there to read, waiting up to $timeout; undef or '' at EOF.
sub _read {
    my ($sock, $timeout) = @_;
    my $pending = $sock->can('pending') ? $sock->pending : 0;
    unless ($pending) {
        return undef unless IO::Select->new($sock)->can_read($timeout);
    }
    my $n = sysread($sock, my $buf, 65536);
    return $n ? $buf : undef;
}

sub _write {
    my ($sock, $data) = @_;
    while (length $data) {
        my $n = syswrite($sock, $data);
        return 0 unless $n;
        substr($data, 0, $n) = '';
    }
    return 1;
}

sub _append {
    my ($f, $s) = @_;
    open my $fh, '>>', $f or return;
    print $fh $s;
    close $fh;
}

sub _slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    my $s = <$fh>;
    return defined $s ? $s : '';
}

1;
