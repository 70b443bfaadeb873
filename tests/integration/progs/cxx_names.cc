// SPDX-License-Identifier: Apache-2.0
//
// cxx_names.cc - a C++ workload whose hot frames have the names that make
// demangled C++ long: std::sort and std::map internals (templates over
// iterators and allocators), a class template's member, an operator(),
// a lambda, a function in an anonymous namespace, an overloaded operator
// and a destructor. tests/integration/cxx_names.cmake profiles it and
// checks that profiles carry pprof's simplified names ("std::sort",
// "cxn::Grid::step", "main::{lambda(int)#1}::operator()") with the
// mangled name in system_name.
//
// Usage: cxx_names SECONDS
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace cxn {

template <typename T, int N> struct Grid {
    std::vector<T> cells = std::vector<T>(N * N);
    __attribute__((noinline)) T step(T k)
    {
        T acc = 0;
        for (int i = 0; i < N * N; i++) {
            cells[i] = cells[i] * 3 + k + (T)i;
            acc += cells[i];
        }
        return acc;
    }
};

struct Key {
    std::string s;
    __attribute__((noinline)) bool operator<(const Key &o) const
    {
        return s < o.s;
    }
};

struct Hasher {
    unsigned long seed;
    __attribute__((noinline)) unsigned long operator()(unsigned long x) const
    {
        for (int i = 0; i < 64; i++)
            x = (x ^ seed) * 0x9e3779b97f4a7c15ULL + (x >> 29);
        return x;
    }
};

} // namespace cxn

namespace {

__attribute__((noinline)) unsigned long sort_round(std::vector<int> &v,
                                                   unsigned long seed)
{
    for (auto &x : v) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        x = (int)(seed >> 33);
    }
    std::sort(v.begin(), v.end());
    return seed;
}

} // namespace

__attribute__((noinline)) static unsigned long map_round(int n)
{
    std::map<cxn::Key, int> m;
    for (int i = 0; i < n; i++) {
        char b[32];
        snprintf(b, sizeof(b), "key-%d-%d", (i * 7919) % n, i);
        m[cxn::Key{b}] += i;
    }
    unsigned long t = 0;
    for (auto &kv : m)
        t += (unsigned long)kv.second;
    return t;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    auto end = std::chrono::steady_clock::now() +
               std::chrono::duration<double>(secs);
    std::vector<int> v(20000);
    cxn::Grid<double, 64> g;
    cxn::Hasher h{12345};
    unsigned long seed = 1, sink = 0;
    auto mix = [&](int rounds) __attribute__((noinline))
    {
        unsigned long x = seed;
        for (int i = 0; i < rounds; i++)
            x = h(x + (unsigned long)i);
        return x;
    };
    while (std::chrono::steady_clock::now() < end) {
        seed = sort_round(v, seed);
        sink += map_round(3000);
        for (int r = 0; r < 100; r++)
            sink += (unsigned long)g.step(1.0);
        sink += mix(2000);
    }
    printf("%lu\n", sink & 1);
    return 0;
}
