#!/usr/bin/perl
# Helper of bench/mime-vs-dovecot.sh: APPENDs messages to a Dovecot over
# IMAP, FETCHes ENVELOPE, BODYSTRUCTURE and BODY and compares each with
# what mime-imap prints for the same bytes.
#
#   mime-imap-compare.pl PORT USER PASS MIME-IMAP OUTDIR FILE...
#
# Each FILE is sent as it is (the caller already made it CRLF).

use strict;
use warnings;
use IO::Socket::INET;

my ($port, $user, $pass, $mime_imap, $outdir, @files) = @ARGV;
die "usage: $0 PORT USER PASS MIME-IMAP OUTDIR FILE...\n" unless @files;

my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                              Proto => 'tcp') or die "connect: $!\n";
binmode $s;
my $tag = 0;

sub get_line {
    my $l = <$s>;
    die "connection closed\n" unless defined $l;
    return $l;
}

# one response, with the literals it carries
sub get_response {
    my $r = get_line();
    while ($r =~ /\{(\d+)\}\r\n\z/) {
        my $n = $1;
        my $lit = '';
        while (length($lit) < $n) {
            my $got = read($s, $lit, $n - length($lit), length($lit));
            die "read: $!\n" unless $got;
        }
        $r .= $lit . get_line();
    }
    return $r;
}

sub command {
    my ($cmd) = @_;
    my $t = 'a' . ++$tag;
    print $s "$t $cmd\r\n";
    my @untagged;
    for (;;) {
        my $r = get_response();
        if ($r =~ /^\Q$t\E (OK|NO|BAD)/) {
            die "$cmd: $r" unless $1 eq 'OK';
            return @untagged;
        }
        push @untagged, $r;
    }
}

# the end of the IMAP value that starts at $pos in $str
sub value_end {
    my ($str, $pos) = @_;
    my $depth = 0;
    my $len = length $str;
    while ($pos < $len) {
        my $c = substr($str, $pos, 1);
        if ($c eq '(') { $depth++; $pos++; next; }
        if ($c eq ')') { $depth--; $pos++; return $pos if $depth == 0; next; }
        if ($c eq '"') {
            $pos++;
            while ($pos < $len) {
                my $d = substr($str, $pos, 1);
                if ($d eq '\\') { $pos += 2; next; }
                $pos++;
                last if $d eq '"';
            }
            return $pos if $depth == 0;
            next;
        }
        if ($c eq '{' && substr($str, $pos) =~ /^\{(\d+)\}\r\n/) {
            $pos += length("{$1}\r\n") + $1;
            return $pos if $depth == 0;
            next;
        }
        if ($c eq ' ' && $depth == 0) { return $pos; }
        if ($c eq ' ') { $pos++; next; }
        # an atom
        my $start = $pos;
        $pos++ while $pos < $len && substr($str, $pos, 1) !~ /[ ()\r\n]/;
        return $pos if $depth == 0;
    }
    return $pos;
}

# ITEM value from a FETCH response or from mime-imap output
sub item {
    my ($str, $name) = @_;
    my $i = index($str, "$name ");
    # the item name sits at depth 1 of the FETCH list: take the first hit
    # that is preceded by "(" or " " and not inside a string
    while ($i >= 0) {
        my $before = $i ? substr($str, $i - 1, 1) : ' ';
        last if $before eq '(' || $before eq ' ' || $before eq "\n";
        $i = index($str, "$name ", $i + 1);
    }
    return undef if $i < 0;
    my $start = $i + length($name) + 1;
    return substr($str, $start, value_end($str, $start) - $start);
}

get_line();    # greeting
command("LOGIN $user $pass");

sub slurp {
    my ($f) = @_;
    open my $fh, '<:raw', $f or die "$f: $!\n";
    local $/;
    my $data = <$fh>;
    close $fh;
    return $data;
}

for my $f (@files) {
    my $msg = slurp($f);
    print $s "a" . ++$tag . " APPEND INBOX {" . length($msg) . "+}\r\n"
        . $msg . "\r\n";
    my $r;
    do { $r = get_response() } until $r =~ /^a$tag /;
    die "APPEND $f: $r" unless $r =~ /^a$tag OK/;
}

command("SELECT INBOX");
my %dc;
for my $r (command("FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY)")) {
    next unless $r =~ /^\* (\d+) FETCH /;
    $dc{$1} = [item($r, 'ENVELOPE'), item($r, 'BODYSTRUCTURE'),
               item($r, 'BODY')];
}
command("LOGOUT");

# what Dovecot said, for reference (unit tests quote these)
open my $vals, '>:raw', "$outdir/dovecot-values.txt" or die;
for my $i (1 .. @files) {
    my ($de, $db) = map { $_ // '' } @{$dc{$i} || []};
    print $vals "$files[$i - 1]\nENVELOPE $de\nBODYSTRUCTURE $db\n";
}
close $vals;

my ($n, $env_ok, $bs_ok, $both_ok, $body_ok) = (0, 0, 0, 0, 0);
open my $diff, '>', "$outdir/dovecot-diff.txt" or die;
my $shown = 0;

for my $i (1 .. @files) {
    my $f = $files[$i - 1];
    my $ours = `$mime_imap '$f'`;
    my $oe = item($ours, 'ENVELOPE') // '';
    my $ob = item($ours, 'BODYSTRUCTURE') // '';
    my $oy = item(scalar `$mime_imap -b '$f'`, 'BODY') // '';
    my ($de, $db, $dy) = map { $_ // '' } @{$dc{$i} || []};
    $n++;
    my $e = $oe eq $de;
    my $b = $ob eq $db;
    my $y = $oy eq $dy;
    $env_ok++ if $e;
    $bs_ok++ if $b;
    $body_ok++ if $y;
    $both_ok++ if $e && $b && $y;
    next if $e && $b && $y;
    for my $pair (['ENVELOPE', $oe, $de, $e], ['BODYSTRUCTURE', $ob, $db, $b],
                  ['BODY', $oy, $dy, $y])
    {
        my ($what, $o, $d, $same) = @$pair;
        next if $same;
        my $k = 0;
        $k++ while $k < length($o) && $k < length($d)
                   && substr($o, $k, 1) eq substr($d, $k, 1);
        my $from = $k > 60 ? $k - 60 : 0;
        my $text = "$f $what at $k\n  ours:    " . substr($o, $from, 140)
            . "\n  dovecot: " . substr($d, $from, 140) . "\n";
        print $diff $text;
        if ($shown < 12) { print $text; $shown++; }
    }
}
close $diff;

printf "messages %d  ENVELOPE match %d (%.1f%%)  BODYSTRUCTURE match %d "
     . "(%.1f%%)  BODY match %d (%.1f%%)  all three %d (%.1f%%)\n", $n,
     $env_ok, 100 * $env_ok / $n, $bs_ok, 100 * $bs_ok / $n,
     $body_ok, 100 * $body_ok / $n, $both_ok, 100 * $both_ok / $n;
print "all differences: $outdir/dovecot-diff.txt\n";
