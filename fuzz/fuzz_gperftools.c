/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_gperftools.c - libFuzzer target for gperftools' binary CPU profile
 * reader (src/profile/legacy.c): header in four word sizes and byte
 * orders, sample records, the end marker, the /proc/self/maps text after
 * it, the signal-frame stripping. An input without a valid header gets
 * one (64-bit little-endian, 10 ms) put in front, so every input reaches
 * the record parser. Never a crash, leak or hang; what parses then goes
 * through the command's reports (exercise.h).
 * Seeds: fuzz/corpus/gperftools/ (fuzz/mkcorpus_legacy.py).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exercise.h"
#include "profile/legacy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t hdr[40] = {0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0,
                                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x27};
    uint8_t *buf = NULL;
    const uint8_t *in = data;
    size_t n = size;
    /* a valid header starts with a zero word and then 3 */
    bool has = (size >= 8 && data[4] == 3 && !data[0]) ||
               (size >= 16 && data[8] == 3 && !data[0]) ||
               (size >= 8 && data[7] == 3 && !data[0]) ||
               (size >= 16 && data[15] == 3 && !data[0]);
    if (!has) {
        buf = malloc(size + sizeof(hdr));
        if (!buf)
            return 0;
        memcpy(buf, hdr, sizeof(hdr));
        if (size)
            memcpy(buf + sizeof(hdr), data, size);
        in = buf;
        n = size + sizeof(hdr);
    }
    struct cp_profile p;
    char err[256];
    if (cp_legacy_parse(in, n, 0, &p, err, sizeof(err)) == 0) {
        cp_fuzz_exercise(&p, cp_fuzz_seed(data, size));
        cp_profile_free(&p);
    }
    free(buf);
    return 0;
}
