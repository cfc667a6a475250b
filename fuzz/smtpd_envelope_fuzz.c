
/*
 * libFuzzer target for the MAIL/RCPT argument parser.  The first
 * octet chooses MAIL, RCPT, or RCPT after MAIL ... SMTPUTF8; the rest
 * is the argument.  Besides the sanitizers it checks that results
 * point where they should, that replies are one printable line, and
 * that a normalised address parses again to itself.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_smtpd_envelope.h"


static void
check_within(const ngx_mail_smtpd_str_t *s, const unsigned char *start,
    size_t len)
{
    if (s->len == 0) {
        return;
    }

    if (s->data < start || s->data + s->len > start + len) {
        abort();
    }
}


static void
check_xtext(const ngx_mail_smtpd_str_t *s)
{
    size_t         n;
    unsigned char  buf[600];

    if (s->len == 0) {
        return;
    }

    if (ngx_mail_smtpd_xtext_decode(s->data, s->len, buf, sizeof(buf), &n)
        != NGX_MAIL_SMTPD_PARSE_OK || n > s->len)
    {
        abort();
    }
}


static void
check_reply(const ngx_mail_smtpd_envelope_t *env)
{
    size_t  i;

    if (env->reply.len < 10 || env->reply.len > NGX_MAIL_SMTPD_REPLY_MAX
        || env->reply.data != env->reply_buf)
    {
        abort();
    }

    for (i = 0; i < env->reply.len; i++) {
        if (env->reply.data[i] < 32 || env->reply.data[i] > 126) {
            abort();
        }
    }

    if (env->reply.data[0] != '5' || env->reply.data[3] != ' ') {
        abort();
    }
}


/* "TO:<address>" of a parsed address parses to the same address */

static void
check_roundtrip(const ngx_mail_smtpd_envelope_t *env, int rcpt)
{
    size_t                      n;
    unsigned char               arg[NGX_MAIL_SMTPD_PATH_MAX + 32];
    ngx_mail_smtpd_envelope_t   again;

    n = 0;
    memcpy(arg, rcpt ? "TO:<" : "FROM:<", rcpt ? 4 : 6);
    n += rcpt ? 4 : 6;
    memcpy(arg + n, env->address.data, env->address.len);
    n += env->address.len;
    arg[n++] = '>';

    if (!rcpt && env->utf8) {
        memcpy(arg + n, " SMTPUTF8", 9);
        n += 9;
    }

    if ((rcpt ? ngx_mail_smtpd_parse_rcpt(arg, n, env->smtputf8, &again)
              : ngx_mail_smtpd_parse_mail(arg, n, &again))
        != NGX_MAIL_SMTPD_PARSE_OK)
    {
        abort();
    }

    if (again.address.len != env->address.len
        || memcmp(again.address.data, env->address.data, env->address.len)
           != 0)
    {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                          rc, rcpt;
    unsigned                     smtputf8;
    ngx_mail_smtpd_envelope_t    env;

    if (size == 0) {
        return 0;
    }

    rcpt = data[0] & 1;
    smtputf8 = (data[0] >> 1) & 1;
    data++;
    size--;

    rc = rcpt ? ngx_mail_smtpd_parse_rcpt(data, size, smtputf8, &env)
              : ngx_mail_smtpd_parse_mail(data, size, &env);

    if (rc == NGX_MAIL_SMTPD_PARSE_ERROR) {
        if (env.error == NGX_MAIL_SMTPD_ENV_OK) {
            abort();
        }
        check_reply(&env);
        return 0;
    }

    if (rc != NGX_MAIL_SMTPD_PARSE_OK || env.error != NGX_MAIL_SMTPD_ENV_OK) {
        abort();
    }

    if (env.address.len > NGX_MAIL_SMTPD_PATH_MAX - 2
        || env.address.len > env.raw.len)
    {
        abort();
    }

    check_within(&env.address, env.buf, sizeof(env.buf));
    check_within(&env.local_part, env.address.data, env.address.len);
    check_within(&env.domain, env.address.data, env.address.len);
    check_within(&env.raw, data, size);
    check_within(&env.envid, data, size);
    check_within(&env.auth, data, size);
    check_within(&env.orcpt, data, size);
    check_xtext(&env.envid);
    check_xtext(&env.auth);
    check_xtext(&env.orcpt);

    if (env.null_path) {
        if (rcpt || env.address.len != 0) {
            abort();
        }
        return 0;
    }

    if (env.local_part.len == 0 || (env.utf8 && !env.smtputf8)
        || (env.postmaster && !rcpt))
    {
        abort();
    }

    check_roundtrip(&env, rcpt);

    return 0;
}
