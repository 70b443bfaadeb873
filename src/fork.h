/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fork.h - fork and exec: atfork handlers that quiesce cprof around fork,
 * and the exec interposers that stop sampling before the process image is
 * replaced (jemalloc src/jemalloc_fork.c for the first half).
 */
#ifndef CP_FORK_H
#define CP_FORK_H

/* Install the atfork handlers; from init.c. */
void cp_fork_init(void);

#endif /* CP_FORK_H */
