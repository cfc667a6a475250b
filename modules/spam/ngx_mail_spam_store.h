
/*
 * The Bayes token counts in Redis, as the spam module, IMAP training and
 * "mailctl spam" all see them: how a message becomes a digest and a list
 * of token fields, the Lua script that learns it and the one that
 * expires old rare tokens and digests.  Plain C99, no nginx dependency,
 * so that mailctl builds the same code (ngx_mail_spam_message.c).  Key
 * names: mail_keys.h, MAIL_KEY_BAYES_*; their meaning:
 * docs/redis-keys.md, "Spam filter".
 *
 *
 * What is read of a message
 *
 * At most NGX_MAIL_SPAM_READ_MAX bytes of it, as given: a stored blob
 * (Return-Path, Received, then the message, CRLF), a file or an mbox
 * entry (maybe LF).  IMAP training reads no more of a blob than that, so
 * that a 50 MB attachment costs 1 MB; the tokenizer reads at most
 * 512 kB of decoded text anyway.
 *
 *
 * Token fields
 *
 * A token is stored under its ngx_mail_spam_bayes_hash() with the fixed
 * key NGX_MAIL_SPAM_BAYES_HASH_KEY, the bytes of "bayes-v1" read as a
 * big-endian number, written as 16 lower-case hexadecimal digits.  Every
 * node and mailctl must use this key: changing it makes every count
 * learnt before unreachable.
 *
 *
 * Digest
 *
 * The same message learnt twice must be found: delivered to the user
 * and learnt from its mailbox, or saved to a file and fed to mailctl,
 * maybe re-sent in between.  The digest is therefore taken of the
 * message without what each hop and each store add:
 *
 *   - header fields Return-Path, Received, Delivered-To, X-Original-To
 *     and X-Spam-* are left out wherever they stand in the header (a
 *     field with its continuation lines);
 *   - CR LF is read as LF, and line ends at the very end are dropped;
 *   - at most NGX_MAIL_SPAM_DIGEST_MAX bytes of the result are read.
 *
 * The digest is two ngx_mail_spam_bayes_hash() of that text with the
 * keys NGX_MAIL_SPAM_DIGEST_KEY1 and _KEY2 ("digest-1", "digest-2"),
 * 32 lower-case hexadecimal digits: 128 bits, so that two different
 * messages of one scope meet with odds of about n^2 / 2^129.  It is no
 * cryptographic hash: someone who knows a message the user learnt as
 * ham could craft a spam with its digest; learning that spam would then
 * move the counts of the spam's own tokens, never below zero (see the
 * script), which is the harm of one mislearnt message.
 */

#ifndef _NGX_MAIL_SPAM_STORE_H_INCLUDED_
#define _NGX_MAIL_SPAM_STORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "mime.h"
#include "ngx_mail_spam_bayes.h"


#define NGX_MAIL_SPAM_BAYES_HASH_KEY     0x62617965732d7631ULL  /* bayes-v1 */
#define NGX_MAIL_SPAM_DIGEST_KEY1        0x6469676573742d31ULL  /* digest-1 */
#define NGX_MAIL_SPAM_DIGEST_KEY2        0x6469676573742d32ULL  /* digest-2 */

#define NGX_MAIL_SPAM_FIELD_LEN          16
#define NGX_MAIL_SPAM_DIGEST_LEN         32

/* the digested text at most, and the trace fields a read allows for */
#define NGX_MAIL_SPAM_DIGEST_MAX         (1024 * 1024)
#define NGX_MAIL_SPAM_READ_MAX           (NGX_MAIL_SPAM_DIGEST_MAX            \
                                          + 64 * 1024)

/*
 * spam_bayes_min_learned's default: a user's own counts judge once the
 * user has learnt this many spams and this many hams
 */
#define NGX_MAIL_SPAM_MIN_LEARNED        20

/* the values of bayes:{S}:learnt, and the class argument of the script */
#define NGX_MAIL_SPAM_CLASS_SPAM         "spam"
#define NGX_MAIL_SPAM_CLASS_HAM          "ham"

#define NGX_MAIL_SPAM_SCOPE_GLOBAL       "global"

/* bayes:{S} fields */
#define NGX_MAIL_SPAM_FIELD_NSPAM        "nspam"
#define NGX_MAIL_SPAM_FIELD_NHAM         "nham"


/* a Lua expression: today, the day of Redis's clock, as the scripts date */
#define NGX_MAIL_SPAM_LUA_TODAY                                               \
    "math.floor(tonumber(redis.call('TIME')[1]) / 86400)"


/*
 * Learns one message.  KEYS: bayes:{S}, bayes:{S}:spam, bayes:{S}:ham,
 * bayes:{S}:learnt, bayes:{S}:age.  ARGV: the class ("spam" or "ham"),
 * the digest, the token fields.  Returns 0 when the message was learnt
 * as that class already (no count changes), 1 when it is learnt, 2 when
 * it was learnt as the other class and moves: its tokens' counts of the
 * old class and that class's message count go down by one, never below
 * zero (a field at zero is deleted), the new ones up.  Every token of a
 * message that counts is dated with the day of Redis's clock, for
 * NGX_MAIL_SPAM_EXPIRE_LUA, and so is the digest, whatever the answer:
 * its value is the class and the day, "spam:20415", so that a message
 * learnt again and again is remembered as long as it is.  The digest is
 * written after the counts: Redis does not undo a script that fails
 * half way (out of memory), and a digest without its counts would make
 * the message "learnt already" for ever.  A value
 * without the day ("spam", written before digests were dated) is read
 * by its class alone.  5000 tokens at most
 * (NGX_MAIL_SPAM_BAYES_DEFAULT_MAX_TOKENS): one script, a few ms.
 */
#define NGX_MAIL_SPAM_LEARN_LUA                                               \
    "local class, digest = ARGV[1], ARGV[2]\n"                                \
    "if class ~= 'spam' and class ~= 'ham' then\n"                            \
    "  return redis.error_reply('bad class')\n"                               \
    "end\n"                                                                   \
    "local day = " NGX_MAIL_SPAM_LUA_TODAY "\n"                               \
    "local old = redis.call('HGET', KEYS[4], digest)\n"                       \
    "local seen = class .. ':' .. day\n"                                      \
    "if old then old = string.match(old, '^[^:]*') end\n"                     \
    "if old == class then\n"                                                  \
    "  redis.call('HSET', KEYS[4], digest, seen)\n"                           \
    "  return 0\n"                                                            \
    "end\n"                                                                   \
    "local add, nadd, sub, nsub = KEYS[2], 'nspam', KEYS[3], 'nham'\n"        \
    "if class == 'ham' then\n"                                                \
    "  add, nadd, sub, nsub = KEYS[3], 'nham', KEYS[2], 'nspam'\n"            \
    "end\n"                                                                   \
    "for i = 3, #ARGV do\n"                                                   \
    "  redis.call('HINCRBY', add, ARGV[i], 1)\n"                              \
    "  redis.call('HSET', KEYS[5], ARGV[i], day)\n"                           \
    "end\n"                                                                   \
    "redis.call('HINCRBY', KEYS[1], nadd, 1)\n"                               \
    "if not old then\n"                                                       \
    "  redis.call('HSET', KEYS[4], digest, seen)\n"                           \
    "  return 1\n"                                                            \
    "end\n"                                                                   \
    "for i = 3, #ARGV do\n"                                                   \
    "  if redis.call('HINCRBY', sub, ARGV[i], -1) <= 0 then\n"                \
    "    redis.call('HDEL', sub, ARGV[i])\n"                                  \
    "  end\n"                                                                 \
    "end\n"                                                                   \
    "if redis.call('HINCRBY', KEYS[1], nsub, -1) < 0 then\n"                  \
    "  redis.call('HSET', KEYS[1], nsub, 0)\n"                                \
    "end\n"                                                                   \
    "redis.call('HSET', KEYS[4], digest, seen)\n"                             \
    "return 2\n"


/*
 * Expiry, one step of it: forgets the rare tokens nobody has learnt for a
 * long time, the way bogofilter's "bogoutil -a DAYS -c COUNT" does, so
 * that a scope's counts stop growing with every message learnt.  Most
 * tokens of a learnt message are seen once and never again (a name, a
 * tracking code); they cost memory and decide nothing.  Tokens learnt
 * often, or learnt lately, stay: a spam run of last week is still fresh
 * evidence.  The message counts (nspam, nham) stay too.  The digests of
 * messages not learnt for as long go, as SpamAssassin's "seen" entries
 * do (bayes_seen_ttl): else the learnt hash grows by one field a message
 * for ever.  The price: a message learnt again after its digest went
 * counts again, as a new one; by then its tokens are old evidence that
 * the second count refreshes, and it would take days of the same message
 * to skew the counts.
 *
 * KEYS: bayes:{S}:spam, bayes:{S}:ham, bayes:{S}:age, bayes:{S}:learnt.
 * ARGV: what to walk ("spam", "ham", "age" or "learnt"), the HSCAN
 * cursor, the oldest day kept, the highest count (spam + ham) that may
 * go, fields per step.  Returns { next cursor, tokens dated or forgotten
 * or digests forgotten }; cursor "0" ends the walk.  Walking "spam" and
 * "ham" dates the tokens that have no day yet (learnt before tokens were
 * dated) with today, so that they age from the first expiry on.  Walking
 * "age" forgets a token dated before the oldest day kept whose count is
 * at most the highest, and the date of a token whose counts are gone
 * (moved away by relearning).  Walking "learnt" forgets a digest dated
 * before the oldest day kept, whatever the count; one with no day yet
 * ("spam", learnt before digests were dated) is dated today, as tokens
 * are, rather than taken for old: forgetting every digest at the first
 * expiry would let every message be counted twice.  Each step is short:
 * Redis serves others between steps, and HSCAN returns every field
 * present for the whole walk, whatever a learning changes.
 */
#define NGX_MAIL_SPAM_EXPIRE_LUA                                              \
    "local what, oldest, most = ARGV[1], tonumber(ARGV[3]),\n"                \
    "  tonumber(ARGV[4])\n"                                                   \
    "local keys = { spam = KEYS[1], ham = KEYS[2], age = KEYS[3],\n"          \
    "  learnt = KEYS[4] }\n"                                                  \
    "local key = keys[what]\n"                                                \
    "if not key then return redis.error_reply('bad walk') end\n"              \
    "local r = redis.call('HSCAN', key, ARGV[2], 'COUNT', ARGV[5])\n"         \
    "local f, n = r[2], 0\n"                                                  \
    "if what == 'spam' or what == 'ham' then\n"                               \
    "  local day = " NGX_MAIL_SPAM_LUA_TODAY "\n"                             \
    "  for i = 1, #f, 2 do\n"                                                 \
    "    n = n + redis.call('HSETNX', KEYS[3], f[i], day)\n"                  \
    "  end\n"                                                                 \
    "  return { r[1], n }\n"                                                  \
    "end\n"                                                                   \
    "if what == 'learnt' then\n"                                              \
    "  local day = " NGX_MAIL_SPAM_LUA_TODAY "\n"                             \
    "  for i = 1, #f, 2 do\n"                                                 \
    "    local learnt = tonumber(string.match(f[i + 1], ':(%d+)$'))\n"        \
    "    if not learnt then\n"                                                \
    "      redis.call('HSET', KEYS[4], f[i], f[i + 1] .. ':' .. day)\n"       \
    "    elseif learnt < oldest then\n"                                       \
    "      redis.call('HDEL', KEYS[4], f[i])\n"                               \
    "      n = n + 1\n"                                                       \
    "    end\n"                                                               \
    "  end\n"                                                                 \
    "  return { r[1], n }\n"                                                  \
    "end\n"                                                                   \
    "for i = 1, #f, 2 do\n"                                                   \
    "  local c = (tonumber(redis.call('HGET', KEYS[1], f[i])) or 0)\n"        \
    "    + (tonumber(redis.call('HGET', KEYS[2], f[i])) or 0)\n"              \
    "  if c == 0 or ((tonumber(f[i + 1]) or 0) < oldest and c <= most)\n"     \
    "  then\n"                                                                \
    "    redis.call('HDEL', KEYS[1], f[i])\n"                                 \
    "    redis.call('HDEL', KEYS[2], f[i])\n"                                 \
    "    redis.call('HDEL', KEYS[3], f[i])\n"                                 \
    "    n = n + 1\n"                                                         \
    "  end\n"                                                                 \
    "end\n"                                                                   \
    "return { r[1], n }\n"

/* the walks of an expiry, in order, and their keys' order in KEYS */
#define NGX_MAIL_SPAM_EXPIRE_WALKS       4
#define NGX_MAIL_SPAM_WALK_AGE           "age"
#define NGX_MAIL_SPAM_WALK_LEARNT        "learnt"

/* "mailctl spam expire" defaults: unlearnt for 90 days, seen once */
#define NGX_MAIL_SPAM_EXPIRE_DAYS        90
#define NGX_MAIL_SPAM_EXPIRE_COUNT       1

/*
 * The walk of an expiry (mailctl's and spam_bayes_expire's): token
 * fields per step of NGX_MAIL_SPAM_EXPIRE_LUA, keys per SCAN step, and
 * the room for a SCAN or HSCAN cursor (a 64-bit number in decimal)
 */
#define NGX_MAIL_SPAM_EXPIRE_STEP        "1000"
#define NGX_MAIL_SPAM_EXPIRE_SCAN        "1000"
#define NGX_MAIL_SPAM_EXPIRE_CURSOR      32


/* the script's answers */
#define NGX_MAIL_SPAM_LEARNT_ALREADY     0
#define NGX_MAIL_SPAM_LEARNT_NEW         1
#define NGX_MAIL_SPAM_LEARNT_MOVED       2


typedef struct {
    /* hexadecimal, not terminated */
    char                      digest[NGX_MAIL_SPAM_DIGEST_LEN];
    /* ntokens fields of NGX_MAIL_SPAM_FIELD_LEN digits, not terminated */
    char                     *fields;
    uint64_t                 *hashes;
    unsigned                  ntokens;
} ngx_mail_spam_message_t;


/*
 * Parses and tokenizes a message (its first NGX_MAIL_SPAM_READ_MAX bytes)
 * and takes its digest; memory from the allocator.  "with_digest" 0
 * leaves the digest out (classification needs none).  Returns
 * NGX_MAIL_SPAM_BAYES_OK or _ERROR (out of memory).
 */
int ngx_mail_spam_message_read(ngx_mail_spam_message_t *m,
    const mime_allocator_t *allocator, const mime_uchar_t *data, size_t len,
    int with_digest);

/* the digest alone, into digest[NGX_MAIL_SPAM_DIGEST_LEN] */
int ngx_mail_spam_message_digest(char *digest,
    const mime_allocator_t *allocator, const mime_uchar_t *data, size_t len);

/* 16 lower-case hexadecimal digits, not terminated */
void ngx_mail_spam_message_hex(char *p, uint64_t value);


#endif /* _NGX_MAIL_SPAM_STORE_H_INCLUDED_ */
