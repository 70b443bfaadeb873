/* SPDX-License-Identifier: Apache-2.0 */
/*
 * heap_dlopen_lib.c - a library heap_dlopen loads with dlopen and unloads
 * with dlclose before the profile is written: its allocation site must
 * still be named, and its mapping carry the library's build ID.
 */
#include "heap_common.h"

HEAP_SITE(dl_site)
