
/*
 * mailctl user add|del|passwd|apop|list|show|quota|enable|disable
 */


#include <crypt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailctl.h"
#include "mailctl_validate.h"


typedef struct {
    const char               *addr;
    const char               *domain;
    long long                 quota_bytes;
    int                       enabled;
    char                      hash[CRYPT_OUTPUT_SIZE];
} mailctl_user_add_t;


/* one field of an existing user */
typedef struct {
    const char               *addr;
    const char               *field;
    const char               *value;         /* NULL: delete the field */
    int                       clear_authfail;
} mailctl_user_set_t;


/*
 * Deletes a user with everything stored under its address, as laid out
 * in docs/redis-keys.md, "Mailboxes and messages", and the user's spam
 * filter counts ("Spam filter"), which a new user of the address must
 * not inherit.  Each message drops its reference to its blob, and
 * whoever drops the last one deletes the blob, as POP3's expunge does;
 * blobs are shared between users and with the outbound queue.  The mail
 * goes before the account, so that a script stopped by an error leaves a
 * user that "user del" can delete again.
 *
 * KEYS: user:{A}, user:{A}:authfail, domain:{D}:users; ARGV: A.
 * The mail store's keys are made here from A, as the nginx modules make
 * them; they share A's hash tag, the blobs and the domain index do not,
 * which a single Redis or a Sentinel-managed primary allows.
 * Returns 1 if A was a user, else 0.
 */

/*
 * A new user's mailboxes: INBOX and the RFC 6154 special-use ones that
 * IMAP clients look for (Drafts, Sent, Trash, Junk, Archive), subscribed.
 * ARGV: address, now.  Key layout: docs/redis-keys.md.
 */
static const char  mailctl_user_mailboxes_lua[] =
    "local t = '{' .. ARGV[1] .. '}'\n"
    "local boxes = { { 'INBOX', '' }, { 'Drafts', '\\\\Drafts' },\n"
    "                { 'Sent', '\\\\Sent' }, { 'Trash', '\\\\Trash' },\n"
    "                { 'Junk', '\\\\Junk' },\n"
    "                { 'Archive', '\\\\Archive' } }\n"
    "for _, b in ipairs(boxes) do\n"
    "  if redis.call('HEXISTS', 'mailboxes:' .. t, b[1]) == 0 then\n"
    "    local id = redis.call('HINCRBY', 'user:' .. t, 'mailbox_next', 1)\n"
    "    redis.call('HSET', 'mailboxes:' .. t, b[1], id)\n"
    "    redis.call('HSET', 'mailbox:' .. t .. ':' .. id, 'name', b[1],\n"
    "               'uidvalidity', ARGV[2], 'uidnext', 1,\n"
    "               'highestmodseq', 1, 'messages', 0, 'unseen', 0,\n"
    "               'subscribed', 1, 'special_use', b[2])\n"
    "  end\n"
    "end\n"
    "return 0\n";

static char  mailctl_user_del_lua[] =
    MAIL_LUA_BLOB_UNREF
    "local t = '{' .. ARGV[1] .. '}'\n"
    "local mailboxes = 'mailboxes:' .. t\n"
    "for _, id in ipairs(redis.call('HVALS', mailboxes)) do\n"
    "  local mb = 'mailbox:' .. t .. ':' .. id\n"
    "  for _, uid in ipairs(redis.call('ZRANGE', mb .. ':uids', 0, -1)) do\n"
    "    local msg = 'msg:' .. t .. ':' .. id .. ':' .. uid\n"
    "    blob_unref(redis.call('HGET', msg, '" MAIL_FIELD_MSG_BLOB "'))\n"
    "    redis.call('DEL', msg)\n"
    "  end\n"
    "  redis.call('DEL', mb, mb .. ':uids', mb .. ':expunged',\n"
    "             mb .. ':modseq')\n"
    "end\n"
    "redis.call('DEL', mailboxes, 'lock:pop3:' .. t, KEYS[2])\n"
    "local bayes = 'bayes:' .. t\n"
    "redis.call('DEL', bayes, bayes .. ':spam', bayes .. ':ham',\n"
    "           bayes .. ':learnt', bayes .. ':age')\n"
    "redis.call('SREM', KEYS[3], ARGV[1])\n"
    "return redis.call('DEL', KEYS[1])\n";


static const mailctl_secret_t  mailctl_apop_secret = {
    "APOP secret", "APOP secret: ", "Retype APOP secret: "
};


static int mailctl_user_scheme(mailctl_t *ctl,
    const mailctl_scheme_t **scheme);
static int mailctl_user_size(const char *arg, long long *bytes);
static int mailctl_user_add_check(mailctl_t *ctl, mailctl_user_add_t *add);
static int mailctl_user_add_attempt(mailctl_t *ctl, void *data);
static int mailctl_user_exists(mailctl_t *ctl, const char *addr);
static int mailctl_user_apop_check(mailctl_t *ctl, const char *addr,
    const char *secret);
static int mailctl_user_set(mailctl_t *ctl, mailctl_user_set_t *set);
static int mailctl_user_set_attempt(mailctl_t *ctl, void *data);
static int mailctl_user_enabled(mailctl_t *ctl, const char *value);
static void mailctl_user_print(const char *addr, redisReply *fields);
static void mailctl_user_print_quota(long long quota_bytes);


/* validates and lowercases an ADDRESS argument in place */

int
mailctl_address_arg(char *addr)
{
    size_t       len;
    const char  *reason;

    len = strlen(addr);

    reason = mailctl_validate_address(addr, len, 0);
    if (reason != NULL) {
        mailctl_error("invalid address \"%s\": %s", addr, reason);
        return MAILCTL_INVALID;
    }

    mailctl_lowercase(addr, len);

    return MAILCTL_OK;
}


static int
mailctl_user_scheme(mailctl_t *ctl, const mailctl_scheme_t **scheme)
{
    *scheme = mailctl_password_scheme(ctl->scheme_arg);

    if (*scheme == NULL) {
        mailctl_error("unknown scheme \"%s\": use yescrypt, bcrypt or "
                      "sha512-crypt", ctl->scheme_arg);
        return MAILCTL_USAGE;
    }

    return MAILCTL_OK;
}


/* "1048576", "512K", "100M", "2G"; the units are 1024-based */

static int
mailctl_user_size(const char *arg, long long *bytes)
{
    int          digit;
    long long    n, unit;
    const char  *p;

    n = 0;

    for (p = arg; *p >= '0' && *p <= '9'; p++) {
        digit = *p - '0';

        if (n > (LLONG_MAX - digit) / 10) {
            goto too_large;
        }

        n = n * 10 + digit;
    }

    switch (*p) {

    case '\0':
        unit = 1;
        break;

    case 'K': case 'k':
        unit = 1024;
        break;

    case 'M': case 'm':
        unit = 1024 * 1024;
        break;

    case 'G': case 'g':
        unit = 1024 * 1024 * 1024;
        break;

    default:
        goto invalid;
    }

    if (p == arg || (*p != '\0' && p[1] != '\0')) {
        goto invalid;
    }

    if (n > LLONG_MAX / unit) {
        goto too_large;
    }

    *bytes = n * unit;

    return MAILCTL_OK;

invalid:

    mailctl_error("invalid size \"%s\": expected a number of bytes, "
                  "optionally with a K, M or G suffix", arg);
    return MAILCTL_INVALID;

too_large:

    mailctl_error("invalid size \"%s\": too large", arg);
    return MAILCTL_INVALID;
}


int
mailctl_user_add(mailctl_t *ctl)
{
    int                      rc;
    const mailctl_scheme_t  *scheme;
    mailctl_user_add_t       add;

    memset(&add, 0, sizeof(mailctl_user_add_t));

    rc = mailctl_address_arg(ctl->args[0]);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    add.addr = ctl->args[0];
    add.domain = strrchr(add.addr, '@') + 1;
    add.enabled = !(ctl->options & MAILCTL_OPT_DISABLED);

    if (ctl->quota_arg != NULL) {
        rc = mailctl_user_size(ctl->quota_arg, &add.quota_bytes);
        if (rc != MAILCTL_OK) {
            return rc;
        }
    }

    rc = mailctl_user_scheme(ctl, &scheme);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    /* no password prompt for a user that cannot be added anyway */

    rc = mailctl_user_add_check(ctl, &add);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_password_new(scheme, add.hash, sizeof(add.hash));
    if (rc != MAILCTL_OK) {
        return rc;
    }

    return mailctl_redis_retry(ctl, mailctl_user_add_attempt, &add);
}


static int
mailctl_user_add_check(mailctl_t *ctl, mailctl_user_add_t *add)
{
    int        rc;
    long long  exists;

    rc = mailctl_domain_exists(ctl, add->domain);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_integer(ctl, &exists, "EXISTS " MAIL_KEY_USER_FMT,
                               add->addr);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (exists) {
        mailctl_error("user \"%s\" already exists", add->addr);
        return MAILCTL_INVALID;
    }

    /* an alias would never get mail: the user shadows it */

    rc = mailctl_redis_integer(ctl, &exists, "EXISTS " MAIL_KEY_ALIAS_FMT,
                               add->addr);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (exists) {
        mailctl_error("\"%s\" is an alias; delete the alias first",
                      add->addr);
        return MAILCTL_INVALID;
    }

    return MAILCTL_OK;
}


static int
mailctl_user_add_attempt(mailctl_t *ctl, void *data)
{
    int                  rc;
    char                 key[MAILCTL_KEY_MAX], alias_key[MAILCTL_KEY_MAX];
    char                 users_key[MAILCTL_KEY_MAX];
    redisReply          *reply;
    mailctl_user_add_t  *add;

    add = data;

    snprintf(key, sizeof(key), MAIL_KEY_USER_FMT, add->addr);
    snprintf(alias_key, sizeof(alias_key), MAIL_KEY_ALIAS_FMT, add->addr);
    snprintf(users_key, sizeof(users_key), MAIL_KEY_DOMAIN_USERS_FMT,
             add->domain);

    reply = mailctl_redis_command(ctl, "WATCH %s %s %s", MAIL_KEY_DOMAINS,
                                  key, alias_key);
    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    freeReplyObject(reply);

    rc = mailctl_user_add_check(ctl, add);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (mailctl_redis_multi(ctl) != MAILCTL_OK
        || mailctl_redis_queue(ctl, "HSET %s %s %s %s %lld %s %d %s %lld",
                               key, MAIL_FIELD_PASSWORD, add->hash,
                               MAIL_FIELD_QUOTA, add->quota_bytes,
                               MAIL_FIELD_ENABLED, add->enabled,
                               MAIL_FIELD_CREATED, (long long) time(NULL))
           != MAILCTL_OK
        || mailctl_redis_queue(ctl, "SADD %s %s", users_key, add->addr)
           != MAILCTL_OK
        || mailctl_redis_queue(ctl, "EVAL %s 0 %s %lld",
                               mailctl_user_mailboxes_lua, add->addr,
                               (long long) time(NULL))
           != MAILCTL_OK)
    {
        return MAILCTL_REDIS;
    }

    return mailctl_redis_exec(ctl, NULL);
}


int
mailctl_user_del(mailctl_t *ctl)
{
    int                 rc;
    char               *addr;
    redisReply         *reply;
    mailctl_user_del_t  del;

    addr = ctl->args[0];

    rc = mailctl_address_arg(addr);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    /*
     * No check first: for an address that is not a user the script
     * removes at most a stale index entry and mail left by a mailctl that
     * deleted only the account, which a new user of the address must not
     * inherit.
     */

    mailctl_user_del_init(&del, addr);

    reply = mailctl_redis_command_argv(ctl, MAILCTL_USER_DEL_ARGC, del.argv);
    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    rc = MAILCTL_OK;

    if (reply->type != REDIS_REPLY_INTEGER) {
        mailctl_error("Redis: unexpected reply type %d", reply->type);
        rc = MAILCTL_REDIS;

    } else if (reply->integer == 0) {
        mailctl_error("unknown user \"%s\"", addr);
        rc = MAILCTL_INVALID;
    }

    freeReplyObject(reply);

    return rc;
}


/* the arguments of the EVAL that deletes addr; del must outlive them */

void
mailctl_user_del_init(mailctl_user_del_t *del, const char *addr)
{
    snprintf(del->key, sizeof(del->key), MAIL_KEY_USER_FMT, addr);
    snprintf(del->authfail_key, sizeof(del->authfail_key),
             MAIL_KEY_USER_AUTHFAIL_FMT, addr);
    snprintf(del->users_key, sizeof(del->users_key),
             MAIL_KEY_DOMAIN_USERS_FMT, strrchr(addr, '@') + 1);

    del->argv[0] = "EVAL";
    del->argv[1] = mailctl_user_del_lua;
    del->argv[2] = "3";
    del->argv[3] = del->key;
    del->argv[4] = del->authfail_key;
    del->argv[5] = del->users_key;
    del->argv[6] = addr;
}


int
mailctl_user_passwd(mailctl_t *ctl)
{
    int                      rc;
    char                     hash[CRYPT_OUTPUT_SIZE];
    const mailctl_scheme_t  *scheme;
    mailctl_user_set_t       set;

    rc = mailctl_address_arg(ctl->args[0]);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_user_scheme(ctl, &scheme);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_user_exists(ctl, ctl->args[0]);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_password_new(scheme, hash, sizeof(hash));
    if (rc != MAILCTL_OK) {
        return rc;
    }

    /* a new password is the usual answer to a locked-out user */

    set.addr = ctl->args[0];
    set.field = MAIL_FIELD_PASSWORD;
    set.value = hash;
    set.clear_authfail = 1;

    return mailctl_user_set(ctl, &set);
}


/*
 * RFC 1939 7: the server computes MD5(timestamp secret) itself, so the
 * secret is stored as it is, not hashed like the password.
 */

int
mailctl_user_apop(mailctl_t *ctl)
{
    int                 rc;
    char                secret[MAILCTL_SECRET_MAX];
    mailctl_user_set_t  set;

    rc = mailctl_address_arg(ctl->args[0]);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    set.addr = ctl->args[0];
    set.field = MAIL_FIELD_APOP_SECRET;
    set.value = NULL;
    set.clear_authfail = 0;

    if (ctl->options & MAILCTL_OPT_CLEAR) {
        return mailctl_user_set(ctl, &set);
    }

    /* no prompt for a user that does not exist */

    rc = mailctl_user_exists(ctl, set.addr);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_secret_read(&mailctl_apop_secret, secret, sizeof(secret));
    if (rc != MAILCTL_OK) {
        goto done;
    }

    rc = mailctl_user_apop_check(ctl, set.addr, secret);
    if (rc != MAILCTL_OK) {
        goto done;
    }

    /* as with a new password: the answer to a locked-out user */

    set.value = secret;
    set.clear_authfail = 1;

    rc = mailctl_user_set(ctl, &set);

done:

    explicit_bzero(secret, sizeof(secret));

    return rc;
}


/* the password, stored in clear as the APOP secret, would lose its hash */

static int
mailctl_user_apop_check(mailctl_t *ctl, const char *addr, const char *secret)
{
    int          rc, match;
    redisReply  *hash;

    hash = mailctl_redis_command(ctl, "HGET " MAIL_KEY_USER_FMT " %s", addr,
                                 MAIL_FIELD_PASSWORD);
    if (hash == NULL) {
        return MAILCTL_REDIS;
    }

    rc = MAILCTL_OK;
    match = 0;

    if (hash->type == REDIS_REPLY_STRING) {
        rc = mailctl_password_verify(secret, hash->str, &match);
    }

    freeReplyObject(hash);

    if (rc == MAILCTL_OK && match) {
        mailctl_error("the APOP secret is the password of \"%s\"; as it is "
                      "stored in clear, choose another", addr);
        rc = MAILCTL_INVALID;
    }

    return rc;
}


int
mailctl_user_quota(mailctl_t *ctl)
{
    int                 rc;
    char                value[32];
    long long           quota_bytes;
    mailctl_user_set_t  set;

    rc = mailctl_address_arg(ctl->args[0]);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_user_size(ctl->args[1], &quota_bytes);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    snprintf(value, sizeof(value), "%lld", quota_bytes);

    set.addr = ctl->args[0];
    set.field = MAIL_FIELD_QUOTA;
    set.value = value;
    set.clear_authfail = 0;

    return mailctl_user_set(ctl, &set);
}


int
mailctl_user_enable(mailctl_t *ctl)
{
    return mailctl_user_enabled(ctl, "1");
}


int
mailctl_user_disable(mailctl_t *ctl)
{
    return mailctl_user_enabled(ctl, "0");
}


static int
mailctl_user_enabled(mailctl_t *ctl, const char *value)
{
    int                 rc;
    mailctl_user_set_t  set;

    rc = mailctl_address_arg(ctl->args[0]);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    set.addr = ctl->args[0];
    set.field = MAIL_FIELD_ENABLED;
    set.value = value;
    set.clear_authfail = 0;

    return mailctl_user_set(ctl, &set);
}


static int
mailctl_user_exists(mailctl_t *ctl, const char *addr)
{
    int        rc;
    long long  exists;

    rc = mailctl_redis_integer(ctl, &exists, "EXISTS " MAIL_KEY_USER_FMT,
                               addr);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (!exists) {
        mailctl_error("unknown user \"%s\"", addr);
        return MAILCTL_INVALID;
    }

    return MAILCTL_OK;
}


static int
mailctl_user_set(mailctl_t *ctl, mailctl_user_set_t *set)
{
    return mailctl_redis_retry(ctl, mailctl_user_set_attempt, set);
}


/* HSET alone would bring a deleted user back as a partial hash */

static int
mailctl_user_set_attempt(mailctl_t *ctl, void *data)
{
    int                  rc;
    char                 key[MAILCTL_KEY_MAX], authfail_key[MAILCTL_KEY_MAX];
    redisReply          *reply;
    mailctl_user_set_t  *set;

    set = data;

    snprintf(key, sizeof(key), MAIL_KEY_USER_FMT, set->addr);
    snprintf(authfail_key, sizeof(authfail_key), MAIL_KEY_USER_AUTHFAIL_FMT,
             set->addr);

    reply = mailctl_redis_command(ctl, "WATCH %s", key);
    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    freeReplyObject(reply);

    rc = mailctl_user_exists(ctl, set->addr);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (mailctl_redis_multi(ctl) != MAILCTL_OK) {
        return MAILCTL_REDIS;
    }

    if (set->value != NULL) {
        rc = mailctl_redis_queue(ctl, "HSET %s %s %s", key, set->field,
                                 set->value);

    } else {
        rc = mailctl_redis_queue(ctl, "HDEL %s %s", key, set->field);
    }

    if (rc != MAILCTL_OK) {
        return MAILCTL_REDIS;
    }

    if (set->clear_authfail
        && mailctl_redis_queue(ctl, "DEL %s", authfail_key) != MAILCTL_OK)
    {
        return MAILCTL_REDIS;
    }

    return mailctl_redis_exec(ctl, NULL);
}


int
mailctl_user_list(mailctl_t *ctl)
{
    int             rc;
    char           *domain;
    size_t          i;
    mailctl_list_t  list;

    domain = NULL;

    if (ctl->nargs > 0) {
        domain = ctl->args[0];

        rc = mailctl_domain_arg(domain);
        if (rc != MAILCTL_OK) {
            return rc;
        }
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_domain_collect(ctl, domain, MAIL_KEY_DOMAIN_USERS_FMT,
                                &list);

    if (rc == MAILCTL_OK) {
        for (i = 0; i < list.n; i++) {
            printf("%s\n", list.names[i]);
        }
    }

    mailctl_list_free(&list);

    return rc;
}


int
mailctl_user_show(mailctl_t *ctl)
{
    int          rc;
    char        *addr;
    redisReply  *fields;

    addr = ctl->args[0];

    rc = mailctl_address_arg(addr);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    fields = mailctl_redis_command(ctl, "HGETALL " MAIL_KEY_USER_FMT, addr);
    if (fields == NULL) {
        return MAILCTL_REDIS;
    }

    rc = MAILCTL_OK;

    if (fields->type != REDIS_REPLY_ARRAY || fields->elements == 0) {
        mailctl_error("unknown user \"%s\"", addr);
        rc = MAILCTL_INVALID;

    } else {
        mailctl_user_print(addr, fields);
    }

    freeReplyObject(fields);

    return rc;
}


static void
mailctl_user_print(const char *addr, redisReply *fields)
{
    char         created[32];
    time_t       t;
    struct tm    tm;
    const char  *value;

    printf("address: %s\n", addr);

    value = mailctl_redis_field(fields, MAIL_FIELD_ENABLED);
    printf("enabled: %s\n", (value && strcmp(value, "1") == 0) ? "yes" : "no");

    value = mailctl_redis_field(fields, MAIL_FIELD_QUOTA);
    mailctl_user_print_quota(value ? strtoll(value, NULL, 10) : 0);

    value = mailctl_redis_field(fields, MAIL_FIELD_PASSWORD);
    printf("scheme: %s\n",
           value ? mailctl_password_scheme_name(value) : "none");

    /* whether there is one, never the secret itself */

    value = mailctl_redis_field(fields, MAIL_FIELD_APOP_SECRET);
    printf("apop: %s\n", value ? "set" : "not set");

    value = mailctl_redis_field(fields, MAIL_FIELD_CREATED);
    t = value ? (time_t) strtoll(value, NULL, 10) : 0;

    if (t > 0 && gmtime_r(&t, &tm) != NULL
        && strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
    {
        printf("created: %s\n", created);

    } else {
        printf("created: unknown\n");
    }
}


/* "quota: 1073741824 (1G)": bytes for scripts, the unit for people */

static void
mailctl_user_print_quota(long long quota_bytes)
{
    int         i;
    long long   unit;
    static const char  units[] = "GMK";

    if (quota_bytes <= 0) {
        printf("quota: 0 (unlimited)\n");
        return;
    }

    for (i = 0, unit = 1024LL * 1024 * 1024; unit > 1; i++, unit /= 1024) {
        if (quota_bytes % unit == 0) {
            printf("quota: %lld (%lld%c)\n", quota_bytes, quota_bytes / unit,
                   units[i]);
            return;
        }
    }

    printf("quota: %lld\n", quota_bytes);
}

