
/*
 * mailctl: command line, help and dispatch.
 *
 *     mailctl [-s HOST:PORT | -s unix:PATH] [-n DB] GROUP COMMAND [ARGS]
 *
 * Options may stand anywhere on the line; "--" ends them.  A password or
 * an APOP secret is never an argument: argv is visible to every local
 * user in ps(1).
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mailctl.h"


typedef struct {
    const char         *name;       /* "add" */
    const char         *synopsis;   /* "ADDRESS [--quota SIZE]" */
    const char         *summary;    /* one line for the command list */
    const char         *help;       /* the rest of "COMMAND --help" */
    int                 min_args;
    int                 max_args;   /* -1: no limit */
    unsigned            options;    /* MAILCTL_OPT_* beyond the global */
    int               (*handler)(mailctl_t *ctl);
} mailctl_command_t;


typedef struct {
    const char         *name;       /* "user" */
    mailctl_command_t  *commands;
} mailctl_group_t;


typedef struct {
    const char         *name;       /* "--quota" */
    char                short_name;
    unsigned            option;     /* MAILCTL_OPT_* */
    size_t              value;      /* offsetof the value in mailctl_t */
} mailctl_option_t;


#define MAILCTL_NO_VALUE  ((size_t) -1)


static int mailctl_parse(mailctl_t *ctl, int argc, char **argv);
static int mailctl_parse_option(mailctl_t *ctl, int argc, char **argv,
    int *i);
static int mailctl_dispatch(mailctl_t *ctl);
static int mailctl_run(mailctl_t *ctl, mailctl_group_t *group,
    mailctl_command_t *cmd);
static void mailctl_usage(FILE *out);
static void mailctl_group_usage(FILE *out, mailctl_group_t *group);
static void mailctl_command_usage(FILE *out, mailctl_group_t *group,
    mailctl_command_t *cmd);


#define MAILCTL_SIZE_HELP                                                     \
    "SIZE is a number of bytes, or of KiB, MiB or GiB with the suffix\n"    \
    "K, M or G: 512M, 2G.  0 means unlimited.\n"

#define MAILCTL_PASSWORD_HELP                                                 \
    "The password is asked twice on the terminal, without echo; when\n"     \
    "standard input is not a terminal, its first line is the password.\n"   \
    "It is never taken from the command line.\n"

#define MAILCTL_APOP_HELP                                                     \
    "The secret is asked twice on the terminal, without echo; when\n"       \
    "standard input is not a terminal, its first line is the secret.\n"     \
    "It is never taken from the command line.\n"

#define MAILCTL_SCHEME_HELP                                                   \
    "SCHEME is yescrypt (the default), bcrypt or sha512-crypt.\n"


static mailctl_command_t  mailctl_domain_commands[] = {

    { "add", "DOMAIN",
      "add a local domain",
      "Adds DOMAIN to the local domains.  It is stored in lower case; an\n"
      "internationalized domain is given in its ASCII (xn--) form.\n",
      1, 1, 0, mailctl_domain_add },

    { "del", "DOMAIN [--force]",
      "delete a domain",
      "Deletes DOMAIN.  A domain that still has users or aliases is only\n"
      "deleted with --force, which deletes its users, with all their\n"
      "mail, and its aliases too.\n",
      1, 1, MAILCTL_OPT_FORCE, mailctl_domain_del },

    { "list", "",
      "list the local domains",
      "Prints the local domains, sorted, one per line.\n",
      0, 0, 0, mailctl_domain_list },

    { NULL, NULL, NULL, NULL, 0, 0, 0, NULL }
};


static mailctl_command_t  mailctl_user_commands[] = {

    { "add", "ADDRESS [--quota SIZE] [--scheme SCHEME] [--disabled]",
      "add a user",
      "Adds the user ADDRESS, enabled unless --disabled is given.  The\n"
      "domain must have been added; ADDRESS must not be a user or an\n"
      "alias yet.\n\n"
      MAILCTL_PASSWORD_HELP "\n" MAILCTL_SIZE_HELP "\n"
      MAILCTL_SCHEME_HELP,
      1, 1, MAILCTL_OPT_QUOTA|MAILCTL_OPT_SCHEME|MAILCTL_OPT_DISABLED,
      mailctl_user_add },

    { "del", "ADDRESS",
      "delete a user",
      "Deletes the user ADDRESS with all its mail: its mailboxes and\n"
      "messages (a message's content is kept while another mailbox or\n"
      "the outbound queue still refers to it), its failed-login counter,\n"
      "its POP3 lock and what its spam filter learnt.  Aliases that\n"
      "point to ADDRESS are kept.\n",
      1, 1, 0, mailctl_user_del },

    { "passwd", "ADDRESS [--scheme SCHEME]",
      "set a user's password",
      "Sets the password of ADDRESS and clears its failed-login counter.\n"
      "\n" MAILCTL_PASSWORD_HELP "\n" MAILCTL_SCHEME_HELP,
      1, 1, MAILCTL_OPT_SCHEME, mailctl_user_passwd },

    { "apop", "ADDRESS [--clear]",
      "set or clear a user's APOP secret",
      "Sets the secret that ADDRESS logs in with by POP3 APOP (RFC 1939\n"
      "7) and clears the user's failed-login counter; --clear removes\n"
      "the secret instead.  APOP needs the secret itself, not a hash of\n"
      "it, so the secret is stored IN CLEAR in Redis: anyone who can read\n"
      "the database can read it.  The user's password is refused as the\n"
      "secret.\n\n"
      MAILCTL_APOP_HELP,
      1, 1, MAILCTL_OPT_CLEAR, mailctl_user_apop },

    { "list", "[DOMAIN]",
      "list users",
      "Prints the addresses of the users of DOMAIN, or of all domains,\n"
      "sorted, one per line.\n",
      0, 1, 0, mailctl_user_list },

    { "show", "ADDRESS",
      "show a user",
      "Prints the address, whether the user is enabled, the quota in\n"
      "bytes, the password scheme (never the hash), whether an APOP\n"
      "secret is set (never the secret) and the time the user was added\n"
      "(UTC), one \"name: value\" per line.\n",
      1, 1, 0, mailctl_user_show },

    { "quota", "ADDRESS SIZE",
      "set a user's quota",
      "Sets the quota of ADDRESS.\n\n" MAILCTL_SIZE_HELP,
      2, 2, 0, mailctl_user_quota },

    { "enable", "ADDRESS",
      "allow a user to log in",
      "Enables the user ADDRESS.\n",
      1, 1, 0, mailctl_user_enable },

    { "disable", "ADDRESS",
      "stop a user from logging in",
      "Disables the user ADDRESS.  The account and its mail are kept.\n",
      1, 1, 0, mailctl_user_disable },

    { NULL, NULL, NULL, NULL, 0, 0, 0, NULL }
};


static mailctl_command_t  mailctl_alias_commands[] = {

    { "add", "SOURCE TARGET...",
      "add an alias, or targets to an alias",
      "Mail to SOURCE goes to every TARGET.  SOURCE is an address of a\n"
      "local domain that is not a user, or @DOMAIN for the catch-all of\n"
      "DOMAIN, which gets the mail to addresses that are neither users\n"
      "nor aliases.  A TARGET may be in any domain.  If SOURCE is an\n"
      "alias already, the targets are added to it.\n",
      2, -1, 0, mailctl_alias_add },

    { "del", "SOURCE [TARGET...]",
      "delete an alias, or targets of an alias",
      "Deletes the given targets of SOURCE, or the whole alias when no\n"
      "TARGET is given.  An alias left without targets is deleted.\n",
      1, -1, 0, mailctl_alias_del },

    { "list", "[DOMAIN]",
      "list aliases",
      "Prints the aliases of DOMAIN, or of all domains, sorted, one per\n"
      "line: \"source -> target, target\".\n",
      0, 1, 0, mailctl_alias_list },

    { NULL, NULL, NULL, NULL, 0, 0, 0, NULL }
};


static mailctl_command_t  mailctl_queue_commands[] = {

    { "list", "",
      "list the outbound queue",
      "Prints a header, then one line per queued message, oldest first:\n"
      "its id, creation time (UTC), size in bytes, recipients still to\n"
      "be delivered out of all (PENDING), state (\"active\": being or\n"
      "about to be delivered, or \"deferred until\" the next attempt),\n"
      "sender (<> for a bounce) and, in brackets, the start of the last\n"
      "temporary error; then \"N messages\".\n",
      0, 0, 0, mailctl_queue_list },

    { "show", "ID",
      "show a queued message",
      "Prints the envelope of the message ID, one \"name: value\" per\n"
      "line, then each recipient with its state (queued, sent, failed or\n"
      "deferred), and, once tried, the time, SMTP reply code, enhanced\n"
      "status code, the host that answered and its reply.\n",
      1, 1, 0, mailctl_queue_show },

    { "flush", "",
      "make every deferred message due now",
      "Hands every deferred message to the delivery workers at once,\n"
      "without waiting for its next attempt time, and prints how many.\n",
      0, 0, 0, mailctl_queue_flush },

    { "retry", "ID...",
      "make deferred messages due now",
      "Does what flush does for the given messages only.  A message that\n"
      "is not deferred (being delivered already) is skipped.\n",
      1, -1, 0, mailctl_queue_retry },

    { "delete", "ID...|--all",
      "delete queued messages",
      "Deletes the given messages, or with --all every queued message,\n"
      "from the queue, with no bounce to the sender.  Their content is\n"
      "kept while a mailbox still refers to it.  A delivery under way\n"
      "may still complete for the recipient it is talking to.\n",
      0, -1, MAILCTL_OPT_ALL, mailctl_queue_delete },

    { NULL, NULL, NULL, NULL, 0, 0, 0, NULL }
};


static mailctl_command_t  mailctl_spam_commands[] = {

    { "learn", "--spam|--ham [--user ADDRESS] [--mbox FILE] "
      "[--folder ADDRESS:MAILBOX] [FILE...]",
      "teach the spam filter messages",
      "Learns messages as spam or as ham: each FILE is one message (\"-\"\n"
      "reads it from standard input), --mbox FILE every message of an\n"
      "mbox, --folder every message of a user's mailbox (\"INBOX\",\n"
      "\"Junk\").  The counts learnt are the user's with --user, else the\n"
      "global ones that every user without enough of his own is judged\n"
      "by.  A message learnt again as the same class changes nothing;\n"
      "learnt as the other class, its counts move.  Prints how many\n"
      "messages were learnt, moved and already learnt.\n",
      0, -1, MAILCTL_OPT_SPAM|MAILCTL_OPT_HAM|MAILCTL_OPT_USER
             |MAILCTL_OPT_MBOX|MAILCTL_OPT_FOLDER, mailctl_spam_learn },

    { "stats", "[--user ADDRESS]",
      "show what the spam filter has learnt",
      "Prints the scope (\"global\" or ADDRESS), the spams and hams\n"
      "learnt (nspam, nham), the tokens seen in each (spam_tokens,\n"
      "ham_tokens) and the messages remembered as learnt, one\n"
      "\"name: value\" per line.\n",
      0, 0, MAILCTL_OPT_USER, mailctl_spam_stats },

    { "expire", "[--user ADDRESS|--all] [--days N] [--max-count N]",
      "forget rare tokens and messages learnt long ago",
      "Forgets the tokens that were last learnt more than N days ago\n"
      "(default 90) and were seen in at most --max-count learnt messages\n"
      "(default 1): most tokens of a message are never seen again, and\n"
      "without expiry the counts grow with every message learnt.  Also\n"
      "forgets the digests of the messages last learnt more than N days\n"
      "ago: such a message, learnt again, counts again.  The global\n"
      "counts, a user's with --user, every scope with --all.  Tokens and\n"
      "digests learnt before they were dated get today's date at the\n"
      "first run.  Redis serves others while it runs.  Run it daily,\n"
      "e.g. from cron.  Prints the tokens and digests kept and forgotten.\n",
      0, 0, MAILCTL_OPT_USER|MAILCTL_OPT_ALL|MAILCTL_OPT_DAYS
            |MAILCTL_OPT_MAX_COUNT, mailctl_spam_expire },

    { NULL, NULL, NULL, NULL, 0, 0, 0, NULL }
};


static mailctl_group_t  mailctl_groups[] = {
    { "domain", mailctl_domain_commands },
    { "user", mailctl_user_commands },
    { "alias", mailctl_alias_commands },
    { "queue", mailctl_queue_commands },
    { "spam", mailctl_spam_commands },
    { NULL, NULL }
};


static mailctl_option_t  mailctl_options[] = {
    { "--help", 'h', MAILCTL_OPT_HELP, MAILCTL_NO_VALUE },
    { "--server", 's', MAILCTL_OPT_SERVER, offsetof(mailctl_t, server_arg) },
    { "--db", 'n', MAILCTL_OPT_DB, offsetof(mailctl_t, db_arg) },
    { "--quota", 0, MAILCTL_OPT_QUOTA, offsetof(mailctl_t, quota_arg) },
    { "--scheme", 0, MAILCTL_OPT_SCHEME, offsetof(mailctl_t, scheme_arg) },
    { "--disabled", 0, MAILCTL_OPT_DISABLED, MAILCTL_NO_VALUE },
    { "--force", 0, MAILCTL_OPT_FORCE, MAILCTL_NO_VALUE },
    { "--clear", 0, MAILCTL_OPT_CLEAR, MAILCTL_NO_VALUE },
    { "--all", 0, MAILCTL_OPT_ALL, MAILCTL_NO_VALUE },
    { "--spam", 0, MAILCTL_OPT_SPAM, MAILCTL_NO_VALUE },
    { "--ham", 0, MAILCTL_OPT_HAM, MAILCTL_NO_VALUE },
    { "--user", 0, MAILCTL_OPT_USER, offsetof(mailctl_t, user_arg) },
    { "--mbox", 0, MAILCTL_OPT_MBOX, offsetof(mailctl_t, mbox_arg) },
    { "--folder", 0, MAILCTL_OPT_FOLDER, offsetof(mailctl_t, folder_arg) },
    { "--days", 0, MAILCTL_OPT_DAYS, offsetof(mailctl_t, days_arg) },
    { "--max-count", 0, MAILCTL_OPT_MAX_COUNT,
      offsetof(mailctl_t, max_count_arg) },
    { NULL, 0, 0, 0 }
};


int
main(int argc, char **argv)
{
    int        rc;
    mailctl_t  ctl;

    memset(&ctl, 0, sizeof(mailctl_t));

    rc = mailctl_parse(&ctl, argc, argv);

    if (rc == MAILCTL_OK) {
        rc = mailctl_dispatch(&ctl);
    }

    mailctl_redis_close(&ctl);

    return rc;
}


void
mailctl_error(const char *fmt, ...)
{
    va_list  args;

    fputs("mailctl: ", stderr);

    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);

    fputc('\n', stderr);
}


/*
 * Splits argv into options and arguments; the arguments are moved to the
 * front of argv, where ctl->args points.
 */

static int
mailctl_parse(mailctl_t *ctl, int argc, char **argv)
{
    int    i, rc, options_end;
    char  *arg;

    ctl->args = argv + 1;
    ctl->nargs = 0;
    options_end = 0;

    for (i = 1; i < argc; i++) {
        arg = argv[i];

        if (options_end || arg[0] != '-' || arg[1] == '\0') {
            ctl->args[ctl->nargs++] = arg;
            continue;
        }

        if (strcmp(arg, "--") == 0) {
            options_end = 1;
            continue;
        }

        rc = mailctl_parse_option(ctl, argc, argv, &i);
        if (rc != MAILCTL_OK) {
            return rc;
        }
    }

    return MAILCTL_OK;
}


/* "--quota 1G", "--quota=1G", "-s host:port", "-shost:port" */

static int
mailctl_parse_option(mailctl_t *ctl, int argc, char **argv, int *i)
{
    char              *arg, *value;
    size_t             len;
    mailctl_option_t  *opt;

    arg = argv[*i];
    value = NULL;

    for (opt = mailctl_options; opt->name != NULL; opt++) {

        if (arg[1] == '-') {
            len = strlen(opt->name);

            if (strncmp(arg, opt->name, len) != 0) {
                continue;
            }

            if (arg[len] == '=' && opt->value != MAILCTL_NO_VALUE) {
                value = arg + len + 1;

            } else if (arg[len] != '\0') {
                continue;
            }

        } else {
            if (arg[1] != opt->short_name || opt->short_name == 0) {
                continue;
            }

            if (arg[2] != '\0') {
                if (opt->value == MAILCTL_NO_VALUE) {
                    continue;
                }

                value = arg + 2;
            }
        }

        break;
    }

    if (opt->name == NULL) {
        mailctl_error("unknown option \"%s\"", arg);
        fprintf(stderr, "Try \"mailctl --help\".\n");
        return MAILCTL_USAGE;
    }

    ctl->options |= opt->option;

    if (opt->value == MAILCTL_NO_VALUE) {
        return MAILCTL_OK;
    }

    if (value == NULL) {
        if (*i + 1 >= argc) {
            mailctl_error("option \"%s\" needs a value", arg);
            return MAILCTL_USAGE;
        }

        value = argv[++*i];
    }

    *(const char **) ((char *) ctl + opt->value) = value;

    return MAILCTL_OK;
}


static int
mailctl_dispatch(mailctl_t *ctl)
{
    const char         *name;
    mailctl_group_t    *group;
    mailctl_command_t  *cmd;

    if (ctl->nargs == 0) {
        if (ctl->options & MAILCTL_OPT_HELP) {
            mailctl_usage(stdout);
            return MAILCTL_OK;
        }

        mailctl_error("missing command");
        mailctl_usage(stderr);
        return MAILCTL_USAGE;
    }

    name = ctl->args[0];

    for (group = mailctl_groups; group->name != NULL; group++) {
        if (strcmp(group->name, name) == 0) {
            break;
        }
    }

    if (group->name == NULL) {
        mailctl_error("unknown command \"%s\"", name);
        fprintf(stderr, "Try \"mailctl --help\".\n");
        return MAILCTL_USAGE;
    }

    if (ctl->nargs == 1) {
        if (ctl->options & MAILCTL_OPT_HELP) {
            mailctl_group_usage(stdout, group);
            return MAILCTL_OK;
        }

        mailctl_error("missing %s command", group->name);
        mailctl_group_usage(stderr, group);
        return MAILCTL_USAGE;
    }

    name = ctl->args[1];

    for (cmd = group->commands; cmd->name != NULL; cmd++) {
        if (strcmp(cmd->name, name) == 0) {
            break;
        }
    }

    if (cmd->name == NULL) {
        mailctl_error("unknown %s command \"%s\"", group->name, name);
        fprintf(stderr, "Try \"mailctl %s --help\".\n", group->name);
        return MAILCTL_USAGE;
    }

    return mailctl_run(ctl, group, cmd);
}


static int
mailctl_run(mailctl_t *ctl, mailctl_group_t *group, mailctl_command_t *cmd)
{
    int                rc;
    char               command[32];
    unsigned           extra;
    mailctl_option_t  *opt;

    if (ctl->options & MAILCTL_OPT_HELP) {
        mailctl_command_usage(stdout, group, cmd);
        fprintf(stdout, "\n%s", cmd->help);
        fprintf(stdout, "\n\"mailctl --help\" lists the options that every "
                "command takes.\n");
        return MAILCTL_OK;
    }

    snprintf(command, sizeof(command), "%s %s", group->name, cmd->name);
    ctl->command = command;

    ctl->args += 2;
    ctl->nargs -= 2;

    extra = ctl->options & ~(cmd->options | MAILCTL_OPT_GLOBAL);

    if (extra != 0) {
        for (opt = mailctl_options; !(opt->option & extra); opt++) {
            /* void */
        }

        mailctl_error("option \"%s\" does not apply to \"%s\"", opt->name,
                      command);
        mailctl_command_usage(stderr, group, cmd);
        return MAILCTL_USAGE;
    }

    if (ctl->nargs < cmd->min_args) {
        mailctl_error("missing argument to \"%s\"", command);
        mailctl_command_usage(stderr, group, cmd);
        return MAILCTL_USAGE;
    }

    if (cmd->max_args >= 0 && ctl->nargs > cmd->max_args) {
        mailctl_error("too many arguments to \"%s\"", command);
        mailctl_command_usage(stderr, group, cmd);
        return MAILCTL_USAGE;
    }

    rc = mailctl_redis_configure(ctl);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    return cmd->handler(ctl);
}


static void
mailctl_usage(FILE *out)
{
    char                name[32];
    mailctl_group_t    *group;
    mailctl_command_t  *cmd;

    fprintf(out,
        "Usage: mailctl [-s HOST:PORT | -s unix:PATH] [-n DB] COMMAND\n"
        "\n"
        "Manages the domains, users and aliases of nginx-mailserver,\n"
        "its outbound queue and its spam filter's learning.\n"
        "\n"
        "Commands:\n");

    for (group = mailctl_groups; group->name != NULL; group++) {
        for (cmd = group->commands; cmd->name != NULL; cmd++) {
            snprintf(name, sizeof(name), "%s %s", group->name, cmd->name);
            fprintf(out, "  %-16s %s\n", name, cmd->summary);
        }
    }

    fprintf(out,
        "\n"
        "Options:\n"
        "  -s, --server ADDR  Redis server, HOST:PORT or unix:PATH\n"
        "                     (default: REDIS_URL, else 127.0.0.1:6379)\n"
        "  -n, --db DB        Redis database number\n"
        "  -h, --help         show help; \"mailctl user add --help\" that\n"
        "                     of a command\n"
        "\n"
        "Environment:\n"
        "  REDIS_URL       redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or\n"
        "                  unix:PATH[?db=DB]\n"
        "  REDIS_PASSWORD  the Redis password when REDIS_URL has none\n"
        "\n"
        "Exit status: 0 done, 1 usage error, 2 invalid input, not found or\n"
        "duplicate, 3 Redis error.\n");
}


static void
mailctl_group_usage(FILE *out, mailctl_group_t *group)
{
    mailctl_command_t  *cmd;

    fprintf(out, "Usage:\n");

    for (cmd = group->commands; cmd->name != NULL; cmd++) {
        fprintf(out, "  mailctl %s %s %s\n", group->name, cmd->name,
                cmd->synopsis);
    }

    fprintf(out, "\nCommands:\n");

    for (cmd = group->commands; cmd->name != NULL; cmd++) {
        fprintf(out, "  %-8s %s\n", cmd->name, cmd->summary);
    }

    fprintf(out, "\n\"mailctl %s COMMAND --help\" describes a command.\n",
            group->name);
}


static void
mailctl_command_usage(FILE *out, mailctl_group_t *group,
    mailctl_command_t *cmd)
{
    fprintf(out, "Usage: mailctl %s %s %s\n", group->name, cmd->name,
            cmd->synopsis);
}
