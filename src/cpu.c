/* SPDX-License-Identifier: Apache-2.0 */
/* cpu.c - placeholder while the runtime is written. */
extern int cp_placeholder_cpu;
