/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sym_basic.c - symbolizer fixture built twice: as a PIE and as a
 * non-PIE (-no-pie) executable, -O0 -g. Slot 0 is a call in
 * basic_target, slot 1 a call in main.
 */
#include "fixture.h"

int basic_target(int x) /* @basic_decl */
{
    int y = x * 2;
    record(0); /* @basic_call */
    return y + 1;
}

int main(void)
{
    int r = basic_target(20);
    record(1); /* @basic_main_call */
    return fixture_report() + (r != 41);
}
