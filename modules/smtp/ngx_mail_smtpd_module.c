
/*
 * ngx_mail_smtpd_module: directives and configuration of the SMTP server.
 * The session lives in ngx_mail_smtpd_handler.c, AUTH in
 * ngx_mail_smtpd_auth.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"
#include "ngx_mail_smtpd.h"


static void *ngx_mail_smtpd_create_srv_conf(ngx_conf_t *cf);
static char *ngx_mail_smtpd_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);


static ngx_conf_enum_t  ngx_mail_smtpd_roles[] = {
    { ngx_string("mx"), NGX_MAIL_SMTPD_ROLE_MX },
    { ngx_string("submission"), NGX_MAIL_SMTPD_ROLE_SUBMISSION },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_mail_smtpd_commands[] = {

    { ngx_string("smtpd_role"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_smtpd_srv_conf_t, role),
      &ngx_mail_smtpd_roles },

    { ngx_string("smtpd_auth_plaintext"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_smtpd_srv_conf_t, auth_plaintext),
      NULL },

    { ngx_string("smtpd_max_message_size"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_smtpd_srv_conf_t, max_message_size),
      NULL },

    { ngx_string("smtpd_max_recipients"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_smtpd_srv_conf_t, max_recipients),
      NULL },

    { ngx_string("smtpd_sender_login_match"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_smtpd_srv_conf_t, sender_login_match),
      NULL },

    { ngx_string("smtpd_hard_error_limit"),
      NGX_MAIL_MAIN_CONF|NGX_MAIL_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_MAIL_SRV_CONF_OFFSET,
      offsetof(ngx_mail_smtpd_srv_conf_t, hard_error_limit),
      NULL },

      ngx_null_command
};


ngx_mail_protocol_t  ngx_mail_smtpd_protocol = {
    ngx_string("smtpd"),
    ngx_null_string,
    { 25, 465, 587, 0 },
    NGX_MAIL_SMTP_PROTOCOL,

    ngx_mail_smtpd_init_session,
    ngx_mail_smtpd_init_protocol,
    NULL,
    NULL,

    ngx_string("451 4.3.0 Internal server error" CRLF),
    ngx_string("421 4.7.1 SSL certificate error" CRLF),
    ngx_string("421 4.7.1 No required SSL certificate" CRLF)
};


static ngx_mail_module_t  ngx_mail_smtpd_module_ctx = {
    &ngx_mail_smtpd_protocol,              /* protocol */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_mail_smtpd_create_srv_conf,        /* create server configuration */
    ngx_mail_smtpd_merge_srv_conf          /* merge server configuration */
};


ngx_module_t  ngx_mail_smtpd_module = {
    NGX_MODULE_V1,
    &ngx_mail_smtpd_module_ctx,            /* module context */
    ngx_mail_smtpd_commands,               /* module directives */
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
ngx_mail_smtpd_create_srv_conf(ngx_conf_t *cf)
{
    ngx_mail_smtpd_srv_conf_t  *sscf;

    sscf = ngx_pcalloc(cf->pool, sizeof(ngx_mail_smtpd_srv_conf_t));
    if (sscf == NULL) {
        return NULL;
    }

    sscf->role = NGX_CONF_UNSET_UINT;
    sscf->auth_plaintext = NGX_CONF_UNSET;
    sscf->max_message_size = NGX_CONF_UNSET_SIZE;
    sscf->max_recipients = NGX_CONF_UNSET_UINT;
    sscf->sender_login_match = NGX_CONF_UNSET;
    sscf->hard_error_limit = NGX_CONF_UNSET_UINT;

    return sscf;
}


static char *
ngx_mail_smtpd_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_mail_smtpd_srv_conf_t *prev = parent;
    ngx_mail_smtpd_srv_conf_t *conf = child;

    ngx_mail_core_srv_conf_t  *cscf;

    ngx_conf_merge_uint_value(conf->role, prev->role,
                              NGX_MAIL_SMTPD_ROLE_MX);
    ngx_conf_merge_value(conf->auth_plaintext, prev->auth_plaintext, 0);
    ngx_conf_merge_size_value(conf->max_message_size,
                              prev->max_message_size, 25 * 1024 * 1024);
    ngx_conf_merge_uint_value(conf->max_recipients, prev->max_recipients,
                              1000);
    ngx_conf_merge_value(conf->sender_login_match, prev->sender_login_match,
                         1);
    ngx_conf_merge_uint_value(conf->hard_error_limit, prev->hard_error_limit,
                              20);

    cscf = ngx_mail_conf_get_module_srv_conf(cf, ngx_mail_core_module);

    if (cscf->protocol == &ngx_mail_smtpd_protocol) {
        ngx_mail_server_no_auth_http_needed(cf);
    }

    return NGX_CONF_OK;
}
