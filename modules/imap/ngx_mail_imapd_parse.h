
/*
 * The IMAP command: "tag SP command [SP arguments] CRLF" (RFC 3501 9),
 * with literals {n} and non-synchronizing literals {n+} (RFC 7888),
 * literal8 ~{n} (RFC 4466), and the fetch attributes whose section
 * "[...]" holds spaces and parentheses (RFC 3501 6.4.5).
 *
 * Plain C99 without nginx headers, so that the unit tests and the
 * fuzzers build it alone: no allocation, no global state, never a byte
 * read outside the buffer given, linear time, every size bounded by
 * the configuration.
 *
 *
 * How it works
 *
 * The parser is incremental.  A command is made of "lines" (octets up
 * to an LF) and of the literals between them, which by RFC 3501 4.3
 * and RFC 7888 3 are announced only at the very end of a line.  The
 * parser looks for the LF of the current line (remembering how far it
 * looked, so that input trickling in is scanned once), then parses the
 * whole line in one pass.  Nothing but a literal crosses a line end:
 * atoms, quoted strings and "[...]" sections cannot hold CR or LF.
 *
 * The caller keeps the command's octets in one buffer: "start" is the
 * command's first octet, "end" the end of what has been read so far.
 * From the first call until the command is finished, "start" and the
 * octets before start + ps->pos must not change or move (the results
 * point into them); the caller only appends at "end".  A buffer of
 * conf->max_line + conf->max_inline octets always holds a command the
 * parser accepts.
 *
 *     rc = ngx_mail_imapd_parse_command(ps, start, end);
 *
 *   PARSE_OK       the command is complete: ps->tag, ps->name, ps->uid,
 *                  ps->nodes[0 .. ps->nnodes - 1]; ps->pos is its length
 *                  with the final CRLF: the next command (pipelining)
 *                  begins at start + ps->pos.
 *
 *   PARSE_AGAIN    read more octets after "end" and call again with the
 *                  same "start".
 *
 *   PARSE_LITERAL  the line ends in a literal's announcement: ps->literal
 *                  tells its size and kind; its first octet is (or will
 *                  be) at start + ps->pos.  The caller chooses one of:
 *
 *        (a) inline, for small literals (LOGIN's password, a mailbox
 *            name, a SEARCH string); only if ps->literal.inline_ok.
 *            For a synchronizing literal, send "+ Ready" first.  Then
 *            call ngx_mail_imapd_parse_command() as before; it returns
 *            AGAIN until the literal's octets are in the buffer, then
 *            goes on with the rest of the command.  The node's value
 *            points to the octets in the buffer.
 *
 *        (b) external, for APPEND's message: after "+ Ready" if
 *            synchronizing, the caller consumes the ps->literal.size
 *            octets itself (those already in the buffer from
 *            start + ps->pos on, and the rest from the connection),
 *            puts whatever follows them at start + ps->pos (the literal
 *            is cut out of the buffer), calls
 *            ngx_mail_imapd_parse_literal_external() and then
 *            ngx_mail_imapd_parse_command() as before.  The node is a
 *            LITERAL with value.len the size and value.data NULL.
 *            The caller may call ngx_mail_imapd_parse_literal_external()
 *            at once, before streaming, as nothing of the parser's
 *            state depends on the literal's octets.
 *
 *        (c) refuse (too big, over quota, not allowed here): answer
 *            "tag NO [TOOBIG] ..." or "tag BAD ...", call
 *            ngx_mail_imapd_parse_reject(), and skip as after an error.
 *            A synchronizing literal is never sent when the server does
 *            not send "+" (RFC 3501 7.5), a non-synchronizing one is,
 *            and must be read and dropped (RFC 7888 4).
 *
 *   PARSE_ERROR    the command is invalid: ps->error is the reason, a
 *                  short text for "tag BAD <reason>" (or "* BAD <reason>"
 *                  when ps->tag.len is 0: no tag could be parsed).  The
 *                  rest of the command must be skipped: its octets may
 *                  not even have arrived yet, and may contain more
 *                  non-synchronizing literals.  Call
 *
 *                      rc = ngx_mail_imapd_parse_skip(ps, p, last, &used);
 *
 *                  first with p = start + ps->pos, then with each new
 *                  chunk read: PARSE_AGAIN when all of [p, last) was
 *                  dropped, PARSE_OK when the command ended after "used"
 *                  octets, the next command beginning at p + used.
 *                  The octets skipped need not stay in the buffer.
 *
 * After OK, or the OK of a skip, call ngx_mail_imapd_parse_init() before
 * the next command.
 *
 *
 * The syntax accepted
 *
 *   - A line ends in CRLF or in a bare LF (clients do send that).  A CR
 *     not followed by LF is an error.  NUL and other controls are errors
 *     everywhere but in literal8.
 *   - tag: 1*<ASTRING-CHAR except "+">, then one or more SP.
 *   - command: an atom, returned as sent (compare it with
 *     ngx_mail_imapd_atom_eq()).  "UID" followed by an atom sets
 *     ps->uid and returns that atom as the name: "UID FETCH" is FETCH
 *     with ps->uid set.  Which commands may follow UID is the caller's
 *     business (RFC 3501 6.4.8, RFC 4315, RFC 6851).
 *   - arguments: separated by one or more SP (clients are not always
 *     exact; RFC 3501 asks for one), optional SP after "(" and before
 *     ")" and at the end of the line; but "(a)(b)" or "a"b"" are errors.
 *   - ATOM: the ATOM-CHARs and also "%", "*" (list-wildcards, sequence
 *     sets), "]" (ASTRING-CHAR) and a leading "\" (flags: \Seen, \*).
 *     An atom may hold "[...]" sections, returned as part of the atom
 *     with whatever they contain (SP, parentheses, quoted strings, but
 *     no literal), and "<...>" after them is just more atom text:
 *     "BODY.PEEK[HEADER.FIELDS (From To)]<0.2048>" is one ATOM.
 *     8-bit octets are errors in atoms, as in Dovecot.
 *   - "NIL" in any case is an ATOM with node->nil set: a mailbox may be
 *     called NIL, and nstring takes it as "no value".
 *   - QUOTED: value is the content without the quotes.  "\\" and "\""
 *     are the only escapes (RFC 3501 9 quoted-specials); a quoted
 *     string holding one is copied unescaped into ps->scratch and has
 *     node->escaped set, otherwise value points into the buffer.
 *     8-bit octets are allowed (RFC 6855 UTF8=ACCEPT; Thunderbird sends
 *     UTF-8 in SEARCH) and set node->eightbit.
 *   - LITERAL: {n}, {n+} (if conf->literal_plus allows), ~{n} and
 *     ~{n+} (literal8, node->binary set).  n is at most 4294967295
 *     (RFC 3501 number); leading zeros are accepted.  An ordinary
 *     literal taken inline must not contain NUL (RFC 3501 CHAR8).
 *   - LIST: "(" ... ")", nested at most conf->max_depth deep.
 */

#ifndef _NGX_MAIL_IMAPD_PARSE_H_INCLUDED_
#define _NGX_MAIL_IMAPD_PARSE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#ifndef _NGX_MAIL_IMAPD_PARSE_CODES_
#define _NGX_MAIL_IMAPD_PARSE_CODES_

/* the values of NGX_OK, NGX_ERROR, NGX_AGAIN, NGX_DONE, NGX_DECLINED */
#define NGX_MAIL_IMAPD_PARSE_OK         0
#define NGX_MAIL_IMAPD_PARSE_ERROR     -1
#define NGX_MAIL_IMAPD_PARSE_AGAIN     -2
#define NGX_MAIL_IMAPD_PARSE_DONE      -4
#define NGX_MAIL_IMAPD_PARSE_DECLINED  -5

/* the layout of ngx_str_t, so that the caller may cast */
typedef struct {
    size_t                      len;
    const unsigned char        *data;
} ngx_mail_imapd_str_t;

#endif


/* the parser stopped at a literal's announcement: NGX_DONE */
#define NGX_MAIL_IMAPD_PARSE_LITERAL   NGX_MAIL_IMAPD_PARSE_DONE

/* no node: the end of a sibling chain, the parent of a top-level node */
#define NGX_MAIL_IMAPD_NODE_NONE       0xffffffffU

/* RFC 7888 5 */
#define NGX_MAIL_IMAPD_LITERAL_MINUS_MAX  4096

/* conf->literal_plus */
#define NGX_MAIL_IMAPD_LITERAL_SYNC    0    /* only {n}: {n+} is an error */
#define NGX_MAIL_IMAPD_LITERAL_PLUS    1    /* LITERAL+ announced */
#define NGX_MAIL_IMAPD_LITERAL_MINUS   2    /* LITERAL-: {n+} up to 4096 */


typedef enum {
    NGX_MAIL_IMAPD_NODE_ATOM = 1,
    NGX_MAIL_IMAPD_NODE_QUOTED,
    NGX_MAIL_IMAPD_NODE_LITERAL,
    NGX_MAIL_IMAPD_NODE_LIST
} ngx_mail_imapd_node_type_e;


/*
 * The arguments in document order: ps->nodes[0] is the first argument.
 * Siblings are chained by "next"; a LIST's elements start at "child"
 * and number "count"; "parent" is the enclosing LIST.
 */
typedef struct {
    ngx_mail_imapd_str_t        value;     /* empty for a LIST */
    uint32_t                    parent;
    uint32_t                    next;
    uint32_t                    child;
    uint32_t                    count;
    unsigned                    type:3;    /* ngx_mail_imapd_node_type_e */
    unsigned                    nil:1;     /* ATOM "NIL", any case */
    unsigned                    flag:1;    /* ATOM starting with "\" */
    unsigned                    wildcard:1;  /* ATOM with "%" or "*" */
    unsigned                    section:1; /* ATOM with "[...]" */
    unsigned                    escaped:1; /* QUOTED, in ps->scratch */
    unsigned                    eightbit:1;  /* QUOTED with 8-bit octets */
    unsigned                    sync:1;    /* LITERAL {n}, not {n+} */
    unsigned                    binary:1;  /* LITERAL8 ~{n} */
    unsigned                    external:1;  /* LITERAL consumed outside */
} ngx_mail_imapd_node_t;


typedef struct {
    /* non-literal octets of a command, line ends included */
    size_t                      max_line;
    /* all the octets of the literals one command takes inline */
    size_t                      max_inline;
    /* nesting of lists: "()" is 1 */
    unsigned                    max_depth;
    /* NGX_MAIL_IMAPD_LITERAL_SYNC, _PLUS or _MINUS */
    unsigned                    literal_plus;
} ngx_mail_imapd_parse_conf_t;


typedef struct {
    uint64_t                    size;
    uint32_t                    node;      /* its LITERAL node */
    unsigned                    sync:1;    /* {n}: send "+" before reading */
    unsigned                    binary:1;  /* ~{n} */
    unsigned                    inline_ok:1;  /* fits in max_inline */
} ngx_mail_imapd_literal_t;


typedef struct {
    /* set by the caller before ngx_mail_imapd_parse_init() */
    const ngx_mail_imapd_parse_conf_t  *conf;
    ngx_mail_imapd_node_t      *nodes;
    uint32_t                    max_nodes;
    /* for unescaped quoted strings: conf->max_line octets never fail */
    unsigned char              *scratch;
    size_t                      scratch_size;

    /* results */
    ngx_mail_imapd_str_t        tag;
    ngx_mail_imapd_str_t        name;
    unsigned                    uid:1;
    uint32_t                    nnodes;
    uint32_t                    nargs;     /* top-level arguments */
    ngx_mail_imapd_literal_t    literal;   /* after PARSE_LITERAL */
    ngx_mail_imapd_str_t        error;     /* after PARSE_ERROR */
    size_t                      pos;       /* see above */

    /* private state */
    unsigned                    state;
    unsigned                    phase;
    unsigned                    need_space:1;
    unsigned                    skip_plus:1;
    size_t                      scan;
    size_t                      line_bytes;
    size_t                      inline_bytes;
    size_t                      scratch_used;
    uint32_t                    list;
    uint32_t                    last;
    unsigned                    depth;
    unsigned                    skip_mark;
    unsigned                    skip_ndigits;
    uint64_t                    skip_number;
    uint64_t                    skip_left;
} ngx_mail_imapd_parser_t;


/* forgets the previous command; keeps conf, nodes and scratch */
void ngx_mail_imapd_parse_init(ngx_mail_imapd_parser_t *ps);

/* PARSE_OK, PARSE_AGAIN, PARSE_LITERAL or PARSE_ERROR, see above */
int ngx_mail_imapd_parse_command(ngx_mail_imapd_parser_t *ps,
    const unsigned char *start, const unsigned char *end);

/* after PARSE_LITERAL: the caller takes the literal's octets itself */
void ngx_mail_imapd_parse_literal_external(ngx_mail_imapd_parser_t *ps);

/* after PARSE_LITERAL: the command is refused, skip the rest of it */
void ngx_mail_imapd_parse_reject(ngx_mail_imapd_parser_t *ps);

/*
 * After PARSE_ERROR or ngx_mail_imapd_parse_reject(): drops octets up
 * to the end of the command, non-synchronizing literals included.
 * PARSE_OK with *used the octets of [p, last) that belonged to the
 * command, or PARSE_AGAIN when all of them did.  The skip has no size
 * limit: the caller's timeouts bound it.
 */
int ngx_mail_imapd_parse_skip(ngx_mail_imapd_parser_t *ps,
    const unsigned char *p, const unsigned char *last, size_t *used);

/*
 * The string value of an astring or string argument (RFC 3501 9): an
 * ATOM of ASTRING-CHARs (no wildcard, flag or section; "NIL" is the
 * mailbox "NIL"), a QUOTED or an inline LITERAL.  PARSE_ERROR for
 * anything else.
 */
int ngx_mail_imapd_astring(const ngx_mail_imapd_node_t *node,
    ngx_mail_imapd_str_t *value);

/* an ATOM's text equals "s" in ASCII case-insensitive comparison */
int ngx_mail_imapd_atom_eq(const ngx_mail_imapd_str_t *atom, const char *s);


#endif /* _NGX_MAIL_IMAPD_PARSE_H_INCLUDED_ */
