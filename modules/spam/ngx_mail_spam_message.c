
/*
 * A message as the Bayes store sees it: its token fields and its digest,
 * defined in ngx_mail_spam_store.h.  Shared by the nginx modules and
 * mailctl, so that both learn and look up the same fields.
 */


#include <string.h>
#include <strings.h>

#include "ngx_mail_spam_store.h"


/* the header fields each hop or store adds: not part of the digest */

typedef struct {
    const char               *name;
    size_t                    len;
    int                       prefix;   /* any field that starts so */
} ngx_mail_spam_trace_t;


static const ngx_mail_spam_trace_t  ngx_mail_spam_trace[] = {
    { "Return-Path", 11, 0 },
    { "Received", 8, 0 },
    { "Delivered-To", 12, 0 },
    { "X-Original-To", 13, 0 },
    { "X-Spam-", 7, 1 },
    { NULL, 0, 0 }
};


static int ngx_mail_spam_message_is_trace(const mime_uchar_t *p,
    const mime_uchar_t *end);
static size_t ngx_mail_spam_message_envelope(const mime_uchar_t *p,
    size_t len);
static size_t ngx_mail_spam_message_normalize(mime_uchar_t *out,
    const mime_uchar_t *p, size_t len);


int
ngx_mail_spam_message_read(ngx_mail_spam_message_t *m,
    const mime_allocator_t *allocator, const mime_uchar_t *data, size_t len,
    int with_digest)
{
    char                           *field;
    size_t                          n;
    unsigned                        i;
    mime_message_t                 *msg;
    ngx_mail_spam_bayes_limits_t    limits;
    ngx_mail_spam_bayes_tokens_t    tokens;

    m->ntokens = 0;
    m->fields = NULL;
    m->hashes = NULL;

    if (with_digest
        && ngx_mail_spam_message_digest(m->digest, allocator, data, len)
           != NGX_MAIL_SPAM_BAYES_OK)
    {
        return NGX_MAIL_SPAM_BAYES_ERROR;
    }

    n = ngx_mail_spam_message_envelope(data, len);
    data += n;
    len -= n;

    if (len > NGX_MAIL_SPAM_READ_MAX) {
        len = NGX_MAIL_SPAM_READ_MAX;
    }

    memset(&limits, 0, sizeof(ngx_mail_spam_bayes_limits_t));
    limits.hash_key = NGX_MAIL_SPAM_BAYES_HASH_KEY;

    msg = mime_parse(allocator, data, len, NULL);

    if (msg == NULL
        || ngx_mail_spam_bayes_tokens_init(&tokens, allocator, &limits)
           != NGX_MAIL_SPAM_BAYES_OK
        || ngx_mail_spam_bayes_tokenize(&tokens, msg)
           != NGX_MAIL_SPAM_BAYES_OK)
    {
        return NGX_MAIL_SPAM_BAYES_ERROR;
    }

    if (tokens.ntokens == 0) {
        return NGX_MAIL_SPAM_BAYES_OK;
    }

    m->fields = mime_alloc(allocator,
                           (size_t) tokens.ntokens * NGX_MAIL_SPAM_FIELD_LEN);
    m->hashes = mime_alloc(allocator,
                           (size_t) tokens.ntokens * sizeof(uint64_t));

    if (m->fields == NULL || m->hashes == NULL) {
        return NGX_MAIL_SPAM_BAYES_ERROR;
    }

    field = m->fields;

    for (i = 0; i < tokens.ntokens; i++) {
        m->hashes[i] = tokens.tokens[i].hash;
        ngx_mail_spam_message_hex(field, tokens.tokens[i].hash);
        field += NGX_MAIL_SPAM_FIELD_LEN;
    }

    m->ntokens = tokens.ntokens;

    return NGX_MAIL_SPAM_BAYES_OK;
}


int
ngx_mail_spam_message_digest(char *digest, const mime_allocator_t *allocator,
    const mime_uchar_t *data, size_t len)
{
    size_t         n;
    mime_uchar_t  *text;

    n = ngx_mail_spam_message_envelope(data, len);
    data += n;
    len -= n;

    /* the text never grows: CR LF becomes LF, fields are left out */

    text = mime_alloc(allocator, len < NGX_MAIL_SPAM_DIGEST_MAX
                                 ? len + 1 : NGX_MAIL_SPAM_DIGEST_MAX);
    if (text == NULL) {
        return NGX_MAIL_SPAM_BAYES_ERROR;
    }

    n = ngx_mail_spam_message_normalize(text, data, len);

    ngx_mail_spam_message_hex(digest,
        ngx_mail_spam_bayes_hash(NGX_MAIL_SPAM_DIGEST_KEY1, text, n));
    ngx_mail_spam_message_hex(digest + NGX_MAIL_SPAM_FIELD_LEN,
        ngx_mail_spam_bayes_hash(NGX_MAIL_SPAM_DIGEST_KEY2, text, n));

    return NGX_MAIL_SPAM_BAYES_OK;
}


void
ngx_mail_spam_message_hex(char *p, uint64_t value)
{
    int                 i;
    static const char   hex[] = "0123456789abcdef";

    for (i = NGX_MAIL_SPAM_FIELD_LEN - 1; i >= 0; i--) {
        p[i] = hex[value & 0xf];
        value >>= 4;
    }
}


/*
 * An mbox's "From " line before a message saved from a mail client is no
 * header: neither tokens nor digest
 */

static size_t
ngx_mail_spam_message_envelope(const mime_uchar_t *p, size_t len)
{
    const mime_uchar_t  *eol;

    if (len < 5 || memcmp(p, "From ", 5) != 0) {
        return 0;
    }

    eol = memchr(p, '\n', len);

    return eol ? (size_t) (eol + 1 - p) : len;
}


/*
 * Copies the text the digest is taken of into "out", which has room for
 * min(len, NGX_MAIL_SPAM_DIGEST_MAX) bytes: the header without the trace
 * fields, then the body, LF line ends, none at the very end.
 */

static size_t
ngx_mail_spam_message_normalize(mime_uchar_t *out, const mime_uchar_t *p,
    size_t len)
{
    int                  header, skip;
    size_t               n;
    const mime_uchar_t  *end, *eol, *q;

    end = p + len;
    n = 0;
    header = 1;
    skip = 0;

    while (p < end && n < NGX_MAIL_SPAM_DIGEST_MAX) {

        eol = memchr(p, '\n', end - p);
        eol = eol ? eol + 1 : end;

        if (header) {
            if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
                /* the blank line that ends the header */
                header = 0;
                skip = 0;

            } else if (*p != ' ' && *p != '\t') {
                skip = ngx_mail_spam_message_is_trace(p, eol);
            }

            if (skip) {
                p = eol;
                continue;
            }
        }

        for (q = p; q < eol && n < NGX_MAIL_SPAM_DIGEST_MAX; q++) {
            if (*q == '\r' && q + 1 < eol && q[1] == '\n') {
                continue;
            }

            out[n++] = *q;
        }

        p = eol;
    }

    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r')) {
        n--;
    }

    return n;
}


static int
ngx_mail_spam_message_is_trace(const mime_uchar_t *p, const mime_uchar_t *end)
{
    const mime_uchar_t           *q;
    const ngx_mail_spam_trace_t  *t;

    for (t = ngx_mail_spam_trace; t->name; t++) {
        if ((size_t) (end - p) <= t->len
            || strncasecmp((const char *) p, t->name, t->len) != 0)
        {
            continue;
        }

        if (t->prefix) {
            return 1;
        }

        /* the name ends at the colon, maybe after white space */

        for (q = p + t->len; q < end && (*q == ' ' || *q == '\t'); q++) {
            /* void */
        }

        if (q < end && *q == ':') {
            return 1;
        }
    }

    return 0;
}
