/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one place a userfaultfd is created: the daemon's kernel layer (uffd_open()), the probe's
 * throwaway fd and libuffdtier all come here, so they agree on the order of attempts and on what
 * is reported about the result. Never logs (the client library links this): the caller decides
 * what to say, from the returned -errno and UffdCreateInfo. */

#include <stdbool.h>

#define UFFD_DEVICE_PATH "/dev/userfaultfd"

/* How a userfaultfd was obtained. */
typedef enum UffdSource {
        UFFD_SOURCE_NONE, /* not obtained */
        UFFD_SOURCE_DEV, /* ioctl(USERFAULTFD_IOC_NEW) on the device node */
        UFFD_SOURCE_SYSCALL, /* userfaultfd(2) */
        _UFFD_SOURCE_MAX,
} UffdSource;

typedef enum UffdCreateFlags {
        /* Ask for UFFD_USER_MODE_ONLY from the start: kernel-mode accesses to registered memory
         * (read(2) into it, O_DIRECT) then fail with EFAULT instead of faulting. */
        UFFD_CREATE_USER_MODE_ONLY = 1u << 0,
        /* When a full userfaultfd is refused with EPERM (vm.unprivileged_userfaultfd = 0, no
         * CAP_SYS_PTRACE, no access to the device), settle for UFFD_USER_MODE_ONLY, which the
         * syscall always permits. Without this flag that EPERM is returned. */
        UFFD_CREATE_FALLBACK_USER_MODE_ONLY = 1u << 1,
        _UFFD_CREATE_FLAGS_ALL = UFFD_CREATE_USER_MODE_ONLY | UFFD_CREATE_FALLBACK_USER_MODE_ONLY,
} UffdCreateFlags;

typedef struct UffdCreateInfo {
        UffdSource source; /* UFFD_SOURCE_DEV or UFFD_SOURCE_SYSCALL */
        bool user_mode_only; /* created with UFFD_USER_MODE_ONLY (asked for, or fallen back to) */
        /* Why the device was not used: open()'s or the ioctl's -errno; 0 when the device gave
         * the fd or was not tried (dev_path NULL). */
        int dev_error;
} UffdCreateInfo;

/* A new userfaultfd, O_CLOEXEC|O_NONBLOCK, on the calling process's own mm, not yet through
 * UFFDIO_API. Tries, in order:
 *   1. USERFAULTFD_IOC_NEW on dev_path (6.1+; access to the node is the permission, regardless of
 *      vm.unprivileged_userfaultfd), unless dev_path is NULL;
 *   2. userfaultfd(2) (needs CAP_SYS_PTRACE when vm.unprivileged_userfaultfd = 0, unless
 *      UFFD_USER_MODE_ONLY);
 *   3. with UFFD_CREATE_FALLBACK_USER_MODE_ONLY and an EPERM from 2: userfaultfd(2) with
 *      UFFD_USER_MODE_ONLY.
 * Returns the fd (>= 0), or the syscall's -errno: the one of step 3 when it ran, except -EINVAL
 * (a kernel before 5.11 without UFFD_USER_MODE_ONLY), where step 2's -EPERM says more. -EINVAL
 * for unknown flags. ret_info (may be NULL) is written only on success. */
int uffd_create(const char *dev_path, UffdCreateFlags flags, UffdCreateInfo *ret_info);
