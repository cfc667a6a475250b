
/*
 * DNS for the delivery queue: c-ares on nginx's event loop.
 *
 * nginx's resolver knows A, AAAA, SRV and PTR, not MX; c-ares asks
 * anything, and lets the caller own the waiting: it reports the sockets
 * it wants watched (ARES_OPT_SOCK_STATE_CB), nginx watches them, and
 * ares_process_fd() is called when one is ready or the next timeout is
 * due.  One channel per worker process; the answers are judged by
 * ngx_mail_queue_mx.c, which the unit tests and fuzzers also drive.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <ares.h>
#include <arpa/nameser.h>

#include "ngx_mail_queue.h"


/* the sockets c-ares may have open at once: UDP and TCP per server */
#define NGX_MAIL_QUEUE_DNS_SOCKETS  32


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


static void ngx_mail_queue_dns_sock_state(void *data, ares_socket_t fd,
    int readable, int writable);
static void ngx_mail_queue_dns_event(ngx_event_t *ev);
static void ngx_mail_queue_dns_timer_handler(ngx_event_t *ev);
static void ngx_mail_queue_dns_schedule(void);
static void ngx_mail_queue_dns_mx_answer(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen);
static void ngx_mail_queue_dns_query_addrs(ngx_mail_queue_dns_ctx_t *ctx);
static void ngx_mail_queue_dns_addr_answer(void *arg, int status,
    int timeouts, unsigned char *abuf, int alen);
static void ngx_mail_queue_dns_finish(ngx_mail_queue_dns_ctx_t *ctx);
static ngx_int_t ngx_mail_queue_dns_literal(ngx_mail_queue_mx_t *mx,
    ngx_str_t *name);
static uint32_t ngx_mail_queue_dns_random(void *data);
static void ngx_mail_queue_dns_answer(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen);
static void ngx_mail_queue_dns_posted(ngx_event_t *ev);


static ares_channel       ngx_mail_queue_dns_channel;
static ngx_event_t        ngx_mail_queue_dns_timer;
static ngx_connection_t  *ngx_mail_queue_dns_conns[NGX_MAIL_QUEUE_DNS_SOCKETS];
static ngx_log_t         *ngx_mail_queue_dns_log;
static ngx_uint_t         ngx_mail_queue_dns_ready;


struct ngx_mail_queue_dns_query_s {
    ngx_mail_queue_dns_answer_pt    handler;
    void                           *data;

    /* an answer c-ares gave within ares_query(), for a posted event */
    ngx_event_t                     post;
    int                             status;
    u_char                         *abuf;
    size_t                          alen;
    unsigned                        asking:1;
    unsigned                        answered:1;
};


ngx_int_t
ngx_mail_queue_dns_init(ngx_cycle_t *cycle, ngx_mail_queue_conf_t *qcf)
{
    int                  rc, mask;
    u_char              *p, *last;
    ngx_str_t           *server;
    ngx_uint_t           i;
    struct ares_options  opts;

    rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "queue: ares_library_init() failed: %s",
                      ares_strerror(rc));
        return NGX_ERROR;
    }

    ngx_memzero(&opts, sizeof(struct ares_options));

    opts.sock_state_cb = ngx_mail_queue_dns_sock_state;
    opts.sock_state_cb_data = NULL;
    opts.timeout = (int) qcf->resolver_timeout;
    opts.tries = 2;

    mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;

    /* /etc/resolv.conf, unless queue_resolver names the servers */
    rc = ares_init_options(&ngx_mail_queue_dns_channel, &opts, mask);
    if (rc != ARES_SUCCESS) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "queue: ares_init_options() failed: %s",
                      ares_strerror(rc));
        return NGX_ERROR;
    }

    if (qcf->resolvers != NULL) {
        p = ngx_pnalloc(cycle->pool, 1024);
        if (p == NULL) {
            return NGX_ERROR;
        }

        last = p;
        server = qcf->resolvers->elts;

        for (i = 0; i < qcf->resolvers->nelts; i++) {
            last = ngx_slprintf(last, p + 1023, "%s%V", i ? "," : "",
                                &server[i]);
        }

        *last = '\0';

        rc = ares_set_servers_ports_csv(ngx_mail_queue_dns_channel,
                                        (char *) p);
        if (rc != ARES_SUCCESS) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "queue: invalid queue_resolver \"%s\": %s", p,
                          ares_strerror(rc));
            return NGX_ERROR;
        }
    }

    ngx_mail_queue_dns_log = cycle->log;

    ngx_mail_queue_dns_timer.handler = ngx_mail_queue_dns_timer_handler;
    ngx_mail_queue_dns_timer.log = cycle->log;
    ngx_mail_queue_dns_timer.data = NULL;

    /*
     * set only while queries wait: an exiting worker waits for their
     * answers, or the deliveries resolving would be left unfinished
     */
    ngx_mail_queue_dns_timer.cancelable = 0;

    ngx_mail_queue_dns_ready = 1;

    return NGX_OK;
}


/*
 * One question, for the spam checks (TXT, A, AAAA, MX, PTR): the handler
 * gets the raw answer, or a c-ares status.  c-ares answers some queries
 * within ares_query() (a name it cannot ask, no server): that answer
 * waits for a posted event, so that the handler is never called before
 * this returns and callers need no guard against re-entry.  c-ares
 * cannot cancel one query, so a query is a small record whose handler a
 * cancel clears: the answer then only frees it.
 */

ngx_mail_queue_dns_query_t *
ngx_mail_queue_dns_query(const char *name, int type,
    ngx_mail_queue_dns_answer_pt handler, void *data)
{
    ngx_mail_queue_dns_query_t  *q;

    if (!ngx_mail_queue_dns_ready) {
        return NULL;
    }

    q = ngx_alloc(sizeof(ngx_mail_queue_dns_query_t), ngx_mail_queue_dns_log);
    if (q == NULL) {
        return NULL;
    }

    ngx_memzero(q, sizeof(ngx_mail_queue_dns_query_t));

    q->handler = handler;
    q->data = data;
    q->asking = 1;

    ares_query(ngx_mail_queue_dns_channel, name, C_IN, type,
               ngx_mail_queue_dns_answer, q);

    q->asking = 0;

    if (q->answered) {
        q->post.handler = ngx_mail_queue_dns_posted;
        q->post.data = q;
        q->post.log = ngx_mail_queue_dns_log;

        ngx_post_event(&q->post, &ngx_posted_events);
    }

    ngx_mail_queue_dns_schedule();

    return q;
}


void
ngx_mail_queue_dns_cancel(ngx_mail_queue_dns_query_t *q)
{
    q->handler = NULL;
}


static void
ngx_mail_queue_dns_answer(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen)
{
    ngx_mail_queue_dns_query_t  *q = arg;

    ngx_mail_queue_dns_answer_pt   handler;
    void                          *data;

    if (q->asking) {
        /* c-ares frees abuf when this returns */
        q->status = status;
        q->answered = 1;

        if (abuf != NULL && alen > 0) {
            q->abuf = ngx_alloc(alen, ngx_mail_queue_dns_log);

            if (q->abuf == NULL) {
                q->status = ARES_ENOMEM;

            } else {
                ngx_memcpy(q->abuf, abuf, alen);
                q->alen = alen;
            }
        }

        return;
    }

    handler = q->handler;
    data = q->data;

    ngx_free(q);

    if (handler) {
        handler(status, abuf, alen < 0 ? 0 : (size_t) alen, data);
    }
}


static void
ngx_mail_queue_dns_posted(ngx_event_t *ev)
{
    ngx_mail_queue_dns_query_t  *q = ev->data;

    ngx_mail_queue_dns_query_t  copy;

    copy = *q;
    ngx_free(q);

    if (copy.handler) {
        copy.handler(copy.status, copy.abuf, copy.alen, copy.data);
    }

    if (copy.abuf) {
        ngx_free(copy.abuf);
    }
}


/*
 * c-ares opens, watches and closes its sockets itself; nginx only
 * waits on them.  The connection structure is nginx's handle on a
 * socket for its event module, and is given back before c-ares closes
 * the socket (readable and writable both 0).
 */

static void
ngx_mail_queue_dns_sock_state(void *data, ares_socket_t fd, int readable,
    int writable)
{
    ngx_uint_t         i, free_slot;
    ngx_connection_t  *c;

    c = NULL;
    free_slot = NGX_MAIL_QUEUE_DNS_SOCKETS;

    for (i = 0; i < NGX_MAIL_QUEUE_DNS_SOCKETS; i++) {
        if (ngx_mail_queue_dns_conns[i] == NULL) {
            if (free_slot == NGX_MAIL_QUEUE_DNS_SOCKETS) {
                free_slot = i;
            }
            continue;
        }

        if (ngx_mail_queue_dns_conns[i]->fd == fd) {
            c = ngx_mail_queue_dns_conns[i];
            break;
        }
    }

    if (!readable && !writable) {
        if (c == NULL) {
            return;
        }

        if (c->read->active) {
            ngx_del_event(c->read, NGX_READ_EVENT, 0);
        }

        if (c->write->active) {
            ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
        }

        ngx_mail_queue_dns_conns[i] = NULL;

        /* c-ares closes the socket: the structure must not claim it */
        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        return;
    }

    if (c == NULL) {
        if (free_slot == NGX_MAIL_QUEUE_DNS_SOCKETS) {
            ngx_log_error(NGX_LOG_ALERT, ngx_mail_queue_dns_log, 0,
                          "queue: too many DNS sockets");
            return;
        }

        c = ngx_get_connection(fd, ngx_mail_queue_dns_log);
        if (c == NULL) {
            return;
        }

        c->read->handler = ngx_mail_queue_dns_event;
        c->write->handler = ngx_mail_queue_dns_event;
        c->read->log = ngx_mail_queue_dns_log;
        c->write->log = ngx_mail_queue_dns_log;
        c->log = ngx_mail_queue_dns_log;

        /*
         * c-ares keeps its sockets between queries; as for nginx's own
         * resolver, an exiting worker leaves them to the process's end
         */
        c->read->resolver = 1;

        ngx_mail_queue_dns_conns[free_slot] = c;
    }

    /* level-triggered: c-ares may leave a datagram for the next call */
    if (readable && !c->read->active) {
        ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);

    } else if (!readable && c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    if (writable && !c->write->active) {
        ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);

    } else if (!writable && c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }
}


static void
ngx_mail_queue_dns_event(ngx_event_t *ev)
{
    ares_socket_t      fd;
    ngx_connection_t  *c;

    c = ev->data;
    fd = c->fd;

    /* c may be freed by the callbacks: not used after this */
    if (ev->write) {
        ares_process_fd(ngx_mail_queue_dns_channel, ARES_SOCKET_BAD, fd);

    } else {
        ares_process_fd(ngx_mail_queue_dns_channel, fd, ARES_SOCKET_BAD);
    }

    ngx_mail_queue_dns_schedule();
}


static void
ngx_mail_queue_dns_timer_handler(ngx_event_t *ev)
{
    ares_process_fd(ngx_mail_queue_dns_channel, ARES_SOCKET_BAD,
                    ARES_SOCKET_BAD);

    ngx_mail_queue_dns_schedule();
}


static void
ngx_mail_queue_dns_schedule(void)
{
    ngx_msec_t       ms;
    struct timeval   tv, *tvp;

    tvp = ares_timeout(ngx_mail_queue_dns_channel, NULL, &tv);

    if (tvp == NULL) {
        if (ngx_mail_queue_dns_timer.timer_set) {
            ngx_del_timer(&ngx_mail_queue_dns_timer);
        }
        return;
    }

    ms = tvp->tv_sec * 1000 + tvp->tv_usec / 1000 + 1;

    ngx_add_timer(&ngx_mail_queue_dns_timer, ms);
}


void
ngx_mail_queue_dns_resolve(ngx_mail_queue_mx_t *mx, ngx_str_t *name,
    ngx_uint_t no_mx, ngx_mail_queue_dns_handler_pt handler, void *data)
{
    ngx_mail_queue_dns_ctx_t  *ctx;

    ctx = ngx_calloc(sizeof(ngx_mail_queue_dns_ctx_t),
                     ngx_mail_queue_dns_log);
    if (ctx == NULL) {
        ngx_memzero(mx, sizeof(ngx_mail_queue_mx_t));
        mx->result = NGX_MAIL_QUEUE_MX_TEMPORARY;
        mx->error = "out of memory";
        ngx_cpystrn((u_char *) mx->status, (u_char *) "4.3.0",
                    NGX_MAIL_QUEUE_MX_STATUS_LEN);
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

    ctx->pending = 1;

    ares_query(ngx_mail_queue_dns_channel, mx->domain, C_IN, T_MX,
               ngx_mail_queue_dns_mx_answer, ctx);

    ngx_mail_queue_dns_schedule();
}


static void
ngx_mail_queue_dns_mx_answer(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen)
{
    ngx_mail_queue_dns_ctx_t  *ctx = arg;

    ctx->pending--;

    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
        ngx_mail_queue_dns_finish(ctx);
        return;
    }

    if (ngx_mail_queue_mx_parse_mx(ctx->mx, status, abuf,
                                   alen < 0 ? 0 : (size_t) alen,
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

    ctx->pending += n;

    /* an answer may come at once (from a cache): count first */
    for (i = 0; i < n; i++) {
        q = &ctx->queries[i];
        ares_query(ngx_mail_queue_dns_channel, mx->hosts[q->host].name, C_IN,
                   q->family == NGX_MAIL_QUEUE_MX_A ? T_A : T_AAAA,
                   ngx_mail_queue_dns_addr_answer, q);
    }

    ngx_mail_queue_dns_schedule();
}


static void
ngx_mail_queue_dns_addr_answer(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen)
{
    ngx_mail_queue_dns_addr_t   *q = arg;
    ngx_mail_queue_dns_ctx_t    *ctx;

    ctx = q->ctx;

    (void) ngx_mail_queue_mx_parse_addr(ctx->mx, q->host, q->family, status,
                                        abuf, alen < 0 ? 0 : (size_t) alen);

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
