#!/usr/bin/perl
# bench/imap/redis-scripts.pl — which Lua scripts used Redis' time.
#
#   redis-scripts.pl PORT start   # SLOWLOG RESET, log every command
#   redis-scripts.pl PORT report  # sum SLOWLOG by script, print, restore
#
# With slowlog-log-slower-than 0 Redis logs every command with its
# microseconds and its first arguments (each cut to 128 bytes); the report
# groups EVAL/EVALSHA by the start of the script text (or its SHA), other commands by name, and prints the top ten
# by total time.  The log holds the last slowlog-max-len (set to 1000000)
# commands.

use strict;
use warnings;
use IO::Socket::INET;

my ($port, $what) = @ARGV;
die "usage: $0 PORT start|report\n" unless $port && $what;
my $r = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
    or die "redis-scripts.pl: connect: $!\n";

sub cmd {
    my $s = '*' . scalar(@_) . "\r\n";
    $s .= '$' . length($_) . "\r\n$_\r\n" for @_;
    print $r $s;
    return reply();
}

sub reply {
    my $l = <$r>;
    die "redis-scripts.pl: connection closed\n" unless defined $l;
    $l =~ s/\r\n$//;
    my ($t, $v) = (substr($l, 0, 1), substr($l, 1));
    return $v if $t eq '+' || $t eq ':';
    die "redis-scripts.pl: $v\n" if $t eq '-';
    if ($t eq '$') {
        return undef if $v < 0;
        my $buf = '';
        while (length($buf) < $v + 2) { read($r, $buf, $v + 2 - length($buf), length $buf) or last; }
        return substr($buf, 0, $v);
    }
    if ($t eq '*') {
        return [] if $v <= 0;
        return [map { reply() } 1 .. $v];
    }
    die "redis-scripts.pl: bad reply $l\n";
}

if ($what eq 'start') {
    cmd('CONFIG', 'SET', 'slowlog-max-len', '1000000');
    cmd('CONFIG', 'SET', 'slowlog-log-slower-than', '0');
    cmd('SLOWLOG', 'RESET');
    exit 0;
}

cmd('CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
my $log = cmd('SLOWLOG', 'GET', '-1');
my (%us, %n, $total);
for my $e (@$log) {
    my ($usec, $args) = ($e->[2], $e->[3]);
    my $name = uc($args->[0] // '?');
    my $key = $name;
    if ($name eq 'EVAL' && defined $args->[1]) {
        # (Redis keeps the first 128 bytes of an argument)
        (my $text = $args->[1]) =~ s/\s+/ /g;
        $key = 'EVAL ' . $text;
    } elsif ($name eq 'EVALSHA') {
        $key = 'EVALSHA ' . substr($args->[1] // '', 0, 12);
    }
    next if $name eq 'SLOWLOG' || $name eq 'CONFIG';
    $us{$key} += $usec;
    $n{$key}++;
    $total += $usec;
}
printf "    %8s %10s %8s  %s\n", 'calls', 'ms', 'us/call', 'command, or the start of the Lua script';
for my $k ((sort { $us{$b} <=> $us{$a} } keys %us)[0 .. 9]) {
    next unless defined $k;
    printf "    %8d %10.0f %8.0f  %s\n", $n{$k}, $us{$k} / 1000, $us{$k} / $n{$k},
        substr($k, 0, 110);
}
printf "    (%d commands logged, %.0f ms in all)\n", scalar(@$log), ($total // 0) / 1000;
