/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <limits.h>

#include "evict.h"
#include "macro.h"

/* The kernel's import_iovec() silently cuts a vector at MAX_RW_COUNT (INT_MAX rounded down to a
 * page): keep an unlimited batch below that so one call does what the batch says. */
static uint64_t batch_bytes_cap(uint64_t page_size) {
        return ALIGN_DOWN((uint64_t) INT_MAX, page_size);
}

int evict_build_batch(const AddrRun *runs, size_t n_runs, EvictCursor *cursor, uint64_t max_bytes,
                      struct iovec *iov, size_t max_iov, uint64_t *ret_bytes) {
        const uint64_t ps = page_size();
        uint64_t bytes = 0, off = cursor->offset;
        size_t run = cursor->run, n = 0;

        if (max_iov == 0)
                return -EINVAL;
        max_bytes = MIN(max_bytes == 0 ? UINT64_MAX : ALIGN_DOWN(max_bytes, ps),
                        batch_bytes_cap(ps));
        if (max_bytes == 0)
                return -EINVAL;
        if (run > n_runs || (run == n_runs && off != 0))
                return -EINVAL;

        while (run < n_runs && n < max_iov && bytes < max_bytes) {
                const AddrRun *r = &runs[run];
                uint64_t pos, left, take;

                if (r->start > r->end || !IS_ALIGNED(r->start, ps) || !IS_ALIGNED(r->end, ps) ||
                    off > r->end - r->start || !IS_ALIGNED(off, ps))
                        return -EINVAL;

                pos = r->start + off;
                left = r->end - pos;
                take = MIN(left, max_bytes - bytes);
                if (take < left && (r->flags & ADDR_RUN_HUGE)) {
                        uint64_t cut = ALIGN_DOWN(pos + take, EVICT_HUGE_BYTES);

                        if (cut > pos)
                                take = cut - pos;
                        else if (n == 0)
                                /* Not even one huge page fits: send it whole anyway. */
                                take = MIN(left, ALIGN_UP(pos + 1, EVICT_HUGE_BYTES) - pos);
                        else
                                break;
                }

                if (take > 0) {
                        iov[n++] = (struct iovec){
                                .iov_base = (void *) (uintptr_t) pos,
                                .iov_len = (size_t) take,
                        };
                        bytes += take;
                        off += take;
                }
                if (off == r->end - r->start) {
                        run++;
                        off = 0;
                }
        }

        cursor->run = run;
        cursor->offset = off;
        *ret_bytes = bytes;
        return (int) n;
}

/* Moves (*i, *off) forward by done bytes over iov; false if that runs past the end. */
static bool iov_advance(const struct iovec *iov, size_t n_iov, size_t *i, size_t *off,
                        uint64_t done, uint64_t *done_per_iov) {
        while (done > 0) {
                uint64_t rest;

                if (*i >= n_iov)
                        return false;
                rest = iov[*i].iov_len - *off;
                if (done < rest) {
                        if (done_per_iov)
                                done_per_iov[*i] += done;
                        *off += (size_t) done;
                        return true;
                }
                done -= rest;
                if (done_per_iov)
                        done_per_iov[*i] += rest;
                (*i)++;
                *off = 0;
        }
        return true;
}

int evict_pageout(const KernelOps *ops, int pidfd, const struct iovec *iov, size_t n_iov,
                  uint64_t *ret_bytes, uint64_t *ret_done_per_iov) {
        uint64_t advised = 0;
        size_t i = 0, off = 0; /* resume point: iov[i], off bytes into it */
        bool retried = false;

        if (ret_done_per_iov)
                memset(ret_done_per_iov, 0, n_iov * sizeof *ret_done_per_iov);

        while (i < n_iov) {
                const struct iovec *v = iov + i;
                size_t n = n_iov - i;
                struct iovec head;
                ssize_t l;

                if (iov[i].iov_len == off) {
                        i++;
                        off = 0;
                        continue;
                }
                if (off > 0) {
                        /* Resume inside an iovec: send its tail alone, the rest untouched next
                         * time round, so the caller's array needs no copy. */
                        head = (struct iovec){
                                .iov_base = (uint8_t *) iov[i].iov_base + off,
                                .iov_len = iov[i].iov_len - off,
                        };
                        v = &head;
                        n = 1;
                }

                l = ops->pageout(pidfd, v, n);
                if (l < 0) {
                        if ((l == -EINTR || l == -EAGAIN) && !retried) {
                                retried = true;
                                continue;
                        }
                        if (l == -ENOMEM) {
                                /* The first iovec reaches unmapped memory. Its mapped part was
                                 * paged out anyway; skip it, the UNMAP event will follow. */
                                i++;
                                off = 0;
                                retried = false;
                                continue;
                        }
                        *ret_bytes = advised;
                        return (int) l;
                }
                if (l == 0 || !iov_advance(iov, n_iov, &i, &off, (uint64_t) l, ret_done_per_iov)) {
                        /* Nothing done and no error while bytes are left (would spin), or more
                         * done than asked. */
                        *ret_bytes = advised;
                        return -EIO;
                }
                advised += (uint64_t) l;
                retried = false;
        }

        *ret_bytes = advised;
        return 0;
}
