/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "coldage.h"
#include "macro.h"
#include "test.h"

#define S USEC_PER_SEC
#define MIB (UINT64_C(1) << 20)

static const ColdAgeBounds bounds = {
        .target_permyriad = 20, /* 0.2 % per minute */
        .interval_usec = 1 * S,
        .min_usec = 2 * S,
        .max_usec = 60 * S,
};

/* Cycles of one second with `refaulted` bytes each against a 1 GiB working set, until the cold
 * age changes or `max_cycles` pass; returns the cycles run. */
static unsigned cycles_until_change(ColdAge *c, uint64_t *now, uint64_t refaulted,
                                    unsigned max_cycles) {
        for (unsigned i = 1; i <= max_cycles; i++) {
                *now += S;
                if (coldage_cycle(c, &bounds, *now, refaulted, 1024 * MIB) == 1)
                        return i;
        }
        return max_cycles + 1;
}

TEST(rate) {
        /* 2 MiB in a minute of a 1 GiB working set: 0.195 % = 1953 ppm */
        ASSERT_U64_EQ(coldage_rate_ppm(2 * MIB, 1024 * MIB, 60 * S), 1953);
        /* the same in 6 s is ten times the rate */
        ASSERT_U64_EQ(coldage_rate_ppm(2 * MIB, 1024 * MIB, 6 * S), 19531);
        ASSERT_U64_EQ(coldage_rate_ppm(5, 0, 60 * S), 5000000); /* no working set: one byte */
        ASSERT_U64_EQ(coldage_rate_ppm(5, 10, 0), 0);
        ASSERT_U64_EQ(coldage_rate_ppm(UINT64_MAX, 1, 1), UINT64_MAX);
}

TEST(init_clamps) {
        ColdAge c;

        coldage_init(&c, &bounds, 120 * S, 0);
        ASSERT_U64_EQ(c.cold_age_usec, 60 * S);
        coldage_init(&c, &bounds, 500000, 0);
        ASSERT_U64_EQ(c.cold_age_usec, 2 * S);
        coldage_init(&c, &bounds, 10500000, 0); /* whole intervals */
        ASSERT_U64_EQ(c.cold_age_usec, 10 * S);
        ColdAgeBounds off = bounds;
        off.target_permyriad = 0; /* fixed: as given, never moved */
        coldage_init(&c, &off, 120 * S, 0);
        ASSERT_U64_EQ(c.cold_age_usec, 120 * S);
        for (uint64_t now = 1; now < 1000; now++)
                ASSERT_EQ(coldage_cycle(&c, &off, now * S, 1024 * MIB, MIB), 0);
        ASSERT_U64_EQ(c.cold_age_usec, 120 * S);
}

/* A hot set that moves: refaults far over the target double the cold age at once (the period
 * ends as soon as its budget is spent), up to the bound; once the refaults stop, it comes down a
 * quarter per period to the lower bound. */
TEST(follows_refaults) {
        ColdAge c;
        uint64_t now = 0;
        unsigned n;

        coldage_init(&c, &bounds, 8 * S, now);
        /* 1 MiB a second of 1 GiB: 6 % a minute, 30x the target */
        n = cycles_until_change(&c, &now, MIB, 100);
        ASSERT_EQ(n, 2); /* over the whole period's budget after two cycles */
        ASSERT_U64_EQ(c.cold_age_usec, 16 * S);
        ASSERT_CMP(c.rate_ppm, >, 2000);
        while (cycles_until_change(&c, &now, MIB, 100) <= 100)
                ;
        ASSERT_U64_EQ(c.cold_age_usec, 60 * S);
        ASSERT_U64_EQ(c.raised, 3); /* 16, 32, 60 (the bound) */
        /* within the target, not under half of it (1.5 MiB a minute: 0.15 %): kept */
        for (unsigned i = 0; i < 200; i++) {
                now += S;
                ASSERT_EQ(coldage_cycle(&c, &bounds, now, MIB / 40, 1024 * MIB), 0);
        }
        ASSERT_U64_EQ(c.cold_age_usec, 60 * S);
        /* no refaults: a quarter off per period of one cold age */
        n = cycles_until_change(&c, &now, 0, 100);
        ASSERT_CMP(n, <=, 60);
        ASSERT_U64_EQ(c.cold_age_usec, 45 * S);
        n = cycles_until_change(&c, &now, 0, 100);
        ASSERT_CMP(n, <=, 45);
        ASSERT_U64_EQ(c.cold_age_usec, 33 * S); /* 33.75 s, whole intervals */
        while (cycles_until_change(&c, &now, 0, 100) <= 100)
                ;
        ASSERT_U64_EQ(c.cold_age_usec, 2 * S);
        ASSERT_CMP(c.lowered, >=, 5);
        /* at the lower bound, still periods of at least COLDAGE_PERIOD_MIN_CYCLES cycles */
        ASSERT_EQ(cycles_until_change(&c, &now, 0, 20), 21);
}

TEST(clock_back) {
        ColdAge c;

        coldage_init(&c, &bounds, 4 * S, 100 * S);
        ASSERT_EQ(coldage_cycle(&c, &bounds, 50 * S, 0, MIB), 0);
        ASSERT_U64_EQ(c.period_start_usec, 50 * S);
        ASSERT_U64_EQ(c.cold_age_usec, 4 * S);
}
