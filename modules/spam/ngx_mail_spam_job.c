
/*
 * What the DNSBL and SPF checks share: the time limit, the handler
 * called once and last (it may free the pool the check lives in), never
 * before the check's start function returns, and the stop when the pool
 * goes first.  The check's own part is two hooks: what a time-out marks
 * (the zones that did not answer, SPF's temperror) and what stopping
 * cancels (its Redis and DNS requests).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_spam.h"


static void ngx_mail_spam_job_timeout(ngx_event_t *ev);
static void ngx_mail_spam_job_posted(ngx_event_t *ev);
static void ngx_mail_spam_job_stop(ngx_mail_spam_job_t *job);
static void ngx_mail_spam_job_cleanup(void *data);


ngx_int_t
ngx_mail_spam_job_init(ngx_mail_spam_job_t *job, ngx_pool_t *pool,
    ngx_log_t *log, ngx_msec_t timeout)
{
    ngx_pool_cleanup_t  *cln;

    /* a pool that goes with the check still running takes it along */
    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_mail_spam_job_cleanup;
    cln->data = job;

    job->timer.handler = ngx_mail_spam_job_timeout;
    job->timer.data = job;
    job->timer.log = log;
    job->timer.cancelable = 1;

    job->post.handler = ngx_mail_spam_job_posted;
    job->post.data = job;
    job->post.log = log;

    job->starting = 1;

    ngx_add_timer(&job->timer, timeout);

    return NGX_OK;
}


/*
 * The handler is the last thing done here.  While the start function
 * still runs (everything known at once: no Redis and no DNS, no name to
 * ask), it waits for a posted event.
 */

void
ngx_mail_spam_job_finish(ngx_mail_spam_job_t *job)
{
    if (job->finished) {
        return;
    }

    if (job->starting) {
        ngx_post_event(&job->post, &ngx_posted_events);
        return;
    }

    ngx_mail_spam_job_stop(job);

    job->finished = 1;

    if (job->done) {
        job->done(job->ctx);
    }

    job->handler(job->data);
}


void
ngx_mail_spam_job_cancel(ngx_mail_spam_job_t *job)
{
    if (!job->finished) {
        ngx_mail_spam_job_stop(job);
        job->finished = 1;
    }
}


static void
ngx_mail_spam_job_timeout(ngx_event_t *ev)
{
    ngx_mail_spam_job_t  *job = ev->data;

    job->timed_out(job->ctx);

    ngx_mail_spam_job_finish(job);
}


static void
ngx_mail_spam_job_posted(ngx_event_t *ev)
{
    ngx_mail_spam_job_finish(ev->data);
}


static void
ngx_mail_spam_job_stop(ngx_mail_spam_job_t *job)
{
    job->stop(job->ctx);

    if (job->timer.timer_set) {
        ngx_del_timer(&job->timer);
    }

    if (job->post.posted) {
        ngx_delete_posted_event(&job->post);
    }
}


static void
ngx_mail_spam_job_cleanup(void *data)
{
    ngx_mail_spam_job_cancel(data);
}
