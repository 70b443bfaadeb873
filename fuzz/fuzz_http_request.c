/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_http_request.c - libFuzzer target for the live endpoint's request
 * handling (src/http_handle.c): the input is a request as it arrives
 * ("METHOD /path?query", header lines, a blank line, a body); the query
 * parser, the router, the auth check (with a token on every other input),
 * the symbol parser and every profile path but the windows run on it.
 * Windows (profile?seconds, trace, wall) are refused by a zero cap on
 * seconds, so no input waits; profiles come from a fake source.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_limits.h"
#include "http.h"
#include "profiles.h"

static int64_t fake_count(void)
{
    return 3;
}

static int fake_build(struct cp_profile *p)
{
    struct cp_sample *s;
    struct cp_location *l;
    if (cp_profile_init(p) < 0 ||
        cp_profile_add_sample_type(p, "threads", "count") < 0)
        return -12;
    l = cp_profile_add_location(p, 0);
    s = cp_profile_add_sample(p, 1, 0);
    if (!l || !s)
        return -12;
    l->address = 0x401000;
    s->location_ids[0] = l->id;
    s->values[0] = 1;
    return 0;
}

static int fake_text(int debug, struct cp_dynbuf *out)
{
    return cp_dynbuf_printf(out, "threads profile: total 1\n1 @ 0x401001\n");
}

static const struct cp_profile_source fake = {
    "threads", "fake", fake_count, fake_build, fake_text};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int registered;
    struct cp_http_arg args[CP_HTTP_MAX_ARGS];
    struct cp_http_config cfg = {NULL, 0};
    struct cp_http_req req;
    struct cp_http_resp resp;
    struct cp_dynbuf store;
    char *buf, *line, *end, *path, *q, *sp;
    int n = 0;

    if (!registered) {
        cp_profiles_register(&fake);
        registered = 1;
    }
    buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    memset(&req, 0, sizeof req);
    cp_dynbuf_init(&store, 1 << 20);
    /* request line */
    end = strstr(buf, "\r\n");
    if (end)
        *end = '\0';
    sp = strchr(buf, ' ');
    req.method = buf;
    path = sp ? (*sp = '\0', sp + 1) : (char *)"";
    q = strchr(path, '?');
    if (q) {
        *q++ = '\0';
        n = cp_http_parse_query(q, strlen(q), args, CP_HTTP_MAX_ARGS, &store);
    }
    req.path = path;
    req.args = args;
    req.n_args = n < 0 ? 0 : n;
    /* headers, then the body */
    line = end ? end + 2 : buf + size;
    while (line < buf + size) {
        char *e = strstr(line, "\r\n");
        if (!e || e == line) {
            line = e ? e + 2 : buf + size;
            break;
        }
        *e = '\0';
        if (!strncasecmp(line, "Authorization: ", 15))
            req.authorization = line + 15;
        line = e + 2;
    }
    req.body = line;
    req.body_len = (size_t)(buf + size - line);
    if (size & 1)
        cfg.token = "fuzz-token";
    cp_http_handle(&cfg, &req, &resp);
    cp_http_resp_free(&resp);
    cp_dynbuf_free(&store);
    free(buf);
    return 0;
}
