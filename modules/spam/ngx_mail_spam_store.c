
/*
 * The Bayes token counts in Redis: classifying a message for the SMTP
 * path, and learning one (IMAP training; mailctl has its own synchronous
 * copy of the learning, with the same script and the same fields).
 * Keys: docs/redis-keys.md, "Spam filter"; fields and digest:
 * ngx_mail_spam_store.h.
 *
 * A message is parsed and tokenized in a pool of its own, which goes as
 * soon as the request is sent (hiredis has copied the arguments by
 * then): the caller's pool keeps only the tokens' hashes of a lookup,
 * 8 bytes each, and no copy of the message.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "mail_keys.h"
#include "ngx_mail_redis.h"
#include "ngx_mail_spam.h"
#include "ngx_mail_spam_store.h"


/* a scope's lookup: HMGET of its counts, of its spam and ham fields */
#define NGX_MAIL_SPAM_BAYES_SCOPE_CMDS  3


ngx_uint_t  ngx_mail_spam_bayes_min_learned = NGX_MAIL_SPAM_MIN_LEARNED;


typedef struct {
    ngx_mail_spam_bayes_req_t     *reqs;       /* one a recipient */
    ngx_uint_t                     nreqs;
    ngx_mail_redis_request_t      *redis;
    ngx_log_t                     *log;
    /* hashes only, for the classifier's ties */
    ngx_mail_spam_bayes_token_t   *tokens;
    ngx_uint_t                     ntokens;
    /* the recipients' scopes in their order, then the global one */
    ngx_uint_t                     nscopes;
    ngx_mail_spam_done_pt          handler;
    void                          *data;
    /* the reply of a lookup of one command, as the array of one */
    redisReply                    *single;
} ngx_mail_spam_bayes_lookup_t;


typedef struct {
    ngx_mail_spam_learnt_pt        handler;
    void                          *data;
    ngx_log_t                     *log;
} ngx_mail_spam_bayes_learning_t;


static ngx_int_t ngx_mail_spam_bayes_read(ngx_pool_t *pool, u_char *msg,
    size_t len, ngx_flag_t with_digest, ngx_mail_spam_message_t *m);
static void *ngx_mail_spam_bayes_alloc(void *pool, size_t size);
static ngx_int_t ngx_mail_spam_bayes_scope(ngx_pool_t *pool, ngx_str_t *user,
    ngx_str_t *scope);
static ngx_int_t ngx_mail_spam_bayes_key(ngx_pool_t *pool, const char *fmt,
    ngx_str_t *scope, ngx_str_t *key);
static ngx_int_t ngx_mail_spam_bayes_lookup_cmds(ngx_pool_t *pool,
    ngx_str_t *scope, ngx_mail_spam_message_t *m,
    ngx_mail_redis_cmd_t *cmds);
static void ngx_mail_spam_bayes_looked_up(redisReply *reply, void *data);
static ngx_int_t ngx_mail_spam_bayes_replies_ok(
    ngx_mail_spam_bayes_lookup_t *lk, redisReply *reply, redisReply ***replies);
static ngx_int_t ngx_mail_spam_bayes_counts(redisReply **replies,
    ngx_uint_t *nspam, ngx_uint_t *nham);
static ngx_uint_t ngx_mail_spam_bayes_count(redisReply *reply);
static void ngx_mail_spam_bayes_judge(ngx_mail_spam_bayes_lookup_t *lk,
    ngx_mail_spam_bayes_req_t *req, redisReply **replies, ngx_uint_t nspam,
    ngx_uint_t nham);
static void ngx_mail_spam_bayes_learnt(redisReply *reply, void *data);


static char  ngx_mail_spam_bayes_learn_lua[] = NGX_MAIL_SPAM_LEARN_LUA;


/* the message parsed once, its token fields kept for every recipient */

ngx_mail_spam_message_t *
ngx_mail_spam_bayes_tokens(ngx_pool_t *pool, ngx_log_t *log, u_char *msg,
    size_t len)
{
    ngx_pool_t               *tmp;
    ngx_mail_spam_message_t   m, *t;

    /* the parse is large and short-lived: only the token fields stay */

    tmp = ngx_create_pool(16384, log);
    if (tmp == NULL) {
        return NULL;
    }

    t = NULL;

    if (ngx_mail_spam_bayes_read(tmp, msg, len, 0, &m) != NGX_OK) {
        goto done;
    }

    t = ngx_pcalloc(pool, sizeof(ngx_mail_spam_message_t));
    if (t == NULL) {
        goto done;
    }

    t->ntokens = m.ntokens;

    if (m.ntokens) {
        t->fields = ngx_pnalloc(pool, m.ntokens * NGX_MAIL_SPAM_FIELD_LEN);
        t->hashes = ngx_palloc(pool, m.ntokens * sizeof(uint64_t));

        if (t->fields == NULL || t->hashes == NULL) {
            t = NULL;
            goto done;
        }

        ngx_memcpy(t->fields, m.fields,
                   m.ntokens * NGX_MAIL_SPAM_FIELD_LEN);
        ngx_memcpy(t->hashes, m.hashes, m.ntokens * sizeof(uint64_t));
    }

done:

    ngx_destroy_pool(tmp);

    return t;
}



/*
 * One request for all the recipients: each one's counts and the global
 * ones, looked up once, the choice made for each when all are in.  A
 * recipient with enough of his own counts costs the global lookup for
 * nothing, which is cheaper than a second round trip for everybody else.
 * The scopes are in different hash slots: one MULTI over them is for a
 * single Redis or a Sentinel-managed primary, which is what the product
 * supports (docs/redis-keys.md).
 */

ngx_int_t
ngx_mail_spam_bayes_classify_message(ngx_pool_t *pool, ngx_log_t *log,
    ngx_mail_spam_message_t *m, ngx_mail_spam_bayes_req_t *reqs,
    ngx_uint_t nreqs, ngx_mail_spam_done_pt handler, void *data)
{
    ngx_uint_t                     i, n, per_scope;
    ngx_str_t                      global, scope;
    ngx_pool_t                    *tmp;
    ngx_mail_redis_cmd_t          *cmds;
    ngx_mail_spam_bayes_lookup_t  *lk;

    lk = ngx_pcalloc(pool, sizeof(ngx_mail_spam_bayes_lookup_t));
    if (lk == NULL) {
        return NGX_ERROR;
    }

    lk->reqs = reqs;
    lk->nreqs = nreqs;
    lk->log = log;
    lk->handler = handler;
    lk->data = data;
    lk->nscopes = nreqs + 1;

    for (i = 0; i < nreqs; i++) {
        reqs[i].probability = -1;
        reqs[i].done = 0;
    }

    if (m->ntokens) {
        lk->tokens = ngx_pcalloc(pool,
                             m->ntokens * sizeof(ngx_mail_spam_bayes_token_t));
        if (lk->tokens == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < m->ntokens; i++) {
            lk->tokens[i].hash = m->hashes[i];
        }

        lk->ntokens = m->ntokens;
    }

    tmp = ngx_create_pool(16384, log);
    if (tmp == NULL) {
        return NGX_ERROR;
    }

    /* no fields: HMGET wants one at least, the counts alone are read */
    per_scope = m->ntokens ? NGX_MAIL_SPAM_BAYES_SCOPE_CMDS : 1;

    cmds = ngx_palloc(tmp, lk->nscopes * per_scope
                           * sizeof(ngx_mail_redis_cmd_t));
    if (cmds == NULL) {
        goto failed;
    }

    ngx_str_set(&global, NGX_MAIL_SPAM_SCOPE_GLOBAL);

    n = 0;

    for (i = 0; i < lk->nscopes; i++) {
        if (i < nreqs) {
            if (ngx_mail_spam_bayes_scope(tmp, &reqs[i].user, &scope)
                != NGX_OK)
            {
                goto failed;
            }

        } else {
            scope = global;
        }

        if (ngx_mail_spam_bayes_lookup_cmds(tmp, &scope, m, &cmds[n])
            != NGX_OK)
        {
            goto failed;
        }

        n += per_scope;
    }

    lk->redis = ngx_mail_redis_send(cmds, n, ngx_mail_spam_bayes_looked_up,
                                    lk, log);
    if (lk->redis == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "spam: bayes lookup not sent: Redis unavailable");
        goto failed;
    }

    ngx_destroy_pool(tmp);

    return NGX_OK;

failed:

    ngx_destroy_pool(tmp);

    return NGX_ERROR;
}


ngx_int_t
ngx_mail_spam_bayes_learn(ngx_pool_t *pool, ngx_log_t *log, u_char *msg,
    size_t len, ngx_str_t *user, ngx_uint_t spam,
    ngx_mail_spam_learnt_pt handler, void *data)
{
    u_char                          *field;
    ngx_int_t                        rc;
    ngx_str_t                        scope, key;
    ngx_uint_t                       i;
    ngx_pool_t                      *tmp;
    ngx_mail_redis_cmd_t             cmd;
    ngx_mail_spam_message_t          m;
    ngx_mail_spam_bayes_learning_t  *ln;

    static const char  *formats[] = {
        MAIL_KEY_BAYES_FMT, MAIL_KEY_BAYES_SPAM_FMT, MAIL_KEY_BAYES_HAM_FMT,
        MAIL_KEY_BAYES_LEARNT_FMT, MAIL_KEY_BAYES_AGE_FMT
    };

    ln = NULL;

    if (handler) {
        ln = ngx_palloc(pool, sizeof(ngx_mail_spam_bayes_learning_t));
        if (ln == NULL) {
            return NGX_ERROR;
        }

        ln->handler = handler;
        ln->data = data;
        ln->log = log;
    }

    tmp = ngx_create_pool(16384, log);
    if (tmp == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (ngx_mail_spam_bayes_read(tmp, msg, len, 1, &m) != NGX_OK
        || ngx_mail_spam_bayes_scope(tmp, user, &scope) != NGX_OK)
    {
        goto done;
    }

    /* EVAL script 5 keys class digest fields */
    if (ngx_mail_redis_cmd_init_n(&cmd, "EVAL", 10 + m.ntokens, tmp)
        != NGX_OK)
    {
        goto done;
    }

    ngx_mail_redis_cmd_cstr(&cmd, ngx_mail_spam_bayes_learn_lua);
    ngx_mail_redis_cmd_cstr(&cmd, "5");

    for (i = 0; i < 5; i++) {
        if (ngx_mail_spam_bayes_key(tmp, formats[i], &scope, &key) != NGX_OK)
        {
            goto done;
        }

        ngx_mail_redis_cmd_arg(&cmd, key.data, key.len);
    }

    ngx_mail_redis_cmd_cstr(&cmd, spam ? NGX_MAIL_SPAM_CLASS_SPAM
                                       : NGX_MAIL_SPAM_CLASS_HAM);
    ngx_mail_redis_cmd_arg(&cmd, (u_char *) m.digest,
                           NGX_MAIL_SPAM_DIGEST_LEN);

    field = (u_char *) m.fields;

    for (i = 0; i < m.ntokens; i++) {
        ngx_mail_redis_cmd_arg(&cmd, field, NGX_MAIL_SPAM_FIELD_LEN);
        field += NGX_MAIL_SPAM_FIELD_LEN;
    }

    /*
     * a learning nobody waits for may outlive the caller's log: its
     * failure is logged on the cycle's
     */

    if (ln == NULL) {
        log = ngx_cycle->log;
    }

    if (ngx_mail_redis_send(&cmd, 1, ngx_mail_spam_bayes_learnt, ln, log)
        == NULL)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "spam: learning for \"%s\" not sent: Redis unavailable",
                      scope.data);
        goto done;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_MAIL, log, 0,
                   "spam: learning %*s as %s for \"%s\"",
                   (size_t) NGX_MAIL_SPAM_DIGEST_LEN, m.digest,
                   spam ? "spam" : "ham", scope.data);

    rc = NGX_OK;

done:

    ngx_destroy_pool(tmp);

    return rc;
}


/*
 * The handler may destroy the pool "ln" is in: nothing touches it after.
 * Failures are logged here or by Redis's module, so that a caller that
 * only goes on need not.
 */

static void
ngx_mail_spam_bayes_learnt(redisReply *reply, void *data)
{
    ngx_mail_spam_bayes_learning_t  *ln = data;

    ngx_int_t   rc;
    ngx_log_t  *log;

    log = ln ? ln->log : ngx_cycle->log;

    rc = NGX_OK;

    if (ngx_mail_redis_reply_is_error(reply, log)) {
        /* logged by Redis's module */
        rc = NGX_ERROR;

    } else if (reply->type != REDIS_REPLY_INTEGER) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "spam: unexpected reply to the learning script");
        rc = NGX_ERROR;

    } else {
        ngx_log_debug1(NGX_LOG_DEBUG_MAIL, log, 0,
                       "spam: learnt, script said %L",
                       (int64_t) reply->integer);
    }

    if (ln) {
        ln->handler(rc, ln->data);
    }
}


static ngx_int_t
ngx_mail_spam_bayes_read(ngx_pool_t *pool, u_char *msg, size_t len,
    ngx_flag_t with_digest, ngx_mail_spam_message_t *m)
{
    mime_allocator_t  allocator;

    allocator.alloc = ngx_mail_spam_bayes_alloc;
    allocator.ctx = pool;

    if (ngx_mail_spam_message_read(m, &allocator, msg, len, with_digest)
        != NGX_MAIL_SPAM_BAYES_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void *
ngx_mail_spam_bayes_alloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


/* the scope's name, NUL-terminated for the key formats */

static ngx_int_t
ngx_mail_spam_bayes_scope(ngx_pool_t *pool, ngx_str_t *user, ngx_str_t *scope)
{
    if (user == NULL || user->len == 0) {
        ngx_str_set(scope, NGX_MAIL_SPAM_SCOPE_GLOBAL);
        return NGX_OK;
    }

    scope->data = ngx_pnalloc(pool, user->len + 1);
    if (scope->data == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(scope->data, user->data, user->len) = '\0';
    scope->len = user->len;

    return NGX_OK;
}


static ngx_int_t
ngx_mail_spam_bayes_key(ngx_pool_t *pool, const char *fmt, ngx_str_t *scope,
    ngx_str_t *key)
{
    key->data = ngx_pnalloc(pool, ngx_strlen(fmt) + scope->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    key->len = ngx_sprintf(key->data, fmt, scope->data) - key->data;

    return NGX_OK;
}


static ngx_int_t
ngx_mail_spam_bayes_lookup_cmds(ngx_pool_t *pool, ngx_str_t *scope,
    ngx_mail_spam_message_t *m, ngx_mail_redis_cmd_t *cmds)
{
    u_char      *field;
    ngx_str_t    key;
    ngx_uint_t   i, c;

    static const char  *formats[] = {
        MAIL_KEY_BAYES_SPAM_FMT, MAIL_KEY_BAYES_HAM_FMT
    };

    if (ngx_mail_spam_bayes_key(pool, MAIL_KEY_BAYES_FMT, scope, &key)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_mail_redis_cmd_init(&cmds[0], "HMGET");
    ngx_mail_redis_cmd_arg(&cmds[0], key.data, key.len);
    ngx_mail_redis_cmd_cstr(&cmds[0], NGX_MAIL_SPAM_FIELD_NSPAM);
    ngx_mail_redis_cmd_cstr(&cmds[0], NGX_MAIL_SPAM_FIELD_NHAM);

    if (m->ntokens == 0) {
        return NGX_OK;
    }

    for (c = 1; c < NGX_MAIL_SPAM_BAYES_SCOPE_CMDS; c++) {
        if (ngx_mail_spam_bayes_key(pool, formats[c - 1], scope, &key)
            != NGX_OK
            || ngx_mail_redis_cmd_init_n(&cmds[c], "HMGET", 2 + m->ntokens,
                                         pool)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_mail_redis_cmd_arg(&cmds[c], key.data, key.len);

        field = (u_char *) m->fields;

        for (i = 0; i < m->ntokens; i++) {
            ngx_mail_redis_cmd_arg(&cmds[c], field, NGX_MAIL_SPAM_FIELD_LEN);
            field += NGX_MAIL_SPAM_FIELD_LEN;
        }
    }

    return NGX_OK;
}


static void
ngx_mail_spam_bayes_looked_up(redisReply *reply, void *data)
{
    ngx_mail_spam_bayes_lookup_t  *lk = data;

    ngx_uint_t                  i, per_scope, nspam, nham, gspam, gham;
    ngx_int_t                   global;
    redisReply                **replies, **scope, **gscope;
    ngx_mail_spam_done_pt       handler;
    ngx_mail_spam_bayes_req_t  *req;

    lk->redis = NULL;

    if (ngx_mail_spam_bayes_replies_ok(lk, reply, &replies) != NGX_OK) {
        goto done;
    }

    per_scope = lk->ntokens ? NGX_MAIL_SPAM_BAYES_SCOPE_CMDS : 1;

    gscope = &replies[lk->nreqs * per_scope];
    global = ngx_mail_spam_bayes_counts(gscope, &gspam, &gham);

    for (i = 0; i < lk->nreqs; i++) {
        req = &lk->reqs[i];
        scope = &replies[i * per_scope];

        /* the user's own counts when there are enough of them */

        if (ngx_mail_spam_bayes_counts(scope, &nspam, &nham) == NGX_OK) {
            req->scope = req->user;
            ngx_mail_spam_bayes_judge(lk, req, scope, nspam, nham);

        } else if (global == NGX_OK) {
            ngx_str_set(&req->scope, NGX_MAIL_SPAM_SCOPE_GLOBAL);
            ngx_mail_spam_bayes_judge(lk, req, gscope, gspam, gham);
        }
    }

done:

    for (i = 0; i < lk->nreqs; i++) {
        lk->reqs[i].done = 1;
    }

    handler = lk->handler;
    lk->handler = NULL;

    if (handler) {
        handler(lk->data);
    }
}


/*
 * The replies of every scope's commands in order, each of the shape
 * asked for; one command is sent alone, more are in MULTI: EXEC's array
 */

static ngx_int_t
ngx_mail_spam_bayes_replies_ok(ngx_mail_spam_bayes_lookup_t *lk,
    redisReply *reply, redisReply ***replies)
{
    ngx_uint_t  i, n, per_scope;

    per_scope = lk->ntokens ? NGX_MAIL_SPAM_BAYES_SCOPE_CMDS : 1;
    n = lk->nscopes * per_scope;

    if (ngx_mail_redis_reply_is_error(reply, lk->log)) {
        return NGX_ERROR;
    }

    if (n == 1) {
        lk->single = reply;
        *replies = &lk->single;

    } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == n) {
        *replies = reply->element;

    } else {
        goto unexpected;
    }

    for (i = 0; i < n; i++) {
        if (ngx_mail_redis_reply_is_error((*replies)[i], lk->log)) {
            return NGX_ERROR;
        }

        if ((*replies)[i]->type != REDIS_REPLY_ARRAY
            || (*replies)[i]->elements != (i % per_scope ? lk->ntokens : 2))
        {
            goto unexpected;
        }
    }

    return NGX_OK;

unexpected:

    ngx_log_error(NGX_LOG_ERR, lk->log, 0,
                  "spam: unexpected reply to the bayes lookup");

    return NGX_ERROR;
}


/*
 * A scope judges when it has learnt spam_bayes_min_learned messages of
 * each class, and one at least: Robinson's p(w) divides by both counts
 */

static ngx_int_t
ngx_mail_spam_bayes_counts(redisReply **replies, ngx_uint_t *nspam,
    ngx_uint_t *nham)
{
    ngx_uint_t  min;

    *nspam = ngx_mail_spam_bayes_count(replies[0]->element[0]);
    *nham = ngx_mail_spam_bayes_count(replies[0]->element[1]);

    min = ngx_max(ngx_mail_spam_bayes_min_learned, 1);

    if (*nspam < min || *nham < min) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* a count as Redis has it: a string, nil when never learnt */

static ngx_uint_t
ngx_mail_spam_bayes_count(redisReply *reply)
{
    ngx_int_t  n;

    if (reply->type == REDIS_REPLY_INTEGER) {
        return reply->integer > 0 ? (ngx_uint_t) reply->integer : 0;
    }

    if (reply->type != REDIS_REPLY_STRING) {
        return 0;
    }

    n = ngx_atoi((u_char *) reply->str, reply->len);

    return n > 0 ? (ngx_uint_t) n : 0;
}


static void
ngx_mail_spam_bayes_judge(ngx_mail_spam_bayes_lookup_t *lk,
    ngx_mail_spam_bayes_req_t *req, redisReply **replies, ngx_uint_t nspam,
    ngx_uint_t nham)
{
    ngx_uint_t                     i;
    ngx_mail_spam_bayes_count_t   *counts;
    ngx_mail_spam_bayes_result_t   result;

    if (lk->ntokens == 0) {
        /* the classifier's answer for no evidence */
        req->probability = 0.5;
        return;
    }

    counts = ngx_alloc(lk->ntokens * sizeof(ngx_mail_spam_bayes_count_t),
                       lk->log);
    if (counts == NULL) {
        return;
    }

    for (i = 0; i < lk->ntokens; i++) {
        counts[i].spam_count = ngx_mail_spam_bayes_count(
                                                   replies[1]->element[i]);
        counts[i].ham_count = ngx_mail_spam_bayes_count(
                                                   replies[2]->element[i]);
    }

    if (ngx_mail_spam_bayes_classify(counts, lk->tokens, lk->ntokens, nspam,
                                     nham, NULL, &result)
        == NGX_MAIL_SPAM_BAYES_OK)
    {
        req->probability = result.score;

        ngx_log_debug5(NGX_LOG_DEBUG_MAIL, lk->log, 0,
                       "spam: bayes %.3f for \"%V\", %ui tokens, %ui known, "
                       "%ui used", result.score, &req->scope,
                       lk->ntokens, (ngx_uint_t) result.known,
                       (ngx_uint_t) result.used);
    }

    ngx_free(counts);
}
