/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "macro.h"
#include "pagemap.h"
#include "test.h"

#define P UINT64_C(0x1000)
#define A PAGE_IS_PRESENT
#define S PAGE_IS_SWAPPED
#define W PAGE_IS_WRITTEN

typedef struct R {
        uint64_t start, end, categories;
} R;

static void fill(PageRegionVec *v, const R *r, size_t n) {
        page_region_vec_clear(v);
        for (size_t i = 0; i < n; i++)
                ASSERT_OK(page_region_vec_append(v, r[i].start, r[i].end, r[i].categories));
}

static void expect(const PageRegionVec *v, const R *r, size_t n) {
        if (v->n != n) {
                for (size_t i = 0; i < v->n; i++)
                        fprintf(stderr, "  [%#" PRIx64 ", %#" PRIx64 ") %#" PRIx64 "\n",
                                (uint64_t) v->regions[i].start, (uint64_t) v->regions[i].end,
                                (uint64_t) v->regions[i].categories);
                ASSERT_EQ(v->n, n);
        }
        for (size_t i = 0; i < n; i++) {
                ASSERT_U64_EQ(v->regions[i].start, r[i].start);
                ASSERT_U64_EQ(v->regions[i].end, r[i].end);
                ASSERT_U64_EQ(v->regions[i].categories, r[i].categories);
        }
}

#define FILL(v, ...) fill(v, (const R[]){ __VA_ARGS__ }, ELEMENTSOF(((const R[]){ __VA_ARGS__ })))
#define EXPECT(v, ...) \
        expect(v, (const R[]){ __VA_ARGS__ }, ELEMENTSOF(((const R[]){ __VA_ARGS__ })))

TEST(append_merges_adjacent_equal) {
        _cleanup_(page_region_vec_done) PageRegionVec v = {};

        ASSERT_OK(page_region_vec_append(&v, 0, P, A));
        ASSERT_OK(page_region_vec_append(&v, P, 2 * P, A)); /* joined */
        ASSERT_OK(page_region_vec_append(&v, 2 * P, 3 * P, S)); /* other categories */
        ASSERT_OK(page_region_vec_append(&v, 4 * P, 5 * P, S)); /* gap */
        EXPECT(&v, { 0, 2 * P, A }, { 2 * P, 3 * P, S }, { 4 * P, 5 * P, S });
        ASSERT_U64_EQ(page_region_vec_bytes(&v), 4 * P);
        ASSERT_ERROR(page_region_vec_append(&v, 5 * P, 5 * P, S), EINVAL);
        ASSERT_ERROR(page_region_vec_append(&v, 6 * P, 5 * P, S), EINVAL);

        /* growth past the first allocation */
        page_region_vec_clear(&v);
        for (uint64_t i = 0; i < 1000; i++)
                ASSERT_OK(page_region_vec_append(&v, 2 * i * P, (2 * i + 1) * P, A));
        ASSERT_EQ(v.n, 1000);
        ASSERT_U64_EQ(v.regions[999].start, 1998 * P);

        page_region_vec_done(&v);
        page_region_vec_done(&v); /* twice is fine */
        ASSERT_TRUE(v.regions == NULL && v.n == 0);
}

TEST(overlay_cases) {
        _cleanup_(page_region_vec_done) PageRegionVec v = {}, add = {};

        /* inside one region: split in three */
        FILL(&v, { 0, 10 * P, A });
        FILL(&add, { 3 * P, 5 * P, W });
        ASSERT_OK(page_region_vec_overlay(&v, &add, W | A));
        EXPECT(&v, { 0, 3 * P, A }, { 3 * P, 5 * P, A | W }, { 5 * P, 10 * P, A });

        /* over a gap and two regions: the gap gets exactly the categories */
        FILL(&v, { 0, 2 * P, A }, { 4 * P, 6 * P, S });
        FILL(&add, { P, 5 * P, 0 });
        ASSERT_OK(page_region_vec_overlay(&v, &add, W | A));
        EXPECT(&v, { 0, P, A }, { P, 4 * P, A | W }, { 4 * P, 5 * P, S | A | W },
               { 5 * P, 6 * P, S });

        /* categories already there: pieces merge back */
        FILL(&v, { 0, 4 * P, A | W }, { 4 * P, 8 * P, A });
        FILL(&add, { 2 * P, 6 * P, W });
        ASSERT_OK(page_region_vec_overlay(&v, &add, W));
        EXPECT(&v, { 0, 6 * P, A | W }, { 6 * P, 8 * P, A });

        /* before, after, into an empty vector */
        FILL(&v, { 4 * P, 5 * P, A });
        FILL(&add, { 0, P, W }, { 4 * P, 5 * P, W }, { 9 * P, 10 * P, W });
        ASSERT_OK(page_region_vec_overlay(&v, &add, W));
        EXPECT(&v, { 0, P, W }, { 4 * P, 5 * P, A | W }, { 9 * P, 10 * P, W });
        page_region_vec_clear(&v);
        ASSERT_OK(page_region_vec_overlay(&v, &add, W));
        EXPECT(&v, { 0, P, W }, { 4 * P, 5 * P, W }, { 9 * P, 10 * P, W });

        /* nothing to add: unchanged */
        page_region_vec_clear(&add);
        ASSERT_OK(page_region_vec_overlay(&v, &add, W));
        ASSERT_EQ(v.n, 3);

        /* unsorted input */
        FILL(&add, { 4 * P, 5 * P, W });
        ASSERT_OK(page_region_vec_append(&add, 0, P, W));
        ASSERT_ERROR(page_region_vec_overlay(&v, &add, W), EINVAL);
        ASSERT_EQ(v.n, 3);
}
