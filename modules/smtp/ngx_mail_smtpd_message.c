
/*
 * The message: DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030), the trace
 * headers, and the delivery into Redis.
 *
 * The content is decoded (ngx_mail_smtpd_data.c: dot-stuffing undone,
 * bare CR and LF normalised, end only at CR LF "." CR LF) into one chunk
 * buffer and appended to the spool in Redis whenever the buffer is full,
 * so a session holds one chunk whatever the message size.  The first
 * chunk waits until the header section is complete, so that Date and
 * Message-ID can be added on submission where they are missing.  250 is
 * sent only after the delivery script has stored the message.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_store.h"
#include "ngx_mail_smtpd.h"
#include "ngx_mail_smtpd_data.h"
#include "ngx_mail_spam.h"


#define NGX_MAIL_SMTPD_CHUNK  65536


static ngx_int_t ngx_mail_smtpd_message_begin(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx);
static void ngx_mail_smtpd_message_flush(ngx_mail_session_t *s,
    ngx_mail_smtpd_tx_t *tx);
static ngx_int_t ngx_mail_smtpd_message_prefix(ngx_mail_session_t *s,
    ngx_mail_smtpd_tx_t *tx, ngx_str_t *prefix);
static void ngx_mail_smtpd_header_scan(u_char *p, u_char *end,
    ngx_flag_t *date, ngx_flag_t *message_id);
static u_char *ngx_mail_smtpd_rfc5322_date(u_char *p, time_t t);
static const char *ngx_mail_smtpd_protocol_word(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx);
static void ngx_mail_smtpd_appended(ngx_mail_session_t *s, ngx_int_t rc,
    ngx_str_t *detail);
static void ngx_mail_smtpd_message_end(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx);
static void ngx_mail_smtpd_judged(ngx_mail_session_t *s,
    ngx_mail_spam_verdict_t *v);
static ngx_int_t ngx_mail_smtpd_deliver(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_mail_spam_verdict_t *v);
static void ngx_mail_smtpd_delivered(ngx_mail_session_t *s, ngx_int_t rc,
    ngx_str_t *detail);
static void ngx_mail_smtpd_message_reply(ngx_mail_session_t *s,
    const char *fmt, ngx_str_t *arg);


ngx_int_t
ngx_mail_smtpd_cmd_data(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg)
{
    if (ctx->tx == NULL) {
        (void) ngx_mail_server_printf(s, "503 5.5.1 Error: need MAIL command");
        return NGX_ERROR;
    }

    if (ctx->tx->rcpts == 0) {
        (void) ngx_mail_server_printf(s, "503 5.5.1 Error: need RCPT command");
        return NGX_ERROR;
    }

    if (arg->len) {
        (void) ngx_mail_server_printf(s, "501 5.5.4 Syntax: DATA");
        return NGX_ERROR;
    }

    /* RFC 3030 2: one transaction, one way of sending the content */
    if (ctx->tx->bdat) {
        (void) ngx_mail_server_printf(s, "503 5.5.1 Error: DATA after BDAT");
        return NGX_ERROR;
    }

    if (ngx_mail_smtpd_message_begin(s, ctx) != NGX_OK) {
        (void) ngx_mail_server_printf(s, "451 4.3.0 Error: out of memory");
        return NGX_ERROR;
    }

    ctx->tx->receiving = 1;
    ngx_mail_server_io(s)->in_command = 1;

    return ngx_mail_server_printf(s, "354 End data with <CR><LF>.<CR><LF>");
}


/* "size [LAST]": the size, or NGX_ERROR */

static off_t
ngx_mail_smtpd_bdat_size(ngx_str_t *arg, ngx_flag_t *last)
{
    u_char  *p, *end;
    off_t    size;

    p = arg->data;
    end = arg->data + arg->len;

    while (p < end && *p >= '0' && *p <= '9') {
        p++;
    }

    size = ngx_atoof(arg->data, p - arg->data);
    *last = 0;

    if (p < end) {
        if (end - p == 5 && ngx_strncasecmp(p, (u_char *) " LAST", 5) == 0) {
            *last = 1;

        } else {
            size = NGX_ERROR;
        }
    }

    return size;
}


/*
 * RFC 3030 2: a BDAT refused before its handler ran (TLS required, line
 * too long) still has its chunk on the way, which must not be read as
 * commands
 */

void
ngx_mail_smtpd_bdat_refused(ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg)
{
    off_t       size;
    ngx_flag_t  last;

    size = ngx_mail_smtpd_bdat_size(arg, &last);

    if (size != NGX_ERROR) {
        ctx->discard = size;
    }
}


/* BDAT size [LAST] */

ngx_int_t
ngx_mail_smtpd_cmd_bdat(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_str_t *arg)
{
    off_t                 size;
    ngx_flag_t            last;
    ngx_mail_smtpd_tx_t  *tx;

    size = ngx_mail_smtpd_bdat_size(arg, &last);

    if (size == NGX_ERROR) {
        /* the chunk's length is unknown: nothing to skip but the line */
        (void) ngx_mail_server_printf(s, "501 5.5.4 Syntax: BDAT size [LAST]");
        return NGX_ERROR;
    }

    tx = ctx->tx;

    /* RFC 3030 2: a refused chunk is read and thrown away all the same */
    if (tx == NULL || tx->rcpts == 0) {
        ctx->discard = size;
        (void) ngx_mail_server_printf(s, tx ? "503 5.5.1 Error: need RCPT "
                                              "command"
                                          : "503 5.5.1 Error: need MAIL "
                                            "command");
        return NGX_ERROR;
    }

    if (!tx->bdat) {
        if (ngx_mail_smtpd_message_begin(s, ctx) != NGX_OK) {
            ctx->discard = size;
            (void) ngx_mail_server_printf(s, "451 4.3.0 Error: out of memory");
            return NGX_ERROR;
        }

        tx->bdat = 1;
    }

    tx->bdat_left = size;
    tx->bdat_size = size;
    tx->bdat_last = last;
    tx->receiving = 1;
    ngx_mail_server_io(s)->in_command = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_mail_smtpd_message_begin(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx)
{
    ngx_mail_smtpd_tx_t        *tx;
    ngx_mail_smtpd_srv_conf_t  *sscf;

    tx = ctx->tx;
    sscf = ngx_mail_get_module_srv_conf(s, ngx_mail_smtpd_module);

    tx->chunk = ngx_create_temp_buf(tx->pool, NGX_MAIL_SMTPD_CHUNK);
    if (tx->chunk == NULL) {
        return NGX_ERROR;
    }

    if (ngx_mail_store_spool_init(s, &tx->spool) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_mail_smtpd_data_init(&tx->decoder, sscf->max_message_size);

    tx->prefix_sent = 0;

    return NGX_OK;
}


/*
 * Called by the command loop while message content is expected: decodes
 * what the input buffer holds.
 */

void
ngx_mail_smtpd_message_input(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx)
{
    int                    rc;
    size_t                 consumed, written, avail;
    ngx_buf_t             *b, *out;
    ngx_mail_smtpd_tx_t   *tx;
    ngx_mail_server_io_t  *io;

    io = ngx_mail_server_io(s);
    tx = ctx->tx;
    b = s->buffer;
    out = tx->chunk;

    while (!io->busy) {

        if ((size_t) (out->end - out->last) < NGX_MAIL_SMTPD_DATA_OUT_MIN) {
            /* the last input filled the chunk exactly */
            ngx_mail_smtpd_message_flush(s, tx);
            continue;
        }

        avail = b->last - b->pos;

        if (tx->bdat) {
            if (avail > (size_t) tx->bdat_left) {
                avail = (size_t) tx->bdat_left;
            }

            if (avail == 0 && tx->bdat_left) {
                return;
            }

            rc = ngx_mail_smtpd_bdat_decode(&tx->decoder, b->pos, avail,
                                            &consumed, out->last,
                                            out->end - out->last, &written);

            tx->bdat_left -= consumed;

            if (tx->bdat_left == 0 && rc == NGX_MAIL_SMTPD_PARSE_AGAIN) {
                rc = NGX_MAIL_SMTPD_PARSE_DONE;
            }

        } else {
            if (avail == 0) {
                return;
            }

            rc = ngx_mail_smtpd_data_decode(&tx->decoder, b->pos, avail,
                                            &consumed, out->last,
                                            out->end - out->last, &written);
        }

        b->pos += consumed;
        out->last += written;

        if (rc == NGX_MAIL_SMTPD_PARSE_OK) {
            ngx_mail_smtpd_message_flush(s, tx);
            continue;
        }

        if (rc == NGX_MAIL_SMTPD_PARSE_DONE) {
            tx->receiving = 0;
            io->in_command = 0;
            ngx_mail_smtpd_message_end(s, ctx);
            return;
        }

        if (rc == NGX_MAIL_SMTPD_PARSE_AGAIN) {
            return;
        }

        ngx_log_error(NGX_LOG_ALERT, s->connection->log, 0,
                      "message decoder failed");
        io->quit = 1;
        return;
    }
}


/* appends the chunk (after the trace headers, the first time) */

static void
ngx_mail_smtpd_message_flush(ngx_mail_session_t *s, ngx_mail_smtpd_tx_t *tx)
{
    ngx_int_t              rc;
    ngx_str_t              prefix;
    ngx_buf_t             *out;
    ngx_mail_server_io_t  *io;

    out = tx->chunk;

    if (tx->spool.failed || tx->decoder.too_big) {
        /* the message will be refused: read it to the end, store none */
        out->last = out->start;
        return;
    }

    if (!tx->prefix_sent) {
        tx->prefix_sent = 1;

        if (ngx_mail_smtpd_message_prefix(s, tx, &prefix) != NGX_OK
            || ngx_mail_store_spool_append(&tx->spool, prefix.data,
                                           prefix.len,
                                           ngx_mail_smtpd_appended)
               == NGX_ERROR)
        {
            tx->spool.failed = 1;
            out->last = out->start;
            return;
        }
    }

    if (out->last == out->start) {
        return;
    }

    rc = ngx_mail_store_spool_append(&tx->spool, out->start,
                                     out->last - out->start,
                                     ngx_mail_smtpd_appended);

    /* hiredis has copied the bytes: the chunk can be refilled */
    out->last = out->start;

    if (rc == NGX_ERROR) {
        /* the message is read to its end and refused with 451 */
        tx->spool.failed = 1;
        return;
    }

    if (rc == NGX_AGAIN) {
        io = ngx_mail_server_io(s);
        io->busy = 1;
        tx->waiting = 1;
    }
}


/*
 * Return-Path (RFC 5321 4.4) and Received, and on submission a Date and
 * Message-ID the client left out (RFC 6409 8).
 */

static ngx_int_t
ngx_mail_smtpd_message_prefix(ngx_mail_session_t *s, ngx_mail_smtpd_tx_t *tx,
    ngx_str_t *prefix)
{
    u_char                     *p, *sp;
    size_t                      len;
    ngx_str_t                  *rcpt;
    ngx_flag_t                  date, message_id;
    ngx_mail_smtpd_ctx_t       *ctx;
    ngx_mail_core_srv_conf_t   *cscf;
    ngx_mail_smtpd_srv_conf_t  *sscf;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);
    cscf = ngx_mail_get_module_srv_conf(s, ngx_mail_core_module);
    sscf = ngx_mail_get_module_srv_conf(s, ngx_mail_smtpd_module);

    len = 512 + tx->from.len + ctx->helo.len + ctx->client_name.len
          + s->connection->addr_text.len
          + 2 * cscf->server_name.len + 2 * tx->spool.id.len + 256;

    if (tx->local.nelts + tx->remote.nelts == 1) {
        rcpt = tx->local.nelts ? tx->local.elts : tx->remote.elts;
        len += rcpt->len;

    } else {
        rcpt = NULL;
    }

    p = ngx_pnalloc(tx->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    prefix->data = p;

    p = ngx_sprintf(p, "Return-Path: <%V>" CRLF, &tx->from);

    /* the client's address as an RFC 5321 4.1.3 address literal */
    p = ngx_sprintf(p, "Received: from %V (%V [%s%V])" CRLF
                    "\tby %V (nginx-mailserver) with %s id %V",
                    &ctx->helo, &ctx->client_name,
                    s->connection->sockaddr->sa_family == AF_INET6
                    ? "IPv6:" : "",
                    &s->connection->addr_text,
                    &cscf->server_name, ngx_mail_smtpd_protocol_word(s, ctx),
                    &tx->spool.id);

#if (NGX_MAIL_SSL)
    if (s->connection->ssl) {
        p = ngx_sprintf(p, CRLF "\t(using %s with cipher %s)",
                        SSL_get_version(s->connection->ssl->connection),
                        SSL_get_cipher_name(s->connection->ssl->connection));
    }
#endif

    if (rcpt) {
        /* a remote recipient's parameters follow it after a space */
        sp = ngx_strlchr(rcpt->data, rcpt->data + rcpt->len, ' ');
        p = ngx_sprintf(p, CRLF "\tfor <%*s>",
                        sp ? (size_t) (sp - rcpt->data) : rcpt->len,
                        rcpt->data);
    }

    p = ngx_cpymem(p, "; ", 2);
    p = ngx_mail_smtpd_rfc5322_date(p, ngx_time());
    p = ngx_cpymem(p, CRLF, 2);

    if (sscf->role == NGX_MAIL_SMTPD_ROLE_SUBMISSION) {
        ngx_mail_smtpd_header_scan(tx->chunk->start, tx->chunk->last,
                                   &date, &message_id);

        if (!date) {
            p = ngx_cpymem(p, "Date: ", 6);
            p = ngx_mail_smtpd_rfc5322_date(p, ngx_time());
            p = ngx_cpymem(p, CRLF, 2);
        }

        if (!message_id) {
            p = ngx_sprintf(p, "Message-ID: <%V@%V>" CRLF, &tx->spool.id,
                            &cscf->server_name);
        }
    }

    prefix->len = p - prefix->data;

    return NGX_OK;
}


/*
 * Looks for Date and Message-ID in the header section at the start of the
 * first chunk.  A header section longer than the chunk counts as having
 * both: nothing is added that might be there already.
 */

static void
ngx_mail_smtpd_header_scan(u_char *p, u_char *end, ngx_flag_t *date,
    ngx_flag_t *message_id)
{
    u_char  *lf;

    *date = 0;
    *message_id = 0;

    for ( ;; ) {
        lf = ngx_strlchr(p, end, LF);

        if (lf == NULL) {
            /* no end of the header section in the chunk */
            *date = 1;
            *message_id = 1;
            return;
        }

        if (lf - p <= 1) {
            /* the empty line ending the header section */
            return;
        }

        if (lf - p > 5 && ngx_strncasecmp(p, (u_char *) "date:", 5) == 0) {
            *date = 1;
        }

        if (lf - p > 11
            && ngx_strncasecmp(p, (u_char *) "message-id:", 11) == 0)
        {
            *message_id = 1;
        }

        p = lf + 1;
    }
}


/* RFC 5322 3.3 date-time, in UTC */

static u_char *
ngx_mail_smtpd_rfc5322_date(u_char *p, time_t t)
{
    ngx_tm_t             tm;
    static const char   *wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri",
                                    "Sat" };
    static const char   *mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

    ngx_gmtime(t, &tm);

    return ngx_sprintf(p, "%s, %d %s %4d %02d:%02d:%02d +0000",
                       wday[tm.ngx_tm_wday], tm.ngx_tm_mday,
                       mon[tm.ngx_tm_mon - 1], tm.ngx_tm_year,
                       tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);
}


/* RFC 3848 and RFC 6531 3.7.3: how the message came in */

static const char *
ngx_mail_smtpd_protocol_word(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx)
{
    ngx_uint_t           i;
    static const char   *esmtp[] = { "ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA" };
    static const char   *utf8[] = { "UTF8SMTP", "UTF8SMTPA", "UTF8SMTPS",
                                    "UTF8SMTPSA" };

    if (!ctx->esmtp) {
        return "SMTP";
    }

    i = (ctx->authenticated ? 1 : 0) + (s->connection->ssl ? 2 : 0);

    return ctx->tx->smtputf8 ? utf8[i] : esmtp[i];
}


static void
ngx_mail_smtpd_appended(ngx_mail_session_t *s, ngx_int_t rc,
    ngx_str_t *detail)
{
    ngx_mail_smtpd_tx_t   *tx;
    ngx_mail_server_io_t  *io;
    ngx_mail_smtpd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);
    tx = ctx->tx;

    if (tx == NULL || !tx->waiting || tx->spool.ninflight > 1) {
        return;
    }

    tx->waiting = 0;

    io = ngx_mail_server_io(s);
    io->busy = 0;

    ngx_mail_server_resume(s);
}


static void
ngx_mail_smtpd_message_end(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx)
{
    size_t                      written;
    ngx_int_t                   rc;
    ngx_mail_smtpd_tx_t        *tx;
    ngx_mail_server_io_t       *io;

    tx = ctx->tx;
    io = ngx_mail_server_io(s);

    if (tx->bdat && !tx->bdat_last) {
        /* RFC 3030 2: each chunk but the last is acknowledged at once */
        tx->receiving = 0;
        (void) ngx_mail_server_printf(s, "250 2.0.0 %O octets received",
                                    tx->bdat_size);
        return;
    }

    if (tx->bdat) {
        (void) ngx_mail_smtpd_bdat_finish(&tx->decoder, tx->chunk->last,
                                          tx->chunk->end - tx->chunk->last,
                                          &written);
        tx->chunk->last += written;
    }

    ngx_mail_smtpd_message_flush(s, tx);

    /* from now on only the delivery's answer resumes the session */
    tx->waiting = 0;

    if (tx->decoder.too_big) {
        ngx_mail_store_spool_discard(&tx->spool);
        ngx_mail_smtpd_message_reply(s, "552 5.3.4 Message size exceeds "
                                     "fixed limit", NULL);
        return;
    }

    if (tx->spool.failed) {
        ngx_mail_store_spool_discard(&tx->spool);
        ngx_mail_smtpd_message_reply(s, "451 4.3.0 Error: queue file write "
                                     "error", NULL);
        return;
    }

    io->busy = 1;

    if (ngx_mail_spam_enabled(s, ctx->authenticated)) {
        rc = ngx_mail_spam_check(s, tx->pool, &tx->spool.id, &tx->spool.key,
                                 &tx->from, &tx->local,
                                 ngx_mail_smtpd_judged);
        if (rc == NGX_OK) {
            return;
        }

        if (rc == NGX_ERROR) {
            io->busy = 0;
            ngx_mail_store_spool_discard(&tx->spool);
            ngx_mail_smtpd_message_reply(s, "451 4.3.0 Error: out of memory",
                                         NULL);
            return;
        }
    }

    (void) ngx_mail_smtpd_deliver(s, ctx, NULL);
}


/* the spam filter's verdict: refused, or delivered with its fields */

static void
ngx_mail_smtpd_judged(ngx_mail_session_t *s, ngx_mail_spam_verdict_t *v)
{
    ngx_mail_smtpd_ctx_t  *ctx;
    ngx_mail_server_io_t  *io;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);

    if (v->filtered && v->reject) {
        io = ngx_mail_server_io(s);
        io->busy = 0;
        ngx_mail_store_spool_discard(&ctx->tx->spool);
        ngx_mail_smtpd_message_reply(s, "550 5.7.1 Message rejected as spam",
                                     NULL);
        ngx_mail_server_resume(s);
        return;
    }

    /* from the filter's callback, nothing else resumes the session */
    if (ngx_mail_smtpd_deliver(s, ctx, v->filtered ? v : NULL) != NGX_OK) {
        ngx_mail_server_resume(s);
    }
}


static ngx_int_t
ngx_mail_smtpd_deliver(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx,
    ngx_mail_spam_verdict_t *v)
{
    ngx_mail_smtpd_tx_t        *tx;
    ngx_mail_server_io_t       *io;
    ngx_mail_store_envelope_t   env;

    tx = ctx->tx;
    io = ngx_mail_server_io(s);

    env.from = tx->from;
    env.params = tx->params;
    env.remote = &tx->remote;

    if (v) {
        env.headers = v->headers;
        env.junk = v->junk;

    } else {
        ngx_str_null(&env.headers);
        env.junk = NULL;
    }

    /* queued behind the APPENDs: Redis runs it after the last of them */
    if (ngx_mail_store_deliver(&tx->spool, tx->pool, &tx->local, &env,
                               ngx_mail_smtpd_delivered)
        != NGX_OK)
    {
        io->busy = 0;
        ngx_mail_store_spool_discard(&tx->spool);
        ngx_mail_smtpd_message_reply(s, "451 4.3.0 Error: queue file write "
                                     "error", NULL);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_mail_smtpd_delivered(ngx_mail_session_t *s, ngx_int_t rc,
    ngx_str_t *detail)
{
    ngx_str_t              who;
    ngx_mail_smtpd_ctx_t  *ctx;
    ngx_mail_server_io_t  *io;

    io = ngx_mail_server_io(s);
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);

    io->busy = 0;

    if (rc == NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "message %V from <%V> stored, %O octets, "
                      "%ui local and %ui remote recipients",
                      &ctx->tx->spool.id, &ctx->tx->from,
                      ctx->tx->spool.size, ctx->tx->local.nelts,
                      ctx->tx->remote.nelts);

        ngx_mail_smtpd_message_reply(s, "250 2.0.0 Ok: queued as %V",
                                     &ctx->tx->spool.id);

    } else if (rc == NGX_DECLINED && detail->len > 10
               && ngx_strncmp(detail->data, "OVERQUOTA ", 10) == 0)
    {
        who.data = detail->data + 10;
        who.len = detail->len - 10;
        ngx_mail_store_spool_discard(&ctx->tx->spool);
        ngx_mail_smtpd_message_reply(s, "552 5.2.2 <%V>: Mailbox full", &who);

    } else if (rc == NGX_DECLINED && detail->len > 7
               && ngx_strncmp(detail->data, "NOUSER ", 7) == 0)
    {
        /* the account went away between RCPT and the end of the data */
        who.data = detail->data + 7;
        who.len = detail->len - 7;
        ngx_mail_store_spool_discard(&ctx->tx->spool);
        ngx_mail_smtpd_message_reply(s, "550 5.1.1 <%V>: Recipient address "
                                     "rejected: User unknown", &who);

    } else {
        ngx_mail_store_spool_discard(&ctx->tx->spool);
        ngx_mail_smtpd_message_reply(s, "451 4.3.0 Error: queue file write "
                                     "error", NULL);
    }

    ngx_mail_server_resume(s);
}


/* RFC 5321 4.1.1.4: the transaction ends with the reply to the data */

static void
ngx_mail_smtpd_message_reply(ngx_mail_session_t *s, const char *fmt,
    ngx_str_t *arg)
{
    ngx_mail_smtpd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_smtpd_module);

    if (arg) {
        (void) ngx_mail_server_printf(s, fmt, arg);

    } else {
        (void) ngx_mail_server_printf(s, fmt);
    }

    ngx_mail_smtpd_tx_end(ctx);
}
