/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixture.h - shared by the symbolizer's fixture programs: record() keeps
 * its caller's return address in a slot, and fixture_report() prints the
 * slots, the executable's path and /proc/self/maps, which
 * tests/unit/test_symbolize.c turns into modules and lookups.
 *
 * Lines that tests look up carry a marker comment "@name"; the test finds
 * the line number by searching the source, so editing a fixture never
 * breaks a hard-coded number.
 */
#ifndef CP_SYM_FIXTURE_H
#define CP_SYM_FIXTURE_H

#ifdef __cplusplus
extern "C" {
#endif

#define FIXTURE_SLOTS 8

/* noipa: no cloning, no inlining, no tail-call games around the call */
#if defined(__clang__)
#define FIXTURE_NOIPA __attribute__((noinline))
#else
#define FIXTURE_NOIPA __attribute__((noinline, noipa))
#endif

FIXTURE_NOIPA void record(int slot);
int fixture_report(void);

#ifdef __cplusplus
}
#endif

#endif
