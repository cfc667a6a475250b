
/*
 * libFuzzer target for the FETCH attribute compiler and response writer.
 *
 * The input is two option octets, then the FETCH attributes as a client
 * sends them up to the first LF, then a message.  The attributes go
 * through the command parser as "a FETCH 1 <attributes>", are compiled,
 * and the response is written for the message parsed by mime_parse().
 *
 * Besides the sanitizers the target checks that an error comes with a
 * short printable text, that the compiled fetch does not point into the
 * command's buffer or nodes (they are overwritten before the writing),
 * that the response has its frame, that a BINARY the writer declines
 * was foretold by ngx_mail_imapd_fetch_check() and wrote nothing, and
 * that a flush callback with a limit the input chooses sees the same
 * octets as a plain buffer.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_imapd_parse.h"
#include "ngx_mail_imapd_fetch.h"


#define FUZZ_MAX_NODES  128
#define FUZZ_MAX_LINE   4096


typedef struct {
    unsigned char               line[FUZZ_MAX_LINE];
    unsigned char               scratch[FUZZ_MAX_LINE];
    ngx_mail_imapd_node_t       nodes[FUZZ_MAX_NODES];
    ngx_mail_imapd_parse_conf_t conf;
    ngx_mail_imapd_parser_t     ps;
} fuzz_command_t;


static int
fuzz_flush(void *ctx, const mime_uchar_t *data, size_t len)
{
    return mime_buf_append(ctx, data, len);
}


static void
fuzz_check_error(const char *error)
{
    size_t  i, len;

    if (error == NULL) {
        abort();
    }

    len = strlen(error);

    if (len == 0 || len > 80) {
        abort();
    }

    for (i = 0; i < len; i++) {
        if (error[i] < 0x20 || error[i] > 0x7e) {
            abort();
        }
    }
}


static void
fuzz_check_frame(const mime_buf_t *out, const ngx_mail_imapd_message_t *msg)
{
    static const char  prefix[] = "* 7 FETCH (";

    if (out->len < sizeof(prefix) - 1 + 3
        || memcmp(out->data, prefix, sizeof(prefix) - 1) != 0
        || memcmp(out->data + out->len - 3, ")\r\n", 3) != 0)
    {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                        rc, checked;
    size_t                     att_len, n, limit;
    unsigned char             *copy;
    const char                *error;
    const uint8_t             *lf;
    mime_buf_t                 plain, chunked, sink;
    mime_arena_t              *arena;
    fuzz_command_t            *cmd;
    mime_message_t            *parsed;
    mime_allocator_t           allocator;
    ngx_mail_imapd_fetch_t    *fetch;
    ngx_mail_imapd_message_t   msg;

    static const char          start[] = "a FETCH 7 ";

    if (size < 2) {
        return 0;
    }

    lf = memchr(data + 2, '\n', size - 2);

    if (lf == NULL) {
        return 0;
    }

    att_len = lf - (data + 2);

    if (att_len > FUZZ_MAX_LINE - sizeof(start) - 2) {
        return 0;
    }

    cmd = calloc(1, sizeof(fuzz_command_t));
    if (cmd == NULL) {
        abort();
    }

    memcpy(cmd->line, start, sizeof(start) - 1);
    memcpy(cmd->line + sizeof(start) - 1, data + 2, att_len);
    n = sizeof(start) - 1 + att_len;
    cmd->line[n++] = '\r';
    cmd->line[n++] = '\n';

    cmd->conf.max_line = FUZZ_MAX_LINE;
    cmd->conf.max_inline = 0;
    cmd->conf.max_depth = 4;
    cmd->conf.literal_plus = NGX_MAIL_IMAPD_LITERAL_SYNC;
    cmd->ps.conf = &cmd->conf;
    cmd->ps.nodes = cmd->nodes;
    cmd->ps.max_nodes = FUZZ_MAX_NODES;
    cmd->ps.scratch = cmd->scratch;
    cmd->ps.scratch_size = sizeof(cmd->scratch);
    ngx_mail_imapd_parse_init(&cmd->ps);

    rc = ngx_mail_imapd_parse_command(&cmd->ps, cmd->line, cmd->line + n);

    if (rc != NGX_MAIL_IMAPD_PARSE_OK || cmd->ps.nargs != 2) {
        free(cmd);
        return 0;
    }

    arena = mime_arena_create(0);
    if (arena == NULL) {
        abort();
    }

    mime_arena_allocator(arena, &allocator);

    rc = ngx_mail_imapd_fetch_compile(cmd->nodes, cmd->nodes[0].next,
                                      &allocator, &fetch, &error);

    if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
        if (rc != NGX_MAIL_IMAPD_PARSE_ERROR) {
            abort();
        }

        fuzz_check_error(error);
        goto done;
    }

    if (fetch == NULL || fetch->nitems == 0
        || fetch->nitems > NGX_MAIL_IMAPD_FETCH_MAX_ITEMS)
    {
        abort();
    }

    /* the command's buffer is reused while the responses are written */
    memset(cmd, 0xa5, sizeof(fuzz_command_t));

    fetch->uid |= data[0] & 0x01;
    fetch->modseq |= (data[0] >> 1) & 0x01;

    memset(&msg, 0, sizeof(msg));
    msg.seq = 7;
    msg.uid = 4294967295U;
    msg.modseq = 1ULL << 63;
    msg.internaldate = (time_t) ((int64_t) data[1] * 987654321LL
                                 - 10000000000LL);
    msg.flags = (const unsigned char *) "\\Seen $Forwarded\r\n\\Draft";
    msg.flags_len = strlen((const char *) msg.flags);
    msg.recent = (data[0] >> 2) & 0x01;

    /* an exact copy: a read past the message's end is caught */
    n = size - (lf + 1 - data);
    copy = malloc(n ? n : 1);
    if (copy == NULL) {
        abort();
    }

    if (n) {
        memcpy(copy, lf + 1, n);
    }

    msg.data = copy;
    msg.len = n;
    msg.size = n;

    parsed = NULL;

    if (fetch->needs & NGX_MAIL_IMAPD_NEED_CONTENT) {
        parsed = mime_parse(&allocator, copy, n, NULL);

        if (parsed == NULL) {
            free(copy);
            goto done;
        }
    }

    mime_buf_init(&plain, &allocator, 0);

    checked = ngx_mail_imapd_fetch_check(fetch, parsed);

    rc = ngx_mail_imapd_fetch_write(fetch, &msg, parsed, (data[0] >> 3) & 1,
                                    &plain);

    if (rc != checked) {
        abort();
    }

    if (rc == NGX_MAIL_IMAPD_PARSE_DECLINED) {
        /* RFC 3516 4.3: a tagged NO follows, no response before it */
        if (plain.len != 0) {
            abort();
        }

        free(copy);
        goto done;
    }

    if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
        abort();
    }

    fuzz_check_frame(&plain, &msg);

    limit = 1 + (data[0] >> 4) * 11;

    mime_buf_init(&sink, &allocator, 0);
    mime_buf_init(&chunked, &allocator, 0);
    chunked.flush = fuzz_flush;
    chunked.flush_ctx = &sink;
    chunked.limit = limit;

    rc = ngx_mail_imapd_fetch_write(fetch, &msg, parsed, (data[0] >> 3) & 1,
                                    &chunked);

    if (rc != NGX_MAIL_IMAPD_PARSE_OK || mime_buf_flush(&chunked) != MIME_OK
        || sink.len != plain.len
        || memcmp(sink.data, plain.data, plain.len) != 0)
    {
        abort();
    }

    free(copy);

done:

    mime_arena_destroy(arena);
    free(cmd);

    return 0;
}
