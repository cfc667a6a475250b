
/*
 * The Bayesian spam classifier of nginx-mailserver: a tokenizer over a
 * message parsed by the MIME library, a keyed 64-bit token hash, and
 * the Robinson / Fisher combining of per-token counts into one score.
 *
 * Plain C99 + libm, no nginx dependency and no global mutable state, as
 * the MIME library: memory comes from the caller's mime_allocator_t and
 * is never freed one object at a time (an nginx pool fits).  The counts
 * live in Redis; this code never stores anything, the caller looks the
 * tokens' counts up and hands them in.
 *
 *
 * Tokens
 *
 * A token is a byte string and its 64-bit hash.  Body tokens are words
 * of the decoded text parts (mime_text_extract(), HTML reduced to its
 * text) with no prefix.  Header tokens carry a prefix naming the header,
 * because "free" in a Subject says more than "free" in a body:
 *
 *     s:   Subject          (RFC 2047 words decoded)
 *     f:   From             (decoded; address words too: "f:example.com")
 *     t:   To, Cc
 *     rt:  Reply-To         (decoded)
 *     rp:  Return-Path, Sender
 *     mid: Message-ID       (the words of it: "mid:bulk.example")
 *     pri: X-Priority, X-MSMail-Priority, Importance
 *     org: Organization     (decoded)
 *     ct:  Content-Type     (of every part: "ct:multipart", "ct:boundary")
 *     xm:  X-Mailer, User-Agent
 *     u:   the host of an URL in any text part, and its last two labels:
 *          "u:www.example.com", "u:example.com"
 *     html: the tag names of HTML parts, "html:font" (attributes not)
 *     sk:  a word longer than NGX_MAIL_SPAM_BAYES_MAX_WORD bytes: its
 *          first 8 bytes (the way SpamAssassin keeps a trace of them)
 *     u8:  each Chinese, Japanese or Korean character (kana, ideographs,
 *          Hangul syllables), after the header's prefix if any: these
 *          scripts put no spaces between words (SpamAssassin's way too)
 *
 * Received and other trace headers are not read: in a user's corpus they
 * name the user's own relays and teach the classifier nothing about the
 * sender, only about the route of the day the mail was learned.  (On the
 * bench's corpus they did raise recall, by learning which feed a message
 * came through, and brought a false positive with it.)
 *
 * A word is a run of letters and digits, ASCII or any non-ASCII code
 * point that is not white space or punctuation, with '.', '-', '\'' and
 * '_' allowed inside it and '$' in front ("$100").  Invalid UTF-8 bytes
 * separate words, so a word is always valid UTF-8.  ASCII, Latin-1,
 * Latin Extended-A, Greek and Cyrillic letters are lowercased, and a
 * word written with any capital is one more token as written ("FREE",
 * "s:Viagra"): shouting and brand capitals say spam more than the same
 * word in a sentence, and the lowercased token still pools all the
 * spellings.  Words shorter than 3 bytes (a CJK character is 3) are
 * dropped; pure numbers are dropped too, dates and sizes vary from copy
 * to copy.
 *
 * Every token appears once in the result (a word repeated ten times is
 * no more evidence than once, as in SpamAssassin and bogofilter); at most
 * "max_tokens" tokens are made and at most "max_scan" bytes of decoded
 * text are read, so a crafted message costs a bounded amount of work.
 *
 *
 * Hash
 *
 * Redis keys are the 64-bit token hash, not the token: 8 bytes instead
 * of up to 43, and no user text in key names.  The hash is FNV-1a 64
 * started from a per-installation key, then a 64-bit finalizer so that
 * every input bit reaches every output bit.  The key makes collisions
 * differ from one installation to the next; it is no MAC, and need not
 * be: a collision only merges the counts of two words.  At 2^64 values
 * a table of a million tokens has a collision with odds of about
 * 1 in 30 million.  Changing the key makes every learned count
 * unreachable: it is set once.
 *
 *
 * Classifier
 *
 * For a token seen spam_count times in nspam learned spams and ham_count
 * times in nham learned hams (Gary Robinson, "A Statistical Approach to
 * the Spam Problem", 2003):
 *
 *     p(w) = (spam_count / nspam)
 *            / (spam_count / nspam + ham_count / nham)
 *
 * the frequencies are normalised by the corpus sizes so that a user who
 * learned ten times more ham than spam does not see every word as ham;
 *
 *     n = spam_count + ham_count
 *     f(w) = (s * x + n * p(w)) / (s + n)
 *
 * pulls a rarely seen word towards x, the score of a word never seen:
 * with the defaults s = 1 and x = 0.5 a word seen once in spam gets 0.75,
 * not 1.  Tokens never learned (n = 0) are skipped.
 *
 * Only the tokens far from neutral carry evidence: those with
 * |f(w) - 0.5| > min_dev (0.1) are sorted by that distance and the first
 * max_used (150) are combined with Fisher's method:
 *
 *     H = C^-1(-2 * sum(ln f(w)), 2k)
 *     S = C^-1(-2 * sum(ln (1 - f(w))), 2k)
 *     score = (1 + H - S) / 2
 *
 * where k is the number of tokens used and C^-1(chi, df) is the inverse
 * chi-square function: the probability that a chi-square variable with
 * df degrees of freedom is at least chi.  Were the f(w) random, -2 sum
 * ln f(w) would be chi-square with 2k degrees of freedom: a small H says
 * the f(w) are too small to be chance (evidence of ham), a small S says
 * the same of the 1 - f(w) (evidence of spam).  The score is 0.5 when a
 * message is neither or both, near 0 for ham and near 1 for spam.
 * With no token used the score is 0.5.  The sums are computed in log
 * space, so 150 tokens of f = 0.001 neither underflow nor overflow.
 *
 * These constants are SpamAssassin's and bogofilter's choices except s:
 * they use a smaller s (about 0.16 and 0.02), trusting single sightings
 * more; s = 1 is Robinson's suggestion and errs towards ham, which is
 * what a mail server filing into Junk wants.  A cross-validation on the
 * bench's training part (bench/spam-bench.sh -c) found no better
 * choice: s from 0.1 to 1, x from 0.45 to 0.55, min_dev from 0.01 to
 * 0.2 and max_used from 100 to 1000 moved spam recall by one or two
 * messages in 350, either way.
 *
 *
 * Threshold
 *
 * A message scoring above NGX_MAIL_SPAM_BAYES_JUNK_THRESHOLD (0.95) is
 * filed to Junk: the default spam_bayes_score is the weight with which
 * Bayes alone reaches the junk score there.  It was chosen once, on the
 * same cross-validation (5 and 10 folds of the training part, never the
 * test part): the lowest round value with no ham above it, 0.9 having
 * one.
 */

#ifndef _NGX_MAIL_SPAM_BAYES_H_INCLUDED_
#define _NGX_MAIL_SPAM_BAYES_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "mime.h"


#define NGX_MAIL_SPAM_BAYES_OK          0
#define NGX_MAIL_SPAM_BAYES_ERROR      -1


#define NGX_MAIL_SPAM_BAYES_MIN_WORD           3
#define NGX_MAIL_SPAM_BAYES_MAX_WORD          40
/* the longest token: a prefix and a word, or "u:" + host */
#define NGX_MAIL_SPAM_BAYES_MAX_TOKEN        260

#define NGX_MAIL_SPAM_BAYES_DEFAULT_MAX_TOKENS  5000
#define NGX_MAIL_SPAM_BAYES_DEFAULT_MAX_SCAN    (512 * 1024)
#define NGX_MAIL_SPAM_BAYES_HARD_MAX_TOKENS     (1024 * 1024)

#define NGX_MAIL_SPAM_BAYES_DEFAULT_S           1.0
#define NGX_MAIL_SPAM_BAYES_DEFAULT_X           0.5
#define NGX_MAIL_SPAM_BAYES_DEFAULT_MIN_DEV     0.1
#define NGX_MAIL_SPAM_BAYES_DEFAULT_MAX_USED    150
#define NGX_MAIL_SPAM_BAYES_HARD_MAX_USED       1000

/* above it a message is spam: filed to Junk */
#define NGX_MAIL_SPAM_BAYES_JUNK_THRESHOLD      0.95


typedef struct {
    const mime_uchar_t       *data;
    size_t                    len;
    uint64_t                  hash;
} ngx_mail_spam_bayes_token_t;


/* zero fields take the defaults above */

typedef struct {
    unsigned                  max_tokens;
    size_t                    max_scan;
    uint64_t                  hash_key;
} ngx_mail_spam_bayes_limits_t;


/*
 * The token set of one message.  "slots" is the open-addressing index
 * that removes duplicates: ntokens never exceeds max_tokens, and the
 * index is twice that size or more, so it never fills.
 */

typedef struct {
    ngx_mail_spam_bayes_token_t  *tokens;
    unsigned                      ntokens;
    unsigned                      max_tokens;
    unsigned                     *slots;       /* index + 1, 0 is empty */
    unsigned                      mask;
    size_t                        scanned;     /* text bytes read */
    size_t                        max_scan;
    uint64_t                      hash_key;
    const mime_allocator_t       *allocator;
    unsigned                      truncated:1; /* a limit was reached */
} ngx_mail_spam_bayes_tokens_t;


uint64_t ngx_mail_spam_bayes_hash(uint64_t key, const mime_uchar_t *p,
    size_t len);

int ngx_mail_spam_bayes_tokens_init(ngx_mail_spam_bayes_tokens_t *tokens,
    const mime_allocator_t *allocator,
    const ngx_mail_spam_bayes_limits_t *limits);

/* words of UTF-8 text, each made "prefix" + word; prefix may be NULL */
int ngx_mail_spam_bayes_tokenize_text(ngx_mail_spam_bayes_tokens_t *tokens,
    const char *prefix, const mime_uchar_t *p, size_t len);

/* "u:" tokens of the URLs in text, http://, https:// and www. ones */
int ngx_mail_spam_bayes_tokenize_urls(ngx_mail_spam_bayes_tokens_t *tokens,
    const mime_uchar_t *p, size_t len);

/* one token taken as is (lowercased ASCII), e.g. "ct:multipart" */
int ngx_mail_spam_bayes_token_add(ngx_mail_spam_bayes_tokens_t *tokens,
    const char *prefix, const mime_uchar_t *p, size_t len);

/* the headers above and the text parts of a parsed message */
int ngx_mail_spam_bayes_tokenize(ngx_mail_spam_bayes_tokens_t *tokens,
    const mime_message_t *msg);


typedef struct {
    uint64_t                  spam_count;
    uint64_t                  ham_count;
} ngx_mail_spam_bayes_count_t;


/* zero fields take the defaults above; s = 0 is taken as the default */

typedef struct {
    double                    s;
    double                    x;
    double                    min_dev;
    unsigned                  max_used;
} ngx_mail_spam_bayes_params_t;


typedef struct {
    double                    score;      /* 0 ham .. 1 spam */
    double                    spamminess; /* 1 - S */
    double                    hamminess;  /* 1 - H */
    unsigned                  used;       /* tokens combined */
    unsigned                  known;      /* tokens with n > 0 */
} ngx_mail_spam_bayes_result_t;


/*
 * The lookup callback fills "count" for one token, zero counts when the
 * token was never learned; it returns NGX_MAIL_SPAM_BAYES_OK or _ERROR,
 * which stops the classification.
 */

typedef int (*ngx_mail_spam_bayes_lookup_pt)(void *ctx,
    const ngx_mail_spam_bayes_token_t *token,
    ngx_mail_spam_bayes_count_t *count);

/* Robinson's f(w); the default params when params is NULL */
double ngx_mail_spam_bayes_token_prob(const ngx_mail_spam_bayes_count_t *c,
    uint64_t nspam, uint64_t nham, const ngx_mail_spam_bayes_params_t *params);

/* C^-1(chi, df), df even */
double ngx_mail_spam_bayes_chi2q(double chi, unsigned df);

/*
 * counts[i] belongs to the i-th token; "tokens" (may be NULL) only
 * breaks ties between equally significant tokens by hash, so that the
 * result never depends on the order of the array.
 */
int ngx_mail_spam_bayes_classify(const ngx_mail_spam_bayes_count_t *counts,
    const ngx_mail_spam_bayes_token_t *tokens, size_t n, uint64_t nspam,
    uint64_t nham, const ngx_mail_spam_bayes_params_t *params,
    ngx_mail_spam_bayes_result_t *result);

int ngx_mail_spam_bayes_classify_lookup(
    const ngx_mail_spam_bayes_tokens_t *tokens,
    ngx_mail_spam_bayes_lookup_pt lookup, void *ctx, uint64_t nspam,
    uint64_t nham, const ngx_mail_spam_bayes_params_t *params,
    ngx_mail_spam_bayes_result_t *result);


#endif /* _NGX_MAIL_SPAM_BAYES_H_INCLUDED_ */
