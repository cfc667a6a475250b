
/*
 * What the queue writes, for the Perl tests that read it with a MIME
 * parser of their own (t/queue-06-report.t):
 *
 *   queue-sample report bounce|delay|success|full|utf8
 *       a delivery status notification about a fixed message;
 *   queue-sample downgrade < message
 *       the message converted to 7 bit, or exit status 2 when it cannot
 *       be.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_queue_report.h"
#include "ngx_mail_queue_downgrade.h"


#define INPUT_MAX  (16 * 1024 * 1024)


static const char  sample_message[] =
    "Return-Path: <alice@example.com>\r\n"
    "Received: from client (client [192.0.2.1])\r\n"
    "\tby mx.example.com; Mon, 23 Nov 2026 15:00:00 +0000\r\n"
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.org, carol@example.net\r\n"
    "Subject: lunch\r\n"
    "Message-ID: <lunch@example.com>\r\n"
    "\r\n"
    "Shall we have lunch?\r\n"
    "--=_report_0000000000000000\r\n";


static ngx_mail_queue_str_t
str(const char *s)
{
    ngx_mail_queue_str_t  v;

    v.len = strlen(s);
    v.data = (const unsigned char *) s;

    return v;
}


static int
report(const char *kind)
{
    size_t                        len;
    unsigned char                *buf;
    ngx_mail_queue_report_t       r;
    ngx_mail_queue_report_rcpt_t  rcpt[2];

    memset(&r, 0, sizeof(r));
    memset(rcpt, 0, sizeof(rcpt));

    rcpt[0].address = str("bob@example.org");
    rcpt[0].orcpt = str("rfc822;bob+2Bx@example.org");
    rcpt[0].action = NGX_MAIL_QUEUE_REPORT_FAILED;
    rcpt[0].status = str("5.1.1");
    rcpt[0].remote_mta = str("mx.example.org");
    rcpt[0].diagnostic = str("550 5.1.1 <bob@example.org>: Recipient address"
                             " rejected: User unknown in virtual mailbox"
                             " table; see https://example.org/help");
    rcpt[0].last_attempt = 1795446200;

    rcpt[1].address = str("carol@example.net");
    rcpt[1].action = NGX_MAIL_QUEUE_REPORT_FAILED;
    rcpt[1].status = str("5.4.4");
    rcpt[1].diagnostic = str("Host or domain name not found");

    r.reporting_mta = str("mx.example.com");
    r.from = str("MAILER-DAEMON@mx.example.com");
    r.to = str("alice@example.com");
    r.envid = str("QQ+3D314");
    r.queue_id = str("4Fb2kQ");
    r.arrival = 1795442647;
    r.now = 1795446247;
    r.retry_until = 1795874647;
    r.message = str(sample_message);
    r.rcpts = rcpt;
    r.nrcpts = 2;
    r.boundary_seed = 0x1234567890abcdefULL;

    if (strcmp(kind, "delay") == 0) {
        rcpt[0].action = NGX_MAIL_QUEUE_REPORT_DELAYED;
        rcpt[0].status = str("4.4.1");
        rcpt[0].diagnostic = str("421 4.4.1 Connection timed out");
        r.nrcpts = 1;

    } else if (strcmp(kind, "success") == 0) {
        rcpt[0].action = NGX_MAIL_QUEUE_REPORT_DELIVERED;
        rcpt[0].status = str("2.0.0");
        rcpt[0].remote_mta.len = 0;
        rcpt[0].diagnostic.len = 0;
        rcpt[1].action = NGX_MAIL_QUEUE_REPORT_RELAYED;
        rcpt[1].status = str("2.0.0");
        rcpt[1].remote_mta = str("mx.example.net");
        rcpt[1].diagnostic = str("250 2.0.0 Ok: queued as 1234");

    } else if (strcmp(kind, "full") == 0) {
        r.ret_full = 1;

    } else if (strcmp(kind, "utf8") == 0) {
        rcpt[0].address = str("j\xc3\xb6rg@example.org");
        r.nrcpts = 1;
        r.ret_full = 1;

    } else if (strcmp(kind, "bounce") != 0) {
        fprintf(stderr, "unknown report kind \"%s\"\n", kind);
        return 1;
    }

    buf = malloc(ngx_mail_queue_report_size(&r));
    if (buf == NULL) {
        return 1;
    }

    len = ngx_mail_queue_report_write(&r, buf);

    if (len == 0 || fwrite(buf, 1, len, stdout) != len) {
        free(buf);
        return 1;
    }

    free(buf);

    return 0;
}


static int
downgrade(void)
{
    int             rc;
    size_t          len, n, size;
    unsigned char  *in, *out;

    in = malloc(INPUT_MAX);
    if (in == NULL) {
        return 1;
    }

    len = 0;

    while ((n = fread(in + len, 1, INPUT_MAX - len, stdin)) > 0) {
        len += n;
    }

    size = ngx_mail_queue_downgrade_size(in, len);

    out = malloc(size ? size : 1);
    if (out == NULL) {
        free(in);
        return 1;
    }

    n = ngx_mail_queue_downgrade(in, len, out);

    if (n == (size_t) -1) {
        rc = 2;

    } else if (n > size || fwrite(out, 1, n, stdout) != n) {
        rc = 1;

    } else {
        rc = 0;
    }

    free(in);
    free(out);

    return rc;
}


int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "report") == 0) {
        return report(argv[2]);
    }

    if (argc == 2 && strcmp(argv[1], "downgrade") == 0) {
        return downgrade();
    }

    fprintf(stderr, "usage: queue-sample report KIND | downgrade\n");

    return 1;
}
