/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "caller-rate.h"
#include "macro.h"
#include "test.h"

TEST(per_caller_bucket) {
        static CallerRates t;
        uint64_t now = 1000 * USEC_PER_SEC;
        unsigned ok = 0;

        caller_rates_init(&t, 10, 20, 0, now);
        for (unsigned i = 0; i < 100; i++)
                ok += caller_rates_take(&t, ":1.5", now);
        ASSERT_EQ(ok, 20); /* the burst */
        ASSERT_U64_EQ(t.refused, 80);
        /* another caller is not held up by the first */
        ASSERT_TRUE(caller_rates_take(&t, ":1.6", now));
        /* a second later: 10 more */
        ok = 0;
        for (unsigned i = 0; i < 100; i++)
                ok += caller_rates_take(&t, ":1.5", now + USEC_PER_SEC);
        ASSERT_EQ(ok, 10);
}

TEST(all_callers_share_the_total) {
        static CallerRates t;
        uint64_t now = 1000 * USEC_PER_SEC;
        unsigned ok = 0;
        char key[32];

        caller_rates_init(&t, 10, 10, 50, now);
        /* a crowd of fresh callers, each with a full bucket: the shared one holds */
        for (unsigned i = 0; i < 500; i++) {
                snprintf(key, sizeof key, ":1.%u", i);
                ok += caller_rates_take(&t, key, now);
        }
        ASSERT_EQ(ok, 50);
        ASSERT_EQ(t.n, CALLER_RATES_MAX); /* the table stays bounded */
}

TEST(unlimited) {
        static CallerRates t;

        caller_rates_init(&t, 0, 0, 0, 0);
        for (unsigned i = 0; i < 10000; i++)
                ASSERT_TRUE(caller_rates_take(&t, "x", 0));
        ASSERT_EQ(t.n, 0);
}
