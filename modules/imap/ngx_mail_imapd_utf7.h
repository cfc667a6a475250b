
/*
 * Mailbox names in modified UTF-7 (RFC 3501 5.1.3), to and from UTF-8.
 *
 * Plain C99 without nginx headers, so that the unit tests and the
 * fuzzer build it alone: no allocation, no global state.  Both
 * directions validate fully and accept only the canonical form, so
 * that every name has exactly one spelling on the wire:
 * encode(decode(x)) == x for every x that decodes.
 *
 * Decoding refuses: octets outside printable US-ASCII; "&" not followed
 * by "-" or a base64 run ending in "-" (unterminated, or a character
 * outside "A-Za-z0-9+,"); a run that encodes a printable US-ASCII
 * character (RFC 3501: those represent themselves), a control
 * character (U+0000-U+001F, U+007F: nothing but trouble in a name that
 * is logged and listed), or nothing ("&-" is "&" itself); two runs
 * in a row ("&AOk-&AOk-" is "&AOkA6Q-"); a run with a partial UTF-16
 * unit or non-zero padding bits; a lone or reversed UTF-16 surrogate.
 *
 * Encoding refuses invalid UTF-8 (overlong forms, surrogates, code
 * points over U+10FFFF, truncated sequences) and control characters.
 */

#ifndef _NGX_MAIL_IMAPD_UTF7_H_INCLUDED_
#define _NGX_MAIL_IMAPD_UTF7_H_INCLUDED_


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


/*
 * Output sizes that always suffice: a base64 run of 16 characters is 6
 * UTF-16 units, at most 18 octets of UTF-8; a 2-octet UTF-8 character
 * alone is "&" 3 characters "-".
 */
#define ngx_mail_imapd_utf7_decoded_max(len)  ((len) + (len) / 8 + 1)
#define ngx_mail_imapd_utf7_encoded_max(len)  ((len) / 2 * 5 + 5)


/*
 * PARSE_OK with *written octets in dst; PARSE_ERROR for invalid input;
 * PARSE_DECLINED when dst is too small (see the _max() macros).
 */
int ngx_mail_imapd_utf7_decode(const unsigned char *src, size_t len,
    unsigned char *dst, size_t size, size_t *written);
int ngx_mail_imapd_utf7_encode(const unsigned char *src, size_t len,
    unsigned char *dst, size_t size, size_t *written);


#endif /* _NGX_MAIL_IMAPD_UTF7_H_INCLUDED_ */
