
/*
 * libFuzzer target for the Bayesian classifier: parses the input as a
 * message, tokenizes it and its raw bytes, checks what every token must
 * be (valid UTF-8, within the length and count limits, hashed from its
 * bytes, unique) and classifies it with counts made from the hashes.
 * Build and run with fuzz/run-spam.sh.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "ngx_mail_spam_bayes.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static int
spam_fuzz_utf8_valid(const mime_uchar_t *p, size_t len)
{
    size_t    i, n, k;
    uint32_t  c;

    for (i = 0; i < len; i += n) {
        c = p[i];

        if (c < 0x80) {
            n = 1;
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 2;
            c &= 0x1f;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            c &= 0x0f;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            c &= 0x07;

        } else {
            return 0;
        }

        if (i + n > len) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            c = (c << 6) | (p[i + k] & 0x3f);
        }

        if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000)
            || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
        {
            return 0;
        }
    }

    return 1;
}


static int
spam_fuzz_cmp(const void *one, const void *two)
{
    const ngx_mail_spam_bayes_token_t  *a = one, *b = two;

    if (a->hash != b->hash) {
        return a->hash < b->hash ? -1 : 1;
    }

    if (a->len != b->len) {
        return a->len < b->len ? -1 : 1;
    }

    return memcmp(a->data, b->data, a->len);
}


static void
spam_fuzz_check(ngx_mail_spam_bayes_tokens_t *t, uint64_t key)
{
    unsigned                      i;
    ngx_mail_spam_bayes_count_t  *counts;
    ngx_mail_spam_bayes_result_t  r;

    if (t->ntokens > t->max_tokens || t->scanned > t->max_scan) {
        __builtin_trap();
    }

    for (i = 0; i < t->ntokens; i++) {
        if (t->tokens[i].len == 0
            || t->tokens[i].len > NGX_MAIL_SPAM_BAYES_MAX_TOKEN
            || !spam_fuzz_utf8_valid(t->tokens[i].data, t->tokens[i].len)
            || t->tokens[i].hash != ngx_mail_spam_bayes_hash(key,
                                      t->tokens[i].data, t->tokens[i].len))
        {
            __builtin_trap();
        }
    }

    counts = malloc((t->ntokens + 1) * sizeof(ngx_mail_spam_bayes_count_t));
    if (counts == NULL) {
        return;
    }

    for (i = 0; i < t->ntokens; i++) {
        counts[i].spam_count = t->tokens[i].hash % 7;
        counts[i].ham_count = (t->tokens[i].hash >> 8) % 5;
    }

    ngx_mail_spam_bayes_classify(counts, t->tokens, t->ntokens, 3, 2, NULL,
                                 &r);

    if (!(r.score >= 0 && r.score <= 1) || r.used > t->ntokens) {
        __builtin_trap();
    }

    free(counts);

    qsort(t->tokens, t->ntokens, sizeof(ngx_mail_spam_bayes_token_t),
          spam_fuzz_cmp);

    for (i = 1; i < t->ntokens; i++) {
        if (spam_fuzz_cmp(&t->tokens[i - 1], &t->tokens[i]) == 0) {
            __builtin_trap();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mime_arena_t                  *arena;
    mime_message_t                *msg;
    mime_allocator_t               allocator;
    ngx_mail_spam_bayes_limits_t   limits;
    ngx_mail_spam_bayes_tokens_t   t;

    arena = mime_arena_create(16384);
    if (arena == NULL) {
        return 0;
    }

    mime_arena_allocator(arena, &allocator);

    /* the first byte picks small limits now and then, to reach them */

    memset(&limits, 0, sizeof(limits));
    limits.hash_key = 42;

    if (size > 0 && (data[0] & 0x80)) {
        limits.max_tokens = 1 + (data[0] & 0x3f);
        limits.max_scan = 1 + (data[0] & 0x7f) * 64;
    }

    msg = mime_parse(&allocator, data, size, NULL);

    if (msg
        && ngx_mail_spam_bayes_tokens_init(&t, &allocator, &limits)
           == NGX_MAIL_SPAM_BAYES_OK
        && ngx_mail_spam_bayes_tokenize(&t, msg) == NGX_MAIL_SPAM_BAYES_OK)
    {
        spam_fuzz_check(&t, limits.hash_key);
    }

    if (ngx_mail_spam_bayes_tokens_init(&t, &allocator, &limits)
        == NGX_MAIL_SPAM_BAYES_OK
        && ngx_mail_spam_bayes_tokenize_text(&t, "s:", data, size)
           == NGX_MAIL_SPAM_BAYES_OK
        && ngx_mail_spam_bayes_tokenize_urls(&t, data, size)
           == NGX_MAIL_SPAM_BAYES_OK)
    {
        spam_fuzz_check(&t, limits.hash_key);
    }

    mime_arena_destroy(arena);

    return 0;
}
