
/*
 * RFC 3464 delivery status notifications, written in one pass into a
 * buffer the caller sized with ngx_mail_queue_report_size().  Every
 * octet goes through a small writer that knows the column, so that
 * lines can be folded before they grow past what SMTP carries.
 */

#include <stdio.h>
#include <string.h>

#include "mime.h"
#include "ngx_mail_queue_report.h"


/*
 * Fields are folded at a space past 78 columns (RFC 5322 2.1.1); a
 * word too long for that is broken at LINE_MAX, below the 998 octets
 * of RFC 5321 4.5.3.1.6 by room for a fold's own octets.
 */
#define NGX_MAIL_QUEUE_REPORT_FOLD      78
#define NGX_MAIL_QUEUE_REPORT_LINE_MAX  990

/* a boundary found in the content is replaced: how often at most */
#define NGX_MAIL_QUEUE_REPORT_ATTEMPTS  8

/* the fixed text of a report, the recipients' excluded, is below this */
#define NGX_MAIL_QUEUE_REPORT_FIXED     4096
#define NGX_MAIL_QUEUE_REPORT_PER_RCPT  1024


/* how the octets of a value are shown */
typedef enum {
    show_text = 0,    /* printable ASCII; other octets "?" */
    show_utf8,        /* controls "?", 8-bit kept */
    show_atom         /* as text, and a space is "?" too */
} ngx_mail_queue_report_show_e;


typedef struct {
    unsigned char              *pos;
    size_t                      col;
    unsigned                    kind;   /* the worst action */
    int                         eight_bit_text;
    int                         eight_bit_original;
    int                         full;
    ngx_mail_queue_str_t        original;
    char                        boundary[NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN];
} ngx_mail_queue_report_out_t;


static void ngx_mail_queue_report_all(const ngx_mail_queue_report_t *r,
    ngx_mail_queue_report_out_t *o);
static void ngx_mail_queue_report_header(const ngx_mail_queue_report_t *r,
    ngx_mail_queue_report_out_t *o);
static void ngx_mail_queue_report_human(const ngx_mail_queue_report_t *r,
    ngx_mail_queue_report_out_t *o);
static void ngx_mail_queue_report_human_rcpt(ngx_mail_queue_report_out_t *o,
    const ngx_mail_queue_report_rcpt_t *rcpt);
static void ngx_mail_queue_report_status(const ngx_mail_queue_report_t *r,
    ngx_mail_queue_report_out_t *o);
static void ngx_mail_queue_report_status_rcpt(ngx_mail_queue_report_out_t *o,
    const ngx_mail_queue_report_t *r,
    const ngx_mail_queue_report_rcpt_t *rcpt);
static void ngx_mail_queue_report_original(ngx_mail_queue_report_out_t *o);
static void ngx_mail_queue_report_quote(ngx_mail_queue_report_out_t *o,
    const unsigned char *p, size_t len, int header);
static void ngx_mail_queue_report_delimiter(ngx_mail_queue_report_out_t *o,
    int close);
static void ngx_mail_queue_report_raw(ngx_mail_queue_report_out_t *o,
    const char *s);
static void ngx_mail_queue_report_crlf(ngx_mail_queue_report_out_t *o);
static void ngx_mail_queue_report_char(ngx_mail_queue_report_out_t *o,
    unsigned ch, ngx_mail_queue_report_show_e show);
static void ngx_mail_queue_report_value(ngx_mail_queue_report_out_t *o,
    const ngx_mail_queue_str_t *s, ngx_mail_queue_report_show_e show);
static void ngx_mail_queue_report_wrap(ngx_mail_queue_report_out_t *o,
    const ngx_mail_queue_str_t *s, const char *indent);
static void ngx_mail_queue_report_address(ngx_mail_queue_report_out_t *o,
    const ngx_mail_queue_str_t *address);
static void ngx_mail_queue_report_xtext(ngx_mail_queue_report_out_t *o,
    const ngx_mail_queue_str_t *s);
static void ngx_mail_queue_report_date(ngx_mail_queue_report_out_t *o,
    time_t t);
static void ngx_mail_queue_report_host(ngx_mail_queue_report_out_t *o,
    const ngx_mail_queue_str_t *host);
static int ngx_mail_queue_report_status_valid(const ngx_mail_queue_str_t *s);
static unsigned ngx_mail_queue_report_kind(const ngx_mail_queue_report_t *r);
static ngx_mail_queue_str_t ngx_mail_queue_report_strip(
    const ngx_mail_queue_str_t *message);
static size_t ngx_mail_queue_report_header_len(const unsigned char *p,
    size_t len);
static int ngx_mail_queue_report_has_8bit(const unsigned char *p, size_t len);
static int ngx_mail_queue_report_rcpts_8bit(
    const ngx_mail_queue_report_t *r);
static size_t ngx_mail_queue_report_count(const unsigned char *p, size_t len,
    const char *boundary);
static int ngx_mail_queue_report_hex(unsigned ch);
static unsigned long long ngx_mail_queue_report_mix(unsigned long long x);


static const char  *ngx_mail_queue_report_actions[] = {
    "failed", "delayed", "delivered", "relayed"
};

static const char  *ngx_mail_queue_report_subjects[] = {
    "Undelivered Mail Returned to Sender",
    "Delayed Mail (still being retried)",
    "Successful Mail Delivery Report",
    "Successful Mail Delivery Report"
};

static const char  *ngx_mail_queue_report_days[] = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};

static const char  *ngx_mail_queue_report_months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};


/*
 * Every value's octets may grow when shown: a fold adds at most five
 * octets per word, a recipient address in utf-8-addr-xtext at most
 * eight per octet ("\x{FFFD}"), a line of the original two per octet
 * (a bare LF becomes CRLF).  The bound is generous rather than exact.
 */

size_t
ngx_mail_queue_report_size(const ngx_mail_queue_report_t *r)
{
    size_t                               size, i;
    const ngx_mail_queue_report_rcpt_t  *rcpt;

    size = NGX_MAIL_QUEUE_REPORT_FIXED
           + 4 * (r->reporting_mta.len + r->from.len + r->to.len)
           + 4 * (r->envid.len + r->queue_id.len)
           + 3 * r->message.len;

    for (i = 0; i < r->nrcpts; i++) {
        rcpt = &r->rcpts[i];

        size += NGX_MAIL_QUEUE_REPORT_PER_RCPT
                + 16 * rcpt->address.len
                + 4 * rcpt->orcpt.len
                + 4 * rcpt->status.len
                + 8 * rcpt->remote_mta.len
                + 8 * rcpt->diagnostic.len;
    }

    return size;
}


size_t
ngx_mail_queue_report_write(const ngx_mail_queue_report_t *r,
    unsigned char *buf)
{
    size_t                       len;
    unsigned                     attempt;
    ngx_mail_queue_report_out_t  o;

    memset(&o, 0, sizeof(ngx_mail_queue_report_out_t));

    o.kind = ngx_mail_queue_report_kind(r);
    o.original = ngx_mail_queue_report_strip(&r->message);
    o.full = r->ret_full
             && (r->full_limit == 0 || o.original.len <= r->full_limit);

    if (!o.full) {
        o.original.len = ngx_mail_queue_report_header_len(o.original.data,
                                                          o.original.len);
    }

    o.eight_bit_original = ngx_mail_queue_report_has_8bit(o.original.data,
                                                          o.original.len);
    o.eight_bit_text = ngx_mail_queue_report_rcpts_8bit(r);

    /*
     * The boundary appears once in the Content-Type field, once before
     * each of the three parts and once closing: any other occurrence
     * was in the content, and the report is written again with the
     * next boundary.  The seed is random, so this is a defence against
     * bad luck rather than a loop that runs.
     */

    for (attempt = 0; attempt < NGX_MAIL_QUEUE_REPORT_ATTEMPTS; attempt++) {
        ngx_mail_queue_report_boundary(r->boundary_seed, attempt, o.boundary);

        o.pos = buf;
        o.col = 0;

        ngx_mail_queue_report_all(r, &o);

        len = o.pos - buf;

        if (ngx_mail_queue_report_count(buf, len, o.boundary) == 5) {
            return len;
        }
    }

    return 0;
}


void
ngx_mail_queue_report_boundary(unsigned long long seed, unsigned attempt,
    char *boundary)
{
    char                buf[NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN + 1];
    unsigned long long  bits;

    bits = ngx_mail_queue_report_mix(seed + attempt);

    snprintf(buf, sizeof(buf), "%s%016llx",
             NGX_MAIL_QUEUE_REPORT_BOUNDARY_PREFIX, bits);

    memcpy(boundary, buf, NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN);
}


static void
ngx_mail_queue_report_all(const ngx_mail_queue_report_t *r,
    ngx_mail_queue_report_out_t *o)
{
    ngx_mail_queue_report_header(r, o);

    ngx_mail_queue_report_raw(o, "This is a MIME-encapsulated message.");
    ngx_mail_queue_report_crlf(o);

    ngx_mail_queue_report_delimiter(o, 0);
    ngx_mail_queue_report_human(r, o);

    ngx_mail_queue_report_delimiter(o, 0);
    ngx_mail_queue_report_status(r, o);

    ngx_mail_queue_report_delimiter(o, 0);
    ngx_mail_queue_report_original(o);

    ngx_mail_queue_report_delimiter(o, 1);
}


static void
ngx_mail_queue_report_header(const ngx_mail_queue_report_t *r,
    ngx_mail_queue_report_out_t *o)
{
    char  id[64];

    ngx_mail_queue_report_raw(o, "From: Mail Delivery System <");
    ngx_mail_queue_report_value(o, &r->from, show_atom);
    ngx_mail_queue_report_raw(o, ">");
    ngx_mail_queue_report_crlf(o);

    ngx_mail_queue_report_raw(o, "To: <");
    ngx_mail_queue_report_value(o, &r->to, show_utf8);
    ngx_mail_queue_report_raw(o, ">");
    ngx_mail_queue_report_crlf(o);

    ngx_mail_queue_report_raw(o, "Subject: ");
    ngx_mail_queue_report_raw(o, ngx_mail_queue_report_subjects[o->kind]);
    ngx_mail_queue_report_crlf(o);

    ngx_mail_queue_report_raw(o, "Date: ");
    ngx_mail_queue_report_date(o, r->now);
    ngx_mail_queue_report_crlf(o);

    /* the seed makes it unique; the time only helps a reader */
    snprintf(id, sizeof(id), "<%lld.%016llx@",
             (long long) (r->now > 0 ? r->now : 0),
             ngx_mail_queue_report_mix(~r->boundary_seed));

    ngx_mail_queue_report_raw(o, "Message-ID: ");
    ngx_mail_queue_report_raw(o, id);
    ngx_mail_queue_report_host(o, &r->reporting_mta);
    ngx_mail_queue_report_raw(o, ">");
    ngx_mail_queue_report_crlf(o);

    /* RFC 3834 5: no autoresponder answers it */
    ngx_mail_queue_report_raw(o, "Auto-Submitted: auto-replied");
    ngx_mail_queue_report_crlf(o);

    ngx_mail_queue_report_raw(o, "MIME-Version: 1.0");
    ngx_mail_queue_report_crlf(o);

    ngx_mail_queue_report_raw(o, "Content-Type: multipart/report;"
                              " report-type=delivery-status;");
    ngx_mail_queue_report_crlf(o);
    ngx_mail_queue_report_raw(o, "\tboundary=\"");
    memcpy(o->pos, o->boundary, NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN);
    o->pos += NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN;
    ngx_mail_queue_report_raw(o, "\"");
    ngx_mail_queue_report_crlf(o);

    /* RFC 2045 6.4: a multipart holding 8-bit parts is labelled 8bit */
    if (o->eight_bit_original || o->eight_bit_text) {
        ngx_mail_queue_report_raw(o, "Content-Transfer-Encoding: 8bit");
        ngx_mail_queue_report_crlf(o);
    }

    ngx_mail_queue_report_crlf(o);
}


/*
 * The text for people.  An address in UTF-8 (RFC 6531) is shown as it
 * is, so this part is then utf-8 and 8bit; the remote server's text
 * is shown in ASCII only, as it is in the delivery-status part.
 */

static void
ngx_mail_queue_report_human(const ngx_mail_queue_report_t *r,
    ngx_mail_queue_report_out_t *o)
{
    size_t  i;

    ngx_mail_queue_report_raw(o, "Content-Description: Notification");
    ngx_mail_queue_report_crlf(o);

    if (o->eight_bit_text) {
        ngx_mail_queue_report_raw(o, "Content-Type: text/plain;"
                                  " charset=utf-8");
        ngx_mail_queue_report_crlf(o);
        ngx_mail_queue_report_raw(o, "Content-Transfer-Encoding: 8bit");

    } else {
        ngx_mail_queue_report_raw(o, "Content-Type: text/plain;"
                                  " charset=us-ascii");
    }

    ngx_mail_queue_report_crlf(o);
    ngx_mail_queue_report_crlf(o);

    ngx_mail_queue_report_raw(o, "This is the mail system at ");
    ngx_mail_queue_report_value(o, &r->reporting_mta, show_atom);
    ngx_mail_queue_report_raw(o, ".");
    ngx_mail_queue_report_crlf(o);
    ngx_mail_queue_report_crlf(o);

    switch (o->kind) {

    case NGX_MAIL_QUEUE_REPORT_FAILED:
        ngx_mail_queue_report_raw(o, "Your message could not be delivered"
                                  " to one or more recipients.");
        ngx_mail_queue_report_crlf(o);
        ngx_mail_queue_report_raw(o, o->full ? "It is attached below,"
                                  " after the reasons given for each."
                                  : "Its header is attached below,"
                                  " after the reasons given for each.");
        break;

    case NGX_MAIL_QUEUE_REPORT_DELAYED:
        ngx_mail_queue_report_raw(o, "Your message has not been delivered"
                                  " to one or more recipients yet.");
        ngx_mail_queue_report_crlf(o);
        ngx_mail_queue_report_raw(o, "Delivery will be retried");

        if (r->retry_until > 0) {
            ngx_mail_queue_report_raw(o, " until ");
            ngx_mail_queue_report_date(o, r->retry_until);
        }

        ngx_mail_queue_report_raw(o, "; you need not send it again.");
        break;

    default:
        ngx_mail_queue_report_raw(o, "Your message was delivered to the"
                                  " recipients below, as you asked to");
        ngx_mail_queue_report_crlf(o);
        ngx_mail_queue_report_raw(o, "be told.  A system that \"relayed\""
                                  " it may send no further notice.");
        break;
    }

    ngx_mail_queue_report_crlf(o);

    if (r->queue_id.len) {
        ngx_mail_queue_report_crlf(o);
        ngx_mail_queue_report_raw(o, "Its queue ID here is ");
        ngx_mail_queue_report_value(o, &r->queue_id, show_atom);
        ngx_mail_queue_report_raw(o, ".");
        ngx_mail_queue_report_crlf(o);
    }

    for (i = 0; i < r->nrcpts; i++) {
        ngx_mail_queue_report_crlf(o);
        ngx_mail_queue_report_human_rcpt(o, &r->rcpts[i]);
    }
}


static void
ngx_mail_queue_report_human_rcpt(ngx_mail_queue_report_out_t *o,
    const ngx_mail_queue_report_rcpt_t *rcpt)
{
    unsigned  action;

    action = (unsigned) rcpt->action <= NGX_MAIL_QUEUE_REPORT_RELAYED
             ? (unsigned) rcpt->action : NGX_MAIL_QUEUE_REPORT_FAILED;

    ngx_mail_queue_report_raw(o, "<");
    ngx_mail_queue_report_value(o, &rcpt->address, show_utf8);
    ngx_mail_queue_report_raw(o, ">: ");
    ngx_mail_queue_report_raw(o, ngx_mail_queue_report_actions[action]);

    if (rcpt->remote_mta.len) {
        ngx_mail_queue_report_raw(o, ", host ");
        ngx_mail_queue_report_value(o, &rcpt->remote_mta, show_atom);
        ngx_mail_queue_report_raw(o, rcpt->diagnostic.len ? " said:"
                                                          : "");
    }

    ngx_mail_queue_report_crlf(o);

    if (rcpt->diagnostic.len) {
        ngx_mail_queue_report_raw(o, "    ");
        ngx_mail_queue_report_wrap(o, &rcpt->diagnostic, "    ");
        ngx_mail_queue_report_crlf(o);
    }
}


/* RFC 3464 2.1: the per-message fields, then each recipient's */

static void
ngx_mail_queue_report_status(const ngx_mail_queue_report_t *r,
    ngx_mail_queue_report_out_t *o)
{
    size_t  i;

    ngx_mail_queue_report_raw(o, "Content-Description: Delivery report");
    ngx_mail_queue_report_crlf(o);
    ngx_mail_queue_report_raw(o, "Content-Type: message/delivery-status");
    ngx_mail_queue_report_crlf(o);
    ngx_mail_queue_report_crlf(o);

    /* in the order of RFC 3464 2.2's grammar */

    /* RFC 3461 6.3 (a): the ENVID, xtext decoded */
    if (r->envid.len) {
        ngx_mail_queue_report_raw(o, "Original-Envelope-Id: ");
        ngx_mail_queue_report_xtext(o, &r->envid);
        ngx_mail_queue_report_crlf(o);
    }

    /* RFC 3461 6.3 (b): our name, and "dns" as we believe it is one */
    ngx_mail_queue_report_raw(o, "Reporting-MTA: dns; ");
    ngx_mail_queue_report_value(o, &r->reporting_mta, show_atom);
    ngx_mail_queue_report_crlf(o);

    if (r->arrival > 0) {
        ngx_mail_queue_report_raw(o, "Arrival-Date: ");
        ngx_mail_queue_report_date(o, r->arrival);
        ngx_mail_queue_report_crlf(o);
    }

    /* RFC 3464 2.4: an extension field, as Postfix has its queue id */
    if (r->queue_id.len) {
        ngx_mail_queue_report_raw(o, "X-Queue-ID: ");
        ngx_mail_queue_report_value(o, &r->queue_id, show_atom);
        ngx_mail_queue_report_crlf(o);
    }

    for (i = 0; i < r->nrcpts; i++) {
        ngx_mail_queue_report_crlf(o);
        ngx_mail_queue_report_status_rcpt(o, r, &r->rcpts[i]);
    }
}


static void
ngx_mail_queue_report_status_rcpt(ngx_mail_queue_report_out_t *o,
    const ngx_mail_queue_report_t *r,
    const ngx_mail_queue_report_rcpt_t *rcpt)
{
    unsigned  action;

    action = (unsigned) rcpt->action <= NGX_MAIL_QUEUE_REPORT_RELAYED
             ? (unsigned) rcpt->action : NGX_MAIL_QUEUE_REPORT_FAILED;

    /* RFC 3461 6.3 (d): present exactly when ORCPT was given */
    if (rcpt->orcpt.len) {
        ngx_mail_queue_report_raw(o, "Original-Recipient: ");
        ngx_mail_queue_report_xtext(o, &rcpt->orcpt);
        ngx_mail_queue_report_crlf(o);
    }

    ngx_mail_queue_report_raw(o, "Final-Recipient: ");
    ngx_mail_queue_report_address(o, &rcpt->address);
    ngx_mail_queue_report_crlf(o);

    ngx_mail_queue_report_raw(o, "Action: ");
    ngx_mail_queue_report_raw(o, ngx_mail_queue_report_actions[action]);
    ngx_mail_queue_report_crlf(o);

    /* RFC 3461 6.3 (g): X.0.0 when nothing more precise is known */
    ngx_mail_queue_report_raw(o, "Status: ");

    if (ngx_mail_queue_report_status_valid(&rcpt->status)) {
        ngx_mail_queue_report_value(o, &rcpt->status, show_atom);

    } else {
        ngx_mail_queue_report_raw(o,
            action == NGX_MAIL_QUEUE_REPORT_FAILED ? "5.0.0"
            : action == NGX_MAIL_QUEUE_REPORT_DELAYED ? "4.0.0" : "2.0.0");
    }

    ngx_mail_queue_report_crlf(o);

    if (rcpt->remote_mta.len) {
        ngx_mail_queue_report_raw(o, "Remote-MTA: dns; ");
        ngx_mail_queue_report_value(o, &rcpt->remote_mta, show_atom);
        ngx_mail_queue_report_crlf(o);
    }

    if (rcpt->diagnostic.len) {
        ngx_mail_queue_report_raw(o, "Diagnostic-Code: smtp; ");
        ngx_mail_queue_report_wrap(o, &rcpt->diagnostic, " ");
        ngx_mail_queue_report_crlf(o);
    }

    if (rcpt->last_attempt > 0) {
        ngx_mail_queue_report_raw(o, "Last-Attempt-Date: ");
        ngx_mail_queue_report_date(o, rcpt->last_attempt);
        ngx_mail_queue_report_crlf(o);
    }

    /* RFC 3464 2.3.9: only for "delayed" */
    if (action == NGX_MAIL_QUEUE_REPORT_DELAYED && r->retry_until > 0) {
        ngx_mail_queue_report_raw(o, "Will-Retry-Until: ");
        ngx_mail_queue_report_date(o, r->retry_until);
        ngx_mail_queue_report_crlf(o);
    }
}


static void
ngx_mail_queue_report_original(ngx_mail_queue_report_out_t *o)
{
    size_t  header;

    if (o->full) {
        ngx_mail_queue_report_raw(o, o->kind == NGX_MAIL_QUEUE_REPORT_FAILED
                                  ? "Content-Description: Undelivered Message"
                                  : "Content-Description: Message");
        ngx_mail_queue_report_crlf(o);
        ngx_mail_queue_report_raw(o, "Content-Type: message/rfc822");

    } else {
        ngx_mail_queue_report_raw(o, "Content-Description: Message Headers");
        ngx_mail_queue_report_crlf(o);
        ngx_mail_queue_report_raw(o, "Content-Type: text/rfc822-headers");
    }

    ngx_mail_queue_report_crlf(o);

    /* RFC 6532 3.7 allows message/rfc822 to be 8bit */
    if (o->eight_bit_original) {
        ngx_mail_queue_report_raw(o, "Content-Transfer-Encoding: 8bit");
        ngx_mail_queue_report_crlf(o);
    }

    ngx_mail_queue_report_crlf(o);

    header = ngx_mail_queue_report_header_len(o->original.data,
                                              o->original.len);

    ngx_mail_queue_report_quote(o, o->original.data, header, 1);
    ngx_mail_queue_report_quote(o, o->original.data + header,
                                o->original.len - header, 0);
}


/*
 * The original, line by line: each line ends with CRLF, whatever it
 * ended with (a bare LF or CR is made CRLF, a last line without one
 * gets one), and a line longer than LINE_MAX is broken; in the header
 * the break is a fold, so that the rest cannot become a field of its
 * own.  Other octets, NUL and 8-bit ones, are kept.
 */

static void
ngx_mail_queue_report_quote(ngx_mail_queue_report_out_t *o,
    const unsigned char *p, size_t len, int header)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] == '\r' || p[i] == '\n') {
            if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') {
                i++;
            }

            ngx_mail_queue_report_crlf(o);
            continue;
        }

        if (o->col >= NGX_MAIL_QUEUE_REPORT_LINE_MAX) {
            ngx_mail_queue_report_crlf(o);

            if (header) {
                *o->pos++ = ' ';
                o->col = 1;
            }
        }

        *o->pos++ = p[i];
        o->col++;
    }

    if (o->col > 0) {
        ngx_mail_queue_report_crlf(o);
    }
}


/* RFC 2046 5.1.1: the CRLF before "--" belongs to the delimiter */

static void
ngx_mail_queue_report_delimiter(ngx_mail_queue_report_out_t *o, int close)
{
    ngx_mail_queue_report_crlf(o);
    ngx_mail_queue_report_raw(o, "--");

    memcpy(o->pos, o->boundary, NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN);
    o->pos += NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN;

    if (close) {
        ngx_mail_queue_report_raw(o, "--");
    }

    ngx_mail_queue_report_crlf(o);
}


/*
 * Our own text, ASCII without line ends.  It may follow a long value
 * from outside near the end of a line: then the line is folded first.
 */

static void
ngx_mail_queue_report_raw(ngx_mail_queue_report_out_t *o, const char *s)
{
    size_t  len;

    len = strlen(s);

    if (o->col > 0 && o->col + len > NGX_MAIL_QUEUE_REPORT_LINE_MAX) {
        ngx_mail_queue_report_crlf(o);
        *o->pos++ = ' ';
        o->col = 1;
    }

    memcpy(o->pos, s, len);
    o->pos += len;
    o->col += len;
}


static void
ngx_mail_queue_report_crlf(ngx_mail_queue_report_out_t *o)
{
    *o->pos++ = '\r';
    *o->pos++ = '\n';
    o->col = 0;
}


/*
 * One octet of a value from outside.  A control character never gets
 * through: a CR or LF would end the field and let the value write
 * fields of its own.  A line that grew too long is folded, which in a
 * field value is white space a reader unfolds.
 */

static void
ngx_mail_queue_report_char(ngx_mail_queue_report_out_t *o, unsigned ch,
    ngx_mail_queue_report_show_e show)
{
    if (ch < 0x20 || ch == 0x7f
        || (ch >= 0x80 && show != show_utf8)
        || (ch == ' ' && show == show_atom))
    {
        ch = (ch == '\t' && show != show_atom) ? ' ' : '?';
    }

    if (o->col >= NGX_MAIL_QUEUE_REPORT_LINE_MAX) {
        ngx_mail_queue_report_crlf(o);
        *o->pos++ = ' ';
        o->col = 1;
    }

    *o->pos++ = (unsigned char) ch;
    o->col++;
}


static void
ngx_mail_queue_report_value(ngx_mail_queue_report_out_t *o,
    const ngx_mail_queue_str_t *s, ngx_mail_queue_report_show_e show)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        ngx_mail_queue_report_char(o, s->data[i], show);
    }
}


/*
 * Text that may be long, a remote server's reply: folded at a space
 * before the word that would pass column 78, the space replaced by a
 * line break and "indent" (in a field, the fold's white space).
 */

static void
ngx_mail_queue_report_wrap(ngx_mail_queue_report_out_t *o,
    const ngx_mail_queue_str_t *s, const char *indent)
{
    size_t  i, word, indent_len;

    indent_len = strlen(indent);

    for (i = 0; i < s->len; i++) {
        if (s->data[i] == ' ' && o->col > indent_len) {
            for (word = 0; i + 1 + word < s->len; word++) {
                if (s->data[i + 1 + word] == ' ') {
                    break;
                }
            }

            if (o->col + 1 + word > NGX_MAIL_QUEUE_REPORT_FOLD) {
                ngx_mail_queue_report_crlf(o);
                ngx_mail_queue_report_raw(o, indent);
                continue;
            }
        }

        ngx_mail_queue_report_char(o, s->data[i], show_text);
    }
}


/*
 * RFC 3461 6.3 (e) and RFC 6533 3: "rfc822; addr" for an ASCII address;
 * else "utf-8; " and the address as utf-8-addr-xtext, which keeps
 * message/delivery-status in ASCII: a character beyond ASCII, and the
 * ASCII ones xtext reserves, are written "\x{HEX}" by code point.  An
 * octet that is not UTF-8 is shown as U+FFFD.
 */

static void
ngx_mail_queue_report_address(ngx_mail_queue_report_out_t *o,
    const ngx_mail_queue_str_t *address)
{
    char                  hex[16];
    size_t                n;
    uint32_t              cp;
    const unsigned char  *p, *end;

    /* a quoted local part may hold spaces (RFC 5321 4.1.2) */
    if (!ngx_mail_queue_report_has_8bit(address->data, address->len)) {
        ngx_mail_queue_report_raw(o, "rfc822; ");
        ngx_mail_queue_report_value(o, address, show_text);
        return;
    }

    ngx_mail_queue_report_raw(o, "utf-8; ");

    end = address->data + address->len;

    for (p = address->data; p < end; p += n) {
        n = mime_utf8_decode(p, end, &cp);

        if (n == 0) {
            cp = 0xfffd;
            n = 1;
        }

        if (cp > 0x20 && cp < 0x7f && cp != '\\' && cp != '+'
            && cp != '=')
        {
            ngx_mail_queue_report_char(o, cp, show_atom);
            continue;
        }

        /* written whole: raw() folds before it, never inside */
        snprintf(hex, sizeof(hex), "\\x{%lX}", (unsigned long) cp);
        ngx_mail_queue_report_raw(o, hex);
    }
}


/*
 * RFC 3461 4: xtext is "+" and two upper case hex digits for an octet
 * outside "!" .. "~" or "+" or "=".  Decoded as RFC 3461 6.3 asks, if
 * what comes out is printable ASCII; else, and for xtext that is not
 * well formed, the value is shown as it was given, which loses
 * nothing.
 */

static void
ngx_mail_queue_report_xtext(ngx_mail_queue_report_out_t *o,
    const ngx_mail_queue_str_t *s)
{
    int                   hi, lo;
    size_t                i;
    unsigned              ch;
    const unsigned char  *p;

    p = s->data;

    for (i = 0; i < s->len; i++) {
        if (p[i] < 0x21 || p[i] > 0x7e || p[i] == '=') {
            goto verbatim;
        }

        if (p[i] != '+') {
            continue;
        }

        if (s->len - i < 3) {
            goto verbatim;
        }

        hi = ngx_mail_queue_report_hex(p[i + 1]);
        lo = ngx_mail_queue_report_hex(p[i + 2]);
        ch = (unsigned) (hi * 16 + lo);

        if (hi < 0 || lo < 0 || ch < 0x20 || ch > 0x7e) {
            goto verbatim;
        }

        i += 2;
    }

    for (i = 0; i < s->len; i++) {
        if (p[i] == '+') {
            ch = ngx_mail_queue_report_hex(p[i + 1]) * 16
                 + ngx_mail_queue_report_hex(p[i + 2]);
            i += 2;

        } else {
            ch = p[i];
        }

        ngx_mail_queue_report_char(o, ch, show_text);
    }

    return;

verbatim:

    ngx_mail_queue_report_value(o, s, show_atom);
}


/* RFC 5322 3.3, in UTC: "Mon, 23 Nov 2026 15:04:07 +0000" */

static void
ngx_mail_queue_report_date(ngx_mail_queue_report_out_t *o, time_t t)
{
    char                buf[64];
    long long           days, secs, z, era, doe, yoe, year, doy, mp, day,
                        month;

    secs = (t > 0) ? (long long) t : 0;
    days = secs / 86400;
    secs %= 86400;

    /* the proleptic Gregorian calendar, in 400-year eras from 0000-03-01 */
    z = days + 719468;
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    day = doy - (153 * mp + 2) / 5 + 1;
    month = (mp < 10) ? mp + 3 : mp - 9;
    year = yoe + era * 400 + (month <= 2);

    snprintf(buf, sizeof(buf), "%s, %lld %s %04lld %02lld:%02lld:%02lld"
             " +0000", ngx_mail_queue_report_days[(days + 4) % 7], day,
             ngx_mail_queue_report_months[month - 1], year, secs / 3600,
             secs / 60 % 60, secs % 60);

    ngx_mail_queue_report_raw(o, buf);
}


/* a host name in a Message-ID: dot-atom-text, so only LDH and dots */

static void
ngx_mail_queue_report_host(ngx_mail_queue_report_out_t *o,
    const ngx_mail_queue_str_t *host)
{
    size_t    i;
    unsigned  ch;

    if (host->len == 0) {
        ngx_mail_queue_report_raw(o, "localhost");
        return;
    }

    for (i = 0; i < host->len; i++) {
        ch = host->data[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'))
        {
            ch = '-';
        }

        ngx_mail_queue_report_char(o, ch, show_atom);
    }
}


/* RFC 3463 2: class "." subject "." detail, 1 to 3 digits each */

static int
ngx_mail_queue_report_status_valid(const ngx_mail_queue_str_t *s)
{
    size_t  i, digits, dots;

    if (s->len < 5 || (s->data[0] != '2' && s->data[0] != '4'
                       && s->data[0] != '5'))
    {
        return 0;
    }

    digits = 0;
    dots = 0;

    for (i = 1; i < s->len; i++) {
        if (s->data[i] == '.') {
            if (i > 1 && digits == 0) {
                return 0;
            }

            dots++;
            digits = 0;
            continue;
        }

        if (s->data[i] < '0' || s->data[i] > '9' || ++digits > 3) {
            return 0;
        }
    }

    return dots == 2 && digits > 0 && s->data[1] == '.';
}


static unsigned
ngx_mail_queue_report_kind(const ngx_mail_queue_report_t *r)
{
    size_t    i;
    unsigned  kind;

    kind = NGX_MAIL_QUEUE_REPORT_DELIVERED;

    for (i = 0; i < r->nrcpts; i++) {
        switch (r->rcpts[i].action) {

        case NGX_MAIL_QUEUE_REPORT_DELAYED:
            if (kind != NGX_MAIL_QUEUE_REPORT_FAILED) {
                kind = NGX_MAIL_QUEUE_REPORT_DELAYED;
            }
            break;

        case NGX_MAIL_QUEUE_REPORT_DELIVERED:
        case NGX_MAIL_QUEUE_REPORT_RELAYED:
            break;

        default:
            kind = NGX_MAIL_QUEUE_REPORT_FAILED;
        }
    }

    return kind;
}


/* the message without the queue's "Return-Path:" field and its folds */

static ngx_mail_queue_str_t
ngx_mail_queue_report_strip(const ngx_mail_queue_str_t *message)
{
    size_t                i;
    const char           *name;
    ngx_mail_queue_str_t  s;

    s = *message;
    name = "return-path:";

    for (i = 0; name[i]; i++) {
        if (i == s.len || (s.data[i] | 0x20) != (unsigned char) name[i]) {
            return s;
        }
    }

    for ( ;; ) {
        while (i < s.len && s.data[i] != '\n') {
            i++;
        }

        if (i == s.len) {
            break;
        }

        i++;

        if (i == s.len || (s.data[i] != ' ' && s.data[i] != '\t')) {
            break;
        }
    }

    s.data += i;
    s.len -= i;

    return s;
}


/*
 * The header's length, its blank line included; the whole message
 * when there is no blank line.
 */

static size_t
ngx_mail_queue_report_header_len(const unsigned char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (i == 0 || p[i - 1] == '\n') {
            if (p[i] == '\n') {
                return i + 1;
            }

            if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') {
                return i + 2;
            }
        }
    }

    return len;
}


static int
ngx_mail_queue_report_has_8bit(const unsigned char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] >= 0x80) {
            return 1;
        }
    }

    return 0;
}


static int
ngx_mail_queue_report_rcpts_8bit(const ngx_mail_queue_report_t *r)
{
    size_t  i;

    for (i = 0; i < r->nrcpts; i++) {
        if (ngx_mail_queue_report_has_8bit(r->rcpts[i].address.data,
                                           r->rcpts[i].address.len))
        {
            return 1;
        }
    }

    return 0;
}


static size_t
ngx_mail_queue_report_count(const unsigned char *p, size_t len,
    const char *boundary)
{
    size_t                count;
    const unsigned char  *end, *q;

    count = 0;
    end = p + len;

    while (p + NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN <= end) {
        q = memchr(p, boundary[0],
                   end - p - NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN + 1);
        if (q == NULL) {
            break;
        }

        if (memcmp(q, boundary, NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN) == 0) {
            count++;
        }

        p = q + 1;
    }

    return count;
}


static int
ngx_mail_queue_report_hex(unsigned ch)
{
    /* RFC 3461 4: upper case only */
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }

    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }

    return -1;
}


/* a 64-bit finaliser: close seeds give unrelated boundaries */

static unsigned long long
ngx_mail_queue_report_mix(unsigned long long x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;

    return x ^ (x >> 31);
}
