
/*
 * libFuzzer target for the IMAP SEARCH compiler and matcher.
 *
 * The first octet chooses the metadata (flags, recent, the "*"
 * values); the rest is what a client sends after "tag SEARCH ".  It is
 * parsed by the command parser, literals taken inline, compiled, and
 * matched against a few fixed messages: encoded words, base64 and
 * quoted-printable parts, an attached message, no Date:, nothing at
 * all.  Besides the sanitizers the target checks that errors are
 * short printable texts, that a match is 0 or 1, and that a program
 * which says it needs only metadata gives the same answer without the
 * message's contents.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_imapd_parse.h"
#include "ngx_mail_imapd_search.h"


#define FUZZ_MAX_NODES   2048
#define FUZZ_MAX_LINE    8192
#define FUZZ_MAX_INLINE  4096


static const char  *fuzz_messages[] = {

    "Date: Tue, 1 Feb 1994 23:30:00 -0800\r\n"
    "From: =?ISO-8859-1?Q?Andr=E9?= Pirard <pirard@example.org>\r\n"
    "To: Bob <bob@example.com>,\r\n"
    " carol@example.net\r\n"
    "Subject: =?ISO-8859-1?Q?Caf=E9_=C0_la_cr=E8me?= =?UTF-8?B?w6k=?=\r\n"
    "X-Spam: yes\r\n"
    "\r\n"
    "Hello World, this is the body.\r\n",

    "From: alice@example.org\r\n"
    "Bcc: secret@example.org\r\n"
    "Subject: multipart test\r\n"
    "Date: Mon, 31 Dec 2012 23:59:59 +0000\r\n"
    "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n"
    "\r\n"
    "--XYZ\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "R3LDvMOfZSBhdXMgS8O2bG4g4oCUIM6RzpjOl86dzpEgxb90cmHDn2UNCg==\r\n"
    "--XYZ\r\n"
    "Content-Type: text/html; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<p>Cr=E8me br=FBl=E9e</p>\r\n"
    "--XYZ\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "\r\n"
    "inner body text\r\n"
    "--XYZ--\r\n",

    "From: someone@example.com\r\n"
    "Date: not a date\r\n"
    "\r\n"
    "short \xc3\x28 \xff\r\n",

    ""
};


static const char  *fuzz_flags[] = {
    "",
    "\\Seen \\Flagged $Junk",
    "\\Answered \\Deleted \\Draft Work",
    "  \\seen  "
};


static void
fuzz_check_error(const char *error)
{
    size_t  i, len;

    if (error == NULL) {
        abort();
    }

    len = strlen(error);

    if (len == 0 || len > 80) {
        abort();
    }

    for (i = 0; i < len; i++) {
        if (error[i] < 0x20 || error[i] > 0x7e) {
            abort();
        }
    }
}


static void
fuzz_match(const ngx_mail_imapd_search_t *search, unsigned choice,
    const mime_allocator_t *allocator)
{
    int                       rc, meta_rc;
    size_t                    i;
    ngx_mail_imapd_message_t  msg;

    for (i = 0; i < sizeof(fuzz_messages) / sizeof(fuzz_messages[0]); i++) {
        memset(&msg, 0, sizeof(ngx_mail_imapd_message_t));

        msg.seq = 1 + (uint32_t) i * 2;
        msg.uid = 10 + (uint32_t) i * 10 + (choice & 0x0f);
        msg.modseq = (uint64_t) i * 100 + (choice & 0x3f);
        msg.size = strlen(fuzz_messages[i]);
        msg.internaldate = 760174200 + (time_t) i * 300000000
                           - (time_t) (choice & 0x30) * 100000000;
        msg.flags = (const unsigned char *) fuzz_flags[(choice + i) & 3];
        msg.flags_len = strlen(fuzz_flags[(choice + i) & 3]);
        msg.recent = (choice >> (i & 7)) & 1;
        msg.data = (const unsigned char *) fuzz_messages[i];
        msg.len = strlen(fuzz_messages[i]);

        rc = ngx_mail_imapd_search_match(search, &msg, 7 + (choice >> 6),
                                         40 + (choice >> 4), allocator);

        if (rc != 0 && rc != 1) {
            abort();
        }

        if (ngx_mail_imapd_search_needs(search) != NGX_MAIL_IMAPD_NEED_META) {
            continue;
        }

        msg.data = NULL;
        msg.len = 0;

        meta_rc = ngx_mail_imapd_search_match(search, &msg,
                                              7 + (choice >> 6),
                                              40 + (choice >> 4),
                                              allocator);

        if (meta_rc != rc) {
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                           rc;
    size_t                        len;
    uint32_t                      first;
    const char                   *error;
    mime_arena_t                 *arena;
    unsigned char                *buf;
    mime_allocator_t              allocator;
    ngx_mail_imapd_search_t      *search;
    ngx_mail_imapd_parser_t       ps;
    ngx_mail_imapd_parse_conf_t   conf;

    static ngx_mail_imapd_node_t  nodes[FUZZ_MAX_NODES];
    static unsigned char          scratch[FUZZ_MAX_LINE];

    if (size < 1 || size > FUZZ_MAX_LINE) {
        return 0;
    }

    /* exactly the octets used, so that ASan sees any read past them */
    len = sizeof("A SEARCH ") - 1 + (size - 1) + 2;
    buf = malloc(len);

    if (buf == NULL) {
        abort();
    }

    memcpy(buf, "A SEARCH ", sizeof("A SEARCH ") - 1);
    memcpy(buf + sizeof("A SEARCH ") - 1, data + 1, size - 1);
    memcpy(buf + len - 2, "\r\n", 2);

    conf.max_line = FUZZ_MAX_LINE;
    conf.max_inline = FUZZ_MAX_INLINE;
    conf.max_depth = 100;
    conf.literal_plus = NGX_MAIL_IMAPD_LITERAL_PLUS;

    memset(&ps, 0, sizeof(ngx_mail_imapd_parser_t));
    ps.conf = &conf;
    ps.nodes = nodes;
    ps.max_nodes = FUZZ_MAX_NODES;
    ps.scratch = scratch;
    ps.scratch_size = sizeof(scratch);

    ngx_mail_imapd_parse_init(&ps);

    do {
        rc = ngx_mail_imapd_parse_command(&ps, buf, buf + len);
    } while (rc == NGX_MAIL_IMAPD_PARSE_LITERAL && ps.literal.inline_ok);

    if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
        free(buf);
        return 0;
    }

    arena = mime_arena_create(0);

    if (arena == NULL) {
        abort();
    }

    mime_arena_allocator(arena, &allocator);

    first = ps.nnodes ? 0 : NGX_MAIL_IMAPD_NODE_NONE;

    rc = ngx_mail_imapd_search_compile(nodes, first, &allocator, &search,
                                       &error);

    switch (rc) {

    case NGX_MAIL_IMAPD_PARSE_OK:
        if (search == NULL) {
            abort();
        }

        /* the program must not point into the command buffer */
        memset(buf, 'x', len);
        free(buf);
        buf = NULL;

        fuzz_match(search, data[0], &allocator);
        break;

    case NGX_MAIL_IMAPD_PARSE_ERROR:
    case NGX_MAIL_IMAPD_PARSE_DECLINED:
        fuzz_check_error(error);
        break;

    default:
        abort();
    }

    mime_arena_destroy(arena);
    free(buf);

    return 0;
}
