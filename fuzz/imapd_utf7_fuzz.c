
/*
 * libFuzzer target for modified UTF-7 (RFC 3501 5.1.3) and sequence
 * sets.  The first octet chooses: decode the rest as mUTF-7 (and if it
 * decodes, encoding must give it back octet for octet), encode it as
 * UTF-8 (and if it encodes, decoding must give it back), or parse it
 * as a sequence set (and membership must not change by normalizing).
 * Output buffers are sized exactly to what the call needs, so that
 * ASan sees any write past them.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_imapd_seqset.h"
#include "ngx_mail_imapd_utf7.h"


static void
fuzz_decode(const uint8_t *data, size_t size)
{
    int             rc;
    size_t          n, m;
    unsigned char  *utf8, *utf7;

    utf8 = malloc(ngx_mail_imapd_utf7_decoded_max(size));
    utf7 = malloc(size + 1);

    if (utf8 == NULL || utf7 == NULL) {
        abort();
    }

    rc = ngx_mail_imapd_utf7_decode(data, size, utf8,
                                    ngx_mail_imapd_utf7_decoded_max(size), &n);

    if (rc == NGX_MAIL_IMAPD_PARSE_OK) {
        if (n > ngx_mail_imapd_utf7_decoded_max(size)
            || ngx_mail_imapd_utf7_encode(utf8, n, utf7, size, &m)
               != NGX_MAIL_IMAPD_PARSE_OK
            || m != size || memcmp(utf7, data, m) != 0)
        {
            abort();
        }

        /* one octet less of output is too little */
        if (n > 0 && ngx_mail_imapd_utf7_decode(data, size, utf8, n - 1, &m)
                     != NGX_MAIL_IMAPD_PARSE_DECLINED)
        {
            abort();
        }

    } else if (rc != NGX_MAIL_IMAPD_PARSE_ERROR) {
        abort();
    }

    free(utf8);
    free(utf7);
}


static void
fuzz_encode(const uint8_t *data, size_t size)
{
    int             rc;
    size_t          n, m, max;
    unsigned char  *utf8, *utf7;

    max = ngx_mail_imapd_utf7_encoded_max(size);
    utf7 = malloc(max + 1);
    utf8 = malloc(size + 1);

    if (utf8 == NULL || utf7 == NULL) {
        abort();
    }

    rc = ngx_mail_imapd_utf7_encode(data, size, utf7, max, &n);

    if (rc == NGX_MAIL_IMAPD_PARSE_OK) {
        if (ngx_mail_imapd_utf7_decode(utf7, n, utf8, size, &m)
            != NGX_MAIL_IMAPD_PARSE_OK
            || m != size || memcmp(utf8, data, m) != 0)
        {
            abort();
        }

        if (n > 0 && ngx_mail_imapd_utf7_encode(data, size, utf7, n - 1, &m)
                     != NGX_MAIL_IMAPD_PARSE_DECLINED)
        {
            abort();
        }

    } else if (rc != NGX_MAIL_IMAPD_PARSE_ERROR) {
        abort();
    }

    free(utf8);
    free(utf7);
}


static void
fuzz_seqset(const uint8_t *data, size_t size)
{
    int                          rc;
    uint32_t                     i, n, star;
    ngx_mail_imapd_seqset_t      set, norm;
    ngx_mail_imapd_seq_range_t   ranges[16], nranges[16];

    set.ranges = ranges;
    set.max_ranges = 16;

    rc = ngx_mail_imapd_seqset_parse(data, size, &set);

    if (rc == NGX_MAIL_IMAPD_PARSE_DECLINED) {
        if (set.nranges != 16) {
            abort();
        }

        return;
    }

    if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
        if (rc != NGX_MAIL_IMAPD_PARSE_ERROR) {
            abort();
        }

        return;
    }

    if (set.saved != (size == 1 && data[0] == '$')) {
        abort();
    }

    for (star = 0; star < 40; star += 7) {
        norm = set;
        norm.ranges = nranges;
        memcpy(nranges, ranges, sizeof(ranges));
        ngx_mail_imapd_seqset_normalize(&norm, star);

        for (i = 1; i < norm.nranges; i++) {
            if (nranges[i].first > nranges[i].last
                || (uint64_t) nranges[i].first
                   <= (uint64_t) nranges[i - 1].last + 1)
            {
                abort();
            }
        }

        for (n = 0; n < 48; n++) {
            if (ngx_mail_imapd_seqset_contains(&set, n, star)
                != ngx_mail_imapd_seqset_contains(&norm, n, star))
            {
                abort();
            }
        }

        for (i = 0; i < norm.nranges; i++) {
            n = nranges[i].last;

            if (!ngx_mail_imapd_seqset_contains(&set, n, star)) {
                abort();
            }
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }

    switch (data[0] % 3) {
    case 0:
        fuzz_decode(data + 1, size - 1);
        break;
    case 1:
        fuzz_encode(data + 1, size - 1);
        break;
    default:
        fuzz_seqset(data + 1, size - 1);
    }

    return 0;
}
