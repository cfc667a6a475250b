
/*
 * The SPF evaluator (ngx_mail_spf.c) on the DNS module's c-ares channel: each
 * question it asks becomes one DNS query, each answer is parsed by
 * c-ares into the records the evaluator reads.  One query is open at a
 * time: RFC 7208 4.6.4 lets an evaluation ask up to about twenty names,
 * each depending on the last, and "timeout" bounds them all.  The
 * answers are read by ngx_mail_spam_dns.c, which the unit tests and the
 * fuzzer reach without nginx.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include <ares.h>
#include <arpa/nameser.h>

#include "ngx_mail_dns.h"
#include "ngx_mail_spam.h"
#include "ngx_mail_spam_dns.h"


typedef struct {
    ngx_mail_spam_spf_t          spf_run;

    ngx_pool_t                  *pool;
    ngx_log_t                   *log;
    ngx_mail_dns_query_t        *dns;

    ngx_mail_spam_job_t          job;
} ngx_mail_spam_spf_ctx_t;


static void ngx_mail_spam_spf_run(ngx_mail_spam_spf_ctx_t *ctx);
static void ngx_mail_spam_spf_answer(int status, u_char *abuf, size_t alen,
    void *data);
static void ngx_mail_spam_spf_records(ngx_mail_spam_spf_ctx_t *ctx,
    int status, u_char *abuf, size_t alen);
static void ngx_mail_spam_spf_give(ngx_mail_spam_spf_ctx_t *ctx, int rcode,
    ngx_mail_spf_rr_t *rrs, unsigned nrrs);
static void ngx_mail_spam_spf_timed_out(void *data);
static void ngx_mail_spam_spf_stop(void *data);
static void ngx_mail_spam_spf_done(void *data);


ngx_mail_spam_spf_t *
ngx_mail_spam_spf_start(ngx_pool_t *pool, ngx_log_t *log,
    ngx_mail_spf_params_t *params, ngx_msec_t timeout,
    ngx_mail_spam_done_pt handler, void *data)
{
    ngx_mail_spam_spf_ctx_t  *ctx;

    ctx = ngx_pcalloc(pool, sizeof(ngx_mail_spam_spf_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    /* about 25 KB: a block of its own, not a piece of the pool's page */
    ctx->spf_run.spf = ngx_palloc(pool, sizeof(ngx_mail_spf_t));
    if (ctx->spf_run.spf == NULL) {
        return NULL;
    }

    if (ngx_mail_spf_init(ctx->spf_run.spf, params) != NGX_MAIL_SPF_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "spam: spf: no evaluation of \"%*s\"",
                      params->sender_domain.len, params->sender_domain.data);
        return NULL;
    }

    ctx->spf_run.priv = ctx;
    ctx->pool = pool;
    ctx->log = log;

    ctx->job.ctx = ctx;
    ctx->job.timed_out = ngx_mail_spam_spf_timed_out;
    ctx->job.stop = ngx_mail_spam_spf_stop;
    ctx->job.done = ngx_mail_spam_spf_done;
    ctx->job.handler = handler;
    ctx->job.data = data;

    if (ngx_mail_spam_job_init(&ctx->job, pool, log, timeout) != NGX_OK) {
        return NULL;
    }

    ngx_mail_spam_spf_run(ctx);

    ctx->job.starting = 0;

    return &ctx->spf_run;
}


/*
 * Also after the handler: the evaluator is a large block of the pool,
 * given back here, so that a session of many transactions does not keep
 * one per MAIL.  s->spf is NULL afterwards.
 */

void
ngx_mail_spam_spf_cancel(ngx_mail_spam_spf_t *s)
{
    ngx_mail_spam_spf_ctx_t  *ctx;

    ctx = s->priv;

    ngx_mail_spam_job_cancel(&ctx->job);

    if (s->spf) {
        ngx_pfree(ctx->pool, s->spf);
        s->spf = NULL;
    }
}


/*
 * Steps until the evaluator has a result or waits for DNS; the answer
 * comes later (never within ngx_mail_dns_query()) and runs it on.
 */

static void
ngx_mail_spam_spf_run(ngx_mail_spam_spf_ctx_t *ctx)
{
    int                          rc;
    ngx_mail_spf_t              *spf;
    ngx_mail_dns_query_t        *q;

    spf = ctx->spf_run.spf;

    for ( ;; ) {
        rc = ngx_mail_spf_step(spf);

        if (rc == NGX_MAIL_SPF_OK) {
            ngx_mail_spam_job_finish(&ctx->job);
            return;
        }

        if (rc != NGX_MAIL_SPF_AGAIN) {
            ngx_log_error(NGX_LOG_ALERT, ctx->log, 0,
                          "spam: spf: evaluator failed");

            spf->result = NGX_MAIL_SPF_TEMPERROR;
            spf->problem = "evaluator failed";

            ngx_mail_spam_job_finish(&ctx->job);
            return;
        }

        ngx_log_debug2(NGX_LOG_DEBUG_MAIL, ctx->log, 0,
                       "spam: spf: query %ud \"%s\"",
                       spf->query_type, spf->query_name);

        q = ngx_mail_dns_query(spf->query_name, (int) spf->query_type,
                               ngx_mail_spam_spf_answer, ctx);

        if (q == NULL) {
            ngx_log_error(NGX_LOG_ERR, ctx->log, 0, "spam: spf: no DNS");

            ngx_mail_spam_spf_give(ctx, NGX_MAIL_SPF_RCODE_TIMEOUT, NULL, 0);
            continue;
        }

        ctx->dns = q;
        return;
    }
}


static void
ngx_mail_spam_spf_answer(int status, u_char *abuf, size_t alen, void *data)
{
    ngx_mail_spam_spf_ctx_t  *ctx = data;

    ctx->dns = NULL;

    ngx_log_debug2(NGX_LOG_DEBUG_MAIL, ctx->log, 0,
                   "spam: spf: answer \"%s\": %s",
                   ctx->spf_run.spf->query_name, ares_strerror(status));

    ngx_mail_spam_spf_records(ctx, status, abuf, alen);

    ngx_mail_spam_spf_run(ctx);
}


/*
 * The records go to a block of their own for each answer, sized for the
 * type: a TXT answer's text is no longer than the answer, the names of
 * an MX or PTR answer are the few the evaluator reads.
 */

static void
ngx_mail_spam_spf_records(ngx_mail_spam_spf_ctx_t *ctx, int status,
    u_char *abuf, size_t alen)
{
    int                 rc, rcode;
    size_t              size;
    u_char             *storage;
    unsigned            max, nrrs, type;
    ngx_mail_spf_rr_t  *rrs;

    type = ctx->spf_run.spf->query_type;
    rrs = NULL;
    storage = NULL;
    max = 0;
    size = 0;

    if (status == ARES_SUCCESS) {

        switch (type) {

        case NGX_MAIL_SPF_TXT:
            max = NGX_MAIL_SPAM_DNS_RRS_MAX;
            size = ngx_min(alen, NGX_MAIL_SPAM_DNS_STORAGE);
            break;

        case NGX_MAIL_SPF_MX:
        case NGX_MAIL_SPF_PTR:
            max = NGX_MAIL_SPAM_DNS_NAMES_MAX;
            size = NGX_MAIL_SPAM_DNS_NAMES_MAX * NGX_MAIL_SPAM_DNS_NAME_LEN;
            break;

        default:
            max = NGX_MAIL_SPAM_DNS_ADDRS_MAX;
            break;
        }

        rrs = ngx_alloc(max * sizeof(ngx_mail_spf_rr_t) + size, ctx->log);
        if (rrs == NULL) {
            ngx_mail_spam_spf_give(ctx, NGX_MAIL_SPF_RCODE_SERVFAIL, NULL, 0);
            return;
        }

        storage = (u_char *) (rrs + max);
    }

    rc = ngx_mail_spam_dns_spf_records(type, status, abuf, alen, rrs, max,
                                       storage, size, &nrrs, &rcode);

    if (rc != NGX_MAIL_SPAM_DNS_OK) {
        /* an answer that does not parse is a DNS error: temperror */
        ngx_log_error(NGX_LOG_INFO, ctx->log, 0,
                      "spam: spf: bad answer for \"%s\": %s",
                      ctx->spf_run.spf->query_name, ares_strerror(rc));
    }

    ngx_mail_spam_spf_give(ctx, rcode, rrs, nrrs);

    if (rrs) {
        ngx_free(rrs);
    }
}


static void
ngx_mail_spam_spf_give(ngx_mail_spam_spf_ctx_t *ctx, int rcode,
    ngx_mail_spf_rr_t *rrs, unsigned nrrs)
{
    if (ngx_mail_spf_answer(ctx->spf_run.spf, rcode, rrs, nrrs)
        != NGX_MAIL_SPF_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, ctx->log, 0,
                      "spam: spf: answer without a question");
    }
}


/* RFC 7208 4.4: no answer in time is a temporary error */

static void
ngx_mail_spam_spf_timed_out(void *data)
{
    ngx_mail_spam_spf_ctx_t  *ctx = data;

    ngx_mail_spf_t  *spf;

    spf = ctx->spf_run.spf;

    ngx_log_error(NGX_LOG_INFO, ctx->log, 0,
                  "spam: spf: timed out asking \"%s\"", spf->query_name);

    spf->result = NGX_MAIL_SPF_TEMPERROR;
    spf->problem = "DNS timeout";
}


static void
ngx_mail_spam_spf_stop(void *data)
{
    ngx_mail_spam_spf_ctx_t  *ctx = data;

    if (ctx->dns) {
        ngx_mail_dns_cancel(ctx->dns);
        ctx->dns = NULL;
    }
}


static void
ngx_mail_spam_spf_done(void *data)
{
    ngx_mail_spam_spf_ctx_t  *ctx = data;

    ctx->spf_run.done = 1;

    ngx_log_debug1(NGX_LOG_DEBUG_MAIL, ctx->log, 0,
                   "spam: spf: %s",
                   ngx_mail_spf_result_name(ctx->spf_run.spf->result));
}
