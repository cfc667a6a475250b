
/*
 * IMAP logins: LOGIN (RFC 3501 6.2.3) and AUTHENTICATE PLAIN and LOGIN
 * (RFC 3501 6.2.2) with initial responses (RFC 4959 SASL-IR).  The checks
 * are ngx_mail_account_auth(): Redis and a thread pool.  Response codes
 * are RFC 5530's.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_account.h"
#include "ngx_mail_imapd.h"


static ngx_int_t ngx_mail_imapd_sasl(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_int_t rc, ngx_str_t *challenge,
    ngx_str_t *login, ngx_str_t *password);
static ngx_int_t ngx_mail_imapd_check(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_str_t *login, ngx_str_t *password);
static void ngx_mail_imapd_auth_done(ngx_mail_session_t *s, ngx_int_t rc);


/*
 * Credentials go in clear text only over TLS, unless the admin says so;
 * with "starttls only", never before TLS.
 */

ngx_flag_t
ngx_mail_imapd_auth_offered(ngx_mail_session_t *s)
{
    ngx_mail_imapd_srv_conf_t  *iscf;

    if (s->connection->ssl) {
        return 1;
    }

    if (ngx_mail_server_tls_required(s)) {
        return 0;
    }

    iscf = ngx_mail_get_module_srv_conf(s, ngx_mail_imapd_module);

    return iscf->auth_plaintext;
}


ngx_int_t
ngx_mail_imapd_cmd_login(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    ngx_str_t  login, password;

    /* RFC 3501 6.2.3: LOGINDISABLED was announced */
    if (!ngx_mail_imapd_auth_offered(s)) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [PRIVACYREQUIRED] Plaintext "
                                             "authentication disallowed on "
                                             "non-secure connections");
        return NGX_ERROR;
    }

    if (ngx_mail_imapd_arg_string(ctx, 0, &login) != NGX_OK
        || ngx_mail_imapd_arg_string(ctx, 1, &password) != NGX_OK)
    {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
        return NGX_ERROR;
    }

    return ngx_mail_imapd_check(s, ctx, &login, &password);
}


ngx_int_t
ngx_mail_imapd_cmd_authenticate(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx)
{
    ngx_int_t               rc;
    ngx_str_t               mechanism, initial, challenge, login, password;
    ngx_mail_imapd_node_t  *node;

    if (!ngx_mail_imapd_auth_offered(s)) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [PRIVACYREQUIRED] Plaintext "
                                             "authentication disallowed on "
                                             "non-secure connections");
        return NGX_ERROR;
    }

    node = ngx_mail_imapd_arg(ctx, 0);

    if (node->type != NGX_MAIL_IMAPD_NODE_ATOM
        || ngx_mail_imapd_arg_string(ctx, 0, &mechanism) != NGX_OK)
    {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
        return NGX_ERROR;
    }

    ngx_str_null(&initial);

    /* RFC 4959 3: the initial response is base64, "=" when empty */
    if (ctx->parser.nargs == 2) {
        node = ngx_mail_imapd_arg(ctx, 1);

        if (node->type != NGX_MAIL_IMAPD_NODE_ATOM
            || ngx_mail_imapd_arg_string(ctx, 1, &initial) != NGX_OK)
        {
            (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
            return NGX_ERROR;
        }
    }

    rc = ngx_mail_account_sasl_start(&ctx->sasl, s->connection->pool,
                                     &mechanism, &initial, &challenge, &login,
                                     &password);

    return ngx_mail_imapd_sasl(s, ctx, rc, &challenge, &login, &password);
}


/* a line that answers a "+ " continuation request */

void
ngx_mail_imapd_sasl_continue(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_str_t *line)
{
    ngx_int_t  rc;
    ngx_str_t  challenge, login, password;

    rc = ngx_mail_account_sasl_step(&ctx->sasl, s->connection->pool, line,
                                    &challenge, &login, &password);

    if (ngx_mail_imapd_sasl(s, ctx, rc, &challenge, &login, &password)
        != NGX_OK)
    {
        ngx_mail_imapd_error(s, ctx);
    }
}


/* what a step of the SASL exchange means in IMAP (RFC 3501 6.2.2) */

static ngx_int_t
ngx_mail_imapd_sasl(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    ngx_int_t rc, ngx_str_t *challenge, ngx_str_t *login, ngx_str_t *password)
{
    switch (rc) {

    case NGX_AGAIN:
        return ngx_mail_imapd_printf(s, ctx, "+ %V", challenge);

    case NGX_OK:
        return ngx_mail_imapd_check(s, ctx, login, password);

    case NGX_DECLINED:
        (void) ngx_mail_imapd_tagged(s, ctx, "NO Unsupported authentication "
                                             "mechanism");
        return NGX_ERROR;

    case NGX_ABORT:
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Authentication cancelled");
        return NGX_ERROR;

    case NGX_DONE:
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [AUTHENTICATIONFAILED] "
                                             "Authentication failed");
        return NGX_ERROR;

    default: /* NGX_ERROR */
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid base64 data");
        return NGX_ERROR;
    }
}


static ngx_int_t
ngx_mail_imapd_check(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    ngx_str_t *login, ngx_str_t *password)
{
    ngx_int_t              rc;
    ngx_mail_server_io_t  *io;

    if (password->len == 0 || login->len == 0) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [AUTHENTICATIONFAILED] "
                                             "Authentication failed");
        return NGX_ERROR;
    }

    io = ngx_mail_server_io(s);
    io->busy = 1;

    rc = ngx_mail_account_auth(s, login, password, ngx_mail_imapd_auth_done);
    ngx_explicit_memzero(password->data, password->len);

    if (rc != NGX_OK) {
        io->busy = 0;
        return ngx_mail_imapd_tagged(s, ctx, "NO [UNAVAILABLE] Temporary "
                                             "authentication failure");
    }

    return NGX_OK;
}


static void
ngx_mail_imapd_auth_done(ngx_mail_session_t *s, ngx_int_t rc)
{
    u_char                *p, caps[512];
    ngx_mail_imapd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    switch (rc) {

    case NGX_OK:
        ctx->state = ngx_mail_imapd_authenticated;

        /* RFC 3501 7.2.1: the capabilities change with the state */
        p = ngx_mail_imapd_capabilities(s, ctx, caps);

        (void) ngx_mail_imapd_printf(s, ctx, "%V OK [CAPABILITY %*s] Logged in",
                                      &ctx->tag, p - caps, caps);
        break;

    case NGX_DECLINED:
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [AUTHENTICATIONFAILED] "
                                             "Authentication failed");
        ngx_mail_imapd_error(s, ctx);
        break;

    case NGX_BUSY:
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [AUTHENTICATIONFAILED] "
                                             "Too many failed logins, try "
                                             "again later");
        ngx_mail_imapd_error(s, ctx);
        break;

    default: /* NGX_ERROR */
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [UNAVAILABLE] Temporary "
                                             "authentication failure");
        break;
    }

    ngx_mail_imapd_done(s);
}
