
/*
 * 8BITMIME to 7 bit: a walk over the MIME structure that copies what is
 * already 7 bit and encodes the rest.  The same walk counts (out NULL)
 * for ngx_mail_queue_downgrade_size() and writes for
 * ngx_mail_queue_downgrade(), so the two cannot disagree.
 *
 * Only what the conversion needs is parsed: the header's fields, to
 * find Content-Type, Content-Transfer-Encoding and MIME-Version, and a
 * multipart's delimiter lines.  Everything is bounded by the entity
 * being looked at, an [start, end) range of the message.
 */

#include <string.h>

#include "ngx_mail_queue_downgrade.h"


/*
 * A quoted boundary with quoted-pairs or folds is copied unquoted: into
 * this many octets, which the 70 of RFC 2046 5.1.1 fit with room.
 */
#define NGX_MAIL_QUEUE_DOWNGRADE_QUOTED  256

/* RFC 2045 6.7 (5): encoded lines of at most 76 characters */
#define NGX_MAIL_QUEUE_QP_LINE  76


typedef enum {
    NGX_MAIL_QUEUE_CTE_NONE = 0,
    NGX_MAIL_QUEUE_CTE_7BIT,
    NGX_MAIL_QUEUE_CTE_8BIT,
    NGX_MAIL_QUEUE_CTE_BINARY,
    NGX_MAIL_QUEUE_CTE_QP,
    NGX_MAIL_QUEUE_CTE_BASE64,
    NGX_MAIL_QUEUE_CTE_OTHER
} ngx_mail_queue_cte_e;


typedef enum {
    NGX_MAIL_QUEUE_PART_LEAF = 0,
    NGX_MAIL_QUEUE_PART_MULTIPART,
    NGX_MAIL_QUEUE_PART_DIGEST,       /* multipart/digest */
    NGX_MAIL_QUEUE_PART_RFC822,       /* message/rfc822 */
    NGX_MAIL_QUEUE_PART_MESSAGE       /* another message/ */
} ngx_mail_queue_part_e;


typedef struct {
    unsigned char              *out;       /* NULL: count only */
    size_t                      len;
} ngx_mail_queue_downgrade_t;


/* what an entity's header says */
typedef struct {
    const unsigned char        *body;       /* after the blank line */
    int                         has_body;   /* there is a blank line */
    int                         has_8bit;
    int                         mime_version;
    int                         content_type;  /* a field was seen */
    ngx_mail_queue_part_e       type;
    ngx_mail_queue_cte_e        cte;
    const unsigned char        *boundary;
    size_t                      boundary_len;
    unsigned char               boundary_buf[NGX_MAIL_QUEUE_DOWNGRADE_QUOTED];
} ngx_mail_queue_header_t;


static int ngx_mail_queue_downgrade_entity(ngx_mail_queue_downgrade_t *d,
    const unsigned char *p, const unsigned char *end, unsigned depth,
    int message, int digest);
static int ngx_mail_queue_downgrade_multipart(ngx_mail_queue_downgrade_t *d,
    ngx_mail_queue_header_t *h, const unsigned char *end, unsigned depth);
static const unsigned char *ngx_mail_queue_downgrade_delimiter(
    ngx_mail_queue_header_t *h, const unsigned char *p,
    const unsigned char *end, const unsigned char **next, int *close);
static void ngx_mail_queue_downgrade_header(ngx_mail_queue_header_t *h,
    const unsigned char *p, const unsigned char *end, int digest);
static void ngx_mail_queue_downgrade_field(ngx_mail_queue_header_t *h,
    const unsigned char *p, const unsigned char *end);
static void ngx_mail_queue_downgrade_type(ngx_mail_queue_header_t *h,
    const unsigned char *p, const unsigned char *end);
static void ngx_mail_queue_downgrade_params(ngx_mail_queue_header_t *h,
    const unsigned char *p, const unsigned char *end);
static const unsigned char *ngx_mail_queue_downgrade_quoted_end(
    const unsigned char *p, const unsigned char *end);
static void ngx_mail_queue_downgrade_boundary(ngx_mail_queue_header_t *h,
    const unsigned char *p, const unsigned char *end, int quoted);
static void ngx_mail_queue_downgrade_cte(ngx_mail_queue_header_t *h,
    const unsigned char *p, const unsigned char *end);
static void ngx_mail_queue_downgrade_copy_header(
    ngx_mail_queue_downgrade_t *d, const unsigned char *p,
    const unsigned char *end, const char *cte, int mime_version);
static void ngx_mail_queue_downgrade_qp(ngx_mail_queue_downgrade_t *d,
    const unsigned char *p, const unsigned char *end);
static void ngx_mail_queue_downgrade_ignored(ngx_mail_queue_downgrade_t *d,
    const unsigned char *p, const unsigned char *end);
static void ngx_mail_queue_downgrade_put(ngx_mail_queue_downgrade_t *d,
    const void *p, size_t n);
static const unsigned char *ngx_mail_queue_downgrade_line_end(
    const unsigned char *p, const unsigned char *end);
static const unsigned char *ngx_mail_queue_downgrade_field_end(
    const unsigned char *p, const unsigned char *end);
static const unsigned char *ngx_mail_queue_downgrade_cfws(
    const unsigned char *p, const unsigned char *end);
static const unsigned char *ngx_mail_queue_downgrade_token(
    const unsigned char *p, const unsigned char *end);
static int ngx_mail_queue_downgrade_is(const unsigned char *p, size_t len,
    const char *name);
static int ngx_mail_queue_downgrade_name(const unsigned char *p,
    const unsigned char *end, const char *name);


int
ngx_mail_queue_is_8bit(const unsigned char *msg, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (msg[i] >= 0x80 || msg[i] == '\0') {
            return 1;
        }
    }

    return 0;
}


size_t
ngx_mail_queue_downgrade_size(const unsigned char *msg, size_t len)
{
    ngx_mail_queue_downgrade_t  d;

    d.out = NULL;
    d.len = 0;

    if (ngx_mail_queue_downgrade_entity(&d, msg, msg + len, 0, 1, 0) != 0) {
        return 0;
    }

    return d.len;
}


size_t
ngx_mail_queue_downgrade(const unsigned char *msg, size_t len,
    unsigned char *out)
{
    ngx_mail_queue_downgrade_t  d;

    /*
     * A message found unconvertible half way would have been written
     * half way, and the caller's buffer, sized by a size() that said 0,
     * has no room for that: the walk is made dry first.
     */

    d.out = NULL;
    d.len = 0;

    if (ngx_mail_queue_downgrade_entity(&d, msg, msg + len, 0, 1, 0) != 0) {
        return (size_t) -1;
    }

    d.out = out;
    d.len = 0;

    (void) ngx_mail_queue_downgrade_entity(&d, msg, msg + len, 0, 1, 0);

    return d.len;
}


/*
 * One entity, its header and its body: 0, or -1 if not convertible.
 * "message": it is a message (the whole, or a message/rfc822 body), not
 * a body part; "digest": it is a part of a multipart/digest.
 */

static int
ngx_mail_queue_downgrade_entity(ngx_mail_queue_downgrade_t *d,
    const unsigned char *p, const unsigned char *end, unsigned depth,
    int message, int digest)
{
    ngx_mail_queue_header_t  h;

    if (depth > NGX_MAIL_QUEUE_DOWNGRADE_DEPTH) {
        return -1;
    }

    ngx_mail_queue_downgrade_header(&h, p, end, digest);

    /* RFC 6152 3 leaves 8-bit headers to SMTPUTF8 */
    if (h.has_8bit) {
        return -1;
    }

    if (!h.has_body || !ngx_mail_queue_is_8bit(h.body, end - h.body)) {
        ngx_mail_queue_downgrade_put(d, p, end - p);
        return 0;
    }

    switch (h.type) {

    case NGX_MAIL_QUEUE_PART_MULTIPART:
    case NGX_MAIL_QUEUE_PART_DIGEST:
    case NGX_MAIL_QUEUE_PART_RFC822:
        /* RFC 2045 6.4: a composite type is never encoded */
        if (h.cte > NGX_MAIL_QUEUE_CTE_BINARY) {
            return -1;
        }

        ngx_mail_queue_downgrade_copy_header(d, p, h.body,
            h.cte == NGX_MAIL_QUEUE_CTE_NONE
            || h.cte == NGX_MAIL_QUEUE_CTE_7BIT ? NULL : "7bit", 1);

        if (h.type == NGX_MAIL_QUEUE_PART_RFC822) {
            return ngx_mail_queue_downgrade_entity(d, h.body, end, depth + 1,
                                                   1, 0);
        }

        return ngx_mail_queue_downgrade_multipart(d, &h, end, depth);

    case NGX_MAIL_QUEUE_PART_MESSAGE:
        return -1;

    default: /* NGX_MAIL_QUEUE_PART_LEAF */
        if (h.cte > NGX_MAIL_QUEUE_CTE_BINARY) {
            return -1;
        }

        /*
         * RFC 2045 4: without MIME-Version the new field would not be
         * read as MIME; a message's header needs it, a body part's not.
         */
        ngx_mail_queue_downgrade_copy_header(d, p, h.body,
                                             "quoted-printable",
                                             h.mime_version || !message);
        ngx_mail_queue_downgrade_qp(d, h.body, end);
        return 0;
    }
}


/*
 * RFC 2046 5.1.1: the body parts between delimiter lines, each walked
 * into; the CRLF before a delimiter line belongs to it.  What is around
 * them is copied, the preamble and the epilogue made 7 bit.
 */

static int
ngx_mail_queue_downgrade_multipart(ngx_mail_queue_downgrade_t *d,
    ngx_mail_queue_header_t *h, const unsigned char *end, unsigned depth)
{
    int                   close;
    const unsigned char  *copied, *part, *part_end, *next;

    copied = h->body;
    close = 0;
    next = NULL;

    part_end = ngx_mail_queue_downgrade_delimiter(h, h->body, end, &part,
                                                  &close);

    /* without a delimiter there is no part to make 7 bit: a broken body */
    if (part_end == NULL) {
        return -1;
    }

    while (part_end != NULL && !close) {
        ngx_mail_queue_downgrade_ignored(d, copied, part);

        part_end = ngx_mail_queue_downgrade_delimiter(h, part, end, &next,
                                                      &close);

        if (ngx_mail_queue_downgrade_entity(d, part,
                                            part_end ? part_end : end,
                                            depth + 1, 0,
                                            h->type
                                            == NGX_MAIL_QUEUE_PART_DIGEST)
            != 0)
        {
            return -1;
        }

        copied = part_end ? part_end : end;
        part = next;
    }

    ngx_mail_queue_downgrade_ignored(d, copied, end);

    return 0;
}


/*
 * The next delimiter line at or after p: a line that begins with "--"
 * and the boundary.  RFC 2046 5.1.1 has the rest of the line be white
 * space, but tells implementors that the boundary at the line's start
 * suffices, as parsers have it: so it is here, for the parts seen to
 * be the parts a reader sees.  Returns where the content before it ends
 * (before the line end that precedes it, or p itself), *next where the
 * following part begins, *close for the close delimiter.  NULL when
 * there is none.
 */

static const unsigned char *
ngx_mail_queue_downgrade_delimiter(ngx_mail_queue_header_t *h,
    const unsigned char *p, const unsigned char *end,
    const unsigned char **next, int *close)
{
    size_t                len;
    const unsigned char  *line, *q, *content_end;

    len = h->boundary_len;

    for (line = p; line < end;
         line = ngx_mail_queue_downgrade_line_end(line, end))
    {
        if ((size_t) (end - line) < len + 2 || line[0] != '-'
            || line[1] != '-' || memcmp(line + 2, h->boundary, len) != 0)
        {
            continue;
        }

        q = line + len + 2;

        if (end - q >= 2 && q[0] == '-' && q[1] == '-') {
            *close = 1;
            *next = end;

        } else {
            *close = 0;
            *next = ngx_mail_queue_downgrade_line_end(q, end);
        }

        content_end = line;

        if (content_end > p && content_end[-1] == '\n') {
            content_end--;

            if (content_end > p && content_end[-1] == '\r') {
                content_end--;
            }
        }

        return content_end;
    }

    return NULL;
}


/* the header's fields: where it ends and what the conversion needs */

static void
ngx_mail_queue_downgrade_header(ngx_mail_queue_header_t *h,
    const unsigned char *p, const unsigned char *end, int digest)
{
    const unsigned char  *field_end;

    memset(h, 0, sizeof(ngx_mail_queue_header_t));

    /* RFC 2046 5.1.5: in a digest, a part is a message by default */
    h->type = digest ? NGX_MAIL_QUEUE_PART_RFC822 : NGX_MAIL_QUEUE_PART_LEAF;
    h->body = end;

    while (p < end) {
        if (*p == '\n' || (*p == '\r' && end - p >= 2 && p[1] == '\n')) {
            h->body = p + (*p == '\r' ? 2 : 1);
            h->has_body = 1;
            return;
        }

        field_end = ngx_mail_queue_downgrade_field_end(p, end);

        if (ngx_mail_queue_is_8bit(p, field_end - p)) {
            h->has_8bit = 1;
        }

        ngx_mail_queue_downgrade_field(h, p, field_end);

        p = field_end;
    }
}


static void
ngx_mail_queue_downgrade_field(ngx_mail_queue_header_t *h,
    const unsigned char *p, const unsigned char *end)
{
    const unsigned char  *colon;

    colon = memchr(p, ':', end - p);

    if (colon == NULL) {
        return;
    }

    if (ngx_mail_queue_downgrade_name(p, colon, "content-type")) {
        /* the first one counts, as in the MIME library */
        if (!h->content_type) {
            h->content_type = 1;
            ngx_mail_queue_downgrade_type(h, colon + 1, end);
        }

    } else if (ngx_mail_queue_downgrade_name(p, colon,
                                             "content-transfer-encoding"))
    {
        if (h->cte == NGX_MAIL_QUEUE_CTE_NONE) {
            ngx_mail_queue_downgrade_cte(h, colon + 1, end);
        }

    } else if (ngx_mail_queue_downgrade_name(p, colon, "mime-version")) {
        h->mime_version = 1;
    }
}


/*
 * RFC 2045 5.1: type "/" subtype *(";" parameter).  A field with a
 * type, even one without subtype, names the part's type, as in the
 * MIME library: an IMAP client is shown the same tree that is
 * converted here.
 */

static void
ngx_mail_queue_downgrade_type(ngx_mail_queue_header_t *h,
    const unsigned char *p, const unsigned char *end)
{
    const unsigned char  *type, *type_end, *subtype, *subtype_end;

    type = ngx_mail_queue_downgrade_cfws(p, end);
    type_end = ngx_mail_queue_downgrade_token(type, end);

    if (type == type_end) {
        return;
    }

    h->type = NGX_MAIL_QUEUE_PART_LEAF;

    p = ngx_mail_queue_downgrade_cfws(type_end, end);
    subtype = p;
    subtype_end = p;

    if (p < end && *p == '/') {
        subtype = ngx_mail_queue_downgrade_cfws(p + 1, end);
        subtype_end = ngx_mail_queue_downgrade_token(subtype, end);
    }

    if (ngx_mail_queue_downgrade_is(type, type_end - type, "multipart")) {
        h->type = ngx_mail_queue_downgrade_is(subtype, subtype_end - subtype,
                                              "digest")
                  ? NGX_MAIL_QUEUE_PART_DIGEST
                  : NGX_MAIL_QUEUE_PART_MULTIPART;

        ngx_mail_queue_downgrade_params(h, subtype_end, end);

        /* RFC 2046 5.1.1: the boundary parameter is mandatory */
        if (h->boundary == NULL) {
            h->type = NGX_MAIL_QUEUE_PART_LEAF;
        }

        return;
    }

    if (ngx_mail_queue_downgrade_is(type, type_end - type, "message")) {
        h->type = ngx_mail_queue_downgrade_is(subtype, subtype_end - subtype,
                                              "rfc822")
                  ? NGX_MAIL_QUEUE_PART_RFC822
                  : NGX_MAIL_QUEUE_PART_MESSAGE;
    }
}


/* the boundary among the parameters */

static void
ngx_mail_queue_downgrade_params(ngx_mail_queue_header_t *h,
    const unsigned char *p, const unsigned char *end)
{
    int                   quoted;
    const unsigned char  *name, *name_end, *value, *value_end;

    for ( ;; ) {
        p = ngx_mail_queue_downgrade_cfws(p, end);

        if (p == end || *p != ';') {
            return;
        }

        name = ngx_mail_queue_downgrade_cfws(p + 1, end);
        name_end = ngx_mail_queue_downgrade_token(name, end);
        p = ngx_mail_queue_downgrade_cfws(name_end, end);

        if (p == end || *p != '=') {
            return;
        }

        p = ngx_mail_queue_downgrade_cfws(p + 1, end);

        quoted = (p < end && *p == '"');

        if (quoted) {
            value = p + 1;
            value_end = ngx_mail_queue_downgrade_quoted_end(value, end);
            p = (value_end < end) ? value_end + 1 : end;

        } else {
            value = p;
            value_end = ngx_mail_queue_downgrade_token(p, end);
            p = value_end;
        }

        if (ngx_mail_queue_downgrade_is(name, name_end - name, "boundary")) {
            ngx_mail_queue_downgrade_boundary(h, value, value_end, quoted);
            return;
        }
    }
}


/* the closing quote, or end: an unclosed string runs to the end */

static const unsigned char *
ngx_mail_queue_downgrade_quoted_end(const unsigned char *p,
    const unsigned char *end)
{
    for ( /* void */ ; p < end && *p != '"'; p++) {
        if (*p == '\\' && p + 1 < end) {
            p++;
        }
    }

    return p;
}


/*
 * RFC 5322 3.2.4: a quoted value without its quoted-pairs' backslashes
 * and its folds' line ends.  Only when there are some is it copied,
 * and then only when it fits; else the part has no boundary.
 */

static void
ngx_mail_queue_downgrade_boundary(ngx_mail_queue_header_t *h,
    const unsigned char *p, const unsigned char *end, int quoted)
{
    size_t  n;

    if (p == end) {
        return;
    }

    h->boundary = p;
    h->boundary_len = end - p;

    if (!quoted
        || (memchr(p, '\\', end - p) == NULL
            && memchr(p, '\r', end - p) == NULL
            && memchr(p, '\n', end - p) == NULL))
    {
        return;
    }

    for (n = 0; p < end; p++) {
        if (*p == '\\' && p + 1 < end) {
            p++;

        } else if (*p == '\r' || *p == '\n') {
            continue;
        }

        if (n == NGX_MAIL_QUEUE_DOWNGRADE_QUOTED) {
            h->boundary = NULL;
            return;
        }

        h->boundary_buf[n++] = *p;
    }

    h->boundary = (n > 0) ? h->boundary_buf : NULL;
    h->boundary_len = n;
}


static void
ngx_mail_queue_downgrade_cte(ngx_mail_queue_header_t *h,
    const unsigned char *p, const unsigned char *end)
{
    size_t                len;
    const unsigned char  *token;

    token = ngx_mail_queue_downgrade_cfws(p, end);
    len = ngx_mail_queue_downgrade_token(token, end) - token;

    if (ngx_mail_queue_downgrade_is(token, len, "7bit")) {
        h->cte = NGX_MAIL_QUEUE_CTE_7BIT;

    } else if (ngx_mail_queue_downgrade_is(token, len, "8bit")) {
        h->cte = NGX_MAIL_QUEUE_CTE_8BIT;

    } else if (ngx_mail_queue_downgrade_is(token, len, "binary")) {
        h->cte = NGX_MAIL_QUEUE_CTE_BINARY;

    } else if (ngx_mail_queue_downgrade_is(token, len, "quoted-printable")) {
        h->cte = NGX_MAIL_QUEUE_CTE_QP;

    } else if (ngx_mail_queue_downgrade_is(token, len, "base64")) {
        h->cte = NGX_MAIL_QUEUE_CTE_BASE64;

    } else {
        h->cte = NGX_MAIL_QUEUE_CTE_OTHER;
    }
}


/*
 * The header [p, body): its fields copied, but when "cte" is given
 * every Content-Transfer-Encoding field is left out and one with "cte"
 * is added before the blank line, after a MIME-Version field if the
 * header has none and !mime_version.
 */

static void
ngx_mail_queue_downgrade_copy_header(ngx_mail_queue_downgrade_t *d,
    const unsigned char *p, const unsigned char *body, const char *cte,
    int mime_version)
{
    const unsigned char  *field_end, *colon;

    if (cte == NULL) {
        ngx_mail_queue_downgrade_put(d, p, body - p);
        return;
    }

    while (p < body) {
        if (*p == '\n' || (*p == '\r' && body - p >= 2 && p[1] == '\n')) {
            break;   /* the blank line */
        }

        field_end = ngx_mail_queue_downgrade_field_end(p, body);
        colon = memchr(p, ':', field_end - p);

        if (colon == NULL
            || !ngx_mail_queue_downgrade_name(p, colon,
                                              "content-transfer-encoding"))
        {
            ngx_mail_queue_downgrade_put(d, p, field_end - p);
        }

        p = field_end;
    }

    if (!mime_version) {
        ngx_mail_queue_downgrade_put(d, "MIME-Version: 1.0\r\n", 19);
    }

    ngx_mail_queue_downgrade_put(d, "Content-Transfer-Encoding: ", 27);
    ngx_mail_queue_downgrade_put(d, cte, strlen(cte));
    ngx_mail_queue_downgrade_put(d, "\r\n", 2);

    ngx_mail_queue_downgrade_put(d, p, body - p);
}


/*
 * RFC 2045 6.7: "=" and what is not printable ASCII as "=XX", a space
 * or tab before a line end too (rule 3); a line end, CRLF or a bare LF,
 * is a line break (rule 4); longer lines are broken with "=" (rule 5).
 * A "-" beginning a line is encoded as well, so that no line of the
 * result can be taken for a delimiter of an enclosing multipart, even
 * where rule 5 broke a line.
 */

static void
ngx_mail_queue_downgrade_qp(ngx_mail_queue_downgrade_t *d,
    const unsigned char *p, const unsigned char *end)
{
    int             literal, at_eol;
    size_t          col;
    unsigned        ch;
    unsigned char   enc[3];
    static const char  hex[] = "0123456789ABCDEF";

    col = 0;

    for ( /* void */ ; p < end; p++) {
        ch = *p;

        if (ch == '\n' || (ch == '\r' && end - p >= 2 && p[1] == '\n')) {
            p += (ch == '\r');
            ngx_mail_queue_downgrade_put(d, "\r\n", 2);
            col = 0;
            continue;
        }

        at_eol = (p + 1 == end || p[1] == '\n'
                  || (p[1] == '\r' && end - p >= 3 && p[2] == '\n'));

        literal = (ch >= 33 && ch <= 126 && ch != '=')
                  || ((ch == ' ' || ch == '\t') && !at_eol);

        /* the soft break's "=" is the line's last character */
        if (col + (literal ? 1 : 3) > NGX_MAIL_QUEUE_QP_LINE - 1) {
            ngx_mail_queue_downgrade_put(d, "=\r\n", 3);
            col = 0;
        }

        if (col == 0 && ch == '-') {
            literal = 0;
        }

        if (literal) {
            ngx_mail_queue_downgrade_put(d, p, 1);
            col++;
            continue;
        }

        enc[0] = '=';
        enc[1] = hex[ch >> 4];
        enc[2] = hex[ch & 0x0f];

        ngx_mail_queue_downgrade_put(d, enc, 3);
        col += 3;
    }
}


/* a preamble or epilogue: 8-bit octets and NUL shown as "?" */

static void
ngx_mail_queue_downgrade_ignored(ngx_mail_queue_downgrade_t *d,
    const unsigned char *p, const unsigned char *end)
{
    for ( /* void */ ; p < end; p++) {
        if (*p >= 0x80 || *p == '\0') {
            ngx_mail_queue_downgrade_put(d, "?", 1);

        } else {
            ngx_mail_queue_downgrade_put(d, p, 1);
        }
    }
}


static void
ngx_mail_queue_downgrade_put(ngx_mail_queue_downgrade_t *d, const void *p,
    size_t n)
{
    if (d->out) {
        memcpy(d->out + d->len, p, n);
    }

    d->len += n;
}


/* after the line's LF, or end */

static const unsigned char *
ngx_mail_queue_downgrade_line_end(const unsigned char *p,
    const unsigned char *end)
{
    const unsigned char  *lf;

    lf = memchr(p, '\n', end - p);

    return lf ? lf + 1 : end;
}


/* a field with its folded lines (RFC 5322 2.2.3) */

static const unsigned char *
ngx_mail_queue_downgrade_field_end(const unsigned char *p,
    const unsigned char *end)
{
    do {
        p = ngx_mail_queue_downgrade_line_end(p, end);
    } while (p < end && (*p == ' ' || *p == '\t'));

    return p;
}


/* RFC 5322 3.2.2: white space, line ends of folds, comments */

static const unsigned char *
ngx_mail_queue_downgrade_cfws(const unsigned char *p,
    const unsigned char *end)
{
    unsigned  level;

    level = 0;

    for ( /* void */ ; p < end; p++) {
        switch (*p) {

        case ' ':
        case '\t':
        case '\r':
        case '\n':
            break;

        case '(':
            level++;
            break;

        case ')':
            if (level == 0) {
                return p;
            }

            level--;
            break;

        case '\\':
            if (level == 0) {
                return p;
            }

            if (p + 1 < end) {
                p++;
            }

            break;

        default:
            if (level == 0) {
                return p;
            }
        }
    }

    return p;
}


/* RFC 2045 5.1: token, anything but SP, CTLs and tspecials */

static const unsigned char *
ngx_mail_queue_downgrade_token(const unsigned char *p,
    const unsigned char *end)
{
    while (p < end && *p > ' ' && *p < 0x7f
           && strchr("()<>@,;:\\\"/[]?=", *p) == NULL)
    {
        p++;
    }

    return p;
}


static int
ngx_mail_queue_downgrade_is(const unsigned char *p, size_t len,
    const char *name)
{
    size_t    i;
    unsigned  ch;

    if (len != strlen(name)) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        ch = p[i];

        if (ch >= 'A' && ch <= 'Z') {
            ch |= 0x20;
        }

        if (ch != (unsigned char) name[i]) {
            return 0;
        }
    }

    return 1;
}


/* a field name before its colon, white space before the colon allowed */

static int
ngx_mail_queue_downgrade_name(const unsigned char *p,
    const unsigned char *end, const char *name)
{
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    return ngx_mail_queue_downgrade_is(p, end - p, name);
}
