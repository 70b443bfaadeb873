/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dynbuf.c - growable byte buffer with a hard cap (see dynbuf.h).
 *
 * Growth doubles the allocation so n appends cost O(n) copies in total;
 * the allocation never exceeds limit + 1 (the NUL). A failed append leaves
 * the buffer untouched, so a caller may report the error and still use or
 * free what it had. Never used in signal context.
 */
#include "dynbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DYN_MIN_ALLOC 64

void cp_dynbuf_init(struct cp_dynbuf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    /* limit + 1 must fit in size_t for the NUL */
    b->limit = limit == SIZE_MAX ? SIZE_MAX - 1 : limit;
}

void cp_dynbuf_free(struct cp_dynbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void cp_dynbuf_reset(struct cp_dynbuf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int cp_dynbuf_reserve(struct cp_dynbuf *b, size_t extra)
{
    if (extra > b->limit - b->len)
        return -E2BIG;
    size_t need = b->len + extra + 1; /* cannot overflow: limit < SIZE_MAX */
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : DYN_MIN_ALLOC;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? SIZE_MAX : ncap * 2;
    if (ncap > b->limit + 1)
        ncap = b->limit + 1;
    char *nd = realloc(b->data, ncap);
    if (!nd)
        return -ENOMEM;
    if (!b->data)
        nd[0] = '\0';
    b->data = nd;
    b->cap = ncap;
    return 0;
}

void cp_dynbuf_setlen(struct cp_dynbuf *b, size_t len)
{
    if (!b->data || len >= b->cap)
        return; /* misuse: keep the buffer consistent */
    b->len = len;
    b->data[len] = '\0';
}

int cp_dynbuf_add(struct cp_dynbuf *b, const void *data, size_t len)
{
    int rc = cp_dynbuf_reserve(b, len);
    if (rc < 0)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int cp_dynbuf_addstr(struct cp_dynbuf *b, const char *s)
{
    return cp_dynbuf_add(b, s, strlen(s));
}

int cp_dynbuf_vprintf(struct cp_dynbuf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    /* First try in the room we already have; most lines fit. */
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    va_copy(ap2, ap);
    int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        if (b->data)
            b->data[b->len] = '\0';
        return -EINVAL;
    }
    if ((size_t)n < room) {
        if ((size_t)n > b->limit - b->len) {
            b->data[b->len] = '\0';
            return -E2BIG;
        }
        b->len += (size_t)n;
        return 0;
    }
    int rc = cp_dynbuf_reserve(b, (size_t)n);
    if (rc < 0) {
        if (b->data)
            b->data[b->len] = '\0';
        return rc;
    }
    va_copy(ap2, ap);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
    return 0;
}

int cp_dynbuf_printf(struct cp_dynbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cp_dynbuf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *cp_dynbuf_take(struct cp_dynbuf *b, size_t *len)
{
    char *d = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return d;
}
