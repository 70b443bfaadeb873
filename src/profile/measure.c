/* SPDX-License-Identifier: Apache-2.0 */
/*
 * measure.c - unit scaling and the number formats of pprof's reports.
 *
 * A transcription of google/pprof internal/measurement/measurement.go (the
 * copy vendored in Go 1.19): the same unit tables in the same order, the
 * same float arithmetic, the same printf formats (Go's %.2f and %.2g agree
 * with C's for finite values), so cprof and go tool pprof print the same
 * strings for the same numbers.
 *
 * Never used in signal context. Thread-safe: yes.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "measure.h"

struct unit {
    const char *name;
    const char *aliases[4];
    double factor;
};

struct unit_type {
    const struct unit *dflt;
    const struct unit *units;
    size_t n;
};

static const struct unit mem_units[] = {
    {"B", {"b", "byte"}, 1},
    {"kB", {"kb", "kbyte", "kilobyte"}, 1024.0},
    {"MB", {"mb", "mbyte", "megabyte"}, 1048576.0},
    {"GB", {"gb", "gbyte", "gigabyte"}, 1073741824.0},
    {"TB", {"tb", "tbyte", "terabyte"}, 1099511627776.0},
    {"PB", {"pb", "pbyte", "petabyte"}, 1125899906842624.0},
};
static const struct unit mem_default = {"B", {"b", "byte"}, 1};

static const struct unit time_units[] = {
    {"ns", {"ns", "nanosecond"}, 1},
    {"us", {"\xce\xbcs", "us", "microsecond"}, 1e3},
    {"ms", {"ms", "millisecond"}, 1e6},
    {"s", {"s", "sec", "second"}, 1e9},
    {"hrs", {"hour", "hr"}, 3600e9},
};
static const struct unit time_default = {"s", {0}, 1e9};

static const struct unit gcu_units[] = {
    {"n*GCU", {"nanogcu"}, 1e-9}, {"u*GCU", {"microgcu"}, 1e-6},
    {"m*GCU", {"milligcu"}, 1e-3}, {"GCU", {"gcu"}, 1},
    {"k*GCU", {"kilogcu"}, 1e3},  {"M*GCU", {"megagcu"}, 1e6},
    {"G*GCU", {"gigagcu"}, 1e9},  {"T*GCU", {"teragcu"}, 1e12},
    {"P*GCU", {"petagcu"}, 1e15},
};
static const struct unit gcu_default = {"GCU", {0}, 1};

#define N(a) (sizeof(a) / sizeof((a)[0]))
static const struct unit_type unit_types[] = {
    {&mem_default, mem_units, N(mem_units)},
    {&time_default, time_units, N(time_units)},
    {&gcu_default, gcu_units, N(gcu_units)},
};

/* pprof's sniffUnit: lower case, one trailing 's' dropped past 2 chars. */
static const struct unit *sniff(const struct unit_type *ut, const char *u)
{
    char buf[64];
    size_t n = strlen(u);
    if (n >= sizeof(buf))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = u[i];
        buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    buf[n] = 0;
    if (n > 2 && buf[n - 1] == 's')
        buf[n - 1] = 0;
    for (size_t i = 0; i < ut->n; i++)
        for (int a = 0; a < 4 && ut->units[i].aliases[a]; a++)
            if (!strcmp(buf, ut->units[i].aliases[a]))
                return &ut->units[i];
    return NULL;
}

static bool auto_scale(const struct unit_type *ut, double v, double *out,
                       const char **unit)
{
    double f = 0;
    const char *name = NULL;
    for (size_t i = 0; i < ut->n; i++) {
        if (ut->units[i].factor >= f && v / ut->units[i].factor >= 1.0) {
            f = ut->units[i].factor;
            name = ut->units[i].name;
        }
    }
    if (f == 0)
        return false;
    *out = v / f;
    *unit = name;
    return true;
}

static bool convert(const struct unit_type *ut, int64_t value,
                    const char *from, const char *to, double *out,
                    const char **unit)
{
    const struct unit *fu = sniff(ut, from);
    if (!fu)
        return false;
    double v = (double)value * fu->factor;
    if (!strcmp(to, "minimum") || !strcmp(to, "auto")) {
        if (auto_scale(ut, v, out, unit))
            return true;
        *out = v / ut->dflt->factor;
        *unit = ut->dflt->name;
        return true;
    }
    const struct unit *tu = sniff(ut, to);
    if (!tu) {
        *out = v / ut->dflt->factor;
        *unit = ut->dflt->name;
        return true;
    }
    *out = v / tu->factor;
    *unit = tu->name;
    return true;
}

const char *cp_unit_scale(int64_t value, const char *from, const char *to,
                          double *out)
{
    if (!from)
        from = "";
    if (!to)
        to = "";
    /* Go: "Avoid infinite recursion on overflow": INT64_MIN stays as is */
    if (value < 0 && value != INT64_MIN) {
        const char *u = cp_unit_scale(-value, from, to, out);
        *out = -*out;
        return u;
    }
    for (size_t i = 0; i < N(unit_types); i++) {
        const char *u;
        if (convert(&unit_types[i], value, from, to, out, &u))
            return u;
    }
    *out = (double)value;
    if (!strcmp(to, "count") || !strcmp(to, "sample") ||
        !strcmp(to, "unit") || !strcmp(to, "minimum") || !strcmp(to, "auto"))
        return "";
    return to;
}

char *cp_unit_label(char *buf, size_t n, int64_t value, const char *from,
                    const char *to)
{
    double v;
    const char *u = cp_unit_scale(value, from, to, &v);
    char num[64];
    snprintf(num, sizeof(num), "%.2f", v);
    size_t l = strlen(num);
    if (l >= 3 && !strcmp(num + l - 3, ".00"))
        num[l - 3] = 0;
    if (!strcmp(num, "0") || !strcmp(num, "-0")) {
        snprintf(buf, n, "0");
        return buf;
    }
    snprintf(buf, n, "%s%s", num, u);
    return buf;
}

char *cp_unit_percentage(char *buf, size_t n, int64_t value, int64_t total)
{
    double ratio = 0;
    if (total != 0)
        ratio = fabs((double)value / (double)total) * 100;
    if (ratio >= 99.95 && ratio <= 100.05)
        snprintf(buf, n, "  100%%");
    else if (ratio >= 1.0)
        snprintf(buf, n, "%5.2f%%", ratio);
    else
        snprintf(buf, n, "%5.2g%%", ratio);
    return buf;
}

const char *cp_unit_canonical(const char *unit)
{
    for (size_t i = 0; i < N(unit_types); i++) {
        const struct unit *u = sniff(&unit_types[i], unit);
        if (u)
            return u->name;
    }
    return NULL;
}

bool cp_unit_compatible(const char *type1, const char *unit1,
                        const char *type2, const char *unit2)
{
    size_t l1 = strlen(type1), l2 = strlen(type2);
    if (l1 && type1[l1 - 1] == 's')
        l1--;
    if (l2 && type2[l2 - 1] == 's')
        l2--;
    if (l1 != l2 || memcmp(type1, type2, l1))
        return false;
    if (!strcmp(unit1, unit2))
        return true;
    for (size_t i = 0; i < N(unit_types); i++)
        if (sniff(&unit_types[i], unit1) && sniff(&unit_types[i], unit2))
            return true;
    return false;
}

/* Go's fmtFrac: the fraction of v/10^prec without trailing zeros, written
 * backwards ending at buf[w]; returns the new w and v/10^prec in *v. */
static int fmt_frac(char *buf, int w, uint64_t *v, int prec)
{
    bool print = false;
    for (int i = 0; i < prec; i++) {
        int digit = (int)(*v % 10);
        print = print || digit != 0;
        if (print) {
            buf[--w] = (char)('0' + digit);
        }
        *v /= 10;
    }
    if (print)
        buf[--w] = '.';
    return w;
}

static int fmt_int(char *buf, int w, uint64_t v)
{
    if (v == 0) {
        buf[--w] = '0';
        return w;
    }
    while (v > 0) {
        buf[--w] = (char)('0' + v % 10);
        v /= 10;
    }
    return w;
}

char *cp_go_duration(char *out, size_t n, int64_t d)
{
    char buf[40];
    int w = (int)sizeof(buf);
    uint64_t u = (uint64_t)d;
    bool neg = d < 0;
    if (neg)
        u = -u;
    if (u < 1000000000ull) {
        int prec = 0;
        buf[--w] = 's';
        if (u == 0) {
            snprintf(out, n, "0s");
            return out;
        } else if (u < 1000ull) {
            prec = 0;
            buf[--w] = 'n';
        } else if (u < 1000000ull) {
            prec = 3;
            w -= 2;
            memcpy(buf + w, "\xc2\xb5", 2); /* U+00B5 micro sign */
        } else {
            prec = 6;
            buf[--w] = 'm';
        }
        w = fmt_frac(buf, w, &u, prec);
        w = fmt_int(buf, w, u);
    } else {
        buf[--w] = 's';
        w = fmt_frac(buf, w, &u, 9);
        w = fmt_int(buf, w, u % 60);
        u /= 60;
        if (u > 0) {
            buf[--w] = 'm';
            w = fmt_int(buf, w, u % 60);
            u /= 60;
            if (u > 0) {
                buf[--w] = 'h';
                w = fmt_int(buf, w, u);
            }
        }
    }
    if (neg)
        buf[--w] = '-';
    snprintf(out, n, "%.*s", (int)sizeof(buf) - w, buf + w);
    return out;
}
