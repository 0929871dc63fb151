/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Eviction helpers: cutting the cold runs into process_madvise(MADV_PAGEOUT) batches (pure), a
 * token-bucket rate limiter in bytes per second (pure, time as a parameter), and the pageout call
 * itself through the KernelOps seam. Eviction is chunked so that a fault never waits long behind
 * it: one batch per event-loop turn. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "rangeset.h"
#include "uffd.h"

/* iovecs per process_madvise() call. The kernel takes up to UIO_MAXIOV (1024) but walks them
 * under the client's mmap lock; 64 keeps each call short. */
#define EVICT_IOV_MAX_DEFAULT 64

/* PMD-mapped transparent huge page (x86_64, arm64 with 4 KiB pages). MADV_PAGEOUT over part of a
 * THP splits it, so runs flagged ADDR_RUN_HUGE are cut only at multiples of this. */
#define EVICT_HUGE_BYTES (UINT64_C(2) << 20)

/* Where the next batch starts: runs[run].start + offset. Zero-initialise to start. */
typedef struct EvictCursor {
        size_t run;
        uint64_t offset;
} EvictCursor;

/* Fills iov[0..max_iov) with the next process_madvise() batch over runs (sorted, disjoint,
 * page-aligned client addresses), starting at *cursor: at most max_iov iovecs and max_bytes
 * bytes (rounded down to a page; 0 = no limit), splitting a run where a limit falls inside it —
 * at a page boundary, or at a EVICT_HUGE_BYTES boundary for an ADDR_RUN_HUGE run. A batch
 * exceeds max_bytes only when it would otherwise be empty because the next cut is a whole huge
 * page: progress beats the byte limit. Empty runs are skipped. Unlimited batches stop below 2 GiB
 * (MAX_RW_COUNT, where the kernel silently truncates the vector).
 *
 * Advances *cursor past the batch and returns the number of iovecs filled, 0 when the runs are
 * exhausted; *ret_bytes is the batch's size. -EINVAL for max_iov 0, max_bytes below a page, an
 * unaligned or inverted run, or a cursor outside the runs (*cursor untouched). Uses the
 * running kernel's page size. */
int evict_build_batch(const AddrRun *runs, size_t n_runs, EvictCursor *cursor, uint64_t max_bytes,
                      struct iovec *iov, size_t max_iov, uint64_t *ret_bytes);

/* Pages out iov[0..n_iov) of the client behind pidfd through ops->pageout, resuming after partial
 * returns (the kernel stops at the first iovec that fails and reports the bytes before it).
 * EINTR and EAGAIN are retried once at the same position. An iovec that fails with ENOMEM (part
 * of it unmapped: the client raced with munmap; the mapped part was still paged out) is skipped
 * and not counted. *ret_bytes: bytes the kernel reported as advised — advised, not necessarily
 * evicted: MADV_PAGEOUT skips pages it cannot reclaim (no swap, pinned, shared), without error.
 * A vector totalling more than MAX_RW_COUNT (2 GiB - 1 page) is cut there by the kernel without an
 * error; that is just another partial return. Returns 0, or -errno on failure (-ESRCH client
 * gone, -EPERM no CAP_SYS_NICE, -EINVAL unaligned, -EIO no progress or more bytes than asked).
 * Unlike other out-parameters, *ret_bytes is written on failure too: pages advised before the
 * failure are paged out all the same and must be accounted. ret_done_per_iov (optional, n_iov
 * entries) receives the bytes paged out of each iovec, so the caller marks exactly those pages:
 * a skipped ENOMEM iovec in the middle makes "the first *ret_bytes bytes" wrong. */
int evict_pageout(const KernelOps *ops, int pidfd, const struct iovec *iov, size_t n_iov,
                  uint64_t *ret_bytes, uint64_t *ret_done_per_iov);
