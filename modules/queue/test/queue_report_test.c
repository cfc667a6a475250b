
/*
 * Delivery status notifications: the octets a bounce, a delay warning
 * and a success report carry, and what a hostile remote server or an
 * odd original cannot do to them.  Every report written is also checked
 * as a whole: within the size promised, CRLF only, no line longer than
 * 998 octets, the boundary exactly where the report puts it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_queue_report.h"
#include "queue_test.h"


#define S(s)  { sizeof(s) - 1, (const unsigned char *) (s) }

/* 2026-11-23 15:04:07 UTC */
#define NOW   1795446247


static unsigned char  *out;
static size_t          out_len;


static ngx_mail_queue_str_t
str(const char *s)
{
    ngx_mail_queue_str_t  v;

    v.len = strlen(s);
    v.data = (const unsigned char *) s;

    return v;
}


/* memmem() is not C99 */

static const unsigned char *
find(const unsigned char *p, size_t len, const char *needle, size_t n)
{
    size_t  i;

    for (i = 0; n <= len && i <= len - n; i++) {
        if (memcmp(p + i, needle, n) == 0) {
            return p + i;
        }
    }

    return NULL;
}


static int
has(const char *needle)
{
    size_t  n;

    n = strlen(needle);

    if (n > out_len) {
        return 0;
    }

    return find(out, out_len, needle, n) != NULL;
}


static size_t
occurs(const char *needle)
{
    size_t                count, n;
    const unsigned char  *p, *end, *q;

    n = strlen(needle);
    count = 0;
    p = out;
    end = out + out_len;

    while ((size_t) (end - p) >= n
           && (q = find(p, end - p, needle, n)) != NULL)
    {
        count++;
        p = q + 1;
    }

    return count;
}


/*
 * CRLF line ends only, lines of at most 998 octets, the last line
 * ended; the boundary of the Content-Type field found five times.
 */

static int
well_formed(void)
{
    size_t                i, col;
    const unsigned char  *b, *e;
    char                  boundary[128];

    col = 0;

    for (i = 0; i < out_len; i++) {
        if (out[i] == '\r') {
            if (i + 1 == out_len || out[i + 1] != '\n') {
                return 0;
            }

            i++;
            col = 0;
            continue;
        }

        if (out[i] == '\n' || ++col > 998) {
            return 0;
        }
    }

    if (out_len < 2 || out[out_len - 1] != '\n') {
        return 0;
    }

    b = find(out, out_len, "\r\n\tboundary=\"", 13);
    if (b == NULL) {
        return 0;
    }

    b += 13;
    e = memchr(b, '"', out + out_len - b);

    if (e == NULL || (size_t) (e - b) >= sizeof(boundary)
        || e - b != NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN)
    {
        return 0;
    }

    memcpy(boundary, b, e - b);
    boundary[e - b] = '\0';

    return occurs(boundary) == 5;
}


static int
report(ngx_mail_queue_report_t *r)
{
    size_t  size;

    free(out);

    size = ngx_mail_queue_report_size(r);
    out = malloc(size);

    if (out == NULL) {
        return 0;
    }

    out_len = ngx_mail_queue_report_write(r, out);

    return out_len > 0 && out_len <= size && well_formed();
}


static const char  message[] =
    "Return-Path: <alice@example.com>\r\n"
    "Received: from client (client [192.0.2.1])\r\n"
    "\tby mx.example.com; Mon, 23 Nov 2026 15:00:00 +0000\r\n"
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.org\r\n"
    "Subject: lunch\r\n"
    "\r\n"
    "Shall we have lunch?\r\n";


static void
base(ngx_mail_queue_report_t *r, ngx_mail_queue_report_rcpt_t *rcpt,
    size_t n)
{
    memset(r, 0, sizeof(ngx_mail_queue_report_t));

    r->reporting_mta = str("mx.example.com");
    r->from = str("MAILER-DAEMON@mx.example.com");
    r->to = str("alice@example.com");
    r->queue_id = str("q1a2b3");
    r->arrival = NOW - 3600;
    r->now = NOW;
    r->retry_until = NOW + 5 * 86400;
    r->message = str(message);
    r->rcpts = rcpt;
    r->nrcpts = n;
    r->boundary_seed = 42;
}


static void
test_report_bounce(void)
{
    ngx_mail_queue_report_t       r;
    ngx_mail_queue_report_rcpt_t  rcpt[2];

    memset(rcpt, 0, sizeof(rcpt));

    rcpt[0].address = str("bob@example.org");
    rcpt[0].action = NGX_MAIL_QUEUE_REPORT_FAILED;
    rcpt[0].status = str("5.1.1");
    rcpt[0].remote_mta = str("mx.example.org");
    rcpt[0].diagnostic = str("550 5.1.1 No such user");
    rcpt[0].last_attempt = NOW - 10;

    rcpt[1].address = str("carol@example.net");
    rcpt[1].orcpt = str("rfc822;carol+2Bdsn@example.net");
    rcpt[1].action = NGX_MAIL_QUEUE_REPORT_FAILED;
    rcpt[1].status = str("5.4.4");
    rcpt[1].diagnostic = str("Host or domain name not found");

    base(&r, rcpt, 2);
    r.envid = str("QQ+3D314");

    ok(report(&r), "bounce: written, well formed, within the size");

    ok(memcmp(out, "From: Mail Delivery System"
              " <MAILER-DAEMON@mx.example.com>\r\n"
              "To: <alice@example.com>\r\n"
              "Subject: Undelivered Mail Returned to Sender\r\n"
              "Date: Mon, 23 Nov 2026 15:04:07 +0000\r\n"
              "Message-ID: <1795446247.", 175) == 0,
       "bounce: From, To, Subject, Date, Message-ID");

    ok(has("@mx.example.com>\r\nAuto-Submitted: auto-replied\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: multipart/report; report-type=delivery-status;\r\n"
           "\tboundary=\"=_report_"), "bounce: MIME header");

    ok(!has("Content-Transfer-Encoding"), "bounce: all 7bit");

    ok(has("\r\n\r\nThis is a MIME-encapsulated message.\r\n\r\n--=_report_"),
       "bounce: preamble");

    ok(has("Content-Type: text/plain; charset=us-ascii\r\n\r\n"
           "This is the mail system at mx.example.com.\r\n"),
       "bounce: text part");

    ok(has("\r\n<bob@example.org>: failed, host mx.example.org said:\r\n"
           "    550 5.1.1 No such user\r\n"), "bounce: text, remote reply");

    ok(has("\r\n<carol@example.net>: failed\r\n"
           "    Host or domain name not found\r\n"),
       "bounce: text, local reason");

    ok(has("Content-Type: message/delivery-status\r\n\r\n"
           "Original-Envelope-Id: QQ=314\r\n"
           "Reporting-MTA: dns; mx.example.com\r\n"
           "Arrival-Date: Mon, 23 Nov 2026 14:04:07 +0000\r\n"
           "X-Queue-ID: q1a2b3\r\n"
           "\r\n"
           "Final-Recipient: rfc822; bob@example.org\r\n"
           "Action: failed\r\n"
           "Status: 5.1.1\r\n"
           "Remote-MTA: dns; mx.example.org\r\n"
           "Diagnostic-Code: smtp; 550 5.1.1 No such user\r\n"
           "Last-Attempt-Date: Mon, 23 Nov 2026 15:03:57 +0000\r\n"
           "\r\n"
           "Original-Recipient: rfc822;carol+dsn@example.net\r\n"
           "Final-Recipient: rfc822; carol@example.net\r\n"
           "Action: failed\r\n"
           "Status: 5.4.4\r\n"
           "Diagnostic-Code: smtp; Host or domain name not found\r\n"
           "\r\n--=_report_"),
       "bounce: delivery-status fields");

    ok(!has("Will-Retry-Until"), "bounce: no Will-Retry-Until");

    ok(has("Content-Description: Message Headers\r\n"
           "Content-Type: text/rfc822-headers\r\n\r\n"
           "Received: from client (client [192.0.2.1])\r\n"
           "\tby mx.example.com; Mon, 23 Nov 2026 15:00:00 +0000\r\n"
           "From: Alice <alice@example.com>\r\n"
           "To: bob@example.org\r\n"
           "Subject: lunch\r\n"
           "\r\n"
           "\r\n--=_report_"), "bounce: the original's header");

    ok(!has("Return-Path") && !has("Shall we"),
       "bounce: neither Return-Path nor body returned");

    ok(out_len > 33 && memcmp(out + out_len - 33, "\r\n--=_report_", 13) == 0
       && memcmp(out + out_len - 4, "--\r\n", 4) == 0, "bounce: close");
}


static void
test_report_delay(void)
{
    ngx_mail_queue_report_t       r;
    ngx_mail_queue_report_rcpt_t  rcpt;

    memset(&rcpt, 0, sizeof(rcpt));

    rcpt.address = str("bob@example.org");
    rcpt.action = NGX_MAIL_QUEUE_REPORT_DELAYED;
    rcpt.status = str("4.4.1");
    rcpt.remote_mta = str("mx.example.org");
    rcpt.diagnostic = str("421 4.4.1 try later");
    rcpt.last_attempt = 951782400;

    base(&r, &rcpt, 1);
    r.retry_until = 4102444800LL;

    ok(report(&r), "delay: well formed");

    ok(has("\r\nSubject: Delayed Mail (still being retried)\r\n"),
       "delay: Subject");

    ok(has("\r\nFinal-Recipient: rfc822; bob@example.org\r\n"
           "Action: delayed\r\n"
           "Status: 4.4.1\r\n"
           "Remote-MTA: dns; mx.example.org\r\n"
           "Diagnostic-Code: smtp; 421 4.4.1 try later\r\n"
           "Last-Attempt-Date: Tue, 29 Feb 2000 00:00:00 +0000\r\n"
           "Will-Retry-Until: Fri, 1 Jan 2100 00:00:00 +0000\r\n"
           "\r\n--"), "delay: fields, leap day, Will-Retry-Until");

    ok(has("retried until Fri, 1 Jan 2100 00:00:00 +0000;"),
       "delay: text says until when");

    r.arrival = 0;
    r.queue_id.len = 0;
    rcpt.last_attempt = 0;
    r.retry_until = 0;

    ok(report(&r) && !has("Arrival-Date") && !has("Last-Attempt-Date")
       && !has("Will-Retry-Until") && !has("X-Queue-ID")
       && !has("queue ID"), "delay: unknown dates and id left out");
}


static void
test_report_success(void)
{
    ngx_mail_queue_report_t       r;
    ngx_mail_queue_report_rcpt_t  rcpt[2];

    memset(rcpt, 0, sizeof(rcpt));

    rcpt[0].address = str("bob@example.org");
    rcpt[0].action = NGX_MAIL_QUEUE_REPORT_DELIVERED;
    rcpt[0].status = str("2.0.0");

    rcpt[1].address = str("dave@example.org");
    rcpt[1].action = NGX_MAIL_QUEUE_REPORT_RELAYED;
    rcpt[1].status = str("2.0.0");
    rcpt[1].remote_mta = str("mx.example.org");
    rcpt[1].diagnostic = str("250 2.0.0 Ok: queued as 1234");

    base(&r, rcpt, 2);
    r.ret_full = 1;

    ok(report(&r), "success: well formed");
    ok(has("\r\nSubject: Successful Mail Delivery Report\r\n"),
       "success: Subject");
    ok(has("\r\nAction: delivered\r\nStatus: 2.0.0\r\n")
       && has("\r\nAction: relayed\r\nStatus: 2.0.0\r\n"),
       "success: delivered and relayed");

    ok(has("Content-Type: message/rfc822\r\n\r\n"
           "Received: from client (client [192.0.2.1])\r\n")
       && has("Subject: lunch\r\n\r\nShall we have lunch?\r\n\r\n--=_report_")
       && !has("Return-Path"), "RET=FULL: the whole message");

    r.full_limit = sizeof(message) - 1 - 34;

    ok(report(&r) && has("Content-Type: message/rfc822")
       && has("Shall we"), "RET=FULL: at the limit, whole");

    r.full_limit--;

    ok(report(&r) && has("Content-Type: text/rfc822-headers")
       && !has("Shall we"), "RET=FULL: over the limit, header only");

    rcpt[1].action = NGX_MAIL_QUEUE_REPORT_DELAYED;

    ok(report(&r) && has("Subject: Delayed Mail"),
       "mixed delayed and delivered: a delay warning");

    rcpt[0].action = 17;

    ok(report(&r) && has("Subject: Undelivered Mail")
       && has("\r\nFinal-Recipient: rfc822; bob@example.org\r\n"
              "Action: failed\r\nStatus: 2.0.0\r\n"),
       "an unknown action is reported as failed");
}


static void
test_report_injection(void)
{
    ngx_mail_queue_report_t       r;
    ngx_mail_queue_report_rcpt_t  rcpt;
    static const char             diag[] =
        "550 bad\r\nBcc: victim@example.net\r\n\r\n\0\x7f\xff\x1b[0m end";

    memset(&rcpt, 0, sizeof(rcpt));

    rcpt.address = str("bob@example.org\r\nX-Evil: 1");
    rcpt.action = NGX_MAIL_QUEUE_REPORT_FAILED;
    rcpt.status = str("5.1.1\r\nX-Evil: 2");
    rcpt.remote_mta = str("mx.example.org\r\nX-Evil: 3");
    rcpt.diagnostic.len = sizeof(diag) - 1;
    rcpt.diagnostic.data = (const unsigned char *) diag;
    rcpt.orcpt = str("rfc822;x+0D+0AX-Evil:+204@example.org");

    base(&r, &rcpt, 1);
    r.to = str("alice@example.com>\r\nX-Evil: 5");
    r.envid = str("id\r\nX-Evil: 6");
    r.queue_id = str("q\nX-Evil: 7");

    ok(report(&r), "injection: well formed");
    ok(!has("\nX-Evil") && !has("\nBcc"), "injection: no field added");

    ok(has("Diagnostic-Code: smtp; 550 bad??Bcc: victim@example.net?????"
           "???[0m end\r\n"), "injection: diagnostic shown with ?");

    ok(has("Status: 5.0.0\r\n"), "injection: a bad status is 5.0.0");
    ok(has("Remote-MTA: dns; mx.example.org??X-Evil:?3\r\n"),
       "injection: remote MTA");
    ok(has("Original-Recipient: rfc822;x+0D+0AX-Evil:+204@example.org\r\n"),
       "injection: ORCPT decoding to a control stays xtext");
    ok(has("Final-Recipient: rfc822; bob@example.org??X-Evil: 1\r\n"),
       "injection: Final-Recipient");
    ok(has("To: <alice@example.com>??X-Evil: 5>\r\n"), "injection: To");
}


static void
test_report_long(void)
{
    size_t                        i;
    char                         *diag, *msg, *p;
    ngx_mail_queue_report_t       r;
    ngx_mail_queue_report_rcpt_t  rcpt;

    diag = malloc(6000);
    msg = malloc(10000);

    if (diag == NULL || msg == NULL) {
        ok(0, "long: memory");
        return;
    }

    /* 2000 octets without a space, then words */
    memset(diag, 'x', 2000);
    p = diag + 2000;

    for (i = 0; i < 300; i++) {
        p += sprintf(p, " word%zu", i);
    }

    memset(&rcpt, 0, sizeof(rcpt));
    rcpt.address = str("bob@example.org");
    rcpt.action = NGX_MAIL_QUEUE_REPORT_FAILED;
    rcpt.status = str("5.0.0");
    rcpt.diagnostic.len = p - diag;
    rcpt.diagnostic.data = (unsigned char *) diag;

    p = msg;
    p += sprintf(p, "Subject: ");
    memset(p, 's', 2500);
    p += 2500;
    p += sprintf(p, "\r\nX-Bare: lf\nX-Cr: cr\r\r\n\r\nbody ");
    memset(p, 'b', 2500);
    p += 2500;

    base(&r, &rcpt, 1);
    r.message.len = p - msg;
    r.message.data = (unsigned char *) msg;
    r.ret_full = 1;

    ok(report(&r), "long: well formed, lines folded");

    ok(has("Diagnostic-Code: smtp; xxxx") && has("\r\n xxxx")
       && has(" word299\r\n") && has("\r\n word"),
       "long: diagnostic folded inside the long word and between words");

    ok(has("\r\n    word"), "long: text part wrapped");

    ok(has("\r\n sssss") && has("\r\nbbbb"),
       "long: the original's long header folded, long body line broken");

    ok(has("\r\nX-Bare: lf\r\nX-Cr: cr\r\n\r\n\r\nbody "),
       "long: bare LF and CR made CRLF");

    /* our text after a value that ends near the line's limit */
    memset(diag, 'a', 975);
    memcpy(diag + 975, "@example.org", 12);
    rcpt.address.len = 987;
    rcpt.address.data = (unsigned char *) diag;
    rcpt.remote_mta = rcpt.address;

    ok(report(&r) && has("@example.org\r\n >: failed, host aaa"),
       "long: our text after a long address folded");

    memcpy(diag + 970, "\xc3\xb6", 2);

    ok(report(&r) && has("aaa\\x{F6}aaa"), "long: a long UTF-8 address");

    rcpt.address = str("bob@example.org");
    rcpt.remote_mta.len = 0;

    /* no line end at all: one is added */
    r.message = str("Subject: x");
    r.ret_full = 0;

    ok(report(&r) && has("text/rfc822-headers\r\n\r\nSubject: x\r\n\r\n--"),
       "a header without line end ends with CRLF");

    r.message = str("");

    ok(report(&r) && has("text/rfc822-headers\r\n\r\n\r\n--"),
       "an empty message");

    r.message = str("Return-Path: <a@b>\r\n\tfolded\r\n"
                    "RETURN-PATH: <c@d>\r\nSubject: y\r\n\r\nz");

    ok(report(&r) && has("headers\r\n\r\nRETURN-PATH: <c@d>\r\n"
                         "Subject: y\r\n\r\n\r\n--"),
       "only the first Return-Path is the queue's, folds and all");

    free(diag);
    free(msg);
}


static void
test_report_utf8(void)
{
    ngx_mail_queue_report_t       r;
    ngx_mail_queue_report_rcpt_t  rcpt;

    memset(&rcpt, 0, sizeof(rcpt));

    rcpt.address = str("j\xc3\xb6rg+x=y@\xe4\xbe\x8b\xe3\x81\x88.jp\xff");
    rcpt.action = NGX_MAIL_QUEUE_REPORT_FAILED;
    rcpt.status = str("5.1.1");
    rcpt.diagnostic = str("550 unknown \xc3\xb6");

    base(&r, &rcpt, 1);

    ok(report(&r), "utf-8: well formed");
    ok(has("Final-Recipient: utf-8; j\\x{F6}rg\\x{2B}x\\x{3D}y@"
           "\\x{4F8B}\\x{3048}.jp\\x{FFFD}\r\n"),
       "utf-8: Final-Recipient as utf-8-addr-xtext");
    ok(has("charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
       && has("\r\n<j\xc3\xb6rg+x=y@"), "utf-8: text part 8bit, address kept");
    ok(has("\r\nDiagnostic-Code: smtp; 550 unknown ??\r\n"),
       "utf-8: remote text in ASCII");
    ok(has("boundary=\"=_report_") && occurs("8bit") == 2,
       "utf-8: the multipart is 8bit too");

    /* RFC 3629 4: a surrogate, an overlong form: U+FFFD for each octet */
    rcpt.address = str("\xf0\x9f\x98\x80@\xed\xa0\x80\xe0\x80.example");

    ok(report(&r)
       && has("Final-Recipient: utf-8; \\x{1F600}@\\x{FFFD}\\x{FFFD}"
              "\\x{FFFD}\\x{FFFD}\\x{FFFD}.example\r\n"),
       "utf-8: four octets one character, ill-formed octets U+FFFD each");
}


static void
test_report_quoted(void)
{
    ngx_mail_queue_report_t       r;
    ngx_mail_queue_report_rcpt_t  rcpt;

    memset(&rcpt, 0, sizeof(rcpt));

    rcpt.address = str("\"john doe\"@example.org");
    rcpt.action = NGX_MAIL_QUEUE_REPORT_FAILED;
    rcpt.status = str("5.1.1");

    base(&r, &rcpt, 1);

    ok(report(&r)
       && has("\r\nFinal-Recipient: rfc822; \"john doe\"@example.org\r\n")
       && has("\r\n<\"john doe\"@example.org>: failed\r\n"),
       "a quoted local part keeps its space");

    rcpt.address = str("\"j\xc3\xb6rg x\"@example.org");

    ok(report(&r)
       && has("\r\nFinal-Recipient: utf-8; \"j\\x{F6}rg\\x{20}x\"@"
              "example.org\r\n"),
       "... in utf-8-addr-xtext as \\x{20}");
}


static void
test_report_boundary(void)
{
    char                          b0[NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN + 1];
    char                          b1[NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN + 1];
    char                          msg[256];
    ngx_mail_queue_report_t       r;
    ngx_mail_queue_report_rcpt_t  rcpt;

    ngx_mail_queue_report_boundary(7, 0, b0);
    ngx_mail_queue_report_boundary(7, 1, b1);
    b0[NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN] = '\0';
    b1[NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN] = '\0';

    ok(strcmp(b0, b1) != 0 && strncmp(b0, "=_report_", 9) == 0,
       "boundaries differ by attempt");

    snprintf(msg, sizeof(msg), "Subject: x\r\n\r\n--%s--\r\n", b0);

    memset(&rcpt, 0, sizeof(rcpt));
    rcpt.address = str("bob@example.org");
    rcpt.action = NGX_MAIL_QUEUE_REPORT_FAILED;

    base(&r, &rcpt, 1);
    r.boundary_seed = 7;
    r.message = str(msg);
    r.ret_full = 1;

    ok(report(&r) && has(b1) && occurs(b0) == 1,
       "a boundary found in the original is replaced");

    snprintf(msg, sizeof(msg), "Subject: %s\r\n\r\n", b1);
    rcpt.diagnostic = str(b0);

    ok(report(&r) && occurs(b0) == 2 && occurs(b1) == 1,
       "the diagnostic and the original both checked");

    ok(has("Status: 5.0.0\r\n"), "a missing status is X.0.0");
}


static void
test_report_status(void)
{
    size_t                        i;
    ngx_mail_queue_report_t       r;
    ngx_mail_queue_report_rcpt_t  rcpt;
    static const char            *good[] = { "5.1.1", "4.7.1", "2.0.0",
                                             "5.123.999", NULL };
    static const char            *bad[] = { "3.1.1", "5.1", "5.1.1.1",
                                            "5..1", "5.1.", "5.1234.1",
                                            "51.1.1", ".1.1", "5.1.1 ",
                                            NULL };
    char                          expect[64];

    memset(&rcpt, 0, sizeof(rcpt));
    rcpt.address = str("bob@example.org");
    rcpt.action = NGX_MAIL_QUEUE_REPORT_DELAYED;
    base(&r, &rcpt, 1);

    for (i = 0; good[i]; i++) {
        rcpt.status = str(good[i]);
        snprintf(expect, sizeof(expect), "\r\nStatus: %s\r\n", good[i]);
        ok(report(&r) && has(expect), "status \"%s\" kept", good[i]);
    }

    for (i = 0; bad[i]; i++) {
        rcpt.status = str(bad[i]);
        ok(report(&r) && has("\r\nStatus: 4.0.0\r\n"),
           "status \"%s\" replaced by 4.0.0", bad[i]);
    }
}


void
test_report(void)
{
    test_report_bounce();
    test_report_delay();
    test_report_success();
    test_report_injection();
    test_report_long();
    test_report_utf8();
    test_report_quoted();
    test_report_boundary();
    test_report_status();

    free(out);
    out = NULL;
}
