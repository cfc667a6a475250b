
/*
 * libFuzzer target for the delivery status notifications: what a remote
 * server said (the reply text, its host name) and what the envelope and
 * the message held (addresses, ORCPT, ENVID, the original) are the
 * fuzzer's.
 *
 * The first octets choose the action, RET, the limit, the seed and the
 * lengths of the values; the rest is cut into them, the original last.
 * Besides the sanitizers the target checks that the report stays within
 * the size promised, has CRLF line ends only and no line over 998
 * octets, that its header and its delivery-status part hold only the
 * fields the report writes (nothing from outside made a field of its
 * own), and that the delivery-status part is ASCII.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_queue_report.h"


#define CONTROL  16


static const char  *header_fields[] = {
    "From: ", "To: ", "Subject: ", "Date: ", "Message-ID: ",
    "Auto-Submitted: ", "MIME-Version: ", "Content-Type: ",
    "Content-Transfer-Encoding: ", " ", "\t", NULL
};

static const char  *status_fields[] = {
    "Reporting-MTA: dns; ", "X-Queue-ID: ", "Original-Envelope-Id: ",
    "Arrival-Date: ", "Original-Recipient: ", "Final-Recipient: ",
    "Action: ", "Status: ", "Remote-MTA: dns; ", "Diagnostic-Code: smtp; ",
    "Last-Attempt-Date: ", "Will-Retry-Until: ", " ", NULL
};


static const uint8_t *
find(const uint8_t *p, const uint8_t *end, const char *needle)
{
    size_t  n;

    n = strlen(needle);

    for ( /* void */ ; (size_t) (end - p) >= n; p++) {
        if (memcmp(p, needle, n) == 0) {
            return p;
        }
    }

    return NULL;
}


/* every line of [p, end) begins with one of "fields", or is empty */

static void
fields_only(const uint8_t *p, const uint8_t *end, const char **fields)
{
    size_t          i;
    const uint8_t  *eol;

    while (p < end) {
        eol = find(p, end, "\r\n");
        if (eol == NULL) {
            abort();
        }

        if (eol > p) {
            for (i = 0; fields[i]; i++) {
                if ((size_t) (eol - p) >= strlen(fields[i])
                    && memcmp(p, fields[i], strlen(fields[i])) == 0)
                {
                    break;
                }
            }

            if (fields[i] == NULL) {
                abort();
            }
        }

        p = eol + 2;
    }
}


static void
check(const uint8_t *out, size_t len)
{
    size_t          i, col;
    const uint8_t  *end, *header_end, *status, *status_end, *b;
    char            delimiter[NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN + 5];
    char            part[NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN + 128];

    col = 0;

    for (i = 0; i < len; i++) {
        if (out[i] == '\r') {
            if (i + 1 == len || out[i + 1] != '\n') {
                abort();
            }

            i++;
            col = 0;
            continue;
        }

        if (out[i] == '\n' || ++col > 998) {
            abort();
        }
    }

    end = out + len;

    header_end = find(out, end, "\r\n\r\n");
    if (header_end == NULL) {
        abort();
    }

    fields_only(out, header_end + 2, header_fields);

    /* at a line start: a value from outside may hold the same text */
    b = find(out, header_end, "\r\n\tboundary=\"");
    if (b == NULL) {
        abort();
    }

    memcpy(delimiter, "\r\n--", 4);
    memcpy(delimiter + 4, b + 13, NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN);
    delimiter[NGX_MAIL_QUEUE_REPORT_BOUNDARY_LEN + 4] = '\0';

    /* the delimiter is unique: the part cannot be imitated */
    strcpy(part, delimiter);
    strcat(part, "\r\nContent-Description: Delivery report\r\n"
           "Content-Type: message/delivery-status\r\n\r\n");

    status = find(header_end, end, part);
    if (status == NULL) {
        abort();
    }

    status += strlen(part);
    status_end = find(status, end, delimiter);

    if (status_end == NULL) {
        abort();
    }

    fields_only(status, status_end + 2, status_fields);

    for (b = status; b < status_end; b++) {
        if (*b >= 0x80 || *b == '\0') {
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                        i, len, need;
    uint8_t                      *out;
    const uint8_t                *p, *end;
    ngx_mail_queue_str_t         *values[8];
    ngx_mail_queue_report_t       r;
    ngx_mail_queue_report_rcpt_t  rcpt[2];

    if (size < CONTROL || size > 65536) {
        return 0;
    }

    memset(&r, 0, sizeof(r));
    memset(rcpt, 0, sizeof(rcpt));

    rcpt[0].action = data[0] & 0x07;   /* unknown actions too */
    rcpt[1].action = (data[0] >> 3) & 0x03;
    r.nrcpts = 1 + (data[0] >> 7);
    r.ret_full = data[1] & 1;
    r.full_limit = (data[1] >> 1) * 64;
    r.boundary_seed = data[2] | (unsigned long long) data[3] << 8;
    r.now = (time_t) data[4] << 24;
    r.arrival = r.now - data[5];
    r.retry_until = r.now + (time_t) data[6] * 86400;
    rcpt[0].last_attempt = r.now;

    r.reporting_mta.data = (const unsigned char *) "mx.example.com";
    r.reporting_mta.len = 14;
    r.from.data = (const unsigned char *) "MAILER-DAEMON@mx.example.com";
    r.from.len = 28;
    r.queue_id.data = (const unsigned char *) "q1";
    r.queue_id.len = 2;
    r.rcpts = rcpt;

    values[0] = &rcpt[0].address;
    values[1] = &rcpt[0].diagnostic;
    values[2] = &rcpt[0].remote_mta;
    values[3] = &rcpt[0].orcpt;
    values[4] = &rcpt[0].status;
    values[5] = &r.envid;
    values[6] = &r.to;
    values[7] = &rcpt[1].diagnostic;

    p = data + CONTROL;
    end = data + size;

    /* data[8 .. 15]: each value's length, times 4 for the diagnostic */
    for (i = 0; i < 8; i++) {
        len = data[8 + i] * ((i == 1 || i == 7) ? 4 : 1);
        len = ((size_t) (end - p) < len) ? (size_t) (end - p) : len;

        values[i]->data = p;
        values[i]->len = len;
        p += len;
    }

    rcpt[1].address = rcpt[0].diagnostic;
    rcpt[1].remote_mta = rcpt[0].address;

    r.message.data = p;
    r.message.len = end - p;

    need = ngx_mail_queue_report_size(&r);

    out = malloc(need);
    if (out == NULL) {
        return 0;
    }

    len = ngx_mail_queue_report_write(&r, out);

    if (len > need) {
        abort();
    }

    /* no boundary left: only when the content holds the first ones */
    if (len > 0) {
        check(out, len);
    }

    free(out);

    return 0;
}
