#!/usr/bin/perl

# mailctl queue list|show|flush|retry|delete.  The queue is stored here
# with plain Redis commands, in the layout of docs/redis-keys.md, "Spool and
# outbound queue", as the SMTP server and the delivery workers leave it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use MailTest;

my $t = MailTest->new;
$t->start_redis;

# Checks go over one socket: on a slow machine a redis-cli per check costs
# more than the mailctl run it checks (MailTest::redis_fast).
sub redis { $t->redis_fast(@_) }

# Runs mailctl; returns [exit code, stdout, stderr] for is_deeply.
sub mailctl { [ $t->mailctl('', @_) ] }

# Every key with its value, to see what a command changed.  Not DUMP: a
# read may rehash a large hash, which changes the order DUMP writes.
sub value {
    my ($key) = @_;
    my $type = redis('TYPE', $key);
    return join "\n", sort split /\n/, redis('HGETALL', $key)
        if $type eq 'hash';
    return redis('ZRANGE', $key, 0, -1, 'WITHSCORES') if $type eq 'zset';
    return redis('XRANGE', $key, '-', '+') . redis('XPENDING', $key,
                                                   'delivery')
        if $type eq 'stream';
    return redis('DUMP', $key);
}

sub snapshot {
    my %keys = map { $_ => value($_) } split /\n/, redis('KEYS', '*');
    return \%keys;
}

# The keys in @$gone are gone, the others are as they were unless they
# are in @$changed, whose values the caller checks (MailTest::unchanged_but).
sub unchanged_but { MailTest::unchanged_but(\&snapshot, @_) }

# The ids in queue:outbound, in stream order.
sub outbound {
    my @fields = split /\n/, redis('XRANGE', 'queue:outbound', '-', '+');
    my @ids;
    while (@fields) {
        my (undef, $name, $id) = splice @fields, 0, 3;
        push @ids, $id if $name eq 'id';
    }
    return join ' ', @ids;
}

sub deferred { join ' ', split /\n/, redis('ZRANGE', 'queue:deferred', 0, -1) }

sub blob {
    my ($id, $refs) = @_;
    redis('SET', "blob:{$id}", "Return-Path: <>\r\nSubject: $id\r\n\r\nx\r\n");
    redis('SET', "blob:{$id}:refs", $refs);
}

# A queued message: %env as the envelope, %rcpt as the recipients' states.
sub message {
    my ($id, $env, $rcpt) = @_;
    redis('HSET', "queue:{$id}:env", %$env);
    redis('HSET', "queue:{$id}:rcpt", %$rcpt) if $rcpt && %$rcpt;
    redis('ZADD', 'queue:ids', $env->{created}, $id);
}

# One line of "queue list".
sub row { sprintf "%-27s %-20s %10s %-7s %-35s %s\n", @_ }

my $header = row('ID', 'CREATED', 'SIZE', 'PENDING', 'STATE',
                 'SENDER (LAST ERROR)');


# --- an empty queue ---------------------------------------------------------

is_deeply(mailctl('queue', 'list'), [ 0, $header . "0 messages\n", '' ],
          'list: empty queue');
is_deeply(mailctl('queue', 'flush'),
          [ 0, "0 messages queued for delivery\n", '' ], 'flush: nothing');


# --- the queue --------------------------------------------------------------

# M1: deferred after three attempts; one recipient sent, one failed, one
# deferred.  M2: a bounce, active: its entry was read by a worker and is
# pending.  M3 and M5 share a blob with a mailbox.  M3 and M4: deferred,
# never tried.  M5: active, its entry not read yet.

blob('M1', 1);
blob('M2', 1);
blob('SHARED', 3);
blob('M4', 1);

message('M1', { from => 'alice@example.test',
                rcpts => "bob\@example.org NOTIFY=SUCCESS,FAILURE "
                         . "ORCPT=rfc822;bob\@example.org\n"
                         . "carol\@example.org\n"
                         . "dave\@example.net",
                params => 'BODY=8BITMIME ENVID=x1', blob => 'M1',
                size => 1234, created => 1700000000, attempts => 3,
                next => 1700007200,
                last_error => 'dave@example.net: 451 4.7.1 Greylisted, '
                              . 'please try again in 5 minutes',
                warned => 1 },
        { 'bob@example.org' => 'sent 1700000060 250 2.0.0 mx.example.org '
                               . '250 2.0.0 Ok: queued as 4Tx',
          'carol@example.org' => 'failed 1700000061 550 5.1.1 '
                                 . 'mx.example.org 550 5.1.1 No such user',
          'dave@example.net' => 'deferred 1700003600 451 4.7.1 '
                                . 'mx1.example.net 451 4.7.1 Greylisted, '
                                . 'please try again in 5 minutes' });
redis('ZADD', 'queue:deferred', 1700007200, 'M1');

message('M2', { from => '', rcpts => 'alice@example.org', params => '',
                blob => 'M2', size => 800, created => 1700000100,
                attempts => 1,
                last_error => "451 \x1b[31mcolour\r\n" });
redis('XGROUP', 'CREATE', 'queue:outbound', 'delivery', '$', 'MKSTREAM');
redis('XADD', 'queue:outbound', '*', 'id', 'M2');
redis('XREADGROUP', 'GROUP', 'delivery', 'host:1', 'COUNT', 1,
      'STREAMS', 'queue:outbound', '>');

message('M3', { from => 'bob@example.test',
                rcpts => "x\@example.com\ny\@example.com", params => '',
                blob => 'SHARED', size => 100, created => 1700000200,
                attempts => 0, next => 1700000500 });
redis('ZADD', 'queue:deferred', 1700000500, 'M3');

message('M4', { from => 'bob@example.test', rcpts => 'z@example.com',
                params => 'SMTPUTF8', blob => 'M4', size => 5000000,
                created => 1700000300, attempts => 2, next => 1700009000 });
redis('ZADD', 'queue:deferred', 1700009000, 'M4');

message('M5', { from => 'carol@example.test', rcpts => 'w@example.com',
                params => '', blob => 'SHARED', size => 100,
                created => 1700000400, attempts => 0 });
redis('XADD', 'queue:outbound', '*', 'id', 'M5');

is(outbound(), 'M2 M5', 'the stream before');


# --- list -------------------------------------------------------------------

my $before = snapshot();
is_deeply(mailctl('queue', 'list'),
          [ 0, $header
               . row('M1', '2023-11-14T22:13:20Z', 1234, '1/3',
                     'deferred until 2023-11-15T00:13:20Z',
                     '<alice@example.test> (dave@example.net: 451 4.7.1 '
                     . 'Greylisted, please try...)')
               . row('M2', '2023-11-14T22:15:00Z', 800, '1/1', 'active',
                     '<> (451 ?[31mcolour??)')
               . row('M3', '2023-11-14T22:16:40Z', 100, '2/2',
                     'deferred until 2023-11-14T22:21:40Z',
                     '<bob@example.test>')
               . row('M4', '2023-11-14T22:18:20Z', 5000000, '1/1',
                     'deferred until 2023-11-15T00:43:20Z',
                     '<bob@example.test>')
               . row('M5', '2023-11-14T22:20:00Z', 100, '1/1', 'active',
                     '<carol@example.test>')
               . "5 messages\n", '' ],
          'list');
unchanged_but($before, [], [], 'list');


# --- show -------------------------------------------------------------------

is_deeply(mailctl('queue', 'show', 'M1'), [ 0, <<'EOT', '' ], 'show M1');
id: M1
from: <alice@example.test>
params: BODY=8BITMIME ENVID=x1
size: 1234
created: 2023-11-14T22:13:20Z
attempts: 3
state: deferred
next attempt: 2023-11-15T00:13:20Z
last error: dave@example.net: 451 4.7.1 Greylisted, please try again in 5 minutes
warned: yes
blob: M1
rcpt: bob@example.org NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.org
  state: sent
  time: 2023-11-14T22:14:20Z
  code: 250
  status: 2.0.0
  mta: mx.example.org
  text: 250 2.0.0 Ok: queued as 4Tx
rcpt: carol@example.org
  state: failed
  time: 2023-11-14T22:14:21Z
  code: 550
  status: 5.1.1
  mta: mx.example.org
  text: 550 5.1.1 No such user
rcpt: dave@example.net
  state: deferred
  time: 2023-11-14T23:13:20Z
  code: 451
  status: 4.7.1
  mta: mx1.example.net
  text: 451 4.7.1 Greylisted, please try again in 5 minutes
EOT

is_deeply(mailctl('queue', 'show', 'M2'), [ 0, <<'EOT', '' ], 'show M2');
id: M2
from: <>
params: -
size: 800
created: 2023-11-14T22:15:00Z
attempts: 1
state: active
next attempt: now
last error: 451 ?[31mcolour??
warned: no
blob: M2
rcpt: alice@example.org
  state: queued
EOT

is_deeply(mailctl('queue', 'show', 'NOPE'),
          [ 2, '', "mailctl: unknown queue id \"NOPE\"\n" ],
          'show: unknown id');
is_deeply(mailctl('queue', 'show', 'M1}:env'),
          [ 2, '', "mailctl: invalid queue id \"M1}:env\": a queue id has "
                   . "only letters and digits\n" ],
          'show: an id that would make another key');
is_deeply(mailctl('queue', 'show', 'A' x 65),
          [ 2, '', 'mailctl: invalid queue id "' . 'A' x 65
                   . "\": queue id longer than 64 characters\n" ],
          'show: an id too long');
is_deeply(mailctl('queue', 'show'),
          [ 1, '', "mailctl: missing argument to \"queue show\"\n"
                   . "Usage: mailctl queue show ID\n" ],
          'show: no id');
unchanged_but($before, [], [], 'show');


# --- retry ------------------------------------------------------------------

is_deeply(mailctl('queue', 'retry', 'M3', 'M2', 'NOPE', 'M5'),
          [ 2, "M3: queued for delivery\nM2: not deferred, skipped\n"
               . "M5: not deferred, skipped\n",
            "mailctl: unknown queue id \"NOPE\"\n" ],
          'retry: deferred, active, unknown, active');
is(deferred(), 'M1 M4', 'retry: M3 is no longer deferred');
is(outbound(), 'M2 M5 M3', 'retry: M3 is in the stream, once');
is(redis('HGET', 'queue:{M3}:env', 'next'), 0, 'retry: M3 due now');
is(redis('HGET', 'queue:{M2}:env', 'next'), '', 'retry: M2 untouched');

is_deeply(mailctl('queue', 'retry', 'M3'),
          [ 0, "M3: not deferred, skipped\n", '' ], 'retry M3 again');
is(outbound(), 'M2 M5 M3', 'retry M3 again: not queued twice');

$before = snapshot();
is_deeply(mailctl('queue', 'retry', 'M1', 'M-4'),
          [ 2, '', "mailctl: invalid queue id \"M-4\": a queue id has only "
                   . "letters and digits\n" ],
          'retry: an invalid id, nothing done');
unchanged_but($before, [], [], 'retry with an invalid id');

is_deeply(mailctl('queue', 'list'),
          [ 0, $header
               . row('M1', '2023-11-14T22:13:20Z', 1234, '1/3',
                     'deferred until 2023-11-15T00:13:20Z',
                     '<alice@example.test> (dave@example.net: 451 4.7.1 '
                     . 'Greylisted, please try...)')
               . row('M2', '2023-11-14T22:15:00Z', 800, '1/1', 'active',
                     '<> (451 ?[31mcolour??)')
               . row('M3', '2023-11-14T22:16:40Z', 100, '2/2', 'active',
                     '<bob@example.test>')
               . row('M4', '2023-11-14T22:18:20Z', 5000000, '1/1',
                     'deferred until 2023-11-15T00:43:20Z',
                     '<bob@example.test>')
               . row('M5', '2023-11-14T22:20:00Z', 100, '1/1', 'active',
                     '<carol@example.test>')
               . "5 messages\n", '' ],
          'list after retry: M3 active');


# --- flush ------------------------------------------------------------------

# GHOST was deleted while it waited: only its id is left.
redis('ZADD', 'queue:deferred', 1700000000, 'GHOST');

is_deeply(mailctl('queue', 'flush'),
          [ 0, "2 messages queued for delivery\n", '' ], 'flush');
is(deferred(), '', 'flush: nothing deferred');
is(outbound(), 'M2 M5 M3 M1 M4', 'flush: M1 and M4 in the stream');
is(redis('HGET', 'queue:{M1}:env', 'next'), 0, 'flush: M1 due now');
is(redis('HGET', 'queue:{M4}:env', 'next'), 0, 'flush: M4 due now');
is(redis('XLEN', 'queue:outbound'), 5, 'flush: no entry for GHOST');
is(redis('XPENDING', 'queue:outbound', 'delivery') =~ /^(\d+)/ && $1, 1,
   'flush: the pending entry is left to its worker');

is_deeply(mailctl('queue', 'flush'),
          [ 0, "0 messages queued for delivery\n", '' ], 'flush again');
is(redis('XLEN', 'queue:outbound'), 5, 'flush again: nothing added');


# --- delete -----------------------------------------------------------------

$before = snapshot();
is_deeply(mailctl('queue', 'delete', 'M3'),
          [ 0, "deleted M3 (its content stays: 2 more references)\n", '' ],
          'delete M3');
unchanged_but($before, [ 'queue:{M3}:env', 'queue:{M3}:rcpt' ],
              [ 'queue:ids', 'blob:{SHARED}:refs' ], 'delete M3');
is(redis('GET', 'blob:{SHARED}:refs'), 2, 'delete M3: a reference less');
is(redis('ZSCORE', 'queue:ids', 'M3'), '', 'delete M3: not in queue:ids');

$before = snapshot();
is_deeply(mailctl('queue', 'delete', 'M3'),
          [ 2, '', "mailctl: unknown queue id \"M3\"\n" ],
          'delete M3 again: unknown');
unchanged_but($before, [], [], 'delete M3 again: no reference dropped');

# M1 is deferred again, as a worker would leave it after an attempt
redis('ZADD', 'queue:deferred', 1700090000, 'M1');

$before = snapshot();
is_deeply(mailctl('queue', 'delete', 'M1', 'NOPE', 'M5'),
          [ 2, "deleted M1\ndeleted M5 (its content stays: 1 more "
               . "reference)\n",
            "mailctl: unknown queue id \"NOPE\"\n" ],
          'delete M1 NOPE M5');
unchanged_but($before,
              [ 'queue:{M1}:env', 'queue:{M1}:rcpt', 'queue:{M5}:env',
                'blob:{M1}', 'blob:{M1}:refs', 'queue:deferred' ],
              [ 'queue:ids', 'blob:{SHARED}:refs' ], 'delete M1 NOPE M5');
is(redis('GET', 'blob:{SHARED}:refs'), 1,
   'delete M5: the mailbox\'s reference is left');
is(redis('ZRANGE', 'queue:ids', 0, -1), "M2\nM4", 'delete: queue:ids');
is(outbound(), 'M2 M5 M3 M1 M4',
   'delete: the stream entries are left to the workers');

is_deeply(mailctl('queue', 'delete'),
          [ 1, '', "mailctl: \"queue delete\" takes either queue ids or "
                   . "--all\nUsage: mailctl queue delete ID...|--all\n" ],
          'delete: no id');
is_deeply(mailctl('queue', 'delete', '--all', 'M2'),
          [ 1, '', "mailctl: \"queue delete\" takes either queue ids or "
                   . "--all\nUsage: mailctl queue delete ID...|--all\n" ],
          'delete: ids and --all');
is_deeply(mailctl('queue', 'list', '--all'),
          [ 1, '', "mailctl: option \"--all\" does not apply to "
                   . "\"queue list\"\nUsage: mailctl queue list \n" ],
          'list --all');
is(redis('ZCARD', 'queue:ids'), 2, 'usage errors delete nothing');


# --- more than one batch ----------------------------------------------------

# 2500 deferred messages sharing one blob: list, flush and delete --all
# go through them 1000 at a time.
my $n = 2500;
blob('BULK', $n);
for my $i (1 .. $n) {
    my $id = sprintf 'B%04d', $i;
    redis('HSET', "queue:{$id}:env", 'from', 'bulk@example.test',
          'rcpts', 'r@example.com', 'blob', 'BULK', 'size', 10,
          'created', 1700100000 + $i, 'attempts', 1,
          'next', 1700200000 + $i);
    redis('ZADD', 'queue:ids', 1700100000 + $i, $id);
    redis('ZADD', 'queue:deferred', 1700200000 + $i, $id);
}

my $list = mailctl('queue', 'list');
is($list->[0], 0, 'list of 2502');
my @lines = split /\n/, $list->[1];
is(scalar @lines, 2504, 'list of 2502: header, 2502 rows, summary');
is($lines[-1], '2502 messages', 'list of 2502: summary');
is_deeply([ map { (split / /)[0] } @lines[1, 2, 3, 1002, 2502] ],
          [ 'M2', 'M4', 'B0001', 'B1000', 'B2500' ],
          'list of 2502: every id once, by creation time');
my %seen;
$seen{(split / /)[0]}++ for @lines[1 .. 2502];
is(scalar keys %seen, 2502, 'list of 2502: no id twice');

is_deeply(mailctl('queue', 'flush'),
          [ 0, "2500 messages queued for delivery\n", '' ], 'flush 2500');
is(redis('ZCARD', 'queue:deferred'), 0, 'flush 2500: nothing deferred');
is(redis('XLEN', 'queue:outbound'), 5 + $n, 'flush 2500: in the stream');

my $all = mailctl('queue', 'delete', '--all');
is($all->[0], 0, 'delete --all');
@lines = split /\n/, $all->[1];
is_deeply([ @lines[0, 1, 2, -2, -1] ],
          [ 'deleted M2', 'deleted M4',
            "deleted B0001 (its content stays: 2499 more references)",
            'deleted B2500', '2502 messages deleted' ],
          'delete --all: what was deleted');
is(scalar @lines, 2503, 'delete --all: a line per message and a summary');
is(redis('ZCARD', 'queue:ids'), 0, 'delete --all: queue:ids empty');
is(redis('KEYS', 'queue:{*'), '', 'delete --all: no envelope left');
is(join(' ', sort split /\n/, redis('KEYS', 'blob:*')),
   'blob:{SHARED} blob:{SHARED}:refs',
   'delete --all: only the blob of the mailbox left');

is_deeply(mailctl('queue', 'list'), [ 0, $header . "0 messages\n", '' ],
          'list: empty again');
is_deeply(mailctl('queue', 'delete', '--all'),
          [ 0, "0 messages deleted\n", '' ], 'delete --all: nothing');


# --- help -------------------------------------------------------------------

my $help = mailctl('--help');
like($help->[1], qr/^  queue delete     delete queued messages$/m,
     'help lists the queue commands');

done_testing;
