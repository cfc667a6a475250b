#!/usr/bin/perl
# bench/queue/watch.pl — the measuring half of bench/queue-bench.sh.
#
# Runs a command that sets a full queue going (starting nginx with the
# delivery workers, or `postqueue -f`), then, until the sink has TARGET
# messages and the queue is empty (or it gives up):
#   - every 50 ms counts the files smtp-sink dumped into a directory (one
#     per message received) and the messages still queued: ZCARD queue:ids
#     in Redis (ours), or the files in a Postfix queue directory's
#     incoming/, active/ and deferred/ (Postfix);
#   - every 100 ms sums the RSS (and PSS, where smaps_rollup is readable)
#     of a set of processes read from /proc: the given pids, the pid in a
#     pid file, and all their descendants, or every process of a session
#     (--sid; the Postfix master calls setsid());
#     also the CPU time they used during the run (utime+stime, reaped
#     children included), and the CPU time of the sink (--sink-pid).
# The clock starts just before the command and stops at the first poll
# that sees all TARGET messages in the sink and nothing left in the queue.
#
#   watch.pl --target N --sink DIR (--redis PORT | --pfqueue DIR)
#            (--pids P1,P2 [--pidfile F] | --sid S) [--sink-pid P]
#            [--timeout 120] [--stall 20] [--log FILE] -- command args...
#
# Prints one line of key=value pairs (status ok|timeout|stalled|start-failed).

use strict;
use warnings;

use Getopt::Long;
use IO::Socket::INET;
use POSIX qw(sysconf _SC_CLK_TCK);
use FindBin;
use lib "$FindBin::Bin/../lib";
use ProcSample;
use Time::HiRes qw(time sleep);

my %o = (timeout => 120, stall => 20, log => '/dev/null', pids => '');
GetOptions(\%o, 'target=i', 'sink=s', 'redis=i', 'pfqueue=s', 'pids=s',
           'pidfile=s', 'sid=i', 'sink-pid=i', 'timeout=f', 'stall=f',
           'log=s')
    && $o{target} && defined $o{sink} && @ARGV
    && (defined $o{redis} || defined $o{pfqueue})
    && ($o{pids} ne '' || defined $o{pidfile} || defined $o{sid})
    or die "usage: see the header of $0\n";

my $hz = sysconf(_SC_CLK_TCK) || 100;

# ---- counts -------------------------------------------------------------------

sub count_files {               # regular files below a directory
    my ($dir) = @_;
    opendir(my $d, $dir) or return 0;
    my $n = 0;
    for (readdir $d) {
        next if /^\./;
        if (-d "$dir/$_") { $n += count_files("$dir/$_"); } else { $n++; }
    }
    closedir $d;
    return $n;
}

my $redis;

sub redis_int {
    unless ($redis) {
        $redis = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                       PeerPort => $o{redis}, Proto => 'tcp')
            or die "redis: connect to $o{redis}: $!\n";
        $redis->autoflush(1);
    }
    my $req = '*' . @_ . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @_;
    print {$redis} $req or die "redis: write: $!\n";
    my $line = <$redis>;
    defined $line && $line =~ /^:(\d+)/ or die "redis: " . ($line // 'EOF');
    return $1;
}

sub queued {
    return redis_int('ZCARD', 'queue:ids') if defined $o{redis};
    my $n = 0;
    $n += count_files("$o{pfqueue}/$_") for qw(incoming active deferred);
    return $n;
}

# ---- RSS and CPU of a process set ----------------------------------------------

my ($peak_kb, $peak_n, $peak_detail, $samples) = (0, 0, '', 0);
my ($peak_pss, $pss_ok) = (0, 1);

my ($cpu_first, $cpu_last, $sink_first, $sink_last);

sub sample {
    my $t = ProcSample::table();
    my @set;
    if (defined $o{sid}) {
        @set = ProcSample::session($t, $o{sid});
    } else {
        my @roots = split /,/, $o{pids};
        if (defined $o{pidfile} && open(my $fh, '<', $o{pidfile})) {
            my $p = <$fh>;
            push @roots, $1 if defined $p && $p =~ /(\d+)/;
        }
        @set = ProcSample::tree($t, @roots);
    }

    my ($sum, $pss, $cpu, $by) = ProcSample::sum($t, \@set, \$pss_ok);
    $peak_pss = $pss if $pss_ok && $pss > $peak_pss;
    $samples++;
    # a process set that grows (nginx starting) only adds CPU: keep the max
    $cpu_first //= $cpu;
    $cpu_last = $cpu if !defined $cpu_last || $cpu > $cpu_last;
    my $sink = $o{'sink-pid'};
    if (defined $sink && exists $t->{$sink}) {
        $sink_first //= $t->{$sink}{cpu};
        $sink_last = $t->{$sink}{cpu};
    }
    if ($sum > $peak_kb) {
        $peak_kb = $sum;
        $peak_detail = join ',', map { "$_:$by->{$_}" }
                       sort { $by->{$b} <=> $by->{$a} } keys %$by;
    }
    $peak_n = @set if @set > $peak_n;
}

# ---- run ------------------------------------------------------------------------

my $sink_before = count_files($o{sink});
my $queued_before = queued();
sample();
my $t0 = time;
open my $log, '>>', $o{log} or die "$o{log}: $!\n";
my $rc = system("@ARGV >>'$o{log}' 2>&1 </dev/null");
my $start_secs = time - $t0;

my ($status, $t_end, $sunk, $left) = (undef, undef, 0, $queued_before);
my ($t_progress, $next_rss, $tick) = ($t0, $t0, $t0);
$status = 'start-failed' if $rc != 0;
while (!defined $status) {
    my $now = time;
    my $n = count_files($o{sink}) - $sink_before;
    $left = queued();
    if ($n > $sunk) { $sunk = $n; $t_progress = $now; }
    if ($n >= $o{target} && $left == 0) { $status = 'ok'; $t_end = $now; last; }
    if ($now >= $next_rss) { sample(); $next_rss += 0.1; }
    if ($now - $t0 > $o{timeout}) { $status = 'timeout'; last; }
    if ($now - $t_progress > $o{stall}) { $status = 'stalled'; last; }
    $tick += 0.05;
    my $wait = $tick - time;
    sleep $wait if $wait > 0;
}
$t_end //= time;
sample();

printf "status=%s sunk=%d left=%d target=%d secs=%.3f start_secs=%.3f"
     . " rss_kb=%d pss_kb=%s nprocs=%d samples=%d cpu_s=%.2f sink_cpu_s=%s detail=%s\n",
       $status, $sunk, $left, $o{target}, $t_end - $t0, $start_secs,
       $peak_kb, $pss_ok ? int($peak_pss) : 'n/a', $peak_n, $samples,
       ($cpu_last - $cpu_first) / $hz,
       defined $sink_last ? sprintf('%.2f', ($sink_last - $sink_first) / $hz)
                          : 'n/a',
       $peak_detail || '-';
