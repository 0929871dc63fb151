/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>

#include "macro.h"
#include "uapi.h"
#include "uffd-create.h"

/* USERFAULTFD_IOC_NEW takes the same flags as the syscall. */
static int create_dev(const char *dev_path, int flags) {
        _cleanup_close_ int dev = -EBADF;
        int fd;

        dev = open(dev_path, O_RDWR | O_CLOEXEC);
        if (dev < 0)
                return negative_errno();
        fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
        if (fd < 0)
                return negative_errno();
        return fd;
}

static int create_syscall(int flags) {
        int fd = (int) syscall(__NR_userfaultfd, flags);

        return fd < 0 ? negative_errno() : fd;
}

int uffd_create(const char *dev_path, UffdCreateFlags flags, UffdCreateInfo *ret_info) {
        bool umo = flags & UFFD_CREATE_USER_MODE_ONLY;
        int base = O_CLOEXEC | O_NONBLOCK, dev_error = 0, fd, r;
        UffdSource source;

        if (flags & ~_UFFD_CREATE_FLAGS_ALL)
                return -EINVAL;

        if (dev_path) {
                fd = create_dev(dev_path, base | (umo ? UFFD_USER_MODE_ONLY : 0));
                if (fd >= 0) {
                        source = UFFD_SOURCE_DEV;
                        goto done;
                }
                /* No node (before 6.1, or not in this mount namespace), no access to it, or an
                 * ioctl it does not know: the syscall may still work. */
                dev_error = fd;
        }

        source = UFFD_SOURCE_SYSCALL;
        fd = create_syscall(base | (umo ? UFFD_USER_MODE_ONLY : 0));
        if (fd >= 0)
                goto done;
        if (umo || fd != -EPERM || !(flags & UFFD_CREATE_FALLBACK_USER_MODE_ONLY))
                return fd;

        /* vm.unprivileged_userfaultfd = 0 without CAP_SYS_PTRACE still allows user-mode-only.
         * The device is not tried again: whatever refused a full fd there refuses this too. */
        r = fd;
        fd = create_syscall(base | UFFD_USER_MODE_ONLY);
        if (fd < 0)
                return fd == -EINVAL ? r : fd;
        umo = true;

done:
        if (ret_info)
                *ret_info = (UffdCreateInfo){
                        .source = source,
                        .user_mode_only = umo,
                        .dev_error = dev_error,
                };
        return fd;
}
