/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "rangeset.h"
#include "test.h"

#define PS UINT64_C(4096)
#define P(n) ((uint64_t) (n) *PS) /* address of page n */

typedef struct ExpRange {
        uint64_t start, end; /* in pages */
        uint32_t tag;
        /* the pages' states are those page src.. had before the operation (state = f(page));
         * from page `split` on (when not 0), those of src2.. (a range merged from two) */
        uint64_t src;
        uint64_t split, src2;
} ExpRange;

#define R(start, end, tag, src) \
        { (start), (end), (tag), (src), 0, 0 }
#define R2(start, end, tag, src, split, src2) \
        { (start), (end), (tag), (src), (split), (src2) }

/* Distinct state per original page, so moved/split state can be traced to its origin. */
static uint8_t state_of(uint64_t page) {
        return (uint8_t) (page * 7 + 1);
}

static void set_states(RangeSet *s) {
        for (size_t i = 0; i < s->n_ranges; i++) {
                TrackedRange *r = &s->ranges[i];
                for (uint64_t p = 0; p < tracked_range_n_pages(r); p++)
                        ASSERT_OK(tracked_range_set(r, p, state_of(r->start / PS + p)));
        }
}

static void check_layout(const RangeSet *s, const ExpRange *e, size_t n, bool check_states,
                         int line) {
        if (s->n_ranges != n)
                test_fail(__FILE__, line, "%zu ranges, expected %zu", s->n_ranges, n);
        for (size_t i = 0; i < n; i++) {
                const TrackedRange *r = &s->ranges[i];
                if (r->start != P(e[i].start) || r->end != P(e[i].end) || r->tag != e[i].tag)
                        test_fail(__FILE__, line,
                                  "range %zu: [%" PRIu64 ", %" PRIu64 ") tag %u, expected [%" PRIu64
                                  ", %" PRIu64 ") tag %u",
                                  i, r->start / PS, r->end / PS, r->tag, e[i].start, e[i].end,
                                  e[i].tag);
                if (r->page_shift != 12)
                        test_fail(__FILE__, line, "range %zu: page_shift %u", i, r->page_shift);
                if (!check_states)
                        continue;
                for (uint64_t p = 0; p < e[i].end - e[i].start; p++) {
                        uint64_t page = e[i].start + p;
                        uint64_t src = e[i].split != 0 && page >= e[i].split
                                ? e[i].src2 + (page - e[i].split)
                                : e[i].src + p;
                        if (tracked_range_get(r, p) != state_of(src))
                                test_fail(__FILE__, line, "page %" PRIu64 ": state %u, expected %u",
                                          page, tracked_range_get(r, p), state_of(src));
                }
        }
}

#define CHECK_LAYOUT(s, e, n, st) check_layout((s), (e), (n), (st), __LINE__)

TEST(init) {
        RangeSet s;

        ASSERT_ERROR(range_set_init(&s, 0), EINVAL);
        ASSERT_ERROR(range_set_init(&s, 4095), EINVAL);
        ASSERT_ERROR(range_set_init(&s, 3 * 4096), EINVAL);
        ASSERT_OK(range_set_init(&s, 65536));
        ASSERT_EQ(s.page_shift, 16);
        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_EQ(s.page_shift, 12);
        ASSERT_EQ(s.n_ranges, 0);
        ASSERT_U64_EQ(range_set_bytes(&s), 0);
        ASSERT_TRUE(range_set_find(&s, 0) == NULL);
        range_set_done(&s);
        range_set_done(&s); /* idempotent */
        range_set_done(NULL);
}

TEST(add) {
        /* Applied in order to one set, starting from [10, 20) tag 1 and [30, 40) tag 2. */
        static const struct {
                uint64_t start, end; /* bytes */
                uint32_t tag;
                int err;
        } t[] = {
                { P(0) + 1, P(5), 9, EINVAL }, /* unaligned start */
                { P(0), P(5) - 1, 9, EINVAL }, /* unaligned end */
                { P(5), P(5), 9, EINVAL }, /* empty */
                { P(6), P(5), 9, EINVAL }, /* backwards */
                { P(10), P(20), 9, EEXIST }, /* exact */
                { P(5), P(11), 9, EEXIST }, /* overlaps the start */
                { P(19), P(25), 9, EEXIST }, /* overlaps the end */
                { P(12), P(13), 9, EEXIST }, /* inside */
                { P(0), P(100), 9, EEXIST }, /* around both */
                { P(25), P(31), 9, EEXIST }, /* into the second */
                { P(20), P(25), 3, 0 }, /* touches [10,20) but another tag: separate */
                { P(25), P(30), 3, 0 }, /* touches tag 3 and tag 2: merges left */
                { P(40), P(45), 2, 0 }, /* touches [30,40) tag 2: merge */
                { P(0), P(10), 1, 0 }, /* touches [10,20) tag 1: merge */
                { P(100), P(101), 7, 0 },
                { UINT64_MAX - PS + 1, 0, 7, EINVAL }, /* end wrapped */
        };
        static const ExpRange e[] = {
                R(0, 20, 1, 0),
                R(20, 30, 3, 0),
                R(30, 45, 2, 0),
                R(100, 101, 7, 0),
        };
        RangeSet s;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, P(10), P(20), 1));
        ASSERT_OK(range_set_add(&s, P(30), P(40), 2));
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                int r = range_set_add(&s, t[i].start, t[i].end, t[i].tag);
                if (r != -t[i].err)
                        test_fail(__FILE__, __LINE__, "case %zu: %d, expected %d", i, r, -t[i].err);
        }
        CHECK_LAYOUT(&s, e, ELEMENTSOF(e), false);
        ASSERT_U64_EQ(range_set_bytes(&s), P(46));
        /* Every page of a new range starts in state 0, without per-page bytes. */
        for (size_t i = 0; i < s.n_ranges; i++) {
                ASSERT_TRUE(s.ranges[i].chunks == NULL);
                ASSERT_EQ(s.ranges[i].uniform, 0);
        }
        range_set_done(&s);
}

TEST(add_merge_keeps_state) {
        RangeSet s;
        TrackedRange *r;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, P(10), P(14), 5));
        ASSERT_OK(tracked_range_set(&s.ranges[0], 1, 0x42));
        ASSERT_OK(range_set_add(&s, P(20), P(22), 5));
        s.ranges[1].uniform = 0x17; /* a uniform neighbour in another state */
        ASSERT_OK(range_set_add(&s, P(14), P(20), 5)); /* fills the gap: all three merge */
        ASSERT_EQ(s.n_ranges, 1);
        r = &s.ranges[0];
        ASSERT_U64_EQ(r->start, P(10));
        ASSERT_U64_EQ(r->end, P(22));
        ASSERT_TRUE(r->chunks != NULL);
        static const uint8_t want[12] = { 0, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0x17, 0x17 };
        for (uint64_t p = 0; p < 12; p++)
                ASSERT_EQ(tracked_range_get(r, p), want[p]);
        range_set_done(&s);
}

/* the layout both tables start from, as the expected result when nothing changes */
#define REMOVE_UNCHANGED { R(10, 20, 1, 10), R(20, 30, 2, 20), R(40, 50, 1, 40) }, 3
#define REMAP_UNCHANGED { R(10, 20, 1, 10), R(30, 40, 2, 30), R(50, 60, 1, 50) }, 3

TEST(remove) {
        /* Each case starts from [10,20) tag 1, [20,30) tag 2, [40,50) tag 1, every page in its own
         * state. */
        static const struct {
                uint64_t start, end; /* bytes */
                int err;
                uint64_t removed_pages;
                ExpRange e[4];
                size_t n;
        } t[] = {
                { P(12),
                  P(15),
                  0,
                  3,
                  { R(10, 12, 1, 10), R(15, 20, 1, 15), R(20, 30, 2, 20), R(40, 50, 1, 40) },
                  4 },
                { P(10), P(12), 0, 2, { R(12, 20, 1, 12), R(20, 30, 2, 20), R(40, 50, 1, 40) }, 3 },
                { P(45), P(50), 0, 5, { R(10, 20, 1, 10), R(20, 30, 2, 20), R(40, 45, 1, 40) }, 3 },
                { P(18), P(22), 0, 4, { R(10, 18, 1, 10), R(22, 30, 2, 22), R(40, 50, 1, 40) }, 3 },
                { P(15), P(45), 0, 20, { R(10, 15, 1, 10), R(45, 50, 1, 45) }, 2 },
                { P(20), P(30), 0, 10, { R(10, 20, 1, 10), R(40, 50, 1, 40) }, 2 },
                { P(0), P(100), 0, 30, {}, 0 },
                { P(30), P(40), 0, 0, REMOVE_UNCHANGED },
                { P(60), P(70), 0, 0, REMOVE_UNCHANGED },
                { P(15), P(15), 0, 0, REMOVE_UNCHANGED },
                { P(15) + 1, P(16), EINVAL, 0, REMOVE_UNCHANGED },
                { P(16), P(15), EINVAL, 0, REMOVE_UNCHANGED },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                uint64_t removed = 12345;
                RangeSet s;
                int r;

                ASSERT_OK(range_set_init(&s, PS));
                ASSERT_OK(range_set_add(&s, P(10), P(20), 1));
                ASSERT_OK(range_set_add(&s, P(20), P(30), 2));
                ASSERT_OK(range_set_add(&s, P(40), P(50), 1));
                set_states(&s);
                r = range_set_remove(&s, t[i].start, t[i].end, &removed);
                if (r != -t[i].err)
                        test_fail(__FILE__, __LINE__, "case %zu: %d, expected %d", i, r, -t[i].err);
                if (r == 0 && removed != P(t[i].removed_pages))
                        test_fail(__FILE__, __LINE__, "case %zu: removed %" PRIu64 " pages", i,
                                  removed / PS);
                if (r < 0)
                        ASSERT_U64_EQ(removed, 12345); /* untouched on error */
                check_layout(&s, t[i].e, t[i].n, true, __LINE__);
                range_set_done(&s);
        }
}

TEST(remove_null_ret_and_compaction) {
        RangeSet s;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, P(0), P(8), 1));
        /* Pages 0-3 state 5, 4-7 state 9: materialised. */
        for (uint64_t p = 0; p < 8; p++)
                ASSERT_OK(tracked_range_set(&s.ranges[0], p, p < 4 ? 5 : 9));
        ASSERT_TRUE(s.ranges[0].chunks != NULL);
        ASSERT_OK(range_set_remove(&s, P(3), P(5), NULL));
        ASSERT_EQ(s.n_ranges, 2);
        /* Each half is all-equal now: both give up their bytes. */
        ASSERT_TRUE(s.ranges[0].chunks == NULL);
        ASSERT_EQ(s.ranges[0].uniform, 5);
        ASSERT_TRUE(s.ranges[1].chunks == NULL);
        ASSERT_EQ(s.ranges[1].uniform, 9);
        ASSERT_U64_EQ(range_set_bytes(&s), P(6));
        range_set_done(&s);
}

TEST(remap) {
        /* Each case starts from [10,20) tag 1, [30,40) tag 2, [50,60) tag 1. */
        static const struct {
                uint64_t from, to, len; /* bytes */
                int err;
                ExpRange e[6];
                size_t n;
        } t[] = {
                /* whole range far away */
                { P(10),
                  P(100),
                  P(10),
                  0,
                  { R(30, 40, 2, 30), R(50, 60, 1, 50), R(100, 110, 1, 10) },
                  3 },
                /* part of a range */
                { P(12),
                  P(200),
                  P(3),
                  0,
                  { R(10, 12, 1, 10), R(15, 20, 1, 15), R(30, 40, 2, 30), R(50, 60, 1, 50),
                    R(200, 203, 1, 12) },
                  5 },
                /* source wider than the range: untracked parts move as nothing */
                { P(5),
                  P(105),
                  P(20),
                  0,
                  { R(30, 40, 2, 30), R(50, 60, 1, 50), R(110, 120, 1, 10) },
                  3 },
                /* into the middle of another range: what was there is dropped */
                { P(10),
                  P(32),
                  P(5),
                  0,
                  { R(15, 20, 1, 15), R(30, 32, 2, 30), R(32, 37, 1, 10), R(37, 40, 2, 37),
                    R(50, 60, 1, 50) },
                  5 },
                /* next to a same-tag range: merges, state preserved */
                { P(50), P(20), P(10), 0, { R2(10, 30, 1, 10, 20, 50), R(30, 40, 2, 30) }, 2 },
                /* between a range of another tag and one of the same tag: merges with that one */
                { P(10), P(40), P(10), 0, { R(30, 40, 2, 30), R2(40, 60, 1, 10, 50, 50) }, 2 },
                /* overlapping move up and down */
                { P(10),
                  P(15),
                  P(10),
                  0,
                  { R(15, 25, 1, 10), R(30, 40, 2, 30), R(50, 60, 1, 50) },
                  3 },
                { P(10), P(5), P(10), 0, { R(5, 15, 1, 10), R(30, 40, 2, 30), R(50, 60, 1, 50) }, 3 },
                /* over several ranges, landing on the last one */
                { P(15),
                  P(45),
                  P(20),
                  0,
                  { R(10, 15, 1, 10), R(35, 40, 2, 35), R(45, 50, 1, 15), R(60, 65, 2, 30) },
                  4 },
                /* untracked source: destination is still dropped */
                { P(70),
                  P(35),
                  P(10),
                  0,
                  { R(10, 20, 1, 10), R(30, 35, 2, 30), R(50, 60, 1, 50) },
                  3 },
                /* no-op */
                { P(10), P(10), P(10), 0, REMAP_UNCHANGED },
                /* invalid */
                { P(10) + 1, P(100), P(1), EINVAL, REMAP_UNCHANGED },
                { P(10), P(100) + 8, P(1), EINVAL, REMAP_UNCHANGED },
                { P(10), P(100), 100, EINVAL, REMAP_UNCHANGED },
                { P(10), P(100), 0, EINVAL, REMAP_UNCHANGED },
                { P(10), UINT64_MAX - PS + 1, P(2), EINVAL, REMAP_UNCHANGED },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                RangeSet s;
                int r;

                ASSERT_OK(range_set_init(&s, PS));
                ASSERT_OK(range_set_add(&s, P(10), P(20), 1));
                ASSERT_OK(range_set_add(&s, P(30), P(40), 2));
                ASSERT_OK(range_set_add(&s, P(50), P(60), 1));
                set_states(&s);
                r = range_set_remap(&s, t[i].from, t[i].to, t[i].len);
                if (r != -t[i].err)
                        test_fail(__FILE__, __LINE__, "case %zu: %d, expected %d", i, r, -t[i].err);
                check_layout(&s, t[i].e, t[i].n, true, __LINE__);
                range_set_done(&s);
        }
}

TEST(remap_merges_both_sides) {
        RangeSet s;
        TrackedRange *r;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, P(10), P(20), 1));
        ASSERT_OK(range_set_add(&s, P(30), P(40), 1));
        ASSERT_OK(range_set_add(&s, P(100), P(110), 1));
        set_states(&s);
        ASSERT_OK(range_set_remap(&s, P(100), P(20), P(10)));
        ASSERT_EQ(s.n_ranges, 1);
        r = &s.ranges[0];
        ASSERT_U64_EQ(r->start, P(10));
        ASSERT_U64_EQ(r->end, P(40));
        for (uint64_t p = 0; p < 30; p++) {
                uint64_t src = p < 10 ? 10 + p : p < 20 ? 100 + (p - 10) : 30 + (p - 20);
                ASSERT_EQ(tracked_range_get(r, p), state_of(src));
        }
        range_set_done(&s);
}

/* Install refault runs by hand (classify.c normally writes them). */
static void set_refaults(TrackedRange *r, const RefaultRun *runs, size_t n) {
        free(r->refaults);
        r->refaults = calloc(n, sizeof(RefaultRun));
        ASSERT_TRUE(r->refaults);
        for (size_t i = 0; i < n; i++)
                r->refaults[i] = runs[i];
        r->n_refaults = r->allocated_refaults = n;
}

static void check_refaults(const TrackedRange *r, const RefaultRun *want, size_t n, int line) {
        if (r->n_refaults != n)
                test_fail(__FILE__, line, "%zu refault runs, expected %zu", r->n_refaults, n);
        for (size_t i = 0; i < n; i++) {
                const RefaultRun *k = &r->refaults[i];
                if (k->start != want[i].start || k->end != want[i].end ||
                    k->until_cycle != want[i].until_cycle || k->count != want[i].count)
                        test_fail(__FILE__, line,
                                  "run %zu: [%" PRIu64 ", %" PRIu64 ") until %" PRIu64 " count %u",
                                  i, k->start / PS, k->end / PS, k->until_cycle, k->count);
        }
}

TEST(refault_runs_follow_pages) {
        RangeSet s, c;
        const RefaultRun runs[] = {
                { P(11), P(13), 100, 1 },
                { P(15), P(18), 200, 3 },
        };

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, P(10), P(20), 1));
        set_refaults(&s.ranges[0], runs, ELEMENTSOF(runs));
        ASSERT_TRUE(tracked_range_find_refault(&s.ranges[0], P(12)) == &s.ranges[0].refaults[0]);
        ASSERT_TRUE(tracked_range_find_refault(&s.ranges[0], P(13)) == NULL);
        ASSERT_TRUE(tracked_range_find_refault(&s.ranges[0], P(17)) == &s.ranges[0].refaults[1]);

        /* fork: deep copy */
        ASSERT_OK(range_set_copy(&s, NULL, &c));
        ASSERT_TRUE(c.ranges[0].refaults != s.ranges[0].refaults);
        check_refaults(&c.ranges[0], runs, 2, __LINE__);

        /* split in the middle of the second run */
        ASSERT_OK(range_set_remove(&s, P(16), P(17), NULL));
        {
                const RefaultRun l[] = { { P(11), P(13), 100, 1 }, { P(15), P(16), 200, 3 } };
                const RefaultRun r[] = { { P(17), P(18), 200, 3 } };
                check_refaults(&s.ranges[0], l, ELEMENTSOF(l), __LINE__);
                check_refaults(&s.ranges[1], r, ELEMENTSOF(r), __LINE__);
        }
        /* move the left part up: runs shift along */
        ASSERT_OK(range_set_remap(&s, P(10), P(1000), P(6)));
        {
                const RefaultRun m[] = {
                        { P(1001), P(1003), 100, 1 },
                        { P(1005), P(1006), 200, 3 },
                };
                ASSERT_EQ(s.n_ranges, 2);
                ASSERT_U64_EQ(s.ranges[1].start, P(1000));
                check_refaults(&s.ranges[1], m, ELEMENTSOF(m), __LINE__);
        }
        /* move it back next to the right part: they merge, runs concatenate */
        ASSERT_OK(range_set_remap(&s, P(1000), P(11), P(6)));
        {
                const RefaultRun m[] = {
                        { P(12), P(14), 100, 1 },
                        { P(16), P(18), 200, 3 },
                };
                ASSERT_EQ(s.n_ranges, 1);
                ASSERT_U64_EQ(s.ranges[0].start, P(11));
                ASSERT_U64_EQ(s.ranges[0].end, P(20));
                /* [16,17) from the moved part and [17,18) from the stayer touch, are equal: one */
                check_refaults(&s.ranges[0], m, ELEMENTSOF(m), __LINE__);
        }
        /* the copy did not change */
        check_refaults(&c.ranges[0], runs, 2, __LINE__);
        range_set_done(&s);
        range_set_done(&c);
}

TEST(copy) {
        RangeSet s, c;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_copy(&s, NULL, &c)); /* empty */
        ASSERT_EQ(c.n_ranges, 0);
        ASSERT_U64_EQ(c.page_size, PS);
        range_set_done(&c);

        ASSERT_OK(range_set_add(&s, P(10), P(20), 1));
        ASSERT_OK(range_set_add(&s, P(30), P(40), 2));
        set_states(&s);
        s.ranges[1].chunks = mfree(s.ranges[1].chunks);
        s.ranges[1].uniform = 0x33;
        ASSERT_OK(range_set_copy(&s, NULL, &c));
        ASSERT_EQ(c.n_ranges, 2);
        ASSERT_TRUE(c.ranges[0].chunks && c.ranges[0].chunks != s.ranges[0].chunks);
        ASSERT_TRUE(c.ranges[1].chunks == NULL);
        ASSERT_EQ(c.ranges[1].uniform, 0x33);
        for (uint64_t p = 0; p < 10; p++)
                ASSERT_EQ(tracked_range_get(&c.ranges[0], p), state_of(10 + p));
        /* changing the parent leaves the child alone */
        ASSERT_OK(tracked_range_set(&s.ranges[0], 0, 0));
        ASSERT_OK(range_set_remove(&s, P(0), P(15), NULL));
        ASSERT_EQ(tracked_range_get(&c.ranges[0], 0), state_of(10));
        ASSERT_U64_EQ(range_set_bytes(&c), P(20));
        ASSERT_U64_EQ(range_set_bytes(&s), P(15));
        range_set_done(&s);
        range_set_done(&c);
}

TEST(uniform_and_materialise) {
        RangeSet s;
        TrackedRange *r;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, P(0), P(4), 1));
        r = &s.ranges[0];
        ASSERT_TRUE(r->chunks == NULL);
        ASSERT_OK(tracked_range_set(r, 2, 0)); /* same as uniform: stays compact */
        ASSERT_TRUE(r->chunks == NULL);
        ASSERT_ERROR(tracked_range_set(r, 4, 1), EINVAL);
        ASSERT_EQ(tracked_range_get(r, 4), 0);
        ASSERT_OK(tracked_range_set(r, 2, 0x81)); /* diverges: bytes appear */
        ASSERT_TRUE(r->chunks != NULL);
        ASSERT_EQ(tracked_range_get(r, 0), 0);
        ASSERT_EQ(tracked_range_get(r, 2), 0x81);
        tracked_range_compact(r); /* not all equal: keeps the bytes */
        ASSERT_TRUE(r->chunks != NULL);
        for (uint64_t p = 0; p < 4; p++)
                ASSERT_OK(tracked_range_set(r, p, 0x7f));
        ASSERT_TRUE(r->chunks != NULL);
        tracked_range_compact(r);
        ASSERT_TRUE(r->chunks == NULL);
        ASSERT_EQ(r->uniform, 0x7f);
        ASSERT_EQ(tracked_range_get(r, 3), 0x7f);
        ASSERT_OK(tracked_range_materialize(r));
        ASSERT_TRUE(r->chunks != NULL);
        ASSERT_EQ(tracked_range_get(r, 3), 0x7f);
        ASSERT_OK(tracked_range_materialize(r)); /* idempotent */
        range_set_done(&s);

        /* a one-page range compacts too */
        ASSERT_OK(range_set_add(&s, P(9), P(10), 1));
        ASSERT_OK(tracked_range_set(&s.ranges[0], 0, 3));
        tracked_range_compact(&s.ranges[0]);
        ASSERT_TRUE(s.ranges[0].chunks == NULL);
        ASSERT_EQ(s.ranges[0].uniform, 3);
        range_set_done(&s);
}

TEST(update) {
        RangeSet s;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, P(0), P(4), 1));
        ASSERT_OK(range_set_add(&s, P(4), P(8), 2));
        ASSERT_OK(range_set_add(&s, P(10), P(12), 3));
        s.ranges[0].uniform = 0x05;
        s.ranges[1].uniform = 0x85;

        ASSERT_ERROR(range_set_update(&s, 1, P(2), 0, 0x80), EINVAL);
        /* Partly over range 1 and 2, and whole range 3; gaps ignored. */
        ASSERT_OK(range_set_update(&s, P(2), P(12), 0x7f, 0x80));
        ASSERT_TRUE(s.ranges[0].chunks != NULL); /* partly covered, diverged */
        ASSERT_TRUE(s.ranges[1].chunks == NULL); /* whole range: stays uniform */
        ASSERT_TRUE(s.ranges[2].chunks == NULL);
        static const uint8_t want0[4] = { 0x05, 0x05, 0x80, 0x80 };
        for (uint64_t p = 0; p < 4; p++)
                ASSERT_EQ(tracked_range_get(&s.ranges[0], p), want0[p]);
        ASSERT_EQ(s.ranges[1].uniform, 0x80);
        ASSERT_EQ(s.ranges[2].uniform, 0x80);

        /* Partly over a uniform range without change: no bytes needed. */
        ASSERT_OK(range_set_update(&s, P(4), P(5), 0, 0x80));
        ASSERT_TRUE(s.ranges[1].chunks == NULL);

        /* Covering a materialised range whole: compacts when it ends up all equal. */
        ASSERT_OK(range_set_update(&s, P(0), P(4), 0xff, 0x01));
        ASSERT_TRUE(s.ranges[0].chunks == NULL);
        ASSERT_EQ(s.ranges[0].uniform, 0x01);
        range_set_done(&s);
}

TEST(find) {
        static const struct {
                uint64_t addr;
                int idx; /* -1: none */
        } t[] = {
                { 0, -1 },        { P(10) - 1, -1 }, { P(10), 0 },     { P(15) + 17, 0 },
                { P(20) - 1, 0 }, { P(20), 1 },      { P(30) - 1, 1 }, { P(30), -1 },
                { P(40), 2 },     { P(41) - 1, 2 },  { P(41), -1 },    { UINT64_MAX, -1 },
        };
        RangeSet s;

        ASSERT_OK(range_set_init(&s, PS));
        ASSERT_OK(range_set_add(&s, P(10), P(20), 1));
        ASSERT_OK(range_set_add(&s, P(20), P(30), 2));
        ASSERT_OK(range_set_add(&s, P(40), P(41), 1));
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                TrackedRange *r = range_set_find(&s, t[i].addr);
                TrackedRange *want = t[i].idx < 0 ? NULL : &s.ranges[t[i].idx];
                if (r != want)
                        test_fail(__FILE__, __LINE__, "case %zu: wrong range", i);
        }
        range_set_done(&s);
}

static void check_runs(const RunVec *v, const AddrRun *want, size_t n, int line) {
        if (v->n_runs != n)
                test_fail(__FILE__, line, "%zu runs, expected %zu", v->n_runs, n);
        for (size_t i = 0; i < n; i++)
                if (v->runs[i].start != want[i].start || v->runs[i].end != want[i].end ||
                    v->runs[i].flags != want[i].flags)
                        test_fail(__FILE__, line, "run %zu: [%" PRIu64 ", %" PRIu64 ") %u", i,
                                  v->runs[i].start, v->runs[i].end, v->runs[i].flags);
}

TEST(run_vec_append_coalesces) {
        RunVec v = {};

        ASSERT_ERROR(run_vec_append(&v, 10, 10, 0), EINVAL);
        ASSERT_OK(run_vec_append(&v, 0, 10, 0));
        ASSERT_OK(run_vec_append(&v, 10, 20, 0)); /* touches, same flags: one */
        ASSERT_OK(run_vec_append(&v, 20, 30, ADDR_RUN_HUGE)); /* other flags: separate */
        ASSERT_OK(run_vec_append(&v, 30, 40, ADDR_RUN_HUGE));
        ASSERT_OK(run_vec_append(&v, 50, 60, ADDR_RUN_HUGE)); /* gap: separate */
        {
                const AddrRun want[] = {
                        { 0, 20, 0 },
                        { 20, 40, ADDR_RUN_HUGE },
                        { 50, 60, ADDR_RUN_HUGE },
                };
                check_runs(&v, want, ELEMENTSOF(want), __LINE__);
        }
        ASSERT_U64_EQ(run_vec_bytes(&v), 50);
        ASSERT_EQ(run_vec_find(&v, 0), 0);
        ASSERT_EQ(run_vec_find(&v, 19), 0);
        ASSERT_EQ(run_vec_find(&v, 20), 1);
        ASSERT_EQ(run_vec_find(&v, 45), -ENOENT);
        ASSERT_EQ(run_vec_find(&v, 59), 2);
        ASSERT_EQ(run_vec_find(&v, 60), -ENOENT);
        run_vec_clear(&v);
        ASSERT_EQ(v.n_runs, 0);
        ASSERT_EQ(run_vec_find(&v, 0), -ENOENT);
        for (unsigned i = 0; i < 100; i++) /* growth */
                ASSERT_OK(run_vec_append(&v, 2 * i, 2 * i + 1, 0));
        ASSERT_EQ(v.n_runs, 100);
        ASSERT_U64_EQ(run_vec_bytes(&v), 100);
        run_vec_done(&v);
        run_vec_done(&v);
}

TEST(run_vec_cut) {
        static const struct {
                uint64_t start, end;
                uint64_t removed;
                AddrRun want[5];
                size_t n;
        } t[] = {
                /* start: [0,10) [20,30) [40,50) */
                { 3, 6, 3, { { 0, 3, 0 }, { 6, 10, 0 }, { 20, 30, 1 }, { 40, 50, 0 } }, 4 },
                { 0, 10, 10, { { 20, 30, 1 }, { 40, 50, 0 } }, 2 },
                { 0, 3, 3, { { 3, 10, 0 }, { 20, 30, 1 }, { 40, 50, 0 } }, 3 },
                { 8, 45, 17, { { 0, 8, 0 }, { 45, 50, 0 } }, 2 },
                { 10, 20, 0, { { 0, 10, 0 }, { 20, 30, 1 }, { 40, 50, 0 } }, 3 },
                { 25, 26, 1, { { 0, 10, 0 }, { 20, 25, 1 }, { 26, 30, 1 }, { 40, 50, 0 } }, 4 },
                { 0, 100, 30, {}, 0 },
                { 5, 5, 0, { { 0, 10, 0 }, { 20, 30, 1 }, { 40, 50, 0 } }, 3 },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                RunVec v = {};
                uint64_t removed = 999;

                ASSERT_OK(run_vec_append(&v, 0, 10, 0));
                ASSERT_OK(run_vec_append(&v, 20, 30, 1));
                ASSERT_OK(run_vec_append(&v, 40, 50, 0));
                ASSERT_OK(run_vec_cut(&v, t[i].start, t[i].end, &removed));
                if (removed != t[i].removed)
                        test_fail(__FILE__, __LINE__, "case %zu: removed %" PRIu64, i, removed);
                check_runs(&v, t[i].want, t[i].n, __LINE__);
                run_vec_done(&v);
        }
        {
                RunVec v = {};
                ASSERT_ERROR(run_vec_cut(&v, 5, 4, NULL), EINVAL);
                ASSERT_OK(run_vec_cut(&v, 0, 4, NULL));
        }
}

/* ---- chunked storage and the state budget ---- */

static uint64_t page_abs_test(const TrackedRange *r, uint64_t p) {
        return r->start / PS + p;
}

/* Every page's state in a flat model, to compare the chunked storage with. A run may end early
 * only at a chunk boundary. */
static void check_model(const RangeSet *s, const uint8_t *model, uint64_t base_page, int line) {
        for (size_t i = 0; i < s->n_ranges; i++) {
                const TrackedRange *r = &s->ranges[i];
                for (uint64_t p = 0; p < tracked_range_n_pages(r); p++) {
                        uint64_t page = r->start / PS + p - base_page;
                        uint64_t e = tracked_range_run_end(r, p, tracked_range_n_pages(r));
                        if (tracked_range_get(r, p) != model[page])
                                test_fail(__FILE__, line, "page %" PRIu64 ": %u, expected %u", page,
                                          tracked_range_get(r, p), model[page]);
                        if (e <= p ||
                            (e < tracked_range_n_pages(r) &&
                             tracked_range_get(r, e) == model[page] &&
                             (page_abs_test(r, e) % RANGE_CHUNK_PAGES) != 0))
                                test_fail(__FILE__, line, "page %" PRIu64 ": run end %" PRIu64,
                                          page, e);
                }
        }
}

#define CHECK_MODEL(s, m, base) check_model((s), (m), (base), __LINE__)

TEST(sparse_state_is_cheap) {
        const uint64_t n = 262144; /* 1 GiB of 4 KiB pages */
        StateBudget b = {};
        RangeSet s;
        uint8_t *model = calloc(n, 1);

        ASSERT_TRUE(model);
        ASSERT_OK(range_set_init(&s, PS));
        s.budget = &b;
        ASSERT_OK(range_set_add(&s, P(0), P(n), 1));
        ASSERT_U64_EQ(b.used, 0);
        /* every page aged, one written page per 2 MiB: the written ones differ */
        ASSERT_OK(tracked_range_fill(&s.ranges[0], 0, n, 7));
        memset(model, 7, n);
        ASSERT_TRUE(s.ranges[0].chunks == NULL);
        for (uint64_t p = 5; p < n; p += 512) {
                ASSERT_OK(tracked_range_set(&s.ranges[0], p, 0x80));
                model[p] = 0x80;
        }
        CHECK_MODEL(&s, model, 0);
        /* one word per 512 pages, no bytes: 4 KiB where one byte per page took 256 KiB */
        ASSERT_U64_EQ(b.used, n / 512 * 8);
        ASSERT_U64_EQ(range_set_state_bytes(&s), b.used);
        ASSERT_U64_EQ(b.coarsened, 0);

        /* a dense chunk gets bytes, and gives them back once simple again */
        for (uint64_t p = 1024; p < 1024 + 512; p++) {
                ASSERT_OK(tracked_range_set(&s.ranges[0], p, (uint8_t) (p & 3)));
                model[p] = (uint8_t) (p & 3);
        }
        CHECK_MODEL(&s, model, 0);
        ASSERT_U64_EQ(b.used, n / 512 * 8 + 512);
        ASSERT_OK(tracked_range_fill(&s.ranges[0], 1024, 1024 + 300, 7));
        memset(model + 1024, 7, 300);
        tracked_range_compact(&s.ranges[0]);
        CHECK_MODEL(&s, model, 0);
        ASSERT_U64_EQ(b.used, n / 512 * 8 + 512); /* 212 runs left: still bytes */
        ASSERT_OK(tracked_range_fill(&s.ranges[0], 1024 + 300, 1024 + 512, 7));
        memset(model + 1024 + 300, 7, 212);
        tracked_range_compact(&s.ranges[0]);
        ASSERT_U64_EQ(b.used, n / 512 * 8);

        /* all equal again: no chunks at all */
        ASSERT_OK(range_set_update(&s, P(0), P(n), 0xff, 3));
        ASSERT_TRUE(s.ranges[0].chunks == NULL);
        ASSERT_U64_EQ(b.used, 0);
        range_set_done(&s);
        ASSERT_U64_EQ(b.used, 0);
        free(model);
}

static uint8_t merge_or(uint8_t a, uint8_t b) {
        return a | b;
}

TEST(budget_coarsens) {
        StateBudget top = { .limit = 64 }, b = { .parent = &top, .merge = merge_or };
        RangeSet s;

        ASSERT_OK(range_set_init(&s, PS));
        s.budget = &b;
        ASSERT_OK(range_set_add(&s, P(0), P(2048), 1)); /* 4 chunks: 32 bytes of words */
        ASSERT_OK(tracked_range_set(&s.ranges[0], 3, 1));
        ASSERT_U64_EQ(top.used, 32);
        ASSERT_U64_EQ(b.used, 32);
        /* more than four runs in chunk 0 would need 512 bytes: over budget, coarsened */
        ASSERT_OK(tracked_range_set(&s.ranges[0], 5, 2));
        ASSERT_OK(tracked_range_set(&s.ranges[0], 7, 4));
        ASSERT_U64_EQ(top.used, 32);
        ASSERT_CMP(b.coarsened, >, 0);
        /* the merge rule decides what the coarsened pages hold; pages far away keep theirs */
        ASSERT_TRUE((tracked_range_get(&s.ranges[0], 5) & 2) != 0);
        ASSERT_EQ(tracked_range_get(&s.ranges[0], 100), 0);
        ASSERT_EQ(tracked_range_get(&s.ranges[0], 600), 0);

        /* a second range cannot get words at all: one state for the whole range */
        ASSERT_OK(range_set_add(&s, P(4096), P(4096 + 8192), 2));
        ASSERT_OK(range_set_update(&s, P(4096), P(4097), 0, 0x40));
        ASSERT_TRUE(s.ranges[1].chunks == NULL);
        ASSERT_EQ(s.ranges[1].uniform, 0x40);
        ASSERT_TRUE(state_budget_short(&b, 32) == NULL);
        ASSERT_TRUE(state_budget_short(&b, 33) == &top);
        ASSERT_TRUE(!state_budget_charge(&b, 40));
        ASSERT_TRUE(state_budget_charge(&b, 32));
        ASSERT_TRUE(state_budget_short(&b, 1) == &top);
        ASSERT_U64_EQ(range_state_words_bytes(P(512), 12), 16);
        ASSERT_U64_EQ(range_state_words_bytes(P(513), 12), 24);
        ASSERT_U64_EQ(range_state_words_bytes(UINT64_C(1) << 40, 12), (UINT64_C(1) << 19) * 8 + 8);
        state_budget_uncharge(&b, 32);
        range_set_done(&s);
        ASSERT_U64_EQ(top.used, 0);
        ASSERT_U64_EQ(b.used, 0);
}

TEST(split_keeps_the_larger_piece) {
        StateBudget b = {};
        RangeSet s;
        const uint64_t n = 8192;
        uint8_t *model = calloc(n, 1);
        uint64_t a, e;

        ASSERT_TRUE(model);
        ASSERT_OK(range_set_init(&s, PS));
        s.budget = &b;
        ASSERT_OK(range_set_add(&s, P(0), P(n), 1));
        for (uint64_t p = 0; p < n; p += 3) {
                ASSERT_OK(tracked_range_set(&s.ranges[0], p, (uint8_t) (p % 7 + 1)));
                model[p] = (uint8_t) (p % 7 + 1);
        }
        /* cutting one page near the front: the back keeps the storage, only 10 pages copied */
        ASSERT_OK(range_set_remove(&s, P(10), P(11), NULL));
        ASSERT_EQ(s.n_ranges, 2);
        CHECK_MODEL(&s, model, 0);
        ASSERT_U64_EQ(b.used, range_set_state_bytes(&s));
        ASSERT_U64_EQ(s.ranges[1].n_chunks, n / 512);
        ASSERT_U64_EQ(s.ranges[1].chunk0, 0); /* its first chunk is shared with the cut page */

        /* the ranges limit at a split: the smaller remainder goes too */
        ASSERT_EQ(range_set_cut_bounds(&s, P(100), P(101), 2, &a, &e), 1);
        ASSERT_U64_EQ(a, P(11));
        ASSERT_U64_EQ(e, P(101));
        ASSERT_EQ(range_set_cut_bounds(&s, P(8000), P(8001), 2, &a, &e), 1);
        ASSERT_U64_EQ(a, P(8000));
        ASSERT_U64_EQ(e, P(n));
        ASSERT_EQ(range_set_cut_bounds(&s, P(100), P(101), 3, &a, &e), 0);
        ASSERT_EQ(range_set_cut_bounds(&s, P(11), P(101), 2, &a, &e), 0); /* no split */
        ASSERT_U64_EQ(a, P(11));
        ASSERT_EQ(range_set_cut_bounds(&s, P(100), P(101), 0, &a, &e), 0);

        /* cutting the front of the big piece moves its words down */
        ASSERT_OK(range_set_remove(&s, P(11), P(1500), NULL));
        CHECK_MODEL(&s, model, 0);
        ASSERT_U64_EQ(s.ranges[1].chunk0, 1500 / 512);
        ASSERT_U64_EQ(b.used, range_set_state_bytes(&s));
        range_set_done(&s);
        ASSERT_U64_EQ(b.used, 0);
        free(model);
}

/* Random fills, splits, moves and copies against a flat model of every page. */
TEST(chunks_random) {
        const uint64_t n = 4096, base = 1 << 20; /* pages; base leaves room to move down */
        StateBudget b = {};
        uint8_t *model = calloc(2 * base + n * 4, 1);
        RangeSet s;
        unsigned seed = 12345;

        ASSERT_TRUE(model);
        ASSERT_OK(range_set_init(&s, PS));
        s.budget = &b;
        ASSERT_OK(range_set_add(&s, P(base), P(base + n), 1));
        for (unsigned it = 0; it < 3000; it++) {
                unsigned op = rand_r(&seed) % 10;
                uint64_t a = base + (uint64_t) rand_r(&seed) % n;
                uint64_t len = 1 + (uint64_t) rand_r(&seed) % (op < 6 ? 700 : 40);
                uint8_t st = (uint8_t) (rand_r(&seed) % 5);

                if (op < 6) { /* fill what is tracked of [a, a+len) */
                        for (uint64_t p = a; p < a + len; p++) {
                                TrackedRange *r = range_set_find(&s, P(p));
                                if (!r)
                                        continue;
                                ASSERT_OK(tracked_range_set(r, p - r->start / PS, st));
                                model[p - base] = st;
                        }
                } else if (op < 8) { /* a hole */
                        ASSERT_OK(range_set_remove(&s, P(a), P(a + len), NULL));
                } else if (op == 8) { /* track a hole again, in state 0 */
                        TrackedRange *r = range_set_find(&s, P(a));
                        if (!r && range_set_add(&s, P(a), P(a + 1), 1) == 0)
                                model[a - base] = 0;
                } else { /* move [a, a+len) up by 3 pages and back */
                        ASSERT_OK(range_set_remap(&s, P(a), P(a + 3), P(len)));
                        memmove(model + (a + 3 - base), model + (a - base), len);
                        ASSERT_OK(range_set_remap(&s, P(a + 3), P(a), P(len)));
                        memmove(model + (a - base), model + (a + 3 - base), len);
                }
                if (it % 100 == 0)
                        for (size_t i = 0; i < s.n_ranges; i++)
                                tracked_range_compact(&s.ranges[i]);
                ASSERT_U64_EQ(b.used, range_set_state_bytes(&s));
        }
        CHECK_MODEL(&s, model, base);
        {
                StateBudget b2 = {};
                RangeSet c;
                ASSERT_OK(range_set_copy(&s, &b2, &c));
                CHECK_MODEL(&c, model, base);
                ASSERT_U64_EQ(b2.used, range_set_state_bytes(&c));
                range_set_done(&c);
                ASSERT_U64_EQ(b2.used, 0);
        }
        range_set_done(&s);
        ASSERT_U64_EQ(b.used, 0);
        free(model);
}
