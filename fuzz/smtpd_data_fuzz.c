
/*
 * libFuzzer target for the DATA and BDAT decoders.  The first octets
 * choose the output buffer size, the size limit and the cuts; the rest
 * is what a client sends after 354.  Checked: output never beyond its
 * buffer, input never over-consumed, the end found exactly where a
 * naive search finds the first CR LF "." CR LF, the same result however
 * the input is cut, no bare CR or LF stored, and dot-stuffing what was
 * stored then decoding it again gives it back.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_smtpd_data.h"


#define MAX_INPUT  8192
#define MAX_OUTPUT (3 * MAX_INPUT + 16)


typedef struct {
    int                      rc;
    size_t                   consumed;
    size_t                   len;
    ngx_mail_smtpd_data_t    data;
    unsigned char            out[MAX_OUTPUT];
} result_t;


static result_t  whole, cut, again;
static unsigned char  stuffed[2 * MAX_OUTPUT + 8];


/* the reference: where "\r\n" + in first contains "\r\n.\r\n" */

static size_t
reference_end(const unsigned char *in, size_t len)
{
    size_t  i;

    if (len >= 3 && memcmp(in, ".\r\n", 3) == 0) {
        return 3;
    }

    for (i = 0; i + 5 <= len; i++) {
        if (memcmp(in + i, "\r\n.\r\n", 5) == 0) {
            return i + 5;
        }
    }

    return 0;
}


/* feeds in[] in pieces cut at cuts[] (each piece at most step octets) */

static void
run(result_t *r, int bdat, const unsigned char *in, size_t len,
    size_t step, size_t out_size, uint64_t max_size)
{
    int             rc;
    size_t          pos, end, used, written;
    unsigned char  *out;

    ngx_mail_smtpd_data_init(&r->data, max_size);
    r->len = 0;
    r->rc = NGX_MAIL_SMTPD_PARSE_AGAIN;
    pos = 0;

    while (pos < len) {
        end = (len - pos > step) ? pos + step : len;

        while (pos < end) {
            /* the output is written right where the result goes, but
             * only out_size of it is offered */
            out = r->out + r->len;

            if (out_size > MAX_OUTPUT - r->len) {
                out_size = MAX_OUTPUT - r->len;
            }

            if (bdat) {
                rc = ngx_mail_smtpd_bdat_decode(&r->data, in + pos, end - pos,
                                                &used, out, out_size,
                                                &written);
            } else {
                rc = ngx_mail_smtpd_data_decode(&r->data, in + pos, end - pos,
                                                &used, out, out_size,
                                                &written);
            }

            if (written > out_size || used > end - pos
                || r->len + written > MAX_OUTPUT)
            {
                abort();
            }

            if (rc == NGX_MAIL_SMTPD_PARSE_OK) {
                if (used == end - pos && written == 0) {
                    abort();   /* no progress */
                }

            } else if (rc == NGX_MAIL_SMTPD_PARSE_AGAIN) {
                if (used != end - pos) {
                    abort();
                }

            } else if (rc != NGX_MAIL_SMTPD_PARSE_DONE || bdat) {
                abort();
            }

            r->len += written;
            pos += used;
            r->rc = rc;

            if (rc == NGX_MAIL_SMTPD_PARSE_DONE) {
                r->consumed = pos;
                return;
            }
        }
    }

    r->consumed = pos;

    if (bdat) {
        if (ngx_mail_smtpd_bdat_finish(&r->data, r->out + r->len, out_size,
                                       &written)
            != NGX_MAIL_SMTPD_PARSE_OK || written > 2)
        {
            abort();
        }
        r->len += written;
    }
}


static void
same(result_t *a, result_t *b)
{
    if (a->rc != b->rc || a->consumed != b->consumed || a->len != b->len
        || memcmp(a->out, b->out, a->len) != 0
        || a->data.size != b->data.size || a->data.too_big != b->data.too_big
        || a->data.bare_cr != b->data.bare_cr
        || a->data.bare_lf != b->data.bare_lf
        || a->data.eight_bit != b->data.eight_bit)
    {
        abort();
    }
}


static void
check_line_ends(result_t *r)
{
    size_t  i;

    for (i = 0; i < r->len; i++) {
        if (r->out[i] == '\r'
            && (i + 1 == r->len || r->out[i + 1] != '\n'))
        {
            /* an incomplete DATA may end in the CR it holds back: no,
             * a held CR is never written */
            abort();
        }

        if (r->out[i] == '\n' && (i == 0 || r->out[i - 1] != '\r')) {
            abort();
        }
    }

    if (r->data.stored != r->len || r->data.size < r->data.stored) {
        abort();
    }
}


/* dot-stuff the stored message, add the end, decode: the same again */

static void
check_roundtrip(result_t *r)
{
    size_t                      used, written, n;
    ngx_mail_smtpd_dotstuff_t   ds;

    ngx_mail_smtpd_dotstuff_init(&ds);

    if (ngx_mail_smtpd_dotstuff(&ds, r->out, r->len, &used, stuffed,
                                sizeof(stuffed) - 5, &written)
        != NGX_MAIL_SMTPD_PARSE_AGAIN || used != r->len)
    {
        abort();
    }

    n = written;

    if (!ds.line_start && r->len > 0) {
        abort();   /* a complete DATA message ends with CR LF */
    }

    memcpy(stuffed + n, ".\r\n", 3);
    n += 3;

    run(&again, 0, stuffed, n, n, MAX_OUTPUT, 0);

    if (again.rc != NGX_MAIL_SMTPD_PARSE_DONE || again.consumed != n
        || again.len != r->len || memcmp(again.out, r->out, r->len) != 0)
    {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t    out_size, step, end;
    uint64_t  max_size;

    if (size < 3 || size > MAX_INPUT + 3) {
        return 0;
    }

    out_size = NGX_MAIL_SMTPD_DATA_OUT_MIN + data[0] % 32;
    step = 1 + data[1] % 64;
    max_size = data[2] < 128 ? 0 : (uint64_t) (data[2] - 128) * 4;
    data += 3;
    size -= 3;

    end = reference_end(data, size);

    run(&whole, 0, data, size, size, MAX_OUTPUT, max_size);

    if (end ? (whole.rc != NGX_MAIL_SMTPD_PARSE_DONE || whole.consumed != end)
            : (whole.rc != NGX_MAIL_SMTPD_PARSE_AGAIN
               || whole.consumed != size))
    {
        abort();
    }

    if (max_size && (whole.len > max_size
                     || whole.data.too_big != (whole.data.size > max_size)))
    {
        abort();
    }

    check_line_ends(&whole);

    run(&cut, 0, data, size, step, out_size, max_size);
    same(&whole, &cut);

    if (end && max_size == 0) {
        check_roundtrip(&whole);
    }

    run(&whole, 1, data, size, size, MAX_OUTPUT, max_size);
    check_line_ends(&whole);
    run(&cut, 1, data, size, step, out_size, max_size);
    same(&whole, &cut);

    if (whole.consumed != size) {
        abort();
    }

    return 0;
}
