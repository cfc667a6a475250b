
/*
 * ngx_mail_account_module: checks a login against the user record in Redis.
 *
 * One login costs one Redis round trip: the user's hash is read and both
 * throttle counters are bumped in one MULTI/EXEC; a good login takes its
 * count back without waiting.  The password hash is computed in an nginx
 * thread pool because yescrypt and bcrypt are built to take milliseconds
 * of CPU, which would stall every other session of the worker.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_thread_pool.h>
#include <ngx_mail.h>

#include <crypt.h>
#include <openssl/crypto.h>

#include "mail_keys.h"
#include "ngx_mail_redis.h"
#include "ngx_mail_account.h"

#include <ngx_md5.h>


#if !(NGX_THREADS)
#error ngx_mail_account_module needs nginx built --with-threads
#endif


typedef struct {
    ngx_str_t                   thread_pool_name;
    ngx_thread_pool_t          *thread_pool;
    ngx_int_t                   throttle_user;
    ngx_int_t                   throttle_ip;
    time_t                      throttle_window;
} ngx_mail_account_main_conf_t;


typedef struct {
    ngx_mail_session_t         *session;
    ngx_mail_account_auth_pt    handler;
    ngx_str_t                   user_key;
    ngx_str_t                   user_fail_key;
    ngx_str_t                   ip_fail_key;
    u_char                     *password;      /* NUL-terminated copy */
    u_char                     *hash;          /* NUL-terminated */
    ngx_str_t                   apop_stamp;    /* empty unless APOP */
    ngx_str_t                   window;        /* throttle expiry, text */
    ngx_flag_t                  enabled;
    ngx_flag_t                  match;
    ngx_event_t                 event;         /* to finish without a task */
} ngx_mail_account_auth_t;


static void *ngx_mail_account_create_main_conf(ngx_conf_t *cf);
static char *ngx_mail_account_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_mail_account_throttle(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

static ngx_int_t ngx_mail_account_keys(ngx_mail_session_t *s,
    ngx_mail_account_auth_t *a);
static void ngx_mail_account_lookup_done(redisReply *reply, void *data);
static ngx_int_t ngx_mail_account_hash_start(ngx_mail_account_auth_t *a);
static void ngx_mail_account_hash_thread(void *data, ngx_log_t *log);
static void ngx_mail_account_hash_done(ngx_event_t *ev);
static void ngx_mail_account_finish(ngx_mail_account_auth_t *a,
    ngx_int_t rc);
static void ngx_mail_account_counter(ngx_mail_redis_cmd_t *cmd,
    const char *name, ngx_str_t *key, ngx_str_t *arg);
static void ngx_mail_account_uncount(ngx_mail_account_auth_t *a,
    ngx_flag_t forgive);
static ngx_int_t ngx_mail_account_start(ngx_mail_session_t *s,
    ngx_str_t *login, ngx_str_t *password, ngx_str_t *apop_stamp,
    ngx_mail_account_auth_pt handler);
static void ngx_mail_account_apop_check(ngx_mail_account_auth_t *a,
    redisReply *secret);
static void ngx_mail_account_resolve_done(redisReply *reply, void *data);
static void ngx_mail_account_resolve_kind(ngx_mail_account_rcpt_t *rcpt,
    redisReply *user, redisReply *alias, redisReply *catchall,
    ngx_pool_t *pool);
static ngx_int_t ngx_mail_account_targets(ngx_mail_account_rcpt_t *rcpt,
    redisReply *set, ngx_pool_t *pool);


typedef struct {
    ngx_mail_session_t           *session;
    ngx_pool_t                   *pool;
    ngx_mail_account_resolve_pt   handler;
    ngx_mail_account_rcpt_t       rcpt;
} ngx_mail_account_resolve_t;


static ngx_command_t  ngx_mail_account_commands[] = {

    { ngx_string("mail_auth_thread_pool"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_MAIL_MAIN_CONF_OFFSET,
      offsetof(ngx_mail_account_main_conf_t, thread_pool_name),
      NULL },

    { ngx_string("mail_auth_throttle"),
      NGX_MAIL_MAIN_CONF|NGX_CONF_1MORE,
      ngx_mail_account_throttle,
      NGX_MAIL_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_mail_module_t  ngx_mail_account_module_ctx = {
    NULL,                                  /* protocol */

    ngx_mail_account_create_main_conf,     /* create main configuration */
    ngx_mail_account_init_main_conf,       /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL                                   /* merge server configuration */
};


ngx_module_t  ngx_mail_account_module = {
    NGX_MODULE_V1,
    &ngx_mail_account_module_ctx,          /* module context */
    ngx_mail_account_commands,             /* module directives */
    NGX_MAIL_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * Unknown users are checked against this yescrypt hash (of a password
 * nobody has) so that they take as long as known ones: the timing does not
 * tell which addresses exist.
 */
static u_char  ngx_mail_account_dummy_hash[] =
    "$y$j9T$E1BMcxZ2vXbKq4hvJtYIE.$"
    "YqrEl8DteICcNqP.LlBH9mWDcLqWjPvsDv6E9AV80p8";


static void *
ngx_mail_account_create_main_conf(ngx_conf_t *cf)
{
    ngx_mail_account_main_conf_t  *amcf;

    amcf = ngx_pcalloc(cf->pool, sizeof(ngx_mail_account_main_conf_t));
    if (amcf == NULL) {
        return NULL;
    }

    amcf->throttle_user = NGX_CONF_UNSET;
    amcf->throttle_ip = NGX_CONF_UNSET;
    amcf->throttle_window = NGX_CONF_UNSET;

    return amcf;
}


static char *
ngx_mail_account_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_mail_account_main_conf_t  *amcf = conf;

    if (amcf->thread_pool_name.len == 0) {
        ngx_str_set(&amcf->thread_pool_name, "default");
    }

    /* "default" is created by nginx with 32 threads unless declared */
    amcf->thread_pool = ngx_thread_pool_add(cf, &amcf->thread_pool_name);
    if (amcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_value(amcf->throttle_user, 5);
    ngx_conf_init_value(amcf->throttle_ip, 20);
    ngx_conf_init_value(amcf->throttle_window, 300);

    return NGX_CONF_OK;
}


/* mail_auth_throttle [user=N] [ip=N] [window=TIME]; */

static char *
ngx_mail_account_throttle(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mail_account_main_conf_t  *amcf = conf;

    ngx_str_t   *value, v;
    ngx_uint_t   i;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "user=", 5) == 0) {
            amcf->throttle_user = ngx_atoi(value[i].data + 5,
                                           value[i].len - 5);
            if (amcf->throttle_user == NGX_ERROR) {
                goto invalid;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "ip=", 3) == 0) {
            amcf->throttle_ip = ngx_atoi(value[i].data + 3, value[i].len - 3);
            if (amcf->throttle_ip == NGX_ERROR) {
                goto invalid;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "window=", 7) == 0) {
            v.data = value[i].data + 7;
            v.len = value[i].len - 7;
            amcf->throttle_window = ngx_parse_time(&v, 1);
            if (amcf->throttle_window == (time_t) NGX_ERROR
                || amcf->throttle_window == 0)
            {
                goto invalid;
            }
            continue;
        }

        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"mail_auth_throttle\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


ngx_int_t
ngx_mail_account_normalize(ngx_str_t *addr)
{
    u_char      *at;
    ngx_uint_t   i;

    if (addr->len == 0 || addr->len > MAIL_ADDR_MAX) {
        return NGX_ERROR;
    }

    for (i = 0; i < addr->len; i++) {
        /* no controls, spaces or braces: they would break the key names */
        if (addr->data[i] <= ' ' || addr->data[i] == 0x7f
            || addr->data[i] == '{' || addr->data[i] == '}')
        {
            return NGX_ERROR;
        }
    }

    at = ngx_strlchr(addr->data, addr->data + addr->len, '@');

    if (at == NULL || at == addr->data || at == addr->data + addr->len - 1
        || (size_t) (at - addr->data) > MAIL_ADDR_LOCAL_MAX
        || ngx_strlchr(at + 1, addr->data + addr->len, '@') != NULL)
    {
        return NGX_ERROR;
    }

    ngx_strlow(addr->data, addr->data, addr->len);

    return NGX_OK;
}


ngx_int_t
ngx_mail_account_auth(ngx_mail_session_t *s, ngx_str_t *login,
    ngx_str_t *password, ngx_mail_account_auth_pt handler)
{
    return ngx_mail_account_start(s, login, password, NULL, handler);
}


ngx_int_t
ngx_mail_account_apop(ngx_mail_session_t *s, ngx_str_t *login,
    ngx_str_t *stamp, ngx_str_t *digest, ngx_mail_account_auth_pt handler)
{
    return ngx_mail_account_start(s, login, digest, stamp, handler);
}


static ngx_int_t
ngx_mail_account_start(ngx_mail_session_t *s, ngx_str_t *login,
    ngx_str_t *password, ngx_str_t *apop_stamp,
    ngx_mail_account_auth_pt handler)
{
    ngx_pool_t                    *pool;
    ngx_mail_redis_cmd_t           cmds[5];
    ngx_mail_account_auth_t       *a;
    ngx_mail_account_main_conf_t  *amcf;

    pool = s->connection->pool;

    a = ngx_pcalloc(pool, sizeof(ngx_mail_account_auth_t));
    if (a == NULL) {
        return NGX_ERROR;
    }

    a->session = s;
    a->handler = handler;
    a->event.data = a;

    if (apop_stamp) {
        a->apop_stamp = *apop_stamp;
    }

    s->login.data = ngx_pstrdup(pool, login);
    if (s->login.data == NULL) {
        return NGX_ERROR;
    }

    s->login.len = login->len;

    a->password = ngx_pnalloc(pool, password->len + 1);
    if (a->password == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(a->password, password->data, password->len);
    a->password[password->len] = '\0';

    if (ngx_mail_account_keys(s, a) != NGX_OK) {
        return NGX_ERROR;
    }

    amcf = ngx_mail_get_module_main_conf(s, ngx_mail_account_module);

    a->window.data = ngx_pnalloc(pool, NGX_TIME_T_LEN);
    if (a->window.data == NULL) {
        return NGX_ERROR;
    }

    a->window.len = ngx_sprintf(a->window.data, "%T", amcf->throttle_window)
                    - a->window.data;

    ngx_mail_redis_cmd_init(&cmds[0], "HMGET");
    ngx_mail_redis_cmd_arg(&cmds[0], a->user_key.data, a->user_key.len);
    ngx_mail_redis_cmd_cstr(&cmds[0], a->apop_stamp.len
                                      ? MAIL_FIELD_APOP_SECRET
                                      : MAIL_FIELD_PASSWORD);
    ngx_mail_redis_cmd_cstr(&cmds[0], MAIL_FIELD_ENABLED);

    /*
     * Every attempt is counted before its password is checked, so that
     * parallel connections cannot each guess once more past the limit; a
     * good login, or a refused one, takes its count back.
     */
    ngx_mail_account_counter(&cmds[1], "INCR", &a->user_fail_key, NULL);
    ngx_mail_account_counter(&cmds[2], "EXPIRE", &a->user_fail_key,
                             &a->window);
    ngx_mail_account_counter(&cmds[3], "INCR", &a->ip_fail_key, NULL);
    ngx_mail_account_counter(&cmds[4], "EXPIRE", &a->ip_fail_key,
                             &a->window);

    if (ngx_mail_redis_send(cmds, 5, ngx_mail_account_lookup_done, a,
                            s->connection->log)
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_mail_account_counter(ngx_mail_redis_cmd_t *cmd, const char *name,
    ngx_str_t *key, ngx_str_t *arg)
{
    ngx_mail_redis_cmd_init(cmd, name);
    ngx_mail_redis_cmd_arg(cmd, key->data, key->len);

    if (arg) {
        ngx_mail_redis_cmd_arg(cmd, arg->data, arg->len);
    }
}


/* an attempt that must not count: a good login, or one refused unheard */

static void
ngx_mail_account_uncount(ngx_mail_account_auth_t *a, ngx_flag_t forgive)
{
    ngx_mail_redis_cmd_t  cmds[2];

    ngx_mail_account_counter(&cmds[0], forgive ? "DEL" : "DECR",
                             &a->user_fail_key, NULL);
    ngx_mail_account_counter(&cmds[1], "DECR", &a->ip_fail_key, NULL);

    /* nobody waits for this */
    (void) ngx_mail_redis_send(cmds, 2, NULL, NULL,
                               a->session->connection->log);
}


/*
 * A login that is no address still gets keys, so that it is throttled and
 * fails like an unknown user; the braces of the hash tag cannot appear in
 * a normalised address.
 */

static ngx_int_t
ngx_mail_account_keys(ngx_mail_session_t *s, ngx_mail_account_auth_t *a)
{
    size_t               len;
    ngx_str_t            user, *ip;
    ngx_pool_t          *pool;
    static ngx_str_t     invalid = ngx_string("invalid login");

    pool = s->connection->pool;
    user = s->login;

    if (ngx_mail_account_normalize(&user) != NGX_OK) {
        user = invalid;
    }

    ip = &s->connection->addr_text;

    len = sizeof(MAIL_KEY_USER_FMT) + sizeof(MAIL_KEY_USER_AUTHFAIL_FMT)
          + sizeof(MAIL_KEY_IP_AUTHFAIL_FMT) + 2 * user.len + ip->len;

    a->user_key.data = ngx_pnalloc(pool, len);
    if (a->user_key.data == NULL) {
        return NGX_ERROR;
    }

    a->user_key.len = ngx_sprintf(a->user_key.data, "user:{%V}", &user)
                      - a->user_key.data;

    a->user_fail_key.data = a->user_key.data + a->user_key.len;
    a->user_fail_key.len = ngx_sprintf(a->user_fail_key.data,
                                       "user:{%V}:authfail", &user)
                           - a->user_fail_key.data;

    a->ip_fail_key.data = a->user_fail_key.data + a->user_fail_key.len;
    a->ip_fail_key.len = ngx_sprintf(a->ip_fail_key.data,
                                     "authfail:ip:{%V}", ip)
                         - a->ip_fail_key.data;

    return NGX_OK;
}


static void
ngx_mail_account_lookup_done(redisReply *reply, void *data)
{
    ngx_mail_account_auth_t  *a = data;

    redisReply                    *fields, *password, *enabled;
    ngx_log_t                     *log;
    ngx_mail_account_main_conf_t  *amcf;

    log = a->session->connection->log;
    amcf = ngx_mail_get_module_main_conf(a->session, ngx_mail_account_module);

    if (ngx_mail_redis_reply_is_error(reply, log)
        || reply->type != REDIS_REPLY_ARRAY || reply->elements != 5
        || reply->element[0]->type != REDIS_REPLY_ARRAY
        || reply->element[0]->elements != 2
        || reply->element[1]->type != REDIS_REPLY_INTEGER
        || reply->element[3]->type != REDIS_REPLY_INTEGER)
    {
        ngx_mail_account_finish(a, NGX_ERROR);
        return;
    }

    /* the counts include this attempt */
    if (reply->element[1]->integer > amcf->throttle_user
        || reply->element[3]->integer > amcf->throttle_ip)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "login of \"%V\" throttled after failed logins",
                      &a->session->login);
        ngx_mail_account_uncount(a, 0);
        ngx_mail_account_finish(a, NGX_BUSY);
        return;
    }

    fields = reply->element[0];
    password = fields->element[0];
    enabled = fields->element[1];

    if (a->apop_stamp.len) {
        a->enabled = (password->type == REDIS_REPLY_STRING
                      && !(enabled->type == REDIS_REPLY_STRING
                           && enabled->len == 1 && enabled->str[0] == '0'));
        ngx_mail_account_apop_check(a, password);
        return;
    }

    a->enabled = 0;
    a->hash = ngx_mail_account_dummy_hash;

    if (password->type == REDIS_REPLY_STRING) {
        a->hash = ngx_pnalloc(a->session->connection->pool, password->len + 1);
        if (a->hash == NULL) {
            ngx_mail_account_finish(a, NGX_ERROR);
            return;
        }

        ngx_memcpy(a->hash, password->str, password->len);
        a->hash[password->len] = '\0';

        a->enabled = !(enabled->type == REDIS_REPLY_STRING
                       && enabled->len == 1 && enabled->str[0] == '0');
    }

    if (ngx_mail_account_hash_start(a) != NGX_OK) {
        ngx_mail_account_finish(a, NGX_ERROR);
    }
}


static ngx_int_t
ngx_mail_account_hash_start(ngx_mail_account_auth_t *a)
{
    ngx_thread_task_t             *task;
    ngx_mail_account_auth_t      **ctx;
    ngx_mail_account_main_conf_t  *amcf;

    amcf = ngx_mail_get_module_main_conf(a->session, ngx_mail_account_module);

    task = ngx_thread_task_alloc(a->session->connection->pool,
                                 sizeof(ngx_mail_account_auth_t *));
    if (task == NULL) {
        return NGX_ERROR;
    }

    ctx = task->ctx;
    *ctx = a;

    task->handler = ngx_mail_account_hash_thread;
    task->event.handler = ngx_mail_account_hash_done;
    task->event.data = a;

    return ngx_thread_task_post(amcf->thread_pool, task);
}


/* runs in a thread: touches nothing but the task's own strings */

static void
ngx_mail_account_hash_thread(void *data, ngx_log_t *log)
{
    ngx_mail_account_auth_t  **ctx = data;

    char                     *out;
    size_t                    len;
    struct crypt_data        *cd;
    ngx_mail_account_auth_t  *a;

    a = *ctx;
    a->match = 0;

    cd = ngx_calloc(sizeof(struct crypt_data), log);
    if (cd == NULL) {
        return;
    }

    out = crypt_r((char *) a->password, (char *) a->hash, cd);

    /* crypt_r() returns a string starting with '*' on failure */
    if (out != NULL && out[0] != '*') {
        len = ngx_strlen(a->hash);
        a->match = (ngx_strlen(out) == len
                    && CRYPTO_memcmp(out, a->hash, len) == 0);
    }

    ngx_explicit_memzero(cd, sizeof(struct crypt_data));
    ngx_free(cd);
}


/* MD5 is cheap: no thread; the secret is compared in constant time */

static void
ngx_mail_account_apop_check(ngx_mail_account_auth_t *a, redisReply *secret)
{
    u_char     md5[16], hex[33];
    ngx_md5_t  ctx;

    a->match = 0;

    if (secret->type == REDIS_REPLY_STRING) {
        ngx_md5_init(&ctx);
        ngx_md5_update(&ctx, a->apop_stamp.data, a->apop_stamp.len);
        ngx_md5_update(&ctx, secret->str, secret->len);
        ngx_md5_final(md5, &ctx);

        ngx_hex_dump(hex, md5, 16);
        ngx_strlow(a->password, a->password, 32);

        a->match = (ngx_strlen(a->password) == 32
                    && CRYPTO_memcmp(hex, a->password, 32) == 0);

        ngx_explicit_memzero(&ctx, sizeof(ngx_md5_t));
    }

    ngx_mail_account_hash_done(&a->event);
}


static void
ngx_mail_account_hash_done(ngx_event_t *ev)
{
    ngx_mail_account_auth_t  *a = ev->data;

    ngx_explicit_memzero(a->password, ngx_strlen(a->password));

    if (!a->match || !a->enabled) {
        /* counted already, when the attempt began */
        ngx_mail_account_finish(a, NGX_DECLINED);
        return;
    }

    /* a good login forgives the user's earlier mistakes */
    ngx_mail_account_uncount(a, 1);

    ngx_mail_account_finish(a, NGX_OK);
}


static void
ngx_mail_account_finish(ngx_mail_account_auth_t *a, ngx_int_t rc)
{
    ngx_mail_session_t  *s;

    s = a->session;

    if (rc == NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "user \"%V\" logged in", &s->login);

    } else if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "login of \"%V\" failed", &s->login);
    }

    a->handler(s, rc);
}


/*
 * One MULTI/EXEC: is the domain ours, is there such a user (and is it
 * enabled, is it full), is there an alias, is there a catch-all.
 */

ngx_int_t
ngx_mail_account_resolve(ngx_mail_session_t *s, ngx_pool_t *pool,
    ngx_str_t *addr, ngx_mail_account_resolve_pt handler)
{
    u_char                      *at, *p;
    size_t                       len;
    ngx_str_t                    domain, user_key, alias_key, catchall_key;
    ngx_mail_redis_cmd_t         cmds[4];
    ngx_mail_account_resolve_t  *r;

    /* the last "@": a quoted local part may hold one too */
    for (at = addr->data + addr->len; at > addr->data; at--) {
        if (at[-1] == '@') {
            break;
        }
    }

    if (at == addr->data) {
        return NGX_ERROR;
    }

    domain.data = at;
    domain.len = addr->data + addr->len - domain.data;

    r = ngx_pcalloc(pool, sizeof(ngx_mail_account_resolve_t));
    if (r == NULL) {
        return NGX_ERROR;
    }

    r->session = s;
    r->pool = pool;
    r->handler = handler;
    r->rcpt.address = *addr;

    len = 3 * addr->len + 64;

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    user_key.data = p;
    p = ngx_sprintf(p, "user:{%V}", addr);
    user_key.len = p - user_key.data;

    alias_key.data = p;
    p = ngx_sprintf(p, "alias:{%V}", addr);
    alias_key.len = p - alias_key.data;

    catchall_key.data = p;
    p = ngx_sprintf(p, "alias:{@%V}", &domain);
    catchall_key.len = p - catchall_key.data;

    ngx_mail_redis_cmd_init(&cmds[0], "SISMEMBER");
    ngx_mail_redis_cmd_cstr(&cmds[0], MAIL_KEY_DOMAINS);
    ngx_mail_redis_cmd_arg(&cmds[0], domain.data, domain.len);

    ngx_mail_redis_cmd_init(&cmds[1], "HMGET");
    ngx_mail_redis_cmd_arg(&cmds[1], user_key.data, user_key.len);
    ngx_mail_redis_cmd_cstr(&cmds[1], MAIL_FIELD_ENABLED);
    ngx_mail_redis_cmd_cstr(&cmds[1], MAIL_FIELD_QUOTA);
    ngx_mail_redis_cmd_cstr(&cmds[1], MAIL_FIELD_USED);

    ngx_mail_redis_cmd_init(&cmds[2], "SMEMBERS");
    ngx_mail_redis_cmd_arg(&cmds[2], alias_key.data, alias_key.len);

    ngx_mail_redis_cmd_init(&cmds[3], "SMEMBERS");
    ngx_mail_redis_cmd_arg(&cmds[3], catchall_key.data, catchall_key.len);

    if (ngx_mail_redis_send(cmds, 4, ngx_mail_account_resolve_done, r,
                            s->connection->log)
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_mail_account_resolve_done(redisReply *reply, void *data)
{
    ngx_mail_account_resolve_t  *r = data;

    ngx_log_t   *log;
    ngx_pool_t  *pool;

    log = r->session->connection->log;
    pool = r->pool;

    if (ngx_mail_redis_reply_is_error(reply, log)
        || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_ARRAY
        || reply->element[1]->elements != 3
        || reply->element[2]->type != REDIS_REPLY_ARRAY
        || reply->element[3]->type != REDIS_REPLY_ARRAY)
    {
        r->handler(r->session, NGX_ERROR, &r->rcpt);
        return;
    }

    if (reply->element[0]->integer == 0) {
        r->rcpt.kind = NGX_MAIL_ACCOUNT_NOT_LOCAL;

    } else {
        ngx_mail_account_resolve_kind(&r->rcpt, reply->element[1],
                                      reply->element[2], reply->element[3],
                                      pool);
    }

    if (r->rcpt.kind == NGX_MAIL_ACCOUNT_ALIAS && r->rcpt.targets == NULL) {
        r->handler(r->session, NGX_ERROR, &r->rcpt);
        return;
    }

    r->handler(r->session, NGX_OK, &r->rcpt);
}


/* a user wins over an alias of the same name, an alias over a catch-all */

static void
ngx_mail_account_resolve_kind(ngx_mail_account_rcpt_t *rcpt,
    redisReply *user, redisReply *alias, redisReply *catchall,
    ngx_pool_t *pool)
{
    off_t        quota, used;
    redisReply  *enabled;

    enabled = user->element[0];

    if (enabled->type == REDIS_REPLY_STRING) {

        if (enabled->len == 1 && enabled->str[0] == '0') {
            rcpt->kind = NGX_MAIL_ACCOUNT_DISABLED;
            return;
        }

        quota = 0;
        used = 0;

        if (user->element[1]->type == REDIS_REPLY_STRING) {
            quota = ngx_atoof((u_char *) user->element[1]->str,
                              user->element[1]->len);
        }

        if (user->element[2]->type == REDIS_REPLY_STRING) {
            used = ngx_atoof((u_char *) user->element[2]->str,
                             user->element[2]->len);
        }

        rcpt->kind = (quota > 0 && used >= quota)
                     ? NGX_MAIL_ACCOUNT_OVER_QUOTA : NGX_MAIL_ACCOUNT_USER;
        return;
    }

    if (alias->elements) {
        rcpt->kind = NGX_MAIL_ACCOUNT_ALIAS;
        (void) ngx_mail_account_targets(rcpt, alias, pool);
        return;
    }

    if (catchall->elements) {
        rcpt->kind = NGX_MAIL_ACCOUNT_ALIAS;
        (void) ngx_mail_account_targets(rcpt, catchall, pool);
        return;
    }

    rcpt->kind = NGX_MAIL_ACCOUNT_UNKNOWN;
}


static ngx_int_t
ngx_mail_account_targets(ngx_mail_account_rcpt_t *rcpt, redisReply *set,
    ngx_pool_t *pool)
{
    size_t       i;
    ngx_str_t   *target;

    rcpt->targets = ngx_array_create(pool, set->elements, sizeof(ngx_str_t));
    if (rcpt->targets == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < set->elements; i++) {
        if (set->element[i]->type != REDIS_REPLY_STRING) {
            continue;
        }

        target = ngx_array_push(rcpt->targets);
        if (target == NULL) {
            rcpt->targets = NULL;
            return NGX_ERROR;
        }

        target->len = set->element[i]->len;
        target->data = ngx_pnalloc(pool, target->len);
        if (target->data == NULL) {
            rcpt->targets = NULL;
            return NGX_ERROR;
        }

        ngx_memcpy(target->data, set->element[i]->str, target->len);
    }

    return NGX_OK;
}


/* where a SASL exchange stands */
#define NGX_MAIL_SASL_NONE        0
#define NGX_MAIL_SASL_PLAIN       1
#define NGX_MAIL_SASL_LOGIN_USER  2
#define NGX_MAIL_SASL_LOGIN_PASS  3


static ngx_int_t ngx_mail_account_sasl_decode(ngx_pool_t *pool,
    ngx_str_t *in, ngx_str_t *out);
static ngx_int_t ngx_mail_account_sasl_plain(ngx_str_t *decoded,
    ngx_str_t *login, ngx_str_t *password);


/* RFC 4954 4 and every client: "Username:" and "Password:" for LOGIN */
static ngx_str_t  ngx_mail_account_login_user = ngx_string("VXNlcm5hbWU6");
static ngx_str_t  ngx_mail_account_login_pass = ngx_string("UGFzc3dvcmQ6");


ngx_int_t
ngx_mail_account_sasl_start(ngx_mail_account_sasl_t *sasl, ngx_pool_t *pool,
    ngx_str_t *mechanism, ngx_str_t *initial, ngx_str_t *challenge,
    ngx_str_t *login, ngx_str_t *password)
{
    sasl->step = NGX_MAIL_SASL_NONE;
    ngx_str_null(&sasl->user);

    if (mechanism->len == 5
        && ngx_strncasecmp(mechanism->data, (u_char *) "PLAIN", 5) == 0)
    {
        sasl->step = NGX_MAIL_SASL_PLAIN;

    } else if (mechanism->len == 5
               && ngx_strncasecmp(mechanism->data, (u_char *) "LOGIN", 5)
                  == 0)
    {
        sasl->step = NGX_MAIL_SASL_LOGIN_USER;

    } else {
        return NGX_DECLINED;
    }

    if (initial == NULL || initial->len == 0) {
        if (sasl->step == NGX_MAIL_SASL_PLAIN) {
            ngx_str_null(challenge);

        } else {
            *challenge = ngx_mail_account_login_user;
        }

        return NGX_AGAIN;
    }

    return ngx_mail_account_sasl_step(sasl, pool, initial, challenge, login,
                                      password);
}


ngx_int_t
ngx_mail_account_sasl_step(ngx_mail_account_sasl_t *sasl, ngx_pool_t *pool,
    ngx_str_t *response, ngx_str_t *challenge, ngx_str_t *login,
    ngx_str_t *password)
{
    ngx_uint_t  step;
    ngx_str_t   decoded;

    step = sasl->step;
    sasl->step = NGX_MAIL_SASL_NONE;

    if (response->len == 1 && response->data[0] == '*') {
        return NGX_ABORT;
    }

    if (ngx_mail_account_sasl_decode(pool, response, &decoded) != NGX_OK) {
        return NGX_ERROR;
    }

    switch (step) {

    case NGX_MAIL_SASL_PLAIN:
        if (ngx_mail_account_sasl_plain(&decoded, login, password)
            != NGX_OK)
        {
            return NGX_DONE;
        }

        return NGX_OK;

    case NGX_MAIL_SASL_LOGIN_USER:
        if (decoded.len == 0) {
            return NGX_DONE;
        }

        sasl->user = decoded;
        sasl->step = NGX_MAIL_SASL_LOGIN_PASS;
        *challenge = ngx_mail_account_login_pass;
        return NGX_AGAIN;

    default: /* NGX_MAIL_SASL_LOGIN_PASS */
        if (decoded.len == 0) {
            return NGX_DONE;
        }

        *login = sasl->user;
        *password = decoded;
        return NGX_OK;
    }
}


static ngx_int_t
ngx_mail_account_sasl_decode(ngx_pool_t *pool, ngx_str_t *in, ngx_str_t *out)
{
    /* RFC 4954 4: "=" is an empty response */
    if (in->len == 1 && in->data[0] == '=') {
        ngx_str_null(out);
        return NGX_OK;
    }

    out->data = ngx_pnalloc(pool, ngx_base64_decoded_length(in->len));
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    return ngx_decode_base64(out, in);
}


/* RFC 4616 2; an authzid other than the login: nobody acts for another */

static ngx_int_t
ngx_mail_account_sasl_plain(ngx_str_t *decoded, ngx_str_t *login,
    ngx_str_t *password)
{
    u_char     *p, *end, *nul;
    ngx_str_t   authzid;

    p = decoded->data;
    end = decoded->data + decoded->len;

    nul = ngx_strlchr(p, end, '\0');
    if (nul == NULL) {
        return NGX_DECLINED;
    }

    authzid.data = p;
    authzid.len = nul - p;

    p = nul + 1;
    nul = ngx_strlchr(p, end, '\0');
    if (nul == NULL) {
        return NGX_DECLINED;
    }

    login->data = p;
    login->len = nul - p;

    password->data = nul + 1;
    password->len = end - password->data;

    if (authzid.len
        && (authzid.len != login->len
            || ngx_strncasecmp(authzid.data, login->data, login->len) != 0))
    {
        return NGX_DECLINED;
    }

    if (login->len == 0 || password->len == 0) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}
