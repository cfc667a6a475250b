
/*
 * ngx_mail_imapd_module: directives and configuration of the IMAP server.
 * The session is in ngx_mail_imapd_handler.c, logins in
 * ngx_mail_imapd_auth.c, the mailbox list in ngx_mail_imapd_mailbox.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_imapd.h"


static void *ngx_mail_imapd_create_srv_conf(ngx_conf_t *cf);
static char *ngx_mail_imapd_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);


static ngx_command_t  ngx_mail_imapd_commands[] = {

    { ngx_string("imapd_auth_plaintext"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_imapd_srv_conf_t, auth_plaintext),
      NULL },

    { ngx_string("imapd_max_message_size"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_imapd_srv_conf_t, max_message_size),
      NULL },

      ngx_null_command
};


ngx_mail_protocol_t  ngx_mail_imapd_protocol = {
    ngx_string("imapd"),
    ngx_string("\x04imap"),
    { 143, 993, 0, 0 },
    NGX_MAIL_IMAP_PROTOCOL,

    ngx_mail_imapd_init_session,
    ngx_mail_imapd_init_protocol,
    NULL,
    NULL,

    ngx_string("* BAD internal server error" CRLF),
    ngx_string("* BYE SSL certificate error" CRLF),
    ngx_string("* BYE No required SSL certificate" CRLF)
};


static ngx_mail_module_t  ngx_mail_imapd_module_ctx = {
    &ngx_mail_imapd_protocol,              /* protocol */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_mail_imapd_create_srv_conf,        /* create server configuration */
    ngx_mail_imapd_merge_srv_conf          /* merge server configuration */
};


ngx_module_t  ngx_mail_imapd_module = {
    NGX_MODULE_V1,
    &ngx_mail_imapd_module_ctx,            /* module context */
    ngx_mail_imapd_commands,               /* module directives */
    NGX_MAIL_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_mail_imapd_create_srv_conf(ngx_conf_t *cf)
{
    ngx_mail_imapd_srv_conf_t  *iscf;

    iscf = ngx_pcalloc(cf->pool, sizeof(ngx_mail_imapd_srv_conf_t));
    if (iscf == NULL) {
        return NULL;
    }

    iscf->auth_plaintext = NGX_CONF_UNSET;
    iscf->max_message_size = NGX_CONF_UNSET_SIZE;

    return iscf;
}


static char *
ngx_mail_imapd_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_mail_imapd_srv_conf_t *prev = parent;
    ngx_mail_imapd_srv_conf_t *conf = child;

    ngx_mail_core_srv_conf_t  *cscf;

    ngx_conf_merge_value(conf->auth_plaintext, prev->auth_plaintext, 0);
    /* as smtpd's default: what SMTP accepts, a client may store */
    ngx_conf_merge_size_value(conf->max_message_size,
                              prev->max_message_size, 50 * 1024 * 1024);

    cscf = ngx_mail_conf_get_module_srv_conf(cf, ngx_mail_core_module);

    if (cscf->protocol == &ngx_mail_imapd_protocol) {
        ngx_mail_server_no_auth_http_needed(cf);
    }

    return NGX_CONF_OK;
}
