
/*
 * libFuzzer target for the spam filter's DNS answer reading
 * (modules/spam/ngx_mail_spam_dns.c), through c-ares's parsers, and for
 * the SPF evaluator's handling of the records read.
 *
 * The first octet chooses what the answer is taken for: an SPF question
 * of type TXT, A, AAAA, MX or PTR, or a DNSBL lookup.  The second picks
 * the lookup's status (mostly ARES_SUCCESS); the third and fourth make
 * the caller's arrays small (the bounds then hit), else they are as the
 * nginx glue has them.  The rest is the raw DNS answer.
 *
 * Checked besides the sanitizers (the arrays are allocated to their
 * exact size): no more records than asked for, each within the storage
 * and of the shape of its type; a failure gives SERVFAIL and no record;
 * the status mapping; the same answer read twice reads the same; a
 * DNSBL listing is within 127.0.0.0/8 with its TTL in bounds.  Then an
 * evaluator that asked that question gets the records, and every later
 * question of the evaluation the same answer read for its own type:
 * the evaluation must end within the questions its limits allow.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ares.h uses fd_set, which strict C99 leaves to this header */
#include <sys/select.h>
#include <netinet/in.h>
#include <ares.h>

#include "ngx_mail_spf.h"
#include "ngx_mail_spam_dns.h"


#define MAX_INPUT      65540

/* as fuzz/spam_spf_fuzz.c: what the evaluator's limits allow */
#define MAX_QUESTIONS  (10 * 11 + 11 + 2 + 10)


typedef struct {
    ngx_mail_spf_rr_t          *rrs;
    unsigned                    max;
    unsigned char              *storage;
    size_t                      size;
} fuzz_out_t;


static const int  statuses[] = {
    ARES_SUCCESS, ARES_ENODATA, ARES_ENOTFOUND, ARES_ETIMEOUT,
    ARES_ESERVFAIL, ARES_EREFUSED, ARES_EBADRESP, ARES_ECONNREFUSED
};

static const unsigned  types[] = {
    NGX_MAIL_SPF_TXT, NGX_MAIL_SPF_A, NGX_MAIL_SPF_AAAA, NGX_MAIL_SPF_MX,
    NGX_MAIL_SPF_PTR
};


static ngx_mail_spf_t  spf;


static int
expected_rcode(int status)
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


static void
check_records(fuzz_out_t *out, unsigned type, int status, int rc,
    unsigned nrrs, int rcode)
{
    size_t                    used;
    unsigned                  i, bound;
    const ngx_mail_spf_rr_t  *rr;

    if (rc < 0 || nrrs > out->max) {
        abort();
    }

    if (status != ARES_SUCCESS) {
        if (rc != NGX_MAIL_SPAM_DNS_OK || nrrs != 0
            || rcode != expected_rcode(status))
        {
            abort();
        }

        return;
    }

    if (rc != NGX_MAIL_SPAM_DNS_OK) {
        if (nrrs != 0 || rcode != NGX_MAIL_SPF_RCODE_SERVFAIL) {
            abort();
        }

        return;
    }

    if (rcode != NGX_MAIL_SPF_RCODE_NOERROR) {
        abort();
    }

    switch (type) {
    case NGX_MAIL_SPF_A:
    case NGX_MAIL_SPF_AAAA:
        bound = NGX_MAIL_SPAM_DNS_ADDRS_MAX;
        break;
    case NGX_MAIL_SPF_MX:
    case NGX_MAIL_SPF_PTR:
        bound = NGX_MAIL_SPAM_DNS_NAMES_MAX;
        break;
    default:
        bound = NGX_MAIL_SPAM_DNS_RRS_MAX;
        break;
    }

    if (nrrs > bound) {
        abort();
    }

    used = 0;

    for (i = 0; i < nrrs; i++) {
        rr = &out->rrs[i];

        if (type == NGX_MAIL_SPF_A || type == NGX_MAIL_SPF_AAAA) {
            if (rr->data != NULL || rr->len != 0 || rr->record_start
                || (type == NGX_MAIL_SPF_A
                    && memcmp(rr->addr + 4, "\0\0\0\0\0\0\0\0\0\0\0\0", 12)
                       != 0))
            {
                abort();
            }

            continue;
        }

        /* the records one after another in the storage */
        if (rr->data != out->storage + used || rr->len > out->size - used) {
            abort();
        }

        used += rr->len;

        if (type == NGX_MAIL_SPF_TXT) {
            if (i == 0 && !rr->record_start) {
                abort();
            }

            continue;
        }

        if (rr->record_start || rr->len > NGX_MAIL_SPAM_DNS_NAME_LEN
            || (rr->len && memchr(rr->data, '\0', rr->len) != NULL))
        {
            abort();
        }
    }
}


static int
read_records(fuzz_out_t *out, unsigned type, int status,
    const uint8_t *abuf, size_t alen, unsigned *nrrs, int *rcode)
{
    int  rc;

    rc = ngx_mail_spam_dns_spf_records(type, status, abuf, alen, out->rrs,
                                       out->max, out->storage, out->size,
                                       nrrs, rcode);

    check_records(out, type, status, rc, *nrrs, *rcode);

    return rc;
}


/* the first question of the given type, asked by an evaluator */

static int
ask(unsigned type)
{
    ngx_mail_spf_rr_t      rr;
    ngx_mail_spf_params_t  params;
    const char            *record;

    memset(&params, 0, sizeof(ngx_mail_spf_params_t));
    params.family = (type == NGX_MAIL_SPF_AAAA) ? 6 : 4;
    params.addr[0] = 192;
    params.addr[2] = 2;
    params.addr[3] = 1;
    params.sender_local.data = (const unsigned char *) "user";
    params.sender_local.len = 4;
    params.sender_domain.data = (const unsigned char *) "example.com";
    params.sender_domain.len = 11;
    params.helo.data = (const unsigned char *) "helo.example.net";
    params.helo.len = 16;
    params.receiver.data = (const unsigned char *) "mx.example.org";
    params.receiver.len = 14;
    params.now = 1700000000;

    if (ngx_mail_spf_init(&spf, &params) != NGX_MAIL_SPF_OK
        || ngx_mail_spf_step(&spf) != NGX_MAIL_SPF_AGAIN
        || spf.query_type != NGX_MAIL_SPF_TXT)
    {
        abort();
    }

    switch (type) {
    case NGX_MAIL_SPF_TXT:
        return 0;
    case NGX_MAIL_SPF_MX:
        record = "v=spf1 mx -all";
        break;
    case NGX_MAIL_SPF_PTR:
        record = "v=spf1 ptr -all";
        break;
    default:
        record = "v=spf1 a -all";
        break;
    }

    memset(&rr, 0, sizeof(ngx_mail_spf_rr_t));
    rr.data = (const unsigned char *) record;
    rr.len = strlen(record);
    rr.record_start = 1;

    if (ngx_mail_spf_answer(&spf, NGX_MAIL_SPF_RCODE_NOERROR, &rr, 1)
        != NGX_MAIL_SPF_OK
        || ngx_mail_spf_step(&spf) != NGX_MAIL_SPF_AGAIN
        || spf.query_type != type)
    {
        abort();
    }

    return 0;
}


static void
evaluate(fuzz_out_t *out, unsigned type, int status, const uint8_t *abuf,
    size_t alen)
{
    int       rcode;
    unsigned  nrrs, questions;

    ask(type);

    for (questions = 0; ; questions++) {
        if (questions == MAX_QUESTIONS) {
            abort();
        }

        read_records(out, spf.query_type, questions ? ARES_SUCCESS : status,
                     abuf, alen, &nrrs, &rcode);

        if (ngx_mail_spf_answer(&spf, rcode, out->rrs, nrrs)
            != NGX_MAIL_SPF_OK)
        {
            abort();
        }

        if (ngx_mail_spf_step(&spf) == NGX_MAIL_SPF_OK) {
            break;
        }
    }

    if ((unsigned) spf.result > NGX_MAIL_SPF_PERMERROR
        || spf.explanation_len > NGX_MAIL_SPF_EXPLAIN_MAX
        || strlen(spf.explanation) != spf.explanation_len)
    {
        abort();
    }
}


static void
fuzz_spf(unsigned type, int status, const uint8_t *abuf, size_t alen,
    unsigned max, size_t size)
{
    int                 rc, rc2, rcode, rcode2;
    unsigned            nrrs, nrrs2;
    fuzz_out_t          out, again;

    /* exactly the sizes given: a write past them is the sanitizer's */
    out.max = max;
    out.size = size;
    out.rrs = malloc(max ? max * sizeof(ngx_mail_spf_rr_t) : 1);
    out.storage = malloc(size ? size : 1);

    again.max = max;
    again.size = size;
    again.rrs = malloc(max ? max * sizeof(ngx_mail_spf_rr_t) : 1);
    again.storage = malloc(size ? size : 1);

    if (out.rrs == NULL || out.storage == NULL || again.rrs == NULL
        || again.storage == NULL)
    {
        abort();
    }

    rc = read_records(&out, type, status, abuf, alen, &nrrs, &rcode);
    rc2 = read_records(&again, type, status, abuf, alen, &nrrs2, &rcode2);

    if (rc != rc2 || nrrs != nrrs2 || rcode != rcode2) {
        abort();
    }

    for (nrrs2 = 0; nrrs2 < nrrs; nrrs2++) {
        if (out.rrs[nrrs2].len != again.rrs[nrrs2].len
            || out.rrs[nrrs2].record_start != again.rrs[nrrs2].record_start
            || memcmp(out.rrs[nrrs2].addr, again.rrs[nrrs2].addr, 16) != 0
            || (out.rrs[nrrs2].len
                && memcmp(out.rrs[nrrs2].data, again.rrs[nrrs2].data,
                          out.rrs[nrrs2].len) != 0))
        {
            abort();
        }
    }

    evaluate(&out, type, status, abuf, alen);

    free(out.rrs);
    free(out.storage);
    free(again.rrs);
    free(again.storage);
}


static void
fuzz_dnsbl(int status, const uint8_t *abuf, size_t alen)
{
    int       rc;
    unsigned  ttl;
    uint32_t  answer;

    rc = ngx_mail_spam_dns_dnsbl(status, abuf, alen, &answer, &ttl);

    switch (rc) {

    case NGX_MAIL_SPAM_DNS_OK:
        if (status != ARES_SUCCESS || (ntohl(answer) >> 24) != 127
            || ttl < NGX_MAIL_SPAM_DNS_DNSBL_MIN_TTL
            || ttl > NGX_MAIL_SPAM_DNS_DNSBL_MAX_TTL)
        {
            abort();
        }

        return;

    case NGX_MAIL_SPAM_DNS_NOT_LISTED:
        if ((status != ARES_SUCCESS && status != ARES_ENOTFOUND
             && status != ARES_ENODATA)
            || answer != 0xffffffff
            || ttl != NGX_MAIL_SPAM_DNS_DNSBL_NEGATIVE_TTL)
        {
            abort();
        }

        return;

    case NGX_MAIL_SPAM_DNS_OUTSIDE:
        if (status != ARES_SUCCESS || answer != 0xffffffff || ttl != 0) {
            abort();
        }

        return;

    default:
        if (rc <= 0 || answer != 0xffffffff || ttl != 0
            || (status != ARES_SUCCESS && rc != status)
            || status == ARES_ENOTFOUND || status == ARES_ENODATA)
        {
            abort();
        }

        return;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int       status;
    size_t    storage;
    unsigned  mode, max;

    if (size < 4 || size > MAX_INPUT) {
        return 0;
    }

    mode = data[0] % 6;
    status = (data[1] >= 0x20) ? ARES_SUCCESS : statuses[data[1] & 7];
    max = (data[2] & 0x80) ? (data[2] & 0x3f) : NGX_MAIL_SPAM_DNS_RRS_MAX;
    storage = (data[3] & 0x80) ? (size_t) (data[3] & 0x7f) * 8
                               : NGX_MAIL_SPAM_DNS_STORAGE;

    data += 4;
    size -= 4;

    if (mode == 5) {
        fuzz_dnsbl(status, data, size);

    } else {
        fuzz_spf(types[mode], status, data, size, max, storage);
    }

    return 0;
}
