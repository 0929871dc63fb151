/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

int read_virtual_file(const char *path, size_t max_bytes, char **ret_text) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;

        if (max_bytes == 0 || max_bytes == SIZE_MAX)
                return -EINVAL;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();

        /* One byte more than allowed, to tell "exactly max_bytes" from "more". */
        buf = malloc(max_bytes + 2);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                ssize_t l = read(fd, buf + size, max_bytes + 1 - size);

                if (l < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (l == 0)
                        break;
                size += (size_t) l;
                if (size > max_bytes)
                        return -EFBIG;
        }

        if (memchr(buf, 0, size))
                return -EBADMSG;
        buf[size] = 0;
        *ret_text = TAKE_PTR(buf);
        return 0;
}
