
/*
 * The end of a delivery attempt, in Redis.
 *
 * Each destination records its recipients' states as soon as they are
 * known (a worker that dies after a server accepted the data must not
 * have it sent again).  When every destination is done, one script
 * acknowledges the stream entry and either deletes the message, when
 * every recipient is sent or failed, or defers it to its next attempt;
 * in the same script, a delivery status report (RFC 3464) for the
 * sender is filed in a local mailbox or queued, with a null sender.
 * All in one script: a report is never lost nor sent twice.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_redis.h"
#include "ngx_mail_store.h"
#include "ngx_mail_queue.h"
#include "ngx_mail_queue_report.h"


/* the most of the original message a report returns (RET=FULL) */
#define NGX_MAIL_QUEUE_RETURN_MAX  131072

/* the longest state line: "STATE TIME CODE STATUS MTA TEXT" */
#define NGX_MAIL_QUEUE_STATE_LEN   (64 + NGX_MAIL_QUEUE_MX_NAME_MAX       \
                                    + NGX_MAIL_QUEUE_REPLY_TEXT_MAX + 512)


typedef struct {
    ngx_mail_queue_job_t         *job;
    ngx_uint_t                    final;
    time_t                        next;
    ngx_uint_t                    warn;
    ngx_array_t                   report;    /* ngx_mail_queue_rcpt_t * */
    ngx_array_t                   actions;   /* int */
    ngx_str_t                     content;
    u_char                        report_id[64];
    size_t                        report_id_len;
} ngx_mail_queue_settle_t;


static void ngx_mail_queue_settle_plan(ngx_mail_queue_settle_t *st);
static void ngx_mail_queue_settle_original(redisReply *reply, void *data);
static ngx_int_t ngx_mail_queue_settle_compose(ngx_mail_queue_settle_t *st,
    u_char *msg, size_t len);
static void ngx_mail_queue_settle_run(ngx_mail_queue_settle_t *st);
static void ngx_mail_queue_settled(redisReply *reply, void *data);
static size_t ngx_mail_queue_state_line(ngx_mail_queue_rcpt_t *rcpt,
    u_char *buf);


/*
 * ARGV: key of the recipient hash, then address/state pairs.  Nothing is
 * written for a message gone meanwhile (deleted, or settled by a worker
 * that took it over): the hash would be left behind for good.
 */
static char  ngx_mail_queue_record_lua[] =
    "local env = string.gsub(ARGV[1], ':rcpt$', ':env')\n"
    "if redis.call('EXISTS', env) == 0 then return 'GONE' end\n"
    "for i = 2, #ARGV, 2 do\n"
    "  redis.call('HSET', ARGV[1], ARGV[i], ARGV[i + 1])\n"
    "end\n"
    "return 'OK'\n";


/*
 * ARGV: id, stream entry, now, final, next, last error, warned, n, then
 * n address/state pairs, then the report's id, recipient and content
 * (an empty id: no report).
 */
static char  ngx_mail_queue_settle_lua[] =
    MAIL_LUA_BLOB_UNREF
    NGX_MAIL_STORE_INBOX_LUA
    NGX_MAIL_STORE_QUEUE_LUA
    /*
     * A report goes to the sender's mailbox when the sender is ours (a
     * user, or the local users of an alias), else through the queue.
     */
    "local function report_add(rqid, to, content, now)\n"
    "  local locals, remotes = {}, {}\n"
    "  to = string.lower(to)\n"
    "  local d = string.match(to, '@([^@]+)$')\n"
    "  if d and redis.call('SISMEMBER', 'domains', d) == 1 then\n"
    "    local targets = {to}\n"
    "    if redis.call('EXISTS', 'user:{' .. to .. '}') == 0 then\n"
    "      targets = redis.call('SMEMBERS', 'alias:{' .. to .. '}')\n"
    "      if #targets == 0 then\n"
    "        targets = redis.call('SMEMBERS', 'alias:{@' .. d .. '}')\n"
    "      end\n"
    "    end\n"
    "    for _, a in ipairs(targets) do\n"
    "      local td = string.match(a, '@([^@]+)$')\n"
    "      if td and redis.call('SISMEMBER', 'domains', td) == 1 then\n"
    "        if redis.call('HGET', 'user:{' .. a .. '}', 'enabled') == '1'\n"
    "        then table.insert(locals, a) end\n"
    "      else table.insert(remotes, a) end\n"
    "    end\n"
    "  else remotes = {to} end\n"
    "  if #locals + #remotes == 0 then return 'NOWHERE' end\n"
    "  local refs = #locals\n"
    "  if #remotes > 0 then refs = refs + 1 end\n"
    "  redis.call('SET', string.format('" MAIL_KEY_BLOB_FMT "', rqid),\n"
    "             content)\n"
    "  redis.call('SET', string.format('" MAIL_KEY_BLOB_REFS_FMT "', rqid),\n"
    "             refs)\n"
    "  for _, a in ipairs(locals) do\n"
    "    inbox_add('{' .. a .. '}', rqid, #content, now)\n"
    "  end\n"
    "  if #remotes > 0 then\n"
    "    queue_add(rqid, '', table.concat(remotes, '\\n'), '', #content,\n"
    "              now)\n"
    "  end\n"
    "  return 'SENT'\n"
    "end\n"
    "local qid, entry, now = ARGV[1], ARGV[2], ARGV[3]\n"
    "redis.call('XACK', '" MAIL_KEY_QUEUE_OUTBOUND "',\n"
    "           '" MAIL_QUEUE_GROUP "', entry)\n"
    "redis.call('XDEL', '" MAIL_KEY_QUEUE_OUTBOUND "', entry)\n"
    "local env = string.format('" MAIL_KEY_QUEUE_ENV_FMT "', qid)\n"
    "local rk = string.format('" MAIL_KEY_QUEUE_RCPT_FMT "', qid)\n"
    /* delivered by a worker that was thought dead, or deleted */
    "if redis.call('EXISTS', env) == 0 then return 'GONE' end\n"
    "local n = tonumber(ARGV[8])\n"
    "local i = 9\n"
    "for k = 1, n do\n"
    "  redis.call('HSET', rk, ARGV[i], ARGV[i + 1])\n"
    "  i = i + 2\n"
    "end\n"
    "local r = 'NONE'\n"
    "if ARGV[i] ~= '' then\n"
    "  r = report_add(ARGV[i], ARGV[i + 1], ARGV[i + 2], now)\n"
    "end\n"
    "if ARGV[4] == '1' then\n"
    "  local id = redis.call('HGET', env, '" MAIL_FIELD_QUEUE_BLOB "')\n"
    "  redis.call('DEL', env, rk)\n"
    "  redis.call('ZREM', '" MAIL_KEY_QUEUE_IDS "', qid)\n"
    "  redis.call('ZREM', '" MAIL_KEY_QUEUE_DEFERRED "', qid)\n"
    "  blob_unref(id)\n"
    "  return 'DONE ' .. r\n"
    "end\n"
    "redis.call('HINCRBY', env, '" MAIL_FIELD_QUEUE_ATTEMPTS "', 1)\n"
    "redis.call('HSET', env, '" MAIL_FIELD_QUEUE_NEXT "', ARGV[5],\n"
    "           '" MAIL_FIELD_QUEUE_LAST_ERROR "', ARGV[6])\n"
    "if ARGV[7] == '1' then\n"
    "  redis.call('HSET', env, '" MAIL_FIELD_QUEUE_WARNED "', 1)\n"
    "end\n"
    "redis.call('ZADD', '" MAIL_KEY_QUEUE_DEFERRED "', ARGV[5], qid)\n"
    "return 'DEFERRED ' .. r\n";


ngx_int_t
ngx_mail_queue_record(ngx_mail_queue_dest_t *dest,
    ngx_mail_redis_handler_pt handler, void *data)
{
    u_char                  *p;
    ngx_uint_t               i, n;
    ngx_mail_redis_cmd_t     cmd;
    ngx_mail_queue_job_t    *job;
    ngx_mail_queue_rcpt_t  **rcpts;

    job = dest->job;
    rcpts = dest->rcpts.elts;
    n = dest->rcpts.nelts;

    if (ngx_mail_redis_cmd_init_n(&cmd, "EVAL", 4 + 2 * n, job->pool)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(job->pool, sizeof(MAIL_KEY_QUEUE_RCPT_FMT) + job->id.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_mail_redis_cmd_arg(&cmd, (u_char *) ngx_mail_queue_record_lua,
                           sizeof(ngx_mail_queue_record_lua) - 1);
    ngx_mail_redis_cmd_cstr(&cmd, "0");
    ngx_mail_redis_cmd_arg(&cmd, p,
                           ngx_sprintf(p, MAIL_KEY_QUEUE_RCPT_FMT, job->id.data)
                           - p);

    for (i = 0; i < n; i++) {
        if (!rcpts[i]->changed) {
            continue;
        }

        p = ngx_pnalloc(job->pool, NGX_MAIL_QUEUE_STATE_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_mail_redis_cmd_arg(&cmd, rcpts[i]->address.data,
                               rcpts[i]->address.len);
        ngx_mail_redis_cmd_arg(&cmd, p,
                               ngx_mail_queue_state_line(rcpts[i], p));
    }

    if (ngx_mail_redis_send(&cmd, 1, handler, data, job->log) == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static size_t
ngx_mail_queue_state_line(ngx_mail_queue_rcpt_t *rcpt, u_char *buf)
{
    static const char  *names[] = {
        "queued", MAIL_QUEUE_RCPT_SENT, MAIL_QUEUE_RCPT_FAILED,
        MAIL_QUEUE_RCPT_DEFERRED
    };

    ngx_str_t  mta, status;

    mta = rcpt->mta;
    status = rcpt->status;

    if (mta.len == 0) {
        ngx_str_set(&mta, "-");
    }

    if (status.len == 0) {
        ngx_str_set(&status, "-");
    }

    return ngx_snprintf(buf, NGX_MAIL_QUEUE_STATE_LEN, "%s %T %ui %V %V %V",
                        names[rcpt->state], rcpt->time, rcpt->code, &status,
                        &mta, &rcpt->text)
           - buf;
}


void
ngx_mail_queue_settle(ngx_mail_queue_job_t *job)
{
    ngx_mail_queue_settle_t  *st;

    st = ngx_pcalloc(job->pool, sizeof(ngx_mail_queue_settle_t));
    if (st == NULL
        || ngx_array_init(&st->report, job->pool, 4,
                          sizeof(ngx_mail_queue_rcpt_t *))
           != NGX_OK
        || ngx_array_init(&st->actions, job->pool, 4, sizeof(int))
           != NGX_OK)
    {
        /* left pending: another worker will take it over */
        ngx_mail_queue_job_free(job);
        return;
    }

    st->job = job;

    if (job->rcpts.nelts == 0) {
        /* nothing to deliver: only the stream entry is settled */
        ngx_mail_queue_settle_run(st);
        return;
    }

    ngx_mail_queue_settle_plan(st);
}


static ngx_int_t
ngx_mail_queue_settle_add(ngx_mail_queue_settle_t *st,
    ngx_mail_queue_rcpt_t *rcpt, int action)
{
    int                     *a;
    ngx_mail_queue_rcpt_t  **r;

    r = ngx_array_push(&st->report);
    a = ngx_array_push(&st->actions);

    if (r == NULL || a == NULL) {
        return NGX_ERROR;
    }

    *r = rcpt;
    *a = action;

    return NGX_OK;
}


/*
 * What the attempt comes to: deferred recipients past queue_lifetime
 * fail; the sender hears of failures, of a delay once it passes
 * queue_delay_warning, and of success where NOTIFY=SUCCESS asked and the
 * next server did not take the request over (RFC 3461 5.2).  Never for a
 * null sender, never against NOTIFY.
 */

static void
ngx_mail_queue_settle_plan(ngx_mail_queue_settle_t *st)
{
    time_t                  now, age, backoff;
    ngx_uint_t              i, deferred, shift;
    ngx_mail_queue_job_t   *job;
    ngx_mail_queue_rcpt_t  *rcpt;
    ngx_mail_queue_conf_t  *qcf;
    ngx_mail_redis_cmd_t    cmd;
    u_char                 *p;
    u_char                  end[NGX_INT_T_LEN];
    ngx_str_t               text;

    job = st->job;
    qcf = ngx_mail_queue_conf();
    now = ngx_time();
    age = now - job->created;
    rcpt = job->rcpts.elts;
    deferred = 0;

    for (i = 0; i < job->rcpts.nelts; i++) {
        if (rcpt[i].state == NGX_MAIL_QUEUE_RCPT_NEW) {
            /* not tried: something failed on our side */
            ngx_str_set(&text, "not tried: internal error");
            ngx_mail_queue_rcpt_set(&rcpt[i], NGX_MAIL_QUEUE_RCPT_DEFERRED, 0,
                                    &rcpt[i].status, &rcpt[i].mta, &text,
                                    job->pool);
        }

        if (rcpt[i].state != NGX_MAIL_QUEUE_RCPT_DEFERRED) {
            continue;
        }

        job->last_error = rcpt[i].text;

        if (age >= qcf->lifetime) {
            p = ngx_pnalloc(job->pool, rcpt[i].text.len + 64);
            if (p != NULL) {
                text.data = p;
                text.len = ngx_sprintf(p, "delivery time expired; last "
                                       "error: %V", &rcpt[i].text)
                           - p;
                rcpt[i].text = text;
            }

            rcpt[i].state = NGX_MAIL_QUEUE_RCPT_FAILED;
            rcpt[i].changed = 1;
            rcpt[i].recorded = 0;

            if (rcpt[i].status.len == 0) {
                ngx_str_set(&rcpt[i].status, "4.4.7");
            }

            continue;
        }

        deferred++;
    }

    st->final = (deferred == 0);

    /* growing intervals: retry_min, doubled each time, up to retry_max */
    shift = job->attempts ? job->attempts - 1 : 0;
    backoff = (shift > 20) ? qcf->retry_max : qcf->retry_min << shift;
    st->next = now + ngx_min(backoff, qcf->retry_max);

    if (job->from.len == 0) {
        ngx_mail_queue_settle_run(st);
        return;
    }

    st->warn = !st->final && !job->warned && qcf->delay_warning
               && age >= qcf->delay_warning;

    for (i = 0; i < job->rcpts.nelts; i++) {
        if (!rcpt[i].changed
            || (rcpt[i].notify & NGX_MAIL_QUEUE_NOTIFY_NEVER))
        {
            continue;
        }

        if (rcpt[i].state == NGX_MAIL_QUEUE_RCPT_FAILED
            && (rcpt[i].notify == 0
                || (rcpt[i].notify & NGX_MAIL_QUEUE_NOTIFY_FAILURE)))
        {
            (void) ngx_mail_queue_settle_add(st, &rcpt[i],
                                             NGX_MAIL_QUEUE_REPORT_FAILED);

        } else if (rcpt[i].state == NGX_MAIL_QUEUE_RCPT_DEFERRED && st->warn
                   && (rcpt[i].notify == 0
                       || (rcpt[i].notify & NGX_MAIL_QUEUE_NOTIFY_DELAY)))
        {
            (void) ngx_mail_queue_settle_add(st, &rcpt[i],
                                             NGX_MAIL_QUEUE_REPORT_DELAYED);

        } else if (rcpt[i].state == NGX_MAIL_QUEUE_RCPT_SENT
                   && (rcpt[i].notify & NGX_MAIL_QUEUE_NOTIFY_SUCCESS)
                   && !rcpt[i].dsn_passed)
        {
            (void) ngx_mail_queue_settle_add(st, &rcpt[i],
                                             NGX_MAIL_QUEUE_REPORT_RELAYED);
        }
    }

    if (st->report.nelts == 0) {
        ngx_mail_queue_settle_run(st);
        return;
    }

    /* the original's header, or all of it, for the report's third part */
    ngx_mail_redis_cmd_init(&cmd, "GETRANGE");
    ngx_mail_redis_cmd_arg(&cmd, job->blob_key.data, job->blob_key.len);
    ngx_mail_redis_cmd_cstr(&cmd, "0");
    ngx_mail_redis_cmd_arg(&cmd, end,
                           ngx_sprintf(end, "%d",
                                       NGX_MAIL_QUEUE_RETURN_MAX - 1)
                           - end);

    if (ngx_mail_redis_send(&cmd, 1, ngx_mail_queue_settle_original, st,
                            job->log)
        == NULL)
    {
        /* Redis is gone: the entry stays pending for a later try */
        ngx_mail_queue_job_free(job);
    }
}


static void
ngx_mail_queue_settle_original(redisReply *reply, void *data)
{
    ngx_mail_queue_settle_t  *st = data;

    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        ngx_mail_queue_job_free(st->job);
        return;
    }

    if (ngx_mail_queue_settle_compose(st, (u_char *) reply->str, reply->len)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, st->job->log, 0,
                      "queue: %V: cannot compose the report", &st->job->id);
        ngx_str_null(&st->content);
    }

    ngx_mail_queue_settle_run(st);
}


static ngx_int_t
ngx_mail_queue_settle_compose(ngx_mail_queue_settle_t *st, u_char *msg,
    size_t len)
{
    u_char                        *p;
    size_t                         size;
    ngx_uint_t                     i;
    ngx_str_t                     *s;
    int                           *action;
    ngx_mail_queue_job_t          *job;
    ngx_mail_queue_rcpt_t        **rcpts;
    ngx_mail_queue_conf_t         *qcf;
    ngx_mail_queue_report_t        r;
    ngx_mail_queue_report_rcpt_t  *rr;

    job = st->job;
    qcf = ngx_mail_queue_conf();
    rcpts = st->report.elts;
    action = st->actions.elts;

    rr = ngx_pcalloc(job->pool, st->report.nelts
                                * sizeof(ngx_mail_queue_report_rcpt_t));
    p = ngx_pnalloc(job->pool, qcf->helo_name.len + 16);

    if (rr == NULL || p == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&r, sizeof(ngx_mail_queue_report_t));

#define ngx_mail_queue_str(dst, src)                                          \
    (dst).len = (src)->len; (dst).data = (src)->data

    ngx_mail_queue_str(r.reporting_mta, &qcf->helo_name);

    r.from.data = p;
    r.from.len = ngx_sprintf(p, "MAILER-DAEMON@%V", &qcf->helo_name) - p;

    ngx_mail_queue_str(r.to, &job->from);
    ngx_mail_queue_str(r.envid, &job->envid);
    ngx_mail_queue_str(r.queue_id, &job->id);

    r.arrival = job->created;
    r.now = ngx_time();
    r.retry_until = job->created + qcf->lifetime;
    r.message.data = msg;
    r.message.len = len;
    r.ret_full = !(job->ret.len == 4
                   && ngx_strncasecmp(job->ret.data, (u_char *) "HDRS", 4)
                      == 0)
                 && job->size < NGX_MAIL_QUEUE_RETURN_MAX;
    r.full_limit = NGX_MAIL_QUEUE_RETURN_MAX;
    r.rcpts = rr;
    r.nrcpts = st->report.nelts;
    r.boundary_seed = ((unsigned long long) ngx_random() << 32)
                      ^ (unsigned long long) ngx_random();

    for (i = 0; i < st->report.nelts; i++) {
        ngx_mail_queue_str(rr[i].address, &rcpts[i]->address);
        ngx_mail_queue_str(rr[i].orcpt, &rcpts[i]->orcpt);
        ngx_mail_queue_str(rr[i].status, &rcpts[i]->status);
        ngx_mail_queue_str(rr[i].remote_mta, &rcpts[i]->mta);
        rr[i].action = action[i];
        rr[i].last_attempt = rcpts[i]->time;

        /* "550 5.1.1 text" from a server, the reason otherwise */
        s = &rcpts[i]->text;

        if (rcpts[i]->code) {
            p = ngx_pnalloc(job->pool, s->len + rcpts[i]->status.len + 8);
            if (p == NULL) {
                return NGX_ERROR;
            }

            rr[i].diagnostic.data = p;
            rr[i].diagnostic.len = ngx_sprintf(p, "%ui %V %V",
                                               rcpts[i]->code,
                                               &rcpts[i]->status, s)
                                   - p;

        } else {
            ngx_mail_queue_str(rr[i].diagnostic, s);
        }
    }

#undef ngx_mail_queue_str

    size = ngx_mail_queue_report_size(&r);

    st->content.data = ngx_pnalloc(job->pool, size + 32);
    if (st->content.data == NULL) {
        return NGX_ERROR;
    }

    /* stored as delivered mail is: the (null) envelope sender first */
    p = ngx_cpymem(st->content.data, "Return-Path: <>\r\n", 17);
    p += ngx_mail_queue_report_write(&r, p);
    st->content.len = p - st->content.data;

    st->report_id_len = ngx_mail_store_new_id(st->report_id) - st->report_id;

    return NGX_OK;
}


static void
ngx_mail_queue_settle_run(ngx_mail_queue_settle_t *st)
{
    u_char                 *p, *line;
    ngx_uint_t              i, n, changed;
    ngx_mail_redis_cmd_t    cmd;
    ngx_mail_queue_job_t   *job;
    ngx_mail_queue_rcpt_t  *rcpt;
    u_char                  now[NGX_TIME_T_LEN], next[NGX_TIME_T_LEN];
    u_char                  count[NGX_INT_T_LEN];

    job = st->job;
    rcpt = job->rcpts.elts;
    n = job->rcpts.nelts;

    if (ngx_mail_redis_cmd_init_n(&cmd, "EVAL", 16 + 2 * n, job->pool)
        != NGX_OK)
    {
        ngx_mail_queue_job_free(job);
        return;
    }

    changed = 0;

    /* what a destination done earlier recorded is not written again */

    for (i = 0; i < n; i++) {
        changed += rcpt[i].changed && !rcpt[i].recorded;
    }

    ngx_mail_redis_cmd_arg(&cmd, (u_char *) ngx_mail_queue_settle_lua,
                           sizeof(ngx_mail_queue_settle_lua) - 1);
    ngx_mail_redis_cmd_cstr(&cmd, "0");
    ngx_mail_redis_cmd_arg(&cmd, job->id.data, job->id.len);
    ngx_mail_redis_cmd_arg(&cmd, job->entry.data, job->entry.len);
    ngx_mail_redis_cmd_arg(&cmd, now, ngx_sprintf(now, "%T", ngx_time())
                                      - now);
    ngx_mail_redis_cmd_cstr(&cmd, st->final ? "1" : "0");
    ngx_mail_redis_cmd_arg(&cmd, next, ngx_sprintf(next, "%T", st->next)
                                       - next);
    ngx_mail_redis_cmd_arg(&cmd, job->last_error.data, job->last_error.len);
    ngx_mail_redis_cmd_cstr(&cmd, st->warn && st->content.len ? "1" : "0");
    ngx_mail_redis_cmd_arg(&cmd, count, ngx_sprintf(count, "%ui", changed)
                                        - count);

    for (i = 0; i < n; i++) {
        if (!rcpt[i].changed || rcpt[i].recorded) {
            continue;
        }

        line = ngx_pnalloc(job->pool, NGX_MAIL_QUEUE_STATE_LEN);
        if (line == NULL) {
            ngx_mail_queue_job_free(job);
            return;
        }

        ngx_mail_redis_cmd_arg(&cmd, rcpt[i].address.data,
                               rcpt[i].address.len);
        ngx_mail_redis_cmd_arg(&cmd, line,
                               ngx_mail_queue_state_line(&rcpt[i], line));
    }

    if (st->content.len) {
        ngx_mail_redis_cmd_arg(&cmd, st->report_id, st->report_id_len);
        ngx_mail_redis_cmd_arg(&cmd, job->from.data, job->from.len);
        ngx_mail_redis_cmd_arg(&cmd, st->content.data, st->content.len);

    } else {
        p = (u_char *) "";
        ngx_mail_redis_cmd_arg(&cmd, p, 0);
        ngx_mail_redis_cmd_arg(&cmd, p, 0);
        ngx_mail_redis_cmd_arg(&cmd, p, 0);
    }

    if (ngx_mail_redis_send(&cmd, 1, ngx_mail_queue_settled, st, job->log)
        == NULL)
    {
        ngx_mail_queue_job_free(job);
    }
}


static void
ngx_mail_queue_settled(redisReply *reply, void *data)
{
    ngx_mail_queue_settle_t  *st = data;

    ngx_uint_t              i, sent, failed, deferred;
    ngx_mail_queue_job_t   *job;
    ngx_mail_queue_rcpt_t  *rcpt;

    job = st->job;

    if (reply == NULL
        || (reply->type != REDIS_REPLY_STATUS
            && reply->type != REDIS_REPLY_STRING))
    {
        ngx_log_error(NGX_LOG_ERR, job->log, 0,
                      "queue: %V: cannot settle the attempt: %s", &job->id,
                      reply ? reply->str : "Redis unavailable");
        ngx_mail_queue_job_free(job);
        return;
    }

    sent = failed = deferred = 0;
    rcpt = job->rcpts.elts;

    for (i = 0; i < job->rcpts.nelts; i++) {
        switch (rcpt[i].state) {
        case NGX_MAIL_QUEUE_RCPT_SENT:
            sent++;
            break;
        case NGX_MAIL_QUEUE_RCPT_FAILED:
            failed++;
            break;
        default:
            deferred++;
        }
    }

    /* one line per attempt: what the administrator greps for */
    ngx_log_error(NGX_LOG_NOTICE, job->log, 0,
                  "queue: %V: from=<%V> attempt %ui: %ui sent, %ui failed, "
                  "%ui deferred: %*s%s%*s", &job->id, &job->from,
                  job->attempts, sent, failed, deferred, reply->len,
                  reply->str, st->content.len ? ", report " : "",
                  st->content.len ? st->report_id_len : 0, st->report_id);

    ngx_mail_queue_job_free(job);
}
