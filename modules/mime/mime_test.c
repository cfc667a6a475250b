
/*
 * Unit tests of the MIME library, printing TAP:
 *
 *   mime-test [group...]
 *
 * Groups: parse header address date words decode text imap section
 * limits utf8.  Without arguments all of them run.
 */

#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mime.h"
#include "test/mime_test_dovecot.h"


typedef struct {
    int                       tests;
    int                       failed;
    mime_arena_t             *arena;
    mime_allocator_t          allocator;
} mime_test_t;


static mime_test_t  T;


#define S(s)  (const mime_uchar_t *) (s), sizeof(s) - 1


static void
ok(int cond, const char *name)
{
    T.tests++;

    if (!cond) {
        T.failed++;
    }

    printf("%sok %d - %s\n", cond ? "" : "not ", T.tests, name);
}


static void
diag_bytes(const char *what, const void *p, size_t len)
{
    size_t               i;
    const mime_uchar_t  *s;

    s = p;
    printf("#   %s: '", what);

    for (i = 0; i < len; i++) {
        if (s[i] == '\r') {
            printf("\\r");

        } else if (s[i] == '\n') {
            printf("\\n");

        } else if (s[i] < 32 || s[i] >= 127) {
            printf("\\x%02x", s[i]);

        } else {
            putchar(s[i]);
        }
    }

    printf("'\n");
}


static void
is_bytes(const void *got, size_t len, const char *want, const char *name)
{
    int  same;

    same = (got != NULL && len == strlen(want) && memcmp(got, want, len) == 0)
           || (got == NULL && want == NULL);

    ok(same, name);

    if (!same) {
        diag_bytes("got", got ? got : "(null)", got ? len : 6);
        diag_bytes("expected", want ? want : "(null)",
                   want ? strlen(want) : 6);
    }
}


static void
is_str(const mime_str_t *s, const char *want, const char *name)
{
    is_bytes(s->data, s->len, want, name);
}


static void
is_num(long long got, long long want, const char *name)
{
    ok(got == want, name);

    if (got != want) {
        printf("#   got %lld, expected %lld\n", got, want);
    }
}


/* a copy with nothing after it, so ASan sees any read past the end */

static mime_message_t *
parse(const char *text, size_t len)
{
    mime_uchar_t  *copy;

    copy = mime_alloc(&T.allocator, len);
    memcpy(copy, text, len);

    return mime_parse(&T.allocator, copy, len, NULL);
}


static mime_message_t *
parse_str(const char *text)
{
    return parse(text, strlen(text));
}


static const mime_part_t *
child(const mime_part_t *part, unsigned n)
{
    for (part = part->children; part && --n; part = part->next) {
        /* void */
    }

    return part;
}


static void
is_span(const mime_message_t *msg, size_t start, size_t end,
    const char *want, const char *name)
{
    is_bytes(msg->data + start, end - start, want, name);
}


static void
is_bodystructure(const mime_message_t *msg, int extended, const char *want,
    const char *name)
{
    mime_buf_t  out;

    mime_buf_init(&out, &T.allocator, 0);
    mime_imap_bodystructure(msg, msg->root, &out, extended);
    is_bytes(out.data, out.len, want, name);
}


static void
is_envelope(const mime_message_t *msg, const char *want, const char *name)
{
    mime_buf_t  out;

    mime_buf_init(&out, &T.allocator, 0);
    mime_imap_envelope(msg, msg->root, &out);
    is_bytes(out.data, out.len, want, name);
}


/* parser */

static void
test_parse(void)
{
    mime_message_t     *msg;
    const mime_part_t  *p;

    msg = parse_str("From: a@b.test\r\n"
                    "Subject: folded\r\n"
                    " line\r\n"
                    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
                    "\r\n"
                    "preamble\r\n"
                    "--XX\r\n"
                    "Content-Type: text/plain\r\n"
                    "\r\n"
                    "one\r\n"
                    "two\r\n"
                    "--XX\r\n"
                    "\r\n"
                    "second\r\n"
                    "--XX--\r\n"
                    "epilogue\r\n");

    ok(msg != NULL, "multipart parses");
    p = msg->root;
    ok(p->flags & MIME_PART_MULTIPART, "root is multipart");
    is_num(p->nchildren, 2, "two parts");
    is_num(p->nheaders, 3, "three header fields, the folded one counted once");
    is_span(msg, p->header_start, p->header_end,
            "From: a@b.test\r\nSubject: folded\r\n line\r\n"
            "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n",
            "root header range includes the blank line");
    is_span(msg, p->body_start, p->body_end,
            "preamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\none\r\n"
            "two\r\n--XX\r\n\r\nsecond\r\n--XX--\r\nepilogue\r\n",
            "root body runs to the end, epilogue included");

    p = child(msg->root, 1);
    is_span(msg, p->header_start, p->header_end,
            "Content-Type: text/plain\r\n\r\n", "part 1 header");
    is_span(msg, p->body_start, p->body_end, "one\r\ntwo",
            "part 1 body: the CRLF before the boundary is not in it");
    is_num(p->body_lines, 1, "part 1 lines");
    is_num(p->body_vsize, 8, "part 1 size");
    ok(p->depth == 1 && p->parent == msg->root, "part 1 depth and parent");

    p = child(msg->root, 2);
    ok(p->flags & MIME_PART_DEFAULT_TYPE, "part 2 has the default type");
    ok(p->flags & MIME_PART_TEXT, "RFC 2046: default is text/plain");
    is_span(msg, p->body_start, p->body_end, "second", "part 2 body");

    /* LF only: sizes count a bare LF as CRLF, as IMAP sends it */
    msg = parse_str("Content-Type: multipart/mixed; boundary=b\n\n--b\n\n"
                    "x\ny\n--b--\n");
    p = child(msg->root, 1);
    is_span(msg, p->body_start, p->body_end, "x\ny", "LF: part body");
    is_num(p->body_vsize, 4, "LF: size with LF counted as CRLF");
    is_num(p->body_lines, 1, "LF: lines");
    is_num(msg->root->header_vsize, 45, "LF: header size as CRLF");

    /* missing final boundary */
    msg = parse_str("Content-Type: multipart/mixed; boundary=a\r\n\r\n"
                    "--a\r\n\r\nlast part\r\n");
    ok(msg->root->flags & MIME_PART_NO_END, "missing close boundary flagged");
    p = child(msg->root, 1);
    is_span(msg, p->body_start, p->body_end, "last part\r\n",
            "without a close boundary the part runs to the end");

    /* boundary inside quoted text */
    msg = parse_str("Content-Type: multipart/mixed; boundary=q\r\n\r\n"
                    "--q\r\n\r\n\"--q\" quoted\r\n> --q\r\n --q\r\n"
                    "--q--\r\n");
    is_num(msg->root->nchildren, 1, "a boundary not at line start is text");
    p = child(msg->root, 1);
    is_span(msg, p->body_start, p->body_end,
            "\"--q\" quoted\r\n> --q\r\n --q", "quoted boundary kept");

    /* empty parts */
    msg = parse_str("Content-Type: multipart/mixed; boundary=e\r\n\r\n"
                    "--e\r\n--e\r\nContent-Type: text/plain\r\n--e\r\n\r\n"
                    "--e--\r\n");
    is_num(msg->root->nchildren, 3, "three empty parts");
    p = child(msg->root, 1);
    ok(p->body_start == p->body_end && p->header_start == p->header_end,
       "part without header and body");
    p = child(msg->root, 2);
    ok(p->content_type != NULL && p->body_start == p->body_end,
       "part whose header runs into the boundary");
    p = child(msg->root, 3);
    ok(p->body_vsize == 0 && p->body_lines == 0, "part with empty body");

    /* nested boundaries, the longer one wins */
    msg = parse_str("Content-Type: multipart/mixed; boundary=abc\r\n\r\n"
                    "--abc\r\n"
                    "Content-Type: multipart/alternative; boundary=abc-1\r\n"
                    "\r\n--abc-1\r\n\r\ninner\r\n--abc-1--\r\n--abc--\r\n");
    p = child(msg->root, 1);
    ok(p && (p->flags & MIME_PART_MULTIPART) && p->nchildren == 1,
       "nested boundary that extends the outer one");

    /* message/rfc822 carries its own tree */
    msg = parse_str("Content-Type: message/rfc822\r\n\r\n"
                    "Subject: inner\r\n"
                    "Content-Type: multipart/mixed; boundary=i\r\n\r\n"
                    "--i\r\n\r\na\r\n--i\r\n\r\nb\r\n--i--\r\n");
    p = msg->root;
    ok((p->flags & MIME_PART_MESSAGE) && p->message != NULL,
       "message/rfc822 has an inner message");
    ok(p->message && p->message->nchildren == 2, "inner message tree");
    ok(p->message && p->message->body_end == p->body_end,
       "inner message ends with its part");

    /* the walk: root, inner root, its two parts, then the end */
    {
        const mime_part_t  *q[5];

        q[0] = msg->root;
        q[1] = mime_part_next(q[0]);
        q[2] = q[1] ? mime_part_next(q[1]) : NULL;
        q[3] = q[2] ? mime_part_next(q[2]) : NULL;
        q[4] = q[3] ? mime_part_next(q[3]) : NULL;

        ok(q[1] == p->message && q[2] == child(p->message, 1)
           && q[3] == child(p->message, 2) && q[3] != NULL && q[4] == NULL,
           "mime_part_next: pre-order, into the inner message, then done");
    }

    /* multipart/digest default */
    msg = parse_str("Content-Type: multipart/digest; boundary=d\r\n\r\n"
                    "--d\r\n\r\nSubject: x\r\n\r\nbody\r\n--d--\r\n");
    p = child(msg->root, 1);
    ok(p && (p->flags & MIME_PART_MESSAGE) && p->message,
       "RFC 2046 5.1.5: digest parts default to message/rfc822");

    /* no header/body separator, no body */
    msg = parse_str("Subject: x\r\nFrom: y");
    ok(msg->root->nheaders == 2 && msg->root->body_start == msg->len,
       "header without blank line runs to the end");

    msg = parse("", 0);
    ok(msg && msg->root->nheaders == 0, "empty message");

    /* 8-bit header */
    msg = parse_str("Subject: \xe4\r\n\r\n");
    ok(msg->root->flags & MIME_PART_8BIT_HEADER, "8-bit header flagged");
}


static void
test_deep(void)
{
    int                 i;
    char               *text, *p;
    mime_message_t     *msg;
    const mime_part_t  *part;

    text = malloc(50 * 80 + 200);
    p = text;

    for (i = 1; i <= 50; i++) {
        p += sprintf(p, "Content-Type: multipart/mixed; boundary=\"b%d\""
                     "\r\n\r\n--b%d\r\n", i, i);
    }

    p += sprintf(p, "Content-Type: text/plain\r\n\r\ndeep\r\n");

    for (i = 50; i >= 1; i--) {
        p += sprintf(p, "--b%d--\r\n", i);
    }

    msg = parse(text, p - text);
    free(text);

    for (part = msg->root, i = 0; part->children; part = part->children) {
        i++;
    }

    is_num(i, 50, "50-level nesting parsed to the bottom");
    is_num(part->depth, 50, "innermost part depth");
    is_span(msg, part->body_start, part->body_end, "deep", "innermost body");
    ok(!(msg->flags & (MIME_PART_NO_END|MIME_PART_OVERFLOW)),
       "all 50 close boundaries seen");
}


/* headers and MIME fields */

static void
test_header(void)
{
    mime_str_t       v, type, subtype, disp;
    unsigned         n;
    mime_str_t      *langs;
    mime_param_t    *params, *p;
    mime_header_t   *h;
    mime_message_t  *msg;

    msg = parse_str("Subject: one\r\n\ttwo\r\n  three  \r\n"
                    "X-Empty:\r\n"
                    "Obs-Name : value\r\n\r\n");

    h = mime_header_find(msg, msg->root, "subject");
    ok(h != NULL, "find is case-insensitive");
    mime_header_value(msg, h, &v);
    is_str(&v, "one\ttwo  three", "RFC 5322 2.2.3 unfolding");

    h = mime_header_find(msg, msg->root, "x-empty");
    mime_header_value(msg, h, &v);
    ok(h && v.len == 0, "empty field");

    h = mime_header_find(msg, msg->root, "obs-name");
    ok(h != NULL, "RFC 5322 4.5.3: space before the colon");

    mime_content_type_parse(&T.allocator,
        S("Text/HTML (comment); charset=\"utf\\-8\"; format=flowed; x=\"\""),
        &type, &subtype, &params);
    is_str(&type, "Text", "type");
    is_str(&subtype, "HTML", "subtype");
    p = mime_param_find(params, "CHARSET");
    ok(p != NULL, "param find is case-insensitive");
    is_str(&p->value, "utf-8", "quoted-pair in a quoted value");
    p = mime_param_find(params, "format");
    is_str(&p->value, "flowed", "token value");
    p = mime_param_find(params, "x");
    ok(p && p->value.len == 0, "empty quoted value");

    mime_content_type_parse(&T.allocator,
        S("application/x; name*0=\"long \"; name*2=\"end\"; name*1=mid"),
        &type, &subtype, &params);
    p = mime_param_find(params, "name");
    ok(p && !p->extended, "RFC 2231 continuation without charset");
    is_str(&p->value, "long midend", "RFC 2231 3: sections joined in order");

    mime_content_type_parse(&T.allocator,
        S("application/x; title*0*=iso-8859-1'fr'caf%E9; title*1=\" au\";"
          " title*2*=%20lait"), &type, &subtype, &params);
    p = mime_param_find(params, "title");
    ok(p && p->extended, "RFC 2231 4: extended value");
    is_str(&p->charset, "iso-8859-1", "RFC 2231 charset");
    is_str(&p->language, "fr", "RFC 2231 language");
    is_str(&p->value, "iso-8859-1'fr'caf%E9%20au%20lait",
           "extended value kept encoded, plain sections %-encoded");
    mime_param_decode(&T.allocator, p, &v);
    is_str(&v, "caf\xc3\xa9 au lait", "RFC 2231 value decoded to UTF-8");

    mime_content_type_parse(&T.allocator,
        S("text/plain; name=a b.pdf; other=x"), &type, &subtype, &params);
    p = mime_param_find(params, "name");
    is_str(&p->value, "a b.pdf", "broken unquoted value taken to ';'");

    mime_disposition_parse(&T.allocator,
        S("attachment; filename=\"r.pdf\"; size=12"), &disp, &params);
    is_str(&disp, "attachment", "RFC 2183 disposition");
    p = mime_param_find(params, "filename");
    is_str(&p->value, "r.pdf", "disposition filename");

    mime_language_parse(&T.allocator, S("en, de-CH (Swiss)"), &langs, &n);
    ok(n == 2, "RFC 3282 two languages");
    is_str(&langs[1], "de-CH", "second language");

    msg = parse_str("Content-Type: text/plain; charset=koi8-r\r\n"
                    "Content-Transfer-Encoding: Quoted-Printable\r\n"
                    "Content-ID: <id@x>\r\n"
                    "Content-Description: d\r\n"
                    "Content-Language: en\r\n"
                    "Content-Location: http://x/\r\n"
                    "Content-MD5: abc=\r\n"
                    "Content-Disposition: inline\r\n\r\nx");
    ok(msg->root->encoding_id == MIME_ENC_QP, "Content-Transfer-Encoding");
    is_str(&msg->root->charset, "koi8-r", "charset of the part");
    ok(msg->root->content_id && msg->root->content_description
       && msg->root->content_language && msg->root->content_location
       && msg->root->content_md5 && msg->root->content_disposition,
       "all content fields found");
}


/* RFC 5322 addresses */

static void
test_address(void)
{
    mime_address_t  *a;

    a = mime_address_parse(&T.allocator,
        S("\"Joe Q. Public\" <john.q.public@example.com>, Mary Smith"
          " <mary@x.test>, jdoe@one.test (John Doe)"));
    ok(a != NULL, "address list");
    is_str(&a->name, "Joe Q. Public", "quoted display name");
    is_str(&a->mailbox, "john.q.public", "mailbox");
    is_str(&a->domain, "example.com", "domain");
    a = a->next;
    is_str(&a->name, "Mary Smith", "atom display name");
    a = a->next;
    is_str(&a->mailbox, "jdoe", "bare addr-spec");
    is_str(&a->name, "John Doe", "comment used as the name");
    ok(a->next == NULL, "three addresses");

    a = mime_address_parse(&T.allocator,
        S("A Group(Some people):Chris Jones <c@(Chris's host.)public.test>,"
          " joe@example.org;, undisclosed-recipients:;"));
    ok(a && a->group_start, "RFC 5322 3.4 group start");
    is_str(&a->mailbox, "A Group", "group name, comment dropped");
    a = a->next;
    is_str(&a->domain, "public.test", "comment inside the domain");
    a = a->next->next;
    ok(a && a->group_end, "group end");
    a = a->next;
    ok(a && a->group_start && a->next && a->next->group_end,
       "empty group");

    a = mime_address_parse(&T.allocator,
        S("<@route1,@route2:user@host.test>"));
    is_str(&a->route, "@route1,@route2", "RFC 5322 4.4 obsolete route");
    is_str(&a->mailbox, "user", "mailbox after the route");

    a = mime_address_parse(&T.allocator,
        S("\"quoted local\"@q.test, Pete(A \\) chap) <pete(x)@silly.test>"));
    is_str(&a->mailbox, "quoted local", "quoted local-part unquoted");
    a = a->next;
    is_str(&a->name, "Pete", "name before a comment");
    is_str(&a->domain, "silly.test", "domain after comments");

    a = mime_address_parse(&T.allocator, S("foo, <C:junk@x>"));
    ok(a && a->invalid && a->domain.data == NULL, "phrase without address");
    ok(a->next && a->next->syntax_error, "junk inside angle brackets");

    a = mime_address_parse(&T.allocator, S("  "));
    ok(a == NULL, "empty list");
}


/* RFC 5322 dates */

static void
test_date(void)
{
    int     tz;
    time_t  t;

    ok(mime_date_parse(S("Tue, 1 Jul 2003 10:52:37 +0200"), &t, &tz)
       == MIME_OK, "RFC 5322 date");
    is_num(t, 1057049557, "timestamp");
    is_num(tz, 120, "zone");

    ok(mime_date_parse(S("1 Jan 70 00:00 EST"), &t, &tz) == MIME_OK,
       "obsolete: two-digit year, no seconds, named zone");
    is_num(t, 5 * 3600, "EST is -0500");

    mime_date_parse(S("Thu, 22 Aug 02 08:17:21 -0400 (EDT)"), &t, &tz);
    is_num(t, 1030018641, "RFC 5322 4.3: 02 is 2002, comment after zone");

    mime_date_parse(S("Thu, 21 Nov 102 09:55:06 -0600"), &t, &tz);
    is_num(t, 1037894106, "three-digit year is 1900+");

    mime_date_parse(S("Mon,  3 Sep 2001 9:05:00 GMT"), &t, &tz);
    is_num(t, 999507900, "single-digit hour, GMT");

    ok(mime_date_parse(S("Aug 22 2002 08:17:21"), &t, &tz) == MIME_OK
       && t == 1030004241, "month before day, no zone");

    ok(mime_date_parse(S("sometime yesterday"), &t, &tz) != MIME_OK,
       "garbage is declined");
    ok(mime_date_parse(S("32 Jan 2002 00:00 +0000"), &t, &tz) != MIME_OK,
       "day 32 is declined");
}


/* RFC 2047 encoded words */

static void
is_words(const char *in, const char *want, const char *name)
{
    mime_str_t  out;

    if (mime_words_decode(&T.allocator, (const mime_uchar_t *) in,
                          strlen(in), &out)
        != MIME_OK)
    {
        ok(0, name);
        return;
    }

    is_str(&out, want, name);
}


/* many word starts that never close: must not rescan to the end */

static void
test_words_linear(void)
{
    char        *in, *p;
    size_t       size;
    clock_t      start;
    double       secs;
    mime_str_t   out;

    size = 2 * 1024 * 1024;
    in = malloc(size + 16);

    for (p = in; (size_t) (p - in) < size; p += 7) {
        memcpy(p, "=?c?q?a", 7);
    }

    size = p - in;
    start = clock();
    mime_words_decode(&T.allocator, (mime_uchar_t *) in, size, &out);
    secs = (double) (clock() - start) / CLOCKS_PER_SEC;
    free(in);

    ok(out.len == size && secs < 2.0,
       "2 MB of unclosed encoded words decode in linear time");
}


static void
test_words(void)
{
    is_words("=?iso-8859-1?q?caf=E9?=", "caf\xc3\xa9", "Q word, latin1");
    is_words("=?UTF-8?B?w6lsw6h2ZQ==?=", "\xc3\xa9l\xc3\xa8ve", "B word");
    is_words("=?utf-8?q?a_b?=", "a b", "Q underscore is a space");
    is_words("=?utf-8?q?a?= =?utf-8?q?b?=", "ab",
             "RFC 2047 6.2: space between words dropped");
    is_words("=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab",
             "folded space between words dropped");
    is_words("x =?utf-8?q?a?= y", "x a y", "space next to text kept");
    is_words("=?utf-8?B?ww==?= =?utf-8?B?qQ==?=", "\xc3\xa9",
             "B bytes of one character over two words");
    is_words("=?utf-8?q?=C3?= =?utf-8?q?=A9?=", "\xc3\xa9",
             "Q bytes of one character over two words");
    is_words("=?ks_c_5601-1987?B?x9GxuQ==?=", "\xed\x95\x9c\xea\xb5\xad",
             "charset alias ks_c_5601-1987");
    is_words("=?x-no-such?q?abc?=", "abc", "unknown charset, ASCII text");
    is_words("=?x-no-such?q?=E9?=", "\xc3\xa9",
             "unknown charset, 8-bit read as windows-1252");
    is_words("=?utf-8*en?q?x?=", "x", "RFC 2231 language in the charset");
    is_words("=?utf-8?q?bad", "=?utf-8?q?bad", "unfinished word is text");
    is_words("=?utf-8?x?abc?=", "=?utf-8?x?abc?=", "unknown encoding kept");
    is_words("caf\xc3\xa9", "caf\xc3\xa9", "raw UTF-8 passes");
    is_words("caf\xe9", "caf\xc3\xa9", "raw 8-bit read as windows-1252");
    is_words("=?utf-8?q?=FF?=", "\xef\xbf\xbd", "bad UTF-8 is U+FFFD");
    test_words_linear();
}


/* transfer decoders */

static void
is_b64(const char *in, const char *want, const char *name)
{
    size_t         n;
    mime_uchar_t   out[256];

    n = mime_base64_decode(out, (const mime_uchar_t *) in, strlen(in));
    is_bytes(out, n, want, name);
}


static void
is_qp(const char *in, const char *want, const char *name)
{
    size_t         n;
    mime_uchar_t   out[256];

    n = mime_qp_decode(out, (const mime_uchar_t *) in, strlen(in), 0);
    is_bytes(out, n, want, name);
}


static void
test_decode(void)
{
    mime_str_t       body;
    mime_message_t  *msg;

    is_b64("aGVsbG8gd29ybGQ=", "hello world", "base64");
    is_b64("aGVs\r\nbG8g\r\nd29y bGQ", "hello world",
           "base64 with line breaks, no padding");
    is_b64("aG!V*sbG8", "hello", "base64 junk skipped");
    is_b64("aGk=aGk=", "hihi", "concatenated padded blocks");
    is_b64("", "", "empty base64");

    is_qp("caf=C3=A9", "caf\xc3\xa9", "QP hex");
    is_qp("caf=c3=a9", "caf\xc3\xa9", "QP lower-case hex");
    is_qp("soft=\r\nbreak", "softbreak", "QP soft break CRLF");
    is_qp("soft=\nbreak", "softbreak", "QP soft break LF");
    is_qp("soft= \t\r\nbreak", "softbreak", "QP soft break after blanks");
    is_qp("trail   \r\nx", "trail\r\nx", "RFC 2045 6.7 rule 3: blanks cut");
    is_qp("a  b", "a  b", "inner blanks kept");
    is_qp("1=2 and =ZZ", "1=2 and =ZZ", "bad = kept");
    is_qp("end=", "end", "= at the end");

    msg = parse_str("Content-Transfer-Encoding: base64\r\n\r\naGk=\r\n");
    mime_part_decode(msg, msg->root, &T.allocator, &body);
    is_str(&body, "hi", "part decode base64");

    msg = parse_str("Content-Transfer-Encoding: x-uuencode\r\n\r\nraw");
    mime_part_decode(msg, msg->root, &T.allocator, &body);
    is_str(&body, "raw", "unknown encoding returned raw");
}


/* text extraction */

static void
test_text(void)
{
    mime_buf_t       out;
    mime_message_t  *msg;

    msg = parse_str("Subject: =?utf-8?q?h=C3=A9?=\r\n"
                    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                    "--b\r\n"
                    "Content-Type: text/plain; charset=iso-8859-1\r\n"
                    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                    "caf=E9\r\n"
                    "--b\r\n"
                    "Content-Type: image/png\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n"
                    "aGk=\r\n"
                    "--b\r\n"
                    "Content-Type: text/html; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n"
                    "PHA+YSAmYW1wOyBiPC9wPjxzY3JpcHQ+eDwvc2NyaXB0Pg==\r\n"
                    "--b\r\n"
                    "Content-Type: message/rfc822\r\n\r\n"
                    "Subject: inner\r\n\r\n"
                    "inner text\r\n"
                    "--b--\r\n");

    mime_buf_init(&out, &T.allocator, 0);
    mime_text_extract(msg, &out, MIME_TEXT_HTML_STRIP|MIME_TEXT_HEADERS);
    is_bytes(out.data, out.len,
             "h\xc3\xa9\ncaf\xc3\xa9\n a & b  \ninner\ninner text\n",
             "text parts decoded to UTF-8, HTML stripped, images skipped");

    mime_buf_init(&out, &T.allocator, 0);
    mime_text_extract(msg, &out, 0);
    ok(out.len > 3 && memchr(out.data, '<', out.len) != NULL,
       "HTML kept without the strip flag");
}


/* IMAP strings */

static void
is_nstring(const char *in, const char *want, const char *name)
{
    mime_buf_t  out;

    mime_buf_init(&out, &T.allocator, 0);
    mime_imap_nstring(&out, (const mime_uchar_t *) in, in ? strlen(in) : 0);
    is_bytes(out.data, out.len, want, name);
}


static void
is_human(const char *in, const char *want, const char *name)
{
    mime_buf_t  out;

    mime_buf_init(&out, &T.allocator, 0);
    mime_imap_string_human(&out, (const mime_uchar_t *) in, strlen(in));
    is_bytes(out.data, out.len, want, name);
}


static void
test_imap(void)
{
    char                        name[128];
    mime_message_t             *msg;
    const mime_test_dovecot_t  *t;

    is_nstring(NULL, "NIL", "nstring NIL");
    is_nstring("abc", "\"abc\"", "nstring quoted");
    is_nstring("a\"b\\c", "\"a\\\"b\\\\c\"", "nstring escapes");
    is_nstring("\"\"\"\"\"", "{5}\r\n\"\"\"\"\"",
               "nstring literal after four escapes");
    is_nstring("\xc3\xa9", "{2}\r\n\xc3\xa9", "nstring literal for 8-bit");
    is_nstring("a\r\nb", "{4}\r\na\r\nb", "nstring literal for CRLF");
    is_human("plain text", "\"plain text\"", "human text quoted");
    is_human(" a \t b  ", "{3}\r\na b", "human text: blanks squeezed");
    is_human("say \"hi\"", "{8}\r\nsay \"hi\"", "human text with quotes");
    is_human("   ", "\"\"", "human text: only blanks");

    for (t = mime_test_dovecot; t->name; t++) {
        msg = parse(t->message, t->len);

        snprintf(name, sizeof(name), "ENVELOPE %s as Dovecot", t->name);
        is_envelope(msg, t->envelope, name);

        snprintf(name, sizeof(name), "BODYSTRUCTURE %s as Dovecot",
                 t->name);
        is_bodystructure(msg, 1, t->bodystructure, name);
    }

    msg = parse_str("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                    "--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    "Content-Disposition: inline\r\n\r\nx\r\n--b--\r\n");
    is_bodystructure(msg, 0,
                     "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL"
                     " \"7bit\" 1 0) \"mixed\")",
                     "BODY has no extension data");
    is_bodystructure(msg, 1,
                     "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL"
                     " \"7bit\" 1 0 NIL (\"inline\" NIL) NIL NIL) \"mixed\""
                     " (\"boundary\" \"b\") NIL NIL NIL)",
                     "BODYSTRUCTURE extension data");
}


/* streaming output */

typedef struct {
    char                      data[4096];
    size_t                    len;
    unsigned                  calls;
} flush_sink_t;


static int
flush_sink(void *ctx, const mime_uchar_t *p, size_t len)
{
    flush_sink_t  *sink;

    sink = ctx;

    if (sink->len + len > sizeof(sink->data)) {
        return MIME_ERROR;
    }

    memcpy(sink->data + sink->len, p, len);
    sink->len += len;
    sink->calls++;

    return MIME_OK;
}


static void
test_stream(void)
{
    mime_buf_t       out;
    flush_sink_t     sink;
    mime_message_t  *msg;

    msg = parse(mime_test_dovecot[0].message, mime_test_dovecot[0].len);

    memset(&sink, 0, sizeof(flush_sink_t));
    mime_buf_init(&out, &T.allocator, 0);
    out.flush = flush_sink;
    out.flush_ctx = &sink;
    out.limit = 16;

    mime_imap_bodystructure(msg, msg->root, &out, 1);
    mime_buf_flush(&out);

    is_bytes(sink.data, sink.len, mime_test_dovecot[0].bodystructure,
             "BODYSTRUCTURE streamed in 16-byte pieces");
    ok(sink.calls > 10 && out.size <= 256, "buffer stays small");
}


/* sections */

static void
is_section(const mime_message_t *msg, const char *spec, const char *want,
    const char *name)
{
    mime_buf_t      out;
    mime_section_t  sec;

    mime_buf_init(&out, &T.allocator, 0);

    if (mime_section_parse((const mime_uchar_t *) spec, strlen(spec), &sec)
        != MIME_OK
        || mime_section_write(msg, &sec, &out) != MIME_OK)
    {
        ok(want == NULL, name);
        return;
    }

    is_bytes(out.data, out.len, want, name);
}


static void
test_section(void)
{
    mime_message_t  *msg;

    msg = parse_str("From: a@b\r\nSubject: s\r\n"
                    "Content-Type: multipart/mixed; boundary=o\r\n\r\n"
                    "--o\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
                    "--o\r\nContent-Type: multipart/alternative; boundary=i"
                    "\r\n\r\n"
                    "--i\r\nContent-Type: text/plain\r\n\r\nalt1\r\n"
                    "--i\r\nContent-Type: message/rfc822\r\n\r\n"
                    "To: x@y\r\nSubject: inner\r\n\r\ninner body\r\n"
                    "--i--\r\n--o--\r\n");

    is_section(msg, "HEADER",
               "From: a@b\r\nSubject: s\r\n"
               "Content-Type: multipart/mixed; boundary=o\r\n\r\n",
               "BODY[HEADER]");
    is_section(msg, "1", "first", "BODY[1]");
    is_section(msg, "1.MIME", "Content-Type: text/plain\r\n\r\n",
               "BODY[1.MIME]");
    is_section(msg, "2.1", "alt1", "BODY[2.1]");
    is_section(msg, "2.2.HEADER", "To: x@y\r\nSubject: inner\r\n\r\n",
               "BODY[2.2.HEADER] of a message/rfc822 part");
    is_section(msg, "2.2.TEXT", "inner body", "BODY[2.2.TEXT]");
    is_section(msg, "2.2.MIME", "Content-Type: message/rfc822\r\n\r\n",
               "BODY[2.2.MIME]");
    is_section(msg, "2.2.1", "inner body",
               "BODY[2.2.1]: the body of a single-part inner message");
    is_section(msg, "HEADER.FIELDS (subject FROM)",
               "From: a@b\r\nSubject: s\r\n\r\n", "HEADER.FIELDS");
    is_section(msg, "HEADER.FIELDS.NOT (Content-Type From)",
               "Subject: s\r\n\r\n", "HEADER.FIELDS.NOT");
    is_section(msg, "2.2.HEADER.FIELDS (Subject)",
               "Subject: inner\r\n\r\n", "HEADER.FIELDS of an inner message");
    is_section(msg, "3", NULL, "no part 3");
    is_section(msg, "1.1", NULL, "no part 1.1 in a text part");
    is_section(msg, "0", NULL, "part 0 is invalid");
    is_section(msg, "MIME", NULL, "MIME needs a part");
    is_section(msg, "HEADER.FIELDS ()", NULL, "empty field list");

    msg = parse_str("Subject: single\r\n\r\nonly body\r\n");
    is_section(msg, "1", "only body\r\n", "BODY[1] of a single-part message");
    is_section(msg, "TEXT", "only body\r\n", "BODY[TEXT]");
    is_section(msg, "", "Subject: single\r\n\r\nonly body\r\n", "BODY[]");
}


/* limits and linear time */

static void
test_limits(void)
{
    int              i;
    char            *text, *p;
    size_t           size;
    clock_t          start;
    double           secs;
    mime_limits_t    limits;
    mime_message_t  *msg;

    /* depth */
    memset(&limits, 0, sizeof(limits));
    limits.max_depth = 5;
    text = malloc(100 * 80);
    p = text;

    for (i = 1; i <= 20; i++) {
        p += sprintf(p, "Content-Type: multipart/mixed; boundary=\"=_%d_=\""
                     "\r\n\r\n--=_%d_=\r\n", i, i);
    }

    msg = mime_parse(&T.allocator, (mime_uchar_t *) text, p - text,
                     &limits);
    ok(msg && (msg->flags & MIME_PART_OVERFLOW), "depth limit flagged");
    is_num(msg->nparts, 5, "depth limit stops nesting");

    /* parts */
    limits.max_depth = 0;
    limits.max_parts = 10;
    p = text;
    p += sprintf(p, "Content-Type: multipart/mixed; boundary=b\r\n\r\n");

    for (i = 0; i < 50; i++) {
        p += sprintf(p, "--b\r\n\r\n%d\r\n", i);
    }

    msg = mime_parse(&T.allocator, (mime_uchar_t *) text, p - text,
                     &limits);
    ok(msg && msg->nparts == 10 && (msg->flags & MIME_PART_OVERFLOW),
       "part limit");

    /* headers */
    limits.max_parts = 0;
    limits.max_headers = 3;
    p = text;

    for (i = 0; i < 10; i++) {
        p += sprintf(p, "X-H%d: v\r\n folded\r\n", i);
    }

    p += sprintf(p, "\r\nbody");
    msg = mime_parse(&T.allocator, (mime_uchar_t *) text, p - text,
                     &limits);
    ok(msg && msg->root->nheaders == 3
       && (msg->root->flags & MIME_PART_HEADER_LIMIT), "header limit");
    is_span(msg, msg->root->body_start, msg->root->body_end, "body",
            "body found after dropped headers");
    free(text);

    /*
     * Linear time: 100 nested boundaries, then 4 MB of lines that start
     * like boundaries but are none.  Quadratic scanning would take
     * minutes; we take milliseconds.
     */
    size = 4 * 1024 * 1024;
    text = malloc(size + 100 * 80);
    p = text;

    for (i = 1; i < 100; i++) {
        p += sprintf(p, "Content-Type: multipart/mixed; boundary=\"b%d\""
                     "\r\n\r\n--b%d\r\n", i, i);
    }

    while ((size_t) (p - text) < size) {
        memcpy(p, "--b5x\r\n", 7);
        p += 7;
    }

    start = clock();
    msg = mime_parse(&T.allocator, (mime_uchar_t *) text, p - text, NULL);
    secs = (double) (clock() - start) / CLOCKS_PER_SEC;
    ok(msg != NULL && secs < 2.0, "adversarial 4 MB parses in linear time");
    printf("# 4 MB of near-boundaries parsed in %.3f s\n", secs);

    p = text;

    while ((size_t) (p - text) < size) {
        memcpy(p, "X: y\r\n", 6);
        p += 6;
    }

    start = clock();
    msg = mime_parse(&T.allocator, (mime_uchar_t *) text, p - text, NULL);
    secs = (double) (clock() - start) / CLOCKS_PER_SEC;
    ok(msg != NULL && (msg->root->flags & MIME_PART_HEADER_LIMIT)
       && secs < 2.0, "4 MB of header lines: bounded and linear");

    free(text);
}


/* UTF-8, RFC 3629 4 */

typedef struct {
    const char               *bytes;
    size_t                    len;       /* what decode may read */
    size_t                    n;         /* 0: ill-formed */
    uint32_t                  cp;
    const char               *name;
} mime_test_utf8_t;


#define U(s)  s, sizeof(s) - 1


static const mime_test_utf8_t  mime_test_utf8[] = {
    { U(""), 0, 0, "nothing before end" },
    { U("A"), 1, 'A', "ASCII" },
    { U("\x7f"), 1, 0x7f, "7F, the last one-octet form" },
    { U("\x80"), 0, 0, "lone continuation 80" },
    { U("\xbf\x80"), 0, 0, "lone continuation BF" },
    { U("\xc0\x80"), 0, 0, "C0 never begins one (overlong NUL)" },
    { U("\xc1\xbf"), 0, 0, "C1 never begins one (overlong 7F)" },
    { U("\xc2\x80"), 2, 0x80, "C2 80, the first two-octet form" },
    { U("\xdf\xbf"), 2, 0x7ff, "DF BF, the last two-octet form" },
    { U("\xc3\xa9z"), 2, 0xe9, "a sequence ends where it should" },
    { U("\xc2"), 0, 0, "C2 cut short by end" },
    { U("\xc2\x41"), 0, 0, "C2 and no continuation" },
    { U("\xc2\xc0"), 0, 0, "C2 and a lead octet" },
    { U("\xe0\x9f\xbf"), 0, 0, "E0 9F: overlong" },
    { U("\xe0\xa0\x80"), 3, 0x800, "E0 A0 80, the first three-octet form" },
    { U("\xe1\x80\x80"), 3, 0x1000, "E1 80 80" },
    { U("\xed\x9f\xbf"), 3, 0xd7ff, "ED 9F BF, U+D7FF" },
    { U("\xed\xa0\x80"), 0, 0, "ED A0 80: surrogate D800" },
    { U("\xed\xbf\xbf"), 0, 0, "ED BF BF: surrogate DFFF" },
    { U("\xee\x80\x80"), 3, 0xe000, "EE 80 80, U+E000" },
    { U("\xef\xbf\xbf"), 3, 0xffff, "EF BF BF, U+FFFF" },
    { U("\xe0\xa0"), 0, 0, "E0 A0 cut short by end" },
    { U("\xe1\x80\x41"), 0, 0, "three-octet form, third octet ASCII" },
    { U("\xe1\xc0\x80"), 0, 0, "three-octet form, second octet C0" },
    { U("\xf0\x8f\xbf\xbf"), 0, 0, "F0 8F: overlong" },
    { U("\xf0\x90\x80\x80"), 4, 0x10000, "F0 90 80 80, U+10000" },
    { U("\xf3\xbf\xbf\xbf"), 4, 0xfffff, "F3 BF BF BF" },
    { U("\xf4\x8f\xbf\xbf"), 4, 0x10ffff, "F4 8F BF BF, U+10FFFF" },
    { U("\xf4\x90\x80\x80"), 0, 0, "F4 90 80 80: past U+10FFFF" },
    { U("\xf0\x90\x80"), 0, 0, "F0 90 80 cut short by end" },
    { U("\xf1\x80\x80\xc0"), 0, 0, "four-octet form, fourth octet C0" },
    { U("\xf5\x80\x80\x80"), 0, 0, "F5 never begins one" },
    { U("\xf8\x88\x80\x80\x80"), 0, 0, "F8: no five-octet forms" },
    { U("\xfe"), 0, 0, "FE" },
    { U("\xff"), 0, 0, "FF" },
    { "\xc3\xa9", 1, 0, 0, "end inside a two-octet form" },
    { "\xe2\x82\xac", 2, 0, 0, "end inside a three-octet form" },
    { "\xf0\x9f\x98\x80", 3, 0, 0, "end inside a four-octet form" },
    { NULL, 0, 0, 0, NULL }
};


static void
is_utf8_repair(const char *in, const char *want, const char *name)
{
    int         rc;
    mime_buf_t  out;

    mime_buf_init(&out, &T.allocator, 0);
    rc = mime_charset_to_utf8(&T.allocator, S("utf-8"),
                              (const mime_uchar_t *) in, strlen(in), &out);
    if (rc != MIME_OK) {
        ok(0, name);
        return;
    }

    is_bytes(out.data, out.len, want, name);
}


/* each length's edges, and what UTF-8 cannot carry, round trip */

static void
test_utf8_encode(void)
{
    char          name[32];
    size_t        i, n, back;
    uint32_t      cp;
    mime_uchar_t  u[4];

    static const struct {
        uint32_t  cp;
        size_t    n;
        uint32_t  decoded;
    } cases[] = {
        { 0x00, 1, 0x00 }, { 0x7f, 1, 0x7f }, { 0x80, 2, 0x80 },
        { 0x7ff, 2, 0x7ff }, { 0x800, 3, 0x800 }, { 0xd7ff, 3, 0xd7ff },
        { 0xd800, 3, 0xfffd }, { 0xdfff, 3, 0xfffd }, { 0xe000, 3, 0xe000 },
        { 0xffff, 3, 0xffff }, { 0x10000, 4, 0x10000 },
        { 0x10ffff, 4, 0x10ffff }, { 0x110000, 3, 0xfffd },
        { 0xffffffff, 3, 0xfffd }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = mime_utf8_encode(cases[i].cp, u);
        back = mime_utf8_decode(u, u + n, &cp);

        snprintf(name, sizeof(name), "encode U+%04X", (unsigned) cases[i].cp);
        ok(n == cases[i].n && back == n && cp == cases[i].decoded, name);
    }
}


static void
test_utf8(void)
{
    size_t                   n;
    uint32_t                 cp;
    mime_uchar_t            *copy;
    const mime_test_utf8_t  *t;

    for (t = mime_test_utf8; t->name; t++) {
        /* a copy just long enough, so ASan sees a read past "end" */
        copy = malloc(t->len ? t->len : 1);
        memcpy(copy, t->bytes, t->len);

        cp = 0xdeadbeef;
        n = mime_utf8_decode(copy, copy + t->len, &cp);

        /* an ill-formed sequence leaves *cp alone */
        ok(n == t->n && cp == (t->n ? t->cp : 0xdeadbeef), t->name);

        if (n != t->n || cp != (t->n ? t->cp : 0xdeadbeef)) {
            printf("#   got %zu octets, U+%04X\n", n, (unsigned) cp);
        }

        free(copy);
    }

    test_utf8_encode();

    /* a labelled part keeps what is valid, each bad octet is U+FFFD */
    is_utf8_repair("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                   "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                   "valid UTF-8 copied whole");
    is_utf8_repair("a\xed\xa0\x80z",
                   "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz",
                   "a surrogate is three U+FFFD");
    is_utf8_repair("\xc0\xaf\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd"
                   "\xef\xbf\xbd\xef\xbf\xbd", "overlong and cut short");
}


typedef struct {
    const char               *name;
    void                    (*run)(void);
} mime_test_group_t;


static const mime_test_group_t  mime_test_groups[] = {
    { "parse", test_parse },
    { "parse", test_deep },
    { "header", test_header },
    { "address", test_address },
    { "date", test_date },
    { "words", test_words },
    { "decode", test_decode },
    { "text", test_text },
    { "imap", test_imap },
    { "imap", test_stream },
    { "section", test_section },
    { "limits", test_limits },
    { "utf8", test_utf8 },
    { NULL, NULL }
};


int
main(int argc, char **argv)
{
    int                       i, want;
    const mime_test_group_t  *g;

    T.arena = mime_arena_create(0);
    mime_arena_allocator(T.arena, &T.allocator);

    for (g = mime_test_groups; g->name; g++) {
        want = (argc == 1);

        for (i = 1; i < argc; i++) {
            if (strcmp(argv[i], g->name) == 0) {
                want = 1;
            }
        }

        if (want) {
            printf("# %s\n", g->name);
            g->run();
        }
    }

    printf("1..%d\n", T.tests);
    mime_arena_destroy(T.arena);

    return T.failed ? 1 : 0;
}
