
/*
 * ngx_mail_queue_module: the delivery workers.
 *
 * The first queue_workers worker processes of every node deliver.  Each
 * reads new entries of the queue:outbound stream through the consumer
 * group "delivery", so that any number of nodes share the work and an
 * entry goes to one of them; the entry stays in the group's pending list
 * while its message is delivered, and the worker renews its claim every
 * third of queue_reclaim_timeout.  An entry whose worker stopped renewing
 * (the process died) is taken over by XAUTOCLAIM on another.
 *
 * One message's attempt: its envelope and recipient states are loaded,
 * the recipients still to do are grouped by domain (one destination
 * each, or all to the relayhost), every destination runs its SMTP
 * transaction (ngx_mail_queue_smtp.c), at most queue_destination_
 * concurrency at once per domain and worker, and once all are done the
 * attempt is settled (ngx_mail_queue_settle.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_redis.h"
#include "ngx_mail_server.h"
#include "ngx_mail_queue.h"


typedef struct {
    ngx_queue_t                 queue;
    ngx_str_t                   domain;
    ngx_uint_t                  active;
    ngx_queue_t                 waiting;
} ngx_mail_queue_slot_t;


/* a hash or stream field name of mail_keys.h */
#define ngx_mail_queue_is_field(s, field)                                     \
    ((s)->len == sizeof(field) - 1                                            \
     && ngx_strncmp((s)->data, field, sizeof(field) - 1) == 0)

/* a queue:{ID}:rcpt value of that STATE */
#define ngx_mail_queue_is_state(s, state)                                     \
    ((s)->len >= sizeof(state) - 1                                            \
     && ngx_strncmp((s)->data, state, sizeof(state) - 1) == 0)


static void *ngx_mail_queue_create_main_conf(ngx_conf_t *cf);
static char *ngx_mail_queue_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_mail_queue_relayhost(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_mail_queue_relayhost_auth(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_mail_queue_tls_policy(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_mail_queue_retry(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_mail_queue_cache_time(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_mail_queue_init_process(ngx_cycle_t *cycle);
static void ngx_mail_queue_poll(ngx_event_t *ev);
static void ngx_mail_queue_woken(ngx_str_t *message, void *data);
static void ngx_mail_queue_schedule(ngx_msec_t delay);
static void ngx_mail_queue_group_created(redisReply *reply, void *data);
static void ngx_mail_queue_read(void);
static void ngx_mail_queue_entries(redisReply *reply, void *data);
static void ngx_mail_queue_reclaimed(redisReply *reply, void *data);
static void ngx_mail_queue_take(redisReply *entries);
static void ngx_mail_queue_heartbeat(void);
static ngx_uint_t ngx_mail_queue_delivering(ngx_str_t *entry);
static void ngx_mail_queue_ignore(redisReply *reply, void *data);
static ngx_int_t ngx_mail_queue_job_start(ngx_str_t *entry, ngx_str_t *id);
static void ngx_mail_queue_job_loaded(redisReply *reply, void *data);
static ngx_int_t ngx_mail_queue_job_envelope(ngx_mail_queue_job_t *job,
    redisReply *env);
static ngx_int_t ngx_mail_queue_job_rcpts(ngx_mail_queue_job_t *job,
    ngx_str_t *lines, redisReply *states);
static void ngx_mail_queue_job_params(ngx_mail_queue_job_t *job);
static void ngx_mail_queue_rcpt_params(ngx_mail_queue_rcpt_t *rcpt);
static ngx_uint_t ngx_mail_queue_param_next(u_char **pos, u_char *end,
    ngx_str_t *param);
static void ngx_mail_queue_job_route(ngx_mail_queue_job_t *job);
static void ngx_mail_queue_dest_start(ngx_mail_queue_dest_t *dest);
static ngx_str_t *ngx_mail_queue_reply_str(redisReply *r, ngx_str_t *s);


static ngx_conf_enum_t  ngx_mail_queue_tls_levels[] = {
    { ngx_string("off"), NGX_MAIL_QUEUE_TLS_OFF },
    { ngx_string("may"), NGX_MAIL_QUEUE_TLS_MAY },
    { ngx_string("encrypt"), NGX_MAIL_QUEUE_TLS_ENCRYPT },
    { ngx_string("verify"), NGX_MAIL_QUEUE_TLS_VERIFY },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_mail_queue_commands[] = {

    { ngx_string("queue_workers"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, workers),
      NULL },

    { ngx_string("queue_concurrency"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, concurrency),
      NULL },

    { ngx_string("queue_destination_concurrency"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, dest_concurrency),
      NULL },

    { ngx_string("queue_smtp_port"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, smtp_port_conf),
      NULL },

    { ngx_string("queue_relayhost"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_mail_queue_relayhost,
      NGX_MAIL_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("queue_relayhost_auth"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_mail_queue_relayhost_auth,
      NGX_MAIL_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("queue_tls"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, tls),
      &ngx_mail_queue_tls_levels },

    { ngx_string("queue_tls_policy"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_mail_queue_tls_policy,
      NGX_MAIL_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("queue_tls_trusted_certificate"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, tls_trusted_certificate),
      NULL },

    { ngx_string("queue_helo_name"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, helo_name),
      NULL },

    { ngx_string("queue_retry"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_mail_queue_retry,
      NGX_MAIL_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("queue_delay_warning"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, delay_warning),
      NULL },

    { ngx_string("queue_lifetime"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, lifetime),
      NULL },

    { ngx_string("queue_connect_timeout"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, connect_timeout),
      NULL },

    { ngx_string("queue_timeout"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, timeout),
      NULL },

    { ngx_string("queue_reclaim_timeout"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, reclaim_timeout),
      NULL },

    { ngx_string("queue_poll_interval"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, poll_interval),
      NULL },

    { ngx_string("queue_connection_cache_time"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_mail_queue_cache_time,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, cache_time),
      NULL },

    { ngx_string("queue_connection_reuse_time"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, reuse_time),
      NULL },

    { ngx_string("queue_connection_reuse_count"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_queue_conf_t, reuse_count),
      NULL },

      ngx_null_command
};


static ngx_mail_module_t  ngx_mail_queue_module_ctx = {
    NULL,                                  /* protocol */

    ngx_mail_queue_create_main_conf,       /* create main configuration */
    ngx_mail_queue_init_main_conf,         /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL                                   /* merge server configuration */
};


ngx_module_t  ngx_mail_queue_module = {
    NGX_MODULE_V1,
    &ngx_mail_queue_module_ctx,            /* module context */
    ngx_mail_queue_commands,               /* module directives */
    NGX_MAIL_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_mail_queue_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_mail_queue_conf_t  *ngx_mail_queue_main_conf;
static ngx_event_t             ngx_mail_queue_poll_event;
static ngx_str_t               ngx_mail_queue_consumer;
static ngx_queue_t             ngx_mail_queue_jobs;
static ngx_queue_t             ngx_mail_queue_slots;
static ngx_uint_t              ngx_mail_queue_active;
static ngx_uint_t              ngx_mail_queue_group_ready;
static ngx_uint_t              ngx_mail_queue_polling;
static ngx_msec_t              ngx_mail_queue_last_reclaim;
static ngx_msec_t              ngx_mail_queue_last_heartbeat;
static ngx_msec_t              ngx_mail_queue_last_promote;
static ngx_mail_redis_subscription_t  ngx_mail_queue_wakeup;


/*
 * Moves the deferred messages whose time has come into the stream.  One
 * script: with several nodes doing it at once, each id moves once.
 */
static char  ngx_mail_queue_promote_lua[] =
    "local due = redis.call('ZRANGEBYSCORE', '" MAIL_KEY_QUEUE_DEFERRED "',\n"
    "                       '-inf', ARGV[1], 'LIMIT', 0, 1000)\n"
    "for _, id in ipairs(due) do\n"
    "  redis.call('ZREM', '" MAIL_KEY_QUEUE_DEFERRED "', id)\n"
    "  redis.call('HSET', string.format('" MAIL_KEY_QUEUE_ENV_FMT "', id),\n"
    "             '" MAIL_FIELD_QUEUE_NEXT "', 0)\n"
    "  redis.call('XADD', '" MAIL_KEY_QUEUE_OUTBOUND "', '*',\n"
    "             '" MAIL_QUEUE_ENTRY_ID "', id)\n"
    "end\n"
    "return #due\n";


/*
 * Renews this consumer's claims (ARGV: consumer, entries): only on the
 * entries it still holds; one that another worker took over (this one
 * stalled past queue_reclaim_timeout) is left to that worker.
 */
static char  ngx_mail_queue_renew_lua[] =
    "for i = 2, #ARGV do\n"
    "  local p = redis.call('XPENDING', '" MAIL_KEY_QUEUE_OUTBOUND "',\n"
    "                       '" MAIL_QUEUE_GROUP "', ARGV[i], ARGV[i], 1)\n"
    "  if p[1] and p[1][2] == ARGV[1] then\n"
    "    redis.call('XCLAIM', '" MAIL_KEY_QUEUE_OUTBOUND "',\n"
    "               '" MAIL_QUEUE_GROUP "', ARGV[1], 0, ARGV[i], 'JUSTID')\n"
    "  end\n"
    "end\n"
    "return 'OK'\n";


ngx_mail_queue_conf_t *
ngx_mail_queue_conf(void)
{
    return ngx_mail_queue_main_conf;
}


static void *
ngx_mail_queue_create_main_conf(ngx_conf_t *cf)
{
    ngx_mail_queue_conf_t  *qcf;

    qcf = ngx_pcalloc(cf->pool, sizeof(ngx_mail_queue_conf_t));
    if (qcf == NULL) {
        return NULL;
    }

    qcf->workers = NGX_CONF_UNSET_UINT;
    qcf->concurrency = NGX_CONF_UNSET_UINT;
    qcf->dest_concurrency = NGX_CONF_UNSET_UINT;
    qcf->smtp_port_conf = NGX_CONF_UNSET_UINT;
    qcf->tls = NGX_CONF_UNSET_UINT;
    qcf->retry_min = NGX_CONF_UNSET;
    qcf->retry_max = NGX_CONF_UNSET;
    qcf->delay_warning = NGX_CONF_UNSET;
    qcf->lifetime = NGX_CONF_UNSET;
    qcf->connect_timeout = NGX_CONF_UNSET_MSEC;
    qcf->timeout = NGX_CONF_UNSET_MSEC;
    qcf->reclaim_timeout = NGX_CONF_UNSET_MSEC;
    qcf->poll_interval = NGX_CONF_UNSET_MSEC;
    qcf->cache_time = NGX_CONF_UNSET_MSEC;
    qcf->reuse_time = NGX_CONF_UNSET;
    qcf->reuse_count = NGX_CONF_UNSET_UINT;

    return qcf;
}


static char *
ngx_mail_queue_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_mail_queue_conf_t *qcf = conf;

    ngx_pool_cleanup_t  *cln;

    ngx_conf_init_uint_value(qcf->workers, 1);
    ngx_conf_init_uint_value(qcf->concurrency, 20);
    ngx_conf_init_uint_value(qcf->dest_concurrency, 10);
    ngx_conf_init_uint_value(qcf->smtp_port_conf, 25);
    ngx_conf_init_uint_value(qcf->tls, NGX_MAIL_QUEUE_TLS_MAY);
    ngx_conf_init_value(qcf->retry_min, 300);
    ngx_conf_init_value(qcf->retry_max, 4000);
    ngx_conf_init_value(qcf->delay_warning, 5 * 3600);
    ngx_conf_init_value(qcf->lifetime, 3 * 86400);
    ngx_conf_init_msec_value(qcf->connect_timeout, 30000);
    ngx_conf_init_msec_value(qcf->timeout, 300000);
    ngx_conf_init_msec_value(qcf->reclaim_timeout, 60000);
    ngx_conf_init_msec_value(qcf->poll_interval, 1000);
    /* Postfix's smtp_connection_cache_time_limit and _reuse_time_limit */
    ngx_conf_init_msec_value(qcf->cache_time, 2000);
    ngx_conf_init_value(qcf->reuse_time, 300);
    ngx_conf_init_uint_value(qcf->reuse_count, 0);

    if (qcf->smtp_port_conf == 0 || qcf->smtp_port_conf > 65535) {
        return "has an invalid queue_smtp_port";
    }

    qcf->smtp_port = (in_port_t) qcf->smtp_port_conf;

    if (qcf->relayhost.len && qcf->relay_port == 0) {
        qcf->relay_port = qcf->smtp_port;
    }

    if (qcf->concurrency == 0 || qcf->dest_concurrency == 0) {
        return "has a zero queue concurrency";
    }

    if (qcf->retry_min < 1 || qcf->retry_max < qcf->retry_min) {
        return "has an invalid queue_retry";
    }

    if (qcf->reclaim_timeout < 300) {
        return "has a queue_reclaim_timeout below 300ms";
    }

    /* the poll also renews the claims: it must come often enough */
    if (qcf->poll_interval > qcf->reclaim_timeout / 3) {
        qcf->poll_interval = qcf->reclaim_timeout / 3;
    }

    if (qcf->helo_name.len == 0) {
        qcf->helo_name = cf->cycle->hostname;
    }

    qcf->log = cf->cycle->new_log.file ? &cf->cycle->new_log : cf->log;

#if (NGX_MAIL_SSL)

    if (qcf->tls == NGX_MAIL_QUEUE_TLS_OFF && qcf->tls_policies == NULL) {
        return NGX_CONF_OK;
    }

    qcf->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (qcf->ssl == NULL) {
        return NGX_CONF_ERROR;
    }

    qcf->ssl->log = cf->log;

    if (ngx_ssl_create(qcf->ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(qcf->ssl);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = qcf->ssl;

    if (qcf->tls_trusted_certificate.len) {
        if (ngx_ssl_trusted_certificate(cf, qcf->ssl,
                                        &qcf->tls_trusted_certificate, 10)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

    } else {
        /* "verify" without a file checks against the system's CAs */
        (void) SSL_CTX_set_default_verify_paths(qcf->ssl->ctx);
    }

#else

    (void) cln;

    if (qcf->tls >= NGX_MAIL_QUEUE_TLS_ENCRYPT) {
        return "requires TLS, but nginx was built without mail SSL";
    }

#endif

    return NGX_CONF_OK;
}


static char *
ngx_mail_queue_relayhost(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mail_queue_conf_t *qcf = conf;

    u_char     *p, *colon;
    ngx_int_t   port;
    ngx_str_t  *value;

    if (qcf->relayhost.len) {
        return "is duplicate";
    }

    value = cf->args->elts;
    p = value[1].data;

    /* host, host:port, [ipv6]:port */
    colon = NULL;

    if (p[0] == '[') {
        colon = ngx_strlchr(p, p + value[1].len, ']');
        if (colon == NULL) {
            return "has an invalid address";
        }

        colon = (colon + 1 < p + value[1].len && colon[1] == ':')
                ? colon + 1 : NULL;

    } else {
        colon = ngx_strlchr(p, p + value[1].len, ':');
    }

    qcf->relayhost = value[1];

    if (colon) {
        port = ngx_atoi(colon + 1, p + value[1].len - colon - 1);
        if (port < 1 || port > 65535) {
            return "has an invalid port";
        }

        qcf->relay_port = (in_port_t) port;
        qcf->relayhost.len = colon - p;
    }

    if (qcf->relayhost.len == 0) {
        return "has an empty host";
    }

    /* the name is given to c-ares and to SNI as a C string */
    p = ngx_pnalloc(cf->pool, qcf->relayhost.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(p, qcf->relayhost.data, qcf->relayhost.len + 1);
    qcf->relayhost.data = p;

    return NGX_CONF_OK;
}


static char *
ngx_mail_queue_relayhost_auth(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_mail_queue_conf_t *qcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    qcf->relay_user = value[1];
    qcf->relay_password = value[2];

    return NGX_CONF_OK;
}


static char *
ngx_mail_queue_tls_policy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mail_queue_conf_t *qcf = conf;

    ngx_uint_t                    i;
    ngx_str_t                    *value;
    ngx_mail_queue_tls_policy_t  *policy;

    value = cf->args->elts;

    if (qcf->tls_policies == NULL) {
        qcf->tls_policies = ngx_array_create(cf->pool, 4,
                                         sizeof(ngx_mail_queue_tls_policy_t));
        if (qcf->tls_policies == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    policy = ngx_array_push(qcf->tls_policies);
    if (policy == NULL) {
        return NGX_CONF_ERROR;
    }

    policy->domain = value[1];

    for (i = 0; ngx_mail_queue_tls_levels[i].name.len; i++) {
        if (ngx_strcmp(ngx_mail_queue_tls_levels[i].name.data,
                       value[2].data) == 0)
        {
            policy->level = ngx_mail_queue_tls_levels[i].value;
            return NGX_CONF_OK;
        }
    }

    return "has an invalid level: off, may, encrypt or verify";
}


static char *
ngx_mail_queue_retry(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mail_queue_conf_t *qcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    qcf->retry_min = ngx_parse_time(&value[1], 1);
    qcf->retry_max = ngx_parse_time(&value[2], 1);

    if (qcf->retry_min == (time_t) NGX_ERROR
        || qcf->retry_max == (time_t) NGX_ERROR)
    {
        return "has an invalid time";
    }

    return NGX_CONF_OK;
}


/* a time, or "off" as 0: no connection is kept */

static char *
ngx_mail_queue_cache_time(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mail_queue_conf_t *qcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") != 0) {
        return ngx_conf_set_msec_slot(cf, cmd, conf);
    }

    if (qcf->cache_time != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    qcf->cache_time = 0;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_mail_queue_init_process(ngx_cycle_t *cycle)
{
    u_char                 *p;
    ngx_str_t               channel;
    ngx_mail_queue_conf_t  *qcf;

    qcf = ngx_mail_server_main_conf(cycle, &ngx_mail_queue_module);
    if (qcf == NULL) {
        return NGX_OK;
    }

    ngx_mail_queue_main_conf = qcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    if (ngx_worker >= qcf->workers) {
        return NGX_OK;
    }

    /* the consumer's name in the group: which node and process holds it */
    p = ngx_pnalloc(cycle->pool, cycle->hostname.len + NGX_INT64_LEN + 2);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_mail_queue_consumer.data = p;
    ngx_mail_queue_consumer.len = ngx_sprintf(p, "%V:%P", &cycle->hostname,
                                              ngx_pid)
                                  - p;

    ngx_queue_init(&ngx_mail_queue_jobs);
    ngx_queue_init(&ngx_mail_queue_slots);

    qcf->log = cycle->log;

    ngx_mail_queue_poll_event.handler = ngx_mail_queue_poll;
    ngx_mail_queue_poll_event.log = cycle->log;
    ngx_mail_queue_poll_event.data = qcf;
    ngx_mail_queue_poll_event.cancelable = 1;

    /* the Redis connection is being made: the first poll waits a little */
    ngx_add_timer(&ngx_mail_queue_poll_event, 100);

    /* a message queued on any node wakes the workers at once */
    ngx_str_set(&channel, MAIL_CHANNEL_QUEUE_WAKEUP);

    if (ngx_mail_redis_subscribe(&ngx_mail_queue_wakeup, &channel,
                                 ngx_mail_queue_woken, NULL)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "queue: no wake-ups, polling only");
    }

    return NGX_OK;
}


static void
ngx_mail_queue_woken(ngx_str_t *message, void *data)
{
    if (ngx_mail_queue_group_ready && !ngx_mail_queue_polling) {
        ngx_mail_queue_schedule(0);
    }
}


static void
ngx_mail_queue_schedule(ngx_msec_t delay)
{
    ngx_msec_t  beat;

    /* the poll also renews the claims: it comes at least that often */
    beat = ngx_mail_queue_main_conf->reclaim_timeout / 3;

    if (delay > beat) {
        delay = beat;
    }

    if (ngx_mail_queue_poll_event.timer_set) {
        if (delay) {
            return;
        }

        ngx_del_timer(&ngx_mail_queue_poll_event);
    }

    ngx_add_timer(&ngx_mail_queue_poll_event, delay);
}


static void
ngx_mail_queue_poll(ngx_event_t *ev)
{
    ngx_mail_redis_cmd_t   cmd;
    ngx_mail_queue_conf_t *qcf;

    qcf = ngx_mail_queue_main_conf;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        /*
         * no new entries, but the deliveries under way go on, and so
         * must their claims, or another worker takes them over and
         * sends the messages again; the timer is cancelable and does
         * not keep the process alive
         */
        ngx_mail_queue_heartbeat();

        if (ngx_mail_queue_active) {
            ngx_mail_queue_schedule(qcf->poll_interval);
        }

        return;
    }

    if (ngx_mail_queue_polling) {
        return;
    }

    if (!ngx_mail_queue_group_ready) {
        /* "0": entries queued before any worker ran are delivered too */
        ngx_mail_redis_cmd_init(&cmd, "XGROUP");
        ngx_mail_redis_cmd_cstr(&cmd, "CREATE");
        ngx_mail_redis_cmd_cstr(&cmd, MAIL_KEY_QUEUE_OUTBOUND);
        ngx_mail_redis_cmd_cstr(&cmd, MAIL_QUEUE_GROUP);
        ngx_mail_redis_cmd_cstr(&cmd, "0");
        ngx_mail_redis_cmd_cstr(&cmd, "MKSTREAM");

        if (ngx_mail_redis_send(&cmd, 1, ngx_mail_queue_group_created, NULL,
                                qcf->log)
            == NULL)
        {
            ngx_mail_queue_schedule(qcf->poll_interval);
            return;
        }

        ngx_mail_queue_polling = 1;
        return;
    }

    ngx_mail_queue_heartbeat();
    ngx_mail_queue_read();
}


static void
ngx_mail_queue_group_created(redisReply *reply, void *data)
{
    ngx_mail_queue_polling = 0;

    if (reply == NULL
        || (reply->type == REDIS_REPLY_ERROR
            && ngx_strncmp(reply->str, "BUSYGROUP", 9) != 0))
    {
        ngx_log_error(NGX_LOG_ERR, ngx_mail_queue_main_conf->log, 0,
                      "queue: cannot create the consumer group: %s",
                      reply ? reply->str : "Redis unavailable");
        ngx_mail_queue_schedule(ngx_mail_queue_main_conf->poll_interval);
        return;
    }

    ngx_mail_queue_group_ready = 1;
    ngx_mail_queue_schedule(0);
}


/*
 * One poll: the due deferred messages into the stream, then new entries
 * for the free places, and now and then the entries of dead workers.
 */

static void
ngx_mail_queue_read(void)
{
    u_char                  count[NGX_INT_T_LEN], now[NGX_TIME_T_LEN];
    u_char                  idle[NGX_INT_T_LEN];
    ngx_uint_t              n;
    ngx_msec_t              elapsed;
    ngx_mail_redis_cmd_t    cmd;
    ngx_mail_queue_conf_t  *qcf;

    qcf = ngx_mail_queue_main_conf;

    if (ngx_mail_queue_active >= qcf->concurrency) {
        /* full: only the claims are renewed, at the next poll */
        ngx_mail_queue_schedule(qcf->poll_interval);
        return;
    }

    /* deferred messages are due by the second: once per poll interval */
    if (ngx_current_msec - ngx_mail_queue_last_promote >= qcf->poll_interval
        || ngx_mail_queue_last_promote == 0)
    {
        ngx_mail_queue_last_promote = ngx_current_msec;

        ngx_mail_redis_cmd_init(&cmd, "EVAL");
        ngx_mail_redis_cmd_arg(&cmd, (u_char *) ngx_mail_queue_promote_lua,
                               sizeof(ngx_mail_queue_promote_lua) - 1);
        ngx_mail_redis_cmd_cstr(&cmd, "0");
        ngx_mail_redis_cmd_arg(&cmd, now, ngx_sprintf(now, "%T", ngx_time())
                                          - now);

        if (ngx_mail_redis_send(&cmd, 1, ngx_mail_queue_ignore, NULL,
                                qcf->log)
            == NULL)
        {
            ngx_mail_queue_schedule(qcf->poll_interval);
            return;
        }
    }

    n = qcf->concurrency - ngx_mail_queue_active;
    elapsed = ngx_current_msec - ngx_mail_queue_last_reclaim;

    if (elapsed >= qcf->reclaim_timeout / 2) {
        ngx_mail_queue_last_reclaim = ngx_current_msec;

        ngx_mail_redis_cmd_init(&cmd, "XAUTOCLAIM");
        ngx_mail_redis_cmd_cstr(&cmd, MAIL_KEY_QUEUE_OUTBOUND);
        ngx_mail_redis_cmd_cstr(&cmd, MAIL_QUEUE_GROUP);
        ngx_mail_redis_cmd_arg(&cmd, ngx_mail_queue_consumer.data,
                               ngx_mail_queue_consumer.len);
        ngx_mail_redis_cmd_arg(&cmd, idle,
                               ngx_sprintf(idle, "%M", qcf->reclaim_timeout)
                               - idle);
        ngx_mail_redis_cmd_cstr(&cmd, "0-0");
        ngx_mail_redis_cmd_cstr(&cmd, "COUNT");
        ngx_mail_redis_cmd_arg(&cmd, count,
                               ngx_sprintf(count, "%ui", n) - count);

        if (ngx_mail_redis_send(&cmd, 1, ngx_mail_queue_reclaimed, NULL,
                                qcf->log)
            == NULL)
        {
            ngx_mail_queue_schedule(qcf->poll_interval);
            return;
        }

        ngx_mail_queue_polling = 1;
        return;
    }

    ngx_mail_redis_cmd_init(&cmd, "XREADGROUP");
    ngx_mail_redis_cmd_cstr(&cmd, "GROUP");
    ngx_mail_redis_cmd_cstr(&cmd, MAIL_QUEUE_GROUP);
    ngx_mail_redis_cmd_arg(&cmd, ngx_mail_queue_consumer.data,
                           ngx_mail_queue_consumer.len);
    ngx_mail_redis_cmd_cstr(&cmd, "COUNT");
    ngx_mail_redis_cmd_arg(&cmd, count, ngx_sprintf(count, "%ui", n) - count);
    ngx_mail_redis_cmd_cstr(&cmd, "STREAMS");
    ngx_mail_redis_cmd_cstr(&cmd, MAIL_KEY_QUEUE_OUTBOUND);
    ngx_mail_redis_cmd_cstr(&cmd, ">");

    if (ngx_mail_redis_send(&cmd, 1, ngx_mail_queue_entries, NULL, qcf->log)
        == NULL)
    {
        ngx_mail_queue_schedule(qcf->poll_interval);
        return;
    }

    ngx_mail_queue_polling = 1;
}


static void
ngx_mail_queue_ignore(redisReply *reply, void *data)
{
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ngx_mail_queue_main_conf->log, 0,
                      "queue: Redis: %s", reply->str);
    }
}


/* XREADGROUP: nil, or [[stream, [[entry, [field, value, ...]], ...]]] */

static void
ngx_mail_queue_entries(redisReply *reply, void *data)
{
    ngx_uint_t   before;

    ngx_mail_queue_polling = 0;
    before = ngx_mail_queue_active;

    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY
        && reply->elements == 1
        && reply->element[0]->type == REDIS_REPLY_ARRAY
        && reply->element[0]->elements == 2)
    {
        ngx_mail_queue_take(reply->element[0]->element[1]);

    } else if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (reply && ngx_strncmp(reply->str, "NOGROUP", 7) == 0) {
            /* the stream was deleted (FLUSHALL): make the group again */
            ngx_mail_queue_group_ready = 0;
        }

        ngx_mail_queue_ignore(reply, NULL);
    }

    /* a full read may have left more: read on at once */
    ngx_mail_queue_schedule(ngx_mail_queue_active > before
                            && ngx_mail_queue_active
                               < ngx_mail_queue_main_conf->concurrency
                            ? 0 : ngx_mail_queue_main_conf->poll_interval);
}


/* XAUTOCLAIM: [next, [[entry, [field, value]], ...], [deleted ids]] */

static void
ngx_mail_queue_reclaimed(redisReply *reply, void *data)
{
    ngx_mail_queue_polling = 0;

    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY
        && reply->elements >= 2)
    {
        if (reply->element[1]->type == REDIS_REPLY_ARRAY
            && reply->element[1]->elements)
        {
            ngx_log_error(NGX_LOG_NOTICE, ngx_mail_queue_main_conf->log, 0,
                          "queue: took over %uz entries of a stopped "
                          "worker", reply->element[1]->elements);
        }

        ngx_mail_queue_take(reply->element[1]);

    } else {
        ngx_mail_queue_ignore(reply, NULL);
    }

    /* the new entries are read next */
    ngx_mail_queue_read();

    if (!ngx_mail_queue_polling) {
        ngx_mail_queue_schedule(ngx_mail_queue_main_conf->poll_interval);
    }
}


static void
ngx_mail_queue_take(redisReply *entries)
{
    size_t       i, j;
    ngx_str_t    entry, id, name;
    redisReply  *e, *fields;

    if (entries->type != REDIS_REPLY_ARRAY) {
        return;
    }

    for (i = 0; i < entries->elements; i++) {
        e = entries->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2
            || e->element[0]->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        ngx_mail_queue_reply_str(e->element[0], &entry);
        fields = e->element[1];
        ngx_str_null(&id);

        if (fields->type == REDIS_REPLY_ARRAY) {
            for (j = 0; j + 1 < fields->elements; j += 2) {
                if (fields->element[j]->type != REDIS_REPLY_STRING) {
                    continue;
                }

                ngx_mail_queue_reply_str(fields->element[j], &name);

                if (ngx_mail_queue_is_field(&name, MAIL_QUEUE_ENTRY_ID)) {
                    ngx_mail_queue_reply_str(fields->element[j + 1], &id);
                }
            }
        }

        /* a reclaim may return an entry this worker is still on */
        if (ngx_mail_queue_delivering(&entry)) {
            continue;
        }

        if (ngx_mail_queue_job_start(&entry, &id) != NGX_OK) {
            /* left pending: a later reclaim gives it another chance */
            ngx_log_error(NGX_LOG_ALERT, ngx_mail_queue_main_conf->log, 0,
                          "queue: cannot start entry %V", &entry);
        }
    }
}


static ngx_uint_t
ngx_mail_queue_delivering(ngx_str_t *entry)
{
    ngx_queue_t           *q;
    ngx_mail_queue_job_t  *job;

    for (q = ngx_queue_head(&ngx_mail_queue_jobs);
         q != ngx_queue_sentinel(&ngx_mail_queue_jobs);
         q = ngx_queue_next(q))
    {
        job = ngx_queue_data(q, ngx_mail_queue_job_t, queue);

        if (job->entry.len == entry->len
            && ngx_strncmp(job->entry.data, entry->data, entry->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The claim on the entries being delivered is renewed (XCLAIM resets
 * their idle time), so that only a worker that stopped loses them.
 */

static void
ngx_mail_queue_heartbeat(void)
{
    ngx_uint_t              n;
    ngx_queue_t            *q;
    ngx_mail_queue_job_t   *job;
    ngx_mail_redis_cmd_t    cmd;
    ngx_mail_queue_conf_t  *qcf;
    ngx_pool_t             *pool;

    qcf = ngx_mail_queue_main_conf;

    if (ngx_mail_queue_active == 0
        || ngx_current_msec - ngx_mail_queue_last_heartbeat
           < qcf->reclaim_timeout / 3)
    {
        return;
    }

    ngx_mail_queue_last_heartbeat = ngx_current_msec;

    pool = ngx_create_pool(1024, qcf->log);
    if (pool == NULL) {
        return;
    }

    if (ngx_mail_redis_cmd_init_n(&cmd, "EVAL", ngx_mail_queue_active + 8,
                                  pool)
        != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return;
    }

    ngx_mail_redis_cmd_arg(&cmd, (u_char *) ngx_mail_queue_renew_lua,
                           sizeof(ngx_mail_queue_renew_lua) - 1);
    ngx_mail_redis_cmd_cstr(&cmd, "0");
    ngx_mail_redis_cmd_arg(&cmd, ngx_mail_queue_consumer.data,
                           ngx_mail_queue_consumer.len);

    n = 0;

    for (q = ngx_queue_head(&ngx_mail_queue_jobs);
         q != ngx_queue_sentinel(&ngx_mail_queue_jobs);
         q = ngx_queue_next(q))
    {
        job = ngx_queue_data(q, ngx_mail_queue_job_t, queue);
        ngx_mail_redis_cmd_arg(&cmd, job->entry.data, job->entry.len);

        if (++n == ngx_mail_queue_active) {
            break;
        }
    }

    (void) ngx_mail_redis_send(&cmd, 1, ngx_mail_queue_ignore, NULL,
                               qcf->log);

    /* the arguments were copied into the request by hiredis */
    ngx_destroy_pool(pool);
}


static ngx_int_t
ngx_mail_queue_job_start(ngx_str_t *entry, ngx_str_t *id)
{
    u_char                *p;
    ngx_uint_t             i;
    ngx_pool_t            *pool;
    ngx_mail_queue_job_t  *job;
    ngx_mail_redis_cmd_t   cmds[2];

    pool = ngx_create_pool(4096, ngx_mail_queue_main_conf->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    job = ngx_pcalloc(pool, sizeof(ngx_mail_queue_job_t));
    if (job == NULL) {
        goto failed;
    }

    job->pool = pool;
    job->log = ngx_mail_queue_main_conf->log;

    job->entry.data = ngx_pstrdup(pool, entry);
    job->entry.len = entry->len;
    /* NUL-terminated for the key formats of mail_keys.h */
    job->id.data = ngx_pnalloc(pool, id->len + 1);
    job->id.len = id->len;

    /* the id names keys: only what the SMTP server gives out */
    for (i = 0; i < id->len; i++) {
        if (!((id->data[i] >= '0' && id->data[i] <= '9')
              || ((id->data[i] | 0x20) >= 'a' && (id->data[i] | 0x20) <= 'z')))
        {
            break;
        }
    }

    if (job->entry.data == NULL || job->id.data == NULL) {
        goto failed;
    }

    *ngx_cpymem(job->id.data, id->data, id->len) = '\0';

    ngx_queue_insert_tail(&ngx_mail_queue_jobs, &job->queue);
    ngx_mail_queue_active++;

    if (id->len == 0 || id->len > MAIL_QUEUE_ID_MAX || i != id->len) {
        ngx_log_error(NGX_LOG_ERR, job->log, 0,
                      "queue: entry %V has no valid id", entry);
        ngx_mail_queue_settle(job);
        return NGX_OK;
    }

    p = ngx_pnalloc(pool, sizeof(MAIL_KEY_QUEUE_ENV_FMT)
                          + sizeof(MAIL_KEY_QUEUE_RCPT_FMT) + 2 * id->len);
    if (p == NULL) {
        goto started_failed;
    }

    ngx_mail_redis_cmd_init(&cmds[0], "HGETALL");
    ngx_mail_redis_cmd_arg(&cmds[0], p,
                           ngx_sprintf(p, MAIL_KEY_QUEUE_ENV_FMT, job->id.data)
                           - p);
    p += sizeof(MAIL_KEY_QUEUE_ENV_FMT) + id->len;

    ngx_mail_redis_cmd_init(&cmds[1], "HGETALL");
    ngx_mail_redis_cmd_arg(&cmds[1], p,
                           ngx_sprintf(p, MAIL_KEY_QUEUE_RCPT_FMT,
                                       job->id.data)
                           - p);

    if (ngx_mail_redis_send(cmds, 2, ngx_mail_queue_job_loaded, job,
                            job->log)
        == NULL)
    {
        goto started_failed;
    }

    return NGX_OK;

started_failed:

    ngx_queue_remove(&job->queue);
    ngx_mail_queue_active--;

failed:

    ngx_destroy_pool(pool);
    return NGX_ERROR;
}


static void
ngx_mail_queue_job_loaded(redisReply *reply, void *data)
{
    ngx_mail_queue_job_t  *job = data;

    ngx_str_t  lines;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_ARRAY
        || reply->element[1]->type != REDIS_REPLY_ARRAY)
    {
        /* Redis failed: the entry stays pending, to be taken over */
        ngx_log_error(NGX_LOG_ERR, job->log, 0,
                      "queue: %V: cannot load the envelope", &job->id);
        ngx_mail_queue_job_free(job);
        return;
    }

    if (reply->element[0]->elements == 0) {
        /* delivered, or deleted by mailctl, since it was queued */
        ngx_mail_queue_settle(job);
        return;
    }

    if (ngx_mail_queue_job_envelope(job, reply->element[0]) != NGX_OK) {
        ngx_mail_queue_job_free(job);
        return;
    }

    lines = job->rcpt_lines;

    if (ngx_mail_queue_job_rcpts(job, &lines, reply->element[1]) != NGX_OK) {
        ngx_mail_queue_job_free(job);
        return;
    }

    job->attempts++;

    ngx_mail_queue_job_route(job);
}


static ngx_int_t
ngx_mail_queue_job_envelope(ngx_mail_queue_job_t *job, redisReply *env)
{
    size_t      i;
    ngx_str_t   name, value, blob, *field;

    ngx_str_null(&blob);

    for (i = 0; i + 1 < env->elements; i += 2) {
        ngx_mail_queue_reply_str(env->element[i], &name);
        ngx_mail_queue_reply_str(env->element[i + 1], &value);

        field = NULL;

        if (ngx_mail_queue_is_field(&name, MAIL_FIELD_QUEUE_FROM)) {
            field = &job->from;

        } else if (ngx_mail_queue_is_field(&name, MAIL_FIELD_QUEUE_RCPTS)) {
            field = &job->rcpt_lines;

        } else if (ngx_mail_queue_is_field(&name, MAIL_FIELD_QUEUE_PARAMS)) {
            field = &job->params;

        } else if (ngx_mail_queue_is_field(&name, MAIL_FIELD_QUEUE_BLOB)) {
            blob = value;
            continue;

        } else if (ngx_mail_queue_is_field(&name, MAIL_FIELD_QUEUE_SIZE)) {
            job->size = ngx_atoof(value.data, value.len);

        } else if (ngx_mail_queue_is_field(&name, MAIL_FIELD_CREATED)) {
            job->created = ngx_atotm(value.data, value.len);

        } else if (ngx_mail_queue_is_field(&name, MAIL_FIELD_QUEUE_ATTEMPTS)) {
            job->attempts = ngx_atoi(value.data, value.len);

        } else if (ngx_mail_queue_is_field(&name, MAIL_FIELD_QUEUE_WARNED)) {
            job->warned = (value.len == 1 && value.data[0] == '1');
        }

        if (field == NULL) {
            continue;
        }

        field->len = value.len;
        field->data = ngx_pnalloc(job->pool, value.len + 1);
        if (field->data == NULL) {
            return NGX_ERROR;
        }

        ngx_cpystrn(field->data, value.data, value.len + 1);
    }

    if (blob.len == 0 || job->rcpt_lines.len == 0) {
        ngx_log_error(NGX_LOG_ERR, job->log, 0,
                      "queue: %V: envelope without blob or recipients",
                      &job->id);
        return NGX_ERROR;
    }

    /* of the blob's id, only its key is kept; hiredis ends it with NUL */
    job->blob_key.data = ngx_pnalloc(job->pool,
                                     sizeof(MAIL_KEY_BLOB_FMT) + blob.len);
    if (job->blob_key.data == NULL) {
        return NGX_ERROR;
    }

    job->blob_key.len = ngx_sprintf(job->blob_key.data, MAIL_KEY_BLOB_FMT,
                                    blob.data)
                        - job->blob_key.data;

    if (job->size < 0) {
        job->size = 0;
    }

    if (job->created <= 0) {
        job->created = ngx_time();
    }

    if (job->attempts == (ngx_uint_t) NGX_ERROR) {
        job->attempts = 0;
    }

    ngx_mail_queue_job_params(job);

    return NGX_OK;
}


/* MAIL's parameters as the SMTP server queued them, "K=V K=V" */

static void
ngx_mail_queue_job_params(ngx_mail_queue_job_t *job)
{
    u_char     *p, *end;
    ngx_str_t   t;

    p = job->params.data;
    end = p + job->params.len;

    while (ngx_mail_queue_param_next(&p, end, &t)) {
        if (t.len == 13 && ngx_strncasecmp(t.data, (u_char *) "BODY=8BITMIME",
                                           13) == 0)
        {
            job->body_8bit = 1;

        } else if (t.len == 8
                   && ngx_strncasecmp(t.data, (u_char *) "SMTPUTF8", 8) == 0)
        {
            job->smtputf8 = 1;

        } else if (t.len > 4
                   && ngx_strncasecmp(t.data, (u_char *) "RET=", 4) == 0)
        {
            job->ret.data = t.data + 4;
            job->ret.len = t.len - 4;

        } else if (t.len > 6
                   && ngx_strncasecmp(t.data, (u_char *) "ENVID=", 6) == 0)
        {
            job->envid.data = t.data + 6;
            job->envid.len = t.len - 6;
        }
    }
}


/*
 * The recipients, one line each ("address PARAMS"), with the states an
 * earlier attempt recorded: sent and failed ones are done, deferred
 * ones are tried again.
 */

static ngx_int_t
ngx_mail_queue_job_rcpts(ngx_mail_queue_job_t *job, ngx_str_t *lines,
    redisReply *states)
{
    u_char                 *p, *end, *line, *sp, *at;
    size_t                  i;
    ngx_str_t               addr, state;
    ngx_mail_queue_rcpt_t  *rcpt;

    if (ngx_array_init(&job->rcpts, job->pool, 4,
                       sizeof(ngx_mail_queue_rcpt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = lines->data;
    end = p + lines->len;

    while (p < end) {
        line = p;
        p = ngx_strlchr(p, end, '\n');
        if (p == NULL) {
            p = end;
        }

        sp = ngx_strlchr(line, p, ' ');
        if (sp == NULL) {
            sp = p;
        }

        at = NULL;

        for (i = 0; line + i < sp; i++) {
            if (line[i] == '@') {
                at = line + i;
            }
        }

        if (sp > line && at != NULL && at + 1 < sp) {
            rcpt = ngx_array_push(&job->rcpts);
            if (rcpt == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(rcpt, sizeof(ngx_mail_queue_rcpt_t));

            rcpt->address.data = line;
            rcpt->address.len = sp - line;
            rcpt->domain.data = at + 1;
            rcpt->domain.len = sp - at - 1;

            if (sp < p) {
                rcpt->params.data = sp + 1;
                rcpt->params.len = p - sp - 1;
                ngx_mail_queue_rcpt_params(rcpt);
            }
        }

        p++;
    }

    for (i = 0; i + 1 < states->elements; i += 2) {
        ngx_mail_queue_reply_str(states->element[i], &addr);
        ngx_mail_queue_reply_str(states->element[i + 1], &state);

        rcpt = ngx_mail_queue_rcpt_find(job, &addr);

        if (rcpt == NULL) {
            continue;
        }

        /* the STATE word leads the value */
        if (ngx_mail_queue_is_state(&state, MAIL_QUEUE_RCPT_SENT)) {
            rcpt->state = NGX_MAIL_QUEUE_RCPT_SENT;

        } else if (ngx_mail_queue_is_state(&state, MAIL_QUEUE_RCPT_FAILED)) {
            rcpt->state = NGX_MAIL_QUEUE_RCPT_FAILED;
        }
    }

    if (job->rcpts.nelts == 0) {
        ngx_log_error(NGX_LOG_ERR, job->log, 0,
                      "queue: %V: no valid recipient", &job->id);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_mail_queue_rcpt_t *
ngx_mail_queue_rcpt_find(ngx_mail_queue_job_t *job, ngx_str_t *addr)
{
    ngx_uint_t              i;
    ngx_mail_queue_rcpt_t  *rcpt;

    rcpt = job->rcpts.elts;

    for (i = 0; i < job->rcpts.nelts; i++) {
        if (rcpt[i].address.len == addr->len
            && ngx_strncmp(rcpt[i].address.data, addr->data, addr->len) == 0)
        {
            return &rcpt[i];
        }
    }

    return NULL;
}


/* NOTIFY and ORCPT, RFC 3461 4.1, 4.2 */

static void
ngx_mail_queue_rcpt_params(ngx_mail_queue_rcpt_t *rcpt)
{
    u_char     *p, *end;
    ngx_str_t   t;

    p = rcpt->params.data;
    end = p + rcpt->params.len;

    while (ngx_mail_queue_param_next(&p, end, &t)) {
        if (t.len > 7
            && ngx_strncasecmp(t.data, (u_char *) "NOTIFY=", 7) == 0)
        {
            if (ngx_strlcasestrn(t.data, t.data + t.len,
                                 (u_char *) "NEVER", 5 - 1))
            {
                rcpt->notify |= NGX_MAIL_QUEUE_NOTIFY_NEVER;
            }

            if (ngx_strlcasestrn(t.data, t.data + t.len,
                                 (u_char *) "SUCCESS", 7 - 1))
            {
                rcpt->notify |= NGX_MAIL_QUEUE_NOTIFY_SUCCESS;
            }

            if (ngx_strlcasestrn(t.data, t.data + t.len,
                                 (u_char *) "FAILURE", 7 - 1))
            {
                rcpt->notify |= NGX_MAIL_QUEUE_NOTIFY_FAILURE;
            }

            if (ngx_strlcasestrn(t.data, t.data + t.len,
                                 (u_char *) "DELAY", 5 - 1))
            {
                rcpt->notify |= NGX_MAIL_QUEUE_NOTIFY_DELAY;
            }

        } else if (t.len > 6
                   && ngx_strncasecmp(t.data, (u_char *) "ORCPT=", 6) == 0)
        {
            rcpt->orcpt.data = t.data + 6;
            rcpt->orcpt.len = t.len - 6;
        }
    }
}


/*
 * The next of the parameters the SMTP server queued, separated by one
 * space each: MAIL's and each recipient's.  0 at the end.
 */

static ngx_uint_t
ngx_mail_queue_param_next(u_char **pos, u_char *end, ngx_str_t *param)
{
    u_char  *p;

    p = *pos;

    if (p >= end) {
        return 0;
    }

    param->data = p;

    while (p < end && *p != ' ') {
        p++;
    }

    param->len = p - param->data;
    *pos = (p < end) ? p + 1 : p;

    return 1;
}


/* the recipients to try, by destination: one transaction each */

static void
ngx_mail_queue_job_route(ngx_mail_queue_job_t *job)
{
    ngx_uint_t               i, j, n;
    ngx_str_t               *domain;
    ngx_mail_queue_rcpt_t   *rcpt, **rp;
    ngx_mail_queue_dest_t   *dest, **dests;
    ngx_mail_queue_conf_t   *qcf;

    qcf = ngx_mail_queue_main_conf;

    if (ngx_array_init(&job->dests, job->pool, 2,
                       sizeof(ngx_mail_queue_dest_t *))
        != NGX_OK)
    {
        ngx_mail_queue_job_free(job);
        return;
    }

    rcpt = job->rcpts.elts;

    for (i = 0; i < job->rcpts.nelts; i++) {
        if (rcpt[i].state != NGX_MAIL_QUEUE_RCPT_NEW) {
            continue;
        }

        domain = qcf->relayhost.len ? &qcf->relayhost : &rcpt[i].domain;
        dests = job->dests.elts;
        dest = NULL;

        for (j = 0; j < job->dests.nelts; j++) {
            if (dests[j]->domain.len == domain->len
                && ngx_strncasecmp(dests[j]->domain.data, domain->data,
                                   domain->len) == 0)
            {
                dest = dests[j];
                break;
            }
        }

        if (dest == NULL) {
            dest = ngx_pcalloc(job->pool, sizeof(ngx_mail_queue_dest_t));
            dests = ngx_array_push(&job->dests);

            if (dest == NULL || dests == NULL
                || ngx_array_init(&dest->rcpts, job->pool, 4,
                                  sizeof(ngx_mail_queue_rcpt_t *))
                   != NGX_OK)
            {
                ngx_mail_queue_job_free(job);
                return;
            }

            dest->job = job;
            dest->domain = *domain;
            *dests = dest;
        }

        rp = ngx_array_push(&dest->rcpts);
        if (rp == NULL) {
            ngx_mail_queue_job_free(job);
            return;
        }

        *rp = &rcpt[i];
    }

    n = job->dests.nelts;

    if (n == 0) {
        ngx_mail_queue_settle(job);
        return;
    }

    /* a destination may finish at once: count them all first */
    job->dests_left = n;
    dests = job->dests.elts;

    for (i = 0; i < n; i++) {
        ngx_mail_queue_dest_start(dests[i]);
    }
}


/* at most queue_destination_concurrency connections per domain */

static void
ngx_mail_queue_dest_start(ngx_mail_queue_dest_t *dest)
{
    ngx_queue_t            *q;
    ngx_mail_queue_slot_t  *slot;

    slot = NULL;

    for (q = ngx_queue_head(&ngx_mail_queue_slots);
         q != ngx_queue_sentinel(&ngx_mail_queue_slots);
         q = ngx_queue_next(q))
    {
        slot = ngx_queue_data(q, ngx_mail_queue_slot_t, queue);

        if (slot->domain.len == dest->domain.len
            && ngx_strncasecmp(slot->domain.data, dest->domain.data,
                               dest->domain.len) == 0)
        {
            break;
        }

        slot = NULL;
    }

    if (slot == NULL) {
        slot = ngx_alloc(sizeof(ngx_mail_queue_slot_t) + dest->domain.len,
                         dest->job->log);
        if (slot == NULL) {
            dest->slot = NULL;
            ngx_mail_queue_dest_done(dest);
            return;
        }

        slot->domain.data = (u_char *) (slot + 1);
        slot->domain.len = dest->domain.len;
        ngx_memcpy(slot->domain.data, dest->domain.data, dest->domain.len);
        slot->active = 0;
        ngx_queue_init(&slot->waiting);
        ngx_queue_insert_tail(&ngx_mail_queue_slots, &slot->queue);
    }

    dest->slot = slot;

    if (slot->active >= ngx_mail_queue_main_conf->dest_concurrency) {
        ngx_queue_insert_tail(&slot->waiting, &dest->queue);
        return;
    }

    slot->active++;
    ngx_mail_queue_smtp_start(dest);
}


void
ngx_mail_queue_dest_done(ngx_mail_queue_dest_t *dest)
{
    ngx_queue_t            *q;
    ngx_mail_queue_job_t   *job;
    ngx_mail_queue_slot_t  *slot;
    ngx_mail_queue_dest_t  *next;

    slot = dest->slot;
    job = dest->job;

    if (slot != NULL) {
        slot->active--;

        if (!ngx_queue_empty(&slot->waiting)) {
            q = ngx_queue_head(&slot->waiting);
            ngx_queue_remove(q);
            next = ngx_queue_data(q, ngx_mail_queue_dest_t, queue);

            slot->active++;
            ngx_mail_queue_smtp_start(next);

        } else if (slot->active == 0) {
            ngx_queue_remove(&slot->queue);
            ngx_free(slot);
        }
    }

    if (--job->dests_left == 0) {
        ngx_mail_queue_settle(job);
    }
}


void
ngx_mail_queue_rcpt_set(ngx_mail_queue_rcpt_t *rcpt,
    ngx_mail_queue_rcpt_state_e state, ngx_uint_t code, ngx_str_t *status,
    ngx_str_t *mta, ngx_str_t *text, ngx_pool_t *pool)
{
    rcpt->state = state;
    rcpt->code = code;
    rcpt->time = ngx_time();
    rcpt->changed = 1;
    rcpt->recorded = 0;

    rcpt->status.len = status->len;
    rcpt->status.data = ngx_pstrdup(pool, status);
    rcpt->mta.len = mta->len;
    rcpt->mta.data = ngx_pstrdup(pool, mta);
    rcpt->text.len = text->len;
    rcpt->text.data = ngx_pstrdup(pool, text);

    if ((status->len && rcpt->status.data == NULL)
        || (mta->len && rcpt->mta.data == NULL)
        || (text->len && rcpt->text.data == NULL))
    {
        ngx_str_null(&rcpt->status);
        ngx_str_null(&rcpt->mta);
        ngx_str_null(&rcpt->text);
    }
}


void
ngx_mail_queue_job_free(ngx_mail_queue_job_t *job)
{
    ngx_queue_remove(&job->queue);
    ngx_mail_queue_active--;

    ngx_destroy_pool(job->pool);

    /* a place is free: take the next entry now */
    ngx_mail_queue_schedule(0);
}


static ngx_str_t *
ngx_mail_queue_reply_str(redisReply *r, ngx_str_t *s)
{
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
        s->data = (u_char *) r->str;
        s->len = r->len;

    } else {
        ngx_str_null(s);
    }

    return s;
}
