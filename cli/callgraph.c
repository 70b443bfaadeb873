/* SPDX-License-Identifier: Apache-2.0 */
/*
 * callgraph.c - DOT of the report model, after go tool pprof's
 * internal/graph/dotgraph.go (labels, font sizes 8-24 by flat, colours
 * from grey to red by cum, edge weight and pen width by edge weight,
 * dotted residual edges), and `dot -Tsvg` run through pipes with a
 * deadline. See callgraph.h.
 *
 * Never used in signal context. Thread-safe: yes.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "callgraph.h"
#include "measure.h"

extern char **environ;

/* escapeForDot: backslashes and quotes */
static int dot_escaped(struct cp_dynbuf *b, const char *s)
{
    int r = 0;
    for (; *s && !r; s++) {
        if (*s == '"' || *s == '\\')
            r = cp_dynbuf_add(b, "\\", 1);
        if (!r)
            r = cp_dynbuf_add(b, s, 1);
    }
    return r;
}

/* pprof's multilinePrintableName: name split on "::" and "." */
static int multiline_name(struct cp_dynbuf *b, const struct cp_graph_node *n)
{
    int r = 0;
    const char *s = *n->name ? n->name : n->printable;
    for (; *s && !r; s++) {
        if (s[0] == ':' && s[1] == ':') {
            r = cp_dynbuf_addstr(b, "\\n");
            s++;
        } else if (*s == '.' && s[1] && s[1] != '.') {
            r = cp_dynbuf_addstr(b, "\\n");
        } else if (*s == '"' || *s == '\\') {
            r = cp_dynbuf_add(b, "\\", 1);
            if (!r)
                r = cp_dynbuf_add(b, s, 1);
        } else {
            r = cp_dynbuf_add(b, s, 1);
        }
    }
    if (!r && n->lineno && *n->file) {
        const char *base = strrchr(n->file, '/');
        r = cp_dynbuf_addstr(b, "\\n");
        if (!r)
            r = dot_escaped(b, base ? base + 1 : n->file);
        if (!r)
            r = cp_dynbuf_printf(b, ":%lld", (long long)n->lineno);
    }
    if (!r && n->address)
        r = cp_dynbuf_printf(b, "\\n%016llx", (unsigned long long)n->address);
    if (!r)
        r = cp_dynbuf_addstr(b, "\\n");
    return r;
}

/* pprof's dotColor */
static void dot_color(char *buf, size_t n, double score, bool bg)
{
    const double shift = 0.7;
    double sat = bg ? 0.1 : 1.0, val = bg ? 0.93 : 0.7;
    if (score > 1)
        score = 1;
    if (score < -1)
        score = -1;
    if (fabs(score) < 0.2)
        sat *= fabs(score) / 0.2;
    if (score > 0)
        score = pow(score, 1.0 - shift);
    if (score < 0)
        score = -pow(-score, 1.0 - shift);
    double r, g, b;
    if (score < 0) {
        g = val;
        r = val * (1 + sat * score);
    } else {
        r = val;
        g = val * (1 - sat * score);
    }
    b = val * (1 - sat);
    snprintf(buf, n, "#%02x%02x%02x", (unsigned)(uint8_t)(r * 255.0),
             (unsigned)(uint8_t)(g * 255.0), (unsigned)(uint8_t)(b * 255.0));
}

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

static char *pct(char *buf, size_t n, int64_t v, int64_t total)
{
    char tmp[32];
    cp_unit_percentage(tmp, sizeof(tmp), v, total);
    const char *s = tmp;
    while (*s == ' ')
        s++;
    snprintf(buf, n, "%s", s);
    return buf;
}

int cp_callgraph_dot(const struct cp_graph *g, int64_t total, const char *unit,
                     const char *const *legend, size_t n_legend,
                     struct cp_dynbuf *out)
{
    int r =
        cp_dynbuf_addstr(out, "digraph \"cprof\" {\n"
                              "node [style=filled fillcolor=\"#f8f8f8\"]\n");
    if (!r && n_legend) {
        r = cp_dynbuf_addstr(out, "subgraph cluster_L { \"");
        if (!r)
            r = dot_escaped(out, legend[0]);
        if (!r)
            r = cp_dynbuf_addstr(out, "\" [shape=box fontsize=16 label=\"");
        for (size_t i = 0; i < n_legend && !r; i++) {
            r = dot_escaped(out, legend[i]);
            if (!r)
                r = cp_dynbuf_addstr(out, "\\l");
        }
        if (!r)
            r = cp_dynbuf_addstr(out, "\"] }\n");
    }
    double max_flat = 0;
    for (size_t i = 0; i < g->n_nodes; i++)
        if ((double)abs64(cp_graph_flat(&g->nodes[i])) > max_flat)
            max_flat = (double)abs64(cp_graph_flat(&g->nodes[i]));
    char v1[64], v2[64], p1[32], p2[32], fg[16], bgc[16];
    for (size_t i = 0; i < g->n_nodes && !r; i++) {
        const struct cp_graph_node *n = &g->nodes[i];
        int64_t flat = cp_graph_flat(n), cum = cp_graph_cum(n);
        r = cp_dynbuf_printf(out, "N%zu [label=\"", i + 1);
        if (!r)
            r = multiline_name(out, n);
        cp_unit_label(v1, sizeof(v1), flat, unit, "minimum");
        cp_unit_label(v2, sizeof(v2), cum, unit, "minimum");
        if (!r && flat)
            r = cp_dynbuf_printf(out, "%s (%s)", v1,
                                 pct(p1, sizeof(p1), flat, total));
        else if (!r)
            r = cp_dynbuf_addstr(out, "0");
        if (!r && cum != flat)
            r = cp_dynbuf_printf(out, "%sof %s (%s)", flat ? "\\n" : " ", v2,
                                 pct(p2, sizeof(p2), cum, total));
        int fs = 8;
        if (max_flat > 0 && flat && (double)abs64(flat) <= max_flat)
            fs += (int)ceil(16.0 * sqrt((double)abs64(flat) / max_flat));
        double score = total ? (double)cum / (double)abs64(total) : 0;
        dot_color(fg, sizeof(fg), score, false);
        dot_color(bgc, sizeof(bgc), score, true);
        if (!r)
            r = cp_dynbuf_printf(out,
                                 "\" id=\"node%zu\" fontsize=%d "
                                 "shape=box tooltip=\"",
                                 i + 1, fs);
        if (!r)
            r = dot_escaped(out, n->printable);
        if (!r)
            r = cp_dynbuf_printf(out,
                                 " (%s)\" color=\"%s\" "
                                 "fillcolor=\"%s\"]\n",
                                 cum != flat ? v2 : v1, fg, bgc);
    }
    for (size_t k = 0; k < g->n_edges && !r; k++) {
        const struct cp_graph_edge *e = &g->edges[k];
        int64_t w = e->weight_div ? e->weight / e->weight_div : e->weight;
        cp_unit_label(v1, sizeof(v1), w, unit, "minimum");
        r = cp_dynbuf_printf(out, "N%u -> N%u [label=\" %s%s\"", e->src + 1,
                             e->dst + 1, v1, e->inline_ ? "\\n (inline)" : "");
        if (!r && total) {
            int64_t wt = abs64(w * 100 / total);
            int weight = 1 + (int)(wt > 100 ? 100 : wt);
            int64_t pw = abs64(w * 5 / total);
            int width = 1 + (int)(pw > 5 ? 5 : pw);
            if (weight > 1)
                r = cp_dynbuf_printf(out, " weight=%d", weight);
            if (!r && width > 1)
                r = cp_dynbuf_printf(out, " penwidth=%d", width);
            dot_color(fg, sizeof(fg), (double)w / (double)abs64(total), false);
            if (!r)
                r = cp_dynbuf_printf(out, " color=\"%s\"", fg);
        }
        if (!r)
            r = cp_dynbuf_addstr(out, " tooltip=\"");
        if (!r)
            r = dot_escaped(out, g->nodes[e->src].printable);
        if (!r)
            r = cp_dynbuf_addstr(out, e->residual ? " ... " : " -> ");
        if (!r)
            r = dot_escaped(out, g->nodes[e->dst].printable);
        if (!r)
            r = cp_dynbuf_printf(out, " (%s)\"%s]\n", v1,
                                 e->residual ? " style=\"dotted\"" : "");
    }
    if (!r)
        r = cp_dynbuf_addstr(out, "}\n");
    return r;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int cp_callgraph_svg(const char *dot, size_t len, int timeout_s,
                     struct cp_dynbuf *svg, char *err, size_t errlen)
{
    int in[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0 ||
        pipe2(errp, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0)
                close(in[i]);
            if (outp[i] >= 0)
                close(outp[i]);
            if (errp[i] >= 0)
                close(errp[i]);
        }
        return -EIO;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    char *argv[] = {"dot", "-Tsvg", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "dot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(outp[1]);
    close(errp[1]);
    if (rc) {
        close(in[1]);
        close(outp[0]);
        close(errp[0]);
        snprintf(err, errlen, "could not run dot: %s", strerror(rc));
        return rc == ENOENT ? -ENOENT : -rc;
    }
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    size_t off = 0;
    char ebuf[512];
    size_t elen = 0;
    int r = 0;
    double deadline = now_s() + timeout_s;
    bool out_open = true, err_open = true;
    while (out_open || err_open) {
        struct pollfd pf[3];
        int np = 0, iin = -1, iout = -1, ierr = -1;
        if (in[1] >= 0) {
            pf[np] = (struct pollfd){in[1], POLLOUT, 0};
            iin = np++;
        }
        if (out_open) {
            pf[np] = (struct pollfd){outp[0], POLLIN, 0};
            iout = np++;
        }
        if (err_open) {
            pf[np] = (struct pollfd){errp[0], POLLIN, 0};
            ierr = np++;
        }
        double left = deadline - now_s();
        if (left <= 0) {
            snprintf(err, errlen, "dot did not finish in %d s", timeout_s);
            r = -ETIMEDOUT;
            break;
        }
        int pr = poll(pf, (nfds_t)np, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            r = -errno;
            snprintf(err, errlen, "poll: %s", strerror(errno));
            break;
        }
        if (iin >= 0 && pf[iin].revents) {
            ssize_t w = write(in[1], dot + off, len - off);
            if (w > 0)
                off += (size_t)w;
            if (w < 0 && errno != EAGAIN) {
                close(in[1]);
                in[1] = -1;
            } else if (off == len) {
                close(in[1]);
                in[1] = -1;
            }
        }
        if (iout >= 0 && pf[iout].revents) {
            if (cp_dynbuf_reserve(svg, 65536) < 0) {
                snprintf(err, errlen, "the SVG is too large");
                r = -E2BIG;
                break;
            }
            ssize_t got = read(outp[0], svg->data + svg->len, 65536);
            if (got > 0)
                cp_dynbuf_setlen(svg, svg->len + (size_t)got);
            else if (got == 0 || errno != EINTR)
                out_open = false;
        }
        if (ierr >= 0 && pf[ierr].revents) {
            char tmp[256];
            ssize_t got = read(errp[0], tmp, sizeof(tmp));
            if (got > 0) {
                size_t take = (size_t)got;
                if (take > sizeof(ebuf) - 1 - elen)
                    take = sizeof(ebuf) - 1 - elen;
                memcpy(ebuf + elen, tmp, take);
                elen += take;
            } else if (got == 0 || errno != EINTR) {
                err_open = false;
            }
        }
    }
    if (in[1] >= 0)
        close(in[1]);
    close(outp[0]);
    close(errp[0]);
    if (r < 0)
        kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        ebuf[elen] = 0;
        char *nl = strchr(ebuf, '\n');
        if (nl)
            *nl = 0;
        snprintf(err, errlen, "dot failed: %s", elen ? ebuf : "no output");
        r = -EIO;
    }
    return r;
}
