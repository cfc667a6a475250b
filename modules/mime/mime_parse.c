
/*
 * The message parser: one pass over the message in memory, building a
 * tree of parts that holds only offsets into the caller's buffer.
 *
 * The scanner works line by line with memchr() and looks at a line for
 * boundaries only when it starts with "--", so each byte is visited a
 * constant number of times whatever the nesting (the boundary stack is
 * bounded by max_depth): time is linear in the message size.
 */

#include <string.h>

#include "mime.h"
#include "mime_internal.h"


typedef struct {
    const mime_uchar_t       *start;
    const mime_uchar_t       *end;
    const mime_uchar_t       *pos;       /* start of the current line */
    const mime_uchar_t       *after_delim;  /* end of the last boundary */
    size_t                    nlf;       /* LFs before pos */
    size_t                    nbare;     /* LFs without CR before pos */

    mime_message_t           *msg;
    const mime_allocator_t   *allocator;
    mime_limits_t             limits;

    mime_str_t               *bounds;
    unsigned                  nbounds;

    int                       hit;       /* boundary level at pos, or -1 */
    unsigned                  hit_close:1;
    unsigned                  failed:1;
} mime_parser_t;


static void mime_parse_entity(mime_parser_t *ctx, mime_part_t *part);


static mime_part_t *
mime_part_create(mime_parser_t *ctx, mime_part_t *parent, unsigned depth)
{
    mime_part_t  *part;

    part = mime_alloc(ctx->allocator, sizeof(mime_part_t));
    if (part == NULL) {
        ctx->failed = 1;
        return NULL;
    }

    memset(part, 0, sizeof(mime_part_t));
    part->parent = parent;
    part->depth = depth;
    ctx->msg->nparts++;

    return part;
}


static void
mime_parse_advance(mime_parser_t *ctx)
{
    const mime_uchar_t  *lf;

    lf = memchr(ctx->pos, '\n', ctx->end - ctx->pos);

    if (lf == NULL) {
        ctx->pos = ctx->end;
        return;
    }

    ctx->nlf++;

    if (lf == ctx->pos || lf[-1] != '\r') {
        ctx->nbare++;
    }

    ctx->pos = lf + 1;
}


/*
 * RFC 2046 5.1.1: a boundary line is "--" boundary, optionally "--",
 * then only whitespace.  Real mail puts junk after it, so like most
 * readers we match on the prefix; among nested boundaries that both
 * match we take the longest, so "--abc-1" is not taken for "--abc".
 */

static int
mime_parse_boundary(mime_parser_t *ctx)
{
    int                  level;
    size_t               avail, best;
    unsigned             i;
    const mime_uchar_t  *p;
    mime_str_t          *b;

    p = ctx->pos;
    avail = ctx->end - p;

    if (ctx->nbounds == 0 || avail < 3 || p[0] != '-' || p[1] != '-') {
        return 0;
    }

    level = -1;
    best = 0;

    for (i = ctx->nbounds; i-- > 0; /* void */) {
        b = &ctx->bounds[i];

        if (b->len + 2 <= avail && (level == -1 || b->len > best)
            && memcmp(p + 2, b->data, b->len) == 0)
        {
            level = (int) i;
            best = b->len;
        }
    }

    if (level == -1) {
        return 0;
    }

    ctx->hit = level;
    ctx->hit_close = (best + 4 <= avail && p[best + 2] == '-'
                      && p[best + 3] == '-');

    return 1;
}


static void
mime_parse_header_line(mime_parser_t *ctx, mime_part_t *part,
    const mime_uchar_t *line, const mime_uchar_t *next)
{
    const mime_uchar_t  *p, *colon, *eol;
    mime_header_t       *h;

    eol = next;

    if (eol > line && eol[-1] == '\n') {
        eol--;

        if (eol > line && eol[-1] == '\r') {
            eol--;
        }
    }

    for (p = line; p < eol; p++) {
        if (*p & 0x80) {
            part->flags |= MIME_PART_8BIT_HEADER;
            break;
        }
    }

    if ((*line == ' ' || *line == '\t') && part->last_header) {
        /* RFC 5322 2.2.3: a folded line continues the field */
        part->last_header->value_end = eol - ctx->start;
        part->last_header->end = next - ctx->start;
        return;
    }

    h = mime_alloc(ctx->allocator, sizeof(mime_header_t));
    if (h == NULL) {
        ctx->failed = 1;
        return;
    }

    colon = memchr(line, ':', eol - line);

    h->next = NULL;
    h->start = line - ctx->start;

    if (colon == NULL) {
        /* not a field: kept so that HEADER sections stay intact */
        h->name_len = 0;
        h->value_start = eol - ctx->start;

    } else {
        /* RFC 5322 4.5.3: obs-optional allows WSP before the colon */
        for (p = colon; p > line && (p[-1] == ' ' || p[-1] == '\t'); p--) {
            /* void */
        }

        h->name_len = p - line;

        for (p = colon + 1; p < eol && (*p == ' ' || *p == '\t'); p++) {
            /* void */
        }

        h->value_start = p - ctx->start;
    }

    h->value_end = eol - ctx->start;
    h->end = next - ctx->start;

    if (part->last_header) {
        part->last_header->next = h;

    } else {
        part->headers = h;
    }

    part->last_header = h;
    part->nheaders++;
}


/*
 * Sets the end of a header or body that stops at the line at ctx->pos;
 * "at_boundary" drops the line ending before it (RFC 2046 5.1.1: the
 * CRLF before a boundary belongs to the boundary).
 */

static size_t
mime_parse_span_end(mime_parser_t *ctx, size_t from, size_t lf_start,
    size_t bare_start, int at_boundary, size_t *lines, size_t *vsize)
{
    size_t               end, nlf, nbare;
    const mime_uchar_t  *p;

    p = ctx->pos;
    end = p - ctx->start;
    nlf = ctx->nlf;
    nbare = ctx->nbare;

    /*
     * The line end of a boundary line right before is that line's own,
     * not the one this boundary takes (Dovecot counts it so too).
     */

    if (at_boundary && p > ctx->start && p[-1] == '\n' && end > from
        && p != ctx->after_delim)
    {
        end--;
        nlf--;

        if (end > from && p[-2] == '\r') {
            end--;

        } else {
            nbare--;
        }
    }

    *lines = nlf - lf_start;
    *vsize = end - from + nbare - bare_start;

    return end;
}


static void
mime_parse_body_end(mime_parser_t *ctx, mime_part_t *part, size_t lf_start,
    size_t bare_start)
{
    part->body_end = mime_parse_span_end(ctx, part->body_start, lf_start,
                                         bare_start, ctx->hit >= 0,
                                         &part->body_lines,
                                         &part->body_vsize);
}


/* returns 1 when the header ended on a boundary line */

static int
mime_parse_headers(mime_parser_t *ctx, mime_part_t *part)
{
    int                  dropping;
    size_t               nlf, nbare;
    const mime_uchar_t  *line, *next;

    part->header_start = ctx->pos - ctx->start;
    nlf = ctx->nlf;
    nbare = ctx->nbare;
    dropping = 0;

    for ( ;; ) {
        line = ctx->pos;

        if (line >= ctx->end) {
            ctx->hit = -1;
            break;
        }

        if (*line == '-' && mime_parse_boundary(ctx)) {
            part->header_end = mime_parse_span_end(ctx, part->header_start,
                                                   nlf, nbare, 1,
                                                   &part->header_lines,
                                                   &part->header_vsize);
            part->body_start = part->header_end;
            part->body_end = part->header_end;
            return 1;
        }

        mime_parse_advance(ctx);
        next = ctx->pos;

        if (*line == '\n' || (*line == '\r' && next - line == 2)) {
            break;
        }

        if (*line == ' ' || *line == '\t') {
            if (!dropping) {
                mime_parse_header_line(ctx, part, line, next);
            }

            continue;
        }

        if (part->nheaders >= ctx->limits.max_headers) {
            part->flags |= MIME_PART_HEADER_LIMIT;
            dropping = 1;
            continue;
        }

        dropping = 0;
        mime_parse_header_line(ctx, part, line, next);
    }

    part->header_end = mime_parse_span_end(ctx, part->header_start, nlf,
                                           nbare, 0, &part->header_lines,
                                           &part->header_vsize);

    return 0;
}


static void
mime_parse_scan(mime_parser_t *ctx)
{
    ctx->hit = -1;

    while (ctx->pos < ctx->end) {
        if (*ctx->pos == '-' && mime_parse_boundary(ctx)) {
            return;
        }

        mime_parse_advance(ctx);
    }
}


static void
mime_parse_content_headers(mime_parser_t *ctx, mime_part_t *part)
{
    size_t          len;
    mime_header_t  *h, **slot;
    const char     *name;

    for (h = part->headers; h; h = h->next) {
        len = h->name_len;

        if (len < 8 || !mime_strcaseeq(ctx->start + h->start, 8, "content-"))
        {
            continue;
        }

        name = (const char *) ctx->start + h->start + 8;
        len -= 8;
        slot = NULL;

#define MIME_IS(s)                                                           \
        (len == sizeof(s) - 1                                                \
         && mime_strcaseeq((const mime_uchar_t *) name, len, s))

        if (MIME_IS("type")) {
            slot = &part->content_type;

        } else if (MIME_IS("transfer-encoding")) {
            slot = &part->content_encoding;

        } else if (MIME_IS("disposition")) {
            slot = &part->content_disposition;

        } else if (MIME_IS("id")) {
            slot = &part->content_id;

        } else if (MIME_IS("description")) {
            slot = &part->content_description;

        } else if (MIME_IS("language")) {
            slot = &part->content_language;

        } else if (MIME_IS("location")) {
            slot = &part->content_location;

        } else if (MIME_IS("md5")) {
            slot = &part->content_md5;
        }

#undef MIME_IS

        /* the first instance wins, as in most readers */
        if (slot && *slot == NULL) {
            *slot = h;
        }
    }
}


static void
mime_parse_content_type(mime_parser_t *ctx, mime_part_t *part)
{
    mime_str_t     value;
    mime_param_t  *p;

    if (part->content_type == NULL
        || mime_header_value(ctx->msg, part->content_type, &value)
           != MIME_OK
        || mime_content_type_parse(ctx->allocator, value.data, value.len,
                                   &part->type, &part->subtype,
                                   &part->params)
           != MIME_OK
        || part->type.len == 0)
    {
        part->type.len = 0;
        part->subtype.len = 0;
        part->params = NULL;
        part->flags |= MIME_PART_DEFAULT_TYPE;

        /* RFC 2046 5.1.5: the default in a digest is message/rfc822 */
        if (part->parent && part->parent->children
            && (part->parent->flags & MIME_PART_MULTIPART)
            && mime_strcaseeq(part->parent->subtype.data,
                              part->parent->subtype.len, "digest"))
        {
            part->flags |= MIME_PART_MESSAGE;
            return;
        }

        /* RFC 2045 5.2: text/plain; charset=us-ascii */
        part->flags |= MIME_PART_TEXT;
        return;
    }

    if (mime_strcaseeq(part->type.data, part->type.len, "multipart")) {
        /* without a boundary it is a multipart with no parts */
        part->flags |= MIME_PART_MULTIPART;
        p = mime_param_find(part->params, "boundary");

        if (p && p->value.len) {
            part->boundary = p->value;
        }

    } else if (mime_strcaseeq(part->type.data, part->type.len, "message")) {
        if (mime_strcaseeq(part->subtype.data, part->subtype.len, "rfc822"))
        {
            part->flags |= MIME_PART_MESSAGE;
        }

    } else if (mime_strcaseeq(part->type.data, part->type.len, "text")) {
        part->flags |= MIME_PART_TEXT;
    }

    p = mime_param_find(part->params, "charset");

    if (p) {
        part->charset = p->value;
    }
}


static void
mime_parse_encoding(mime_parser_t *ctx, mime_part_t *part)
{
    mime_str_t           v;
    const mime_uchar_t  *p, *end;

    part->encoding_id = MIME_ENC_7BIT;

    if (part->content_encoding == NULL
        || mime_header_value(ctx->msg, part->content_encoding, &v)
           != MIME_OK)
    {
        return;
    }

    p = v.data;
    end = p + v.len;

    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    {
        p++;
    }

    v.data = p;

    while (p < end && *p != ' ' && *p != '\t' && *p != ';' && *p != '('
           && *p != '\r' && *p != '\n')
    {
        p++;
    }

    v.len = p - v.data;
    part->encoding = v;

    if (mime_strcaseeq(v.data, v.len, "base64")) {
        part->encoding_id = MIME_ENC_BASE64;

    } else if (mime_strcaseeq(v.data, v.len, "quoted-printable")) {
        part->encoding_id = MIME_ENC_QP;

    } else if (mime_strcaseeq(v.data, v.len, "8bit")) {
        part->encoding_id = MIME_ENC_8BIT;

    } else if (mime_strcaseeq(v.data, v.len, "binary")) {
        part->encoding_id = MIME_ENC_BINARY;

    } else if (!mime_strcaseeq(v.data, v.len, "7bit") && v.len) {
        part->encoding_id = MIME_ENC_OTHER;
    }
}


static void
mime_parse_multipart(mime_parser_t *ctx, mime_part_t *part,
    size_t lf_start, size_t bare_start)
{
    unsigned      level;
    mime_part_t  *child, *last;

    level = ctx->nbounds++;
    ctx->bounds[level] = part->boundary;

    /* the preamble */
    mime_parse_scan(ctx);

    last = NULL;

    while (ctx->hit == (int) level && !ctx->hit_close && !ctx->failed) {
        mime_parse_advance(ctx);
        ctx->after_delim = ctx->pos;

        if (ctx->msg->nparts >= ctx->limits.max_parts) {
            part->flags |= MIME_PART_OVERFLOW;
            mime_parse_scan(ctx);
            continue;
        }

        child = mime_part_create(ctx, part, part->depth + 1);
        if (child == NULL) {
            break;
        }

        if (last) {
            last->next = child;

        } else {
            part->children = child;
        }

        last = child;
        part->nchildren++;

        mime_parse_entity(ctx, child);
    }

    ctx->nbounds--;

    if (ctx->hit == (int) level && ctx->hit_close) {
        /* the epilogue runs to the next outer boundary or the end */
        mime_parse_advance(ctx);
        ctx->after_delim = ctx->pos;
        mime_parse_scan(ctx);

    } else {
        part->flags |= MIME_PART_NO_END;
    }

    mime_parse_body_end(ctx, part, lf_start, bare_start);
}


static void
mime_parse_entity(mime_parser_t *ctx, mime_part_t *part)
{
    size_t        lf_start, bare_start;
    mime_part_t  *inner;

    if (mime_parse_headers(ctx, part)) {
        mime_parse_content_headers(ctx, part);
        mime_parse_content_type(ctx, part);
        mime_parse_encoding(ctx, part);

        /* the header ran into a boundary: the body is empty */
        part->boundary.len = 0;

        if ((part->flags & MIME_PART_MESSAGE)
            && part->depth + 1 < ctx->limits.max_depth)
        {
            inner = mime_part_create(ctx, part, part->depth + 1);

            if (inner) {
                inner->header_start = part->body_start;
                inner->header_end = part->body_start;
                inner->body_start = part->body_start;
                inner->body_end = part->body_start;
                inner->flags = MIME_PART_TEXT|MIME_PART_DEFAULT_TYPE;
                part->message = inner;
            }

        } else {
            part->flags &= ~(unsigned) MIME_PART_MESSAGE;
        }

        ctx->msg->flags |= part->flags;
        return;
    }

    mime_parse_content_headers(ctx, part);
    mime_parse_content_type(ctx, part);
    mime_parse_encoding(ctx, part);

    part->body_start = ctx->pos - ctx->start;
    lf_start = ctx->nlf;
    bare_start = ctx->nbare;

    if ((part->flags & (MIME_PART_MULTIPART|MIME_PART_MESSAGE))
        && (part->depth + 1 >= ctx->limits.max_depth
            || ctx->msg->nparts >= ctx->limits.max_parts))
    {
        /*
         * Past a limit the part is kept as an opaque leaf: a multipart
         * without parts, a message/rfc822 shown as a plain part.
         */
        part->flags |= MIME_PART_OVERFLOW;
        part->flags &= ~(unsigned) MIME_PART_MESSAGE;
        part->boundary.len = 0;
    }

    if ((part->flags & MIME_PART_MULTIPART) && part->boundary.len) {
        mime_parse_multipart(ctx, part, lf_start, bare_start);

    } else if (part->flags & MIME_PART_MESSAGE) {
        inner = mime_part_create(ctx, part, part->depth + 1);

        if (inner) {
            part->message = inner;
            mime_parse_entity(ctx, inner);
        }

        mime_parse_body_end(ctx, part, lf_start, bare_start);

    } else {
        mime_parse_scan(ctx);
        mime_parse_body_end(ctx, part, lf_start, bare_start);
    }

    ctx->msg->flags |= part->flags;
}


mime_message_t *
mime_parse(const mime_allocator_t *allocator, const mime_uchar_t *data,
    size_t len, const mime_limits_t *limits)
{
    mime_parser_t    ctx;
    mime_message_t  *msg;

    msg = mime_alloc(allocator, sizeof(mime_message_t));
    if (msg == NULL) {
        return NULL;
    }

    memset(msg, 0, sizeof(mime_message_t));
    msg->data = data;
    msg->len = len;
    msg->allocator = allocator;

    memset(&ctx, 0, sizeof(mime_parser_t));
    ctx.start = data;
    ctx.end = data + len;
    ctx.pos = data;
    ctx.msg = msg;
    ctx.allocator = allocator;
    ctx.hit = -1;

    if (limits) {
        ctx.limits = *limits;
    }

    if (ctx.limits.max_depth == 0) {
        ctx.limits.max_depth = MIME_DEFAULT_MAX_DEPTH;
    }

    if (ctx.limits.max_depth > MIME_HARD_MAX_DEPTH) {
        ctx.limits.max_depth = MIME_HARD_MAX_DEPTH;
    }

    if (ctx.limits.max_parts == 0) {
        ctx.limits.max_parts = MIME_DEFAULT_MAX_PARTS;
    }

    if (ctx.limits.max_headers == 0) {
        ctx.limits.max_headers = MIME_DEFAULT_MAX_HEADERS;
    }

    ctx.bounds = mime_alloc(allocator,
                            sizeof(mime_str_t) * (ctx.limits.max_depth + 1));
    if (ctx.bounds == NULL) {
        return NULL;
    }

    msg->root = mime_part_create(&ctx, NULL, 0);
    if (msg->root == NULL) {
        return NULL;
    }

    mime_parse_entity(&ctx, msg->root);

    if (ctx.failed) {
        return NULL;
    }

    return msg;
}


const mime_part_t *
mime_part_next(const mime_part_t *part)
{
    if (part->children) {
        return part->children;
    }

    if (part->message) {
        return part->message;
    }

    while (part && part->next == NULL) {
        part = part->parent;
    }

    return part ? part->next : NULL;
}
