
/*
 * Unit tests of the SPF evaluator (RFC 7208), printing TAP for
 * t/spam-06-spf-unit.t.  A table of DNS records in memory answers the
 * evaluator's questions, as the c-ares glue will: the tests say which
 * records exist, which client asks, and what check_host() must say.
 * The zone is that of RFC 7208 appendix A, the macros those of 7.4.
 */

#define _POSIX_C_SOURCE  200112L

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "ngx_mail_spf.h"


#define T_A     NGX_MAIL_SPF_A
#define T_AAAA  NGX_MAIL_SPF_AAAA
#define T_MX    NGX_MAIL_SPF_MX
#define T_PTR   NGX_MAIL_SPF_PTR
#define T_TXT   NGX_MAIL_SPF_TXT

#define R_SERVFAIL  NGX_MAIL_SPF_RCODE_SERVFAIL
#define R_TIMEOUT   NGX_MAIL_SPF_RCODE_TIMEOUT

/* a TXT record's strings are split at this octet */
#define SPLIT  "\x1f"


typedef struct {
    const char     *name;
    unsigned        type;
    const char     *data;       /* NULL: the rcode instead */
    int             rcode;
} dns_t;


static unsigned        tests;
static unsigned        failed;

static ngx_mail_spf_t  spf;

/* the questions asked, "TYPE name" joined with ";" */
static char            asked[8192];
static unsigned        nasked;


/* RFC 7208 appendix A, with the PTR names of the 192.0.2.x hosts */

static const dns_t  base[] = {
    { "example.com", T_A, "192.0.2.10", 0 },
    { "example.com", T_A, "192.0.2.11", 0 },
    { "amy.example.com", T_A, "192.0.2.65", 0 },
    { "bob.example.com", T_A, "192.0.2.66", 0 },
    { "mail-a.example.com", T_A, "192.0.2.129", 0 },
    { "mail-b.example.com", T_A, "192.0.2.130", 0 },
    { "www.example.com", T_A, "192.0.2.10", 0 },
    { "www.example.com", T_A, "192.0.2.11", 0 },
    { "mail-c.example.org", T_A, "192.0.2.140", 0 },
    { "example.com", T_MX, "mail-a.example.com", 0 },
    { "example.com", T_MX, "mail-b.example.com", 0 },
    { "example.org", T_MX, "mail-c.example.org", 0 },
    { "10.2.0.192.in-addr.arpa", T_PTR, "example.com", 0 },
    { "11.2.0.192.in-addr.arpa", T_PTR, "example.com", 0 },
    { "65.2.0.192.in-addr.arpa", T_PTR, "amy.example.com", 0 },
    { "66.2.0.192.in-addr.arpa", T_PTR, "bob.example.com", 0 },
    { "129.2.0.192.in-addr.arpa", T_PTR, "mail-a.example.com", 0 },
    { "130.2.0.192.in-addr.arpa", T_PTR, "mail-b.example.com", 0 },
    { "140.2.0.192.in-addr.arpa", T_PTR, "mail-c.example.org", 0 },
    { "10.0.0.10.in-addr.arpa", T_PTR, "bob.example.com", 0 },
    { "mx.example.org", T_A, "192.0.2.3", 0 },
    { "mx.example.org", T_AAAA, "2001:db8::cb01", 0 },
    { "3.2.0.192.in-addr.arpa", T_PTR, "mx.example.org", 0 },
    { "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
      ".ip6.arpa", T_PTR, "mx.example.org", 0 },
    { "v6.example.com", T_AAAA, "2001:db8:1::1", 0 },
    { "v6.example.com", T_A, "192.0.2.200", 0 },
    { NULL, 0, NULL, 0 }
};


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


static const char *
type_name(unsigned type)
{
    switch (type) {
    case T_A:
        return "A";
    case T_AAAA:
        return "AAAA";
    case T_MX:
        return "MX";
    case T_PTR:
        return "PTR";
    default:
        return "TXT";
    }
}


static int
has_pair(const dns_t *zone, const char *name, unsigned type)
{
    for ( /* void */ ; zone && zone->name; zone++) {
        if (zone->type == type && strcasecmp(zone->name, name) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
has_name(const dns_t *zone, const char *name)
{
    for ( /* void */ ; zone && zone->name; zone++) {
        if (strcasecmp(zone->name, name) == 0) {
            return 1;
        }
    }

    return 0;
}


/* the answer from the test's zone, else the base zone */

static void
resolve(const dns_t *zone)
{
    static ngx_mail_spf_rr_t  rrs[64];
    static char               strings[64][512];
    const dns_t              *z;
    const char               *p, *split;
    unsigned                  n;
    int                       rcode;

    if (nasked < 200) {
        snprintf(asked + strlen(asked), sizeof(asked) - strlen(asked),
                 "%s%s %s", asked[0] ? ";" : "", type_name(spf.query_type),
                 spf.query_name);
    }

    nasked++;

    if (!has_pair(zone, spf.query_name, spf.query_type)) {
        if (has_pair(base, spf.query_name, spf.query_type)
            || !has_name(zone, spf.query_name))
        {
            zone = base;
        }
    }

    rcode = NGX_MAIL_SPF_RCODE_NXDOMAIN;
    n = 0;

    if (has_name(zone, spf.query_name)) {
        rcode = NGX_MAIL_SPF_RCODE_NOERROR;
    }

    for (z = zone; z->name; z++) {
        if (z->type != spf.query_type
            || strcasecmp(z->name, spf.query_name) != 0)
        {
            continue;
        }

        if (z->data == NULL) {
            rcode = z->rcode;
            n = 0;
            break;
        }

        if (z->type != T_TXT) {
            memset(&rrs[n], 0, sizeof(ngx_mail_spf_rr_t));

            if (z->type == T_A) {
                inet_pton(AF_INET, z->data, rrs[n].addr);

            } else if (z->type == T_AAAA) {
                inet_pton(AF_INET6, z->data, rrs[n].addr);

            } else {
                rrs[n].data = (const unsigned char *) z->data;
                rrs[n].len = strlen(z->data);
            }

            n++;
            continue;
        }

        /* the strings of one TXT record */
        p = z->data;

        for ( ;; ) {
            split = strstr(p, SPLIT);
            memset(&rrs[n], 0, sizeof(ngx_mail_spf_rr_t));
            rrs[n].record_start = (p == z->data);
            rrs[n].len = split ? (size_t) (split - p) : strlen(p);
            memcpy(strings[n], p, rrs[n].len);
            rrs[n].data = (const unsigned char *) strings[n];
            n++;

            if (split == NULL) {
                break;
            }

            p = split + 1;
        }
    }

    if (ngx_mail_spf_answer(&spf, rcode, rrs, n) != NGX_MAIL_SPF_OK) {
        printf("# answer() refused\n");
        exit(1);
    }
}


static ngx_mail_spf_result_e
check(const dns_t *zone, const char *ip, const char *sender,
    const char *helo)
{
    const char             *at;
    unsigned                i;
    ngx_mail_spf_params_t   params;

    memset(&params, 0, sizeof(ngx_mail_spf_params_t));

    if (strchr(ip, ':')) {
        params.family = 6;
        inet_pton(AF_INET6, ip, params.addr);

    } else {
        params.family = 4;
        inet_pton(AF_INET, ip, params.addr);
    }

    at = strrchr(sender, '@');

    if (at) {
        params.sender_local.data = (const unsigned char *) sender;
        params.sender_local.len = at - sender;
        params.sender_domain.data = (const unsigned char *) at + 1;
        params.sender_domain.len = strlen(at + 1);

    } else if (sender[0]) {
        params.sender_domain.data = (const unsigned char *) sender;
        params.sender_domain.len = strlen(sender);
    }

    params.helo.data = (const unsigned char *) helo;
    params.helo.len = strlen(helo);
    params.receiver.data = (const unsigned char *) "mx.receiver.test";
    params.receiver.len = 16;
    params.now = 1700000000;

    asked[0] = '\0';
    nasked = 0;

    if (ngx_mail_spf_init(&spf, &params) != NGX_MAIL_SPF_OK) {
        return spf.result;
    }

    for (i = 0; i < 1000; i++) {
        if (ngx_mail_spf_step(&spf) == NGX_MAIL_SPF_OK) {
            return spf.result;
        }

        resolve(zone);
    }

    printf("# the evaluation does not end\n");
    exit(1);
}


static void
is_result(const dns_t *zone, const char *ip, const char *sender,
    ngx_mail_spf_result_e expected, const char *what)
{
    ngx_mail_spf_result_e  result;

    result = check(zone, ip, sender, "helo.example.net");

    ok(result == expected, "%s: %s (%s%s%s)", what,
       ngx_mail_spf_result_name(expected), ngx_mail_spf_result_name(result),
       spf.problem ? ", " : "", spf.problem ? spf.problem : "");
}


/* the record of example.com alone, tried from one client address */

static ngx_mail_spf_result_e
record_check(const char *record, const char *ip)
{
    dns_t  zone[2];

    memset(zone, 0, sizeof(zone));
    zone[0].name = "example.com";
    zone[0].type = T_TXT;
    zone[0].data = record;

    return check(zone, ip, "user@example.com", "helo.example.net");
}


static void
record_result(const char *record, const char *ip,
    ngx_mail_spf_result_e expected, const char *what)
{
    ngx_mail_spf_result_e  result;

    result = record_check(record, ip);

    ok(result == expected, "%s: %s (%s%s%s)", what,
       ngx_mail_spf_result_name(expected), ngx_mail_spf_result_name(result),
       spf.problem ? ", " : "", spf.problem ? spf.problem : "");
}


/* the name "exists" asks about: the expansion of a macro-string */

static void
expands(const char *ip, const char *sender, const char *macro,
    const char *expected)
{
    char         record[512];
    const char  *q;
    dns_t        zone[2];

    snprintf(record, sizeof(record), "v=spf1 exists:%s -all", macro);
    memset(zone, 0, sizeof(zone));
    zone[0].name = "email.example.com";
    zone[0].type = T_TXT;
    zone[0].data = record;

    check(zone, ip, sender, "helo.example.net");

    /* the last A question: "p" asks some before */
    for (q = strstr(asked, ";A "); q && strstr(q + 1, ";A ");
         q = strstr(q + 1, ";A "))
    {
        /* void */
    }

    ok(q && strcmp(q + 3, expected) == 0, "%s from %s: %s (%s)", macro, ip,
       expected, q ? q + 3 : asked);
}


static void
test_mechanisms(void)
{
    /* RFC 7208 appendix A.1 */
    record_result("v=spf1 +all", "192.0.2.1", NGX_MAIL_SPF_PASS, "+all");
    record_result("v=spf1 all", "192.0.2.1", NGX_MAIL_SPF_PASS, "all");
    record_result("v=spf1 -all", "192.0.2.1", NGX_MAIL_SPF_FAIL, "-all");
    record_result("v=spf1 ~all", "192.0.2.1", NGX_MAIL_SPF_SOFTFAIL,
                  "~all");
    record_result("v=spf1 ?all", "192.0.2.1", NGX_MAIL_SPF_NEUTRAL, "?all");
    record_result("v=spf1", "192.0.2.1", NGX_MAIL_SPF_NEUTRAL,
                  "no terms: neutral (4.7)");
    record_result("v=spf1 ip4:192.0.2.99", "192.0.2.1",
                  NGX_MAIL_SPF_NEUTRAL, "no match: neutral");
    record_result("V=SPF1 A -ALL", "192.0.2.10", NGX_MAIL_SPF_PASS,
                  "names in any case");
    record_result("v=spf1   a   -all  ", "192.0.2.10", NGX_MAIL_SPF_PASS,
                  "extra spaces");

    record_result("v=spf1 a -all", "192.0.2.10", NGX_MAIL_SPF_PASS,
                  "a: the domain's address");
    record_result("v=spf1 a -all", "192.0.2.12", NGX_MAIL_SPF_FAIL,
                  "a: another address");
    record_result("v=spf1 a:example.org -all", "192.0.2.10",
                  NGX_MAIL_SPF_FAIL, "a:example.org without A");
    record_result("v=spf1 a/24 -all", "192.0.2.77", NGX_MAIL_SPF_PASS,
                  "a/24");
    record_result("v=spf1 a:www.example.com/31 -all", "192.0.2.11",
                  NGX_MAIL_SPF_PASS, "a:domain/31");
    record_result("v=spf1 a/0 -all", "198.51.100.1", NGX_MAIL_SPF_PASS,
                  "a/0 matches any IPv4 client");

    record_result("v=spf1 mx -all", "192.0.2.129", NGX_MAIL_SPF_PASS,
                  "mx: first host");
    record_result("v=spf1 mx -all", "192.0.2.130", NGX_MAIL_SPF_PASS,
                  "mx: second host");
    record_result("v=spf1 mx -all", "192.0.2.10", NGX_MAIL_SPF_FAIL,
                  "mx: not a host");
    record_result("v=spf1 mx:example.org -all", "192.0.2.140",
                  NGX_MAIL_SPF_PASS, "mx:example.org");
    record_result("v=spf1 mx mx:example.org -all", "192.0.2.140",
                  NGX_MAIL_SPF_PASS, "mx mx:example.org");
    record_result("v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.131",
                  NGX_MAIL_SPF_PASS, "mx/30 (192.0.2.128/30)");
    record_result("v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.143",
                  NGX_MAIL_SPF_PASS, "mx:example.org/30 (192.0.2.140/30)");
    record_result("v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.144",
                  NGX_MAIL_SPF_FAIL, "mx/30 mx:example.org/30, outside");

    record_result("v=spf1 ptr -all", "192.0.2.65", NGX_MAIL_SPF_PASS,
                  "ptr: amy.example.com");
    record_result("v=spf1 ptr -all", "192.0.2.140", NGX_MAIL_SPF_FAIL,
                  "ptr: mail-c.example.org is not under example.com");
    record_result("v=spf1 ptr -all", "10.0.0.10", NGX_MAIL_SPF_FAIL,
                  "ptr: bob.example.com does not point back");
    record_result("v=spf1 ptr:example.org -all", "192.0.2.140",
                  NGX_MAIL_SPF_PASS, "ptr:example.org");

    record_result("v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.65",
                  NGX_MAIL_SPF_FAIL, "ip4:192.0.2.128/28 outside");
    record_result("v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.143",
                  NGX_MAIL_SPF_PASS, "ip4:192.0.2.128/28 inside");
    record_result("v=spf1 ip4:192.0.2.1 -all", "192.0.2.1",
                  NGX_MAIL_SPF_PASS, "ip4 without length is /32");
    record_result("v=spf1 ip4:0.0.0.0/0 -all", "203.0.113.9",
                  NGX_MAIL_SPF_PASS, "ip4:0.0.0.0/0");

    record_result("v=spf1 exists:mx.example.org -all", "198.51.100.1",
                  NGX_MAIL_SPF_PASS, "exists: a name with A");
    record_result("v=spf1 exists:nothing.example.org -all", "198.51.100.1",
                  NGX_MAIL_SPF_FAIL, "exists: a name without");

    record_result("v=spf1 -ip4:192.0.2.1 +all", "192.0.2.1",
                  NGX_MAIL_SPF_FAIL, "the first match decides");
    record_result("v=spf1 ~a ?all", "192.0.2.10", NGX_MAIL_SPF_SOFTFAIL,
                  "~a: softfail");
    record_result("v=spf1 ?mx -all", "192.0.2.129", NGX_MAIL_SPF_NEUTRAL,
                  "?mx: neutral");
    record_result("v=spf1 foo=bar all", "192.0.2.1", NGX_MAIL_SPF_PASS,
                  "an unknown modifier is ignored");
    record_result("v=spf1 -all redirect=nowhere.example.org", "192.0.2.1",
                  NGX_MAIL_SPF_FAIL, "all before redirect: no redirect");

    ok(strcmp(spf.mechanism, "-all") == 0, "the matching mechanism: %s",
       spf.mechanism);
}


static void
test_selection(void)
{
    static char  long_txt[40 * 401];
    unsigned     i;
    dns_t        zone[4];

    is_result(NULL, "192.0.2.1", "user@nothing.example.org",
              NGX_MAIL_SPF_NONE, "NXDOMAIN: none");
    is_result(NULL, "192.0.2.1", "user@example.com", NGX_MAIL_SPF_NONE,
              "no TXT: none");
    is_result(NULL, "192.0.2.1", "user@localhost", NGX_MAIL_SPF_NONE,
              "a one-label domain: none without lookup (4.3)");
    ok(nasked == 0, "no question for it");
    is_result(NULL, "192.0.2.1", "user@bad..example.com",
              NGX_MAIL_SPF_NONE, "an empty label: none");

    record_result("v=spf10 -all", "192.0.2.1", NGX_MAIL_SPF_NONE,
                  "v=spf10 is no SPF record");
    record_result("spf1 -all", "192.0.2.1", NGX_MAIL_SPF_NONE,
                  "no version: none");
    record_result("v=spf1" SPLIT " ip4:192.0.2" SPLIT ".1 -all",
                  "192.0.2.1", NGX_MAIL_SPF_PASS,
                  "a record's strings are joined without spaces (3.3)");

    memset(zone, 0, sizeof(zone));
    zone[0].name = "example.com";
    zone[0].type = T_TXT;
    zone[0].data = "v=spf1 +all";
    zone[1].name = "example.com";
    zone[1].type = T_TXT;
    zone[1].data = "v=spf1 -all";
    is_result(zone, "192.0.2.1", "user@example.com", NGX_MAIL_SPF_PERMERROR,
              "two SPF records: permerror (4.5)");

    zone[1].data = "google-site-verification=abc";
    zone[2].name = "example.com";
    zone[2].type = T_TXT;
    zone[2].data = "v=spf1x";
    is_result(zone, "192.0.2.1", "user@example.com", NGX_MAIL_SPF_PASS,
              "other TXT records are not counted");

    /* a long record of another kind counts against no bound */
    for (i = 0; i < 40; i++) {
        memset(long_txt + i * 401, 'k', 400);
        long_txt[i * 401 + 400] = SPLIT[0];
    }

    long_txt[40 * 401 - 1] = '\0';
    zone[1].data = long_txt;
    zone[2].name = NULL;
    is_result(zone, "192.0.2.1", "user@example.com", NGX_MAIL_SPF_PASS,
              "a 16000-octet TXT record beside the SPF record");

    memset(zone, 0, sizeof(zone));
    zone[0].name = "example.com";
    zone[0].type = T_TXT;
    zone[0].rcode = R_SERVFAIL;
    is_result(zone, "192.0.2.1", "user@example.com", NGX_MAIL_SPF_TEMPERROR,
              "SERVFAIL on TXT: temperror");
    zone[0].rcode = R_TIMEOUT;
    is_result(zone, "192.0.2.1", "user@example.com", NGX_MAIL_SPF_TEMPERROR,
              "timeout on TXT: temperror");

    /* HELO identity: no MAIL FROM domain (RFC 7208 2.3, 2.4) */
    memset(zone, 0, sizeof(zone));
    zone[0].name = "mail.example.org";
    zone[0].type = T_TXT;
    zone[0].data = "v=spf1 ip4:192.0.2.3 -all";
    ok(check(zone, "192.0.2.3", "", "mail.example.org") == NGX_MAIL_SPF_PASS
       && spf.identity == NGX_MAIL_SPF_HELO,
       "empty MAIL FROM: the HELO identity is checked");
    ok(strcmp(asked, "TXT mail.example.org") == 0, "asked %s", asked);
}


static void
test_syntax(void)
{
    static const char  *bad[] = {
        "v=spf1 foo -all",
        "v=spf1 +all foo:bar",
        "v=spf1 ip4:300.1.1.1",
        "v=spf1 ip4:192.0.2.1/33",
        "v=spf1 ip4:192.0.2.01",
        "v=spf1 ip4:192.0.2.1/024",
        "v=spf1 ip4",
        "v=spf1 ip6:zz::1",
        "v=spf1 ip6:2001:db8::/129",
        "v=spf1 ip6:192.0.2.1",
        "v=spf1 a/33",
        "v=spf1 a//129",
        "v=spf1 mx/",
        "v=spf1 a:",
        "v=spf1 a:foo",
        "v=spf1 a:example.123",
        "v=spf1 a:example.-com",
        "v=spf1 include",
        "v=spf1 include:",
        "v=spf1 exists",
        "v=spf1 all:example.com",
        "v=spf1 all/24",
        "v=spf1 ptr:",
        "v=spf1 -foo=bar",
        "v=spf1 =bar",
        "v=spf1 redirect=a.example.com redirect=b.example.com",
        "v=spf1 exp=a.example.com exp=b.example.com",
        "v=spf1 redirect=",
        "v=spf1 a:%{x}.example.com",
        "v=spf1 a:%{d0}.example.com",
        "v=spf1 a:%{d1234}",
        "v=spf1 a:%{c}.example.com",
        "v=spf1 exists:%{t}",
        "v=spf1 a:%{d",
        "v=spf1 a:%d.example.com",
        "v=spf1 a:50%.example.com",
        "v=spf1 a:%{d}%",
        "v=spf1 a:%{d2r+-x}",
        "v=spf1 foo=%{z}",
        "v=spf1 a:%{d}.",
        "v=spf1 a:example.com..",
        NULL
    };
    static const char  *good[] = {
        "v=spf1 a:example.com. -all",
        "v=spf1 a:%{d} -all",
        "v=spf1 a:%{d1r.-+,/_=} -all",
        "v=spf1 a:%{D}.x-1.example.com -all",
        "v=spf1 a:%%.example.com -all",
        "v=spf1 a:_spf.example.com/24//64 -all",
        "v=spf1 mx//64 -all",
        "v=spf1 ip6:::1 -all",
        "v=spf1 ip6:2001:db8::/32 -all",
        "v=spf1 ip4:192.0.2.1/0 -all",
        "v=spf1 exists:%{ir}.%{v}._spf.%{d2} -all",
        "v=spf1 a:1.example.1a -all",
        "v=spf1 foo.bar-baz_1=anything -all",
        "v=spf1 exp=%{d}.explain.example.com -all",
        NULL
    };
    unsigned               i;
    ngx_mail_spf_result_e  result;

    for (i = 0; bad[i]; i++) {
        record_result(bad[i], "192.0.2.1", NGX_MAIL_SPF_PERMERROR, bad[i]);
    }

    for (i = 0; good[i]; i++) {
        result = record_check(good[i], "192.0.2.1");
        ok(result != NGX_MAIL_SPF_PERMERROR, "valid: %s (%s%s%s)", good[i],
           ngx_mail_spf_result_name(result), spf.problem ? ", " : "",
           spf.problem ? spf.problem : "");
    }
}


static void
test_include(void)
{
    dns_t  zone[8];

    memset(zone, 0, sizeof(zone));
    zone[0].name = "example.com";
    zone[0].type = T_TXT;
    zone[0].data = "v=spf1 include:_spf.example.net -all";
    zone[1].name = "_spf.example.net";
    zone[1].type = T_TXT;
    zone[1].data = "v=spf1 ip4:192.0.2.0/24 -all";

    is_result(zone, "192.0.2.9", "user@example.com", NGX_MAIL_SPF_PASS,
              "include of pass: match");
    ok(strcmp(spf.mechanism, "include:_spf.example.net") == 0,
       "mechanism %s", spf.mechanism);
    is_result(zone, "198.51.100.1", "user@example.com", NGX_MAIL_SPF_FAIL,
              "include of fail: no match, on to -all");

    zone[0].data = "v=spf1 include:_spf.example.net ?all";
    is_result(zone, "198.51.100.1", "user@example.com",
              NGX_MAIL_SPF_NEUTRAL, "include's -all is not ours");
    zone[1].data = "v=spf1 ~all";
    is_result(zone, "198.51.100.1", "user@example.com",
              NGX_MAIL_SPF_NEUTRAL, "include of softfail: no match");
    zone[1].data = "v=spf1 ?all";
    is_result(zone, "198.51.100.1", "user@example.com",
              NGX_MAIL_SPF_NEUTRAL, "include of neutral: no match");
    zone[0].data = "v=spf1 -include:_spf.example.net +all";
    zone[1].data = "v=spf1 +all";
    is_result(zone, "198.51.100.1", "user@example.com", NGX_MAIL_SPF_FAIL,
              "-include of pass: fail");

    zone[0].data = "v=spf1 include:_spf.example.net -all";
    zone[1].data = "v=spf1 foo:bar +all";
    is_result(zone, "198.51.100.1", "user@example.com",
              NGX_MAIL_SPF_PERMERROR, "include of permerror: permerror");
    zone[1].data = "not spf";
    is_result(zone, "198.51.100.1", "user@example.com",
              NGX_MAIL_SPF_PERMERROR, "include of none: permerror");
    zone[0].data = "v=spf1 include:nowhere.example.net -all";
    is_result(zone, "198.51.100.1", "user@example.com",
              NGX_MAIL_SPF_PERMERROR, "include of NXDOMAIN: permerror");
    zone[0].data = "v=spf1 include:_spf.example.net -all";
    zone[1].data = NULL;
    zone[1].rcode = R_SERVFAIL;
    is_result(zone, "198.51.100.1", "user@example.com",
              NGX_MAIL_SPF_TEMPERROR, "include of temperror: temperror");

    /* <domain> inside an include is the included one */
    zone[1].data = "v=spf1 a -all";
    zone[2].name = "_spf.example.net";
    zone[2].type = T_A;
    zone[2].data = "198.51.100.7";
    is_result(zone, "198.51.100.7", "user@example.com", NGX_MAIL_SPF_PASS,
              "\"a\" in an include is the included domain's");

    /* nested includes, the inner one failing */
    zone[1].data = "v=spf1 include:inner.example.net ip4:198.51.100.8 -all";
    zone[3].name = "inner.example.net";
    zone[3].type = T_TXT;
    zone[3].data = "v=spf1 -all";
    is_result(zone, "198.51.100.8", "user@example.com", NGX_MAIL_SPF_PASS,
              "the outer include goes on after the inner fails");

    /* redirect (6.1) */
    memset(zone, 0, sizeof(zone));
    zone[0].name = "example.com";
    zone[0].type = T_TXT;
    zone[0].data = "v=spf1 redirect=_spf.example.net";
    zone[1].name = "_spf.example.net";
    zone[1].type = T_TXT;
    zone[1].data = "v=spf1 a -all";
    zone[2].name = "_spf.example.net";
    zone[2].type = T_A;
    zone[2].data = "198.51.100.7";

    is_result(zone, "198.51.100.7", "user@example.com", NGX_MAIL_SPF_PASS,
              "redirect: the target's \"a\" is its own");
    is_result(zone, "192.0.2.10", "user@example.com", NGX_MAIL_SPF_FAIL,
              "redirect: the target's -all");
    zone[0].data = "v=spf1 ip4:192.0.2.10 redirect=_spf.example.net";
    is_result(zone, "192.0.2.10", "user@example.com", NGX_MAIL_SPF_PASS,
              "redirect only when nothing matched");
    zone[0].data = "redirect=_spf.example.net v=spf1";
    is_result(zone, "192.0.2.10", "user@example.com", NGX_MAIL_SPF_NONE,
              "v=spf1 must come first");
    zone[0].data = "v=spf1 redirect=nowhere.example.net";
    is_result(zone, "192.0.2.10", "user@example.com",
              NGX_MAIL_SPF_PERMERROR, "redirect to none: permerror");
    zone[0].data = "v=spf1 include:_spf.example.net -all";
    zone[1].data = "v=spf1 redirect=_r.example.net";
    zone[3].name = "_r.example.net";
    zone[3].type = T_TXT;
    zone[3].data = "v=spf1 ip4:198.51.100.9 -all";
    is_result(zone, "198.51.100.9", "user@example.com", NGX_MAIL_SPF_PASS,
              "include of a redirect");
    is_result(zone, "198.51.100.10", "user@example.com", NGX_MAIL_SPF_FAIL,
              "include of a redirect that fails: no match");
}


static void
test_exp(void)
{
    dns_t  zone[6];

    memset(zone, 0, sizeof(zone));
    zone[0].name = "example.com";
    zone[0].type = T_TXT;
    zone[0].data = "v=spf1 mx -all exp=explain._spf.%{d}";
    zone[1].name = "explain._spf.example.com";
    zone[1].type = T_TXT;
    zone[1].data = "%{i} is not one of %{d}'s designated mail servers.";

    /* RFC 7208 6.2's example */
    is_result(zone, "192.0.2.3", "user@example.com", NGX_MAIL_SPF_FAIL,
              "exp: fail");
    ok(strcmp(spf.explanation,
              "192.0.2.3 is not one of example.com's designated mail"
              " servers.") == 0, "explanation: %s", spf.explanation);

    zone[1].data = "%{c} %{r} %{t} %{s} %{h} %%%_%-";
    is_result(zone, "2001:db8::1", "user@example.com", NGX_MAIL_SPF_FAIL,
              "exp with c, r, t");
    ok(strcmp(spf.explanation,
              "2001:db8::1 mx.receiver.test 1700000000 user@example.com"
              " helo.example.net % %20") == 0,
       "explanation: %s", spf.explanation);

    zone[1].data = "bad %{z}";
    is_result(zone, "192.0.2.3", "user@example.com", NGX_MAIL_SPF_FAIL,
              "exp with a bad macro: still fail");
    ok(strcmp(spf.explanation, "example.com does not designate the client"
              " as permitted sender") == 0,
       "the default explanation: %s", spf.explanation);

    zone[1].data = "" SPLIT "";
    is_result(zone, "192.0.2.3", "user@example.com", NGX_MAIL_SPF_FAIL,
              "an empty exp record");
    ok(strncmp(spf.explanation, "example.com does not", 20) == 0,
       "the default explanation: %s", spf.explanation);

    zone[2] = zone[1];
    zone[1].data = "one";
    zone[2].data = "two";
    is_result(zone, "192.0.2.3", "user@example.com", NGX_MAIL_SPF_FAIL,
              "two exp records");
    ok(strncmp(spf.explanation, "example.com does not", 20) == 0,
       "the default explanation: %s", spf.explanation);

    zone[1].data = NULL;
    zone[1].rcode = R_SERVFAIL;
    zone[2].name = NULL;
    is_result(zone, "192.0.2.3", "user@example.com", NGX_MAIL_SPF_FAIL,
              "exp lookup fails: still fail");

    /* an include's exp is not used, a redirect target's is */
    memset(zone, 0, sizeof(zone));
    zone[0].name = "example.com";
    zone[0].type = T_TXT;
    zone[0].data = "v=spf1 -include:_i.example.com -all";
    zone[1].name = "_i.example.com";
    zone[1].type = T_TXT;
    zone[1].data = "v=spf1 +all exp=_x.example.com";
    zone[2].name = "_x.example.com";
    zone[2].type = T_TXT;
    zone[2].data = "from the include";
    is_result(zone, "192.0.2.3", "user@example.com", NGX_MAIL_SPF_FAIL,
              "-include: fail");
    ok(strncmp(spf.explanation, "example.com does not", 20) == 0,
       "not the include's explanation: %s", spf.explanation);

    zone[0].data = "v=spf1 redirect=_i.example.com exp=_y.example.com";
    zone[1].data = "v=spf1 -all exp=_x.example.com";
    zone[3].name = "_y.example.com";
    zone[3].type = T_TXT;
    zone[3].data = "from the redirecting record";
    is_result(zone, "192.0.2.3", "user@example.com", NGX_MAIL_SPF_FAIL,
              "redirect to -all: fail");
    ok(strcmp(spf.explanation, "from the include") == 0,
       "the redirect target's explanation: %s", spf.explanation);
}


static void
test_limits(void)
{
    char      record[1024], names[12][32], records[12][64];
    unsigned  i;
    dns_t     zone[40];

    /* RFC 7208 4.6.4: ten DNS mechanisms, the eleventh is permerror */
    strcpy(record, "v=spf1");

    for (i = 0; i < 10; i++) {
        strcat(record, " a:example.com");
    }

    record_result(record, "192.0.2.99", NGX_MAIL_SPF_NEUTRAL,
                  "ten lookups are allowed");
    strcat(record, " a:example.com");
    record_result(record, "192.0.2.99", NGX_MAIL_SPF_PERMERROR,
                  "the eleventh is permerror");
    strcpy(record, "v=spf1 ip4:192.0.2.99");

    for (i = 0; i < 11; i++) {
        strcat(record, " a:example.com");
    }

    record_result(record, "192.0.2.99", NGX_MAIL_SPF_PASS,
                  "no limit before the mechanisms are evaluated");

    record_result("v=spf1 ip4:1.2.3.4 ip4:1.2.3.5 ip4:1.2.3.6 ip4:1.2.3.7"
                  " ip4:1.2.3.8 ip4:1.2.3.9 ip4:1.2.3.10 ip4:1.2.3.11"
                  " ip4:1.2.3.12 ip4:1.2.3.13 ip4:1.2.3.14 ip4:1.2.3.15"
                  " all", "192.0.2.1", NGX_MAIL_SPF_PASS,
                  "ip4, ip6 and all cost no lookup");

    /* a chain of includes and redirects counts too */
    memset(zone, 0, sizeof(zone));

    for (i = 0; i < 12; i++) {
        snprintf(names[i], sizeof(names[i]), "l%u.example.net", i);
    }

    zone[0].name = "example.com";
    zone[0].type = T_TXT;
    zone[0].data = "v=spf1 include:l0.example.net -all";

    /* l0 includes l1, l1 redirects to l2, l2 includes l3 ... */
    for (i = 0; i < 11; i++) {
        snprintf(records[i], sizeof(records[i]),
                 (i % 2) ? "v=spf1 redirect=%s" : "v=spf1 include:%s",
                 names[i + 1]);

        zone[i + 1].name = names[i];
        zone[i + 1].type = T_TXT;
        zone[i + 1].data = records[i];
    }

    zone[12].name = names[11];
    zone[12].type = T_TXT;
    zone[12].data = "v=spf1 +all";
    is_result(zone, "192.0.2.1", "user@example.com", NGX_MAIL_SPF_PERMERROR,
              "12 includes and redirects: permerror");

    zone[10].data = "v=spf1 +all";
    is_result(zone, "192.0.2.1", "user@example.com", NGX_MAIL_SPF_PASS,
              "10 includes and redirects: pass");

    /* void lookups: two allowed, the third is permerror */
    record_result("v=spf1 a:n1.example.org a:n2.example.org ip4:192.0.2.1",
                  "192.0.2.1", NGX_MAIL_SPF_PASS, "two void lookups");
    record_result("v=spf1 a:n1.example.org mx:n2.example.org"
                  " exists:n3.example.org ip4:192.0.2.1",
                  "192.0.2.1", NGX_MAIL_SPF_PERMERROR, "three void lookups");
    record_result("v=spf1 a:n1.example.org a:mail-a.example.com"
                  " a:n2.example.org a:amy.example.com ip4:192.0.2.1",
                  "192.0.2.1", NGX_MAIL_SPF_PASS,
                  "lookups with answers are not void");
    record_result("v=spf1 a:amy.example.com/24 a:n2.example.org",
                  "192.0.2.1", NGX_MAIL_SPF_PASS,
                  "a/24 of another host");

    /* MX: more than ten names is permerror */
    memset(zone, 0, sizeof(zone));
    zone[0].name = "example.com";
    zone[0].type = T_TXT;
    zone[0].data = "v=spf1 mx:many.example.com -all";

    for (i = 0; i < 11; i++) {
        zone[i + 1].name = "many.example.com";
        zone[i + 1].type = T_MX;
        zone[i + 1].data = names[i];
    }

    is_result(zone, "192.0.2.1", "user@example.com", NGX_MAIL_SPF_PERMERROR,
              "eleven MX names: permerror");
    zone[11].name = NULL;
    is_result(zone, "192.0.2.1", "user@example.com", NGX_MAIL_SPF_FAIL,
              "ten MX names without addresses: fail");
    ok(nasked == 12, "ten address lookups (%u questions)", nasked);

    zone[1].data = "";
    zone[2].data = "mail-a.example.com";
    is_result(zone, "192.0.2.129", "user@example.com", NGX_MAIL_SPF_PASS,
              "the null MX is skipped");

    zone[1].data = "broken.example.com";
    zone[11].name = "broken.example.com";
    zone[11].type = T_A;
    zone[11].data = NULL;
    zone[11].rcode = R_SERVFAIL;
    is_result(zone, "192.0.2.129", "user@example.com",
              NGX_MAIL_SPF_TEMPERROR, "SERVFAIL on an MX host: temperror");

    /* PTR: the first ten names only; a DNS error is no match */
    memset(zone, 0, sizeof(zone));
    zone[0].name = "example.com";
    zone[0].type = T_TXT;
    zone[0].data = "v=spf1 ptr -all";

    for (i = 0; i < 11; i++) {
        zone[i + 1].name = "9.2.0.192.in-addr.arpa";
        zone[i + 1].type = T_PTR;
        zone[i + 1].data = (i == 10) ? "www.example.com" : "amy.example.com";
    }

    zone[12].name = "www.example.com";
    zone[12].type = T_A;
    zone[12].data = "192.0.2.9";
    is_result(zone, "192.0.2.9", "user@example.com", NGX_MAIL_SPF_FAIL,
              "the eleventh PTR name is ignored");
    zone[10].data = "www.example.com";
    is_result(zone, "192.0.2.9", "user@example.com", NGX_MAIL_SPF_PASS,
              "the tenth is used");

    memset(zone, 0, sizeof(zone));
    zone[0].name = "example.com";
    zone[0].type = T_TXT;
    zone[0].data = "v=spf1 ptr ?all";
    zone[1].name = "65.2.0.192.in-addr.arpa";
    zone[1].type = T_PTR;
    zone[1].rcode = R_SERVFAIL;
    is_result(zone, "192.0.2.65", "user@example.com", NGX_MAIL_SPF_NEUTRAL,
              "SERVFAIL on PTR: no match, not temperror");
    zone[1].name = "amy.example.com";
    zone[1].type = T_A;
    is_result(zone, "192.0.2.65", "user@example.com", NGX_MAIL_SPF_NEUTRAL,
              "SERVFAIL on a PTR name's A: that name is skipped");

    record_result("v=spf1 a:broken.example.org -all", "192.0.2.1",
                  NGX_MAIL_SPF_FAIL, "NXDOMAIN on a: no match");

    memset(zone, 0, sizeof(zone));
    zone[0].name = "example.com";
    zone[0].type = T_TXT;
    zone[0].data = "v=spf1 a:broken.example.org -all";
    zone[1].name = "broken.example.org";
    zone[1].type = T_A;
    zone[1].rcode = R_SERVFAIL;
    is_result(zone, "192.0.2.1", "user@example.com", NGX_MAIL_SPF_TEMPERROR,
              "SERVFAIL on a: temperror");
    zone[0].data = "v=spf1 exists:broken.example.org -all";
    is_result(zone, "192.0.2.1", "user@example.com", NGX_MAIL_SPF_TEMPERROR,
              "SERVFAIL on exists: temperror");
    zone[0].data = "v=spf1 mx:broken.example.org -all";
    zone[1].type = T_MX;
    is_result(zone, "192.0.2.1", "user@example.com", NGX_MAIL_SPF_TEMPERROR,
              "SERVFAIL on mx: temperror");
}


static void
test_macros(void)
{
    char         local[200];
    const char  *v4 = "192.0.2.3", *v6 = "2001:db8::cb01";
    const char  *s = "strong-bad@email.example.com";

    /* RFC 7208 7.4 */
    expands(v4, s, "%{s}", "strong-bad@email.example.com");
    expands(v4, s, "%{o}", "email.example.com");
    expands(v4, s, "%{d}", "email.example.com");
    expands(v4, s, "%{d4}", "email.example.com");
    expands(v4, s, "%{d3}", "email.example.com");
    expands(v4, s, "%{d2}", "example.com");
    expands(v4, s, "%{d1}", "com");
    expands(v4, s, "%{dr}", "com.example.email");
    expands(v4, s, "%{d2r}", "example.email");
    expands(v4, s, "%{l}.x.example.com", "strong-bad.x.example.com");
    expands(v4, s, "%{l-}.x.example.com", "strong.bad.x.example.com");
    expands(v4, s, "%{lr}.x.example.com", "strong-bad.x.example.com");
    expands(v4, s, "%{lr-}.x.example.com", "bad.strong.x.example.com");
    expands(v4, s, "%{l1r-}.x.example.com", "strong.x.example.com");
    expands(v4, s, "%{ir}.%{v}._spf.%{d2}",
            "3.2.0.192.in-addr._spf.example.com");
    expands(v4, s, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com");
    expands(v4, s, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
            "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
    expands(v4, s, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
            "3.2.0.192.in-addr.strong.lp._spf.example.com");
    expands(v4, s, "%{d2}.trusted-domains.example.net",
            "example.com.trusted-domains.example.net");
    expands(v6, s, "%{ir}.%{v}._spf.%{d2}",
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
            ".ip6._spf.example.com");

    /* the rest of 7.3 */
    expands(v4, s, "%{S}", "strong-bad%40email.example.com");
    expands(v4, "a+b/c@email.example.com", "%{L}.example.com",
            "a%2Bb%2Fc.example.com");
    expands(v4, s, "%{h}", "helo.example.net");
    expands(v4, s, "%{i}.x.example.com", "192.0.2.3.x.example.com");
    expands(v4, s, "%{i2}.x.example.com", "2.3.x.example.com");
    expands(v4, s, "%{d9}", "email.example.com");
    expands(v4, s, "%%%-.x.example.com", "%%20.x.example.com");

    /* a space is no octet of a name we ask about: as if NXDOMAIN */
    record_result("v=spf1 exists:%_.x.example.com -all", "192.0.2.3",
                  NGX_MAIL_SPF_FAIL, "exists:%_.x.example.com");
    ok(strcmp(asked, "TXT example.com") == 0, "not asked: %s", asked);
    expands(v4, s, "%{d}.x.example.com.", "email.example.com.x.example.com");
    expands(v4, "a.b-c+d@email.example.com", "%{l.-}.x.example.com",
            "a.b.c+d.x.example.com");
    expands(v4, "a.b-c+d@email.example.com", "%{l2r+-}.x.example.com",
            "c.a.b.x.example.com");
    expands(v4, "@email.example.com", "%{l}.x.example.com",
            "postmaster.x.example.com");
    expands(v4, "email.example.com", "%{s}", "postmaster@email.example.com");

    /* "p": validated PTR name, else "unknown" */
    expands(v4, s, "%{p}.x.example.com", "mx.example.org.x.example.com");
    expands(v6, s, "%{p}.x.example.com", "mx.example.org.x.example.com");
    expands("192.0.2.65", s, "%{p}.x.example.com",
            "amy.example.com.x.example.com");
    expands("10.0.0.10", s, "%{p}.x.example.com",
            "unknown.x.example.com");
    expands("198.51.100.1", s, "%{p}.x.example.com",
            "unknown.x.example.com");

    /* RFC 7208 7.3: over 253 octets, labels go from the left */
    memset(local, 'a', 60);
    local[60] = '\0';
    strcat(local, "@email.example.com");
    expands(v6, local, "%{l}.%{ir}.%{ir}.%{ir}.%{ir}.example.com",
            "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.1.0.b.c.0.0.0."
            "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.1.0.b.c.0.0.0."
            "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.1.0.b.c.0.0.0."
            "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.example.com");
}


static void
test_ipv6(void)
{
    dns_t  zone[4];

    record_result("v=spf1 ip6:2001:db8::/32 -all", "2001:db8:ffff::1",
                  NGX_MAIL_SPF_PASS, "ip6:2001:db8::/32");
    record_result("v=spf1 ip6:2001:db8::/32 -all", "2001:db9::1",
                  NGX_MAIL_SPF_FAIL, "ip6:2001:db8::/32, outside");
    record_result("v=spf1 ip6:2001:db8::1 -all", "2001:db8::1",
                  NGX_MAIL_SPF_PASS, "ip6 without length is /128");
    record_result("v=spf1 ip6:2001:db8::/33 -all", "2001:db8:8000::1",
                  NGX_MAIL_SPF_FAIL, "ip6 /33: a bit past the word");
    record_result("v=spf1 ip6:2001:db8::/33 -all", "2001:db8:7fff::1",
                  NGX_MAIL_SPF_PASS, "ip6 /33: inside");
    record_result("v=spf1 ip4:192.0.2.0/24 -all", "2001:db8::1",
                  NGX_MAIL_SPF_FAIL, "ip4 does not match an IPv6 client");
    record_result("v=spf1 ip6:::/0 -all", "192.0.2.1", NGX_MAIL_SPF_FAIL,
                  "ip6 does not match an IPv4 client");
    record_result("v=spf1 ip4:192.0.2.1 -all", "::ffff:192.0.2.1",
                  NGX_MAIL_SPF_PASS, "IPv4-mapped is IPv4 (5)");

    record_result("v=spf1 a:v6.example.com -all", "2001:db8:1::1",
                  NGX_MAIL_SPF_PASS, "a asks AAAA for IPv6");
    ok(strstr(asked, "AAAA v6.example.com") != NULL, "asked %s", asked);
    record_result("v=spf1 a:v6.example.com//48 -all", "2001:db8:1:ffff::9",
                  NGX_MAIL_SPF_PASS, "a//48");
    record_result("v=spf1 a:v6.example.com/32//64 -all",
                  "2001:db8:1:ffff::9", NGX_MAIL_SPF_FAIL, "a/32//64");
    record_result("v=spf1 a:v6.example.com/24//64 -all", "192.0.2.7",
                  NGX_MAIL_SPF_PASS, "a/24//64 for IPv4");
    record_result("v=spf1 exists:v6.example.com -all", "2001:db8::99",
                  NGX_MAIL_SPF_PASS, "exists asks A even for IPv6");
    ok(strstr(asked, "A v6.example.com") != NULL
       && strstr(asked, "AAAA") == NULL, "asked %s", asked);

    memset(zone, 0, sizeof(zone));
    zone[0].name = "example.com";
    zone[0].type = T_TXT;
    zone[0].data = "v=spf1 mx -all";
    zone[1].name = "mail-a.example.com";
    zone[1].type = T_AAAA;
    zone[1].data = "2001:db8:a::25";
    is_result(zone, "2001:db8:a::25", "user@example.com", NGX_MAIL_SPF_PASS,
              "mx with AAAA");

    zone[0].data = "v=spf1 ptr:example.org -all";
    is_result(zone, "2001:db8::cb01", "user@example.com", NGX_MAIL_SPF_PASS,
              "ptr in ip6.arpa");
}


static void
test_headers(void)
{
    char    buf[1024];
    size_t  n;
    dns_t   zone[2];

    record_result("v=spf1 ip4:192.0.2.0/24 -all", "192.0.2.1",
                  NGX_MAIL_SPF_PASS, "for the headers: pass");
    n = ngx_mail_spf_received(&spf, buf, sizeof(buf));
    ok(n == strlen(buf) && strcmp(buf,
       "pass (mx.receiver.test: domain of user@example.com designates"
       " 192.0.2.1 as permitted sender) client-ip=192.0.2.1;"
       " envelope-from=\"user@example.com\"; helo=helo.example.net;"
       " receiver=mx.receiver.test; identity=mailfrom;"
       " mechanism=\"ip4:192.0.2.0/24\";") == 0, "Received-SPF: %s", buf);

    n = ngx_mail_spf_auth_results(&spf, buf, sizeof(buf));
    ok(n == strlen(buf) && strcmp(buf,
       "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=user@example.com")
       == 0, "Authentication-Results: %s", buf);

    ok(ngx_mail_spf_received(&spf, buf, 40) == 0 && buf[0] == '\0',
       "Received-SPF too long for the buffer: 0");
    ok(ngx_mail_spf_auth_results(&spf, buf, 20) == 0,
       "Authentication-Results too long for the buffer: 0");

    record_result("v=spf1 ~all", "2001:db8::1", NGX_MAIL_SPF_SOFTFAIL,
                  "for the headers: softfail");
    ngx_mail_spf_received(&spf, buf, sizeof(buf));
    ok(strcmp(buf,
       "softfail (mx.receiver.test: domain of transitioning"
       " user@example.com does not designate 2001:db8::1 as permitted"
       " sender) client-ip=\"2001:db8::1\";"
       " envelope-from=\"user@example.com\"; helo=helo.example.net;"
       " receiver=mx.receiver.test; identity=mailfrom;"
       " mechanism=~all;") == 0, "Received-SPF: %s", buf);

    record_result("v=spf1 foo", "192.0.2.1", NGX_MAIL_SPF_PERMERROR,
                  "for the headers: permerror");
    ngx_mail_spf_received(&spf, buf, sizeof(buf));
    ok(strcmp(buf,
       "permerror (mx.receiver.test: permanent error in the SPF record of"
       " user@example.com) client-ip=192.0.2.1;"
       " envelope-from=\"user@example.com\"; helo=helo.example.net;"
       " receiver=mx.receiver.test; identity=mailfrom;"
       " problem=\"unknown mechanism\";") == 0, "Received-SPF: %s", buf);
    ngx_mail_spf_auth_results(&spf, buf, sizeof(buf));
    ok(strcmp(buf, "spf=permerror (sender IP is 192.0.2.1; unknown"
              " mechanism) smtp.mailfrom=user@example.com") == 0,
       "Authentication-Results: %s", buf);

    memset(zone, 0, sizeof(zone));
    zone[0].name = "mail.example.org";
    zone[0].type = T_TXT;
    zone[0].data = "v=spf1 ?all";
    check(zone, "192.0.2.3", "", "mail.example.org");
    ngx_mail_spf_received(&spf, buf, sizeof(buf));
    ok(strcmp(buf,
       "neutral (mx.receiver.test: 192.0.2.3 is neither permitted nor"
       " denied by domain of postmaster@mail.example.org)"
       " client-ip=192.0.2.3; envelope-from=\"\"; helo=mail.example.org;"
       " receiver=mx.receiver.test; identity=helo; mechanism=?all;")
       == 0, "Received-SPF for HELO: %s", buf);
    ngx_mail_spf_auth_results(&spf, buf, sizeof(buf));
    ok(strcmp(buf, "spf=neutral (sender IP is 192.0.2.3)"
              " smtp.helo=mail.example.org") == 0,
       "Authentication-Results for HELO: %s", buf);

    is_result(NULL, "192.0.2.1", "we\"i(r)d@example.com", NGX_MAIL_SPF_NONE,
              "for the headers: an odd local part");
    ngx_mail_spf_received(&spf, buf, sizeof(buf));
    ok(strstr(buf, "domain of we\"i\\(r\\)d@example.com does not publish")
       && strstr(buf, "envelope-from=\"we\\\"i(r)d@example.com\""),
       "escaped in comment and quoted-string: %s", buf);
    ngx_mail_spf_auth_results(&spf, buf, sizeof(buf));
    ok(strcmp(buf, "spf=none (sender IP is 192.0.2.1)"
              " smtp.mailfrom=\"we\\\"i(r)d@example.com\"") == 0,
       "Authentication-Results quoted: %s", buf);
}


static void
test_api(void)
{
    ngx_mail_spf_params_t  params;
    char                   long_local[NGX_MAIL_SPF_LOCAL_MAX + 2];

    memset(&params, 0, sizeof(ngx_mail_spf_params_t));
    params.family = 5;
    ok(ngx_mail_spf_init(&spf, &params) == NGX_MAIL_SPF_ERROR,
       "init: family 5 is an error");

    params.family = 4;
    memset(long_local, 'a', sizeof(long_local));
    params.sender_local.data = (const unsigned char *) long_local;
    params.sender_local.len = sizeof(long_local);
    ok(ngx_mail_spf_init(&spf, &params) == NGX_MAIL_SPF_ERROR,
       "init: a local part over LOCAL_MAX is an error");
    ok(ngx_mail_spf_step(&spf) == NGX_MAIL_SPF_OK
       && spf.result == NGX_MAIL_SPF_PERMERROR,
       "step after a failed init: permerror");

    params.sender_local.len = 4;
    params.sender_domain.data = (const unsigned char *) "Example.COM.";
    params.sender_domain.len = 12;
    ok(ngx_mail_spf_init(&spf, &params) == NGX_MAIL_SPF_OK, "init");
    ok(ngx_mail_spf_answer(&spf, 0, NULL, 0) == NGX_MAIL_SPF_ERROR,
       "an answer before a question is an error");
    ok(ngx_mail_spf_step(&spf) == NGX_MAIL_SPF_AGAIN
       && spf.query_type == NGX_MAIL_SPF_TXT
       && strcmp(spf.query_name, "example.com") == 0,
       "the first question: TXT example.com, lower case, no dot");
    ok(ngx_mail_spf_step(&spf) == NGX_MAIL_SPF_AGAIN,
       "step again without an answer: the same question");
    ok(ngx_mail_spf_answer(&spf, NGX_MAIL_SPF_RCODE_NXDOMAIN, NULL, 0)
       == NGX_MAIL_SPF_OK && ngx_mail_spf_step(&spf) == NGX_MAIL_SPF_OK
       && spf.result == NGX_MAIL_SPF_NONE, "NXDOMAIN: none");
    ok(ngx_mail_spf_answer(&spf, 0, NULL, 0) == NGX_MAIL_SPF_ERROR,
       "an answer after the result is an error");

    ok(strcmp(ngx_mail_spf_result_name(NGX_MAIL_SPF_TEMPERROR),
              "temperror") == 0, "result names");
}


int
main(void)
{
    test_mechanisms();
    test_selection();
    test_syntax();
    test_include();
    test_exp();
    test_limits();
    test_macros();
    test_ipv6();
    test_headers();
    test_api();

    printf("1..%u\n", tests);

    return failed ? 1 : 0;
}
