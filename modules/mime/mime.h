
/*
 * MIME library of nginx-mailserver: a zero-copy RFC 5322 / MIME parser,
 * header decoders and IMAP ENVELOPE / BODYSTRUCTURE writers.
 *
 * Plain C99 + POSIX + iconv, no nginx dependency and no global mutable
 * state: every call gets its memory from the caller's allocator, which
 * never has to free single objects (an nginx pool fits).
 */

#ifndef _MIME_H_INCLUDED_
#define _MIME_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <time.h>


#define MIME_OK          0
#define MIME_ERROR      -1
#define MIME_DECLINED   -5


typedef unsigned char  mime_uchar_t;


typedef struct {
    void                   *(*alloc)(void *ctx, size_t size);
    void                     *ctx;
} mime_allocator_t;


typedef struct mime_arena_s  mime_arena_t;

mime_arena_t *mime_arena_create(size_t block_size);
void mime_arena_destroy(mime_arena_t *arena);
void *mime_arena_alloc(void *arena, size_t size);
void mime_arena_allocator(mime_arena_t *arena, mime_allocator_t *allocator);
void *mime_alloc(const mime_allocator_t *allocator, size_t size);


typedef struct {
    const mime_uchar_t       *data;
    size_t                    len;
} mime_str_t;


/*
 * Output buffer.  It grows from the allocator; when "flush" is set and
 * "limit" bytes are buffered, the bytes are handed to flush() instead,
 * so a caller can stream big responses.
 */

typedef struct mime_buf_s  mime_buf_t;

struct mime_buf_s {
    mime_uchar_t             *data;
    size_t                    len;
    size_t                    size;
    const mime_allocator_t   *allocator;
    int                     (*flush)(void *ctx, const mime_uchar_t *data,
                                     size_t len);
    void                     *flush_ctx;
    size_t                    limit;
    unsigned                  failed:1;
};

void mime_buf_init(mime_buf_t *buf, const mime_allocator_t *allocator,
    size_t size);
int mime_buf_append(mime_buf_t *buf, const void *data, size_t len);
int mime_buf_append_str(mime_buf_t *buf, const char *s);
int mime_buf_append_char(mime_buf_t *buf, int c);
int mime_buf_append_number(mime_buf_t *buf, unsigned long long n);
int mime_buf_flush(mime_buf_t *buf);


/* parser limits; zero fields take the defaults below */

#define MIME_DEFAULT_MAX_DEPTH     100
#define MIME_DEFAULT_MAX_PARTS     10000
#define MIME_DEFAULT_MAX_HEADERS   2000
#define MIME_HARD_MAX_DEPTH        1000

typedef struct {
    unsigned                  max_depth;
    unsigned                  max_parts;
    unsigned                  max_headers;
} mime_limits_t;


/* one header field; all offsets are into the message buffer */

typedef struct mime_header_s  mime_header_t;

struct mime_header_s {
    mime_header_t            *next;
    size_t                    start;
    size_t                    name_len;
    size_t                    value_start;
    size_t                    value_end;
    size_t                    end;
};


typedef struct mime_param_s  mime_param_t;

struct mime_param_s {
    mime_param_t             *next;
    mime_str_t                name;
    /*
     * The value unquoted, RFC 2231 continuations joined; for an
     * extended (charset'language'%XX) value still in that encoding,
     * which is what IMAP BODYSTRUCTURE shows (under the name "name*").
     */
    mime_str_t                value;
    mime_str_t                charset;
    mime_str_t                language;
    unsigned                  extended:1;
};


#define MIME_ENC_7BIT      0
#define MIME_ENC_8BIT      1
#define MIME_ENC_BINARY    2
#define MIME_ENC_QP        3
#define MIME_ENC_BASE64    4
#define MIME_ENC_OTHER     5


/* part flags */
#define MIME_PART_MULTIPART      0x0001
#define MIME_PART_MESSAGE        0x0002   /* message/rfc822: see "message" */
#define MIME_PART_TEXT           0x0004
#define MIME_PART_DEFAULT_TYPE   0x0008   /* no usable Content-Type */
#define MIME_PART_NO_END         0x0010   /* multipart without close line */
#define MIME_PART_OVERFLOW       0x0020   /* a limit stopped the parser */
#define MIME_PART_HEADER_LIMIT   0x0040
#define MIME_PART_8BIT_HEADER    0x0080


typedef struct mime_part_s  mime_part_t;

struct mime_part_s {
    mime_part_t              *parent;
    mime_part_t              *next;
    mime_part_t              *children;
    mime_part_t              *message;     /* message/rfc822 inner root */

    unsigned                  depth;
    unsigned                  nchildren;
    unsigned                  flags;

    /* header: [header_start, header_end), the blank line included */
    size_t                    header_start;
    size_t                    header_end;
    size_t                    header_lines;
    size_t                    header_vsize;

    /* body: [body_start, body_end), the CRLF before a boundary excluded */
    size_t                    body_start;
    size_t                    body_end;
    size_t                    body_lines;
    size_t                    body_vsize;  /* size with bare LF as CRLF */

    mime_header_t            *headers;
    mime_header_t            *last_header;
    unsigned                  nheaders;

    /* the first instance of each content header, NULL if none */
    mime_header_t            *content_type;
    mime_header_t            *content_encoding;
    mime_header_t            *content_disposition;
    mime_header_t            *content_id;
    mime_header_t            *content_description;
    mime_header_t            *content_language;
    mime_header_t            *content_location;
    mime_header_t            *content_md5;

    /* parsed Content-Type; empty type means the default applies */
    mime_str_t                type;
    mime_str_t                subtype;
    mime_param_t             *params;
    mime_str_t                boundary;
    mime_str_t                charset;
    mime_str_t                encoding;
    unsigned                  encoding_id;
};


typedef struct {
    const mime_uchar_t       *data;
    size_t                    len;
    mime_part_t              *root;
    unsigned                  nparts;
    unsigned                  flags;        /* OR of all part flags */
    const mime_allocator_t   *allocator;
} mime_message_t;


mime_message_t *mime_parse(const mime_allocator_t *allocator,
    const mime_uchar_t *data, size_t len, const mime_limits_t *limits);

/*
 * The part after "part" in a pre-order walk of the whole tree: its first
 * child, else the root of the message it carries, else the next sibling
 * of it or of its nearest ancestor that has one; NULL at the end.  The
 * walk needs no stack, however deep the tree.
 */
const mime_part_t *mime_part_next(const mime_part_t *part);


/* headers */

mime_header_t *mime_header_find(const mime_message_t *msg,
    const mime_part_t *part, const char *name);
int mime_header_name_is(const mime_message_t *msg, const mime_header_t *h,
    const char *name, size_t len);
int mime_header_value(const mime_message_t *msg, const mime_header_t *h,
    mime_str_t *value);
int mime_header_unfold(const mime_allocator_t *allocator,
    const mime_uchar_t *p, size_t len, mime_str_t *value);

int mime_content_type_parse(const mime_allocator_t *allocator,
    const mime_uchar_t *p, size_t len, mime_str_t *type, mime_str_t *subtype,
    mime_param_t **params);
int mime_disposition_parse(const mime_allocator_t *allocator,
    const mime_uchar_t *p, size_t len, mime_str_t *disposition,
    mime_param_t **params);
int mime_language_parse(const mime_allocator_t *allocator,
    const mime_uchar_t *p, size_t len, mime_str_t **langs, unsigned *n);
mime_param_t *mime_param_find(mime_param_t *params, const char *name);
int mime_param_decode(const mime_allocator_t *allocator,
    const mime_param_t *param, mime_str_t *utf8);

int mime_strcaseeq(const mime_uchar_t *p, size_t len, const char *s);


/* RFC 5322 addresses */

typedef struct mime_address_s  mime_address_t;

struct mime_address_s {
    mime_address_t           *next;
    mime_str_t                name;      /* data NULL: no display name */
    mime_str_t                route;     /* obs-route "@a,@b", or NULL */
    mime_str_t                mailbox;
    mime_str_t                domain;
    unsigned                  group_start:1;  /* mailbox is the group name */
    unsigned                  group_end:1;
    unsigned                  invalid:1;
    unsigned                  syntax_error:1;  /* junk inside "<...>" */
};

mime_address_t *mime_address_parse(const mime_allocator_t *allocator,
    const mime_uchar_t *p, size_t len);


/* RFC 5322 3.3 and 4.3 dates */

int mime_date_parse(const mime_uchar_t *p, size_t len, time_t *t,
    int *tz_minutes);


/*
 * RFC 3629 4: one UTF-8 sequence at p (p < end): its length, 1 to 4,
 * and its code point in *cp; 0 if p does not begin a well-formed one
 * (a continuation octet, C0, C1, F5..FF, an overlong form, a surrogate,
 * past U+10FFFF, or cut short by end), *cp then untouched.
 */

size_t mime_utf8_decode(const mime_uchar_t *p, const mime_uchar_t *end,
    uint32_t *cp);

/*
 * The UTF-8 of code point cp at p, which has room for 4 octets: its
 * length.  A surrogate or a value past U+10FFFF, which UTF-8 cannot
 * carry, is written as U+FFFD.
 */

size_t mime_utf8_encode(uint32_t cp, mime_uchar_t *p);


/* charsets and RFC 2047 */

int mime_charset_to_utf8(const mime_allocator_t *allocator,
    const mime_uchar_t *charset, size_t charset_len,
    const mime_uchar_t *p, size_t len, mime_buf_t *out);
int mime_words_decode(const mime_allocator_t *allocator,
    const mime_uchar_t *p, size_t len, mime_str_t *utf8);


/* transfer decoders; "out" needs room for len bytes (QP) or len*3/4+3 */

size_t mime_base64_decode(mime_uchar_t *out, const mime_uchar_t *p,
    size_t len);
size_t mime_qp_decode(mime_uchar_t *out, const mime_uchar_t *p, size_t len,
    int header);
int mime_part_decode(const mime_message_t *msg, const mime_part_t *part,
    const mime_allocator_t *allocator, mime_str_t *body);

#define MIME_TEXT_HTML_STRIP   0x01
#define MIME_TEXT_HEADERS      0x02

int mime_text_extract(const mime_message_t *msg, mime_buf_t *out,
    unsigned flags);


/* IMAP (RFC 3501) */

int mime_imap_envelope(const mime_message_t *msg, const mime_part_t *root,
    mime_buf_t *out);
int mime_imap_bodystructure(const mime_message_t *msg,
    const mime_part_t *part, mime_buf_t *out, int extended);
int mime_imap_nstring(mime_buf_t *out, const mime_uchar_t *p, size_t len);
int mime_imap_string_human(mime_buf_t *out, const mime_uchar_t *p,
    size_t len);


#define MIME_SECTION_ALL                0
#define MIME_SECTION_HEADER             1
#define MIME_SECTION_HEADER_FIELDS      2
#define MIME_SECTION_HEADER_FIELDS_NOT  3
#define MIME_SECTION_TEXT               4
#define MIME_SECTION_MIME               5

#define MIME_SECTION_MAX_PARTS   64
#define MIME_SECTION_MAX_FIELDS  64

typedef struct {
    unsigned                  part[MIME_SECTION_MAX_PARTS];
    unsigned                  nparts;
    unsigned                  kind;
    mime_str_t                fields[MIME_SECTION_MAX_FIELDS];
    unsigned                  nfields;
} mime_section_t;

int mime_section_parse(const mime_uchar_t *p, size_t len,
    mime_section_t *section);
int mime_section_range(const mime_message_t *msg,
    const mime_section_t *section, size_t *start, size_t *end);
int mime_section_write(const mime_message_t *msg,
    const mime_section_t *section, mime_buf_t *out);
const mime_part_t *mime_section_part(const mime_message_t *msg,
    const mime_section_t *section);


#endif /* _MIME_H_INCLUDED_ */
