
/*
 * The spam filter in the SMTP path: the checks of one message and what
 * they come to.
 *
 *   ngx_mail_spam_module.c    directives, the score, the verdict, the log
 *                             line (the SMTP server calls it)
 *   ngx_mail_spam_dnsbl.c     RFC 5782 lookups of the client address,
 *                             cached in Redis with their TTL
 *   ngx_mail_spam_spf_run.c   the SPF evaluator (ngx_mail_spf.c) on DNS
 *   ngx_mail_spam_job.c       what those two share: time limit, handler
 *   ngx_mail_spam_expire.c    spam_bayes_expire: old rare tokens go
 *   ngx_mail_spam_store.c     the Bayes token counts in Redis: classify
 *                             and learn (SMTP, IMAP training, mailctl)
 *   ngx_mail_spam_bayes.c     tokenizer and classifier (plain C)
 *   ngx_mail_spf.c            RFC 7208 evaluator (plain C)
 *
 * DNS is the DNS module's c-ares channel (ngx_mail_dns_query()).
 * Key names: docs/redis-keys.md, "Spam filter".
 */

#ifndef _NGX_MAIL_SPAM_H_INCLUDED_
#define _NGX_MAIL_SPAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_spf.h"
#include "ngx_mail_spam_store.h"


typedef void (*ngx_mail_spam_done_pt)(void *data);


/* spam_bayes_expire off (NGX_CONF_UNSET is -1: "not given") */
#define NGX_MAIL_SPAM_EXPIRE_OFF  -2

typedef struct {
    ngx_int_t                   expire_days;
    ngx_uint_t                  expire_max_count;
    ngx_msec_t                  expire_interval;
} ngx_mail_spam_main_conf_t;


/* spam_bayes_expire: a timer in every worker, one run a turn */
ngx_int_t ngx_mail_spam_expire_init(ngx_cycle_t *cycle,
    ngx_mail_spam_main_conf_t *conf);


/*
 * A DNS check's time limit and handler (ngx_mail_spam_job.c).  The check
 * sets ctx, its hooks, handler and data, calls init, starts its
 * requests and then clears "starting"; each hook gets ctx.  timed_out
 * marks what did not answer; stop cancels the check's requests; done
 * (may be NULL) sets its result's done bit.  finish calls the handler
 * once, last (later, from a posted event, while "starting"); cancel
 * stops the check without it.
 */

typedef void (*ngx_mail_spam_hook_pt)(void *ctx);

typedef struct {
    void                       *ctx;
    ngx_mail_spam_hook_pt       timed_out;
    ngx_mail_spam_hook_pt       stop;
    ngx_mail_spam_hook_pt       done;
    ngx_mail_spam_done_pt       handler;
    void                       *data;

    ngx_event_t                 timer;
    ngx_event_t                 post;
    unsigned                    starting:1;
    unsigned                    finished:1;
} ngx_mail_spam_job_t;

ngx_int_t ngx_mail_spam_job_init(ngx_mail_spam_job_t *job, ngx_pool_t *pool,
    ngx_log_t *log, ngx_msec_t timeout);
void ngx_mail_spam_job_finish(ngx_mail_spam_job_t *job);
void ngx_mail_spam_job_cancel(ngx_mail_spam_job_t *job);


/* DNSBL (RFC 5782) */

typedef struct {
    ngx_str_t                   zone;
    double                      weight;
} ngx_mail_spam_dnsbl_zone_t;


typedef struct {
    ngx_str_t                   zone;
    in_addr_t                   answer;      /* 127.0.0.x, network order */
} ngx_mail_spam_dnsbl_hit_t;


typedef struct ngx_mail_spam_dnsbl_s  ngx_mail_spam_dnsbl_t;

struct ngx_mail_spam_dnsbl_s {
    /* the result, once the handler is called */
    double                      score;       /* the weights of the hits */
    ngx_array_t                 hits;        /* ngx_mail_spam_dnsbl_hit_t */
    ngx_uint_t                  failed;      /* zones without an answer */
    unsigned                    done:1;

    /* the lookups' own */
    void                       *priv;
};


/*
 * Looks up the address in every zone (Redis cache first, then DNS),
 * IPv4 and IPv6 (RFC 5782 2.4).  The handler is called once, when every
 * zone answered or "timeout" passed, never before this returns; "pool"
 * must outlive it, or ngx_mail_spam_dnsbl_cancel() be called first.
 * NULL: out of memory, or no zones.
 */
ngx_mail_spam_dnsbl_t *ngx_mail_spam_dnsbl_start(ngx_pool_t *pool,
    ngx_log_t *log, struct sockaddr *sa, socklen_t socklen,
    ngx_array_t *zones, ngx_msec_t timeout, ngx_mail_spam_done_pt handler,
    void *data);
void ngx_mail_spam_dnsbl_cancel(ngx_mail_spam_dnsbl_t *d);


/* SPF (RFC 7208) */

typedef struct ngx_mail_spam_spf_s  ngx_mail_spam_spf_t;

struct ngx_mail_spam_spf_s {
    ngx_mail_spf_t             *spf;         /* spf->result once done */
    unsigned                    done:1;
    void                       *priv;
};


/*
 * Evaluates check_host() for the identity in "params" (an empty sender
 * domain: the HELO identity).  Same contract as the DNSBL: the handler
 * once, never before this returns, within "timeout" (temperror then).
 */
ngx_mail_spam_spf_t *ngx_mail_spam_spf_start(ngx_pool_t *pool,
    ngx_log_t *log, ngx_mail_spf_params_t *params, ngx_msec_t timeout,
    ngx_mail_spam_done_pt handler, void *data);
void ngx_mail_spam_spf_cancel(ngx_mail_spam_spf_t *s);


/* Bayes in Redis */

typedef struct ngx_mail_spam_bayes_req_s  ngx_mail_spam_bayes_req_t;

struct ngx_mail_spam_bayes_req_s {
    ngx_str_t                   user;        /* a recipient */
    /* the result: -1 when the scope has learnt too little to judge */
    double                      probability;
    ngx_str_t                   scope;       /* the one that judged */
    unsigned                    done:1;
};


/*
 * spam_bayes_min_learned (default NGX_MAIL_SPAM_MIN_LEARNED, 20): a scope
 * judges once it has learnt this many spams and this many hams; set by
 * the spam module's configuration
 */
extern ngx_uint_t  ngx_mail_spam_bayes_min_learned;

/*
 * Classifies a message (its tokens, ngx_mail_spam_bayes_tokens()) for
 * each of "n" recipients in one request: reqs[i].user (empty: the global
 * scope only) with the user's own counts when the user has learnt at
 * least spam_bayes_min_learned spams and hams, else with the global
 * ones, which are looked up once for all.  reqs[i].probability -1:
 * neither scope has learnt enough, or Redis failed.  The handler once,
 * when all are done, never before this returns; NGX_ERROR: out of
 * memory, or Redis unavailable now, and no handler then.
 */
ngx_int_t ngx_mail_spam_bayes_classify_message(ngx_pool_t *pool,
    ngx_log_t *log, ngx_mail_spam_message_t *m,
    ngx_mail_spam_bayes_req_t *reqs, ngx_uint_t n,
    ngx_mail_spam_done_pt handler, void *data);

/*
 * The token fields of a message (as stored, its first
 * NGX_MAIL_SPAM_READ_MAX bytes), in pool: read once, classified for
 * every recipient.  NULL: out of memory.
 */
ngx_mail_spam_message_t *ngx_mail_spam_bayes_tokens(ngx_pool_t *pool,
    ngx_log_t *log, u_char *msg, size_t len);

/*
 * Learns a message as spam or ham for "user" (NULL: global), in one Lua
 * script: learning it again as the same is nothing, as the other flips
 * it.  The handler gets NGX_OK or NGX_ERROR; may be NULL.  NGX_ERROR
 * returned: nothing was sent, no handler.  Only "data" and a small
 * context in "pool" must live until the handler, which may destroy the
 * pool; the message may go as soon as this returns.
 */
typedef void (*ngx_mail_spam_learnt_pt)(ngx_int_t rc, void *data);

ngx_int_t ngx_mail_spam_bayes_learn(ngx_pool_t *pool, ngx_log_t *log,
    u_char *msg, size_t len, ngx_str_t *user, ngx_uint_t spam,
    ngx_mail_spam_learnt_pt handler, void *data);


/* what the SMTP server calls */

typedef struct {
    ngx_str_t                   key;         /* the spool's */
    ngx_uint_t                  filtered;    /* the checks ran */
    ngx_uint_t                  reject;      /* 550 5.7.1 */
    ngx_array_t                *junk;        /* ngx_str_t recipients */
    ngx_str_t                   headers;     /* fields to put first */
} ngx_mail_spam_verdict_t;

typedef struct ngx_mail_spam_check_s  ngx_mail_spam_check_t;

typedef void (*ngx_mail_spam_verdict_pt)(ngx_mail_session_t *s,
    ngx_mail_spam_verdict_t *verdict);

/* whether this server filters a session with this authentication */
ngx_flag_t ngx_mail_spam_enabled(ngx_mail_session_t *s,
    ngx_flag_t authenticated);

/* MAIL accepted: the DNS checks start */
void ngx_mail_spam_mail(ngx_mail_session_t *s, ngx_str_t *from,
    ngx_str_t *helo);

/*
 * The end of the data, before delivery: NGX_DECLINED when there is
 * nothing to filter (no local recipient) or the checks cannot start (no
 * Redis now), NGX_ERROR, or NGX_OK and the handler gets the verdict
 * later, never from inside this call (filtered 0 when the checks could
 * not run: the message is delivered as it is).
 */
ngx_int_t ngx_mail_spam_check(ngx_mail_session_t *s, ngx_pool_t *pool,
    ngx_str_t *id, ngx_str_t *spool_key, ngx_str_t *from,
    ngx_array_t *local, ngx_mail_spam_verdict_pt handler);


extern ngx_module_t  ngx_mail_spam_module;


#endif /* _NGX_MAIL_SPAM_H_INCLUDED_ */
