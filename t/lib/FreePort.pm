package FreePort;

# Ports for the servers a test starts, safe while other test files run
# at the same time (prove -j).  A port the kernel picks (bind to port 0)
# is in its ephemeral range: once closed it may go to any outgoing
# connection, or to another test that asked the same way, before our
# server binds it.  So ports are drawn from below that range, and each
# one is reserved, until the test ends, by a file created exclusively in
# a directory all tests share; a file whose test is gone is taken over.
#
#   my $port = FreePort::take();            # TCP on 127.0.0.1
#   my $port = FreePort::take(udp => 1);    # TCP and UDP both

use strict;
use warnings;

use IO::Socket::INET;
use Fcntl qw(O_CREAT O_EXCL O_WRONLY);

my $dir = ($ENV{TMPDIR} || '/tmp') . '/mailtest-ports';
my ($low, $high) = (20000, 32000);
my %mine;

sub _reserve {
    my ($port) = @_;
    my $file = "$dir/$port";
    for (1 .. 2) {
        if (sysopen my $fh, $file, O_CREAT | O_EXCL | O_WRONLY) {
            print $fh "$$\n";
            close $fh;
            $mine{$port} = $file;
            return 1;
        }
        # taken: by a test still running, or left by one that is gone
        open my $fh, '<', $file or next;
        my $pid = <$fh>;
        close $fh;
        return 0 if defined $pid && $pid =~ /^(\d+)/ && kill 0, $1;
        unlink $file;
    }
    return 0;
}

sub _bindable {
    my ($port, $udp) = @_;
    my $t = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => $port, Proto => 'tcp',
                                  ReuseAddr => 1)
        or return 0;
    close $t;
    return 1 unless $udp;
    my $u = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                  LocalPort => $port, Proto => 'udp')
        or return 0;
    close $u;
    return 1;
}

# candidates of our own: a test may srand() the global generator
my $state = ($$ * 2654435761 + time) % 4294967296;

sub _next {
    $state = ($state * 1103515245 + 12345) % 2147483648;
    return $low + int($state / 65536) % ($high - $low);
}

sub take {
    my (%opt) = @_;
    mkdir $dir;
    chmod 01777, $dir;
    for (1 .. 1000) {
        my $port = _next();
        next if $mine{$port};
        next unless _reserve($port);
        return $port if _bindable($port, $opt{udp});
        unlink delete $mine{$port};
    }
    die "FreePort: no free port in $low..$high";
}

# the reservations go with the test (its forks leave them alone)
my $owner = $$;
END { if ($$ == $owner) { unlink values %mine } }

1;
