
/*
 * Where to deliver mail for a domain: the DNS answers of RFC 5321 5.1
 * turned into an ordered list of hosts and their addresses.
 *
 * Plain C99 without nginx headers: the DNS traffic is the caller's
 * (c-ares on nginx's event loop); this file only judges the answers,
 * through c-ares's own parsers, so that the unit tests and the fuzzers
 * drive it with raw DNS messages.  No allocation of its own (c-ares's
 * parsers allocate and are freed before returning), every list bounded.
 *
 *     ngx_mail_queue_mx_init(mx, domain, len);
 *     query MX for mx->domain, then
 *     rc = ngx_mail_queue_mx_parse_mx(mx, status, abuf, alen, random, data);
 *
 *   PARSE_OK     mx->hosts[0 .. nhosts - 1] in the order to try: by
 *                preference, equal preferences shuffled with "random".
 *                With no MX record (RFC 5321 5.1 implicit MX) the one
 *                host is the domain itself, mx->implicit set.  Then look
 *                up A and AAAA of the hosts (all, or one after another
 *                as the delivery attempts need them) and give each
 *                answer to ngx_mail_queue_mx_parse_addr().
 *   PARSE_ERROR  no delivery now: mx->result is TEMPORARY (retry later)
 *                or PERMANENT (bounce), mx->error says why for the log
 *                and mx->status is the RFC 3464 Status for the DSN.
 *
 * "status" is what c-ares's ares_query() callback gives (ARES_SUCCESS,
 * ARES_ENODATA for NOERROR without answers, ARES_ENOTFOUND for
 * NXDOMAIN, ...); a caller that sends queries with ares_send(), which
 * does not look at the header, or that has only the raw answer, gets
 * the same status from ngx_mail_queue_mx_answer_status().
 */

#ifndef _NGX_MAIL_QUEUE_MX_H_INCLUDED_
#define _NGX_MAIL_QUEUE_MX_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#ifndef _NGX_MAIL_QUEUE_PARSE_CODES_
#define _NGX_MAIL_QUEUE_PARSE_CODES_

/* the values of NGX_OK, NGX_ERROR, NGX_AGAIN, NGX_DONE, NGX_DECLINED */
#define NGX_MAIL_QUEUE_PARSE_OK         0
#define NGX_MAIL_QUEUE_PARSE_ERROR     -1
#define NGX_MAIL_QUEUE_PARSE_AGAIN     -2
#define NGX_MAIL_QUEUE_PARSE_DONE      -4
#define NGX_MAIL_QUEUE_PARSE_DECLINED  -5

/* the layout of ngx_str_t, so that the caller may cast */
typedef struct {
    size_t                      len;
    const unsigned char        *data;
} ngx_mail_queue_str_t;

#endif


/*
 * The most MX hosts kept, the best by preference (Postfix tries at most
 * 5, most domains have 1 to 3), and the most addresses per host.
 */
#define NGX_MAIL_QUEUE_MX_MAX        32
#define NGX_MAIL_QUEUE_MX_ADDRS_MAX  16

/* RFC 1035 2.3.4: 255 octets on the wire, 253 as text without the root */
#define NGX_MAIL_QUEUE_MX_NAME_MAX   253
#define NGX_MAIL_QUEUE_MX_LABEL_MAX  63

#define NGX_MAIL_QUEUE_MX_STATUS_LEN 12

/* the address families of ngx_mail_queue_mx_parse_addr() */
#define NGX_MAIL_QUEUE_MX_A          4
#define NGX_MAIL_QUEUE_MX_AAAA       6


typedef enum {
    NGX_MAIL_QUEUE_MX_OK = 0,
    NGX_MAIL_QUEUE_MX_TEMPORARY,
    NGX_MAIL_QUEUE_MX_PERMANENT
} ngx_mail_queue_mx_result_e;


typedef struct {
    unsigned                    family;     /* MX_A or MX_AAAA */
    unsigned char               addr[16];   /* network order, 4 or 16 */
} ngx_mail_queue_mx_addr_t;


typedef struct {
    char                        name[NGX_MAIL_QUEUE_MX_NAME_MAX + 1];
    size_t                      name_len;   /* lower case, no final dot */
    unsigned                    preference;
    unsigned                    naddrs;
    ngx_mail_queue_mx_addr_t    addrs[NGX_MAIL_QUEUE_MX_ADDRS_MAX];

    unsigned                    a_done:1;   /* an A answer was given */
    unsigned                    aaaa_done:1;
    unsigned                    temporary:1;  /* a lookup failed for now */
} ngx_mail_queue_mx_host_t;


/* any 32 random bits; the tests pass a predictable sequence */
typedef uint32_t (*ngx_mail_queue_mx_random_pt)(void *data);


typedef struct {
    char                        domain[NGX_MAIL_QUEUE_MX_NAME_MAX + 1];
    size_t                      domain_len;

    ngx_mail_queue_mx_host_t    hosts[NGX_MAIL_QUEUE_MX_MAX];
    unsigned                    nhosts;

    /* MX records not used: bad names, duplicates, beyond MX_MAX */
    unsigned                    skipped;

    ngx_mail_queue_mx_result_e  result;
    const char                 *error;      /* static text, or NULL */
    char                        status[NGX_MAIL_QUEUE_MX_STATUS_LEN];

    unsigned                    implicit:1;
    unsigned                    null_mx:1;
} ngx_mail_queue_mx_t;


/*
 * The recipient domain, as RFC 5321 4.1.2 "Domain" (an address literal
 * is not looked up in DNS and is the caller's); lower-cased, a final
 * dot dropped.  PARSE_ERROR, PERMANENT, for a name DNS cannot hold.
 */
int ngx_mail_queue_mx_init(ngx_mail_queue_mx_t *mx,
    const unsigned char *domain, size_t len);

/* the ares_query() status of a raw DNS answer, from its header */
int ngx_mail_queue_mx_answer_status(const unsigned char *abuf,
    size_t alen);

/* the answer to the MX query, see above */
int ngx_mail_queue_mx_parse_mx(ngx_mail_queue_mx_t *mx, int status,
    const unsigned char *abuf, size_t alen,
    ngx_mail_queue_mx_random_pt random, void *data);

/*
 * The raw answer to the MX query alone, its status from its header:
 * the fuzzer's way in, and a caller's that uses ares_send().
 */
int ngx_mail_queue_mx_parse_mx_answer(ngx_mail_queue_mx_t *mx,
    const unsigned char *abuf, size_t alen,
    ngx_mail_queue_mx_random_pt random, void *data);

/*
 * The answer to the A (family MX_A) or AAAA (MX_AAAA) query of
 * hosts[host].  The addresses are added to the host's, up to
 * MX_ADDRS_MAX.  PARSE_OK when some were added, PARSE_DECLINED when the
 * name has none of that family (NODATA, NXDOMAIN), PARSE_ERROR when the
 * lookup failed for now (the host is marked temporary) or the
 * arguments are wrong.
 */
int ngx_mail_queue_mx_parse_addr(ngx_mail_queue_mx_t *mx, unsigned host,
    unsigned family, int status, const unsigned char *abuf, size_t alen);

/*
 * After all the address lookups: PARSE_OK when some host has an
 * address, else PARSE_ERROR with mx->result TEMPORARY when a lookup
 * failed for now, PERMANENT when every name has none (RFC 5321 5.1:
 * "MUST be reported as an error").
 */
int ngx_mail_queue_mx_finish(ngx_mail_queue_mx_t *mx);


#endif /* _NGX_MAIL_QUEUE_MX_H_INCLUDED_ */
