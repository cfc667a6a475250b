
/*
 * IMAP SEARCH keys, RFC 3501 9 and RFC 7162 7:
 *
 *   search          = "SEARCH" [SP "CHARSET" SP astring] 1*(SP search-key)
 *   search-key      = "ALL" / "ANSWERED" / "BCC" SP astring / ... /
 *                     "(" search-key *(SP search-key) ")"
 *   search-modsequence = "MODSEQ" [SP entry-name SP entry-type-req]
 *                     SP mod-sequence-valzer
 *
 * The keys become a tree: AND lists, OR and NOT with their operands,
 * and leaves.  Leaves that only need the message's metadata are put
 * before those that read its contents, so that most messages are
 * decided without parsing them.
 */

#include <string.h>

#include "ngx_mail_imapd_search.h"
#include "ngx_mail_imapd_seqset.h"


#define NGX_MAIL_IMAPD_SEARCH_NUMBER_MAX  9223372036854775807ULL


typedef enum {
    NGX_MAIL_IMAPD_SK_ALL = 0,
    NGX_MAIL_IMAPD_SK_AND,
    NGX_MAIL_IMAPD_SK_OR,
    NGX_MAIL_IMAPD_SK_NOT,
    NGX_MAIL_IMAPD_SK_FLAG,
    NGX_MAIL_IMAPD_SK_RECENT,
    NGX_MAIL_IMAPD_SK_NEW,
    NGX_MAIL_IMAPD_SK_OLD,
    NGX_MAIL_IMAPD_SK_BEFORE,
    NGX_MAIL_IMAPD_SK_ON,
    NGX_MAIL_IMAPD_SK_SINCE,
    NGX_MAIL_IMAPD_SK_SENTBEFORE,
    NGX_MAIL_IMAPD_SK_SENTON,
    NGX_MAIL_IMAPD_SK_SENTSINCE,
    NGX_MAIL_IMAPD_SK_LARGER,
    NGX_MAIL_IMAPD_SK_SMALLER,
    NGX_MAIL_IMAPD_SK_SEQ,
    NGX_MAIL_IMAPD_SK_UID,
    NGX_MAIL_IMAPD_SK_MODSEQ,
    NGX_MAIL_IMAPD_SK_HEADER,
    NGX_MAIL_IMAPD_SK_BODY,
    NGX_MAIL_IMAPD_SK_TEXT
} ngx_mail_imapd_search_type_e;


/* what follows a key's name */
typedef enum {
    NGX_MAIL_IMAPD_SA_NONE = 0,
    NGX_MAIL_IMAPD_SA_STRING,
    NGX_MAIL_IMAPD_SA_FIELD_STRING,
    NGX_MAIL_IMAPD_SA_FLAG,
    NGX_MAIL_IMAPD_SA_DATE,
    NGX_MAIL_IMAPD_SA_NUMBER,
    NGX_MAIL_IMAPD_SA_SEQSET,
    NGX_MAIL_IMAPD_SA_MODSEQ,
    NGX_MAIL_IMAPD_SA_KEY,
    NGX_MAIL_IMAPD_SA_KEY2
} ngx_mail_imapd_search_arg_e;


typedef struct {
    const char                 *name;
    unsigned                    type;
    unsigned                    arg;
    const char                 *text;      /* flag or header field */
    unsigned                    negate;
} ngx_mail_imapd_search_keyword_t;


typedef struct ngx_mail_imapd_search_key_s  ngx_mail_imapd_search_key_t;

struct ngx_mail_imapd_search_key_s {
    ngx_mail_imapd_search_key_t  *next;    /* in an AND list */
    ngx_mail_imapd_search_key_t  *a;       /* AND's first, OR, NOT */
    ngx_mail_imapd_search_key_t  *b;       /* OR's second */

    unsigned                    type:8;
    unsigned                    negate:1;  /* FLAG: UNSEEN, UNKEYWORD */
    unsigned                    content:1; /* reads the message */
    unsigned                    star:1;    /* SEQ, UID: a range had "*" */

    uint64_t                    number;    /* LARGER, SMALLER, MODSEQ */
    long                        day;       /* dates: days since 1970 */

    /* FLAG: the flag; HEADER: the field name */
    const unsigned char        *name;
    size_t                      name_len;

    /* strings: folded, with the KMP failure function */
    unsigned char              *needle;
    uint32_t                   *fail;
    size_t                      needle_len;

    /* SEQ, UID: the ranges without "*", and those with it in one */
    ngx_mail_imapd_seqset_t     set;
    uint32_t                    star_lo;
    uint32_t                    star_hi;
};


struct ngx_mail_imapd_search_s {
    ngx_mail_imapd_search_key_t  *root;
    uint32_t                    max_seq;   /* the highest seq-number */
    unsigned                    needs;
    unsigned                    modseq:1;
};


typedef struct {
    const ngx_mail_imapd_node_t  *nodes;
    const mime_allocator_t     *allocator;
    const char                 *error;
    int                         rc;
    unsigned                    nkeys;
    uint32_t                    max_seq;
    unsigned                    modseq:1;
} ngx_mail_imapd_search_compiler_t;


typedef struct {
    const ngx_mail_imapd_message_t  *msg;
    const mime_allocator_t     *allocator;
    uint32_t                    star_seq;
    uint32_t                    star_uid;
    mime_message_t             *mime;
    mime_str_t                  body;
    long                        sent_day;
    unsigned                    parsed:1;
    unsigned                    body_done:1;
    unsigned                    sent_done:1;
    unsigned                    nomem:1;
} ngx_mail_imapd_search_ctx_t;


typedef struct {
    const ngx_mail_imapd_search_key_t  *key;
    size_t                      matched;
} ngx_mail_imapd_search_scan_t;


static int ngx_mail_imapd_search_reads_body(
    const ngx_mail_imapd_search_key_t *key);
static ngx_mail_imapd_search_key_t *ngx_mail_imapd_search_key(
    ngx_mail_imapd_search_compiler_t *c, uint32_t *cur, unsigned depth);
static ngx_mail_imapd_search_key_t *ngx_mail_imapd_search_and(
    ngx_mail_imapd_search_compiler_t *c, uint32_t cur, unsigned depth);
static ngx_mail_imapd_search_key_t *ngx_mail_imapd_search_new_key(
    ngx_mail_imapd_search_compiler_t *c, unsigned type);
static const ngx_mail_imapd_node_t *ngx_mail_imapd_search_arg(
    ngx_mail_imapd_search_compiler_t *c, uint32_t *cur);
static int ngx_mail_imapd_search_string(ngx_mail_imapd_search_compiler_t *c,
    const ngx_mail_imapd_node_t *node, ngx_mail_imapd_str_t *value);
static int ngx_mail_imapd_search_needle(ngx_mail_imapd_search_compiler_t *c,
    ngx_mail_imapd_search_key_t *key, const ngx_mail_imapd_node_t *node);
static int ngx_mail_imapd_search_copy(ngx_mail_imapd_search_compiler_t *c,
    ngx_mail_imapd_search_key_t *key, const ngx_mail_imapd_str_t *value);
static int ngx_mail_imapd_search_date(ngx_mail_imapd_search_compiler_t *c,
    ngx_mail_imapd_search_key_t *key, const ngx_mail_imapd_node_t *node);
static int ngx_mail_imapd_search_number(const ngx_mail_imapd_node_t *node,
    uint64_t *n);
static int ngx_mail_imapd_search_seqset(ngx_mail_imapd_search_compiler_t *c,
    ngx_mail_imapd_search_key_t *key, const ngx_mail_imapd_node_t *node);
static int ngx_mail_imapd_search_modseq(ngx_mail_imapd_search_compiler_t *c,
    ngx_mail_imapd_search_key_t *key, uint32_t *cur);
static int ngx_mail_imapd_search_charset(ngx_mail_imapd_search_compiler_t *c,
    uint32_t *cur);
static int ngx_mail_imapd_search_fail(ngx_mail_imapd_search_compiler_t *c,
    int rc, const char *error);

static long ngx_mail_imapd_search_days(long year, unsigned month,
    unsigned day);
static long ngx_mail_imapd_search_day_of(long long t);
static size_t ngx_mail_imapd_search_fold(const unsigned char **pp,
    const unsigned char *end, unsigned char *out);

static unsigned ngx_mail_imapd_search_lower(unsigned c);
static int ngx_mail_imapd_search_eval(ngx_mail_imapd_search_ctx_t *ctx,
    const ngx_mail_imapd_search_key_t *key);
static int ngx_mail_imapd_search_has_flag(const ngx_mail_imapd_message_t *msg,
    const unsigned char *name, size_t len);
static int ngx_mail_imapd_search_seq_match(
    const ngx_mail_imapd_search_key_t *key, uint32_t n, uint32_t star);
static mime_message_t *ngx_mail_imapd_search_mime(
    ngx_mail_imapd_search_ctx_t *ctx);
static long ngx_mail_imapd_search_sent_day(ngx_mail_imapd_search_ctx_t *ctx);
static int ngx_mail_imapd_search_fields(ngx_mail_imapd_search_ctx_t *ctx,
    mime_message_t *mime, const mime_part_t *part,
    const ngx_mail_imapd_search_key_t *key, int any_field);
static int ngx_mail_imapd_search_attached(ngx_mail_imapd_search_ctx_t *ctx,
    const ngx_mail_imapd_search_key_t *key);
static int ngx_mail_imapd_search_header(ngx_mail_imapd_search_ctx_t *ctx,
    const ngx_mail_imapd_search_key_t *key, int any_field);
static int ngx_mail_imapd_search_body(ngx_mail_imapd_search_ctx_t *ctx,
    const ngx_mail_imapd_search_key_t *key);
static int ngx_mail_imapd_search_scan(ngx_mail_imapd_search_scan_t *scan,
    const unsigned char *p, size_t len);


static ngx_mail_imapd_search_keyword_t  ngx_mail_imapd_search_keywords[] = {
    { "ALL", NGX_MAIL_IMAPD_SK_ALL, NGX_MAIL_IMAPD_SA_NONE, NULL, 0 },
    { "ANSWERED", NGX_MAIL_IMAPD_SK_FLAG, NGX_MAIL_IMAPD_SA_NONE,
      "\\Answered", 0 },
    { "BCC", NGX_MAIL_IMAPD_SK_HEADER, NGX_MAIL_IMAPD_SA_STRING, "Bcc", 0 },
    { "BEFORE", NGX_MAIL_IMAPD_SK_BEFORE, NGX_MAIL_IMAPD_SA_DATE, NULL, 0 },
    { "BODY", NGX_MAIL_IMAPD_SK_BODY, NGX_MAIL_IMAPD_SA_STRING, NULL, 0 },
    { "CC", NGX_MAIL_IMAPD_SK_HEADER, NGX_MAIL_IMAPD_SA_STRING, "Cc", 0 },
    { "DELETED", NGX_MAIL_IMAPD_SK_FLAG, NGX_MAIL_IMAPD_SA_NONE,
      "\\Deleted", 0 },
    { "DRAFT", NGX_MAIL_IMAPD_SK_FLAG, NGX_MAIL_IMAPD_SA_NONE,
      "\\Draft", 0 },
    { "FLAGGED", NGX_MAIL_IMAPD_SK_FLAG, NGX_MAIL_IMAPD_SA_NONE,
      "\\Flagged", 0 },
    { "FROM", NGX_MAIL_IMAPD_SK_HEADER, NGX_MAIL_IMAPD_SA_STRING,
      "From", 0 },
    { "HEADER", NGX_MAIL_IMAPD_SK_HEADER, NGX_MAIL_IMAPD_SA_FIELD_STRING,
      NULL, 0 },
    { "KEYWORD", NGX_MAIL_IMAPD_SK_FLAG, NGX_MAIL_IMAPD_SA_FLAG, NULL, 0 },
    { "LARGER", NGX_MAIL_IMAPD_SK_LARGER, NGX_MAIL_IMAPD_SA_NUMBER,
      NULL, 0 },
    { "MODSEQ", NGX_MAIL_IMAPD_SK_MODSEQ, NGX_MAIL_IMAPD_SA_MODSEQ,
      NULL, 0 },
    { "NEW", NGX_MAIL_IMAPD_SK_NEW, NGX_MAIL_IMAPD_SA_NONE, NULL, 0 },
    { "NOT", NGX_MAIL_IMAPD_SK_NOT, NGX_MAIL_IMAPD_SA_KEY, NULL, 0 },
    { "OLD", NGX_MAIL_IMAPD_SK_OLD, NGX_MAIL_IMAPD_SA_NONE, NULL, 0 },
    { "ON", NGX_MAIL_IMAPD_SK_ON, NGX_MAIL_IMAPD_SA_DATE, NULL, 0 },
    { "OR", NGX_MAIL_IMAPD_SK_OR, NGX_MAIL_IMAPD_SA_KEY2, NULL, 0 },
    { "RECENT", NGX_MAIL_IMAPD_SK_RECENT, NGX_MAIL_IMAPD_SA_NONE, NULL, 0 },
    { "SEEN", NGX_MAIL_IMAPD_SK_FLAG, NGX_MAIL_IMAPD_SA_NONE, "\\Seen", 0 },
    { "SENTBEFORE", NGX_MAIL_IMAPD_SK_SENTBEFORE, NGX_MAIL_IMAPD_SA_DATE,
      NULL, 0 },
    { "SENTON", NGX_MAIL_IMAPD_SK_SENTON, NGX_MAIL_IMAPD_SA_DATE, NULL, 0 },
    { "SENTSINCE", NGX_MAIL_IMAPD_SK_SENTSINCE, NGX_MAIL_IMAPD_SA_DATE,
      NULL, 0 },
    { "SINCE", NGX_MAIL_IMAPD_SK_SINCE, NGX_MAIL_IMAPD_SA_DATE, NULL, 0 },
    { "SMALLER", NGX_MAIL_IMAPD_SK_SMALLER, NGX_MAIL_IMAPD_SA_NUMBER,
      NULL, 0 },
    { "SUBJECT", NGX_MAIL_IMAPD_SK_HEADER, NGX_MAIL_IMAPD_SA_STRING,
      "Subject", 0 },
    { "TEXT", NGX_MAIL_IMAPD_SK_TEXT, NGX_MAIL_IMAPD_SA_STRING, NULL, 0 },
    { "TO", NGX_MAIL_IMAPD_SK_HEADER, NGX_MAIL_IMAPD_SA_STRING, "To", 0 },
    { "UID", NGX_MAIL_IMAPD_SK_UID, NGX_MAIL_IMAPD_SA_SEQSET, NULL, 0 },
    { "UNANSWERED", NGX_MAIL_IMAPD_SK_FLAG, NGX_MAIL_IMAPD_SA_NONE,
      "\\Answered", 1 },
    { "UNDELETED", NGX_MAIL_IMAPD_SK_FLAG, NGX_MAIL_IMAPD_SA_NONE,
      "\\Deleted", 1 },
    { "UNDRAFT", NGX_MAIL_IMAPD_SK_FLAG, NGX_MAIL_IMAPD_SA_NONE,
      "\\Draft", 1 },
    { "UNFLAGGED", NGX_MAIL_IMAPD_SK_FLAG, NGX_MAIL_IMAPD_SA_NONE,
      "\\Flagged", 1 },
    { "UNKEYWORD", NGX_MAIL_IMAPD_SK_FLAG, NGX_MAIL_IMAPD_SA_FLAG, NULL, 1 },
    { "UNSEEN", NGX_MAIL_IMAPD_SK_FLAG, NGX_MAIL_IMAPD_SA_NONE, "\\Seen", 1 },
    { NULL, 0, 0, NULL, 0 }
};


static const char  *ngx_mail_imapd_search_months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};


int
ngx_mail_imapd_search_compile(const ngx_mail_imapd_node_t *nodes,
    uint32_t first, const mime_allocator_t *allocator,
    ngx_mail_imapd_search_t **search, const char **error)
{
    uint32_t                           cur;
    ngx_mail_imapd_search_t           *s;
    ngx_mail_imapd_search_key_t       *root;
    ngx_mail_imapd_search_compiler_t   c;

    c.nodes = nodes;
    c.allocator = allocator;
    c.error = NULL;
    c.rc = NGX_MAIL_IMAPD_PARSE_OK;
    c.nkeys = 0;
    c.modseq = 0;
    c.max_seq = 0;

    *search = NULL;
    *error = NULL;

    cur = first;

    if (ngx_mail_imapd_search_charset(&c, &cur) != NGX_MAIL_IMAPD_PARSE_OK) {
        *error = c.error;
        return c.rc;
    }

    if (cur == NGX_MAIL_IMAPD_NODE_NONE) {
        *error = "Missing search key";
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    root = ngx_mail_imapd_search_and(&c, cur, 0);

    if (root == NULL) {
        *error = c.error;
        return c.rc;
    }

    s = mime_alloc(allocator, sizeof(ngx_mail_imapd_search_t));
    if (s == NULL) {
        *error = "Out of memory";
        return NGX_MAIL_IMAPD_SEARCH_NOMEM;
    }

    s->root = root;
    s->needs = root->content ? NGX_MAIL_IMAPD_NEED_CONTENT
                             : NGX_MAIL_IMAPD_NEED_META;

    if (ngx_mail_imapd_search_reads_body(root)) {
        s->needs = NGX_MAIL_IMAPD_NEED_BODY;
    }
    s->modseq = c.modseq;
    s->max_seq = c.max_seq;

    *search = s;

    return NGX_MAIL_IMAPD_PARSE_OK;
}


/*
 * BODY and TEXT read the body; every other content key the header only.
 * Lists are chains of "next", operands hang from "a" and "b"; the depth
 * of those is bounded by the compiler.
 */

static int
ngx_mail_imapd_search_reads_body(const ngx_mail_imapd_search_key_t *key)
{
    for ( /* void */ ; key; key = key->next) {
        if (!key->content) {
            continue;
        }

        if (key->type == NGX_MAIL_IMAPD_SK_BODY
            || key->type == NGX_MAIL_IMAPD_SK_TEXT
            || ngx_mail_imapd_search_reads_body(key->a)
            || ngx_mail_imapd_search_reads_body(key->b))
        {
            return 1;
        }
    }

    return 0;
}


uint32_t
ngx_mail_imapd_search_max_seq(const ngx_mail_imapd_search_t *search)
{
    return search->max_seq;
}


unsigned
ngx_mail_imapd_search_needs(const ngx_mail_imapd_search_t *search)
{
    return search->needs;
}


int
ngx_mail_imapd_search_uses_modseq(const ngx_mail_imapd_search_t *search)
{
    return search->modseq;
}


/* RFC 3501 6.4.4: "CHARSET" must come first, and we know two */

static int
ngx_mail_imapd_search_charset(ngx_mail_imapd_search_compiler_t *c,
    uint32_t *cur)
{
    ngx_mail_imapd_str_t          name;
    const ngx_mail_imapd_node_t  *node;

    if (*cur == NGX_MAIL_IMAPD_NODE_NONE) {
        return NGX_MAIL_IMAPD_PARSE_OK;
    }

    node = &c->nodes[*cur];

    if (node->type != NGX_MAIL_IMAPD_NODE_ATOM
        || !ngx_mail_imapd_atom_eq(&node->value, "CHARSET"))
    {
        return NGX_MAIL_IMAPD_PARSE_OK;
    }

    *cur = node->next;

    node = ngx_mail_imapd_search_arg(c, cur);

    if (node == NULL) {
        return c->rc;
    }

    if (ngx_mail_imapd_search_string(c, node, &name)
        != NGX_MAIL_IMAPD_PARSE_OK)
    {
        return c->rc;
    }

    if (ngx_mail_imapd_atom_eq(&name, "UTF-8")
        || ngx_mail_imapd_atom_eq(&name, "US-ASCII"))
    {
        return NGX_MAIL_IMAPD_PARSE_OK;
    }

    return ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_DECLINED,
                                      "[BADCHARSET (UTF-8 US-ASCII)] "
                                      "Unsupported charset");
}


/*
 * The keys from "cur" to the end of their sibling chain, ANDed: those
 * that need only metadata first, in the order sent, then the others.
 */

static ngx_mail_imapd_search_key_t *
ngx_mail_imapd_search_and(ngx_mail_imapd_search_compiler_t *c, uint32_t cur,
    unsigned depth)
{
    ngx_mail_imapd_search_key_t   *key, *and, *meta, **meta_last, *content,
                                 **content_last;

    meta = NULL;
    meta_last = &meta;
    content = NULL;
    content_last = &content;

    while (cur != NGX_MAIL_IMAPD_NODE_NONE) {
        key = ngx_mail_imapd_search_key(c, &cur, depth);

        if (key == NULL) {
            return NULL;
        }

        if (key->content) {
            *content_last = key;
            content_last = &key->next;

        } else {
            *meta_last = key;
            meta_last = &key->next;
        }
    }

    *meta_last = content;

    if (meta != NULL && meta->next == NULL) {
        return meta;
    }

    and = ngx_mail_imapd_search_new_key(c, NGX_MAIL_IMAPD_SK_AND);

    if (and == NULL) {
        return NULL;
    }

    and->a = meta;
    and->content = (content != NULL);

    return and;
}


/* one key at *cur, with its arguments; *cur is moved past them */

static ngx_mail_imapd_search_key_t *
ngx_mail_imapd_search_key(ngx_mail_imapd_search_compiler_t *c, uint32_t *cur,
    unsigned depth)
{
    ngx_mail_imapd_str_t              field;
    ngx_mail_imapd_search_key_t      *key, *swap;
    const ngx_mail_imapd_node_t      *node;
    ngx_mail_imapd_search_keyword_t  *kw;

    if (depth >= NGX_MAIL_IMAPD_SEARCH_MAX_DEPTH) {
        ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_ERROR,
                                   "Search too complex");
        return NULL;
    }

    node = ngx_mail_imapd_search_arg(c, cur);

    if (node == NULL) {
        return NULL;
    }

    if (node->type == NGX_MAIL_IMAPD_NODE_LIST) {
        if (node->child == NGX_MAIL_IMAPD_NODE_NONE) {
            ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_ERROR,
                                       "Empty search key list");
            return NULL;
        }

        return ngx_mail_imapd_search_and(c, node->child, depth + 1);
    }

    if (node->type != NGX_MAIL_IMAPD_NODE_ATOM || node->value.len == 0) {
        ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_ERROR,
                                   "Invalid search key");
        return NULL;
    }

    if ((node->value.data[0] >= '0' && node->value.data[0] <= '9')
        || node->value.data[0] == '*' || node->value.data[0] == '$')
    {
        key = ngx_mail_imapd_search_new_key(c, NGX_MAIL_IMAPD_SK_SEQ);

        if (key == NULL
            || ngx_mail_imapd_search_seqset(c, key, node)
               != NGX_MAIL_IMAPD_PARSE_OK)
        {
            return NULL;
        }

        return key;
    }

    for (kw = ngx_mail_imapd_search_keywords; kw->name; kw++) {
        if (ngx_mail_imapd_atom_eq(&node->value, kw->name)) {
            break;
        }
    }

    if (kw->name == NULL) {
        ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_ERROR,
                                   "Unknown search key");
        return NULL;
    }

    key = ngx_mail_imapd_search_new_key(c, kw->type);

    if (key == NULL) {
        return NULL;
    }

    key->negate = kw->negate;

    if (kw->text) {
        key->name = (const unsigned char *) kw->text;
        key->name_len = strlen(kw->text);
    }

    switch (kw->arg) {

    case NGX_MAIL_IMAPD_SA_NONE:
        return key;

    case NGX_MAIL_IMAPD_SA_KEY:
        key->a = ngx_mail_imapd_search_key(c, cur, depth + 1);

        if (key->a == NULL) {
            return NULL;
        }

        key->content = key->a->content;
        return key;

    case NGX_MAIL_IMAPD_SA_KEY2:
        key->a = ngx_mail_imapd_search_key(c, cur, depth + 1);

        if (key->a == NULL) {
            return NULL;
        }

        key->b = ngx_mail_imapd_search_key(c, cur, depth + 1);

        if (key->b == NULL) {
            return NULL;
        }

        /* the operand that needs no parsing first */
        if (key->a->content && !key->b->content) {
            swap = key->a;
            key->a = key->b;
            key->b = swap;
        }

        key->content = key->a->content | key->b->content;
        return key;

    case NGX_MAIL_IMAPD_SA_MODSEQ:
        c->modseq = 1;

        if (ngx_mail_imapd_search_modseq(c, key, cur)
            != NGX_MAIL_IMAPD_PARSE_OK)
        {
            return NULL;
        }

        return key;

    default:
        break;
    }

    node = ngx_mail_imapd_search_arg(c, cur);

    if (node == NULL) {
        return NULL;
    }

    switch (kw->arg) {

    case NGX_MAIL_IMAPD_SA_FIELD_STRING:
        if (ngx_mail_imapd_search_string(c, node, &field)
            != NGX_MAIL_IMAPD_PARSE_OK
            || ngx_mail_imapd_search_copy(c, key, &field)
               != NGX_MAIL_IMAPD_PARSE_OK)
        {
            return NULL;
        }

        node = ngx_mail_imapd_search_arg(c, cur);

        if (node == NULL) {
            return NULL;
        }

        /* fall through */

    case NGX_MAIL_IMAPD_SA_STRING:
        key->content = 1;

        if (ngx_mail_imapd_search_needle(c, key, node)
            != NGX_MAIL_IMAPD_PARSE_OK)
        {
            return NULL;
        }

        return key;

    case NGX_MAIL_IMAPD_SA_FLAG:
        /* RFC 3501 flag-keyword is an atom; "\Seen" is taken as well */
        if (node->type != NGX_MAIL_IMAPD_NODE_ATOM || node->wildcard
            || node->section || node->value.len == 0)
        {
            ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_ERROR,
                                       "Invalid keyword");
            return NULL;
        }

        if (ngx_mail_imapd_search_copy(c, key, &node->value)
            != NGX_MAIL_IMAPD_PARSE_OK)
        {
            return NULL;
        }

        return key;

    case NGX_MAIL_IMAPD_SA_DATE:
        if (ngx_mail_imapd_search_date(c, key, node)
            != NGX_MAIL_IMAPD_PARSE_OK)
        {
            return NULL;
        }

        /* RFC 3501 6.4.4: the sent date is the Date: header's */
        key->content = (kw->type == NGX_MAIL_IMAPD_SK_SENTBEFORE
                        || kw->type == NGX_MAIL_IMAPD_SK_SENTON
                        || kw->type == NGX_MAIL_IMAPD_SK_SENTSINCE);
        return key;

    case NGX_MAIL_IMAPD_SA_NUMBER:
        if (ngx_mail_imapd_search_number(node, &key->number)
            != NGX_MAIL_IMAPD_PARSE_OK)
        {
            ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_ERROR,
                                       "Invalid number");
            return NULL;
        }

        return key;

    case NGX_MAIL_IMAPD_SA_SEQSET:
        if (ngx_mail_imapd_search_seqset(c, key, node)
            != NGX_MAIL_IMAPD_PARSE_OK)
        {
            return NULL;
        }

        return key;
    }

    return key;
}


static ngx_mail_imapd_search_key_t *
ngx_mail_imapd_search_new_key(ngx_mail_imapd_search_compiler_t *c,
    unsigned type)
{
    ngx_mail_imapd_search_key_t  *key;

    /* OR and NOT chains are no lists: the parser's bound misses them */
    if (++c->nkeys > NGX_MAIL_IMAPD_SEARCH_MAX_KEYS) {
        ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_ERROR,
                                   "Search too complex");
        return NULL;
    }

    key = mime_alloc(c->allocator, sizeof(ngx_mail_imapd_search_key_t));

    if (key == NULL) {
        ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_SEARCH_NOMEM,
                                   "Out of memory");
        return NULL;
    }

    memset(key, 0, sizeof(ngx_mail_imapd_search_key_t));
    key->type = type;

    return key;
}


static const ngx_mail_imapd_node_t *
ngx_mail_imapd_search_arg(ngx_mail_imapd_search_compiler_t *c, uint32_t *cur)
{
    const ngx_mail_imapd_node_t  *node;

    if (*cur == NGX_MAIL_IMAPD_NODE_NONE) {
        ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_ERROR,
                                   "Missing search argument");
        return NULL;
    }

    node = &c->nodes[*cur];
    *cur = node->next;

    return node;
}


static int
ngx_mail_imapd_search_fail(ngx_mail_imapd_search_compiler_t *c, int rc,
    const char *error)
{
    c->rc = rc;
    c->error = error;

    return rc;
}


/* an astring; literal8 is for binary data, never a search string */

static int
ngx_mail_imapd_search_string(ngx_mail_imapd_search_compiler_t *c,
    const ngx_mail_imapd_node_t *node, ngx_mail_imapd_str_t *value)
{
    if (node->binary
        || ngx_mail_imapd_astring(node, value) != NGX_MAIL_IMAPD_PARSE_OK)
    {
        return ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_ERROR,
                                          "Invalid search string");
    }

    return NGX_MAIL_IMAPD_PARSE_OK;
}


static int
ngx_mail_imapd_search_copy(ngx_mail_imapd_search_compiler_t *c,
    ngx_mail_imapd_search_key_t *key, const ngx_mail_imapd_str_t *value)
{
    unsigned char  *name;

    name = mime_alloc(c->allocator, value->len + 1);

    if (name == NULL) {
        return ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_SEARCH_NOMEM,
                                          "Out of memory");
    }

    memcpy(name, value->data, value->len);
    name[value->len] = '\0';

    key->name = name;
    key->name_len = value->len;

    return NGX_MAIL_IMAPD_PARSE_OK;
}


/*
 * The search string folded as the text will be, and the failure
 * function of Knuth-Morris-Pratt over its octets: the text is then
 * scanned once, in linear time whatever the string.
 */

static int
ngx_mail_imapd_search_needle(ngx_mail_imapd_search_compiler_t *c,
    ngx_mail_imapd_search_key_t *key, const ngx_mail_imapd_node_t *node)
{
    size_t                n, k, i;
    unsigned char        *needle;
    const unsigned char  *p, *end;
    ngx_mail_imapd_str_t  value;

    if (ngx_mail_imapd_search_string(c, node, &value)
        != NGX_MAIL_IMAPD_PARSE_OK)
    {
        return c->rc;
    }

    if (value.len == 0) {
        return NGX_MAIL_IMAPD_PARSE_OK;
    }

    /* folding never makes a character longer */
    needle = mime_alloc(c->allocator, value.len);
    key->fail = mime_alloc(c->allocator, value.len * sizeof(uint32_t));

    if (needle == NULL || key->fail == NULL) {
        return ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_SEARCH_NOMEM,
                                          "Out of memory");
    }

    p = value.data;
    end = p + value.len;
    n = 0;

    while (p < end) {
        n += ngx_mail_imapd_search_fold(&p, end, needle + n);
    }

    key->needle = needle;
    key->needle_len = n;

    key->fail[0] = 0;
    k = 0;

    for (i = 1; i < n; i++) {
        while (k > 0 && needle[i] != needle[k]) {
            k = key->fail[k - 1];
        }

        if (needle[i] == needle[k]) {
            k++;
        }

        key->fail[i] = (uint32_t) k;
    }

    return NGX_MAIL_IMAPD_PARSE_OK;
}


/* RFC 3501 9: date = date-text / DQUOTE date-text DQUOTE */

static int
ngx_mail_imapd_search_date(ngx_mail_imapd_search_compiler_t *c,
    ngx_mail_imapd_search_key_t *key, const ngx_mail_imapd_node_t *node)
{
    long                  year;
    unsigned              day, month, mdays, i;
    const unsigned char  *p, *end;
    ngx_mail_imapd_str_t  value, name;

    static const unsigned  days_in[] = {
        31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (node->binary
        || ngx_mail_imapd_astring(node, &value) != NGX_MAIL_IMAPD_PARSE_OK)
    {
        goto invalid;
    }

    p = value.data;
    end = p + value.len;

    /* date-day = 1*2DIGIT */

    day = 0;

    for (i = 0; i < 2 && p < end && *p >= '0' && *p <= '9'; i++) {
        day = day * 10 + (*p++ - '0');
    }

    if (i == 0 || p == end || *p++ != '-') {
        goto invalid;
    }

    if (end - p < 4) {
        goto invalid;
    }

    name.data = p;
    name.len = 3;

    for (month = 0; month < 12; month++) {
        if (ngx_mail_imapd_atom_eq(&name, ngx_mail_imapd_search_months[month]))
        {
            break;
        }
    }

    p += 3;

    if (month == 12 || *p++ != '-') {
        goto invalid;
    }

    /* date-year = 4DIGIT */

    if (end - p != 4) {
        goto invalid;
    }

    year = 0;

    for (i = 0; i < 4; i++) {
        if (p[i] < '0' || p[i] > '9') {
            goto invalid;
        }

        year = year * 10 + (p[i] - '0');
    }

    mdays = days_in[month];

    if (month == 1
        && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
    {
        mdays = 28;
    }

    if (day < 1 || day > mdays) {
        goto invalid;
    }

    key->day = ngx_mail_imapd_search_days(year, month + 1, day);

    return NGX_MAIL_IMAPD_PARSE_OK;

invalid:

    return ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_ERROR,
                                      "Invalid date");
}


/* 1*DIGIT up to 2^63 - 1: RFC 7162 mod-sequence-valzer, RFC 9051 number64 */

static int
ngx_mail_imapd_search_number(const ngx_mail_imapd_node_t *node, uint64_t *n)
{
    size_t    i;
    uint64_t  value;

    if (node->type != NGX_MAIL_IMAPD_NODE_ATOM || node->value.len == 0) {
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    value = 0;

    for (i = 0; i < node->value.len; i++) {
        if (node->value.data[i] < '0' || node->value.data[i] > '9') {
            return NGX_MAIL_IMAPD_PARSE_ERROR;
        }

        if (value > (NGX_MAIL_IMAPD_SEARCH_NUMBER_MAX
                     - (node->value.data[i] - '0')) / 10)
        {
            return NGX_MAIL_IMAPD_PARSE_ERROR;
        }

        value = value * 10 + (node->value.data[i] - '0');
    }

    *n = value;

    return NGX_MAIL_IMAPD_PARSE_OK;
}


/*
 * The ranges without "*" are sorted and merged once, here.  Those with
 * "*" all hold star, so together they are one range: from the least of
 * their other ends and star to the greatest of them and star.
 */

static int
ngx_mail_imapd_search_seqset(ngx_mail_imapd_search_compiler_t *c,
    ngx_mail_imapd_search_key_t *key, const ngx_mail_imapd_node_t *node)
{
    size_t                       i;
    uint32_t                     n, j, max;
    ngx_mail_imapd_seq_range_t  *r;

    if (node->type != NGX_MAIL_IMAPD_NODE_ATOM || node->value.len == 0) {
        goto invalid;
    }

    if (node->value.len == 1 && node->value.data[0] == '$') {
        /* RFC 5182 "$" is ours to refuse: SEARCHRES is not announced */
        return ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_ERROR,
                                      "Saved search results not supported");
    }

    max = 1;

    for (i = 0; i < node->value.len; i++) {
        if (node->value.data[i] == ',') {
            max++;
        }
    }

    key->set.ranges = mime_alloc(c->allocator,
                                 max * sizeof(ngx_mail_imapd_seq_range_t));

    if (key->set.ranges == NULL) {
        return ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_SEARCH_NOMEM,
                                          "Out of memory");
    }

    key->set.max_ranges = max;

    if (ngx_mail_imapd_seqset_parse(node->value.data, node->value.len,
                                    &key->set)
        != NGX_MAIL_IMAPD_PARSE_OK)
    {
        goto invalid;
    }

    r = key->set.ranges;
    key->star_lo = 0xffffffff;
    key->star_hi = 0;
    n = 0;

    for (j = 0; j < key->set.nranges; j++) {
        if (r[j].first != NGX_MAIL_IMAPD_SEQ_STAR) {
            /* RFC 3501 9: a message number names a message that exists */
            if (key->type == NGX_MAIL_IMAPD_SK_SEQ && r[j].last > c->max_seq) {
                c->max_seq = r[j].last;
            }

            r[n++] = r[j];
            continue;
        }

        key->star = 1;

        if (r[j].last != NGX_MAIL_IMAPD_SEQ_STAR) {
            if (r[j].last < key->star_lo) {
                key->star_lo = r[j].last;
            }

            if (r[j].last > key->star_hi) {
                key->star_hi = r[j].last;
            }
        }
    }

    key->set.nranges = n;
    ngx_mail_imapd_seqset_normalize(&key->set, 0);

    return NGX_MAIL_IMAPD_PARSE_OK;

invalid:

    return ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_ERROR,
                                      "Invalid sequence set");
}


/*
 * RFC 7162 3.1.5: MODSEQ ["/flags/name" priv|shared|all] n.  One
 * mod-sequence per message: the entry is checked, then ignored.
 */

static int
ngx_mail_imapd_search_modseq(ngx_mail_imapd_search_compiler_t *c,
    ngx_mail_imapd_search_key_t *key, uint32_t *cur)
{
    ngx_mail_imapd_str_t          entry, prefix;
    const ngx_mail_imapd_node_t  *node;

    node = ngx_mail_imapd_search_arg(c, cur);

    if (node == NULL) {
        return c->rc;
    }

    if (node->type != NGX_MAIL_IMAPD_NODE_ATOM
        || ngx_mail_imapd_search_number(node, &key->number)
           != NGX_MAIL_IMAPD_PARSE_OK)
    {
        if (node->type == NGX_MAIL_IMAPD_NODE_ATOM
            && node->value.len > 0
            && node->value.data[0] >= '0' && node->value.data[0] <= '9')
        {
            goto invalid_number;
        }

        if (node->binary
            || ngx_mail_imapd_astring(node, &entry)
               != NGX_MAIL_IMAPD_PARSE_OK
            || entry.len <= 7)
        {
            goto invalid_entry;
        }

        prefix.data = entry.data;
        prefix.len = 7;

        if (!ngx_mail_imapd_atom_eq(&prefix, "/flags/")) {
            goto invalid_entry;
        }

        node = ngx_mail_imapd_search_arg(c, cur);

        if (node == NULL) {
            return c->rc;
        }

        if (node->type != NGX_MAIL_IMAPD_NODE_ATOM
            || !(ngx_mail_imapd_atom_eq(&node->value, "priv")
                 || ngx_mail_imapd_atom_eq(&node->value, "shared")
                 || ngx_mail_imapd_atom_eq(&node->value, "all")))
        {
            goto invalid_entry;
        }

        node = ngx_mail_imapd_search_arg(c, cur);

        if (node == NULL) {
            return c->rc;
        }

        if (ngx_mail_imapd_search_number(node, &key->number)
            != NGX_MAIL_IMAPD_PARSE_OK)
        {
            goto invalid_number;
        }
    }

    return NGX_MAIL_IMAPD_PARSE_OK;

invalid_entry:

    return ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_ERROR,
                                      "Invalid MODSEQ entry");

invalid_number:

    return ngx_mail_imapd_search_fail(c, NGX_MAIL_IMAPD_PARSE_ERROR,
                                      "Invalid number");
}


/* days since 1970-01-01 of a proleptic Gregorian date */

static long
ngx_mail_imapd_search_days(long year, unsigned month, unsigned day)
{
    long  era, yoe, doy, doe;

    year -= (month <= 2);
    era = (year >= 0 ? year : year - 399) / 400;
    yoe = year - era * 400;
    doy = (153 * (month > 2 ? (long) month - 3 : (long) month + 9) + 2) / 5
          + (long) day - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


/* the day of a Unix time, rounded down for times before 1970 too */

static long
ngx_mail_imapd_search_day_of(long long t)
{
    long long  day;

    day = t / 86400;

    if (t % 86400 < 0) {
        day--;
    }

    return (long) day;
}


/*
 * Simple case folding, one character at *pp into "out": ASCII, the
 * Latin-1 Supplement and Latin Extended-A letters, Greek and Cyrillic
 * capitals to their small letters.  A folded character is never
 * longer than the original, and all of them are below U+0800, so only
 * two-octet UTF-8 sequences are folded; every other octet, of a longer
 * sequence or of invalid UTF-8, passes as it is, one at a time.
 * Returns the octets written, 1 or 2.
 */

static size_t
ngx_mail_imapd_search_fold(const unsigned char **pp, const unsigned char *end,
    unsigned char *out)
{
    uint32_t              ch;
    const unsigned char  *p;

    p = *pp;

    if (*p < 0x80) {
        out[0] = (*p >= 'A' && *p <= 'Z') ? *p + ('a' - 'A') : *p;
        *pp = p + 1;
        return 1;
    }

    if (mime_utf8_decode(p, end, &ch) != 2) {
        out[0] = *p;
        *pp = p + 1;
        return 1;
    }

    *pp = p + 2;

    if (ch == 0xb5) {
        ch = 0x3bc;                                   /* micro sign */

    } else if (ch >= 0xc0 && ch <= 0xde && ch != 0xd7) {
        ch += 0x20;

    } else if ((ch >= 0x100 && ch <= 0x12f) || (ch >= 0x132 && ch <= 0x137)
               || (ch >= 0x14a && ch <= 0x177))
    {
        ch |= 1;

    } else if ((ch >= 0x139 && ch <= 0x148) || (ch >= 0x179 && ch <= 0x17e)) {
        ch += ch & 1;

    } else if (ch == 0x178) {
        ch = 0xff;

    } else if (ch == 0x17f) {
        out[0] = 's';                                 /* long s */
        return 1;

    } else if (ch == 0x386) {
        ch = 0x3ac;

    } else if (ch >= 0x388 && ch <= 0x38a) {
        ch += 0x25;

    } else if (ch == 0x38c) {
        ch = 0x3cc;

    } else if (ch == 0x38e || ch == 0x38f) {
        ch += 0x3f;

    } else if ((ch >= 0x391 && ch <= 0x3ab && ch != 0x3a2)
               || (ch >= 0x410 && ch <= 0x42f))
    {
        ch += 0x20;

    } else if (ch == 0x3c2) {
        ch = 0x3c3;                                   /* final sigma */

    } else if (ch >= 0x400 && ch <= 0x40f) {
        ch += 0x50;
    }

    out[0] = (unsigned char) (0xc0 | (ch >> 6));
    out[1] = (unsigned char) (0x80 | (ch & 0x3f));

    return 2;
}


int
ngx_mail_imapd_search_match(const ngx_mail_imapd_search_t *search,
    const ngx_mail_imapd_message_t *msg, uint32_t star_seq,
    uint32_t star_uid, const mime_allocator_t *allocator)
{
    int                          rc;
    ngx_mail_imapd_search_ctx_t  ctx;

    memset(&ctx, 0, sizeof(ngx_mail_imapd_search_ctx_t));

    ctx.msg = msg;
    ctx.allocator = allocator;
    ctx.star_seq = star_seq;
    ctx.star_uid = star_uid;

    rc = ngx_mail_imapd_search_eval(&ctx, search->root);

    return ctx.nomem ? NGX_MAIL_IMAPD_SEARCH_NOMEM : rc;
}


/* recursion is bounded by NGX_MAIL_IMAPD_SEARCH_MAX_DEPTH */

static int
ngx_mail_imapd_search_eval(ngx_mail_imapd_search_ctx_t *ctx,
    const ngx_mail_imapd_search_key_t *key)
{
    long                                day;
    const ngx_mail_imapd_message_t     *msg;
    const ngx_mail_imapd_search_key_t  *k;

    msg = ctx->msg;

    if (ctx->nomem) {
        return 0;
    }

    switch (key->type) {

    case NGX_MAIL_IMAPD_SK_ALL:
        return 1;

    case NGX_MAIL_IMAPD_SK_AND:
        for (k = key->a; k; k = k->next) {
            if (!ngx_mail_imapd_search_eval(ctx, k)) {
                return 0;
            }
        }

        return 1;

    case NGX_MAIL_IMAPD_SK_OR:
        return ngx_mail_imapd_search_eval(ctx, key->a)
               || ngx_mail_imapd_search_eval(ctx, key->b);

    case NGX_MAIL_IMAPD_SK_NOT:
        return !ngx_mail_imapd_search_eval(ctx, key->a);

    case NGX_MAIL_IMAPD_SK_FLAG:
        return ngx_mail_imapd_search_has_flag(msg, key->name, key->name_len)
               != key->negate;

    case NGX_MAIL_IMAPD_SK_RECENT:
        return msg->recent;

    case NGX_MAIL_IMAPD_SK_NEW:
        /* RFC 3501 6.4.4: "(RECENT UNSEEN)" */
        return msg->recent
               && !ngx_mail_imapd_search_has_flag(msg,
                                       (const unsigned char *) "\\Seen", 5);

    case NGX_MAIL_IMAPD_SK_OLD:
        return !msg->recent;

    case NGX_MAIL_IMAPD_SK_BEFORE:
    case NGX_MAIL_IMAPD_SK_ON:
    case NGX_MAIL_IMAPD_SK_SINCE:
        day = ngx_mail_imapd_search_day_of((long long) msg->internaldate);
        break;

    case NGX_MAIL_IMAPD_SK_SENTBEFORE:
    case NGX_MAIL_IMAPD_SK_SENTON:
    case NGX_MAIL_IMAPD_SK_SENTSINCE:
        day = ngx_mail_imapd_search_sent_day(ctx);
        break;

    case NGX_MAIL_IMAPD_SK_LARGER:
        return msg->size > key->number;

    case NGX_MAIL_IMAPD_SK_SMALLER:
        return msg->size < key->number;

    case NGX_MAIL_IMAPD_SK_SEQ:
        return ngx_mail_imapd_search_seq_match(key, msg->seq, ctx->star_seq);

    case NGX_MAIL_IMAPD_SK_UID:
        return ngx_mail_imapd_search_seq_match(key, msg->uid, ctx->star_uid);

    case NGX_MAIL_IMAPD_SK_MODSEQ:
        return msg->modseq >= key->number;

    case NGX_MAIL_IMAPD_SK_HEADER:
        return ngx_mail_imapd_search_header(ctx, key, 0);

    case NGX_MAIL_IMAPD_SK_BODY:
        return ngx_mail_imapd_search_body(ctx, key);

    case NGX_MAIL_IMAPD_SK_TEXT:
        return ngx_mail_imapd_search_header(ctx, key, 1)
               || ngx_mail_imapd_search_body(ctx, key);

    default:
        return 0;
    }

    switch (key->type) {

    case NGX_MAIL_IMAPD_SK_BEFORE:
    case NGX_MAIL_IMAPD_SK_SENTBEFORE:
        return day < key->day;

    case NGX_MAIL_IMAPD_SK_ON:
    case NGX_MAIL_IMAPD_SK_SENTON:
        return day == key->day;

    default:
        return day >= key->day;
    }
}


/* RFC 3501 2.3.2: flags and keywords compare case-insensitively */

static int
ngx_mail_imapd_search_has_flag(const ngx_mail_imapd_message_t *msg,
    const unsigned char *name, size_t len)
{
    size_t                i;
    const unsigned char  *p, *end, *start;

    if (msg->flags == NULL) {
        return 0;
    }

    p = msg->flags;
    end = p + msg->flags_len;

    while (p < end) {
        while (p < end && *p == ' ') {
            p++;
        }

        start = p;

        while (p < end && *p != ' ') {
            p++;
        }

        if ((size_t) (p - start) != len) {
            continue;
        }

        for (i = 0; i < len; i++) {
            if (ngx_mail_imapd_search_lower(start[i])
                != ngx_mail_imapd_search_lower(name[i]))
            {
                break;
            }
        }

        if (i == len) {
            return 1;
        }
    }

    return 0;
}


static unsigned
ngx_mail_imapd_search_lower(unsigned c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}


static int
ngx_mail_imapd_search_seq_match(const ngx_mail_imapd_search_key_t *key,
    uint32_t n, uint32_t star)
{
    uint32_t  lo, hi;

    if (ngx_mail_imapd_seqset_contains(&key->set, n, star)) {
        return 1;
    }

    if (!key->star) {
        return 0;
    }

    lo = (key->star_lo < star) ? key->star_lo : star;
    hi = (key->star_hi > star) ? key->star_hi : star;

    return n >= lo && n <= hi;
}


/* the message parsed once, on the first key that reads it */

static mime_message_t *
ngx_mail_imapd_search_mime(ngx_mail_imapd_search_ctx_t *ctx)
{
    if (ctx->parsed) {
        return ctx->mime;
    }

    ctx->parsed = 1;

    if (ctx->msg->data == NULL) {
        return NULL;
    }

    ctx->mime = mime_parse(ctx->allocator, ctx->msg->data, ctx->msg->len,
                           NULL);

    if (ctx->mime == NULL) {
        ctx->nomem = 1;
    }

    return ctx->mime;
}


/*
 * RFC 3501 6.4.4 compares the Date: header's date "disregarding time
 * and timezone": the day as written, in the sender's zone.  Without a
 * usable Date:, the internal date, as RFC 5256 2.2 has SORT do.
 */

static long
ngx_mail_imapd_search_sent_day(ngx_mail_imapd_search_ctx_t *ctx)
{
    int              tz;
    time_t           t;
    mime_str_t       value;
    mime_header_t   *h;
    mime_message_t  *mime;

    if (ctx->sent_done) {
        return ctx->sent_day;
    }

    ctx->sent_done = 1;
    ctx->sent_day = ngx_mail_imapd_search_day_of(
                                       (long long) ctx->msg->internaldate);

    mime = ngx_mail_imapd_search_mime(ctx);

    if (mime == NULL) {
        return ctx->sent_day;
    }

    h = mime_header_find(mime, mime->root, "date");

    if (h == NULL || mime_header_value(mime, h, &value) != MIME_OK) {
        return ctx->sent_day;
    }

    tz = 0;

    if (mime_date_parse(value.data, value.len, &t, &tz) == MIME_OK) {
        ctx->sent_day = ngx_mail_imapd_search_day_of((long long) t
                                                     + tz * 60LL);
    }

    return ctx->sent_day;
}


/*
 * HEADER and its kind: each top-level field of the key's name, value
 * decoded; any_field (TEXT): every field, as "Name: value".
 */

static int
ngx_mail_imapd_search_header(ngx_mail_imapd_search_ctx_t *ctx,
    const ngx_mail_imapd_search_key_t *key, int any_field)
{
    mime_message_t  *mime;

    mime = ngx_mail_imapd_search_mime(ctx);

    if (mime == NULL) {
        return 0;
    }

    return ngx_mail_imapd_search_fields(ctx, mime, mime->root, key,
                                        any_field);
}


/* the fields of one part's header, as HEADER (or TEXT: any field) */

static int
ngx_mail_imapd_search_fields(ngx_mail_imapd_search_ctx_t *ctx,
    mime_message_t *mime, const mime_part_t *part,
    const ngx_mail_imapd_search_key_t *key, int any_field)
{
    mime_str_t                    raw, utf8;
    mime_header_t                *h;
    ngx_mail_imapd_search_scan_t  scan;

    for (h = part->headers; h; h = h->next) {

        if (!any_field
            && !mime_header_name_is(mime, h, (const char *) key->name,
                                    key->name_len))
        {
            continue;
        }

        if (key->needle_len == 0) {
            return 1;
        }

        if (mime_header_value(mime, h, &raw) != MIME_OK
            || mime_words_decode(ctx->allocator, raw.data, raw.len, &utf8)
               != MIME_OK)
        {
            ctx->nomem = 1;
            return 0;
        }

        scan.key = key;
        scan.matched = 0;

        if (any_field
            && (ngx_mail_imapd_search_scan(&scan, mime->data + h->start,
                                           h->name_len)
                || ngx_mail_imapd_search_scan(&scan,
                                        (const unsigned char *) ": ", 2)))
        {
            return 1;
        }

        if (ngx_mail_imapd_search_scan(&scan, utf8.data, utf8.len)) {
            return 1;
        }
    }

    return 0;
}


static int
ngx_mail_imapd_search_body(ngx_mail_imapd_search_ctx_t *ctx,
    const ngx_mail_imapd_search_key_t *key)
{
    mime_buf_t                    out;
    mime_message_t               *mime;
    ngx_mail_imapd_search_scan_t  scan;

    if (key->needle_len == 0) {
        return 1;
    }

    if (!ctx->body_done) {
        ctx->body_done = 1;

        mime = ngx_mail_imapd_search_mime(ctx);

        if (mime == NULL) {
            return 0;
        }

        mime_buf_init(&out, ctx->allocator, 4096);

        if (mime_text_extract(mime, &out, 0) != MIME_OK) {
            ctx->nomem = 1;
            return 0;
        }

        ctx->body.data = out.data;
        ctx->body.len = out.len;
    }

    if (ctx->body.len == 0) {
        return 0;
    }

    scan.key = key;
    scan.matched = 0;

    if (ngx_mail_imapd_search_scan(&scan, ctx->body.data, ctx->body.len)) {
        return 1;
    }

    return ngx_mail_imapd_search_attached(ctx, key);
}


/*
 * An attached message's header is part of the body it is attached to
 * (RFC 3501 6.4.4 BODY): its fields are searched as TEXT searches the
 * message's own.
 */

static int
ngx_mail_imapd_search_attached(ngx_mail_imapd_search_ctx_t *ctx,
    const ngx_mail_imapd_search_key_t *key)
{
    mime_message_t     *mime;
    const mime_part_t  *part;

    mime = ngx_mail_imapd_search_mime(ctx);

    if (mime == NULL) {
        return 0;
    }

    part = mime->root;

    while (part) {
        if (part->message
            && ngx_mail_imapd_search_fields(ctx, mime, part->message, key, 1))
        {
            return 1;
        }

        part = mime_part_next(part);
    }

    return 0;
}


/*
 * Knuth-Morris-Pratt over the folded text, fed in pieces: "matched"
 * carries the state from one piece to the next.  1 when found.
 */

static int
ngx_mail_imapd_search_scan(ngx_mail_imapd_search_scan_t *scan,
    const unsigned char *p, size_t len)
{
    size_t                              j, n, i;
    unsigned char                       folded[2];
    const unsigned char                *end;
    const ngx_mail_imapd_search_key_t  *key;

    key = scan->key;
    j = scan->matched;
    end = p + len;

    while (p < end) {
        n = ngx_mail_imapd_search_fold(&p, end, folded);

        for (i = 0; i < n; i++) {
            while (j > 0 && key->needle[j] != folded[i]) {
                j = key->fail[j - 1];
            }

            if (key->needle[j] == folded[i]) {
                j++;
            }

            if (j == key->needle_len) {
                return 1;
            }
        }
    }

    scan->matched = j;

    return 0;
}
