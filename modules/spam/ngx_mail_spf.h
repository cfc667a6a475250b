
/*
 * RFC 7208 Sender Policy Framework: check_host() as a state machine that
 * never blocks.  Plain C99 without nginx headers: the DNS traffic is the
 * caller's (c-ares on nginx's event loop); this file decides what to ask
 * and what the answers mean.  No allocation: everything, the records of
 * the include chain too, lives in the ngx_mail_spf_t, every list bounded.
 *
 *     ngx_mail_spf_init(spf, &params);
 *
 *     while ((rc = ngx_mail_spf_step(spf)) == NGX_MAIL_SPF_AGAIN) {
 *         ask spf->query_type for spf->query_name, then
 *         ngx_mail_spf_answer(spf, rcode, rrs, nrrs);
 *     }
 *
 *     spf->result, spf->explanation for "fail", spf->problem for the
 *     errors; ngx_mail_spf_received() and ngx_mail_spf_auth_results()
 *     format them for the headers.
 *
 * The caller gives rcode NOERROR, NXDOMAIN or anything else (SERVFAIL,
 * REFUSED, a timeout: NGX_MAIL_SPF_RCODE_TIMEOUT), and with NOERROR the
 * answer's records of the type asked for, in the answer's order (a CNAME
 * chain is the resolver's to follow).  For TXT every character-string is
 * one rr, record_start set on the first string of each record (as c-ares'
 * ares_parse_txt_ext_reply() gives them); A and AAAA fill addr; MX and
 * PTR give the host name in data (the MX preference does not matter to
 * SPF).
 *
 * The "p" macro uses a simplified validated domain (RFC 7208 7.3 leaves
 * its use discouraged): on first use the PTR names of the client are
 * looked up once, the first ten at most, names that are <domain> or
 * under it first; the first whose A or AAAA lookup gives back the client
 * address is <p> for the rest of the evaluation, "unknown" if none.
 * These lookups count against no limit but the ten names.  In exp text
 * (RFC 7208 6.2) "p" is what an earlier use looked up, else "unknown":
 * the explanation is read within one answer, with no lookup after it.
 *
 * Names asked about are printable ASCII without '\' (an escape to
 * ares_query() and zone files), up to 253 octets, without the final
 * dot; a macro-made name that is not (a space from "%_", say) is taken
 * as NXDOMAIN without asking.
 */

#ifndef _NGX_MAIL_SPF_H_INCLUDED_
#define _NGX_MAIL_SPF_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* the values of NGX_OK, NGX_ERROR, NGX_AGAIN */
#define NGX_MAIL_SPF_OK              0
#define NGX_MAIL_SPF_ERROR          -1
#define NGX_MAIL_SPF_AGAIN          -2

/* DNS RCODEs of RFC 1035 4.1.1 the evaluator tells apart */
#define NGX_MAIL_SPF_RCODE_NOERROR   0
#define NGX_MAIL_SPF_RCODE_SERVFAIL  2
#define NGX_MAIL_SPF_RCODE_NXDOMAIN  3
#define NGX_MAIL_SPF_RCODE_TIMEOUT  -1

/* the query types, their RFC 1035 numbers */
#define NGX_MAIL_SPF_A               1
#define NGX_MAIL_SPF_PTR             12
#define NGX_MAIL_SPF_MX              15
#define NGX_MAIL_SPF_TXT             16
#define NGX_MAIL_SPF_AAAA            28

/* RFC 1035 2.3.4: 253 octets as text without the root */
#define NGX_MAIL_SPF_NAME_MAX        253
#define NGX_MAIL_SPF_LOCAL_MAX       256

/* RFC 7208 4.6.4 */
#define NGX_MAIL_SPF_LOOKUPS_MAX     10
#define NGX_MAIL_SPF_VOID_MAX        2
#define NGX_MAIL_SPF_NAMES_MAX       10

/*
 * include and redirect each cost a lookup, so the 10-lookup limit bounds
 * the chain; the frames are the includes open at once.
 */
#define NGX_MAIL_SPF_DEPTH_MAX       (NGX_MAIL_SPF_LOOKUPS_MAX + 1)

/*
 * The records of the open includes together; a record is rarely longer
 * than 512 octets, the longest real ones about 2 KB.  More is permerror.
 */
#define NGX_MAIL_SPF_TEXT_MAX        16384

/* an expanded "exp" text (RFC 7208 6.2 keeps it to one TXT record) */
#define NGX_MAIL_SPF_EXPLAIN_MAX     512


typedef enum {
    NGX_MAIL_SPF_NONE = 0,
    NGX_MAIL_SPF_NEUTRAL,
    NGX_MAIL_SPF_PASS,
    NGX_MAIL_SPF_FAIL,
    NGX_MAIL_SPF_SOFTFAIL,
    NGX_MAIL_SPF_TEMPERROR,
    NGX_MAIL_SPF_PERMERROR
} ngx_mail_spf_result_e;


typedef enum {
    NGX_MAIL_SPF_MAILFROM = 0,
    NGX_MAIL_SPF_HELO
} ngx_mail_spf_identity_e;


typedef struct {
    size_t                      len;
    const unsigned char        *data;
} ngx_mail_spf_str_t;


typedef struct {
    unsigned                    family;     /* 4 or 6 */
    unsigned char               addr[16];   /* network order */

    /* empty local part: "postmaster"; empty domain: the HELO identity */
    ngx_mail_spf_str_t          sender_local;
    ngx_mail_spf_str_t          sender_domain;
    ngx_mail_spf_str_t          helo;
    ngx_mail_spf_str_t          receiver;   /* this host's name, %{r} */

    long long                   now;        /* time(), %{t} */
} ngx_mail_spf_params_t;


typedef struct {
    const unsigned char        *data;       /* TXT string, MX or PTR name */
    size_t                      len;
    unsigned char               addr[16];   /* A: 4 octets, AAAA: 16 */
    unsigned                    record_start:1;   /* TXT */
} ngx_mail_spf_rr_t;


typedef struct {
    char                        domain[NGX_MAIL_SPF_NAME_MAX + 1];
    size_t                      domain_len;

    size_t                      record;     /* offset in spf->text */
    size_t                      record_len;
    size_t                      pos;        /* the next term */

    /* modifiers' values in spf->text, len 0 when absent */
    size_t                      redirect;
    size_t                      redirect_len;
    size_t                      exp;
    size_t                      exp_len;

    unsigned                    qualifier;  /* of the term evaluated */
    unsigned                    cidr4;
    unsigned                    cidr6;

    unsigned                    redirected:1;
} ngx_mail_spf_frame_t;


typedef struct {
    /* the arguments of check_host(), RFC 7208 4.1 */
    unsigned                    family;
    unsigned char               addr[16];
    char                        local[NGX_MAIL_SPF_LOCAL_MAX + 1];
    size_t                      local_len;
    char                        sender_domain[NGX_MAIL_SPF_NAME_MAX + 1];
    size_t                      sender_domain_len;
    char                        helo[NGX_MAIL_SPF_NAME_MAX + 1];
    size_t                      helo_len;
    char                        receiver[NGX_MAIL_SPF_NAME_MAX + 1];
    size_t                      receiver_len;
    long long                   now;
    ngx_mail_spf_identity_e     identity;

    /* the question for the caller when step() says AGAIN */
    char                        query_name[NGX_MAIL_SPF_NAME_MAX + 1];
    size_t                      query_len;
    unsigned                    query_type;

    /* the outcome when step() says OK */
    ngx_mail_spf_result_e       result;
    const char                 *problem;    /* static text, or NULL */
    char                        explanation[NGX_MAIL_SPF_EXPLAIN_MAX + 1];
    size_t                      explanation_len;
    /* the mechanism that matched, for the header comment */
    char                        mechanism[64];

    /* everything below is the evaluator's */
    unsigned                    state;
    unsigned                    resume;     /* after the "p" lookups */
    unsigned                    depth;      /* frames in use */
    unsigned                    lookups;
    unsigned                    voids;
    unsigned                    answered:1;
    unsigned                    p_done:1;
    unsigned                    matched:1;

    ngx_mail_spf_frame_t        frames[NGX_MAIL_SPF_DEPTH_MAX];

    /* MX or PTR names whose addresses are looked up, one at a time */
    char                        names[NGX_MAIL_SPF_NAMES_MAX]
                                     [NGX_MAIL_SPF_NAME_MAX + 1];
    unsigned                    nnames;
    unsigned                    name;       /* the one asked for */

    /* the name the mechanism asked about: "ptr" compares with it */
    char                        target[NGX_MAIL_SPF_NAME_MAX + 1];
    size_t                      target_len;

    char                        validated[NGX_MAIL_SPF_NAME_MAX + 1];
    size_t                      validated_len;

    char                        text[NGX_MAIL_SPF_TEXT_MAX];
    size_t                      text_len;
} ngx_mail_spf_t;


/*
 * NGX_MAIL_SPF_ERROR for arguments no SMTP session gives: a family other
 * than 4 or 6, a local part longer than LOCAL_MAX, names longer than
 * NAME_MAX.  A malformed domain is no error here: it is result "none"
 * (RFC 7208 4.3).  An IPv4-mapped IPv6 address is taken as IPv4 (RFC
 * 7208 5).
 */
int ngx_mail_spf_init(ngx_mail_spf_t *spf,
    const ngx_mail_spf_params_t *params);

/* NGX_MAIL_SPF_OK with the result, or AGAIN with a question */
int ngx_mail_spf_step(ngx_mail_spf_t *spf);

/*
 * The answer to the question; NGX_MAIL_SPF_ERROR when no question is
 * open.  Then step() again.
 */
int ngx_mail_spf_answer(ngx_mail_spf_t *spf, int rcode,
    const ngx_mail_spf_rr_t *rrs, unsigned nrrs);

/* "pass", "fail", ... as RFC 7208 2.6 and RFC 8601 2.7.2 spell them */
const char *ngx_mail_spf_result_name(ngx_mail_spf_result_e result);

/*
 * The value of a Received-SPF header field (RFC 7208 9.1), without the
 * field name and without folding; and the "spf=" method of an
 * Authentication-Results field (RFC 8601 2.7.2).  Both return the length
 * written, a NUL after it, or 0 when "size" is too small.
 */
size_t ngx_mail_spf_received(ngx_mail_spf_t *spf, char *buf, size_t size);
size_t ngx_mail_spf_auth_results(ngx_mail_spf_t *spf, char *buf,
    size_t size);


#endif /* _NGX_MAIL_SPF_H_INCLUDED_ */
