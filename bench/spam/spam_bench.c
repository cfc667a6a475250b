
/*
 * The accuracy and speed driver of bench/spam-bench.sh for our Bayesian
 * classifier.  It reads a list of "train|test spam|ham path" lines,
 * learns the train messages into an in-memory table of per-token counts
 * (the stand-in for Redis), then scores every test message and prints
 *
 *     ours <spam|ham> <score> <path>
 *
 * one line each, and on stderr the classification speed: parse,
 * tokenize, look up and combine, the files already read into memory.
 *
 * With -c K it never reads the test messages: the train messages are cut
 * into K folds (the i-th train message is in fold i % K), each fold is
 * scored by the counts of the other K - 1, and the lines are
 *
 *     cv <spam|ham> <score> <path>
 *
 * so that the classifier's parameters and threshold are chosen on the
 * training part alone, the test part kept for the final figures.
 *
 *   spam-bench [-s S] [-x X] [-d MIN_DEV] [-n MAX_USED] [-c K] LIST
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ngx_mail_spam_bayes.h"


typedef struct {
    uint64_t                      hash;
    ngx_mail_spam_bayes_count_t   count;
} bench_entry_t;


typedef struct {
    bench_entry_t                *entries;
    size_t                        size;     /* a power of two */
    size_t                        used;
} bench_table_t;


typedef struct {
    char                         *path;
    mime_uchar_t                 *data;
    size_t                        len;
    int                           spam;
    int                           train;
    ngx_mail_spam_bayes_token_t  *tokens;   /* -c: hashes only */
    unsigned                      ntokens;
} bench_msg_t;


/* hash 0 marks an empty entry; a real token hashed to 0 becomes 1 */

static bench_entry_t *
bench_table_find(bench_table_t *t, uint64_t hash, int create)
{
    size_t          i, size;
    bench_entry_t  *old, *e;

    hash = hash ? hash : 1;

    if (create && (t->used + 1) * 2 > t->size) {
        old = t->entries;
        size = t->size;

        t->size = size ? size * 2 : 1 << 16;
        t->entries = calloc(t->size, sizeof(bench_entry_t));
        t->used = 0;

        if (t->entries == NULL) {
            fprintf(stderr, "spam-bench: out of memory\n");
            exit(2);
        }

        for (i = 0; i < size; i++) {
            if (old[i].hash) {
                e = bench_table_find(t, old[i].hash, 1);
                e->count = old[i].count;
            }
        }

        free(old);
    }

    if (t->size == 0) {
        return NULL;
    }

    for (i = hash & (t->size - 1); /* void */; i = (i + 1) & (t->size - 1)) {
        e = &t->entries[i];

        if (e->hash == hash) {
            return e;
        }

        if (e->hash == 0) {
            if (!create) {
                return NULL;
            }

            e->hash = hash;
            t->used++;
            return e;
        }
    }
}


static int
bench_lookup(void *ctx, const ngx_mail_spam_bayes_token_t *token,
    ngx_mail_spam_bayes_count_t *count)
{
    bench_entry_t  *e;

    e = bench_table_find(ctx, token->hash, 0);

    if (e) {
        *count = e->count;
    }

    return NGX_MAIL_SPAM_BAYES_OK;
}


static int
bench_read(bench_msg_t *m)
{
    long   size;
    FILE  *f;

    f = fopen(m->path, "rb");
    if (f == NULL) {
        return -1;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fclose(f);
        return -1;
    }

    m->data = malloc(size + 1);
    if (m->data == NULL || fread(m->data, 1, size, f) != (size_t) size) {
        fclose(f);
        return -1;
    }

    m->len = size;
    fclose(f);

    return 0;
}


static int
bench_tokenize(const bench_msg_t *m, mime_arena_t **arena,
    ngx_mail_spam_bayes_tokens_t *tokens)
{
    mime_message_t    *msg;
    mime_allocator_t   a;

    *arena = mime_arena_create(64 * 1024);
    if (*arena == NULL) {
        return -1;
    }

    mime_arena_allocator(*arena, &a);

    msg = mime_parse(&a, m->data, m->len, NULL);

    if (msg == NULL
        || ngx_mail_spam_bayes_tokens_init(tokens, &a, NULL)
           != NGX_MAIL_SPAM_BAYES_OK
        || ngx_mail_spam_bayes_tokenize(tokens, msg)
           != NGX_MAIL_SPAM_BAYES_OK)
    {
        return -1;
    }

    return 0;
}


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
bench_learn(bench_table_t *t, const bench_msg_t *m, int add)
{
    unsigned        k;
    bench_entry_t  *e;

    for (k = 0; k < m->ntokens; k++) {
        e = bench_table_find(t, m->tokens[k].hash, 1);

        if (m->spam) {
            e->count.spam_count += add ? 1 : -1;

        } else {
            e->count.ham_count += add ? 1 : -1;
        }
    }
}


static int
bench_cross_validate(bench_msg_t *msgs, size_t n, unsigned folds,
    const ngx_mail_spam_bayes_params_t *params)
{
    size_t                         i, j, ntrain;
    uint64_t                       nspam, nham;
    unsigned                       fold, k;
    mime_arena_t                  *arena;
    bench_entry_t                 *e;
    bench_table_t                  table;
    ngx_mail_spam_bayes_count_t   *counts;
    ngx_mail_spam_bayes_result_t   r;
    ngx_mail_spam_bayes_tokens_t   tokens;

    memset(&table, 0, sizeof(table));
    nspam = 0;
    nham = 0;

    for (i = 0; i < n; i++) {
        if (!msgs[i].train) {
            continue;
        }

        if (bench_tokenize(&msgs[i], &arena, &tokens) != 0) {
            fprintf(stderr, "spam-bench: cannot tokenize %s\n",
                    msgs[i].path);
            return 2;
        }

        msgs[i].ntokens = tokens.ntokens;
        msgs[i].tokens = calloc(tokens.ntokens + 1,
                                sizeof(ngx_mail_spam_bayes_token_t));
        if (msgs[i].tokens == NULL) {
            return 2;
        }

        for (k = 0; k < tokens.ntokens; k++) {
            msgs[i].tokens[k].hash = tokens.tokens[k].hash;
        }

        mime_arena_destroy(arena);

        bench_learn(&table, &msgs[i], 1);

        if (msgs[i].spam) {
            nspam++;

        } else {
            nham++;
        }
    }

    for (fold = 0; fold < folds; fold++) {

        for (i = 0, ntrain = 0; i < n; i++) {
            if (msgs[i].train && ntrain++ % folds == fold) {
                bench_learn(&table, &msgs[i], 0);
                nspam -= msgs[i].spam;
                nham -= !msgs[i].spam;
            }
        }

        for (i = 0, ntrain = 0; i < n; i++) {
            if (!msgs[i].train || ntrain++ % folds != fold) {
                continue;
            }

            counts = calloc(msgs[i].ntokens + 1,
                            sizeof(ngx_mail_spam_bayes_count_t));
            if (counts == NULL) {
                return 2;
            }

            for (j = 0; j < msgs[i].ntokens; j++) {
                e = bench_table_find(&table, msgs[i].tokens[j].hash, 0);
                if (e) {
                    counts[j] = e->count;
                }
            }

            ngx_mail_spam_bayes_classify(counts, msgs[i].tokens,
                                         msgs[i].ntokens, nspam, nham,
                                         params, &r);
            free(counts);

            printf("cv %s %.6f %s\n", msgs[i].spam ? "spam" : "ham",
                   r.score, msgs[i].path);
        }

        for (i = 0, ntrain = 0; i < n; i++) {
            if (msgs[i].train && ntrain++ % folds == fold) {
                bench_learn(&table, &msgs[i], 1);
                nspam += msgs[i].spam;
                nham += !msgs[i].spam;
            }
        }
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int                            c;
    char                           line[4096], role[16], class[16];
    char                           path[4000];
    size_t                         n, size, i, ntest;
    double                         start, elapsed;
    uint64_t                       nspam, nham;
    unsigned                       k, folds;
    FILE                          *list;
    bench_msg_t                   *msgs;
    mime_arena_t                  *arena;
    bench_entry_t                 *e;
    bench_table_t                  table;
    ngx_mail_spam_bayes_params_t   params;
    ngx_mail_spam_bayes_result_t   r;
    ngx_mail_spam_bayes_tokens_t   tokens;

    memset(&params, 0, sizeof(params));
    folds = 0;

    while ((c = getopt(argc, argv, "s:x:d:n:c:")) != -1) {
        switch (c) {
        case 's':
            params.s = atof(optarg);
            break;
        case 'x':
            params.x = atof(optarg);
            break;
        case 'd':
            params.min_dev = atof(optarg);
            break;
        case 'n':
            params.max_used = atoi(optarg);
            break;
        case 'c':
            folds = atoi(optarg);
            break;
        default:
            return 2;
        }
    }

    if (optind + 1 != argc || (list = fopen(argv[optind], "r")) == NULL) {
        fprintf(stderr, "usage: spam-bench [-s S] [-x X] [-d MIN_DEV] "
                "[-n MAX_USED] [-c K] LIST\n");
        return 2;
    }

    msgs = NULL;
    n = 0;
    size = 0;

    while (fgets(line, sizeof(line), list)) {
        if (sscanf(line, "%15s %15s %3999[^\n]", role, class, path) != 3) {
            continue;
        }

        if (n == size) {
            size = size ? size * 2 : 1024;
            msgs = realloc(msgs, size * sizeof(bench_msg_t));
            if (msgs == NULL) {
                return 2;
            }
        }

        memset(&msgs[n], 0, sizeof(bench_msg_t));
        msgs[n].path = strdup(path);
        msgs[n].spam = (strcmp(class, "spam") == 0);
        msgs[n].train = (strcmp(role, "train") == 0);

        if (msgs[n].path == NULL || bench_read(&msgs[n]) != 0) {
            fprintf(stderr, "spam-bench: cannot read %s\n", path);
            return 2;
        }

        n++;
    }

    fclose(list);

    if (folds > 1) {
        return bench_cross_validate(msgs, n, folds, &params);
    }

    memset(&table, 0, sizeof(table));
    nspam = 0;
    nham = 0;

    start = bench_now();

    for (i = 0; i < n; i++) {
        if (!msgs[i].train) {
            continue;
        }

        if (bench_tokenize(&msgs[i], &arena, &tokens) != 0) {
            fprintf(stderr, "spam-bench: cannot tokenize %s\n",
                    msgs[i].path);
            return 2;
        }

        for (k = 0; k < tokens.ntokens; k++) {
            e = bench_table_find(&table, tokens.tokens[k].hash, 1);

            if (msgs[i].spam) {
                e->count.spam_count++;

            } else {
                e->count.ham_count++;
            }
        }

        if (msgs[i].spam) {
            nspam++;

        } else {
            nham++;
        }

        mime_arena_destroy(arena);
    }

    elapsed = bench_now() - start;

    fprintf(stderr, "ours: learned %llu spam, %llu ham, %zu tokens "
            "in %.2f s\n", (unsigned long long) nspam,
            (unsigned long long) nham, table.used, elapsed);

    ntest = 0;
    start = bench_now();

    for (i = 0; i < n; i++) {
        if (msgs[i].train) {
            continue;
        }

        if (bench_tokenize(&msgs[i], &arena, &tokens) != 0
            || ngx_mail_spam_bayes_classify_lookup(&tokens, bench_lookup,
                                                   &table, nspam, nham,
                                                   &params, &r)
               != NGX_MAIL_SPAM_BAYES_OK)
        {
            fprintf(stderr, "spam-bench: cannot classify %s\n",
                    msgs[i].path);
            return 2;
        }

        printf("ours %s %.6f %s\n", msgs[i].spam ? "spam" : "ham", r.score,
               msgs[i].path);

        mime_arena_destroy(arena);
        ntest++;
    }

    elapsed = bench_now() - start;

    fprintf(stderr, "ours: classified %zu messages in %.3f s: "
            "%.0f messages/s\n", ntest, elapsed,
            elapsed > 0 ? ntest / elapsed : 0);

    return 0;
}
