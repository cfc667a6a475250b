
/*
 * IMAP FETCH: compiling the attributes a client asks for, and writing
 * the untagged FETCH response of one message (RFC 3501 6.4.5, 7.4.2, 9;
 * RFC 7162 3.1.4).  See ngx_mail_imapd_fetch.h.
 */

#include <stdio.h>
#include <string.h>

#include "ngx_mail_imapd_fetch.h"


/* RFC 3501 9 number: 32 bits */
#define NGX_MAIL_IMAPD_FETCH_NUMBER_MAX  4294967295ULL

/* the most items a macro expands to: FULL */
#define NGX_MAIL_IMAPD_FETCH_MACRO_MAX   5

/* "17-Jul-1996 02:44:25 +0000" cannot show a year past 9999 */
#define NGX_MAIL_IMAPD_FETCH_TIME_MAX    253402300799LL


typedef struct {
    const char                 *name;
    unsigned                    type;
    unsigned                    needs;
    unsigned                    sets_seen;
} ngx_mail_imapd_fetch_att_t;


static const ngx_mail_imapd_fetch_att_t  ngx_mail_imapd_fetch_atts[] = {
    { "ENVELOPE", NGX_MAIL_IMAPD_FETCH_ENVELOPE,
      NGX_MAIL_IMAPD_NEED_CONTENT, 0 },
    { "FLAGS", NGX_MAIL_IMAPD_FETCH_FLAGS, NGX_MAIL_IMAPD_NEED_META, 0 },
    { "INTERNALDATE", NGX_MAIL_IMAPD_FETCH_INTERNALDATE,
      NGX_MAIL_IMAPD_NEED_META, 0 },
    /* RFC 3501 6.4.5: RFC822 and RFC822.TEXT are not PEEKs */
    { "RFC822", NGX_MAIL_IMAPD_FETCH_RFC822, NGX_MAIL_IMAPD_NEED_BODY, 1 },
    { "RFC822.HEADER", NGX_MAIL_IMAPD_FETCH_RFC822_HEADER,
      NGX_MAIL_IMAPD_NEED_CONTENT, 0 },
    { "RFC822.SIZE", NGX_MAIL_IMAPD_FETCH_RFC822_SIZE,
      NGX_MAIL_IMAPD_NEED_META, 0 },
    { "RFC822.TEXT", NGX_MAIL_IMAPD_FETCH_RFC822_TEXT,
      NGX_MAIL_IMAPD_NEED_BODY, 1 },
    { "BODY", NGX_MAIL_IMAPD_FETCH_BODY, NGX_MAIL_IMAPD_NEED_BODY, 0 },
    { "BODYSTRUCTURE", NGX_MAIL_IMAPD_FETCH_BODYSTRUCTURE,
      NGX_MAIL_IMAPD_NEED_BODY, 0 },
    { "UID", NGX_MAIL_IMAPD_FETCH_UID, NGX_MAIL_IMAPD_NEED_META, 0 },
    /* RFC 7162 3.1.4.1 */
    { "MODSEQ", NGX_MAIL_IMAPD_FETCH_MODSEQ, NGX_MAIL_IMAPD_NEED_META, 0 },
    { NULL, 0, 0, 0 }
};


/* RFC 3501 6.4.5 macros; they stand alone, never inside a list */

static const char  *ngx_mail_imapd_fetch_all[] = {
    "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", NULL
};

static const char  *ngx_mail_imapd_fetch_fast[] = {
    "FLAGS", "INTERNALDATE", "RFC822.SIZE", NULL
};

static const char  *ngx_mail_imapd_fetch_full[] = {
    "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY", NULL
};


static const char  *ngx_mail_imapd_fetch_months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};


static int ngx_mail_imapd_fetch_item(ngx_mail_imapd_fetch_t *fetch,
    const ngx_mail_imapd_str_t *atom, const mime_allocator_t *allocator,
    const char **error);
static int ngx_mail_imapd_fetch_simple(ngx_mail_imapd_fetch_t *fetch,
    const ngx_mail_imapd_str_t *atom, const char **error);
static int ngx_mail_imapd_fetch_section(ngx_mail_imapd_fetch_t *fetch,
    const ngx_mail_imapd_str_t *atom, size_t bracket,
    const mime_allocator_t *allocator, const char **error);
static const unsigned char *ngx_mail_imapd_fetch_section_end(
    const unsigned char *p, const unsigned char *end);
static int ngx_mail_imapd_fetch_partial(const unsigned char *p,
    const unsigned char *end, ngx_mail_imapd_fetch_item_t *item);
static const unsigned char *ngx_mail_imapd_fetch_number(
    const unsigned char *p, const unsigned char *end, uint32_t *n);
static int ngx_mail_imapd_fetch_fields_valid(const mime_section_t *section);
static int ngx_mail_imapd_fetch_name(ngx_mail_imapd_fetch_item_t *item,
    const char *prefix, const mime_allocator_t *allocator);
static void ngx_mail_imapd_fetch_field_name(mime_buf_t *b,
    const mime_str_t *field);

static int ngx_mail_imapd_fetch_write_item(
    const ngx_mail_imapd_fetch_item_t *item,
    const ngx_mail_imapd_message_t *msg, const mime_message_t *parsed,
    mime_buf_t *out);
static void ngx_mail_imapd_fetch_write_flags(
    const ngx_mail_imapd_message_t *msg, mime_buf_t *out);
static void ngx_mail_imapd_fetch_write_date(time_t t, mime_buf_t *out);
static void ngx_mail_imapd_fetch_write_section(
    const ngx_mail_imapd_fetch_item_t *item, const mime_message_t *parsed,
    mime_buf_t *out);
static int ngx_mail_imapd_fetch_binary(const mime_message_t *parsed,
    const mime_section_t *section, mime_str_t *data);
static void ngx_mail_imapd_fetch_write_binary(
    const ngx_mail_imapd_fetch_item_t *item, const mime_message_t *parsed,
    mime_buf_t *out);
static void ngx_mail_imapd_fetch_write_octets(
    const ngx_mail_imapd_fetch_item_t *item, const mime_uchar_t *p,
    size_t len, mime_buf_t *out);


int
ngx_mail_imapd_fetch_compile(const ngx_mail_imapd_node_t *nodes,
    uint32_t att, const mime_allocator_t *allocator,
    ngx_mail_imapd_fetch_t **fetch, const char **error)
{
    int                           rc;
    uint32_t                      i, n;
    const char                  **macro;
    ngx_mail_imapd_str_t          name;
    ngx_mail_imapd_fetch_t       *f;
    const ngx_mail_imapd_node_t  *node;

    *fetch = NULL;
    *error = NULL;
    node = &nodes[att];
    macro = NULL;

    if (node->type == NGX_MAIL_IMAPD_NODE_ATOM) {
        if (ngx_mail_imapd_atom_eq(&node->value, "ALL")) {
            macro = ngx_mail_imapd_fetch_all;

        } else if (ngx_mail_imapd_atom_eq(&node->value, "FAST")) {
            macro = ngx_mail_imapd_fetch_fast;

        } else if (ngx_mail_imapd_atom_eq(&node->value, "FULL")) {
            macro = ngx_mail_imapd_fetch_full;
        }

        n = NGX_MAIL_IMAPD_FETCH_MACRO_MAX;

    } else if (node->type == NGX_MAIL_IMAPD_NODE_LIST) {
        if (node->count == 0) {
            *error = "Empty FETCH attribute list";
            return NGX_MAIL_IMAPD_PARSE_ERROR;
        }

        if (node->count > NGX_MAIL_IMAPD_FETCH_MAX_ITEMS) {
            *error = "Too many FETCH attributes";
            return NGX_MAIL_IMAPD_PARSE_ERROR;
        }

        n = node->count;

    } else {
        *error = "Invalid FETCH attribute";
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    f = mime_alloc(allocator, sizeof(ngx_mail_imapd_fetch_t));
    if (f == NULL) {
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    memset(f, 0, sizeof(ngx_mail_imapd_fetch_t));

    f->items = mime_alloc(allocator, n * sizeof(ngx_mail_imapd_fetch_item_t));
    if (f->items == NULL) {
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    f->needs = NGX_MAIL_IMAPD_NEED_META;

    if (macro) {
        for ( /* void */ ; *macro; macro++) {
            name.data = (const unsigned char *) *macro;
            name.len = strlen(*macro);

            if (ngx_mail_imapd_fetch_simple(f, &name, error)
                != NGX_MAIL_IMAPD_PARSE_OK)
            {
                return NGX_MAIL_IMAPD_PARSE_ERROR;
            }
        }

    } else if (node->type == NGX_MAIL_IMAPD_NODE_ATOM) {
        rc = ngx_mail_imapd_fetch_item(f, &node->value, allocator, error);
        if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
            return rc;
        }

    } else {
        for (i = node->child; i != NGX_MAIL_IMAPD_NODE_NONE;
             i = nodes[i].next)
        {
            if (nodes[i].type != NGX_MAIL_IMAPD_NODE_ATOM) {
                *error = "Invalid FETCH attribute";
                return NGX_MAIL_IMAPD_PARSE_ERROR;
            }

            /* items[] has room for "count" children, never more */
            if (f->nitems == n) {
                *error = "Too many FETCH attributes";
                return NGX_MAIL_IMAPD_PARSE_ERROR;
            }

            rc = ngx_mail_imapd_fetch_item(f, &nodes[i].value, allocator,
                                           error);
            if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
                return rc;
            }
        }
    }

    *fetch = f;

    return NGX_MAIL_IMAPD_PARSE_OK;
}


static int
ngx_mail_imapd_fetch_item(ngx_mail_imapd_fetch_t *fetch,
    const ngx_mail_imapd_str_t *atom, const mime_allocator_t *allocator,
    const char **error)
{
    size_t  i;

    for (i = 0; i < atom->len; i++) {
        if (atom->data[i] == '[') {
            return ngx_mail_imapd_fetch_section(fetch, atom, i, allocator,
                                                error);
        }
    }

    return ngx_mail_imapd_fetch_simple(fetch, atom, error);
}


static int
ngx_mail_imapd_fetch_simple(ngx_mail_imapd_fetch_t *fetch,
    const ngx_mail_imapd_str_t *atom, const char **error)
{
    unsigned                           i;
    ngx_mail_imapd_fetch_item_t       *item;
    const ngx_mail_imapd_fetch_att_t  *a;

    for (a = ngx_mail_imapd_fetch_atts; a->name; a++) {
        if (ngx_mail_imapd_atom_eq(atom, a->name)) {
            break;
        }
    }

    if (a->name == NULL) {
        *error = "Unknown FETCH attribute";
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    fetch->needs |= a->needs;
    fetch->sets_seen |= a->sets_seen;

    if (a->type == NGX_MAIL_IMAPD_FETCH_UID) {
        fetch->uid = 1;
        fetch->has_uid = 1;

    } else if (a->type == NGX_MAIL_IMAPD_FETCH_MODSEQ) {
        fetch->modseq = 1;
        fetch->has_modseq = 1;

    } else if (a->type == NGX_MAIL_IMAPD_FETCH_FLAGS) {
        fetch->has_flags = 1;
    }

    /* "(FLAGS FLAGS)" gets one FLAGS, as in Dovecot */
    for (i = 0; i < fetch->nitems; i++) {
        if (fetch->items[i].type == a->type) {
            return NGX_MAIL_IMAPD_PARSE_OK;
        }
    }

    /* the list's count or the macro's size bound nitems */
    item = &fetch->items[fetch->nitems++];
    memset(item, 0, sizeof(ngx_mail_imapd_fetch_item_t));

    item->type = a->type;
    item->name.data = (const unsigned char *) a->name;
    item->name.len = strlen(a->name);

    return NGX_MAIL_IMAPD_PARSE_OK;
}


/*
 * "BODY[section]<origin.count>" or "BODY.PEEK[...]...", one ATOM from
 * the parser; "bracket" is the offset of "[".
 */

static int
ngx_mail_imapd_fetch_section(ngx_mail_imapd_fetch_t *fetch,
    const ngx_mail_imapd_str_t *atom, size_t bracket,
    const mime_allocator_t *allocator, const char **error)
{
    int                           peek;
    size_t                        len;
    unsigned                      type;
    const char                   *prefix;
    mime_uchar_t                 *copy;
    ngx_mail_imapd_str_t          name;
    const unsigned char          *p, *end, *close;
    ngx_mail_imapd_fetch_item_t  *item;

    name.data = atom->data;
    name.len = bracket;
    peek = 0;

    if (ngx_mail_imapd_atom_eq(&name, "BODY")) {
        type = NGX_MAIL_IMAPD_FETCH_SECTION;
        prefix = "BODY[";

    } else if (ngx_mail_imapd_atom_eq(&name, "BODY.PEEK")) {
        type = NGX_MAIL_IMAPD_FETCH_SECTION;
        prefix = "BODY[";
        peek = 1;

    } else if (ngx_mail_imapd_atom_eq(&name, "BINARY")) {
        type = NGX_MAIL_IMAPD_FETCH_BINARY;
        prefix = "BINARY[";

    } else if (ngx_mail_imapd_atom_eq(&name, "BINARY.PEEK")) {
        type = NGX_MAIL_IMAPD_FETCH_BINARY;
        prefix = "BINARY[";
        peek = 1;

    } else if (ngx_mail_imapd_atom_eq(&name, "BINARY.SIZE")) {
        /* nothing of the content is read: no \Seen, as in Dovecot */
        type = NGX_MAIL_IMAPD_FETCH_BINARY_SIZE;
        prefix = "BINARY.SIZE[";
        peek = 1;

    } else {
        *error = "Unknown FETCH attribute";
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    p = atom->data + bracket + 1;
    end = atom->data + atom->len;

    close = ngx_mail_imapd_fetch_section_end(p, end);

    if (close == NULL) {
        *error = "Invalid FETCH section";
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    item = &fetch->items[fetch->nitems];
    memset(item, 0, sizeof(ngx_mail_imapd_fetch_item_t));
    item->type = type;

    /* RFC 3516 4.2: BINARY.SIZE takes no partial */
    if (ngx_mail_imapd_fetch_partial(close + 1, end, item)
        != NGX_MAIL_IMAPD_PARSE_OK
        || (item->partial && type == NGX_MAIL_IMAPD_FETCH_BINARY_SIZE))
    {
        *error = "Invalid FETCH partial";
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    /*
     * The section's field names must outlive the command's buffer,
     * which the caller reuses while it writes the responses.
     */

    len = close - p;

    copy = mime_alloc(allocator, len);
    item->section = mime_alloc(allocator, sizeof(mime_section_t));

    if (copy == NULL || item->section == NULL) {
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    if (len) {
        memcpy(copy, p, len);
    }

    /* RFC 3516 4.2 section-binary: part numbers only */
    if (mime_section_parse(copy, len, item->section) != MIME_OK
        || !ngx_mail_imapd_fetch_fields_valid(item->section)
        || (type != NGX_MAIL_IMAPD_FETCH_SECTION
            && item->section->kind != MIME_SECTION_ALL))
    {
        *error = "Invalid FETCH section";
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    if (ngx_mail_imapd_fetch_name(item, prefix, allocator)
        != NGX_MAIL_IMAPD_PARSE_OK)
    {
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    fetch->nitems++;

    /* the top-level header alone is read without the body */
    if (type == NGX_MAIL_IMAPD_FETCH_SECTION && item->section->nparts == 0
        && (item->section->kind == MIME_SECTION_HEADER
            || item->section->kind == MIME_SECTION_HEADER_FIELDS
            || item->section->kind == MIME_SECTION_HEADER_FIELDS_NOT))
    {
        fetch->needs |= NGX_MAIL_IMAPD_NEED_CONTENT;

    } else {
        fetch->needs |= NGX_MAIL_IMAPD_NEED_BODY;
    }

    if (!peek) {
        fetch->sets_seen = 1;
    }

    return NGX_MAIL_IMAPD_PARSE_OK;
}


/*
 * The "]" closing a section, whose quoted field names may hold "]".
 * The mime section parser takes a quoted string up to the next quote,
 * so a backslash escape, useless in a header field name, is refused.
 */

static const unsigned char *
ngx_mail_imapd_fetch_section_end(const unsigned char *p,
    const unsigned char *end)
{
    int  quoted;

    quoted = 0;

    for ( /* void */ ; p < end; p++) {
        if (*p == '\\') {
            return NULL;
        }

        if (*p == '"') {
            quoted = !quoted;

        } else if (*p == ']' && !quoted) {
            return p;
        }
    }

    return NULL;
}


/* RFC 3501 9: ["<" number "." nz-number ">"] up to the atom's end */

static int
ngx_mail_imapd_fetch_partial(const unsigned char *p,
    const unsigned char *end, ngx_mail_imapd_fetch_item_t *item)
{
    if (p == end) {
        return NGX_MAIL_IMAPD_PARSE_OK;
    }

    if (*p++ != '<') {
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    p = ngx_mail_imapd_fetch_number(p, end, &item->origin);

    if (p == NULL || p == end || *p++ != '.') {
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    p = ngx_mail_imapd_fetch_number(p, end, &item->count);

    if (p == NULL || item->count == 0 || end - p != 1 || *p != '>') {
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    item->partial = 1;

    return NGX_MAIL_IMAPD_PARSE_OK;
}


static const unsigned char *
ngx_mail_imapd_fetch_number(const unsigned char *p, const unsigned char *end,
    uint32_t *n)
{
    uint64_t              value;
    const unsigned char  *start;

    value = 0;
    start = p;

    while (p < end && *p >= '0' && *p <= '9') {
        value = value * 10 + (*p++ - '0');

        if (value > NGX_MAIL_IMAPD_FETCH_NUMBER_MAX) {
            return NULL;
        }
    }

    if (p == start) {
        return NULL;
    }

    *n = (uint32_t) value;

    return p;
}


/* RFC 5322 2.2 field-name: 1*ftext, printable US-ASCII but ":" */

static int
ngx_mail_imapd_fetch_fields_valid(const mime_section_t *section)
{
    size_t    k;
    unsigned  i;

    for (i = 0; i < section->nfields; i++) {
        if (section->fields[i].len == 0) {
            return 0;
        }

        for (k = 0; k < section->fields[i].len; k++) {
            if (section->fields[i].data[k] <= 0x20
                || section->fields[i].data[k] >= 0x7f
                || section->fields[i].data[k] == ':')
            {
                return 0;
            }
        }
    }

    return 1;
}


/*
 * RFC 3501 7.4.2: the reply names the section as asked, and a partial
 * by its origin only: "BODY[1.2.HEADER.FIELDS (FROM TO)]<0>".  The
 * names are written once here rather than for every message.
 */

static int
ngx_mail_imapd_fetch_name(ngx_mail_imapd_fetch_item_t *item,
    const char *prefix, const mime_allocator_t *allocator)
{
    unsigned               i;
    mime_buf_t             b;
    const mime_section_t  *s;

    static const char     *kinds[] = {
        "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"
    };

    s = item->section;

    mime_buf_init(&b, allocator, 64);
    mime_buf_append_str(&b, prefix);

    for (i = 0; i < s->nparts; i++) {
        if (i) {
            mime_buf_append_char(&b, '.');
        }

        mime_buf_append_number(&b, s->part[i]);
    }

    if (s->kind != MIME_SECTION_ALL) {
        if (s->nparts) {
            mime_buf_append_char(&b, '.');
        }

        mime_buf_append_str(&b, kinds[s->kind]);
    }

    if (s->kind == MIME_SECTION_HEADER_FIELDS
        || s->kind == MIME_SECTION_HEADER_FIELDS_NOT)
    {
        mime_buf_append(&b, " (", 2);

        for (i = 0; i < s->nfields; i++) {
            if (i) {
                mime_buf_append_char(&b, ' ');
            }

            ngx_mail_imapd_fetch_field_name(&b, &s->fields[i]);
        }

        mime_buf_append_char(&b, ')');
    }

    mime_buf_append_char(&b, ']');

    if (item->partial) {
        mime_buf_append_char(&b, '<');
        mime_buf_append_number(&b, item->origin);
        mime_buf_append_char(&b, '>');
    }

    if (b.failed) {
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    item->name.data = b.data;
    item->name.len = b.len;

    return NGX_MAIL_IMAPD_PARSE_OK;
}


/*
 * A field name in upper case, as Dovecot echoes it: an atom, or a
 * quoted string if it holds atom-specials (RFC 3501 9 astring).
 */

static void
ngx_mail_imapd_fetch_field_name(mime_buf_t *b, const mime_str_t *field)
{
    int        quote;
    size_t     k;
    unsigned   c;

    quote = 0;

    for (k = 0; k < field->len; k++) {
        c = field->data[k];

        if (c == '(' || c == ')' || c == '{' || c == '%' || c == '*'
            || c == '"' || c == '\\' || c == ']')
        {
            quote = 1;
        }
    }

    if (quote) {
        mime_buf_append_char(b, '"');
    }

    for (k = 0; k < field->len; k++) {
        c = field->data[k];

        if (c == '"' || c == '\\') {
            mime_buf_append_char(b, '\\');
        }

        mime_buf_append_char(b, (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c);
    }

    if (quote) {
        mime_buf_append_char(b, '"');
    }
}


/*
 * RFC 3516 4.3: a part in a Content-Transfer-Encoding we cannot undo
 * gets a tagged NO [UNKNOWN-CTE], so it is found before anything of the
 * message's response is written.
 */

int
ngx_mail_imapd_fetch_check(const ngx_mail_imapd_fetch_t *fetch,
    const mime_message_t *parsed)
{
    unsigned            i;
    const mime_part_t  *part;

    for (i = 0; i < fetch->nitems; i++) {
        if (fetch->items[i].type != NGX_MAIL_IMAPD_FETCH_BINARY
            && fetch->items[i].type != NGX_MAIL_IMAPD_FETCH_BINARY_SIZE)
        {
            continue;
        }

        if (parsed == NULL) {
            return NGX_MAIL_IMAPD_PARSE_ERROR;
        }

        if (fetch->items[i].section->nparts == 0) {
            continue;
        }

        part = mime_section_part(parsed, fetch->items[i].section);

        if (part && !(part->flags & MIME_PART_MULTIPART)
            && part->message == NULL && part->encoding_id == MIME_ENC_OTHER)
        {
            return NGX_MAIL_IMAPD_PARSE_DECLINED;
        }
    }

    return NGX_MAIL_IMAPD_PARSE_OK;
}


int
ngx_mail_imapd_fetch_write(const ngx_mail_imapd_fetch_t *fetch,
    const ngx_mail_imapd_message_t *msg, const mime_message_t *parsed,
    int flags_changed, mime_buf_t *out)
{
    int       rc, first;
    unsigned  i;

    if ((fetch->needs & NGX_MAIL_IMAPD_NEED_CONTENT) && parsed == NULL) {
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    rc = ngx_mail_imapd_fetch_check(fetch, parsed);
    if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
        return rc;
    }

    mime_buf_append(out, "* ", 2);
    mime_buf_append_number(out, msg->seq);
    mime_buf_append(out, " FETCH (", 8);

    first = 1;

    if (fetch->uid && !fetch->has_uid) {
        mime_buf_append(out, "UID ", 4);
        mime_buf_append_number(out, msg->uid);
        first = 0;
    }

    if (fetch->modseq && !fetch->has_modseq) {
        mime_buf_append_str(out, first ? "MODSEQ (" : " MODSEQ (");
        mime_buf_append_number(out, msg->modseq);
        mime_buf_append_char(out, ')');
        first = 0;
    }

    for (i = 0; i < fetch->nitems; i++) {
        if (!first) {
            mime_buf_append_char(out, ' ');
        }

        ngx_mail_imapd_fetch_write_item(&fetch->items[i], msg, parsed, out);
        first = 0;
    }

    if (flags_changed && !fetch->has_flags) {
        mime_buf_append_str(out, first ? "FLAGS " : " FLAGS ");
        ngx_mail_imapd_fetch_write_flags(msg, out);
    }

    mime_buf_append(out, ")\r\n", 3);

    return out->failed ? NGX_MAIL_IMAPD_PARSE_ERROR : NGX_MAIL_IMAPD_PARSE_OK;
}


static int
ngx_mail_imapd_fetch_write_item(const ngx_mail_imapd_fetch_item_t *item,
    const ngx_mail_imapd_message_t *msg, const mime_message_t *parsed,
    mime_buf_t *out)
{
    const mime_part_t  *root;

    root = parsed ? parsed->root : NULL;

    /* the items written as literals write their names themselves */

    switch (item->type) {

    case NGX_MAIL_IMAPD_FETCH_SECTION:
        ngx_mail_imapd_fetch_write_section(item, parsed, out);
        return out->failed ? MIME_ERROR : MIME_OK;

    case NGX_MAIL_IMAPD_FETCH_BINARY:
    case NGX_MAIL_IMAPD_FETCH_BINARY_SIZE:
        ngx_mail_imapd_fetch_write_binary(item, parsed, out);
        return out->failed ? MIME_ERROR : MIME_OK;

    case NGX_MAIL_IMAPD_FETCH_RFC822:
        ngx_mail_imapd_fetch_write_octets(item, parsed->data, parsed->len,
                                          out);
        return out->failed ? MIME_ERROR : MIME_OK;

    case NGX_MAIL_IMAPD_FETCH_RFC822_HEADER:
        ngx_mail_imapd_fetch_write_octets(item,
                                         parsed->data + root->header_start,
                                         root->header_end - root->header_start,
                                         out);
        return out->failed ? MIME_ERROR : MIME_OK;

    case NGX_MAIL_IMAPD_FETCH_RFC822_TEXT:
        ngx_mail_imapd_fetch_write_octets(item,
                                          parsed->data + root->body_start,
                                          root->body_end - root->body_start,
                                          out);
        return out->failed ? MIME_ERROR : MIME_OK;
    }

    mime_buf_append(out, item->name.data, item->name.len);
    mime_buf_append_char(out, ' ');

    switch (item->type) {

    case NGX_MAIL_IMAPD_FETCH_ENVELOPE:
        return mime_imap_envelope(parsed, root, out);

    case NGX_MAIL_IMAPD_FETCH_FLAGS:
        ngx_mail_imapd_fetch_write_flags(msg, out);
        break;

    case NGX_MAIL_IMAPD_FETCH_INTERNALDATE:
        ngx_mail_imapd_fetch_write_date(msg->internaldate, out);
        break;

    case NGX_MAIL_IMAPD_FETCH_RFC822_SIZE:
        mime_buf_append_number(out, msg->size);
        break;

    case NGX_MAIL_IMAPD_FETCH_BODY:
        return mime_imap_bodystructure(parsed, root, out, 0);

    case NGX_MAIL_IMAPD_FETCH_BODYSTRUCTURE:
        return mime_imap_bodystructure(parsed, root, out, 1);

    case NGX_MAIL_IMAPD_FETCH_UID:
        mime_buf_append_number(out, msg->uid);
        break;

    case NGX_MAIL_IMAPD_FETCH_MODSEQ:
        mime_buf_append_char(out, '(');
        mime_buf_append_number(out, msg->modseq);
        mime_buf_append_char(out, ')');
        break;
    }

    return out->failed ? MIME_ERROR : MIME_OK;
}


/*
 * The stored flags are written as stored, but any control octet counts
 * as a separator: nothing in them may break the response's line.  The
 * order is Dovecot's: system flags, \Recent, keywords.
 */

static void
ngx_mail_imapd_fetch_write_flags(const ngx_mail_imapd_message_t *msg,
    mime_buf_t *out)
{
    int                   first, pass, system;
    size_t                len;
    const unsigned char  *p, *end, *start;

    mime_buf_append_char(out, '(');

    first = 1;
    end = msg->flags + msg->flags_len;

    for (pass = 0; pass < 2; pass++) {

        if (pass == 1 && msg->recent) {
            mime_buf_append_str(out, first ? "\\Recent" : " \\Recent");
            first = 0;
        }

        for (p = msg->flags; p && p < end; /* void */) {
            while (p < end && (*p <= 0x20 || *p == 0x7f)) {
                p++;
            }

            start = p;

            while (p < end && *p > 0x20 && *p != 0x7f) {
                p++;
            }

            len = p - start;

            if (len == 0) {
                break;
            }

            system = (*start == '\\');

            if (system != (pass == 0)) {
                continue;
            }

            /* \Recent is the session's, never stored (RFC 3501 2.3.2) */
            if (len == 7 && mime_strcaseeq(start, len, "\\Recent")) {
                continue;
            }

            if (!first) {
                mime_buf_append_char(out, ' ');
            }

            mime_buf_append(out, start, len);
            first = 0;
        }
    }

    mime_buf_append_char(out, ')');
}


/* RFC 3501 9 date-time, always in UTC: "17-Jul-1996 02:44:25 +0000" */

static void
ngx_mail_imapd_fetch_write_date(time_t t, mime_buf_t *out)
{
    int        len;
    char       buf[40];
    long long  secs, days, era, doe, yoe, doy, mp, day, month, year;

    secs = (long long) t;

    if (secs < 0) {
        secs = 0;

    } else if (secs > NGX_MAIL_IMAPD_FETCH_TIME_MAX) {
        secs = NGX_MAIL_IMAPD_FETCH_TIME_MAX;
    }

    days = secs / 86400;
    secs %= 86400;

    /* the proleptic Gregorian calendar in 400-year eras from 0000-03-01 */
    days += 719468;
    era = days / 146097;
    doe = days - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    day = doy - (153 * mp + 2) / 5 + 1;
    month = mp < 10 ? mp + 3 : mp - 9;
    year = yoe + era * 400 + (month <= 2);

    len = snprintf(buf, sizeof(buf), "\"%02lld-%s-%04lld %02lld:%02lld:%02lld"
                   " +0000\"", day, ngx_mail_imapd_fetch_months[month - 1],
                   year, secs / 3600, secs / 60 % 60, secs % 60);

    mime_buf_append(out, buf, (size_t) len);
}


static void
ngx_mail_imapd_fetch_write_section(const ngx_mail_imapd_fetch_item_t *item,
    const mime_message_t *parsed, mime_buf_t *out)
{
    size_t                 start, end;
    mime_buf_t             fields;
    const mime_section_t  *s;

    s = item->section;

    if (s->kind == MIME_SECTION_HEADER_FIELDS
        || s->kind == MIME_SECTION_HEADER_FIELDS_NOT)
    {
        /* the literal's size first: the fields are gathered aside */

        if (mime_section_part(parsed, s) == NULL) {
            ngx_mail_imapd_fetch_write_octets(item, NULL, 0, out);
            return;
        }

        mime_buf_init(&fields, parsed->allocator, 0);

        if (mime_section_write(parsed, s, &fields) != MIME_OK) {
            out->failed = 1;
            return;
        }

        ngx_mail_imapd_fetch_write_octets(item, fields.data, fields.len,
                                          out);
        return;
    }

    /* RFC 3501 6.4.5: a part not in the message is just empty */

    if (mime_section_range(parsed, s, &start, &end) != MIME_OK
        || start > end || end > parsed->len)
    {
        ngx_mail_imapd_fetch_write_octets(item, NULL, 0, out);
        return;
    }

    ngx_mail_imapd_fetch_write_octets(item, parsed->data + start,
                                      end - start, out);
}


/*
 * RFC 3516 4.2: a part's body with its Content-Transfer-Encoding undone;
 * BINARY[] is the message as it is, and a multipart or message/rfc822
 * part, which has no encoding of its own to undo, its body as it is.
 */

static int
ngx_mail_imapd_fetch_binary(const mime_message_t *parsed,
    const mime_section_t *section, mime_str_t *data)
{
    const mime_part_t  *part;

    data->data = NULL;
    data->len = 0;

    if (section->nparts == 0) {
        data->data = parsed->data;
        data->len = parsed->len;
        return MIME_OK;
    }

    part = mime_section_part(parsed, section);

    if (part == NULL) {
        return MIME_OK;
    }

    if ((part->flags & MIME_PART_MULTIPART) || part->message) {
        if (part->body_start > part->body_end
            || part->body_end > parsed->len)
        {
            return MIME_OK;
        }

        data->data = parsed->data + part->body_start;
        data->len = part->body_end - part->body_start;
        return MIME_OK;
    }

    return mime_part_decode(parsed, part, parsed->allocator, data);
}


static void
ngx_mail_imapd_fetch_write_binary(const ngx_mail_imapd_fetch_item_t *item,
    const mime_message_t *parsed, mime_buf_t *out)
{
    mime_str_t  data;

    if (ngx_mail_imapd_fetch_binary(parsed, item->section, &data)
        != MIME_OK)
    {
        out->failed = 1;
        return;
    }

    if (item->type == NGX_MAIL_IMAPD_FETCH_BINARY_SIZE) {
        mime_buf_append(out, item->name.data, item->name.len);
        mime_buf_append_char(out, ' ');
        mime_buf_append_number(out, data.len);
        return;
    }

    ngx_mail_imapd_fetch_write_octets(item, data.data, data.len, out);
}


/*
 * The item's name, then its octets, cut to the partial, as a literal.
 * The octets are never in out->data, so a flush inside
 * mime_buf_append() cannot move them.
 */

static void
ngx_mail_imapd_fetch_write_octets(const ngx_mail_imapd_fetch_item_t *item,
    const mime_uchar_t *p, size_t len, mime_buf_t *out)
{
    mime_buf_append(out, item->name.data, item->name.len);

    if (item->partial) {
        /* RFC 3501 6.4.5: an origin past the end gives an empty string */
        if (item->origin >= len) {
            len = 0;

        } else {
            p += item->origin;
            len -= item->origin;

            if (len > item->count) {
                len = item->count;
            }
        }
    }

    if (len == 0) {
        mime_buf_append(out, " \"\"", 3);
        return;
    }

    /* RFC 3516 4.2: literal8 only where a literal cannot do: NUL */
    if (item->type == NGX_MAIL_IMAPD_FETCH_BINARY
        && memchr(p, '\0', len) != NULL)
    {
        mime_buf_append(out, " ~{", 3);

    } else {
        mime_buf_append(out, " {", 2);
    }

    mime_buf_append_number(out, len);
    mime_buf_append(out, "}\r\n", 3);
    mime_buf_append(out, p, len);
}
