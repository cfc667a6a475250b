#!/usr/bin/perl
# bench/imap/fill.pl — the same mailboxes for both sides of the IMAP benches.
#
#   fill.pl --users N [--first 1] [--user-fmt user%d@example.test]
#           --msgs M [--min 2048] [--max 20480] [--seed 1] [--seen-pct 70]
#           [--maildir FMT] [--redis FILE --mbids FILE]
#
# Makes M messages per user, the same bytes for the same (seed, user, i):
# From/To/Subject/Date/Message-ID headers (names and subject words that
# imap-load's SEARCH FROM / SUBJECT look for), text/plain, a body of
# words up to a size between --min and --max octets (CRLF form); about
# --seen-pct percent of them \Seen; INTERNALDATE one minute apart.
#
# --maildir FMT: writes each user's messages as Maildir files (LF line
# ends, as Dovecot's own delivery stores them) into
# sprintf(FMT, local part)/cur/, with ",S=<size>,W=<CRLF size>:2,<flags>"
# names as Dovecot's deliver writes and the INTERNALDATE as mtime; new/
# and tmp/ are created.  Dovecot indexes them on the first SELECT.
#
# --redis FILE: writes the Redis commands (RESP, for `redis-cli --pipe`)
# that store the messages as our delivery does (docs/redis-keys.md):
# blob:{ID} (CRLF) and blob:{ID}:refs, msg:{A}:N:U, the mailbox's :uids and
# :modseq ZSETs, its messages/unseen/uidnext/highestmodseq fields and the
# user's used_bytes.  --mbids FILE has a line "address mailbox-id" per
# user: the id of INBOX in mailboxes:{A} (mailctl user add made it).
# UIDs are 1..M, modseq of message U is U + 1.

use strict;
use warnings;
use Getopt::Long;

my %o = (first => 1, 'user-fmt' => 'user%d@example.test', min => 2048,
         max => 20480, seed => 1, 'seen-pct' => 70);
GetOptions(\%o, 'users=i', 'first=i', 'user-fmt=s', 'msgs=i', 'min=i',
           'max=i', 'seed=i', 'seen-pct=i', 'maildir=s', 'redis=s',
           'mbids=s') && $o{users} && defined $o{msgs}
    or die "usage: see the head of $0\n";
die "fill.pl: --redis needs --mbids\n" if $o{redis} && !$o{mbids};

my @names = qw(alice bob carol dave erin frank grace heidi);
my @words = qw(invoice meeting report lunch release budget holiday review
               server backup);
my @filler = qw(the quick brown fox jumps over lazy dog lorem ipsum dolor sit
                amet consectetur adipiscing elit sed do eiusmod tempor
                incididunt ut labore et dolore magna aliqua mail server
                message mailbox folder index cache);
my @mon = qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec);
my @wday = qw(Sun Mon Tue Wed Thu Fri Sat);
my $base_time = 1763000000;

my %mbid;
if ($o{mbids}) {
    open(my $fh, '<', $o{mbids}) or die "fill.pl: $o{mbids}: $!\n";
    while (<$fh>) { my ($a, $id) = split; $mbid{$a} = $id if defined $id; }
}

my $redis;
if ($o{redis}) {
    open($redis, '>', $o{redis}) or die "fill.pl: $o{redis}: $!\n";
    binmode $redis;
}

sub resp {
    my $s = '*' . scalar(@_) . "\r\n";
    $s .= '$' . length($_) . "\r\n$_\r\n" for @_;
    print $redis $s;
}

# a small deterministic generator per message (xorshift)
my $st;
sub rnd { # 0 .. $_[0]-1
    $st ^= ($st << 13) & 0xffffffff; $st ^= $st >> 17;
    $st ^= ($st << 5) & 0xffffffff;
    return $st % $_[0];
}

sub message {
    my ($user, $i, $t) = @_;
    $st = (($o{seed} * 1000003 + length($user) * 7919 + $i * 2654435761) & 0xffffffff) || 1;
    rnd(2) for 1 .. 4;
    my $size = $o{min} + ($o{max} > $o{min} ? rnd($o{max} - $o{min} + 1) : 0);
    my $from = $names[rnd(scalar @names)];
    my $subj = join(' ', $words[rnd(scalar @words)], $words[rnd(scalar @words)],
                    "number $i");
    my @g = gmtime($t);
    my $date = sprintf('%s, %d %s %d %02d:%02d:%02d +0000', $wday[$g[6]],
                       $g[3], $mon[$g[4]], $g[5] + 1900, $g[2], $g[1], $g[0]);
    my @h = ("From: \u$from Example <$from\@remote.example>",
             "To: <$user>",
             "Subject: $subj",
             "Date: $date",
             "Message-ID: <$i.$o{seed}.$user.bench\@remote.example>",
             "MIME-Version: 1.0",
             "Content-Type: text/plain; charset=us-ascii");
    my $m = join("\r\n", @h) . "\r\n\r\n";
    while (length($m) < $size) {
        my $line = '';
        while (length($line) < 66) { $line .= $filler[rnd(scalar @filler)] . ' '; }
        $line =~ s/ $//;
        my $room = $size - length($m) - 2;
        last if $room < 1;
        $line = substr($line, 0, $room) if length($line) > $room;
        $m .= "$line\r\n";
    }
    my $seen = rnd(100) < $o{'seen-pct'};
    return ($m, $seen);
}

for my $n ($o{first} .. $o{first} + $o{users} - 1) {
    my $user = sprintf($o{'user-fmt'}, $n);
    my ($local) = $user =~ /^([^@]+)/;
    my ($dir, $id, $unseen, $bytes) = (undef, undef, 0, 0);
    if ($o{maildir}) {
        $dir = sprintf($o{maildir}, $local);
        system('mkdir', '-p', "$dir/cur", "$dir/new", "$dir/tmp") == 0
            or die "fill.pl: mkdir $dir\n";
    }
    if ($redis) {
        $id = $mbid{$user};
        die "fill.pl: no INBOX id for $user in $o{mbids}\n" unless defined $id;
    }
    my $t = "{$user}";
    for my $i (1 .. $o{msgs}) {
        my $when = $base_time + $i * 60;
        my ($m, $seen) = message($user, $i, $when);
        $unseen++ unless $seen;
        $bytes += length $m;
        if ($dir) {
            (my $lf = $m) =~ s/\r\n/\n/g;
            my $name = sprintf('%d.M%dP%d.bench,S=%d,W=%d:2,%s', $when, $i,
                               $o{seed}, length $lf, length $m, $seen ? 'S' : '');
            open(my $fh, '>', "$dir/cur/$name") or die "fill.pl: $dir/cur/$name: $!\n";
            binmode $fh;
            print $fh $lf;
            close $fh or die "fill.pl: write $name: $!\n";
            utime($when, $when, "$dir/cur/$name");
        }
        if ($redis) {
            my $blob = "bench-$o{seed}-$user-$i";
            resp('SET', "blob:{$blob}", $m);
            resp('SET', "blob:{$blob}:refs", 1);
            resp('HSET', "msg:$t:$id:$i", 'blob', $blob, 'size', length $m,
                 'internaldate', $when, 'flags', $seen ? '\\Seen' : '',
                 'modseq', $i + 1);
            resp('ZADD', "mailbox:$t:$id:uids", $i, $i);
            resp('ZADD', "mailbox:$t:$id:modseq", $i + 1, $i);
        }
    }
    if ($redis) {
        resp('HSET', "mailbox:$t:$id", 'uidnext', $o{msgs} + 1,
             'highestmodseq', $o{msgs} + 1, 'messages', $o{msgs},
             'unseen', $unseen, 'recent_uid', $o{msgs});
        resp('HINCRBY', "user:$t", 'used_bytes', $bytes);
    }
}
close $redis if $redis;
