
/*
 * Unit tests of the IMAP command parser, sequence sets and modified
 * UTF-7, printing TAP for t/imap-05-parser.t.
 *
 * Most command tests run a small server loop over what a client sends
 * and compare a transcript of what the loop saw: "OK tag NAME args"
 * per command, "BAD tag reason" per error, "REFUSED tag size" per
 * literal refused.  Arguments print as: atom, "quoted", {n}literal,
 * {n+}literal, ~{n}literal8, {n}<external>, (list).
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ngx_mail_imapd_parse.h"
#include "ngx_mail_imapd_seqset.h"
#include "ngx_mail_imapd_utf7.h"


#define LOG_MAX      8192
#define BUF_MAX      (1 << 17)
#define NODES_MAX    128

/* the loop's choice at a literal */
#define INLINE       0     /* inline if it fits, else refuse */
#define EXTERNAL     1     /* every literal streamed "to storage" */


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
diag(const char *what, const char *s)
{
    const char  *nl;

    printf("# %s:\n", what);

    while (*s) {
        nl = strchr(s, '\n');

        if (nl == NULL) {
            printf("#   %s\n", s);
            break;
        }

        printf("#   %.*s\n", (int) (nl - s), s);
        s = nl + 1;
    }
}


/* the transcript */

static char           log_buf[LOG_MAX];
static size_t         log_len;
static char           stored[LOG_MAX];
static size_t         stored_len;


static void
say(const char *fmt, ...)
{
    va_list  ap;
    int      n;

    va_start(ap, fmt);
    n = vsnprintf(log_buf + log_len, LOG_MAX - log_len, fmt, ap);
    va_end(ap);

    if (n > 0) {
        log_len += (size_t) n;

        if (log_len >= LOG_MAX) {
            log_len = LOG_MAX - 1;
        }
    }
}


static void
say_str(const ngx_mail_imapd_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] >= 0x20 && s->data[i] < 0x7f) {
            say("%c", s->data[i]);

        } else {
            say("\\x%02x", s->data[i]);
        }
    }
}


static ngx_mail_imapd_parse_conf_t  conf;
static ngx_mail_imapd_node_t        nodes[NODES_MAX];
static unsigned char                scratch[BUF_MAX];
static unsigned char                buf[BUF_MAX];
static ngx_mail_imapd_parser_t      ps;

/* of the last command parsed, as parse_init() clears ps */
static uint32_t                     last_nnodes;
static uint32_t                     last_nargs;
static ngx_mail_imapd_str_t         last_name;


static void
conf_default(void)
{
    conf.max_line = 1024;
    conf.max_inline = 64;
    conf.max_depth = 4;
    conf.literal_plus = NGX_MAIL_IMAPD_LITERAL_PLUS;
    ps.max_nodes = 32;
}


static void
say_nodes(uint32_t i)
{
    ngx_mail_imapd_node_t  *n;

    for ( /* void */ ; i != NGX_MAIL_IMAPD_NODE_NONE; i = n->next) {
        n = &nodes[i];

        say(" ");

        switch (n->type) {

        case NGX_MAIL_IMAPD_NODE_ATOM:
            say_str(&n->value);
            break;

        case NGX_MAIL_IMAPD_NODE_QUOTED:
            say("\"");
            say_str(&n->value);
            say("\"");
            break;

        case NGX_MAIL_IMAPD_NODE_LITERAL:
            say("%s{%zu%s}", n->binary ? "~" : "", n->value.len,
                n->sync ? "" : "+");

            if (n->external) {
                say("<external>");

            } else {
                say_str(&n->value);
            }

            break;

        case NGX_MAIL_IMAPD_NODE_LIST:
            say("(");

            if (n->child != NGX_MAIL_IMAPD_NODE_NONE) {
                say_nodes(n->child);
            }

            say(" )");
            break;
        }
    }
}


/*
 * The input arrives in reads of "first" octets, then "chunk" octets;
 * the loop reads only when the parser asks for more.
 */

static const char *
session(const char *input, size_t len, size_t first, size_t chunk,
    unsigned policy)
{
    int       rc;
    size_t    in_pos, n, have, from, used, bufsize, steps;
    uint64_t  left;

    log_len = 0;
    log_buf[0] = '\0';
    stored_len = 0;

    ps.conf = &conf;
    ps.nodes = nodes;
    ps.scratch = scratch;
    ps.scratch_size = conf.max_line;
    bufsize = conf.max_line + conf.max_inline;

    if (bufsize > BUF_MAX) {
        bufsize = BUF_MAX;
    }

    ngx_mail_imapd_parse_init(&ps);

    in_pos = 0;
    have = 0;
    n = first;

#define READ_MORE()                                                          \
    do {                                                                     \
        size_t  m = len - in_pos;                                            \
        if (m == 0) { goto eof; }                                            \
        if (m > n) { m = n; }                                                \
        if (m > bufsize - have) { m = bufsize - have; }                      \
        if (m == 0) { say("BUFFER FULL\n"); goto eof; }                      \
        memcpy(buf + have, input + in_pos, m);                               \
        have += m; in_pos += m; n = chunk;                                   \
    } while (0)

    for (steps = 0; steps < 100000; steps++) {
        rc = ngx_mail_imapd_parse_command(&ps, buf, buf + have);

        switch (rc) {

        case NGX_MAIL_IMAPD_PARSE_OK:
            say("OK ");
            say_str(&ps.tag);
            say(" %s", ps.uid ? "UID " : "");
            say_str(&ps.name);

            if (ps.nnodes) {
                say_nodes(0);
            }

            say("\n");

            last_nnodes = ps.nnodes;
            last_nargs = ps.nargs;
            last_name = ps.name;

            memmove(buf, buf + ps.pos, have - ps.pos);
            have -= ps.pos;
            ngx_mail_imapd_parse_init(&ps);
            continue;

        case NGX_MAIL_IMAPD_PARSE_AGAIN:
            READ_MORE();
            continue;

        case NGX_MAIL_IMAPD_PARSE_LITERAL:
            if (policy == INLINE && ps.literal.inline_ok) {
                continue;
            }

            if (policy == INLINE) {
                say("REFUSED ");
                say_str(&ps.tag);
                say(" %llu\n", (unsigned long long) ps.literal.size);
                ngx_mail_imapd_parse_reject(&ps);
                goto skip;
            }

            /* external: to "stored", from the buffer, then the input */
            left = ps.literal.size;
            from = ps.pos;

            while (left) {
                if (from == have) {
                    have = from;
                    READ_MORE();
                }

                used = have - from;

                if (used > left) {
                    used = (size_t) left;
                }

                if (stored_len + used < LOG_MAX) {
                    memcpy(stored + stored_len, buf + from, used);
                    stored_len += used;
                }

                memmove(buf + from, buf + from + used, have - from - used);
                have -= used;
                left -= used;
            }

            ngx_mail_imapd_parse_literal_external(&ps);
            continue;

        default:
            say("BAD %s", ps.tag.len ? "" : "*");
            say_str(&ps.tag);
            say(" ");
            say_str(&ps.error);
            say("\n");

        skip:
            from = ps.pos;

            for ( ;; ) {
                rc = ngx_mail_imapd_parse_skip(&ps, buf + from, buf + have,
                                               &used);

                if (rc == NGX_MAIL_IMAPD_PARSE_OK) {
                    break;
                }

                if (rc != NGX_MAIL_IMAPD_PARSE_AGAIN) {
                    say("SKIP ERROR\n");
                    goto eof;
                }

                have = 0;
                from = 0;
                READ_MORE();
            }

            memmove(buf, buf + from + used, have - from - used);
            have -= from + used;
            ngx_mail_imapd_parse_init(&ps);
        }
    }

    say("LOOP\n");

eof:

    if (have) {
        say("LEFT %zu\n", have);
    }

    return log_buf;
}


static void
expect_policy(const char *in, size_t len, unsigned policy, const char *out,
    const char *name)
{
    const char  *got;
    size_t       i;
    int          good;

    got = session(in, len, len, len, policy);
    good = strcmp(got, out) == 0;
    ok(good, "%s", name);

    if (!good) {
        diag("expected", out);
        diag("got", got);
        return;
    }

    /* the same an octet at a time, and split at every position */

    got = session(in, len, 1, 1, policy);
    good = strcmp(got, out) == 0;

    for (i = 1; good && i < len; i++) {
        got = session(in, len, i, len, policy);
        good = strcmp(got, out) == 0;
    }

    ok(good, "%s, split at every octet", name);

    if (!good) {
        printf("# split at %zu\n", i - 1);
        diag("got", got);
    }
}


#define EXPECT(in, out, name)                                                \
    expect_policy(in, sizeof(in) - 1, INLINE, out, name)
#define EXPECT_EXT(in, out, name)                                            \
    expect_policy(in, sizeof(in) - 1, EXTERNAL, out, name)


static void
test_thunderbird(void)
{
    conf_default();

    EXPECT("1 capability\r\n", "OK 1 capability\n", "capability");
    EXPECT("2 authenticate PLAIN\r\n", "OK 2 authenticate PLAIN\n",
           "authenticate");
    EXPECT("3 ID (\"name\" \"Thunderbird\" \"version\" \"115\")\r\n",
           "OK 3 ID ( \"name\" \"Thunderbird\" \"version\" \"115\" )\n",
           "ID with a list of strings");
    EXPECT("4 select \"INBOX\" (CONDSTORE)\r\n",
           "OK 4 select \"INBOX\" ( CONDSTORE )\n", "select CONDSTORE");
    EXPECT("5 UID fetch 1:* (FLAGS)\r\n", "OK 5 UID fetch 1:* ( FLAGS )\n",
           "UID fetch");
    EXPECT("6 UID fetch 1:4 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS "
           "(From To Cc Bcc Subject Date Message-ID Priority X-Priority "
           "References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n",
           "OK 6 UID fetch 1:4 ( UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS "
           "(From To Cc Bcc Subject Date Message-ID Priority X-Priority "
           "References Newsgroups In-Reply-To Content-Type Reply-To)] )\n",
           "UID fetch with HEADER.FIELDS: one atom");
    EXPECT("7 IDLE\r\n", "OK 7 IDLE\n", "IDLE");
    EXPECT("8 namespace\r\n9 list (SUBSCRIBED) \"\" \"*\" RETURN "
           "(CHILDREN SPECIAL-USE)\r\n10 getquotaroot \"INBOX\"\r\n",
           "OK 8 namespace\n"
           "OK 9 list ( SUBSCRIBED ) \"\" \"*\" RETURN ( CHILDREN "
           "SPECIAL-USE )\n"
           "OK 10 getquotaroot \"INBOX\"\n", "pipelined commands");
    EXPECT("11 UID STORE 3 +FLAGS (\\Seen \\Flagged $Junk)\r\n",
           "OK 11 UID STORE 3 +FLAGS ( \\Seen \\Flagged $Junk )\n",
           "UID STORE with flags");
    EXPECT("12 UID fetch 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n",
           "OK 12 UID fetch 1:* ( FLAGS ) ( CHANGEDSINCE 12345 )\n",
           "CHANGEDSINCE");
    EXPECT_EXT("A APPEND \"Sent\" (\\Seen) \"23-Nov-2026 10:00:00 +0000\" "
               "{12+}\r\nHello world!\r\nB NOOP\r\n",
               "OK A APPEND \"Sent\" ( \\Seen ) \"23-Nov-2026 10:00:00 "
               "+0000\" {12+}<external>\nOK B NOOP\n",
               "APPEND streamed");
    ok(stored_len == 12 && memcmp(stored, "Hello world!", 12) == 0,
       "APPEND's literal went to storage");
    EXPECT("A APPEND \"Sent\" (\\Seen) {12}\r\nHello world!\r\n",
           "OK A APPEND \"Sent\" ( \\Seen ) {12}Hello world!\n",
           "APPEND inline");
}


static void
test_commands(void)
{
    ngx_mail_imapd_str_t  v;

    conf_default();

    EXPECT("a noop\n", "OK a noop\n", "bare LF");
    EXPECT("a noop\r\nb noop\nc noop\r\n",
           "OK a noop\nOK b noop\nOK c noop\n", "mixed line ends");
    EXPECT("a NOOP \r\n", "OK a NOOP\n", "trailing space");
    EXPECT("a  SELECT   INBOX\r\n", "OK a SELECT INBOX\n", "extra spaces");
    EXPECT("a UID MOVE 1:3 Trash\r\n", "OK a UID MOVE 1:3 Trash\n",
           "UID MOVE");
    EXPECT("a uid expunge 4\r\n", "OK a UID expunge 4\n", "UID EXPUNGE");
    EXPECT("a UID\r\n", "BAD a Missing command\n", "UID alone");
    EXPECT("a.b]x[ NOOP\r\n", "OK a.b]x[ NOOP\n", "tag with ] and [");
    EXPECT("a+b NOOP\r\n", "BAD * Invalid tag\n", "tag with +");
    EXPECT("+ NOOP\r\n", "BAD * Invalid tag\n", "tag +");
    EXPECT("* NOOP\r\n", "BAD * Invalid tag\n", "tag *");
    EXPECT("a(b NOOP\r\n", "BAD * Invalid tag\n", "tag with (");
    EXPECT(" a NOOP\r\n", "BAD * Invalid tag\n", "leading space");
    EXPECT("\r\n", "BAD * Empty command line\n", "empty line");
    EXPECT("\r\na NOOP\r\n", "BAD * Empty command line\nOK a NOOP\n",
           "empty line, then a command");
    EXPECT("a\r\n", "BAD a Missing command\n", "tag alone");
    EXPECT("a \r\n", "BAD a Missing command\n", "tag and space");
    EXPECT("a NO\"OP\r\n", "BAD a Invalid command\n", "quote in command");
    EXPECT("a NO\rOP\r\n", "BAD a Invalid command\n", "CR in command");
    EXPECT("a NOOP x\ry\r\n", "BAD a Invalid character in atom\n",
           "CR without LF in an atom");
    EXPECT("a NOOP x\r\r\n", "BAD a Invalid character in atom\n",
           "CR CR LF");
    EXPECT("a NOOP \x01\r\n", "BAD a Invalid character\n", "control");
    EXPECT("a NOOP x\x80\r\n", "BAD a Invalid character in atom\n",
           "8-bit atom");
    EXPECT("a NOOP x\0y\r\nb NOOP\r\n",
           "BAD a Invalid character in atom\nOK b NOOP\n", "NUL in atom");

    /* atoms, flags, wildcards, NIL */
    EXPECT("a LIST \"\" %/*\r\n", "OK a LIST \"\" %/*\n", "wildcards");
    EXPECT("a STORE 1 FLAGS (\\Seen \\* \\)\r\n",
           "BAD a Invalid character\n", "a lone backslash");
    EXPECT("a X a\\b\r\n", "BAD a Invalid character in atom\n",
           "backslash inside an atom");
    EXPECT("a X NIL nil (NIL)\r\n", "OK a X NIL nil ( NIL )\n", "NIL");
    ok(nodes[0].nil && nodes[1].nil && nodes[3].nil
       && nodes[0].type == NGX_MAIL_IMAPD_NODE_ATOM, "NIL is an ATOM with nil");
    EXPECT("a X NILS \"NIL\" \\NIL\r\n", "OK a X NILS \"NIL\" \\NIL\n",
           "not NIL");
    ok(!nodes[0].nil && !nodes[1].nil && !nodes[2].nil && nodes[2].flag,
       "NILS, \"NIL\" and \\NIL are not NIL");
    EXPECT("a X ab]cd\r\n", "OK a X ab]cd\n", "] in an atom");
    EXPECT("a X abc{5}\r\n", "BAD a Invalid character in atom\n",
           "{ inside an atom");

    /* fetch attributes with sections */
    EXPECT("a FETCH 1 BODY[]\r\n", "OK a FETCH 1 BODY[]\n", "BODY[]");
    EXPECT("a FETCH 1 (BINARY[1] BINARY.SIZE[1.2])\r\n",
           "OK a FETCH 1 ( BINARY[1] BINARY.SIZE[1.2] )\n", "BINARY[1]");
    EXPECT("a FETCH 1 BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.2048>\r\n",
           "OK a FETCH 1 BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.2048>\n",
           "section and partial");
    ok(last_nargs == 2 && nodes[1].section && nodes[1].type
       == NGX_MAIL_IMAPD_NODE_ATOM, "section flag");
    EXPECT("a FETCH 1 (BODY[1.HEADER.FIELDS.NOT (\"X]Y\" Z)] FLAGS)\r\n",
           "OK a FETCH 1 ( BODY[1.HEADER.FIELDS.NOT (\"X]Y\" Z)] FLAGS )\n",
           "quoted \"]\" in a section");
    EXPECT("a FETCH 1 BODY[HEADER\r\n", "BAD a Invalid section\n",
           "unterminated section");
    EXPECT("a FETCH 1 BODY[[]]\r\n", "BAD a Invalid section\n",
           "[ in a section");
    EXPECT("a FETCH 1 BODY[{3}]\r\n", "BAD a Invalid section\n",
           "literal in a section");
    EXPECT("a FETCH 1 BODY[]x(\r\n", "BAD a Invalid character in atom\n",
           "( after a section");
    EXPECT("a SELECT [Gmail]/Sent\r\n", "OK a SELECT [Gmail]/Sent\n",
           "mailbox name with brackets");

    /* quoted strings */
    EXPECT("a LOGIN \"a\\\"b\" \"c\\\\d\"\r\n",
           "OK a LOGIN \"a\"b\" \"c\\d\"\n", "escapes");
    ok(nodes[0].escaped && nodes[1].escaped
       && nodes[0].value.data >= scratch
       && nodes[0].value.data < scratch + sizeof(scratch),
       "unescaped into scratch");
    EXPECT("a LOGIN \"\" \"x\"\r\n", "OK a LOGIN \"\" \"x\"\n", "empty quoted");
    ok(!nodes[1].escaped && nodes[1].value.data > buf
       && nodes[1].value.data < buf + 32, "plain quoted points into buffer");
    EXPECT("a LOGIN \"a\\b\"\r\n", "BAD a Invalid escape in quoted string\n",
           "invalid escape");
    EXPECT("a LOGIN \"ab\r\n", "BAD a Unterminated quoted string\n",
           "unterminated quoted");
    EXPECT("a LOGIN \"a\\\"\r\n", "BAD a Unterminated quoted string\n",
           "escaped final quote");
    EXPECT("a LOGIN \"a\rb\"\r\n",
           "BAD a Invalid character in quoted string\n", "CR in quoted");
    EXPECT("a SEARCH \"caf\xc3\xa9\"\r\n",
           "OK a SEARCH \"caf\\xc3\\xa9\"\n", "UTF-8 in quoted");
    ok(nodes[0].eightbit, "eightbit flag");
    EXPECT("a X \"a\"\"b\"\r\n", "BAD a Missing space\n", "no space");
    EXPECT("a X (a)(b)\r\n", "BAD a Missing space\n", "lists without space");
    EXPECT("a X ( a  b ) ()\r\n", "OK a X ( a b ) ( )\n", "spaces in lists");

    /* lists */
    EXPECT("a X (a (b (c)) d) e\r\n", "OK a X ( a ( b ( c ) ) d ) e\n",
           "nested lists");
    ok(last_nnodes == 8 && last_nargs == 2 && nodes[0].count == 3
       && nodes[2].parent == 0 && nodes[4].parent == 2
       && nodes[6].parent == 0 && nodes[2].next == 6
       && nodes[0].next == 7 && nodes[7].parent == NGX_MAIL_IMAPD_NODE_NONE
       && nodes[2].count == 2 && nodes[4].count == 1,
       "node links");
    EXPECT("a X (a\r\n", "BAD a Unbalanced parentheses\n", "unclosed list");
    EXPECT("a X a)\r\n", "BAD a Unbalanced parentheses\n", "extra )");
    EXPECT("a X ((((x))))\r\n", "OK a X ( ( ( ( x ) ) ) )\n",
           "nesting at the limit");
    EXPECT("a X (((((x)))))\r\nb NOOP\r\n",
           "BAD a Too deeply nested\nOK b NOOP\n", "one beyond");

    /* astring and atom_eq */
    EXPECT("a LOGIN fred \"x y\" {3}\r\nabc NIL \\Seen * BODY[]\r\n",
           "OK a LOGIN fred \"x y\" {3}abc NIL \\Seen * BODY[]\n",
           "astring kinds");
    ok(ngx_mail_imapd_astring(&nodes[0], &v) == NGX_MAIL_IMAPD_PARSE_OK
       && v.len == 4 && memcmp(v.data, "fred", 4) == 0, "astring atom");
    ok(ngx_mail_imapd_astring(&nodes[1], &v) == NGX_MAIL_IMAPD_PARSE_OK
       && v.len == 3 && memcmp(v.data, "x y", 3) == 0, "astring quoted");
    ok(ngx_mail_imapd_astring(&nodes[2], &v) == NGX_MAIL_IMAPD_PARSE_OK
       && v.len == 3 && memcmp(v.data, "abc", 3) == 0, "astring literal");
    ok(ngx_mail_imapd_astring(&nodes[3], &v) == NGX_MAIL_IMAPD_PARSE_OK
       && v.len == 3, "astring NIL is the mailbox NIL");
    ok(ngx_mail_imapd_astring(&nodes[4], &v) == NGX_MAIL_IMAPD_PARSE_ERROR
       && ngx_mail_imapd_astring(&nodes[5], &v) == NGX_MAIL_IMAPD_PARSE_ERROR
       && ngx_mail_imapd_astring(&nodes[6], &v)
          == NGX_MAIL_IMAPD_PARSE_ERROR,
       "flag, wildcard and section are not astrings");
    ok(ngx_mail_imapd_atom_eq(&last_name, "login")
       && ngx_mail_imapd_atom_eq(&last_name, "LOGIN")
       && !ngx_mail_imapd_atom_eq(&last_name, "LOGI")
       && !ngx_mail_imapd_atom_eq(&last_name, "LOGINS"), "atom_eq");
    EXPECT("a X ()\r\n", "OK a X ( )\n", "empty list");
    ok(ngx_mail_imapd_astring(&nodes[0], &v) == NGX_MAIL_IMAPD_PARSE_ERROR
       && nodes[0].count == 0 && nodes[0].child == NGX_MAIL_IMAPD_NODE_NONE,
       "a list is not an astring");
}


static void
test_literals(void)
{
    char    big[6000];
    size_t  n;

    conf_default();

    EXPECT("a LOGIN {4}\r\nfred {7}\r\nfat man\r\n",
           "OK a LOGIN {4}fred {7}fat man\n", "synchronizing literals");
    EXPECT("A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n",
           "OK A001 LOGIN {11+}FRED FOOBAR {7+}fat man\n",
           "RFC 7888 example");
    EXPECT("a X ({3}\nabc {0}\n)\n", "OK a X ( {3}abc {0} )\n",
           "literals in a list, bare LF");
    EXPECT("a X {3}\r\n\r\n\r\n", "OK a X {3}\\x0d\\x0a\\x0d\n",
           "literal of CR LF CR");
    EXPECT("a X {3}\r\nabcd\r\n", "BAD a Missing space\n",
           "no space after a literal");
    EXPECT("a X {005}\r\nabcde\r\n", "OK a X {5}abcde\n", "leading zeros");
    EXPECT("a X {}\r\n", "BAD a Invalid literal\n", "{}");
    EXPECT("a X {3x}\r\n", "BAD a Invalid literal\n", "{3x}");
    EXPECT("a X {3} \r\n", "BAD a Invalid literal\n", "{3} SP");
    EXPECT("a X {3}x\r\nb NOOP\r\n", "BAD a Invalid literal\nOK b NOOP\n",
           "{3}x");
    EXPECT("a X {3++}\r\n", "BAD a Invalid literal\n", "{3++}");
    EXPECT("a X {4294967296}\r\n", "BAD a Invalid literal\n",
           "literal over 32 bits");
    EXPECT("a X {12345678901}\r\n", "BAD a Invalid literal\n",
           "11 digits");
    EXPECT("a X ~{3}\r\na\0c\r\n", "OK a X ~{3}a\\x00c\n",
           "literal8 with NUL");
    ok(nodes[0].binary, "binary flag");
    EXPECT("a X ~{3+}\r\nabc\r\n", "OK a X ~{3+}abc\n", "literal8 +");
    EXPECT("a X {3}\r\na\0c\r\nb NOOP\r\n",
           "BAD a NUL in literal\nOK b NOOP\n", "NUL in a literal");
    EXPECT("a X ~x\r\n", "OK a X ~x\n", "~ is an atom char");

    /* too big for inline: refused, and skipped as the client does */
    EXPECT("a LOGIN {65}\r\nb NOOP\r\n", "REFUSED a 65\nOK b NOOP\n",
           "synchronizing literal refused: not sent");
    n = (size_t) snprintf(big, sizeof(big), "a LOGIN {65+}\r\n");
    memset(big + n, 'x', 65);
    big[n + 65] = '\0';
    strcat(big, " {3+}\r\nabc\r\nb NOOP\r\n");
    ok(strcmp(session(big, strlen(big), 7, 7, INLINE),
              "REFUSED a 65\nOK b NOOP\n") == 0,
       "non-synchronizing literal refused: dropped, with the next one");
    EXPECT("a LOGIN {40}\r\n0123456789012345678901234567890123456789"
           " {24}\r\n012345678901234567890123\r\n",
           "OK a LOGIN {40}0123456789012345678901234567890123456789"
           " {24}012345678901234567890123\n", "inline total at the limit");
    EXPECT("a LOGIN {40}\r\n0123456789012345678901234567890123456789"
           " {25}\r\nb NOOP\r\n", "REFUSED a 25\nOK b NOOP\n",
           "inline total over the limit");

    /* errors in a line that ends in {n+}: the literal is still dropped */
    EXPECT("a LOGIN \"x {5+}\r\n12345\r\nb NOOP\r\n",
           "BAD a Unterminated quoted string\nOK b NOOP\n",
           "error before {n+}");
    EXPECT("a LOGIN x) {5+}\r\n1234\n\r\nb NOOP\r\n",
           "BAD a Unbalanced parentheses\nOK b NOOP\n",
           "error before {n+}, LF in the literal");
    EXPECT("a LOGIN x) {5}\r\nb NOOP\r\n",
           "BAD a Unbalanced parentheses\nOK b NOOP\n",
           "error before {n}: the client waits");

    /* LITERAL+ off, LITERAL- */
    conf.literal_plus = NGX_MAIL_IMAPD_LITERAL_SYNC;
    EXPECT("a LOGIN {3+}\r\nabc\r\nb NOOP\r\n",
           "BAD a Non-synchronizing literals are not allowed\nOK b NOOP\n",
           "{n+} without LITERAL+");
    conf.literal_plus = NGX_MAIL_IMAPD_LITERAL_MINUS;
    conf.max_line = 8192;
    conf.max_inline = 8192;
    n = (size_t) snprintf(big, sizeof(big), "a APPEND x {4097+}\r\n");
    memset(big + n, 'y', 4097);
    strcpy(big + n + 4097, "\r\nb NOOP\r\n");
    ok(strcmp(session(big, strlen(big), 100, 100, INLINE),
              "BAD a [TOOBIG] Non-synchronizing literal over 4096 octets\n"
              "OK b NOOP\n") == 0, "LITERAL-: 4097 octets");
    n = (size_t) snprintf(big, sizeof(big), "a APPEND x {4096+}\r\n");
    memset(big + n, 'y', 4096);
    strcpy(big + n + 4096, "\r\nb NOOP\r\n");
    session(big, strlen(big), 100, 100, EXTERNAL);
    ok(strcmp(log_buf, "OK a APPEND x {4096+}<external>\nOK b NOOP\n") == 0
       && stored_len == 4096, "LITERAL-: 4096 octets");
    conf_default();

    /* external literals: MULTIAPPEND */
    EXPECT_EXT("A APPEND Sent {3+}\r\nabc {4+}\r\ndefg\r\nB NOOP\r\n",
               "OK A APPEND Sent {3+}<external> {4+}<external>\n"
               "OK B NOOP\n", "MULTIAPPEND streamed");
    ok(stored_len == 7 && memcmp(stored, "abcdefg", 7) == 0,
       "both messages stored");
    EXPECT_EXT("A APPEND Sent (\\Seen) {3}\r\nabc\r\n",
               "OK A APPEND Sent ( \\Seen ) {3}<external>\n",
               "synchronizing literal streamed");
    ok(nodes[3].external && nodes[3].value.data == NULL
       && nodes[3].value.len == 3 && nodes[3].sync, "external node");
}


static void
test_limits(void)
{
    char    line[2100];
    size_t  n;

    conf_default();
    conf.max_line = 64;

    memset(line, 'x', sizeof(line));
    memcpy(line, "a X ", 4);
    memcpy(line + 62, "\r\n", 2);
    line[64] = '\0';
    ok(strncmp(session(line, 64, 64, 64, INLINE), "OK a X xxx", 10) == 0,
       "line of max_line octets");
    memcpy(line + 62, "x\r\n", 3);
    line[65] = '\0';
    ok(strcmp(session(line, 65, 65, 65, INLINE), "BAD a Line too long\n")
       == 0, "line of max_line + 1 octets");
    ok(strcmp(session(line, 65, 1, 1, INLINE), "BAD a Line too long\n")
       == 0, "line of max_line + 1 octets, an octet at a time");
    memcpy(line + 65, "b NOOP\r\n", 9);
    ok(strcmp(session(line, 73, 1, 1, INLINE),
              "BAD a Line too long\nOK b NOOP\n") == 0,
       "after a long line");

    /* a long line with no tag yet parsed: "* BAD" */
    memset(line, 'x', 2000);
    strcpy(line + 2000, "\r\nb NOOP\r\n");
    ok(strcmp(session(line, 2010, 10, 10, INLINE),
              "BAD * Line too long\nOK b NOOP\n") == 0,
       "2000 octets without LF, in a 64 + 64 octet buffer");

    /* max_line counts lines around literals, not literals */
    conf.max_inline = 1000;
    n = (size_t) snprintf(line, sizeof(line), "a X {900}\r\n");
    memset(line + n, 'z', 900);
    strcpy(line + n + 900, " y\r\n");
    session(line, strlen(line), 1, 1, INLINE);
    ok(strncmp(log_buf, "OK a X {900}zzz", 15) == 0,
       "a literal longer than max_line");

    conf_default();
    ps.max_nodes = 3;
    EXPECT("a X a b c\r\n", "OK a X a b c\n", "nodes at the limit");
    EXPECT("a X a b c d\r\nb NOOP\r\n",
           "BAD a Too many arguments\nOK b NOOP\n", "one node too many");
    EXPECT("a X (a (b))\r\n", "BAD a Too many arguments\n",
           "lists count as nodes");
    conf.max_depth = 0;
    EXPECT("a X ()\r\n", "BAD a Too deeply nested\n", "no lists at all");
}


static void
test_skip_api(void)
{
    size_t                 used;
    int                    rc;
    static const char      rest[] = "yyy {3+}\r\nab";
    static const char      more[] = "c\r\nb NOOP\r\n";

    conf_default();
    ps.conf = &conf;
    ps.nodes = nodes;
    ps.scratch = scratch;
    ps.scratch_size = sizeof(scratch);
    ngx_mail_imapd_parse_init(&ps);

    memcpy(buf, "a X )", 5);
    rc = ngx_mail_imapd_parse_command(&ps, buf, buf + 5);
    ok(rc == NGX_MAIL_IMAPD_PARSE_AGAIN, "no LF: AGAIN");

    memcpy(buf + 5, rest, sizeof(rest) - 1);
    rc = ngx_mail_imapd_parse_command(&ps, buf, buf + 5 + sizeof(rest) - 1);
    ok(rc == NGX_MAIL_IMAPD_PARSE_ERROR && ps.pos == 4,
       "error at the octet that is wrong");

    rc = ngx_mail_imapd_parse_skip(&ps, buf + ps.pos,
                                   buf + 5 + sizeof(rest) - 1, &used);
    ok(rc == NGX_MAIL_IMAPD_PARSE_AGAIN
       && used == 5 + sizeof(rest) - 1 - 4, "skip: AGAIN, all used");

    rc = ngx_mail_imapd_parse_skip(&ps, (const unsigned char *) more,
                                   (const unsigned char *) more
                                   + sizeof(more) - 1, &used);
    ok(rc == NGX_MAIL_IMAPD_PARSE_OK && used == 3,
       "skip: OK in the next chunk, after the literal and CRLF");

    rc = ngx_mail_imapd_parse_command(&ps, buf, buf);
    ok(rc == NGX_MAIL_IMAPD_PARSE_ERROR, "no parsing while skipping");

    ngx_mail_imapd_parse_init(&ps);
    memcpy(buf, "a NOOP\r\n", 8);
    ok(ngx_mail_imapd_parse_command(&ps, buf, buf + 8)
       == NGX_MAIL_IMAPD_PARSE_OK && ps.pos == 8
       && ngx_mail_imapd_parse_command(&ps, buf, buf + 8)
          == NGX_MAIL_IMAPD_PARSE_OK,
       "OK again after OK");
    ok(ngx_mail_imapd_parse_skip(&ps, buf, buf + 8, &used)
       == NGX_MAIL_IMAPD_PARSE_ERROR, "no skipping after OK");

    /* the literal announcement */
    ngx_mail_imapd_parse_init(&ps);
    memcpy(buf, "a LOGIN {5}\r\n", 13);
    rc = ngx_mail_imapd_parse_command(&ps, buf, buf + 13);
    ok(rc == NGX_MAIL_IMAPD_PARSE_LITERAL && ps.literal.size == 5
       && ps.literal.sync && ps.literal.inline_ok && ps.pos == 13
       && ps.tag.len == 1 && ps.nnodes == 1, "LITERAL: size, sync, pos");
    ok(ngx_mail_imapd_parse_command(&ps, buf, buf + 15)
       == NGX_MAIL_IMAPD_PARSE_AGAIN, "AGAIN until the literal is in");
    memcpy(buf + 13, "hello\r\n", 7);
    ok(ngx_mail_imapd_parse_command(&ps, buf, buf + 20)
       == NGX_MAIL_IMAPD_PARSE_OK && ps.pos == 20
       && nodes[0].value.data == buf + 13, "then OK");

    /* {0} */
    ngx_mail_imapd_parse_init(&ps);
    memcpy(buf, "a X {0}\r\n\r\n", 11);
    ok(ngx_mail_imapd_parse_command(&ps, buf, buf + 11)
       == NGX_MAIL_IMAPD_PARSE_LITERAL
       && ngx_mail_imapd_parse_command(&ps, buf, buf + 11)
          == NGX_MAIL_IMAPD_PARSE_OK
       && ps.nnodes == 1 && nodes[0].value.len == 0, "{0}");

    /* refusing a synchronizing literal: nothing to skip */
    ngx_mail_imapd_parse_init(&ps);
    memcpy(buf, "a X {500}\r\nb NOOP\r\n", 19);
    rc = ngx_mail_imapd_parse_command(&ps, buf, buf + 19);
    ok(rc == NGX_MAIL_IMAPD_PARSE_LITERAL && !ps.literal.inline_ok,
       "LITERAL, too big for inline");
    ngx_mail_imapd_parse_reject(&ps);
    ok(ngx_mail_imapd_parse_skip(&ps, buf + ps.pos, buf + 19, &used)
       == NGX_MAIL_IMAPD_PARSE_OK && used == 0, "refused: skip nothing");
}


/* sequence sets */

static ngx_mail_imapd_seq_range_t  ranges[8];
static ngx_mail_imapd_seqset_t     set;


static int
seq(const char *s)
{
    set.ranges = ranges;
    set.max_ranges = 8;

    return ngx_mail_imapd_seqset_parse((const unsigned char *) s, strlen(s),
                                       &set);
}


static int
seq_is(const char *s, const char *members, uint32_t star)
{
    char      got[256];
    size_t    n;
    uint32_t  i;

    if (seq(s) != NGX_MAIL_IMAPD_PARSE_OK) {
        return 0;
    }

    n = 0;
    got[0] = '\0';

    for (i = 0; i < 30 && n < sizeof(got) - 8; i++) {
        if (ngx_mail_imapd_seqset_contains(&set, i, star)) {
            n += (size_t) snprintf(got + n, sizeof(got) - n, "%s%u",
                                   n ? "," : "", i);
        }
    }

    if (strcmp(got, members) != 0) {
        printf("# %s: %s\n", s, got);
        return 0;
    }

    return 1;
}


static void
test_seqset(void)
{
    uint32_t  i;
    int       good;

    ok(seq_is("1:4,7,9:*,*", "1,2,3,4,7,9,10,11,12", 12), "1:4,7,9:*,*");
    ok(seq_is("4:1", "1,2,3,4", 12) && ranges[0].first == 1
       && ranges[0].last == 4, "4:1 is 1:4");
    ok(seq_is("*", "12", 12), "*");
    ok(seq_is("*:3", "3,4,5", 5), "*:3");
    ok(seq_is("15:*", "5,6,7,8,9,10,11,12,13,14,15", 5),
       "15:* with * = 5 (RFC 3501 6.4.8)");
    ok(seq_is("2,2,2", "2", 9), "repeats");
    ok(seq_is("4294967295", "", 9) && ranges[0].first == 4294967295U,
       "4294967295");
    ok(seq("4294967296") == NGX_MAIL_IMAPD_PARSE_ERROR, "4294967296");
    ok(seq("99999999999999999999") == NGX_MAIL_IMAPD_PARSE_ERROR,
       "20 digits");
    ok(seq("0") == NGX_MAIL_IMAPD_PARSE_ERROR, "0");
    ok(seq("1:0") == NGX_MAIL_IMAPD_PARSE_ERROR, "1:0");
    ok(seq("01") == NGX_MAIL_IMAPD_PARSE_ERROR, "leading zero");
    ok(seq("") == NGX_MAIL_IMAPD_PARSE_ERROR, "empty");
    ok(seq("1,") == NGX_MAIL_IMAPD_PARSE_ERROR, "trailing comma");
    ok(seq(",1") == NGX_MAIL_IMAPD_PARSE_ERROR, "leading comma");
    ok(seq("1,,2") == NGX_MAIL_IMAPD_PARSE_ERROR, "empty element");
    ok(seq("1:") == NGX_MAIL_IMAPD_PARSE_ERROR, "1:");
    ok(seq("1:2:3") == NGX_MAIL_IMAPD_PARSE_ERROR, "1:2:3");
    ok(seq("1 ") == NGX_MAIL_IMAPD_PARSE_ERROR, "trailing space");
    ok(seq("-1") == NGX_MAIL_IMAPD_PARSE_ERROR, "-1");
    ok(seq("**") == NGX_MAIL_IMAPD_PARSE_ERROR, "**");
    ok(seq("$") == NGX_MAIL_IMAPD_PARSE_OK && set.saved
       && set.nranges == 0, "$");
    ok(seq("1,$") == NGX_MAIL_IMAPD_PARSE_ERROR
       && seq("$,1") == NGX_MAIL_IMAPD_PARSE_ERROR, "$ with more");
    ok(seq("1,2,3,4,5,6,7,8") == NGX_MAIL_IMAPD_PARSE_OK
       && set.nranges == 8, "8 ranges in 8");
    ok(seq("1,2,3,4,5,6,7,8,9") == NGX_MAIL_IMAPD_PARSE_DECLINED,
       "9 ranges in 8: DECLINED");
    ok(seq("1,2,3,4,5,6,7,8,9,") == NGX_MAIL_IMAPD_PARSE_ERROR,
       "9 ranges in 8 with a syntax error: ERROR");

    ok(seq("9:*,1,3:5,4,2,20:22") == NGX_MAIL_IMAPD_PARSE_OK && set.star,
       "star set");
    ngx_mail_imapd_seqset_normalize(&set, 12);
    ok(set.nranges == 3 && ranges[0].first == 1 && ranges[0].last == 5
       && ranges[1].first == 9 && ranges[1].last == 12
       && ranges[2].first == 20 && ranges[2].last == 22,
       "normalized: sorted, merged, * resolved");
    good = 1;

    for (i = 0; i < 30; i++) {
        good &= ngx_mail_imapd_seqset_contains(&set, i, 12)
                == ((i >= 1 && i <= 5) || (i >= 9 && i <= 12)
                    || (i >= 20 && i <= 22));
    }

    ok(good, "binary search after normalize");
    ok(seq("4294967295,1:4294967294") == NGX_MAIL_IMAPD_PARSE_OK, "full");
    ngx_mail_imapd_seqset_normalize(&set, 7);
    ok(set.nranges == 1 && ranges[0].first == 1
       && ranges[0].last == 4294967295U, "merged to the whole range");
    ok(seq("*") == NGX_MAIL_IMAPD_PARSE_OK
       && !ngx_mail_imapd_seqset_contains(&set, 1, 0),
       "* in an empty mailbox");
}


/* modified UTF-7 */

static int
utf7_dec(const char *in, const char *out)
{
    unsigned char  dst[256];
    size_t         n;

    if (ngx_mail_imapd_utf7_decode((const unsigned char *) in, strlen(in),
                                   dst, sizeof(dst), &n)
        != NGX_MAIL_IMAPD_PARSE_OK)
    {
        return out == NULL;
    }

    return out != NULL && n == strlen(out) && memcmp(dst, out, n) == 0;
}


static int
utf7_enc(const char *in, const char *out)
{
    unsigned char  dst[256];
    size_t         n;

    if (ngx_mail_imapd_utf7_encode((const unsigned char *) in, strlen(in),
                                   dst, sizeof(dst), &n)
        != NGX_MAIL_IMAPD_PARSE_OK)
    {
        return out == NULL;
    }

    return out != NULL && n == strlen(out) && memcmp(dst, out, n) == 0;
}


#define PETER_UTF7  "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
#define PETER_UTF8  "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/" \
                    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"


static void
test_utf7(void)
{
    unsigned char  dst[16];
    size_t         n;

    ok(utf7_dec(PETER_UTF7, PETER_UTF8), "RFC 3501 5.1.3 example decodes");
    ok(utf7_enc(PETER_UTF8, PETER_UTF7), "RFC 3501 5.1.3 example encodes");
    ok(utf7_dec("INBOX", "INBOX") && utf7_enc("INBOX", "INBOX"), "ASCII");
    ok(utf7_dec("", "") && utf7_enc("", ""), "empty");
    ok(utf7_dec("&-", "&") && utf7_enc("&", "&-"), "&-");
    ok(utf7_dec("A&-B&-&-", "A&B&&") && utf7_enc("A&B&&", "A&-B&-&-"),
       "several &-");
    ok(utf7_dec("caf&AOk-", "caf\xc3\xa9")
       && utf7_enc("caf\xc3\xa9", "caf&AOk-"), "caf\xc3\xa9");
    ok(utf7_dec("&AOkA6Q-", "\xc3\xa9\xc3\xa9")
       && utf7_enc("\xc3\xa9\xc3\xa9", "&AOkA6Q-"), "two in one run");
    ok(utf7_dec("&2D3eAA-", "\xf0\x9f\x98\x80")
       && utf7_enc("\xf0\x9f\x98\x80", "&2D3eAA-"), "surrogate pair");
    ok(utf7_dec("&AOk-&-", "\xc3\xa9&") && utf7_enc("\xc3\xa9&", "&AOk-&-"),
       "run then &-");
    ok(utf7_dec("&AOk-x&AOk-", "\xc3\xa9x\xc3\xa9"), "two runs apart");
    ok(utf7_dec("&AOk-&AOk-", NULL), "two runs in a row");
    ok(utf7_dec("&", NULL), "& at the end");
    ok(utf7_dec("&AOk", NULL), "unterminated run");
    ok(utf7_dec("&AO!-", NULL), "invalid base64");
    ok(utf7_dec("&AO/-", NULL), "/ instead of ,");
    ok(utf7_dec("&AOl-", NULL), "padding bits set");
    ok(utf7_dec("&AOkA-", NULL), "a partial unit");
    ok(utf7_dec("&AA-", NULL), "no unit");
    ok(utf7_dec("&AGE-", NULL), "a in base64");
    ok(utf7_dec("&ACY-", NULL), "& in base64");
    ok(utf7_dec("&AAE-", NULL) && utf7_dec("&AAA-", NULL),
       "control and NUL in base64");
    ok(utf7_dec("&2D0-", NULL), "lone high surrogate");
    ok(utf7_dec("&3gA-", NULL), "lone low surrogate");
    ok(utf7_dec("&3gDYPQ-", NULL), "reversed surrogates");
    ok(utf7_dec("&2D3YPQ-", NULL), "two high surrogates");
    ok(utf7_dec("a\tb", NULL) && utf7_dec("caf\xc3\xa9", NULL),
       "tab and 8-bit");
    ok(utf7_enc("\xc3", NULL) && utf7_enc("\xc0\xaf", NULL)
       && utf7_enc("\xed\xa0\x80", NULL) && utf7_enc("\xf4\x90\x80\x80", NULL)
       && utf7_enc("\xff", NULL) && utf7_enc("\x80", NULL),
       "invalid UTF-8: truncated, overlong, surrogate, > U+10FFFF, "
       "bad octets");
    ok(utf7_enc("a\x01", NULL) && utf7_enc("a\x7f", NULL), "controls");
    ok(utf7_enc("\xef\xbf\xbf", "&,,8-") && utf7_dec("&,,8-", "\xef\xbf\xbf"),
       "U+FFFF");
    ok(utf7_enc("\xf4\x8f\xbf\xbf", "&2,,f,w-")
       && utf7_dec("&2,,f,w-", "\xf4\x8f\xbf\xbf"), "U+10FFFF");
    ok(ngx_mail_imapd_utf7_encode((const unsigned char *) "\xc3\xa9", 2, dst,
                                  4, &n) == NGX_MAIL_IMAPD_PARSE_DECLINED
       && ngx_mail_imapd_utf7_encode((const unsigned char *) "\xc3\xa9", 2,
                                     dst, 5, &n) == NGX_MAIL_IMAPD_PARSE_OK
       && n == 5, "encode: output size exact");
    ok(ngx_mail_imapd_utf7_decode((const unsigned char *) "&AOk-", 5, dst, 1,
                                  &n) == NGX_MAIL_IMAPD_PARSE_DECLINED
       && ngx_mail_imapd_utf7_decode((const unsigned char *) "&AOk-", 5,
                                     dst, 2, &n) == NGX_MAIL_IMAPD_PARSE_OK
       && n == 2, "decode: output size exact");
}


int
main(void)
{
    test_thunderbird();
    test_commands();
    test_literals();
    test_limits();
    test_skip_api();
    test_seqset();
    test_utf7();

    printf("1..%u\n", tests);

    return failed ? 1 : 0;
}
