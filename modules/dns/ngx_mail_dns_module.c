
/*
 * ngx_mail_dns_module: c-ares on nginx's event loop.
 *
 * c-ares lets the caller own the waiting: it reports the sockets it
 * wants watched (ARES_OPT_SOCK_STATE_CB), nginx watches them, and
 * ares_process_fd() is called when one is ready or the next timeout is
 * due.  One channel per worker process, shared by the queue's MX
 * lookups and the spam checks' DNSBL and SPF queries.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include <ares.h>
#include <arpa/nameser.h>

#include "ngx_mail_dns.h"
#include "ngx_mail_server.h"


/* the sockets c-ares may have open at once: UDP and TCP per server */
#define NGX_MAIL_DNS_SOCKETS      32

/* dns_resolver's addresses as c-ares reads them, "a:53,[b]:53" */
#define NGX_MAIL_DNS_SERVERS_LEN  1024


typedef struct {
    ngx_array_t                *servers;      /* ngx_str_t */
    ngx_msec_t                  timeout;
} ngx_mail_dns_conf_t;


struct ngx_mail_dns_query_s {
    ngx_mail_dns_answer_pt      handler;
    void                       *data;

    /* an answer c-ares gave within ares_query(), for a posted event */
    ngx_event_t                 post;
    int                         status;
    u_char                     *abuf;
    size_t                      alen;
    unsigned                    asking:1;
    unsigned                    answered:1;
};


static void *ngx_mail_dns_create_conf(ngx_conf_t *cf);
static char *ngx_mail_dns_init_conf(ngx_conf_t *cf, void *conf);
static char *ngx_mail_dns_resolver(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_mail_dns_init_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_mail_dns_set_servers(ngx_cycle_t *cycle,
    ngx_mail_dns_conf_t *dcf);
static void ngx_mail_dns_answer(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen);
static void ngx_mail_dns_posted(ngx_event_t *ev);
static void ngx_mail_dns_sock_state(void *data, ares_socket_t fd,
    int readable, int writable);
static void ngx_mail_dns_event(ngx_event_t *ev);
static void ngx_mail_dns_timer_handler(ngx_event_t *ev);
static void ngx_mail_dns_schedule(void);


static ngx_command_t  ngx_mail_dns_commands[] = {

    { ngx_string("dns_resolver"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_1MORE,
      ngx_mail_dns_resolver,
      NGX_MAIL_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("dns_resolver_timeout"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_dns_conf_t, timeout),
      NULL },

      ngx_null_command
};


static ngx_mail_module_t  ngx_mail_dns_module_ctx = {
    NULL,                                  /* protocol */

    ngx_mail_dns_create_conf,              /* create main configuration */
    ngx_mail_dns_init_conf,                /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL                                   /* merge server configuration */
};


ngx_module_t  ngx_mail_dns_module = {
    NGX_MODULE_V1,
    &ngx_mail_dns_module_ctx,              /* module context */
    ngx_mail_dns_commands,                 /* module directives */
    NGX_MAIL_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_mail_dns_init_process,             /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ares_channel       ngx_mail_dns_channel;
static ngx_event_t        ngx_mail_dns_timer;
static ngx_connection_t  *ngx_mail_dns_conns[NGX_MAIL_DNS_SOCKETS];
static ngx_log_t         *ngx_mail_dns_log;
static ngx_uint_t         ngx_mail_dns_ready;


static void *
ngx_mail_dns_create_conf(ngx_conf_t *cf)
{
    ngx_mail_dns_conf_t  *dcf;

    dcf = ngx_pcalloc(cf->pool, sizeof(ngx_mail_dns_conf_t));
    if (dcf == NULL) {
        return NULL;
    }

    dcf->servers = NGX_CONF_UNSET_PTR;
    dcf->timeout = NGX_CONF_UNSET_MSEC;

    return dcf;
}


static char *
ngx_mail_dns_init_conf(ngx_conf_t *cf, void *conf)
{
    ngx_mail_dns_conf_t  *dcf = conf;

    ngx_conf_init_ptr_value(dcf->servers, NULL);
    ngx_conf_init_msec_value(dcf->timeout, 5000);

    return NGX_CONF_OK;
}


/*
 * Each address is checked here, so that a typo fails "nginx -t" rather
 * than every worker's start; the text is kept as given for c-ares.
 */

static char *
ngx_mail_dns_resolver(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mail_dns_conf_t  *dcf = conf;

    size_t      total;
    ngx_str_t  *value, *server;
    ngx_url_t   u;
    ngx_uint_t  i;

    if (dcf->servers != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    dcf->servers = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                    sizeof(ngx_str_t));
    if (dcf->servers == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;
    total = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url = value[i];
        u.default_port = 53;
        u.no_resolve = 1;

        /* c-ares asks IP addresses only: no name, socket path or "*" */
        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0
            || u.uri.len != 0 || u.family == AF_UNIX || u.wildcard)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid address \"%V\" in dns_resolver: %s",
                               &value[i], u.err ? u.err : "a server's IP "
                                                   "address is expected");
            return NGX_CONF_ERROR;
        }

        total += value[i].len + 1;

        if (total >= NGX_MAIL_DNS_SERVERS_LEN) {
            return "has too many addresses";
        }

        server = ngx_array_push(dcf->servers);
        if (server == NULL) {
            return NGX_CONF_ERROR;
        }

        *server = value[i];
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_mail_dns_init_process(ngx_cycle_t *cycle)
{
    int                   rc, mask;
    ngx_mail_dns_conf_t  *dcf;
    struct ares_options   opts;

    dcf = ngx_mail_server_main_conf(cycle, &ngx_mail_dns_module);
    if (dcf == NULL) {
        return NGX_OK;
    }

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "dns: ares_library_init() failed: %s",
                      ares_strerror(rc));
        return NGX_ERROR;
    }

    ngx_memzero(&opts, sizeof(struct ares_options));

    opts.sock_state_cb = ngx_mail_dns_sock_state;
    opts.sock_state_cb_data = NULL;
    opts.timeout = (int) dcf->timeout;
    opts.tries = 2;

    mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;

    /* /etc/resolv.conf, unless dns_resolver names the servers */
    rc = ares_init_options(&ngx_mail_dns_channel, &opts, mask);
    if (rc != ARES_SUCCESS) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "dns: ares_init_options() failed: %s",
                      ares_strerror(rc));
        return NGX_ERROR;
    }

    if (ngx_mail_dns_set_servers(cycle, dcf) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_mail_dns_log = cycle->log;

    ngx_mail_dns_timer.handler = ngx_mail_dns_timer_handler;
    ngx_mail_dns_timer.log = cycle->log;
    ngx_mail_dns_timer.data = NULL;

    /*
     * set only while queries wait: an exiting worker waits for their
     * answers, or the deliveries resolving would be left unfinished
     */
    ngx_mail_dns_timer.cancelable = 0;

    ngx_mail_dns_ready = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_mail_dns_set_servers(ngx_cycle_t *cycle, ngx_mail_dns_conf_t *dcf)
{
    int         rc;
    u_char     *p, *last;
    ngx_str_t  *server;
    ngx_uint_t  i;

    if (dcf->servers == NULL) {
        return NGX_OK;
    }

    p = ngx_pnalloc(cycle->pool, NGX_MAIL_DNS_SERVERS_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = p;
    server = dcf->servers->elts;

    /* fits: the directive counted the lengths */
    for (i = 0; i < dcf->servers->nelts; i++) {
        last = ngx_slprintf(last, p + NGX_MAIL_DNS_SERVERS_LEN - 1, "%s%V",
                            i ? "," : "", &server[i]);
    }

    *last = '\0';

    rc = ares_set_servers_ports_csv(ngx_mail_dns_channel, (char *) p);
    if (rc != ARES_SUCCESS) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "dns: invalid dns_resolver \"%s\": %s", p,
                      ares_strerror(rc));
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * c-ares answers some queries within ares_query() (a name it cannot
 * ask, no server): that answer waits for a posted event, so that the
 * handler is never called before this returns.  c-ares cannot cancel one
 * query, so a query is a small record whose handler a cancel clears: the
 * answer then only frees it.
 */

ngx_mail_dns_query_t *
ngx_mail_dns_query(const char *name, int type, ngx_mail_dns_answer_pt handler,
    void *data)
{
    ngx_mail_dns_query_t  *q;

    if (!ngx_mail_dns_ready) {
        return NULL;
    }

    q = ngx_alloc(sizeof(ngx_mail_dns_query_t), ngx_mail_dns_log);
    if (q == NULL) {
        return NULL;
    }

    ngx_memzero(q, sizeof(ngx_mail_dns_query_t));

    q->handler = handler;
    q->data = data;
    q->asking = 1;

    ares_query(ngx_mail_dns_channel, name, C_IN, type, ngx_mail_dns_answer, q);

    q->asking = 0;

    if (q->answered) {
        q->post.handler = ngx_mail_dns_posted;
        q->post.data = q;
        q->post.log = ngx_mail_dns_log;

        ngx_post_event(&q->post, &ngx_posted_events);
    }

    ngx_mail_dns_schedule();

    return q;
}


void
ngx_mail_dns_cancel(ngx_mail_dns_query_t *q)
{
    q->handler = NULL;
}


static void
ngx_mail_dns_answer(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
    ngx_mail_dns_query_t  *q = arg;

    void                    *data;
    ngx_mail_dns_answer_pt   handler;

    if (q->asking) {
        /* c-ares frees abuf when this returns */
        q->status = status;
        q->answered = 1;

        if (abuf != NULL && alen > 0) {
            q->abuf = ngx_alloc(alen, ngx_mail_dns_log);

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
ngx_mail_dns_posted(ngx_event_t *ev)
{
    ngx_mail_dns_query_t  *q = ev->data;

    ngx_mail_dns_query_t  copy;

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
ngx_mail_dns_sock_state(void *data, ares_socket_t fd, int readable,
    int writable)
{
    ngx_uint_t         i, free_slot;
    ngx_connection_t  *c;

    c = NULL;
    free_slot = NGX_MAIL_DNS_SOCKETS;

    for (i = 0; i < NGX_MAIL_DNS_SOCKETS; i++) {
        if (ngx_mail_dns_conns[i] == NULL) {
            if (free_slot == NGX_MAIL_DNS_SOCKETS) {
                free_slot = i;
            }
            continue;
        }

        if (ngx_mail_dns_conns[i]->fd == fd) {
            c = ngx_mail_dns_conns[i];
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

        ngx_mail_dns_conns[i] = NULL;

        /* c-ares closes the socket: the structure must not claim it */
        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        return;
    }

    if (c == NULL) {
        if (free_slot == NGX_MAIL_DNS_SOCKETS) {
            ngx_log_error(NGX_LOG_ALERT, ngx_mail_dns_log, 0,
                          "dns: too many DNS sockets");
            return;
        }

        c = ngx_get_connection(fd, ngx_mail_dns_log);
        if (c == NULL) {
            return;
        }

        c->read->handler = ngx_mail_dns_event;
        c->write->handler = ngx_mail_dns_event;
        c->read->log = ngx_mail_dns_log;
        c->write->log = ngx_mail_dns_log;
        c->log = ngx_mail_dns_log;

        /*
         * c-ares keeps its sockets between queries; as for nginx's own
         * resolver, an exiting worker leaves them to the process's end
         */
        c->read->resolver = 1;

        ngx_mail_dns_conns[free_slot] = c;
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
ngx_mail_dns_event(ngx_event_t *ev)
{
    ares_socket_t      fd;
    ngx_connection_t  *c;

    c = ev->data;
    fd = c->fd;

    /* c may be freed by the callbacks: not used after this */
    if (ev->write) {
        ares_process_fd(ngx_mail_dns_channel, ARES_SOCKET_BAD, fd);

    } else {
        ares_process_fd(ngx_mail_dns_channel, fd, ARES_SOCKET_BAD);
    }

    ngx_mail_dns_schedule();
}


static void
ngx_mail_dns_timer_handler(ngx_event_t *ev)
{
    ares_process_fd(ngx_mail_dns_channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);

    ngx_mail_dns_schedule();
}


static void
ngx_mail_dns_schedule(void)
{
    ngx_msec_t       ms;
    struct timeval   tv, *tvp;

    tvp = ares_timeout(ngx_mail_dns_channel, NULL, &tv);

    if (tvp == NULL) {
        if (ngx_mail_dns_timer.timer_set) {
            ngx_del_timer(&ngx_mail_dns_timer);
        }
        return;
    }

    ms = tvp->tv_sec * 1000 + tvp->tv_usec / 1000 + 1;

    ngx_add_timer(&ngx_mail_dns_timer, ms);
}
