
/*
 * DNSBL lookups of the client address (RFC 5782), one per zone, all at
 * once.  Each zone's answer is first looked for in Redis, where an
 * earlier lookup by any worker or node left it for as long as its TTL
 * said (RFC 5782 5: a cache MUST respect the TTL); only a miss goes to
 * DNS, on the DNS module's c-ares channel.
 *
 *   dnsbl:{zone}:IP   "127.0.0.2": listed with that answer; "-": not
 *
 * A zone that does not answer in time (SERVFAIL, a timeout, an answer
 * outside 127.0.0.0/8) counts neither way: it is reported in "failed"
 * and not cached, so the next message asks again.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_mail.h>

#include <ares.h>
#include <arpa/nameser.h>

#include "ngx_mail_redis.h"
#include "ngx_mail_dns.h"
#include "ngx_mail_spam.h"
#include "ngx_mail_spam_dns.h"


#define NGX_MAIL_SPAM_DNSBL_KEY_FMT     "dnsbl:{%V}:%V"

/* 32 nibbles and their dots: RFC 5782 2.4 */
#define NGX_MAIL_SPAM_DNSBL_REV_LEN       64


typedef struct ngx_mail_spam_dnsbl_ctx_s  ngx_mail_spam_dnsbl_ctx_t;

typedef struct {
    ngx_mail_spam_dnsbl_ctx_t    *ctx;
    ngx_mail_spam_dnsbl_zone_t   *zone;

    u_char                       *name;      /* NUL-terminated */
    ngx_str_t                     key;

    ngx_mail_redis_request_t     *redis;
    ngx_mail_dns_query_t         *dns;

    unsigned                      done:1;
} ngx_mail_spam_dnsbl_lookup_t;


struct ngx_mail_spam_dnsbl_ctx_s {
    ngx_mail_spam_dnsbl_t         dnsbl;

    ngx_log_t                    *log;
    ngx_mail_spam_dnsbl_lookup_t *lookups;
    ngx_uint_t                    nlookups;
    ngx_uint_t                    pending;

    ngx_mail_spam_job_t           job;
};


static ngx_int_t ngx_mail_spam_dnsbl_names(ngx_mail_spam_dnsbl_ctx_t *ctx,
    ngx_pool_t *pool, struct sockaddr *sa, socklen_t socklen,
    ngx_array_t *zones);
static void ngx_mail_spam_dnsbl_get(ngx_mail_spam_dnsbl_lookup_t *lookup);
static void ngx_mail_spam_dnsbl_cached(redisReply *reply, void *data);
static void ngx_mail_spam_dnsbl_ask(ngx_mail_spam_dnsbl_lookup_t *lookup);
static void ngx_mail_spam_dnsbl_answer(int status, u_char *abuf,
    size_t alen, void *data);
static void ngx_mail_spam_dnsbl_listed(ngx_mail_spam_dnsbl_lookup_t *lookup,
    in_addr_t answer);
static void ngx_mail_spam_dnsbl_cache(ngx_mail_spam_dnsbl_lookup_t *lookup,
    in_addr_t answer, time_t ttl);
static void ngx_mail_spam_dnsbl_lookup_done(
    ngx_mail_spam_dnsbl_lookup_t *lookup);
static void ngx_mail_spam_dnsbl_timed_out(void *data);
static void ngx_mail_spam_dnsbl_stop(void *data);
static void ngx_mail_spam_dnsbl_done(void *data);


ngx_mail_spam_dnsbl_t *
ngx_mail_spam_dnsbl_start(ngx_pool_t *pool, ngx_log_t *log,
    struct sockaddr *sa, socklen_t socklen, ngx_array_t *zones,
    ngx_msec_t timeout, ngx_mail_spam_done_pt handler, void *data)
{
    ngx_uint_t                  i;
    ngx_mail_spam_dnsbl_ctx_t  *ctx;

    if (zones == NULL || zones->nelts == 0) {
        return NULL;
    }

    ctx = ngx_pcalloc(pool, sizeof(ngx_mail_spam_dnsbl_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    if (ngx_array_init(&ctx->dnsbl.hits, pool, zones->nelts,
                       sizeof(ngx_mail_spam_dnsbl_hit_t))
        != NGX_OK)
    {
        return NULL;
    }

    ctx->dnsbl.priv = ctx;
    ctx->log = log;

    if (ngx_mail_spam_dnsbl_names(ctx, pool, sa, socklen, zones) != NGX_OK) {
        return NULL;
    }

    ctx->job.ctx = ctx;
    ctx->job.timed_out = ngx_mail_spam_dnsbl_timed_out;
    ctx->job.stop = ngx_mail_spam_dnsbl_stop;
    ctx->job.done = ngx_mail_spam_dnsbl_done;
    ctx->job.handler = handler;
    ctx->job.data = data;

    if (ngx_mail_spam_job_init(&ctx->job, pool, log, timeout) != NGX_OK) {
        return NULL;
    }

    ctx->pending = ctx->nlookups;

    for (i = 0; i < ctx->nlookups; i++) {
        ngx_mail_spam_dnsbl_get(&ctx->lookups[i]);
    }

    if (ctx->nlookups == 0) {
        /* no name could be asked: every zone failed */
        ngx_mail_spam_job_finish(&ctx->job);
    }

    ctx->job.starting = 0;

    return &ctx->dnsbl;
}


void
ngx_mail_spam_dnsbl_cancel(ngx_mail_spam_dnsbl_t *d)
{
    ngx_mail_spam_dnsbl_ctx_t  *ctx;

    ctx = d->priv;

    ngx_mail_spam_job_cancel(&ctx->job);
}


/*
 * The names asked about: RFC 5782 2.1, the octets of an IPv4 address in
 * reverse order; 2.4, the nibbles of an IPv6 address in reverse order,
 * each a hexadecimal digit.  An IPv4-mapped address is the IPv4 client
 * it stands for (a dual-stack listener).
 */

static ngx_int_t
ngx_mail_spam_dnsbl_names(ngx_mail_spam_dnsbl_ctx_t *ctx, ngx_pool_t *pool,
    struct sockaddr *sa, socklen_t socklen, ngx_array_t *zones)
{
    u_char                        *p, *a;
    size_t                         len;
    ngx_str_t                      ip, zone;
    ngx_int_t                      n;
    ngx_uint_t                     i;
    struct sockaddr_in            *sin;
    ngx_mail_spam_dnsbl_zone_t    *z;
    ngx_mail_spam_dnsbl_lookup_t  *lookup;
    u_char                         rev[NGX_MAIL_SPAM_DNSBL_REV_LEN];
    u_char                         text[NGX_INET6_ADDRSTRLEN];
#if (NGX_HAVE_INET6)
    struct sockaddr_in6           *sin6;
    static u_char                  hex[] = "0123456789abcdef";
#endif

    p = rev;

    switch (sa->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) sa;
        a = (u_char *) &sin->sin_addr.s_addr;

        p = ngx_sprintf(p, "%ud.%ud.%ud.%ud", a[3], a[2], a[1], a[0]);
        ip.len = ngx_sprintf(text, "%ud.%ud.%ud.%ud", a[0], a[1], a[2], a[3])
                 - text;
        break;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) sa;
        a = sin6->sin6_addr.s6_addr;

        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            p = ngx_sprintf(p, "%ud.%ud.%ud.%ud", a[15], a[14], a[13], a[12]);
            ip.len = ngx_sprintf(text, "%ud.%ud.%ud.%ud",
                                 a[12], a[13], a[14], a[15])
                     - text;
            break;
        }

        for (n = 15; n >= 0; n--) {
            *p++ = hex[a[n] & 0x0f];
            *p++ = '.';
            *p++ = hex[a[n] >> 4];
            *p++ = '.';
        }

        p--;
        ip.len = ngx_inet6_ntop(a, text, NGX_INET6_ADDRSTRLEN);
        break;
#endif

    default:
        ngx_log_error(NGX_LOG_ERR, ctx->log, 0,
                      "spam: dnsbl: no lookup for address family %d",
                      (int) sa->sa_family);
        return NGX_ERROR;
    }

    ip.data = text;

    ctx->lookups = ngx_pcalloc(pool, zones->nelts
                                     * sizeof(ngx_mail_spam_dnsbl_lookup_t));
    if (ctx->lookups == NULL) {
        return NGX_ERROR;
    }

    z = zones->elts;

    for (i = 0; i < zones->nelts; i++) {
        lookup = &ctx->lookups[i];

        lookup->ctx = ctx;
        lookup->zone = &z[i];

        /* "zen.example." is zen.example */
        zone = z[i].zone;

        if (zone.len && zone.data[zone.len - 1] == '.') {
            zone.len--;
        }

        len = (p - rev) + 1 + zone.len;

        lookup->name = ngx_pnalloc(pool, len + 1);
        if (lookup->name == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(lookup->name, "%*s.%V%Z", (size_t) (p - rev), rev, &zone);

        lookup->key.len = sizeof("dnsbl:{}:") - 1 + zone.len + ip.len;
        lookup->key.data = ngx_pnalloc(pool, lookup->key.len);
        if (lookup->key.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(lookup->key.data, NGX_MAIL_SPAM_DNSBL_KEY_FMT,
                    &zone, &ip);

        if (len > NGX_MAIL_SPF_NAME_MAX) {
            ngx_log_error(NGX_LOG_WARN, ctx->log, 0,
                          "spam: dnsbl: name \"%s\" too long", lookup->name);
            lookup->done = 1;
            ctx->dnsbl.failed++;
            continue;
        }

        ctx->nlookups++;
    }

    /* the lookups that are to be made first: pending counts only them */
    if (ctx->nlookups < zones->nelts) {
        n = 0;

        for (i = 0; i < zones->nelts; i++) {
            if (!ctx->lookups[i].done) {
                ctx->lookups[n++] = ctx->lookups[i];
            }
        }
    }

    return NGX_OK;
}


static void
ngx_mail_spam_dnsbl_get(ngx_mail_spam_dnsbl_lookup_t *lookup)
{
    ngx_mail_redis_cmd_t  cmd;

    ngx_mail_redis_cmd_init(&cmd, "GET");
    ngx_mail_redis_cmd_arg(&cmd, lookup->key.data, lookup->key.len);

    lookup->redis = ngx_mail_redis_send(&cmd, 1, ngx_mail_spam_dnsbl_cached,
                                        lookup, lookup->ctx->log);

    if (lookup->redis == NULL) {
        /* no Redis now: DNS still answers, uncached */
        ngx_mail_spam_dnsbl_ask(lookup);
    }
}


static void
ngx_mail_spam_dnsbl_cached(redisReply *reply, void *data)
{
    ngx_mail_spam_dnsbl_lookup_t *lookup = data;

    in_addr_t                   answer;
    ngx_mail_spam_dnsbl_ctx_t  *ctx;

    ctx = lookup->ctx;
    lookup->redis = NULL;

    if (reply == NULL || ngx_mail_redis_reply_is_error(reply, ctx->log)) {
        ngx_mail_spam_dnsbl_ask(lookup);
        return;
    }

    if (reply->type != REDIS_REPLY_STRING) {
        ngx_mail_spam_dnsbl_ask(lookup);
        return;
    }

    if (reply->len == 1 && reply->str[0] == '-') {
        ngx_log_debug1(NGX_LOG_DEBUG_MAIL, ctx->log, 0,
                       "spam: dnsbl %s: not listed (cached)", lookup->name);

        ngx_mail_spam_dnsbl_lookup_done(lookup);
        return;
    }

    answer = ngx_inet_addr((u_char *) reply->str, reply->len);

    if (answer == INADDR_NONE || (ntohl(answer) >> 24) != 127) {
        /* not ours: asked again, and written anew */
        ngx_mail_spam_dnsbl_ask(lookup);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_MAIL, ctx->log, 0,
                   "spam: dnsbl %s: listed (cached)", lookup->name);

    ngx_mail_spam_dnsbl_listed(lookup, answer);
    ngx_mail_spam_dnsbl_lookup_done(lookup);
}


static void
ngx_mail_spam_dnsbl_ask(ngx_mail_spam_dnsbl_lookup_t *lookup)
{
    ngx_mail_dns_query_t       *q;
    ngx_mail_spam_dnsbl_ctx_t  *ctx;

    ctx = lookup->ctx;

    q = ngx_mail_dns_query((char *) lookup->name, ns_t_a,
                           ngx_mail_spam_dnsbl_answer, lookup);

    if (q == NULL) {
        ngx_log_error(NGX_LOG_ERR, ctx->log, 0,
                      "spam: dnsbl %s: no DNS", lookup->name);

        ctx->dnsbl.failed++;
        ngx_mail_spam_dnsbl_lookup_done(lookup);
        return;
    }

    lookup->dns = q;
}


/* the answer is read by ngx_mail_spam_dns.c, the TTL bounded there */

static void
ngx_mail_spam_dnsbl_answer(int status, u_char *abuf, size_t alen,
    void *data)
{
    ngx_mail_spam_dnsbl_lookup_t *lookup = data;

    int                         rc;
    unsigned                    ttl;
    uint32_t                    answer;
    ngx_mail_spam_dnsbl_ctx_t  *ctx;

    ctx = lookup->ctx;

    lookup->dns = NULL;

    rc = ngx_mail_spam_dns_dnsbl(status, abuf, alen, &answer, &ttl);

    switch (rc) {

    case NGX_MAIL_SPAM_DNS_OK:
        ngx_log_debug2(NGX_LOG_DEBUG_MAIL, ctx->log, 0,
                       "spam: dnsbl %s: listed, ttl %ud", lookup->name, ttl);

        ngx_mail_spam_dnsbl_listed(lookup, answer);
        ngx_mail_spam_dnsbl_cache(lookup, answer, ttl);
        break;

    case NGX_MAIL_SPAM_DNS_NOT_LISTED:
        ngx_log_debug1(NGX_LOG_DEBUG_MAIL, ctx->log, 0,
                       "spam: dnsbl %s: not listed", lookup->name);

        ngx_mail_spam_dnsbl_cache(lookup, INADDR_NONE, ttl);
        break;

    case NGX_MAIL_SPAM_DNS_OUTSIDE:
        ngx_log_error(NGX_LOG_WARN, ctx->log, 0,
                      "spam: dnsbl %s: answer outside 127.0.0.0/8 ignored, "
                      "is the resolver rewriting NXDOMAIN?", lookup->name);

        ctx->dnsbl.failed++;
        break;

    default:
        if (status != ARES_SUCCESS) {
            ngx_log_error(NGX_LOG_INFO, ctx->log, 0,
                          "spam: dnsbl %s: %s", lookup->name,
                          ares_strerror(status));

        } else {
            ngx_log_error(NGX_LOG_INFO, ctx->log, 0,
                          "spam: dnsbl %s: bad answer: %s", lookup->name,
                          ares_strerror(rc));
        }

        ctx->dnsbl.failed++;
        break;
    }

    ngx_mail_spam_dnsbl_lookup_done(lookup);
}


static void
ngx_mail_spam_dnsbl_listed(ngx_mail_spam_dnsbl_lookup_t *lookup,
    in_addr_t answer)
{
    ngx_mail_spam_dnsbl_ctx_t  *ctx;
    ngx_mail_spam_dnsbl_hit_t  *hit;

    ctx = lookup->ctx;

    /* room for every zone was made at the start */
    hit = ngx_array_push(&ctx->dnsbl.hits);
    if (hit == NULL) {
        return;
    }

    hit->zone = lookup->zone->zone;
    hit->answer = answer;

    ctx->dnsbl.score += lookup->zone->weight;
}


/* nobody waits for the write: a lost one only costs a lookup later */

static void
ngx_mail_spam_dnsbl_cache(ngx_mail_spam_dnsbl_lookup_t *lookup,
    in_addr_t answer, time_t ttl)
{
    u_char                *p;
    size_t                 len;
    ngx_mail_redis_cmd_t   cmd;
    u_char                 value[NGX_INET_ADDRSTRLEN];
    u_char                 seconds[NGX_TIME_T_LEN];

    if (answer == INADDR_NONE) {
        value[0] = '-';
        len = 1;

    } else {
        p = (u_char *) &answer;
        len = ngx_sprintf(value, "%ud.%ud.%ud.%ud", p[0], p[1], p[2], p[3])
              - value;
    }

    if (ttl < NGX_MAIL_SPAM_DNS_DNSBL_MIN_TTL) {
        ttl = NGX_MAIL_SPAM_DNS_DNSBL_MIN_TTL;

    } else if (ttl > NGX_MAIL_SPAM_DNS_DNSBL_MAX_TTL) {
        ttl = NGX_MAIL_SPAM_DNS_DNSBL_MAX_TTL;
    }

    p = ngx_sprintf(seconds, "%T", ttl);

    ngx_mail_redis_cmd_init(&cmd, "SET");
    ngx_mail_redis_cmd_arg(&cmd, lookup->key.data, lookup->key.len);
    ngx_mail_redis_cmd_arg(&cmd, value, len);
    ngx_mail_redis_cmd_cstr(&cmd, "EX");
    ngx_mail_redis_cmd_arg(&cmd, seconds, p - seconds);

    (void) ngx_mail_redis_send(&cmd, 1, NULL, NULL, lookup->ctx->log);
}


static void
ngx_mail_spam_dnsbl_lookup_done(ngx_mail_spam_dnsbl_lookup_t *lookup)
{
    ngx_mail_spam_dnsbl_ctx_t  *ctx;

    ctx = lookup->ctx;

    lookup->done = 1;

    if (--ctx->pending == 0) {
        ngx_mail_spam_job_finish(&ctx->job);
    }
}


/* the zones that have not answered yet count as failed */

static void
ngx_mail_spam_dnsbl_timed_out(void *data)
{
    ngx_mail_spam_dnsbl_ctx_t  *ctx = data;

    ngx_uint_t  i;

    for (i = 0; i < ctx->nlookups; i++) {
        if (!ctx->lookups[i].done) {
            ngx_log_error(NGX_LOG_INFO, ctx->log, 0,
                          "spam: dnsbl %s: timed out", ctx->lookups[i].name);
            ctx->dnsbl.failed++;
        }
    }
}


static void
ngx_mail_spam_dnsbl_stop(void *data)
{
    ngx_mail_spam_dnsbl_ctx_t  *ctx = data;

    ngx_uint_t                     i;
    ngx_mail_spam_dnsbl_lookup_t  *lookup;

    for (i = 0; i < ctx->nlookups; i++) {
        lookup = &ctx->lookups[i];

        if (lookup->redis) {
            ngx_mail_redis_cancel(lookup->redis);
            lookup->redis = NULL;
        }

        if (lookup->dns) {
            ngx_mail_dns_cancel(lookup->dns);
            lookup->dns = NULL;
        }
    }
}


static void
ngx_mail_spam_dnsbl_done(void *data)
{
    ngx_mail_spam_dnsbl_ctx_t  *ctx = data;

    ctx->dnsbl.done = 1;
}
