
/*
 * ngx_mail_spam_module: the spam filter of the SMTP server.
 *
 * At MAIL the DNS checks start: the DNSBL zones for the client address
 * (once per session) and SPF for the MAIL FROM identity (the HELO one
 * for a null sender).  At the end of the data the filter waits for them
 * (each bounded by its timeout), reads the message back from the spool,
 * classifies it with each local recipient's Bayes counts (or the global
 * ones) and adds up the score: the zones' weights, spam_spf_score for
 * the SPF result, and spam_bayes_score scaled by the probability.  A
 * recipient whose score reaches its junk score gets the copy in Junk;
 * when every recipient's reaches its reject score the message is
 * refused (550 5.7.1) and never bounced.  One log line per message.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_redis.h"
#include "ngx_mail_server.h"
#include "ngx_mail_spam.h"
#include "ngx_mail_spam_bayes.h"


#define NGX_MAIL_SPAM_SPF_RESULTS   7

/* distinct recipients classified with their own counts; others: global */
#define NGX_MAIL_SPAM_USERS_MAX     16


typedef struct {
    ngx_flag_t                  enable;
    ngx_flag_t                  skip_authenticated;
    ngx_array_t                *dnsbl;          /* zone_t */
    ngx_msec_t                  dnsbl_timeout;
    ngx_flag_t                  spf;
    ngx_msec_t                  spf_timeout;
    double                      spf_score[NGX_MAIL_SPAM_SPF_RESULTS];
    ngx_uint_t                  spf_score_set;
    ngx_flag_t                  bayes;
    double                      bayes_score;
    double                      junk_score;
    double                      reject_score;
} ngx_mail_spam_srv_conf_t;


typedef struct {
    ngx_str_t                   address;
    ngx_mail_spam_bayes_req_t  *bayes;
    double                      score;
    double                      junk;
    double                      reject;
} ngx_mail_spam_user_t;


/* the filter's state in a session */
typedef struct {
    ngx_mail_session_t         *session;
    ngx_mail_spam_dnsbl_t      *dnsbl;
    ngx_mail_spam_spf_t        *spf;

    /* the message being judged */
    ngx_mail_spam_check_t      *check;
} ngx_mail_spam_ctx_t;


struct ngx_mail_spam_check_s {
    ngx_mail_spam_ctx_t        *ctx;
    ngx_pool_t                 *pool;
    ngx_str_t                   id;
    ngx_str_t                   from;
    ngx_array_t                *local;
    ngx_mail_spam_verdict_pt    handler;

    ngx_mail_redis_request_t   *redis;
    ngx_array_t                 users;         /* ngx_mail_spam_user_t */
    ngx_event_t                 wait;          /* for DNS, bounded */

    ngx_mail_spam_verdict_t     verdict;
    unsigned                    waiting_dns:1;
};


static void *ngx_mail_spam_create_main_conf(ngx_conf_t *cf);
static char *ngx_mail_spam_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_mail_spam_create_srv_conf(ngx_conf_t *cf);
static double ngx_mail_spam_bayes_default_score(double junk);
static char *ngx_mail_spam_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_mail_spam_dnsbl_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_mail_spam_spf_score(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_mail_spam_set_score(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_mail_spam_min_learned(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_mail_spam_bayes_expire(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_mail_spam_init_process(ngx_cycle_t *cycle);
static ngx_mail_spam_ctx_t *ngx_mail_spam_get_ctx(ngx_mail_session_t *s);
static void ngx_mail_spam_cleanup(void *data);
static void ngx_mail_spam_dns_done(void *data);
static void ngx_mail_spam_dns_wait(ngx_event_t *ev);
static ngx_int_t ngx_mail_spam_read(ngx_mail_spam_check_t *ck);
static void ngx_mail_spam_content(redisReply *reply, void *data);
static void ngx_mail_spam_classified(void *data);
static void ngx_mail_spam_judge(ngx_mail_spam_check_t *ck);
static double ngx_mail_spam_base_score(ngx_mail_spam_check_t *ck,
    ngx_mail_spam_srv_conf_t *conf, u_char **tests, u_char *last);
static void ngx_mail_spam_headers(ngx_mail_spam_check_t *ck, double score,
    double junk, u_char *tests, size_t tests_len);
static void ngx_mail_spam_log(ngx_mail_spam_check_t *ck, double score);
static void ngx_mail_spam_finish(ngx_mail_spam_check_t *ck);


static ngx_command_t  ngx_mail_spam_commands[] = {

    { ngx_string("spam"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_spam_srv_conf_t, enable),
      NULL },

    { ngx_string("spam_skip_authenticated"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_spam_srv_conf_t, skip_authenticated),
      NULL },

    { ngx_string("spam_dnsbl"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE2,
      ngx_mail_spam_dnsbl_zone,
      NGX_MAIL_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spam_dnsbl_timeout"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_spam_srv_conf_t, dnsbl_timeout),
      NULL },

    { ngx_string("spam_spf"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_spam_srv_conf_t, spf),
      NULL },

    { ngx_string("spam_spf_timeout"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_spam_srv_conf_t, spf_timeout),
      NULL },

    { ngx_string("spam_spf_score"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE2,
      ngx_mail_spam_spf_score,
      NGX_MAIL_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spam_bayes"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_spam_srv_conf_t, bayes),
      NULL },

    { ngx_string("spam_bayes_min_learned"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_mail_spam_min_learned,
      0,
      0,
      NULL },

    { ngx_string("spam_bayes_expire"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_mail_spam_bayes_expire,
      NGX_MAIL_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spam_bayes_expire_interval"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_spam_main_conf_t, expire_interval),
      NULL },

    { ngx_string("spam_bayes_score"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_mail_spam_set_score,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_spam_srv_conf_t, bayes_score),
      NULL },

    { ngx_string("spam_junk_score"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_mail_spam_set_score,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_spam_srv_conf_t, junk_score),
      NULL },

    { ngx_string("spam_reject_score"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_mail_spam_set_score,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_spam_srv_conf_t, reject_score),
      NULL },

      ngx_null_command
};


static ngx_mail_module_t  ngx_mail_spam_module_ctx = {
    NULL,                                  /* protocol */

    ngx_mail_spam_create_main_conf,        /* create main configuration */
    ngx_mail_spam_init_main_conf,          /* init main configuration */

    ngx_mail_spam_create_srv_conf,         /* create server configuration */
    ngx_mail_spam_merge_srv_conf           /* merge server configuration */
};


ngx_module_t  ngx_mail_spam_module = {
    NGX_MODULE_V1,
    &ngx_mail_spam_module_ctx,             /* module context */
    ngx_mail_spam_commands,                /* module directives */
    NGX_MAIL_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_mail_spam_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* as ngx_mail_spf_result_e orders them */
static ngx_str_t  ngx_mail_spam_spf_names[] = {
    ngx_string("none"),
    ngx_string("neutral"),
    ngx_string("pass"),
    ngx_string("fail"),
    ngx_string("softfail"),
    ngx_string("temperror"),
    ngx_string("permerror")
};

/* the defaults: a forged sender counts, a proven one a little less */
static double  ngx_mail_spam_spf_default[NGX_MAIL_SPAM_SPF_RESULTS] = {
    0.0, 0.0, -0.5, 3.5, 1.5, 0.0, 0.5
};


static void *
ngx_mail_spam_create_main_conf(ngx_conf_t *cf)
{
    ngx_mail_spam_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_mail_spam_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    mcf->expire_days = NGX_CONF_UNSET;
    mcf->expire_max_count = NGX_CONF_UNSET_UINT;
    mcf->expire_interval = NGX_CONF_UNSET_MSEC;

    /* a global: a reload without the directive goes back to the default */
    ngx_mail_spam_bayes_min_learned = NGX_MAIL_SPAM_MIN_LEARNED;

    return mcf;
}


static char *
ngx_mail_spam_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_mail_spam_main_conf_t  *mcf = conf;

    ngx_conf_init_value(mcf->expire_days, NGX_MAIL_SPAM_EXPIRE_OFF);
    ngx_conf_init_uint_value(mcf->expire_max_count,
                             NGX_MAIL_SPAM_EXPIRE_COUNT);
    ngx_conf_init_msec_value(mcf->expire_interval, 86400 * 1000);

    /* a turn is a Redis request and a lock: not in a loop */
    if (mcf->expire_interval < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spam_bayes_expire_interval must be 1s at least");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* every worker has a turn at the expiry: the one with the lock runs it */

static ngx_int_t
ngx_mail_spam_init_process(ngx_cycle_t *cycle)
{
    ngx_mail_spam_main_conf_t  *mcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    mcf = ngx_mail_server_main_conf(cycle, &ngx_mail_spam_module);

    if (mcf == NULL || mcf->expire_days == NGX_MAIL_SPAM_EXPIRE_OFF) {
        return NGX_OK;
    }

    return ngx_mail_spam_expire_init(cycle, mcf);
}


static void *
ngx_mail_spam_create_srv_conf(ngx_conf_t *cf)
{
    ngx_uint_t                 i;
    ngx_mail_spam_srv_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_mail_spam_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = NGX_CONF_UNSET;
    conf->skip_authenticated = NGX_CONF_UNSET;
    conf->dnsbl = NGX_CONF_UNSET_PTR;
    conf->dnsbl_timeout = NGX_CONF_UNSET_MSEC;
    conf->spf = NGX_CONF_UNSET;
    conf->spf_timeout = NGX_CONF_UNSET_MSEC;
    conf->bayes = NGX_CONF_UNSET;
    conf->bayes_score = -1e300;
    conf->junk_score = -1e300;
    conf->reject_score = -1e300;

    for (i = 0; i < NGX_MAIL_SPAM_SPF_RESULTS; i++) {
        conf->spf_score[i] = ngx_mail_spam_spf_default[i];
    }

    return conf;
}


#define ngx_mail_spam_merge_double(conf, prev, def)                           \
    if (conf == -1e300) {                                                     \
        conf = (prev == -1e300) ? def : prev;                                 \
    }


static double
ngx_mail_spam_bayes_default_score(double junk)
{
    /* a junk score of 0 or less files everything: any weight will do */
    if (junk <= 0) {
        junk = 5.0;
    }

    return junk / (2 * NGX_MAIL_SPAM_BAYES_JUNK_THRESHOLD - 1);
}


static char *
ngx_mail_spam_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_mail_spam_srv_conf_t *prev = parent;
    ngx_mail_spam_srv_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->skip_authenticated, prev->skip_authenticated,
                         1);
    ngx_conf_merge_ptr_value(conf->dnsbl, prev->dnsbl, NULL);
    ngx_conf_merge_msec_value(conf->dnsbl_timeout, prev->dnsbl_timeout, 2000);
    ngx_conf_merge_value(conf->spf, prev->spf, 1);
    ngx_conf_merge_msec_value(conf->spf_timeout, prev->spf_timeout, 5000);
    ngx_conf_merge_value(conf->bayes, prev->bayes, 1);

    if (!conf->spf_score_set && prev->spf_score_set) {
        ngx_memcpy(conf->spf_score, prev->spf_score, sizeof(conf->spf_score));
        conf->spf_score_set = 1;
    }

    ngx_mail_spam_merge_double(conf->junk_score, prev->junk_score, 5.0);

    /*
     * by default Bayes alone reaches the junk score just where the
     * classifier calls a message spam (NGX_MAIL_SPAM_BAYES_JUNK_THRESHOLD,
     * chosen by cross-validation): 5.56 points for a sure spam with the
     * default junk score
     */
    ngx_mail_spam_merge_double(conf->bayes_score, prev->bayes_score,
                               ngx_mail_spam_bayes_default_score(
                                   conf->junk_score));
    ngx_mail_spam_merge_double(conf->reject_score, prev->reject_score, 0.0);

    return NGX_CONF_OK;
}


/* a score: a decimal number, maybe negative, "3.5" */

static ngx_int_t
ngx_mail_spam_parse_score(ngx_str_t *value, double *score)
{
    u_char      *p, *end;
    double       v, scale;
    ngx_uint_t   neg, digits;

    p = value->data;
    end = p + value->len;
    neg = 0;
    v = 0;
    scale = 0;
    digits = 0;

    if (p < end && (*p == '-' || *p == '+')) {
        neg = (*p == '-');
        p++;
    }

    for ( /* void */ ; p < end; p++) {
        if (*p == '.' && scale == 0) {
            scale = 1;
            continue;
        }

        if (*p < '0' || *p > '9' || digits > 12) {
            return NGX_ERROR;
        }

        digits++;

        if (scale) {
            scale /= 10;
            v += (*p - '0') * scale;

        } else {
            v = v * 10 + (*p - '0');
        }
    }

    if (digits == 0) {
        return NGX_ERROR;
    }

    *score = neg ? -v : v;

    return NGX_OK;
}


static char *
ngx_mail_spam_set_score(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    double     *field;
    ngx_str_t  *value;

    field = (double *) ((char *) conf + cmd->offset);
    value = cf->args->elts;

    if (*field != -1e300) {
        return "is duplicate";
    }

    if (ngx_mail_spam_parse_score(&value[1], field) != NGX_OK) {
        return "has an invalid score";
    }

    return NGX_CONF_OK;
}


/* one value for every server: the Bayes store is shared */

static char *
ngx_mail_spam_min_learned(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_int_t   n;
    ngx_str_t  *value;

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);
    if (n < 1) {
        return "has an invalid number";
    }

    ngx_mail_spam_bayes_min_learned = n;

    return NGX_CONF_OK;
}


/* spam_bayes_expire off | days [max_count] */

static char *
ngx_mail_spam_bayes_expire(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mail_spam_main_conf_t *mcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (mcf->expire_days != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts > 2) {
            return "takes no count with \"off\"";
        }

        mcf->expire_days = NGX_MAIL_SPAM_EXPIRE_OFF;
        return NGX_CONF_OK;
    }

    /* a hundred years: the day arithmetic stays far from overflow */
    n = ngx_atoi(value[1].data, value[1].len);
    if (n == NGX_ERROR || n > 36500) {
        return "has an invalid number of days";
    }

    mcf->expire_days = n;

    if (cf->args->nelts > 2) {
        n = ngx_atoi(value[2].data, value[2].len);
        if (n == NGX_ERROR) {
            return "has an invalid count";
        }

        mcf->expire_max_count = n;
    }

    return NGX_CONF_OK;
}


static char *
ngx_mail_spam_dnsbl_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mail_spam_srv_conf_t *sconf = conf;

    ngx_str_t                   *value;
    ngx_mail_spam_dnsbl_zone_t  *zone;

    value = cf->args->elts;

    if (sconf->dnsbl == NGX_CONF_UNSET_PTR) {
        sconf->dnsbl = ngx_array_create(cf->pool, 4,
                                        sizeof(ngx_mail_spam_dnsbl_zone_t));
        if (sconf->dnsbl == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    zone = ngx_array_push(sconf->dnsbl);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->zone = value[1];

    if (value[1].len == 0 || value[1].len > 200
        || ngx_mail_spam_parse_score(&value[2], &zone->weight) != NGX_OK)
    {
        return "has an invalid zone or weight";
    }

    return NGX_CONF_OK;
}


static char *
ngx_mail_spam_spf_score(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mail_spam_srv_conf_t *sconf = conf;

    ngx_uint_t   i;
    ngx_str_t   *value;

    value = cf->args->elts;

    for (i = 0; i < NGX_MAIL_SPAM_SPF_RESULTS; i++) {
        if (ngx_mail_spam_spf_names[i].len == value[1].len
            && ngx_strncmp(ngx_mail_spam_spf_names[i].data, value[1].data,
                           value[1].len) == 0)
        {
            break;
        }
    }

    if (i == NGX_MAIL_SPAM_SPF_RESULTS) {
        return "has an unknown SPF result";
    }

    if (ngx_mail_spam_parse_score(&value[2], &sconf->spf_score[i])
        != NGX_OK)
    {
        return "has an invalid score";
    }

    sconf->spf_score_set = 1;

    return NGX_CONF_OK;
}


ngx_flag_t
ngx_mail_spam_enabled(ngx_mail_session_t *s, ngx_flag_t authenticated)
{
    ngx_mail_spam_srv_conf_t  *conf;

    conf = ngx_mail_get_module_srv_conf(s, ngx_mail_spam_module);

    return conf->enable && !(authenticated && conf->skip_authenticated);
}


static ngx_mail_spam_ctx_t *
ngx_mail_spam_get_ctx(ngx_mail_session_t *s)
{
    ngx_pool_cleanup_t   *cln;
    ngx_mail_spam_ctx_t  *ctx;

    ctx = ngx_mail_get_module_ctx(s, ngx_mail_spam_module);
    if (ctx) {
        return ctx;
    }

    ctx = ngx_pcalloc(s->connection->pool, sizeof(ngx_mail_spam_ctx_t));
    cln = ngx_pool_cleanup_add(s->connection->pool, 0);

    if (ctx == NULL || cln == NULL) {
        return NULL;
    }

    ctx->session = s;
    cln->handler = ngx_mail_spam_cleanup;
    cln->data = ctx;

    ngx_mail_set_ctx(s, ctx, ngx_mail_spam_module);

    return ctx;
}


/*
 * The session is gone: the DNS checks may not call back into it.  A
 * message being judged keeps the session (the SMTP server waits for the
 * verdict before it closes), so only the DNS checks can be left.
 */

static void
ngx_mail_spam_cleanup(void *data)
{
    ngx_mail_spam_ctx_t  *ctx = data;

    if (ctx->dnsbl && !ctx->dnsbl->done) {
        ngx_mail_spam_dnsbl_cancel(ctx->dnsbl);
    }

    if (ctx->spf && !ctx->spf->done) {
        ngx_mail_spam_spf_cancel(ctx->spf);
    }
}


/*
 * MAIL: the DNS checks start, to be ready by the end of the data.  The
 * DNSBL answer is the client's, for the whole session; SPF is the
 * sender's, for this transaction.
 */

void
ngx_mail_spam_mail(ngx_mail_session_t *s, ngx_str_t *from, ngx_str_t *helo)
{
    u_char                    *at;
    ngx_mail_spam_ctx_t       *ctx;
    ngx_mail_spf_params_t      params;
    ngx_mail_core_srv_conf_t  *cscf;
    ngx_mail_spam_srv_conf_t  *conf;
    struct sockaddr_in        *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6       *sin6;
#endif

    conf = ngx_mail_get_module_srv_conf(s, ngx_mail_spam_module);

    ctx = ngx_mail_spam_get_ctx(s);
    if (ctx == NULL) {
        return;
    }

    if (ctx->dnsbl == NULL && conf->dnsbl) {
        ctx->dnsbl = ngx_mail_spam_dnsbl_start(s->connection->pool,
                                               s->connection->log,
                                               s->connection->sockaddr,
                                               s->connection->socklen,
                                               conf->dnsbl,
                                               conf->dnsbl_timeout,
                                               ngx_mail_spam_dns_done, ctx);
    }

    /* done or not, the last transaction's evaluator (25 KB) goes */
    if (ctx->spf) {
        ngx_mail_spam_spf_cancel(ctx->spf);
    }

    ctx->spf = NULL;

    if (!conf->spf) {
        return;
    }

    ngx_memzero(&params, sizeof(ngx_mail_spf_params_t));

    switch (s->connection->sockaddr->sa_family) {

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) s->connection->sockaddr;
        params.family = 6;
        ngx_memcpy(params.addr, &sin6->sin6_addr, 16);
        break;
#endif

    case AF_INET:
        sin = (struct sockaddr_in *) s->connection->sockaddr;
        params.family = 4;
        ngx_memcpy(params.addr, &sin->sin_addr, 4);
        break;

    default:
        return;
    }

    at = ngx_strlchr(from->data, from->data + from->len, '@');

    /* RFC 7208 2.4: a null sender is checked as postmaster@HELO */
    if (at && from->len) {
        params.sender_local.data = from->data;
        params.sender_local.len = at - from->data;
        params.sender_domain.data = at + 1;
        params.sender_domain.len = from->data + from->len - at - 1;
    }

    cscf = ngx_mail_get_module_srv_conf(s, ngx_mail_core_module);

    params.helo.data = helo->data;
    params.helo.len = helo->len;
    params.receiver.data = cscf->server_name.data;
    params.receiver.len = cscf->server_name.len;
    params.now = ngx_time();

    ctx->spf = ngx_mail_spam_spf_start(s->connection->pool,
                                       s->connection->log, &params,
                                       conf->spf_timeout,
                                       ngx_mail_spam_dns_done, ctx);
}


static void
ngx_mail_spam_dns_done(void *data)
{
    ngx_mail_spam_ctx_t  *ctx = data;

    ngx_mail_spam_check_t  *ck;

    ck = ctx->check;

    if (ck == NULL || !ck->waiting_dns) {
        return;
    }

    if ((ctx->dnsbl && !ctx->dnsbl->done) || (ctx->spf && !ctx->spf->done)) {
        return;
    }

    ck->waiting_dns = 0;

    if (ck->wait.timer_set) {
        ngx_del_timer(&ck->wait);
    }

    if (ngx_mail_spam_read(ck) != NGX_OK) {
        ngx_mail_spam_finish(ck);
    }
}


/* the DNS checks have their own timeouts; this is the last resort */

static void
ngx_mail_spam_dns_wait(ngx_event_t *ev)
{
    ngx_mail_spam_check_t  *ck = ev->data;

    ck->waiting_dns = 0;

    if (ngx_mail_spam_read(ck) != NGX_OK) {
        ngx_mail_spam_finish(ck);
    }
}


/*
 * The end of the data: NGX_DECLINED when the message is not filtered,
 * else the handler gets the verdict later.
 */

ngx_int_t
ngx_mail_spam_check(ngx_mail_session_t *s, ngx_pool_t *pool, ngx_str_t *id,
    ngx_str_t *spool_key, ngx_str_t *from, ngx_array_t *local,
    ngx_mail_spam_verdict_pt handler)
{
    ngx_mail_spam_ctx_t       *ctx;
    ngx_mail_spam_check_t     *ck;
    ngx_mail_spam_srv_conf_t  *conf;

    conf = ngx_mail_get_module_srv_conf(s, ngx_mail_spam_module);

    if (!conf->enable || local->nelts == 0) {
        return NGX_DECLINED;
    }

    ctx = ngx_mail_spam_get_ctx(s);
    ck = ngx_pcalloc(pool, sizeof(ngx_mail_spam_check_t));

    if (ctx == NULL || ck == NULL
        || ngx_array_init(&ck->users, pool, 4, sizeof(ngx_mail_spam_user_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ck->ctx = ctx;
    ck->pool = pool;
    ck->id = *id;
    ck->from = *from;
    ck->local = local;
    ck->handler = handler;
    ck->verdict.key = *spool_key;
    ctx->check = ck;

    ck->wait.handler = ngx_mail_spam_dns_wait;
    ck->wait.data = ck;
    ck->wait.log = s->connection->log;

    if ((ctx->dnsbl && !ctx->dnsbl->done) || (ctx->spf && !ctx->spf->done)) {
        ck->waiting_dns = 1;
        ngx_add_timer(&ck->wait, ngx_max(conf->dnsbl_timeout,
                                         conf->spf_timeout) + 1000);
        return NGX_OK;
    }

    /*
     * the verdict always comes later, from Redis: a failure here is told
     * now, so that the caller delivers without the filter's fields rather
     * than being called back from inside this call
     */
    if (ngx_mail_spam_read(ck) != NGX_OK) {
        ctx->check = NULL;
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* the message back from the spool, as much as the tokenizer reads */

static ngx_int_t
ngx_mail_spam_read(ngx_mail_spam_check_t *ck)
{
    u_char                    *p;
    ngx_str_t                 *a;
    ngx_uint_t                 i, n;
    ngx_mail_redis_cmd_t      *cmds;
    ngx_mail_session_t        *s;

    s = ck->ctx->session;
    n = ngx_min(ck->local->nelts, NGX_MAIL_SPAM_USERS_MAX);

    cmds = ngx_pcalloc(ck->pool, (n + 1) * sizeof(ngx_mail_redis_cmd_t));
    p = ngx_pnalloc(ck->pool, 32);

    if (cmds == NULL || p == NULL) {
        return NGX_ERROR;
    }

    ngx_mail_redis_cmd_init(&cmds[0], "GETRANGE");
    ngx_mail_redis_cmd_arg(&cmds[0], ck->verdict.key.data,
                           ck->verdict.key.len);
    ngx_mail_redis_cmd_cstr(&cmds[0], "0");
    ngx_mail_redis_cmd_arg(&cmds[0], p,
                           ngx_sprintf(p, "%uz",
                                       (size_t) NGX_MAIL_SPAM_READ_MAX - 1)
                           - p);

    /* each recipient's own thresholds */
    a = ck->local->elts;

    for (i = 0; i < n; i++) {
        p = ngx_pnalloc(ck->pool, a[i].len + 8);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_mail_redis_cmd_init(&cmds[i + 1], "HMGET");
        ngx_mail_redis_cmd_arg(&cmds[i + 1], p,
                               ngx_sprintf(p, "user:{%V}", &a[i]) - p);
        ngx_mail_redis_cmd_cstr(&cmds[i + 1], "spam_junk_score");
        ngx_mail_redis_cmd_cstr(&cmds[i + 1], "spam_reject_score");
    }

    ck->redis = ngx_mail_redis_send(cmds, n + 1, ngx_mail_spam_content, ck,
                                    s->connection->log);
    if (ck->redis == NULL) {
        /* no Redis: no filing either; the delivery will say so */
        return NGX_ERROR;
    }

    return NGX_OK;
}


static double
ngx_mail_spam_reply_score(redisReply *r, double def)
{
    ngx_str_t  v;
    double     score;

    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        return def;
    }

    v.data = (u_char *) r->str;
    v.len = r->len;

    return ngx_mail_spam_parse_score(&v, &score) == NGX_OK ? score : def;
}


static void
ngx_mail_spam_content(redisReply *reply, void *data)
{
    ngx_mail_spam_check_t  *ck = data;

    ngx_str_t                  *a;
    ngx_uint_t                  i, n;
    redisReply                 *r;
    ngx_mail_spam_user_t       *u;
    ngx_mail_spam_message_t    *tokens;
    ngx_mail_spam_srv_conf_t   *conf;
    ngx_mail_spam_bayes_req_t  *reqs;

    ck->redis = NULL;
    conf = ngx_mail_get_module_srv_conf(ck->ctx->session,
                                        ngx_mail_spam_module);

    n = ngx_min(ck->local->nelts, NGX_MAIL_SPAM_USERS_MAX);

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != n + 1
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        ngx_mail_spam_finish(ck);
        return;
    }

    a = ck->local->elts;

    for (i = 0; i < n; i++) {
        u = ngx_array_push(&ck->users);
        if (u == NULL) {
            ngx_mail_spam_finish(ck);
            return;
        }

        ngx_memzero(u, sizeof(ngx_mail_spam_user_t));
        u->address = a[i];

        r = reply->element[i + 1];

        u->junk = ngx_mail_spam_reply_score(
                      (r->type == REDIS_REPLY_ARRAY && r->elements == 2)
                      ? r->element[0] : NULL, conf->junk_score);
        u->reject = ngx_mail_spam_reply_score(
                      (r->type == REDIS_REPLY_ARRAY && r->elements == 2)
                      ? r->element[1] : NULL, conf->reject_score);
    }

    if (!conf->bayes) {
        ngx_mail_spam_judge(ck);
        return;
    }

    /* tokenized once, whatever the number of recipients */
    tokens = ngx_mail_spam_bayes_tokens(ck->pool,
                                        ck->ctx->session->connection->log,
                                        (u_char *) reply->element[0]->str,
                                        reply->element[0]->len);
    if (tokens == NULL) {
        ngx_mail_spam_finish(ck);
        return;
    }

    reqs = ngx_pcalloc(ck->pool,
                       ck->users.nelts * sizeof(ngx_mail_spam_bayes_req_t));
    if (reqs == NULL) {
        ngx_mail_spam_finish(ck);
        return;
    }

    u = ck->users.elts;

    for (i = 0; i < ck->users.nelts; i++) {
        reqs[i].user = u[i].address;
        u[i].bayes = &reqs[i];
    }

    if (ngx_mail_spam_bayes_classify_message(ck->pool,
                                             ck->ctx->session->connection->log,
                                             tokens, reqs, ck->users.nelts,
                                             ngx_mail_spam_classified, ck)
        != NGX_OK)
    {
        /* judged without Bayes */
        for (i = 0; i < ck->users.nelts; i++) {
            u[i].bayes = NULL;
        }

        ngx_mail_spam_judge(ck);
    }
}


static void
ngx_mail_spam_classified(void *data)
{
    ngx_mail_spam_check_t  *ck = data;

    ngx_mail_spam_judge(ck);
}


static void
ngx_mail_spam_judge(ngx_mail_spam_check_t *ck)
{
    u_char                    *tests, *p, *last;
    double                     base, bayes, score, head, junk;
    ngx_uint_t                 i, rejects;
    ngx_str_t                 *j, *a;
    ngx_mail_spam_user_t      *u;
    ngx_mail_spam_srv_conf_t  *conf;

    conf = ngx_mail_get_module_srv_conf(ck->ctx->session,
                                        ngx_mail_spam_module);

    tests = ngx_pnalloc(ck->pool, 1024);
    if (tests == NULL) {
        ngx_mail_spam_finish(ck);
        return;
    }

    p = tests;
    last = tests + 1024;
    base = ngx_mail_spam_base_score(ck, conf, &p, last);

    ck->verdict.junk = ngx_array_create(ck->pool, 2, sizeof(ngx_str_t));
    if (ck->verdict.junk == NULL) {
        ngx_mail_spam_finish(ck);
        return;
    }

    rejects = 0;
    head = base;
    junk = conf->junk_score;
    u = ck->users.elts;

    for (i = 0; i < ck->users.nelts; i++) {
        bayes = 0;

        /* 0.5 is no opinion: the score moves either way from there */
        if (u[i].bayes && u[i].bayes->done
            && u[i].bayes->probability >= 0)
        {
            bayes = conf->bayes_score
                    * (u[i].bayes->probability - 0.5) * 2;
        }

        score = base + bayes;
        u[i].score = score;

        if (i == 0) {
            /* the header fields show the first recipient's judgement */
            head = score;
            junk = u[i].junk;

            if (bayes != 0) {
                p = ngx_slprintf(p, last, "%sBAYES_%02d",
                                 p == tests ? "" : ",",
                                 (int) (u[i].bayes->probability * 99));
            }
        }

        if (u[i].reject > 0 && score >= u[i].reject) {
            rejects++;

        } else if (score >= u[i].junk) {
            j = ngx_array_push(ck->verdict.junk);
            if (j == NULL) {
                ngx_mail_spam_finish(ck);
                return;
            }

            *j = u[i].address;
        }
    }

    /*
     * recipients past USERS_MAX were not classified on their own: the
     * first recipient's score and the directives' thresholds stand
     */
    a = ck->local->elts;

    for (i = ck->users.nelts; i < ck->local->nelts; i++) {
        if (conf->reject_score > 0 && head >= conf->reject_score) {
            rejects++;

        } else if (head >= conf->junk_score) {
            j = ngx_array_push(ck->verdict.junk);
            if (j == NULL) {
                ngx_mail_spam_finish(ck);
                return;
            }

            *j = a[i];
        }
    }

    /* one reply for all: refused only when every recipient would refuse */
    ck->verdict.reject = (rejects && rejects == ck->local->nelts);

    if (rejects && !ck->verdict.reject) {
        /* the others take it: those who would refuse get it in Junk */
        for (i = 0; i < ck->users.nelts; i++) {
            if (u[i].reject > 0 && u[i].score >= u[i].reject) {
                j = ngx_array_push(ck->verdict.junk);
                if (j == NULL) {
                    ngx_mail_spam_finish(ck);
                    return;
                }

                *j = u[i].address;
            }
        }

        for (i = ck->users.nelts; i < ck->local->nelts; i++) {
            if (conf->reject_score > 0 && head >= conf->reject_score) {
                j = ngx_array_push(ck->verdict.junk);
                if (j == NULL) {
                    ngx_mail_spam_finish(ck);
                    return;
                }

                *j = a[i];
            }
        }
    }

    ngx_mail_spam_headers(ck, head, junk, tests, p - tests);
    ngx_mail_spam_log(ck, head);

    ck->verdict.filtered = 1;
    ngx_mail_spam_finish(ck);
}


/* the DNSBL and SPF points, and their test names */

static double
ngx_mail_spam_base_score(ngx_mail_spam_check_t *ck,
    ngx_mail_spam_srv_conf_t *conf, u_char **tests, u_char *last)
{
    u_char                     *p;
    double                      score;
    ngx_uint_t                  i;
    ngx_mail_spam_ctx_t        *ctx;
    ngx_mail_spam_dnsbl_hit_t  *hit;

    ctx = ck->ctx;
    p = *tests;
    score = 0;

    if (ctx->dnsbl && ctx->dnsbl->done) {
        score += ctx->dnsbl->score;
        hit = ctx->dnsbl->hits.elts;

        for (i = 0; i < ctx->dnsbl->hits.nelts; i++) {
            p = ngx_slprintf(p, last, "%sDNSBL_%V", p == *tests ? "" : ",",
                             &hit[i].zone);
        }
    }

    if (ctx->spf && ctx->spf->done && ctx->spf->spf
        && ctx->spf->spf->result < NGX_MAIL_SPAM_SPF_RESULTS)
    {
        score += conf->spf_score[ctx->spf->spf->result];
        p = ngx_slprintf(p, last, "%sSPF_%s", p == *tests ? "" : ",",
                         ngx_mail_spf_result_name(ctx->spf->spf->result));
    }

    /* upper-case test names, as SpamAssassin's */
    for ( /* void */ ; *tests < p; (*tests)++) {
        **tests = ngx_toupper(**tests);
        if (**tests == '.' || **tests == '-') {
            **tests = '_';
        }
    }

    return score;
}


/*
 * The fields put first: SPF's (RFC 7208 9.1, RFC 8601) and the score's;
 * what a client or a later filter reads.
 */

static void
ngx_mail_spam_headers(ngx_mail_spam_check_t *ck, double score, double junk,
    u_char *tests, size_t tests_len)
{
    u_char                    *p, *last;
    size_t                     len;
    ngx_mail_spam_ctx_t       *ctx;
    ngx_mail_core_srv_conf_t  *cscf;
    char                       spf[1024], ar[1024];

    ctx = ck->ctx;
    cscf = ngx_mail_get_module_srv_conf(ctx->session, ngx_mail_core_module);

    spf[0] = '\0';
    ar[0] = '\0';

    if (ctx->spf && ctx->spf->done && ctx->spf->spf) {
        (void) ngx_mail_spf_received(ctx->spf->spf, spf, sizeof(spf));
        (void) ngx_mail_spf_auth_results(ctx->spf->spf, ar, sizeof(ar));
    }

    len = 256 + ngx_strlen(spf) + ngx_strlen(ar) + cscf->server_name.len
          + tests_len;

    p = ngx_pnalloc(ck->pool, len);
    if (p == NULL) {
        return;
    }

    ck->verdict.headers.data = p;
    last = p + len;

    if (spf[0]) {
        p = ngx_slprintf(p, last, "Received-SPF: %s" CRLF, spf);
        p = ngx_slprintf(p, last, "Authentication-Results: %V; %s" CRLF,
                         &cscf->server_name, ar);
    }

    p = ngx_slprintf(p, last, "X-Spam-Score: %s%.1f" CRLF,
                     score < 0 ? "-" : "", score < 0 ? -score : score);
    p = ngx_slprintf(p, last, "X-Spam-Status: %s, score=%s%.1f "
                     "required=%.1f tests=%*s" CRLF,
                     score >= junk ? "Yes" : "No",
                     score < 0 ? "-" : "", score < 0 ? -score : score,
                     junk, tests_len, tests);

    ck->verdict.headers.len = p - ck->verdict.headers.data;
}


static void
ngx_mail_spam_log(ngx_mail_spam_check_t *ck, double score)
{
    ngx_uint_t                  i;
    u_char                     *p, *last, *a;
    ngx_mail_spam_ctx_t        *ctx;
    ngx_mail_spam_user_t       *u;
    ngx_mail_spam_dnsbl_hit_t  *hit;
    u_char                      buf[1024];

    ctx = ck->ctx;
    p = buf;
    last = buf + sizeof(buf);

    p = ngx_slprintf(p, last, " dnsbl=");

    if (ctx->dnsbl == NULL) {
        p = ngx_slprintf(p, last, "off");

    } else if (!ctx->dnsbl->done) {
        p = ngx_slprintf(p, last, "timeout");

    } else if (ctx->dnsbl->hits.nelts == 0 && ctx->dnsbl->failed) {
        p = ngx_slprintf(p, last, "unanswered:%ui", ctx->dnsbl->failed);

    } else if (ctx->dnsbl->hits.nelts == 0) {
        p = ngx_slprintf(p, last, "clean");

    } else {
        hit = ctx->dnsbl->hits.elts;

        for (i = 0; i < ctx->dnsbl->hits.nelts; i++) {
            /* the answer tells which of a zone's lists it is */
            a = (u_char *) &hit[i].answer;
            p = ngx_slprintf(p, last, "%s%V:%ud.%ud.%ud.%ud", i ? "," : "",
                             &hit[i].zone, a[0], a[1], a[2], a[3]);
        }
    }

    p = ngx_slprintf(p, last, " spf=%s",
                     ctx->spf == NULL ? "off"
                     : !ctx->spf->done || ctx->spf->spf == NULL ? "timeout"
                     : ngx_mail_spf_result_name(ctx->spf->spf->result));

    p = ngx_slprintf(p, last, " bayes=");
    u = ck->users.elts;

    for (i = 0; i < ck->users.nelts; i++) {
        if (u[i].bayes && u[i].bayes->done
            && u[i].bayes->probability >= 0)
        {
            p = ngx_slprintf(p, last, "%s%V:%.3f", i ? "," : "",
                             &u[i].address, u[i].bayes->probability);

        } else {
            p = ngx_slprintf(p, last, "%s%V:-", i ? "," : "",
                             &u[i].address);
        }
    }

    ngx_log_error(NGX_LOG_NOTICE, ctx->session->connection->log, 0,
                  "spam: %V from=<%V> ip=%V score=%s%.1f verdict=%s%*s",
                  &ck->id, &ck->from, &ctx->session->connection->addr_text,
                  score < 0 ? "-" : "", score < 0 ? -score : score,
                  ck->verdict.reject ? "reject"
                  : ck->verdict.junk->nelts ? "junk" : "inbox",
                  p - buf, buf);
}


static void
ngx_mail_spam_finish(ngx_mail_spam_check_t *ck)
{
    ngx_mail_session_t  *s;

    s = ck->ctx->session;
    ck->ctx->check = NULL;

    ck->handler(s, &ck->verdict);
}
