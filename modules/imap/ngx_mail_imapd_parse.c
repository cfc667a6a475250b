
/*
 * The IMAP command parser: a line at a time, each line parsed in one
 * pass once its LF is in the buffer, literals between lines.  See the
 * header for the API and the syntax accepted.
 */

#include <string.h>

#include "ngx_mail_imapd_parse.h"


/* ps->state */
#define NGX_MAIL_IMAPD_ST_LINE          0   /* the next line */
#define NGX_MAIL_IMAPD_ST_LITERAL       1   /* after PARSE_LITERAL */
#define NGX_MAIL_IMAPD_ST_DONE          2   /* after PARSE_OK */
#define NGX_MAIL_IMAPD_ST_SKIP_LINE     3   /* dropping up to an LF */
#define NGX_MAIL_IMAPD_ST_SKIP_LITERAL  4   /* dropping skip_left octets */
#define NGX_MAIL_IMAPD_ST_SKIP_DONE     5   /* the command is over */

/* ps->phase */
#define NGX_MAIL_IMAPD_PHASE_TAG        0
#define NGX_MAIL_IMAPD_PHASE_ARGS       1

/* ps->skip_mark: how much of "{" number ["+"] "}" [CR] the line ends in */
#define NGX_MAIL_IMAPD_MARK_NONE        0
#define NGX_MAIL_IMAPD_MARK_BRACE       1
#define NGX_MAIL_IMAPD_MARK_DIGITS      2
#define NGX_MAIL_IMAPD_MARK_PLUS        3
#define NGX_MAIL_IMAPD_MARK_CLOSE       4
#define NGX_MAIL_IMAPD_MARK_CLOSE_CR    5

/* RFC 3501 9: number is an unsigned 32-bit integer */
#define NGX_MAIL_IMAPD_LITERAL_DIGITS   10
#define NGX_MAIL_IMAPD_LITERAL_MAX      4294967295ULL


#define ngx_mail_imapd_str_set(s, text)                                      \
    (s)->len = sizeof(text) - 1; (s)->data = (const unsigned char *) text


static int ngx_mail_imapd_parse_line(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char *p,
    const unsigned char *lf);
static int ngx_mail_imapd_parse_tag(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char **pp,
    const unsigned char *e);
static void ngx_mail_imapd_parse_tag_only(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char *end);
static int ngx_mail_imapd_parse_list_open(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char *p);
static int ngx_mail_imapd_parse_quoted(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char **pp,
    const unsigned char *e);
static int ngx_mail_imapd_parse_atom(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char **pp,
    const unsigned char *e);
static const unsigned char *ngx_mail_imapd_parse_section(
    const unsigned char *p, const unsigned char *e);
static int ngx_mail_imapd_parse_literal(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char *p,
    const unsigned char *e, const unsigned char *lf);
static int ngx_mail_imapd_parse_literal_inline(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char *end);
static ngx_mail_imapd_node_t *ngx_mail_imapd_node_add(
    ngx_mail_imapd_parser_t *ps, unsigned type);
static int ngx_mail_imapd_fail(ngx_mail_imapd_parser_t *ps, size_t pos,
    const char *reason);
static int ngx_mail_imapd_fail_literal(ngx_mail_imapd_parser_t *ps,
    const char *reason);
static int ngx_mail_imapd_is_atom_char(unsigned c);


void
ngx_mail_imapd_parse_init(ngx_mail_imapd_parser_t *ps)
{
    ps->tag.len = 0;
    ps->tag.data = NULL;
    ps->name.len = 0;
    ps->name.data = NULL;
    ps->uid = 0;
    ps->nnodes = 0;
    ps->nargs = 0;
    memset(&ps->literal, 0, sizeof(ngx_mail_imapd_literal_t));
    ps->error.len = 0;
    ps->error.data = NULL;
    ps->pos = 0;

    ps->state = NGX_MAIL_IMAPD_ST_LINE;
    ps->phase = NGX_MAIL_IMAPD_PHASE_TAG;
    ps->need_space = 0;
    ps->skip_plus = 0;
    ps->skip_ndigits = 0;
    ps->scan = 0;
    ps->line_bytes = 0;
    ps->inline_bytes = 0;
    ps->scratch_used = 0;
    ps->list = NGX_MAIL_IMAPD_NODE_NONE;
    ps->last = NGX_MAIL_IMAPD_NODE_NONE;
    ps->depth = 0;
    ps->skip_mark = NGX_MAIL_IMAPD_MARK_NONE;
    ps->skip_number = 0;
    ps->skip_left = 0;
}


int
ngx_mail_imapd_parse_command(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char *end)
{
    int                   rc;
    const unsigned char  *p, *lf;

    for ( ;; ) {

        switch (ps->state) {

        case NGX_MAIL_IMAPD_ST_LINE:
            p = start + ps->scan;
            lf = (p < end) ? memchr(p, '\n', end - p) : NULL;

            if (lf == NULL) {
                ps->scan = end - start;

                /* even an LF as the next octet would be one too many */
                if (ps->line_bytes + (ps->scan - ps->pos)
                    >= ps->conf->max_line)
                {
                    ngx_mail_imapd_parse_tag_only(ps, start, end);
                    return ngx_mail_imapd_fail(ps, ps->pos, "Line too long");
                }

                return NGX_MAIL_IMAPD_PARSE_AGAIN;
            }

            ps->scan = lf + 1 - start;
            ps->line_bytes += ps->scan - ps->pos;

            if (ps->line_bytes > ps->conf->max_line) {
                ngx_mail_imapd_parse_tag_only(ps, start, lf);
                return ngx_mail_imapd_fail(ps, ps->pos, "Line too long");
            }

            rc = ngx_mail_imapd_parse_line(ps, start, start + ps->pos, lf);

            if (rc == NGX_MAIL_IMAPD_PARSE_OK) {
                ps->state = NGX_MAIL_IMAPD_ST_DONE;
                ps->pos = ps->scan;
            }

            return rc;

        case NGX_MAIL_IMAPD_ST_LITERAL:
            rc = ngx_mail_imapd_parse_literal_inline(ps, start, end);

            if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
                return rc;
            }

            break;

        case NGX_MAIL_IMAPD_ST_DONE:
            return NGX_MAIL_IMAPD_PARSE_OK;

        default:
            /* skipping after an error: not a command to parse */
            return NGX_MAIL_IMAPD_PARSE_ERROR;
        }
    }
}


void
ngx_mail_imapd_parse_literal_external(ngx_mail_imapd_parser_t *ps)
{
    ngx_mail_imapd_node_t  *node;

    if (ps->state != NGX_MAIL_IMAPD_ST_LITERAL) {
        return;
    }

    node = &ps->nodes[ps->literal.node];
    node->external = 1;
    node->value.data = NULL;
    node->value.len = (size_t) ps->literal.size;

    ps->state = NGX_MAIL_IMAPD_ST_LINE;
    ps->scan = ps->pos;
}


void
ngx_mail_imapd_parse_reject(ngx_mail_imapd_parser_t *ps)
{
    if (ps->state != NGX_MAIL_IMAPD_ST_LITERAL) {
        return;
    }

    (void) ngx_mail_imapd_fail_literal(ps, "Literal refused");
}


int
ngx_mail_imapd_parse_skip(ngx_mail_imapd_parser_t *ps,
    const unsigned char *p, const unsigned char *last, size_t *used)
{
    size_t                n;
    unsigned              c, mark, found;
    const unsigned char  *q;

    q = p;

    for ( ;; ) {

        switch (ps->state) {

        case NGX_MAIL_IMAPD_ST_SKIP_DONE:
            *used = q - p;
            return NGX_MAIL_IMAPD_PARSE_OK;

        case NGX_MAIL_IMAPD_ST_SKIP_LITERAL:
            n = last - q;

            if ((uint64_t) n >= ps->skip_left) {
                n = (size_t) ps->skip_left;
            }

            q += n;
            ps->skip_left -= n;

            if (ps->skip_left != 0) {
                *used = q - p;
                return NGX_MAIL_IMAPD_PARSE_AGAIN;
            }

            ps->state = NGX_MAIL_IMAPD_ST_SKIP_LINE;
            ps->skip_mark = NGX_MAIL_IMAPD_MARK_NONE;
            break;

        case NGX_MAIL_IMAPD_ST_SKIP_LINE:
            mark = ps->skip_mark;
            found = 0;

            while (q < last) {
                c = *q++;

                if (c == '\n') {
                    found = 1;
                    break;
                }

                switch (c) {

                case '{':
                    mark = NGX_MAIL_IMAPD_MARK_BRACE;
                    ps->skip_number = 0;
                    ps->skip_ndigits = 0;
                    ps->skip_plus = 0;
                    break;

                case '+':
                    if (mark == NGX_MAIL_IMAPD_MARK_DIGITS) {
                        mark = NGX_MAIL_IMAPD_MARK_PLUS;
                        ps->skip_plus = 1;

                    } else {
                        mark = NGX_MAIL_IMAPD_MARK_NONE;
                    }

                    break;

                case '}':
                    mark = (mark == NGX_MAIL_IMAPD_MARK_DIGITS
                            || mark == NGX_MAIL_IMAPD_MARK_PLUS)
                           ? NGX_MAIL_IMAPD_MARK_CLOSE
                           : NGX_MAIL_IMAPD_MARK_NONE;
                    break;

                case '\r':
                    mark = (mark == NGX_MAIL_IMAPD_MARK_CLOSE)
                           ? NGX_MAIL_IMAPD_MARK_CLOSE_CR
                           : NGX_MAIL_IMAPD_MARK_NONE;
                    break;

                default:
                    if (c >= '0' && c <= '9'
                        && (mark == NGX_MAIL_IMAPD_MARK_BRACE
                            || mark == NGX_MAIL_IMAPD_MARK_DIGITS)
                        && ps->skip_ndigits < NGX_MAIL_IMAPD_LITERAL_DIGITS)
                    {
                        /* at most 10 digits: no overflow of uint64_t */
                        ps->skip_number = ps->skip_number * 10 + (c - '0');
                        ps->skip_ndigits++;
                        mark = NGX_MAIL_IMAPD_MARK_DIGITS;

                    } else {
                        mark = NGX_MAIL_IMAPD_MARK_NONE;
                    }
                }
            }

            ps->skip_mark = mark;

            if (!found) {
                *used = q - p;
                return NGX_MAIL_IMAPD_PARSE_AGAIN;
            }

            /* an LF: RFC 7888 3, a line ending in {n+} goes on after n */

            if ((mark == NGX_MAIL_IMAPD_MARK_CLOSE
                 || mark == NGX_MAIL_IMAPD_MARK_CLOSE_CR)
                && ps->skip_plus
                && ps->skip_number <= NGX_MAIL_IMAPD_LITERAL_MAX)
            {
                ps->state = NGX_MAIL_IMAPD_ST_SKIP_LITERAL;
                ps->skip_left = ps->skip_number;
                ps->skip_mark = NGX_MAIL_IMAPD_MARK_NONE;
                break;
            }

            ps->state = NGX_MAIL_IMAPD_ST_SKIP_DONE;
            break;

        default:
            *used = 0;
            return NGX_MAIL_IMAPD_PARSE_ERROR;
        }
    }
}


int
ngx_mail_imapd_astring(const ngx_mail_imapd_node_t *node,
    ngx_mail_imapd_str_t *value)
{
    switch (node->type) {

    case NGX_MAIL_IMAPD_NODE_ATOM:
        if (node->flag || node->wildcard || node->section) {
            return NGX_MAIL_IMAPD_PARSE_ERROR;
        }

        break;

    case NGX_MAIL_IMAPD_NODE_QUOTED:
        break;

    case NGX_MAIL_IMAPD_NODE_LITERAL:
        if (node->external) {
            return NGX_MAIL_IMAPD_PARSE_ERROR;
        }

        break;

    default:
        return NGX_MAIL_IMAPD_PARSE_ERROR;
    }

    *value = node->value;

    return NGX_MAIL_IMAPD_PARSE_OK;
}


int
ngx_mail_imapd_atom_eq(const ngx_mail_imapd_str_t *atom, const char *s)
{
    size_t    i;
    unsigned  a, b;

    for (i = 0; i < atom->len; i++) {
        a = atom->data[i];
        b = (unsigned char) s[i];

        if (b == '\0') {
            return 0;
        }

        if (a >= 'a' && a <= 'z') {
            a -= 'a' - 'A';
        }

        if (b >= 'a' && b <= 'z') {
            b -= 'a' - 'A';
        }

        if (a != b) {
            return 0;
        }
    }

    return s[i] == '\0';
}


/*
 * One line, [p, lf) and its LF, all in the buffer: the tag and command
 * if it is the first, then arguments up to its end or to a literal's
 * announcement.
 */

static int
ngx_mail_imapd_parse_line(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char *p,
    const unsigned char *lf)
{
    int                   rc, space;
    const unsigned char  *e;

    e = lf;

    if (e > p && e[-1] == '\r') {
        e--;
    }

    if (ps->phase == NGX_MAIL_IMAPD_PHASE_TAG) {
        rc = ngx_mail_imapd_parse_tag(ps, start, &p, e);

        if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
            return rc;
        }

        ps->phase = NGX_MAIL_IMAPD_PHASE_ARGS;
        ps->need_space = 1;
    }

    for ( ;; ) {
        space = 0;

        while (p < e && *p == ' ') {
            p++;
            space = 1;
        }

        if (space) {
            ps->need_space = 0;
        }

        if (p == e) {
            break;
        }

        if (*p == ')') {
            if (ps->list == NGX_MAIL_IMAPD_NODE_NONE) {
                return ngx_mail_imapd_fail(ps, p - start,
                                           "Unbalanced parentheses");
            }

            ps->last = ps->list;
            ps->list = ps->nodes[ps->list].parent;
            ps->depth--;
            ps->need_space = 1;
            p++;
            continue;
        }

        if (ps->need_space) {
            return ngx_mail_imapd_fail(ps, p - start, "Missing space");
        }

        switch (*p) {

        case '(':
            rc = ngx_mail_imapd_parse_list_open(ps, start, p);
            p++;
            break;

        case '"':
            rc = ngx_mail_imapd_parse_quoted(ps, start, &p, e);
            break;

        case '{':
            return ngx_mail_imapd_parse_literal(ps, start, p, e, lf);

        case '~':
            if (p + 1 < e && p[1] == '{') {
                return ngx_mail_imapd_parse_literal(ps, start, p, e, lf);
            }

            /* fall through */

        default:
            rc = ngx_mail_imapd_parse_atom(ps, start, &p, e);
        }

        if (rc != NGX_MAIL_IMAPD_PARSE_OK) {
            return rc;
        }
    }

    if (ps->list != NGX_MAIL_IMAPD_NODE_NONE) {
        return ngx_mail_imapd_fail(ps, e - start, "Unbalanced parentheses");
    }

    return NGX_MAIL_IMAPD_PARSE_OK;
}


/* RFC 3501 9: tag = 1*<any ASTRING-CHAR except "+">, command, UID */

static int
ngx_mail_imapd_parse_tag(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char **pp,
    const unsigned char *e)
{
    const unsigned char  *p, *q;

    p = *pp;

    if (p == e) {
        return ngx_mail_imapd_fail(ps, p - start, "Empty command line");
    }

    for (q = p; q < e; q++) {
        if (*q == '+' || !(ngx_mail_imapd_is_atom_char(*q) || *q == ']')) {
            break;
        }
    }

    if (q == p || (q < e && *q != ' ')) {
        return ngx_mail_imapd_fail(ps, p - start, "Invalid tag");
    }

    ps->tag.data = p;
    ps->tag.len = q - p;

    for ( ;; ) {
        while (q < e && *q == ' ') {
            q++;
        }

        if (q == e) {
            return ngx_mail_imapd_fail(ps, q - start, "Missing command");
        }

        for (p = q; q < e && ngx_mail_imapd_is_atom_char(*q); q++) {
            /* void */
        }

        if (q == p || (q < e && *q != ' ')) {
            return ngx_mail_imapd_fail(ps, p - start, "Invalid command");
        }

        ps->name.data = p;
        ps->name.len = q - p;

        /* RFC 3501 6.4.8: UID is a prefix of the real command */
        if (ps->uid || !ngx_mail_imapd_atom_eq(&ps->name, "UID")) {
            break;
        }

        ps->uid = 1;
    }

    *pp = q;

    return NGX_MAIL_IMAPD_PARSE_OK;
}


/*
 * A first line too long to parse: its tag, if any, for "tag BAD".
 * Looked for in the first max_line octets only, so that the answer does
 * not depend on how much the last read brought.
 */

static void
ngx_mail_imapd_parse_tag_only(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char *end)
{
    const unsigned char  *q;

    if (ps->phase != NGX_MAIL_IMAPD_PHASE_TAG) {
        return;
    }

    if ((size_t) (end - start) > ps->conf->max_line) {
        end = start + ps->conf->max_line;
    }

    for (q = start; q < end; q++) {
        if (*q == '+' || !(ngx_mail_imapd_is_atom_char(*q) || *q == ']')) {
            break;
        }
    }

    if (q > start && q < end && *q == ' ') {
        ps->tag.data = start;
        ps->tag.len = q - start;
    }
}


static int
ngx_mail_imapd_parse_list_open(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char *p)
{
    ngx_mail_imapd_node_t  *node;

    if (ps->depth >= ps->conf->max_depth) {
        return ngx_mail_imapd_fail(ps, p - start, "Too deeply nested");
    }

    node = ngx_mail_imapd_node_add(ps, NGX_MAIL_IMAPD_NODE_LIST);

    if (node == NULL) {
        return ngx_mail_imapd_fail(ps, p - start, "Too many arguments");
    }

    ps->list = ps->last;
    ps->last = NGX_MAIL_IMAPD_NODE_NONE;
    ps->depth++;
    ps->need_space = 0;

    return NGX_MAIL_IMAPD_PARSE_OK;
}


/* RFC 3501 9: quoted = DQUOTE *QUOTED-CHAR DQUOTE */

static int
ngx_mail_imapd_parse_quoted(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char **pp,
    const unsigned char *e)
{
    size_t                  len;
    unsigned                c, escaped, eightbit;
    unsigned char          *dst;
    const unsigned char    *p, *q;
    ngx_mail_imapd_node_t  *node;

    p = *pp + 1;
    escaped = 0;
    eightbit = 0;

    for (q = p; q < e && *q != '"'; q++) {
        c = *q;

        if (c == '\\') {
            if (q + 1 == e || (q[1] != '"' && q[1] != '\\')) {
                return ngx_mail_imapd_fail(ps, q - start,
                                           "Invalid escape in quoted string");
            }

            escaped = 1;
            q++;
            continue;
        }

        if (c < 0x20 || c == 0x7f) {
            return ngx_mail_imapd_fail(ps, q - start,
                                       "Invalid character in quoted string");
        }

        if (c >= 0x80) {
            eightbit = 1;
        }
    }

    if (q == e) {
        return ngx_mail_imapd_fail(ps, *pp - start,
                                   "Unterminated quoted string");
    }

    node = ngx_mail_imapd_node_add(ps, NGX_MAIL_IMAPD_NODE_QUOTED);

    if (node == NULL) {
        return ngx_mail_imapd_fail(ps, *pp - start, "Too many arguments");
    }

    node->eightbit = eightbit;
    node->value.data = p;
    node->value.len = q - p;

    if (escaped) {
        if (ps->scratch == NULL
            || ps->scratch_size - ps->scratch_used < (size_t) (q - p))
        {
            return ngx_mail_imapd_fail(ps, *pp - start, "Line too long");
        }

        dst = ps->scratch + ps->scratch_used;
        len = 0;

        for ( /* void */ ; p < q; p++) {
            if (*p == '\\') {
                p++;
            }

            dst[len++] = *p;
        }

        node->escaped = 1;
        node->value.data = dst;
        node->value.len = len;
        ps->scratch_used += len;
    }

    *pp = q + 1;

    ps->need_space = 1;

    return NGX_MAIL_IMAPD_PARSE_OK;
}


/*
 * An atom in the wide sense: ATOM-CHARs, list-wildcards, "]", a leading
 * "\" for flags, and "[...]" sections (RFC 3501 9 fetch-att, section).
 */

static int
ngx_mail_imapd_parse_atom(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char **pp,
    const unsigned char *e)
{
    unsigned                c, flag, wildcard, section;
    const unsigned char    *p, *q, *body;
    ngx_mail_imapd_node_t  *node;

    p = *pp;
    q = p;
    flag = 0;
    wildcard = 0;
    section = 0;

    if (*q == '\\') {
        flag = 1;
        q++;
    }

    body = q;

    while (q < e) {
        c = *q;

        if (c == '[') {
            q = ngx_mail_imapd_parse_section(q + 1, e);

            if (q == NULL) {
                return ngx_mail_imapd_fail(ps, p - start,
                                           "Invalid section");
            }

            section = 1;
            continue;
        }

        if (c == '%' || c == '*') {
            wildcard = 1;

        } else if (c != ']' && !ngx_mail_imapd_is_atom_char(c)) {
            break;
        }

        q++;
    }

    if (q == body) {
        return ngx_mail_imapd_fail(ps, q - start, "Invalid character");
    }

    if (q < e && *q != ' ' && *q != ')') {
        return ngx_mail_imapd_fail(ps, q - start,
                                   "Invalid character in atom");
    }

    node = ngx_mail_imapd_node_add(ps, NGX_MAIL_IMAPD_NODE_ATOM);

    if (node == NULL) {
        return ngx_mail_imapd_fail(ps, p - start, "Too many arguments");
    }

    node->value.data = p;
    node->value.len = q - p;
    node->flag = flag;
    node->wildcard = wildcard;
    node->section = section;
    node->nil = (!flag && ngx_mail_imapd_atom_eq(&node->value, "NIL"));

    *pp = q;

    ps->need_space = 1;

    return NGX_MAIL_IMAPD_PARSE_OK;
}


/*
 * After "[": up to and past the matching "]".  Inside: printable ASCII
 * but "[", "{" and "\", SP, parentheses, and quoted strings that may
 * hold "]" (header-fld-name is an astring).  NULL when invalid.
 */

static const unsigned char *
ngx_mail_imapd_parse_section(const unsigned char *p, const unsigned char *e)
{
    unsigned  c;

    while (p < e) {
        c = *p++;

        if (c == ']') {
            return p;
        }

        if (c == '"') {
            while (p < e && *p != '"') {
                if (*p == '\\') {
                    p++;

                    if (p == e || (*p != '"' && *p != '\\')) {
                        return NULL;
                    }
                }

                if (*p < 0x20 || *p >= 0x7f) {
                    return NULL;
                }

                p++;
            }

            if (p == e) {
                return NULL;
            }

            p++;
            continue;
        }

        if (c < 0x20 || c >= 0x7f || c == '[' || c == '{' || c == '\\') {
            return NULL;
        }
    }

    return NULL;
}


/*
 * RFC 3501 9 literal, RFC 7888 8, RFC 4466 literal8: "{" number ["+"]
 * "}" at the very end of the line; p is at "{" or "~".
 */

static int
ngx_mail_imapd_parse_literal(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char *p,
    const unsigned char *e, const unsigned char *lf)
{
    unsigned                digits, plus, binary;
    uint64_t                size;
    const unsigned char    *q;
    ngx_mail_imapd_node_t  *node;

    binary = (*p == '~');
    q = p + 1 + binary;
    size = 0;

    for (digits = 0; q < e && *q >= '0' && *q <= '9'; digits++) {
        if (digits == NGX_MAIL_IMAPD_LITERAL_DIGITS) {
            return ngx_mail_imapd_fail(ps, p - start, "Invalid literal");
        }

        size = size * 10 + (*q++ - '0');
    }

    plus = (q < e && *q == '+');
    q += plus;

    if (digits == 0 || size > NGX_MAIL_IMAPD_LITERAL_MAX
        || q == e || *q != '}' || q + 1 != e)
    {
        return ngx_mail_imapd_fail(ps, p - start, "Invalid literal");
    }

    node = ngx_mail_imapd_node_add(ps, NGX_MAIL_IMAPD_NODE_LITERAL);

    if (node == NULL) {
        return ngx_mail_imapd_fail(ps, p - start, "Too many arguments");
    }

    node->sync = !plus;
    node->binary = binary;
    node->value.len = (size_t) size;

    ps->literal.size = size;
    ps->literal.node = ps->nnodes - 1;
    ps->literal.sync = !plus;
    ps->literal.binary = binary;
    ps->literal.inline_ok =
                        (size <= ps->conf->max_inline - ps->inline_bytes);

    ps->pos = lf + 1 - start;
    ps->scan = ps->pos;
    ps->need_space = 1;
    ps->state = NGX_MAIL_IMAPD_ST_LITERAL;

    if (plus) {
        if (ps->conf->literal_plus == NGX_MAIL_IMAPD_LITERAL_SYNC) {
            return ngx_mail_imapd_fail_literal(ps,
                               "Non-synchronizing literals are not allowed");
        }

        /* RFC 7888 5: the server answers BAD with TOOBIG */
        if (ps->conf->literal_plus == NGX_MAIL_IMAPD_LITERAL_MINUS
            && size > NGX_MAIL_IMAPD_LITERAL_MINUS_MAX)
        {
            return ngx_mail_imapd_fail_literal(ps,
                       "[TOOBIG] Non-synchronizing literal over 4096 octets");
        }
    }

    return NGX_MAIL_IMAPD_PARSE_LITERAL;
}


static int
ngx_mail_imapd_parse_literal_inline(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char *end)
{
    size_t                  size;
    const unsigned char    *p;
    ngx_mail_imapd_node_t  *node;

    if (!ps->literal.inline_ok) {
        return ngx_mail_imapd_fail_literal(ps, "Literal too big");
    }

    p = start + ps->pos;
    size = (size_t) ps->literal.size;

    if ((size_t) (end - p) < size) {
        return NGX_MAIL_IMAPD_PARSE_AGAIN;
    }

    node = &ps->nodes[ps->literal.node];
    node->value.data = p;

    ps->pos += size;
    ps->scan = ps->pos;
    ps->inline_bytes += size;
    ps->state = NGX_MAIL_IMAPD_ST_LINE;

    /* RFC 3501 9: CHAR8 is %x01-ff, literal8 may hold NUL */
    if (!ps->literal.binary && size != 0 && memchr(p, '\0', size) != NULL) {
        return ngx_mail_imapd_fail(ps, ps->pos, "NUL in literal");
    }

    return NGX_MAIL_IMAPD_PARSE_OK;
}


static ngx_mail_imapd_node_t *
ngx_mail_imapd_node_add(ngx_mail_imapd_parser_t *ps, unsigned type)
{
    uint32_t                n;
    ngx_mail_imapd_node_t  *node;

    if (ps->nnodes >= ps->max_nodes) {
        return NULL;
    }

    n = ps->nnodes++;
    node = &ps->nodes[n];

    memset(node, 0, sizeof(ngx_mail_imapd_node_t));
    node->type = type;
    node->parent = ps->list;
    node->next = NGX_MAIL_IMAPD_NODE_NONE;
    node->child = NGX_MAIL_IMAPD_NODE_NONE;

    if (ps->last != NGX_MAIL_IMAPD_NODE_NONE) {
        ps->nodes[ps->last].next = n;

    } else if (ps->list != NGX_MAIL_IMAPD_NODE_NONE) {
        ps->nodes[ps->list].child = n;
    }

    if (ps->list != NGX_MAIL_IMAPD_NODE_NONE) {
        ps->nodes[ps->list].count++;

    } else {
        ps->nargs++;
    }

    ps->last = n;

    return node;
}


/* an error at "pos": the skip drops from there to the end of the line */

static int
ngx_mail_imapd_fail(ngx_mail_imapd_parser_t *ps, size_t pos,
    const char *reason)
{
    ps->error.data = (const unsigned char *) reason;
    ps->error.len = strlen(reason);
    ps->pos = pos;
    ps->state = NGX_MAIL_IMAPD_ST_SKIP_LINE;
    ps->skip_mark = NGX_MAIL_IMAPD_MARK_NONE;

    return NGX_MAIL_IMAPD_PARSE_ERROR;
}


/*
 * An error at a literal just announced, ps->pos at its first octet:
 * a synchronizing literal ends the command (the client waits for "+"
 * that does not come, RFC 3501 7.5), a non-synchronizing one is sent
 * anyway and dropped (RFC 7888 4).
 */

static int
ngx_mail_imapd_fail_literal(ngx_mail_imapd_parser_t *ps, const char *reason)
{
    ps->error.data = (const unsigned char *) reason;
    ps->error.len = strlen(reason);
    ps->skip_mark = NGX_MAIL_IMAPD_MARK_NONE;

    if (ps->literal.sync) {
        ps->state = NGX_MAIL_IMAPD_ST_SKIP_DONE;

    } else {
        ps->state = NGX_MAIL_IMAPD_ST_SKIP_LITERAL;
        ps->skip_left = ps->literal.size;
    }

    return NGX_MAIL_IMAPD_PARSE_ERROR;
}


/* RFC 3501 9: ATOM-CHAR, without list-wildcards and resp-specials */

static int
ngx_mail_imapd_is_atom_char(unsigned c)
{
    if (c <= 0x20 || c >= 0x7f) {
        return 0;
    }

    switch (c) {
    case '(':
    case ')':
    case '{':
    case '"':
    case '\\':
    case '%':
    case '*':
    case ']':
        return 0;
    }

    return 1;
}
