/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdarg.h>
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
#include "probe.h"
#include "uapi.h"

/* Anything in /proc we read is a few KiB; refuse to slurp something unexpected. */
#define PROBE_FILE_MAX_BYTES (1024U * 1024U)
/* Pages in the scratch mappings used to exercise PAGEMAP_SCAN and process_madvise. */
#define PROBE_SCRATCH_PAGES 4

const ProbePaths probe_paths_default = {
        .proc_root = "/proc",
        .dev_userfaultfd = "/dev/userfaultfd",
};

static const char *const backend_table[_BACKEND_MAX] = {
        [BACKEND_NONE] = "none",
        [BACKEND_WP_ASYNC] = "wp-async",
        [BACKEND_RWP] = "rwp",
};

/* JSON keys differ from the names only by being snake_case. */
static const char *const backend_json_key[_BACKEND_MAX] = {
        [BACKEND_NONE] = "none",
        [BACKEND_WP_ASYNC] = "wp_async",
        [BACKEND_RWP] = "rwp",
};

const char *backend_to_string(Backend b) {
        if (b < 0 || b >= _BACKEND_MAX)
                return NULL;
        return backend_table[b];
}

Backend backend_from_string(const char *s) {
        if (!s)
                return _BACKEND_INVALID;
        for (Backend b = 0; b < _BACKEND_MAX; b++)
                if (streq(s, backend_table[b]))
                        return b;
        return _BACKEND_INVALID;
}

static const char *const uffd_source_table[_UFFD_SOURCE_MAX] = {
        [UFFD_SOURCE_NONE] = "none",
        [UFFD_SOURCE_DEV] = "dev_userfaultfd",
        [UFFD_SOURCE_SYSCALL] = "syscall",
};

const char *uffd_source_to_string(UffdSource s) {
        if (s < 0 || s >= _UFFD_SOURCE_MAX)
                return NULL;
        return uffd_source_table[s];
}

/* Bit positions of UFFD_FEATURE_*: linux/userfaultfd.h up to 6.18, plus RWP (7.3). */
static const char *const feature_table[] = {
        [0] = "PAGEFAULT_FLAG_WP",
        [1] = "EVENT_FORK",
        [2] = "EVENT_REMAP",
        [3] = "EVENT_REMOVE",
        [4] = "MISSING_HUGETLBFS",
        [5] = "MISSING_SHMEM",
        [6] = "EVENT_UNMAP",
        [7] = "SIGBUS",
        [8] = "THREAD_ID",
        [9] = "MINOR_HUGETLBFS",
        [10] = "MINOR_SHMEM",
        [11] = "EXACT_ADDRESS",
        [12] = "WP_HUGETLBFS_SHMEM",
        [13] = "WP_UNPOPULATED",
        [14] = "POISON",
        [15] = "WP_ASYNC",
        [16] = "MOVE",
        [17] = "RWP",
        [18] = "RWP_ASYNC",
};

const char *probe_feature_to_string(uint64_t feature) {
        unsigned bit;

        if (feature == 0 || (feature & (feature - 1)) != 0)
                return NULL;
        bit = (unsigned) __builtin_ctzll(feature);
        if (bit >= ELEMENTSOF(feature_table))
                return NULL;
        return feature_table[bit];
}

/* ---- pure parsers ---- */

/* Returns the start of the line after the one at p (or the terminating NUL). */
static const char *next_line(const char *p) {
        const char *nl = strchr(p, '\n');
        return nl ? nl + 1 : p + strlen(p);
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Copies the whitespace-separated token at *p into buf and advances past it. */
static int take_token(const char **p, const char *eol, char *buf, size_t size) {
        const char *s = *p, *e;

        while (s < eol && is_blank(*s))
                s++;
        for (e = s; e < eol && !is_blank(*e); e++)
                ;
        if (e == s || (size_t) (e - s) >= size)
                return -EINVAL;
        memcpy(buf, s, (size_t) (e - s));
        buf[e - s] = '\0';
        *p = e;
        return 0;
}

static int kib_to_bytes(uint64_t kib, uint64_t *ret_bytes) {
        if (kib > UINT64_MAX / 1024)
                return -ERANGE;
        *ret_bytes = kib * 1024;
        return 0;
}

int probe_parse_swaps(const char *text, uint64_t *ret_bytes) {
        uint64_t total_kib = 0;
        const char *p;

        if (!text)
                return -EINVAL;
        /* "Filename\tType\tSize\tUsed\tPriority", then one line per device, sizes in KiB. File
         * names have their blanks escaped as \040 by the kernel, so splitting on blanks is
         * safe. */
        if (strncmp(text, "Filename", 8) != 0)
                return -EINVAL;
        for (p = next_line(text); *p != '\0'; p = next_line(p)) {
                const char *eol = strchrnul(p, '\n');
                char tok[PATH_MAX];
                uint64_t kib;
                int r;

                if (eol == p)
                        continue;
                r = take_token(&p, eol, tok, sizeof tok); /* file name */
                if (r < 0)
                        return r;
                r = take_token(&p, eol, tok, sizeof tok); /* type */
                if (r < 0)
                        return r;
                r = take_token(&p, eol, tok, sizeof tok); /* size */
                if (r < 0)
                        return r;
                r = parse_u64(tok, &kib);
                if (r < 0)
                        return r;
                if (kib > UINT64_MAX - total_kib)
                        return -ERANGE;
                total_kib += kib;
        }
        return kib_to_bytes(total_kib, ret_bytes);
}

int probe_parse_meminfo_swap_total(const char *text, uint64_t *ret_bytes) {
        if (!text)
                return -EINVAL;
        for (const char *p = text; *p != '\0'; p = next_line(p)) {
                const char *eol = strchrnul(p, '\n');
                char num[32], unit[8];
                uint64_t kib;
                int r;

                if (strncmp(p, "SwapTotal:", 10) != 0)
                        continue;
                p += 10;
                r = take_token(&p, eol, num, sizeof num);
                if (r < 0)
                        return r;
                r = take_token(&p, eol, unit, sizeof unit);
                if (r < 0)
                        return r;
                if (!streq(unit, "kB"))
                        return -EINVAL;
                r = parse_u64(num, &kib);
                if (r < 0)
                        return r;
                return kib_to_bytes(kib, ret_bytes);
        }
        return -EINVAL;
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int probe_parse_status_capeff(const char *text, uint64_t *ret_mask) {
        if (!text)
                return -EINVAL;
        for (const char *p = text; *p != '\0'; p = next_line(p)) {
                const char *eol = strchrnul(p, '\n');
                uint64_t mask = 0;
                unsigned n = 0;

                if (strncmp(p, "CapEff:", 7) != 0)
                        continue;
                for (p += 7; p < eol && is_blank(*p); p++)
                        ;
                /* The kernel prints 16 hex digits; accept fewer, never more than fit. */
                for (; p < eol && !is_blank(*p); p++, n++) {
                        int d = hex_digit(*p);
                        if (d < 0 || n >= 16)
                                return -EINVAL;
                        mask = (mask << 4) | (uint64_t) d;
                }
                if (n == 0 || p != eol)
                        return -EINVAL;
                *ret_mask = mask;
                return 0;
        }
        return -EINVAL;
}

/* ---- pure decision ---- */

static const char *errno_text(int e) {
        return strerror(e);
}

static void add_warning(ProbeResult *r, const char *fmt, ...) _printf_(2, 3);
static void add_warning(ProbeResult *r, const char *fmt, ...) {
        va_list ap;

        if (r->n_warnings >= PROBE_NOTES_MAX)
                return;
        va_start(ap, fmt);
        (void) vsnprintf(r->warnings[r->n_warnings++], PROBE_TEXT_MAX, fmt, ap);
        va_end(ap);
}

static void add_cannot_see(ProbeResult *r, const char *s) {
        if (r->n_cannot_see < PROBE_NOTES_MAX)
                r->cannot_see[r->n_cannot_see++] = s;
}

/* Appends printf output to buf, with "; " between the parts; truncation is harmless. */
static void append(char *buf, const char *fmt, ...) _printf_(2, 3);
static void append(char *buf, const char *fmt, ...) {
        size_t len = strlen(buf);
        va_list ap;

        if (len > 0 && len + 2 < PROBE_TEXT_MAX) {
                memcpy(buf + len, "; ", 3);
                len += 2;
        }
        if (len + 1 >= PROBE_TEXT_MAX)
                return;
        va_start(ap, fmt);
        (void) vsnprintf(buf + len, PROBE_TEXT_MAX - len, fmt, ap);
        va_end(ap);
}

/* "kernel lacks A, B and C (needs ...)" from the names whose bit is missing. */
static void append_missing(char *buf, const char *const *names, size_t n, const char *needs) {
        char list[PROBE_TEXT_MAX] = "";
        size_t len = 0;

        for (size_t i = 0; i < n; i++) {
                int w = snprintf(list + len, sizeof list - len, "%s%s",
                                 i == 0 ? "" : i + 1 == n ? " and " : ", ", names[i]);
                if (w < 0 || (size_t) w >= sizeof list - len)
                        break;
                len += (size_t) w;
        }
        append(buf, "kernel lacks %s (needs %s)", list, needs);
}

static void append_pagemap_scan(char *buf, const ProbeInput *in) {
        if (in->pagemap_scan_errno == ENOTTY || in->pagemap_scan_errno == EINVAL)
                append(buf, "kernel lacks PAGEMAP_SCAN on /proc/PID/pagemap (needs Linux 6.7)");
        else
                append(buf, "PAGEMAP_SCAN on /proc/self/pagemap failed: %s",
                       errno_text(in->pagemap_scan_errno));
}

static void decide_rwp(const ProbeInput *in, ProbeResult *r) {
        char *reason = r->reason[BACKEND_RWP];
        const char *missing[3];
        size_t n = 0;

        if (!in->uffd_available) {
                append(reason, "userfaultfd unavailable: %s", errno_text(in->uffd_errno));
                return;
        }
        if (!(in->features_offered & UFFD_FEATURE_RWP))
                missing[n++] = "UFFD_FEATURE_RWP";
        if (!(in->features_offered & UFFD_FEATURE_RWP_ASYNC))
                missing[n++] = "UFFD_FEATURE_RWP_ASYNC";
        /* The feature bits alone are not enough: the cycle toggles async/sync with SET_MODE,
         * and UFFDIO_API lists it in the ioctl mask only when the kernel implements it. */
        if (!(in->api_ioctls & UFFD_API_IOCTL_SET_MODE_BIT))
                missing[n++] = "UFFDIO_SET_MODE";
        if (n > 0)
                append_missing(reason, missing, n, "Linux 7.3 with CONFIG_USERFAULTFD_RWP=y");
        /* The hot set is read with PAGEMAP_SCAN(PAGE_IS_ACCESSED). Every RWP kernel has the
         * ioctl, so only a failing one is worth mentioning. */
        else if (!in->pagemap_scan)
                append_pagemap_scan(reason, in);
        r->available[BACKEND_RWP] = reason[0] == '\0';
}

static void decide_wp_async(const ProbeInput *in, ProbeResult *r) {
        char *reason = r->reason[BACKEND_WP_ASYNC];
        const char *missing[2];
        size_t n = 0;

        if (!in->uffd_available) {
                append(reason, "userfaultfd unavailable: %s", errno_text(in->uffd_errno));
                return;
        }
        /* WP_ASYNC is negotiated together with WP_UNPOPULATED, or never-touched pages would
         * not be protected and would look written. */
        if (!(in->features_offered & UFFD_FEATURE_WP_UNPOPULATED))
                missing[n++] = "UFFD_FEATURE_WP_UNPOPULATED";
        if (!(in->features_offered & UFFD_FEATURE_WP_ASYNC))
                missing[n++] = "UFFD_FEATURE_WP_ASYNC";
        if (n > 0)
                append_missing(reason, missing, n, "Linux 6.7");
        if (!in->pagemap_scan)
                append_pagemap_scan(reason, in);
        r->available[BACKEND_WP_ASYNC] = reason[0] == '\0';
}

static const char *process_madvise_meaning(int e) {
        switch (e) {
        case ENOSYS:
                return "kernel lacks process_madvise or pidfd_open (needs Linux 5.10)";
        case EPERM:
                return "not permitted (needs CAP_SYS_NICE; a seccomp filter may block it too)";
        case EINVAL:
                return "kernel refuses MADV_PAGEOUT through process_madvise";
        default:
                return errno_text(e);
        }
}

int probe_decide(const ProbeInput *in, ProbeResult *ret) {
        ProbeResult r = { .backend = BACKEND_NONE };

        if (!in || !ret)
                return -EINVAL;

        r.available[BACKEND_NONE] = true;
        decide_rwp(in, &r);
        decide_wp_async(in, &r);

        /* RWP sees reads and writes; WP_ASYNC only writes: prefer RWP. */
        if (r.available[BACKEND_RWP])
                r.backend = BACKEND_RWP;
        else if (r.available[BACKEND_WP_ASYNC])
                r.backend = BACKEND_WP_ASYNC;

        switch (r.backend) {
        case BACKEND_RWP:
                /* kernel-interfaces §3: persistence and THP behaviour of RWP markers. */
                add_cannot_see(&r, "refaults of shmem and file pages: they lose their protection "
                                   "on reclaim");
                add_cannot_see(&r, "which 4 KiB page of an anonymous THP was accessed: THPs are "
                                   "reported per 2 MiB");
                add_cannot_see(&r, "accesses to pages dropped by MADV_DONTNEED, hole punch or "
                                   "truncation until the next cycle re-arms them");
                break;
        case BACKEND_WP_ASYNC:
                add_cannot_see(&r, "reads of resident pages are invisible; reads are seen only as "
                                   "refaults of evicted pages");
                add_cannot_see(&r, "accesses as they happen: WP_ASYNC is fixed at UFFDIO_API time, "
                                   "there is no sync window");
                break;
        default:
                add_cannot_see(&r, "any page access: without a tracking backend the daemon only "
                                   "monitors");
                break;
        }

        if (!in->swap_known)
                add_warning(&r, "swap size unknown (/proc/swaps and /proc/meminfo unreadable)");
        else if (in->swap_bytes == 0)
                add_warning(&r, "no swap configured: MADV_PAGEOUT cannot evict anonymous memory, "
                                "monitor only");
        if (!in->process_madvise)
                add_warning(&r, "process_madvise(MADV_PAGEOUT) unusable: %s: cannot evict",
                            process_madvise_meaning(in->process_madvise_errno));
        if (!in->cap_sys_nice)
                add_warning(&r, "no CAP_SYS_NICE: process_madvise() on client processes fails "
                                "with EPERM, cannot evict");
        if (!in->cap_sys_ptrace)
                add_warning(&r, "no CAP_SYS_PTRACE: process_madvise() needs ptrace-read access, "
                                "only clients of the daemon's own user can be evicted");
        if (!in->psi)
                add_warning(&r, "PSI unavailable (/proc/pressure/memory unreadable): memory "
                                "pressure cannot be watched");
        if (!in->so_peerpidfd)
                add_warning(&r, "SO_PEERPIDFD unsupported (%s; needs Linux 6.5): clients are "
                                "identified by SO_PEERCRED pid, which can be reused",
                            errno_text(in->so_peerpidfd_errno));
        if (in->uffd_available && in->uffd_user_mode_only)
                add_warning(&r, "userfaultfd only with UFFD_USER_MODE_ONLY here "
                                "(vm.unprivileged_userfaultfd=0 and no CAP_SYS_PTRACE)");
        /* Only RWP has a sync window in which kernel-mode accesses must fault. */
        if (r.backend == BACKEND_RWP && in->unprivileged_userfaultfd == 0)
                add_warning(&r, "vm.unprivileged_userfaultfd=0: unprivileged clients without "
                                "access to /dev/userfaultfd need UFFD_USER_MODE_ONLY, and then "
                                "their read(2) into tiered memory fails with EFAULT in sync mode");

        *ret = r;
        return 0;
}

/* ---- I/O: gathering the facts ---- */

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

/* A fresh, uninitialised userfaultfd, the way a client would get one. */
static int uffd_open_throwaway(const ProbePaths *paths, UffdSource *ret_source,
                               bool *ret_user_mode_only) {
        _cleanup_close_ int dev = -EBADF;
        int fd, r;

        /* /dev/userfaultfd ignores vm.unprivileged_userfaultfd: access to the node is the
         * permission. */
        dev = open(paths->dev_userfaultfd, O_RDWR | O_CLOEXEC);
        if (dev >= 0) {
                fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
                if (fd >= 0) {
                        *ret_source = UFFD_SOURCE_DEV;
                        *ret_user_mode_only = false;
                        return fd;
                }
                log_debug_errno(errno, "USERFAULTFD_IOC_NEW on %s failed: %m",
                                paths->dev_userfaultfd);
        }

        fd = (int) syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
        if (fd >= 0) {
                *ret_source = UFFD_SOURCE_SYSCALL;
                *ret_user_mode_only = false;
                return fd;
        }
        r = negative_errno();
        if (r != -EPERM)
                return r;

        /* vm.unprivileged_userfaultfd=0 without CAP_SYS_PTRACE still allows user-mode-only. */
        fd = (int) syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
        if (fd < 0)
                return r;
        *ret_source = UFFD_SOURCE_SYSCALL;
        *ret_user_mode_only = true;
        return fd;
}

static void probe_uffd(const ProbePaths *paths, ProbeInput *in) {
        _cleanup_close_ int fd = -EBADF;
        struct uffdio_api api = { .api = UFFD_API, .features = 0 };
        UffdSource source;
        bool umo;

        fd = uffd_open_throwaway(paths, &source, &umo);
        if (fd < 0) {
                in->uffd_errno = -fd;
                log_debug_errno(fd, "Cannot create a userfaultfd: %m");
                return;
        }
        /* UFFDIO_API works once per fd and features=0 asks for nothing: the kernel answers
         * with everything it offers. The fd is useless afterwards and is closed. */
        if (ioctl(fd, UFFDIO_API, &api) < 0) {
                in->uffd_errno = errno;
                log_debug_errno(errno, "UFFDIO_API(features=0) failed: %m");
                return;
        }
        in->uffd_available = true;
        in->uffd_source = source;
        in->uffd_user_mode_only = umo;
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
        arg = (struct pm_scan_arg) {
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

/* ---- output ---- */

static const struct {
        uint64_t bit;
        bool ioctl; /* a bit of uffdio_api.ioctls rather than of features */
        const char *name;
        const char *since;
} key_features[] = {
        { UFFD_FEATURE_WP_UNPOPULATED, false, "UFFD_FEATURE_WP_UNPOPULATED", "Linux 6.4" },
        { UFFD_FEATURE_WP_ASYNC, false, "UFFD_FEATURE_WP_ASYNC", "Linux 6.7" },
        { UFFD_FEATURE_MOVE, false, "UFFD_FEATURE_MOVE", "Linux 6.8" },
        { UFFD_FEATURE_RWP, false, "UFFD_FEATURE_RWP", "Linux 7.3" },
        { UFFD_FEATURE_RWP_ASYNC, false, "UFFD_FEATURE_RWP_ASYNC", "Linux 7.3" },
        { UFFD_API_IOCTL_SET_MODE_BIT, true, "UFFDIO_SET_MODE", "Linux 7.3" },
};

static const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

static void print_fact(FILE *f, const char *what, bool ok, int err, const char *why) {
        if (ok)
                fprintf(f, "%-30s yes\n", what);
        else if (why)
                fprintf(f, "%-30s no (%s)\n", what, why);
        else
                fprintf(f, "%-30s no (%s)\n", what, errno_text(err));
}

int probe_print_text(FILE *f, const ProbeInput *in, const ProbeResult *res) {
        char buf[FORMAT_BYTES_MAX];

        if (!f || !in || !res)
                return -EINVAL;

        fprintf(f, "%-30s %s\n", "Backend:", backend_to_string(res->backend));
        for (Backend b = _BACKEND_MAX - 1; b > BACKEND_NONE; b--) {
                char label[32];

                snprintf(label, sizeof label, "  %s:", backend_to_string(b));
                print_fact(f, label, res->available[b], 0, res->reason[b]);
        }

        if (in->uffd_available)
                fprintf(f, "%-30s yes, via %s%s\n", "userfaultfd:",
                        in->uffd_source == UFFD_SOURCE_DEV ? "/dev/userfaultfd" : "userfaultfd(2)",
                        in->uffd_user_mode_only ? " (UFFD_USER_MODE_ONLY)" : "");
        else
                fprintf(f, "%-30s no (%s)\n", "userfaultfd:", errno_text(in->uffd_errno));
        if (in->unprivileged_userfaultfd >= 0)
                fprintf(f, "%-30s %d\n", "vm.unprivileged_userfaultfd:",
                        in->unprivileged_userfaultfd);
        if (in->uffd_available) {
                fprintf(f, "%-30s 0x%" PRIx64, "Features offered:", in->features_offered);
                for (unsigned i = 0; i < 64; i++) {
                        uint64_t bit = UINT64_C(1) << i;
                        const char *name = probe_feature_to_string(bit);

                        if (!(in->features_offered & bit))
                                continue;
                        if (name)
                                fprintf(f, " %s", name);
                        else
                                fprintf(f, " bit_%u", i);
                }
                fputc('\n', f);
                fprintf(f, "%-30s 0x%" PRIx64 "\n", "API ioctls:", in->api_ioctls);
                for (size_t i = 0; i < ELEMENTSOF(key_features); i++) {
                        uint64_t mask = key_features[i].ioctl ? in->api_ioctls
                                                              : in->features_offered;
                        char label[64], why[64];

                        snprintf(label, sizeof label, "  %s:", key_features[i].name);
                        snprintf(why, sizeof why, "needs %s", key_features[i].since);
                        print_fact(f, label, mask & key_features[i].bit, 0, why);
                }
        }
        print_fact(f, "PAGEMAP_SCAN:", in->pagemap_scan, in->pagemap_scan_errno, NULL);
        if (in->swap_known)
                fprintf(f, "%-30s %s\n", "Swap:",
                        in->swap_bytes == 0 ? "none"
                                            : format_bytes(buf, sizeof buf, in->swap_bytes));
        else
                fprintf(f, "%-30s unknown\n", "Swap:");
        fprintf(f, "%-30s %s\n", "PSI (memory):", yes_no(in->psi));
        print_fact(f, "process_madvise(MADV_PAGEOUT):", in->process_madvise,
                   in->process_madvise_errno, NULL);
        print_fact(f, "SO_PEERPIDFD:", in->so_peerpidfd, in->so_peerpidfd_errno, NULL);
        fprintf(f, "%-30s %s\n", "CAP_SYS_PTRACE:", yes_no(in->cap_sys_ptrace));
        fprintf(f, "%-30s %s\n", "CAP_SYS_NICE:", yes_no(in->cap_sys_nice));

        fprintf(f, "Cannot see:\n");
        for (size_t i = 0; i < res->n_cannot_see; i++)
                fprintf(f, "  - %s\n", res->cannot_see[i]);
        if (res->n_warnings > 0) {
                fprintf(f, "Warnings:\n");
                for (size_t i = 0; i < res->n_warnings; i++)
                        fprintf(f, "  - %s\n", res->warnings[i]);
        }

        if (fflush(f) != 0 || ferror(f))
                return -EIO;
        return 0;
}

/* jansson reports allocation failure as a NULL value or a -1 return, and the *_new setters
 * release the value even when they fail. This is the one place that becomes -ENOMEM. */
static int json_put(json_t *container, const char *key, json_t *v) {
        if (!v)
                return -ENOMEM;
        if (key)
                return json_object_set_new(container, key, v) < 0 ? -ENOMEM : 0;
        return json_array_append_new(container, v) < 0 ? -ENOMEM : 0;
}

static json_t *json_hex(uint64_t v) {
        char buf[2 + 16 + 1];

        snprintf(buf, sizeof buf, "0x%" PRIx64, v);
        return json_string(buf);
}

static json_t *json_string_or_null(const char *s) {
        return s && *s ? json_string(s) : json_null();
}

/* Adds v to obj and hands it back borrowed (obj owns it), for filling containers in place. */
static int json_put_borrow(json_t *obj, const char *key, json_t *v, json_t **ret) {
        int r;

        r = json_put(obj, key, v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

static int json_put_features(json_t *obj, uint64_t features) {
        json_t *o, *names;
        int r;

        r = json_put_borrow(obj, "features_offered", json_object(), &o);
        if (r < 0)
                return r;
        r = json_put(o, "mask", json_hex(features));
        if (r < 0)
                return r;
        r = json_put_borrow(o, "names", json_array(), &names);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < 64; i++) {
                uint64_t bit = UINT64_C(1) << i;
                const char *name = probe_feature_to_string(bit);
                char unknown[16];

                if (!(features & bit))
                        continue;
                if (!name) {
                        snprintf(unknown, sizeof unknown, "bit_%u", i);
                        name = unknown;
                }
                r = json_put(names, NULL, json_string(name));
                if (r < 0)
                        return r;
        }
        return 0;
}

int probe_to_json(const ProbeInput *in, const ProbeResult *res, json_t **ret) {
        json_auto_t *root = NULL;
        json_t *caps, *a;
        int r;

        if (!in || !res || !ret)
                return -EINVAL;

        root = json_object();
        if (!root)
                return -ENOMEM;
        r = json_put(root, "backend", json_string(backend_to_string(res->backend)));
        if (r < 0)
                return r;
        for (Backend b = _BACKEND_MAX - 1; b > BACKEND_NONE; b--) {
                json_t *o;

                r = json_put_borrow(root, backend_json_key[b], json_object(), &o);
                if (r < 0)
                        return r;
                r = json_put(o, "available", json_boolean(res->available[b]));
                if (r < 0)
                        return r;
                r = json_put(o, "reason", json_string_or_null(res->reason[b]));
                if (r < 0)
                        return r;
        }
        r = json_put(root, "uffd_source", json_string(uffd_source_to_string(in->uffd_source)));
        if (r < 0)
                return r;
        r = json_put(root, "uffd_error",
                     in->uffd_available ? json_null() : json_string(errno_text(in->uffd_errno)));
        if (r < 0)
                return r;
        r = json_put(root, "uffd_user_mode_only", json_boolean(in->uffd_user_mode_only));
        if (r < 0)
                return r;
        r = json_put(root, "unprivileged_userfaultfd",
                     in->unprivileged_userfaultfd >= 0 ? json_integer(in->unprivileged_userfaultfd)
                                                       : json_null());
        if (r < 0)
                return r;
        r = json_put_features(root, in->features_offered);
        if (r < 0)
                return r;
        r = json_put(root, "api_ioctls", json_hex(in->api_ioctls));
        if (r < 0)
                return r;
        r = json_put(root, "pagemap_scan", json_boolean(in->pagemap_scan));
        if (r < 0)
                return r;
        /* json_int_t is signed 64-bit; no swap comes near 2^63 bytes. */
        r = json_put(root, "swap_bytes",
                     in->swap_known ? json_integer((json_int_t) MIN(in->swap_bytes,
                                                                    (uint64_t) INT64_MAX))
                                    : json_null());
        if (r < 0)
                return r;
        r = json_put(root, "psi", json_boolean(in->psi));
        if (r < 0)
                return r;
        r = json_put(root, "process_madvise", json_boolean(in->process_madvise));
        if (r < 0)
                return r;
        r = json_put(root, "so_peerpidfd", json_boolean(in->so_peerpidfd));
        if (r < 0)
                return r;

        r = json_put_borrow(root, "capabilities", json_object(), &caps);
        if (r < 0)
                return r;
        r = json_put(caps, "cap_sys_ptrace", json_boolean(in->cap_sys_ptrace));
        if (r < 0)
                return r;
        r = json_put(caps, "cap_sys_nice", json_boolean(in->cap_sys_nice));
        if (r < 0)
                return r;

        r = json_put_borrow(root, "cannot_see", json_array(), &a);
        if (r < 0)
                return r;
        for (size_t i = 0; i < res->n_cannot_see; i++) {
                r = json_put(a, NULL, json_string(res->cannot_see[i]));
                if (r < 0)
                        return r;
        }
        r = json_put_borrow(root, "warnings", json_array(), &a);
        if (r < 0)
                return r;
        for (size_t i = 0; i < res->n_warnings; i++) {
                r = json_put(a, NULL, json_string(res->warnings[i]));
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(root);
        return 0;
}

int probe_print_json(FILE *f, const ProbeInput *in, const ProbeResult *res) {
        json_auto_t *root = NULL;
        int r;

        if (!f)
                return -EINVAL;
        r = probe_to_json(in, res, &root);
        if (r < 0)
                return r;
        if (json_dumpf(root, f, JSON_INDENT(2)) < 0)
                return -EIO;
        fputc('\n', f);
        if (fflush(f) != 0 || ferror(f))
                return -EIO;
        return 0;
}
