/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-path.h"
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

int cgroup_path_of_pid(const char *proc_root, pid_t pid, char **ret_path) {
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
