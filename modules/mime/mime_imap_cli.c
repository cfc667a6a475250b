
/*
 * mime-imap: prints a message's ENVELOPE and BODYSTRUCTURE as IMAP
 * writes them, for comparing with other servers.
 *
 *   mime-imap [-b] [-s SECTION] [-t] [-p] FILE...
 *     -b  BODY instead of BODYSTRUCTURE
 *     -s  print the section (BODY[SECTION]) instead
 *     -t  print the extracted UTF-8 text instead
 *     -p  print the part tree (offsets, sizes, lines)
 */

#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"


static int
mime_cli_read(const char *path, mime_uchar_t **data, size_t *len)
{
    FILE    *f;
    size_t   size, n;
    mime_uchar_t  *p, *bigger;

    f = (strcmp(path, "-") == 0) ? stdin : fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }

    size = 65536;
    *len = 0;
    p = malloc(size);

    while (p && (n = fread(p + *len, 1, size - *len, f)) > 0) {
        *len += n;

        if (*len == size) {
            size *= 2;
            bigger = realloc(p, size);

            if (bigger == NULL) {
                free(p);
                p = NULL;
            }

            p = bigger;
        }
    }

    if (f != stdin) {
        fclose(f);
    }

    *data = p;

    return p ? 0 : -1;
}


static void
mime_cli_tree(const mime_message_t *msg, const mime_part_t *part, int indent)
{
    const mime_part_t  *child;

    printf("%*s%.*s/%.*s%s header %zu-%zu body %zu-%zu size %zu lines %zu"
           "%s\n", indent, "",
           (int) part->type.len, part->type.data ? (char *) part->type.data
                                                 : "",
           (int) part->subtype.len,
           part->subtype.data ? (char *) part->subtype.data : "",
           (part->flags & MIME_PART_DEFAULT_TYPE) ? " (default)" : "",
           part->header_start, part->header_end, part->body_start,
           part->body_end, part->body_vsize, part->body_lines,
           (part->flags & MIME_PART_NO_END) ? " no-end" : "");

    if (part->message) {
        mime_cli_tree(msg, part->message, indent + 2);
    }

    for (child = part->children; child; child = child->next) {
        mime_cli_tree(msg, child, indent + 2);
    }
}


int
main(int argc, char **argv)
{
    int                i, body, text, tree, rc;
    size_t             len;
    const char        *section;
    mime_buf_t         out;
    mime_uchar_t      *data;
    mime_arena_t      *arena;
    mime_section_t     sec;
    mime_message_t    *msg;
    mime_allocator_t   allocator;

    body = 0;
    text = 0;
    tree = 0;
    section = NULL;
    rc = 0;

    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "-b") == 0) {
            body = 1;

        } else if (strcmp(argv[i], "-t") == 0) {
            text = 1;

        } else if (strcmp(argv[i], "-p") == 0) {
            tree = 1;

        } else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            section = argv[++i];

        } else {
            fprintf(stderr, "usage: mime-imap [-b] [-t] [-p] [-s SECTION] "
                    "FILE...\n");
            return 2;
        }
    }

    for ( /* void */ ; i < argc; i++) {
        if (mime_cli_read(argv[i], &data, &len) != 0) {
            rc = 1;
            continue;
        }

        arena = mime_arena_create(0);
        mime_arena_allocator(arena, &allocator);

        msg = mime_parse(&allocator, data, len, NULL);
        if (msg == NULL) {
            fprintf(stderr, "%s: parse failed\n", argv[i]);
            rc = 1;
            goto next;
        }

        mime_buf_init(&out, &allocator, 4096);

        if (tree) {
            mime_cli_tree(msg, msg->root, 0);

        } else if (text) {
            mime_text_extract(msg, &out, MIME_TEXT_HTML_STRIP);

        } else if (section) {
            if (mime_section_parse((const mime_uchar_t *) section,
                                   strlen(section), &sec) != MIME_OK
                || mime_section_write(msg, &sec, &out) != MIME_OK)
            {
                fprintf(stderr, "%s: bad section %s\n", argv[i], section);
                rc = 1;
            }

        } else {
            mime_buf_append_str(&out, "ENVELOPE ");
            mime_imap_envelope(msg, msg->root, &out);
            mime_buf_append_str(&out, body ? "\nBODY " : "\nBODYSTRUCTURE ");
            mime_imap_bodystructure(msg, msg->root, &out, !body);
            mime_buf_append_char(&out, '\n');
        }

        if (out.failed) {
            fprintf(stderr, "%s: out of memory\n", argv[i]);
            rc = 1;
        }

        fwrite(out.data, 1, out.len, stdout);

    next:

        mime_arena_destroy(arena);
        free(data);
    }

    return rc;
}
