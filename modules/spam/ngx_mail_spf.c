
/*
 * RFC 7208 check_host(): the record's terms evaluated left to right, one
 * DNS question at a time.  An include pushes a frame holding the
 * included domain and its record, a redirect replaces the frame's record,
 * so the records of the chain live in one stack of text (spf->text).
 * A record is checked for syntax whole before any of it is evaluated
 * (RFC 7208 4.6: a syntax error anywhere is permerror).
 */

#define _POSIX_C_SOURCE  200112L

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "ngx_mail_spf.h"


/* the evaluator's states; a WAIT state has a question open */
enum {
    NGX_MAIL_SPF_S_START = 0,
    NGX_MAIL_SPF_S_RECORD,
    NGX_MAIL_SPF_S_TERMS,
    NGX_MAIL_SPF_S_MX_ADDR,
    NGX_MAIL_SPF_S_PTR_ADDR,
    NGX_MAIL_SPF_S_P_ADDR,
    NGX_MAIL_SPF_S_EXP,
    NGX_MAIL_SPF_S_DONE,

    NGX_MAIL_SPF_S_WAIT,              /* the WAIT states follow */
    NGX_MAIL_SPF_S_RECORD_WAIT,
    NGX_MAIL_SPF_S_A_WAIT,
    NGX_MAIL_SPF_S_EXISTS_WAIT,
    NGX_MAIL_SPF_S_MX_WAIT,
    NGX_MAIL_SPF_S_MX_ADDR_WAIT,
    NGX_MAIL_SPF_S_PTR_WAIT,
    NGX_MAIL_SPF_S_PTR_ADDR_WAIT,
    NGX_MAIL_SPF_S_P_PTR_WAIT,
    NGX_MAIL_SPF_S_P_ADDR_WAIT,
    NGX_MAIL_SPF_S_EXP_WAIT
};


enum {
    NGX_MAIL_SPF_M_MODIFIER = 0,
    NGX_MAIL_SPF_M_ALL,
    NGX_MAIL_SPF_M_INCLUDE,
    NGX_MAIL_SPF_M_A,
    NGX_MAIL_SPF_M_MX,
    NGX_MAIL_SPF_M_PTR,
    NGX_MAIL_SPF_M_IP4,
    NGX_MAIL_SPF_M_IP6,
    NGX_MAIL_SPF_M_EXISTS
};


typedef struct {
    unsigned                    mechanism;
    ngx_mail_spf_result_e       qualifier;
    const char                 *name;       /* a modifier's */
    size_t                      name_len;
    const char                 *spec;       /* domain-spec or value */
    size_t                      spec_len;
    unsigned                    cidr4;
    unsigned                    cidr6;
    unsigned char               addr[16];
} ngx_mail_spf_term_t;


#define NGX_MAIL_SPF_EXPAND_MAX  2048

/* the parts of a macro value: a sender address at most */
#define NGX_MAIL_SPF_PARTS_MAX                                               \
    (NGX_MAIL_SPF_LOCAL_MAX + NGX_MAIL_SPF_NAME_MAX + 2)


static int ngx_mail_spf_start(ngx_mail_spf_t *spf);
static int ngx_mail_spf_terms(ngx_mail_spf_t *spf);
static int ngx_mail_spf_mechanism(ngx_mail_spf_t *spf,
    ngx_mail_spf_term_t *term, size_t next);
static int ngx_mail_spf_redirect(ngx_mail_spf_t *spf);
static int ngx_mail_spf_addr_next(ngx_mail_spf_t *spf, unsigned wait);
static int ngx_mail_spf_exp(ngx_mail_spf_t *spf);
static void ngx_mail_spf_record(ngx_mail_spf_t *spf, int rcode,
    const ngx_mail_spf_rr_t *rrs, unsigned nrrs);
static void ngx_mail_spf_addrs(ngx_mail_spf_t *spf, int rcode,
    const ngx_mail_spf_rr_t *rrs, unsigned nrrs);
static void ngx_mail_spf_mx(ngx_mail_spf_t *spf, int rcode,
    const ngx_mail_spf_rr_t *rrs, unsigned nrrs);
static void ngx_mail_spf_ptr(ngx_mail_spf_t *spf, int rcode,
    const ngx_mail_spf_rr_t *rrs, unsigned nrrs);
static void ngx_mail_spf_explain(ngx_mail_spf_t *spf, int rcode,
    const ngx_mail_spf_rr_t *rrs, unsigned nrrs);
static void ngx_mail_spf_dispatch(ngx_mail_spf_t *spf, int rcode,
    const ngx_mail_spf_rr_t *rrs, unsigned nrrs);
static int ngx_mail_spf_ask(ngx_mail_spf_t *spf, unsigned type,
    const char *name, size_t len, unsigned wait);
static void ngx_mail_spf_frame_done(ngx_mail_spf_t *spf,
    ngx_mail_spf_result_e result);
static void ngx_mail_spf_finish(ngx_mail_spf_t *spf,
    ngx_mail_spf_result_e result, const char *problem);
static int ngx_mail_spf_void(ngx_mail_spf_t *spf, int rcode,
    unsigned nrrs);
static int ngx_mail_spf_is_record(const unsigned char *p, size_t len);
static int ngx_mail_spf_check_record(ngx_mail_spf_t *spf,
    ngx_mail_spf_frame_t *frame);
static int ngx_mail_spf_parse_term(const char *p, size_t len,
    ngx_mail_spf_term_t *term, const char **problem);
static int ngx_mail_spf_cidr(const char *p, size_t len, unsigned max,
    unsigned *cidr);
static int ngx_mail_spf_check_domain_spec(const char *p, size_t len);
static int ngx_mail_spf_check_macro_string(const char *p, size_t len,
    int exp, int *macro_end);
static int ngx_mail_spf_needs_p(ngx_mail_spf_t *spf, const char *p,
    size_t len);
static int ngx_mail_spf_start_p(ngx_mail_spf_t *spf);
static int ngx_mail_spf_target(ngx_mail_spf_t *spf,
    ngx_mail_spf_term_t *term);
static long ngx_mail_spf_expand(ngx_mail_spf_t *spf, const char *p,
    size_t len, int exp, char *out, size_t size);
static size_t ngx_mail_spf_macro_value(ngx_mail_spf_t *spf, int letter,
    char *out, size_t size);
static size_t ngx_mail_spf_transform(const char *value, size_t len,
    unsigned digits, int reverse, const char *delimiters, size_t ndelims,
    char *out, size_t size);
static size_t ngx_mail_spf_truncate(char *name, size_t len);
static int ngx_mail_spf_valid_domain(const char *name, size_t len,
    unsigned min_labels);
static size_t ngx_mail_spf_copy_name(char *dst, const unsigned char *src,
    size_t len);
static int ngx_mail_spf_under(const char *name, size_t len,
    const char *domain, size_t dlen);
static int ngx_mail_spf_ip_match(ngx_mail_spf_t *spf,
    const unsigned char *addr, unsigned family, unsigned cidr);
static size_t ngx_mail_spf_client_text(ngx_mail_spf_t *spf, char *out);
static size_t ngx_mail_spf_reverse_name(ngx_mail_spf_t *spf, char *out);


int
ngx_mail_spf_init(ngx_mail_spf_t *spf, const ngx_mail_spf_params_t *params)
{
    static const unsigned char  mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                               0xff, 0xff };

    memset(spf, 0, sizeof(ngx_mail_spf_t));

    if ((params->family != 4 && params->family != 6)
        || params->sender_local.len > NGX_MAIL_SPF_LOCAL_MAX
        || params->sender_domain.len > NGX_MAIL_SPF_NAME_MAX + 1
        || params->helo.len > NGX_MAIL_SPF_NAME_MAX + 1
        || params->receiver.len > NGX_MAIL_SPF_NAME_MAX + 1)
    {
        spf->state = NGX_MAIL_SPF_S_DONE;
        spf->result = NGX_MAIL_SPF_PERMERROR;
        spf->problem = "bad arguments";
        return NGX_MAIL_SPF_ERROR;
    }

    /* RFC 7208 5: an IPv4-mapped IPv6 address is the IPv4 address */
    if (params->family == 6 && memcmp(params->addr, mapped, 12) == 0) {
        spf->family = 4;
        memcpy(spf->addr, params->addr + 12, 4);

    } else {
        spf->family = params->family;
        memcpy(spf->addr, params->addr, params->family == 4 ? 4 : 16);
    }

    /* RFC 7208 4.3: no local part is "postmaster" */
    if (params->sender_local.len) {
        memcpy(spf->local, params->sender_local.data,
               params->sender_local.len);
        spf->local_len = params->sender_local.len;

    } else {
        memcpy(spf->local, "postmaster", 10);
        spf->local_len = 10;
    }

    spf->helo_len = ngx_mail_spf_copy_name(spf->helo, params->helo.data,
                                           params->helo.len);
    spf->receiver_len = ngx_mail_spf_copy_name(spf->receiver,
                                               params->receiver.data,
                                               params->receiver.len);

    /* RFC 7208 2.4: a null reverse-path is checked as postmaster@helo */
    if (params->sender_domain.len) {
        spf->identity = NGX_MAIL_SPF_MAILFROM;
        spf->sender_domain_len = ngx_mail_spf_copy_name(spf->sender_domain,
                                        params->sender_domain.data,
                                        params->sender_domain.len);

    } else {
        spf->identity = NGX_MAIL_SPF_HELO;
        memcpy(spf->sender_domain, spf->helo, spf->helo_len + 1);
        spf->sender_domain_len = spf->helo_len;
    }

    spf->now = params->now;
    spf->state = NGX_MAIL_SPF_S_START;

    return NGX_MAIL_SPF_OK;
}


int
ngx_mail_spf_step(ngx_mail_spf_t *spf)
{
    int  rc;

    for ( ;; ) {

        if (spf->state > NGX_MAIL_SPF_S_WAIT) {
            /* the question is still open */
            return NGX_MAIL_SPF_AGAIN;
        }

        switch (spf->state) {

        case NGX_MAIL_SPF_S_START:
            rc = ngx_mail_spf_start(spf);
            break;

        case NGX_MAIL_SPF_S_RECORD:
            rc = ngx_mail_spf_ask(spf, NGX_MAIL_SPF_TXT,
                                  spf->frames[spf->depth - 1].domain,
                                  spf->frames[spf->depth - 1].domain_len,
                                  NGX_MAIL_SPF_S_RECORD_WAIT);
            break;

        case NGX_MAIL_SPF_S_TERMS:
            rc = ngx_mail_spf_terms(spf);
            break;

        case NGX_MAIL_SPF_S_MX_ADDR:
            rc = ngx_mail_spf_addr_next(spf, NGX_MAIL_SPF_S_MX_ADDR_WAIT);
            break;

        case NGX_MAIL_SPF_S_PTR_ADDR:
            rc = ngx_mail_spf_addr_next(spf, NGX_MAIL_SPF_S_PTR_ADDR_WAIT);
            break;

        case NGX_MAIL_SPF_S_P_ADDR:
            rc = ngx_mail_spf_addr_next(spf, NGX_MAIL_SPF_S_P_ADDR_WAIT);
            break;

        case NGX_MAIL_SPF_S_EXP:
            rc = ngx_mail_spf_exp(spf);
            break;

        default: /* NGX_MAIL_SPF_S_DONE */
            return NGX_MAIL_SPF_OK;
        }

        if (rc == NGX_MAIL_SPF_AGAIN) {
            return NGX_MAIL_SPF_AGAIN;
        }
    }
}


int
ngx_mail_spf_answer(ngx_mail_spf_t *spf, int rcode,
    const ngx_mail_spf_rr_t *rrs, unsigned nrrs)
{
    if (spf->state <= NGX_MAIL_SPF_S_WAIT || (nrrs && rrs == NULL)) {
        return NGX_MAIL_SPF_ERROR;
    }

    /* records only come with NOERROR */
    if (rcode != NGX_MAIL_SPF_RCODE_NOERROR) {
        nrrs = 0;
    }

    ngx_mail_spf_dispatch(spf, rcode, rrs, nrrs);

    return NGX_MAIL_SPF_OK;
}


static void
ngx_mail_spf_dispatch(ngx_mail_spf_t *spf, int rcode,
    const ngx_mail_spf_rr_t *rrs, unsigned nrrs)
{
    switch (spf->state) {

    case NGX_MAIL_SPF_S_RECORD_WAIT:
        ngx_mail_spf_record(spf, rcode, rrs, nrrs);
        break;

    case NGX_MAIL_SPF_S_MX_WAIT:
        ngx_mail_spf_mx(spf, rcode, rrs, nrrs);
        break;

    case NGX_MAIL_SPF_S_PTR_WAIT:
    case NGX_MAIL_SPF_S_P_PTR_WAIT:
        ngx_mail_spf_ptr(spf, rcode, rrs, nrrs);
        break;

    case NGX_MAIL_SPF_S_EXP_WAIT:
        ngx_mail_spf_explain(spf, rcode, rrs, nrrs);
        break;

    default:
        ngx_mail_spf_addrs(spf, rcode, rrs, nrrs);
        break;
    }
}


/* RFC 7208 4.3: the initial processing */

static int
ngx_mail_spf_start(ngx_mail_spf_t *spf)
{
    ngx_mail_spf_frame_t  *frame;

    if (!ngx_mail_spf_valid_domain(spf->sender_domain,
                                   spf->sender_domain_len, 2))
    {
        ngx_mail_spf_finish(spf, NGX_MAIL_SPF_NONE, "no valid domain");
        return NGX_MAIL_SPF_OK;
    }

    frame = &spf->frames[0];
    memcpy(frame->domain, spf->sender_domain, spf->sender_domain_len + 1);
    frame->domain_len = spf->sender_domain_len;
    frame->record = 0;

    spf->depth = 1;
    spf->state = NGX_MAIL_SPF_S_RECORD;

    return NGX_MAIL_SPF_OK;
}


/*
 * The question for the caller.  A name no DNS can hold is answered here
 * as NXDOMAIN, so every mechanism treats it as a name without records.
 */

static int
ngx_mail_spf_ask(ngx_mail_spf_t *spf, unsigned type, const char *name,
    size_t len, unsigned wait)
{
    spf->state = wait;

    if (!ngx_mail_spf_valid_domain(name, len, 1)) {
        spf->query_len = 0;
        spf->query_name[0] = '\0';
        ngx_mail_spf_dispatch(spf, NGX_MAIL_SPF_RCODE_NXDOMAIN, NULL, 0);
        return NGX_MAIL_SPF_OK;
    }

    if (name != spf->query_name) {
        memmove(spf->query_name, name, len);
    }

    spf->query_name[len] = '\0';
    spf->query_len = len;
    spf->query_type = type;

    return NGX_MAIL_SPF_AGAIN;
}


static void
ngx_mail_spf_finish(ngx_mail_spf_t *spf, ngx_mail_spf_result_e result,
    const char *problem)
{
    spf->result = result;
    spf->problem = problem;
    spf->state = NGX_MAIL_SPF_S_DONE;
}


/* RFC 7208 4.5: exactly one record that begins "v=spf1" */

static void
ngx_mail_spf_record(ngx_mail_spf_t *spf, int rcode,
    const ngx_mail_spf_rr_t *rrs, unsigned nrrs)
{
    unsigned char          prefix[7];
    size_t                 len, k, nprefix;
    unsigned               i, first, found;
    ngx_mail_spf_frame_t  *frame;

    if (rcode != NGX_MAIL_SPF_RCODE_NOERROR
        && rcode != NGX_MAIL_SPF_RCODE_NXDOMAIN)
    {
        ngx_mail_spf_finish(spf, NGX_MAIL_SPF_TEMPERROR,
                            "DNS error looking up the SPF record");
        return;
    }

    frame = &spf->frames[spf->depth - 1];
    found = 0;
    i = 0;

    while (i < nrrs) {
        /*
         * RFC 7208 3.3: the strings of a record are joined as they are;
         * its first 7 octets and its length say whether it is SPF, so
         * that other long records (DKIM keys, site verifications) are
         * not copied and count against no bound.
         */
        first = i;
        len = 0;
        nprefix = 0;

        do {
            for (k = 0; k < rrs[i].len && nprefix < 7; k++) {
                prefix[nprefix++] = rrs[i].data[k];
            }

            len += rrs[i].len;
            i++;

        } while (i < nrrs && !rrs[i].record_start);

        if (!ngx_mail_spf_is_record(prefix, nprefix)) {
            continue;
        }

        if (found) {
            ngx_mail_spf_finish(spf, NGX_MAIL_SPF_PERMERROR,
                                "more than one SPF record");
            return;
        }

        found = 1;

        if (len > NGX_MAIL_SPF_TEXT_MAX - frame->record) {
            ngx_mail_spf_finish(spf, NGX_MAIL_SPF_PERMERROR,
                                "SPF records too long");
            return;
        }

        frame->record_len = len;
        spf->text_len = frame->record;

        for (k = first; k < i; k++) {
            if (rrs[k].len) {
                memcpy(spf->text + spf->text_len, rrs[k].data, rrs[k].len);
                spf->text_len += rrs[k].len;
            }
        }
    }

    if (!found) {
        ngx_mail_spf_frame_done(spf, NGX_MAIL_SPF_NONE);
        return;
    }

    if (ngx_mail_spf_check_record(spf, frame) != NGX_MAIL_SPF_OK) {
        return;
    }

    frame->pos = 6;
    spf->state = NGX_MAIL_SPF_S_TERMS;
}


/* RFC 7208 4.5: "v=spf1" alone or followed by a space, in any case */

static int
ngx_mail_spf_is_record(const unsigned char *p, size_t len)
{
    if (len < 6 || (len == 7 && p[6] != ' ')) {
        return 0;
    }

    return (p[0] | 0x20) == 'v' && p[1] == '=' && (p[2] | 0x20) == 's'
           && (p[3] | 0x20) == 'p' && (p[4] | 0x20) == 'f' && p[5] == '1';
}


/* RFC 7208 4.6: syntax first, and where redirect= and exp= are */

static int
ngx_mail_spf_check_record(ngx_mail_spf_t *spf, ngx_mail_spf_frame_t *frame)
{
    size_t                pos, end;
    const char           *text, *problem;
    ngx_mail_spf_term_t   term;

    text = spf->text + frame->record;
    frame->redirect_len = 0;
    frame->exp_len = 0;
    pos = 6;

    for ( ;; ) {
        while (pos < frame->record_len && text[pos] == ' ') {
            pos++;
        }

        if (pos == frame->record_len) {
            return NGX_MAIL_SPF_OK;
        }

        end = pos;

        while (end < frame->record_len && text[end] != ' ') {
            end++;
        }

        problem = NULL;

        if (ngx_mail_spf_parse_term(text + pos, end - pos, &term, &problem)
            != NGX_MAIL_SPF_OK)
        {
            ngx_mail_spf_finish(spf, NGX_MAIL_SPF_PERMERROR, problem);
            return NGX_MAIL_SPF_ERROR;
        }

        if (term.mechanism == NGX_MAIL_SPF_M_MODIFIER) {

            if (term.name_len == 8
                && strncmp(term.name, "redirect", 8) == 0)
            {
                /* RFC 7208 6: each at most once */
                if (frame->redirect_len) {
                    ngx_mail_spf_finish(spf, NGX_MAIL_SPF_PERMERROR,
                                        "more than one redirect");
                    return NGX_MAIL_SPF_ERROR;
                }

                frame->redirect = frame->record + (term.spec - text);
                frame->redirect_len = term.spec_len;

            } else if (term.name_len == 3
                       && strncmp(term.name, "exp", 3) == 0)
            {
                if (frame->exp_len) {
                    ngx_mail_spf_finish(spf, NGX_MAIL_SPF_PERMERROR,
                                        "more than one exp");
                    return NGX_MAIL_SPF_ERROR;
                }

                frame->exp = frame->record + (term.spec - text);
                frame->exp_len = term.spec_len;
            }
        }

        pos = end;
    }
}


static int
ngx_mail_spf_terms(ngx_mail_spf_t *spf)
{
    size_t                 pos, end, n;
    const char            *text, *problem;
    ngx_mail_spf_frame_t  *frame;
    ngx_mail_spf_term_t    term;

    frame = &spf->frames[spf->depth - 1];
    text = spf->text + frame->record;
    pos = frame->pos;

    while (pos < frame->record_len && text[pos] == ' ') {
        pos++;
    }

    if (pos == frame->record_len) {
        return ngx_mail_spf_redirect(spf);
    }

    end = pos;

    while (end < frame->record_len && text[end] != ' ') {
        end++;
    }

    /* checked whole by ngx_mail_spf_check_record() */
    (void) ngx_mail_spf_parse_term(text + pos, end - pos, &term, &problem);

    if (term.mechanism == NGX_MAIL_SPF_M_MODIFIER) {
        frame->pos = end;
        return NGX_MAIL_SPF_OK;
    }

    n = end - pos;

    if (n > sizeof(spf->mechanism) - 1) {
        n = sizeof(spf->mechanism) - 1;
    }

    memcpy(spf->mechanism, text + pos, n);
    spf->mechanism[n] = '\0';

    return ngx_mail_spf_mechanism(spf, &term, end);
}


static int
ngx_mail_spf_mechanism(ngx_mail_spf_t *spf, ngx_mail_spf_term_t *term,
    size_t next)
{
    int                    match;
    ngx_mail_spf_frame_t  *frame;

    frame = &spf->frames[spf->depth - 1];
    match = 0;

    switch (term->mechanism) {

    case NGX_MAIL_SPF_M_ALL:
        match = 1;
        break;

    case NGX_MAIL_SPF_M_IP4:
        match = ngx_mail_spf_ip_match(spf, term->addr, 4, term->cidr4);
        break;

    case NGX_MAIL_SPF_M_IP6:
        match = ngx_mail_spf_ip_match(spf, term->addr, 6, term->cidr6);
        break;

    default:

        if (ngx_mail_spf_needs_p(spf, term->spec, term->spec_len)) {
            /* the term is evaluated again once <p> is known */
            spf->resume = NGX_MAIL_SPF_S_TERMS;
            return ngx_mail_spf_start_p(spf);
        }

        /* RFC 7208 4.6.4: the mechanisms that query DNS */
        if (++spf->lookups > NGX_MAIL_SPF_LOOKUPS_MAX) {
            ngx_mail_spf_finish(spf, NGX_MAIL_SPF_PERMERROR,
                                "too many DNS lookups");
            return NGX_MAIL_SPF_OK;
        }

        if (ngx_mail_spf_target(spf, term) != NGX_MAIL_SPF_OK) {
            return NGX_MAIL_SPF_OK;
        }

        frame->pos = next;
        frame->qualifier = term->qualifier;
        frame->cidr4 = term->cidr4;
        frame->cidr6 = term->cidr6;

        switch (term->mechanism) {

        case NGX_MAIL_SPF_M_INCLUDE:
            frame = &spf->frames[spf->depth++];
            memcpy(frame->domain, spf->target, spf->target_len + 1);
            frame->domain_len = spf->target_len;
            frame->record = spf->text_len;
            frame->record_len = 0;
            frame->redirected = 0;

            if (!ngx_mail_spf_valid_domain(frame->domain,
                                           frame->domain_len, 2))
            {
                /* check_host() of a malformed domain is "none" */
                ngx_mail_spf_frame_done(spf, NGX_MAIL_SPF_NONE);
                return NGX_MAIL_SPF_OK;
            }

            spf->state = NGX_MAIL_SPF_S_RECORD;
            return NGX_MAIL_SPF_OK;

        case NGX_MAIL_SPF_M_A:
            return ngx_mail_spf_ask(spf, spf->family == 4 ? NGX_MAIL_SPF_A
                                                          : NGX_MAIL_SPF_AAAA,
                                    spf->target, spf->target_len,
                                    NGX_MAIL_SPF_S_A_WAIT);

        case NGX_MAIL_SPF_M_MX:
            return ngx_mail_spf_ask(spf, NGX_MAIL_SPF_MX, spf->target,
                                    spf->target_len, NGX_MAIL_SPF_S_MX_WAIT);

        case NGX_MAIL_SPF_M_PTR:
            spf->query_len = ngx_mail_spf_reverse_name(spf, spf->query_name);
            return ngx_mail_spf_ask(spf, NGX_MAIL_SPF_PTR, spf->query_name,
                                    spf->query_len, NGX_MAIL_SPF_S_PTR_WAIT);

        default: /* NGX_MAIL_SPF_M_EXISTS */
            /* RFC 7208 5.7: always A, whatever the client's family */
            return ngx_mail_spf_ask(spf, NGX_MAIL_SPF_A, spf->target,
                                    spf->target_len,
                                    NGX_MAIL_SPF_S_EXISTS_WAIT);
        }
    }

    frame->pos = next;

    if (match) {
        ngx_mail_spf_frame_done(spf, term->qualifier);
    }

    return NGX_MAIL_SPF_OK;
}


/* the expanded domain-spec of a mechanism, or <domain> */

static int
ngx_mail_spf_target(ngx_mail_spf_t *spf, ngx_mail_spf_term_t *term)
{
    long                   n;
    char                   buf[NGX_MAIL_SPF_EXPAND_MAX];
    ngx_mail_spf_frame_t  *frame;

    frame = &spf->frames[spf->depth - 1];

    if (term->spec_len == 0) {
        memcpy(spf->target, frame->domain, frame->domain_len + 1);
        spf->target_len = frame->domain_len;
        return NGX_MAIL_SPF_OK;
    }

    n = ngx_mail_spf_expand(spf, term->spec, term->spec_len, 0, buf,
                            sizeof(buf));

    if (n < 0) {
        ngx_mail_spf_finish(spf, NGX_MAIL_SPF_PERMERROR,
                            "macro expansion too long");
        return NGX_MAIL_SPF_ERROR;
    }

    n = ngx_mail_spf_truncate(buf, n);
    memcpy(spf->target, buf, n);
    spf->target[n] = '\0';
    spf->target_len = n;

    return NGX_MAIL_SPF_OK;
}


/* RFC 7208 6.1: at the end of the record, redirect= or "neutral" */

static int
ngx_mail_spf_redirect(ngx_mail_spf_t *spf)
{
    ngx_mail_spf_frame_t  *frame;
    ngx_mail_spf_term_t    term;

    frame = &spf->frames[spf->depth - 1];

    if (frame->redirect_len == 0) {
        /* RFC 7208 4.7 */
        ngx_mail_spf_frame_done(spf, NGX_MAIL_SPF_NEUTRAL);
        return NGX_MAIL_SPF_OK;
    }

    if (ngx_mail_spf_needs_p(spf, spf->text + frame->redirect,
                             frame->redirect_len))
    {
        spf->resume = NGX_MAIL_SPF_S_TERMS;
        return ngx_mail_spf_start_p(spf);
    }

    if (++spf->lookups > NGX_MAIL_SPF_LOOKUPS_MAX) {
        ngx_mail_spf_finish(spf, NGX_MAIL_SPF_PERMERROR,
                            "too many DNS lookups");
        return NGX_MAIL_SPF_OK;
    }

    memset(&term, 0, sizeof(ngx_mail_spf_term_t));
    term.spec = spf->text + frame->redirect;
    term.spec_len = frame->redirect_len;

    if (ngx_mail_spf_target(spf, &term) != NGX_MAIL_SPF_OK) {
        return NGX_MAIL_SPF_OK;
    }

    /* the target's record takes this one's place, exp= too */
    memcpy(frame->domain, spf->target, spf->target_len + 1);
    frame->domain_len = spf->target_len;
    frame->record_len = 0;
    frame->redirect_len = 0;
    frame->exp_len = 0;
    frame->redirected = 1;
    spf->text_len = frame->record;

    if (!ngx_mail_spf_valid_domain(frame->domain, frame->domain_len, 2)) {
        ngx_mail_spf_frame_done(spf, NGX_MAIL_SPF_NONE);
        return NGX_MAIL_SPF_OK;
    }

    spf->state = NGX_MAIL_SPF_S_RECORD;

    return NGX_MAIL_SPF_OK;
}


/* a frame has its result: the include's parent goes on, or we are done */

static void
ngx_mail_spf_frame_done(ngx_mail_spf_t *spf, ngx_mail_spf_result_e result)
{
    size_t                 n;
    ngx_mail_spf_frame_t  *frame, *parent;

    frame = &spf->frames[spf->depth - 1];

    if (result == NGX_MAIL_SPF_NONE && frame->redirected) {
        /* RFC 7208 6.1 */
        ngx_mail_spf_finish(spf, NGX_MAIL_SPF_PERMERROR,
                            "redirect to a domain without SPF record");
        return;
    }

    if (spf->depth > 1) {
        spf->depth--;
        spf->text_len = frame->record;
        parent = &spf->frames[spf->depth - 1];

        /* RFC 7208 5.2: the table of what an include's result means */
        switch (result) {

        case NGX_MAIL_SPF_PASS:
            n = frame->domain_len;

            if (n > sizeof(spf->mechanism) - 9) {
                n = sizeof(spf->mechanism) - 9;
            }

            memcpy(spf->mechanism, "include:", 8);
            memcpy(spf->mechanism + 8, frame->domain, n);
            spf->mechanism[8 + n] = '\0';
            ngx_mail_spf_frame_done(spf, parent->qualifier);
            return;

        case NGX_MAIL_SPF_NONE:
            ngx_mail_spf_finish(spf, NGX_MAIL_SPF_PERMERROR,
                                "include of a domain without SPF record");
            return;

        case NGX_MAIL_SPF_TEMPERROR:
        case NGX_MAIL_SPF_PERMERROR:
            ngx_mail_spf_finish(spf, result, spf->problem);
            return;

        default:
            spf->state = NGX_MAIL_SPF_S_TERMS;
            return;
        }
    }

    if (result == NGX_MAIL_SPF_FAIL) {
        spf->result = NGX_MAIL_SPF_FAIL;
        spf->state = NGX_MAIL_SPF_S_EXP;
        return;
    }

    ngx_mail_spf_finish(spf, result, spf->problem);
}


/* RFC 7208 4.6.4: more than two lookups without answer is permerror */

static int
ngx_mail_spf_void(ngx_mail_spf_t *spf, int rcode, unsigned nrrs)
{
    if (nrrs == 0
        && (rcode == NGX_MAIL_SPF_RCODE_NOERROR
            || rcode == NGX_MAIL_SPF_RCODE_NXDOMAIN))
    {
        if (++spf->voids > NGX_MAIL_SPF_VOID_MAX) {
            ngx_mail_spf_finish(spf, NGX_MAIL_SPF_PERMERROR,
                                "too many void DNS lookups");
            return NGX_MAIL_SPF_ERROR;
        }
    }

    return NGX_MAIL_SPF_OK;
}


/* the A or AAAA answers of "a", "exists", and of the MX and PTR names */

static void
ngx_mail_spf_addrs(ngx_mail_spf_t *spf, int rcode,
    const ngx_mail_spf_rr_t *rrs, unsigned nrrs)
{
    unsigned               i, family, state;
    ngx_mail_spf_frame_t  *frame;

    frame = &spf->frames[spf->depth - 1];
    family = (spf->query_type == NGX_MAIL_SPF_AAAA) ? 6 : 4;
    state = spf->state;

    if (rcode != NGX_MAIL_SPF_RCODE_NOERROR
        && rcode != NGX_MAIL_SPF_RCODE_NXDOMAIN)
    {
        switch (state) {

        case NGX_MAIL_SPF_S_PTR_ADDR_WAIT:
            /* RFC 7208 5.5: that name is skipped */
            spf->name++;
            spf->state = NGX_MAIL_SPF_S_PTR_ADDR;
            return;

        case NGX_MAIL_SPF_S_P_ADDR_WAIT:
            spf->name++;
            spf->state = NGX_MAIL_SPF_S_P_ADDR;
            return;

        default:
            ngx_mail_spf_finish(spf, NGX_MAIL_SPF_TEMPERROR,
                                "DNS error looking up an address");
            return;
        }
    }

    switch (state) {

    case NGX_MAIL_SPF_S_A_WAIT:
        if (ngx_mail_spf_void(spf, rcode, nrrs) != NGX_MAIL_SPF_OK) {
            return;
        }

        for (i = 0; i < nrrs; i++) {
            if (ngx_mail_spf_ip_match(spf, rrs[i].addr, family,
                                      family == 4 ? frame->cidr4
                                                  : frame->cidr6))
            {
                ngx_mail_spf_frame_done(spf, frame->qualifier);
                return;
            }
        }

        spf->state = NGX_MAIL_SPF_S_TERMS;
        return;

    case NGX_MAIL_SPF_S_EXISTS_WAIT:
        if (ngx_mail_spf_void(spf, rcode, nrrs) != NGX_MAIL_SPF_OK) {
            return;
        }

        if (nrrs) {
            ngx_mail_spf_frame_done(spf, frame->qualifier);
            return;
        }

        spf->state = NGX_MAIL_SPF_S_TERMS;
        return;

    case NGX_MAIL_SPF_S_MX_ADDR_WAIT:
        for (i = 0; i < nrrs; i++) {
            if (ngx_mail_spf_ip_match(spf, rrs[i].addr, family,
                                      family == 4 ? frame->cidr4
                                                  : frame->cidr6))
            {
                ngx_mail_spf_frame_done(spf, frame->qualifier);
                return;
            }
        }

        spf->name++;
        spf->state = NGX_MAIL_SPF_S_MX_ADDR;
        return;

    case NGX_MAIL_SPF_S_PTR_ADDR_WAIT:
        /* RFC 7208 5.5: the name is validated by the exact address */
        for (i = 0; i < nrrs; i++) {
            if (ngx_mail_spf_ip_match(spf, rrs[i].addr, family,
                                      family == 4 ? 32 : 128))
            {
                ngx_mail_spf_frame_done(spf, frame->qualifier);
                return;
            }
        }

        spf->name++;
        spf->state = NGX_MAIL_SPF_S_PTR_ADDR;
        return;

    default: /* NGX_MAIL_SPF_S_P_ADDR_WAIT */
        for (i = 0; i < nrrs; i++) {
            if (ngx_mail_spf_ip_match(spf, rrs[i].addr, family,
                                      family == 4 ? 32 : 128))
            {
                memcpy(spf->validated, spf->names[spf->name],
                       NGX_MAIL_SPF_NAME_MAX + 1);
                spf->validated_len = strlen(spf->validated);
                spf->p_done = 1;
                spf->state = spf->resume;
                return;
            }
        }

        spf->name++;
        spf->state = NGX_MAIL_SPF_S_P_ADDR;
        return;
    }
}


/* the next MX or PTR name's address lookup, or no match */

static int
ngx_mail_spf_addr_next(ngx_mail_spf_t *spf, unsigned wait)
{
    if (spf->name < spf->nnames) {
        return ngx_mail_spf_ask(spf, spf->family == 4 ? NGX_MAIL_SPF_A
                                                      : NGX_MAIL_SPF_AAAA,
                                spf->names[spf->name],
                                strlen(spf->names[spf->name]), wait);
    }

    if (wait == NGX_MAIL_SPF_S_P_ADDR_WAIT) {
        memcpy(spf->validated, "unknown", 8);
        spf->validated_len = 7;
        spf->p_done = 1;
        spf->state = spf->resume;
        return NGX_MAIL_SPF_OK;
    }

    spf->state = NGX_MAIL_SPF_S_TERMS;

    return NGX_MAIL_SPF_OK;
}


static void
ngx_mail_spf_mx(ngx_mail_spf_t *spf, int rcode,
    const ngx_mail_spf_rr_t *rrs, unsigned nrrs)
{
    unsigned  i;
    size_t    len;

    if (rcode != NGX_MAIL_SPF_RCODE_NOERROR
        && rcode != NGX_MAIL_SPF_RCODE_NXDOMAIN)
    {
        ngx_mail_spf_finish(spf, NGX_MAIL_SPF_TEMPERROR,
                            "DNS error looking up MX");
        return;
    }

    if (ngx_mail_spf_void(spf, rcode, nrrs) != NGX_MAIL_SPF_OK) {
        return;
    }

    /* RFC 7208 4.6.4: more than ten MX names is permerror */
    if (nrrs > NGX_MAIL_SPF_NAMES_MAX) {
        ngx_mail_spf_finish(spf, NGX_MAIL_SPF_PERMERROR,
                            "more than 10 MX names");
        return;
    }

    spf->nnames = 0;

    for (i = 0; i < nrrs; i++) {
        len = ngx_mail_spf_copy_name(spf->names[spf->nnames], rrs[i].data,
                                     rrs[i].len);

        /* the null MX "." (RFC 7505) and broken names have no address */
        if (len
            && ngx_mail_spf_valid_domain(spf->names[spf->nnames], len, 1))
        {
            spf->nnames++;
        }
    }

    spf->name = 0;
    spf->state = NGX_MAIL_SPF_S_MX_ADDR;
}


/*
 * The PTR names of the client, for "ptr" and for the "p" macro: the
 * first ten (RFC 7208 4.6.4 says to ignore the rest).  "ptr" looks only
 * at the names under its target, which are all that can match; "p" at
 * those first, then the others.
 */

static void
ngx_mail_spf_ptr(ngx_mail_spf_t *spf, int rcode,
    const ngx_mail_spf_rr_t *rrs, unsigned nrrs)
{
    char                   name[NGX_MAIL_SPF_NAME_MAX + 2];
    size_t                 len;
    size_t                 n;
    unsigned               i, pass, p;
    const char            *domain;
    ngx_mail_spf_frame_t  *frame;

    frame = &spf->frames[spf->depth - 1];
    p = (spf->state == NGX_MAIL_SPF_S_P_PTR_WAIT);

    if (!p && ngx_mail_spf_void(spf, rcode, nrrs) != NGX_MAIL_SPF_OK) {
        return;
    }

    /* RFC 7208 5.5: a DNS error is no match, not temperror */

    if (nrrs > NGX_MAIL_SPF_NAMES_MAX) {
        nrrs = NGX_MAIL_SPF_NAMES_MAX;
    }

    if (p) {
        domain = frame->domain;
        len = frame->domain_len;

    } else {
        domain = spf->target;
        len = spf->target_len;
    }

    spf->nnames = 0;

    for (pass = 0; pass < (p ? 2 : 1); pass++) {
        for (i = 0; i < nrrs; i++) {
            n = ngx_mail_spf_copy_name(name, rrs[i].data, rrs[i].len);

            if (n == 0 || !ngx_mail_spf_valid_domain(name, n, 1)) {
                continue;
            }

            if (ngx_mail_spf_under(name, n, domain, len) != (pass == 0)) {
                continue;
            }

            memcpy(spf->names[spf->nnames++], name, n + 1);
        }
    }

    spf->name = 0;
    spf->state = p ? NGX_MAIL_SPF_S_P_ADDR : NGX_MAIL_SPF_S_PTR_ADDR;
}


static int
ngx_mail_spf_needs_p(ngx_mail_spf_t *spf, const char *p, size_t len)
{
    size_t  i;

    if (spf->p_done) {
        return 0;
    }

    for (i = 0; i + 2 < len; i++) {
        if (p[i] != '%') {
            continue;
        }

        if (p[i + 1] == '{' && (p[i + 2] | 0x20) == 'p') {
            return 1;
        }

        /* "%%" is no macro, and the next '%' not its second half */
        i++;
    }

    return 0;
}


static int
ngx_mail_spf_start_p(ngx_mail_spf_t *spf)
{
    spf->query_len = ngx_mail_spf_reverse_name(spf, spf->query_name);

    return ngx_mail_spf_ask(spf, NGX_MAIL_SPF_PTR, spf->query_name,
                            spf->query_len, NGX_MAIL_SPF_S_P_PTR_WAIT);
}


/* RFC 7208 6.2: the explanation of "fail" */

static int
ngx_mail_spf_exp(ngx_mail_spf_t *spf)
{
    long                   n;
    char                   buf[NGX_MAIL_SPF_EXPAND_MAX];
    ngx_mail_spf_frame_t  *frame;

    frame = &spf->frames[0];

    if (frame->exp_len == 0) {
        ngx_mail_spf_explain(spf, NGX_MAIL_SPF_RCODE_NXDOMAIN, NULL, 0);
        return NGX_MAIL_SPF_OK;
    }

    if (ngx_mail_spf_needs_p(spf, spf->text + frame->exp, frame->exp_len)) {
        spf->resume = NGX_MAIL_SPF_S_EXP;
        return ngx_mail_spf_start_p(spf);
    }

    n = ngx_mail_spf_expand(spf, spf->text + frame->exp, frame->exp_len, 0,
                            buf, sizeof(buf));

    if (n < 0) {
        ngx_mail_spf_explain(spf, NGX_MAIL_SPF_RCODE_NXDOMAIN, NULL, 0);
        return NGX_MAIL_SPF_OK;
    }

    n = ngx_mail_spf_truncate(buf, n);

    return ngx_mail_spf_ask(spf, NGX_MAIL_SPF_TXT, buf, n,
                            NGX_MAIL_SPF_S_EXP_WAIT);
}


/*
 * RFC 7208 6.2: any trouble with the explanation leaves the default
 * one; the result stays "fail" whatever happens here.
 */

static void
ngx_mail_spf_explain(ngx_mail_spf_t *spf, int rcode,
    const ngx_mail_spf_rr_t *rrs, unsigned nrrs)
{
    char      text[NGX_MAIL_SPF_EXPLAIN_MAX];
    char      out[NGX_MAIL_SPF_EXPAND_MAX];
    long      n;
    size_t    len, i;
    unsigned  r;
    int       macro_end;

    n = -1;

    if (nrrs) {
        for (r = 1; r < nrrs; r++) {
            if (rrs[r].record_start) {
                break;
            }
        }

        len = 0;

        if (r == nrrs) {
            for (r = 0; r < nrrs; r++) {
                if (len + rrs[r].len > sizeof(text)) {
                    len = sizeof(text) + 1;
                    break;
                }

                if (rrs[r].len) {
                    memcpy(text + len, rrs[r].data, rrs[r].len);
                }

                len += rrs[r].len;
            }

            if (len <= sizeof(text)
                && ngx_mail_spf_check_macro_string(text, len, 1, &macro_end)
                   == NGX_MAIL_SPF_OK)
            {
                n = ngx_mail_spf_expand(spf, text, len, 1, out, sizeof(out));
            }
        }
    }

    /* an empty text explains nothing either */
    if (n <= 0) {
        n = snprintf(out, sizeof(out),
                     "%.*s does not designate the client as permitted "
                     "sender", (int) spf->sender_domain_len,
                     spf->sender_domain);
    }

    if (n > NGX_MAIL_SPF_EXPLAIN_MAX) {
        n = NGX_MAIL_SPF_EXPLAIN_MAX;
    }

    /* RFC 7208 6.2: US-ASCII, printable; for an SMTP reply line */
    for (i = 0; i < (size_t) n; i++) {
        spf->explanation[i] = (out[i] >= 0x20 && out[i] < 0x7f) ? out[i]
                                                                : '?';
    }

    spf->explanation[n] = '\0';
    spf->explanation_len = n;

    ngx_mail_spf_finish(spf, NGX_MAIL_SPF_FAIL, NULL);
}


/*
 * RFC 7208 12: a term, its text between spaces.  OK, or ERROR with the
 * problem for the permerror.
 */

static int
ngx_mail_spf_parse_term(const char *p, size_t len, ngx_mail_spf_term_t *term,
    const char **problem)
{
    char          ip[64];
    size_t        i, name_len, end, slash;
    const char   *rest;
    int           macro_end;
    unsigned      qualified;
    static const struct {
        const char  *name;
        size_t       len;
        unsigned     mechanism;
    } mechanisms[] = {
        { "all", 3, NGX_MAIL_SPF_M_ALL },
        { "include", 7, NGX_MAIL_SPF_M_INCLUDE },
        { "a", 1, NGX_MAIL_SPF_M_A },
        { "mx", 2, NGX_MAIL_SPF_M_MX },
        { "ptr", 3, NGX_MAIL_SPF_M_PTR },
        { "ip4", 3, NGX_MAIL_SPF_M_IP4 },
        { "ip6", 3, NGX_MAIL_SPF_M_IP6 },
        { "exists", 6, NGX_MAIL_SPF_M_EXISTS }
    };

    memset(term, 0, sizeof(ngx_mail_spf_term_t));
    term->qualifier = NGX_MAIL_SPF_PASS;
    term->cidr4 = 32;
    term->cidr6 = 128;
    qualified = 1;

    switch (len ? p[0] : 0) {
    case '+':
        break;
    case '-':
        term->qualifier = NGX_MAIL_SPF_FAIL;
        break;
    case '~':
        term->qualifier = NGX_MAIL_SPF_SOFTFAIL;
        break;
    case '?':
        term->qualifier = NGX_MAIL_SPF_NEUTRAL;
        break;
    default:
        qualified = 0;
    }

    if (qualified) {
        p++;
        len--;
    }

    for (name_len = 0; name_len < len; name_len++) {
        char  c = p[name_len];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (name_len && ((c >= '0' && c <= '9') || c == '-'
                               || c == '_' || c == '.'))))
        {
            break;
        }
    }

    if (name_len == 0) {
        *problem = "syntax error in a term";
        return NGX_MAIL_SPF_ERROR;
    }

    rest = p + name_len;
    end = len - name_len;

    if (!qualified && end && rest[0] == '=') {
        term->mechanism = NGX_MAIL_SPF_M_MODIFIER;
        term->name = p;
        term->name_len = name_len;
        term->spec = rest + 1;
        term->spec_len = end - 1;

        if ((name_len == 8 && strncasecmp(p, "redirect", 8) == 0)
            || (name_len == 3 && strncasecmp(p, "exp", 3) == 0))
        {
            /* the callers compare in lower case */
            term->name = (name_len == 8) ? "redirect" : "exp";

            if (ngx_mail_spf_check_domain_spec(term->spec, term->spec_len)
                != NGX_MAIL_SPF_OK)
            {
                *problem = "syntax error in a modifier's domain";
                return NGX_MAIL_SPF_ERROR;
            }

            return NGX_MAIL_SPF_OK;
        }

        if (ngx_mail_spf_check_macro_string(term->spec, term->spec_len, 0,
                                            &macro_end)
            != NGX_MAIL_SPF_OK)
        {
            *problem = "syntax error in a modifier";
            return NGX_MAIL_SPF_ERROR;
        }

        return NGX_MAIL_SPF_OK;
    }

    for (i = 0; i < sizeof(mechanisms) / sizeof(mechanisms[0]); i++) {
        if (mechanisms[i].len == name_len
            && strncasecmp(mechanisms[i].name, p, name_len) == 0)
        {
            break;
        }
    }

    if (i == sizeof(mechanisms) / sizeof(mechanisms[0])) {
        *problem = "unknown mechanism";
        return NGX_MAIL_SPF_ERROR;
    }

    term->mechanism = mechanisms[i].mechanism;

    switch (term->mechanism) {

    case NGX_MAIL_SPF_M_ALL:
        if (end) {
            *problem = "syntax error after \"all\"";
            return NGX_MAIL_SPF_ERROR;
        }

        return NGX_MAIL_SPF_OK;

    case NGX_MAIL_SPF_M_IP4:
    case NGX_MAIL_SPF_M_IP6:
        if (end < 2 || rest[0] != ':') {
            *problem = "syntax error in an address";
            return NGX_MAIL_SPF_ERROR;
        }

        rest++;
        end--;

        for (slash = 0; slash < end && rest[slash] != '/'; slash++) {
            /* void */
        }

        if (slash >= sizeof(ip)) {
            *problem = "syntax error in an address";
            return NGX_MAIL_SPF_ERROR;
        }

        memcpy(ip, rest, slash);
        ip[slash] = '\0';

        if (term->mechanism == NGX_MAIL_SPF_M_IP4) {
            if (inet_pton(AF_INET, ip, term->addr) != 1
                || (slash < end
                    && ngx_mail_spf_cidr(rest + slash, end - slash, 32,
                                         &term->cidr4)
                       != NGX_MAIL_SPF_OK))
            {
                *problem = "syntax error in an ip4 address";
                return NGX_MAIL_SPF_ERROR;
            }

            return NGX_MAIL_SPF_OK;
        }

        if (inet_pton(AF_INET6, ip, term->addr) != 1
            || (slash < end
                && ngx_mail_spf_cidr(rest + slash, end - slash, 128,
                                     &term->cidr6)
                   != NGX_MAIL_SPF_OK))
        {
            *problem = "syntax error in an ip6 address";
            return NGX_MAIL_SPF_ERROR;
        }

        return NGX_MAIL_SPF_OK;

    case NGX_MAIL_SPF_M_A:
    case NGX_MAIL_SPF_M_MX:
        /*
         * RFC 7208 5.6: the dual-cidr-length is at the end; '/' is a
         * macro-literal, so it is taken from the right.
         */
        for (i = end; i > 0 && rest[i - 1] >= '0' && rest[i - 1] <= '9'; i--)
        {
            /* void */
        }

        if (i >= 2 && i < end && rest[i - 1] == '/' && rest[i - 2] == '/') {
            if (ngx_mail_spf_cidr(rest + i - 1, end - i + 1, 128,
                                  &term->cidr6)
                != NGX_MAIL_SPF_OK)
            {
                *problem = "bad ip6-cidr-length";
                return NGX_MAIL_SPF_ERROR;
            }

            end = i - 2;

            for (i = end;
                 i > 0 && rest[i - 1] >= '0' && rest[i - 1] <= '9';
                 i--)
            {
                /* void */
            }
        }

        if (i >= 1 && i < end && rest[i - 1] == '/'
            && !(i >= 2 && rest[i - 2] == '/'))
        {
            if (ngx_mail_spf_cidr(rest + i - 1, end - i + 1, 32,
                                  &term->cidr4)
                != NGX_MAIL_SPF_OK)
            {
                *problem = "bad ip4-cidr-length";
                return NGX_MAIL_SPF_ERROR;
            }

            end = i - 1;
        }

        /* fall through */

    case NGX_MAIL_SPF_M_PTR:
        if (end == 0) {
            return NGX_MAIL_SPF_OK;
        }

        /* fall through */

    default: /* NGX_MAIL_SPF_M_INCLUDE, NGX_MAIL_SPF_M_EXISTS */
        if (end < 2 || rest[0] != ':'
            || ngx_mail_spf_check_domain_spec(rest + 1, end - 1)
               != NGX_MAIL_SPF_OK)
        {
            *problem = "syntax error in a mechanism's domain";
            return NGX_MAIL_SPF_ERROR;
        }

        term->spec = rest + 1;
        term->spec_len = end - 1;

        return NGX_MAIL_SPF_OK;
    }
}


/* "/" ("0" / %x31-39 0*2DIGIT), no more than "max" */

static int
ngx_mail_spf_cidr(const char *p, size_t len, unsigned max, unsigned *cidr)
{
    size_t    i;
    unsigned  value;

    if (len < 2 || len > 4 || p[0] != '/' || (p[1] == '0' && len > 2)) {
        return NGX_MAIL_SPF_ERROR;
    }

    value = 0;

    for (i = 1; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return NGX_MAIL_SPF_ERROR;
        }

        value = value * 10 + (p[i] - '0');
    }

    if (value > max) {
        return NGX_MAIL_SPF_ERROR;
    }

    *cidr = value;

    return NGX_MAIL_SPF_OK;
}


/*
 * RFC 7208 7.1: domain-spec = macro-string domain-end, where domain-end
 * is a macro-expand or "." toplabel ["."].
 */

static int
ngx_mail_spf_check_domain_spec(const char *p, size_t len)
{
    int      macro_end, alpha;
    size_t   end, start, i;

    if (len == 0
        || ngx_mail_spf_check_macro_string(p, len, 0, &macro_end)
           != NGX_MAIL_SPF_OK)
    {
        return NGX_MAIL_SPF_ERROR;
    }

    if (macro_end) {
        return NGX_MAIL_SPF_OK;
    }

    end = len;

    if (p[end - 1] == '.') {
        end--;
    }

    for (start = end; start > 0 && p[start - 1] != '.'; start--) {
        /* void */
    }

    if (start == 0 || start == end) {
        return NGX_MAIL_SPF_ERROR;
    }

    /* toplabel: alphanumerics and inner hyphens, not all digits */
    alpha = 0;

    for (i = start; i < end; i++) {
        if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')) {
            alpha = 1;

        } else if (p[i] == '-') {
            if (i == start || i == end - 1) {
                return NGX_MAIL_SPF_ERROR;
            }

            alpha = 1;

        } else if (p[i] < '0' || p[i] > '9') {
            return NGX_MAIL_SPF_ERROR;
        }
    }

    return alpha ? NGX_MAIL_SPF_OK : NGX_MAIL_SPF_ERROR;
}


/*
 * RFC 7208 7.1: macro-string; "c", "r" and "t" only in exp text (the
 * letters are case-insensitive, 7.3).  *macro_end is set when the
 * string ends with a macro-expand.
 */

static int
ngx_mail_spf_check_macro_string(const char *p, size_t len, int exp,
    int *macro_end)
{
    char      c;
    size_t    i;
    unsigned  digits;

    *macro_end = 0;

    for (i = 0; i < len; i++) {
        c = p[i];

        if (c != '%') {
            /* macro-literal, and exp text allows spaces too */
            if (c < 0x21 || c > 0x7e) {
                if (!(exp && c == ' ')) {
                    return NGX_MAIL_SPF_ERROR;
                }
            }

            *macro_end = 0;
            continue;
        }

        if (++i == len) {
            return NGX_MAIL_SPF_ERROR;
        }

        c = p[i];
        *macro_end = 1;

        if (c == '%' || c == '_' || c == '-') {
            continue;
        }

        if (c != '{' || ++i == len) {
            return NGX_MAIL_SPF_ERROR;
        }

        switch (p[i] | 0x20) {
        case 's': case 'l': case 'o': case 'd': case 'i': case 'p':
        case 'h': case 'v':
            break;
        case 'c': case 'r': case 't':
            if (exp) {
                break;
            }
            return NGX_MAIL_SPF_ERROR;
        default:
            return NGX_MAIL_SPF_ERROR;
        }

        i++;
        digits = 0;

        while (i < len && p[i] >= '0' && p[i] <= '9') {
            if (digits == 0 && p[i] == '0') {
                /* RFC 7208 7.3: "the value MUST be nonzero" */
                return NGX_MAIL_SPF_ERROR;
            }

            if (++digits > 3) {
                return NGX_MAIL_SPF_ERROR;
            }

            i++;
        }

        if (i < len && (p[i] | 0x20) == 'r') {
            i++;
        }

        while (i < len && memchr(".-+,/_=", p[i], 7) != NULL) {
            i++;
        }

        if (i == len || p[i] != '}') {
            return NGX_MAIL_SPF_ERROR;
        }
    }

    return NGX_MAIL_SPF_OK;
}


/*
 * RFC 7208 7.3: the expansion of a checked macro-string; its length, or
 * -1 when "out" is too small.
 */

static long
ngx_mail_spf_expand(ngx_mail_spf_t *spf, const char *p, size_t len, int exp,
    char *out, size_t size)
{
    char          value[NGX_MAIL_SPF_PARTS_MAX + 64];
    char          part[NGX_MAIL_SPF_PARTS_MAX + 64];
    char          delimiters[8];
    size_t        i, n, k, ndelims, vlen;
    unsigned      digits;
    int           letter, reverse, upper;
    static const char  hex[] = "0123456789ABCDEF";

    n = 0;

    for (i = 0; i < len; i++) {

        if (p[i] != '%') {
            if (n == size) {
                return -1;
            }

            out[n++] = p[i];
            continue;
        }

        i++;

        if (p[i] != '{') {
            if (n == size) {
                return -1;
            }

            /* "%%", "%_" a space, "%-" "%20" */
            if (p[i] == '-') {
                if (size - n < 3) {
                    return -1;
                }

                memcpy(out + n, "%20", 3);
                n += 3;
                continue;
            }

            out[n++] = (p[i] == '_') ? ' ' : '%';
            continue;
        }

        i++;
        letter = p[i] | 0x20;
        upper = (p[i] != letter);
        i++;

        digits = 0;

        while (p[i] >= '0' && p[i] <= '9') {
            digits = digits * 10 + (p[i++] - '0');
        }

        reverse = 0;

        if ((p[i] | 0x20) == 'r') {
            reverse = 1;
            i++;
        }

        ndelims = 0;

        while (p[i] != '}') {
            if (ndelims < sizeof(delimiters)) {
                delimiters[ndelims++] = p[i];
            }

            i++;
        }

        if (ndelims == 0) {
            delimiters[ndelims++] = '.';
        }

        vlen = ngx_mail_spf_macro_value(spf, letter, value, sizeof(value));
        vlen = ngx_mail_spf_transform(value, vlen, digits, reverse,
                                      delimiters, ndelims, part,
                                      sizeof(part));

        if (!upper) {
            if (size - n < vlen) {
                return -1;
            }

            memcpy(out + n, part, vlen);
            n += vlen;
            continue;
        }

        /* RFC 3986 2.3: everything but "unreserved" is escaped */
        for (k = 0; k < vlen; k++) {
            char  c = part[k];

            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                || (c >= '0' && c <= '9') || c == '-' || c == '.'
                || c == '_' || c == '~')
            {
                if (n == size) {
                    return -1;
                }

                out[n++] = c;
                continue;
            }

            if (size - n < 3) {
                return -1;
            }

            out[n++] = '%';
            out[n++] = hex[(unsigned char) c >> 4];
            out[n++] = hex[(unsigned char) c & 0xf];
        }
    }

    (void) exp;

    return (long) n;
}


static size_t
ngx_mail_spf_macro_value(ngx_mail_spf_t *spf, int letter, char *out,
    size_t size)
{
    size_t                 n, i;
    ngx_mail_spf_frame_t  *frame;
    static const char      hex[] = "0123456789abcdef";

    switch (letter) {

    case 's':
        memcpy(out, spf->local, spf->local_len);
        out[spf->local_len] = '@';
        memcpy(out + spf->local_len + 1, spf->sender_domain,
               spf->sender_domain_len);
        return spf->local_len + 1 + spf->sender_domain_len;

    case 'l':
        memcpy(out, spf->local, spf->local_len);
        return spf->local_len;

    case 'o':
        memcpy(out, spf->sender_domain, spf->sender_domain_len);
        return spf->sender_domain_len;

    case 'd':
        frame = &spf->frames[spf->depth ? spf->depth - 1 : 0];
        memcpy(out, frame->domain, frame->domain_len);
        return frame->domain_len;

    case 'i':
        if (spf->family == 4) {
            return ngx_mail_spf_client_text(spf, out);
        }

        /* RFC 7208 7.3: dot-format, nibble by nibble */
        n = 0;

        for (i = 0; i < 16; i++) {
            out[n++] = hex[spf->addr[i] >> 4];
            out[n++] = '.';
            out[n++] = hex[spf->addr[i] & 0xf];
            out[n++] = '.';
        }

        return n - 1;

    case 'p':
        if (!spf->p_done) {
            /* never: the evaluator looks the name up first */
            memcpy(out, "unknown", 7);
            return 7;
        }

        memcpy(out, spf->validated, spf->validated_len);
        return spf->validated_len;

    case 'v':
        if (spf->family == 4) {
            memcpy(out, "in-addr", 7);
            return 7;
        }

        memcpy(out, "ip6", 3);
        return 3;

    case 'h':
        memcpy(out, spf->helo, spf->helo_len);
        return spf->helo_len;

    case 'c':
        return ngx_mail_spf_client_text(spf, out);

    case 'r':
        if (spf->receiver_len == 0) {
            memcpy(out, "unknown", 7);
            return 7;
        }

        memcpy(out, spf->receiver, spf->receiver_len);
        return spf->receiver_len;

    default: /* 't' */
        n = snprintf(out, size, "%lld", spf->now);
        return n < size ? n : 0;
    }
}


/*
 * RFC 7208 7.3: split on the delimiters, reverse with "r", keep the
 * right-hand "digits" parts, join with ".".
 */

static size_t
ngx_mail_spf_transform(const char *value, size_t len, unsigned digits,
    int reverse, const char *delimiters, size_t ndelims, char *out,
    size_t size)
{
    size_t  starts[NGX_MAIL_SPF_PARTS_MAX + 64];
    size_t  ends[NGX_MAIL_SPF_PARTS_MAX + 64];
    size_t  nparts, i, n, first, k, part;

    /* a value of "len" octets has "len + 1" parts at most */
    nparts = 0;
    starts[0] = 0;

    for (i = 0; i <= len; i++) {
        if (i == len || memchr(delimiters, value[i], ndelims) != NULL) {
            ends[nparts++] = i;
            starts[nparts] = i + 1;
        }
    }

    first = (digits && digits < nparts) ? nparts - digits : 0;
    n = 0;

    for (i = first; i < nparts; i++) {
        /* "r" reverses before the right-hand parts are taken */
        k = reverse ? nparts - 1 - i : i;

        part = ends[k] - starts[k];

        if (n && n < size) {
            out[n++] = '.';
        }

        if (part > size - n) {
            break;
        }

        memcpy(out + n, value + starts[k], part);
        n += part;
    }

    return n;
}


/* RFC 7208 7.3: over 253 octets, labels go from the left */

static size_t
ngx_mail_spf_truncate(char *name, size_t len)
{
    size_t  start;

    /* the query is for the name without the root's dot */
    if (len && name[len - 1] == '.') {
        len--;
    }

    start = 0;

    while (len - start > NGX_MAIL_SPF_NAME_MAX) {
        while (start < len && name[start] != '.') {
            start++;
        }

        if (start < len) {
            start++;
        }
    }

    memmove(name, name + start, len - start);

    return len - start;
}


/*
 * A name DNS can hold (the final dot is already gone): labels of
 * printable ASCII, not only letters, digits and hyphens, since SPF asks
 * for names such as "_spf" and macro-made ones.  Not '\', which
 * resolvers' text forms (ares_query(), zone files) read as an escape.
 * RFC 7208 4.3 wants two labels at least for the domain check_host() is
 * called with; a mechanism may ask about "com".
 */

static int
ngx_mail_spf_valid_domain(const char *name, size_t len, unsigned min_labels)
{
    size_t    i, label;
    unsigned  labels;

    if (len == 0 || len > NGX_MAIL_SPF_NAME_MAX) {
        return 0;
    }

    label = 0;
    labels = 1;

    for (i = 0; i < len; i++) {
        if (name[i] == '.') {
            if (label == 0) {
                return 0;
            }

            label = 0;
            labels++;
            continue;
        }

        if (name[i] < 0x21 || name[i] > 0x7e || name[i] == '\\'
            || ++label > 63)
        {
            return 0;
        }
    }

    return label && labels >= min_labels;
}


/* a name from the caller or DNS: lower case, no final dot, bounded */

static size_t
ngx_mail_spf_copy_name(char *dst, const unsigned char *src, size_t len)
{
    size_t  i;

    if (len && src[len - 1] == '.') {
        len--;
    }

    if (len > NGX_MAIL_SPF_NAME_MAX) {
        dst[0] = '\0';
        return 0;
    }

    for (i = 0; i < len; i++) {
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (src[i] | 0x20)
                                                  : (char) src[i];
    }

    dst[len] = '\0';

    return len;
}


/* "name" is "domain" or a name under it, in any case */

static int
ngx_mail_spf_under(const char *name, size_t len, const char *domain,
    size_t dlen)
{
    if (len < dlen || strncasecmp(name + len - dlen, domain, dlen) != 0) {
        return 0;
    }

    return len == dlen || name[len - dlen - 1] == '.';
}


static int
ngx_mail_spf_ip_match(ngx_mail_spf_t *spf, const unsigned char *addr,
    unsigned family, unsigned cidr)
{
    unsigned  bytes, bits;

    if (family != spf->family) {
        return 0;
    }

    bytes = cidr / 8;
    bits = cidr % 8;

    if (memcmp(spf->addr, addr, bytes) != 0) {
        return 0;
    }

    if (bits == 0) {
        return 1;
    }

    return ((spf->addr[bytes] ^ addr[bytes]) & (0xff00 >> bits) & 0xff)
           == 0;
}


static size_t
ngx_mail_spf_client_text(ngx_mail_spf_t *spf, char *out)
{
    if (inet_ntop(spf->family == 4 ? AF_INET : AF_INET6, spf->addr, out,
                  64)
        == NULL)
    {
        out[0] = '\0';
    }

    return strlen(out);
}


/* RFC 1035 3.5 and RFC 3596 2.5: the name the PTR query asks about */

static size_t
ngx_mail_spf_reverse_name(ngx_mail_spf_t *spf, char *out)
{
    int     i;
    size_t  n;
    static const char  hex[] = "0123456789abcdef";

    if (spf->family == 4) {
        return snprintf(out, NGX_MAIL_SPF_NAME_MAX + 1,
                        "%u.%u.%u.%u.in-addr.arpa", spf->addr[3],
                        spf->addr[2], spf->addr[1], spf->addr[0]);
    }

    n = 0;

    for (i = 15; i >= 0; i--) {
        out[n++] = hex[spf->addr[i] & 0xf];
        out[n++] = '.';
        out[n++] = hex[spf->addr[i] >> 4];
        out[n++] = '.';
    }

    memcpy(out + n, "ip6.arpa", 9);

    return n + 8;
}


const char *
ngx_mail_spf_result_name(ngx_mail_spf_result_e result)
{
    static const char  *names[] = {
        "none", "neutral", "pass", "fail", "softfail", "temperror",
        "permerror"
    };

    if ((unsigned) result > NGX_MAIL_SPF_PERMERROR) {
        return "permerror";
    }

    return names[result];
}


/* RFC 5322 3.2.3: dot-atom text, else a quoted-string is needed */

static int
ngx_mail_spf_dot_atom(const char *p, size_t len)
{
    size_t  i;

    if (len == 0 || p[0] == '.' || p[len - 1] == '.') {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (p[i] == '.') {
            if (p[i + 1] == '.') {
                return 0;
            }

            continue;
        }

        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
              || (p[i] >= '0' && p[i] <= '9')
              || memchr("!#$%&'*+-/=?^_`{|}~", p[i], 19) != NULL))
        {
            return 0;
        }
    }

    return 1;
}


typedef struct {
    char    *buf;
    size_t   size;
    size_t   len;
    int      overflow;
} ngx_mail_spf_out_t;


static void
ngx_mail_spf_put(ngx_mail_spf_out_t *o, const char *p, size_t len)
{
    if (o->overflow || o->size - o->len <= len) {
        o->overflow = 1;
        return;
    }

    memcpy(o->buf + o->len, p, len);
    o->len += len;
    o->buf[o->len] = '\0';
}


static void
ngx_mail_spf_put_str(ngx_mail_spf_out_t *o, const char *s)
{
    ngx_mail_spf_put(o, s, strlen(s));
}


/*
 * Text inside a comment (RFC 5322 3.2.2) or a quoted-string (3.2.4):
 * the specials escaped, anything not printable ASCII replaced.
 */

static void
ngx_mail_spf_put_escaped(ngx_mail_spf_out_t *o, const char *p, size_t len,
    int quoted)
{
    size_t  i;
    char    c;

    for (i = 0; i < len; i++) {
        c = p[i];

        if (c < 0x20 || c > 0x7e) {
            c = '?';
        }

        if (c == '\\' || (quoted ? c == '"' : (c == '(' || c == ')'))) {
            ngx_mail_spf_put(o, "\\", 1);
        }

        ngx_mail_spf_put(o, &c, 1);
    }
}


static void
ngx_mail_spf_put_value(ngx_mail_spf_out_t *o, const char *p, size_t len)
{
    if (ngx_mail_spf_dot_atom(p, len)) {
        ngx_mail_spf_put(o, p, len);
        return;
    }

    ngx_mail_spf_put(o, "\"", 1);
    ngx_mail_spf_put_escaped(o, p, len, 1);
    ngx_mail_spf_put(o, "\"", 1);
}


/* <s> for the comments: the sender, or postmaster@helo */

static void
ngx_mail_spf_put_sender(ngx_mail_spf_out_t *o, ngx_mail_spf_t *spf,
    int quoted)
{
    ngx_mail_spf_put_escaped(o, spf->local, spf->local_len, quoted);
    ngx_mail_spf_put(o, "@", 1);
    ngx_mail_spf_put_escaped(o, spf->sender_domain, spf->sender_domain_len,
                             quoted);
}


size_t
ngx_mail_spf_received(ngx_mail_spf_t *spf, char *buf, size_t size)
{
    char                client[64];
    size_t              clen;
    ngx_mail_spf_out_t  o;

    o.buf = buf;
    o.size = size;
    o.len = 0;
    o.overflow = (size == 0);

    clen = ngx_mail_spf_client_text(spf, client);

    ngx_mail_spf_put_str(&o, ngx_mail_spf_result_name(spf->result));
    ngx_mail_spf_put(&o, " (", 2);

    if (spf->receiver_len) {
        ngx_mail_spf_put_escaped(&o, spf->receiver, spf->receiver_len, 0);
        ngx_mail_spf_put(&o, ": ", 2);
    }

    /* RFC 7208 9.1: the comments of its examples */
    switch (spf->result) {

    case NGX_MAIL_SPF_PASS:
        ngx_mail_spf_put_str(&o, "domain of ");
        ngx_mail_spf_put_sender(&o, spf, 0);
        ngx_mail_spf_put_str(&o, " designates ");
        ngx_mail_spf_put(&o, client, clen);
        ngx_mail_spf_put_str(&o, " as permitted sender");
        break;

    case NGX_MAIL_SPF_FAIL:
    case NGX_MAIL_SPF_SOFTFAIL:
        ngx_mail_spf_put_str(&o, "domain of ");

        if (spf->result == NGX_MAIL_SPF_SOFTFAIL) {
            ngx_mail_spf_put_str(&o, "transitioning ");
        }

        ngx_mail_spf_put_sender(&o, spf, 0);
        ngx_mail_spf_put_str(&o, " does not designate ");
        ngx_mail_spf_put(&o, client, clen);
        ngx_mail_spf_put_str(&o, " as permitted sender");
        break;

    case NGX_MAIL_SPF_NEUTRAL:
        ngx_mail_spf_put(&o, client, clen);
        ngx_mail_spf_put_str(&o, " is neither permitted nor denied by "
                                 "domain of ");
        ngx_mail_spf_put_sender(&o, spf, 0);
        break;

    case NGX_MAIL_SPF_NONE:
        ngx_mail_spf_put_str(&o, "domain of ");
        ngx_mail_spf_put_sender(&o, spf, 0);
        ngx_mail_spf_put_str(&o, " does not publish SPF");
        break;

    case NGX_MAIL_SPF_TEMPERROR:
        ngx_mail_spf_put_str(&o, "temporary error checking ");
        ngx_mail_spf_put_sender(&o, spf, 0);
        break;

    default:
        ngx_mail_spf_put_str(&o, "permanent error in the SPF record of ");
        ngx_mail_spf_put_sender(&o, spf, 0);
        break;
    }

    ngx_mail_spf_put_str(&o, ") client-ip=");
    ngx_mail_spf_put_value(&o, client, clen);
    ngx_mail_spf_put_str(&o, "; envelope-from=");

    if (spf->identity == NGX_MAIL_SPF_MAILFROM) {
        ngx_mail_spf_put(&o, "\"", 1);
        ngx_mail_spf_put_sender(&o, spf, 1);
        ngx_mail_spf_put(&o, "\"", 1);

    } else {
        ngx_mail_spf_put(&o, "\"\"", 2);
    }

    ngx_mail_spf_put_str(&o, "; helo=");
    ngx_mail_spf_put_value(&o, spf->helo, spf->helo_len);

    if (spf->receiver_len) {
        ngx_mail_spf_put_str(&o, "; receiver=");
        ngx_mail_spf_put_value(&o, spf->receiver, spf->receiver_len);
    }

    ngx_mail_spf_put_str(&o, "; identity=");
    ngx_mail_spf_put_str(&o, spf->identity == NGX_MAIL_SPF_MAILFROM
                             ? "mailfrom" : "helo");

    if (spf->mechanism[0]
        && spf->result >= NGX_MAIL_SPF_NEUTRAL
        && spf->result <= NGX_MAIL_SPF_SOFTFAIL)
    {
        ngx_mail_spf_put_str(&o, "; mechanism=");
        ngx_mail_spf_put_value(&o, spf->mechanism, strlen(spf->mechanism));
    }

    if (spf->problem && spf->result >= NGX_MAIL_SPF_TEMPERROR) {
        ngx_mail_spf_put_str(&o, "; problem=");
        ngx_mail_spf_put_value(&o, spf->problem, strlen(spf->problem));
    }

    ngx_mail_spf_put(&o, ";", 1);

    if (o.overflow) {
        if (size) {
            buf[0] = '\0';
        }

        return 0;
    }

    return o.len;
}


size_t
ngx_mail_spf_auth_results(ngx_mail_spf_t *spf, char *buf, size_t size)
{
    char                client[64];
    size_t              clen;
    ngx_mail_spf_out_t  o;

    o.buf = buf;
    o.size = size;
    o.len = 0;
    o.overflow = (size == 0);

    clen = ngx_mail_spf_client_text(spf, client);

    ngx_mail_spf_put_str(&o, "spf=");
    ngx_mail_spf_put_str(&o, ngx_mail_spf_result_name(spf->result));
    ngx_mail_spf_put_str(&o, " (sender IP is ");
    ngx_mail_spf_put(&o, client, clen);

    if (spf->problem && spf->result >= NGX_MAIL_SPF_TEMPERROR) {
        ngx_mail_spf_put_str(&o, "; ");
        ngx_mail_spf_put_escaped(&o, spf->problem, strlen(spf->problem), 0);
    }

    ngx_mail_spf_put_str(&o, ") ");

    /* RFC 8601 2.7.2: smtp.mailfrom, or smtp.helo for the HELO identity */
    if (spf->identity == NGX_MAIL_SPF_MAILFROM) {
        ngx_mail_spf_put_str(&o, "smtp.mailfrom=");

        if (ngx_mail_spf_dot_atom(spf->local, spf->local_len)
            && ngx_mail_spf_dot_atom(spf->sender_domain,
                                     spf->sender_domain_len))
        {
            ngx_mail_spf_put(&o, spf->local, spf->local_len);
            ngx_mail_spf_put(&o, "@", 1);
            ngx_mail_spf_put(&o, spf->sender_domain, spf->sender_domain_len);

        } else {
            ngx_mail_spf_put(&o, "\"", 1);
            ngx_mail_spf_put_sender(&o, spf, 1);
            ngx_mail_spf_put(&o, "\"", 1);
        }

    } else {
        ngx_mail_spf_put_str(&o, "smtp.helo=");
        ngx_mail_spf_put_value(&o, spf->helo, spf->helo_len);
    }

    if (o.overflow) {
        if (size) {
            buf[0] = '\0';
        }

        return 0;
    }

    return o.len;
}
