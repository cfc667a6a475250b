
/*
 * The mailbox list of the authenticated state (RFC 3501 6.3): LIST, LSUB,
 * STATUS, CREATE, DELETE, RENAME, SUBSCRIBE and UNSUBSCRIBE, each one Lua
 * script in Redis, so each is atomic and one round trip.  Names are
 * stored in UTF-8 (docs/redis-keys.md) and travel in modified UTF-7
 * (RFC 3501 5.1.3); "/" is the hierarchy delimiter and INBOX is the one
 * name of any case (RFC 3501 5.1).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_redis.h"
#include "ngx_mail_imapd.h"
#include "ngx_mail_imapd_utf7.h"


#define NGX_MAIL_IMAPD_WIRE_MAX                                               \
    ngx_mail_imapd_utf7_encoded_max(NGX_MAIL_IMAPD_MAILBOX_MAX)


/*
 * The STATUS items (RFC 3501 6.3.10, RFC 7162 3.1.1), in the order of the
 * fields the status script returns
 */
enum {
    ngx_mail_imapd_status_messages = 0,
    ngx_mail_imapd_status_uidnext,
    ngx_mail_imapd_status_uidvalidity,
    ngx_mail_imapd_status_unseen,
    ngx_mail_imapd_status_highestmodseq,
    ngx_mail_imapd_status_recent
};


static ngx_str_t  ngx_mail_imapd_status_names[] = {
    ngx_string("MESSAGES"),
    ngx_string("UIDNEXT"),
    ngx_string("UIDVALIDITY"),
    ngx_string("UNSEEN"),
    ngx_string("HIGHESTMODSEQ"),
    ngx_string("RECENT")
};


/*
 * Every script takes ARGV[1] the user, ARGV[2] the time; create() gives a
 * new mailbox a UIDVALIDITY above every one given before for this user,
 * so a name deleted and created again within a second still gets a new
 * one (RFC 3501 2.3.1.1).  superiors() creates the missing parents of a
 * name (RFC 3501 6.3.3, 6.3.5), so every level of the hierarchy exists.
 */
#define NGX_MAIL_IMAPD_LUA_PRELUDE                                            \
    "local t = '{' .. ARGV[1] .. '}'\n"                                       \
    "local user = 'user:' .. t\n"                                             \
    "local boxes = 'mailboxes:' .. t\n"                                       \
    "local function create(name)\n"                                          \
    "  local id = redis.call('HINCRBY', user, 'mailbox_next', 1)\n"           \
    "  local uv = tonumber(ARGV[2])\n"                                        \
    "  local last = tonumber(redis.call('HGET', user, 'uidvalidity_last')\n"  \
    "                        or '0')\n"                                       \
    "  if uv <= last then uv = last + 1 end\n"                                \
    "  redis.call('HSET', user, 'uidvalidity_last', uv)\n"                    \
    "  redis.call('HSET', boxes, name, id)\n"                                 \
    "  redis.call('HSET', 'mailbox:' .. t .. ':' .. id, 'name', name,\n"      \
    "             'uidvalidity', uv, 'uidnext', 1, 'highestmodseq', 1,\n"     \
    "             'messages', 0, 'unseen', 0, 'subscribed', 0,\n"             \
    "             'special_use', '')\n"                                       \
    "end\n"                                                                   \
    "local function superiors(name)\n"                                       \
    "  local i = 1\n"                                                         \
    "  while true do\n"                                                       \
    "    local j = string.find(name, '/', i, true)\n"                         \
    "    if not j then return end\n"                                          \
    "    local parent = string.sub(name, 1, j - 1)\n"                         \
    "    if redis.call('HEXISTS', boxes, parent) == 0 then\n"                 \
    "      create(parent)\n"                                                  \
    "    end\n"                                                               \
    "    i = j + 1\n"                                                         \
    "  end\n"                                                                 \
    "end\n"


/*
 * { name, special_use, subscribed, has children, ... }: INBOX first, the
 * others in byte order, for a listing that does not change between calls
 */
static char  ngx_mail_imapd_list_lua[] =
    NGX_MAIL_IMAPD_LUA_PRELUDE
    "local all = redis.call('HGETALL', boxes)\n"
    "local names, ids, parents = {}, {}, {}\n"
    "for i = 1, #all, 2 do\n"
    "  names[#names + 1] = all[i]\n"
    "  ids[all[i]] = all[i + 1]\n"
    "  local j = 0\n"
    "  while true do\n"
    "    j = string.find(all[i], '/', j + 1, true)\n"
    "    if not j then break end\n"
    "    parents[string.sub(all[i], 1, j - 1)] = true\n"
    "  end\n"
    "end\n"
    "table.sort(names, function(a, b)\n"
    "  if a == 'INBOX' then return b ~= 'INBOX' end\n"
    "  if b == 'INBOX' then return false end\n"
    "  return a < b\n"
    "end)\n"
    "local out = {}\n"
    "for _, n in ipairs(names) do\n"
    "  local m = redis.call('HMGET', 'mailbox:' .. t .. ':' .. ids[n],\n"
    "                       'special_use', 'subscribed')\n"
    "  out[#out + 1] = n\n"
    "  out[#out + 1] = m[1] or ''\n"
    "  out[#out + 1] = m[2] or '0'\n"
    "  out[#out + 1] = parents[n] and '1' or '0'\n"
    "end\n"
    "return out\n";


/*
 * ARGV[3]: name.  The counters, or "NONEXISTENT"; RECENT counts the
 * messages no session has reported as \Recent yet
 */
static char  ngx_mail_imapd_status_lua[] =
    NGX_MAIL_IMAPD_LUA_PRELUDE
    "local id = redis.call('HGET', boxes, ARGV[3])\n"
    "if not id then return 'NONEXISTENT' end\n"
    "local mb = 'mailbox:' .. t .. ':' .. id\n"
    "local m = redis.call('HMGET', mb, 'messages', 'uidnext', 'uidvalidity',\n"
    "                     'unseen', 'highestmodseq', 'recent_uid')\n"
    "m[6] = tostring(redis.call('ZCOUNT', mb .. ':uids',\n"
    "                           '(' .. (m[6] or '0'), '+inf'))\n"
    "return m\n";


/* ARGV[3]: name.  "OK" or "EXISTS" */
static char  ngx_mail_imapd_create_lua[] =
    NGX_MAIL_IMAPD_LUA_PRELUDE
    "if redis.call('HEXISTS', boxes, ARGV[3]) == 1 then\n"
    "  return 'EXISTS'\n"
    "end\n"
    "superiors(ARGV[3])\n"
    "create(ARGV[3])\n"
    "return 'OK'\n";


/*
 * ARGV[3]: name.  "OK", "NONEXISTENT" or "CHILDREN".  The messages go
 * with the mailbox: quota usage and blob references as for an expunge
 * (docs/redis-keys.md).
 */
static char  ngx_mail_imapd_delete_lua[] =
    NGX_MAIL_IMAPD_LUA_PRELUDE
    MAIL_LUA_BLOB_UNREF
    "local id = redis.call('HGET', boxes, ARGV[3])\n"
    "if not id then return 'NONEXISTENT' end\n"
    "local prefix = ARGV[3] .. '/'\n"
    "for _, n in ipairs(redis.call('HKEYS', boxes)) do\n"
    "  if string.sub(n, 1, #prefix) == prefix then return 'CHILDREN' end\n"
    "end\n"
    "local mb = 'mailbox:' .. t .. ':' .. id\n"
    "for _, uid in ipairs(redis.call('ZRANGE', mb .. ':uids', 0, -1)) do\n"
    "  local msg = 'msg:' .. t .. ':' .. id .. ':' .. uid\n"
    "  local m = redis.call('HMGET', msg, 'size', 'blob')\n"
    "  if m[1] then\n"
    "    redis.call('HINCRBY', user, 'used_bytes', -tonumber(m[1]))\n"
    "  end\n"
    "  blob_unref(m[2])\n"
    "  redis.call('DEL', msg)\n"
    "end\n"
    "redis.call('DEL', mb, mb .. ':uids', mb .. ':expunged',\n"
    "           mb .. ':modseq')\n"
    "redis.call('HDEL', boxes, ARGV[3])\n"
    "return 'OK'\n";


/*
 * ARGV[3], ARGV[4]: old and new name, ARGV[5] the longest name.  "OK",
 * "NONEXISTENT", "EXISTS" or "TOOLONG" (an inferior's new name).
 * The inferiors move with it (RFC 3501 6.3.5); ids, and so UIDs and
 * UIDVALIDITY, stay.  INBOX is special: its messages move to a new
 * mailbox of the new name and INBOX stays, empty, its inferiors where
 * they are.
 */
static char  ngx_mail_imapd_rename_lua[] =
    NGX_MAIL_IMAPD_LUA_PRELUDE
    "local old, new = ARGV[3], ARGV[4]\n"
    "local id = redis.call('HGET', boxes, old)\n"
    "if not id then return 'NONEXISTENT' end\n"
    "if redis.call('HEXISTS', boxes, new) == 1 then return 'EXISTS' end\n"
    "if old == 'INBOX' then\n"
    "  superiors(new)\n"
    "  create(new)\n"
    "  local to = redis.call('HGET', boxes, new)\n"
    "  local src = 'mailbox:' .. t .. ':' .. id\n"
    "  local dst = 'mailbox:' .. t .. ':' .. to\n"
    "  local unseen = 0\n"
    "  for _, uid in ipairs(redis.call('ZRANGE', src .. ':uids', 0, -1)) do\n"
    "    local msg = 'msg:' .. t .. ':' .. id .. ':' .. uid\n"
    "    local m = redis.call('HMGET', msg, 'blob', 'size', 'internaldate',\n"
    "                         'flags')\n"
    "    local n = redis.call('HINCRBY', dst, 'uidnext', 1) - 1\n"
    "    local ms = redis.call('HINCRBY', dst, 'highestmodseq', 1)\n"
    "    redis.call('HSET', 'msg:' .. t .. ':' .. to .. ':' .. n, 'blob',\n"
    "               m[1] or '', 'size', m[2] or '0', 'internaldate',\n"
    "               m[3] or '0', 'flags', m[4] or '', 'modseq', ms)\n"
    "    redis.call('ZADD', dst .. ':uids', n, n)\n"
    "    redis.call('ZADD', dst .. ':modseq', ms, n)\n"
    "    if not string.find(' ' .. (m[4] or '') .. ' ', ' \\\\Seen ', 1,\n"
    "                       true) then unseen = unseen + 1 end\n"
    "    redis.call('DEL', msg)\n"
    "    local gone = redis.call('HINCRBY', src, 'highestmodseq', 1)\n"
    "    redis.call('ZADD', src .. ':expunged', gone, uid)\n"
    "  end\n"
    "  redis.call('HSET', dst, 'messages',\n"
    "             redis.call('ZCARD', src .. ':uids'), 'unseen', unseen,\n"
    "             'keywords', redis.call('HGET', src, 'keywords') or '')\n"
    "  redis.call('DEL', src .. ':uids', src .. ':modseq')\n"
    "  redis.call('HSET', src, 'messages', 0, 'unseen', 0)\n"
    "  redis.call('PUBLISH', 'notify:' .. t, 'EXPUNGE ' .. id)\n"
    "  return 'OK'\n"
    "end\n"
    "local prefix = old .. '/'\n"
    "local moves = { { old, new, id } }\n"
    "local all = redis.call('HGETALL', boxes)\n"
    "for i = 1, #all, 2 do\n"
    "  if string.sub(all[i], 1, #prefix) == prefix then\n"
    "    local to = new .. string.sub(all[i], #old + 1)\n"
    "    if redis.call('HEXISTS', boxes, to) == 1 then return 'EXISTS' end\n"
    "    if #to > tonumber(ARGV[5]) then return 'TOOLONG' end\n"
    "    moves[#moves + 1] = { all[i], to, all[i + 1] }\n"
    "  end\n"
    "end\n"
    "for _, m in ipairs(moves) do redis.call('HDEL', boxes, m[1]) end\n"
    "for _, m in ipairs(moves) do\n"
    "  redis.call('HSET', boxes, m[2], m[3])\n"
    "  redis.call('HSET', 'mailbox:' .. t .. ':' .. m[3], 'name', m[2])\n"
    "end\n"
    "superiors(new)\n"
    "return 'OK'\n";


/* ARGV[3]: name, ARGV[4]: "1" or "0".  "OK" or "NONEXISTENT" */
static char  ngx_mail_imapd_subscribe_lua[] =
    NGX_MAIL_IMAPD_LUA_PRELUDE
    "local id = redis.call('HGET', boxes, ARGV[3])\n"
    "if not id then return 'NONEXISTENT' end\n"
    "redis.call('HSET', 'mailbox:' .. t .. ':' .. id, 'subscribed',\n"
    "           ARGV[4])\n"
    "return 'OK'\n";


static ngx_int_t ngx_mail_imapd_listing(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_flag_t lsub);
static u_char *ngx_mail_imapd_wildcards(u_char *p, ngx_str_t *pattern);
static void ngx_mail_imapd_listed(redisReply *reply, void *data);
static ngx_flag_t ngx_mail_imapd_match(ngx_str_t *pattern, u_char *name,
    size_t len);
static ngx_int_t ngx_mail_imapd_change(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, char *script, ngx_str_t *names,
    ngx_uint_t nnames);
static void ngx_mail_imapd_changed(redisReply *reply, void *data);
static void ngx_mail_imapd_status_done(redisReply *reply, void *data);
static void ngx_mail_imapd_quota_done(redisReply *reply, void *data);
static void ngx_mail_imapd_inbox(ngx_str_t *name);


ngx_int_t
ngx_mail_imapd_cmd_list(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    return ngx_mail_imapd_listing(s, ctx, 0);
}


ngx_int_t
ngx_mail_imapd_cmd_lsub(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    return ngx_mail_imapd_listing(s, ctx, 1);
}


/*
 * RFC 3501 6.3.8: the reference and the pattern (list-mailbox, which may
 * hold "%" and "*") are joined, and matched against the names as they go
 * on the wire, in modified UTF-7.
 */

static ngx_int_t
ngx_mail_imapd_listing(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    ngx_flag_t lsub)
{
    u_char                 *p;
    ngx_str_t               reference, pattern, args[2];
    ngx_mail_imapd_node_t  *node;

    node = ngx_mail_imapd_arg(ctx, 1);

    if (ngx_mail_imapd_arg_string(ctx, 0, &reference) != NGX_OK) {
        goto invalid;
    }

    if (node->type == NGX_MAIL_IMAPD_NODE_ATOM && !node->flag
        && !node->section)
    {
        pattern.data = (u_char *) node->value.data;
        pattern.len = node->value.len;

    } else if (ngx_mail_imapd_arg_string(ctx, 1, &pattern) != NGX_OK) {
        goto invalid;
    }

    if (pattern.len == 0) {
        /* RFC 3501 6.3.8: the delimiter and the root name */
        if (!lsub) {
            (void) ngx_mail_imapd_printf(s, ctx,
                                         "* LIST (\\Noselect) \"/\" \"\"");
        }

        return ngx_mail_imapd_tagged(s, ctx, lsub ? "OK LSUB completed"
                                                  : "OK LIST completed");
    }

    if (ctx->pattern.data == NULL) {
        ctx->pattern.data = ngx_pnalloc(s->connection->pool,
                                        NGX_MAIL_IMAPD_LINE_MAX
                                        + NGX_MAIL_IMAPD_INLINE_MAX);
        if (ctx->pattern.data == NULL) {
            return ngx_mail_imapd_unavailable(s, ctx);
        }
    }

    p = ngx_cpymem(ctx->pattern.data, reference.data, reference.len);
    p = ngx_mail_imapd_wildcards(p, &pattern);
    ctx->pattern.len = p - ctx->pattern.data;

    ngx_mail_imapd_inbox(&ctx->pattern);

    ctx->lsub = lsub;

    args[0] = s->login;
    ngx_str_set(&args[1], "0");

    if (ngx_mail_imapd_eval(s, ngx_mail_imapd_list_lua, args, 2,
                            ngx_mail_imapd_listed)
        != NGX_OK)
    {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    return NGX_OK;

invalid:

    (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
    return NGX_ERROR;
}


/*
 * A run of wildcards matches what its widest one does ("%*" is "*"): one
 * left of each run bounds the matching below by the pattern's other
 * octets, which a name must all hold.
 */

static u_char *
ngx_mail_imapd_wildcards(u_char *p, ngx_str_t *pattern)
{
    u_char  c, *run;
    size_t  i;

    run = NULL;

    for (i = 0; i < pattern->len; i++) {
        c = pattern->data[i];

        if (c != '*' && c != '%') {
            run = NULL;
            *p++ = c;
            continue;
        }

        if (run == NULL) {
            run = p;
            *p++ = c;

        } else if (c == '*') {
            *run = '*';
        }
    }

    return p;
}


static void
ngx_mail_imapd_listed(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    u_char                 *p, wire[NGX_MAIL_IMAPD_WIRE_MAX];
    size_t                  i, len, size;
    ngx_buf_t              *b;
    redisReply            **e;
    ngx_mail_imapd_ctx_t   *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)
        || reply->type != REDIS_REPLY_ARRAY || reply->elements % 4)
    {
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    e = reply->element;

    for (i = 0; i < reply->elements; i++) {
        if (e[i]->type != REDIS_REPLY_STRING) {
            (void) ngx_mail_imapd_unavailable(s, ctx);
            ngx_mail_imapd_done(s);
            return;
        }
    }

    /* each line at most: * LSUB (\HasNoChildren \Archive) "/" "name" */
    size = ctx->tag.len + sizeof(" OK LSUB completed" CRLF);

    for (i = 0; i < reply->elements; i += 4) {
        size += sizeof("* LSUB (\\HasNoChildren ) \"/\" \"\"" CRLF)
                + e[i + 1]->len
                + 2 * ngx_mail_imapd_utf7_encoded_max(e[i]->len);
    }

    ctx->reply_pool = ngx_create_pool(ngx_max(size + 256, 1024),
                                      s->connection->log);
    if (ctx->reply_pool == NULL) {
        goto failed;
    }

    b = ngx_create_temp_buf(ctx->reply_pool, size);
    if (b == NULL) {
        ngx_destroy_pool(ctx->reply_pool);
        ctx->reply_pool = NULL;
        goto failed;
    }

    for (i = 0; i < reply->elements; i += 4) {

        if (ngx_mail_imapd_utf7_encode((u_char *) e[i]->str, e[i]->len, wire,
                                       sizeof(wire), &len)
            != NGX_MAIL_IMAPD_PARSE_OK)
        {
            ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                          "mailbox name \"%*s\" of \"%V\" cannot be listed",
                          e[i]->len, e[i]->str, &s->login);
            continue;
        }

        if (!ngx_mail_imapd_match(&ctx->pattern, wire, len)) {
            continue;
        }

        if (ctx->lsub) {
            if (e[i + 2]->len != 1 || e[i + 2]->str[0] != '1') {
                continue;
            }

            b->last = ngx_cpymem(b->last, "* LSUB () \"/\" ",
                                 sizeof("* LSUB () \"/\" ") - 1);

        } else {
            p = b->last;
            p = ngx_cpymem(p, "* LIST (", sizeof("* LIST (") - 1);

            /* RFC 3348 CHILDREN, RFC 6154 special use */
            if (e[i + 3]->str[0] == '1') {
                p = ngx_cpymem(p, "\\HasChildren", sizeof("\\HasChildren") - 1);

            } else {
                p = ngx_cpymem(p, "\\HasNoChildren",
                               sizeof("\\HasNoChildren") - 1);
            }

            if (e[i + 1]->len) {
                *p++ = ' ';
                p = ngx_cpymem(p, e[i + 1]->str, e[i + 1]->len);
            }

            b->last = ngx_cpymem(p, ") \"/\" ", sizeof(") \"/\" ") - 1);
        }

        b->last = ngx_mail_imapd_quote(b->last, wire, len);
        *b->last++ = CR;
        *b->last++ = LF;
    }

    b->last = ngx_sprintf(b->last, "%V OK %s completed" CRLF, &ctx->tag,
                          ctx->lsub ? "LSUB" : "LIST");

    ctx->reply = b;
    ngx_mail_imapd_done(s);
    return;

failed:

    (void) ngx_mail_imapd_unavailable(s, ctx);
    ngx_mail_imapd_done(s);
}


/*
 * RFC 3501 6.3.8: "*" matches anything, "%" anything but the delimiter.
 * One row of a dynamic programme: time pattern × name (both bounded:
 * see ngx_mail_imapd_wildcards()), no backtracking blow-up whatever the
 * client sends.
 */

static ngx_flag_t
ngx_mail_imapd_match(ngx_str_t *pattern, u_char *name, size_t len)
{
    u_char      c, row[NGX_MAIL_IMAPD_WIRE_MAX + 1];
    size_t      i, j;
    ngx_flag_t  diag, prev;

    /* every octet but a wildcard stands for one of the name */
    for (i = 0, j = 0; i < pattern->len; i++) {
        if (pattern->data[i] != '*' && pattern->data[i] != '%') {
            j++;
        }
    }

    if (j > len) {
        return 0;
    }

    /* row[j]: the pattern so far matches the first j octets of the name */
    row[0] = 1;

    for (j = 1; j <= len; j++) {
        row[j] = 0;
    }

    for (i = 0; i < pattern->len; i++) {
        c = pattern->data[i];

        if (c == '*' || c == '%') {
            for (j = 1; j <= len; j++) {
                if (!row[j] && row[j - 1] && (c == '*' || name[j - 1] != '/'))
                {
                    row[j] = 1;
                }
            }

            continue;
        }

        diag = row[0];
        row[0] = 0;

        for (j = 1; j <= len; j++) {
            prev = row[j];
            row[j] = diag && name[j - 1] == c;
            diag = prev;
        }
    }

    return row[len];
}


/* RFC 3501 6.3.10 */

ngx_int_t
ngx_mail_imapd_cmd_status(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    u_char                    buf[NGX_MAIL_IMAPD_MAILBOX_MAX];
    size_t                    len;
    uint32_t                  i;
    ngx_str_t                 name, args[3];
    ngx_uint_t                k;
    ngx_mail_imapd_node_t    *list, *item;
    ngx_mail_imapd_parser_t  *ps;

    ps = &ctx->parser;

    if (ngx_mail_imapd_mailbox_arg(s, ctx, 0, &name, buf, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    list = ngx_mail_imapd_arg(ctx, 1);

    if (list->type != NGX_MAIL_IMAPD_NODE_LIST || list->count == 0
        || list->count > NGX_MAIL_IMAPD_STATUS_MAX)
    {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
        return NGX_ERROR;
    }

    ctx->nstatus = 0;

    for (i = list->child; i != NGX_MAIL_IMAPD_NODE_NONE; i = item->next) {
        item = &ps->nodes[i];

        for (k = 0; k < sizeof(ngx_mail_imapd_status_names)
                        / sizeof(ngx_str_t); k++)
        {
            if (item->type == NGX_MAIL_IMAPD_NODE_ATOM
                && ngx_mail_imapd_atom_eq(&item->value,
                       (char *) ngx_mail_imapd_status_names[k].data))
            {
                break;
            }
        }

        if (k == sizeof(ngx_mail_imapd_status_names) / sizeof(ngx_str_t)) {
            (void) ngx_mail_imapd_tagged(s, ctx, "BAD Unknown STATUS item");
            return NGX_ERROR;
        }

        ctx->status[ctx->nstatus++] = k;
    }

    /* the name goes back as the client will recognise it */
    if (ctx->wire_name.data == NULL) {
        ctx->wire_name.data = ngx_pnalloc(s->connection->pool,
                                          NGX_MAIL_IMAPD_WIRE_MAX);
        if (ctx->wire_name.data == NULL) {
            return ngx_mail_imapd_unavailable(s, ctx);
        }
    }

    if (ngx_mail_imapd_utf7_encode(name.data, name.len, ctx->wire_name.data,
                                   NGX_MAIL_IMAPD_WIRE_MAX, &len)
        != NGX_MAIL_IMAPD_PARSE_OK)
    {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    ctx->wire_name.len = len;

    args[0] = s->login;
    ngx_str_set(&args[1], "0");
    args[2] = name;

    if (ngx_mail_imapd_eval(s, ngx_mail_imapd_status_lua, args, 3,
                            ngx_mail_imapd_status_done)
        != NGX_OK)
    {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    return NGX_OK;
}


static void
ngx_mail_imapd_status_done(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    u_char                 *p, line[2 * NGX_MAIL_IMAPD_WIRE_MAX + 2];
    ngx_uint_t              i, k;
    redisReply             *e;
    ngx_mail_imapd_ctx_t   *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)) {
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 6) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [NONEXISTENT] Mailbox does "
                                             "not exist");
        ngx_mail_imapd_done(s);
        return;
    }

    (void) ngx_mail_imapd_write(s, ctx, (u_char *) "* STATUS ",
                                sizeof("* STATUS ") - 1);

    p = ngx_mail_imapd_quote(line, ctx->wire_name.data, ctx->wire_name.len);
    (void) ngx_mail_imapd_write(s, ctx, line, p - line);

    /* at most 8 items of 13 + 1 + 20 octets: far less than the line */
    p = ngx_cpymem(line, " (", 2);

    for (i = 0; i < ctx->nstatus; i++) {
        k = ctx->status[i];

        if (i) {
            *p++ = ' ';
        }

        p = ngx_sprintf(p, "%V ", &ngx_mail_imapd_status_names[k]);

        e = reply->element[k];

        if (e->type == REDIS_REPLY_STRING && e->len && e->len < 21) {
            p = ngx_cpymem(p, e->str, e->len);

        } else {
            *p++ = '0';
        }
    }

    *p++ = ')';
    (void) ngx_mail_imapd_printf(s, ctx, "%*s", p - line, line);
    (void) ngx_mail_imapd_tagged(s, ctx, "OK STATUS completed");

    ngx_mail_imapd_done(s);
}


/* RFC 3501 6.3.3 */

ngx_int_t
ngx_mail_imapd_cmd_create(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    u_char     buf[NGX_MAIL_IMAPD_MAILBOX_MAX];
    ngx_str_t  name;

    if (ngx_mail_imapd_mailbox_arg(s, ctx, 0, &name, buf, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (name.len == 5 && ngx_strncmp(name.data, "INBOX", 5) == 0) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [ALREADYEXISTS] Mailbox "
                                             "already exists");
        return NGX_OK;
    }

    return ngx_mail_imapd_change(s, ctx, ngx_mail_imapd_create_lua, &name, 1);
}


/*
 * RFC 3501 6.3.4.  A mailbox with inferiors is refused rather than kept
 * as \Noselect: every level of the hierarchy is a real mailbox here.
 */

ngx_int_t
ngx_mail_imapd_cmd_delete(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    u_char     buf[NGX_MAIL_IMAPD_MAILBOX_MAX];
    ngx_str_t  name;

    if (ngx_mail_imapd_mailbox_arg(s, ctx, 0, &name, buf, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    if (name.len == 5 && ngx_strncmp(name.data, "INBOX", 5) == 0) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [CANNOT] INBOX cannot be "
                                             "deleted");
        return NGX_OK;
    }

    return ngx_mail_imapd_change(s, ctx, ngx_mail_imapd_delete_lua, &name, 1);
}


/*
 * RFC 3501 6.3.5.  Renaming INBOX moves its messages to a new mailbox and
 * leaves INBOX empty; that needs the message store of SELECT and is
 * refused until then.
 */

ngx_int_t
ngx_mail_imapd_cmd_rename(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    u_char     buf[2][NGX_MAIL_IMAPD_MAILBOX_MAX];
    ngx_str_t  names[3];

    if (ngx_mail_imapd_mailbox_arg(s, ctx, 0, &names[0], buf[0], 0)
        != NGX_OK
        || ngx_mail_imapd_mailbox_arg(s, ctx, 1, &names[1], buf[1], 1)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (names[1].len > names[0].len
        && ngx_strncmp(names[1].data, names[0].data, names[0].len) == 0
        && names[1].data[names[0].len] == '/')
    {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [CANNOT] A mailbox cannot "
                                             "be moved under itself");
        return NGX_OK;
    }

    ngx_str_set(&names[2], NGX_MAIL_IMAPD_MAILBOX_MAX_STR);

    return ngx_mail_imapd_change(s, ctx, ngx_mail_imapd_rename_lua, names, 3);
}


/* RFC 3501 6.3.6, 6.3.7: subscriptions are kept on existing mailboxes */

ngx_int_t
ngx_mail_imapd_cmd_subscribe(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    u_char     buf[NGX_MAIL_IMAPD_MAILBOX_MAX];
    ngx_str_t  names[2];

    if (ngx_mail_imapd_mailbox_arg(s, ctx, 0, &names[0], buf, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_set(&names[1], "1");

    return ngx_mail_imapd_change(s, ctx, ngx_mail_imapd_subscribe_lua, names,
                                 2);
}


ngx_int_t
ngx_mail_imapd_cmd_unsubscribe(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx)
{
    u_char     buf[NGX_MAIL_IMAPD_MAILBOX_MAX];
    ngx_str_t  names[2];

    if (ngx_mail_imapd_mailbox_arg(s, ctx, 0, &names[0], buf, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_set(&names[1], "0");

    return ngx_mail_imapd_change(s, ctx, ngx_mail_imapd_subscribe_lua, names,
                                 2);
}


static ngx_int_t
ngx_mail_imapd_change(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    char *script, ngx_str_t *names, ngx_uint_t nnames)
{
    u_char      now[NGX_TIME_T_LEN];
    ngx_str_t   args[5];
    ngx_uint_t  i;

    args[0] = s->login;
    args[1].data = now;
    args[1].len = ngx_sprintf(now, "%T", ngx_time()) - now;

    for (i = 0; i < nnames; i++) {
        args[2 + i] = names[i];
    }

    if (ngx_mail_imapd_eval(s, script, args, 2 + nnames,
                            ngx_mail_imapd_changed)
        != NGX_OK)
    {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    return NGX_OK;
}


static void
ngx_mail_imapd_changed(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    ngx_str_t              result;
    ngx_mail_imapd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)
        || reply->type != REDIS_REPLY_STRING)
    {
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    result.data = (u_char *) reply->str;
    result.len = reply->len;

    if (result.len == 2 && ngx_strncmp(result.data, "OK", 2) == 0) {
        (void) ngx_mail_imapd_printf(s, ctx, "%V OK %V completed", &ctx->tag,
                                      ctx->verb);

    } else if (result.len == 6 && ngx_strncmp(result.data, "EXISTS", 6) == 0)
    {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [ALREADYEXISTS] Mailbox "
                                             "already exists");

    } else if (result.len == 7
               && ngx_strncmp(result.data, "TOOLONG", 7) == 0)
    {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [LIMIT] Mailbox name too "
                                             "long");

    } else if (result.len == 8
               && ngx_strncmp(result.data, "CHILDREN", 8) == 0)
    {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [INUSE] Mailbox has "
                                             "inferior hierarchical names");

    } else {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [NONEXISTENT] Mailbox does "
                                             "not exist");
    }

    ngx_mail_imapd_done(s);
}


/*
 * The n-th argument as a mailbox name in UTF-8, in buf.  For a name to be
 * created, also what makes a good name: no empty level, no wildcard, and
 * a trailing "/" dropped (RFC 3501 6.3.3).
 */

ngx_int_t
ngx_mail_imapd_mailbox_arg(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    ngx_uint_t n, ngx_str_t *name, u_char *buf, ngx_flag_t create)
{
    int        rc;
    size_t     len, i;
    ngx_str_t  wire;

    if (ngx_mail_imapd_arg_string(ctx, n, &wire) != NGX_OK) {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
        return NGX_ERROR;
    }

    rc = ngx_mail_imapd_utf7_decode(wire.data, wire.len, buf,
                                    NGX_MAIL_IMAPD_MAILBOX_MAX, &len);

    if (rc == NGX_MAIL_IMAPD_PARSE_DECLINED) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [LIMIT] Mailbox name too "
                                             "long");
        return NGX_ERROR;
    }

    if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [CANNOT] Invalid mailbox "
                                             "name");
        return NGX_ERROR;
    }

    name->data = buf;
    name->len = len;

    if (create && len && buf[len - 1] == '/') {
        name->len--;
    }

    ngx_mail_imapd_inbox(name);

    if (!create) {
        return NGX_OK;
    }

    for (i = 0; i < name->len; i++) {
        if (buf[i] == '*' || buf[i] == '%'
            || (buf[i] == '/' && (i == 0 || buf[i - 1] == '/')))
        {
            break;
        }
    }

    if (name->len == 0 || i < name->len) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [CANNOT] Invalid mailbox "
                                             "name");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* RFC 3501 5.1: "INBOX" in any case, and so its inferiors */

static void
ngx_mail_imapd_inbox(ngx_str_t *name)
{
    if (name->len >= 5
        && ngx_strncasecmp(name->data, (u_char *) "INBOX", 5) == 0
        && (name->len == 5 || name->data[5] == '/'))
    {
        ngx_memcpy(name->data, "INBOX", 5);
    }
}


/* RFC 3501 9: a quoted string; mUTF-7 leaves only these two to escape */

u_char *
ngx_mail_imapd_quote(u_char *p, u_char *src, size_t len)
{
    size_t  i;

    *p++ = '"';

    for (i = 0; i < len; i++) {
        if (src[i] == '"' || src[i] == '\\') {
            *p++ = '\\';
        }

        *p++ = src[i];
    }

    *p++ = '"';

    return p;
}


ngx_int_t
ngx_mail_imapd_eval(ngx_mail_session_t *s, char *script, ngx_str_t *args,
    ngx_uint_t nargs, ngx_mail_redis_handler_pt handler)
{
    ngx_uint_t             i;
    ngx_pool_t            *pool;
    ngx_mail_redis_cmd_t   cmd;
    ngx_mail_server_io_t  *io;
    ngx_mail_imapd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    pool = ngx_mail_imapd_pool(s, ctx);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    if (ngx_mail_redis_cmd_init_n(&cmd, "EVAL", nargs + 3, pool) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_mail_redis_cmd_cstr(&cmd, script);
    ngx_mail_redis_cmd_cstr(&cmd, "0");

    for (i = 0; i < nargs; i++) {
        ngx_mail_redis_cmd_arg(&cmd, args[i].data, args[i].len);
    }

    io = ngx_mail_server_io(s);
    io->busy = 1;

    if (ngx_mail_redis_send(&cmd, 1, handler, s, s->connection->log) == NULL)
    {
        io->busy = 0;
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* RFC 5530: Redis cannot answer now */

ngx_int_t
ngx_mail_imapd_unavailable(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    return ngx_mail_imapd_tagged(s, ctx, "NO [UNAVAILABLE] Temporary "
                                         "failure, try again later");
}


/*
 * RFC 9208 QUOTA: one quota root, "", holding all of the user's
 * mailboxes, with the STORAGE resource (in units of 1024 octets) from
 * the user's quota_bytes and used_bytes.  No root when the user has no
 * quota.  SETQUOTA is the administrator's (mailctl user quota).
 */

static char  ngx_mail_imapd_quota_lua[] =
    NGX_MAIL_IMAPD_LUA_PRELUDE
    "local u = redis.call('HMGET', user, 'quota_bytes', 'used_bytes')\n"
    "local exists = 1\n"
    "if ARGV[3] ~= '' and redis.call('HEXISTS', boxes, ARGV[3]) == 0 then\n"
    "  exists = 0\n"
    "end\n"
    "return { u[1] or '0', u[2] or '0', exists }\n";


ngx_int_t
ngx_mail_imapd_cmd_getquotaroot(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx)
{
    u_char     buf[NGX_MAIL_IMAPD_MAILBOX_MAX];
    ngx_str_t  name, args[3];

    if (ngx_mail_imapd_mailbox_arg(s, ctx, 0, &name, buf, 0) != NGX_OK
        || ngx_mail_imapd_arg_string(ctx, 0, &ctx->wire_name) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (name.len == 0) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [NONEXISTENT] Mailbox does "
                                             "not exist");
        return NGX_ERROR;
    }

    args[0] = s->login;
    ngx_str_set(&args[1], "0");
    args[2] = name;

    ctx->lsub = 1;      /* GETQUOTAROOT: the QUOTAROOT line first */

    if (ngx_mail_imapd_eval(s, ngx_mail_imapd_quota_lua, args, 3,
                            ngx_mail_imapd_quota_done)
        != NGX_OK)
    {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    return NGX_OK;
}


ngx_int_t
ngx_mail_imapd_cmd_getquota(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    ngx_str_t  root, args[3];

    if (ngx_mail_imapd_arg_string(ctx, 0, &root) != NGX_OK) {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
        return NGX_ERROR;
    }

    if (root.len != 0) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [NONEXISTENT] No such "
                                             "quota root");
        return NGX_ERROR;
    }

    args[0] = s->login;
    ngx_str_set(&args[1], "0");
    ngx_str_null(&args[2]);

    ctx->lsub = 0;

    if (ngx_mail_imapd_eval(s, ngx_mail_imapd_quota_lua, args, 3,
                            ngx_mail_imapd_quota_done)
        != NGX_OK)
    {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    return NGX_OK;
}


ngx_int_t
ngx_mail_imapd_cmd_setquota(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    (void) ngx_mail_imapd_tagged(s, ctx, "NO [NOPERM] Quotas are set by "
                                         "the administrator");
    return NGX_ERROR;
}


static void
ngx_mail_imapd_quota_done(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    u_char                 line[2 * NGX_MAIL_IMAPD_WIRE_MAX + 64], *p;
    off_t                  quota, used;
    ngx_mail_imapd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)
        || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    quota = ngx_atoof((u_char *) reply->element[0]->str,
                      reply->element[0]->len);
    used = ngx_atoof((u_char *) reply->element[1]->str,
                     reply->element[1]->len);

    if (quota == NGX_ERROR) {
        quota = 0;
    }

    if (used == NGX_ERROR || used < 0) {
        used = 0;
    }

    if (ctx->lsub) {
        if (reply->element[2]->type != REDIS_REPLY_INTEGER
            || reply->element[2]->integer == 0)
        {
            (void) ngx_mail_imapd_tagged(s, ctx, "NO [NONEXISTENT] Mailbox "
                                                 "does not exist");
            ngx_mail_imapd_done(s);
            return;
        }

        p = ngx_cpymem(line, "* QUOTAROOT ", sizeof("* QUOTAROOT ") - 1);
        p = ngx_mail_imapd_quote(p, ctx->wire_name.data,
                                 ngx_min(ctx->wire_name.len,
                                         NGX_MAIL_IMAPD_WIRE_MAX));
        if (quota > 0) {
            p = ngx_cpymem(p, " \"\"", 3);
        }

        (void) ngx_mail_imapd_printf(s, ctx, "%*s", p - line, line);
    }

    if (quota > 0) {
        (void) ngx_mail_imapd_printf(s, ctx, "* QUOTA \"\" (STORAGE %O %O)",
                                     (used + 1023) / 1024, quota / 1024);

    } else if (!ctx->lsub) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [NONEXISTENT] No such "
                                             "quota root");
        ngx_mail_imapd_done(s);
        return;
    }

    (void) ngx_mail_imapd_printf(s, ctx, "%V OK %V completed", &ctx->tag,
                                 ctx->verb);
    ngx_mail_imapd_done(s);
}
