
/*
 * One message of the selected mailbox as FETCH and SEARCH see it: what
 * the session loaded from Redis (msg:{A}:N:U and, when needed, the
 * blob), in plain C so that the FETCH writer and the SEARCH matcher
 * build and are tested without nginx.
 */

#ifndef _NGX_MAIL_IMAPD_MESSAGE_H_INCLUDED_
#define _NGX_MAIL_IMAPD_MESSAGE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <time.h>


/* what a command needs of each message, besides the msg hash */
#define NGX_MAIL_IMAPD_NEED_META     0x00   /* flags, size, dates, modseq */
#define NGX_MAIL_IMAPD_NEED_CONTENT  0x01   /* the header at least */
#define NGX_MAIL_IMAPD_NEED_BODY     0x03   /* the body too: CONTENT|0x02 */


typedef struct {
    uint32_t                    seq;       /* message sequence number */
    uint32_t                    uid;
    uint64_t                    modseq;    /* RFC 7162 */
    uint64_t                    size;      /* RFC822.SIZE: CRLF octets */
    time_t                      internaldate;  /* Unix time, UTC */

    /* the stored flags: space-separated, e.g. "\Seen \Flagged $Junk" */
    const unsigned char        *flags;
    size_t                      flags_len;
    unsigned                    recent:1;  /* \Recent in this session */

    /* the message, with CRLF line ends; NULL unless NEED_CONTENT */
    const unsigned char        *data;
    size_t                      len;
} ngx_mail_imapd_message_t;


#endif /* _NGX_MAIL_IMAPD_MESSAGE_H_INCLUDED_ */
