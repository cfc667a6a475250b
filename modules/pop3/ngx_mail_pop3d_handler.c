
/*
 * The POP3 session: greeting, the command loop, and CAPA, STLS, NOOP and
 * QUIT.  Each command's handler is ngx_mail_pop3d_cmd_<verb>(); logins
 * are in ngx_mail_pop3d_auth.c, the maildrop in ngx_mail_pop3d_maildrop.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_pop3d.h"
#include "ngx_mail_pop3d_parse.h"


/* the states a command is valid in (RFC 1939 3) */
#define NGX_MAIL_POP3D_AUTHORIZATION  0x01
#define NGX_MAIL_POP3D_TRANSACTION    0x02

/* Dovecot's limit: a client that keeps failing is cut off */
#define NGX_MAIL_POP3D_MAX_ERRORS     10


typedef struct {
    ngx_str_t                   verb;
    ngx_mail_pop3d_cmd_pt       handler;
    ngx_uint_t                  states;
} ngx_mail_pop3d_command_t;


static void ngx_mail_pop3d_process(ngx_mail_session_t *s);
static void ngx_mail_pop3d_command(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *line);
static void ngx_mail_pop3d_cleanup(void *data);

static ngx_int_t ngx_mail_pop3d_cmd_capa(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);
static ngx_int_t ngx_mail_pop3d_cmd_stls(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);
static ngx_int_t ngx_mail_pop3d_cmd_noop(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);
static ngx_int_t ngx_mail_pop3d_cmd_quit(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);


#define A  NGX_MAIL_POP3D_AUTHORIZATION
#define T  NGX_MAIL_POP3D_TRANSACTION

static ngx_mail_pop3d_command_t  ngx_mail_pop3d_commands[] = {
    { ngx_string("CAPA"), ngx_mail_pop3d_cmd_capa, A|T },
    { ngx_string("STLS"), ngx_mail_pop3d_cmd_stls, A },
    { ngx_string("USER"), ngx_mail_pop3d_cmd_user, A },
    { ngx_string("PASS"), ngx_mail_pop3d_cmd_pass, A },
    { ngx_string("AUTH"), ngx_mail_pop3d_cmd_auth, A },
    { ngx_string("APOP"), ngx_mail_pop3d_cmd_apop, A },
    { ngx_string("QUIT"), ngx_mail_pop3d_cmd_quit, A|T },
    { ngx_string("STAT"), ngx_mail_pop3d_cmd_stat, T },
    { ngx_string("LIST"), ngx_mail_pop3d_cmd_list, T },
    { ngx_string("UIDL"), ngx_mail_pop3d_cmd_uidl, T },
    { ngx_string("RETR"), ngx_mail_pop3d_cmd_retr, T },
    { ngx_string("TOP"), ngx_mail_pop3d_cmd_top, T },
    { ngx_string("DELE"), ngx_mail_pop3d_cmd_dele, T },
    { ngx_string("RSET"), ngx_mail_pop3d_cmd_rset, T },
    { ngx_string("NOOP"), ngx_mail_pop3d_cmd_noop, T },
    { ngx_null_string, NULL, 0 }
};

#undef A
#undef T


void
ngx_mail_pop3d_init_session(ngx_mail_session_t *s, ngx_connection_t *c)
{
    u_char                     *p;
    ngx_pool_cleanup_t         *cln;
    ngx_mail_server_io_t       *io;
    ngx_mail_pop3d_ctx_t       *ctx;
    ngx_mail_core_srv_conf_t   *cscf;
    ngx_mail_pop3d_srv_conf_t  *pscf;

    cscf = ngx_mail_get_module_srv_conf(s, ngx_mail_core_module);
    pscf = ngx_mail_get_module_srv_conf(s, ngx_mail_pop3d_module);

    ctx = ngx_pcalloc(c->pool, sizeof(ngx_mail_pop3d_ctx_t));
    if (ctx == NULL) {
        ngx_mail_close_connection(c);
        return;
    }

    ngx_mail_set_ctx(s, ctx, ngx_mail_pop3d_module);

    cln = ngx_pool_cleanup_add(c->pool, 0);
    if (cln == NULL) {
        ngx_mail_close_connection(c);
        return;
    }

    /* the maildrop lock must not outlive the session */
    cln->handler = ngx_mail_pop3d_cleanup;
    cln->data = s;

    /* messages and listings are streamed through the output buffer */
    io = ngx_mail_server_io_create(s, 2 * NGX_MAIL_POP3D_AUTH_LINE_MAX,
                                   NGX_MAIL_POP3D_CHUNK,
                                   NGX_MAIL_POP3D_AUTH_LINE_MAX,
                                   ngx_mail_pop3d_process);
    if (io == NULL) {
        ngx_mail_close_connection(c);
        return;
    }

    ngx_str_set(&io->timeout_reply, "-ERR Disconnected for inactivity"
                                    CRLF);
    ngx_str_set(&io->shutdown_reply, "-ERR [SYS/TEMP] Server shutting down"
                                     CRLF);

    c->log->action = "in POP3 session";

    if (!pscf->apop) {
        (void) ngx_mail_server_printf(s, "+OK POP3 server ready");
        ngx_mail_server_flush(s);
        return;
    }

    /* RFC 1939 7: a timestamp unique to this greeting */
    p = ngx_pnalloc(c->pool, NGX_INT64_LEN * 3 + cscf->server_name.len + 8);
    if (p == NULL) {
        ngx_mail_close_connection(c);
        return;
    }

    ctx->apop_stamp.data = p;
    p = ngx_sprintf(p, "<%P.%uA.%T@%V>", ngx_pid, c->number, ngx_time(),
                    &cscf->server_name);
    ctx->apop_stamp.len = p - ctx->apop_stamp.data;

    (void) ngx_mail_server_printf(s, "+OK POP3 server ready %V",
                                &ctx->apop_stamp);
    ngx_mail_server_flush(s);
}


/* after the STLS handshake */

void
ngx_mail_pop3d_init_protocol(ngx_event_t *rev)
{
    ngx_connection_t      *c;
    ngx_mail_session_t    *s;

    c = rev->data;
    s = c->data;

    c->read->handler = ngx_mail_server_read_handler;
    c->write->handler = ngx_mail_server_write_handler;
    c->log->action = "in POP3 session";

    ngx_mail_server_resume(s);
}


static void
ngx_mail_pop3d_process(ngx_mail_session_t *s)
{
    ngx_int_t              rc;
    ngx_str_t              line;
    ngx_mail_server_io_t  *io;
    ngx_mail_pop3d_ctx_t  *ctx;

    io = ngx_mail_server_io(s);
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_pop3d_module);

    while (!io->busy && !io->quit && !io->starttls) {

        if (ctx->stream.active) {
            if (ngx_mail_pop3d_stream(s, ctx) != NGX_OK) {
                return;
            }

            continue;
        }

        rc = ngx_mail_server_next_line(s, &line);

        if (rc == NGX_AGAIN) {
            return;
        }

        if (rc == NGX_DECLINED) {
            ctx->sasl.step = 0;
            (void) ngx_mail_server_printf(s, "-ERR Line too long");
            ngx_mail_pop3d_error(s, ctx);
            continue;
        }

        if (ngx_mail_account_sasl_pending(&ctx->sasl)) {
            ngx_mail_pop3d_sasl_continue(s, ctx, &line);
            continue;
        }

        ngx_mail_pop3d_command(s, ctx, &line);
    }
}


static void
ngx_mail_pop3d_command(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *line)
{
    ngx_str_t                  arg;
    ngx_uint_t                 state;
    ngx_mail_pop3d_str_t       verb, parsed;
    ngx_mail_pop3d_command_t  *cmd;

    /* RFC 1939 3: anything but a keyword, SP and argument is unknown */
    if (ngx_mail_pop3d_parse_command(line->data, line->len, &verb, &parsed)
        != NGX_MAIL_POP3D_PARSE_OK)
    {
        goto unknown;
    }

    for (cmd = ngx_mail_pop3d_commands; cmd->handler; cmd++) {
        if (cmd->verb.len == verb.len
            && ngx_strncasecmp(cmd->verb.data, (u_char *) verb.data, verb.len)
               == 0)
        {
            break;
        }
    }

    if (cmd->handler == NULL) {
        goto unknown;
    }

    /* only AUTH carries more than RFC 2449's 255 octets */
    if (line->len > NGX_MAIL_POP3D_LINE_MAX
        && cmd->handler != ngx_mail_pop3d_cmd_auth)
    {
        (void) ngx_mail_server_printf(s, "-ERR Line too long");
        ngx_mail_pop3d_error(s, ctx);
        return;
    }

    state = (ctx->state == ngx_mail_pop3d_authorization)
            ? NGX_MAIL_POP3D_AUTHORIZATION : NGX_MAIL_POP3D_TRANSACTION;

    if (!(cmd->states & state)) {
        (void) ngx_mail_server_printf(s, "-ERR Command not valid in this "
                                         "state");
        ngx_mail_pop3d_error(s, ctx);
        return;
    }

    if (ctx->state == ngx_mail_pop3d_transaction) {
        ngx_mail_pop3d_renew(ctx, s->connection->log);
    }

    arg.data = (u_char *) parsed.data;
    arg.len = parsed.len;

    if (cmd->handler(s, ctx, &arg) != NGX_OK) {
        ngx_mail_pop3d_error(s, ctx);
    }

    return;

unknown:

    (void) ngx_mail_server_printf(s, "-ERR Unknown command");
    ngx_mail_pop3d_error(s, ctx);
}


void
ngx_mail_pop3d_error(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx)
{
    if (++ctx->errors < NGX_MAIL_POP3D_MAX_ERRORS) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                  "too many errors, closing");

    (void) ngx_mail_server_printf(s, "-ERR Too many bad commands");
    ngx_mail_server_io(s)->quit = 1;
}


/* the reply to a command that waited, and on with the session */

void
ngx_mail_pop3d_done(ngx_mail_session_t *s)
{
    ngx_mail_server_io(s)->busy = 0;
    ngx_mail_server_resume(s);
}


/* RFC 2449 5: what this server does, in the state the session is in */

static ngx_int_t
ngx_mail_pop3d_cmd_capa(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    (void) ngx_mail_server_printf(s, "+OK Capability list follows");
    (void) ngx_mail_server_printf(s, "TOP");
    (void) ngx_mail_server_printf(s, "UIDL");
    (void) ngx_mail_server_printf(s, "RESP-CODES");
    (void) ngx_mail_server_printf(s, "AUTH-RESP-CODE");
    (void) ngx_mail_server_printf(s, "PIPELINING");

    if (ctx->state == ngx_mail_pop3d_authorization) {

        if (ngx_mail_pop3d_auth_offered(s)) {
            (void) ngx_mail_server_printf(s, "USER");
            (void) ngx_mail_server_printf(s, "SASL PLAIN LOGIN");
        }

        if (ngx_mail_server_starttls_offered(s)) {
            (void) ngx_mail_server_printf(s, "STLS");
        }
    }

    (void) ngx_mail_server_printf(s, "IMPLEMENTATION nginx-mailserver");

    return ngx_mail_server_printf(s, ".");
}


static ngx_int_t
ngx_mail_pop3d_cmd_stls(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    if (!ngx_mail_server_starttls_offered(s)) {
        (void) ngx_mail_server_printf(s, "-ERR STLS not available");
        return NGX_ERROR;
    }

    /* RFC 2595 4 and CVE-2011-0411: nothing sent before TLS runs after */
    ngx_mail_server_discard_input(s);
    ngx_mail_server_io(s)->starttls = 1;

    return ngx_mail_server_printf(s, "+OK Begin TLS negotiation");
}


static ngx_int_t
ngx_mail_pop3d_cmd_noop(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    return ngx_mail_server_printf(s, "+OK");
}


/* RFC 1939 6: QUIT in TRANSACTION enters UPDATE: deletions happen now */

static ngx_int_t
ngx_mail_pop3d_cmd_quit(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    if (ctx->state == ngx_mail_pop3d_transaction) {
        return ngx_mail_pop3d_cmd_update(s, ctx);
    }

    ngx_mail_server_io(s)->quit = 1;

    return ngx_mail_server_printf(s, "+OK Logging out");
}


static void
ngx_mail_pop3d_cleanup(void *data)
{
    ngx_mail_session_t  *s = data;

    ngx_mail_pop3d_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_pop3d_module);

    if (ctx) {
        ngx_mail_pop3d_release(ctx, s->connection->log);
    }
}
