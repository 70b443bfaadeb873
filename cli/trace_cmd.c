/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_cmd.c - `cprof trace`: read an execution trace from a file or a
 * URL (/debug/pprof/trace?seconds=N) and turn it into what was asked:
 * Chrome JSON (-json), a Perfetto trace (-perfetto), a pprof profile of
 * waiting (-pprof=block|sync|syscall|sched, as go tool trace -pprof), the
 * tables of regions, tasks and threads (-summary), every event as text
 * (-dump), or the browser viewer (-http, served by trace_http.c when it
 * is built in).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "profile/codec.h"
#include "trace_cli.h"

static const char usage[] =
    "usage: cprof trace [-http=[HOST]:PORT] [-no_browser] [-json=OUT] "
    "[-perfetto=OUT]\n"
    "                   [-pprof=block|sync|syscall|sched] [-output=FILE] "
    "[-summary] [-dump] TRACE|URL";

/* The viewer (trace_http.c) replaces this when it is built in. */
__attribute__((weak)) int cp_trace_serve(struct cp_trace *t, const char *src,
                                         const char *addr, bool no_browser)
{
    return cp_die("trace: the trace viewer (-http) is not built into this "
                  "cprof yet; use -json=OUT and open it in "
                  "https://ui.perfetto.dev or chrome://tracing");
}

/* Traces above this are refused (a JSON export of one this big would be
 * unusable anyway; -perfetto copes). */
#define CP_TRACE_MAX_BYTES ((size_t)8 << 30)

/* ---- loading ---- */

struct fetch_ctx {
    struct cp_dynbuf *buf;
    int err;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
    struct fetch_ctx *c = ud;
    if (cp_dynbuf_add(c->buf, ptr, size * n) < 0) {
        c->err = -E2BIG;
        return 0;
    }
    return size * n;
}

static int fetch(const char *url, struct cp_dynbuf *buf, char *err,
                 size_t errlen)
{
    CURL *h = curl_easy_init();
    struct fetch_ctx c = {buf, 0};
    long status = 0;
    CURLcode rc;

    if (!h) {
        snprintf(err, errlen, "cannot start an HTTP client");
        return -ENOMEM;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "cprof trace");
    const char *tok = getenv("CPROF_HTTP_TOKEN");
    struct curl_slist *hdrs = NULL;
    if (tok && *tok) {
        char line[512];
        snprintf(line, sizeof line, "Authorization: Bearer %s", tok);
        hdrs = curl_slist_append(NULL, line);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    }
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    if (c.err) {
        snprintf(err, errlen, "%s: the trace is larger than %zu bytes", url,
                 buf->limit);
        return c.err;
    }
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(rc));
        return -EIO;
    }
    if (status != 200) {
        /* the endpoint explains itself in one text/plain sentence */
        size_t n = buf->len < 200 ? buf->len : 200;
        while (n && (buf->data[n - 1] == '\n' || buf->data[n - 1] == '\r'))
            n--;
        snprintf(err, errlen, "%s: server answered %ld: %.*s", url, status,
                 (int)n, buf->data ? buf->data : "");
        return -EIO;
    }
    return 0;
}

static int read_file(const char *path, struct cp_dynbuf *buf, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    char chunk[1 << 16];
    size_t n;

    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -errno;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        snprintf(err, errlen, "%s: is a directory, not a trace", path);
        return -EISDIR;
    }
    if (st.st_size > 0 && (size_t)st.st_size < buf->limit)
        cp_dynbuf_reserve(buf, (size_t)st.st_size);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (cp_dynbuf_add(buf, chunk, n) < 0) {
            fclose(f);
            snprintf(err, errlen, "%s: larger than %zu bytes", path,
                     buf->limit);
            return -E2BIG;
        }
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    fclose(f);
    return 0;
}

int cp_trace_load(const char *src, size_t max_bytes, struct cp_dynbuf *buf,
                  struct cp_trace **out, char *err, size_t errlen)
{
    char why[256];
    int r;

    cp_dynbuf_init(buf, max_bytes);
    if (!strncmp(src, "http://", 7) || !strncmp(src, "https://", 8))
        r = fetch(src, buf, err, errlen);
    else
        r = read_file(src, buf, err, errlen);
    if (r < 0)
        return r;
    r = cp_trace_open(buf->data ? buf->data : "", buf->len, out, why,
                      sizeof why);
    if (r < 0)
        snprintf(err, errlen, "%s: %s", src, why);
    return r;
}

/* ---- -dump ---- */

static int dump_one(const struct cp_trace_event *e, void *arg)
{
    struct cp_trace *t = arg;
    int64_t rel = e->ts - cp_trace_start_ns(t);
    printf("%12.3f us  tid %-7d %-13s", (double)rel / 1e3, e->tid,
           cp_trace_evtype_name(e->type));
    switch (e->type) {
    case CP_TEV_REGION_BEGIN:
    case CP_TEV_THREAD_NAME: printf(" %s", cp_trace_str(t, e->str)); break;
    case CP_TEV_TASK_BEGIN:
        printf(" %llu %s", (unsigned long long)e->task,
               cp_trace_str(t, e->str));
        break;
    case CP_TEV_TASK_END: printf(" %llu", (unsigned long long)e->task); break;
    case CP_TEV_LOG:
        printf(" [%s] %.*s", cp_trace_str(t, e->str), (int)e->msg_len,
               e->msg ? e->msg : "");
        break;
    case CP_TEV_BLOCK:
        printf(" %s %s %.3f us stack %llu",
               cp_trace_block_kind_name(e->kind), cp_trace_str(t, e->str),
               (double)e->dur / 1e3, (unsigned long long)e->stack);
        break;
    case CP_TEV_THREAD_START:
    case CP_TEV_THREAD:
        printf(" %s creator %lld", cp_trace_str(t, e->str),
               (long long)e->value);
        break;
    case CP_TEV_SAMPLE:
        printf(" cpu %lld stack %llu", (long long)e->value,
               (unsigned long long)e->stack);
        break;
    case CP_TEV_COUNTER:
        printf(" %s %lld", cp_trace_str(t, e->str), (long long)e->value);
        break;
    case CP_TEV_SCHED_OUT: printf("%s", e->kind ? " preempted" : ""); break;
    case CP_TEV_CPU:
    case CP_TEV_SCHED_IN:
    case CP_TEV_LOST:
    case CP_TEV_SCHED_LOST: printf(" %lld", (long long)e->value); break;
    case CP_TEV_SCHED_MODE:
        printf(" %s", e->kind ? "precise" : "estimated");
        break;
    default: break;
    }
    putchar('\n');
    return 0;
}

static void dump(struct cp_trace *t)
{
    for (int i = 0; i < cp_trace_info_count(t); i++) {
        const char *k, *v;
        cp_trace_info_at(t, i, &k, &v);
        printf("# %s: %s\n", k, v);
    }
    cp_trace_scan(t, dump_one, t);
    if (cp_trace_truncated(t))
        printf("# %s\n", cp_trace_truncated(t));
}

/* ---- flags ---- */

static int bad_usage(const char *fmt, const char *arg)
{
    fputs("cprof: trace: ", stderr);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s\n", usage);
    return 2;
}

static FILE *open_out(const char *path, const char **err)
{
    FILE *f;
    if (!path || !strcmp(path, "-"))
        return stdout;
    f = fopen(path, "wb");
    if (!f)
        *err = strerror(errno);
    return f;
}

static int close_out(FILE *f, const char *path)
{
    int bad = ferror(f);
    if (f == stdout)
        return fflush(f) || bad ? -EIO : 0;
    if (fclose(f) != 0 || bad)
        return -EIO;
    (void)path;
    return 0;
}

int cp_cmd_trace(int argc, char **argv)
{
    const char *json = NULL, *perfetto = NULL, *pprof = NULL,
               *output = NULL, *http = NULL, *src = NULL;
    bool no_browser = false, summary = false, do_dump = false,
         summary_json = false;
    struct cp_dynbuf buf;
    struct cp_trace *t = NULL;
    char err[512];
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || !arg[1]) {
            if (src)
                return bad_usage("one trace at a time: unexpected '%s'",
                                 arg);
            src = arg;
            continue;
        }
        const char *name = arg + 1 + (arg[1] == '-');
        if (!*name) {
            if (i + 1 < argc && !src)
                src = argv[++i];
            if (i + 1 < argc)
                return bad_usage("one trace at a time: unexpected '%s'",
                                 argv[i + 1]);
            break;
        }
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const char **val = NULL;
        bool *flag = NULL;
#define IS(s) (nlen == strlen(s) && !strncmp(name, s, nlen))
        if (IS("json"))
            val = &json;
        else if (IS("perfetto"))
            val = &perfetto;
        else if (IS("pprof"))
            val = &pprof;
        else if (IS("output") || IS("o"))
            val = &output;
        else if (IS("http"))
            val = &http;
        else if (IS("no_browser"))
            flag = &no_browser;
        else if (IS("summary") && eq && !strcmp(eq + 1, "json"))
            summary = summary_json = true;
        else if (IS("summary"))
            flag = &summary;
        else if (IS("dump"))
            flag = &do_dump;
        else if (IS("h") || IS("help")) {
            printf("%s\n\n"
                   "Read an execution trace written by cprof_trace_start, "
                   "CPROF_TRACE=FILE or\n/debug/pprof/trace, and:\n"
                   "  -json=OUT      write Chrome Trace Event JSON "
                   "(chrome://tracing, ui.perfetto.dev)\n"
                   "  -perfetto=OUT  write a Perfetto protobuf trace (for "
                   "traces too big for JSON)\n"
                   "  -pprof=TYPE    write a pprof profile of time spent "
                   "waiting, to -output or\n"
                   "                 stdout: block (blocking calls), sync "
                   "(locks, condition\n"
                   "                 variables, semaphores), syscall "
                   "(blocking system calls),\n"
                   "                 sched (runnable but not running)\n"
                   "  -summary       print regions, tasks and threads: "
                   "counts, durations, time\n"
                   "                 running and blocked; -summary=json as "
                   "JSON\n"
                   "  -dump          print every event\n"
                   "  -http=ADDR     serve the trace viewer on ADDR "
                   "([HOST]:PORT) and open a\n"
                   "                 browser (-no_browser: do not); the "
                   "default when no output\n"
                   "                 is asked, on localhost and a free "
                   "port, as go tool trace\n",
                   usage);
            return 0;
        } else
            return bad_usage("flag provided but not defined: %s", arg);
#undef IS
        if (val) {
            if (eq)
                *val = eq + 1;
            else if (i + 1 < argc)
                *val = argv[++i];
            else
                return bad_usage("flag needs an argument: %s", arg);
            if (!**val && val != &http)
                return bad_usage("%s: empty value", arg);
        } else if (flag) {
            if (!eq || !strcmp(eq + 1, "true") || !strcmp(eq + 1, "1"))
                *flag = true;
            else if (!strcmp(eq + 1, "false") || !strcmp(eq + 1, "0"))
                *flag = false;
            else
                return bad_usage("invalid boolean value for %s", arg);
        }
    }
    if (!src)
        return bad_usage("%s", "which trace? give a file or a URL");
    if (pprof && strcmp(pprof, "block") && strcmp(pprof, "sync") &&
        strcmp(pprof, "syscall") && strcmp(pprof, "sched"))
        return bad_usage("-pprof=%s: want block, sync, syscall or sched",
                         pprof);

    if (cp_trace_load(src, CP_TRACE_MAX_BYTES, &buf, &t, err, sizeof err) <
        0) {
        cp_dynbuf_free(&buf);
        return cp_die("trace: %s", err);
    }
    if (cp_trace_truncated(t) && !do_dump)
        fprintf(stderr, "cprof: trace: %s: %s; reading up to there\n", src,
                cp_trace_truncated(t));

    if (json) {
        const char *e = NULL;
        FILE *f = open_out(json, &e);
        if (!f)
            rc = cp_die("trace: cannot write %s: %s", json, e);
        else if (cp_trace_write_json(t, f) < 0 || close_out(f, json) < 0)
            rc = cp_die("trace: cannot write %s", json);
    }
    if (!rc && perfetto) {
        const char *e = NULL;
        FILE *f = open_out(perfetto, &e);
        if (!f)
            rc = cp_die("trace: cannot write %s: %s", perfetto, e);
        else if (cp_trace_write_perfetto(t, f) < 0 ||
                 close_out(f, perfetto) < 0)
            rc = cp_die("trace: cannot write %s", perfetto);
    }
    if (!rc && pprof) {
        struct cp_profile p;
        struct cp_dynbuf enc;
        char warn[256] = "";
        int r = cp_trace_pprof(t, pprof, &p, warn, sizeof warn);
        if (r < 0) {
            rc = cp_die("trace: -pprof=%s: %s", pprof, strerror(-r));
        } else {
            if (warn[0])
                fprintf(stderr, "cprof: trace: %s\n", warn);
            cp_dynbuf_init(&enc, (size_t)1 << 32);
            r = cp_profile_encode(&p, 1, &enc);
            if (r == 0) {
                const char *e = NULL;
                FILE *f = open_out(output, &e);
                if (!f)
                    rc = cp_die("trace: cannot write %s: %s", output, e);
                else if (fwrite(enc.data, 1, enc.len, f) != enc.len ||
                         close_out(f, output) < 0)
                    rc = cp_die("trace: cannot write %s",
                                output ? output : "the profile");
            } else {
                rc = cp_die("trace: cannot encode the profile: %s",
                            strerror(-r));
            }
            cp_dynbuf_free(&enc);
            cp_profile_free(&p);
        }
    }
    if (!rc && do_dump)
        dump(t);
    /* with nothing asked, the viewer, as `go tool trace trace.out` */
    if (!json && !perfetto && !pprof && !do_dump && !summary && !http)
        http = "";
    if (!rc && summary) {
        struct cp_tstats s;
        if (cp_tstats_compute(t, &s) < 0) {
            rc = cp_die("trace: out of memory");
        } else {
            if (summary_json) {
                struct cp_dynbuf j;
                cp_dynbuf_init(&j, (size_t)1 << 30);
                if (cp_tstats_json(t, &s, &j) < 0 ||
                    fwrite(j.data, 1, j.len, stdout) != j.len)
                    rc = cp_die("trace: cannot write the summary");
                putchar('\n');
                cp_dynbuf_free(&j);
            } else {
                cp_tstats_print(t, &s, stdout);
            }
            cp_tstats_free(&s);
        }
    }
    if (!rc && http)
        rc = cp_trace_serve(t, src, *http ? http : "localhost:0", no_browser);
    cp_trace_close(t);
    cp_dynbuf_free(&buf);
    return rc;
}
