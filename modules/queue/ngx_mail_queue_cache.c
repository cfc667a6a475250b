
/*
 * The SMTP client's connection cache, as Postfix's (smtp_connection_
 * cache_on_demand): a connection whose transaction ended cleanly waits
 * here, per worker, for the next message to the same destination, made
 * for the same TLS level, instead of a QUIT.  The next one sends RSET
 * first and takes it only on 250 (ngx_mail_queue_smtp.c).
 *
 * At most queue_destination_concurrency idle connections per
 * destination and queue_concurrency in all; each for at most
 * queue_connection_cache_time.  A parked connection on which anything
 * happens (the server closed it, said 421, sent anything at all) is
 * closed: nothing was asked, so nothing may come.  Parked connections
 * are "idle" to nginx: a worker that shuts down closes them at once
 * (ngx_close_idle_connections()).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_mail_queue.h"


static void ngx_mail_queue_cache_remove(ngx_mail_queue_conn_t *conn);
static void ngx_mail_queue_cache_idle_handler(ngx_event_t *rev);
static void ngx_mail_queue_cache_write_handler(ngx_event_t *wev);
static void ngx_mail_queue_conn_free(ngx_connection_t *c);


/* most recently parked first: the warmest connection is taken first */
static ngx_queue_t  ngx_mail_queue_cache;
static ngx_uint_t   ngx_mail_queue_cache_idle;


ngx_int_t
ngx_mail_queue_cache_park(ngx_mail_queue_conn_t *conn)
{
    ngx_uint_t              same;
    ngx_queue_t            *q;
    ngx_connection_t       *c;
    ngx_mail_queue_conn_t  *idle;
    ngx_mail_queue_conf_t  *qcf;

    qcf = ngx_mail_queue_conf();

    /* per process, and only delivering workers get here: set up lazily */
    if (ngx_mail_queue_cache.next == NULL) {
        ngx_queue_init(&ngx_mail_queue_cache);
    }

    if (ngx_mail_queue_cache_idle >= qcf->concurrency) {
        return NGX_DECLINED;
    }

    same = 0;

    for (q = ngx_queue_head(&ngx_mail_queue_cache);
         q != ngx_queue_sentinel(&ngx_mail_queue_cache);
         q = ngx_queue_next(q))
    {
        idle = ngx_queue_data(q, ngx_mail_queue_conn_t, queue);

        if (idle->name.len == conn->name.len
            && ngx_strncasecmp(idle->name.data, conn->name.data,
                               conn->name.len) == 0)
        {
            same++;
        }
    }

    if (same >= qcf->dest_concurrency) {
        return NGX_DECLINED;
    }

    c = conn->connection;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    c->data = conn;
    c->log = qcf->log;
    c->read->log = c->log;
    c->write->log = c->log;
    c->read->handler = ngx_mail_queue_cache_idle_handler;
    c->write->handler = ngx_mail_queue_cache_write_handler;
    c->idle = 1;

    ngx_queue_insert_head(&ngx_mail_queue_cache, &conn->queue);
    ngx_mail_queue_cache_idle++;

    ngx_add_timer(c->read, qcf->cache_time);

    /* something already came: the handler finds out what */
    if (c->read->ready) {
        ngx_post_event(c->read, &ngx_posted_events);
    }

    return NGX_OK;
}


ngx_mail_queue_conn_t *
ngx_mail_queue_cache_take(ngx_str_t *name, ngx_uint_t tls_level,
    ngx_uint_t relay)
{
    ngx_queue_t            *q;
    ngx_mail_queue_conn_t  *conn;

    if (ngx_mail_queue_cache.next == NULL) {
        return NULL;
    }

    for (q = ngx_queue_head(&ngx_mail_queue_cache);
         q != ngx_queue_sentinel(&ngx_mail_queue_cache);
         q = ngx_queue_next(q))
    {
        conn = ngx_queue_data(q, ngx_mail_queue_conn_t, queue);

        if (conn->tls_level == tls_level && conn->relay == relay
            && conn->name.len == name->len
            && ngx_strncasecmp(conn->name.data, name->data, name->len) == 0)
        {
            ngx_mail_queue_cache_remove(conn);
            return conn;
        }
    }

    return NULL;
}


static void
ngx_mail_queue_cache_remove(ngx_mail_queue_conn_t *conn)
{
    ngx_connection_t  *c;

    c = conn->connection;

    ngx_queue_remove(&conn->queue);
    ngx_mail_queue_cache_idle--;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    c->idle = 0;
}


static void
ngx_mail_queue_cache_idle_handler(ngx_event_t *rev)
{
    u_char                  octet;
    ssize_t                 n;
    ngx_connection_t       *c;
    ngx_mail_queue_conn_t  *conn;

    c = rev->data;
    conn = c->data;

    if (c->close || rev->timedout) {
        ngx_log_debug2(NGX_LOG_DEBUG_MAIL, c->log, 0,
                       "queue: idle connection to %V[%V] closed",
                       &conn->host_name, &conn->peer_name);

        ngx_mail_queue_cache_remove(conn);
        ngx_mail_queue_conn_close(c, 1);
        return;
    }

    n = c->recv(c, &octet, 1);

    if (n == NGX_AGAIN) {
        if (ngx_handle_read_event(rev, 0) != NGX_OK) {
            ngx_mail_queue_cache_remove(conn);
            ngx_mail_queue_conn_close(c, 0);
        }

        return;
    }

    /* closed, a 421, or anything else: not a connection to use again */

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "queue: idle connection to %V[%V] %s",
                  &conn->host_name, &conn->peer_name,
                  n > 0 ? "closed: the server sent something while idle"
                        : "closed by the server");

    ngx_mail_queue_cache_remove(conn);
    ngx_mail_queue_conn_close(c, 0);
}


static void
ngx_mail_queue_cache_write_handler(ngx_event_t *wev)
{
    /* nothing to send while idle */
}


void
ngx_mail_queue_conn_close(ngx_connection_t *c, ngx_uint_t quit)
{
    /* a polite QUIT, not waited for */
    if (quit) {
        (void) c->send(c, (u_char *) "QUIT\r\n", 6);
    }

    c->data = NULL;
    c->log = ngx_mail_queue_conf()->log;
    c->read->log = c->log;
    c->write->log = c->log;

#if (NGX_MAIL_SSL)
    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;

        if (ngx_ssl_shutdown(c) == NGX_AGAIN) {
            /*
             * the close_notify waits for room in the socket: closed by
             * ngx_ssl_shutdown()'s handler; the connection keeps its
             * own pool, where its SSL object is, until then
             */
            c->ssl->handler = ngx_mail_queue_conn_free;
            return;
        }
    }
#endif

    ngx_mail_queue_conn_free(c);
}


static void
ngx_mail_queue_conn_free(ngx_connection_t *c)
{
    ngx_pool_t  *pool;

    pool = c->pool;

    ngx_close_connection(c);

    if (pool != NULL) {
        ngx_destroy_pool(pool);
    }
}
