
/*
 * libFuzzer target for the POP3 command-line parser.  The input is one
 * line without CRLF; it goes through ngx_mail_pop3d_parse_command() and
 * its argument through ngx_mail_pop3d_parse_msg_number() twice, as
 * RETR and as TOP with the line count after it.  Besides the sanitizers
 * it checks that results point where they should and that every result
 * agrees with a slow, obvious reference implementation.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_pop3d_parse.h"


static int
is_alpha(unsigned c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}


static void
check_within(const ngx_mail_pop3d_str_t *s, const unsigned char *start,
    size_t len)
{
    if (s->data < start || s->data > start + len
        || s->len > (size_t) (start + len - s->data))
    {
        abort();
    }
}


/* RFC 1939 3 read literally: 3*4ALPHA [SP *OCTET], no NUL */

static int
reference_command(const uint8_t *data, size_t size, size_t *verb_len)
{
    size_t  i, n;

    for (n = 0; n < size && is_alpha(data[n]); n++) {
        /* void */
    }

    if (n < 3 || n > 4) {
        return NGX_MAIL_POP3D_PARSE_ERROR;
    }

    if (n < size && data[n] != ' ') {
        return NGX_MAIL_POP3D_PARSE_ERROR;
    }

    for (i = n; i < size; i++) {
        if (data[i] == '\0') {
            return NGX_MAIL_POP3D_PARSE_ERROR;
        }
    }

    *verb_len = n;

    return NGX_MAIL_POP3D_PARSE_OK;
}


/* 1*10DIGIT up to 2^31-1, in 64 bits where ten digits cannot overflow */

static int
reference_number(const uint8_t *data, size_t size, int with_rest,
    uint32_t *number, size_t *digits)
{
    size_t    n;
    uint64_t  value;

    value = 0;

    for (n = 0; n < size && data[n] >= '0' && data[n] <= '9'; n++) {
        if (n == 10) {
            return NGX_MAIL_POP3D_PARSE_ERROR;
        }

        value = value * 10 + (data[n] - '0');
    }

    if (n == 0 || value > 2147483647) {
        return NGX_MAIL_POP3D_PARSE_ERROR;
    }

    if (n < size && (!with_rest || data[n] != ' ')) {
        return NGX_MAIL_POP3D_PARSE_ERROR;
    }

    *number = (uint32_t) value;
    *digits = n;

    return NGX_MAIL_POP3D_PARSE_OK;
}


static void
check_number(const unsigned char *arg, size_t len, int with_rest)
{
    int                    rc, expect;
    size_t                 digits;
    uint32_t               number, ref;
    ngx_mail_pop3d_str_t   rest;

    rc = ngx_mail_pop3d_parse_msg_number(arg, len, &number,
                                         with_rest ? &rest : NULL);
    expect = reference_number(arg, len, with_rest, &ref, &digits);

    if (rc != expect) {
        abort();
    }

    if (rc != NGX_MAIL_POP3D_PARSE_OK) {
        if (number != 0 || (with_rest && rest.len != 0)) {
            abort();
        }

        return;
    }

    if (number != ref || number > NGX_MAIL_POP3D_NUMBER_MAX) {
        abort();
    }

    if (!with_rest) {
        return;
    }

    check_within(&rest, arg, len);

    if (rest.data + rest.len != arg + len) {
        abort();
    }

    if (digits == len ? rest.len != 0 : rest.data != arg + digits + 1) {
        abort();
    }

    /* TOP's line count, as the server reads it */
    if (rest.len) {
        check_number(rest.data, rest.len, 0);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    rc, expect;
    size_t                 verb_len, i;
    ngx_mail_pop3d_str_t   verb, arg;

    rc = ngx_mail_pop3d_parse_command(data, size, &verb, &arg);
    expect = reference_command(data, size, &verb_len);

    if (rc != expect) {
        abort();
    }

    if (rc != NGX_MAIL_POP3D_PARSE_OK) {
        if (verb.len != 0 || arg.len != 0) {
            abort();
        }

        /* a number alone, as after a keyword */
        check_number(data, size, 0);
        check_number(data, size, 1);

        return 0;
    }

    if (verb.data != data || verb.len != verb_len
        || verb.len < NGX_MAIL_POP3D_VERB_MIN
        || verb.len > NGX_MAIL_POP3D_VERB_MAX)
    {
        abort();
    }

    for (i = 0; i < verb.len; i++) {
        if (!is_alpha(verb.data[i])) {
            abort();
        }
    }

    check_within(&arg, data, size);

    if (size == verb.len) {
        if (arg.len != 0) {
            abort();
        }

    } else if (arg.data != data + verb.len + 1
               || arg.data + arg.len != data + size
               || memchr(arg.data, '\0', arg.len) != NULL)
    {
        abort();
    }

    check_number(arg.data, arg.len, 0);
    check_number(arg.data, arg.len, 1);

    return 0;
}
