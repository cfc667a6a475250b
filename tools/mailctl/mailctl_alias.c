
/*
 * mailctl alias add|del|list
 *
 * An alias is a set of targets, alias:{SOURCE}; "@DOMAIN" as SOURCE is
 * the domain's catch-all.  domain:{DOMAIN}:aliases lists the sources.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailctl.h"
#include "mailctl_validate.h"


typedef struct {
    const char         *source;
    const char         *domain;
    char              **targets;
    int                 ntargets;
} mailctl_alias_t;


static int mailctl_alias_args(mailctl_t *ctl, mailctl_alias_t *alias);
static int mailctl_alias_source(char *source);
static int mailctl_alias_add_attempt(mailctl_t *ctl, void *data);
static int mailctl_alias_add_check(mailctl_t *ctl, mailctl_alias_t *alias);
static int mailctl_alias_del_all(mailctl_t *ctl, mailctl_alias_t *alias);
static int mailctl_alias_del_attempt(mailctl_t *ctl, void *data);
static int mailctl_alias_queue(mailctl_t *ctl, const char *command,
    mailctl_alias_t *alias);
static int mailctl_alias_has(redisReply *targets, const char *target);
static void mailctl_alias_print(const char *source, redisReply *targets);


/* SOURCE [TARGET...], validated and lowercased in place */

static int
mailctl_alias_args(mailctl_t *ctl, mailctl_alias_t *alias)
{
    int  rc, i, j;

    rc = mailctl_alias_source(ctl->args[0]);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    alias->source = ctl->args[0];
    alias->domain = strrchr(alias->source, '@') + 1;
    alias->targets = ctl->args + 1;
    alias->ntargets = ctl->nargs - 1;

    for (i = 0; i < alias->ntargets; i++) {
        rc = mailctl_address_arg(alias->targets[i]);
        if (rc != MAILCTL_OK) {
            return rc;
        }

        for (j = 0; j < i; j++) {
            if (strcmp(alias->targets[i], alias->targets[j]) == 0) {
                mailctl_error("target \"%s\" is given twice",
                              alias->targets[i]);
                return MAILCTL_INVALID;
            }
        }
    }

    return MAILCTL_OK;
}


/* an address or "@domain" */

static int
mailctl_alias_source(char *source)
{
    size_t       len;
    const char  *reason;

    if (source[0] != '@') {
        return mailctl_address_arg(source);
    }

    len = strlen(source);

    reason = mailctl_validate_domain(source + 1, len - 1);
    if (reason != NULL) {
        mailctl_error("invalid catch-all \"%s\": %s", source, reason);
        return MAILCTL_INVALID;
    }

    mailctl_lowercase(source, len);

    return MAILCTL_OK;
}


int
mailctl_alias_add(mailctl_t *ctl)
{
    int              rc, i;
    mailctl_alias_t  alias;

    rc = mailctl_alias_args(ctl, &alias);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    /* a loop of one; longer loops are the resolver's to stop */

    for (i = 0; i < alias.ntargets; i++) {
        if (strcmp(alias.targets[i], alias.source) == 0) {
            mailctl_error("alias \"%s\" cannot point to itself",
                          alias.source);
            return MAILCTL_INVALID;
        }
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    return mailctl_redis_retry(ctl, mailctl_alias_add_attempt, &alias);
}


static int
mailctl_alias_add_attempt(mailctl_t *ctl, void *data)
{
    int               rc;
    char              user_key[MAILCTL_KEY_MAX], key[MAILCTL_KEY_MAX];
    char              aliases_key[MAILCTL_KEY_MAX];
    redisReply       *reply;
    mailctl_alias_t  *alias;

    alias = data;

    snprintf(user_key, sizeof(user_key), MAIL_KEY_USER_FMT, alias->source);
    snprintf(key, sizeof(key), MAIL_KEY_ALIAS_FMT, alias->source);
    snprintf(aliases_key, sizeof(aliases_key), MAIL_KEY_DOMAIN_ALIASES_FMT,
             alias->domain);

    reply = mailctl_redis_command(ctl, "WATCH %s %s %s", MAIL_KEY_DOMAINS,
                                  user_key, key);
    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    freeReplyObject(reply);

    rc = mailctl_alias_add_check(ctl, alias);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (mailctl_redis_multi(ctl) != MAILCTL_OK
        || mailctl_alias_queue(ctl, "SADD", alias) != MAILCTL_OK
        || mailctl_redis_queue(ctl, "SADD %s %s", aliases_key, alias->source)
           != MAILCTL_OK)
    {
        return MAILCTL_REDIS;
    }

    return mailctl_redis_exec(ctl, NULL);
}


static int
mailctl_alias_add_check(mailctl_t *ctl, mailctl_alias_t *alias)
{
    int          rc, i;
    char         key[MAILCTL_KEY_MAX];
    long long    exists;
    redisReply  *targets;

    rc = mailctl_domain_exists(ctl, alias->domain);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    /* the user would shadow the alias: it would never get mail */

    rc = mailctl_redis_integer(ctl, &exists, "EXISTS " MAIL_KEY_USER_FMT,
                               alias->source);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (exists) {
        mailctl_error("\"%s\" is a user; an alias cannot have the same "
                      "address", alias->source);
        return MAILCTL_INVALID;
    }

    snprintf(key, sizeof(key), MAIL_KEY_ALIAS_FMT, alias->source);

    if (mailctl_redis_members(ctl, &targets, key) != MAILCTL_OK) {
        return MAILCTL_REDIS;
    }

    rc = MAILCTL_OK;

    for (i = 0; i < alias->ntargets; i++) {
        if (mailctl_alias_has(targets, alias->targets[i])) {
            mailctl_error("alias \"%s\" already has target \"%s\"",
                          alias->source, alias->targets[i]);
            rc = MAILCTL_INVALID;
            break;
        }
    }

    freeReplyObject(targets);

    return rc;
}


int
mailctl_alias_del(mailctl_t *ctl)
{
    int              rc;
    mailctl_alias_t  alias;

    rc = mailctl_alias_args(ctl, &alias);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_redis_connect(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (alias.ntargets == 0) {
        return mailctl_alias_del_all(ctl, &alias);
    }

    return mailctl_redis_retry(ctl, mailctl_alias_del_attempt, &alias);
}


static int
mailctl_alias_del_all(mailctl_t *ctl, mailctl_alias_t *alias)
{
    int          rc;
    char         key[MAILCTL_KEY_MAX], aliases_key[MAILCTL_KEY_MAX];
    redisReply  *reply;

    snprintf(key, sizeof(key), MAIL_KEY_ALIAS_FMT, alias->source);
    snprintf(aliases_key, sizeof(aliases_key), MAIL_KEY_DOMAIN_ALIASES_FMT,
             alias->domain);

    /* as "user del": for an unknown alias at most a stale entry goes */

    if (mailctl_redis_multi(ctl) != MAILCTL_OK
        || mailctl_redis_queue(ctl, "DEL %s", key) != MAILCTL_OK
        || mailctl_redis_queue(ctl, "SREM %s %s", aliases_key, alias->source)
           != MAILCTL_OK
        || mailctl_redis_exec(ctl, &reply) != MAILCTL_OK)
    {
        return MAILCTL_REDIS;
    }

    rc = MAILCTL_OK;

    if (reply->element[0]->integer == 0) {
        mailctl_error("unknown alias \"%s\"", alias->source);
        rc = MAILCTL_INVALID;
    }

    freeReplyObject(reply);

    return rc;
}


static int
mailctl_alias_del_attempt(mailctl_t *ctl, void *data)
{
    int               rc, i;
    char              key[MAILCTL_KEY_MAX], aliases_key[MAILCTL_KEY_MAX];
    redisReply       *reply, *targets;
    mailctl_alias_t  *alias;

    alias = data;

    snprintf(key, sizeof(key), MAIL_KEY_ALIAS_FMT, alias->source);
    snprintf(aliases_key, sizeof(aliases_key), MAIL_KEY_DOMAIN_ALIASES_FMT,
             alias->domain);

    reply = mailctl_redis_command(ctl, "WATCH %s", key);
    if (reply == NULL) {
        return MAILCTL_REDIS;
    }

    freeReplyObject(reply);

    if (mailctl_redis_members(ctl, &targets, key) != MAILCTL_OK) {
        return MAILCTL_REDIS;
    }

    rc = MAILCTL_OK;

    if (targets->elements == 0) {
        mailctl_error("unknown alias \"%s\"", alias->source);
        rc = MAILCTL_INVALID;
    }

    for (i = 0; rc == MAILCTL_OK && i < alias->ntargets; i++) {
        if (!mailctl_alias_has(targets, alias->targets[i])) {
            mailctl_error("alias \"%s\" has no target \"%s\"",
                          alias->source, alias->targets[i]);
            rc = MAILCTL_INVALID;
        }
    }

    if (rc == MAILCTL_OK) {
        rc = mailctl_redis_multi(ctl);

        if (rc == MAILCTL_OK) {
            rc = mailctl_alias_queue(ctl, "SREM", alias);
        }

        /* the targets were distinct members: none is left, nor the set */

        if (rc == MAILCTL_OK && (size_t) alias->ntargets == targets->elements)
        {
            rc = mailctl_redis_queue(ctl, "SREM %s %s", aliases_key,
                                     alias->source);
        }

        if (rc == MAILCTL_OK) {
            rc = mailctl_redis_exec(ctl, NULL);
        }
    }

    freeReplyObject(targets);

    return rc;
}


/* SADD or SREM alias:{SOURCE} TARGET... */

static int
mailctl_alias_queue(mailctl_t *ctl, const char *command,
    mailctl_alias_t *alias)
{
    int           rc, i;
    char          key[MAILCTL_KEY_MAX];
    const char  **argv;

    argv = malloc((alias->ntargets + 2) * sizeof(char *));
    if (argv == NULL) {
        mailctl_error("out of memory");
        return MAILCTL_SYSTEM;
    }

    snprintf(key, sizeof(key), MAIL_KEY_ALIAS_FMT, alias->source);

    argv[0] = command;
    argv[1] = key;

    for (i = 0; i < alias->ntargets; i++) {
        argv[i + 2] = alias->targets[i];
    }

    rc = mailctl_redis_queue_argv(ctl, alias->ntargets + 2, argv);

    free(argv);

    return rc;
}


static int
mailctl_alias_has(redisReply *targets, const char *target)
{
    size_t  i;

    for (i = 0; i < targets->elements; i++) {
        if (strcmp(targets->element[i]->str, target) == 0) {
            return 1;
        }
    }

    return 0;
}


int
mailctl_alias_list(mailctl_t *ctl)
{
    int             rc;
    char           *domain;
    size_t          i;
    redisReply    **targets;
    mailctl_list_t  sources;

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

    rc = mailctl_domain_collect(ctl, domain, MAIL_KEY_DOMAIN_ALIASES_FMT,
                                &sources);
    if (rc != MAILCTL_OK) {
        mailctl_list_free(&sources);
        return rc;
    }

    targets = malloc((sources.n + 1) * sizeof(redisReply *));

    if (targets == NULL) {
        mailctl_error("out of memory");
        rc = MAILCTL_SYSTEM;

    } else {
        rc = mailctl_redis_members_each(ctl, MAIL_KEY_ALIAS_FMT,
                                        sources.names, sources.n, targets);
    }

    if (rc == MAILCTL_OK) {
        for (i = 0; i < sources.n; i++) {
            mailctl_alias_print(sources.names[i], targets[i]);
            freeReplyObject(targets[i]);
        }
    }

    free(targets);
    mailctl_list_free(&sources);

    return rc;
}


/* "source -> target, target" */

static void
mailctl_alias_print(const char *source, redisReply *targets)
{
    size_t  i;

    /* a source whose set is gone is a stale index entry, not an alias */

    if (targets->elements == 0) {
        return;
    }

    printf("%s -> ", source);

    for (i = 0; i < targets->elements; i++) {
        printf("%s%s", i ? ", " : "", targets->element[i]->str);
    }

    printf("\n");
}
