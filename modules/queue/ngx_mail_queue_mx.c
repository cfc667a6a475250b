
/*
 * RFC 5321 5.1 and RFC 7505: from the DNS answers about a domain to the
 * hosts the delivery tries, in order.  The wire format is c-ares's job
 * (ares_parse_mx_reply(), ares_parse_a_reply(), ares_parse_aaaa_reply());
 * what is decided here is what the answers mean for the message: try
 * these hosts, retry later, or bounce now.
 */

#include <limits.h>
#include <string.h>

/* ares.h uses fd_set, which strict C99 leaves to this header */
#include <sys/select.h>
#include <ares.h>

#include "ngx_mail_queue_mx.h"


static void ngx_mail_queue_mx_fail(ngx_mail_queue_mx_t *mx,
    ngx_mail_queue_mx_result_e result, const char *error,
    const char *status);
static int ngx_mail_queue_mx_status(ngx_mail_queue_mx_t *mx, int status);
static int ngx_mail_queue_mx_implicit(ngx_mail_queue_mx_t *mx);
static void ngx_mail_queue_mx_add(ngx_mail_queue_mx_t *mx, const char *name,
    unsigned preference);
static void ngx_mail_queue_mx_shuffle(ngx_mail_queue_mx_t *mx,
    ngx_mail_queue_mx_random_pt random, void *data);
static size_t ngx_mail_queue_mx_name(const unsigned char *src, size_t len,
    char *dst);


int
ngx_mail_queue_mx_init(ngx_mail_queue_mx_t *mx, const unsigned char *domain,
    size_t len)
{
    memset(mx, 0, sizeof(ngx_mail_queue_mx_t));

    mx->domain_len = ngx_mail_queue_mx_name(domain, len, mx->domain);

    if (mx->domain_len == 0) {
        ngx_mail_queue_mx_fail(mx, NGX_MAIL_QUEUE_MX_PERMANENT,
                               "bad domain name", "5.1.2");
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    return NGX_MAIL_QUEUE_PARSE_OK;
}


/* as ares_query() judges an answer before its callback is called */

int
ngx_mail_queue_mx_answer_status(const unsigned char *abuf, size_t alen)
{
    unsigned  rcode, ancount;

    if (abuf == NULL || alen < 12 || alen > INT_MAX) {
        return ARES_EBADRESP;
    }

    /* QR: a query sent back is no answer */
    if ((abuf[2] & 0x80) == 0) {
        return ARES_EBADRESP;
    }

    rcode = abuf[3] & 0x0f;
    ancount = (abuf[6] << 8) | abuf[7];

    switch (rcode) {

    case 0:
        return (ancount == 0) ? ARES_ENODATA : ARES_SUCCESS;

    case 1:
        return ARES_EFORMERR;

    case 2:
        return ARES_ESERVFAIL;

    case 3:
        return ARES_ENOTFOUND;

    case 4:
        return ARES_ENOTIMP;

    case 5:
        return ARES_EREFUSED;

    default:
        return ARES_EBADRESP;
    }
}


int
ngx_mail_queue_mx_parse_mx_answer(ngx_mail_queue_mx_t *mx,
    const unsigned char *abuf, size_t alen,
    ngx_mail_queue_mx_random_pt random, void *data)
{
    return ngx_mail_queue_mx_parse_mx(mx,
                                      ngx_mail_queue_mx_answer_status(abuf,
                                                                      alen),
                                      abuf, alen, random, data);
}


int
ngx_mail_queue_mx_parse_mx(ngx_mail_queue_mx_t *mx, int status,
    const unsigned char *abuf, size_t alen,
    ngx_mail_queue_mx_random_pt random, void *data)
{
    int                    rc;
    unsigned               nnull;
    struct ares_mx_reply  *reply, *r;

    mx->nhosts = 0;

    if (mx->domain_len == 0) {
        /* init failed, and said why */
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    /* the structure may be used again, for the next attempt */
    mx->skipped = 0;
    mx->implicit = 0;
    mx->null_mx = 0;
    mx->result = NGX_MAIL_QUEUE_MX_OK;
    mx->error = NULL;
    mx->status[0] = '\0';

    if (status == ARES_ENODATA) {
        return ngx_mail_queue_mx_implicit(mx);
    }

    if (status != ARES_SUCCESS) {
        return ngx_mail_queue_mx_status(mx, status);
    }

    if (abuf == NULL || alen > INT_MAX) {
        ngx_mail_queue_mx_fail(mx, NGX_MAIL_QUEUE_MX_TEMPORARY,
                               "malformed DNS answer to the MX query",
                               "4.4.3");
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    reply = NULL;
    rc = ares_parse_mx_reply(abuf, (int) alen, &reply);

    if (rc != ARES_SUCCESS && rc != ARES_ENODATA) {
        ngx_mail_queue_mx_fail(mx, NGX_MAIL_QUEUE_MX_TEMPORARY,
                               "malformed DNS answer to the MX query",
                               "4.4.3");
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    if (reply == NULL) {
        /*
         * NOERROR with answers, none of them MX: a CNAME to a name
         * without MX, say (c-ares 1.18 calls that success, later
         * versions ARES_ENODATA).
         */
        return ngx_mail_queue_mx_implicit(mx);
    }

    nnull = 0;

    for (r = reply; r; r = r->next) {
        /* c-ares writes the root name "." as "" */
        if (r->host == NULL || r->host[0] == '\0'
            || (r->host[0] == '.' && r->host[1] == '\0'))
        {
            nnull++;
            continue;
        }

        ngx_mail_queue_mx_add(mx, r->host, r->priority);
    }

    ares_free_data(reply);

    if (mx->nhosts == 0) {
        if (nnull) {
            /*
             * RFC 7505 3: the domain accepts no mail; 4.2 asks for
             * 556 5.1.10 "Recipient address has null MX".  A "." among
             * other hosts breaks RFC 7505 3 and is just skipped.
             */
            mx->null_mx = 1;
            ngx_mail_queue_mx_fail(mx, NGX_MAIL_QUEUE_MX_PERMANENT,
                                   "the domain accepts no mail (null MX)",
                                   "5.1.10");
            return NGX_MAIL_QUEUE_PARSE_ERROR;
        }

        /*
         * MX records, none usable (RFC 5321 5.1: "MUST be reported as an
         * error"): a broken zone is often fixed within the retry time,
         * so this waits for the bounce after the queue lifetime.
         */
        ngx_mail_queue_mx_fail(mx, NGX_MAIL_QUEUE_MX_TEMPORARY,
                               "no usable host name in the MX records",
                               "4.4.4");
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    mx->skipped += nnull;

    ngx_mail_queue_mx_shuffle(mx, random, data);

    mx->result = NGX_MAIL_QUEUE_MX_OK;

    return NGX_MAIL_QUEUE_PARSE_OK;
}


int
ngx_mail_queue_mx_parse_addr(ngx_mail_queue_mx_t *mx, unsigned host,
    unsigned family, int status, const unsigned char *abuf, size_t alen)
{
    int                        rc, naddrs, i;
    unsigned                   room;
    ngx_mail_queue_mx_host_t  *h;
    struct ares_addrttl        a[NGX_MAIL_QUEUE_MX_ADDRS_MAX];
    struct ares_addr6ttl       aaaa[NGX_MAIL_QUEUE_MX_ADDRS_MAX];

    if (host >= mx->nhosts
        || (family != NGX_MAIL_QUEUE_MX_A && family != NGX_MAIL_QUEUE_MX_AAAA))
    {
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    h = &mx->hosts[host];

    if (family == NGX_MAIL_QUEUE_MX_A) {
        h->a_done = 1;

    } else {
        h->aaaa_done = 1;
    }

    if (status == ARES_ENODATA || status == ARES_ENOTFOUND) {
        return NGX_MAIL_QUEUE_PARSE_DECLINED;
    }

    if (status != ARES_SUCCESS || abuf == NULL || alen > INT_MAX) {
        h->temporary = 1;
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    room = NGX_MAIL_QUEUE_MX_ADDRS_MAX - h->naddrs;
    naddrs = (int) room;

    if (family == NGX_MAIL_QUEUE_MX_A) {
        rc = ares_parse_a_reply(abuf, (int) alen, NULL, a, &naddrs);

    } else {
        rc = ares_parse_aaaa_reply(abuf, (int) alen, NULL, aaaa, &naddrs);
    }

    if (rc == ARES_ENODATA) {
        return NGX_MAIL_QUEUE_PARSE_DECLINED;
    }

    if (rc != ARES_SUCCESS) {
        h->temporary = 1;
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    /* c-ares fills at most what it was offered; trust, but bound */
    if (naddrs < 0 || (unsigned) naddrs > room) {
        naddrs = (naddrs < 0) ? 0 : (int) room;
    }

    for (i = 0; i < naddrs; i++) {
        h->addrs[h->naddrs].family = family;

        if (family == NGX_MAIL_QUEUE_MX_A) {
            memcpy(h->addrs[h->naddrs].addr, &a[i].ipaddr, 4);

        } else {
            memcpy(h->addrs[h->naddrs].addr, &aaaa[i].ip6addr, 16);
        }

        h->naddrs++;
    }

    return (naddrs > 0) ? NGX_MAIL_QUEUE_PARSE_OK
                        : NGX_MAIL_QUEUE_PARSE_DECLINED;
}


int
ngx_mail_queue_mx_finish(ngx_mail_queue_mx_t *mx)
{
    unsigned  i, temporary;

    if (mx->nhosts == 0) {
        if (mx->result == NGX_MAIL_QUEUE_MX_OK) {
            ngx_mail_queue_mx_fail(mx, NGX_MAIL_QUEUE_MX_TEMPORARY,
                                   "no MX lookup done", "4.4.3");
        }

        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    temporary = 0;

    for (i = 0; i < mx->nhosts; i++) {
        if (mx->hosts[i].naddrs) {
            mx->result = NGX_MAIL_QUEUE_MX_OK;
            return NGX_MAIL_QUEUE_PARSE_OK;
        }

        /* a family not asked about may still hold addresses */
        if (mx->hosts[i].temporary
            || !mx->hosts[i].a_done || !mx->hosts[i].aaaa_done)
        {
            temporary = 1;
        }
    }

    if (temporary) {
        ngx_mail_queue_mx_fail(mx, NGX_MAIL_QUEUE_MX_TEMPORARY,
                               mx->implicit
                               ? "address lookup of the domain failed"
                               : "address lookup of the MX hosts failed",
                               "4.4.3");
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    /* RFC 3463 3.5: X.4.4 "Unable to route" */
    ngx_mail_queue_mx_fail(mx, NGX_MAIL_QUEUE_MX_PERMANENT,
                           mx->implicit
                           ? "the domain has neither MX nor address records"
                           : "no MX host has an address",
                           "5.4.4");

    return NGX_MAIL_QUEUE_PARSE_ERROR;
}


static void
ngx_mail_queue_mx_fail(ngx_mail_queue_mx_t *mx,
    ngx_mail_queue_mx_result_e result, const char *error, const char *status)
{
    size_t  len;

    mx->result = result;
    mx->error = error;

    len = strlen(status);
    memcpy(mx->status, status, len + 1);
}


/*
 * The MX query failed.  NXDOMAIN is the authoritative "no such domain":
 * RFC 3463 X.1.2 "Bad destination system address", a bounce.  SERVFAIL,
 * a timeout, REFUSED and a garbled answer say nothing about the domain
 * and are retried.
 */

static int
ngx_mail_queue_mx_status(ngx_mail_queue_mx_t *mx, int status)
{
    switch (status) {

    case ARES_ENOTFOUND:
        ngx_mail_queue_mx_fail(mx, NGX_MAIL_QUEUE_MX_PERMANENT,
                               "the domain does not exist (NXDOMAIN)",
                               "5.1.2");
        break;

    case ARES_EBADNAME:
        ngx_mail_queue_mx_fail(mx, NGX_MAIL_QUEUE_MX_PERMANENT,
                               "bad domain name", "5.1.2");
        break;

    case ARES_ETIMEOUT:
        ngx_mail_queue_mx_fail(mx, NGX_MAIL_QUEUE_MX_TEMPORARY,
                               "MX lookup timed out", "4.4.3");
        break;

    case ARES_ESERVFAIL:
        ngx_mail_queue_mx_fail(mx, NGX_MAIL_QUEUE_MX_TEMPORARY,
                               "MX lookup failed (SERVFAIL)", "4.4.3");
        break;

    default:
        ngx_mail_queue_mx_fail(mx, NGX_MAIL_QUEUE_MX_TEMPORARY,
                               "MX lookup failed", "4.4.3");
        break;
    }

    return NGX_MAIL_QUEUE_PARSE_ERROR;
}


/* RFC 5321 5.1: no MX, the domain is its own mail exchanger */

static int
ngx_mail_queue_mx_implicit(ngx_mail_queue_mx_t *mx)
{
    ngx_mail_queue_mx_host_t  *h;

    h = &mx->hosts[0];

    memset(h, 0, sizeof(ngx_mail_queue_mx_host_t));
    memcpy(h->name, mx->domain, mx->domain_len + 1);
    h->name_len = mx->domain_len;

    mx->nhosts = 1;
    mx->implicit = 1;
    mx->result = NGX_MAIL_QUEUE_MX_OK;

    return NGX_MAIL_QUEUE_PARSE_OK;
}


/*
 * Keeps hosts[] sorted by preference, records of equal preference in
 * the order of the answer (shuffled later), each name once at its best
 * preference, and only the MX_MAX best.
 */

static void
ngx_mail_queue_mx_add(ngx_mail_queue_mx_t *mx, const char *name,
    unsigned preference)
{
    char                       host[NGX_MAIL_QUEUE_MX_NAME_MAX + 1];
    size_t                     len, n;
    unsigned                   i, pos;
    ngx_mail_queue_mx_host_t  *h;

    for (n = 0; n <= NGX_MAIL_QUEUE_MX_NAME_MAX + 1 && name[n]; n++) {
        /* void */
    }

    len = ngx_mail_queue_mx_name((const unsigned char *) name, n, host);

    if (len == 0) {
        mx->skipped++;
        return;
    }

    for (i = 0; i < mx->nhosts; i++) {
        if (mx->hosts[i].name_len != len
            || memcmp(mx->hosts[i].name, host, len) != 0)
        {
            continue;
        }

        mx->skipped++;

        if (mx->hosts[i].preference <= preference) {
            return;
        }

        memmove(&mx->hosts[i], &mx->hosts[i + 1],
                (mx->nhosts - i - 1) * sizeof(ngx_mail_queue_mx_host_t));
        mx->nhosts--;
        break;
    }

    for (pos = 0; pos < mx->nhosts; pos++) {
        if (mx->hosts[pos].preference > preference) {
            break;
        }
    }

    if (pos == NGX_MAIL_QUEUE_MX_MAX) {
        mx->skipped++;
        return;
    }

    if (mx->nhosts == NGX_MAIL_QUEUE_MX_MAX) {
        /* the worst one goes */
        mx->nhosts--;
        mx->skipped++;
    }

    memmove(&mx->hosts[pos + 1], &mx->hosts[pos],
            (mx->nhosts - pos) * sizeof(ngx_mail_queue_mx_host_t));
    mx->nhosts++;

    h = &mx->hosts[pos];

    memset(h, 0, sizeof(ngx_mail_queue_mx_host_t));
    memcpy(h->name, host, len + 1);
    h->name_len = len;
    h->preference = preference;
}


/*
 * RFC 5321 5.1: hosts of equal preference are tried in random order, so
 * that senders spread their load over them (Fisher-Yates per group).
 */

static void
ngx_mail_queue_mx_shuffle(ngx_mail_queue_mx_t *mx,
    ngx_mail_queue_mx_random_pt random, void *data)
{
    unsigned                  first, last, i, j;
    ngx_mail_queue_mx_host_t  tmp;

    if (random == NULL) {
        return;
    }

    for (first = 0; first < mx->nhosts; first = last) {
        for (last = first + 1; last < mx->nhosts; last++) {
            if (mx->hosts[last].preference != mx->hosts[first].preference) {
                break;
            }
        }

        for (i = last - 1; i > first; i--) {
            j = first + random(data) % (i - first + 1);

            if (j != i) {
                tmp = mx->hosts[i];
                mx->hosts[i] = mx->hosts[j];
                mx->hosts[j] = tmp;
            }
        }
    }
}


/*
 * A host name as RFC 1035 2.3.1 and RFC 1123 2.1 allow it: labels of
 * letters, digits and hyphens, 1 to 63 octets, 253 in all, one final
 * dot allowed.  IDNs come as A-labels; c-ares shows anything else
 * escaped ("\\032"), which is no name to connect to.  Writes it
 * lower-cased and NUL-terminated into dst (NAME_MAX + 1 octets);
 * returns its length, or 0 when the name is not one.
 */

static size_t
ngx_mail_queue_mx_name(const unsigned char *src, size_t len, char *dst)
{
    size_t    i, label;
    unsigned  ch;

    if (len > 0 && src[len - 1] == '.') {
        len--;
    }

    if (len == 0 || len > NGX_MAIL_QUEUE_MX_NAME_MAX) {
        return 0;
    }

    label = 0;

    for (i = 0; i < len; i++) {
        ch = src[i];

        if (ch == '.') {
            if (label == 0) {
                return 0;
            }

            label = 0;
            dst[i] = '.';
            continue;
        }

        if (ch >= 'A' && ch <= 'Z') {
            ch += 'a' - 'A';

        } else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
                     || ch == '-'))
        {
            return 0;
        }

        if (++label > NGX_MAIL_QUEUE_MX_LABEL_MAX) {
            return 0;
        }

        dst[i] = (char) ch;
    }

    if (label == 0) {
        return 0;
    }

    dst[len] = '\0';

    return len;
}
