
/*
 * Unit tests of the Bayesian classifier: the tokenizer's words, prefixes
 * and limits, the hash, Robinson's f(w), the inverse chi-square and the
 * Fisher combining.  TAP output, run by t/spam-05-bayes-unit.t.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "ngx_mail_spam_bayes.h"


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


static int
has(const ngx_mail_spam_bayes_tokens_t *t, const char *token)
{
    unsigned  i;
    size_t    len;

    len = strlen(token);

    for (i = 0; i < t->ntokens; i++) {
        if (t->tokens[i].len == len
            && memcmp(t->tokens[i].data, token, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static void
text(mime_arena_t *arena, ngx_mail_spam_bayes_tokens_t *t,
    const ngx_mail_spam_bayes_limits_t *limits, const char *prefix,
    const char *s)
{
    mime_allocator_t  a;

    mime_arena_allocator(arena, &a);

    if (ngx_mail_spam_bayes_tokens_init(t, &a, limits)
        != NGX_MAIL_SPAM_BAYES_OK
        || ngx_mail_spam_bayes_tokenize_text(t, prefix,
                                             (const mime_uchar_t *) s,
                                             strlen(s))
           != NGX_MAIL_SPAM_BAYES_OK)
    {
        printf("Bail out! tokenizer failed\n");
        exit(1);
    }
}


static void
test_words(mime_arena_t *arena)
{
    unsigned                      i;
    const char                   *long_word;
    ngx_mail_spam_bayes_tokens_t  t;

    text(arena, &t, NULL, NULL, "hello world, hello world! hello");
    ok(t.ntokens == 2 && has(&t, "hello") && has(&t, "world"),
       "words de-duplicated");

    text(arena, &t, NULL, NULL, "Hello World, hello WORLD! hello");
    ok(t.ntokens == 5 && has(&t, "hello") && has(&t, "world")
       && has(&t, "Hello") && has(&t, "World") && has(&t, "WORLD"),
       "words lowercased, capitalised spellings also kept as written");

    text(arena, &t, NULL, NULL, "an of is the cat 12345 3.14 2002-08-22");
    ok(t.ntokens == 2 && has(&t, "the") && has(&t, "cat"),
       "short words and numbers dropped");

    text(arena, &t, NULL, NULL, "only $100 or $5,000 today");
    ok(has(&t, "$100") && has(&t, "$5") == 0 && has(&t, "000") == 0
       && has(&t, "today") && has(&t, "only"),
       "dollar amounts kept, $5 too short");

    text(arena, &t, NULL, NULL, "end. don't --dash-- a.b.c. e-mail _x_");
    ok(has(&t, "end") && has(&t, "don't") && has(&t, "dash")
       && has(&t, "a.b.c") && has(&t, "e-mail") && has(&t, "_x_") == 0,
       "inner punctuation kept, edges stripped");

    long_word = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz";
    text(arena, &t, NULL, "s:", long_word);
    ok(t.ntokens == 1 && has(&t, "s:sk:abcdefgh"),
       "long word becomes a prefixed sk: token");

    text(arena, &t, NULL, NULL,
         "abcdefghijklmnopqrstuvwxyzabcdefghijklmn "
         "abcdefghijklmnopqrstuvwxyzabcdefghijklmno");
    ok(t.ntokens == 2 && has(&t, "abcdefghijklmnopqrstuvwxyzabcdefghijklmn")
       && has(&t, "sk:abcdefgh"),
       "40 bytes is a word, 41 is skipped");

    /* "ééééé" is 10 bytes; 8 bytes of it are 4 characters */

    text(arena, &t, NULL, NULL,
         "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
         "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
         "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    ok(t.ntokens == 1 && has(&t, "sk:\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
       "sk: prefix cut on a character boundary");

    text(arena, &t, NULL, NULL,
         "\xc3\x9c" "BER Stra\xc3\x9f" "e \xd0\x9f\xd0\xa0\xd0\x98\xd0\x92"
         "\xd0\x95\xd0\xa2 \xce\x91\xce\x92\xce\x93");
    ok(has(&t, "\xc3\xbc" "ber") && has(&t, "stra\xc3\x9f" "e")
       && has(&t, "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82")
       && has(&t, "\xce\xb1\xce\xb2\xce\xb3"),
       "Latin-1, Cyrillic and Greek lowercased");
    ok(t.ntokens == 8 && has(&t, "\xc3\x9c" "BER")
       && has(&t, "Stra\xc3\x9f" "e")
       && has(&t, "\xce\x91\xce\x92\xce\x93"),
       "non-ASCII capitals kept as written too");

    text(arena, &t, NULL, NULL,
         "\xe4\xbd\xa0\xe5\xa5\xbd\xe3\x80\x82\xe4\xb8\x96");
    ok(has(&t, "\xe4\xbd\xa0\xe5\xa5\xbd") && has(&t, "\xe4\xb8\x96"),
       "CJK ideographic full stop separates");
    ok(t.ntokens == 5 && has(&t, "u8:\xe4\xbd\xa0")
       && has(&t, "u8:\xe5\xa5\xbd") && has(&t, "u8:\xe4\xb8\x96")
       && !has(&t, "u8:\xe3\x80\x82"),
       "each CJK character a u8: token, punctuation not");

    /* a Subject in Japanese: kana and kanji, one Hangul syllable */
    text(arena, &t, NULL, "s:",
         "\xe3\x81\x8a\xe5\xbe\x97 \xea\xb0\x80 abc");
    ok(has(&t, "s:u8:\xe3\x81\x8a") && has(&t, "s:u8:\xe5\xbe\x97")
       && has(&t, "s:u8:\xea\xb0\x80") && has(&t, "s:abc")
       && !has(&t, "s:u8:a"),
       "u8: tokens carry the header's prefix");

    text(arena, &t, NULL, NULL, "abc\xff" "def\xc3(ghi\xe2\x80\x94jkl");
    ok(t.ntokens == 4 && has(&t, "abc") && has(&t, "def") && has(&t, "ghi")
       && has(&t, "jkl"),
       "invalid UTF-8 and an em dash separate words");

    text(arena, &t, NULL, NULL, "\xc0\xaf\xc0\xaf\xc0\xaf" "abc"
         "\xed\xa0\x80\xed\xa0\x80");
    ok(t.ntokens == 1 && has(&t, "abc"),
       "overlong forms and surrogates are not letters");

    for (i = 0; i < t.ntokens; i++) {
        if (t.tokens[i].hash != ngx_mail_spam_bayes_hash(0,
                                            t.tokens[i].data, t.tokens[i].len))
        {
            break;
        }
    }

    ok(i == t.ntokens, "token hash is the hash of its bytes");

    text(arena, &t, NULL, "s:", "Free Viagra free");
    ok(t.ntokens == 4 && has(&t, "s:free") && has(&t, "s:viagra")
       && has(&t, "s:Free") && has(&t, "s:Viagra"),
       "prefix applied, to the spelling as written too");

    text(arena, &t, NULL, NULL, "FREE. IT'S-");
    ok(t.ntokens == 4 && has(&t, "free") && has(&t, "FREE")
       && has(&t, "it's") && has(&t, "IT'S"),
       "spelling as written stripped of edge punctuation as well");
}


static void
test_limits(mime_arena_t *arena)
{
    char                          buf[20000];
    size_t                        len;
    unsigned                      i;
    ngx_mail_spam_bayes_limits_t  limits;
    ngx_mail_spam_bayes_tokens_t  t;

    len = 0;

    for (i = 0; i < 2000; i++) {
        len += sprintf(buf + len, "w%05u ", i);
    }

    memset(&limits, 0, sizeof(limits));
    limits.max_tokens = 100;

    text(arena, &t, &limits, NULL, buf);
    ok(t.ntokens == 100 && t.truncated && has(&t, "w00099")
       && !has(&t, "w00100"),
       "max_tokens stops at 100 and sets truncated");

    limits.max_tokens = 0;
    limits.max_scan = 70;

    text(arena, &t, &limits, NULL, buf);
    ok(t.ntokens == 10 && t.truncated && t.scanned == 70,
       "max_scan reads 70 bytes: 10 words");

    text(arena, &t, NULL, NULL, buf);
    ok(t.ntokens == 2000 && !t.truncated, "2000 distinct words kept");
}


static void
test_hash(void)
{
    uint64_t  a, b, c;

    a = ngx_mail_spam_bayes_hash(0, (const mime_uchar_t *) "viagra", 6);
    b = ngx_mail_spam_bayes_hash(0, (const mime_uchar_t *) "viagra", 6);
    c = ngx_mail_spam_bayes_hash(1, (const mime_uchar_t *) "viagra", 6);

    ok(a == b && a != c, "hash is stable and depends on the key");

    b = ngx_mail_spam_bayes_hash(0, (const mime_uchar_t *) "viagrb", 6);
    ok(a != b && ((a ^ b) >> 32) != 0,
       "a last-byte change reaches the high bits");
}


static void
test_urls(mime_arena_t *arena)
{
    mime_allocator_t              a;
    ngx_mail_spam_bayes_tokens_t  t;
    const char                   *s;

    mime_arena_allocator(arena, &a);
    ngx_mail_spam_bayes_tokens_init(&t, &a, NULL);

    s = "visit HTTP://WWW.Example.COM/path?x=1 or www.foo.org. "
        "https://user:pw@evil.example.net:8080/ awww.nothing.com "
        "http://localhost/ http://1.2.3.4/x";

    ngx_mail_spam_bayes_tokenize_urls(&t, (const mime_uchar_t *) s,
                                      strlen(s));

    ok(has(&t, "u:www.example.com") && has(&t, "u:example.com")
       && has(&t, "u:www.foo.org") && has(&t, "u:foo.org"),
       "http and www. hosts, lowercased, with their last two labels");
    ok(has(&t, "u:evil.example.net") && has(&t, "u:example.net")
       && !has(&t, "u:user"),
       "userinfo skipped");
    ok(!has(&t, "u:awww.nothing.com") && !has(&t, "u:nothing.com")
       && !has(&t, "u:localhost") && has(&t, "u:1.2.3.4"),
       "www. only at a word start; dotless hosts dropped");
}


static const char  test_message[] =
    "Received: from relay.example (relay [192.0.2.1])\r\n"
    "From: \"Cheap Meds\" <deals@pharma.example>\r\n"
    "To: victim@example.org\r\n"
    "Subject: =?UTF-8?B?R3LDvMOfZSB2b24gRlJFRSBvZmZlcg==?=\r\n"
    "Reply-To: Orders <orders@replies.example>\r\n"
    "Message-ID: <abc123@bulk.example>\r\n"
    "X-Priority: 1 (Highest)\r\n"
    "Return-Path: <bounce@bounces.example>\r\n"
    "Organization: Meds Unlimited\r\n"
    "X-Mailer: Spamware 3.0\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "QnV5IGNoZWFwIHBpbGxzIG5vdw==\r\n"
    "--b1\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<html><body><a href=\"http://click.spam.example/x\">Unsubscribe"
    "</a> <b>pharmacy</b><FONT color=red>now</font><table1234567890abcdefgh>"
    "</body></html>\r\n"
    "--b1--\r\n";


static void
test_message_tokens(mime_arena_t *arena)
{
    mime_allocator_t              a;
    mime_message_t               *msg;
    ngx_mail_spam_bayes_tokens_t  t;

    mime_arena_allocator(arena, &a);

    msg = mime_parse(&a, (const mime_uchar_t *) test_message,
                     sizeof(test_message) - 1, NULL);

    ok(msg != NULL
       && ngx_mail_spam_bayes_tokens_init(&t, &a, NULL)
          == NGX_MAIL_SPAM_BAYES_OK
       && ngx_mail_spam_bayes_tokenize(&t, msg) == NGX_MAIL_SPAM_BAYES_OK,
       "message tokenized");

    ok(has(&t, "s:gr\xc3\xbc\xc3\x9f" "e") && has(&t, "s:free")
       && has(&t, "s:offer") && has(&t, "s:FREE")
       && has(&t, "s:Gr\xc3\xbc\xc3\x9f" "e"),
       "Subject decoded from RFC 2047");
    ok(has(&t, "rt:orders") && has(&t, "rt:replies.example")
       && has(&t, "mid:abc123") && has(&t, "mid:bulk.example")
       && has(&t, "pri:highest") && has(&t, "rp:bounces.example")
       && has(&t, "org:meds") && has(&t, "org:Meds"),
       "Reply-To, Message-ID, priority, Return-Path, Organization");
    ok(has(&t, "f:cheap") && has(&t, "f:deals") && has(&t, "f:pharma.example")
       && has(&t, "t:victim") && has(&t, "t:example.org"),
       "From and To words");
    ok(has(&t, "xm:spamware"), "X-Mailer");
    ok(has(&t, "ct:multipart") && has(&t, "ct:alternative")
       && has(&t, "ct:html") && has(&t, "ct:utf-8"),
       "Content-Type of every part");
    ok(has(&t, "buy") && has(&t, "cheap") && has(&t, "pills")
       && has(&t, "now"),
       "base64 text part decoded");
    ok(has(&t, "pharmacy") && has(&t, "unsubscribe") && !has(&t, "href")
       && !has(&t, "body"),
       "HTML reduced to its text");
    ok(has(&t, "html:html") && has(&t, "html:body") && has(&t, "html:a")
       && has(&t, "html:b") && has(&t, "html:font")
       && has(&t, "html:table1234567890a") && !has(&t, "html:FONT")
       && !has(&t, "html:color") && !has(&t, "html:font.color"),
       "HTML tag names, lowercased, 16 bytes at most, no attributes");
    ok(has(&t, "u:click.spam.example") && has(&t, "u:spam.example"),
       "link host from the HTML");
    ok(!has(&t, "relay") && !has(&t, "relay.example")
       && !has(&t, "192.0.2.1"),
       "Received not read");
}


static void
test_prob(void)
{
    double                       f;
    ngx_mail_spam_bayes_count_t  c;
    ngx_mail_spam_bayes_params_t p;

    c.spam_count = 0;
    c.ham_count = 0;
    ok(ngx_mail_spam_bayes_token_prob(&c, 10, 10, NULL) == 0.5,
       "unseen token: x");

    c.spam_count = 1;
    f = ngx_mail_spam_bayes_token_prob(&c, 10, 10, NULL);
    ok(fabs(f - 0.75) < 1e-12, "seen once in spam: 0.75 with s = 1");

    c.spam_count = 0;
    c.ham_count = 1;
    f = ngx_mail_spam_bayes_token_prob(&c, 10, 10, NULL);
    ok(fabs(f - 0.25) < 1e-12, "seen once in ham: 0.25");

    /* 10 of 100 spams, 10 of 1000 hams: p = 0.1 / (0.1 + 0.01) */

    c.spam_count = 10;
    c.ham_count = 10;
    f = ngx_mail_spam_bayes_token_prob(&c, 100, 1000, NULL);
    ok(fabs(f - (0.5 + 20 * (0.1 / 0.11)) / 21) < 1e-12,
       "frequencies normalised by corpus sizes");

    memset(&p, 0, sizeof(p));
    p.s = 0.1;
    c.spam_count = 1;
    c.ham_count = 0;
    f = ngx_mail_spam_bayes_token_prob(&c, 10, 10, &p);
    ok(fabs(f - (0.05 + 1) / 1.1) < 1e-12, "s is a parameter");

    c.spam_count = 50;
    f = ngx_mail_spam_bayes_token_prob(&c, 10, 10, NULL);
    ok(f > 0.5 && f < 1, "count above total stays below 1");
}


static void
test_chi2q(void)
{
    double  m;

    ok(ngx_mail_spam_bayes_chi2q(0, 2) == 1, "chi2q(0) = 1");
    ok(fabs(ngx_mail_spam_bayes_chi2q(2, 2) - exp(-1)) < 1e-12,
       "chi2q(2, 2) = e^-1");

    m = 3.5;
    ok(fabs(ngx_mail_spam_bayes_chi2q(2 * m, 4) - exp(-m) * (1 + m))
       < 1e-12, "chi2q(2m, 4) = e^-m (1 + m)");

    /* chi-square with 300 df has mean 300: Q(300) near 0.5 */

    m = ngx_mail_spam_bayes_chi2q(300, 300);
    ok(m > 0.45 && m < 0.55, "chi2q(300, 300) near one half");

    m = ngx_mail_spam_bayes_chi2q(5000, 300);
    ok(m >= 0 && m < 1e-100, "chi2q far tail is tiny, not NaN");

    m = ngx_mail_spam_bayes_chi2q(1, 2000);
    ok(m <= 1 && m > 0.999, "chi2q near zero chi is 1");
}


static int
lookup(void *ctx, const ngx_mail_spam_bayes_token_t *token,
    ngx_mail_spam_bayes_count_t *count)
{
    /* words starting with "s" are spammy, "h" hammy */

    if (token->data[0] == 's') {
        count->spam_count = 40;
        count->ham_count = 1;

    } else if (token->data[0] == 'h') {
        count->spam_count = 1;
        count->ham_count = 40;
    }

    return NGX_MAIL_SPAM_BAYES_OK;
}


static void
test_classify(mime_arena_t *arena)
{
    unsigned                      i;
    uint64_t                      seed;
    ngx_mail_spam_bayes_count_t   counts[1000], tmp;
    ngx_mail_spam_bayes_token_t   toks[1000], ttmp;
    ngx_mail_spam_bayes_tokens_t  t;
    ngx_mail_spam_bayes_result_t  r, r2;
    ngx_mail_spam_bayes_params_t  p;

    for (i = 0; i < 20; i++) {
        counts[i].spam_count = 50;
        counts[i].ham_count = 1;
    }

    ngx_mail_spam_bayes_classify(counts, NULL, 20, 100, 100, NULL, &r);
    ok(r.score > 0.99 && r.used == 20 && r.known == 20, "spammy: near 1");

    for (i = 0; i < 20; i++) {
        counts[i].spam_count = 1;
        counts[i].ham_count = 50;
    }

    ngx_mail_spam_bayes_classify(counts, NULL, 20, 100, 100, NULL, &r);
    ok(r.score < 0.01, "hammy: near 0");

    for (i = 0; i < 10; i++) {
        counts[i].spam_count = 50;
        counts[i].ham_count = 1;
    }

    ngx_mail_spam_bayes_classify(counts, NULL, 20, 100, 100, NULL, &r);
    ok(fabs(r.score - 0.5) < 0.01, "half and half: near 0.5");

    for (i = 0; i < 20; i++) {
        counts[i].spam_count = 11;
        counts[i].ham_count = 9;
    }

    ngx_mail_spam_bayes_classify(counts, NULL, 20, 100, 100, NULL, &r);
    ok(r.score == 0.5 && r.used == 0 && r.known == 20,
       "f(w) within min_dev of 0.5: not used, score 0.5");

    ngx_mail_spam_bayes_classify(counts, NULL, 0, 0, 0, NULL, &r);
    ok(r.score == 0.5 && r.used == 0, "nothing learned: 0.5");

    /* 1000 tokens: 150 used, and the most significant ones */

    seed = 12345;

    for (i = 0; i < 1000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        counts[i].spam_count = (seed >> 33) % 200;
        counts[i].ham_count = (seed >> 13) % 200;
        toks[i].data = NULL;
        toks[i].len = 0;
        toks[i].hash = seed;
    }

    ngx_mail_spam_bayes_classify(counts, toks, 1000, 1000, 1000, NULL, &r);
    ok(r.used == 150 && r.score >= 0 && r.score <= 1, "150 tokens used");

    /* the same tokens in another order: the same score */

    for (i = 0; i < 1000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        tmp = counts[i];
        ttmp = toks[i];
        counts[i] = counts[(seed >> 33) % 1000];
        toks[i] = toks[(seed >> 33) % 1000];
        counts[(seed >> 33) % 1000] = tmp;
        toks[(seed >> 33) % 1000] = ttmp;
    }

    ngx_mail_spam_bayes_classify(counts, toks, 1000, 1000, 1000, NULL, &r2);
    ok(r2.score == r.score && r2.used == r.used, "order independent");

    memset(&p, 0, sizeof(p));
    p.max_used = 10;
    ngx_mail_spam_bayes_classify(counts, toks, 1000, 1000, 1000, &p, &r2);
    ok(r2.used == 10, "max_used is a parameter");

    /* 150 extreme tokens: logs stay finite */

    for (i = 0; i < 150; i++) {
        counts[i].spam_count = 0;
        counts[i].ham_count = 1000000;
    }

    ngx_mail_spam_bayes_classify(counts, NULL, 150, 1000000, 1000000, NULL,
                                 &r);
    ok(r.score >= 0 && r.score < 1e-6 && !isnan(r.score),
       "extreme ham: finite, near 0");

    for (i = 0; i < 150; i++) {
        counts[i].spam_count = 1000000;
        counts[i].ham_count = 0;
    }

    ngx_mail_spam_bayes_classify(counts, NULL, 150, 1000000, 1000000, NULL,
                                 &r);
    ok(r.score <= 1 && r.score > 1 - 1e-6, "extreme spam: finite, near 1");

    text(arena, &t, NULL, NULL,
         "spam1 spam2 spam3 spam4 spam5 ham1 other words now");
    ok(ngx_mail_spam_bayes_classify_lookup(&t, lookup, NULL, 100, 100, NULL,
                                           &r) == NGX_MAIL_SPAM_BAYES_OK
       && r.used == 6 && r.known == 6 && r.score > 0.9,
       "lookup callback: 5 spammy, 1 hammy");

    for (i = 0; i < t.ntokens; i++) {
        counts[i].spam_count = 0;
        counts[i].ham_count = 0;
        lookup(NULL, &t.tokens[i], &counts[i]);
    }

    ngx_mail_spam_bayes_classify(counts, t.tokens, t.ntokens, 100, 100, NULL,
                                 &r2);
    ok(r2.score == r.score, "array and callback agree");
}


int
main(void)
{
    mime_arena_t  *arena;

    arena = mime_arena_create(64 * 1024);
    if (arena == NULL) {
        printf("Bail out! no memory\n");
        return 1;
    }

    test_words(arena);
    test_limits(arena);
    test_hash();
    test_urls(arena);
    test_message_tokens(arena);
    test_prob();
    test_chi2q();
    test_classify(arena);

    mime_arena_destroy(arena);

    printf("1..%u\n", test_n);

    return test_failed ? 1 : 0;
}
