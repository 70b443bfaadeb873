/* SPDX-License-Identifier: Apache-2.0 */
/*
 * labels.c - interned label sets (labels.h). A global table under a mutex:
 * label changes are rare next to samples, and samples never look here.
 */
#include "labels.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cp_limits.h"
#include "cp_lock.h"
#include "thread_reg.h"

struct label_set {
    int n;
    struct cp_label_pair pairs[CP_MAX_LABELS_PER_SET];
};

static pthread_mutex_t labels_lock = PTHREAD_MUTEX_INITIALIZER;
/* guarded by labels_lock; sets[0] is the empty set */
static struct label_set **sets;
static uint32_t n_sets, cap_sets;

static bool set_equal(const struct label_set *a, const struct label_set *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        if (strcmp(a->pairs[i].key, b->pairs[i].key) ||
            strcmp(a->pairs[i].value, b->pairs[i].value))
            return false;
    }
    return true;
}

/* Intern s (whose strings are borrowed); returns its id or -errno. */
static int64_t intern_locked(const struct label_set *s)
{
    struct label_set *copy;

    if (s->n == 0)
        return 0;
    /* Linear: distinct sets are few in practice, and capped. */
    for (uint32_t i = 1; i < n_sets; i++) {
        if (set_equal(sets[i], s))
            return i;
    }
    if (n_sets >= CP_MAX_LABEL_SETS)
        return -ENOSPC;
    if (n_sets == cap_sets) {
        uint32_t cap = cap_sets ? cap_sets * 2 : 64;
        struct label_set **v = realloc(sets, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        sets = v;
        cap_sets = cap;
        if (n_sets == 0)
            sets[n_sets++] = NULL;
    }
    copy = calloc(1, sizeof *copy);
    if (!copy)
        return -ENOMEM;
    copy->n = s->n;
    for (int i = 0; i < s->n; i++) {
        copy->pairs[i].key = strdup(s->pairs[i].key);
        copy->pairs[i].value = strdup(s->pairs[i].value);
        if (!copy->pairs[i].key || !copy->pairs[i].value)
            return -ENOMEM; /* leaks a little on a dying process */
    }
    sets[n_sets] = copy;
    return n_sets++;
}

int cp_labels_set(const char *key, const char *value)
{
    struct label_set next = {0};
    const struct label_set *cur = NULL;
    int64_t id;
    int i;
    bool remove = !value || !*value;

    if (!key || !*key)
        return -EINVAL;
    cp_mutex_lock(&labels_lock);
    if (cp_tls.labels && cp_tls.labels < n_sets)
        cur = sets[cp_tls.labels];
    /* Merge key into the sorted current set. */
    for (i = 0; cur && i < cur->n; i++) {
        int c = strcmp(cur->pairs[i].key, key);
        if (c == 0)
            continue;
        next.pairs[next.n++] = cur->pairs[i];
    }
    if (!remove) {
        if (next.n >= CP_MAX_LABELS_PER_SET) {
            cp_mutex_unlock(&labels_lock);
            return -ENOSPC;
        }
        int at = 0;
        while (at < next.n && strcmp(next.pairs[at].key, key) < 0)
            at++;
        memmove(&next.pairs[at + 1], &next.pairs[at],
                (size_t)(next.n - at) * sizeof next.pairs[0]);
        next.pairs[at].key = key;
        next.pairs[at].value = value;
        next.n++;
    }
    id = intern_locked(&next);
    if (id >= 0)
        cp_tls.labels = (uint32_t)id;
    cp_mutex_unlock(&labels_lock);
    return id < 0 ? (int)id : 0;
}

int cp_labels_get(uint32_t id, const struct cp_label_pair **pairs)
{
    int n = 0;
    cp_mutex_lock(&labels_lock);
    if (id > 0 && id < n_sets) {
        *pairs = sets[id]->pairs;
        n = sets[id]->n;
    }
    cp_mutex_unlock(&labels_lock);
    return n;
}
