
/*
 * Unit tests of the spam filter's DNS answer reading
 * (ngx_mail_spam_dns.c), printing TAP for t/spam-08-dns-unit.t.  The
 * DNS messages are built here byte for byte as a server sends them and
 * go through c-ares's parsers into SPF records and DNSBL codes; some
 * are then given to the SPF evaluator, to see the records mean what
 * they should.
 */

#define _POSIX_C_SOURCE  200112L

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <sys/select.h>
#include <ares.h>

#include "ngx_mail_spf.h"
#include "ngx_mail_spam_dns.h"


#define T_A      1
#define T_CNAME  5
#define T_PTR    12
#define T_MX     15
#define T_TXT    16
#define T_AAAA   28

#define R_NOERROR   NGX_MAIL_SPF_RCODE_NOERROR
#define R_SERVFAIL  NGX_MAIL_SPF_RCODE_SERVFAIL
#define R_NXDOMAIN  NGX_MAIL_SPF_RCODE_NXDOMAIN
#define R_TIMEOUT   NGX_MAIL_SPF_RCODE_TIMEOUT


typedef struct {
    unsigned char               buf[65536];
    size_t                      len;
} dns_msg_t;


static unsigned           tests;
static unsigned           failed;

static dns_msg_t          msg;

static ngx_mail_spf_rr_t  rrs[NGX_MAIL_SPAM_DNS_RRS_MAX];
static unsigned char      storage[NGX_MAIL_SPAM_DNS_STORAGE];
static unsigned           nrrs;
static int                rcode;

static ngx_mail_spf_t     spf;


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


/* an uncompressed name: "" is the root */

static void
dns_name(dns_msg_t *m, const char *name)
{
    const char  *dot;
    size_t       n;

    while (*name) {
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
dns_32(dns_msg_t *m, uint32_t v)
{
    dns_16(m, v >> 16);
    dns_16(m, v & 0xffff);
}


static void
dns_begin(dns_msg_t *m, const char *qname, unsigned qtype)
{
    m->len = 0;
    dns_16(m, 0x4242);
    dns_16(m, 0x8180);          /* QR, RD, RA, NOERROR */
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
dns_rr(dns_msg_t *m, const char *owner, unsigned type, uint32_t ttl)
{
    size_t    rdlength;
    unsigned  ancount;

    dns_name(m, owner);
    dns_16(m, type);
    dns_16(m, 1);
    dns_32(m, ttl);

    rdlength = m->len;
    dns_16(m, 0);

    ancount = (m->buf[6] << 8 | m->buf[7]) + 1;
    m->buf[6] = (unsigned char) (ancount >> 8);
    m->buf[7] = (unsigned char) ancount;

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


/* a TXT record of strings separated by '|' */

static void
dns_txt(dns_msg_t *m, const char *owner, const char *strings)
{
    size_t       rd, n;
    const char  *bar;

    rd = dns_rr(m, owner, T_TXT, 300);

    for ( ;; ) {
        bar = strchr(strings, '|');
        n = bar ? (size_t) (bar - strings) : strlen(strings);

        m->buf[m->len++] = (unsigned char) n;
        memcpy(m->buf + m->len, strings, n);
        m->len += n;

        if (bar == NULL) {
            break;
        }

        strings = bar + 1;
    }

    dns_rr_end(m, rd);
}


static void
dns_host(dns_msg_t *m, const char *owner, unsigned type, unsigned preference,
    const char *host)
{
    size_t  rd;

    rd = dns_rr(m, owner, type, 300);

    if (type == T_MX) {
        dns_16(m, preference);
    }

    dns_name(m, host);
    dns_rr_end(m, rd);
}


static void
dns_a(dns_msg_t *m, const char *owner, const char *addr, uint32_t ttl)
{
    size_t  rd;

    rd = dns_rr(m, owner, T_A, ttl);
    inet_pton(AF_INET, addr, m->buf + m->len);
    m->len += 4;
    dns_rr_end(m, rd);
}


static void
dns_aaaa(dns_msg_t *m, const char *owner, const char *addr)
{
    size_t  rd;

    rd = dns_rr(m, owner, T_AAAA, 300);
    inet_pton(AF_INET6, addr, m->buf + m->len);
    m->len += 16;
    dns_rr_end(m, rd);
}


static int
records(unsigned type, int status)
{
    memset(rrs, 0xa5, sizeof(rrs));

    return ngx_mail_spam_dns_spf_records(type, status, msg.buf, msg.len, rrs,
                                         NGX_MAIL_SPAM_DNS_RRS_MAX, storage,
                                         sizeof(storage), &nrrs, &rcode);
}


static int
rr_is(unsigned i, const char *text)
{
    return i < nrrs && rrs[i].len == strlen(text)
           && memcmp(rrs[i].data, text, rrs[i].len) == 0;
}


static int
addr_is(unsigned i, int family, const char *text)
{
    unsigned char  addr[16];

    memset(addr, 0, sizeof(addr));
    inet_pton(family, text, addr);

    return i < nrrs && memcmp(rrs[i].addr, addr, 16) == 0;
}


static void
test_txt(void)
{
    dns_begin(&msg, "example.com", T_TXT);
    dns_txt(&msg, "example.com", "v=spf1 -all");

    ok(records(T_TXT, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && rcode == R_NOERROR && nrrs == 1 && rr_is(0, "v=spf1 -all")
       && rrs[0].record_start, "TXT: one record of one string");

    dns_begin(&msg, "example.com", T_TXT);
    dns_txt(&msg, "example.com", "v=spf1 |ip4:192.0.2.1| -all");
    dns_txt(&msg, "example.com", "site-verification=abc");
    dns_txt(&msg, "example.com", "|x|");

    ok(records(T_TXT, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && rcode == R_NOERROR && nrrs == 7
       && rr_is(0, "v=spf1 ") && rr_is(1, "ip4:192.0.2.1")
       && rr_is(2, " -all") && rr_is(3, "site-verification=abc")
       && rr_is(4, "") && rr_is(5, "x") && rr_is(6, ""),
       "TXT: every string of every record, empty ones too, in order");

    ok(rrs[0].record_start && !rrs[1].record_start && !rrs[2].record_start
       && rrs[3].record_start && rrs[4].record_start
       && !rrs[5].record_start && !rrs[6].record_start,
       "TXT: record_start on the first string of each record");

    ok(rrs[1].data == rrs[0].data + 7 && rrs[0].data == storage,
       "TXT: the text is in the storage given");

    dns_begin(&msg, "example.com", T_TXT);
    dns_host(&msg, "example.com", T_CNAME, 0, "spf.example.net");

    ok(records(T_TXT, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && rcode == R_NOERROR && nrrs == 0,
       "TXT: a CNAME alone is NOERROR without records");

    dns_begin(&msg, "example.com", T_TXT);
    dns_txt(&msg, "example.com", "a|b|c");
    dns_txt(&msg, "example.com", "d");

    ok(ngx_mail_spam_dns_spf_records(T_TXT, ARES_SUCCESS, msg.buf, msg.len,
                                     rrs, 3, storage, sizeof(storage), &nrrs,
                                     &rcode)
       == ARES_ENOMEM && rcode == R_SERVFAIL && nrrs == 0,
       "TXT: more strings than rrs hold: none, SERVFAIL");

    ok(ngx_mail_spam_dns_spf_records(T_TXT, ARES_SUCCESS, msg.buf, msg.len,
                                     rrs, 4, storage, 3, &nrrs, &rcode)
       == ARES_ENOMEM && rcode == R_SERVFAIL && nrrs == 0,
       "TXT: more text than the storage holds: none, SERVFAIL");

    ok(ngx_mail_spam_dns_spf_records(T_TXT, ARES_SUCCESS, msg.buf, msg.len,
                                     rrs, 4, storage, 4, &nrrs, &rcode)
       == NGX_MAIL_SPAM_DNS_OK && nrrs == 4 && rr_is(3, "d"),
       "TXT: rrs and storage just large enough");
}


static void
test_status(void)
{
    static const struct {
        int          status;
        int          rcode;
        const char  *name;
    } statuses[] = {
        { ARES_ENODATA, R_NOERROR, "ENODATA: NOERROR" },
        { ARES_ENOTFOUND, R_NXDOMAIN, "ENOTFOUND: NXDOMAIN" },
        { ARES_ETIMEOUT, R_TIMEOUT, "ETIMEOUT: timeout" },
        { ARES_ESERVFAIL, R_SERVFAIL, "ESERVFAIL: SERVFAIL" },
        { ARES_EREFUSED, R_SERVFAIL, "EREFUSED: SERVFAIL" },
        { ARES_ECONNREFUSED, R_SERVFAIL, "ECONNREFUSED: SERVFAIL" },
        { ARES_EBADRESP, R_SERVFAIL, "EBADRESP: SERVFAIL" },
    };

    unsigned  i;

    /* the records of the answer are not read unless the status says so */
    dns_begin(&msg, "example.com", T_TXT);
    dns_txt(&msg, "example.com", "v=spf1 -all");

    for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        ok(records(T_TXT, statuses[i].status) == NGX_MAIL_SPAM_DNS_OK
           && rcode == statuses[i].rcode && nrrs == 0,
           "status %s, no records", statuses[i].name);
    }

    ok(ngx_mail_spam_dns_spf_records(T_TXT, ARES_ENOTFOUND, NULL, 0, NULL,
                                     0, NULL, 0, &nrrs, &rcode)
       == NGX_MAIL_SPAM_DNS_OK && rcode == R_NXDOMAIN && nrrs == 0,
       "a failed lookup needs no answer, no arrays");

    ok(records(99, ARES_SUCCESS) == ARES_ENOTIMP && rcode == R_SERVFAIL
       && nrrs == 0, "a type not SPF's: ENOTIMP, SERVFAIL");
}


static void
test_broken(void)
{
    size_t    full, cut;
    unsigned  type, bad;
    static const unsigned  types[] = { T_TXT, T_A, T_AAAA, T_MX, T_PTR };

    ok(ngx_mail_spam_dns_spf_records(T_TXT, ARES_SUCCESS, NULL, 0, rrs,
                                     4, storage, 4, &nrrs, &rcode)
       == ARES_EBADRESP && rcode == R_SERVFAIL && nrrs == 0,
       "success without an answer: EBADRESP, SERVFAIL");

    memcpy(msg.buf, "\x42\x42\x81", 3);
    msg.len = 3;

    for (type = 0; type < 5; type++) {
        ok(records(types[type], ARES_SUCCESS) > 0 && rcode == R_SERVFAIL
           && nrrs == 0, "type %u: a message shorter than its header is "
           "SERVFAIL", types[type]);
    }

    /* every cut of a well-formed TXT answer within its RRs */
    dns_begin(&msg, "example.com", T_TXT);
    dns_txt(&msg, "example.com", "v=spf1 |a| -all");
    dns_txt(&msg, "example.com", "other");
    full = msg.len;
    bad = 0;

    for (cut = full - 1; cut > 40; cut--) {
        msg.len = cut;

        if (records(T_TXT, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
            || rcode != R_SERVFAIL || nrrs != 0)
        {
            bad++;
        }
    }

    ok(bad == 0, "TXT: every truncated answer is SERVFAIL without records");

    /* RDLENGTH longer than the message */
    msg.len = full;
    msg.buf[full - 7] = 0x40;

    ok(records(T_TXT, ARES_SUCCESS) == ARES_EBADRESP && rcode == R_SERVFAIL
       && nrrs == 0, "TXT: an RDLENGTH past the end is EBADRESP");

    /* a TXT string longer than its RDATA */
    dns_begin(&msg, "example.com", T_TXT);
    dns_txt(&msg, "example.com", "abc");
    msg.buf[msg.len - 4] = 9;

    ok(records(T_TXT, ARES_SUCCESS) > 0 && rcode == R_SERVFAIL && nrrs == 0,
       "TXT: a string longer than the RDATA is SERVFAIL");

    /* a compression pointer to itself */
    dns_begin(&msg, "example.com", T_MX);
    msg.buf[msg.len++] = 0xc0;
    msg.buf[msg.len++] = 12 + 13 + 4;
    dns_16(&msg, T_MX);
    dns_16(&msg, 1);
    dns_32(&msg, 300);
    dns_16(&msg, 4);
    dns_16(&msg, 10);
    msg.buf[msg.len] = 0xc0;
    msg.buf[msg.len + 1] = (unsigned char) msg.len;
    msg.len += 2;
    msg.buf[7] = 1;

    ok(records(T_MX, ARES_SUCCESS) > 0 && rcode == R_SERVFAIL && nrrs == 0,
       "MX: a name pointing at itself is SERVFAIL");
}


static void
test_addrs(void)
{
    unsigned  i;
    char      addr[32];

    dns_begin(&msg, "mail.example.com", T_A);
    dns_a(&msg, "mail.example.com", "192.0.2.10", 300);
    dns_a(&msg, "mail.example.com", "192.0.2.11", 300);

    ok(records(T_A, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && rcode == R_NOERROR && nrrs == 2
       && addr_is(0, AF_INET, "192.0.2.10")
       && addr_is(1, AF_INET, "192.0.2.11")
       && rrs[0].data == NULL && rrs[0].len == 0,
       "A: the addresses in order, no data");

    dns_begin(&msg, "mail.example.com", T_A);
    dns_host(&msg, "mail.example.com", T_CNAME, 0, "host.example.net");
    dns_a(&msg, "host.example.net", "192.0.2.12", 300);

    ok(records(T_A, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK && nrrs == 1
       && addr_is(0, AF_INET, "192.0.2.12"), "A: through a CNAME");

    dns_begin(&msg, "mail.example.com", T_A);

    for (i = 0; i < NGX_MAIL_SPAM_DNS_ADDRS_MAX + 6; i++) {
        snprintf(addr, sizeof(addr), "10.0.%u.%u", i / 256, i % 256);
        dns_a(&msg, "mail.example.com", addr, 300);
    }

    ok(records(T_A, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && nrrs == NGX_MAIL_SPAM_DNS_ADDRS_MAX
       && addr_is(NGX_MAIL_SPAM_DNS_ADDRS_MAX - 1, AF_INET, "10.0.0.63"),
       "A: the first ADDRS_MAX of more");

    ok(ngx_mail_spam_dns_spf_records(T_A, ARES_SUCCESS, msg.buf, msg.len,
                                     rrs, 5, NULL, 0, &nrrs, &rcode)
       == NGX_MAIL_SPAM_DNS_OK && nrrs == 5,
       "A: the first \"max\", no storage needed");

    dns_begin(&msg, "mail.example.com", T_AAAA);
    dns_aaaa(&msg, "mail.example.com", "2001:db8::1");
    dns_aaaa(&msg, "mail.example.com", "2001:db8::cb01");

    ok(records(T_AAAA, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && rcode == R_NOERROR && nrrs == 2
       && addr_is(0, AF_INET6, "2001:db8::1")
       && addr_is(1, AF_INET6, "2001:db8::cb01"), "AAAA: the addresses");

    dns_begin(&msg, "mail.example.com", T_AAAA);
    dns_a(&msg, "mail.example.com", "192.0.2.10", 300);

    ok(records(T_AAAA, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && rcode == R_NOERROR && nrrs == 0,
       "AAAA: an A record alone is no AAAA record");
}


static void
test_names(void)
{
    unsigned  i;
    char      host[64], label[64], name[300];

    dns_begin(&msg, "example.com", T_MX);
    dns_host(&msg, "example.com", T_MX, 10, "mail-a.example.com");
    dns_host(&msg, "example.com", T_MX, 5, "mail-b.example.com");
    dns_host(&msg, "example.com", T_MX, 0, "");

    ok(records(T_MX, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && rcode == R_NOERROR && nrrs == 3
       && rr_is(0, "mail-a.example.com") && rr_is(1, "mail-b.example.com")
       && rr_is(2, "") && rrs[0].data == storage,
       "MX: the names in the answer's order, the null MX empty");

    dns_begin(&msg, "example.com", T_MX);

    for (i = 0; i < NGX_MAIL_SPF_NAMES_MAX + 1; i++) {
        snprintf(host, sizeof(host), "mx%u.example.com", i);
        dns_host(&msg, "example.com", T_MX, 10, host);
    }

    ok(records(T_MX, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && nrrs == NGX_MAIL_SPF_NAMES_MAX + 1 && rr_is(10, "mx10.example.com"),
       "MX: eleven names, all given (RFC 7208 4.6.4 permerror)");

    dns_begin(&msg, "example.com", T_MX);

    for (i = 0; i < NGX_MAIL_SPAM_DNS_NAMES_MAX + 8; i++) {
        snprintf(host, sizeof(host), "mx%u.example.com", i);
        dns_host(&msg, "example.com", T_MX, 10, host);
    }

    ok(records(T_MX, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && nrrs == NGX_MAIL_SPAM_DNS_NAMES_MAX,
       "MX: the first NAMES_MAX of more");

    ok(ngx_mail_spam_dns_spf_records(T_MX, ARES_SUCCESS, msg.buf, msg.len,
                                     rrs, 4, storage, 60, &nrrs, &rcode)
       == NGX_MAIL_SPAM_DNS_OK && nrrs == 4 && rr_is(3, "mx3.example.com"),
       "MX: the first \"max\"");

    ok(ngx_mail_spam_dns_spf_records(T_MX, ARES_SUCCESS, msg.buf, msg.len,
                                     rrs, 4, storage, 59, &nrrs, &rcode)
       == ARES_ENOMEM && nrrs == 0 && rcode == R_SERVFAIL,
       "MX: names beyond the storage: ENOMEM, SERVFAIL");

    dns_begin(&msg, "10.2.0.192.in-addr.arpa", T_PTR);
    dns_host(&msg, "10.2.0.192.in-addr.arpa", T_PTR, 0, "example.com");
    dns_host(&msg, "10.2.0.192.in-addr.arpa", T_PTR, 0, "www.example.com");

    ok(records(T_PTR, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && rcode == R_NOERROR && nrrs == 2 && rr_is(0, "example.com")
       && rr_is(1, "www.example.com"), "PTR: every name");

    dns_begin(&msg, "10.2.0.192.in-addr.arpa", T_PTR);
    dns_host(&msg, "10.2.0.192.in-addr.arpa", T_CNAME, 0,
             "10.0/25.2.0.192.in-addr.arpa");
    dns_host(&msg, "10.0/25.2.0.192.in-addr.arpa", T_PTR, 0,
             "mail.example.com");

    ok(records(T_PTR, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK && nrrs == 1
       && rr_is(0, "mail.example.com"),
       "PTR: through a CNAME (RFC 2317 delegation)");

    dns_begin(&msg, "10.2.0.192.in-addr.arpa", T_PTR);
    dns_a(&msg, "10.2.0.192.in-addr.arpa", "192.0.2.1", 300);

    ok(records(T_PTR, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && rcode == R_NOERROR && nrrs == 0,
       "PTR: no PTR record among the answers is NOERROR without names");

    /* a 251-octet name whose octets c-ares writes as \DDD */
    memset(label, 1, 62);
    label[62] = '\0';
    snprintf(name, sizeof(name), "%s.%s.%s.%s", label, label, label, label);

    dns_begin(&msg, "example.com", T_MX);
    dns_host(&msg, "example.com", T_MX, 10, name);
    dns_host(&msg, "example.com", T_MX, 20, "mx.example.com");

    ok(records(T_MX, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK && nrrs == 2
       && rrs[0].len == NGX_MAIL_SPAM_DNS_NAME_LEN
       && rr_is(1, "mx.example.com"),
       "MX: a name longer as text than any name is cut to NAME_LEN");

    /* c-ares takes only host names for PTR (CVE-2021-3672) */
    dns_begin(&msg, "10.2.0.192.in-addr.arpa", T_PTR);
    dns_host(&msg, "10.2.0.192.in-addr.arpa", T_PTR, 0, name);
    dns_host(&msg, "10.2.0.192.in-addr.arpa", T_PTR, 0, "example.com");

    ok(records(T_PTR, ARES_SUCCESS) > 0 && rcode == R_SERVFAIL && nrrs == 0,
       "PTR: a name that is no host name spoils the answer: SERVFAIL");
}


static void
test_evaluator(void)
{
    ngx_mail_spf_params_t  params;

    memset(&params, 0, sizeof(ngx_mail_spf_params_t));
    params.family = 4;
    inet_pton(AF_INET, "192.0.2.11", params.addr);
    params.sender_local.data = (const unsigned char *) "user";
    params.sender_local.len = 4;
    params.sender_domain.data = (const unsigned char *) "example.com";
    params.sender_domain.len = 11;
    params.helo.data = (const unsigned char *) "mx.example.com";
    params.helo.len = 14;

    ok(ngx_mail_spf_init(&spf, &params) == NGX_MAIL_SPF_OK
       && ngx_mail_spf_step(&spf) == NGX_MAIL_SPF_AGAIN
       && spf.query_type == NGX_MAIL_SPF_TXT, "evaluator: TXT asked first");

    /* a record split in strings, another record before it */
    dns_begin(&msg, "example.com", T_TXT);
    dns_txt(&msg, "example.com", "v=spf10 other");
    dns_txt(&msg, "example.com", "v=spf1 a:mail.exa|mple.com| -all");

    ok(records(spf.query_type, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && ngx_mail_spf_answer(&spf, rcode, rrs, nrrs) == NGX_MAIL_SPF_OK
       && ngx_mail_spf_step(&spf) == NGX_MAIL_SPF_AGAIN
       && spf.query_type == NGX_MAIL_SPF_A
       && strcmp(spf.query_name, "mail.example.com") == 0,
       "evaluator: the strings joined, A mail.example.com asked");

    dns_begin(&msg, "mail.example.com", T_A);
    dns_a(&msg, "mail.example.com", "192.0.2.10", 300);
    dns_a(&msg, "mail.example.com", "192.0.2.11", 300);

    ok(records(spf.query_type, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && ngx_mail_spf_answer(&spf, rcode, rrs, nrrs) == NGX_MAIL_SPF_OK
       && ngx_mail_spf_step(&spf) == NGX_MAIL_SPF_OK
       && spf.result == NGX_MAIL_SPF_PASS, "evaluator: pass");

    /* two SPF records: permerror */
    ngx_mail_spf_init(&spf, &params);
    ngx_mail_spf_step(&spf);

    dns_begin(&msg, "example.com", T_TXT);
    dns_txt(&msg, "example.com", "v=spf1 +all");
    dns_txt(&msg, "example.com", "v=spf1 |-all");

    ok(records(spf.query_type, ARES_SUCCESS) == NGX_MAIL_SPAM_DNS_OK
       && ngx_mail_spf_answer(&spf, rcode, rrs, nrrs) == NGX_MAIL_SPF_OK
       && ngx_mail_spf_step(&spf) == NGX_MAIL_SPF_OK
       && spf.result == NGX_MAIL_SPF_PERMERROR,
       "evaluator: two SPF records are permerror");

    /* a broken answer: temperror */
    ngx_mail_spf_init(&spf, &params);
    ngx_mail_spf_step(&spf);
    msg.len = 20;

    ok(records(spf.query_type, ARES_SUCCESS) != NGX_MAIL_SPAM_DNS_OK
       && ngx_mail_spf_answer(&spf, rcode, rrs, nrrs) == NGX_MAIL_SPF_OK
       && ngx_mail_spf_step(&spf) == NGX_MAIL_SPF_OK
       && spf.result == NGX_MAIL_SPF_TEMPERROR,
       "evaluator: a truncated answer is temperror");
}


static int
dnsbl(int status, uint32_t *answer, unsigned *ttl)
{
    return ngx_mail_spam_dns_dnsbl(status, msg.buf, msg.len, answer, ttl);
}


static void
test_dnsbl(void)
{
    int       i;
    unsigned  ttl;
    uint32_t  answer, expect, expect2;

    inet_pton(AF_INET, "127.0.0.2", &expect);
    inet_pton(AF_INET, "127.0.0.4", &expect2);

    dns_begin(&msg, "2.0.0.127.zen.example", T_A);
    dns_a(&msg, "2.0.0.127.zen.example", "127.0.0.2", 600);

    ok(dnsbl(ARES_SUCCESS, &answer, &ttl) == NGX_MAIL_SPAM_DNS_OK
       && answer == expect && ttl == 600, "DNSBL: listed, 127.0.0.2, TTL");

    dns_begin(&msg, "2.0.0.127.zen.example", T_A);
    dns_a(&msg, "2.0.0.127.zen.example", "127.0.0.4", 900);
    dns_a(&msg, "2.0.0.127.zen.example", "127.0.0.2", 120);

    ok(dnsbl(ARES_SUCCESS, &answer, &ttl) == NGX_MAIL_SPAM_DNS_OK
       && answer == expect2 && ttl == 120,
       "DNSBL: two codes, the first kept, the least TTL");

    dns_begin(&msg, "2.0.0.127.zen.example", T_A);
    dns_a(&msg, "2.0.0.127.zen.example", "198.51.100.7", 5);
    dns_a(&msg, "2.0.0.127.zen.example", "127.0.0.4", 900);

    ok(dnsbl(ARES_SUCCESS, &answer, &ttl) == NGX_MAIL_SPAM_DNS_OK
       && answer == expect2 && ttl == 900,
       "DNSBL: an address outside 127/8 is skipped, its TTL too");

    dns_begin(&msg, "2.0.0.127.zen.example", T_A);
    dns_a(&msg, "2.0.0.127.zen.example", "198.51.100.7", 300);
    dns_a(&msg, "2.0.0.127.zen.example", "128.0.0.2", 300);

    ok(dnsbl(ARES_SUCCESS, &answer, &ttl) == NGX_MAIL_SPAM_DNS_OUTSIDE
       && answer == 0xffffffff && ttl == 0,
       "DNSBL: only addresses outside 127/8: OUTSIDE");

    dns_begin(&msg, "2.0.0.127.zen.example", T_A);
    dns_a(&msg, "2.0.0.127.zen.example", "127.0.0.2", 0);

    ok(dnsbl(ARES_SUCCESS, &answer, &ttl) == NGX_MAIL_SPAM_DNS_OK
       && ttl == NGX_MAIL_SPAM_DNS_DNSBL_MIN_TTL, "DNSBL: TTL 0 is 1");

    dns_begin(&msg, "2.0.0.127.zen.example", T_A);
    dns_a(&msg, "2.0.0.127.zen.example", "127.0.0.2", 0x80000001u);

    ok(dnsbl(ARES_SUCCESS, &answer, &ttl) == NGX_MAIL_SPAM_DNS_OK
       && ttl >= NGX_MAIL_SPAM_DNS_DNSBL_MIN_TTL
       && ttl <= NGX_MAIL_SPAM_DNS_DNSBL_MAX_TTL,
       "DNSBL: a TTL with the high bit set is within the bounds");

    dns_begin(&msg, "2.0.0.127.zen.example", T_A);
    dns_a(&msg, "2.0.0.127.zen.example", "127.0.0.2", 7 * 86400);

    ok(dnsbl(ARES_SUCCESS, &answer, &ttl) == NGX_MAIL_SPAM_DNS_OK
       && ttl == NGX_MAIL_SPAM_DNS_DNSBL_MAX_TTL,
       "DNSBL: a week's TTL is a day");

    ok(dnsbl(ARES_ENOTFOUND, &answer, &ttl) == NGX_MAIL_SPAM_DNS_NOT_LISTED
       && answer == 0xffffffff
       && ttl == NGX_MAIL_SPAM_DNS_DNSBL_NEGATIVE_TTL,
       "DNSBL: NXDOMAIN is not listed, the negative TTL");

    ok(ngx_mail_spam_dns_dnsbl(ARES_ENODATA, NULL, 0, &answer, &ttl)
       == NGX_MAIL_SPAM_DNS_NOT_LISTED
       && ttl == NGX_MAIL_SPAM_DNS_DNSBL_NEGATIVE_TTL,
       "DNSBL: NODATA is not listed");

    dns_begin(&msg, "2.0.0.127.zen.example", T_A);
    dns_host(&msg, "2.0.0.127.zen.example", T_CNAME, 0, "elsewhere.example");

    /*
     * c-ares 1.18 calls this success without addresses, taken as no
     * answer of the list's (as the glue always did); later versions say
     * ARES_ENODATA, which is "not listed"
     */
    i = dnsbl(ARES_SUCCESS, &answer, &ttl);

    ok((i == NGX_MAIL_SPAM_DNS_OUTSIDE && answer == 0xffffffff && ttl == 0)
       || (i == NGX_MAIL_SPAM_DNS_NOT_LISTED
           && ttl == NGX_MAIL_SPAM_DNS_DNSBL_NEGATIVE_TTL),
       "DNSBL: a CNAME without an A record is no listing");

    ok(dnsbl(ARES_ETIMEOUT, &answer, &ttl) == ARES_ETIMEOUT
       && answer == 0xffffffff && ttl == 0,
       "DNSBL: a timeout is the lookup's failure");

    ok(dnsbl(ARES_ESERVFAIL, &answer, &ttl) == ARES_ESERVFAIL,
       "DNSBL: SERVFAIL is the lookup's failure");

    dns_begin(&msg, "2.0.0.127.zen.example", T_A);
    dns_a(&msg, "2.0.0.127.zen.example", "127.0.0.2", 600);
    msg.len -= 2;

    ok(dnsbl(ARES_SUCCESS, &answer, &ttl) == ARES_EBADRESP
       && answer == 0xffffffff, "DNSBL: a truncated answer is EBADRESP");

    memcpy(msg.buf, "garbage", 7);
    msg.len = 7;

    ok(dnsbl(ARES_SUCCESS, &answer, &ttl) > 0 && answer == 0xffffffff,
       "DNSBL: garbage is a failure");

    ok(ngx_mail_spam_dns_dnsbl(ARES_SUCCESS, NULL, 0, &answer, &ttl)
       == ARES_EBADRESP, "DNSBL: success without an answer is EBADRESP");
}


int
main(void)
{
    test_txt();
    test_status();
    test_broken();
    test_addrs();
    test_names();
    test_evaluator();
    test_dnsbl();

    printf("1..%u\n", tests);

    return failed ? 1 : 0;
}
