
/*
 * FETCH (RFC 3501 6.4.5, RFC 7162 CHANGEDSINCE and VANISHED) and SEARCH
 * (6.4.4): the commands that read messages.  Both go through the
 * messages named in batches: one Lua script returns a batch's records
 * (and the message content when needed, within a byte budget), the
 * batch's responses are written and sent, and only then is the next
 * batch asked for.  A session so holds one batch, whatever the size of
 * the mailbox or of its messages.
 *
 * The responses are written by the plain-C FETCH writer
 * (ngx_mail_imapd_fetch.c) and SEARCH matcher (ngx_mail_imapd_search.c)
 * over the MIME library.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_redis.h"
#include "ngx_mail_imapd.h"
#include "ngx_mail_imapd_message.h"
#include "ngx_mail_imapd_fetch.h"
#include "ngx_mail_imapd_search.h"
#include "mime.h"


/* a batch: so many records, or so many octets of content */
#define NGX_MAIL_IMAPD_BATCH_RECORDS   1000
#define NGX_MAIL_IMAPD_BATCH_OCTETS    (2 * 1024 * 1024)

/*
 * what is read of a message when only its header is needed; a longer
 * header is read again with the whole message
 */
#define NGX_MAIL_IMAPD_HEADER_OCTETS      8192
#define NGX_MAIL_IMAPD_HEADER_OCTETS_STR  "8191"

/* the writer hands its output over in pieces of this size */
#define NGX_MAIL_IMAPD_FLUSH_SIZE      16384


/*
 * The fields of msg:{A}:N:U a batch reads, in this order: the first three
 * always, then the internal date if needed, then what content needs
 */
static const char  *ngx_mail_imapd_fields[] = {
    "flags", "size", "modseq", "internaldate", "blob", "hdrlen"
};


/*
 * ARGV: user, id, origin, uid...: \Seen set on those that lack it (RFC 3501
 * 6.4.5), as a side effect of FETCH.  { highestmodseq before, after,
 * { uid, flags, modseq, ... } of the messages changed }
 */
static char  ngx_mail_imapd_seen_lua[] =
    "local t = '{' .. ARGV[1] .. '}'\n"
    "local id = ARGV[2]\n"
    "local mb = 'mailbox:' .. t .. ':' .. id\n"
    "local before = redis.call('HGET', mb, 'highestmodseq')\n"
    "local out = {}\n"
    "for i = 4, #ARGV do\n"
    "  local uid = ARGV[i]\n"
    "  local key = 'msg:' .. t .. ':' .. id .. ':' .. uid\n"
    "  local flags = redis.call('HGET', key, 'flags')\n"
    "  if flags and not string.find(' ' .. flags .. ' ', ' \\\\Seen ', 1,\n"
    "                               true) then\n"
    "    flags = flags == '' and '\\\\Seen' or flags .. ' \\\\Seen'\n"
    "    local modseq = redis.call('HINCRBY', mb, 'highestmodseq', 1)\n"
    "    redis.call('HSET', key, 'flags', flags, 'modseq', modseq)\n"
    "    redis.call('ZADD', mb .. ':modseq', modseq, uid)\n"
    "    redis.call('HINCRBY', mb, 'unseen', -1)\n"
    "    out[#out + 1] = uid\n"
    "    out[#out + 1] = flags\n"
    "    out[#out + 1] = tostring(modseq)\n"
    "  end\n"
    "end\n"
    "if #out > 0 then\n"
    "  redis.call('PUBLISH', 'notify:' .. t, 'FETCH ' .. id .. ARGV[3])\n"
    "end\n"
    "return { before, redis.call('HGET', mb, 'highestmodseq'), out }\n";


/*
 * ARGV: user, id, then pairs of uid and header length: remembered in the
 * message's hash, so that a header is read exactly the next time; a
 * message expunged meanwhile is not made again
 */
static char  ngx_mail_imapd_hdrlen_lua[] =
    "local p = 'msg:{' .. ARGV[1] .. '}:' .. ARGV[2] .. ':'\n"
    "for i = 3, #ARGV - 1, 2 do\n"
    "  if redis.call('EXISTS', p .. ARGV[i]) == 1 then\n"
    "    redis.call('HSET', p .. ARGV[i], 'hdrlen', ARGV[i + 1])\n"
    "  end\n"
    "end\n"
    "return 0\n";


/* ARGV: user, id, modseq: UIDs expunged since (RFC 7162 3.2.6) */
static char  ngx_mail_imapd_vanished_lua[] =
    "local mb = 'mailbox:{' .. ARGV[1] .. '}:' .. ARGV[2]\n"
    "return redis.call('ZRANGEBYSCORE', mb .. ':expunged', '(' .. ARGV[3],\n"
    "                  '+inf')\n";


/* a message's record, as the meta round trip found it */
typedef struct {
    uint32_t                    uid;
    uint64_t                    size;
    time_t                      internaldate;
    uint64_t                    modseq;
    uint32_t                    hdrlen;      /* 0: not known yet */
    ngx_str_t                   flags;
    ngx_str_t                   blob;
    unsigned                    seen_set:1;  /* by this FETCH */
    unsigned                    full:1;      /* the header is longer */
} ngx_mail_imapd_record_t;


typedef struct ngx_mail_imapd_batch_s  ngx_mail_imapd_batch_t;

/* what a command does with each message, and at the end */
typedef ngx_int_t (*ngx_mail_imapd_emit_pt)(ngx_mail_imapd_batch_t *bt,
    ngx_mail_imapd_message_t *msg, ngx_flag_t seen_set);
typedef ngx_int_t (*ngx_mail_imapd_finish_pt)(ngx_mail_session_t *s,
    ngx_mail_imapd_batch_t *bt);


struct ngx_mail_imapd_batch_s {
    ngx_pool_t                 *pool;
    mime_allocator_t            allocator;

    uint32_t                   *uids;        /* the messages named */
    ngx_uint_t                  nuids;
    ngx_uint_t                  next;        /* the first not loaded */

    /* the records of the meta round trip under way, in their own pool */
    ngx_pool_t                 *records_pool;
    ngx_mail_imapd_record_t    *records;
    ngx_uint_t                  nrecords;
    ngx_uint_t                  record_next; /* the first without content */
    ngx_uint_t                  content_count;  /* in the request */

    ngx_array_t                 hdrlens;     /* ngx_str_t: uid, length */

    ngx_mail_imapd_emit_pt      emit;
    ngx_mail_imapd_finish_pt    finish;

    ngx_mail_imapd_fetch_t     *fetch;
    uint64_t                    changedsince;
    ngx_mail_imapd_seqset_t     set;         /* UID FETCH (VANISHED) */

    mime_buf_t                  out;         /* FETCH responses */

    ngx_mail_imapd_search_t    *search;
    ngx_array_t                 found;       /* uint32_t: seq or UID */
    uint64_t                    found_modseq;
    ngx_pool_t                 *scratch;     /* SEARCH: one message */

    ngx_mail_session_t         *session;
    ngx_mail_imapd_ctx_t       *ctx;

    ngx_uint_t                  fields;      /* ngx_mail_imapd_fields */

    unsigned                    content:1;   /* the header at least */
    unsigned                    body:1;      /* the whole message */
    unsigned                    set_seen:1;
    unsigned                    expunged:1;  /* some were gone */
    unsigned                    unknown_cte:1;  /* BINARY cannot decode */
    unsigned                    vanished:1;  /* UID FETCH (VANISHED) */
    unsigned                    failed:1;
};


static ngx_int_t ngx_mail_imapd_fetch_modifiers(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_mail_imapd_batch_t *bt);
static ngx_int_t ngx_mail_imapd_vanished_send(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_mail_imapd_batch_t *bt,
    ngx_mail_imapd_seqset_t *set);
static void ngx_mail_imapd_vanished(redisReply *reply, void *data);
static ngx_int_t ngx_mail_imapd_fetch_finish(ngx_mail_session_t *s,
    ngx_mail_imapd_batch_t *bt);
static ngx_int_t ngx_mail_imapd_fetch_emit(ngx_mail_imapd_batch_t *bt,
    ngx_mail_imapd_message_t *msg, ngx_flag_t seen_set);
static ngx_int_t ngx_mail_imapd_search_finish(ngx_mail_session_t *s,
    ngx_mail_imapd_batch_t *bt);
static ngx_int_t ngx_mail_imapd_search_emit(ngx_mail_imapd_batch_t *bt,
    ngx_mail_imapd_message_t *msg, ngx_flag_t seen_set);
static void ngx_mail_imapd_search_reply(ngx_mail_session_t *s,
    ngx_mail_imapd_batch_t *bt);

static ngx_int_t ngx_mail_imapd_load_next(ngx_mail_session_t *s,
    void *data);
static ngx_int_t ngx_mail_imapd_meta_send(ngx_mail_session_t *s,
    ngx_mail_imapd_batch_t *bt);
static ngx_int_t ngx_mail_imapd_batch_request(ngx_mail_session_t *s,
    ngx_mail_imapd_batch_t *bt, ngx_mail_redis_cmd_t *cmds, ngx_uint_t n,
    ngx_mail_redis_handler_pt handler);
static redisReply **ngx_mail_imapd_replies(redisReply *reply, ngx_uint_t n);
static void ngx_mail_imapd_meta_loaded(redisReply *reply, void *data);
static void ngx_mail_imapd_seen_done(redisReply *reply, void *data);
static void ngx_mail_imapd_records_ready(ngx_mail_session_t *s,
    ngx_mail_imapd_batch_t *bt);
static ngx_int_t ngx_mail_imapd_content_send(ngx_mail_session_t *s,
    ngx_mail_imapd_batch_t *bt);
static void ngx_mail_imapd_content_loaded(redisReply *reply, void *data);
static void ngx_mail_imapd_message_of(ngx_mail_imapd_batch_t *bt,
    ngx_mail_imapd_record_t *r, ngx_mail_imapd_message_t *msg);
static ngx_int_t ngx_mail_imapd_copy(ngx_pool_t *pool, ngx_str_t *dst,
    redisReply *src);
static ngx_flag_t ngx_mail_imapd_seen(ngx_str_t *flags);
static ngx_int_t ngx_mail_imapd_hdrlen_learn(ngx_mail_imapd_batch_t *bt,
    ngx_mail_imapd_record_t *r, size_t len);
static void ngx_mail_imapd_hdrlen_send(ngx_mail_session_t *s,
    ngx_mail_imapd_batch_t *bt);

static ngx_mail_imapd_batch_t *ngx_mail_imapd_batch_create(
    ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx);
static void ngx_mail_imapd_batch_end(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
static void *ngx_mail_imapd_pool_alloc(void *pool, size_t size);
static int ngx_mail_imapd_flush(void *data, const mime_uchar_t *p,
    size_t len);


ngx_int_t
ngx_mail_imapd_cmd_fetch(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    int                       rc;
    unsigned                  k;
    const char               *error;
    ngx_mail_imapd_seqset_t   set;
    ngx_mail_imapd_batch_t   *bt;
    ngx_mail_imapd_parser_t  *ps;

    ps = &ctx->parser;

    if (ps->nargs < 2 || ps->nargs > 3) {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
        return NGX_ERROR;
    }

    if (ngx_mail_imapd_seqset_arg(s, ctx, 0, ps->uid, &set) != NGX_OK) {
        return NGX_ERROR;
    }

    bt = ngx_mail_imapd_batch_create(s, ctx);
    if (bt == NULL) {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    rc = ngx_mail_imapd_fetch_compile(ps->nodes, ngx_mail_imapd_arg(ctx, 1)
                                                 - ps->nodes,
                                      &bt->allocator, &bt->fetch, &error);

    if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
        ngx_mail_imapd_batch_end(s, ctx);

        if (error == NULL) {
            return ngx_mail_imapd_unavailable(s, ctx);
        }

        (void) ngx_mail_imapd_printf(s, ctx, "%V BAD %s", &ctx->tag, error);
        return NGX_ERROR;
    }

    if (ngx_mail_imapd_fetch_modifiers(s, ctx, bt) != NGX_OK) {
        ngx_mail_imapd_batch_end(s, ctx);
        return NGX_ERROR;
    }

    if (ps->uid) {
        bt->fetch->uid = 1;
    }

    if (ctx->condstore || bt->changedsince) {
        bt->fetch->modseq = 1;
    }

    bt->content = (bt->fetch->needs & NGX_MAIL_IMAPD_NEED_CONTENT) != 0;
    bt->body = (bt->fetch->needs & NGX_MAIL_IMAPD_NEED_BODY)
               == NGX_MAIL_IMAPD_NEED_BODY;
    bt->set_seen = bt->fetch->sets_seen && !ctx->mailbox->readonly;
    bt->emit = ngx_mail_imapd_fetch_emit;
    bt->finish = ngx_mail_imapd_fetch_finish;
    bt->fields = bt->content ? 6 : 3;

    for (k = 0; !bt->content && k < bt->fetch->nitems; k++) {
        if (bt->fetch->items[k].type == NGX_MAIL_IMAPD_FETCH_INTERNALDATE) {
            bt->fields = 4;
        }
    }

    /* one output buffer for all the responses: each is flushed whole */
    mime_buf_init(&bt->out, &bt->allocator, NGX_MAIL_IMAPD_FLUSH_SIZE);
    bt->out.flush = ngx_mail_imapd_flush;
    bt->out.flush_ctx = bt;
    bt->out.limit = NGX_MAIL_IMAPD_FLUSH_SIZE;

    if (ngx_mail_imapd_targets(s, ctx, &set, ps->uid, &bt->uids, &bt->nuids)
        != NGX_OK)
    {
        ngx_mail_imapd_batch_end(s, ctx);
        return NGX_ERROR;
    }

    if (bt->vanished) {
        return ngx_mail_imapd_vanished_send(s, ctx, bt, &set);
    }

    return ngx_mail_imapd_load_next(s, bt);
}


/* the expunged UIDs of the set first, then the FETCH responses */

static ngx_int_t
ngx_mail_imapd_vanished_send(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_mail_imapd_batch_t *bt,
    ngx_mail_imapd_seqset_t *set)
{
    u_char     *p;
    ngx_str_t   args[3];

    bt->set = *set;
    bt->set.ranges = ngx_palloc(bt->pool, ngx_max(set->nranges, 1)
                                          * sizeof(ngx_mail_imapd_seq_range_t));
    p = ngx_pnalloc(bt->pool, NGX_INT64_LEN);

    if (bt->set.ranges == NULL || p == NULL) {
        ngx_mail_imapd_batch_end(s, ctx);
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    ngx_memcpy(bt->set.ranges, set->ranges,
               set->nranges * sizeof(ngx_mail_imapd_seq_range_t));

    args[0] = s->login;
    args[1] = ctx->mailbox->id;
    args[2].data = p;
    args[2].len = ngx_sprintf(p, "%uL", bt->changedsince) - p;

    if (ngx_mail_imapd_eval(s, ngx_mail_imapd_vanished_lua, args, 3,
                            ngx_mail_imapd_vanished)
        != NGX_OK)
    {
        ngx_mail_imapd_batch_end(s, ctx);
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    return NGX_OK;
}


static void
ngx_mail_imapd_vanished(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    u_char                   *p, num[NGX_INT32_LEN + 1];
    size_t                    i;
    uint32_t                  uid, star;
    ngx_uint_t                n;
    ngx_mail_imapd_ctx_t     *ctx;
    ngx_mail_imapd_batch_t   *bt;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);
    bt = ctx->work;

    ngx_mail_server_io(s)->busy = 0;

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)
        || reply->type != REDIS_REPLY_ARRAY)
    {
        ngx_mail_imapd_batch_end(s, ctx);
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    star = ctx->mailbox->nuids ? ctx->mailbox->uids[ctx->mailbox->nuids - 1]
                               : 0;
    n = 0;

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            continue;
        }

        uid = (uint32_t) ngx_atoi((u_char *) reply->element[i]->str,
                                  reply->element[i]->len);

        if (!ngx_mail_imapd_seqset_contains(&bt->set, uid, star)) {
            continue;
        }

        if (n++ == 0) {
            (void) ngx_mail_imapd_write(s, ctx,
                                        (u_char *) "* VANISHED (EARLIER) ",
                                        sizeof("* VANISHED (EARLIER) ") - 1);
        }

        p = ngx_sprintf(num, "%s%uD", n > 1 ? "," : "", uid);
        (void) ngx_mail_imapd_write(s, ctx, num, p - num);
    }

    if (n) {
        (void) ngx_mail_imapd_write(s, ctx, (u_char *) CRLF, 2);
    }

    ctx->next = ngx_mail_imapd_load_next;
    ngx_mail_imapd_done(s);
}


/* RFC 7162 3.1.4.1 (CHANGEDSINCE n), 3.2.6 (VANISHED) */

static ngx_int_t
ngx_mail_imapd_fetch_modifiers(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_mail_imapd_batch_t *bt)
{
    uint32_t                  i;
    ngx_mail_imapd_node_t    *list, *m, *v;
    ngx_mail_imapd_parser_t  *ps;

    ps = &ctx->parser;

    if (ps->nargs != 3) {
        return NGX_OK;
    }

    list = ngx_mail_imapd_arg(ctx, 2);

    if (list->type != NGX_MAIL_IMAPD_NODE_LIST) {
        goto invalid;
    }

    for (i = list->child; i != NGX_MAIL_IMAPD_NODE_NONE; i = m->next) {
        m = &ps->nodes[i];

        if (m->type != NGX_MAIL_IMAPD_NODE_ATOM) {
            goto invalid;
        }

        if (ngx_mail_imapd_atom_eq(&m->value, "CHANGEDSINCE")
            && m->next != NGX_MAIL_IMAPD_NODE_NONE)
        {
            v = &ps->nodes[m->next];

            if (v->type != NGX_MAIL_IMAPD_NODE_ATOM) {
                goto invalid;
            }

            bt->changedsince = ngx_atoof((u_char *) v->value.data,
                                         v->value.len);
            if (bt->changedsince == (uint64_t) NGX_ERROR
                || bt->changedsince == 0)
            {
                goto invalid;
            }

            ngx_mail_imapd_condstore_on(s, ctx);
            m = v;
            continue;
        }

        if (ngx_mail_imapd_atom_eq(&m->value, "VANISHED") && ps->uid
            && ctx->qresync)
        {
            bt->vanished = 1;
            continue;
        }

        goto invalid;
    }

    if (bt->vanished && bt->changedsince == 0) {
        goto invalid;
    }

    return NGX_OK;

invalid:

    (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid FETCH modifiers");
    return NGX_ERROR;
}


/* FETCH's end: the tagged reply says what could not be done */

static ngx_int_t
ngx_mail_imapd_fetch_finish(ngx_mail_session_t *s, ngx_mail_imapd_batch_t *bt)
{
    ngx_mail_imapd_ctx_t  *ctx;

    ctx = bt->ctx;

    if (bt->unknown_cte) {
        ngx_mail_imapd_batch_end(s, ctx);
        return ngx_mail_imapd_complete(s, ctx, ctx->parser.uid,
                                       "NO [UNKNOWN-CTE] Cannot decode the "
                                       "part's Content-Transfer-Encoding");
    }

    if (bt->expunged) {
        ngx_mail_imapd_batch_end(s, ctx);
        return ngx_mail_imapd_complete(s, ctx, ctx->parser.uid,
                                       "NO [EXPUNGEISSUED] Some of the "
                                       "requested messages no longer exist");
    }

    ngx_mail_imapd_batch_end(s, ctx);

    return ngx_mail_imapd_complete(s, ctx, ctx->parser.uid, "OK %s completed",
                                   ctx->parser.uid ? "UID FETCH" : "FETCH");
}


/*
 * The loader, for FETCH and SEARCH.  Per round: the records of up to
 * NGX_MAIL_IMAPD_BATCH_RECORDS messages (one HMGET each, in a MULTI: no
 * script, Redis does them natively), then \Seen where FETCH sets it, then
 * the content of as many messages as NGX_MAIL_IMAPD_BATCH_OCTETS holds
 * (GET, or GETRANGE of the start when only the header is needed), each
 * round's output sent before the next is asked for.
 */

static ngx_int_t
ngx_mail_imapd_load_next(ngx_mail_session_t *s, void *data)
{
    ngx_mail_imapd_batch_t  *bt = data;

    if (bt->failed) {
        ngx_mail_imapd_batch_end(s, bt->ctx);
        return ngx_mail_imapd_unavailable(s, bt->ctx);
    }

    if (bt->record_next < bt->nrecords) {
        return ngx_mail_imapd_content_send(s, bt);
    }

    if (bt->next < bt->nuids) {
        return ngx_mail_imapd_meta_send(s, bt);
    }

    return bt->finish(s, bt);
}


static ngx_int_t
ngx_mail_imapd_meta_send(ngx_mail_session_t *s, ngx_mail_imapd_batch_t *bt)
{
    u_char                *p;
    size_t                 len;
    ngx_uint_t             i, k, n;
    ngx_mail_redis_cmd_t  *cmds;

    if (bt->records_pool) {
        ngx_destroy_pool(bt->records_pool);
    }

    bt->records_pool = ngx_create_pool(16384, s->connection->log);
    if (bt->records_pool == NULL) {
        goto failed;
    }

    n = ngx_min(bt->nuids - bt->next, NGX_MAIL_IMAPD_BATCH_RECORDS);
    len = sizeof("msg:{}:") - 1 + s->login.len + bt->ctx->mailbox->id.len
          + 1 + NGX_INT32_LEN;

    cmds = ngx_palloc(bt->records_pool, n * sizeof(ngx_mail_redis_cmd_t));
    p = ngx_pnalloc(bt->records_pool, n * len);
    bt->records = ngx_palloc(bt->records_pool,
                             n * sizeof(ngx_mail_imapd_record_t));

    if (cmds == NULL || p == NULL || bt->records == NULL) {
        goto failed;
    }

    bt->nrecords = 0;
    bt->record_next = 0;
    ngx_memzero(&bt->hdrlens, sizeof(ngx_array_t));

    for (i = 0; i < n; i++) {
        ngx_mail_redis_cmd_init(&cmds[i], "HMGET");
        ngx_mail_redis_cmd_arg(&cmds[i], p,
                               ngx_sprintf(p, "msg:{%V}:%V:%uD", &s->login,
                                           &bt->ctx->mailbox->id,
                                           bt->uids[bt->next + i])
                               - p);
        /* no more than asked for: on a big mailbox replies add up */
        for (k = 0; k < bt->fields; k++) {
            ngx_mail_redis_cmd_cstr(&cmds[i], ngx_mail_imapd_fields[k]);
        }

        p += len;
    }

    if (ngx_mail_imapd_batch_request(s, bt, cmds, n, ngx_mail_imapd_meta_loaded)
        != NGX_OK)
    {
        goto failed;
    }

    return NGX_OK;

failed:

    ngx_mail_imapd_batch_end(s, bt->ctx);
    return ngx_mail_imapd_unavailable(s, bt->ctx);
}
/* n commands (MULTI/EXEC if more than one) while the session waits */

static ngx_int_t
ngx_mail_imapd_batch_request(ngx_mail_session_t *s, ngx_mail_imapd_batch_t *bt,
    ngx_mail_redis_cmd_t *cmds, ngx_uint_t n,
    ngx_mail_redis_handler_pt handler)
{
    ngx_mail_server_io_t  *io;

    io = ngx_mail_server_io(s);
    io->busy = 1;
    bt->content_count = n;

    if (ngx_mail_redis_send(cmds, n, handler, s, s->connection->log) == NULL) {
        io->busy = 0;
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a reply of several commands is EXEC's array; of one, that one's */

static redisReply **
ngx_mail_imapd_replies(redisReply *reply, ngx_uint_t n)
{
    static redisReply  *one[1];

    if (n == 1) {
        one[0] = reply;
        return one;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != n) {
        return NULL;
    }

    return reply->element;
}


static void
ngx_mail_imapd_meta_loaded(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    ngx_uint_t                 i, n, nseen;
    ngx_str_t                 *args;
    redisReply               **e, **f;
    ngx_mail_imapd_ctx_t      *ctx;
    ngx_mail_imapd_batch_t    *bt;
    ngx_mail_imapd_record_t   *r;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);
    bt = ctx->work;
    n = bt->content_count;

    ngx_mail_server_io(s)->busy = 0;

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)
        || (e = ngx_mail_imapd_replies(reply, n)) == NULL)
    {
        goto failed;
    }

    nseen = 0;

    for (i = 0; i < n; i++) {
        f = e[i]->element;

        if (e[i]->type != REDIS_REPLY_ARRAY || e[i]->elements != bt->fields
            || f[1]->type != REDIS_REPLY_STRING)
        {
            /* expunged since the session last looked */
            bt->expunged = 1;
            continue;
        }

        r = &bt->records[bt->nrecords];

        r->uid = bt->uids[bt->next + i];
        r->size = ngx_atoof((u_char *) f[1]->str, f[1]->len);
        r->internaldate = 0;
        r->modseq = 0;
        r->seen_set = 0;
        r->full = 0;
        r->hdrlen = 0;

        ngx_str_null(&r->flags);
        ngx_str_null(&r->blob);

        if (f[2]->type == REDIS_REPLY_STRING) {
            r->modseq = ngx_atoof((u_char *) f[2]->str, f[2]->len);
        }

        if (bt->fields > 3 && f[3]->type == REDIS_REPLY_STRING) {
            r->internaldate = ngx_atotm((u_char *) f[3]->str, f[3]->len);
        }

        if (bt->fields > 5 && f[5]->type == REDIS_REPLY_STRING) {
            r->hdrlen = (uint32_t) ngx_atoi((u_char *) f[5]->str, f[5]->len);

            if (r->hdrlen == (uint32_t) NGX_ERROR) {
                r->hdrlen = 0;
            }
        }

        if (bt->changedsince && r->modseq <= bt->changedsince) {
            continue;
        }

        if (ngx_mail_imapd_copy(bt->records_pool, &r->flags, f[0]) != NGX_OK
            || (bt->fields > 4
                && ngx_mail_imapd_copy(bt->records_pool, &r->blob, f[4])
                   != NGX_OK))
        {
            goto failed;
        }

        if (bt->set_seen && !ngx_mail_imapd_seen(&r->flags)) {
            nseen++;
        }

        bt->nrecords++;
    }

    bt->next += n;

    if (nseen) {
        args = ngx_palloc(bt->records_pool, (3 + nseen) * sizeof(ngx_str_t));
        if (args == NULL) {
            goto failed;
        }

        args[0] = s->login;
        args[1] = ctx->mailbox->id;
        args[2] = ctx->origin;
        nseen = 3;

        for (i = 0; i < bt->nrecords; i++) {
            r = &bt->records[i];

            if (ngx_mail_imapd_seen(&r->flags)) {
                continue;
            }

            args[nseen].data = ngx_pnalloc(bt->records_pool, NGX_INT32_LEN);
            if (args[nseen].data == NULL) {
                goto failed;
            }

            args[nseen].len = ngx_sprintf(args[nseen].data, "%uD", r->uid)
                              - args[nseen].data;
            nseen++;
        }

        if (ngx_mail_imapd_eval(s, ngx_mail_imapd_seen_lua, args, nseen,
                                ngx_mail_imapd_seen_done)
            != NGX_OK)
        {
            goto failed;
        }

        return;
    }

    ngx_mail_imapd_records_ready(s, bt);
    return;

failed:

    bt->failed = 1;
    ctx->next = ngx_mail_imapd_load_next;
    ngx_mail_imapd_done(s);
}


/* \Seen set: the records take the new flags and modseq */

static void
ngx_mail_imapd_seen_done(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    size_t                     i;
    uint32_t                   uid;
    uint64_t                   before;
    ngx_uint_t                 k;
    redisReply               **f, *list;
    ngx_mail_imapd_ctx_t      *ctx;
    ngx_mail_imapd_batch_t    *bt;
    ngx_mail_imapd_record_t   *r;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);
    bt = ctx->work;

    ngx_mail_server_io(s)->busy = 0;

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)
        || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || reply->element[2]->type != REDIS_REPLY_ARRAY)
    {
        bt->failed = 1;
        ctx->next = ngx_mail_imapd_load_next;
        ngx_mail_imapd_done(s);
        return;
    }

    list = reply->element[2];
    f = list->element;

    for (i = 0; i + 2 < list->elements; i += 3) {
        if (f[i]->type != REDIS_REPLY_STRING
            || f[i + 2]->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        uid = (uint32_t) ngx_atoi((u_char *) f[i]->str, f[i]->len);

        for (k = 0; k < bt->nrecords; k++) {
            r = &bt->records[k];

            if (r->uid != uid) {
                continue;
            }

            if (ngx_mail_imapd_copy(bt->records_pool, &r->flags, f[i + 1])
                != NGX_OK)
            {
                break;
            }

            r->modseq = ngx_atoof((u_char *) f[i + 2]->str, f[i + 2]->len);
            r->seen_set = 1;
            break;
        }
    }

    /* our own changes, when nobody else changed anything meanwhile */
    if (reply->element[0]->type == REDIS_REPLY_STRING
        && reply->element[1]->type == REDIS_REPLY_STRING)
    {
        before = ngx_atoof((u_char *) reply->element[0]->str,
                           reply->element[0]->len);

        if (before == ctx->mailbox->modseq) {
            ctx->mailbox->modseq = ngx_atoof((u_char *)
                                             reply->element[1]->str,
                                             reply->element[1]->len);
        }
    }

    ngx_mail_imapd_records_ready(s, bt);
}


/* without content the records are all there is; else content is next */

static void
ngx_mail_imapd_records_ready(ngx_mail_session_t *s, ngx_mail_imapd_batch_t *bt)
{
    ngx_uint_t                 i;
    ngx_mail_imapd_message_t   msg;

    if (!bt->content || bt->nrecords == 0) {
        for (i = 0; i < bt->nrecords; i++) {
            ngx_mail_imapd_message_of(bt, &bt->records[i], &msg);

            if (msg.seq
                && bt->emit(bt, &msg, bt->records[i].seen_set) != NGX_OK)
            {
                bt->failed = 1;
                break;
            }
        }

        bt->record_next = bt->nrecords;
        bt->ctx->next = ngx_mail_imapd_load_next;
        ngx_mail_imapd_done(s);
        return;
    }

    if (ngx_mail_imapd_content_send(s, bt) != NGX_OK) {
        ngx_mail_imapd_done(s);
    }
}


static ngx_int_t
ngx_mail_imapd_content_send(ngx_mail_session_t *s, ngx_mail_imapd_batch_t *bt)
{
    u_char                   *p;
    size_t                    octets;
    ngx_uint_t                i, n;
    ngx_mail_redis_cmd_t     *cmds;
    ngx_mail_imapd_record_t  *r;

    n = 0;
    octets = 0;

    for (i = bt->record_next; i < bt->nrecords; i++) {
        if (n && octets + bt->records[i].size > NGX_MAIL_IMAPD_BATCH_OCTETS) {
            break;
        }

        octets += bt->records[i].size;
        n++;
    }

    cmds = ngx_palloc(bt->records_pool, n * sizeof(ngx_mail_redis_cmd_t));
    p = ngx_pnalloc(bt->records_pool,
                    n * (sizeof("blob:{}") + 64 + NGX_INT32_LEN));

    if (cmds == NULL || p == NULL) {
        goto failed;
    }

    for (i = 0; i < n; i++) {
        r = &bt->records[bt->record_next + i];

        /* only the header: its start is enough (see the .h) */
        ngx_mail_redis_cmd_init(&cmds[i], (bt->body || r->full) ? "GET"
                                                                : "GETRANGE");
        ngx_mail_redis_cmd_arg(&cmds[i], p,
                               ngx_sprintf(p, "blob:{%*s}",
                                           ngx_min(r->blob.len, 56),
                                           r->blob.data)
                               - p);
        p += sizeof("blob:{}") + 64;

        if (!bt->body && !r->full) {
            ngx_mail_redis_cmd_cstr(&cmds[i], "0");

            if (r->hdrlen) {
                ngx_mail_redis_cmd_arg(&cmds[i], p,
                                       ngx_sprintf(p, "%uD", r->hdrlen - 1)
                                       - p);
                p += NGX_INT32_LEN;

            } else {
                ngx_mail_redis_cmd_cstr(&cmds[i],
                                        NGX_MAIL_IMAPD_HEADER_OCTETS_STR);
            }
        }
    }

    if (ngx_mail_imapd_batch_request(s, bt, cmds, n,
                                     ngx_mail_imapd_content_loaded)
        != NGX_OK)
    {
        goto failed;
    }

    return NGX_OK;

failed:

    bt->failed = 1;
    bt->ctx->next = ngx_mail_imapd_load_next;
    return NGX_ERROR;
}


static void
ngx_mail_imapd_content_loaded(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    u_char                    *end;
    ngx_uint_t                 i, n;
    redisReply               **e;
    ngx_mail_imapd_ctx_t      *ctx;
    ngx_mail_imapd_batch_t    *bt;
    ngx_mail_imapd_record_t   *r;
    ngx_mail_imapd_message_t   msg;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);
    bt = ctx->work;
    n = bt->content_count;

    ngx_mail_server_io(s)->busy = 0;
    ctx->next = ngx_mail_imapd_load_next;

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)
        || (e = ngx_mail_imapd_replies(reply, n)) == NULL)
    {
        bt->failed = 1;
        ngx_mail_imapd_done(s);
        return;
    }

    for (i = 0; i < n; i++) {
        r = &bt->records[bt->record_next + i];

        if (e[i]->type != REDIS_REPLY_STRING) {
            bt->expunged = 1;
            continue;
        }

        ngx_mail_imapd_message_of(bt, r, &msg);

        if (msg.seq == 0) {
            continue;
        }

        msg.data = (u_char *) e[i]->str;
        msg.len = e[i]->len;

        /* the header with its blank line, and nothing of the body */
        if (!bt->body && !r->full && !r->hdrlen) {
            end = NULL;

            if (msg.len >= 4) {
                end = ngx_strlcasestrn((u_char *) msg.data,
                                       (u_char *) msg.data + msg.len,
                                       (u_char *) CRLF CRLF, 4 - 1);
            }

            if (end) {
                msg.len = end + 4 - msg.data;
                (void) ngx_mail_imapd_hdrlen_learn(bt, r, msg.len);

            } else if (msg.len == NGX_MAIL_IMAPD_HEADER_OCTETS) {
                /* from this one on, again, this one whole */
                r->full = 1;
                break;
            }
        }

        if (bt->emit(bt, &msg, r->seen_set) != NGX_OK) {
            bt->failed = 1;
            break;
        }
    }

    bt->record_next += i;

    ngx_mail_imapd_hdrlen_send(s, bt);
    ngx_mail_imapd_done(s);
}


/* header lengths found in this round, sent together, nobody waiting */

static ngx_int_t
ngx_mail_imapd_hdrlen_learn(ngx_mail_imapd_batch_t *bt,
    ngx_mail_imapd_record_t *r, size_t len)
{
    u_char     *p;
    ngx_str_t  *a;

    if (bt->hdrlens.nalloc == 0
        && ngx_array_init(&bt->hdrlens, bt->records_pool, 64,
                          sizeof(ngx_str_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(bt->records_pool, 2 * NGX_INT32_LEN);
    a = ngx_array_push_n(&bt->hdrlens, 2);

    if (p == NULL || a == NULL) {
        return NGX_ERROR;
    }

    a[0].data = p;
    a[0].len = ngx_sprintf(p, "%uD", r->uid) - p;
    p += NGX_INT32_LEN;
    a[1].data = p;
    a[1].len = ngx_sprintf(p, "%uz", len) - p;

    return NGX_OK;
}


static void
ngx_mail_imapd_hdrlen_send(ngx_mail_session_t *s, ngx_mail_imapd_batch_t *bt)
{
    ngx_str_t             *a;
    ngx_uint_t             i;
    ngx_mail_redis_cmd_t   cmd;

    if (bt->hdrlens.nelts == 0) {
        return;
    }

    a = bt->hdrlens.elts;

    if (ngx_mail_redis_cmd_init_n(&cmd, "EVAL", 5 + bt->hdrlens.nelts,
                                  bt->records_pool)
        == NGX_OK)
    {
        ngx_mail_redis_cmd_cstr(&cmd, ngx_mail_imapd_hdrlen_lua);
        ngx_mail_redis_cmd_cstr(&cmd, "0");
        ngx_mail_redis_cmd_arg(&cmd, s->login.data, s->login.len);
        ngx_mail_redis_cmd_arg(&cmd, bt->ctx->mailbox->id.data,
                               bt->ctx->mailbox->id.len);

        for (i = 0; i < bt->hdrlens.nelts; i++) {
            ngx_mail_redis_cmd_arg(&cmd, a[i].data, a[i].len);
        }

        (void) ngx_mail_redis_send(&cmd, 1, NULL, NULL, s->connection->log);
    }

    bt->hdrlens.nelts = 0;
}


static void
ngx_mail_imapd_message_of(ngx_mail_imapd_batch_t *bt,
    ngx_mail_imapd_record_t *r, ngx_mail_imapd_message_t *msg)
{
    ngx_mail_imapd_mailbox_t  *mb;

    mb = bt->ctx->mailbox;

    ngx_memzero(msg, sizeof(ngx_mail_imapd_message_t));

    msg->uid = r->uid;
    msg->seq = (uint32_t) ngx_mail_imapd_seq_of(mb, r->uid);
    msg->flags = r->flags.data;
    msg->flags_len = r->flags.len;
    msg->size = r->size;
    msg->internaldate = r->internaldate;
    msg->modseq = r->modseq;
    msg->recent = ngx_mail_imapd_is_recent(mb, r->uid);
}


static ngx_int_t
ngx_mail_imapd_copy(ngx_pool_t *pool, ngx_str_t *dst, redisReply *src)
{
    if (src->type != REDIS_REPLY_STRING || src->len == 0) {
        ngx_str_null(dst);
        return NGX_OK;
    }

    dst->data = ngx_pnalloc(pool, src->len);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src->str, src->len);
    dst->len = src->len;

    return NGX_OK;
}


/* one FETCH response */

static ngx_int_t
ngx_mail_imapd_fetch_emit(ngx_mail_imapd_batch_t *bt,
    ngx_mail_imapd_message_t *msg, ngx_flag_t seen_set)
{
    ngx_int_t          rc;
    ngx_pool_t        *pool;
    mime_allocator_t   allocator;
    mime_message_t    *parsed;

    parsed = NULL;
    pool = NULL;

    if (bt->content) {
        /* the parse of one message lives as long as its response */
        pool = ngx_create_pool(16384, ngx_cycle->log);
        if (pool == NULL) {
            return NGX_ERROR;
        }

        allocator.alloc = ngx_mail_imapd_pool_alloc;
        allocator.ctx = pool;

        parsed = mime_parse(&allocator, msg->data, msg->len, NULL);
        if (parsed == NULL) {
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }

        /* RFC 3516 4.3: nothing for this message, NO at the end */
        if (ngx_mail_imapd_fetch_check(bt->fetch, parsed)
            == NGX_MAIL_IMAPD_PARSE_DECLINED)
        {
            bt->unknown_cte = 1;
            ngx_destroy_pool(pool);
            return NGX_OK;
        }
    }

    rc = NGX_OK;

    /* flushed whole: nothing in the buffer points into the parse */
    if (ngx_mail_imapd_fetch_write(bt->fetch, msg, parsed, seen_set,
                                   &bt->out)
        != NGX_MAIL_IMAPD_PARSE_OK
        || mime_buf_flush(&bt->out) != MIME_OK)
    {
        rc = NGX_ERROR;
    }

    if (pool) {
        ngx_destroy_pool(pool);
    }

    return rc;
}


/* the stored flags hold \Seen: they are written in canonical case */

static ngx_flag_t
ngx_mail_imapd_seen(ngx_str_t *flags)
{
    u_char  *p, *last;

    if (flags->len < sizeof("\\Seen") - 1) {
        return 0;
    }

    last = flags->data + flags->len - (sizeof("\\Seen") - 1);

    for (p = flags->data; p <= last; p++) {
        if (ngx_strncmp(p, "\\Seen", sizeof("\\Seen") - 1) == 0
            && (p == flags->data || p[-1] == ' ')
            && (p == last || p[sizeof("\\Seen") - 1] == ' '))
        {
            return 1;
        }
    }

    return 0;
}


/*
 * SEARCH [CHARSET x] keys: every message of the session is tried, in
 * batches, the content loaded only when a key needs it
 */

ngx_int_t
ngx_mail_imapd_cmd_search(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    int                        rc;
    unsigned                   needs;
    const char                *error;
    ngx_mail_imapd_batch_t    *bt;
    ngx_mail_imapd_mailbox_t  *mb;

    mb = ctx->mailbox;

    bt = ngx_mail_imapd_batch_create(s, ctx);
    if (bt == NULL) {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    rc = ngx_mail_imapd_search_compile(ctx->parser.nodes,
                                       ctx->parser.nargs ? 0
                                       : NGX_MAIL_IMAPD_NODE_NONE,
                                       &bt->allocator, &bt->search, &error);

    if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
        ngx_mail_imapd_batch_end(s, ctx);

        if (rc == NGX_MAIL_IMAPD_PARSE_DECLINED) {
            (void) ngx_mail_imapd_printf(s, ctx, "%V NO %s", &ctx->tag,
                                         error);
            return NGX_ERROR;
        }

        if (rc != NGX_MAIL_IMAPD_PARSE_ERROR || error == NULL) {
            return ngx_mail_imapd_unavailable(s, ctx);
        }

        (void) ngx_mail_imapd_printf(s, ctx, "%V BAD %s", &ctx->tag, error);
        return NGX_ERROR;
    }

    if (ngx_mail_imapd_search_max_seq(bt->search) > mb->nuids) {
        ngx_mail_imapd_batch_end(s, ctx);
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid message sequence "
                                             "number");
        return NGX_ERROR;
    }

    needs = ngx_mail_imapd_search_needs(bt->search);
    bt->content = (needs & NGX_MAIL_IMAPD_NEED_CONTENT) != 0;
    bt->body = (needs & NGX_MAIL_IMAPD_NEED_BODY) == NGX_MAIL_IMAPD_NEED_BODY;
    bt->emit = ngx_mail_imapd_search_emit;
    bt->finish = ngx_mail_imapd_search_finish;
    bt->fields = bt->content ? 6 : 4;

    bt->scratch = ngx_create_pool(16384, s->connection->log);

    if (bt->scratch == NULL
        || ngx_array_init(&bt->found, bt->pool, 64, sizeof(uint32_t))
           != NGX_OK)
    {
        ngx_mail_imapd_batch_end(s, ctx);
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    /* the messages the session knows, as they are now */
    bt->nuids = mb->nuids;
    bt->uids = ngx_palloc(bt->pool, ngx_max(mb->nuids, 1) * sizeof(uint32_t));
    if (bt->uids == NULL) {
        ngx_mail_imapd_batch_end(s, ctx);
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    if (mb->nuids) {
        ngx_memcpy(bt->uids, mb->uids, mb->nuids * sizeof(uint32_t));
    }

    return ngx_mail_imapd_load_next(s, bt);
}


static ngx_int_t
ngx_mail_imapd_search_emit(ngx_mail_imapd_batch_t *bt,
    ngx_mail_imapd_message_t *msg, ngx_flag_t seen_set)
{
    int                        rc;
    uint32_t                  *found;
    mime_allocator_t           allocator;
    ngx_mail_imapd_mailbox_t  *mb;

    mb = bt->ctx->mailbox;

    allocator.alloc = ngx_mail_imapd_pool_alloc;
    allocator.ctx = bt->scratch;

    rc = ngx_mail_imapd_search_match(bt->search, msg, (uint32_t) mb->nuids,
                                     mb->nuids ? mb->uids[mb->nuids - 1] : 0,
                                     &allocator);

    ngx_reset_pool(bt->scratch);

    if (rc == NGX_MAIL_IMAPD_SEARCH_NOMEM) {
        return NGX_ERROR;
    }

    if (rc != 1) {
        return NGX_OK;
    }

    found = ngx_array_push(&bt->found);
    if (found == NULL) {
        return NGX_ERROR;
    }

    *found = bt->ctx->parser.uid ? msg->uid : msg->seq;

    if (msg->modseq > bt->found_modseq) {
        bt->found_modseq = msg->modseq;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_mail_imapd_search_finish(ngx_mail_session_t *s,
    ngx_mail_imapd_batch_t *bt)
{
    ngx_mail_imapd_ctx_t  *ctx;

    ctx = bt->ctx;

    ngx_mail_imapd_search_reply(s, bt);
    ngx_mail_imapd_batch_end(s, ctx);

    return ngx_mail_imapd_complete(s, ctx, ctx->parser.uid,
                                   "OK %s completed",
                                   ctx->parser.uid ? "UID SEARCH" : "SEARCH");
}


/* "* SEARCH 2 5 9 (MODSEQ 917)", written in pieces (RFC 7162 3.1.5) */

static void
ngx_mail_imapd_search_reply(ngx_mail_session_t *s, ngx_mail_imapd_batch_t *bt)
{
    u_char      *p, buf[1024];
    uint32_t    *found;
    ngx_uint_t   i;

    found = bt->found.elts;
    p = ngx_cpymem(buf, "* SEARCH", sizeof("* SEARCH") - 1);

    for (i = 0; i < bt->found.nelts; i++) {
        if ((size_t) (buf + sizeof(buf) - p) < 64) {
            (void) ngx_mail_imapd_write(s, bt->ctx, buf, p - buf);
            p = buf;
        }

        p = ngx_sprintf(p, " %uD", found[i]);
    }

    if (bt->found.nelts && ngx_mail_imapd_search_uses_modseq(bt->search)) {
        p = ngx_sprintf(p, " (MODSEQ %uL)", bt->found_modseq);
    }

    *p++ = CR;
    *p++ = LF;

    (void) ngx_mail_imapd_write(s, bt->ctx, buf, p - buf);
}


static ngx_mail_imapd_batch_t *
ngx_mail_imapd_batch_create(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    ngx_pool_t              *pool;
    ngx_mail_imapd_batch_t  *bt;

    pool = ngx_create_pool(4096, s->connection->log);
    if (pool == NULL) {
        return NULL;
    }

    bt = ngx_pcalloc(pool, sizeof(ngx_mail_imapd_batch_t));
    if (bt == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    bt->pool = pool;
    bt->allocator.alloc = ngx_mail_imapd_pool_alloc;
    bt->allocator.ctx = pool;
    bt->session = s;
    bt->ctx = ctx;
    ctx->work = bt;

    return bt;
}


static int
ngx_mail_imapd_flush(void *data, const mime_uchar_t *p, size_t len)
{
    ngx_mail_imapd_batch_t  *bt = data;

    if (ngx_mail_imapd_write(bt->session, bt->ctx, (u_char *) p, len)
        != NGX_OK)
    {
        return MIME_ERROR;
    }

    return MIME_OK;
}


/* the session goes while a batch is under way */

void
ngx_mail_imapd_work_end(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    ngx_mail_imapd_batch_end(s, ctx);
}


static void
ngx_mail_imapd_batch_end(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    ngx_mail_imapd_batch_t  *bt;

    bt = ctx->work;
    ctx->work = NULL;
    ctx->next = NULL;

    if (bt) {
        if (bt->records_pool) {
            ngx_destroy_pool(bt->records_pool);
        }

        if (bt->scratch) {
            ngx_destroy_pool(bt->scratch);
        }

        ngx_destroy_pool(bt->pool);
    }
}


static void *
ngx_mail_imapd_pool_alloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}
