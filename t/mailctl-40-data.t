#!/usr/bin/perl

# mailctl user del and domain del --force delete a user's mail with the
# account: mailboxes, messages, and the references to shared blobs.  The
# mail is stored here with redis-cli commands, in the layout of
# docs/redis-keys.md, "Mailboxes and messages".

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
sub mailctl { [ $t->mailctl(@_) ] }

# A message as the delivery script stores it, with $refs references.
sub blob {
    my ($id, $refs) = @_;
    redis('SET', "blob:{$id}", "Return-Path: <sender\@example.org>\r\n"
                               . "Subject: $id\r\n\r\nbody\r\n");
    redis('SET', "blob:{$id}:refs", $refs);
}

# Mailbox $id of $addr, named $name, holding the blobs @blobs as UIDs
# 1, 2, ...; one earlier message expunged.
sub mailbox {
    my ($addr, $id, $name, @blobs) = @_;
    my $tag = "{$addr}";
    my $mb = "mailbox:$tag:$id";
    redis('HSET', "mailboxes:$tag", $name, $id);
    redis('HSET', $mb, 'name', $name, 'uidvalidity', 1700000000,
          'uidnext', @blobs + 2, 'highestmodseq', 20,
          'messages', scalar @blobs, 'unseen', scalar @blobs);
    redis('ZADD', "$mb:expunged", 10, @blobs + 1);
    for my $uid (1 .. @blobs) {
        redis('ZADD', "$mb:uids", $uid, $uid);
        redis('HSET', "msg:$tag:$id:$uid", 'blob', $blobs[$uid - 1],
              'size', 60, 'internaldate', 1700000000, 'flags', '\\Seen',
              'modseq', $uid + 1);
    }
    redis('HINCRBY', "user:$tag", 'used_bytes', 60 * @blobs);
    redis('HSET', "user:$tag", 'mailbox_next', $id);
}

# Every key with its DUMP, to see what a command changed.
sub snapshot {
    my %keys = map { $_ => redis('DUMP', $_) } split /\n/, redis('KEYS', '*');
    return \%keys;
}

# The keys of $addr: all of them carry its hash tag.
sub keys_of {
    my ($addr, $snapshot) = @_;
    return sort grep { index($_, "{$addr}") >= 0 } keys %$snapshot;
}

# The keys in @$gone are gone, the others are as they were unless they
# are in @$changed, whose values the caller checks (MailTest::unchanged_but).
sub unchanged_but { MailTest::unchanged_but(\&snapshot, @_) }

sub members { join ' ', sort split /\n/, redis('SMEMBERS', $_[0]) }

# How often Redis ran a command since CONFIG RESETSTAT.
sub calls {
    my ($cmd) = @_;
    my ($calls) = redis('INFO', 'commandstats')
                  =~ /^cmdstat_\Q$cmd\E:calls=(\d+)/m;
    return $calls || 0;
}

for my $domain ('example.test', 'other.test') {
    is_deeply(mailctl('', 'domain', 'add', $domain), [ 0, '', '' ],
              "domain add $domain");
}
for my $addr ('alice@example.test', 'bob@example.test', 'dave@example.test',
              'carol@other.test', 'erin@other.test')
{
    is_deeply(mailctl("pw\n", 'user', 'add', $addr), [ 0, '', '' ],
              "user add $addr");

    # the mailboxes below replace the default ones user add made
    my %boxes = split /\n/, redis('HGETALL', "mailboxes:{$addr}");
    redis('DEL', "mailboxes:{$addr}",
          map { "mailbox:{$addr}:$_" } values %boxes);
    redis('HDEL', "user:{$addr}", 'mailbox_next');
}
is_deeply(mailctl('', 'alias', 'add', 'info@example.test',
                  'alice@example.test', 'bob@example.test'),
          [ 0, '', '' ], 'alias to alice and bob');


# --- user del: two users share a blob ---------------------------------------

# "shared" was delivered to alice and bob; "twice" is in two of alice's
# mailboxes and in the outbound queue; "alice" and "bob" are their own.
blob('shared', 2);
blob('twice', 3);
blob('alice', 1);
blob('bob', 1);
redis('HSET', 'queue:{twice}:env', 'from', 'alice@example.test',
      'rcpts', 'someone@example.org', 'blob', 'twice', 'size', 60);
mailbox('alice@example.test', 1, 'INBOX', 'shared', 'twice');
mailbox('alice@example.test', 2, 'Archive', 'twice', 'alice');
mailbox('bob@example.test', 1, 'INBOX', 'shared', 'bob');
redis('SET', 'user:{alice@example.test}:authfail', 2);
redis('SET', 'lock:pop3:{alice@example.test}', 'token', 'PX', 60000);

my $before = snapshot();
my $tag = '{alice@example.test}';
is_deeply([ keys_of('alice@example.test', $before) ],
          [ sort "lock:pop3:$tag", "mailboxes:$tag",
                 map({ ("mailbox:$tag:$_", "mailbox:$tag:$_:uids",
                        "mailbox:$tag:$_:expunged",
                        "msg:$tag:$_:1", "msg:$tag:$_:2") } 1, 2),
                 "user:$tag", "user:$tag:authfail" ],
          "alice's keys before");

redis('CONFIG', 'RESETSTAT');
is_deeply(mailctl('', 'user', 'del', 'Alice@Example.test'), [ 0, '', '' ],
          'user del alice');
is(calls('eval'), 1, 'user del: one script');
is(calls('exec'), 0, 'user del: no transaction besides');

unchanged_but($before,
              [ keys_of('alice@example.test', $before),
                'blob:{alice}', 'blob:{alice}:refs' ],
              [ 'blob:{shared}:refs', 'blob:{twice}:refs',
                'domain:{example.test}:users' ],
              'user del alice');
is(members('domain:{example.test}:users'),
   'bob@example.test dave@example.test', 'user del alice: index');
is(redis('GET', 'blob:{shared}:refs'), 1, 'shared blob: 1 reference left');
like(redis('GET', 'blob:{shared}'), qr/^Subject: shared\r$/m,
     'shared blob kept for bob');
is(redis('GET', 'blob:{twice}:refs'), 1,
   'blob in two mailboxes and the queue: the queue\'s reference left');
is(redis('EXISTS', 'blob:{alice}', 'blob:{alice}:refs'), 0,
   "alice's own blob deleted");
like(redis('SMEMBERS', 'alias:{info@example.test}'),
     qr/^alice\@example\.test$/m, 'the alias still points to alice');

is_deeply(mailctl('', 'user', 'del', 'alice@example.test'),
          [ 2, '', "mailctl: unknown user \"alice\@example.test\"\n" ],
          'user del alice again: unknown user');
is(redis('GET', 'blob:{shared}:refs'), 1,
   'deleting again drops no reference');

$before = snapshot();
is_deeply(mailctl('', 'user', 'del', 'bob@example.test'), [ 0, '', '' ],
          'user del bob');
unchanged_but($before,
              [ keys_of('bob@example.test', $before),
                'blob:{shared}', 'blob:{shared}:refs',
                'blob:{bob}', 'blob:{bob}:refs' ],
              [ 'domain:{example.test}:users' ], 'user del bob');
is(members('domain:{example.test}:users'), 'dave@example.test',
   'user del bob: index');
is(redis('EXISTS', 'blob:{shared}', 'blob:{shared}:refs'), 0,
   'the last reference gone: shared blob deleted');
is(redis('GET', 'blob:{twice}:refs'), 1, 'the queued blob is kept');


# --- user del: mail left without a user -------------------------------------

# A mailctl that deleted only the account left this; a new user of the
# address must not inherit it.
blob('ghost', 2);
mailbox('ghost@example.test', 1, 'INBOX', 'ghost');
mailbox('dave@example.test', 1, 'INBOX', 'ghost');
redis('DEL', 'user:{ghost@example.test}');

$before = snapshot();
is_deeply(mailctl('', 'user', 'del', 'ghost@example.test'),
          [ 2, '', "mailctl: unknown user \"ghost\@example.test\"\n" ],
          'user del: not a user');
unchanged_but($before, [ keys_of('ghost@example.test', $before) ],
              [ 'blob:{ghost}:refs' ], 'user del: left-over mail deleted');
is(redis('GET', 'blob:{ghost}:refs'), 1, "dave's reference kept");


# --- domain del --force -----------------------------------------------------

blob('carol', 1);
blob('both', 2);
mailbox('carol@other.test', 1, 'INBOX', 'carol', 'both');
mailbox('dave@example.test', 2, 'Sent', 'both');
redis('SET', 'user:{erin@other.test}:authfail', 1);
is_deeply(mailctl('', 'alias', 'add', '@other.test', 'carol@other.test'),
          [ 0, '', '' ], 'catch-all of other.test');

$before = snapshot();
redis('CONFIG', 'RESETSTAT');
is_deeply(mailctl('', 'domain', 'del', 'other.test', '--force'),
          [ 0, '', '' ], 'domain del --force');
is(calls('eval'), 2, 'domain del --force: one script per user');
is(calls('exec'), 1, 'domain del --force: in one transaction');
unchanged_but($before,
              [ keys_of('carol@other.test', $before),
                keys_of('erin@other.test', $before),
                keys_of('other.test', $before),
                'alias:{@other.test}',
                'blob:{carol}', 'blob:{carol}:refs' ],
              [ 'blob:{both}:refs', 'domains' ], 'domain del --force');
is(members('domains'), 'example.test', 'domain del --force: domains');
is(redis('GET', 'blob:{both}:refs'), 1, 'blob shared with dave: kept');
is(redis('HGET', 'msg:{dave@example.test}:2:1', 'blob'), 'both',
   "dave's message still points to it");

done_testing;
