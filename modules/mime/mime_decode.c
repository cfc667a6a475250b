
/*
 * Content-Transfer-Encoding decoders (RFC 2045 6.7 and 6.8), written to
 * accept what real mail contains: stray characters in base64, missing
 * padding, lower-case hex, "=" without hex, and white space before a
 * soft line break in quoted-printable.
 */

#include <string.h>

#include "mime.h"
#include "mime_internal.h"


static const signed char  mime_base64_table[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
};


/*
 * RFC 2045 6.8: characters outside the alphabet are ignored; "=" ends
 * a quantum, and the decoder then starts afresh, so base64 blocks that
 * were concatenated with their padding still decode.
 */

size_t
mime_base64_decode(mime_uchar_t *out, const mime_uchar_t *p, size_t len)
{
    int             v;
    size_t          i, n;
    unsigned        bits;
    unsigned long   acc;

    acc = 0;
    bits = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        v = mime_base64_table[p[i]];

        if (v < 0) {
            if (p[i] == '=') {
                acc = 0;
                bits = 0;
            }

            continue;
        }

        acc = (acc << 6) | (unsigned) v;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            out[n++] = (mime_uchar_t) (acc >> bits);
            acc &= (1UL << bits) - 1;
        }
    }

    return n;
}


/*
 * RFC 2045 6.7; "header" selects RFC 2047 4.2 "Q", where "_" is a space
 * and there are no line breaks.
 */

size_t
mime_qp_decode(mime_uchar_t *out, const mime_uchar_t *p, size_t len,
    int header)
{
    int                  hi, lo;
    size_t               n;
    const mime_uchar_t  *end, *q;

    end = p + len;
    n = 0;

    while (p < end) {

        if (*p == '=') {
            if (end - p >= 3 && (hi = mime_hex(p[1])) >= 0
                && (lo = mime_hex(p[2])) >= 0)
            {
                out[n++] = (mime_uchar_t) (hi << 4 | lo);
                p += 3;
                continue;
            }

            /* a soft line break, maybe with transport padding */
            for (q = p + 1; q < end && mime_is_wsp(*q); q++) {
                /* void */
            }

            if (q < end && *q == '\r' && q + 1 < end && q[1] == '\n') {
                p = q + 2;
                continue;
            }

            if (q == end || *q == '\n') {
                p = (q == end) ? q : q + 1;
                continue;
            }

            /* rule 1 broken: keep the "=" as it is */
            out[n++] = *p++;
            continue;
        }

        if (*p == '_' && header) {
            out[n++] = ' ';
            p++;
            continue;
        }

        if (mime_is_wsp(*p) && !header) {
            /* rule 3: trailing white space was added in transport */
            for (q = p; q < end && mime_is_wsp(*q); q++) {
                /* void */
            }

            if (q == end || *q == '\n' || *q == '\r') {
                p = q;
                continue;
            }

            memcpy(out + n, p, q - p);
            n += q - p;
            p = q;
            continue;
        }

        out[n++] = *p++;
    }

    return n;
}


int
mime_part_decode(const mime_message_t *msg, const mime_part_t *part,
    const mime_allocator_t *allocator, mime_str_t *body)
{
    size_t               len;
    mime_uchar_t        *d;
    const mime_uchar_t  *p;

    p = msg->data + part->body_start;
    len = part->body_end - part->body_start;

    switch (part->encoding_id) {

    case MIME_ENC_BASE64:
        d = mime_alloc(allocator, len / 4 * 3 + 3);
        if (d == NULL) {
            return MIME_ERROR;
        }

        body->data = d;
        body->len = mime_base64_decode(d, p, len);
        return MIME_OK;

    case MIME_ENC_QP:
        d = mime_alloc(allocator, len + 1);
        if (d == NULL) {
            return MIME_ERROR;
        }

        body->data = d;
        body->len = mime_qp_decode(d, p, len, 0);
        return MIME_OK;

    default:
        /* identity encodings, and unknown ones we cannot undo */
        body->data = p;
        body->len = len;
        return MIME_OK;
    }
}
