
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


ngx_uint_t  ngx_mail_spam_bayes_min_learned = NGX_MAIL_SPAM_MIN_LEARNED;


typedef struct {
    ngx_str_t                      name;       /* NUL-terminated */
    ngx_uint_t                     nspam;
    ngx_uint_t                     nham;
    ngx_uint_t                     reply;      /* of its spam tokens */
    unsigned                       judges:1;   /* has learnt enough */
    unsigned                       used:1;     /* judges for somebody */
} ngx_mail_spam_bayes_scope_t;


typedef struct {
    ngx_mail_spam_bayes_req_t     *reqs;       /* one a recipient */
    ngx_uint_t                     nreqs;
    ngx_uint_t                    *by;         /* the scope judging each */
    ngx_mail_redis_request_t      *redis;
    ngx_log_t                     *log;
    /* the caller's, until the handler: the token fields */
    ngx_mail_spam_message_t       *m;
    /* hashes only, for the classifier's ties */
    ngx_mail_spam_bayes_token_t   *tokens;
    ngx_uint_t                     ntokens;
    /* the recipients' scopes in their order, then the global one */
    ngx_mail_spam_bayes_scope_t   *scopes;
    ngx_uint_t                     nscopes;
    ngx_uint_t                     nreplies;   /* of the token lookup */
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
static void ngx_mail_spam_bayes_counted(redisReply *reply, void *data);
static ngx_int_t ngx_mail_spam_bayes_lookup_tokens(
    ngx_mail_spam_bayes_lookup_t *lk);
static void ngx_mail_spam_bayes_looked_up(redisReply *reply, void *data);
static void ngx_mail_spam_bayes_tokens_judged(
    ngx_mail_spam_bayes_lookup_t *lk, redisReply **replies);
static void ngx_mail_spam_bayes_done(ngx_mail_spam_bayes_lookup_t *lk);
static ngx_int_t ngx_mail_spam_bayes_replies_ok(
    ngx_mail_spam_bayes_lookup_t *lk, redisReply *reply, ngx_uint_t n,
    ngx_uint_t elements, redisReply ***replies);
static ngx_uint_t ngx_mail_spam_bayes_count(redisReply *reply);
static void ngx_mail_spam_bayes_judge(ngx_mail_spam_bayes_lookup_t *lk,
    ngx_mail_spam_bayes_req_t *req, ngx_mail_spam_bayes_scope_t *scope,
    redisReply **replies);
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
 * Two requests for all the recipients of a message.  The first reads
 * the message counts of every recipient's scope and of the global one:
 * a few bytes each.  The second reads the token counts of the scopes
 * that judge, each once: a recipient's own when the recipient has
 * learnt enough, the global ones for all the others.  A scope that
 * does not judge costs no token lookup, which most recipients' own do
 * not.  The scopes are in different hash slots: one MULTI over them is
 * for a single Redis or a Sentinel-managed primary, which is what the
 * product supports (docs/redis-keys.md).
 */

ngx_int_t
ngx_mail_spam_bayes_classify_message(ngx_pool_t *pool, ngx_log_t *log,
    ngx_mail_spam_message_t *m, ngx_mail_spam_bayes_req_t *reqs,
    ngx_uint_t nreqs, ngx_mail_spam_done_pt handler, void *data)
{
    ngx_uint_t                     i;
    ngx_str_t                      key;
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
    lk->m = m;
    lk->handler = handler;
    lk->data = data;
    lk->nscopes = nreqs + 1;

    lk->scopes = ngx_pcalloc(pool,
                        lk->nscopes * sizeof(ngx_mail_spam_bayes_scope_t));
    lk->by = ngx_pcalloc(pool, (nreqs + 1) * sizeof(ngx_uint_t));

    if (lk->scopes == NULL || lk->by == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < nreqs; i++) {
        reqs[i].probability = -1;
        reqs[i].done = 0;

        if (ngx_mail_spam_bayes_scope(pool, &reqs[i].user,
                                      &lk->scopes[i].name)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ngx_str_set(&lk->scopes[nreqs].name, NGX_MAIL_SPAM_SCOPE_GLOBAL);

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

    tmp = ngx_create_pool(4096, log);
    if (tmp == NULL) {
        return NGX_ERROR;
    }

    cmds = ngx_palloc(tmp, lk->nscopes * sizeof(ngx_mail_redis_cmd_t));
    if (cmds == NULL) {
        goto failed;
    }

    for (i = 0; i < lk->nscopes; i++) {
        if (ngx_mail_spam_bayes_key(tmp, MAIL_KEY_BAYES_FMT,
                                    &lk->scopes[i].name, &key)
            != NGX_OK)
        {
            goto failed;
        }

        ngx_mail_redis_cmd_init(&cmds[i], "HMGET");
        ngx_mail_redis_cmd_arg(&cmds[i], key.data, key.len);
        ngx_mail_redis_cmd_cstr(&cmds[i], NGX_MAIL_SPAM_FIELD_NSPAM);
        ngx_mail_redis_cmd_cstr(&cmds[i], NGX_MAIL_SPAM_FIELD_NHAM);
    }

    lk->redis = ngx_mail_redis_send(cmds, lk->nscopes,
                                    ngx_mail_spam_bayes_counted, lk, log);
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


/* the message counts are in: which scope judges for whom */

static void
ngx_mail_spam_bayes_counted(redisReply *reply, void *data)
{
    ngx_mail_spam_bayes_lookup_t  *lk = data;

    ngx_uint_t                     i, global;
    redisReply                   **replies;
    ngx_mail_spam_bayes_scope_t   *scope;

    lk->redis = NULL;

    if (ngx_mail_spam_bayes_replies_ok(lk, reply, lk->nscopes, 2, &replies)
        != NGX_OK)
    {
        ngx_mail_spam_bayes_done(lk);
        return;
    }

    for (i = 0; i < lk->nscopes; i++) {
        scope = &lk->scopes[i];

        scope->nspam = ngx_mail_spam_bayes_count(replies[i]->element[0]);
        scope->nham = ngx_mail_spam_bayes_count(replies[i]->element[1]);

        /* Robinson's p(w) divides by both counts: one at least */
        scope->judges =
            scope->nspam >= ngx_max(ngx_mail_spam_bayes_min_learned, 1)
            && scope->nham >= ngx_max(ngx_mail_spam_bayes_min_learned, 1);
    }

    /* a recipient's own counts when there are enough of them */

    global = lk->nreqs;

    for (i = 0; i < lk->nreqs; i++) {
        lk->by[i] = lk->scopes[i].judges ? i : global;

        if (lk->scopes[lk->by[i]].judges) {
            lk->scopes[lk->by[i]].used = 1;
        }
    }

    if (ngx_mail_spam_bayes_lookup_tokens(lk) != NGX_OK) {
        ngx_mail_spam_bayes_done(lk);
    }
}


/* the token counts of the scopes that judge, each once */

static ngx_int_t
ngx_mail_spam_bayes_lookup_tokens(ngx_mail_spam_bayes_lookup_t *lk)
{
    u_char                *field;
    ngx_str_t              key;
    ngx_uint_t             i, j, c, n;
    ngx_pool_t            *tmp;
    ngx_mail_redis_cmd_t  *cmds;

    static const char  *formats[] = {
        MAIL_KEY_BAYES_SPAM_FMT, MAIL_KEY_BAYES_HAM_FMT
    };

    n = 0;

    for (i = 0; i < lk->nscopes; i++) {
        if (lk->scopes[i].used) {
            lk->scopes[i].reply = n;
            n += 2;
        }
    }

    if (n == 0 || lk->ntokens == 0) {
        /* nobody judges, or by no evidence: no token to read */
        ngx_mail_spam_bayes_tokens_judged(lk, NULL);
        return NGX_OK;
    }

    tmp = ngx_create_pool(16384, lk->log);
    if (tmp == NULL) {
        return NGX_ERROR;
    }

    cmds = ngx_palloc(tmp, n * sizeof(ngx_mail_redis_cmd_t));
    if (cmds == NULL) {
        goto failed;
    }

    lk->nreplies = n;
    n = 0;

    for (i = 0; i < lk->nscopes; i++) {
        if (!lk->scopes[i].used) {
            continue;
        }

        for (c = 0; c < 2; c++) {
            if (ngx_mail_spam_bayes_key(tmp, formats[c], &lk->scopes[i].name,
                                        &key)
                != NGX_OK
                || ngx_mail_redis_cmd_init_n(&cmds[n], "HMGET",
                                             2 + lk->ntokens, tmp)
                   != NGX_OK)
            {
                goto failed;
            }

            ngx_mail_redis_cmd_arg(&cmds[n], key.data, key.len);

            field = (u_char *) lk->m->fields;

            for (j = 0; j < lk->ntokens; j++) {
                ngx_mail_redis_cmd_arg(&cmds[n], field,
                                       NGX_MAIL_SPAM_FIELD_LEN);
                field += NGX_MAIL_SPAM_FIELD_LEN;
            }

            n++;
        }
    }

    lk->redis = ngx_mail_redis_send(cmds, n, ngx_mail_spam_bayes_looked_up,
                                    lk, lk->log);
    if (lk->redis == NULL) {
        ngx_log_error(NGX_LOG_ERR, lk->log, 0,
                      "spam: bayes lookup not sent: Redis unavailable");
        goto failed;
    }

    ngx_destroy_pool(tmp);

    return NGX_OK;

failed:

    ngx_destroy_pool(tmp);

    return NGX_ERROR;
}


static void
ngx_mail_spam_bayes_looked_up(redisReply *reply, void *data)
{
    ngx_mail_spam_bayes_lookup_t  *lk = data;

    redisReply  **replies;

    lk->redis = NULL;

    if (ngx_mail_spam_bayes_replies_ok(lk, reply, lk->nreplies, lk->ntokens,
                                       &replies)
        != NGX_OK)
    {
        ngx_mail_spam_bayes_done(lk);
        return;
    }

    ngx_mail_spam_bayes_tokens_judged(lk, replies);
}


/* each recipient judged by its scope; replies NULL: no token read */

static void
ngx_mail_spam_bayes_tokens_judged(ngx_mail_spam_bayes_lookup_t *lk,
    redisReply **replies)
{
    ngx_uint_t                    i;
    ngx_mail_spam_bayes_req_t    *req;
    ngx_mail_spam_bayes_scope_t  *scope;

    for (i = 0; i < lk->nreqs; i++) {
        req = &lk->reqs[i];
        scope = &lk->scopes[lk->by[i]];

        if (!scope->judges) {
            continue;
        }

        req->scope = (lk->by[i] == lk->nreqs) ? scope->name : req->user;

        ngx_mail_spam_bayes_judge(lk, req, scope,
                                  replies ? &replies[scope->reply] : NULL);
    }

    ngx_mail_spam_bayes_done(lk);
}


static void
ngx_mail_spam_bayes_done(ngx_mail_spam_bayes_lookup_t *lk)
{
    ngx_uint_t             i;
    ngx_mail_spam_done_pt  handler;

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
 * The replies of a request of n commands, each an array of "elements";
 * one command is sent alone, more are in MULTI: EXEC's array
 */

static ngx_int_t
ngx_mail_spam_bayes_replies_ok(ngx_mail_spam_bayes_lookup_t *lk,
    redisReply *reply, ngx_uint_t n, ngx_uint_t elements,
    redisReply ***replies)
{
    ngx_uint_t  i;

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
            || (*replies)[i]->elements != elements)
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


/* replies: the scope's spam and ham token counts; NULL: no tokens */

static void
ngx_mail_spam_bayes_judge(ngx_mail_spam_bayes_lookup_t *lk,
    ngx_mail_spam_bayes_req_t *req, ngx_mail_spam_bayes_scope_t *scope,
    redisReply **replies)
{
    ngx_uint_t                     i;
    ngx_mail_spam_bayes_count_t   *counts;
    ngx_mail_spam_bayes_result_t   result;

    if (lk->ntokens == 0 || replies == NULL) {
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
                                                   replies[0]->element[i]);
        counts[i].ham_count = ngx_mail_spam_bayes_count(
                                                   replies[1]->element[i]);
    }

    if (ngx_mail_spam_bayes_classify(counts, lk->tokens, lk->ntokens,
                                     scope->nspam, scope->nham, NULL,
                                     &result)
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
