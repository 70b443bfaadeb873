/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gz.c - gzip in and out through zlib, for profiles and anything else the
 * command reads (legacy text profiles may be gzip'd too).
 *
 * Decompression is capped: a few kilobytes of deflate can expand a
 * thousandfold (zip bombs), so output stops at max_decompressed and the
 * caller gets -E2BIG instead of the machine's memory. Concatenated members
 * are read as one stream (gzip(1) and Go's gzip.Reader do the same);
 * NUL padding after the last member is accepted as gzip(1) accepts it, any
 * other trailing byte is an error. Inflate writes straight into the
 * caller's buffer, growing it by doubling, so nothing is copied twice.
 *
 * Never used in signal context. Thread-safe: yes (no shared state).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "codec.h"
#include "profile_int.h"

int cp_is_gzip(const void *data, size_t len)
{
    const unsigned char *d = data;
    return len >= 2 && d[0] == 0x1f && d[1] == 0x8b;
}

static int gz_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int gz_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* How much room to ask for next: double what we have, at least 64 KiB,
 * never more than the cap allows. */
static size_t next_room(size_t produced, size_t hint, size_t left)
{
    size_t want = produced > hint ? produced : hint;
    if (want < (64u << 10))
        want = 64u << 10;
    return want < left ? want : left;
}

int cp_gunzip_err(const void *data, size_t len, size_t max_decompressed,
                  struct cp_dynbuf *out, char *err, size_t errlen)
{
    const unsigned char *in = data;
    size_t start = out->len;
    size_t cap = max_decompressed;
    if (cap > out->limit - out->len)
        cap = out->limit - out->len;
    size_t produced = 0;
    size_t consumed = 0; /* input bytes handed to zlib and used */
    int rc = 0;

    if (!cp_is_gzip(data, len))
        return gz_fail(err, errlen, -EBADMSG, "not gzip data (bad magic)");

    /* The last 4 bytes are the (last) member's size mod 2^32: a good first
     * guess for single-member files, bounded by the input's possible
     * expansion (deflate's best ratio is about 1032:1). */
    size_t hint = 0;
    if (len >= 18) {
        uint32_t isize = (uint32_t)in[len - 4] | (uint32_t)in[len - 3] << 8 |
                         (uint32_t)in[len - 2] << 16 |
                         (uint32_t)in[len - 1] << 24;
        hint = isize;
        if (len < SIZE_MAX / 1100 && hint > len * 1100)
            hint = 0;
    }

    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return gz_fail(err, errlen, -ENOMEM, "out of memory for zlib");

    for (;;) {
        /* feed input in <= UINT_MAX pieces (zlib counts in uInt) */
        if (z.avail_in == 0 && consumed < len) {
            size_t piece = len - consumed;
            if (piece > UINT_MAX)
                piece = UINT_MAX;
            z.next_in = (Bytef *)(in + consumed);
            z.avail_in = (uInt)piece;
        }
        size_t room = out->cap > out->len + 1 ? out->cap - out->len - 1 : 0;
        if (room > cap - produced)
            room = cap - produced;
        unsigned char spare;
        int probing = 0; /* at the cap: see whether one more byte comes */
        if (room == 0 && produced < cap) {
            rc = cp_dynbuf_reserve(out,
                                   next_room(produced, hint, cap - produced));
            if (rc < 0) {
                gz_fail(err, errlen, rc, "out of memory decompressing");
                goto out;
            }
            continue;
        }
        if (room == 0) {
            z.next_out = &spare;
            z.avail_out = 1;
            probing = 1;
        } else {
            if (room > UINT_MAX)
                room = UINT_MAX;
            z.next_out = (Bytef *)out->data + out->len;
            z.avail_out = (uInt)room;
        }
        uInt in_before = z.avail_in;
        uInt out_before = z.avail_out;
        int zr = inflate(&z, Z_NO_FLUSH);
        consumed += in_before - z.avail_in;
        size_t got = out_before - z.avail_out;
        if (probing && got) {
            rc = gz_fail(err, errlen, -E2BIG,
                         "profile is larger than %zu bytes once "
                         "decompressed; raise -max_decompressed",
                         max_decompressed);
            goto out;
        }
        if (!probing) {
            produced += got;
            out->len += got;
            out->data[out->len] = '\0';
        }
        if (zr == Z_STREAM_END) {
            /* another member, NUL padding, or garbage? */
            size_t left = len - consumed;
            if (left == 0)
                break;
            if (left >= 2 && in[consumed] == 0x1f && in[consumed + 1] == 0x8b) {
                if (inflateReset(&z) != Z_OK) {
                    rc = gz_fail(err, errlen, -ENOMEM, "zlib reset failed");
                    goto out;
                }
                continue;
            }
            size_t i = consumed;
            while (i < len && in[i] == 0)
                i++;
            if (i == len)
                break;
            rc = gz_fail(err, errlen, -EBADMSG,
                         "unexpected data after the gzip stream at byte %zu "
                         "of %zu",
                         i, len);
            goto out;
        }
        if (zr == Z_OK)
            continue;
        if (zr == Z_BUF_ERROR) {
            if (z.avail_in == 0 && consumed >= len) {
                rc = gz_fail(err, errlen, -EBADMSG,
                             "gzip data is truncated after %zu bytes (is "
                             "the file complete?)",
                             len);
                goto out;
            }
            if (got == 0 && in_before == z.avail_in) {
                rc = gz_fail(err, errlen, -EBADMSG,
                             "corrupt gzip data near byte %zu of %zu", consumed,
                             len);
                goto out; /* no progress possible: never spin */
            }
            continue; /* needed output room: the loop provides it */
        }
        if (zr == Z_MEM_ERROR) {
            rc = gz_fail(err, errlen, -ENOMEM, "out of memory in zlib");
            goto out;
        }
        rc = gz_fail(err, errlen, -EBADMSG,
                     "corrupt gzip data near byte %zu "
                     "of %zu (%s)",
                     consumed, len, z.msg ? z.msg : "data error");
        goto out;
    }
out:
    inflateEnd(&z);
    if (rc < 0 && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}

int cp_gunzip(const void *data, size_t len, size_t max_decompressed,
              struct cp_dynbuf *out)
{
    return cp_gunzip_err(data, len, max_decompressed, out, NULL, 0);
}

/* ---- compression ------------------------------------------------------ */

int cp_gzw_new(struct cp_gzw *w, struct cp_dynbuf *out, int level)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
    if (level < -1 || level > 9)
        level = Z_DEFAULT_COMPRESSION;
    /* 16 + 15: gzip wrapper, 32 KiB window; memLevel 8 is zlib's default */
    int zr = deflateInit2(&w->z, level, Z_DEFLATED, 16 + MAX_WBITS, 8,
                          Z_DEFAULT_STRATEGY);
    return zr == Z_OK ? 0 : -ENOMEM;
}

static int gzw_run(struct cp_gzw *w, int flush)
{
    for (;;) {
        size_t room =
            w->out->cap > w->out->len + 1 ? w->out->cap - w->out->len - 1 : 0;
        if (room < 4096) {
            size_t want =
                w->out->len > (256u << 10) ? w->out->len / 2 : (64u << 10);
            int rc = cp_dynbuf_reserve(w->out, want);
            if (rc < 0 && rc == -E2BIG && w->out->limit > w->out->len)
                rc = cp_dynbuf_reserve(w->out, w->out->limit - w->out->len);
            if (rc < 0)
                return rc;
            room = w->out->cap - w->out->len - 1;
            if (room == 0)
                return -E2BIG;
        }
        if (room > UINT_MAX)
            room = UINT_MAX;
        w->z.next_out = (Bytef *)w->out->data + w->out->len;
        w->z.avail_out = (uInt)room;
        int zr = deflate(&w->z, flush);
        size_t got = room - w->z.avail_out;
        w->out->len += got;
        w->out->data[w->out->len] = '\0';
        if (zr == Z_STREAM_END)
            return 0;
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            return -ENOMEM;
        if (flush == Z_NO_FLUSH && w->z.avail_in == 0)
            return 0;
        if (flush == Z_FINISH && zr == Z_BUF_ERROR && got == 0 &&
            w->z.avail_out != 0)
            return -EIO; /* cannot happen with zlib; never spin */
    }
}

int cp_gzw_write(struct cp_gzw *w, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len) {
        size_t piece = len > UINT_MAX ? UINT_MAX : len;
        w->z.next_in = (Bytef *)p;
        w->z.avail_in = (uInt)piece;
        int rc = gzw_run(w, Z_NO_FLUSH);
        if (rc < 0)
            return rc;
        p += piece;
        len -= piece;
    }
    return 0;
}

int cp_gzw_finish(struct cp_gzw *w)
{
    w->z.next_in = NULL;
    w->z.avail_in = 0;
    int rc = gzw_run(w, Z_FINISH);
    deflateEnd(&w->z);
    return rc;
}

int cp_gzw_set_level(struct cp_gzw *w, int level)
{
    /* deflateParams compresses what is pending at the old level first and
     * answers Z_BUF_ERROR while it lacks output room: give it room until
     * it is done. */
    w->z.next_in = NULL;
    w->z.avail_in = 0;
    for (int tries = 0; tries < 1024; tries++) {
        int rc = cp_dynbuf_reserve(w->out, 64u << 10);
        if (rc < 0)
            return rc;
        size_t room = w->out->cap - w->out->len - 1;
        if (room > UINT_MAX)
            room = UINT_MAX;
        w->z.next_out = (Bytef *)w->out->data + w->out->len;
        w->z.avail_out = (uInt)room;
        int zr = deflateParams(&w->z, level, Z_DEFAULT_STRATEGY);
        w->out->len += room - w->z.avail_out;
        w->out->data[w->out->len] = '\0';
        if (zr == Z_OK)
            return 0;
        if (zr != Z_BUF_ERROR)
            return -EINVAL;
    }
    return -EIO;
}

void cp_gzw_abort(struct cp_gzw *w)
{
    deflateEnd(&w->z);
}

int cp_gzip(const void *data, size_t len, int level, struct cp_dynbuf *out)
{
    struct cp_gzw w;
    size_t start = out->len;
    int rc = cp_gzw_new(&w, out, level);
    if (rc < 0)
        return rc;
    rc = cp_gzw_write(&w, data, len);
    if (rc < 0) {
        cp_gzw_abort(&w);
    } else {
        rc = cp_gzw_finish(&w);
    }
    if (rc < 0 && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}
