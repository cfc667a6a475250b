
/*
 * The SMTP session: greeting, the command loop and the handler of every
 * command except AUTH (ngx_mail_smtpd_auth.c).  Each command's handler is
 * ngx_mail_smtpd_cmd_<verb>().
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_smtpd.h"


/* the command may be used before STARTTLS where TLS is required */
#define NGX_MAIL_SMTPD_BEFORE_TLS  0x01


typedef struct {
    ngx_str_t                   verb;
    ngx_mail_smtpd_cmd_pt       handler;
    ngx_uint_t                  flags;
} ngx_mail_smtpd_command_t;


static void ngx_mail_smtpd_process(ngx_mail_session_t *s);
static void ngx_mail_smtpd_command(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *line);

static ngx_int_t ngx_mail_smtpd_cmd_helo(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);
static ngx_int_t ngx_mail_smtpd_cmd_ehlo(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);
static ngx_int_t ngx_mail_smtpd_cmd_starttls(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);
static ngx_int_t ngx_mail_smtpd_cmd_noop(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);
static ngx_int_t ngx_mail_smtpd_cmd_rset(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);
static ngx_int_t ngx_mail_smtpd_cmd_quit(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);
static ngx_int_t ngx_mail_smtpd_cmd_help(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);
static ngx_int_t ngx_mail_smtpd_cmd_vrfy(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);
static ngx_int_t ngx_mail_smtpd_cmd_expn(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);
static void ngx_mail_smtpd_discard(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx);
static void ngx_mail_smtpd_cleanup(void *data);


static ngx_mail_smtpd_command_t  ngx_mail_smtpd_commands[] = {
    { ngx_string("EHLO"), ngx_mail_smtpd_cmd_ehlo, NGX_MAIL_SMTPD_BEFORE_TLS },
    { ngx_string("HELO"), ngx_mail_smtpd_cmd_helo, NGX_MAIL_SMTPD_BEFORE_TLS },
    { ngx_string("STARTTLS"), ngx_mail_smtpd_cmd_starttls,
      NGX_MAIL_SMTPD_BEFORE_TLS },
    { ngx_string("AUTH"), ngx_mail_smtpd_cmd_auth, 0 },
    { ngx_string("NOOP"), ngx_mail_smtpd_cmd_noop, NGX_MAIL_SMTPD_BEFORE_TLS },
    { ngx_string("RSET"), ngx_mail_smtpd_cmd_rset, NGX_MAIL_SMTPD_BEFORE_TLS },
    { ngx_string("QUIT"), ngx_mail_smtpd_cmd_quit, NGX_MAIL_SMTPD_BEFORE_TLS },
    { ngx_string("HELP"), ngx_mail_smtpd_cmd_help, NGX_MAIL_SMTPD_BEFORE_TLS },
    { ngx_string("VRFY"), ngx_mail_smtpd_cmd_vrfy, 0 },
    { ngx_string("EXPN"), ngx_mail_smtpd_cmd_expn, 0 },
    { ngx_string("MAIL"), ngx_mail_smtpd_cmd_mail, 0 },
    { ngx_string("RCPT"), ngx_mail_smtpd_cmd_rcpt, 0 },
    { ngx_string("DATA"), ngx_mail_smtpd_cmd_data, 0 },
    { ngx_string("BDAT"), ngx_mail_smtpd_cmd_bdat, 0 },
    { ngx_null_string, NULL, 0 }
};


void
ngx_mail_smtpd_init_session(ngx_mail_session_t *s, ngx_connection_t *c)
{
    u_char                    *p;
    ngx_pool_cleanup_t        *cln;
    ngx_mail_server_io_t      *io;
    ngx_mail_smtpd_ctx_t      *ctx;
    ngx_mail_core_srv_conf_t  *cscf;

    cscf = ngx_mail_get_module_srv_conf(s, ngx_mail_core_module);

    ctx = ngx_pcalloc(c->pool, sizeof(ngx_mail_smtpd_ctx_t));
    if (ctx == NULL) {
        ngx_mail_close_connection(c);
        return;
    }

    ngx_mail_set_ctx(s, ctx, ngx_mail_smtpd_module);

    cln = ngx_pool_cleanup_add(c->pool, 0);
    if (cln == NULL) {
        ngx_mail_close_connection(c);
        return;
    }

    /* a transaction has a pool, and maybe a spool in Redis, of its own */
    cln->handler = ngx_mail_smtpd_cleanup;
    cln->data = ctx;

    /* room for one AUTH line and pipelined commands behind it */
    io = ngx_mail_server_io_create(s, 2 * NGX_MAIL_SMTPD_AUTH_LINE_MAX,
                                   8192, NGX_MAIL_SMTPD_AUTH_LINE_MAX,
                                   ngx_mail_smtpd_process);
    if (io == NULL) {
        ngx_mail_close_connection(c);
        return;
    }

    p = ngx_pnalloc(c->pool, 2 * cscf->server_name.len + 128);
    if (p == NULL) {
        ngx_mail_close_connection(c);
        return;
    }

    io->timeout_reply.data = p;
    p = ngx_sprintf(p, "421 4.4.2 %V Error: timeout exceeded" CRLF,
                    &cscf->server_name);
    io->timeout_reply.len = p - io->timeout_reply.data;

    io->shutdown_reply.data = p;
    p = ngx_sprintf(p, "421 4.3.2 %V Service shutting down" CRLF,
                    &cscf->server_name);
    io->shutdown_reply.len = p - io->shutdown_reply.data;

    if (ngx_mail_smtpd_resolve_client(s) != NGX_OK) {
        ngx_mail_smtpd_greeting(s);
    }
}


void
ngx_mail_smtpd_greeting(ngx_mail_session_t *s)
{
    ngx_mail_core_srv_conf_t  *cscf;

    cscf = ngx_mail_get_module_srv_conf(s, ngx_mail_core_module);

    s->connection->log->action = "in SMTP session";

    (void) ngx_mail_server_printf(s, "220 %V ESMTP", &cscf->server_name);

    ngx_mail_server_flush(s);
}


/* after the STARTTLS handshake */

void
ngx_mail_smtpd_init_protocol(ngx_event_t *rev)
{
    ngx_connection_t      *c;
    ngx_mail_session_t    *s;
    ngx_mail_smtpd_ctx_t  *ctx;

    c = rev->data;
    s = c->data;

    c->read->handler = ngx_mail_server_read_handler;
    c->write->handler = ngx_mail_server_write_handler;
    c->log->action = "in SMTP session";

    /* RFC 3207 4.2: forget everything the client said before TLS */
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);
    ngx_str_null(&ctx->helo);
    ctx->esmtp = 0;
    ngx_mail_smtpd_tx_end(ctx);
    ctx->sasl.step = 0;

    ngx_mail_server_resume(s);
}


static void
ngx_mail_smtpd_process(ngx_mail_session_t *s)
{
    ngx_int_t              rc;
    ngx_str_t              line;
    ngx_mail_server_io_t  *io;
    ngx_mail_smtpd_ctx_t  *ctx;

    io = ngx_mail_server_io(s);
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);

    while (!io->busy && !io->quit && !io->starttls) {

        if (ctx->discard) {
            if (s->buffer->pos == s->buffer->last) {
                return;
            }

            ngx_mail_smtpd_discard(s, ctx);
            continue;
        }

        if (ctx->tx && ctx->tx->receiving) {
            if (s->buffer->pos == s->buffer->last
                && !(ctx->tx->bdat && ctx->tx->bdat_left == 0))
            {
                return;
            }

            ngx_mail_smtpd_message_input(s, ctx);
            continue;
        }

        rc = ngx_mail_server_next_line(s, &line);

        if (rc == NGX_AGAIN) {
            return;
        }

        if (rc == NGX_DECLINED) {
            ctx->sasl.step = 0;
            (void) ngx_mail_server_printf(s, "500 5.5.2 Error: line too long");
            ngx_mail_smtpd_error(s, ctx);
            continue;
        }

        if (ngx_mail_account_sasl_pending(&ctx->sasl)) {
            ngx_mail_smtpd_auth_continue(s, ctx, &line);
            continue;
        }

        ngx_mail_smtpd_command(s, ctx, &line);
    }
}


static void
ngx_mail_smtpd_command(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *line)
{
    ngx_str_t                  verb, arg;
    ngx_mail_smtpd_command_t  *cmd;

    if (ngx_mail_smtpd_parse_command(line, &verb, &arg) != NGX_OK) {
        (void) ngx_mail_server_printf(s,
                                   "500 5.5.2 Error: command not recognized");
        ngx_mail_smtpd_error(s, ctx);
        return;
    }

    for (cmd = ngx_mail_smtpd_commands; cmd->handler; cmd++) {
        if (cmd->verb.len == verb.len
            && ngx_strncasecmp(cmd->verb.data, verb.data, verb.len) == 0)
        {
            break;
        }
    }

    if (cmd->handler == NULL) {
        (void) ngx_mail_server_printf(s,
                                   "502 5.5.2 Error: command not recognized");
        ngx_mail_smtpd_error(s, ctx);
        return;
    }

    /* only AUTH may carry the long lines RFC 4954 allows */
    if (line->len > NGX_MAIL_SMTPD_LINE_MAX
        && cmd->handler != ngx_mail_smtpd_cmd_auth)
    {
        (void) ngx_mail_server_printf(s, "500 5.5.2 Error: line too long");
        goto refused;
    }

    if (!(cmd->flags & NGX_MAIL_SMTPD_BEFORE_TLS)
        && ngx_mail_server_tls_required(s))
    {
        (void) ngx_mail_server_printf(s,
                              "530 5.7.0 Must issue a STARTTLS command first");
        goto refused;
    }

    if (cmd->handler(s, ctx, &arg) != NGX_OK) {
        ngx_mail_smtpd_error(s, ctx);
    }

    return;

refused:

    if (cmd->handler == ngx_mail_smtpd_cmd_bdat) {
        ngx_mail_smtpd_bdat_refused(ctx, &arg);
    }

    ngx_mail_smtpd_error(s, ctx);
}


/* RFC 3030 2: the bytes of a refused BDAT chunk are read and dropped */

static void
ngx_mail_smtpd_discard(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx)
{
    size_t      n;
    ngx_buf_t  *b;

    b = s->buffer;
    n = ngx_min((size_t) (b->last - b->pos), (size_t) ctx->discard);

    b->pos += n;
    ctx->discard -= n;
}


/* a client that keeps getting errors is cut off, as Postfix does */

void
ngx_mail_smtpd_error(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx)
{
    ngx_mail_server_io_t       *io;
    ngx_mail_core_srv_conf_t   *cscf;
    ngx_mail_smtpd_srv_conf_t  *sscf;

    cscf = ngx_mail_get_module_srv_conf(s, ngx_mail_core_module);
    sscf = ngx_mail_get_module_srv_conf(s, ngx_mail_smtpd_module);

    if (++ctx->errors < sscf->hard_error_limit) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                  "too many errors, closing");

    (void) ngx_mail_server_printf(s, "421 4.7.0 %V Error: too many errors",
                                &cscf->server_name);

    io = ngx_mail_server_io(s);
    io->quit = 1;
}


/* RFC 5321 4.1.4: HELO and EHLO reset the transaction */

static ngx_int_t
ngx_mail_smtpd_set_helo(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg, ngx_flag_t esmtp)
{
    ctx->helo.data = ngx_pstrdup(s->connection->pool, arg);
    if (ctx->helo.data == NULL) {
        return NGX_ERROR;
    }

    ctx->helo.len = arg->len;
    ctx->esmtp = esmtp;

    ngx_mail_smtpd_tx_end(ctx);

    return NGX_OK;
}


static ngx_int_t
ngx_mail_smtpd_cmd_helo(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg)
{
    ngx_mail_core_srv_conf_t  *cscf;

    if (arg->len == 0) {
        (void) ngx_mail_server_printf(s, "501 5.5.4 Syntax: HELO hostname");
        return NGX_ERROR;
    }

    if (ngx_mail_smtpd_set_helo(s, ctx, arg, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    cscf = ngx_mail_get_module_srv_conf(s, ngx_mail_core_module);

    return ngx_mail_server_printf(s, "250 %V", &cscf->server_name);
}


static ngx_int_t
ngx_mail_smtpd_cmd_ehlo(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg)
{
    ngx_mail_core_srv_conf_t   *cscf;
    ngx_mail_smtpd_srv_conf_t  *sscf;

    if (arg->len == 0) {
        (void) ngx_mail_server_printf(s, "501 5.5.4 Syntax: EHLO hostname");
        return NGX_ERROR;
    }

    if (ngx_mail_smtpd_set_helo(s, ctx, arg, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    cscf = ngx_mail_get_module_srv_conf(s, ngx_mail_core_module);
    sscf = ngx_mail_get_module_srv_conf(s, ngx_mail_smtpd_module);

    (void) ngx_mail_server_printf(s, "250-%V", &cscf->server_name);
    (void) ngx_mail_server_printf(s, "250-PIPELINING");
    (void) ngx_mail_server_printf(s, "250-SIZE %uz", sscf->max_message_size);

    if (ngx_mail_server_starttls_offered(s)) {
        (void) ngx_mail_server_printf(s, "250-STARTTLS");
    }

    if (ngx_mail_smtpd_auth_offered(s)) {
        (void) ngx_mail_server_printf(s, "250-AUTH PLAIN LOGIN");
    }

    (void) ngx_mail_server_printf(s, "250-ENHANCEDSTATUSCODES");
    (void) ngx_mail_server_printf(s, "250-8BITMIME");
    (void) ngx_mail_server_printf(s, "250-DSN");
    (void) ngx_mail_server_printf(s, "250-SMTPUTF8");

    return ngx_mail_server_printf(s, "250 CHUNKING");
}


static ngx_int_t
ngx_mail_smtpd_cmd_starttls(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg)
{
    ngx_mail_server_io_t  *io;

    if (s->connection->ssl) {
        /* as Postfix answers */
        (void) ngx_mail_server_printf(s, "554 5.5.1 Error: TLS already "
                                         "active");
        return NGX_ERROR;
    }

    if (!ngx_mail_server_starttls_offered(s)) {
        (void) ngx_mail_server_printf(s, "502 5.5.1 Error: STARTTLS not "
                                         "available");
        return NGX_ERROR;
    }

    if (arg->len) {
        (void) ngx_mail_server_printf(s, "501 5.5.4 Syntax: STARTTLS");
        return NGX_ERROR;
    }

    /*
     * RFC 3207 4.2 and CVE-2011-0411: commands the client pipelined
     * behind STARTTLS were sent in clear text and must not run after the
     * handshake
     */
    ngx_mail_server_discard_input(s);

    io = ngx_mail_server_io(s);
    io->starttls = 1;

    return ngx_mail_server_printf(s, "220 2.0.0 Ready to start TLS");
}


static ngx_int_t
ngx_mail_smtpd_cmd_noop(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg)
{
    return ngx_mail_server_printf(s, "250 2.0.0 Ok");
}


static ngx_int_t
ngx_mail_smtpd_cmd_rset(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg)
{
    if (arg->len) {
        (void) ngx_mail_server_printf(s, "501 5.5.4 Syntax: RSET");
        return NGX_ERROR;
    }

    ngx_mail_smtpd_tx_end(ctx);

    return ngx_mail_server_printf(s, "250 2.0.0 Ok");
}


static ngx_int_t
ngx_mail_smtpd_cmd_quit(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg)
{
    ngx_mail_server_io_t  *io;

    io = ngx_mail_server_io(s);
    io->quit = 1;

    return ngx_mail_server_printf(s, "221 2.0.0 Bye");
}


static ngx_int_t
ngx_mail_smtpd_cmd_help(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg)
{
    (void) ngx_mail_server_printf(s, "214-2.0.0 Commands: EHLO HELO STARTTLS "
                                     "AUTH MAIL RCPT DATA BDAT");
    (void) ngx_mail_server_printf(s, "214-2.0.0   RSET NOOP QUIT HELP "
                                     "VRFY EXPN");

    return ngx_mail_server_printf(s, "214 2.0.0 End of HELP info");
}


/* RFC 5321 3.5.3: 252 is the answer that tells nothing about users */

static ngx_int_t
ngx_mail_smtpd_cmd_vrfy(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg)
{
    if (arg->len == 0) {
        (void) ngx_mail_server_printf(s, "501 5.5.4 Syntax: VRFY address");
        return NGX_ERROR;
    }

    return ngx_mail_server_printf(s, "252 2.0.0 Cannot VRFY user, but will "
                                     "accept message and attempt delivery");
}


static ngx_int_t
ngx_mail_smtpd_cmd_expn(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg)
{
    /* expanding lists would tell strangers who is on them */
    (void) ngx_mail_server_printf(s, "502 5.5.1 Error: EXPN not available");
    return NGX_OK;
}


static void
ngx_mail_smtpd_cleanup(void *data)
{
    ngx_mail_smtpd_ctx_t  *ctx = data;

    ngx_mail_smtpd_tx_end(ctx);
}
