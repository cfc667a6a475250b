
/*
 * Commands that change messages of the selected mailbox: STORE (RFC 3501
 * 6.4.6, with RFC 7162 UNCHANGEDSINCE), COPY (6.4.7, RFC 4315 COPYUID)
 * and MOVE (RFC 6851), each one Lua script over all the messages named,
 * so each is atomic and one round trip whatever the set.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_redis.h"
#include "ngx_mail_imapd.h"


/* flags one STORE may name */
#define NGX_MAIL_IMAPD_STORE_FLAGS_MAX  32
/* a keyword, as Dovecot allows */
#define NGX_MAIL_IMAPD_KEYWORD_MAX      128
/* the longest COPYUID sets that go in a reply line */
#define NGX_MAIL_IMAPD_UIDSET_MAX       400


/*
 * ARGV: user, id, mode ("+", "-", "="), unchangedsince (0: none),
 * origin (ends the notification), nflags, flag..., uid...  Flags are
 * compared case-insensitively
 * (RFC 3501 2.3.2).  Returns { { uid, flags, modseq, ... },
 * { uid not stored (UNCHANGEDSINCE)... }, highestmodseq before,
 * highestmodseq after }.
 */
static char  ngx_mail_imapd_store_lua[] =
    "local t = '{' .. ARGV[1] .. '}'\n"
    "local id = ARGV[2]\n"
    "local mb = 'mailbox:' .. t .. ':' .. id\n"
    "local mode, since = ARGV[3], tonumber(ARGV[4])\n"
    "local origin = ARGV[5]\n"
    "local nflags = tonumber(ARGV[6])\n"
    "local before = redis.call('HGET', mb, 'highestmodseq')\n"
    "local kw = redis.call('HGET', mb, 'keywords') or ''\n"
    "local known = {}\n"
    "for k in string.gmatch(kw, '%S+') do known[string.lower(k)] = true end\n"
    "local kwnew = false\n"
    "local want = {}\n"
    "for i = 7, 6 + nflags do\n"
    "  want[#want + 1] = ARGV[i]\n"
    "  local c = string.sub(ARGV[i], 1, 1)\n"
    "  if c ~= '\\\\' and not known[string.lower(ARGV[i])] then\n"
    "    known[string.lower(ARGV[i])] = true\n"
    "    kw = kw == '' and ARGV[i] or kw .. ' ' .. ARGV[i]\n"
    "    kwnew = true\n"
    "  end\n"
    "end\n"
    "if kwnew and mode ~= '-' then redis.call('HSET', mb, 'keywords', kw) end\n"
    "local out, failed = {}, {}\n"
    "local changed = false\n"
    "for i = 7 + nflags, #ARGV do\n"
    "  local uid = ARGV[i]\n"
    "  local msg = 'msg:' .. t .. ':' .. id .. ':' .. uid\n"
    "  local m = redis.call('HMGET', msg, 'flags', 'modseq')\n"
    "  if m[1] then\n"
    "    if since > 0 and tonumber(m[2]) > since then\n"
    "      failed[#failed + 1] = uid\n"
    "    else\n"
    "      local have, list = {}, {}\n"
    "      for f in string.gmatch(m[1], '%S+') do\n"
    "        have[string.lower(f)] = f\n"
    "        list[#list + 1] = f\n"
    "      end\n"
    "      local new = {}\n"
    "      if mode == '=' then\n"
    "        new = want\n"
    "      elseif mode == '+' then\n"
    "        for _, f in ipairs(list) do new[#new + 1] = f end\n"
    "        for _, f in ipairs(want) do\n"
    "          if not have[string.lower(f)] then\n"
    "            have[string.lower(f)] = f\n"
    "            new[#new + 1] = f\n"
    "          end\n"
    "        end\n"
    "      else\n"
    "        local drop = {}\n"
    "        for _, f in ipairs(want) do drop[string.lower(f)] = true end\n"
    "        for _, f in ipairs(list) do\n"
    "          if not drop[string.lower(f)] then new[#new + 1] = f end\n"
    "        end\n"
    "      end\n"
    "      local flags = table.concat(new, ' ')\n"
    "      local modseq = m[2]\n"
    "      if flags ~= m[1] then\n"
    "        local was = have['\\\\seen'] ~= nil\n"
    "        local now = string.find(' ' .. string.lower(flags) .. ' ',\n"
    "                                ' \\\\seen ', 1, true) ~= nil\n"
    "        if was and not now then\n"
    "          redis.call('HINCRBY', mb, 'unseen', 1)\n"
    "        elseif now and not was then\n"
    "          redis.call('HINCRBY', mb, 'unseen', -1)\n"
    "        end\n"
    "        modseq = redis.call('HINCRBY', mb, 'highestmodseq', 1)\n"
    "        redis.call('HSET', msg, 'flags', flags, 'modseq', modseq)\n"
    "        redis.call('ZADD', mb .. ':modseq', modseq, uid)\n"
    "        changed = true\n"
    "      end\n"
    "      out[#out + 1] = uid\n"
    "      out[#out + 1] = flags\n"
    "      out[#out + 1] = tostring(modseq)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if changed then\n"
    "  redis.call('PUBLISH', 'notify:' .. t, 'FETCH ' .. id .. origin)\n"
    "end\n"
    "return { out, failed, before,\n"
    "         redis.call('HGET', mb, 'highestmodseq') }\n";


/*
 * ARGV: user, source id, destination name, move (1/0), uid...  Quota as
 * for delivery: the copies count in full, the blob is shared.  Returns
 * { uidvalidity, { source uid... }, { new uid... }, class, { blob... } },
 * "TRYCREATE" or "OVERQUOTA".  Class and blobs are what the spam filter
 * learns from the command (ngx_mail_imapd_train.c): "spam" for a copy or
 * move into the \Junk mailbox, "ham" for a move out of it into any but
 * \Trash, else empty; the blobs of the first NGX_MAIL_IMAPD_TRAIN_MAX
 * messages copied, when there is a class.
 */
static char  ngx_mail_imapd_copy_lua[] =
    NGX_MAIL_IMAPD_KEYWORDS_LUA
    "local t = '{' .. ARGV[1] .. '}'\n"
    "local src = ARGV[2]\n"
    "local dst = redis.call('HGET', 'mailboxes:' .. t, ARGV[3])\n"
    "if not dst then return 'TRYCREATE' end\n"
    "local move = ARGV[4] == '1'\n"
    "local user = 'user:' .. t\n"
    "local smb = 'mailbox:' .. t .. ':' .. src\n"
    "local dmb = 'mailbox:' .. t .. ':' .. dst\n"
    "local msgs, total = {}, 0\n"
    "for i = 5, #ARGV do\n"
    "  local m = redis.call('HMGET', 'msg:' .. t .. ':' .. src .. ':'\n"
    "                       .. ARGV[i], 'blob', 'size', 'internaldate',\n"
    "                       'flags')\n"
    "  if m[1] then\n"
    "    msgs[#msgs + 1] = { ARGV[i], m }\n"
    "    total = total + tonumber(m[2])\n"
    "  end\n"
    "end\n"
    "if not move then\n"
    "  local u = redis.call('HMGET', user, 'quota_bytes', 'used_bytes')\n"
    "  local quota = tonumber(u[1] or '0')\n"
    "  if quota > 0 and tonumber(u[2] or '0') + total > quota then\n"
    "    return 'OVERQUOTA'\n"
    "  end\n"
    "  redis.call('HINCRBY', user, 'used_bytes', total)\n"
    "end\n"
    "local kw = redis.call('HGET', dmb, 'keywords') or ''\n"
    "local from, to = {}, {}\n"
    "for _, e in ipairs(msgs) do\n"
    "  local uid, m = e[1], e[2]\n"
    "  local new = redis.call('HINCRBY', dmb, 'uidnext', 1) - 1\n"
    "  local modseq = redis.call('HINCRBY', dmb, 'highestmodseq', 1)\n"
    "  redis.call('HSET', 'msg:' .. t .. ':' .. dst .. ':' .. new,\n"
    "             'blob', m[1], 'size', m[2], 'internaldate', m[3],\n"
    "             'flags', m[4] or '', 'modseq', modseq)\n"
    "  redis.call('ZADD', dmb .. ':uids', new, new)\n"
    "  redis.call('ZADD', dmb .. ':modseq', modseq, new)\n"
    "  redis.call('HINCRBY', dmb, 'messages', 1)\n"
    "  local f = ' ' .. (m[4] or '') .. ' '\n"
    "  local seen = string.find(f, ' \\\\Seen ', 1, true) ~= nil\n"
    "  if not seen then redis.call('HINCRBY', dmb, 'unseen', 1) end\n"
    "  kw = keywords_add(dmb, kw, m[4] or '')\n"
    "  if move then\n"
    "    redis.call('DEL', 'msg:' .. t .. ':' .. src .. ':' .. uid)\n"
    "    redis.call('ZREM', smb .. ':uids', uid)\n"
    "    redis.call('ZREM', smb .. ':modseq', uid)\n"
    "    redis.call('HINCRBY', smb, 'messages', -1)\n"
    "    if not seen then redis.call('HINCRBY', smb, 'unseen', -1) end\n"
    "    local sm = redis.call('HINCRBY', smb, 'highestmodseq', 1)\n"
    "    redis.call('ZADD', smb .. ':expunged', sm, uid)\n"
    "  else\n"
    "    redis.call('INCR', 'blob:{' .. m[1] .. '}:refs')\n"
    "  end\n"
    "  from[#from + 1] = uid\n"
    "  to[#to + 1] = new\n"
    "end\n"
    "if #to > 0 then\n"
    "  redis.call('PUBLISH', 'notify:' .. t, 'EXISTS ' .. dst)\n"
    "  if move then\n"
    "    redis.call('PUBLISH', 'notify:' .. t, 'EXPUNGE ' .. src)\n"
    "  end\n"
    "end\n"
    "local class, blobs = '', {}\n"
    "local su = redis.call('HGET', smb, 'special_use') or ''\n"
    "local du = redis.call('HGET', dmb, 'special_use') or ''\n"
    "if du == '\\\\Junk' then class = 'spam'\n"
    "elseif move and su == '\\\\Junk' and du ~= '\\\\Trash' then\n"
    "  class = 'ham'\n"
    "end\n"
    "if class ~= '' then\n"
    "  for i = 1, math.min(#msgs, " NGX_MAIL_IMAPD_TRAIN_MAX_STR ") do\n"
    "    blobs[i] = msgs[i][2][1]\n"
    "  end\n"
    "end\n"
    "return { redis.call('HGET', dmb, 'uidvalidity'), from, to, class,\n"
    "         blobs }\n";


static ngx_int_t ngx_mail_imapd_store_flags(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, uint32_t first, ngx_str_t *flags,
    ngx_uint_t *nflags);
static void ngx_mail_imapd_stored(redisReply *reply, void *data);
static ngx_int_t ngx_mail_imapd_copy_move(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_flag_t move);
static void ngx_mail_imapd_copied(redisReply *reply, void *data);
static u_char *ngx_mail_imapd_uidset(u_char *p, u_char *last,
    redisReply *list, ngx_mail_imapd_mailbox_t *seqs);


static ngx_str_t  ngx_mail_imapd_system_flags[] = {
    ngx_string("\\Answered"),
    ngx_string("\\Flagged"),
    ngx_string("\\Deleted"),
    ngx_string("\\Seen"),
    ngx_string("\\Draft"),
    ngx_null_string
};


/*
 * A system flag in its canonical case, for STORE and APPEND; \Recent and
 * unknown ones are refused (RFC 3501 2.3.2: \Recent is the server's)
 */

ngx_int_t
ngx_mail_imapd_flag_canonical(ngx_str_t *flag)
{
    ngx_str_t  *sf;

    for (sf = ngx_mail_imapd_system_flags; sf->len; sf++) {
        if (sf->len == flag->len
            && ngx_strncasecmp(sf->data, flag->data, sf->len) == 0)
        {
            *flag = *sf;
            return NGX_OK;
        }
    }

    return NGX_ERROR;
}


/*
 * STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] (flags) | flag...
 */

ngx_int_t
ngx_mail_imapd_cmd_store(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    u_char                   *p;
    uint32_t                 *uids;
    ngx_str_t                *args, flags[NGX_MAIL_IMAPD_STORE_FLAGS_MAX];
    ngx_str_t                 item;
    ngx_uint_t                n, k, nflags, since;
    ngx_mail_imapd_node_t    *node, *mod;
    ngx_mail_imapd_seqset_t   set;
    ngx_mail_imapd_parser_t  *ps;

    ps = &ctx->parser;

    if (ctx->mailbox->readonly) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [READ-ONLY] Mailbox is "
                                             "read-only");
        return NGX_ERROR;
    }

    if (ngx_mail_imapd_seqset_arg(s, ctx, 0, ps->uid, &set) != NGX_OK) {
        return NGX_ERROR;
    }

    since = 0;
    node = ngx_mail_imapd_arg(ctx, 1);

    /* RFC 7162 3.1.3 */
    if (node->type == NGX_MAIL_IMAPD_NODE_LIST) {
        mod = node->count == 2 ? &ps->nodes[node->child] : NULL;

        if (mod == NULL || mod->type != NGX_MAIL_IMAPD_NODE_ATOM
            || !ngx_mail_imapd_atom_eq(&mod->value, "UNCHANGEDSINCE")
            || ps->nodes[mod->next].type != NGX_MAIL_IMAPD_NODE_ATOM)
        {
            (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid STORE "
                                                 "modifier");
            return NGX_ERROR;
        }

        since = ngx_atoi((u_char *) ps->nodes[mod->next].value.data,
                         ps->nodes[mod->next].value.len);

        if (since == (ngx_uint_t) NGX_ERROR) {
            (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid "
                                                 "UNCHANGEDSINCE");
            return NGX_ERROR;
        }

        /* 0 would mean "no condition" to the script; nothing is older */
        since = ngx_max(since, 1);
        ngx_mail_imapd_condstore_on(s, ctx);
        node = ngx_mail_imapd_arg(ctx, 2);
    }

    if (node->type != NGX_MAIL_IMAPD_NODE_ATOM || node->next
                                                  == NGX_MAIL_IMAPD_NODE_NONE)
    {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
        return NGX_ERROR;
    }

    item.data = (u_char *) node->value.data;
    item.len = node->value.len;

    p = (u_char *) "=";
    ctx->store_silent = 0;

    if (item.len && (item.data[0] == '+' || item.data[0] == '-')) {
        p = item.data[0] == '+' ? (u_char *) "+" : (u_char *) "-";
        item.data++;
        item.len--;
    }

    if (item.len == sizeof("FLAGS.SILENT") - 1
        && ngx_strncasecmp(item.data, (u_char *) "FLAGS.SILENT", item.len)
           == 0)
    {
        ctx->store_silent = 1;

    } else if (item.len != 5
               || ngx_strncasecmp(item.data, (u_char *) "FLAGS", 5) != 0)
    {
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid STORE item");
        return NGX_ERROR;
    }

    if (ngx_mail_imapd_store_flags(s, ctx, node->next, flags, &nflags)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_mail_imapd_targets(s, ctx, &set, ps->uid, &uids, &n) != NGX_OK) {
        return NGX_ERROR;
    }

    args = ngx_mail_imapd_uid_args(s, 6 + nflags, uids, n);
    if (args == NULL) {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    args[0] = s->login;
    args[1] = ctx->mailbox->id;
    args[2].data = p;
    args[2].len = 1;

    p = ngx_pnalloc(ctx->cmd_pool, 2 * NGX_INT64_LEN);
    if (p == NULL) {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    args[3].data = p;
    args[3].len = ngx_sprintf(p, "%ui", since) - p;
    p += args[3].len;
    args[4] = ctx->origin;
    args[5].data = p;
    args[5].len = ngx_sprintf(p, "%ui", nflags) - p;

    for (k = 0; k < nflags; k++) {
        args[6 + k] = flags[k];
    }

    if (ngx_mail_imapd_eval(s, ngx_mail_imapd_store_lua, args,
                            6 + nflags + n, ngx_mail_imapd_stored)
        != NGX_OK)
    {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    return NGX_OK;
}


/* a flag list, or flags as separate arguments (RFC 3501 9 store-att-flags) */

static ngx_int_t
ngx_mail_imapd_store_flags(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    uint32_t first, ngx_str_t *flags, ngx_uint_t *nflags)
{
    uint32_t                  i;
    ngx_uint_t                n;
    ngx_mail_imapd_node_t    *node;
    ngx_mail_imapd_parser_t  *ps;

    ps = &ctx->parser;
    node = &ps->nodes[first];

    if (node->type == NGX_MAIL_IMAPD_NODE_LIST) {
        if (node->next != NGX_MAIL_IMAPD_NODE_NONE) {
            goto invalid;
        }

        i = node->child;

    } else {
        i = first;
    }

    n = 0;

    for ( /* void */ ; i != NGX_MAIL_IMAPD_NODE_NONE; i = node->next) {
        node = &ps->nodes[i];

        if (node->type != NGX_MAIL_IMAPD_NODE_ATOM || node->wildcard
            || node->section || node->value.len > NGX_MAIL_IMAPD_KEYWORD_MAX
            || n == NGX_MAIL_IMAPD_STORE_FLAGS_MAX)
        {
            goto invalid;
        }

        flags[n].data = (u_char *) node->value.data;
        flags[n].len = node->value.len;

        if (node->flag && ngx_mail_imapd_flag_canonical(&flags[n]) != NGX_OK)
        {
            goto invalid;
        }

        n++;
    }

    *nflags = n;

    return NGX_OK;

invalid:

    (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid flags");
    return NGX_ERROR;
}


static void
ngx_mail_imapd_stored(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    u_char                    *p, line[1024];
    size_t                     i;
    uint64_t                   before;
    ngx_int_t                  seq;
    redisReply               **e, *out, *failed;
    ngx_mail_imapd_ctx_t      *ctx;
    ngx_mail_imapd_mailbox_t  *mb;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);
    mb = ctx->mailbox;

    ngx_mail_server_io(s)->busy = 0;

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)
        || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4
        || reply->element[0]->type != REDIS_REPLY_ARRAY
        || reply->element[1]->type != REDIS_REPLY_ARRAY)
    {
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    out = reply->element[0];
    failed = reply->element[1];
    e = out->element;

    for (i = 0; i + 2 < out->elements; i += 3) {
        if (ctx->store_silent && !ctx->condstore) {
            break;
        }

        if (e[i]->type != REDIS_REPLY_STRING
            || e[i + 1]->type != REDIS_REPLY_STRING
            || e[i + 2]->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        seq = ngx_mail_imapd_seq_of(mb, (uint32_t) ngx_atoi(
                                        (u_char *) e[i]->str, e[i]->len));
        if (seq == 0) {
            continue;
        }

        p = ngx_sprintf(line, "* %i FETCH (", seq);

        if (ctx->parser.uid || ctx->condstore) {
            p = ngx_sprintf(p, "UID %*s ", ngx_min(e[i]->len, 10),
                            e[i]->str);
        }

        if (!ctx->store_silent) {
            p = ngx_cpymem(p, "FLAGS (", sizeof("FLAGS (") - 1);
            p = ngx_mail_imapd_write_flags(p, (u_char *) e[i + 1]->str,
                                           e[i + 1]->len,
                                           ngx_mail_imapd_is_recent(mb,
                                               mb->uids[seq - 1]));
            *p++ = ')';
        }

        if (ctx->condstore) {
            p = ngx_sprintf(p, "%sMODSEQ (%*s)",
                            ctx->store_silent ? "" : " ",
                            ngx_min(e[i + 2]->len, 20), e[i + 2]->str);
        }

        *p++ = ')';
        *p++ = CR;
        *p++ = LF;

        (void) ngx_mail_imapd_write(s, ctx, line, p - line);
    }

    /*
     * when nobody else changed the mailbox meanwhile, every change up to
     * the new modseq is this one, just reported
     */
    if (reply->element[2]->type == REDIS_REPLY_STRING
        && reply->element[3]->type == REDIS_REPLY_STRING)
    {
        before = ngx_atoof((u_char *) reply->element[2]->str,
                           reply->element[2]->len);

        if (before == mb->modseq) {
            mb->modseq = ngx_atoof((u_char *) reply->element[3]->str,
                                   reply->element[3]->len);
        }
    }

    if (failed->elements) {
        /* RFC 7162 3.1.3: sequence numbers, unless UID STORE */
        p = ngx_mail_imapd_uidset(line, line + NGX_MAIL_IMAPD_UIDSET_MAX,
                                  failed, ctx->parser.uid ? NULL : mb);

        if (p == NULL) {
            /* too long for a line: the client refetches what it needs */
            (void) ngx_mail_imapd_complete(s, ctx, ctx->parser.uid,
                                           "NO Conditional STORE failed for "
                                           "too many messages");
        } else {
            (void) ngx_mail_imapd_complete(s, ctx, ctx->parser.uid,
                                           "OK [MODIFIED %*s] Conditional "
                                           "STORE failed", p - line, line);
        }

    } else {
        (void) ngx_mail_imapd_complete(s, ctx, ctx->parser.uid,
                                       "OK STORE completed");
    }

    if (!ngx_mail_server_io(s)->busy) {
        ngx_mail_imapd_done(s);
    }
}


ngx_int_t
ngx_mail_imapd_cmd_copy(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    return ngx_mail_imapd_copy_move(s, ctx, 0);
}


ngx_int_t
ngx_mail_imapd_cmd_move(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    if (ctx->mailbox->readonly) {
        (void) ngx_mail_imapd_tagged(s, ctx, "NO [READ-ONLY] Mailbox is "
                                             "read-only");
        return NGX_ERROR;
    }

    return ngx_mail_imapd_copy_move(s, ctx, 1);
}


static ngx_int_t
ngx_mail_imapd_copy_move(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    ngx_flag_t move)
{
    u_char                   *name;
    uint32_t                 *uids;
    ngx_str_t                *args, dest;
    ngx_uint_t                n;
    ngx_mail_imapd_seqset_t   set;

    name = NULL;

    if (ngx_mail_imapd_pool(s, ctx)) {
        name = ngx_pnalloc(ctx->cmd_pool, NGX_MAIL_IMAPD_MAILBOX_MAX);
    }

    if (name == NULL) {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    if (ngx_mail_imapd_seqset_arg(s, ctx, 0, ctx->parser.uid, &set) != NGX_OK
        || ngx_mail_imapd_mailbox_arg(s, ctx, 1, &dest, name, 0) != NGX_OK
        || ngx_mail_imapd_targets(s, ctx, &set, ctx->parser.uid, &uids, &n)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (n == 0) {
        return ngx_mail_imapd_complete(s, ctx, 1, "OK No messages");
    }

    args = ngx_mail_imapd_uid_args(s, 4, uids, n);
    if (args == NULL) {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    args[0] = s->login;
    args[1] = ctx->mailbox->id;
    args[2] = dest;
    ngx_str_set(&args[3], "0");

    if (move) {
        ngx_str_set(&args[3], "1");
    }

    if (ngx_mail_imapd_eval(s, ngx_mail_imapd_copy_lua, args, 4 + n,
                            ngx_mail_imapd_copied)
        != NGX_OK)
    {
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    return NGX_OK;
}


static void
ngx_mail_imapd_copied(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    u_char                 *p, *last, code[2 * NGX_MAIL_IMAPD_UIDSET_MAX + 64];
    ngx_flag_t              move;
    ngx_mail_imapd_ctx_t   *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    ngx_mail_server_io(s)->busy = 0;

    move = (ctx->verb->data[0] == 'M');

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)) {
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    if (reply->type == REDIS_REPLY_STRING) {
        if (reply->len == 9 && ngx_strncmp(reply->str, "TRYCREATE", 9) == 0) {
            (void) ngx_mail_imapd_tagged(s, ctx, "NO [TRYCREATE] Mailbox "
                                                 "does not exist");

        } else {
            (void) ngx_mail_imapd_tagged(s, ctx, "NO [OVERQUOTA] Quota "
                                                 "exceeded");
        }

        ngx_mail_imapd_done(s);
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 5
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_ARRAY
        || reply->element[2]->type != REDIS_REPLY_ARRAY
        || reply->element[3]->type != REDIS_REPLY_STRING
        || reply->element[4]->type != REDIS_REPLY_ARRAY)
    {
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    /* the copies are made: the spam filter learns from them meanwhile */
    if (reply->element[3]->len) {
        ngx_mail_imapd_train(s, reply->element[3], reply->element[4]);
    }

    /* RFC 4315 3: COPYUID, left out when the sets do not fit a line */
    last = code + sizeof(code);
    p = ngx_snprintf(code, last - code, "[COPYUID %*s ",
                     ngx_min(reply->element[0]->len, 20),
                     reply->element[0]->str);
    p = ngx_mail_imapd_uidset(p, p + NGX_MAIL_IMAPD_UIDSET_MAX,
                              reply->element[1], NULL);

    if (p) {
        *p++ = ' ';
        p = ngx_mail_imapd_uidset(p, p + NGX_MAIL_IMAPD_UIDSET_MAX,
                                  reply->element[2], NULL);
    }

    if (p == NULL || reply->element[2]->elements == 0) {
        p = code;

    } else {
        p = ngx_cpymem(p, "] ", 2);
    }

    if (move) {
        /* RFC 6851 4.3: COPYUID untagged, before the expunges */
        if (p != code) {
            (void) ngx_mail_imapd_printf(s, ctx, "* OK %*sMoved", p - code,
                                         code);
        }

        (void) ngx_mail_imapd_complete(s, ctx, 1, "OK MOVE completed");

    } else {
        (void) ngx_mail_imapd_complete(s, ctx, 1, "OK %*sCOPY completed",
                                       p - code, code);
    }

    if (!ngx_mail_server_io(s)->busy) {
        ngx_mail_imapd_done(s);
    }
}


/*
 * "1:3,7" from a list of UIDs in order, or of their sequence numbers in
 * "seqs"; NULL when it does not fit
 */

static u_char *
ngx_mail_imapd_uidset(u_char *p, u_char *last, redisReply *list,
    ngx_mail_imapd_mailbox_t *seqs)
{
    size_t      i;
    uint32_t    first, prev;
    ngx_int_t   uid;
    ngx_flag_t  any;

    first = 0;
    prev = 0;
    any = 0;

    for (i = 0; i <= list->elements; i++) {
        uid = 0;

        if (i < list->elements) {
            if (list->element[i]->type == REDIS_REPLY_INTEGER) {
                uid = (ngx_int_t) list->element[i]->integer;

            } else if (list->element[i]->type == REDIS_REPLY_STRING) {
                uid = ngx_atoi((u_char *) list->element[i]->str,
                               list->element[i]->len);
            }

            if (uid > 0 && seqs) {
                uid = ngx_mail_imapd_seq_of(seqs, (uint32_t) uid);
            }

            if (uid <= 0 || uid > 0xffffffff) {
                continue;
            }
        }

        /* a range and a comma at most */
        if (last - p < (ssize_t) (2 * NGX_INT32_LEN + 2)) {
            return NULL;
        }

        p = ngx_mail_imapd_range(p, &first, &prev, (uint32_t) uid, &any);
    }

    return p;
}


/* EVAL arguments: nfixed for the caller, then the UIDs in decimal */

ngx_str_t *
ngx_mail_imapd_uid_args(ngx_mail_session_t *s, ngx_uint_t nfixed,
    uint32_t *uids, ngx_uint_t n)
{
    u_char                *p;
    ngx_str_t             *args;
    ngx_uint_t             i;
    ngx_mail_imapd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    if (ngx_mail_imapd_pool(s, ctx) == NULL) {
        return NULL;
    }

    args = ngx_palloc(ctx->cmd_pool, (nfixed + n) * sizeof(ngx_str_t));
    p = ngx_pnalloc(ctx->cmd_pool, n * NGX_INT32_LEN + 1);

    if (args == NULL || p == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        args[nfixed + i].data = p;
        p = ngx_sprintf(p, "%uD", uids[i]);
        args[nfixed + i].len = p - args[nfixed + i].data;
    }

    return args;
}
