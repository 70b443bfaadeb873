/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_demangle.c - C++ names simplified to the form go tool pprof shows
 * by default (demangle.h): mangled names through __cxa_demangle and
 * cp_sym_simplify, compared with what github.com/ianlancetaylor/demangle
 * prints with pprof's options (NoParams, NoEnclosingParams,
 * NoTemplateParams); demangled text that must fall back to the full name;
 * DWARF-qualified names; and random and garbled input, which must never
 * crash nor grow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "symbol/demangle.h"
#include "symbol/sym_int.h"

/* Mangled name -> what demangle.Filter(name, NoParams, NoEnclosingParams,
 * NoTemplateParams) prints (github.com/ianlancetaylor/demangle at
 * 2d64ad6, the options of google/pprof's internal/symbolizer for its
 * default mode). Names come from libstdc++, a std::sort/std::map program
 * built by g++ 12 -O2 (clone suffixes), and the demangle package's tests. */
static const struct {
    const char *mangled, *want;
} mangled_cases[] = {
    {"_ZN2ns5twiceIiEET_S1_", "ns::twice"},
    {"_ZZ4mainENKUliE_clEi", "main::{lambda(int)#1}::operator()"},
    {"_ZNKSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE7compareERKS4_",
     "std::__cxx11::basic_string::compare"},
    {"_ZN12_GLOBAL__N_13fooEv", "(anonymous namespace)::foo"},
    {"_ZZ3foovENKUlvE_clEv", "foo()::{lambda()#1}::operator()"},
    {"_ZNSt6vectorIiSaIiEEixEm", "std::vector::operator[]"},
    {"_ZN3FooD2Ev", "Foo::~Foo"},
    {"_ZN3FoocvbEv", "Foo::operator bool"},
    {"_ZN3FooltERKS_", "Foo::operator<"},
    {"_Znam", "operator new[]"},
    {"_ZdlPv", "operator delete"},
    {"_ZdaPv", "operator delete[]"},
    {"_ZN3Foo3barB5cxx11Ev", "Foo::bar[abi:cxx11]"},
    {"_ZSt16__introsort_loopIN9__gnu_cxx17__normal_"
     "iteratorIPiSt6vectorIiSaIiEEEElNS0_5__ops15_Iter_less_iterEEvT_S9_T0_T1_",
     "std::__introsort_loop"},
    {"_ZSt22__move_median_to_firstIN9__gnu_cxx17__normal_"
     "iteratorIPiSt6vectorIiSaIiEEEENS0_5__ops15_Iter_less_iterEEvT_S9_S9_S9_"
     "T0_",
     "std::__move_median_to_first"},
    {"_ZNSt8_Rb_treeIN3cxn3KeyESt4pairIKS1_iESt10_Select1stIS4_ESt4lessIS1_"
     "ESaIS4_EE24_M_get_insert_unique_posERS3_",
     "std::_Rb_tree::_M_get_insert_unique_pos"},
    {"_ZNSt8_Rb_treeIiSt4pairIKiiESt10_Select1stIS2_ESt4lessIiESaIS2_EE14_M_"
     "lower_boundEPSt13_Rb_tree_nodeIS2_EPSt18_Rb_tree_node_baseRS1_",
     "std::_Rb_tree::_M_lower_bound"},
    {"_ZN3cxn4GridIdLi64EE4stepEd", "cxn::Grid::step"},
    {"_ZNK3cxn6HasherclEm", "cxn::Hasher::operator()"},
    {"_ZNK3cxn3KeyltERKS0_", "cxn::Key::operator<"},
    {"_ZL9map_roundi", "map_round"},
    {"_ZltIiEbRK1AIT_ES4_", "operator<"},
    {"_ZgtIiEbRK1AIT_ES4_", "operator>"},
    {"_ZN1AIiEcviEv", "A::operator int"},
    {"_Z1fIiEPFivET_", "f"},
    {"_ZZ3fooIiEvT_ENKUlvE_clEv", "foo()::{lambda()#1}::operator()"},
    {"_ZZNKR1A1fEvENKUlvE_clEv", "A::f() const &::{lambda()#1}::operator()"},
    {"_ZZ1fvENUt_1gEv", "f()::{unnamed type#1}::g"},
    {"_ZZ3fooRKSt6vectorIiSaIiEEENKUlS3_E_clES3_",
     "foo()::{lambda(std::vector const&)#1}::operator()"},
    {"_ZNSt8functionIFviEEclEi", "std::function::operator()"},
    {"_ZN1AIXgtLi1ELi2EEE1fEv", "A::f"},
    {"_ZN5Outer5InnerIiE1fIlEEvT_", "Outer::Inner::f"},
    {"_ZZN12_GLOBAL__N_13foo3barEvE1x", "(anonymous namespace)::foo::bar()::x"},
    {"_ZN3fooIXadL_Z3barvEEE3bazEv", "foo::baz"},
    {"_ZNK3FooIiEcvPFivEEv", "Foo::operator int (*)()"},
    {"_Zli2_kmy", "operator\"\" _k"},
    {"_ZN1AssERKS_", "A::operator<=>"},
    {"_ZN1AptEv", "A::operator->"},
    {"_ZN1AlsEi", "A::operator<<"},
    {"_ZN1ArSEi", "A::operator>>="},
    {"_ZN1AclEv", "A::operator()"},
    {"_ZN1AixEi", "A::operator[]"},
    {"_ZN1AnwEm", "A::operator new"},
    {"_ZN1AdaEPv", "A::operator delete[]"},
    {"_ZThn8_N1D1gENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE",
     "non-virtual thunk to D::g(std::__cxx11::basic_string)"},
    {"_ZTv0_n24_N1V1fEi", "virtual thunk to V::f(int)"},
    {"_ZTV1D", "vtable for D"},
    {"_ZTI1D", "typeinfo for D"},
    {"_ZTS1D", "typeinfo name for D"},
    {"_ZGVZ3tfnIiET_S0_St6vectorIS0_SaIS0_EEE7counter",
     "guard variable for tfn()::counter"},
    {"_ZTH3tlsB5cxx11", "TLS init function for tls[abi:cxx11]"},
    {"_ZTW3tlsB5cxx11", "TLS wrapper function for tls[abi:cxx11]"},
    {"_ZSt7forwardIRA2_KcEOT_RNSt16remove_referenceIS3_E4typeE",
     "std::forward"},
    {"_ZN9__gnu_cxx13new_allocatorIcE8allocateEmPKv",
     "__gnu_cxx::new_allocator::allocate"},
    {"_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE9_M_createERmm",
     "std::__cxx11::basic_string::_M_create"},
    {"_ZNSt6thread11_State_implINS_8_InvokerISt5tupleIJZ3usevEUlvE_EEEEE6_M_"
     "runEv",
     "std::thread::_State_impl::_M_run"},
    {"_ZL9map_roundi.constprop.0", "map_round"},
    {"_ZZ4mainENKUliE_clEi.constprop.0", "main::{lambda(int)#1}::operator()"},
    {"_ZSt16__insertion_sortIN9__gnu_cxx17__normal_"
     "iteratorIPiSt6vectorIiSaIiEEEENS0_5__ops15_Iter_less_iterEEvT_S9_T0_."
     "isra.0",
     "std::__insertion_sort"},
    {"_ZL9map_roundi.constprop.0.cold", "map_round"},
};

static struct sym_demangler dem;

static void test_mangled(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(mangled_cases) / sizeof(mangled_cases[0]);
         i++) {
        char *full = sym_demangle(&dem, mangled_cases[i].mangled);
        if (!full)
            fail_msg("__cxa_demangle failed on %s", mangled_cases[i].mangled);
        char *got = cp_sym_simplify(full, CP_SYM_DEMANGLED);
        const char *name = got ? got : full;
        if (strcmp(name, mangled_cases[i].want) != 0)
            fail_msg("%s\n  full: %s\n  got:  %s\n  want: %s",
                     mangled_cases[i].mangled, full, name,
                     mangled_cases[i].want);
        free(got);
        free(full);
    }
}

/* Demangled text (as libiberty prints it) -> simplified; NULL: kept as it
 * is (cp_sym_simplify returns NULL). */
static const struct {
    const char *in, *want;
} text_cases[] = {
    /* already simple, or C */
    {"main", NULL},
    {"qsort", NULL},
    {"ns::f", NULL},
    {"foo()", "foo"},
    /* return types with spaces, pointers, templates */
    {"unsigned long long ns::g<int>(int)", "ns::g"},
    {"char const* std::h<char>(char const*)", "std::h"},
    {"std::pair<int, int> k<int>(int, long)", "k"},
    {"decltype (({parm#1}.begin)()) std::begin<std::vector<int> >"
     "(std::vector<int>&)",
     "std::begin"},
    /* qualifiers and clones */
    {"A::f() const &&", "A::f"},
    {"A::f() volatile", "A::f"},
    {"f(int) [clone .isra.0] [clone .cold]", "f"},
    {"f(int) [clone .constprop.0]", "f"},
    /* operators next to angle brackets */
    {"bool operator<< <int>(A<int> const&, int)", "operator<<"},
    {"X<int>::operator>>(int)", "X::operator>>"},
    {"X<int>::operator->*(int)", "X::operator->*"},
    {"X<((1)>(2))>::operator<=(X const&)", "X::operator<="},
    {"std::less<void>::operator()<int&, int&>(int&, int&) const",
     "std::less::operator()"},
    {"A::operator std::vector<int, std::allocator<int> >() const",
     "A::operator std::vector"},
    {"A::operator char const*()", "A::operator char const*"},
    {"operator delete[](void*, unsigned long)", "operator delete[]"},
    /* local names: enclosing functions keep "()" and qualifiers */
    {"outer(int, char const*)::{lambda(int)#1}::operator()(int) const",
     "outer()::{lambda(int)#1}::operator()"},
    {"void f<int>(int)::{lambda(std::vector<int> const&)#2}::operator()"
     "(std::vector<int> const&) const",
     "f()::{lambda(std::vector const&)#2}::operator()"},
    {"A::f() const::{unnamed type#1}::g()",
     "A::f() const::{unnamed type#1}::g"},
    {"(anonymous namespace)::B<int>::~B()", "(anonymous namespace)::B::~B"},
    {"(anonymous namespace)::T (anonymous namespace)::m<int>()",
     "(anonymous namespace)::m"},
    /* declarators around the name */
    {"int (*f<int>(int))(double)", "f"},
    {"char const (&g<int>(int)) [2]", "g"},
    /* special names */
    {"non-virtual thunk to D::g(std::basic_string<char>)",
     "non-virtual thunk to D::g(std::basic_string)"},
    {"vtable for std::vector<int>", "vtable for std::vector"},
    {"guard variable for f<int>(int)::x", "guard variable for f()::x"},
    {"reference temporary #0 for ns::v<int>",
     "reference temporary #0 for ns::v"},
    /* malformed: kept whole */
    {"", NULL},
    {"f<int(", NULL},
    {"f(int", NULL},
    {"f(int))", NULL},
    {"a>b(int)", NULL},
    {"std::vector<int>>::f()", NULL},
    {"x::{lambda(int)#1", NULL},
    {"f[abi:cxx11", NULL},
    {")(", NULL},
    {"(", NULL},
    {"<>", NULL},
    {"operator", NULL},
    {"reference temporary #x", NULL},
    {"int (*)(int)", NULL},
};

static void test_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
        char *got = cp_sym_simplify(text_cases[i].in, CP_SYM_DEMANGLED);
        const char *want = text_cases[i].want;
        if (want ? !got || strcmp(got, want) != 0 : got != NULL)
            fail_msg("\"%s\": got %s%s%s, want %s%s%s", text_cases[i].in,
                     got ? "\"" : "", got ? got : "NULL", got ? "\"" : "",
                     want ? "\"" : "", want ? want : "NULL", want ? "\"" : "");
        free(got);
    }
    assert_null(cp_sym_simplify(NULL, CP_SYM_DEMANGLED));
}

/* Names the symbolizer builds from DWARF scopes: no parameter list of
 * their own, so a trailing "()" is part of "operator()". */
static void test_scoped(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } c[] = {
        {"main::operator()", NULL},
        {"ns::Grid<double, 64>::step", "ns::Grid::step"},
        {"outer()::Box<int>::operator()", "outer()::Box::operator()"},
        {"twice<int>", "twice"},
        {"(anonymous namespace)::f", NULL},
        {"operator new[]", NULL},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char *got = cp_sym_simplify(c[i].in, CP_SYM_SCOPED);
        if (c[i].want) {
            assert_non_null(got);
            assert_string_equal(got, c[i].want);
        } else {
            assert_null(got);
        }
        free(got);
    }
}

/* xorshift64*: deterministic, so a failure reproduces */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 2685821657736338717ULL;
}

static void check_one(const char *in, enum cp_sym_simplify_kind kind)
{
    char *got = cp_sym_simplify(in, kind);
    if (got) {
        /* only ever removes: never longer than the input, never empty */
        if (strlen(got) > strlen(in) || !*got)
            fail_msg("\"%s\" -> \"%s\"", in, got);
        free(got);
    }
}

/* Random strings over the characters that matter, and real names with
 * characters deleted, duplicated or replaced: no crash, no growth. The
 * ASan build (make check-asan) runs this too. */
static void test_garbled(void **state)
{
    (void)state;
    static const char *const atoms[] = {
        "(",
        ")",
        "<",
        ">",
        "[",
        "]",
        "{",
        "}",
        " ",
        "::",
        "operator",
        "operator<",
        "()",
        "const",
        "&",
        "*",
        ",",
        "a",
        "std",
        "lambda",
        "#1",
        "[abi:",
        "[clone .cold]",
        "(anonymous namespace)",
        "vtable for ",
        "reference temporary #",
        "non-virtual thunk to ",
        "\"\"",
        "new",
        "~",
    };
    size_t natoms = sizeof(atoms) / sizeof(atoms[0]);
    char buf[512];
    for (int it = 0; it < 30000; it++) {
        size_t n = 0;
        int parts = (int)(rnd() % 24);
        for (int k = 0; k < parts; k++) {
            const char *a = atoms[rnd() % natoms];
            size_t l = strlen(a);
            if (n + l >= sizeof(buf))
                break;
            memcpy(buf + n, a, l);
            n += l;
        }
        buf[n] = '\0';
        check_one(buf, CP_SYM_DEMANGLED);
        check_one(buf, CP_SYM_SCOPED);
    }
    static const char punct[] = "()<>[]{} :,&*#~\"";
    for (size_t i = 0; i < sizeof(mangled_cases) / sizeof(mangled_cases[0]);
         i++) {
        char *full = sym_demangle(&dem, mangled_cases[i].mangled);
        if (!full)
            continue;
        size_t len = strlen(full);
        for (int it = 0; it < 300 && len > 0 && len < sizeof(buf) - 2; it++) {
            memcpy(buf, full, len + 1);
            size_t at = rnd() % len;
            switch (rnd() % 3) {
            case 0: /* delete */
                memmove(buf + at, buf + at + 1, len - at);
                break;
            case 1: /* duplicate */
                memmove(buf + at + 1, buf + at, len - at + 1);
                break;
            default: /* replace */
                buf[at] = punct[rnd() % (sizeof(punct) - 1)];
                break;
            }
            check_one(buf, CP_SYM_DEMANGLED);
        }
        free(full);
    }
    /* deep nesting of mixed brackets is refused, not recursed into
     * without bound; one kind alone is counted, not recursed */
    static char deep[8192];
    static const char opens[] = "{(", closes[] = "})";
    size_t n = 0;
    deep[n++] = 'f';
    for (int k = 0; k < 1000; k++)
        deep[n++] = opens[k % 2];
    for (int k = 999; k >= 0; k--)
        deep[n++] = closes[k % 2];
    deep[n] = '\0';
    assert_null(cp_sym_simplify(deep, CP_SYM_DEMANGLED));
    n = 1;
    for (int k = 0; k < 1500; k++)
        deep[n++] = '<';
    for (int k = 0; k < 1500; k++)
        deep[n++] = '>';
    deep[n] = '\0';
    char *got = cp_sym_simplify(deep, CP_SYM_DEMANGLED);
    assert_non_null(got);
    assert_string_equal(got, "f");
    free(got);
}

static int teardown(void **state)
{
    (void)state;
    sym_demangler_free(&dem);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mangled),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_scoped),
        cmocka_unit_test(test_garbled),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
