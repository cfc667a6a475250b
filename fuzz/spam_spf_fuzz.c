
/*
 * libFuzzer target for the SPF evaluator (RFC 7208): records, macro
 * strings and DNS answers all come from the input.
 *
 * The first octet: bit 0 the client's family, bit 1 no MAIL FROM (the
 * HELO identity); the next 16 the client address.  The rest is lines:
 * the local part, the domain (of MAIL FROM, or HELO), then one line per
 * DNS answer, given to the questions in turn (NXDOMAIN when they run
 * out).  An answer's first octet picks the rcode (NOERROR, NXDOMAIN,
 * SERVFAIL, timeout), the rest is records separated by '|'; in a TXT
 * record '^' separates its strings; an A or AAAA record's octets are the
 * address.  So a seed reads "user", "example.com", " v=spf1 a -all",
 * " \xc0\x00\x02\x01".
 *
 * Checked besides the sanitizers: the evaluation ends, within a bound
 * of questions the limits imply; every question is a name DNS can hold,
 * printable and without '\', of a type asked for by SPF; the result is
 * one of the seven, the explanation printable; the header values have
 * no control characters and say the result.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_spf.h"


#define MAX_INPUT      8192
#define MAX_ANSWERS    64
#define MAX_RRS        32

/*
 * 10 lookups, each an MX or PTR with 10 address lookups, the "p" macro's
 * PTR and 10 names, the first TXT and the exp TXT
 */
#define MAX_QUESTIONS  (10 * 11 + 11 + 2 + 10)


static ngx_mail_spf_t  spf;


static void
check_question(void)
{
    size_t  i;

    if (spf.query_len == 0 || spf.query_len > NGX_MAIL_SPF_NAME_MAX
        || strlen(spf.query_name) != spf.query_len
        || spf.query_name[0] == '.'
        || spf.query_name[spf.query_len - 1] == '.')
    {
        abort();
    }

    for (i = 0; i < spf.query_len; i++) {
        if ((i + 1 < spf.query_len && spf.query_name[i] == '.'
             && spf.query_name[i + 1] == '.')
            || spf.query_name[i] < 0x21 || spf.query_name[i] > 0x7e
            || spf.query_name[i] == '\\')
        {
            abort();
        }
    }

    switch (spf.query_type) {
    case NGX_MAIL_SPF_A:
    case NGX_MAIL_SPF_AAAA:
    case NGX_MAIL_SPF_MX:
    case NGX_MAIL_SPF_PTR:
    case NGX_MAIL_SPF_TXT:
        break;
    default:
        abort();
    }

    if (spf.depth == 0 || spf.depth > NGX_MAIL_SPF_DEPTH_MAX
        || spf.text_len > NGX_MAIL_SPF_TEXT_MAX
        || spf.lookups > NGX_MAIL_SPF_LOOKUPS_MAX
        || spf.nnames > NGX_MAIL_SPF_NAMES_MAX)
    {
        abort();
    }
}


static void
check_text(const char *text, size_t len)
{
    size_t  i;

    if (strlen(text) != len) {
        abort();
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) text[i] < 0x20 || text[i] == 0x7f) {
            abort();
        }
    }
}


static void
check_result(void)
{
    char    buf[4096];
    size_t  n;

    if ((unsigned) spf.result > NGX_MAIL_SPF_PERMERROR) {
        abort();
    }

    if (spf.result == NGX_MAIL_SPF_FAIL) {
        if (spf.explanation_len == 0
            || spf.explanation_len > NGX_MAIL_SPF_EXPLAIN_MAX)
        {
            abort();
        }

        check_text(spf.explanation, spf.explanation_len);
    }

    n = ngx_mail_spf_received(&spf, buf, sizeof(buf));
    check_text(buf, n);

    if (n == 0
        || strncmp(buf, ngx_mail_spf_result_name(spf.result),
                   strlen(ngx_mail_spf_result_name(spf.result)))
           != 0)
    {
        abort();
    }

    n = ngx_mail_spf_auth_results(&spf, buf, sizeof(buf));
    check_text(buf, n);

    if (n == 0 || strncmp(buf, "spf=", 4) != 0) {
        abort();
    }

    /* a small buffer gives 0, never a part */
    if (ngx_mail_spf_received(&spf, buf, 16) != 0) {
        abort();
    }
}


static void
answer(const uint8_t *line, size_t len)
{
    int                 rcode;
    size_t              i, start, n;
    unsigned            nrrs;
    ngx_mail_spf_rr_t   rrs[MAX_RRS];
    static const int    rcodes[] = {
        NGX_MAIL_SPF_RCODE_NOERROR, NGX_MAIL_SPF_RCODE_NXDOMAIN,
        NGX_MAIL_SPF_RCODE_SERVFAIL, NGX_MAIL_SPF_RCODE_TIMEOUT
    };

    rcode = len ? rcodes[line[0] % 4] : NGX_MAIL_SPF_RCODE_NXDOMAIN;
    nrrs = 0;

    if (len) {
        line++;
        len--;
    }

    start = 0;

    for (i = 0; i <= len && nrrs < MAX_RRS && len; i++) {
        if (i < len && line[i] != '|'
            && !(line[i] == '^' && spf.query_type == NGX_MAIL_SPF_TXT))
        {
            continue;
        }

        memset(&rrs[nrrs], 0, sizeof(ngx_mail_spf_rr_t));
        rrs[nrrs].data = line + start;
        rrs[nrrs].len = i - start;
        rrs[nrrs].record_start = (start == 0 || line[start - 1] == '|');

        n = i - start < 16 ? i - start : 16;
        memcpy(rrs[nrrs].addr, line + start, n);

        nrrs++;
        start = i + 1;
    }

    if (ngx_mail_spf_answer(&spf, rcode, rrs, nrrs) != NGX_MAIL_SPF_OK) {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                  pos, end, n;
    unsigned                questions;
    const uint8_t          *lines[MAX_ANSWERS + 2];
    size_t                  lens[MAX_ANSWERS + 2];
    unsigned                nlines, next;
    ngx_mail_spf_params_t   params;

    if (size < 17 || size > MAX_INPUT) {
        return 0;
    }

    memset(&params, 0, sizeof(ngx_mail_spf_params_t));
    params.family = (data[0] & 1) ? 6 : 4;
    memcpy(params.addr, data + 1, 16);

    nlines = 0;
    pos = 17;

    while (pos <= size && nlines < MAX_ANSWERS + 2) {
        for (end = pos; end < size && data[end] != '\n'; end++) {
            /* void */
        }

        lines[nlines] = data + pos;
        lens[nlines] = end - pos;
        nlines++;
        pos = end + 1;
    }

    if (nlines < 2) {
        return 0;
    }

    params.sender_local.data = lines[0];
    params.sender_local.len = lens[0];

    if (data[0] & 2) {
        params.helo.data = lines[1];
        params.helo.len = lens[1];

    } else {
        params.sender_domain.data = lines[1];
        params.sender_domain.len = lens[1];
        params.helo.data = (const unsigned char *) "helo.example.net";
        params.helo.len = 16;
    }

    params.receiver.data = (const unsigned char *) "mx.example.org";
    params.receiver.len = 14;
    params.now = 1700000000;

    if (ngx_mail_spf_init(&spf, &params) != NGX_MAIL_SPF_OK) {
        n = lens[0];

        if (n <= NGX_MAIL_SPF_LOCAL_MAX
            && lens[1] <= NGX_MAIL_SPF_NAME_MAX)
        {
            /* only too long arguments are refused */
            abort();
        }

        return 0;
    }

    next = 2;

    for (questions = 0; ; questions++) {
        if (ngx_mail_spf_step(&spf) == NGX_MAIL_SPF_OK) {
            break;
        }

        if (questions == MAX_QUESTIONS) {
            abort();
        }

        check_question();

        if (next < nlines) {
            answer(lines[next], lens[next]);
            next++;

        } else {
            answer(NULL, 0);
        }
    }

    check_result();

    /* a question is needed before an answer */
    if (ngx_mail_spf_answer(&spf, 0, NULL, 0) != NGX_MAIL_SPF_ERROR) {
        abort();
    }

    return 0;
}
