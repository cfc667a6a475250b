
/*
 * The replies of a remote SMTP server, as the delivery queue's client
 * reads them: RFC 5321 4.2 reply lines ("250-..." continued, "250 ..."
 * last), the enhanced status codes of RFC 3463 / RFC 2034, and the
 * service extensions an EHLO reply announces (RFC 5321 4.1.1.1).
 *
 * Plain C99 without nginx headers, so that the unit tests and the
 * fuzzers build it alone: no allocation, no global state, never a byte
 * read outside the buffer given.  The peer is not trusted: every size
 * is bounded, and a reply that breaks the grammar is an error with a
 * reason, never a guess.
 *
 * The parser is incremental and keeps what it needs in the structure,
 * so the caller may feed the octets in any pieces, as they arrive, and
 * the result is the same however the input was cut:
 *
 *     ngx_mail_queue_reply_init(r, 0);
 *     rc = ngx_mail_queue_reply_parse(r, in, len, &consumed);
 *
 *   PARSE_OK     the reply is complete: r->code, r->text, r->enhanced,
 *                and for an EHLO reply r->extensions.  "consumed" counts
 *                the octets up to its last LF; the rest of "in" is the
 *                next reply's (PIPELINING): init again and go on.
 *   PARSE_AGAIN  all of "in" was used, the reply is not complete yet.
 *   PARSE_ERROR  the reply is malformed or too big: r->error, and
 *                ngx_mail_queue_reply_strerror() for the log.  The
 *                connection cannot be trusted to be in step any more:
 *                the caller gives up on it (QUIT is pointless).
 *
 * Once complete or failed, further calls return the same and consume
 * nothing.
 *
 * What is tolerated: an LF without CR ends a line as Postfix's client
 * accepts it; 8-bit text (SMTPUTF8 servers send UTF-8); other control
 * characters in the text, kept as "?" so that logs and bounces stay
 * readable.  What is not: a NUL, a CR not followed by LF, a reply code
 * outside RFC 5321's "2-5, 0-5, 0-9", a fourth character other than
 * SP, "-" or the line end, and a code that changes between lines.
 */

#ifndef _NGX_MAIL_QUEUE_REPLY_H_INCLUDED_
#define _NGX_MAIL_QUEUE_REPLY_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#ifndef _NGX_MAIL_QUEUE_PARSE_CODES_
#define _NGX_MAIL_QUEUE_PARSE_CODES_

/* the values of NGX_OK, NGX_ERROR, NGX_AGAIN, NGX_DONE, NGX_DECLINED */
#define NGX_MAIL_QUEUE_PARSE_OK         0
#define NGX_MAIL_QUEUE_PARSE_ERROR     -1
#define NGX_MAIL_QUEUE_PARSE_AGAIN     -2
#define NGX_MAIL_QUEUE_PARSE_DONE      -4
#define NGX_MAIL_QUEUE_PARSE_DECLINED  -5

/* the layout of ngx_str_t, so that the caller may cast */
typedef struct {
    size_t                      len;
    const unsigned char        *data;
} ngx_mail_queue_str_t;

#endif


/*
 * RFC 5321 4.5.3.1.5 allows 512 octets per reply line with its CRLF;
 * real servers exceed that a little (long AUTH lists, banners), so
 * twice as much is accepted.  100 lines and 16 KB are far beyond any
 * honest EHLO reply and keep a hostile peer from feeding us forever.
 */
#define NGX_MAIL_QUEUE_REPLY_LINE_MAX   1024
#define NGX_MAIL_QUEUE_REPLY_LINES_MAX  100
#define NGX_MAIL_QUEUE_REPLY_BYTES_MAX  16384

/* the reply's text kept for logs and a bounce's Diagnostic-Code */
#define NGX_MAIL_QUEUE_REPLY_TEXT_MAX   1024

/* "5.1.10" and the like, with room for the NUL */
#define NGX_MAIL_QUEUE_STATUS_LEN       12

/* ngx_mail_queue_reply_init() flags */
#define NGX_MAIL_QUEUE_REPLY_EHLO       0x01

/* r->extensions: the EHLO keywords understood */
#define NGX_MAIL_QUEUE_EXT_PIPELINING   0x0001  /* RFC 2920 */
#define NGX_MAIL_QUEUE_EXT_SIZE         0x0002  /* RFC 1870 */
#define NGX_MAIL_QUEUE_EXT_8BITMIME     0x0004  /* RFC 6152 */
#define NGX_MAIL_QUEUE_EXT_SMTPUTF8     0x0008  /* RFC 6531 */
#define NGX_MAIL_QUEUE_EXT_DSN          0x0010  /* RFC 3461 */
#define NGX_MAIL_QUEUE_EXT_STARTTLS     0x0020  /* RFC 3207 */
#define NGX_MAIL_QUEUE_EXT_AUTH         0x0040  /* RFC 4954 */
#define NGX_MAIL_QUEUE_EXT_ENHANCEDSTATUSCODES  0x0080  /* RFC 2034 */
#define NGX_MAIL_QUEUE_EXT_CHUNKING     0x0100  /* RFC 3030 */
#define NGX_MAIL_QUEUE_EXT_BINARYMIME   0x0200  /* RFC 3030 */

/* r->auth: the SASL mechanisms of the AUTH keyword we know */
#define NGX_MAIL_QUEUE_AUTH_PLAIN       0x0001
#define NGX_MAIL_QUEUE_AUTH_LOGIN       0x0002
#define NGX_MAIL_QUEUE_AUTH_CRAM_MD5    0x0004
#define NGX_MAIL_QUEUE_AUTH_SCRAM_SHA_1    0x0008
#define NGX_MAIL_QUEUE_AUTH_SCRAM_SHA_256  0x0010
#define NGX_MAIL_QUEUE_AUTH_XOAUTH2     0x0020
#define NGX_MAIL_QUEUE_AUTH_EXTERNAL    0x0040


typedef enum {
    NGX_MAIL_QUEUE_REPLY_ERR_NONE = 0,
    NGX_MAIL_QUEUE_REPLY_ERR_CODE,         /* not three valid digits */
    NGX_MAIL_QUEUE_REPLY_ERR_SEPARATOR,    /* not SP, "-" or line end */
    NGX_MAIL_QUEUE_REPLY_ERR_INCONSISTENT, /* code differs between lines */
    NGX_MAIL_QUEUE_REPLY_ERR_NUL,
    NGX_MAIL_QUEUE_REPLY_ERR_BARE_CR,
    NGX_MAIL_QUEUE_REPLY_ERR_LINE_TOO_LONG,
    NGX_MAIL_QUEUE_REPLY_ERR_TOO_MANY_LINES,
    NGX_MAIL_QUEUE_REPLY_ERR_TOO_LONG      /* BYTES_MAX in all */
} ngx_mail_queue_reply_error_e;


typedef struct {
    /* the result, valid on PARSE_OK */
    unsigned                    code;          /* 200 .. 559 */
    unsigned                    lines;
    size_t                      bytes;         /* all octets, CRLFs too */

    /*
     * RFC 3463: the first line's enhanced status code, when its class
     * agrees with the reply code's first digit; "enhanced" points into
     * enhanced_buf.  Not looked for in EHLO replies (RFC 2034 3).
     */
    unsigned                    enhanced_class;
    unsigned                    enhanced_subject;
    unsigned                    enhanced_detail;
    ngx_mail_queue_str_t        enhanced;

    /*
     * The text of all lines without code and enhanced code, joined by
     * one space, cut at TEXT_MAX octets (text_truncated set).
     */
    ngx_mail_queue_str_t        text;

    /* EHLO, when the reply is 250; "size" 0 means no limit announced */
    unsigned                    extensions;
    unsigned                    auth;
    uint64_t                    size;

    ngx_mail_queue_reply_error_e  error;

    unsigned                    has_enhanced:1;
    unsigned                    text_truncated:1;

    /* the parser's state */
    unsigned                    state;
    unsigned                    flags;
    unsigned                    line_code;
    size_t                      line_bytes;    /* octets of this line */
    size_t                      line_len;      /* its text in line[] */
    unsigned                    last:1;        /* this line is the last */
    unsigned                    done:1;

    unsigned char               line[NGX_MAIL_QUEUE_REPLY_LINE_MAX];
    unsigned char               text_buf[NGX_MAIL_QUEUE_REPLY_TEXT_MAX];
    unsigned char               enhanced_buf[NGX_MAIL_QUEUE_STATUS_LEN];
} ngx_mail_queue_reply_t;


void ngx_mail_queue_reply_init(ngx_mail_queue_reply_t *r, unsigned flags);
int ngx_mail_queue_reply_parse(ngx_mail_queue_reply_t *r,
    const unsigned char *in, size_t len, size_t *consumed);
const char *ngx_mail_queue_reply_strerror(ngx_mail_queue_reply_error_e err);

/*
 * The RFC 3464 Status of a complete reply, NUL-terminated into "buf"
 * (NGX_MAIL_QUEUE_STATUS_LEN octets): the enhanced code when the server
 * sent one, else "X.0.0" from the reply code's class, as RFC 3463 3.1
 * has it for "other or undefined status".  Returns its length.
 */
size_t ngx_mail_queue_reply_status(const ngx_mail_queue_reply_t *r,
    char *buf);


#endif /* _NGX_MAIL_QUEUE_REPLY_H_INCLUDED_ */
