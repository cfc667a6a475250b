
/*
 * libFuzzer target for the delivery queue's DNS answer handling, through
 * c-ares's parsers.
 *
 * The first octet chooses what the answer is taken for: the MX query of
 * the domain, or the A or AAAA query of its first host; the next four
 * seed the "random" function; the rest is the raw DNS answer.  Checked
 * besides the sanitizers: the host list is bounded, sorted by
 * preference, without duplicates, every name a valid lower-case host
 * name; a failure has a reason and a status of its class; the list is
 * the same set whatever the random function says; addresses are
 * bounded and of the family asked for.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ares.h uses fd_set, which strict C99 leaves to this header */
#include <sys/select.h>
#include <ares.h>

#include "ngx_mail_queue_mx.h"


#define MAX_INPUT  65536


static ngx_mail_queue_mx_t  mx, again;


static uint32_t
fuzz_random(void *data)
{
    uint32_t  *state;

    state = data;
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;

    return *state;
}


static void
check_name(const char *name, size_t len)
{
    size_t  i, label;

    if (len == 0 || len > NGX_MAIL_QUEUE_MX_NAME_MAX || name[len] != '\0'
        || strlen(name) != len)
    {
        abort();
    }

    label = 0;

    for (i = 0; i < len; i++) {
        if (name[i] == '.') {
            if (label == 0) {
                abort();
            }

            label = 0;
            continue;
        }

        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9') || name[i] == '-')
            || ++label > NGX_MAIL_QUEUE_MX_LABEL_MAX)
        {
            abort();
        }
    }

    if (label == 0) {
        abort();
    }
}


static void
check_failure(ngx_mail_queue_mx_t *m)
{
    if (m->nhosts != 0 || m->error == NULL
        || (m->result == NGX_MAIL_QUEUE_MX_TEMPORARY && m->status[0] != '4')
        || (m->result == NGX_MAIL_QUEUE_MX_PERMANENT && m->status[0] != '5')
        || m->result == NGX_MAIL_QUEUE_MX_OK)
    {
        abort();
    }
}


static void
check_hosts(ngx_mail_queue_mx_t *m)
{
    unsigned  i, j;

    if (m->nhosts == 0 || m->nhosts > NGX_MAIL_QUEUE_MX_MAX
        || m->result != NGX_MAIL_QUEUE_MX_OK)
    {
        abort();
    }

    if (m->implicit
        && (m->nhosts != 1 || strcmp(m->hosts[0].name, m->domain) != 0))
    {
        abort();
    }

    for (i = 0; i < m->nhosts; i++) {
        check_name(m->hosts[i].name, m->hosts[i].name_len);

        if (m->hosts[i].naddrs != 0
            || (i > 0 && m->hosts[i].preference < m->hosts[i - 1].preference)
            || m->hosts[i].preference > 65535)
        {
            abort();
        }

        for (j = 0; j < i; j++) {
            if (strcmp(m->hosts[i].name, m->hosts[j].name) == 0) {
                abort();
            }
        }
    }
}


/* the same hosts at the same preferences, in any order within one */

static void
same_set(ngx_mail_queue_mx_t *a, ngx_mail_queue_mx_t *b)
{
    unsigned  i, j;

    if (a->nhosts != b->nhosts || a->skipped != b->skipped
        || a->implicit != b->implicit)
    {
        abort();
    }

    for (i = 0; i < a->nhosts; i++) {
        for (j = 0; j < b->nhosts; j++) {
            if (strcmp(a->hosts[i].name, b->hosts[j].name) == 0) {
                break;
            }
        }

        if (j == b->nhosts
            || a->hosts[i].preference != b->hosts[j].preference
            || a->hosts[i].preference != b->hosts[i].preference)
        {
            abort();
        }
    }
}


static void
fuzz_mx(const uint8_t *data, size_t size, uint32_t seed)
{
    int       rc, rc2;
    uint32_t  state;

    ngx_mail_queue_mx_init(&mx, (const unsigned char *) "example.org", 11);

    state = seed | 1;
    rc = ngx_mail_queue_mx_parse_mx_answer(&mx, data, size, fuzz_random,
                                           &state);

    if (rc == NGX_MAIL_QUEUE_PARSE_OK) {
        check_hosts(&mx);

    } else if (rc == NGX_MAIL_QUEUE_PARSE_ERROR) {
        check_failure(&mx);

    } else {
        abort();
    }

    ngx_mail_queue_mx_init(&again, (const unsigned char *) "example.org", 11);
    rc2 = ngx_mail_queue_mx_parse_mx_answer(&again, data, size, NULL, NULL);

    if (rc2 != rc || again.result != mx.result) {
        abort();
    }

    if (rc == NGX_MAIL_QUEUE_PARSE_OK) {
        same_set(&mx, &again);
    }
}


static void
fuzz_addr(const uint8_t *data, size_t size, unsigned family)
{
    int       rc, status;
    unsigned  i, before;

    ngx_mail_queue_mx_init(&mx, (const unsigned char *) "example.org", 11);

    /* implicit MX: the host is the domain itself */
    if (ngx_mail_queue_mx_parse_mx(&mx, ARES_ENODATA, NULL, 0, NULL,
                                   NULL)
        != NGX_MAIL_QUEUE_PARSE_OK)
    {
        abort();
    }

    status = ngx_mail_queue_mx_answer_status(data, size);

    /* twice: the second adds to the first, within the bound */
    for (i = 0; i < 2; i++) {
        before = mx.hosts[0].naddrs;
        rc = ngx_mail_queue_mx_parse_addr(&mx, 0, family, status, data, size);

        if (mx.hosts[0].naddrs > NGX_MAIL_QUEUE_MX_ADDRS_MAX
            || (rc == NGX_MAIL_QUEUE_PARSE_OK) != (mx.hosts[0].naddrs > before)
            || (rc == NGX_MAIL_QUEUE_PARSE_ERROR && !mx.hosts[0].temporary))
        {
            abort();
        }
    }

    for (i = 0; i < mx.hosts[0].naddrs; i++) {
        if (mx.hosts[0].addrs[i].family != family) {
            abort();
        }
    }

    rc = ngx_mail_queue_mx_finish(&mx);

    if (rc == NGX_MAIL_QUEUE_PARSE_OK) {
        if (mx.hosts[0].naddrs == 0) {
            abort();
        }

    } else if (mx.hosts[0].naddrs != 0 || mx.error == NULL
               || mx.result != NGX_MAIL_QUEUE_MX_TEMPORARY)
    {
        /* only one family was asked: never a permanent failure */
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t  seed;
    unsigned  mode;

    if (size < 5 || size > MAX_INPUT) {
        return 0;
    }

    mode = data[0] % 3;
    seed = (uint32_t) data[1] << 24 | (uint32_t) data[2] << 16
           | (uint32_t) data[3] << 8 | data[4];
    data += 5;
    size -= 5;

    switch (mode) {

    case 0:
        fuzz_mx(data, size, seed);
        break;

    case 1:
        fuzz_addr(data, size, NGX_MAIL_QUEUE_MX_A);
        break;

    default:
        fuzz_addr(data, size, NGX_MAIL_QUEUE_MX_AAAA);
        break;
    }

    return 0;
}
