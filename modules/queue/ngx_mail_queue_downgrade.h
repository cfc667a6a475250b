
/*
 * RFC 6152 3: a message sent with BODY=8BITMIME may be relayed to a
 * server that does not announce 8BITMIME only once it is 7 bit.  As
 * Postfix does, the queue then converts it: every leaf part whose body
 * has 8-bit octets (or NUL) and is labelled 7bit, 8bit, binary or not
 * at all gets its body encoded quoted-printable (RFC 2045 6.7) and its
 * Content-Transfer-Encoding field replaced.  Multiparts (RFC 2046 5.1)
 * and message/rfc822 parts (RFC 2046 5.2.1) are walked into, at most
 * NGX_MAIL_QUEUE_DOWNGRADE_DEPTH deep; a composite part labelled 8bit
 * or binary is relabelled 7bit.  Parts already in base64 or
 * quoted-printable, and 7-bit parts, are copied as they are.
 *
 * What cannot be converted, and makes the caller bounce with 5.6.3
 * (RFC 3463 "conversion required but not supported"): 8-bit octets in
 * any header, which need SMTPUTF8 (RFC 6531), not a body encoding; an
 * 8-bit body already labelled base64, quoted-printable or some other
 * encoding, which is broken; an 8-bit "message" other than rfc822
 * (RFC 2046 5.2.2, 5.2.3 want them 7bit); nesting deeper than DEPTH.
 *
 * The parts are the ones the MIME library (modules/mime) finds, so that
 * what is converted is what IMAP clients are shown: a line that begins
 * with "--" and the boundary is a delimiter (RFC 2046 5.1.1's note to
 * implementors), the first Content-Type field counts.
 *
 * The preamble and epilogue of a multipart are not part of any body
 * (RFC 2046 5.1.1: "to be ignored"): their 8-bit octets are shown as
 * "?" rather than failing the message for them.
 *
 * Plain C99 without nginx headers, no allocation, no global state, no
 * octet read outside the message.  Lines may end in CRLF or bare LF;
 * what is copied keeps its line ends, what is written anew (the
 * quoted-printable text, the fields added) ends its lines with CRLF.
 *
 *     size = ngx_mail_queue_downgrade_size(msg, len);
 *     out = ngx_pnalloc(pool, size);
 *     n = ngx_mail_queue_downgrade(msg, len, out);
 *     if (n == (size_t) -1) { bounce 5.6.3 }
 */

#ifndef _NGX_MAIL_QUEUE_DOWNGRADE_H_INCLUDED_
#define _NGX_MAIL_QUEUE_DOWNGRADE_H_INCLUDED_


#include <stddef.h>


/* the deepest nesting of multiparts and messages walked into */
#define NGX_MAIL_QUEUE_DOWNGRADE_DEPTH  32


/* 1 when the message has an octet above 127 or a NUL, else 0 */
int ngx_mail_queue_is_8bit(const unsigned char *msg, size_t len);

/*
 * The octets ngx_mail_queue_downgrade() writes: found by walking the
 * message once without writing, so the bound is exact.  0 when the
 * message cannot be converted (or is empty).
 */
size_t ngx_mail_queue_downgrade_size(const unsigned char *msg, size_t len);

/*
 * Writes the message in 7 bit into "out", which has
 * ngx_mail_queue_downgrade_size() octets; returns the octets written,
 * or (size_t) -1 when the message cannot be converted (see above), in
 * which case nothing was written.
 */
size_t ngx_mail_queue_downgrade(const unsigned char *msg, size_t len,
    unsigned char *out);


#endif /* _NGX_MAIL_QUEUE_DOWNGRADE_H_INCLUDED_ */
