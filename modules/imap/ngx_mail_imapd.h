
/*
 * imapd: nginx-mailserver's IMAP server (RFC 3501), "protocol imapd;",
 * on the mailboxes that SMTP delivers to and POP3 shares.  This first
 * part has the not-authenticated and authenticated states: logins,
 * STARTTLS, and the mailbox list (LIST, LSUB, STATUS, CREATE, DELETE,
 * RENAME, SUBSCRIBE, UNSUBSCRIBE); no mailbox can be selected yet.
 */

#ifndef _NGX_MAIL_IMAPD_H_INCLUDED_
#define _NGX_MAIL_IMAPD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_account.h"
#include "ngx_mail_imapd_parse.h"


/* the non-literal octets of a command; SASL responses are lines too */
#define NGX_MAIL_IMAPD_LINE_MAX      8192
/* the literals one command takes inline: passwords, mailbox names */
#define NGX_MAIL_IMAPD_INLINE_MAX    8192
#define NGX_MAIL_IMAPD_MAX_NODES     256
/* RFC 3501 sets no limit; clients use a few octets */
#define NGX_MAIL_IMAPD_TAG_MAX       128
#define NGX_MAIL_IMAPD_MAX_DEPTH     8

/* a mailbox name in UTF-8, as stored */
#define NGX_MAIL_IMAPD_MAILBOX_MAX   512
#define NGX_MAIL_IMAPD_MAILBOX_MAX_STR  "512"

#define NGX_MAIL_IMAPD_OUT_SIZE      32768


typedef struct {
    ngx_flag_t                  auth_plaintext;
} ngx_mail_imapd_srv_conf_t;


typedef enum {
    ngx_mail_imapd_not_authenticated = 0,
    ngx_mail_imapd_authenticated,
    ngx_mail_imapd_logout
} ngx_mail_imapd_state_e;


/* STATUS items, in the order the client asked for them */
#define NGX_MAIL_IMAPD_STATUS_MAX    8


typedef struct {
    ngx_mail_imapd_state_e      state;

    ngx_mail_imapd_parse_conf_t parse_conf;
    ngx_mail_imapd_parser_t     parser;

    /* the tag of the command under way: SASL outlives its input line */
    ngx_str_t                   tag;
    u_char                     *tag_buf;
    ngx_str_t                  *verb;        /* its name, upper case */

    ngx_mail_account_sasl_t     sasl;
    ngx_uint_t                  errors;

    /* a command's reply too long for the output buffer, streamed */
    ngx_pool_t                 *reply_pool;
    ngx_buf_t                  *reply;

    /* the command waiting for Redis */
    ngx_str_t                   pattern;     /* LIST, LSUB: canonical */
    ngx_str_t                   wire_name;   /* STATUS: as sent */
    ngx_uint_t                  status[NGX_MAIL_IMAPD_STATUS_MAX];
    ngx_uint_t                  nstatus;
    unsigned                    lsub:1;

    unsigned                    parsing:1;   /* a command is being read */
    unsigned                    skipping:1;  /* the rest of a bad one */
} ngx_mail_imapd_ctx_t;


typedef ngx_int_t (*ngx_mail_imapd_cmd_pt)(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);


void ngx_mail_imapd_init_session(ngx_mail_session_t *s, ngx_connection_t *c);
void ngx_mail_imapd_init_protocol(ngx_event_t *rev);

void ngx_mail_imapd_error(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx);
void ngx_mail_imapd_done(ngx_mail_session_t *s);
ngx_int_t ngx_mail_imapd_tagged(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, const char *text);
u_char *ngx_mail_imapd_capabilities(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, u_char *p);
ngx_mail_imapd_node_t *ngx_mail_imapd_arg(ngx_mail_imapd_ctx_t *ctx,
    ngx_uint_t n);
ngx_int_t ngx_mail_imapd_arg_string(ngx_mail_imapd_ctx_t *ctx, ngx_uint_t n,
    ngx_str_t *value);

/* not authenticated: ngx_mail_imapd_auth.c */
ngx_flag_t ngx_mail_imapd_auth_offered(ngx_mail_session_t *s);
ngx_int_t ngx_mail_imapd_cmd_login(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_authenticate(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
void ngx_mail_imapd_sasl_continue(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_str_t *line);

/* authenticated: ngx_mail_imapd_mailbox.c */
ngx_int_t ngx_mail_imapd_cmd_list(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_lsub(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_status(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_create(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_delete(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_rename(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_subscribe(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_unsubscribe(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);


extern ngx_module_t         ngx_mail_imapd_module;
extern ngx_mail_protocol_t  ngx_mail_imapd_protocol;


#endif /* _NGX_MAIL_IMAPD_H_INCLUDED_ */
