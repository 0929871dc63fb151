/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* PAGEMAP_SCAN reader: walks [start, end) of a client's address space through
 * KernelOps.pagemap_scan, continuing at walk_end whenever the kernel stops early, and collects the
 * matching pages as page_region runs (end exclusive). */

#include <stddef.h>
#include <stdint.h>

#include "uapi.h"
#include "uffd.h"

/* Regions handed to the kernel per ioctl. 512 is also the kernel's internal bounce buffer
 * (PAGEMAP_WALK_SIZE >> PAGE_SHIFT), so larger buffers buy little. 12 KiB on the stack. */
#define PAGEMAP_SCAN_BATCH_REGIONS 512

/* A growable vector of page regions, sorted by address when filled by pagemap_scan_range(). */
typedef struct PageRegionVec {
        struct page_region *regions;
        size_t n;
        size_t allocated;
} PageRegionVec;

/* Frees the storage and resets to empty; accepts a zero-initialised vector. */
void page_region_vec_done(PageRegionVec *v);
/* Forgets the regions, keeps the storage (for reuse every cycle). */
void page_region_vec_clear(PageRegionVec *v);
/* Appends [start, end) with categories; extends the last region instead when it ends at start
 * with the same categories. -EINVAL for start >= end, -ENOMEM. */
int page_region_vec_append(PageRegionVec *v, uint64_t start, uint64_t end, uint64_t categories);
/* Sum of region lengths. */
uint64_t page_region_vec_bytes(const PageRegionVec *v);
/* ORs `categories` into every page of v covered by a region of add, inserting pages that v
 * lacks with exactly `categories`; pages outside add keep theirs. Both must be sorted and
 * disjoint (as pagemap_scan_range() leaves them); the result is too, with adjacent regions of
 * equal categories merged. For the wp-async backend: overlay the written pages of the
 * re-arming scan onto the picture taken just before it. -EINVAL for unsorted input, -ENOMEM (v
 * unchanged). */
int page_region_vec_overlay(PageRegionVec *v, const PageRegionVec *add, uint64_t categories);

/* Scans [start, end) (page-aligned, start < end) and appends the matching regions to out,
 * merging adjacent regions of equal categories (the kernel splits runs at its own buffer and
 * call boundaries). flags: PM_SCAN_*; the masks are those of struct pm_scan_arg (category_inverted
 * is 0: match on set bits). return_mask selects the categories reported per region.
 *
 * max_pages: a budget for the whole call (0 = none), counted in matching pages. With
 * PM_SCAN_WP_MATCHING only the pages reported are re-write-protected: matching pages beyond the
 * budget stay written and are reported again by the next scan, so nothing is lost, but the walk
 * must be resumed to see them.
 *
 * Returns 0 when the whole range was walked, 1 when it stopped at max_pages before end (then
 * resume at the end of out's last region: the kernel stops exactly after the last page it
 * reported, and no matching page lies in between). On failure returns the ioctl's -errno
 * unchanged (-ESRCH: client gone; -ENOTTY/-EINVAL: no PAGEMAP_SCAN or an unknown flag/category
 * on this kernel; -EPERM: PM_SCAN_CHECK_WPASYNC and a VMA not registered wp-async) and out is
 * restored to what it held before the call. With PM_SCAN_WP_MATCHING the pages of the calls
 * that succeeded before the failure have been re-protected all the same: their written state is
 * lost, so treat the range as untracked for this cycle. -EIO if the kernel's walk_end goes
 * backwards or makes no progress.
 *
 * Kernel quirk (seen on 6.18): in a MODE_WP range of a WP_UNPOPULATED uffd, write-protecting an
 * unpopulated page installs a PTE marker, and PAGEMAP_SCAN reports a marker like a swap entry:
 * PAGE_IS_SWAPPED, not WRITTEN. So in wp-async ranges SWAPPED means "swapped out or never
 * populated"; only PRESENT is a reliable residency signal there. A page swapped out while
 * protected keeps the uffd-wp bit on its swap entry: a read brings it back PRESENT and still not
 * WRITTEN (the wp-async refault signal), a write makes it WRITTEN. */
int pagemap_scan_range(const KernelOps *ops, int pagemap_fd, uint64_t start, uint64_t end,
                       uint64_t flags, uint64_t category_mask, uint64_t category_anyof_mask,
                       uint64_t return_mask, uint64_t max_pages, PageRegionVec *out);
