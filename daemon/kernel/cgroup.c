/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <libcgroup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "fileio.h"
#include "macro.h"

/* One line per hierarchy; with every v1 controller mounted separately that is about a dozen
 * lines, each with a path of up to PATH_MAX. */
#define CGROUP_PROC_FILE_MAX_BYTES (64 * 1024)

/* What proc_cgroup_show() appends to the path of a removed cgroup2 cgroup. */
#define CGROUP_DELETED_SUFFIX " (deleted)"

int cgroup_path_from_proc_text(const char *text, char **ret_path) {
        const char *s = text;

        if (!text)
                return -EINVAL;

        while (*s) {
                const char *e = strchrnul(s, '\n');
                size_t len = (size_t) (e - s), sl = strlen(CGROUP_DELETED_SUFFIX);

                /* "hierarchy-ID:controller-list:path"; cgroup2 is "0::path". */
                if (len >= 3 && memcmp(s, "0::", 3) == 0) {
                        char *p;

                        s += 3;
                        len -= 3;
                        if (len == 0 || s[0] != '/')
                                return -EINVAL;
                        if (len >= sl && memcmp(e - sl, CGROUP_DELETED_SUFFIX, sl) == 0)
                                return -ENOENT;
                        p = strndup(s, len);
                        if (!p)
                                return -ENOMEM;
                        *ret_path = p;
                        return 0;
                }
                s = *e ? e + 1 : e;
        }
        return -ENODATA;
}

int cgroup_path_of_pid_from_proc(const char *proc_root, pid_t pid, char **ret_path) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        if (!proc_root || pid <= 0)
                return -EINVAL;
        if (asprintf(&path, "%s/%d/cgroup", proc_root, (int) pid) < 0) {
                path = NULL; /* undefined after a failed asprintf() */
                return -ENOMEM;
        }
        r = read_virtual_file(path, CGROUP_PROC_FILE_MAX_BYTES, &text);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        return cgroup_path_from_proc_text(text, ret_path);
}

int cgroup_errno_from_ecg(int ecg, int last_errno) {
        if (ecg == 0)
                return 0;
        if (ecg < 0) /* some calls return a plain -errno */
                return ecg;
        switch (ecg) {
        case ECGOTHER: /* "see errno" */
                return last_errno > 0 ? -last_errno : -EIO;
        case ECGROUPNOTCOMPILED:
        case ECGROUPUNSUPP:
                return -EOPNOTSUPP;
        case ECGROUPNOTMOUNTED:
        case ECGROUPSUBSYSNOTMOUNTED:
                return -ENOMEDIUM;
        case ECGROUPNOTEXIST:
                return -ENOENT;
        case ECGROUPNOTOWNER:
        case ECGROUPNOTALLOWED:
                return -EACCES;
        case ECGROUPNOTINITIALIZED:
                return -EBADFD;
        case ECGINVAL:
                return -EINVAL;
        case ECGROUPPARSEFAIL:
                return -EBADMSG;
        default:
                return -EIO;
        }
}

/* libcgroup keeps its mount table in process-wide state: initialise it once, and remember a
 * failure instead of rescanning /proc/mounts for every client. 0: not tried, 1: ok, <0: -errno. */
static int libcgroup_state;

static int libcgroup_init_once(void) {
        if (libcgroup_state == 0) {
                int r = cgroup_init();
                libcgroup_state = r == 0 ? 1 : cgroup_errno_from_ecg(r, cgroup_get_last_errno());
        }
        return libcgroup_state < 0 ? libcgroup_state : 0;
}

int cgroup_path_of_pid_libcgroup(pid_t pid, const char *controller, char **ret_path) {
        char *path = NULL;
        int r;

        if (pid <= 0)
                return -EINVAL;
        r = libcgroup_init_once();
        if (r < 0)
                return r;
        r = cgroup_get_current_controller_path(pid, controller, &path);
        if (r != 0) {
                free(path);
                return cgroup_errno_from_ecg(r, cgroup_get_last_errno());
        }
        if (!path || path[0] != '/') {
                free(path);
                return -EBADMSG;
        }
        *ret_path = path;
        return 0;
}

/* Whether libcgroup answered a unified-path question once: if it could not, it will not later
 * either (its answer depends on the mounts, not on the pid), so stop asking. */
static bool libcgroup_unified_broken;

int cgroup_path_of_pid(const char *proc_root, pid_t pid, char **ret_path) {
        if (!proc_root || pid <= 0)
                return -EINVAL;
        if (streq(proc_root, "/proc") && !libcgroup_unified_broken) {
                int r = cgroup_path_of_pid_libcgroup(pid, NULL, ret_path);

                if (r >= 0)
                        return r;
                if (r != -ESRCH && r != -ENOENT)
                        libcgroup_unified_broken = true;
        }
        return cgroup_path_of_pid_from_proc(proc_root, pid, ret_path);
}
