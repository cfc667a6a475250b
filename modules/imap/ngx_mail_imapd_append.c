
/*
 * APPEND (RFC 3501 6.3.11, RFC 4315 APPENDUID): the message literal is
 * not held in memory.  Its octets go to a spool in Redis as they arrive,
 * as SMTP's DATA does (ngx_mail_store.c), and when the command is
 * complete one Lua script turns the spool into a blob and a message of
 * the mailbox, checking the quota: all or nothing.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_redis.h"
#include "ngx_mail_store.h"
#include "ngx_mail_imapd.h"


/*
 * ARGV: user, mailbox name, spool id, size, internal date, flags.
 * { uidvalidity, uid }, "TRYCREATE", "OVERQUOTA" or "SHORTSPOOL".
 */
static char  ngx_mail_imapd_append_lua[] =
    NGX_MAIL_IMAPD_KEYWORDS_LUA
    "local t = '{' .. ARGV[1] .. '}'\n"
    "local user = 'user:' .. t\n"
    "local spool = 'spool:{' .. ARGV[3] .. '}'\n"
    "local size = tonumber(ARGV[4])\n"
    "local id = redis.call('HGET', 'mailboxes:' .. t, ARGV[2])\n"
    "if not id then redis.call('DEL', spool); return 'TRYCREATE' end\n"
    "if size > 0 and redis.call('STRLEN', spool) ~= size then\n"
    "  redis.call('DEL', spool)\n"
    "  return 'SHORTSPOOL'\n"
    "end\n"
    "local u = redis.call('HMGET', user, 'quota_bytes', 'used_bytes')\n"
    "local quota = tonumber(u[1] or '0')\n"
    "if quota > 0 and tonumber(u[2] or '0') + size > quota then\n"
    "  redis.call('DEL', spool)\n"
    "  return 'OVERQUOTA'\n"
    "end\n"
    "local blob = 'blob:{' .. ARGV[3] .. '}'\n"
    "redis.call('SET', blob, redis.call('GET', spool) or '')\n"
    "redis.call('DEL', spool)\n"
    "redis.call('SET', blob .. ':refs', 1)\n"
    "local mb = 'mailbox:' .. t .. ':' .. id\n"
    "local uid = redis.call('HINCRBY', mb, 'uidnext', 1) - 1\n"
    "local modseq = redis.call('HINCRBY', mb, 'highestmodseq', 1)\n"
    "local flags = ARGV[6]\n"
    "redis.call('HSET', 'msg:' .. t .. ':' .. id .. ':' .. uid,\n"
    "           'blob', ARGV[3], 'size', size, 'internaldate', ARGV[5],\n"
    "           'flags', flags, 'modseq', modseq)\n"
    "redis.call('ZADD', mb .. ':uids', uid, uid)\n"
    "redis.call('ZADD', mb .. ':modseq', modseq, uid)\n"
    "redis.call('HINCRBY', mb, 'messages', 1)\n"
    "if not string.find(' ' .. flags .. ' ', ' \\\\Seen ', 1, true) then\n"
    "  redis.call('HINCRBY', mb, 'unseen', 1)\n"
    "end\n"
    "keywords_add(mb, redis.call('HGET', mb, 'keywords') or '', flags)\n"
    "redis.call('HINCRBY', user, 'used_bytes', size)\n"
    "redis.call('PUBLISH', 'notify:' .. t, 'EXISTS ' .. id .. ' ' .. uid)\n"
    "return { redis.call('HGET', mb, 'uidvalidity'), uid }\n";


/* the octets of one Redis APPEND: as SMTP's spool chunks */
#define NGX_MAIL_IMAPD_SPOOL_CHUNK  65536


static ngx_int_t ngx_mail_imapd_append_args(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_str_t *flags, time_t *date);
static time_t ngx_mail_imapd_parse_date(u_char *p, size_t len);
static void ngx_mail_imapd_spooled(ngx_mail_session_t *s, ngx_int_t rc,
    ngx_str_t *detail);
static void ngx_mail_imapd_appended(redisReply *reply, void *data);


/*
 * The parser stopped at APPEND's literal: decide before the client sends
 * it (RFC 3501 7.5: no "+" for a refused synchronizing literal).
 */

ngx_int_t
ngx_mail_imapd_append_literal(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx)
{
    ngx_mail_imapd_parser_t    *ps;
    ngx_mail_imapd_srv_conf_t  *iscf;

    ps = &ctx->parser;
    iscf = ngx_mail_get_module_srv_conf(s, ngx_mail_imapd_module);

    if (ctx->appending || ctx->spool.session
        || ctx->state == ngx_mail_imapd_not_authenticated
        || ctx->state == ngx_mail_imapd_logout)
    {
        /* MULTIAPPEND (RFC 3502) is not offered; nothing before LOGIN */
        return NGX_DECLINED;
    }

    if (ps->literal.size > iscf->max_message_size) {
        return NGX_ABORT;
    }

    if (ngx_mail_store_spool_init(s, &ctx->spool) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_mail_imapd_parse_literal_external(ps);

    /* an empty message has no octets to wait for */
    ctx->appending = (ps->literal.size != 0);
    ctx->literal_left = ps->literal.size;

    if (ps->literal.sync) {
        (void) ngx_mail_imapd_printf(s, ctx, "+ Ready for literal data");
    }

    return NGX_OK;
}


/*
 * Octets of the literal in the input buffer go to the spool and are cut
 * out of the buffer, so that the rest of the command follows the octets
 * before the literal, as the parser wants.
 */

ngx_int_t
ngx_mail_imapd_append_data(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    size_t      n;
    u_char     *start;
    ngx_int_t   rc;
    ngx_buf_t  *b;

    b = s->buffer;
    start = b->start + ctx->parser.pos;

    n = ngx_min((uint64_t) (b->last - start), ctx->literal_left);
    n = ngx_min(n, NGX_MAIL_IMAPD_SPOOL_CHUNK);

    if (n == 0) {
        return NGX_AGAIN;
    }

    rc = NGX_OK;

    if (!ctx->spool.failed) {
        rc = ngx_mail_store_spool_append(&ctx->spool, start, n,
                                         ngx_mail_imapd_spooled);
    }

    ngx_memmove(start, start + n, b->last - start - n);
    b->last -= n;
    ctx->literal_left -= n;

    if (ctx->literal_left == 0) {
        ctx->appending = 0;
    }

    if (rc == NGX_AGAIN) {
        /* two APPENDs in flight: the next chunk waits for one */
        ctx->spool_wait = 1;
        ngx_mail_server_io(s)->busy = 1;
    }

    return NGX_OK;
}


static void
ngx_mail_imapd_spooled(ngx_mail_session_t *s, ngx_int_t rc,
    ngx_str_t *detail)
{
    ngx_mail_imapd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    if (ctx->spool_wait) {
        ctx->spool_wait = 0;
        ngx_mail_imapd_done(s);
    }
}


/* the whole command is in: APPEND mailbox [(flags)] [date] literal */

ngx_int_t
ngx_mail_imapd_cmd_append(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx)
{
    u_char                  *p, *name;
    time_t                   date;
    ngx_str_t                args[6], mailbox, flags;
    ngx_mail_store_spool_t  *sp;

    sp = &ctx->spool;

    if (sp->session == NULL) {
        /* an inline literal or none: nothing was spooled */
        (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
        return NGX_ERROR;
    }

    name = NULL;

    if (ngx_mail_imapd_pool(s, ctx)) {
        name = ngx_pnalloc(ctx->cmd_pool, NGX_MAIL_IMAPD_MAILBOX_MAX);
    }

    if (name == NULL) {
        ngx_mail_imapd_append_discard(ctx);
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    if (ngx_mail_imapd_mailbox_arg(s, ctx, 0, &mailbox, name, 0) != NGX_OK
        || ngx_mail_imapd_append_args(s, ctx, &flags, &date) != NGX_OK)
    {
        ngx_mail_imapd_append_discard(ctx);
        return NGX_ERROR;
    }

    if (sp->failed) {
        ngx_mail_imapd_append_discard(ctx);
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    p = ngx_pnalloc(ctx->cmd_pool, 2 * NGX_OFF_T_LEN);
    if (p == NULL) {
        ngx_mail_imapd_append_discard(ctx);
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    args[0] = s->login;
    args[1] = mailbox;
    args[2] = sp->id;
    args[3].data = p;
    args[3].len = ngx_sprintf(p, "%O", sp->size) - p;
    p += args[3].len;
    args[4].data = p;
    args[4].len = ngx_sprintf(p, "%T", date) - p;
    args[5] = flags;

    /* the script takes the spool over: nothing to discard from now on */
    sp->done = 1;
    sp->appended = NULL;

    if (ngx_mail_imapd_eval(s, ngx_mail_imapd_append_lua, args, 6,
                            ngx_mail_imapd_appended)
        != NGX_OK)
    {
        sp->done = 0;
        ngx_mail_imapd_append_discard(ctx);
        return ngx_mail_imapd_unavailable(s, ctx);
    }

    return NGX_OK;
}


/* the flag list and the date-time before the literal, both optional */

static ngx_int_t
ngx_mail_imapd_append_args(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx,
    ngx_str_t *flags, time_t *date)
{
    u_char                   *p;
    uint32_t                  i;
    ngx_str_t                 f;
    ngx_uint_t                n;
    ngx_mail_imapd_node_t    *node, *e;
    ngx_mail_imapd_parser_t  *ps;

    ps = &ctx->parser;
    *date = ngx_time();
    ngx_str_null(flags);

    if (ps->nargs < 2 || ps->nargs > 4) {
        goto invalid;
    }

    node = ngx_mail_imapd_arg(ctx, 1);

    if (node->type == NGX_MAIL_IMAPD_NODE_LIST) {
        p = ngx_pnalloc(ctx->cmd_pool, NGX_MAIL_IMAPD_LINE_MAX);
        if (p == NULL) {
            goto invalid;
        }

        flags->data = p;
        n = 0;

        for (i = node->child; i != NGX_MAIL_IMAPD_NODE_NONE; i = e->next) {
            e = &ps->nodes[i];

            if (e->type != NGX_MAIL_IMAPD_NODE_ATOM || e->wildcard
                || e->section || e->value.len > 128 || ++n > 32)
            {
                goto invalid;
            }

            f.data = (u_char *) e->value.data;
            f.len = e->value.len;

            if (e->flag && ngx_mail_imapd_flag_canonical(&f) != NGX_OK) {
                goto invalid;
            }

            if (p != flags->data) {
                *p++ = ' ';
            }

            p = ngx_cpymem(p, f.data, f.len);
        }

        flags->len = p - flags->data;
        node = &ps->nodes[node->next];
    }

    if (node->type == NGX_MAIL_IMAPD_NODE_QUOTED) {
        *date = ngx_mail_imapd_parse_date((u_char *) node->value.data,
                                          node->value.len);
        if (*date == (time_t) -1) {
            goto invalid;
        }

        node = &ps->nodes[node->next];
    }

    if (node->type != NGX_MAIL_IMAPD_NODE_LITERAL || !node->external
        || node->next != NGX_MAIL_IMAPD_NODE_NONE)
    {
        goto invalid;
    }

    return NGX_OK;

invalid:

    (void) ngx_mail_imapd_tagged(s, ctx, "BAD Invalid arguments");
    return NGX_ERROR;
}


/* RFC 3501 9 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz", day may be " d" */

static time_t
ngx_mail_imapd_parse_date(u_char *p, size_t len)
{
    static char  months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

    u_char      buf[32];
    ngx_int_t   day, month, year, hour, min, sec, zone, days;

    if (len != 26 || p[2] != '-' || p[6] != '-' || p[11] != ' '
        || p[14] != ':' || p[17] != ':' || p[20] != ' '
        || (p[21] != '+' && p[21] != '-'))
    {
        return (time_t) -1;
    }

    ngx_memcpy(buf, p, len);

    if (buf[0] == ' ') {
        buf[0] = '0';
    }

    for (month = 0; month < 12; month++) {
        if (ngx_strncasecmp(&buf[3], (u_char *) &months[3 * month], 3) == 0) {
            break;
        }
    }

    day = ngx_atoi(&buf[0], 2);
    year = ngx_atoi(&buf[7], 4);
    hour = ngx_atoi(&buf[12], 2);
    min = ngx_atoi(&buf[15], 2);
    sec = ngx_atoi(&buf[18], 2);
    zone = ngx_atoi(&buf[22], 4);

    if (month == 12 || day < 1 || day > 31 || year < 1970 || year > 9999
        || hour > 23 || min > 59 || sec > 60 || zone == NGX_ERROR
        || day == NGX_ERROR || year == NGX_ERROR || hour == NGX_ERROR
        || min == NGX_ERROR || sec == NGX_ERROR)
    {
        return (time_t) -1;
    }

    /* days since the epoch of the proleptic Gregorian calendar */
    month++;
    year -= (month <= 2);
    days = year / 400 * 146097
           + (year % 400) * 365 + (year % 400) / 4 - (year % 400) / 100
           + (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
           - 719468;

    zone = (zone / 100) * 3600 + (zone % 100) * 60;

    return (time_t) days * 86400 + hour * 3600 + min * 60 + sec
           - (buf[21] == '-' ? -zone : zone);
}


static void
ngx_mail_imapd_appended(redisReply *reply, void *data)
{
    ngx_mail_session_t  *s = data;

    ngx_mail_imapd_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_imapd_module);

    ngx_memzero(&ctx->spool, sizeof(ngx_mail_store_spool_t));
    ngx_mail_server_io(s)->busy = 0;

    if (ngx_mail_redis_reply_is_error(reply, s->connection->log)) {
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    if (reply->type == REDIS_REPLY_STRING) {
        if (reply->len == 9 && ngx_strncmp(reply->str, "TRYCREATE", 9) == 0) {
            (void) ngx_mail_imapd_tagged(s, ctx, "NO [TRYCREATE] Mailbox "
                                                 "does not exist");

        } else if (reply->len == 9
                   && ngx_strncmp(reply->str, "OVERQUOTA", 9) == 0)
        {
            (void) ngx_mail_imapd_tagged(s, ctx, "NO [OVERQUOTA] Quota "
                                                 "exceeded");

        } else {
            (void) ngx_mail_imapd_unavailable(s, ctx);
        }

        ngx_mail_imapd_done(s);
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_INTEGER)
    {
        (void) ngx_mail_imapd_unavailable(s, ctx);
        ngx_mail_imapd_done(s);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                  "message appended, uid %L", reply->element[1]->integer);

    (void) ngx_mail_imapd_complete(s, ctx, 1, "OK [APPENDUID %*s %L] "
                                   "APPEND completed",
                                   ngx_min(reply->element[0]->len, 20),
                                   reply->element[0]->str,
                                   reply->element[1]->integer);

    if (!ngx_mail_server_io(s)->busy) {
        ngx_mail_imapd_done(s);
    }
}


void
ngx_mail_imapd_append_discard(ngx_mail_imapd_ctx_t *ctx)
{
    if (ctx->spool.session) {
        ngx_mail_store_spool_discard(&ctx->spool);
    }

    ngx_memzero(&ctx->spool, sizeof(ngx_mail_store_spool_t));
    ctx->appending = 0;
    ctx->spool_wait = 0;
    ctx->literal_left = 0;
}
