package ProcSample;

# The /proc sampling the benchmarks share (bench/queue/watch.pl,
# bench/smtp/watch.pl, bench/pop3/rss.pl): one pass over /proc, the
# process set of a benchmarked server (the descendants of some pids, or a
# session), and its RSS, PSS and CPU time.
#
#   my $tab = ProcSample::table();               # pid => { ppid sid rss comm cpu }
#   my @set = ProcSample::tree($tab, @roots);    # roots and descendants
#   my @set = ProcSample::session($tab, $sid);   # every process of a session
#   my ($rss, $pss, $cpu, $by) = ProcSample::sum($tab, \@set, \$pss_ok);
#
# RSS and PSS in kB, CPU in clock ticks (utime + stime, reaped children
# included); $by: RSS per command name.  PSS needs the right to read a
# process' memory map: $pss_ok is cleared, for good, the first time it is
# refused.

use strict;
use warnings;

use POSIX qw(sysconf _SC_PAGESIZE);

my $page_kb = (sysconf(_SC_PAGESIZE) || 4096) / 1024;

sub table {
    my %t;
    opendir(my $d, '/proc') or return \%t;
    for my $pid (grep { /^\d+$/ } readdir $d) {
        open(my $fh, '<', "/proc/$pid/stat") or next;
        my $st = <$fh>;
        close $fh;
        next unless defined $st && $st =~ /^\d+ \((.*)\) (.*)$/s;
        my $comm = $1;
        my @f = split ' ', $2;      # $f[0] is field 3 (state)
        $t{$pid} = { ppid => $f[1], sid => $f[3], rss => $f[21] * $page_kb,
                     comm => $comm,
                     cpu => $f[11] + $f[12] + $f[13] + $f[14] };
    }
    closedir $d;
    return \%t;
}

sub tree {
    my ($t, @roots) = @_;
    my %in = map { $_ => 1 } grep { exists $t->{$_} } @roots;
    my $grew = 1;
    while ($grew) {                 # descendants: workers, forked children
        $grew = 0;
        for my $p (keys %$t) {
            next if $in{$p} || !$in{ $t->{$p}{ppid} };
            $in{$p} = $grew = 1;
        }
    }
    return keys %in;
}

sub session {
    my ($t, $sid) = @_;
    return grep { $t->{$_}{sid} == $sid } keys %$t;
}

# PSS (shared pages divided among their users) from smaps_rollup; undef
# when that file may not be read, 0 for a process that just went away
sub pss_kb {
    my $fh;
    unless (open($fh, '<', "/proc/$_[0]/smaps_rollup")) {
        return $!{EACCES} || $!{EPERM} ? undef : 0;
    }
    while (<$fh>) { return $1 if /^Pss:\s+(\d+) kB/; }
    return 0;
}

sub sum {
    my ($t, $set, $pss_ok) = @_;
    my ($rss, $pss, $cpu, %by) = (0, 0, 0);
    for my $p (@$set) {
        $rss += $t->{$p}{rss};
        $cpu += $t->{$p}{cpu};
        $by{ $t->{$p}{comm} } += $t->{$p}{rss};
        if ($$pss_ok) {
            my $k = pss_kb($p);
            if (defined $k) { $pss += $k; } else { $$pss_ok = 0; }
        }
    }
    return ($rss, $pss, $cpu, \%by);
}

1;
