
/*
 * The selected state (RFC 3501 6.3.1, 6.4): SELECT, EXAMINE, CHECK,
 * CLOSE, UNSELECT (RFC 3691), EXPUNGE and UID EXPUNGE (RFC 4315), IDLE
 * (RFC 2177), and the sync that keeps a session's view of its mailbox
 * up to date.
 *
 * A session knows its mailbox as the UIDs by sequence number and the
 * highest modseq it has reported.  Before the tagged reply of a command,
 * one Lua script returns what changed since that modseq: new UIDs
 * (EXISTS), expunged ones (EXPUNGE, from mailbox:{A}:N:expunged) and
 * changed flags (FETCH, from mailbox:{A}:N:modseq), whoever made the
 * change, on whichever node.  A session subscribed to notify:{A} learns
 * of changes as they happen, which is what IDLE waits for.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_redis.h"
#include "ngx_mail_store.h"
#include "ngx_mail_imapd.h"
#include "ngx_mail_imapd_utf7.h"


/*
 * ARGV: user, name, claim (1: SELECT takes \Recent, 0: EXAMINE), and
 * for QRESYNC the client's UIDVALIDITY and modseq (or 0 0), and how many
 * messages may be looked at for the first unseen.
 * { id, uidvalidity, uidnext, highestmodseq, recent from, recent to,
 *   first unseen UID or 0, keywords, { uid... }, { vanished uid... },
 *   { uid, flags, modseq, ... } } or "NONEXISTENT".
 * The first unseen message is looked for from the end, where new mail
 * is, counting down the mailbox's unseen counter.
 */
static char  ngx_mail_imapd_select_lua[] =
    "local t = '{' .. ARGV[1] .. '}'\n"
    "local id = redis.call('HGET', 'mailboxes:' .. t, ARGV[2])\n"
    "if not id then return 'NONEXISTENT' end\n"
    "local mb = 'mailbox:' .. t .. ':' .. id\n"
    "local m = redis.call('HMGET', mb, 'uidvalidity', 'uidnext',\n"
    "                     'highestmodseq', 'recent_uid', 'unseen',\n"
    "                     'keywords')\n"
    "local uids = redis.call('ZRANGE', mb .. ':uids', 0, -1)\n"
    "local lo, hi = 0, 0\n"
    "local top = tonumber(m[2]) - 1\n"
    "local seen_to = tonumber(m[4] or '0')\n"
    "if ARGV[3] == '1' and top > seen_to then\n"
    "  redis.call('HSET', mb, 'recent_uid', top)\n"
    "  lo, hi = seen_to + 1, top\n"
    "end\n"
    "local unseen, first = tonumber(m[5] or '0'), 0\n"
    "local function seen(i)\n"
    "  local f = redis.call('HGET', 'msg:' .. t .. ':' .. id .. ':'\n"
    "                       .. uids[i], 'flags') or ''\n"
    "  return string.find(' ' .. f .. ' ', ' \\\\Seen ', 1, true)\n"
    "end\n"
    /*
     * mostly unread: the first unseen is near the start; else counting
     * the unseen down from the end finds it.  Either way no more than
     * ARGV[6] messages are looked at: past that, no UNSEEN code, which
     * RFC 3501 6.3.1 allows (the client SEARCHes if it wants to know)
     */
    "local budget = tonumber(ARGV[6])\n"
    "if unseen > #uids / 2 then\n"
    "  for i = 1, math.min(#uids, budget) do\n"
    "    if not seen(i) then first = tonumber(uids[i]); break end\n"
    "  end\n"
    "else\n"
    "  local i = #uids\n"
    "  while unseen > 0 and i > 0 and budget > 0 do\n"
    "    if not seen(i) then\n"
    "      first = tonumber(uids[i])\n"
    "      unseen = unseen - 1\n"
    "    end\n"
    "    i = i - 1\n"
    "    budget = budget - 1\n"
    "  end\n"
    "  if unseen > 0 then first = 0 end\n"
    "end\n"
    "local gone, changed = {}, {}\n"
    "if ARGV[4] == m[1] and tonumber(ARGV[5]) > 0 then\n"
    "  local since = '(' .. ARGV[5]\n"
    "  gone = redis.call('ZRANGEBYSCORE', mb .. ':expunged', since, '+inf')\n"
    "  local c = redis.call('ZRANGEBYSCORE', mb .. ':modseq', since, '+inf',\n"
    "                       'WITHSCORES')\n"
    "  for j = 1, #c, 2 do\n"
    "    changed[#changed + 1] = c[j]\n"
    "    changed[#changed + 1] = redis.call('HGET', 'msg:' .. t .. ':' .. id\n"
    "                                       .. ':' .. c[j], 'flags') or ''\n"
    "    changed[#changed + 1] = c[j + 1]\n"
    "  end\n"
    "end\n"
    "return { id, m[1], m[2], m[3], lo, hi, first, m[6] or '', uids, gone,\n"
    "         changed }\n";


/*
 * ARGV: user, id, reported modseq, last known UID, claim \Recent.
 * { highestmodseq, keywords } when nothing changed, else { highestmodseq,
 * { new uid... }, { expunged uid... }, { uid, flags, modseq, ... },
 * recent from, recent to, keywords }; "NONEXISTENT" when the mailbox
 * was deleted.
 */
static char  ngx_mail_imapd_sync_lua[] =
    "local t = '{' .. ARGV[1] .. '}'\n"
    "local id = ARGV[2]\n"
    "local mb = 'mailbox:' .. t .. ':' .. id\n"
    "local m = redis.call('HMGET', mb, 'highestmodseq', 'uidnext',\n"
    "                     'recent_uid', 'keywords')\n"
    "if not m[1] then return 'NONEXISTENT' end\n"
    "if m[1] == ARGV[3] then return { m[1], m[4] or '' } end\n"
    "local since = '(' .. ARGV[3]\n"
    "local last = tonumber(ARGV[4])\n"
    "local new = redis.call('ZRANGEBYSCORE', mb .. ':uids',\n"
    "                       '(' .. ARGV[4], '+inf')\n"
    "local gone = redis.call('ZRANGEBYSCORE', mb .. ':expunged', since,\n"
    "                        '+inf')\n"
    "local changed = redis.call('ZRANGEBYSCORE', mb .. ':modseq', since,\n"
    "                           '+inf', 'WITHSCORES')\n"
    "local flags = {}\n"
    "for i = 1, #changed, 2 do\n"
    "  if tonumber(changed[i]) <= last then\n"
    "    flags[#flags + 1] = changed[i]\n"
    "    flags[#flags + 1] = redis.call('HGET', 'msg:' .. t .. ':' .. id\n"
    "                                   .. ':' .. changed[i], 'flags') or ''\n"
    "    flags[#flags + 1] = changed[i + 1]\n"
    "  end\n"
    "end\n"
    "local lo, hi = 0, 0\n"
    "local top = tonumber(m[2]) - 1\n"
    "local seen_to = tonumber(m[3] or '0')\n"
    "if ARGV[5] == '1' and top > seen_to then\n"
    "  redis.call('HSET', mb, 'recent_uid', top)\n"
    "  lo, hi = seen_to + 1, top\n"
    "end\n"
    "return { m[1], new, gone, flags, lo, hi, m[4] or '' }\n";


/*
 * ARGV: user, id, then the UIDs that may go (UID EXPUNGE), or none for
 * every \Deleted message.  Each expunge gets its own modseq, recorded in
 * mailbox:{A}:N:expunged for the sync and QRESYNC.  Returns the count.
 */
static char  ngx_mail_imapd_expunge_lua[] =
    NGX_MAIL_STORE_EXPUNGE_LUA
    "local t = '{' .. ARGV[1] .. '}'\n"
    "local uids = {}\n"
    "if #ARGV > 2 then\n"
    "  for i = 3, #ARGV do uids[#uids + 1] = ARGV[i] end\n"
    "else\n"
    "  uids = redis.call('ZRANGE', 'mailbox:' .. t .. ':' .. ARGV[2]\n"
    "                    .. ':uids', 0, -1)\n"
    "end\n"
    "local n = 0\n"
    "for _, uid in ipairs(uids) do\n"
    "  if expunge(t, ARGV[2], uid, true) then n = n + 1 end\n"
    "end\n"
    "return n\n";


static void ngx_mail_imapd_select_done(redisReply *reply, void *data);
static ngx_int_t ngx_mail_imapd_select_reply(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_mail_imapd_mailbox_t *mb,
    redisReply *reply);
static ngx_int_t ngx_mail_imapd_uids_add(ngx_mail_imapd_mailbox_t *mb,
    redisReply *list);
static void ngx_mail_imapd_recent_add(ngx_mail_imapd_mailbox_t *mb,
    long long lo, long long hi);
static ngx_int_t ngx_mail_imapd_flags_line(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_mail_imapd_mailbox_t *mb,
    u_char *keywords, size_t len);
static void ngx_mail_imapd_keywords(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, redisReply *keywords);
static ngx_int_t ngx_mail_imapd_sync(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_flag_t claim);
static void ngx_mail_imapd_synced(redisReply *reply, void *data);
static ngx_int_t ngx_mail_imapd_sync_apply(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, redisReply *reply);
static ngx_int_t ngx_mail_imapd_expunges(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, uint32_t *uids, ngx_uint_t n);
static ngx_int_t ngx_mail_imapd_pending_add(ngx_mail_imapd_mailbox_t *mb,
    uint32_t uid);
static void ngx_mail_imapd_pending_flush(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
static void ngx_mail_imapd_finish(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
static void ngx_mail_imapd_expunged(redisReply *reply, void *data);
static void ngx_mail_imapd_closed(redisReply *reply, void *data);
static void ngx_mail_imapd_notified(ngx_str_t *message, void *data);
static ngx_int_t ngx_mail_imapd_uint(redisReply *r, uint64_t *value);
static ngx_uint_t ngx_mail_imapd_lower_bound(ngx_mail_imapd_mailbox_t *mb,
    uint32_t uid);
static ngx_int_t ngx_mail_imapd_qresync_params(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_mail_imapd_node_t *list,
    ngx_str_t *qresync);
static void ngx_mail_imapd_resync(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_mail_imapd_mailbox_t *mb,
    redisReply *gone, redisReply *changed);


ngx_int_t
ngx_mail_imapd_cmd_select(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    u_char                  buf[NGX_MAIL_IMAPD_MAILBOX_MAX];
    uint32_t                i;
    ngx_str_t               name, args[6], qresync[2];
    ngx_mail_imapd_node_t  *params, *p;

    /* RFC 3501 6.3.1: a SELECT closes the mailbox, even when it fails */
    if (ctx->mailbox) {
        ngx_mail_imapd_mailbox_free(ctx->mailbox);
        ctx->mailbox = NULL;
        ctx->state = ngx_mail_imapd_authenticated;
        (void) ngx_mail_imapd_printf(s, ctx, "* OK [CLOSED] Previous "
                                             "mailbox closed");
    }

    if (ngx_mail_imapd_mailbox_arg(s, ctx, 0, &name, buf, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_set(&qresync[0], "0");
    ngx_str_set(&qresync[1], "0");

    /* RFC 7162 3.1.8, 3.2.5: (CONDSTORE), (QRESYNC (...)) */
    if (ctx->parser.nargs == 2) {
        params = ngx_mail_imapd_arg(ctx, 1);

        if (params->type != NGX_MAIL_IMAPD_NODE_LIST) {
            (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
            return NGX_ERROR;
        }

        for (i = params->child; i != NGX_MAIL_IMAPD_NODE_NONE; i = p->next) {
            p = &ctx->parser.nodes[i];

            if (p->type == NGX_MAIL_IMAPD_NODE_ATOM
                && ngx_mail_imapd_atom_eq(&p->value, "CONDSTORE"))
            {
                ctx->condstore = 1;
                continue;
            }

            if (p->type == NGX_MAIL_IMAPD_NODE_ATOM
                && ngx_mail_imapd_atom_eq(&p->value, "QRESYNC")
                && ctx->qresync && p->next != NGX_MAIL_IMAPD_NODE_NONE
                && ngx_mail_imapd_qresync_params(s, ctx, &ctx->parser.nodes[
                                                     p->next], qresync)
                   == NGX_OK)
            {
                i = p->next;
                p = &ctx->parser.nodes[i];
                continue;
            }

            (void) ngx_mail_imapd_tagged(s, ctx, "BAD Unknown SELECT "
                                                 "parameter");
            return NGX_ERROR;
        }
    }

    ngx_mail_imapd_mailbox_free(&ctx->selecting);
    ngx_memzero(&ctx->selecting, sizeof(ngx_mail_imapd_mailbox_t));

    ctx->selecting.readonly = (ctx->verb->len == sizeof("EXAMINE") - 1);

    ctx->selecting.name.data = ngx_alloc(name.len, s->connection->log);
    if (ctx->selecting.name.data == NULL) {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    ngx_memcpy(ctx->selecting.name.data, name.data, name.len);
    ctx->selecting.name.len = name.len;

    args[0] = s->login;
    args[1] = name;
    ngx_str_set(&args[2], "1");

    if (ctx->selecting.readonly) {
        ngx_str_set(&args[2], "0");
    }

    args[3] = qresync[0];
    args[4] = qresync[1];
    ngx_str_set(&args[5], NGX_MAIL_IMAPD_UNSEEN_SCAN_STR);

    if (ngx_mail_imapd_eval(s, ngx_mail_imapd_select_lua, args, 6,
                            ngx_mail_imapd_select_done)
        != NGX_OK)
    {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    return NGX_OK;
}


static void
ngx_mail_imapd_select_done(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    ngx_str_t                  channel;
    ngx_mail_imapd_ctx_t      *ctx;
    ngx_mail_imapd_mailbox_t  *mb;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)) {
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [NONEXISTENT] Mailbox does "
                                             "not exist");
        ngx_mail_imapd_done(s);
        return;
    }

    mb = &ctx->current;

    /* the session's mailbox takes over the arrays */
    *mb = ctx->selecting;
    ngx_memzero(&ctx->selecting, sizeof(ngx_mail_imapd_mailbox_t));

    if (ngx_mail_imapd_select_reply(s, ctx, mb, reply) != NGX_OK) {
        ngx_mail_imapd_mailbox_free(mb);
        goto failed;
    }

    ctx->mailbox = mb;
    ctx->state = ngx_mail_imapd_selected;

    /* changes from now on, from every node (RFC 2177) */
    channel.data = ngx_pnalloc(ngx_mail_imapd_pool(s, ctx),
                               sizeof("notify:{}") - 1 + s->login.len);
    if (channel.data != NULL) {
        channel.len = ngx_sprintf(channel.data, "notify:{%V}", &s->login)
                      - channel.data;

        if (ngx_mail_redis_subscribe(&mb->sub, &channel,
                                     ngx_mail_imapd_notified, s)
            == NGX_OK)
        {
            mb->subscribed = 1;
        }
    }

    (void) ngx_mail_imapd_printf(s, ctx, "%V OK [%s] %V completed",
                                 &ctx->tag,
                                 mb->readonly ? "READ-ONLY" : "READ-WRITE",
                                 ctx->verb);
    ngx_mail_imapd_done(s);
    return;

failed:

    (void) ngx_mail_imapd_unavailable(s, ctx);
    ngx_mail_imapd_done(s);
}


static ngx_int_t
ngx_mail_imapd_select_reply(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    ngx_mail_imapd_mailbox_t *mb, redisReply *reply)
{
    uint64_t     v[7];
    ngx_uint_t   i, n, recent;
    redisReply  *e;

    if (reply->elements != 11) {
        return NGX_ERROR;
    }

    for (i = 0; i < 7; i++) {
        if (ngx_mail_imapd_uint(reply->element[i], &v[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    e = reply->element[0];
    mb->id.data = ngx_alloc(e->len, s->connection->log);
    if (mb->id.data == NULL) {
        return NGX_ERROR;
    }

    mb->id.len = e->len;
    ngx_memcpy(mb->id.data, e->str, e->len);

    mb->uidvalidity = (uint32_t) v[1];
    mb->uidnext = (uint32_t) v[2];
    mb->modseq = v[3];

    if (ngx_mail_imapd_uids_add(mb, reply->element[8]) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_mail_imapd_recent_add(mb, v[4], v[5]);

    e = reply->element[7];
    if (e->type != REDIS_REPLY_STRING) {
        return NGX_ERROR;
    }

    mb->keywords = ngx_crc32_short((u_char *) e->str, e->len);
    (void) ngx_mail_imapd_flags_line(s, ctx, mb, (u_char *) e->str, e->len);

    recent = 0;
    for (n = 0; n < mb->nuids; n++) {
        recent += ngx_mail_imapd_is_recent(mb, mb->uids[n]);
    }

    (void) ngx_mail_imapd_printf(s, ctx, "* %ui EXISTS", mb->nuids);
    (void) ngx_mail_imapd_printf(s, ctx, "* %ui RECENT", recent);

    if (v[6]) {
        (void) ngx_mail_imapd_printf(s, ctx, "* OK [UNSEEN %i] First unseen",
                                     ngx_mail_imapd_seq_of(mb,
                                                           (uint32_t) v[6]));
    }

    (void) ngx_mail_imapd_printf(s, ctx, "* OK [UIDVALIDITY %uD] UIDs valid",
                                 mb->uidvalidity);
    (void) ngx_mail_imapd_printf(s, ctx, "* OK [UIDNEXT %uD] Predicted next "
                                         "UID", mb->uidnext);
    (void) ngx_mail_imapd_printf(s, ctx, "* OK [HIGHESTMODSEQ %uL] Highest",
                                 mb->modseq);

    ngx_mail_imapd_resync(s, ctx, mb, reply->element[9], reply->element[10]);

    return NGX_OK;
}


/*
 * RFC 7162 3.2.5.1: (QRESYNC (uidvalidity modseq [known-uids ...])).
 * The known UIDs only narrow the VANISHED response, which may as well
 * be complete; they are not used.
 */

static ngx_int_t
ngx_mail_imapd_qresync_params(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_mail_imapd_node_t *list,
    ngx_str_t *qresync)
{
    ngx_mail_imapd_node_t  *uv, *ms, *known;

    if (list->type != NGX_MAIL_IMAPD_NODE_LIST || list->count < 2
        || list->count > 4)
    {
        return NGX_ERROR;
    }

    uv = &ctx->parser.nodes[list->child];
    ms = &ctx->parser.nodes[uv->next];

    if (uv->type != NGX_MAIL_IMAPD_NODE_ATOM
        || ms->type != NGX_MAIL_IMAPD_NODE_ATOM
        || ngx_atoof((u_char *) uv->value.data, uv->value.len) <= 0
        || ngx_atoof((u_char *) ms->value.data, ms->value.len) <= 0)
    {
        return NGX_ERROR;
    }

    qresync[0].data = (u_char *) uv->value.data;
    qresync[0].len = uv->value.len;
    qresync[1].data = (u_char *) ms->value.data;
    qresync[1].len = ms->value.len;

    /* the known UIDs, copied: the reply comes after the command's buffer */
    ngx_str_null(&ctx->qresync_known);

    if (list->count > 2) {
        known = &ctx->parser.nodes[ms->next];

        if (known->type != NGX_MAIL_IMAPD_NODE_ATOM) {
            return NGX_ERROR;
        }

        ctx->qresync_known.data = ngx_pnalloc(ngx_mail_imapd_pool(s, ctx),
                                              known->value.len);
        if (ctx->qresync_known.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(ctx->qresync_known.data, known->value.data,
                   known->value.len);
        ctx->qresync_known.len = known->value.len;

        if (ctx->ranges == NULL) {
            ctx->ranges = ngx_palloc(s->connection->pool,
                                     NGX_MAIL_IMAPD_SEQ_RANGES_MAX
                                     * sizeof(ngx_mail_imapd_seq_range_t));
            if (ctx->ranges == NULL) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* what changed since the client's last sync: VANISHED (EARLIER), FETCH */

static void
ngx_mail_imapd_resync(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    ngx_mail_imapd_mailbox_t *mb, redisReply *gone, redisReply *changed)
{
    u_char                   *p, line[1024];
    size_t                    i;
    uint32_t                  uid;
    ngx_int_t                 seq;
    ngx_uint_t                n;
    redisReply              **f;
    ngx_mail_imapd_seqset_t   known;

    /* RFC 7162 3.2.5.1: only the UIDs the client says it knows */
    known.nranges = 0;

    if (ctx->qresync_known.len && ctx->ranges) {
        ngx_memzero(&known, sizeof(ngx_mail_imapd_seqset_t));
        known.ranges = ctx->ranges;
        known.max_ranges = NGX_MAIL_IMAPD_SEQ_RANGES_MAX;

        if (ngx_mail_imapd_seqset_parse(ctx->qresync_known.data,
                                        ctx->qresync_known.len, &known)
            == NGX_MAIL_IMAPD_PARSE_OK)
        {
            ngx_mail_imapd_seqset_normalize(&known, 0xffffffff);

        } else {
            known.nranges = 0;
        }
    }

    n = 0;

    for (i = 0; gone->type == REDIS_REPLY_ARRAY && i < gone->elements; i++) {
        if (gone->element[i]->type != REDIS_REPLY_STRING) {
            continue;
        }

        uid = (uint32_t) ngx_atoi((u_char *) gone->element[i]->str,
                                  gone->element[i]->len);

        if (known.nranges
            && !ngx_mail_imapd_seqset_contains(&known, uid, 0xffffffff))
        {
            continue;
        }

        if (n++ == 0) {
            (void) ngx_mail_imapd_write(s, ctx,
                                        (u_char *) "* VANISHED (EARLIER) ",
                                        sizeof("* VANISHED (EARLIER) ") - 1);
        }

        p = ngx_sprintf(line, "%s%uD", n > 1 ? "," : "", uid);
        (void) ngx_mail_imapd_write(s, ctx, line, p - line);
    }

    if (n) {
        (void) ngx_mail_imapd_write(s, ctx, (u_char *) CRLF, 2);
    }

    ngx_str_null(&ctx->qresync_known);

    if (changed->type != REDIS_REPLY_ARRAY) {
        return;
    }

    f = changed->element;

    for (i = 0; i + 2 < changed->elements; i += 3) {
        if (f[i]->type != REDIS_REPLY_STRING
            || f[i + 1]->type != REDIS_REPLY_STRING
            || f[i + 2]->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        uid = (uint32_t) ngx_atoi((u_char *) f[i]->str, f[i]->len);
        seq = ngx_mail_imapd_seq_of(mb, uid);

        if (seq == 0
            || (known.nranges
                && !ngx_mail_imapd_seqset_contains(&known, uid, 0xffffffff)))
        {
            continue;
        }

        p = ngx_sprintf(line, "* %i FETCH (UID %*s FLAGS (", seq,
                        ngx_min(f[i]->len, 10), f[i]->str);
        p = ngx_mail_imapd_write_flags(p, (u_char *) f[i + 1]->str,
                                       f[i + 1]->len,
                                       ngx_mail_imapd_is_recent(mb,
                                           mb->uids[seq - 1]));
        p = ngx_sprintf(p, ") MODSEQ (%*s))" CRLF,
                        ngx_min(f[i + 2]->len, 20), f[i + 2]->str);

        (void) ngx_mail_imapd_write(s, ctx, line, p - line);
    }
}


/* RFC 3501 7.2.6, 7.1 PERMANENTFLAGS: keywords may be created (\*) */

static ngx_int_t
ngx_mail_imapd_flags_line(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    ngx_mail_imapd_mailbox_t *mb, u_char *keywords, size_t len)
{
    len = ngx_mail_imapd_flags_fit(keywords, len);

    (void) ngx_mail_imapd_printf(s, ctx, "* FLAGS (\\Answered \\Flagged "
                                 "\\Deleted \\Seen \\Draft%s%*s)",
                                 len ? " " : "", len, keywords);

    if (mb->readonly) {
        return ngx_mail_imapd_printf(s, ctx, "* OK [PERMANENTFLAGS ()] "
                                             "Read-only mailbox");
    }

    return ngx_mail_imapd_printf(s, ctx, "* OK [PERMANENTFLAGS (\\Answered "
                                 "\\Flagged \\Deleted \\Seen \\Draft%s%*s "
                                 "\\*)] Flags permitted",
                                 len ? " " : "", len, keywords);
}


/* RFC 3501 7.2.6: FLAGS again when a keyword comes into use */

static void
ngx_mail_imapd_keywords(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    redisReply *keywords)
{
    uint32_t                   crc;
    ngx_mail_imapd_mailbox_t  *mb;

    mb = ctx->mailbox;

    if (keywords->type != REDIS_REPLY_STRING) {
        return;
    }

    crc = ngx_crc32_short((u_char *) keywords->str, keywords->len);

    if (crc != mb->keywords) {
        mb->keywords = crc;
        (void) ngx_mail_imapd_flags_line(s, ctx, mb, (u_char *) keywords->str,
                                         keywords->len);
    }
}


/* new UIDs, above all known ones, in order */

static ngx_int_t
ngx_mail_imapd_uids_add(ngx_mail_imapd_mailbox_t *mb, redisReply *list)
{
    size_t       i;
    uint32_t    *uids;
    uint64_t     uid;
    ngx_uint_t   size;

    if (list->type != REDIS_REPLY_ARRAY) {
        return NGX_ERROR;
    }

    if (mb->nuids + list->elements > mb->nalloc) {
        size = ngx_max(2 * mb->nalloc, mb->nuids + list->elements);
        size = ngx_max(size, 64);

        uids = ngx_alloc(size * sizeof(uint32_t), ngx_cycle->log);
        if (uids == NULL) {
            return NGX_ERROR;
        }

        if (mb->nuids) {
            ngx_memcpy(uids, mb->uids, mb->nuids * sizeof(uint32_t));
        }

        if (mb->uids) {
            ngx_free(mb->uids);
        }

        mb->uids = uids;
        mb->nalloc = size;
    }

    for (i = 0; i < list->elements; i++) {
        if (ngx_mail_imapd_uint(list->element[i], &uid) != NGX_OK
            || uid == 0 || uid > 0xffffffff
            || (mb->nuids && uid <= mb->uids[mb->nuids - 1]))
        {
            continue;
        }

        mb->uids[mb->nuids++] = (uint32_t) uid;

        if (uid >= mb->uidnext) {
            mb->uidnext = (uint32_t) uid + 1;
        }
    }

    return NGX_OK;
}


static void
ngx_mail_imapd_recent_add(ngx_mail_imapd_mailbox_t *mb, long long lo,
    long long hi)
{
    ngx_uint_t  n;

    if (lo <= 0 || hi < lo) {
        return;
    }

    n = sizeof(mb->recent) / sizeof(mb->recent[0]);

    /* claims of one session usually follow each other */
    if (mb->nrecent && mb->recent[mb->nrecent - 1].last + 1 == lo) {
        mb->recent[mb->nrecent - 1].last = (uint32_t) hi;
        return;
    }

    /*
     * a long session with other sessions claiming in between: its two
     * oldest claims become one, which may show a few of the others'
     * messages as \Recent here too
     */
    if (mb->nrecent == n) {
        mb->recent[0].last = mb->recent[1].last;
        ngx_memmove(&mb->recent[1], &mb->recent[2],
                    (n - 2) * sizeof(ngx_mail_imapd_uid_range_t));
        mb->nrecent--;
    }

    mb->recent[mb->nrecent].first = (uint32_t) lo;
    mb->recent[mb->nrecent].last = (uint32_t) hi;
    mb->nrecent++;
}


ngx_flag_t
ngx_mail_imapd_is_recent(ngx_mail_imapd_mailbox_t *mb, uint32_t uid)
{
    ngx_uint_t  i;

    for (i = 0; i < mb->nrecent; i++) {
        if (uid >= mb->recent[i].first && uid <= mb->recent[i].last) {
            return 1;
        }
    }

    return 0;
}


/* the index of the first UID at or above "uid" */

static ngx_uint_t
ngx_mail_imapd_lower_bound(ngx_mail_imapd_mailbox_t *mb, uint32_t uid)
{
    ngx_uint_t  lo, hi, mid;

    lo = 0;
    hi = mb->nuids;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (mb->uids[mid] < uid) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return lo;
}


/* the sequence number of a UID, 0 if the session does not know it */

ngx_int_t
ngx_mail_imapd_seq_of(ngx_mail_imapd_mailbox_t *mb, uint32_t uid)
{
    ngx_uint_t  lo;

    lo = ngx_mail_imapd_lower_bound(mb, uid);

    if (lo < mb->nuids && mb->uids[lo] == uid) {
        return lo + 1;
    }

    return 0;
}




void
ngx_mail_imapd_mailbox_free(ngx_mail_imapd_mailbox_t *mb)
{
    if (mb->subscribed) {
        ngx_mail_redis_unsubscribe(&mb->sub);
        mb->subscribed = 0;
    }

    if (mb->uids) {
        ngx_free(mb->uids);
        mb->uids = NULL;
    }

    if (mb->expunged) {
        ngx_free(mb->expunged);
        mb->expunged = NULL;
    }

    if (mb->name.data) {
        ngx_free(mb->name.data);
        ngx_str_null(&mb->name);
    }

    if (mb->id.data) {
        ngx_free(mb->id.data);
        ngx_str_null(&mb->id);
    }

    mb->nuids = 0;
    mb->nalloc = 0;
    mb->nexpunged = 0;
    mb->nexpunged_alloc = 0;
}


/*
 * The end of every command: in the selected state the changes since the
 * last sync come first as untagged responses, then the tagged reply.
 * EXPUNGE responses wait while FETCH, STORE or SEARCH runs (RFC 3501
 * 7.4.1), since the client's sequence numbers must stay valid.
 */

ngx_int_t
ngx_mail_imapd_complete(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    ngx_flag_t expunge_ok, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    if (ctx->done_text == NULL) {
        ctx->done_text = ngx_pnalloc(s->connection->pool,
                                     NGX_MAIL_IMAPD_DONE_MAX);
        if (ctx->done_text == NULL) {
            return ngx_mail_imapd_unavailable(s, ctx);
        }
    }

    va_start(args, fmt);
    p = ngx_vslprintf(ctx->done_text, ctx->done_text + NGX_MAIL_IMAPD_DONE_MAX,
                      fmt, args);
    va_end(args);

    ctx->done_len = p - ctx->done_text;
    ctx->done_expunge = expunge_ok;

    if (ctx->mailbox == NULL) {
        ngx_mail_imapd_finish(s, ctx);
        return NGX_OK;
    }

    /*
     * FETCH, STORE, SEARCH: Redis is asked only when a notification
     * said that something changed; NOOP and the others always ask
     */
    if (ctx->lazy_sync && ctx->mailbox->listening && !ctx->mailbox->dirty
        && ctx->mailbox->nexpunged == 0)
    {
        ngx_mail_imapd_finish(s, ctx);
        return NGX_OK;
    }

    if (ngx_mail_imapd_sync(s, ctx, 1) != NGX_OK) {
        ngx_mail_imapd_finish(s, ctx);
    }

    return NGX_OK;
}


static void
ngx_mail_imapd_finish(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    (void) ngx_mail_imapd_printf(s, ctx, "%V %*s", &ctx->tag, ctx->done_len,
                                 ctx->done_text);
}


static ngx_int_t
ngx_mail_imapd_sync(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    ngx_flag_t claim)
{
    u_char                    modseq[NGX_INT64_LEN], last[NGX_INT32_LEN];
    ngx_str_t                 args[5];
    ngx_mail_imapd_mailbox_t  *mb;

    mb = ctx->mailbox;

    args[0] = s->login;
    args[1] = mb->id;
    args[2].data = modseq;
    args[2].len = ngx_sprintf(modseq, "%uL", mb->modseq) - modseq;
    args[3].data = last;
    args[3].len = ngx_sprintf(last, "%uD",
                              mb->nuids ? mb->uids[mb->nuids - 1] : 0)
                  - last;
    ngx_str_set(&args[4], "1");

    if (mb->readonly || !claim) {
        ngx_str_set(&args[4], "0");
    }

    mb->dirty = 0;

    return ngx_mail_imapd_eval(s, ngx_mail_imapd_sync_lua, args, 5,
                               ngx_mail_imapd_synced);
}


static void
ngx_mail_imapd_synced(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    ngx_mail_imapd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)) {
        /* the command itself is done: the changes come with the next */
        if (!ctx->idling) {
            ngx_mail_imapd_finish(s, ctx);
        }

        ngx_mail_imapd_done(s);
        return;
    }

    if (reply->type == REDIS_REPLY_STRING) {
        /* RFC 3501 7.1.5: nothing else makes sense for the client */
        (void) ngx_mail_imapd_printf(s, ctx, "* BYE Selected mailbox was "
                                             "deleted");
        ngx_mail_server_io(s)->quit = 1;
        ngx_mail_imapd_done(s);
        return;
    }

    (void) ngx_mail_imapd_sync_apply(s, ctx, reply);

    if (ctx->idling) {
        ngx_mail_imapd_pool_free(ctx);

        /* a change that came while this sync was under way */
        if (!ctx->mailbox->dirty || ngx_mail_imapd_sync(s, ctx, 1) != NGX_OK)
        {
            ngx_mail_imapd_done(s);
        }

        ngx_mail_imapd_pool_free(ctx);
        return;
    }

    ngx_mail_imapd_finish(s, ctx);
    ngx_mail_imapd_done(s);
}


static ngx_int_t
ngx_mail_imapd_sync_apply(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    redisReply *reply)
{
    u_char                    *p, line[1024];
    size_t                     i;
    uint32_t                  *gone;
    uint64_t                   modseq, uid, lo, hi, msg_modseq;
    ngx_int_t                  seq;
    ngx_uint_t                 before, n, recent;
    redisReply                *e, **f;
    ngx_mail_imapd_mailbox_t  *mb;

    mb = ctx->mailbox;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1
        || ngx_mail_imapd_uint(reply->element[0], &modseq) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (reply->elements == 2) {
        ngx_mail_imapd_keywords(s, ctx, reply->element[1]);
        ngx_mail_imapd_pending_flush(s, ctx);
        mb->modseq = modseq;
        return NGX_OK;
    }

    if (reply->elements != 7
        || reply->element[1]->type != REDIS_REPLY_ARRAY
        || reply->element[2]->type != REDIS_REPLY_ARRAY
        || reply->element[3]->type != REDIS_REPLY_ARRAY
        || ngx_mail_imapd_uint(reply->element[4], &lo) != NGX_OK
        || ngx_mail_imapd_uint(reply->element[5], &hi) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* expunges first: sequence numbers then refer to what remains */
    e = reply->element[2];

    if (e->elements) {
        gone = ngx_alloc(e->elements * sizeof(uint32_t), s->connection->log);
        if (gone == NULL) {
            return NGX_ERROR;
        }

        n = 0;

        for (i = 0; i < e->elements; i++) {
            if (ngx_mail_imapd_uint(e->element[i], &uid) == NGX_OK
                && ngx_mail_imapd_seq_of(mb, (uint32_t) uid))
            {
                gone[n++] = (uint32_t) uid;
            }
        }

        if (ctx->done_expunge || ctx->idling) {
            (void) ngx_mail_imapd_expunges(s, ctx, gone, n);

        } else {
            for (i = 0; i < n; i++) {
                (void) ngx_mail_imapd_pending_add(mb, gone[i]);
            }
        }

        ngx_free(gone);
    }

    ngx_mail_imapd_pending_flush(s, ctx);

    before = mb->nuids;

    if (ngx_mail_imapd_uids_add(mb, reply->element[1]) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_mail_imapd_recent_add(mb, lo, hi);

    ngx_mail_imapd_keywords(s, ctx, reply->element[6]);

    if (mb->nuids != before) {
        recent = 0;
        for (n = 0; n < mb->nuids; n++) {
            recent += ngx_mail_imapd_is_recent(mb, mb->uids[n]);
        }

        (void) ngx_mail_imapd_printf(s, ctx, "* %ui EXISTS", mb->nuids);
        (void) ngx_mail_imapd_printf(s, ctx, "* %ui RECENT", recent);
    }

    /* RFC 3501 7.4.2: flags changed by others, or by us */
    e = reply->element[3];
    f = e->element;

    for (i = 0; i + 2 < e->elements; i += 3) {
        if (ngx_mail_imapd_uint(f[i], &uid) != NGX_OK
            || f[i + 1]->type != REDIS_REPLY_STRING
            || ngx_mail_imapd_uint(f[i + 2], &msg_modseq) != NGX_OK)
        {
            continue;
        }

        seq = ngx_mail_imapd_seq_of(mb, (uint32_t) uid);
        if (seq == 0) {
            continue;
        }

        p = ngx_sprintf(line, "* %i FETCH (UID %uL FLAGS (", seq, uid);
        p = ngx_mail_imapd_write_flags(p, (u_char *) f[i + 1]->str,
                                       f[i + 1]->len,
                                       ngx_mail_imapd_is_recent(mb,
                                                           (uint32_t) uid));
        *p++ = ')';

        if (ctx->condstore) {
            p = ngx_sprintf(p, " MODSEQ (%uL)", msg_modseq);
        }

        *p++ = ')';
        *p++ = CR;
        *p++ = LF;

        (void) ngx_mail_imapd_write(s, ctx, line, p - line);
    }

    mb->modseq = modseq;

    return NGX_OK;
}


/*
 * From the highest sequence number down, so that each number is still
 * the one the client knows; the array is compacted once.  With QRESYNC
 * enabled, one VANISHED response instead (RFC 7162 3.2.10).
 */

static ngx_int_t
ngx_mail_imapd_expunges(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    uint32_t *uids, ngx_uint_t n)
{
    u_char                    *p, line[64];
    uint32_t                   first, last;
    ngx_flag_t                 any;
    ngx_uint_t                 i, j;
    ngx_mail_imapd_mailbox_t  *mb;

    mb = ctx->mailbox;

    if (n == 0) {
        return NGX_OK;
    }

    /* all lookups before the first mark: marks break the order */
    for (i = 0; i < n; i++) {
        uids[i] = (uint32_t) ngx_mail_imapd_seq_of(mb, uids[i]);
    }

    for (i = 0; i < n; i++) {
        if (uids[i]) {
            mb->uids[uids[i] - 1] |= 0x80000000;
        }
    }

    if (ctx->qresync) {
        (void) ngx_mail_imapd_write(s, ctx, (u_char *) "* VANISHED ",
                                    sizeof("* VANISHED ") - 1);
        first = 0;
        last = 0;
        any = 0;

        for (i = 0; i < mb->nuids; i++) {
            if (!(mb->uids[i] & 0x80000000)) {
                continue;
            }

            p = ngx_mail_imapd_range(line, &first, &last,
                                     mb->uids[i] & 0x7fffffff, &any);
            (void) ngx_mail_imapd_write(s, ctx, line, p - line);
        }

        p = ngx_mail_imapd_range(line, &first, &last, 0, &any);
        p = ngx_cpymem(p, CRLF, 2);
        (void) ngx_mail_imapd_write(s, ctx, line, p - line);

    } else {
        for (i = mb->nuids; i > 0; i--) {
            if (mb->uids[i - 1] & 0x80000000) {
                (void) ngx_mail_imapd_printf(s, ctx, "* %ui EXPUNGE", i);
            }
        }
    }

    for (i = 0, j = 0; i < mb->nuids; i++) {
        if (!(mb->uids[i] & 0x80000000)) {
            mb->uids[j++] = mb->uids[i];
        }
    }

    mb->nuids = j;

    return NGX_OK;
}


/* expunges held back during FETCH, STORE or SEARCH, once allowed */

static void
ngx_mail_imapd_pending_flush(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    ngx_mail_imapd_mailbox_t  *mb;

    mb = ctx->mailbox;

    if ((ctx->done_expunge || ctx->idling) && mb->nexpunged) {
        (void) ngx_mail_imapd_expunges(s, ctx, mb->expunged, mb->nexpunged);
        mb->nexpunged = 0;
    }
}


static ngx_int_t
ngx_mail_imapd_pending_add(ngx_mail_imapd_mailbox_t *mb, uint32_t uid)
{
    uint32_t    *a;
    ngx_uint_t   i, size;

    for (i = 0; i < mb->nexpunged; i++) {
        if (mb->expunged[i] == uid) {
            return NGX_OK;
        }
    }

    if (mb->nexpunged == mb->nexpunged_alloc) {
        size = ngx_max(2 * mb->nexpunged_alloc, 16);

        a = ngx_alloc(size * sizeof(uint32_t), ngx_cycle->log);
        if (a == NULL) {
            return NGX_ERROR;
        }

        if (mb->nexpunged) {
            ngx_memcpy(a, mb->expunged, mb->nexpunged * sizeof(uint32_t));
        }

        if (mb->expunged) {
            ngx_free(mb->expunged);
        }

        mb->expunged = a;
        mb->nexpunged_alloc = size;
    }

    mb->expunged[mb->nexpunged++] = uid;

    return NGX_OK;
}


/*
 * A change in one of the user's mailboxes, from any session on any node,
 * or NULL after a (re)subscription.  An idle session syncs now; others
 * at their next command.
 */

static void
ngx_mail_imapd_notified(ngx_str_t *message, void *data)
{
    ngx_mail_session_t  *s = data;

    u_char                *p, *last;
    ngx_mail_server_io_t  *io;
    ngx_mail_imapd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    if (ctx->mailbox == NULL) {
        return;
    }

    if (message == &ngx_mail_redis_lost) {
        ctx->mailbox->listening = 0;
        ctx->mailbox->dirty = 1;
        return;
    }

    if (message == NULL) {
        ctx->mailbox->listening = 1;
    }

    /* our own change, reported already */
    if (message && message->len > ctx->origin.len
        && ngx_strncmp(message->data + message->len - ctx->origin.len,
                       ctx->origin.data, ctx->origin.len)
           == 0)
    {
        return;
    }

    /* "EXISTS|EXPUNGE|FETCH <id> <uid>": only this mailbox matters */
    if (message) {
        p = message->data;
        last = p + message->len;

        p = ngx_strlchr(p, last, ' ');
        if (p == NULL) {
            return;
        }

        p++;

        if ((size_t) (last - p) < ctx->mailbox->id.len
            || ngx_strncmp(p, ctx->mailbox->id.data, ctx->mailbox->id.len)
               != 0
            || (p + ctx->mailbox->id.len < last
                && p[ctx->mailbox->id.len] != ' '))
        {
            return;
        }
    }

    ctx->mailbox->dirty = 1;

    io = ngx_mail_server_io(s);

    /*
     * a client that does not read gets no more: the sync waits until
     * its output has gone (ngx_mail_imapd_idle_sync())
     */
    if (!ctx->idling || io->busy || io->closing || io->sending
        || ctx->reply)
    {
        return;
    }

    (void) ngx_mail_imapd_sync(s, ctx, 1);
}


/* an idle session whose output has drained looks at what it missed */

void
ngx_mail_imapd_idle_sync(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    if (ctx->idling && ctx->mailbox && ctx->mailbox->dirty
        && ctx->reply == NULL && !ngx_mail_server_io(s)->busy)
    {
        (void) ngx_mail_imapd_sync(s, ctx, 1);
    }
}


/* RFC 3501 6.4.1: a checkpoint; everything is in Redis already */

ngx_int_t
ngx_mail_imapd_cmd_check(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    return ngx_mail_imapd_complete(s, ctx, 1, "OK CHECK completed");
}


/* RFC 3501 6.4.2: expunge silently, then back to authenticated */

ngx_int_t
ngx_mail_imapd_cmd_close(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    ngx_str_t  args[2];

    if (ctx->mailbox->readonly) {
        return ngx_mail_imapd_cmd_unselect(s, ctx);
    }

    args[0] = s->login;
    args[1] = ctx->mailbox->id;

    if (ngx_mail_imapd_eval(s, ngx_mail_imapd_expunge_lua, args, 2,
                            ngx_mail_imapd_closed)
        != NGX_OK)
    {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    return NGX_OK;
}


static void
ngx_mail_imapd_closed(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    ngx_mail_imapd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)) {
        /* the mailbox stays selected: nothing was expunged */
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    (void) ngx_mail_imapd_cmd_unselect(s, ctx);
    ngx_mail_imapd_done(s);
}


/* RFC 3691 */

ngx_int_t
ngx_mail_imapd_cmd_unselect(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    ngx_mail_imapd_mailbox_free(ctx->mailbox);
    ctx->mailbox = NULL;
    ctx->state = ngx_mail_imapd_authenticated;

    return ngx_mail_imapd_printf(s, ctx, "%V OK %V completed", &ctx->tag,
                                 ctx->verb);
}


/* RFC 3501 6.4.3, RFC 4315 2.1 UID EXPUNGE */

ngx_int_t
ngx_mail_imapd_cmd_expunge(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    uint32_t                 *uids;
    ngx_str_t                *args;
    ngx_uint_t                n;
    ngx_mail_imapd_seqset_t   set;

    if (ctx->mailbox->readonly) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [READ-ONLY] Mailbox is "
                                             "read-only");
        return NGX_ERROR;
    }

    uids = NULL;
    n = 0;

    if (ctx->parser.uid) {
        if (ngx_mail_imapd_seqset_arg(s, ctx, 0, 1, &set) != NGX_OK
            || ngx_mail_imapd_targets(s, ctx, &set, 1, &uids, &n) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (n == 0) {
            return ngx_mail_imapd_complete(s, ctx, 1, "OK %V completed",
                                           ctx->verb);
        }
    }

    args = ngx_mail_imapd_uid_args(s, 2, uids, n);
    if (args == NULL) {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    args[0] = s->login;
    args[1] = ctx->mailbox->id;

    if (ngx_mail_imapd_eval(s, ngx_mail_imapd_expunge_lua, args, n + 2,
                            ngx_mail_imapd_expunged)
        != NGX_OK)
    {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    return NGX_OK;
}


static void
ngx_mail_imapd_expunged(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    ngx_mail_imapd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    ngx_mail_server_io(s)->busy = 0;

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)) {
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    /* the sync reports the expunges, ours and anyone's */
    (void) ngx_mail_imapd_complete(s, ctx, 1, "OK %V completed", ctx->verb);

    if (!ngx_mail_server_io(s)->busy) {
        ngx_mail_imapd_done(s);
    }
}


/*
 * RFC 2177: "+ idling", then changes as they come, until DONE.  The
 * session costs nothing but its connection meanwhile.
 */

ngx_int_t
ngx_mail_imapd_cmd_idle(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    ngx_mail_server_io_t  *io;

    io = ngx_mail_server_io(s);

    /*
     * RFC 2177 3: clients renew IDLE every 29 minutes, so an idling
     * session must not time out before 30
     */
    ctx->timeout = io->timeout;
    io->timeout = ngx_max(io->timeout, NGX_MAIL_IMAPD_IDLE_TIMEOUT);

    ctx->idling = 1;

    (void) ngx_mail_imapd_printf(s, ctx, "+ idling");

    /* thousands of sessions may wait here: each keeps little */
    if (ctx->reply == NULL
        && ngx_mail_server_io_resize(s, NGX_MAIL_IMAPD_IDLE_IN,
                                     NGX_MAIL_IMAPD_IDLE_OUT)
           == NGX_OK)
    {
        (void) ngx_mail_imapd_parser_memory(s, ctx, 0);
    }

    if (ctx->mailbox) {
        (void) ngx_mail_imapd_sync(s, ctx, 1);
    }

    /* what the command allocated went into Redis's buffer already */
    ngx_mail_imapd_pool_free(ctx);

    return NGX_OK;
}


void
ngx_mail_imapd_idle_line(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    ngx_str_t *line)
{
    ngx_flag_t  done;

    ctx->idling = 0;
    ngx_mail_server_io(s)->timeout = ctx->timeout;

    done = (line->len == 4
            && ngx_strncasecmp(line->data, (u_char *) "DONE", 4) == 0);

    /* the line goes with the small buffer: compared first */
    if (s->buffer->end - s->buffer->start < NGX_MAIL_IMAPD_LINE_MAX
        && ngx_mail_server_io_resize(s, NGX_MAIL_IMAPD_LINE_MAX
                                        + NGX_MAIL_IMAPD_INLINE_MAX,
                                     NGX_MAIL_IMAPD_OUT_SIZE)
           != NGX_OK)
    {
        ngx_mail_server_io(s)->quit = 1;
        return;
    }

    if (!done) {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Expected DONE");
        ngx_mail_imapd_error(s, ctx);
        return;
    }

    (void) ngx_mail_imapd_complete(s, ctx, 1, "OK IDLE terminated");
}


/*
 * The n-th argument as a sequence set; "$" (RFC 5182) is not offered.
 * "*" is resolved against the mailbox: the last sequence number or UID.
 */

ngx_int_t
ngx_mail_imapd_seqset_arg(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    ngx_uint_t n, ngx_flag_t uid, ngx_mail_imapd_seqset_t *set)
{
    int                        rc;
    uint32_t                   star;
    ngx_mail_imapd_node_t     *node;
    ngx_mail_imapd_mailbox_t  *mb;

    node = ngx_mail_imapd_arg(ctx, n);

    if (node->type != NGX_MAIL_IMAPD_NODE_ATOM) {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid sequence set");
        return NGX_ERROR;
    }

    if (ctx->ranges == NULL) {
        ctx->ranges = ngx_palloc(s->connection->pool,
                                 NGX_MAIL_IMAPD_SEQ_RANGES_MAX
                                 * sizeof(ngx_mail_imapd_seq_range_t));
        if (ctx->ranges == NULL) {
            (void) ngx_mail_imapd_unavailable(s, ctx);
            return NGX_ERROR;
        }
    }

    ngx_memzero(set, sizeof(ngx_mail_imapd_seqset_t));
    set->ranges = ctx->ranges;
    set->max_ranges = NGX_MAIL_IMAPD_SEQ_RANGES_MAX;

    rc = ngx_mail_imapd_seqset_parse(node->value.data, node->value.len, set);

    if (rc == NGX_MAIL_IMAPD_PARSE_DECLINED) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [LIMIT] Sequence set too "
                                             "complex");
        return NGX_ERROR;
    }

    if (rc != NGX_MAIL_IMAPD_PARSE_OK || set->saved) {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid sequence set");
        return NGX_ERROR;
    }

    mb = ctx->mailbox;

    star = uid ? (mb->nuids ? mb->uids[mb->nuids - 1] : 0)
               : (uint32_t) mb->nuids;

    ngx_mail_imapd_seqset_normalize(set, star);

    if (!uid && set->nranges
        && (set->ranges[set->nranges - 1].last > mb->nuids
            || set->ranges[0].first == 0))
    {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid message sequence "
                                             "number");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * UIDs in ascending order become "1:3,7": a run is written when the next
 * UID does not continue it; uid 0 ends the last run
 */

u_char *
ngx_mail_imapd_range(u_char *p, uint32_t *first, uint32_t *last,
    uint32_t uid, ngx_flag_t *any)
{
    if (uid && *first && uid == *last + 1) {
        *last = uid;
        return p;
    }

    if (*first) {
        p = ngx_sprintf(p, "%s%uD", *any ? "," : "", *first);

        if (*last != *first) {
            p = ngx_sprintf(p, ":%uD", *last);
        }

        *any = 1;
    }

    *first = uid;
    *last = uid;

    return p;
}


/* the UIDs a normalized set names, in order: only messages that exist */

ngx_int_t
ngx_mail_imapd_targets(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    ngx_mail_imapd_seqset_t *set, ngx_flag_t uid, uint32_t **uids,
    ngx_uint_t *n)
{
    uint32_t                  *a, lo, hi;
    ngx_uint_t                 i, k, count, first, last;
    ngx_mail_imapd_mailbox_t  *mb;

    mb = ctx->mailbox;
    count = 0;

    for (k = 0; k < 2; k++) {

        if (k == 1) {
            a = NULL;

            if (ngx_mail_imapd_pool(s, ctx)) {
                a = ngx_palloc(ctx->cmd_pool,
                               ngx_max(count, 1) * sizeof(uint32_t));
            }

            if (a == NULL) {
                (void) ngx_mail_imapd_unavailable(s, ctx);
                return NGX_ERROR;
            }

            *uids = a;
            count = 0;
        }

        for (i = 0; i < set->nranges; i++) {
            lo = set->ranges[i].first;
            hi = set->ranges[i].last;

            if (uid) {
                /* from the first index at or above lo */
                first = ngx_mail_imapd_lower_bound(mb, lo);

                for (last = first; last < mb->nuids && mb->uids[last] <= hi;
                     last++)
                {
                    if (k == 1) {
                        (*uids)[count] = mb->uids[last];
                    }

                    count++;
                }

                continue;
            }

            for (first = lo; first <= hi && first <= mb->nuids; first++) {
                if (k == 1) {
                    (*uids)[count] = mb->uids[first - 1];
                }

                count++;
            }
        }
    }

    *n = count;

    return NGX_OK;
}


/* the stored flags as an IMAP flag list's content; "p" has room */

/*
 * Flags as stored may be longer than a reply line takes (32 keywords of
 * 128 octets): they are cut after the last whole flag that fits
 */

size_t
ngx_mail_imapd_flags_fit(u_char *flags, size_t len)
{
    if (len <= NGX_MAIL_IMAPD_FLAGS_MAX) {
        return len;
    }

    len = NGX_MAIL_IMAPD_FLAGS_MAX;

    while (len && flags[len] != ' ') {
        len--;
    }

    return len;
}


u_char *
ngx_mail_imapd_write_flags(u_char *p, u_char *flags, size_t len,
    ngx_flag_t recent)
{
    u_char  *start;

    start = p;
    len = ngx_mail_imapd_flags_fit(flags, len);

    if (len) {
        p = ngx_cpymem(p, flags, len);
    }

    if (recent) {
        if (p != start) {
            *p++ = ' ';
        }

        p = ngx_cpymem(p, "\\Recent", sizeof("\\Recent") - 1);
    }

    return p;
}


static ngx_int_t
ngx_mail_imapd_uint(redisReply *r, uint64_t *value)
{
    ngx_int_t  n;

    if (r->type == REDIS_REPLY_INTEGER) {
        if (r->integer < 0) {
            return NGX_ERROR;
        }

        *value = (uint64_t) r->integer;
        return NGX_OK;
    }

    if (r->type != REDIS_REPLY_STRING || r->len == 0) {
        return NGX_ERROR;
    }

    n = ngx_atoof((u_char *) r->str, r->len);
    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    *value = (uint64_t) n;

    return NGX_OK;
}
