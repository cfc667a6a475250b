
/*
 * mailctl domain add|del|list
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailctl.h"
#include "mailctl_validate.h"


typedef struct {
    const char         *domain;
    int                 force;
} mailctl_domain_del_t;


static int mailctl_domain_del_attempt(mailctl_t *ctl, void *data);
static int mailctl_domain_del_queue(mailctl_t *ctl, const char *domain,
    redisReply *users, redisReply *aliases);


/* validates and lowercases a DOMAIN argument in place */

int
mailctl_domain_arg(char *domain)
{
    size_t       len;
    const char  *reason;

    len = strlen(domain);

    reason = mailctl_validate_domain(domain, len);
    if (reason != NULL) {
        mailctl_error("invalid domain \"%s\": %s", domain, reason);
        return MAILCTL_INVALID;
    }

    mailctl_lowercase(domain, len);

    return MAILCTL_OK;
}


int
mailctl_domain_exists(mailctl_t *ctl, const char *domain)
{
    int        rc;
    long long  member;

    rc = mailctl_redis_integer(ctl, &member, "SISMEMBER %s %s",
                               MAIL_KEY_DOMAINS, domain);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (!member) {
        mailctl_error("unknown domain \"%s\"", domain);
        return MAILCTL_INVALID;
    }

    return MAILCTL_OK;
}


int
mailctl_domain_add(mailctl_t *ctl)
{
    int          rc;
    char         key[MAILCTL_KEY_MAX];
    char        *domain;
    redisReply  *reply;

    domain = ctl->args[0];

    rc = mailctl_domain_arg(domain);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    snprintf(key, sizeof(key), MAIL_KEY_DOMAIN_FMT, domain);

    /*
     * SADD tells whether the domain is new; HSETNX keeps the "created" of
     * an existing domain, so no WATCH is needed.
     */

    if (mailctl_redis_multi(ctl) != MAILCTL_OK
        || mailctl_redis_queue(ctl, "SADD %s %s", MAIL_KEY_DOMAINS, domain)
           != MAILCTL_OK
        || mailctl_redis_queue(ctl, "HSETNX %s %s %lld", key,
                               MAIL_FIELD_CREATED, (long long) time(NULL))
           != MAILCTL_OK
        || mailctl_redis_exec(ctl, &reply) != MAILCTL_OK)
    {
        return MAILCTL_REDIS;
    }

    rc = MAILCTL_OK;

    if (reply->element[0]->integer == 0) {
        mailctl_error("domain \"%s\" already exists", domain);
        rc = MAILCTL_INVALID;
    }

    freeReplyObject(reply);

    return rc;
}


int
mailctl_domain_del(mailctl_t *ctl)
{
    int                   rc;
    mailctl_domain_del_t  del;

    del.domain = ctl->args[0];
    del.force = (ctl->options & MAILCTL_OPT_FORCE) != 0;

    rc = mailctl_domain_arg(ctl->args[0]);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    return mailctl_redis_retry(ctl, mailctl_domain_del_attempt, &del);
}


static int
mailctl_domain_del_attempt(mailctl_t *ctl, void *data)
{
    int                    rc;
    char                   users_key[MAILCTL_KEY_MAX];
    char                   aliases_key[MAILCTL_KEY_MAX];
    redisReply            *reply, *users, *aliases;
    mailctl_domain_del_t  *del;

    del = data;

    snprintf(users_key, sizeof(users_key), MAIL_KEY_DOMAIN_USERS_FMT,
             del->domain);
    snprintf(aliases_key, sizeof(aliases_key), MAIL_KEY_DOMAIN_ALIASES_FMT,
             del->domain);

    /* a user or alias added meanwhile must not be left without domain */

    reply = mailctl_redis_command(ctl, "WATCH %s %s %s", MAIL_KEY_DOMAINS,
                                  users_key, aliases_key);
    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    freeReplyObject(reply);

    rc = mailctl_domain_exists(ctl, del->domain);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (mailctl_redis_members(ctl, &users, users_key) != MAILCTL_OK) {
        return MAILCTL_REDIS;
    }

    if (mailctl_redis_members(ctl, &aliases, aliases_key) != MAILCTL_OK) {
        freeReplyObject(users);
        return MAILCTL_REDIS;
    }

    if (!del->force && (users->elements > 0 || aliases->elements > 0)) {
        mailctl_error("domain \"%s\" still has %zu user%s and %zu alias%s; "
                      "--force deletes them too", del->domain,
                      users->elements, users->elements == 1 ? "" : "s",
                      aliases->elements, aliases->elements == 1 ? "" : "es");
        rc = MAILCTL_INVALID;

    } else {
        rc = mailctl_domain_del_queue(ctl, del->domain, users, aliases);

        if (rc == MAILCTL_OK) {
            rc = mailctl_redis_exec(ctl, NULL);
        }
    }

    freeReplyObject(users);
    freeReplyObject(aliases);

    return rc;
}


/*
 * Each user goes with its mail by the script of "user del", queued in
 * the transaction: nothing of the domain is deleted unless all is.
 */

static int
mailctl_domain_del_queue(mailctl_t *ctl, const char *domain,
    redisReply *users, redisReply *aliases)
{
    char                key[MAILCTL_KEY_MAX];
    char                users_key[MAILCTL_KEY_MAX];
    char                aliases_key[MAILCTL_KEY_MAX];
    size_t              i;
    mailctl_user_del_t  del;

    if (mailctl_redis_multi(ctl) != MAILCTL_OK) {
        return MAILCTL_REDIS;
    }

    for (i = 0; i < users->elements; i++) {
        mailctl_user_del_init(&del, users->element[i]->str);

        if (mailctl_redis_queue_argv(ctl, MAILCTL_USER_DEL_ARGC, del.argv)
            != MAILCTL_OK)
        {
            return MAILCTL_REDIS;
        }
    }

    for (i = 0; i < aliases->elements; i++) {
        snprintf(key, sizeof(key), MAIL_KEY_ALIAS_FMT,
                 aliases->element[i]->str);

        if (mailctl_redis_queue(ctl, "DEL %s", key) != MAILCTL_OK) {
            return MAILCTL_REDIS;
        }
    }

    snprintf(key, sizeof(key), MAIL_KEY_DOMAIN_FMT, domain);
    snprintf(users_key, sizeof(users_key), MAIL_KEY_DOMAIN_USERS_FMT,
             domain);
    snprintf(aliases_key, sizeof(aliases_key), MAIL_KEY_DOMAIN_ALIASES_FMT,
             domain);

    if (mailctl_redis_queue(ctl, "DEL %s %s %s", key, users_key, aliases_key)
        != MAILCTL_OK
        || mailctl_redis_queue(ctl, "SREM %s %s", MAIL_KEY_DOMAINS, domain)
           != MAILCTL_OK)
    {
        return MAILCTL_REDIS;
    }

    return MAILCTL_OK;
}


int
mailctl_domain_list(mailctl_t *ctl)
{
    int          rc;
    size_t       i;
    redisReply  *domains;

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (mailctl_redis_members(ctl, &domains, MAIL_KEY_DOMAINS) != MAILCTL_OK) {
        return MAILCTL_REDIS;
    }

    for (i = 0; i < domains->elements; i++) {
        printf("%s\n", domains->element[i]->str);
    }

    freeReplyObject(domains);

    return MAILCTL_OK;
}


/*
 * The members of the set key_fmt names for DOMAIN, or for every domain
 * when domain is NULL, in one sorted list: "user list", "alias list".
 */

int
mailctl_domain_collect(mailctl_t *ctl, const char *domain,
    const char *key_fmt, mailctl_list_t *list)
{
    int          rc;
    char        *one[1];
    char       **names;
    size_t       i, j, n;
    redisReply  *domains;

    memset(list, 0, sizeof(mailctl_list_t));

    domains = NULL;

    if (domain != NULL) {
        rc = mailctl_domain_exists(ctl, domain);
        if (rc != MAILCTL_OK) {
            return rc;
        }

        one[0] = (char *) domain;
        names = one;
        n = 1;

    } else {
        if (mailctl_redis_members(ctl, &domains, MAIL_KEY_DOMAINS)
            != MAILCTL_OK)
        {
            return MAILCTL_REDIS;
        }

        n = domains->elements;
        names = malloc((n + 1) * sizeof(char *));

        if (names == NULL) {
            freeReplyObject(domains);
            mailctl_error("out of memory");
            return MAILCTL_SYSTEM;
        }

        for (i = 0; i < n; i++) {
            names[i] = domains->element[i]->str;
        }
    }

    rc = MAILCTL_SYSTEM;

    list->replies = malloc((n + 1) * sizeof(redisReply *));
    if (list->replies == NULL) {
        mailctl_error("out of memory");
        goto done;
    }

    rc = mailctl_redis_members_each(ctl, key_fmt, names, n, list->replies);
    if (rc != MAILCTL_OK) {
        goto done;
    }

    list->nreplies = n;

    for (i = 0; i < n; i++) {
        list->n += list->replies[i]->elements;
    }

    list->names = malloc((list->n + 1) * sizeof(char *));
    if (list->names == NULL) {
        mailctl_error("out of memory");
        rc = MAILCTL_SYSTEM;
        goto done;
    }

    list->n = 0;

    for (i = 0; i < n; i++) {
        for (j = 0; j < list->replies[i]->elements; j++) {
            list->names[list->n++] = list->replies[i]->element[j]->str;
        }
    }

    mailctl_sort_strings(list->names, list->n);

done:

    if (domains != NULL) {
        free(names);
        freeReplyObject(domains);
    }

    return rc;
}


void
mailctl_list_free(mailctl_list_t *list)
{
    size_t  i;

    for (i = 0; i < list->nreplies; i++) {
        freeReplyObject(list->replies[i]);
    }

    free(list->replies);
    free(list->names);
}
