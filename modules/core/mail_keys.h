/*
 * Redis key names of nginx-mailserver, shared by the nginx modules and
 * mailctl.  Plain C, no nginx dependency.  docs/redis-keys.md explains each
 * key; keep the two in step.
 *
 * Every key that belongs to one user carries the address in a Redis Cluster
 * hash tag, "{user@domain}", so that all of a user's keys live in one slot
 * and a Lua script may touch them together.  Domain-wide keys use the
 * domain as their tag.
 */

#ifndef _MAIL_KEYS_H_INCLUDED_
#define _MAIL_KEYS_H_INCLUDED_


/* SET of every local domain (lower case) */
#define MAIL_KEY_DOMAINS            "domains"

/* HASH per domain: created */
#define MAIL_KEY_DOMAIN_FMT         "domain:{%s}"

/* SET of the full addresses of a domain's users */
#define MAIL_KEY_DOMAIN_USERS_FMT   "domain:{%s}:users"

/* SET of the alias source addresses of a domain ("@domain" = catch-all) */
#define MAIL_KEY_DOMAIN_ALIASES_FMT "domain:{%s}:aliases"

/* HASH per user: password, quota_bytes, enabled, created */
#define MAIL_KEY_USER_FMT           "user:{%s}"

/* STRING per user: failed logins in the current throttle window */
#define MAIL_KEY_USER_AUTHFAIL_FMT  "user:{%s}:authfail"

/* SET per alias source: target addresses */
#define MAIL_KEY_ALIAS_FMT          "alias:{%s}"

/* STRING per client IP: failed logins in the current throttle window */
#define MAIL_KEY_IP_AUTHFAIL_FMT    "authfail:ip:{%s}"

/* STRING per message content, shared by mailboxes and the queue */
#define MAIL_KEY_BLOB_FMT           "blob:{%s}"

/* STRING: how many mailbox messages and queue entries refer to a blob */
#define MAIL_KEY_BLOB_REFS_FMT      "blob:{%s}:refs"

/*
 * The Lua function every script that drops a reference to a blob
 * begins with, so that one place says how: blob_unref(id) counts one
 * reference less and, at none left, deletes the blob and its count
 * (whoever drops the last reference deletes both keys).  Returns the
 * references left; an empty or missing id is no reference (0).
 */
#define MAIL_LUA_BLOB_UNREF                                                   \
    "local function blob_unref(id)\n"                                         \
    "  if not id or id == '' then return 0 end\n"                             \
    "  local blob = string.format('" MAIL_KEY_BLOB_FMT "', id)\n"             \
    "  local refs = string.format('" MAIL_KEY_BLOB_REFS_FMT "', id)\n"        \
    "  local left = redis.call('DECR', refs)\n"                               \
    "  if left <= 0 then redis.call('DEL', blob, refs) end\n"                 \
    "  return left\n"                                                         \
    "end\n"

/* HASH per user: mailbox name -> mailbox id */
#define MAIL_KEY_MAILBOXES_FMT      "mailboxes:{%s}"

/* ZSET per mailbox (user, id): its UIDs, score = UID */
#define MAIL_KEY_MAILBOX_UIDS_FMT   "mailbox:{%s}:%s:uids"

/* HASH per message (user, mailbox id, UID): blob, size, flags, ... */
#define MAIL_KEY_MSG_FMT            "msg:{%s}:%s:%s"
#define MAIL_FIELD_MSG_BLOB         "blob"

/*
 * Bayes counts per scope S, "global" or a user's address (the user's
 * hash tag): HASH nspam, nham; HASHes token field -> in how many learnt
 * spams (hams) it was; HASH message digest -> "spam" or "ham"; HASH
 * token field -> the day (Unix time / 86400) it was last learnt
 */
#define MAIL_KEY_BAYES_FMT          "bayes:{%s}"
#define MAIL_KEY_BAYES_SPAM_FMT     "bayes:{%s}:spam"
#define MAIL_KEY_BAYES_HAM_FMT      "bayes:{%s}:ham"
#define MAIL_KEY_BAYES_LEARNT_FMT   "bayes:{%s}:learnt"
#define MAIL_KEY_BAYES_AGE_FMT      "bayes:{%s}:age"

/* STRING: held by the worker expiring the Bayes counts this turn */
#define MAIL_KEY_BAYES_EXPIRE_LOCK  "lock:bayes-expire"

/* ZSET of every queued message id, score = creation time */
#define MAIL_KEY_QUEUE_IDS          "queue:ids"

/* HASH per queued message: the envelope, fields MAIL_FIELD_QUEUE_* */
#define MAIL_KEY_QUEUE_ENV_FMT      "queue:{%s}:env"

/* HASH per queued message: recipient -> "STATE TIME CODE STATUS MTA TEXT" */
#define MAIL_KEY_QUEUE_RCPT_FMT     "queue:{%s}:rcpt"

/* ZSET of the ids waiting for their next attempt, score = its Unix time */
#define MAIL_KEY_QUEUE_DEFERRED     "queue:deferred"

/* STREAM of entries "id ID" due for an attempt, read by MAIL_QUEUE_GROUP */
#define MAIL_KEY_QUEUE_OUTBOUND     "queue:outbound"
#define MAIL_QUEUE_GROUP            "delivery"
#define MAIL_QUEUE_ENTRY_ID         "id"

/* Pub/Sub channel: the id of every message queued, to wake the workers */
#define MAIL_CHANNEL_QUEUE_WAKEUP   "queue:wakeup"


/* user hash fields */
#define MAIL_FIELD_PASSWORD         "password"
#define MAIL_FIELD_QUOTA            "quota_bytes"
#define MAIL_FIELD_ENABLED          "enabled"
#define MAIL_FIELD_CREATED          "created"
#define MAIL_FIELD_USED             "used_bytes"
#define MAIL_FIELD_APOP_SECRET      "apop_secret"

/* queue:{ID}:env fields; "created" is MAIL_FIELD_CREATED */
#define MAIL_FIELD_QUEUE_FROM       "from"          /* empty: null sender */
#define MAIL_FIELD_QUEUE_RCPTS      "rcpts"         /* "addr PARAMS" lines */
#define MAIL_FIELD_QUEUE_PARAMS     "params"
#define MAIL_FIELD_QUEUE_BLOB       "blob"
#define MAIL_FIELD_QUEUE_SIZE       "size"
#define MAIL_FIELD_QUEUE_ATTEMPTS   "attempts"
#define MAIL_FIELD_QUEUE_NEXT       "next"
#define MAIL_FIELD_QUEUE_LAST_ERROR "last_error"
#define MAIL_FIELD_QUEUE_WARNED     "warned"

/* the STATE word of a queue:{ID}:rcpt value; no field: not tried yet */
#define MAIL_QUEUE_RCPT_SENT        "sent"
#define MAIL_QUEUE_RCPT_FAILED      "failed"
#define MAIL_QUEUE_RCPT_DEFERRED    "deferred"


/* RFC 5321 4.5.3.1: local part 64, domain 255, path 256 with brackets */
#define MAIL_ADDR_LOCAL_MAX         64
#define MAIL_ADDR_DOMAIN_MAX        253
#define MAIL_ADDR_MAX               254

/*
 * A queue id is [0-9A-Za-z]: the SMTP server makes it of hexadecimal
 * digits and letters (ngx_mail_store_spool_init()), about 30 of them.
 */
#define MAIL_QUEUE_ID_MAX           64


#endif /* _MAIL_KEYS_H_INCLUDED_ */
