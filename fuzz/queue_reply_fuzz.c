
/*
 * libFuzzer target for the delivery client's SMTP reply parser.
 *
 * The first octet chooses EHLO mode and a piece size; the rest is what a
 * remote server sends.  The input is parsed whole, then in pieces of
 * that size, then an octet at a time: the three results must agree.
 * A reference written differently (line by line, with memchr) says
 * whether the input holds a complete reply, a malformed one, or the
 * start of one, and where the reply ends.  Besides the sanitizers the
 * target checks the bounds the header promises and that the text has
 * no control characters but HT.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_queue_reply.h"


#define MAX_INPUT  (NGX_MAIL_QUEUE_REPLY_BYTES_MAX + 4096)


typedef struct {
    int                         rc;
    size_t                      consumed;
    unsigned                    code;
    unsigned                    lines;
} reference_t;


static ngx_mail_queue_reply_t  whole, cut, octets;


static int
feed(ngx_mail_queue_reply_t *r, unsigned flags, const uint8_t *in,
    size_t len, size_t step, size_t *consumed)
{
    int     rc;
    size_t  pos, n, used;

    ngx_mail_queue_reply_init(r, flags);

    rc = NGX_MAIL_QUEUE_PARSE_AGAIN;
    pos = 0;

    do {
        n = (len - pos < step) ? len - pos : step;
        used = 0;

        rc = ngx_mail_queue_reply_parse(r, in + pos, n, &used);

        if (used > n) {
            abort();
        }

        if (rc == NGX_MAIL_QUEUE_PARSE_AGAIN && used != n) {
            abort();
        }

        if (rc == NGX_MAIL_QUEUE_PARSE_OK && used == 0) {
            abort();   /* a reply ends at an LF, which it consumes */
        }

        pos += used;

    } while (rc == NGX_MAIL_QUEUE_PARSE_AGAIN && pos < len);

    *consumed = pos;

    /* a finished reply, complete or failed, takes nothing more */
    if (rc != NGX_MAIL_QUEUE_PARSE_AGAIN) {
        if (ngx_mail_queue_reply_parse(r, in, len, &used) != rc || used != 0) {
            abort();
        }
    }

    return rc;
}


/*
 * One line's octets, its LF excluded; "complete" when the LF is there.
 * A CR may only be the last octet (before the LF, or awaiting it), and
 * not in place of a digit.
 */

static int
reference_line(const uint8_t *p, size_t n, int complete, unsigned *code,
    int *last)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (p[i] == '\0' || (p[i] == '\r' && i + 1 < n)) {
            return NGX_MAIL_QUEUE_PARSE_ERROR;
        }
    }

    if (n > 0 && p[n - 1] == '\r') {
        if (n < 4) {
            return NGX_MAIL_QUEUE_PARSE_ERROR;
        }

        n--;
    }

    if ((n > 0 && (p[0] < '2' || p[0] > '5'))
        || (n > 1 && (p[1] < '0' || p[1] > '5'))
        || (n > 2 && (p[2] < '0' || p[2] > '9'))
        || (n > 3 && p[3] != ' ' && p[3] != '-'))
    {
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    if (n >= 3) {
        *code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    }

    if (!complete) {
        return NGX_MAIL_QUEUE_PARSE_AGAIN;
    }

    if (n < 3) {
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    *last = (n == 3 || p[3] == ' ');

    return NGX_MAIL_QUEUE_PARSE_OK;
}


static void
reference(const uint8_t *in, size_t len, reference_t *ref)
{
    int             rc, last;
    size_t          pos, end, n;
    unsigned        code;
    const uint8_t  *lf;

    memset(ref, 0, sizeof(reference_t));
    pos = 0;

    for ( ;; ) {
        if (pos == len) {
            ref->rc = NGX_MAIL_QUEUE_PARSE_AGAIN;
            return;
        }

        if (ref->lines == NGX_MAIL_QUEUE_REPLY_LINES_MAX) {
            ref->rc = NGX_MAIL_QUEUE_PARSE_ERROR;
            return;
        }

        lf = memchr(in + pos, '\n', len - pos);
        end = lf ? (size_t) (lf - in) + 1 : len;
        n = end - pos;

        if (n > NGX_MAIL_QUEUE_REPLY_LINE_MAX
            || end > NGX_MAIL_QUEUE_REPLY_BYTES_MAX)
        {
            ref->rc = NGX_MAIL_QUEUE_PARSE_ERROR;
            return;
        }

        code = 0;
        last = 0;
        rc = reference_line(in + pos, lf ? n - 1 : n, lf != NULL, &code,
                            &last);

        /* the parser sees a changed code at its third digit */
        if (ref->lines > 0 && code != 0 && code != ref->code) {
            rc = NGX_MAIL_QUEUE_PARSE_ERROR;
        }

        if (rc != NGX_MAIL_QUEUE_PARSE_OK) {
            ref->rc = rc;
            return;
        }

        ref->code = code;
        ref->lines++;
        pos = end;

        if (last) {
            ref->rc = NGX_MAIL_QUEUE_PARSE_OK;
            ref->consumed = pos;
            return;
        }
    }
}


static void
same(ngx_mail_queue_reply_t *a, ngx_mail_queue_reply_t *b)
{
    if (a->code != b->code || a->lines != b->lines || a->bytes != b->bytes
        || a->error != b->error || a->has_enhanced != b->has_enhanced
        || a->enhanced.len != b->enhanced.len
        || memcmp(a->enhanced.data, b->enhanced.data, a->enhanced.len) != 0
        || a->text.len != b->text.len
        || memcmp(a->text.data, b->text.data, a->text.len) != 0
        || a->text_truncated != b->text_truncated
        || a->extensions != b->extensions || a->auth != b->auth
        || a->size != b->size)
    {
        abort();
    }
}


static void
check(ngx_mail_queue_reply_t *r, int rc, const uint8_t *in, size_t consumed,
    unsigned flags)
{
    size_t  i;
    char    status[NGX_MAIL_QUEUE_STATUS_LEN];

    if (r->text.len > NGX_MAIL_QUEUE_REPLY_TEXT_MAX
        || r->lines > NGX_MAIL_QUEUE_REPLY_LINES_MAX
        || r->bytes > NGX_MAIL_QUEUE_REPLY_BYTES_MAX + 1
        || r->text.data != r->text_buf)
    {
        abort();
    }

    for (i = 0; i < r->text.len; i++) {
        if ((r->text.data[i] < 0x20 && r->text.data[i] != '\t')
            || r->text.data[i] == 0x7f)
        {
            abort();
        }
    }

    if (rc == NGX_MAIL_QUEUE_PARSE_ERROR) {
        if (r->error == NGX_MAIL_QUEUE_REPLY_ERR_NONE
            || ngx_mail_queue_reply_strerror(r->error) == NULL)
        {
            abort();
        }

        return;
    }

    if (r->error != NGX_MAIL_QUEUE_REPLY_ERR_NONE) {
        abort();
    }

    if (rc != NGX_MAIL_QUEUE_PARSE_OK) {
        return;
    }

    if (in[consumed - 1] != '\n' || r->bytes != consumed
        || r->code < 200 || r->code > 559 || r->lines == 0)
    {
        abort();
    }

    if (r->has_enhanced
        && (r->enhanced_class != r->code / 100 || r->enhanced_class == 3
            || r->enhanced_subject > 999 || r->enhanced_detail > 999
            || (flags & NGX_MAIL_QUEUE_REPLY_EHLO)))
    {
        abort();
    }

    if ((r->extensions || r->auth || r->size)
        && (r->code != 250 || !(flags & NGX_MAIL_QUEUE_REPLY_EHLO)))
    {
        abort();
    }

    if (r->auth && !(r->extensions & NGX_MAIL_QUEUE_EXT_AUTH)) {
        abort();
    }

    if (r->size && !(r->extensions & NGX_MAIL_QUEUE_EXT_SIZE)) {
        abort();
    }

    if (ngx_mail_queue_reply_status(r, status) >= NGX_MAIL_QUEUE_STATUS_LEN
        || status[0] != (char) ('0' + r->code / 100))
    {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          rc, rc_cut, rc_octets;
    size_t       step, consumed, consumed_cut, consumed_octets;
    unsigned     flags;
    reference_t  ref;

    if (size < 1 || size > MAX_INPUT) {
        return 0;
    }

    flags = (data[0] & 0x80) ? NGX_MAIL_QUEUE_REPLY_EHLO : 0;
    step = 1 + (data[0] & 0x7f);
    data++;
    size--;

    rc = feed(&whole, flags, data, size, size ? size : 1, &consumed);
    check(&whole, rc, data, consumed, flags);

    reference(data, size, &ref);

    if (rc != ref.rc) {
        abort();
    }

    if (rc == NGX_MAIL_QUEUE_PARSE_OK
        && (consumed != ref.consumed || whole.code != ref.code
            || whole.lines != ref.lines))
    {
        abort();
    }

    if (rc == NGX_MAIL_QUEUE_PARSE_AGAIN && consumed != size) {
        abort();
    }

    rc_cut = feed(&cut, flags, data, size, step, &consumed_cut);
    rc_octets = feed(&octets, flags, data, size, 1, &consumed_octets);

    if (rc_cut != rc || rc_octets != rc || consumed_cut != consumed
        || consumed_octets != consumed)
    {
        abort();
    }

    same(&whole, &cut);
    same(&whole, &octets);

    return 0;
}
