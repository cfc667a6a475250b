
/*
 * Which Redis to talk to (-s, -n, REDIS_URL, REDIS_PASSWORD), the
 * connection, and small wrappers around the synchronous hiredis API that
 * report every failure once, as exit code MAILCTL_REDIS.
 */


#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "mailctl.h"


#define MAILCTL_REDIS_PORT            6379
#define MAILCTL_CONNECT_TIMEOUT       5
#define MAILCTL_COMMAND_TIMEOUT       30

/* how often a transaction is tried while WATCHed keys keep changing */
#define MAILCTL_TRIES                 5


static const char *mailctl_redis_parse_server(mailctl_server_t *srv,
    const char *addr);
static const char *mailctl_redis_parse_url(mailctl_server_t *srv,
    const char *url);
static const char *mailctl_redis_parse_userinfo(mailctl_server_t *srv,
    const char *userinfo, size_t len);
static const char *mailctl_redis_parse_db(mailctl_server_t *srv,
    const char *db);
static const char *mailctl_redis_decode(char *dst, size_t size,
    const char *src, size_t len);
static int mailctl_redis_login(mailctl_t *ctl);
static redisReply *mailctl_redis_reply(mailctl_t *ctl);
static const char *mailctl_redis_name(mailctl_server_t *srv);


int
mailctl_redis_configure(mailctl_t *ctl)
{
    const char        *url, *password, *reason;
    mailctl_server_t  *srv;

    srv = &ctl->server;

    strcpy(srv->host, "127.0.0.1");
    srv->port = MAILCTL_REDIS_PORT;

    /* -s names the whole server, so REDIS_URL is not consulted at all */

    if (ctl->server_arg != NULL) {
        reason = mailctl_redis_parse_server(srv, ctl->server_arg);
        if (reason != NULL) {
            mailctl_error("invalid server \"%s\": %s", ctl->server_arg,
                          reason);
            return MAILCTL_USAGE;
        }

    } else {
        url = getenv("REDIS_URL");

        if (url != NULL && url[0] != '\0') {
            reason = mailctl_redis_parse_url(srv, url);

            /* the URL may hold a password: do not repeat it */

            if (reason != NULL) {
                mailctl_error("invalid REDIS_URL: %s", reason);
                return MAILCTL_USAGE;
            }
        }
    }

    password = getenv("REDIS_PASSWORD");

    if (srv->password[0] == '\0' && password != NULL) {
        if (strlen(password) >= sizeof(srv->password)) {
            mailctl_error("REDIS_PASSWORD is too long");
            return MAILCTL_USAGE;
        }

        strcpy(srv->password, password);
    }

    if (ctl->db_arg != NULL) {
        reason = mailctl_redis_parse_db(srv, ctl->db_arg);
        if (reason != NULL) {
            mailctl_error("invalid database \"%s\": %s", ctl->db_arg, reason);
            return MAILCTL_USAGE;
        }
    }

    return MAILCTL_OK;
}


/* "unix:/path", "host", "host:port", "[v6addr]:port" */

static const char *
mailctl_redis_parse_server(mailctl_server_t *srv, const char *addr)
{
    size_t       len;
    long         port;
    char        *end;
    const char  *host, *colon;

    if (strncmp(addr, "unix:", 5) == 0) {
        addr += 5;

        if (addr[0] == '\0') {
            return "missing socket path";
        }

        if (strlen(addr) >= sizeof(srv->path)) {
            return "socket path too long";
        }

        strcpy(srv->path, addr);
        srv->host[0] = '\0';
        return NULL;
    }

    host = addr;

    if (addr[0] == '[') {
        host = addr + 1;
        colon = strchr(host, ']');
        if (colon == NULL) {
            return "missing \"]\"";
        }

        len = colon - host;
        colon++;

        if (colon[0] != '\0' && colon[0] != ':') {
            return "expected \":\" after \"]\"";
        }

    } else {
        colon = strchr(addr, ':');
        len = colon ? (size_t) (colon - addr) : strlen(addr);
    }

    if (len == 0) {
        return "missing host";
    }

    if (len >= sizeof(srv->host)) {
        return "host name too long";
    }

    memcpy(srv->host, host, len);
    srv->host[len] = '\0';

    if (colon == NULL || colon[0] == '\0') {
        return NULL;
    }

    errno = 0;
    port = strtol(colon + 1, &end, 10);

    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0
        || port < 1 || port > 65535)
    {
        return "port must be a number from 1 to 65535";
    }

    srv->port = (int) port;

    return NULL;
}


/*
 * "redis://[[user]:password@]host[:port][/db]" and "unix:/path[?db=N]",
 * the forms redis-cli -u and most client libraries accept.
 */

static const char *
mailctl_redis_parse_url(mailctl_server_t *srv, const char *url)
{
    char         hostport[MAILCTL_HOST_MAX];
    size_t       len;
    const char  *at, *slash, *query, *reason;

    if (strncmp(url, "unix:", 5) == 0) {
        url += 5;

        /* unix:///path is the same socket as unix:/path */

        if (strncmp(url, "//", 2) == 0) {
            url += 2;
        }

        query = strchr(url, '?');
        len = query ? (size_t) (query - url) : strlen(url);

        if (len == 0) {
            return "missing socket path";
        }

        if (len >= sizeof(srv->path)) {
            return "socket path too long";
        }

        memcpy(srv->path, url, len);
        srv->path[len] = '\0';
        srv->host[0] = '\0';

        if (query == NULL) {
            return NULL;
        }

        if (strncmp(query, "?db=", 4) != 0) {
            return "the only query parameter is \"db\"";
        }

        return mailctl_redis_parse_db(srv, query + 4);
    }

    if (strncmp(url, "rediss://", 9) == 0) {
        return "TLS (rediss://) is not supported";
    }

    if (strncmp(url, "redis://", 8) != 0) {
        return "expected redis://... or unix:...";
    }

    url += 8;

    /* a raw "@" in the password is common enough to allow it */

    at = strrchr(url, '@');

    if (at != NULL) {
        reason = mailctl_redis_parse_userinfo(srv, url, at - url);
        if (reason != NULL) {
            return reason;
        }

        url = at + 1;
    }

    slash = strchr(url, '/');
    len = slash ? (size_t) (slash - url) : strlen(url);

    if (len >= sizeof(hostport)) {
        return "host name too long";
    }

    /* "redis://" alone and "redis:///1" mean the default host */

    if (len > 0) {
        memcpy(hostport, url, len);
        hostport[len] = '\0';

        reason = mailctl_redis_parse_server(srv, hostport);
        if (reason != NULL) {
            return reason;
        }

        if (srv->path[0] != '\0') {
            return "use unix:/path for a socket";
        }
    }

    if (slash == NULL || slash[1] == '\0') {
        return NULL;
    }

    return mailctl_redis_parse_db(srv, slash + 1);
}


/* "password" or "user:password", either part percent-encoded */

static const char *
mailctl_redis_parse_userinfo(mailctl_server_t *srv, const char *userinfo,
    size_t len)
{
    const char  *colon, *reason;

    colon = memchr(userinfo, ':', len);

    if (colon != NULL) {
        reason = mailctl_redis_decode(srv->user, sizeof(srv->user),
                                      userinfo, colon - userinfo);
        if (reason != NULL) {
            return reason;
        }

        len -= colon + 1 - userinfo;
        userinfo = colon + 1;
    }

    return mailctl_redis_decode(srv->password, sizeof(srv->password),
                                userinfo, len);
}


static const char *
mailctl_redis_parse_db(mailctl_server_t *srv, const char *db)
{
    long   n;
    char  *end;

    errno = 0;
    n = strtol(db, &end, 10);

    if (db[0] < '0' || db[0] > '9' || *end != '\0' || errno != 0
        || n > INT_MAX)
    {
        return "database must be a number, 0 or more";
    }

    srv->db = n;

    return NULL;
}


static int
mailctl_redis_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


/* RFC 3986 2.1 percent-decoding */

static const char *
mailctl_redis_decode(char *dst, size_t size, const char *src, size_t len)
{
    int     high, low;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (n + 1 >= size) {
            return "user or password too long";
        }

        if (src[i] != '%') {
            dst[n++] = src[i];
            continue;
        }

        high = (len - i >= 3) ? mailctl_redis_hex(src[i + 1]) : -1;
        low = (high >= 0) ? mailctl_redis_hex(src[i + 2]) : -1;

        if (low < 0) {
            return "bad %-escape in user or password";
        }

        if (high == 0 && low == 0) {
            return "%00 in user or password";
        }

        dst[n++] = (char) (high * 16 + low);
        i += 2;
    }

    dst[n] = '\0';

    return NULL;
}


int
mailctl_redis_connect(mailctl_t *ctl)
{
    struct timeval     tv;
    mailctl_server_t  *srv;

    srv = &ctl->server;

    tv.tv_sec = MAILCTL_CONNECT_TIMEOUT;
    tv.tv_usec = 0;

    if (srv->path[0] != '\0') {
        ctl->redis = redisConnectUnixWithTimeout(srv->path, tv);

    } else {
        ctl->redis = redisConnectWithTimeout(srv->host, srv->port, tv);
    }

    if (ctl->redis == NULL) {
        mailctl_error("cannot connect to Redis at %s: out of memory",
                      mailctl_redis_name(srv));
        return MAILCTL_REDIS;
    }

    if (ctl->redis->err) {
        mailctl_error("cannot connect to Redis at %s: %s",
                      mailctl_redis_name(srv), ctl->redis->errstr);
        return MAILCTL_REDIS;
    }

    tv.tv_sec = MAILCTL_COMMAND_TIMEOUT;

    if (redisSetTimeout(ctl->redis, tv) != REDIS_OK) {
        mailctl_error("cannot set the Redis timeout: %s",
                      ctl->redis->errstr);
        return MAILCTL_REDIS;
    }

    return mailctl_redis_login(ctl);
}


static int
mailctl_redis_login(mailctl_t *ctl)
{
    redisReply        *reply;
    mailctl_server_t  *srv;

    srv = &ctl->server;

    if (srv->password[0] != '\0') {
        if (srv->user[0] != '\0') {
            reply = redisCommand(ctl->redis, "AUTH %s %s", srv->user,
                                 srv->password);

        } else {
            reply = redisCommand(ctl->redis, "AUTH %s", srv->password);
        }

        memset(srv->password, 0, sizeof(srv->password));

        if (reply == NULL) {
            mailctl_error("Redis at %s: %s", mailctl_redis_name(srv),
                          ctl->redis->errstr);
            return MAILCTL_REDIS;
        }

        if (reply->type == REDIS_REPLY_ERROR) {
            mailctl_error("Redis at %s refused the password: %s",
                          mailctl_redis_name(srv), reply->str);
            freeReplyObject(reply);
            return MAILCTL_REDIS;
        }

        freeReplyObject(reply);
    }

    if (srv->db != 0) {
        reply = mailctl_redis_command(ctl, "SELECT %ld", srv->db);
        if (reply == NULL) {
            return MAILCTL_REDIS;
        }

        freeReplyObject(reply);
    }

    return MAILCTL_OK;
}


void
mailctl_redis_close(mailctl_t *ctl)
{
    if (ctl->redis != NULL) {
        redisFree(ctl->redis);
        ctl->redis = NULL;
    }
}


static const char *
mailctl_redis_name(mailctl_server_t *srv)
{
    static char  name[MAILCTL_HOST_MAX + 16];

    if (srv->path[0] != '\0') {
        snprintf(name, sizeof(name), "unix:%s", srv->path);

    } else if (strchr(srv->host, ':') != NULL) {
        snprintf(name, sizeof(name), "[%s]:%d", srv->host, srv->port);

    } else {
        snprintf(name, sizeof(name), "%s:%d", srv->host, srv->port);
    }

    return name;
}


/* the next reply; NULL after an error has been reported */

static redisReply *
mailctl_redis_reply(mailctl_t *ctl)
{
    void  *reply;

    if (redisGetReply(ctl->redis, &reply) != REDIS_OK || reply == NULL) {
        mailctl_error("Redis at %s: %s", mailctl_redis_name(&ctl->server),
                      ctl->redis->errstr);
        return NULL;
    }

    return reply;
}


static int
mailctl_redis_reply_failed(mailctl_t *ctl, redisReply *reply)
{
    if (reply->type != REDIS_REPLY_ERROR) {
        return 0;
    }

    mailctl_error("Redis at %s: %s", mailctl_redis_name(&ctl->server),
                  reply->str);
    return 1;
}


/* a command's reply, never an error reply; NULL after reporting a failure */

redisReply *
mailctl_redis_command(mailctl_t *ctl, const char *fmt, ...)
{
    int          rc;
    va_list      args;
    redisReply  *reply;

    va_start(args, fmt);
    rc = redisvAppendCommand(ctl->redis, fmt, args);
    va_end(args);

    if (rc != REDIS_OK) {
        mailctl_error("Redis: %s", ctl->redis->errstr);
        return NULL;
    }

    reply = mailctl_redis_reply(ctl);
    if (reply == NULL) {
        return NULL;
    }

    if (mailctl_redis_reply_failed(ctl, reply)) {
        freeReplyObject(reply);
        return NULL;
    }

    return reply;
}


/* the same for arguments that are not all C strings of a format */

redisReply *
mailctl_redis_command_argv(mailctl_t *ctl, int argc, const char **argv)
{
    redisReply  *reply;

    if (redisAppendCommandArgv(ctl->redis, argc, argv, NULL) != REDIS_OK) {
        mailctl_error("Redis: %s", ctl->redis->errstr);
        return NULL;
    }

    reply = mailctl_redis_reply(ctl);
    if (reply == NULL) {
        return NULL;
    }

    if (mailctl_redis_reply_failed(ctl, reply)) {
        freeReplyObject(reply);
        return NULL;
    }

    return reply;
}


/* for EXISTS, SISMEMBER, SCARD and the like */

int
mailctl_redis_integer(mailctl_t *ctl, long long *value, const char *fmt, ...)
{
    int          rc;
    va_list      args;
    redisReply  *reply;

    va_start(args, fmt);
    rc = redisvAppendCommand(ctl->redis, fmt, args);
    va_end(args);

    if (rc != REDIS_OK) {
        mailctl_error("Redis: %s", ctl->redis->errstr);
        return MAILCTL_REDIS;
    }

    reply = mailctl_redis_reply(ctl);
    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    if (mailctl_redis_reply_failed(ctl, reply)) {
        freeReplyObject(reply);
        return MAILCTL_REDIS;
    }

    if (reply->type != REDIS_REPLY_INTEGER) {
        mailctl_error("Redis: unexpected reply type %d", reply->type);
        freeReplyObject(reply);
        return MAILCTL_REDIS;
    }

    *value = reply->integer;
    freeReplyObject(reply);

    return MAILCTL_OK;
}


/* an array of strings: SMEMBERS, ZRANGE, HGETALL */

int
mailctl_redis_check_array(redisReply *reply)
{
    size_t  i;

    if (reply->type != REDIS_REPLY_ARRAY) {
        mailctl_error("Redis: unexpected reply type %d", reply->type);
        return MAILCTL_REDIS;
    }

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            mailctl_error("Redis: unexpected reply type %d",
                          reply->element[i]->type);
            return MAILCTL_REDIS;
        }
    }

    return MAILCTL_OK;
}


static int
mailctl_redis_compare(const void *one, const void *two)
{
    return strcmp(*(char * const *) one, *(char * const *) two);
}


void
mailctl_sort_strings(char **strings, size_t n)
{
    qsort(strings, n, sizeof(char *), mailctl_redis_compare);
}


static int
mailctl_redis_compare_reply(const void *one, const void *two)
{
    return strcmp((*(redisReply * const *) one)->str,
                  (*(redisReply * const *) two)->str);
}


/* a set has no order, but a person reads the output */

static void
mailctl_redis_sort_reply(redisReply *reply)
{
    /* hiredis leaves element NULL in an empty array */

    if (reply->elements > 1) {
        qsort(reply->element, reply->elements, sizeof(redisReply *),
              mailctl_redis_compare_reply);
    }
}


/* SMEMBERS, sorted */

int
mailctl_redis_members(mailctl_t *ctl, redisReply **reply, const char *key)
{
    redisReply  *members;

    members = mailctl_redis_command(ctl, "SMEMBERS %s", key);
    if (members == NULL) {
        return MAILCTL_REDIS;
    }

    if (mailctl_redis_check_array(members) != MAILCTL_OK) {
        freeReplyObject(members);
        return MAILCTL_REDIS;
    }

    mailctl_redis_sort_reply(members);

    *reply = members;

    return MAILCTL_OK;
}


/*
 * SMEMBERS of the key key_fmt names for each of names[], pipelined so
 * that listing a thousand domains costs one round trip.  On success the
 * caller frees replies[0 .. n-1]; each is sorted.
 */

int
mailctl_redis_members_each(mailctl_t *ctl, const char *key_fmt,
    char **names, size_t n, redisReply **replies)
{
    int     rc;
    char    key[MAILCTL_KEY_MAX];
    size_t  i, got;

    for (i = 0; i < n; i++) {
        snprintf(key, sizeof(key), key_fmt, names[i]);

        if (redisAppendCommand(ctl->redis, "SMEMBERS %s", key) != REDIS_OK) {
            mailctl_error("Redis: %s", ctl->redis->errstr);
            return MAILCTL_REDIS;
        }
    }

    rc = MAILCTL_OK;

    for (got = 0; got < n; got++) {
        replies[got] = mailctl_redis_reply(ctl);

        if (replies[got] == NULL) {
            rc = MAILCTL_REDIS;
            break;
        }

        if (mailctl_redis_reply_failed(ctl, replies[got])
            || mailctl_redis_check_array(replies[got]) != MAILCTL_OK)
        {
            freeReplyObject(replies[got]);
            rc = MAILCTL_REDIS;
            break;
        }

        mailctl_redis_sort_reply(replies[got]);
    }

    if (rc != MAILCTL_OK) {
        for (i = 0; i < got; i++) {
            freeReplyObject(replies[i]);
        }
    }

    return rc;
}


/*
 * A transaction: mailctl_redis_multi(), any number of
 * mailctl_redis_queue*(), then mailctl_redis_exec().  The commands are
 * pipelined and only EXEC waits for the replies.
 */

int
mailctl_redis_multi(mailctl_t *ctl)
{
    ctl->queued = 0;

    if (redisAppendCommand(ctl->redis, "MULTI") != REDIS_OK) {
        mailctl_error("Redis: %s", ctl->redis->errstr);
        return MAILCTL_REDIS;
    }

    return MAILCTL_OK;
}


int
mailctl_redis_queue(mailctl_t *ctl, const char *fmt, ...)
{
    int      rc;
    va_list  args;

    va_start(args, fmt);
    rc = redisvAppendCommand(ctl->redis, fmt, args);
    va_end(args);

    if (rc != REDIS_OK) {
        mailctl_error("Redis: %s", ctl->redis->errstr);
        return MAILCTL_REDIS;
    }

    ctl->queued++;

    return MAILCTL_OK;
}


int
mailctl_redis_queue_argv(mailctl_t *ctl, int argc, const char **argv)
{
    if (redisAppendCommandArgv(ctl->redis, argc, argv, NULL) != REDIS_OK) {
        mailctl_error("Redis: %s", ctl->redis->errstr);
        return MAILCTL_REDIS;
    }

    ctl->queued++;

    return MAILCTL_OK;
}


/*
 * Sends EXEC and reads every reply of the transaction.  MAILCTL_AGAIN
 * means a WATCHed key changed and nothing was done.  On MAILCTL_OK the
 * caller frees *reply, EXEC's array, unless reply is NULL.
 */

int
mailctl_redis_exec(mailctl_t *ctl, redisReply **reply)
{
    int          rc;
    size_t       i;
    unsigned     n;
    redisReply  *r;

    if (redisAppendCommand(ctl->redis, "EXEC") != REDIS_OK) {
        mailctl_error("Redis: %s", ctl->redis->errstr);
        return MAILCTL_REDIS;
    }

    rc = MAILCTL_OK;

    /* MULTI's "+OK" and a "+QUEUED" per command, or their first error */

    for (n = 0; n < ctl->queued + 1; n++) {
        r = mailctl_redis_reply(ctl);
        if (r == NULL) {
            return MAILCTL_REDIS;
        }

        if (rc == MAILCTL_OK && mailctl_redis_reply_failed(ctl, r)) {
            rc = MAILCTL_REDIS;
        }

        freeReplyObject(r);
    }

    r = mailctl_redis_reply(ctl);
    if (r == NULL) {
        return MAILCTL_REDIS;
    }

    /* the EXECABORT error would only repeat the error reported above */

    if (rc != MAILCTL_OK) {
        freeReplyObject(r);
        return rc;
    }

    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return MAILCTL_AGAIN;
    }

    if (mailctl_redis_reply_failed(ctl, r)) {
        freeReplyObject(r);
        return MAILCTL_REDIS;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements != ctl->queued) {
        mailctl_error("Redis: unexpected reply to EXEC");
        freeReplyObject(r);
        return MAILCTL_REDIS;
    }

    for (i = 0; i < r->elements; i++) {
        if (mailctl_redis_reply_failed(ctl, r->element[i])) {
            freeReplyObject(r);
            return MAILCTL_REDIS;
        }
    }

    if (reply != NULL) {
        *reply = r;

    } else {
        freeReplyObject(r);
    }

    return MAILCTL_OK;
}


/*
 * Runs attempt() until it does not return MAILCTL_AGAIN.  An attempt
 * WATCHes the keys it checks, checks, and writes in MULTI/EXEC, so that
 * a concurrent mailctl cannot slip in between the check and the write.
 */

int
mailctl_redis_retry(mailctl_t *ctl, int (*attempt)(mailctl_t *ctl,
    void *data), void *data)
{
    int  rc, tries;

    for (tries = 0; tries < MAILCTL_TRIES; tries++) {
        rc = attempt(ctl, data);

        if (rc != MAILCTL_AGAIN) {
            return rc;
        }
    }

    mailctl_error("the accounts kept changing while %s ran, try again",
                  ctl->command);

    return MAILCTL_REDIS;
}


/*
 * A pipeline outside a transaction: any number of mailctl_redis_append*(),
 * then as many mailctl_redis_next(), so that reading a thousand queue
 * entries costs one round trip, not a thousand.
 */

int
mailctl_redis_append(mailctl_t *ctl, const char *fmt, ...)
{
    int      rc;
    va_list  args;

    va_start(args, fmt);
    rc = redisvAppendCommand(ctl->redis, fmt, args);
    va_end(args);

    if (rc != REDIS_OK) {
        mailctl_error("Redis: %s", ctl->redis->errstr);
        return MAILCTL_REDIS;
    }

    return MAILCTL_OK;
}


int
mailctl_redis_append_argv(mailctl_t *ctl, int argc, const char **argv)
{
    if (redisAppendCommandArgv(ctl->redis, argc, argv, NULL) != REDIS_OK) {
        mailctl_error("Redis: %s", ctl->redis->errstr);
        return MAILCTL_REDIS;
    }

    return MAILCTL_OK;
}


/* the next reply of a pipeline, never an error reply; NULL as above */

redisReply *
mailctl_redis_next(mailctl_t *ctl)
{
    redisReply  *reply;

    reply = mailctl_redis_reply(ctl);
    if (reply == NULL) {
        return NULL;
    }

    if (mailctl_redis_reply_failed(ctl, reply)) {
        freeReplyObject(reply);
        return NULL;
    }

    return reply;
}


/* a field of HGETALL's reply, NULL if it has none */

const char *
mailctl_redis_field(redisReply *fields, const char *name)
{
    size_t  i;

    for (i = 0; i + 1 < fields->elements; i += 2) {
        if (fields->element[i]->type == REDIS_REPLY_STRING
            && fields->element[i + 1]->type == REDIS_REPLY_STRING
            && strcmp(fields->element[i]->str, name) == 0)
        {
            return fields->element[i + 1]->str;
        }
    }

    return NULL;
}
