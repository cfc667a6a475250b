
/*
 * The message content of DATA (RFC 5321 4.1.1.4, 4.5.2) and BDAT
 * (RFC 3030), decoded as a stream: input in chunks split anywhere,
 * output into the caller's buffer of any size, state kept in a small
 * structure.  Plain C99 without nginx headers, no allocation.
 *
 * Line ends, the policy against SMTP smuggling:
 *
 *   - DATA ends only at CR LF "." CR LF in the bytes the client sent;
 *     the CR LF that ended the DATA command counts, so ".\r\n" at once
 *     is an empty message.  <LF>.<LF>, <LF>.<CR><LF>, <CR><LF>.<LF>,
 *     <CR>.<CR>, <CR>.<LF>, <LF>.<CR> and every other mix of bare CR
 *     and LF never end the message.
 *
 *   - As Postfix 3.9 with "smtpd_forbid_bare_newline = normalize",
 *     a bare LF is stored as CR LF.  A bare CR (not followed by LF) is
 *     stored as CR LF too: stripping it could glue two lines into one
 *     (a header line onto the next, say), while CR LF keeps the line
 *     structure the client most probably meant.  So the stored message
 *     has no bare CR or LF at all, and whoever relays or serves it
 *     later, dot-stuffing on output, cannot be made to see an end or a
 *     second message in it.
 *
 *   - RFC 5321 4.5.2: a line that begins after a real CR LF and starts
 *     with "." loses that dot, whatever ends the line.  A line that
 *     begins after a bare CR or LF keeps its dot: "\n.\r\n" is stored
 *     as "\r\n.\r\n", content that a relay dot-stuffs on output.
 *
 *   - The final CR LF "." CR LF is not content, but its first CR LF is:
 *     the stored message ends with CR LF unless it is empty.
 *
 * Also for BDAT chunks (no dot processing, no end marker) the same
 * bare CR and LF normalisation, a CR at the end of one chunk and an LF
 * at the start of the next being one CR LF.  BODY=BINARYMIME content
 * must be copied as it is instead: RFC 3030 3 forbids changing it.
 */

#ifndef _NGX_MAIL_SMTPD_DATA_H_INCLUDED_
#define _NGX_MAIL_SMTPD_DATA_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#ifndef _NGX_MAIL_SMTPD_PARSE_CODES_
#define _NGX_MAIL_SMTPD_PARSE_CODES_

/* the values of NGX_OK, NGX_ERROR, NGX_AGAIN, NGX_DONE, NGX_DECLINED */
#define NGX_MAIL_SMTPD_PARSE_OK         0
#define NGX_MAIL_SMTPD_PARSE_ERROR     -1
#define NGX_MAIL_SMTPD_PARSE_AGAIN     -2
#define NGX_MAIL_SMTPD_PARSE_DONE      -4
#define NGX_MAIL_SMTPD_PARSE_DECLINED  -5

/* the layout of ngx_str_t, so that the caller may cast */
typedef struct {
    size_t                      len;
    const unsigned char        *data;
} ngx_mail_smtpd_str_t;

#endif


/* one input octet yields at most this much output: a bare CR's CR LF
 * and the octet after it */
#define NGX_MAIL_SMTPD_DATA_OUT_MIN  3


typedef struct {
    unsigned                    state;
    uint64_t                    max_size;  /* 0: no limit */
    uint64_t                    size;      /* decoded octets, stored or not */
    uint64_t                    stored;    /* octets written to output */
    unsigned                    eight_bit:1;
    unsigned                    bare_cr:1;
    unsigned                    bare_lf:1;
    unsigned                    too_big:1;  /* then reply 552 5.3.4 */
    unsigned                    done:1;
} ngx_mail_smtpd_data_t;


typedef struct {
    unsigned                    line_start:1;
} ngx_mail_smtpd_dotstuff_t;


/*
 * init: max_size is the largest message stored; the content beyond it
 * is read and discarded, and too_big set.
 *
 * decode (DATA) and bdat: read from "in", write to "out".  *consumed
 * and *written tell how much was used this call.
 *   PARSE_DONE   the end of data was read, *consumed counts its last
 *                LF; the rest of "in" is the next command's (DATA only)
 *   PARSE_AGAIN  all of "in" was consumed, more is needed
 *   PARSE_OK     "out" is full: flush it and call again with the rest
 *   PARSE_ERROR  out_size is below NGX_MAIL_SMTPD_DATA_OUT_MIN, or
 *                decode was called after PARSE_DONE
 * bdat_finish, after the LAST chunk: writes the CR LF of a CR held
 * back at the end of the last chunk (needs 2 octets of "out").
 */
void ngx_mail_smtpd_data_init(ngx_mail_smtpd_data_t *data,
    uint64_t max_size);
int ngx_mail_smtpd_data_decode(ngx_mail_smtpd_data_t *data,
    const unsigned char *in, size_t in_len, size_t *consumed,
    unsigned char *out, size_t out_size, size_t *written);
int ngx_mail_smtpd_bdat_decode(ngx_mail_smtpd_data_t *data,
    const unsigned char *in, size_t in_len, size_t *consumed,
    unsigned char *out, size_t out_size, size_t *written);
int ngx_mail_smtpd_bdat_finish(ngx_mail_smtpd_data_t *data,
    unsigned char *out, size_t out_size, size_t *written);

/*
 * RFC 5321 4.5.2, for sending stored content (whose line ends are all
 * CR LF): a "." at the start of a line is doubled.  PARSE_AGAIN when
 * "in" is consumed, PARSE_OK when "out" is full (needs at least 2
 * octets).  The caller ends the transfer with ".\r\n", preceded by
 * "\r\n" when line_start is 0 (content not ending with a line end).
 */
void ngx_mail_smtpd_dotstuff_init(ngx_mail_smtpd_dotstuff_t *ds);
int ngx_mail_smtpd_dotstuff(ngx_mail_smtpd_dotstuff_t *ds,
    const unsigned char *in, size_t in_len, size_t *consumed,
    unsigned char *out, size_t out_size, size_t *written);


#endif /* _NGX_MAIL_SMTPD_DATA_H_INCLUDED_ */
