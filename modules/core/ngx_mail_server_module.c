
/*
 * ngx_mail_server_module: what all protocol servers of nginx-mailserver
 * share in the configuration.
 *
 * nginx's mail core refuses a server{} without "auth_http", because its own
 * protocols hand every login to that HTTP service.  Ours authenticate
 * against Redis, so for servers of our protocols this module fills in the
 * auth_http module's server configuration before that module checks it
 * (ngx_mail_server_no_auth_http_needed()).  Servers
 * of nginx's own proxy protocols still need their "auth_http".
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_mail.h>

#include "ngx_mail_server.h"


static ngx_mail_module_t  ngx_mail_server_module_ctx = {
    NULL,                                  /* protocol */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL                                   /* merge server configuration */
};


/*
 * The module owns no directives: it exists for its slot in every session's
 * s->ctx, which holds the session's ngx_mail_server_io_t.
 */

ngx_module_t  ngx_mail_server_module = {
    NGX_MODULE_V1,
    &ngx_mail_server_module_ctx,           /* module context */
    NULL,                                  /* module directives */
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


/* never contacted: our protocols do not call the auth_http module */
static ngx_addr_t  ngx_mail_server_no_auth_http = {
    NULL, 0, ngx_string("none (nginx-mailserver authenticates in Redis)")
};


/*
 * Called from each protocol module's merge_srv_conf for its own servers;
 * "config" orders our modules before ngx_mail_auth_http_module, so this
 * runs before that module's check.
 */

void
ngx_mail_server_no_auth_http_needed(ngx_conf_t *cf)
{
    ngx_uint_t            m;
    ngx_addr_t          **peer;
    ngx_module_t         *module;
    ngx_mail_conf_ctx_t  *ctx;

    ctx = cf->ctx;

    for (m = 0; cf->cycle->modules[m]; m++) {
        module = cf->cycle->modules[m];

        if (module->type != NGX_MAIL_MODULE
            || ngx_strcmp(module->name, "ngx_mail_auth_http_module") != 0)
        {
            continue;
        }

        /*
         * the peer address is the first member of that module's server
         * configuration, ngx_mail_auth_http_conf_t, in every nginx release
         */
        peer = ctx->srv_conf[module->ctx_index];

        if (peer != NULL && *peer == NULL) {
            *peer = &ngx_mail_server_no_auth_http;
        }
    }
}


/* nginx's mail module, which holds the mail{} block's configuration */
extern ngx_module_t  ngx_mail_module;


void *
ngx_mail_server_main_conf(ngx_cycle_t *cycle, ngx_module_t *module)
{
    ngx_mail_conf_ctx_t  *ctx;

    ctx = (ngx_mail_conf_ctx_t *) ngx_get_conf(cycle->conf_ctx,
                                               ngx_mail_module);
    if (ctx == NULL) {
        return NULL;
    }

    return ctx->main_conf[module->ctx_index];
}
