
/*
 * The Bayesian classifier's tokenizer, token hash and Robinson / Fisher
 * combining; the formulas and constants are in ngx_mail_spam_bayes.h.
 */


#include <string.h>
#include <math.h>

#include "ngx_mail_spam_bayes.h"


#define NGX_MAIL_SPAM_BAYES_SKIP_LEN   8
/* HTML tag names are short; a longer run is cut, not a new tag */
#define NGX_MAIL_SPAM_BAYES_MAX_TAG    16

/* the character classes of the word scanner */
#define NGX_MAIL_SPAM_BAYES_SEP        0
#define NGX_MAIL_SPAM_BAYES_LETTER     1
#define NGX_MAIL_SPAM_BAYES_INNER      2   /* . - ' _ inside a word */
#define NGX_MAIL_SPAM_BAYES_DOLLAR     3   /* only at a word's start */


/*
 * the word being scanned, lowercased and as written: lowercasing keeps
 * the UTF-8 length, so "len" is the length of both
 */

typedef struct {
    mime_uchar_t              word[NGX_MAIL_SPAM_BAYES_MAX_WORD + 4];
    mime_uchar_t              orig[NGX_MAIL_SPAM_BAYES_MAX_WORD + 4];
    size_t                    len;
    unsigned                  upper;    /* orig differs from word */
} ngx_mail_spam_bayes_word_t;


typedef struct {
    double                    dev;
    double                    f;
    uint64_t                  tie;
} ngx_mail_spam_bayes_sig_t;


typedef struct {
    ngx_mail_spam_bayes_sig_t  *heap;
    unsigned                    n;
    unsigned                    max;
    unsigned                    known;
    double                      min_dev;
} ngx_mail_spam_bayes_top_t;


static int ngx_mail_spam_bayes_add(ngx_mail_spam_bayes_tokens_t *tokens,
    const char *prefix, const mime_uchar_t *p, size_t len, int lowercase);
static int ngx_mail_spam_bayes_class(uint32_t cp);
static uint32_t ngx_mail_spam_bayes_lower(uint32_t cp);
static int ngx_mail_spam_bayes_is_cjk(uint32_t cp);
static int ngx_mail_spam_bayes_cjk(ngx_mail_spam_bayes_tokens_t *tokens,
    const char *prefix, const mime_uchar_t *p, size_t n);
static int ngx_mail_spam_bayes_word(ngx_mail_spam_bayes_tokens_t *tokens,
    const char *prefix, ngx_mail_spam_bayes_word_t *w, size_t full_len);
static const mime_uchar_t *ngx_mail_spam_bayes_url_host(
    const mime_uchar_t *p, const mime_uchar_t *start,
    const mime_uchar_t *end);
static int ngx_mail_spam_bayes_header(ngx_mail_spam_bayes_tokens_t *tokens,
    const mime_message_t *msg, const mime_header_t *h, const char *prefix,
    int encoded_words);
static int ngx_mail_spam_bayes_has_html(const mime_message_t *msg);
static int ngx_mail_spam_bayes_tokenize_html(
    ngx_mail_spam_bayes_tokens_t *tokens, const mime_uchar_t *p, size_t len);
static void ngx_mail_spam_bayes_params(
    const ngx_mail_spam_bayes_params_t *in, ngx_mail_spam_bayes_params_t *p);
static int ngx_mail_spam_bayes_sig_less(const ngx_mail_spam_bayes_sig_t *a,
    const ngx_mail_spam_bayes_sig_t *b);
static void ngx_mail_spam_bayes_top_add(ngx_mail_spam_bayes_top_t *top,
    const ngx_mail_spam_bayes_count_t *c, uint64_t tie, uint64_t nspam,
    uint64_t nham, const ngx_mail_spam_bayes_params_t *params);
static void ngx_mail_spam_bayes_combine(const ngx_mail_spam_bayes_top_t *top,
    ngx_mail_spam_bayes_result_t *result);


uint64_t
ngx_mail_spam_bayes_hash(uint64_t key, const mime_uchar_t *p, size_t len)
{
    size_t    i;
    uint64_t  h;

    /* FNV-1a 64: offset basis and prime from the FNV specification */

    h = 0xcbf29ce484222325ULL;

    for (i = 0; i < 8; i++) {
        h ^= (key >> (i * 8)) & 0xff;
        h *= 0x100000001b3ULL;
    }

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }

    /*
     * FNV's last bytes reach only the low bits well; the finalizer of
     * MurmurHash3 spreads them, since the caller may use any bits
     */

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return h;
}


int
ngx_mail_spam_bayes_tokens_init(ngx_mail_spam_bayes_tokens_t *tokens,
    const mime_allocator_t *allocator,
    const ngx_mail_spam_bayes_limits_t *limits)
{
    unsigned  max_tokens, size;

    max_tokens = NGX_MAIL_SPAM_BAYES_DEFAULT_MAX_TOKENS;
    tokens->max_scan = NGX_MAIL_SPAM_BAYES_DEFAULT_MAX_SCAN;
    tokens->hash_key = 0;

    if (limits) {
        if (limits->max_tokens) {
            max_tokens = limits->max_tokens;
        }

        if (limits->max_scan) {
            tokens->max_scan = limits->max_scan;
        }

        tokens->hash_key = limits->hash_key;
    }

    if (max_tokens > NGX_MAIL_SPAM_BAYES_HARD_MAX_TOKENS) {
        max_tokens = NGX_MAIL_SPAM_BAYES_HARD_MAX_TOKENS;
    }

    /* a power of two at least twice max_tokens: probes stay short */

    size = 16;
    while (size < max_tokens * 2) {
        size *= 2;
    }

    tokens->tokens = mime_alloc(allocator,
                         max_tokens * sizeof(ngx_mail_spam_bayes_token_t));
    tokens->slots = mime_alloc(allocator, size * sizeof(unsigned));

    if (tokens->tokens == NULL || tokens->slots == NULL) {
        return NGX_MAIL_SPAM_BAYES_ERROR;
    }

    memset(tokens->slots, 0, size * sizeof(unsigned));

    tokens->ntokens = 0;
    tokens->max_tokens = max_tokens;
    tokens->mask = size - 1;
    tokens->scanned = 0;
    tokens->allocator = allocator;
    tokens->truncated = 0;

    return NGX_MAIL_SPAM_BAYES_OK;
}


int
ngx_mail_spam_bayes_token_add(ngx_mail_spam_bayes_tokens_t *tokens,
    const char *prefix, const mime_uchar_t *p, size_t len)
{
    return ngx_mail_spam_bayes_add(tokens, prefix, p, len, 1);
}


static int
ngx_mail_spam_bayes_add(ngx_mail_spam_bayes_tokens_t *tokens,
    const char *prefix, const mime_uchar_t *p, size_t len, int lowercase)
{
    size_t                        plen, i, tlen;
    unsigned                      slot, idx;
    uint64_t                      hash;
    mime_uchar_t                  buf[NGX_MAIL_SPAM_BAYES_MAX_TOKEN];
    mime_uchar_t                 *copy;
    ngx_mail_spam_bayes_token_t  *t;

    plen = prefix ? strlen(prefix) : 0;

    if (plen + len > NGX_MAIL_SPAM_BAYES_MAX_TOKEN || len == 0) {
        return NGX_MAIL_SPAM_BAYES_OK;
    }

    if (plen) {
        memcpy(buf, prefix, plen);
    }

    /* the scanner lowercased non-ASCII letters; ASCII here for callers */

    for (i = 0; i < len; i++) {
        buf[plen + i] = (lowercase && p[i] >= 'A' && p[i] <= 'Z')
                        ? p[i] + 0x20 : p[i];
    }

    tlen = plen + len;
    hash = ngx_mail_spam_bayes_hash(tokens->hash_key, buf, tlen);

    for (slot = hash & tokens->mask; /* void */;
         slot = (slot + 1) & tokens->mask)
    {
        idx = tokens->slots[slot];

        if (idx == 0) {
            break;
        }

        t = &tokens->tokens[idx - 1];

        if (t->hash == hash && t->len == tlen
            && memcmp(t->data, buf, tlen) == 0)
        {
            return NGX_MAIL_SPAM_BAYES_OK;
        }
    }

    if (tokens->ntokens == tokens->max_tokens) {
        tokens->truncated = 1;
        return NGX_MAIL_SPAM_BAYES_OK;
    }

    copy = mime_alloc(tokens->allocator, tlen);
    if (copy == NULL) {
        return NGX_MAIL_SPAM_BAYES_ERROR;
    }

    memcpy(copy, buf, tlen);

    t = &tokens->tokens[tokens->ntokens++];
    t->data = copy;
    t->len = tlen;
    t->hash = hash;

    tokens->slots[slot] = tokens->ntokens;

    return NGX_MAIL_SPAM_BAYES_OK;
}


static int
ngx_mail_spam_bayes_class(uint32_t cp)
{
    if (cp < 0x80) {
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')
            || (cp >= '0' && cp <= '9'))
        {
            return NGX_MAIL_SPAM_BAYES_LETTER;
        }

        switch (cp) {
        case '.':
        case '-':
        case '\'':
        case '_':
            return NGX_MAIL_SPAM_BAYES_INNER;
        case '$':
            return NGX_MAIL_SPAM_BAYES_DOLLAR;
        default:
            return NGX_MAIL_SPAM_BAYES_SEP;
        }
    }

    /*
     * the non-ASCII blocks that hold spaces, controls and punctuation
     * rather than letters: C1 controls and Latin-1 symbols, the
     * multiplication and division signs, general punctuation, arrows to
     * dingbats, CJK punctuation, fullwidth ASCII punctuation, BOM and
     * the specials
     */

    if (cp <= 0xbf || cp == 0xd7 || cp == 0xf7
        || (cp >= 0x2000 && cp <= 0x206f)
        || (cp >= 0x2190 && cp <= 0x2bff)
        || (cp >= 0x3000 && cp <= 0x303f)
        || (cp >= 0xff00 && cp <= 0xff0f)
        || cp == 0xfeff || (cp >= 0xfff0 && cp <= 0xffff))
    {
        return NGX_MAIL_SPAM_BAYES_SEP;
    }

    return NGX_MAIL_SPAM_BAYES_LETTER;
}


/* lowercasing keeps the UTF-8 length in every range mapped here */

static uint32_t
ngx_mail_spam_bayes_lower(uint32_t cp)
{
    if (cp >= 'A' && cp <= 'Z') {
        return cp + 0x20;
    }

    if (cp < 0xc0) {
        return cp;
    }

    /* Latin-1 */

    if (cp <= 0xde) {
        return (cp == 0xd7) ? cp : cp + 0x20;
    }

    /* Latin Extended-A: pairs, upper case first, with three shifts */

    if (cp >= 0x100 && cp <= 0x17e) {
        if ((cp <= 0x137 && cp != 0x130) || (cp >= 0x14a && cp <= 0x177)) {
            return (cp & 1) ? cp : cp + 1;
        }

        if ((cp >= 0x139 && cp <= 0x148) || cp >= 0x179) {
            return (cp & 1) ? cp + 1 : cp;
        }

        return cp;
    }

    /* Greek and Cyrillic capitals */

    if (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2) {
        return cp + 0x20;
    }

    if (cp >= 0x410 && cp <= 0x42f) {
        return cp + 0x20;
    }

    if (cp >= 0x400 && cp <= 0x40f) {
        return cp + 0x50;
    }

    return cp;
}


/* the token of one CJK character: its UTF-8 bytes after "u8:" */

static int
ngx_mail_spam_bayes_cjk(ngx_mail_spam_bayes_tokens_t *tokens,
    const char *prefix, const mime_uchar_t *p, size_t n)
{
    size_t        plen;
    mime_uchar_t  buf[NGX_MAIL_SPAM_BAYES_MAX_TOKEN];

    plen = prefix ? strlen(prefix) : 0;

    if (plen + 3 + n > sizeof(buf)) {
        return NGX_MAIL_SPAM_BAYES_OK;
    }

    if (plen) {
        memcpy(buf, prefix, plen);
    }

    memcpy(buf + plen, "u8:", 3);
    memcpy(buf + plen + 3, p, n);

    return ngx_mail_spam_bayes_add(tokens, NULL, buf, plen + 3 + n, 0);
}


/*
 * Chinese and Japanese are written without spaces between words, so a
 * run of their characters is one long word that hardly ever recurs and
 * leaves only an "sk:" token.  Each character is a token of its own as
 * well ("u8:"), as in SpamAssassin's tokenizer: kana, the CJK ideographs
 * and their radicals and symbols, Hangul syllables.
 */

static int
ngx_mail_spam_bayes_is_cjk(uint32_t cp)
{
    return (cp >= 0x2e80 && cp <= 0x2fff)       /* radicals, ideographic */
           || (cp >= 0x3040 && cp <= 0x9fff)    /* kana .. ideographs */
           || (cp >= 0xac00 && cp <= 0xd7af)    /* Hangul syllables */
           || (cp >= 0xf900 && cp <= 0xfaff);   /* compatibility */
}


int
ngx_mail_spam_bayes_tokenize_text(ngx_mail_spam_bayes_tokens_t *tokens,
    const char *prefix, const mime_uchar_t *p, size_t len)
{
    int                         cls;
    size_t                      n, full_len, room;
    uint32_t                    cp;
    const mime_uchar_t         *end;
    ngx_mail_spam_bayes_word_t  w;

    room = tokens->max_scan - tokens->scanned;

    if (len > room) {
        len = room;
        tokens->truncated = 1;
    }

    tokens->scanned += len;
    end = p + len;

    /*
     * "word" keeps the first MAX_WORD bytes; full_len counts on, so a
     * longer word is known as one and becomes an "sk:" token
     */

    w.len = 0;
    w.upper = 0;
    full_len = 0;

    while (p < end) {
        n = mime_utf8_decode(p, end, &cp);

        if (n == 0) {
            cls = NGX_MAIL_SPAM_BAYES_SEP;
            n = 1;

        } else {
            cls = ngx_mail_spam_bayes_class(cp);

            if (ngx_mail_spam_bayes_is_cjk(cp)
                && ngx_mail_spam_bayes_cjk(tokens, prefix, p, n)
                   != NGX_MAIL_SPAM_BAYES_OK)
            {
                return NGX_MAIL_SPAM_BAYES_ERROR;
            }
        }

        p += n;

        if (full_len == 0) {
            if (cls == NGX_MAIL_SPAM_BAYES_LETTER
                || cls == NGX_MAIL_SPAM_BAYES_DOLLAR)
            {
                w.len = mime_utf8_encode(ngx_mail_spam_bayes_lower(cp),
                                         w.word);
                mime_utf8_encode(cp, w.orig);
                w.upper = (ngx_mail_spam_bayes_lower(cp) != cp);
                full_len = w.len;
            }

            continue;
        }

        if (cls == NGX_MAIL_SPAM_BAYES_LETTER
            || cls == NGX_MAIL_SPAM_BAYES_INNER)
        {
            full_len += n;

            if (w.len + n <= NGX_MAIL_SPAM_BAYES_MAX_WORD) {
                mime_utf8_encode(cp, w.orig + w.len);
                w.len += mime_utf8_encode(ngx_mail_spam_bayes_lower(cp),
                                          w.word + w.len);
                w.upper |= (ngx_mail_spam_bayes_lower(cp) != cp);
            }

            continue;
        }

        if (ngx_mail_spam_bayes_word(tokens, prefix, &w, full_len)
            != NGX_MAIL_SPAM_BAYES_OK)
        {
            return NGX_MAIL_SPAM_BAYES_ERROR;
        }

        w.len = 0;
        w.upper = 0;
        full_len = 0;

        if (cls == NGX_MAIL_SPAM_BAYES_DOLLAR) {
            w.len = 1;
            full_len = 1;
            w.word[0] = '$';
            w.orig[0] = '$';
        }
    }

    if (full_len) {
        return ngx_mail_spam_bayes_word(tokens, prefix, &w, full_len);
    }

    return NGX_MAIL_SPAM_BAYES_OK;
}


static int
ngx_mail_spam_bayes_word(ngx_mail_spam_bayes_tokens_t *tokens,
    const char *prefix, ngx_mail_spam_bayes_word_t *w, size_t full_len)
{
    size_t        i, len, plen;
    unsigned      digits;
    mime_uchar_t  buf[NGX_MAIL_SPAM_BAYES_MAX_TOKEN];

    len = w->len;
    plen = prefix ? strlen(prefix) : 0;

    if (full_len > NGX_MAIL_SPAM_BAYES_MAX_WORD) {

        /* the first bytes, not cutting a UTF-8 sequence */

        len = NGX_MAIL_SPAM_BAYES_SKIP_LEN;
        while (len > 0 && (w->word[len] & 0xc0) == 0x80) {
            len--;
        }

        if (plen + 3 + len > sizeof(buf)) {
            return NGX_MAIL_SPAM_BAYES_OK;
        }

        if (plen) {
            memcpy(buf, prefix, plen);
        }

        memcpy(buf + plen, "sk:", 3);
        memcpy(buf + plen + 3, w->word, len);

        return ngx_mail_spam_bayes_token_add(tokens, NULL, buf,
                                             plen + 3 + len);
    }

    /* "end." or "it's-": trailing inner characters are punctuation */

    while (len > 0 && (w->word[len - 1] == '.' || w->word[len - 1] == '-'
                       || w->word[len - 1] == '\'' || w->word[len - 1] == '_'))
    {
        len--;
    }

    if (len < NGX_MAIL_SPAM_BAYES_MIN_WORD) {
        return NGX_MAIL_SPAM_BAYES_OK;
    }

    digits = 1;

    for (i = 0; i < len; i++) {
        if (!(w->word[i] >= '0' && w->word[i] <= '9') && w->word[i] != '.'
            && w->word[i] != '-')
        {
            digits = 0;
            break;
        }
    }

    if (digits) {
        return NGX_MAIL_SPAM_BAYES_OK;
    }

    if (ngx_mail_spam_bayes_token_add(tokens, prefix, w->word, len)
        != NGX_MAIL_SPAM_BAYES_OK)
    {
        return NGX_MAIL_SPAM_BAYES_ERROR;
    }

    /*
     * a word written with capitals is one more token as written: "FREE"
     * and "Viagra" are spammier than "free" and "viagra" in a sentence,
     * while the lowercased token still pools all the spellings
     */

    if (!w->upper) {
        return NGX_MAIL_SPAM_BAYES_OK;
    }

    return ngx_mail_spam_bayes_add(tokens, prefix, w->orig, len, 0);
}


/*
 * an URL's host at p: after "http://" or "https://", or at a bare
 * "www." that starts a word (not "awww." nor "x.www.")
 */

static const mime_uchar_t *
ngx_mail_spam_bayes_url_host(const mime_uchar_t *p,
    const mime_uchar_t *start, const mime_uchar_t *end)
{
    size_t  left;

    left = end - p;

    if (left > 7 && mime_strcaseeq(p, 7, "http://")) {
        return p + 7;
    }

    if (left > 8 && mime_strcaseeq(p, 8, "https://")) {
        return p + 8;
    }

    if (left > 4 && mime_strcaseeq(p, 4, "www.")
        && (p == start
            || (p[-1] < 0x80
                && ngx_mail_spam_bayes_class(p[-1])
                   == NGX_MAIL_SPAM_BAYES_SEP)))
    {
        return p;
    }

    return NULL;
}


int
ngx_mail_spam_bayes_tokenize_urls(ngx_mail_spam_bayes_tokens_t *tokens,
    const mime_uchar_t *p, size_t len)
{
    size_t               hlen, dots;
    const mime_uchar_t  *start, *end, *host, *q, *last2;

    if (len > tokens->max_scan) {
        len = tokens->max_scan;
        tokens->truncated = 1;
    }

    start = p;
    end = p + len;

    while (p < end) {
        if (*p != 'h' && *p != 'H' && *p != 'w' && *p != 'W') {
            p++;
            continue;
        }

        host = ngx_mail_spam_bayes_url_host(p, start, end);

        if (host == NULL) {
            p++;
            continue;
        }

        q = host;

        /* RFC 3986 3.2: userinfo ends at the authority's last '@' */

        for (q = host; q < end && q - host < 256; q++) {
            if (*q == '/' || *q == '?' || *q == '#' || *q <= ' '
                || *q == '"' || *q == '\'' || *q == '<' || *q == '>')
            {
                break;
            }

            if (*q == '@') {
                host = q + 1;
            }
        }

        q = host;

        while (q < end && ((*q >= 'a' && *q <= 'z')
                           || (*q >= 'A' && *q <= 'Z')
                           || (*q >= '0' && *q <= '9')
                           || *q == '-' || *q == '.'))
        {
            q++;
        }

        p = (q > p) ? q : p + 1;

        hlen = q - host;

        while (hlen > 0 && host[hlen - 1] == '.') {
            hlen--;
        }

        while (hlen > 0 && host[0] == '.') {
            host++;
            hlen--;
        }

        if (hlen == 0 || hlen > 253) {
            continue;
        }

        dots = 0;
        last2 = host;

        for (q = host + hlen; q > host; q--) {
            if (q[-1] == '.' && ++dots == 2) {
                last2 = q;
                break;
            }
        }

        /* "http://localhost" names no one */

        if (dots == 0) {
            continue;
        }

        if (ngx_mail_spam_bayes_token_add(tokens, "u:", host, hlen)
            != NGX_MAIL_SPAM_BAYES_OK)
        {
            return NGX_MAIL_SPAM_BAYES_ERROR;
        }

        if (last2 != host
            && ngx_mail_spam_bayes_token_add(tokens, "u:", last2,
                                             host + hlen - last2)
               != NGX_MAIL_SPAM_BAYES_OK)
        {
            return NGX_MAIL_SPAM_BAYES_ERROR;
        }
    }

    return NGX_MAIL_SPAM_BAYES_OK;
}


static int
ngx_mail_spam_bayes_header(ngx_mail_spam_bayes_tokens_t *tokens,
    const mime_message_t *msg, const mime_header_t *h, const char *prefix,
    int encoded_words)
{
    mime_str_t  value, text;

    if (mime_header_value(msg, h, &value) != MIME_OK) {
        return NGX_MAIL_SPAM_BAYES_ERROR;
    }

    text = value;

    /* RFC 2047: a header that fails to decode is still read raw */

    if (encoded_words
        && mime_words_decode(tokens->allocator, value.data, value.len,
                             &text) != MIME_OK)
    {
        text = value;
    }

    return ngx_mail_spam_bayes_tokenize_text(tokens, prefix, text.data,
                                             text.len);
}


static int
ngx_mail_spam_bayes_has_html(const mime_message_t *msg)
{
    const mime_part_t  *part;

    part = msg->root;

    while (part) {
        if ((part->flags & MIME_PART_TEXT)
            && mime_strcaseeq(part->subtype.data, part->subtype.len, "html"))
        {
            return 1;
        }

        part = mime_part_next(part);
    }

    return 0;
}


/*
 * the tag names of HTML, "html:font", "html:table": the markup of bulk
 * mail differs from what people's mail clients write.  Attributes and
 * their values ("html:font.color=red") were measured too and scored
 * hams written by Outlook Express as spam, so they are not made.  The
 * text is every text part undecoded, so a plain part's "<a@b>" makes an
 * "html:a" token as well: harmless, it is the same in spam and ham.
 */

static int
ngx_mail_spam_bayes_tokenize_html(ngx_mail_spam_bayes_tokens_t *tokens,
    const mime_uchar_t *p, size_t len)
{
    const mime_uchar_t  *end, *tag;

    if (len > tokens->max_scan) {
        len = tokens->max_scan;
        tokens->truncated = 1;
    }

    end = p + len;

    while (p < end) {
        if (*p++ != '<') {
            continue;
        }

        if (p < end && *p == '/') {
            p++;
        }

        if (p == end || !((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')) {
            continue;
        }

        tag = p;

        while (p < end && p - tag < NGX_MAIL_SPAM_BAYES_MAX_TAG
               && (((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')
                   || (*p >= '0' && *p <= '9')))
        {
            p++;
        }

        if (ngx_mail_spam_bayes_token_add(tokens, "html:", tag, p - tag)
            != NGX_MAIL_SPAM_BAYES_OK)
        {
            return NGX_MAIL_SPAM_BAYES_ERROR;
        }
    }

    return NGX_MAIL_SPAM_BAYES_OK;
}


int
ngx_mail_spam_bayes_tokenize(ngx_mail_spam_bayes_tokens_t *tokens,
    const mime_message_t *msg)
{
    int                  rc;
    mime_buf_t           text;
    const mime_part_t   *part;
    const mime_header_t *h;

    for (h = msg->root->headers; h; h = h->next) {

        if (mime_header_name_is(msg, h, "Subject", 7)) {
            rc = ngx_mail_spam_bayes_header(tokens, msg, h, "s:", 1);

        } else if (mime_header_name_is(msg, h, "From", 4)) {
            rc = ngx_mail_spam_bayes_header(tokens, msg, h, "f:", 1);

        } else if (mime_header_name_is(msg, h, "To", 2)
                   || mime_header_name_is(msg, h, "Cc", 2))
        {
            rc = ngx_mail_spam_bayes_header(tokens, msg, h, "t:", 1);

        } else if (mime_header_name_is(msg, h, "X-Mailer", 8)
                   || mime_header_name_is(msg, h, "User-Agent", 10))
        {
            rc = ngx_mail_spam_bayes_header(tokens, msg, h, "xm:", 0);

        } else if (mime_header_name_is(msg, h, "Reply-To", 8)) {
            rc = ngx_mail_spam_bayes_header(tokens, msg, h, "rt:", 1);

        } else if (mime_header_name_is(msg, h, "Message-ID", 10)) {
            rc = ngx_mail_spam_bayes_header(tokens, msg, h, "mid:", 0);

        } else if (mime_header_name_is(msg, h, "X-Priority", 10)
                   || mime_header_name_is(msg, h, "X-MSMail-Priority", 17)
                   || mime_header_name_is(msg, h, "Importance", 10))
        {
            rc = ngx_mail_spam_bayes_header(tokens, msg, h, "pri:", 0);

        } else if (mime_header_name_is(msg, h, "Return-Path", 11)
                   || mime_header_name_is(msg, h, "Sender", 6))
        {
            rc = ngx_mail_spam_bayes_header(tokens, msg, h, "rp:", 0);

        } else if (mime_header_name_is(msg, h, "Organization", 12)) {
            rc = ngx_mail_spam_bayes_header(tokens, msg, h, "org:", 1);

        } else {
            continue;
        }

        if (rc != NGX_MAIL_SPAM_BAYES_OK) {
            return rc;
        }
    }

    /* the Content-Type of every part: the structure tells spam too */

    part = msg->root;

    while (part) {
        if (part->content_type
            && ngx_mail_spam_bayes_header(tokens, msg, part->content_type,
                                          "ct:", 0)
               != NGX_MAIL_SPAM_BAYES_OK)
        {
            return NGX_MAIL_SPAM_BAYES_ERROR;
        }

        part = mime_part_next(part);
    }

    mime_buf_init(&text, tokens->allocator, 4096);

    if (mime_text_extract(msg, &text, MIME_TEXT_HTML_STRIP) != MIME_OK
        || text.failed)
    {
        return NGX_MAIL_SPAM_BAYES_ERROR;
    }

    if (ngx_mail_spam_bayes_tokenize_text(tokens, NULL, text.data, text.len)
        != NGX_MAIL_SPAM_BAYES_OK)
    {
        return NGX_MAIL_SPAM_BAYES_ERROR;
    }

    /* stripping HTML drops the links' hosts and the tags: read them */

    if (ngx_mail_spam_bayes_has_html(msg)) {
        mime_buf_init(&text, tokens->allocator, 4096);

        if (mime_text_extract(msg, &text, 0) != MIME_OK || text.failed) {
            return NGX_MAIL_SPAM_BAYES_ERROR;
        }

        if (ngx_mail_spam_bayes_tokenize_html(tokens, text.data, text.len)
            != NGX_MAIL_SPAM_BAYES_OK)
        {
            return NGX_MAIL_SPAM_BAYES_ERROR;
        }
    }

    return ngx_mail_spam_bayes_tokenize_urls(tokens, text.data, text.len);
}


static void
ngx_mail_spam_bayes_params(const ngx_mail_spam_bayes_params_t *in,
    ngx_mail_spam_bayes_params_t *p)
{
    p->s = NGX_MAIL_SPAM_BAYES_DEFAULT_S;
    p->x = NGX_MAIL_SPAM_BAYES_DEFAULT_X;
    p->min_dev = NGX_MAIL_SPAM_BAYES_DEFAULT_MIN_DEV;
    p->max_used = NGX_MAIL_SPAM_BAYES_DEFAULT_MAX_USED;

    if (in == NULL) {
        return;
    }

    if (in->s > 0) {
        p->s = in->s;
    }

    if (in->x > 0 && in->x < 1) {
        p->x = in->x;
    }

    if (in->min_dev > 0 && in->min_dev < 0.5) {
        p->min_dev = in->min_dev;
    }

    if (in->max_used) {
        p->max_used = in->max_used;
    }

    if (p->max_used > NGX_MAIL_SPAM_BAYES_HARD_MAX_USED) {
        p->max_used = NGX_MAIL_SPAM_BAYES_HARD_MAX_USED;
    }
}


double
ngx_mail_spam_bayes_token_prob(const ngx_mail_spam_bayes_count_t *c,
    uint64_t nspam, uint64_t nham, const ngx_mail_spam_bayes_params_t *params)
{
    double                        spam_ratio, ham_ratio, p, n;
    ngx_mail_spam_bayes_params_t  pr;

    ngx_mail_spam_bayes_params(params, &pr);

    spam_ratio = nspam ? (double) c->spam_count / nspam : 0;
    ham_ratio = nham ? (double) c->ham_count / nham : 0;

    if (spam_ratio + ham_ratio == 0) {
        return pr.x;
    }

    /* a count above its total (a race in the store) still means "all" */

    if (spam_ratio > 1) {
        spam_ratio = 1;
    }

    if (ham_ratio > 1) {
        ham_ratio = 1;
    }

    p = spam_ratio / (spam_ratio + ham_ratio);
    n = (double) c->spam_count + (double) c->ham_count;

    return (pr.s * pr.x + n * p) / (pr.s + n);
}


double
ngx_mail_spam_bayes_chi2q(double chi, unsigned df)
{
    double    m, log_m, log_term, sum;
    unsigned  i;

    if (chi <= 0 || df < 2) {
        return 1;
    }

    /*
     * for even df, Q = e^-m * sum(m^i / i!, i < df/2) with m = chi/2;
     * each term in log space, e^-m alone underflows past m = 745
     */

    m = chi / 2;
    log_m = log(m);
    log_term = -m;
    sum = exp(log_term);

    for (i = 1; i < df / 2; i++) {
        log_term += log_m - log((double) i);
        sum += exp(log_term);
    }

    return (sum > 1) ? 1 : sum;
}


/* "a" less significant than "b": farther from 0.5 wins, then lower tie */

static int
ngx_mail_spam_bayes_sig_less(const ngx_mail_spam_bayes_sig_t *a,
    const ngx_mail_spam_bayes_sig_t *b)
{
    if (a->dev != b->dev) {
        return a->dev < b->dev;
    }

    return a->tie > b->tie;
}


/* a min-heap of the max most significant tokens: the least at [0] */

static void
ngx_mail_spam_bayes_top_add(ngx_mail_spam_bayes_top_t *top,
    const ngx_mail_spam_bayes_count_t *c, uint64_t tie, uint64_t nspam,
    uint64_t nham, const ngx_mail_spam_bayes_params_t *params)
{
    unsigned                    i, child;
    ngx_mail_spam_bayes_sig_t   sig, tmp;
    ngx_mail_spam_bayes_sig_t  *h;

    if (c->spam_count == 0 && c->ham_count == 0) {
        return;
    }

    top->known++;

    sig.f = ngx_mail_spam_bayes_token_prob(c, nspam, nham, params);
    sig.dev = fabs(sig.f - 0.5);
    sig.tie = tie;

    if (!(sig.dev > top->min_dev)) {
        return;
    }

    h = top->heap;

    if (top->n < top->max) {
        i = top->n++;
        h[i] = sig;

        while (i > 0 && ngx_mail_spam_bayes_sig_less(&h[i], &h[(i - 1) / 2]))
        {
            tmp = h[i];
            h[i] = h[(i - 1) / 2];
            h[(i - 1) / 2] = tmp;
            i = (i - 1) / 2;
        }

        return;
    }

    if (!ngx_mail_spam_bayes_sig_less(&h[0], &sig)) {
        return;
    }

    h[0] = sig;
    i = 0;

    for ( ;; ) {
        child = 2 * i + 1;

        if (child >= top->n) {
            break;
        }

        if (child + 1 < top->n
            && ngx_mail_spam_bayes_sig_less(&h[child + 1], &h[child]))
        {
            child++;
        }

        if (!ngx_mail_spam_bayes_sig_less(&h[child], &h[i])) {
            break;
        }

        tmp = h[i];
        h[i] = h[child];
        h[child] = tmp;
        i = child;
    }
}


static void
ngx_mail_spam_bayes_combine(const ngx_mail_spam_bayes_top_t *top,
    ngx_mail_spam_bayes_result_t *result)
{
    double    f, ln_f, ln_1f, hq, sq;
    unsigned  i;

    result->used = top->n;
    result->known = top->known;

    if (top->n == 0) {
        result->score = 0.5;
        result->spamminess = 0;
        result->hamminess = 0;
        return;
    }

    ln_f = 0;
    ln_1f = 0;

    for (i = 0; i < top->n; i++) {

        /* f is never 0 or 1 with s > 0; the clamp guards the logs */

        f = top->heap[i].f;

        if (f < 1e-12) {
            f = 1e-12;

        } else if (f > 1 - 1e-12) {
            f = 1 - 1e-12;
        }

        ln_f += log(f);
        ln_1f += log(1 - f);
    }

    hq = ngx_mail_spam_bayes_chi2q(-2 * ln_f, 2 * top->n);
    sq = ngx_mail_spam_bayes_chi2q(-2 * ln_1f, 2 * top->n);

    result->hamminess = 1 - hq;
    result->spamminess = 1 - sq;
    result->score = (1 + hq - sq) / 2;
}


int
ngx_mail_spam_bayes_classify(const ngx_mail_spam_bayes_count_t *counts,
    const ngx_mail_spam_bayes_token_t *tokens, size_t n, uint64_t nspam,
    uint64_t nham, const ngx_mail_spam_bayes_params_t *params,
    ngx_mail_spam_bayes_result_t *result)
{
    size_t                        i;
    ngx_mail_spam_bayes_sig_t     heap[NGX_MAIL_SPAM_BAYES_HARD_MAX_USED];
    ngx_mail_spam_bayes_top_t     top;
    ngx_mail_spam_bayes_params_t  pr;

    ngx_mail_spam_bayes_params(params, &pr);

    top.heap = heap;
    top.n = 0;
    top.max = pr.max_used;
    top.known = 0;
    top.min_dev = pr.min_dev;

    for (i = 0; i < n; i++) {
        ngx_mail_spam_bayes_top_add(&top, &counts[i],
                                    tokens ? tokens[i].hash : i,
                                    nspam, nham, &pr);
    }

    ngx_mail_spam_bayes_combine(&top, result);

    return NGX_MAIL_SPAM_BAYES_OK;
}


int
ngx_mail_spam_bayes_classify_lookup(
    const ngx_mail_spam_bayes_tokens_t *tokens,
    ngx_mail_spam_bayes_lookup_pt lookup, void *ctx, uint64_t nspam,
    uint64_t nham, const ngx_mail_spam_bayes_params_t *params,
    ngx_mail_spam_bayes_result_t *result)
{
    unsigned                      i;
    ngx_mail_spam_bayes_sig_t     heap[NGX_MAIL_SPAM_BAYES_HARD_MAX_USED];
    ngx_mail_spam_bayes_top_t     top;
    ngx_mail_spam_bayes_count_t   count;
    ngx_mail_spam_bayes_params_t  pr;

    ngx_mail_spam_bayes_params(params, &pr);

    top.heap = heap;
    top.n = 0;
    top.max = pr.max_used;
    top.known = 0;
    top.min_dev = pr.min_dev;

    for (i = 0; i < tokens->ntokens; i++) {
        count.spam_count = 0;
        count.ham_count = 0;

        if (lookup(ctx, &tokens->tokens[i], &count)
            != NGX_MAIL_SPAM_BAYES_OK)
        {
            return NGX_MAIL_SPAM_BAYES_ERROR;
        }

        ngx_mail_spam_bayes_top_add(&top, &count, tokens->tokens[i].hash,
                                    nspam, nham, &pr);
    }

    ngx_mail_spam_bayes_combine(&top, result);

    return NGX_MAIL_SPAM_BAYES_OK;
}
