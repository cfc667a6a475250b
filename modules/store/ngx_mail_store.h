
/*
 * The message store in Redis: spooling a message while it arrives, and
 * delivering it atomically into local mailboxes and the outbound queue.
 * Key names: docs/redis-keys.md.
 */

#ifndef _NGX_MAIL_STORE_H_INCLUDED_
#define _NGX_MAIL_STORE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_mail.h>


typedef void (*ngx_mail_store_handler_pt)(ngx_mail_session_t *s,
    ngx_int_t rc, ngx_str_t *detail);


#include "ngx_mail_redis.h"


/* APPENDs and the delivery a spool may have waiting in Redis at once */
#define NGX_MAIL_STORE_INFLIGHT  4


typedef struct {
    ngx_str_t                   id;          /* queue id, unique */
    ngx_str_t                   key;         /* spool:{id} */
    off_t                       size;        /* bytes appended so far */
    ngx_mail_session_t         *session;
    ngx_mail_store_handler_pt   appended;
    ngx_mail_store_handler_pt   delivered;
    /* requests in the order Redis answers them */
    ngx_mail_redis_request_t   *inflight[NGX_MAIL_STORE_INFLIGHT];
    ngx_uint_t                  ninflight;
    unsigned                    failed:1;    /* an APPEND failed */
    unsigned                    done:1;      /* delivered or discarded */
} ngx_mail_store_spool_t;


/* the envelope that goes with a message into the outbound queue */
typedef struct {
    ngx_str_t                   from;
    ngx_array_t                *remote;      /* ngx_str_t recipients */
    ngx_str_t                   params;      /* DSN etc., "k=v k=v" */
} ngx_mail_store_envelope_t;


ngx_int_t ngx_mail_store_spool_init(ngx_mail_session_t *s,
    ngx_mail_store_spool_t *sp);

/*
 * Appends bytes to the spool.  NGX_OK: sent, go on; NGX_AGAIN: sent, but
 * wait for the handler before sending more (one APPEND in flight bounds
 * the memory hiredis holds for the session); NGX_ERROR: Redis unavailable.
 */
ngx_int_t ngx_mail_store_spool_append(ngx_mail_store_spool_t *sp,
    u_char *data, size_t len, ngx_mail_store_handler_pt handler);

/*
 * Delivers the spooled message to every local mailbox in "local" (ngx_str_t
 * addresses) and queues it for the remote recipients, in one Lua script:
 * all or nothing.  "pool" is the transaction's.  The handler gets NGX_OK, NGX_DECLINED with a detail
 * ("OVERQUOTA user" or "NOUSER user") or NGX_ERROR.
 */
ngx_int_t ngx_mail_store_deliver(ngx_mail_store_spool_t *sp, ngx_pool_t *pool,
    ngx_array_t *local, ngx_mail_store_envelope_t *env,
    ngx_mail_store_handler_pt handler);

/*
 * Drops a spool that will not be delivered: no handler is called any
 * more, and the spool key is deleted.  Safe to call twice.
 */
void ngx_mail_store_spool_discard(ngx_mail_store_spool_t *sp);


#endif /* _NGX_MAIL_STORE_H_INCLUDED_ */
