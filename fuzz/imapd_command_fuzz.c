
/*
 * libFuzzer target for the IMAP command parser, with the sequence set
 * and modified UTF-7 code run on the atoms and strings it returns.
 *
 * The first two octets choose the limits and the literal mode; the
 * rest is what a client sends.  A small server loop runs over it three
 * times: all input at once, an octet at a time, and in chunks of a size
 * the input chooses.  At each literal the loop takes it inline, streams
 * it "externally" or refuses it, chosen from its size, as a server
 * would; after each error it skips the command.  Besides the sanitizers
 * the target checks that the three runs see the same commands, that
 * results point into the buffer or scratch space, that the node tree
 * is consistent, that the buffer promised by the header suffices, and
 * that every call makes progress.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_mail_imapd_parse.h"
#include "ngx_mail_imapd_seqset.h"
#include "ngx_mail_imapd_utf7.h"


#define FUZZ_MAX_NODES   64
#define FUZZ_MAX_LINE    600
#define FUZZ_MAX_INLINE  300


typedef struct {
    const uint8_t                *in;
    size_t                        in_len;
    size_t                        in_pos;
    size_t                        chunk;
    uint64_t                      hash;
    unsigned char                 buf[FUZZ_MAX_LINE + FUZZ_MAX_INLINE];
    size_t                        size;
    size_t                        len;
    unsigned char                 scratch[FUZZ_MAX_LINE];
    ngx_mail_imapd_node_t         nodes[FUZZ_MAX_NODES];
    ngx_mail_imapd_parse_conf_t   conf;
    ngx_mail_imapd_parser_t       ps;
} fuzz_session_t;


static void
mix(fuzz_session_t *s, const void *data, size_t len)
{
    size_t                i;
    const unsigned char  *p;

    p = data;

    for (i = 0; i < len; i++) {
        s->hash = (s->hash ^ p[i]) * 0x100000001b3ULL;
    }
}


static void
mix_int(fuzz_session_t *s, uint64_t n)
{
    mix(s, &n, sizeof(n));
}


static void
check_within(fuzz_session_t *s, const ngx_mail_imapd_str_t *v)
{
    if (v->len == 0) {
        return;
    }

    if (v->data >= s->buf && v->data + v->len <= s->buf + s->len) {
        return;
    }

    if (v->data >= s->scratch
        && v->data + v->len <= s->scratch + sizeof(s->scratch))
    {
        return;
    }

    abort();
}


static void
check_seqset(const ngx_mail_imapd_str_t *v)
{
    int                          rc;
    uint32_t                     i, n, star;
    ngx_mail_imapd_seqset_t      set, norm;
    ngx_mail_imapd_seq_range_t   ranges[8], nranges[8];

    set.ranges = ranges;
    set.max_ranges = 8;

    rc = ngx_mail_imapd_seqset_parse(v->data, v->len, &set);

    if (rc != NGX_MAIL_IMAPD_PARSE_OK || set.saved) {
        return;
    }

    norm = set;
    norm.ranges = nranges;
    memcpy(nranges, ranges, sizeof(ranges));

    star = (uint32_t) v->len * 3;
    ngx_mail_imapd_seqset_normalize(&norm, star);

    for (i = 1; i < norm.nranges; i++) {
        if ((uint64_t) nranges[i].first <= (uint64_t) nranges[i - 1].last + 1)
        {
            abort();
        }
    }

    for (n = 0; n < 64; n++) {
        if (ngx_mail_imapd_seqset_contains(&set, n, star)
            != ngx_mail_imapd_seqset_contains(&norm, n, star))
        {
            abort();
        }
    }
}


static void
check_utf7(const ngx_mail_imapd_str_t *v)
{
    int            rc;
    size_t         n, m;
    unsigned char  utf8[(FUZZ_MAX_LINE + FUZZ_MAX_INLINE) * 2];
    unsigned char  utf7[(FUZZ_MAX_LINE + FUZZ_MAX_INLINE) * 3];

    if (v->len > sizeof(utf8)) {
        return;
    }

    rc = ngx_mail_imapd_utf7_decode(v->data, v->len, utf8, sizeof(utf8), &n);

    if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
        if (rc != NGX_MAIL_IMAPD_PARSE_ERROR) {
            abort();
        }

        return;
    }

    /* only the canonical form decodes: encoding gives it back */
    if (ngx_mail_imapd_utf7_encode(utf8, n, utf7, sizeof(utf7), &m)
        != NGX_MAIL_IMAPD_PARSE_OK
        || m != v->len || memcmp(utf7, v->data, m) != 0)
    {
        abort();
    }
}


static void
check_command(fuzz_session_t *s)
{
    uint32_t                i, j, count, top;
    ngx_mail_imapd_str_t    value;
    ngx_mail_imapd_node_t  *node;

    if (s->ps.tag.len == 0 || s->ps.name.len == 0
        || s->ps.nnodes > FUZZ_MAX_NODES || s->ps.pos > s->len)
    {
        abort();
    }

    check_within(s, &s->ps.tag);
    check_within(s, &s->ps.name);

    mix(s, s->ps.tag.data, s->ps.tag.len);
    mix(s, s->ps.name.data, s->ps.name.len);
    mix_int(s, s->ps.uid);
    mix_int(s, s->ps.nnodes);

    top = 0;

    for (i = 0; i < s->ps.nnodes; i++) {
        node = &s->nodes[i];

        if (node->parent == NGX_MAIL_IMAPD_NODE_NONE) {
            top++;

        } else if (node->parent >= i
                   || s->nodes[node->parent].type != NGX_MAIL_IMAPD_NODE_LIST)
        {
            abort();
        }

        if (node->next != NGX_MAIL_IMAPD_NODE_NONE
            && (node->next <= i || node->next >= s->ps.nnodes
                || s->nodes[node->next].parent != node->parent))
        {
            abort();
        }

        if (node->type == NGX_MAIL_IMAPD_NODE_LIST) {
            count = 0;

            for (j = node->child; j != NGX_MAIL_IMAPD_NODE_NONE;
                 j = s->nodes[j].next)
            {
                if (s->nodes[j].parent != i) {
                    abort();
                }

                count++;
            }

            if (count != node->count) {
                abort();
            }

        } else if (!node->external) {
            check_within(s, &node->value);
            mix(s, node->value.data, node->value.len);

        } else if (node->value.data != NULL) {
            abort();
        }

        mix_int(s, node->type | node->nil << 3 | node->flag << 4
                   | node->wildcard << 5 | node->section << 6
                   | node->escaped << 7 | node->eightbit << 8
                   | node->sync << 9 | node->binary << 10
                   | node->external << 11);
        mix_int(s, node->value.len);
        mix_int(s, node->parent);
        mix_int(s, node->next);

        if (ngx_mail_imapd_astring(node, &value) == NGX_MAIL_IMAPD_PARSE_OK) {
            if (node->type == NGX_MAIL_IMAPD_NODE_ATOM) {
                check_seqset(&value);
            }

            check_utf7(&value);
        }
    }

    if (top != s->ps.nargs || (s->ps.nnodes > 0 && top == 0)) {
        abort();
    }
}


static void
check_error(fuzz_session_t *s)
{
    size_t  i;

    if (s->ps.error.len == 0 || s->ps.error.len > 80) {
        abort();
    }

    for (i = 0; i < s->ps.error.len; i++) {
        if (s->ps.error.data[i] < 0x20 || s->ps.error.data[i] > 0x7e) {
            abort();
        }
    }

    mix(s, s->ps.error.data, s->ps.error.len);
    mix_int(s, s->ps.tag.len);
}


/* appends up to one chunk of input to the buffer; 0 at the end */

static int
fuzz_read(fuzz_session_t *s)
{
    size_t  n;

    n = s->in_len - s->in_pos;

    if (n == 0) {
        return 0;
    }

    if (n > s->chunk) {
        n = s->chunk;
    }

    if (n > s->size - s->len) {
        n = s->size - s->len;
    }

    if (n == 0) {
        /* the header promises max_line + max_inline suffice */
        abort();
    }

    memcpy(s->buf + s->len, s->in + s->in_pos, n);
    s->len += n;
    s->in_pos += n;

    return 1;
}


static void
fuzz_next_command(fuzz_session_t *s, size_t from)
{
    memmove(s->buf, s->buf + from, s->len - from);
    s->len -= from;
    ngx_mail_imapd_parse_init(&s->ps);
}


static int
fuzz_skip(fuzz_session_t *s)
{
    int     rc;
    size_t  used, from;

    from = s->ps.pos;

    for ( ;; ) {
        rc = ngx_mail_imapd_parse_skip(&s->ps, s->buf + from,
                                       s->buf + s->len, &used);

        if (rc == NGX_MAIL_IMAPD_PARSE_OK) {
            mix_int(s, 0x5c1f);
            fuzz_next_command(s, from + used);
            return 1;
        }

        if (rc != NGX_MAIL_IMAPD_PARSE_AGAIN || used != s->len - from) {
            abort();
        }

        s->len = 0;
        from = 0;

        if (!fuzz_read(s)) {
            return 0;
        }
    }
}


/* an APPEND-like consumer: the literal's octets go elsewhere */

static int
fuzz_external(fuzz_session_t *s)
{
    size_t    have, pos;
    uint64_t  left;

    pos = s->ps.pos;
    have = s->len - pos;
    left = s->ps.literal.size;

    if (have >= left) {
        memmove(s->buf + pos, s->buf + pos + left, have - left);
        s->len -= (size_t) left;
        ngx_mail_imapd_parse_literal_external(&s->ps);
        return 1;
    }

    left -= have;
    s->len = pos;

    if (left > s->in_len - s->in_pos) {
        s->in_pos = s->in_len;
        return 0;
    }

    s->in_pos += (size_t) left;
    ngx_mail_imapd_parse_literal_external(&s->ps);

    return 1;
}


static uint64_t
fuzz_session(const uint8_t *cfg, const uint8_t *data, size_t size,
    size_t chunk)
{
    int              rc;
    unsigned         steps, choice;
    fuzz_session_t  *s;
    uint64_t         hash;

    s = calloc(1, sizeof(fuzz_session_t));

    if (s == NULL) {
        abort();
    }

    s->in = data;
    s->in_len = size;
    s->chunk = chunk;
    s->hash = 0xcbf29ce484222325ULL;

    s->conf.max_line = 16 + (cfg[0] & 0x1f) * 18;
    s->conf.max_inline = (cfg[0] >> 5) * 40;
    s->conf.max_depth = cfg[1] & 0x07;
    s->conf.literal_plus = (cfg[1] >> 3) % 3;
    s->size = s->conf.max_line + s->conf.max_inline;

    s->ps.conf = &s->conf;
    s->ps.nodes = s->nodes;
    s->ps.max_nodes = 1 + ((cfg[1] >> 5) * 9);
    s->ps.scratch = s->scratch;
    s->ps.scratch_size = s->conf.max_line;

    ngx_mail_imapd_parse_init(&s->ps);

    for (steps = 0; /* void */; steps++) {

        if (steps > 4 * size + 1000) {
            /* no progress */
            abort();
        }

        rc = ngx_mail_imapd_parse_command(&s->ps, s->buf, s->buf + s->len);

        if (rc != NGX_MAIL_IMAPD_PARSE_AGAIN) {
            mix_int(s, (uint64_t) rc);
        }

        if (rc == NGX_MAIL_IMAPD_PARSE_OK) {
            check_command(s);
            fuzz_next_command(s, s->ps.pos);
            continue;
        }

        if (rc == NGX_MAIL_IMAPD_PARSE_AGAIN) {
            if (!fuzz_read(s)) {
                break;
            }

            continue;
        }

        if (rc == NGX_MAIL_IMAPD_PARSE_LITERAL) {
            if (s->ps.pos > s->len
                || s->nodes[s->ps.literal.node].type
                   != NGX_MAIL_IMAPD_NODE_LITERAL)
            {
                abort();
            }

            mix_int(s, s->ps.literal.size);
            mix_int(s, s->ps.literal.sync | s->ps.literal.inline_ok << 1);

            choice = (unsigned) (s->ps.literal.size % 3);

            if (choice == 0 && s->ps.literal.inline_ok) {
                continue;
            }

            if (choice == 1) {
                if (!fuzz_external(s)) {
                    break;
                }

                continue;
            }

            ngx_mail_imapd_parse_reject(&s->ps);

            if (!fuzz_skip(s)) {
                break;
            }

            continue;
        }

        if (rc != NGX_MAIL_IMAPD_PARSE_ERROR || s->ps.pos > s->len) {
            abort();
        }

        check_error(s);

        if (!fuzz_skip(s)) {
            break;
        }
    }

    hash = s->hash;
    free(s);

    return hash;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t  all, one, some;

    if (size < 3) {
        return 0;
    }

    all = fuzz_session(data, data + 3, size - 3, (size_t) -1);
    one = fuzz_session(data, data + 3, size - 3, 1);
    some = fuzz_session(data, data + 3, size - 3, 1 + data[2] % 23);

    if (all != one || all != some) {
        abort();
    }

    return 0;
}
