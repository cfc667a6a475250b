
/*
 * Unit tests of the POP3 command-line parser, printing TAP for
 * t/pop3-05-parser.t.  Every input is copied into a heap buffer of
 * exactly its length, so that AddressSanitizer catches a read past it.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_pop3d_parse.h"


#define S(lit)  (const unsigned char *) (lit), sizeof(lit) - 1


static unsigned  tests;
static unsigned  failed;


static void
ok(int cond, const char *fmt, ...)
{
    va_list  ap;

    tests++;

    if (!cond) {
        failed++;
    }

    printf("%sok %u - ", cond ? "" : "not ", tests);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}


static int
str_is(const ngx_mail_pop3d_str_t *s, const char *expect, size_t len)
{
    return s->len == len && (len == 0 || memcmp(s->data, expect, len) == 0);
}


static void
diag_str(const char *what, const ngx_mail_pop3d_str_t *s)
{
    printf("# %s: \"%.*s\" (%zu octets)\n", what, (int) s->len,
           (const char *) s->data, s->len);
}


/* printable, for test names: "\0" and controls as \xNN */
static const char *
show(const unsigned char *p, size_t len)
{
    size_t       i, n;
    static char  buf[128];

    n = 0;

    for (i = 0; i < len && n < sizeof(buf) - 8; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f) {
            buf[n++] = (char) p[i];

        } else {
            n += (size_t) sprintf(buf + n, "\\x%02x", p[i]);
        }
    }

    if (i < len) {
        n += (size_t) sprintf(buf + n, "...");
    }

    buf[n] = '\0';

    return buf;
}


static unsigned char *
copy(const unsigned char *p, size_t len)
{
    unsigned char  *buf;

    buf = malloc(len ? len : 1);
    if (buf == NULL) {
        printf("Bail out! out of memory\n");
        exit(1);
    }

    memcpy(buf, p, len);

    return buf;
}


/* command lines */

static void
command_ok(const unsigned char *line, size_t len, const char *verb,
    const char *arg, size_t arg_len)
{
    int                    rc, good;
    unsigned char         *buf;
    ngx_mail_pop3d_str_t   v, a;

    buf = copy(line, len);
    rc = ngx_mail_pop3d_parse_command(buf, len, &v, &a);

    good = rc == NGX_MAIL_POP3D_PARSE_OK
           && str_is(&v, verb, strlen(verb)) && v.data == buf
           && str_is(&a, arg, arg_len)
           && a.data >= buf && a.data + a.len == buf + len;

    ok(good, "command \"%s\" -> \"%s\" \"%s\"", show(line, len), verb,
       show((const unsigned char *) arg, arg_len));

    if (!good) {
        printf("# rc %d\n", rc);
        diag_str("verb", &v);
        diag_str("arg", &a);
    }

    free(buf);
}


static void
command_err(const unsigned char *line, size_t len)
{
    int                    rc;
    unsigned char         *buf;
    ngx_mail_pop3d_str_t   v, a;

    buf = copy(line, len);
    rc = ngx_mail_pop3d_parse_command(buf, len, &v, &a);

    ok(rc == NGX_MAIL_POP3D_PARSE_ERROR && v.len == 0 && a.len == 0,
       "command \"%s\" refused", show(line, len));

    free(buf);
}


#define CMD_OK(line, verb, arg)                                         \
    command_ok(S(line), verb, arg, sizeof(arg) - 1)
#define CMD_ERR(line)  command_err(S(line))


static void
test_commands(void)
{
    size_t         i;
    unsigned char  line[300];

    CMD_OK("NOOP", "NOOP", "");
    CMD_OK("noop", "noop", "");
    CMD_OK("NoOp", "NoOp", "");
    CMD_OK("TOP", "TOP", "");
    CMD_OK("TOP 1 2", "TOP", "1 2");
    CMD_OK("LIST 1", "LIST", "1");
    CMD_OK("RETR 01", "RETR", "01");
    CMD_OK("USER demo@example.test", "USER", "demo@example.test");
    CMD_OK("AUTH PLAIN AGRlbW8AcGFzcw==", "AUTH", "PLAIN AGRlbW8AcGFzcw==");

    /* PASS takes the rest of the line whole: spaces, tabs, 8-bit */
    CMD_OK("PASS my secret  phrase ", "PASS", "my secret  phrase ");
    CMD_OK("PASS \tx", "PASS", "\tx");
    CMD_OK("PASS p\xc3\xa4ss", "PASS", "p\xc3\xa4ss");
    CMD_OK("PASS  x", "PASS", " x");

    /* one SP and nothing: an empty argument, as before */
    CMD_OK("NOOP ", "NOOP", "");
    CMD_OK("LIST ", "LIST", "");
    CMD_OK("LIST  1", "LIST", " 1");
    CMD_OK("STAT  ", "STAT", " ");

    /* unknown keywords of the right shape are the caller's to refuse */
    CMD_OK("XYZ", "XYZ", "");
    CMD_OK("zzzz", "zzzz", "");
    CMD_OK("AaZz", "AaZz", "");

    CMD_ERR("");
    CMD_ERR(" ");
    CMD_ERR("  ");
    CMD_ERR("\t");
    CMD_ERR("\r");
    CMD_ERR("\n");
    CMD_ERR("\0");
    CMD_ERR(" NOOP");
    CMD_ERR("Q");
    CMD_ERR("QU");
    CMD_ERR("QU 1");
    CMD_ERR("QUITS");
    CMD_ERR("QUITS 1");
    CMD_ERR("BOGUS");
    CMD_ERR("AUTHENTICATE PLAIN");
    CMD_ERR("NOOPNOOPNOOPNOOP");
    CMD_ERR("LIST\t1");
    CMD_ERR("LIST\r");
    CMD_ERR("LIST\n");
    CMD_ERR("LIST:1");
    CMD_ERR("LIST1");
    CMD_ERR("NO0P");
    CMD_ERR("N-OP");
    CMD_ERR("N\0OP");
    CMD_ERR("NOOP\0");
    CMD_ERR("NOO\0P");
    CMD_ERR("\0NOOP");
    CMD_ERR("PASS a\0b");
    CMD_ERR("PASS \0");
    CMD_ERR("USER x\0");
    CMD_ERR("N\xc3\x96OP");
    CMD_ERR("\xff\xff\xff\xff");
    CMD_ERR("NOO\xcf");

    /* the octets around the letters in ASCII */
    CMD_ERR("@BC");
    CMD_ERR("AB[");
    CMD_ERR("`BC");
    CMD_ERR("AB{");

    /* a long argument, ending exactly at the end of the buffer */
    memcpy(line, "USER ", 5);
    memset(line + 5, 'u', 250);
    command_ok(line, 255, "USER", (const char *) line + 5, 250);

    /* a long run of letters stops being read after the fifth */
    memset(line, 'A', sizeof(line));
    command_err(line, sizeof(line));

    /* a NUL at the very end of a long argument */
    memcpy(line, "PASS ", 5);
    memset(line + 5, 'p', 250);
    line[254] = '\0';
    command_err(line, 255);

    /* every octet after a valid keyword but SP is refused */
    for (i = 0; i < 256; i++) {
        int                   rc;
        ngx_mail_pop3d_str_t  v, a;

        if (i == ' ') {
            continue;
        }

        memcpy(line, "STAT", 4);
        line[4] = (unsigned char) i;
        rc = ngx_mail_pop3d_parse_command(line, 5, &v, &a);

        /* a letter makes a keyword of five, anything else is no SP */
        if (rc != NGX_MAIL_POP3D_PARSE_ERROR) {
            break;
        }
    }

    ok(i == 256, "\"STAT\" followed by any octet but SP is refused");
}


/* message numbers */

static void
number_ok(const unsigned char *arg, size_t len, int with_rest,
    uint32_t expect, const char *rest, size_t rest_len)
{
    int                    rc, good;
    uint32_t               n;
    unsigned char         *buf;
    ngx_mail_pop3d_str_t   r;

    buf = copy(arg, len);
    rc = ngx_mail_pop3d_parse_msg_number(buf, len, &n,
                                         with_rest ? &r : NULL);

    good = rc == NGX_MAIL_POP3D_PARSE_OK && n == expect;

    if (with_rest) {
        good = good && str_is(&r, rest, rest_len)
               && r.data + r.len == buf + len;
    }

    ok(good, "number \"%s\"%s -> %lu", show(arg, len),
       with_rest ? " with rest" : "", (unsigned long) expect);

    if (!good) {
        printf("# rc %d, number %lu\n", rc, (unsigned long) n);

        if (with_rest) {
            diag_str("rest", &r);
        }
    }

    free(buf);
}


static void
number_err(const unsigned char *arg, size_t len, int with_rest)
{
    int                    rc;
    uint32_t               n;
    unsigned char         *buf;
    ngx_mail_pop3d_str_t   r;

    buf = copy(arg, len);
    rc = ngx_mail_pop3d_parse_msg_number(buf, len, &n,
                                         with_rest ? &r : NULL);

    ok(rc == NGX_MAIL_POP3D_PARSE_ERROR && n == 0
       && (!with_rest || r.len == 0),
       "number \"%s\"%s refused", show(arg, len),
       with_rest ? " with rest" : "");

    free(buf);
}


#define NUM_OK(arg, n)          number_ok(S(arg), 0, n, NULL, 0)
#define NUM_REST(arg, n, rest)  number_ok(S(arg), 1, n, rest, sizeof(rest) - 1)
#define NUM_ERR(arg)            number_err(S(arg), 0)
#define NUM_REST_ERR(arg)       number_err(S(arg), 1)


static void
test_numbers(void)
{
    unsigned char  big[300];

    NUM_OK("1", 1);
    NUM_OK("3", 3);
    NUM_OK("0", 0);
    NUM_OK("00", 0);
    NUM_OK("01", 1);
    NUM_OK("42", 42);
    NUM_OK("65536", 65536);
    NUM_OK("4294967", 4294967);
    NUM_OK("2147483647", 2147483647);
    NUM_OK("2147483640", 2147483640);
    NUM_OK("0000000001", 1);
    NUM_OK("0999999999", 999999999);
    NUM_OK("999999999", 999999999);
    NUM_OK("1000000000", 1000000000);

    NUM_ERR("");
    NUM_ERR(" ");
    NUM_ERR(" 1");
    NUM_ERR("1 ");
    NUM_ERR("1  ");
    NUM_ERR("1 2");
    NUM_ERR("+1");
    NUM_ERR("-1");
    NUM_ERR("-0");
    NUM_ERR("1x");
    NUM_ERR("x1");
    NUM_ERR("x");
    NUM_ERR("1.0");
    NUM_ERR("1e3");
    NUM_ERR("0x10");
    NUM_ERR("1\t");
    NUM_ERR("1\r");
    NUM_ERR("1\0");
    NUM_ERR("\0" "1");
    NUM_ERR("\xd9\xa3");
    NUM_ERR("2147483648");
    NUM_ERR("2147483649");
    NUM_ERR("2147483650");
    NUM_ERR("3000000000");
    NUM_ERR("4294967295");
    NUM_ERR("4294967296");
    NUM_ERR("4294967297");
    NUM_ERR("9999999999");
    NUM_ERR("00000000001");
    NUM_ERR("10000000000");
    NUM_ERR("18446744073709551615");
    NUM_ERR("18446744073709551616");
    NUM_ERR("99999999999999999999999999999999");

    /* 300 digits, to the end of the buffer */
    memset(big, '9', sizeof(big));
    number_err(big, sizeof(big), 0);
    memset(big, '0', sizeof(big));
    number_err(big, sizeof(big), 1);

    /* TOP msg n: the number, one SP, the rest */
    NUM_REST("1 2", 1, "2");
    NUM_REST("1 0", 1, "0");
    NUM_REST("12 345", 12, "345");
    NUM_REST("1", 1, "");
    NUM_REST("1 ", 1, "");
    NUM_REST("1  2", 1, " 2");
    NUM_REST("1 -1", 1, "-1");
    NUM_REST("1 2 ", 1, "2 ");
    NUM_REST("2147483647 2147483647", 2147483647, "2147483647");
    NUM_REST("0 1", 0, "1");

    NUM_REST_ERR("");
    NUM_REST_ERR(" ");
    NUM_REST_ERR(" 1 2");
    NUM_REST_ERR("1\t2");
    NUM_REST_ERR("1x 2");
    NUM_REST_ERR("+1 2");
    NUM_REST_ERR("-1 2");
    NUM_REST_ERR("1\0 2");
    NUM_REST_ERR("2147483648 1");
    NUM_REST_ERR("99999999999 1");
}


static int
verb_is(const ngx_mail_pop3d_str_t *verb, const char *name)
{
    size_t  i;

    if (verb->len != strlen(name)) {
        return 0;
    }

    for (i = 0; i < verb->len; i++) {
        if ((verb->data[i] & ~0x20) != name[i]) {
            return 0;
        }
    }

    return 1;
}


/*
 * A line through both parsers, as the server does it: what the client
 * is told.  "unknown" for a line that is no command of these,
 * "listing" for LIST and UIDL alone, "invalid" for a bad
 * message number, "syntax" for TOP's bad line count.
 */

static const char *
server(const unsigned char *line, size_t len, uint32_t *msg,
    uint32_t *lines)
{
    int                    top;
    const char            *result;
    unsigned char         *buf;
    ngx_mail_pop3d_str_t   verb, arg, rest;

    buf = copy(line, len);
    result = NULL;

    if (ngx_mail_pop3d_parse_command(buf, len, &verb, &arg)
        != NGX_MAIL_POP3D_PARSE_OK)
    {
        result = "unknown";
        goto done;
    }

    top = verb_is(&verb, "TOP");

    if (!top && !verb_is(&verb, "LIST") && !verb_is(&verb, "UIDL")
        && !verb_is(&verb, "RETR") && !verb_is(&verb, "DELE"))
    {
        result = "unknown";
        goto done;
    }

    if (!top && arg.len == 0) {
        result = "listing";
        goto done;
    }

    if (ngx_mail_pop3d_parse_msg_number(arg.data, arg.len, msg,
                                        top ? &rest : NULL)
        != NGX_MAIL_POP3D_PARSE_OK)
    {
        result = "invalid";
        goto done;
    }

    if (!top) {
        result = "message";
        goto done;
    }

    if (ngx_mail_pop3d_parse_msg_number(rest.data, rest.len, lines, NULL)
        != NGX_MAIL_POP3D_PARSE_OK)
    {
        result = "syntax";
        goto done;
    }

    result = "top";

done:

    free(buf);

    return result;
}


static void
session(const char *line, const char *expect, uint32_t msg, uint32_t lines)
{
    int          good;
    uint32_t     m, l;
    const char  *result;

    m = 0;
    l = 0;
    result = server((const unsigned char *) line, strlen(line), &m, &l);

    good = strcmp(result, expect) == 0;

    if (good && (strcmp(expect, "message") == 0
                 || strcmp(expect, "top") == 0))
    {
        good = (m == msg && l == lines);
    }

    ok(good, "\"%s\" -> %s %lu %lu", line, expect, (unsigned long) msg,
       (unsigned long) lines);

    if (!good) {
        printf("# got %s %lu %lu\n", result, (unsigned long) m,
               (unsigned long) l);
    }
}


static void
test_session(void)
{
    session("LIST", "listing", 0, 0);
    session("LIST ", "listing", 0, 0);
    session("LIST 2", "message", 2, 0);
    session("LIST 4", "message", 4, 0);
    session("LIST 0", "message", 0, 0);
    session("LIST x", "invalid", 0, 0);
    session("LIST -1", "invalid", 0, 0);
    session("LIST  1", "invalid", 0, 0);
    session("LIST 1 ", "invalid", 0, 0);
    session("list 3", "message", 3, 0);
    session("RETR 1", "message", 1, 0);
    session("RETR 01", "message", 1, 0);
    session("RETR 99", "message", 99, 0);
    session("RETR +1", "invalid", 0, 0);
    session("RETR 1 2", "invalid", 0, 0);
    session("RETR 4294967297", "invalid", 0, 0);
    session("DELE 2147483647", "message", 2147483647, 0);
    session("DELE 2147483648", "invalid", 0, 0);
    session("UIDL 3", "message", 3, 0);
    session("TOP 2 2", "top", 2, 2);
    session("top 2 0", "top", 2, 0);
    session("TOP 1 2147483647", "top", 1, 2147483647);
    session("TOP", "invalid", 0, 0);
    session("TOP ", "invalid", 0, 0);
    session("TOP 1", "syntax", 1, 0);
    session("TOP 1 ", "syntax", 1, 0);
    session("TOP 1 -1", "syntax", 1, 0);
    session("TOP 1 +1", "syntax", 1, 0);
    session("TOP 1 x", "syntax", 1, 0);
    session("TOP 1 2 ", "syntax", 1, 0);
    session("TOP 1 2 3", "syntax", 1, 0);
    session("TOP 1  2", "syntax", 1, 0);
    session("TOP 1 2147483648", "syntax", 1, 0);
    session("TOP 1 99999999999999999999", "syntax", 1, 0);
    session("TOP x 1", "invalid", 0, 0);
    session("TOP 1x 2", "invalid", 0, 0);
    session("TOPS 1 2", "unknown", 0, 0);
    session("TO 1 2", "unknown", 0, 0);
    session("TOP\t1 2", "unknown", 0, 0);
    session("\tTOP 1 2", "unknown", 0, 0);
}


int
main(void)
{
    test_commands();
    test_numbers();
    test_session();

    printf("1..%u\n", tests);

    return failed ? 1 : 0;
}
