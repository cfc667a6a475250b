
/*
 * IMAP SEARCH (RFC 3501 6.4.4, RFC 7162 3.1.5): the search keys a
 * client sends, compiled once into a small program, then matched
 * against each message of the mailbox.
 *
 * Plain C99 without nginx headers, so that the unit tests and the
 * fuzzer build it alone; the message contents are read with the MIME
 * library (modules/mime).  All memory comes from the caller's
 * allocator, which never frees single objects (an nginx pool fits).
 *
 *
 * Compiling
 *
 *     rc = ngx_mail_imapd_search_compile(nodes, first, allocator,
 *                                        &search, &error);
 *
 * "nodes" are the parser's (ps->nodes), "first" the index of the first
 * node of the search program: after the command name, and after
 * whatever the caller handled itself (the RETURN options of ESEARCH,
 * RFC 4731), NGX_MAIL_IMAPD_NODE_NONE if nothing follows ("Missing
 * search key").  An optional "CHARSET name" comes first (RFC 3501
 * 6.4.4); the program runs from there to the end of the sibling chain.
 *
 *   PARSE_OK        *search is the program.
 *   PARSE_ERROR     bad syntax: *error is a short text for
 *                   "tag BAD <error>".
 *   PARSE_DECLINED  a charset other than UTF-8 or US-ASCII: *error is
 *                   "[BADCHARSET (UTF-8 US-ASCII)] ..." for
 *                   "tag NO <error>".
 *   SEARCH_NOMEM    the allocator failed: "tag NO" or close, as for
 *                   any memory shortage.  It is -3, as PARSE_ERROR's -1
 *                   already means BAD here.
 *
 * The keys: ALL, ANSWERED, BCC, BEFORE, BODY, CC, DELETED, DRAFT,
 * FLAGGED, FROM, HEADER, KEYWORD, LARGER, MODSEQ, NEW, NOT, OLD, ON,
 * OR, RECENT, SEEN, SENTBEFORE, SENTON, SENTSINCE, SINCE, SMALLER,
 * SUBJECT, TEXT, TO, UID, UNANSWERED, UNDELETED, UNDRAFT, UNFLAGGED,
 * UNKEYWORD, UNSEEN, sequence sets and parenthesized lists, in any
 * case.  Strings are astrings (a literal8 is refused), dates
 * "1-Feb-1994" quoted or not.  The saved result "$" of RFC 5182 is
 * refused (BAD): we do not announce SEARCHRES.  At most
 * NGX_MAIL_IMAPD_SEARCH_MAX_KEYS keys and NGX_MAIL_IMAPD_SEARCH_MAX_DEPTH
 * levels of NOT, OR and lists ("Search too complex").  The program
 * points into the nodes' values only while compiling: it copies what
 * it keeps, so the command buffer may go once compiled.
 *
 *
 * Matching
 *
 *     rc = ngx_mail_imapd_search_match(search, msg, star_seq, star_uid,
 *                                      allocator);
 *
 * 1 if the message matches, 0 if not, NGX_MAIL_IMAPD_SEARCH_NOMEM if
 * the allocator failed.  "star_seq" and "star_uid" are the largest
 * sequence number and UID of the mailbox, what "*" stands for in
 * sequence sets (RFC 3501 9).  msg->data must hold the message when
 * ngx_mail_imapd_search_needs() says NGX_MAIL_IMAPD_NEED_CONTENT;
 * without it the content keys see an empty message (and SENT* keys
 * the internal date).  The allocator takes the scratch memory of this
 * one match (the parsed MIME tree, decoded text: a few times the
 * message's size), so the caller should give a pool it frees or
 * resets after each message.
 *
 * What the keys compare:
 *
 *   - Strings: a substring, case-insensitive (ASCII, Latin-1, Latin
 *     Extended-A, Greek and Cyrillic letters folded), on UTF-8 text:
 *     header values unfolded and RFC 2047-decoded, body text parts
 *     transfer-decoded and converted to UTF-8.  An empty string
 *     matches whenever the header exists (BODY and TEXT: always).
 *   - HEADER, FROM, TO, CC, BCC, SUBJECT: each field of that name in
 *     the message's top-level header; address fields as text.
 *   - BODY: the text parts (mime_text_extract()), those of attached
 *     messages included; TEXT: BODY, or any top-level header field as
 *     "Name: value".
 *   - BEFORE, ON, SINCE: the day of the internal date in UTC.
 *   - SENTBEFORE, SENTON, SENTSINCE: the day written in the Date:
 *     header (its own time zone, RFC 3501 "disregarding time and
 *     timezone"); without a valid Date: the internal date's, as
 *     RFC 5256 2.2 has SORT do.
 *   - MODSEQ: the message's mod-sequence, entry name and type ignored
 *     as RFC 7162 3.1.5 allows when one mod-sequence is kept per
 *     message.  The caller then adds "(MODSEQ n)" to the SEARCH
 *     response, n the highest mod-sequence of the messages found.
 *   - Flags and keywords: the stored flags, case-insensitive.
 */

#ifndef _NGX_MAIL_IMAPD_SEARCH_H_INCLUDED_
#define _NGX_MAIL_IMAPD_SEARCH_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_mail_imapd_parse.h"
#include "ngx_mail_imapd_message.h"
#include "mime.h"


#define NGX_MAIL_IMAPD_SEARCH_NOMEM      -3

#define NGX_MAIL_IMAPD_SEARCH_MAX_KEYS   1024
#define NGX_MAIL_IMAPD_SEARCH_MAX_DEPTH  64


typedef struct ngx_mail_imapd_search_s  ngx_mail_imapd_search_t;


/* PARSE_OK, PARSE_ERROR, PARSE_DECLINED or SEARCH_NOMEM, see above */
int ngx_mail_imapd_search_compile(const ngx_mail_imapd_node_t *nodes,
    uint32_t first, const mime_allocator_t *allocator,
    ngx_mail_imapd_search_t **search, const char **error);

/* NGX_MAIL_IMAPD_NEED_META or NGX_MAIL_IMAPD_NEED_CONTENT */
/*
 * The highest message sequence number the keys name outside "*" ranges
 * (0 if none): above the mailbox's count, RFC 3501 9 makes it BAD
 */
uint32_t ngx_mail_imapd_search_max_seq(
    const ngx_mail_imapd_search_t *search);
unsigned ngx_mail_imapd_search_needs(const ngx_mail_imapd_search_t *search);

/* 1 if a MODSEQ key is used: the reply gets "(MODSEQ n)" */
int ngx_mail_imapd_search_uses_modseq(const ngx_mail_imapd_search_t *search);

/* 1, 0 or SEARCH_NOMEM, see above */
int ngx_mail_imapd_search_match(const ngx_mail_imapd_search_t *search,
    const ngx_mail_imapd_message_t *msg, uint32_t star_seq,
    uint32_t star_uid, const mime_allocator_t *allocator);


#endif /* _NGX_MAIL_IMAPD_SEARCH_H_INCLUDED_ */
