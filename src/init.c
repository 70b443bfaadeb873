/* SPDX-License-Identifier: Apache-2.0 */
/* init.c - placeholder while the runtime is written. */
extern int cp_placeholder_init;
