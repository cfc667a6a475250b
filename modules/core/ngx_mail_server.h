
/*
 * Shared core of nginx-mailserver's protocol servers (smtpd, pop3d, imapd):
 * configuration glue and the session's line-oriented input and buffered
 * output.
 */

#ifndef _NGX_MAIL_SERVER_H_INCLUDED_
#define _NGX_MAIL_SERVER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>


typedef struct ngx_mail_server_io_s  ngx_mail_server_io_t;

/* runs the protocol's commands from the input buffer; see io_resume() */
typedef void (*ngx_mail_server_process_pt)(ngx_mail_session_t *s);


struct ngx_mail_server_io_s {
    ngx_buf_t                  *out;
    size_t                      line_max;
    ngx_msec_t                  timeout;
    ngx_mail_server_process_pt  process;
    /* sent before closing an idle session, e.g. SMTP's 421 */
    ngx_str_t                   timeout_reply;
    ngx_str_t                   shutdown_reply;

    /* a command waits for Redis or a thread: input stays unread */
    unsigned                    busy:1;
    /* discarding the rest of an over-long line */
    unsigned                    skipping:1;
    /* close once the output is sent */
    unsigned                    quit:1;
    /* start TLS once the output is sent (STARTTLS/STLS) */
    unsigned                    starttls:1;
    /* the connection is gone, but a command still waits: see close() */
    unsigned                    closing:1;
    /* in the middle of a command (message content): not idle */
    unsigned                    in_command:1;
    /* the last send did not complete */
    unsigned                    sending:1;
};


void ngx_mail_server_no_auth_http_needed(ngx_conf_t *cf);

/*
 * A module's main configuration in a worker's init_process, where nginx's
 * mail module keeps it; NULL when the configuration has no mail{} block
 */
void *ngx_mail_server_main_conf(ngx_cycle_t *cycle, ngx_module_t *module);

ngx_mail_server_io_t *ngx_mail_server_io_create(ngx_mail_session_t *s,
    size_t in_size, size_t out_size, size_t line_max,
    ngx_mail_server_process_pt process);
ngx_mail_server_io_t *ngx_mail_server_io(ngx_mail_session_t *s);

void ngx_mail_server_close(ngx_mail_session_t *s);
void ngx_mail_server_read_handler(ngx_event_t *rev);
void ngx_mail_server_write_handler(ngx_event_t *wev);
void ngx_mail_server_resume(ngx_mail_session_t *s);
ngx_int_t ngx_mail_server_next_line(ngx_mail_session_t *s, ngx_str_t *line);
ngx_int_t ngx_mail_server_reply(ngx_mail_session_t *s, u_char *data,
    size_t len);
ngx_int_t ngx_mail_server_printf(ngx_mail_session_t *s, const char *fmt,
    ...);
void ngx_mail_server_discard_input(ngx_mail_session_t *s);
ngx_flag_t ngx_mail_server_starttls_offered(ngx_mail_session_t *s);
ngx_flag_t ngx_mail_server_tls_required(ngx_mail_session_t *s);
void ngx_mail_server_flush(ngx_mail_session_t *s);
ngx_int_t ngx_mail_server_io_resize(ngx_mail_session_t *s, size_t in_size,
    size_t out_size);

#define ngx_mail_server_reply_str(s, text)                                    \
    ngx_mail_server_reply(s, (u_char *) text, sizeof(text) - 1)


extern ngx_module_t  ngx_mail_server_module;


#endif /* _NGX_MAIL_SERVER_H_INCLUDED_ */
