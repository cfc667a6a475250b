
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


#include "mail_keys.h"
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
    /* the spam filter's: header fields put first, and who gets Junk */
    ngx_str_t                   headers;
    ngx_array_t                *junk;        /* ngx_str_t, of "local" */
} ngx_mail_store_envelope_t;


/*
 * The Lua functions that put a stored blob where it goes, shared by SMTP
 * delivery and the queue's reports: inbox_add(t, qid, size, now, name)
 * files blob qid into mailbox "name" (INBOX when nil; the spam filter
 * gives Junk) of the user whose hash tag is t, creating it if it is
 * missing, and queue_add(qid, from, rcpts, params, size,
 * now) queues it for remote recipients (rcpts: lines "addr PARAMS").
 * The caller has set the blob and counted its references.
 */
#define NGX_MAIL_STORE_INBOX_LUA                                              \
    "local function inbox_add(t, qid, size, now, name)\n"                     \
    "  name = name or 'INBOX'\n"                                              \
    "  local id = redis.call('HGET', 'mailboxes:' .. t, name)\n"              \
    "  if not id then\n"                                                      \
    "    id = redis.call('HINCRBY', 'user:' .. t, 'mailbox_next', 1)\n"       \
    "    redis.call('HSET', 'mailboxes:' .. t, name, id)\n"                   \
    "    redis.call('HSET', 'mailbox:' .. t .. ':' .. id, 'name', name,\n"    \
    "               'uidvalidity', now, 'uidnext', 1, 'highestmodseq', 1,\n"  \
    "               'messages', 0, 'unseen', 0, 'subscribed', 1,\n"           \
    "               'special_use', name == 'Junk' and '\\\\Junk' or '')\n"     \
    "  end\n"                                                                 \
    "  local mb = 'mailbox:' .. t .. ':' .. id\n"                             \
    "  local uid = redis.call('HINCRBY', mb, 'uidnext', 1) - 1\n"             \
    "  local modseq = redis.call('HINCRBY', mb, 'highestmodseq', 1)\n"        \
    "  redis.call('HSET', 'msg:' .. t .. ':' .. id .. ':' .. uid,\n"          \
    "             'blob', qid, 'size', size, 'internaldate', now,\n"          \
    "             'flags', '', 'modseq', modseq)\n"                           \
    "  redis.call('ZADD', mb .. ':uids', uid, uid)\n"                         \
    "  redis.call('ZADD', mb .. ':modseq', modseq, uid)\n"                    \
    "  redis.call('HINCRBY', mb, 'messages', 1)\n"                            \
    "  redis.call('HINCRBY', mb, 'unseen', 1)\n"                              \
    "  redis.call('HINCRBY', 'user:' .. t, 'used_bytes', size)\n"             \
    "  redis.call('PUBLISH', 'notify:' .. t,\n"                               \
    "             'EXISTS ' .. id .. ' ' .. uid)\n"                           \
    "end\n"

#define NGX_MAIL_STORE_QUEUE_LUA                                              \
    "local function queue_add(qid, from, rcpts, params, size, now)\n"         \
    "  local env = string.format('" MAIL_KEY_QUEUE_ENV_FMT "', qid)\n"        \
    "  redis.call('HSET', env, '" MAIL_FIELD_QUEUE_FROM "', from,\n"          \
    "             '" MAIL_FIELD_QUEUE_RCPTS "', rcpts,\n"                     \
    "             '" MAIL_FIELD_QUEUE_PARAMS "', params,\n"                   \
    "             '" MAIL_FIELD_QUEUE_BLOB "', qid,\n"                        \
    "             '" MAIL_FIELD_QUEUE_SIZE "', size,\n"                       \
    "             '" MAIL_FIELD_CREATED "', now,\n"                           \
    "             '" MAIL_FIELD_QUEUE_ATTEMPTS "', 0)\n"                      \
    "  redis.call('ZADD', '" MAIL_KEY_QUEUE_IDS "', now, qid)\n"              \
    "  redis.call('XADD', '" MAIL_KEY_QUEUE_OUTBOUND "', '*',\n"              \
    "             '" MAIL_QUEUE_ENTRY_ID "', qid)\n"                          \
    "  redis.call('PUBLISH', '" MAIL_CHANNEL_QUEUE_WAKEUP "', qid)\n"         \
    "end\n"


/*
 * The Lua function every expunge goes through (POP3's UPDATE, IMAP's
 * EXPUNGE and CLOSE): expunge(t, id, uid, deleted_only) removes message
 * uid of mailbox id of the user whose hash tag is t, with its counters,
 * quota usage, blob reference, the expunge record for QRESYNC and the
 * notification for IDLE; with deleted_only, only if it has \Deleted.
 * Returns whether it removed the message.  Brings blob_unref() along.
 */
#define NGX_MAIL_STORE_EXPUNGE_LUA                                            \
    MAIL_LUA_BLOB_UNREF                                                       \
    "local function expunge(t, id, uid, deleted_only)\n"                      \
    "  local mb = 'mailbox:' .. t .. ':' .. id\n"                             \
    "  local msg = 'msg:' .. t .. ':' .. id .. ':' .. uid\n"                  \
    "  local m = redis.call('HMGET', msg, 'size', 'blob', 'flags')\n"         \
    "  local f = ' ' .. (m[3] or '') .. ' '\n"                                \
    "  if not m[1] then return false end\n"                                  \
    "  if deleted_only and not string.find(f, ' \\\\Deleted ', 1, true)\n"    \
    "  then return false end\n"                                              \
    "  redis.call('DEL', msg)\n"                                              \
    "  redis.call('ZREM', mb .. ':uids', uid)\n"                              \
    "  redis.call('ZREM', mb .. ':modseq', uid)\n"                            \
    "  redis.call('HINCRBY', mb, 'messages', -1)\n"                           \
    "  if not string.find(f, ' \\\\Seen ', 1, true) then\n"                   \
    "    redis.call('HINCRBY', mb, 'unseen', -1)\n"                           \
    "  end\n"                                                                 \
    "  redis.call('HINCRBY', 'user:' .. t, 'used_bytes', -tonumber(m[1]))\n"  \
    "  blob_unref(m[2])\n"                                                    \
    "  local modseq = redis.call('HINCRBY', mb, 'highestmodseq', 1)\n"        \
    "  redis.call('ZADD', mb .. ':expunged', modseq, uid)\n"                  \
    "  redis.call('PUBLISH', 'notify:' .. t, 'EXPUNGE ' .. id .. ' ' .. uid)\n"\
    "  return true\n"                                                         \
    "end\n"


/* writes a new message id, unique across nodes: at most 48 octets */
u_char *ngx_mail_store_new_id(u_char *p);

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
 * all or nothing.  "pool" is the transaction's.  The handler gets NGX_OK,
 * NGX_DECLINED with a detail
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
