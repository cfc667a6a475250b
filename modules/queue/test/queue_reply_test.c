
/*
 * The SMTP reply parser: what a remote server sends, what the delivery
 * client must make of it.  Every input is also fed in pieces of 1 to 16
 * octets and cut once at every position: the result must not change.
 */

#include <stdio.h>
#include <string.h>

#include "ngx_mail_queue_reply.h"
#include "queue_test.h"


#define BIG  32768


static ngx_mail_queue_reply_t  whole, part;
static unsigned                cuts_checked, cuts_bad;
static char                    big[BIG];


static int
str_is(ngx_mail_queue_str_t *s, const char *expect)
{
    return s->len == strlen(expect) && memcmp(s->data, expect, s->len) == 0;
}


/* the input as a C string literal would show it, cut at 48 octets */

static const char *
show(const char *in, size_t len)
{
    static char  buf[256];
    size_t       i, n;

    n = 0;

    for (i = 0; i < len && i < 48; i++) {
        if (in[i] == '\r') {
            n += sprintf(buf + n, "\\r");

        } else if (in[i] == '\n') {
            n += sprintf(buf + n, "\\n");

        } else if ((unsigned char) in[i] < 0x20 || in[i] == '#') {
            n += sprintf(buf + n, "\\x%02x", (unsigned char) in[i]);

        } else {
            buf[n++] = in[i];
        }
    }

    buf[n] = '\0';

    return buf;
}


static int
same(ngx_mail_queue_reply_t *a, ngx_mail_queue_reply_t *b)
{
    return a->code == b->code && a->lines == b->lines
           && a->bytes == b->bytes && a->error == b->error
           && a->has_enhanced == b->has_enhanced
           && a->enhanced.len == b->enhanced.len
           && memcmp(a->enhanced.data, b->enhanced.data, a->enhanced.len) == 0
           && a->text.len == b->text.len
           && memcmp(a->text.data, b->text.data, a->text.len) == 0
           && a->text_truncated == b->text_truncated
           && a->extensions == b->extensions && a->auth == b->auth
           && a->size == b->size;
}


/* feeds in[0 .. len - 1] to r: first "first" octets, then "step" each */

static int
feed(ngx_mail_queue_reply_t *r, unsigned flags, const char *in, size_t len,
    size_t first, size_t step, size_t *consumed)
{
    int     rc;
    size_t  pos, n, used;

    ngx_mail_queue_reply_init(r, flags);

    rc = NGX_MAIL_QUEUE_PARSE_AGAIN;
    pos = 0;

    while (pos < len) {
        n = (pos == 0 && first) ? first : step;
        n = (len - pos < n) ? len - pos : n;

        rc = ngx_mail_queue_reply_parse(r, (const unsigned char *) in + pos,
                                        n, &used);
        if (used > n) {
            return 99;
        }

        pos += used;

        if (rc != NGX_MAIL_QUEUE_PARSE_AGAIN) {
            break;
        }
    }

    *consumed = pos;

    return rc;
}


static int
parse(unsigned flags, const char *in, size_t len, size_t *consumed)
{
    int     rc, rc2;
    size_t  step, cut, used;

    rc = feed(&whole, flags, in, len, 0, len ? len : 1, consumed);

    for (step = 1; step <= 16 && step < len; step++) {
        rc2 = feed(&part, flags, in, len, 0, step, &used);
        cuts_checked++;

        if (rc2 != rc || used != *consumed || !same(&whole, &part)) {
            cuts_bad++;
            printf("# step %zu differs on \"%s\"\n", step, show(in, len));
        }
    }

    for (cut = 1; cut < len && len <= 2048; cut++) {
        rc2 = feed(&part, flags, in, len, cut, len, &used);
        cuts_checked++;

        if (rc2 != rc || used != *consumed || !same(&whole, &part)) {
            cuts_bad++;
            printf("# cut at %zu differs on \"%s\"\n", cut, show(in, len));
        }
    }

    return rc;
}


static void
reply_ok(unsigned flags, const char *in, unsigned code, const char *text)
{
    int     rc, good;
    size_t  used;

    rc = parse(flags, in, strlen(in), &used);
    good = (rc == NGX_MAIL_QUEUE_PARSE_OK && used == strlen(in)
            && whole.code == code && str_is(&whole.text, text));

    ok(good, "reply \"%s\" -> %u", show(in, strlen(in)), code);

    if (!good) {
        printf("# rc %d used %zu code %u error \"%s\" text \"%.*s\"\n",
               rc, used, whole.code, ngx_mail_queue_reply_strerror(whole.error),
               (int) whole.text.len, whole.text.data);
    }
}


static void
reply_err_len(unsigned flags, const char *in, size_t len,
    ngx_mail_queue_reply_error_e err)
{
    int     rc, good;
    size_t  used;

    rc = parse(flags, in, len, &used);
    good = (rc == NGX_MAIL_QUEUE_PARSE_ERROR && whole.error == err);

    ok(good, "%s -> %s", show(in, len), ngx_mail_queue_reply_strerror(err));

    if (!good) {
        printf("# rc %d error \"%s\"\n", rc,
               ngx_mail_queue_reply_strerror(whole.error));
    }
}


#define REPLY_OK(in, code, text)  reply_ok(0, in, code, text)
#define REPLY_ERR(in, err)                                                   \
    reply_err_len(0, in, sizeof(in) - 1, NGX_MAIL_QUEUE_REPLY_ERR_##err)


static void
test_reply_lines(void)
{
    int     rc;
    size_t  used;

    REPLY_OK("250 OK\r\n", 250, "OK");
    ok(whole.lines == 1 && whole.bytes == 8 && !whole.has_enhanced,
       "one line, 8 octets, no enhanced code");
    REPLY_OK("220 mx.example.org ESMTP ready\r\n", 220,
             "mx.example.org ESMTP ready");
    REPLY_OK("220-mx.example.org ESMTP\r\n220-no UCE\r\n220 ready\r\n", 220,
             "mx.example.org ESMTP no UCE ready");
    ok(whole.lines == 3, "three lines");
    REPLY_OK("354 End data with <CR><LF>.<CR><LF>\r\n", 354,
             "End data with <CR><LF>.<CR><LF>");
    REPLY_OK("221 Bye\r\n", 221, "Bye");

    /* RFC 5321 4.2: the text is optional, the space with it */
    REPLY_OK("250\r\n", 250, "");
    REPLY_OK("250 \r\n", 250, "");
    REPLY_OK("250-\r\n250 \r\n", 250, "");
    REPLY_OK("250-first\r\n250\r\n", 250, "first");
    REPLY_OK("250-\r\n250 second\r\n", 250, "second");

    /* LF alone ends a line, as Postfix's client reads them */
    REPLY_OK("250 OK\n", 250, "OK");
    REPLY_OK("250-a\n250-b\r\n250 c\n", 250, "a b c");
    REPLY_OK("250\n", 250, "");

    /* text: tabs and 8-bit kept, other controls shown as "?" */
    REPLY_OK("250 a\tb\r\n", 250, "a\tb");
    REPLY_OK("250 caf\xc3\xa9\r\n", 250, "caf\xc3\xa9");
    REPLY_OK("250 a\x01" "b\x1b[0m\x7f\r\n", 250, "a?b?[0m?");
    REPLY_OK("250  two  spaces \r\n", 250, " two  spaces ");

    /* every class and the edges of RFC 5321's digits */
    REPLY_OK("200 x\r\n", 200, "x");
    REPLY_OK("559 x\r\n", 559, "x");
    REPLY_OK("421 4.3.2 shutting down\r\n", 421, "shutting down");
    REPLY_OK("334 VXNlcm5hbWU6\r\n", 334, "VXNlcm5hbWU6");

    /* pipelining: one reply at a time, the rest left for the next */
    {
        static const char  in[] = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
                                  "354 go ahead\r\n";
        size_t             pos;

        pos = 0;
        rc = parse(0, in, sizeof(in) - 1, &used);
        ok(rc == NGX_MAIL_QUEUE_PARSE_OK && used == 14
           && str_is(&whole.enhanced, "2.1.0"), "pipelined reply 1");
        pos += used;
        rc = parse(0, in + pos, sizeof(in) - 1 - pos, &used);
        ok(rc == NGX_MAIL_QUEUE_PARSE_OK && used == 14
           && str_is(&whole.enhanced, "2.1.5"), "pipelined reply 2");
        pos += used;
        rc = parse(0, in + pos, sizeof(in) - 1 - pos, &used);
        ok(rc == NGX_MAIL_QUEUE_PARSE_OK && whole.code == 354
           && pos + used == sizeof(in) - 1, "pipelined reply 3");
    }

    /* incomplete */
    rc = parse(0, "250-a\r\n250", 10, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_AGAIN && used == 10, "incomplete: AGAIN");
    rc = parse(0, "250 a\r", 6, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_AGAIN && used == 6,
       "CR at the end of input: AGAIN");
    rc = parse(0, "", 0, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_AGAIN && used == 0, "nothing: AGAIN");

    /* after the end, nothing more is taken */
    parse(0, "250 OK\r\n", 8, &used);
    rc = ngx_mail_queue_reply_parse(&whole, (const unsigned char *) "250 x\r\n",
                                    7, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_OK && used == 0 && whole.code == 250
       && str_is(&whole.text, "OK"), "complete reply takes nothing more");

    /* after an error, neither */
    parse(0, "xyz", 3, &used);
    rc = ngx_mail_queue_reply_parse(&whole, (const unsigned char *) "250 x\r\n",
                                    7, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_ERROR && used == 0
       && whole.error == NGX_MAIL_QUEUE_REPLY_ERR_CODE,
       "failed reply stays failed");
}


static void
test_reply_errors(void)
{
    REPLY_ERR("abc\r\n", CODE);
    REPLY_ERR("\r\n", CODE);
    REPLY_ERR(" 250 x\r\n", CODE);
    REPLY_ERR("150 x\r\n", CODE);
    REPLY_ERR("600 x\r\n", CODE);
    REPLY_ERR("050 x\r\n", CODE);
    REPLY_ERR("260 x\r\n", CODE);
    REPLY_ERR("2a0 x\r\n", CODE);
    REPLY_ERR("25x x\r\n", CODE);
    REPLY_ERR("25\r\n", CODE);
    REPLY_ERR("HTTP/1.1 400 Bad Request\r\n", CODE);
    REPLY_ERR("250-a\r\n25\r\n", CODE);
    REPLY_ERR("250-a\r\nxyz\r\n", CODE);
    REPLY_ERR("2500 x\r\n", SEPARATOR);
    REPLY_ERR("250x\r\n", SEPARATOR);
    REPLY_ERR("250\tx\r\n", SEPARATOR);
    REPLY_ERR("250=x\r\n", SEPARATOR);
    REPLY_ERR("250-a\r\n251 b\r\n", INCONSISTENT);
    REPLY_ERR("250-a\r\n550 b\r\n", INCONSISTENT);
    REPLY_ERR("250-a\r\n250-b\r\n451 c\r\n", INCONSISTENT);
    REPLY_ERR("250 a\0b\r\n", NUL);
    REPLY_ERR("\0" "50 x\r\n", NUL);
    REPLY_ERR("25\0 x\r\n", NUL);
    REPLY_ERR("250\0x\r\n", NUL);
    REPLY_ERR("250 a\r\0", NUL);
    REPLY_ERR("250 a\rb\r\n", BARE_CR);
    REPLY_ERR("250 a\r\r\n", BARE_CR);
    REPLY_ERR("250\rx\r\n", BARE_CR);
    REPLY_ERR("250-a\r250 b\r\n", BARE_CR);
}


/* a line of "len" octets with its CRLF: "250-xxx...\r\n" */

static size_t
make_line(char *p, const char *code, size_t len)
{
    memcpy(p, code, 4);
    memset(p + 4, 'x', len - 6);
    memcpy(p + len - 2, "\r\n", 2);

    return len;
}


static void
test_reply_limits(void)
{
    int     rc;
    size_t  n, i, used;

    n = make_line(big, "250 ", NGX_MAIL_QUEUE_REPLY_LINE_MAX);
    rc = parse(0, big, n, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_OK && whole.text.len == n - 6,
       "line of LINE_MAX octets with CRLF accepted");

    n = make_line(big, "250 ", NGX_MAIL_QUEUE_REPLY_LINE_MAX + 1);
    rc = parse(0, big, n, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_ERROR
       && whole.error == NGX_MAIL_QUEUE_REPLY_ERR_LINE_TOO_LONG
       && used == NGX_MAIL_QUEUE_REPLY_LINE_MAX + 1,
       "line of LINE_MAX + 1 octets refused at its last octet");

    /* an endless line fails once the limit is passed, without its end */
    memset(big, 'x', 4096);
    memcpy(big, "250 ", 4);
    rc = parse(0, big, 4096, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_ERROR
       && whole.error == NGX_MAIL_QUEUE_REPLY_ERR_LINE_TOO_LONG
       && used == NGX_MAIL_QUEUE_REPLY_LINE_MAX + 1,
       "endless line refused after LINE_MAX");

    n = make_line(big, "250 ", 1000);
    big[n - 2] = '\n';
    rc = parse(0, big, n - 1, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_OK, "LF-only line of 999 accepted");

    /* lines */
    n = 0;
    for (i = 0; i < NGX_MAIL_QUEUE_REPLY_LINES_MAX - 1; i++) {
        memcpy(big + n, "250-x\r\n", 7);
        n += 7;
    }
    memcpy(big + n, "250 x\r\n", 7);
    n += 7;
    rc = parse(0, big, n, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_OK
       && whole.lines == NGX_MAIL_QUEUE_REPLY_LINES_MAX,
       "LINES_MAX lines accepted");

    n = 0;
    for (i = 0; i < NGX_MAIL_QUEUE_REPLY_LINES_MAX; i++) {
        memcpy(big + n, "250-x\r\n", 7);
        n += 7;
    }
    memcpy(big + n, "250 x\r\n", 7);
    n += 7;
    rc = parse(0, big, n, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_ERROR
       && whole.error == NGX_MAIL_QUEUE_REPLY_ERR_TOO_MANY_LINES
       && used == n - 6, "LINES_MAX + 1 lines refused at the extra line");

    /* bytes: 20 lines of 1000 octets pass 16384 */
    n = 0;
    for (i = 0; i < 20; i++) {
        n += make_line(big + n, i == 19 ? "250 " : "250-", 1000);
    }
    rc = parse(0, big, n, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_ERROR
       && whole.error == NGX_MAIL_QUEUE_REPLY_ERR_TOO_LONG
       && used == NGX_MAIL_QUEUE_REPLY_BYTES_MAX + 1,
       "reply over BYTES_MAX refused at the first octet beyond");

    n = 0;
    for (i = 0; i < 16; i++) {
        n += make_line(big + n, i == 15 ? "250 " : "250-", 1024);
    }
    rc = parse(0, big, n, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_OK && n == NGX_MAIL_QUEUE_REPLY_BYTES_MAX
       && whole.text.len == NGX_MAIL_QUEUE_REPLY_TEXT_MAX
       && whole.text_truncated, "reply of BYTES_MAX accepted, text cut");

    n = 0;
    n += make_line(big + n, "550-", 1000);
    n += make_line(big + n, "550 ", 35);
    rc = parse(0, big, n, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_OK && whole.text.len == 994 + 1 + 29
       && !whole.text_truncated && whole.text.data[994] == ' ',
       "text of two lines fits TEXT_MAX");

    n = 0;
    n += make_line(big + n, "550-", 1000);
    n += make_line(big + n, "550 ", 200);
    rc = parse(0, big, n, &used);
    ok(rc == NGX_MAIL_QUEUE_PARSE_OK
       && whole.text.len == NGX_MAIL_QUEUE_REPLY_TEXT_MAX
       && whole.text_truncated, "text beyond TEXT_MAX cut");
}


static void
test_reply_enhanced(void)
{
    char  status[NGX_MAIL_QUEUE_STATUS_LEN];

    REPLY_OK("550 5.1.1 <u@example.org>: Recipient address rejected\r\n", 550,
             "<u@example.org>: Recipient address rejected");
    ok(whole.has_enhanced && str_is(&whole.enhanced, "5.1.1")
       && whole.enhanced_class == 5 && whole.enhanced_subject == 1
       && whole.enhanced_detail == 1, "enhanced 5.1.1");
    ngx_mail_queue_reply_status(&whole, status);
    ok(strcmp(status, "5.1.1") == 0, "status 5.1.1");

    REPLY_OK("250 2.0.0 Ok: queued as 4Bc\r\n", 250, "Ok: queued as 4Bc");
    ok(str_is(&whole.enhanced, "2.0.0"), "enhanced 2.0.0");
    REPLY_OK("452 4.5.3 Too many recipients\r\n", 452, "Too many recipients");
    ok(str_is(&whole.enhanced, "4.5.3"), "enhanced 4.5.3");
    REPLY_OK("556 5.1.10 null MX\r\n", 556, "null MX");
    ok(str_is(&whole.enhanced, "5.1.10") && whole.enhanced_detail == 10,
       "enhanced 5.1.10");
    REPLY_OK("550 5.999.999 x\r\n", 550, "x");
    ok(str_is(&whole.enhanced, "5.999.999"), "three-digit parts");
    REPLY_OK("250 2.1.0\r\n", 250, "");
    ok(str_is(&whole.enhanced, "2.1.0"), "enhanced code alone");

    /* each line's code is taken out of the text */
    REPLY_OK("550-5.7.1 Message rejected\r\n550-5.7.1 see\r\n"
             "550 5.7.1 https://example.org/why\r\n", 550,
             "Message rejected see https://example.org/why");
    ok(str_is(&whole.enhanced, "5.7.1"), "multiline enhanced 5.7.1");

    /* not enhanced codes: left in the text */
    REPLY_OK("550 2.1.1 x\r\n", 550, "2.1.1 x");
    ok(!whole.has_enhanced, "class contradicting the code ignored");
    REPLY_OK("354 3.0.0 go\r\n", 354, "3.0.0 go");
    ok(!whole.has_enhanced, "no class 3");
    REPLY_OK("550 5.1.1234 x\r\n", 550, "5.1.1234 x");
    REPLY_OK("550 5.1. x\r\n", 550, "5.1. x");
    REPLY_OK("550 5..1 x\r\n", 550, "5..1 x");
    REPLY_OK("550 5.1.1x\r\n", 550, "5.1.1x");
    REPLY_OK("550 5.1\r\n", 550, "5.1");
    REPLY_OK("550 51.1.1 x\r\n", 550, "51.1.1 x");
    REPLY_OK("550 5\r\n", 550, "5");
    ok(!whole.has_enhanced, "\"5\" alone is text");

    /* the status for a DSN when there is no enhanced code */
    REPLY_OK("451 try again later\r\n", 451, "try again later");
    ngx_mail_queue_reply_status(&whole, status);
    ok(strcmp(status, "4.0.0") == 0, "status 4.0.0 from 451");
    REPLY_OK("554 no\r\n", 554, "no");
    ngx_mail_queue_reply_status(&whole, status);
    ok(strcmp(status, "5.0.0") == 0, "status 5.0.0 from 554");
}


static void
test_reply_ehlo(void)
{
    unsigned  ehlo;

    ehlo = NGX_MAIL_QUEUE_REPLY_EHLO;

    reply_ok(ehlo, "250-mx.example.org\r\n250-PIPELINING\r\n"
             "250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n"
             "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"
             "250-SMTPUTF8\r\n250 CHUNKING\r\n", 250,
             "mx.example.org PIPELINING SIZE 10240000 VRFY ETRN STARTTLS "
             "ENHANCEDSTATUSCODES 8BITMIME DSN SMTPUTF8 CHUNKING");
    ok(whole.extensions == (NGX_MAIL_QUEUE_EXT_PIPELINING
                            | NGX_MAIL_QUEUE_EXT_SIZE
                            | NGX_MAIL_QUEUE_EXT_STARTTLS
                            | NGX_MAIL_QUEUE_EXT_ENHANCEDSTATUSCODES
                            | NGX_MAIL_QUEUE_EXT_8BITMIME
                            | NGX_MAIL_QUEUE_EXT_DSN
                            | NGX_MAIL_QUEUE_EXT_SMTPUTF8
                            | NGX_MAIL_QUEUE_EXT_CHUNKING)
       && whole.size == 10240000 && whole.auth == 0 && whole.lines == 11,
       "Postfix's EHLO reply");

    reply_ok(ehlo, "250-smtp.example.com at your service\r\n"
             "250-SIZE 35882577\r\n250-8BITMIME\r\n"
             "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER "
             "XOAUTH\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n"
             "250 SMTPUTF8\r\n", 250,
             "smtp.example.com at your service SIZE 35882577 8BITMIME AUTH "
             "LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH "
             "ENHANCEDSTATUSCODES PIPELINING SMTPUTF8");
    ok(whole.auth == (NGX_MAIL_QUEUE_AUTH_LOGIN | NGX_MAIL_QUEUE_AUTH_PLAIN
                      | NGX_MAIL_QUEUE_AUTH_XOAUTH2)
       && (whole.extensions & NGX_MAIL_QUEUE_EXT_AUTH)
       && whole.size == 35882577, "AUTH mechanisms, unknown ones ignored");

    reply_ok(ehlo, "250-x\r\n250-AUTH=LOGIN\r\n250 AUTH CRAM-MD5\r\n", 250,
             "x AUTH=LOGIN AUTH CRAM-MD5");
    ok(whole.auth == (NGX_MAIL_QUEUE_AUTH_LOGIN
                      | NGX_MAIL_QUEUE_AUTH_CRAM_MD5),
       "old AUTH=LOGIN and AUTH together");

    reply_ok(ehlo, "250-x\r\n250 auth scram-sha-1  scram-sha-256\texternal\r\n",
             250, "x auth scram-sha-1  scram-sha-256\texternal");
    ok(whole.auth == (NGX_MAIL_QUEUE_AUTH_SCRAM_SHA_1
                      | NGX_MAIL_QUEUE_AUTH_SCRAM_SHA_256
                      | NGX_MAIL_QUEUE_AUTH_EXTERNAL),
       "AUTH in lower case, spaces and tabs");

    reply_ok(ehlo, "250-x\r\n250 AUTH\r\n", 250, "x AUTH");
    ok(whole.extensions == NGX_MAIL_QUEUE_EXT_AUTH && whole.auth == 0,
       "AUTH without mechanisms");

    reply_ok(ehlo, "250-x\r\n250-pipelining\r\n250 Size\r\n", 250,
             "x pipelining Size");
    ok(whole.extensions == (NGX_MAIL_QUEUE_EXT_PIPELINING
                            | NGX_MAIL_QUEUE_EXT_SIZE)
       && whole.size == 0, "keywords case-insensitive, SIZE without limit");

    reply_ok(ehlo, "250-x\r\n250 SIZE 0\r\n", 250, "x SIZE 0");
    ok(whole.size == 0 && whole.extensions == NGX_MAIL_QUEUE_EXT_SIZE,
       "SIZE 0");
    reply_ok(ehlo, "250-x\r\n250 SIZE 1k\r\n", 250, "x SIZE 1k");
    ok(whole.size == 0 && whole.extensions == NGX_MAIL_QUEUE_EXT_SIZE,
       "SIZE not a number: no limit");
    reply_ok(ehlo, "250-x\r\n250 SIZE 18446744073709551615\r\n", 250,
             "x SIZE 18446744073709551615");
    ok(whole.size == 18446744073709551615ULL, "SIZE 2^64 - 1");
    reply_ok(ehlo, "250-x\r\n250 SIZE 18446744073709551616\r\n", 250,
             "x SIZE 18446744073709551616");
    ok(whole.size == 0, "SIZE beyond 64 bits: no limit");
    reply_ok(ehlo, "250-x\r\n250 SIZE  52428800 \r\n", 250,
             "x SIZE  52428800 ");
    ok(whole.size == 52428800, "SIZE with extra spaces");
    reply_ok(ehlo, "250-x\r\n250-SIZE 100\r\n250 SIZE 200\r\n", 250,
             "x SIZE 100 SIZE 200");
    ok(whole.size == 200, "SIZE twice: the last one");

    /* almost keywords */
    reply_ok(ehlo, "250-x\r\n250-PIPELININGX\r\n250-XPIPELINING\r\n"
             "250-8BITMIMES\r\n250-DS\r\n250-X-EXPS GSSAPI\r\n250 \r\n", 250,
             "x PIPELININGX XPIPELINING 8BITMIMES DS X-EXPS GSSAPI");
    ok(whole.extensions == 0, "no keyword is a prefix of another");

    /* the first line names the server, even if it looks like a keyword */
    reply_ok(ehlo, "250-PIPELINING\r\n250 8BITMIME\r\n", 250,
             "PIPELINING 8BITMIME");
    ok(whole.extensions == NGX_MAIL_QUEUE_EXT_8BITMIME,
       "first line is not a keyword");
    reply_ok(ehlo, "250 mx.example.org\r\n", 250, "mx.example.org");
    ok(whole.extensions == 0, "one-line EHLO reply: no extensions");

    /* RFC 2034 3: no enhanced codes in EHLO replies */
    reply_ok(ehlo, "250-2.0.0 x\r\n250 2.0.0 DSN\r\n", 250,
             "2.0.0 x 2.0.0 DSN");
    ok(!whole.has_enhanced && whole.extensions == 0,
       "EHLO reply: no enhanced code looked for");

    /* not 250: nothing announced */
    reply_ok(ehlo, "502-5.5.1 EHLO not supported\r\n502 PIPELINING\r\n", 502,
             "5.5.1 EHLO not supported PIPELINING");
    ok(whole.extensions == 0 && whole.size == 0,
       "502 to EHLO announces nothing");
    reply_ok(ehlo, "421-x\r\n421 SIZE 10\r\n", 421, "x SIZE 10");
    ok(whole.extensions == 0 && whole.size == 0,
       "421 to EHLO announces nothing");

    /* without the flag, keywords are text */
    REPLY_OK("250-x\r\n250 PIPELINING\r\n", 250, "x PIPELINING");
    ok(whole.extensions == 0, "no EHLO flag, no extensions");

    /* LF-only EHLO reply */
    reply_ok(ehlo, "250-x\n250-STARTTLS\n250 DSN\n", 250, "x STARTTLS DSN");
    ok(whole.extensions == (NGX_MAIL_QUEUE_EXT_STARTTLS
                            | NGX_MAIL_QUEUE_EXT_DSN), "LF-only EHLO reply");
}


static void
test_reply_strerror(void)
{
    unsigned     i;
    const char  *s;
    int          good;

    good = 1;

    for (i = 0; i <= NGX_MAIL_QUEUE_REPLY_ERR_TOO_LONG; i++) {
        s = ngx_mail_queue_reply_strerror((ngx_mail_queue_reply_error_e) i);
        if (s == NULL || s[0] == '\0' || strcmp(s, "unknown error") == 0) {
            good = 0;
        }
    }

    ok(good, "every error has its text");
    ok(strcmp(ngx_mail_queue_reply_strerror(
                  (ngx_mail_queue_reply_error_e) 99), "unknown error") == 0,
       "an unknown error has a text too");
}


void
test_reply(void)
{
    test_reply_lines();
    test_reply_errors();
    test_reply_limits();
    test_reply_enhanced();
    test_reply_ehlo();
    test_reply_strerror();

    ok(cuts_bad == 0 && cuts_checked > 1000,
       "%u cuts of the inputs above give the same results", cuts_checked);
}
