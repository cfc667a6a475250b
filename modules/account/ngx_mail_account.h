
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
 * The SASL exchange of AUTH / AUTHENTICATE, shared by our protocols: the
 * PLAIN (RFC 4616) and LOGIN mechanisms, initial responses, "=" for an
 * empty one and "*" to cancel (RFC 4954 4, RFC 5034 4, RFC 3501 6.2.2).
 * The protocol writes the challenge with its own prefix ("334 ", "+ ").
 */
typedef struct {
    ngx_uint_t                  step;
    ngx_str_t                   user;        /* LOGIN's first answer */
} ngx_mail_account_sasl_t;

/*
 * Both return NGX_AGAIN (send "challenge", base64, maybe empty, and pass
 * the client's next line to sasl_step()), NGX_OK (login and password are
 * set: check them), NGX_DECLINED (unknown mechanism), NGX_ERROR (the
 * response is no base64), NGX_ABORT (the client cancelled) or NGX_DONE
 * (malformed credentials: answer as for a wrong password).
 */
ngx_int_t ngx_mail_account_sasl_start(ngx_mail_account_sasl_t *sasl,
    ngx_pool_t *pool, ngx_str_t *mechanism, ngx_str_t *initial,
    ngx_str_t *challenge, ngx_str_t *login, ngx_str_t *password);
ngx_int_t ngx_mail_account_sasl_step(ngx_mail_account_sasl_t *sasl,
    ngx_pool_t *pool, ngx_str_t *response, ngx_str_t *challenge,
    ngx_str_t *login, ngx_str_t *password);

#define ngx_mail_account_sasl_pending(sasl)  ((sasl)->step != 0)

/* lower-cases an address in place; NGX_ERROR if it is not user@domain */
ngx_int_t ngx_mail_account_normalize(ngx_str_t *addr);


extern ngx_module_t  ngx_mail_account_module;


#endif /* _NGX_MAIL_ACCOUNT_H_INCLUDED_ */
