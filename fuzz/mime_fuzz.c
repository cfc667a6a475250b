
/*
 * libFuzzer target for the MIME library: parses the input as a message
 * and runs every writer and decoder over the result.  Build and run
 * with fuzz/run-mime.sh.
 */

#include <stdint.h>
#include <string.h>

#include "mime.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char  *mime_fuzz_sections[] = {
    "", "HEADER", "TEXT", "1", "1.MIME", "2", "1.1", "2.HEADER", "2.TEXT",
    "1.2.3", "HEADER.FIELDS (From Subject)", "1.HEADER.FIELDS.NOT (To)",
    NULL
};


static void
mime_fuzz_walk(const mime_message_t *msg, const mime_part_t *part,
    mime_buf_t *out, int depth)
{
    mime_str_t  body;

    for ( /* void */ ; part; part = part->next) {
        if (part->body_start > part->body_end || part->body_end > msg->len
            || part->header_start > part->header_end
            || part->header_end > part->body_start)
        {
            __builtin_trap();
        }

        mime_part_decode(msg, part, out->allocator, &body);

        if (part->message) {
            mime_fuzz_walk(msg, part->message, out, depth + 1);
        }

        mime_fuzz_walk(msg, part->children, out, depth + 1);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                 i, tz;
    time_t              t;
    mime_buf_t          out;
    mime_str_t          utf8;
    mime_arena_t       *arena;
    mime_limits_t       limits;
    mime_section_t      sec;
    mime_message_t     *msg;
    mime_allocator_t    allocator;

    arena = mime_arena_create(0);
    mime_arena_allocator(arena, &allocator);
    mime_buf_init(&out, &allocator, 0);

    /* the first byte picks tight limits sometimes */
    memset(&limits, 0, sizeof(limits));

    if (size && data[0] == 'L') {
        limits.max_depth = 3;
        limits.max_parts = 5;
        limits.max_headers = 4;
    }

    msg = mime_parse(&allocator, data, size, &limits);

    if (msg) {
        mime_imap_envelope(msg, msg->root, &out);
        mime_imap_bodystructure(msg, msg->root, &out, 1);
        mime_imap_bodystructure(msg, msg->root, &out, 0);
        mime_text_extract(msg, &out, MIME_TEXT_HTML_STRIP|MIME_TEXT_HEADERS);
        mime_fuzz_walk(msg, msg->root, &out, 0);

        for (i = 0; mime_fuzz_sections[i]; i++) {
            if (mime_section_parse((const mime_uchar_t *)
                                   mime_fuzz_sections[i],
                                   strlen(mime_fuzz_sections[i]), &sec)
                == MIME_OK)
            {
                mime_section_write(msg, &sec, &out);
            }
        }
    }

    /* the header-level parsers on the raw input too */
    if (size < 4096) {
        mime_address_parse(&allocator, data, size);
        mime_date_parse(data, size, &t, &tz);
        mime_words_decode(&allocator, data, size, &utf8);
        mime_section_parse(data, size, &sec);
    }

    mime_arena_destroy(arena);

    return 0;
}
