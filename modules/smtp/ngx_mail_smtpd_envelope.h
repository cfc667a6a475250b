
/*
 * The arguments of MAIL and RCPT: RFC 5321 4.1.2 paths and the ESMTP
 * parameters of SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), DSN
 * (RFC 3461), SMTPUTF8 (RFC 6531) and AUTH= (RFC 4954 5).
 *
 * Plain C99 without nginx headers, so that the unit tests and the
 * fuzzers build it alone: no allocation, no global state.  The caller
 * passes the line's argument (the text after the verb, surrounding
 * spaces removed, no CRLF) and a result structure; strings in the
 * result point into the argument or into the result's own buffer.
 */

#ifndef _NGX_MAIL_SMTPD_ENVELOPE_H_INCLUDED_
#define _NGX_MAIL_SMTPD_ENVELOPE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#ifndef _NGX_MAIL_SMTPD_PARSE_CODES_
#define _NGX_MAIL_SMTPD_PARSE_CODES_

/* the values of NGX_OK, NGX_ERROR, NGX_AGAIN, NGX_DONE, NGX_DECLINED */
#define NGX_MAIL_SMTPD_PARSE_OK         0
#define NGX_MAIL_SMTPD_PARSE_ERROR     -1
#define NGX_MAIL_SMTPD_PARSE_AGAIN     -2
#define NGX_MAIL_SMTPD_PARSE_DONE      -4
#define NGX_MAIL_SMTPD_PARSE_DECLINED  -5

/* the layout of ngx_str_t, so that the caller may cast */
typedef struct {
    size_t                      len;
    const unsigned char        *data;
} ngx_mail_smtpd_str_t;

#endif


/* RFC 5321 4.5.3.1: local-part, domain and path (with "<" and ">") */
#define NGX_MAIL_SMTPD_LOCAL_PART_MAX  64
#define NGX_MAIL_SMTPD_DOMAIN_MAX      255
#define NGX_MAIL_SMTPD_PATH_MAX        256

/* RFC 3461 4.4 and 4.2 */
#define NGX_MAIL_SMTPD_ENVID_MAX       100
#define NGX_MAIL_SMTPD_ORCPT_MAX       500

#define NGX_MAIL_SMTPD_REPLY_MAX       128

#define NGX_MAIL_SMTPD_BODY_NONE       0
#define NGX_MAIL_SMTPD_BODY_7BIT       1
#define NGX_MAIL_SMTPD_BODY_8BITMIME   2
#define NGX_MAIL_SMTPD_BODY_BINARYMIME 3

#define NGX_MAIL_SMTPD_RET_NONE        0
#define NGX_MAIL_SMTPD_RET_FULL        1
#define NGX_MAIL_SMTPD_RET_HDRS        2

/* RFC 3461 4.1: bits of "notify"; 0 means no NOTIFY parameter */
#define NGX_MAIL_SMTPD_NOTIFY_NEVER    0x01
#define NGX_MAIL_SMTPD_NOTIFY_SUCCESS  0x02
#define NGX_MAIL_SMTPD_NOTIFY_FAILURE  0x04
#define NGX_MAIL_SMTPD_NOTIFY_DELAY    0x08


/* why the argument was refused; "reply" holds the text to send */
typedef enum {
    NGX_MAIL_SMTPD_ENV_OK = 0,
    NGX_MAIL_SMTPD_ENV_ERR_SYNTAX,         /* no "FROM:" / "TO:" */
    NGX_MAIL_SMTPD_ENV_ERR_ADDRESS,        /* bad path syntax */
    NGX_MAIL_SMTPD_ENV_ERR_LOCAL_TOO_LONG,
    NGX_MAIL_SMTPD_ENV_ERR_DOMAIN_TOO_LONG,
    NGX_MAIL_SMTPD_ENV_ERR_PATH_TOO_LONG,
    NGX_MAIL_SMTPD_ENV_ERR_UTF8,           /* non-ASCII without SMTPUTF8 */
    NGX_MAIL_SMTPD_ENV_ERR_UNSUPPORTED,    /* unknown or misplaced param */
    NGX_MAIL_SMTPD_ENV_ERR_DUPLICATE,
    NGX_MAIL_SMTPD_ENV_ERR_SIZE,
    NGX_MAIL_SMTPD_ENV_ERR_SIZE_OVERFLOW,
    NGX_MAIL_SMTPD_ENV_ERR_RET,
    NGX_MAIL_SMTPD_ENV_ERR_ENVID,
    NGX_MAIL_SMTPD_ENV_ERR_AUTH,
    NGX_MAIL_SMTPD_ENV_ERR_AUTH_DUPLICATE,
    NGX_MAIL_SMTPD_ENV_ERR_NOTIFY,
    NGX_MAIL_SMTPD_ENV_ERR_ORCPT
} ngx_mail_smtpd_envelope_error_e;


typedef struct {
    /* the mailbox as sent, without "<", ">" and source route */
    ngx_mail_smtpd_str_t        raw;
    /*
     * The mailbox normalised in "buf": quotes only where the local part
     * needs them, ASCII letters of a domain name lower-cased, address
     * literals verbatim.  "local_part" and "domain" point into it; the
     * domain is empty for <> and <postmaster>.
     */
    ngx_mail_smtpd_str_t        address;
    ngx_mail_smtpd_str_t        local_part;
    ngx_mail_smtpd_str_t        domain;

    /* MAIL; raw xtext pointing into the argument, see xtext_decode() */
    uint64_t                    size;
    ngx_mail_smtpd_str_t        envid;
    ngx_mail_smtpd_str_t        auth;
    unsigned                    body;
    unsigned                    ret;

    /* RCPT */
    unsigned                    notify;
    ngx_mail_smtpd_str_t        orcpt_type;
    ngx_mail_smtpd_str_t        orcpt;

    unsigned                    null_path:1;
    unsigned                    postmaster:1;  /* RCPT TO:<postmaster> */
    unsigned                    quoted:1;      /* local part was quoted */
    unsigned                    literal:1;     /* domain is [literal] */
    unsigned                    utf8:1;        /* address not ASCII */
    unsigned                    smtputf8:1;    /* in effect */
    unsigned                    has_size:1;
    unsigned                    has_envid:1;
    unsigned                    has_auth:1;
    unsigned                    auth_null:1;   /* AUTH=<> */
    unsigned                    has_orcpt:1;

    ngx_mail_smtpd_envelope_error_e  error;
    ngx_mail_smtpd_str_t        reply;         /* no CRLF, into reply_buf */

    unsigned char               buf[NGX_MAIL_SMTPD_PATH_MAX];
    unsigned char               reply_buf[NGX_MAIL_SMTPD_REPLY_MAX];
} ngx_mail_smtpd_envelope_t;


/*
 * PARSE_OK, or PARSE_ERROR with env->error and env->reply set.
 * "smtputf8" for RCPT tells whether the transaction's MAIL carried the
 * SMTPUTF8 parameter (RFC 6531 3.4).
 */
int ngx_mail_smtpd_parse_mail(const unsigned char *arg, size_t len,
    ngx_mail_smtpd_envelope_t *env);
int ngx_mail_smtpd_parse_rcpt(const unsigned char *arg, size_t len,
    unsigned smtputf8, ngx_mail_smtpd_envelope_t *env);

/*
 * RFC 3461 4: decodes xtext into dst; PARSE_ERROR on bad syntax ("+"
 * not followed by two upper-case hex digits, a byte outside "!".."~"
 * or "=") or when dst is too small.
 */
int ngx_mail_smtpd_xtext_decode(const unsigned char *src, size_t len,
    unsigned char *dst, size_t size, size_t *decoded);


#endif /* _NGX_MAIL_SMTPD_ENVELOPE_H_INCLUDED_ */
