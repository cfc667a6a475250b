
/*
 * imapd: nginx-mailserver's IMAP server (RFC 3501), "protocol imapd;",
 * on the mailboxes that SMTP delivers to and POP3 shares.  This first
 * part has the not-authenticated and authenticated states: logins,
 * STARTTLS, and the mailbox list (LIST, LSUB, STATUS, CREATE, DELETE,
 * RENAME, SUBSCRIBE, UNSUBSCRIBE); no mailbox can be selected yet.
 */

#ifndef _NGX_MAIL_IMAPD_H_INCLUDED_
#define _NGX_MAIL_IMAPD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include "ngx_mail_account.h"
#include "ngx_mail_redis.h"
#include "ngx_mail_store.h"
#include "ngx_mail_imapd_parse.h"
#include "ngx_mail_imapd_seqset.h"


/* the non-literal octets of a command; SASL responses are lines too */
#define NGX_MAIL_IMAPD_LINE_MAX      8192
/* the literals one command takes inline: passwords, mailbox names */
#define NGX_MAIL_IMAPD_INLINE_MAX    8192
#define NGX_MAIL_IMAPD_MAX_NODES     256
/* RFC 3501 sets no limit; clients use a few octets */
#define NGX_MAIL_IMAPD_TAG_MAX       128
#define NGX_MAIL_IMAPD_MAX_DEPTH     8

/* a mailbox name in UTF-8, as stored */
#define NGX_MAIL_IMAPD_MAILBOX_MAX   512
#define NGX_MAIL_IMAPD_MAILBOX_MAX_STR  "512"

#define NGX_MAIL_IMAPD_OUT_SIZE      32768

/* the buffers of a session in IDLE: DONE, and untagged updates */
#define NGX_MAIL_IMAPD_IDLE_IN       512
#define NGX_MAIL_IMAPD_IDLE_OUT      2048

/* the flags one reply line holds: the rest of the line is short */
#define NGX_MAIL_IMAPD_FLAGS_MAX     700

/* SELECT: the messages looked at to find the first unseen one */
#define NGX_MAIL_IMAPD_UNSEEN_SCAN_STR  "2000"

/* COPY, MOVE into or out of \Junk: the messages the spam filter learns */
#define NGX_MAIL_IMAPD_TRAIN_MAX     100
#define NGX_MAIL_IMAPD_TRAIN_MAX_STR "100"

/* RFC 2177 3: at least 30 minutes in IDLE */
#define NGX_MAIL_IMAPD_IDLE_TIMEOUT  (31 * 60 * 1000)


typedef struct {
    ngx_flag_t                  auth_plaintext;
    size_t                      max_message_size;   /* APPEND */
} ngx_mail_imapd_srv_conf_t;


typedef enum {
    ngx_mail_imapd_not_authenticated = 0,
    ngx_mail_imapd_authenticated,
    ngx_mail_imapd_selected,
    ngx_mail_imapd_logout
} ngx_mail_imapd_state_e;


/* the ranges of a sequence set a command may hold */
#define NGX_MAIL_IMAPD_SEQ_RANGES_MAX  1024

/* the tagged reply of a command, its response codes included */
#define NGX_MAIL_IMAPD_DONE_MAX      1024


typedef struct {
    uint32_t                    first;
    uint32_t                    last;
} ngx_mail_imapd_uid_range_t;


/*
 * The selected mailbox as this session knows it (RFC 3501 2.3.1): the
 * UIDs by sequence number, and the highest modseq it has reported, so
 * that each sync asks Redis only for what changed since.  The arrays are
 * the session's own (ngx_alloc), freed when the mailbox is closed.
 */
typedef struct {
    ngx_str_t                   id;          /* mailbox id, decimal */
    ngx_str_t                   name;        /* UTF-8, as stored */
    uint32_t                    uidvalidity;
    uint32_t                    uidnext;
    uint64_t                    modseq;      /* what we have reported */
    uint32_t                    keywords;    /* crc32 of those reported */

    uint32_t                   *uids;        /* [seq - 1] */
    ngx_uint_t                  nuids;
    ngx_uint_t                  nalloc;

    /* expunged by others while EXPUNGE responses were not allowed */
    uint32_t                   *expunged;
    ngx_uint_t                  nexpunged;
    ngx_uint_t                  nexpunged_alloc;

    /* \Recent: UIDs this session was the first to see */
    ngx_mail_imapd_uid_range_t  recent[8];
    ngx_uint_t                  nrecent;

    ngx_mail_redis_subscription_t  sub;

    unsigned                    readonly:1;
    unsigned                    subscribed:1;
    unsigned                    listening:1; /* notifications do come */
    unsigned                    dirty:1;     /* a notification came */
} ngx_mail_imapd_mailbox_t;


/* STATUS items, in the order the client asked for them */
#define NGX_MAIL_IMAPD_STATUS_MAX    8


typedef struct {
    ngx_mail_imapd_state_e      state;

    ngx_mail_imapd_parse_conf_t parse_conf;
    ngx_mail_imapd_parser_t     parser;

    /* the tag of the command under way: SASL outlives its input line */
    ngx_str_t                   tag;
    u_char                     *tag_buf;
    ngx_str_t                  *verb;        /* its name, upper case */

    ngx_mail_account_sasl_t     sasl;
    ngx_uint_t                  errors;

    /* a command's reply too long for the output buffer, streamed */
    ngx_pool_t                 *reply_pool;
    ngx_buf_t                  *reply;

    /* the command waiting for Redis */
    ngx_str_t                   pattern;     /* LIST, LSUB: canonical */
    ngx_str_t                   wire_name;   /* STATUS: as sent */
    ngx_uint_t                  status[NGX_MAIL_IMAPD_STATUS_MAX];
    ngx_uint_t                  nstatus;
    unsigned                    lsub:1;

    ngx_mail_imapd_mailbox_t   *mailbox;     /* selected, or NULL */
    ngx_mail_imapd_mailbox_t    current;     /* what "mailbox" points to */
    ngx_mail_imapd_mailbox_t    selecting;   /* SELECT under way */

    /*
     * what one command allocates: sessions last for days, so it goes
     * when the next command starts
     */
    ngx_pool_t                 *cmd_pool;

    /* the tagged reply waiting for the sync that goes before it */
    u_char                     *done_text;
    size_t                      done_len;
    unsigned                    done_expunge:1;  /* EXPUNGEs allowed */

    /* a command's work in several Redis round trips (FETCH, SEARCH) */
    ngx_int_t                 (*next)(ngx_mail_session_t *s, void *ctx);
    void                       *work;

    /* allocated on first use: idle sessions stay small */
    ngx_mail_imapd_seq_range_t *ranges;

    /* APPEND: the message literal, streamed into a spool */
    ngx_mail_store_spool_t      spool;
    uint64_t                    literal_left;
    unsigned                    appending:1; /* spooling the literal */
    unsigned                    spool_wait:1;  /* for Redis to catch up */

    ngx_msec_t                  timeout;     /* the session's, out of IDLE */

    /* " @pid.connection": ends the notifications of our own changes */
    ngx_str_t                   origin;
    u_char                      origin_buf[NGX_INT64_LEN * 2 + 3];

    /* FETCH, STORE, SEARCH, COPY: no sync unless a notification came */
    unsigned                    lazy_sync:1;
    unsigned                    store_silent:1;  /* STORE ...FLAGS.SILENT */
    ngx_str_t                   qresync_known;  /* SELECT (QRESYNC) */

    unsigned                    idling:1;    /* IDLE: waiting for DONE */
    unsigned                    condstore:1; /* RFC 7162 enabled */
    unsigned                    qresync:1;

    unsigned                    parsing:1;   /* a command is being read */
    unsigned                    skipping:1;  /* the rest of a bad one */
} ngx_mail_imapd_ctx_t;


typedef ngx_int_t (*ngx_mail_imapd_cmd_pt)(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);


void ngx_mail_imapd_init_session(ngx_mail_session_t *s, ngx_connection_t *c);
void ngx_mail_imapd_init_protocol(ngx_event_t *rev);

void ngx_mail_imapd_error(ngx_mail_session_t *s, ngx_mail_imapd_ctx_t *ctx);
void ngx_mail_imapd_done(ngx_mail_session_t *s);
void ngx_mail_imapd_condstore_on(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_pool_t *ngx_mail_imapd_pool(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
void ngx_mail_imapd_pool_free(ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_parser_memory(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_flag_t on);
ngx_int_t ngx_mail_imapd_tagged(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, const char *text);
ngx_int_t ngx_mail_imapd_write(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, u_char *data, size_t len);
ngx_int_t ngx_mail_imapd_printf(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, const char *fmt, ...);
ngx_int_t ngx_mail_imapd_unavailable(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_eval(ngx_mail_session_t *s, char *script,
    ngx_str_t *args, ngx_uint_t nargs, ngx_mail_redis_handler_pt handler);
ngx_int_t ngx_mail_imapd_mailbox_arg(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_uint_t n, ngx_str_t *name, u_char *buf,
    ngx_flag_t create);
u_char *ngx_mail_imapd_quote(u_char *p, u_char *src, size_t len);
u_char *ngx_mail_imapd_capabilities(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, u_char *p);
ngx_mail_imapd_node_t *ngx_mail_imapd_arg(ngx_mail_imapd_ctx_t *ctx,
    ngx_uint_t n);
ngx_int_t ngx_mail_imapd_arg_string(ngx_mail_imapd_ctx_t *ctx, ngx_uint_t n,
    ngx_str_t *value);

/* not authenticated: ngx_mail_imapd_auth.c */
ngx_flag_t ngx_mail_imapd_auth_offered(ngx_mail_session_t *s);
ngx_int_t ngx_mail_imapd_cmd_login(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_authenticate(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
void ngx_mail_imapd_sasl_continue(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_str_t *line);

/* authenticated: ngx_mail_imapd_mailbox.c */
ngx_int_t ngx_mail_imapd_cmd_list(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_lsub(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_status(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_create(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_delete(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_rename(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_subscribe(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_unsubscribe(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);

/* RFC 9208 QUOTA: ngx_mail_imapd_mailbox.c */
ngx_int_t ngx_mail_imapd_cmd_getquotaroot(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_getquota(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_setquota(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);

/* the selected state: ngx_mail_imapd_select.c */
ngx_int_t ngx_mail_imapd_cmd_select(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_close(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_unselect(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_check(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_expunge(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_idle(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
void ngx_mail_imapd_idle_line(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_str_t *line);
void ngx_mail_imapd_idle_sync(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_complete(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_flag_t expunge_ok, const char *fmt, ...);
void ngx_mail_imapd_mailbox_free(ngx_mail_imapd_mailbox_t *mb);
ngx_int_t ngx_mail_imapd_seqset_arg(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_uint_t n, ngx_flag_t uid,
    ngx_mail_imapd_seqset_t *set);
ngx_int_t ngx_mail_imapd_seq_of(ngx_mail_imapd_mailbox_t *mb, uint32_t uid);
ngx_flag_t ngx_mail_imapd_is_recent(ngx_mail_imapd_mailbox_t *mb,
    uint32_t uid);
size_t ngx_mail_imapd_flags_fit(u_char *flags, size_t len);
u_char *ngx_mail_imapd_range(u_char *p, uint32_t *first, uint32_t *last,
    uint32_t uid, ngx_flag_t *any);
u_char *ngx_mail_imapd_write_flags(u_char *p, u_char *flags, size_t len,
    ngx_flag_t recent);
ngx_int_t ngx_mail_imapd_targets(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx, ngx_mail_imapd_seqset_t *set,
    ngx_flag_t uid, uint32_t **uids, ngx_uint_t *n);

/* FETCH, SEARCH: ngx_mail_imapd_messages.c */
ngx_int_t ngx_mail_imapd_cmd_fetch(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_search(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
void ngx_mail_imapd_work_end(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);

/* APPEND: ngx_mail_imapd_append.c */
ngx_int_t ngx_mail_imapd_append_literal(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_append_data(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_append(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
void ngx_mail_imapd_append_discard(ngx_mail_imapd_ctx_t *ctx);

/*
 * The Lua function APPEND and COPY add a message's flags to the
 * mailbox's keywords with (STORE has its own, for several flags at once):
 * keywords_add(mb, kw, flags) returns the keywords, written back when one
 * is new; keywords compare case-insensitively (RFC 3501 2.3.2)
 */
#define NGX_MAIL_IMAPD_KEYWORDS_LUA                                           \
    "local function keywords_add(mb, kw, flags)\n"                            \
    "  for k in string.gmatch(flags, '%S+') do\n"                             \
    "    if string.sub(k, 1, 1) ~= '\\\\' and\n"                              \
    "       not string.find(' ' .. string.lower(kw) .. ' ',\n"                \
    "                       ' ' .. string.lower(k) .. ' ', 1, true) then\n"   \
    "      kw = kw == '' and k or kw .. ' ' .. k\n"                           \
    "      redis.call('HSET', mb, 'keywords', kw)\n"                          \
    "    end\n"                                                               \
    "  end\n"                                                                 \
    "  return kw\n"                                                           \
    "end\n"

/* STORE, COPY, MOVE: ngx_mail_imapd_store.c */
ngx_int_t ngx_mail_imapd_flag_canonical(ngx_str_t *flag);
ngx_str_t *ngx_mail_imapd_uid_args(ngx_mail_session_t *s, ngx_uint_t nfixed,
    uint32_t *uids, ngx_uint_t n);
ngx_int_t ngx_mail_imapd_cmd_store(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_copy(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);
ngx_int_t ngx_mail_imapd_cmd_move(ngx_mail_session_t *s,
    ngx_mail_imapd_ctx_t *ctx);

/* the spam filter learns from COPY and MOVE: ngx_mail_imapd_train.c */
void ngx_mail_imapd_train(ngx_mail_session_t *s, redisReply *class,
    redisReply *blobs);


extern ngx_module_t         ngx_mail_imapd_module;
extern ngx_mail_protocol_t  ngx_mail_imapd_protocol;


#endif /* _NGX_MAIL_IMAPD_H_INCLUDED_ */
