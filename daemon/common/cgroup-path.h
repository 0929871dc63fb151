/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Pure functions of a cgroup path (no I/O). */

/* The systemd unit a cgroup path ends in ("foo.service", "run-u7.scope"), "" when it ends in
 * none (or path is NULL). Points into path. */
const char *cgroup_path_unit(const char *path);
