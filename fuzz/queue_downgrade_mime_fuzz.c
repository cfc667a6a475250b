
/*
 * libFuzzer target for the 8BITMIME to 7 bit conversion, differential:
 * the input and its conversion are both parsed by the project's MIME
 * library (modules/mime), a parser written apart from the conversion's
 * own.  Where the library sees the same tree of parts in both, every
 * leaf must decode to the same octets (line ends compared as LF): the
 * conversion changed how the message is carried, not what it says.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "ngx_mail_queue_downgrade.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/*
 * A CR without LF in a field is white space to the conversion and
 * nothing to the library (it unfolds by dropping CR and LF): both are
 * fair readings of a broken field, so such input gets no verdict.
 */

static int
lone_cr(const uint8_t *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] == '\r' && (i + 1 == len || p[i + 1] != '\n')) {
            return 1;
        }
    }

    return 0;
}


/*
 * RFC 2046 5.1.2 forbids an inner boundary that an enclosing one is the
 * prefix of: the library gives such lines to the longest boundary, the
 * conversion to the outer one, and neither is wrong about a message
 * that breaks the rule, so it gets no verdict.
 */

static int
nested_boundaries(const mime_part_t *part)
{
    const mime_part_t  *up;

    for ( /* void */ ; part; part = part->next) {
        if ((part->flags & MIME_PART_MULTIPART) && part->boundary.len) {
            for (up = part->parent; up; up = up->parent) {
                if ((up->flags & MIME_PART_MULTIPART) && up->boundary.len
                    && up->boundary.len <= part->boundary.len
                    && memcmp(up->boundary.data, part->boundary.data,
                              up->boundary.len) == 0)
                {
                    return 1;
                }
            }
        }

        if (nested_boundaries(part->children)
            || nested_boundaries(part->message))
        {
            return 1;
        }
    }

    return 0;
}


/* the octets with CRLF as LF, into a buffer of len octets */

static size_t
lf(const mime_uchar_t *p, size_t len, mime_uchar_t *buf)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') {
            continue;
        }

        buf[n++] = p[i];
    }

    return n;
}


static int
same_body(const mime_message_t *a, const mime_part_t *pa,
    const mime_message_t *b, const mime_part_t *pb,
    const mime_allocator_t *allocator)
{
    size_t         na, nb;
    mime_str_t     ba, bb;
    mime_uchar_t  *da, *db;

    if (mime_part_decode(a, pa, allocator, &ba) != MIME_OK
        || mime_part_decode(b, pb, allocator, &bb) != MIME_OK)
    {
        return 1;
    }

    da = mime_alloc(allocator, ba.len + 1);
    db = mime_alloc(allocator, bb.len + 1);

    if (da == NULL || db == NULL) {
        return 1;
    }

    na = lf(ba.data, ba.len, da);
    nb = lf(bb.data, bb.len, db);

    return na == nb && memcmp(da, db, na) == 0;
}


/* where both trees have the same shape, the leaves must be the same */

static void
compare(const mime_message_t *a, const mime_part_t *pa,
    const mime_message_t *b, const mime_part_t *pb,
    const mime_allocator_t *allocator)
{
    for ( /* void */ ; pa && pb; pa = pa->next, pb = pb->next) {
        if (pa->nchildren != pb->nchildren
            || (pa->message == NULL) != (pb->message == NULL)
            || ((pa->flags ^ pb->flags)
                & (MIME_PART_MULTIPART|MIME_PART_MESSAGE)))
        {
            return;   /* the library sees another tree: no verdict */
        }

        if (pa->children) {
            compare(a, pa->children, b, pb->children, allocator);

        } else if (pa->message) {
            compare(a, pa->message, b, pb->message, allocator);

        /*
         * A multipart without parts has only a preamble, which is no
         * leaf's; a message the library did not walk into is not seen.
         */
        } else if (!(pa->flags & (MIME_PART_MULTIPART|MIME_PART_MESSAGE))
                   && !same_body(a, pa, b, pb, allocator))
        {
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t             need, len;
    uint8_t           *out;
    mime_arena_t      *arena;
    mime_message_t    *in_msg, *out_msg;
    mime_allocator_t   allocator;

    if (size > 65536 || lone_cr(data, size)) {
        return 0;
    }

    need = ngx_mail_queue_downgrade_size(data, size);

    out = malloc(need + 1);
    if (out == NULL) {
        return 0;
    }

    len = ngx_mail_queue_downgrade(data, size, out);

    if (len == (size_t) -1 || (len == size && memcmp(out, data, len) == 0)) {
        free(out);
        return 0;
    }

    arena = mime_arena_create(65536);
    if (arena == NULL) {
        free(out);
        return 0;
    }

    mime_arena_allocator(arena, &allocator);

    in_msg = mime_parse(&allocator, data, size, NULL);
    out_msg = mime_parse(&allocator, out, len, NULL);

    if (in_msg && out_msg && in_msg->nparts == out_msg->nparts
        && !nested_boundaries(in_msg->root))
    {
        compare(in_msg, in_msg->root, out_msg, out_msg->root, &allocator);
    }

    mime_arena_destroy(arena);
    free(out);

    return 0;
}
