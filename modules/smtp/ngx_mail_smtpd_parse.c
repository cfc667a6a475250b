
/*
 * SMTP command line parser: splits "VERB arguments" (RFC 5321 4.1.1).
 * The line has no CRLF and is at most NGX_MAIL_SMTPD_AUTH_LINE_MAX bytes.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_mail.h>

#include "ngx_mail_smtpd.h"


/* the longest verb we know, STARTTLS, has 8 letters */
#define NGX_MAIL_SMTPD_VERB_MAX  8


/*
 * NGX_OK: verb holds the command word (letters only, not yet upper-cased)
 * and arg the rest of the line with surrounding spaces removed;
 * NGX_ERROR: the line does not start with a command word.
 */

ngx_int_t
ngx_mail_smtpd_parse_command(ngx_str_t *line, ngx_str_t *verb, ngx_str_t *arg)
{
    u_char  *p, *end;

    p = line->data;
    end = line->data + line->len;

    verb->data = p;

    while (p < end && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))) {
        p++;
    }

    verb->len = p - verb->data;

    if (verb->len == 0 || verb->len > NGX_MAIL_SMTPD_VERB_MAX) {
        return NGX_ERROR;
    }

    if (p < end && *p != ' ') {
        return NGX_ERROR;
    }

    while (p < end && *p == ' ') {
        p++;
    }

    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    arg->data = p;
    arg->len = end - p;

    return NGX_OK;
}
