
/*
 * The spam filter's DNS answers read: the wire format is c-ares's job
 * (ares_parse_txt_reply_ext(), ares_parse_a_reply() and the others);
 * what is done here is copying what the answer says into the bounded
 * records the SPF evaluator and the DNSBL lookups take, and deciding
 * what a missing or broken answer means to them.
 */

#include <limits.h>
#include <string.h>

/* ares.h uses fd_set, which strict C99 leaves to this header */
#include <sys/select.h>
#include <netinet/in.h>
#include <netdb.h>
#include <ares.h>

#include "ngx_mail_spam_dns.h"


#define NGX_MAIL_SPAM_DNS_NONE  0xffffffff


typedef struct {
    ngx_mail_spf_rr_t          *rrs;
    unsigned                    max;
    unsigned                    nrrs;
    unsigned char              *storage;
    size_t                      size;
    size_t                      used;
} ngx_mail_spam_dns_out_t;


static int ngx_mail_spam_dns_rcode(int status);
static int ngx_mail_spam_dns_txt(ngx_mail_spam_dns_out_t *out,
    const unsigned char *abuf, int alen);
static int ngx_mail_spam_dns_a(ngx_mail_spam_dns_out_t *out,
    const unsigned char *abuf, int alen);
static int ngx_mail_spam_dns_aaaa(ngx_mail_spam_dns_out_t *out,
    const unsigned char *abuf, int alen);
static int ngx_mail_spam_dns_mx(ngx_mail_spam_dns_out_t *out,
    const unsigned char *abuf, int alen);
static int ngx_mail_spam_dns_ptr(ngx_mail_spam_dns_out_t *out,
    const unsigned char *abuf, int alen);
static int ngx_mail_spam_dns_name(ngx_mail_spam_dns_out_t *out,
    const char *name);


int
ngx_mail_spam_dns_spf_records(unsigned type, int status,
    const unsigned char *abuf, size_t alen, ngx_mail_spf_rr_t *rrs,
    unsigned max, unsigned char *storage, size_t size, unsigned *nrrs,
    int *rcode)
{
    int                      rc;
    ngx_mail_spam_dns_out_t  out;

    *nrrs = 0;
    *rcode = ngx_mail_spam_dns_rcode(status);

    if (status != ARES_SUCCESS) {
        /* ENODATA: NOERROR without records, nothing to read */
        return NGX_MAIL_SPAM_DNS_OK;
    }

    if (rrs == NULL) {
        max = 0;
    }

    if (storage == NULL) {
        size = 0;
    }

    out.rrs = rrs;
    out.max = max;
    out.nrrs = 0;
    out.storage = storage;
    out.size = size;
    out.used = 0;

    if (abuf == NULL || alen > INT_MAX) {
        rc = ARES_EBADRESP;

    } else {

        switch (type) {

        case NGX_MAIL_SPF_TXT:
            rc = ngx_mail_spam_dns_txt(&out, abuf, (int) alen);
            break;

        case NGX_MAIL_SPF_A:
            rc = ngx_mail_spam_dns_a(&out, abuf, (int) alen);
            break;

        case NGX_MAIL_SPF_AAAA:
            rc = ngx_mail_spam_dns_aaaa(&out, abuf, (int) alen);
            break;

        case NGX_MAIL_SPF_MX:
            rc = ngx_mail_spam_dns_mx(&out, abuf, (int) alen);
            break;

        case NGX_MAIL_SPF_PTR:
            rc = ngx_mail_spam_dns_ptr(&out, abuf, (int) alen);
            break;

        default:
            rc = ARES_ENOTIMP;
            break;
        }
    }

    if (rc == ARES_SUCCESS) {
        *nrrs = out.nrrs;
        return NGX_MAIL_SPAM_DNS_OK;
    }

    if (rc == ARES_ENODATA) {
        /* e.g. a CNAME to a name without records of the type */
        return NGX_MAIL_SPAM_DNS_OK;
    }

    /* an answer that does not parse is a DNS error: temperror */
    *rcode = NGX_MAIL_SPF_RCODE_SERVFAIL;

    return rc;
}


/*
 * c-ares turns the RCODE into a status: RFC 7208 tells NOERROR (with or
 * without records), NXDOMAIN, and everything else apart, a timeout among
 * the rest (4.4: temperror)
 */

static int
ngx_mail_spam_dns_rcode(int status)
{
    switch (status) {

    case ARES_SUCCESS:
    case ARES_ENODATA:
        return NGX_MAIL_SPF_RCODE_NOERROR;

    case ARES_ENOTFOUND:
        return NGX_MAIL_SPF_RCODE_NXDOMAIN;

    case ARES_ETIMEOUT:
        return NGX_MAIL_SPF_RCODE_TIMEOUT;

    default:
        return NGX_MAIL_SPF_RCODE_SERVFAIL;
    }
}


/*
 * TXT: all the strings or none, since a record left out could be the
 * SPF one, or a second SPF record that makes the answer permerror
 */

static int
ngx_mail_spam_dns_txt(ngx_mail_spam_dns_out_t *out,
    const unsigned char *abuf, int alen)
{
    int                   rc;
    ngx_mail_spf_rr_t    *rr;
    struct ares_txt_ext  *txt, *t;

    txt = NULL;

    rc = ares_parse_txt_reply_ext(abuf, alen, &txt);
    if (rc != ARES_SUCCESS) {
        return rc;
    }

    for (t = txt; t; t = t->next) {
        if (out->nrrs == out->max || t->length > out->size - out->used) {
            out->nrrs = 0;
            ares_free_data(txt);
            return ARES_ENOMEM;
        }

        rr = &out->rrs[out->nrrs++];
        memset(rr, 0, sizeof(ngx_mail_spf_rr_t));

        rr->data = out->storage + out->used;
        rr->len = t->length;
        rr->record_start = t->record_start ? 1 : 0;

        if (t->length) {
            memcpy(out->storage + out->used, t->txt, t->length);
            out->used += t->length;
        }
    }

    ares_free_data(txt);

    return ARES_SUCCESS;
}


static int
ngx_mail_spam_dns_a(ngx_mail_spam_dns_out_t *out, const unsigned char *abuf,
    int alen)
{
    int                  i, n, rc;
    ngx_mail_spf_rr_t   *rr;
    struct ares_addrttl  addrs[NGX_MAIL_SPAM_DNS_ADDRS_MAX];

    n = out->max < NGX_MAIL_SPAM_DNS_ADDRS_MAX
        ? (int) out->max : NGX_MAIL_SPAM_DNS_ADDRS_MAX;

    rc = ares_parse_a_reply(abuf, alen, NULL, addrs, &n);
    if (rc != ARES_SUCCESS) {
        return rc;
    }

    for (i = 0; i < n; i++) {
        rr = &out->rrs[out->nrrs++];
        memset(rr, 0, sizeof(ngx_mail_spf_rr_t));
        memcpy(rr->addr, &addrs[i].ipaddr, 4);
    }

    return ARES_SUCCESS;
}


static int
ngx_mail_spam_dns_aaaa(ngx_mail_spam_dns_out_t *out,
    const unsigned char *abuf, int alen)
{
    int                   i, n, rc;
    ngx_mail_spf_rr_t    *rr;
    struct ares_addr6ttl  addrs[NGX_MAIL_SPAM_DNS_ADDRS_MAX];

    n = out->max < NGX_MAIL_SPAM_DNS_ADDRS_MAX
        ? (int) out->max : NGX_MAIL_SPAM_DNS_ADDRS_MAX;

    rc = ares_parse_aaaa_reply(abuf, alen, NULL, addrs, &n);
    if (rc != ARES_SUCCESS) {
        return rc;
    }

    for (i = 0; i < n; i++) {
        rr = &out->rrs[out->nrrs++];
        memset(rr, 0, sizeof(ngx_mail_spf_rr_t));
        memcpy(rr->addr, &addrs[i].ip6addr, 16);
    }

    return ARES_SUCCESS;
}


static int
ngx_mail_spam_dns_mx(ngx_mail_spam_dns_out_t *out,
    const unsigned char *abuf, int alen)
{
    int                    rc;
    struct ares_mx_reply  *mx, *m;

    mx = NULL;

    rc = ares_parse_mx_reply(abuf, alen, &mx);
    if (rc != ARES_SUCCESS) {
        return rc;
    }

    for (m = mx; m; m = m->next) {
        rc = ngx_mail_spam_dns_name(out, m->host);
        if (rc != ARES_SUCCESS) {
            break;
        }
    }

    ares_free_data(mx);

    return (rc == ARES_ENODATA) ? ARES_SUCCESS : rc;
}


/*
 * ares_parse_ptr_reply() wants the address asked about only to fill
 * h_addr_list, and gives every PTR name among h_aliases (h_name is one
 * of them)
 */

static int
ngx_mail_spam_dns_ptr(ngx_mail_spam_dns_out_t *out,
    const unsigned char *abuf, int alen)
{
    int               rc;
    char            **alias;
    struct in_addr    addr;
    struct hostent   *host;

    memset(&addr, 0, sizeof(struct in_addr));
    host = NULL;

    rc = ares_parse_ptr_reply(abuf, alen, &addr, sizeof(addr), AF_INET,
                              &host);
    if (rc != ARES_SUCCESS) {
        return rc;
    }

    rc = ARES_SUCCESS;

    if (host->h_aliases) {
        for (alias = host->h_aliases; *alias; alias++) {
            rc = ngx_mail_spam_dns_name(out, *alias);
            if (rc != ARES_SUCCESS) {
                break;
            }
        }
    }

    if (rc == ARES_SUCCESS && out->nrrs == 0 && host->h_name) {
        rc = ngx_mail_spam_dns_name(out, host->h_name);
    }

    ares_free_hostent(host);

    return (rc == ARES_ENODATA) ? ARES_SUCCESS : rc;
}


/*
 * A host name copied, cut to NAME_LEN (see the header); ARES_ENODATA
 * when no more names are wanted, the first NAMES_MAX being all that
 * matter
 */

static int
ngx_mail_spam_dns_name(ngx_mail_spam_dns_out_t *out, const char *name)
{
    size_t              len;
    ngx_mail_spf_rr_t  *rr;

    if (out->nrrs == out->max || out->nrrs == NGX_MAIL_SPAM_DNS_NAMES_MAX) {
        return ARES_ENODATA;
    }

    len = name ? strlen(name) : 0;

    if (len > NGX_MAIL_SPAM_DNS_NAME_LEN) {
        len = NGX_MAIL_SPAM_DNS_NAME_LEN;
    }

    if (len > out->size - out->used) {
        out->nrrs = 0;
        return ARES_ENOMEM;
    }

    rr = &out->rrs[out->nrrs++];
    memset(rr, 0, sizeof(ngx_mail_spf_rr_t));

    rr->data = out->storage + out->used;
    rr->len = len;

    if (len) {
        memcpy(out->storage + out->used, name, len);
        out->used += len;
    }

    return ARES_SUCCESS;
}


int
ngx_mail_spam_dns_dnsbl(int status, const unsigned char *abuf, size_t alen,
    uint32_t *answer, unsigned *ttl)
{
    int                  i, n, rc, least;
    uint32_t             addr;
    struct ares_addrttl  addrs[NGX_MAIL_SPAM_DNS_DNSBL_ADDRS];

    *answer = NGX_MAIL_SPAM_DNS_NONE;
    *ttl = 0;

    switch (status) {

    case ARES_SUCCESS:
        break;

    case ARES_ENOTFOUND:
    case ARES_ENODATA:
        /* RFC 5782 2.1: an address not listed has no records */
        *ttl = NGX_MAIL_SPAM_DNS_DNSBL_NEGATIVE_TTL;
        return NGX_MAIL_SPAM_DNS_NOT_LISTED;

    default:
        return (status > 0) ? status : ARES_EBADRESP;
    }

    if (abuf == NULL || alen > INT_MAX) {
        return ARES_EBADRESP;
    }

    n = NGX_MAIL_SPAM_DNS_DNSBL_ADDRS;

    rc = ares_parse_a_reply(abuf, (int) alen, NULL, addrs, &n);

    if (rc == ARES_ENODATA) {
        /* a CNAME to a name without an A record */
        *ttl = NGX_MAIL_SPAM_DNS_DNSBL_NEGATIVE_TTL;
        return NGX_MAIL_SPAM_DNS_NOT_LISTED;
    }

    if (rc != ARES_SUCCESS) {
        return rc;
    }

    /*
     * RFC 5782 2.1: the A record is a code, never an address, and lists
     * answer within 127.0.0.0/8; anything else comes from a resolver
     * that answers every name (an ISP's "search assistance"), and is no
     * answer of the list's
     */

    least = NGX_MAIL_SPAM_DNS_DNSBL_MAX_TTL;

    for (i = 0; i < n; i++) {
        addr = addrs[i].ipaddr.s_addr;

        if ((ntohl(addr) >> 24) != 127) {
            continue;
        }

        if (*answer == NGX_MAIL_SPAM_DNS_NONE) {
            *answer = addr;
        }

        if (addrs[i].ttl < least) {
            least = addrs[i].ttl;
        }
    }

    if (*answer == NGX_MAIL_SPAM_DNS_NONE) {
        return NGX_MAIL_SPAM_DNS_OUTSIDE;
    }

    /* c-ares gives a TTL of 2^31 or more as negative: RFC 2181 8, zero */
    *ttl = (least < NGX_MAIL_SPAM_DNS_DNSBL_MIN_TTL)
           ? NGX_MAIL_SPAM_DNS_DNSBL_MIN_TTL : (unsigned) least;

    return NGX_MAIL_SPAM_DNS_OK;
}
