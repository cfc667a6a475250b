
/*
 * Parse speed of our MIME library next to GMime 3.2 on the same messages,
 * in memory, in one run.  Each side parses every message and walks all
 * of its parts; the input list is a file of paths, one a line.
 *
 *   mime-bench LIST-FILE [rounds]
 */

#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gmime/gmime.h>

#include "mime.h"


typedef struct {
    unsigned char            *data;
    size_t                    len;
} bench_msg_t;


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static unsigned
bench_walk_ours(const mime_part_t *part)
{
    unsigned  n;

    for (n = 0; part; part = part->next) {
        n++;
        n += bench_walk_ours(part->children);

        if (part->message) {
            n += bench_walk_ours(part->message);
        }
    }

    return n;
}


static void
bench_gmime_count(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    GMimeContentType  *ct;

    ct = g_mime_object_get_content_type(part);
    (void) g_mime_content_type_get_media_type(ct);
    (*(unsigned *) data)++;
}


/* parse and also write ENVELOPE and BODYSTRUCTURE, as IMAP FETCH would */

static unsigned long
bench_ours_imap(bench_msg_t *msgs, size_t n)
{
    size_t             i;
    unsigned long      bytes;
    mime_buf_t         out;
    mime_arena_t      *arena;
    mime_message_t    *msg;
    mime_allocator_t   allocator;

    bytes = 0;

    for (i = 0; i < n; i++) {
        arena = mime_arena_create(16384);
        mime_arena_allocator(arena, &allocator);

        msg = mime_parse(&allocator, msgs[i].data, msgs[i].len, NULL);

        if (msg) {
            mime_buf_init(&out, &allocator, 4096);
            mime_imap_envelope(msg, msg->root, &out);
            mime_imap_bodystructure(msg, msg->root, &out, 1);
            bytes += out.len;
        }

        mime_arena_destroy(arena);
    }

    return bytes;
}


static unsigned long
bench_ours(bench_msg_t *msgs, size_t n)
{
    size_t             i;
    unsigned long      parts;
    mime_arena_t      *arena;
    mime_message_t    *msg;
    mime_allocator_t   allocator;

    parts = 0;

    for (i = 0; i < n; i++) {
        arena = mime_arena_create(16384);
        mime_arena_allocator(arena, &allocator);

        msg = mime_parse(&allocator, msgs[i].data, msgs[i].len, NULL);

        if (msg) {
            parts += bench_walk_ours(msg->root);
        }

        mime_arena_destroy(arena);
    }

    return parts;
}


static unsigned long
bench_gmime(bench_msg_t *msgs, size_t n)
{
    size_t         i;
    unsigned       count;
    unsigned long  parts;
    GMimeStream   *stream;
    GMimeParser   *parser;
    GMimeMessage  *message;

    parts = 0;

    for (i = 0; i < n; i++) {
        stream = g_mime_stream_mem_new_with_buffer((const char *) msgs[i].data,
                                                   msgs[i].len);
        parser = g_mime_parser_new_with_stream(stream);
        message = g_mime_parser_construct_message(parser, NULL);

        if (message) {
            count = 0;
            g_mime_message_foreach(message, bench_gmime_count, &count);
            parts += count;
            g_object_unref(message);
        }

        g_object_unref(parser);
        g_object_unref(stream);
    }

    return parts;
}


static int
bench_load(const char *list, bench_msg_t **msgs, size_t *n, size_t *bytes)
{
    FILE         *lf, *f;
    char          path[4096];
    size_t        size, len;
    long          flen;
    bench_msg_t  *m;

    lf = fopen(list, "r");
    if (lf == NULL) {
        perror(list);
        return -1;
    }

    size = 1024;
    *n = 0;
    *bytes = 0;
    *msgs = malloc(size * sizeof(bench_msg_t));

    while (fgets(path, sizeof(path), lf)) {
        len = strcspn(path, "\r\n");
        path[len] = '\0';

        f = fopen(path, "rb");
        if (f == NULL) {
            perror(path);
            continue;
        }

        fseek(f, 0, SEEK_END);
        flen = ftell(f);
        fseek(f, 0, SEEK_SET);

        if (*n == size) {
            size *= 2;
            *msgs = realloc(*msgs, size * sizeof(bench_msg_t));
        }

        m = &(*msgs)[(*n)++];
        m->len = (size_t) flen;
        m->data = malloc(m->len + 1);

        if (fread(m->data, 1, m->len, f) != m->len) {
            (*n)--;
        }

        *bytes += m->len;
        fclose(f);
    }

    fclose(lf);

    return 0;
}


int
main(int argc, char **argv)
{
    int            rounds, r;
    size_t         n, bytes;
    char           gmime_name[32];
    double         t0, ours_s, imap_s, gmime_s, mb;
    unsigned long  ours_parts, gmime_parts;
    bench_msg_t   *msgs;

    if (argc < 2) {
        fprintf(stderr, "usage: mime-bench LIST-FILE [rounds]\n");
        return 2;
    }

    rounds = argc > 2 ? atoi(argv[2]) : 5;

    if (bench_load(argv[1], &msgs, &n, &bytes) != 0 || n == 0) {
        return 1;
    }

    g_mime_init();

    /* one warm-up pass each, then the timed rounds */
    bench_ours(msgs, n);
    bench_gmime(msgs, n);

    ours_parts = 0;
    t0 = bench_now();

    for (r = 0; r < rounds; r++) {
        ours_parts += bench_ours(msgs, n);
    }

    ours_s = bench_now() - t0;

    t0 = bench_now();

    for (r = 0; r < rounds; r++) {
        bench_ours_imap(msgs, n);
    }

    imap_s = bench_now() - t0;

    gmime_parts = 0;
    t0 = bench_now();

    for (r = 0; r < rounds; r++) {
        gmime_parts += bench_gmime(msgs, n);
    }

    gmime_s = bench_now() - t0;

    mb = (double) bytes * rounds / (1024 * 1024);
    snprintf(gmime_name, sizeof(gmime_name), "GMime %u.%u.%u",
             gmime_major_version, gmime_minor_version, gmime_micro_version);

    printf("%zu messages, %.1f MB, %d rounds\n", n,
           (double) bytes / (1024 * 1024), rounds);
    printf("%-14s %12s %10s %12s\n", "parser", "messages/s", "MB/s",
           "parts/round");
    printf("%-14s %12.0f %10.1f %12lu\n", "nginx-mail", n * rounds / ours_s,
           mb / ours_s, ours_parts / rounds);
    printf("%-14s %12.0f %10.1f %12s\n", "  +ENV+BODYST", n * rounds / imap_s,
           mb / imap_s, "");
    printf("%-14s %12.0f %10.1f %12lu\n", gmime_name,
           n * rounds / gmime_s, mb / gmime_s, gmime_parts / rounds);
    printf("ratio (ours / GMime): %.2fx parse, %.2fx with ENVELOPE and "
           "BODYSTRUCTURE\n", gmime_s / ours_s, gmime_s / imap_s);

    g_mime_shutdown();

    return 0;
}
