
/*
 * IMAP sequence sets, RFC 3501 9:
 *
 *   sequence-set = (seq-number / seq-range) *("," sequence-set)
 *   seq-range    = seq-number ":" seq-number
 *   seq-number   = nz-number / "*"
 *
 * and RFC 5182 "$".
 */

#include <string.h>

#include "ngx_mail_imapd_seqset.h"


#define NGX_MAIL_IMAPD_SEQ_MAX  4294967295ULL


static const unsigned char *ngx_mail_imapd_seq_number(
    const unsigned char *p, const unsigned char *end, uint32_t *n);
static void ngx_mail_imapd_seq_sift(ngx_mail_imapd_seq_range_t *r,
    uint32_t i, uint32_t n);


int
ngx_mail_imapd_seqset_parse(const unsigned char *p, size_t len,
    ngx_mail_imapd_seqset_t *set)
{
    uint32_t                     first, last, swap;
    const unsigned char         *end;
    ngx_mail_imapd_seq_range_t  *r;

    end = p + len;

    set->nranges = 0;
    set->saved = 0;
    set->star = 0;
    set->normalized = 0;

    /* RFC 5182 2.1: the whole set or nothing */
    if (len == 1 && *p == '$') {
        set->saved = 1;
        return NGX_MAIL_IMAPD_PARSE_OK;
    }

    for ( ;; ) {
        p = ngx_mail_imapd_seq_number(p, end, &first);

        if (p == NULL) {
            return NGX_MAIL_IMAPD_PARSE_ERROR;
        }

        last = first;

        if (p < end && *p == ':') {
            p = ngx_mail_imapd_seq_number(p + 1, end, &last);

            if (p == NULL) {
                return NGX_MAIL_IMAPD_PARSE_ERROR;
            }
        }

        if (p < end && *p != ',') {
            return NGX_MAIL_IMAPD_PARSE_ERROR;
        }

        if (set->nranges == set->max_ranges) {
            /* the rest must still be valid for DECLINED to mean "valid" */
            while (p < end) {
                if (*p == ',') {
                    p++;
                }

                p = ngx_mail_imapd_seq_number(p, end, &first);

                if (p != NULL && p < end && *p == ':') {
                    p = ngx_mail_imapd_seq_number(p + 1, end, &first);
                }

                if (p == NULL || (p < end && *p != ',')) {
                    return NGX_MAIL_IMAPD_PARSE_ERROR;
                }
            }

            return NGX_MAIL_IMAPD_PARSE_DECLINED;
        }

        /* "4:1" is "1:4"; "*" stays first until normalized */
        if (last == NGX_MAIL_IMAPD_SEQ_STAR
            || (first != NGX_MAIL_IMAPD_SEQ_STAR && first > last))
        {
            swap = first;
            first = last;
            last = swap;
        }

        if (first == NGX_MAIL_IMAPD_SEQ_STAR) {
            set->star = 1;
        }

        r = &set->ranges[set->nranges++];
        r->first = first;
        r->last = last;

        if (p == end) {
            return NGX_MAIL_IMAPD_PARSE_OK;
        }

        p++;
    }
}


void
ngx_mail_imapd_seq_range_resolve(const ngx_mail_imapd_seq_range_t *r,
    uint32_t star, uint32_t *lo, uint32_t *hi)
{
    uint32_t  a, b;

    a = (r->first == NGX_MAIL_IMAPD_SEQ_STAR) ? star : r->first;
    b = (r->last == NGX_MAIL_IMAPD_SEQ_STAR) ? star : r->last;

    if (a > b) {
        *lo = b;
        *hi = a;

    } else {
        *lo = a;
        *hi = b;
    }
}


void
ngx_mail_imapd_seqset_normalize(ngx_mail_imapd_seqset_t *set,
    uint32_t star)
{
    uint32_t                     i, n, lo, hi;
    ngx_mail_imapd_seq_range_t  *r, tmp;

    r = set->ranges;
    n = set->nranges;

    for (i = 0; i < n; i++) {
        ngx_mail_imapd_seq_range_resolve(&r[i], star, &lo, &hi);
        r[i].first = lo;
        r[i].last = hi;
    }

    /* heapsort by "first": no allocation, no recursion, n log n */

    for (i = n / 2; i > 0; i--) {
        ngx_mail_imapd_seq_sift(r, i - 1, n);
    }

    for (i = n; i > 1; i--) {
        tmp = r[0];
        r[0] = r[i - 1];
        r[i - 1] = tmp;
        ngx_mail_imapd_seq_sift(r, 0, i - 1);
    }

    /* merge overlapping and adjacent ranges */

    if (n > 0) {
        lo = 0;

        for (i = 1; i < n; i++) {
            if ((uint64_t) r[i].first <= (uint64_t) r[lo].last + 1) {
                if (r[i].last > r[lo].last) {
                    r[lo].last = r[i].last;
                }

                continue;
            }

            r[++lo] = r[i];
        }

        n = lo + 1;
    }

    set->nranges = n;
    set->star = 0;
    set->normalized = 1;
}


int
ngx_mail_imapd_seqset_contains(const ngx_mail_imapd_seqset_t *set,
    uint32_t n, uint32_t star)
{
    uint32_t                           i, lo, hi, mid;
    const ngx_mail_imapd_seq_range_t  *r;

    r = set->ranges;

    if (set->normalized) {
        lo = 0;
        hi = set->nranges;

        while (lo < hi) {
            mid = lo + (hi - lo) / 2;

            if (n < r[mid].first) {
                hi = mid;

            } else if (n > r[mid].last) {
                lo = mid + 1;

            } else {
                return 1;
            }
        }

        return 0;
    }

    for (i = 0; i < set->nranges; i++) {
        ngx_mail_imapd_seq_range_resolve(&r[i], star, &lo, &hi);

        if (n >= lo && n <= hi) {
            return 1;
        }
    }

    return 0;
}


/* RFC 3501 9: nz-number (digit-nz *DIGIT, 32 bits) or "*" as 0 */

static const unsigned char *
ngx_mail_imapd_seq_number(const unsigned char *p, const unsigned char *end,
    uint32_t *n)
{
    uint64_t  value;

    if (p == end) {
        return NULL;
    }

    if (*p == '*') {
        *n = NGX_MAIL_IMAPD_SEQ_STAR;
        return p + 1;
    }

    if (*p < '1' || *p > '9') {
        return NULL;
    }

    value = 0;

    while (p < end && *p >= '0' && *p <= '9') {
        value = value * 10 + (*p++ - '0');

        if (value > NGX_MAIL_IMAPD_SEQ_MAX) {
            return NULL;
        }
    }

    *n = (uint32_t) value;

    return p;
}


static void
ngx_mail_imapd_seq_sift(ngx_mail_imapd_seq_range_t *r, uint32_t i,
    uint32_t n)
{
    uint64_t                    child;
    ngx_mail_imapd_seq_range_t  tmp;

    for ( ;; ) {
        child = 2 * (uint64_t) i + 1;

        if (child >= n) {
            return;
        }

        if (child + 1 < n && r[child + 1].first > r[child].first) {
            child++;
        }

        if (r[child].first <= r[i].first) {
            return;
        }

        tmp = r[i];
        r[i] = r[child];
        r[child] = tmp;
        i = (uint32_t) child;
    }
}
