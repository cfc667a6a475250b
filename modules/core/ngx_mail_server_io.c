
/*
 * Session input and output shared by smtpd, pop3d and imapd.
 *
 * Input is read into the session buffer and handed to the protocol a line
 * at a time.  Replies are appended to an output buffer and sent when the
 * protocol has run out of complete commands (RFC 2920 lets a server batch
 * replies to pipelined commands), when it waits for Redis, or when the
 * output buffer is half full: then no more commands are read until the
 * client has taken the replies, so a client that pipelines without reading
 * cannot make the server buffer without bound.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"


static ngx_int_t ngx_mail_server_recv(ngx_mail_session_t *s);
static ngx_int_t ngx_mail_server_send(ngx_mail_session_t *s);
static void ngx_mail_server_after_output(ngx_mail_session_t *s);
static ngx_flag_t ngx_mail_server_out_full(ngx_mail_server_io_t *io);
static void ngx_mail_server_ignore(ngx_event_t *ev);
static void ngx_mail_server_close_with(ngx_mail_session_t *s,
    ngx_str_t *reply);


ngx_mail_server_io_t *
ngx_mail_server_io_create(ngx_mail_session_t *s, size_t in_size,
    size_t out_size, size_t line_max, ngx_mail_server_process_pt process)
{
    ngx_connection_t          *c;
    ngx_mail_server_io_t      *io;
    ngx_mail_core_srv_conf_t  *cscf;

    c = s->connection;

    io = ngx_pcalloc(c->pool, sizeof(ngx_mail_server_io_t));
    if (io == NULL) {
        return NULL;
    }

    if (s->buffer == NULL) {
        s->buffer = ngx_create_temp_buf(c->pool, in_size);
        if (s->buffer == NULL) {
            return NULL;
        }
    }

    io->out = ngx_create_temp_buf(c->pool, out_size);
    if (io->out == NULL) {
        return NULL;
    }

    cscf = ngx_mail_get_module_srv_conf(s, ngx_mail_core_module);

    io->line_max = line_max;
    io->timeout = cscf->timeout;
    io->process = process;

    ngx_mail_set_ctx(s, io, ngx_mail_server_module);

    /*
     * Replies are small and each is awaited: with Nagle's algorithm a
     * reply would wait for the client's delayed ACK of the previous one
     * (about 40 ms a command; seen in the POP3 benchmark)
     */
    if (ngx_tcp_nodelay(c) != NGX_OK) {
        return NULL;
    }

    c->read->handler = ngx_mail_server_read_handler;
    c->write->handler = ngx_mail_server_write_handler;

    return io;
}


ngx_mail_server_io_t *
ngx_mail_server_io(ngx_mail_session_t *s)
{
    return ngx_mail_get_module_ctx(s, ngx_mail_server_module);
}


void
ngx_mail_server_read_handler(ngx_event_t *rev)
{
    ngx_connection_t      *c;
    ngx_mail_session_t    *s;
    ngx_mail_server_io_t  *io;

    c = rev->data;
    s = c->data;

    io = ngx_mail_server_io(s);

    if (rev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT, "client timed out");
        c->timedout = 1;
        ngx_mail_server_close_with(s, &io->timeout_reply);
        return;
    }

    if (c->close) {
        /* nginx is shutting down and the session was waiting for input */
        ngx_mail_server_close_with(s, &io->shutdown_reply);
        return;
    }

    c->idle = 0;

    /* the idle timer is for waiting for a command, not for sending */
    if (rev->timer_set) {
        ngx_del_timer(rev);
    }

    ngx_mail_server_resume(s);
}


/*
 * Runs every complete command, reads more when there is none, and sends the
 * replies.  Called on input, after an asynchronous step of a command has
 * finished, and after a full output buffer has drained.
 */

void
ngx_mail_server_resume(ngx_mail_session_t *s)
{
    ngx_int_t              rc;
    ngx_mail_server_io_t  *io;

    io = ngx_mail_server_io(s);

    if (io->closing) {
        /* what the session waited for has come: now it may go */
        ngx_mail_server_close(s);
        return;
    }

    for ( ;; ) {

        if (!io->busy && !io->quit && !io->starttls) {
            io->process(s);
        }

        if (io->busy || io->quit || io->starttls) {
            break;
        }

        if (ngx_mail_server_out_full(io)) {
            rc = ngx_mail_server_send(s);

            if (rc == NGX_ERROR) {
                ngx_mail_server_close(s);
                return;
            }

            if (rc == NGX_AGAIN) {
                /* the write handler resumes us when the client has read */
                return;
            }

            continue;
        }

        rc = ngx_mail_server_recv(s);

        if (rc == NGX_AGAIN) {
            break;
        }

        if (rc == NGX_ERROR) {
            /* a client that half-closed still gets the replies it is owed */
            (void) ngx_mail_server_send(s);
            ngx_mail_server_close(s);
            return;
        }
    }

    ngx_mail_server_flush(s);
}


static ngx_int_t
ngx_mail_server_recv(ngx_mail_session_t *s)
{
    ssize_t            n;
    ngx_buf_t         *b;
    ngx_connection_t  *c;

    c = s->connection;
    b = s->buffer;

    if (b->pos == b->last) {
        b->pos = b->start;
        b->last = b->start;

    } else if (b->pos != b->start) {
        b->last = ngx_movemem(b->start, b->pos, b->last - b->pos);
        b->pos = b->start;
    }

    if (b->last == b->end) {
        /* next_line() discards over-long lines, so this cannot happen */
        ngx_log_error(NGX_LOG_ALERT, c->log, 0, "session buffer is full");
        return NGX_ERROR;
    }

    n = c->recv(c, b->last, b->end - b->last);

    if (n == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (n == NGX_ERROR || n == 0) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0, "client closed connection");
        return NGX_ERROR;
    }

    b->last += n;

    return NGX_OK;
}


/*
 * NGX_OK: a line without its CRLF (or bare LF) in "line";
 * NGX_AGAIN: no complete line yet, or the output must drain first;
 * NGX_DECLINED: the line was longer than line_max; the protocol answers
 * with its "line too long" error and the rest of the line is skipped.
 */

ngx_int_t
ngx_mail_server_next_line(ngx_mail_session_t *s, ngx_str_t *line)
{
    u_char                *lf;
    size_t                 len;
    ngx_buf_t             *b;
    ngx_mail_server_io_t  *io;

    io = ngx_mail_server_io(s);
    b = s->buffer;

    if (ngx_mail_server_out_full(io)) {
        return NGX_AGAIN;
    }

    for ( ;; ) {
        lf = ngx_strlchr(b->pos, b->last, LF);

        if (io->skipping) {
            if (lf == NULL) {
                b->pos = b->last;
                return NGX_AGAIN;
            }

            b->pos = lf + 1;
            io->skipping = 0;
            continue;
        }

        if (lf == NULL) {
            len = b->last - b->pos;

            if (len > io->line_max
                || (b->pos == b->start && b->last == b->end))
            {
                b->pos = b->last;
                io->skipping = 1;
                return NGX_DECLINED;
            }

            return NGX_AGAIN;
        }

        len = lf - b->pos;

        if (len > io->line_max) {
            b->pos = lf + 1;
            return NGX_DECLINED;
        }

        line->data = b->pos;
        line->len = len;

        if (len && line->data[len - 1] == CR) {
            line->len--;
        }

        b->pos = lf + 1;

        return NGX_OK;
    }
}


ngx_int_t
ngx_mail_server_reply(ngx_mail_session_t *s, u_char *data, size_t len)
{
    ngx_buf_t             *b;
    ngx_mail_server_io_t  *io;

    io = ngx_mail_server_io(s);
    b = io->out;

    if ((size_t) (b->end - b->last) < len) {
        if (b->pos != b->start) {
            b->last = ngx_movemem(b->start, b->pos, b->last - b->pos);
            b->pos = b->start;
        }

        if ((size_t) (b->end - b->last) < len) {
            ngx_log_error(NGX_LOG_ALERT, s->connection->log, 0,
                          "reply of %uz bytes does not fit the output buffer",
                          len);
            io->quit = 1;
            return NGX_ERROR;
        }
    }

    b->last = ngx_cpymem(b->last, data, len);

    return NGX_OK;
}


/*
 * A reply line formatted with ngx_vslprintf(), CRLF added.  A line longer
 * than the buffer below is cut, which none of ours is: the protocols'
 * lines are short, and messages are streamed, not printed.
 */

ngx_int_t
ngx_mail_server_printf(ngx_mail_session_t *s, const char *fmt, ...)
{
    u_char   *p, buf[1024];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf) - 2, fmt, args);
    va_end(args);

    *p++ = CR;
    *p++ = LF;

    return ngx_mail_server_reply(s, buf, p - buf);
}


/*
 * STARTTLS / STLS: offered where nginx's "starttls on|only" is set and the
 * connection is not TLS yet; "starttls only" makes it mandatory
 */

ngx_flag_t
ngx_mail_server_starttls_offered(ngx_mail_session_t *s)
{
#if (NGX_MAIL_SSL)
    ngx_mail_ssl_conf_t  *sslcf;

    if (s->connection->ssl) {
        return 0;
    }

    sslcf = ngx_mail_get_module_srv_conf(s, ngx_mail_ssl_module);

    return sslcf->starttls != NGX_MAIL_STARTTLS_OFF;
#else
    return 0;
#endif
}


ngx_flag_t
ngx_mail_server_tls_required(ngx_mail_session_t *s)
{
#if (NGX_MAIL_SSL)
    ngx_mail_ssl_conf_t  *sslcf;

    if (s->connection->ssl) {
        return 0;
    }

    sslcf = ngx_mail_get_module_srv_conf(s, ngx_mail_ssl_module);

    return sslcf->starttls == NGX_MAIL_STARTTLS_ONLY;
#else
    return 0;
#endif
}


/* RFC 3207 5, RFC 2595 3.1: nothing sent before the TLS handshake counts */

void
ngx_mail_server_discard_input(ngx_mail_session_t *s)
{
    s->buffer->pos = s->buffer->start;
    s->buffer->last = s->buffer->start;
}


void
ngx_mail_server_flush(ngx_mail_session_t *s)
{
    ngx_int_t  rc;

    if (ngx_mail_server_io(s)->closing) {
        ngx_mail_server_close(s);
        return;
    }

    rc = ngx_mail_server_send(s);

    if (rc == NGX_ERROR) {
        ngx_mail_server_close(s);
        return;
    }

    if (rc == NGX_AGAIN) {
        return;
    }

    ngx_mail_server_after_output(s);
}


/* everything is sent: close, start TLS, or wait for the next command */

static void
ngx_mail_server_after_output(ngx_mail_session_t *s)
{
    ngx_connection_t      *c;
    ngx_mail_server_io_t  *io;

    c = s->connection;
    io = ngx_mail_server_io(s);

    if (io->quit) {
        ngx_mail_server_close(s);
        return;
    }

    if (io->starttls) {
#if (NGX_MAIL_SSL)
        io->starttls = 0;

        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        c->read->handler = ngx_mail_starttls_handler;
        ngx_mail_starttls_handler(c->read);
#else
        ngx_mail_server_close(s);
#endif
        return;
    }

    if (io->busy) {
        /* Redis or a thread answers within its own timeout */
        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        return;
    }

    if (!io->in_command) {

        if (ngx_exiting && s->buffer->pos == s->buffer->last) {
            /* a graceful shutdown lets a session finish its command only */
            ngx_mail_server_close_with(s, &io->shutdown_reply);
            return;
        }

        /* what nginx's graceful shutdown may close at once */
        c->idle = 1;
    }

    ngx_add_timer(c->read, io->timeout);

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_mail_server_close(s);
    }
}


/*
 * The one way a session ends.  A command waiting for Redis, a thread or
 * the resolver holds pointers into the session, so while io->busy is set
 * the session is only marked: the answer it waits for comes back to
 * ngx_mail_server_resume(), which closes it then.
 */

void
ngx_mail_server_close(ngx_mail_session_t *s)
{
    ngx_connection_t      *c;
    ngx_mail_server_io_t  *io;

    c = s->connection;
    io = ngx_mail_server_io(s);

    if (io->busy) {
        io->closing = 1;

        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        if (c->write->timer_set) {
            ngx_del_timer(c->write);
        }

        /* nothing more is read or sent on this connection */
        c->read->handler = ngx_mail_server_ignore;
        c->write->handler = ngx_mail_server_ignore;

        return;
    }

    ngx_mail_close_connection(c);
}


static void
ngx_mail_server_ignore(ngx_event_t *ev)
{
    ngx_connection_t  *c;

    c = ev->data;

    /* level-triggered or not, the event must not fire again and again */
    if (ev->active) {
        (void) ngx_del_event(ev, ev->write ? NGX_WRITE_EVENT : NGX_READ_EVENT,
                             0);
    }

    ngx_log_debug0(NGX_LOG_DEBUG_MAIL, c->log, 0, "closing session: event");
}


static void
ngx_mail_server_close_with(ngx_mail_session_t *s, ngx_str_t *reply)
{
    ngx_connection_t  *c;

    c = s->connection;

    if (reply->len && !ngx_mail_server_io(s)->closing) {
        /* best effort: the client may not be reading at all */
        (void) c->send(c, reply->data, reply->len);
    }

    ngx_mail_server_close(s);
}


static ngx_int_t
ngx_mail_server_send(ngx_mail_session_t *s)
{
    ssize_t                n;
    ngx_buf_t             *b;
    ngx_connection_t      *c;
    ngx_mail_server_io_t  *io;

    c = s->connection;
    io = ngx_mail_server_io(s);
    b = io->out;

#if (NGX_MAIL_SSL)
    if (c->ssl && !io->sending) {
        /* reply() may move pending bytes to the start of the buffer */
        SSL_set_mode(c->ssl->connection, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }
#endif

    while (b->pos < b->last) {
        n = c->send(c, b->pos, b->last - b->pos);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (n == NGX_AGAIN || n == 0) {
            io->sending = 1;
            ngx_add_timer(c->write, io->timeout);

            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                return NGX_ERROR;
            }

            return NGX_AGAIN;
        }

        b->pos += n;
    }

    b->pos = b->start;
    b->last = b->start;
    io->sending = 0;

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    return NGX_OK;
}


void
ngx_mail_server_write_handler(ngx_event_t *wev)
{
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_mail_session_t  *s;

    c = wev->data;
    s = c->data;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "client timed out reading replies");
        c->timedout = 1;
        ngx_mail_server_close(s);
        return;
    }

    rc = ngx_mail_server_send(s);

    if (rc == NGX_ERROR) {
        ngx_mail_server_close(s);
        return;
    }

    if (rc == NGX_AGAIN) {
        return;
    }

    /* commands may have waited for the output to drain */
    ngx_mail_server_resume(s);
}


/* half full, or too little room left at the end for a streamed piece */

static ngx_flag_t
ngx_mail_server_out_full(ngx_mail_server_io_t *io)
{
    return (size_t) (io->out->last - io->out->pos)
           > (size_t) (io->out->end - io->out->start) / 2
           || io->out->end - io->out->last < 256;
}


/*
 * A session that waits a long time (IMAP IDLE) gives its big buffers back
 * and takes small ones, and the big ones again when it works: with
 * thousands of idle sessions the buffers would be most of the memory.
 * What is pending in either buffer moves along; NGX_DECLINED (nothing
 * changed) when it does not fit.  Buffers come from ngx_pmemalign() so
 * that ngx_pfree() returns them to the system.
 */

ngx_int_t
ngx_mail_server_io_resize(ngx_mail_session_t *s, size_t in_size,
    size_t out_size)
{
    u_char                *in, *out;
    size_t                 in_used, out_used;
    ngx_buf_t             *b;
    ngx_pool_t            *pool;
    ngx_mail_server_io_t  *io;

    io = ngx_mail_server_io(s);
    pool = s->connection->pool;

    in_used = s->buffer->last - s->buffer->pos;
    out_used = io->out->last - io->out->pos;

    /* a TLS write under way wants its bytes where they are */
    if (in_used > in_size || out_used > out_size || io->sending) {
        return NGX_DECLINED;
    }

    in = ngx_pmemalign(pool, in_size, NGX_ALIGNMENT);
    out = ngx_pmemalign(pool, out_size, NGX_ALIGNMENT);

    if (in == NULL || out == NULL) {
        return NGX_ERROR;
    }

    b = s->buffer;
    ngx_memcpy(in, b->pos, in_used);
    (void) ngx_pfree(pool, b->start);
    b->start = in;
    b->pos = in;
    b->last = in + in_used;
    b->end = in + in_size;

    b = io->out;
    ngx_memcpy(out, b->pos, out_used);
    (void) ngx_pfree(pool, b->start);
    b->start = out;
    b->pos = out;
    b->last = out + out_used;
    b->end = out + out_size;

    return NGX_OK;
}
