/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "macro.h"
#include "slice.h"
#include "test.h"

#define PS UINT64_C(4096)
#define MB(n) ((uint64_t) (n) << 20)
#define BASE (UINT64_C(1) << 32)

TEST(budget) {
        SliceBudget b = slice_budget_make(1000, 500, 10);

        ASSERT_FALSE(slice_budget_spent(&b, 1000));
        slice_budget_take(&b, 4);
        ASSERT_FALSE(slice_budget_spent(&b, 1499));
        ASSERT_TRUE(slice_budget_spent(&b, 1500)); /* the time is up */
        slice_budget_take(&b, 100); /* saturates */
        ASSERT_U64_EQ(b.pages_left, 0);
        ASSERT_TRUE(slice_budget_spent(&b, 1000)); /* the pages are used up */

        b = slice_budget_make(UINT64_MAX - 10, 500, 0); /* no wrap-around, no page limit */
        ASSERT_FALSE(slice_budget_spent(&b, UINT64_MAX - 1));
        slice_budget_take(&b, UINT64_MAX - 1);
        ASSERT_FALSE(slice_budget_spent(&b, 0));
        b = slice_budget_make(0, 0, 0);
        ASSERT_FALSE(slice_budget_spent(&b, UINT64_MAX - 1));
}

/* Windows: inside one range, ending on window boundaries or at the range's end; a cursor in a
 * gap or before the first range goes to the next range; none after the last. */
TEST(next_window) {
        _cleanup_(range_set_done) RangeSet s = {};
        SliceWindow w;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_EQ(slice_next_window(&s, 0, MB(2), &w), 0);
        ASSERT_OK(range_set_add(&s, BASE + MB(1), BASE + MB(5), 0));
        ASSERT_OK(range_set_add(&s, BASE + MB(8), BASE + MB(8) + PS, 1));
        ASSERT_OK(range_set_add(&s, BASE + MB(20), BASE + MB(30), 2));

        ASSERT_EQ(slice_next_window(&s, 0, MB(2), &w), 1);
        ASSERT_EQ(w.index, 0);
        ASSERT_U64_EQ(w.start, BASE + MB(1));
        ASSERT_U64_EQ(w.end, BASE + MB(2)); /* to the window boundary */
        ASSERT_EQ(slice_next_window(&s, w.end, MB(2), &w), 1);
        ASSERT_U64_EQ(w.start, BASE + MB(2));
        ASSERT_U64_EQ(w.end, BASE + MB(4));
        ASSERT_EQ(slice_next_window(&s, w.end, MB(2), &w), 1);
        ASSERT_U64_EQ(w.end, BASE + MB(5)); /* to the range's end */
        ASSERT_EQ(slice_next_window(&s, w.end, MB(2), &w), 1);
        ASSERT_EQ(w.index, 1); /* a gap: on to the next range */
        ASSERT_U64_EQ(w.start, BASE + MB(8));
        ASSERT_U64_EQ(w.end, BASE + MB(8) + PS);
        /* a cursor in the middle of a range (the part before was done, then the range changed) */
        ASSERT_EQ(slice_next_window(&s, BASE + MB(21) + PS, MB(4), &w), 1);
        ASSERT_EQ(w.index, 2);
        ASSERT_U64_EQ(w.start, BASE + MB(21) + PS);
        ASSERT_U64_EQ(w.end, BASE + MB(24));
        ASSERT_EQ(slice_next_window(&s, BASE + MB(30), MB(4), &w), 0);
        ASSERT_EQ(slice_next_window(&s, UINT64_MAX, MB(4), &w), 0);
        ASSERT_ERROR(slice_next_window(&s, 0, MB(3), &w), EINVAL);
        ASSERT_ERROR(slice_next_window(&s, 0, 1024, &w), EINVAL);
}

TEST(next_window_top_of_address_space) {
        _cleanup_(range_set_done) RangeSet s = {};
        uint64_t top = UINT64_MAX - PS + 1; /* the last page */
        SliceWindow w;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, top - MB(4), top, 0));
        ASSERT_EQ(slice_next_window(&s, top - MB(1), MB(2), &w), 1);
        ASSERT_U64_EQ(w.end, top);
}

/* Removing the range under a cursor, splitting it, adding one before it: the walk goes on from
 * the address, never revisits what it did nor skips what is left. */
TEST(next_window_survives_changes) {
        _cleanup_(range_set_done) RangeSet s = {};
        uint64_t cursor, walked = 0;
        SliceWindow w;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, BASE, BASE + MB(16), 0));
        ASSERT_EQ(slice_next_window(&s, 0, MB(4), &w), 1);
        cursor = w.end;
        walked += w.end - w.start;
        ASSERT_OK(range_set_remove(&s, BASE + MB(6), BASE + MB(10), NULL)); /* a hole ahead */
        ASSERT_OK(range_set_add(&s, BASE - MB(4), BASE - MB(2), 1)); /* a range behind */
        while (slice_next_window(&s, cursor, MB(4), &w) == 1) {
                ASSERT_TRUE(w.start >= cursor);
                walked += w.end - w.start;
                cursor = w.end;
        }
        ASSERT_U64_EQ(walked, MB(12));
}

TEST(take_front) {
        _cleanup_(run_vec_done) RunVec v = {};
        AddrRun a;

        ASSERT_EQ(slice_take_front(&v, MB(1), PS, &a), 0);
        ASSERT_OK(run_vec_append(&v, BASE + PS, BASE + MB(3), 0));
        ASSERT_OK(run_vec_append(&v, BASE + MB(8), BASE + MB(9), ADDR_RUN_HUGE));

        ASSERT_EQ(slice_take_front(&v, MB(1), MB(1), &a), 1);
        ASSERT_U64_EQ(a.start, BASE + PS);
        ASSERT_U64_EQ(a.end, BASE + MB(1)); /* cut at the boundary, within the budget */
        ASSERT_EQ(slice_take_front(&v, MB(1) + 5, MB(1), &a), 1);
        ASSERT_U64_EQ(a.start, BASE + MB(1));
        ASSERT_U64_EQ(a.end, BASE + MB(2));
        ASSERT_EQ(slice_take_front(&v, MB(4), MB(1), &a), 1);
        ASSERT_U64_EQ(a.end, BASE + MB(3)); /* the rest of the run, no more */
        ASSERT_EQ(slice_take_front(&v, 0, MB(1), &a), 1); /* at least one unit */
        ASSERT_U64_EQ(a.start, BASE + MB(8));
        ASSERT_U64_EQ(a.end, BASE + MB(9));
        ASSERT_EQ(a.flags, ADDR_RUN_HUGE);
        ASSERT_EQ(v.n_runs, 0);
        ASSERT_EQ(slice_take_front(&v, MB(1), MB(1), &a), 0);
        ASSERT_ERROR(slice_take_front(&v, MB(1), 3, &a), EINVAL);
}

TEST(adapt) {
        /* slow: halve; fast: grow by a quarter; in between: keep; always in [min, max] */
        ASSERT_U64_EQ(slice_adapt(MB(4), 50000, 5000, PS, MB(4)), MB(2));
        ASSERT_U64_EQ(slice_adapt(MB(2), 1000, 5000, PS, MB(4)), MB(2) + MB(2) / 4);
        ASSERT_U64_EQ(slice_adapt(MB(2), 5000, 5000, PS, MB(4)), MB(2));
        ASSERT_U64_EQ(slice_adapt(MB(4), 0, 5000, PS, MB(4)), MB(4));
        ASSERT_U64_EQ(slice_adapt(PS, 1000000, 5000, PS, MB(4)), PS);
        ASSERT_U64_EQ(slice_adapt(PS, 0, 5000, PS, MB(4)), 2 * PS);
        ASSERT_U64_EQ(slice_adapt(3 * PS, 0, 5000, PS, MB(4)) % PS, 0);
        /* a batch that stays slow converges to the minimum in log2 steps */
        uint64_t x = MB(4);
        for (unsigned i = 0; i < 12; i++)
                x = slice_adapt(x, 100000, 5000, PS, MB(4));
        ASSERT_U64_EQ(x, PS);
}
