/* SPDX-License-Identifier: Apache-2.0 */
/*
 * testprof.h - build small profiles in unit tests by stack text:
 *     struct cp_profile p;
 *     tp_init(&p, "samples/count cpu/nanoseconds");
 *     TP_SAMPLE(&p, "leaf;mid;main", 1, 10);          // leaf first
 *     tp_label(&p, "thread_name", "worker");          // on the last sample
 * Every function has one location (address 0x1000 + 16 * id, line 10 *
 * id) in one mapping "/bin/prog"; "a+b" as a frame is one location with
 * an inlined call (a inlined into b). Header-only, static: each test file
 * that includes it gets its own copy. Aborts on ENOMEM (tests only).
 */
#ifndef CP_TESTPROF_H
#define CP_TESTPROF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"

static inline void tp_check(int ok)
{
    if (!ok) {
        fprintf(stderr, "testprof: out of memory\n");
        abort();
    }
}

static inline void tp_init(struct cp_profile *p, const char *types)
{
    tp_check(cp_profile_init(p) == 0);
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", types);
    char *save = NULL;
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        char *slash = strchr(t, '/');
        tp_check(slash != NULL);
        *slash = 0;
        tp_check(cp_profile_add_sample_type(p, t, slash + 1) >= 0);
    }
    p->period_type = p->sample_types[p->n_sample_types - 1];
    p->period = 1;
    struct cp_mapping *m = cp_profile_add_mapping(p);
    tp_check(m != NULL);
    m->memory_start = 0x1000;
    m->memory_limit = 0x100000;
    m->filename = cp_profile_str(p, "/bin/prog");
    m->has_functions = m->has_filenames = m->has_line_numbers = true;
}

static inline uint64_t tp_fn(struct cp_profile *p, const char *name)
{
    int64_t n = cp_profile_str(p, name);
    for (size_t i = 0; i < p->n_functions; i++)
        if (p->functions[i].name == n)
            return p->functions[i].id;
    struct cp_function *f = cp_profile_add_function(p);
    tp_check(f != NULL);
    f->name = f->system_name = n;
    char file[300];
    snprintf(file, sizeof(file), "/src/%s.c", name);
    f->filename = cp_profile_str(p, file);
    f->start_line = 1;
    return f->id;
}

/* frame text "f" or "inner+outer" -> location id (made once) */
static inline uint64_t tp_loc(struct cp_profile *p, const char *frame)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", frame);
    uint64_t ids[8];
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, "+", &save); t && n < 8;
         t = strtok_r(NULL, "+", &save))
        ids[n++] = tp_fn(p, t);
    for (size_t i = 0; i < p->n_locations; i++) {
        const struct cp_location *l = &p->locations[i];
        if (l->n_lines != n)
            continue;
        size_t k = 0;
        while (k < n && l->lines[k].function_id == ids[k])
            k++;
        if (k == n)
            return l->id;
    }
    struct cp_location *l = cp_profile_add_location(p, n);
    tp_check(l != NULL);
    l->mapping_id = 1;
    l->address = 0x1000 + 16 * (uint64_t)(p->n_locations);
    for (size_t k = 0; k < n; k++) {
        l->lines[k].function_id = ids[k];
        l->lines[k].line = (int64_t)(10 * ids[k] + k);
    }
    return l->id;
}

/* A sample with stack "leaf;...;root" and one value per sample type:
 * TP_SAMPLE(&p, "leaf;root", 1, 10). */
static inline struct cp_sample *tp_sample_v(struct cp_profile *p,
                                            const char *stack,
                                            const int64_t *values)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", stack);
    uint64_t locs[64];
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ";", &save); t && n < 64;
         t = strtok_r(NULL, ";", &save))
        locs[n++] = tp_loc(p, t);
    struct cp_sample *s = cp_profile_add_sample(p, n, 0);
    tp_check(s != NULL);
    if (n)
        memcpy(s->location_ids, locs, n * sizeof(uint64_t));
    for (size_t i = 0; i < p->n_sample_types; i++)
        s->values[i] = values[i];
    return s;
}
#define TP_SAMPLE(p, stack, ...)                                             \
    tp_sample_v((p), (stack), (const int64_t[]){__VA_ARGS__})

/* Add a string label (num_unit NULL) or a numeric one to the last sample. */
static inline void tp_label_any(struct cp_profile *p, const char *key,
                                const char *str, int64_t num,
                                const char *unit)
{
    struct cp_sample *s = &p->samples[p->n_samples - 1];
    struct cp_label *nl = cp_profile_alloc(p, (s->n_labels + 1) * sizeof(*nl));
    tp_check(nl != NULL);
    if (s->n_labels)
        memcpy(nl, s->labels, s->n_labels * sizeof(*nl));
    struct cp_label l = {0};
    l.key = cp_profile_str(p, key);
    if (str)
        l.str = cp_profile_str(p, str);
    else
        l.num = num;
    if (unit)
        l.num_unit = cp_profile_str(p, unit);
    nl[s->n_labels] = l;
    s->labels = nl;
    s->n_labels++;
}

static inline void tp_label(struct cp_profile *p, const char *key,
                            const char *value)
{
    tp_label_any(p, key, value, 0, NULL);
}

/* Sum of value vi over samples whose stack contains function name. */
static inline int64_t tp_sum_with(const struct cp_profile *p, size_t vi,
                                  const char *name)
{
    int64_t sum = 0;
    for (size_t j = 0; j < p->n_samples; j++) {
        const struct cp_sample *s = &p->samples[j];
        int found = 0;
        for (size_t k = 0; k < s->n_locations && !found; k++) {
            const struct cp_location *l =
                cp_profile_location(p, s->location_ids[k]);
            for (size_t q = 0; l && q < l->n_lines && !found; q++) {
                const struct cp_function *f =
                    cp_profile_function(p, l->lines[q].function_id);
                found = f && !strcmp(cp_profile_string(p, f->name), name);
            }
        }
        if (found)
            sum += s->values[vi];
    }
    return sum;
}

#endif /* CP_TESTPROF_H */
