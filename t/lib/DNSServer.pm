package DNSServer;

# A DNS server on loopback for the tests: dnsmasq (package dnsmasq-base)
# answering from a generated config only.  It reads neither
# /etc/dnsmasq.conf, /etc/hosts nor /etc/resolv.conf and forwards nothing
# upstream: names under the zone's domains that are not configured get
# NXDOMAIN (dnsmasq's "local=/test/"), names elsewhere REFUSED.
#
#   my $dns = DNSServer->start(dir => $dir, zone => {
#       mx       => { 'example.test' => [[10, 'mx1.example.test'],
#                                        [20, 'mx2.example.test']],
#                     'nullmx.test'  => [[0, '.']] },          # RFC 7505
#       a        => { 'mx1.example.test' => ['127.0.0.2', '::1'] },
#       txt      => { 'example.test' => ['v=spf1 -all'] },
#       cname    => { 'alias.example.test' => 'mx1.example.test' },
#       ptr      => { '127.0.0.9' => 'host.example.test' },
#       servfail => ['servfail.test'],   # SERVFAIL for it and below
#       timeout  => ['timeout.test'],    # no answer at all
#       local    => ['test'],            # extra NXDOMAIN domains
#   });
#   $dns->port; $dns->query_log; $dns->restart(\%zone); $dns->stop;
#
# SERVFAIL: dnsmasq has no SERVFAIL record of its own, so those domains are
# forwarded ("server=/servfail.test/127.0.0.1#P") to a tiny UDP responder
# forked here that answers every query with RCODE 2; dnsmasq passes that on.
# "timeout" domains are forwarded to a UDP port nobody listens on: dnsmasq
# gets no reply and the client's own timeout runs out.

use strict;
use warnings;

use IO::Socket::INET;
use FreePort;
use IO::Select;
use POSIX ();
use File::Path ();
use Time::HiRes qw(sleep time);

# A port free for both UDP and TCP on 127.0.0.1, reserved (FreePort.pm).
sub free_udp_tcp_port { FreePort::take(udp => 1) }

sub start {
    my ($class, %opt) = @_;
    my $self = bless {
        dir   => $opt{dir} || die("DNSServer: dir required"),
        port  => $opt{port} || free_udp_tcp_port(),
        owner => $$,
        pids  => {},
    }, $class;
    File::Path::make_path($self->{dir});
    $self->_run($opt{zone} || {});
    return $self;
}

sub port { $_[0]{port} }
sub conf_file { "$_[0]{dir}/dnsmasq.conf" }

# dnsmasq's query log (--log-queries): one "query[MX] name from ..." line
# per question it was asked.
sub query_log {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/dnsmasq.log" or return '';
    local $/;
    my $s = <$fh>;
    return defined $s ? $s : '';
}

# The config lines for a zone (exposed for the self-test and for debugging).
sub config {
    my ($self, $z) = @_;
    my (@l, %tld);
    my $name = sub {
        my $n = lc shift;
        $n =~ s/\.\z//;
        die "DNSServer: bad name '$n'" if $n =~ /[,\s"#\/]/ || $n eq '';
        $tld{$1} = 1 if $n =~ /([^.]+)\z/;
        return $n;
    };
    for my $d (sort keys %{ $z->{mx} || {} }) {
        for my $mx (@{ $z->{mx}{$d} }) {
            my ($pref, $target) = @$mx;
            my $t = $target eq '.' ? '.' : $name->($target);
            push @l, "mx-host=" . $name->($d) . ",$t,$pref";
        }
    }
    for my $h (sort keys %{ $z->{a} || {} }) {
        my $addrs = $z->{a}{$h};
        $addrs = [$addrs] unless ref $addrs;
        push @l, "host-record=" . join(',', $name->($h), @$addrs);
    }
    for my $h (sort keys %{ $z->{txt} || {} }) {
        for my $rr (@{ $z->{txt}{$h} }) {
            my @s = ref $rr ? @$rr : ($rr);
            for (@s) {
                die "DNSServer: TXT string with '\"' or '\\'" if /["\\]/;
            }
            push @l, "txt-record=" . join(',', $name->($h),
                                          map { qq("$_") } @s);
        }
    }
    for my $c (sort keys %{ $z->{cname} || {} }) {
        push @l, "cname=" . $name->($c) . "," . $name->($z->{cname}{$c});
    }
    for my $ip (sort keys %{ $z->{ptr} || {} }) {
        die "DNSServer: ptr wants an IPv4 address" unless
            $ip =~ /^(\d+)\.(\d+)\.(\d+)\.(\d+)\z/;
        push @l, "ptr-record=$4.$3.$2.$1.in-addr.arpa,"
                 . $name->($z->{ptr}{$ip});
    }
    for my $d (@{ $z->{servfail} || [] }) {
        push @l, "server=/" . $name->($d) . "/127.0.0.1#$self->{servfail_port}";
    }
    for my $d (@{ $z->{timeout} || [] }) {
        push @l, "server=/" . $name->($d) . "/127.0.0.1#$self->{dead_port}";
    }
    delete $tld{arpa};
    $tld{test} = 1;
    $tld{lc $_} = 1 for @{ $z->{local} || [] };
    unshift @l, map { "local=/$_/" } sort keys %tld;
    return join("\n", @l) . "\n";
}

sub _run {
    my ($self, $z) = @_;
    my $dir = $self->{dir};
    if (@{ $z->{servfail} || [] }) {
        $self->{servfail_port} ||= free_udp_tcp_port();
        $self->_start_servfail unless $self->{pids}{servfail};
    }
    if (@{ $z->{timeout} || [] }) {
        # bound and never read: the kernel queues the queries, nothing
        # answers, and no ICMP error makes dnsmasq give up early
        $self->{dead_sock} ||= IO::Socket::INET->new(
            LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'udp')
            or die "udp socket: $!";
        $self->{dead_port} = $self->{dead_sock}->sockport;
    }
    my $conf = $self->conf_file;
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh $self->config($z);
    close $fh;
    unlink "$dir/dnsmasq.log";

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$dir/dnsmasq.out";
        open STDERR, '>&', \*STDOUT;
        no warnings 'exec';
        exec 'dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts',
             '--no-poll', "--port=$self->{port}",
             '--listen-address=127.0.0.1', '--bind-interfaces',
             "--conf-file=$conf", '--pid-file=', '--cache-size=0',
             "--log-facility=$dir/dnsmasq.log", '--log-queries',
             '--user=' . (getpwuid($<))[0];
        print STDERR "exec dnsmasq: $!\n";
        POSIX::_exit(127);
    }
    $self->{pids}{dnsmasq} = $pid;
    $self->_wait_ready or die "dnsmasq did not answer on $self->{port}:\n"
        . do { local $/; open my $o, '<', "$dir/dnsmasq.out"; <$o> // '' };
}

# Forked responder: every query comes back as its own header with QR set
# and RCODE SERVFAIL.
sub _start_servfail {
    my ($self) = @_;
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                  LocalPort => $self->{servfail_port},
                                  Proto => 'udp')
        or die "servfail responder: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{TERM} = sub { POSIX::_exit(0) };
        while (1) {
            my $peer = $s->recv(my $q, 4096);
            next unless defined $peer && length $q >= 12;
            my $r = $q;
            substr($r, 2, 1) = chr(ord(substr($q, 2, 1)) | 0x80);
            substr($r, 3, 1) = chr((ord(substr($q, 3, 1)) & 0xf0) | 2);
            $s->send($r, 0, $peer);
        }
    }
    close $s;
    $self->{pids}{servfail} = $pid;
}

# Ready when it answers a question, any answer, and the question is in
# its own query log (not another server's answer on a shared port).
sub _wait_ready {
    my ($self) = @_;
    my $q = pack('n n n n n n', 0x4d54, 0x0100, 1, 0, 0, 0)
          . "\x05ready\x04test\x00" . pack('n n', 1, 1);
    my $deadline = time + 10;
    while (time < $deadline) {
        return 0 if waitpid($self->{pids}{dnsmasq}, POSIX::WNOHANG()) > 0;
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $self->{port},
                                      Proto => 'udp') or die "udp: $!";
        $s->send($q);
        if (IO::Select->new($s)->can_read(0.1)) {
            my $r;
            return 1 if defined $s->recv($r, 512) && length $r >= 12
                        && $self->query_log =~ /ready\.test/;
        }
        sleep 0.05;
    }
    return 0;
}

# New records on the same port: dnsmasq reads its config only at start.
sub restart {
    my ($self, $zone) = @_;
    $self->_stop_pid('dnsmasq');
    $self->_run($zone || {});
    return $self->{port};
}

sub _stop_pid {
    my ($self, $name) = @_;
    my $pid = delete $self->{pids}{$name} or return;
    kill 'TERM', $pid;
    waitpid $pid, 0;
}

sub pids { values %{ $_[0]{pids} } }

sub stop {
    my ($self) = @_;
    return unless $self->{owner} == $$;
    $self->_stop_pid($_) for keys %{ $self->{pids} };
}

sub DESTROY { $_[0]->stop }

1;
