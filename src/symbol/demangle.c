/* SPDX-License-Identifier: Apache-2.0 */
/*
 * demangle.c - C++ names through the Itanium ABI demangler of libstdc++,
 * looked up at run time.
 *
 * libcprof is a C library loaded into C programs; linking libstdc++ just
 * for __cxa_demangle would load it into every one of them. So the
 * demangler is found with dlsym in the process first (any C++ program has
 * it), and only when that fails, because a C program (or the cprof
 * command) meets a mangled name, is libstdc++.so.6 loaded, privately
 * (RTLD_LOCAL). Without either, names stay mangled.
 *
 * The demangler prints everything: return type, template arguments,
 * parameters, qualifiers, clone suffixes. cp_sym_simplify (below) cuts
 * that down to the form go tool pprof shows by default; see demangle.h.
 *
 * Never used in signal context. Thread-safe: yes per sym_demangler
 * (__cxa_demangle itself is reentrant).
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "symbol/demangle.h"
#include "symbol/sym_int.h"

typedef char *cp_cxa_demangle_fn(const char *, char *, size_t *, int *);

static void find_demangler(struct sym_demangler *d)
{
    d->tried = true;
    d->fn = (cp_cxa_demangle_fn *)dlsym(RTLD_DEFAULT, "__cxa_demangle");
    if (d->fn)
        return;
    d->handle = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
    if (d->handle)
        d->fn = (cp_cxa_demangle_fn *)dlsym(d->handle, "__cxa_demangle");
}

char *sym_demangle(struct sym_demangler *d, const char *name)
{
    /* Itanium mangled names start with _Z (or ___Z for block
     * invocations); everything else is a C name, left alone */
    if (!name || strncmp(name, "_Z", 2) != 0)
        return NULL;
    if (!d->tried)
        find_demangler(d);
    if (!d->fn)
        return NULL;
    int status = -1;
    char *out = d->fn(name, NULL, NULL, &status);
    if (status != 0) {
        free(out);
        return NULL;
    }
    return out;
}

void sym_demangler_free(struct sym_demangler *d)
{
    /* libstdc++ has STB_GNU_UNIQUE symbols, which make glibc keep it
     * loaded anyway; dlclose only drops our reference. */
    if (d->handle)
        dlclose(d->handle);
    d->handle = NULL;
    d->fn = NULL;
    d->tried = false;
}

/* ---- simplification: pprof's default form of a demangled name ---- */

/*
 * The input is libiberty's (GNU) printing of a name, which is also what
 * github.com/ianlancetaylor/demangle prints without options. The grammar
 * that matters here, at bracket depth 0:
 *
 *   [special prefix] [return type ' '] scope::...::name [(params) quals]
 *
 * where a scope may itself be a function with its parameters and
 * qualifiers ("outer(int)::{lambda(int)#1}::operator()(int) const"),
 * brackets of four kinds nest, and "<" and ">" are brackets except in
 * operator names ("operator<", "operator>>=", "operator->"). Expressions
 * in template arguments are parenthesised by the demangler, so a ">"
 * inside parentheses never closes a template argument list: parentheses
 * are skipped as a whole when looking for the end of one.
 *
 * The pass copies the name left to right, dropping every template
 * argument list and the return type (the text before the last space at
 * depth 0), emptying the parameter lists of enclosing functions and
 * stopping before the final parameter list. Anything unexpected makes it
 * give up, and the caller keeps the full name.
 */

#define SIMPLIFY_MAX_DEPTH 64       /* nesting; deeper input is refused */
#define SIMPLIFY_MAX_LEN (1u << 20) /* longer names are kept as they are */

struct sbuf {
    char *p;
    size_t n, cap;
    bool bad; /* ENOMEM or a parse failure: the result is not used */
};

static void put(struct sbuf *b, const char *s, size_t n)
{
    if (b->bad)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->bad = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_(struct sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static bool is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '$';
}

static bool starts(const char *s, const char *e, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(e - s) >= n && memcmp(s, lit, n) == 0;
}

/* Is s (inside [begin, e)) the keyword "operator"? */
static bool at_operator(const char *begin, const char *s, const char *e)
{
    if (!starts(s, e, "operator"))
        return false;
    if (s > begin && is_ident(s[-1]))
        return false;
    return s + 8 == e || !is_ident(s[8]);
}

/* Length of the operator symbol at s ("<<=", "()", "->*"...), 0 if none.
 * Longest match first; the demangler writes "operator< <int>" with a
 * space, so greed never eats a template argument list. */
static size_t op_symbol(const char *s, const char *e)
{
    static const char *const ops[] = {
        "->*", "<<=", ">>=", "<=>", "()", "[]", "->", "<<", ">>", "<=",
        ">=",  "==",  "!=",  "&&",  "||", "++", "--", "+=", "-=", "*=",
        "/=",  "%=",  "&=",  "|=",  "^=", "+",  "-",  "*",  "/",  "%",
        "^",   "&",   "|",   "~",   "!",  "=",  "<",  ">",  ",",
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (starts(s, e, ops[i]))
            return strlen(ops[i]);
    return 0;
}

/*
 * End (one past the closer) of the bracket group opening at s, or NULL
 * when it does not close inside [s, e). Parentheses, square brackets and
 * braces count only their own kind; angle brackets skip the other groups
 * whole and operator names.
 */
static const char *group_end(const char *begin, const char *s, const char *e,
                             int depth)
{
    if (depth > SIMPLIFY_MAX_DEPTH)
        return NULL;
    char open = *s, close;
    switch (open) {
    case '(':
        close = ')';
        break;
    case '[':
        close = ']';
        break;
    case '{':
        close = '}';
        break;
    case '<':
        close = '>';
        break;
    default:
        return NULL;
    }
    int level = 0;
    for (const char *p = s; p < e; p++) {
        if (open == '<') {
            if (at_operator(begin, p, e)) {
                p += 8;
                p += op_symbol(p, e);
                p--;
                continue;
            }
            if (*p == '(' || *p == '[' || *p == '{') {
                const char *g = group_end(begin, p, e, depth + 1);
                if (!g)
                    return NULL;
                p = g - 1;
                continue;
            }
            if (*p == ')' || *p == ']' || *p == '}')
                return NULL;
        }
        if (*p == open)
            level++;
        else if (*p == close && --level == 0)
            return p + 1;
    }
    return NULL;
}

/* Past the qualifiers that may follow a parameter list at s. */
static const char *quals_end(const char *s, const char *e)
{
    static const char *const quals[] = {
        " const", " volatile", " restrict",         " &&",
        " &",     " noexcept", " transaction_safe",
    };
    for (;;) {
        size_t i, n = sizeof(quals) / sizeof(quals[0]);
        for (i = 0; i < n; i++) {
            size_t len = strlen(quals[i]);
            if (starts(s, e, quals[i]) &&
                (s + len == e || !is_ident(s[len]) || quals[i][1] == '&')) {
                s += len;
                break;
            }
        }
        if (i == n)
            return s;
    }
}

/* Start of the qualifiers ending a parameter list that ends at e. */
static const char *quals_start(const char *s, const char *e)
{
    static const char *const quals[] = {
        " const", " volatile", " restrict",         " &&",
        " &",     " noexcept", " transaction_safe",
    };
    for (;;) {
        size_t i, n = sizeof(quals) / sizeof(quals[0]);
        for (i = 0; i < n; i++) {
            size_t len = strlen(quals[i]);
            if ((size_t)(e - s) >= len && memcmp(e - len, quals[i], len) == 0) {
                e -= len;
                break;
            }
        }
        if (i == n)
            return e;
    }
}

/* Is the group ending at g the parameter list of an enclosing function,
 * that is, followed by qualifiers and "::"? Sets *q past the qualifiers. */
static bool enclosing(const char *g, const char *e, const char **q)
{
    *q = quals_end(g, e);
    return starts(*q, e, "::");
}

/* Where a conversion operator's type that starts at s ends: before the
 * parameter list of an enclosing function, before a ',' (inside a
 * list), or at e. */
static const char *conv_end(const char *begin, const char *s, const char *e,
                            int depth)
{
    for (const char *p = s; p < e;) {
        if (*p == ',')
            return p;
        if (*p == '(' && starts(p, e, "(anonymous namespace)")) {
            p += 21;
            continue;
        }
        if (*p == '(' || *p == '<' || *p == '[' || *p == '{') {
            const char *g = group_end(begin, p, e, depth + 1);
            const char *q;
            if (!g)
                return NULL;
            if (*p == '(' && enclosing(g, e, &q))
                return p;
            p = g;
            continue;
        }
        p++;
    }
    return e;
}

/*
 * Copy [s, e) simplified into b. drop_ret: the text before a space at
 * this level is a return type (the top of a function's name); otherwise
 * spaces are part of the text (types, "{unnamed type#1}").
 */
static void emit(struct sbuf *b, const char *begin, const char *s,
                 const char *e, bool drop_ret, int depth)
{
    size_t mark = b->n;
    if (depth > SIMPLIFY_MAX_DEPTH) {
        b->bad = true;
        return;
    }
    while (s < e && !b->bad) {
        char c = *s;
        if (c == '(' && starts(s, e, "(anonymous namespace)")) {
            puts_(b, "(anonymous namespace)");
            s += 21;
        } else if (at_operator(begin, s, e)) {
            puts_(b, "operator");
            s += 8;
            size_t n = op_symbol(s, e);
            if (n) {
                put(b, s, n);
                s += n;
                /* "operator< <int>": the space only separates the
                 * template arguments, which go */
                if (starts(s, e, " <"))
                    s++;
                continue;
            }
            if (s < e && *s == ' ') {
                const char *w = s + 1;
                if (starts(w, e, "new") || starts(w, e, "delete") ||
                    starts(w, e, "\"\"") || starts(w, e, "co_await")) {
                    /* operator new[], operator"" _x: plain words */
                    put(b, s, 1);
                    s++;
                    continue;
                }
                /* a conversion operator: its type, simplified */
                const char *t = conv_end(begin, w, e, depth);
                if (!t) {
                    b->bad = true;
                    return;
                }
                puts_(b, " ");
                emit(b, begin, w, t, false, depth + 1);
                s = t;
            } else if (starts(s, e, "\"\"")) {
                /* operator"" _km */
                put(b, s, 2);
                s += 2;
                if (s < e && *s == ' ') {
                    put(b, s, 1);
                    s++;
                }
            }
        } else if (c == '(' || c == '{' || c == '[' || c == '<') {
            const char *g = group_end(begin, s, e, depth);
            const char *q;
            if (!g) {
                b->bad = true;
                return;
            }
            if (c == '<') {
                /* template arguments: gone */
            } else if (c == '[') {
                put(b, s, (size_t)(g - s)); /* [abi:cxx11] */
            } else if (c == '(' && enclosing(g, e, &q)) {
                /* "outer(int, char*) const::x" -> "outer() const::x" */
                puts_(b, "()");
                put(b, g, (size_t)(q - g));
                g = q;
            } else {
                /* parameter types of a lambda or a thunk, a function
                 * type, "{lambda(int)#1}", "{unnamed type#1}" */
                put(b, s, 1);
                emit(b, begin, s + 1, g - 1, false, depth + 1);
                put(b, g - 1, 1);
            }
            s = g;
        } else if (c == ')' || c == '}' || c == ']' || c == '>') {
            b->bad = true; /* a closer with no opener */
            return;
        } else if (c == ' ' && drop_ret) {
            b->n = mark; /* what came before was the return type */
            if (b->p)
                b->p[b->n] = '\0';
            s++;
        } else {
            put(b, s, 1);
            s++;
        }
    }
}

/* Special names (libiberty's cp-demangle.c d_special_name) keep their
 * prefix. What follows a thunk's or a transaction clone's prefix is a
 * whole function, which pprof's demangler prints with its parameters. */
static const char *const special_keep_params[] = {
    "non-virtual thunk to ",      "virtual thunk to ",
    "covariant return thunk to ", "transaction clone for ",
    "non-transaction clone for ",
};
static const char *const special_plain[] = {
    "vtable for ",
    "VTT for ",
    "construction vtable for ",
    "typeinfo for ",
    "typeinfo name for ",
    "typeinfo fn for ",
    "guard variable for ",
    "TLS init function for ",
    "TLS wrapper function for ",
    "hidden alias for ",
    "template parameter object for ",
    "reference temporary #",
};

/*
 * A function returning a pointer to a function or a reference to an
 * array is printed as a declarator around its name and parameters:
 * "int (*f<int>(int))(double)", "char const (&std::forward<...>(...)) [2]".
 * Returns the group "(*f<int>(int))" when [s, e) has that shape, that is
 * when its first parenthesis at depth 0 follows a space and opens with
 * '*' or '&'; NULL otherwise.
 */
static const char *declarator(const char *begin, const char *s, const char *e,
                              const char **gend)
{
    for (const char *p = s; p < e;) {
        if (at_operator(begin, p, e))
            return NULL; /* "operator int (*)()" is a conversion */
        if (*p == '(' && starts(p, e, "(anonymous namespace)")) {
            p += 21;
            continue;
        }
        if (*p == '<' || *p == '[' || *p == '{' || *p == '(') {
            const char *g = group_end(begin, p, e, 0);
            if (!g)
                return NULL;
            if (*p == '(') {
                if (p > s && p[-1] == ' ' && (p[1] == '*' || p[1] == '&')) {
                    *gend = g;
                    return p;
                }
                return NULL;
            }
            p = g;
            continue;
        }
        p++;
    }
    return NULL;
}

static void simplify(struct sbuf *b, const char *name, const char *s,
                     const char *e, enum cp_sym_simplify_kind kind, int depth);

char *cp_sym_simplify(const char *name, enum cp_sym_simplify_kind kind)
{
    if (!name)
        return NULL;
    size_t len = strlen(name);
    if (len == 0 || len > SIMPLIFY_MAX_LEN)
        return NULL;
    struct sbuf b = {0};
    simplify(&b, name, name, name + len, kind, 0);
    if (b.bad || !b.p || strcmp(b.p, name) == 0) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static void simplify(struct sbuf *b, const char *name, const char *s,
                     const char *e, enum cp_sym_simplify_kind kind, int depth)
{
    if (depth > SIMPLIFY_MAX_DEPTH) {
        b->bad = true;
        return;
    }

    /* clone suffixes: "f(int) [clone .isra.0] [clone .cold]" */
    while (e > s && e[-1] == ']') {
        const char *c = e - 1;
        while (c > s && *c != '[')
            c--;
        if (c - s >= 1 && c[-1] == ' ' && starts(c, e, "[clone "))
            e = c - 1;
        else
            break;
    }

    for (size_t i = 0; i < sizeof(special_keep_params) / sizeof(char *); i++) {
        if (starts(s, e, special_keep_params[i])) {
            size_t n = strlen(special_keep_params[i]);
            put(b, s, n);
            emit(b, name, s + n, e, false, 0);
            goto out;
        }
    }
    for (size_t i = 0; i < sizeof(special_plain) / sizeof(char *); i++) {
        if (starts(s, e, special_plain[i])) {
            const char *p = s + strlen(special_plain[i]);
            if (i == sizeof(special_plain) / sizeof(char *) - 1) {
                /* "reference temporary #0 for x" */
                while (p < e && *p >= '0' && *p <= '9')
                    p++;
                if (!starts(p, e, " for ")) {
                    b->bad = true;
                    goto out;
                }
                p += 5;
            }
            put(b, s, (size_t)(p - s));
            emit(b, name, p, e, false, 0);
            goto out;
        }
    }

    /* the final parameter list: the group that closes just before the
     * trailing qualifiers */
    const char *head = e;
    const char *dend,
        *decl = kind == CP_SYM_DEMANGLED ? declarator(name, s, e, &dend) : NULL;
    if (decl) {
        const char *in = decl + 1;
        while (in < dend - 1 && (*in == '*' || *in == '&' || *in == ' '))
            in++;
        simplify(b, name, in, dend - 1, kind, depth + 1);
        goto out;
    }
    if (kind == CP_SYM_DEMANGLED) {
        const char *q = quals_start(s, e);
        if (q > s && q[-1] == ')') {
            int level = 0;
            const char *p = q;
            while (p > s) {
                p--;
                if (*p == ')')
                    level++;
                else if (*p == '(' && --level == 0)
                    break;
            }
            if (level != 0) {
                b->bad = true;
                goto out;
            }
            head = p;
        }
    }
    size_t start = b->n;
    emit(b, name, s, head, true, depth);
    /* what is left must look like a name, not a declarator */
    if (!b->bad &&
        (b->n == start || (b->p[start] == '(' &&
                           strncmp(b->p + start, "(anonymous namespace)", 21))))
        b->bad = true;

out:
    return;
}
