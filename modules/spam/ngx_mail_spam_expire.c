
/*
 * spam_bayes_expire: the Bayes counts expire by themselves, as
 * "mailctl spam expire --all" run from cron would make them, and with
 * the same script (NGX_MAIL_SPAM_EXPIRE_LUA).  Every worker of every
 * node has a timer; the one that takes lock:bayes-expire (SET NX, for
 * spam_bayes_expire_interval) walks every scope, the others wait for
 * their next turn.  The walk is a chain of short requests on the
 * worker's event loop: SCAN for the scopes (bayes:{S}), then for each
 * scope its spam, ham, age and learnt hashes a thousand fields a step,
 * so that Redis and the worker serve mail between steps.  A run cut
 * short (Redis gone, nginx reloaded) forgets nothing wrongly: the next
 * one starts over.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "mail_keys.h"
#include "ngx_mail_redis.h"
#include "ngx_mail_spam.h"


/* the first turn after a start: soon, but not all workers at once */
#define NGX_MAIL_SPAM_EXPIRE_FIRST    (10 * 60 * 1000)

/* a turn Redis could not take part in is tried again this soon */
#define NGX_MAIL_SPAM_EXPIRE_RETRY    (60 * 1000)

/* the walks that forget, in ngx_mail_spam_expire_walks[] */
#define NGX_MAIL_SPAM_EXPIRE_TOKENS   2
#define NGX_MAIL_SPAM_EXPIRE_DIGESTS  3


/*
 * The lock and Redis's clock in one: the day the tokens were dated by
 * is Redis's.  KEYS: the lock.  ARGV: its holder, its life in ms.
 * Returns the time, or nil when another holds the lock.
 */
#define NGX_MAIL_SPAM_EXPIRE_LOCK_LUA                                         \
    "if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])\n"       \
    "then return false end\n"                                                 \
    "return redis.call('TIME')[1]\n"


typedef struct {
    ngx_mail_spam_main_conf_t  *conf;
    ngx_log_t                  *log;
    ngx_event_t                 timer;
    ngx_str_t                   holder;

    /* one run's; the pool is a SCAN step's, renewed at each */
    ngx_flag_t                  running;
    ngx_pool_t                 *pool;
    u_char                      scan[NGX_MAIL_SPAM_EXPIRE_CURSOR];
    ngx_array_t                *scopes;     /* ngx_str_t, a SCAN step's */
    ngx_uint_t                  scope;
    ngx_uint_t                  walk;       /* spam, ham, age, learnt */
    u_char                      cursor[NGX_MAIL_SPAM_EXPIRE_CURSOR];
    ngx_str_t                   keys[NGX_MAIL_SPAM_EXPIRE_WALKS];
    u_char                      oldest[NGX_INT_T_LEN + 1];
    u_char                      most[NGX_INT_T_LEN + 1];
    ngx_uint_t                  nscopes;
    ngx_uint_t                  forgotten;
    ngx_uint_t                  digests;    /* forgotten */
} ngx_mail_spam_expiry_t;


static void ngx_mail_spam_expire_turn(ngx_event_t *ev);
static void ngx_mail_spam_expire_locked(redisReply *reply, void *data);
static void ngx_mail_spam_expire_scan(ngx_mail_spam_expiry_t *ex);
static void ngx_mail_spam_expire_scanned(redisReply *reply, void *data);
static void ngx_mail_spam_expire_next_scope(ngx_mail_spam_expiry_t *ex);
static void ngx_mail_spam_expire_step(ngx_mail_spam_expiry_t *ex);
static void ngx_mail_spam_expire_stepped(redisReply *reply, void *data);
static ngx_int_t ngx_mail_spam_expire_cursor(redisReply *reply, int type,
    u_char *cursor, ngx_log_t *log);
static ngx_int_t ngx_mail_spam_expire_exiting(ngx_mail_spam_expiry_t *ex);
static void ngx_mail_spam_expire_end(ngx_mail_spam_expiry_t *ex,
    ngx_uint_t done);


static ngx_mail_spam_expiry_t  ngx_mail_spam_expiry;

static char  ngx_mail_spam_expire_lock_lua[] = NGX_MAIL_SPAM_EXPIRE_LOCK_LUA;
static char  ngx_mail_spam_expire_lua[] = NGX_MAIL_SPAM_EXPIRE_LUA;

static const char  *ngx_mail_spam_expire_walks[] = {
    NGX_MAIL_SPAM_CLASS_SPAM, NGX_MAIL_SPAM_CLASS_HAM, NGX_MAIL_SPAM_WALK_AGE,
    NGX_MAIL_SPAM_WALK_LEARNT
};


ngx_int_t
ngx_mail_spam_expire_init(ngx_cycle_t *cycle, ngx_mail_spam_main_conf_t *conf)
{
    u_char                  *p;
    ngx_msec_t               first;
    ngx_mail_spam_expiry_t  *ex;

    ex = &ngx_mail_spam_expiry;

    ngx_memzero(ex, sizeof(ngx_mail_spam_expiry_t));

    ex->conf = conf;
    ex->log = cycle->log;

    /* the lock's value: which node and process holds it */
    p = ngx_pnalloc(cycle->pool, cycle->hostname.len + NGX_INT64_LEN + 2);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ex->holder.data = p;
    ex->holder.len = ngx_sprintf(p, "%V:%P", &cycle->hostname, ngx_pid) - p;

    ex->timer.handler = ngx_mail_spam_expire_turn;
    ex->timer.data = ex;
    ex->timer.log = cycle->log;
    ex->timer.cancelable = 1;

    first = ngx_min(conf->expire_interval, NGX_MAIL_SPAM_EXPIRE_FIRST);
    first += ngx_random() % (first / 10 + 1);

    ngx_add_timer(&ex->timer, first);

    return NGX_OK;
}


static void
ngx_mail_spam_expire_turn(ngx_event_t *ev)
{
    ngx_mail_spam_expiry_t  *ex = ev->data;

    u_char                 *p;
    ngx_msec_t              interval;
    ngx_mail_redis_cmd_t    cmd;
    u_char                  life[NGX_TIME_T_LEN];

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    interval = ex->conf->expire_interval;

    ngx_add_timer(&ex->timer, interval);

    if (ex->running) {
        /* the last run is still walking */
        return;
    }

    /*
     * the lock ends a little before the next turn, which the way to
     * Redis delays less than that: else the holder's own next turn would
     * find it still held, and be lost
     */
    p = ngx_sprintf(life, "%M",
                    interval - ngx_min(interval / 10, 60 * 1000));

    ngx_mail_redis_cmd_init(&cmd, "EVAL");
    ngx_mail_redis_cmd_cstr(&cmd, ngx_mail_spam_expire_lock_lua);
    ngx_mail_redis_cmd_cstr(&cmd, "1");
    ngx_mail_redis_cmd_cstr(&cmd, MAIL_KEY_BAYES_EXPIRE_LOCK);
    ngx_mail_redis_cmd_arg(&cmd, ex->holder.data, ex->holder.len);
    ngx_mail_redis_cmd_arg(&cmd, life, p - life);

    if (ngx_mail_redis_send(&cmd, 1, ngx_mail_spam_expire_locked, ex,
                            ex->log)
        == NULL)
    {
        ngx_add_timer(&ex->timer,
                      ngx_min(interval, NGX_MAIL_SPAM_EXPIRE_RETRY));
    }
}


static void
ngx_mail_spam_expire_locked(redisReply *reply, void *data)
{
    ngx_mail_spam_expiry_t  *ex = data;

    ngx_int_t  now, today;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (reply == NULL || ngx_mail_redis_reply_is_error(reply, ex->log)) {
        /* Redis did not answer: this turn is tried again soon */
        ngx_add_timer(&ex->timer, ngx_min(ex->conf->expire_interval,
                                          NGX_MAIL_SPAM_EXPIRE_RETRY));
        return;
    }

    if (reply->type != REDIS_REPLY_STRING) {
        /* nil: another worker or node has this turn */
        return;
    }

    now = ngx_atoi((u_char *) reply->str, reply->len);
    if (now == NGX_ERROR) {
        return;
    }

    ex->running = 1;
    today = now / 86400;

    ngx_sprintf(ex->oldest, "%i%Z", today - ex->conf->expire_days);
    ngx_sprintf(ex->most, "%ui%Z", ex->conf->expire_max_count);
    ngx_cpystrn(ex->scan, (u_char *) "0", sizeof(ex->scan));

    ex->nscopes = 0;
    ex->forgotten = 0;
    ex->digests = 0;

    ngx_log_error(NGX_LOG_INFO, ex->log, 0,
                  "spam: bayes expiry: forgetting tokens seen at most %s "
                  "times and message digests, not learnt for %i days",
                  ex->most, ex->conf->expire_days);

    ngx_mail_spam_expire_scan(ex);
}


/* the scopes: every bayes:{S} hash of message counts */

static void
ngx_mail_spam_expire_scan(ngx_mail_spam_expiry_t *ex)
{
    ngx_mail_redis_cmd_t  cmd;

    /* a step's scopes and keys go with it: a run holds one step's */

    if (ex->pool) {
        ngx_destroy_pool(ex->pool);
    }

    ex->pool = ngx_create_pool(4096, ex->log);
    if (ex->pool == NULL) {
        ngx_mail_spam_expire_end(ex, 0);
        return;
    }

    ngx_mail_redis_cmd_init(&cmd, "SCAN");
    ngx_mail_redis_cmd_cstr(&cmd, (char *) ex->scan);
    ngx_mail_redis_cmd_cstr(&cmd, "MATCH");
    ngx_mail_redis_cmd_cstr(&cmd, "bayes:{*}");
    ngx_mail_redis_cmd_cstr(&cmd, "COUNT");
    ngx_mail_redis_cmd_cstr(&cmd, NGX_MAIL_SPAM_EXPIRE_SCAN);

    if (ngx_mail_redis_send(&cmd, 1, ngx_mail_spam_expire_scanned, ex,
                            ex->log)
        == NULL)
    {
        ngx_mail_spam_expire_end(ex, 0);
    }
}


static void
ngx_mail_spam_expire_scanned(redisReply *reply, void *data)
{
    ngx_mail_spam_expiry_t  *ex = data;

    ngx_str_t   *scope;
    ngx_uint_t   i;
    redisReply  *keys, *key;

    if (ngx_mail_spam_expire_exiting(ex) == NGX_OK) {
        return;
    }

    if (ngx_mail_spam_expire_cursor(reply, REDIS_REPLY_ARRAY, ex->scan,
                                    ex->log)
        != NGX_OK)
    {
        ngx_mail_spam_expire_end(ex, 0);
        return;
    }

    keys = reply->element[1];

    ex->scopes = ngx_array_create(ex->pool, keys->elements + 1,
                                  sizeof(ngx_str_t));
    if (ex->scopes == NULL) {
        ngx_mail_spam_expire_end(ex, 0);
        return;
    }

    for (i = 0; i < keys->elements; i++) {
        key = keys->element[i];

        /* "bayes:{" S "}" */
        if (key->type != REDIS_REPLY_STRING || key->len < 9) {
            continue;
        }

        scope = ngx_array_push(ex->scopes);
        if (scope == NULL) {
            ngx_mail_spam_expire_end(ex, 0);
            return;
        }

        scope->len = key->len - 8;
        scope->data = ngx_pnalloc(ex->pool, scope->len + 1);
        if (scope->data == NULL) {
            ngx_mail_spam_expire_end(ex, 0);
            return;
        }

        ngx_cpystrn(scope->data, (u_char *) key->str + 7, scope->len + 1);
    }

    ex->scope = 0;
    ngx_mail_spam_expire_next_scope(ex);
}


static void
ngx_mail_spam_expire_next_scope(ngx_mail_spam_expiry_t *ex)
{
    ngx_uint_t   i;
    ngx_str_t   *scope;

    static const char  *formats[] = {
        MAIL_KEY_BAYES_SPAM_FMT, MAIL_KEY_BAYES_HAM_FMT,
        MAIL_KEY_BAYES_AGE_FMT, MAIL_KEY_BAYES_LEARNT_FMT
    };

    if (ex->scope == ex->scopes->nelts) {
        if (ngx_strcmp(ex->scan, "0") == 0) {
            ngx_mail_spam_expire_end(ex, 1);
            return;
        }

        ngx_mail_spam_expire_scan(ex);
        return;
    }

    scope = (ngx_str_t *) ex->scopes->elts + ex->scope;

    for (i = 0; i < NGX_MAIL_SPAM_EXPIRE_WALKS; i++) {
        ex->keys[i].data = ngx_pnalloc(ex->pool,
                                       ngx_strlen(formats[i]) + scope->len);
        if (ex->keys[i].data == NULL) {
            ngx_mail_spam_expire_end(ex, 0);
            return;
        }

        ex->keys[i].len = ngx_sprintf(ex->keys[i].data, formats[i],
                                      scope->data)
                          - ex->keys[i].data;
    }

    ex->nscopes++;
    ex->walk = 0;
    ngx_cpystrn(ex->cursor, (u_char *) "0", sizeof(ex->cursor));

    ngx_mail_spam_expire_step(ex);
}


/*
 * date the tokens that have no date yet (spam, ham), then forget tokens
 * (age) and digests (learnt) by date
 */

static void
ngx_mail_spam_expire_step(ngx_mail_spam_expiry_t *ex)
{
    ngx_uint_t            i;
    ngx_mail_redis_cmd_t  cmd;

    ngx_mail_redis_cmd_init(&cmd, "EVAL");
    ngx_mail_redis_cmd_cstr(&cmd, ngx_mail_spam_expire_lua);
    ngx_mail_redis_cmd_cstr(&cmd, "4");

    for (i = 0; i < NGX_MAIL_SPAM_EXPIRE_WALKS; i++) {
        ngx_mail_redis_cmd_arg(&cmd, ex->keys[i].data, ex->keys[i].len);
    }

    ngx_mail_redis_cmd_cstr(&cmd, ngx_mail_spam_expire_walks[ex->walk]);
    ngx_mail_redis_cmd_cstr(&cmd, (char *) ex->cursor);
    ngx_mail_redis_cmd_cstr(&cmd, (char *) ex->oldest);
    ngx_mail_redis_cmd_cstr(&cmd, (char *) ex->most);
    ngx_mail_redis_cmd_cstr(&cmd, NGX_MAIL_SPAM_EXPIRE_STEP);

    if (ngx_mail_redis_send(&cmd, 1, ngx_mail_spam_expire_stepped, ex,
                            ex->log)
        == NULL)
    {
        ngx_mail_spam_expire_end(ex, 0);
    }
}


static void
ngx_mail_spam_expire_stepped(redisReply *reply, void *data)
{
    ngx_mail_spam_expiry_t  *ex = data;

    if (ngx_mail_spam_expire_exiting(ex) == NGX_OK) {
        return;
    }

    if (ngx_mail_spam_expire_cursor(reply, REDIS_REPLY_INTEGER, ex->cursor,
                                    ex->log)
        != NGX_OK)
    {
        ngx_mail_spam_expire_end(ex, 0);
        return;
    }

    if (reply->element[1]->integer > 0) {
        if (ex->walk == NGX_MAIL_SPAM_EXPIRE_TOKENS) {
            ex->forgotten += reply->element[1]->integer;

        } else if (ex->walk == NGX_MAIL_SPAM_EXPIRE_DIGESTS) {
            ex->digests += reply->element[1]->integer;
        }
    }

    if (ngx_strcmp(ex->cursor, "0") != 0) {
        ngx_mail_spam_expire_step(ex);
        return;
    }

    if (++ex->walk < NGX_MAIL_SPAM_EXPIRE_WALKS) {
        ngx_mail_spam_expire_step(ex);
        return;
    }

    ex->scope++;
    ngx_mail_spam_expire_next_scope(ex);
}


/* { cursor, what of the given type }: the cursor copied into "cursor" */

static ngx_int_t
ngx_mail_spam_expire_cursor(redisReply *reply, int type, u_char *cursor,
    ngx_log_t *log)
{
    if (reply == NULL || ngx_mail_redis_reply_is_error(reply, log)) {
        return NGX_ERROR;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[0]->len >= NGX_MAIL_SPAM_EXPIRE_CURSOR
        || reply->element[1]->type != type)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "spam: bayes expiry: unexpected reply");
        return NGX_ERROR;
    }

    ngx_cpystrn(cursor, (u_char *) reply->element[0]->str,
                reply->element[0]->len + 1);

    return NGX_OK;
}


/* a worker that is to exit does not wait for the walk: it stops */

static ngx_int_t
ngx_mail_spam_expire_exiting(ngx_mail_spam_expiry_t *ex)
{
    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_NOTICE, ex->log, 0,
                  "spam: bayes expiry stopped after %ui scopes: exiting",
                  ex->nscopes);

    if (ex->pool) {
        ngx_destroy_pool(ex->pool);
        ex->pool = NULL;
    }

    ex->running = 0;

    return NGX_OK;
}


static void
ngx_mail_spam_expire_end(ngx_mail_spam_expiry_t *ex, ngx_uint_t done)
{
    if (done) {
        ngx_log_error(NGX_LOG_NOTICE, ex->log, 0,
                      "spam: bayes expiry: %ui tokens and %ui digests "
                      "forgotten in %ui scopes",
                      ex->forgotten, ex->digests, ex->nscopes);

    } else {
        ngx_log_error(NGX_LOG_WARN, ex->log, 0,
                      "spam: bayes expiry stopped after %ui scopes, "
                      "%ui tokens and %ui digests forgotten: Redis failed",
                      ex->nscopes, ex->forgotten, ex->digests);
    }

    if (ex->pool) {
        ngx_destroy_pool(ex->pool);
        ex->pool = NULL;
    }

    ex->running = 0;
}
