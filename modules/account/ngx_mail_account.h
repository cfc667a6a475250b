
/*
 * Accounts of nginx-mailserver: login checks against the user records in
 * Redis, with password hashing in a thread pool and failed-login throttling.
 */

#ifndef _NGX_MAIL_ACCOUNT_H_INCLUDED_
#define _NGX_MAIL_ACCOUNT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_mail.h>


/*
 * rc is NGX_OK (logged in: s->login holds the normalised address),
 * NGX_DECLINED (wrong login or password, or a disabled account),
 * NGX_BUSY (too many failed logins: refused without checking) or
 * NGX_ERROR (Redis unavailable: a temporary failure).
 */
typedef void (*ngx_mail_account_auth_pt)(ngx_mail_session_t *s,
    ngx_int_t rc);


/*
 * Checks login and password; calls handler later, exactly once, unless it
 * returns NGX_ERROR (nothing could be started: a temporary failure).  The
 * session must stay open until the handler has run.
 */
ngx_int_t ngx_mail_account_auth(ngx_mail_session_t *s, ngx_str_t *login,
    ngx_str_t *password, ngx_mail_account_auth_pt handler);

/*
 * APOP (RFC 1939 7): the digest is MD5(stamp, secret) in hex, the secret
 * being the user's "apop_secret" (set with mailctl); same handler codes.
 */
ngx_int_t ngx_mail_account_apop(ngx_mail_session_t *s, ngx_str_t *login,
    ngx_str_t *stamp, ngx_str_t *digest, ngx_mail_account_auth_pt handler);

/* where mail for an address goes (RFC 5321 RCPT) */
typedef enum {
    NGX_MAIL_ACCOUNT_NOT_LOCAL = 0,     /* not one of our domains */
    NGX_MAIL_ACCOUNT_UNKNOWN,           /* our domain, no such user/alias */
    NGX_MAIL_ACCOUNT_USER,              /* a mailbox of ours */
    NGX_MAIL_ACCOUNT_DISABLED,          /* a mailbox that takes no mail */
    NGX_MAIL_ACCOUNT_OVER_QUOTA,        /* a mailbox that is full */
    NGX_MAIL_ACCOUNT_ALIAS              /* targets, maybe a catch-all's */
} ngx_mail_account_rcpt_e;


typedef struct {
    ngx_mail_account_rcpt_e     kind;
    ngx_str_t                   address;     /* normalised */
    ngx_array_t                *targets;     /* ngx_str_t, for ALIAS */
} ngx_mail_account_rcpt_t;


/* rc is NGX_OK (rcpt filled in) or NGX_ERROR (Redis unavailable) */
typedef void (*ngx_mail_account_resolve_pt)(ngx_mail_session_t *s,
    ngx_int_t rc, ngx_mail_account_rcpt_t *rcpt);


/*
 * Looks up where mail for a normalised address goes, in one Redis round
 * trip, with memory from "pool" (the transaction's: a long session does
 * not grow); NGX_ERROR if nothing could be started.
 */
ngx_int_t ngx_mail_account_resolve(ngx_mail_session_t *s, ngx_pool_t *pool,
    ngx_str_t *addr, ngx_mail_account_resolve_pt handler);

/*
 * SASL shared by our protocols.  decode: base64 of a client response into
 * pool memory, "=" being the empty response (RFC 4954 4, RFC 5034 4);
 * plain: RFC 4616 "[authzid] NUL authcid NUL passwd", refusing an authzid
 * other than the login (we let nobody act for somebody else).  Both return
 * NGX_OK or NGX_DECLINED.
 */
ngx_int_t ngx_mail_account_sasl_decode(ngx_pool_t *pool, ngx_str_t *in,
    ngx_str_t *out);
ngx_int_t ngx_mail_account_sasl_plain(ngx_str_t *decoded, ngx_str_t *login,
    ngx_str_t *password);

/* lower-cases an address in place; NGX_ERROR if it is not user@domain */
ngx_int_t ngx_mail_account_normalize(ngx_str_t *addr);


extern ngx_module_t  ngx_mail_account_module;


#endif /* _NGX_MAIL_ACCOUNT_H_INCLUDED_ */
