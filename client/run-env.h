/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What uffdtier-run tells its preload library, through the environment (so that the library
 * works the same from a systemd unit's Environment= as from the launcher): docs/uffdtier-run.1. */

/* The preload library's file name (installed in the library directory). */
#define RUN_PRELOAD_NAME "libuffdtier-preload.so"

#define RUN_ENV_NAME "UFFDTIER_NAME" /* the client name; default: the program's name */
/* Labels for the followed ranges, "key=value" separated by commas (so a label given this way
 * cannot contain a comma). */
#define RUN_ENV_LABELS "UFFDTIER_LABELS"
#define RUN_ENV_MIN_RANGE "UFFDTIER_MIN_RANGE" /* a size: "1M", "512K", "4096" */
#define RUN_ENV_QUIET "UFFDTIER_QUIET" /* "1": nothing on stderr */
#define RUN_ENV_NO_CHILDREN "UFFDTIER_NO_CHILDREN" /* "1": take the preload out of LD_PRELOAD */
/* The launcher's own: the preload library to use instead of the installed one (tests). */
#define RUN_ENV_PRELOAD "UFFDTIER_PRELOAD"
