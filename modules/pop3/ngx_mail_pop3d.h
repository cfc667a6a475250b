
/*
 * pop3d: nginx-mailserver's POP3 server (RFC 1939, RFC 2449 CAPA, RFC 2595
 * STLS, RFC 5034 SASL), "protocol pop3d;", on the INBOX that SMTP
 * delivers to and IMAP shares.
 */

#ifndef _NGX_MAIL_POP3D_H_INCLUDED_
#define _NGX_MAIL_POP3D_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_account.h"
#include "ngx_mail_smtpd_data.h"


/* RFC 2449 4: 255 octets for a command line; SASL responses are longer */
#define NGX_MAIL_POP3D_LINE_MAX      255
#define NGX_MAIL_POP3D_AUTH_LINE_MAX 8192

/* blob ids are queue ids, far shorter than this */
#define NGX_MAIL_POP3D_BLOB_MAX      128

/* a message is read from Redis and sent in pieces of this size */
#define NGX_MAIL_POP3D_CHUNK         32768


typedef struct {
    ngx_flag_t                  auth_plaintext;
    ngx_flag_t                  retr_seen;
    ngx_flag_t                  apop;
} ngx_mail_pop3d_srv_conf_t;


typedef enum {
    ngx_mail_pop3d_authorization = 0,
    ngx_mail_pop3d_transaction
} ngx_mail_pop3d_state_e;


typedef struct {
    uint32_t                    uid;
    off_t                       size;
    ngx_str_t                   blob;
    unsigned                    deleted:1;
    unsigned                    seen:1;
} ngx_mail_pop3d_msg_t;


/* RETR or TOP on its way to the client */
typedef struct {
    ngx_mail_pop3d_msg_t       *msg;
    ngx_str_t                   key;         /* blob:{id} */
    off_t                       offset;      /* next octet to fetch */
    ngx_buf_t                  *chunk;       /* fetched, not yet sent */
    ngx_mail_smtpd_dotstuff_t   dotstuff;
    ngx_int_t                   body_lines;  /* TOP; -1 for RETR */
    ngx_uint_t                  header_state;
    ngx_uint_t                  next;        /* LIST/UIDL: next message */
    unsigned                    listing:2;   /* 1: LIST, 2: UIDL */
    unsigned                    active:1;
    unsigned                    in_body:1;
    unsigned                    done:1;      /* nothing more to fetch */
} ngx_mail_pop3d_stream_t;


typedef struct {
    ngx_mail_pop3d_state_e      state;
    ngx_mail_account_sasl_t     sasl;        /* an AUTH under way */
    ngx_str_t                   user;        /* USER's name */
    ngx_str_t                   owner;       /* the logged-in user */
    ngx_str_t                   lock_token;
    ngx_msec_t                  lock_ttl;
    ngx_msec_t                  lock_renewed;
    ngx_str_t                   apop_stamp;  /* RFC 1939 7 greeting */
    ngx_uint_t                  errors;

    /* the maildrop, from the moment of login */
    ngx_str_t                   mailbox;     /* INBOX id */
    ngx_str_t                   uidvalidity;
    ngx_mail_pop3d_msg_t       *msgs;
    ngx_uint_t                  nmsgs;

    ngx_mail_pop3d_stream_t     stream;
    unsigned                    locked:1;
} ngx_mail_pop3d_ctx_t;


typedef ngx_int_t (*ngx_mail_pop3d_cmd_pt)(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);


void ngx_mail_pop3d_init_session(ngx_mail_session_t *s, ngx_connection_t *c);
void ngx_mail_pop3d_init_protocol(ngx_event_t *rev);

void ngx_mail_pop3d_error(ngx_mail_session_t *s, ngx_mail_pop3d_ctx_t *ctx);
void ngx_mail_pop3d_done(ngx_mail_session_t *s);

/* AUTHORIZATION state: ngx_mail_pop3d_auth.c */
ngx_int_t ngx_mail_pop3d_cmd_user(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);
ngx_int_t ngx_mail_pop3d_cmd_pass(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);
ngx_int_t ngx_mail_pop3d_cmd_auth(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);
ngx_int_t ngx_mail_pop3d_cmd_apop(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);
void ngx_mail_pop3d_sasl_continue(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *line);
ngx_flag_t ngx_mail_pop3d_auth_offered(ngx_mail_session_t *s);

/* TRANSACTION state: ngx_mail_pop3d_maildrop.c */
void ngx_mail_pop3d_open_maildrop(ngx_mail_session_t *s);
void ngx_mail_pop3d_release(ngx_mail_pop3d_ctx_t *ctx, ngx_log_t *log);
void ngx_mail_pop3d_renew(ngx_mail_pop3d_ctx_t *ctx, ngx_log_t *log);
ngx_int_t ngx_mail_pop3d_stream(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx);
ngx_int_t ngx_mail_pop3d_cmd_stat(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);
ngx_int_t ngx_mail_pop3d_cmd_list(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);
ngx_int_t ngx_mail_pop3d_cmd_uidl(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);
ngx_int_t ngx_mail_pop3d_cmd_retr(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);
ngx_int_t ngx_mail_pop3d_cmd_top(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);
ngx_int_t ngx_mail_pop3d_cmd_dele(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);
ngx_int_t ngx_mail_pop3d_cmd_rset(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx, ngx_str_t *arg);
ngx_int_t ngx_mail_pop3d_cmd_update(ngx_mail_session_t *s,
    ngx_mail_pop3d_ctx_t *ctx);


extern ngx_module_t         ngx_mail_pop3d_module;
extern ngx_mail_protocol_t  ngx_mail_pop3d_protocol;


#endif /* _NGX_MAIL_POP3D_H_INCLUDED_ */
