
/*
 * The hosts to try for a domain and their addresses: an MX query, then
 * A and AAAA of every host at once, on the DNS module's c-ares channel
 * (ngx_mail_dns.h).  The answers are judged by ngx_mail_queue_mx.c,
 * which the unit tests and fuzzers also drive.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <ares.h>
#include <arpa/nameser.h>

#include "ngx_mail_queue.h"
#include "ngx_mail_dns.h"


typedef struct ngx_mail_queue_dns_ctx_s  ngx_mail_queue_dns_ctx_t;

typedef struct {
    ngx_mail_queue_dns_ctx_t   *ctx;
    unsigned                    host;
    unsigned                    family;
} ngx_mail_queue_dns_addr_t;


struct ngx_mail_queue_dns_ctx_s {
    ngx_mail_queue_mx_t            *mx;
    ngx_mail_queue_dns_handler_pt   handler;
    void                           *data;
    ngx_uint_t                      pending;
    ngx_mail_queue_dns_addr_t       queries[2 * NGX_MAIL_QUEUE_MX_MAX];
};


static void ngx_mail_queue_dns_mx_answer(int status, u_char *abuf,
    size_t alen, void *data);
static void ngx_mail_queue_dns_query_addrs(ngx_mail_queue_dns_ctx_t *ctx);
static void ngx_mail_queue_dns_addr_answer(int status, u_char *abuf,
    size_t alen, void *data);
static void ngx_mail_queue_dns_finish(ngx_mail_queue_dns_ctx_t *ctx);
static void ngx_mail_queue_dns_fail(ngx_mail_queue_mx_t *mx);
static ngx_int_t ngx_mail_queue_dns_literal(ngx_mail_queue_mx_t *mx,
    ngx_str_t *name);
static uint32_t ngx_mail_queue_dns_random(void *data);


void
ngx_mail_queue_dns_resolve(ngx_mail_queue_mx_t *mx, ngx_str_t *name,
    ngx_uint_t no_mx, ngx_mail_queue_dns_handler_pt handler, void *data)
{
    ngx_mail_queue_dns_ctx_t  *ctx;

    ctx = ngx_calloc(sizeof(ngx_mail_queue_dns_ctx_t), ngx_cycle->log);
    if (ctx == NULL) {
        ngx_memzero(mx, sizeof(ngx_mail_queue_mx_t));
        ngx_mail_queue_dns_fail(mx);
        handler(mx, data);
        return;
    }

    ctx->mx = mx;
    ctx->handler = handler;
    ctx->data = data;

    /* an address literal, [192.0.2.1] or a relayhost's IP: no DNS */
    if (ngx_mail_queue_dns_literal(mx, name) == NGX_OK) {
        ngx_mail_queue_dns_finish(ctx);
        return;
    }

    if (ngx_mail_queue_mx_init(mx, name->data, name->len)
        != NGX_MAIL_QUEUE_PARSE_OK)
    {
        ngx_mail_queue_dns_finish(ctx);
        return;
    }

    if (no_mx) {
        /* the host itself, as an implicit MX has it */
        ngx_memcpy(mx->hosts[0].name, mx->domain, mx->domain_len + 1);
        mx->hosts[0].name_len = mx->domain_len;
        mx->nhosts = 1;
        mx->implicit = 1;

        ngx_mail_queue_dns_query_addrs(ctx);
        return;
    }

    if (ngx_mail_dns_query(mx->domain, T_MX, ngx_mail_queue_dns_mx_answer,
                           ctx)
        == NULL)
    {
        ngx_mail_queue_dns_fail(mx);
        ngx_mail_queue_dns_finish(ctx);
    }
}


static void
ngx_mail_queue_dns_mx_answer(int status, u_char *abuf, size_t alen,
    void *data)
{
    ngx_mail_queue_dns_ctx_t  *ctx = data;

    if (ngx_mail_queue_mx_parse_mx(ctx->mx, status, abuf, alen,
                                   ngx_mail_queue_dns_random, NULL)
        != NGX_MAIL_QUEUE_PARSE_OK)
    {
        ngx_mail_queue_dns_finish(ctx);
        return;
    }

    ngx_mail_queue_dns_query_addrs(ctx);
}


/*
 * A and AAAA of every host at once: a handful of queries, answered in
 * one round trip, rather than one round trip per host that fails.
 */

static void
ngx_mail_queue_dns_query_addrs(ngx_mail_queue_dns_ctx_t *ctx)
{
    unsigned                     i, n;
    ngx_mail_queue_mx_t         *mx;
    ngx_mail_queue_dns_addr_t   *q;

    mx = ctx->mx;
    n = 0;

    for (i = 0; i < mx->nhosts; i++) {
        q = &ctx->queries[n++];
        q->ctx = ctx;
        q->host = i;
        q->family = NGX_MAIL_QUEUE_MX_A;

        q = &ctx->queries[n++];
        q->ctx = ctx;
        q->host = i;
        q->family = NGX_MAIL_QUEUE_MX_AAAA;
    }

    ctx->pending = n;

    /*
     * a query that cannot be asked is answered here, as a failed lookup;
     * the last such answer may finish ctx, and the loop ends with it
     */
    for (i = 0; i < n; i++) {
        q = &ctx->queries[i];

        if (ngx_mail_dns_query(mx->hosts[q->host].name,
                               q->family == NGX_MAIL_QUEUE_MX_A ? T_A : T_AAAA,
                               ngx_mail_queue_dns_addr_answer, q)
            == NULL)
        {
            ngx_mail_queue_dns_addr_answer(ARES_ENOMEM, NULL, 0, q);
        }
    }
}


static void
ngx_mail_queue_dns_addr_answer(int status, u_char *abuf, size_t alen,
    void *data)
{
    ngx_mail_queue_dns_addr_t   *q = data;
    ngx_mail_queue_dns_ctx_t    *ctx;

    ctx = q->ctx;

    (void) ngx_mail_queue_mx_parse_addr(ctx->mx, q->host, q->family, status,
                                        abuf, alen);

    if (--ctx->pending == 0) {
        (void) ngx_mail_queue_mx_finish(ctx->mx);
        ngx_mail_queue_dns_finish(ctx);
    }
}


static void
ngx_mail_queue_dns_finish(ngx_mail_queue_dns_ctx_t *ctx)
{
    ngx_mail_queue_dns_handler_pt   handler;
    void                           *data;
    ngx_mail_queue_mx_t            *mx;

    mx = ctx->mx;
    handler = ctx->handler;
    data = ctx->data;

    ngx_free(ctx);

    handler(mx, data);
}


/* no lookup could be asked: the attempt is tried again later */

static void
ngx_mail_queue_dns_fail(ngx_mail_queue_mx_t *mx)
{
    mx->result = NGX_MAIL_QUEUE_MX_TEMPORARY;
    mx->error = "no DNS lookup could be started";
    ngx_cpystrn((u_char *) mx->status, (u_char *) "4.3.0",
                NGX_MAIL_QUEUE_MX_STATUS_LEN);
}


static ngx_int_t
ngx_mail_queue_dns_literal(ngx_mail_queue_mx_t *mx, ngx_str_t *name)
{
    u_char                    *p;
    size_t                     len;
    in_addr_t                  inaddr;
    ngx_mail_queue_mx_host_t  *h;
#if (NGX_HAVE_INET6)
    u_char                     inaddr6[16];
#endif

    p = name->data;
    len = name->len;

    if (len > 2 && p[0] == '[' && p[len - 1] == ']') {
        p++;
        len -= 2;

        if (len > 5 && ngx_strncasecmp(p, (u_char *) "IPv6:", 5) == 0) {
            p += 5;
            len -= 5;
        }
    }

    if (len == 0 || len > NGX_MAIL_QUEUE_MX_NAME_MAX) {
        return NGX_DECLINED;
    }

    ngx_memzero(mx, sizeof(ngx_mail_queue_mx_t));

    h = &mx->hosts[0];
    ngx_memcpy(h->name, p, len);
    h->name_len = len;
    ngx_memcpy(mx->domain, p, len);
    mx->domain_len = len;

    inaddr = ngx_inet_addr(p, len);

    if (inaddr != INADDR_NONE) {
        h->addrs[0].family = NGX_MAIL_QUEUE_MX_A;
        ngx_memcpy(h->addrs[0].addr, &inaddr, 4);

#if (NGX_HAVE_INET6)
    } else if (ngx_inet6_addr(p, len, inaddr6) == NGX_OK) {
        h->addrs[0].family = NGX_MAIL_QUEUE_MX_AAAA;
        ngx_memcpy(h->addrs[0].addr, inaddr6, 16);
#endif

    } else {
        return NGX_DECLINED;
    }

    h->naddrs = 1;
    mx->nhosts = 1;
    mx->implicit = 1;
    mx->result = NGX_MAIL_QUEUE_MX_OK;

    return NGX_OK;
}


static uint32_t
ngx_mail_queue_dns_random(void *data)
{
    return (uint32_t) ngx_random();
}
