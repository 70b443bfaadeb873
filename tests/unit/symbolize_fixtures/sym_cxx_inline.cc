// SPDX-License-Identifier: Apache-2.0
// sym_cxx_inline.cc - symbolizer fixture in C++ built -O2: a constructor
// and a lambda inlined into main. Inlined C++ code often has no linkage
// name in its DWARF, so names must come from the scopes around it.
#include "fixture.h"

namespace app {

struct Acc {
    int v[8];
    explicit Acc(int n) // @acc_decl
    {
        for (int i = 0; i < 8; i++)
            v[i] = n + i;
        record(0); // @acc_call
    }
};

} // namespace app

int main()
{
    app::Acc a(3); // @main_acc
    auto twice = [&](int k) {
        record(1); // @lambda_call
        return k + a.v[7];
    };
    int r = twice(4); // @main_lambda
    return fixture_report() + (r != 14);
}
