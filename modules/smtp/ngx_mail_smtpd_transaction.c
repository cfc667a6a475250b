
/*
 * The mail transaction: MAIL and RCPT (RFC 5321 4.1.1.2, 4.1.1.3).
 * Recipients are checked against the accounts in Redis as they arrive,
 * so that a client learns at once which ones we take.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_account.h"
#include "ngx_mail_smtpd.h"
#include "ngx_mail_smtpd_envelope.h"
#include "ngx_mail_spam.h"


static ngx_int_t ngx_mail_smtpd_tx_begin(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_mail_smtpd_envelope_t *env,
    ngx_str_t *arg);
static ngx_int_t ngx_mail_smtpd_address(ngx_pool_t *pool, ngx_str_t *addr,
    ngx_str_t *orig, ngx_str_t *key);
static ngx_int_t ngx_mail_smtpd_mail_params(ngx_mail_session_t *s,
    ngx_mail_smtpd_tx_t *tx, ngx_mail_smtpd_envelope_t *env);
static void ngx_mail_smtpd_sender_checked(ngx_mail_session_t *s,
    ngx_int_t rc, ngx_mail_account_rcpt_t *rcpt);
static u_char *ngx_mail_smtpd_xtext_encode(u_char *p, ngx_str_t *text);
static ngx_int_t ngx_mail_smtpd_rcpt_params(ngx_mail_smtpd_tx_t *tx,
    ngx_mail_smtpd_envelope_t *env);
static void ngx_mail_smtpd_rcpt_resolved(ngx_mail_session_t *s,
    ngx_int_t rc, ngx_mail_account_rcpt_t *rcpt);
static void ngx_mail_smtpd_target_resolved(ngx_mail_session_t *s,
    ngx_int_t rc, ngx_mail_account_rcpt_t *rcpt);
static void ngx_mail_smtpd_next_target(ngx_mail_session_t *s,
    ngx_mail_smtpd_tx_t *tx);
static void ngx_mail_smtpd_alias_done(ngx_mail_session_t *s,
    ngx_mail_smtpd_tx_t *tx);
static ngx_int_t ngx_mail_smtpd_add(ngx_array_t *list, ngx_str_t *addr,
    ngx_str_t *params, ngx_pool_t *pool);
static void ngx_mail_smtpd_async_reply(ngx_mail_session_t *s,
    const char *fmt, ngx_str_t *addr, ngx_flag_t error);


ngx_int_t
ngx_mail_smtpd_cmd_mail(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg)
{
    ngx_mail_server_io_t        *io;
    ngx_mail_smtpd_envelope_t    env;
    ngx_mail_smtpd_srv_conf_t   *sscf;

    sscf = ngx_mail_get_module_srv_conf(s, ngx_mail_smtpd_module);

    if (ctx->helo.len == 0) {
        (void) ngx_mail_server_printf(s, "503 5.5.1 Error: send HELO/EHLO "
                                         "first");
        return NGX_ERROR;
    }

    if (ctx->tx) {
        (void) ngx_mail_server_printf(s, "503 5.5.1 Error: nested MAIL "
                                         "command");
        return NGX_ERROR;
    }

    if (sscf->role == NGX_MAIL_SMTPD_ROLE_SUBMISSION && !ctx->authenticated)
    {
        (void) ngx_mail_server_printf(s, "530 5.7.0 Authentication required");
        return NGX_ERROR;
    }

    if (ngx_mail_smtpd_parse_mail(arg->data, arg->len, &env)
        != NGX_MAIL_SMTPD_PARSE_OK)
    {
        (void) ngx_mail_server_printf(s, "%V", (ngx_str_t *) &env.reply);
        return NGX_ERROR;
    }

    if (!ctx->esmtp && arg->len > env.raw.len + 7) {
        /* RFC 5321 4.1.1.2: parameters are an ESMTP matter */
        (void) ngx_mail_server_printf(s, "555 5.5.4 Unsupported option");
        return NGX_ERROR;
    }

    /* BINARYMIME is not offered: the queue could not pass it on */
    if (env.body == NGX_MAIL_SMTPD_BODY_BINARYMIME) {
        (void) ngx_mail_server_printf(s, "555 5.5.4 Unsupported option: "
                                         "BODY=BINARYMIME");
        return NGX_ERROR;
    }

    if (env.has_size && env.size > sscf->max_message_size) {
        (void) ngx_mail_server_printf(s, "552 5.3.4 Message size exceeds "
                                         "fixed limit");
        return NGX_ERROR;
    }

    if (ngx_mail_smtpd_tx_begin(s, ctx, &env, arg) != NGX_OK) {
        (void) ngx_mail_server_printf(s, "451 4.3.0 Error: out of memory");
        return NGX_ERROR;
    }

    /* the spam filter's DNS checks run while the envelope and data come */
    if (ngx_mail_spam_enabled(s, ctx->authenticated)) {
        ngx_mail_spam_mail(s, &ctx->tx->from, &ctx->helo);
    }

    /* RFC 6409 6.1: a user sends as himself, or as an alias he receives */
    if (ctx->authenticated && sscf->sender_login_match && !env.null_path
        && (ctx->tx->from_key.len != s->login.len
            || ngx_strncmp(ctx->tx->from_key.data, s->login.data,
                           s->login.len) != 0))
    {
        io = ngx_mail_server_io(s);
        io->busy = 1;

        if (ngx_mail_account_resolve(s, ctx->tx->pool, &ctx->tx->from_key,
                                     ngx_mail_smtpd_sender_checked)
            != NGX_OK)
        {
            io->busy = 0;
            ngx_mail_smtpd_tx_end(ctx);
            return ngx_mail_server_printf(s, "451 4.3.0 Temporary lookup "
                                             "failure");
        }

        return NGX_OK;
    }

    return ngx_mail_server_printf(s, "250 2.1.0 Ok");
}


static ngx_int_t
ngx_mail_smtpd_tx_begin(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_mail_smtpd_envelope_t *env, ngx_str_t *arg)
{
    ngx_pool_t           *pool;
    ngx_mail_smtpd_tx_t  *tx;

    /* a pool per transaction: a long session does not grow */
    pool = ngx_create_pool(4096, s->connection->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    tx = ngx_pcalloc(pool, sizeof(ngx_mail_smtpd_tx_t));
    if (tx == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    tx->pool = pool;
    ctx->tx = tx;

    if (ngx_array_init(&tx->local, pool, 4, sizeof(ngx_str_t)) != NGX_OK
        || ngx_array_init(&tx->remote, pool, 4, sizeof(ngx_str_t)) != NGX_OK)
    {
        ngx_mail_smtpd_tx_end(ctx);
        return NGX_ERROR;
    }

    if (ngx_mail_smtpd_address(pool, (ngx_str_t *) &env->address, &tx->from,
                               &tx->from_key)
        != NGX_OK)
    {
        ngx_mail_smtpd_tx_end(ctx);
        return NGX_ERROR;
    }

    tx->smtputf8 = env->smtputf8;

    if (ngx_mail_smtpd_mail_params(s, tx, env) != NGX_OK) {
        ngx_mail_smtpd_tx_end(ctx);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * RFC 5321 2.4: a local part's case is kept for other hosts; our own
 * accounts are looked up in lower case ("key")
 */

static ngx_int_t
ngx_mail_smtpd_address(ngx_pool_t *pool, ngx_str_t *addr, ngx_str_t *orig,
    ngx_str_t *key)
{
    orig->data = ngx_pnalloc(pool, 2 * addr->len);
    if (orig->data == NULL) {
        return NGX_ERROR;
    }

    orig->len = addr->len;
    ngx_memcpy(orig->data, addr->data, addr->len);

    key->len = addr->len;
    key->data = orig->data + addr->len;
    ngx_strlow(key->data, addr->data, addr->len);

    return NGX_OK;
}


/* what the delivery queue needs to know of MAIL's parameters */

static ngx_int_t
ngx_mail_smtpd_mail_params(ngx_mail_session_t *s, ngx_mail_smtpd_tx_t *tx,
    ngx_mail_smtpd_envelope_t *env)
{
    u_char                *p;
    ngx_mail_smtpd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);

    p = ngx_pnalloc(tx->pool, 64 + env->envid.len + 3 * s->login.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    tx->params.data = p;

    if (env->body == NGX_MAIL_SMTPD_BODY_8BITMIME) {
        p = ngx_cpymem(p, "BODY=8BITMIME ", 14);

    }

    if (env->ret == NGX_MAIL_SMTPD_RET_FULL) {
        p = ngx_cpymem(p, "RET=FULL ", 9);

    } else if (env->ret == NGX_MAIL_SMTPD_RET_HDRS) {
        p = ngx_cpymem(p, "RET=HDRS ", 9);
    }

    if (env->has_envid) {
        p = ngx_sprintf(p, "ENVID=%V ", (ngx_str_t *) &env->envid);
    }

    if (env->smtputf8) {
        p = ngx_cpymem(p, "SMTPUTF8 ", 9);
    }

    /*
     * RFC 4954 5: the submitter is who logged in here, whatever the
     * client claims; an unauthenticated claim is passed on as <>
     */
    if (ctx->authenticated) {
        p = ngx_cpymem(p, "AUTH=", 5);
        p = ngx_mail_smtpd_xtext_encode(p, &s->login);
        *p++ = ' ';

    } else if (env->has_auth) {
        p = ngx_cpymem(p, "AUTH=<> ", 8);
    }

    tx->params.len = p - tx->params.data;

    if (tx->params.len) {
        tx->params.len--;
    }

    return NGX_OK;
}


static void
ngx_mail_smtpd_sender_checked(ngx_mail_session_t *s, ngx_int_t rc,
    ngx_mail_account_rcpt_t *rcpt)
{
    ngx_str_t             *target;
    ngx_uint_t             i;
    ngx_mail_smtpd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);

    if (rc != NGX_OK) {
        ngx_mail_smtpd_tx_end(ctx);
        ngx_mail_smtpd_async_reply(s, "451 4.3.0 Temporary lookup failure",
                                   NULL, 0);
        return;
    }

    if (rcpt->kind == NGX_MAIL_ACCOUNT_ALIAS) {
        target = rcpt->targets->elts;

        for (i = 0; i < rcpt->targets->nelts; i++) {
            if (target[i].len == s->login.len
                && ngx_strncmp(target[i].data, s->login.data,
                               s->login.len) == 0)
            {
                ngx_mail_smtpd_async_reply(s, "250 2.1.0 Ok", NULL, 0);
                return;
            }
        }
    }

    ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                  "sender <%V> is not owned by \"%V\"", &ctx->tx->from,
                  &s->login);

    /* the reply is written before the transaction and its "from" go */
    (void) ngx_mail_server_printf(s, "553 5.7.1 <%V>: Sender address "
                                  "rejected: not owned by user %V",
                                  &ctx->tx->from, &s->login);
    ngx_mail_smtpd_tx_end(ctx);
    ngx_mail_smtpd_async_reply(s, NULL, NULL, 1);
}


ngx_int_t
ngx_mail_smtpd_cmd_rcpt(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg)
{
    u_char                      *p;
    ngx_str_t                    postmaster;
    ngx_mail_smtpd_tx_t         *tx;
    ngx_mail_server_io_t        *io;
    ngx_mail_smtpd_envelope_t    env;
    ngx_mail_core_srv_conf_t    *cscf;
    ngx_mail_smtpd_srv_conf_t   *sscf;

    tx = ctx->tx;
    sscf = ngx_mail_get_module_srv_conf(s, ngx_mail_smtpd_module);

    if (tx == NULL) {
        (void) ngx_mail_server_printf(s, "503 5.5.1 Error: need MAIL command");
        return NGX_ERROR;
    }

    if (tx->rcpts >= sscf->max_recipients) {
        (void) ngx_mail_server_printf(s, "452 4.5.3 Error: too many "
                                         "recipients");
        return NGX_OK;
    }

    if (ngx_mail_smtpd_parse_rcpt(arg->data, arg->len, tx->smtputf8, &env)
        != NGX_MAIL_SMTPD_PARSE_OK)
    {
        (void) ngx_mail_server_printf(s, "%V", (ngx_str_t *) &env.reply);
        return NGX_ERROR;
    }

    if (env.postmaster) {
        /* RFC 5321 4.5.1: <postmaster> is the one of this host */
        cscf = ngx_mail_get_module_srv_conf(s, ngx_mail_core_module);
        postmaster.len = sizeof("postmaster@") - 1 + cscf->server_name.len;
        postmaster.data = ngx_pnalloc(tx->pool, postmaster.len);
        if (postmaster.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(postmaster.data, "postmaster@", 11);
        ngx_strlow(p, cscf->server_name.data, cscf->server_name.len);
        tx->rcpt = postmaster;
        tx->rcpt_key = postmaster;

    } else if (ngx_mail_smtpd_address(tx->pool, (ngx_str_t *) &env.address,
                                      &tx->rcpt, &tx->rcpt_key)
               != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_mail_smtpd_rcpt_params(tx, &env) != NGX_OK) {
        return NGX_ERROR;
    }

    if (env.literal) {
        /* an address literal is never one of our domains */
        if (!ctx->authenticated) {
            return ngx_mail_server_printf(s, "554 5.7.1 <%V>: Relay access "
                                        "denied", &tx->rcpt);
        }

        if (ngx_mail_smtpd_add(&tx->remote, &tx->rcpt, &tx->rcpt_params,
                               tx->pool)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        tx->rcpts++;
        return ngx_mail_server_printf(s, "250 2.1.5 Ok");
    }

    io = ngx_mail_server_io(s);
    io->busy = 1;

    if (ngx_mail_account_resolve(s, tx->pool, &tx->rcpt_key,
                                 ngx_mail_smtpd_rcpt_resolved)
        != NGX_OK)
    {
        io->busy = 0;
        return ngx_mail_server_printf(s, "451 4.3.0 <%V>: Temporary lookup "
                                    "failure", &tx->rcpt);
    }

    return NGX_OK;
}


/* RFC 3461 4: "+", "=" and what is not printable ASCII as "+XX" */

static u_char *
ngx_mail_smtpd_xtext_encode(u_char *p, ngx_str_t *text)
{
    u_char       c;
    ngx_uint_t   i;
    static char  hex[] = "0123456789ABCDEF";

    for (i = 0; i < text->len; i++) {
        c = text->data[i];

        if (c < '!' || c > '~' || c == '+' || c == '=') {
            *p++ = '+';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];
            continue;
        }

        *p++ = c;
    }

    return p;
}


/* NOTIFY and ORCPT go with a remote recipient into the queue */

static ngx_int_t
ngx_mail_smtpd_rcpt_params(ngx_mail_smtpd_tx_t *tx,
    ngx_mail_smtpd_envelope_t *env)
{
    u_char  *p;

    p = ngx_pnalloc(tx->pool, 64 + env->orcpt_type.len + env->orcpt.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    tx->rcpt_params.data = p;

    if (env->notify) {
        p = ngx_cpymem(p, "NOTIFY=", 7);

        if (env->notify & NGX_MAIL_SMTPD_NOTIFY_NEVER) {
            p = ngx_cpymem(p, "NEVER,", 6);
        }

        if (env->notify & NGX_MAIL_SMTPD_NOTIFY_SUCCESS) {
            p = ngx_cpymem(p, "SUCCESS,", 8);
        }

        if (env->notify & NGX_MAIL_SMTPD_NOTIFY_FAILURE) {
            p = ngx_cpymem(p, "FAILURE,", 8);
        }

        if (env->notify & NGX_MAIL_SMTPD_NOTIFY_DELAY) {
            p = ngx_cpymem(p, "DELAY,", 6);
        }

        p[-1] = ' ';
    }

    if (env->has_orcpt) {
        p = ngx_sprintf(p, "ORCPT=%V;%V ", (ngx_str_t *) &env->orcpt_type,
                        (ngx_str_t *) &env->orcpt);
    }

    tx->rcpt_params.len = p - tx->rcpt_params.data;

    if (tx->rcpt_params.len) {
        tx->rcpt_params.len--;
    }

    return NGX_OK;
}


static void
ngx_mail_smtpd_rcpt_resolved(ngx_mail_session_t *s, ngx_int_t rc,
    ngx_mail_account_rcpt_t *rcpt)
{
    ngx_mail_smtpd_tx_t   *tx;
    ngx_mail_smtpd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);
    tx = ctx->tx;

    if (rc != NGX_OK) {
        ngx_mail_smtpd_async_reply(s, "451 4.3.0 <%V>: Temporary lookup "
                                   "failure", &tx->rcpt, 0);
        return;
    }

    switch (rcpt->kind) {

    case NGX_MAIL_ACCOUNT_NOT_LOCAL:

        /* open relay is impossible: only our users send elsewhere */
        if (!ctx->authenticated) {
            ngx_mail_smtpd_async_reply(s, "554 5.7.1 <%V>: Relay access "
                                       "denied", &tx->rcpt, 1);
            return;
        }

        if (ngx_mail_smtpd_add(&tx->remote, &tx->rcpt, &tx->rcpt_params,
                               tx->pool)
            != NGX_OK)
        {
            break;
        }

        tx->rcpts++;
        ngx_mail_smtpd_async_reply(s, "250 2.1.5 Ok", NULL, 0);
        return;

    case NGX_MAIL_ACCOUNT_UNKNOWN:
        ngx_mail_smtpd_async_reply(s, "550 5.1.1 <%V>: Recipient address "
                                   "rejected: User unknown", &tx->rcpt, 1);
        return;

    case NGX_MAIL_ACCOUNT_DISABLED:
        ngx_mail_smtpd_async_reply(s, "550 5.2.1 <%V>: Mailbox disabled",
                                   &tx->rcpt, 1);
        return;

    case NGX_MAIL_ACCOUNT_OVER_QUOTA:
        ngx_mail_smtpd_async_reply(s, "452 4.2.2 <%V>: Mailbox full",
                                   &tx->rcpt, 0);
        return;

    case NGX_MAIL_ACCOUNT_USER:

        if (ngx_mail_smtpd_add(&tx->local, &tx->rcpt_key, NULL, tx->pool)
            != NGX_OK)
        {
            break;
        }

        tx->rcpts++;
        ngx_mail_smtpd_async_reply(s, "250 2.1.5 Ok", NULL, 0);
        return;

    case NGX_MAIL_ACCOUNT_ALIAS:
        tx->targets = rcpt->targets;
        tx->target = 0;
        tx->alias_full = 0;

        if (ngx_array_init(&tx->alias_local, tx->pool, 4, sizeof(ngx_str_t))
            != NGX_OK
            || ngx_array_init(&tx->alias_remote, tx->pool, 4,
                              sizeof(ngx_str_t))
               != NGX_OK)
        {
            break;
        }

        ngx_mail_smtpd_next_target(s, tx);
        return;
    }

    ngx_mail_smtpd_async_reply(s, "451 4.3.0 Error: out of memory", NULL, 0);
}


/*
 * An alias's targets are looked up one after another: local users get
 * the message in their mailbox, remote addresses through the queue.  They
 * are collected apart and join the transaction only when all are known,
 * so a lookup that fails halfway leaves nothing behind.  One level only:
 * a target that is itself an alias is not followed (and logged).
 */

static void
ngx_mail_smtpd_next_target(ngx_mail_session_t *s, ngx_mail_smtpd_tx_t *tx)
{
    ngx_str_t  *target;

    for ( ;; ) {

        if (tx->target == tx->targets->nelts) {
            ngx_mail_smtpd_alias_done(s, tx);
            return;
        }

        target = tx->targets->elts;
        target = &target[tx->target++];

        if (ngx_mail_account_normalize(target) == NGX_OK) {
            break;
        }

        ngx_log_error(NGX_LOG_WARN, s->connection->log, 0,
                      "alias <%V> has an invalid target \"%V\"", &tx->rcpt,
                      target);
    }

    if (ngx_mail_account_resolve(s, tx->pool, target,
                                 ngx_mail_smtpd_target_resolved)
        != NGX_OK)
    {
        ngx_mail_smtpd_async_reply(s, "451 4.3.0 <%V>: Temporary lookup "
                                   "failure", &tx->rcpt, 0);
    }
}


static void
ngx_mail_smtpd_target_resolved(ngx_mail_session_t *s, ngx_int_t rc,
    ngx_mail_account_rcpt_t *rcpt)
{
    ngx_int_t              added;
    ngx_mail_smtpd_tx_t   *tx;
    ngx_mail_smtpd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);
    tx = ctx->tx;

    if (rc != NGX_OK) {
        ngx_mail_smtpd_async_reply(s, "451 4.3.0 <%V>: Temporary lookup "
                                   "failure", &tx->rcpt, 0);
        return;
    }

    switch (rcpt->kind) {

    case NGX_MAIL_ACCOUNT_USER:
        added = ngx_mail_smtpd_add(&tx->alias_local, &rcpt->address, NULL,
                                   tx->pool);
        break;

    case NGX_MAIL_ACCOUNT_NOT_LOCAL:
        added = ngx_mail_smtpd_add(&tx->alias_remote, &rcpt->address,
                                   &tx->rcpt_params, tx->pool);
        break;

    case NGX_MAIL_ACCOUNT_OVER_QUOTA:
        /* the whole alias waits, as a full user's mailbox would */
        tx->alias_full = 1;
        added = NGX_OK;
        break;

    default:
        ngx_log_error(NGX_LOG_WARN, s->connection->log, 0,
                      "alias <%V>: target <%V> is no mailbox, skipped",
                      &tx->rcpt, &rcpt->address);
        added = NGX_OK;
        break;
    }

    if (added != NGX_OK) {
        ngx_mail_smtpd_async_reply(s, "451 4.3.0 Error: out of memory",
                                   NULL, 0);
        return;
    }

    ngx_mail_smtpd_next_target(s, tx);
}


static void
ngx_mail_smtpd_alias_done(ngx_mail_session_t *s, ngx_mail_smtpd_tx_t *tx)
{
    ngx_str_t   *a;
    ngx_uint_t   i;

    if (tx->alias_full) {
        ngx_mail_smtpd_async_reply(s, "452 4.2.2 <%V>: Mailbox full",
                                   &tx->rcpt, 0);
        return;
    }

    if (tx->alias_local.nelts + tx->alias_remote.nelts == 0) {
        /* accepting it would store the message nowhere */
        ngx_mail_smtpd_async_reply(s, "550 5.1.1 <%V>: Recipient address "
                                   "rejected: User unknown", &tx->rcpt, 1);
        return;
    }

    a = tx->alias_local.elts;
    for (i = 0; i < tx->alias_local.nelts; i++) {
        if (ngx_mail_smtpd_add(&tx->local, &a[i], NULL, tx->pool) != NGX_OK) {
            goto failed;
        }
    }

    a = tx->alias_remote.elts;
    for (i = 0; i < tx->alias_remote.nelts; i++) {
        /* the parameters are in the string already */
        if (ngx_mail_smtpd_add(&tx->remote, &a[i], NULL, tx->pool) != NGX_OK)
        {
            goto failed;
        }
    }

    tx->rcpts++;
    ngx_mail_smtpd_async_reply(s, "250 2.1.5 Ok", NULL, 0);
    return;

failed:

    ngx_mail_smtpd_async_reply(s, "451 4.3.0 Error: out of memory", NULL, 0);
}


/* adds an address once; "params" (may be NULL) follow it after a space */

static ngx_int_t
ngx_mail_smtpd_add(ngx_array_t *list, ngx_str_t *addr, ngx_str_t *params,
    ngx_pool_t *pool)
{
    u_char      *p;
    ngx_str_t   *a;
    ngx_uint_t   i;

    a = list->elts;

    for (i = 0; i < list->nelts; i++) {
        if (a[i].len >= addr->len
            && ngx_strncmp(a[i].data, addr->data, addr->len) == 0
            && (a[i].len == addr->len || a[i].data[addr->len] == ' '))
        {
            return NGX_OK;
        }
    }

    a = ngx_array_push(list);
    if (a == NULL) {
        return NGX_ERROR;
    }

    a->len = addr->len + ((params && params->len) ? params->len + 1 : 0);
    a->data = ngx_pnalloc(pool, a->len);
    if (a->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(a->data, addr->data, addr->len);

    if (params && params->len) {
        *p++ = ' ';
        ngx_memcpy(p, params->data, params->len);
    }

    return NGX_OK;
}


/*
 * The reply to a command that waited for Redis (fmt NULL: already
 * written), and on with the session: nothing may touch the session after
 * this, as resume() may close it.
 */

static void
ngx_mail_smtpd_async_reply(ngx_mail_session_t *s, const char *fmt,
    ngx_str_t *addr, ngx_flag_t error)
{
    ngx_mail_server_io_t  *io;
    ngx_mail_smtpd_ctx_t  *ctx;

    io = ngx_mail_server_io(s);
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);

    io->busy = 0;

    if (fmt && addr) {
        (void) ngx_mail_server_printf(s, fmt, addr);

    } else if (fmt) {
        (void) ngx_mail_server_printf(s, fmt);
    }

    if (error) {
        ngx_mail_smtpd_error(s, ctx);
    }

    ngx_mail_server_resume(s);
}


/* RSET, HELO, the end of DATA, or the end of the session */

void
ngx_mail_smtpd_tx_end(ngx_mail_smtpd_ctx_t *ctx)
{
    if (ctx->tx == NULL) {
        return;
    }

    if (ctx->tx->chunk) {
        /* nothing if delivered; else the spool goes, and no callback */
        ngx_mail_store_spool_discard(&ctx->tx->spool);
    }

    ngx_destroy_pool(ctx->tx->pool);
    ctx->tx = NULL;
}
