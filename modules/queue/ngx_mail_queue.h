
/*
 * The delivery queue: nginx worker processes that take queued messages
 * from Redis and deliver them to the remote domains' SMTP servers.
 *
 *   ngx_mail_queue_module.c   directives; the worker: reading the stream,
 *                             reclaiming entries of dead workers, a
 *                             message's attempt from start to settling
 *   ngx_mail_queue_dns.c      the hosts of a domain: MX, then A and AAAA,
 *                             on the DNS module (modules/dns)
 *   ngx_mail_queue_smtp.c     the SMTP client of one destination
 *   ngx_mail_queue_cache.c    idle connections kept for the next message
 *                             to the same destination
 *   ngx_mail_queue_settle.c   Lua scripts that record and settle an
 *                             attempt, and the delivery status reports
 *
 * Key names: mail_keys.h; docs/redis-keys.md, "Spool and outbound queue".
 */

#ifndef _NGX_MAIL_QUEUE_H_INCLUDED_
#define _NGX_MAIL_QUEUE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_mail.h>

#include "mail_keys.h"
#include "ngx_mail_redis.h"
#include "ngx_mail_queue_reply.h"
#include "ngx_mail_queue_mx.h"


/* queue_tls levels, after Postfix's smtp_tls_security_level */
#define NGX_MAIL_QUEUE_TLS_OFF      0
#define NGX_MAIL_QUEUE_TLS_MAY      1
#define NGX_MAIL_QUEUE_TLS_ENCRYPT  2
#define NGX_MAIL_QUEUE_TLS_VERIFY   3


typedef struct {
    ngx_str_t                   domain;
    ngx_uint_t                  level;
} ngx_mail_queue_tls_policy_t;


typedef struct {
    ngx_uint_t                  workers;
    ngx_uint_t                  concurrency;
    ngx_uint_t                  dest_concurrency;
    ngx_uint_t                  smtp_port_conf;
    in_port_t                   smtp_port;
    ngx_str_t                   relayhost;
    in_port_t                   relay_port;
    ngx_str_t                   relay_user;
    ngx_str_t                   relay_password;
    ngx_uint_t                  tls;
    ngx_array_t                *tls_policies;
    ngx_str_t                   tls_trusted_certificate;
    ngx_str_t                   helo_name;
    time_t                      retry_min;
    time_t                      retry_max;
    time_t                      delay_warning;
    time_t                      lifetime;
    ngx_msec_t                  connect_timeout;
    ngx_msec_t                  timeout;
    ngx_msec_t                  reclaim_timeout;
    ngx_msec_t                  poll_interval;
    ngx_msec_t                  cache_time;
    time_t                      reuse_time;
    ngx_uint_t                  reuse_count;
    ngx_ssl_t                  *ssl;
    ngx_log_t                  *log;
} ngx_mail_queue_conf_t;


typedef struct ngx_mail_queue_job_s   ngx_mail_queue_job_t;
typedef struct ngx_mail_queue_dest_s  ngx_mail_queue_dest_t;


/* a recipient's state: the values of queue:{ID}:rcpt */
typedef enum {
    NGX_MAIL_QUEUE_RCPT_NEW = 0,       /* to try now */
    NGX_MAIL_QUEUE_RCPT_SENT,
    NGX_MAIL_QUEUE_RCPT_FAILED,
    NGX_MAIL_QUEUE_RCPT_DEFERRED
} ngx_mail_queue_rcpt_state_e;


#define NGX_MAIL_QUEUE_NOTIFY_SUCCESS  0x01
#define NGX_MAIL_QUEUE_NOTIFY_FAILURE  0x02
#define NGX_MAIL_QUEUE_NOTIFY_DELAY    0x04
#define NGX_MAIL_QUEUE_NOTIFY_NEVER    0x08


typedef struct {
    ngx_str_t                   address;
    ngx_str_t                   domain;
    ngx_str_t                   params;       /* NOTIFY=... ORCPT=... */
    ngx_str_t                   orcpt;
    ngx_uint_t                  notify;       /* 0: none given */

    ngx_mail_queue_rcpt_state_e state;
    ngx_uint_t                  code;
    ngx_str_t                   status;       /* "5.1.1" */
    ngx_str_t                   mta;
    ngx_str_t                   text;
    time_t                      time;

    /* settled in this attempt: reported and written */
    unsigned                    changed:1;
    /* that state is in Redis already (ngx_mail_queue_record()) */
    unsigned                    recorded:1;
    /* the server accepted RCPT in this transaction */
    unsigned                    accepted:1;
    /* the next server took NOTIFY: it reports success, not we */
    unsigned                    dsn_passed:1;
} ngx_mail_queue_rcpt_t;


struct ngx_mail_queue_job_s {
    ngx_pool_t                 *pool;
    ngx_log_t                  *log;
    ngx_queue_t                 queue;        /* the worker's jobs */

    ngx_str_t                   id;
    ngx_str_t                   entry;        /* stream entry id */

    ngx_str_t                   from;
    ngx_str_t                   rcpt_lines;
    ngx_str_t                   params;
    ngx_str_t                   blob_key;     /* blob:{the env's blob} */
    off_t                       size;
    time_t                      created;
    ngx_uint_t                  attempts;
    ngx_str_t                   envid;
    ngx_str_t                   ret;          /* FULL or HDRS */
    unsigned                    body_8bit:1;
    unsigned                    smtputf8:1;
    unsigned                    warned:1;

    ngx_array_t                 rcpts;        /* ngx_mail_queue_rcpt_t */
    ngx_array_t                 dests;        /* ngx_mail_queue_dest_t * */
    ngx_uint_t                  dests_left;
    ngx_str_t                   last_error;
};


struct ngx_mail_queue_dest_s {
    ngx_mail_queue_job_t       *job;
    ngx_str_t                   domain;
    ngx_array_t                 rcpts;        /* ngx_mail_queue_rcpt_t * */
    ngx_queue_t                 queue;        /* waiting for a slot */
    void                       *slot;
};


extern ngx_module_t  ngx_mail_queue_module;


ngx_mail_queue_conf_t *ngx_mail_queue_conf(void);

/* a destination's SMTP transaction is over: its recipients have states */
void ngx_mail_queue_dest_done(ngx_mail_queue_dest_t *dest);

void ngx_mail_queue_smtp_start(ngx_mail_queue_dest_t *dest);

ngx_mail_queue_rcpt_t *ngx_mail_queue_rcpt_find(ngx_mail_queue_job_t *job,
    ngx_str_t *addr);

/* records one recipient's state */
void ngx_mail_queue_rcpt_set(ngx_mail_queue_rcpt_t *rcpt,
    ngx_mail_queue_rcpt_state_e state, ngx_uint_t code, ngx_str_t *status,
    ngx_str_t *mta, ngx_str_t *text, ngx_pool_t *pool);


/* the connection cache */

/*
 * A connection of the SMTP client between two transactions, with what
 * the next one needs to know of it.  It lives in the connection's own
 * pool, which goes with the connection.
 */

typedef struct {
    ngx_queue_t                 queue;        /* the worker's idle ones */
    ngx_connection_t           *connection;

    /* what the connection was made for: the key of the cache */
    ngx_str_t                   name;         /* domain or relayhost */
    ngx_uint_t                  tls_level;
    unsigned                    relay:1;

    unsigned                    tls:1;
    unsigned                    extensions;
    unsigned                    auth;
    uint64_t                    peer_size;
    ngx_str_t                   host_name;
    struct sockaddr_in6         sockaddr;
    socklen_t                   socklen;
    ngx_str_t                   peer_name;

    time_t                      created;
    ngx_uint_t                  uses;         /* transactions sent */
} ngx_mail_queue_conn_t;


/* NGX_DECLINED: the cache is full, the connection is still the caller's */
ngx_int_t ngx_mail_queue_cache_park(ngx_mail_queue_conn_t *conn);

/* an idle connection for that key, out of the cache, or NULL */
ngx_mail_queue_conn_t *ngx_mail_queue_cache_take(ngx_str_t *name,
    ngx_uint_t tls_level, ngx_uint_t relay);

/* closes a connection of the SMTP client: QUIT if asked, TLS shutdown */
void ngx_mail_queue_conn_close(ngx_connection_t *c, ngx_uint_t quit);


/* DNS */

typedef void (*ngx_mail_queue_dns_handler_pt)(ngx_mail_queue_mx_t *mx,
    void *data);

/*
 * The hosts to try for a domain, with their addresses; with "no_mx" the
 * name is a host itself (a relayhost).  The handler is always called,
 * with mx->result set: at once for an address literal or when no lookup
 * could be started, else once the answers are in.
 */
void ngx_mail_queue_dns_resolve(ngx_mail_queue_mx_t *mx, ngx_str_t *name,
    ngx_uint_t no_mx, ngx_mail_queue_dns_handler_pt handler, void *data);


/* settling */

/* writes the states of the recipients the destination settled */
ngx_int_t ngx_mail_queue_record(ngx_mail_queue_dest_t *dest,
    ngx_mail_redis_handler_pt handler, void *data);

/* the attempt is over: deletes or defers the message, sends reports */
void ngx_mail_queue_settle(ngx_mail_queue_job_t *job);

/* the worker's part once a job has settled */
void ngx_mail_queue_job_free(ngx_mail_queue_job_t *job);


#endif /* _NGX_MAIL_QUEUE_H_INCLUDED_ */
