// SPDX-License-Identifier: Apache-2.0
//
// heap_cxx.cc - C++ allocation through every form of operator new and
// delete (plain, array, nothrow, aligned, sized), std containers,
// std::bad_alloc on failure, nothrow returning nullptr, and the
// new_handler, with the heap profiler interposing them. With
// CPROF_HEAP_RATE=1 check_heap.py expects exact counts per site.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

extern "C" {
#include "heap_common.h"
}

namespace {

struct Obj {
    char b[40];
};
struct alignas(64) Al64 {
    char b[128];
};

constexpr int K = 10;

} // namespace

__attribute__((noinline)) Obj *x_new() { return new Obj(); }
__attribute__((noinline)) char *x_new_array() { return new char[300](); }
__attribute__((noinline)) Obj *x_nothrow() { return new (std::nothrow) Obj(); }
__attribute__((noinline)) Al64 *x_aligned() { return new Al64(); }
__attribute__((noinline)) Al64 *x_aligned_array() { return new Al64[3](); }
__attribute__((noinline)) std::vector<int> *x_vector()
{
    auto *v = new std::vector<int>();
    v->resize(1000); // 4000 bytes in the vector's own allocation
    return v;
}

static bool handler_called;
static void handler()
{
    handler_called = true;
    std::set_new_handler(nullptr); // next failure throws
}

int main()
{
    static Obj *o[K];
    static char *a[K];
    static Obj *nt[K];
    static Al64 *al[K];
    static Al64 *ala[K];
    static std::vector<int> *vec[K];

    for (int i = 0; i < K; i++) {
        o[i] = x_new();
        a[i] = x_new_array();
        nt[i] = x_nothrow();
        al[i] = x_aligned();
        ala[i] = x_aligned_array();
        vec[i] = x_vector();
        HEAP_CHECK(o[i] && a[i] && nt[i] && al[i] && ala[i] && vec[i]);
        HEAP_CHECK(reinterpret_cast<uintptr_t>(al[i]) % 64 == 0);
        HEAP_CHECK(reinterpret_cast<uintptr_t>(ala[i]) % 64 == 0);
    }
    // every delete form on blocks of every kind
    for (int i = 0; i < 100; i++) {
        delete new Obj();                        // sized delete
        delete[] new char[i + 1];                // array delete
        delete new Al64();                       // aligned (sized) delete
        delete[] new Al64[2];                    // aligned array delete
        ::operator delete(::operator new(10));   // plain
        ::operator delete(::operator new(10, std::nothrow), std::nothrow);
        ::operator delete(::operator new(64, std::align_val_t(128)),
                          std::align_val_t(128));
        std::string s(1000, 'x');                // std::allocator
        HEAP_CHECK(s.size() == 1000);
    }
    // failure: bad_alloc, nothrow nullptr, the new_handler (not under
    // valgrind, whose operator new cannot throw and aborts instead)
    if (std::getenv("HEAPT_VALGRIND"))
        goto done;
    {
    bool threw = false;
    try {
        volatile size_t huge = (size_t)1 << 62;
        char *p = new char[huge];
        p[0] = 1;
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    HEAP_CHECK(threw);
    volatile size_t huge = (size_t)1 << 62;
    HEAP_CHECK(::operator new(huge, std::nothrow) == nullptr);
    HEAP_CHECK(::operator new(huge, std::align_val_t(64), std::nothrow) ==
               nullptr);
    std::set_new_handler(handler);
    threw = false;
    try {
        void *p = ::operator new(huge);
        std::printf("%p\n", p);
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    HEAP_CHECK(threw && handler_called);
    }
done:

    heap_truth_site("x_new", K, K * 40, K, K * 40);
    heap_truth_site("x_new_array", K, K * 300, K, K * 300);
    heap_truth_site("x_nothrow", K, K * 40, K, K * 40);
    heap_truth_site("x_aligned", K, K * 128, K, K * 128);
    heap_truth_site("x_aligned_array", K, K * 384, K, K * 384);
    heap_write_profiles();
    if (std::getenv("HEAPT_FREE_ALL")) {
        for (int i = 0; i < K; i++) {
            delete o[i];
            delete[] a[i];
            delete nt[i];
            delete al[i];
            delete[] ala[i];
            delete vec[i];
        }
    }
    return 0;
}
