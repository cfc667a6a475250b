
/*
 * The queue's SMTP client: one destination (a domain, or the relayhost)
 * of one message, all its recipients in one transaction (RFC 5321 3.3).
 *
 * The hosts come from DNS in the order to try.  A connection that fails
 * before MAIL (no answer, a greeting or EHLO that is not 2xx, TLS that
 * is required and missing) moves on to the next address; once MAIL is
 * sent the connection decides for the recipients it was given.  With
 * PIPELINING (RFC 2920) MAIL, every RCPT and DATA go in one write and
 * the replies are matched in order; without it, one at a time.  The
 * content comes from Redis in chunks, dot-stuffed on the way.
 *
 * A connection whose transaction ended cleanly is kept for the next
 * message to the destination (ngx_mail_queue_cache.c); that one tries
 * it with RSET before anything else, and on any other answer closes it
 * and starts afresh, with DNS: a stale connection costs a round trip,
 * never a recipient.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include "ngx_mail_queue.h"
#include "ngx_mail_queue_downgrade.h"


#define NGX_MAIL_QUEUE_SMTP_CHUNK  65536


typedef enum {
    NGX_MAIL_QUEUE_SMTP_GREETING = 0,
    NGX_MAIL_QUEUE_SMTP_EHLO,
    NGX_MAIL_QUEUE_SMTP_HELO,
    NGX_MAIL_QUEUE_SMTP_STARTTLS,
    NGX_MAIL_QUEUE_SMTP_AUTH,
    NGX_MAIL_QUEUE_SMTP_RSET,
    NGX_MAIL_QUEUE_SMTP_MAIL,
    NGX_MAIL_QUEUE_SMTP_RCPT,
    NGX_MAIL_QUEUE_SMTP_DATA,
    NGX_MAIL_QUEUE_SMTP_CONTENT,
    NGX_MAIL_QUEUE_SMTP_DOT,
    NGX_MAIL_QUEUE_SMTP_QUIT
} ngx_mail_queue_smtp_state_e;


typedef struct {
    ngx_mail_queue_dest_t      *dest;
    ngx_mail_queue_job_t       *job;
    ngx_mail_queue_conf_t      *qcf;
    ngx_pool_t                 *pool;

    ngx_mail_queue_mx_t        *mx;
    ngx_uint_t                  host;
    ngx_uint_t                  addr;
    ngx_str_t                   host_name;
    ngx_uint_t                  tls_level;
    unsigned                    relay:1;

    ngx_peer_connection_t       peer;
    ngx_mail_queue_conn_t      *conn;       /* kept, if it was before */
    ngx_uint_t                  reused;     /* transactions before ours */
    time_t                      connect_time;
    struct sockaddr_in6         sockaddr;   /* room for either family */
    ngx_str_t                   peer_name;
    u_char                      peer_text[NGX_SOCKADDR_STRLEN];

    ngx_buf_t                  *in;
    ngx_buf_t                  *out;
    ngx_mail_queue_reply_t      reply;
    ngx_mail_queue_smtp_state_e state;

    unsigned                    extensions;
    unsigned                    auth;
    uint64_t                    peer_size;

    ngx_uint_t                  next_rcpt;      /* whose reply is next */
    ngx_uint_t                  accepted;
    ngx_uint_t                  replies_left;   /* pipelined, unread */

    ngx_buf_t                  *envelope;       /* commands */
    ngx_buf_t                  *content;        /* dot-stuffed chunks */
    off_t                       offset;         /* of the content read */
    ngx_str_t                   mem;            /* converted content */
    ngx_mail_redis_request_t   *redis;

    ngx_str_t                   error;          /* why the last failed */
    ngx_uint_t                  error_code;
    ngx_str_t                   error_status;

    unsigned                    tls:1;
    unsigned                    connected:1;
    unsigned                    bol:1;          /* content at line start */
    unsigned                    content_done:1;
    unsigned                    use_mem:1;
    unsigned                    broken:1;
    unsigned                    cork:1;         /* commands wait to go */
    unsigned                    transaction:1;  /* MAIL sent */
    unsigned                    probing:1;      /* RSET on a kept one */
    unsigned                    resolved:1;     /* mx holds the hosts */
    unsigned                    closing:1;      /* the server said 421 */
} ngx_mail_queue_smtp_t;


static void ngx_mail_queue_smtp_resolve(ngx_mail_queue_smtp_t *sc);
static ngx_int_t ngx_mail_queue_smtp_reuse(ngx_mail_queue_smtp_t *sc);
static ngx_int_t ngx_mail_queue_smtp_restore(ngx_mail_queue_smtp_t *sc,
    ngx_mail_queue_conn_t *conn);
static void ngx_mail_queue_smtp_stale(ngx_mail_queue_smtp_t *sc,
    const char *why);
static void ngx_mail_queue_smtp_resolved(ngx_mail_queue_mx_t *mx,
    void *data);
static void ngx_mail_queue_smtp_next(ngx_mail_queue_smtp_t *sc);
static void ngx_mail_queue_smtp_connected(ngx_event_t *wev);
static void ngx_mail_queue_smtp_read_handler(ngx_event_t *rev);
static void ngx_mail_queue_smtp_write_handler(ngx_event_t *wev);
static ngx_int_t ngx_mail_queue_smtp_flush(ngx_mail_queue_smtp_t *sc);
static ngx_int_t ngx_mail_queue_smtp_reply(ngx_mail_queue_smtp_t *sc);
static ngx_int_t ngx_mail_queue_smtp_hello(ngx_mail_queue_smtp_t *sc);
static ngx_int_t ngx_mail_queue_smtp_after_hello(ngx_mail_queue_smtp_t *sc);
static ngx_int_t ngx_mail_queue_smtp_starttls(ngx_mail_queue_smtp_t *sc);
static void ngx_mail_queue_smtp_handshaken(ngx_connection_t *c);
static ngx_int_t ngx_mail_queue_smtp_auth(ngx_mail_queue_smtp_t *sc);
static ngx_int_t ngx_mail_queue_smtp_transaction(ngx_mail_queue_smtp_t *sc);
static ngx_int_t ngx_mail_queue_smtp_send_mail(ngx_mail_queue_smtp_t *sc);
static ngx_int_t ngx_mail_queue_smtp_send_rcpt(ngx_mail_queue_smtp_t *sc,
    ngx_uint_t i);
static ngx_int_t ngx_mail_queue_smtp_envelope_reply(
    ngx_mail_queue_smtp_t *sc);
static ngx_int_t ngx_mail_queue_smtp_load_whole(ngx_mail_queue_smtp_t *sc);
static void ngx_mail_queue_smtp_whole(redisReply *reply, void *data);
static size_t ngx_mail_queue_smtp_return_path(u_char *p, size_t len);
static ngx_int_t ngx_mail_queue_smtp_content_start(ngx_mail_queue_smtp_t *sc);
static void ngx_mail_queue_smtp_mem_chunk(ngx_mail_queue_smtp_t *sc);
static void ngx_mail_queue_smtp_read_on(ngx_mail_queue_smtp_t *sc);
static ngx_int_t ngx_mail_queue_smtp_fetch(ngx_mail_queue_smtp_t *sc);
static void ngx_mail_queue_smtp_chunk(redisReply *reply, void *data);
static void ngx_mail_queue_smtp_stuff(ngx_mail_queue_smtp_t *sc, u_char *p,
    size_t len, ngx_uint_t last);
static void ngx_mail_queue_smtp_data_reply(ngx_mail_queue_smtp_t *sc);
static ngx_int_t ngx_mail_queue_smtp_write(ngx_mail_queue_smtp_t *sc,
    const char *fmt, ...);
static void ngx_mail_queue_smtp_host_failed(ngx_mail_queue_smtp_t *sc,
    const char *why);
static void ngx_mail_queue_smtp_lost(ngx_mail_queue_smtp_t *sc,
    const char *why);
static void ngx_mail_queue_smtp_settle_rest(ngx_mail_queue_smtp_t *sc,
    ngx_mail_queue_rcpt_state_e state, ngx_uint_t code, ngx_str_t *status,
    ngx_str_t *text);
static void ngx_mail_queue_smtp_reply_result(ngx_mail_queue_smtp_t *sc,
    ngx_mail_queue_rcpt_t *rcpt);
static void ngx_mail_queue_smtp_close(ngx_mail_queue_smtp_t *sc);
static ngx_int_t ngx_mail_queue_smtp_park(ngx_mail_queue_smtp_t *sc);
static ngx_int_t ngx_mail_queue_smtp_keep_state(ngx_mail_queue_smtp_t *sc);
static void ngx_mail_queue_smtp_finish(ngx_mail_queue_smtp_t *sc);
static void ngx_mail_queue_smtp_recorded(redisReply *reply, void *data);
static ngx_uint_t ngx_mail_queue_smtp_tls_level(ngx_mail_queue_conf_t *qcf,
    ngx_str_t *domain);


void
ngx_mail_queue_smtp_start(ngx_mail_queue_dest_t *dest)
{
    ngx_mail_queue_smtp_t   *sc;
    ngx_mail_queue_conf_t   *qcf;

    qcf = ngx_mail_queue_conf();

    sc = ngx_pcalloc(dest->job->pool, sizeof(ngx_mail_queue_smtp_t));
    if (sc == NULL) {
        ngx_mail_queue_dest_done(dest);
        return;
    }

    sc->dest = dest;
    sc->job = dest->job;
    sc->qcf = qcf;
    sc->pool = dest->job->pool;
    sc->relay = qcf->relayhost.len ? 1 : 0;
    sc->tls_level = ngx_mail_queue_smtp_tls_level(qcf, &dest->domain);

    sc->mx = ngx_palloc(sc->pool, sizeof(ngx_mail_queue_mx_t));
    sc->in = ngx_create_temp_buf(sc->pool, 4096);

    if (sc->mx == NULL || sc->in == NULL) {
        ngx_mail_queue_dest_done(dest);
        return;
    }

    ngx_str_set(&sc->error, "no host tried");
    ngx_str_set(&sc->error_status, "4.4.1");

    if (ngx_mail_queue_smtp_reuse(sc) == NGX_OK) {
        return;
    }

    ngx_mail_queue_smtp_resolve(sc);
}


static void
ngx_mail_queue_smtp_resolve(ngx_mail_queue_smtp_t *sc)
{
    ngx_str_t  *name;

    name = sc->relay ? &sc->qcf->relayhost : &sc->dest->domain;

    ngx_mail_queue_dns_resolve(sc->mx, name, sc->relay,
                               ngx_mail_queue_smtp_resolved, sc);
}


/*
 * A kept connection to the destination, made for the same TLS level:
 * RSET first (RFC 5321 4.1.1.5), as Postfix does, for the server may
 * have gone meanwhile.  NGX_OK: the connection is ours, or the attempt
 * to use it has already fallen back to a new one.
 */

static ngx_int_t
ngx_mail_queue_smtp_reuse(ngx_mail_queue_smtp_t *sc)
{
    ngx_str_t              *name;
    ngx_connection_t       *c;
    ngx_mail_queue_conn_t  *conn;

    if (sc->qcf->cache_time == 0) {
        return NGX_DECLINED;
    }

    name = sc->relay ? &sc->qcf->relayhost : &sc->dest->domain;

    conn = ngx_mail_queue_cache_take(name, sc->tls_level, sc->relay);
    if (conn == NULL) {
        return NGX_DECLINED;
    }

    c = conn->connection;

    if (ngx_mail_queue_smtp_restore(sc, conn) != NGX_OK) {
        ngx_mail_queue_conn_close(c, 1);
        return NGX_DECLINED;
    }

    c->data = sc;
    c->log = sc->job->log;
    c->read->log = c->log;
    c->write->log = c->log;
    c->read->handler = ngx_mail_queue_smtp_read_handler;
    c->write->handler = ngx_mail_queue_smtp_write_handler;

    ngx_log_debug4(NGX_LOG_DEBUG_MAIL, sc->job->log, 0,
                   "queue: %V: reusing connection to %V[%V], %ui before",
                   &sc->job->id, &sc->host_name, &sc->peer_name,
                   sc->reused);

    sc->state = NGX_MAIL_QUEUE_SMTP_RSET;
    ngx_mail_queue_reply_init(&sc->reply, 0);

    if (ngx_mail_queue_smtp_write(sc, "RSET\r\n") != NGX_OK) {
        /* lost, and fallen back already */
        return NGX_OK;
    }

    /* a server gone silent is not waited for as long as for a reply */
    ngx_add_timer(c->read, ngx_min(sc->qcf->timeout,
                                   sc->qcf->connect_timeout));

    /*
     * what came while the connection was idle (a 421, the end) raises no
     * new edge-triggered event: the handler looks now
     */
    if (c->read->ready) {
        ngx_post_event(c->read, &ngx_posted_events);
    }

    ngx_mail_queue_smtp_read_on(sc);

    return NGX_OK;
}


/* what the connection learnt before, as if it had just said EHLO */

static ngx_int_t
ngx_mail_queue_smtp_restore(ngx_mail_queue_smtp_t *sc,
    ngx_mail_queue_conn_t *conn)
{
    /* the job's copies: the connection's pool may go before the job */
    sc->host_name.data = ngx_pstrdup(sc->pool, &conn->host_name);
    sc->host_name.len = conn->host_name.len;

    if (sc->host_name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(&sc->sockaddr, &conn->sockaddr, sizeof(sc->sockaddr));
    sc->peer.sockaddr = (struct sockaddr *) &sc->sockaddr;
    sc->peer.socklen = conn->socklen;
    sc->peer_name.data = sc->peer_text;
    sc->peer_name.len = ngx_min(conn->peer_name.len, NGX_SOCKADDR_STRLEN);
    ngx_memcpy(sc->peer_text, conn->peer_name.data, sc->peer_name.len);
    sc->peer.name = &sc->peer_name;
    sc->peer.connection = conn->connection;

    sc->conn = conn;
    sc->reused = conn->uses;
    sc->extensions = conn->extensions;
    sc->auth = conn->auth;
    sc->peer_size = conn->peer_size;
    sc->tls = conn->tls;
    sc->connected = 1;
    sc->probing = 1;

    return NGX_OK;
}


/* the kept connection cannot be used: a new one, as if there was none */

static void
ngx_mail_queue_smtp_stale(ngx_mail_queue_smtp_t *sc, const char *why)
{
    if (sc->reply.code) {
        ngx_log_error(NGX_LOG_INFO, sc->job->log, 0,
                      "queue: %V: kept connection to %V[%V] not reused: "
                      "%s %ui %V", &sc->job->id, &sc->host_name,
                      &sc->peer_name, why, (ngx_uint_t) sc->reply.code,
                      &sc->reply.text);

    } else {
        ngx_log_error(NGX_LOG_INFO, sc->job->log, 0,
                      "queue: %V: kept connection to %V[%V] not reused: %s",
                      &sc->job->id, &sc->host_name, &sc->peer_name, why);
    }

    sc->broken = sc->reply.code ? 0 : 1;
    ngx_mail_queue_smtp_close(sc);

    sc->probing = 0;
    sc->broken = 0;
    sc->closing = 0;
    sc->conn = NULL;
    sc->reused = 0;
    sc->connected = 0;
    ngx_str_null(&sc->host_name);
    ngx_str_set(&sc->error_status, "4.4.1");

    ngx_mail_queue_smtp_resolve(sc);
}


static void
ngx_mail_queue_smtp_resolved(ngx_mail_queue_mx_t *mx, void *data)
{
    ngx_mail_queue_smtp_t  *sc = data;

    ngx_str_t  status, text;

    if (mx->result != NGX_MAIL_QUEUE_MX_OK) {
        status.data = (u_char *) mx->status;
        status.len = ngx_strlen(mx->status);
        text.data = (u_char *) (mx->error ? mx->error : "DNS lookup failed");
        text.len = ngx_strlen(text.data);

        ngx_log_error(NGX_LOG_NOTICE, sc->job->log, 0,
                      "queue: %V: %V: %V (%V)", &sc->job->id,
                      &sc->dest->domain, &text, &status);

        ngx_mail_queue_smtp_settle_rest(sc,
            mx->result == NGX_MAIL_QUEUE_MX_PERMANENT
            ? NGX_MAIL_QUEUE_RCPT_FAILED : NGX_MAIL_QUEUE_RCPT_DEFERRED,
            0, &status, &text);
        ngx_mail_queue_smtp_finish(sc);
        return;
    }

    sc->host = 0;
    sc->addr = 0;
    sc->resolved = 1;

    ngx_mail_queue_smtp_next(sc);
}


/* the next address of the current host, or the next host */

static void
ngx_mail_queue_smtp_next(ngx_mail_queue_smtp_t *sc)
{
    ngx_int_t                  rc;
    ngx_connection_t          *c;
    ngx_mail_queue_mx_host_t  *h;
    ngx_mail_queue_mx_addr_t  *a;
    struct sockaddr_in        *sin;
    in_port_t                  port;

    for ( ;; ) {
        if (sc->host >= sc->mx->nhosts) {
            /*
             * every host failed before a transaction: the last reason
             * stands for all, and it is temporary even when a server
             * said 5xx to its greeting, EHLO or AUTH — a refusal of
             * this connection, not of the mail; queue_lifetime ends it
             */
            ngx_mail_queue_smtp_settle_rest(sc, NGX_MAIL_QUEUE_RCPT_DEFERRED,
                sc->error_code, &sc->error_status, &sc->error);
            ngx_mail_queue_smtp_finish(sc);
            return;
        }

        h = &sc->mx->hosts[sc->host];

        if (sc->addr < h->naddrs) {
            break;
        }

        sc->host++;
        sc->addr = 0;
    }

    a = &h->addrs[sc->addr++];

    sc->host_name.data = (u_char *) h->name;
    sc->host_name.len = h->name_len;

    port = sc->relay ? sc->qcf->relay_port : sc->qcf->smtp_port;

    ngx_memzero(&sc->sockaddr, sizeof(sc->sockaddr));

#if (NGX_HAVE_INET6)
    if (a->family == NGX_MAIL_QUEUE_MX_AAAA) {
        sc->sockaddr.sin6_family = AF_INET6;
        sc->sockaddr.sin6_port = htons(port);
        ngx_memcpy(&sc->sockaddr.sin6_addr, a->addr, 16);
        sc->peer.socklen = sizeof(struct sockaddr_in6);

    } else
#endif
    {
        sin = (struct sockaddr_in *) &sc->sockaddr;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        ngx_memcpy(&sin->sin_addr, a->addr, 4);
        sc->peer.socklen = sizeof(struct sockaddr_in);
    }

    sc->peer.sockaddr = (struct sockaddr *) &sc->sockaddr;
    sc->peer_name.data = sc->peer_text;
    sc->peer_name.len = ngx_sock_ntop(sc->peer.sockaddr, sc->peer.socklen,
                                      sc->peer_text, NGX_SOCKADDR_STRLEN, 1);
    sc->peer.name = &sc->peer_name;
    sc->peer.get = ngx_event_get_peer;
    sc->peer.log = sc->job->log;
    sc->peer.log_error = NGX_ERROR_ERR;
    sc->peer.connection = NULL;
    sc->peer.tries = 1;

    sc->state = NGX_MAIL_QUEUE_SMTP_GREETING;
    sc->extensions = 0;
    sc->auth = 0;
    sc->peer_size = 0;
    sc->tls = 0;
    sc->connected = 0;
    sc->transaction = 0;
    sc->closing = 0;
    sc->in->pos = sc->in->start;
    sc->in->last = sc->in->start;
    ngx_mail_queue_reply_init(&sc->reply, 0);

    ngx_log_debug3(NGX_LOG_DEBUG_MAIL, sc->job->log, 0,
                   "queue: %V: connecting to %s[%V]", &sc->job->id,
                   h->name, &sc->peer_name);

    rc = ngx_event_connect_peer(&sc->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        sc->peer.connection = NULL;
        sc->reply.code = 0;
        ngx_str_set(&sc->error_status, "4.4.1");
        ngx_mail_queue_smtp_host_failed(sc, "cannot connect");
        return;
    }

    c = sc->peer.connection;
    c->data = sc;
    c->log = sc->job->log;

    /* its own: a connection kept for the next message outlives the job */
    c->pool = ngx_create_pool(1024, sc->job->log);
    if (c->pool == NULL) {
        ngx_str_set(&sc->error_status, "4.4.1");
        ngx_mail_queue_smtp_host_failed(sc, "out of memory connecting to");
        return;
    }

    c->read->log = c->log;
    c->write->log = c->log;
    /* whichever event comes first tells how the connect went */
    c->read->handler = ngx_mail_queue_smtp_connected;
    c->write->handler = ngx_mail_queue_smtp_connected;

    if (rc == NGX_AGAIN) {
        ngx_add_timer(c->write, sc->qcf->connect_timeout);
        return;
    }

    ngx_mail_queue_smtp_connected(c->write);
}


static void
ngx_mail_queue_smtp_connected(ngx_event_t *ev)
{
    int                     err;
    socklen_t               len;
    ngx_event_t            *wev;
    ngx_connection_t       *c;
    ngx_mail_queue_smtp_t  *sc;

    c = ev->data;
    sc = c->data;
    wev = c->write;

    ngx_str_set(&sc->error_status, "4.4.1");
    sc->reply.code = 0;

    if (wev->timedout) {
        ngx_mail_queue_smtp_host_failed(sc, "connection timed out");
        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_log_error(NGX_LOG_INFO, c->log, err, "queue: %V: connect to %V",
                      &sc->job->id, &sc->peer_name);
        ngx_mail_queue_smtp_host_failed(sc, "connection refused");
        return;
    }

    sc->connected = 1;
    sc->connect_time = ngx_time();

    /* commands are written whole: no reason to wait for an ACK first */
    (void) ngx_tcp_nodelay(c);

    c->read->handler = ngx_mail_queue_smtp_read_handler;
    c->write->handler = ngx_mail_queue_smtp_write_handler;

    ngx_add_timer(c->read, sc->qcf->timeout);

    if (c->read->ready) {
        ngx_mail_queue_smtp_read_handler(c->read);
    }
}


static void
ngx_mail_queue_smtp_read_handler(ngx_event_t *rev)
{
    int                     rc;
    size_t                  consumed;
    ssize_t                 n;
    ngx_connection_t       *c;
    ngx_mail_queue_smtp_t  *sc;

    c = rev->data;
    sc = c->data;

    if (rev->timedout) {
        ngx_mail_queue_smtp_lost(sc, "timed out");
        return;
    }

    for ( ;; ) {

        if (sc->in->pos == sc->in->last) {
            sc->in->pos = sc->in->start;
            sc->in->last = sc->in->start;

            n = c->recv(c, sc->in->last, sc->in->end - sc->in->last);

            if (n == NGX_AGAIN) {
                break;
            }

            if (n == NGX_ERROR || n == 0) {
                ngx_mail_queue_smtp_lost(sc, "lost connection");
                return;
            }

            sc->in->last += n;
        }

        /* replies not asked for: the server is not in step with us */
        if (sc->state == NGX_MAIL_QUEUE_SMTP_CONTENT) {
            ngx_mail_queue_smtp_lost(sc, "unexpected reply during data");
            return;
        }

        /* nothing was asked while the message is read for conversion */
        if (sc->redis) {
            ngx_mail_queue_smtp_lost(sc, "unexpected reply");
            return;
        }

        rc = ngx_mail_queue_reply_parse(&sc->reply, sc->in->pos,
                                        sc->in->last - sc->in->pos,
                                        &consumed);
        sc->in->pos += consumed;

        if (rc == NGX_MAIL_QUEUE_PARSE_AGAIN) {
            continue;
        }

        if (rc == NGX_MAIL_QUEUE_PARSE_ERROR) {
            ngx_log_error(NGX_LOG_NOTICE, c->log, 0,
                          "queue: %V: malformed reply from %V: %s",
                          &sc->job->id, &sc->peer_name,
                          ngx_mail_queue_reply_strerror(sc->reply.error));
            ngx_mail_queue_smtp_lost(sc, "malformed reply");
            return;
        }

        if (sc->reply.code == 421) {
            sc->closing = 1;
        }

        /*
         * the timer bounds the time to a complete reply, not between
         * octets: a server that drips its reply cannot hold us longer
         */
        if (rev->timer_set) {
            ngx_del_timer(rev);
        }

        if (ngx_mail_queue_smtp_reply(sc) != NGX_OK) {
            /* the connection is closed, or handed to the next state */
            return;
        }
    }

    if (sc->state == NGX_MAIL_QUEUE_SMTP_CONTENT) {
        /* the content is being sent: its writes have the timer */
        if (ngx_handle_read_event(rev, 0) != NGX_OK) {
            ngx_mail_queue_smtp_lost(sc, "event error");
        }

        return;
    }

    ngx_mail_queue_smtp_read_on(sc);
}


static void
ngx_mail_queue_smtp_write_handler(ngx_event_t *wev)
{
    ngx_connection_t       *c;
    ngx_mail_queue_smtp_t  *sc;

    c = wev->data;
    sc = c->data;

    if (wev->timedout) {
        ngx_mail_queue_smtp_lost(sc, "timed out sending");
        return;
    }

    (void) ngx_mail_queue_smtp_flush(sc);
}


/*
 * Sends the output buffer.  Once it is out during the content, the next
 * chunk is fetched; NGX_ERROR means the connection is gone.
 */

static ngx_int_t
ngx_mail_queue_smtp_flush(ngx_mail_queue_smtp_t *sc)
{
    ssize_t            n;
    ngx_buf_t         *b;
    ngx_connection_t  *c;

    c = sc->peer.connection;

    for ( ;; ) {
        b = sc->out;

        while (b && b->pos < b->last) {
            n = c->send(c, b->pos, b->last - b->pos);

            if (n == NGX_ERROR) {
                ngx_mail_queue_smtp_lost(sc, "lost connection sending");
                return NGX_ERROR;
            }

            if (n == NGX_AGAIN || n == 0) {
                if (!c->write->timer_set) {
                    ngx_add_timer(c->write, sc->qcf->timeout);
                }

                if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                    ngx_mail_queue_smtp_lost(sc, "event error");
                    return NGX_ERROR;
                }

                return NGX_AGAIN;
            }

            b->pos += n;
        }

        if (c->write->timer_set) {
            ngx_del_timer(c->write);
        }

        if (b) {
            b->pos = b->start;
            b->last = b->start;
        }

        if (sc->state != NGX_MAIL_QUEUE_SMTP_CONTENT || sc->redis) {
            return NGX_OK;
        }

        if (sc->content_done) {
            sc->state = NGX_MAIL_QUEUE_SMTP_DOT;
            ngx_mail_queue_smtp_read_on(sc);
            return NGX_OK;
        }

        if (!sc->use_mem) {
            return ngx_mail_queue_smtp_fetch(sc);
        }

        ngx_mail_queue_smtp_mem_chunk(sc);
    }
}


static void
ngx_mail_queue_smtp_read_on(ngx_mail_queue_smtp_t *sc)
{
    ngx_connection_t  *c;

    c = sc->peer.connection;

    if (c == NULL) {
        return;
    }

    if (!c->read->timer_set) {
        ngx_add_timer(c->read, sc->qcf->timeout);
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_mail_queue_smtp_lost(sc, "event error");
    }
}


/* one complete reply: NGX_OK to read on, else the connection moved on */

static ngx_int_t
ngx_mail_queue_smtp_reply(ngx_mail_queue_smtp_t *sc)
{
    unsigned  code;

    code = sc->reply.code;

    ngx_log_debug3(NGX_LOG_DEBUG_MAIL, sc->job->log, 0,
                   "queue: %V: reply %ui in state %ui", &sc->job->id,
                   (ngx_uint_t) code, (ngx_uint_t) sc->state);

    switch (sc->state) {

    case NGX_MAIL_QUEUE_SMTP_GREETING:
        if (code / 100 != 2) {
            ngx_mail_queue_smtp_host_failed(sc, "greeting");
            return NGX_ERROR;
        }

        sc->state = NGX_MAIL_QUEUE_SMTP_EHLO;
        return ngx_mail_queue_smtp_hello(sc);

    case NGX_MAIL_QUEUE_SMTP_EHLO:
        if (code / 100 == 2) {
            sc->extensions = sc->reply.extensions;
            sc->auth = sc->reply.auth;
            sc->peer_size = sc->reply.size;
            return ngx_mail_queue_smtp_after_hello(sc);
        }

        /* RFC 5321 3.2: a server that does not know EHLO gets HELO */
        if (code / 100 == 5) {
            sc->state = NGX_MAIL_QUEUE_SMTP_HELO;
            return ngx_mail_queue_smtp_hello(sc);
        }

        ngx_mail_queue_smtp_host_failed(sc, "EHLO");
        return NGX_ERROR;

    case NGX_MAIL_QUEUE_SMTP_HELO:
        if (code / 100 != 2) {
            ngx_mail_queue_smtp_host_failed(sc, "HELO");
            return NGX_ERROR;
        }

        return ngx_mail_queue_smtp_after_hello(sc);

    case NGX_MAIL_QUEUE_SMTP_STARTTLS:
        if (code != 220) {
            ngx_mail_queue_smtp_host_failed(sc, "STARTTLS");
            return NGX_ERROR;
        }

        return ngx_mail_queue_smtp_starttls(sc);

    case NGX_MAIL_QUEUE_SMTP_AUTH:
        if (code != 235) {
            ngx_mail_queue_smtp_host_failed(sc, "AUTH");
            return NGX_ERROR;
        }

        return ngx_mail_queue_smtp_transaction(sc);

    case NGX_MAIL_QUEUE_SMTP_RSET:
        if (code != 250) {
            ngx_mail_queue_smtp_stale(sc, "RSET answered");
            return NGX_ERROR;
        }

        /* more than the reply: not in step, whatever it said */
        if (sc->in->pos != sc->in->last) {
            ngx_mail_queue_smtp_stale(sc, "more than the reply to RSET, "
                                          "after");
            return NGX_ERROR;
        }

        sc->probing = 0;
        return ngx_mail_queue_smtp_transaction(sc);

    case NGX_MAIL_QUEUE_SMTP_MAIL:
    case NGX_MAIL_QUEUE_SMTP_RCPT:
    case NGX_MAIL_QUEUE_SMTP_DATA:
        return ngx_mail_queue_smtp_envelope_reply(sc);

    case NGX_MAIL_QUEUE_SMTP_DOT:
        ngx_mail_queue_smtp_data_reply(sc);
        return NGX_ERROR;

    default: /* quit, content */
        ngx_mail_queue_smtp_finish(sc);
        return NGX_ERROR;
    }
}


static ngx_int_t
ngx_mail_queue_smtp_hello(ngx_mail_queue_smtp_t *sc)
{
    ngx_mail_queue_reply_init(&sc->reply,
                              sc->state == NGX_MAIL_QUEUE_SMTP_EHLO
                              ? NGX_MAIL_QUEUE_REPLY_EHLO : 0);

    return ngx_mail_queue_smtp_write(sc, "%s %V\r\n",
                                     sc->state == NGX_MAIL_QUEUE_SMTP_EHLO
                                     ? "EHLO" : "HELO",
                                     &sc->qcf->helo_name);
}


static ngx_int_t
ngx_mail_queue_smtp_after_hello(ngx_mail_queue_smtp_t *sc)
{
    if (!sc->tls && sc->tls_level != NGX_MAIL_QUEUE_TLS_OFF
        && sc->qcf->ssl != NULL
        && (sc->extensions & NGX_MAIL_QUEUE_EXT_STARTTLS))
    {
        sc->state = NGX_MAIL_QUEUE_SMTP_STARTTLS;
        ngx_mail_queue_reply_init(&sc->reply, 0);
        return ngx_mail_queue_smtp_write(sc, "STARTTLS\r\n");
    }

    if (!sc->tls && sc->tls_level >= NGX_MAIL_QUEUE_TLS_ENCRYPT) {
        sc->reply.code = 0;
        ngx_str_set(&sc->error_status, "4.7.4");
        ngx_mail_queue_smtp_host_failed(sc, "TLS is required, but was not "
                                        "offered by");
        return NGX_ERROR;
    }

    if (sc->relay && sc->qcf->relay_user.len) {
        /* the password goes in clear only where TLS was turned off */
        if (!sc->tls && sc->tls_level != NGX_MAIL_QUEUE_TLS_OFF) {
            sc->reply.code = 0;
            ngx_str_set(&sc->error_status, "4.7.0");
            ngx_mail_queue_smtp_host_failed(sc, "no STARTTLS for AUTH at");
            return NGX_ERROR;
        }

        return ngx_mail_queue_smtp_auth(sc);
    }

    return ngx_mail_queue_smtp_transaction(sc);
}


static ngx_int_t
ngx_mail_queue_smtp_starttls(ngx_mail_queue_smtp_t *sc)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    c = sc->peer.connection;

    /* octets after the 220 would be read as if they came under TLS */
    if (sc->in->pos != sc->in->last) {
        ngx_mail_queue_smtp_lost(sc, "data after STARTTLS reply");
        return NGX_ERROR;
    }

    if (ngx_ssl_create_connection(sc->qcf->ssl, c,
                                  NGX_SSL_BUFFER|NGX_SSL_CLIENT)
        != NGX_OK)
    {
        ngx_mail_queue_smtp_host_failed(sc, "TLS setup");
        return NGX_ERROR;
    }

#ifdef SSL_CTRL_SET_TLSEXT_HOSTNAME
    if (sc->host_name.len && sc->host_name.data[0] != '['
        && ngx_inet_addr(sc->host_name.data, sc->host_name.len)
           == INADDR_NONE)
    {
        (void) SSL_set_tlsext_host_name(c->ssl->connection,
                                        (char *) sc->host_name.data);
    }
#endif

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        if (!c->read->timer_set) {
            ngx_add_timer(c->read, sc->qcf->timeout);
        }

        c->ssl->handler = ngx_mail_queue_smtp_handshaken;
        return NGX_ERROR;
    }

    ngx_mail_queue_smtp_handshaken(c);

    return NGX_ERROR;
}


static void
ngx_mail_queue_smtp_handshaken(ngx_connection_t *c)
{
    long                    verify;
    ngx_mail_queue_smtp_t  *sc;

    sc = c->data;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (!c->ssl->handshaked) {
        sc->reply.code = 0;
        ngx_str_set(&sc->error_status, "4.7.5");
        ngx_mail_queue_smtp_host_failed(sc, "TLS handshake failed with");
        return;
    }

    if (sc->tls_level == NGX_MAIL_QUEUE_TLS_VERIFY) {
        verify = SSL_get_verify_result(c->ssl->connection);

        if (verify != X509_V_OK
            || ngx_ssl_check_host(c, &sc->host_name) != NGX_OK)
        {
            ngx_log_error(NGX_LOG_NOTICE, c->log, 0,
                          "queue: %V: certificate of %V not verified: %s",
                          &sc->job->id, &sc->host_name,
                          X509_verify_cert_error_string(verify));
            sc->reply.code = 0;
            ngx_str_set(&sc->error_status, "4.7.5");
            ngx_mail_queue_smtp_host_failed(sc, "certificate not verified "
                                            "for");
            return;
        }
    }

    sc->tls = 1;
    c->read->handler = ngx_mail_queue_smtp_read_handler;
    c->write->handler = ngx_mail_queue_smtp_write_handler;

    /* RFC 3207 4.2: forget what was learnt before TLS */
    sc->state = NGX_MAIL_QUEUE_SMTP_EHLO;

    if (ngx_mail_queue_smtp_hello(sc) != NGX_OK) {
        return;
    }

    ngx_add_timer(c->read, sc->qcf->timeout);

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_mail_queue_smtp_lost(sc, "event error");
    }
}


static ngx_int_t
ngx_mail_queue_smtp_auth(ngx_mail_queue_smtp_t *sc)
{
    u_char     *p;
    ngx_str_t   plain, encoded;

    if (!(sc->auth & NGX_MAIL_QUEUE_AUTH_PLAIN)) {
        sc->reply.code = 0;
        ngx_str_set(&sc->error_status, "4.7.0");
        ngx_mail_queue_smtp_host_failed(sc, "no AUTH PLAIN offered by");
        return NGX_ERROR;
    }

    plain.len = 2 + sc->qcf->relay_user.len + sc->qcf->relay_password.len;
    plain.data = ngx_pnalloc(sc->pool, plain.len);
    encoded.data = ngx_pnalloc(sc->pool, ngx_base64_encoded_length(plain.len));

    if (plain.data == NULL || encoded.data == NULL) {
        ngx_mail_queue_smtp_lost(sc, "out of memory");
        return NGX_ERROR;
    }

    p = plain.data;
    *p++ = '\0';
    p = ngx_cpymem(p, sc->qcf->relay_user.data, sc->qcf->relay_user.len);
    *p++ = '\0';
    ngx_memcpy(p, sc->qcf->relay_password.data, sc->qcf->relay_password.len);

    ngx_encode_base64(&encoded, &plain);

    sc->state = NGX_MAIL_QUEUE_SMTP_AUTH;
    ngx_mail_queue_reply_init(&sc->reply, 0);

    return ngx_mail_queue_smtp_write(sc, "AUTH PLAIN %V\r\n", &encoded);
}


/*
 * What the message needs of the server is checked before MAIL: a size
 * above its SIZE, or SMTPUTF8 it lacks, fails the recipients at once
 * (RFC 1870 6, RFC 6531 3.4) — another MX would say the same.
 */

static ngx_int_t
ngx_mail_queue_smtp_transaction(ngx_mail_queue_smtp_t *sc)
{
    ngx_str_t  status, text;

    if (sc->peer_size && (uint64_t) sc->job->size > sc->peer_size) {
        ngx_str_set(&status, "5.3.4");
        ngx_str_set(&text, "message size exceeds the limit of the "
                    "receiving server");
        sc->reply.code = 552;
        goto fail;
    }

    if (sc->job->smtputf8
        && !(sc->extensions & NGX_MAIL_QUEUE_EXT_SMTPUTF8))
    {
        ngx_str_set(&status, "5.6.7");
        ngx_str_set(&text, "the receiving server does not support "
                    "SMTPUTF8");
        sc->reply.code = 553;
        goto fail;
    }

    /*
     * per server: a converted copy made for a server without 8BITMIME is
     * not for the next one, which may have it
     */
    sc->use_mem = 0;

    if (sc->job->body_8bit
        && !(sc->extensions & NGX_MAIL_QUEUE_EXT_8BITMIME))
    {
        /* the conversion needs the whole message first */
        sc->use_mem = 1;
        (void) ngx_mail_queue_smtp_load_whole(sc);

        return NGX_ERROR;
    }

    return ngx_mail_queue_smtp_send_mail(sc);

fail:

    ngx_log_error(NGX_LOG_NOTICE, sc->job->log, 0,
                  "queue: %V: %V: %V", &sc->job->id, &sc->host_name, &text);

    sc->reply.code = 0;
    ngx_mail_queue_smtp_settle_rest(sc, NGX_MAIL_QUEUE_RCPT_FAILED, 0,
                                    &status, &text);

    /*
     * the QUIT is close()'s: a write here that failed would have lost
     * the connection, tried the next host and finished the destination
     * once already
     */
    ngx_mail_queue_smtp_finish(sc);

    return NGX_ERROR;
}


static ngx_int_t
ngx_mail_queue_smtp_send_mail(ngx_mail_queue_smtp_t *sc)
{
    u_char                 *p, *last;
    ngx_uint_t              i, n;
    ngx_int_t               rc;
    ngx_mail_queue_job_t   *job;
    u_char                  params[512];

    job = sc->job;

    sc->state = NGX_MAIL_QUEUE_SMTP_MAIL;
    sc->transaction = 1;
    sc->next_rcpt = 0;
    sc->accepted = 0;
    ngx_mail_queue_reply_init(&sc->reply, 0);

    p = params;
    last = params + sizeof(params);

    if (sc->extensions & NGX_MAIL_QUEUE_EXT_SIZE) {
        p = ngx_slprintf(p, last, " SIZE=%O", job->size);
    }

    if (job->body_8bit && !sc->use_mem) {
        p = ngx_slprintf(p, last, " BODY=8BITMIME");
    }

    if (job->smtputf8) {
        p = ngx_slprintf(p, last, " SMTPUTF8");
    }

    /* RFC 3461 4: DSN parameters go on to a server that knows them */
    if (sc->extensions & NGX_MAIL_QUEUE_EXT_DSN) {
        if (job->ret.len) {
            p = ngx_slprintf(p, last, " RET=%V", &job->ret);
        }

        if (job->envid.len) {
            p = ngx_slprintf(p, last, " ENVID=%V", &job->envid);
        }
    }

    /* RFC 2920 3.1: MAIL, the RCPTs and DATA make one group, one write */
    sc->cork = (sc->extensions & NGX_MAIL_QUEUE_EXT_PIPELINING) ? 1 : 0;

    rc = ngx_mail_queue_smtp_write(sc, "MAIL FROM:<%V>%*s\r\n", &job->from,
                                   (size_t) (p - params), params);
    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    if (!sc->cork) {
        sc->replies_left = 1;
        return NGX_OK;
    }

    n = sc->dest->rcpts.nelts;

    for (i = 0; i < n; i++) {
        if (ngx_mail_queue_smtp_send_rcpt(sc, i) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    sc->replies_left = n + 2;
    sc->cork = 0;

    return ngx_mail_queue_smtp_write(sc, "DATA\r\n");
}


static ngx_int_t
ngx_mail_queue_smtp_send_rcpt(ngx_mail_queue_smtp_t *sc, ngx_uint_t i)
{
    ngx_mail_queue_rcpt_t  **rcpts;

    rcpts = sc->dest->rcpts.elts;

    if ((sc->extensions & NGX_MAIL_QUEUE_EXT_DSN) && rcpts[i]->params.len) {
        rcpts[i]->dsn_passed = 1;

        return ngx_mail_queue_smtp_write(sc, "RCPT TO:<%V> %V\r\n",
                                         &rcpts[i]->address,
                                         &rcpts[i]->params);
    }

    return ngx_mail_queue_smtp_write(sc, "RCPT TO:<%V>\r\n",
                                     &rcpts[i]->address);
}


/* the replies to MAIL, each RCPT and DATA, pipelined or not */

static ngx_int_t
ngx_mail_queue_smtp_envelope_reply(ngx_mail_queue_smtp_t *sc)
{
    unsigned                 code;
    ngx_uint_t               n, pipelined;
    ngx_mail_queue_rcpt_t  **rcpts, *rcpt;

    code = sc->reply.code;
    rcpts = sc->dest->rcpts.elts;
    n = sc->dest->rcpts.nelts;
    pipelined = sc->extensions & NGX_MAIL_QUEUE_EXT_PIPELINING;

    if (sc->replies_left) {
        sc->replies_left--;
    }

    switch (sc->state) {

    case NGX_MAIL_QUEUE_SMTP_MAIL:
        if (code / 100 != 2) {
            /* every recipient gets MAIL's answer; RCPTs' are ignored */
            for (n = 0; n < sc->dest->rcpts.nelts; n++) {
                if (rcpts[n]->state == NGX_MAIL_QUEUE_RCPT_NEW) {
                    ngx_mail_queue_smtp_reply_result(sc, rcpts[n]);
                }
            }

            if (!pipelined) {
                ngx_mail_queue_smtp_finish(sc);
                return NGX_ERROR;
            }
        }

        sc->state = NGX_MAIL_QUEUE_SMTP_RCPT;
        ngx_mail_queue_reply_init(&sc->reply, 0);

        return pipelined ? NGX_OK : ngx_mail_queue_smtp_send_rcpt(sc, 0);

    case NGX_MAIL_QUEUE_SMTP_RCPT:
        rcpt = rcpts[sc->next_rcpt++];

        if (rcpt->state == NGX_MAIL_QUEUE_RCPT_NEW) {
            if (code / 100 == 2) {
                rcpt->accepted = 1;
                sc->accepted++;

            } else {
                ngx_mail_queue_smtp_reply_result(sc, rcpt);
            }
        }

        ngx_mail_queue_reply_init(&sc->reply, 0);

        if (sc->next_rcpt < n) {
            return pipelined ? NGX_OK
                             : ngx_mail_queue_smtp_send_rcpt(sc,
                                                             sc->next_rcpt);
        }

        sc->state = NGX_MAIL_QUEUE_SMTP_DATA;

        if (pipelined) {
            return NGX_OK;
        }

        if (sc->accepted == 0) {
            ngx_mail_queue_smtp_finish(sc);
            return NGX_ERROR;
        }

        sc->replies_left = 1;
        return ngx_mail_queue_smtp_write(sc, "DATA\r\n");

    default: /* DATA */
        if (code == 354 && sc->accepted) {
            return ngx_mail_queue_smtp_content_start(sc);
        }

        /* a refused DATA decides for the recipients accepted */
        if (code / 100 == 4 || code / 100 == 5) {
            ngx_mail_queue_smtp_data_reply(sc);
            return NGX_ERROR;
        }

        /*
         * RFC 5321 4.3.2: DATA is answered 354 or refused; a 2xx is no
         * delivery (no content was sent), and a 354 with no recipient
         * accepted (RFC 2920 3.1) starts nothing we could send
         */
        ngx_mail_queue_smtp_lost(sc, sc->accepted
                                     ? "DATA not answered with 354"
                                     : "DATA accepted without recipients");
        return NGX_ERROR;
    }
}


/*
 * A message sent with BODY=8BITMIME to a server without 8BITMIME is
 * converted to 7 bit (RFC 6152 3), which needs it whole: read before
 * MAIL, so a message that cannot be converted fails without a
 * transaction.
 */

static ngx_int_t
ngx_mail_queue_smtp_load_whole(ngx_mail_queue_smtp_t *sc)
{
    ngx_mail_redis_cmd_t  cmd;

    ngx_mail_redis_cmd_init(&cmd, "GET");
    ngx_mail_redis_cmd_arg(&cmd, sc->job->blob_key.data,
                           sc->job->blob_key.len);

    sc->redis = ngx_mail_redis_send(&cmd, 1, ngx_mail_queue_smtp_whole, sc,
                                    sc->job->log);
    if (sc->redis == NULL) {
        ngx_mail_queue_smtp_lost(sc, "Redis unavailable");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_mail_queue_smtp_whole(redisReply *reply, void *data)
{
    ngx_mail_queue_smtp_t  *sc = data;

    size_t      skip, n;
    u_char     *p;
    ngx_str_t   status, text;

    sc->redis = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        ngx_mail_queue_smtp_lost(sc, "message content unavailable");
        return;
    }

    /* a reply left over from before is not one to MAIL */
    if (sc->in->pos != sc->in->last) {
        ngx_mail_queue_smtp_lost(sc, "unexpected reply");
        return;
    }

    skip = ngx_mail_queue_smtp_return_path((u_char *) reply->str,
                                           reply->len);
    p = (u_char *) reply->str + skip;
    n = reply->len - skip;

    if (!ngx_mail_queue_is_8bit(p, n)) {
        /* declared 8-bit, but is not: sent as it is, without BODY */
        sc->mem.data = ngx_pnalloc(sc->pool, n);
        if (sc->mem.data == NULL) {
            ngx_mail_queue_smtp_lost(sc, "out of memory");
            return;
        }

        ngx_memcpy(sc->mem.data, p, n);
        sc->mem.len = n;

    } else {
        sc->mem.data = ngx_pnalloc(sc->pool,
                                   ngx_mail_queue_downgrade_size(p, n));
        if (sc->mem.data == NULL) {
            ngx_mail_queue_smtp_lost(sc, "out of memory");
            return;
        }

        sc->mem.len = ngx_mail_queue_downgrade(p, n, sc->mem.data);

        if (sc->mem.len == (size_t) -1) {
            ngx_str_set(&status, "5.6.3");
            ngx_str_set(&text, "8-bit message cannot be converted to 7 bit "
                        "for a server without 8BITMIME");
            ngx_log_error(NGX_LOG_NOTICE, sc->job->log, 0,
                          "queue: %V: %V: %V", &sc->job->id,
                          &sc->host_name, &text);
            ngx_mail_queue_smtp_settle_rest(sc, NGX_MAIL_QUEUE_RCPT_FAILED,
                                            0, &status, &text);
            ngx_mail_queue_smtp_finish(sc);
            return;
        }
    }

    if (ngx_mail_queue_smtp_send_mail(sc) != NGX_OK) {
        return;
    }

    ngx_mail_queue_smtp_read_on(sc);
}


/* the size of a leading Return-Path field: a relay does not send it */

static size_t
ngx_mail_queue_smtp_return_path(u_char *p, size_t len)
{
    size_t  i;

    if (len < 12 || ngx_strncasecmp(p, (u_char *) "Return-Path:", 12) != 0) {
        return 0;
    }

    for (i = 12; i < len; i++) {
        if (p[i] == '\n'
            && (i + 1 == len || (p[i + 1] != ' ' && p[i + 1] != '\t')))
        {
            return i + 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_mail_queue_smtp_content_start(ngx_mail_queue_smtp_t *sc)
{
    /* never an empty message for want of the converted copy */
    if (sc->use_mem && sc->mem.data == NULL) {
        ngx_mail_queue_smtp_lost(sc, "message content unavailable");
        return NGX_ERROR;
    }

    if (sc->content == NULL) {
        sc->content = ngx_create_temp_buf(sc->pool,
                                          2 * NGX_MAIL_QUEUE_SMTP_CHUNK + 8);
        if (sc->content == NULL) {
            ngx_mail_queue_smtp_lost(sc, "out of memory");
            return NGX_ERROR;
        }
    }

    if (sc->peer.connection->read->timer_set) {
        ngx_del_timer(sc->peer.connection->read);
    }

    sc->out = sc->content;
    sc->state = NGX_MAIL_QUEUE_SMTP_CONTENT;
    sc->offset = 0;
    sc->bol = 1;
    sc->content_done = 0;
    ngx_mail_queue_reply_init(&sc->reply, 0);

    return ngx_mail_queue_smtp_flush(sc) == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


static ngx_int_t
ngx_mail_queue_smtp_fetch(ngx_mail_queue_smtp_t *sc)
{
    ngx_mail_redis_cmd_t  cmd;
    u_char                start[NGX_OFF_T_LEN], end[NGX_OFF_T_LEN];
    size_t                slen, elen;

    slen = ngx_sprintf(start, "%O", sc->offset) - start;
    elen = ngx_sprintf(end, "%O", sc->offset + NGX_MAIL_QUEUE_SMTP_CHUNK - 1)
           - end;

    ngx_mail_redis_cmd_init(&cmd, "GETRANGE");
    ngx_mail_redis_cmd_arg(&cmd, sc->job->blob_key.data,
                           sc->job->blob_key.len);
    ngx_mail_redis_cmd_arg(&cmd, start, slen);
    ngx_mail_redis_cmd_arg(&cmd, end, elen);

    sc->redis = ngx_mail_redis_send(&cmd, 1, ngx_mail_queue_smtp_chunk, sc,
                                    sc->job->log);
    if (sc->redis == NULL) {
        ngx_mail_queue_smtp_lost(sc, "Redis unavailable");
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


static void
ngx_mail_queue_smtp_chunk(redisReply *reply, void *data)
{
    ngx_mail_queue_smtp_t  *sc = data;

    u_char  *p;
    size_t   len, skip;

    sc->redis = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_STRING
        || (sc->offset == 0 && reply->len == 0))
    {
        ngx_mail_queue_smtp_lost(sc, "message content unavailable");
        return;
    }

    p = (u_char *) reply->str;
    len = reply->len;
    skip = 0;

    /*
     * a short read ends the content: short of the size queued, the blob
     * was deleted meanwhile (the message deleted, or settled by a worker
     * that took it over), and what was sent must not end with a dot
     */
    if (len < NGX_MAIL_QUEUE_SMTP_CHUNK
        && sc->offset + (off_t) len < sc->job->size)
    {
        ngx_mail_queue_smtp_lost(sc, "message content cut short");
        return;
    }

    if (sc->offset == 0) {
        skip = ngx_mail_queue_smtp_return_path(p, len);
    }

    sc->offset += len;

    ngx_mail_queue_smtp_stuff(sc, p + skip, len - skip,
                              len < NGX_MAIL_QUEUE_SMTP_CHUNK);

    (void) ngx_mail_queue_smtp_flush(sc);
}


/*
 * RFC 5321 4.5.2: a line that begins with "." gets one more; the
 * content ends with CRLF "." CRLF, a CRLF added if it lacks one.
 */

static void
ngx_mail_queue_smtp_stuff(ngx_mail_queue_smtp_t *sc, u_char *p, size_t len,
    ngx_uint_t last)
{
    u_char      *o, *end;
    ngx_uint_t   bol;

    o = sc->content->last;
    end = p + len;
    bol = sc->bol;

    while (p < end) {
        if (bol && *p == '.') {
            *o++ = '.';
        }

        bol = (*p == '\n');
        *o++ = *p++;
    }

    sc->bol = bol;

    if (last) {
        if (!bol) {
            *o++ = '\r';
            *o++ = '\n';
        }

        *o++ = '.';
        *o++ = '\r';
        *o++ = '\n';
        sc->content_done = 1;
    }

    sc->content->last = o;
}


/* the next chunk of a converted message held in memory */

static void
ngx_mail_queue_smtp_mem_chunk(ngx_mail_queue_smtp_t *sc)
{
    size_t  len;

    len = ngx_min((size_t) (sc->mem.len - sc->offset),
                  NGX_MAIL_QUEUE_SMTP_CHUNK);

    ngx_mail_queue_smtp_stuff(sc, sc->mem.data + sc->offset, len,
                              sc->offset + len == sc->mem.len);
    sc->offset += len;
}


/* the reply to the final dot, or a DATA refused */

static void
ngx_mail_queue_smtp_data_reply(ngx_mail_queue_smtp_t *sc)
{
    ngx_uint_t               i;
    ngx_mail_queue_rcpt_t  **rcpts;

    rcpts = sc->dest->rcpts.elts;

    for (i = 0; i < sc->dest->rcpts.nelts; i++) {
        if (rcpts[i]->accepted
            && rcpts[i]->state == NGX_MAIL_QUEUE_RCPT_NEW)
        {
            ngx_mail_queue_smtp_reply_result(sc, rcpts[i]);
        }
    }

    if (sc->reused) {
        ngx_log_error(NGX_LOG_INFO, sc->job->log, 0,
                      "queue: %V: to %V[%V]: %ui %V, reused=%ui",
                      &sc->job->id, &sc->host_name, &sc->peer_name,
                      (ngx_uint_t) sc->reply.code, &sc->reply.text,
                      sc->reused);

    } else {
        ngx_log_error(NGX_LOG_INFO, sc->job->log, 0,
                      "queue: %V: to %V[%V]: %ui %V", &sc->job->id,
                      &sc->host_name, &sc->peer_name,
                      (ngx_uint_t) sc->reply.code, &sc->reply.text);
    }

    ngx_mail_queue_smtp_finish(sc);
}


static ngx_int_t
ngx_mail_queue_smtp_write(ngx_mail_queue_smtp_t *sc, const char *fmt, ...)
{
    size_t    need;
    u_char   *p;
    va_list   args;

    if (sc->out == NULL || sc->out == sc->content) {
        need = 4096 + sc->dest->rcpts.nelts * 1200;

        if (sc->envelope == NULL
            || (size_t) (sc->envelope->end - sc->envelope->start) < need)
        {
            sc->envelope = ngx_create_temp_buf(sc->pool, need);
            if (sc->envelope == NULL) {
                ngx_mail_queue_smtp_lost(sc, "out of memory");
                return NGX_ERROR;
            }
        }

        sc->out = sc->envelope;
    }

    va_start(args, fmt);
    p = ngx_vslprintf(sc->out->last, sc->out->end, fmt, args);
    va_end(args);

    if (p == sc->out->end) {
        ngx_mail_queue_smtp_lost(sc, "command too long");
        return NGX_ERROR;
    }

    sc->out->last = p;

    if (sc->cork) {
        return NGX_OK;
    }

    if (ngx_mail_queue_smtp_flush(sc) == NGX_ERROR) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a failure before MAIL: the next address or host may do better */

static void
ngx_mail_queue_smtp_host_failed(ngx_mail_queue_smtp_t *sc, const char *why)
{
    u_char  *p;
    u_char   status[NGX_MAIL_QUEUE_STATUS_LEN];

    /*
     * it is the kept connection that failed, not the destination: and
     * without a DNS answer there is no next host to try yet
     */
    if (sc->probing || !sc->resolved) {
        ngx_mail_queue_smtp_stale(sc, why);
        return;
    }

    p = ngx_pnalloc(sc->pool, NGX_MAIL_QUEUE_REPLY_TEXT_MAX + 512);
    if (p != NULL) {
        sc->error.data = p;

        if (sc->reply.code) {
            p = ngx_slprintf(p, p + NGX_MAIL_QUEUE_REPLY_TEXT_MAX + 511,
                             "%s %V[%V] said: %ui %V", why, &sc->host_name,
                             &sc->peer_name, (ngx_uint_t) sc->reply.code,
                             &sc->reply.text);
            sc->error_code = sc->reply.code;

            sc->error_status.len = ngx_mail_queue_reply_status(&sc->reply,
                                                           (char *) status);
            sc->error_status.data = ngx_pnalloc(sc->pool,
                                                sc->error_status.len);
            if (sc->error_status.data) {
                ngx_memcpy(sc->error_status.data, status,
                           sc->error_status.len);
            }

        } else {
            p = ngx_slprintf(p, p + NGX_MAIL_QUEUE_REPLY_TEXT_MAX + 511,
                             "%s %V[%V]", why, &sc->host_name,
                             &sc->peer_name);
            sc->error_code = 0;
        }

        sc->error.len = p - sc->error.data;
    }

    ngx_log_error(NGX_LOG_NOTICE, sc->job->log, 0, "queue: %V: %V",
                  &sc->job->id, &sc->error);

    ngx_mail_queue_smtp_close(sc);
    ngx_mail_queue_smtp_next(sc);
}


/* the connection broke: before MAIL another host, after it a retry */

static void
ngx_mail_queue_smtp_lost(ngx_mail_queue_smtp_t *sc, const char *why)
{
    u_char     *p;
    ngx_str_t   status, text;

    sc->reply.code = 0;

    if (!sc->transaction) {
        ngx_str_set(&sc->error_status, "4.4.2");
        ngx_mail_queue_smtp_host_failed(sc, why);
        return;
    }

    ngx_str_set(&status, "4.4.2");
    ngx_str_set(&text, "lost connection");

    p = ngx_pnalloc(sc->pool, 512);
    if (p != NULL) {
        text.data = p;
        text.len = ngx_slprintf(p, p + 512, "%s with %V[%V]", why,
                                &sc->host_name, &sc->peer_name) - p;
    }

    ngx_log_error(NGX_LOG_NOTICE, sc->job->log, 0, "queue: %V: %V",
                  &sc->job->id, &text);

    sc->broken = 1;
    ngx_mail_queue_smtp_settle_rest(sc, NGX_MAIL_QUEUE_RCPT_DEFERRED, 0,
                                    &status, &text);
    ngx_mail_queue_smtp_finish(sc);
}


static void
ngx_mail_queue_smtp_settle_rest(ngx_mail_queue_smtp_t *sc,
    ngx_mail_queue_rcpt_state_e state, ngx_uint_t code, ngx_str_t *status,
    ngx_str_t *text)
{
    ngx_uint_t               i;
    ngx_str_t                mta;
    ngx_mail_queue_rcpt_t  **rcpts;

    rcpts = sc->dest->rcpts.elts;
    mta = sc->host_name;

    for (i = 0; i < sc->dest->rcpts.nelts; i++) {
        if (rcpts[i]->state == NGX_MAIL_QUEUE_RCPT_NEW) {
            ngx_mail_queue_rcpt_set(rcpts[i], state, code, status, &mta,
                                    text, sc->pool);
        }
    }
}


static void
ngx_mail_queue_smtp_reply_result(ngx_mail_queue_smtp_t *sc,
    ngx_mail_queue_rcpt_t *rcpt)
{
    ngx_str_t                    status, text;
    ngx_mail_queue_rcpt_state_e  state;
    char                         buf[NGX_MAIL_QUEUE_STATUS_LEN];

    status.len = ngx_mail_queue_reply_status(&sc->reply, buf);
    status.data = (u_char *) buf;
    text.data = (u_char *) sc->reply.text.data;
    text.len = sc->reply.text.len;

    switch (sc->reply.code / 100) {
    case 2:
        state = NGX_MAIL_QUEUE_RCPT_SENT;
        break;
    case 5:
        state = NGX_MAIL_QUEUE_RCPT_FAILED;
        break;
    default:
        state = NGX_MAIL_QUEUE_RCPT_DEFERRED;
    }

    ngx_mail_queue_rcpt_set(rcpt, state, sc->reply.code, &status,
                            &sc->host_name, &text, sc->pool);
}


static void
ngx_mail_queue_smtp_close(ngx_mail_queue_smtp_t *sc)
{
    ngx_uint_t         quit;
    ngx_connection_t  *c;

    if (sc->redis) {
        ngx_mail_redis_cancel(sc->redis);
        sc->redis = NULL;
    }

    c = sc->peer.connection;

    if (c == NULL) {
        return;
    }

    /* a polite QUIT, not waited for: the answers are all in */
    quit = sc->connected && !sc->broken
           && sc->state != NGX_MAIL_QUEUE_SMTP_CONTENT
           && (sc->out == NULL || sc->out->pos == sc->out->last);

    sc->peer.connection = NULL;
    sc->out = NULL;

    /* what this server did not take must not go to the next one */
    if (sc->envelope) {
        sc->envelope->pos = sc->envelope->start;
        sc->envelope->last = sc->envelope->start;
    }

    ngx_mail_queue_conn_close(c, quit);
}


/*
 * Keeps the connection for the next message to the destination, when
 * nothing is left unsaid on it: every reply read, nothing more sent,
 * no 421, not during the content.  NGX_DECLINED: close it instead.
 */

static ngx_int_t
ngx_mail_queue_smtp_park(ngx_mail_queue_smtp_t *sc)
{
    ngx_connection_t       *c;
    ngx_mail_queue_conn_t  *conn;

    c = sc->peer.connection;

    if (c == NULL || sc->qcf->cache_time == 0
        || ngx_exiting || ngx_quit || ngx_terminate)
    {
        return NGX_DECLINED;
    }

    if (!sc->connected || sc->broken || sc->closing || sc->probing
        || sc->redis != NULL || sc->replies_left
        || sc->in->pos != sc->in->last
        || (sc->out != NULL && sc->out->pos != sc->out->last))
    {
        return NGX_DECLINED;
    }

    switch (sc->state) {
    case NGX_MAIL_QUEUE_SMTP_EHLO:
    case NGX_MAIL_QUEUE_SMTP_HELO:
    case NGX_MAIL_QUEUE_SMTP_AUTH:
    case NGX_MAIL_QUEUE_SMTP_RSET:
    case NGX_MAIL_QUEUE_SMTP_MAIL:
    case NGX_MAIL_QUEUE_SMTP_RCPT:
    case NGX_MAIL_QUEUE_SMTP_DATA:
    case NGX_MAIL_QUEUE_SMTP_DOT:
        break;
    default:
        return NGX_DECLINED;
    }

    if (ngx_mail_queue_smtp_keep_state(sc) != NGX_OK) {
        return NGX_DECLINED;
    }

    conn = sc->conn;

    /* as Postfix's smtp_connection_reuse_count_limit: reuses, not uses */
    if ((sc->qcf->reuse_count && conn->uses > sc->qcf->reuse_count)
        || ngx_time() - conn->created >= sc->qcf->reuse_time)
    {
        return NGX_DECLINED;
    }

    if (ngx_mail_queue_cache_park(conn) != NGX_OK) {
        return NGX_DECLINED;
    }

    sc->peer.connection = NULL;
    sc->out = NULL;

    return NGX_OK;
}


/* what the next transaction on the connection needs, in its pool */

static ngx_int_t
ngx_mail_queue_smtp_keep_state(ngx_mail_queue_smtp_t *sc)
{
    ngx_str_t              *name;
    ngx_connection_t       *c;
    ngx_mail_queue_conn_t  *conn;

    c = sc->peer.connection;
    conn = sc->conn;

    if (conn == NULL) {
        conn = ngx_pcalloc(c->pool, sizeof(ngx_mail_queue_conn_t));
        if (conn == NULL) {
            return NGX_ERROR;
        }

        name = sc->relay ? &sc->qcf->relayhost : &sc->dest->domain;

        conn->connection = c;
        conn->name.data = ngx_pstrdup(c->pool, name);
        conn->name.len = name->len;
        conn->host_name.data = ngx_pstrdup(c->pool, &sc->host_name);
        conn->host_name.len = sc->host_name.len;
        conn->peer_name.data = ngx_pstrdup(c->pool, &sc->peer_name);
        conn->peer_name.len = sc->peer_name.len;

        if (conn->name.data == NULL || conn->host_name.data == NULL
            || conn->peer_name.data == NULL)
        {
            return NGX_ERROR;
        }

        ngx_memcpy(&conn->sockaddr, &sc->sockaddr, sizeof(sc->sockaddr));
        conn->socklen = sc->peer.socklen;
        conn->tls_level = sc->tls_level;
        conn->relay = sc->relay;
        conn->tls = sc->tls;
        conn->extensions = sc->extensions;
        conn->auth = sc->auth;
        conn->peer_size = sc->peer_size;
        conn->created = sc->connect_time;

        sc->conn = conn;
    }

    conn->uses++;

    return NGX_OK;
}


/* the destination is decided: its states are recorded, then it is done */

static void
ngx_mail_queue_smtp_finish(ngx_mail_queue_smtp_t *sc)
{
    if (ngx_mail_queue_smtp_park(sc) != NGX_OK) {
        ngx_mail_queue_smtp_close(sc);
    }

    /*
     * the last destination of the message: the settling script, which
     * comes next, writes the states itself, in the same round trip
     */
    if (sc->job->dests_left == 1) {
        ngx_mail_queue_dest_done(sc->dest);
        return;
    }

    if (ngx_mail_queue_record(sc->dest, ngx_mail_queue_smtp_recorded, sc)
        != NGX_OK)
    {
        ngx_mail_queue_dest_done(sc->dest);
    }
}


static void
ngx_mail_queue_smtp_recorded(redisReply *reply, void *data)
{
    ngx_uint_t               i;
    ngx_mail_queue_rcpt_t  **rcpts;
    ngx_mail_queue_smtp_t   *sc = data;

    /* else the settling script writes them, as if never recorded */

    if (reply != NULL && reply->type != REDIS_REPLY_ERROR) {
        rcpts = sc->dest->rcpts.elts;

        for (i = 0; i < sc->dest->rcpts.nelts; i++) {
            rcpts[i]->recorded = rcpts[i]->changed;
        }
    }

    ngx_mail_queue_dest_done(sc->dest);
}


static ngx_uint_t
ngx_mail_queue_smtp_tls_level(ngx_mail_queue_conf_t *qcf, ngx_str_t *domain)
{
    ngx_uint_t                    i;
    ngx_mail_queue_tls_policy_t  *policy;

    if (qcf->tls_policies == NULL) {
        return qcf->tls;
    }

    policy = qcf->tls_policies->elts;

    for (i = 0; i < qcf->tls_policies->nelts; i++) {
        if (policy[i].domain.len == domain->len
            && ngx_strncasecmp(policy[i].domain.data, domain->data,
                               domain->len) == 0)
        {
            return policy[i].level;
        }
    }

    return qcf->tls;
}
