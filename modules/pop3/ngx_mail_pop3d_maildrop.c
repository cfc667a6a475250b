
/*
 * The POP3 maildrop: the INBOX in Redis, locked for the session on every
 * node (RFC 1939 8: one POP3 session per maildrop), listed once at login,
 * and changed only in the UPDATE state, by one Lua script, so that a
 * session that does not QUIT deletes nothing.  Messages are sent in
 * pieces fetched with GETRANGE, so a session holds one piece however
 * large the message.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_redis.h"
#include "ngx_mail_store.h"
#include "ngx_mail_pop3d.h"
#include "ngx_mail_pop3d_parse.h"


/*
 * ARGV: user, lock token, lock lifetime (ms).  Returns "IN-USE", or
 * { mailbox id, uidvalidity, uid, size, blob, seen, uid, size, ... }.
 */
static char  ngx_mail_pop3d_open_lua[] =
    "local t = '{' .. ARGV[1] .. '}'\n"
    "if not redis.call('SET', 'lock:pop3:' .. t, ARGV[2], 'NX', 'PX',\n"
    "                  ARGV[3]) then\n"
    "  return 'IN-USE'\n"
    "end\n"
    "local id = redis.call('HGET', 'mailboxes:' .. t, 'INBOX')\n"
    "if not id then return { '', '0' } end\n"
    "local mb = 'mailbox:' .. t .. ':' .. id\n"
    "local out = { id, redis.call('HGET', mb, 'uidvalidity') or '0' }\n"
    "for _, uid in ipairs(redis.call('ZRANGE', mb .. ':uids', 0, -1)) do\n"
    "  local m = redis.call('HMGET', 'msg:' .. t .. ':' .. id .. ':' .. uid,\n"
    "                       'size', 'blob', 'flags')\n"
    "  local seen = '0'\n"
    "  for f in string.gmatch(m[3] or '', '%S+') do\n"
    "    if f == '\\\\Seen' then seen = '1' end\n"
    "  end\n"
    "  out[#out + 1] = uid\n"
    "  out[#out + 1] = m[1] or '0'\n"
    "  out[#out + 1] = m[2] or ''\n"
    "  out[#out + 1] = seen\n"
    "end\n"
    "return out\n";


/* ARGV: user, token: the lock goes only if it is still ours */
static char  ngx_mail_pop3d_release_lua[] =
    "local k = 'lock:pop3:{' .. ARGV[1] .. '}'\n"
    "if redis.call('GET', k) == ARGV[2] then redis.call('DEL', k) end\n"
    "return 0\n";


/* ARGV: user, mailbox id, uid: \Seen set as IMAP would (RFC 3501 6.4.5) */
static char  ngx_mail_pop3d_seen_lua[] =
    "local t = '{' .. ARGV[1] .. '}'\n"
    "local mb = 'mailbox:' .. t .. ':' .. ARGV[2]\n"
    "local msg = 'msg:' .. t .. ':' .. ARGV[2] .. ':' .. ARGV[3]\n"
    "local flags = redis.call('HGET', msg, 'flags')\n"
    "if not flags then return 0 end\n"
    "for f in string.gmatch(flags, '%S+') do\n"
    "  if f == '\\\\Seen' then return 0 end\n"
    "end\n"
    "if flags == '' then flags = '\\\\Seen'\n"
    "else flags = flags .. ' \\\\Seen' end\n"
    "local modseq = redis.call('HINCRBY', mb, 'highestmodseq', 1)\n"
    "redis.call('HSET', msg, 'flags', flags, 'modseq', modseq)\n"
    "redis.call('ZADD', mb .. ':modseq', modseq, ARGV[3])\n"
    "redis.call('HINCRBY', mb, 'unseen', -1)\n"
    "redis.call('PUBLISH', 'notify:' .. t,\n"
    "           'FETCH ' .. ARGV[2] .. ' ' .. ARGV[3])\n"
    "return 1\n";


/*
 * ARGV: user, mailbox id, uid...: the UPDATE state.  Every change IMAP
 * sees: counters, quota usage, blob references, the expunge record for
 * QRESYNC and the notification for IDLE.
 */
static char  ngx_mail_pop3d_expunge_lua[] =
    NGX_MAIL_STORE_EXPUNGE_LUA
    "local t = '{' .. ARGV[1] .. '}'\n"
    "local n = 0\n"
    "for i = 3, #ARGV do\n"
    "  if expunge(t, ARGV[2], ARGV[i], false) then n = n + 1 end\n"
    "end\n"
    "return n\n";


static ngx_int_t ngx_mail_pop3d_eval(ngx_mail_session_t *s, char *script,
    ngx_str_t *args, ngx_uint_t nargs, ngx_mail_redis_handler_pt handler);
static void ngx_mail_pop3d_opened(redisReply *reply, void *data);
static ngx_int_t ngx_mail_pop3d_load(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, redisReply *reply);
static ngx_int_t ngx_mail_pop3d_msg(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg, ngx_str_t *rest,
    ngx_mail_pop3d_msg_t **msg);
static ngx_int_t ngx_mail_pop3d_send(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_mail_pop3d_msg_t *msg, ngx_int_t lines);
static void ngx_mail_pop3d_mark_seen(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_mail_pop3d_msg_t *msg);
static ngx_int_t ngx_mail_pop3d_listing(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx);
static ngx_int_t ngx_mail_pop3d_fetch(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx);
static void ngx_mail_pop3d_fetched(redisReply *reply, void *data);
static size_t ngx_mail_pop3d_top_limit(ngx_mail_pop3d_stream_t *st,
    u_char *p, size_t len);
static void ngx_mail_pop3d_updated(redisReply *reply, void *data);
static u_char *ngx_mail_pop3d_uidl(u_char *p, ngx_mail_pop3d_ctx_t *ctx,
    ngx_mail_pop3d_msg_t *msg);


static ngx_int_t
ngx_mail_pop3d_eval(ngx_mail_session_t *s, char *script, ngx_str_t *args,
    ngx_uint_t nargs, ngx_mail_redis_handler_pt handler)
{
    ngx_uint_t             i;
    ngx_mail_redis_cmd_t  *cmd;

    cmd = ngx_palloc(s->connection->pool, sizeof(ngx_mail_redis_cmd_t));
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    if (ngx_mail_redis_cmd_init_n(cmd, "EVAL", nargs + 3,
                                  s->connection->pool)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_mail_redis_cmd_cstr(cmd, script);
    ngx_mail_redis_cmd_cstr(cmd, "0");

    for (i = 0; i < nargs; i++) {
        ngx_mail_redis_cmd_arg(cmd, args[i].data, args[i].len);
    }

    if (ngx_mail_redis_send(cmd, 1, handler, handler ? s : NULL,
                            s->connection->log)
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* after a good login: lock the maildrop on every node, and list it */

void
ngx_mail_pop3d_open_maildrop(ngx_mail_session_t *s)
{
    u_char                    *p;
    ngx_str_t                  args[3];
    ngx_connection_t          *c;
    ngx_mail_pop3d_ctx_t      *ctx;
    ngx_mail_core_srv_conf_t  *cscf;
    static ngx_uint_t          serial;

    c = s->connection;
    ctx = ngx_mail_get_module_ctx(s, ngx_mail_pop3d_module);
    cscf = ngx_mail_get_module_srv_conf(s, ngx_mail_core_module);

    p = ngx_pnalloc(c->pool, 3 * NGX_INT64_LEN + 4 * NGX_INT_T_LEN);
    if (p == NULL) {
        goto failed;
    }

    /* unique to this session among all nodes */
    ctx->lock_token.data = p;
    p = ngx_sprintf(p, "%uD.%P.%uA.%ui", (uint32_t) ngx_random(), ngx_pid,
                    c->number, ++serial);
    ctx->lock_token.len = p - ctx->lock_token.data;

    ctx->owner = s->login;
    ctx->lock_ttl = cscf->timeout + 60000;
    ctx->lock_renewed = ngx_current_msec;

    args[0] = s->login;
    args[1] = ctx->lock_token;
    args[2].data = p;

    /* a crashed node's lock frees itself once an idle session would */
    args[2].len = ngx_sprintf(p, "%M", ctx->lock_ttl) - p;

    if (ngx_mail_pop3d_eval(s, ngx_mail_pop3d_open_lua, args, 3,
                            ngx_mail_pop3d_opened)
        == NGX_OK)
    {
        return;
    }

failed:

    (void) ngx_mail_server_printf(s, "-ERR [SYS/TEMP] Unable to open "
                                     "maildrop");
    ngx_mail_pop3d_done(s);
}


static void
ngx_mail_pop3d_opened(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    ngx_log_t             *log;
    ngx_mail_pop3d_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_pop3d_module);
    log = s->connection->log;

    if (ngx_mail_redis_reply_is_error(reply, log)) {
        (void) ngx_mail_server_printf(s, "-ERR [SYS/TEMP] Unable to open "
                                         "maildrop");
        ngx_mail_pop3d_done(s);
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY) {
        ngx_log_error(NGX_LOG_INFO, log, 0, "maildrop of \"%V\" is locked",
                      &s->login);
        (void) ngx_mail_server_printf(s, "-ERR [IN-USE] Mailbox is locked by "
                                         "another POP3 session");
        ngx_mail_pop3d_done(s);
        return;
    }

    ctx->locked = 1;

    if (ngx_mail_pop3d_load(s, ctx, reply) != NGX_OK) {
        ngx_mail_pop3d_release(ctx, log);
        (void) ngx_mail_server_printf(s, "-ERR [SYS/TEMP] Unable to open "
                                         "maildrop");
        ngx_mail_pop3d_done(s);
        return;
    }

    ctx->state = ngx_mail_pop3d_transaction;

    (void) ngx_mail_server_printf(s, "+OK Logged in, %ui messages",
                                ctx->nmsgs);
    ngx_mail_pop3d_done(s);
}


static ngx_int_t
ngx_mail_pop3d_load(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    redisReply *reply)
{
    size_t                 i;
    ngx_int_t              uid;
    ngx_pool_t            *pool;
    redisReply           **e;
    ngx_mail_pop3d_msg_t  *msg;

    pool = s->connection->pool;

    if (reply->elements < 2 || (reply->elements - 2) % 4) {
        return NGX_ERROR;
    }

    e = reply->element;

    for (i = 0; i < reply->elements; i++) {
        if (e[i]->type != REDIS_REPLY_STRING) {
            return NGX_ERROR;
        }
    }

    ctx->mailbox.len = e[0]->len;
    ctx->mailbox.data = ngx_pnalloc(pool, e[0]->len + e[1]->len + 1);
    if (ctx->mailbox.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ctx->mailbox.data, e[0]->str, e[0]->len);
    ctx->uidvalidity.data = ctx->mailbox.data + e[0]->len;
    ctx->uidvalidity.len = e[1]->len;
    ngx_memcpy(ctx->uidvalidity.data, e[1]->str, e[1]->len);

    ctx->nmsgs = (reply->elements - 2) / 4;

    ctx->msgs = ngx_pcalloc(pool, (ctx->nmsgs + 1)
                                  * sizeof(ngx_mail_pop3d_msg_t));
    if (ctx->msgs == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ctx->nmsgs; i++) {
        msg = &ctx->msgs[i];
        e = &reply->element[2 + 4 * i];

        uid = ngx_atoi((u_char *) e[0]->str, e[0]->len);
        msg->size = ngx_atoof((u_char *) e[1]->str, e[1]->len);

        if (uid == NGX_ERROR || msg->size == NGX_ERROR) {
            return NGX_ERROR;
        }

        msg->uid = (uint32_t) uid;
        msg->blob.len = e[2]->len;
        msg->blob.data = ngx_pnalloc(pool, e[2]->len);
        if (msg->blob.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(msg->blob.data, e[2]->str, e[2]->len);

        msg->seen = (e[3]->len == 1 && e[3]->str[0] == '1');
    }

    return NGX_OK;
}


/* the lock goes when the session goes; nobody waits for the answer */

void
ngx_mail_pop3d_release(ngx_mail_pop3d_ctx_t *ctx, ngx_log_t *log)
{
    ngx_mail_redis_cmd_t  cmd;

    if (!ctx->locked) {
        return;
    }

    ctx->locked = 0;

    ngx_mail_redis_cmd_init(&cmd, "EVAL");
    ngx_mail_redis_cmd_cstr(&cmd, ngx_mail_pop3d_release_lua);
    ngx_mail_redis_cmd_cstr(&cmd, "0");
    ngx_mail_redis_cmd_arg(&cmd, ctx->owner.data, ctx->owner.len);
    ngx_mail_redis_cmd_arg(&cmd, ctx->lock_token.data, ctx->lock_token.len);

    (void) ngx_mail_redis_send(&cmd, 1, NULL, NULL, log);
}


/*
 * A session busy for longer than the lock's lifetime keeps it: the expiry
 * is pushed back when half of it has passed.  Only a session that holds
 * the lock can run this, so no token check is needed.
 */

void
ngx_mail_pop3d_renew(ngx_mail_pop3d_ctx_t *ctx, ngx_log_t *log)
{
    u_char                 key[sizeof("lock:pop3:{}") + 256];
    u_char                 ttl[NGX_INT_T_LEN];
    ngx_mail_redis_cmd_t   cmd;

    if (!ctx->locked
        || ngx_current_msec - ctx->lock_renewed < ctx->lock_ttl / 2
        || ctx->owner.len > 256)
    {
        return;
    }

    ctx->lock_renewed = ngx_current_msec;

    ngx_mail_redis_cmd_init(&cmd, "PEXPIRE");
    ngx_mail_redis_cmd_arg(&cmd, key,
                           ngx_sprintf(key, "lock:pop3:{%V}", &ctx->owner)
                           - key);
    ngx_mail_redis_cmd_arg(&cmd, ttl,
                           ngx_sprintf(ttl, "%M", ctx->lock_ttl) - ttl);

    (void) ngx_mail_redis_send(&cmd, 1, NULL, NULL, log);
}


/*
 * A message number of the listing, not deleted; "rest" gets what follows
 * it.  With the -ERR written: NGX_ERROR for bad syntax, which counts as a
 * bad command, and NGX_DECLINED for a message that is not there, which a
 * client may well ask for.
 */

static ngx_int_t
ngx_mail_pop3d_msg(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg, ngx_str_t *rest, ngx_mail_pop3d_msg_t **msg)
{
    uint32_t              n;
    ngx_mail_pop3d_str_t  after;

    if (ngx_mail_pop3d_parse_msg_number(arg->data, arg->len, &n,
                                        rest ? &after : NULL)
        != NGX_MAIL_POP3D_PARSE_OK)
    {
        (void) ngx_mail_server_printf(s, "-ERR Invalid message number");
        return NGX_ERROR;
    }

    if (rest) {
        rest->data = (u_char *) after.data;
        rest->len = after.len;
    }

    if (n < 1 || n > ctx->nmsgs) {
        (void) ngx_mail_server_printf(s, "-ERR There's no message %uD", n);
        return NGX_DECLINED;
    }

    if (ctx->msgs[n - 1].deleted) {
        (void) ngx_mail_server_printf(s, "-ERR Message %uD is deleted", n);
        return NGX_DECLINED;
    }

    *msg = &ctx->msgs[n - 1];

    return NGX_OK;
}


ngx_int_t
ngx_mail_pop3d_cmd_stat(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    off_t       size;
    ngx_uint_t  i, n;

    size = 0;
    n = 0;

    for (i = 0; i < ctx->nmsgs; i++) {
        if (!ctx->msgs[i].deleted) {
            n++;
            size += ctx->msgs[i].size;
        }
    }

    return ngx_mail_server_printf(s, "+OK %ui %O", n, size);
}


ngx_int_t
ngx_mail_pop3d_cmd_list(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    ngx_int_t              rc;
    ngx_mail_pop3d_msg_t  *msg;

    if (arg->len) {
        rc = ngx_mail_pop3d_msg(s, ctx, arg, NULL, &msg);
        if (rc != NGX_OK) {
            return (rc == NGX_DECLINED) ? NGX_OK : NGX_ERROR;
        }

        return ngx_mail_server_printf(s, "+OK %ui %O",
                                    (ngx_uint_t) (msg - ctx->msgs) + 1,
                                    msg->size);
    }

    ctx->stream.listing = 1;
    ctx->stream.next = 0;
    ctx->stream.active = 1;

    return ngx_mail_pop3d_cmd_stat(s, ctx, arg);
}


/*
 * UIDs as Dovecot's default pop3_uidl_format "%08Xu%08Xv": the IMAP UID
 * and UIDVALIDITY, so they are stable for the life of the mailbox and a
 * maildrop moved from Dovecot keeps its UIDLs.
 */

static u_char *
ngx_mail_pop3d_uidl(u_char *p, ngx_mail_pop3d_ctx_t *ctx,
    ngx_mail_pop3d_msg_t *msg)
{
    ngx_int_t  uidvalidity;

    uidvalidity = ngx_atoi(ctx->uidvalidity.data, ctx->uidvalidity.len);

    /* lower-case hex, as Dovecot's %X gives */
    return ngx_sprintf(p, "%08xD%08xD", msg->uid,
                       (uint32_t) (uidvalidity == NGX_ERROR ? 0
                                                            : uidvalidity));
}


ngx_int_t
ngx_mail_pop3d_cmd_uidl(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    u_char                 uidl[32], *p;
    ngx_int_t              rc;
    ngx_mail_pop3d_msg_t  *msg;

    if (arg->len) {
        rc = ngx_mail_pop3d_msg(s, ctx, arg, NULL, &msg);
        if (rc != NGX_OK) {
            return (rc == NGX_DECLINED) ? NGX_OK : NGX_ERROR;
        }

        p = ngx_mail_pop3d_uidl(uidl, ctx, msg);

        return ngx_mail_server_printf(s, "+OK %ui %*s",
                                    (ngx_uint_t) (msg - ctx->msgs) + 1,
                                    (size_t) (p - uidl), uidl);
    }

    ctx->stream.listing = 2;
    ctx->stream.next = 0;
    ctx->stream.active = 1;

    return ngx_mail_server_printf(s, "+OK");
}


ngx_int_t
ngx_mail_pop3d_cmd_retr(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    ngx_int_t              rc;
    ngx_mail_pop3d_msg_t  *msg;

    rc = ngx_mail_pop3d_msg(s, ctx, arg, NULL, &msg);
    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_ERROR;
    }

    return ngx_mail_pop3d_send(s, ctx, msg, -1);
}


/* TOP msg n: the header section and n lines of the body (RFC 1939 7) */

ngx_int_t
ngx_mail_pop3d_cmd_top(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    uint32_t               lines;
    ngx_int_t              rc;
    ngx_str_t              rest;
    ngx_mail_pop3d_msg_t  *msg;

    rc = ngx_mail_pop3d_msg(s, ctx, arg, &rest, &msg);
    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_ERROR;
    }

    if (ngx_mail_pop3d_parse_msg_number(rest.data, rest.len, &lines, NULL)
        != NGX_MAIL_POP3D_PARSE_OK)
    {
        (void) ngx_mail_server_printf(s, "-ERR Syntax: TOP msg lines");
        return NGX_ERROR;
    }

    return ngx_mail_pop3d_send(s, ctx, msg, (ngx_int_t) lines);
}


static ngx_int_t
ngx_mail_pop3d_send(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_mail_pop3d_msg_t *msg, ngx_int_t lines)
{
    ngx_mail_pop3d_stream_t    *st;
    ngx_mail_pop3d_srv_conf_t  *pscf;

    st = &ctx->stream;

    if (st->chunk == NULL) {
        st->chunk = ngx_create_temp_buf(s->connection->pool,
                                        NGX_MAIL_POP3D_CHUNK);
        if (st->chunk == NULL) {
            return NGX_ERROR;
        }
    }

    /* the key of every piece; one buffer for the session's messages */
    if (st->key.data == NULL) {
        st->key.data = ngx_pnalloc(s->connection->pool,
                                   sizeof("blob:{}") + NGX_MAIL_POP3D_BLOB_MAX);
        if (st->key.data == NULL) {
            return NGX_ERROR;
        }
    }

    if (msg->blob.len > NGX_MAIL_POP3D_BLOB_MAX) {
        (void) ngx_mail_server_printf(s, "-ERR [SYS/PERM] Message cannot "
                                         "be read");
        return NGX_ERROR;
    }

    st->key.len = ngx_sprintf(st->key.data, "blob:{%V}", &msg->blob)
                  - st->key.data;

    st->msg = msg;
    st->offset = 0;
    st->chunk->pos = st->chunk->start;
    st->chunk->last = st->chunk->start;
    st->body_lines = lines;
    st->header_state = 0;
    st->in_body = 0;
    st->done = 0;
    st->active = 1;

    ngx_mail_smtpd_dotstuff_init(&st->dotstuff);

    pscf = ngx_mail_get_module_srv_conf(s, ngx_mail_pop3d_module);

    /* sent ahead of the message: Redis applies it before the last piece */
    if (lines < 0 && pscf->retr_seen && !msg->seen) {
        ngx_mail_pop3d_mark_seen(s, ctx, msg);
        msg->seen = 1;
    }

    if (lines < 0) {
        return ngx_mail_server_printf(s, "+OK %O octets", msg->size);
    }

    return ngx_mail_server_printf(s, "+OK");
}


static void
ngx_mail_pop3d_mark_seen(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_mail_pop3d_msg_t *msg)
{
    u_char     uid[NGX_INT32_LEN];
    ngx_str_t  args[3];

    args[0] = s->login;
    args[1] = ctx->mailbox;
    args[2].data = uid;
    args[2].len = ngx_sprintf(uid, "%uD", msg->uid) - uid;

    (void) ngx_mail_pop3d_eval(s, ngx_mail_pop3d_seen_lua, args, 3, NULL);
}


/*
 * Moves the fetched piece, dot-stuffed, into the output buffer, and fetches
 * the next piece when it is empty.  NGX_OK: go on with the commands;
 * NGX_AGAIN: wait for the output to drain or for Redis.
 */

ngx_int_t
ngx_mail_pop3d_stream(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx)
{
    size_t                    consumed, written;
    ngx_buf_t                *out, *chunk;
    ngx_mail_pop3d_stream_t  *st;

    st = &ctx->stream;
    chunk = st->chunk;
    out = ngx_mail_server_io(s)->out;

    if (st->listing) {
        return ngx_mail_pop3d_listing(s, ctx);
    }

    while (chunk->pos < chunk->last) {

        if (out->end - out->last < 8) {
            return NGX_AGAIN;
        }

        (void) ngx_mail_smtpd_dotstuff(&st->dotstuff, chunk->pos,
                                       chunk->last - chunk->pos, &consumed,
                                       out->last, out->end - out->last - 5,
                                       &written);
        chunk->pos += consumed;
        out->last += written;
    }

    if (!st->done && st->offset < st->msg->size) {
        return ngx_mail_pop3d_fetch(s, ctx);
    }

    /* RFC 1939 3: the terminating line, after a line end of its own */
    st->active = 0;

    if (!st->dotstuff.line_start) {
        (void) ngx_mail_server_reply_str(s, CRLF);
    }

    (void) ngx_mail_server_reply_str(s, "." CRLF);

    return NGX_OK;
}


/* the lines of LIST or UIDL, as many as the output buffer takes */

static ngx_int_t
ngx_mail_pop3d_listing(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx)
{
    u_char                   *p;
    ngx_buf_t                *out;
    ngx_mail_pop3d_msg_t     *msg;
    ngx_mail_pop3d_stream_t  *st;

    st = &ctx->stream;
    out = ngx_mail_server_io(s)->out;

    for ( /* void */ ; st->next < ctx->nmsgs; st->next++) {
        msg = &ctx->msgs[st->next];

        if (msg->deleted) {
            continue;
        }

        /* number, space, size or UIDL, CRLF */
        if ((size_t) (out->end - out->last)
            < NGX_INT_T_LEN + NGX_OFF_T_LEN + 40)
        {
            return NGX_AGAIN;
        }

        p = ngx_sprintf(out->last, "%ui ", st->next + 1);

        if (st->listing == 1) {
            p = ngx_sprintf(p, "%O", msg->size);

        } else {
            p = ngx_mail_pop3d_uidl(p, ctx, msg);
        }

        *p++ = CR;
        *p++ = LF;
        out->last = p;
    }

    st->listing = 0;
    st->active = 0;

    (void) ngx_mail_server_reply_str(s, "." CRLF);

    return NGX_OK;
}


static ngx_int_t
ngx_mail_pop3d_fetch(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx)
{
    u_char                    *p, range[2 * NGX_OFF_T_LEN];
    ngx_mail_redis_cmd_t       cmd;
    ngx_mail_pop3d_stream_t   *st;

    st = &ctx->stream;

    /* a download may take longer than the lock lives */
    ngx_mail_pop3d_renew(ctx, s->connection->log);

    p = ngx_sprintf(range, "%O", st->offset);

    ngx_mail_redis_cmd_init(&cmd, "GETRANGE");
    ngx_mail_redis_cmd_arg(&cmd, st->key.data, st->key.len);
    ngx_mail_redis_cmd_arg(&cmd, range, p - range);
    ngx_mail_redis_cmd_arg(&cmd, p,
                           ngx_sprintf(p, "%O", st->offset
                                                + NGX_MAIL_POP3D_CHUNK - 1)
                           - p);

    if (ngx_mail_redis_send(&cmd, 1, ngx_mail_pop3d_fetched, s,
                            s->connection->log)
        == NULL)
    {
        /* the client has the +OK: the only honest end is to hang up */
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "redis unavailable in the middle of a message");
        ngx_mail_server_io(s)->quit = 1;
        return NGX_AGAIN;
    }

    ngx_mail_server_io(s)->busy = 1;

    return NGX_AGAIN;
}


static void
ngx_mail_pop3d_fetched(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    size_t                    len;
    ngx_buf_t                *chunk;
    ngx_mail_pop3d_ctx_t     *ctx;
    ngx_mail_pop3d_stream_t  *st;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_pop3d_module);
    st = &ctx->stream;
    chunk = st->chunk;

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)
        || reply->type != REDIS_REPLY_STRING || reply->len == 0
        || reply->len > NGX_MAIL_POP3D_CHUNK)
    {
        /* the client has the +OK and the size: cut the session off */
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "message %V could not be read", &st->msg->blob);
        ngx_mail_server_io(s)->quit = 1;
        ngx_mail_pop3d_done(s);
        return;
    }

    st->offset += reply->len;

    len = reply->len;

    if (st->body_lines >= 0) {
        len = ngx_mail_pop3d_top_limit(st, (u_char *) reply->str, len);
    }

    chunk->pos = chunk->start;
    chunk->last = ngx_cpymem(chunk->start, reply->str, len);

    ngx_mail_pop3d_done(s);
}


/*
 * TOP: how much of a piece to send, finding the empty line that ends the
 * header section and then counting body lines.  Stored messages have CRLF
 * line ends only, so LF marks every line end.
 */

static size_t
ngx_mail_pop3d_top_limit(ngx_mail_pop3d_stream_t *st, u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {

        if (st->in_body) {
            if (st->body_lines == 0) {
                st->done = 1;
                return i;
            }

            if (p[i] == LF) {
                st->body_lines--;
            }

            continue;
        }

        /* header_state counts the octets of CR LF CR LF seen in a row */
        if ((p[i] == CR && st->header_state % 2 == 0)
            || (p[i] == LF && st->header_state % 2 == 1))
        {
            st->header_state++;

        } else {
            st->header_state = (p[i] == CR) ? 1 : 0;
        }

        if (st->header_state == 4) {
            st->in_body = 1;
        }
    }

    if (st->in_body && st->body_lines == 0) {
        st->done = 1;
    }

    return len;
}


ngx_int_t
ngx_mail_pop3d_cmd_dele(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    ngx_int_t              rc;
    ngx_mail_pop3d_msg_t  *msg;

    rc = ngx_mail_pop3d_msg(s, ctx, arg, NULL, &msg);
    if (rc != NGX_OK) {
        return (rc == NGX_DECLINED) ? NGX_OK : NGX_ERROR;
    }

    msg->deleted = 1;

    return ngx_mail_server_printf(s, "+OK Marked to be deleted");
}


ngx_int_t
ngx_mail_pop3d_cmd_rset(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx,
    ngx_str_t *arg)
{
    ngx_uint_t  i;

    for (i = 0; i < ctx->nmsgs; i++) {
        ctx->msgs[i].deleted = 0;
    }

    return ngx_mail_server_printf(s, "+OK");
}


/* RFC 1939 6: the UPDATE state, entered by QUIT only */

ngx_int_t
ngx_mail_pop3d_cmd_update(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx)
{
    u_char                *p;
    ngx_str_t             *args;
    ngx_uint_t             i, n;
    ngx_mail_server_io_t  *io;

    io = ngx_mail_server_io(s);

    args = ngx_palloc(s->connection->pool,
                      (ctx->nmsgs + 2) * sizeof(ngx_str_t));
    p = ngx_pnalloc(s->connection->pool, ctx->nmsgs * NGX_INT32_LEN + 1);

    if (args == NULL || p == NULL) {
        io->quit = 1;
        return ngx_mail_server_printf(s, "-ERR [SYS/TEMP] Out of memory");
    }

    args[0] = s->login;
    args[1] = ctx->mailbox;
    n = 2;

    for (i = 0; i < ctx->nmsgs; i++) {
        if (ctx->msgs[i].deleted) {
            args[n].data = p;
            p = ngx_sprintf(p, "%uD", ctx->msgs[i].uid);
            args[n].len = p - args[n].data;
            n++;
        }
    }

    if (n == 2) {
        io->quit = 1;
        return ngx_mail_server_printf(s, "+OK Logging out");
    }

    io->busy = 1;

    if (ngx_mail_pop3d_eval(s, ngx_mail_pop3d_expunge_lua, args, n,
                            ngx_mail_pop3d_updated)
        != NGX_OK)
    {
        io->busy = 0;
        io->quit = 1;
        return ngx_mail_server_printf(s, "-ERR [SYS/TEMP] Messages were not "
                                         "deleted");
    }

    return NGX_OK;
}


static void
ngx_mail_pop3d_updated(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    ngx_mail_server_io(s)->quit = 1;

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)
        || reply->type != REDIS_REPLY_INTEGER)
    {
        (void) ngx_mail_server_printf(s, "-ERR [SYS/TEMP] Messages were not "
                                         "deleted");

    } else {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "pop3: \"%V\" deleted %lld messages", &s->login,
                      reply->integer);
        (void) ngx_mail_server_printf(s, "+OK Logging out, messages deleted");
    }

    ngx_mail_pop3d_done(s);
}
