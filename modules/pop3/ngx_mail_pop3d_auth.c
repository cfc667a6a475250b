
/*
 * POP3 logins: USER/PASS (RFC 1939 7), AUTH PLAIN and LOGIN with initial
 * responses (RFC 5034), and APOP (RFC 1939 7) for users given an APOP
 * secret.  The checks are ngx_mail_account_auth(): Redis and a thread
 * pool; a good login goes on to open the maildrop.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_account.h"
#include "ngx_mail_pop3d.h"


static ngx_int_t ngx_mail_pop3d_sasl(ngx_mail_session_t *s, ngx_int_t rc,
    ngx_str_t *challenge, ngx_str_t *login, ngx_str_t *password);
static ngx_int_t ngx_mail_pop3d_check(ngx_mail_session_t *s,
    ngx_str_t *login, ngx_str_t *password, ngx_str_t *apop_stamp);
static void ngx_mail_pop3d_auth_done(ngx_mail_session_t *s, ngx_int_t rc);


/* credentials go in clear text only over TLS, unless the admin says so */

ngx_flag_t
ngx_mail_pop3d_auth_offered(ngx_mail_session_t *s)
{
    ngx_mail_pop3d_srv_conf_t  *pscf;

    if (s->connection->ssl) {
        return 1;
    }

    pscf = ngx_mail_get_module_srv_conf(s, ngx_mail_pop3d_module);

    return pscf->auth_plaintext;
}


ngx_int_t
ngx_mail_pop3d_cmd_user(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    if (!ngx_mail_pop3d_auth_offered(s)) {
        (void) ngx_mail_server_printf(s, "-ERR [AUTH] Plaintext authentication "
                                         "disallowed on non-secure "
                                         "connections");
        return NGX_ERROR;
    }

    if (arg->len == 0) {
        (void) ngx_mail_server_printf(s, "-ERR Syntax: USER name");
        return NGX_ERROR;
    }

    ctx->user.data = ngx_pstrdup(s->connection->pool, arg);
    if (ctx->user.data == NULL) {
        return NGX_ERROR;
    }

    ctx->user.len = arg->len;

    return ngx_mail_server_printf(s, "+OK");
}


ngx_int_t
ngx_mail_pop3d_cmd_pass(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    ngx_str_t  user;

    if (ctx->user.len == 0) {
        (void) ngx_mail_server_printf(s, "-ERR No username given");
        return NGX_ERROR;
    }

    /* RFC 1939 7: the password is the rest of the line, spaces and all */
    if (arg->len == 0) {
        (void) ngx_mail_server_printf(s, "-ERR Syntax: PASS password");
        return NGX_ERROR;
    }

    user = ctx->user;
    ngx_str_null(&ctx->user);

    return ngx_mail_pop3d_check(s, &user, arg, NULL);
}


/* AUTH with no argument lists the mechanisms, as clients expect */

ngx_int_t
ngx_mail_pop3d_cmd_auth(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    u_char     *sp;
    ngx_int_t   rc;
    ngx_str_t   mechanism, initial, challenge, login, password;

    if (!ngx_mail_pop3d_auth_offered(s)) {
        (void) ngx_mail_server_printf(s, "-ERR [AUTH] Plaintext authentication "
                                         "disallowed on non-secure "
                                         "connections");
        return NGX_ERROR;
    }

    if (arg->len == 0) {
        (void) ngx_mail_server_printf(s, "+OK");
        (void) ngx_mail_server_printf(s, "PLAIN");
        (void) ngx_mail_server_printf(s, "LOGIN");
        return ngx_mail_server_printf(s, ".");
    }

    sp = ngx_strlchr(arg->data, arg->data + arg->len, ' ');

    mechanism.data = arg->data;
    mechanism.len = sp ? (size_t) (sp - arg->data) : arg->len;

    if (sp) {
        initial.data = sp + 1;
        initial.len = arg->data + arg->len - initial.data;

    } else {
        ngx_str_null(&initial);
    }

    rc = ngx_mail_account_sasl_start(&ctx->sasl, s->connection->pool,
                                     &mechanism, &initial, &challenge, &login,
                                     &password);

    return ngx_mail_pop3d_sasl(s, rc, &challenge, &login, &password);
}


/* a line that answers a "+ " challenge */

void
ngx_mail_pop3d_sasl_continue(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *line)
{
    ngx_int_t  rc;
    ngx_str_t  challenge, login, password;

    rc = ngx_mail_account_sasl_step(&ctx->sasl, s->connection->pool, line,
                                    &challenge, &login, &password);

    if (ngx_mail_pop3d_sasl(s, rc, &challenge, &login, &password) != NGX_OK) {
        ngx_mail_pop3d_error(s, ctx);
    }
}


/* what a step of the SASL exchange means in POP3 (RFC 5034 4) */

static ngx_int_t
ngx_mail_pop3d_sasl(ngx_mail_session_t *s, ngx_int_t rc, ngx_str_t *challenge,
    ngx_str_t *login, ngx_str_t *password)
{
    switch (rc) {

    case NGX_AGAIN:
        return ngx_mail_server_printf(s, "+ %V", challenge);

    case NGX_OK:
        return ngx_mail_pop3d_check(s, login, password, NULL);

    case NGX_DECLINED:
        (void) ngx_mail_server_printf(s, "-ERR Unsupported authentication "
                                         "mechanism");
        return NGX_ERROR;

    case NGX_ABORT:
        (void) ngx_mail_server_printf(s, "-ERR Authentication aborted");
        return NGX_ERROR;

    case NGX_DONE:
        (void) ngx_mail_server_printf(s, "-ERR [AUTH] Authentication "
                                         "failed");
        return NGX_ERROR;

    default: /* NGX_ERROR */
        (void) ngx_mail_server_printf(s, "-ERR Cannot decode response");
        return NGX_ERROR;
    }
}


/* APOP name digest: RFC 1939 7, offered only with "pop3d_apop on" */

ngx_int_t
ngx_mail_pop3d_cmd_apop(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    u_char     *sp;
    ngx_str_t   name, digest;

    if (ctx->apop_stamp.len == 0) {
        (void) ngx_mail_server_printf(s, "-ERR APOP not available");
        return NGX_ERROR;
    }

    sp = ngx_strlchr(arg->data, arg->data + arg->len, ' ');

    if (sp == NULL || sp == arg->data) {
        (void) ngx_mail_server_printf(s, "-ERR Syntax: APOP name digest");
        return NGX_ERROR;
    }

    name.data = arg->data;
    name.len = sp - arg->data;
    digest.data = sp + 1;
    digest.len = arg->data + arg->len - digest.data;

    if (digest.len != 32) {
        (void) ngx_mail_server_printf(s, "-ERR Syntax: APOP name digest");
        return NGX_ERROR;
    }

    return ngx_mail_pop3d_check(s, &name, &digest, &ctx->apop_stamp);
}


static ngx_int_t
ngx_mail_pop3d_check(ngx_mail_session_t *s, ngx_str_t *login,
    ngx_str_t *password, ngx_str_t *apop_stamp)
{
    ngx_int_t              rc;
    ngx_mail_server_io_t  *io;

    if (password->len == 0) {
        (void) ngx_mail_server_printf(s, "-ERR [AUTH] Authentication failed");
        return NGX_ERROR;
    }

    io = ngx_mail_server_io(s);
    io->busy = 1;

    if (apop_stamp) {
        rc = ngx_mail_account_apop(s, login, apop_stamp, password,
                                   ngx_mail_pop3d_auth_done);

    } else {
        rc = ngx_mail_account_auth(s, login, password,
                                   ngx_mail_pop3d_auth_done);
        ngx_explicit_memzero(password->data, password->len);
    }

    if (rc != NGX_OK) {
        io->busy = 0;
        return ngx_mail_server_printf(s, "-ERR [SYS/TEMP] Temporary "
                                         "authentication failure");
    }

    return NGX_OK;
}


static void
ngx_mail_pop3d_auth_done(ngx_mail_session_t *s, ngx_int_t rc)
{
    ngx_mail_pop3d_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_pop3d_module);

    switch (rc) {

    case NGX_OK:
        /* the reply waits for the maildrop */
        ngx_mail_pop3d_open_maildrop(s);
        return;

    case NGX_DECLINED:
        (void) ngx_mail_server_printf(s, "-ERR [AUTH] Authentication failed");
        ngx_mail_pop3d_error(s, ctx);
        break;

    case NGX_BUSY:
        (void) ngx_mail_server_printf(s, "-ERR [AUTH] Too many failed logins, "
                                         "try again later");
        ngx_mail_pop3d_error(s, ctx);
        break;

    default: /* NGX_ERROR */
        (void) ngx_mail_server_printf(s, "-ERR [SYS/TEMP] Temporary "
                                         "authentication failure");
        break;
    }

    ngx_mail_pop3d_done(s);
}
