// SPDX-License-Identifier: Apache-2.0
// sym_cxx.cc - symbolizer fixture in C++ (-O0 -g): a member function in a
// namespace (slot 0), a function template (slot 1) and a lambda (slot 2),
// whose names must come out demangled with the mangled name as system
// name.
#include "fixture.h"

namespace ns {

struct Widget {
    int base;
    int spin(int x);
};

int Widget::spin(int x) // @cxx_decl
{
    record(0); // @cxx_call
    return base + x;
}

template <typename T> T twice(T v)
{
    record(1); // @cxx_tmpl_call
    return v + v;
}

} // namespace ns

int main()
{
    ns::Widget w{1};
    int r = w.spin(2) + ns::twice<int>(3);
    auto add = [&](int k) {
        record(2); // @cxx_lambda_call
        return k + r;
    };
    r = add(0);
    return fixture_report() + (r != 9);
}
