
/*
 * Unit tests of the MAIL/RCPT argument parser and the DATA/BDAT
 * decoder, printing TAP for t/smtp-05-parsers.t.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ngx_mail_smtpd_envelope.h"
#include "ngx_mail_smtpd_data.h"


#define BIG  4096


static unsigned  tests;
static unsigned  failed;


static void
ok(int cond, const char *fmt, ...)
{
    va_list  ap;

    tests++;

    if (!cond) {
        failed++;
    }

    printf("%sok %u - ", cond ? "" : "not ", tests);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}


static int
str_is(ngx_mail_smtpd_str_t *s, const char *expect)
{
    return s->len == strlen(expect) && memcmp(s->data, expect, s->len) == 0;
}


static void
diag_str(const char *what, ngx_mail_smtpd_str_t *s)
{
    printf("# %s: \"%.*s\"\n", what, (int) s->len, (const char *) s->data);
}


/* envelope */

static ngx_mail_smtpd_envelope_t  env;


static int
parse(int rcpt, const char *arg, unsigned smtputf8)
{
    if (rcpt) {
        return ngx_mail_smtpd_parse_rcpt((const unsigned char *) arg,
                                         strlen(arg), smtputf8, &env);
    }

    return ngx_mail_smtpd_parse_mail((const unsigned char *) arg,
                                     strlen(arg), &env);
}


static void
accept_addr(int rcpt, const char *arg, unsigned smtputf8, const char *addr)
{
    int  rc, good;

    rc = parse(rcpt, arg, smtputf8);
    good = (rc == NGX_MAIL_SMTPD_PARSE_OK && str_is(&env.address, addr));

    ok(good, "%s %s -> <%s>", rcpt ? "RCPT" : "MAIL", arg, addr);

    if (!good) {
        diag_str(rc == NGX_MAIL_SMTPD_PARSE_OK ? "address" : "reply",
                 rc == NGX_MAIL_SMTPD_PARSE_OK ? &env.address : &env.reply);
    }
}


static void
reject(int rcpt, const char *arg, unsigned smtputf8, const char *reply)
{
    int  rc, good;

    rc = parse(rcpt, arg, smtputf8);
    good = (rc == NGX_MAIL_SMTPD_PARSE_ERROR && str_is(&env.reply, reply));

    ok(good, "%s %s -> %s", rcpt ? "RCPT" : "MAIL", arg, reply);

    if (!good) {
        diag_str("reply", &env.reply);
    }
}


#define MAIL_OK(arg, addr)    accept_addr(0, arg, 0, addr)
#define RCPT_OK(arg, addr)    accept_addr(1, arg, 0, addr)
#define MAIL_ERR(arg, reply)  reject(0, arg, 0, reply)
#define RCPT_ERR(arg, reply)  reject(1, arg, 0, reply)

#define BAD_SENDER  "501 5.1.7 Bad sender address syntax"
#define BAD_RCPT    "501 5.1.3 Bad recipient address syntax"


static void
repeat(char *p, int c, size_t n)
{
    memset(p, c, n);
    p[n] = '\0';
}


/* a domain of exactly n octets: labels of "a" * 9 and dots */
static void
make_domain(char *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        p[i] = (i % 10 == 9 && i != n - 1) ? '.' : 'a';
    }

    p[n] = '\0';
}


static void
test_paths(void)
{
    char  arg[1024], part[512], addr[600];

    MAIL_OK("FROM:<a@b.c>", "a@b.c");
    ok(env.raw.len == 5 && memcmp(env.raw.data, "a@b.c", 5) == 0,
       "raw points into the input");
    MAIL_OK("from:<User@Example.COM>", "User@example.com");
    ok(str_is(&env.local_part, "User") && str_is(&env.domain, "example.com"),
       "local part kept, domain lower-cased");
    MAIL_OK("FROM: <a@b.c>", "a@b.c");
    MAIL_ERR("FROM:  <a@b.c>", BAD_SENDER);
    MAIL_OK("FROM:<>", "");
    ok(env.null_path == 1, "null reverse-path flagged");
    MAIL_ERR("FROM:a@b.c", BAD_SENDER);
    MAIL_ERR("FROM:<a@b.c", BAD_SENDER);
    MAIL_ERR("FROM:<a@b.c>x", BAD_SENDER);
    MAIL_ERR("FROM:<<a@b.c>>", BAD_SENDER);
    MAIL_ERR("FROM<a@b.c>", "501 5.5.4 Syntax: MAIL FROM:<address>");
    MAIL_ERR("", "501 5.5.4 Syntax: MAIL FROM:<address>");
    MAIL_ERR("TO:<a@b.c>", "501 5.5.4 Syntax: MAIL FROM:<address>");
    RCPT_ERR("FROM:<a@b.c>", "501 5.5.4 Syntax: RCPT TO:<address>");
    RCPT_OK("to:<x@y.z>", "x@y.z");
    RCPT_OK("TO: <x@y.z>", "x@y.z");
    RCPT_ERR("TO:<>", BAD_RCPT);
    RCPT_OK("TO:<postmaster>", "postmaster");
    ok(env.postmaster == 1 && env.domain.len == 0, "postmaster flagged");
    RCPT_OK("TO:<PostMaster>", "PostMaster");
    RCPT_ERR("TO:<\"postmaster\">", BAD_RCPT);
    RCPT_ERR("TO:<someone>", BAD_RCPT);
    MAIL_ERR("FROM:<postmaster>", BAD_SENDER);

    /* source routes, RFC 5321 4.1.2 and C */
    MAIL_OK("FROM:<@a.example,@b.example:u@c.example>", "u@c.example");
    ok(str_is(&env.raw, "u@c.example"), "raw omits the source route");
    RCPT_OK("TO:<@relay.example:u@c.example>", "u@c.example");
    RCPT_ERR("TO:<@relay.example u@c.example>", BAD_RCPT);
    RCPT_ERR("TO:<@relay.example,u@c.example>", BAD_RCPT);
    RCPT_ERR("TO:<@:u@c.example>", BAD_RCPT);

    /* dot-strings */
    RCPT_OK("TO:<first.last+tag@x.example>", "first.last+tag@x.example");
    RCPT_OK("TO:<!#$%&'*+-/=?^_`{|}~@x.example>",
            "!#$%&'*+-/=?^_`{|}~@x.example");
    RCPT_ERR("TO:<.a@x.example>", BAD_RCPT);
    RCPT_ERR("TO:<a.@x.example>", BAD_RCPT);
    RCPT_ERR("TO:<a..b@x.example>", BAD_RCPT);
    RCPT_ERR("TO:<a b@x.example>", BAD_RCPT);
    RCPT_ERR("TO:<a(b)@x.example>", BAD_RCPT);
    RCPT_ERR("TO:<@x.example>", BAD_RCPT);
    RCPT_ERR("TO:<a@>", BAD_RCPT);

    /* quoted strings */
    RCPT_OK("TO:<\"a.b\"@x.example>", "a.b@x.example");
    ok(env.quoted == 1, "quoted flag set");
    RCPT_OK("TO:<\"john smith\"@x.example>", "\"john smith\"@x.example");
    RCPT_OK("TO:<\"a\\\"b\"@x.example>", "\"a\\\"b\"@x.example");
    RCPT_OK("TO:<\"a\\\\b\"@x.example>", "\"a\\\\b\"@x.example");
    RCPT_OK("TO:<\"\\a\\b\"@x.example>", "ab@x.example");
    RCPT_OK("TO:<\"a..b\"@x.example>", "\"a..b\"@x.example");
    RCPT_OK("TO:<\"\"@x.example>", "\"\"@x.example");
    RCPT_OK("TO:<\"a@b\"@x.example>", "\"a@b\"@x.example");
    RCPT_ERR("TO:<\"abc@x.example>", BAD_RCPT);
    RCPT_ERR("TO:<\"a\tb\"@x.example>", BAD_RCPT);
    RCPT_ERR("TO:<\"a\\\"@x.example>", BAD_RCPT);
    RCPT_ERR("TO:<\"a\"b@x.example>", BAD_RCPT);

    /* domains and address literals */
    RCPT_OK("TO:<u@a-b.example>", "u@a-b.example");
    RCPT_OK("TO:<u@3com.example>", "u@3com.example");
    RCPT_ERR("TO:<u@-a.example>", BAD_RCPT);
    RCPT_ERR("TO:<u@a-.example>", BAD_RCPT);
    RCPT_ERR("TO:<u@a..example>", BAD_RCPT);
    RCPT_ERR("TO:<u@example.>", BAD_RCPT);
    RCPT_ERR("TO:<u@a_b.example>", BAD_RCPT);
    RCPT_OK("TO:<u@[192.0.2.1]>", "u@[192.0.2.1]");
    ok(env.literal == 1, "literal flagged");
    RCPT_ERR("TO:<u@[192.0.2.256]>", BAD_RCPT);
    RCPT_ERR("TO:<u@[192.0.2]>", BAD_RCPT);
    RCPT_ERR("TO:<u@[1922.0.2.1]>", BAD_RCPT);
    RCPT_OK("TO:<u@[IPv6:2001:db8::1]>", "u@[IPv6:2001:db8::1]");
    RCPT_OK("TO:<u@[ipv6:::1]>", "u@[ipv6:::1]");
    RCPT_OK("TO:<u@[IPv6:1:2:3:4:5:6:7:8]>", "u@[IPv6:1:2:3:4:5:6:7:8]");
    RCPT_OK("TO:<u@[IPv6:::ffff:192.0.2.1]>", "u@[IPv6:::ffff:192.0.2.1]");
    RCPT_OK("TO:<u@[IPv6:1:2:3:4:5:6:192.0.2.1]>",
            "u@[IPv6:1:2:3:4:5:6:192.0.2.1]");
    RCPT_ERR("TO:<u@[IPv6:1:2:3:4:5:6:7]>", BAD_RCPT);
    RCPT_ERR("TO:<u@[IPv6:1:2:3:4:5:6:7:8:9]>", BAD_RCPT);
    RCPT_ERR("TO:<u@[IPv6:1::2::3]>", BAD_RCPT);
    RCPT_ERR("TO:<u@[IPv6:1:2:3:4::5:6:7]>", BAD_RCPT);
    RCPT_ERR("TO:<u@[IPv6:12345::1]>", BAD_RCPT);
    RCPT_ERR("TO:<u@[IPv6:1:]>", BAD_RCPT);
    RCPT_ERR("TO:<u@[x-tag:foo]>", BAD_RCPT);
    RCPT_ERR("TO:<u@[192.0.2.1>", BAD_RCPT);

    /* RFC 5321 4.5.3.1 limits */
    repeat(part, 'l', 64);
    snprintf(arg, sizeof(arg), "TO:<%s@x.example>", part);
    snprintf(addr, sizeof(addr), "%s@x.example", part);
    RCPT_OK(arg, addr);
    repeat(part, 'l', 65);
    snprintf(arg, sizeof(arg), "TO:<%s@x.example>", part);
    RCPT_ERR(arg, BAD_RCPT);
    ok(env.error == NGX_MAIL_SMTPD_ENV_ERR_LOCAL_TOO_LONG,
       "65 octet local part: too long");
    snprintf(arg, sizeof(arg), "FROM:<%s@x.example>", part);
    MAIL_ERR(arg, BAD_SENDER);
    repeat(part, 'l', 62);
    snprintf(arg, sizeof(arg), "TO:<\"%s\"@x.example>", part);
    RCPT_OK(arg, addr + 2);   /* unquoted: 62 l's and the domain */
    repeat(part, 'l', 63);
    snprintf(arg, sizeof(arg), "TO:<\"%s\"@x.example>", part);
    RCPT_ERR(arg, BAD_RCPT);

    /* path 256 with "<" and ">": "a@" and a 252 octet domain */
    make_domain(part, 252);
    snprintf(arg, sizeof(arg), "TO:<a@%s>", part);
    snprintf(addr, sizeof(addr), "a@%s", part);
    RCPT_OK(arg, addr);
    ok(env.address.len == 254, "254 octet mailbox stored");
    make_domain(part, 253);
    snprintf(arg, sizeof(arg), "TO:<a@%s>", part);
    RCPT_ERR(arg, BAD_RCPT);
    ok(env.error == NGX_MAIL_SMTPD_ENV_ERR_PATH_TOO_LONG,
       "257 octet path: too long");
    make_domain(part, 255);
    snprintf(arg, sizeof(arg), "TO:<a@%s>", part);
    RCPT_ERR(arg, BAD_RCPT);
    ok(env.error == NGX_MAIL_SMTPD_ENV_ERR_PATH_TOO_LONG,
       "255 octet domain fits the domain limit, not the path's");
    make_domain(part, 256);
    snprintf(arg, sizeof(arg), "TO:<a@%s>", part);
    RCPT_ERR(arg, BAD_RCPT);
    ok(env.error == NGX_MAIL_SMTPD_ENV_ERR_DOMAIN_TOO_LONG,
       "256 octet domain: too long");
    make_domain(part, 240);
    snprintf(arg, sizeof(arg), "TO:<@r.example:a@%s>", part);
    snprintf(addr, sizeof(addr), "a@%s", part);
    RCPT_OK(arg, addr);
    make_domain(part, 241);
    snprintf(arg, sizeof(arg), "TO:<@relay.example:a@%s>", part);
    RCPT_ERR(arg, BAD_RCPT);
    ok(env.error == NGX_MAIL_SMTPD_ENV_ERR_PATH_TOO_LONG,
       "a source route counts in the path length");
}


static void
test_utf8(void)
{
    /* "u" + U+00FC, domain with U+00E9 */
    reject(0, "FROM:<j\xc3\xbcrgen@b\xc3\xa9.example>", 0,
           "550 5.6.7 Must declare SMTPUTF8 to send unicode address");
    ok(env.error == NGX_MAIL_SMTPD_ENV_ERR_UTF8, "MAIL UTF-8 error code");
    accept_addr(0, "FROM:<j\xc3\xbcrgen@B\xc3\xa9.example> SMTPUTF8", 0,
                "j\xc3\xbcrgen@b\xc3\xa9.example");
    ok(env.utf8 == 1 && env.smtputf8 == 1, "utf8 and smtputf8 flagged");
    reject(1, "TO:<j\xc3\xbcrgen@x.example>", 0,
           "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
    accept_addr(1, "TO:<j\xc3\xbcrgen@x.example>", 1,
                "j\xc3\xbcrgen@x.example");
    accept_addr(1, "TO:<\"\xe2\x82\xac uro\"@x.example>", 1,
                "\"\xe2\x82\xac uro\"@x.example");
    accept_addr(1, "TO:<\xf0\x9f\x98\x80@x.example>", 1,
                "\xf0\x9f\x98\x80@x.example");
    reject(1, "TO:<\xff@x.example>", 1, BAD_RCPT);
    reject(1, "TO:<\xc3@x.example>", 1, BAD_RCPT);
    reject(1, "TO:<\xc0\xaf@x.example>", 1, BAD_RCPT);
    reject(1, "TO:<\xed\xa0\x80@x.example>", 1, BAD_RCPT);
    reject(1, "TO:<\xf4\x90\x80\x80@x.example>", 1, BAD_RCPT);
    reject(1, "TO:<\"a\\\xc3\xbc\"@x.example>", 1, BAD_RCPT);
    reject(0, "FROM:<a@x.example> SMTPUTF8=yes", 0,
           "555 5.5.4 Unsupported option: SMTPUTF8=yes");
    reject(0, "FROM:<a@x.example> SMTPUTF8 smtputf8", 0,
           "501 5.5.4 Duplicate parameter: smtputf8");
    reject(1, "TO:<a@x.example> SMTPUTF8", 1,
           "555 5.5.4 Unsupported option: SMTPUTF8");
}


static void
test_mail_params(void)
{
    char  arg[256];

    MAIL_OK("FROM:<a@b.c> SIZE=1000 BODY=8BITMIME", "a@b.c");
    ok(env.has_size && env.size == 1000
       && env.body == NGX_MAIL_SMTPD_BODY_8BITMIME, "SIZE and BODY values");
    MAIL_OK("FROM:<a@b.c>  size=0\tbody=7bit  ", "a@b.c");
    ok(env.has_size && env.size == 0 && env.body == NGX_MAIL_SMTPD_BODY_7BIT,
       "lower-case keywords and values, extra blanks");
    MAIL_OK("FROM:<a@b.c> BODY=BINARYMIME", "a@b.c");
    ok(env.body == NGX_MAIL_SMTPD_BODY_BINARYMIME, "BODY=BINARYMIME");
    MAIL_OK("FROM:<a@b.c> SIZE=9223372036854775807", "a@b.c");
    ok(env.size == 9223372036854775807ULL, "largest SIZE");
    MAIL_ERR("FROM:<a@b.c> SIZE=9223372036854775808",
             "552 5.3.4 Message size exceeds file system imposed limit");
    MAIL_ERR("FROM:<a@b.c> SIZE=99999999999999999999",
             "552 5.3.4 Message size exceeds file system imposed limit");
    MAIL_ERR("FROM:<a@b.c> SIZE=000000000000000000001",
             "501 5.5.4 Bad message size syntax");
    MAIL_ERR("FROM:<a@b.c> SIZE=", "501 5.5.4 Bad message size syntax");
    MAIL_ERR("FROM:<a@b.c> SIZE", "501 5.5.4 Bad message size syntax");
    MAIL_ERR("FROM:<a@b.c> SIZE=-1", "501 5.5.4 Bad message size syntax");
    MAIL_ERR("FROM:<a@b.c> SIZE=12k", "501 5.5.4 Bad message size syntax");
    MAIL_ERR("FROM:<a@b.c> SIZE=1 SIZE=2",
             "501 5.5.4 Duplicate parameter: SIZE=2");
    MAIL_ERR("FROM:<a@b.c> BODY=8BITMIME BODY=7BIT",
             "501 5.5.4 Duplicate parameter: BODY=7BIT");
    MAIL_ERR("FROM:<a@b.c> BODY=9BIT", "555 5.5.4 Unsupported option: "
             "BODY=9BIT");
    MAIL_ERR("FROM:<a@b.c> BODY", "555 5.5.4 Unsupported option: BODY");
    MAIL_ERR("FROM:<a@b.c> FOO", "555 5.5.4 Unsupported option: FOO");
    MAIL_ERR("FROM:<a@b.c> FOO=bar", "555 5.5.4 Unsupported option: "
             "FOO=bar");
    MAIL_ERR("FROM:<a@b.c> =x", "555 5.5.4 Unsupported option: =x");
    MAIL_ERR("FROM:<a@b.c> X=\x01\xff", "555 5.5.4 Unsupported option: "
             "X=??");
    MAIL_ERR("FROM:<a@b.c> NOTIFY=NEVER", "555 5.5.4 Unsupported option: "
             "NOTIFY=NEVER");
    memset(arg, 0, sizeof(arg));
    strcpy(arg, "FROM:<a@b.c> ");
    memset(arg + 13, 'Z', 200);
    /* the echo stops at 64 octets */
    MAIL_ERR(arg, "555 5.5.4 Unsupported option: "
             "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"
             "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ");

    MAIL_OK("FROM:<a@b.c> RET=HDRS ENVID=QQ314159+2Bx", "a@b.c");
    ok(env.ret == NGX_MAIL_SMTPD_RET_HDRS && str_is(&env.envid, "QQ314159+2Bx"),
       "RET and raw ENVID");
    MAIL_OK("FROM:<a@b.c> ret=full", "a@b.c");
    ok(env.ret == NGX_MAIL_SMTPD_RET_FULL, "RET=FULL");
    MAIL_ERR("FROM:<a@b.c> RET=ALL", "501 5.5.4 Bad RET parameter syntax");
    MAIL_ERR("FROM:<a@b.c> RET", "501 5.5.4 Bad RET parameter syntax");
    MAIL_ERR("FROM:<a@b.c> RET=FULL RET=FULL",
             "501 5.5.4 Bad RET parameter syntax");
    MAIL_ERR("FROM:<a@b.c> ENVID=a+2b", "501 5.5.4 Bad ENVID parameter syntax");
    MAIL_ERR("FROM:<a@b.c> ENVID=a+2", "501 5.5.4 Bad ENVID parameter syntax");
    MAIL_ERR("FROM:<a@b.c> ENVID=a+0A", "501 5.5.4 Bad ENVID parameter syntax");
    MAIL_ERR("FROM:<a@b.c> ENVID=", "501 5.5.4 Bad ENVID parameter syntax");
    MAIL_ERR("FROM:<a@b.c> ENVID=a=b", "501 5.5.4 Bad ENVID parameter syntax");
    MAIL_ERR("FROM:<a@b.c> ENVID=a ENVID=b",
             "501 5.5.4 Bad ENVID parameter syntax");
    memset(arg, 0, sizeof(arg));
    strcpy(arg, "FROM:<a@b.c> ENVID=");
    memset(arg + 19, 'e', 99);
    strcat(arg, "+20");
    MAIL_OK(arg, "a@b.c");
    strcat(arg, "+20");
    MAIL_ERR(arg, "501 5.5.4 Bad ENVID parameter syntax");

    MAIL_OK("FROM:<a@b.c> AUTH=e+3Dmc2@example.com", "a@b.c");
    ok(env.has_auth && !env.auth_null
       && str_is(&env.auth, "e+3Dmc2@example.com"), "AUTH= value");
    MAIL_OK("FROM:<a@b.c> AUTH=<>", "a@b.c");
    ok(env.has_auth && env.auth_null, "AUTH=<>");
    MAIL_ERR("FROM:<a@b.c> AUTH=", "501 5.5.4 Bad AUTH parameter syntax");
    MAIL_ERR("FROM:<a@b.c> AUTH=a+zz", "501 5.5.4 Bad AUTH parameter syntax");
    MAIL_ERR("FROM:<a@b.c> AUTH=<> AUTH=<>",
             "503 5.5.4 Error: multiple AUTH= options");
}


static void
test_rcpt_params(void)
{
    char  arg[600];

    RCPT_OK("TO:<x@y.z> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y.z", "x@y.z");
    ok(env.notify == (NGX_MAIL_SMTPD_NOTIFY_SUCCESS
                      | NGX_MAIL_SMTPD_NOTIFY_FAILURE)
       && str_is(&env.orcpt_type, "rfc822") && str_is(&env.orcpt, "x@y.z"),
       "NOTIFY and ORCPT values");
    RCPT_OK("TO:<x@y.z> notify=never", "x@y.z");
    ok(env.notify == NGX_MAIL_SMTPD_NOTIFY_NEVER, "NOTIFY=NEVER");
    RCPT_OK("TO:<x@y.z> NOTIFY=DELAY,SUCCESS,FAILURE", "x@y.z");
    ok(env.notify == 0x0e, "NOTIFY all three");
    RCPT_ERR("TO:<x@y.z> NOTIFY=NEVER,DELAY",
             "501 5.5.4 Error: Bad NOTIFY parameter syntax");
    RCPT_ERR("TO:<x@y.z> NOTIFY=SUCCESS,SUCCESS",
             "501 5.5.4 Error: Bad NOTIFY parameter syntax");
    RCPT_ERR("TO:<x@y.z> NOTIFY=SUCCESS,",
             "501 5.5.4 Error: Bad NOTIFY parameter syntax");
    RCPT_ERR("TO:<x@y.z> NOTIFY=",
             "501 5.5.4 Error: Bad NOTIFY parameter syntax");
    RCPT_ERR("TO:<x@y.z> NOTIFY=SOMETIMES",
             "501 5.5.4 Error: Bad NOTIFY parameter syntax");
    RCPT_ERR("TO:<x@y.z> NOTIFY=DELAY NOTIFY=DELAY",
             "501 5.5.4 Error: Bad NOTIFY parameter syntax");
    RCPT_OK("TO:<x@y.z> ORCPT=utf-8;x+2By@y.z", "x@y.z");
    RCPT_ERR("TO:<x@y.z> ORCPT=rfc822", "501 5.5.4 Error: Bad ORCPT "
             "parameter syntax");
    RCPT_ERR("TO:<x@y.z> ORCPT=;x@y.z", "501 5.5.4 Error: Bad ORCPT "
             "parameter syntax");
    RCPT_ERR("TO:<x@y.z> ORCPT=rfc822;", "501 5.5.4 Error: Bad ORCPT "
             "parameter syntax");
    RCPT_ERR("TO:<x@y.z> ORCPT=rfc822;a+1", "501 5.5.4 Error: Bad ORCPT "
             "parameter syntax");
    RCPT_ERR("TO:<x@y.z> ORCPT=rf(c;a", "501 5.5.4 Error: Bad ORCPT "
             "parameter syntax");
    RCPT_ERR("TO:<x@y.z> ORCPT=rfc822;a ORCPT=rfc822;b",
             "501 5.5.4 Error: Bad ORCPT parameter syntax");
    RCPT_ERR("TO:<x@y.z> SIZE=10", "555 5.5.4 Unsupported option: SIZE=10");
    RCPT_ERR("TO:<x@y.z> BODY=8BITMIME",
             "555 5.5.4 Unsupported option: BODY=8BITMIME");

    /* RFC 3461 4.2: the whole parameter at most 500 characters */
    memset(arg, 0, sizeof(arg));
    strcpy(arg, "TO:<x@y.z> ORCPT=rfc822;");
    memset(arg + strlen(arg), 'o', 500 - 13);
    RCPT_OK(arg, "x@y.z");
    strcat(arg, "o");
    RCPT_ERR(arg, "501 5.5.4 Error: Bad ORCPT parameter syntax");
}


static void
test_xtext(void)
{
    size_t          n;
    unsigned char   buf[16];

    ok(ngx_mail_smtpd_xtext_decode((const unsigned char *) "a+2Bb+3D", 8,
                                   buf, sizeof(buf), &n)
       == NGX_MAIL_SMTPD_PARSE_OK && n == 4 && memcmp(buf, "a+b=", 4) == 0,
       "xtext decode");
    ok(ngx_mail_smtpd_xtext_decode((const unsigned char *) "+2b", 3,
                                   buf, sizeof(buf), &n)
       == NGX_MAIL_SMTPD_PARSE_ERROR, "xtext lower-case hex refused");
    ok(ngx_mail_smtpd_xtext_decode((const unsigned char *) "abcd", 4,
                                   buf, 3, &n)
       == NGX_MAIL_SMTPD_PARSE_ERROR, "xtext decode: buffer too small");
    ok(ngx_mail_smtpd_xtext_decode((const unsigned char *) "+C3+BC", 6,
                                   buf, 2, &n)
       == NGX_MAIL_SMTPD_PARSE_OK && n == 2 && buf[0] == 0xc3
       && buf[1] == 0xbc, "xtext decode of 8-bit octets");
}


/* DATA */

typedef struct {
    int                     rc;
    size_t                  consumed;
    size_t                  len;
    ngx_mail_smtpd_data_t   data;
    unsigned char           out[BIG];
} result_t;


/*
 * Feeds "in" in pieces of "chunk" octets (cuts, if given, instead),
 * with an output buffer of out_size, and collects the output.
 */

static void
run_data(result_t *r, int bdat, const char *in, size_t len, size_t chunk,
    size_t out_size, uint64_t max_size)
{
    int             rc;
    size_t          pos, end, used, written;
    unsigned char   out[BIG];

    ngx_mail_smtpd_data_init(&r->data, max_size);
    r->len = 0;
    r->rc = NGX_MAIL_SMTPD_PARSE_AGAIN;
    pos = 0;

    while (pos < len) {
        end = (len - pos > chunk) ? pos + chunk : len;

        while (pos < end) {
            rc = bdat
                 ? ngx_mail_smtpd_bdat_decode(&r->data,
                                              (const unsigned char *) in + pos,
                                              end - pos, &used, out, out_size,
                                              &written)
                 : ngx_mail_smtpd_data_decode(&r->data,
                                              (const unsigned char *) in + pos,
                                              end - pos, &used, out, out_size,
                                              &written);
            if (written > out_size || used > end - pos
                || r->len + written > BIG)
            {
                r->rc = NGX_MAIL_SMTPD_PARSE_ERROR;
                return;
            }

            memcpy(r->out + r->len, out, written);
            r->len += written;
            pos += used;
            r->rc = rc;

            if (rc == NGX_MAIL_SMTPD_PARSE_DONE
                || rc == NGX_MAIL_SMTPD_PARSE_ERROR)
            {
                r->consumed = pos;
                return;
            }
        }
    }

    r->consumed = pos;

    if (bdat) {
        rc = ngx_mail_smtpd_bdat_finish(&r->data, out, out_size, &written);
        memcpy(r->out + r->len, out, written);
        r->len += written;
    }
}


static int
out_is(result_t *r, const char *expect, size_t len)
{
    return r->len == len && memcmp(r->out, expect, len) == 0;
}


static void
show(result_t *r)
{
    size_t  i;

    printf("# rc %d consumed %zu out \"", r->rc, r->consumed);

    for (i = 0; i < r->len; i++) {
        if (r->out[i] == '\r') {
            printf("\\r");
        } else if (r->out[i] == '\n') {
            printf("\\n");
        } else {
            putchar(r->out[i]);
        }
    }

    printf("\"\n");
}


static result_t  res;


/* a message and what is stored; "ends" whether it is complete */
static void
data_case(const char *name, const char *in, size_t len, int ends,
    const char *expect, size_t expect_len)
{
    int  good;

    run_data(&res, 0, in, len, len, BIG, 0);

    good = (ends ? res.rc == NGX_MAIL_SMTPD_PARSE_DONE
                 : res.rc == NGX_MAIL_SMTPD_PARSE_AGAIN)
           && out_is(&res, expect, expect_len);

    ok(good, "DATA %s", name);

    if (!good) {
        show(&res);
    }
}


#define DATA_CASE(name, in, ends, expect)                                    \
    data_case(name, in, sizeof(in) - 1, ends, expect, sizeof(expect) - 1)


static void
test_data_basic(void)
{
    static const char  pipelined[] = "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n";

    DATA_CASE("empty message", ".\r\n", 1, "");
    DATA_CASE("simple message", "a\r\nb\r\n.\r\n", 1, "a\r\nb\r\n");
    DATA_CASE("dot-unstuffing", "..a\r\n..\r\n...\r\n.\r\n", 1,
              ".a\r\n.\r\n..\r\n");
    DATA_CASE("dot inside a line stays", "a.b\r\na.\r\n.\r\n", 1,
              "a.b\r\na.\r\n");
    DATA_CASE("no end yet", "a\r\nb\r\n", 0, "a\r\nb\r\n");
    DATA_CASE("no end: CR LF . CR", "a\r\n.\r", 0, "a\r\n");

    run_data(&res, 0, pipelined, sizeof(pipelined) - 1, BIG, BIG, 0);
    ok(res.rc == NGX_MAIL_SMTPD_PARSE_DONE
       && res.consumed == sizeof(pipelined) - 1 - 6
       && out_is(&res, "Subject: x\r\n\r\nbody\r\n", 20),
       "DATA end consumed, pipelined QUIT left");
    ok(res.data.size == 20 && res.data.stored == 20 && !res.data.bare_lf
       && !res.data.bare_cr && !res.data.eight_bit && !res.data.too_big,
       "DATA counters and flags");

    DATA_CASE("8-bit content", "caf\xc3\xa9\r\n.\r\n", 1,
              "caf\xc3\xa9\r\n");
    ok(res.data.eight_bit, "8-bit flagged");
    DATA_CASE("NUL kept", "a\0b\r\n.\r\n", 1, "a\0b\r\n");
}


static void
test_data_smuggling(void)
{
    /* the 2023 SMTP smuggling sequences: none ends the message */
    DATA_CASE("<LF>.<LF>", "a\n.\nMAIL FROM:<x@y>\r\n", 0,
              "a\r\n.\r\nMAIL FROM:<x@y>\r\n");
    ok(res.data.bare_lf && !res.data.bare_cr, "bare LF flagged");
    DATA_CASE("<LF>.<CR><LF>", "a\n.\r\nb\r\n", 0, "a\r\n.\r\nb\r\n");
    DATA_CASE("<CR><LF>.<LF>", "a\r\n.\nb\r\n", 0, "a\r\n\r\nb\r\n");
    DATA_CASE("<CR>.<CR>", "a\r.\rb\r\n", 0, "a\r\n.\r\nb\r\n");
    ok(res.data.bare_cr && !res.data.bare_lf, "bare CR flagged");
    DATA_CASE("<LF>.<CR>", "a\n.\rb\r\n", 0, "a\r\n.\r\nb\r\n");
    DATA_CASE("<CR>.<LF>", "a\r.\nb\r\n", 0, "a\r\n.\r\nb\r\n");
    DATA_CASE("<CR><LF>.<CR>", "a\r\n.\rb\r\n", 0, "a\r\n\r\nb\r\n");
    DATA_CASE("<CR><LF>.<CR><CR><LF>", "a\r\n.\r\r\nb\r\n", 0,
              "a\r\n\r\n\r\nb\r\n");
    DATA_CASE("<LF><LF>.<LF><LF>", "a\n\n.\n\nb", 0,
              "a\r\n\r\n.\r\n\r\nb");
    DATA_CASE("<CR><CR>.<CR><CR>", "a\r\r.\r\rb", 0,
              "a\r\n\r\n.\r\n\r\nb");
    DATA_CASE("bare LF then . CR LF", "\n.\r\n", 0, "\r\n.\r\n");
    DATA_CASE("<CR><LF>..<LF>", "a\r\n..\nb", 0, "a\r\n.\r\nb");
    DATA_CASE("<CR><LF>. <CR><LF>", "a\r\n. \r\nb", 0, "a\r\n \r\nb");
    DATA_CASE("<LF><CR><LF>.<CR><LF> ends on the real CR LF",
              "a\n\r\n.\r\n", 1, "a\r\n\r\n");
    DATA_CASE("<CR><CR><LF>.<CR><LF> ends on the real CR LF",
              "a\r\r\n.\r\n", 1, "a\r\n\r\n");
    DATA_CASE("smuggled second message is content",
              "x\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
              "evil\r\n.\r\n", 1,
              "x\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
              "evil\r\n");
    ok(res.data.stored == res.len, "stored counts every octet written");
}


static void
test_data_splits(void)
{
    int                 good;
    size_t              i, cut, len;
    result_t            whole;
    static const char   msg[] = "H: v\r\n..dot\r\nx\n.\r\ny\r.\rz\r\n.\r\nNEXT";

    len = sizeof(msg) - 1;
    run_data(&whole, 0, msg, len, len, BIG, 0);
    ok(whole.rc == NGX_MAIL_SMTPD_PARSE_DONE && whole.consumed == len - 4,
       "sample message ends before NEXT");

    run_data(&res, 0, msg, len, 1, BIG, 0);
    ok(res.rc == whole.rc && res.consumed == whole.consumed
       && out_is(&res, (const char *) whole.out, whole.len),
       "one octet at a time gives the same result");

    good = 1;

    for (cut = 1; cut < len; cut++) {
        run_data(&res, 0, msg, len, cut, BIG, 0);
        if (res.rc != whole.rc || res.consumed != whole.consumed
            || !out_is(&res, (const char *) whole.out, whole.len))
        {
            good = 0;
            printf("# chunk %zu differs\n", cut);
        }
    }

    ok(good, "every chunk size gives the same result");

    /* all 2-splits: the first call gets [0, cut), the second the rest */
    good = 1;

    for (cut = 0; cut <= len; cut++) {
        size_t                  used, written, total, olen;
        int                     rc;
        ngx_mail_smtpd_data_t   d;
        unsigned char           out[BIG];

        ngx_mail_smtpd_data_init(&d, 0);
        rc = ngx_mail_smtpd_data_decode(&d, (const unsigned char *) msg, cut,
                                        &used, out, BIG, &written);
        total = used;
        olen = written;

        if (rc != NGX_MAIL_SMTPD_PARSE_DONE) {
            rc = ngx_mail_smtpd_data_decode(&d,
                                            (const unsigned char *) msg + used,
                                            len - used, &used, out + olen,
                                            BIG - olen, &written);
            total += used;
            olen += written;
        }

        if (rc != NGX_MAIL_SMTPD_PARSE_DONE || total != whole.consumed
            || olen != whole.len || memcmp(out, whole.out, olen) != 0)
        {
            good = 0;
            printf("# split at %zu differs\n", cut);
        }
    }

    ok(good, "every 2-split of the sample gives the same result");

    /* the end marker split at each of its boundaries */
    for (i = 1; i < 5; i++) {
        static const char       end[] = "a\r\n.\r\n";
        size_t                  used, written;
        int                     rc1, rc2;
        ngx_mail_smtpd_data_t   d;
        unsigned char           out[BIG];

        ngx_mail_smtpd_data_init(&d, 0);
        rc1 = ngx_mail_smtpd_data_decode(&d, (const unsigned char *) end,
                                         1 + i, &used, out, BIG, &written);
        rc2 = ngx_mail_smtpd_data_decode(&d, (const unsigned char *) end
                                         + 1 + i, 5 - i, &used, out, BIG,
                                         &written);
        ok(rc1 == NGX_MAIL_SMTPD_PARSE_AGAIN && rc2 == NGX_MAIL_SMTPD_PARSE_DONE
           && used == 5 - i, "end marker split after its octet %zu", i);
    }

    /* a tiny output buffer: stop when full, resume, same result */
    for (i = NGX_MAIL_SMTPD_DATA_OUT_MIN; i <= 5; i++) {
        run_data(&res, 0, msg, len, len, i, 0);
        ok(res.rc == whole.rc && res.consumed == whole.consumed
           && out_is(&res, (const char *) whole.out, whole.len),
           "output buffer of %zu octets resumes", i);
    }

    {
        size_t                  used, written;
        int                     rc;
        ngx_mail_smtpd_data_t   d;
        unsigned char           out[4];

        ngx_mail_smtpd_data_init(&d, 0);
        rc = ngx_mail_smtpd_data_decode(&d, (const unsigned char *) "abcdef",
                                        6, &used, out, 4, &written);
        ok(rc == NGX_MAIL_SMTPD_PARSE_OK && used == 4 && written == 4,
           "full output: PARSE_OK with the input used so far");
        rc = ngx_mail_smtpd_data_decode(&d, (const unsigned char *) "x\r", 2,
                                        &used, out, 2, &written);
        ok(rc == NGX_MAIL_SMTPD_PARSE_ERROR,
           "output buffer below the minimum refused");
        rc = ngx_mail_smtpd_data_decode(&d, (const unsigned char *) ".\r\n",
                                        3, &used, out, 4, &written);
        ok(rc == NGX_MAIL_SMTPD_PARSE_AGAIN && written == 3
           && memcmp(out, ".\r\n", 3) == 0,
           "a dot after no line end is content");
    }
}


static void
test_data_size(void)
{
    static const char  msg[] = "0123456789\r\n0123456789\r\n.\r\nQUIT\r\n";

    run_data(&res, 0, msg, sizeof(msg) - 1, 7, BIG, 24);
    ok(res.rc == NGX_MAIL_SMTPD_PARSE_DONE && !res.data.too_big
       && res.len == 24, "message of exactly max_size fits");

    run_data(&res, 0, msg, sizeof(msg) - 1, 7, BIG, 23);
    ok(res.rc == NGX_MAIL_SMTPD_PARSE_DONE && res.data.too_big
       && res.consumed == sizeof(msg) - 1 - 6,
       "too big: read to the end, too_big set");
    ok(res.len <= 23 && res.data.stored == res.len && res.data.size == 24,
       "too big: stored %u octets, counted 24", (unsigned) res.len);

    run_data(&res, 0, msg, sizeof(msg) - 1, 1, 3, 5);
    ok(res.rc == NGX_MAIL_SMTPD_PARSE_DONE && res.data.too_big
       && out_is(&res, "01234", 5), "too big with a small output buffer");
}


static void
bdat_case(const char *name, const char *in, size_t len, size_t chunk,
    const char *expect, size_t expect_len)
{
    int  good;

    run_data(&res, 1, in, len, chunk, BIG, 0);
    good = res.rc == NGX_MAIL_SMTPD_PARSE_AGAIN && res.consumed == len
           && out_is(&res, expect, expect_len);
    ok(good, "BDAT %s (chunks of %zu)", name, chunk);

    if (!good) {
        show(&res);
    }
}


static void
test_bdat(void)
{
    size_t              chunk;
    static const char   msg[] = "a\r\n.\r\nb\nc\rd\r\r\ne\r";
    static const char   expect[] = "a\r\n.\r\nb\r\nc\r\nd\r\n\r\ne\r\n";

    for (chunk = 1; chunk <= 4; chunk++) {
        bdat_case("normalises line ends", msg, sizeof(msg) - 1, chunk,
                  expect, sizeof(expect) - 1);
    }

    bdat_case("CR | LF across chunks is one CR LF", "x\r\ny", 4, 2,
              "x\r\ny", 4);
    ok(!res.data.bare_cr && !res.data.bare_lf, "no bare CR or LF flagged");
    bdat_case("no end marker in BDAT", ".\r\n", 3, 1, ".\r\n", 3);
    bdat_case("trailing CR flushed by finish", "x\r", 2, 1, "x\r\n", 3);
    ok(res.data.bare_cr, "trailing CR counted as bare");
}


static void
test_dotstuff(void)
{
    int                          rc;
    size_t                       used, written, pos, len, o;
    unsigned char                out[BIG], small[2];
    ngx_mail_smtpd_dotstuff_t    ds;
    static const char            in[] = ".a\r\nb.\r\n..\r\n.";

    ngx_mail_smtpd_dotstuff_init(&ds);
    rc = ngx_mail_smtpd_dotstuff(&ds, (const unsigned char *) in,
                                 sizeof(in) - 1, &used, out, BIG, &written);
    ok(rc == NGX_MAIL_SMTPD_PARSE_AGAIN && used == sizeof(in) - 1
       && written == sizeof(in) - 1 + 3
       && memcmp(out, "..a\r\nb.\r\n...\r\n..", written) == 0,
       "dot-stuffing");
    ok(ds.line_start == 0, "content not ending in a line end");

    /* one octet of input and two of output at a time */
    ngx_mail_smtpd_dotstuff_init(&ds);
    len = sizeof(in) - 1;
    o = 0;

    for (pos = 0; pos < len; /* void */ ) {
        rc = ngx_mail_smtpd_dotstuff(&ds, (const unsigned char *) in + pos,
                                     1, &used, small, 2, &written);
        memcpy(out + o, small, written);
        o += written;
        pos += used;
    }

    ok(o == len + 3 && memcmp(out, "..a\r\nb.\r\n...\r\n..", o) == 0,
       "dot-stuffing across calls");

    /* what DATA decodes, dot-stuffing restores */
    {
        static const char  msg[] = "..x\r\n.\n.y\r\n...\r\n.\r\n";

        run_data(&res, 0, msg, sizeof(msg) - 1, 1, BIG, 0);
        ngx_mail_smtpd_dotstuff_init(&ds);
        rc = ngx_mail_smtpd_dotstuff(&ds, res.out, res.len, &used, out, BIG,
                                     &written);
        ok(written == 17
           && memcmp(out, "..x\r\n\r\n..y\r\n...\r\n", 17) == 0,
           "decode then dot-stuff");
    }
}


int
main(void)
{
    test_paths();
    test_utf8();
    test_mail_params();
    test_rcpt_params();
    test_xtext();
    test_data_basic();
    test_data_smuggling();
    test_data_splits();
    test_data_size();
    test_bdat();
    test_dotstuff();

    printf("1..%u\n", tests);

    return failed ? 1 : 0;
}
