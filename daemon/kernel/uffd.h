/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The seam between the tracking engine and the kernel: every userfaultfd ioctl, PAGEMAP_SCAN,
 * process_madvise(MADV_PAGEOUT) and the event read go through a KernelOps table, so unit tests can
 * inject what the kernel will not produce on demand (EAGAIN from a pending event, ESRCH in the
 * middle of a cycle, a scan that stops half-way). kernel_ops_real is the only table that talks to
 * the kernel; each of its functions is one system call (retried on EINTR) and returns -errno.
 *
 * All addresses are in the address space of the process that created the uffd (the client), not
 * the daemon's: any holder of the uffd acts on the creator's mm. Lengths and starts must be
 * page-aligned. See docs/kernel-interfaces.md §3 for where each errno comes from. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "uapi.h"
#include "uffd-create.h"

/* Errors the engine must expect from every op once a client is attached:
 *   -ESRCH   the client's mm is gone (it exited): writeprotect, rwprotect, pagemap_scan and
 *            pageout say so; its pidfd polls POLLIN|POLLHUP and no uffd message announces it.
 *            Drop the client. (register/unregister say -ENOMEM instead, and wake succeeds.)
 *   -EAGAIN  (register/unregister/writeprotect/rwprotect/wake) a FORK/REMAP/UNMAP/REMOVE event is
 *            queued and the kernel refuses to change protections until it is read: read_msgs(),
 *            handle the events, then retry.
 *   -EINVAL  also for any ioctl this kernel's userfaultfd does not know (RWPROTECT and SET_MODE
 *            before 7.3): userfaultfd answers unknown commands with EINVAL, not ENOTTY, so
 *            detect RWP by feature bits, never by trying.
 *   -EINTR   is retried inside the real ops and never returned by them, except by pageout(),
 *            where a retry would redo the whole vector (evict_pageout() decides).
 * Checked on 6.18 by tests/unit/test-kernel.c. */
typedef struct KernelOps {
        /* UFFDIO_API. features: what to enable; the kernel answers with every feature it supports
         * (ret_features, a superset of what was enabled) and the fd-level ioctl mask (ret_ioctls;
         * bit _UFFDIO_SET_MODE set on RWP kernels). Succeeds once per fd.
         *   -EINVAL  unsupported feature requested (the kernel zeroes the answer, so probe on a
         *            throwaway fd with features = 0 first), RWP_ASYNC without RWP, bad api, or
         *            the fd was already negotiated.
         *   -EPERM   UFFD_FEATURE_EVENT_FORK without CAP_SYS_PTRACE.
         * Out-parameters (may be NULL) are written only on success. */
        int (*api)(int uffd, uint64_t features, uint64_t *ret_features, uint64_t *ret_ioctls);
        /* UFFDIO_REGISTER; mode is UFFDIO_REGISTER_MODE_*; ret_ioctls (may be NULL): ioctls
         * valid on the range. Holes inside the range are fine: the VMAs there are registered.
         * Registering an already registered range again in the same mode succeeds.
         *   -EINVAL  unaligned/empty, no VMA at all in the range, MODE_WP|MODE_RWP, a VMA type
         *            that cannot be registered, or a PROT_NONE VMA (RWP).
         *   -EBUSY   part of the range is registered on another uffd, or re-registering would
         *            drop WP/RWP (unregister first).
         *   -ENOMEM  the client's mm is gone. */
        int (*register_range)(int uffd, uint64_t start, uint64_t len, uint64_t mode,
                              uint64_t *ret_ioctls);
        /* UFFDIO_UNREGISTER: restores normal access and wakes waiters on the range.
         * -ENOMEM when the client's mm is gone. */
        int (*unregister_range)(int uffd, uint64_t start, uint64_t len);
        /* UFFDIO_RWPROTECT (Linux 7.3+). protect: make present pages PROT_NONE-with-marker;
         * !protect: remove the marker and wake (unless dontwake). The range is pre-checked: a
         * failure never leaves it half-protected.
         *   -EINVAL  alignment, zero length, dontwake together with protect; no RWP in this
         *            kernel.
         *   -ENOENT  some of the range is not registered with MODE_RWP. */
        int (*rwprotect)(int uffd, uint64_t start, uint64_t len, bool protect, bool dontwake);
        /* UFFDIO_WRITEPROTECT (MODE_WP ranges). With WP_ASYNC, writes resolve themselves and
         * show as PAGE_IS_WRITTEN; !protect also wakes threads blocked in sync mode. With
         * WP_UNPOPULATED, protecting unpopulated pages installs PTE markers, which PAGEMAP_SCAN
         * reports as PAGE_IS_SWAPPED (see pagemap.h). Holes in the range are skipped.
         *   -ENOENT  a VMA in the range is not registered with MODE_WP.
         *   -EINVAL  unaligned or zero length. */
        int (*writeprotect)(int uffd, uint64_t start, uint64_t len, bool protect);
        /* UFFDIO_SET_MODE (Linux 7.3+): toggles UFFD_FEATURE_RWP_ASYNC for the whole fd, under the
         * client's mmap write lock; switching to async wakes blocked threads.
         *   -EINVAL  any bit other than RWP_ASYNC, RWP not negotiated, or no SET_MODE in this
         *            kernel. */
        int (*set_mode)(int uffd, uint64_t enable, uint64_t disable);
        /* UFFDIO_WAKE: wakes threads blocked on the range without resolving the fault: they
         * refault. For RWP, resolve with rwprotect(protect = false) instead. */
        int (*wake)(int uffd, uint64_t start, uint64_t len);
        /* PAGEMAP_SCAN on the client's /proc/PID/pagemap: the number of regions written to
         * arg->vec (>= 0); arg->walk_end says where the walk stopped (== arg->end when done).
         * Use pagemap_scan_range() rather than calling this directly.
         *   -EINVAL  arg->size, unaligned start, unknown flag or category bit (ACCESSED before
         *            7.3: the way an old kernel says "no RWP categories").
         *   -EPERM   PM_SCAN_CHECK_WPASYNC and a VMA in the range is not registered wp-async.
         *   -ENOTTY  the kernel has no PAGEMAP_SCAN (before 6.7).
         *   -ESRCH   the client's mm is gone. */
        int (*pagemap_scan)(int pagemap_fd, struct pm_scan_arg *arg);
        /* process_madvise(pidfd, iov, n_iov, MADV_PAGEOUT, 0): bytes advised (>= 0). The kernel
         * walks the vector in order and stops at the first iovec that fails: it returns the bytes
         * done before it, or that iovec's error when it was the first. Use evict_pageout().
         *   -ESRCH   the client is gone.  -EPERM  no CAP_SYS_NICE.  -EINVAL  unaligned start,
         *   n_iov > IOV_MAX.  -ENOMEM  part of the first iovec is unmapped (the mapped part was
         *   still paged out).  -EINTR  a fatal signal, or a restart that cannot be repeated. */
        ssize_t (*pageout)(int pidfd, const struct iovec *iov, size_t n_iov);
        /* Non-blocking read of up to n messages: the number read, 0 when none is pending. The uffd
         * must be O_NONBLOCK (uffd_open() creates it so; a handed-over fd must be set with
         * fcntl()), or this blocks.
         *   -EINVAL  the fd has not been through UFFDIO_API yet. */
        ssize_t (*read_msgs)(int uffd, struct uffd_msg *msgs, size_t n);
        /* Whether the address space a pagemap fd was opened on still exists: 1 yes, 0 gone,
         * -errno. A pagemap fd holds on to the mm it was opened for, and reads nothing once
         * that mm has no users: after the process exited, and also after it exec'd, when the
         * pidfd already refers to a new program (and process_madvise would act on it). */
        int (*mm_alive)(int pagemap_fd);
} KernelOps;

extern const KernelOps kernel_ops_real;

/* A new userfaultfd (O_CLOEXEC|O_NONBLOCK) on the calling process's own mm, for the tests of this
 * layer: uffd_create() (uffd-create.h) without fallback. dev_path == NULL skips the device
 * (UFFD_DEVICE_PATH). user_mode_only: UFFD_USER_MODE_ONLY, kernel-mode accesses (read(2) into the
 * buffer) then fail with EFAULT instead of faulting. The fd still needs UFFDIO_API. Returns the
 * syscall's error when both fail. */
int uffd_open(const char *dev_path, bool user_mode_only, int *ret_fd);

/* "pagefault", "fork", "remap", "remove", "unmap"; NULL for an unknown event. */
const char *uffd_event_to_string(uint8_t event);

/* The one retry policy for EAGAIN from a uffd ioctl, which means an event (fork, remap, unmap,
 * remove) is pending: read the events (read_events, an int expression: -ESRCH when the process
 * is gone), then try again, at most UFFD_EAGAIN_RETRIES times, since a busy process could keep
 * producing events. Only outside the uffd's own event reader, which is never re-entered. */
#define UFFD_EAGAIN_RETRIES 16
#define UFFD_RETRY_EAGAIN(expr, read_events)                              \
        ({                                                                \
                int _r_;                                                  \
                for (unsigned _i_ = 0;; _i_++) {                          \
                        _r_ = (int) (expr);                               \
                        if (_r_ != -EAGAIN || _i_ >= UFFD_EAGAIN_RETRIES) \
                                break;                                    \
                        if ((read_events) == -ESRCH) {                    \
                                _r_ = -ESRCH;                             \
                                break;                                    \
                        }                                                 \
                }                                                         \
                _r_;                                                      \
        })
