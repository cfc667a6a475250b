
/*
 * Redis client of nginx-mailserver: one hiredis async connection per worker,
 * driven by nginx's event loop.
 */

#ifndef _NGX_MAIL_REDIS_H_INCLUDED_
#define _NGX_MAIL_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include <hiredis/hiredis.h>


/* commands with more arguments use ngx_mail_redis_cmd_init_n() */
#define NGX_MAIL_REDIS_SMALL_ARGV  16


typedef struct ngx_mail_redis_request_s  ngx_mail_redis_request_t;

/*
 * Called once per request: with the reply of its last command, or with
 * NULL when Redis cannot answer (not connected, timed out, connection lost).
 * The reply is freed when the handler returns.
 */
typedef void (*ngx_mail_redis_handler_pt)(redisReply *reply, void *data);


typedef struct {
    ngx_uint_t                  argc;
    ngx_uint_t                  nalloc;
    const char                **argv;
    size_t                     *argvlen;
    const char                 *small_argv[NGX_MAIL_REDIS_SMALL_ARGV];
    size_t                      small_argvlen[NGX_MAIL_REDIS_SMALL_ARGV];
} ngx_mail_redis_cmd_t;


/* the arguments are not copied: they must live until ..._send() */
void ngx_mail_redis_cmd_init(ngx_mail_redis_cmd_t *cmd, const char *name);
ngx_int_t ngx_mail_redis_cmd_init_n(ngx_mail_redis_cmd_t *cmd,
    const char *name, ngx_uint_t n, ngx_pool_t *pool);
void ngx_mail_redis_cmd_arg(ngx_mail_redis_cmd_t *cmd, u_char *data,
    size_t len);
void ngx_mail_redis_cmd_cstr(ngx_mail_redis_cmd_t *cmd, const char *s);

/*
 * Sends n commands; n > 1 are wrapped in MULTI/EXEC so that they apply
 * atomically and the handler gets the EXEC array.  Returns NULL when Redis
 * is unavailable now: the caller answers with its temporary failure.
 */
ngx_mail_redis_request_t *ngx_mail_redis_send(ngx_mail_redis_cmd_t *cmds,
    ngx_uint_t n, ngx_mail_redis_handler_pt handler, void *data,
    ngx_log_t *log);

/* the handler will not be called; safe until the handler has run */
void ngx_mail_redis_cancel(ngx_mail_redis_request_t *r);

ngx_int_t ngx_mail_redis_reply_is_error(redisReply *reply, ngx_log_t *log);

/*
 * Publish/subscribe: the handler gets each message published on the
 * channel, and NULL when the subscription is (re)established, after which
 * the subscriber should look for changes it may have missed.  "sub" is the
 * caller's (a session's pool); unsubscribe before it goes.  A handler may
 * unsubscribe its own subscription, no other.
 */
typedef void (*ngx_mail_redis_message_pt)(ngx_str_t *message, void *data);

/*
 * the message a handler gets when the subscriber connection is lost:
 * nothing is heard until the NULL message of the resubscription
 */
extern ngx_str_t  ngx_mail_redis_lost;

typedef struct {
    ngx_queue_t                 queue;
    void                       *channel;
    ngx_mail_redis_message_pt   handler;
    void                       *data;
} ngx_mail_redis_subscription_t;

ngx_int_t ngx_mail_redis_subscribe(ngx_mail_redis_subscription_t *sub,
    ngx_str_t *channel, ngx_mail_redis_message_pt handler, void *data);
void ngx_mail_redis_unsubscribe(ngx_mail_redis_subscription_t *sub);

/* mail_redis_wait: replicas a stored message must reach, and how long */
ngx_uint_t ngx_mail_redis_wait_replicas(ngx_msec_t *timeout);


extern ngx_module_t  ngx_mail_redis_module;


#endif /* _NGX_MAIL_REDIS_H_INCLUDED_ */
