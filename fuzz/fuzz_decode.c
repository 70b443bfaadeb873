/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_decode.c - libFuzzer target for the profile decoder (gzip and
 * profile.proto, src/profile/decode.c, gz.c): any input must give a valid
 * model or an error sentence, never a crash, leak or hang; what decodes
 * must re-encode and decode again to the same shape (encode.c).
 * Seeds: fuzz/corpus/decode/ (real Go and cprof profiles, cut, flipped).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "profile/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cp_profile p, q;
    struct cp_dynbuf b;
    char err[256];
    /* a small cap: gzip bombs must stop at it, quickly */
    if (cp_profile_decode(data, size, 1 << 20, &p, err, sizeof(err)) < 0)
        return 0;
    cp_dynbuf_init(&b, (size_t)64 << 20);
    if (cp_profile_encode(&p, (size & 1) != 0, &b) < 0)
        abort();
    if (cp_profile_decode(b.data, b.len, (size_t)64 << 20, &q, err,
                          sizeof(err)) < 0 ||
        q.n_samples != p.n_samples || q.n_locations != p.n_locations ||
        q.n_functions != p.n_functions || q.n_mappings != p.n_mappings)
        abort();
    cp_profile_free(&q);
    cp_dynbuf_free(&b);
    cp_profile_free(&p);
    return 0;
}
