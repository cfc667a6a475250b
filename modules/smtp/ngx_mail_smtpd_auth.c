
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


static ngx_int_t ngx_mail_smtpd_auth_plain(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *response);
static ngx_int_t ngx_mail_smtpd_auth_login_user(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *response);
static ngx_int_t ngx_mail_smtpd_auth_login_password(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *response);
static ngx_int_t ngx_mail_smtpd_auth_decode(ngx_mail_session_t *s,
    ngx_str_t *in, ngx_str_t *out);
static ngx_int_t ngx_mail_smtpd_auth_check(ngx_mail_session_t *s,
    ngx_str_t *login, ngx_str_t *password);
static void ngx_mail_smtpd_auth_done(ngx_mail_session_t *s, ngx_int_t rc);


/* RFC 4954 4: "Username:" and "Password:" in base64, as everybody sends */
#define NGX_MAIL_SMTPD_LOGIN_USER   "334 VXNlcm5hbWU6"
#define NGX_MAIL_SMTPD_LOGIN_PASS   "334 UGFzc3dvcmQ6"


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
    ngx_str_t   mechanism, initial;

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

    if (mechanism.len == 5
        && ngx_strncasecmp(mechanism.data, (u_char *) "PLAIN", 5) == 0)
    {
        if (initial.len == 0) {
            ctx->state = ngx_mail_smtpd_state_auth_plain;
            return ngx_mail_server_printf(s, "334 ");
        }

        return ngx_mail_smtpd_auth_plain(s, ctx, &initial);
    }

    if (mechanism.len == 5
        && ngx_strncasecmp(mechanism.data, (u_char *) "LOGIN", 5) == 0)
    {
        if (initial.len == 0) {
            ctx->state = ngx_mail_smtpd_state_auth_login_user;
            return ngx_mail_server_printf(s, NGX_MAIL_SMTPD_LOGIN_USER);
        }

        return ngx_mail_smtpd_auth_login_user(s, ctx, &initial);
    }

    if (mechanism.len == 0) {
        (void) ngx_mail_server_printf(s, "501 5.5.4 Syntax: AUTH mechanism");
        return NGX_ERROR;
    }

    (void) ngx_mail_server_printf(s, "504 5.5.4 Unrecognized authentication "
                                     "type");
    return NGX_ERROR;
}


/* a line that answers a 334 challenge */

void
ngx_mail_smtpd_auth_continue(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *line)
{
    ngx_int_t               rc;
    ngx_mail_smtpd_state_e  state;

    state = ctx->state;
    ctx->state = ngx_mail_smtpd_state_command;

    /* RFC 4954 4: a lone "*" cancels the exchange */
    if (line->len == 1 && line->data[0] == '*') {
        (void) ngx_mail_server_printf(s, "501 5.7.0 Authentication aborted");
        ngx_mail_smtpd_error(s, ctx);
        return;
    }

    switch (state) {

    case ngx_mail_smtpd_state_auth_plain:
        rc = ngx_mail_smtpd_auth_plain(s, ctx, line);
        break;

    case ngx_mail_smtpd_state_auth_login_user:
        rc = ngx_mail_smtpd_auth_login_user(s, ctx, line);
        break;

    default: /* ngx_mail_smtpd_state_auth_login_password */
        rc = ngx_mail_smtpd_auth_login_password(s, ctx, line);
        break;
    }

    if (rc != NGX_OK) {
        ngx_mail_smtpd_error(s, ctx);
    }
}


static ngx_int_t
ngx_mail_smtpd_auth_plain(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *response)
{
    ngx_str_t  decoded, login, password;

    if (ngx_mail_smtpd_auth_decode(s, response, &decoded) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_mail_account_sasl_plain(&decoded, &login, &password) != NGX_OK) {
        (void) ngx_mail_server_printf(s, "535 5.7.8 Authentication "
                                         "credentials invalid");
        return NGX_ERROR;
    }

    return ngx_mail_smtpd_auth_check(s, &login, &password);
}


static ngx_int_t
ngx_mail_smtpd_auth_login_user(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *response)
{
    if (ngx_mail_smtpd_auth_decode(s, response, &ctx->auth_user) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->state = ngx_mail_smtpd_state_auth_login_password;

    return ngx_mail_server_printf(s, NGX_MAIL_SMTPD_LOGIN_PASS);
}


static ngx_int_t
ngx_mail_smtpd_auth_login_password(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *response)
{
    ngx_str_t  password;

    if (ngx_mail_smtpd_auth_decode(s, response, &password) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->auth_user.len == 0 || password.len == 0) {
        (void) ngx_mail_server_printf(s, "535 5.7.8 Authentication "
                                         "credentials invalid");
        return NGX_ERROR;
    }

    return ngx_mail_smtpd_auth_check(s, &ctx->auth_user, &password);
}


static ngx_int_t
ngx_mail_smtpd_auth_decode(ngx_mail_session_t *s, ngx_str_t *in,
    ngx_str_t *out)
{
    if (ngx_mail_account_sasl_decode(s->connection->pool, in, out)
        != NGX_OK)
    {
        (void) ngx_mail_server_printf(s, "501 5.5.2 Cannot decode response");
        return NGX_ERROR;
    }

    return NGX_OK;
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
