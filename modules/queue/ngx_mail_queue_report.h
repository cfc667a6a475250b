
/*
 * Delivery status notifications (RFC 3464, RFC 3461 6): the bounce, the
 * delay warning and the success report the queue sends to a message's
 * envelope sender, built whole as a multipart/report (RFC 6522):
 *
 *   1. text/plain, for people: what happened to each recipient;
 *   2. message/delivery-status, for programs: RFC 3464 2.2 per-message
 *      fields, then one RFC 3464 2.3 group per recipient;
 *   3. the original's header (text/rfc822-headers) or, for RET=FULL
 *      when it is not too big, the whole original (message/rfc822).
 *
 * Plain C99 without nginx headers, so that the unit tests and the
 * fuzzer build it alone: no allocation, no global state.  The caller
 * allocates ngx_mail_queue_report_size() octets and writes into them:
 *
 *     buf = ngx_pnalloc(pool, ngx_mail_queue_report_size(r));
 *     len = ngx_mail_queue_report_write(r, buf);
 *
 * The output is the message as it is queued: CRLF line ends, no dot
 * stuffing, no line longer than 998 octets (RFC 5321 4.5.3.1.6): long
 * header fields are folded, long lines of the original are broken.
 *
 * What comes from outside is not trusted: the remote server's reply
 * text, the addresses, the ENVID and ORCPT parameters, the original
 * message.  Nothing of it can end a header line (control characters
 * are shown as "?"), and the MIME boundary is checked against the
 * octets written, so that the original cannot end its part early.
 *
 * The report's kind follows its recipients' actions: any FAILED makes a
 * bounce, else any DELAYED a delay warning, else a success report.  The
 * queue sends one report per kind, so mixed actions are unusual.
 */

#ifndef _NGX_MAIL_QUEUE_REPORT_H_INCLUDED_
#define _NGX_MAIL_QUEUE_REPORT_H_INCLUDED_


#include <stddef.h>
#include <time.h>


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


/* RFC 3464 2.3.3 Action values */
enum {
    NGX_MAIL_QUEUE_REPORT_FAILED = 0,
    NGX_MAIL_QUEUE_REPORT_DELAYED,
    NGX_MAIL_QUEUE_REPORT_DELIVERED,
    NGX_MAIL_QUEUE_REPORT_RELAYED
};


/*
 * The boundary: its prefix and 16 hexadecimal digits of the seed; it
 * is NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN octets long.
 */
#define NGX_MAIL_QUEUE_REPORT_BOUNDARY_PREFIX  "=_report_"
#define NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN     25


typedef struct {
    /* the recipient as in RCPT TO, without "<>"; may be UTF-8 */
    ngx_mail_queue_str_t        address;

    /*
     * The ORCPT parameter as queued, "addr-type;xtext" (RFC 3461 4.2),
     * or empty: the Original-Recipient field, xtext decoded.
     */
    ngx_mail_queue_str_t        orcpt;

    int                         action;        /* REPORT_FAILED, ... */

    /*
     * "5.1.1": RFC 3463 class.subject.detail; anything else, empty
     * included, is reported as X.0.0 of the action's class.
     */
    ngx_mail_queue_str_t        status;

    ngx_mail_queue_str_t        remote_mta;    /* host name, or empty */
    ngx_mail_queue_str_t        diagnostic;    /* "550 5.1.1 ...", or empty */

    time_t                      last_attempt;  /* 0: unknown */
} ngx_mail_queue_report_rcpt_t;


typedef struct {
    ngx_mail_queue_str_t        reporting_mta; /* our host name */
    ngx_mail_queue_str_t        from;          /* MAILER-DAEMON@host */
    ngx_mail_queue_str_t        to;            /* the envelope sender */

    /* the ENVID parameter as queued (xtext), or empty */
    ngx_mail_queue_str_t        envid;

    /* our queue id, or empty: an X-Queue-ID field and in the text */
    ngx_mail_queue_str_t        queue_id;

    time_t                      arrival;       /* 0: unknown */
    time_t                      now;           /* the report's Date */
    time_t                      retry_until;   /* DELAYED; 0: unknown */

    /*
     * The original message as stored; a first "Return-Path:" field is
     * the queue's own record of the sender and is not returned.
     */
    ngx_mail_queue_str_t        message;

    /*
     * RET=FULL (RFC 3461 4.3): the whole message, unless it is bigger
     * than full_limit (0: no limit); else the header only.
     */
    int                         ret_full;
    size_t                      full_limit;

    ngx_mail_queue_report_rcpt_t  *rcpts;
    size_t                      nrcpts;

    /* randomness for the boundary and the Message-ID */
    unsigned long long          boundary_seed;
} ngx_mail_queue_report_t;


/* an upper bound of the octets ngx_mail_queue_report_write() writes */
size_t ngx_mail_queue_report_size(const ngx_mail_queue_report_t *r);

/*
 * Writes the report into buf, which has ngx_mail_queue_report_size()
 * octets; returns the octets written.  0 means that no boundary could
 * be found that the content does not hold, which takes an adversary
 * who knows the seed.
 */
size_t ngx_mail_queue_report_write(const ngx_mail_queue_report_t *r,
    unsigned char *buf);

/* the boundary the report uses, for tests: BOUNDARY_LEN octets, no NUL */
void ngx_mail_queue_report_boundary(unsigned long long seed,
    unsigned attempt, char *boundary);


#endif /* _NGX_MAIL_QUEUE_REPORT_H_INCLUDED_ */
