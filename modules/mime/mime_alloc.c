
/*
 * Memory: a small malloc-backed arena for tests and tools, and the
 * allocator-backed output buffer used by every writer.
 */

#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "mime.h"


#define MIME_ARENA_ALIGN  16


typedef struct mime_arena_block_s  mime_arena_block_t;

struct mime_arena_block_s {
    mime_arena_block_t       *next;
    size_t                    size;
    size_t                    used;
};

struct mime_arena_s {
    mime_arena_block_t       *blocks;
    size_t                    block_size;
};


mime_arena_t *
mime_arena_create(size_t block_size)
{
    mime_arena_t  *arena;

    arena = malloc(sizeof(mime_arena_t));
    if (arena == NULL) {
        return NULL;
    }

    arena->blocks = NULL;
    arena->block_size = block_size ? block_size : 64 * 1024;

    return arena;
}


void
mime_arena_destroy(mime_arena_t *arena)
{
    mime_arena_block_t  *b, *next;

    if (arena == NULL) {
        return;
    }

    for (b = arena->blocks; b; b = next) {
        next = b->next;
        free(b);
    }

    free(arena);
}


void *
mime_arena_alloc(void *ctx, size_t size)
{
    size_t               head, want;
    mime_arena_t        *arena;
    mime_arena_block_t  *b;

    arena = ctx;
    head = (sizeof(mime_arena_block_t) + MIME_ARENA_ALIGN - 1)
           & ~(size_t) (MIME_ARENA_ALIGN - 1);
    size = (size + MIME_ARENA_ALIGN - 1) & ~(size_t) (MIME_ARENA_ALIGN - 1);

    b = arena->blocks;

    if (b != NULL && b->size - b->used >= size) {
        b->used += size;
        return (char *) b + head + b->used - size;
    }

    if (size > arena->block_size / 4) {
        /* a big object gets its own block behind the current one */
        b = malloc(head + size);
        if (b == NULL) {
            return NULL;
        }

        b->size = size;
        b->used = size;

        if (arena->blocks) {
            b->next = arena->blocks->next;
            arena->blocks->next = b;

        } else {
            b->next = NULL;
            arena->blocks = b;
        }

        return (char *) b + head;
    }

    want = arena->block_size;

    b = malloc(head + want);
    if (b == NULL) {
        return NULL;
    }

    b->size = want;
    b->used = size;
    b->next = arena->blocks;
    arena->blocks = b;

    return (char *) b + head;
}


void
mime_arena_allocator(mime_arena_t *arena, mime_allocator_t *allocator)
{
    allocator->alloc = mime_arena_alloc;
    allocator->ctx = arena;
}


void *
mime_alloc(const mime_allocator_t *allocator, size_t size)
{
    return allocator->alloc(allocator->ctx, size ? size : 1);
}


void
mime_buf_init(mime_buf_t *buf, const mime_allocator_t *allocator, size_t size)
{
    memset(buf, 0, sizeof(mime_buf_t));
    buf->allocator = allocator;
    buf->size = 0;

    if (size) {
        buf->data = mime_alloc(allocator, size);
        if (buf->data == NULL) {
            buf->failed = 1;
            return;
        }

        buf->size = size;
    }
}


int
mime_buf_flush(mime_buf_t *buf)
{
    if (buf->flush == NULL || buf->len == 0) {
        return buf->failed ? MIME_ERROR : MIME_OK;
    }

    if (buf->flush(buf->flush_ctx, buf->data, buf->len) != MIME_OK) {
        buf->failed = 1;
        return MIME_ERROR;
    }

    buf->len = 0;

    return MIME_OK;
}


static int
mime_buf_grow(mime_buf_t *buf, size_t need)
{
    size_t         size;
    mime_uchar_t  *p;

    /*
     * The allocator has no free(): doubling keeps the total of the
     * abandoned copies below the final size.
     */

    size = buf->size ? buf->size * 2 : 256;

    while (size < buf->len + need) {
        size *= 2;
    }

    p = mime_alloc(buf->allocator, size);
    if (p == NULL) {
        buf->failed = 1;
        return MIME_ERROR;
    }

    if (buf->len) {
        memcpy(p, buf->data, buf->len);
    }

    buf->data = p;
    buf->size = size;

    return MIME_OK;
}


int
mime_buf_append(mime_buf_t *buf, const void *data, size_t len)
{
    size_t               n;
    const mime_uchar_t  *p;

    if (buf->failed) {
        return MIME_ERROR;
    }

    p = data;

    if (buf->flush && buf->limit) {

        while (buf->len + len > buf->limit) {
            if (buf->size < buf->limit
                && mime_buf_grow(buf, buf->limit - buf->len) != MIME_OK)
            {
                return MIME_ERROR;
            }

            n = buf->limit - buf->len;
            memcpy(buf->data + buf->len, p, n);
            buf->len += n;
            p += n;
            len -= n;

            if (mime_buf_flush(buf) != MIME_OK) {
                return MIME_ERROR;
            }
        }
    }

    if (buf->size - buf->len < len && mime_buf_grow(buf, len) != MIME_OK) {
        return MIME_ERROR;
    }

    if (len) {
        memcpy(buf->data + buf->len, p, len);
        buf->len += len;
    }

    return MIME_OK;
}


int
mime_buf_append_str(mime_buf_t *buf, const char *s)
{
    return mime_buf_append(buf, s, strlen(s));
}


int
mime_buf_append_char(mime_buf_t *buf, int c)
{
    mime_uchar_t  ch;

    ch = (mime_uchar_t) c;

    return mime_buf_append(buf, &ch, 1);
}


int
mime_buf_append_number(mime_buf_t *buf, unsigned long long n)
{
    char  tmp[32];
    int   len;

    len = snprintf(tmp, sizeof(tmp), "%llu", n);

    return mime_buf_append(buf, tmp, (size_t) len);
}
