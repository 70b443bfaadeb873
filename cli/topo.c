/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder */
#include "cli.h"
int cp_cmd_topo(int argc, char **argv) { return cp_die("topo: not yet"); }
