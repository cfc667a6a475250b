
/*
 * The SPF evaluator (ngx_mail_spf.c) on the queue's c-ares channel: each
 * question it asks becomes one DNS query, each answer is parsed by
 * c-ares into the records the evaluator reads.  One query is open at a
 * time: RFC 7208 4.6.4 lets an evaluation ask up to about twenty names,
 * each depending on the last, and "timeout" bounds them all.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include <ares.h>
#include <arpa/nameser.h>

#include "ngx_mail_queue.h"
#include "ngx_mail_spam.h"


/* addresses of one A or AAAA answer handed over; more is not SPF's use */
#define NGX_MAIL_SPAM_SPF_ADDRS  64


typedef struct {
    ngx_mail_spam_spf_t          spf_run;

    ngx_pool_t                  *pool;
    ngx_log_t                   *log;
    ngx_mail_queue_dns_query_t  *dns;

    ngx_event_t                  timer;
    ngx_event_t                  post;

    ngx_mail_spam_done_pt        handler;
    void                        *data;

    unsigned                     dns_busy:1;
    /* the handler must not be called now: its caller is still running */
    unsigned                     calling:1;
    unsigned                     finished:1;
} ngx_mail_spam_spf_ctx_t;


static void ngx_mail_spam_spf_run(ngx_mail_spam_spf_ctx_t *ctx);
static void ngx_mail_spam_spf_answer(int status, u_char *abuf, size_t alen,
    void *data);
static int ngx_mail_spam_spf_rcode(int status);
static void ngx_mail_spam_spf_records(ngx_mail_spam_spf_ctx_t *ctx,
    u_char *abuf, size_t alen);
static int ngx_mail_spam_spf_txt(ngx_mail_spam_spf_ctx_t *ctx, u_char *abuf,
    size_t alen);
static int ngx_mail_spam_spf_a(ngx_mail_spam_spf_ctx_t *ctx, u_char *abuf,
    size_t alen);
static int ngx_mail_spam_spf_aaaa(ngx_mail_spam_spf_ctx_t *ctx,
    u_char *abuf, size_t alen);
static int ngx_mail_spam_spf_mx(ngx_mail_spam_spf_ctx_t *ctx, u_char *abuf,
    size_t alen);
static int ngx_mail_spam_spf_ptr(ngx_mail_spam_spf_ctx_t *ctx, u_char *abuf,
    size_t alen);
static void ngx_mail_spam_spf_give(ngx_mail_spam_spf_ctx_t *ctx, int rcode,
    ngx_mail_spf_rr_t *rrs, unsigned nrrs);
static void ngx_mail_spam_spf_timeout(ngx_event_t *ev);
static void ngx_mail_spam_spf_posted(ngx_event_t *ev);
static void ngx_mail_spam_spf_finish(ngx_mail_spam_spf_ctx_t *ctx);
static void ngx_mail_spam_spf_stop(ngx_mail_spam_spf_ctx_t *ctx);
static void ngx_mail_spam_spf_cleanup(void *data);


ngx_mail_spam_spf_t *
ngx_mail_spam_spf_start(ngx_pool_t *pool, ngx_log_t *log,
    ngx_mail_spf_params_t *params, ngx_msec_t timeout,
    ngx_mail_spam_done_pt handler, void *data)
{
    ngx_pool_cleanup_t       *cln;
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

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_mail_spam_spf_cleanup;
    cln->data = ctx;

    ctx->spf_run.priv = ctx;
    ctx->pool = pool;
    ctx->log = log;
    ctx->handler = handler;
    ctx->data = data;

    ctx->timer.handler = ngx_mail_spam_spf_timeout;
    ctx->timer.data = ctx;
    ctx->timer.log = log;
    ctx->timer.cancelable = 1;

    ctx->post.handler = ngx_mail_spam_spf_posted;
    ctx->post.data = ctx;
    ctx->post.log = log;

    ngx_add_timer(&ctx->timer, timeout);

    ctx->calling = 1;
    ngx_mail_spam_spf_run(ctx);
    ctx->calling = 0;

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

    ngx_mail_spam_spf_stop(ctx);
    ctx->finished = 1;

    if (s->spf) {
        ngx_pfree(ctx->pool, s->spf);
        s->spf = NULL;
    }
}


/*
 * Steps until the evaluator has a result or waits for DNS.  An answer
 * given within ngx_mail_queue_dns_query() is handed to the evaluator by
 * ngx_mail_spam_spf_answer() and taken up by the loop here, not by a
 * nested run.
 */

static void
ngx_mail_spam_spf_run(ngx_mail_spam_spf_ctx_t *ctx)
{
    int                          rc;
    unsigned                     calling;
    ngx_mail_spf_t              *spf;
    ngx_mail_queue_dns_query_t  *q;

    spf = ctx->spf_run.spf;

    for ( ;; ) {
        rc = ngx_mail_spf_step(spf);

        if (rc == NGX_MAIL_SPF_OK) {
            ngx_mail_spam_spf_finish(ctx);
            return;
        }

        if (rc != NGX_MAIL_SPF_AGAIN) {
            ngx_log_error(NGX_LOG_ALERT, ctx->log, 0,
                          "spam: spf: evaluator failed");

            spf->result = NGX_MAIL_SPF_TEMPERROR;
            spf->problem = "evaluator failed";

            ngx_mail_spam_spf_finish(ctx);
            return;
        }

        ngx_log_debug2(NGX_LOG_DEBUG_MAIL, ctx->log, 0,
                       "spam: spf: query %ud \"%s\"",
                       spf->query_type, spf->query_name);

        ctx->dns_busy = 1;
        calling = ctx->calling;
        ctx->calling = 1;

        q = ngx_mail_queue_dns_query(spf->query_name, (int) spf->query_type,
                                     ngx_mail_spam_spf_answer, ctx);

        ctx->calling = calling;

        if (!ctx->dns_busy) {
            /* answered already (c-ares knew it cannot ask): go on */
            continue;
        }

        if (q == NULL) {
            ctx->dns_busy = 0;

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

    int  rcode;

    ctx->dns = NULL;
    ctx->dns_busy = 0;

    rcode = ngx_mail_spam_spf_rcode(status);

    ngx_log_debug2(NGX_LOG_DEBUG_MAIL, ctx->log, 0,
                   "spam: spf: answer \"%s\": %s",
                   ctx->spf_run.spf->query_name, ares_strerror(status));

    if (rcode == NGX_MAIL_SPF_RCODE_NOERROR && status == ARES_SUCCESS) {
        ngx_mail_spam_spf_records(ctx, abuf, alen);

    } else {
        ngx_mail_spam_spf_give(ctx, rcode, NULL, 0);
    }

    if (ctx->calling) {
        /* within ngx_mail_queue_dns_query(): the loop goes on */
        return;
    }

    ngx_mail_spam_spf_run(ctx);
}


/*
 * c-ares turns the RCODE into a status: RFC 7208 tells NOERROR (with or
 * without records), NXDOMAIN, and everything else apart, a timeout among
 * the rest (4.4: temperror)
 */

static int
ngx_mail_spam_spf_rcode(int status)
{
    switch (status) {

    case ARES_SUCCESS:
    case ARES_ENODATA:
        return NGX_MAIL_SPF_RCODE_NOERROR;

    case ARES_ENOTFOUND:
        return NGX_MAIL_SPF_RCODE_NXDOMAIN;

    case ARES_ETIMEOUT:
        return NGX_MAIL_SPF_RCODE_TIMEOUT;

    default:
        return NGX_MAIL_SPF_RCODE_SERVFAIL;
    }
}


static void
ngx_mail_spam_spf_records(ngx_mail_spam_spf_ctx_t *ctx, u_char *abuf,
    size_t alen)
{
    int  rc;

    switch (ctx->spf_run.spf->query_type) {

    case NGX_MAIL_SPF_TXT:
        rc = ngx_mail_spam_spf_txt(ctx, abuf, alen);
        break;

    case NGX_MAIL_SPF_A:
        rc = ngx_mail_spam_spf_a(ctx, abuf, alen);
        break;

    case NGX_MAIL_SPF_AAAA:
        rc = ngx_mail_spam_spf_aaaa(ctx, abuf, alen);
        break;

    case NGX_MAIL_SPF_MX:
        rc = ngx_mail_spam_spf_mx(ctx, abuf, alen);
        break;

    case NGX_MAIL_SPF_PTR:
        rc = ngx_mail_spam_spf_ptr(ctx, abuf, alen);
        break;

    default:
        rc = ARES_ENOTIMP;
        break;
    }

    if (rc == ARES_SUCCESS) {
        return;
    }

    if (rc == ARES_ENODATA) {
        /* e.g. a CNAME to a name without records of the type */
        ngx_mail_spam_spf_give(ctx, NGX_MAIL_SPF_RCODE_NOERROR, NULL, 0);
        return;
    }

    /* an answer that does not parse is a DNS error: temperror */
    ngx_log_error(NGX_LOG_INFO, ctx->log, 0,
                  "spam: spf: bad answer for \"%s\": %s",
                  ctx->spf_run.spf->query_name, ares_strerror(rc));

    ngx_mail_spam_spf_give(ctx, NGX_MAIL_SPF_RCODE_SERVFAIL, NULL, 0);
}


/*
 * TXT: every character-string an rr, record_start on the first of each
 * record (RFC 7208 3.3: the strings of a record are joined, the records
 * are not)
 */

static int
ngx_mail_spam_spf_txt(ngx_mail_spam_spf_ctx_t *ctx, u_char *abuf,
    size_t alen)
{
    int                   rc;
    unsigned              n;
    ngx_mail_spf_rr_t    *rrs;
    struct ares_txt_ext  *txt, *t;

    txt = NULL;

    rc = ares_parse_txt_reply_ext(abuf, (int) alen, &txt);
    if (rc != ARES_SUCCESS) {
        return rc;
    }

    n = 0;

    for (t = txt; t; t = t->next) {
        n++;
    }

    rrs = NULL;

    if (n) {
        rrs = ngx_alloc(n * sizeof(ngx_mail_spf_rr_t), ctx->log);
        if (rrs == NULL) {
            ares_free_data(txt);
            return ARES_ENOMEM;
        }

        ngx_memzero(rrs, n * sizeof(ngx_mail_spf_rr_t));

        n = 0;

        for (t = txt; t; t = t->next) {
            rrs[n].data = t->txt;
            rrs[n].len = t->length;
            rrs[n].record_start = t->record_start ? 1 : 0;
            n++;
        }
    }

    ngx_mail_spam_spf_give(ctx, NGX_MAIL_SPF_RCODE_NOERROR, rrs, n);

    if (rrs) {
        ngx_free(rrs);
    }

    ares_free_data(txt);

    return ARES_SUCCESS;
}


static int
ngx_mail_spam_spf_a(ngx_mail_spam_spf_ctx_t *ctx, u_char *abuf, size_t alen)
{
    int                  i, n, rc;
    ngx_mail_spf_rr_t    rrs[NGX_MAIL_SPAM_SPF_ADDRS];
    struct ares_addrttl  addrs[NGX_MAIL_SPAM_SPF_ADDRS];

    n = NGX_MAIL_SPAM_SPF_ADDRS;

    rc = ares_parse_a_reply(abuf, (int) alen, NULL, addrs, &n);
    if (rc != ARES_SUCCESS) {
        return rc;
    }

    ngx_memzero(rrs, n * sizeof(ngx_mail_spf_rr_t));

    for (i = 0; i < n; i++) {
        ngx_memcpy(rrs[i].addr, &addrs[i].ipaddr, 4);
    }

    ngx_mail_spam_spf_give(ctx, NGX_MAIL_SPF_RCODE_NOERROR, rrs, n);

    return ARES_SUCCESS;
}


static int
ngx_mail_spam_spf_aaaa(ngx_mail_spam_spf_ctx_t *ctx, u_char *abuf,
    size_t alen)
{
    int                   i, n, rc;
    ngx_mail_spf_rr_t     rrs[NGX_MAIL_SPAM_SPF_ADDRS];
    struct ares_addr6ttl  addrs[NGX_MAIL_SPAM_SPF_ADDRS];

    n = NGX_MAIL_SPAM_SPF_ADDRS;

    rc = ares_parse_aaaa_reply(abuf, (int) alen, NULL, addrs, &n);
    if (rc != ARES_SUCCESS) {
        return rc;
    }

    ngx_memzero(rrs, n * sizeof(ngx_mail_spf_rr_t));

    for (i = 0; i < n; i++) {
        ngx_memcpy(rrs[i].addr, &addrs[i].ip6addr, 16);
    }

    ngx_mail_spam_spf_give(ctx, NGX_MAIL_SPF_RCODE_NOERROR, rrs, n);

    return ARES_SUCCESS;
}


static int
ngx_mail_spam_spf_mx(ngx_mail_spam_spf_ctx_t *ctx, u_char *abuf,
    size_t alen)
{
    int                    rc;
    unsigned               n;
    ngx_mail_spf_rr_t     *rrs;
    struct ares_mx_reply  *mx, *m;

    mx = NULL;

    rc = ares_parse_mx_reply(abuf, (int) alen, &mx);
    if (rc != ARES_SUCCESS) {
        return rc;
    }

    n = 0;

    for (m = mx; m; m = m->next) {
        n++;
    }

    rrs = NULL;

    if (n) {
        rrs = ngx_alloc(n * sizeof(ngx_mail_spf_rr_t), ctx->log);
        if (rrs == NULL) {
            ares_free_data(mx);
            return ARES_ENOMEM;
        }

        ngx_memzero(rrs, n * sizeof(ngx_mail_spf_rr_t));

        n = 0;

        for (m = mx; m; m = m->next) {
            rrs[n].data = (u_char *) m->host;
            rrs[n].len = ngx_strlen(m->host);
            n++;
        }
    }

    ngx_mail_spam_spf_give(ctx, NGX_MAIL_SPF_RCODE_NOERROR, rrs, n);

    if (rrs) {
        ngx_free(rrs);
    }

    ares_free_data(mx);

    return ARES_SUCCESS;
}


/*
 * ares_parse_ptr_reply() wants the address asked about only to fill
 * h_addr_list, and gives every PTR name among h_aliases (h_name is one
 * of them)
 */

static int
ngx_mail_spam_spf_ptr(ngx_mail_spam_spf_ctx_t *ctx, u_char *abuf,
    size_t alen)
{
    int                 rc;
    char              **alias;
    unsigned            n;
    struct in_addr      addr;
    struct hostent     *host;
    ngx_mail_spf_rr_t  *rrs;

    ngx_memzero(&addr, sizeof(struct in_addr));
    host = NULL;

    rc = ares_parse_ptr_reply(abuf, (int) alen, &addr, sizeof(addr), AF_INET,
                              &host);
    if (rc != ARES_SUCCESS) {
        return rc;
    }

    n = 0;

    if (host->h_aliases) {
        for (alias = host->h_aliases; *alias; alias++) {
            n++;
        }
    }

    rrs = ngx_alloc((n + 1) * sizeof(ngx_mail_spf_rr_t), ctx->log);
    if (rrs == NULL) {
        ares_free_hostent(host);
        return ARES_ENOMEM;
    }

    ngx_memzero(rrs, (n + 1) * sizeof(ngx_mail_spf_rr_t));

    n = 0;

    if (host->h_aliases) {
        for (alias = host->h_aliases; *alias; alias++) {
            rrs[n].data = (u_char *) *alias;
            rrs[n].len = ngx_strlen(*alias);
            n++;
        }
    }

    if (n == 0 && host->h_name) {
        rrs[0].data = (u_char *) host->h_name;
        rrs[0].len = ngx_strlen(host->h_name);
        n = 1;
    }

    ngx_mail_spam_spf_give(ctx, NGX_MAIL_SPF_RCODE_NOERROR, rrs, n);

    ngx_free(rrs);
    ares_free_hostent(host);

    return ARES_SUCCESS;
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


static void
ngx_mail_spam_spf_timeout(ngx_event_t *ev)
{
    ngx_mail_spf_t           *spf;
    ngx_mail_spam_spf_ctx_t  *ctx;

    ctx = ev->data;
    spf = ctx->spf_run.spf;

    ngx_log_error(NGX_LOG_INFO, ctx->log, 0,
                  "spam: spf: timed out asking \"%s\"", spf->query_name);

    /* RFC 7208 4.4: no answer in time is a temporary error */
    spf->result = NGX_MAIL_SPF_TEMPERROR;
    spf->problem = "DNS timeout";
    ctx->spf_run.timedout = 1;

    ngx_mail_spam_spf_finish(ctx);
}


static void
ngx_mail_spam_spf_posted(ngx_event_t *ev)
{
    ngx_mail_spam_spf_finish(ev->data);
}


/* as the DNSBL's: the handler last, or later when a call is running */

static void
ngx_mail_spam_spf_finish(ngx_mail_spam_spf_ctx_t *ctx)
{
    if (ctx->finished) {
        return;
    }

    if (ctx->calling) {
        ngx_post_event(&ctx->post, &ngx_posted_events);
        return;
    }

    ngx_mail_spam_spf_stop(ctx);

    ctx->finished = 1;
    ctx->spf_run.done = 1;

    ngx_log_debug1(NGX_LOG_DEBUG_MAIL, ctx->log, 0,
                   "spam: spf: %s",
                   ngx_mail_spf_result_name(ctx->spf_run.spf->result));

    ctx->handler(ctx->data);
}


static void
ngx_mail_spam_spf_stop(ngx_mail_spam_spf_ctx_t *ctx)
{
    if (ctx->dns) {
        ngx_mail_queue_dns_cancel(ctx->dns);
        ctx->dns = NULL;
    }

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    if (ctx->post.posted) {
        ngx_delete_posted_event(&ctx->post);
    }
}


static void
ngx_mail_spam_spf_cleanup(void *data)
{
    ngx_mail_spam_spf_ctx_t  *ctx = data;

    if (!ctx->finished) {
        ngx_mail_spam_spf_stop(ctx);
        ctx->finished = 1;
    }
}
