
/*
 * mailctl queue list|show|flush|retry|delete: the outbound queue, laid out
 * in docs/redis-keys.md, "Spool and outbound queue".
 *
 * The delivery workers change these keys all the time.  Every write here
 * is a Lua script, which Redis runs between two of the workers' scripts,
 * never in the middle of one: a message is moved out of queue:deferred by
 * whoever removes it first, and only that one adds it to queue:outbound.
 * The scripts make the key names from the formats of mail_keys.h, given
 * as arguments or spliced in (MAIL_LUA_BLOB_UNREF), so the names live in
 * one place.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailctl.h"
#include "mailctl_validate.h"


/* ids per ZRANGE, and commands per pipeline */
#define MAILCTL_QUEUE_BATCH       1000

/* "queue list" cuts the last error to this many bytes */
#define MAILCTL_QUEUE_ERROR_MAX   50

#define MAILCTL_QUEUE_TIME_LEN    sizeof("1970-01-01T00:00:00Z")


/* a queue:{ID}:rcpt value, split in place */
typedef struct {
    char                *state;
    char                *time;
    char                *code;
    char                *status;
    char                *mta;
    char                *text;
} mailctl_queue_rcpt_t;


/*
 * Makes up to ARGV[4] deferred messages due now, as a worker does with
 * those whose time has come.  An id whose envelope is gone was deleted
 * while it waited; it is only dropped.
 * KEYS: queue:deferred, queue:outbound; ARGV: the envelope key format,
 * the stream entry's field, the envelope's "next" field, the batch size.
 * Returns { ids taken from queue:deferred, messages queued }.
 */
static char  mailctl_queue_flush_lua[] =
    "local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[4]) - 1)\n"
    "local queued = 0\n"
    "for _, id in ipairs(ids) do\n"
    "  local env = string.format(ARGV[1], id)\n"
    "  redis.call('ZREM', KEYS[1], id)\n"
    "  if redis.call('EXISTS', env) == 1 then\n"
    "    redis.call('XADD', KEYS[2], '*', ARGV[2], id)\n"
    "    redis.call('HSET', env, ARGV[3], 0)\n"
    "    queued = queued + 1\n"
    "  end\n"
    "end\n"
    "return { #ids, queued }\n";


/*
 * The same for the ids ARGV[4...], each found by its own ZREM: 1 queued,
 * 0 not deferred (in the stream already: being delivered or due), -1 no
 * such message.  KEYS and ARGV[1..3] as for the flush.
 */
static char  mailctl_queue_retry_lua[] =
    "local result = {}\n"
    "for i = 4, #ARGV do\n"
    "  local id = ARGV[i]\n"
    "  local env = string.format(ARGV[1], id)\n"
    "  if redis.call('EXISTS', env) == 0 then\n"
    "    result[#result + 1] = -1\n"
    "  elseif redis.call('ZREM', KEYS[1], id) == 0 then\n"
    "    result[#result + 1] = 0\n"
    "  else\n"
    "    redis.call('XADD', KEYS[2], '*', ARGV[2], id)\n"
    "    redis.call('HSET', env, ARGV[3], 0)\n"
    "    result[#result + 1] = 1\n"
    "  end\n"
    "end\n"
    "return result\n";


/*
 * Deletes one message, without a bounce.  The envelope holds the queue's
 * reference to the content, so the reference is dropped only with the
 * envelope: deleting twice never drops a mailbox's reference.  An entry
 * of the message in queue:outbound is left to its worker, which finds the
 * envelope gone and acknowledges it.
 * KEYS: queue:deferred, queue:ids; ARGV: id, the envelope and recipient
 * key formats, the envelope's "blob" field.  Returns -1 for an unknown
 * id, else the references left to the content (0: the content is deleted
 * too).
 */
static char  mailctl_queue_delete_lua[] =
    MAIL_LUA_BLOB_UNREF
    "local id = ARGV[1]\n"
    "local env = string.format(ARGV[2], id)\n"
    "local blob = redis.call('HGET', env, ARGV[4])\n"
    "local n = redis.call('DEL', env, string.format(ARGV[3], id))\n"
    "n = n + redis.call('ZREM', KEYS[1], id)\n"
    "n = n + redis.call('ZREM', KEYS[2], id)\n"
    "if n == 0 then return -1 end\n"
    "local left = blob_unref(blob)\n"
    "if left > 0 then return left end\n"
    "return 0\n";


static int mailctl_queue_ids_arg(char **ids, int n);
static int mailctl_queue_list_batch(mailctl_t *ctl, redisReply *ids,
    long long *count);
static int mailctl_queue_list_print(const char *id, redisReply **replies);
static void mailctl_queue_show_envelope(const char *id, redisReply *env,
    redisReply *deferred);
static void mailctl_queue_show_rcpts(const char *rcpts, redisReply *states);
static void mailctl_queue_show_rcpt(char *value);
static int mailctl_queue_flush_batch(mailctl_t *ctl, long long *taken,
    long long *queued);
static int mailctl_queue_delete_all(mailctl_t *ctl);
static int mailctl_queue_delete_batch(mailctl_t *ctl, const char **ids,
    size_t n, long long *deleted);
static int mailctl_queue_integer(redisReply *reply, long long *value);
static const char *mailctl_queue_time(char *buf, const char *value);
static void mailctl_queue_print_text(const char *text, size_t max);
static long mailctl_queue_count_lines(const char *text);
static char *mailctl_queue_word(char **p);


static int
mailctl_queue_ids_arg(char **ids, int n)
{
    int          i;
    const char  *reason;

    for (i = 0; i < n; i++) {
        reason = mailctl_validate_queue_id(ids[i], strlen(ids[i]));

        if (reason != NULL) {
            mailctl_error("invalid queue id \"%s\": %s", ids[i], reason);
            return MAILCTL_INVALID;
        }
    }

    return MAILCTL_OK;
}


/*
 * The ids are read by rank, a batch at a time, so that a queue of a
 * million messages is never one reply.  A message that leaves the queue
 * meanwhile may shift the ranks: one may then be missed or shown twice,
 * which a listing of a changing queue may do anyway.
 */

int
mailctl_queue_list(mailctl_t *ctl)
{
    int          rc;
    size_t       n;
    long long    start, count;
    redisReply  *ids;

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    printf("%-27s %-20s %10s %-7s %-35s %s\n", "ID", "CREATED", "SIZE",
           "PENDING", "STATE", "SENDER (LAST ERROR)");

    count = 0;

    for (start = 0; /* void */; start += MAILCTL_QUEUE_BATCH) {
        ids = mailctl_redis_command(ctl, "ZRANGE %s %lld %lld",
                                    MAIL_KEY_QUEUE_IDS, start,
                                    start + MAILCTL_QUEUE_BATCH - 1);
        if (ids == NULL) {
            return MAILCTL_REDIS;
        }

        rc = mailctl_redis_check_array(ids);

        if (rc == MAILCTL_OK) {
            rc = mailctl_queue_list_batch(ctl, ids, &count);
        }

        n = ids->elements;
        freeReplyObject(ids);

        if (rc != MAILCTL_OK) {
            return rc;
        }

        if (n < MAILCTL_QUEUE_BATCH) {
            break;
        }
    }

    printf("%lld message%s\n", count, count == 1 ? "" : "s");

    return MAILCTL_OK;
}


/* three commands per message, one round trip for them all */

static int
mailctl_queue_list_batch(mailctl_t *ctl, redisReply *ids, long long *count)
{
    int          rc;
    size_t       i, j;
    const char  *id;
    redisReply  *replies[3];

    for (i = 0; i < ids->elements; i++) {
        id = ids->element[i]->str;

        if (mailctl_redis_append(ctl, "HMGET " MAIL_KEY_QUEUE_ENV_FMT
                                 " %s %s %s %s %s", id,
                                 MAIL_FIELD_QUEUE_FROM, MAIL_FIELD_QUEUE_SIZE,
                                 MAIL_FIELD_CREATED,
                                 MAIL_FIELD_QUEUE_LAST_ERROR,
                                 MAIL_FIELD_QUEUE_RCPTS)
               != MAILCTL_OK
            || mailctl_redis_append(ctl, "HVALS " MAIL_KEY_QUEUE_RCPT_FMT, id)
               != MAILCTL_OK
            || mailctl_redis_append(ctl, "ZSCORE %s %s",
                                    MAIL_KEY_QUEUE_DEFERRED, id)
               != MAILCTL_OK)
        {
            return MAILCTL_REDIS;
        }
    }

    rc = MAILCTL_OK;

    for (i = 0; i < ids->elements && rc == MAILCTL_OK; i++) {

        for (j = 0; j < 3; j++) {
            replies[j] = mailctl_redis_next(ctl);

            if (replies[j] == NULL) {
                rc = MAILCTL_REDIS;
                break;
            }
        }

        if (rc == MAILCTL_OK
            && mailctl_queue_list_print(ids->element[i]->str, replies))
        {
            (*count)++;
        }

        while (j-- > 0) {
            freeReplyObject(replies[j]);
        }
    }

    return rc;
}


/*
 * replies: HMGET of the envelope, HVALS of the recipients' states, ZSCORE
 * in queue:deferred.  Returns 0 for a message deleted since the ZRANGE.
 */

static int
mailctl_queue_list_print(const char *id, redisReply **replies)
{
    char         created[MAILCTL_QUEUE_TIME_LEN], next[MAILCTL_QUEUE_TIME_LEN];
    char         pending[48], state[64];
    long         total, done;
    size_t       i;
    const char  *field[5], *value;
    redisReply  *env, *states, *deferred;

    env = replies[0];
    states = replies[1];
    deferred = replies[2];

    if (env->type != REDIS_REPLY_ARRAY || env->elements != 5) {
        return 0;
    }

    for (i = 0; i < 5; i++) {
        field[i] = (env->element[i]->type == REDIS_REPLY_STRING)
                   ? env->element[i]->str : NULL;
    }

    /* a message has a size and a creation time from the start */

    if (field[1] == NULL && field[2] == NULL) {
        return 0;
    }

    /* recipients that are neither sent nor failed are still to be done */

    total = mailctl_queue_count_lines(field[4] ? field[4] : "");
    done = 0;

    for (i = 0; states->type == REDIS_REPLY_ARRAY && i < states->elements;
         i++)
    {
        value = states->element[i]->str;

        if (value != NULL
            && (strncmp(value, MAIL_QUEUE_RCPT_SENT " ",
                        sizeof(MAIL_QUEUE_RCPT_SENT)) == 0
                || strncmp(value, MAIL_QUEUE_RCPT_FAILED " ",
                           sizeof(MAIL_QUEUE_RCPT_FAILED)) == 0))
        {
            done++;
        }
    }

    snprintf(pending, sizeof(pending), "%ld/%ld",
             total > done ? total - done : 0, total);

    if (deferred->type == REDIS_REPLY_STRING) {
        snprintf(state, sizeof(state), "deferred until %s",
                 mailctl_queue_time(next, deferred->str));

    } else {
        snprintf(state, sizeof(state), "active");
    }

    printf("%-27s %-20s %10s %-7s %-35s <", id,
           mailctl_queue_time(created, field[2]),
           field[1] ? field[1] : "-", pending, state);

    mailctl_queue_print_text(field[0] ? field[0] : "", 0);
    fputc('>', stdout);

    if (field[3] != NULL && field[3][0] != '\0') {
        fputs(" (", stdout);
        mailctl_queue_print_text(field[3], MAILCTL_QUEUE_ERROR_MAX);
        fputc(')', stdout);
    }

    fputc('\n', stdout);

    return 1;
}


int
mailctl_queue_show(mailctl_t *ctl)
{
    int          rc;
    size_t       i;
    const char  *id, *rcpts;
    redisReply  *replies[3];

    id = ctl->args[0];

    rc = mailctl_queue_ids_arg(ctl->args, 1);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (mailctl_redis_append(ctl, "HGETALL " MAIL_KEY_QUEUE_ENV_FMT, id)
        != MAILCTL_OK
        || mailctl_redis_append(ctl, "HGETALL " MAIL_KEY_QUEUE_RCPT_FMT, id)
           != MAILCTL_OK
        || mailctl_redis_append(ctl, "ZSCORE %s %s", MAIL_KEY_QUEUE_DEFERRED,
                                id)
           != MAILCTL_OK)
    {
        return MAILCTL_REDIS;
    }

    for (i = 0; i < 3; i++) {
        replies[i] = mailctl_redis_next(ctl);

        if (replies[i] == NULL) {
            rc = MAILCTL_REDIS;
            break;
        }
    }

    if (rc == MAILCTL_OK
        && (mailctl_redis_check_array(replies[0]) != MAILCTL_OK
            || mailctl_redis_check_array(replies[1]) != MAILCTL_OK))
    {
        rc = MAILCTL_REDIS;
    }

    if (rc == MAILCTL_OK && replies[0]->elements == 0) {
        mailctl_error("unknown queue id \"%s\"", id);
        rc = MAILCTL_INVALID;
    }

    if (rc == MAILCTL_OK) {
        mailctl_queue_show_envelope(id, replies[0], replies[2]);

        rcpts = mailctl_redis_field(replies[0], MAIL_FIELD_QUEUE_RCPTS);
        mailctl_queue_show_rcpts(rcpts ? rcpts : "", replies[1]);
    }

    while (i-- > 0) {
        freeReplyObject(replies[i]);
    }

    return rc;
}


static void
mailctl_queue_show_envelope(const char *id, redisReply *env,
    redisReply *deferred)
{
    char         time[MAILCTL_QUEUE_TIME_LEN];
    const char  *value;

    printf("id: %s\n", id);

    value = mailctl_redis_field(env, MAIL_FIELD_QUEUE_FROM);
    fputs("from: <", stdout);
    mailctl_queue_print_text(value ? value : "", 0);
    fputs(">\n", stdout);

    value = mailctl_redis_field(env, MAIL_FIELD_QUEUE_PARAMS);
    fputs("params: ", stdout);
    mailctl_queue_print_text((value && value[0]) ? value : "-", 0);
    fputc('\n', stdout);

    value = mailctl_redis_field(env, MAIL_FIELD_QUEUE_SIZE);
    printf("size: %s\n", value ? value : "-");

    value = mailctl_redis_field(env, MAIL_FIELD_CREATED);
    printf("created: %s\n", mailctl_queue_time(time, value));

    value = mailctl_redis_field(env, MAIL_FIELD_QUEUE_ATTEMPTS);
    printf("attempts: %s\n", value ? value : "0");

    /* queue:deferred decides when a worker takes it, not the field */

    if (deferred->type == REDIS_REPLY_STRING) {
        printf("state: deferred\n");
        printf("next attempt: %s\n", mailctl_queue_time(time, deferred->str));

    } else {
        printf("state: active\n");
        printf("next attempt: now\n");
    }

    value = mailctl_redis_field(env, MAIL_FIELD_QUEUE_LAST_ERROR);
    fputs("last error: ", stdout);
    mailctl_queue_print_text((value && value[0]) ? value : "-", 0);
    fputc('\n', stdout);

    value = mailctl_redis_field(env, MAIL_FIELD_QUEUE_WARNED);
    printf("warned: %s\n", (value && strcmp(value, "1") == 0) ? "yes" : "no");

    value = mailctl_redis_field(env, MAIL_FIELD_QUEUE_BLOB);
    printf("blob: %s\n", value ? value : "-");
}


/* rcpts: the envelope's "addr PARAMS..." lines; states: HGETALL */

static void
mailctl_queue_show_rcpts(const char *rcpts, redisReply *states)
{
    char        *value;
    size_t       len, addr_len, i;
    const char  *line, *end;

    for (line = rcpts; *line != '\0'; line = end + (*end != '\0')) {
        end = strchr(line, '\n');
        if (end == NULL) {
            end = line + strlen(line);
        }

        len = end - line;
        if (len > 0 && line[len - 1] == '\r') {
            len--;
        }

        if (len == 0) {
            continue;
        }

        addr_len = strcspn(line, " \r\n");

        fputs("rcpt: ", stdout);
        printf("%.*s\n", (int) len, line);

        value = NULL;

        for (i = 0; i + 1 < states->elements; i += 2) {
            if (states->element[i]->len == addr_len
                && memcmp(states->element[i]->str, line, addr_len) == 0)
            {
                value = states->element[i + 1]->str;
                break;
            }
        }

        mailctl_queue_show_rcpt(value);
    }
}


/* "STATE TIME CODE STATUS MTA TEXT", or NULL: not tried yet */

static void
mailctl_queue_show_rcpt(char *value)
{
    char                  time[MAILCTL_QUEUE_TIME_LEN];
    mailctl_queue_rcpt_t  rcpt;

    if (value == NULL) {
        printf("  state: queued\n");
        return;
    }

    rcpt.state = mailctl_queue_word(&value);
    rcpt.time = mailctl_queue_word(&value);
    rcpt.code = mailctl_queue_word(&value);
    rcpt.status = mailctl_queue_word(&value);
    rcpt.mta = mailctl_queue_word(&value);
    rcpt.text = value;

    fputs("  state: ", stdout);
    mailctl_queue_print_text(rcpt.state, 0);
    printf("\n  time: %s\n", mailctl_queue_time(time, rcpt.time));
    fputs("  code: ", stdout);
    mailctl_queue_print_text(rcpt.code, 0);
    fputs("\n  status: ", stdout);
    mailctl_queue_print_text(rcpt.status, 0);
    fputs("\n  mta: ", stdout);
    mailctl_queue_print_text(rcpt.mta, 0);
    fputs("\n  text: ", stdout);
    mailctl_queue_print_text(rcpt.text, 0);
    fputc('\n', stdout);
}


/*
 * A batch at a time, so that Redis, which runs nothing else while a
 * script runs, is never held long, however many messages wait.
 */

int
mailctl_queue_flush(mailctl_t *ctl)
{
    int        rc;
    long long  taken, queued, total;

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    total = 0;

    do {
        rc = mailctl_queue_flush_batch(ctl, &taken, &queued);
        if (rc != MAILCTL_OK) {
            return rc;
        }

        total += queued;

    } while (taken == MAILCTL_QUEUE_BATCH);

    printf("%lld message%s queued for delivery\n", total,
           total == 1 ? "" : "s");

    return MAILCTL_OK;
}


static int
mailctl_queue_flush_batch(mailctl_t *ctl, long long *taken,
    long long *queued)
{
    int          rc;
    char         batch[16];
    const char  *argv[9];
    redisReply  *reply;

    snprintf(batch, sizeof(batch), "%d", MAILCTL_QUEUE_BATCH);

    argv[0] = "EVAL";
    argv[1] = mailctl_queue_flush_lua;
    argv[2] = "2";
    argv[3] = MAIL_KEY_QUEUE_DEFERRED;
    argv[4] = MAIL_KEY_QUEUE_OUTBOUND;
    argv[5] = MAIL_KEY_QUEUE_ENV_FMT;
    argv[6] = MAIL_QUEUE_ENTRY_ID;
    argv[7] = MAIL_FIELD_QUEUE_NEXT;
    argv[8] = batch;

    reply = mailctl_redis_command_argv(ctl, 9, argv);

    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    rc = MAILCTL_REDIS;

    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
        && mailctl_queue_integer(reply->element[0], taken) == MAILCTL_OK
        && mailctl_queue_integer(reply->element[1], queued) == MAILCTL_OK)
    {
        rc = MAILCTL_OK;

    } else {
        mailctl_error("Redis: unexpected reply to the flush script");
    }

    freeReplyObject(reply);

    return rc;
}


int
mailctl_queue_retry(mailctl_t *ctl)
{
    int           rc, i, argc;
    long long     result;
    const char  **argv;
    redisReply   *reply;

    rc = mailctl_queue_ids_arg(ctl->args, ctl->nargs);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    argc = 8 + ctl->nargs;

    argv = malloc(argc * sizeof(char *));
    if (argv == NULL) {
        mailctl_error("out of memory");
        return MAILCTL_SYSTEM;
    }

    argv[0] = "EVAL";
    argv[1] = mailctl_queue_retry_lua;
    argv[2] = "2";
    argv[3] = MAIL_KEY_QUEUE_DEFERRED;
    argv[4] = MAIL_KEY_QUEUE_OUTBOUND;
    argv[5] = MAIL_KEY_QUEUE_ENV_FMT;
    argv[6] = MAIL_QUEUE_ENTRY_ID;
    argv[7] = MAIL_FIELD_QUEUE_NEXT;

    for (i = 0; i < ctl->nargs; i++) {
        argv[8 + i] = ctl->args[i];
    }

    reply = mailctl_redis_command_argv(ctl, argc, argv);
    free(argv);

    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    if (reply->type != REDIS_REPLY_ARRAY
        || reply->elements != (size_t) ctl->nargs)
    {
        mailctl_error("Redis: unexpected reply to the retry script");
        freeReplyObject(reply);
        return MAILCTL_REDIS;
    }

    for (i = 0; i < ctl->nargs; i++) {
        if (mailctl_queue_integer(reply->element[i], &result) != MAILCTL_OK) {
            mailctl_error("Redis: unexpected reply to the retry script");
            rc = MAILCTL_REDIS;
            break;
        }

        if (result > 0) {
            printf("%s: queued for delivery\n", ctl->args[i]);

        } else if (result == 0) {
            printf("%s: not deferred, skipped\n", ctl->args[i]);

        } else {
            mailctl_error("unknown queue id \"%s\"", ctl->args[i]);
            rc = MAILCTL_INVALID;
        }
    }

    freeReplyObject(reply);

    return rc;
}


int
mailctl_queue_delete(mailctl_t *ctl)
{
    int          rc, i, n, all;
    long long    deleted;
    const char  *ids[MAILCTL_QUEUE_BATCH];

    all = (ctl->options & MAILCTL_OPT_ALL) != 0;

    if (all == (ctl->nargs > 0)) {
        mailctl_error("\"%s\" takes either queue ids or --all",
                      ctl->command);
        fprintf(stderr, "Usage: mailctl queue delete ID...|--all\n");
        return MAILCTL_USAGE;
    }

    rc = mailctl_queue_ids_arg(ctl->args, ctl->nargs);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (all) {
        return mailctl_queue_delete_all(ctl);
    }

    deleted = 0;

    for (i = 0; i < ctl->nargs; i += n) {
        n = ctl->nargs - i;
        if (n > MAILCTL_QUEUE_BATCH) {
            n = MAILCTL_QUEUE_BATCH;
        }

        memcpy(ids, ctl->args + i, n * sizeof(char *));

        rc = mailctl_queue_delete_batch(ctl, ids, n, &deleted);
        if (rc == MAILCTL_REDIS) {
            return rc;
        }
    }

    return rc;
}


/*
 * The messages queued when it starts, oldest first: mail that arrives
 * meanwhile is newer, and is left.
 */

static int
mailctl_queue_delete_all(mailctl_t *ctl)
{
    int          rc;
    size_t       i;
    long long    total, done, deleted, batch;
    const char  *ids[MAILCTL_QUEUE_BATCH];
    redisReply  *reply;

    rc = mailctl_redis_integer(ctl, &total, "ZCARD %s", MAIL_KEY_QUEUE_IDS);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    done = 0;
    deleted = 0;

    while (done < total) {
        batch = total - done;
        if (batch > MAILCTL_QUEUE_BATCH) {
            batch = MAILCTL_QUEUE_BATCH;
        }

        reply = mailctl_redis_command(ctl, "ZRANGE %s 0 %lld",
                                      MAIL_KEY_QUEUE_IDS, batch - 1);
        if (reply == NULL) {
            return MAILCTL_REDIS;
        }

        if (mailctl_redis_check_array(reply) != MAILCTL_OK) {
            freeReplyObject(reply);
            return MAILCTL_REDIS;
        }

        if (reply->elements == 0) {
            freeReplyObject(reply);
            break;
        }

        for (i = 0; i < reply->elements; i++) {
            ids[i] = reply->element[i]->str;
        }

        done += reply->elements;

        rc = mailctl_queue_delete_batch(ctl, ids, reply->elements, &deleted);
        freeReplyObject(reply);

        if (rc != MAILCTL_OK) {
            return rc;
        }
    }

    printf("%lld message%s deleted\n", deleted, deleted == 1 ? "" : "s");

    return MAILCTL_OK;
}


/* one script per message, all pipelined */

static int
mailctl_queue_delete_batch(mailctl_t *ctl, const char **ids, size_t n,
    long long *deleted)
{
    int          rc;
    size_t       i;
    long long    left;
    const char  *argv[9];
    redisReply  *reply;

    argv[0] = "EVAL";
    argv[1] = mailctl_queue_delete_lua;
    argv[2] = "2";
    argv[3] = MAIL_KEY_QUEUE_DEFERRED;
    argv[4] = MAIL_KEY_QUEUE_IDS;
    argv[6] = MAIL_KEY_QUEUE_ENV_FMT;
    argv[7] = MAIL_KEY_QUEUE_RCPT_FMT;
    argv[8] = MAIL_FIELD_QUEUE_BLOB;

    for (i = 0; i < n; i++) {
        argv[5] = ids[i];

        if (mailctl_redis_append_argv(ctl, 9, argv) != MAILCTL_OK) {
            return MAILCTL_REDIS;
        }
    }

    rc = MAILCTL_OK;

    for (i = 0; i < n; i++) {
        reply = mailctl_redis_next(ctl);
        if (reply == NULL) {
            return MAILCTL_REDIS;
        }

        if (mailctl_queue_integer(reply, &left) != MAILCTL_OK) {
            mailctl_error("Redis: unexpected reply to the delete script");
            freeReplyObject(reply);
            return MAILCTL_REDIS;
        }

        freeReplyObject(reply);

        if (left < 0) {
            mailctl_error("unknown queue id \"%s\"", ids[i]);
            rc = MAILCTL_INVALID;
            continue;
        }

        (*deleted)++;

        if (left == 0) {
            printf("deleted %s\n", ids[i]);

        } else {
            printf("deleted %s (its content stays: %lld more reference%s)\n",
                   ids[i], left, left == 1 ? "" : "s");
        }
    }

    return rc;
}


static int
mailctl_queue_integer(redisReply *reply, long long *value)
{
    if (reply->type != REDIS_REPLY_INTEGER) {
        return MAILCTL_REDIS;
    }

    *value = reply->integer;

    return MAILCTL_OK;
}


/* Unix time, as Redis stores it, to UTC; "-" when unset or unreadable */

static const char *
mailctl_queue_time(char *buf, const char *value)
{
    time_t     t;
    struct tm  tm;

    t = (value != NULL) ? (time_t) strtoll(value, NULL, 10) : 0;

    if (t <= 0 || gmtime_r(&t, &tm) == NULL
        || strftime(buf, MAILCTL_QUEUE_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm)
           == 0)
    {
        return "-";
    }

    return buf;
}


/*
 * Senders and replies come from other hosts: no control character of
 * theirs reaches the terminal.  max, if not 0, cuts the text, at a
 * character boundary of UTF-8, and marks the cut with "...".
 */

static void
mailctl_queue_print_text(const char *text, size_t max)
{
    size_t         i, len;
    unsigned char  c;

    len = strlen(text);

    if (max != 0 && len > max) {
        len = max;

        while (len > 0 && ((unsigned char) text[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    for (i = 0; i < len; i++) {
        c = text[i];
        fputc((c < 0x20 || c == 0x7f) ? '?' : c, stdout);
    }

    if (len < strlen(text)) {
        fputs("...", stdout);
    }
}


/* the envelope's recipients: its lines that are not blank */

static long
mailctl_queue_count_lines(const char *text)
{
    int          blank;
    long         n;
    const char  *p;

    n = 0;
    blank = 1;

    for (p = text; /* void */; p++) {

        if (*p == '\n' || *p == '\0') {
            n += !blank;
            blank = 1;

            if (*p == '\0') {
                return n;
            }

        } else if (*p != '\r') {
            blank = 0;
        }
    }
}


/* the next space-separated word of *p, terminated in place; "" at the end */

static char *
mailctl_queue_word(char **p)
{
    char  *word, *end;

    word = *p;

    end = strchr(word, ' ');

    if (end == NULL) {
        *p = word + strlen(word);
        return word;
    }

    *end = '\0';
    *p = end + 1;

    return word;
}
