/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Kernel UAPI definitions that Debian 12's 6.1 headers lack: userfaultfd WP_UNPOPULATED, WP_ASYNC,
 * MOVE and read-write protection (RWP, Linux 7.3), PAGEMAP_SCAN (6.7) with its categories,
 * PROCMAP_QUERY (6.11), and a few syscall/socket constants. Every definition is guarded so that a
 * newer system header wins; values are ABI and come from docs/kernel-interfaces or the kernel's
 * linux/fs.h (checked on 6.18 and a 7.3 guest). tests/unit/test-uapi.c checks sizes, offsets and
 * ioctl numbers (test-vma.c those of PROCMAP_QUERY). */

#include <linux/fs.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

/* ---- userfaultfd features ---- */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16)
#endif
#ifndef UFFD_FEATURE_RWP
#define UFFD_FEATURE_RWP (1 << 17)
#endif
#ifndef UFFD_FEATURE_RWP_ASYNC
#define UFFD_FEATURE_RWP_ASYNC (1 << 18)
#endif

/* ---- registration modes and fault flags ---- */
#ifndef UFFDIO_REGISTER_MODE_RWP
#define UFFDIO_REGISTER_MODE_RWP ((__u64) 1 << 3)
#endif
#ifndef UFFD_PAGEFAULT_FLAG_RWP
#define UFFD_PAGEFAULT_FLAG_RWP (1 << 3)
#endif

/* ---- ioctls ---- */
#ifndef _UFFDIO_MOVE
#define _UFFDIO_MOVE (0x05)
#endif
#ifndef _UFFDIO_POISON
#define _UFFDIO_POISON (0x08)
#endif
#ifndef _UFFDIO_RWPROTECT
#define _UFFDIO_RWPROTECT (0x09)
#endif
#ifndef _UFFDIO_SET_MODE
#define _UFFDIO_SET_MODE (0x0A)
#endif

#ifndef UFFDIO_MOVE
struct uffdio_move {
        __u64 dst;
        __u64 src;
        __u64 len;
#define UFFDIO_MOVE_MODE_DONTWAKE ((__u64) 1 << 0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES ((__u64) 1 << 1)
        __u64 mode;
        __s64 move;
};
#define UFFDIO_MOVE _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif

#ifndef UFFDIO_RWPROTECT
struct uffdio_rwprotect {
        struct uffdio_range range;
#define UFFDIO_RWPROTECT_MODE_RWP ((__u64) 1 << 0)
#define UFFDIO_RWPROTECT_MODE_DONTWAKE ((__u64) 1 << 1)
        __u64 mode;
};
#define UFFDIO_RWPROTECT _IOWR(UFFDIO, _UFFDIO_RWPROTECT, struct uffdio_rwprotect)
#endif

#ifndef UFFDIO_SET_MODE
struct uffdio_set_mode {
        __u64 enable;
        __u64 disable;
};
#define UFFDIO_SET_MODE _IOW(UFFDIO, _UFFDIO_SET_MODE, struct uffdio_set_mode)
#endif

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC 0xAA
#define USERFAULTFD_IOC_NEW _IO(USERFAULTFD_IOC, 0x00)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

/* ---- PAGEMAP_SCAN (linux/fs.h, 6.7) ---- */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#define PAGE_IS_HUGE (1 << 6)
#define PAGE_IS_SOFT_DIRTY (1 << 7)

struct page_region {
        __u64 start;
        __u64 end;
        __u64 categories;
};

#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)

struct pm_scan_arg {
        __u64 size;
        __u64 flags;
        __u64 start;
        __u64 end;
        __u64 walk_end;
        __u64 vec;
        __u64 vec_len;
        __u64 max_pages;
        __u64 category_inverted;
        __u64 category_mask;
        __u64 category_anyof_mask;
        __u64 return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD (1 << 8)
#endif
#ifndef PAGE_IS_ACCESSED
#define PAGE_IS_ACCESSED (1 << 9)
#endif

/* ---- PROCMAP_QUERY (linux/fs.h, 6.11): one VMA per ioctl on an fd of /proc/PID/maps ---- */
#ifndef PROCMAP_QUERY
enum procmap_query_flags {
        PROCMAP_QUERY_VMA_READABLE = 0x01,
        PROCMAP_QUERY_VMA_WRITABLE = 0x02,
        PROCMAP_QUERY_VMA_EXECUTABLE = 0x04,
        PROCMAP_QUERY_VMA_SHARED = 0x08,
        PROCMAP_QUERY_COVERING_OR_NEXT_VMA = 0x10,
        PROCMAP_QUERY_FILE_BACKED_VMA = 0x20,
};

struct procmap_query {
        __u64 size;          /* in: sizeof(struct procmap_query) */
        __u64 query_flags;   /* in: PROCMAP_QUERY_* */
        __u64 query_addr;    /* in */
        __u64 vma_start;     /* out */
        __u64 vma_end;       /* out (exclusive) */
        __u64 vma_flags;     /* out: PROCMAP_QUERY_VMA_* */
        __u64 vma_page_size; /* out: the huge page size for hugetlb */
        __u64 vma_offset;    /* out */
        __u64 inode;         /* out */
        __u32 dev_major;     /* out */
        __u32 dev_minor;     /* out */
        __u32 vma_name_size; /* in/out */
        __u32 build_id_size; /* in/out */
        __u64 vma_name_addr; /* in */
        __u64 build_id_addr; /* in */
};

#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#endif

/* The SET_MODE bit in uffdio_api.ioctls: how an RWP kernel says UFFDIO_SET_MODE exists. */
#define UFFD_API_IOCTL_SET_MODE_BIT ((__u64) 1 << _UFFDIO_SET_MODE)
#define UFFD_RANGE_IOCTL_RWPROTECT_BIT ((__u64) 1 << _UFFDIO_RWPROTECT)

/* ---- syscalls and socket options newer than the headers ---- */
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_process_madvise
#define __NR_process_madvise 440
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
