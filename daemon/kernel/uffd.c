/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "uffd.h"

/* The one place where the kernel's -1/errno convention becomes -errno. */
static int xioctl(int fd, unsigned long request, void *arg) {
        for (;;) {
                int r = ioctl(fd, request, arg);
                if (r >= 0)
                        return r;
                if (errno != EINTR)
                        return negative_errno();
        }
}

static int real_api(int uffd, uint64_t features, uint64_t *ret_features, uint64_t *ret_ioctls) {
        struct uffdio_api api = { .api = UFFD_API, .features = features };
        int r;

        r = xioctl(uffd, UFFDIO_API, &api);
        if (r < 0)
                return r;
        if (ret_features)
                *ret_features = api.features;
        if (ret_ioctls)
                *ret_ioctls = api.ioctls;
        return 0;
}

static int real_register_range(int uffd, uint64_t start, uint64_t len, uint64_t mode,
                               uint64_t *ret_ioctls) {
        struct uffdio_register reg = {
                .range = { .start = start, .len = len },
                .mode = mode,
        };
        int r;

        r = xioctl(uffd, UFFDIO_REGISTER, &reg);
        if (r < 0)
                return r;
        if (ret_ioctls)
                *ret_ioctls = reg.ioctls;
        return 0;
}

static int real_unregister_range(int uffd, uint64_t start, uint64_t len) {
        struct uffdio_range range = { .start = start, .len = len };

        return xioctl(uffd, UFFDIO_UNREGISTER, &range);
}

static int real_rwprotect(int uffd, uint64_t start, uint64_t len, bool protect, bool dontwake) {
        struct uffdio_rwprotect rwp = {
                .range = { .start = start, .len = len },
                .mode = (protect ? UFFDIO_RWPROTECT_MODE_RWP : 0) |
                        (dontwake ? UFFDIO_RWPROTECT_MODE_DONTWAKE : 0),
        };

        return xioctl(uffd, UFFDIO_RWPROTECT, &rwp);
}

static int real_writeprotect(int uffd, uint64_t start, uint64_t len, bool protect) {
        struct uffdio_writeprotect wp = {
                .range = { .start = start, .len = len },
                .mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
        };

        return xioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
}

static int real_set_mode(int uffd, uint64_t enable, uint64_t disable) {
        struct uffdio_set_mode m = { .enable = enable, .disable = disable };

        return xioctl(uffd, UFFDIO_SET_MODE, &m);
}

static int real_wake(int uffd, uint64_t start, uint64_t len) {
        struct uffdio_range range = { .start = start, .len = len };

        return xioctl(uffd, UFFDIO_WAKE, &range);
}

static int real_pagemap_scan(int pagemap_fd, struct pm_scan_arg *arg) {
        return xioctl(pagemap_fd, PAGEMAP_SCAN, arg);
}

static ssize_t real_pageout(int pidfd, const struct iovec *iov, size_t n_iov) {
        long r;

        /* No EINTR loop here: a retry would advise the whole vector again; evict_pageout()
         * knows how much was done and resumes from there. */
        r = syscall(__NR_process_madvise, pidfd, iov, n_iov, MADV_PAGEOUT, 0U);
        if (r < 0)
                return negative_errno();
        return (ssize_t) r;
}

static ssize_t real_read_msgs(int uffd, struct uffd_msg *msgs, size_t n) {
        ssize_t l;

        if (n == 0)
                return 0;
        for (;;) {
                l = read(uffd, msgs, n * sizeof(struct uffd_msg));
                if (l >= 0)
                        break;
                if (errno == EAGAIN)
                        return 0;
                if (errno != EINTR)
                        return negative_errno();
        }
        /* The kernel copies whole messages only. */
        if (l % sizeof(struct uffd_msg) != 0)
                return -EIO;
        return l / (ssize_t) sizeof(struct uffd_msg);
}

static int real_mm_alive(int pagemap_fd) {
        uint64_t entry;
        ssize_t l;

        do
                l = pread(pagemap_fd, &entry, sizeof entry, 0);
        while (l < 0 && errno == EINTR);
        if (l < 0)
                return errno == ESRCH ? 0 : negative_errno();
        return l == (ssize_t) sizeof entry;
}

const KernelOps kernel_ops_real = {
        .api = real_api,
        .register_range = real_register_range,
        .unregister_range = real_unregister_range,
        .rwprotect = real_rwprotect,
        .writeprotect = real_writeprotect,
        .set_mode = real_set_mode,
        .wake = real_wake,
        .pagemap_scan = real_pagemap_scan,
        .pageout = real_pageout,
        .read_msgs = real_read_msgs,
        .mm_alive = real_mm_alive,
};

int uffd_open(const char *dev_path, bool user_mode_only, int *ret_fd) {
        int fd;

        fd = uffd_create(dev_path, user_mode_only ? UFFD_CREATE_USER_MODE_ONLY : 0, NULL);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

const char *uffd_event_to_string(uint8_t event) {
        switch (event) {
        case UFFD_EVENT_PAGEFAULT:
                return "pagefault";
        case UFFD_EVENT_FORK:
                return "fork";
        case UFFD_EVENT_REMAP:
                return "remap";
        case UFFD_EVENT_REMOVE:
                return "remove";
        case UFFD_EVENT_UNMAP:
                return "unmap";
        default:
                return NULL;
        }
}
