/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The handoff socket's pure parts: forgetting the connection rates of idle uids. The socket
 * itself is exercised against the real daemon (tests/integration/test-socket-hardening.sh). */
#include "handoff.h"
#include "test.h"

#define T0_USEC (1000ULL * 1000 * 1000)

static UidRate rate_entry(uid_t uid, unsigned n_conns, uint64_t per_sec, uint64_t burst) {
        UidRate u = { .uid = uid, .n_conns = n_conns };

        ratelimit_init(&u.rate, per_sec, burst, T0_USEC);
        return u;
}

TEST(prune_idle_full_buckets) {
        UidRate t[] = {
                rate_entry(1, 0, 10, 20), /* idle, full: dropped */
                rate_entry(2, 1, 10, 20), /* connected: kept */
                rate_entry(3, 0, 10, 20), /* idle but took a token just now: kept for now */
                rate_entry(4, 0, 0, 0), /* unlimited rate, idle: dropped */
                rate_entry(5, 3, 0, 0), /* unlimited rate, connected: kept */
        };
        size_t n;

        ASSERT_EQ(ratelimit_take(&t[2].rate, T0_USEC, 1), 1);
        n = uid_rates_prune(t, ELEMENTSOF(t), T0_USEC);
        ASSERT_EQ(n, 3);
        ASSERT_EQ(t[0].uid, 2);
        ASSERT_EQ(t[1].uid, 3);
        ASSERT_EQ(t[2].uid, 5);
        ASSERT_EQ(t[0].n_conns, 1);
        ASSERT_EQ(t[2].n_conns, 3);

        /* 10 per second: one token is back after 100 ms, not a microsecond earlier */
        ASSERT_EQ(uid_rates_prune(t, n, T0_USEC + 99999), 3);
        ASSERT_EQ(t[1].uid, 3);
        n = uid_rates_prune(t, n, T0_USEC + 100000);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(t[0].uid, 2);
        ASSERT_EQ(t[1].uid, 5);

        /* once their connections close, they go too */
        t[0].n_conns = 0;
        t[1].n_conns = 0;
        ASSERT_EQ(uid_rates_prune(t, n, T0_USEC + 100000), 0);
        ASSERT_EQ(uid_rates_prune(t, 0, T0_USEC), 0);
}

TEST(prune_keeps_a_drained_bucket) {
        /* a uid that used up its burst stays remembered (and limited) until the bucket is full
         * again: forgetting it earlier would hand it a fresh burst */
        UidRate t[] = { rate_entry(7, 0, 100, 5) };

        ASSERT_EQ(ratelimit_take(&t[0].rate, T0_USEC, 10), 5);
        ASSERT_EQ(uid_rates_prune(t, 1, T0_USEC + 49999), 1);
        ASSERT_EQ(uid_rates_prune(t, 1, T0_USEC + 50000), 0);
}
