/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_legacy_text.c - libFuzzer target for the legacy text readers
 * (src/profile/legacy.c): heap and growth profiles (Go's debug=1,
 * gperftools' HEAPPROFILE, cprof's), contention, Go count and threadz
 * texts, their memory maps and symbol comments. Any input gives a profile
 * or an error sentence, never a crash, leak or hang; what parses then
 * goes through the command's filters and reports (exercise.h).
 * Seeds: fuzz/corpus/legacy_text/ (fuzz/mkcorpus_legacy.py).
 */
#include <stddef.h>
#include <stdint.h>

#include "exercise.h"
#include "profile/legacy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cp_profile p;
    char err[256];
    unsigned seed = cp_fuzz_seed(data, size);
    unsigned flags = (seed & 4) ? CP_LEGACY_NO_COMMENTS : 0;
    if (cp_legacy_parse(data, size, flags, &p, err, sizeof(err)) < 0)
        return 0;
    cp_fuzz_exercise(&p, seed);
    cp_profile_free(&p);
    return 0;
}
