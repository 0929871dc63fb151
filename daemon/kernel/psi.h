/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Pressure stall information: how much wall time tasks spent stalled on memory. The daemon backs
 * off evicting from a cgroup whose memory pressure is up. Parsing is pure; the readers take the
 * roots as parameters so tests can point them at a fake tree. */

#include <stdbool.h>
#include <stdint.h>

/* The kernel prints "%lu.%02lu" percentages: kept as per-myriad (hundredths of a percent) so
 * that they stay integers. */
typedef struct PsiLine {
        unsigned avg10_permyriad; /* 0..10000, e.g. 123 = 1.23 % over the last 10 s */
        unsigned avg60_permyriad;
        unsigned avg300_permyriad;
        uint64_t total_usec; /* cumulative stall time */
} PsiLine;

typedef struct PsiStats {
        PsiLine some; /* at least one task stalled */
        PsiLine full; /* all non-idle tasks stalled at once; zero when has_full is false */
        bool has_full;
} PsiStats;

/* Parses "some avg10=1.23 avg60=0.50 avg300=0.10 total=12345\nfull avg10=...". The "some" line
 * is required, "full" optional (system-wide CPU pressure lacked it before 5.13); each needs
 * avg10, avg60, avg300 and total exactly once, in any order; unknown keys are ignored, unknown
 * lines are not. -EINVAL for malformed text, -ERANGE for a percentage above 100.00 or a total
 * beyond 64 bits. */
int psi_parse(const char *text, PsiStats *ret);

/* Reads and parses a pressure file. Besides open/read errors: -EOPNOTSUPP when PSI is disabled
 * (psi=0 on the command line, or cgroup.pressure set to 0 for that cgroup). */
int psi_read_file(const char *path, PsiStats *ret);
/* <cgroup_root><cgroup_path>/memory.pressure. cgroup_root is the cgroup2 mount
 * ("/sys/fs/cgroup", "/sys/fs/cgroup/unified" on hybrid systems), cgroup_path as in
 * /proc/PID/cgroup ("/" for the root). -EINVAL for a relative path or one with ".." in it. */
int psi_read_cgroup(const char *cgroup_root, const char *cgroup_path, PsiStats *ret);
/* <proc_root>/pressure/memory. */
int psi_read_system(const char *proc_root, PsiStats *ret);
/* <proc_root>/pressure/cpu: tasks that waited for a CPU (eviction's pace, pace.h). */
int psi_read_system_cpu(const char *proc_root, PsiStats *ret);
