
/*
 * IMAP sequence sets (RFC 3501 9 sequence-set): "1:4,7,9:*" as an
 * array of inclusive ranges, and "$", the saved search result of
 * RFC 5182.  For message sequence numbers and UIDs alike.
 *
 * Plain C99 without nginx headers, so that the unit tests and the
 * fuzzer build it alone: no allocation, no global state.  The caller
 * gives the range array and its capacity; ranges stay as sent (in
 * their order, "4:1" turned into 1:4) until
 * ngx_mail_imapd_seqset_normalize() resolves "*", sorts and merges
 * them.
 */

#ifndef _NGX_MAIL_IMAPD_SEQSET_H_INCLUDED_
#define _NGX_MAIL_IMAPD_SEQSET_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#ifndef _NGX_MAIL_IMAPD_PARSE_CODES_
#define _NGX_MAIL_IMAPD_PARSE_CODES_

/* the values of NGX_OK, NGX_ERROR, NGX_AGAIN, NGX_DONE, NGX_DECLINED */
#define NGX_MAIL_IMAPD_PARSE_OK         0
#define NGX_MAIL_IMAPD_PARSE_ERROR     -1
#define NGX_MAIL_IMAPD_PARSE_AGAIN     -2
#define NGX_MAIL_IMAPD_PARSE_DONE      -4
#define NGX_MAIL_IMAPD_PARSE_DECLINED  -5

/* the layout of ngx_str_t, so that the caller may cast */
typedef struct {
    size_t                      len;
    const unsigned char        *data;
} ngx_mail_imapd_str_t;

#endif


/* "*" in a range: the largest number in use (RFC 3501 9 seq-number) */
#define NGX_MAIL_IMAPD_SEQ_STAR         0


typedef struct {
    uint32_t                    first;     /* first <= last unless "*" */
    uint32_t                    last;
} ngx_mail_imapd_seq_range_t;


typedef struct {
    ngx_mail_imapd_seq_range_t *ranges;    /* set by the caller */
    uint32_t                    max_ranges;

    uint32_t                    nranges;
    unsigned                    saved:1;   /* "$": no ranges */
    unsigned                    star:1;    /* some range holds "*" */
    unsigned                    normalized:1;
} ngx_mail_imapd_seqset_t;


/*
 * PARSE_OK; PARSE_ERROR on bad syntax: empty, a 0, a leading zero
 * (nz-number), a number over 4294967295, an empty element, "$" with
 * anything else; PARSE_DECLINED when there are more than max_ranges
 * ranges (valid, but more than the server takes: "NO").
 */
int ngx_mail_imapd_seqset_parse(const unsigned char *p, size_t len,
    ngx_mail_imapd_seqset_t *set);

/*
 * Resolves "*" to "star", the largest number in use (RFC 3501 6.4.8:
 * "559:*" holds the last UID even if it is below 559), sorts the
 * ranges and merges those that overlap or touch, in place, in
 * O(n log n).  For an empty mailbox star is 0, a number no message
 * has.
 */
void ngx_mail_imapd_seqset_normalize(ngx_mail_imapd_seqset_t *set,
    uint32_t star);

/*
 * Whether n is in the set, "*" being "star" (0: empty mailbox).  Binary
 * search once normalized (with the same star), linear before.  "$" has
 * no ranges: the caller substitutes its saved result.
 */
int ngx_mail_imapd_seqset_contains(const ngx_mail_imapd_seqset_t *set,
    uint32_t n, uint32_t star);

/* the range's bounds, "*" resolved to star, lo <= hi */
void ngx_mail_imapd_seq_range_resolve(const ngx_mail_imapd_seq_range_t *r,
    uint32_t star, uint32_t *lo, uint32_t *hi);


#endif /* _NGX_MAIL_IMAPD_SEQSET_H_INCLUDED_ */
