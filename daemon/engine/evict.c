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

/* Both caps keep the byte-microsecond arithmetic below within 64 bits (2^40 * 10^6 < 2^60):
 * 1 TiB/s and a 1 TiB burst are "unlimited" for paging out. */
#define RATELIMIT_RATE_MAX_BYTES_PER_SEC (UINT64_C(1) << 40)
#define RATELIMIT_BURST_MAX_BYTES (UINT64_C(1) << 40)

void ratelimit_init(RateLimit *rl, uint64_t rate_bytes_per_sec, uint64_t burst_bytes,
                    uint64_t now_usec) {
        uint64_t rate = MIN(rate_bytes_per_sec, RATELIMIT_RATE_MAX_BYTES_PER_SEC);
        uint64_t burst = MIN(burst_bytes == 0 ? rate : burst_bytes, RATELIMIT_BURST_MAX_BYTES);

        *rl = (RateLimit){
                .rate_bytes_per_sec = rate,
                .burst_bytes = burst,
                .tokens_bytes = burst,
                .last_usec = now_usec,
        };
}

static void ratelimit_refill(RateLimit *rl, uint64_t now_usec) {
        uint64_t elapsed, secs, part, add, s;

        if (now_usec <= rl->last_usec)
                return;
        elapsed = now_usec - rl->last_usec;
        rl->last_usec = now_usec;
        if (rl->tokens_bytes >= rl->burst_bytes) {
                rl->frac = 0;
                return;
        }

        /* floor((elapsed * rate + frac) / 10^6) without overflowing: whole seconds give whole
         * bytes; the sub-second part (< 10^6 * 2^40) carries its remainder in frac. */
        secs = elapsed / USEC_PER_SEC;
        part = (elapsed % USEC_PER_SEC) * rl->rate_bytes_per_sec + rl->frac;
        add = part / USEC_PER_SEC;
        if (__builtin_mul_overflow(secs, rl->rate_bytes_per_sec, &s) ||
            __builtin_add_overflow(add, s, &add))
                add = UINT64_MAX;

        if (add >= rl->burst_bytes - rl->tokens_bytes) {
                rl->tokens_bytes = rl->burst_bytes;
                rl->frac = 0;
        } else {
                rl->tokens_bytes += add;
                rl->frac = part % USEC_PER_SEC;
        }
}

uint64_t ratelimit_take(RateLimit *rl, uint64_t now_usec, uint64_t want_bytes) {
        uint64_t n;

        if (rl->rate_bytes_per_sec == 0)
                return want_bytes;
        ratelimit_refill(rl, now_usec);
        n = MIN(want_bytes, rl->tokens_bytes);
        rl->tokens_bytes -= n;
        return n;
}

void ratelimit_refund(RateLimit *rl, uint64_t bytes) {
        if (rl->rate_bytes_per_sec == 0)
                return;
        rl->tokens_bytes += MIN(bytes, rl->burst_bytes - rl->tokens_bytes);
}

uint64_t ratelimit_delay_usec(const RateLimit *rl, uint64_t now_usec, uint64_t want_bytes) {
        RateLimit t = *rl;
        uint64_t need;

        if (rl->rate_bytes_per_sec == 0)
                return 0;
        ratelimit_refill(&t, now_usec);
        want_bytes = MIN(want_bytes, t.burst_bytes);
        if (t.tokens_bytes >= want_bytes)
                return 0;

        /* In byte-microseconds: after d usec the bucket has gained floor((d*rate + frac)/10^6)
         * bytes; the smallest d reaching `need` bytes is ceil((need*10^6 - frac) / rate). */
        need = (want_bytes - t.tokens_bytes) * USEC_PER_SEC - t.frac;
        return DIV_ROUND_UP(need, t.rate_bytes_per_sec);
}
