
/*
 * Syntax of mail domains (RFC 1035 2.3.1 as relaxed by RFC 1123 2.1) and of
 * addresses (RFC 5321 4.1.2 Mailbox, 4.5.3.1 lengths).
 */


#include <string.h>

#include <mail_keys.h>

#include "mailctl_validate.h"


#define MAILCTL_LABEL_MAX  63


static const char *mailctl_validate_dot_atom(const char *local, size_t len);
static const char *mailctl_validate_quoted(const char *addr, size_t len,
    size_t *local_len);


static int
mailctl_is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9');
}


/* RFC 5321 4.1.2 atext, from RFC 5322 3.2.3 */

static int
mailctl_is_atext(unsigned char c)
{
    if (mailctl_is_alnum(c)) {
        return 1;
    }

    return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}


const char *
mailctl_validate_domain(const char *domain, size_t len)
{
    size_t          i, label, labels;
    unsigned char   c;
    int             digits_only;

    if (len == 0) {
        return "empty domain";
    }

    if (len > MAIL_ADDR_DOMAIN_MAX) {
        return "domain longer than 253 characters";
    }

    label = 0;
    labels = 1;
    digits_only = 1;

    for (i = 0; i < len; i++) {
        c = (unsigned char) domain[i];

        if (c == '.') {
            if (label == 0) {
                return "empty label";
            }

            if (domain[i - 1] == '-') {
                return "label ends with a hyphen";
            }

            label = 0;
            labels++;
            digits_only = 1;
            continue;
        }

        if (c == '-') {
            if (label == 0) {
                return "label starts with a hyphen";
            }

        } else if (c >= 0x80) {
            /* docs/redis-keys.md: domains are stored as A-labels */
            return "non-ASCII character, use the xn-- (A-label) form";

        } else if (!mailctl_is_alnum(c)) {
            return "only letters, digits, hyphens and dots are allowed";
        }

        if (c < '0' || c > '9') {
            digits_only = 0;
        }

        if (++label > MAILCTL_LABEL_MAX) {
            return "label longer than 63 characters";
        }
    }

    if (label == 0) {
        return "empty label";
    }

    if (domain[len - 1] == '-') {
        return "label ends with a hyphen";
    }

    /* a single label is no Internet mail domain: "localhost", "test" */

    if (labels < 2) {
        return "a domain needs at least two labels";
    }

    /* RFC 3696 2: keeps "192.0.2.1" from passing for a domain name */

    if (digits_only) {
        return "top-level label is all digits";
    }

    return NULL;
}


const char *
mailctl_validate_address(const char *addr, size_t len, unsigned flags)
{
    size_t       local_len;
    const char  *reason, *at;

    if (len == 0) {
        return "empty address";
    }

    if (len > MAIL_ADDR_MAX) {
        return "address longer than 254 characters";
    }

    if (addr[0] == '"') {
        reason = mailctl_validate_quoted(addr, len, &local_len);
        if (reason != NULL) {
            return reason;
        }

        if (!(flags & MAILCTL_ADDR_QUOTED_OK)) {
            return "quoted local part not allowed";
        }

    } else {
        at = memchr(addr, '@', len);
        if (at == NULL) {
            return "missing @domain";
        }

        local_len = at - addr;

        if (local_len == 0) {
            return "missing local part";
        }

        reason = mailctl_validate_dot_atom(addr, local_len);
        if (reason != NULL) {
            return reason;
        }
    }

    if (local_len > MAIL_ADDR_LOCAL_MAX) {
        return "local part longer than 64 characters";
    }

    addr += local_len + 1;
    len -= local_len + 1;

    if (len == 0) {
        return "missing domain";
    }

    if (memchr(addr, '@', len) != NULL) {
        return "more than one @";
    }

    return mailctl_validate_domain(addr, len);
}


/* RFC 5321 4.1.2: Dot-string = Atom *("." Atom) */

static const char *
mailctl_validate_dot_atom(const char *local, size_t len)
{
    size_t  i;

    if (local[0] == '.') {
        return "local part starts with a dot";
    }

    if (local[len - 1] == '.') {
        return "local part ends with a dot";
    }

    for (i = 0; i < len; i++) {

        if (local[i] == '.') {
            if (local[i + 1] == '.') {
                return "two dots in a row in local part";
            }

            continue;
        }

        if (!mailctl_is_atext((unsigned char) local[i])) {
            return "local part allows only letters, digits, dots and "
                   "!#$%&'*+-/=?^_`{|}~";
        }
    }

    return NULL;
}


/*
 * RFC 5321 4.1.2: Quoted-string = DQUOTE *QcontentSMTP DQUOTE, where
 * qtextSMTP is %d32-33 / %d35-91 / %d93-126 and quoted-pairSMTP is
 * "\" followed by %d32-126.  On success *local_len covers the quotes and
 * the next character is the "@".
 */

static const char *
mailctl_validate_quoted(const char *addr, size_t len, size_t *local_len)
{
    size_t          i;
    unsigned char   c;

    for (i = 1; i < len; i++) {
        c = (unsigned char) addr[i];

        if (c == '"') {
            if (i + 1 == len || addr[i + 1] != '@') {
                return "missing @domain";
            }

            *local_len = i + 1;
            return NULL;
        }

        if (c == '\\') {
            i++;
            c = (i < len) ? (unsigned char) addr[i] : 0;
        }

        if (c < 32 || c > 126) {
            return "invalid character in quoted local part";
        }
    }

    return "unterminated quoted local part";
}


void
mailctl_lowercase(char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] >= 'A' && s[i] <= 'Z') {
            s[i] = (char) (s[i] - 'A' + 'a');
        }
    }
}


/* a queue id becomes part of key names: nothing but [0-9A-Za-z] */

const char *
mailctl_validate_queue_id(const char *id, size_t len)
{
    size_t  i;

    if (len == 0) {
        return "empty queue id";
    }

    if (len > MAIL_QUEUE_ID_MAX) {
        return "queue id longer than 64 characters";
    }

    for (i = 0; i < len; i++) {
        if (!mailctl_is_alnum(id[i])) {
            return "a queue id has only letters and digits";
        }
    }

    return NULL;
}
