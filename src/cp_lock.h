/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cp_lock.h - cprof's own mutexes, taken without passing through
 * cprof's interposers (sync.c).
 *
 * libcprof defines pthread_mutex_lock and friends itself, so its own calls
 * would bind to its interposers: a user thread waiting on cprof's thread
 * registry at its start, or cprof joining its writer in a stop, showed up
 * in the program's execution trace and mutex profile as the program's own
 * waits.
 */
#ifndef CPROF_CP_LOCK_H
#define CPROF_CP_LOCK_H

#include <pthread.h>

/* glibc's functions, as sync.c's interposers find them (dlsym RTLD_NEXT) */
int cp_mutex_lock(pthread_mutex_t *m);
int cp_mutex_trylock(pthread_mutex_t *m);
int cp_mutex_unlock(pthread_mutex_t *m);

#endif
