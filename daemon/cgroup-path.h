/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which cgroup a process is in, from /proc/PID/cgroup: the unified (cgroup2) hierarchy's line,
 * "0::/path". The path is relative to the reader's cgroup namespace root. */

#include <sys/types.h>

/* Pure: finds the "0::" line in the text of a /proc/PID/cgroup file and returns its path
 * (newly allocated, starting with '/'). -ENODATA when there is none (a cgroup v1-only system),
 * -ENOENT when the kernel marks the cgroup " (deleted)" (the process is exiting and its cgroup
 * was removed), -EINVAL for a malformed line or a path that is not absolute. */
int cgroup_path_from_proc_text(const char *text, char **ret_path);

/* Reads <proc_root>/<pid>/cgroup. -ESRCH when the process is gone. */
int cgroup_path_of_pid(const char *proc_root, pid_t pid, char **ret_path);
