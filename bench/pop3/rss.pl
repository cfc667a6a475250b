#!/usr/bin/perl
# bench/pop3/rss.pl — the memory and CPU sampler of bench/pop3-bench.sh.
#
#   rss.pl --pids P1,P2 [--interval 0.1]
#
# Every INTERVAL seconds (default 100 ms) sums, from /proc, the RSS of the
# given processes and all their descendants (nginx workers, redis' forks;
# every process a Dovecot master forks: login, auth, pop3, log, ...), and
# their PSS where /proc/PID/smaps_rollup is readable.  Runs until SIGTERM
# or SIGINT, then samples once more and prints one line of key=value pairs:
# peak RSS and PSS in kB, the most processes seen at once, samples taken,
# the CPU seconds the set used between the first and the last sample
# (utime+stime, children they reaped included, so the pop3 and login
# processes that come and go count through the Dovecot master) and the
# RSS per command name at the peak.  (As bench/smtp/watch.pl samples.)

use strict;
use warnings;

use Getopt::Long;
use POSIX qw(sysconf _SC_CLK_TCK);
use FindBin;
use lib "$FindBin::Bin/../lib";
use ProcSample;
use Time::HiRes qw(time sleep);

my %o = (interval => 0.1);
GetOptions(\%o, 'pids=s', 'interval=f') && defined $o{pids}
    or die "usage: see the header of $0\n";

my $hz = sysconf(_SC_CLK_TCK) || 100;
my @roots = split /,/, $o{pids};

my ($peak_kb, $peak_n, $peak_detail, $samples) = (0, 0, '', 0);
my ($peak_pss, $pss_ok) = (0, 1);
my ($cpu_first, $cpu_last);

sub sample {
    my $t = ProcSample::table();
    my @set = ProcSample::tree($t, @roots);

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

my $stop = 0;
$SIG{$_} = sub { $stop = 1 } for qw(TERM INT HUP);

sample();
my $next = time + $o{interval};
until ($stop) {
    my $wait = $next - time;
    sleep $wait if $wait > 0;
    last if $stop;
    sample();
    $next += $o{interval};
    $next = time + $o{interval} if $next < time;    # fell behind: no burst
}
sample();

(my $detail = $peak_detail || '-') =~ s/\s/_/g;
printf "rss_kb=%d pss_kb=%s nprocs=%d samples=%d cpu_s=%.2f detail=%s\n",
       $peak_kb, $pss_ok ? int($peak_pss) : 'n/a', $peak_n, $samples,
       ($cpu_last - $cpu_first) / $hz, $detail;
