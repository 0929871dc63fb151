/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Adaptive re-arming (arm-schedule.c): a chunk wholly hot at its arming goes up a level and is
 * then due half as often; a page not seen puts it back; level 0 is classify_due_runs(). */

#include "arm-schedule.h"
#include "classify.h"
#include "macro.h"
#include "rangeset.h"
#include "test.h"

#define PS UINT64_C(4096)
#define CHUNK CLASSIFY_HUGE_BYTES
#define BASE (UINT64_C(0x7f0000000000))

static TrackedRange *make_range(RangeSet *s, uint64_t chunks) {
        ASSERT_OK(range_set_init(s, PS));
        ASSERT_OK(range_set_add(s, BASE, BASE + chunks * CHUNK, 0));
        return &s->ranges[0];
}

/* How many of `cycles` consecutive cycles chunk k (from BASE) is due in. */
static unsigned count_due(const ArmLevels *l, const TrackedRange *r, uint64_t from, unsigned cycles,
                          unsigned period, uint64_t k) {
        unsigned n = 0;

        for (uint64_t c = from; c < from + cycles; c++) {
                _cleanup_(run_vec_done) RunVec due = {};
                ASSERT_OK(arm_schedule_due(l, r, c, period, &due));
                for (size_t i = 0; i < due.n_runs; i++)
                        if (due.runs[i].start <= BASE + k * CHUNK &&
                            BASE + k * CHUNK < due.runs[i].end)
                                n++;
        }
        return n;
}

TEST(level_zero_is_the_fixed_schedule) {
        _cleanup_(range_set_done) RangeSet s = {};
        ArmLevels l = {};
        TrackedRange *r = make_range(&s, 16);

        for (uint64_t c = 0; c < 40; c++) {
                _cleanup_(run_vec_done) RunVec a = {}, b = {};
                ASSERT_OK(arm_schedule_due(&l, r, c, 6, &a));
                ASSERT_OK(classify_due_runs(r, c, 6, &b));
                ASSERT_EQ(a.n_runs, b.n_runs);
                for (size_t i = 0; i < a.n_runs; i++) {
                        ASSERT_U64_EQ(a.runs[i].start, b.runs[i].start);
                        ASSERT_U64_EQ(a.runs[i].end, b.runs[i].end);
                }
        }
        ASSERT_ERROR(arm_schedule_due(&l, r, 0, 0, NULL), EINVAL);
        arm_levels_done(&l);
}

TEST(hot_chunk_climbs_and_is_armed_less_often) {
        _cleanup_(range_set_done) RangeSet s = {};
        ArmLevels l = {};
        TrackedRange *r = make_range(&s, 4);
        uint64_t c = 0;

        /* every page age 0 (seen) at every arming: the chunk climbs to the maximum */
        ASSERT_EQ(count_due(&l, r, 0, 48, 6, 1), 8);
        for (unsigned round = 1; round <= 5; round++) {
                _cleanup_(run_vec_done) RunVec due = {};
                /* the next cycle where chunk 1 is due at its level */
                for (;; c++) {
                        run_vec_clear(&due);
                        ASSERT_OK(arm_schedule_due(&l, r, c, 6, &due));
                        if (due.n_runs > 0 && due.runs[0].start <= BASE + CHUNK &&
                            BASE + CHUNK < due.runs[0].end)
                                break;
                        if (due.n_runs > 1 && due.runs[1].start <= BASE + CHUNK &&
                            BASE + CHUNK < due.runs[1].end)
                                break;
                }
                ASSERT_OK(arm_schedule_update(&l, r, &due, 3));
                ASSERT_EQ(arm_levels_get(&l, (BASE >> CLASSIFY_CHUNK_SHIFT) + 1), MIN(round, 3U));
                c++;
        }
        /* at level 3: due once in 6 << 3 = 48 cycles instead of 8 times */
        ASSERT_EQ(count_due(&l, r, c, 48, 6, 1), 1);
        /* the other chunks, never updated, keep the fixed schedule */
        ASSERT_EQ(count_due(&l, r, c, 48, 6, 2), 8);
        arm_levels_done(&l);
}

TEST(a_page_not_seen_resets_the_level) {
        _cleanup_(range_set_done) RangeSet s = {};
        _cleanup_(run_vec_done) RunVec due = {};
        ArmLevels l = {};
        TrackedRange *r = make_range(&s, 2);
        uint64_t k0 = BASE >> CLASSIFY_CHUNK_SHIFT;

        ASSERT_OK(run_vec_append(&due, BASE, BASE + 2 * CHUNK, 0));
        ASSERT_OK(arm_schedule_update(&l, r, &due, 3));
        ASSERT_OK(arm_schedule_update(&l, r, &due, 3));
        ASSERT_EQ(arm_levels_get(&l, k0), 2);
        ASSERT_EQ(arm_levels_get(&l, k0 + 1), 2);
        /* one page of chunk 0 aged: chunk 0 falls back, chunk 1 climbs on */
        ASSERT_OK(tracked_range_set(r, 7, 1));
        ASSERT_OK(arm_schedule_update(&l, r, &due, 3));
        ASSERT_EQ(arm_levels_get(&l, k0), 0);
        ASSERT_EQ(arm_levels_get(&l, k0 + 1), 3);
        /* capped, and max 0 means never adapt */
        ASSERT_OK(arm_schedule_update(&l, r, &due, 3));
        ASSERT_EQ(arm_levels_get(&l, k0 + 1), 3);
        ASSERT_OK(arm_schedule_update(&l, r, &due, 0));
        ASSERT_EQ(arm_levels_get(&l, k0 + 1), 0);
        ASSERT_EQ(l.n, 0);
        arm_levels_done(&l);
}

TEST(forget_drops_the_chunks_of_a_range) {
        _cleanup_(range_set_done) RangeSet s = {};
        _cleanup_(run_vec_done) RunVec due = {};
        ArmLevels l = {};
        TrackedRange *r = make_range(&s, 8);
        uint64_t k0 = BASE >> CLASSIFY_CHUNK_SHIFT;

        ASSERT_OK(run_vec_append(&due, BASE, BASE + 8 * CHUNK, 0));
        ASSERT_OK(arm_schedule_update(&l, r, &due, 3));
        ASSERT_EQ(l.n, 8);
        /* an unmap of part of chunks 2..4 forgets those three */
        arm_levels_forget(&l, BASE + 2 * CHUNK + PS, BASE + 4 * CHUNK + PS);
        ASSERT_EQ(l.n, 5);
        ASSERT_EQ(arm_levels_get(&l, k0 + 1), 1);
        ASSERT_EQ(arm_levels_get(&l, k0 + 2), 0);
        ASSERT_EQ(arm_levels_get(&l, k0 + 4), 0);
        ASSERT_EQ(arm_levels_get(&l, k0 + 5), 1);
        arm_levels_forget(&l, 5, 5); /* empty: nothing */
        ASSERT_EQ(l.n, 5);
        arm_levels_done(&l);
}
