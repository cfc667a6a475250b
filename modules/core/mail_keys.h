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


/* user hash fields */
#define MAIL_FIELD_PASSWORD         "password"
#define MAIL_FIELD_QUOTA            "quota_bytes"
#define MAIL_FIELD_ENABLED          "enabled"
#define MAIL_FIELD_CREATED          "created"
#define MAIL_FIELD_USED             "used_bytes"
#define MAIL_FIELD_APOP_SECRET      "apop_secret"


/* RFC 5321 4.5.3.1: local part 64, domain 255, path 256 with brackets */
#define MAIL_ADDR_LOCAL_MAX         64
#define MAIL_ADDR_DOMAIN_MAX        253
#define MAIL_ADDR_MAX               254


#endif /* _MAIL_KEYS_H_INCLUDED_ */
