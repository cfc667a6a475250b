
/*
 * Helpers shared by the files of the MIME library; not part of the API.
 */

#ifndef _MIME_INTERNAL_H_INCLUDED_
#define _MIME_INTERNAL_H_INCLUDED_


#include "mime.h"


typedef struct {
    const mime_uchar_t       *p;
    const mime_uchar_t       *end;
} mime_lexer_t;


#define mime_is_wsp(c)   ((c) == ' ' || (c) == '\t')
#define mime_is_lwsp(c)  ((c) == ' ' || (c) == '\t' || (c) == '\r'          \
                          || (c) == '\n')
#define mime_lower(c)    (((c) >= 'A' && (c) <= 'Z') ? (c) + 32 : (c))


void mime_lex_skip_cfws(mime_lexer_t *lx);
int mime_lex_quoted(mime_lexer_t *lx, const mime_allocator_t *allocator,
    mime_str_t *out);
int mime_lex_comment(mime_lexer_t *lx, mime_str_t *out);
int mime_lex_token(mime_lexer_t *lx, mime_str_t *out);
int mime_lex_atom(mime_lexer_t *lx, mime_str_t *out);

mime_uchar_t *mime_strdup(const mime_allocator_t *allocator,
    const mime_uchar_t *p, size_t len);
int mime_hex(int c);
int mime_utf8_valid(const mime_uchar_t *p, size_t len);


#endif /* _MIME_INTERNAL_H_INCLUDED_ */
