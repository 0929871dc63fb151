/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The probe's I/O: gathers the raw facts (ProbeInput) on throwaway fds and from the files under
 * ProbePaths. No decisions here: those are probe_decide()'s (probe.c). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "parse.h"
#include "probe-parse.h"
#include "probe.h"
#include "uapi.h"
#include "uffd-create.h"

/* Anything in /proc we read is a few KiB; refuse to slurp something unexpected. */
#define PROBE_FILE_MAX_BYTES (1024U * 1024U)
/* Pages in the scratch mappings used to exercise PAGEMAP_SCAN and process_madvise. */
#define PROBE_SCRATCH_PAGES 4

const ProbePaths probe_paths_default = {
        .proc_root = "/proc",
        .dev_userfaultfd = UFFD_DEVICE_PATH,
        .sys_root = "/sys",
};

static int path_join(const char *root, const char *rel, char **ret) {
        char *p;

        if (asprintf(&p, "%s/%s", root, rel) < 0)
                return -ENOMEM;
        *ret = p;
        return 0;
}

/* Reads a whole (small, /proc) file as a NUL-terminated string. */
static int read_text_file(const char *root, const char *rel, char **ret) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = path_join(root, rel, &path);
        if (r < 0)
                return r;
        return read_virtual_file(path, PROBE_FILE_MAX_BYTES, ret);
}

static void probe_uffd(const ProbePaths *paths, ProbeInput *in) {
        _cleanup_close_ int fd = -EBADF;
        struct uffdio_api api = { .api = UFFD_API, .features = 0 };
        UffdCreateInfo info;

        /* A fresh, uninitialised userfaultfd, the way a client gets one (libuffdtier asks the
         * same creator with the same fallback). */
        fd = uffd_create(paths->dev_userfaultfd, UFFD_CREATE_FALLBACK_USER_MODE_ONLY, &info);
        if (fd < 0) {
                in->uffd_errno = -fd;
                log_debug_errno(fd, "Cannot create a userfaultfd: %m");
                return;
        }
        if (info.dev_error < 0)
                log_debug_errno(info.dev_error, "No userfaultfd from %s, used userfaultfd(2): %m",
                                paths->dev_userfaultfd);
        /* UFFDIO_API works once per fd and features=0 asks for nothing: the kernel answers
         * with everything it offers. The fd is useless afterwards and is closed. */
        if (ioctl(fd, UFFDIO_API, &api) < 0) {
                in->uffd_errno = errno;
                log_debug_errno(errno, "UFFDIO_API(features=0) failed: %m");
                return;
        }
        in->uffd_available = true;
        in->uffd_source = info.source;
        in->uffd_user_mode_only = info.user_mode_only;
        in->features_offered = api.features;
        in->api_ioctls = api.ioctls;
}

static void *scratch_map(size_t len) {
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return NULL;
        /* One present page, so the kernel has something to walk or advise. */
        *(volatile char *) p = 1;
        return p;
}

static int probe_pagemap_scan(const char *proc_root) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len = PROBE_SCRATCH_PAGES * page_size();
        struct page_region vec[PROBE_SCRATCH_PAGES];
        struct pm_scan_arg arg;
        void *p;
        int r;

        r = path_join(proc_root, "self/pagemap", &path);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        p = scratch_map(len);
        if (!p)
                return negative_errno();
        arg = (struct pm_scan_arg){
                .size = sizeof arg,
                .start = (uintptr_t) p,
                .end = (uintptr_t) p + len,
                .vec = (uintptr_t) vec,
                .vec_len = ELEMENTSOF(vec),
                .category_mask = PAGE_IS_PRESENT,
                .return_mask = PAGE_IS_PRESENT,
        };
        /* Kernels before 6.7 answer ENOTTY (unknown ioctl); EINVAL means a struct they do not
         * understand. Either way: absent. */
        r = ioctl(fd, PAGEMAP_SCAN, &arg) < 0 ? negative_errno() : 0;
        (void) munmap(p, len);
        return r;
}

static int probe_process_madvise(void) {
        _cleanup_close_ int pidfd = -EBADF;
        struct iovec iov;
        size_t len = page_size();
        int r;

        pidfd = (int) syscall(__NR_pidfd_open, getpid(), 0);
        if (pidfd < 0)
                return negative_errno();
        iov.iov_base = scratch_map(len);
        if (!iov.iov_base)
                return negative_errno();
        iov.iov_len = len;
        /* MADV_PAGEOUT, the advice eviction uses, on a throwaway page of our own. Recent kernels
         * skip the CAP_SYS_NICE check when the target is the caller itself, so this proves the
         * syscall and the advice, not the capability: that comes from CapEff. */
        r = 0;
        if (syscall(__NR_process_madvise, pidfd, &iov, 1, MADV_PAGEOUT, 0) < 0)
                r = negative_errno();
        (void) munmap(iov.iov_base, len);
        return r;
}

static int probe_so_peerpidfd(void) {
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        int sv[2], pidfd = -EBADF;
        socklen_t sl = sizeof pidfd;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return negative_errno();
        a = sv[0];
        b = sv[1];
        /* ENOPROTOOPT before 6.5. */
        if (getsockopt(a, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &sl) < 0)
                return negative_errno();
        safe_close(pidfd);
        return 0;
}

static void probe_swap(const char *proc_root, ProbeInput *in) {
        _cleanup_free_ char *swaps = NULL, *meminfo = NULL;
        uint64_t bytes;
        int r;

        /* /proc/swaps lists active swap areas (zram included); meminfo is the fallback when
         * swaps is hidden, e.g. in some containers. */
        r = read_text_file(proc_root, "swaps", &swaps);
        if (r >= 0)
                r = probe_parse_swaps(swaps, &bytes);
        if (r < 0) {
                log_debug_errno(r, "Cannot read swap areas from %s/swaps: %m", proc_root);
                r = read_text_file(proc_root, "meminfo", &meminfo);
                if (r >= 0)
                        r = probe_parse_meminfo_swap_total(meminfo, &bytes);
                if (r < 0) {
                        log_debug_errno(r, "Cannot read SwapTotal from %s/meminfo: %m", proc_root);
                        return;
                }
        }
        in->swap_known = true;
        in->swap_bytes = bytes;
}

static void probe_caps(const char *proc_root, ProbeInput *in) {
        _cleanup_free_ char *status = NULL;
        uint64_t mask;
        int r;

        r = read_text_file(proc_root, "self/status", &status);
        if (r >= 0)
                r = probe_parse_status_capeff(status, &mask);
        if (r < 0) {
                log_debug_errno(r, "Cannot read CapEff from %s/self/status: %m", proc_root);
                return;
        }
        in->cap_sys_ptrace = mask & (UINT64_C(1) << CAP_SYS_PTRACE);
        in->cap_sys_nice = mask & (UINT64_C(1) << CAP_SYS_NICE);
}

static void probe_unprivileged_userfaultfd(const char *proc_root, ProbeInput *in) {
        _cleanup_free_ char *text = NULL;
        uint64_t v;
        size_t len;

        if (read_text_file(proc_root, "sys/vm/unprivileged_userfaultfd", &text) < 0)
                return;
        len = strlen(text);
        if (len > 0 && text[len - 1] == '\n')
                text[len - 1] = '\0';
        if (parse_u64(text, &v) >= 0 && v <= 1)
                in->unprivileged_userfaultfd = (int) v;
}

int probe_run(const ProbePaths *paths, ProbeInput *ret) {
        ProbeInput in = { .unprivileged_userfaultfd = -1 };
        _cleanup_free_ char *psi = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        if (!paths)
                paths = &probe_paths_default;
        if (!paths->proc_root || !paths->dev_userfaultfd)
                return -EINVAL;

        probe_uffd(paths, &in);
        probe_unprivileged_userfaultfd(paths->proc_root, &in);

        r = probe_pagemap_scan(paths->proc_root);
        in.pagemap_scan = r >= 0;
        in.pagemap_scan_errno = r < 0 ? -r : 0;
        if (r < 0)
                log_debug_errno(r, "PAGEMAP_SCAN on %s/self/pagemap failed: %m", paths->proc_root);

        probe_swap(paths->proc_root, &in);
        if (paths->sys_root) {
                r = swap_setup_read(paths->proc_root, paths->sys_root, &in.swap_setup);
                in.swap_setup_known = r >= 0;
                if (r < 0)
                        log_debug_errno(r, "Cannot read the swap set-up: %m");
        }

        /* Present but unreadable (EOPNOTSUPP) when booted with psi=0. */
        in.psi = read_text_file(paths->proc_root, "pressure/memory", &psi) >= 0;

        r = probe_process_madvise();
        in.process_madvise = r >= 0;
        in.process_madvise_errno = r < 0 ? -r : 0;
        if (r < 0)
                log_debug_errno(r, "process_madvise(MADV_PAGEOUT) on ourselves failed: %m");

        r = probe_so_peerpidfd();
        in.so_peerpidfd = r >= 0;
        in.so_peerpidfd_errno = r < 0 ? -r : 0;
        if (r < 0)
                log_debug_errno(r, "getsockopt(SO_PEERPIDFD) failed: %m");

        probe_caps(paths->proc_root, &in);

        *ret = in;
        return 0;
}
