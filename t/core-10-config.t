# nginx -t with our module: a mail{} with only our servers needs no
# auth_http; nginx's own proxy servers still do; bad directives are named.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailTest qw(free_port);

my $t = MailTest->new;
$t->start_redis;
my $port = free_port();

my ($rc, $out) = $t->nginx_test_conf(<<CONF);
    server { listen 127.0.0.1:$port; protocol smtpd; }
CONF
is($rc, 0, 'smtpd server without auth_http passes nginx -t') or diag $out;
like($out, qr/test is successful/, 'nginx says the test is successful');

($rc, $out) = $t->nginx_test_conf(<<CONF);
    server { listen 127.0.0.1:$port; protocol smtpd; }
    server { listen 127.0.0.1:@{[ $port + 1 ]}; protocol smtp; }
CONF
isnt($rc, 0, "nginx's own smtp proxy still needs auth_http");
like($out, qr/\[emerg\].*no "auth_http" is defined/, 'and says so');

($rc, $out) = $t->nginx_test_conf(<<CONF);
    server { listen 127.0.0.1:$port; protocol smtpd; }
    server {
        listen 127.0.0.1:@{[ $port + 1 ]};
        protocol smtp;
        auth_http 127.0.0.1:1/auth;
    }
CONF
is($rc, 0, 'our server beside a proxy server with auth_http') or diag $out;

my @bad = (
    [ 'mail_redis nowhere:port;', qr/\[emerg\].*"mail_redis"/ ],
    [ 'mail_redis 127.0.0.1:6379 colour=blue;',
      qr/\[emerg\].*invalid parameter "colour=blue" in "mail_redis"/ ],
    [ 'mail_redis 127.0.0.1:6379 db=x;',
      qr/\[emerg\].*invalid "db=x" in "mail_redis"/ ],
    [ 'mail_redis_timeout soon;',
      qr/\[emerg\].*"mail_redis_timeout" directive invalid value/ ],
    [ 'mail_auth_throttle user=many;',
      qr/\[emerg\].*invalid parameter "user=many" in "mail_auth_throttle"/ ],
    [ 'mail_auth_throttle window=0;',
      qr/\[emerg\].*invalid parameter "window=0" in "mail_auth_throttle"/ ],
    # c-ares wants addresses: a name is refused before any worker starts
    [ 'dns_resolver ns1.example.test;',
      qr/\[emerg\].*invalid address "ns1.example.test" in dns_resolver: a server's IP address is expected/ ],
    [ 'dns_resolver unix:/run/dns.sock;',
      qr/\[emerg\].*invalid address "unix:\/run\/dns.sock" in dns_resolver: a server's IP address is expected/ ],
    [ 'dns_resolver 0.0.0.0;',
      qr/\[emerg\].*invalid address "0.0.0.0" in dns_resolver: a server's IP address is expected/ ],
    [ 'dns_resolver 127.0.0.1:99999;',
      qr/\[emerg\].*invalid address "127.0.0.1:99999" in dns_resolver: invalid port/ ],
    [ 'dns_resolver 127.0.0.1; dns_resolver 127.0.0.2;',
      qr/\[emerg\].*"dns_resolver" directive is duplicate/ ],
    [ 'dns_resolver_timeout soon;',
      qr/\[emerg\].*"dns_resolver_timeout" directive invalid value/ ],
);

for my $case (@bad) {
    my ($directive, $expect) = @$case;
    ($rc, $out) = $t->nginx_test_conf(<<CONF, redis => $directive);
    server { listen 127.0.0.1:$port; protocol smtpd; }
CONF
    isnt($rc, 0, "nginx -t fails on: $directive");
    like($out, $expect, "the error names the directive: $directive");
}

($rc, $out) = $t->nginx_test_conf(<<CONF);
    server { listen 127.0.0.1:$port; protocol smtpd; smtpd_role relay; }
CONF
isnt($rc, 0, 'unknown smtpd_role is refused');
like($out, qr/\[emerg\].*invalid value "relay"/, 'with the bad value named');

($rc, $out) = $t->nginx_test_conf(<<CONF);
    server { listen 127.0.0.1:$port; protocol smtpd; smtpd_auth_plaintext 1; }
CONF
isnt($rc, 0, 'a flag directive takes on|off');
like($out, qr/\[emerg\].*"smtpd_auth_plaintext"/, 'and names the directive');

($rc, $out) = $t->nginx_test_conf(<<CONF, redis => 'mail_redis unix:/nonexistent/redis.sock db=2 password=x;');
    server { listen 127.0.0.1:$port; protocol smtpd; }
CONF
is($rc, 0, 'unix socket, db and password are accepted') or diag $out;

($rc, $out) = $t->nginx_test_conf(<<CONF);
    dns_resolver 127.0.0.1 [::1]:5353 192.0.2.1:53;
    dns_resolver_timeout 2s;
    server { listen 127.0.0.1:$port; protocol smtpd; }
CONF
is($rc, 0, 'dns_resolver takes addresses, with ports and IPv6 in brackets')
    or diag $out;

done_testing;
