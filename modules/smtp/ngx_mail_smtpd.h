
/*
 * smtpd: nginx-mailserver's SMTP server (RFC 5321), "protocol smtpd;".
 */

#ifndef _NGX_MAIL_SMTPD_H_INCLUDED_
#define _NGX_MAIL_SMTPD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_store.h"
#include "ngx_mail_account.h"
#include "ngx_mail_smtpd_data.h"


/* RFC 5321 4.5.3.1.4: 512 octets with the CRLF */
#define NGX_MAIL_SMTPD_LINE_MAX     510
/* RFC 4954 4: an AUTH line may carry 12288 octets */
#define NGX_MAIL_SMTPD_AUTH_LINE_MAX  12288

#define NGX_MAIL_SMTPD_ROLE_MX          0
#define NGX_MAIL_SMTPD_ROLE_SUBMISSION  1


typedef struct {
    ngx_uint_t                  role;
    ngx_flag_t                  auth_plaintext;
    size_t                      max_message_size;
    ngx_uint_t                  max_recipients;
    ngx_flag_t                  sender_login_match;
    ngx_uint_t                  hard_error_limit;
} ngx_mail_smtpd_srv_conf_t;


/* one mail transaction, MAIL to the end of DATA or RSET */
typedef struct {
    ngx_pool_t                 *pool;
    ngx_str_t                   from;          /* as sent, "" for <> */
    ngx_str_t                   from_key;      /* lower case */
    ngx_str_t                   params;        /* MAIL's, for the queue */
    ngx_array_t                 local;         /* ngx_str_t mailboxes */
    ngx_array_t                 remote;        /* ngx_str_t "rcpt params" */
    ngx_uint_t                  rcpts;         /* RCPTs accepted */
    ngx_str_t                   rcpt;          /* the RCPT being looked up */
    ngx_str_t                   rcpt_params;
    ngx_str_t                   rcpt_key;      /* lower case, for lookups */
    ngx_array_t                *targets;       /* of the alias looked up */
    ngx_uint_t                  target;        /* next one to look up */
    ngx_array_t                 alias_local;   /* its targets, until all */
    ngx_array_t                 alias_remote;  /* are known */

    /* the message, once DATA or the first BDAT has come */
    ngx_buf_t                  *chunk;         /* decoded, not yet sent */
    ngx_mail_store_spool_t      spool;
    ngx_mail_smtpd_data_t       decoder;
    off_t                       bdat_size;     /* of the current chunk */
    off_t                       bdat_left;

    unsigned                    smtputf8:1;
    unsigned                    alias_full:1;  /* a target is over quota */
    unsigned                    receiving:1;   /* content is expected */
    unsigned                    bdat:1;
    unsigned                    bdat_last:1;
    unsigned                    waiting:1;     /* for APPENDs to drain */
    unsigned                    prefix_sent:1; /* trace headers spooled */
} ngx_mail_smtpd_tx_t;


typedef struct {
    ngx_mail_account_sasl_t     sasl;          /* an AUTH under way */
    ngx_str_t                   helo;
    ngx_str_t                   client_name;   /* forward-confirmed PTR */
    ngx_uint_t                  errors;
    ngx_mail_smtpd_tx_t        *tx;
    off_t                       discard;       /* of a refused BDAT */
    unsigned                    esmtp:1;
    unsigned                    authenticated:1;
} ngx_mail_smtpd_ctx_t;


typedef ngx_int_t (*ngx_mail_smtpd_cmd_pt)(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);


void ngx_mail_smtpd_init_session(ngx_mail_session_t *s, ngx_connection_t *c);
void ngx_mail_smtpd_init_protocol(ngx_event_t *rev);
void ngx_mail_smtpd_greeting(ngx_mail_session_t *s);
ngx_int_t ngx_mail_smtpd_resolve_client(ngx_mail_session_t *s);

ngx_int_t ngx_mail_smtpd_parse_command(ngx_str_t *line, ngx_str_t *verb,
    ngx_str_t *arg);

ngx_int_t ngx_mail_smtpd_cmd_auth(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);
void ngx_mail_smtpd_auth_continue(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *line);
ngx_flag_t ngx_mail_smtpd_auth_offered(ngx_mail_session_t *s);

void ngx_mail_smtpd_error(ngx_mail_session_t *s, ngx_mail_smtpd_ctx_t *ctx);

ngx_int_t ngx_mail_smtpd_cmd_mail(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);
ngx_int_t ngx_mail_smtpd_cmd_rcpt(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);
void ngx_mail_smtpd_tx_end(ngx_mail_smtpd_ctx_t *ctx);

ngx_int_t ngx_mail_smtpd_cmd_data(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);
ngx_int_t ngx_mail_smtpd_cmd_bdat(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);
void ngx_mail_smtpd_message_input(ngx_mail_session_t *s,
    ngx_mail_smtpd_ctx_t *ctx);
void ngx_mail_smtpd_bdat_refused(ngx_mail_smtpd_ctx_t *ctx, ngx_str_t *arg);


extern ngx_module_t         ngx_mail_smtpd_module;
extern ngx_mail_protocol_t  ngx_mail_smtpd_protocol;


#endif /* _NGX_MAIL_SMTPD_H_INCLUDED_ */
