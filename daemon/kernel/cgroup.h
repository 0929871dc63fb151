/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which cgroup a process is in: its unified (cgroup2) hierarchy path, relative to the reader's
 * cgroup namespace root. The one file that includes <libcgroup.h>; its positive ECG* codes become
 * -errno here. libcgroup is asked first where it can answer, but libcgroup 2.0.2 cannot in the two
 * shapes this daemon meets: on a hybrid v1/v2 host cgroup_init() works yet resolves only v1
 * controller paths (a NULL controller, the unified one, fails with ECGOTHER), and in a
 * cgroup2-only container whose root has no controllers cgroup_init() fails with
 * ECGROUPNOTMOUNTED. The unified path is always on the "0::" line of /proc/PID/cgroup: that is
 * the fallback, and the only source when the proc root is not the real /proc (tests). */

#include <stdbool.h>
#include <sys/types.h>

/* Pure: finds the "0::" line in the text of a /proc/PID/cgroup file and returns its path
 * (newly allocated, starting with '/'). -ENODATA when there is none (a cgroup v1-only system),
 * -ENOENT when the kernel marks the cgroup " (deleted)" (the process is exiting and its cgroup
 * was removed), -EINVAL for a malformed line or a path that is not absolute. */
int cgroup_path_from_proc_text(const char *text, char **ret_path);

/* Reads <proc_root>/<pid>/cgroup. -ESRCH when the process is gone. */
int cgroup_path_of_pid_from_proc(const char *proc_root, pid_t pid, char **ret_path);

/* What libcgroup says: the unified path (controller NULL) or a v1 controller's; -errno when it
 * cannot say (see above). Reads the real /proc. */
int cgroup_path_of_pid_libcgroup(pid_t pid, const char *controller, char **ret_path);

/* The unified path of pid: libcgroup when proc_root is "/proc" and it works, else the "0::"
 * line under proc_root. -ESRCH when the process is gone, -ENODATA on a v1-only system. */
int cgroup_path_of_pid(const char *proc_root, pid_t pid, char **ret_path);

/* libcgroup's error code (ECG*, 50000 and up; ECGOTHER: see last_errno) as -errno. Pure. */
int cgroup_errno_from_ecg(int ecg, int last_errno);
