
/*
 * Unit tests of the FETCH attribute compiler and response writer,
 * printing TAP for t/imap-07-fetch-unit.t.
 *
 * Each test parses "a FETCH 1 <attributes>" with the command parser,
 * compiles the second argument and writes the response for a sample
 * message, comparing it byte for byte.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ngx_mail_imapd_parse.h"
#include "ngx_mail_imapd_fetch.h"


#define NODES_MAX    256
#define LINE_MAX     8192


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


static void
diag_bytes(const char *what, const unsigned char *p, size_t len)
{
    size_t  i;

    printf("# %s: ", what);

    for (i = 0; i < len; i++) {
        if (p[i] == '\n') {
            printf("\\n\n#   ");

        } else if (p[i] == '\r') {
            printf("\\r");

        } else if (p[i] >= 0x20 && p[i] < 0x7f) {
            printf("%c", p[i]);

        } else {
            printf("\\x%02x", p[i]);
        }
    }

    printf("\n");
}


static const char  sample[] =
    "From: Alice <alice@example.org>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: hello\r\n"
    "Date: Wed, 17 Jul 1996 02:23:25 -0700\r\n"
    "Message-ID: <1@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "part one\r\n"
    "--b1\r\n"
    "Content-Type: multipart/alternative; boundary=\"b2\"\r\n"
    "\r\n"
    "--b2\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "alt text\r\n"
    "--b2\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<p>alt html</p>\r\n"
    "--b2--\r\n"
    "--b1\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: Carol <carol@example.com>\r\n"
    "Subject: inner\r\n"
    "\r\n"
    "inner body\r\n"
    "--b1--\r\n";

#define SAMPLE_HEADER                                                        \
    "From: Alice <alice@example.org>\r\n"                                    \
    "To: Bob <bob@example.net>\r\n"                                          \
    "Subject: hello\r\n"                                                     \
    "Date: Wed, 17 Jul 1996 02:23:25 -0700\r\n"                              \
    "Message-ID: <1@example.org>\r\n"                                        \
    "MIME-Version: 1.0\r\n"                                                  \
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"                     \
    "\r\n"


static const char  plain[] =
    "Subject: plain\r\n"
    "\r\n"
    "just text\r\n";


static const char  binary[] =
    "Subject: bin\r\n"
    "Content-Type: multipart/mixed; boundary=\"x\"\r\n"
    "\r\n"
    "--x\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AGhpAA==\r\n"
    "--x\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: Quoted-Printable\r\n"
    "\r\n"
    "caf=C3=A9 =\r\n"
    "ok\r\n"
    "--x\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: x-uuencode\r\n"
    "\r\n"
    "begin\r\n"
    "--x\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "plain\r\n"
    "--x--\r\n";


/* the state of one test: parser, allocator, the message */

static ngx_mail_imapd_parse_conf_t  conf;
static ngx_mail_imapd_node_t        nodes[NODES_MAX];
static unsigned char                scratch[LINE_MAX];
static unsigned char                line[LINE_MAX];
static ngx_mail_imapd_parser_t      ps;

static mime_arena_t                *arena;
static mime_allocator_t             allocator;
static ngx_mail_imapd_message_t     msg;
static const char                  *msg_text;

static ngx_mail_imapd_fetch_t      *fetch;
static const char                  *error;


static void
message_default(void)
{
    memset(&msg, 0, sizeof(msg));
    msg.seq = 1;
    msg.uid = 42;
    msg.modseq = 12345;
    msg.size = sizeof(sample) - 1;
    msg.internaldate = 837570205;          /* 17-Jul-1996 02:23:25 UTC */
    msg.flags = (const unsigned char *) "\\Seen $Junk \\Flagged";
    msg.flags_len = strlen((const char *) msg.flags);
    msg_text = sample;
}


/* parses "a FETCH 1 att" and compiles att; the compiler's return code */

static int
compile(const char *att)
{
    int     n;
    size_t  len;

    conf.max_line = LINE_MAX;
    conf.max_inline = 0;
    conf.max_depth = 4;
    conf.literal_plus = NGX_MAIL_IMAPD_LITERAL_SYNC;

    ps.conf = &conf;
    ps.nodes = nodes;
    ps.max_nodes = NODES_MAX;
    ps.scratch = scratch;
    ps.scratch_size = sizeof(scratch);
    ngx_mail_imapd_parse_init(&ps);

    n = snprintf((char *) line, sizeof(line), "a FETCH 1 %s\r\n", att);
    len = (size_t) n;

    fetch = NULL;
    error = NULL;

    if (ngx_mail_imapd_parse_command(&ps, line, line + len)
        != NGX_MAIL_IMAPD_PARSE_OK || ps.nargs != 2)
    {
        error = "(command parser)";
        return -100;
    }

    return ngx_mail_imapd_fetch_compile(nodes, nodes[0].next, &allocator,
                                        &fetch, &error);
}


static int
flush_to(void *ctx, const mime_uchar_t *data, size_t len)
{
    mime_buf_t  *sink;

    sink = ctx;

    return mime_buf_append(sink, data, len);
}


/*
 * Writes the compiled fetch for the message into "out"; with a flush
 * limit the output goes through a flush callback in chunks.
 */

static int
write_msg(int flags_changed, size_t limit, mime_buf_t *out)
{
    int              rc;
    mime_buf_t       b;
    mime_message_t  *parsed;

    /* the message buffer is overwritten: the fetch must not point in it */
    memset(line, 'x', sizeof(line));

    msg.data = (const unsigned char *) msg_text;
    msg.len = strlen(msg_text);

    parsed = NULL;

    if (fetch->needs & NGX_MAIL_IMAPD_NEED_CONTENT) {
        parsed = mime_parse(&allocator, msg.data, msg.len, NULL);
    }

    mime_buf_init(out, &allocator, 0);

    if (limit == 0) {
        return ngx_mail_imapd_fetch_write(fetch, &msg, parsed, flags_changed,
                                          out);
    }

    mime_buf_init(&b, &allocator, 0);
    b.flush = flush_to;
    b.flush_ctx = out;
    b.limit = limit;

    rc = ngx_mail_imapd_fetch_write(fetch, &msg, parsed, flags_changed, &b);

    if (mime_buf_flush(&b) != MIME_OK) {
        return -1;
    }

    return rc;
}


static void
expect_full_n(const char *att, unsigned uid, unsigned modseq,
    int flags_changed, const char *expected, size_t len)
{
    int         rc;
    mime_buf_t  out;

    rc = compile(att);

    if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
        ok(0, "FETCH %s compiles (%s)", att, error ? error : "no memory");
        return;
    }

    if (uid) {
        fetch->uid = 1;
    }

    if (modseq) {
        fetch->modseq = 1;
    }

    rc = write_msg(flags_changed, 0, &out);

    ok(rc == NGX_MAIL_IMAPD_PARSE_OK && out.len == len
       && memcmp(out.data, expected, len) == 0,
       "FETCH %s%s%s%s", att, uid ? " (uid)" : "", modseq ? " (modseq)" : "",
       flags_changed ? " (seen set)" : "");

    if (rc != NGX_MAIL_IMAPD_PARSE_OK || out.len != len
        || memcmp(out.data, expected, len) != 0)
    {
        diag_bytes("got", out.data, out.len);
        diag_bytes("expected", (const unsigned char *) expected, len);
    }
}


static void
expect_full(const char *att, unsigned uid, unsigned modseq, int flags_changed,
    const char *expected)
{
    expect_full_n(att, uid, modseq, flags_changed, expected,
                  strlen(expected));
}


static void
expect(const char *att, const char *expected)
{
    expect_full(att, 0, 0, 0, expected);
}


static void
expect_error(const char *att, const char *text)
{
    int  rc;

    rc = compile(att);

    ok(rc == NGX_MAIL_IMAPD_PARSE_ERROR && error && strcmp(error, text) == 0,
       "FETCH %s is BAD \"%s\"", att, text);

    if (!(rc == NGX_MAIL_IMAPD_PARSE_ERROR && error
          && strcmp(error, text) == 0))
    {
        printf("# got rc %d, \"%s\"\n", rc, error ? error : "(null)");
    }
}


static void
test_simple(void)
{
    message_default();

    expect("FLAGS", "* 1 FETCH (FLAGS (\\Seen \\Flagged $Junk))\r\n");
    expect("flags", "* 1 FETCH (FLAGS (\\Seen \\Flagged $Junk))\r\n");

    msg.recent = 1;
    expect("FLAGS",
           "* 1 FETCH (FLAGS (\\Seen \\Flagged \\Recent $Junk))\r\n");

    msg.flags = (const unsigned char *) "";
    msg.flags_len = 0;
    expect("FLAGS", "* 1 FETCH (FLAGS (\\Recent))\r\n");

    msg.recent = 0;
    expect("FLAGS", "* 1 FETCH (FLAGS ())\r\n");

    msg.flags = (const unsigned char *) "  $a\r\n\\Answered\t\\Recent b  ";
    msg.flags_len = strlen((const char *) msg.flags);
    expect("FLAGS", "* 1 FETCH (FLAGS (\\Answered $a b))\r\n");

    msg.flags = NULL;
    msg.flags_len = 0;
    expect("FLAGS", "* 1 FETCH (FLAGS ())\r\n");

    message_default();

    expect("UID", "* 1 FETCH (UID 42)\r\n");
    expect("RFC822.SIZE", "* 1 FETCH (RFC822.SIZE 554)\r\n");
    expect("MODSEQ", "* 1 FETCH (MODSEQ (12345))\r\n");
    expect("INTERNALDATE",
           "* 1 FETCH (INTERNALDATE \"17-Jul-1996 02:23:25 +0000\")\r\n");

    msg.internaldate = 0;
    expect("INTERNALDATE",
           "* 1 FETCH (INTERNALDATE \"01-Jan-1970 00:00:00 +0000\")\r\n");

    msg.internaldate = 951782400;          /* a leap day */
    expect("INTERNALDATE",
           "* 1 FETCH (INTERNALDATE \"29-Feb-2000 00:00:00 +0000\")\r\n");

    msg.internaldate = 1767225599;
    expect("INTERNALDATE",
           "* 1 FETCH (INTERNALDATE \"31-Dec-2025 23:59:59 +0000\")\r\n");

    msg.internaldate = -5;
    expect("INTERNALDATE",
           "* 1 FETCH (INTERNALDATE \"01-Jan-1970 00:00:00 +0000\")\r\n");

    message_default();
    msg.seq = 4294967295U;
    msg.uid = 4294967295U;
    msg.modseq = 18446744073709551615ULL;
    expect("(UID MODSEQ)",
           "* 4294967295 FETCH (UID 4294967295"
           " MODSEQ (18446744073709551615))\r\n");

    message_default();

    ok(compile("(FLAGS UID RFC822.SIZE INTERNALDATE MODSEQ)")
       == NGX_MAIL_IMAPD_PARSE_OK
       && fetch->needs == NGX_MAIL_IMAPD_NEED_META && !fetch->sets_seen
       && fetch->uid && fetch->modseq,
       "metadata items need no content, set no \\Seen");
}


static void
test_order(void)
{
    message_default();

    expect("(RFC822.SIZE FLAGS UID)",
           "* 1 FETCH (RFC822.SIZE 554 FLAGS (\\Seen \\Flagged $Junk)"
           " UID 42)\r\n");

    expect("(FLAGS FLAGS UID flags)",
           "* 1 FETCH (FLAGS (\\Seen \\Flagged $Junk) UID 42)\r\n");

    /* UID FETCH: UID first unless asked */
    expect_full("FLAGS", 1, 0, 0,
                "* 1 FETCH (UID 42 FLAGS (\\Seen \\Flagged $Junk))\r\n");
    expect_full("(FLAGS UID)", 1, 0, 0,
                "* 1 FETCH (FLAGS (\\Seen \\Flagged $Junk) UID 42)\r\n");

    /* CONDSTORE: MODSEQ after an implied UID */
    expect_full("FLAGS", 1, 1, 0,
                "* 1 FETCH (UID 42 MODSEQ (12345)"
                " FLAGS (\\Seen \\Flagged $Junk))\r\n");
    expect_full("(MODSEQ FLAGS)", 1, 1, 0,
                "* 1 FETCH (UID 42 MODSEQ (12345)"
                " FLAGS (\\Seen \\Flagged $Junk))\r\n");
    expect_full("RFC822.SIZE", 0, 1, 0,
                "* 1 FETCH (MODSEQ (12345) RFC822.SIZE 554)\r\n");

    /* RFC 3501 6.4.5: FLAGS when \Seen was set */
    expect_full("BODY[1]", 0, 0, 1,
                "* 1 FETCH (BODY[1] {8}\r\npart one"
                " FLAGS (\\Seen \\Flagged $Junk))\r\n");
    expect_full("(FLAGS BODY[1])", 0, 0, 1,
                "* 1 FETCH (FLAGS (\\Seen \\Flagged $Junk)"
                " BODY[1] {8}\r\npart one)\r\n");
    expect_full("BODY[1]", 1, 0, 1,
                "* 1 FETCH (UID 42 BODY[1] {8}\r\npart one"
                " FLAGS (\\Seen \\Flagged $Junk))\r\n");
}


static void
test_macros(void)
{
    int          rc;
    mime_buf_t   out;
    const char  *all;

    all = "* 1 FETCH (FLAGS (\\Seen \\Flagged $Junk)"
          " INTERNALDATE \"17-Jul-1996 02:23:25 +0000\""
          " RFC822.SIZE 554 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700\""
          " \"hello\" ((\"Alice\" NIL \"alice\" \"example.org\"))";

    message_default();

    expect("FAST",
           "* 1 FETCH (FLAGS (\\Seen \\Flagged $Junk)"
           " INTERNALDATE \"17-Jul-1996 02:23:25 +0000\""
           " RFC822.SIZE 554)\r\n");

    ok(compile("fast") == NGX_MAIL_IMAPD_PARSE_OK
       && fetch->needs == NGX_MAIL_IMAPD_NEED_META && fetch->nitems == 3,
       "FAST needs no content");

    rc = compile("ALL");
    ok(rc == NGX_MAIL_IMAPD_PARSE_OK && fetch->nitems == 4
       && fetch->needs == NGX_MAIL_IMAPD_NEED_CONTENT && !fetch->sets_seen,
       "ALL is four items with content");

    if (rc == NGX_MAIL_IMAPD_PARSE_OK) {
        rc = write_msg(0, 0, &out);
        ok(rc == NGX_MAIL_IMAPD_PARSE_OK && out.len > strlen(all)
           && memcmp(out.data, all, strlen(all)) == 0
           && memcmp(out.data + out.len - 4, "))\r\n", 4) == 0,
           "ALL writes the envelope last");
    }

    rc = compile("FULL");
    ok(rc == NGX_MAIL_IMAPD_PARSE_OK && fetch->nitems == 5
       && fetch->items[4].type == NGX_MAIL_IMAPD_FETCH_BODY,
       "FULL is five items, BODY last");

    expect_error("(ALL)", "Unknown FETCH attribute");
    expect_error("(FLAGS FAST)", "Unknown FETCH attribute");
}


/* ENVELOPE, BODY, BODYSTRUCTURE: what the MIME library writes */

static void
test_structure(void)
{
    int              rc;
    size_t           prefix;
    mime_buf_t       out, ref;
    mime_message_t  *parsed;

    message_default();

    parsed = mime_parse(&allocator, (const unsigned char *) sample,
                        strlen(sample), NULL);

    mime_buf_init(&ref, &allocator, 0);
    mime_buf_append_str(&ref, "* 1 FETCH (ENVELOPE ");
    mime_imap_envelope(parsed, parsed->root, &ref);
    mime_buf_append_str(&ref, " BODY ");
    mime_imap_bodystructure(parsed, parsed->root, &ref, 0);
    mime_buf_append_str(&ref, " BODYSTRUCTURE ");
    mime_imap_bodystructure(parsed, parsed->root, &ref, 1);
    mime_buf_append_str(&ref, ")\r\n");

    rc = compile("(ENVELOPE BODY BODYSTRUCTURE)");
    ok(rc == NGX_MAIL_IMAPD_PARSE_OK
       && fetch->needs == NGX_MAIL_IMAPD_NEED_BODY && !fetch->sets_seen,
       "ENVELOPE BODY BODYSTRUCTURE need the body, set no \\Seen");

    if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
        return;
    }

    rc = write_msg(0, 0, &out);
    ok(rc == NGX_MAIL_IMAPD_PARSE_OK && out.len == ref.len
       && memcmp(out.data, ref.data, ref.len) == 0,
       "ENVELOPE BODY BODYSTRUCTURE as the MIME library writes them");

    rc = compile("(ENVELOPE BODY.PEEK[HEADER.FIELDS (FROM)] RFC822.HEADER)");
    ok(rc == NGX_MAIL_IMAPD_PARSE_OK
       && fetch->needs == NGX_MAIL_IMAPD_NEED_CONTENT,
       "ENVELOPE, HEADER.FIELDS, RFC822.HEADER: the header only");

    rc = compile("(BODY.PEEK[1.HEADER])");
    ok(rc == NGX_MAIL_IMAPD_PARSE_OK
       && fetch->needs == NGX_MAIL_IMAPD_NEED_BODY,
       "a part's header needs the body");

    prefix = strlen("* 1 FETCH (BODY ((\"text\" \"plain\"");
    rc = compile("BODY");
    rc = (rc == NGX_MAIL_IMAPD_PARSE_OK) ? write_msg(0, 0, &out) : rc;
    ok(rc == NGX_MAIL_IMAPD_PARSE_OK && out.len > prefix
       && memcmp(out.data, "* 1 FETCH (BODY ((\"text\" \"plain\"", prefix)
          == 0
       && memcmp(out.data + out.len - 14, "\"mixed\"))\r\n", 11) != 0,
       "BODY is the body structure");

    rc = compile("BODYSTRUCTURE");
    rc = (rc == NGX_MAIL_IMAPD_PARSE_OK) ? write_msg(0, 0, &out) : rc;
    ok(rc == NGX_MAIL_IMAPD_PARSE_OK
       && strstr((const char *) ref.data, "(\"boundary\" \"b1\")") != NULL,
       "BODYSTRUCTURE has the extension data");
}


static void
test_sections(void)
{
    message_default();

    expect("BODY[]",
           "* 1 FETCH (BODY[] {554}\r\n" SAMPLE_HEADER
           "preamble\r\n--b1\r\nContent-Type: text/plain; "
           "charset=us-ascii\r\n\r\npart one\r\n--b1\r\nContent-Type: "
           "multipart/alternative; boundary=\"b2\"\r\n\r\n--b2\r\n"
           "Content-Type: text/plain\r\n\r\nalt text\r\n--b2\r\n"
           "Content-Type: text/html\r\n\r\n<p>alt html</p>\r\n--b2--\r\n"
           "--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: Carol "
           "<carol@example.com>\r\nSubject: inner\r\n\r\ninner body\r\n"
           "--b1--\r\n)\r\n");

    expect("RFC822",
           "* 1 FETCH (RFC822 {554}\r\n" SAMPLE_HEADER
           "preamble\r\n--b1\r\nContent-Type: text/plain; "
           "charset=us-ascii\r\n\r\npart one\r\n--b1\r\nContent-Type: "
           "multipart/alternative; boundary=\"b2\"\r\n\r\n--b2\r\n"
           "Content-Type: text/plain\r\n\r\nalt text\r\n--b2\r\n"
           "Content-Type: text/html\r\n\r\n<p>alt html</p>\r\n--b2--\r\n"
           "--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: Carol "
           "<carol@example.com>\r\nSubject: inner\r\n\r\ninner body\r\n"
           "--b1--\r\n)\r\n");

    expect("BODY.PEEK[HEADER]",
           "* 1 FETCH (BODY[HEADER] {211}\r\n" SAMPLE_HEADER ")\r\n");
    expect("RFC822.HEADER",
           "* 1 FETCH (RFC822.HEADER {211}\r\n" SAMPLE_HEADER ")\r\n");

    expect("BODY[1]", "* 1 FETCH (BODY[1] {8}\r\npart one)\r\n");
    expect("body.peek[1]", "* 1 FETCH (BODY[1] {8}\r\npart one)\r\n");
    expect("BODY[1.MIME]",
           "* 1 FETCH (BODY[1.MIME] {46}\r\n"
           "Content-Type: text/plain; charset=us-ascii\r\n\r\n)\r\n");
    expect("BODY[2.1]", "* 1 FETCH (BODY[2.1] {8}\r\nalt text)\r\n");
    expect("BODY[2.2]",
           "* 1 FETCH (BODY[2.2] {15}\r\n<p>alt html</p>)\r\n");
    expect("BODY[2.2.MIME]",
           "* 1 FETCH (BODY[2.2.MIME] {27}\r\n"
           "Content-Type: text/html\r\n\r\n)\r\n");

    /* message/rfc822: 3.HEADER and 3.TEXT are the inner message's */
    expect("BODY[3.HEADER]",
           "* 1 FETCH (BODY[3.HEADER] {51}\r\n"
           "From: Carol <carol@example.com>\r\nSubject: inner\r\n\r\n"
           ")\r\n");
    expect("BODY[3.TEXT]",
           "* 1 FETCH (BODY[3.TEXT] {10}\r\ninner body)\r\n");
    expect("BODY[3.1]", "* 1 FETCH (BODY[3.1] {10}\r\ninner body)\r\n");
    expect("BODY[3.HEADER.FIELDS (subject)]",
           "* 1 FETCH (BODY[3.HEADER.FIELDS (SUBJECT)] {18}\r\n"
           "Subject: inner\r\n\r\n)\r\n");

    expect("BODY[TEXT]",
           "* 1 FETCH (BODY[TEXT] {343}\r\n"
           "preamble\r\n--b1\r\nContent-Type: text/plain; "
           "charset=us-ascii\r\n\r\npart one\r\n--b1\r\nContent-Type: "
           "multipart/alternative; boundary=\"b2\"\r\n\r\n--b2\r\n"
           "Content-Type: text/plain\r\n\r\nalt text\r\n--b2\r\n"
           "Content-Type: text/html\r\n\r\n<p>alt html</p>\r\n--b2--\r\n"
           "--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: Carol "
           "<carol@example.com>\r\nSubject: inner\r\n\r\ninner body\r\n"
           "--b1--\r\n)\r\n");

    expect("BODY[HEADER.FIELDS (From To)]",
           "* 1 FETCH (BODY[HEADER.FIELDS (FROM TO)] {62}\r\n"
           "From: Alice <alice@example.org>\r\n"
           "To: Bob <bob@example.net>\r\n\r\n)\r\n");
    expect("BODY.PEEK[HEADER.FIELDS (\"To\" x-missing)]",
           "* 1 FETCH (BODY[HEADER.FIELDS (TO X-MISSING)] {29}\r\n"
           "To: Bob <bob@example.net>\r\n\r\n)\r\n");
    expect("BODY.PEEK[HEADER.FIELDS (x-missing)]",
           "* 1 FETCH (BODY[HEADER.FIELDS (X-MISSING)] {2}\r\n\r\n)\r\n");
    expect("BODY.PEEK[header.fields.not (From To Date Message-ID "
           "MIME-Version Content-Type)]",
           "* 1 FETCH (BODY[HEADER.FIELDS.NOT (FROM TO DATE MESSAGE-ID "
           "MIME-VERSION CONTENT-TYPE)] {18}\r\nSubject: hello\r\n\r\n"
           ")\r\n");
    expect("BODY.PEEK[HEADER.FIELDS (\"a]b\")]",
           "* 1 FETCH (BODY[HEADER.FIELDS (\"A]B\")] {2}\r\n\r\n)\r\n");

    /* RFC 3501 6.4.5: a part not in the message is empty */
    expect("BODY[4]", "* 1 FETCH (BODY[4] \"\")\r\n");
    expect("BODY[1.1]", "* 1 FETCH (BODY[1.1] \"\")\r\n");
    expect("BODY[2.3.MIME]", "* 1 FETCH (BODY[2.3.MIME] \"\")\r\n");
    expect("BODY[9.HEADER.FIELDS (To)]",
           "* 1 FETCH (BODY[9.HEADER.FIELDS (TO)] \"\")\r\n");

    /* a single-part message's body is its part 1 */
    msg_text = plain;
    expect("BODY[1]", "* 1 FETCH (BODY[1] {11}\r\njust text\r\n)\r\n");
    expect("RFC822.TEXT",
           "* 1 FETCH (RFC822.TEXT {11}\r\njust text\r\n)\r\n");
    expect("BODY[2]", "* 1 FETCH (BODY[2] \"\")\r\n");

    msg_text = "";
    expect("BODY[]", "* 1 FETCH (BODY[] \"\")\r\n");
    expect("BODY[TEXT]", "* 1 FETCH (BODY[TEXT] \"\")\r\n");

    message_default();

    expect("(BODY.PEEK[1] BODY.PEEK[2.1] UID)",
           "* 1 FETCH (BODY[1] {8}\r\npart one BODY[2.1] {8}\r\nalt text"
           " UID 42)\r\n");
}


static void
test_partial(void)
{
    message_default();

    expect("BODY[1]<0.4>", "* 1 FETCH (BODY[1]<0> {4}\r\npart)\r\n");
    expect("BODY.PEEK[1]<5.100>", "* 1 FETCH (BODY[1]<5> {3}\r\none)\r\n");
    expect("BODY[1]<7.1>", "* 1 FETCH (BODY[1]<7> {1}\r\ne)\r\n");
    expect("BODY[1]<8.1>", "* 1 FETCH (BODY[1]<8> \"\")\r\n");
    expect("BODY[1]<4294967295.4294967295>",
           "* 1 FETCH (BODY[1]<4294967295> \"\")\r\n");
    expect("BODY[1]<0.4294967295>",
           "* 1 FETCH (BODY[1]<0> {8}\r\npart one)\r\n");
    expect("BODY[]<0.4>", "* 1 FETCH (BODY[]<0> {4}\r\nFrom)\r\n");
    expect("BODY[4]<0.4>", "* 1 FETCH (BODY[4]<0> \"\")\r\n");
    expect("BODY[HEADER.FIELDS (To)]<4.3>",
           "* 1 FETCH (BODY[HEADER.FIELDS (TO)]<4> {3}\r\nBob)\r\n");
    expect("BODY[1]<007.01>", "* 1 FETCH (BODY[1]<7> {1}\r\ne)\r\n");
}


static void
test_seen(void)
{
    static const struct {
        const char  *att;
        unsigned     sets_seen;
    } cases[] = {
        { "BODY[]", 1 },
        { "BODY[1]<0.1>", 1 },
        { "BODY.PEEK[]", 0 },
        { "BODY.PEEK[HEADER]", 0 },
        { "RFC822", 1 },
        { "RFC822.TEXT", 1 },
        { "RFC822.HEADER", 0 },
        { "BODY", 0 },
        { "(FLAGS BODY.PEEK[1] RFC822.TEXT)", 1 },
        { "(FLAGS BODY.PEEK[1] BODYSTRUCTURE)", 0 },
    };

    unsigned  i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ok(compile(cases[i].att) == NGX_MAIL_IMAPD_PARSE_OK
           && fetch->sets_seen == cases[i].sets_seen
           && (fetch->needs & NGX_MAIL_IMAPD_NEED_CONTENT),
           "%s %s \\Seen", cases[i].att,
           cases[i].sets_seen ? "sets" : "does not set");
    }
}


static void
test_errors(void)
{
    unsigned  i;
    char      many[2048];
    size_t    len;

    expect_error("FOO", "Unknown FETCH attribute");
    expect_error("(FLAGS FOO)", "Unknown FETCH attribute");
    expect_error("BODY.PEEK", "Unknown FETCH attribute");
    expect_error("RFC822.PEEK", "Unknown FETCH attribute");
    expect_error("BODYSTRUCTURE[]", "Unknown FETCH attribute");
    expect_error("BINARY.SIZES[1]", "Unknown FETCH attribute");
    expect_error("\"FLAGS\"", "Invalid FETCH attribute");
    expect_error("(FLAGS \"UID\")", "Invalid FETCH attribute");
    expect_error("(FLAGS (UID))", "Invalid FETCH attribute");
    expect_error("()", "Empty FETCH attribute list");
    expect_error("BODY[X]", "Invalid FETCH section");
    expect_error("BODY[0]", "Invalid FETCH section");
    expect_error("BODY[1.0]", "Invalid FETCH section");
    expect_error("BODY[1.]", "Invalid FETCH section");
    expect_error("BODY[.1]", "Invalid FETCH section");
    expect_error("BODY[MIME]", "Invalid FETCH section");
    expect_error("BODY[HEADERS]", "Invalid FETCH section");
    expect_error("BODY[TEXT.1]", "Invalid FETCH section");
    expect_error("BODY[HEADER.FIELDS]", "Invalid FETCH section");
    expect_error("BODY[HEADER.FIELDS ()]", "Invalid FETCH section");
    expect_error("BODY[HEADER.FIELDS (From]", "Invalid FETCH section");
    expect_error("BODY[HEADER.FIELDS (\"\")]", "Invalid FETCH section");
    expect_error("BODY[HEADER.FIELDS (\"a:b\")]", "Invalid FETCH section");
    expect_error("BODY[HEADER.FIELDS (\"a b\")]", "Invalid FETCH section");
    expect_error("BODY[HEADER.FIELDS (\"a\\\"b\")]",
                 "Invalid FETCH section");
    expect_error("BODY[1]x", "Invalid FETCH partial");
    expect_error("BODY[1]]", "Invalid FETCH partial");
    expect_error("BODY[1]<", "Invalid FETCH partial");
    expect_error("BODY[1]<1>", "Invalid FETCH partial");
    expect_error("BODY[1]<1.>", "Invalid FETCH partial");
    expect_error("BODY[1]<.1>", "Invalid FETCH partial");
    expect_error("BODY[1]<1.0>", "Invalid FETCH partial");
    expect_error("BODY[1]<1.2", "Invalid FETCH partial");
    expect_error("BODY[1]<1.2>>", "Invalid FETCH partial");
    expect_error("BODY[1]<4294967296.1>", "Invalid FETCH partial");
    expect_error("BODY[1]<1.4294967296>", "Invalid FETCH partial");
    expect_error("BODY[1]<-1.2>", "Invalid FETCH partial");

    /* 64 items are fine, 65 are not */
    len = 0;
    many[len++] = '(';

    for (i = 0; i < 64; i++) {
        len += (size_t) sprintf(many + len, "%sBODY.PEEK[%u]", i ? " " : "",
                                i + 1);
    }

    many[len++] = ')';
    many[len] = '\0';

    ok(compile(many) == NGX_MAIL_IMAPD_PARSE_OK && fetch->nitems == 64,
       "64 items compile");

    strcpy(many + len - 1, " UID)");
    expect_error(many, "Too many FETCH attributes");
}


/* RFC 3516 */

static void
test_binary(void)
{
    int         rc;
    mime_buf_t  out;

    static const char  b64[] = "* 1 FETCH (BINARY[1] ~{4}\r\n\0hi\0)\r\n";
    static const char  b64p[] = "* 1 FETCH (BINARY[1]<3> ~{1}\r\n\0)\r\n";

    message_default();
    msg_text = binary;

    expect_full_n("BINARY.PEEK[1]", 0, 0, 0, b64, sizeof(b64) - 1);
    expect_full_n("BINARY[1]<3.9>", 0, 0, 0, b64p, sizeof(b64p) - 1);
    expect("BINARY[1]<1.2>", "* 1 FETCH (BINARY[1]<1> {2}\r\nhi)\r\n");
    expect("BINARY[2]", "* 1 FETCH (BINARY[2] {8}\r\ncaf\xc3\xa9 ok)\r\n");
    expect("binary.peek[2]<3.2>",
           "* 1 FETCH (BINARY[2]<3> {2}\r\n\xc3\xa9)\r\n");
    expect("BINARY[4]", "* 1 FETCH (BINARY[4] {5}\r\nplain)\r\n");
    expect("BINARY[9]", "* 1 FETCH (BINARY[9] \"\")\r\n");
    expect("BINARY[1]<4.1>", "* 1 FETCH (BINARY[1]<4> \"\")\r\n");
    expect("(BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[4] BINARY.SIZE[9])",
           "* 1 FETCH (BINARY.SIZE[1] 4 BINARY.SIZE[2] 8 BINARY.SIZE[4] 5"
           " BINARY.SIZE[9] 0)\r\n");
    expect("BINARY.SIZE[]", "* 1 FETCH (BINARY.SIZE[] 374)\r\n");
    expect("BINARY[]<0.12>",
           "* 1 FETCH (BINARY[]<0> {12}\r\nSubject: bin)\r\n");

    ok(compile("BINARY[1]") == NGX_MAIL_IMAPD_PARSE_OK && fetch->sets_seen
       && fetch->needs == NGX_MAIL_IMAPD_NEED_BODY, "BINARY sets \\Seen");
    ok(compile("BINARY.PEEK[1]") == NGX_MAIL_IMAPD_PARSE_OK
       && !fetch->sets_seen, "BINARY.PEEK does not set \\Seen");
    ok(compile("BINARY.SIZE[1]") == NGX_MAIL_IMAPD_PARSE_OK
       && !fetch->sets_seen && fetch->needs == NGX_MAIL_IMAPD_NEED_BODY,
       "BINARY.SIZE does not set \\Seen");

    /* RFC 3516 4.3: x-uuencode is not ours to undo */
    rc = compile("(FLAGS BINARY.PEEK[3])");
    rc = (rc == NGX_MAIL_IMAPD_PARSE_OK) ? write_msg(0, 0, &out) : rc;
    ok(rc == NGX_MAIL_IMAPD_PARSE_DECLINED && out.len == 0,
       "BINARY of an unknown encoding: declined, nothing written");

    rc = compile("BINARY.SIZE[3]");
    rc = (rc == NGX_MAIL_IMAPD_PARSE_OK) ? write_msg(0, 0, &out) : rc;
    ok(rc == NGX_MAIL_IMAPD_PARSE_DECLINED && out.len == 0,
       "BINARY.SIZE of an unknown encoding: declined");

    expect("BODY.PEEK[3]", "* 1 FETCH (BODY[3] {5}\r\nbegin)\r\n");

    expect_error("BINARY", "Unknown FETCH attribute");
    expect_error("BINARY.SIZE", "Unknown FETCH attribute");
    expect_error("BINARY.SIZE[1]<0.1>", "Invalid FETCH partial");
    expect_error("BINARY[HEADER]", "Invalid FETCH section");
    expect_error("BINARY[1.MIME]", "Invalid FETCH section");
    expect_error("BINARY.PEEK[1.TEXT]", "Invalid FETCH section");
    expect_error("BINARY[1]<0.0>", "Invalid FETCH partial");
}


/* a flush callback sees the same octets, whatever its limit */

static void
test_streaming(void)
{
    int         rc, same;
    size_t      limits[] = { 1, 2, 7, 64, 100000 };
    unsigned    i;
    mime_buf_t  whole, chunked;

    message_default();

    rc = compile("(UID FLAGS BODY[] ENVELOPE BODY.PEEK[HEADER.FIELDS (To)]"
                 " BODYSTRUCTURE BODY[2.1]<2.3> RFC822.SIZE)");
    ok(rc == NGX_MAIL_IMAPD_PARSE_OK, "streaming fetch compiles");

    if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
        return;
    }

    rc = write_msg(1, 0, &whole);

    for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        rc |= write_msg(1, limits[i], &chunked);
        same = (chunked.len == whole.len
                && memcmp(chunked.data, whole.data, whole.len) == 0);
        ok(rc == NGX_MAIL_IMAPD_PARSE_OK && same,
           "flushed every %zu octets: the same response", limits[i]);
    }
}


static int
flush_fail(void *ctx, const mime_uchar_t *data, size_t len)
{
    return MIME_ERROR;
}


static void
test_failures(void)
{
    int              rc;
    mime_buf_t       b;

    message_default();

    ok(compile("BODY[]") == NGX_MAIL_IMAPD_PARSE_OK
       && ngx_mail_imapd_fetch_write(fetch, &msg, NULL, 0, &b)
          == NGX_MAIL_IMAPD_PARSE_ERROR,
       "content needed but not given: an error");

    compile("BODY[]");
    msg.data = (const unsigned char *) sample;
    msg.len = strlen(sample);
    mime_buf_init(&b, &allocator, 0);
    b.flush = flush_fail;
    b.limit = 16;
    rc = ngx_mail_imapd_fetch_write(fetch, &msg,
                                    mime_parse(&allocator, msg.data, msg.len,
                                               NULL),
                                    0, &b);
    ok(rc == NGX_MAIL_IMAPD_PARSE_ERROR, "a failing flush: an error");
}


int
main(void)
{
    arena = mime_arena_create(0);
    mime_arena_allocator(arena, &allocator);

    test_simple();
    test_order();
    test_macros();
    test_structure();
    test_sections();
    test_partial();
    test_seen();
    test_errors();
    test_binary();
    test_streaming();
    test_failures();

    mime_arena_destroy(arena);

    printf("1..%u\n", tests);

    return failed ? 1 : 0;
}
