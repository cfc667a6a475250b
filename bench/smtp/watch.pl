#!/usr/bin/perl
# bench/smtp/watch.pl — the measuring half of bench/smtp-bench.sh.
#
# Starts a load generator (smtp-source), then, until TARGET messages are in
# the mailbox (or it gives up):
#   - every 50 ms counts the messages in the mailbox: the INBOX "messages"
#     field in Redis (ours) or the files in a Maildir's new/ (Postfix);
#   - every 100 ms sums the RSS of a set of processes read from /proc: the
#     given pids and all their descendants (--pids) or every process of a
#     session (--sid; the Postfix master calls setsid()); also the sum of
#     their PSS, where /proc/PID/smaps_rollup is readable, and the CPU time
#     they used during the run (utime+stime, reaped children included).
# The clock starts just before smtp-source is started and stops at the first
# poll that sees all TARGET messages, so queueing and delivery are included.
#
#   watch.pl --target N --redis PORT --user ADDR | --maildir DIR
#            --pids P1,P2 | --sid S  [--timeout 80] [--stall 20]
#            [--log FILE] -- command args...
#
# Prints one line of key=value pairs (status ok|timeout|stalled|client-failed).

use strict;
use warnings;

use Getopt::Long;
use IO::Socket::INET;
use POSIX qw(:sys_wait_h sysconf _SC_CLK_TCK);
use FindBin;
use lib "$FindBin::Bin/../lib";
use ProcSample;
use Time::HiRes qw(time sleep);

my %o = (timeout => 80, stall => 20, log => '/dev/null');
GetOptions(\%o, 'target=i', 'redis=i', 'user=s', 'maildir=s', 'pids=s',
           'sid=i', 'timeout=f', 'stall=f', 'log=s')
    && $o{target} && @ARGV
    && (defined $o{redis} ? defined $o{user} : defined $o{maildir})
    && (defined $o{pids} || defined $o{sid})
    or die "usage: see the header of $0\n";

my $hz = sysconf(_SC_CLK_TCK) || 100;

# ---- mailbox count ----------------------------------------------------------

my ($redis, $inbox);

sub redis_cmd {
    my $req = '*' . @_ . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @_;
    print {$redis} $req or die "redis: write: $!\n";
    my $line = <$redis>;
    defined $line or die "redis: connection closed\n";
    if ($line =~ /^\$(-?\d+)/) {
        return undef if $1 < 0;
        my ($len, $buf, $got) = ($1 + 2, '', 0);
        while ($got < $len) {
            my $n = read($redis, $buf, $len - $got, $got);
            die "redis: short read\n" unless $n;
            $got += $n;
        }
        return substr($buf, 0, $1);
    }
    return $1 if $line =~ /^[:+](.*?)\r?$/;
    die "redis: $line";
}

sub count_redis {
    unless ($redis) {
        $redis = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                       PeerPort => $o{redis}, Proto => 'tcp')
            or die "redis: connect to $o{redis}: $!\n";
        $redis->autoflush(1);
    }
    $inbox //= redis_cmd('HGET', "mailboxes:{$o{user}}", 'INBOX');
    return 0 unless defined $inbox;
    return redis_cmd('HGET', "mailbox:{$o{user}}:$inbox", 'messages') // 0;
}

sub count_maildir {
    opendir(my $d, $o{maildir}) or return 0;
    my $n = grep { !/^\./ } readdir $d;
    closedir $d;
    return $n;
}

my $count = defined $o{redis} ? \&count_redis : \&count_maildir;

# ---- RSS of a process set -----------------------------------------------------

my @roots = defined $o{pids} ? split(/,/, $o{pids}) : ();
my ($peak_kb, $peak_n, $peak_detail, $samples) = (0, 0, '', 0);
my ($peak_pss, $pss_ok) = (0, 1);
my ($cpu_first, $cpu_last);        # ticks, children reaped included

sub sample_rss {
    my $t = ProcSample::table();
    my @set = defined $o{sid} ? ProcSample::session($t, $o{sid})
                              : ProcSample::tree($t, @roots);

    my ($sum, $pss, $cpu, $by) = ProcSample::sum($t, \@set, \$pss_ok);
    $samples++;
    $cpu_first //= $cpu;
    $cpu_last = $cpu;
    $peak_pss = $pss if $pss_ok && $pss > $peak_pss;
    if ($sum > $peak_kb) {
        $peak_kb = $sum;
        $peak_detail = join ',', map { "$_:$by->{$_}" }
                       sort { $by->{$b} <=> $by->{$a} } keys %$by;
    }
    $peak_n = @set if @set > $peak_n;
}

# ---- run ------------------------------------------------------------------------

my $before = $count->();
sample_rss();
my $t0 = time;
my $child = fork // die "fork: $!\n";
if ($child == 0) {
    open STDIN, '<', '/dev/null';
    open STDOUT, '>>', $o{log} or die "$o{log}: $!\n";
    open STDERR, '>&', \*STDOUT;
    exec @ARGV or die "exec $ARGV[0]: $!\n";
}
for my $sig (qw(INT TERM HUP)) {
    $SIG{$sig} = sub { kill 'TERM', $child if $child; exit 130 };
}

my ($status, $src_secs, $src_rc, $t_end);
my ($last, $t_progress, $next_rss, $tick) = (0, $t0, $t0, $t0);
while (1) {
    my $now = time;
    my $n = $count->() - $before;
    if ($n > $last) { $last = $n; $t_progress = $now; }
    if ($n >= $o{target}) { $status = 'ok'; $t_end = $now; last; }
    if (!defined $src_rc && waitpid($child, WNOHANG) == $child) {
        $src_rc = $? & 127 ? 'signal' . ($? & 127) : $? >> 8;
        $src_secs = $now - $t0;
        $child = 0;
    }
    if ($now >= $next_rss) { sample_rss(); $next_rss += 0.1; }
    if ($now - $t0 > $o{timeout}) { $status = 'timeout'; $t_end = $now; last; }
    if (defined $src_rc && $src_rc ne '0' && $now - $t_progress > 5) {
        $status = 'client-failed'; $t_end = $now; last;
    }
    if ($now - $t_progress > $o{stall}) { $status = 'stalled'; $t_end = $now; last; }
    $tick += 0.05;
    my $wait = $tick - time;
    sleep $wait if $wait > 0;
}
sample_rss();

if ($child) {                       # normally already gone: give it 5 s
    my $deadline = time + 5;
    while (waitpid($child, WNOHANG) == 0 && time < $deadline) { sleep 0.05; }
    if (kill 0, $child) {
        kill 'TERM', $child;
        waitpid $child, 0;
        $src_rc = 'killed';
    } else {
        $src_rc = $? & 127 ? 'signal' . ($? & 127) : $? >> 8;
    }
    $src_secs = time - $t0;
}

printf "status=%s delivered=%d target=%d secs=%.3f src_secs=%.3f src_rc=%s"
     . " rss_kb=%d pss_kb=%s nprocs=%d samples=%d cpu_s=%.2f detail=%s\n",
       $status, $last, $o{target}, $t_end - $t0, $src_secs // 0, $src_rc // '',
       $peak_kb, $pss_ok ? int($peak_pss) : 'n/a', $peak_n, $samples,
       ($cpu_last - $cpu_first) / $hz,
       $peak_detail || '-';
