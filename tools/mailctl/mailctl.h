
/*
 * mailctl: the admin CLI of nginx-mailserver.  It edits the account and
 * queue keys described in docs/redis-keys.md; the names come from
 * mail_keys.h.
 */


#ifndef _MAILCTL_H_INCLUDED_
#define _MAILCTL_H_INCLUDED_


#include <stddef.h>

#include <hiredis/hiredis.h>

#include <mail_keys.h>


/* exit codes, documented in docs/mailctl.md */
#define MAILCTL_OK              0
#define MAILCTL_USAGE           1
#define MAILCTL_INVALID         2   /* bad input, not found, duplicate */
#define MAILCTL_REDIS           3
#define MAILCTL_SYSTEM          4   /* terminal, memory, randomness */

/* not an exit code: a WATCHed key changed before EXEC, try again */
#define MAILCTL_AGAIN           -1

/* "user:{" address "}:authfail" and the like */
#define MAILCTL_KEY_MAX         (MAIL_ADDR_MAX + 32)

#define MAILCTL_HOST_MAX        256
#define MAILCTL_SECRET_MAX      512

/* command line options, as bits of mailctl_t.options */
#define MAILCTL_OPT_HELP        0x01
#define MAILCTL_OPT_SERVER      0x02
#define MAILCTL_OPT_DB          0x04
#define MAILCTL_OPT_QUOTA       0x08
#define MAILCTL_OPT_SCHEME      0x10
#define MAILCTL_OPT_DISABLED    0x20
#define MAILCTL_OPT_FORCE       0x40
#define MAILCTL_OPT_CLEAR       0x80
#define MAILCTL_OPT_ALL         0x100
#define MAILCTL_OPT_SPAM        0x200
#define MAILCTL_OPT_HAM         0x400
#define MAILCTL_OPT_USER        0x800
#define MAILCTL_OPT_MBOX        0x1000
#define MAILCTL_OPT_FOLDER      0x2000
#define MAILCTL_OPT_DAYS        0x4000
#define MAILCTL_OPT_MAX_COUNT   0x8000

/* accepted by every command */
#define MAILCTL_OPT_GLOBAL                                                    \
    (MAILCTL_OPT_HELP|MAILCTL_OPT_SERVER|MAILCTL_OPT_DB)


typedef struct {
    char                host[MAILCTL_HOST_MAX];   /* empty with a socket */
    int                 port;
    char                path[MAILCTL_HOST_MAX];   /* unix socket */
    long                db;
    char                user[MAILCTL_SECRET_MAX];
    char                password[MAILCTL_SECRET_MAX];
} mailctl_server_t;


/* a password hashing scheme that mailctl writes */
typedef struct {
    const char         *name;         /* "yescrypt" */
    const char         *prefix;       /* "$y$" */
    unsigned long       cost;         /* for crypt_gensalt_rn() */
    size_t              password_max; /* longer ones are cut by crypt */
} mailctl_scheme_t;


typedef struct {
    /* the command line */
    const char         *command;      /* "user add", for messages */
    char              **args;         /* arguments after the command */
    int                 nargs;
    unsigned            options;      /* MAILCTL_OPT_* given */
    const char         *server_arg;
    const char         *db_arg;
    const char         *quota_arg;
    const char         *scheme_arg;
    const char         *user_arg;     /* spam: the scope */
    const char         *mbox_arg;
    const char         *folder_arg;
    const char         *days_arg;     /* spam expire */
    const char         *max_count_arg;

    mailctl_server_t    server;
    redisContext       *redis;
    unsigned            queued;       /* commands queued after MULTI */
} mailctl_t;


/* a secret read like a password: its name in messages, its prompts */
typedef struct {
    const char         *name;         /* "password" */
    const char         *prompt;       /* "Password: " */
    const char         *retype;       /* "Retype password: " */
} mailctl_secret_t;


/*
 * The EVAL that deletes a user with all its mail, for "user del" and,
 * queued once per user, "domain del --force".
 */
#define MAILCTL_USER_DEL_ARGC   7

typedef struct {
    char                key[MAILCTL_KEY_MAX];
    char                authfail_key[MAILCTL_KEY_MAX];
    char                users_key[MAILCTL_KEY_MAX];
    const char         *argv[MAILCTL_USER_DEL_ARGC];
} mailctl_user_del_t;


/* the members of a set per domain, merged and sorted */
typedef struct {
    redisReply        **replies;
    size_t              nreplies;
    char              **names;
    size_t              n;
} mailctl_list_t;


void mailctl_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* mailctl_redis.c */
int mailctl_redis_configure(mailctl_t *ctl);
int mailctl_redis_connect(mailctl_t *ctl);
void mailctl_redis_close(mailctl_t *ctl);
redisReply *mailctl_redis_command(mailctl_t *ctl, const char *fmt, ...);
redisReply *mailctl_redis_command_argv(mailctl_t *ctl, int argc,
    const char **argv);
int mailctl_redis_integer(mailctl_t *ctl, long long *value,
    const char *fmt, ...);
int mailctl_redis_members(mailctl_t *ctl, redisReply **reply,
    const char *key);
int mailctl_redis_members_each(mailctl_t *ctl, const char *key_fmt,
    char **names, size_t n, redisReply **replies);
int mailctl_redis_multi(mailctl_t *ctl);
int mailctl_redis_queue(mailctl_t *ctl, const char *fmt, ...);
int mailctl_redis_queue_argv(mailctl_t *ctl, int argc, const char **argv);
int mailctl_redis_exec(mailctl_t *ctl, redisReply **reply);
int mailctl_redis_retry(mailctl_t *ctl, int (*attempt)(mailctl_t *ctl,
    void *data), void *data);
int mailctl_redis_append(mailctl_t *ctl, const char *fmt, ...);
int mailctl_redis_append_argv(mailctl_t *ctl, int argc, const char **argv);
redisReply *mailctl_redis_next(mailctl_t *ctl);
int mailctl_redis_check_array(redisReply *reply);
const char *mailctl_redis_field(redisReply *fields, const char *name);
void mailctl_sort_strings(char **strings, size_t n);

/* mailctl_password.c */
const mailctl_scheme_t *mailctl_password_scheme(const char *name);
const char *mailctl_password_scheme_name(const char *hash);
int mailctl_password_new(const mailctl_scheme_t *scheme, char *hash,
    size_t size);
int mailctl_password_verify(const char *password, const char *hash,
    int *match);
int mailctl_secret_read(const mailctl_secret_t *secret, char *value,
    size_t size);

/* mailctl_domain.c */
int mailctl_domain_add(mailctl_t *ctl);
int mailctl_domain_del(mailctl_t *ctl);
int mailctl_domain_list(mailctl_t *ctl);
int mailctl_domain_arg(char *domain);
int mailctl_domain_exists(mailctl_t *ctl, const char *domain);
int mailctl_domain_collect(mailctl_t *ctl, const char *domain,
    const char *key_fmt, mailctl_list_t *list);
void mailctl_list_free(mailctl_list_t *list);

/* mailctl_user.c */
int mailctl_user_add(mailctl_t *ctl);
int mailctl_user_del(mailctl_t *ctl);
int mailctl_user_passwd(mailctl_t *ctl);
int mailctl_user_apop(mailctl_t *ctl);
int mailctl_user_list(mailctl_t *ctl);
int mailctl_user_show(mailctl_t *ctl);
int mailctl_user_quota(mailctl_t *ctl);
int mailctl_user_enable(mailctl_t *ctl);
int mailctl_user_disable(mailctl_t *ctl);
int mailctl_address_arg(char *addr);
void mailctl_user_del_init(mailctl_user_del_t *del, const char *addr);

/* mailctl_alias.c */
int mailctl_alias_add(mailctl_t *ctl);
int mailctl_alias_del(mailctl_t *ctl);
int mailctl_alias_list(mailctl_t *ctl);

/* mailctl_queue.c */
int mailctl_queue_list(mailctl_t *ctl);
int mailctl_queue_show(mailctl_t *ctl);
int mailctl_queue_flush(mailctl_t *ctl);
int mailctl_queue_retry(mailctl_t *ctl);
int mailctl_queue_delete(mailctl_t *ctl);

/* mailctl_spam.c */
int mailctl_spam_learn(mailctl_t *ctl);
int mailctl_spam_stats(mailctl_t *ctl);
int mailctl_spam_expire(mailctl_t *ctl);


#endif /* _MAILCTL_H_INCLUDED_ */
