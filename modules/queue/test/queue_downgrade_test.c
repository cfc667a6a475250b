
/*
 * 8BITMIME to 7 bit: what a message becomes for a server without
 * 8BITMIME, octet for octet, and which messages cannot be converted.
 * Every conversion is also checked as a whole: as long as the size
 * promised, 7 bit, no line of quoted-printable longer than 76.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_queue_downgrade.h"
#include "queue_test.h"


static unsigned char  *out;
static size_t          out_len;


/* converts "in"; 1 when it worked and the result is sound */

static int
convert(const char *in, size_t len)
{
    size_t  size, i, col;

    free(out);

    size = ngx_mail_queue_downgrade_size((const unsigned char *) in, len);
    out = malloc(size + 1);

    if (out == NULL) {
        return 0;
    }

    out_len = ngx_mail_queue_downgrade((const unsigned char *) in, len, out);

    if (out_len == (size_t) -1) {
        return size == 0 ? -1 : 0;
    }

    if (out_len != size || ngx_mail_queue_is_8bit(out, out_len)) {
        return 0;
    }

    col = 0;

    for (i = 0; i < out_len; i++) {
        col = (out[i] == '\n') ? 0 : col + 1;

        /* the tests' own long lines are all 8-bit, so encoded */
        if (col > 77) {
            return 0;
        }
    }

    out[out_len] = '\0';

    return 1;
}


static int
convert_str(const char *in)
{
    return convert(in, strlen(in));
}


static int
is(const char *expect)
{
    return out_len == strlen(expect) && memcmp(out, expect, out_len) == 0;
}


static int
hex(unsigned ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }

    return (ch >= 'A' && ch <= 'F') ? (int) ch - 'A' + 10 : -1;
}


/* RFC 2045 6.7 decoding, strict: 1 when "qp" decodes to "plain" */

static int
qp_decodes_to(const unsigned char *qp, size_t len, const char *plain,
    size_t plain_len)
{
    size_t  i, n;
    char   *buf;
    int     same;

    buf = malloc(len + 1);
    if (buf == NULL) {
        return 0;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (qp[i] != '=') {
            buf[n++] = qp[i];
            continue;
        }

        if (i + 2 < len && qp[i + 1] == '\r' && qp[i + 2] == '\n') {
            i += 2;
            continue;
        }

        if (i + 2 >= len || hex(qp[i + 1]) < 0 || hex(qp[i + 2]) < 0) {
            free(buf);
            return 0;
        }

        buf[n++] = (char) (hex(qp[i + 1]) * 16 + hex(qp[i + 2]));
        i += 2;
    }

    same = (n == plain_len && memcmp(buf, plain, n) == 0);
    free(buf);

    return same;
}


static void
test_downgrade_simple(void)
{
    static const char  seven[] =
        "From: a@example.com\r\nSubject: x\r\n\r\nplain text\r\n";
    static const char  nul[] = "Subject: n\r\n\r\na\0b\r\n";

    ok(!ngx_mail_queue_is_8bit((const unsigned char *) "abc\r\n", 5)
       && ngx_mail_queue_is_8bit((const unsigned char *) "a\xe9", 2)
       && ngx_mail_queue_is_8bit((const unsigned char *) "a\0b", 3),
       "is_8bit: ASCII, 8-bit, NUL");

    ok(convert_str(seven) && is(seven), "7-bit message copied");

    ok(convert_str("") && out_len == 0, "empty message");

    ok(convert_str("From: a@example.com\r\nSubject: x\r\n\r\nCaf\xc3\xa9\r\n")
       && is("From: a@example.com\r\nSubject: x\r\n"
             "MIME-Version: 1.0\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n"
             "\r\nCaf=C3=A9\r\n"),
       "plain message: MIME-Version and CTE added");

    ok(convert_str("MIME-Version: 1.0\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: 8bit\r\n"
                   "Subject: x\r\n\r\n"
                   "\xc3\xa9t\xc3\xa9 = summer \r\n"
                   "-- \r\n.\r\nend\t")
       && is("MIME-Version: 1.0\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n"
             "Subject: x\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
             "=C3=A9t=C3=A9 =3D summer=20\r\n"
             "=2D-=20\r\n.\r\nend=09"),
       "8bit replaced: =, trailing space and tab, \"-\" at line start");

    ok(convert_str("Subject: x\n"
                   "Content-Transfer-Encoding:\n (folded) 8bit\n\n"
                   "a\xff\nb\rc\r\n")
       && is("Subject: x\n"
             "MIME-Version: 1.0\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n\n"
             "a=FF\r\nb=0Dc\r\n"),
       "bare LF line ends, lone CR, folded CTE field");

    ok(convert(nul, sizeof(nul) - 1) == 1
       && is("Subject: n\r\nMIME-Version: 1.0\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
             "a=00b\r\n"), "NUL encoded");

    ok(convert_str("Subject: x\r\n\r\n") && is("Subject: x\r\n\r\n")
       && convert_str("Subject: x") && is("Subject: x"),
       "header only");
}


static void
test_downgrade_refused(void)
{
    char    *deep, *p;
    size_t   i;

    ok(convert_str("Subject: J\xc3\xb6rg\r\n\r\nbody\r\n") == -1,
       "8-bit header: cannot be converted");

    ok(convert_str("Subject: x\r\n\r\nbody\r\n\xff") == 1,
       "... but an 8-bit body can");

    ok(convert_str("Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                   "\xffQUJD\r\n") == -1, "8-bit in base64: refused");

    ok(convert_str("Subject: x\r\nContent-Transfer-Encoding: x-uue\r\n\r\n"
                   "\xff\r\n") == -1, "8-bit in an unknown encoding: refused");

    ok(convert_str("Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                   "QUJD\r\n") == 1, "7-bit base64 copied");

    ok(convert_str("Content-Type: message/delivery-status\r\n\r\n"
                   "Final-Recipient: rfc822; \xc3\xa9@example.org\r\n") == -1,
       "8-bit message/delivery-status: refused");

    ok(convert_str("Content-Type: message/rfc822\r\n\r\n"
                   "Subject: \xc3\xa9\r\n\r\nbody\r\n") == -1,
       "8-bit header of an attached message: refused");

    ok(convert_str("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                   "no delimiter \xff\r\n") == -1,
       "8-bit multipart without delimiter: refused");

    ok(convert_str("Content-Type: multipart/mixed; boundary=b\r\n"
                   "Content-Transfer-Encoding: base64\r\n\r\n"
                   "--b\r\n\r\n\xff\r\n--b--\r\n") == -1,
       "multipart labelled base64: refused");

    deep = malloc(64 * 64 + 64);
    if (deep == NULL) {
        return;
    }

    p = deep;

    for (i = 0; i < 40; i++) {
        p += sprintf(p, "Content-Type: multipart/mixed; boundary=b%zux\r\n"
                     "\r\n--b%zux\r\n", i, i);
    }

    p += sprintf(p, "\r\n\xff\r\n");

    ok(convert(deep, p - deep) == -1, "40 multiparts deep: refused");

    p = deep;

    for (i = 0; i < 20; i++) {
        p += sprintf(p, "Content-Type: multipart/mixed; boundary=b%zux\r\n"
                     "\r\n--b%zux\r\n", i, i);
    }

    p += sprintf(p, "\r\n\xff\r\n");

    ok(convert(deep, p - deep) == 1 && out_len > 20 * 40
       && memcmp(out + out_len - 52, "Content-Transfer-Encoding:"
                 " quoted-printable\r\n\r\n=FF\r\n", 52) == 0,
       "20 multiparts deep, no close delimiters: converted");

    free(deep);
}


static void
test_downgrade_multipart(void)
{
    static const char  in[] =
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed;\r\n"
        " boundary=\"=_outer (x)\"; charset=x\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "preamble \xc3\xa9\r\n"
        "--=_outer (x)\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "gr\xc3\xbc\xc3\x9f\r\n"
        "--=_outer (x)  \r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "AAEC\r\n"
        "--=_outer (x)\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "ascii only\r\n"
        "--=_outer (x)\r\n"
        "Content-Type: multipart/alternative; boundary=inner\r\n"
        "\r\n"
        "--inner\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "caf\xe9\r\n"
        "--inner\r\n"
        "Content-Type: text/html\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "caf=E9\r\n"
        "--inner--\r\n"
        "--=_outer (x)\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        "Subject: inner\r\n"
        "\r\n"
        "\xe2\x82\xac\r\n"
        "--=_outer (x)--\r\n"
        "epilogue \xff\r\n";

    static const char  expect[] =
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed;\r\n"
        " boundary=\"=_outer (x)\"; charset=x\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "preamble ??\r\n"
        "--=_outer (x)\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "gr=C3=BC=C3=9F\r\n"
        "--=_outer (x)  \r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "AAEC\r\n"
        "--=_outer (x)\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "ascii only\r\n"
        "--=_outer (x)\r\n"
        "Content-Type: multipart/alternative; boundary=inner\r\n"
        "\r\n"
        "--inner\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "caf=E9\r\n"
        "--inner\r\n"
        "Content-Type: text/html\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "caf=E9\r\n"
        "--inner--\r\n"
        "--=_outer (x)\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        "Subject: inner\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "=E2=82=AC\r\n"
        "--=_outer (x)--\r\n"
        "epilogue ?\r\n";

    ok(convert(in, sizeof(in) - 1) == 1 && is(expect),
       "multipart: 8-bit leaves encoded, others copied, nested, message");

    ok(convert_str("Content-Type: multipart/digest; boundary=d\r\n\r\n"
                   "--d\r\n\r\nSubject: m\r\n\r\n\xc3\xa9\r\n"
                   "--d\r\nContent-Type: text/plain\r\n\r\n\xc3\xa9\r\n--d--")
       && is("Content-Type: multipart/digest; boundary=d\r\n\r\n"
             "--d\r\n\r\nSubject: m\r\n"
             "MIME-Version: 1.0\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n"
             "\r\n=C3=A9\r\n"
             "--d\r\nContent-Type: text/plain\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n"
             "\r\n=C3=A9\r\n--d--"),
       "digest: a part is a message by default");

    ok(convert_str("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                   "--b\r\n\xff\r\n--bx\r\n\r\n--b \r\n\r\n\xff")
       == -1, "a part without blank line has 8-bit in its header");

    ok(convert_str("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                   "--b\r\n\r\n\xff\r\n--bx\xff\r\n\r\n\xfe\r\n"
                   "--b--junk\xff\r\nafter\xff")
       && is("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
             "--b\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n"
             "\r\n=FF\r\n--bx?\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n"
             "\r\n=FE\r\n--b--junk?\r\nafter?"),
       "the boundary at a line's start is a delimiter (RFC 2046 5.1.1)");

    /* the boundary is a\b c: a quoted-pair and a fold inside quotes */
    ok(convert_str("Content-Type: multipart/mixed; boundary=\"a\\\\b\r\n"
                   " c\"\r\n\r\n--a\\b c\r\n\r\n\xff\r\n--ab c")
       && is("Content-Type: multipart/mixed; boundary=\"a\\\\b\r\n"
             " c\"\r\n\r\n--a\\b c\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n"
             "\r\n=FF\r\n=2D-ab c"),
       "a quoted boundary unquoted and unfolded");

    ok(convert_str("Content-Type: multipart/mixed\r\n\r\n"
                   "--b\r\n\r\n\xff\r\n")
       && is("Content-Type: multipart/mixed\r\n"
             "MIME-Version: 1.0\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
             "=2D-b\r\n\r\n=FF\r\n"),
       "a multipart without boundary is a leaf");
}


static void
test_downgrade_long(void)
{
    size_t   i, col, longest;
    char    *in, *body;
    int      qp_only;

    in = malloc(4096);
    if (in == NULL) {
        return;
    }

    strcpy(in, "Subject: long\r\n\r\n");
    body = in + strlen(in);

    /* 300 octets of one line, 8-bit and "=" and spaces mixed */
    for (i = 0; i < 300; i++) {
        body[i] = "a\xe9= -"[i % 5];
    }

    memcpy(body + 300, "\r\n-x\r\nend \r\n", 12);

    ok(convert(in, body - in + 312) == 1, "long line: converted");

    longest = 0;
    col = 0;
    qp_only = 1;

    for (i = 0; i < out_len; i++) {
        if (out[i] == '\r' && i + 1 < out_len && out[i + 1] == '\n') {
            longest = col > longest ? col : longest;
            col = 0;
            i++;
            continue;
        }

        if (out[i] == '\r' || out[i] == '\n') {
            qp_only = 0;
        }

        col++;
    }

    ok(qp_only && longest == 76, "long line: lines of 76, CRLF only");

    body = (char *) out;

    for (i = 0; i + 4 < out_len; i++) {
        if (memcmp(out + i, "\r\n\r\n", 4) == 0) {
            body = (char *) out + i + 4;
            break;
        }
    }

    ok(qp_decodes_to((unsigned char *) body, out + out_len
                     - (unsigned char *) body, in + 17, 312),
       "long line: decodes to the original");

    ok(strstr((char *) out, "\r\n-") == NULL,
       "long line: no line begins with \"-\"");

    free(in);
}


void
test_downgrade(void)
{
    test_downgrade_simple();
    test_downgrade_refused();
    test_downgrade_multipart();
    test_downgrade_long();

    free(out);
    out = NULL;
}
