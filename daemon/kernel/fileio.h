/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading the small text files of /proc, /sys and cgroupfs. */

#include <stddef.h>

/* Reads a whole file of at most max_bytes into a NUL-terminated string. Loops on read(2) rather
 * than trusting st_size, which is 0 (procfs) or 4096 (sysfs) for generated files. -EFBIG when the
 * file is larger than max_bytes, -EBADMSG when it contains a NUL byte, else open/read's -errno. */
int read_virtual_file(const char *path, size_t max_bytes, char **ret_text);
