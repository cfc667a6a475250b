
/*
 * ngx_mail_redis_module: the Redis connection every other module of
 * nginx-mailserver talks through.
 *
 * Each worker keeps one hiredis async context.  Its socket is wrapped in an
 * nginx connection so that hiredis is driven by the worker's event loop; no
 * call here blocks.  Requests are answered in order by Redis, so a request
 * that times out means Redis is stuck: the connection is dropped (every
 * pending request fails at once) and reopened with a growing delay.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include <ngx_sha1.h>

#include <hiredis/async.h>

#include "ngx_mail_redis.h"
#include "ngx_mail_server.h"


#define NGX_MAIL_REDIS_BACKOFF_MIN  100
#define NGX_MAIL_REDIS_BACKOFF_MAX  5000

/* the Lua scripts known by their SHA1; more go as EVAL */
#define NGX_MAIL_REDIS_SCRIPTS      64


/*
 * A Lua script goes to Redis once per connection (SCRIPT LOAD, just
 * before its first EVAL there), then by its SHA1 (EVALSHA): the script
 * text, a few KB for the store and queue scripts, is not sent and hashed
 * again with every message.  The callers need not know: EVAL is rewritten
 * here.  A script is looked up by its text's address (the callers' are
 * static strings) and checked against a copy of the text, so that a
 * script built in a buffer that is later reused cannot run as another.
 */
typedef struct {
    const char                 *text;         /* the caller's */
    u_char                     *copy;
    size_t                      len;
    u_char                      sha[40];
    ngx_uint_t                  loaded;       /* on this connection */
} ngx_mail_redis_script_t;


typedef struct {
    ngx_str_t                   host;         /* IP text or unix path */
    ngx_int_t                   port;         /* 0: unix socket */
    ngx_int_t                   db;
    ngx_str_t                   password;
    ngx_msec_t                  timeout;
    ngx_uint_t                  wait_replicas;
    ngx_msec_t                  wait_timeout;
    ngx_flag_t                  configured;
} ngx_mail_redis_main_conf_t;


struct ngx_mail_redis_request_s {
    ngx_mail_redis_handler_pt   handler;
    void                       *data;
    ngx_log_t                  *log;
    ngx_event_t                 timer;
    ngx_queue_t                 queue;
};


typedef struct {
    redisAsyncContext          *ac;
    ngx_connection_t           *conn;
    ngx_event_t                 connect_timer;
    ngx_event_t                 reconnect;
    ngx_msec_t                  backoff;
    ngx_queue_t                 pending;
    ngx_mail_redis_main_conf_t *conf;
    ngx_log_t                  *log;
    ngx_uint_t                  generation;   /* of the connection */
    unsigned                    connected:1;
    unsigned                    subscriber:1;  /* the pub/sub link */
} ngx_mail_redis_link_t;


/* a channel this worker listens to, and the sessions listening */
typedef struct {
    ngx_str_node_t              sn;
    ngx_queue_t                 subscribers;
    u_char                      name[1];
} ngx_mail_redis_channel_t;


static void *ngx_mail_redis_create_main_conf(ngx_conf_t *cf);
static char *ngx_mail_redis_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_mail_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_mail_redis_wait(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_mail_redis_init_process(ngx_cycle_t *cycle);
static void ngx_mail_redis_exit_process(ngx_cycle_t *cycle);

static void ngx_mail_redis_connect(ngx_mail_redis_link_t *link);
static ngx_int_t ngx_mail_redis_attach(ngx_mail_redis_link_t *link);
static void ngx_mail_redis_setup(ngx_mail_redis_link_t *link);
static void ngx_mail_redis_drop(ngx_mail_redis_link_t *link);
static void ngx_mail_redis_schedule(ngx_mail_redis_link_t *link);
static void ngx_mail_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_mail_redis_connect_timeout(ngx_event_t *ev);
static void ngx_mail_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_mail_redis_disconnected(const redisAsyncContext *ac,
    int status);
static void ngx_mail_redis_setup_reply(redisAsyncContext *ac, void *reply,
    void *privdata);
static void ngx_mail_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata);
static void ngx_mail_redis_request_timeout(ngx_event_t *ev);
static ngx_mail_redis_script_t *ngx_mail_redis_script(
    ngx_mail_redis_link_t *link, ngx_mail_redis_cmd_t *cmd);
static void ngx_mail_redis_script_loaded(redisAsyncContext *ac, void *reply,
    void *privdata);
static int ngx_mail_redis_command(ngx_mail_redis_link_t *link,
    ngx_mail_redis_cmd_t *cmd, redisCallbackFn *fn, void *privdata);
static void ngx_mail_redis_noscript(ngx_mail_redis_link_t *link,
    redisReply *reply);

static void ngx_mail_redis_read_handler(ngx_event_t *ev);
static void ngx_mail_redis_write_handler(ngx_event_t *ev);
static void ngx_mail_redis_add_read(void *privdata);
static void ngx_mail_redis_del_read(void *privdata);
static void ngx_mail_redis_add_write(void *privdata);
static void ngx_mail_redis_del_write(void *privdata);
static void ngx_mail_redis_cleanup(void *privdata);

static ngx_mail_redis_link_t *ngx_mail_redis_link_create(ngx_cycle_t *cycle,
    ngx_mail_redis_main_conf_t *rmcf);
static void ngx_mail_redis_channel_command(const char *verb,
    ngx_str_t *channel);
static void ngx_mail_redis_resubscribe(void);
static void ngx_mail_redis_channels_lost(ngx_mail_redis_link_t *link);
static void ngx_mail_redis_message(redisAsyncContext *ac, void *reply,
    void *privdata);
static void ngx_mail_redis_publish_local(ngx_str_t *channel,
    ngx_str_t *message);


static ngx_command_t  ngx_mail_redis_commands[] = {

    { ngx_string("mail_redis"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_1MORE,
      ngx_mail_redis,
      NGX_MAIL_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mail_redis_wait"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_mail_redis_wait,
      NGX_MAIL_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mail_redis_timeout"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_redis_main_conf_t, timeout),
      NULL },

      ngx_null_command
};


static ngx_mail_module_t  ngx_mail_redis_module_ctx = {
    NULL,                                  /* protocol */

    ngx_mail_redis_create_main_conf,       /* create main configuration */
    ngx_mail_redis_init_main_conf,         /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL                                   /* merge server configuration */
};


ngx_module_t  ngx_mail_redis_module = {
    NGX_MODULE_V1,
    &ngx_mail_redis_module_ctx,            /* module context */
    ngx_mail_redis_commands,               /* module directives */
    NGX_MAIL_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_mail_redis_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_mail_redis_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};



ngx_str_t  ngx_mail_redis_lost = ngx_string("LOST");


/* one link per worker process, and one in subscriber mode for pub/sub */
static ngx_mail_redis_link_t  *ngx_mail_redis_link;
static ngx_mail_redis_link_t  *ngx_mail_redis_sub_link;
static ngx_rbtree_t            ngx_mail_redis_channels;
static ngx_rbtree_node_t       ngx_mail_redis_channels_sentinel;


static void *
ngx_mail_redis_create_main_conf(ngx_conf_t *cf)
{
    ngx_mail_redis_main_conf_t  *rmcf;

    rmcf = ngx_pcalloc(cf->pool, sizeof(ngx_mail_redis_main_conf_t));
    if (rmcf == NULL) {
        return NULL;
    }

    rmcf->port = NGX_CONF_UNSET;
    rmcf->db = NGX_CONF_UNSET;
    rmcf->timeout = NGX_CONF_UNSET_MSEC;
    rmcf->wait_replicas = NGX_CONF_UNSET_UINT;
    rmcf->wait_timeout = NGX_CONF_UNSET_MSEC;

    return rmcf;
}


static char *
ngx_mail_redis_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_mail_redis_main_conf_t  *rmcf = conf;

    if (!rmcf->configured) {
        ngx_str_set(&rmcf->host, "127.0.0.1");
        rmcf->port = 6379;
    }

    ngx_conf_init_value(rmcf->db, 0);
    ngx_conf_init_msec_value(rmcf->timeout, 5000);
    ngx_conf_init_uint_value(rmcf->wait_replicas, 0);
    ngx_conf_init_msec_value(rmcf->wait_timeout, 0);

    if (rmcf->wait_replicas && rmcf->wait_timeout >= rmcf->timeout) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"mail_redis_wait\" timeout must be shorter "
                           "than \"mail_redis_timeout\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* mail_redis 127.0.0.1:6379 | unix:/path [db=N] [password=SECRET]; */

static char *
ngx_mail_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mail_redis_main_conf_t  *rmcf = conf;

    u_char     *p;
    ngx_str_t  *value;
    ngx_url_t   u;
    ngx_uint_t  i;

    if (rmcf->configured) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = value[1];
    u.no_resolve = 0;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid address \"%V\" in \"mail_redis\": %s",
                           &value[1], u.err ? u.err : "unknown error");
        return NGX_CONF_ERROR;
    }

    if (u.family == AF_UNIX) {
        /* hiredis wants the bare path */
        rmcf->host.len = value[1].len - 5;
        rmcf->host.data = ngx_pnalloc(cf->pool, rmcf->host.len + 1);
        if (rmcf->host.data == NULL) {
            return NGX_CONF_ERROR;
        }
        p = ngx_cpymem(rmcf->host.data, value[1].data + 5, rmcf->host.len);
        *p = '\0';
        rmcf->port = 0;

    } else {
        if (u.no_port || u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"mail_redis\" needs host:port or "
                               "unix:/path, not \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        /*
         * hiredis resolves names with a blocking getaddrinfo(): give it the
         * address nginx resolved at start-up instead
         */
        rmcf->host.data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
        if (rmcf->host.data == NULL) {
            return NGX_CONF_ERROR;
        }
        rmcf->host.len = ngx_sock_ntop(u.addrs[0].sockaddr,
                                       u.addrs[0].socklen, rmcf->host.data,
                                       NGX_SOCKADDR_STRLEN, 0);
        rmcf->host.data[rmcf->host.len] = '\0';
        rmcf->port = u.port;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "db=", 3) == 0) {
            rmcf->db = ngx_atoi(value[i].data + 3, value[i].len - 3);
            if (rmcf->db == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in \"mail_redis\"",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "password=", 9) == 0) {
            rmcf->password.data = value[i].data + 9;
            rmcf->password.len = value[i].len - 9;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"mail_redis\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    rmcf->configured = 1;

    return NGX_CONF_OK;
}


/* mail_redis_wait replicas timeout; */

static char *
ngx_mail_redis_wait(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mail_redis_main_conf_t  *rmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (rmcf->wait_replicas != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);
    if (n == NGX_ERROR || n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid number of replicas \"%V\" in "
                           "\"mail_redis_wait\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    rmcf->wait_replicas = n;

    rmcf->wait_timeout = ngx_parse_time(&value[2], 0);
    if (rmcf->wait_timeout == (ngx_msec_t) NGX_ERROR
        || rmcf->wait_timeout == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid timeout \"%V\" in \"mail_redis_wait\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_uint_t
ngx_mail_redis_wait_replicas(ngx_msec_t *timeout)
{
    if (ngx_mail_redis_link == NULL) {
        return 0;
    }

    *timeout = ngx_mail_redis_link->conf->wait_timeout;

    return ngx_mail_redis_link->conf->wait_replicas;
}


static ngx_int_t
ngx_mail_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_mail_redis_link_t       *link;
    ngx_mail_redis_main_conf_t  *rmcf;

    rmcf = ngx_mail_server_main_conf(cycle, &ngx_mail_redis_module);
    if (rmcf == NULL) {
        return NGX_OK;
    }

    link = ngx_mail_redis_link_create(cycle, rmcf);
    if (link == NULL) {
        return NGX_ERROR;
    }

    ngx_mail_redis_link = link;
    ngx_mail_redis_connect(link);

    /* a connection in subscriber mode takes no other command */
    link = ngx_mail_redis_link_create(cycle, rmcf);
    if (link == NULL) {
        return NGX_ERROR;
    }

    link->subscriber = 1;
    ngx_mail_redis_sub_link = link;

    ngx_rbtree_init(&ngx_mail_redis_channels,
                    &ngx_mail_redis_channels_sentinel,
                    ngx_str_rbtree_insert_value);

    ngx_mail_redis_connect(link);

    return NGX_OK;
}


static ngx_mail_redis_link_t *
ngx_mail_redis_link_create(ngx_cycle_t *cycle,
    ngx_mail_redis_main_conf_t *rmcf)
{
    ngx_mail_redis_link_t  *link;

    link = ngx_pcalloc(cycle->pool, sizeof(ngx_mail_redis_link_t));
    if (link == NULL) {
        return NULL;
    }

    link->conf = rmcf;
    link->log = cycle->log;
    link->backoff = NGX_MAIL_REDIS_BACKOFF_MIN;
    ngx_queue_init(&link->pending);

    link->reconnect.handler = ngx_mail_redis_reconnect_handler;
    link->reconnect.data = link;
    link->reconnect.log = cycle->log;
    link->reconnect.cancelable = 1;

    link->connect_timer.handler = ngx_mail_redis_connect_timeout;
    link->connect_timer.data = link;
    link->connect_timer.log = cycle->log;
    link->connect_timer.cancelable = 1;

    return link;
}


static void
ngx_mail_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_queue_t               *q;
    ngx_mail_redis_link_t     *link;
    ngx_mail_redis_request_t  *r;

    link = ngx_mail_redis_link;
    if (link == NULL) {
        return;
    }

    /* sessions are going away with the process: tell none of them */
    for (q = ngx_queue_head(&link->pending);
         q != ngx_queue_sentinel(&link->pending);
         q = ngx_queue_next(q))
    {
        r = ngx_queue_data(q, ngx_mail_redis_request_t, queue);
        ngx_mail_redis_cancel(r);
    }

    if (link->ac) {
        redisAsyncFree(link->ac);
    }

    ngx_mail_redis_link = NULL;

    link = ngx_mail_redis_sub_link;
    ngx_mail_redis_sub_link = NULL;

    if (link && link->ac) {
        link->ac->onDisconnect = NULL;
        redisAsyncFree(link->ac);
    }
}


static void
ngx_mail_redis_connect(ngx_mail_redis_link_t *link)
{
    redisAsyncContext           *ac;
    ngx_mail_redis_main_conf_t  *rmcf;

    rmcf = link->conf;

    if (rmcf->port) {
        ac = redisAsyncConnect((char *) rmcf->host.data, rmcf->port);

    } else {
        ac = redisAsyncConnectUnix((char *) rmcf->host.data);
    }

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, link->log, 0,
                      "redis: cannot allocate a connection");
        ngx_mail_redis_schedule(link);
        return;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_ERR, link->log, 0,
                      "redis: connect to %V:%i failed: %s",
                      &rmcf->host, rmcf->port, ac->errstr);
        redisAsyncFree(ac);
        ngx_mail_redis_schedule(link);
        return;
    }

    link->ac = ac;
    ac->data = link;

    if (ngx_mail_redis_attach(link) != NGX_OK) {
        ngx_mail_redis_drop(link);
        return;
    }

    redisAsyncSetConnectCallback(ac, ngx_mail_redis_connected);
    redisAsyncSetDisconnectCallback(ac, ngx_mail_redis_disconnected);

    ngx_mail_redis_setup(link);

    ngx_add_timer(&link->connect_timer, rmcf->timeout);
}


/* wraps hiredis's socket in an nginx connection and hooks its events */

static ngx_int_t
ngx_mail_redis_attach(ngx_mail_redis_link_t *link)
{
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    ac = link->ac;

    c = ngx_get_connection(ac->c.fd, link->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = link;
    c->read->handler = ngx_mail_redis_read_handler;
    c->write->handler = ngx_mail_redis_write_handler;
    c->read->log = link->log;
    c->write->log = link->log;

    link->conn = c;

    ac->ev.data = link;
    ac->ev.addRead = ngx_mail_redis_add_read;
    ac->ev.delRead = ngx_mail_redis_del_read;
    ac->ev.addWrite = ngx_mail_redis_add_write;
    ac->ev.delWrite = ngx_mail_redis_del_write;
    ac->ev.cleanup = ngx_mail_redis_cleanup;

    /* the connect is in progress: writable means connected */
    ngx_mail_redis_add_write(link);

    return NGX_OK;
}


/*
 * AUTH and SELECT go out first on every new connection; hiredis buffers
 * them until the connect completes, and everything the sessions send is
 * queued behind them.
 */

static void
ngx_mail_redis_setup(ngx_mail_redis_link_t *link)
{
    u_char                      db[NGX_INT_T_LEN];
    size_t                      len;
    const char                 *argv[2];
    size_t                      argvlen[2];
    ngx_mail_redis_main_conf_t  *rmcf;

    rmcf = link->conf;

    /* a new connection: every script is loaded again before its use */
    link->generation++;

    if (rmcf->password.len) {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = (const char *) rmcf->password.data;
        argvlen[1] = rmcf->password.len;
        redisAsyncCommandArgv(link->ac, ngx_mail_redis_setup_reply, "AUTH",
                              2, argv, argvlen);
    }

    if (rmcf->db) {
        len = ngx_sprintf(db, "%i", rmcf->db) - db;
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (const char *) db;
        argvlen[1] = len;
        redisAsyncCommandArgv(link->ac, ngx_mail_redis_setup_reply, "SELECT",
                              2, argv, argvlen);
    }
}


static void
ngx_mail_redis_setup_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply             *r = reply;
    ngx_mail_redis_link_t  *link;

    link = ac->data;

    if (r != NULL && r->type == REDIS_REPLY_ERROR) {
        /* a wrong password or db is fixed by the administrator: say so */
        ngx_log_error(NGX_LOG_ERR, link->log, 0, "redis: %s failed: %*s",
                      (char *) privdata, (size_t) r->len, r->str);
    }
}


static void
ngx_mail_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_mail_redis_link_t  *link;

    link = ac->data;

    if (link->connect_timer.timer_set) {
        ngx_del_timer(&link->connect_timer);
    }

    if (status != REDIS_OK) {
        ngx_log_error(NGX_LOG_ERR, link->log, 0,
                      "redis: connect to %V:%i failed: %s",
                      &link->conf->host, link->conf->port, ac->errstr);

        /* hiredis frees the context after this callback */
        link->ac = NULL;
        ngx_mail_redis_schedule(link);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, link->log, 0, "redis: connected to %V:%i",
                  &link->conf->host, link->conf->port);

    link->connected = 1;
    link->backoff = NGX_MAIL_REDIS_BACKOFF_MIN;

    if (link->subscriber) {
        ngx_mail_redis_resubscribe();
    }
}


static void
ngx_mail_redis_disconnected(const redisAsyncContext *ac, int status)
{
    ngx_mail_redis_link_t  *link;

    link = ac->data;

    if (status != REDIS_OK) {
        ngx_log_error(NGX_LOG_ERR, link->log, 0,
                      "redis: connection to %V:%i lost: %s",
                      &link->conf->host, link->conf->port, ac->errstr);
    }

    /* hiredis frees the context after this callback */
    link->ac = NULL;
    link->connected = 0;

    ngx_mail_redis_channels_lost(link);

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_mail_redis_schedule(link);
    }
}


static void
ngx_mail_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_mail_redis_link_t  *link;

    link = ev->data;

    ngx_log_error(NGX_LOG_ERR, link->log, 0,
                  "redis: connect to %V:%i timed out",
                  &link->conf->host, link->conf->port);

    ngx_mail_redis_drop(link);
}


/* frees the context (failing every pending request) and reconnects later */

static void
ngx_mail_redis_drop(ngx_mail_redis_link_t *link)
{
    redisAsyncContext  *ac;

    ac = link->ac;
    link->ac = NULL;
    link->connected = 0;

    if (link->connect_timer.timer_set) {
        ngx_del_timer(&link->connect_timer);
    }

    if (ac) {
        /* our disconnect callback must not see a context being freed */
        ac->onDisconnect = NULL;
        redisAsyncFree(ac);
        ngx_mail_redis_channels_lost(link);
    }

    ngx_mail_redis_schedule(link);
}


static void
ngx_mail_redis_schedule(ngx_mail_redis_link_t *link)
{
    if (link->reconnect.timer_set) {
        return;
    }

    ngx_add_timer(&link->reconnect, link->backoff);

    link->backoff *= 2;
    if (link->backoff > NGX_MAIL_REDIS_BACKOFF_MAX) {
        link->backoff = NGX_MAIL_REDIS_BACKOFF_MAX;
    }
}


static void
ngx_mail_redis_reconnect_handler(ngx_event_t *ev)
{
    ngx_mail_redis_link_t  *link;

    link = ev->data;

    if (link->ac == NULL) {
        ngx_mail_redis_connect(link);
    }
}


void
ngx_mail_redis_cmd_init(ngx_mail_redis_cmd_t *cmd, const char *name)
{
    cmd->argc = 0;
    cmd->nalloc = NGX_MAIL_REDIS_SMALL_ARGV;
    cmd->argv = cmd->small_argv;
    cmd->argvlen = cmd->small_argvlen;

    ngx_mail_redis_cmd_cstr(cmd, name);
}


ngx_int_t
ngx_mail_redis_cmd_init_n(ngx_mail_redis_cmd_t *cmd, const char *name,
    ngx_uint_t n, ngx_pool_t *pool)
{
    ngx_mail_redis_cmd_init(cmd, name);

    if (n <= NGX_MAIL_REDIS_SMALL_ARGV) {
        return NGX_OK;
    }

    cmd->argv = ngx_palloc(pool, n * sizeof(char *));
    cmd->argvlen = ngx_palloc(pool, n * sizeof(size_t));

    if (cmd->argv == NULL || cmd->argvlen == NULL) {
        return NGX_ERROR;
    }

    cmd->argv[0] = cmd->small_argv[0];
    cmd->argvlen[0] = cmd->small_argvlen[0];
    cmd->nalloc = n;

    return NGX_OK;
}


void
ngx_mail_redis_cmd_arg(ngx_mail_redis_cmd_t *cmd, u_char *data, size_t len)
{
    if (cmd->argc == cmd->nalloc) {
        /* a programming error: the command will fail loudly in Redis */
        return;
    }

    cmd->argv[cmd->argc] = (const char *) data;
    cmd->argvlen[cmd->argc] = len;
    cmd->argc++;
}


void
ngx_mail_redis_cmd_cstr(ngx_mail_redis_cmd_t *cmd, const char *s)
{
    ngx_mail_redis_cmd_arg(cmd, (u_char *) s, ngx_strlen(s));
}


ngx_mail_redis_request_t *
ngx_mail_redis_send(ngx_mail_redis_cmd_t *cmds, ngx_uint_t n,
    ngx_mail_redis_handler_pt handler, void *data, ngx_log_t *log)
{
    int                        rc;
    ngx_uint_t                 i;
    const char                *multi[1], *exec[1], *discard[1];
    size_t                     multilen[1], execlen[1], discardlen[1];
    ngx_mail_redis_link_t     *link;
    ngx_mail_redis_request_t  *r;

    link = ngx_mail_redis_link;

    if (link == NULL || link->ac == NULL) {
        return NULL;
    }

    /*
     * not from a session's pool: the request lives until Redis answers,
     * which may be after the session has gone
     */
    r = ngx_calloc(sizeof(ngx_mail_redis_request_t), log);
    if (r == NULL) {
        return NULL;
    }

    r->handler = handler;
    r->data = data;

    /*
     * a request nobody waits for outlives its session, and so must not
     * keep the session's log
     */
    r->log = handler ? log : link->log;

    multi[0] = "MULTI";
    multilen[0] = 5;
    exec[0] = "EXEC";
    execlen[0] = 4;
    discard[0] = "DISCARD";
    discardlen[0] = 7;

    if (n == 1) {
        rc = ngx_mail_redis_command(link, &cmds[0], ngx_mail_redis_reply, r);

    } else {
        rc = redisAsyncCommandArgv(link->ac, NULL, NULL, 1, multi, multilen);

        /*
         * as given, an EVAL with its text: after a SCRIPT FLUSH an
         * EVALSHA would fail alone while the rest of MULTI ran.  Only
         * EXEC's reply, with all the others in it, is of interest.
         */
        for (i = 0; rc == REDIS_OK && i < n; i++) {
            rc = redisAsyncCommandArgv(link->ac, NULL, NULL, cmds[i].argc,
                                       cmds[i].argv, cmds[i].argvlen);
        }

        if (rc == REDIS_OK) {
            rc = redisAsyncCommandArgv(link->ac, ngx_mail_redis_reply, r, 1,
                                       exec, execlen);
        }

        /*
         * a command hiredis could not take (out of memory) after MULTI:
         * the transaction must not stay open for the next request, nor
         * run without it; DISCARD ends it unrun
         */
        if (rc != REDIS_OK && i > 0) {
            (void) redisAsyncCommandArgv(link->ac, NULL, NULL, 1, discard,
                                         discardlen);
        }
    }

    if (rc != REDIS_OK) {
        ngx_free(r);
        return NULL;
    }

    ngx_queue_insert_tail(&link->pending, &r->queue);

    r->timer.handler = ngx_mail_redis_request_timeout;
    r->timer.data = r;
    r->timer.log = link->log;
    ngx_add_timer(&r->timer, link->conf->timeout);

    return r;
}


/*
 * The script of an EVAL, known from now on; loaded on this connection
 * when it was not yet.  NULL: not an EVAL, or the table is full (the
 * command then goes as it is).
 */

static ngx_mail_redis_script_t *
ngx_mail_redis_script(ngx_mail_redis_link_t *link, ngx_mail_redis_cmd_t *cmd)
{
    u_char                    digest[20];
    ngx_uint_t                i;
    ngx_sha1_t                sha1;
    const char               *argv[3];
    size_t                    argvlen[3];
    ngx_mail_redis_script_t  *s;

    static ngx_mail_redis_script_t  scripts[NGX_MAIL_REDIS_SCRIPTS];
    static ngx_uint_t               nscripts;

    if (cmd->argc < 3 || cmd->argvlen[0] != 4
        || ngx_strncmp(cmd->argv[0], "EVAL", 4) != 0)
    {
        return NULL;
    }

    s = NULL;

    for (i = 0; i < nscripts; i++) {
        if (scripts[i].text == cmd->argv[1]
            && scripts[i].len == cmd->argvlen[1]
            && ngx_memcmp(scripts[i].copy, cmd->argv[1], scripts[i].len)
               == 0)
        {
            s = &scripts[i];
            break;
        }
    }

    if (s == NULL) {
        if (nscripts == NGX_MAIL_REDIS_SCRIPTS) {
            return NULL;
        }

        s = &scripts[nscripts];

        s->copy = ngx_alloc(cmd->argvlen[1], link->log);
        if (s->copy == NULL) {
            return NULL;
        }

        nscripts++;

        ngx_memcpy(s->copy, cmd->argv[1], cmd->argvlen[1]);
        s->text = cmd->argv[1];
        s->len = cmd->argvlen[1];
        s->loaded = 0;

        ngx_sha1_init(&sha1);
        ngx_sha1_update(&sha1, s->text, s->len);
        ngx_sha1_final(digest, &sha1);

        ngx_hex_dump(s->sha, digest, 20);
    }

    if (s->loaded != link->generation) {
        argv[0] = "SCRIPT";
        argvlen[0] = 6;
        argv[1] = "LOAD";
        argvlen[1] = 4;
        argv[2] = s->text;
        argvlen[2] = s->len;

        redisAsyncCommandArgv(link->ac, ngx_mail_redis_script_loaded, s,
                              3, argv, argvlen);

        s->loaded = link->generation;
    }

    return s;
}


static void
ngx_mail_redis_script_loaded(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply               *r = reply;
    ngx_mail_redis_script_t  *s = privdata;

    if (r != NULL && r->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ngx_mail_redis_link->log, 0,
                      "redis: SCRIPT LOAD failed: %*s",
                      (size_t) r->len, r->str);

        /* loaded again before its next use */
        s->loaded = 0;
    }
}


/* a command as given, an EVAL of a known script as EVALSHA */

static int
ngx_mail_redis_command(ngx_mail_redis_link_t *link, ngx_mail_redis_cmd_t *cmd,
    redisCallbackFn *fn, void *privdata)
{
    int                       rc;
    size_t                    len0, len1;
    const char               *arg0, *arg1;
    ngx_mail_redis_script_t  *s;

    s = ngx_mail_redis_script(link, cmd);

    if (s == NULL) {
        return redisAsyncCommandArgv(link->ac, fn, privdata, cmd->argc,
                                     cmd->argv, cmd->argvlen);
    }

    /* hiredis copies the arguments now: the caller's come back after */

    arg0 = cmd->argv[0];
    len0 = cmd->argvlen[0];
    arg1 = cmd->argv[1];
    len1 = cmd->argvlen[1];

    cmd->argv[0] = "EVALSHA";
    cmd->argvlen[0] = 7;
    cmd->argv[1] = (const char *) s->sha;
    cmd->argvlen[1] = 40;

    rc = redisAsyncCommandArgv(link->ac, fn, privdata, cmd->argc, cmd->argv,
                               cmd->argvlen);

    cmd->argv[0] = arg0;
    cmd->argvlen[0] = len0;
    cmd->argv[1] = arg1;
    cmd->argvlen[1] = len1;

    return rc;
}


/*
 * NOSCRIPT: the scripts were flushed (SCRIPT FLUSH, or a failover the
 * connection did not see): this request fails as any error does, the
 * next ones load their scripts again
 */

static void
ngx_mail_redis_noscript(ngx_mail_redis_link_t *link, redisReply *reply)
{
    /* only a single command goes by SHA1, never one inside MULTI */

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR && reply->len >= 8
        && ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0)
    {
        ngx_log_error(NGX_LOG_WARN, link->log, 0,
                      "redis: scripts flushed, loading them again");
        link->generation++;
    }
}


void
ngx_mail_redis_cancel(ngx_mail_redis_request_t *r)
{
    r->handler = NULL;
    r->data = NULL;
    r->log = ngx_mail_redis_link->log;

    if (r->timer.timer_set) {
        ngx_del_timer(&r->timer);
    }
}


static void
ngx_mail_redis_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    ngx_mail_redis_request_t  *r = privdata;

    ngx_mail_redis_handler_pt  handler;

    ngx_queue_remove(&r->queue);

    if (r->timer.timer_set) {
        ngx_del_timer(&r->timer);
    }

    if (ngx_mail_redis_link) {
        ngx_mail_redis_noscript(ngx_mail_redis_link, reply);
    }

    handler = r->handler;

    if (handler) {
        handler(reply, r->data);
    }

    ngx_free(r);
}


static void
ngx_mail_redis_request_timeout(ngx_event_t *ev)
{
    ngx_mail_redis_request_t  *r;
    ngx_mail_redis_handler_pt  handler;

    r = ev->data;

    ngx_log_error(NGX_LOG_ERR, r->log, 0,
                  "redis: no reply in %M ms, reconnecting",
                  ngx_mail_redis_link->conf->timeout);

    handler = r->handler;
    r->handler = NULL;

    if (handler) {
        handler(NULL, r->data);
    }

    /* replies come in order: everything behind this one is stuck too */
    ngx_mail_redis_drop(ngx_mail_redis_link);
}


ngx_int_t
ngx_mail_redis_reply_is_error(redisReply *reply, ngx_log_t *log)
{
    if (reply == NULL) {
        return 1;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "redis: %*s",
                      (size_t) reply->len, reply->str);
        return 1;
    }

    return 0;
}


/*
 * Event glue.  hiredis reads at most one buffer per call, so the socket is
 * watched level-triggered: the loop calls again while data remain.
 */

static void
ngx_mail_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t       *c;
    ngx_mail_redis_link_t  *link;

    c = ev->data;
    link = c->data;

    if (link->ac) {
        redisAsyncHandleRead(link->ac);
    }
}


static void
ngx_mail_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t       *c;
    ngx_mail_redis_link_t  *link;

    c = ev->data;
    link = c->data;

    if (link->ac) {
        redisAsyncHandleWrite(link->ac);
    }
}


static void
ngx_mail_redis_add_read(void *privdata)
{
    ngx_mail_redis_link_t  *link = privdata;

    if (!link->conn->read->active) {
        ngx_add_event(link->conn->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_mail_redis_del_read(void *privdata)
{
    ngx_mail_redis_link_t  *link = privdata;

    if (link->conn->read->active) {
        ngx_del_event(link->conn->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_mail_redis_add_write(void *privdata)
{
    ngx_mail_redis_link_t  *link = privdata;

    if (!link->conn->write->active) {
        ngx_add_event(link->conn->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_mail_redis_del_write(void *privdata)
{
    ngx_mail_redis_link_t  *link = privdata;

    if (link->conn->write->active) {
        ngx_del_event(link->conn->write, NGX_WRITE_EVENT, 0);
    }
}


/* hiredis closes the socket itself right after this */

static void
ngx_mail_redis_cleanup(void *privdata)
{
    ngx_connection_t       *c;
    ngx_mail_redis_link_t  *link = privdata;

    c = link->conn;
    if (c == NULL) {
        return;
    }

    ngx_mail_redis_del_read(link);
    ngx_mail_redis_del_write(link);

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->fd = (ngx_socket_t) -1;
    ngx_free_connection(c);

    link->conn = NULL;
}


/*
 * Publish/subscribe.  Sessions subscribe to channels (IMAP: notify:{user});
 * the worker subscribes each channel once on its subscriber link and hands
 * every message to all of the channel's sessions.  A channel is subscribed
 * while at least one session listens.  After a reconnection every channel
 * is subscribed again and each session gets a NULL message: what was
 * published in between is lost, and the session must look for itself.
 */

ngx_int_t
ngx_mail_redis_subscribe(ngx_mail_redis_subscription_t *sub,
    ngx_str_t *channel, ngx_mail_redis_message_pt handler, void *data)
{
    uint32_t                   hash;
    ngx_mail_redis_channel_t  *ch;

    if (ngx_mail_redis_sub_link == NULL) {
        return NGX_ERROR;
    }

    hash = ngx_crc32_long(channel->data, channel->len);

    ch = (ngx_mail_redis_channel_t *)
             ngx_str_rbtree_lookup(&ngx_mail_redis_channels, channel, hash);

    if (ch == NULL) {
        ch = ngx_alloc(sizeof(ngx_mail_redis_channel_t) + channel->len,
                       ngx_cycle->log);
        if (ch == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(ch->name, channel->data, channel->len);
        ch->sn.str.data = ch->name;
        ch->sn.str.len = channel->len;
        ch->sn.node.key = hash;
        ngx_queue_init(&ch->subscribers);

        ngx_rbtree_insert(&ngx_mail_redis_channels, &ch->sn.node);

        ngx_mail_redis_channel_command("SUBSCRIBE", &ch->sn.str);
    }

    sub->channel = ch;
    sub->handler = handler;
    sub->data = data;
    ngx_queue_insert_tail(&ch->subscribers, &sub->queue);

    return NGX_OK;
}


void
ngx_mail_redis_unsubscribe(ngx_mail_redis_subscription_t *sub)
{
    ngx_mail_redis_channel_t  *ch;

    ch = sub->channel;
    if (ch == NULL) {
        return;
    }

    sub->channel = NULL;
    ngx_queue_remove(&sub->queue);

    if (!ngx_queue_empty(&ch->subscribers)) {
        return;
    }

    ngx_mail_redis_channel_command("UNSUBSCRIBE", &ch->sn.str);

    ngx_rbtree_delete(&ngx_mail_redis_channels, &ch->sn.node);
    ngx_free(ch);
}


/* only while connected: ngx_mail_redis_resubscribe() does the rest */

static void
ngx_mail_redis_channel_command(const char *verb, ngx_str_t *channel)
{
    const char             *argv[2];
    size_t                  argvlen[2];
    ngx_mail_redis_link_t  *link;

    link = ngx_mail_redis_sub_link;

    if (link == NULL || link->ac == NULL || !link->connected) {
        return;
    }

    argv[0] = verb;
    argvlen[0] = ngx_strlen(verb);
    argv[1] = (const char *) channel->data;
    argvlen[1] = channel->len;

    (void) redisAsyncCommandArgv(link->ac, ngx_mail_redis_message, NULL, 2,
                                 argv, argvlen);
}


static void
ngx_mail_redis_resubscribe(void)
{
    ngx_rbtree_node_t         *node, *root, *sentinel;
    ngx_mail_redis_channel_t  *ch;

    sentinel = ngx_mail_redis_channels.sentinel;
    root = ngx_mail_redis_channels.root;

    if (root == sentinel) {
        return;
    }

    for (node = ngx_rbtree_min(root, sentinel);
         node;
         node = ngx_rbtree_next(&ngx_mail_redis_channels, node))
    {
        ch = (ngx_mail_redis_channel_t *) node;
        ngx_mail_redis_channel_command("SUBSCRIBE", &ch->sn.str);
    }
}


/* every subscriber learns that it may miss messages from now on */

static void
ngx_mail_redis_channels_lost(ngx_mail_redis_link_t *link)
{
    ngx_rbtree_node_t         *node, *root, *sentinel;
    ngx_mail_redis_channel_t  *ch;

    if (!link->subscriber || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    sentinel = ngx_mail_redis_channels.sentinel;
    root = ngx_mail_redis_channels.root;

    if (root == sentinel) {
        return;
    }

    /* handlers of "lost" only take note: the tree does not change */
    for (node = ngx_rbtree_min(root, sentinel);
         node;
         node = ngx_rbtree_next(&ngx_mail_redis_channels, node))
    {
        ch = (ngx_mail_redis_channel_t *) node;
        ngx_mail_redis_publish_local(&ch->sn.str, &ngx_mail_redis_lost);
    }
}


/* ["message", channel, payload] or ["subscribe", channel, count] */

static void
ngx_mail_redis_message(redisAsyncContext *ac, void *reply, void *privdata)
{
    redisReply  *r = reply;
    ngx_str_t    channel, message;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING)
    {
        return;
    }

    channel.data = (u_char *) r->element[1]->str;
    channel.len = r->element[1]->len;

    if (ngx_strcmp(r->element[0]->str, "message") == 0
        && r->element[2]->type == REDIS_REPLY_STRING)
    {
        message.data = (u_char *) r->element[2]->str;
        message.len = r->element[2]->len;
        ngx_mail_redis_publish_local(&channel, &message);
        return;
    }

    if (ngx_strcmp(r->element[0]->str, "subscribe") == 0) {
        ngx_mail_redis_publish_local(&channel, NULL);
    }
}


static void
ngx_mail_redis_publish_local(ngx_str_t *channel, ngx_str_t *message)
{
    uint32_t                        hash;
    ngx_uint_t                      last;
    ngx_queue_t                    *q, *next;
    ngx_mail_redis_channel_t       *ch;
    ngx_mail_redis_subscription_t  *sub;

    hash = ngx_crc32_long(channel->data, channel->len);

    ch = (ngx_mail_redis_channel_t *)
             ngx_str_rbtree_lookup(&ngx_mail_redis_channels, channel, hash);
    if (ch == NULL) {
        return;
    }

    /*
     * a handler may unsubscribe itself, but no other subscriber; after
     * the last one the channel itself may be gone
     */
    for (q = ngx_queue_head(&ch->subscribers); /* void */ ; q = next) {
        next = ngx_queue_next(q);
        last = (next == ngx_queue_sentinel(&ch->subscribers));

        sub = ngx_queue_data(q, ngx_mail_redis_subscription_t, queue);
        sub->handler(message, sub->data);

        if (last) {
            return;
        }
    }
}
