
/*
 * Unit tests of a message as the Bayes store sees it
 * (ngx_mail_spam_message.c): token fields with the fixed hash key, and
 * the digest that finds a message learnt before whatever hops and stores
 * added to it.  The pinned values guard the definitions: every node and
 * mailctl must compute them alike, today and after an upgrade; they were
 * computed apart from this code, from the definitions in
 * ngx_mail_spam_store.h and ngx_mail_spam_bayes.h.  TAP output, run by
 * t/spam-07-store-unit.t.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_spam_store.h"


static unsigned  test_n;
static unsigned  test_failed;


static void
ok(int pass, const char *name)
{
    test_n++;

    if (!pass) {
        test_failed++;
    }

    printf("%sok %u - %s\n", pass ? "" : "not ", test_n, name);
}


static void
read_message(mime_arena_t *arena, ngx_mail_spam_message_t *m,
    const char *s, size_t len)
{
    mime_allocator_t  a;

    mime_arena_allocator(arena, &a);

    if (ngx_mail_spam_message_read(m, &a, (const mime_uchar_t *) s, len, 1)
        != NGX_MAIL_SPAM_BAYES_OK)
    {
        printf("Bail out! ngx_mail_spam_message_read() failed\n");
        exit(1);
    }
}


static void
digest_of(mime_arena_t *arena, char *digest, const char *s)
{
    ngx_mail_spam_message_t  m;

    read_message(arena, &m, s, strlen(s));
    memcpy(digest, m.digest, NGX_MAIL_SPAM_DIGEST_LEN);
    digest[NGX_MAIL_SPAM_DIGEST_LEN] = '\0';
}


static int
has_field(const ngx_mail_spam_message_t *m, const char *field)
{
    unsigned  i;

    for (i = 0; i < m->ntokens; i++) {
        if (memcmp(m->fields + i * NGX_MAIL_SPAM_FIELD_LEN, field,
                   NGX_MAIL_SPAM_FIELD_LEN) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static int
reads_word(mime_arena_t *arena, const char *s, size_t len, const char *word)
{
    char                     hex[NGX_MAIL_SPAM_FIELD_LEN];
    uint64_t                 h;
    ngx_mail_spam_message_t  m;

    read_message(arena, &m, s, len);

    h = ngx_mail_spam_bayes_hash(NGX_MAIL_SPAM_BAYES_HASH_KEY,
                                 (const mime_uchar_t *) word, strlen(word));
    ngx_mail_spam_message_hex(hex, h);

    return has_field(&m, hex);
}


static const char  base[] =
    "From: Bob <bob@example.org>\r\n"
    "To: demo@example.test\r\n"
    "Subject: cheap pills\r\n"
    "Message-ID: <1@example.org>\r\n"
    "\r\n"
    "Buy cheap pills now.\r\n";


static void
test_fields(mime_arena_t *arena)
{
    char                     hex[NGX_MAIL_SPAM_FIELD_LEN + 1];
    unsigned                 i;
    uint64_t                 h;
    ngx_mail_spam_message_t  m;

    ngx_mail_spam_message_hex(hex, 0x0123456789abcdefULL);
    hex[NGX_MAIL_SPAM_FIELD_LEN] = '\0';
    ok(strcmp(hex, "0123456789abcdef") == 0, "hex: 16 lower-case digits");

    ngx_mail_spam_message_hex(hex, 0xaULL);
    ok(strcmp(hex, "000000000000000a") == 0, "hex: leading zeros");

    read_message(arena, &m, base, sizeof(base) - 1);

    ok(m.ntokens > 5, "tokens of a small message");

    h = ngx_mail_spam_bayes_hash(NGX_MAIL_SPAM_BAYES_HASH_KEY,
                                 (const mime_uchar_t *) "cheap", 5);
    ngx_mail_spam_message_hex(hex, h);
    ok(has_field(&m, hex), "the field of \"cheap\": its hash, fixed key");

    /* pinned: a change of key or hash makes every count unreachable */
    ok(memcmp(hex, "1a98b070a20cbf68", 16) == 0,
       "the field of \"cheap\" is 1a98b070a20cbf68");

    h = ngx_mail_spam_bayes_hash(NGX_MAIL_SPAM_BAYES_HASH_KEY,
                                 (const mime_uchar_t *) "s:pills", 7);
    ngx_mail_spam_message_hex(hex, h);
    ok(has_field(&m, hex), "a header token: \"s:pills\"");

    for (i = 0; i < m.ntokens; i++) {
        ngx_mail_spam_message_hex(hex, m.hashes[i]);

        if (memcmp(hex, m.fields + i * NGX_MAIL_SPAM_FIELD_LEN, 16) != 0) {
            break;
        }
    }

    ok(i == m.ntokens, "every field is its token's hash");
}


static void
test_digest(mime_arena_t *arena)
{
    char   d[NGX_MAIL_SPAM_DIGEST_LEN + 1], e[NGX_MAIL_SPAM_DIGEST_LEN + 1];
    char  *big;

    digest_of(arena, d, base);

    ok(strlen(d) == 32 && strspn(d, "0123456789abcdef") == 32,
       "digest: 32 lower-case hex digits");

    /* pinned, as the fields */
    ok(strcmp(d, "2bdcc0db7bd9790deb68395fa520bbce") == 0,
       "the digest of the base message is pinned");

    digest_of(arena, e,
              "Return-Path: <bob@example.org>\r\n"
              "Received: from mx.example.org (mx.example.org [192.0.2.1])\r\n"
              "\tby mx.example.test; Mon, 23 Nov 2026 10:00:00 +0000\r\n"
              "Delivered-To: demo@example.test\r\n"
              "From: Bob <bob@example.org>\r\n"
              "To: demo@example.test\r\n"
              "X-Spam-Status: No, score=0.1\r\n"
              "Subject: cheap pills\r\n"
              "Received: from inner.example.org\r\n"
              "Message-ID: <1@example.org>\r\n"
              "\r\n"
              "Buy cheap pills now.\r\n");
    ok(strcmp(d, e) == 0, "trace fields, folded or not, are left out");

    digest_of(arena, e,
              "From: Bob <bob@example.org>\n"
              "To: demo@example.test\n"
              "Subject: cheap pills\n"
              "Message-ID: <1@example.org>\n"
              "\n"
              "Buy cheap pills now.\n\n\n");
    ok(strcmp(d, e) == 0, "LF for CR LF, line ends at the end dropped");

    digest_of(arena, e,
              "From bob@example.org Mon Nov 23 10:00:00 2026\n"
              "From: Bob <bob@example.org>\n"
              "To: demo@example.test\n"
              "Subject: cheap pills\n"
              "Message-ID: <1@example.org>\n"
              "\n"
              "Buy cheap pills now.\n");
    ok(strcmp(d, e) == 0, "an mbox \"From \" line is left out");

    digest_of(arena, e,
              "From: Bob <bob@example.org>\r\n"
              "To: demo@example.test\r\n"
              "Subject: cheap pills\r\n"
              "Message-ID: <1@example.org>\r\n"
              "\r\n"
              "Buy cheap pills now!\r\n");
    ok(strcmp(d, e) != 0, "another body: another digest");

    digest_of(arena, e,
              "From: Bob <bob@example.org>\r\n"
              "To: demo@example.test\r\n"
              "Subject: cheap pills\r\n"
              "Message-ID: <2@example.org>\r\n"
              "\r\n"
              "Buy cheap pills now.\r\n");
    ok(strcmp(d, e) != 0, "another Message-ID: another digest");

    digest_of(arena, e,
              "From: Bob <bob@example.org>\r\n"
              "To: demo@example.test\r\n"
              "Subject: cheap pills\r\n"
              "Message-ID: <1@example.org>\r\n"
              "\r\n"
              "Received: in the body is text\r\n"
              "Buy cheap pills now.\r\n");
    ok(strcmp(d, e) != 0, "a trace field name in the body counts");

    /* past the limits: read the same, whatever follows */

    big = malloc(NGX_MAIL_SPAM_READ_MAX + 200);
    if (big == NULL) {
        printf("Bail out! out of memory\n");
        exit(1);
    }

    memcpy(big, base, sizeof(base) - 1);
    memset(big + sizeof(base) - 1, 'a',
           NGX_MAIL_SPAM_READ_MAX + 100 - (sizeof(base) - 1));
    big[NGX_MAIL_SPAM_READ_MAX + 100] = '\0';
    digest_of(arena, d, big);

    big[NGX_MAIL_SPAM_READ_MAX + 90] = 'b';
    digest_of(arena, e, big);
    ok(strcmp(d, e) == 0, "bytes past the digested part do not count");

    big[NGX_MAIL_SPAM_DIGEST_MAX - 10] = 'b';
    digest_of(arena, e, big);
    ok(strcmp(d, e) != 0, "bytes within it do");

    free(big);
}


/*
 * A message whose text part "... zebra ..." stands behind an attachment
 * of about "attachment" bytes that is no text: the tokenizer scans little
 * text before the word, wherever it stands.  Returns the message's
 * length; *word is the word's offset in it.
 */

static size_t
behind_attachment(char *buf, size_t attachment, size_t *word)
{
    char    *p;
    size_t   n;

    static const char  header[] =
        "From: Bob <bob@example.org>\r\n"
        "Subject: limits\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n"
        "\r\n"
        "--b\r\n"
        "Content-Type: application/octet-stream\r\n"
        "\r\n";
    static const char  text[] =
        "\r\n--b\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "a word zebra here\r\n"
        "--b--\r\n";

    p = buf;
    memcpy(p, header, sizeof(header) - 1);
    p += sizeof(header) - 1;

    for (n = 0; n + 78 <= attachment; n += 78) {
        memset(p, 'A', 76);
        p[76] = '\r';
        p[77] = '\n';
        p += 78;
    }

    memcpy(p, text, sizeof(text) - 1);
    *word = p - buf + (strstr(text, "zebra") - text);
    p += sizeof(text) - 1;

    return p - buf;
}


/*
 * The two limits on what is tokenized, one at a time: each check would
 * pass without the limit it is about.  The scan limit in a message short
 * of the read limit; the read limit behind an attachment, so that little
 * text is scanned before the word.
 */

static void
test_read_limits(mime_arena_t *arena)
{
    char    *big;
    size_t   len, word;

    big = malloc(NGX_MAIL_SPAM_READ_MAX + 4096);
    if (big == NULL) {
        printf("Bail out! out of memory\n");
        exit(1);
    }

    /* one text part, 100 kB short of the read limit */

    len = NGX_MAIL_SPAM_READ_MAX - 100 * 1024;
    memcpy(big, base, sizeof(base) - 1);
    memset(big + sizeof(base) - 1, 'a', len - (sizeof(base) - 1));
    memcpy(big + NGX_MAIL_SPAM_BAYES_DEFAULT_MAX_SCAN - 1024, " quagga ", 8);
    memcpy(big + NGX_MAIL_SPAM_BAYES_DEFAULT_MAX_SCAN + 1024, " zebra ", 7);

    ok(reads_word(arena, big, len, "quagga"),
       "a word 1 kB short of the text scanned is read");
    ok(!reads_word(arena, big, len, "zebra"),
       "a word 1 kB past it is not, in a message shorter than the read "
       "limit");

    len = behind_attachment(big, NGX_MAIL_SPAM_READ_MAX - 1024, &word);
    ok(word < NGX_MAIL_SPAM_READ_MAX && reads_word(arena, big, len, "zebra"),
       "a text part behind a large attachment, within the read limit, "
       "is read");

    len = behind_attachment(big, NGX_MAIL_SPAM_READ_MAX, &word);
    ok(word > NGX_MAIL_SPAM_READ_MAX && !reads_word(arena, big, len, "zebra"),
       "one past the read limit is not");

    free(big);
}

int
main(void)
{
    mime_arena_t  *arena;

    arena = mime_arena_create(0);
    if (arena == NULL) {
        printf("Bail out! out of memory\n");
        return 1;
    }

    test_fields(arena);
    test_digest(arena);
    test_read_limits(arena);

    mime_arena_destroy(arena);

    printf("1..%u\n", test_n);

    return test_failed ? 1 : 0;
}
