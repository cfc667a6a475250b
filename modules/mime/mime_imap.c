
/*
 * IMAP ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501 7.4.2).  Where the RFC
 * leaves a choice (quoted string or literal, which header instance,
 * how broken fields show), we write what Dovecot 2.3 writes, since
 * that is what clients are tested against.
 */

#include <string.h>

#include "mime.h"
#include "mime_internal.h"


#define MIME_IMAP_MAX_ESCAPES  4


static int
mime_imap_literal(mime_buf_t *out, const mime_uchar_t *p, size_t len)
{
    mime_buf_append_char(out, '{');
    mime_buf_append_number(out, len);
    mime_buf_append(out, "}\r\n", 3);

    return mime_buf_append(out, p, len);
}


/*
 * RFC 3501 4.3: a quoted string may not hold CR, LF or 8-bit bytes;
 * those need a literal.  Like Dovecot we also take a literal once more
 * than four characters would need a backslash.
 */

static int
mime_imap_astr(mime_buf_t *out, const mime_uchar_t *p, size_t len)
{
    size_t    i, escapes;

    escapes = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == '"' || p[i] == '\\') {
            if (++escapes > MIME_IMAP_MAX_ESCAPES) {
                return mime_imap_literal(out, p, len);
            }

        } else if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0'
                   || p[i] >= 0x80)
        {
            return mime_imap_literal(out, p, len);
        }
    }

    mime_buf_append_char(out, '"');

    if (escapes == 0) {
        mime_buf_append(out, p, len);

    } else {
        for (i = 0; i < len; i++) {
            if (p[i] == '"' || p[i] == '\\') {
                mime_buf_append_char(out, '\\');
            }

            mime_buf_append_char(out, p[i]);
        }
    }

    return mime_buf_append_char(out, '"');
}


int
mime_imap_nstring(mime_buf_t *out, const mime_uchar_t *p, size_t len)
{
    if (p == NULL) {
        return mime_buf_append(out, "NIL", 3);
    }

    return mime_imap_astr(out, p, len);
}


/* a header value on one line: CR and LF are dropped */

static int
mime_imap_nstring_nolf(mime_buf_t *out, const mime_uchar_t *p, size_t len)
{
    size_t         i, n;
    mime_uchar_t  *d;

    if (p == NULL || (memchr(p, '\r', len) == NULL
                      && memchr(p, '\n', len) == NULL))
    {
        return mime_imap_nstring(out, p, len);
    }

    d = mime_alloc(out->allocator, len);
    if (d == NULL) {
        out->failed = 1;
        return MIME_ERROR;
    }

    for (i = 0, n = 0; i < len; i++) {
        if (p[i] != '\r' && p[i] != '\n') {
            d[n++] = p[i];
        }
    }

    return mime_imap_astr(out, d, n);
}


/*
 * Text meant for people (subjects, display names): white space runs
 * become one space and are trimmed, NUL becomes 0x80; anything that
 * would need escaping goes out as a literal.  Same output as Dovecot.
 */

int
mime_imap_string_human(mime_buf_t *out, const mime_uchar_t *p, size_t len)
{
    int            lwsp, plain;
    size_t         i, n;
    mime_uchar_t  *d;

    plain = 1;
    lwsp = 1;

    for (i = 0; i < len; i++) {
        if (p[i] == ' ') {
            if (lwsp) {
                plain = 0;
            }

            lwsp = 1;

        } else if (p[i] == '\t' || p[i] == '\r' || p[i] == '\n') {
            plain = 0;
            lwsp = 1;

        } else {
            if (p[i] == '"' || p[i] == '\\' || p[i] == '\0' || p[i] >= 0x80)
            {
                plain = 0;
            }

            lwsp = 0;
        }
    }

    if (lwsp && len) {
        plain = 0;
    }

    if (plain) {
        mime_buf_append_char(out, '"');
        mime_buf_append(out, p, len);
        return mime_buf_append_char(out, '"');
    }

    d = mime_alloc(out->allocator, len + 1);
    if (d == NULL) {
        out->failed = 1;
        return MIME_ERROR;
    }

    lwsp = 1;

    for (i = 0, n = 0; i < len; i++) {
        if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n') {
            if (!lwsp) {
                d[n++] = ' ';
            }

            lwsp = 1;
            continue;
        }

        d[n++] = p[i] ? p[i] : 0x80;
        lwsp = 0;
    }

    if (lwsp && n) {
        n--;
    }

    if (n == 0) {
        return mime_buf_append(out, "\"\"", 2);
    }

    return mime_imap_literal(out, d, n);
}


static int
mime_imap_str(mime_buf_t *out, const mime_str_t *s)
{
    return mime_imap_nstring_nolf(out, s->data ? s->data
                                               : (const mime_uchar_t *) "",
                                  s->len);
}


static int
mime_imap_nstr(mime_buf_t *out, const mime_str_t *s)
{
    return mime_imap_nstring_nolf(out, s->data, s->len);
}


/* a header's raw value */

static void
mime_imap_raw_value(const mime_message_t *msg, const mime_header_t *h,
    mime_str_t *v)
{
    size_t  start, end;

    if (h == NULL) {
        v->data = NULL;
        v->len = 0;
        return;
    }

    start = h->value_start;
    end = h->value_end;

    /*
     * Only the blanks after the colon are gone (the parser skipped
     * them); a value that starts on a folded line keeps its indent,
     * and trailing blanks stay: Dovecot shows them so.
     */

    v->data = msg->data + start;
    v->len = end - start;
}


static int
mime_imap_field_nstring(const mime_message_t *msg, const mime_header_t *h,
    mime_buf_t *out)
{
    mime_str_t  v;

    mime_imap_raw_value(msg, h, &v);

    return mime_imap_nstr(out, &v);
}


static const mime_uchar_t  mime_missing_mailbox[] = "MISSING_MAILBOX";
static const mime_uchar_t  mime_missing_domain[] = "MISSING_DOMAIN";
static const mime_uchar_t  mime_syntax_error[] = "SYNTAX_ERROR";


static int
mime_imap_same_name(const mime_message_t *msg, const mime_header_t *a,
    const mime_header_t *b)
{
    size_t  i;

    for (i = 0; i < a->name_len; i++) {
        if (mime_lower(msg->data[a->start + i])
            != mime_lower(msg->data[b->start + i]))
        {
            return 0;
        }
    }

    return 1;
}


static mime_address_t *
mime_imap_address_list(const mime_message_t *msg, const mime_part_t *part,
    const mime_header_t *last, mime_buf_t *out)
{
    mime_str_t            v;
    mime_address_t       *list, **tail, *a;
    const mime_header_t  *h;

    list = NULL;
    tail = &list;

    for (h = part->headers; h; h = h->next) {
        if (h->name_len != last->name_len
            || !mime_imap_same_name(msg, h, last))
        {
            continue;
        }

        mime_imap_raw_value(msg, h, &v);
        a = mime_address_parse(out->allocator, v.data, v.len);

        *tail = a;

        while (*tail) {
            tail = &(*tail)->next;
        }

        if (h == last) {
            break;
        }
    }

    return list;
}


static int
mime_imap_addresses(const mime_message_t *msg, const mime_part_t *part,
    const mime_header_t *h, mime_buf_t *out)
{
    mime_str_t       mailbox, domain;
    mime_address_t  *a, *list;

    if (h == NULL) {
        return mime_buf_append(out, "NIL", 3);
    }

    list = mime_imap_address_list(msg, part, h, out);

    if (list == NULL) {
        return mime_buf_append(out, "NIL", 3);
    }

    mime_buf_append_char(out, '(');

    for (a = list; a; a = a->next) {

        if (a->group_end) {
            mime_buf_append_str(out, "(NIL NIL NIL NIL)");
            continue;
        }

        mime_buf_append_char(out, '(');

        if (a->group_start) {
            /* RFC 3501 7.4.2: group start has NIL host name */
            mime_buf_append_str(out, "NIL NIL ");
            mime_imap_str(out, &a->mailbox);
            mime_buf_append_str(out, " NIL)");
            continue;
        }

        if (a->name.data) {
            mime_imap_string_human(out, a->name.data, a->name.len);

        } else {
            mime_buf_append(out, "NIL", 3);
        }

        mime_buf_append_char(out, ' ');
        mime_imap_nstr(out, &a->route);
        mime_buf_append_char(out, ' ');

        mailbox = a->mailbox;
        domain = a->domain;

        if (mailbox.data == NULL) {
            mailbox.data = mime_missing_mailbox;
            mailbox.len = sizeof(mime_missing_mailbox) - 1;
        }

        if (a->syntax_error) {
            domain.data = mime_syntax_error;
            domain.len = sizeof(mime_syntax_error) - 1;

        } else if (domain.data == NULL || domain.len == 0) {
            domain.data = mime_missing_domain;
            domain.len = sizeof(mime_missing_domain) - 1;
        }

        mime_imap_str(out, &mailbox);
        mime_buf_append_char(out, ' ');
        mime_imap_str(out, &domain);
        mime_buf_append_char(out, ')');
    }

    return mime_buf_append_char(out, ')');
}


/*
 * The envelope's header fields.  A repeated field: the last instance of
 * a text field counts and address fields are joined (so Dovecot).
 */

typedef struct {
    mime_header_t            *date;
    mime_header_t            *subject;
    mime_header_t            *from;
    mime_header_t            *sender;
    mime_header_t            *reply_to;
    mime_header_t            *to;
    mime_header_t            *cc;
    mime_header_t            *bcc;
    mime_header_t            *in_reply_to;
    mime_header_t            *message_id;
} mime_envelope_headers_t;


static void
mime_envelope_collect(const mime_message_t *msg, const mime_part_t *root,
    mime_envelope_headers_t *env)
{
    mime_header_t   *h, **slot;

    memset(env, 0, sizeof(mime_envelope_headers_t));

    for (h = root->headers; h; h = h->next) {
        slot = NULL;

#define MIME_ENV(name, field)                                                \
        if (slot == NULL                                                     \
            && mime_header_name_is(msg, h, name, sizeof(name) - 1))          \
        {                                                                    \
            slot = &env->field;                                              \
        }

        MIME_ENV("date", date)
        MIME_ENV("subject", subject)
        MIME_ENV("from", from)
        MIME_ENV("sender", sender)
        MIME_ENV("reply-to", reply_to)
        MIME_ENV("to", to)
        MIME_ENV("cc", cc)
        MIME_ENV("bcc", bcc)
        MIME_ENV("in-reply-to", in_reply_to)
        MIME_ENV("message-id", message_id)

#undef MIME_ENV

        if (slot) {
            *slot = h;
        }
    }
}


int
mime_imap_envelope(const mime_message_t *msg, const mime_part_t *root,
    mime_buf_t *out)
{
    mime_str_t               v;
    mime_envelope_headers_t  env;

    mime_envelope_collect(msg, root, &env);

    mime_buf_append_char(out, '(');
    mime_imap_field_nstring(msg, env.date, out);
    mime_buf_append_char(out, ' ');

    if (env.subject) {
        mime_imap_raw_value(msg, env.subject, &v);
        mime_imap_string_human(out, v.data, v.len);

    } else {
        mime_buf_append(out, "NIL", 3);
    }

    mime_buf_append_char(out, ' ');
    mime_imap_addresses(msg, root, env.from, out);
    mime_buf_append_char(out, ' ');

    /* RFC 3501 7.4.2: sender and reply-to default to from */
    mime_imap_addresses(msg, root, env.sender ? env.sender : env.from,
                        out);
    mime_buf_append_char(out, ' ');
    mime_imap_addresses(msg, root, env.reply_to ? env.reply_to : env.from,
                        out);
    mime_buf_append_char(out, ' ');
    mime_imap_addresses(msg, root, env.to, out);
    mime_buf_append_char(out, ' ');
    mime_imap_addresses(msg, root, env.cc, out);
    mime_buf_append_char(out, ' ');
    mime_imap_addresses(msg, root, env.bcc, out);
    mime_buf_append_char(out, ' ');
    mime_imap_field_nstring(msg, env.in_reply_to, out);
    mime_buf_append_char(out, ' ');
    mime_imap_field_nstring(msg, env.message_id, out);

    mime_buf_append_char(out, ')');

    return out->failed ? MIME_ERROR : MIME_OK;
}


/* RFC 3501 body-fld-param; text parts always show a charset */

static int
mime_imap_params(mime_buf_t *out, const mime_param_t *params,
    int default_charset)
{
    int                  seen_charset, first;
    mime_str_t           name;
    mime_uchar_t        *d;
    const mime_param_t  *p;

    if (params == NULL && !default_charset) {
        return mime_buf_append(out, "NIL", 3);
    }

    mime_buf_append_char(out, '(');
    seen_charset = 0;
    first = 1;

    for (p = params; p; p = p->next) {
        if (!first) {
            mime_buf_append_char(out, ' ');
        }

        first = 0;

        if (mime_strcaseeq(p->name.data, p->name.len, "charset")) {
            seen_charset = 1;
        }

        if (p->extended) {
            /* RFC 2231 7: an encoded value keeps its "*" name */
            name.data = d = mime_alloc(out->allocator, p->name.len + 1);
            if (d == NULL) {
                out->failed = 1;
                return MIME_ERROR;
            }

            memcpy(d, p->name.data, p->name.len);
            d[p->name.len] = '*';
            name.len = p->name.len + 1;
            mime_imap_str(out, &name);

        } else {
            mime_imap_str(out, &p->name);
        }

        mime_buf_append_char(out, ' ');
        mime_imap_str(out, &p->value);
    }

    if (default_charset && !seen_charset) {
        if (!first) {
            mime_buf_append_char(out, ' ');
        }

        /* RFC 2045 5.2 default */
        mime_buf_append_str(out, "\"charset\" \"us-ascii\"");
    }

    return mime_buf_append_char(out, ')');
}


static int
mime_imap_extension(const mime_message_t *msg, const mime_part_t *part,
    mime_buf_t *out)
{
    unsigned       i, nlangs;
    mime_str_t     v, disposition, *langs;
    mime_param_t  *params;

    /* body-fld-dsp */
    mime_buf_append_char(out, ' ');
    mime_imap_raw_value(msg, part->content_disposition, &v);

    if (v.data && mime_disposition_parse(out->allocator, v.data, v.len,
                                         &disposition, &params)
                  == MIME_OK)
    {
        mime_buf_append_char(out, '(');
        mime_imap_str(out, &disposition);
        mime_buf_append_char(out, ' ');
        mime_imap_params(out, params, 0);
        mime_buf_append_char(out, ')');

    } else {
        mime_buf_append(out, "NIL", 3);
    }

    /* body-fld-lang */
    mime_buf_append_char(out, ' ');
    mime_imap_raw_value(msg, part->content_language, &v);

    if (v.data && mime_language_parse(out->allocator, v.data, v.len, &langs,
                                      &nlangs)
                  == MIME_OK)
    {
        mime_buf_append_char(out, '(');

        for (i = 0; i < nlangs; i++) {
            if (i) {
                mime_buf_append_char(out, ' ');
            }

            mime_imap_str(out, &langs[i]);
        }

        mime_buf_append_char(out, ')');

    } else {
        mime_buf_append(out, "NIL", 3);
    }

    /* body-fld-loc */
    mime_buf_append_char(out, ' ');

    return mime_imap_field_nstring(msg, part->content_location, out);
}


static int mime_imap_body(const mime_message_t *msg,
    const mime_part_t *part, mime_buf_t *out, int extended);


static int
mime_imap_multipart(const mime_message_t *msg, const mime_part_t *part,
    mime_buf_t *out, int extended)
{
    const mime_part_t  *child;

    if (part->children == NULL) {
        /* RFC 3501 wants one part at least: show an empty text part */
        mime_buf_append_str(out, "(\"text\" \"plain\" (\"charset\" "
                            "\"us-ascii\") NIL NIL \"7bit\" 0 0");
        mime_buf_append_str(out, extended ? " NIL NIL NIL NIL)" : ")");
    }

    for (child = part->children; child; child = child->next) {
        mime_imap_body(msg, child, out, extended);
    }

    mime_buf_append_char(out, ' ');
    mime_imap_str(out, &part->subtype);

    if (!extended) {
        return MIME_OK;
    }

    mime_buf_append_char(out, ' ');
    mime_imap_params(out, part->params, 0);

    return mime_imap_extension(msg, part, out);
}


/*
 * A message that is just text/plain us-ascii 7bit and nothing else:
 * Dovecot shows it in canonical lower case whatever the header said
 * ("TEXT/PLAIN; charset=US-ASCII"), and so do we.
 */

static int
mime_imap_plain_7bit(const mime_part_t *part)
{
    const mime_param_t  *p;

    if (part->parent != NULL
        || (part->flags & (MIME_PART_MULTIPART|MIME_PART_MESSAGE))
        || part->content_id || part->content_description
        || part->content_md5 || part->content_disposition
        || part->content_language || part->content_location)
    {
        return 0;
    }

    if (part->type.len
        && (!mime_strcaseeq(part->type.data, part->type.len, "text")
            || !mime_strcaseeq(part->subtype.data, part->subtype.len,
                               "plain")))
    {
        return 0;
    }

    if (part->encoding.len
        && !mime_strcaseeq(part->encoding.data, part->encoding.len, "7bit"))
    {
        return 0;
    }

    for (p = part->params; p; p = p->next) {
        if (!mime_strcaseeq(p->name.data, p->name.len, "charset")
            || !mime_strcaseeq(p->value.data, p->value.len, "us-ascii")
            || p->extended)
        {
            return 0;
        }
    }

    return 1;
}


static int
mime_imap_single(const mime_message_t *msg, const mime_part_t *part,
    mime_buf_t *out, int extended)
{
    int         text;
    mime_str_t  v;

    if (mime_imap_plain_7bit(part)) {
        mime_buf_append_str(out, "\"text\" \"plain\" (\"charset\" "
                            "\"us-ascii\") NIL NIL \"7bit\" ");
        mime_buf_append_number(out, part->body_vsize);
        mime_buf_append_char(out, ' ');
        mime_buf_append_number(out, part->body_lines);

        return mime_buf_append_str(out, extended ? " NIL NIL NIL NIL" : "");
    }

    if (part->flags & MIME_PART_MESSAGE) {
        mime_buf_append_str(out, "\"message\" \"rfc822\"");
        text = 0;

    } else if (part->type.len == 0) {
        mime_buf_append_str(out, "\"text\" \"plain\"");
        text = 1;

    } else {
        mime_imap_str(out, &part->type);
        mime_buf_append_char(out, ' ');
        mime_imap_str(out, &part->subtype);
        text = mime_strcaseeq(part->type.data, part->type.len, "text");
    }

    mime_buf_append_char(out, ' ');
    mime_imap_params(out, part->params, text);

    mime_buf_append_char(out, ' ');
    mime_imap_field_nstring(msg, part->content_id, out);
    mime_buf_append_char(out, ' ');
    mime_imap_field_nstring(msg, part->content_description, out);
    mime_buf_append_char(out, ' ');

    if (part->encoding.len) {
        mime_imap_str(out, &part->encoding);

    } else {
        mime_buf_append_str(out, "\"7bit\"");
    }

    mime_buf_append_char(out, ' ');
    mime_buf_append_number(out, part->body_vsize);

    if (text) {
        mime_buf_append_char(out, ' ');
        mime_buf_append_number(out, part->body_lines);

    } else if ((part->flags & MIME_PART_MESSAGE) && part->message) {
        mime_buf_append_char(out, ' ');
        mime_imap_envelope(msg, part->message, out);
        mime_buf_append_char(out, ' ');
        mime_imap_body(msg, part->message, out, extended);
        mime_buf_append_char(out, ' ');
        mime_buf_append_number(out, part->body_lines);
    }

    if (!extended) {
        return MIME_OK;
    }

    /* body-fld-md5 */
    mime_buf_append_char(out, ' ');
    mime_imap_raw_value(msg, part->content_md5, &v);
    mime_imap_nstr(out, &v);

    return mime_imap_extension(msg, part, out);
}


static int
mime_imap_body(const mime_message_t *msg, const mime_part_t *part,
    mime_buf_t *out, int extended)
{
    mime_buf_append_char(out, '(');

    if (part->flags & MIME_PART_MULTIPART) {
        mime_imap_multipart(msg, part, out, extended);

    } else {
        mime_imap_single(msg, part, out, extended);
    }

    return mime_buf_append_char(out, ')');
}


int
mime_imap_bodystructure(const mime_message_t *msg, const mime_part_t *part,
    mime_buf_t *out, int extended)
{
    mime_imap_body(msg, part ? part : msg->root, out, extended);

    return out->failed ? MIME_ERROR : MIME_OK;
}
