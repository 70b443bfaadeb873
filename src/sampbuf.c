/* SPDX-License-Identifier: Apache-2.0 */
/* sampbuf.c - placeholder while the runtime is written. */
extern int cp_placeholder_sampbuf;
