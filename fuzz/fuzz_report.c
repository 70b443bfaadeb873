/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_report.c - libFuzzer target for what the cprof command does after
 * reading a profile.proto (src/profile/merge.c, filter.c, graph.c,
 * report.c): any profile the decoder accepts, however odd its values,
 * labels, inlined frames or sample types, goes through copy, pruning,
 * filters, aggregation, the report model and every text report without a
 * crash, leak or hang. Seeds: fuzz/corpus/report/ (mkcorpus_legacy.py).
 */
#include <stddef.h>
#include <stdint.h>

#include "exercise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cp_profile p;
    char err[256];
    if (cp_profile_decode(data, size, 1 << 20, &p, err, sizeof(err)) < 0)
        return 0;
    cp_fuzz_exercise(&p, cp_fuzz_seed(data, size));
    cp_profile_free(&p);
    return 0;
}
