/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flags.c - the flags of `cprof [flags] SOURCE...`, spelled and parsed as
 * go tool pprof's (Go's flag package: -name, --name, -name=value,
 * -name value, booleans as -name or -name=false), with one liberty:
 * flags may follow the sources. The table below is the one list of
 * flags; `cprof -h` prints it and docs/man/cprof.1 documents the same.
 *
 * Never used in signal context. Thread-safe: no.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pprof.h"
#include "profile/codec.h"

enum kind {
    K_BOOL,
    K_STR,
    K_INT,
    K_FLOAT,
    K_SIZE,
    K_BASE,    /* -base / -diff_base, repeatable */
    K_FORMAT,  /* bool output format */
    K_FORMAT_ARG, /* -list=RE */
    K_GRAN,    /* -functions... */
    K_SORT,    /* -cum / -flat */
    K_SAMPLE,  /* -inuse_space...: a sample index */
    K_HELP,
};

struct flag {
    const char *name;
    enum kind kind;
    size_t off;       /* into struct cp_pprof_cfg */
    const char *arg;  /* format name, sample index, granularity */
};

#define F(n, k, field) {n, k, offsetof(struct cp_pprof_cfg, field), NULL}
#define A(n, k, a) {n, k, 0, a}

static const struct flag flags[] = {
    /* output formats */
    A("top", K_FORMAT, "top"),
    A("text", K_FORMAT, "text"),
    A("traces", K_FORMAT, "traces"),
    A("raw", K_FORMAT, "raw"),
    A("collapsed", K_FORMAT, "collapsed"),
    A("proto", K_FORMAT, "proto"),
    A("comments", K_FORMAT, "comments"),
    A("list", K_FORMAT_ARG, "list"),
    F("output", K_STR, output),
    /* what is reported */
    F("sample_index", K_STR, sample_index),
    F("mean", K_BOOL, mean),
    A("inuse_space", K_SAMPLE, "inuse_space"),
    A("inuse_objects", K_SAMPLE, "inuse_objects"),
    A("alloc_space", K_SAMPLE, "alloc_space"),
    A("alloc_objects", K_SAMPLE, "alloc_objects"),
    A("total_delay", K_SAMPLE, "delay"),
    A("contentions", K_SAMPLE, "contentions"),
    A("mean_delay", K_SAMPLE, "delay"),
    /* filters */
    F("focus", K_STR, filter.focus),
    F("ignore", K_STR, filter.ignore),
    F("hide", K_STR, filter.hide),
    F("show", K_STR, filter.show),
    F("show_from", K_STR, filter.show_from),
    F("prune_from", K_STR, filter.prune_from),
    F("tagfocus", K_STR, filter.tagfocus),
    F("tagignore", K_STR, filter.tagignore),
    F("tagshow", K_STR, filter.tagshow),
    F("taghide", K_STR, filter.taghide),
    /* granularity */
    F("granularity", K_STR, format_name), /* handled specially */
    A("functions", K_GRAN, "functions"),
    A("filefunctions", K_GRAN, "filefunctions"),
    A("files", K_GRAN, "files"),
    A("lines", K_GRAN, "lines"),
    A("addresses", K_GRAN, "addresses"),
    F("noinlines", K_BOOL, noinlines),
    /* trimming and display */
    F("nodecount", K_INT, nodecount),
    F("nodefraction", K_FLOAT, nodefraction),
    F("edgefraction", K_FLOAT, edgefraction),
    F("trim", K_BOOL, trim),
    A("cum", K_SORT, "cum"),
    A("flat", K_SORT, "flat"),
    F("unit", K_STR, unit),
    F("divide_by", K_FLOAT, divide_by),
    F("drop_negative", K_BOOL, drop_negative),
    F("compact_labels", K_BOOL, compact_labels),
    F("relative_percentages", K_BOOL, relative_percentages),
    F("source_path", K_STR, source_path),
    F("trim_path", K_STR, trim_path),
    /* sources */
    F("base", K_BASE, base),
    F("diff_base", K_BASE, base),
    F("normalize", K_BOOL, normalize),
    F("seconds", K_INT, seconds),
    F("timeout", K_INT, timeout),
    F("symbolize", K_STR, symbolize),
    F("add_comment", K_STR, add_comment),
    F("max_decompressed", K_SIZE, max_decompressed),
    /* web UI */
    F("http", K_STR, http),
    F("no_browser", K_BOOL, no_browser),
    A("h", K_HELP, NULL),
    A("help", K_HELP, NULL),
};

static const char usage[] =
    "usage: cprof [flags] SOURCE...\n"
    "       cprof run [-cpu FILE] [-heap FILE] [-trace FILE] [-wall FILE]\n"
    "                 [-http ADDR] [-hz N] -- PROG ARGS...\n"
    "       cprof trace [flags] TRACE|URL\n"
    "       cprof topo\n"
    "\n"
    "SOURCE is a profile file (profile.proto, gzip'd or not; gperftools'\n"
    "CPU profile; legacy text heap, growth, contention or count profiles)\n"
    "or an http(s) URL such as http://localhost:6060/debug/pprof/heap.\n"
    "Several sources are merged. Flags follow go tool pprof's.\n"
    "\n"
    "Output (to stdout, or -output=FILE; default -top):\n"
    "  -top, -text          flat/cum table        cprof -top cpu.prof\n"
    "  -traces              every sample's stack  cprof -traces heap.prof\n"
    "  -raw                 the profile as text   cprof -raw cpu.prof\n"
    "  -collapsed           folded stacks for FlameGraph and speedscope\n"
    "                       cprof -collapsed cpu.prof | flamegraph.pl >f.svg\n"
    "  -proto               the filtered/merged profile, gzip'd proto\n"
    "                       cprof -proto -output=all.pb.gz a.prof b.prof\n"
    "  -list=RE             annotated source      cprof -list=main cpu.prof\n"
    "  -comments            the profile's comments\n"
    "  -output=FILE         write the report to FILE instead of stdout\n"
    "  -http=[HOST]:PORT    web UI (flame graph)  cprof -http=:8080 cpu.prof\n"
    "  -no_browser          with -http: do not open a browser\n"
    "\n"
    "What to report:\n"
    "  -sample_index=NAME   sample type or index  -sample_index=alloc_space\n"
    "  -inuse_space, -inuse_objects, -alloc_space, -alloc_objects,\n"
    "  -total_delay, -contentions, -mean_delay   short for -sample_index\n"
    "  -mean                average per sample     -mean -sample_index=delay\n"
    "  -unit=UNIT           scale values          -unit=ms, -unit=MB\n"
    "  -divide_by=X         divide values by X    -divide_by=1000\n"
    "\n"
    "Filters (POSIX extended regexps, matched against function names,\n"
    "file names and binary names):\n"
    "  -focus=RE            samples through a matching frame  -focus=parse\n"
    "  -ignore=RE           drop samples through a matching frame\n"
    "  -hide=RE             drop matching frames  -hide='^malloc$'\n"
    "  -show=RE             keep only matching frames\n"
    "  -show_from=RE        drop frames above the highest match\n"
    "  -prune_from=RE       drop frames below the lowest match\n"
    "  -tagfocus=[KEY=]RE   samples with a matching label\n"
    "                       -tagfocus=thread_name=worker, -tagfocus=bytes=1kb:\n"
    "  -tagignore=[KEY=]RE  drop samples with a matching label\n"
    "  -tagshow=RE, -taghide=RE   keep / drop label keys\n"
    "\n"
    "Granularity (default -functions):\n"
    "  -granularity=functions|filefunctions|files|lines|addresses\n"
    "  -functions, -filefunctions, -files, -lines, -addresses\n"
    "  -noinlines           attribute inlined calls to their caller\n"
    "\n"
    "Trimming and order:\n"
    "  -nodecount=N         show at most N nodes  -nodecount=20\n"
    "  -nodefraction=F      drop nodes below F of the total (0.005)\n"
    "  -edgefraction=F      drop edges below F of the total (0.001)\n"
    "  -trim=false          no trimming at all\n"
    "  -cum, -flat          sort by cumulative / flat value\n"
    "  -drop_negative       drop negative values (diffs)\n"
    "  -compact_labels      short header\n"
    "  -relative_percentages  percentages of the focused samples\n"
    "  -source_path=DIRS, -trim_path=PREFIX   where -list finds sources\n"
    "\n"
    "Sources:\n"
    "  -base=SOURCE         subtract a profile    -base=before.prof after.prof\n"
    "  -diff_base=SOURCE    compare with a profile (percentages of the base)\n"
    "  -normalize           scale the source to the base's total first\n"
    "  -seconds=N           profile N seconds (URL sources)  -seconds=5\n"
    "  -timeout=N           give up fetching after N seconds\n"
    "  -symbolize=none      do not symbolize addresses from local binaries\n"
    "  -add_comment=TEXT    add a comment to the profile\n"
    "  -max_decompressed=BYTES  cap on a profile's unpacked size (2 GiB)\n"
    "  -h, -help            this text\n";

const char *cp_pprof_usage(void)
{
    return usage;
}

void cp_pprof_cfg_init(struct cp_pprof_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->seconds = -1;
    c->timeout = -1;
    c->max_decompressed = CP_DEFAULT_MAX_DECOMPRESSED;
    c->symbolize = "";
    c->granularity = CP_GRAN_FUNCTIONS;
    c->nodecount = -1;
    c->nodefraction = 0.005;
    c->edgefraction = 0.001;
    c->trim = true;
    c->divide_by = 1.0;
}

void cp_pprof_cfg_free(struct cp_pprof_cfg *c)
{
    for (size_t i = 0; i < c->n_owned; i++)
        free(c->owned[i]);
    free(c->owned);
    free(c->sources);
    free(c->base);
    c->owned = NULL;
    c->sources = c->base = NULL;
}

static void set_err(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

/* Go's strconv.ParseBool */
static int parse_bool(const char *v, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (int i = 0; i < 6; i++) {
        if (!strcmp(v, t[i])) {
            *out = true;
            return 0;
        }
        if (!strcmp(v, f[i])) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

static int push(const char ***arr, size_t *n, const char *s)
{
    const char **na = realloc(*arr, (*n + 1) * sizeof(*na));
    if (!na)
        return -ENOMEM;
    na[(*n)++] = s;
    *arr = na;
    return 0;
}

/* "1.5G", "512M", "100000": bytes with an optional K/M/G suffix */
static int parse_size(const char *v, size_t *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || x < 0)
        return -EINVAL;
    double mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1024.0; end++; break;
    case 'm': case 'M': mul = 1048576.0; end++; break;
    case 'g': case 'G': mul = 1073741824.0; end++; break;
    case 0: break;
    default: return -EINVAL;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end)
        return -EINVAL;
    x *= mul;
    if (x < 1 || x > 1.7e19)
        return -EINVAL;
    *out = (size_t)x;
    return 0;
}

int cp_pprof_parse_flags(struct cp_pprof_cfg *c, int argc, char **argv,
                         char *err, size_t errlen)
{
    const char *formats[8];
    size_t nformats = 0;
    const char *grans[6];
    size_t ngrans = 0;
    const char *sorts[2];
    size_t nsorts = 0;
    const char *granularity = NULL;
    bool saw_base = false, saw_diff = false;
    bool mean_delay = false;
    char *owned_sample = NULL;
    (void)owned_sample;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            for (i++; i < argc; i++)
                if (push(&c->sources, &c->n_sources, argv[i]) < 0)
                    goto nomem;
            break;
        }
        if (a[0] != '-' || a[1] == 0) {
            if (push(&c->sources, &c->n_sources, a) < 0)
                goto nomem;
            continue;
        }
        const char *name = a + 1 + (a[1] == '-');
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        const struct flag *f = NULL;
        for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
            if (strlen(flags[k].name) == nl &&
                !strncmp(flags[k].name, name, nl))
                f = &flags[k];
        if (!f) {
            set_err(err, errlen, "unknown flag -%.*s (cprof -h lists the "
                    "flags)", (int)nl, name);
            return -EINVAL;
        }
        const char *val = eq ? eq + 1 : NULL;
        bool boolean = f->kind == K_BOOL || f->kind == K_FORMAT ||
                       f->kind == K_GRAN || f->kind == K_SORT ||
                       f->kind == K_SAMPLE || f->kind == K_HELP;
        bool on = true;
        if (boolean) {
            if (val && parse_bool(val, &on) < 0) {
                set_err(err, errlen, "invalid boolean value \"%s\" for "
                        "-%s", val, f->name);
                return -EINVAL;
            }
        } else if (!val) {
            if (i + 1 >= argc) {
                set_err(err, errlen, "flag needs an argument: -%s",
                        f->name);
                return -EINVAL;
            }
            val = argv[++i];
        }
        char *field = (char *)c + f->off;
        switch (f->kind) {
        case K_HELP:
            fputs(usage, stdout);
            return 1;
        case K_BOOL:
            *(bool *)field = on;
            break;
        case K_STR:
            if (!strcmp(f->name, "granularity"))
                granularity = val;
            else
                *(const char **)field = val;
            break;
        case K_INT: {
            char *end;
            errno = 0;
            long v = strtol(val, &end, 0);
            if (errno || *end || !*val || v < -2147483647L ||
                v > 2147483647L) {
                set_err(err, errlen, "invalid value \"%s\" for -%s: not an "
                        "integer", val, f->name);
                return -EINVAL;
            }
            *(int *)field = (int)v;
            break;
        }
        case K_FLOAT: {
            char *end;
            errno = 0;
            double v = strtod(val, &end);
            if (errno || *end || !*val) {
                set_err(err, errlen, "invalid value \"%s\" for -%s: not a "
                        "number", val, f->name);
                return -EINVAL;
            }
            *(double *)field = v;
            break;
        }
        case K_SIZE:
            if (parse_size(val, (size_t *)field) < 0) {
                set_err(err, errlen, "invalid value \"%s\" for -%s: want "
                        "bytes, e.g. 4G or 100000000", val, f->name);
                return -EINVAL;
            }
            break;
        case K_BASE:
            if (!*val)
                break;
            if (!strcmp(f->name, "diff_base"))
                saw_diff = true;
            else
                saw_base = true;
            if (push(&c->base, &c->n_base, val) < 0)
                goto nomem;
            break;
        case K_FORMAT:
            if (on && nformats < 8)
                formats[nformats++] = f->arg;
            break;
        case K_FORMAT_ARG:
            if (*val && nformats < 8) {
                formats[nformats++] = f->arg;
                c->list = val;
            }
            break;
        case K_GRAN:
            if (on && ngrans < 6)
                grans[ngrans++] = f->arg;
            break;
        case K_SORT:
            if (on && nsorts < 2)
                sorts[nsorts++] = f->arg;
            break;
        case K_SAMPLE:
            if (!on)
                break;
            if (!strcmp(f->name, "mean_delay"))
                mean_delay = true;
            if (!c->sample_index || !*c->sample_index)
                c->sample_index = f->arg;
            else
                fprintf(stderr, "cprof: multiple value selections, ignoring "
                        "-%s\n", f->name);
            break;
        }
    }
    if (mean_delay)
        c->mean = true;
    if (nformats > 1) {
        set_err(err, errlen, "must set at most one output format (-%s and "
                "-%s given)", formats[0], formats[1]);
        return -EINVAL;
    }
    if (nformats == 1) {
        const char *fmt = formats[0];
        c->format_name = fmt;
        if (!strcmp(fmt, "top") || !strcmp(fmt, "text"))
            c->format = CP_FMT_TEXT;
        else if (!strcmp(fmt, "traces"))
            c->format = CP_FMT_TRACES;
        else if (!strcmp(fmt, "raw"))
            c->format = CP_FMT_RAW;
        else if (!strcmp(fmt, "collapsed"))
            c->format = CP_FMT_COLLAPSED;
        else if (!strcmp(fmt, "proto"))
            c->format = CP_FMT_PROTO;
        else if (!strcmp(fmt, "list"))
            c->format = CP_FMT_LIST;
        else
            c->format = CP_FMT_COMMENTS;
    }
    if (c->http && *c->http && c->format != CP_FMT_NONE) {
        set_err(err, errlen, "-http is not compatible with an output format "
                "on the command line");
        return -EINVAL;
    }
    if (c->no_browser && !(c->http && *c->http)) {
        set_err(err, errlen, "-no_browser only makes sense with -http");
        return -EINVAL;
    }
    if (c->format == CP_FMT_NONE && !(c->http && *c->http)) {
        c->format = CP_FMT_TEXT; /* go tool pprof would go interactive */
        c->format_name = "top";
    }
    if (saw_base && saw_diff) {
        set_err(err, errlen, "-base and -diff_base flags cannot both be "
                "specified");
        return -EINVAL;
    }
    c->diff_base = saw_diff;
    if (c->normalize && c->n_base == 0) {
        set_err(err, errlen, "must have base profile to normalize by");
        return -EINVAL;
    }
    if (granularity) {
        int g = cp_granularity_parse(granularity);
        if (g < 0) {
            set_err(err, errlen, "invalid -granularity=%s: want functions, "
                    "filefunctions, files, lines or addresses", granularity);
            return -EINVAL;
        }
        c->granularity = g;
    }
    if (ngrans > 1) {
        set_err(err, errlen, "conflicting options set: -%s and -%s",
                grans[0], grans[1]);
        return -EINVAL;
    }
    if (ngrans == 1)
        c->granularity = cp_granularity_parse(grans[0]);
    if (nsorts > 1) {
        set_err(err, errlen, "conflicting options set: -cum and -flat");
        return -EINVAL;
    }
    if (nsorts == 1)
        c->cum = !strcmp(sorts[0], "cum");
    if (c->divide_by == 0) {
        set_err(err, errlen, "zero divisor specified");
        return -EINVAL;
    }
    if (c->symbolize && *c->symbolize && strcmp(c->symbolize, "none") &&
        strcmp(c->symbolize, "local") && strcmp(c->symbolize, "no") &&
        strcmp(c->symbolize, "fastlocal") && strcmp(c->symbolize, "force") &&
        strcmp(c->symbolize, "local:force")) {
        set_err(err, errlen, "invalid -symbolize=%s: want none, local or "
                "force", c->symbolize);
        return -EINVAL;
    }
    if (c->n_sources == 0) {
        set_err(err, errlen, "no profile source specified (cprof -h for "
                "usage)");
        return -EINVAL;
    }
    return 0;
nomem:
    set_err(err, errlen, "out of memory parsing the command line");
    return -ENOMEM;
}
