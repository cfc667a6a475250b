
/*
 * DNS for the other modules: any question (MX, TXT, A, AAAA, PTR) asked
 * through c-ares on the worker's event loop.  nginx's own resolver only
 * knows A, AAAA, SRV and PTR; the queue needs MX, the spam checks TXT.
 *
 * The handler gets c-ares's status and the raw answer (parsed by the
 * caller: ngx_mail_queue_mx.c, ngx_mail_spam_dns.c), always after
 * ngx_mail_dns_query() has returned, so that callers need no guard
 * against re-entry.  A caller going away cancels its query first.
 */

#ifndef _NGX_MAIL_DNS_H_INCLUDED_
#define _NGX_MAIL_DNS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef struct ngx_mail_dns_query_s  ngx_mail_dns_query_t;

typedef void (*ngx_mail_dns_answer_pt)(int status, u_char *abuf,
    size_t alen, void *data);


/* NULL: no DNS in this process (no mail block, not a worker), or no memory */
ngx_mail_dns_query_t *ngx_mail_dns_query(const char *name, int type,
    ngx_mail_dns_answer_pt handler, void *data);

/* the handler will not be called; the query's memory goes with the answer */
void ngx_mail_dns_cancel(ngx_mail_dns_query_t *q);


extern ngx_module_t  ngx_mail_dns_module;


#endif /* _NGX_MAIL_DNS_H_INCLUDED_ */
