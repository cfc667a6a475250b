
/*
 * SMTP replies read by the delivery client: a state machine over the
 * octets, one at a time, so that a reply cut anywhere parses the same;
 * a line's text is collected in the structure and looked at once its
 * LF has arrived (enhanced code, EHLO keyword).
 */

#include <stdio.h>
#include <string.h>

#include "ngx_mail_queue_reply.h"


typedef enum {
    sw_code1 = 0,
    sw_code2,
    sw_code3,
    sw_separator,
    sw_text,
    sw_almost_done
} ngx_mail_queue_reply_state_e;


typedef struct {
    const char                 *name;
    size_t                      len;
    unsigned                    bit;
} ngx_mail_queue_keyword_t;


static int ngx_mail_queue_reply_octet(ngx_mail_queue_reply_t *r,
    unsigned ch);
static int ngx_mail_queue_reply_line(ngx_mail_queue_reply_t *r);
static const unsigned char *ngx_mail_queue_reply_enhanced(
    ngx_mail_queue_reply_t *r, const unsigned char *p,
    const unsigned char *end);
static void ngx_mail_queue_reply_text(ngx_mail_queue_reply_t *r,
    const unsigned char *p, const unsigned char *end);
static void ngx_mail_queue_reply_ehlo(ngx_mail_queue_reply_t *r,
    const unsigned char *p, const unsigned char *end);
static void ngx_mail_queue_reply_ehlo_size(ngx_mail_queue_reply_t *r,
    const unsigned char *p, const unsigned char *end);
static void ngx_mail_queue_reply_ehlo_auth(ngx_mail_queue_reply_t *r,
    const unsigned char *p, const unsigned char *end);
static unsigned ngx_mail_queue_reply_lookup(
    const ngx_mail_queue_keyword_t *kw, const unsigned char *p,
    size_t len);


static const ngx_mail_queue_keyword_t  ngx_mail_queue_ehlo_keywords[] = {
    { "PIPELINING", 10, NGX_MAIL_QUEUE_EXT_PIPELINING },
    { "SIZE", 4, NGX_MAIL_QUEUE_EXT_SIZE },
    { "8BITMIME", 8, NGX_MAIL_QUEUE_EXT_8BITMIME },
    { "SMTPUTF8", 8, NGX_MAIL_QUEUE_EXT_SMTPUTF8 },
    { "DSN", 3, NGX_MAIL_QUEUE_EXT_DSN },
    { "STARTTLS", 8, NGX_MAIL_QUEUE_EXT_STARTTLS },
    { "AUTH", 4, NGX_MAIL_QUEUE_EXT_AUTH },
    { "ENHANCEDSTATUSCODES", 19, NGX_MAIL_QUEUE_EXT_ENHANCEDSTATUSCODES },
    { "CHUNKING", 8, NGX_MAIL_QUEUE_EXT_CHUNKING },
    { "BINARYMIME", 10, NGX_MAIL_QUEUE_EXT_BINARYMIME },
    { NULL, 0, 0 }
};


static const ngx_mail_queue_keyword_t  ngx_mail_queue_auth_mechs[] = {
    { "PLAIN", 5, NGX_MAIL_QUEUE_AUTH_PLAIN },
    { "LOGIN", 5, NGX_MAIL_QUEUE_AUTH_LOGIN },
    { "CRAM-MD5", 8, NGX_MAIL_QUEUE_AUTH_CRAM_MD5 },
    { "SCRAM-SHA-1", 11, NGX_MAIL_QUEUE_AUTH_SCRAM_SHA_1 },
    { "SCRAM-SHA-256", 13, NGX_MAIL_QUEUE_AUTH_SCRAM_SHA_256 },
    { "XOAUTH2", 7, NGX_MAIL_QUEUE_AUTH_XOAUTH2 },
    { "EXTERNAL", 8, NGX_MAIL_QUEUE_AUTH_EXTERNAL },
    { NULL, 0, 0 }
};


static const char  *ngx_mail_queue_reply_errors[] = {
    "no error",
    "reply code is not three digits 2-5, 0-5, 0-9",
    "reply code not followed by space, hyphen or line end",
    "reply code differs between the lines of a reply",
    "NUL in reply",
    "CR not followed by LF in reply",
    "reply line too long",
    "too many lines in reply",
    "reply too long"
};


void
ngx_mail_queue_reply_init(ngx_mail_queue_reply_t *r, unsigned flags)
{
    /* the buffers need no clearing: only what was written is read */
    memset(r, 0, offsetof(ngx_mail_queue_reply_t, line));

    r->flags = flags;
    r->state = sw_code1;
    r->text.data = r->text_buf;
    r->enhanced.data = r->enhanced_buf;
}


int
ngx_mail_queue_reply_parse(ngx_mail_queue_reply_t *r,
    const unsigned char *in, size_t len, size_t *consumed)
{
    int     rc;
    size_t  i;

    if (r->done) {
        *consumed = 0;
        return NGX_MAIL_QUEUE_PARSE_OK;
    }

    if (r->error != NGX_MAIL_QUEUE_REPLY_ERR_NONE) {
        *consumed = 0;
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    for (i = 0; i < len; i++) {
        rc = ngx_mail_queue_reply_octet(r, in[i]);

        if (rc == NGX_MAIL_QUEUE_PARSE_AGAIN) {
            continue;
        }

        *consumed = i + 1;
        return rc;
    }

    *consumed = len;

    return NGX_MAIL_QUEUE_PARSE_AGAIN;
}


/* PARSE_AGAIN: the octet was taken; OK: it ended the reply; or ERROR */

static int
ngx_mail_queue_reply_octet(ngx_mail_queue_reply_t *r, unsigned ch)
{
    unsigned  code;

    if (++r->bytes > NGX_MAIL_QUEUE_REPLY_BYTES_MAX) {
        r->error = NGX_MAIL_QUEUE_REPLY_ERR_TOO_LONG;
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    if (r->line_bytes == 0 && r->lines == NGX_MAIL_QUEUE_REPLY_LINES_MAX) {
        r->error = NGX_MAIL_QUEUE_REPLY_ERR_TOO_MANY_LINES;
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    if (++r->line_bytes > NGX_MAIL_QUEUE_REPLY_LINE_MAX) {
        r->error = NGX_MAIL_QUEUE_REPLY_ERR_LINE_TOO_LONG;
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    /* a NUL is named as such wherever it is: it is what a log reader
     * needs to know about a peer sending binary garbage */
    if (ch == '\0') {
        r->error = NGX_MAIL_QUEUE_REPLY_ERR_NUL;
        return NGX_MAIL_QUEUE_PARSE_ERROR;
    }

    switch (r->state) {

    /* RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39 */

    case sw_code1:
        if (ch < '2' || ch > '5') {
            r->error = NGX_MAIL_QUEUE_REPLY_ERR_CODE;
            return NGX_MAIL_QUEUE_PARSE_ERROR;
        }

        r->line_code = (ch - '0') * 100;
        r->state = sw_code2;
        return NGX_MAIL_QUEUE_PARSE_AGAIN;

    case sw_code2:
        if (ch < '0' || ch > '5') {
            r->error = NGX_MAIL_QUEUE_REPLY_ERR_CODE;
            return NGX_MAIL_QUEUE_PARSE_ERROR;
        }

        r->line_code += (ch - '0') * 10;
        r->state = sw_code3;
        return NGX_MAIL_QUEUE_PARSE_AGAIN;

    case sw_code3:
        if (ch < '0' || ch > '9') {
            r->error = NGX_MAIL_QUEUE_REPLY_ERR_CODE;
            return NGX_MAIL_QUEUE_PARSE_ERROR;
        }

        code = r->line_code + (ch - '0');

        /* RFC 5321 4.2.1: every line of a multiline reply has the code */
        if (r->lines > 0 && code != r->code) {
            r->error = NGX_MAIL_QUEUE_REPLY_ERR_INCONSISTENT;
            return NGX_MAIL_QUEUE_PARSE_ERROR;
        }

        r->code = code;
        r->state = sw_separator;
        return NGX_MAIL_QUEUE_PARSE_AGAIN;

    case sw_separator:
        switch (ch) {

        case ' ':
            r->last = 1;
            r->state = sw_text;
            return NGX_MAIL_QUEUE_PARSE_AGAIN;

        case '-':
            r->last = 0;
            r->state = sw_text;
            return NGX_MAIL_QUEUE_PARSE_AGAIN;

        /* RFC 5321 4.2: the text is optional on the last line */
        case '\r':
            r->last = 1;
            r->state = sw_almost_done;
            return NGX_MAIL_QUEUE_PARSE_AGAIN;

        case '\n':
            r->last = 1;
            return ngx_mail_queue_reply_line(r);

        default:
            r->error = NGX_MAIL_QUEUE_REPLY_ERR_SEPARATOR;
            return NGX_MAIL_QUEUE_PARSE_ERROR;
        }

    case sw_text:
        switch (ch) {

        case '\r':
            r->state = sw_almost_done;
            return NGX_MAIL_QUEUE_PARSE_AGAIN;

        case '\n':
            return ngx_mail_queue_reply_line(r);

        default:
            /* line_bytes bounds line_len: no check needed here */
            r->line[r->line_len++] = (unsigned char) ch;
            return NGX_MAIL_QUEUE_PARSE_AGAIN;
        }

    default: /* sw_almost_done */
        if (ch != '\n') {
            r->error = NGX_MAIL_QUEUE_REPLY_ERR_BARE_CR;
            return NGX_MAIL_QUEUE_PARSE_ERROR;
        }

        return ngx_mail_queue_reply_line(r);
    }
}


/* a line's LF has been read: its text is line[0 .. line_len - 1] */

static int
ngx_mail_queue_reply_line(ngx_mail_queue_reply_t *r)
{
    const unsigned char  *p, *end;

    p = r->line;
    end = r->line + r->line_len;

    if (r->flags & NGX_MAIL_QUEUE_REPLY_EHLO) {
        /* the first line is the server's name and greeting */
        if (r->lines > 0) {
            ngx_mail_queue_reply_ehlo(r, p, end);
        }

    } else {
        p = ngx_mail_queue_reply_enhanced(r, p, end);
    }

    ngx_mail_queue_reply_text(r, p, end);

    r->lines++;
    r->line_bytes = 0;
    r->line_len = 0;
    r->state = sw_code1;

    if (!r->last) {
        return NGX_MAIL_QUEUE_PARSE_AGAIN;
    }

    r->done = 1;

    /* RFC 5321 4.1.1.1: only a positive reply announces extensions */
    if (r->code != 250) {
        r->extensions = 0;
        r->auth = 0;
        r->size = 0;
    }

    return NGX_MAIL_QUEUE_PARSE_OK;
}


/*
 * RFC 3463 2: status-code = class "." subject "." detail, class 2, 4 or
 * 5, subject and detail 1 to 3 digits; RFC 2034 4 puts it first in the
 * text, followed by SP.  A code whose class contradicts the reply code
 * is the server's text, not a status: it is left in the text.  Returns
 * where the text after the code begins.
 */

static const unsigned char *
ngx_mail_queue_reply_enhanced(ngx_mail_queue_reply_t *r,
    const unsigned char *p, const unsigned char *end)
{
    unsigned              part[3], digits, i;
    const unsigned char  *q;

    q = p;

    /* RFC 3463 3.1: there is no class 3 */
    if (q == end || r->code / 100 == 3 || *q - '0' != (int) (r->code / 100)) {
        return p;
    }

    part[0] = *q++ - '0';

    for (i = 1; i < 3; i++) {
        if (q == end || *q++ != '.') {
            return p;
        }

        part[i] = 0;

        for (digits = 0; q < end && *q >= '0' && *q <= '9'; digits++) {
            if (digits == 3) {
                return p;
            }

            part[i] = part[i] * 10 + (*q++ - '0');
        }

        if (digits == 0) {
            return p;
        }
    }

    if (q < end && *q != ' ') {
        return p;
    }

    if (r->lines == 0) {
        r->has_enhanced = 1;
        r->enhanced_class = part[0];
        r->enhanced_subject = part[1];
        r->enhanced_detail = part[2];
        r->enhanced.len = snprintf((char *) r->enhanced_buf,
                                   NGX_MAIL_QUEUE_STATUS_LEN, "%u.%u.%u",
                                   part[0], part[1], part[2]);
    }

    return (q < end) ? q + 1 : q;
}


static void
ngx_mail_queue_reply_text(ngx_mail_queue_reply_t *r, const unsigned char *p,
    const unsigned char *end)
{
    unsigned  ch;

    if (r->text.len > 0 && p < end) {
        if (r->text.len == NGX_MAIL_QUEUE_REPLY_TEXT_MAX) {
            r->text_truncated = 1;
            return;
        }

        r->text_buf[r->text.len++] = ' ';
    }

    for ( /* void */ ; p < end; p++) {
        if (r->text.len == NGX_MAIL_QUEUE_REPLY_TEXT_MAX) {
            r->text_truncated = 1;
            return;
        }

        ch = *p;

        /* HT is text (RFC 5321 4.2); other controls would reach logs
         * and bounces: shown as "?", as Postfix shows them */
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            ch = '?';
        }

        r->text_buf[r->text.len++] = (unsigned char) ch;
    }
}


/*
 * RFC 5321 4.1.1.1: ehlo-line = ehlo-keyword *( SP ehlo-param ).  The
 * keyword may also end with "=": old servers announce "AUTH=LOGIN" for
 * clients that predate RFC 4954, often next to a proper AUTH line.
 * Unknown keywords are ignored, as RFC 5321 says a client must.
 */

static void
ngx_mail_queue_reply_ehlo(ngx_mail_queue_reply_t *r, const unsigned char *p,
    const unsigned char *end)
{
    unsigned              bit;
    const unsigned char  *keyword;

    keyword = p;

    while (p < end && *p != ' ' && *p != '\t' && *p != '=') {
        p++;
    }

    bit = ngx_mail_queue_reply_lookup(ngx_mail_queue_ehlo_keywords, keyword,
                                      p - keyword);
    if (bit == 0) {
        return;
    }

    r->extensions |= bit;

    if (p < end) {
        p++;
    }

    if (bit == NGX_MAIL_QUEUE_EXT_SIZE) {
        ngx_mail_queue_reply_ehlo_size(r, p, end);

    } else if (bit == NGX_MAIL_QUEUE_EXT_AUTH) {
        ngx_mail_queue_reply_ehlo_auth(r, p, end);
    }
}


/*
 * RFC 1870 4: "SIZE" alone, or "SIZE 0", means no fixed limit.  A value
 * that is not a number, or does not fit in 64 bits, is treated alike:
 * the server will say 552 if the message is too big after all.
 */

static void
ngx_mail_queue_reply_ehlo_size(ngx_mail_queue_reply_t *r,
    const unsigned char *p, const unsigned char *end)
{
    uint64_t  size;

    size = 0;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (p == end) {
        r->size = 0;
        return;
    }

    for ( /* void */ ; p < end && *p != ' ' && *p != '\t'; p++) {
        if (*p < '0' || *p > '9'
            || size > (UINT64_MAX - (*p - '0')) / 10)
        {
            r->size = 0;
            return;
        }

        size = size * 10 + (*p - '0');
    }

    r->size = size;
}


static void
ngx_mail_queue_reply_ehlo_auth(ngx_mail_queue_reply_t *r,
    const unsigned char *p, const unsigned char *end)
{
    const unsigned char  *mech;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        mech = p;

        while (p < end && *p != ' ' && *p != '\t') {
            p++;
        }

        r->auth |= ngx_mail_queue_reply_lookup(ngx_mail_queue_auth_mechs,
                                               mech, p - mech);
    }
}


static unsigned
ngx_mail_queue_reply_lookup(const ngx_mail_queue_keyword_t *kw,
    const unsigned char *p, size_t len)
{
    size_t    i;
    unsigned  ch;

    for ( /* void */ ; kw->name; kw++) {
        if (kw->len != len) {
            continue;
        }

        for (i = 0; i < len; i++) {
            ch = p[i];

            if (ch >= 'a' && ch <= 'z') {
                ch -= 'a' - 'A';
            }

            if (ch != (unsigned char) kw->name[i]) {
                break;
            }
        }

        if (i == len) {
            return kw->bit;
        }
    }

    return 0;
}


const char *
ngx_mail_queue_reply_strerror(ngx_mail_queue_reply_error_e err)
{
    if ((size_t) err >= sizeof(ngx_mail_queue_reply_errors)
                        / sizeof(ngx_mail_queue_reply_errors[0]))
    {
        return "unknown error";
    }

    return ngx_mail_queue_reply_errors[err];
}


size_t
ngx_mail_queue_reply_status(const ngx_mail_queue_reply_t *r, char *buf)
{
    if (r->has_enhanced) {
        memcpy(buf, r->enhanced.data, r->enhanced.len);
        buf[r->enhanced.len] = '\0';
        return r->enhanced.len;
    }

    return snprintf(buf, NGX_MAIL_QUEUE_STATUS_LEN, "%u.0.0", r->code / 100);
}
