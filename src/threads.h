/* SPDX-License-Identifier: Apache-2.0 */
/*
 * threads.h - the "threads" (alias "goroutine") and "threadcreate"
 * profiles, registered with the profile registry (profiles.h): the stacks
 * of every thread now (snapshot.h), and where each live thread was
 * created. Formats follow Go's goroutine and threadcreate profiles:
 * debug=0 profile.proto, debug=1 records grouped by stack
 * ("threads profile: total N", "COUNT @ 0x..." and "#\t0x...\tfunc+0x..
 * \tfile:line" lines), debug=2 every thread in full ("thread TID [NAME,
 * STATE]:", its frames with file:line, and where it was created).
 */
#ifndef CP_THREADS_H
#define CP_THREADS_H

/* Register both profiles. Called once from init.c. */
void cp_threads_init(void);

#endif /* CP_THREADS_H */
