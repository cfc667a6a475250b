
/*
 * mailctl spam learn|stats|expire: the Bayes counts of the spam filter,
 * laid out in docs/redis-keys.md, "Spam filter".  A message is read as
 * the nginx modules read it, with the same code (ngx_mail_spam_message.c:
 * token fields and digest) and learnt with the same Lua script, so that
 * a message learnt here and again from a mailbox counts once.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailctl.h"
#include "ngx_mail_spam_store.h"


/* UIDs per ZRANGE of "--folder" */
#define MAILCTL_SPAM_BATCH        1000

/* "S" of bayes:{S}: "global" or an address */
#define MAILCTL_SPAM_SCOPE_MAX    (MAIL_ADDR_MAX + 1)

#define MAILCTL_SPAM_MAILBOX_MAX  1024


typedef struct {
    mailctl_t                *ctl;
    const char               *class;       /* "spam" or "ham" */
    char                      scope[MAILCTL_SPAM_SCOPE_MAX];
    char                      keys[5][MAILCTL_KEY_MAX];

    /* what the script said, message by message */
    unsigned long             learnt;
    unsigned long             moved;
    unsigned long             already;
} mailctl_spam_learn_t;


typedef struct {
    mailctl_t                *ctl;
    char                      oldest[24];   /* the oldest day kept */
    char                      most[24];     /* the highest count forgotten */
} mailctl_spam_expiry_t;


static int mailctl_spam_scope(mailctl_t *ctl, char *scope);
static int mailctl_spam_expire_all(mailctl_spam_expiry_t *ex);
static int mailctl_spam_expire_scope(mailctl_spam_expiry_t *ex,
    const char *scope);
static int mailctl_spam_expire_walk(mailctl_spam_expiry_t *ex,
    char keys[NGX_MAIL_SPAM_EXPIRE_WALKS][MAILCTL_KEY_MAX], const char *what,
    unsigned long long *changed);
static int mailctl_spam_cursor(redisReply *reply, int type, char *cursor,
    const char *what);
static int mailctl_spam_count_arg(const char *name, const char *arg,
    long long def, long long *value);
static int mailctl_spam_learn_file(mailctl_spam_learn_t *ln,
    const char *path);
static int mailctl_spam_learn_mbox(mailctl_spam_learn_t *ln,
    const char *path);
static int mailctl_spam_learn_folder(mailctl_spam_learn_t *ln,
    const char *arg);
static int mailctl_spam_learn_uids(mailctl_spam_learn_t *ln,
    const char *addr, const char *id, redisReply *uids);
static int mailctl_spam_learn_message(mailctl_spam_learn_t *ln,
    const char *data, size_t len, const char *name);
static char *mailctl_spam_read(const char *path, size_t *len);
static size_t mailctl_spam_unescape(char *p, size_t len);
static long long mailctl_spam_number(redisReply *reply);


int
mailctl_spam_learn(mailctl_t *ctl)
{
    int                    i, rc, spam;
    mailctl_spam_learn_t   ln;

    spam = (ctl->options & MAILCTL_OPT_SPAM) != 0;

    if (spam == ((ctl->options & MAILCTL_OPT_HAM) != 0)) {
        mailctl_error("give one of --spam and --ham");
        return MAILCTL_USAGE;
    }

    if (ctl->nargs == 0 && ctl->mbox_arg == NULL && ctl->folder_arg == NULL)
    {
        mailctl_error("no message: give FILE..., --mbox or --folder");
        return MAILCTL_USAGE;
    }

    memset(&ln, 0, sizeof(mailctl_spam_learn_t));
    ln.ctl = ctl;
    ln.class = spam ? NGX_MAIL_SPAM_CLASS_SPAM : NGX_MAIL_SPAM_CLASS_HAM;

    rc = mailctl_spam_scope(ctl, ln.scope);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    snprintf(ln.keys[0], MAILCTL_KEY_MAX, MAIL_KEY_BAYES_FMT, ln.scope);
    snprintf(ln.keys[1], MAILCTL_KEY_MAX, MAIL_KEY_BAYES_SPAM_FMT, ln.scope);
    snprintf(ln.keys[2], MAILCTL_KEY_MAX, MAIL_KEY_BAYES_HAM_FMT, ln.scope);
    snprintf(ln.keys[3], MAILCTL_KEY_MAX, MAIL_KEY_BAYES_LEARNT_FMT,
             ln.scope);
    snprintf(ln.keys[4], MAILCTL_KEY_MAX, MAIL_KEY_BAYES_AGE_FMT, ln.scope);

    for (i = 0; i < ctl->nargs; i++) {
        rc = mailctl_spam_learn_file(&ln, ctl->args[i]);
        if (rc != MAILCTL_OK) {
            return rc;
        }
    }

    if (ctl->mbox_arg) {
        rc = mailctl_spam_learn_mbox(&ln, ctl->mbox_arg);
        if (rc != MAILCTL_OK) {
            return rc;
        }
    }

    if (ctl->folder_arg) {
        rc = mailctl_spam_learn_folder(&ln, ctl->folder_arg);
        if (rc != MAILCTL_OK) {
            return rc;
        }
    }

    printf("%s for %s: %lu learnt, %lu moved from %s, %lu already learnt\n",
           ln.class, ln.scope, ln.learnt, ln.moved,
           spam ? NGX_MAIL_SPAM_CLASS_HAM : NGX_MAIL_SPAM_CLASS_SPAM,
           ln.already);

    return MAILCTL_OK;
}


int
mailctl_spam_stats(mailctl_t *ctl)
{
    int          rc;
    char         scope[MAILCTL_SPAM_SCOPE_MAX];
    redisReply  *reply;

    rc = mailctl_spam_scope(ctl, scope);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (mailctl_redis_append(ctl, "HMGET " MAIL_KEY_BAYES_FMT " %s %s",
                             scope, NGX_MAIL_SPAM_FIELD_NSPAM,
                             NGX_MAIL_SPAM_FIELD_NHAM)
           != MAILCTL_OK
        || mailctl_redis_append(ctl, "HLEN " MAIL_KEY_BAYES_SPAM_FMT, scope)
           != MAILCTL_OK
        || mailctl_redis_append(ctl, "HLEN " MAIL_KEY_BAYES_HAM_FMT, scope)
           != MAILCTL_OK
        || mailctl_redis_append(ctl, "HLEN " MAIL_KEY_BAYES_LEARNT_FMT, scope)
           != MAILCTL_OK)
    {
        return MAILCTL_REDIS;
    }

    printf("scope: %s\n", scope);

    reply = mailctl_redis_next(ctl);
    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        mailctl_error("Redis: unexpected reply type %d", reply->type);
        freeReplyObject(reply);
        return MAILCTL_REDIS;
    }

    printf("nspam: %lld\n", mailctl_spam_number(reply->element[0]));
    printf("nham: %lld\n", mailctl_spam_number(reply->element[1]));
    freeReplyObject(reply);

    reply = mailctl_redis_next(ctl);
    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    printf("spam_tokens: %lld\n", mailctl_spam_number(reply));
    freeReplyObject(reply);

    reply = mailctl_redis_next(ctl);
    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    printf("ham_tokens: %lld\n", mailctl_spam_number(reply));
    freeReplyObject(reply);

    reply = mailctl_redis_next(ctl);
    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    printf("learnt: %lld\n", mailctl_spam_number(reply));
    freeReplyObject(reply);

    return MAILCTL_OK;
}


int
mailctl_spam_expire(mailctl_t *ctl)
{
    int                     rc;
    char                    scope[MAILCTL_SPAM_SCOPE_MAX];
    long long               days, most, today;
    redisReply             *reply;
    mailctl_spam_expiry_t   ex;

    if ((ctl->options & MAILCTL_OPT_ALL) && ctl->user_arg) {
        mailctl_error("give --user or --all, not both");
        return MAILCTL_USAGE;
    }

    rc = mailctl_spam_count_arg("--days", ctl->days_arg,
                                NGX_MAIL_SPAM_EXPIRE_DAYS, &days);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_spam_count_arg("--max-count", ctl->max_count_arg,
                                NGX_MAIL_SPAM_EXPIRE_COUNT, &most);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    /* mailctl_spam_scope() connects: a second connection would not log in */

    if (ctl->options & MAILCTL_OPT_ALL) {
        rc = mailctl_redis_connect(ctl);

    } else {
        rc = mailctl_spam_scope(ctl, scope);
    }

    if (rc != MAILCTL_OK) {
        return rc;
    }

    /* Redis's clock, the one the scripts date tokens by */

    reply = mailctl_redis_command(ctl, "TIME");
    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        mailctl_error("Redis: unexpected reply to TIME");
        freeReplyObject(reply);
        return MAILCTL_REDIS;
    }

    today = strtoll(reply->element[0]->str, NULL, 10) / 86400;
    freeReplyObject(reply);

    ex.ctl = ctl;
    snprintf(ex.oldest, sizeof(ex.oldest), "%lld", today - days);
    snprintf(ex.most, sizeof(ex.most), "%lld", most);

    if (ctl->options & MAILCTL_OPT_ALL) {
        return mailctl_spam_expire_all(&ex);
    }

    return mailctl_spam_expire_scope(&ex, scope);
}


/*
 * every scope: each has its bayes:{S} hash of message counts.  SCAN may
 * return a key twice (while Redis resizes its table): that scope is then
 * walked twice, which forgets nothing more and prints a second line
 */

static int
mailctl_spam_expire_all(mailctl_spam_expiry_t *ex)
{
    int          rc;
    char         cursor[NGX_MAIL_SPAM_EXPIRE_CURSOR];
    char         scope[MAILCTL_SPAM_SCOPE_MAX];
    size_t       i, len;
    redisReply  *reply, *keys;

    strcpy(cursor, "0");

    do {
        reply = mailctl_redis_command(ex->ctl, "SCAN %s MATCH %s COUNT %s",
                                      cursor, "bayes:{*}",
                                      NGX_MAIL_SPAM_EXPIRE_SCAN);
        if (reply == NULL) {
            return MAILCTL_REDIS;
        }

        if (mailctl_spam_cursor(reply, REDIS_REPLY_ARRAY, cursor, "SCAN")
            != MAILCTL_OK)
        {
            freeReplyObject(reply);
            return MAILCTL_REDIS;
        }

        keys = reply->element[1];
        rc = MAILCTL_OK;

        for (i = 0; i < keys->elements && rc == MAILCTL_OK; i++) {
            if (keys->element[i]->type != REDIS_REPLY_STRING) {
                continue;
            }

            /* "bayes:{" S "}" */
            len = keys->element[i]->len;

            if (len < 9 || len - 8 >= sizeof(scope)) {
                continue;
            }

            memcpy(scope, keys->element[i]->str + 7, len - 8);
            scope[len - 8] = '\0';

            rc = mailctl_spam_expire_scope(ex, scope);
        }

        freeReplyObject(reply);

        if (rc != MAILCTL_OK) {
            return rc;
        }

    } while (strcmp(cursor, "0") != 0);

    return MAILCTL_OK;
}


static int
mailctl_spam_expire_scope(mailctl_spam_expiry_t *ex, const char *scope)
{
    int                 rc;
    long long           kept, remembered;
    unsigned long long  dated, forgotten, digests, n;
    char                keys[NGX_MAIL_SPAM_EXPIRE_WALKS][MAILCTL_KEY_MAX];

    snprintf(keys[0], MAILCTL_KEY_MAX, MAIL_KEY_BAYES_SPAM_FMT, scope);
    snprintf(keys[1], MAILCTL_KEY_MAX, MAIL_KEY_BAYES_HAM_FMT, scope);
    snprintf(keys[2], MAILCTL_KEY_MAX, MAIL_KEY_BAYES_AGE_FMT, scope);
    snprintf(keys[3], MAILCTL_KEY_MAX, MAIL_KEY_BAYES_LEARNT_FMT, scope);

    /* date the tokens that have no date yet, then forget by date */

    dated = 0;

    rc = mailctl_spam_expire_walk(ex, keys, NGX_MAIL_SPAM_CLASS_SPAM, &n);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    dated += n;

    rc = mailctl_spam_expire_walk(ex, keys, NGX_MAIL_SPAM_CLASS_HAM, &n);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    dated += n;

    rc = mailctl_spam_expire_walk(ex, keys, NGX_MAIL_SPAM_WALK_AGE,
                                  &forgotten);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_spam_expire_walk(ex, keys, NGX_MAIL_SPAM_WALK_LEARNT,
                                  &digests);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_integer(ex->ctl, &kept, "HLEN %s", keys[2]);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_integer(ex->ctl, &remembered, "HLEN %s", keys[3]);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    printf("%s: %llu tokens forgotten, %lld kept, %llu dated now; "
           "%llu digests forgotten, %lld kept\n",
           scope, forgotten, kept, dated, digests, remembered);

    return MAILCTL_OK;
}


/* one HSCAN walk of NGX_MAIL_SPAM_EXPIRE_LUA, step by step */

static int
mailctl_spam_expire_walk(mailctl_spam_expiry_t *ex,
    char keys[NGX_MAIL_SPAM_EXPIRE_WALKS][MAILCTL_KEY_MAX], const char *what,
    unsigned long long *changed)
{
    char         cursor[NGX_MAIL_SPAM_EXPIRE_CURSOR];
    const char  *argv[12];
    redisReply  *reply;

    *changed = 0;
    strcpy(cursor, "0");

    argv[0] = "EVAL";
    argv[1] = NGX_MAIL_SPAM_EXPIRE_LUA;
    argv[2] = "4";
    argv[3] = keys[0];
    argv[4] = keys[1];
    argv[5] = keys[2];
    argv[6] = keys[3];
    argv[7] = what;
    argv[8] = cursor;
    argv[9] = ex->oldest;
    argv[10] = ex->most;
    argv[11] = NGX_MAIL_SPAM_EXPIRE_STEP;

    do {
        reply = mailctl_redis_command_argv(ex->ctl, 12, argv);
        if (reply == NULL) {
            return MAILCTL_REDIS;
        }

        if (mailctl_spam_cursor(reply, REDIS_REPLY_INTEGER, cursor,
                                "the expiry script")
            != MAILCTL_OK)
        {
            freeReplyObject(reply);
            return MAILCTL_REDIS;
        }

        *changed += reply->element[1]->integer;
        freeReplyObject(reply);

    } while (strcmp(cursor, "0") != 0);

    return MAILCTL_OK;
}


/*
 * a reply of SCAN or of a step of the expiry script: { cursor, what of
 * the given type }; the cursor is copied into
 * cursor[NGX_MAIL_SPAM_EXPIRE_CURSOR]
 */

static int
mailctl_spam_cursor(redisReply *reply, int type, char *cursor,
    const char *what)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[0]->len >= NGX_MAIL_SPAM_EXPIRE_CURSOR
        || reply->element[1]->type != type)
    {
        mailctl_error("Redis: unexpected reply to %s", what);
        return MAILCTL_REDIS;
    }

    memcpy(cursor, reply->element[0]->str, reply->element[0]->len + 1);

    return MAILCTL_OK;
}


/* a number of days or a count: an integer from 0 */

static int
mailctl_spam_count_arg(const char *name, const char *arg, long long def,
    long long *value)
{
    char  *end;

    if (arg == NULL) {
        *value = def;
        return MAILCTL_OK;
    }

    errno = 0;
    *value = strtoll(arg, &end, 10);

    /* strtoll() takes " 5" and "+5" too */

    if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno
        || *value > 1000000)
    {
        mailctl_error("%s: \"%s\" is not a number from 0 to 1000000",
                      name, arg);
        return MAILCTL_USAGE;
    }

    return MAILCTL_OK;
}


/* "--user ADDR": a user that exists; without it the global counts */

static int
mailctl_spam_scope(mailctl_t *ctl, char *scope)
{
    int        rc;
    char      *addr;
    long long  exists;

    addr = (char *) ctl->user_arg;

    if (addr) {
        rc = mailctl_address_arg(addr);
        if (rc != MAILCTL_OK) {
            return rc;
        }
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (addr == NULL) {
        strcpy(scope, NGX_MAIL_SPAM_SCOPE_GLOBAL);
        return MAILCTL_OK;
    }

    rc = mailctl_redis_integer(ctl, &exists, "EXISTS " MAIL_KEY_USER_FMT,
                               addr);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (!exists) {
        mailctl_error("unknown user \"%s\"", addr);
        return MAILCTL_INVALID;
    }

    strcpy(scope, addr);

    return MAILCTL_OK;
}


static int
mailctl_spam_learn_file(mailctl_spam_learn_t *ln, const char *path)
{
    int     rc;
    char   *data;
    size_t  len;

    data = mailctl_spam_read(path, &len);
    if (data == NULL) {
        return MAILCTL_INVALID;
    }

    rc = mailctl_spam_learn_message(ln, data, len, path);

    free(data);

    return rc;
}


/*
 * An mbox: each message starts with a "From " line at the start of a
 * line; a body line that started so was written ">From " (mboxo) or with
 * one more '>' (mboxrd), which one '>' less undoes for both.
 */

static int
mailctl_spam_learn_mbox(mailctl_spam_learn_t *ln, const char *path)
{
    int      rc;
    char    *data, *p, *end, *next, *msg;
    size_t   len;

    data = mailctl_spam_read(path, &len);
    if (data == NULL) {
        return MAILCTL_INVALID;
    }

    if (len < 5 || memcmp(data, "From ", 5) != 0) {
        mailctl_error("%s: not an mbox: no \"From \" line first", path);
        free(data);
        return MAILCTL_INVALID;
    }

    rc = MAILCTL_OK;
    end = data + len;
    p = data;

    while (p < end) {
        /* the "From " line itself is no part of the message */
        next = memchr(p, '\n', end - p);
        msg = next ? next + 1 : end;

        for (next = msg; next < end; next++) {
            next = memchr(next, '\n', end - next);

            if (next == NULL) {
                next = end;
                break;
            }

            if (end - next > 5 && memcmp(next + 1, "From ", 5) == 0) {
                next++;
                break;
            }
        }

        len = mailctl_spam_unescape(msg, next - msg);

        /* "From " lines with nothing between them: no message */
        if (len > 2) {
            rc = mailctl_spam_learn_message(ln, msg, len, path);
            if (rc != MAILCTL_OK) {
                break;
            }
        }

        p = next;
    }

    free(data);

    return rc;
}


/* in place: "\n>From " -> "\nFrom ", "\n>>From " -> "\n>From " */

static size_t
mailctl_spam_unescape(char *p, size_t len)
{
    char    *src, *dst, *end, *q;
    int      bol;

    src = p;
    dst = p;
    end = p + len;
    bol = 1;

    while (src < end) {
        if (bol && *src == '>') {
            for (q = src; q < end && *q == '>'; q++) {
                /* void */
            }

            if (end - q >= 5 && memcmp(q, "From ", 5) == 0) {
                src++;
            }
        }

        bol = (*src == '\n');
        *dst++ = *src++;
    }

    return dst - p;
}


/*
 * "--folder ADDR:MAILBOX": the messages of a user's mailbox, by UID, a
 * batch at a time; each blob is read as IMAP training reads it, its first
 * NGX_MAIL_SPAM_READ_MAX bytes
 */

static int
mailctl_spam_learn_folder(mailctl_spam_learn_t *ln, const char *arg)
{
    int          rc;
    char         addr[MAIL_ADDR_MAX + 1], id[32];
    const char  *colon, *mailbox;
    long long    start;
    redisReply  *reply;
    mailctl_t   *ctl;

    ctl = ln->ctl;

    colon = strchr(arg, ':');

    if (colon == NULL || colon == arg || colon[1] == '\0'
        || (size_t) (colon - arg) > MAIL_ADDR_MAX)
    {
        mailctl_error("invalid folder \"%s\": give ADDRESS:MAILBOX", arg);
        return MAILCTL_INVALID;
    }

    memcpy(addr, arg, colon - arg);
    addr[colon - arg] = '\0';
    mailbox = colon + 1;

    rc = mailctl_address_arg(addr);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (strlen(mailbox) > MAILCTL_SPAM_MAILBOX_MAX) {
        mailctl_error("invalid mailbox \"%s\": too long", mailbox);
        return MAILCTL_INVALID;
    }

    /* INBOX is stored so, whatever case the user writes it in */
    if (strcasecmp(mailbox, "INBOX") == 0) {
        mailbox = "INBOX";
    }

    reply = mailctl_redis_command(ctl, "HGET " MAIL_KEY_MAILBOXES_FMT " %s",
                                  addr, mailbox);
    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    if (reply->type != REDIS_REPLY_STRING || reply->len >= sizeof(id)) {
        mailctl_error("unknown mailbox \"%s\" of \"%s\"", mailbox, addr);
        freeReplyObject(reply);
        return MAILCTL_INVALID;
    }

    memcpy(id, reply->str, reply->len);
    id[reply->len] = '\0';
    freeReplyObject(reply);

    for (start = 0; /* void */; start += MAILCTL_SPAM_BATCH) {
        reply = mailctl_redis_command(ctl, "ZRANGE " MAIL_KEY_MAILBOX_UIDS_FMT
                                      " %lld %lld", addr, id, start,
                                      start + MAILCTL_SPAM_BATCH - 1);
        if (reply == NULL) {
            return MAILCTL_REDIS;
        }

        rc = mailctl_redis_check_array(reply);

        if (rc == MAILCTL_OK) {
            rc = mailctl_spam_learn_uids(ln, addr, id, reply);
        }

        if (rc != MAILCTL_OK || reply->elements < MAILCTL_SPAM_BATCH) {
            freeReplyObject(reply);
            return rc;
        }

        freeReplyObject(reply);
    }
}


static int
mailctl_spam_learn_uids(mailctl_spam_learn_t *ln, const char *addr,
    const char *id, redisReply *uids)
{
    int          rc;
    char         name[64];
    size_t       i;
    redisReply  *blob, *data;
    mailctl_t   *ctl;

    ctl = ln->ctl;

    for (i = 0; i < uids->elements; i++) {
        blob = mailctl_redis_command(ctl, "HGET " MAIL_KEY_MSG_FMT " %s",
                                     addr, id, uids->element[i]->str,
                                     MAIL_FIELD_MSG_BLOB);
        if (blob == NULL) {
            return MAILCTL_REDIS;
        }

        /* expunged meanwhile */
        if (blob->type != REDIS_REPLY_STRING) {
            freeReplyObject(blob);
            continue;
        }

        data = mailctl_redis_command(ctl, "GETRANGE " MAIL_KEY_BLOB_FMT
                                     " 0 %d", blob->str,
                                     NGX_MAIL_SPAM_READ_MAX - 1);
        freeReplyObject(blob);

        if (data == NULL) {
            return MAILCTL_REDIS;
        }

        rc = MAILCTL_OK;

        if (data->type == REDIS_REPLY_STRING && data->len > 0) {
            snprintf(name, sizeof(name), "UID %s", uids->element[i]->str);
            rc = mailctl_spam_learn_message(ln, data->str, data->len, name);
        }

        freeReplyObject(data);

        if (rc != MAILCTL_OK) {
            return rc;
        }
    }

    return MAILCTL_OK;
}


static int
mailctl_spam_learn_message(mailctl_spam_learn_t *ln, const char *data,
    size_t len, const char *name)
{
    int                       rc;
    size_t                    n, i;
    const char              **argv;
    size_t                   *argvlen;
    redisReply               *reply;
    mime_arena_t             *arena;
    mime_allocator_t          allocator;
    ngx_mail_spam_message_t   m;

    arena = mime_arena_create(64 * 1024);
    if (arena == NULL) {
        mailctl_error("out of memory");
        return MAILCTL_SYSTEM;
    }

    mime_arena_allocator(arena, &allocator);

    if (ngx_mail_spam_message_read(&m, &allocator,
                                   (const mime_uchar_t *) data, len, 1)
        != NGX_MAIL_SPAM_BAYES_OK)
    {
        mailctl_error("%s: cannot read the message: out of memory", name);
        mime_arena_destroy(arena);
        return MAILCTL_SYSTEM;
    }

    /* EVAL script 5 keys class digest fields */
    n = 10 + m.ntokens;

    argv = mime_alloc(&allocator, n * sizeof(char *));
    argvlen = mime_alloc(&allocator, n * sizeof(size_t));

    if (argv == NULL || argvlen == NULL) {
        mailctl_error("out of memory");
        mime_arena_destroy(arena);
        return MAILCTL_SYSTEM;
    }

    argv[0] = "EVAL";
    argv[1] = NGX_MAIL_SPAM_LEARN_LUA;
    argv[2] = "5";
    argv[3] = ln->keys[0];
    argv[4] = ln->keys[1];
    argv[5] = ln->keys[2];
    argv[6] = ln->keys[3];
    argv[7] = ln->keys[4];
    argv[8] = ln->class;

    for (i = 0; i < 9; i++) {
        argvlen[i] = strlen(argv[i]);
    }

    argv[9] = m.digest;
    argvlen[9] = NGX_MAIL_SPAM_DIGEST_LEN;

    for (i = 0; i < m.ntokens; i++) {
        argv[10 + i] = m.fields + i * NGX_MAIL_SPAM_FIELD_LEN;
        argvlen[10 + i] = NGX_MAIL_SPAM_FIELD_LEN;
    }

    rc = MAILCTL_OK;

    if (redisAppendCommandArgv(ln->ctl->redis, (int) n, argv, argvlen)
        != REDIS_OK)
    {
        mailctl_error("Redis: %s", ln->ctl->redis->errstr);
        mime_arena_destroy(arena);
        return MAILCTL_REDIS;
    }

    mime_arena_destroy(arena);

    reply = mailctl_redis_next(ln->ctl);
    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    if (reply->type != REDIS_REPLY_INTEGER) {
        mailctl_error("%s: unexpected reply to the learning script", name);
        rc = MAILCTL_REDIS;

    } else if (reply->integer == NGX_MAIL_SPAM_LEARNT_ALREADY) {
        ln->already++;

    } else if (reply->integer == NGX_MAIL_SPAM_LEARNT_MOVED) {
        ln->moved++;

    } else {
        ln->learnt++;
    }

    freeReplyObject(reply);

    return rc;
}


/* a whole file, "-" for standard input; NULL after an error message */

static char *
mailctl_spam_read(const char *path, size_t *len)
{
    char    *data, *p;
    FILE    *f;
    size_t   size, n;

    if (strcmp(path, "-") == 0) {
        f = stdin;

    } else {
        f = fopen(path, "rb");
        if (f == NULL) {
            mailctl_error("%s: %s", path, strerror(errno));
            return NULL;
        }
    }

    size = 64 * 1024;
    n = 0;
    data = malloc(size);

    while (data != NULL) {
        n += fread(data + n, 1, size - n, f);

        if (n < size) {
            break;
        }

        size *= 2;
        p = realloc(data, size);

        if (p == NULL) {
            free(data);
        }

        data = p;
    }

    if (data == NULL) {
        mailctl_error("%s: out of memory", path);

    } else if (ferror(f)) {
        mailctl_error("%s: %s", path, strerror(errno));
        free(data);
        data = NULL;
    }

    if (f != stdin) {
        fclose(f);
    }

    *len = n;

    return data;
}


static long long
mailctl_spam_number(redisReply *reply)
{
    if (reply->type == REDIS_REPLY_INTEGER) {
        return reply->integer;
    }

    if (reply->type == REDIS_REPLY_STRING) {
        return strtoll(reply->str, NULL, 10);
    }

    return 0;
}
