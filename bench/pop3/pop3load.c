/*
 * bench/pop3/pop3load.c — the load generator of bench/pop3-bench.sh.
 *
 * Client:  pop3load -p PORT [-c clients] [-r rounds] [-m messages]
 *                   [-W window] [-u user-format] [-w password]
 *                   [-d dumpfile] [-t timeout] [-T limit] [-h host]
 *
 * CLIENTS threads start together (a barrier); thread i logs in as user i
 * (-u "user%d@example.test", i = 1..CLIENTS) ROUNDS times in a row, each
 * time: connect, greeting, USER, PASS, STAT, LIST, RETR 1..n, QUIT (no
 * DELE, so runs can be repeated).  Commands are sent one at a time and the
 * reply is read before the next (-W 1, the default); -W N keeps up to N
 * RETRs in flight (RFC 2449 PIPELINING).  Logins are never pipelined.
 *
 * Checked for every session: STAT reports MESSAGES (-m; 0: any number)
 * messages, LIST has as many lines as STAT says and the sizes add up to
 * STAT's total, every RETR's "+OK N octets" (when the server gives N) and
 * the octets actually received (dot-stuffing removed, CRLF line ends, as
 * RFC 1939 counts them) equal the message's LIST size.  -d FILE writes
 * the first message the first client retrieves, unstuffed, for the caller
 * to compare with what the server stores.
 *
 * -t: give up on a session when the server sends nothing for this many
 * seconds (30); -T: start no new session after this many seconds (0: no
 * limit), so a hanging server ends the run after at most T + t seconds.
 * A failed session is counted, and its client goes on with the next one.
 *
 * The clock runs from the barrier to the end of the last thread.  Prints
 * one line of key=value pairs: status (ok, errors, time-limit), sessions,
 * messages and octets retrieved, seconds, login latency (connect to the
 * +OK of PASS, so it includes the greeting and opening the maildrop) as
 * avg/p50/p95/max in ms, the average time a session spent in its RETRs
 * (first RETR sent to the end line of the last message), the client's own
 * CPU seconds (all threads), and last the first error seen.
 *
 * Server:  pop3load -S [-p PORT] [-m messages] [-l bytes]
 *
 * A trivial POP3 server for measuring the client alone: every login
 * succeeds and every maildrop has MESSAGES messages of BYTES octets, built
 * once in memory; a thread per connection.  Prints "port=N" once it
 * listens, then serves until killed.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>


#define BUF_SIZE  (256 * 1024)
#define ERR_SIZE  512


static struct {
    const char  *host;
    int          port;
    int          clients;
    int          rounds;
    int          msgs;
    int          window;
    int          size;
    const char  *user_fmt;
    const char  *password;
    const char  *dump;
    double       timeout;
    double       limit;
} opt = {
    "127.0.0.1", 0, 20, 1, 100, 1, 10240, "user%d@example.test",
    "bench-Pa55word", NULL, 30, 0
};


static double  deadline;              /* no new session after this */


typedef struct {
    int          fd;
    char        *buf;
    size_t       start;
    size_t       end;
} conn_t;


typedef struct {
    int          id;                  /* 1..clients */
    pthread_t    tid;
    long         sessions_ok;
    long         sessions_failed;
    long         messages;            /* RETRs whose octets were right */
    long         mismatches;          /* RETRs with the wrong octets */
    long long    octets;
    char        *buf;                 /* the connection's input buffer */
    double      *login_ms;
    int          nlogin;
    double       retr_secs;           /* first RETR sent to last reply */
    long         errors;
    long         skipped;             /* sessions not started: -T */
    char         first_error[2 * ERR_SIZE];
} worker_t;


typedef struct {
    char        *data;
    size_t       len;
    size_t       cap;
} strbuf_t;


static pthread_barrier_t  start_barrier;


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
die(const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    fprintf(stderr, "pop3load: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}


static void
sb_add(strbuf_t *sb, const char *p, size_t len)
{
    if (sb->len + len > sb->cap) {
        sb->cap = (sb->len + len) * 2 + 4096;
        sb->data = realloc(sb->data, sb->cap);
        if (sb->data == NULL) {
            die("out of memory");
        }
    }

    memcpy(sb->data + sb->len, p, len);
    sb->len += len;
}


/* ---- the client -------------------------------------------------------- */


static int
fill(conn_t *c, char *err)
{
    ssize_t  n;

    if (c->start == c->end) {
        c->start = c->end = 0;

    } else if (c->end == BUF_SIZE) {
        if (c->start == 0) {
            snprintf(err, ERR_SIZE, "line longer than %d octets", BUF_SIZE);
            return -1;
        }

        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }

    do {
        n = recv(c->fd, c->buf + c->end, BUF_SIZE - c->end, 0);
    } while (n < 0 && errno == EINTR);

    if (n == 0) {
        snprintf(err, ERR_SIZE, "connection closed by the server");
        return -1;
    }

    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            snprintf(err, ERR_SIZE, "timeout: nothing from the server for %g s",
                     opt.timeout);
        } else {
            snprintf(err, ERR_SIZE, "recv: %s", strerror(errno));
        }
        return -1;
    }

    c->end += n;
    return 0;
}


/* a line with its line end; valid until the next call */

static int
get_line(conn_t *c, char **line, size_t *len, char *err)
{
    char  *p;

    for ( ;; ) {
        p = memchr(c->buf + c->start, '\n', c->end - c->start);
        if (p) {
            *line = c->buf + c->start;
            *len = p + 1 - *line;
            c->start += *len;
            return 0;
        }

        if (fill(c, err) != 0) {
            return -1;
        }
    }
}


/* the body of a multi-line reply up to ".": octets after unstuffing */

static int
get_multi(conn_t *c, long long *octets, strbuf_t *keep, char *err)
{
    char    *line;
    size_t   len;

    *octets = 0;

    for ( ;; ) {
        if (get_line(c, &line, &len, err) != 0) {
            return -1;
        }

        if (line[0] == '.') {
            if ((len == 3 && line[1] == '\r') || len == 2) {
                return 0;
            }

            line++;
            len--;
        }

        *octets += len;

        if (keep) {
            sb_add(keep, line, len);
        }
    }
}


static int
send_all(int fd, const char *p, size_t len, char *err)
{
    ssize_t  n;

    while (len) {
        n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            snprintf(err, ERR_SIZE, "send: %s", strerror(errno));
            return -1;
        }
        p += n;
        len -= n;
    }

    return 0;
}


/* a command and its one-line reply, which must be +OK */

static int
command(conn_t *c, const char *cmd, const char *shown, char **reply,
    char *err)
{
    char    *line;
    size_t   len;

    if (cmd && send_all(c->fd, cmd, strlen(cmd), err) != 0) {
        return -1;
    }

    if (get_line(c, &line, &len, err) != 0) {
        return -1;
    }

    if (len < 3 || strncmp(line, "+OK", 3) != 0) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            len--;
        }
        snprintf(err, ERR_SIZE, "%s: %.*s", shown, (int) (len > 200 ? 200 : len),
                 line);
        return -1;
    }

    if (reply) {
        line[len - 1] = '\0';
        *reply = line;
    }

    return 0;
}


static int
session(worker_t *w, int round, char *err)
{
    int                  n, next, done, fd, one;
    char                 cmd[2048], user[128], *reply, *line, *end;
    long                 k;
    size_t               len;
    double               t0;
    conn_t               c;
    long long            total, sum, octets, *sizes;
    strbuf_t             keep, *kp;
    struct timeval       tv;
    struct sockaddr_in   sin;

    c.buf = w->buf;
    c.start = c.end = 0;
    sizes = NULL;
    memset(&keep, 0, sizeof(keep));

    snprintf(user, sizeof(user), opt.user_fmt, w->id);

    t0 = now();

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        snprintf(err, ERR_SIZE, "socket: %s", strerror(errno));
        return -1;
    }

    c.fd = fd;
    one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    tv.tv_sec = (time_t) opt.timeout;
    tv.tv_usec = (suseconds_t) ((opt.timeout - tv.tv_sec) * 1e6);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(opt.port);
    inet_pton(AF_INET, opt.host, &sin.sin_addr);

    if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) != 0) {
        snprintf(err, ERR_SIZE, "connect: %s", strerror(errno));
        goto failed;
    }

    if (command(&c, NULL, "greeting", NULL, err) != 0) {
        goto failed;
    }

    snprintf(cmd, sizeof(cmd), "USER %s\r\n", user);
    if (command(&c, cmd, "USER", NULL, err) != 0) {
        goto failed;
    }

    snprintf(cmd, sizeof(cmd), "PASS %s\r\n", opt.password);
    if (command(&c, cmd, "PASS", NULL, err) != 0) {
        goto failed;
    }

    w->login_ms[w->nlogin++] = (now() - t0) * 1000;

    if (command(&c, "STAT\r\n", "STAT", &reply, err) != 0) {
        goto failed;
    }

    if (sscanf(reply, "+OK %d %lld", &n, &total) != 2 || n < 0) {
        snprintf(err, ERR_SIZE, "STAT: cannot parse \"%.100s\"", reply);
        goto failed;
    }

    if (opt.msgs > 0 && n != opt.msgs) {
        snprintf(err, ERR_SIZE, "STAT: %d messages for %s, expected %d", n, user,
                 opt.msgs);
        goto failed;
    }

    if (command(&c, "LIST\r\n", "LIST", NULL, err) != 0) {
        goto failed;
    }

    sizes = calloc(n + 1, sizeof(long long));
    if (sizes == NULL) {
        die("out of memory");
    }

    for (k = 1, sum = 0; ; k++) {
        if (get_line(&c, &line, &len, err) != 0) {
            goto failed;
        }

        if (len <= 3 && line[0] == '.') {
            break;
        }

        line[len - 1] = '\0';

        if (k > n || strtol(line, &end, 10) != k || *end != ' ') {
            snprintf(err, ERR_SIZE, "LIST: unexpected line %ld \"%.100s\"", k,
                     line);
            goto failed;
        }

        sizes[k] = strtoll(end + 1, NULL, 10);
        sum += sizes[k];
    }

    if (k - 1 != n || sum != total) {
        snprintf(err, ERR_SIZE, "LIST: %ld lines, %lld octets; STAT said %d, %lld",
                 k - 1, sum, n, total);
        goto failed;
    }

    /* RETR 1..n, up to "window" of them in flight */

    t0 = now();

    for (next = 1, done = 0; done < n; /* void */) {
        len = 0;
        while (next <= n && next - 1 - done < opt.window) {
            len += snprintf(cmd + len, sizeof(cmd) - len, "RETR %d\r\n",
                            next++);
        }

        if (len && send_all(fd, cmd, len, err) != 0) {
            goto failed;
        }

        done++;

        if (command(&c, NULL, "RETR", &reply, err) != 0) {
            goto failed;
        }

        /* "+OK 10653 octets" (both servers); any other form is not checked */
        k = -1;
        sscanf(reply, "+OK %ld octets", &k);

        kp = (opt.dump && w->id == 1 && round == 0 && done == 1) ? &keep
                                                                 : NULL;

        if (get_multi(&c, &octets, kp, err) != 0) {
            goto failed;
        }

        if (octets != sizes[done] || (k >= 0 && k != sizes[done])) {
            if (w->mismatches++ == 0 && w->first_error[0] == '\0') {
                snprintf(w->first_error, sizeof(w->first_error),
                         "%s RETR %d: %lld octets received, \"%.60s\","
                         " LIST size %lld", user, done, octets, reply,
                         sizes[done]);
            }

        } else {
            w->messages++;
            w->octets += octets;
        }

        if (kp) {
            FILE  *f = fopen(opt.dump, "w");

            if (f == NULL || fwrite(keep.data, 1, keep.len, f) != keep.len
                || fclose(f) != 0)
            {
                die("cannot write %s", opt.dump);
            }
        }
    }

    w->retr_secs += now() - t0;

    if (command(&c, "QUIT\r\n", "QUIT", NULL, err) != 0) {
        goto failed;
    }

    close(fd);
    free(sizes);
    free(keep.data);
    return 0;

failed:

    close(fd);
    free(sizes);
    free(keep.data);
    return -1;
}


static void *
worker(void *data)
{
    int        r;
    char       err[ERR_SIZE];
    worker_t  *w = data;

    pthread_barrier_wait(&start_barrier);

    for (r = 0; r < opt.rounds; r++) {
        if (deadline > 0 && now() > deadline) {
            w->skipped = opt.rounds - r;
            break;
        }

        err[0] = '\0';

        if (session(w, r, err) == 0) {
            w->sessions_ok++;
            continue;
        }

        w->sessions_failed++;
        w->errors++;

        if (w->first_error[0] == '\0') {
            snprintf(w->first_error, sizeof(w->first_error),
                     "client %d round %d: %s", w->id, r + 1, err);
        }

        /* do not hammer a server that fails */
        usleep(100000);
    }

    return NULL;
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}


static double
cpu_secs(void)
{
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
           + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}


static int
run_client(void)
{
    int         i, j, nlogin;
    long        ok, failed, messages, mismatches, errors, skipped;
    double      t0, t1, c0, c1, *logins, lsum, retr;
    worker_t   *w;
    long long   octets;
    const char *first;

    w = calloc(opt.clients, sizeof(worker_t));
    if (w == NULL) {
        die("out of memory");
    }

    if (pthread_barrier_init(&start_barrier, NULL, opt.clients + 1) != 0) {
        die("pthread_barrier_init failed");
    }

    for (i = 0; i < opt.clients; i++) {
        w[i].id = i + 1;
        w[i].login_ms = calloc(opt.rounds, sizeof(double));
        w[i].buf = malloc(BUF_SIZE);
        if (w[i].login_ms == NULL || w[i].buf == NULL) {
            die("out of memory");
        }

        if (pthread_create(&w[i].tid, NULL, worker, &w[i]) != 0) {
            die("pthread_create failed");
        }
    }

    c0 = cpu_secs();
    t0 = now();
    deadline = opt.limit > 0 ? t0 + opt.limit : 0;
    pthread_barrier_wait(&start_barrier);

    for (i = 0; i < opt.clients; i++) {
        pthread_join(w[i].tid, NULL);
    }

    t1 = now();
    c1 = cpu_secs();

    ok = failed = messages = mismatches = errors = skipped = 0;
    octets = 0;
    nlogin = 0;
    first = NULL;

    logins = calloc((size_t) opt.clients * opt.rounds + 1, sizeof(double));
    if (logins == NULL) {
        die("out of memory");
    }

    lsum = 0;
    retr = 0;

    for (i = 0; i < opt.clients; i++) {
        ok += w[i].sessions_ok;
        failed += w[i].sessions_failed;
        messages += w[i].messages;
        mismatches += w[i].mismatches;
        errors += w[i].errors;
        skipped += w[i].skipped;
        octets += w[i].octets;
        retr += w[i].retr_secs;

        for (j = 0; j < w[i].nlogin; j++) {
            logins[nlogin++] = w[i].login_ms[j];
            lsum += w[i].login_ms[j];
        }

        if (first == NULL && w[i].first_error[0]) {
            first = w[i].first_error;
        }
    }

    qsort(logins, nlogin, sizeof(double), cmp_double);

    printf("status=%s clients=%d rounds=%d window=%d sessions_ok=%ld"
           " sessions_failed=%ld sessions_skipped=%ld messages=%ld octets=%lld mismatches=%ld secs=%.3f"
           " login_avg_ms=%.2f login_p50_ms=%.2f login_p95_ms=%.2f"
           " login_max_ms=%.2f logins=%d retr_avg_ms=%.2f client_cpu_s=%.2f",
           failed || mismatches ? "errors" : skipped ? "time-limit" : "ok",
           opt.clients, opt.rounds, opt.window, ok, failed, skipped, messages,
           octets,
           mismatches, t1 - t0,
           nlogin ? lsum / nlogin : 0,
           nlogin ? logins[nlogin / 2] : 0,
           nlogin ? logins[(int) (nlogin * 0.95) < nlogin
                           ? (int) (nlogin * 0.95) : nlogin - 1] : 0,
           nlogin ? logins[nlogin - 1] : 0, nlogin,
           ok ? retr * 1000 / ok : 0, c1 - c0);

    /* last: the rest of the line is the message */
    printf(" first_error=%s\n", first ? first : "-");

    return (failed || mismatches || skipped) ? 1 : 0;
}


/* ---- the trivial server ------------------------------------------------ */


static char    *srv_retr;             /* "+OK N octets" CRLF message "." CRLF */
static size_t   srv_retr_len;
static char    *srv_list;
static size_t   srv_list_len;
static char     srv_stat[64];


static void *
serve_conn(void *data)
{
    int      fd = (int) (long) data;
    char     buf[4096], *p, *nl;
    size_t   have;
    ssize_t  n;
    char     err[ERR_SIZE];

    have = 0;

    if (send_all(fd, "+OK trivial POP3 server ready\r\n", 31, err) != 0) {
        goto done;
    }

    for ( ;; ) {
        n = recv(fd, buf + have, sizeof(buf) - have, 0);
        if (n <= 0) {
            goto done;
        }

        have += n;
        p = buf;

        while ((nl = memchr(p, '\n', buf + have - p)) != NULL) {
            const char  *r;
            size_t       rl;

            if (strncasecmp(p, "RETR", 4) == 0) {
                r = srv_retr;
                rl = srv_retr_len;

            } else if (strncasecmp(p, "LIST", 4) == 0) {
                r = srv_list;
                rl = srv_list_len;

            } else if (strncasecmp(p, "STAT", 4) == 0) {
                r = srv_stat;
                rl = strlen(srv_stat);

            } else if (strncasecmp(p, "QUIT", 4) == 0) {
                (void) send_all(fd, "+OK Bye\r\n", 9, err);
                goto done;

            } else {
                r = "+OK\r\n";
                rl = 5;
            }

            if (send_all(fd, r, rl, err) != 0) {
                goto done;
            }

            p = nl + 1;
        }

        have = buf + have - p;
        memmove(buf, p, have);

        if (have == sizeof(buf)) {
            goto done;
        }
    }

done:

    close(fd);
    return NULL;
}


static int
run_server(void)
{
    int                  ls, fd, one, i;
    char                *msg;
    size_t               len, off;
    pthread_t            tid;
    socklen_t            slen;
    pthread_attr_t       attr;
    struct sockaddr_in   sin;

    /* a message of "size" octets: a header and lines of 78 characters */
    msg = malloc(opt.size + 100);
    if (msg == NULL) {
        die("out of memory");
    }

    len = snprintf(msg, opt.size + 100, "From: <a@example.test>\r\n"
                   "Subject: trivial\r\n\r\n");
    while (len + 80 <= (size_t) opt.size) {
        memset(msg + len, 'x', 78);
        memcpy(msg + len + 78, "\r\n", 2);
        len += 80;
    }
    while (len + 2 < (size_t) opt.size) {
        msg[len++] = 'y';
    }
    memcpy(msg + len, "\r\n", 2);
    len += 2;

    srv_retr = malloc(len + 64);
    srv_retr_len = snprintf(srv_retr, 64, "+OK %zu octets\r\n", len);
    memcpy(srv_retr + srv_retr_len, msg, len);
    srv_retr_len += len;
    memcpy(srv_retr + srv_retr_len, ".\r\n", 3);
    srv_retr_len += 3;

    srv_list = malloc((size_t) opt.msgs * 32 + 64);
    off = sprintf(srv_list, "+OK %d messages\r\n", opt.msgs);
    for (i = 1; i <= opt.msgs; i++) {
        off += sprintf(srv_list + off, "%d %zu\r\n", i, len);
    }
    off += sprintf(srv_list + off, ".\r\n");
    srv_list_len = off;

    snprintf(srv_stat, sizeof(srv_stat), "+OK %d %zu\r\n", opt.msgs,
             (size_t) opt.msgs * len);

    ls = socket(AF_INET, SOCK_STREAM, 0);
    one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(opt.port);
    inet_pton(AF_INET, opt.host, &sin.sin_addr);

    if (bind(ls, (struct sockaddr *) &sin, sizeof(sin)) != 0
        || listen(ls, 1024) != 0)
    {
        die("bind/listen: %s", strerror(errno));
    }

    slen = sizeof(sin);
    getsockname(ls, (struct sockaddr *) &sin, &slen);
    printf("port=%d\n", ntohs(sin.sin_port));
    fflush(stdout);

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);

    for ( ;; ) {
        fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            die("accept: %s", strerror(errno));
        }

        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

        if (pthread_create(&tid, &attr, serve_conn, (void *) (long) fd)
            != 0)
        {
            close(fd);
        }
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int  ch, server;

    server = 0;

    while ((ch = getopt(argc, argv, "Sh:p:c:r:m:W:l:u:w:d:t:T:")) != -1) {
        switch (ch) {
        case 'S': server = 1; break;
        case 'h': opt.host = optarg; break;
        case 'p': opt.port = atoi(optarg); break;
        case 'c': opt.clients = atoi(optarg); break;
        case 'r': opt.rounds = atoi(optarg); break;
        case 'm': opt.msgs = atoi(optarg); break;
        case 'W': opt.window = atoi(optarg); break;
        case 'l': opt.size = atoi(optarg); break;
        case 'u': opt.user_fmt = optarg; break;
        case 'w': opt.password = optarg; break;
        case 'd': opt.dump = optarg; break;
        case 't': opt.timeout = atof(optarg); break;
        case 'T': opt.limit = atof(optarg); break;
        default:
            die("usage: see the header of pop3load.c");
        }
    }

    if (opt.clients < 1 || opt.clients > 4096 || opt.rounds < 1
        || opt.window < 1 || opt.window > 100 || opt.msgs < 0
        || opt.size < 64 || opt.timeout <= 0
        || (!server && opt.port <= 0))
    {
        die("bad arguments");
    }

    signal(SIGPIPE, SIG_IGN);

    return server ? run_server() : run_client();
}
