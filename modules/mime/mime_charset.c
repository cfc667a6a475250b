
/*
 * Charsets: conversion to UTF-8 with iconv, charset aliases, and the
 * RFC 2047 encoded-word decoder.  Unknown or broken input never fails:
 * text that is valid UTF-8 passes through, anything else is read as
 * windows-1252, and bytes a charset cannot map become U+FFFD.
 */

#include <errno.h>
#include <iconv.h>
#include <string.h>

#include "mime.h"
#include "mime_internal.h"


#define MIME_CHARSET_NAME_MAX  64


typedef struct {
    const char               *name;
    const char               *iconv;
} mime_charset_alias_t;


/*
 * Labels seen in mail that iconv lacks or that name a subset of what
 * senders really use (RFC 1345 names, Microsoft and Mac spellings).
 */

static const mime_charset_alias_t  mime_charset_aliases[] = {
    { "latin1", "WINDOWS-1252" },
    { "iso-8859-1", "WINDOWS-1252" },
    { "iso8859-1", "WINDOWS-1252" },
    { "iso_8859-1", "WINDOWS-1252" },
    { "iso-8859-8-i", "ISO-8859-8" },
    { "iso-8859-6-i", "ISO-8859-6" },
    { "ks_c_5601-1987", "CP949" },
    { "ks_c_5601", "CP949" },
    { "euc-kr", "CP949" },
    { "gb2312", "GB18030" },
    { "gbk", "GB18030" },
    { "x-gbk", "GB18030" },
    { "cn-gb", "GB18030" },
    { "x-sjis", "SHIFT_JIS" },
    { "shift-jis", "SHIFT_JIS" },
    { "sjis", "SHIFT_JIS" },
    { "x-euc-jp", "EUC-JP" },
    { "big5", "BIG5-HKSCS" },
    { "x-mac-roman", "MACINTOSH" },
    { "x-mac-cyrillic", "MAC-CYRILLIC" },
    { "windows-874", "CP874" },
    { "tis-620", "CP874" },
    { "unicode-1-1-utf-7", "UTF-7" },
    { "utf7", "UTF-7" },
    { NULL, NULL }
};


static int
mime_charset_name(const mime_uchar_t *charset, size_t len, char *name)
{
    size_t  i, n;

    while (len && mime_is_lwsp(*charset)) {
        charset++;
        len--;
    }

    for (i = 0, n = 0; i < len && n < MIME_CHARSET_NAME_MAX - 1; i++) {
        /* RFC 2231 5: charset*language in encoded words */
        if (charset[i] == '*' || mime_is_lwsp(charset[i])) {
            break;
        }

        if (charset[i] == '"') {
            continue;
        }

        name[n++] = (char) mime_lower(charset[i]);
    }

    name[n] = '\0';

    return (int) n;
}


static int
mime_charset_is_utf8(const char *name)
{
    return strcmp(name, "utf-8") == 0 || strcmp(name, "utf8") == 0;
}


static int
mime_charset_is_ascii(const char *name)
{
    return name[0] == '\0' || strcmp(name, "us-ascii") == 0
           || strcmp(name, "ascii") == 0 || strcmp(name, "us_ascii") == 0
           || strcmp(name, "ansi_x3.4-1968") == 0
           || strcmp(name, "unknown-8bit") == 0
           || strcmp(name, "x-unknown") == 0
           || strcmp(name, "unknown") == 0
           || strcmp(name, "default") == 0;
}


static int
mime_utf8_copy_repair(const mime_uchar_t *p, size_t len, mime_buf_t *out)
{
    size_t               n;
    uint32_t             cp;
    const mime_uchar_t  *end, *start;

    /* valid runs are copied, each bad byte becomes U+FFFD */

    end = p + len;

    for (start = p; p < end; p += n) {
        n = mime_utf8_decode(p, end, &cp);

        if (n) {
            continue;
        }

        if (mime_buf_append(out, start, (size_t) (p - start)) != MIME_OK
            || mime_buf_append(out, "\xef\xbf\xbd", 3) != MIME_OK)
        {
            return MIME_ERROR;
        }

        n = 1;
        start = p + 1;
    }

    return mime_buf_append(out, start, (size_t) (end - start));
}


static int
mime_iconv(const char *from, const mime_uchar_t *p, size_t len,
    mime_buf_t *out)
{
    char     chunk[4096], *in, *o;
    size_t   inleft, oleft, rc;
    iconv_t  cd;

    cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t) -1) {
        return MIME_DECLINED;
    }

    in = (char *) p;
    inleft = len;

    while (inleft) {
        o = chunk;
        oleft = sizeof(chunk);

        rc = iconv(cd, &in, &inleft, &o, &oleft);

        if (mime_buf_append(out, chunk, sizeof(chunk) - oleft) != MIME_OK) {
            iconv_close(cd);
            return MIME_ERROR;
        }

        if (rc != (size_t) -1) {
            break;
        }

        if (errno == E2BIG) {
            continue;
        }

        /* EILSEQ or a truncated sequence (EINVAL): skip one byte */
        if (mime_buf_append(out, "\xef\xbf\xbd", 3) != MIME_OK) {
            iconv_close(cd);
            return MIME_ERROR;
        }

        in++;
        inleft--;
    }

    iconv_close(cd);

    return MIME_OK;
}


int
mime_charset_to_utf8(const mime_allocator_t *allocator,
    const mime_uchar_t *charset, size_t charset_len,
    const mime_uchar_t *p, size_t len, mime_buf_t *out)
{
    int                          rc;
    char                         name[MIME_CHARSET_NAME_MAX];
    const char                  *iconv_name;
    const mime_charset_alias_t  *a;

    (void) allocator;

    mime_charset_name(charset ? charset : (const mime_uchar_t *) "",
                      charset ? charset_len : 0, name);

    if (mime_charset_is_utf8(name)) {
        return mime_utf8_copy_repair(p, len, out);
    }

    iconv_name = name;

    if (mime_charset_is_ascii(name)) {
        /* mislabelled 8-bit text is usually UTF-8 or windows-1252 */
        if (mime_utf8_valid(p, len)) {
            return mime_buf_append(out, p, len);
        }

        iconv_name = "WINDOWS-1252";

    } else {
        for (a = mime_charset_aliases; a->name; a++) {
            if (strcmp(a->name, name) == 0) {
                iconv_name = a->iconv;
                break;
            }
        }
    }

    rc = mime_iconv(iconv_name, p, len, out);

    if (rc != MIME_DECLINED) {
        return rc;
    }

    /* an unknown charset */
    if (mime_utf8_valid(p, len)) {
        return mime_buf_append(out, p, len);
    }

    rc = mime_iconv("WINDOWS-1252", p, len, out);

    return rc == MIME_DECLINED ? mime_utf8_copy_repair(p, len, out) : rc;
}


/*
 * RFC 2047 2: "=?" charset "?" encoding "?" encoded-text "?="; returns
 * the length of the word or 0.  Encoded text may not hold white space.
 */

/*
 * When no "?=" closes the word before white space, "*fail" is set to that
 * point: no word can start before it either, which keeps the scan linear.
 */

static size_t
mime_word_scan(const mime_uchar_t *p, const mime_uchar_t *end,
    mime_str_t *charset, int *enc, mime_str_t *text,
    const mime_uchar_t **fail)
{
    const mime_uchar_t  *q, *start;

    start = p;

    if (end - p < 8 || p[0] != '=' || p[1] != '?') {
        return 0;
    }

    p += 2;
    charset->data = p;

    for (q = p; q < end && *q != '?'; q++) {
        if (*q <= ' ' || *q >= 127) {
            return 0;
        }
    }

    if (end - q < 4 || q == p) {
        return 0;
    }

    charset->len = q - p;
    *enc = mime_lower(q[1]);

    if ((*enc != 'b' && *enc != 'q') || q[2] != '?') {
        return 0;
    }

    p = q + 3;
    text->data = p;

    for (q = p; q + 1 < end; q++) {
        if (q[0] == '?' && q[1] == '=') {
            text->len = q - p;
            return q + 2 - start;
        }

        if (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n') {
            *fail = q;
            return 0;
        }
    }

    *fail = end;

    return 0;
}


static int
mime_charset_same(const mime_str_t *a, const mime_str_t *b)
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


typedef struct {
    mime_buf_t               *out;
    const mime_allocator_t   *allocator;
    mime_str_t                charset;
    mime_buf_t                pending;    /* decoded bytes of joined words */
} mime_words_t;


static int
mime_words_flush(mime_words_t *w)
{
    int  rc;

    if (w->pending.len == 0) {
        return MIME_OK;
    }

    rc = mime_charset_to_utf8(w->allocator, w->charset.data, w->charset.len,
                              w->pending.data, w->pending.len, w->out);
    w->pending.len = 0;

    return rc;
}


static int
mime_words_text(mime_words_t *w, const mime_uchar_t *p, size_t len)
{
    if (mime_words_flush(w) != MIME_OK) {
        return MIME_ERROR;
    }

    /* raw 8-bit header text has no label: RFC 6532 says UTF-8 */
    return mime_charset_to_utf8(w->allocator, NULL, 0, p, len, w->out);
}


static int
mime_words_add(mime_words_t *w, const mime_str_t *charset, int enc,
    const mime_str_t *text)
{
    size_t         n;
    mime_uchar_t  *d;

    /*
     * RFC 2047 5 lets a character be split over words only in the same
     * charset, so adjacent words of one charset are decoded together.
     */

    if (w->pending.len && !mime_charset_same(&w->charset, charset)) {
        if (mime_words_flush(w) != MIME_OK) {
            return MIME_ERROR;
        }
    }

    w->charset = *charset;

    d = mime_alloc(w->allocator, text->len + 3);
    if (d == NULL) {
        return MIME_ERROR;
    }

    if (enc == 'b') {
        n = mime_base64_decode(d, text->data, text->len);

    } else {
        n = mime_qp_decode(d, text->data, text->len, 1);
    }

    return mime_buf_append(&w->pending, d, n);
}


int
mime_words_decode(const mime_allocator_t *allocator, const mime_uchar_t *p,
    size_t len, mime_str_t *utf8)
{
    int                  enc, last_word;
    size_t               n;
    mime_buf_t           out;
    mime_str_t           charset, text;
    mime_words_t         w;
    const mime_uchar_t  *end, *plain, *q, *ws, *fail;

    mime_buf_init(&out, allocator, len + 16);

    w.out = &out;
    w.allocator = allocator;
    w.charset.data = NULL;
    w.charset.len = 0;
    mime_buf_init(&w.pending, allocator, 0);

    end = p + len;
    plain = p;
    last_word = 0;

    while (p < end) {
        q = memchr(p, '=', end - p);

        if (q == NULL) {
            break;
        }

        fail = NULL;
        n = mime_word_scan(q, end, &charset, &enc, &text, &fail);

        if (n == 0) {
            p = (fail && fail > q) ? fail : q + 1;
            continue;
        }

        /* RFC 2047 6.2: white space between two encoded words goes */
        for (ws = plain; ws < q && mime_is_lwsp(*ws); ws++) {
            /* void */
        }

        if (!(last_word && ws == q) && q > plain) {
            if (mime_words_text(&w, plain, q - plain) != MIME_OK) {
                return MIME_ERROR;
            }
        }

        if (mime_words_add(&w, &charset, enc, &text) != MIME_OK) {
            return MIME_ERROR;
        }

        p = q + n;
        plain = p;
        last_word = 1;
    }

    if (mime_words_flush(&w) != MIME_OK) {
        return MIME_ERROR;
    }

    if (plain < end && mime_words_text(&w, plain, end - plain) != MIME_OK) {
        return MIME_ERROR;
    }

    if (out.failed) {
        return MIME_ERROR;
    }

    utf8->data = out.data;
    utf8->len = out.len;

    return MIME_OK;
}
