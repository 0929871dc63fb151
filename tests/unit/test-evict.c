/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>

#include "evict.h"
#include "ratelimit.h"
#include "macro.h"
#include "test.h"

#define P UINT64_C(4096)
#define MIB (UINT64_C(1) << 20)

typedef struct Piece {
        uint64_t start, len;
} Piece;

/* Runs every batch to exhaustion; checks each against the expected pieces, with batch boundaries
 * given as the number of iovecs per batch. */
static void check_batches(const AddrRun *runs, size_t n_runs, EvictCursor start, uint64_t max_bytes,
                          size_t max_iov, const Piece *want, size_t n_want,
                          const size_t *want_batches, size_t n_want_batches) {
        EvictCursor cursor = start;
        struct iovec iov[EVICT_IOV_MAX_DEFAULT];
        size_t k = 0, b = 0;
        int n;

        ASSERT_TRUE(max_iov <= ELEMENTSOF(iov));
        for (;;) {
                uint64_t bytes = 12345, sum = 0;

                n = evict_build_batch(runs, n_runs, &cursor, max_bytes, iov, max_iov, &bytes);
                ASSERT_OK(n);
                if (n == 0) {
                        ASSERT_U64_EQ(bytes, 0);
                        break;
                }
                ASSERT_TRUE(b < n_want_batches);
                ASSERT_EQ(n, want_batches[b]);
                for (int i = 0; i < n; i++, k++) {
                        ASSERT_TRUE(k < n_want);
                        ASSERT_U64_EQ((uintptr_t) iov[i].iov_base, want[k].start);
                        ASSERT_U64_EQ(iov[i].iov_len, want[k].len);
                        sum += iov[i].iov_len;
                }
                ASSERT_U64_EQ(bytes, sum);
                b++;
        }
        ASSERT_EQ(k, n_want);
        ASSERT_EQ(b, n_want_batches);
        ASSERT_EQ(cursor.run, n_runs);
        ASSERT_U64_EQ(cursor.offset, 0);
        /* exhausted stays exhausted */
        ASSERT_EQ(
                evict_build_batch(runs, n_runs, &cursor, max_bytes, iov, max_iov, &(uint64_t){ 0 }),
                0);
}

#define CHECK(runs, start, max_bytes, max_iov, want, batches)                                    \
        check_batches(runs, ELEMENTSOF(runs), start, max_bytes, max_iov, want, ELEMENTSOF(want), \
                      batches, ELEMENTSOF(batches))

TEST(batch_split_by_bytes) {
        const AddrRun runs[] = { { 0x10000, 0x10000 + 10 * P, 0 } };
        const Piece want[] = {
                { 0x10000, 4 * P },
                { 0x10000 + 4 * P, 4 * P },
                { 0x10000 + 8 * P, 2 * P },
        };
        const size_t batches[] = { 1, 1, 1 };

        CHECK(runs, ((EvictCursor){}), 4 * P, 64, want, batches);
        /* max_bytes is rounded down to a page */
        CHECK(runs, ((EvictCursor){}), 5 * P - 1, 64, want, batches);
}

TEST(batch_iov_limit) {
        const AddrRun runs[] = {
                { 1 * P, 2 * P, 0 }, { 3 * P, 4 * P, 0 },  { 5 * P, 6 * P, 0 },
                { 7 * P, 8 * P, 0 }, { 9 * P, 10 * P, 0 },
        };
        const Piece want[] = {
                { 1 * P, P }, { 3 * P, P }, { 5 * P, P }, { 7 * P, P }, { 9 * P, P }
        };
        const size_t batches[] = { 2, 2, 1 };

        CHECK(runs, ((EvictCursor){}), 0, 2, want, batches);
}

TEST(batch_runs_straddle_byte_limit) {
        const AddrRun runs[] = { { 0, 3 * P, 0 }, { 10 * P, 15 * P, 0 } };
        const Piece want[] = { { 0, 3 * P }, { 10 * P, P }, { 11 * P, 4 * P } };
        const size_t batches[] = { 2, 1 };

        CHECK(runs, ((EvictCursor){}), 4 * P, 64, want, batches);
}

TEST(batch_skips_empty_runs) {
        const AddrRun runs[] = {
                { P, P, 0 },         { 2 * P, 3 * P, 0 }, { 5 * P, 5 * P, 0 },
                { 6 * P, 8 * P, 0 }, { 9 * P, 9 * P, 0 },
        };
        const Piece want[] = { { 2 * P, P }, { 6 * P, 2 * P } };
        const size_t batches[] = { 2 };

        CHECK(runs, ((EvictCursor){}), 0, 64, want, batches);
}

TEST(batch_cursor_resume) {
        const AddrRun runs[] = { { 0, 4 * P, 0 }, { 8 * P, 16 * P, 0 }, { 20 * P, 22 * P, 0 } };
        const Piece want[] = { { 10 * P, 3 * P }, { 13 * P, 3 * P }, { 20 * P, 2 * P } };
        const size_t batches[] = { 1, 1, 1 };

        /* the second run, 2 pages in */
        CHECK(runs, ((EvictCursor){ .run = 1, .offset = 2 * P }), 3 * P, 64, want, batches);

        /* resuming after every batch gives the same pieces as one long pass */
        EvictCursor c = {};
        struct iovec iov[4];
        uint64_t bytes, total = 0;
        int n;
        while ((n = evict_build_batch(runs, ELEMENTSOF(runs), &c, P, iov, 4, &bytes)) > 0) {
                ASSERT_EQ(n, 1);
                ASSERT_U64_EQ(bytes, P);
                total += bytes;
        }
        ASSERT_OK(n);
        ASSERT_U64_EQ(total, 14 * P);
}

TEST(batch_huge_runs_cut_at_2m) {
        const AddrRun huge[] = { { 4 * MIB, 10 * MIB, ADDR_RUN_HUGE } };
        const Piece want3[] = { { 4 * MIB, 2 * MIB }, { 6 * MIB, 2 * MIB }, { 8 * MIB, 2 * MIB } };
        const size_t b3[] = { 1, 1, 1 };
        /* 3 MiB batches: cut at 2 MiB, never in the middle of a huge page */
        CHECK(huge, ((EvictCursor){}), 3 * MIB, 64, want3, b3);
        /* 1 MiB batches: a whole huge page anyway, for progress */
        CHECK(huge, ((EvictCursor){}), 1 * MIB, 64, want3, b3);
        /* 5 MiB: two huge pages, then one */
        const Piece want5[] = { { 4 * MIB, 4 * MIB }, { 8 * MIB, 2 * MIB } };
        const size_t b5[] = { 1, 1 };
        CHECK(huge, ((EvictCursor){}), 5 * MIB, 64, want5, b5);

        /* a small run first: the huge page does not fit in the rest, so the batch ends early */
        const AddrRun mixed[] = {
                { 0, P, 0 },
                { 2 * MIB, 6 * MIB, ADDR_RUN_HUGE },
                { 7 * MIB, 7 * MIB + P, 0 },
        };
        const Piece wantm[] = {
                { 0, P }, { 2 * MIB, 2 * MIB }, { 4 * MIB, 2 * MIB }, { 7 * MIB, P }
        };
        const size_t bm[] = { 1, 1, 1, 1 }; /* the third batch is full at 2 MiB */
        CHECK(mixed, ((EvictCursor){}), 2 * MIB, 64, wantm, bm);
}

TEST(batch_unlimited_stays_below_max_rw_count) {
        const AddrRun runs[] = { { 1ULL << 32, 2ULL << 32, 0 } };
        const uint64_t cap = ALIGN_DOWN((uint64_t) INT_MAX, P);
        const Piece want[] = {
                { 1ULL << 32, cap },
                { (1ULL << 32) + cap, cap },
                { (1ULL << 32) + 2 * cap, (1ULL << 32) - 2 * cap },
        };
        const size_t batches[] = { 1, 1, 1 };

        CHECK(runs, ((EvictCursor){}), 0, 64, want, batches);
}

TEST(batch_errors) {
        const AddrRun good[] = { { 0, 4 * P, 0 } };
        const AddrRun unaligned[] = { { 100, 4 * P, 0 } };
        const AddrRun inverted[] = { { 4 * P, 0, 0 } };
        struct iovec iov[4];
        uint64_t bytes = 7;
        EvictCursor c = {};

        ASSERT_ERROR(evict_build_batch(good, 1, &c, P, iov, 0, &bytes), EINVAL);
        ASSERT_ERROR(evict_build_batch(good, 1, &c, P - 1, iov, 4, &bytes), EINVAL);
        ASSERT_ERROR(evict_build_batch(unaligned, 1, &c, 0, iov, 4, &bytes), EINVAL);
        ASSERT_ERROR(evict_build_batch(inverted, 1, &c, 0, iov, 4, &bytes), EINVAL);
        c = (EvictCursor){ .run = 0, .offset = 5 * P };
        ASSERT_ERROR(evict_build_batch(good, 1, &c, 0, iov, 4, &bytes), EINVAL);
        c = (EvictCursor){ .run = 0, .offset = 100 };
        ASSERT_ERROR(evict_build_batch(good, 1, &c, 0, iov, 4, &bytes), EINVAL);
        c = (EvictCursor){ .run = 2 };
        ASSERT_ERROR(evict_build_batch(good, 1, &c, 0, iov, 4, &bytes), EINVAL);
        ASSERT_EQ(c.run, 2); /* untouched */
        ASSERT_U64_EQ(bytes, 7);
        /* no runs at all */
        c = (EvictCursor){};
        ASSERT_EQ(evict_build_batch(NULL, 0, &c, 0, iov, 4, &bytes), 0);
}

/* ---- rate limiter ---- */

TEST(ratelimit_timeline) {
        RateLimit rl;

        /* 1000 B/s, burst 500, starts full */
        ratelimit_init(&rl, 1000, 500, 0);
        ASSERT_U64_EQ(ratelimit_delay_usec(&rl, 0, 500), 0);
        ASSERT_U64_EQ(ratelimit_take(&rl, 0, 800), 500);
        ASSERT_U64_EQ(ratelimit_take(&rl, 0, 1), 0);
        ASSERT_U64_EQ(ratelimit_delay_usec(&rl, 0, 1), 1000);
        ASSERT_U64_EQ(ratelimit_delay_usec(&rl, 0, 100), 100000);
        ASSERT_U64_EQ(ratelimit_delay_usec(&rl, 0, 10000), 500000); /* clamped to the burst */
        ASSERT_U64_EQ(ratelimit_take(&rl, 999, 10), 0); /* 0.999 bytes */
        ASSERT_U64_EQ(ratelimit_delay_usec(&rl, 999, 1), 1);
        ASSERT_U64_EQ(ratelimit_take(&rl, 1000, 10), 1);
        ASSERT_U64_EQ(ratelimit_take(&rl, 101000, 1000), 100);
        /* a long pause refills to the burst, no more */
        ASSERT_U64_EQ(ratelimit_take(&rl, 10 * USEC_PER_SEC, 100000), 500);
        /* the clock going backwards refills nothing */
        ASSERT_U64_EQ(ratelimit_take(&rl, 5 * USEC_PER_SEC, 1), 0);
        ASSERT_U64_EQ(ratelimit_take(&rl, 10 * USEC_PER_SEC + 2000, 100), 2);
        /* a refund goes back in, up to the burst */
        ratelimit_refund(&rl, 300);
        ASSERT_U64_EQ(ratelimit_take(&rl, 10 * USEC_PER_SEC + 2000, 1000), 300);
        ratelimit_refund(&rl, 100000);
        ASSERT_U64_EQ(ratelimit_take(&rl, 10 * USEC_PER_SEC + 2000, 1000), 500);
}

TEST(ratelimit_fractions_add_up) {
        /* 7 B/s polled every millisecond for 10 s: exactly 70 bytes (plus the initial burst of 7),
         * no matter that each tick is worth 0.007 bytes. */
        RateLimit rl;
        uint64_t got = 0;

        ratelimit_init(&rl, 7, 0, 0);
        ASSERT_U64_EQ(rl.burst_bytes, 7);
        for (uint64_t t = 0; t <= 10 * USEC_PER_SEC; t += USEC_PER_MSEC)
                got += ratelimit_take(&rl, t, 1000);
        ASSERT_U64_EQ(got, 77);

        /* delay_usec is exact: taking at the announced instant always succeeds, one tick earlier
         * never does */
        ratelimit_init(&rl, 3, 3, 0);
        ASSERT_U64_EQ(ratelimit_take(&rl, 0, 3), 3);
        uint64_t t = 0;
        for (int i = 0; i < 30; i++) {
                uint64_t d = ratelimit_delay_usec(&rl, t, 1);
                ASSERT_TRUE(d > 0);
                RateLimit early = rl;
                ASSERT_U64_EQ(ratelimit_take(&early, t + d - 1, 1), 0);
                t += d;
                ASSERT_U64_EQ(ratelimit_take(&rl, t, 1), 1);
        }
        /* 30 bytes at 3 B/s: 10 s, to the microsecond rounding */
        ASSERT_TRUE(t >= 10 * USEC_PER_SEC && t <= 10 * USEC_PER_SEC + 1);
}

TEST(ratelimit_huge_values) {
        RateLimit rl;

        /* rate and burst are capped, the arithmetic does not overflow */
        ratelimit_init(&rl, UINT64_MAX, UINT64_MAX, 0);
        ASSERT_U64_EQ(rl.rate_bytes_per_sec, UINT64_C(1) << 40);
        ASSERT_U64_EQ(rl.burst_bytes, UINT64_C(1) << 40);
        ASSERT_U64_EQ(ratelimit_take(&rl, 0, UINT64_MAX), UINT64_C(1) << 40);
        ASSERT_U64_EQ(ratelimit_delay_usec(&rl, 0, UINT64_MAX), USEC_PER_SEC);
        ASSERT_U64_EQ(ratelimit_take(&rl, UINT64_MAX, UINT64_MAX), UINT64_C(1) << 40);

        ratelimit_init(&rl, 1ULL << 30, 1ULL << 20, 0);
        ASSERT_U64_EQ(ratelimit_take(&rl, 0, 1ULL << 20), 1ULL << 20);
        ASSERT_U64_EQ(ratelimit_take(&rl, UINT64_MAX / 2, UINT64_MAX), 1ULL << 20);
}

TEST(ratelimit_unlimited) {
        RateLimit rl;

        ratelimit_init(&rl, 0, 0, 0);
        ASSERT_U64_EQ(ratelimit_take(&rl, 0, UINT64_MAX), UINT64_MAX);
        ASSERT_U64_EQ(ratelimit_delay_usec(&rl, 0, UINT64_MAX), 0);
        ratelimit_refund(&rl, 5);
        ASSERT_U64_EQ(ratelimit_take(&rl, 0, 5), 5);
}

/* ---- evict_pageout over a scripted fake process_madvise ---- */

typedef struct Step {
        uint64_t expect_base; /* first iovec's base */
        size_t expect_n; /* iovecs passed */
        ssize_t ret;
} Step;

static const Step *script;
static size_t script_len, script_pos;

static ssize_t fake_pageout(int pidfd, const struct iovec *iov, size_t n_iov) {
        const Step *s;

        if (script_pos >= script_len)
                test_fail(__FILE__, __LINE__, "unexpected pageout call %zu", script_pos);
        s = &script[script_pos++];
        ASSERT_EQ(pidfd, 42);
        ASSERT_U64_EQ((uintptr_t) iov[0].iov_base, s->expect_base);
        ASSERT_EQ(n_iov, s->expect_n);
        return s->ret;
}

static const KernelOps fake_ops = { .pageout = fake_pageout };

static int run_script(const Step *steps, size_t n_steps, const struct iovec *iov, size_t n_iov,
                      uint64_t *ret_bytes) {
        int r;

        script = steps;
        script_len = n_steps;
        script_pos = 0;
        r = evict_pageout(&fake_ops, 42, iov, n_iov, ret_bytes, NULL);
        ASSERT_EQ(script_pos, script_len);
        return r;
}

#define RUN(steps, iov, bytes) run_script(steps, ELEMENTSOF(steps), iov, ELEMENTSOF(iov), bytes)

static const struct iovec three[] = {
        { (void *) (1 * P), P },
        { (void *) (3 * P), 4 * P },
        { (void *) (9 * P), 2 * P },
};

TEST(fake_pageout_whole) {
        const Step s[] = { { P, 3, 7 * P } };
        uint64_t b = 0;

        ASSERT_OK(RUN(s, three, &b));
        ASSERT_U64_EQ(b, 7 * P);
}

TEST(fake_pageout_partial_resumes) {
        /* stops after the first iovec, then in the middle of the second (a MAX_RW_COUNT cut):
         * the tail of the second goes alone, then the third */
        const Step s[] = {
                { P, 3, P }, { 3 * P, 2, 2 * P }, { 5 * P, 1, 2 * P }, { 9 * P, 1, 2 * P }
        };
        uint64_t b = 0;

        ASSERT_OK(RUN(s, three, &b));
        ASSERT_U64_EQ(b, 7 * P);
}

TEST(fake_pageout_retry_once) {
        const Step eintr_then_ok[] = { { P, 3, -EINTR }, { P, 3, 7 * P } };
        const Step eagain_mid[] = { { P, 3, P }, { 3 * P, 2, -EAGAIN }, { 3 * P, 2, 6 * P } };
        const Step eintr_twice[] = { { P, 3, P }, { 3 * P, 2, -EINTR }, { 3 * P, 2, -EINTR } };
        /* the retry budget is per position: progress resets it */
        const Step two_positions[] = {
                { P, 3, -EINTR },
                { P, 3, P },
                { 3 * P, 2, -EAGAIN },
                { 3 * P, 2, 6 * P },
        };
        uint64_t b = 0;

        ASSERT_OK(RUN(eintr_then_ok, three, &b));
        ASSERT_U64_EQ(b, 7 * P);
        ASSERT_OK(RUN(eagain_mid, three, &b));
        ASSERT_U64_EQ(b, 7 * P);
        ASSERT_ERROR(RUN(eintr_twice, three, &b), EINTR);
        ASSERT_U64_EQ(b, P); /* written on failure too: that page is gone */
        ASSERT_OK(RUN(two_positions, three, &b));
        ASSERT_U64_EQ(b, 7 * P);
}

TEST(fake_pageout_enomem_skips_iovec) {
        /* the second iovec was unmapped by the client in the meantime */
        const Step s[] = { { P, 3, P }, { 3 * P, 2, -ENOMEM }, { 9 * P, 1, 2 * P } };
        uint64_t b = 0;

        ASSERT_OK(RUN(s, three, &b));
        ASSERT_U64_EQ(b, 3 * P);
}

TEST(fake_pageout_errors) {
        const Step esrch_mid[] = { { P, 3, P }, { 3 * P, 2, -ESRCH } };
        const Step eperm[] = { { P, 3, -EPERM } };
        const Step zero[] = { { P, 3, 0 } };
        const Step too_much[] = { { P, 3, 8 * P } };
        uint64_t b = 99;

        ASSERT_ERROR(RUN(esrch_mid, three, &b), ESRCH);
        ASSERT_U64_EQ(b, P);
        ASSERT_ERROR(RUN(eperm, three, &b), EPERM);
        ASSERT_U64_EQ(b, 0);
        ASSERT_ERROR(RUN(zero, three, &b), EIO);
        ASSERT_ERROR(RUN(too_much, three, &b), EIO);
}

TEST(fake_pageout_zero_length_iovecs) {
        const struct iovec v[] = {
                { (void *) P, 0 },
                { (void *) (2 * P), P },
                { (void *) (5 * P), 0 },
        };
        const Step s[] = { { 2 * P, 2, P } };
        uint64_t b = 0;

        ASSERT_OK(RUN(s, v, &b));
        ASSERT_U64_EQ(b, P);

        const struct iovec none[] = { { (void *) P, 0 } };
        ASSERT_OK(run_script(NULL, 0, none, 1, &b));
        ASSERT_U64_EQ(b, 0);
}
