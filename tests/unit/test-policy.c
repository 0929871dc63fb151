/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "policy.h"
#include "test.h"

#define MS USEC_PER_MSEC
#define S USEC_PER_SEC

/* The defaults with the fields of one row applied (0 = keep the default; psi and rearm are taken
 * as given, since 0 is a meaningful value for both). */
typedef struct Row {
        uint64_t interval_usec, cold_age_usec, chunk_bytes;
        unsigned psi_permyriad, rearm_cycles;
        const char *message; /* NULL: valid */
} Row;

static Policy policy_of(const Row *row) {
        Policy p;

        policy_init(&p);
        if (row->interval_usec)
                p.interval_usec = row->interval_usec;
        if (row->cold_age_usec)
                p.cold_age_usec = row->cold_age_usec;
        if (row->chunk_bytes)
                p.evict_chunk_bytes = row->chunk_bytes;
        p.psi_limit_permyriad = row->psi_permyriad;
        p.rearm_period_cycles = row->rearm_cycles;
        return p;
}

static void check_row(const Policy *p, const char *want_message, size_t i) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = policy_validate(p, &e);

        if (!want_message) {
                if (r != 0)
                        test_fail(__FILE__, __LINE__, "row %zu: expected valid, got %d: %s", i, r,
                                  e.message ? e.message : "(no message)");
                ASSERT_FALSE(sd_bus_error_is_set(&e));
                return;
        }
        if (r != -EINVAL)
                test_fail(__FILE__, __LINE__, "row %zu: expected -EINVAL (\"%s\"), got %d", i,
                          want_message, r);
        ASSERT_STREQ(e.name, SD_BUS_ERROR_INVALID_ARGS);
        ASSERT_EQ(sd_bus_error_get_errno(&e), EINVAL);
        if (!e.message || strcmp(e.message, want_message) != 0)
                test_fail(__FILE__, __LINE__, "row %zu: message \"%s\", expected \"%s\"", i,
                          e.message ? e.message : "(null)", want_message);
        /* without an error object the result is the same */
        ASSERT_ERROR(policy_validate(p, NULL), EINVAL);
}

TEST(policy_validate_table) {
        static const Row rows[] = {
                /* good */
                { .psi_permyriad = 1000 }, /* the defaults */
                { .interval_usec = 10 * MS, .cold_age_usec = 10 * MS }, /* shortest, 1 cycle */
                { .interval_usec = USEC_PER_DAY, .cold_age_usec = 126 * USEC_PER_DAY },
                { .interval_usec = 500 * MS, .cold_age_usec = 63 * S }, /* exactly 126 cycles */
                { .interval_usec = 500 * MS, .cold_age_usec = 62 * S + 1 }, /* 125 and a bit */
                { .psi_permyriad = 0 },
                { .psi_permyriad = 10000 },
                { .interval_usec = 500 * MS, .cold_age_usec = 2 * S, .rearm_cycles = 4 },
                { .interval_usec = 500 * MS, .cold_age_usec = 2 * S, .rearm_cycles = 1 },
                { .interval_usec = 500 * MS, .cold_age_usec = 63 * S, .rearm_cycles = 126 },
                { .chunk_bytes = UINT64_C(1) << 30 },

                /* the scan interval */
                { .interval_usec = 1, .message = "interval=1us: must be between 10ms and 1d" },
                { .interval_usec = 10 * MS - 1,
                  .message = "interval=9ms 999us: must be between 10ms and 1d" },
                { .interval_usec = USEC_PER_DAY + 1,
                  .cold_age_usec = 2 * USEC_PER_DAY,
                  .message = "interval=1d 1us: must be between 10ms and 1d" },
                { .interval_usec = UINT64_MAX,
                  .message = "interval=infinity: must be between 10ms and 1d" },

                /* the cold age: at least one interval, at most 126 */
                { .cold_age_usec = 10 * S - 1,
                  .message = "cold-age=9s 999ms 999us: must be at least one interval (10s)" },
                { .interval_usec = 500 * MS,
                  .cold_age_usec = 499 * MS,
                  .message = "cold-age=499ms: must be at least one interval (500ms)" },
                { .interval_usec = 500 * MS,
                  .cold_age_usec = 63 * S + 1,
                  .message =
                          "cold-age=1min 3s 1us: must be at most 126 intervals of 500ms (is 127)" },
                { .cold_age_usec = 1270 * S,
                  .message = "cold-age=21min 10s: must be at most 126 intervals of 10s (is 127)" },
                /* 2^32 + 1 cycles: would read as 1 cycle if the count were truncated to 32 bits */
                { .interval_usec = 10 * MS,
                  .cold_age_usec = ((UINT64_C(1) << 32) + 1) * 10 * MS,
                  .message = "cold-age=497d 2h 27min 52s 970ms: must be at most 126 intervals of "
                             "10ms (is 4294967297)" },
                /* near UINT64_MAX: rounding up must not wrap around to a small count */
                { .interval_usec = USEC_PER_DAY,
                  .cold_age_usec = UINT64_MAX,
                  .message =
                          "cold-age=infinity: must be at most 126 intervals of 1d (is 213503983)" },

                /* the PSI limit */
                { .psi_permyriad = 10001, .message = "psi-limit=100.01%: must be at most 100%" },
                { .psi_permyriad = 123456, .message = "psi-limit=1234.56%: must be at most 100%" },

                /* the re-arm period: at most the cold age in cycles */
                { .interval_usec = 500 * MS,
                  .cold_age_usec = 2 * S,
                  .rearm_cycles = 5,
                  .message = "rearm-period=5: must be at most the cold age in cycles (4)" },
                { .rearm_cycles = 13,
                  .message = "rearm-period=13: must be at most the cold age in cycles (12)" },
                { .interval_usec = 500 * MS,
                  .cold_age_usec = 63 * S,
                  .rearm_cycles = 127,
                  .message = "rearm-period=127: must be at most the cold age in cycles (126)" },
                { .rearm_cycles = UINT_MAX,
                  .message =
                          "rearm-period=4294967295: must be at most the cold age in cycles (12)" },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                Policy p = policy_of(&rows[i]);
                check_row(&p, rows[i].message, i);
        }
}

/* Checked in order: the first problem is the one reported. */
TEST(policy_validate_first_problem_wins) {
        Policy p;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        policy_init(&p);
        p.interval_usec = 0;
        p.cold_age_usec = 0;
        p.psi_limit_permyriad = 20000;
        p.evict_chunk_bytes = 1;
        ASSERT_ERROR(policy_validate(&p, &e), EINVAL);
        ASSERT_STREQ(e.message, "interval=0: must be between 10ms and 1d");
}

TEST(policy_validate_zero_interval) {
        /* interval 0 would divide by zero in the cycle count: refused before that is used */
        Row row = { .psi_permyriad = 1000 };
        Policy p = policy_of(&row);

        p.interval_usec = 0;
        check_row(&p, "interval=0: must be between 10ms and 1d", 0);
        p.cold_age_usec = 0;
        check_row(&p, "interval=0: must be between 10ms and 1d", 0);
}

TEST(policy_validate_zero_cold_age) {
        Row row = { .psi_permyriad = 1000 };
        Policy p = policy_of(&row);

        p.cold_age_usec = 0;
        check_row(&p, "cold-age=0: must be at least one interval (10s)", 0);
}

TEST(policy_validate_chunk) {
        size_t ps = page_size();
        const uint64_t bad[] = { 0, 1, ps - 1, ps + 1, ps / 2, 3 * ps + 512 };
        const uint64_t good[] = { ps, 2 * ps, 1024 * ps, POLICY_EVICT_CHUNK_DEFAULT_BYTES };
        char want[256];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Row row = { .psi_permyriad = 1000 };
                Policy p = policy_of(&row);

                p.evict_chunk_bytes = bad[i];
                snprintf(want, sizeof want,
                         "evict-chunk=%" PRIu64
                         ": must be a non-zero multiple of the page size (%zu bytes)",
                         bad[i], ps);
                check_row(&p, want, i);
        }
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                Row row = { .psi_permyriad = 1000, .chunk_bytes = good[i] };
                Policy p = policy_of(&row);

                check_row(&p, NULL, i);
        }
}

/* The rate and the floor have no limits: 0 and UINT64_MAX are both fine. */
TEST(policy_validate_unlimited_rate_and_floor) {
        Row row = { .psi_permyriad = 1000 };
        Policy p = policy_of(&row);

        p.rate_bytes_per_sec = 0;
        p.floor_bytes = UINT64_MAX;
        p.dry_run = true;
        check_row(&p, NULL, 0);
        p.rate_bytes_per_sec = UINT64_MAX;
        check_row(&p, NULL, 1);
}

TEST(policy_defaults) {
        Policy p;

        policy_init(&p);
        ASSERT_U64_EQ(p.interval_usec, POLICY_INTERVAL_DEFAULT_USEC);
        ASSERT_U64_EQ(p.cold_age_usec, POLICY_COLD_AGE_DEFAULT_USEC);
        ASSERT_U64_EQ(p.rate_bytes_per_sec, POLICY_RATE_DEFAULT_BYTES_PER_SEC);
        ASSERT_U64_EQ(p.floor_bytes, 0);
        ASSERT_EQ(p.psi_limit_permyriad, POLICY_PSI_LIMIT_DEFAULT_PERMYRIAD);
        ASSERT_U64_EQ(p.evict_chunk_bytes, POLICY_EVICT_CHUNK_DEFAULT_BYTES);
        ASSERT_EQ(p.rearm_period_cycles, 0);
        ASSERT_FALSE(p.dry_run);
        ASSERT_OK(policy_validate(&p, NULL));
        ASSERT_EQ(policy_cold_age_cycles(&p), 12);
        ASSERT_EQ(policy_rearm_period(&p), 6);
}

static unsigned cycles_of(uint64_t interval_usec, uint64_t cold_age_usec) {
        Policy p;

        policy_init(&p);
        p.interval_usec = interval_usec;
        p.cold_age_usec = cold_age_usec;
        return policy_cold_age_cycles(&p);
}

TEST(policy_cold_age_cycles_edges) {
        /* rounded up, at least 1 */
        ASSERT_EQ(cycles_of(10 * S, 10 * S), 1);
        ASSERT_EQ(cycles_of(10 * S, 10 * S + 1), 2);
        ASSERT_EQ(cycles_of(10 * S, 20 * S - 1), 2);
        ASSERT_EQ(cycles_of(10 * S, 20 * S), 2);
        ASSERT_EQ(cycles_of(500 * MS, 2 * S), 4);
        ASSERT_EQ(cycles_of(500 * MS, 63 * S), 126);
        ASSERT_EQ(cycles_of(500 * MS, 63 * S + 1), 127);
        ASSERT_EQ(cycles_of(10 * S, 1), 1);
        ASSERT_EQ(cycles_of(10 * S, 0), 1);
        /* a zero interval (refused by policy_validate) must not divide by zero */
        ASSERT_EQ(cycles_of(0, 120 * S), 1);
        ASSERT_EQ(cycles_of(0, 0), 1);
        /* no wrap-around in the rounding, and saturation instead of truncation to 32 bits */
        ASSERT_EQ(cycles_of(1, UINT64_MAX), UINT_MAX);
        ASSERT_EQ(cycles_of(UINT64_MAX, UINT64_MAX), 1);
        ASSERT_EQ(cycles_of(UINT64_MAX - 1, UINT64_MAX), 2);
        ASSERT_EQ(cycles_of(10 * MS, ((UINT64_C(1) << 32) + 1) * 10 * MS), UINT_MAX);
        ASSERT_EQ(cycles_of(10 * MS, (uint64_t) UINT_MAX * 10 * MS), UINT_MAX);
        ASSERT_EQ(cycles_of(10 * MS, ((uint64_t) UINT_MAX - 1) * 10 * MS), UINT_MAX - 1);
}

static unsigned rearm_of(uint64_t interval_usec, uint64_t cold_age_usec, unsigned rearm_cycles) {
        Policy p;

        policy_init(&p);
        p.interval_usec = interval_usec;
        p.cold_age_usec = cold_age_usec;
        p.rearm_period_cycles = rearm_cycles;
        return policy_rearm_period(&p);
}

TEST(policy_rearm_period_edges) {
        /* default: half the cold age in cycles, rounded down, at least 1 */
        ASSERT_EQ(rearm_of(S, S, 0), 1); /* 1 cycle */
        ASSERT_EQ(rearm_of(S, 2 * S, 0), 1); /* 2 */
        ASSERT_EQ(rearm_of(S, 3 * S, 0), 1); /* 3 */
        ASSERT_EQ(rearm_of(S, 4 * S, 0), 2); /* 4 */
        ASSERT_EQ(rearm_of(S, 4 * S + 1, 0), 2); /* 5 (rounded up) */
        ASSERT_EQ(rearm_of(S, 126 * S, 0), 63);
        ASSERT_EQ(rearm_of(500 * MS, 2 * S, 0), 2); /* the integration tests' policy */
        ASSERT_EQ(rearm_of(0, 0, 0), 1);
        /* given: taken as it is, whatever the cold age (policy_validate judges it) */
        ASSERT_EQ(rearm_of(S, 4 * S, 1), 1);
        ASSERT_EQ(rearm_of(S, 4 * S, 3), 3);
        ASSERT_EQ(rearm_of(S, 4 * S, 126), 126);
        ASSERT_EQ(rearm_of(S, 4 * S, UINT_MAX), UINT_MAX);
}

/* The tuned cold age's bounds (coldage.h): defaults filled in, and checked against the interval
 * and each other. */
TEST(policy_cold_age_bounds) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        uint64_t lo, hi;
        Policy p;

        policy_init(&p);
        policy_cold_age_bounds(&p, &lo, &hi);
        ASSERT_U64_EQ(lo, p.interval_usec);
        ASSERT_U64_EQ(hi, 126 * p.interval_usec);
        p.cold_age_min_usec = 30 * S;
        p.cold_age_max_usec = 10 * 3600 * S; /* past 126 intervals of 10 s */
        policy_cold_age_bounds(&p, &lo, &hi);
        ASSERT_U64_EQ(lo, 30 * S);
        ASSERT_U64_EQ(hi, 1260 * S);
        ASSERT_ERROR(policy_validate(&p, &e), EINVAL);
        ASSERT_STREQ(e.message, "cold-age-max=10h: must be at most 126 intervals of 10s");
        sd_bus_error_free(&e);
        p.cold_age_max_usec = 20 * S;
        ASSERT_ERROR(policy_validate(&p, &e), EINVAL);
        ASSERT_STREQ(e.message, "cold-age-min=30s: must be at most cold-age-max (20s)");
        sd_bus_error_free(&e);
        p.cold_age_max_usec = 0;
        p.cold_age_min_usec = 1 * S;
        ASSERT_ERROR(policy_validate(&p, &e), EINVAL);
        ASSERT_STREQ(e.message, "cold-age-min=1s: must be at least one interval (10s)");
        sd_bus_error_free(&e);
        p.cold_age_min_usec = 0;
        p.refault_target_permyriad = 10001;
        ASSERT_ERROR(policy_validate(&p, &e), EINVAL);
        ASSERT_STREQ(e.message, "refault-target=100.01%: must be at most 100%");
        sd_bus_error_free(&e);
        p.refault_target_permyriad = 20;
        ASSERT_OK(policy_validate(&p, NULL));
        /* a fixed rearm period is capped by a tuned cold age's cycles */
        p.rearm_period_cycles = 6;
        ASSERT_EQ(policy_rearm_period_for(&p, 4), 4);
        ASSERT_EQ(policy_rearm_period_for(&p, 12), 6);
        p.rearm_period_cycles = 0;
        ASSERT_EQ(policy_rearm_period_for(&p, 12), 6);
}
