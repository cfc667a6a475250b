
/*
 * Unit tests of the IMAP SEARCH compiler and matcher, printing TAP for
 * t/imap-06-search-unit.t.
 *
 * Each test is what a client sends after "tag SEARCH", run through the
 * command parser, compiled, and matched against one of a few messages
 * whose metadata and contents are below.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ngx_mail_imapd_parse.h"
#include "ngx_mail_imapd_search.h"


#define BUF_MAX      (1 << 17)
#define NODES_MAX    4096


static unsigned  tests;
static unsigned  failed;


static void
ok(int cond, const char *fmt, ...)
{
    va_list  ap;

    tests++;

    if (!cond) {
        failed++;
    }

    printf("%sok %u - ", cond ? "" : "not ", tests);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}


/* a command for a test's name: one line, not too long */

static const char *
name(const char *args)
{
    size_t       n;
    const char  *p;
    static char  text[128];

    n = 0;

    for (p = args; *p && n < 80; p++) {
        if (*p == '\r' || *p == '\n') {
            text[n++] = '\\';
            text[n++] = (*p == '\r') ? 'r' : 'n';

        } else {
            text[n++] = *p;
        }
    }

    if (*p) {
        memcpy(text + n, "...", 3);
        n += 3;
    }

    text[n] = '\0';

    return text;
}


/* the messages */

/* Date as written is 1 Feb 1994; in UTC it is already 2 Feb */
static const char  msg_simple[] =
    "Date: Tue, 1 Feb 1994 23:30:00 -0800\r\n"
    "From: =?ISO-8859-1?Q?Andr=E9?= Pirard <pirard@example.org>\r\n"
    "To: Bob <bob@example.com>,\r\n"
    " carol@example.net\r\n"
    "Cc: dave@example.com\r\n"
    "Subject: =?ISO-8859-1?Q?Caf=E9_=C0_la_cr=E8me?=\r\n"
    "X-Spam: yes\r\n"
    "X-Empty:\r\n"
    "Message-ID: <1@example.org>\r\n"
    "\r\n"
    "Hello World, this is the body.\r\n"
    "aaab and abab\r\n";

static const char  msg_multi[] =
    "From: alice@example.org\r\n"
    "To: undisclosed-recipients:;\r\n"
    "Bcc: secret@example.org\r\n"
    "Subject: multipart test\r\n"
    "Date: Mon, 31 Dec 2012 23:59:59 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n"
    "\r\n"
    "preamble is not text\r\n"
    "--XYZ\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "R3LDvMOfZSBhdXMgS8O2bG4g4oCUIM6RzpjOl86dzpEgxb90cmHDn2UNCg==\r\n"
    "--XYZ\r\n"
    "Content-Type: text/html; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<p>Cr=E8me br=FBl=E9e, soft=\r\n"
    "break</p>\r\n"
    "--XYZ\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "From: inner@example.com\r\n"
    "\r\n"
    "inner body text zebra\r\n"
    "--XYZ\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "aGlkZGVuIGF0dGFjaG1lbnQgbmVlZGxlDQo=\r\n"
    "--XYZ--\r\n";

static const char  msg_nodate[] =
    "From: someone@example.com\r\n"
    "Date: not a date at all\r\n"
    "\r\n"
    "short\r\n";


/* RFC 6532 UTF-8 in a header, and letters to fold beyond Latin-1 */
static const char  msg_intl[] =
    "Subject: \xc5\x81\xc3\x93" "D\xc5\xb9 \xd0\x9f\xd1\x80\xd0\xb8"
    "\xd0\xb2\xd0\xb5\xd1\x82\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91 \xc5\xb8 \xc2\xb5 "
    "\xd0\x81\r\n";


static ngx_mail_imapd_message_t  messages[6];

enum { SIMPLE = 0, MULTI, NODATE, META, EMPTY, INTL };


static void
messages_init(void)
{
    ngx_mail_imapd_message_t  *m;

    m = &messages[SIMPLE];
    m->seq = 3;
    m->uid = 30;
    m->modseq = 500;
    m->size = 1234;
    m->internaldate = 760174200;           /* 2-Feb-1994 07:30 UTC */
    m->flags = (const unsigned char *) "\\Seen \\Flagged $Junk";
    m->flags_len = strlen((const char *) m->flags);
    m->recent = 0;
    m->data = (const unsigned char *) msg_simple;
    m->len = sizeof(msg_simple) - 1;

    m = &messages[MULTI];
    m->seq = 7;
    m->uid = 70;
    m->modseq = 10;
    m->size = 5000;
    m->internaldate = 1356998400;          /* 1-Jan-2013 00:00 UTC */
    m->flags = (const unsigned char *) "";
    m->flags_len = 0;
    m->recent = 1;
    m->data = (const unsigned char *) msg_multi;
    m->len = sizeof(msg_multi) - 1;

    m = &messages[NODATE];
    m->seq = 1;
    m->uid = 5;
    m->modseq = 1;
    m->size = 100;
    m->internaldate = 951825600;           /* 29-Feb-2000 12:00 UTC */
    m->flags = (const unsigned char *) "  \\Answered \\Deleted \\Draft Work ";
    m->flags_len = strlen((const char *) m->flags);
    m->recent = 1;
    m->data = (const unsigned char *) msg_nodate;
    m->len = sizeof(msg_nodate) - 1;

    /* the caller said META: no contents */
    m = &messages[META];
    *m = messages[SIMPLE];
    m->data = NULL;
    m->len = 0;

    m = &messages[EMPTY];
    m->seq = 2;
    m->uid = 20;
    m->modseq = 9223372036854775807ULL;
    m->size = 0;
    m->internaldate = -3600;               /* 31-Dec-1969 23:00 UTC */
    m->flags = NULL;
    m->flags_len = 0;
    m->recent = 0;
    m->data = (const unsigned char *) "";
    m->len = 0;

    m = &messages[INTL];
    *m = messages[NODATE];
    m->data = (const unsigned char *) msg_intl;
    m->len = sizeof(msg_intl) - 1;
}


/* parsing and compiling */

static ngx_mail_imapd_parse_conf_t  conf;
static ngx_mail_imapd_node_t        nodes[NODES_MAX];
static unsigned char                scratch[BUF_MAX];
static unsigned char                buf[BUF_MAX];
static ngx_mail_imapd_parser_t      ps;

static mime_arena_t                *arena;
static mime_allocator_t             allocator;


static void
arena_reset(void)
{
    mime_arena_destroy(arena);
    arena = mime_arena_create(0);
    mime_arena_allocator(arena, &allocator);
}


/* "args" after "A SEARCH "; literals are taken inline */

static int
compile(const char *args, ngx_mail_imapd_search_t **search,
    const char **error)
{
    int       rc;
    size_t    len;
    uint32_t  first;

    len = (size_t) snprintf((char *) buf, BUF_MAX, "A SEARCH %s\r\n", args);

    conf.max_line = BUF_MAX / 2;
    conf.max_inline = BUF_MAX / 2;
    conf.max_depth = 200;
    conf.literal_plus = NGX_MAIL_IMAPD_LITERAL_PLUS;

    ps.conf = &conf;
    ps.nodes = nodes;
    ps.max_nodes = NODES_MAX;
    ps.scratch = scratch;
    ps.scratch_size = sizeof(scratch);

    ngx_mail_imapd_parse_init(&ps);

    do {
        rc = ngx_mail_imapd_parse_command(&ps, buf, buf + len);
    } while (rc == NGX_MAIL_IMAPD_PARSE_LITERAL && ps.literal.inline_ok);

    if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
        *error = "parser refused";
        return 100;
    }

    arena_reset();

    /* "A SEARCH" alone has no node at all */
    first = ps.nnodes ? 0 : NGX_MAIL_IMAPD_NODE_NONE;

    return ngx_mail_imapd_search_compile(nodes, first, &allocator, search,
                                         error);
}


/* what "*" stands for: the largest sequence number and UID */
static uint32_t  star_seq = 9;
static uint32_t  star_uid = 90;


static void
star(uint32_t seq, uint32_t uid)
{
    star_seq = seq;
    star_uid = uid;
}


static int
match(const char *args, unsigned msg)
{
    int                       rc;
    const char               *error;
    ngx_mail_imapd_search_t  *search;

    rc = compile(args, &search, &error);

    if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
        printf("# compile \"%s\": %d %s\n", name(args), rc, error);
        return -100;
    }

    return ngx_mail_imapd_search_match(search, &messages[msg], star_seq,
                                       star_uid, &allocator);
}


static void
yes(const char *args, unsigned msg)
{
    int  rc;

    rc = match(args, msg);
    ok(rc == 1, "%s: matches message %u", name(args), msg);
}


static void
no(const char *args, unsigned msg)
{
    int  rc;

    rc = match(args, msg);
    ok(rc == 0, "%s: does not match message %u", name(args), msg);
}


static void
bad(const char *args, int expect, const char *expect_error)
{
    int                       rc;
    const char               *error;
    ngx_mail_imapd_search_t  *search;

    rc = compile(args, &search, &error);

    ok(rc == expect && error != NULL && strcmp(error, expect_error) == 0,
       "%s: %s", name(args), expect_error);

    if (rc != expect || error == NULL || strcmp(error, expect_error) != 0) {
        printf("#   got %d \"%s\"\n", rc, error ? error : "(null)");
    }
}


static void
test_flags(void)
{
    yes("ALL", SIMPLE);
    yes("all", EMPTY);
    yes("SEEN", SIMPLE);
    no("SEEN", MULTI);
    no("UNSEEN", SIMPLE);
    yes("UNSEEN", MULTI);
    yes("FLAGGED", SIMPLE);
    no("UNFLAGGED", SIMPLE);
    yes("UNFLAGGED", NODATE);
    yes("ANSWERED", NODATE);
    no("ANSWERED", SIMPLE);
    yes("UNANSWERED", SIMPLE);
    yes("DELETED", NODATE);
    yes("UNDELETED", SIMPLE);
    yes("DRAFT", NODATE);
    no("DRAFT", MULTI);
    yes("UNDRAFT", MULTI);
    yes("KEYWORD $Junk", SIMPLE);
    yes("KEYWORD $junk", SIMPLE);
    no("KEYWORD $Jun", SIMPLE);
    no("KEYWORD Junk", SIMPLE);
    yes("KEYWORD work", NODATE);
    no("UNKEYWORD work", NODATE);
    yes("UNKEYWORD work", SIMPLE);
    yes("UNKEYWORD x", EMPTY);
    no("KEYWORD x", EMPTY);
    yes("KEYWORD \\seen", SIMPLE);
    no("SEEN", EMPTY);

    yes("RECENT", MULTI);
    no("RECENT", SIMPLE);
    yes("OLD", SIMPLE);
    no("OLD", MULTI);
    yes("NEW", MULTI);
    no("NEW", SIMPLE);
    yes("NEW", NODATE);
    yes("NOT NEW", SIMPLE);
}


static void
test_sizes(void)
{
    yes("LARGER 1233", SIMPLE);
    no("LARGER 1234", SIMPLE);
    yes("SMALLER 1235", SIMPLE);
    no("SMALLER 1234", SIMPLE);
    no("SMALLER 0", EMPTY);
    no("LARGER 0", EMPTY);
    yes("SMALLER 1", EMPTY);
    no("LARGER 9223372036854775807", SIMPLE);

    yes("MODSEQ 500", SIMPLE);
    no("MODSEQ 501", SIMPLE);
    yes("MODSEQ 0", MULTI);
    yes("MODSEQ \"/flags/\\\\Seen\" all 400", SIMPLE);
    yes("MODSEQ \"/flags/$Junk\" priv 499", SIMPLE);
    no("MODSEQ \"/flags/$Junk\" SHARED 501", SIMPLE);
    yes("MODSEQ 9223372036854775807", EMPTY);
}


static void
test_sequences(void)
{
    /* messages[SIMPLE]: seq 3, uid 30; star_seq 9, star_uid 90 */
    yes("3", SIMPLE);
    no("4", SIMPLE);
    yes("1:5", SIMPLE);
    yes("5:1", SIMPLE);
    yes("1,3,5", SIMPLE);
    no("1,2,4:8", SIMPLE);
    yes("*:3", SIMPLE);
    no("*:4", SIMPLE);
    yes("2:*", SIMPLE);
    no("*", SIMPLE);
    no("*", MULTI);
    no("9:*", SIMPLE);
    yes("7:*", MULTI);
    no("*:100", MULTI);
    yes("*:5", MULTI);
    no("8:*", MULTI);
    star(7, 70);
    yes("*", MULTI);
    yes("*:100", MULTI);
    yes("100:*", MULTI);
    yes("8:*", MULTI);
    no("*:6", SIMPLE);
    yes("UID 100:*", MULTI);
    yes("UID *", MULTI);
    yes("UID 71:*,1:2", MULTI);
    no("UID 69:*,1:2", SIMPLE);
    star(9, 90);
    yes("UID 30", SIMPLE);
    no("UID 3", SIMPLE);
    yes("UID 1:*", SIMPLE);
    yes("UID 31:*,1:30", SIMPLE);
    no("UID 31:*", SIMPLE);
    /* RFC 3501 6.4.8: "100:*" holds the last UID even if below 100 */
    no("UID 100:*", MULTI);
    yes("UID 50:*", MULTI);
    no("UID 100:*", SIMPLE);
    yes("UID 30,*", SIMPLE);
    no("UID *", SIMPLE);
    yes("uid 4,10:20,30:30,40", SIMPLE);
    yes("(3 UID 30)", SIMPLE);
    no("3 UID 31", SIMPLE);
}


static void
test_dates(void)
{
    /* internal date 2-Feb-1994 07:30 UTC */
    yes("ON 2-Feb-1994", SIMPLE);
    yes("ON \"02-feb-1994\"", SIMPLE);
    no("ON 1-Feb-1994", SIMPLE);
    no("ON 3-Feb-1994", SIMPLE);
    yes("BEFORE 3-Feb-1994", SIMPLE);
    no("BEFORE 2-Feb-1994", SIMPLE);
    yes("SINCE 2-Feb-1994", SIMPLE);
    no("SINCE 3-Feb-1994", SIMPLE);
    yes("SINCE 1-Jan-1970", SIMPLE);

    /* 1-Jan-2013 00:00:00 exactly */
    yes("ON 1-Jan-2013", MULTI);
    no("ON 31-Dec-2012", MULTI);
    yes("SINCE 1-Jan-2013", MULTI);
    yes("BEFORE 2-Jan-2013", MULTI);
    no("BEFORE 1-Jan-2013", MULTI);

    /* leap day, and a time before 1970 */
    yes("ON 29-Feb-2000", NODATE);
    yes("ON 31-Dec-1969", EMPTY);
    yes("BEFORE 1-Jan-1970", EMPTY);

    /* Date: "Tue, 1 Feb 1994 23:30:00 -0800": the day as written */
    yes("SENTON 1-Feb-1994", SIMPLE);
    no("SENTON 2-Feb-1994", SIMPLE);
    yes("SENTBEFORE 2-Feb-1994", SIMPLE);
    no("SENTBEFORE 1-Feb-1994", SIMPLE);
    yes("SENTSINCE 1-Feb-1994", SIMPLE);
    no("SENTSINCE 2-Feb-1994", SIMPLE);
    yes("SENTON 31-Dec-2012", MULTI);
    no("SENTON 1-Jan-2013", MULTI);

    /* no usable Date: the internal date */
    yes("SENTON 29-Feb-2000", NODATE);
    yes("SENTON 31-Dec-1969", EMPTY);
    yes("SENTON 2-Feb-1994", META);
}


static void
test_strings(void)
{
    yes("FROM pirard", SIMPLE);
    yes("FROM \"andré\"", SIMPLE);
    yes("FROM \"ANDRÉ PIRARD\"", SIMPLE);
    yes("FROM EXAMPLE.ORG", SIMPLE);
    no("FROM bob", SIMPLE);
    yes("TO bob", SIMPLE);
    yes("TO carol@example.net", SIMPLE);
    yes("TO \"com>, carol\"", SIMPLE);
    no("TO dave", SIMPLE);
    yes("CC dave", SIMPLE);
    no("CC dave", MULTI);
    yes("BCC secret", MULTI);
    no("BCC secret", SIMPLE);
    yes("SUBJECT \"café\"", SIMPLE);
    yes("SUBJECT \"CAFÉ À LA CRÈME\"", SIMPLE);
    yes("SUBJECT \"à la\"", SIMPLE);
    no("SUBJECT \"a la\"", SIMPLE);
    no("SUBJECT =?ISO", SIMPLE);
    yes("SUBJECT {5+}\r\ncafé", SIMPLE);
    yes("SUBJECT {6}\r\ncrème", SIMPLE);
    yes("SUBJECT multipart", MULTI);
    no("SUBJECT inner", MULTI);
    yes("SUBJECT \"\"", SIMPLE);
    no("SUBJECT \"\"", NODATE);

    yes("HEADER X-Spam yes", SIMPLE);
    yes("HEADER x-spam \"\"", SIMPLE);
    yes("HEADER x-empty \"\"", SIMPLE);
    no("HEADER x-empty x", SIMPLE);
    no("HEADER X-Spam \"\"", MULTI);
    no("HEADER X-Spam no", SIMPLE);
    yes("HEADER Message-ID \"<1@example.org>\"", SIMPLE);
    yes("HEADER \"subject\" \"crème\"", SIMPLE);
    yes("HEADER content-type mixed", MULTI);

    yes("BODY \"hello world\"", SIMPLE);
    yes("BODY body.", SIMPLE);
    no("BODY pirard", SIMPLE);
    yes("BODY aab", SIMPLE);
    yes("BODY abab", SIMPLE);
    no("BODY abac", SIMPLE);
    yes("BODY \"\"", EMPTY);
    no("BODY x", EMPTY);

    /* base64 UTF-8, folded: "Grüße aus Köln — ΑΘΗΝΑ ſtraße" */
    /* simple folding: "ß" stays, it is not "ss" */
    no("BODY \"GRÜSSE\"", MULTI);
    yes("BODY \"grüße\"", MULTI);
    yes("BODY \"GRÜßE AUS KÖLN\"", MULTI);
    yes("BODY \"αθηνα\"", MULTI);
    yes("BODY \"— Αθ\"", MULTI);
    yes("BODY \"straße\"", MULTI);
    /* quoted-printable Latin-1 HTML */
    yes("BODY \"crème brûlée\"", MULTI);
    yes("BODY softbreak", MULTI);
    yes("BODY \"<p>\"", MULTI);
    /*
     * an attached message's text and its header (part of the body it
     * is attached to, RFC 3501 6.4.4), not the message's own header;
     * no attachments
     */
    yes("BODY zebra", MULTI);
    yes("BODY \"inner@example.com\"", MULTI);
    yes("BODY \"subject: inner\"", MULTI);
    no("HEADER from \"inner@example.com\"", MULTI);
    no("BODY preamble", MULTI);
    no("BODY needle", MULTI);
    no("BODY multipart", MULTI);

    yes("TEXT multipart", MULTI);
    yes("TEXT \"subject: multi\"", MULTI);
    yes("TEXT zebra", MULTI);
    yes("TEXT \"x-spam: yes\"", SIMPLE);
    yes("TEXT \"crème\"", SIMPLE);
    yes("TEXT hello", SIMPLE);
    no("TEXT nowhere", SIMPLE);
    yes("TEXT \"\"", EMPTY);

    /* Latin Extended-A, Cyrillic, Greek, Y diaeresis, micro sign */
    yes("SUBJECT \"\xc5\x82\xc3\xb3" "d\xc5\xba\"", INTL);
    yes("SUBJECT \"\xd0\xbf\xd0\xa0\xd0\x98\xd0\x92\xd0\xb5\xd1\x82\"",
        INTL);
    yes("BODY \"\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1\"", INTL);
    yes("BODY \"\xc3\xbf \xce\xbc \xd1\x91\"", INTL);
    no("BODY \"\xc3\xbf \xce\xbd\"", INTL);
    no("SUBJECT x", EMPTY);
    no("HEADER \"\" \"\"", SIMPLE);

    /* no contents given: the content keys see nothing */
    no("SUBJECT \"café\"", META);
    no("BODY hello", META);
    yes("NOT BODY hello", META);
}


static void
test_logic(void)
{
    yes("OR SEEN RECENT", SIMPLE);
    yes("OR SEEN RECENT", MULTI);
    no("OR SEEN RECENT", EMPTY);
    yes("NOT SEEN", MULTI);
    no("NOT NOT SEEN", MULTI);
    yes("NOT NOT NOT NOT SEEN", SIMPLE);
    yes("SEEN FLAGGED", SIMPLE);
    no("SEEN FLAGGED DELETED", SIMPLE);
    yes("(SEEN FLAGGED)", SIMPLE);
    yes("(SEEN (FLAGGED (KEYWORD $Junk)))", SIMPLE);
    no("(SEEN (FLAGGED (KEYWORD Work)))", SIMPLE);
    yes("OR (DELETED DRAFT) (SEEN FLAGGED)", SIMPLE);
    yes("OR (DELETED DRAFT) (SEEN FLAGGED)", NODATE);
    no("OR (DELETED DRAFT) (SEEN FLAGGED)", MULTI);
    yes("OR OR DELETED DRAFT SEEN", SIMPLE);
    yes("OR DELETED OR DRAFT SEEN", SIMPLE);
    no("OR DELETED OR DRAFT SEEN", MULTI);
    yes("NOT (SEEN DELETED)", SIMPLE);
    yes("OR BODY nowhere SUBJECT \"café\"", SIMPLE);
    yes("OR SUBJECT \"café\" BODY nowhere", SIMPLE);
    no("OR SUBJECT nowhere BODY nowhere", SIMPLE);
    yes("UNSEEN BODY zebra SUBJECT multipart LARGER 100", MULTI);
    no("UNSEEN BODY zebra SUBJECT multipart LARGER 10000", MULTI);
    yes("charset utf-8 SUBJECT \"café\"", SIMPLE);
    yes("CHARSET \"US-ASCII\" TEXT hello", SIMPLE);
    yes("CHARSET {5+}\r\nutf-8 ALL", SIMPLE);
}


static void
test_needs(void)
{
    const char               *error;
    ngx_mail_imapd_search_t  *search;

    compile("SEEN OR 1:3 UID 4 NOT (LARGER 5 SINCE 1-Jan-2000)", &search,
            &error);
    ok(search && ngx_mail_imapd_search_needs(search)
                 == NGX_MAIL_IMAPD_NEED_META,
       "metadata keys need no contents");
    ok(search && !ngx_mail_imapd_search_uses_modseq(search),
       "no MODSEQ key");

    compile("SEEN OR 1:3 NOT (HEADER x y)", &search, &error);
    ok(search && ngx_mail_imapd_search_needs(search)
                 == NGX_MAIL_IMAPD_NEED_CONTENT,
       "HEADER deep inside needs contents");

    compile("SENTON 1-Jan-2000", &search, &error);
    ok(search && ngx_mail_imapd_search_needs(search)
                 == NGX_MAIL_IMAPD_NEED_CONTENT,
       "SENTON needs contents");

    compile("NOT (SEEN MODSEQ 5)", &search, &error);
    ok(search && ngx_mail_imapd_search_uses_modseq(search),
       "MODSEQ inside NOT is used");
    ok(search && ngx_mail_imapd_search_needs(search)
                 == NGX_MAIL_IMAPD_NEED_META,
       "MODSEQ needs no contents");
}


static void
test_errors(void)
{
    int   i;
    char  line[16384], *p;

    bad("", NGX_MAIL_IMAPD_PARSE_ERROR, "Missing search key");
    bad("CHARSET UTF-8", NGX_MAIL_IMAPD_PARSE_ERROR, "Missing search key");
    bad("CHARSET", NGX_MAIL_IMAPD_PARSE_ERROR, "Missing search argument");
    bad("CHARSET KOI8-R ALL", NGX_MAIL_IMAPD_PARSE_DECLINED,
        "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
    bad("CHARSET UTF8 ALL", NGX_MAIL_IMAPD_PARSE_DECLINED,
        "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
    bad("ALL CHARSET UTF-8", NGX_MAIL_IMAPD_PARSE_ERROR,
        "Unknown search key");
    bad("FOO", NGX_MAIL_IMAPD_PARSE_ERROR, "Unknown search key");
    bad("\"ALL\"", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid search key");
    bad("()", NGX_MAIL_IMAPD_PARSE_ERROR, "Empty search key list");
    bad("SEEN ()", NGX_MAIL_IMAPD_PARSE_ERROR, "Empty search key list");
    bad("NOT", NGX_MAIL_IMAPD_PARSE_ERROR, "Missing search argument");
    bad("OR SEEN", NGX_MAIL_IMAPD_PARSE_ERROR, "Missing search argument");
    bad("OR", NGX_MAIL_IMAPD_PARSE_ERROR, "Missing search argument");
    bad("(OR SEEN) DELETED", NGX_MAIL_IMAPD_PARSE_ERROR,
        "Missing search argument");
    bad("FROM", NGX_MAIL_IMAPD_PARSE_ERROR, "Missing search argument");
    bad("HEADER subject", NGX_MAIL_IMAPD_PARSE_ERROR,
        "Missing search argument");
    bad("FROM (a)", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid search string");
    bad("FROM a*", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid search string");
    bad("FROM ~{1+}\r\na", NGX_MAIL_IMAPD_PARSE_ERROR,
        "Invalid search string");
    bad("KEYWORD", NGX_MAIL_IMAPD_PARSE_ERROR, "Missing search argument");
    bad("KEYWORD \"x\"", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid keyword");
    bad("KEYWORD a%", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid keyword");
    bad("LARGER", NGX_MAIL_IMAPD_PARSE_ERROR, "Missing search argument");
    bad("LARGER x", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid number");
    bad("LARGER -1", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid number");
    bad("LARGER \"5\"", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid number");
    bad("SMALLER 9223372036854775808", NGX_MAIL_IMAPD_PARSE_ERROR,
        "Invalid number");
    bad("MODSEQ", NGX_MAIL_IMAPD_PARSE_ERROR, "Missing search argument");
    bad("MODSEQ 18446744073709551616", NGX_MAIL_IMAPD_PARSE_ERROR,
        "Invalid number");
    bad("MODSEQ 1x", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid number");
    bad("MODSEQ \"/flags/\\\\Seen\" all", NGX_MAIL_IMAPD_PARSE_ERROR,
        "Missing search argument");
    bad("MODSEQ \"/flags/\\\\Seen\" none 5", NGX_MAIL_IMAPD_PARSE_ERROR,
        "Invalid MODSEQ entry");
    bad("MODSEQ \"/other/x\" all 5", NGX_MAIL_IMAPD_PARSE_ERROR,
        "Invalid MODSEQ entry");
    bad("MODSEQ \"/flags/\" all 5", NGX_MAIL_IMAPD_PARSE_ERROR,
        "Invalid MODSEQ entry");
    bad("MODSEQ \"/flags/x\" all x", NGX_MAIL_IMAPD_PARSE_ERROR,
        "Invalid number");
    bad("BEFORE", NGX_MAIL_IMAPD_PARSE_ERROR, "Missing search argument");
    bad("BEFORE 1-Feb-94", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid date");
    bad("BEFORE 1-Feb-19940", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid date");
    bad("BEFORE 001-Feb-1994", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid date");
    bad("BEFORE 0-Feb-1994", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid date");
    bad("BEFORE 30-Feb-2000", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid date");
    bad("BEFORE 29-Feb-1900", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid date");
    bad("BEFORE 31-Apr-2000", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid date");
    bad("BEFORE 1-Fev-1994", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid date");
    bad("BEFORE 1 Feb 1994", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid date");
    bad("BEFORE \"1 Feb 1994\"", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid date");
    bad("BEFORE 1-February-1994", NGX_MAIL_IMAPD_PARSE_ERROR,
        "Invalid date");
    bad("BEFORE -Feb-1994", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid date");
    bad("BEFORE 1-Feb", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid date");
    bad("BEFORE (1-Feb-1994)", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid date");
    bad("UID", NGX_MAIL_IMAPD_PARSE_ERROR, "Missing search argument");
    bad("UID x", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid sequence set");
    bad("UID 0", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid sequence set");
    bad("0:4", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid sequence set");
    bad("1,,2", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid sequence set");
    bad("1:", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid sequence set");
    bad("4294967296", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid sequence set");
    bad("UID \"1\"", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid sequence set");
    bad("$", NGX_MAIL_IMAPD_PARSE_ERROR,
        "Saved search results not supported");
    bad("UID $", NGX_MAIL_IMAPD_PARSE_ERROR,
        "Saved search results not supported");
    bad("$,1", NGX_MAIL_IMAPD_PARSE_ERROR, "Invalid sequence set");

    /* 63 levels are fine, 64 are not */
    p = line;

    for (i = 0; i < 63; i++) {
        p += sprintf(p, "NOT ");
    }

    sprintf(p, "SEEN");
    yes(line, MULTI);

    sprintf(p, "NOT SEEN");
    bad(line, NGX_MAIL_IMAPD_PARSE_ERROR, "Search too complex");

    p = line;

    for (i = 0; i < 64; i++) {
        p += sprintf(p, "OR SEEN ");
    }

    sprintf(p, "SEEN");
    bad(line, NGX_MAIL_IMAPD_PARSE_ERROR, "Search too complex");

    p = line;

    for (i = 0; i < 70; i++) {
        p += sprintf(p, "(");
    }

    p += sprintf(p, "SEEN");

    for (i = 0; i < 70; i++) {
        p += sprintf(p, ")");
    }

    bad(line, NGX_MAIL_IMAPD_PARSE_ERROR, "Search too complex");

    /* OR chains: the left side deep is bounded too */
    p = line;

    for (i = 0; i < 63; i++) {
        p += sprintf(p, "OR ");
    }

    for (i = 0; i < 64; i++) {
        p += sprintf(p, "%d ", i + 1);
    }

    p[-1] = '\0';
    yes(line, SIMPLE);

    /* 1023 keys and their AND, then one too many */
    p = line;

    for (i = 0; i < 1023; i++) {
        p += sprintf(p, "ALL ");
    }

    p[-1] = '\0';
    yes(line, SIMPLE);

    sprintf(p - 1, " ALL");
    bad(line, NGX_MAIL_IMAPD_PARSE_ERROR, "Search too complex");
}


int
main(void)
{
    messages_init();

    test_flags();
    test_sizes();
    test_sequences();
    test_dates();
    test_strings();
    test_logic();
    test_needs();
    test_errors();

    mime_arena_destroy(arena);

    printf("1..%u\n", tests);

    return failed ? 1 : 0;
}
