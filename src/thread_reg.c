/* SPDX-License-Identifier: Apache-2.0 */
/* thread_reg.c - placeholder while the runtime is written. */
extern int cp_placeholder_thread_reg;
