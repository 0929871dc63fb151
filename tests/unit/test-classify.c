/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "macro.h"
#include "test.h"

#define PS UINT64_C(4096)
#define HP CLASSIFY_HUGE_BYTES
#define BASE (UINT64_C(1) << 30) /* 2 MiB-aligned */
#define PG(n) (BASE + (uint64_t) (n) *PS)
#define MB(n) ((uint64_t) (n) << 20)

#define PRESENT PAGE_IS_PRESENT
#define SWAPPED PAGE_IS_SWAPPED
#define SEEN PAGE_IS_ACCESSED
#define THP PAGE_IS_HUGE
#define EVICTED PAGE_STATE_EVICTED

static ClassifyParams params(uint64_t cycle, unsigned cold) {
        return (ClassifyParams){
                .cycle = cycle,
                .cold_age_cycles = cold,
                .seen_mask = PAGE_IS_ACCESSED,
                .rearm_period = classify_rearm_period_default(cold),
        };
}

/* One cycle over every range of the set, as the engine does it: fresh result and list. */
static int run_cycle(RangeSet *s, const struct page_region *g, size_t n, uint64_t cycle,
                     unsigned cold, ClassifyResult *res, RunVec *ev) {
        ClassifyParams p = params(cycle, cold);

        *res = (ClassifyResult){};
        run_vec_clear(ev);
        for (size_t i = 0; i < s->n_ranges; i++) {
                int k = classify_range(&s->ranges[i], g, n, &p, res, ev);
                if (k < 0)
                        return k;
        }
        return 0;
}

static uint8_t state_at(const RangeSet *s, uint64_t addr) {
        const TrackedRange *r = range_set_find(s, addr);
        ASSERT_TRUE(r);
        return tracked_range_get(r, (addr - r->start) / PS);
}

static void set_state(RangeSet *s, uint64_t addr, uint8_t state) {
        TrackedRange *r = range_set_find(s, addr);
        ASSERT_TRUE(r);
        ASSERT_OK(tracked_range_set(r, (addr - r->start) / PS, state));
}

static void check_runs(const RunVec *v, const AddrRun *want, size_t n, int line) {
        if (v->n_runs != n)
                test_fail(__FILE__, line, "%zu runs, expected %zu", v->n_runs, n);
        for (size_t i = 0; i < n; i++)
                if (v->runs[i].start != want[i].start || v->runs[i].end != want[i].end ||
                    v->runs[i].flags != want[i].flags)
                        test_fail(__FILE__, line, "run %zu: [%#" PRIx64 ", %#" PRIx64 ") %u", i,
                                  v->runs[i].start, v->runs[i].end, v->runs[i].flags);
}

TEST(age_bucket) {
        static const unsigned t[][2] = {
                { 0, 0 },  { 1, 1 },  { 2, 2 },  { 3, 2 },  { 4, 3 },  { 7, 3 },  { 8, 4 },
                { 15, 4 }, { 16, 5 }, { 31, 5 }, { 32, 6 }, { 63, 6 }, { 64, 7 }, { 127, 7 },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                if (classify_age_bucket(t[i][0]) != t[i][1])
                        test_fail(__FILE__, __LINE__, "age %u: bucket %u", t[i][0],
                                  classify_age_bucket(t[i][0]));
}

TEST(params) {
        static const struct {
                unsigned cold, period;
                uint64_t seen;
                int err;
        } t[] = {
                { 1, 1, SEEN, 0 },      { 127, 63, SEEN, 0 },     { 6, 3, PAGE_IS_WRITTEN, 0 },
                { 0, 1, SEEN, EINVAL }, { 128, 1, SEEN, EINVAL }, { 6, 0, SEEN, EINVAL },
                { 6, 3, 0, EINVAL },
        };
        static const unsigned periods[][2] = {
                { 1, 1 }, { 2, 1 }, { 3, 1 }, { 6, 3 }, { 7, 3 }, { 127, 63 },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                ClassifyParams p = { 1, t[i].cold, t[i].seen, t[i].period };
                ASSERT_EQ(classify_params_check(&p), -t[i].err);
        }
        for (size_t i = 0; i < ELEMENTSOF(periods); i++)
                ASSERT_EQ(classify_rearm_period_default(periods[i][0]), periods[i][1]);
}

/* A page seen every cycle stays hot; its unseen neighbours turn cold exactly at the cold age. */
TEST(hot_stays_hot_cold_at_cold_age) {
        const struct page_region g[] = {
                { PG(0), PG(1), PRESENT | SEEN },
                { PG(1), PG(4), PRESENT },
        };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, PG(0), PG(4), 1));
        for (uint64_t c = 1; c <= 10; c++) {
                ASSERT_OK(run_cycle(&s, g, ELEMENTSOF(g), c, 3, &res, &ev));
                ASSERT_EQ(state_at(&s, PG(0)), 0);
                for (unsigned p = 1; p < 4; p++)
                        ASSERT_EQ(state_at(&s, PG(p)), c);
                ASSERT_U64_EQ(res.tracked_bytes, 4 * PS);
                ASSERT_U64_EQ(res.resident_bytes, 4 * PS);
                ASSERT_U64_EQ(res.hot_bytes, PS);
                ASSERT_U64_EQ(res.cold_bytes, c >= 3 ? 3 * PS : 0);
                ASSERT_U64_EQ(res.evict_bytes, c >= 3 ? 3 * PS : 0);
                if (c >= 3) {
                        const AddrRun want[] = { { PG(1), PG(4), 0 } };
                        check_runs(&ev, want, 1, __LINE__);
                } else
                        ASSERT_EQ(ev.n_runs, 0);
        }
        run_vec_done(&ev);
        range_set_done(&s);
}

TEST(stats_wss_histogram) {
        /* pages 0-9 present at these ages, 10 swapped at 5, 11 unpopulated at 40 */
        static const uint8_t ages[12] = { 0, 1, 2, 3, 6, 14, 30, 62, 126, 127, 5, 40 };
        static const uint8_t after[12] = { 1, 2, 3, 4, 7, 15, 31, 63, 127, 127, 6, 41 };
        static const uint64_t hist[8] = { 0, 1, 2, 3, 1, 1, 2, 2 };
        static const uint64_t wss[8] = { 0, 1, 3, 6, 7, 8, 9, 11 };
        const struct page_region g[] = {
                { PG(0), PG(10), PRESENT },
                { PG(10), PG(11), SWAPPED },
        };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, PG(0), PG(12), 1));
        for (unsigned p = 0; p < 12; p++)
                set_state(&s, PG(p), ages[p]);
        ASSERT_OK(run_cycle(&s, g, ELEMENTSOF(g), 1, 4, &res, &ev));
        for (unsigned p = 0; p < 12; p++)
                ASSERT_EQ(state_at(&s, PG(p)), after[p]);
        ASSERT_U64_EQ(res.tracked_bytes, 12 * PS);
        ASSERT_U64_EQ(res.resident_bytes, 10 * PS);
        ASSERT_U64_EQ(res.swapped_bytes, 1 * PS);
        ASSERT_U64_EQ(res.hot_bytes, 0);
        ASSERT_U64_EQ(res.cold_bytes, 8 * PS); /* pages 3-9 and the swapped one */
        ASSERT_U64_EQ(res.huge_bytes, 0);
        ASSERT_U64_EQ(res.refaulted_bytes, 0);
        ASSERT_U64_EQ(res.evict_bytes, 7 * PS);
        for (unsigned i = 0; i < CLASSIFY_N_BUCKETS; i++) {
                if (res.age_histogram_bytes[i] != hist[i] * PS)
                        test_fail(__FILE__, __LINE__, "hist[%u] = %" PRIu64 " pages", i,
                                  res.age_histogram_bytes[i] / PS);
                if (res.wss_bytes[i] != wss[i] * PS)
                        test_fail(__FILE__, __LINE__, "wss[%u] = %" PRIu64 " pages", i,
                                  res.wss_bytes[i] / PS);
        }
        {
                const AddrRun want[] = { { PG(3), PG(10), 0 } };
                check_runs(&ev, want, 1, __LINE__);
        }

        /* accumulating two results adds every field */
        ClassifyResult sum = {};
        classify_result_add(&sum, &res);
        classify_result_add(&sum, &res);
        ASSERT_U64_EQ(sum.tracked_bytes, 24 * PS);
        ASSERT_U64_EQ(sum.cold_bytes, 16 * PS);
        ASSERT_U64_EQ(sum.evict_bytes, 14 * PS);
        ASSERT_U64_EQ(sum.wss_bytes[7], 22 * PS);
        ASSERT_U64_EQ(sum.age_histogram_bytes[3], 6 * PS);
        run_vec_done(&ev);
        range_set_done(&s);
}

/* Refaults: each one holds the page back twice as long as the previous one. */
TEST(refault_backoff_grows) {
        static const struct {
                uint64_t categories;
                uint8_t state;
                bool listed, held, refault;
        } t[] = {
                /* c1 */ { PRESENT, 1, false, false, false },
                /* c2 */ { PRESENT, 2, true, false, false }, /* cold: evicted */
                /* c3 */ { SWAPPED, EVICTED | 3, false, false, false },
                /* c4 */ { PRESENT, 0, false, false, true }, /* read back (wp-async): n=1 */
                /* c5 */ { PRESENT, 1, false, false, false },
                /* c6 */ { PRESENT, 2, true, false, false }, /* n=1 holds no longer than aging */
                /* c7 */ { SWAPPED, EVICTED | 3, false, false, false },
                /* c8 */ { PRESENT, 0, false, false, true }, /* n=2: until 8 + 4 = 12 */
                /* c9 */ { PRESENT, 1, false, false, false },
                /* c10 */ { PRESENT, 2, false, true, false },
                /* c11 */ { PRESENT, 3, false, true, false },
                /* c12 */ { PRESENT, 4, true, false, false },
                /* c13 */ { SWAPPED, EVICTED | 5, false, false, false },
                /* c14 */ { PRESENT | SEEN, 0, false, false, true }, /* n=3: until 14 + 8 = 22 */
                /* c15 */ { PRESENT, 1, false, false, false },
                /* c16 */ { PRESENT, 2, false, true, false },
                /* c17 */ { PRESENT, 3, false, true, false },
                /* c18 */ { PRESENT, 4, false, true, false },
                /* c19 */ { PRESENT, 5, false, true, false },
                /* c20 */ { PRESENT, 6, false, true, false },
                /* c21 */ { PRESENT, 7, false, true, false },
                /* c22 */ { PRESENT, 8, true, false, false },
        };
        static const struct {
                uint64_t cycle, until;
                uint32_t count;
        } runs[] = { { 4, 6, 1 }, { 8, 12, 2 }, { 14, 22, 3 } };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;
        size_t next_run = 0;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, PG(0), PG(1), 1));
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                uint64_t c = i + 1;
                struct page_region g = { PG(0), PG(1), t[i].categories };

                ASSERT_OK(run_cycle(&s, &g, 1, c, 2, &res, &ev));
                if (state_at(&s, PG(0)) != t[i].state)
                        test_fail(__FILE__, __LINE__, "cycle %" PRIu64 ": state %#x, expected %#x",
                                  c, state_at(&s, PG(0)), t[i].state);
                if ((ev.n_runs == 1) != t[i].listed || (res.held_bytes == PS) != t[i].held ||
                    (res.refaulted_bytes == PS) != t[i].refault)
                        test_fail(__FILE__, __LINE__,
                                  "cycle %" PRIu64 ": listed %zu held %" PRIu64
                                  " refaulted %" PRIu64,
                                  c, ev.n_runs, res.held_bytes, res.refaulted_bytes);
                ASSERT_EQ(res.refaults, t[i].refault ? 1 : 0);
                ASSERT_U64_EQ(res.swapped_bytes, t[i].categories == SWAPPED ? PS : 0);
                if (next_run < ELEMENTSOF(runs) && runs[next_run].cycle == c) {
                        const TrackedRange *r = &s.ranges[0];
                        ASSERT_EQ(r->n_refaults, 1);
                        ASSERT_U64_EQ(r->refaults[0].start, PG(0));
                        ASSERT_U64_EQ(r->refaults[0].end, PG(1));
                        ASSERT_U64_EQ(r->refaults[0].until_cycle, runs[next_run].until);
                        ASSERT_EQ(r->refaults[0].count, runs[next_run].count);
                        next_run++;
                }
                if (t[i].listed)
                        ASSERT_OK(classify_mark_evicted(&s, ev.runs[0].start, ev.runs[0].end));
        }
        ASSERT_EQ(next_run, ELEMENTSOF(runs));
        run_vec_done(&ev);
        range_set_done(&s);
}

/* A page that stays away long enough is forgiven: its next refault counts as the first. */
TEST(refault_forgotten) {
        struct page_region g = { PG(0), PG(1), PRESENT };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;
        TrackedRange *r;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, PG(0), PG(1), 1));
        r = &s.ranges[0];
        r->uniform = EVICTED | 9;
        ASSERT_OK(run_cycle(&s, &g, 1, 4, 2, &res, &ev)); /* refault: until 6, kept before 10 */
        ASSERT_EQ(r->n_refaults, 1);
        g.categories = PRESENT | SEEN;
        for (uint64_t c = 5; c <= 9; c++) {
                ASSERT_OK(run_cycle(&s, &g, 1, c, 2, &res, &ev));
                ASSERT_EQ(r->n_refaults, 1);
        }
        ASSERT_OK(run_cycle(&s, &g, 1, 10, 2, &res, &ev));
        ASSERT_EQ(r->n_refaults, 0);
        r->uniform = EVICTED | 9;
        g.categories = PRESENT;
        ASSERT_OK(run_cycle(&s, &g, 1, 11, 2, &res, &ev));
        ASSERT_EQ(r->n_refaults, 1);
        ASSERT_EQ(r->refaults[0].count, 1);
        ASSERT_U64_EQ(r->refaults[0].until_cycle, 13);
        run_vec_done(&ev);
        range_set_done(&s);
}

/* Refault runs: contiguous pages refaulting together share one run; pages that refault next to
 * a remembered run continue its count. */
TEST(refault_runs_coalesce) {
        const struct page_region g[] = { { PG(0), PG(8), PRESENT } };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;
        TrackedRange *r;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, PG(0), PG(8), 1));
        ASSERT_OK(classify_mark_evicted(&s, PG(1), PG(6)));
        ASSERT_OK(run_cycle(&s, g, 1, 10, 4, &res, &ev));
        r = &s.ranges[0];
        ASSERT_U64_EQ(res.refaulted_bytes, 5 * PS);
        ASSERT_EQ(res.refaults, 5);
        ASSERT_EQ(r->n_refaults, 1);
        ASSERT_U64_EQ(r->refaults[0].start, PG(1));
        ASSERT_U64_EQ(r->refaults[0].end, PG(6));
        ASSERT_U64_EQ(r->refaults[0].until_cycle, 14);
        ASSERT_EQ(r->refaults[0].count, 1);

        /* pages 3-4 refault again, page 7 for the first time */
        ASSERT_OK(classify_mark_evicted(&s, PG(3), PG(5)));
        ASSERT_OK(classify_mark_evicted(&s, PG(7), PG(8)));
        ASSERT_OK(run_cycle(&s, g, 1, 12, 4, &res, &ev));
        {
                static const struct {
                        unsigned start, end;
                        uint64_t until;
                        uint32_t count;
                } want[] = { { 1, 3, 14, 1 }, { 3, 5, 20, 2 }, { 5, 6, 14, 1 }, { 7, 8, 16, 1 } };
                ASSERT_EQ(r->n_refaults, ELEMENTSOF(want));
                for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                        ASSERT_U64_EQ(r->refaults[i].start, PG(want[i].start));
                        ASSERT_U64_EQ(r->refaults[i].end, PG(want[i].end));
                        ASSERT_U64_EQ(r->refaults[i].until_cycle, want[i].until);
                        ASSERT_EQ(r->refaults[i].count, want[i].count);
                }
        }
        run_vec_done(&ev);
        range_set_done(&s);
}

TEST(unpopulated) {
        struct page_region g = { PG(0), PG(1), PRESENT };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, PG(0), PG(1), 1));
        ASSERT_OK(run_cycle(&s, &g, 1, 1, 2, &res, &ev));
        ASSERT_OK(run_cycle(&s, &g, 1, 2, 2, &res, &ev));
        ASSERT_EQ(ev.n_runs, 1);
        ASSERT_OK(classify_mark_evicted(&s, PG(0), PG(1)));
        ASSERT_EQ(state_at(&s, PG(0)), EVICTED | 2);
        /* MADV_DONTNEED: no region. Not evicted any more, still aging, not cold (no memory). */
        ASSERT_OK(run_cycle(&s, NULL, 0, 3, 2, &res, &ev));
        ASSERT_EQ(state_at(&s, PG(0)), 3);
        ASSERT_U64_EQ(res.tracked_bytes, PS);
        ASSERT_U64_EQ(res.resident_bytes, 0);
        ASSERT_U64_EQ(res.cold_bytes, 0);
        ASSERT_U64_EQ(res.wss_bytes[7], 0);
        ASSERT_U64_EQ(res.age_histogram_bytes[2], PS);
        /* populated again: not a refault, and still old */
        ASSERT_OK(run_cycle(&s, &g, 1, 4, 2, &res, &ev));
        ASSERT_EQ(state_at(&s, PG(0)), 4);
        ASSERT_U64_EQ(res.refaulted_bytes, 0);
        ASSERT_EQ(s.ranges[0].n_refaults, 0);
        ASSERT_EQ(ev.n_runs, 1);
        run_vec_done(&ev);
        range_set_done(&s);
}

TEST(discard_clears_evicted) {
        struct page_region g = { PG(0), PG(2), PRESENT };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, PG(0), PG(2), 1));
        ASSERT_OK(classify_mark_evicted(&s, PG(0), PG(2)));
        ASSERT_OK(classify_discard(&s, PG(1), PG(2)));
        ASSERT_EQ(state_at(&s, PG(0)), EVICTED);
        ASSERT_EQ(state_at(&s, PG(1)), 0);
        /* touched again before the scan: only page 0 counts as a refault */
        ASSERT_OK(run_cycle(&s, &g, 1, 1, 2, &res, &ev));
        ASSERT_U64_EQ(res.refaulted_bytes, PS);
        ASSERT_EQ(state_at(&s, PG(0)), 0);
        ASSERT_EQ(state_at(&s, PG(1)), 1);
        run_vec_done(&ev);
        range_set_done(&s);
}

/* Ranges without per-page bytes are classified per piece and stay that way while uniform. */
TEST(uniform_fast_path) {
        const uint64_t start = UINT64_C(1) << 40, len = UINT64_C(1) << 40; /* 1 TiB */
        const struct page_region all = { start, start + len, PRESENT };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, start, start + len, 1));
        ASSERT_OK(run_cycle(&s, NULL, 0, 1, 2, &res, &ev));
        ASSERT_TRUE(s.ranges[0].chunks == NULL);
        ASSERT_EQ(s.ranges[0].uniform, 1);
        ASSERT_U64_EQ(res.tracked_bytes, len);
        ASSERT_U64_EQ(res.age_histogram_bytes[1], len);
        ASSERT_U64_EQ(res.wss_bytes[7], 0);
        ASSERT_OK(run_cycle(&s, &all, 1, 2, 2, &res, &ev));
        ASSERT_TRUE(s.ranges[0].chunks == NULL);
        ASSERT_EQ(s.ranges[0].uniform, 2);
        ASSERT_U64_EQ(res.resident_bytes, len);
        ASSERT_U64_EQ(res.cold_bytes, len);
        ASSERT_U64_EQ(res.wss_bytes[2], len);
        ASSERT_U64_EQ(res.wss_bytes[1], 0);
        {
                const AddrRun want[] = { { start, start + len, 0 } };
                check_runs(&ev, want, 1, __LINE__);
        }
        run_vec_done(&ev);
        range_set_done(&s);
}

TEST(divergence_materialises_and_compacts) {
        const struct page_region one[] = {
                { PG(0), PG(3), PRESENT },
                { PG(3), PG(4), PRESENT | SEEN },
                { PG(4), PG(8), PRESENT },
        };
        const struct page_region all = { PG(0), PG(8), PRESENT | SEEN };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, PG(0), PG(8), 1));
        ASSERT_OK(run_cycle(&s, one, ELEMENTSOF(one), 1, 1, &res, &ev));
        ASSERT_TRUE(s.ranges[0].chunks != NULL);
        for (unsigned p = 0; p < 8; p++)
                ASSERT_EQ(state_at(&s, PG(p)), p == 3 ? 0 : 1);
        {
                const AddrRun want[] = { { PG(0), PG(3), 0 }, { PG(4), PG(8), 0 } };
                check_runs(&ev, want, 2, __LINE__);
        }
        ASSERT_OK(run_cycle(&s, &all, 1, 2, 1, &res, &ev));
        ASSERT_TRUE(s.ranges[0].chunks == NULL);
        ASSERT_EQ(s.ranges[0].uniform, 0);
        ASSERT_U64_EQ(res.hot_bytes, 8 * PS);
        ASSERT_EQ(ev.n_runs, 0);
        run_vec_done(&ev);
        range_set_done(&s);
}

TEST(swapped_not_listed) {
        const struct page_region g = { PG(0), PG(4), SWAPPED };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, PG(0), PG(4), 1));
        s.ranges[0].uniform = 10;
        ASSERT_OK(run_cycle(&s, &g, 1, 1, 2, &res, &ev));
        ASSERT_EQ(ev.n_runs, 0);
        ASSERT_U64_EQ(res.cold_bytes, 4 * PS);
        ASSERT_U64_EQ(res.swapped_bytes, 4 * PS);
        ASSERT_U64_EQ(res.resident_bytes, 0);
        ASSERT_U64_EQ(res.wss_bytes[3], 0);
        ASSERT_U64_EQ(res.wss_bytes[4], 4 * PS); /* age 11 < 16 */
        ASSERT_U64_EQ(res.age_histogram_bytes[4], 4 * PS);
        run_vec_done(&ev);
        range_set_done(&s);
}

/* rwp reports ACCESSED on swapped entries too: a swapped evicted page that is seen refaulted. */
TEST(seen_while_swapped_is_refault) {
        const struct page_region g = { PG(0), PG(1), SWAPPED | SEEN };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, PG(0), PG(1), 1));
        s.ranges[0].uniform = EVICTED | 5;
        ASSERT_OK(run_cycle(&s, &g, 1, 1, 2, &res, &ev));
        ASSERT_EQ(state_at(&s, PG(0)), 0);
        ASSERT_U64_EQ(res.refaulted_bytes, PS);
        ASSERT_U64_EQ(res.hot_bytes, PS);
        run_vec_done(&ev);
        range_set_done(&s);
}

TEST(huge_unit_hot_if_any_part_seen) {
        const struct page_region g1[] = {
                { BASE, BASE + PS, THP | PRESENT },
                { BASE + PS, BASE + 2 * PS, THP | PRESENT | SEEN },
                { BASE + 2 * PS, BASE + HP, THP | PRESENT },
                { BASE + HP, BASE + 2 * HP, THP | PRESENT },
        };
        const struct page_region g2[] = { { BASE, BASE + 2 * HP, THP | PRESENT } };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, BASE, BASE + 2 * HP, 1));
        ASSERT_OK(run_cycle(&s, g1, ELEMENTSOF(g1), 1, 1, &res, &ev));
        ASSERT_EQ(state_at(&s, BASE), 0);
        ASSERT_EQ(state_at(&s, BASE + HP - PS), 0);
        ASSERT_EQ(state_at(&s, BASE + HP), 1);
        ASSERT_U64_EQ(res.huge_bytes, 2 * HP);
        ASSERT_U64_EQ(res.hot_bytes, HP);
        ASSERT_U64_EQ(res.cold_bytes, HP);
        ASSERT_U64_EQ(res.resident_bytes, 2 * HP);
        ASSERT_U64_EQ(res.evict_bytes, HP);
        {
                const AddrRun want[] = { { BASE + HP, BASE + 2 * HP, ADDR_RUN_HUGE } };
                check_runs(&ev, want, 1, __LINE__);
        }
        /* nothing seen: both cold, listed as one huge run */
        ASSERT_OK(run_cycle(&s, g2, 1, 2, 1, &res, &ev));
        ASSERT_EQ(state_at(&s, BASE + PS), 1);
        ASSERT_EQ(state_at(&s, BASE + HP), 2);
        {
                const AddrRun want[] = { { BASE, BASE + 2 * HP, ADDR_RUN_HUGE } };
                check_runs(&ev, want, 1, __LINE__);
        }
        run_vec_done(&ev);
        range_set_done(&s);
}

TEST(huge_unit_takes_youngest_age) {
        const struct page_region g = { BASE, BASE + HP, THP | PRESENT };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, BASE, BASE + HP, 1));
        s.ranges[0].uniform = 50;
        set_state(&s, BASE + 5 * PS, 0);
        ASSERT_OK(run_cycle(&s, &g, 1, 1, 10, &res, &ev));
        ASSERT_TRUE(s.ranges[0].chunks == NULL); /* one age for the whole unit: compacted */
        ASSERT_EQ(s.ranges[0].uniform, 1);
        ASSERT_EQ(ev.n_runs, 0);
        ASSERT_U64_EQ(res.cold_bytes, 0);
        run_vec_done(&ev);
        range_set_done(&s);
}

TEST(huge_partial_never_listed) {
        const struct page_region g = { BASE, BASE + 2 * HP, THP | PRESENT };
        const struct page_region mixed[] = {
                { BASE - 2 * PS, BASE, PRESENT },
                { BASE, BASE + HP, THP | PRESENT },
        };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;

        ASSERT_OK(range_set_init(&s, PS));
        /* the range's edges cut both huge pages */
        ASSERT_OK(range_set_add(&s, BASE + MB(1), BASE + MB(3), 1));
        ASSERT_OK(run_cycle(&s, &g, 1, 1, 1, &res, &ev));
        ASSERT_EQ(ev.n_runs, 0);
        ASSERT_U64_EQ(res.cold_bytes, MB(2));
        ASSERT_U64_EQ(res.huge_bytes, MB(2));
        ASSERT_U64_EQ(res.resident_bytes, MB(2));
        ASSERT_U64_EQ(res.evict_bytes, 0);
        range_set_done(&s);

        /* small pages next to a whole huge page: two runs, flags kept apart */
        ASSERT_OK(range_set_add(&s, BASE - 2 * PS, BASE + HP, 1));
        ASSERT_OK(run_cycle(&s, mixed, ELEMENTSOF(mixed), 1, 1, &res, &ev));
        {
                const AddrRun want[] = {
                        { BASE - 2 * PS, BASE, 0 },
                        { BASE, BASE + HP, ADDR_RUN_HUGE },
                };
                check_runs(&ev, want, 2, __LINE__);
        }
        ASSERT_U64_EQ(res.huge_bytes, HP);
        run_vec_done(&ev);
        range_set_done(&s);
}

TEST(huge_refault_is_one_event) {
        const struct page_region huge = { BASE, BASE + HP, THP | PRESENT };
        const struct page_region out = { BASE, BASE + HP, SWAPPED };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, BASE, BASE + HP, 1));
        ASSERT_OK(run_cycle(&s, &huge, 1, 1, 1, &res, &ev));
        ASSERT_EQ(ev.n_runs, 1);
        ASSERT_OK(classify_mark_evicted(&s, ev.runs[0].start, ev.runs[0].end));
        ASSERT_OK(run_cycle(&s, &out, 1, 2, 1, &res, &ev));
        ASSERT_EQ(state_at(&s, BASE + 7 * PS), EVICTED | 2);
        ASSERT_EQ(ev.n_runs, 0);
        ASSERT_OK(run_cycle(&s, &huge, 1, 3, 1, &res, &ev));
        ASSERT_U64_EQ(res.refaulted_bytes, HP);
        ASSERT_EQ(res.refaults, 1);
        ASSERT_EQ(state_at(&s, BASE + 7 * PS), 0);
        ASSERT_EQ(s.ranges[0].n_refaults, 1);
        ASSERT_U64_EQ(s.ranges[0].refaults[0].start, BASE);
        ASSERT_U64_EQ(s.ranges[0].refaults[0].end, BASE + HP);
        ASSERT_U64_EQ(s.ranges[0].refaults[0].until_cycle, 4);
        ASSERT_EQ(s.ranges[0].refaults[0].count, 1);

        /* one part refaulting again: the whole unit gets the next count (n=2, until 5 + 2) */
        ASSERT_OK(classify_mark_evicted(&s, BASE + 9 * PS, BASE + 10 * PS));
        ASSERT_OK(run_cycle(&s, &huge, 1, 5, 1, &res, &ev));
        ASSERT_EQ(res.refaults, 1);
        ASSERT_U64_EQ(res.refaulted_bytes, HP);
        ASSERT_EQ(s.ranges[0].n_refaults, 1);
        ASSERT_U64_EQ(s.ranges[0].refaults[0].end, BASE + HP);
        ASSERT_EQ(s.ranges[0].refaults[0].count, 2);
        ASSERT_U64_EQ(s.ranges[0].refaults[0].until_cycle, 5 + 2);

        /* a huge page with only one part held back is held back whole */
        s.ranges[0].refaults[0].start = BASE + 100 * PS;
        s.ranges[0].refaults[0].end = BASE + 101 * PS;
        ASSERT_OK(run_cycle(&s, &huge, 1, 6, 1, &res, &ev));
        ASSERT_EQ(ev.n_runs, 0);
        ASSERT_U64_EQ(res.held_bytes, HP);
        ASSERT_U64_EQ(res.cold_bytes, HP);
        ASSERT_EQ(s.ranges[0].n_refaults, 1);
        ASSERT_OK(run_cycle(&s, &huge, 1, 7, 1, &res, &ev));
        ASSERT_EQ(ev.n_runs, 1);
        ASSERT_EQ(ev.runs[0].flags, ADDR_RUN_HUGE);
        run_vec_done(&ev);
        range_set_done(&s);
}

TEST(regions_clipped_and_checked) {
        const struct page_region wide = { PG(0), PG(100), PRESENT };
        static const struct page_region bad[][2] = {
                { { PG(4), PG(5), PRESENT }, { PG(2), PG(3), PRESENT } }, /* unsorted */
                { { PG(2), PG(5), PRESENT }, { PG(4), PG(6), PRESENT } }, /* overlapping */
                { { PG(2) + 1, PG(5), PRESENT }, { PG(6), PG(7), PRESENT } }, /* unaligned */
                { { PG(2), PG(2), PRESENT }, { PG(6), PG(7), PRESENT } }, /* empty */
        };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;
        ClassifyParams p = params(1, 0);

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, PG(10), PG(20), 1));
        ASSERT_OK(run_cycle(&s, &wide, 1, 1, 1, &res, &ev));
        ASSERT_U64_EQ(res.resident_bytes, 10 * PS);
        {
                const AddrRun want[] = { { PG(10), PG(20), 0 } };
                check_runs(&ev, want, 1, __LINE__);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ASSERT_ERROR(run_cycle(&s, bad[i], 2, 2, 1, &res, &ev), EINVAL);
                ASSERT_EQ(s.ranges[0].uniform, 1); /* untouched */
                ASSERT_TRUE(s.ranges[0].chunks == NULL);
        }
        ASSERT_ERROR(classify_range(&s.ranges[0], NULL, 0, &p, &res, &ev), EINVAL);
        run_vec_done(&ev);
        range_set_done(&s);
}

TEST(ranges_accumulate) {
        const struct page_region g = { PG(0), PG(8), PRESENT };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, PG(0), PG(4), 1));
        ASSERT_OK(range_set_add(&s, PG(4), PG(8), 2));
        ASSERT_OK(run_cycle(&s, &g, 1, 1, 1, &res, &ev));
        ASSERT_U64_EQ(res.tracked_bytes, 8 * PS);
        ASSERT_U64_EQ(res.resident_bytes, 8 * PS);
        {
                const AddrRun want[] = { { PG(0), PG(8), 0 } }; /* across the range boundary */
                check_runs(&ev, want, 1, __LINE__);
        }
        run_vec_done(&ev);
        range_set_done(&s);
}

TEST(mark_evicted_and_cancel) {
        RangeSet s;
        RunVec pending = {};

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, BASE, BASE + 2 * HP, 1));
        s.ranges[0].uniform = 5;
        ASSERT_OK(run_vec_append(&pending, PG(1), PG(10), 0));
        ASSERT_OK(run_vec_append(&pending, BASE + HP, BASE + 2 * HP, ADDR_RUN_HUGE));

        ASSERT_OK(classify_mark_evicted(&s, PG(0), PG(2)));
        ASSERT_EQ(state_at(&s, PG(0)), EVICTED | 5);
        ASSERT_EQ(state_at(&s, PG(1)), EVICTED | 5);
        ASSERT_EQ(state_at(&s, PG(2)), 5);
        ASSERT_ERROR(classify_mark_evicted(&s, PG(0) + 1, PG(2)), EINVAL);

        /* a small page in the middle of a run: the run splits */
        ASSERT_EQ(classify_cancel(&s, &pending, PG(4) + 123), 1);
        ASSERT_EQ(state_at(&s, PG(4)), 0);
        ASSERT_EQ(state_at(&s, PG(5)), 5);
        {
                const AddrRun want[] = { { PG(1), PG(4), 0 },
                                         { PG(5), PG(10), 0 },
                                         { BASE + HP, BASE + 2 * HP, ADDR_RUN_HUGE } };
                check_runs(&pending, want, 3, __LINE__);
        }
        /* inside a huge page: the whole huge page goes */
        ASSERT_EQ(classify_cancel(&s, &pending, BASE + HP + MB(1)), 1);
        ASSERT_EQ(state_at(&s, BASE + HP), 0);
        ASSERT_EQ(state_at(&s, BASE + 2 * HP - PS), 0);
        {
                const AddrRun want[] = { { PG(1), PG(4), 0 }, { PG(5), PG(10), 0 } };
                check_runs(&pending, want, 2, __LINE__);
        }
        /* not pending: age reset, EVICTED kept, list untouched */
        ASSERT_EQ(classify_cancel(&s, &pending, PG(0)), 0);
        ASSERT_EQ(state_at(&s, PG(0)), EVICTED);
        ASSERT_EQ(pending.n_runs, 2);
        /* untracked and not pending: nothing */
        ASSERT_EQ(classify_cancel(&s, &pending, 4096), 0);
        /* the low-level variant */
        ASSERT_OK(classify_page_accessed(&s.ranges[0], 1));
        ASSERT_EQ(state_at(&s, PG(1)), EVICTED);
        ASSERT_ERROR(classify_page_accessed(&s.ranges[0], 2 * HP / PS), EINVAL);
        run_vec_done(&pending);
        range_set_done(&s);
}

static void check_due(const TrackedRange *r, uint64_t cycle, unsigned period, const AddrRun *want,
                      size_t n, int line) {
        RunVec due = {};

        ASSERT_OK(classify_due_runs(r, cycle, period, &due));
        check_runs(&due, want, n, line);
        run_vec_done(&due);
}

#define C(k) \
        { MB(2 * (k)), MB(2 * (k) + 2), 0 } /* chunk k of [0, 16M) */

TEST(due_runs_schedule) {
        static const struct {
                uint64_t start, end, cycle;
                unsigned period;
                AddrRun want[4];
                size_t n;
        } t[] = {
                { 0, MB(16), 0, 1, { { 0, MB(16), 0 } }, 1 },
                { 0, MB(16), 7, 1, { { 0, MB(16), 0 } }, 1 },
                { 0, MB(16), 0, 3, { C(0), C(3), C(6) }, 3 },
                { 0, MB(16), 1, 3, { C(2), C(5) }, 2 },
                { 0, MB(16), 2, 3, { C(1), C(4), C(7) }, 3 },
                { 0, MB(16), 3, 3, { C(0), C(3), C(6) }, 3 },
                { 0, MB(16), 0, 2, { C(0), C(2), C(4), C(6) }, 4 },
                { 0, MB(16), 5, 8, { C(3) }, 1 },
                { 0, MB(16), 1, 10, {}, 0 },
                { 0, MB(16), 5, 10, { C(5) }, 1 },
                /* unaligned range: chunks clipped */
                { MB(1) + PS, MB(5), 0, 2, { { MB(1) + PS, MB(2), 0 }, { MB(4), MB(5), 0 } }, 2 },
                { MB(1) + PS, MB(5), 1, 2, { C(1) }, 1 },
                /* chunk numbers are absolute: BASE is chunk 512 */
                { BASE, BASE + MB(6), 1, 3, { { BASE, BASE + MB(2), 0 } }, 1 },
                { BASE, BASE + MB(6), 2, 3, { { BASE + MB(4), BASE + MB(6), 0 } }, 1 },
                { BASE, BASE + MB(6), 3, 3, { { BASE + MB(2), BASE + MB(4), 0 } }, 1 },
                { BASE + PS, BASE + 2 * PS, 1, 3, { { BASE + PS, BASE + 2 * PS, 0 } }, 1 },
                { BASE + PS, BASE + 2 * PS, 2, 3, {}, 0 },
        };
        RunVec due = {};

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                TrackedRange r = { .start = t[i].start, .end = t[i].end, .page_shift = 12 };
                check_due(&r, t[i].cycle, t[i].period, t[i].want, t[i].n, __LINE__);
        }
        {
                TrackedRange r = { .start = 0, .end = MB(2), .page_shift = 12 };
                ASSERT_ERROR(classify_due_runs(&r, 0, 0, &due), EINVAL);
        }
        run_vec_done(&due);
}

/* Over any rearm_period consecutive cycles, every chunk is due exactly once. */
TEST(due_runs_cover_each_chunk_once) {
        TrackedRange r = { .start = MB(3) + PS, .end = MB(41) - PS, .page_shift = 12 };

        for (unsigned period = 1; period <= 7; period++)
                for (uint64_t first = 0; first < 20; first++) {
                        unsigned hits[21] = {};
                        uint64_t bytes = 0;
                        for (uint64_t c = first; c < first + period; c++) {
                                RunVec due = {};
                                ASSERT_OK(classify_due_runs(&r, c, period, &due));
                                for (size_t i = 0; i < due.n_runs; i++) {
                                        uint64_t k0 = due.runs[i].start >> 21;
                                        uint64_t k1 = (due.runs[i].end - 1) >> 21;
                                        ASSERT_TRUE(due.runs[i].start >= r.start);
                                        ASSERT_TRUE(due.runs[i].end <= r.end);
                                        for (uint64_t k = k0; k <= k1; k++)
                                                hits[k]++;
                                        bytes += due.runs[i].end - due.runs[i].start;
                                }
                                run_vec_done(&due);
                        }
                        ASSERT_U64_EQ(bytes, r.end - r.start);
                        for (uint64_t k = r.start >> 21; k <= (r.end - 1) >> 21; k++)
                                if (hits[k] != 1)
                                        test_fail(__FILE__, __LINE__,
                                                  "period %u from %" PRIu64 ": chunk %" PRIu64
                                                  " due %u times",
                                                  period, first, k, hits[k]);
                }
}

/* ---- the windowed walk (classify_range_step/finish) ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

/* Classifies r window by window ([start, start + k * window) pieces), as tracker.c does. */
static int classify_windowed(TrackedRange *r, const struct page_region *g, size_t n,
                             const ClassifyParams *p, uint64_t window, ClassifyResult *res,
                             RunVec *ev) {
        _cleanup_(classify_progress_done) ClassifyProgress pg = {};
        int k;

        ASSERT_OK(classify_progress_begin(&pg, r, r->start));
        while (pg.pos < r->end) {
                uint64_t e = MIN(ALIGN_DOWN(pg.pos, window) + window, r->end);
                ASSERT_TRUE(classify_progress_matches(&pg, r, pg.pos));
                k = classify_range_step(r, e, g, n, p, &pg, res, ev);
                if (k < 0)
                        return k;
        }
        return classify_range_finish(r, &pg);
}

static void random_regions(uint64_t start, uint64_t end, struct page_region *g, size_t max,
                           size_t *ret_n) {
        size_t n = 0;

        for (uint64_t a = start; a < end && n < max;) {
                uint64_t len = (1 + rng() % 24) * PS;
                uint64_t kind = rng() % 8;
                uint64_t cats;

                if (kind == 0) {
                        /* a whole huge page, when aligned */
                        uint64_t b = ALIGN_UP(a, HP);
                        if (b + HP <= end) {
                                g[n++] = (struct page_region){
                                        b, b + HP, PRESENT | THP | (rng() % 2 ? SEEN : 0)
                                };
                                a = b + HP;
                                continue;
                        }
                }
                cats = kind < 3 ? PRESENT : kind < 4 ? PRESENT | SEEN : kind < 5 ? SWAPPED : 0;
                len = MIN(len, end - a);
                if (cats)
                        g[n++] = (struct page_region){ a, a + len, cats };
                a += len;
        }
        *ret_n = n;
}

/* The same cycles through classify_range() and through windows of 2, 4 and 8 MiB give the same
 * states, refault runs, statistics and eviction lists. */
TEST(windowed_walk_equals_whole) {
        static struct page_region g[4096];
        const uint64_t len = 8 * HP + 40 * PS;

        for (unsigned w = 1; w <= 3; w++) {
                _cleanup_(range_set_done) RangeSet a = {}, b = {};
                _cleanup_(run_vec_done) RunVec ea = {}, eb = {};
                uint64_t window = HP << (w - 1);

                ASSERT_OK(range_set_init(&a, PS));
                ASSERT_OK(range_set_init(&b, PS));
                ASSERT_OK(range_set_add(&a, BASE, BASE + len, 0));
                ASSERT_OK(range_set_add(&b, BASE, BASE + len, 0));
                for (uint64_t cycle = 1; cycle <= 60; cycle++) {
                        ClassifyParams p = params(cycle, 3);
                        ClassifyResult ra = {}, rb = {};
                        size_t n = 0;

                        /* idle cycles now and then: the range goes back to one state */
                        if (cycle % 11 < 4)
                                n = 0;
                        else
                                random_regions(BASE, BASE + len, g, ELEMENTSOF(g), &n);
                        run_vec_clear(&ea);
                        run_vec_clear(&eb);
                        ASSERT_OK(classify_range(&a.ranges[0], g, n, &p, &ra, &ea));
                        ASSERT_OK(classify_windowed(&b.ranges[0], g, n, &p, window, &rb, &eb));
                        ASSERT_EQ(memcmp(&ra, &rb, sizeof ra), 0);
                        ASSERT_EQ(ea.n_runs, eb.n_runs);
                        for (size_t i = 0; i < ea.n_runs; i++) {
                                ASSERT_U64_EQ(ea.runs[i].start, eb.runs[i].start);
                                ASSERT_U64_EQ(ea.runs[i].end, eb.runs[i].end);
                                ASSERT_EQ(ea.runs[i].flags, eb.runs[i].flags);
                        }
                        ASSERT_EQ(!a.ranges[0].chunks, !b.ranges[0].chunks);
                        for (uint64_t x = BASE; x < BASE + len; x += PS)
                                ASSERT_EQ(state_at(&a, x), state_at(&b, x));
                        /* the runs may be cut differently at window edges, never differ */
                        for (uint64_t x = BASE; x < BASE + len; x += PS) {
                                const RefaultRun *ka = tracked_range_find_refault(&a.ranges[0], x);
                                const RefaultRun *kb = tracked_range_find_refault(&b.ranges[0], x);
                                ASSERT_EQ(!ka, !kb);
                                if (ka) {
                                        ASSERT_U64_EQ(ka->until_cycle, kb->until_cycle);
                                        ASSERT_EQ(ka->count, kb->count);
                                }
                        }
                        /* some of the cold pages go out, as an eviction would */
                        for (size_t i = 0; i < ea.n_runs; i += 2) {
                                ASSERT_OK(classify_mark_evicted(&a, ea.runs[i].start,
                                                                ea.runs[i].end));
                                ASSERT_OK(classify_mark_evicted(&b, ea.runs[i].start,
                                                                ea.runs[i].end));
                        }
                }
        }
}

/* A huge range never touched stays without per-page bytes through a windowed walk: the walked
 * part's new state waits in the progress until the finish. */
TEST(windowed_uniform_range_stays_uniform) {
        _cleanup_(range_set_done) RangeSet s = {};
        _cleanup_(run_vec_done) RunVec ev = {};
        const uint64_t len = UINT64_C(64) << 30;
        TrackedRange *r;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, BASE, BASE + len, 0));
        r = &s.ranges[0];
        for (uint64_t cycle = 1; cycle <= 3; cycle++) {
                ClassifyParams p = params(cycle, 2);
                ClassifyResult res = {};

                ASSERT_OK(classify_windowed(r, NULL, 0, &p, MB(256), &res, &ev));
                ASSERT_TRUE(!r->chunks);
                ASSERT_EQ(r->uniform, cycle);
                ASSERT_U64_EQ(res.tracked_bytes, len);
        }
}

/* Divergence in a later window: the bytes are made then, with the walked part's new state and
 * the rest's old one, and the walk goes on. */
TEST(windowed_divergence_late) {
        _cleanup_(range_set_done) RangeSet s = {};
        _cleanup_(run_vec_done) RunVec ev = {};
        _cleanup_(classify_progress_done) ClassifyProgress pg = {};
        struct page_region g[] = { { PG(1536), PG(1537), PRESENT | SEEN } };
        ClassifyParams p = params(5, 2);
        ClassifyResult res = {};
        TrackedRange *r, buf;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, BASE, BASE + 4 * HP, 0));
        r = &s.ranges[0];
        r->uniform = 3;
        ASSERT_OK(classify_progress_begin(&pg, r, r->start));
        ASSERT_OK(classify_range_step(r, BASE + HP, g, 1, &p, &pg, &res, &ev));
        ASSERT_TRUE(!r->chunks);
        ASSERT_EQ(r->uniform, 3); /* the old state for the part not walked */
        ASSERT_EQ(classify_progress_view(&pg, r, &buf)->uniform, 4);
        ASSERT_OK(classify_range_step(r, BASE + 2 * HP, g, 1, &p, &pg, &res, &ev));
        ASSERT_OK(classify_range_step(r, BASE + 4 * HP, g, 1, &p, &pg, &res, &ev));
        ASSERT_TRUE(r->chunks);
        ASSERT_OK(classify_range_finish(r, &pg));
        ASSERT_EQ(state_at(&s, PG(0)), 4);
        ASSERT_EQ(state_at(&s, PG(1023)), 4);
        ASSERT_EQ(state_at(&s, PG(1536)), 0);
        ASSERT_EQ(state_at(&s, PG(2047)), 4);
        ASSERT_FALSE(pg.active);
}

/* A walk begun in the middle (its range changed under the cursor): the part before keeps its
 * old state and refault runs. Steps refuse a progress that is not the range's. */
TEST(windowed_resume_mid_range) {
        _cleanup_(range_set_done) RangeSet s = {};
        _cleanup_(run_vec_done) RunVec ev = {};
        _cleanup_(classify_progress_done) ClassifyProgress pg = {};
        ClassifyParams p = params(9, 2);
        ClassifyResult res = {};
        TrackedRange *r;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, BASE, BASE + 2 * HP, 0));
        r = &s.ranges[0];
        r->uniform = 1;
        ASSERT_OK(classify_progress_begin(&pg, r, BASE + HP));
        ASSERT_FALSE(classify_progress_matches(&pg, r, BASE));
        ASSERT_TRUE(classify_progress_matches(&pg, r, BASE + HP));
        ASSERT_ERROR(classify_range_finish(r, &pg), EINVAL); /* not at the end yet */
        ASSERT_OK(classify_range_step(r, BASE + 2 * HP, NULL, 0, &p, &pg, &res, &ev));
        ASSERT_U64_EQ(res.tracked_bytes, HP);
        ASSERT_OK(classify_range_finish(r, &pg));
        ASSERT_EQ(state_at(&s, PG(0)), 1);
        ASSERT_EQ(state_at(&s, PG(512)), 2);

        /* a progress of other bounds is refused */
        ASSERT_OK(classify_progress_begin(&pg, r, BASE));
        pg.end = BASE + HP;
        ASSERT_ERROR(classify_range_step(r, BASE + HP, NULL, 0, &p, &pg, &res, &ev), EINVAL);
        ASSERT_ERROR(classify_progress_begin(&pg, r, BASE + 2 * HP), EINVAL);
}

/* Past the state budget a range keeps one state, the merge that never turns a page cold early:
 * with one page seen every cycle, nothing in the range is ever evicted. */
TEST(over_budget_coarsens_safely) {
        const struct page_region g[] = {
                { PG(0), PG(1), PRESENT | SEEN },
                { PG(1), PG(4), PRESENT },
        };
        StateBudget b = { .limit = 1, .merge = classify_state_merge };
        RangeSet s;
        RunVec ev = {};
        ClassifyResult res;

        ASSERT_OK(range_set_init(&s, PS));
        s.budget = &b;
        ASSERT_OK(range_set_add(&s, PG(0), PG(4), 1));
        for (uint64_t c = 1; c <= 5; c++) {
                ASSERT_OK(run_cycle(&s, g, ELEMENTSOF(g), c, 3, &res, &ev));
                ASSERT_TRUE(s.ranges[0].chunks == NULL);
                ASSERT_EQ(s.ranges[0].uniform, 0);
                ASSERT_U64_EQ(b.used, 0);
        }
        ASSERT_CMP(b.coarsened, >, 0);
        ASSERT_EQ(classify_state_merge(PAGE_STATE_EVICTED | 9, 4), 4);
        ASSERT_EQ(classify_state_merge(PAGE_STATE_EVICTED | 9, PAGE_STATE_EVICTED | 12),
                  PAGE_STATE_EVICTED | 9);
        run_vec_done(&ev);
        range_set_done(&s);
}
