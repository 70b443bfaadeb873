/* SPDX-License-Identifier: Apache-2.0 */
/*
 * labels.h - per-thread profile labels (cprof_label_set), like Go's
 * goroutine labels. A thread's labels are an immutable, interned set; the
 * thread holds its set's number in cp_tls.labels, which the signal handler
 * copies into each sample without looking inside.
 *
 * Sets are never freed (samples refer to them by number): the number of
 * distinct sets is capped (CP_MAX_LABEL_SETS), past which a set_label call
 * leaves the thread's labels as they were and counts the refusal.
 */
#ifndef CP_LABELS_H
#define CP_LABELS_H

#include <stddef.h>
#include <stdint.h>

struct cp_label_pair {
    const char *key, *value;
};

/*
 * Set key=value on the calling thread (value NULL or "" removes key).
 * 0, -EINVAL, -ENOMEM or -ENOSPC (too many distinct sets).
 * Async-signal-safe: no. Thread-safe: yes.
 */
int cp_labels_set(const char *key, const char *value);

/*
 * The pairs of set id (sorted by key); the strings live forever. Returns
 * the number of pairs (0 for id 0 or an unknown id).
 * Async-signal-safe: no. Thread-safe: yes.
 */
int cp_labels_get(uint32_t id, const struct cp_label_pair **pairs);

#endif /* CP_LABELS_H */
