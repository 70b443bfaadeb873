/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder */
extern int cp_placeholder_gz;
