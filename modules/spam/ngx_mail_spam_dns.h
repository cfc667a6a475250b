
/*
 * The spam filter's DNS answers turned into what its checks read: the
 * records of an SPF question (for ngx_mail_spf_answer()) and the code
 * and TTL of a DNSBL answer (RFC 5782).
 *
 * Plain C99 without nginx headers: the DNS traffic is the caller's
 * (c-ares on nginx's event loop, ngx_mail_spam_spf_run.c and
 * ngx_mail_spam_dnsbl.c); this file only reads the answers, through
 * c-ares's own parsers, so that the unit tests and the fuzzer drive it
 * with raw DNS messages.  No allocation of its own (c-ares's parsers
 * allocate and are freed before returning); the records go to arrays
 * and storage the caller gives, every list bounded.
 *
 * "status" is what c-ares's ares_query() callback gives (ARES_SUCCESS,
 * ARES_ENODATA for NOERROR without answers, ARES_ENOTFOUND for
 * NXDOMAIN, ARES_ETIMEOUT, ...).  A positive return value is a c-ares
 * status too, for the caller's log (ares_strerror()).
 */

#ifndef _NGX_MAIL_SPAM_DNS_H_INCLUDED_
#define _NGX_MAIL_SPAM_DNS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_mail_spf.h"


/* ARES_SUCCESS, NGX_OK: the answer was read */
#define NGX_MAIL_SPAM_DNS_OK               0

/* the DNSBL results besides OK (listed) and a c-ares status (failed) */
#define NGX_MAIL_SPAM_DNS_NOT_LISTED      -5
#define NGX_MAIL_SPAM_DNS_OUTSIDE         -6

/*
 * The SPF records of one answer: the caller's arrays for them need be
 * no larger.  TXT: up to RRS_MAX strings and STORAGE octets of text (a
 * DNS message over TCP holds at most 65535 octets, so the text always
 * fits; that many strings never comes from a real zone).  MX and PTR:
 * the first NAMES_MAX names, NAME_LEN octets each; the evaluator reads
 * ten (RFC 7208 4.6.4), and more than ten MX is permerror, which the
 * eleventh keeps.  A and AAAA: the first ADDRS_MAX addresses.
 */
#define NGX_MAIL_SPAM_DNS_RRS_MAX       1024
#define NGX_MAIL_SPAM_DNS_STORAGE       65536
#define NGX_MAIL_SPAM_DNS_NAMES_MAX     32
#define NGX_MAIL_SPAM_DNS_ADDRS_MAX     64

/*
 * A name is kept to its first NAME_LEN octets: a longer one is not a
 * name the evaluator takes (NAME_MAX, and a final dot), nor is the part
 * kept, so it is refused as the whole would be.
 */
#define NGX_MAIL_SPAM_DNS_NAME_LEN      (NGX_MAIL_SPF_NAME_MAX + 2)

/*
 * DNSBL TTLs: NXDOMAIN and NODATA carry no TTL c-ares gives us (the SOA
 * minimum of RFC 2308 is in the authority section it does not parse),
 * so "not listed" is kept for 5 minutes, a common negative TTL of the
 * big lists.  A TTL of 0 would not cache at all, a week-long one
 * outlives a delisting.
 */
#define NGX_MAIL_SPAM_DNS_DNSBL_NEGATIVE_TTL  300
#define NGX_MAIL_SPAM_DNS_DNSBL_MIN_TTL       1
#define NGX_MAIL_SPAM_DNS_DNSBL_MAX_TTL       86400

/* the A records of one DNSBL answer looked at; real lists give 1 to 3 */
#define NGX_MAIL_SPAM_DNS_DNSBL_ADDRS         16


/*
 * The answer to the evaluator's question of "type" (NGX_MAIL_SPF_TXT,
 * _A, _AAAA, _MX, _PTR) as ngx_mail_spf_answer() takes it: *rcode, and
 * rrs[0 .. *nrrs - 1], whose data point into "storage".  Whatever the
 * return value, these are what to give the evaluator:
 *
 *   status ARES_SUCCESS, ARES_ENODATA: NOERROR with the records of the
 *     type (none for ENODATA, or for a CNAME to a name without them);
 *   ARES_ENOTFOUND: NXDOMAIN; ARES_ETIMEOUT: the evaluator's TIMEOUT;
 *   any other status: SERVFAIL (RFC 7208 4.4: temperror).
 *
 * Returns NGX_MAIL_SPAM_DNS_OK, or the c-ares status of an answer that
 * does not parse (a type not SPF's: ARES_ENOTIMP; more TXT strings than
 * "max" or text than "size": ARES_ENOMEM); *rcode is SERVFAIL then, as
 * RFC 7208 4.4 takes a malformed answer for a DNS error.  TXT gives
 * every character-string as an rr, record_start on the first of each
 * record (RFC 7208 3.3: the strings of a record are joined, the records
 * are not); MX and PTR the host names, without the MX preference; A
 * and AAAA fill addr.
 */
int ngx_mail_spam_dns_spf_records(unsigned type, int status,
    const unsigned char *abuf, size_t alen, ngx_mail_spf_rr_t *rrs,
    unsigned max, unsigned char *storage, size_t size, unsigned *nrrs,
    int *rcode);

/*
 * The answer to the A query of a DNSBL name (RFC 5782 2.1):
 *
 *   NGX_MAIL_SPAM_DNS_OK          listed: *answer is the first address
 *                                 within 127.0.0.0/8 (network order),
 *                                 *ttl the least TTL of those, within
 *                                 DNSBL_MIN_TTL .. DNSBL_MAX_TTL;
 *   NGX_MAIL_SPAM_DNS_NOT_LISTED  NXDOMAIN or NODATA, *ttl
 *                                 DNSBL_NEGATIVE_TTL;
 *   NGX_MAIL_SPAM_DNS_OUTSIDE     addresses, none within 127.0.0.0/8:
 *                                 no answer of a list's, but of a
 *                                 resolver rewriting NXDOMAIN;
 *   a c-ares status               the lookup failed ("status" itself),
 *                                 or its answer did not parse.
 *
 * *answer is 0xffffffff (INADDR_NONE) and *ttl 0 unless said above.
 */
int ngx_mail_spam_dns_dnsbl(int status, const unsigned char *abuf,
    size_t alen, uint32_t *answer, unsigned *ttl);


#endif /* _NGX_MAIL_SPAM_DNS_H_INCLUDED_ */
