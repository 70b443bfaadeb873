/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dynbuf.h - a growable byte buffer with a hard cap (after curl's
 * lib/curlx/dynbuf.c): every append fails with -E2BIG past the cap, so no
 * input can make the tool or the library grow without bound.
 *
 * Never used in signal context. Thread-safe: no.
 */
#ifndef CP_DYNBUF_H
#define CP_DYNBUF_H

#include <stdarg.h>
#include <stddef.h>

struct cp_dynbuf {
    char *data; /* NUL-terminated when non-NULL */
    size_t len;
    size_t cap;   /* allocated */
    size_t limit; /* hard cap on len */
};

/* Caller storage; cannot fail. */
void cp_dynbuf_init(struct cp_dynbuf *b, size_t limit);
void cp_dynbuf_free(struct cp_dynbuf *b);
void cp_dynbuf_reset(struct cp_dynbuf *b); /* len = 0, keeps memory */
/* 0, -ENOMEM, or -E2BIG past the limit. On failure the buffer is left as
 * it was (unlike curl's, which frees it). */
int cp_dynbuf_add(struct cp_dynbuf *b, const void *data, size_t len);
int cp_dynbuf_addstr(struct cp_dynbuf *b, const char *s);
int cp_dynbuf_printf(struct cp_dynbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cp_dynbuf_vprintf(struct cp_dynbuf *b, const char *fmt, va_list ap);
/* Hand the data to the caller (who frees it); the buffer is empty after.
 * NULL (and *len = 0) when nothing was ever added. */
char *cp_dynbuf_take(struct cp_dynbuf *b, size_t *len);

/*
 * Make room for `extra` more bytes (plus the NUL) without changing len, so
 * a producer (zlib, an encoder) can write straight into data + len and then
 * call cp_dynbuf_setlen. 0, -ENOMEM, or -E2BIG when len + extra > limit.
 */
int cp_dynbuf_reserve(struct cp_dynbuf *b, size_t extra);
/* Set len (<= cap - 1) after writing into reserved room; re-terminates. */
void cp_dynbuf_setlen(struct cp_dynbuf *b, size_t len);

#endif /* CP_DYNBUF_H */
