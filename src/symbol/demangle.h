/* SPDX-License-Identifier: Apache-2.0 */
/*
 * demangle.h - C++ names as go tool pprof shows them by default.
 *
 * pprof demangles a profile's names with github.com/ianlancetaylor/demangle
 * and the options NoParams, NoEnclosingParams and NoTemplateParams:
 * "std::vector::operator[]" rather than "std::vector<int,
 * std::allocator<int> >::operator[](unsigned long)". cprof writes its
 * names already demangled (so every pprof-speaking tool shows them), so
 * it must write that simplified form itself; the mangled name stays in
 * system_name. The rules and what is kept: docs/internals/symbolize.md.
 *
 * Pure string functions: no global state, never in signal context.
 * Thread-safe: yes.
 */
#ifndef CP_SYM_DEMANGLE_H
#define CP_SYM_DEMANGLE_H

/* What the name handed to cp_sym_simplify is. */
enum cp_sym_simplify_kind {
    /* __cxa_demangle's output for a mangled name: return type, template
     * arguments, parameters, qualifiers and clone suffixes all present */
    CP_SYM_DEMANGLED = 0,
    /* a qualified name with no parameter list of its own, such as the
     * symbolizer builds from DWARF scopes ("ns::Grid<double, 64>::step",
     * "main::operator()"): a trailing "()" belongs to the name */
    CP_SYM_SCOPED = 1,
};

/*
 * The simplified form of a C++ name, as pprof's default demangling prints
 * it: no return type, no parameters (an enclosing function of a local
 * name keeps an empty "()" and its qualifiers, as pprof does), no
 * template arguments, no clone suffixes; operators, conversion operators,
 * "(anonymous namespace)", "{lambda(int)#1}" (its parameter types
 * simplified), "{unnamed type#1}", destructors and ABI tags kept. Special
 * names ("vtable for X", "non-virtual thunk to X(int)") keep their prefix
 * and, like pprof's, a thunk keeps its target's parameter list.
 *
 * Returns a malloc'd string (caller frees), or NULL when the name does
 * not parse as expected (unbalanced brackets, unusual shapes), when
 * nothing would change, or on ENOMEM: the caller then keeps the full name.
 */
char *cp_sym_simplify(const char *name, enum cp_sym_simplify_kind kind);

#endif /* CP_SYM_DEMANGLE_H */
