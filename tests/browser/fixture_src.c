/* SPDX-License-Identifier: Apache-2.0 */
/* fixture_src.c - the source file the browser tests' synthetic profile
 * (gen_profiles.c) points at: the source view must show these lines with
 * the values the profile gives them. Never compiled. */
static volatile unsigned sink;

void hot_loop(int n) /* line 7 */
{
    for (int i = 0; i < n; i++)
        sink += i * 2654435761u; /* line 10: 400 samples */
    sink ^= sink >> 7;           /* line 11: 100 samples */
}

void helper(void) /* line 14 */
{
    sink++; /* line 16: 100 samples */
}

void compute(int n) /* line 19 */
{
    hot_loop(n); /* line 21 */
    helper();    /* line 22 */
}
