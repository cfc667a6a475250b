
/*
 * SMTP AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms.
 * The check itself is ngx_mail_account_auth(): Redis and a thread pool.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_account.h"
#include "ngx_mail_smtpd.h"


static ngx_int_t ngx_mail_smtpd_sasl(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_int_t rc, ngx_str_t *challenge,
    ngx_str_t *login, ngx_str_t *password);
static ngx_int_t ngx_mail_smtpd_auth_check(ngx_mail_session_t *s,
    ngx_str_t *login, ngx_str_t *password);
static void ngx_mail_smtpd_auth_done(ngx_mail_session_t *s, ngx_int_t rc);


/* credentials go in clear text only over TLS, unless the admin says so */

ngx_flag_t
ngx_mail_smtpd_auth_offered(ngx_mail_session_t *s)
{
    ngx_mail_smtpd_srv_conf_t  *sscf;

    if (s->connection->ssl) {
        return 1;
    }

    sscf = ngx_mail_get_module_srv_conf(s, ngx_mail_smtpd_module);

    return sscf->auth_plaintext;
}


ngx_int_t
ngx_mail_smtpd_cmd_auth(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg)
{
    u_char     *sp;
    ngx_int_t   rc;
    ngx_str_t   mechanism, initial, challenge, login, password;

    if (!ngx_mail_smtpd_auth_offered(s)) {
        (void) ngx_mail_server_printf(s, "503 5.5.1 Error: authentication "
                                         "not enabled");
        return NGX_ERROR;
    }

    if (!ctx->esmtp) {
        (void) ngx_mail_server_printf(s, "503 5.5.1 Error: send EHLO first");
        return NGX_ERROR;
    }

    if (ctx->authenticated) {
        (void) ngx_mail_server_printf(s, "503 5.5.1 Error: already "
                                         "authenticated");
        return NGX_ERROR;
    }

    /* RFC 4954 4: not during a mail transaction */
    if (ctx->tx) {
        (void) ngx_mail_server_printf(s, "503 5.5.1 Error: MAIL transaction "
                                         "in progress");
        return NGX_ERROR;
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

    if (mechanism.len == 0) {
        (void) ngx_mail_server_printf(s, "501 5.5.4 Syntax: AUTH mechanism");
        return NGX_ERROR;
    }

    rc = ngx_mail_account_sasl_start(&ctx->sasl, s->connection->pool,
                                     &mechanism, &initial, &challenge, &login,
                                     &password);

    return ngx_mail_smtpd_sasl(s, ctx, rc, &challenge, &login, &password);
}


/* a line that answers a 334 challenge */

void
ngx_mail_smtpd_auth_continue(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *line)
{
    ngx_int_t  rc;
    ngx_str_t  challenge, login, password;

    rc = ngx_mail_account_sasl_step(&ctx->sasl, s->connection->pool, line,
                                    &challenge, &login, &password);

    if (ngx_mail_smtpd_sasl(s, ctx, rc, &challenge, &login, &password)
        != NGX_OK)
    {
        ngx_mail_smtpd_error(s, ctx);
    }
}


/* what a step of the SASL exchange means in SMTP (RFC 4954 4, 6) */

static ngx_int_t
ngx_mail_smtpd_sasl(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_int_t rc, ngx_str_t *challenge, ngx_str_t *login,
    ngx_str_t *password)
{
    switch (rc) {

    case NGX_AGAIN:
        return ngx_mail_server_printf(s, "334 %V", challenge);

    case NGX_OK:
        return ngx_mail_smtpd_auth_check(s, login, password);

    case NGX_DECLINED:
        (void) ngx_mail_server_printf(s, "504 5.5.4 Unrecognized "
                                         "authentication type");
        return NGX_ERROR;

    case NGX_ABORT:
        (void) ngx_mail_server_printf(s, "501 5.7.0 Authentication "
                                         "aborted");
        return NGX_ERROR;

    case NGX_DONE:
        (void) ngx_mail_server_printf(s, "535 5.7.8 Authentication "
                                         "credentials invalid");
        return NGX_ERROR;

    default: /* NGX_ERROR */
        (void) ngx_mail_server_printf(s, "501 5.5.2 Cannot decode "
                                         "response");
        return NGX_ERROR;
    }
}


static ngx_int_t
ngx_mail_smtpd_auth_check(ngx_mail_session_t *s, ngx_str_t *login,
    ngx_str_t *password)
{
    ngx_int_t              rc;
    ngx_mail_server_io_t  *io;

    io = ngx_mail_server_io(s);
    io->busy = 1;

    rc = ngx_mail_account_auth(s, login, password, ngx_mail_smtpd_auth_done);

    ngx_explicit_memzero(password->data, password->len);

    if (rc != NGX_OK) {
        io->busy = 0;
        return ngx_mail_server_printf(s, "454 4.7.0 Temporary authentication "
                                         "failure");
    }

    return NGX_OK;
}


static void
ngx_mail_smtpd_auth_done(ngx_mail_session_t *s, ngx_int_t rc)
{
    ngx_mail_server_io_t  *io;
    ngx_mail_smtpd_ctx_t  *ctx;

    io = ngx_mail_server_io(s);
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);

    io->busy = 0;

    switch (rc) {

    case NGX_OK:
        ctx->authenticated = 1;
        (void) ngx_mail_server_printf(s, "235 2.7.0 Authentication successful");
        break;

    case NGX_DECLINED:
        (void) ngx_mail_server_printf(s, "535 5.7.8 Authentication "
                                         "credentials invalid");
        ngx_mail_smtpd_error(s, ctx);
        break;

    case NGX_BUSY:
        (void) ngx_mail_server_printf(s, "454 4.7.0 Too many failed logins, "
                                         "try again later");
        ngx_mail_smtpd_error(s, ctx);
        break;

    default: /* NGX_ERROR */
        (void) ngx_mail_server_printf(s, "454 4.7.0 Temporary authentication "
                                         "failure");
        break;
    }

    ngx_mail_server_resume(s);
}
