/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A token bucket, pure: the eviction bandwidth all clients share (in bytes) and the handoff
 * socket's connections per uid (in connections) both take from one. */

#include <stdint.h>

/* Token bucket: `rate_bytes_per_sec` refills continuously, up to `burst_bytes`. Fractions of a
 * byte are carried (frac, in byte-microseconds), so refills add up exactly whatever the tick. */
typedef struct RateLimit {
        uint64_t rate_bytes_per_sec; /* 0 = unlimited */
        uint64_t burst_bytes;
        uint64_t tokens_bytes;
        uint64_t frac; /* partial byte: 0 .. USEC_PER_SEC-1 byte-usec */
        uint64_t last_usec; /* time of the last refill */
} RateLimit;

/* burst_bytes == 0 means one second's worth. Starts full at now_usec. */
void ratelimit_init(RateLimit *rl, uint64_t rate_bytes_per_sec, uint64_t burst_bytes,
                    uint64_t now_usec);
/* Takes up to want_bytes that may go now; returns how many (0 .. want_bytes). A clock that
 * goes backwards refills nothing. */
uint64_t ratelimit_take(RateLimit *rl, uint64_t now_usec, uint64_t want_bytes);
/* Gives back bytes taken but not used (pageout did less), up to the burst. */
void ratelimit_refund(RateLimit *rl, uint64_t bytes);
/* Microseconds from now_usec until want_bytes (clamped to the burst; 1 = the next byte) can be
 * taken; 0 when they can now. */
uint64_t ratelimit_delay_usec(const RateLimit *rl, uint64_t now_usec, uint64_t want_bytes);
