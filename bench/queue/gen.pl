#!/usr/bin/perl
# bench/queue/gen.pl — the messages of bench/queue-bench.sh, the same for
# both sides.
#
# Message i (1..N) goes from sender@example.test to user<i>@remote.test; its
# content is a small header (From, To, Subject, Date, Message-ID
# <qbench.<i>@example.test>) and a body of 76-character lines, CRLF line
# ends, SIZE bytes in all (no line starts with a dot).
#
#   gen.pl --n N --size S redis
#       writes the Redis commands that queue every message as our SMTP
#       server does (docs/redis-keys.md, "Spool and outbound queue"), in
#       the Redis protocol, for `redis-cli --pipe`: per message
#       SET blob:{ID} (Return-Path, Received, content), SET blob:{ID}:refs 1,
#       HSET queue:{ID}:env (from rcpts params blob size created attempts),
#       ZADD queue:ids, XADD queue:outbound * id ID.
#
#   gen.pl --n N --size S smtp --port P [--parallel 10]
#       sends every message to an SMTP server on 127.0.0.1:P (the Postfix
#       under test), one transaction per message, several connections at
#       once; exits non-zero if any message was not accepted with 250.

use strict;
use warnings;

use Getopt::Long;
use IO::Socket::INET;
use POSIX qw(strftime);

my %o = (size => 10240, parallel => 10);
GetOptions(\%o, 'n=i', 'size=i', 'port=i', 'parallel=i')
    && $o{n} && @ARGV == 1 && $ARGV[0] =~ /^(redis|smtp)$/
    && ($ARGV[0] eq 'redis' || $o{port})
    or die "usage: see the header of $0\n";

my $SENDER = 'sender@example.test';
my $date = strftime('%a, %d %b %Y %H:%M:%S +0000', gmtime);
my $line = ('x' x 76) . "\r\n";

sub content {
    my $i = shift;
    my $m = "From: <$SENDER>\r\nTo: <user$i\@remote.test>\r\n"
          . "Subject: queue bench message $i\r\nDate: $date\r\n"
          . "Message-ID: <qbench.$i\@example.test>\r\n\r\n";
    $m .= $line while length($m) + length($line) <= $o{size};
    my $rest = $o{size} - length $m;
    $m .= ('y' x ($rest - 2)) . "\r\n" if $rest >= 3;
    return $m;
}

if ($ARGV[0] eq 'redis') {
    binmode STDOUT;
    my $now = time;
    my $base = sprintf('%x', $now);
    my $out = '';
    for my $i (1 .. $o{n}) {
        # [0-9A-Za-z], like the ids the SMTP server gives out
        my $id = sprintf('%sB0a7c4e5%05xQ%06x', $base, $$ & 0xfffff, $i);
        my $blob = "Return-Path: <$SENDER>\r\n"
                 . "Received: from bench.example.test by mx.example.test"
                 . " with ESMTP id $id; $date\r\n" . content($i);
        for my $cmd (
            ['SET', "blob:{$id}", $blob],
            ['SET', "blob:{$id}:refs", 1],
            ['HSET', "queue:{$id}:env", from => $SENDER,
             rcpts => "user$i\@remote.test", params => '', blob => $id,
             size => length($blob), created => $now, attempts => 0],
            ['ZADD', 'queue:ids', $now, $id],
            ['XADD', 'queue:outbound', '*', id => $id])
        {
            $out .= '*' . @$cmd . "\r\n";
            $out .= '$' . length($_) . "\r\n$_\r\n" for @$cmd;
        }
        if (length $out > 1 << 20) { print $out; $out = ''; }
    }
    print $out;
    exit 0;
}

# ---- smtp -------------------------------------------------------------------

sub reply {
    my $s = shift;
    my $r = '';
    while (defined(my $l = <$s>)) {
        $r .= $l;
        return $r if $l =~ /^\d{3} /;
    }
    return $r . '(connection closed)';
}

sub send_some {
    my @ids = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $o{port},
                                  Proto => 'tcp')
        or die "connect 127.0.0.1:$o{port}: $!\n";
    my $r = reply($s);
    $r =~ /^220/ or die "greeting: $r";
    print $s "EHLO bench.example.test\r\n";
    $r = reply($s);
    $r =~ /^250/ or die "EHLO: $r";
    my $bad = 0;
    for my $i (@ids) {
        print $s "MAIL FROM:<$SENDER>\r\n";
        $r = reply($s);
        if ($r !~ /^250/) { warn "MAIL ($i): $r"; $bad++; next; }
        print $s "RCPT TO:<user$i\@remote.test>\r\n";
        $r = reply($s);
        if ($r !~ /^250/) { warn "RCPT ($i): $r"; $bad++; print $s "RSET\r\n"; reply($s); next; }
        print $s "DATA\r\n";
        $r = reply($s);
        if ($r !~ /^354/) { warn "DATA ($i): $r"; $bad++; next; }
        print $s content($i), ".\r\n";
        $r = reply($s);
        if ($r !~ /^250/) { warn "end of data ($i): $r"; $bad++; }
    }
    print $s "QUIT\r\n";
    reply($s);
    return $bad;
}

my @kids;
for my $k (0 .. $o{parallel} - 1) {
    my @ids = grep { $_ % $o{parallel} == $k } 1 .. $o{n};
    next unless @ids;
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        my $bad = eval { send_some(@ids) };
        if (!defined $bad) { warn $@; exit 2; }
        exit($bad ? 1 : 0);
    }
    push @kids, $pid;
}
my $fail = 0;
for (@kids) { waitpid $_, 0; $fail = 1 if $?; }
exit $fail;
