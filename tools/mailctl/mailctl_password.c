
/*
 * Reading a new password and hashing it with libxcrypt, and reading other
 * secrets (the APOP secret) the same way.  The plain text of a password
 * lives only in buffers of this file, which are wiped after use.
 */


#include <crypt.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "mailctl.h"


#define MAILCTL_PASSWORD_SIZE  CRYPT_MAX_PASSPHRASE_SIZE


/*
 * libxcrypt's default cost for yescrypt takes tens of ms a hash.  Its
 * defaults for bcrypt (2^5) and SHA512-crypt (5000 rounds) are kept low for
 * old systems and are 30 to 40 times cheaper to brute-force; the costs
 * below bring them near yescrypt.  Every login pays this once.
 */

static const mailctl_scheme_t  mailctl_schemes[] = {
    { "yescrypt", "$y$", 0, 0 },

    /* bcrypt uses only the first 72 bytes of a password */
    { "bcrypt", "$2b$", 10, 72 },

    { "sha512-crypt", "$6$", 200000, 0 },

    { NULL, NULL, 0, 0 }
};


/* the names of hashes that other tools may have written, for "user show" */

static const struct {
    const char         *prefix;
    const char         *name;
} mailctl_hash_names[] = {
    { "$y$", "yescrypt" },
    { "$gy$", "gost-yescrypt" },
    { "$7$", "scrypt" },
    { "$2b$", "bcrypt" },
    { "$2a$", "bcrypt" },
    { "$2y$", "bcrypt" },
    { "$6$", "sha512-crypt" },
    { "$5$", "sha256-crypt" },
    { "$1$", "md5-crypt" },
    { NULL, NULL }
};


static int mailctl_secret_prompt(const mailctl_secret_t *secret,
    char *value, size_t size);
static int mailctl_secret_ask(const mailctl_secret_t *secret,
    const char *prompt, char *value, size_t size);
static int mailctl_secret_line(const mailctl_secret_t *secret, char *value,
    size_t size);
static int mailctl_password_hash(const char *password,
    const mailctl_scheme_t *scheme, char *hash, size_t size);


static const mailctl_secret_t  mailctl_password = {
    "password", "Password: ", "Retype password: "
};


static struct termios          mailctl_saved_termios;
static volatile sig_atomic_t   mailctl_echo_off;


/* NULL name: the default scheme */

const mailctl_scheme_t *
mailctl_password_scheme(const char *name)
{
    const mailctl_scheme_t  *scheme;

    if (name == NULL) {
        return &mailctl_schemes[0];
    }

    for (scheme = mailctl_schemes; scheme->name != NULL; scheme++) {
        if (strcmp(scheme->name, name) == 0) {
            return scheme;
        }
    }

    return NULL;
}


const char *
mailctl_password_scheme_name(const char *hash)
{
    size_t  i, len;

    for (i = 0; mailctl_hash_names[i].prefix != NULL; i++) {
        len = strlen(mailctl_hash_names[i].prefix);

        if (strncmp(hash, mailctl_hash_names[i].prefix, len) == 0) {
            return mailctl_hash_names[i].name;
        }
    }

    return "unknown";
}


/* reads a new password and puts its crypt(3) string into hash */

int
mailctl_password_new(const mailctl_scheme_t *scheme, char *hash,
    size_t size)
{
    int     rc;
    char    password[MAILCTL_PASSWORD_SIZE];

    rc = mailctl_secret_read(&mailctl_password, password, sizeof(password));
    if (rc != MAILCTL_OK) {
        goto done;
    }

    if (scheme->password_max != 0
        && strlen(password) > scheme->password_max)
    {
        mailctl_error("%s uses only the first %zu bytes of a password; "
                      "use a shorter one or another scheme", scheme->name,
                      scheme->password_max);
        rc = MAILCTL_INVALID;
        goto done;
    }

    rc = mailctl_password_hash(password, scheme, hash, size);

done:

    explicit_bzero(password, sizeof(password));

    return rc;
}


/*
 * Whether password matches the crypt(3) string hash.  A hash that
 * libxcrypt cannot check (an unknown or disabled scheme) matches nothing.
 */

int
mailctl_password_verify(const char *password, const char *hash, int *match)
{
    char               *result;
    struct crypt_data  *data;

    data = calloc(1, sizeof(struct crypt_data));
    if (data == NULL) {
        mailctl_error("out of memory");
        return MAILCTL_SYSTEM;
    }

    result = crypt_rn(password, hash, data, sizeof(struct crypt_data));

    *match = (result != NULL && result[0] != '*'
              && strcmp(result, hash) == 0);

    explicit_bzero(data, sizeof(struct crypt_data));
    free(data);

    return MAILCTL_OK;
}


/*
 * Reads a new secret: twice from the terminal without echo when standard
 * input is one, else the first line of standard input.  Never empty.
 */

int
mailctl_secret_read(const mailctl_secret_t *secret, char *value, size_t size)
{
    int  rc;

    if (isatty(STDIN_FILENO)) {
        rc = mailctl_secret_prompt(secret, value, size);

    } else {
        rc = mailctl_secret_line(secret, value, size);
    }

    if (rc != MAILCTL_OK) {
        return rc;
    }

    if (value[0] == '\0') {
        mailctl_error("empty %s", secret->name);
        return MAILCTL_INVALID;
    }

    return MAILCTL_OK;
}


static int
mailctl_secret_prompt(const mailctl_secret_t *secret, char *value,
    size_t size)
{
    int   rc;
    char  retype[MAILCTL_PASSWORD_SIZE];

    rc = mailctl_secret_ask(secret, secret->prompt, value, size);
    if (rc != MAILCTL_OK) {
        return rc;
    }

    rc = mailctl_secret_ask(secret, secret->retype, retype, sizeof(retype));

    if (rc == MAILCTL_OK && strcmp(value, retype) != 0) {
        mailctl_error("%ss do not match", secret->name);
        rc = MAILCTL_INVALID;
    }

    explicit_bzero(retype, sizeof(retype));

    if (rc != MAILCTL_OK) {
        explicit_bzero(value, size);
    }

    return rc;
}


/* a signal must not leave the terminal without echo */

static void
mailctl_secret_signal(int signo)
{
    if (mailctl_echo_off) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &mailctl_saved_termios);
    }

    signal(signo, SIG_DFL);
    raise(signo);
}


static int
mailctl_secret_ask(const mailctl_secret_t *secret, const char *prompt,
    char *value, size_t size)
{
    int               rc, i;
    struct termios    noecho;
    struct sigaction  sa, saved[4];
    static const int  signals[4] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

    if (tcgetattr(STDIN_FILENO, &mailctl_saved_termios) != 0) {
        mailctl_error("cannot read the terminal settings: %s",
                      strerror(errno));
        return MAILCTL_SYSTEM;
    }

    memset(&sa, 0, sizeof(struct sigaction));
    sa.sa_handler = mailctl_secret_signal;
    sigemptyset(&sa.sa_mask);

    for (i = 0; i < 4; i++) {
        sigaction(signals[i], &sa, &saved[i]);
    }

    noecho = mailctl_saved_termios;
    noecho.c_lflag &= ~ECHO;

    /*
     * Echo goes off before the prompt is shown, as in getpass(3), so that
     * nothing typed in answer to the prompt is echoed.
     */

    mailctl_echo_off = 1;

    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho) != 0) {
        mailctl_error("cannot turn off echo: %s", strerror(errno));
        rc = MAILCTL_SYSTEM;
        goto done;
    }

    fputs(prompt, stderr);
    fflush(stderr);

    rc = mailctl_secret_line(secret, value, size);

    fputc('\n', stderr);

done:

    tcsetattr(STDIN_FILENO, TCSAFLUSH, &mailctl_saved_termios);
    mailctl_echo_off = 0;

    for (i = 0; i < 4; i++) {
        sigaction(signals[i], &saved[i], NULL);
    }

    return rc;
}


/* one line without its "\n" or "\r\n" */

static int
mailctl_secret_line(const mailctl_secret_t *secret, char *value,
    size_t size)
{
    int     c;
    size_t  n;

    n = 0;

    while ((c = getchar()) != EOF && c != '\n') {

        if (c == '\0') {
            mailctl_error("the %s contains a NUL byte", secret->name);
            explicit_bzero(value, n);
            return MAILCTL_INVALID;
        }

        if (n + 1 >= size) {
            mailctl_error("the %s is longer than %zu bytes", secret->name,
                          size - 1);
            explicit_bzero(value, n);
            return MAILCTL_INVALID;
        }

        value[n++] = (char) c;
    }

    if (ferror(stdin)) {
        mailctl_error("cannot read the %s: %s", secret->name,
                      strerror(errno));
        explicit_bzero(value, n);
        return MAILCTL_SYSTEM;
    }

    if (n > 0 && value[n - 1] == '\r') {
        n--;
    }

    value[n] = '\0';

    return MAILCTL_OK;
}


static int
mailctl_password_hash(const char *password, const mailctl_scheme_t *scheme,
    char *hash, size_t size)
{
    int                 rc;
    char               *result;
    char                setting[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data  *data;

    /* NULL random bytes: libxcrypt takes the salt from getrandom(2) */

    if (crypt_gensalt_rn(scheme->prefix, scheme->cost, NULL, 0, setting,
                         sizeof(setting))
        == NULL)
    {
        mailctl_error("cannot make a %s salt: %s", scheme->name,
                      strerror(errno));
        return MAILCTL_SYSTEM;
    }

    /* 32K: too big for the stack of some threads, so from the heap */

    data = calloc(1, sizeof(struct crypt_data));
    if (data == NULL) {
        mailctl_error("out of memory");
        return MAILCTL_SYSTEM;
    }

    /* crypt_rn returns NULL on failure, other crypt(3)s "*0" or "*1" */

    result = crypt_rn(password, setting, data, sizeof(struct crypt_data));

    if (result == NULL || result[0] == '*') {
        mailctl_error("cannot hash the password with %s: %s", scheme->name,
                      strerror(errno));
        rc = MAILCTL_SYSTEM;

    } else if (strlen(result) >= size) {
        mailctl_error("the %s hash is too long", scheme->name);
        rc = MAILCTL_SYSTEM;

    } else {
        strcpy(hash, result);
        rc = MAILCTL_OK;
    }

    explicit_bzero(data, sizeof(struct crypt_data));
    free(data);

    return rc;
}
