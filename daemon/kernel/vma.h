/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a process has mapped where, and whether a range of it is registered with a userfaultfd:
 * the checks a range must pass before and after the daemon registers it with the process's uffd.
 *
 * Every function here costs in proportion to the range asked about, never to the whole process:
 * the VMAs come from the PROCMAP_QUERY ioctl on /proc/PID/maps (Linux 6.11+: one query per VMA
 * overlapping the range), or, on older kernels, from /proc/PID/maps read line by line up to the
 * range's end (the maps file walks no page tables, unlike smaps). The registration proof is a
 * PAGEMAP_SCAN over just the range.
 *
 * Three layers, so tests can feed fixtures:
 *   vma_check_list()       pure: an array of VMA descriptions + a range -> 0 or -errno + message;
 *   vma_parse_maps_line()  pure: one /proc/PID/maps line -> a VmaInfo;
 *   vma_query_range(), vma_read_maps_range(), vma_check_range(), vma_range_is_registered()  I/O.
 *
 * Refusal messages (sd_bus_error) go to the peer: they name the requested range, the part of it
 * at fault and the kind of problem, never a path, an inode or the layout outside the range. The
 * details go to a debug log line. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "uffd.h"

/* VmaInfo.perms bits: the same values as PROCMAP_QUERY_VMA_* (so the ioctl's vma_flags is used
 * as is). SHARED means VM_MAYSHARE: 's' in the maps file. */
#define VMA_PERM_READ 0x01
#define VMA_PERM_WRITE 0x02
#define VMA_PERM_EXEC 0x04
#define VMA_PERM_SHARED 0x08

/* What a VMA's name says about it (VmaInfo.name_kind): what following a whole process needs to
 * tell the heap and named anonymous memory from the main stack and the kernel's special
 * mappings. */
typedef enum VmaNameKind {
        VMA_NAME_NONE = 0, /* no name: anonymous memory (or a thread stack), or not read */
        VMA_NAME_HEAP, /* "[heap]": the brk area */
        VMA_NAME_STACK, /* "[stack]": the main thread's stack, which grows down */
        VMA_NAME_ANON, /* "[anon:...]": anonymous memory named with PR_SET_VMA_ANON_NAME */
        VMA_NAME_OTHER, /* a file's path, "[vdso]", "[vvar]", "[anon_shmem:...]", ... */
} VmaNameKind;

/* Pure. The kind of a VMA name as /proc/PID/maps or PROCMAP_QUERY give it (len bytes, no NUL
 * needed; len 0: no name). */
VmaNameKind vma_name_kind(const char *name, size_t len);

typedef struct VmaInfo {
        uint64_t start, end; /* [start, end), page-aligned */
        uint32_t perms; /* VMA_PERM_* */
        uint64_t page_size; /* the kernel's page size for the VMA (hugetlb: the huge page size);
                                * 0 when unknown (the maps file does not say) */
        uint64_t inode; /* 0 for anonymous memory; non-zero for files, shmem (MAP_SHARED
                                * anonymous memory is a shmem file) and hugetlbfs */
        uint32_t dev_major, dev_minor;
        uint8_t name_kind; /* VmaNameKind; VMA_NAME_NONE unless the reader was asked for names */
} VmaInfo;

/* A growable array of VMAs, ascending, as the readers below fill it. */
typedef struct VmaVec {
        VmaInfo *vmas;
        size_t n;
        size_t allocated;
} VmaVec;

/* Frees the storage and resets to empty; accepts a zero-initialised vector. */
void vma_vec_done(VmaVec *v);

/* Pure. Checks that [start, end) is entirely covered by private, anonymous, accessible (not
 * PROT_NONE), non-hugetlb VMAs. v: ascending, non-overlapping; entries outside the range are
 * ignored. Returns 0, or -EFAULT (a hole: part of the range is not mapped), -EACCES (PROT_NONE),
 * -EOPNOTSUPP (hugetlb, shared, or file-backed; checked in that order, the first problem in
 * address order wins), -EINVAL (start >= end), with ret_error (may be NULL) set to a message that
 * names the offending part of the range, clipped to [start, end). */
int vma_check_list(const VmaInfo *v, size_t n, uint64_t start, uint64_t end,
                   sd_bus_error *ret_error);

/* Pure. Parses one /proc/PID/maps line ("start-end perms offset major:minor inode   name",
 * trailing newline optional). Returns the length of the name, which ends at the newline or at the
 * end of the string; ret_name (may be NULL) points into line at it (length 0: no name;
 * "[heap]", "/path (deleted)" and names with spaces come whole).
 * page_size is 0: the maps file does not say, so hugetlb memory reads as file-backed (it is a
 * hugetlbfs file: inode != 0) and is refused all the same. -EINVAL on a malformed line. */
int vma_parse_maps_line(const char *line, VmaInfo *ret, const char **ret_name);

/* The VMAs overlapping [start, end) of the process whose /proc/PID/maps is open on maps_fd,
 * appended to out, by PROCMAP_QUERY (PROCMAP_QUERY_COVERING_OR_NEXT_VMA from start, then from
 * each VMA's end). -ENOTTY or -EINVAL from the first query: this kernel has no PROCMAP_QUERY
 * (before 6.11), use vma_read_maps_range(). -ESRCH the process is gone; -ENOMEM. On failure out
 * is as before. */
int vma_query_range(int maps_fd, uint64_t start, uint64_t end, VmaVec *out);
/* The same, stopping after max_vmas VMAs (0: no limit). */
int vma_query_range_max(int maps_fd, uint64_t start, uint64_t end, size_t max_vmas, VmaVec *out);
/* The same with each VMA's name_kind filled in (the name is asked of PROCMAP_QUERY too). */
int vma_query_range_named(int maps_fd, uint64_t start, uint64_t end, size_t max_vmas, VmaVec *out);

/* The same from a /proc/PID/maps stream, read line by line (getline, one line buffer) and only
 * up to the first VMA at or beyond end. -EINVAL on a malformed line, -EIO on a read error. On
 * failure out is as before. */
int vma_read_maps_range(FILE *maps, uint64_t start, uint64_t end, VmaVec *out);
/* The same, stopping after max_vmas VMAs (0: no limit), as vma_query_range_max(). */
int vma_read_maps_range_max(FILE *maps, uint64_t start, uint64_t end, size_t max_vmas, VmaVec *out);

/* A whole process's layout, for following it (follow.h), read in slices: a walk opens
 * PROC_ROOT/PID/maps once (with the caller's credentials in force: the kernel's ptrace check is
 * made at open), then each vma_walk_step() appends the next VMAs, at most max_vmas of them, with
 * their name_kind, from PROCMAP_QUERY, or on kernels without it (and fake proc roots) from the
 * maps file, streamed line by line. Returns 1 when more is left, 0 when the walk reached the
 * end of the address space, -ESRCH when the process (or its address space) is gone, -errno. */
typedef struct VmaWalk {
        int fd;
        FILE *stream; /* the maps fallback; owns fd then */
        uint64_t cursor;
        bool done;
} VmaWalk;

int vma_walk_open(const char *proc_root, pid_t pid, VmaWalk *ret);
int vma_walk_step(VmaWalk *w, size_t max_vmas, VmaVec *out);
void vma_walk_done(VmaWalk *w);

/* I/O. vma_check_list() on the VMAs of PROC_ROOT/PID/maps that overlap [start, end), taken with
 * vma_query_range() or, when the kernel lacks PROCMAP_QUERY or the file is not a real proc file (a
 * fixture under a fake proc root), vma_read_maps_range(). Returns what vma_check_list() returns,
 * or -ESRCH (the process is gone), -EIO/-ENOMEM/-errno (cannot read its map), always with a
 * message in ret_error. Refusals are logged at debug level with the offending VMAs' bounds,
 * permissions, page size, device and inode. max_vmas (0: no limit) bounds the work of one call
 * (PROCMAP_QUERY and the maps fallback alike): when the range has more VMAs,
 * only [start, the end of the max_vmas-th) is checked, and *ret_end (may be NULL) says where the
 * check stopped (end when it covered the whole range). */
int vma_check_range(const char *proc_root, pid_t pid, uint64_t start, uint64_t end, size_t max_vmas,
                    uint64_t *ret_end, sd_bus_error *ret_error);

/* What vma_range_is_registered() found. */
enum {
        VMA_REGISTERED_NONE = 0, /* no page of the range is registered (as far as can be seen) */
        VMA_REGISTERED_ALL = 1, /* every page is */
        VMA_REGISTERED_PART = 2, /* some are, some are not */
};

/* Whether [start, end) (page-aligned, start < end) of the process whose /proc/PID/pagemap is open
 * on pagemap_fd is registered with a userfaultfd in register_mode, by one PAGEMAP_SCAN over just
 * the range (ops->pagemap_scan). Used twice around UFFDIO_REGISTER: after it, VMA_REGISTERED_ALL
 * proves that the handed-over uffd acts on this process's memory (a uffd created by another
 * process registers that process's mm); before it, anything but VMA_REGISTERED_NONE means the
 * range is already registered with some other userfaultfd, whose registration would make the
 * proof after REGISTER succeed although ours went elsewhere: refuse then.
 *
 * UFFDIO_REGISTER_MODE_WP (wp-async backend): PAGE_IS_WPALLOWED, which the kernel sets on every
 * page, populated or not, of a VMA registered MODE_WP with a uffd that has UFFD_FEATURE_WP_ASYNC
 * and WP_UNPOPULATED (seen on 6.18 and 7.3). Complete: holes and other VMAs read as not
 * registered. A VMA registered MODE_MISSING, or MODE_WP on a uffd without WP_ASYNC, does not show:
 * neither can make the proof succeed falsely (the pre-check's only purpose).
 *
 * UFFDIO_REGISTER_MODE_RWP (rwp backend, 7.3): the kernel sets PAGE_IS_WPALLOWED only for MODE_WP
 * VMAs, never for RWP ones (seen on 7.3, tests/vm/rwp-check --registration). What shows is
 * PAGE_IS_ACCESSED, "in an RWP range and not protected": right after REGISTER (before the first
 * UFFDIO_RWPROTECT) every populated (present or swapped) page of an RWP-registered VMA reads
 * ACCESSED, and a populated page outside RWP ranges never does; unpopulated pages read the same
 * either way. So ALL/PART/NONE count populated pages only, and -ENODATA says the range has no
 * populated page: nothing to see, no proof either way. (A complete RWP proof needs a uffd that
 * also negotiated WP_ASYNC|WP_UNPOPULATED: register MODE_WP first, prove with MODE_WP, then
 * unregister and register MODE_RWP; seen working on 7.3.) Only meaningful before the range is
 * first protected: protected pages read as not accessed.
 *
 * Errors: -EINVAL (unaligned or empty range, a mode other than WP or RWP, or ACCESSED unknown to
 * this kernel: no RWP), -ENOTTY (no PAGEMAP_SCAN), -ESRCH (the process is gone), -ENODATA (RWP,
 * see above), and whatever else the ioctl returns. */
int vma_range_is_registered(const KernelOps *ops, int pagemap_fd, uint64_t start, uint64_t end,
                            uint64_t register_mode);

/* Whether the userfaultfd uffd (registered in mode: MODE_WP wp-async, or MODE_RWP) acts on the
 * address space whose pagemap is open on pagemap_fd, in [start, end): a present page there is
 * changed through uffd twice, in opposite directions, and each change must show in that pagemap
 * (wp-async: unprotected, it reads PAGE_IS_WRITTEN; protected again, it does not. rwp: protected,
 * it reads as not ACCESSED; unprotected again, it does). PAGE_IS_WPALLOWED cannot tell, nor can
 * ACCESSED alone: two children forked from one client both carry its registrations, and a child
 * that touched its memory reads accessed; only a change made through the uffd and seen in one
 * pagemap pairs them. wp-async leaves the page protected (seen as not written: it may turn cold
 * a cycle early), rwp unprotected (hot). 1: paired; 0: not (the uffd acts on another mm, or the
 * page changed under the check); -ENODATA: no present page in the range to try on; -EINVAL;
 * -errno from the kernel (-ESRCH: the uffd's or the pagemap's mm is gone; -EAGAIN: an event of
 * that uffd is pending). */
int vma_uffd_pairs(const KernelOps *ops, int uffd, int pagemap_fd, uint64_t start, uint64_t end,
                   uint64_t mode);
