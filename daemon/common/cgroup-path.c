/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "cgroup-path.h"
#include "macro.h"

const char *cgroup_path_unit(const char *path) {
        const char *last, *dot;

        if (!path)
                return "";
        last = strrchr(path, '/');
        last = last ? last + 1 : path;
        dot = strrchr(last, '.');
        if (!dot || dot == last || (!streq(dot, ".service") && !streq(dot, ".scope")))
                return "";
        return last;
}
