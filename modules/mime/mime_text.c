
/*
 * Text extraction for search and the spam filter: every text part,
 * transfer-decoded and converted to UTF-8, in message order, parts
 * separated by a newline; HTML optionally reduced to its text.
 */

#include <string.h>

#include "mime.h"
#include "mime_internal.h"


typedef struct {
    const char               *name;
    size_t                    len;
    const char               *utf8;
} mime_entity_t;


static const mime_entity_t  mime_html_entities[] = {
    { "amp", 3, "&" },
    { "lt", 2, "<" },
    { "gt", 2, ">" },
    { "quot", 4, "\"" },
    { "apos", 4, "'" },
    { "nbsp", 4, " " },
    { "copy", 4, "\xc2\xa9" },
    { "reg", 3, "\xc2\xae" },
    { NULL, 0, NULL }
};


static int
mime_utf8_put(mime_buf_t *out, unsigned long c)
{
    size_t        n;
    mime_uchar_t  u[4];

    /*
     * a NUL would end the text for C callers: U+FFFD, as for the values
     * past U+10FFFF, which are caught before they are cut to 32 bits
     */
    if (c == 0 || c > 0x10ffff) {
        return mime_buf_append(out, "\xef\xbf\xbd", 3);
    }

    n = mime_utf8_encode((uint32_t) c, u);

    return mime_buf_append(out, u, n);
}


/* "&name;" or "&#N;" at p; returns the bytes used, 0 if none */

static size_t
mime_html_entity(const mime_uchar_t *p, const mime_uchar_t *end,
    mime_buf_t *out)
{
    int                   hex;
    unsigned long         c;
    const mime_uchar_t   *q, *start;
    const mime_entity_t  *e;

    q = memchr(p, ';', (size_t) (end - p) < 12 ? (size_t) (end - p) : 12);

    if (q == NULL) {
        return 0;
    }

    start = p;

    if (p[1] == '#') {
        hex = (p + 2 < q && (p[2] == 'x' || p[2] == 'X'));
        c = 0;

        for (p += 2 + hex; p < q; p++) {
            if (hex && mime_hex(*p) >= 0) {
                c = c * 16 + (unsigned long) mime_hex(*p);

            } else if (!hex && *p >= '0' && *p <= '9') {
                c = c * 10 + (unsigned long) (*p - '0');

            } else {
                return 0;
            }
        }

        mime_utf8_put(out, c);
        return q + 1 - start;
    }

    for (e = mime_html_entities; e->name; e++) {
        if ((size_t) (q - p - 1) == e->len
            && memcmp(p + 1, e->name, e->len) == 0)
        {
            mime_buf_append_str(out, e->utf8);
            return e->len + 2;
        }
    }

    return 0;
}


static int
mime_html_skip_to(const mime_uchar_t **pp, const mime_uchar_t *end,
    const char *close)
{
    size_t               len;
    const mime_uchar_t  *p;

    len = strlen(close);

    for (p = *pp; p + len <= end; p++) {
        if (*p == '<' && mime_strcaseeq(p, len, close)) {
            *pp = p;
            return 1;
        }
    }

    *pp = end;
    return 0;
}


/* a linear pass: tags dropped, script/style bodies dropped, entities */

static int
mime_html_strip(const mime_uchar_t *p, size_t len, mime_buf_t *out)
{
    size_t               n;
    const mime_uchar_t  *end, *q, *start;

    end = p + len;
    start = p;

    while (p < end) {
        if (*p == '<') {
            mime_buf_append(out, start, p - start);

            if (end - p > 7 && mime_strcaseeq(p, 7, "<script")) {
                mime_html_skip_to(&p, end, "</script");

            } else if (end - p > 6 && mime_strcaseeq(p, 6, "<style")) {
                mime_html_skip_to(&p, end, "</style");
            }

            q = memchr(p, '>', end - p);
            p = q ? q + 1 : end;
            start = p;
            mime_buf_append_char(out, ' ');
            continue;
        }

        if (*p == '&') {
            mime_buf_append(out, start, p - start);
            n = mime_html_entity(p, end, out);

            if (n == 0) {
                mime_buf_append_char(out, '&');
                p++;

            } else {
                p += n;
            }

            start = p;
            continue;
        }

        p++;
    }

    return mime_buf_append(out, start, end - start);
}


static int
mime_text_part(const mime_message_t *msg, const mime_part_t *part,
    mime_buf_t *out, unsigned flags)
{
    mime_str_t  body;
    mime_buf_t  utf8;

    if (mime_part_decode(msg, part, out->allocator, &body) != MIME_OK) {
        return MIME_ERROR;
    }

    if ((flags & MIME_TEXT_HTML_STRIP)
        && mime_strcaseeq(part->subtype.data, part->subtype.len, "html"))
    {
        mime_buf_init(&utf8, out->allocator, body.len + 16);

        if (mime_charset_to_utf8(out->allocator, part->charset.data,
                                 part->charset.len, body.data, body.len,
                                 &utf8)
            != MIME_OK)
        {
            return MIME_ERROR;
        }

        mime_html_strip(utf8.data, utf8.len, out);

    } else if (mime_charset_to_utf8(out->allocator, part->charset.data,
                                    part->charset.len, body.data, body.len,
                                    out)
               != MIME_OK)
    {
        return MIME_ERROR;
    }

    return mime_buf_append_char(out, '\n');
}


static int
mime_text_subject(const mime_message_t *msg, const mime_part_t *part,
    mime_buf_t *out)
{
    mime_str_t      raw, utf8;
    mime_header_t  *h;

    h = mime_header_find(msg, part, "subject");

    if (h == NULL) {
        return MIME_OK;
    }

    if (mime_header_value(msg, h, &raw) != MIME_OK
        || mime_words_decode(out->allocator, raw.data, raw.len, &utf8)
           != MIME_OK)
    {
        return MIME_ERROR;
    }

    mime_buf_append(out, utf8.data, utf8.len);

    return mime_buf_append_char(out, '\n');
}


int
mime_text_extract(const mime_message_t *msg, mime_buf_t *out,
    unsigned flags)
{
    const mime_part_t  *part;

    part = msg->root;

    /* iterative pre-order walk: the tree may be deep */

    while (part) {
        if ((flags & MIME_TEXT_HEADERS) && (part->parent == NULL
            || (part->parent->flags & MIME_PART_MESSAGE)))
        {
            mime_text_subject(msg, part, out);
        }

        if (part->flags & MIME_PART_TEXT) {
            if (mime_text_part(msg, part, out, flags) != MIME_OK) {
                return MIME_ERROR;
            }
        }

        part = mime_part_next(part);
    }

    return out->failed ? MIME_ERROR : MIME_OK;
}
