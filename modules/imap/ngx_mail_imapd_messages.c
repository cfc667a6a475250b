
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

/* the writer hands its output over in pieces of this size */
#define NGX_MAIL_IMAPD_FLUSH_SIZE      16384


/*
 * ARGV: user, id, content (1/0), set \Seen (1/0), changedsince (0: all),
 * budget, uid...  Returns { uids consumed, { uid, flags, size, date,
 * modseq, content or "", \Seen set (1/0), ... }, { expunged uid... },
 * highestmodseq before, after }.
 */
static char  ngx_mail_imapd_load_lua[] =
    "local t = '{' .. ARGV[1] .. '}'\n"
    "local id = ARGV[2]\n"
    "local mb = 'mailbox:' .. t .. ':' .. id\n"
    "local content, seen = ARGV[3] == '1', ARGV[4] == '1'\n"
    "local since, budget = tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "local before = redis.call('HGET', mb, 'highestmodseq')\n"
    "local out, gone = {}, {}\n"
    "local used, consumed, changed = 0, 0, false\n"
    "for i = 7, #ARGV do\n"
    "  if consumed > 0 and used >= budget then break end\n"
    "  consumed = consumed + 1\n"
    "  local uid = ARGV[i]\n"
    "  local key = 'msg:' .. t .. ':' .. id .. ':' .. uid\n"
    "  local m = redis.call('HMGET', key, 'flags', 'size', 'internaldate',\n"
    "                       'modseq', 'blob')\n"
    "  if not m[2] then\n"
    "    gone[#gone + 1] = uid\n"
    "  elseif tonumber(m[4]) > since then\n"
    "    local set = 0\n"
    "    local flags = m[1] or ''\n"
    "    if seen and not string.find(' ' .. flags .. ' ', ' \\\\Seen ', 1,\n"
    "                                true) then\n"
    "      flags = flags == '' and '\\\\Seen' or flags .. ' \\\\Seen'\n"
    "      m[4] = redis.call('HINCRBY', mb, 'highestmodseq', 1)\n"
    "      redis.call('HSET', key, 'flags', flags, 'modseq', m[4])\n"
    "      redis.call('ZADD', mb .. ':modseq', m[4], uid)\n"
    "      redis.call('HINCRBY', mb, 'unseen', -1)\n"
    "      changed, set = true, 1\n"
    "    end\n"
    "    local body = ''\n"
    "    if content then\n"
    "      body = redis.call('GET', 'blob:{' .. (m[5] or '') .. '}') or ''\n"
    "      used = used + #body\n"
    "    else\n"
    "      used = used + 1\n"
    "    end\n"
    "    out[#out + 1] = uid\n"
    "    out[#out + 1] = flags\n"
    "    out[#out + 1] = m[2]\n"
    "    out[#out + 1] = m[3] or '0'\n"
    "    out[#out + 1] = tostring(m[4])\n"
    "    out[#out + 1] = body\n"
    "    out[#out + 1] = set\n"
    "  end\n"
    "end\n"
    "if changed then\n"
    "  redis.call('PUBLISH', 'notify:' .. t, 'FETCH ' .. id)\n"
    "end\n"
    "return { consumed, out, gone, before,\n"
    "         redis.call('HGET', mb, 'highestmodseq') }\n";


/* ARGV: user, id, modseq: UIDs expunged since (RFC 7162 3.2.6) */
static char  ngx_mail_imapd_vanished_lua[] =
    "local mb = 'mailbox:{' .. ARGV[1] .. '}:' .. ARGV[2]\n"
    "return redis.call('ZRANGEBYSCORE', mb .. ':expunged', '(' .. ARGV[3],\n"
    "                  '+inf')\n";


typedef struct {
    ngx_pool_t                 *pool;
    mime_allocator_t            allocator;

    uint32_t                   *uids;        /* the messages named */
    ngx_uint_t                  nuids;
    ngx_uint_t                  next;        /* the first not loaded */

    ngx_mail_imapd_fetch_t     *fetch;
    uint64_t                    changedsince;
    ngx_mail_imapd_seqset_t     set;         /* UID FETCH (VANISHED) */

    ngx_mail_imapd_search_t    *search;
    ngx_array_t                 found;       /* uint32_t: seq or UID */
    uint64_t                    found_modseq;

    ngx_mail_session_t         *session;
    ngx_mail_imapd_ctx_t       *ctx;

    unsigned                    content:1;
    unsigned                    set_seen:1;
    unsigned                    expunged:1;  /* some were gone */
    unsigned                    unknown_cte:1;  /* BINARY cannot decode */
    unsigned                    vanished:1;  /* UID FETCH (VANISHED) */
} ngx_mail_imapd_batch_t;


static ngx_int_t ngx_mail_imapd_fetch_modifiers(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_mail_imapd_batch_t *bt);
static ngx_int_t ngx_mail_imapd_fetch_next(ngx_mail_session_t *s,
    void *data);
static ngx_int_t ngx_mail_imapd_vanished_send(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_mail_imapd_batch_t *bt,
    ngx_mail_imapd_seqset_t *set);
static void ngx_mail_imapd_fetch_loaded(redisReply *reply, void *data);
static ngx_int_t ngx_mail_imapd_fetch_one(ngx_mail_imapd_batch_t *bt,
    redisReply **e, mime_buf_t *out);
static ngx_int_t ngx_mail_imapd_batch_send(ngx_mail_session_t *s,
    ngx_mail_imapd_batch_t *bt, ngx_mail_redis_handler_pt handler);
static void ngx_mail_imapd_batch_end(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
static ngx_mail_imapd_batch_t *ngx_mail_imapd_batch_create(
    ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx);
static ngx_int_t ngx_mail_imapd_search_next(ngx_mail_session_t *s,
    void *data);
static void ngx_mail_imapd_search_loaded(redisReply *reply, void *data);
static ngx_int_t ngx_mail_imapd_search_one(ngx_mail_imapd_batch_t *bt,
    redisReply **e, ngx_pool_t *scratch);
static void ngx_mail_imapd_search_reply(ngx_mail_session_t *s,
    ngx_mail_imapd_batch_t *bt);
static void ngx_mail_imapd_record(ngx_mail_imapd_batch_t *bt,
    redisReply **e, ngx_mail_imapd_message_t *msg);
static void ngx_mail_imapd_vanished(redisReply *reply, void *data);
static void *ngx_mail_imapd_pool_alloc(void *pool, size_t size);
static int ngx_mail_imapd_flush(void *data, const mime_uchar_t *p,
    size_t len);


ngx_int_t
ngx_mail_imapd_cmd_fetch(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    int                       rc;
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
    bt->set_seen = bt->fetch->sets_seen && !ctx->mailbox->readonly;

    if (ngx_mail_imapd_targets(s, ctx, &set, ps->uid, &bt->uids, &bt->nuids)
        != NGX_OK)
    {
        ngx_mail_imapd_batch_end(s, ctx);
        return NGX_ERROR;
    }

    if (bt->vanished) {
        return ngx_mail_imapd_vanished_send(s, ctx, bt, &set);
    }

    return ngx_mail_imapd_fetch_next(s, bt);
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

    ctx->next = ngx_mail_imapd_fetch_next;
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

            ctx->condstore = 1;
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


static ngx_int_t
ngx_mail_imapd_fetch_next(ngx_mail_session_t *s, void *data)
{
    ngx_mail_imapd_batch_t  *bt = data;

    ngx_mail_imapd_ctx_t  *ctx;

    ctx = bt->ctx;

    if (bt->next == bt->nuids) {
        ngx_mail_imapd_batch_end(s, ctx);

        if (bt->unknown_cte) {
            return ngx_mail_imapd_complete(s, ctx, 0, "NO [UNKNOWN-CTE] "
                                           "Cannot decode the part's "
                                           "Content-Transfer-Encoding");
        }

        if (bt->expunged) {
            return ngx_mail_imapd_complete(s, ctx, 0, "NO [EXPUNGEISSUED] "
                                           "Some of the requested messages "
                                           "no longer exist");
        }

        return ngx_mail_imapd_complete(s, ctx, 0, "OK %s completed",
                                       ctx->parser.uid ? "UID FETCH"
                                                       : "FETCH");
    }

    if (ngx_mail_imapd_batch_send(s, bt, ngx_mail_imapd_fetch_loaded)
        != NGX_OK)
    {
        ngx_mail_imapd_batch_end(s, ctx);
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_mail_imapd_batch_send(ngx_mail_session_t *s, ngx_mail_imapd_batch_t *bt,
    ngx_mail_redis_handler_pt handler)
{
    u_char                 *p;
    ngx_uint_t              i, n;
    ngx_mail_redis_cmd_t    cmd;
    ngx_mail_server_io_t   *io;

    n = ngx_min(bt->nuids - bt->next, NGX_MAIL_IMAPD_BATCH_RECORDS);

    if (ngx_mail_redis_cmd_init_n(&cmd, "EVAL", 9 + n, bt->pool) != NGX_OK) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(bt->pool, 3 * NGX_INT64_LEN + n * (NGX_INT32_LEN + 1));
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_mail_redis_cmd_cstr(&cmd, ngx_mail_imapd_load_lua);
    ngx_mail_redis_cmd_cstr(&cmd, "0");
    ngx_mail_redis_cmd_arg(&cmd, s->login.data, s->login.len);
    ngx_mail_redis_cmd_arg(&cmd, bt->ctx->mailbox->id.data,
                           bt->ctx->mailbox->id.len);
    ngx_mail_redis_cmd_cstr(&cmd, bt->content ? "1" : "0");
    ngx_mail_redis_cmd_cstr(&cmd, bt->set_seen ? "1" : "0");

    ngx_mail_redis_cmd_arg(&cmd, p, ngx_sprintf(p, "%uL", bt->changedsince)
                                    - p);
    p += NGX_INT64_LEN;

    ngx_mail_redis_cmd_arg(&cmd, p, ngx_sprintf(p, "%ui",
                                   bt->content ? NGX_MAIL_IMAPD_BATCH_OCTETS
                                               : NGX_MAIL_IMAPD_BATCH_RECORDS)
                                    - p);
    p += NGX_INT64_LEN;

    for (i = 0; i < n; i++) {
        ngx_mail_redis_cmd_arg(&cmd, p, ngx_sprintf(p, "%uD",
                                                    bt->uids[bt->next + i])
                                        - p);
        p += NGX_INT32_LEN + 1;
    }

    io = ngx_mail_server_io(s);
    io->busy = 1;

    if (ngx_mail_redis_send(&cmd, 1, handler, s, s->connection->log)
        == NULL)
    {
        io->busy = 0;
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_mail_imapd_fetch_loaded(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    size_t                    i;
    uint64_t                  before;
    mime_buf_t                out;
    redisReply              **e, *list;
    ngx_mail_imapd_ctx_t     *ctx;
    ngx_mail_imapd_batch_t   *bt;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);
    bt = ctx->work;

    ngx_mail_server_io(s)->busy = 0;

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)
        || reply->type != REDIS_REPLY_ARRAY || reply->elements != 5
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_ARRAY
        || reply->element[2]->type != REDIS_REPLY_ARRAY)
    {
        ngx_mail_imapd_batch_end(s, ctx);
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    bt->next += (ngx_uint_t) reply->element[0]->integer;

    if (reply->element[2]->elements) {
        bt->expunged = 1;
    }

    mime_buf_init(&out, &bt->allocator, NGX_MAIL_IMAPD_FLUSH_SIZE);
    out.flush = ngx_mail_imapd_flush;
    out.flush_ctx = bt;
    out.limit = NGX_MAIL_IMAPD_FLUSH_SIZE;

    list = reply->element[1];
    e = list->element;

    for (i = 0; i + 6 < list->elements; i += 7) {
        if (ngx_mail_imapd_fetch_one(bt, &e[i], &out) != NGX_OK) {
            bt->expunged = 1;
        }
    }

    (void) mime_buf_flush(&out);

    /* our own \Seen changes, when nobody else changed anything meanwhile */
    if (reply->element[3]->type == REDIS_REPLY_STRING
        && reply->element[4]->type == REDIS_REPLY_STRING)
    {
        before = ngx_atoof((u_char *) reply->element[3]->str,
                           reply->element[3]->len);

        if (before == ctx->mailbox->modseq) {
            ctx->mailbox->modseq = ngx_atoof((u_char *)
                                             reply->element[4]->str,
                                             reply->element[4]->len);
        }
    }

    /* the next batch once this one's output has gone */
    ctx->next = ngx_mail_imapd_fetch_next;
    ctx->work = bt;

    ngx_mail_imapd_done(s);
}


static ngx_int_t
ngx_mail_imapd_fetch_one(ngx_mail_imapd_batch_t *bt, redisReply **e,
    mime_buf_t *out)
{
    ngx_int_t                  seq;
    ngx_pool_t                *pool;
    mime_allocator_t           allocator;
    mime_message_t            *parsed;
    ngx_mail_imapd_message_t   msg;

    ngx_memzero(&msg, sizeof(ngx_mail_imapd_message_t));

    ngx_mail_imapd_record(bt, e, &msg);
    seq = msg.seq;

    if (seq == 0) {
        return NGX_DECLINED;
    }

    parsed = NULL;
    pool = NULL;

    if (bt->content) {
        msg.data = (u_char *) e[5]->str;
        msg.len = e[5]->len;

        /* the parse of one message lives as long as its response */
        pool = ngx_create_pool(16384, ngx_cycle->log);
        if (pool == NULL) {
            return NGX_ERROR;
        }

        allocator.alloc = ngx_mail_imapd_pool_alloc;
        allocator.ctx = pool;

        parsed = mime_parse(&allocator, msg.data, msg.len, NULL);
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

    (void) ngx_mail_imapd_fetch_write(bt->fetch, &msg, parsed,
                                      e[6]->type == REDIS_REPLY_INTEGER
                                      && e[6]->integer == 1, out);

    if (pool) {
        /* the writer's output must not point into this pool */
        (void) mime_buf_flush(out);
        ngx_destroy_pool(pool);
    }

    return NGX_OK;
}


/* one record of the load script's reply; seq 0 if the session lost it */

static void
ngx_mail_imapd_record(ngx_mail_imapd_batch_t *bt, redisReply **e,
    ngx_mail_imapd_message_t *msg)
{
    ngx_mail_imapd_mailbox_t  *mb;

    mb = bt->ctx->mailbox;

    ngx_memzero(msg, sizeof(ngx_mail_imapd_message_t));

    msg->uid = (uint32_t) ngx_atoi((u_char *) e[0]->str, e[0]->len);
    msg->seq = (uint32_t) ngx_mail_imapd_seq_of(mb, msg->uid);
    msg->flags = (u_char *) e[1]->str;
    msg->flags_len = e[1]->len;
    msg->size = ngx_atoof((u_char *) e[2]->str, e[2]->len);
    msg->internaldate = ngx_atotm((u_char *) e[3]->str, e[3]->len);
    msg->modseq = ngx_atoof((u_char *) e[4]->str, e[4]->len);
    msg->recent = ngx_mail_imapd_is_recent(mb, msg->uid);
}


/*
 * SEARCH [CHARSET x] keys: every message of the session is tried, in
 * batches, the content loaded only when a key needs it
 */

ngx_int_t
ngx_mail_imapd_cmd_search(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    int                        rc;
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

    bt->content = (ngx_mail_imapd_search_needs(bt->search)
                   & NGX_MAIL_IMAPD_NEED_CONTENT) != 0;

    if (ngx_array_init(&bt->found, bt->pool, 64, sizeof(uint32_t))
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

    return ngx_mail_imapd_search_next(s, bt);
}


static ngx_int_t
ngx_mail_imapd_search_next(ngx_mail_session_t *s, void *data)
{
    ngx_mail_imapd_batch_t  *bt = data;

    ngx_mail_imapd_ctx_t  *ctx;

    ctx = bt->ctx;

    if (bt->next == bt->nuids) {
        ngx_mail_imapd_search_reply(s, bt);
        ngx_mail_imapd_batch_end(s, ctx);

        return ngx_mail_imapd_complete(s, ctx, 0, "OK %s completed",
                                       ctx->parser.uid ? "UID SEARCH"
                                                       : "SEARCH");
    }

    if (ngx_mail_imapd_batch_send(s, bt, ngx_mail_imapd_search_loaded)
        != NGX_OK)
    {
        ngx_mail_imapd_batch_end(s, ctx);
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    return NGX_OK;
}


static void
ngx_mail_imapd_search_loaded(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    size_t                    i;
    ngx_pool_t               *scratch;
    redisReply              **e, *list;
    ngx_mail_imapd_ctx_t     *ctx;
    ngx_mail_imapd_batch_t   *bt;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);
    bt = ctx->work;

    ngx_mail_server_io(s)->busy = 0;

    scratch = NULL;

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)
        || reply->type != REDIS_REPLY_ARRAY || reply->elements != 5
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_ARRAY
        || (scratch = ngx_create_pool(16384, s->connection->log)) == NULL)
    {
        ngx_mail_imapd_batch_end(s, ctx);
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    bt->next += (ngx_uint_t) reply->element[0]->integer;

    list = reply->element[1];
    e = list->element;

    for (i = 0; i + 6 < list->elements; i += 7) {
        if (ngx_mail_imapd_search_one(bt, &e[i], scratch) != NGX_OK) {
            break;
        }

        ngx_reset_pool(scratch);
    }

    ngx_destroy_pool(scratch);

    if (i + 6 < list->elements) {
        ngx_mail_imapd_batch_end(s, ctx);
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    ctx->next = ngx_mail_imapd_search_next;
    ctx->work = bt;

    ngx_mail_imapd_done(s);
}


static ngx_int_t
ngx_mail_imapd_search_one(ngx_mail_imapd_batch_t *bt, redisReply **e,
    ngx_pool_t *scratch)
{
    int                        rc;
    uint32_t                  *found;
    mime_allocator_t           allocator;
    ngx_mail_imapd_message_t   msg;
    ngx_mail_imapd_mailbox_t  *mb;

    mb = bt->ctx->mailbox;

    ngx_mail_imapd_record(bt, e, &msg);

    if (msg.seq == 0) {
        return NGX_OK;
    }

    if (bt->content) {
        msg.data = (u_char *) e[5]->str;
        msg.len = e[5]->len;
    }

    allocator.alloc = ngx_mail_imapd_pool_alloc;
    allocator.ctx = scratch;

    rc = ngx_mail_imapd_search_match(bt->search, &msg, (uint32_t) mb->nuids,
                                     mb->nuids ? mb->uids[mb->nuids - 1] : 0,
                                     &allocator);

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

    *found = bt->ctx->parser.uid ? msg.uid : msg.seq;

    if (msg.modseq > bt->found_modseq) {
        bt->found_modseq = msg.modseq;
    }

    return NGX_OK;
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
        ngx_destroy_pool(bt->pool);
    }
}


static void *
ngx_mail_imapd_pool_alloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}
