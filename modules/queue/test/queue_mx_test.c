
/*
 * The DNS answer handling: DNS messages built here, byte for byte as a
 * server sends them, go through c-ares's parsers into the host list.
 */

#define _POSIX_C_SOURCE  200809L

#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/select.h>
#include <ares.h>

#include "ngx_mail_queue_mx.h"
#include "queue_test.h"


#define T_A     1
#define T_CNAME 5
#define T_MX    15
#define T_AAAA  28


typedef struct {
    unsigned char               buf[8192];
    size_t                      len;
} dns_msg_t;


static dns_msg_t            msg;
static ngx_mail_queue_mx_t  mx;


/* an uncompressed name: "." and "" are the root */

static void
dns_name(dns_msg_t *m, const char *name)
{
    const char  *dot;
    size_t       n;

    while (*name && strcmp(name, ".") != 0) {
        dot = strchr(name, '.');
        n = dot ? (size_t) (dot - name) : strlen(name);

        m->buf[m->len++] = (unsigned char) n;
        memcpy(m->buf + m->len, name, n);
        m->len += n;
        name += n + (dot ? 1 : 0);
    }

    m->buf[m->len++] = 0;
}


static void
dns_16(dns_msg_t *m, unsigned v)
{
    m->buf[m->len++] = (unsigned char) (v >> 8);
    m->buf[m->len++] = (unsigned char) v;
}


static void
dns_begin(dns_msg_t *m, unsigned rcode, const char *qname, unsigned qtype)
{
    m->len = 0;
    dns_16(m, 0x1234);
    dns_16(m, 0x8180 | rcode);     /* QR, RD, RA */
    dns_16(m, 1);
    dns_16(m, 0);
    dns_16(m, 0);
    dns_16(m, 0);
    dns_name(m, qname);
    dns_16(m, qtype);
    dns_16(m, 1);
}


/* the header of an answer RR; returns where its RDLENGTH goes */

static size_t
dns_rr(dns_msg_t *m, const char *owner, unsigned type)
{
    size_t  rdlength;

    dns_name(m, owner);
    dns_16(m, type);
    dns_16(m, 1);
    dns_16(m, 0);
    dns_16(m, 300);

    rdlength = m->len;
    dns_16(m, 0);

    /* ANCOUNT */
    m->buf[7]++;

    return rdlength;
}


static void
dns_rr_end(dns_msg_t *m, size_t rdlength)
{
    size_t  n;

    n = m->len - rdlength - 2;
    m->buf[rdlength] = (unsigned char) (n >> 8);
    m->buf[rdlength + 1] = (unsigned char) n;
}


static void
dns_mx(dns_msg_t *m, const char *owner, unsigned preference,
    const char *host)
{
    size_t  rd;

    rd = dns_rr(m, owner, T_MX);
    dns_16(m, preference);
    dns_name(m, host);
    dns_rr_end(m, rd);
}


static void
dns_cname(dns_msg_t *m, const char *owner, const char *target)
{
    size_t  rd;

    rd = dns_rr(m, owner, T_CNAME);
    dns_name(m, target);
    dns_rr_end(m, rd);
}


static void
dns_a(dns_msg_t *m, const char *owner, const char *addr)
{
    size_t  rd;

    rd = dns_rr(m, owner, T_A);
    inet_pton(AF_INET, addr, m->buf + m->len);
    m->len += 4;
    dns_rr_end(m, rd);
}


static void
dns_aaaa(dns_msg_t *m, const char *owner, const char *addr)
{
    size_t  rd;

    rd = dns_rr(m, owner, T_AAAA);
    inet_pton(AF_INET6, addr, m->buf + m->len);
    m->len += 16;
    dns_rr_end(m, rd);
}


/* a predictable "random": a linear congruential sequence from a seed */

static uint32_t
test_random(void *data)
{
    uint32_t  *state;

    state = data;
    *state = *state * 1103515245u + 12345u;

    return *state >> 8;
}


static int
init(const char *domain)
{
    return ngx_mail_queue_mx_init(&mx, (const unsigned char *) domain,
                                  strlen(domain));
}


static int
parse_mx(uint32_t seed)
{
    return ngx_mail_queue_mx_parse_mx_answer(&mx, msg.buf, msg.len,
                                             seed ? test_random : NULL,
                                             &seed);
}


/* the host names in order, "a b c" */

static int
hosts_are(const char *expect)
{
    char      list[4096];
    size_t    n;
    unsigned  i;

    n = 0;
    list[0] = '\0';

    for (i = 0; i < mx.nhosts && n + mx.hosts[i].name_len + 2 < sizeof(list);
         i++)
    {
        n += sprintf(list + n, "%s%s", i ? " " : "", mx.hosts[i].name);
    }

    if (strcmp(list, expect) != 0) {
        printf("# hosts: \"%s\"\n", list);
        return 0;
    }

    return 1;
}


/* example.org with mx1 (10) and mx2 (20) */

static void
two_mx(void)
{
    init("example.org");
    dns_begin(&msg, 0, "example.org", T_MX);
    dns_mx(&msg, "example.org", 10, "mx1.example.org");
    dns_mx(&msg, "example.org", 20, "mx2.example.org");
    parse_mx(0);
}


static int
failed_with(ngx_mail_queue_mx_result_e result, const char *status)
{
    if (mx.result != result || strcmp(mx.status, status) != 0
        || mx.error == NULL)
    {
        printf("# result %d status %s error %s\n", (int) mx.result, mx.status,
               mx.error ? mx.error : "(null)");
        return 0;
    }

    return 1;
}


static void
test_mx_init(void)
{
    char  name[400];

    ok(init("Example.COM.") == NGX_MAIL_QUEUE_PARSE_OK
       && strcmp(mx.domain, "example.com") == 0 && mx.domain_len == 11,
       "domain lower-cased, final dot dropped");
    ok(init("a-b.3com.example") == NGX_MAIL_QUEUE_PARSE_OK,
       "digits and hyphens");
    ok(init("") == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_PERMANENT, "5.1.2"), "empty domain");
    ok(init(".") == NGX_MAIL_QUEUE_PARSE_ERROR, "root domain");
    ok(init("a..b") == NGX_MAIL_QUEUE_PARSE_ERROR, "empty label");
    ok(init(".a") == NGX_MAIL_QUEUE_PARSE_ERROR, "leading dot");
    ok(init("a.b..") == NGX_MAIL_QUEUE_PARSE_ERROR, "two final dots");
    ok(init("[192.0.2.1]") == NGX_MAIL_QUEUE_PARSE_ERROR,
       "address literal is not looked up");
    ok(init("a_b.example") == NGX_MAIL_QUEUE_PARSE_ERROR, "underscore");
    ok(init("a b.example") == NGX_MAIL_QUEUE_PARSE_ERROR, "space");
    ok(init("caf\xc3\xa9.example") == NGX_MAIL_QUEUE_PARSE_ERROR,
       "U-label (the caller converts to an A-label)");
    ok(ngx_mail_queue_mx_init(&mx, (const unsigned char *) "a\0b", 3)
       == NGX_MAIL_QUEUE_PARSE_ERROR, "NUL in the name");

    memset(name, 'a', 63);
    strcpy(name + 63, ".example");
    ok(init(name) == NGX_MAIL_QUEUE_PARSE_OK, "label of 63");
    memset(name, 'a', 64);
    strcpy(name + 64, ".example");
    ok(init(name) == NGX_MAIL_QUEUE_PARSE_ERROR, "label of 64");

    /* 253 octets: four labels of 63 with dots, minus 3 */
    memset(name, 'a', 253);
    name[63] = name[127] = name[191] = '.';
    name[253] = '\0';
    ok(init(name) == NGX_MAIL_QUEUE_PARSE_OK && mx.domain_len == 253,
       "name of 253");
    name[253] = '.';
    name[254] = '\0';
    ok(init(name) == NGX_MAIL_QUEUE_PARSE_OK && mx.domain_len == 253,
       "name of 253 with the final dot");
    name[253] = 'a';
    ok(init(name) == NGX_MAIL_QUEUE_PARSE_ERROR, "name of 254");

    /* a failed init makes parse_mx fail too */
    init("");
    dns_begin(&msg, 0, "example.org", T_MX);
    dns_mx(&msg, "example.org", 10, "mx.example.org");
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_ERROR && mx.nhosts == 0,
       "no parsing after a failed init");
}


static void
test_mx_status(void)
{
    unsigned char  h[12];

    memset(h, 0, sizeof(h));
    h[2] = 0x81;
    h[3] = 0x80;
    h[7] = 1;

    ok(ngx_mail_queue_mx_answer_status(h, 12) == ARES_SUCCESS,
       "NOERROR with an answer");
    ok(ngx_mail_queue_mx_answer_status(h, 11) == ARES_EBADRESP,
       "shorter than a header");
    ok(ngx_mail_queue_mx_answer_status(NULL, 0) == ARES_EBADRESP, "nothing");
    h[7] = 0;
    ok(ngx_mail_queue_mx_answer_status(h, 12) == ARES_ENODATA,
       "NOERROR without answers");
    h[3] = 0x83;
    ok(ngx_mail_queue_mx_answer_status(h, 12) == ARES_ENOTFOUND, "NXDOMAIN");
    h[3] = 0x82;
    ok(ngx_mail_queue_mx_answer_status(h, 12) == ARES_ESERVFAIL, "SERVFAIL");
    h[3] = 0x85;
    ok(ngx_mail_queue_mx_answer_status(h, 12) == ARES_EREFUSED, "REFUSED");
    h[3] = 0x81;
    ok(ngx_mail_queue_mx_answer_status(h, 12) == ARES_EFORMERR, "FORMERR");
    h[3] = 0x84;
    ok(ngx_mail_queue_mx_answer_status(h, 12) == ARES_ENOTIMP, "NOTIMP");
    h[3] = 0x89;
    ok(ngx_mail_queue_mx_answer_status(h, 12) == ARES_EBADRESP, "NOTAUTH");
    h[2] = 0x01;
    h[3] = 0x80;
    ok(ngx_mail_queue_mx_answer_status(h, 12) == ARES_EBADRESP,
       "a query is no answer");
}


static void
test_mx_order(void)
{
    unsigned                  i, seen, perm;
    uint32_t                  seed;
    char                      first[8];
    ngx_mail_queue_mx_host_t  order[5];

    init("example.org");
    dns_begin(&msg, 0, "example.org", T_MX);
    dns_mx(&msg, "example.org", 20, "mx2.example.org");
    dns_mx(&msg, "example.org", 10, "mx1.example.org");
    dns_mx(&msg, "example.org", 30, "mx3.example.net");
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_OK
       && hosts_are("mx1.example.org mx2.example.org mx3.example.net")
       && mx.hosts[0].preference == 10 && mx.hosts[2].preference == 30
       && !mx.implicit && mx.result == NGX_MAIL_QUEUE_MX_OK,
       "MX by preference");

    ok(parse_mx(7) == NGX_MAIL_QUEUE_PARSE_OK
       && hosts_are("mx1.example.org mx2.example.org mx3.example.net"),
       "distinct preferences are not shuffled");

    dns_begin(&msg, 0, "example.org", T_MX);
    dns_mx(&msg, "example.org", 10, "A.example.org");
    dns_mx(&msg, "example.org", 10, "B.example.org");
    dns_mx(&msg, "example.org", 10, "C.example.org");
    dns_mx(&msg, "example.org", 5, "first.example.org");
    dns_mx(&msg, "example.org", 20, "last.example.org");
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_OK
       && hosts_are("first.example.org a.example.org b.example.org "
                    "c.example.org last.example.org"),
       "no random function: answer order within a preference");

    /* every order of the three equal hosts turns up, nothing else moves */
    seen = 0;

    for (seed = 1; seed < 200; seed++) {
        if (parse_mx(seed) != NGX_MAIL_QUEUE_PARSE_OK || mx.nhosts != 5
            || strcmp(mx.hosts[0].name, "first.example.org") != 0
            || strcmp(mx.hosts[4].name, "last.example.org") != 0)
        {
            break;
        }

        for (i = 0; i < 3; i++) {
            first[i] = mx.hosts[1 + i].name[0];
        }

        perm = (first[0] - 'a') * 3 + (first[1] - 'a');

        if (first[0] == first[1] || first[1] == first[2]
            || first[0] == first[2])
        {
            break;
        }

        seen |= 1u << perm;
    }

    ok(seed == 200, "shuffling keeps the hosts and the preferences");
    ok(seen == ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 5) | (1u << 6)
                | (1u << 7)), "all 6 orders of equal preferences seen");

    parse_mx(42);
    memcpy(order, mx.hosts, sizeof(order));
    parse_mx(42);
    ok(memcmp(order, mx.hosts, sizeof(order)) == 0,
       "the same random sequence gives the same order");

    /* preference 0 and 65535 */
    dns_begin(&msg, 0, "example.org", T_MX);
    dns_mx(&msg, "example.org", 65535, "z.example.org");
    dns_mx(&msg, "example.org", 0, "a.example.org");
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_OK
       && hosts_are("a.example.org z.example.org")
       && mx.hosts[1].preference == 65535, "preferences 0 and 65535");

    /* the same host twice: once, at its best preference */
    dns_begin(&msg, 0, "example.org", T_MX);
    dns_mx(&msg, "example.org", 20, "mx.example.org");
    dns_mx(&msg, "example.org", 15, "other.example.org");
    dns_mx(&msg, "example.org", 10, "MX.example.org");
    dns_mx(&msg, "example.org", 30, "mx.example.org.");
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_OK
       && hosts_are("mx.example.org other.example.org")
       && mx.hosts[0].preference == 10 && mx.skipped == 2,
       "duplicates merged at the best preference");

    /* MX on a CNAME'd domain: c-ares follows the chain */
    dns_begin(&msg, 0, "alias.example.org", T_MX);
    dns_cname(&msg, "alias.example.org", "example.org");
    dns_mx(&msg, "example.org", 10, "mx.example.org");
    init("alias.example.org");
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_OK && hosts_are("mx.example.org"),
       "MX behind a CNAME");
}


static void
test_mx_limits(void)
{
    char      name[400];
    unsigned  i, good;

    init("example.org");
    dns_begin(&msg, 0, "example.org", T_MX);

    /* 40 hosts, preferences 40 down to 1 */
    for (i = 0; i < 40; i++) {
        sprintf(name, "mx%u.example.org", 40 - i);
        dns_mx(&msg, "example.org", 40 - i, name);
    }

    good = (parse_mx(0) == NGX_MAIL_QUEUE_PARSE_OK
            && mx.nhosts == NGX_MAIL_QUEUE_MX_MAX && mx.skipped == 8);

    for (i = 0; good && i < mx.nhosts; i++) {
        sprintf(name, "mx%u.example.org", i + 1);
        good = (strcmp(mx.hosts[i].name, name) == 0
                && mx.hosts[i].preference == i + 1);
    }

    ok(good, "40 MX: the 32 best kept, in order");

    /* 40 of equal preference: the first 32 of the answer */
    dns_begin(&msg, 0, "example.org", T_MX);

    for (i = 0; i < 40; i++) {
        sprintf(name, "mx%u.example.org", i);
        dns_mx(&msg, "example.org", 10, name);
    }

    ok(parse_mx(3) == NGX_MAIL_QUEUE_PARSE_OK
       && mx.nhosts == NGX_MAIL_QUEUE_MX_MAX && mx.skipped == 8,
       "40 MX of one preference: 32 kept");

    /* bad names skipped */
    dns_begin(&msg, 0, "example.org", T_MX);
    dns_mx(&msg, "example.org", 10, "bad_name.example.org");
    dns_mx(&msg, "example.org", 20, "ok.example.org");
    dns_mx(&msg, "example.org", 30, "sp ace.example.org");
    dns_mx(&msg, "example.org", 40, "caf\xc3\xa9.example.org");
    dns_mx(&msg, "example.org", 50, "-.example.org");
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_OK
       && hosts_are("ok.example.org -.example.org") && mx.skipped == 3,
       "MX names that are no host names skipped");

    /* a label of 64 octets is no DNS label at all: the answer is bad */
    dns_begin(&msg, 0, "example.org", T_MX);
    memset(name, 'a', 64);
    strcpy(name + 64, ".example.org");
    dns_mx(&msg, "example.org", 50, name);
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_TEMPORARY, "4.4.3"),
       "label of 64 octets: malformed answer");

    /* a name with a dot inside a label: c-ares shows it escaped */
    dns_begin(&msg, 0, "example.org", T_MX);
    {
        size_t  rd;

        rd = dns_rr(&msg, "example.org", T_MX);
        dns_16(&msg, 10);
        memcpy(msg.buf + msg.len, "\x03" "a.b" "\x07" "example" "\x00", 13);
        msg.len += 13;
        dns_rr_end(&msg, rd);
    }
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_TEMPORARY, "4.4.4"),
       "only unusable MX names: temporary");

    /* a name of 253 octets is taken, the longest DNS carries */
    dns_begin(&msg, 0, "example.org", T_MX);
    memset(name, 'a', 253);
    name[63] = name[127] = name[191] = '.';
    name[253] = '\0';
    dns_mx(&msg, "example.org", 10, name);
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_OK && mx.nhosts == 1
       && mx.hosts[0].name_len == 253, "MX name of 253 octets");
}


static void
test_mx_failures(void)
{
    init("example.org");

    /* RFC 7505 */
    dns_begin(&msg, 0, "example.org", T_MX);
    dns_mx(&msg, "example.org", 0, ".");
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_ERROR && mx.null_mx
       && failed_with(NGX_MAIL_QUEUE_MX_PERMANENT, "5.1.10"),
       "null MX: permanent 5.1.10");

    dns_begin(&msg, 0, "example.org", T_MX);
    dns_mx(&msg, "example.org", 10, ".");
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_ERROR && mx.null_mx
       && failed_with(NGX_MAIL_QUEUE_MX_PERMANENT, "5.1.10"),
       "\".\" of another preference alone: also no mail");

    dns_begin(&msg, 0, "example.org", T_MX);
    dns_mx(&msg, "example.org", 0, ".");
    dns_mx(&msg, "example.org", 10, "mx.example.org");
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_OK && !mx.null_mx
       && hosts_are("mx.example.org") && mx.skipped == 1,
       "null MX next to a real one (broken zone): the real one");

    /* no MX: implicit MX */
    dns_begin(&msg, 0, "example.org", T_MX);
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_OK && mx.implicit
       && hosts_are("example.org") && mx.hosts[0].preference == 0,
       "NODATA: implicit MX");

    ok(ngx_mail_queue_mx_parse_mx(&mx, ARES_ENODATA, NULL, 0, NULL, NULL)
       == NGX_MAIL_QUEUE_PARSE_OK && mx.implicit && hosts_are("example.org"),
       "ARES_ENODATA from ares_query: implicit MX");

    dns_begin(&msg, 0, "example.org", T_MX);
    dns_cname(&msg, "example.org", "target.example.net");
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_OK && mx.implicit
       && hosts_are("example.org"), "CNAME without MX: implicit MX");

    dns_begin(&msg, 0, "example.org", T_MX);
    dns_a(&msg, "example.org", "192.0.2.1");
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_OK && mx.implicit,
       "an A record in an MX answer: implicit MX");

    /* NXDOMAIN bounces, the rest waits */
    dns_begin(&msg, 3, "example.org", T_MX);
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_ERROR && mx.nhosts == 0
       && failed_with(NGX_MAIL_QUEUE_MX_PERMANENT, "5.1.2"),
       "NXDOMAIN: permanent 5.1.2");
    ok(ngx_mail_queue_mx_parse_mx(&mx, ARES_ENOTFOUND, NULL, 0, NULL, NULL)
       == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_PERMANENT, "5.1.2"),
       "ARES_ENOTFOUND: permanent");
    ok(ngx_mail_queue_mx_parse_mx(&mx, ARES_EBADNAME, NULL, 0, NULL, NULL)
       == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_PERMANENT, "5.1.2"),
       "ARES_EBADNAME: permanent");

    dns_begin(&msg, 2, "example.org", T_MX);
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_TEMPORARY, "4.4.3")
       && strstr(mx.error, "SERVFAIL"), "SERVFAIL: temporary 4.4.3");
    ok(ngx_mail_queue_mx_parse_mx(&mx, ARES_ETIMEOUT, NULL, 0, NULL, NULL)
       == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_TEMPORARY, "4.4.3")
       && strstr(mx.error, "timed out"), "timeout: temporary");
    ok(ngx_mail_queue_mx_parse_mx(&mx, ARES_ECONNREFUSED, NULL, 0, NULL,
                                  NULL) == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_TEMPORARY, "4.4.3"),
       "connection refused: temporary");
    dns_begin(&msg, 5, "example.org", T_MX);
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_TEMPORARY, "4.4.3"),
       "REFUSED: temporary");

    /* garbled answers are retried */
    dns_begin(&msg, 0, "example.org", T_MX);
    dns_mx(&msg, "example.org", 10, "mx.example.org");
    msg.len -= 5;
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_TEMPORARY, "4.4.3"),
       "truncated answer: temporary");

    dns_begin(&msg, 0, "example.org", T_MX);
    dns_mx(&msg, "example.org", 10, "mx.example.org");
    msg.buf[msg.len - 16] = 0xc0;    /* a pointer to itself */
    msg.buf[msg.len - 15] = (unsigned char) (msg.len - 16);
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_TEMPORARY, "4.4.3"),
       "compression loop: temporary");

    dns_begin(&msg, 0, "example.org", T_MX);
    dns_mx(&msg, "example.org", 10, "mx.example.org");
    msg.buf[5] = 2;                  /* QDCOUNT 2 */
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_TEMPORARY, "4.4.3"),
       "two questions: temporary");

    ok(ngx_mail_queue_mx_parse_mx_answer(&mx, (const unsigned char *) "x", 1,
                                         NULL, NULL)
       == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_TEMPORARY, "4.4.3"),
       "one octet: temporary");
}


static int
parse_addr(unsigned host, unsigned family)
{
    return ngx_mail_queue_mx_parse_addr(&mx, host, family,
                                        ngx_mail_queue_mx_answer_status(
                                            msg.buf, msg.len),
                                        msg.buf, msg.len);
}


static void
test_mx_addresses(void)
{
    char      addr[64];
    unsigned  i;

    two_mx();

    dns_begin(&msg, 0, "mx1.example.org", T_A);
    dns_a(&msg, "mx1.example.org", "192.0.2.1");
    dns_a(&msg, "mx1.example.org", "192.0.2.2");
    ok(parse_addr(0, NGX_MAIL_QUEUE_MX_A) == NGX_MAIL_QUEUE_PARSE_OK
       && mx.hosts[0].naddrs == 2
       && mx.hosts[0].addrs[0].family == NGX_MAIL_QUEUE_MX_A
       && memcmp(mx.hosts[0].addrs[1].addr, "\xc0\x00\x02\x02", 4) == 0,
       "two A records");

    dns_begin(&msg, 0, "mx1.example.org", T_AAAA);
    dns_aaaa(&msg, "mx1.example.org", "2001:db8::25");
    ok(parse_addr(0, NGX_MAIL_QUEUE_MX_AAAA) == NGX_MAIL_QUEUE_PARSE_OK
       && mx.hosts[0].naddrs == 3
       && mx.hosts[0].addrs[2].family == NGX_MAIL_QUEUE_MX_AAAA
       && memcmp(mx.hosts[0].addrs[2].addr,
                 "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x25", 16) == 0,
       "an AAAA record added");
    ok(mx.hosts[0].a_done && mx.hosts[0].aaaa_done
       && !mx.hosts[0].temporary, "both lookups recorded");

    /* through a CNAME */
    dns_begin(&msg, 0, "mx2.example.org", T_A);
    dns_cname(&msg, "mx2.example.org", "real.example.net");
    dns_a(&msg, "real.example.net", "198.51.100.7");
    ok(parse_addr(1, NGX_MAIL_QUEUE_MX_A) == NGX_MAIL_QUEUE_PARSE_OK
       && mx.hosts[1].naddrs == 1
       && memcmp(mx.hosts[1].addrs[0].addr, "\xc6\x33\x64\x07", 4) == 0,
       "A behind a CNAME");

    /* addresses of another name are not this host's */
    two_mx();
    dns_begin(&msg, 0, "mx1.example.org", T_A);
    dns_a(&msg, "evil.example.net", "203.0.113.66");
    ok(parse_addr(0, NGX_MAIL_QUEUE_MX_A) != NGX_MAIL_QUEUE_PARSE_OK
       && mx.hosts[0].naddrs == 0, "A of another name ignored");

    /* an AAAA answer given as A */
    dns_begin(&msg, 0, "mx1.example.org", T_A);
    dns_aaaa(&msg, "mx1.example.org", "2001:db8::1");
    ok(parse_addr(0, NGX_MAIL_QUEUE_MX_A) != NGX_MAIL_QUEUE_PARSE_OK
       && mx.hosts[0].naddrs == 0, "AAAA record in an A answer ignored");

    /* more than ADDRS_MAX */
    two_mx();
    dns_begin(&msg, 0, "mx1.example.org", T_A);
    for (i = 0; i < 20; i++) {
        sprintf(addr, "192.0.2.%u", i + 1);
        dns_a(&msg, "mx1.example.org", addr);
    }
    ok(parse_addr(0, NGX_MAIL_QUEUE_MX_A) == NGX_MAIL_QUEUE_PARSE_OK
       && mx.hosts[0].naddrs == NGX_MAIL_QUEUE_MX_ADDRS_MAX
       && mx.hosts[0].addrs[15].addr[3] == 16, "20 A records: 16 kept");
    dns_begin(&msg, 0, "mx1.example.org", T_AAAA);
    dns_aaaa(&msg, "mx1.example.org", "2001:db8::1");
    ok(parse_addr(0, NGX_MAIL_QUEUE_MX_AAAA) == NGX_MAIL_QUEUE_PARSE_DECLINED
       && mx.hosts[0].naddrs == NGX_MAIL_QUEUE_MX_ADDRS_MAX,
       "a full host takes no more");

    /* none, and failures */
    two_mx();
    dns_begin(&msg, 0, "mx1.example.org", T_AAAA);
    ok(parse_addr(0, NGX_MAIL_QUEUE_MX_AAAA) == NGX_MAIL_QUEUE_PARSE_DECLINED
       && !mx.hosts[0].temporary, "NODATA: declined");
    dns_begin(&msg, 3, "mx1.example.org", T_A);
    ok(parse_addr(0, NGX_MAIL_QUEUE_MX_A) == NGX_MAIL_QUEUE_PARSE_DECLINED
       && !mx.hosts[0].temporary, "NXDOMAIN: declined");
    ok(ngx_mail_queue_mx_finish(&mx) == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_TEMPORARY, "4.4.3"),
       "finish before every lookup is done: temporary");

    dns_begin(&msg, 2, "mx2.example.org", T_A);
    ok(parse_addr(1, NGX_MAIL_QUEUE_MX_A) == NGX_MAIL_QUEUE_PARSE_ERROR
       && mx.hosts[1].temporary, "SERVFAIL: error, host temporary");
    ok(ngx_mail_queue_mx_parse_addr(&mx, 1, NGX_MAIL_QUEUE_MX_AAAA,
                                    ARES_ENOTFOUND, NULL, 0)
       == NGX_MAIL_QUEUE_PARSE_DECLINED, "ARES_ENOTFOUND: declined");
    ok(ngx_mail_queue_mx_finish(&mx) == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_TEMPORARY, "4.4.3")
       && strstr(mx.error, "MX hosts"), "one host failed for now: temporary");

    dns_begin(&msg, 0, "mx1.example.org", T_A);
    dns_a(&msg, "mx1.example.org", "192.0.2.9");
    msg.len -= 2;
    ok(parse_addr(0, NGX_MAIL_QUEUE_MX_A) == NGX_MAIL_QUEUE_PARSE_ERROR
       && mx.hosts[0].temporary, "truncated A answer: temporary");

    ok(ngx_mail_queue_mx_parse_addr(&mx, 2, NGX_MAIL_QUEUE_MX_A,
                                    ARES_SUCCESS, msg.buf, msg.len)
       == NGX_MAIL_QUEUE_PARSE_ERROR, "no such host index");
    ok(ngx_mail_queue_mx_parse_addr(&mx, 0, 5, ARES_SUCCESS, msg.buf,
                                    msg.len)
       == NGX_MAIL_QUEUE_PARSE_ERROR, "no such family");

    /* every name has none: permanent */
    two_mx();
    for (i = 0; i < 2; i++) {
        ngx_mail_queue_mx_parse_addr(&mx, i, NGX_MAIL_QUEUE_MX_A,
                                     ARES_ENODATA, NULL, 0);
        ngx_mail_queue_mx_parse_addr(&mx, i, NGX_MAIL_QUEUE_MX_AAAA,
                                     ARES_ENOTFOUND, NULL, 0);
    }
    ok(ngx_mail_queue_mx_finish(&mx) == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_PERMANENT, "5.4.4"),
       "no MX host has an address: permanent 5.4.4");

    /* one address is enough, whatever the others did */
    dns_begin(&msg, 0, "mx2.example.org", T_AAAA);
    dns_aaaa(&msg, "mx2.example.org", "2001:db8::2");
    parse_addr(1, NGX_MAIL_QUEUE_MX_AAAA);
    ok(ngx_mail_queue_mx_finish(&mx) == NGX_MAIL_QUEUE_PARSE_OK
       && mx.result == NGX_MAIL_QUEUE_MX_OK, "one address: OK");

    /* implicit MX without addresses */
    init("example.org");
    dns_begin(&msg, 0, "example.org", T_MX);
    parse_mx(0);
    ngx_mail_queue_mx_parse_addr(&mx, 0, NGX_MAIL_QUEUE_MX_A, ARES_ENODATA,
                                 NULL, 0);
    ngx_mail_queue_mx_parse_addr(&mx, 0, NGX_MAIL_QUEUE_MX_AAAA,
                                 ARES_ENODATA, NULL, 0);
    ok(ngx_mail_queue_mx_finish(&mx) == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_PERMANENT, "5.4.4")
       && strstr(mx.error, "neither MX nor address"),
       "implicit MX without address: permanent");

    /* implicit MX with an address */
    dns_begin(&msg, 0, "example.org", T_A);
    dns_a(&msg, "example.org", "192.0.2.80");
    ok(parse_addr(0, NGX_MAIL_QUEUE_MX_A) == NGX_MAIL_QUEUE_PARSE_OK
       && ngx_mail_queue_mx_finish(&mx) == NGX_MAIL_QUEUE_PARSE_OK,
       "implicit MX with an A record: OK");

    /* the same structure for the next attempt: no stale reason */
    dns_begin(&msg, 0, "example.org", T_MX);
    dns_mx(&msg, "example.org", 10, "mx.example.org");
    init("example.org");
    ngx_mail_queue_mx_parse_mx(&mx, ARES_ETIMEOUT, NULL, 0, NULL, NULL);
    ok(parse_mx(0) == NGX_MAIL_QUEUE_PARSE_OK && mx.error == NULL
       && mx.status[0] == '\0' && mx.result == NGX_MAIL_QUEUE_MX_OK,
       "a second parse forgets the first failure");

    /* finish after a failed MX lookup keeps its reason */
    init("example.org");
    dns_begin(&msg, 3, "example.org", T_MX);
    parse_mx(0);
    ok(ngx_mail_queue_mx_finish(&mx) == NGX_MAIL_QUEUE_PARSE_ERROR
       && failed_with(NGX_MAIL_QUEUE_MX_PERMANENT, "5.1.2"),
       "finish after NXDOMAIN keeps it");
}


void
test_mx(void)
{
    test_mx_init();
    test_mx_status();
    test_mx_order();
    test_mx_limits();
    test_mx_failures();
    test_mx_addresses();
}
