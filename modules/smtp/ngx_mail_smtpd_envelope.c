
/*
 * MAIL FROM:<reverse-path> [params] and RCPT TO:<forward-path> [params]:
 * RFC 5321 4.1.2 syntax with the RFC 6531 UTF-8 extensions, and the
 * ESMTP parameters we announce.  One pass over the argument, no
 * recursion, never a byte read past "end".  Reply texts follow
 * Postfix's smtpd where it has one, so that clients see the same words.
 */

#include <string.h>

#include "mime.h"
#include "ngx_mail_smtpd_envelope.h"


/* the longest part of a client's parameter echoed in a reply */
#define NGX_MAIL_SMTPD_ECHO_MAX  64

#define NGX_MAIL_SMTPD_PARAM_MAIL  1
#define NGX_MAIL_SMTPD_PARAM_RCPT  2


typedef struct {
    const unsigned char          *p;
    const unsigned char          *end;
    ngx_mail_smtpd_envelope_t    *env;
    const unsigned char          *local;       /* the local part as sent */
    const unsigned char          *local_end;
    const unsigned char          *domain;
    const unsigned char          *domain_end;
    unsigned                      rcpt:1;
    unsigned                      smtputf8:1;    /* RCPT: MAIL had it */
    unsigned                      seen_body:1;
    unsigned                      seen_ret:1;
    unsigned                      seen_smtputf8:1;
    unsigned                      seen_notify:1;
} ngx_mail_smtpd_env_parser_t;


typedef ngx_mail_smtpd_envelope_error_e (*ngx_mail_smtpd_param_pt)(
    ngx_mail_smtpd_env_parser_t *ps, ngx_mail_smtpd_str_t *value,
    ngx_mail_smtpd_str_t *param);


typedef struct {
    const char                   *name;
    size_t                        len;
    unsigned                      verbs;
    ngx_mail_smtpd_param_pt       handler;
} ngx_mail_smtpd_param_t;


static int ngx_mail_smtpd_parse_envelope(ngx_mail_smtpd_env_parser_t *ps,
    const char *keyword, size_t keyword_len);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_parse_path(
    ngx_mail_smtpd_env_parser_t *ps);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_parse_route(
    ngx_mail_smtpd_env_parser_t *ps);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_parse_local_part(
    ngx_mail_smtpd_env_parser_t *ps);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_parse_domain(
    ngx_mail_smtpd_env_parser_t *ps);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_parse_literal(
    ngx_mail_smtpd_env_parser_t *ps);
static const unsigned char *ngx_mail_smtpd_parse_ipv4(const unsigned char *p,
    const unsigned char *end);
static const unsigned char *ngx_mail_smtpd_parse_ipv6(const unsigned char *p,
    const unsigned char *end);
static void ngx_mail_smtpd_normalize(ngx_mail_smtpd_env_parser_t *ps);
static size_t ngx_mail_smtpd_unquote(const unsigned char *p,
    const unsigned char *end, unsigned char *dst, int *dot_string);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_parse_params(
    ngx_mail_smtpd_env_parser_t *ps);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_parse_param(
    ngx_mail_smtpd_env_parser_t *ps, ngx_mail_smtpd_str_t *param);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_param_size(
    ngx_mail_smtpd_env_parser_t *ps, ngx_mail_smtpd_str_t *value,
    ngx_mail_smtpd_str_t *param);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_param_body(
    ngx_mail_smtpd_env_parser_t *ps, ngx_mail_smtpd_str_t *value,
    ngx_mail_smtpd_str_t *param);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_param_ret(
    ngx_mail_smtpd_env_parser_t *ps, ngx_mail_smtpd_str_t *value,
    ngx_mail_smtpd_str_t *param);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_param_envid(
    ngx_mail_smtpd_env_parser_t *ps, ngx_mail_smtpd_str_t *value,
    ngx_mail_smtpd_str_t *param);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_param_smtputf8(
    ngx_mail_smtpd_env_parser_t *ps, ngx_mail_smtpd_str_t *value,
    ngx_mail_smtpd_str_t *param);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_param_auth(
    ngx_mail_smtpd_env_parser_t *ps, ngx_mail_smtpd_str_t *value,
    ngx_mail_smtpd_str_t *param);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_param_notify(
    ngx_mail_smtpd_env_parser_t *ps, ngx_mail_smtpd_str_t *value,
    ngx_mail_smtpd_str_t *param);
static ngx_mail_smtpd_envelope_error_e ngx_mail_smtpd_param_orcpt(
    ngx_mail_smtpd_env_parser_t *ps, ngx_mail_smtpd_str_t *value,
    ngx_mail_smtpd_str_t *param);
static int ngx_mail_smtpd_xtext_check(const unsigned char *p, size_t len,
    size_t *decoded);
static int ngx_mail_smtpd_is_atext(unsigned c);
static int ngx_mail_smtpd_strcaseeq(const unsigned char *p, size_t len,
    const char *s);
static void ngx_mail_smtpd_env_reply(ngx_mail_smtpd_env_parser_t *ps,
    ngx_mail_smtpd_str_t *param);


static const ngx_mail_smtpd_param_t  ngx_mail_smtpd_params[] = {
    { "SIZE", 4, NGX_MAIL_SMTPD_PARAM_MAIL, ngx_mail_smtpd_param_size },
    { "BODY", 4, NGX_MAIL_SMTPD_PARAM_MAIL, ngx_mail_smtpd_param_body },
    { "RET", 3, NGX_MAIL_SMTPD_PARAM_MAIL, ngx_mail_smtpd_param_ret },
    { "ENVID", 5, NGX_MAIL_SMTPD_PARAM_MAIL, ngx_mail_smtpd_param_envid },
    { "SMTPUTF8", 8, NGX_MAIL_SMTPD_PARAM_MAIL,
      ngx_mail_smtpd_param_smtputf8 },
    { "AUTH", 4, NGX_MAIL_SMTPD_PARAM_MAIL, ngx_mail_smtpd_param_auth },
    { "NOTIFY", 6, NGX_MAIL_SMTPD_PARAM_RCPT, ngx_mail_smtpd_param_notify },
    { "ORCPT", 5, NGX_MAIL_SMTPD_PARAM_RCPT, ngx_mail_smtpd_param_orcpt },
    { NULL, 0, 0, NULL }
};


int
ngx_mail_smtpd_parse_mail(const unsigned char *arg, size_t len,
    ngx_mail_smtpd_envelope_t *env)
{
    ngx_mail_smtpd_env_parser_t  ps;

    memset(&ps, 0, sizeof(ngx_mail_smtpd_env_parser_t));
    ps.p = arg;
    ps.end = arg + len;
    ps.env = env;

    return ngx_mail_smtpd_parse_envelope(&ps, "FROM:", 5);
}


int
ngx_mail_smtpd_parse_rcpt(const unsigned char *arg, size_t len,
    unsigned smtputf8, ngx_mail_smtpd_envelope_t *env)
{
    ngx_mail_smtpd_env_parser_t  ps;

    memset(&ps, 0, sizeof(ngx_mail_smtpd_env_parser_t));
    ps.p = arg;
    ps.end = arg + len;
    ps.env = env;
    ps.rcpt = 1;
    ps.smtputf8 = smtputf8 ? 1 : 0;

    return ngx_mail_smtpd_parse_envelope(&ps, "TO:", 3);
}


static int
ngx_mail_smtpd_parse_envelope(ngx_mail_smtpd_env_parser_t *ps,
    const char *keyword, size_t keyword_len)
{
    ngx_mail_smtpd_envelope_t        *env;
    ngx_mail_smtpd_envelope_error_e   rc;

    env = ps->env;

    memset(env, 0, sizeof(ngx_mail_smtpd_envelope_t));
    env->smtputf8 = ps->smtputf8;

    if ((size_t) (ps->end - ps->p) < keyword_len
        || !ngx_mail_smtpd_strcaseeq(ps->p, keyword_len, keyword))
    {
        env->error = NGX_MAIL_SMTPD_ENV_ERR_SYNTAX;
        ngx_mail_smtpd_env_reply(ps, NULL);
        return NGX_MAIL_SMTPD_PARSE_ERROR;
    }

    ps->p += keyword_len;

    /* Postfix and others accept "MAIL FROM: <a@b>"; so do we, once */
    if (ps->p < ps->end && *ps->p == ' ') {
        ps->p++;
    }

    rc = ngx_mail_smtpd_parse_path(ps);

    if (rc == NGX_MAIL_SMTPD_ENV_OK) {
        rc = ngx_mail_smtpd_parse_params(ps);
    }

    /*
     * RFC 6531 3.5: a non-ASCII address without SMTPUTF8 is refused
     * with 550 for MAIL and 553 for RCPT, both with X.6.7.  Checked last
     * because MAIL's SMTPUTF8 follows the address.
     */
    if (rc == NGX_MAIL_SMTPD_ENV_OK && env->utf8 && !env->smtputf8) {
        rc = NGX_MAIL_SMTPD_ENV_ERR_UTF8;
    }

    if (rc != NGX_MAIL_SMTPD_ENV_OK) {
        if (env->error == NGX_MAIL_SMTPD_ENV_OK) {
            env->error = rc;
            ngx_mail_smtpd_env_reply(ps, NULL);
        }
        return NGX_MAIL_SMTPD_PARSE_ERROR;
    }

    ngx_mail_smtpd_normalize(ps);

    return NGX_MAIL_SMTPD_PARSE_OK;
}


/* RFC 5321 4.1.2: "<" [ A-d-l ":" ] Mailbox ">", or "<>" for MAIL */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_parse_path(ngx_mail_smtpd_env_parser_t *ps)
{
    const unsigned char              *start, *mailbox;
    ngx_mail_smtpd_envelope_t        *env;
    ngx_mail_smtpd_envelope_error_e   rc;

    env = ps->env;
    start = ps->p;

    /* a bare address is what Postfix accepts with strict_rfc821_envelopes
     * off; we do not guess where it ends among the parameters */
    if (ps->p == ps->end || *ps->p != '<') {
        return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
    }

    ps->p++;

    if (ps->p < ps->end && *ps->p == '>') {

        /* RFC 5321 4.5.5: the null reverse-path; no null forward-path */
        if (ps->rcpt) {
            return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
        }

        ps->p++;
        env->null_path = 1;
        env->raw.data = ps->p - 1;
        goto done;
    }

    if (ps->p < ps->end && *ps->p == '@') {
        rc = ngx_mail_smtpd_parse_route(ps);
        if (rc != NGX_MAIL_SMTPD_ENV_OK) {
            return rc;
        }
    }

    mailbox = ps->p;

    rc = ngx_mail_smtpd_parse_local_part(ps);
    if (rc != NGX_MAIL_SMTPD_ENV_OK) {
        return rc;
    }

    if (ps->p < ps->end && *ps->p == '>'
        && ps->rcpt && !env->quoted
        && ngx_mail_smtpd_strcaseeq(ps->local, ps->local_end - ps->local,
                                    "postmaster"))
    {
        /* RFC 5321 4.5.1: "RCPT TO:<Postmaster>" without a domain */
        env->postmaster = 1;

    } else {
        if (ps->p == ps->end || *ps->p != '@') {
            return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
        }

        ps->p++;

        if (ps->p < ps->end && *ps->p == '[') {
            rc = ngx_mail_smtpd_parse_literal(ps);

        } else {
            ps->domain = ps->p;
            rc = ngx_mail_smtpd_parse_domain(ps);
            ps->domain_end = ps->p;
        }

        if (rc != NGX_MAIL_SMTPD_ENV_OK) {
            return rc;
        }
    }

    if (ps->p == ps->end || *ps->p != '>') {
        return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
    }

    env->raw.data = mailbox;
    env->raw.len = ps->p - mailbox;
    ps->p++;

done:

    if (ps->p - start > NGX_MAIL_SMTPD_PATH_MAX) {
        return NGX_MAIL_SMTPD_ENV_ERR_PATH_TOO_LONG;
    }

    if (ps->p < ps->end && *ps->p != ' ' && *ps->p != '\t') {
        return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
    }

    return NGX_MAIL_SMTPD_ENV_OK;
}


/* RFC 5321 4.1.2 and appendix C: "@a,@b:" is parsed and then ignored */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_parse_route(ngx_mail_smtpd_env_parser_t *ps)
{
    ngx_mail_smtpd_envelope_error_e  rc;

    for ( ;; ) {
        if (ps->p == ps->end || *ps->p != '@') {
            return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
        }

        ps->p++;

        rc = ngx_mail_smtpd_parse_domain(ps);
        if (rc != NGX_MAIL_SMTPD_ENV_OK) {
            return rc;
        }

        if (ps->p == ps->end) {
            return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
        }

        if (*ps->p == ':') {
            ps->p++;
            return NGX_MAIL_SMTPD_ENV_OK;
        }

        if (*ps->p != ',') {
            return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
        }

        ps->p++;
    }
}


/*
 * RFC 5321 4.1.2: Dot-string or Quoted-string; RFC 6531 3.3 adds
 * UTF8-non-ascii to atext and qtextSMTP, but not to quoted pairs.
 */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_parse_local_part(ngx_mail_smtpd_env_parser_t *ps)
{
    size_t                 n, atom;
    uint32_t               cp;
    const unsigned char   *p, *end;

    p = ps->p;
    end = ps->end;
    ps->local = p;

    if (p < end && *p == '"') {
        ps->env->quoted = 1;

        for (p++; /* void */ ; p++) {
            if (p == end) {
                return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
            }

            if (*p == '"') {
                p++;
                break;
            }

            if (*p == '\\') {
                p++;
                if (p == end || *p < 32 || *p > 126) {
                    return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
                }
                continue;
            }

            if (*p >= 0x80) {
                n = mime_utf8_decode(p, end, &cp);
                if (n == 0) {
                    return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
                }
                ps->env->utf8 = 1;
                p += n - 1;
                continue;
            }

            if (*p < 32 || *p > 126) {
                return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
            }
        }

    } else {
        for ( ;; ) {
            atom = 0;

            while (p < end) {
                if (ngx_mail_smtpd_is_atext(*p)) {
                    p++;

                } else if (*p >= 0x80) {
                    n = mime_utf8_decode(p, end, &cp);
                    if (n == 0) {
                        return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
                    }
                    ps->env->utf8 = 1;
                    p += n;

                } else {
                    break;
                }

                atom++;
            }

            if (atom == 0) {
                return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
            }

            if (p == end || *p != '.') {
                break;
            }

            p++;
        }
    }

    ps->p = p;
    ps->local_end = p;

    if (p - ps->local > NGX_MAIL_SMTPD_LOCAL_PART_MAX) {
        return NGX_MAIL_SMTPD_ENV_ERR_LOCAL_TOO_LONG;
    }

    return NGX_MAIL_SMTPD_ENV_OK;
}


/*
 * RFC 5321 4.1.2: sub-domain *("." sub-domain), a sub-domain being
 * Let-dig [Ldh-str]; RFC 6531 3.3 allows U-labels, of which we check
 * only that they are well-formed UTF-8.
 */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_parse_domain(ngx_mail_smtpd_env_parser_t *ps)
{
    size_t                 n, label;
    uint32_t               cp;
    unsigned               hyphen;
    const unsigned char   *p, *end, *start;

    p = ps->p;
    end = ps->end;
    start = p;

    for ( ;; ) {
        label = 0;
        hyphen = 0;

        while (p < end) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                || (*p >= '0' && *p <= '9'))
            {
                p++;
                hyphen = 0;

            } else if (*p == '-' && label > 0) {
                p++;
                hyphen = 1;

            } else if (*p >= 0x80) {
                n = mime_utf8_decode(p, end, &cp);
                if (n == 0) {
                    return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
                }
                ps->env->utf8 = 1;
                p += n;
                hyphen = 0;

            } else {
                break;
            }

            label++;
        }

        if (label == 0 || hyphen) {
            return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
        }

        if (p - start > NGX_MAIL_SMTPD_DOMAIN_MAX) {
            return NGX_MAIL_SMTPD_ENV_ERR_DOMAIN_TOO_LONG;
        }

        if (p == end || *p != '.') {
            break;
        }

        p++;
    }

    ps->p = p;

    return NGX_MAIL_SMTPD_ENV_OK;
}


/*
 * RFC 5321 4.1.3: "[" IPv4 "]" or "[IPv6:" IPv6 "]".  No
 * General-address-literal tag other than IPv6 is registered, so none
 * is accepted.
 */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_parse_literal(ngx_mail_smtpd_env_parser_t *ps)
{
    const unsigned char  *p, *end;

    end = ps->end;
    ps->domain = ps->p;
    p = ps->p + 1;

    if (p < end && *p >= '0' && *p <= '9') {
        p = ngx_mail_smtpd_parse_ipv4(p, end);

    } else if (end - p > 5 && ngx_mail_smtpd_strcaseeq(p, 5, "IPv6:")) {
        p = ngx_mail_smtpd_parse_ipv6(p + 5, end);

    } else {
        p = NULL;
    }

    if (p == NULL || p == end || *p != ']') {
        return NGX_MAIL_SMTPD_ENV_ERR_ADDRESS;
    }

    ps->p = p + 1;
    ps->domain_end = ps->p;
    ps->env->literal = 1;

    return NGX_MAIL_SMTPD_ENV_OK;
}


/* Snum 3("." Snum), Snum being 1*3DIGIT of at most 255 */

static const unsigned char *
ngx_mail_smtpd_parse_ipv4(const unsigned char *p, const unsigned char *end)
{
    unsigned  i, n, value;

    for (i = 0; i < 4; i++) {
        if (i > 0) {
            if (p == end || *p != '.') {
                return NULL;
            }
            p++;
        }

        value = 0;

        for (n = 0; n < 3 && p < end && *p >= '0' && *p <= '9'; n++) {
            value = value * 10 + (*p++ - '0');
        }

        if (n == 0 || value > 255 || (p < end && *p >= '0' && *p <= '9')) {
            return NULL;
        }
    }

    return p;
}


/*
 * RFC 5321 4.1.3: IPv6-full (8 groups), IPv6-comp ("::" and at most 6
 * groups), and both with a trailing IPv4 address counting as 2 groups.
 */

static const unsigned char *
ngx_mail_smtpd_parse_ipv6(const unsigned char *p, const unsigned char *end)
{
    unsigned  groups, compressed, n;

    groups = 0;
    compressed = 0;

    if (end - p >= 2 && p[0] == ':' && p[1] == ':') {
        compressed = 1;
        p += 2;

        if (p < end && *p == ']') {
            return p;
        }
    }

    for ( ;; ) {
        for (n = 0; p + n < end && n < 5; n++) {
            if (!((p[n] >= '0' && p[n] <= '9') || (p[n] >= 'a' && p[n] <= 'f')
                  || (p[n] >= 'A' && p[n] <= 'F')))
            {
                break;
            }
        }

        if (n == 0) {
            return NULL;
        }

        if (p + n < end && p[n] == '.') {
            p = ngx_mail_smtpd_parse_ipv4(p, end);
            if (p == NULL) {
                return NULL;
            }
            groups += 2;
            break;
        }

        if (n > 4) {
            return NULL;
        }

        p += n;
        groups++;

        if (p == end || *p != ':') {
            break;
        }

        p++;

        if (p < end && *p == ':') {
            if (compressed) {
                return NULL;
            }

            compressed = 1;
            p++;

            if (p < end && *p == ']') {
                break;
            }
        }
    }

    if (compressed ? groups > 6 : groups != 8) {
        return NULL;
    }

    return p;
}


/*
 * The mailbox into env->buf: a quoted local part loses its quotes when
 * its content is a Dot-string ("a.b"@x is a.b@x, RFC 5321 4.1.2
 * "SHOULD NOT be used unless necessary"), otherwise only '"' and '\'
 * stay escaped.  The result is never longer than what was sent, and the
 * path is at most 256 octets, so it fits.
 */

static void
ngx_mail_smtpd_normalize(ngx_mail_smtpd_env_parser_t *ps)
{
    int                          dot_string;
    size_t                       n, i;
    unsigned char               *d, *local;
    const unsigned char         *s;
    ngx_mail_smtpd_envelope_t   *env;

    env = ps->env;
    d = env->buf;

    if (env->null_path) {
        env->address.data = d;
        env->local_part.data = d;
        env->domain.data = d;
        return;
    }

    local = d;

    if (env->quoted) {
        n = ngx_mail_smtpd_unquote(ps->local + 1, ps->local_end - 1, d + 1,
                                   &dot_string);
        if (dot_string) {
            memmove(d, d + 1, n);
            d += n;

        } else {
            /* only '"' and '\\' need their backslash */
            s = ps->local + 1;
            *d++ = '"';
            for ( /* void */ ; s < ps->local_end - 1; s++) {
                if (*s == '\\') {
                    s++;
                    if (*s != '"' && *s != '\\') {
                        *d++ = *s;
                        continue;
                    }
                    *d++ = '\\';
                }
                *d++ = *s;
            }
            *d++ = '"';
        }

    } else {
        n = ps->local_end - ps->local;
        memcpy(d, ps->local, n);
        d += n;
    }

    env->local_part.data = local;
    env->local_part.len = d - local;

    if (env->postmaster) {
        env->domain.data = d;
        env->address.data = local;
        env->address.len = d - local;
        return;
    }

    *d++ = '@';
    env->domain.data = d;

    for (s = ps->domain; s < ps->domain_end; s++) {
        i = *s;
        if (!env->literal && i >= 'A' && i <= 'Z') {
            i |= 0x20;
        }
        *d++ = (unsigned char) i;
    }

    env->domain.len = d - env->domain.data;
    env->address.data = local;
    env->address.len = d - local;
}


/* the content of a Quoted-string without its escapes; is it a Dot-string? */

static size_t
ngx_mail_smtpd_unquote(const unsigned char *p, const unsigned char *end,
    unsigned char *dst, int *dot_string)
{
    int                   dot;
    size_t                n;

    n = 0;
    dot = 1;
    *dot_string = (p < end);

    while (p < end) {
        if (*p == '\\') {
            p++;
        }

        if (*p == '.') {
            if (dot) {
                *dot_string = 0;
            }
            dot = 1;

        } else {
            if (!ngx_mail_smtpd_is_atext(*p) && *p < 0x80) {
                *dot_string = 0;
            }
            dot = 0;
        }

        dst[n++] = *p++;
    }

    if (dot) {
        *dot_string = 0;
    }

    return n;
}


/* RFC 5321 4.1.2: Mail-parameters, esmtp-param *(SP esmtp-param) */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_parse_params(ngx_mail_smtpd_env_parser_t *ps)
{
    const unsigned char              *start;
    ngx_mail_smtpd_str_t              param;
    ngx_mail_smtpd_envelope_error_e   rc;

    for ( ;; ) {
        while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t')) {
            ps->p++;
        }

        if (ps->p == ps->end) {
            return NGX_MAIL_SMTPD_ENV_OK;
        }

        start = ps->p;

        while (ps->p < ps->end && *ps->p != ' ' && *ps->p != '\t') {
            ps->p++;
        }

        param.data = start;
        param.len = ps->p - start;

        rc = ngx_mail_smtpd_parse_param(ps, &param);
        if (rc != NGX_MAIL_SMTPD_ENV_OK) {
            return rc;
        }
    }
}


/* esmtp-keyword ["=" esmtp-value], keyword (ALPHA / DIGIT) *(... / "-") */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_parse_param(ngx_mail_smtpd_env_parser_t *ps,
    ngx_mail_smtpd_str_t *param)
{
    size_t                           n;
    unsigned                         verb;
    ngx_mail_smtpd_str_t             value;
    const ngx_mail_smtpd_param_t    *pm;

    for (n = 0; n < param->len; n++) {
        if (param->data[n] == '=') {
            break;
        }
    }

    value.len = 0;
    value.data = NULL;

    if (n < param->len) {
        value.data = param->data + n + 1;
        value.len = param->len - n - 1;
    }

    verb = ps->rcpt ? NGX_MAIL_SMTPD_PARAM_RCPT : NGX_MAIL_SMTPD_PARAM_MAIL;

    for (pm = ngx_mail_smtpd_params; pm->name; pm++) {
        if (pm->len == n && (pm->verbs & verb)
            && ngx_mail_smtpd_strcaseeq(param->data, n, pm->name))
        {
            return pm->handler(ps, &value, param);
        }
    }

    /* RFC 5321 4.1.1.11: 555 for a parameter not recognized */
    ps->env->error = NGX_MAIL_SMTPD_ENV_ERR_UNSUPPORTED;
    ngx_mail_smtpd_env_reply(ps, param);

    return NGX_MAIL_SMTPD_ENV_ERR_UNSUPPORTED;
}


/* RFC 1870 6: size-value ::= 1*20DIGIT */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_param_size(ngx_mail_smtpd_env_parser_t *ps,
    ngx_mail_smtpd_str_t *value, ngx_mail_smtpd_str_t *param)
{
    size_t     i;
    unsigned   digit;
    uint64_t   size;

    if (ps->env->has_size) {
        ps->env->error = NGX_MAIL_SMTPD_ENV_ERR_DUPLICATE;
        ngx_mail_smtpd_env_reply(ps, param);
        return NGX_MAIL_SMTPD_ENV_ERR_DUPLICATE;
    }

    if (value->data == NULL || value->len == 0 || value->len > 20) {
        return NGX_MAIL_SMTPD_ENV_ERR_SIZE;
    }

    size = 0;

    for (i = 0; i < value->len; i++) {
        if (value->data[i] < '0' || value->data[i] > '9') {
            return NGX_MAIL_SMTPD_ENV_ERR_SIZE;
        }
    }

    /* what does not fit an off_t is larger than any limit we set */
    for (i = 0; i < value->len; i++) {
        digit = value->data[i] - '0';

        if (size > (uint64_t) (INT64_MAX - digit) / 10) {
            return NGX_MAIL_SMTPD_ENV_ERR_SIZE_OVERFLOW;
        }

        size = size * 10 + digit;
    }

    ps->env->size = size;
    ps->env->has_size = 1;

    return NGX_MAIL_SMTPD_ENV_OK;
}


/* RFC 6152 2 and RFC 3030 3: 7BIT, 8BITMIME, BINARYMIME */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_param_body(ngx_mail_smtpd_env_parser_t *ps,
    ngx_mail_smtpd_str_t *value, ngx_mail_smtpd_str_t *param)
{
    unsigned  body;

    if (ps->seen_body) {
        ps->env->error = NGX_MAIL_SMTPD_ENV_ERR_DUPLICATE;
        ngx_mail_smtpd_env_reply(ps, param);
        return NGX_MAIL_SMTPD_ENV_ERR_DUPLICATE;
    }

    if (value->data == NULL) {
        body = NGX_MAIL_SMTPD_BODY_NONE;

    } else if (ngx_mail_smtpd_strcaseeq(value->data, value->len, "7BIT")) {
        body = NGX_MAIL_SMTPD_BODY_7BIT;

    } else if (ngx_mail_smtpd_strcaseeq(value->data, value->len,
                                        "8BITMIME"))
    {
        body = NGX_MAIL_SMTPD_BODY_8BITMIME;

    } else if (ngx_mail_smtpd_strcaseeq(value->data, value->len,
                                        "BINARYMIME"))
    {
        body = NGX_MAIL_SMTPD_BODY_BINARYMIME;

    } else {
        body = NGX_MAIL_SMTPD_BODY_NONE;
    }

    /* Postfix: an unknown BODY value is an unsupported option */
    if (body == NGX_MAIL_SMTPD_BODY_NONE) {
        ps->env->error = NGX_MAIL_SMTPD_ENV_ERR_UNSUPPORTED;
        ngx_mail_smtpd_env_reply(ps, param);
        return NGX_MAIL_SMTPD_ENV_ERR_UNSUPPORTED;
    }

    ps->seen_body = 1;
    ps->env->body = body;

    return NGX_MAIL_SMTPD_ENV_OK;
}


/* RFC 3461 4.3 and 4.5: FULL or HDRS, at most once */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_param_ret(ngx_mail_smtpd_env_parser_t *ps,
    ngx_mail_smtpd_str_t *value, ngx_mail_smtpd_str_t *param)
{
    if (ps->seen_ret || value->data == NULL) {
        return NGX_MAIL_SMTPD_ENV_ERR_RET;
    }

    if (ngx_mail_smtpd_strcaseeq(value->data, value->len, "FULL")) {
        ps->env->ret = NGX_MAIL_SMTPD_RET_FULL;

    } else if (ngx_mail_smtpd_strcaseeq(value->data, value->len, "HDRS")) {
        ps->env->ret = NGX_MAIL_SMTPD_RET_HDRS;

    } else {
        return NGX_MAIL_SMTPD_ENV_ERR_RET;
    }

    ps->seen_ret = 1;

    return NGX_MAIL_SMTPD_ENV_OK;
}


/*
 * RFC 3461 4.4: xtext, at most 100 characters and printable US-ASCII
 * once decoded, at most once.
 */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_param_envid(ngx_mail_smtpd_env_parser_t *ps,
    ngx_mail_smtpd_str_t *value, ngx_mail_smtpd_str_t *param)
{
    size_t  decoded;

    if (ps->env->has_envid || value->data == NULL || value->len == 0
        || ngx_mail_smtpd_xtext_check(value->data, value->len, &decoded)
           != NGX_MAIL_SMTPD_PARSE_OK
        || decoded > NGX_MAIL_SMTPD_ENVID_MAX)
    {
        return NGX_MAIL_SMTPD_ENV_ERR_ENVID;
    }

    ps->env->envid = *value;
    ps->env->has_envid = 1;

    return NGX_MAIL_SMTPD_ENV_OK;
}


/* RFC 6531 3.4: SMTPUTF8 takes no value */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_param_smtputf8(ngx_mail_smtpd_env_parser_t *ps,
    ngx_mail_smtpd_str_t *value, ngx_mail_smtpd_str_t *param)
{
    if (value->data != NULL) {
        ps->env->error = NGX_MAIL_SMTPD_ENV_ERR_UNSUPPORTED;
        ngx_mail_smtpd_env_reply(ps, param);
        return NGX_MAIL_SMTPD_ENV_ERR_UNSUPPORTED;
    }

    if (ps->seen_smtputf8) {
        ps->env->error = NGX_MAIL_SMTPD_ENV_ERR_DUPLICATE;
        ngx_mail_smtpd_env_reply(ps, param);
        return NGX_MAIL_SMTPD_ENV_ERR_DUPLICATE;
    }

    ps->seen_smtputf8 = 1;
    ps->env->smtputf8 = 1;

    return NGX_MAIL_SMTPD_ENV_OK;
}


/*
 * RFC 4954 5: "AUTH=" xtext, the decoded value an addr-spec or "<>".
 * Whether to trust it is the caller's business (the session's
 * authentication), not the parser's.
 */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_param_auth(ngx_mail_smtpd_env_parser_t *ps,
    ngx_mail_smtpd_str_t *value, ngx_mail_smtpd_str_t *param)
{
    size_t  decoded;

    if (ps->env->has_auth) {
        return NGX_MAIL_SMTPD_ENV_ERR_AUTH_DUPLICATE;
    }

    if (value->data == NULL || value->len == 0
        || ngx_mail_smtpd_xtext_check(value->data, value->len, &decoded)
           != NGX_MAIL_SMTPD_PARSE_OK)
    {
        return NGX_MAIL_SMTPD_ENV_ERR_AUTH;
    }

    ps->env->auth = *value;
    ps->env->has_auth = 1;
    ps->env->auth_null = (value->len == 2 && value->data[0] == '<'
                          && value->data[1] == '>');

    return NGX_MAIL_SMTPD_ENV_OK;
}


/* RFC 3461 4.1: "NEVER" alone, or a list of SUCCESS, FAILURE, DELAY */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_param_notify(ngx_mail_smtpd_env_parser_t *ps,
    ngx_mail_smtpd_str_t *value, ngx_mail_smtpd_str_t *param)
{
    size_t                 n;
    unsigned               bit, notify;
    const unsigned char   *p, *end;

    if (ps->seen_notify || value->data == NULL) {
        return NGX_MAIL_SMTPD_ENV_ERR_NOTIFY;
    }

    p = value->data;
    end = p + value->len;
    notify = 0;

    for ( ;; ) {
        for (n = 0; p + n < end && p[n] != ','; n++) { /* void */ }

        if (ngx_mail_smtpd_strcaseeq(p, n, "NEVER")) {
            bit = NGX_MAIL_SMTPD_NOTIFY_NEVER;

        } else if (ngx_mail_smtpd_strcaseeq(p, n, "SUCCESS")) {
            bit = NGX_MAIL_SMTPD_NOTIFY_SUCCESS;

        } else if (ngx_mail_smtpd_strcaseeq(p, n, "FAILURE")) {
            bit = NGX_MAIL_SMTPD_NOTIFY_FAILURE;

        } else if (ngx_mail_smtpd_strcaseeq(p, n, "DELAY")) {
            bit = NGX_MAIL_SMTPD_NOTIFY_DELAY;

        } else {
            return NGX_MAIL_SMTPD_ENV_ERR_NOTIFY;
        }

        if (notify & bit) {
            return NGX_MAIL_SMTPD_ENV_ERR_NOTIFY;
        }

        notify |= bit;
        p += n;

        if (p == end) {
            break;
        }

        p++;
    }

    if ((notify & NGX_MAIL_SMTPD_NOTIFY_NEVER)
        && notify != NGX_MAIL_SMTPD_NOTIFY_NEVER)
    {
        return NGX_MAIL_SMTPD_ENV_ERR_NOTIFY;
    }

    ps->seen_notify = 1;
    ps->env->notify = notify;

    return NGX_MAIL_SMTPD_ENV_OK;
}


/*
 * RFC 3461 4.2: addr-type ";" xtext, addr-type an atom, the whole
 * parameter at most 500 characters.  RFC 6533's "utf-8" type encodes
 * its non-ASCII characters in ASCII before xtext, so xtext it stays.
 */

static ngx_mail_smtpd_envelope_error_e
ngx_mail_smtpd_param_orcpt(ngx_mail_smtpd_env_parser_t *ps,
    ngx_mail_smtpd_str_t *value, ngx_mail_smtpd_str_t *param)
{
    size_t  n, decoded;

    if (ps->env->has_orcpt || value->data == NULL
        || param->len > NGX_MAIL_SMTPD_ORCPT_MAX)
    {
        return NGX_MAIL_SMTPD_ENV_ERR_ORCPT;
    }

    for (n = 0; n < value->len && value->data[n] != ';'; n++) {
        if (!ngx_mail_smtpd_is_atext(value->data[n])) {
            return NGX_MAIL_SMTPD_ENV_ERR_ORCPT;
        }
    }

    if (n == 0 || n == value->len || n + 1 == value->len
        || ngx_mail_smtpd_xtext_check(value->data + n + 1,
                                      value->len - n - 1, &decoded)
           != NGX_MAIL_SMTPD_PARSE_OK)
    {
        return NGX_MAIL_SMTPD_ENV_ERR_ORCPT;
    }

    ps->env->orcpt_type.data = value->data;
    ps->env->orcpt_type.len = n;
    ps->env->orcpt.data = value->data + n + 1;
    ps->env->orcpt.len = value->len - n - 1;
    ps->env->has_orcpt = 1;

    return NGX_MAIL_SMTPD_ENV_OK;
}


static int
ngx_mail_smtpd_hex(unsigned c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    /* RFC 3461 4: "two upper case hexadecimal digits" */
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


/*
 * Checks the syntax and that the decoded octets are printable US-ASCII
 * (RFC 3461 4.2, 4.4: "graphic and white space"), which also keeps
 * NULs and line ends out of the queue.
 */

static int
ngx_mail_smtpd_xtext_check(const unsigned char *p, size_t len,
    size_t *decoded)
{
    int     hi, lo;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++, n++) {
        if (p[i] == '+') {
            if (len - i < 3) {
                return NGX_MAIL_SMTPD_PARSE_ERROR;
            }

            hi = ngx_mail_smtpd_hex(p[i + 1]);
            lo = ngx_mail_smtpd_hex(p[i + 2]);

            if (hi < 0 || lo < 0 || hi * 16 + lo < 32 || hi * 16 + lo > 126) {
                return NGX_MAIL_SMTPD_PARSE_ERROR;
            }

            i += 2;
            continue;
        }

        if (p[i] < 33 || p[i] > 126 || p[i] == '=') {
            return NGX_MAIL_SMTPD_PARSE_ERROR;
        }
    }

    *decoded = n;

    return NGX_MAIL_SMTPD_PARSE_OK;
}


int
ngx_mail_smtpd_xtext_decode(const unsigned char *src, size_t len,
    unsigned char *dst, size_t size, size_t *decoded)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (n == size) {
            return NGX_MAIL_SMTPD_PARSE_ERROR;
        }

        if (src[i] == '+') {
            if (len - i < 3 || ngx_mail_smtpd_hex(src[i + 1]) < 0
                || ngx_mail_smtpd_hex(src[i + 2]) < 0)
            {
                return NGX_MAIL_SMTPD_PARSE_ERROR;
            }

            dst[n++] = (unsigned char) (ngx_mail_smtpd_hex(src[i + 1]) * 16
                                        + ngx_mail_smtpd_hex(src[i + 2]));
            i += 2;
            continue;
        }

        if (src[i] < 33 || src[i] > 126 || src[i] == '=') {
            return NGX_MAIL_SMTPD_PARSE_ERROR;
        }

        dst[n++] = src[i];
    }

    *decoded = n;

    return NGX_MAIL_SMTPD_PARSE_OK;
}


/* RFC 5322 3.2.3 atext, as RFC 5321 4.1.2 uses it */

static int
ngx_mail_smtpd_is_atext(unsigned c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9'))
    {
        return 1;
    }

    return c != 0 && c < 0x80 && strchr("!#$%&'*+-/=?^_`{|}~", (int) c)
           != NULL;
}


static int
ngx_mail_smtpd_strcaseeq(const unsigned char *p, size_t len, const char *s)
{
    size_t    i;
    unsigned  c;

    for (i = 0; i < len; i++) {
        c = p[i];
        if (c >= 'a' && c <= 'z') {
            c -= 0x20;
        }

        if (s[i] == '\0' || c != (unsigned) ((s[i] >= 'a' && s[i] <= 'z')
                                             ? s[i] - 0x20 : s[i]))
        {
            return 0;
        }
    }

    return s[len] == '\0';
}


static void
ngx_mail_smtpd_env_append(ngx_mail_smtpd_envelope_t *env, const char *s)
{
    size_t  n;

    n = strlen(s);

    if (n > NGX_MAIL_SMTPD_REPLY_MAX - env->reply.len) {
        n = NGX_MAIL_SMTPD_REPLY_MAX - env->reply.len;
    }

    memcpy(env->reply_buf + env->reply.len, s, n);
    env->reply.len += n;
}


/*
 * The reply for env->error; a client's parameter is echoed only as
 * printable ASCII and at most 64 octets, so the reply stays one line.
 */

static void
ngx_mail_smtpd_env_reply(ngx_mail_smtpd_env_parser_t *ps,
    ngx_mail_smtpd_str_t *param)
{
    size_t                       i, n;
    unsigned char                c;
    ngx_mail_smtpd_envelope_t   *env;

    env = ps->env;
    env->reply.data = env->reply_buf;
    env->reply.len = 0;

    switch (env->error) {

    case NGX_MAIL_SMTPD_ENV_ERR_SYNTAX:
        ngx_mail_smtpd_env_append(env, ps->rcpt
                                  ? "501 5.5.4 Syntax: RCPT TO:<address>"
                                  : "501 5.5.4 Syntax: MAIL FROM:<address>");
        return;

    case NGX_MAIL_SMTPD_ENV_ERR_UTF8:
        ngx_mail_smtpd_env_append(env, ps->rcpt ? "553" : "550");
        ngx_mail_smtpd_env_append(env,
                   " 5.6.7 Must declare SMTPUTF8 to send unicode address");
        return;

    case NGX_MAIL_SMTPD_ENV_ERR_UNSUPPORTED:
        ngx_mail_smtpd_env_append(env, "555 5.5.4 Unsupported option: ");
        break;

    case NGX_MAIL_SMTPD_ENV_ERR_DUPLICATE:
        ngx_mail_smtpd_env_append(env, "501 5.5.4 Duplicate parameter: ");
        break;

    case NGX_MAIL_SMTPD_ENV_ERR_SIZE:
        ngx_mail_smtpd_env_append(env, "501 5.5.4 Bad message size syntax");
        return;

    case NGX_MAIL_SMTPD_ENV_ERR_SIZE_OVERFLOW:
        ngx_mail_smtpd_env_append(env, "552 5.3.4 Message size exceeds "
                                  "file system imposed limit");
        return;

    case NGX_MAIL_SMTPD_ENV_ERR_RET:
        ngx_mail_smtpd_env_append(env, "501 5.5.4 Bad RET parameter syntax");
        return;

    case NGX_MAIL_SMTPD_ENV_ERR_ENVID:
        ngx_mail_smtpd_env_append(env,
                                  "501 5.5.4 Bad ENVID parameter syntax");
        return;

    case NGX_MAIL_SMTPD_ENV_ERR_AUTH:
        ngx_mail_smtpd_env_append(env, "501 5.5.4 Bad AUTH parameter syntax");
        return;

    case NGX_MAIL_SMTPD_ENV_ERR_AUTH_DUPLICATE:
        ngx_mail_smtpd_env_append(env,
                                  "503 5.5.4 Error: multiple AUTH= options");
        return;

    case NGX_MAIL_SMTPD_ENV_ERR_NOTIFY:
        ngx_mail_smtpd_env_append(env,
                              "501 5.5.4 Error: Bad NOTIFY parameter syntax");
        return;

    case NGX_MAIL_SMTPD_ENV_ERR_ORCPT:
        ngx_mail_smtpd_env_append(env,
                               "501 5.5.4 Error: Bad ORCPT parameter syntax");
        return;

    default: /* the address errors */
        ngx_mail_smtpd_env_append(env, ps->rcpt
                                  ? "501 5.1.3 Bad recipient address syntax"
                                  : "501 5.1.7 Bad sender address syntax");
        return;
    }

    n = param->len;
    if (n > NGX_MAIL_SMTPD_ECHO_MAX) {
        n = NGX_MAIL_SMTPD_ECHO_MAX;
    }

    for (i = 0; i < n && env->reply.len < NGX_MAIL_SMTPD_REPLY_MAX; i++) {
        c = param->data[i];
        env->reply_buf[env->reply.len++] = (c > 32 && c < 127) ? c : '?';
    }
}
