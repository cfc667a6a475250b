
/*
 * The POP3 command line: the keyword and its argument (RFC 1939 3,
 * RFC 2449 3), and the message numbers and line counts of LIST, UIDL,
 * RETR, DELE and TOP (RFC 1939 5 and 7).
 *
 * Plain C99 without nginx headers, so that the unit tests and the
 * fuzzer build it alone: no allocation, no global state, never a byte
 * read outside the buffer given.  The caller passes one line without
 * its CRLF, already bounded by the session's line limit; strings in the
 * results point into that line.
 */

#ifndef _NGX_MAIL_POP3D_PARSE_H_INCLUDED_
#define _NGX_MAIL_POP3D_PARSE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* the values of NGX_OK and NGX_ERROR */
#define NGX_MAIL_POP3D_PARSE_OK      0
#define NGX_MAIL_POP3D_PARSE_ERROR  -1


/* RFC 1939 3: "Keywords are three or four characters long" */
#define NGX_MAIL_POP3D_VERB_MIN      3
#define NGX_MAIL_POP3D_VERB_MAX      4

/*
 * A message number or a line count: at most 10 digits and at most
 * 2^31-1, so that it fits ngx_int_t and int on every platform.
 */
#define NGX_MAIL_POP3D_NUMBER_DIGITS 10
#define NGX_MAIL_POP3D_NUMBER_MAX    2147483647


/* the layout of ngx_str_t, so that the caller may copy it over */
typedef struct {
    size_t                      len;
    const unsigned char        *data;
} ngx_mail_pop3d_str_t;


/*
 * "verb" gets the keyword, 3 or 4 ASCII letters in any case; "arg" the
 * rest of the line after exactly one SP, taken whole (PASS may contain
 * spaces), empty when the line is the keyword alone.  PARSE_ERROR for
 * an empty line, a keyword of other than 3 or 4 letters, a keyword
 * followed by anything but SP, and a NUL anywhere in the line.
 */
int ngx_mail_pop3d_parse_command(const unsigned char *line, size_t len,
    ngx_mail_pop3d_str_t *verb, ngx_mail_pop3d_str_t *arg);

/*
 * A message number or a line count: decimal digits only, no sign, at
 * most NUMBER_DIGITS of them and at most NUMBER_MAX; 0 is returned as
 * such, for the caller to refuse.  With "rest" NULL the number must be
 * the whole argument.  Otherwise it ends at the end of the argument or
 * at one SP, and "rest" gets what follows that SP (TOP msg n), empty
 * when nothing does.
 */
int ngx_mail_pop3d_parse_msg_number(const unsigned char *arg, size_t len,
    uint32_t *number, ngx_mail_pop3d_str_t *rest);


#endif /* _NGX_MAIL_POP3D_PARSE_H_INCLUDED_ */
