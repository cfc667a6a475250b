
/*
 * The message store in Redis.
 *
 * A message is appended to spool:{id} in chunks while it arrives, so a
 * session holds no more than one chunk whatever the message size.  At the
 * end of the data one Lua script checks every local recipient (exists,
 * enabled, room in the quota), then copies the spool to blob:{id}, with a
 * count of its references, and adds a reference to it in each mailbox and,
 * for remote recipients, in the outbound queue.
 * Redis runs a script atomically, and with appendfsync always it is on disk
 * before the reply: when the handler sees NGX_OK the message is safe and
 * the client may be told 250.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_mail.h>

#include "ngx_mail_redis.h"
#include "ngx_mail_store.h"


static ngx_int_t ngx_mail_store_send(ngx_mail_store_spool_t *sp,
    ngx_mail_redis_cmd_t *cmd, ngx_mail_redis_handler_pt handler);
static void ngx_mail_store_answered(ngx_mail_store_spool_t *sp);
static void ngx_mail_store_append_done(redisReply *reply, void *data);
static void ngx_mail_store_deliver_done(redisReply *reply, void *data);
static void ngx_mail_store_replicate(ngx_mail_store_spool_t *sp);
static void ngx_mail_store_replicated(redisReply *reply, void *data);


/*
 * ARGV: spool, size, now, nlocal, local..., from, params, nremote,
 * remote..., queue id, header fields to put first, njunk, junk... (the
 * local recipients whose copy goes to Junk).  Keys are built here from
 * the addresses, which scripts may do outside Redis Cluster; every key
 * of one mailbox carries the owner's hash tag.
 */
static char  ngx_mail_store_deliver_lua[] =
    NGX_MAIL_STORE_INBOX_LUA
    NGX_MAIL_STORE_QUEUE_LUA
    "local spool, size, now = ARGV[1], tonumber(ARGV[2]), ARGV[3]\n"
    "local nlocal = tonumber(ARGV[4])\n"
    "local i = 5\n"
    "local locals = {}\n"
    "for n = 1, nlocal do locals[n] = ARGV[i]; i = i + 1 end\n"
    "local from, params = ARGV[i], ARGV[i + 1]\n"
    "local nremote = tonumber(ARGV[i + 2])\n"
    "i = i + 3\n"
    "local remotes = {}\n"
    "for n = 1, nremote do remotes[n] = ARGV[i]; i = i + 1 end\n"
    "local qid = ARGV[i]\n"
    "local headers = ARGV[i + 1]\n"
    "local junk = {}\n"
    "for n = 1, tonumber(ARGV[i + 2]) do junk[ARGV[i + 2 + n]] = true end\n"
    /* an APPEND that failed must not leave a truncated message */
    "if redis.call('STRLEN', spool) ~= size then return 'SHORTSPOOL' end\n"
    /* the stored message: the spam filter's fields, then the spool */
    "size = size + #headers\n"
    /* a message with nowhere to go must not be acknowledged */
    "if nlocal + nremote == 0 then return 'NORCPT' end\n"
    /* every check before any write: all or nothing */
    "for _, a in ipairs(locals) do\n"
    "  local u = redis.call('HMGET', 'user:{' .. a .. '}',\n"
    "                       'enabled', 'quota_bytes', 'used_bytes')\n"
    "  if not u[1] or u[1] == '0' then return 'NOUSER ' .. a end\n"
    "  local quota, used = tonumber(u[2] or 0), tonumber(u[3] or 0)\n"
    "  if quota > 0 and used + size > quota then\n"
    "    return 'OVERQUOTA ' .. a\n"
    "  end\n"
    "end\n"
    /* the content is stored once, whoever shares it */
    "local blob = 'blob:{' .. qid .. '}'\n"
    /*
     * a copy, not a RENAME: a string grown by APPEND keeps up to twice
     * its size allocated, the copy is allocated to fit
     */
    /* Return-Path stays first (RFC 5321 4.4), the filter's fields next */
    "local content = redis.call('GET', spool) or ''\n"
    "if #headers > 0 then\n"
    "  local rp = string.match(content, '^Return%-Path:[^\\n]*\\n') or ''\n"
    "  content = rp .. headers .. string.sub(content, #rp + 1)\n"
    "end\n"
    "redis.call('SET', blob, content)\n"
    "redis.call('DEL', spool)\n"
    "local refs = #locals\n"
    "if nremote > 0 then refs = refs + 1 end\n"
    "redis.call('SET', blob .. ':refs', refs)\n"
    "for _, a in ipairs(locals) do\n"
    "  inbox_add('{' .. a .. '}', qid, size, now, junk[a] and 'Junk')\n"
    "end\n"
    "if nremote > 0 then\n"
    "  queue_add(qid, from, table.concat(remotes, '\\n'), params, size,\n"
    "            now)\n"
    "end\n"
    "return 'OK'\n";


u_char *
ngx_mail_store_new_id(u_char *p)
{
    static uint32_t  serial, node;

    /* unique across nodes: time, process, a per-process serial, and luck */
    if (node == 0) {
        node = (uint32_t) ngx_random() | 1;
    }

    return ngx_sprintf(p, "%xT%08xD%05xP%06xD", ngx_time(), node, ngx_pid,
                       ++serial);
}


ngx_int_t
ngx_mail_store_spool_init(ngx_mail_session_t *s, ngx_mail_store_spool_t *sp)
{
    u_char  *p;

    p = ngx_pnalloc(s->connection->pool, 2 * 64);
    if (p == NULL) {
        return NGX_ERROR;
    }

    sp->id.data = p;
    p = ngx_mail_store_new_id(p);
    sp->id.len = p - sp->id.data;

    sp->key.data = p;
    p = ngx_sprintf(p, "spool:{%V}", &sp->id);
    sp->key.len = p - sp->key.data;

    sp->size = 0;
    sp->ninflight = 0;
    sp->failed = 0;
    sp->done = 0;
    sp->session = s;

    return NGX_OK;
}


/*
 * The first APPEND also sets an expiry: a spool left behind by a node that
 * died in the middle of a message goes away by itself.  The delivery
 * script removes the expiry from the copies it makes.
 */

ngx_int_t
ngx_mail_store_spool_append(ngx_mail_store_spool_t *sp, u_char *data,
    size_t len, ngx_mail_store_handler_pt handler)
{
    ngx_uint_t            n;
    ngx_mail_redis_cmd_t  cmds[2];

    n = (sp->size == 0) ? 2 : 1;

    if (sp->ninflight + n > NGX_MAIL_STORE_INFLIGHT) {
        /* a chunk left out must fail the message, never shorten it */
        sp->failed = 1;
        return NGX_ERROR;
    }

    ngx_mail_redis_cmd_init(&cmds[0], "APPEND");
    ngx_mail_redis_cmd_arg(&cmds[0], sp->key.data, sp->key.len);
    ngx_mail_redis_cmd_arg(&cmds[0], data, len);

    if (sp->size == 0) {
        ngx_mail_redis_cmd_init(&cmds[1], "EXPIRE");
        ngx_mail_redis_cmd_arg(&cmds[1], sp->key.data, sp->key.len);
        ngx_mail_redis_cmd_cstr(&cmds[1], "86400");
    }

    sp->appended = handler;

    if (ngx_mail_store_send(sp, cmds, ngx_mail_store_append_done) != NGX_OK
        || (sp->size == 0
            && ngx_mail_store_send(sp, &cmds[1], ngx_mail_store_append_done)
               != NGX_OK))
    {
        sp->failed = 1;
        return NGX_ERROR;
    }

    sp->size += len;

    return (sp->ninflight > 1) ? NGX_AGAIN : NGX_OK;
}


static ngx_int_t
ngx_mail_store_send(ngx_mail_store_spool_t *sp, ngx_mail_redis_cmd_t *cmd,
    ngx_mail_redis_handler_pt handler)
{
    ngx_mail_redis_request_t  *r;

    r = ngx_mail_redis_send(cmd, 1, handler, sp,
                            sp->session->connection->log);
    if (r == NULL) {
        return NGX_ERROR;
    }

    sp->inflight[sp->ninflight++] = r;

    return NGX_OK;
}


/* Redis answers in order: the oldest request is the one answered */

static void
ngx_mail_store_answered(ngx_mail_store_spool_t *sp)
{
    ngx_uint_t  i;

    for (i = 1; i < sp->ninflight; i++) {
        sp->inflight[i - 1] = sp->inflight[i];
    }

    sp->ninflight--;
}


static void
ngx_mail_store_append_done(redisReply *reply, void *data)
{
    ngx_mail_store_spool_t  *sp = data;

    ngx_mail_store_answered(sp);

    if (ngx_mail_redis_reply_is_error(reply, sp->session->connection->log)) {
        sp->failed = 1;
    }

    if (sp->appended) {
        sp->appended(sp->session, sp->failed ? NGX_ERROR : NGX_OK, NULL);
    }
}


ngx_int_t
ngx_mail_store_deliver(ngx_mail_store_spool_t *sp, ngx_pool_t *pool,
    ngx_array_t *local, ngx_mail_store_envelope_t *env,
    ngx_mail_store_handler_pt handler)
{
    u_char                 *p;
    size_t                  need;
    ngx_uint_t              i, nremote, njunk, argc;
    ngx_str_t              *a;
    ngx_mail_redis_cmd_t   *cmd;

    nremote = env->remote ? env->remote->nelts : 0;

    njunk = env->junk ? env->junk->nelts : 0;

    /* EVAL script 0 + fixed arguments + addresses */
    argc = 3 + 10 + local->nelts + nremote + njunk;

    cmd = ngx_palloc(pool, sizeof(ngx_mail_redis_cmd_t));
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    if (ngx_mail_redis_cmd_init_n(cmd, "EVAL", argc, pool) != NGX_OK) {
        return NGX_ERROR;
    }

    need = 5 * NGX_OFF_T_LEN;
    p = ngx_pnalloc(pool, need);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_mail_redis_cmd_cstr(cmd, ngx_mail_store_deliver_lua);
    ngx_mail_redis_cmd_cstr(cmd, "0");
    ngx_mail_redis_cmd_arg(cmd, sp->key.data, sp->key.len);

    ngx_mail_redis_cmd_arg(cmd, p, ngx_sprintf(p, "%O", sp->size) - p);
    p += NGX_OFF_T_LEN;
    ngx_mail_redis_cmd_arg(cmd, p, ngx_sprintf(p, "%T", ngx_time()) - p);
    p += NGX_OFF_T_LEN;
    ngx_mail_redis_cmd_arg(cmd, p, ngx_sprintf(p, "%ui", local->nelts) - p);
    p += NGX_OFF_T_LEN;

    a = local->elts;
    for (i = 0; i < local->nelts; i++) {
        ngx_mail_redis_cmd_arg(cmd, a[i].data, a[i].len);
    }

    ngx_mail_redis_cmd_arg(cmd, env->from.data, env->from.len);
    ngx_mail_redis_cmd_arg(cmd, env->params.data, env->params.len);
    ngx_mail_redis_cmd_arg(cmd, p, ngx_sprintf(p, "%ui", nremote) - p);

    if (nremote) {
        a = env->remote->elts;
        for (i = 0; i < nremote; i++) {
            ngx_mail_redis_cmd_arg(cmd, a[i].data, a[i].len);
        }
    }

    ngx_mail_redis_cmd_arg(cmd, sp->id.data, sp->id.len);

    ngx_mail_redis_cmd_arg(cmd, env->headers.data, env->headers.len);
    p += NGX_OFF_T_LEN;
    ngx_mail_redis_cmd_arg(cmd, p, ngx_sprintf(p, "%ui", njunk) - p);

    if (njunk) {
        a = env->junk->elts;
        for (i = 0; i < njunk; i++) {
            ngx_mail_redis_cmd_arg(cmd, a[i].data, a[i].len);
        }
    }

    if (sp->ninflight == NGX_MAIL_STORE_INFLIGHT) {
        return NGX_ERROR;
    }

    sp->delivered = handler;

    return ngx_mail_store_send(sp, cmd, ngx_mail_store_deliver_done);
}


static void
ngx_mail_store_deliver_done(redisReply *reply, void *data)
{
    ngx_mail_store_spool_t  *sp = data;

    ngx_str_t    detail;
    ngx_log_t   *log;

    log = sp->session->connection->log;

    ngx_mail_store_answered(sp);

    if (ngx_mail_redis_reply_is_error(reply, log)
        || (reply->type != REDIS_REPLY_STATUS
            && reply->type != REDIS_REPLY_STRING))
    {
        sp->delivered(sp->session, NGX_ERROR, NULL);
        return;
    }

    detail.data = (u_char *) reply->str;
    detail.len = reply->len;

    if (detail.len == 2 && ngx_strncmp(detail.data, "OK", 2) == 0) {
        /* the spool is gone: nothing to discard from now on */
        sp->done = 1;
        ngx_mail_store_replicate(sp);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, log, 0, "delivery of %V refused: %V",
                  &sp->id, &detail);

    sp->delivered(sp->session, NGX_DECLINED, &detail);
}


/*
 * mail_redis_wait: the message must also be on that many replicas before
 * the client is told 250; if it is not, the client hears 451 and sends it
 * again, since a duplicate is better than a message lost with the primary.
 */

static void
ngx_mail_store_replicate(ngx_mail_store_spool_t *sp)
{
    u_char                 replicas[NGX_INT_T_LEN], timeout[NGX_INT_T_LEN];
    ngx_uint_t             n;
    ngx_msec_t             ms;
    ngx_mail_redis_cmd_t   cmd;

    n = ngx_mail_redis_wait_replicas(&ms);

    if (n == 0) {
        sp->delivered(sp->session, NGX_OK, NULL);
        return;
    }

    ngx_mail_redis_cmd_init(&cmd, "WAIT");
    ngx_mail_redis_cmd_arg(&cmd, replicas,
                           ngx_sprintf(replicas, "%ui", n) - replicas);
    ngx_mail_redis_cmd_arg(&cmd, timeout,
                           ngx_sprintf(timeout, "%M", ms) - timeout);

    if (ngx_mail_store_send(sp, &cmd, ngx_mail_store_replicated) != NGX_OK) {
        sp->delivered(sp->session, NGX_ERROR, NULL);
    }
}


static void
ngx_mail_store_replicated(redisReply *reply, void *data)
{
    ngx_mail_store_spool_t  *sp = data;

    ngx_uint_t   n;
    ngx_msec_t   ms;

    ngx_mail_store_answered(sp);

    n = ngx_mail_redis_wait_replicas(&ms);

    if (ngx_mail_redis_reply_is_error(reply, sp->session->connection->log)
        || reply->type != REDIS_REPLY_INTEGER
        || reply->integer < (long long) n)
    {
        ngx_log_error(NGX_LOG_ERR, sp->session->connection->log, 0,
                      "message %V reached %d of %ui replicas in %M ms",
                      &sp->id, reply && reply->type == REDIS_REPLY_INTEGER
                               ? (int) reply->integer : 0, n, ms);
        sp->delivered(sp->session, NGX_ERROR, NULL);
        return;
    }

    sp->delivered(sp->session, NGX_OK, NULL);
}


void
ngx_mail_store_spool_discard(ngx_mail_store_spool_t *sp)
{
    ngx_uint_t            i;
    ngx_mail_redis_cmd_t  cmd;

    /* the spool's memory may go before Redis answers */
    for (i = 0; i < sp->ninflight; i++) {
        ngx_mail_redis_cancel(sp->inflight[i]);
    }

    sp->ninflight = 0;

    if (sp->done || sp->size == 0) {
        return;
    }

    sp->done = 1;

    ngx_mail_redis_cmd_init(&cmd, "DEL");
    ngx_mail_redis_cmd_arg(&cmd, sp->key.data, sp->key.len);

    (void) ngx_mail_redis_send(&cmd, 1, NULL, NULL,
                               sp->session->connection->log);
}
