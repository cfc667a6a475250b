
/*
 * The IMAP session: greeting, reading commands with the parser of
 * ngx_mail_imapd_parse.c (literals taken inline), the command table, and
 * CAPABILITY, NOOP, LOGOUT, STARTTLS, ID, ENABLE and NAMESPACE.  Each
 * command's handler is ngx_mail_imapd_cmd_<verb>(); logins are in
 * ngx_mail_imapd_auth.c, the mailbox list in ngx_mail_imapd_mailbox.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_imapd.h"


/* the states a command is valid in (RFC 3501 3) */
#define NGX_MAIL_IMAPD_NOT_AUTH       0x01
#define NGX_MAIL_IMAPD_AUTH           0x02
#define NGX_MAIL_IMAPD_SELECTED       0x04
/* may follow "UID" (RFC 3501 6.4.8, RFC 4315, RFC 6851) */
#define NGX_MAIL_IMAPD_UID            0x08
/* syncs only when a notification says something changed */
#define NGX_MAIL_IMAPD_LAZY           0x10

/* as in pop3d: a client that keeps failing is cut off */
#define NGX_MAIL_IMAPD_MAX_ERRORS     20

/* a streamed reply goes to the output buffer in pieces of this size */
#define NGX_MAIL_IMAPD_REPLY_CHUNK    4096


typedef struct {
    ngx_str_t                   name;
    ngx_mail_imapd_cmd_pt       handler;
    ngx_uint_t                  states;
    ngx_uint_t                  min_args;
    ngx_uint_t                  max_args;
} ngx_mail_imapd_command_t;


static void ngx_mail_imapd_process(ngx_mail_session_t *s);
static void ngx_mail_imapd_literal(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
static void ngx_mail_imapd_bad(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, const char *reason, size_t len);
static void ngx_mail_imapd_command(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
static void ngx_mail_imapd_no(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, const char *text);
static void ngx_mail_imapd_save_tag(ngx_mail_imapd_ctx_t *ctx);
static ngx_int_t ngx_mail_imapd_stream(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
static ngx_int_t ngx_mail_imapd_continue(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
static ngx_flag_t ngx_mail_imapd_out_full(ngx_mail_server_io_t *io);
static void ngx_mail_imapd_cleanup(void *data);

static ngx_int_t ngx_mail_imapd_cmd_capability(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
static ngx_int_t ngx_mail_imapd_cmd_noop(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
static ngx_int_t ngx_mail_imapd_cmd_logout(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
static ngx_int_t ngx_mail_imapd_cmd_starttls(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
static ngx_int_t ngx_mail_imapd_cmd_id(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
static ngx_int_t ngx_mail_imapd_cmd_enable(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
static ngx_int_t ngx_mail_imapd_cmd_namespace(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);


#define N  NGX_MAIL_IMAPD_NOT_AUTH
#define A  (NGX_MAIL_IMAPD_AUTH|NGX_MAIL_IMAPD_SELECTED)
#define S  NGX_MAIL_IMAPD_SELECTED
#define U  NGX_MAIL_IMAPD_UID
#define L  NGX_MAIL_IMAPD_LAZY

static ngx_mail_imapd_command_t  ngx_mail_imapd_commands[] = {
    { ngx_string("CAPABILITY"), ngx_mail_imapd_cmd_capability, N|A, 0, 0 },
    { ngx_string("NOOP"), ngx_mail_imapd_cmd_noop, N|A, 0, 0 },
    { ngx_string("LOGOUT"), ngx_mail_imapd_cmd_logout, N|A, 0, 0 },
    { ngx_string("STARTTLS"), ngx_mail_imapd_cmd_starttls, N, 0, 0 },
    { ngx_string("LOGIN"), ngx_mail_imapd_cmd_login, N, 2, 2 },
    { ngx_string("AUTHENTICATE"), ngx_mail_imapd_cmd_authenticate, N, 1, 2 },
    { ngx_string("ID"), ngx_mail_imapd_cmd_id, N|A, 1, 1 },
    { ngx_string("ENABLE"), ngx_mail_imapd_cmd_enable, A, 1, 64 },
    { ngx_string("NAMESPACE"), ngx_mail_imapd_cmd_namespace, A, 0, 0 },
    { ngx_string("LIST"), ngx_mail_imapd_cmd_list, A, 2, 2 },
    { ngx_string("LSUB"), ngx_mail_imapd_cmd_lsub, A, 2, 2 },
    { ngx_string("STATUS"), ngx_mail_imapd_cmd_status, A, 2, 2 },
    { ngx_string("CREATE"), ngx_mail_imapd_cmd_create, A, 1, 1 },
    { ngx_string("DELETE"), ngx_mail_imapd_cmd_delete, A, 1, 1 },
    { ngx_string("RENAME"), ngx_mail_imapd_cmd_rename, A, 2, 2 },
    { ngx_string("SUBSCRIBE"), ngx_mail_imapd_cmd_subscribe, A, 1, 1 },
    { ngx_string("UNSUBSCRIBE"), ngx_mail_imapd_cmd_unsubscribe, A, 1, 1 },
    { ngx_string("SELECT"), ngx_mail_imapd_cmd_select, A, 1, 2 },
    { ngx_string("APPEND"), ngx_mail_imapd_cmd_append, A, 2, 4 },
    { ngx_string("GETQUOTAROOT"), ngx_mail_imapd_cmd_getquotaroot, A, 1, 1 },
    { ngx_string("GETQUOTA"), ngx_mail_imapd_cmd_getquota, A, 1, 1 },
    { ngx_string("SETQUOTA"), ngx_mail_imapd_cmd_setquota, A, 2, 2 },
    { ngx_string("EXAMINE"), ngx_mail_imapd_cmd_select, A, 1, 2 },
    { ngx_string("IDLE"), ngx_mail_imapd_cmd_idle, A, 0, 0 },
    { ngx_string("CHECK"), ngx_mail_imapd_cmd_check, S, 0, 0 },
    { ngx_string("CLOSE"), ngx_mail_imapd_cmd_close, S, 0, 0 },
    { ngx_string("UNSELECT"), ngx_mail_imapd_cmd_unselect, S, 0, 0 },
    { ngx_string("EXPUNGE"), ngx_mail_imapd_cmd_expunge, S|U, 0, 1 },
    { ngx_string("STORE"), ngx_mail_imapd_cmd_store, S|U|L, 3, 40 },
    { ngx_string("COPY"), ngx_mail_imapd_cmd_copy, S|U|L, 2, 2 },
    { ngx_string("MOVE"), ngx_mail_imapd_cmd_move, S|U, 2, 2 },
    { ngx_string("FETCH"), ngx_mail_imapd_cmd_fetch, S|U|L, 2, 3 },
    { ngx_string("SEARCH"), ngx_mail_imapd_cmd_search, S|U|L, 1, 255 },
    { ngx_null_string, NULL, 0, 0, 0 }
};

#undef N
#undef A
#undef S
#undef U
#undef L


void
ngx_mail_imapd_init_session(ngx_mail_session_t *s, ngx_connection_t *c)
{
    u_char                *p, caps[512];
    ngx_pool_cleanup_t    *cln;
    ngx_mail_server_io_t  *io;
    ngx_mail_imapd_ctx_t  *ctx;

    ctx = ngx_pcalloc(c->pool, sizeof(ngx_mail_imapd_ctx_t));
    if (ctx == NULL) {
        ngx_mail_close_connection(c);
        return;
    }

    ngx_mail_set_ctx(s, ctx, ngx_mail_imapd_module);

    ctx->parse_conf.max_line = NGX_MAIL_IMAPD_LINE_MAX;
    ctx->parse_conf.max_inline = NGX_MAIL_IMAPD_INLINE_MAX;
    ctx->parse_conf.max_depth = NGX_MAIL_IMAPD_MAX_DEPTH;
    ctx->parse_conf.literal_plus = NGX_MAIL_IMAPD_LITERAL_PLUS;

    ctx->parser.conf = &ctx->parse_conf;
    ctx->tag_buf = ngx_pnalloc(c->pool, NGX_MAIL_IMAPD_TAG_MAX);

    if (ctx->tag_buf == NULL
        || ngx_mail_imapd_parser_memory(s, ctx, 1) != NGX_OK)
    {
        ngx_mail_close_connection(c);
        return;
    }

    ngx_mail_imapd_parse_init(&ctx->parser);

    ctx->origin.data = ctx->origin_buf;
    ctx->origin.len = ngx_sprintf(ctx->origin_buf, " @%P.%uA", ngx_pid,
                                  c->number)
                      - ctx->origin_buf;

    cln = ngx_pool_cleanup_add(c->pool, 0);
    if (cln == NULL) {
        ngx_mail_close_connection(c);
        return;
    }

    cln->handler = ngx_mail_imapd_cleanup;
    cln->data = ctx;

    /* the parser's bound: a command it accepts always fits (see its .h) */
    io = ngx_mail_server_io_create(s, NGX_MAIL_IMAPD_LINE_MAX
                                      + NGX_MAIL_IMAPD_INLINE_MAX,
                                   NGX_MAIL_IMAPD_OUT_SIZE,
                                   NGX_MAIL_IMAPD_LINE_MAX,
                                   ngx_mail_imapd_process);
    if (io == NULL) {
        ngx_mail_close_connection(c);
        return;
    }

    ngx_str_set(&io->timeout_reply, "* BYE Autologout; idle for too long"
                                    CRLF);
    ngx_str_set(&io->shutdown_reply, "* BYE Server shutting down" CRLF);

    c->log->action = "in IMAP session";

    p = ngx_mail_imapd_capabilities(s, ctx, caps);

    (void) ngx_mail_server_printf(s, "* OK [CAPABILITY %*s] "
                                     "nginx-mailserver ready",
                                  p - caps, caps);
    ngx_mail_server_flush(s);
}


/* after the STARTTLS handshake */

void
ngx_mail_imapd_init_protocol(ngx_event_t *rev)
{
    ngx_connection_t    *c;
    ngx_mail_session_t  *s;

    c = rev->data;
    s = c->data;

    c->read->handler = ngx_mail_server_read_handler;
    c->write->handler = ngx_mail_server_write_handler;
    c->log->action = "in IMAP session";

    ngx_mail_server_resume(s);
}


/*
 * The parser wants the command's octets not to move until it is complete:
 * a new command is moved to the start of the buffer before its first
 * octet is parsed, and the buffer is consumed (b->pos moves) only once
 * the command is complete, so ngx_mail_server_recv() never moves it.
 */

static void
ngx_mail_imapd_process(ngx_mail_session_t *s)
{
    int                       rc;
    size_t                    used;
    ngx_str_t                 line;
    ngx_buf_t                *b;
    ngx_mail_server_io_t     *io;
    ngx_mail_imapd_ctx_t     *ctx;
    ngx_mail_imapd_parser_t  *ps;

    io = ngx_mail_server_io(s);
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);
    ps = &ctx->parser;
    b = s->buffer;

    while (!io->busy && !io->quit && !io->starttls) {

        if (ngx_mail_imapd_out_full(io)) {
            return;
        }

        if (ctx->reply) {
            if (ngx_mail_imapd_stream(s, ctx) != NGX_OK) {
                return;
            }

            continue;
        }

        if (ctx->next) {
            (void) ngx_mail_imapd_continue(s, ctx);
            continue;
        }

        if (ctx->appending) {
            if (ngx_mail_imapd_append_data(s, ctx) == NGX_AGAIN) {
                io->in_command = 1;
                return;
            }

            continue;
        }

        if (ctx->skipping) {
            rc = ngx_mail_imapd_parse_skip(ps, b->pos, b->last, &used);

            if (rc == NGX_MAIL_IMAPD_PARSE_AGAIN) {
                b->pos = b->last;
                return;
            }

            b->pos += used;
            ctx->skipping = 0;
            continue;
        }

        if (ctx->idling) {
            rc = ngx_mail_server_next_line(s, &line);

            if (rc == NGX_AGAIN) {
                ngx_mail_imapd_idle_sync(s, ctx);
                return;
            }

            if (rc == NGX_DECLINED) {
                ngx_str_null(&line);
            }

            ngx_mail_imapd_idle_line(s, ctx, &line);
            continue;
        }

        if (ngx_mail_account_sasl_pending(&ctx->sasl)) {
            rc = ngx_mail_server_next_line(s, &line);

            if (rc == NGX_AGAIN) {
                return;
            }

            if (rc == NGX_DECLINED) {
                ctx->sasl.step = 0;
                (void) ngx_mail_imapd_tagged(s, ctx, "BAD Line too long");
                ngx_mail_imapd_error(s, ctx);
                continue;
            }

            ngx_mail_imapd_sasl_continue(s, ctx, &line);
            continue;
        }

        if (!ctx->parsing) {
            if (b->pos == b->last) {
                return;
            }

            if (b->pos != b->start) {
                b->last = ngx_movemem(b->start, b->pos, b->last - b->pos);
                b->pos = b->start;
            }

            if (ngx_mail_imapd_parser_memory(s, ctx, 1) != NGX_OK) {
                io->quit = 1;
                return;
            }

            /* the previous command is over, with all it allocated */
            if (ctx->cmd_pool) {
                ngx_destroy_pool(ctx->cmd_pool);
                ctx->cmd_pool = NULL;
            }

            ngx_mail_imapd_parse_init(ps);
            ctx->parsing = 1;
        }

        rc = ngx_mail_imapd_parse_command(ps, b->start, b->last);

        io->in_command = 0;

        switch (rc) {

        case NGX_MAIL_IMAPD_PARSE_AGAIN:
            /* a graceful shutdown does not cut a command in two */
            io->in_command = (b->last != b->start);
            return;

        case NGX_MAIL_IMAPD_PARSE_LITERAL:
            ngx_mail_imapd_literal(s, ctx);
            break;

        case NGX_MAIL_IMAPD_PARSE_OK:
            ctx->parsing = 0;
            b->pos = b->start + ps->pos;
            ngx_mail_imapd_command(s, ctx);

            /* an APPEND refused before its script took the spool */
            if (ctx->spool.session && !ctx->spool.done) {
                ngx_mail_imapd_append_discard(ctx);
            }

            break;

        default: /* NGX_MAIL_IMAPD_PARSE_ERROR */
            ngx_mail_imapd_bad(s, ctx, (const char *) ps->error.data,
                               ps->error.len);
            break;
        }
    }
}


/* RFC 3501 7.5, RFC 7888: only small literals are taken, and inline */

static void
ngx_mail_imapd_literal(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    ngx_mail_imapd_parser_t  *ps;

    ps = &ctx->parser;

    /* APPEND's message, whatever its size, is streamed to Redis */
    if (ps->literal.node != 0 && ps->nodes[ps->literal.node].parent
                                 == NGX_MAIL_IMAPD_NODE_NONE
        && ngx_mail_imapd_atom_eq(&ps->name, "APPEND") && !ps->uid)
    {
        switch (ngx_mail_imapd_append_literal(s, ctx)) {

        case NGX_OK:
            return;

        case NGX_ABORT:
            ngx_mail_imapd_parse_reject(ps);
            ngx_mail_imapd_no(s, ctx, "NO [TOOBIG] Message too large");
            return;

        case NGX_DECLINED:
            ngx_mail_imapd_parse_reject(ps);
            ngx_mail_imapd_bad(s, ctx, "Invalid arguments",
                               sizeof("Invalid arguments") - 1);
            return;

        default:
            ngx_mail_imapd_parse_reject(ps);
            ngx_mail_imapd_no(s, ctx, "NO [UNAVAILABLE] Temporary failure, "
                                      "try again later");
            return;
        }
    }

    if (!ps->literal.inline_ok) {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "literal of %uL octets refused", ps->literal.size);
        ngx_mail_imapd_parse_reject(ps);
        ngx_mail_imapd_bad(s, ctx, "Literal too large",
                           sizeof("Literal too large") - 1);
        return;
    }

    if (ps->literal.sync) {
        (void) ngx_mail_server_printf(s, "+ Ready for literal data");
    }
}


/* a command the parser refused: "tag BAD", and the rest of it skipped */

static void
ngx_mail_imapd_bad(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    const char *reason, size_t len)
{
    ngx_mail_imapd_parser_t  *ps;

    ps = &ctx->parser;

    ngx_mail_imapd_save_tag(ctx);
    ngx_mail_imapd_append_discard(ctx);

    if (ctx->tag.len && ctx->parser.tag.len <= NGX_MAIL_IMAPD_TAG_MAX) {
        (void) ngx_mail_server_printf(s, "%V BAD %*s", &ctx->tag, len,
                                      reason);

    } else {
        (void) ngx_mail_server_printf(s, "* BAD %*s", len, reason);
    }

    ctx->parsing = 0;
    ctx->skipping = 1;
    s->buffer->pos = s->buffer->start + ps->pos;

    ngx_mail_imapd_error(s, ctx);
}


/* a literal refused for a reason other than syntax: NO, and skip */

static void
ngx_mail_imapd_no(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    const char *text)
{
    ngx_mail_imapd_save_tag(ctx);

    (void) ngx_mail_imapd_printf(s, ctx, "%V %s", &ctx->tag, text);

    ctx->parsing = 0;
    ctx->skipping = 1;
    s->buffer->pos = s->buffer->start + ctx->parser.pos;

    ngx_mail_imapd_error(s, ctx);
}


static void
ngx_mail_imapd_save_tag(ngx_mail_imapd_ctx_t *ctx)
{
    ctx->tag.len = ngx_min(ctx->parser.tag.len, NGX_MAIL_IMAPD_TAG_MAX);
    ctx->tag.data = ctx->tag_buf;

    if (ctx->tag.len) {
        ngx_memcpy(ctx->tag_buf, ctx->parser.tag.data, ctx->tag.len);
    }
}


static void
ngx_mail_imapd_command(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    ngx_uint_t                 state;
    ngx_mail_imapd_parser_t   *ps;
    ngx_mail_imapd_command_t  *cmd;

    ps = &ctx->parser;

    ngx_mail_imapd_save_tag(ctx);

    /* a reply line must hold the tag: printf() cuts lines at 1024 */
    if (ps->tag.len > NGX_MAIL_IMAPD_TAG_MAX) {
        (void) ngx_mail_server_printf(s, "* BAD Tag too long");
        ngx_mail_imapd_error(s, ctx);
        return;
    }

    for (cmd = ngx_mail_imapd_commands; cmd->handler; cmd++) {
        if (cmd->name.len == ps->name.len
            && ngx_strncasecmp(cmd->name.data, (u_char *) ps->name.data,
                               ps->name.len)
               == 0)
        {
            break;
        }
    }

    if (cmd->handler == NULL
        || (ps->uid && !(cmd->states & NGX_MAIL_IMAPD_UID)))
    {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Unknown command");
        ngx_mail_imapd_error(s, ctx);
        return;
    }

    switch (ctx->state) {
    case ngx_mail_imapd_not_authenticated:
        state = NGX_MAIL_IMAPD_NOT_AUTH;
        break;
    case ngx_mail_imapd_selected:
        state = NGX_MAIL_IMAPD_SELECTED;
        break;
    default:
        state = NGX_MAIL_IMAPD_AUTH;
    }

    /* UID EXPUNGE takes a set, EXPUNGE nothing */
    if (cmd->handler == ngx_mail_imapd_cmd_expunge && ps->nargs != ps->uid) {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
        ngx_mail_imapd_error(s, ctx);
        return;
    }

    if (!(cmd->states & state)) {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Command not valid in this "
                                             "state");
        ngx_mail_imapd_error(s, ctx);
        return;
    }

    if (ps->nargs < cmd->min_args || ps->nargs > cmd->max_args) {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
        ngx_mail_imapd_error(s, ctx);
        return;
    }

    ctx->verb = &cmd->name;
    ctx->lazy_sync = (cmd->states & NGX_MAIL_IMAPD_LAZY) != 0;

    if (cmd->handler(s, ctx) != NGX_OK) {
        ngx_mail_imapd_error(s, ctx);
    }
}


ngx_int_t
ngx_mail_imapd_tagged(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    const char *text)
{
    return ngx_mail_imapd_printf(s, ctx, "%V %s", &ctx->tag, text);
}


/*
 * Every reply goes through here: into the output buffer while it has
 * room and nothing waits before it, else after what waits, in a buffer
 * of the command's that grows and is sent as the client takes it
 */

ngx_int_t
ngx_mail_imapd_write(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    u_char *data, size_t len)
{
    size_t                 size;
    ngx_buf_t             *b, *nb;
    ngx_mail_server_io_t  *io;

    io = ngx_mail_server_io(s);

    if (ctx->reply == NULL
        && (size_t) (io->out->end - io->out->last) >= len + 256)
    {
        return ngx_mail_server_reply(s, data, len);
    }

    b = ctx->reply;

    if (b == NULL) {
        if (ctx->reply_pool == NULL) {
            ctx->reply_pool = ngx_create_pool(16384, s->connection->log);
            if (ctx->reply_pool == NULL) {
                return NGX_ERROR;
            }
        }

        b = ngx_create_temp_buf(ctx->reply_pool, ngx_max(len, 8192));
        if (b == NULL) {
            return NGX_ERROR;
        }

        ctx->reply = b;
    }

    if ((size_t) (b->end - b->last) < len) {
        size = ngx_max(2 * (size_t) (b->last - b->pos), b->last - b->pos + len);

        nb = ngx_create_temp_buf(ctx->reply_pool, size);
        if (nb == NULL) {
            return NGX_ERROR;
        }

        nb->last = ngx_cpymem(nb->pos, b->pos, b->last - b->pos);

        if (b->end - b->start >= 4096) {
            ngx_pfree(ctx->reply_pool, b->start);
        }

        ctx->reply = nb;
        b = nb;
    }

    b->last = ngx_cpymem(b->last, data, len);

    return NGX_OK;
}


ngx_int_t
ngx_mail_imapd_printf(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    const char *fmt, ...)
{
    u_char   *p, buf[1024];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf) - 2, fmt, args);
    va_end(args);

    *p++ = CR;
    *p++ = LF;

    return ngx_mail_imapd_write(s, ctx, buf, p - buf);
}


/* the n-th argument, from 0; the command's argument count is checked */

ngx_mail_imapd_node_t *
ngx_mail_imapd_arg(ngx_mail_imapd_ctx_t *ctx, ngx_uint_t n)
{
    uint32_t                  i;
    ngx_mail_imapd_parser_t  *ps;

    ps = &ctx->parser;

    for (i = 0; n; n--) {
        i = ps->nodes[i].next;
    }

    return &ps->nodes[i];
}


/* the n-th argument as an astring (RFC 3501 9): NGX_ERROR if not one */

ngx_int_t
ngx_mail_imapd_arg_string(ngx_mail_imapd_ctx_t *ctx, ngx_uint_t n,
    ngx_str_t *value)
{
    ngx_mail_imapd_str_t  v;

    if (ngx_mail_imapd_astring(ngx_mail_imapd_arg(ctx, n), &v)
        != NGX_MAIL_IMAPD_PARSE_OK)
    {
        return NGX_ERROR;
    }

    value->data = (u_char *) v.data;
    value->len = v.len;

    return NGX_OK;
}


void
ngx_mail_imapd_error(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    if (++ctx->errors < NGX_MAIL_IMAPD_MAX_ERRORS) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                  "too many errors, closing");

    (void) ngx_mail_server_printf(s, "* BYE Too many invalid commands");
    ngx_mail_server_io(s)->quit = 1;
}


/* the reply to a command that waited, and on with the session */

void
ngx_mail_imapd_done(ngx_mail_session_t *s)
{
    ngx_mail_server_io(s)->busy = 0;
    ngx_mail_server_resume(s);
}


/* a long reply, prepared whole, goes out as the client takes it */

static ngx_int_t
ngx_mail_imapd_stream(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    size_t      n;
    ngx_buf_t  *b, *out;

    b = ctx->reply;
    out = ngx_mail_server_io(s)->out;

    /* no more than the output buffer takes: it is small in IDLE */
    if (out->pos != out->start) {
        out->last = ngx_movemem(out->start, out->pos, out->last - out->pos);
        out->pos = out->start;
    }

    n = ngx_min((size_t) (b->last - b->pos), NGX_MAIL_IMAPD_REPLY_CHUNK);
    n = ngx_min(n, (size_t) (out->end - out->last));

    if (n == 0) {
        return NGX_ERROR;
    }

    if (ngx_mail_server_reply(s, b->pos, n) != NGX_OK) {
        return NGX_ERROR;
    }

    b->pos += n;

    if (b->pos == b->last) {
        ngx_destroy_pool(ctx->reply_pool);
        ctx->reply_pool = NULL;
        ctx->reply = NULL;
    }

    return NGX_OK;
}


/*
 * RFC 7162 3.1: the first command that enables CONDSTORE with a mailbox
 * selected tells the mailbox's HIGHESTMODSEQ
 */

void
ngx_mail_imapd_condstore_on(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    if (ctx->condstore) {
        return;
    }

    ctx->condstore = 1;

    if (ctx->mailbox) {
        (void) ngx_mail_imapd_printf(s, ctx, "* OK [HIGHESTMODSEQ %uL] "
                                     "Highest", ctx->mailbox->modseq);
    }
}


/* the command's own pool, made on first use */

ngx_pool_t *
ngx_mail_imapd_pool(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    if (ctx->cmd_pool == NULL) {
        ctx->cmd_pool = ngx_create_pool(4096, s->connection->log);
    }

    return ctx->cmd_pool;
}


/* an idle session keeps nothing of its commands */

void
ngx_mail_imapd_pool_free(ngx_mail_imapd_ctx_t *ctx)
{
    if (ctx->cmd_pool) {
        ngx_destroy_pool(ctx->cmd_pool);
        ctx->cmd_pool = NULL;
    }
}


/*
 * The parser's nodes and scratch space, 18 kB, are given back while the
 * session idles (IDLE) and taken again for the next command.  They are
 * large allocations of the pool, which ngx_pfree() returns.
 */

ngx_int_t
ngx_mail_imapd_parser_memory(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_flag_t on)
{
    ngx_pool_t               *pool;
    ngx_mail_imapd_parser_t  *ps;

    pool = s->connection->pool;
    ps = &ctx->parser;

    if (!on) {
        if (ps->nodes) {
            (void) ngx_pfree(pool, ps->nodes);
            (void) ngx_pfree(pool, ps->scratch);
            ps->nodes = NULL;
            ps->scratch = NULL;
        }

        return NGX_OK;
    }

    if (ps->nodes) {
        return NGX_OK;
    }

    ps->max_nodes = NGX_MAIL_IMAPD_MAX_NODES;
    ps->nodes = ngx_pmemalign(pool, NGX_MAIL_IMAPD_MAX_NODES
                                    * sizeof(ngx_mail_imapd_node_t),
                              NGX_ALIGNMENT);
    ps->scratch_size = NGX_MAIL_IMAPD_LINE_MAX;
    ps->scratch = ngx_pmemalign(pool, NGX_MAIL_IMAPD_LINE_MAX, NGX_ALIGNMENT);

    if (ps->nodes == NULL || ps->scratch == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a command that works in rounds goes on once its output has drained */

static ngx_int_t
ngx_mail_imapd_continue(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    ngx_int_t  (*next)(ngx_mail_session_t *s, void *ctx);

    next = ctx->next;
    ctx->next = NULL;

    return next(s, ctx->work);
}


/* as ngx_mail_server_next_line() decides that replies must drain first */

static ngx_flag_t
ngx_mail_imapd_out_full(ngx_mail_server_io_t *io)
{
    return (size_t) (io->out->last - io->out->pos)
           > (size_t) (io->out->end - io->out->start) / 2
           || io->out->end - io->out->last < 256;
}


/* RFC 3501 6.1.1, 6.2.3: what is offered depends on the state and TLS */

u_char *
ngx_mail_imapd_capabilities(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    u_char *p)
{
    static u_char  base[] = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE "
                            "NAMESPACE SPECIAL-USE CHILDREN UIDPLUS MOVE "
                            "UNSELECT CONDSTORE QRESYNC QUOTA "
                            "QUOTA=RES-STORAGE";

    p = ngx_cpymem(p, base, sizeof(base) - 1);

    if (ctx->state != ngx_mail_imapd_not_authenticated) {
        return p;
    }

    if (ngx_mail_server_starttls_offered(s)) {
        p = ngx_cpymem(p, " STARTTLS", sizeof(" STARTTLS") - 1);
    }

    if (ngx_mail_imapd_auth_offered(s)) {
        p = ngx_cpymem(p, " AUTH=PLAIN AUTH=LOGIN",
                       sizeof(" AUTH=PLAIN AUTH=LOGIN") - 1);

    } else {
        p = ngx_cpymem(p, " LOGINDISABLED", sizeof(" LOGINDISABLED") - 1);
    }

    return p;
}


static ngx_int_t
ngx_mail_imapd_cmd_capability(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx)
{
    u_char  *p, caps[512];

    p = ngx_mail_imapd_capabilities(s, ctx, caps);

    (void) ngx_mail_server_printf(s, "* CAPABILITY %*s", p - caps, caps);

    return ngx_mail_imapd_tagged(s, ctx, "OK Capability completed");
}


/* RFC 3501 6.1.2: the poll of the selected state */

static ngx_int_t
ngx_mail_imapd_cmd_noop(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    return ngx_mail_imapd_complete(s, ctx, 1, "OK NOOP completed");
}


/* RFC 3501 6.1.3: BYE first, then the tagged OK, then close */

static ngx_int_t
ngx_mail_imapd_cmd_logout(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    ctx->state = ngx_mail_imapd_logout;
    ngx_mail_server_io(s)->quit = 1;

    (void) ngx_mail_server_printf(s, "* BYE Logging out");

    return ngx_mail_imapd_tagged(s, ctx, "OK Logout completed");
}


static ngx_int_t
ngx_mail_imapd_cmd_starttls(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    if (!ngx_mail_server_starttls_offered(s)) {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD STARTTLS not available");
        return NGX_ERROR;
    }

    /* RFC 3501 6.2.1 and CVE-2011-0411: nothing sent before TLS counts */
    ngx_mail_server_discard_input(s);
    ngx_mail_server_io(s)->starttls = 1;

    return ngx_mail_imapd_tagged(s, ctx, "OK Begin TLS negotiation now");
}


/* RFC 2971 3.1: the client's parameters are a list or NIL */

static ngx_int_t
ngx_mail_imapd_cmd_id(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    ngx_mail_imapd_node_t  *node;

    node = &ctx->parser.nodes[0];

    if (node->type != NGX_MAIL_IMAPD_NODE_LIST && !node->nil) {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
        return NGX_ERROR;
    }

    (void) ngx_mail_server_printf(s, "* ID (\"name\" \"nginx-mailserver\")");

    return ngx_mail_imapd_tagged(s, ctx, "OK ID completed");
}


/*
 * RFC 5161 3.1: CONDSTORE and QRESYNC (RFC 7162 3.2.3: QRESYNC implies
 * CONDSTORE); others are ignored, as the RFC asks
 */

static ngx_int_t
ngx_mail_imapd_cmd_enable(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    u_char                    *p, line[64];
    uint32_t                   i;
    ngx_uint_t                 condstore, qresync;
    ngx_mail_imapd_node_t     *node;
    ngx_mail_imapd_parser_t   *ps;

    ps = &ctx->parser;
    condstore = 0;
    qresync = 0;

    for (i = 0; i != NGX_MAIL_IMAPD_NODE_NONE; i = node->next) {
        node = &ps->nodes[i];

        if (node->type != NGX_MAIL_IMAPD_NODE_ATOM) {
            (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
            return NGX_ERROR;
        }

        if (ngx_mail_imapd_atom_eq(&node->value, "CONDSTORE")) {
            condstore = 1;

        } else if (ngx_mail_imapd_atom_eq(&node->value, "QRESYNC")) {
            qresync = 1;
        }
    }

    p = ngx_cpymem(line, "* ENABLED", sizeof("* ENABLED") - 1);

    /* only what this ENABLE turned on is listed */
    if (condstore && !ctx->condstore) {
        p = ngx_cpymem(p, " CONDSTORE", sizeof(" CONDSTORE") - 1);
    }

    if (qresync && !ctx->qresync) {
        p = ngx_cpymem(p, " QRESYNC", sizeof(" QRESYNC") - 1);
    }

    if (condstore || qresync) {
        ngx_mail_imapd_condstore_on(s, ctx);
    }

    ctx->qresync |= qresync;

    (void) ngx_mail_imapd_write(s, ctx, line, p - line);
    (void) ngx_mail_imapd_write(s, ctx, (u_char *) CRLF, 2);

    return ngx_mail_imapd_tagged(s, ctx, "OK ENABLE completed");
}


/* RFC 2342 5: one personal namespace, "/" the hierarchy delimiter */

static ngx_int_t
ngx_mail_imapd_cmd_namespace(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx)
{
    (void) ngx_mail_server_printf(s, "* NAMESPACE ((\"\" \"/\")) NIL NIL");

    return ngx_mail_imapd_tagged(s, ctx, "OK NAMESPACE completed");
}


static void
ngx_mail_imapd_cleanup(void *data)
{
    ngx_mail_imapd_ctx_t  *ctx = data;

    if (ctx->mailbox) {
        ngx_mail_imapd_mailbox_free(ctx->mailbox);
        ctx->mailbox = NULL;
    }

    ngx_mail_imapd_mailbox_free(&ctx->selecting);
    ngx_mail_imapd_append_discard(ctx);
    ngx_mail_imapd_work_end(NULL, ctx);

    if (ctx->cmd_pool) {
        ngx_destroy_pool(ctx->cmd_pool);
        ctx->cmd_pool = NULL;
    }

    if (ctx->reply_pool) {
        ngx_destroy_pool(ctx->reply_pool);
        ctx->reply_pool = NULL;
    }
}
