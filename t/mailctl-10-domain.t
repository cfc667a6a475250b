#!/usr/bin/perl

# mailctl: command line, help, choice of Redis server, domain add|del|list.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use MailTest;

my $t = MailTest->new;
my $port = $t->start_redis;

# Checks go over one socket: on a slow machine a redis-cli per check costs
# more than the mailctl run it checks (MailTest::redis_fast).
sub redis { $t->redis_fast(@_) }

sub in_db {
    my ($db, @args) = @_;
    redis('SELECT', $db);
    my $reply = redis(@args);
    redis('SELECT', 0);
    return $reply;
}

# Runs mailctl; returns [exit code, stdout, stderr] for is_deeply.
sub mailctl { [ $t->mailctl(@_) ] }

# Runs mailctl; returns its exit code.
sub rc { ($t->mailctl(@_))[0] }

sub usage_error {
    my ($args, $message, $name) = @_;
    my ($rc, $out, $err) = $t->mailctl('', @$args);
    is($rc, 1, "$name: exit 1");
    is($out, '', "$name: nothing on stdout");
    like($err, qr/\Amailctl: \Q$message\E\n/, "$name: message");
}


# --- help -------------------------------------------------------------------

my ($rc, $out, $err) = $t->mailctl('', '--help');
is($rc, 0, 'mailctl --help: exit 0');
like($out, qr/\AUsage: mailctl \[-s HOST:PORT \| -s unix:PATH\] \[-n DB\]/,
     'mailctl --help: usage');
for my $cmd ('domain add', 'domain del', 'domain list', 'user add',
             'user del', 'user passwd', 'user apop', 'user list',
             'user show', 'user quota', 'user enable', 'user disable',
             'alias add', 'alias del', 'alias list')
{
    like($out, qr/^  \Q$cmd\E +\S/m, "mailctl --help lists $cmd");
}
like($out, qr/REDIS_URL/, 'mailctl --help: REDIS_URL');
like($out, qr/REDIS_PASSWORD/, 'mailctl --help: REDIS_PASSWORD');
like($out, qr/Exit status: 0 done, 1 usage error, 2 invalid input/,
     'mailctl --help: exit codes');
is($err, '', 'mailctl --help: nothing on stderr');

is_deeply(mailctl('', '-h'), [ $t->mailctl('', '--help') ], 'mailctl -h');

($rc, $out, $err) = $t->mailctl('', 'user', '--help');
is($rc, 0, 'mailctl user --help: exit 0');
ok(index($out, "  mailctl user add ADDRESS [--quota SIZE] [--scheme SCHEME]"
              . " [--disabled]\n") >= 0,
   'mailctl user --help: user add');
like($out, qr/^  mailctl user quota ADDRESS SIZE$/m,
     'mailctl user --help: user quota');
unlike($out, qr/domain add/, 'mailctl user --help: only user commands');

my %synopsis = (
    'domain add'   => 'DOMAIN',
    'domain del'   => 'DOMAIN [--force]',
    'domain list'  => '',
    'user add'     => 'ADDRESS [--quota SIZE] [--scheme SCHEME] [--disabled]',
    'user del'     => 'ADDRESS',
    'user passwd'  => 'ADDRESS [--scheme SCHEME]',
    'user apop'    => 'ADDRESS [--clear]',
    'user list'    => '[DOMAIN]',
    'user show'    => 'ADDRESS',
    'user quota'   => 'ADDRESS SIZE',
    'user enable'  => 'ADDRESS',
    'user disable' => 'ADDRESS',
    'alias add'    => 'SOURCE TARGET...',
    'alias del'    => 'SOURCE [TARGET...]',
    'alias list'   => '[DOMAIN]',
);

for my $cmd (sort keys %synopsis) {
    ($rc, $out, $err) = $t->mailctl('', split(/ /, $cmd), '--help');
    is($rc, 0, "mailctl $cmd --help: exit 0");
    like($out, qr/\AUsage: mailctl \Q$cmd $synopsis{$cmd}\E\n\n\S/,
         "mailctl $cmd --help: usage and description");
}

# help needs no Redis
($rc, $out) = $t->mailctl('', '-s', '127.0.0.1:1', 'domain', 'del',
                          '--help');
is($rc, 0, 'help without Redis');


# --- usage errors -----------------------------------------------------------

usage_error([], 'missing command', 'no command');
usage_error(['frobnicate'], 'unknown command "frobnicate"', 'bad command');
usage_error(['domain'], 'missing domain command', 'no domain command');
usage_error(['domain', 'rename'], 'unknown domain command "rename"',
            'bad domain command');
usage_error(['domain', 'add'], 'missing argument to "domain add"',
            'domain add without DOMAIN');
usage_error(['domain', 'add', 'a.test', 'b.test'],
            'too many arguments to "domain add"', 'domain add twice');
usage_error(['domain', 'list', 'a.test'],
            'too many arguments to "domain list"', 'domain list DOMAIN');
usage_error(['domain', 'add', 'a.test', '--force'],
            'option "--force" does not apply to "domain add"',
            'domain add --force');
usage_error(['domain', 'list', '--bogus'], 'unknown option "--bogus"',
            'unknown option');
usage_error(['-s'], 'option "-s" needs a value', '-s without value');
usage_error(['-s', 'localhost:0', 'domain', 'list'],
            'invalid server "localhost:0": port must be a number from 1 to '
            . '65535', 'bad port');
usage_error(['-s', '[::1', 'domain', 'list'],
            'invalid server "[::1": missing "]"', 'bad IPv6 address');
usage_error(['-n', 'x', 'domain', 'list'],
            'invalid database "x": database must be a number, 0 or more',
            'bad database');

is(redis('KEYS', '*'), '', 'usage errors wrote nothing');


# --- domain add -------------------------------------------------------------

is_deeply(mailctl('', 'domain', 'add', 'Example.TEST'), [ 0, '', '' ],
          'domain add Example.TEST');
is(redis('SMEMBERS', 'domains'), 'example.test', 'stored in lower case');
my $created = redis('HGET', 'domain:{example.test}', 'created');
ok(abs($created - time) < 10, 'domain:{example.test} created is now');

is_deeply(mailctl('', 'domain', 'add', 'example.test'),
          [ 2, '', "mailctl: domain \"example.test\" already exists\n" ],
          'domain add: duplicate');
is_deeply(mailctl('', 'domain', 'add', 'EXAMPLE.test'),
          [ 2, '', "mailctl: domain \"example.test\" already exists\n" ],
          'domain add: duplicate in other case');

for my $domain ('xn--bcher-kva.test', '1.mail-1.test', 'a.b.c.d.test',
                ('a' x 63) . '.test',
                join('.', ('a' x 63) x 3, 'b' x 61))
{
    is_deeply(mailctl('', 'domain', 'add', $domain), [ 0, '', '' ],
              'domain add ' . length($domain) . ' chars: ' . substr($domain,
              0, 30));
}

my @invalid = (
    [ '', 'empty domain' ],
    [ 'localhost', 'a domain needs at least two labels' ],
    [ '-a.test', 'label starts with a hyphen' ],
    [ 'a.-b.test', 'label starts with a hyphen' ],
    [ 'a-.test', 'label ends with a hyphen' ],
    [ 'a.test-', 'label ends with a hyphen' ],
    [ 'a..test', 'empty label' ],
    [ '.a.test', 'empty label' ],
    [ 'a.test.', 'empty label' ],
    [ 'a_b.test', 'only letters, digits, hyphens and dots are allowed' ],
    [ 'a b.test', 'only letters, digits, hyphens and dots are allowed' ],
    [ 'user@a.test', 'only letters, digits, hyphens and dots are allowed' ],
    [ "b\xc3\xbccher.test",
      'non-ASCII character, use the xn-- (A-label) form' ],
    [ ('a' x 64) . '.test', 'label longer than 63 characters' ],
    [ join('.', ('a' x 63) x 3, 'b' x 62),
      'domain longer than 253 characters' ],
    [ '192.0.2.1', 'top-level label is all digits' ],
);

for my $case (@invalid) {
    my ($domain, $reason) = @$case;
    is_deeply(mailctl('', 'domain', 'add', '--', $domain),
              [ 2, '', "mailctl: invalid domain \"$domain\": $reason\n" ],
              "domain add: $reason: " . substr($domain, 0, 20));
}

is(redis('SCARD', 'domains'), 6, 'invalid domains were not added');

usage_error(['domain', 'add', '-a.test'], 'unknown option "-a.test"',
            'a leading "-" needs "--"');


# --- domain list ------------------------------------------------------------

is_deeply(mailctl('', 'domain', 'list'),
          [ 0, join('', map { "$_\n" } sort
                        'example.test', 'xn--bcher-kva.test',
                        '1.mail-1.test', 'a.b.c.d.test',
                        ('a' x 63) . '.test',
                        join('.', ('a' x 63) x 3, 'b' x 61)),
            '' ],
          'domain list: sorted, one per line');


# --- domain del -------------------------------------------------------------

is_deeply(mailctl('', 'domain', 'del', 'nowhere.test'),
          [ 2, '', "mailctl: unknown domain \"nowhere.test\"\n" ],
          'domain del: unknown domain');
is_deeply(mailctl('', 'domain', 'del', 'bad..test'),
          [ 2, '', "mailctl: invalid domain \"bad..test\": empty label\n" ],
          'domain del: invalid domain');

is_deeply(mailctl('', 'domain', 'del', 'A.B.C.D.test'), [ 0, '', '' ],
          'domain del: empty domain');
is(redis('SISMEMBER', 'domains', 'a.b.c.d.test'), 0, 'not in domains');
is(redis('EXISTS', 'domain:{a.b.c.d.test}'), 0, 'domain hash gone');

# users and aliases as mailctl writes them; t/mailctl-20-user.t tests that
sub add_user {
    my ($addr) = @_;
    my ($domain) = $addr =~ /@(.*)/;
    redis('HSET', "user:{$addr}", 'password', '$y$j9T$x$y', 'quota_bytes', 0,
          'enabled', 1, 'created', time);
    redis('SADD', "domain:{$domain}:users", $addr);
    redis('SET', "user:{$addr}:authfail", 3);
}

sub add_alias {
    my ($source, @targets) = @_;
    my ($domain) = $source =~ /@(.*)/;
    redis('SADD', "alias:{$source}", @targets);
    redis('SADD', "domain:{$domain}:aliases", $source);
}

add_user('alice@example.test');
add_user('bob@example.test');
add_alias('info@example.test', 'alice@example.test');

is_deeply(mailctl('', 'domain', 'del', 'example.test'),
          [ 2, '', "mailctl: domain \"example.test\" still has 2 users and "
                   . "1 alias; --force deletes them too\n" ],
          'domain del: refused while it has users and aliases');
is(redis('EXISTS', 'user:{alice@example.test}'), 1, 'users kept');

redis('DEL', 'user:{bob@example.test}', 'user:{bob@example.test}:authfail');
redis('SREM', 'domain:{example.test}:users', 'bob@example.test');
is_deeply(mailctl('', 'domain', 'del', 'example.test'),
          [ 2, '', "mailctl: domain \"example.test\" still has 1 user and "
                   . "1 alias; --force deletes them too\n" ],
          'domain del: one user, one alias');

add_user('bob@example.test');
add_alias('@example.test', 'bob@example.test', 'carol@1.mail-1.test');
add_user('carol@1.mail-1.test');

is_deeply(mailctl('', 'domain', 'del', '--force', 'example.test'),
          [ 0, '', '' ], 'domain del --force');
is(join(',', sort split /\n/, redis('KEYS', '*example.test*')), '',
   'no key of example.test is left');
is(redis('SISMEMBER', 'domains', 'example.test'), 0, 'not in domains');
is(redis('EXISTS', 'user:{carol@1.mail-1.test}'), 1,
   'users of other domains kept');


# --- which Redis ------------------------------------------------------------

# a MailTest without its own Redis leaves REDIS_URL to us
my $bare = MailTest->new;
my $r;

sub with_env {
    my ($env, $stdin, @args) = @_;
    local %ENV = %ENV;
    delete @ENV{qw(REDIS_URL REDIS_PASSWORD)};
    @ENV{keys %$env} = values %$env;
    return [ $bare->mailctl($stdin, @args) ];
}

is_deeply(mailctl('', '-s', '127.0.0.1:1', 'domain', 'list'),
          [ 3, '', "mailctl: cannot connect to Redis at 127.0.0.1:1: "
                   . "Connection refused\n" ],
          'unreachable Redis: exit 3');
is_deeply(with_env({ REDIS_URL => 'redis://127.0.0.1:1' }, '', 'domain',
                   'add', 'x.test'),
          [ 3, '', "mailctl: cannot connect to Redis at 127.0.0.1:1: "
                   . "Connection refused\n" ],
          'unreachable Redis from REDIS_URL: exit 3');

is_deeply(mailctl('', '-s', "127.0.0.1:$port", 'domain', 'list'),
          mailctl('', 'domain', 'list'), '-s HOST:PORT');
is_deeply(mailctl('', '--server', "127.0.0.1:$port", 'domain', 'list'),
          mailctl('', 'domain', 'list'), '--server HOST:PORT');
$r = with_env({}, '', '-s', '[::1]:1', 'domain', 'list');
is($r->[0], 3, '-s [IPv6]:PORT: exit 3');
like($r->[2], qr/^mailctl: cannot connect to Redis at \[::1\]:1: /,
     '-s [IPv6]:PORT: message');

is_deeply(mailctl('', '-n', 2, 'domain', 'add', 'two.test'), [ 0, '', '' ],
          '-n 2');
is(in_db(2, 'SMEMBERS', 'domains'), 'two.test', 'in database 2');
is(redis('SISMEMBER', 'domains', 'two.test'), 0, 'not in database 0');

is_deeply(with_env({ REDIS_URL => "redis://127.0.0.1:$port/3" }, '',
                   'domain', 'add', 'three.test'),
          [ 0, '', '' ], 'REDIS_URL redis://HOST:PORT/DB');
is(in_db(3, 'SMEMBERS', 'domains'), 'three.test', 'in database 3');
is_deeply(with_env({ REDIS_URL => "redis://127.0.0.1:$port/3" }, '',
                   '-n', 4, 'domain', 'add', 'four.test'),
          [ 0, '', '' ], '-n overrides the database of REDIS_URL');
is(in_db(4, 'SMEMBERS', 'domains'), 'four.test', 'in database 4');

for my $url ('http://127.0.0.1/', 'redis://127.0.0.1:http', 'redis://h/x',
             'unix:', 'unix:/tmp/x?password=1')
{
    $r = with_env({ REDIS_URL => $url }, '', 'domain', 'list');
    is($r->[0], 1, "REDIS_URL $url: exit 1");
    like($r->[2], qr/^mailctl: invalid REDIS_URL: /, "REDIS_URL $url: message");
}

$r = with_env({ REDIS_URL => 'redis://:Sup3rSecret@127.0.0.1:x' }, '',
                 'domain', 'list');
is($r->[0], 1, 'bad REDIS_URL with a password: exit 1');
unlike($r->[2], qr/Sup3rSecret/, 'the password is not repeated');

is_deeply(with_env({ REDIS_URL => 'rediss://127.0.0.1' }, '', 'domain',
                   'list'),
          [ 1, '', "mailctl: invalid REDIS_URL: TLS (rediss://) is not "
                   . "supported\n" ],
          'REDIS_URL rediss://');

# an ACL user: redis://USER:PASSWORD@HOST:PORT, %-escapes decoded
redis('ACL', 'SETUSER', 'admin', 'on', '>p@ss/w:rd', '~*', '&*', '+@all');

is_deeply(with_env({ REDIS_URL => "redis://admin:p%40ss%2Fw%3Ard\@127.0.0.1:"
                                  . "$port/5" },
                   '', 'domain', 'add', 'acl.test'),
          [ 0, '', '' ], 'REDIS_URL with user and %-escaped password');
is(in_db(5, 'SMEMBERS', 'domains'), 'acl.test', 'in database 5');

is_deeply(with_env({ REDIS_URL => "redis://admin:p\@ss/w:rd\@127.0.0.1:$port" },
                   '', 'domain', 'list'),
          mailctl('', 'domain', 'list'),
          'REDIS_URL with a raw "@" in the password');

$r = with_env({ REDIS_URL => "redis://admin:wrong\@127.0.0.1:$port" }, '',
              'domain', 'list');
is($r->[0], 3, 'wrong password: exit 3');
like($r->[2],
     qr/^mailctl: Redis at 127\.0\.0\.1:$port refused the password: WRONGPASS/,
     'wrong password: message');

# requirepass: REDIS_PASSWORD, or the password of REDIS_URL
redis('CONFIG', 'SET', 'requirepass', 'Req Pass');

$r = with_env({ REDIS_URL => "redis://127.0.0.1:$port" }, '', 'domain',
              'list');
is($r->[0], 3, 'no password: exit 3');
like($r->[2], qr/^mailctl: Redis at 127\.0\.0\.1:$port: NOAUTH/,
     'no password: message');

is_deeply(with_env({ REDIS_URL => "redis://127.0.0.1:$port",
                     REDIS_PASSWORD => 'Req Pass' },
                   '', 'domain', 'add', 'pass.test'),
          [ 0, '', '' ], 'REDIS_PASSWORD');
is_deeply(with_env({ REDIS_PASSWORD => 'Req Pass' }, '', '-s',
                   "127.0.0.1:$port", 'domain', 'del', 'pass.test'),
          [ 0, '', '' ], 'REDIS_PASSWORD with -s');
is_deeply(with_env({ REDIS_URL => "redis://:Req%20Pass\@127.0.0.1:$port",
                     REDIS_PASSWORD => 'not this one' },
                   '', 'domain', 'add', 'pass.test'),
          [ 0, '', '' ], 'the password of REDIS_URL before REDIS_PASSWORD');

# this connection was made before the password
redis('CONFIG', 'SET', 'requirepass', '');
is(redis('SISMEMBER', 'domains', 'pass.test'), 1, 'added with password');

# a unix socket: a Redis of our own, as the harness listens on TCP only
SKIP: {
    my $sock = $t->dir . '/unix-redis.sock';
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $t->dir . '/unix-redis.log';
        open STDERR, '>&', \*STDOUT;
        exec 'redis-server', '--port', 0, '--unixsocket', $sock,
             '--save', '', '--appendonly', 'no', '--dir', $t->dir;
        exit 1;
    }
    for (1 .. 200) { last if -S $sock; select undef, undef, undef, 0.02 }
    unless (-S $sock) {
        kill 'TERM', $pid; waitpid $pid, 0;
        skip 'redis-server on a unix socket did not start', 4;
    }

    is_deeply(with_env({ REDIS_URL => "unix:$sock?db=6" }, '', 'domain',
                       'add', 'sock.test'),
              [ 0, '', '' ], 'REDIS_URL unix:PATH?db=N');
    is_deeply(with_env({}, '', '-s', "unix:$sock", '-n', 6, 'domain',
                       'list'),
              [ 0, "sock.test\n", '' ], '-s unix:PATH');
    is_deeply(with_env({ REDIS_URL => "unix://$sock" }, '', 'domain',
                       'list'),
              [ 0, '', '' ], 'REDIS_URL unix://PATH, database 0');
    is_deeply(with_env({}, '', '-s', "unix:$sock.missing", 'domain', 'list'),
              [ 3, '', "mailctl: cannot connect to Redis at "
                       . "unix:$sock.missing: No such file or directory\n" ],
              'missing socket: exit 3');

    kill 'TERM', $pid;
    waitpid $pid, 0;
}

done_testing;
