/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sym_lib.c - symbolizer fixture: a shared library (-O0 -g -fPIC) the
 * test dlopens. lib_target keeps its own return address, since the
 * library has no record() of its own.
 */
static void *last;

__attribute__((noinline)) static void lib_record(void)
{
    last = __builtin_return_address(0);
}

int lib_target(int x) /* @lib_decl */
{
    lib_record(); /* @lib_call */
    return x + 5;
}

void *lib_last_return(void)
{
    return last;
}
