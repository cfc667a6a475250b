
/*
 * IMAP FETCH (RFC 3501 6.4.5, 7.4.2; RFC 7162 3.1.4 MODSEQ; RFC 3516
 * BINARY): the attribute compiler and the response writer.
 *
 * Plain C99 without nginx headers, like the command parser, so that
 * the unit tests and the fuzzer build it alone.  Memory comes from the
 * caller's mime_allocator_t, which never frees single objects (an
 * nginx pool fits).
 *
 *
 * Compiling
 *
 *     rc = ngx_mail_imapd_fetch_compile(ps->nodes, att, &allocator,
 *                                       &fetch, &error);
 *
 * "nodes" are the command parser's nodes, "att" the index of the node
 * of FETCH's second argument: an ATOM (one attribute, or one of the
 * macros ALL, FAST, FULL) or a LIST of attributes (no macros inside,
 * as RFC 3501 9 fetch has them).  The attributes are ENVELOPE, FLAGS,
 * INTERNALDATE, RFC822, RFC822.HEADER, RFC822.SIZE, RFC822.TEXT, BODY,
 * BODYSTRUCTURE, UID, MODSEQ, BODY[section]<origin.count>,
 * BODY.PEEK[section]<origin.count> with every section of RFC 3501 9,
 * and BINARY[part]<origin.count>, BINARY.PEEK[part]<origin.count>,
 * BINARY.SIZE[part] (RFC 3516 4.2), case-insensitive.  A FETCH takes
 * at most NGX_MAIL_IMAPD_FETCH_MAX_ITEMS attributes, macros expanded;
 * a simple attribute named twice is answered once.
 *
 *   PARSE_OK       *fetch is ready; it points neither into the command's
 *                  buffer nor into the nodes, which the caller may reuse
 *                  while it writes the responses.
 *
 *   PARSE_ERROR    with *error a short text for "tag BAD <text>": an
 *                  unknown attribute, a bad section or partial, too
 *                  many attributes; or with *error NULL when the
 *                  allocator failed (answer NO, or close).
 *
 * Then the caller reads:
 *
 *   fetch->needs      NGX_MAIL_IMAPD_NEED_META: the message record is
 *                     enough; NGX_MAIL_IMAPD_NEED_CONTENT: the writer
 *                     needs the message itself, parsed.
 *   fetch->sets_seen  BODY[...] or BINARY[...] without .PEEK, RFC822 or
 *                     RFC822.TEXT was asked: the caller sets \Seen
 *                     (RFC 3501 6.4.5) unless the mailbox is read-only.
 *   fetch->uid        UID was asked; the caller sets it for UID FETCH
 *                     (RFC 3501 6.4.8).
 *   fetch->modseq     MODSEQ was asked; the caller sets it when
 *                     CONDSTORE is enabled or for CHANGEDSINCE
 *                     (RFC 7162 3.1.4.1, 3.2).
 *
 *
 * Writing
 *
 *     rc = ngx_mail_imapd_fetch_check(fetch, parsed);
 *
 * tells before anything is written or \Seen set: PARSE_DECLINED when
 * BINARY asks for a part in a Content-Transfer-Encoding we cannot undo;
 * the caller answers "tag NO [UNKNOWN-CTE] ..." (RFC 3516 4.3).  The
 * writer checks the same first and then writes nothing.
 *
 *     rc = ngx_mail_imapd_fetch_write(fetch, msg, parsed, flags_changed,
 *                                     out);
 *
 * appends "* <seq> FETCH (...)\r\n" for one message to "out".  "parsed"
 * is mime_parse() of msg->data when fetch->needs CONTENT, otherwise it
 * may be NULL.  "flags_changed": \Seen was just set as a side effect of
 * this FETCH, so FLAGS is written even if not asked (RFC 3501 6.4.5).
 *
 * The order of the reply: UID first when fetch->uid is set but UID was
 * not asked (as Dovecot does for UID FETCH), then MODSEQ when
 * fetch->modseq is set but MODSEQ was not asked, then the attributes in
 * the order asked, then FLAGS when flags_changed but not asked.
 *
 * How items look (RFC 3501 7.4.2):
 *
 *   FLAGS (\Seen \Recent $Junk)      stored system flags, \Recent when
 *                                    msg->recent, then keywords
 *   INTERNALDATE "17-Jul-1996 02:44:25 +0000"
 *   RFC822.SIZE 2345                 msg->size
 *   MODSEQ (12)
 *   BODY[1.HEADER.FIELDS (FROM TO)]<10> {42}\r\n...
 *                                    the section as asked, field names
 *                                    in upper case (as Dovecot), the
 *                                    partial's origin only; a literal
 *                                    always, or "" when the section is
 *                                    empty, is not in the message, or
 *                                    the origin lies past its end.
 *   RFC822, RFC822.HEADER and RFC822.TEXT likewise under their names.
 *   BINARY[1]<0> ~{5}\r\n...       the part decoded (base64, quoted-
 *                                    printable); literal8 only when it
 *                                    holds NUL, as in Dovecot.  BINARY[]
 *                                    and multipart or message/rfc822
 *                                    parts as they are.
 *   BINARY.SIZE[1] 5                 the size BINARY[1] would have.
 *
 * The writer only appends to "out" through mime_buf_append(), and body
 * octets are copied from the message, never from out->data: a flush
 * callback with a limit set on "out" streams a big body in chunks.
 * HEADER.FIELDS and decoded BINARY parts are first gathered in memory
 * from parsed->allocator, since a literal's size must be known before
 * it is written.
 *
 * PARSE_OK; PARSE_DECLINED as ngx_mail_imapd_fetch_check(), nothing
 * written; or PARSE_ERROR when "out" failed (allocation or flush), or
 * when CONTENT is needed and "parsed" is NULL.
 */

#ifndef _NGX_MAIL_IMAPD_FETCH_H_INCLUDED_
#define _NGX_MAIL_IMAPD_FETCH_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_mail_imapd_parse.h"
#include "ngx_mail_imapd_message.h"
#include "mime.h"


#define NGX_MAIL_IMAPD_FETCH_MAX_ITEMS  64


typedef enum {
    NGX_MAIL_IMAPD_FETCH_ENVELOPE = 1,
    NGX_MAIL_IMAPD_FETCH_FLAGS,
    NGX_MAIL_IMAPD_FETCH_INTERNALDATE,
    NGX_MAIL_IMAPD_FETCH_RFC822,
    NGX_MAIL_IMAPD_FETCH_RFC822_HEADER,
    NGX_MAIL_IMAPD_FETCH_RFC822_SIZE,
    NGX_MAIL_IMAPD_FETCH_RFC822_TEXT,
    NGX_MAIL_IMAPD_FETCH_BODY,              /* BODY without a section */
    NGX_MAIL_IMAPD_FETCH_BODYSTRUCTURE,
    NGX_MAIL_IMAPD_FETCH_UID,
    NGX_MAIL_IMAPD_FETCH_MODSEQ,
    NGX_MAIL_IMAPD_FETCH_SECTION,           /* BODY[...], BODY.PEEK[...] */
    NGX_MAIL_IMAPD_FETCH_BINARY,            /* BINARY[...], BINARY.PEEK[] */
    NGX_MAIL_IMAPD_FETCH_BINARY_SIZE        /* BINARY.SIZE[...] */
} ngx_mail_imapd_fetch_type_e;


typedef struct {
    unsigned                    type;      /* ngx_mail_imapd_fetch_type_e */
    unsigned                    partial:1;
    uint32_t                    origin;
    uint32_t                    count;
    mime_section_t             *section;   /* FETCH_SECTION, _BINARY* */
    /* the item's name in the reply, "BODY[1.MIME]<0>" */
    ngx_mail_imapd_str_t        name;
} ngx_mail_imapd_fetch_item_t;


typedef struct {
    ngx_mail_imapd_fetch_item_t  *items;
    unsigned                    nitems;

    unsigned                    needs;     /* NGX_MAIL_IMAPD_NEED_* */
    unsigned                    sets_seen:1;
    unsigned                    uid:1;     /* the caller may set it */
    unsigned                    modseq:1;  /* the caller may set it */

    /* private: which attributes are in items[] */
    unsigned                    has_uid:1;
    unsigned                    has_modseq:1;
    unsigned                    has_flags:1;
} ngx_mail_imapd_fetch_t;


int ngx_mail_imapd_fetch_compile(const ngx_mail_imapd_node_t *nodes,
    uint32_t att, const mime_allocator_t *allocator,
    ngx_mail_imapd_fetch_t **fetch, const char **error);

int ngx_mail_imapd_fetch_check(const ngx_mail_imapd_fetch_t *fetch,
    const mime_message_t *parsed);

int ngx_mail_imapd_fetch_write(const ngx_mail_imapd_fetch_t *fetch,
    const ngx_mail_imapd_message_t *msg, const mime_message_t *parsed,
    int flags_changed, mime_buf_t *out);


#endif /* _NGX_MAIL_IMAPD_FETCH_H_INCLUDED_ */
