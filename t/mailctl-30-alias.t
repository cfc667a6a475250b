#!/usr/bin/perl

# mailctl alias add|del|list.

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

# Runs mailctl; returns its exit code.
sub rc { ($t->mailctl(@_))[0] }

sub members { join ',', sort split /\n/, redis('SMEMBERS', $_[0]) }

is(rc('', 'domain', 'add', 'example.test'), 0, 'domain example.test');
is(rc('', 'domain', 'add', 'other.test'), 0, 'domain other.test');
is(rc("pw\n", 'user', 'add', 'alice@example.test'), 0, 'user alice');


# --- alias add --------------------------------------------------------------

is_deeply(mailctl('', 'alias', 'add', 'Info@Example.TEST',
                  'Alice@example.test', 'bob@Remote.ORG'),
          [ 0, '', '' ], 'alias add with two targets');
is(members('alias:{info@example.test}'), 'alice@example.test,bob@remote.org',
   'alias:{info@example.test}: targets in lower case');
is(members('domain:{example.test}:aliases'), 'info@example.test',
   'in domain:{example.test}:aliases');

is_deeply(mailctl('', 'alias', 'add', 'info@example.test',
                  'carol@other.test'),
          [ 0, '', '' ], 'alias add to an existing alias');
is(members('alias:{info@example.test}'),
   'alice@example.test,bob@remote.org,carol@other.test', 'target added');

is_deeply(mailctl('', 'alias', 'add', '@Example.test', 'alice@example.test'),
          [ 0, '', '' ], 'alias add @DOMAIN: the catch-all');
is(members('alias:{@example.test}'), 'alice@example.test',
   'alias:{@example.test}');
is(members('domain:{example.test}:aliases'),
   '@example.test,info@example.test', 'catch-all in the domain\'s aliases');

is_deeply(mailctl('', 'alias', 'add', 'postmaster@other.test',
                  'alice@example.test'),
          [ 0, '', '' ], 'alias in another domain');

is_deeply(mailctl('', 'alias', 'add', 'info@example.test', 'dave@x.test',
                  'bob@remote.org'),
          [ 2, '', "mailctl: alias \"info\@example.test\" already has target "
                   . "\"bob\@remote.org\"\n" ],
          'alias add: existing target');
is(members('alias:{info@example.test}'),
   'alice@example.test,bob@remote.org,carol@other.test',
   'existing target: nothing added');

is_deeply(mailctl('', 'alias', 'add', 'sales@nowhere.test',
                  'alice@example.test'),
          [ 2, '', "mailctl: unknown domain \"nowhere.test\"\n" ],
          'alias add: unknown domain');
is_deeply(mailctl('', 'alias', 'add', '@nowhere.test', 'alice@example.test'),
          [ 2, '', "mailctl: unknown domain \"nowhere.test\"\n" ],
          'alias add: catch-all of an unknown domain');
is_deeply(mailctl('', 'alias', 'add', 'alice@example.test',
                  'bob@remote.org'),
          [ 2, '', "mailctl: \"alice\@example.test\" is a user; an alias "
                   . "cannot have the same address\n" ],
          'alias add: source is a user');
is_deeply(mailctl('', 'alias', 'add', 'loop@example.test', 'x@example.test',
                  'Loop@example.test'),
          [ 2, '', "mailctl: alias \"loop\@example.test\" cannot point to "
                   . "itself\n" ],
          'alias add: source among the targets');
is_deeply(mailctl('', 'alias', 'add', 'twice@example.test', 'x@remote.org',
                  'X@remote.org'),
          [ 2, '', "mailctl: target \"x\@remote.org\" is given twice\n" ],
          'alias add: a target twice');

my @invalid = (
    [ [ 'info@', 'x@remote.org' ],
      'invalid address "info@": missing domain' ],
    [ [ 'a..b@example.test', 'x@remote.org' ],
      'invalid address "a..b@example.test": two dots in a row in local part' ],
    [ [ '"a b"@example.test', 'x@remote.org' ],
      'invalid address ""a b"@example.test": quoted local part not allowed' ],
    [ [ '@', 'x@remote.org' ], 'invalid catch-all "@": empty domain' ],
    [ [ '@-example.test', 'x@remote.org' ],
      'invalid catch-all "@-example.test": label starts with a hyphen' ],
    [ [ 'sales@example.test', 'x@remote' ],
      'invalid address "x@remote": a domain needs at least two labels' ],
    [ [ 'sales@example.test', 'ok@remote.org', 'x' ],
      'invalid address "x": missing @domain' ],
    [ [ 'sales@example.test', '@remote.org' ],
      'invalid address "@remote.org": missing local part' ],
);

for my $case (@invalid) {
    my ($args, $message) = @$case;
    is_deeply(mailctl('', 'alias', 'add', '--', @$args),
              [ 2, '', "mailctl: $message\n" ], "alias add: $message");
}

is(members('domain:{example.test}:aliases'),
   '@example.test,info@example.test', 'bad aliases were not added');
is(redis('KEYS', 'alias:{sales*'), '', 'no alias:{sales@example.test}');

my ($rc, $out, $err) = $t->mailctl('', 'alias', 'add', 'sales@example.test');
is($rc, 1, 'alias add without TARGET: exit 1');
like($err,
     qr/\Amailctl:\ missing\ argument\ to\ "alias\ add"\n
        Usage:\ mailctl\ alias\ add\ SOURCE\ TARGET\.\.\.\n\z/x,
     'alias add without TARGET: message');

is_deeply(mailctl('', '-s', '127.0.0.1:1', 'alias', 'add',
                  'sales@example.test', 'x@remote.org'),
          [ 3, '', "mailctl: cannot connect to Redis at 127.0.0.1:1: "
                   . "Connection refused\n" ],
          'alias add: unreachable Redis: exit 3');


# --- alias list -------------------------------------------------------------

is_deeply(mailctl('', 'alias', 'list'),
          [ 0, "\@example.test -> alice\@example.test\n"
               . "info\@example.test -> alice\@example.test, bob\@remote.org, "
               . "carol\@other.test\n"
               . "postmaster\@other.test -> alice\@example.test\n",
            '' ],
          'alias list');
is_deeply(mailctl('', 'alias', 'list', 'Other.test'),
          [ 0, "postmaster\@other.test -> alice\@example.test\n", '' ],
          'alias list DOMAIN');
is(rc('', 'domain', 'add', 'empty.test'), 0, 'domain without aliases');
is_deeply(mailctl('', 'alias', 'list', 'empty.test'), [ 0, '', '' ],
          'alias list: no aliases');
is_deeply(mailctl('', 'alias', 'list', 'nowhere.test'),
          [ 2, '', "mailctl: unknown domain \"nowhere.test\"\n" ],
          'alias list: unknown domain');
is_deeply(mailctl('', 'alias', 'list', 'nowhere'),
          [ 2, '', "mailctl: invalid domain \"nowhere\": a domain needs at "
                   . "least two labels\n" ],
          'alias list: invalid domain');


# --- alias del --------------------------------------------------------------

is_deeply(mailctl('', 'alias', 'del', 'info@example.test', 'Bob@Remote.org',
                  'carol@other.test'),
          [ 0, '', '' ], 'alias del SOURCE TARGET TARGET');
is(members('alias:{info@example.test}'), 'alice@example.test',
   'targets removed');

is_deeply(mailctl('', 'alias', 'del', 'info@example.test', 'alice@example.test',
                  'dave@x.test'),
          [ 2, '', "mailctl: alias \"info\@example.test\" has no target "
                   . "\"dave\@x.test\"\n" ],
          'alias del: not a target');
is(members('alias:{info@example.test}'), 'alice@example.test',
   'not a target: nothing removed');

is_deeply(mailctl('', 'alias', 'del', 'info@example.test',
                  'alice@example.test'),
          [ 0, '', '' ], 'alias del: the last target');
is(redis('EXISTS', 'alias:{info@example.test}'), 0, 'alias gone');
is(members('domain:{example.test}:aliases'), '@example.test',
   'not in domain:{example.test}:aliases');

is_deeply(mailctl('', 'alias', 'del', '@example.test'), [ 0, '', '' ],
          'alias del SOURCE: the catch-all');
is(redis('EXISTS', 'alias:{@example.test}'), 0, 'catch-all gone');
is(members('domain:{example.test}:aliases'), '',
   'domain:{example.test}:aliases empty');

is(rc('', 'alias', 'add', 'team@example.test', 'a@remote.org',
      'b@remote.org'), 0, 'alias team');
is_deeply(mailctl('', 'alias', 'del', 'TEAM@example.test'), [ 0, '', '' ],
          'alias del SOURCE: every target');
is(redis('EXISTS', 'alias:{team@example.test}'), 0, 'alias gone');

for my $args ([ 'info@example.test' ], [ 'info@example.test', 'x@y.test' ]) {
    is_deeply(mailctl('', 'alias', 'del', @$args),
              [ 2, '', "mailctl: unknown alias \"info\@example.test\"\n" ],
              'alias del: unknown alias, ' . @$args . ' argument(s)');
}
is_deeply(mailctl('', 'alias', 'del', 'info@'),
          [ 2, '', "mailctl: invalid address \"info\@\": missing domain\n" ],
          'alias del: invalid source');
is_deeply(mailctl('', 'alias', 'del', 'postmaster@other.test', 'x@'),
          [ 2, '', "mailctl: invalid address \"x\@\": missing domain\n" ],
          'alias del: invalid target');
is(members('alias:{postmaster@other.test}'), 'alice@example.test',
   'invalid target: nothing removed');

is_deeply(mailctl('', 'alias', 'list'),
          [ 0, "postmaster\@other.test -> alice\@example.test\n", '' ],
          'alias list after the deletes');

done_testing;
