/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pprof.h - the profile side of the cprof command (go tool pprof's
 * workflow): flags (flags.c), loading sources into one profile
 * (fetch.c), and reports (report.c). The web UI (-http) is handed the
 * loaded profile and the flags through cp_web_serve.
 *
 * Typical use, as report.c does it:
 *     struct cp_pprof_cfg cfg;
 *     cp_pprof_cfg_init(&cfg);
 *     if (cp_pprof_parse_flags(&cfg, argc, argv) ...)
 *     struct cp_profile p;
 *     if (cp_pprof_load(&cfg, &p, err, sizeof(err)) < 0) ...
 *     cp_pprof_generate(&cfg, &p, &out, err, sizeof(err));
 *
 * Never used in signal context. Thread-safe: no (one load at a time;
 * a loaded profile may be copied with cp_profile_copy and reported on in
 * several threads, one copy each).
 */
#ifndef CP_CLI_PPROF_H
#define CP_CLI_PPROF_H

#include <stdbool.h>
#include <stddef.h>

#include "profile/dynbuf.h"
#include "profile/filter.h"
#include "profile/profile.h"

enum cp_pprof_format {
    CP_FMT_NONE = 0, /* no report asked: -http, or an error */
    CP_FMT_TEXT,     /* -top, -text */
    CP_FMT_TRACES,
    CP_FMT_RAW,
    CP_FMT_COLLAPSED,
    CP_FMT_PROTO,
    CP_FMT_LIST,
    CP_FMT_COMMENTS,
};

struct cp_pprof_cfg {
    /* sources */
    const char **sources;
    size_t n_sources;
    const char **base; /* -base or -diff_base (repeatable) */
    size_t n_base;
    bool diff_base;
    bool normalize;
    int seconds; /* -1: unset */
    int timeout; /* -1: unset */
    size_t max_decompressed;
    const char *symbolize; /* "", "none", "local" */
    const char *add_comment;
    /* report */
    enum cp_pprof_format format;
    const char *format_name; /* "top", "traces"... as given */
    const char *list; /* -list=RE */
    const char *output;
    const char *sample_index;
    bool mean;
    struct cp_filter_opts filter;
    int granularity;  /* enum cp_granularity */
    bool noinlines;
    int nodecount;    /* -1: the report's default */
    double nodefraction, edgefraction;
    bool trim;
    bool cum;
    const char *unit;
    double divide_by;
    bool drop_negative;
    bool compact_labels;
    bool relative_percentages;
    const char *source_path, *trim_path;
    /* web UI */
    const char *http;
    bool no_browser;
    /* private: strings the parser allocated */
    char **owned;
    size_t n_owned;
};

/* go tool pprof's defaults. */
void cp_pprof_cfg_init(struct cp_pprof_cfg *c);
void cp_pprof_cfg_free(struct cp_pprof_cfg *c);

/*
 * Parse cprof's flags (go tool pprof's spellings: -flag, --flag,
 * -flag=value, -flag value; flags and sources in any order; "--" ends
 * the flags). Returns 0; 1 when help was printed (exit 0); -EINVAL after
 * writing the one-sentence reason to err.
 */
int cp_pprof_parse_flags(struct cp_pprof_cfg *c, int argc, char **argv,
                         char *err, size_t errlen);
/* The usage text of `cprof -h` (the same list as docs/man/cprof.1). */
const char *cp_pprof_usage(void);

/*
 * Fetch every source and base (files or http(s) URLs, gzip'd or not,
 * profile.proto or a legacy format), merge them, subtract the bases,
 * symbolize what has only addresses from the local binaries (warnings on
 * stderr), and drop uninteresting frames: the profile go tool pprof would
 * report on. 0, or a negative errno with one sentence in err (naming the
 * source that failed).
 */
int cp_pprof_load(const struct cp_pprof_cfg *c, struct cp_profile *out,
                  char *err, size_t errlen);

/* Read one source into a profile (no merging, no symbolizing). */
int cp_pprof_fetch(const struct cp_pprof_cfg *c, const char *source,
                   struct cp_profile *out, char *err, size_t errlen);

/*
 * Filter and aggregate p (in place) and write the report c->format asks
 * for into out, as go tool pprof generates it. Filter warnings go to
 * stderr. 0 or a negative errno with a sentence in err.
 */
int cp_pprof_generate(const struct cp_pprof_cfg *c, struct cp_profile *p,
                      struct cp_dynbuf *out, char *err, size_t errlen);

/*
 * The web UI (web/, issue 6): serve p at c->http until interrupted.
 * report.c holds a weak placeholder that says it is not built yet.
 * Returns the exit status.
 */
int cp_web_serve(const struct cp_pprof_cfg *c, struct cp_profile *p);

#endif /* CP_CLI_PPROF_H */
