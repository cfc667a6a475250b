/*
 * bench/imap/imap-load.c — the IMAP client of bench/imap-bench.sh,
 * bench/imap-idle-bench.sh and bench/imap-bigbox-bench.sh.
 *
 * One process, one thread, non-blocking sockets under epoll; every
 * connection is a small state machine.  Responses are parsed as IMAP
 * sends them: lines, where a line ending in a literal {n} (or {n+})
 * continues after n octets, which are skipped (not searched for CRLF).
 *
 *   imap-load [-M mode] -p PORT [-h host] [-u user-format] [-w password]
 *             [-c clients] [-U users] [-d seconds] [-r rounds] [-t timeout]
 *             [-s size] [-b source-addresses] [-P parallel] [-v]
 *
 * -M load (default): CLIENTS connections at once; client i is user
 * (i mod USERS) + 1 in -u's format ("user%d@example.test").  Each runs
 * sessions until DURATION seconds are over: connect, LOGIN, then ROUNDS
 * times (default 5) the workload
 *     SELECT INBOX
 *     FETCH 1:* (UID FLAGS RFC822.SIZE)
 *     UID FETCH a:b (UID BODY.PEEK[HEADER.FIELDS (From To Subject Date
 *         Message-ID)])                      (a window of 50 UIDs)
 *     FETCH k BODY[]                         (3 times, random k)
 *     STORE k +FLAGS (\Seen), STORE k -FLAGS (\Seen)
 *     SEARCH UNSEEN, SEARCH SUBJECT "w", SEARCH FROM "w"
 *     APPEND INBOX (\Seen) {SIZE}            (a synchronizing literal)
 *     UID STORE u +FLAGS.SILENT (\Deleted)   (the appended message: the
 *                                            UID from APPENDUID, else
 *                                            "max+1:*" above the UIDs the
 *                                            FETCH 1:* saw; skipped with
 *                                            the EXPUNGE when APPEND failed)
 *     UID EXPUNGE u (UIDPLUS) or EXPUNGE
 * then LOGOUT.  An op is one command that completed with a tagged OK;
 * a tagged NO or BAD, a BYE, a dropped connection or a timeout (-t) is
 * an error, and the first 20 are printed with the command.  At the end of
 * the duration no new command is sent; commands that complete after it
 * are not counted.  Prints a line per command (count, errors, average and
 * max latency) and a last line of key=value pairs (status ops ops_per_s
 * errors secs sessions ...).
 *
 * -M idle: opens CLIENTS connections, at most PARALLEL (-P, 100) in
 * their login phase at a time; each LOGINs, SELECTs INBOX and sends
 * IDLE.  -b A1,A2,...: bind the connections round-robin to these local
 * addresses (127.0.0.2, ...), for more than one port range of clients.
 * Prints "idle=N exists=E errors=X" whenever that changes (E: clients
 * that got an untagged EXISTS while idling), and holds the connections
 * until SIGTERM or SIGINT.
 *
 * -M latency: one connection, ROUNDS sessions one after the other (each
 * a new connection: LOGIN, SELECT INBOX, FETCH 1:* FLAGS, FETCH 1:*
 * FLAGS, LOGOUT); prints per session the milliseconds of SELECT and of
 * both FETCHes, and the EXISTS and FETCH lines counted.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MODE_LOAD, MODE_IDLE, MODE_LATENCY };

/* the commands of the workload, in order */
enum {
    C_LOGIN, C_SELECT, C_FETCH_ALL, C_FETCH_HDR, C_FETCH_BODY1,
    C_FETCH_BODY2, C_FETCH_BODY3, C_STORE_SEEN, C_STORE_UNSEEN,
    C_SEARCH_UNSEEN, C_SEARCH_SUBJECT, C_SEARCH_FROM, C_APPEND,
    C_STORE_DELETED, C_EXPUNGE, C_LOGOUT,
    C_IDLE, C_FETCH_FLAGS, C_FETCH_FLAGS2,
    C_N
};

static const char *cmd_names[C_N] = {
    "LOGIN", "SELECT INBOX", "FETCH 1:* (UID FLAGS RFC822.SIZE)",
    "UID FETCH 50 x HEADER.FIELDS", "FETCH k BODY[] #1", "FETCH k BODY[] #2",
    "FETCH k BODY[] #3", "STORE +FLAGS (\\Seen)", "STORE -FLAGS (\\Seen)",
    "SEARCH UNSEEN", "SEARCH SUBJECT", "SEARCH FROM", "APPEND ~SIZE",
    "STORE +FLAGS (\\Deleted)", "(UID) EXPUNGE", "LOGOUT",
    "IDLE", "FETCH 1:* FLAGS", "FETCH 1:* FLAGS again",
};

typedef struct {
    int         fd;
    int         id;
    int         user;
    int         state;          /* ST_* */
    int         cmd;            /* C_* in flight, -1 none */
    int         round;
    unsigned    tagn;
    char        tag[16];
    double      sent;           /* when the command went out */

    char       *rbuf;
    size_t      rlen, rcap;
    size_t      lit;            /* literal octets still to skip */
    char        line[512];      /* the start of the logical line */
    size_t      llen;           /* its whole length so far */

    char       *wbuf;
    size_t      wlen, woff, wcap;
    int         want_cont;      /* APPEND: waiting for "+" */

    long        exists;
    unsigned long uid_min, uid_max, uidnext_seen;
    unsigned long appenduid;
    int         append_ok;
    int         uidplus;
    long        fetch_lines;
    int         got_exists_idle;
    int         in_login;       /* idle mode: opened, not yet idling */
    int         greeted;
} conn_t;

enum { ST_CONNECTING, ST_GREETING, ST_CMD, ST_IDLE, ST_DONE };

static int mode = MODE_LOAD;
static const char *host = "127.0.0.1", *user_fmt = "user%d@example.test";
static const char *password = "bench-Pa55word";
static int port, nclients = 1, nusers = 0, rounds = 5, parallel = 100;
static double duration = 30, timeout_s = 30;
static size_t append_size = 10240;
static int verbose;
static char **src_addrs;
static int nsrc;

static int ep;
static conn_t *conns;
static double t_start, t_end;
static int stopping;
static volatile sig_atomic_t got_signal;

static unsigned long ops, errors, sessions, octets_in;
static unsigned long cnt[C_N], err[C_N];
static double lat_sum[C_N], lat_max[C_N];
static int errors_printed;
static int active;             /* connections not done */
static int idle_count, exists_count, login_phase;
static char *append_msg;
static size_t append_len;
static unsigned long appends;

static const char *words[] = {
    "invoice", "meeting", "report", "lunch", "release", "budget",
    "holiday", "review", "server", "backup",
};
static const char *names[] = {
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "imap-load: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static unsigned long rnd_state = 88172645463325252UL;
static unsigned long rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static void conn_open(conn_t *c);
static void leave_login(conn_t *c)
{
    if (c->in_login) {
        c->in_login = 0;
        login_phase--;
    }
}
static void conn_close(conn_t *c, int reopen);
static void next_cmd(conn_t *c);

static void report_error(conn_t *c, const char *what, const char *line)
{
    errors++;
    if (c->cmd >= 0)
        err[c->cmd]++;
    if (errors_printed < 20) {
        errors_printed++;
        printf("error: client %d (user %d) %s: %s: %.200s\n", c->id, c->user,
               c->cmd >= 0 ? cmd_names[c->cmd] : "(no command)", what,
               line ? line : "");
        fflush(stdout);
    }
}

static void wbuf_add(conn_t *c, const char *p, size_t n)
{
    if (c->wlen + n > c->wcap) {
        size_t cap = c->wcap ? c->wcap : 1024;
        while (cap < c->wlen + n)
            cap *= 2;
        c->wbuf = realloc(c->wbuf, cap);
        if (c->wbuf == NULL)
            die("out of memory");
        c->wcap = cap;
    }
    memcpy(c->wbuf + c->wlen, p, n);
    c->wlen += n;
}

static void flush_out(conn_t *c)
{
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff,
                         MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            report_error(c, "send", strerror(errno));
            conn_close(c, 1);
            return;
        }
        c->woff += n;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    if (c->woff < c->wlen)
        ev.events |= EPOLLOUT;
    else
        c->woff = c->wlen = 0;
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void send_cmd(conn_t *c, int cmd, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    c->cmd = cmd;
    c->want_cont = cmd == C_APPEND;
    snprintf(c->tag, sizeof(c->tag), "a%u", ++c->tagn);
    n = snprintf(buf, sizeof(buf), "%s ", c->tag);
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    va_end(ap);
    if (verbose > 1)
        fprintf(stderr, "C%d> %s", c->id, buf);
    c->sent = now();
    wbuf_add(c, buf, n);
    flush_out(c);
}

static void build_append_msg(void)
{
    /* a plain text message of about append_size octets, CRLF */
    size_t cap = append_size + 2048;
    char *m = malloc(cap);
    size_t n = 0;
    n += snprintf(m + n, cap - n,
        "From: Bench Appender <appender@remote.example>\r\n"
        "To: someone@example.test\r\n"
        "Subject: appended by imap-load\r\n"
        "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
        "Message-ID: <append-%ld@imap-load.example>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n", (long) getpid());
    while (n + 80 < append_size) {
        int i;
        for (i = 0; i < 72; i++)
            m[n + i] = 'a' + (char) ((n * 7 + i) % 26);
        n += 72;
        m[n++] = '\r';
        m[n++] = '\n';
    }
    append_msg = m;
    append_len = n;
}

/* ---- the workload ------------------------------------------------------- */

static long pick_seq(conn_t *c)
{
    return c->exists > 0 ? (long) (rnd() % (unsigned long) c->exists) + 1 : 0;
}

static void next_cmd(conn_t *c)
{
    int next;
    char user[256];

    if (stopping || (mode == MODE_LOAD && now() >= t_end)) {
        stopping = 1;
        conn_close(c, 0);
        return;
    }

    next = c->cmd + 1;
    if (c->cmd < 0)
        next = C_LOGIN;

    if (mode == MODE_IDLE) {
        switch (next) {
        case C_LOGIN: break;
        case C_SELECT: break;
        default: next = C_IDLE; break;
        }
    } else if (mode == MODE_LATENCY) {
        switch (c->cmd) {
        case -1: next = C_LOGIN; break;
        case C_LOGIN: next = C_SELECT; break;
        case C_SELECT: next = C_FETCH_FLAGS; break;
        case C_FETCH_FLAGS: next = C_FETCH_FLAGS2; break;
        default: next = C_LOGOUT; break;
        }
    } else {
        /* nothing to delete when the APPEND failed */
        if (next == C_STORE_DELETED && !c->append_ok)
            c->cmd = C_EXPUNGE;
        if (c->cmd == C_EXPUNGE) {
            c->round++;
            next = c->round < rounds ? C_SELECT : C_LOGOUT;
        }
        /* nothing to fetch or store in an empty mailbox */
        while (c->exists <= 0 && next >= C_FETCH_ALL && next <= C_STORE_UNSEEN)
            next++;
    }

    switch (next) {
    case C_LOGIN:
        snprintf(user, sizeof(user), user_fmt, c->user);
        send_cmd(c, C_LOGIN, "LOGIN \"%s\" \"%s\"\r\n", user, password);
        break;
    case C_SELECT:
        send_cmd(c, C_SELECT, "SELECT INBOX\r\n");
        break;
    case C_FETCH_ALL:
        c->uid_min = 0;
        c->uid_max = 0;
        send_cmd(c, C_FETCH_ALL, "FETCH 1:* (UID FLAGS RFC822.SIZE)\r\n");
        break;
    case C_FETCH_HDR: {
        unsigned long lo = c->uid_min, hi = c->uid_max;
        if (hi > lo + 49) {
            lo += rnd() % (hi - lo - 48);
            hi = lo + 49;
        }
        if (lo == 0)
            lo = 1;
        if (hi < lo)
            hi = lo;
        send_cmd(c, C_FETCH_HDR, "UID FETCH %lu:%lu (UID BODY.PEEK[HEADER.FIELDS"
                 " (From To Subject Date Message-ID)])\r\n", lo, hi);
        break;
    }
    case C_FETCH_BODY1:
    case C_FETCH_BODY2:
    case C_FETCH_BODY3:
        send_cmd(c, next, "FETCH %ld BODY[]\r\n", pick_seq(c));
        break;
    case C_STORE_SEEN:
        send_cmd(c, next, "STORE %ld +FLAGS (\\Seen)\r\n", pick_seq(c));
        break;
    case C_STORE_UNSEEN:
        send_cmd(c, next, "STORE %ld -FLAGS (\\Seen)\r\n", pick_seq(c));
        break;
    case C_SEARCH_UNSEEN:
        send_cmd(c, next, "SEARCH UNSEEN\r\n");
        break;
    case C_SEARCH_SUBJECT:
        send_cmd(c, next, "SEARCH SUBJECT \"%s\"\r\n",
                 words[rnd() % (sizeof(words) / sizeof(words[0]))]);
        break;
    case C_SEARCH_FROM:
        send_cmd(c, next, "SEARCH FROM \"%s\"\r\n",
                 names[rnd() % (sizeof(names) / sizeof(names[0]))]);
        break;
    case C_APPEND:
        c->appenduid = 0;
        c->append_ok = 0;
        send_cmd(c, next, "APPEND INBOX (\\Seen) {%zu}\r\n", append_len);
        break;
    case C_STORE_DELETED:
        if (c->appenduid)
            send_cmd(c, next, "UID STORE %lu +FLAGS.SILENT (\\Deleted)\r\n",
                     c->appenduid);
        else
            /* above every UID this round's FETCH 1:* saw: the appended one
             * (n:* takes the last message even when n is above its UID) */
            send_cmd(c, next, "UID STORE %lu:* +FLAGS.SILENT (\\Deleted)\r\n",
                     c->uid_max + 1);
        break;
    case C_EXPUNGE:
        if (c->appenduid && c->uidplus)
            send_cmd(c, next, "UID EXPUNGE %lu\r\n", c->appenduid);
        else
            send_cmd(c, next, "EXPUNGE\r\n");
        break;
    case C_LOGOUT:
        send_cmd(c, next, "LOGOUT\r\n");
        break;
    case C_IDLE:
        send_cmd(c, next, "IDLE\r\n");
        break;
    case C_FETCH_FLAGS:
    case C_FETCH_FLAGS2:
        c->fetch_lines = 0;
        send_cmd(c, next, "FETCH 1:* FLAGS\r\n");
        break;
    }
}

/* ---- responses -------------------------------------------------------- */

static int starts(const char *l, size_t n, const char *p)
{
    size_t k = strlen(p);
    return n >= k && strncasecmp(l, p, k) == 0;
}

static void handle_untagged(conn_t *c, char *l, size_t n)
{
    char *p = l + 2, *e;
    unsigned long v;

    if (starts(l, n, "* BYE")) {
        if (c->cmd != C_LOGOUT)
            report_error(c, "BYE", l);
        return;
    }
    if (starts(l, n, "* OK") || starts(l, n, "* NO") || starts(l, n, "* BAD")
        || starts(l, n, "* CAPABILITY")) {
        if (strstr(l, "UIDPLUS"))
            c->uidplus = 1;
        return;
    }
    v = strtoul(p, &e, 10);
    if (e == p || *e != ' ')
        return;
    e++;
    if (strncasecmp(e, "EXISTS", 6) == 0) {
        c->exists = (long) v;
        if (c->state == ST_IDLE && !c->got_exists_idle) {
            c->got_exists_idle = 1;
            exists_count++;
        }
    } else if (strncasecmp(e, "EXPUNGE", 7) == 0) {
        c->exists--;
    } else if (strncasecmp(e, "FETCH", 5) == 0) {
        c->fetch_lines++;
        if (c->cmd == C_FETCH_ALL) {
            char *u = strstr(e, "UID ");
            if (u) {
                unsigned long uid = strtoul(u + 4, NULL, 10);
                if (c->uid_min == 0 || uid < c->uid_min)
                    c->uid_min = uid;
                if (uid > c->uid_max)
                    c->uid_max = uid;
            }
        }
    }
}

static void complete(conn_t *c, char *l)
{
    char *st = l + strlen(c->tag) + 1;
    double lat = now() - c->sent;
    int ok = strncasecmp(st, "OK", 2) == 0;
    int cmd = c->cmd;

    if (mode == MODE_LATENCY) {
        printf("%s %.3f ms%s", cmd_names[cmd], lat * 1000, ok ? "" : " FAILED");
        if (cmd == C_SELECT)
            printf(" exists=%ld", c->exists);
        if (cmd == C_FETCH_FLAGS || cmd == C_FETCH_FLAGS2)
            printf(" fetch_lines=%ld", c->fetch_lines);
        printf("\n");
        fflush(stdout);
    }
    if (!ok) {
        report_error(c, "failed", l);
    } else if (mode != MODE_LOAD || now() <= t_end) {
        /* what completes after the end does not count */
        ops++;
        cnt[cmd]++;
        lat_sum[cmd] += lat;
        if (lat > lat_max[cmd])
            lat_max[cmd] = lat;
    }
    if (cmd == C_APPEND && ok) {
        char *a = strcasestr(st, "[APPENDUID ");
        if (a) {
            char *q;
            strtoul(a + 11, &q, 10);
            c->appenduid = strtoul(q, NULL, 10);
        }
        appends++;
        c->append_ok = 1;
    }
    if (cmd == C_LOGIN && ok && strstr(l, "UIDPLUS"))
        c->uidplus = 1;
    if (cmd == C_LOGIN && !ok) {
        conn_close(c, 1);
        return;
    }
    if (cmd == C_SELECT && !ok && mode != MODE_LOAD) {
        conn_close(c, 0);
        return;
    }
    if (cmd == C_LOGOUT) {
        sessions++;
        conn_close(c, 1);
        return;
    }
    if (mode == MODE_LATENCY && cmd == C_FETCH_FLAGS2) {
        next_cmd(c);   /* LOGOUT */
        return;
    }
    next_cmd(c);
}

static void handle_line(conn_t *c, char *l, size_t n)
{
    if (verbose > 2)
        fprintf(stderr, "S%d< %.*s\n", c->id, (int) (n > 200 ? 200 : n), l);
    if (c->state == ST_GREETING) {
        if (starts(l, n, "* OK")) {
            c->state = ST_CMD;
            if (strstr(l, "UIDPLUS"))
                c->uidplus = 1;
            c->cmd = -1;
            next_cmd(c);
        } else {
            report_error(c, "greeting", l);
            conn_close(c, mode == MODE_LOAD);
        }
        return;
    }
    if (n >= 1 && l[0] == '+') {
        if (c->want_cont && c->cmd == C_APPEND) {
            c->want_cont = 0;
            wbuf_add(c, append_msg, append_len);
            wbuf_add(c, "\r\n", 2);
            flush_out(c);
        } else if (c->cmd == C_IDLE && c->state != ST_IDLE) {
            c->state = ST_IDLE;
            idle_count++;
            leave_login(c);
        } else {
            report_error(c, "unexpected continuation", l);
        }
        return;
    }
    if (n >= 2 && l[0] == '*' && l[1] == ' ') {
        handle_untagged(c, l, n);
        return;
    }
    if (c->cmd >= 0 && starts(l, n, c->tag) && l[strlen(c->tag)] == ' ') {
        if (c->cmd == C_IDLE) {
            /* IDLE ended by the server */
            report_error(c, "IDLE ended", l);
            conn_close(c, 0);
            return;
        }
        complete(c, l);
        return;
    }
    report_error(c, "unexpected line", l);
}

/* returns 0 when the connection was closed */
static int parse(conn_t *c)
{
    size_t p = 0;
    int fd = c->fd;

    while (p < c->rlen) {
        if (c->lit) {
            size_t k = c->rlen - p < c->lit ? c->rlen - p : c->lit;
            c->lit -= k;
            p += k;
            continue;
        }
        char *s = c->rbuf + p;
        char *nl = memchr(s, '\n', c->rlen - p);
        if (nl == NULL)
            break;
        size_t seg = nl - s + 1, body = seg - 1;
        if (body > 0 && s[body - 1] == '\r')
            body--;
        /* keep the start of the logical line */
        if (c->llen < sizeof(c->line) - 1) {
            size_t k = body;
            if (k > sizeof(c->line) - 1 - c->llen)
                k = sizeof(c->line) - 1 - c->llen;
            memcpy(c->line + c->llen, s, k);
        }
        c->llen += body;
        p += seg;
        /* a literal: {n} or {n+} at the end of the segment */
        if (body >= 3 && s[body - 1] == '}') {
            size_t i = body - 2;
            if (s[i] == '+')
                i--;
            size_t end = i + 1;
            while (i > 0 && s[i] >= '0' && s[i] <= '9')
                i--;
            if (s[i] == '{' && end > i + 1) {
                c->lit = strtoull(s + i + 1, NULL, 10);
                continue;
            }
        }
        size_t ln = c->llen < sizeof(c->line) - 1 ? c->llen : sizeof(c->line) - 1;
        c->line[ln] = '\0';
        c->llen = 0;
        handle_line(c, c->line, ln);
        if (c->fd != fd || c->state == ST_DONE || c->state == ST_CONNECTING)
            return 0;
    }
    if (p > 0) {
        memmove(c->rbuf, c->rbuf + p, c->rlen - p);
        c->rlen -= p;
    }
    return 1;
}

static void on_read(conn_t *c)
{
    for (;;) {
        if (c->rcap - c->rlen < 4096) {
            size_t cap = c->rcap ? c->rcap * 2 : 8192;
            c->rbuf = realloc(c->rbuf, cap);
            if (c->rbuf == NULL)
                die("out of memory");
            c->rcap = cap;
        }
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            report_error(c, "recv", strerror(errno));
            conn_close(c, mode == MODE_LOAD);
            return;
        }
        if (n == 0) {
            report_error(c, "connection closed by the server", NULL);
            conn_close(c, mode == MODE_LOAD);
            return;
        }
        octets_in += n;
        c->rlen += n;
        if (!parse(c))
            return;
        /* small buffers stay small for idle connections */
        if (c->rlen == 0 && c->rcap > 65536 && mode != MODE_LOAD) {
            free(c->rbuf);
            c->rbuf = NULL;
            c->rcap = 0;
        }
    }
}

/* ---- connections ------------------------------------------------------- */

static void conn_close(conn_t *c, int reopen)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    if (c->state == ST_IDLE)
        idle_count--;
    leave_login(c);
    c->rlen = c->wlen = c->woff = 0;
    c->lit = c->llen = 0;
    c->cmd = -1;
    c->want_cont = 0;
    c->round = 0;
    c->exists = 0;
    if (reopen && mode == MODE_LOAD && !stopping && now() < t_end) {
        conn_open(c);
        return;
    }
    c->state = ST_DONE;
    active--;
}

static void conn_open(conn_t *c)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    int one = 1;

    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        die("bad host %s", host);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
        die("socket: %s (raise ulimit -n)", strerror(errno));
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (nsrc) {
        struct sockaddr_in la = { .sin_family = AF_INET };
        inet_pton(AF_INET, src_addrs[c->id % nsrc], &la.sin_addr);
        if (bind(c->fd, (struct sockaddr *) &la, sizeof(la)) < 0)
            die("bind %s: %s", src_addrs[c->id % nsrc], strerror(errno));
    }
    c->state = ST_CONNECTING;
    if (mode == MODE_IDLE) {
        c->in_login = 1;
        login_phase++;
    }
    c->cmd = -1;
    c->round = 0;
    c->uidplus = 0;
    c->got_exists_idle = 0;
    if (connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0
        && errno != EINPROGRESS)
    {
        report_error(c, "connect", strerror(errno));
        close(c->fd);
        c->fd = -1;
        c->state = ST_DONE;
        active--;
        return;
    }
    struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->sent = now();
}

static void on_event(conn_t *c, uint32_t events)
{
    if (c->state == ST_CONNECTING) {
        int e = 0;
        socklen_t l = sizeof(e);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l);
        if (e) {
            report_error(c, "connect", strerror(e));
            conn_close(c, 0);
            return;
        }
        c->state = ST_GREETING;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->sent = now();
    }
    if (events & EPOLLOUT)
        flush_out(c);
    if (c->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        on_read(c);
}

static void on_signal(int sig)
{
    (void) sig;
    got_signal = 1;
}

static void print_load_summary(double secs)
{
    int i;
    printf("%-36s %9s %7s %9s %9s\n", "command", "done", "errors", "avg ms",
           "max ms");
    for (i = 0; i < C_N; i++) {
        if (cnt[i] == 0 && err[i] == 0)
            continue;
        printf("%-36s %9lu %7lu %9.2f %9.1f\n", cmd_names[i], cnt[i], err[i],
               cnt[i] ? lat_sum[i] / cnt[i] * 1000 : 0, lat_max[i] * 1000);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("status=%s ops=%lu ops_per_s=%.1f errors=%lu secs=%.2f sessions=%lu"
           " clients=%d appends=%lu mb_in=%.1f client_cpu_s=%.2f\n",
           errors ? "errors" : "ok", ops, secs > 0 ? ops / secs : 0, errors,
           secs, sessions, nclients, appends, octets_in / 1e6,
           ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
           + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
}

int main(int argc, char **argv)
{
    int o, i;
    char *b;

    while ((o = getopt(argc, argv, "M:p:h:u:w:c:U:d:r:t:s:b:P:v")) != -1) {
        switch (o) {
        case 'M':
            if (strcmp(optarg, "load") == 0) mode = MODE_LOAD;
            else if (strcmp(optarg, "idle") == 0) mode = MODE_IDLE;
            else if (strcmp(optarg, "latency") == 0) mode = MODE_LATENCY;
            else die("bad mode %s", optarg);
            break;
        case 'p': port = atoi(optarg); break;
        case 'h': host = optarg; break;
        case 'u': user_fmt = optarg; break;
        case 'w': password = optarg; break;
        case 'c': nclients = atoi(optarg); break;
        case 'U': nusers = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'r': rounds = atoi(optarg); break;
        case 't': timeout_s = atof(optarg); break;
        case 's': append_size = strtoul(optarg, NULL, 10); break;
        case 'P': parallel = atoi(optarg); break;
        case 'b':
            b = strdup(optarg);
            for (char *t = strtok(b, ","); t; t = strtok(NULL, ",")) {
                src_addrs = realloc(src_addrs, (nsrc + 1) * sizeof(char *));
                src_addrs[nsrc++] = t;
            }
            break;
        case 'v': verbose++; break;
        default:
            die("usage: see the head of imap-load.c");
        }
    }
    if (port <= 0 || nclients <= 0 || rounds <= 0 || parallel <= 0)
        die("usage: imap-load -p PORT [-M load|idle|latency] [-c clients] ...");
    if (nusers <= 0)
        nusers = mode == MODE_LATENCY ? 1 : nclients;
    if (mode == MODE_LATENCY) {
        nclients = 1;
    }

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t) nclients + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t) nclients + 64)
            die("ulimit -n %lu is too low for %d clients",
                (unsigned long) rl.rlim_cur, nclients);
    }

    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    setvbuf(stdout, NULL, _IOLBF, 0);
    rnd_state ^= (unsigned long) getpid() * 2654435761UL;
    build_append_msg();

    ep = epoll_create1(0);
    conns = calloc(nclients, sizeof(conn_t));
    for (i = 0; i < nclients; i++) {
        conns[i].id = i;
        conns[i].fd = -1;
        conns[i].user = i % nusers + 1;
        conns[i].state = ST_DONE;
    }

    t_start = now();
    t_end = t_start + duration;
    int next_open = 0, lat_round = 0;
    if (mode == MODE_LOAD) {
        for (i = 0; i < nclients; i++) {
            active++;
            conn_open(&conns[i]);
        }
    }

    struct epoll_event evs[256];
    int last_idle = -1, last_exists = -1;
    unsigned long last_err = (unsigned long) -1;
    double last_print = 0;

    for (;;) {
        if (got_signal)
            break;
        if (mode == MODE_IDLE) {
            while (next_open < nclients && login_phase < parallel) {
                active++;
                conn_open(&conns[next_open++]);
            }
            double t = now();
            if ((idle_count != last_idle || exists_count != last_exists
                 || errors != last_err) && t - last_print >= 0.5) {
                printf("idle=%d exists=%d errors=%lu opened=%d secs=%.1f\n",
                       idle_count, exists_count, errors, next_open, t - t_start);
                last_idle = idle_count;
                last_exists = exists_count;
                last_err = errors;
                last_print = t;
            }
            if (next_open == nclients && active == 0)
                break;
        } else if (mode == MODE_LATENCY) {
            if (active == 0) {
                if (lat_round++ >= rounds)
                    break;
                if (lat_round > 1)
                    printf("--\n");
                printf("session %d\n", lat_round);
                active++;
                conn_open(&conns[0]);
            }
        } else if (active == 0) {
            break;
        }

        double t = now();
        if (mode == MODE_LOAD && t >= t_end)
            stopping = 1;

        int n = epoll_wait(ep, evs, 256, 100);
        for (i = 0; i < n; i++)
            on_event(evs[i].data.ptr, evs[i].events);

        /* timeouts: a command (or the greeting) unanswered too long */
        static double last_scan;
        t = now();
        if (t - last_scan > 0.5) {
            last_scan = t;
            for (int k = 0; k < nclients; k++) {
                conn_t *c = &conns[k];
                if (c->fd < 0 || c->state == ST_IDLE)
                    continue;
                if (t - c->sent > timeout_s) {
                    report_error(c, "timeout", NULL);
                    conn_close(c, mode == MODE_LOAD);
                }
            }
            if (mode == MODE_LOAD && stopping) {
                /* in-flight commands past the end: give them a moment */
                if (t > t_end + timeout_s)
                    break;
            }
        }
    }

    double secs = (mode == MODE_LOAD ? t_end : now()) - t_start;
    if (mode == MODE_LOAD) {
        print_load_summary(secs);
    } else if (mode == MODE_IDLE) {
        printf("idle=%d exists=%d errors=%lu opened=%d secs=%.1f final\n",
               idle_count, exists_count, errors, next_open, now() - t_start);
    } else {
        printf("status=%s errors=%lu\n", errors ? "errors" : "ok", errors);
    }
    return errors ? 1 : 0;
}
