
/*
 * DATA and BDAT content decoding; the policy on line ends is told in
 * ngx_mail_smtpd_data.h.  Each input octet is one step of a small
 * state machine over the octets as sent, producing at most three
 * octets of output; a step is committed only when its output fits, so
 * the stream may stop and resume at any octet.
 */

#include <string.h>

#include "ngx_mail_smtpd_data.h"


typedef enum {
    sw_line_start = 0,  /* after a real CR LF */
    sw_dot,             /* CR LF "." */
    sw_dot_cr,          /* CR LF "." CR */
    sw_text,
    sw_cr,              /* a CR, LF may follow */
    sw_done             /* CR LF "." CR LF */
} ngx_mail_smtpd_data_state_e;


typedef size_t (*ngx_mail_smtpd_data_step_pt)(ngx_mail_smtpd_data_t *data,
    unsigned c, unsigned *state, unsigned char *buf);


static int ngx_mail_smtpd_data_run(ngx_mail_smtpd_data_t *data,
    ngx_mail_smtpd_data_step_pt step, const unsigned char *in, size_t in_len,
    size_t *consumed, unsigned char *out, size_t out_size, size_t *written);
static size_t ngx_mail_smtpd_data_step(ngx_mail_smtpd_data_t *data,
    unsigned c, unsigned *state, unsigned char *buf);
static size_t ngx_mail_smtpd_bdat_step(ngx_mail_smtpd_data_t *data,
    unsigned c, unsigned *state, unsigned char *buf);
static size_t ngx_mail_smtpd_data_text(ngx_mail_smtpd_data_t *data,
    unsigned c, unsigned *state, unsigned char *buf);
static size_t ngx_mail_smtpd_data_bare_cr(ngx_mail_smtpd_data_t *data,
    unsigned c, unsigned *state, unsigned char *buf);


void
ngx_mail_smtpd_data_init(ngx_mail_smtpd_data_t *data, uint64_t max_size)
{
    memset(data, 0, sizeof(ngx_mail_smtpd_data_t));

    /* the CR LF of the DATA command starts the first line */
    data->state = sw_line_start;
    data->max_size = max_size;
}


int
ngx_mail_smtpd_data_decode(ngx_mail_smtpd_data_t *data,
    const unsigned char *in, size_t in_len, size_t *consumed,
    unsigned char *out, size_t out_size, size_t *written)
{
    return ngx_mail_smtpd_data_run(data, ngx_mail_smtpd_data_step, in,
                                   in_len, consumed, out, out_size, written);
}


int
ngx_mail_smtpd_bdat_decode(ngx_mail_smtpd_data_t *data,
    const unsigned char *in, size_t in_len, size_t *consumed,
    unsigned char *out, size_t out_size, size_t *written)
{
    return ngx_mail_smtpd_data_run(data, ngx_mail_smtpd_bdat_step, in,
                                   in_len, consumed, out, out_size, written);
}


int
ngx_mail_smtpd_bdat_finish(ngx_mail_smtpd_data_t *data, unsigned char *out,
    size_t out_size, size_t *written)
{
    *written = 0;

    if (data->state != sw_cr) {
        data->done = 1;
        return NGX_MAIL_SMTPD_PARSE_OK;
    }

    if (out_size < 2) {
        return NGX_MAIL_SMTPD_PARSE_ERROR;
    }

    data->bare_cr = 1;
    data->state = sw_text;
    data->done = 1;
    data->size += 2;

    if (data->too_big
        || (data->max_size && data->size > data->max_size))
    {
        data->too_big = 1;
        return NGX_MAIL_SMTPD_PARSE_OK;
    }

    out[0] = '\r';
    out[1] = '\n';
    data->stored += 2;
    *written = 2;

    return NGX_MAIL_SMTPD_PARSE_OK;
}


static int
ngx_mail_smtpd_data_run(ngx_mail_smtpd_data_t *data,
    ngx_mail_smtpd_data_step_pt step, const unsigned char *in, size_t in_len,
    size_t *consumed, unsigned char *out, size_t out_size, size_t *written)
{
    size_t          i, o, n;
    unsigned        state;
    unsigned char   buf[NGX_MAIL_SMTPD_DATA_OUT_MIN];

    *consumed = 0;
    *written = 0;

    if (data->done || out_size < NGX_MAIL_SMTPD_DATA_OUT_MIN) {
        return NGX_MAIL_SMTPD_PARSE_ERROR;
    }

    o = 0;

    for (i = 0; i < in_len; i++) {
        state = data->state;
        n = step(data, in[i], &state, buf);

        if (!data->too_big) {
            if (data->max_size && data->size + n > data->max_size) {
                /* 552 at the end; until then read and drop */
                data->too_big = 1;

            } else if (n > out_size - o) {
                *consumed = i;
                *written = o;
                return NGX_MAIL_SMTPD_PARSE_OK;

            } else {
                memcpy(out + o, buf, n);
                o += n;
                data->stored += n;
            }
        }

        data->size += n;
        data->state = state;

        if (state == sw_done) {
            data->done = 1;
            *consumed = i + 1;
            *written = o;
            return NGX_MAIL_SMTPD_PARSE_DONE;
        }
    }

    *consumed = in_len;
    *written = o;

    return NGX_MAIL_SMTPD_PARSE_AGAIN;
}


/*
 * One octet of DATA.  The states remember just enough of the octets
 * sent (CR LF, CR LF ".", CR LF "." CR, CR) to find CR LF "." CR LF
 * and nothing else.
 */

static size_t
ngx_mail_smtpd_data_step(ngx_mail_smtpd_data_t *data, unsigned c,
    unsigned *state, unsigned char *buf)
{
    switch (*state) {

    case sw_line_start:
        if (c == '.') {
            /* RFC 5321 4.5.2: the first dot goes, or it ends the data */
            *state = sw_dot;
            return 0;
        }
        break;

    case sw_dot:
        if (c == '\r') {
            *state = sw_dot_cr;
            return 0;
        }
        break;

    case sw_dot_cr:
        if (c == '\n') {
            *state = sw_done;
            return 0;
        }

        /* "." and a bare CR: the dot still goes, as the line began
         * after a real CR LF */
        return ngx_mail_smtpd_data_bare_cr(data, c, state, buf);

    case sw_cr:
        if (c == '\n') {
            *state = sw_line_start;
            buf[0] = '\r';
            buf[1] = '\n';
            return 2;
        }

        return ngx_mail_smtpd_data_bare_cr(data, c, state, buf);

    default: /* text */
        break;
    }

    return ngx_mail_smtpd_data_text(data, c, state, buf);
}


/* One octet of BDAT: only line ends change */

static size_t
ngx_mail_smtpd_bdat_step(ngx_mail_smtpd_data_t *data, unsigned c,
    unsigned *state, unsigned char *buf)
{
    if (*state == sw_cr) {
        if (c == '\n') {
            *state = sw_text;
            buf[0] = '\r';
            buf[1] = '\n';
            return 2;
        }

        return ngx_mail_smtpd_data_bare_cr(data, c, state, buf);
    }

    return ngx_mail_smtpd_data_text(data, c, state, buf);
}


/* an octet inside a line: CR waits for what follows, bare LF is CR LF */

static size_t
ngx_mail_smtpd_data_text(ngx_mail_smtpd_data_t *data, unsigned c,
    unsigned *state, unsigned char *buf)
{
    if (c == '\r') {
        *state = sw_cr;
        return 0;
    }

    *state = sw_text;

    if (c == '\n') {
        data->bare_lf = 1;
        buf[0] = '\r';
        buf[1] = '\n';
        return 2;
    }

    if (c >= 0x80) {
        data->eight_bit = 1;
    }

    buf[0] = (unsigned char) c;

    return 1;
}


/*
 * The CR before c was not followed by LF: it becomes CR LF, and c is
 * an octet of the next line, which began after no real CR LF, so it is
 * not looked at for a dot.  c is not LF here.
 */

static size_t
ngx_mail_smtpd_data_bare_cr(ngx_mail_smtpd_data_t *data, unsigned c,
    unsigned *state, unsigned char *buf)
{
    data->bare_cr = 1;
    buf[0] = '\r';
    buf[1] = '\n';

    return 2 + ngx_mail_smtpd_data_text(data, c, state, buf + 2);
}


void
ngx_mail_smtpd_dotstuff_init(ngx_mail_smtpd_dotstuff_t *ds)
{
    ds->line_start = 1;
}


int
ngx_mail_smtpd_dotstuff(ngx_mail_smtpd_dotstuff_t *ds,
    const unsigned char *in, size_t in_len, size_t *consumed,
    unsigned char *out, size_t out_size, size_t *written)
{
    size_t  i, o, n;

    *consumed = 0;
    *written = 0;

    if (out_size < 2) {
        return NGX_MAIL_SMTPD_PARSE_ERROR;
    }

    o = 0;

    for (i = 0; i < in_len; i++) {
        n = (ds->line_start && in[i] == '.') ? 2 : 1;

        if (n > out_size - o) {
            *consumed = i;
            *written = o;
            return NGX_MAIL_SMTPD_PARSE_OK;
        }

        if (n == 2) {
            out[o++] = '.';
        }

        out[o++] = in[i];

        /* after any LF, so even a bare one could not end the data */
        ds->line_start = (in[i] == '\n');
    }

    *consumed = in_len;
    *written = o;

    return NGX_MAIL_SMTPD_PARSE_AGAIN;
}
