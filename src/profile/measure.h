/* SPDX-License-Identifier: Apache-2.0 */
/*
 * measure.h - units of sample values: scaling (ns -> ms, bytes -> MB),
 * the labels and percentages reports print, exactly as google/pprof's
 * internal/measurement package computes them, so that cprof's reports
 * compare with go tool pprof's character for character.
 *
 * Never used in signal context. Thread-safe: yes (no state).
 */
#ifndef CP_MEASURE_H
#define CP_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Scale value from unit `from` to unit `to` (pprof's measurement.Scale).
 * `to` may be "minimum" or "auto" (pick the unit that keeps the value >= 1).
 * Stores the scaled value in *out and returns the unit to print after it:
 * a static canonical name ("ms", "MB"...), "" when uninteresting (counts),
 * or `to` itself for units pprof does not know.
 */
const char *cp_unit_scale(int64_t value, const char *from, const char *to,
                          double *out);

/* "1.50ms", "12MB", "0": pprof's ScaledLabel. Returns buf. */
char *cp_unit_label(char *buf, size_t n, int64_t value, const char *from,
                    const char *to);

/* " 5.12%", "  100%", "0.67%": pprof's Percentage (n >= 16). */
char *cp_unit_percentage(char *buf, size_t n, int64_t value, int64_t total);

/* Canonical unit name of a known time/memory unit alias, or NULL. */
const char *cp_unit_canonical(const char *unit);

/*
 * pprof's compatibleValueTypes: types equal up to one trailing 's', units
 * equal or both of one known kind (time, memory). */
bool cp_unit_compatible(const char *type1, const char *unit1,
                        const char *type2, const char *unit2);

/*
 * Sample values are int64 as in Go, whose arithmetic wraps where C's is
 * undefined: sums of values read from untrusted profiles go through these.
 */
static inline int64_t cp_add64(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}
static inline int64_t cp_mul64(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a * (uint64_t)b);
}
/* |v|, with Go's |INT64_MIN| == INT64_MIN */
static inline int64_t cp_abs64(int64_t v)
{
    return v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
}
/* a / b for b != 0, INT64_MIN / -1 wrapping as in Go */
static inline int64_t cp_div64(int64_t a, int64_t b)
{
    return b == -1 ? (int64_t)(0 - (uint64_t)a) : a / b;
}
/* Go's int64(float64) on amd64: out of range or NaN gives INT64_MIN */
static inline int64_t cp_f2i64(double d)
{
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return INT64_MIN;
    return (int64_t)d;
}

/* Go's time.Duration.String() of ns ("1.5s", "2m3s", "0s"). Returns buf. */
char *cp_go_duration(char *buf, size_t n, int64_t ns);

#endif /* CP_MEASURE_H */
