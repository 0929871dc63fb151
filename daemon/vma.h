/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a process has mapped where: the checks a range must pass before the daemon registers it
 * with the process's userfaultfd. The parser is pure (it takes /proc/PID/smaps text), so tests
 * feed it fixtures; vma_read_smaps() is the one place that reads the file. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Checks that [start, end) is entirely covered by private anonymous, accessible (not
 * PROT_NONE), non-hugetlb mappings. On failure returns -EFAULT (unmapped), -EACCES (PROT_NONE),
 * -EOPNOTSUPP (file-backed, shared or hugetlb) with a message naming the offending mapping. */
int vma_check_range(const char *smaps, uint64_t start, uint64_t end, char *errbuf, size_t errlen);

/* True if every mapping overlapping [start, end) carries a userfaultfd flag in VmFlags
 * ("um", "uw", "ui", or the RWP one): used after UFFDIO_REGISTER to prove that the uffd the
 * peer handed over acts on the peer's own memory and not on some other process's. */
bool vma_range_has_uffd_flag(const char *smaps, uint64_t start, uint64_t end);

/* Reads PROC_ROOT/PID/smaps into a NUL-terminated buffer. */
int vma_read_smaps(const char *proc_root, pid_t pid, char **ret);

/* ---- interim API (the range-proportional rewrite replaces the smaps walk) ---- */
#include <systemd/sd-bus.h>
#include "uffd.h"
int vma_check_range_pid(const char *proc_root, pid_t pid, uint64_t start, uint64_t end,
                        sd_bus_error *ret_error);
#define vma_check_range_new vma_check_range_pid
/* 1 if every page of [start, end) is in a VMA registered with an async write-protect uffd
 * (PAGE_IS_WPALLOWED on the peer's own pagemap), 0 if not, -errno. */
int vma_range_is_registered(const KernelOps *ops, int pagemap_fd, uint64_t start, uint64_t end);
