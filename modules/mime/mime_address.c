
/*
 * RFC 5322 3.4 address lists: display names (phrases of atoms and
 * quoted strings), angle addresses with obsolete routes (4.4), groups,
 * and comments.  The parser never fails on bad input: what it cannot
 * place becomes an address marked invalid, so ENVELOPE shows something.
 */

#include <string.h>

#include "mime.h"
#include "mime_internal.h"


#define MIME_TOK_END      0
#define MIME_TOK_ATOM     1
#define MIME_TOK_QUOTED   2
#define MIME_TOK_LITERAL  3
#define MIME_TOK_SPECIAL  4


typedef struct {
    mime_lexer_t              lx;
    const mime_allocator_t   *allocator;
    int                       type;
    int                       special;
    mime_str_t                text;
    mime_str_t                comment;   /* last comment seen */
    unsigned                  space:1;   /* white space before the token */
    unsigned                  failed:1;
} mime_addr_parser_t;


static void
mime_addr_next(mime_addr_parser_t *ap)
{
    mime_lexer_t        *lx;
    const mime_uchar_t  *start;

    lx = &ap->lx;
    ap->space = 0;

    for ( ;; ) {
        while (lx->p < lx->end && mime_is_lwsp(*lx->p)) {
            lx->p++;
            ap->space = 1;
        }

        if (lx->p < lx->end && *lx->p == '(') {
            mime_lex_comment(lx, &ap->comment);
            ap->space = 1;
            continue;
        }

        break;
    }

    if (lx->p >= lx->end) {
        ap->type = MIME_TOK_END;
        return;
    }

    switch (*lx->p) {

    case '"':
        ap->type = MIME_TOK_QUOTED;

        if (mime_lex_quoted(lx, ap->allocator, &ap->text) != MIME_OK) {
            ap->failed = 1;
            ap->type = MIME_TOK_END;
        }

        return;

    case '[':
        /* RFC 5322 3.4.1 domain-literal, kept with its brackets */
        start = lx->p;

        while (lx->p < lx->end && *lx->p != ']') {
            lx->p++;
        }

        if (lx->p < lx->end) {
            lx->p++;
        }

        ap->type = MIME_TOK_LITERAL;
        ap->text.data = start;
        ap->text.len = lx->p - start;
        return;

    case '<': case '>': case '@': case ',': case ';': case ':': case '.':
    case ')': case ']': case '\\':
        ap->type = MIME_TOK_SPECIAL;
        ap->special = *lx->p;
        ap->text.data = lx->p;
        ap->text.len = 1;
        lx->p++;
        return;
    }

    ap->type = MIME_TOK_ATOM;

    if (mime_lex_atom(lx, &ap->text) != MIME_OK) {
        /* a control character: a special nobody expects, i.e. junk */
        ap->type = MIME_TOK_SPECIAL;
        ap->special = *lx->p;
        ap->text.data = lx->p;
        ap->text.len = 1;
        lx->p++;
    }
}


static int
mime_addr_is(mime_addr_parser_t *ap, int c)
{
    return ap->type == MIME_TOK_SPECIAL && ap->special == c;
}


static mime_str_t
mime_addr_buf_str(mime_buf_t *b)
{
    mime_str_t  s;

    s.data = b->data ? b->data : (const mime_uchar_t *) "";
    s.len = b->len;

    return s;
}


/*
 * RFC 5322 3.2.5 phrase and 4.1 obs-phrase: words joined by one space;
 * stops at a special other than ".".
 */

static void
mime_addr_phrase(mime_addr_parser_t *ap, mime_buf_t *b)
{
    while (ap->type == MIME_TOK_ATOM || ap->type == MIME_TOK_QUOTED
           || ap->type == MIME_TOK_LITERAL || mime_addr_is(ap, '.'))
    {
        if (b->len && ap->space) {
            mime_buf_append_char(b, ' ');
        }

        mime_buf_append(b, ap->text.data, ap->text.len);
        mime_addr_next(ap);
    }
}


/*
 * RFC 5322 3.4.1 local-part and domain as dot-separated words; quoted
 * words are unquoted, as IMAP ENVELOPE shows them.  Returns the number
 * of words read.
 */

static unsigned
mime_addr_dotted(mime_addr_parser_t *ap, mime_buf_t *b, int domain)
{
    unsigned  n;

    n = 0;

    while (ap->type == MIME_TOK_ATOM || ap->type == MIME_TOK_LITERAL
           || (ap->type == MIME_TOK_QUOTED && !domain)
           || mime_addr_is(ap, '.'))
    {
        mime_buf_append(b, ap->text.data, ap->text.len);
        mime_addr_next(ap);
        n++;
    }

    return n;
}


static mime_address_t *
mime_addr_new(mime_addr_parser_t *ap, mime_address_t ***tail)
{
    mime_address_t  *a;

    a = mime_alloc(ap->allocator, sizeof(mime_address_t));
    if (a == NULL) {
        ap->failed = 1;
        return NULL;
    }

    memset(a, 0, sizeof(mime_address_t));
    **tail = a;
    *tail = &a->next;

    return a;
}


/* RFC 5322 4.4 obs-route: "@a,@b:" before the addr-spec */

static void
mime_addr_route(mime_addr_parser_t *ap, mime_address_t *a)
{
    mime_buf_t  b;

    mime_buf_init(&b, ap->allocator, 0);

    while (mime_addr_is(ap, '@') || mime_addr_is(ap, ',')) {
        if (mime_addr_is(ap, ',')) {
            mime_addr_next(ap);
            continue;
        }

        if (b.len) {
            mime_buf_append_char(&b, ',');
        }

        mime_buf_append_char(&b, '@');
        mime_addr_next(ap);
        mime_addr_dotted(ap, &b, 1);
    }

    if (mime_addr_is(ap, ':') && b.len) {
        mime_addr_next(ap);
        a->route = mime_addr_buf_str(&b);
    }
}


static void
mime_addr_spec(mime_addr_parser_t *ap, mime_address_t *a, mime_buf_t *local,
    unsigned words)
{
    mime_buf_t  domain;

    if (words) {
        a->mailbox = mime_addr_buf_str(local);
    }

    if (!mime_addr_is(ap, '@')) {
        a->invalid = 1;
        return;
    }

    mime_addr_next(ap);
    mime_buf_init(&domain, ap->allocator, 0);
    mime_addr_dotted(ap, &domain, 1);

    if (domain.len) {
        a->domain = mime_addr_buf_str(&domain);

    } else {
        a->invalid = 1;
    }
}


static void
mime_addr_angle(mime_addr_parser_t *ap, mime_address_t *a)
{
    unsigned    words;
    mime_buf_t  local;

    /* at "<" */
    mime_addr_next(ap);

    if (mime_addr_is(ap, '@')) {
        mime_addr_route(ap, a);
    }

    mime_buf_init(&local, ap->allocator, 0);
    words = mime_addr_dotted(ap, &local, 0);

    if (words == 0 && mime_addr_is(ap, '>')) {
        /* "<>": the null reverse-path */
        a->invalid = 1;

    } else if (mime_addr_is(ap, '@')) {
        mime_addr_spec(ap, a, &local, words);

    } else if (!mime_addr_is(ap, '>')) {
        /* "<C:junk@host>" */
        if (words) {
            a->mailbox = mime_addr_buf_str(&local);
        }

        a->invalid = 1;
        a->syntax_error = 1;

    } else {
        mime_addr_spec(ap, a, &local, words);
    }

    /* skip whatever is left up to ">" */
    while (ap->type != MIME_TOK_END && !mime_addr_is(ap, '>')) {
        a->invalid = 1;
        mime_addr_next(ap);
    }

    if (mime_addr_is(ap, '>')) {
        mime_addr_next(ap);
    }
}


/*
 * One mailbox, or a group start (then returns 1); the token after it is
 * left current.
 */

static int
mime_addr_one(mime_addr_parser_t *ap, mime_address_t ***tail, int in_group)
{
    unsigned             words;
    mime_buf_t           phrase;
    mime_address_t      *a;
    mime_addr_parser_t   saved;

    mime_buf_init(&phrase, ap->allocator, 0);
    ap->comment.data = NULL;
    saved = *ap;

    /* a display name or a local-part: the token after it tells */
    mime_addr_phrase(ap, &phrase);

    if (mime_addr_is(ap, '@') && phrase.len) {
        *ap = saved;
        phrase.len = 0;
        words = mime_addr_dotted(ap, &phrase, 0);

        a = mime_addr_new(ap, tail);
        if (a == NULL) {
            return 0;
        }

        mime_addr_spec(ap, a, &phrase, words);

        if (ap->comment.data && ap->comment.len) {
            /* "addr (Name)": the comment is the only name there is */
            a->name = ap->comment;
        }

        return 0;
    }

    if (mime_addr_is(ap, ':') && !in_group) {
        /* RFC 5322 3.4: group start */
        mime_addr_next(ap);

        a = mime_addr_new(ap, tail);
        if (a == NULL) {
            return 0;
        }

        a->group_start = 1;
        a->mailbox = mime_addr_buf_str(&phrase);
        return 1;
    }

    a = mime_addr_new(ap, tail);
    if (a == NULL) {
        return 0;
    }

    if (mime_addr_is(ap, '<')) {
        if (phrase.len) {
            a->name = mime_addr_buf_str(&phrase);
        }

        mime_addr_angle(ap, a);
        return 0;
    }

    /* a phrase alone, or junk: kept as an invalid mailbox */
    a->mailbox = mime_addr_buf_str(&phrase);
    a->invalid = 1;

    if (phrase.len == 0) {
        mime_addr_next(ap);
    }

    return 0;
}


mime_address_t *
mime_address_parse(const mime_allocator_t *allocator, const mime_uchar_t *p,
    size_t len)
{
    int                  in_group;
    mime_address_t      *list, **tail, *a;
    mime_addr_parser_t   ap;

    memset(&ap, 0, sizeof(mime_addr_parser_t));
    ap.lx.p = p;
    ap.lx.end = p + len;
    ap.allocator = allocator;

    list = NULL;
    tail = &list;
    in_group = 0;

    mime_addr_next(&ap);

    while (ap.type != MIME_TOK_END && !ap.failed) {

        if (mime_addr_is(&ap, ',')) {
            mime_addr_next(&ap);
            continue;
        }

        if (mime_addr_is(&ap, ';')) {
            mime_addr_next(&ap);

            if (in_group) {
                a = mime_addr_new(&ap, &tail);
                if (a == NULL) {
                    break;
                }

                a->group_end = 1;
                in_group = 0;
            }

            continue;
        }

        if (mime_addr_one(&ap, &tail, in_group)) {
            in_group = 1;
            continue;
        }

        /* junk after an address runs to the next separator */
        while (ap.type != MIME_TOK_END && !mime_addr_is(&ap, ',')
               && !mime_addr_is(&ap, ';'))
        {
            if (mime_addr_is(&ap, ':') && !in_group) {
                break;
            }

            mime_addr_next(&ap);
        }
    }

    if (in_group && !ap.failed) {
        /* RFC 5322 3.4: a group always ends with ";" */
        a = mime_addr_new(&ap, &tail);
        if (a) {
            a->group_end = 1;
        }
    }

    return ap.failed ? NULL : list;
}
