
/*
 * Header fields: lookup, unfolding (RFC 5322 2.2.3), the RFC 822 lexer,
 * and the MIME structured fields Content-Type and Content-Disposition
 * with RFC 2231 parameter continuations and charsets.
 */

#include <stdio.h>
#include <string.h>

#include "mime.h"
#include "mime_internal.h"


/* RFC 2231 sections beyond this are ignored: it bounds the joining work */
#define MIME_PARAM_MAX_SECTIONS  128

/* parameters of one field beyond this are ignored: joining is quadratic */
#define MIME_PARAM_MAX           128


typedef struct {
    mime_str_t                name;      /* without the "*n*" suffix */
    mime_str_t                value;
    int                       section;   /* -1: no "*n" */
    unsigned                  extended:1;
    unsigned                  used:1;
} mime_raw_param_t;


int
mime_strcaseeq(const mime_uchar_t *p, size_t len, const char *s)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] == '\0' || mime_lower(p[i]) != mime_lower((mime_uchar_t) s[i]))
        {
            return 0;
        }
    }

    return s[len] == '\0';
}


mime_uchar_t *
mime_strdup(const mime_allocator_t *allocator, const mime_uchar_t *p,
    size_t len)
{
    mime_uchar_t  *d;

    d = mime_alloc(allocator, len + 1);
    if (d == NULL) {
        return NULL;
    }

    if (len) {
        memcpy(d, p, len);
    }

    d[len] = '\0';

    return d;
}


int
mime_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c = mime_lower(c);

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


int
mime_header_name_is(const mime_message_t *msg, const mime_header_t *h,
    const char *name, size_t len)
{
    return h->name_len == len
           && mime_strcaseeq(msg->data + h->start, len, name);
}


mime_header_t *
mime_header_find(const mime_message_t *msg, const mime_part_t *part,
    const char *name)
{
    size_t          len;
    mime_header_t  *h;

    len = strlen(name);

    for (h = part->headers; h; h = h->next) {
        if (mime_header_name_is(msg, h, name, len)) {
            return h;
        }
    }

    return NULL;
}


int
mime_header_unfold(const mime_allocator_t *allocator, const mime_uchar_t *p,
    size_t len, mime_str_t *value)
{
    size_t         i, n;
    mime_uchar_t  *d;

    if (memchr(p, '\n', len) == NULL && memchr(p, '\r', len) == NULL) {
        value->data = p;
        value->len = len;
        return MIME_OK;
    }

    d = mime_alloc(allocator, len + 1);
    if (d == NULL) {
        return MIME_ERROR;
    }

    for (i = 0, n = 0; i < len; i++) {
        if (p[i] != '\r' && p[i] != '\n') {
            d[n++] = p[i];
        }
    }

    d[n] = '\0';
    value->data = d;
    value->len = n;

    return MIME_OK;
}


int
mime_header_value(const mime_message_t *msg, const mime_header_t *h,
    mime_str_t *value)
{
    size_t  end;

    end = h->value_end;

    /* trailing white space is not part of the value */
    while (end > h->value_start && mime_is_lwsp(msg->data[end - 1])) {
        end--;
    }

    return mime_header_unfold(msg->allocator, msg->data + h->value_start,
                              end - h->value_start, value);
}


/* the lexer of RFC 5322 3.2 */

void
mime_lex_skip_cfws(mime_lexer_t *lx)
{
    mime_str_t  comment;

    while (lx->p < lx->end) {
        if (mime_is_lwsp(*lx->p)) {
            lx->p++;

        } else if (*lx->p == '(') {
            mime_lex_comment(lx, &comment);

        } else {
            break;
        }
    }
}


/* a comment, nested ones included; an unclosed one runs to the end */

int
mime_lex_comment(mime_lexer_t *lx, mime_str_t *out)
{
    int                  level;
    const mime_uchar_t  *start;

    start = ++lx->p;
    level = 1;

    while (lx->p < lx->end) {
        switch (*lx->p) {

        case '\\':
            if (lx->p + 1 < lx->end) {
                lx->p++;
            }

            break;

        case '(':
            level++;
            break;

        case ')':
            if (--level == 0) {
                out->data = start;
                out->len = lx->p - start;
                lx->p++;
                return MIME_OK;
            }

            break;
        }

        lx->p++;
    }

    out->data = start;
    out->len = lx->p - start;

    return MIME_DECLINED;
}


/*
 * A quoted string, unquoted; zero-copy unless it has quoted-pairs or
 * folds.  An unclosed one runs to the end (broken mail has them).
 */

int
mime_lex_quoted(mime_lexer_t *lx, const mime_allocator_t *allocator,
    mime_str_t *out)
{
    int                  copy;
    size_t               n;
    mime_uchar_t        *d;
    const mime_uchar_t  *start, *p;

    start = ++lx->p;
    copy = 0;

    for (p = start; p < lx->end && *p != '"'; p++) {
        if (*p == '\\' && p + 1 < lx->end) {
            copy = 1;
            p++;

        } else if (*p == '\r' || *p == '\n') {
            copy = 1;
        }
    }

    lx->p = (p < lx->end) ? p + 1 : p;

    if (!copy) {
        out->data = start;
        out->len = p - start;
        return MIME_OK;
    }

    d = mime_alloc(allocator, p - start + 1);
    if (d == NULL) {
        return MIME_ERROR;
    }

    out->data = d;

    for (n = 0; start < p; start++) {
        if (*start == '\\' && start + 1 < p) {
            start++;

        } else if (*start == '\r' || *start == '\n') {
            /* RFC 5322 3.2.4: a fold inside quotes is unfolded */
            continue;
        }

        d[n++] = *start;
    }

    out->len = n;

    return MIME_OK;
}


/* RFC 2045 5.1: token := 1*<any CHAR except SPACE, CTLs, or tspecials> */

static int
mime_is_tspecial(int c)
{
    return c <= ' ' || c >= 127 || strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}


int
mime_lex_token(mime_lexer_t *lx, mime_str_t *out)
{
    const mime_uchar_t  *start;

    start = lx->p;

    while (lx->p < lx->end && (!mime_is_tspecial(*lx->p) || *lx->p >= 128))
    {
        lx->p++;
    }

    out->data = start;
    out->len = lx->p - start;

    return out->len ? MIME_OK : MIME_DECLINED;
}


/* RFC 5322 3.2.3 atext, with 8-bit bytes allowed (RFC 6532) */

int
mime_lex_atom(mime_lexer_t *lx, mime_str_t *out)
{
    int                  c;
    const mime_uchar_t  *start;

    start = lx->p;

    while (lx->p < lx->end) {
        c = *lx->p;

        if (c <= ' ' || (c < 128 && strchr("()<>[]:;@\\,.\"", c) != NULL)) {
            break;
        }

        lx->p++;
    }

    out->data = start;
    out->len = lx->p - start;

    return out->len ? MIME_OK : MIME_DECLINED;
}


/*
 * A parameter value that is neither a token nor a quoted string is
 * common in broken mail ("name=a b.pdf", "name=x/y"): take it up to
 * the next ";" and trim it.
 */

static void
mime_param_value_raw(mime_lexer_t *lx, mime_str_t *out)
{
    const mime_uchar_t  *start, *end;

    start = lx->p;

    while (lx->p < lx->end && *lx->p != ';') {
        lx->p++;
    }

    end = lx->p;

    while (end > start && mime_is_lwsp(end[-1])) {
        end--;
    }

    out->data = start;
    out->len = end - start;
}


static int
mime_param_name_split(mime_raw_param_t *rp)
{
    size_t               i, j, len;
    int                  section;
    const mime_uchar_t  *p;

    p = rp->name.data;
    len = rp->name.len;
    rp->section = -1;
    rp->extended = 0;

    if (len > 1 && p[len - 1] == '*') {
        rp->extended = 1;
        len--;
    }

    for (i = len; i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9'; i--) {
        /* void */
    }

    if (i > 1 && i < len && p[i - 1] == '*' && len - i <= 4) {
        section = 0;

        for (j = i; j < len; j++) {
            section = section * 10 + (p[j] - '0');
        }

        /* RFC 2231 3: no leading zeros, "*0" allowed */
        if (p[i] == '0' && len - i > 1) {
            return MIME_DECLINED;
        }

        rp->section = section;
        len = i - 1;
    }

    rp->name.len = len;

    return MIME_OK;
}


static int
mime_str_caseeq(const mime_str_t *a, const mime_str_t *b)
{
    size_t  i;

    if (a->len != b->len) {
        return 0;
    }

    for (i = 0; i < a->len; i++) {
        if (mime_lower(a->data[i]) != mime_lower(b->data[i])) {
            return 0;
        }
    }

    return 1;
}


static mime_param_t *
mime_param_new(const mime_allocator_t *allocator, mime_param_t ***tail)
{
    mime_param_t  *p;

    p = mime_alloc(allocator, sizeof(mime_param_t));
    if (p == NULL) {
        return NULL;
    }

    memset(p, 0, sizeof(mime_param_t));
    **tail = p;
    *tail = &p->next;

    return p;
}


/*
 * RFC 2231 3 and 4: join "name*0", "name*1*", ... in section order; an
 * extended first section starts with charset'language'.  Sections that
 * are not extended are %-encoded where needed, so the joined value is
 * one extended value.
 */

static int
mime_param_join(const mime_allocator_t *allocator, mime_raw_param_t *raw,
    unsigned nraw, unsigned first, mime_param_t *param)
{
    int                  any_ext;
    size_t               size, n;
    unsigned             i, sec;
    mime_uchar_t        *d;
    const mime_uchar_t  *q, *v, *end;
    mime_raw_param_t    *rp, *parts[MIME_PARAM_MAX_SECTIONS];

    memset(parts, 0, sizeof(parts));
    size = 0;
    any_ext = 0;

    for (i = first; i < nraw; i++) {
        rp = &raw[i];

        if (rp->used || !mime_str_caseeq(&rp->name, &raw[first].name)) {
            continue;
        }

        sec = rp->section < 0 ? 0 : (unsigned) rp->section;

        if ((rp->section < 0) != (raw[first].section < 0)
            || sec >= MIME_PARAM_MAX_SECTIONS || parts[sec])
        {
            continue;
        }

        rp->used = 1;
        parts[sec] = rp;
        size += rp->value.len * 3;
        any_ext |= rp->extended;
    }

    param->name = raw[first].name;
    param->extended = any_ext;

    d = mime_alloc(allocator, size + 3);
    if (d == NULL) {
        return MIME_ERROR;
    }

    n = 0;

    for (sec = 0; sec < MIME_PARAM_MAX_SECTIONS && parts[sec]; sec++) {
        rp = parts[sec];
        v = rp->value.data;
        end = v + rp->value.len;

        if (sec == 0 && rp->extended) {
            /* charset'language'value */
            q = memchr(v, '\'', end - v);

            if (q) {
                param->charset.data = v;
                param->charset.len = q - v;
                v = q + 1;
                q = memchr(v, '\'', end - v);

                if (q) {
                    param->language.data = v;
                    param->language.len = q - v;
                    v = q + 1;
                }
            }

            memcpy(d + n, rp->value.data, v - rp->value.data);
            n += v - rp->value.data;
        }

        for ( /* void */ ; v < end; v++) {
            if (any_ext && !rp->extended
                && (*v <= ' ' || *v >= 127 || strchr("%'*\"", *v)))
            {
                n += sprintf((char *) d + n, "%%%02X", *v);
                continue;
            }

            d[n++] = *v;
        }
    }

    if (any_ext && param->charset.data == NULL) {
        /* no charset section: still show the value in extended form */
        memmove(d + 2, d, n);
        d[0] = '\'';
        d[1] = '\'';
        n += 2;
    }

    d[n] = '\0';
    param->value.data = d;
    param->value.len = n;

    return MIME_OK;
}


static int
mime_params_parse(const mime_allocator_t *allocator, mime_lexer_t *lx,
    mime_param_t **params)
{
    unsigned             i, nraw, size;
    const mime_uchar_t  *start;
    mime_param_t        *param, **tail;
    mime_raw_param_t    *raw, *rp, *bigger;

    *params = NULL;
    tail = params;
    nraw = 0;
    size = 8;

    raw = mime_alloc(allocator, size * sizeof(mime_raw_param_t));
    if (raw == NULL) {
        return MIME_ERROR;
    }

    for ( ;; ) {
        mime_lex_skip_cfws(lx);

        while (lx->p < lx->end && (*lx->p == ';' || mime_is_lwsp(*lx->p))) {
            lx->p++;
        }

        mime_lex_skip_cfws(lx);

        if (lx->p >= lx->end) {
            break;
        }

        if (nraw == size) {
            bigger = mime_alloc(allocator,
                                2 * size * sizeof(mime_raw_param_t));
            if (bigger == NULL) {
                return MIME_ERROR;
            }

            memcpy(bigger, raw, size * sizeof(mime_raw_param_t));
            raw = bigger;
            size *= 2;
        }

        rp = &raw[nraw];
        memset(rp, 0, sizeof(mime_raw_param_t));

        if (mime_lex_token(lx, &rp->name) != MIME_OK) {
            /* garbage: skip to the next parameter */
            while (lx->p < lx->end && *lx->p != ';') {
                lx->p++;
            }

            continue;
        }

        mime_lex_skip_cfws(lx);

        if (lx->p >= lx->end || *lx->p != '=') {
            while (lx->p < lx->end && *lx->p != ';') {
                lx->p++;
            }

            continue;
        }

        lx->p++;
        mime_lex_skip_cfws(lx);

        if (lx->p < lx->end && *lx->p == '"') {
            if (mime_lex_quoted(lx, allocator, &rp->value) != MIME_OK) {
                return MIME_ERROR;
            }

        } else {
            start = lx->p;

            if (mime_lex_token(lx, &rp->value) == MIME_OK) {
                mime_lex_skip_cfws(lx);
            }

            if (lx->p < lx->end && *lx->p != ';') {
                lx->p = start;
                mime_param_value_raw(lx, &rp->value);
            }
        }

        if (mime_param_name_split(rp) != MIME_OK || nraw == MIME_PARAM_MAX) {
            continue;
        }

        nraw++;
    }

    /* plain parameters first, then the RFC 2231 ones, as Dovecot lists */

    for (i = 0; i < nraw; i++) {
        rp = &raw[i];

        if (rp->section >= 0 || rp->extended) {
            continue;
        }

        param = mime_param_new(allocator, &tail);
        if (param == NULL) {
            return MIME_ERROR;
        }

        rp->used = 1;
        param->name = rp->name;
        param->value = rp->value;
    }

    for (i = 0; i < nraw; i++) {
        if (raw[i].used) {
            continue;
        }

        param = mime_param_new(allocator, &tail);
        if (param == NULL) {
            return MIME_ERROR;
        }

        if (mime_param_join(allocator, raw, nraw, i, param) != MIME_OK) {
            return MIME_ERROR;
        }
    }

    return MIME_OK;
}


mime_param_t *
mime_param_find(mime_param_t *params, const char *name)
{
    for ( /* void */ ; params; params = params->next) {
        if (mime_strcaseeq(params->name.data, params->name.len, name)) {
            return params;
        }
    }

    return NULL;
}


/* RFC 2045 5.1: type "/" subtype *(";" parameter) */

int
mime_content_type_parse(const mime_allocator_t *allocator,
    const mime_uchar_t *p, size_t len, mime_str_t *type, mime_str_t *subtype,
    mime_param_t **params)
{
    mime_lexer_t  lx;

    lx.p = p;
    lx.end = p + len;

    type->len = 0;
    subtype->len = 0;
    subtype->data = p;
    *params = NULL;

    mime_lex_skip_cfws(&lx);

    if (mime_lex_token(&lx, type) != MIME_OK) {
        return MIME_DECLINED;
    }

    mime_lex_skip_cfws(&lx);

    if (lx.p < lx.end && *lx.p == '/') {
        lx.p++;
        mime_lex_skip_cfws(&lx);
        (void) mime_lex_token(&lx, subtype);
        mime_lex_skip_cfws(&lx);
    }

    if (lx.p < lx.end && *lx.p != ';') {
        /* junk after the type: the parameters cannot be trusted */
        return MIME_OK;
    }

    return mime_params_parse(allocator, &lx, params);
}


/* RFC 2183 2: disposition-type *(";" disposition-parm) */

int
mime_disposition_parse(const mime_allocator_t *allocator,
    const mime_uchar_t *p, size_t len, mime_str_t *disposition,
    mime_param_t **params)
{
    mime_lexer_t  lx;

    lx.p = p;
    lx.end = p + len;
    *params = NULL;

    mime_lex_skip_cfws(&lx);

    if (mime_lex_token(&lx, disposition) != MIME_OK) {
        return MIME_DECLINED;
    }

    mime_lex_skip_cfws(&lx);

    if (lx.p < lx.end && *lx.p != ';') {
        return MIME_OK;
    }

    return mime_params_parse(allocator, &lx, params);
}


/* RFC 3282 2: Content-Language is a comma separated list of tags */

int
mime_language_parse(const mime_allocator_t *allocator,
    const mime_uchar_t *p, size_t len, mime_str_t **langs, unsigned *n)
{
    unsigned      count, size;
    mime_str_t    tag, *list, *bigger;
    mime_lexer_t  lx;

    lx.p = p;
    lx.end = p + len;
    count = 0;
    size = 4;

    list = mime_alloc(allocator, size * sizeof(mime_str_t));
    if (list == NULL) {
        return MIME_ERROR;
    }

    for ( ;; ) {
        mime_lex_skip_cfws(&lx);

        if (lx.p >= lx.end) {
            break;
        }

        if (*lx.p == ',') {
            lx.p++;
            continue;
        }

        if (mime_lex_token(&lx, &tag) != MIME_OK) {
            lx.p++;
            continue;
        }

        if (count == size) {
            bigger = mime_alloc(allocator, 2 * size * sizeof(mime_str_t));
            if (bigger == NULL) {
                return MIME_ERROR;
            }

            memcpy(bigger, list, size * sizeof(mime_str_t));
            list = bigger;
            size *= 2;
        }

        list[count++] = tag;
    }

    *langs = list;
    *n = count;

    return count ? MIME_OK : MIME_DECLINED;
}


/* RFC 2231 4: the value %-decoded and converted to UTF-8 */

int
mime_param_decode(const mime_allocator_t *allocator,
    const mime_param_t *param, mime_str_t *utf8)
{
    int                  hi, lo;
    size_t               n;
    mime_buf_t           out;
    mime_uchar_t        *d;
    const mime_uchar_t  *p, *q, *end;

    if (!param->extended) {
        return mime_words_decode(allocator, param->value.data,
                                 param->value.len, utf8);
    }

    p = param->value.data;
    end = p + param->value.len;

    /* skip charset'language' */
    for (n = 0; n < 2; n++) {
        q = memchr(p, '\'', end - p);

        if (q == NULL) {
            break;
        }

        p = q + 1;
    }

    d = mime_alloc(allocator, end - p + 1);
    if (d == NULL) {
        return MIME_ERROR;
    }

    for (n = 0; p < end; p++) {
        if (*p == '%' && end - p >= 3
            && (hi = mime_hex(p[1])) >= 0 && (lo = mime_hex(p[2])) >= 0)
        {
            d[n++] = (mime_uchar_t) (hi << 4 | lo);
            p += 2;
            continue;
        }

        d[n++] = *p;
    }

    mime_buf_init(&out, allocator, n + 16);

    if (mime_charset_to_utf8(allocator, param->charset.data,
                             param->charset.len, d, n, &out)
        != MIME_OK)
    {
        return MIME_ERROR;
    }

    utf8->data = out.data;
    utf8->len = out.len;

    return MIME_OK;
}
