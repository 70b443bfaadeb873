/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fetch.c - sources to one profile, as go tool pprof's fetchProfiles
 * (internal/driver/fetch.go) does it: read every source (a file, or an
 * http(s) URL through libcurl, with -seconds and -timeout applied the way
 * pprof adjusts URLs), parse it (profile.proto, else the legacy formats),
 * reconcile units and merge, subtract the -base/-diff_base profiles, then
 * symbolize address-only locations from the local binaries (libdw) and
 * prune the profile's uninteresting frames.
 *
 * Every failure is one sentence naming the source. Sizes are capped by
 * -max_decompressed, for downloads as for gzip streams.
 *
 * Never used in signal context. Thread-safe: no.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cprof.h"
#include "pprof.h"
#include "profile/codec.h"
#include "profile/filter.h"
#include "profile/legacy.h"
#include "profile/merge.h"
#include "symbol/symbolize.h"

static void set_err(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

/* ---- what a source is ---------------------------------------------------------- */

static bool has_prefix(const char *s, const char *p)
{
    return !strncmp(s, p, strlen(p));
}

/* http(s)://..., or host:port/path as pprof accepts it (when no file of
 * that name exists). Returns a malloc'd URL or NULL for a file. */
static char *source_url(const char *src)
{
    if (has_prefix(src, "http://") || has_prefix(src, "https://"))
        return strdup(src);
    struct stat st;
    if (stat(src, &st) == 0)
        return NULL;
    const char *colon = strchr(src, ':');
    const char *slash = strchr(src, '/');
    if (!colon || colon == src || (slash && slash < colon))
        return NULL;
    /* host:port must be followed by digits (the port) */
    const char *c = colon + 1;
    if (*c < '0' || *c > '9')
        return NULL;
    while (*c >= '0' && *c <= '9')
        c++;
    if (*c && *c != '/')
        return NULL;
    char *u = malloc(strlen(src) + 8);
    if (u)
        sprintf(u, "http://%s", src);
    return u;
}

/* pprof's adjustURL: seconds=N replaces the query's seconds; the timeout
 * is -timeout, else 1.5 x the duration, else 60 s. */
static char *adjust_url(const char *url, int seconds, int timeout_flag,
                        long *timeout)
{
    size_t n = strlen(url) + 32;
    char *u = malloc(n);
    if (!u)
        return NULL;
    long duration = 0;
    const char *q = strchr(url, '?');
    const char *frag = strchr(url, '#');
    if (frag && q && frag < q)
        q = NULL;
    size_t base = q ? (size_t)(q - url) : frag ? (size_t)(frag - url)
                                               : strlen(url);
    /* copy the query without seconds= */
    size_t w = 0;
    memcpy(u, url, base);
    w = base;
    bool first = true;
    if (q) {
        const char *p = q + 1;
        const char *qend = frag && frag > q ? frag : url + strlen(url);
        while (p < qend) {
            const char *amp = memchr(p, '&', (size_t)(qend - p));
            const char *e = amp ? amp : qend;
            if (has_prefix(p, "seconds=") && p + 8 <= e) {
                if (seconds <= 0)
                    duration = strtol(p + 8, NULL, 10);
                if (seconds <= 0) {
                    u[w++] = first ? '?' : '&';
                    memcpy(u + w, p, (size_t)(e - p));
                    w += (size_t)(e - p);
                    first = false;
                }
            } else if (e > p) {
                u[w++] = first ? '?' : '&';
                memcpy(u + w, p, (size_t)(e - p));
                w += (size_t)(e - p);
                first = false;
            }
            p = e + 1;
        }
    }
    if (seconds > 0) {
        w += (size_t)snprintf(u + w, n - w, "%cseconds=%d", first ? '?' : '&',
                              seconds);
        duration = seconds;
    }
    u[w] = 0;
    if (timeout_flag > 0)
        *timeout = timeout_flag;
    else if (duration > 0)
        *timeout = duration + duration / 2;
    else
        *timeout = 60;
    return u;
}

/* ---- reading -------------------------------------------------------------------------- */

struct body {
    struct cp_dynbuf b;
    bool too_big;
    bool go_pprof, text_plain;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct body *b = ud;
    size_t n = size * nmemb;
    if (cp_dynbuf_add(&b->b, ptr, n) < 0) {
        b->too_big = true;
        return 0;
    }
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct body *b = ud;
    size_t n = size * nmemb;
    if (n >= 11 && !strncasecmp(ptr, "X-Go-Pprof:", 11))
        b->go_pprof = true;
    if (n >= 13 && !strncasecmp(ptr, "Content-Type:", 13) &&
        memmem(ptr, n, "text/plain", 10))
        b->text_plain = true;
    return n;
}

static int fetch_url(const struct cp_pprof_cfg *c, const char *src,
                     const char *url0, struct cp_dynbuf *out, char *err,
                     size_t errlen)
{
    long timeout;
    char *url = adjust_url(url0, c->seconds, c->timeout, &timeout);
    if (!url) {
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    /* pprof says this always; cprof only when the wait is long, so an
     * error stays a one-line sentence */
    if (c->seconds > 0)
        fprintf(stderr, "Fetching profile over HTTP from %s\n"
                "Please wait... (%ds)\n", url, c->seconds);
    static bool inited;
    if (!inited) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        inited = true;
    }
    CURL *h = curl_easy_init();
    struct body b = {0};
    cp_dynbuf_init(&b.b, c->max_decompressed);
    char cerr[CURL_ERROR_SIZE] = "";
    int r = 0;
    if (!h) {
        set_err(err, errlen, "%s: cannot start an HTTP client", src);
        r = -ENOMEM;
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout + 5);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &b);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "cprof/" CPROF_VERSION);
    /* a bearer token for cprof's own endpoint (CPROF_HTTP_TOKEN) */
    struct curl_slist *hdrs = NULL;
    const char *tok = getenv("CPROF_HTTP_TOKEN");
    if (tok && *tok) {
        char *hv = malloc(strlen(tok) + 32);
        if (hv) {
            sprintf(hv, "Authorization: Bearer %s", tok);
            hdrs = curl_slist_append(hdrs, hv);
            free(hv);
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        }
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        if (b.too_big)
            set_err(err, errlen, "%s: larger than %zu bytes; raise "
                    "-max_decompressed", src, c->max_decompressed);
        else
            set_err(err, errlen, "%s: fetching over HTTP failed: %s", src,
                    *cerr ? cerr : curl_easy_strerror(cc));
        r = b.too_big ? -E2BIG : -EIO;
        goto out2;
    }
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
        /* pprof's statusCodeError: the body when the endpoint says why */
        if (b.go_pprof && b.text_plain && b.b.data) {
            size_t l = b.b.len;
            while (l && (b.b.data[l - 1] == '\n' || b.b.data[l - 1] == '\r'))
                l--;
            set_err(err, errlen, "%s: server response: %ld - %.*s", src,
                    code, (int)(l > 300 ? 300 : l), b.b.data);
        } else {
            set_err(err, errlen, "%s: server response: %ld", src, code);
        }
        r = -EIO;
        goto out2;
    }
    *out = b.b;
    memset(&b.b, 0, sizeof(b.b));
out2:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
out:
    cp_dynbuf_free(&b.b);
    free(url);
    return r;
}

static int read_file(const char *src, size_t cap, struct cp_dynbuf *out,
                     char *err, size_t errlen)
{
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        set_err(err, errlen, "%s: %s", src,
                e == ENOENT ? "no such file or directory" : strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        set_err(err, errlen, "%s: is a directory, not a profile", src);
        return -EISDIR;
    }
    cp_dynbuf_init(out, cap);
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > cap) {
        close(fd);
        set_err(err, errlen, "%s: file is larger than %zu bytes; raise "
                "-max_decompressed", src, cap);
        return -E2BIG;
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0 &&
        cp_dynbuf_reserve(out, (size_t)st.st_size) < 0) {
        close(fd);
        set_err(err, errlen, "%s: out of memory reading it", src);
        return -ENOMEM;
    }
    for (;;) {
        if (cp_dynbuf_reserve(out, 65536) < 0) {
            close(fd);
            cp_dynbuf_free(out);
            set_err(err, errlen, "%s: larger than %zu bytes; raise "
                    "-max_decompressed", src, cap);
            return -E2BIG;
        }
        ssize_t n = read(fd, out->data + out->len, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            cp_dynbuf_free(out);
            set_err(err, errlen, "%s: %s", src, strerror(e));
            return -e;
        }
        if (n == 0)
            break;
        cp_dynbuf_setlen(out, out->len + (size_t)n);
    }
    close(fd);
    return 0;
}

/* ---- parsing ---------------------------------------------------------------------------- */

static int parse_bytes(const char *src, const void *data, size_t len,
                       size_t cap, unsigned lflags, struct cp_profile *out,
                       char *err, size_t errlen)
{
    struct cp_dynbuf raw;
    cp_dynbuf_init(&raw, cap);
    char why[256] = "";
    if (cp_is_gzip(data, len)) {
        int r = cp_gunzip_err(data, len, cap, &raw, why, sizeof(why));
        if (r == -E2BIG) {
            set_err(err, errlen, "%s: larger than %zu bytes once "
                    "decompressed; raise -max_decompressed if it is "
                    "genuine", src, cap);
            cp_dynbuf_free(&raw);
            return r;
        }
        if (r < 0) {
            set_err(err, errlen, "%s: decompressing profile: %s", src,
                    *why ? why : "corrupt gzip data");
            cp_dynbuf_free(&raw);
            return r;
        }
        data = raw.data;
        len = raw.len;
    }
    if (len == 0) {
        set_err(err, errlen, "%s: empty input file", src);
        cp_dynbuf_free(&raw);
        return -ENODATA;
    }
    int r = cp_profile_decode(data, len, cap, out, why, sizeof(why));
    if (r == 0 || r == -ENOMEM || r == -E2BIG) {
        if (r == -ENOMEM)
            set_err(err, errlen, "%s: out of memory decoding it", src);
        else if (r == -E2BIG)
            set_err(err, errlen, "%s: larger than %zu bytes; raise "
                    "-max_decompressed", src, cap);
        cp_dynbuf_free(&raw);
        return r;
    }
    char lwhy[256] = "";
    int lr = cp_legacy_parse(data, len, lflags, out, lwhy, sizeof(lwhy));
    cp_dynbuf_free(&raw);
    if (lr == 0)
        return 0;
    if (lr == -EBADMSG)
        set_err(err, errlen, "%s: %s", src, lwhy);
    else if (lr == -ENOMEM)
        set_err(err, errlen, "%s: out of memory reading it", src);
    else
        set_err(err, errlen, "%s: not a profile: %s", src,
                *why ? why : "unrecognized profile format");
    return lr == -ENOTSUP ? -EBADMSG : lr;
}

int cp_pprof_fetch(const struct cp_pprof_cfg *c, const char *src,
                   struct cp_profile *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct cp_dynbuf data;
    cp_dynbuf_init(&data, c->max_decompressed);
    char *url = source_url(src);
    int r;
    if (url)
        r = fetch_url(c, src, url, &data, err, errlen);
    else
        r = read_file(src, c->max_decompressed, &data, err, errlen);
    free(url);
    /* -symbolize=none: addresses only, symbol comments of text formats
     * included, as go tool pprof reads them */
    unsigned lflags = c->symbolize && (!strcmp(c->symbolize, "none") ||
                                       !strcmp(c->symbolize, "no"))
                          ? CP_LEGACY_NO_COMMENTS
                          : 0;
    if (r == 0)
        r = parse_bytes(src, data.data, data.len, c->max_decompressed,
                        lflags, out, err, errlen);
    cp_dynbuf_free(&data);
    return r;
}

/* ---- one profile out of many ---------------------------------------------------------------- */

static void free_all(struct cp_profile *ps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cp_profile_free(&ps[i]);
    free(ps);
}

/* Fetch and merge a list of sources (pprof's chunkedGrab/combineProfiles).
 * *remote tells whether any came over HTTP. */
static int grab(const struct cp_pprof_cfg *c, const char *const *srcs,
                size_t n, bool force_merge, struct cp_profile *out,
                bool *remote, char *err, size_t errlen)
{
    struct cp_profile *ps = calloc(n, sizeof(*ps));
    struct cp_profile **pp = calloc(n, sizeof(*pp));
    int r = 0;
    if (!ps || !pp) {
        free(ps);
        free(pp);
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        char *u = source_url(srcs[i]);
        if (u)
            *remote = true;
        free(u);
        r = cp_pprof_fetch(c, srcs[i], &ps[i], err, errlen);
        if (r < 0) {
            free_all(ps, i);
            free(pp);
            return r;
        }
        pp[i] = &ps[i];
    }
    /* Merging a single profile only matters where it changes results:
     * samples of one stack with values of both signs add up before
     * pprof takes absolute values for the total. */
    if (n == 1 && !force_merge) {
        for (size_t j = 0; j < ps[0].n_samples && !force_merge; j++)
            for (size_t i = 0; i < ps[0].n_sample_types; i++)
                if (ps[0].samples[j].values[i] < 0)
                    force_merge = true;
    }
    if (n == 1 && !force_merge) {
        *out = ps[0];
        free(ps);
        free(pp);
        r = cp_profile_canon_strings(out);
        if (r < 0) {
            cp_profile_free(out);
            set_err(err, errlen, "out of memory");
        }
        return r;
    }
    char why[512] = "";
    r = cp_profile_scale_profiles(pp, n, why, sizeof(why));
    if (r == 0)
        r = cp_profile_merge(pp, n, out, why, sizeof(why));
    if (r < 0)
        set_err(err, errlen, "cannot merge %s%s: %s", srcs[0],
                n > 1 ? " with the other sources" : "", why);
    free_all(ps, n);
    free(pp);
    return r;
}

/*
 * What pprof's demangler makes of a C++ name by default (no parameters,
 * no template arguments), applied to the full names libdw's demangling
 * gives, so symbolized gperftools profiles name functions as pprof does.
 */
static char *simplify_cxx(const char *name)
{
    size_t n = strlen(name);
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    size_t w = 0;
    int depth_t = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!strncmp(name + i, "operator", 8)) {
            /* operator<, operator(), operator-> ...: copy the symbol */
            size_t k = i + 8;
            while (k < n && strchr("<>=!()[]-+*/%^&|~,", name[k]) &&
                   !(name[k] == '(' && k > i + 8 &&
                     strncmp(name + i + 8, "()", 2)))
                k++;
            if (!strncmp(name + i + 8, "()", 2))
                k = i + 10;
            if (depth_t == 0) {
                memcpy(o + w, name + i, k - i);
                w += k - i;
            }
            i = k - 1;
            continue;
        }
        if (!strncmp(name + i, "(anonymous namespace)", 21)) {
            if (depth_t == 0) {
                memcpy(o + w, name + i, 21);
                w += 21;
            }
            i += 20;
            continue;
        }
        if (ch == '<') {
            depth_t++;
            continue;
        }
        if (ch == '>' && depth_t > 0) {
            depth_t--;
            continue;
        }
        if (depth_t > 0)
            continue;
        if (ch == '(') {
            /* the parameter list: the rest (qualifiers too) goes */
            break;
        }
        o[w++] = ch;
    }
    o[w] = 0;
    return o;
}

/* An ELF file at path whose build ID is want (or anything when want is
 * ""): pprof's obj.Open + BuildID check. */
static bool usable_binary(const char *path, const char *want)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return false;
    char hex[256];
    int r = cp_elf_build_id(path, hex, sizeof(hex));
    if (r == -ENOEXEC || r == -ENOENT)
        return false;
    if (!*want)
        return true;
    if (r < 0 || strcmp(hex, want)) {
        fprintf(stderr, "cprof: ignoring local file %s: build-id mismatch "
                "(%s != %s)\n", path, want, r < 0 ? "" : hex);
        return false;
    }
    return true;
}

/*
 * pprof's locateBinaries: look for each mapping's binary under
 * $PPROF_BINARY_PATH (default ~/pprof/binaries) as DIR/BUILDID/NAME,
 * DIR/BUILDID/(any file), DIR/FILE/BUILDID, DIR/NAME and DIR/FILE, and point the
 * mapping at the first one found.
 */
static int locate_binaries(struct cp_profile *p)
{
    const char *sp = getenv("PPROF_BINARY_PATH");
    char def[4096];
    if (!sp || !*sp) {
        const char *home = getenv("HOME");
        snprintf(def, sizeof(def), "%s/pprof/binaries", home ? home : "");
        sp = def;
    }
    char *paths = strdup(sp);
    if (!paths)
        return -ENOMEM;
    for (size_t i = 0; i < p->n_mappings; i++) {
        struct cp_mapping *m = &p->mappings[i];
        const char *file = cp_profile_string(p, m->filename);
        const char *bid = cp_profile_string(p, m->build_id);
        const char *base = strrchr(file, '/');
        base = base ? base + 1 : file;
        char *found = NULL;
        char *copy = strdup(paths), *save = NULL;
        for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL;
             dir && !found; dir = strtok_r(NULL, ":", &save)) {
            char cand[8192];
            if (*bid) {
                snprintf(cand, sizeof(cand), "%s/%s/%s", dir, bid, base);
                if (*base && usable_binary(cand, bid))
                    found = strdup(cand);
                snprintf(cand, sizeof(cand), "%s/%s", dir, bid);
                DIR *d = found ? NULL : opendir(cand);
                if (d) {
                    struct dirent *e;
                    while (!found && (e = readdir(d))) {
                        if (e->d_name[0] == '.')
                            continue;
                        char f2[8192 + 256];
                        snprintf(f2, sizeof(f2), "%s/%s", cand, e->d_name);
                        if (usable_binary(f2, bid))
                            found = strdup(f2);
                    }
                    closedir(d);
                }
                snprintf(cand, sizeof(cand), "%s/%s/%s", dir, file, bid);
                if (!found && *file && usable_binary(cand, bid))
                    found = strdup(cand);
            }
            if (!found && *file) {
                snprintf(cand, sizeof(cand), "%s/%s", dir, base);
                if (*base && usable_binary(cand, bid))
                    found = strdup(cand);
                snprintf(cand, sizeof(cand), "%s/%s", dir, file);
                if (!found && usable_binary(cand, bid))
                    found = strdup(cand);
            }
        }
        free(copy);
        if (found) {
            int64_t idx = cp_profile_str(p, found);
            free(found);
            if (idx < 0) {
                free(paths);
                return -ENOMEM;
            }
            m->filename = idx;
        }
    }
    free(paths);
    return 0;
}

static int symbolize(const struct cp_pprof_cfg *c, struct cp_profile *p)
{
    int lr = locate_binaries(p);
    if (lr < 0)
        return lr;
    if (c->symbolize && (!strcmp(c->symbolize, "none") ||
                         !strcmp(c->symbolize, "no")))
        return 0;
    bool need = false;
    for (size_t i = 0; i < p->n_locations && !need; i++)
        if (p->locations[i].n_lines == 0 && p->locations[i].address)
            need = true;
    if (!need)
        return 0;
    struct cp_symbolizer *s = cp_sym_new();
    if (!s)
        return -ENOMEM;
    struct cp_dynbuf warn;
    cp_dynbuf_init(&warn, 1 << 20);
    size_t nf = p->n_functions;
    int r = cp_sym_profile(s, p, &warn);
    cp_sym_destroy(s);
    if (warn.len)
        fputs(warn.data, stderr);
    cp_dynbuf_free(&warn);
    if (r < 0)
        return r;
    for (size_t i = nf; i < p->n_functions; i++) {
        struct cp_function *f = &p->functions[i];
        const char *name = cp_profile_string(p, f->name);
        if (!strcmp(name, cp_profile_string(p, f->system_name)))
            continue;
        char *sn = simplify_cxx(name);
        if (!sn)
            return -ENOMEM;
        if (*sn && strcmp(sn, name)) {
            int64_t idx = cp_profile_str(p, sn);
            if (idx < 0) {
                free(sn);
                return -ENOMEM;
            }
            f->name = idx;
        }
        free(sn);
    }
    /* pprof says so when the main binary is not even named */
    size_t left = 0;
    for (size_t i = 0; i < p->n_locations; i++) {
        const struct cp_location *l = &p->locations[i];
        const struct cp_mapping *m = cp_profile_mapping(p, l->mapping_id);
        if (l->n_lines == 0 && l->address &&
            (!m || !*cp_profile_string(p, m->filename)))
            left++;
    }
    if (left)
        fprintf(stderr, "cprof: %zu address%s no binary named in the "
                "profile; %s unsymbolized\n", left,
                left == 1 ? " has" : "es have",
                left == 1 ? "it stays" : "they stay");
    return 0;
}

/* pprof saves what it fetched over HTTP: $PPROF_TMPDIR, else ~/pprof */
static void save_remote(const struct cp_profile *p)
{
    const char *dir = getenv("PPROF_TMPDIR");
    char path[4096];
    if (!dir || !*dir) {
        const char *home = getenv("HOME");
        if (!home || !*home)
            return;
        snprintf(path, sizeof(path), "%s/pprof", home);
        dir = path;
    }
    char d[4096];
    snprintf(d, sizeof(d), "%s", dir);
    if (mkdir(d, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "cprof: could not use temp dir %s: %s\n", d,
                strerror(errno));
        return;
    }
    char prefix[1024] = "pprof.";
    size_t w = strlen(prefix);
    if (p->n_mappings) {
        const char *f = cp_profile_string(p, p->mappings[0].filename);
        const char *b = strrchr(f, '/');
        b = b ? b + 1 : f;
        if (*b)
            w += (size_t)snprintf(prefix + w, sizeof(prefix) - w, "%.200s.",
                                  b);
    }
    for (size_t i = 0; i < p->n_sample_types && w < sizeof(prefix) - 64; i++)
        w += (size_t)snprintf(prefix + w, sizeof(prefix) - w, "%.40s.",
                              cp_profile_string(p, p->sample_types[i].type));
    struct cp_dynbuf enc;
    cp_dynbuf_init(&enc, (size_t)4 << 30);
    if (cp_profile_encode(p, 1, &enc) < 0) {
        cp_dynbuf_free(&enc);
        return;
    }
    for (int i = 1; i < 10000; i++) {
        char file[8192];
        snprintf(file, sizeof(file), "%s/%s%03d.pb.gz", d, prefix, i);
        int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
            if (errno == EEXIST)
                continue;
            fprintf(stderr, "cprof: could not save profile: %s\n",
                    strerror(errno));
            break;
        }
        size_t off = 0;
        bool ok = true;
        while (off < enc.len) {
            ssize_t n = write(fd, enc.data + off, enc.len - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                ok = false;
                break;
            }
            off += (size_t)n;
        }
        close(fd);
        if (ok)
            fprintf(stderr, "Saved profile in %s\n", file);
        else
            unlink(file);
        break;
    }
    cp_dynbuf_free(&enc);
}

/* An ELF file named before the profiles: pprof's "[binary] source". */
static bool is_elf_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    unsigned char m[4] = {0};
    bool elf = read(fd, m, 4) == 4 && !memcmp(m, "\177ELF", 4);
    close(fd);
    return elf;
}

/* pprof's source.ExecName: the binary is the first mapping's file; a
 * profile without mappings gets one covering every address. */
static int set_exec(struct cp_profile *p, const char *exec)
{
    int64_t f = cp_profile_str(p, exec);
    if (f < 0)
        return (int)f;
    if (p->n_mappings == 0) {
        struct cp_mapping *m = cp_profile_add_mapping(p);
        if (!m)
            return -ENOMEM;
        m->memory_limit = UINT64_MAX;
        for (size_t i = 0; i < p->n_locations; i++)
            p->locations[i].mapping_id = m->id;
    }
    p->mappings[0].filename = f;
    return 0;
}

int cp_pprof_load(const struct cp_pprof_cfg *c, struct cp_profile *out,
                  char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    bool remote = false;
    const char *exec = NULL;
    struct cp_pprof_cfg cc;
    if (c->n_sources > 1 && is_elf_file(c->sources[0])) {
        exec = c->sources[0];
        cc = *c;
        cc.sources++;
        cc.n_sources--;
        c = &cc;
    }
    /* -traces, -raw and -proto print the merged (compacted) profile, as
     * pprof's; the others report sums, the same either way */
    bool force = c->format == CP_FMT_TRACES || c->format == CP_FMT_RAW ||
                 c->format == CP_FMT_PROTO || c->format == CP_FMT_COMMENTS;
    struct cp_profile p;
    int r = grab(c, c->sources, c->n_sources, force, &p, &remote, err,
                 errlen);
    if (r < 0)
        return r;
    if (c->n_base) {
        struct cp_profile b;
        r = grab(c, c->base, c->n_base, false, &b, &remote, err, errlen);
        if (r < 0) {
            cp_profile_free(&p);
            return r;
        }
        char why[512] = "";
        if (c->diff_base)
            r = cp_profile_set_label(&b, "pprof::base", "true");
        if (r == 0 && c->normalize)
            r = cp_profile_normalize(&p, &b, why, sizeof(why));
        if (r == 0)
            r = cp_profile_scale(&b, -1);
        struct cp_profile *two[2] = {&p, &b};
        struct cp_profile m;
        if (r == 0)
            r = cp_profile_scale_profiles(two, 2, why, sizeof(why));
        if (r == 0)
            r = cp_profile_merge(two, 2, &m, why, sizeof(why));
        cp_profile_free(&b);
        cp_profile_free(&p);
        if (r < 0) {
            set_err(err, errlen, "cannot compare with the base profile: %s",
                    *why ? why : strerror(-r));
            return r;
        }
        p = m;
    }
    r = exec ? set_exec(&p, exec) : 0;
    if (r == 0)
        r = symbolize(c, &p);
    if (r == 0)
        r = cp_filter_remove_uninteresting(&p);
    if (r == 0 && c->add_comment && *c->add_comment)
        r = cp_profile_add_comment(&p, c->add_comment);
    if (r < 0) {
        cp_profile_free(&p);
        set_err(err, errlen, "out of memory preparing the profile");
        return r;
    }
    if (remote)
        save_remote(&p);
    *out = p;
    return 0;
}
