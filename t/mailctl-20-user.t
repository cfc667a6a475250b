#!/usr/bin/perl

# mailctl user add|del|passwd|apop|list|show|quota|enable|disable.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IPC::Open2;
use POSIX qw(strftime);
use Test::More;
use MailTest qw(build_dir);

my $t = MailTest->new;
my $port = $t->start_redis;

# Checks go over one socket: on a slow machine a redis-cli per check costs
# more than the mailctl run it checks (MailTest::redis_fast).
sub redis { $t->redis_fast(@_) }

# Runs mailctl; returns [exit code, stdout, stderr] for is_deeply.
sub mailctl { [ $t->mailctl(@_) ] }

# Runs mailctl; returns its exit code.
sub rc { ($t->mailctl(@_))[0] }

sub user { my %h = split /\n/, redis('HGETALL', "user:{$_[0]}"); \%h }

sub password_is {
    my ($addr, $prefix, $password, $name) = @_;
    my $hash = user($addr)->{password};
    like($hash, qr/\A\Q$prefix\E/, "$name: $prefix hash");
    is(crypt($password, $hash), $hash, "$name: the password matches");
}

is(rc('', 'domain', 'add', 'example.test'), 0, 'domain example.test');
is(rc('', 'domain', 'add', 'other.test'), 0, 'domain other.test');


# --- user add ---------------------------------------------------------------

is_deeply(mailctl("Secret 1\n", 'user', 'add', 'Alice@Example.TEST'),
          [ 0, '', '' ], 'user add Alice@Example.TEST');

my $alice = user('alice@example.test');
is_deeply([ sort keys %$alice ],
          [ qw(created enabled mailbox_next password quota_bytes) ],
          'user:{alice@example.test} fields');
is($alice->{mailbox_next}, 6, 'six mailboxes made for the new user');
is($alice->{enabled}, 1, 'enabled');
is($alice->{quota_bytes}, 0, 'quota 0: unlimited');
ok(abs($alice->{created} - time) < 10, 'created is now');
password_is('alice@example.test', '$y$', 'Secret 1', 'default scheme');
isnt(crypt('Secret 2', $alice->{password}), $alice->{password},
     'another password does not match');
is(redis('SMEMBERS', 'domain:{example.test}:users'),
   'alice@example.test', 'in domain:{example.test}:users');

is_deeply(mailctl("pw\r\n", 'user', 'add', 'crlf@example.test'),
          [ 0, '', '' ], 'password line ending in CRLF');
password_is('crlf@example.test', '$y$', 'pw', 'CRLF stripped');

is_deeply(mailctl("first line\nsecond line\n", 'user', 'add',
                  'lines@example.test'),
          [ 0, '', '' ], 'two lines on stdin');
password_is('lines@example.test', '$y$', 'first line', 'first line only');

is_deeply(mailctl(" no newline ", 'user', 'add', 'nonl@example.test'),
          [ 0, '', '' ], 'password without newline');
password_is('nonl@example.test', '$y$', ' no newline ', 'blanks kept');

is_deeply(mailctl("pw\n", 'user', 'add', 'bob@example.test', '--scheme',
                  'bcrypt', '--quota', '10M', '--disabled'),
          [ 0, '', '' ], 'user add --scheme bcrypt --quota 10M --disabled');
password_is('bob@example.test', '$2b$', 'pw', 'bcrypt');
is(user('bob@example.test')->{quota_bytes}, 10 * 1024 * 1024, 'quota 10M');
is(user('bob@example.test')->{enabled}, 0, 'disabled');

is_deeply(mailctl("pw\n", 'user', 'add', '--scheme=sha512-crypt',
                  '--quota=512k', 'carol@other.test'),
          [ 0, '', '' ], 'user add --scheme=sha512-crypt --quota=512k');
password_is('carol@other.test', '$6$', 'pw', 'sha512-crypt');
is(user('carol@other.test')->{quota_bytes}, 512 * 1024, 'quota 512k');
is(redis('SMEMBERS', 'domain:{other.test}:users'), 'carol@other.test',
   'in domain:{other.test}:users');

# every character RFC 5321 allows in a dot-atom, in the longest local part
my $odd = "o'brien+tag.a-b_c=d!#\$%&*/?^`{|}~";
$odd .= 'l' x (64 - length $odd);
is_deeply(mailctl("pw\n", 'user', 'add', "$odd\@example.test"),
          [ 0, '', '' ], 'user add: unusual local part of 64 characters');

is_deeply(mailctl("pw\n", 'user', 'add', 'alice@example.test'),
          [ 2, '', "mailctl: user \"alice\@example.test\" already exists\n" ],
          'user add: duplicate');
is_deeply(mailctl("pw\n", 'user', 'add', 'ALICE@example.test'),
          [ 2, '', "mailctl: user \"alice\@example.test\" already exists\n" ],
          'user add: duplicate in other case');
is(user('alice@example.test')->{password}, $alice->{password},
   'duplicate: password unchanged');

is_deeply(mailctl("pw\n", 'user', 'add', 'dave@nowhere.test'),
          [ 2, '', "mailctl: unknown domain \"nowhere.test\"\n" ],
          'user add: unknown domain');
is(redis('EXISTS', 'user:{dave@nowhere.test}'), 0, 'no user key');

is(rc('', 'alias', 'add', 'info@example.test', 'alice@example.test'), 0,
   'alias info@example.test');
is_deeply(mailctl("pw\n", 'user', 'add', 'info@example.test'),
          [ 2, '', "mailctl: \"info\@example.test\" is an alias; delete the "
                   . "alias first\n" ],
          'user add: address of an alias');
is(redis('EXISTS', 'user:{info@example.test}'), 0, 'no user key');

is_deeply(mailctl('', 'user', 'add', 'empty@example.test'),
          [ 2, '', "mailctl: empty password\n" ], 'user add: no password');
is_deeply(mailctl("\n", 'user', 'add', 'empty@example.test'),
          [ 2, '', "mailctl: empty password\n" ], 'user add: empty line');
is_deeply(mailctl("\r\n", 'user', 'add', 'empty@example.test'),
          [ 2, '', "mailctl: empty password\n" ], 'user add: CRLF only');
is_deeply(mailctl("a\0b\n", 'user', 'add', 'empty@example.test'),
          [ 2, '', "mailctl: the password contains a NUL byte\n" ],
          'user add: NUL in password');
is_deeply(mailctl(('x' x 512) . "\n", 'user', 'add', 'empty@example.test'),
          [ 2, '', "mailctl: the password is longer than 511 bytes\n" ],
          'user add: password too long');
is_deeply(mailctl(('x' x 73) . "\n", 'user', 'add', 'empty@example.test',
                  '--scheme', 'bcrypt'),
          [ 2, '', "mailctl: bcrypt uses only the first 72 bytes of a "
                   . "password; use a shorter one or another scheme\n" ],
          'user add: password too long for bcrypt');
is(redis('EXISTS', 'user:{empty@example.test}'), 0, 'no user key');
is(redis('SISMEMBER', 'domain:{example.test}:users',
             'empty@example.test'), 0, 'not in the index');

my @invalid = (
    [ '', 'empty address' ],
    [ 'foo', 'missing @domain' ],
    [ 'foo@', 'missing domain' ],
    [ '@example.test', 'missing local part' ],
    [ 'foo@bar@example.test', 'more than one @' ],
    [ '.foo@example.test', 'local part starts with a dot' ],
    [ 'foo.@example.test', 'local part ends with a dot' ],
    [ 'fo..o@example.test', 'two dots in a row in local part' ],
    [ 'fo o@example.test', "local part allows only letters, digits, dots and "
                           . "!#\$%&'*+-/=?^_`{|}~" ],
    [ 'fo(o)@example.test', "local part allows only letters, digits, dots and "
                            . "!#\$%&'*+-/=?^_`{|}~" ],
    [ '"foo"@example.test', 'quoted local part not allowed' ],
    [ '"foo bar"@example.test', 'quoted local part not allowed' ],
    [ '"foo@example.test', 'unterminated quoted local part' ],
    [ ('l' x 65) . '@example.test', 'local part longer than 64 characters' ],
    [ 'foo@-example.test', 'label starts with a hyphen' ],
    [ 'foo@example..test', 'empty label' ],
    [ 'foo@localhost', 'a domain needs at least two labels' ],
    [ 'foo@[192.0.2.1]', 'only letters, digits, hyphens and dots are allowed' ],
    [ "j\xc3\xb6rg\@example.test", "local part allows only letters, digits, "
                                   . "dots and !#\$%&'*+-/=?^_`{|}~" ],
    [ 'l@' . join('.', ('d' x 63) x 3, 'd' x 62),
      'address longer than 254 characters' ],
);

for my $case (@invalid) {
    my ($addr, $reason) = @$case;
    is_deeply(mailctl("pw\n", 'user', 'add', '--', $addr),
              [ 2, '', "mailctl: invalid address \"$addr\": $reason\n" ],
              "user add: $reason: " . substr($addr, 0, 20));
}

is_deeply(mailctl("pw\n", 'user', 'add', 'x@example.test', '--quota', '1T'),
          [ 2, '', "mailctl: invalid size \"1T\": expected a number of bytes, "
                   . "optionally with a K, M or G suffix\n" ],
          'user add: bad quota');
is_deeply(mailctl("pw\n", 'user', 'add', 'x@example.test', '--scheme', 'md5'),
          [ 1, '', "mailctl: unknown scheme \"md5\": use yescrypt, bcrypt or "
                   . "sha512-crypt\n" ],
          'user add: unknown scheme');
is(redis('EXISTS', 'user:{x@example.test}'), 0, 'no user key');

# a password has no place on the command line, where ps(1) shows it
my ($rc, $out, $err) = $t->mailctl('', 'user', 'add', 'x@example.test',
                                   'Secret');
is($rc, 1, 'password as an argument: exit 1');
is($err, "mailctl: too many arguments to \"user add\"\n"
          . "Usage: mailctl user add ADDRESS [--quota SIZE] [--scheme SCHEME] "
          . "[--disabled]\n",
     'password as an argument: message');
($rc, $out, $err) = $t->mailctl('', 'user', 'add', 'x@example.test',
                                '--password', 'Secret');
is($rc, 1, 'no --password option: exit 1');
like($err, qr/\Amailctl: unknown option "--password"/,
     'no --password option: message');
is(redis('EXISTS', 'user:{x@example.test}'), 0, 'no user key');

is_deeply(mailctl("pw\n", '-s', '127.0.0.1:1', 'user', 'add',
                  'x@example.test'),
          [ 3, '', "mailctl: cannot connect to Redis at 127.0.0.1:1: "
                   . "Connection refused\n" ],
          'user add: unreachable Redis: exit 3');


# --- the password from a terminal -------------------------------------------

# Runs mailctl on a pseudo-terminal made by script(1), typing each of
# @$typed after a password or APOP secret prompt; returns (exit code, what
# the terminal showed).

sub on_terminal {
    my ($typed, @args) = @_;
    local $ENV{REDIS_URL} = "redis://127.0.0.1:$port";
    my $cmd = join ' ', map { quotemeta } build_dir() . '/mailctl', @args;
    my $pid = open2(my $from, my $to, 'script', '-qfec', $cmd, '/dev/null');
    my $sel = IO::Select->new($from);
    my ($screen, $prompts) = ('', 0);
    my $deadline = time + 10;
    while (time < $deadline) {
        $sel->can_read(1) or next;
        sysread($from, my $buf, 4096) or last;
        $screen .= $buf;
        my $seen = () = $screen =~ /(?:password|secret): /gi;
        while ($prompts < $seen && @$typed) {
            print $to shift(@$typed), "\n";
            $to->flush;
            $prompts++;
        }
    }
    close $to;
    waitpid $pid, 0;
    return ($? >> 8, $screen);
}

SKIP: {
    skip 'script(1) cannot make a terminal here', 8
        unless system('script -qec true /dev/null >/dev/null 2>&1') == 0;

    my ($rc, $screen) = on_terminal([ 'Tty Secret', 'Tty Secret' ], 'user',
                                    'add', 'tty@example.test');
    is($rc, 0, 'terminal: exit 0');
    like($screen, qr/\APassword: \r?\nRetype password: \r?\n\z/,
         'terminal: both prompts, nothing echoed');
    unlike($screen, qr/Tty Secret/, 'terminal: the password is not echoed');
    password_is('tty@example.test', '$y$', 'Tty Secret', 'terminal');

    ($rc, $screen) = on_terminal([ 'one', 'two' ], 'user', 'add',
                                 'tty2@example.test');
    is($rc, 2, 'terminal: mismatch: exit 2');
    like($screen, qr/mailctl: passwords do not match/,
         'terminal: mismatch: message');
}
is(redis('EXISTS', 'user:{tty2@example.test}'), 0, 'mismatch: no user');


# --- user passwd ------------------------------------------------------------

redis('SET', 'user:{alice@example.test}:authfail', 7);

is_deeply(mailctl("New Secret\n", 'user', 'passwd', 'ALICE@example.test'),
          [ 0, '', '' ], 'user passwd');
password_is('alice@example.test', '$y$', 'New Secret', 'user passwd');
is(redis('EXISTS', 'user:{alice@example.test}:authfail'), 0,
   'user passwd clears the failed logins');

is_deeply(mailctl("Bcrypt Secret\n", 'user', 'passwd', 'alice@example.test',
                  '--scheme', 'bcrypt'),
          [ 0, '', '' ], 'user passwd --scheme bcrypt');
password_is('alice@example.test', '$2b$', 'Bcrypt Secret', 'passwd bcrypt');

my $hash = user('alice@example.test')->{password};
is_deeply(mailctl("\n", 'user', 'passwd', 'alice@example.test'),
          [ 2, '', "mailctl: empty password\n" ], 'user passwd: empty');
is(user('alice@example.test')->{password}, $hash, 'empty: unchanged');

is_deeply(mailctl("pw\n", 'user', 'passwd', 'nobody@example.test'),
          [ 2, '', "mailctl: unknown user \"nobody\@example.test\"\n" ],
          'user passwd: unknown user');
is(redis('EXISTS', 'user:{nobody@example.test}'), 0, 'no user key');
is_deeply(mailctl("pw\n", 'user', 'passwd', 'nobody@'),
          [ 2, '', "mailctl: invalid address \"nobody\@\": missing domain\n" ],
          'user passwd: invalid address');
is_deeply(mailctl("pw\n", 'user', 'passwd', 'alice@example.test', '--quota',
                  '1'),
          [ 1, '', "mailctl: option \"--quota\" does not apply to \"user "
                   . "passwd\"\nUsage: mailctl user passwd ADDRESS "
                   . "[--scheme SCHEME]\n" ],
          'user passwd --quota: usage error');


# --- user apop --------------------------------------------------------------

# RFC 1939 7: the server hashes the secret with the greeting's timestamp,
# so it is stored as it was typed, in clear.
my %carol = %{ user('carol@other.test') };
redis('SET', 'user:{carol@other.test}:authfail', 3);

is_deeply(mailctl(" Apop Secret \n", 'user', 'apop', 'Carol@Other.TEST'),
          [ 0, '', '' ], 'user apop: the secret from stdin');
is(user('carol@other.test')->{apop_secret}, ' Apop Secret ',
   'apop_secret stored in clear, blanks kept');
is_deeply({ %{ user('carol@other.test') }, apop_secret => undef },
          { %carol, apop_secret => undef },
          'user apop: no other field changed');
is(redis('EXISTS', 'user:{carol@other.test}:authfail'), 0,
   'user apop clears the failed logins');

is_deeply(mailctl("line one\r\nline two\n", 'user', 'apop',
                  'carol@other.test'),
          [ 0, '', '' ], 'user apop: two lines, CRLF');
is(user('carol@other.test')->{apop_secret}, 'line one',
   'the first line, without CRLF');

for my $case ([ '', 'empty APOP secret' ],
              [ "\r\n", 'empty APOP secret' ],
              [ "a\0b\n", 'the APOP secret contains a NUL byte' ],
              [ ('x' x 512) . "\n",
                'the APOP secret is longer than 511 bytes' ],
              [ "pw\n", 'the APOP secret is the password of '
                        . '"carol@other.test"; as it is stored in clear, '
                        . 'choose another' ])
{
    my ($stdin, $message) = @$case;
    is_deeply(mailctl($stdin, 'user', 'apop', 'carol@other.test'),
              [ 2, '', "mailctl: $message\n" ], "user apop: $message");
}
is(user('carol@other.test')->{apop_secret}, 'line one',
   'refused secrets changed nothing');

# a secret has no place on the command line, where ps(1) shows it
is_deeply(mailctl('', 'user', 'apop', 'carol@other.test', 'Secret'),
          [ 1, '', "mailctl: too many arguments to \"user apop\"\n"
                   . "Usage: mailctl user apop ADDRESS [--clear]\n" ],
          'user apop: the secret as an argument is refused');
($rc, $out, $err) = $t->mailctl('', 'user', 'apop', 'carol@other.test',
                                '--secret=Secret');
is($rc, 1, 'no --secret option: exit 1');
like($err, qr/\Amailctl: unknown option "--secret=Secret"/,
     'no --secret option: message');
is(user('carol@other.test')->{apop_secret}, 'line one',
   'secrets on the command line changed nothing');

# the user is checked before the secret is asked for
is_deeply(mailctl("secret\n", 'user', 'apop', 'nobody@example.test'),
          [ 2, '', "mailctl: unknown user \"nobody\@example.test\"\n" ],
          'user apop: unknown user');
is_deeply(mailctl('', 'user', 'apop', 'nobody@example.test', '--clear'),
          [ 2, '', "mailctl: unknown user \"nobody\@example.test\"\n" ],
          'user apop --clear: unknown user');
is(redis('EXISTS', 'user:{nobody@example.test}'), 0,
   'no user key made by apop');
is_deeply(mailctl("secret\n", 'user', 'apop', 'nobody@'),
          [ 2, '', "mailctl: invalid address \"nobody\@\": missing domain\n" ],
          'user apop: invalid address');

is_deeply(mailctl("Alice Apop\n", 'user', 'apop', 'alice@example.test'),
          [ 0, '', '' ], 'user apop alice');
like(mailctl('', 'user', 'show', 'alice@example.test')->[1],
     qr/^scheme: bcrypt\napop: set\n/m, 'user show: apop: set');
my %alice_now = %{ user('alice@example.test') };
redis('SET', 'user:{alice@example.test}:authfail', 4);

# --clear reads nothing from stdin
is_deeply(mailctl("ignored\n", 'user', 'apop', 'alice@example.test',
                  '--clear'),
          [ 0, '', '' ], 'user apop --clear');
delete $alice_now{apop_secret};
is_deeply(user('alice@example.test'), \%alice_now,
          'user apop --clear: only apop_secret removed');
is(redis('GET', 'user:{alice@example.test}:authfail'), 4,
   'user apop --clear keeps the failed logins');
like(mailctl('', 'user', 'show', 'alice@example.test')->[1],
     qr/^scheme: bcrypt\napop: not set\n/m, 'user show: apop: not set');
is_deeply(mailctl('', 'user', 'apop', 'alice@example.test', '--clear'),
          [ 0, '', '' ], 'user apop --clear without a secret');
redis('DEL', 'user:{alice@example.test}:authfail');

is_deeply(mailctl('', 'user', 'passwd', 'alice@example.test', '--clear'),
          [ 1, '', "mailctl: option \"--clear\" does not apply to \"user "
                   . "passwd\"\nUsage: mailctl user passwd ADDRESS "
                   . "[--scheme SCHEME]\n" ],
          'user passwd --clear: usage error');

SKIP: {
    skip 'script(1) cannot make a terminal here', 5
        unless system('script -qec true /dev/null >/dev/null 2>&1') == 0;

    my ($rc, $screen) = on_terminal([ 'Tty Apop', 'Tty Apop' ], 'user',
                                    'apop', 'alice@example.test');
    is($rc, 0, 'apop on a terminal: exit 0');
    like($screen, qr/\AAPOP secret: \r?\nRetype APOP secret: \r?\n\z/,
         'apop on a terminal: both prompts, nothing echoed');
    is(user('alice@example.test')->{apop_secret}, 'Tty Apop',
       'apop on a terminal: stored');

    ($rc, $screen) = on_terminal([ 'one', 'two' ], 'user', 'apop',
                                 'alice@example.test');
    is($rc, 2, 'apop on a terminal: mismatch: exit 2');
    like($screen, qr/mailctl: APOP secrets do not match/,
         'apop on a terminal: mismatch: message');
}


# --- user quota, enable, disable ---------------------------------------------

for my $case ([ '0', 0 ], [ '1234', 1234 ], [ '2k', 2048 ],
              [ '5M', 5 * 1024 ** 2 ], [ '3G', 3 * 1024 ** 3 ],
              [ '4096g', 4096 * 1024 ** 3 ])
{
    my ($size, $bytes) = @$case;
    is_deeply(mailctl('', 'user', 'quota', 'carol@other.test', $size),
              [ 0, '', '' ], "user quota $size");
    is(user('carol@other.test')->{quota_bytes}, $bytes, "quota $bytes");
}

for my $size ('', 'M', '1.5G', '10 M', '10MB', 'abc', '0x10',
              '9223372036854775808', '8589934592G')
{
    ($rc, $out, $err) = $t->mailctl('', 'user', 'quota', 'carol@other.test',
                                    $size);
    is($rc, 2, "user quota \"$size\": exit 2");
    like($err, qr/\Amailctl: invalid size "\Q$size\E": /,
         "user quota \"$size\": message");
}
is(user('carol@other.test')->{quota_bytes}, 4096 * 1024 ** 3,
   'bad sizes changed nothing');

is_deeply(mailctl('', 'user', 'quota', 'nobody@example.test', '1G'),
          [ 2, '', "mailctl: unknown user \"nobody\@example.test\"\n" ],
          'user quota: unknown user');
is(redis('EXISTS', 'user:{nobody@example.test}'), 0,
   'no user key made by quota');
is_deeply(mailctl('', 'user', 'quota', 'carol@other.test'),
          [ 1, '', "mailctl: missing argument to \"user quota\"\n"
                   . "Usage: mailctl user quota ADDRESS SIZE\n" ],
          'user quota without SIZE');

is_deeply(mailctl('', 'user', 'disable', 'Carol@Other.test'), [ 0, '', '' ],
          'user disable');
is(user('carol@other.test')->{enabled}, 0, 'enabled 0');
is_deeply(mailctl('', 'user', 'enable', 'carol@other.test'), [ 0, '', '' ],
          'user enable');
is(user('carol@other.test')->{enabled}, 1, 'enabled 1');
for my $cmd ('enable', 'disable') {
    is_deeply(mailctl('', 'user', $cmd, 'nobody@example.test'),
              [ 2, '', "mailctl: unknown user \"nobody\@example.test\"\n" ],
              "user $cmd: unknown user");
}
is(redis('EXISTS', 'user:{nobody@example.test}'), 0,
   'no user key made by enable or disable');


# --- user list, show --------------------------------------------------------

my @example = sort('alice@example.test', 'bob@example.test',
                   'crlf@example.test', 'lines@example.test',
                   'nonl@example.test', "$odd\@example.test",
                   'tty@example.test');
@example = grep { $_ ne 'tty@example.test'
                  || redis('EXISTS', 'user:{tty@example.test}') } @example;

is_deeply(mailctl('', 'user', 'list', 'Example.Test'),
          [ 0, join('', map { "$_\n" } @example), '' ],
          'user list DOMAIN: sorted, one per line');
is_deeply(mailctl('', 'user', 'list'),
          [ 0, join('', map { "$_\n" } sort @example, 'carol@other.test'),
            '' ],
          'user list: every domain');
is(rc('', 'domain', 'add', 'empty.test'), 0, 'domain without users');
is_deeply(mailctl('', 'user', 'list', 'empty.test'), [ 0, '', '' ],
          'user list: no users');
is_deeply(mailctl('', 'user', 'list', 'nowhere.test'),
          [ 2, '', "mailctl: unknown domain \"nowhere.test\"\n" ],
          'user list: unknown domain');
is_deeply(mailctl('', 'user', 'list', 'bad_domain.test'),
          [ 2, '', "mailctl: invalid domain \"bad_domain.test\": only "
                   . "letters, digits, hyphens and dots are allowed\n" ],
          'user list: invalid domain');

sub iso { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_[0]) }

my $created = user('bob@example.test')->{created};
is_deeply(mailctl('', 'user', 'show', 'Bob@Example.test'),
          [ 0, "address: bob\@example.test\n"
               . "enabled: no\n"
               . "quota: 10485760 (10M)\n"
               . "scheme: bcrypt\n"
               . "apop: not set\n"
               . "created: " . iso($created) . "\n",
            '' ],
          'user show');

$t->mailctl('', 'user', 'quota', 'carol@other.test', '1000');
$created = user('carol@other.test')->{created};
is_deeply(mailctl('', 'user', 'show', 'carol@other.test'),
          [ 0, "address: carol\@other.test\n"
               . "enabled: yes\n"
               . "quota: 1000\n"
               . "scheme: sha512-crypt\n"
               . "apop: set\n"
               . "created: " . iso($created) . "\n",
            '' ],
          'user show: quota not in whole K');

($rc, $out) = $t->mailctl('', 'user', 'show', 'nonl@example.test');
like($out, qr/^quota: 0 \(unlimited\)\nscheme: yescrypt\n/m,
     'user show: unlimited, yescrypt');
unlike($out, qr/\$y\$/, 'user show: never the hash');
($rc, $out) = $t->mailctl('', 'user', 'show', 'carol@other.test');
unlike($out, qr/Apop|line one/, 'user show: never the APOP secret');

is_deeply(mailctl('', 'user', 'show', 'nobody@example.test'),
          [ 2, '', "mailctl: unknown user \"nobody\@example.test\"\n" ],
          'user show: unknown user');


# --- user del ---------------------------------------------------------------

redis('SET', 'user:{bob@example.test}:authfail', 2);

is_deeply(mailctl('', 'user', 'del', 'BOB@example.test'), [ 0, '', '' ],
          'user del');
is(redis('EXISTS', 'user:{bob@example.test}',
             'user:{bob@example.test}:authfail'), 0,
   'user and its failed logins deleted');
is(redis('SISMEMBER', 'domain:{example.test}:users', 'bob@example.test'),
   0, 'not in domain:{example.test}:users');

is_deeply(mailctl('', 'user', 'del', 'bob@example.test'),
          [ 2, '', "mailctl: unknown user \"bob\@example.test\"\n" ],
          'user del: unknown user');
is_deeply(mailctl('', 'user', 'del', 'bob@'),
          [ 2, '', "mailctl: invalid address \"bob\@\": missing domain\n" ],
          'user del: invalid address');
is_deeply(mailctl('', '-s', '127.0.0.1:1', 'user', 'del',
                  'alice@example.test'),
          [ 3, '', "mailctl: cannot connect to Redis at 127.0.0.1:1: "
                   . "Connection refused\n" ],
          'user del: unreachable Redis: exit 3');

# a new user gets INBOX and the special-use mailboxes (RFC 6154)
redis('SADD', 'domains', 'boxes.test');
is(rc("pw\n", 'user', 'add', 'new@boxes.test'), 0, 'user add for mailboxes');
my %boxes = split /\n/, redis('HGETALL', 'mailboxes:{new@boxes.test}');
is_deeply([ sort keys %boxes ],
          [ qw(Archive Drafts INBOX Junk Sent Trash) ],
          'INBOX, Drafts, Sent, Trash, Junk and Archive are created');
my %sent = split /\n/, redis('HGETALL', "mailbox:{new\@boxes.test}:$boxes{Sent}");
is($sent{special_use}, '\\Sent', 'Sent carries \\Sent');
is($sent{subscribed}, 1, 'and is subscribed');
is($sent{uidnext}, 1, 'empty: uidnext 1');
ok($sent{uidvalidity} > 0, 'with a uidvalidity');
is(redis('HGET', "mailbox:{new\@boxes.test}:$boxes{INBOX}", 'special_use'),
   '', 'INBOX has no special use');
is(rc('', 'user', 'del', 'new@boxes.test'), 0, 'user del');
is(redis('EXISTS', 'mailboxes:{new@boxes.test}',
         "mailbox:{new\@boxes.test}:$boxes{Sent}"), 0,
   'and its mailboxes are gone');

done_testing;
