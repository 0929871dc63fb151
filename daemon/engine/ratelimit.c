/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "macro.h"
#include "ratelimit.h"

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
