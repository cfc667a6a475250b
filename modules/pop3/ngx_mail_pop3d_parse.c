
/*
 * POP3 command lines and message numbers.  The session's line limit
 * (RFC 2449 4: 255 octets, longer for AUTH) bounds the input; here the
 * limits are the keyword's length and the number's digits, and every
 * loop stops at the end of the buffer it was given.
 */

#include <string.h>

#include "ngx_mail_pop3d_parse.h"


static int ngx_mail_pop3d_is_alpha(unsigned c);


int
ngx_mail_pop3d_parse_command(const unsigned char *line, size_t len,
    ngx_mail_pop3d_str_t *verb, ngx_mail_pop3d_str_t *arg)
{
    const unsigned char  *p, *end;

    verb->len = 0;
    verb->data = line;
    arg->len = 0;
    arg->data = line + len;

    p = line;
    end = line + len;

    /* RFC 1939 3: a keyword of three or four characters */
    while (p < end && p - line <= NGX_MAIL_POP3D_VERB_MAX
           && ngx_mail_pop3d_is_alpha(*p))
    {
        p++;
    }

    if (p - line < NGX_MAIL_POP3D_VERB_MIN
        || p - line > NGX_MAIL_POP3D_VERB_MAX)
    {
        return NGX_MAIL_POP3D_PARSE_ERROR;
    }

    if (p < end) {

        /* "Keywords and arguments are each separated by a single SPACE" */
        if (*p != ' ') {
            return NGX_MAIL_POP3D_PARSE_ERROR;
        }

        /*
         * Arguments are "printable ASCII", but passwords in the wild are
         * UTF-8 or hold a tab, so only NUL is refused: nothing in the
         * protocol carries it, and a C string would end at it.
         */
        if (memchr(p + 1, '\0', end - p - 1) != NULL) {
            return NGX_MAIL_POP3D_PARSE_ERROR;
        }

        arg->data = p + 1;
        arg->len = end - p - 1;
    }

    verb->len = p - line;

    return NGX_MAIL_POP3D_PARSE_OK;
}


int
ngx_mail_pop3d_parse_msg_number(const unsigned char *arg, size_t len,
    uint32_t *number, ngx_mail_pop3d_str_t *rest)
{
    uint32_t              n;
    const unsigned char  *p, *end;

    *number = 0;

    if (rest) {
        rest->len = 0;
        rest->data = arg + len;
    }

    p = arg;
    end = arg + len;
    n = 0;

    while (p < end && *p >= '0' && *p <= '9') {

        if (p - arg == NGX_MAIL_POP3D_NUMBER_DIGITS) {
            return NGX_MAIL_POP3D_PARSE_ERROR;
        }

        /* ten digits fit 2^32 only up to 4294967295: check before */
        if (n > (NGX_MAIL_POP3D_NUMBER_MAX - (uint32_t) (*p - '0')) / 10) {
            return NGX_MAIL_POP3D_PARSE_ERROR;
        }

        n = n * 10 + (uint32_t) (*p - '0');
        p++;
    }

    if (p == arg) {
        return NGX_MAIL_POP3D_PARSE_ERROR;
    }

    if (p < end) {
        if (rest == NULL || *p != ' ') {
            return NGX_MAIL_POP3D_PARSE_ERROR;
        }

        rest->data = p + 1;
        rest->len = end - p - 1;
    }

    *number = n;

    return NGX_MAIL_POP3D_PARSE_OK;
}


static int
ngx_mail_pop3d_is_alpha(unsigned c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
