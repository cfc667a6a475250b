
/*
 * Training the spam filter from IMAP: what a user files into the \Junk
 * mailbox (COPY or MOVE) is learnt as spam in the user's own Bayes
 * counts, what the user moves out of \Junk into any mailbox but \Trash
 * as ham: the filter was wrong about it.  Deleting a message from Junk
 * says nothing.  The copy script tells the class and the blobs
 * (ngx_mail_imapd_copy_lua); the first NGX_MAIL_IMAPD_TRAIN_MAX
 * messages of one command are learnt, so that a client moving a
 * mailbox of ten thousand messages costs a bounded amount of work.
 *
 * The client has its tagged reply without waiting: the messages are
 * read and learnt one after another in a pool of their own, which
 * outlives the session if need be.  A failure is logged and nothing
 * else: the filter has learnt one message less.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "mail_keys.h"
#include "ngx_mail_redis.h"
#include "ngx_mail_imapd.h"
#include "ngx_mail_spam.h"
#include "ngx_mail_spam_store.h"


typedef struct {
    ngx_pool_t                 *pool;
    /* the session's, without its handler: the session may go first */
    ngx_log_t                   log;
    ngx_str_t                   user;
    ngx_uint_t                  spam;
    ngx_str_t                  *blobs;
    ngx_uint_t                  nblobs;
    ngx_uint_t                  next;
    ngx_uint_t                  learnt;
    ngx_uint_t                  gone;        /* expunged meanwhile */
} ngx_mail_imapd_train_t;


static void ngx_mail_imapd_train_next(ngx_mail_imapd_train_t *t);
static void ngx_mail_imapd_train_read(redisReply *reply, void *data);
static void ngx_mail_imapd_train_learnt(ngx_int_t rc, void *data);
static void ngx_mail_imapd_train_done(ngx_mail_imapd_train_t *t);


void
ngx_mail_imapd_train(ngx_mail_session_t *s, redisReply *class,
    redisReply *blobs)
{
    size_t                   i;
    ngx_pool_t              *pool;
    ngx_mail_imapd_train_t  *t;

    if (blobs->elements == 0) {
        return;
    }

    pool = ngx_create_pool(4096, s->connection->log);
    if (pool == NULL) {
        return;
    }

    t = ngx_pcalloc(pool, sizeof(ngx_mail_imapd_train_t));
    if (t == NULL) {
        goto failed;
    }

    t->pool = pool;
    t->log = *s->connection->log;
    t->log.handler = NULL;
    t->log.data = NULL;
    t->log.action = NULL;
    pool->log = &t->log;

    t->spam = (class->len == sizeof(NGX_MAIL_SPAM_CLASS_SPAM) - 1
               && ngx_strncmp(class->str, NGX_MAIL_SPAM_CLASS_SPAM,
                              class->len) == 0);

    t->user.data = ngx_pstrdup(pool, &s->login);
    t->user.len = s->login.len;

    t->nblobs = ngx_min(blobs->elements, NGX_MAIL_IMAPD_TRAIN_MAX);
    t->blobs = ngx_palloc(pool, t->nblobs * sizeof(ngx_str_t));

    if (t->user.data == NULL || t->blobs == NULL) {
        goto failed;
    }

    for (i = 0; i < t->nblobs; i++) {
        if (blobs->element[i]->type != REDIS_REPLY_STRING) {
            goto failed;
        }

        /* the key: blob:{ID} */

        t->blobs[i].data = ngx_pnalloc(pool, sizeof("blob:{}") - 1
                                             + blobs->element[i]->len);
        if (t->blobs[i].data == NULL) {
            goto failed;
        }

        t->blobs[i].len = ngx_sprintf(t->blobs[i].data, "blob:{%*s}",
                                      blobs->element[i]->len,
                                      blobs->element[i]->str)
                          - t->blobs[i].data;
    }

    ngx_mail_imapd_train_next(t);

    return;

failed:

    ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                  "imap: spam training of \"%V\" not started: "
                  "out of memory", &s->login);
    ngx_destroy_pool(pool);
}


/* the next message, read no further than the spam filter reads it */

static void
ngx_mail_imapd_train_next(ngx_mail_imapd_train_t *t)
{
    u_char                 last[NGX_INT_T_LEN];
    ngx_str_t             *key;
    ngx_mail_redis_cmd_t   cmd;

    if (t->next == t->nblobs) {
        ngx_mail_imapd_train_done(t);
        return;
    }

    key = &t->blobs[t->next++];

    ngx_mail_redis_cmd_init(&cmd, "GETRANGE");
    ngx_mail_redis_cmd_arg(&cmd, key->data, key->len);
    ngx_mail_redis_cmd_cstr(&cmd, "0");
    ngx_mail_redis_cmd_arg(&cmd, last,
                           ngx_sprintf(last, "%d", NGX_MAIL_SPAM_READ_MAX - 1)
                           - last);

    if (ngx_mail_redis_send(&cmd, 1, ngx_mail_imapd_train_read, t, &t->log)
        == NULL)
    {
        ngx_log_error(NGX_LOG_ERR, &t->log, 0,
                      "imap: spam training of \"%V\" stopped: "
                      "Redis unavailable", &t->user);
        ngx_mail_imapd_train_done(t);
    }
}


static void
ngx_mail_imapd_train_read(redisReply *reply, void *data)
{
    ngx_mail_imapd_train_t  *t = data;

    if (ngx_mail_redis_reply_is_error(reply, &t->log)) {
        ngx_log_error(NGX_LOG_ERR, &t->log, 0,
                      "imap: spam training of \"%V\" stopped", &t->user);
        ngx_mail_imapd_train_done(t);
        return;
    }

    /* expunged and gone meanwhile: nothing to learn */

    if (reply->type != REDIS_REPLY_STRING || reply->len == 0) {
        t->gone++;
        ngx_mail_imapd_train_next(t);
        return;
    }

    if (ngx_mail_spam_bayes_learn(t->pool, &t->log, (u_char *) reply->str,
                                  reply->len, &t->user, t->spam,
                                  ngx_mail_imapd_train_learnt, t)
        != NGX_OK)
    {
        ngx_mail_imapd_train_next(t);
    }
}


static void
ngx_mail_imapd_train_learnt(ngx_int_t rc, void *data)
{
    ngx_mail_imapd_train_t  *t = data;

    if (rc == NGX_OK) {
        t->learnt++;
    }

    ngx_mail_imapd_train_next(t);
}


static void
ngx_mail_imapd_train_done(ngx_mail_imapd_train_t *t)
{
    ngx_uint_t  failed, level;

    failed = t->nblobs - t->learnt - t->gone;
    level = failed ? NGX_LOG_ERR : NGX_LOG_INFO;

    ngx_log_error(level, &t->log, 0,
                  "imap: %ui of %ui messages learnt as %s for \"%V\", "
                  "%ui failed", t->learnt, t->nblobs,
                  t->spam ? NGX_MAIL_SPAM_CLASS_SPAM
                          : NGX_MAIL_SPAM_CLASS_HAM,
                  &t->user, failed);

    ngx_destroy_pool(t->pool);
}
