
/*
 * IMAP section addressing (RFC 3501 6.4.5): "1.2.HEADER", "3.MIME",
 * "TEXT", "HEADER.FIELDS (From To)" and "HEADER.FIELDS.NOT (...)".
 */

#include <string.h>

#include "mime.h"
#include "mime_internal.h"


static int
mime_section_keyword(const mime_uchar_t **pp, const mime_uchar_t *end,
    const char *word)
{
    size_t  len;

    len = strlen(word);

    if ((size_t) (end - *pp) < len || !mime_strcaseeq(*pp, len, word)) {
        return 0;
    }

    /* a keyword must not run on into a longer one */
    if (*pp + len < end && (*pp)[len] != '.' && (*pp)[len] != ' '
        && (*pp)[len] != '(')
    {
        return 0;
    }

    *pp += len;

    return 1;
}


static int
mime_section_fields(const mime_uchar_t *p, const mime_uchar_t *end,
    mime_section_t *section)
{
    const mime_uchar_t  *start;

    while (p < end && *p == ' ') {
        p++;
    }

    if (p >= end || *p != '(') {
        return MIME_ERROR;
    }

    p++;

    for ( ;; ) {
        while (p < end && *p == ' ') {
            p++;
        }

        if (p >= end) {
            return MIME_ERROR;
        }

        if (*p == ')') {
            break;
        }

        if (section->nfields == MIME_SECTION_MAX_FIELDS) {
            return MIME_ERROR;
        }

        if (*p == '"') {
            start = ++p;

            while (p < end && *p != '"') {
                p++;
            }

            if (p >= end) {
                return MIME_ERROR;
            }

            section->fields[section->nfields].data = start;
            section->fields[section->nfields++].len = p - start;
            p++;
            continue;
        }

        start = p;

        while (p < end && *p != ' ' && *p != ')') {
            p++;
        }

        section->fields[section->nfields].data = start;
        section->fields[section->nfields++].len = p - start;
    }

    return section->nfields ? MIME_OK : MIME_ERROR;
}


int
mime_section_parse(const mime_uchar_t *p, size_t len,
    mime_section_t *section)
{
    unsigned             n;
    const mime_uchar_t  *end;

    memset(section, 0, sizeof(mime_section_t));
    end = p + len;

    while (p < end && *p >= '0' && *p <= '9') {
        if (section->nparts == MIME_SECTION_MAX_PARTS) {
            return MIME_ERROR;
        }

        /* RFC 3501 9: nz-number */
        if (*p == '0') {
            return MIME_ERROR;
        }

        n = 0;

        while (p < end && *p >= '0' && *p <= '9') {
            if (n > 100000000) {
                return MIME_ERROR;
            }

            n = n * 10 + (unsigned) (*p++ - '0');
        }

        section->part[section->nparts++] = n;

        if (p < end && *p == '.') {
            p++;

            if (p == end) {
                return MIME_ERROR;
            }

            continue;
        }

        break;
    }

    if (p == end) {
        return MIME_OK;
    }

    if (mime_section_keyword(&p, end, "HEADER")) {
        section->kind = MIME_SECTION_HEADER;

        if (p < end && *p == '.') {
            p++;

            if (!mime_section_keyword(&p, end, "FIELDS")) {
                return MIME_ERROR;
            }

            section->kind = MIME_SECTION_HEADER_FIELDS;

            if (p < end && *p == '.') {
                p++;

                if (!mime_section_keyword(&p, end, "NOT")) {
                    return MIME_ERROR;
                }

                section->kind = MIME_SECTION_HEADER_FIELDS_NOT;
            }

            return mime_section_fields(p, end, section);
        }

    } else if (mime_section_keyword(&p, end, "TEXT")) {
        section->kind = MIME_SECTION_TEXT;

    } else if (mime_section_keyword(&p, end, "MIME")) {
        /* RFC 3501 6.4.5: MIME needs a part number */
        if (section->nparts == 0) {
            return MIME_ERROR;
        }

        section->kind = MIME_SECTION_MIME;

    } else {
        return MIME_ERROR;
    }

    return p == end ? MIME_OK : MIME_ERROR;
}


/*
 * The part a section number names.  A message's body is its part 1 when
 * it is not multipart; the parts of a message/rfc822 part are those of
 * the message inside it.
 */

const mime_part_t *
mime_section_part(const mime_message_t *msg, const mime_section_t *section)
{
    int                 in_message;
    unsigned            i, n;
    const mime_part_t  *part;

    part = msg->root;
    in_message = 1;

    for (i = 0; i < section->nparts; i++) {
        n = section->part[i];

        if (!in_message && part->message) {
            part = part->message;
            in_message = 1;
        }

        if (part->flags & MIME_PART_MULTIPART) {
            for (part = part->children; part && --n; part = part->next) {
                /* void */
            }

            if (part == NULL) {
                return NULL;
            }

        } else if (!(in_message && n == 1)) {
            return NULL;
        }

        in_message = 0;
    }

    return part;
}


/* the entity whose header HEADER and TEXT address */

static const mime_part_t *
mime_section_entity(const mime_part_t *part, const mime_section_t *section)
{
    if (section->nparts && part->message) {
        return part->message;
    }

    return part;
}


int
mime_section_range(const mime_message_t *msg, const mime_section_t *section,
    size_t *start, size_t *end)
{
    const mime_part_t  *part;

    part = mime_section_part(msg, section);

    if (part == NULL) {
        return MIME_DECLINED;
    }

    switch (section->kind) {

    case MIME_SECTION_ALL:
        if (section->nparts == 0) {
            *start = 0;
            *end = msg->len;

        } else {
            *start = part->body_start;
            *end = part->body_end;
        }

        return MIME_OK;

    case MIME_SECTION_HEADER:
        part = mime_section_entity(part, section);
        *start = part->header_start;
        *end = part->header_end;
        return MIME_OK;

    case MIME_SECTION_TEXT:
        part = mime_section_entity(part, section);
        *start = part->body_start;
        *end = part->body_end;
        return MIME_OK;

    case MIME_SECTION_MIME:
        *start = part->header_start;
        *end = part->header_end;
        return MIME_OK;
    }

    /* HEADER.FIELDS is not one range: mime_section_write() it */
    return MIME_DECLINED;
}


static int
mime_section_wanted(const mime_message_t *msg, const mime_header_t *h,
    const mime_section_t *section)
{
    size_t              k;
    unsigned            i;
    const mime_uchar_t *name, *field;

    name = msg->data + h->start;

    for (i = 0; i < section->nfields; i++) {
        if (h->name_len != section->fields[i].len) {
            continue;
        }

        field = section->fields[i].data;

        for (k = 0; k < h->name_len; k++) {
            if (mime_lower(name[k]) != mime_lower(field[k])) {
                break;
            }
        }

        if (k == h->name_len) {
            return 1;
        }
    }

    return 0;
}


int
mime_section_write(const mime_message_t *msg, const mime_section_t *section,
    mime_buf_t *out)
{
    int                  want;
    size_t               start, end;
    const mime_part_t   *part;
    const mime_header_t *h;

    if (section->kind != MIME_SECTION_HEADER_FIELDS
        && section->kind != MIME_SECTION_HEADER_FIELDS_NOT)
    {
        if (mime_section_range(msg, section, &start, &end) != MIME_OK) {
            return MIME_DECLINED;
        }

        return mime_buf_append(out, msg->data + start, end - start);
    }

    part = mime_section_part(msg, section);

    if (part == NULL) {
        return MIME_DECLINED;
    }

    part = mime_section_entity(part, section);
    want = (section->kind == MIME_SECTION_HEADER_FIELDS);

    for (h = part->headers; h; h = h->next) {
        if (h->name_len == 0 || mime_section_wanted(msg, h, section) != want)
        {
            continue;
        }

        mime_buf_append(out, msg->data + h->start, h->end - h->start);

        if (h->end == h->value_end) {
            /* the last line of the message had no line end */
            mime_buf_append(out, "\r\n", 2);
        }
    }

    /* RFC 3501 6.4.5: the blank line that ends a header is included */
    return mime_buf_append(out, "\r\n", 2);
}
