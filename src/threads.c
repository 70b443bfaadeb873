/* SPDX-License-Identifier: Apache-2.0 */
/*
 * threads.c - the threads/goroutine and threadcreate profiles (threads.h):
 * a snapshot (snapshot.c) turned into a pprof profile with mappings from
 * the module history and symbolized locations, and Go's two text forms.
 *
 * Never in signal context. Takes the snapshot lock, then (briefly)
 * cp_reg_lock and cp_modules_lock; symbolizes outside every lock.
 */
#include "threads.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"
#include "pbuild.h"
#include "profiles.h"
#include "snapshot.h"
#include "symcache.h"

/* ---- profile building (pbuild.h), symbolized with the shared
 * symbolizer so repeated requests do not reopen every module ---- */

struct pbuild {
    struct cp_pbuild b;
    struct cp_profile *p;
    const char *marker_names[8];
    uint64_t marker_ids[8];
    int n_markers;
};

static int pb_begin(struct pbuild *b, struct cp_profile *p, const char *type)
{
    int r;

    memset(b, 0, sizeof *b);
    b->p = p;
    r = cp_profile_init(p);
    if (r < 0)
        return r;
    if (cp_profile_add_sample_type(p, type, "count") < 0)
        return -ENOMEM;
    p->period_type.type = cp_profile_str(p, type);
    p->period_type.unit = cp_profile_str(p, "count");
    p->period = 1;
    return cp_pbuild_init(&b->b, p);
}

static uint64_t pb_loc(struct pbuild *b, uintptr_t pc)
{
    return cp_pbuild_location(&b->b, pc);
}

/* One marker location per name. */
static uint64_t pb_marker(struct pbuild *b, const char *name)
{
    for (int i = 0; i < b->n_markers; i++) {
        if (b->marker_names[i] == name)
            return b->marker_ids[i];
    }
    if (b->n_markers == 8)
        return cp_pbuild_marker(&b->b, name);
    b->marker_names[b->n_markers] = name;
    return b->marker_ids[b->n_markers++] = cp_pbuild_marker(&b->b, name);
}

static int pb_finish(struct pbuild *b, int r)
{
    cp_pbuild_free(&b->b);
    if (r == 0)
        r = cp_symcache_profile(b->p);
    if (r < 0)
        cp_profile_free(b->p);
    return r;
}

/* ---- the threads profile ---- */

static int64_t threads_count(void)
{
    return cp_snapshot_count();
}

static const char *no_stack_marker(const struct cp_snap_thread *t)
{
    if (t->flags & CP_SNAP_F_SIG_BLOCKED)
        return "cprof_running_signal_blocked";
    if (t->flags & CP_SNAP_F_NO_ANSWER)
        return "cprof_running_no_answer";
    if (t->flags & CP_SNAP_F_UNREADABLE)
        return "cprof_stack_unreadable";
    return "cprof_no_stack";
}

static const char *no_stack_reason(const struct cp_snap_thread *t)
{
    if (t->flags & CP_SNAP_F_SIG_BLOCKED)
        return "running with cprof's snapshot signal blocked";
    if (t->flags & CP_SNAP_F_NO_ANSWER)
        return "running, and did not answer in time";
    if (t->flags & CP_SNAP_F_UNREADABLE)
        return "its state could not be read from /proc";
    return "no stack";
}

/*
 * Model of snapshot s: one sample per thread (labels thread, thread_name,
 * state). When create_locs is given, the creation stacks get locations
 * too (symbolized with the rest), stored per thread there: create_locs[i]
 * has s->threads[i].n_create_pcs ids.
 */
static int threads_model(const struct cp_snapshot *s, const char *type,
                         struct cp_profile *p, uint64_t **create_locs)
{
    struct pbuild b;
    char line[256], st[64];
    int r;

    r = pb_begin(&b, p, type);
    for (int i = 0; r == 0 && i < s->n; i++) {
        const struct cp_snap_thread *t = &s->threads[i];
        size_t nloc = (size_t)t->n + (t->truncated ? 1 : 0);
        struct cp_sample *sm;

        if (!nloc)
            nloc = 1;
        sm = cp_profile_add_sample(p, nloc, 3);
        if (!sm) {
            r = -ENOMEM;
            break;
        }
        for (int k = 0; k < t->n; k++)
            sm->location_ids[k] = pb_loc(&b, t->pcs[k]);
        if (t->truncated)
            sm->location_ids[t->n] = cp_pbuild_truncated(&b.b);
        if (!t->n && !t->truncated)
            sm->location_ids[0] = pb_marker(&b, no_stack_marker(t));
        for (size_t k = 0; k < nloc; k++) {
            if (!sm->location_ids[k])
                r = -ENOMEM;
        }
        sm->values[0] = 1;
        sm->labels[0].key = cp_profile_str(p, "thread");
        sm->labels[0].num = t->tid;
        sm->labels[1].key = cp_profile_str(p, "thread_name");
        sm->labels[1].str = cp_profile_str(p, t->name);
        sm->labels[2].key = cp_profile_str(p, "state");
        sm->labels[2].str = cp_profile_str(p, cp_snap_state(t, st, sizeof st));
        if (create_locs && t->n_create_pcs) {
            create_locs[i] = calloc((size_t)t->n_create_pcs, sizeof(uint64_t));
            if (!create_locs[i]) {
                r = -ENOMEM;
                break;
            }
            for (int k = 0; k < t->n_create_pcs; k++)
                create_locs[i][k] = pb_loc(&b, t->create_pcs[k]);
        }
    }
    if (r == 0) {
        snprintf(line, sizeof line,
                 "cprof %s %s profile: %d threads; %d read from /proc while "
                 "blocked, %d interrupted in user mode; took %lld us",
                 CPROF_VERSION, type, s->n, s->n - s->signalled,
                 s->signalled, (long long)(s->took_ns / 1000));
        cp_profile_add_comment(p, line);
        p->time_nanos = s->time_ns;
    }
    return pb_finish(&b, r);
}

/* ---- text forms ---- */

struct group {
    const struct cp_sample *s;
    int64_t count;
};

static int same_stack(const struct cp_sample *a, const struct cp_sample *b)
{
    return a->n_locations == b->n_locations &&
           !memcmp(a->location_ids, b->location_ids,
                   a->n_locations * sizeof *a->location_ids);
}

static int cmp_group(const void *x, const void *y)
{
    const struct group *a = x, *b = y;
    size_t n;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    n = a->s->n_locations < b->s->n_locations ? a->s->n_locations
                                              : b->s->n_locations;
    for (size_t i = 0; i < n; i++) {
        if (a->s->location_ids[i] != b->s->location_ids[i])
            return a->s->location_ids[i] < b->s->location_ids[i] ? -1 : 1;
    }
    return (a->s->n_locations > b->s->n_locations) -
           (a->s->n_locations < b->s->n_locations);
}

/* Go's count-profile text (printCountProfile): records grouped by stack,
 * most frequent first. Addresses on the "@" line are return addresses, as
 * pprof's parser takes one off each. */
static int write_grouped(const struct cp_profile *p, const char *type,
                         struct cp_dynbuf *out)
{
    struct group *g = calloc(p->n_samples + 1, sizeof *g);
    size_t ng = 0;
    int64_t total = 0;
    int r;

    if (!g)
        return -ENOMEM;
    for (size_t i = 0; i < p->n_samples; i++) {
        const struct cp_sample *s = &p->samples[i];
        size_t j;
        total += s->values[0];
        for (j = 0; j < ng; j++) {
            if (same_stack(g[j].s, s))
                break;
        }
        if (j == ng)
            g[ng++] = (struct group){s, 0};
        g[j].count += s->values[0];
    }
    qsort(g, ng, sizeof *g, cmp_group);
    r = cp_dynbuf_printf(out, "%s profile: total %lld\n", type,
                         (long long)total);
    for (size_t j = 0; j < ng && r == 0; j++) {
        const struct cp_sample *s = g[j].s;
        r = cp_dynbuf_printf(out, "%lld @", (long long)g[j].count);
        for (size_t k = 0; k < s->n_locations && r == 0; k++) {
            const struct cp_location *loc =
                cp_profile_location(p, s->location_ids[k]);
            if (loc && loc->address)
                r = cp_dynbuf_printf(out, " %#llx",
                                     (unsigned long long)loc->address + 1);
        }
        if (r == 0)
            r = cp_dynbuf_addstr(out, "\n");
        for (size_t k = 0; k < s->n_locations && r == 0; k++)
            r = cp_pbuild_print_loc(p, s->location_ids[k], out);
        if (r == 0)
            r = cp_dynbuf_addstr(out, "\n");
    }
    free(g);
    return r;
}

/* One frame in Go's traceback form: "func(...)\n\tfile:line +0xOFF". */
static int print_frame(const struct cp_profile *p, uint64_t id,
                       const char *prefix, struct cp_dynbuf *out)
{
    const struct cp_location *loc = cp_profile_location(p, id);
    char off[32];
    int r = 0;

    if (!loc)
        return 0;
    if (!loc->n_lines) {
        const struct cp_mapping *m = cp_profile_mapping(p, loc->mapping_id);
        return cp_dynbuf_printf(
            out, "%s%#llx\n\t%s +%#llx\n", prefix,
            (unsigned long long)loc->address,
            m ? cp_profile_string(p, m->filename) : "?",
            (unsigned long long)(m ? loc->address - m->memory_start +
                                         m->file_offset
                                   : 0));
    }
    for (size_t k = 0; k < loc->n_lines && r == 0; k++) {
        const struct cp_function *f =
            cp_profile_function(p, loc->lines[k].function_id);
        const char *name = f ? cp_profile_string(p, f->name) : "?";
        if (!loc->address) { /* a marker */
            r = cp_dynbuf_printf(out, "%s%s\n", prefix, name);
            continue;
        }
        cp_pbuild_func_offset(loc->address,
                    f ? cp_profile_string(p, f->system_name) : "", off,
                    sizeof off);
        r = cp_dynbuf_printf(out, "%s%s%s\n\t%s:%lld%s%s\n", prefix, name,
                             *prefix ? "" : "(...)",
                             f ? cp_profile_string(p, f->filename) : "?",
                             (long long)loc->lines[k].line,
                             k + 1 == loc->n_lines && off[0] ? " " : "",
                             k + 1 == loc->n_lines ? off : "");
    }
    return r;
}

/* debug=2: every thread in full, like Go's goroutine?debug=2. */
static int write_full(const struct cp_snapshot *s, const struct cp_profile *p,
                      uint64_t **create_locs, struct cp_dynbuf *out)
{
    char st[64];
    int r = 0;

    for (int i = 0; i < s->n && r == 0; i++) {
        const struct cp_snap_thread *t = &s->threads[i];
        const struct cp_sample *sm = &p->samples[i];
        r = cp_dynbuf_printf(out, "thread %d [%s, %s]:\n", t->tid,
                             t->name[0] ? t->name : "?",
                             cp_snap_state(t, st, sizeof st));
        if (r == 0 && !t->n)
            r = cp_dynbuf_printf(out, "\t(no stack: %s)\n",
                                 no_stack_reason(t));
        else if (r == 0 && (t->flags & CP_SNAP_F_MOVED))
            r = cp_dynbuf_addstr(out, "\t(moved while being read: this "
                                      "stack may be mixed)\n");
        for (size_t k = 0; t->n && k < sm->n_locations && r == 0; k++)
            r = print_frame(p, sm->location_ids[k], "", out);
        if (r == 0 && create_locs[i] && t->n_create_pcs)
            r = print_frame(p, create_locs[i][0], "created by ", out);
        if (r == 0)
            r = cp_dynbuf_addstr(out, "\n");
    }
    return r;
}

static int threads_build(struct cp_profile *out)
{
    struct cp_snapshot s;
    int r = cp_snapshot_take(CP_SNAP_STACKS, &s);
    if (r < 0)
        return r;
    r = threads_model(&s, "threads", out, NULL);
    cp_snapshot_free(&s);
    return r;
}

static int threads_text(int debug, struct cp_dynbuf *out)
{
    struct cp_snapshot s;
    struct cp_profile p;
    uint64_t **create_locs = NULL;
    int r;

    r = cp_snapshot_take(CP_SNAP_STACKS |
                             (debug >= 2 ? CP_SNAP_CREATE_STACKS : 0),
                         &s);
    if (r < 0)
        return r;
    if (debug >= 2) {
        create_locs = calloc((size_t)s.n + 1, sizeof *create_locs);
        if (!create_locs) {
            cp_snapshot_free(&s);
            return -ENOMEM;
        }
    }
    r = threads_model(&s, "threads", &p, create_locs);
    if (r == 0) {
        r = debug >= 2 ? write_full(&s, &p, create_locs, out)
                       : write_grouped(&p, "threads", out);
        cp_profile_free(&p);
    }
    for (int i = 0; create_locs && i < s.n; i++)
        free(create_locs[i]);
    free(create_locs);
    cp_snapshot_free(&s);
    return r;
}

/* ---- threadcreate ---- */

static int threadcreate_model(struct cp_profile *p)
{
    struct cp_snapshot s;
    struct pbuild b;
    int r = cp_snapshot_take(CP_SNAP_CREATE_STACKS, &s);

    if (r < 0)
        return r;
    r = pb_begin(&b, p, "threadcreate");
    for (int i = 0; r == 0 && i < s.n; i++) {
        const struct cp_snap_thread *t = &s.threads[i];
        struct cp_sample *sm = cp_profile_add_sample(p,
                                                     (size_t)t->n_create_pcs,
                                                     2);
        if (!sm) {
            r = -ENOMEM;
            break;
        }
        for (int k = 0; k < t->n_create_pcs; k++) {
            sm->location_ids[k] = pb_loc(&b, t->create_pcs[k]);
            if (!sm->location_ids[k])
                r = -ENOMEM;
        }
        sm->values[0] = 1;
        sm->labels[0].key = cp_profile_str(p, "thread");
        sm->labels[0].num = t->tid;
        sm->labels[1].key = cp_profile_str(p, "thread_name");
        sm->labels[1].str = cp_profile_str(p, t->name);
    }
    if (r == 0) {
        cp_profile_add_comment(p, "threads not created through "
                                  "pthread_create after cprof loaded (the "
                                  "main thread, earlier threads) have an "
                                  "empty stack");
        p->time_nanos = s.time_ns;
    }
    cp_snapshot_free(&s);
    return pb_finish(&b, r);
}

static int threadcreate_build(struct cp_profile *out)
{
    return threadcreate_model(out);
}

static int threadcreate_text(int debug, struct cp_dynbuf *out)
{
    struct cp_profile p;
    int r = threadcreate_model(&p);
    if (r < 0)
        return r;
    r = write_grouped(&p, "threadcreate", out);
    cp_profile_free(&p);
    return r;
}

static const struct cp_profile_source threads_source = {
    .name = "threads",
    .help = "Stack traces of all current threads, with their names and "
            "states (alias goroutine)",
    .count = threads_count,
    .build = threads_build,
    .write_text = threads_text,
};

static const struct cp_profile_source threadcreate_source = {
    .name = "threadcreate",
    .help = "Stack traces that led to the creation of the live threads",
    .count = threads_count,
    .build = threadcreate_build,
    .write_text = threadcreate_text,
};

void cp_threads_init(void)
{
    cp_profiles_register(&threads_source);
    cp_profiles_register(&threadcreate_source);
}
