#!/usr/bin/perl

# What the delivery queue writes, read back by a MIME parser that is not
# ours (MIME::Parser, Debian's libmime-tools-perl): the delivery status
# notifications (RFC 3464 in an RFC 6522 multipart/report) and the
# 8BITMIME to 7 bit conversion (RFC 6152).  The octets come from
#   make -C modules/queue O=$PWD/build/queue
# which builds queue-sample; its exact output is the C unit tests'
# (t/queue-05-parsers.t), this file checks that others read it as meant.

use strict;
use warnings;

use FindBin;
use IPC::Open2;
use MIME::Parser;
use Test::More;

my $root = "$FindBin::Bin/..";
my $build = $ENV{MAIL_BUILD_DIR} || "$root/build";
my $sample = "$build/queue/queue-sample";

unless (-x $sample) {
    fail("$sample missing: make -C modules/queue O=$build/queue");
    done_testing();
    exit 1;
}

sub parse {
    my ($octets) = @_;
    my $parser = MIME::Parser->new;

    $parser->output_to_core(1);
    $parser->tmp_to_core(1);
    $parser->decode_bodies(1);

    return $parser->parse_data($octets);
}

# MIME::Parser's decoders give text lines with local line ends
sub lf {
    my ($text) = @_;

    $text =~ s/\r\n/\n/g;

    return $text;
}

sub report {
    my ($kind) = @_;
    my $octets = `$sample report $kind`;

    is($?, 0, "$kind: written");

    return ($octets, parse($octets));
}

# RFC 3464 2.1: groups of fields separated by blank lines, folded lines
# unfolded; field names compared without case
sub dsn_groups {
    my ($text) = @_;
    my @groups;

    $text =~ s/\r\n/\n/g;
    $text =~ s/\n[ \t]+/ /g;

    for my $block (split /\n\n+/, $text) {
        my %fields;

        for my $line (split /\n/, $block) {
            next unless $line =~ /^([\w-]+):\s*(.*?)\s*$/;
            $fields{lc $1} = $2;
        }

        push @groups, \%fields if %fields;
    }

    return @groups;
}

my $original_header =
    "Received: from client (client [192.0.2.1])\r\n"
    . "\tby mx.example.com; Mon, 23 Nov 2026 15:00:00 +0000\r\n"
    . "From: Alice <alice\@example.com>\r\n"
    . "To: bob\@example.org, carol\@example.net\r\n"
    . "Subject: lunch\r\n"
    . "Message-ID: <lunch\@example.com>\r\n"
    . "\r\n";

# a bounce: headers only returned

{
    my ($octets, $e) = report('bounce');
    my $head = $e->head;

    is($e->mime_type, 'multipart/report', 'bounce: multipart/report');
    is($head->mime_attr('content-type.report-type'), 'delivery-status',
        'bounce: report-type');
    is($head->get('Subject'), "Undelivered Mail Returned to Sender\n",
        'bounce: Subject');
    is($head->get('Auto-Submitted'), "auto-replied\n",
        'bounce: Auto-Submitted');
    like($head->get('From'), qr/^Mail Delivery System <MAILER-DAEMON\@/,
        'bounce: From');
    like($head->get('Message-ID'), qr/^<[^<>\s]+\@mx\.example\.com>$/,
        'bounce: Message-ID');

    my @parts = $e->parts;

    is(scalar @parts, 3, 'bounce: three parts');
    is(join(' ', map { $_->mime_type } @parts),
        'text/plain message/delivery-status text/rfc822-headers',
        'bounce: their types, in order');

    my $text = $parts[0]->bodyhandle->as_string;

    like($text, qr/<bob\@example\.org>: failed, host mx\.example\.org said:/,
        'bounce: text names the recipient and the host');
    like($text, qr/^    virtual mailbox table; see https:/m,
        'bounce: remote text wrapped');

    my @groups = dsn_groups($parts[1]->bodyhandle->as_string);

    is(scalar @groups, 3, 'bounce: per-message fields and two recipients');
    is_deeply($groups[0], {
        'reporting-mta' => 'dns; mx.example.com',
        'x-queue-id' => '4Fb2kQ',
        'original-envelope-id' => 'QQ=314',
        'arrival-date' => 'Mon, 23 Nov 2026 14:04:07 +0000',
    }, 'bounce: per-message fields');
    is_deeply($groups[1], {
        'original-recipient' => 'rfc822;bob+x@example.org',
        'final-recipient' => 'rfc822; bob@example.org',
        'action' => 'failed',
        'status' => '5.1.1',
        'remote-mta' => 'dns; mx.example.org',
        'diagnostic-code' => 'smtp; 550 5.1.1 <bob@example.org>: Recipient'
            . ' address rejected: User unknown in virtual mailbox table;'
            . ' see https://example.org/help',
        'last-attempt-date' => 'Mon, 23 Nov 2026 15:03:20 +0000',
    }, 'bounce: first recipient, diagnostic unfolded');
    is_deeply($groups[2], {
        'final-recipient' => 'rfc822; carol@example.net',
        'action' => 'failed',
        'status' => '5.4.4',
        'diagnostic-code' => 'smtp; Host or domain name not found',
    }, 'bounce: second recipient');

    is(lf($parts[2]->bodyhandle->as_string), lf($original_header),
        'bounce: the original header, without Return-Path');
}

# RET=FULL: the whole message, even a line that looks like a delimiter

{
    my ($octets, $e) = report('full');
    my @parts = $e->parts;

    is(scalar @parts, 3, 'full: three parts');
    is($parts[2]->mime_type, 'message/rfc822', 'full: message/rfc822');

    my $inner = $parts[2]->parts(0);

    ok($inner, 'full: the message parsed');
    is($inner && $inner->head->get('Subject'), "lunch\n",
        'full: its Subject');
    ok(!($inner && $inner->head->get('Return-Path')),
        'full: no Return-Path');
    is($inner && lf($inner->bodyhandle->as_string),
        "Shall we have lunch?\n--=_report_0000000000000000\n",
        'full: its body, whole');
}

# a delay warning

{
    my ($octets, $e) = report('delay');
    my @parts = $e->parts;

    is($e->head->get('Subject'), "Delayed Mail (still being retried)\n",
        'delay: Subject');

    my @groups = dsn_groups($parts[1]->bodyhandle->as_string);

    is(scalar @groups, 2, 'delay: one recipient');
    is($groups[1]{action}, 'delayed', 'delay: Action');
    is($groups[1]{status}, '4.4.1', 'delay: Status');
    is($groups[1]{'will-retry-until'}, 'Sat, 28 Nov 2026 14:04:07 +0000',
        'delay: Will-Retry-Until');
    like($parts[0]->bodyhandle->as_string,
        qr/retried until Sat, 28 Nov 2026 14:04:07 \+0000/,
        'delay: text says until when');
}

# a success report

{
    my ($octets, $e) = report('success');
    my @groups = dsn_groups(($e->parts)[1]->bodyhandle->as_string);

    is($e->head->get('Subject'), "Successful Mail Delivery Report\n",
        'success: Subject');
    is(join(' ', map { $_->{action} // '-' } @groups[1, 2]),
        'delivered relayed', 'success: delivered and relayed');
    ok(!exists $groups[1]{'diagnostic-code'},
        'success: no diagnostic without one');
}

# a UTF-8 recipient (RFC 6531): RFC 6533 utf-8-addr-xtext in the report

{
    my ($octets, $e) = report('utf8');
    my @parts = $e->parts;

    is($e->head->get('Content-Transfer-Encoding'), "8bit\n",
        'utf8: multipart labelled 8bit');
    is($parts[0]->head->mime_attr('content-type.charset'), 'utf-8',
        'utf8: text part in UTF-8');
    like($parts[0]->bodyhandle->as_string, qr/<j\xc3\xb6rg\@example\.org>/,
        'utf8: address in the text as it is');

    my @groups = dsn_groups($parts[1]->bodyhandle->as_string);

    is($groups[1]{'final-recipient'}, 'utf-8; j\x{F6}rg@example.org',
        'utf8: Final-Recipient');
    unlike($parts[1]->bodyhandle->as_string, qr/[^\x00-\x7f]/,
        'utf8: delivery-status in ASCII');
}

# the 8BITMIME to 7 bit conversion

sub downgrade {
    my ($in) = @_;
    my $pid = open2(my $out, my $to, $sample, 'downgrade');

    binmode $out;
    binmode $to;
    print $to $in;
    close $to;

    local $/;
    my $octets = <$out>;

    waitpid $pid, 0;

    return ($? >> 8, $octets);
}

{
    my $text = "gr\xc3\xbc\xc3\x9fe, caf\xc3\xa9 = " . ("\xe2\x82\xac" x 40)
        . " \r\n-- \r\nend\r\n";
    my $latin = "caf\xe9\r\n";
    my $binary = join('', map { chr } 0 .. 255);
    my $msg =
        "From: a\@example.com\r\n"
        . "Subject: 8 bit\r\n"
        . "MIME-Version: 1.0\r\n"
        . "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
        . "\r\n"
        . "--outer\r\n"
        . "Content-Type: text/plain; charset=utf-8\r\n"
        . "Content-Transfer-Encoding: 8bit\r\n"
        . "\r\n"
        . $text
        . "\r\n--outer\r\n"
        . "Content-Type: multipart/alternative; boundary=inner\r\n"
        . "\r\n"
        . "--inner\r\n"
        . "Content-Type: text/plain; charset=iso-8859-1\r\n"
        . "\r\n"
        . $latin
        . "\r\n--inner--\r\n"
        . "\r\n--outer\r\n"
        . "Content-Type: application/octet-stream\r\n"
        . "Content-Transfer-Encoding: base64\r\n"
        . "\r\n"
        . "AAECAwQF\r\n"
        . "\r\n--outer\r\n"
        . "Content-Type: application/octet-stream\r\n"
        . "Content-Transfer-Encoding: binary\r\n"
        . "\r\n"
        . $binary
        . "\r\n--outer--\r\n";

    my ($status, $octets) = downgrade($msg);

    is($status, 0, 'downgrade: converted');
    unlike($octets, qr/[^\x01-\x7f]/, 'downgrade: 7 bit, no NUL');
    ok(!grep({ length > 78 } split /\r\n/, $octets),
        'downgrade: no line over 76 characters and CRLF');

    my $e = parse($octets);
    my @parts = $e->parts;

    is(scalar @parts, 4, 'downgrade: four parts');
    is($parts[0]->head->get('Content-Transfer-Encoding'),
        "quoted-printable\n", 'downgrade: 8bit part now quoted-printable');
    is(lf($parts[0]->bodyhandle->as_string), lf($text),
        'downgrade: decodes to the original text');
    is(lf(($parts[1]->parts)[0]->bodyhandle->as_string), lf($latin),
        'downgrade: nested part, no CTE before, decodes the same');
    is($parts[2]->head->get('Content-Transfer-Encoding'), "base64\n",
        'downgrade: base64 part kept');
    like($octets, qr/\r\n\r\nAAECAwQF\r\n/, 'downgrade: ... octet for octet');

    # the binary part's own line ends are line breaks, as for 8bit text
    is(lf($parts[3]->bodyhandle->as_string), lf($binary),
        'downgrade: binary part decodes to the original');

    ($status) = downgrade("Subject: J\xc3\xb6rg\r\n\r\nbody\r\n");

    is($status, 2, 'downgrade: 8-bit header refused');

    ($status, $octets) = downgrade("Subject: x\r\n\r\n7 bit\r\n");

    is($octets, "Subject: x\r\n\r\n7 bit\r\n", 'downgrade: 7 bit unchanged');
}

done_testing();
