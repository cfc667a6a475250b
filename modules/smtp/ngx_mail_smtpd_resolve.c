
/*
 * The client's host name for the Received header, before the greeting:
 * the PTR name of its address, kept only if that name resolves back to
 * the address (forward-confirmed), as Postfix does; "unknown" otherwise.
 * Done only where nginx's "resolver" is configured.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_smtpd.h"


static void ngx_mail_smtpd_ptr_handler(ngx_resolver_ctx_t *rctx);
static void ngx_mail_smtpd_confirm(ngx_event_t *ev);
static void ngx_mail_smtpd_confirm_handler(ngx_resolver_ctx_t *rctx);
static void ngx_mail_smtpd_resolved(ngx_mail_session_t *s);


static ngx_str_t  ngx_mail_smtpd_unknown = ngx_string("unknown");


/* NGX_OK: the greeting follows the lookups; NGX_DECLINED: no resolver */

ngx_int_t
ngx_mail_smtpd_resolve_client(ngx_mail_session_t *s)
{
    ngx_connection_t          *c;
    ngx_resolver_ctx_t        *rctx;
    ngx_mail_smtpd_ctx_t      *ctx;
    ngx_mail_core_srv_conf_t  *cscf;

    c = s->connection;
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);
    cscf = ngx_mail_get_module_srv_conf(s, ngx_mail_core_module);

    ctx->client_name = ngx_mail_smtpd_unknown;

    if (cscf->resolver == NULL || c->sockaddr->sa_family == AF_UNIX) {
        return NGX_DECLINED;
    }

    rctx = ngx_resolve_start(cscf->resolver, NULL);
    if (rctx == NULL) {
        return NGX_DECLINED;
    }

    rctx->addr.sockaddr = c->sockaddr;
    rctx->addr.socklen = c->socklen;
    rctx->handler = ngx_mail_smtpd_ptr_handler;
    rctx->data = s;
    rctx->timeout = cscf->resolver_timeout;

    c->log->action = "resolving the client address";

    /* nothing the client sends before the greeting is read */
    ngx_mail_server_io(s)->busy = 1;

    if (ngx_resolve_addr(rctx) != NGX_OK) {
        ngx_mail_server_io(s)->busy = 0;
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static void
ngx_mail_smtpd_ptr_handler(ngx_resolver_ctx_t *rctx)
{
    ngx_connection_t      *c;
    ngx_mail_session_t    *s;
    ngx_mail_smtpd_ctx_t  *ctx;

    s = rctx->data;
    c = s->connection;
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);

    if (rctx->state) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "no PTR name for %V (%i: %s)", &c->addr_text,
                      rctx->state, ngx_resolver_strerror(rctx->state));
        ngx_resolve_addr_done(rctx);
        ngx_mail_smtpd_resolved(s);
        return;
    }

    ctx->client_name.data = ngx_pstrdup(c->pool, &rctx->name);
    if (ctx->client_name.data == NULL) {
        ctx->client_name = ngx_mail_smtpd_unknown;

    } else {
        ctx->client_name.len = rctx->name.len;
    }

    ngx_resolve_addr_done(rctx);

    /* a resolver handler must not start another lookup itself */
    c->read->handler = ngx_mail_smtpd_confirm;
    ngx_post_event(c->read, &ngx_posted_events);
}


static void
ngx_mail_smtpd_confirm(ngx_event_t *ev)
{
    ngx_connection_t          *c;
    ngx_mail_session_t        *s;
    ngx_resolver_ctx_t        *rctx;
    ngx_mail_smtpd_ctx_t      *ctx;
    ngx_mail_core_srv_conf_t  *cscf;

    c = ev->data;
    s = c->data;
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);
    cscf = ngx_mail_get_module_srv_conf(s, ngx_mail_core_module);

    c->read->handler = ngx_mail_server_read_handler;

    rctx = ngx_resolve_start(cscf->resolver, NULL);
    if (rctx == NULL) {
        ctx->client_name = ngx_mail_smtpd_unknown;
        ngx_mail_smtpd_resolved(s);
        return;
    }

    rctx->name = ctx->client_name;
    rctx->handler = ngx_mail_smtpd_confirm_handler;
    rctx->data = s;
    rctx->timeout = cscf->resolver_timeout;

    if (ngx_resolve_name(rctx) != NGX_OK) {
        ctx->client_name = ngx_mail_smtpd_unknown;
        ngx_mail_smtpd_resolved(s);
    }
}


static void
ngx_mail_smtpd_confirm_handler(ngx_resolver_ctx_t *rctx)
{
    ngx_uint_t             i;
    ngx_connection_t      *c;
    ngx_mail_session_t    *s;
    ngx_mail_smtpd_ctx_t  *ctx;

    s = rctx->data;
    c = s->connection;
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);

    if (rctx->state == 0) {
        for (i = 0; i < rctx->naddrs; i++) {
            if (ngx_cmp_sockaddr(rctx->addrs[i].sockaddr,
                                 rctx->addrs[i].socklen, c->sockaddr,
                                 c->socklen, 0)
                == NGX_OK)
            {
                ngx_resolve_name_done(rctx);
                ngx_mail_smtpd_resolved(s);
                return;
            }
        }
    }

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "PTR name \"%V\" of %V does not resolve back to it",
                  &ctx->client_name, &c->addr_text);

    ctx->client_name = ngx_mail_smtpd_unknown;

    ngx_resolve_name_done(rctx);
    ngx_mail_smtpd_resolved(s);
}


static void
ngx_mail_smtpd_resolved(ngx_mail_session_t *s)
{
    ngx_mail_server_io(s)->busy = 0;

    ngx_mail_smtpd_greeting(s);
}
