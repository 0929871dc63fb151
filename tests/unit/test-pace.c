/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "macro.h"
#include "pace.h"
#include "test.h"

#define MS USEC_PER_MSEC
#define U PACE_STALL_UNKNOWN

/* A batch every `took` µs with the pace's delay between, `stall_per_sample` µs of stall on
 * the memory source per PACE_SAMPLE_USEC of wall time: returns the batches done in `span`. */
static uint64_t run(Pace *p, uint64_t *now, uint64_t *stall, uint64_t span, uint64_t took,
                    uint64_t stall_per_sample, unsigned source) {
        uint64_t end = *now + span, batches = 0, last = *now;

        while (*now < end) {
                uint64_t d = pace_delay_usec(p, *now);

                *stall += (*now - last) * stall_per_sample / PACE_SAMPLE_USEC;
                last = *now;
                if (pace_sample_due(p, *now)) {
                        uint64_t s[_PACE_SOURCE_MAX] = { U, U };
                        s[source] = *stall;
                        pace_sample(p, *now, s);
                }
                if (d > 0) {
                        *now += d;
                        continue;
                }
                pace_batch_done(p, *now, took);
                *now += took;
                batches++;
        }
        return batches;
}

TEST(full_speed_when_idle) {
        Pace p;
        uint64_t now = 1000 * MS, stall = 5000;

        pace_init(&p, 100, 100);
        ASSERT_EQ(p.duty_permyriad, PACE_DUTY_MAX_PERMYRIAD);
        ASSERT_U64_EQ(pace_delay_usec(&p, now), 0);
        /* no stall at all: one batch after another, no gap */
        ASSERT_U64_EQ(run(&p, &now, &stall, 1000 * MS, 5 * MS, 0, PACE_SOURCE_MEMORY), 200);
        ASSERT_EQ(p.duty_permyriad, PACE_DUTY_MAX_PERMYRIAD);
        ASSERT_U64_EQ(p.busy_usec, 1000 * MS);
        ASSERT_U64_EQ(p.slowdowns, 0);
        /* 0.5 % stall, under the 1 % target: still full speed */
        ASSERT_U64_EQ(run(&p, &now, &stall, 1000 * MS, 5 * MS, PACE_SAMPLE_USEC / 200,
                          PACE_SOURCE_MEMORY),
                      200);
        ASSERT_EQ(p.pressure_permyriad[PACE_SOURCE_MEMORY], 50);
}

TEST(backs_off_under_pressure_and_recovers) {
        Pace p;
        uint64_t now = 1000 * MS, stall = 0, fast, slow;

        pace_init(&p, 100, 100);
        fast = run(&p, &now, &stall, 2000 * MS, 5 * MS, 0, PACE_SOURCE_CPU);
        /* 20 % of the time stalled: the duty halves sample after sample down to the floor */
        (void) run(&p, &now, &stall, 2000 * MS, 5 * MS, PACE_SAMPLE_USEC / 5, PACE_SOURCE_CPU);
        ASSERT_EQ(p.duty_permyriad, PACE_DUTY_MIN_PERMYRIAD);
        ASSERT_CMP(p.slowdowns, >=, 5);
        ASSERT_CMP(p.pressure_permyriad[PACE_SOURCE_CPU], >=,
                   1990); /* rounding of the stall per step */
        ASSERT_CMP(p.pressure_permyriad[PACE_SOURCE_CPU], <=, 2000);
        slow = run(&p, &now, &stall, 2000 * MS, 5 * MS, PACE_SAMPLE_USEC / 5, PACE_SOURCE_CPU);
        /* at the floor: 1/32 of the batches, never none */
        ASSERT_CMP(slow, >, 0);
        ASSERT_CMP(slow * 20, <, fast);
        ASSERT_CMP(slow * 50, >, fast);
        /* the pressure is gone: back to full speed within a second */
        (void) run(&p, &now, &stall, 1000 * MS, 5 * MS, 0, PACE_SOURCE_CPU);
        ASSERT_EQ(p.duty_permyriad, PACE_DUTY_MAX_PERMYRIAD);
}

/* Each source against its own target: 5 % of CPU stall is under a 10 % target, 5 % of memory
 * stall over a 1 % one. */
TEST(targets_per_source) {
        Pace p;
        uint64_t now = 1000 * MS, stall = 0;

        pace_init(&p, PACE_TARGET_MEMORY_DEFAULT_PERMYRIAD, PACE_TARGET_CPU_DEFAULT_PERMYRIAD);
        (void) run(&p, &now, &stall, 1000 * MS, 5 * MS, PACE_SAMPLE_USEC / 20, PACE_SOURCE_CPU);
        ASSERT_EQ(p.duty_permyriad, PACE_DUTY_MAX_PERMYRIAD);
        ASSERT_U64_EQ(p.slowdowns, 0);
        stall = 0;
        p.sampling = false;
        (void) run(&p, &now, &stall, 1000 * MS, 5 * MS, PACE_SAMPLE_USEC / 20, PACE_SOURCE_MEMORY);
        ASSERT_EQ(p.duty_permyriad, PACE_DUTY_MIN_PERMYRIAD);
}

TEST(delay_follows_duty) {
        Pace p;

        pace_init(&p, 100, 100);
        p.duty_permyriad = 5000; /* half a CPU: wait as long as the batch took */
        pace_batch_done(&p, 1000, 300);
        ASSERT_U64_EQ(p.next_usec, 1600);
        ASSERT_U64_EQ(pace_delay_usec(&p, 1300), 300);
        ASSERT_U64_EQ(pace_delay_usec(&p, 1600), 0);
        ASSERT_U64_EQ(pace_delay_usec(&p, 5000), 0);
        p.duty_permyriad = 2500; /* a quarter: three times as long */
        pace_batch_done(&p, 2000, 100);
        ASSERT_U64_EQ(p.next_usec, 2400);
        /* saturates instead of wrapping */
        p.duty_permyriad = 1;
        pace_batch_done(&p, 10, UINT64_MAX / 2);
        ASSERT_U64_EQ(p.next_usec, UINT64_MAX);
}

TEST(sample_edges) {
        Pace p;
        uint64_t a[_PACE_SOURCE_MAX] = { 1000, 1000 }, b[_PACE_SOURCE_MAX];

        pace_init(&p, 100, 100);
        ASSERT_TRUE(pace_sample_due(&p, 0));
        pace_sample(&p, 100 * MS, a); /* opens */
        ASSERT_FALSE(pace_sample_due(&p, 150 * MS));
        ASSERT_TRUE(pace_sample_due(&p, 200 * MS));
        /* the memory total went back (a different file): only reopens */
        pace_batch_done(&p, 150 * MS, 10 * MS);
        b[PACE_SOURCE_MEMORY] = 10;
        b[PACE_SOURCE_CPU] = 1000 + 50 * MS;
        pace_sample(&p, 200 * MS, b);
        ASSERT_EQ(p.duty_permyriad, PACE_DUTY_MAX_PERMYRIAD);
        ASSERT_U64_EQ(p.slowdowns, 0);
        /* more stall than wall time (per-CPU sums): capped at 100 %, and it slows */
        pace_batch_done(&p, 250 * MS, 10 * MS);
        b[PACE_SOURCE_MEMORY] = 10 + 500 * MS;
        pace_sample(&p, 300 * MS, b);
        ASSERT_EQ(p.pressure_permyriad[PACE_SOURCE_MEMORY], 10000);
        ASSERT_EQ(p.duty_permyriad, PACE_DUTY_MAX_PERMYRIAD / 2);
        /* an idle spell after the last batch: the stall over it does not count */
        b[PACE_SOURCE_MEMORY] += 5000 * MS;
        pace_sample(&p, 5300 * MS, b);
        ASSERT_EQ(p.duty_permyriad, PACE_DUTY_MAX_PERMYRIAD / 2);
        /* nothing readable: the duty stays */
        pace_batch_done(&p, 5300 * MS, 10 * MS);
        b[0] = b[1] = U;
        pace_sample(&p, 5400 * MS, b);
        ASSERT_EQ(p.duty_permyriad, PACE_DUTY_MAX_PERMYRIAD / 2);
        /* a target of 100 % never slows */
        pace_init(&p, 20000, 20000);
        ASSERT_EQ(p.target_permyriad[PACE_SOURCE_MEMORY], 10000);
        a[0] = 0;
        pace_sample(&p, 100 * MS, a);
        pace_batch_done(&p, 100 * MS, 10 * MS);
        a[0] = 100 * MS;
        pace_sample(&p, 200 * MS, a);
        ASSERT_EQ(p.duty_permyriad, PACE_DUTY_MAX_PERMYRIAD);
}
