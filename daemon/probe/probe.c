/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The probe's pure half: names, and probe_decide() from facts to backend, reasons, blind spots
 * and warnings. No I/O: the facts come from probe_run() (probe-io.c) or a test's table. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "probe.h"
#include "uapi.h"

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
                                 i == 0               ? ""
                                         : i + 1 == n ? " and "
                                                      : ", ",
                                 names[i]);
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
                add_cannot_see(&r,
                               "refaults of shmem and file pages: they lose their protection "
                               "on reclaim");
                add_cannot_see(&r,
                               "which 4 KiB page of an anonymous THP was accessed: THPs are "
                               "reported per 2 MiB");
                add_cannot_see(&r,
                               "accesses to pages dropped by MADV_DONTNEED, hole punch or "
                               "truncation until the next cycle re-arms them");
                break;
        case BACKEND_WP_ASYNC:
                add_cannot_see(&r,
                               "reads of resident pages are invisible; reads are seen only as "
                               "refaults of evicted pages");
                add_cannot_see(&r,
                               "accesses as they happen: WP_ASYNC is fixed at UFFDIO_API time, "
                               "there is no sync window");
                break;
        default:
                add_cannot_see(&r,
                               "any page access: without a tracking backend the daemon only "
                               "monitors");
                break;
        }

        if (!in->swap_known)
                add_warning(&r, "swap size unknown (/proc/swaps and /proc/meminfo unreadable)");
        else if (in->swap_bytes == 0)
                add_warning(&r,
                            "no swap configured: MADV_PAGEOUT cannot evict anonymous memory, "
                            "monitor only");
        else if (in->swap_setup_known && swap_setup_has_swap(&in->swap_setup) &&
                 !swap_setup_pageout_frees_at_once(&in->swap_setup))
                add_warning(&r, "a page-out does not free memory at once here: %s",
                            swap_setup_remedy(&in->swap_setup) ?: "see the README");
        if (!in->process_madvise)
                add_warning(&r, "process_madvise(MADV_PAGEOUT) unusable: %s: cannot evict",
                            process_madvise_meaning(in->process_madvise_errno));
        if (!in->cap_sys_nice)
                add_warning(&r,
                            "no CAP_SYS_NICE: process_madvise() on client processes fails "
                            "with EPERM, cannot evict");
        if (!in->cap_sys_ptrace)
                add_warning(&r,
                            "no CAP_SYS_PTRACE: process_madvise() needs ptrace-read access, "
                            "only clients of the daemon's own user can be evicted");
        if (!in->psi)
                add_warning(&r,
                            "PSI unavailable (/proc/pressure/memory unreadable): memory "
                            "pressure cannot be watched");
        if (!in->so_peerpidfd)
                add_warning(&r,
                            "SO_PEERPIDFD unsupported (%s; needs Linux 6.5): clients are "
                            "identified by SO_PEERCRED pid, which can be reused",
                            errno_text(in->so_peerpidfd_errno));
        if (in->uffd_available && in->uffd_user_mode_only)
                add_warning(&r,
                            "userfaultfd only with UFFD_USER_MODE_ONLY here "
                            "(vm.unprivileged_userfaultfd=0 and no CAP_SYS_PTRACE)");
        /* Only RWP has a sync window in which kernel-mode accesses must fault. */
        if (r.backend == BACKEND_RWP && in->unprivileged_userfaultfd == 0)
                add_warning(&r,
                            "vm.unprivileged_userfaultfd=0: unprivileged clients without "
                            "access to /dev/userfaultfd need UFFD_USER_MODE_ONLY, and then "
                            "their read(2) into tiered memory fails with EFAULT in sync mode");

        *ret = r;
        return 0;
}
