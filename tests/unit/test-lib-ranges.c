/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libuffdtier's memory of its tracked ranges (client/lib-ranges.c), which uffdtier_reconnect()
 * hands to a new daemon: adding, and untracking in the middle, at an end, over several ranges. */

#include "lib-ranges.h"
#include "test.h"

static void add(LibRanges *l, uint64_t start, uint64_t len, const char *name,
                const char *const *labels) {
        LibRange r = {};

        ASSERT_OK(lib_ranges_prepare_add(l, start, len, name, labels, &r));
        lib_ranges_push(l, &r);
        ASSERT_EQ(r.name, NULL); /* moved into the list */
}

/* "start+len[name] ..." of every range, for comparing a whole list at once */
static const char *show(const LibRanges *l) {
        static char buf[512];
        size_t o = 0;

        buf[0] = 0;
        for (size_t i = 0; i < l->n; i++) {
                const LibRange *x = &l->items[i];
                size_t nl = 0;

                while (x->labels && x->labels[nl])
                        nl++;
                o += (size_t) snprintf(buf + o, sizeof buf - o, "%s%" PRIu64 "+%" PRIu64 "[%s/%zu]",
                                       i ? " " : "", x->start, x->len, x->name ? x->name : "-", nl);
        }
        return buf;
}

static void subtract(LibRanges *l, uint64_t start, uint64_t len) {
        LibRanges rest = {};

        ASSERT_OK(lib_ranges_subtract(l, start, len, &rest));
        lib_ranges_done(l);
        *l = rest;
}

TEST(add_keeps_copies) {
        static const char *const labels[] = { "tier=bulk", "team=a", NULL };
        char name[] = "heap";
        LibRanges l = {};

        add(&l, 4096, 8192, name, labels);
        add(&l, 65536, 4096, NULL, NULL);
        name[0] = 'X'; /* the caller's strings are not referenced */
        ASSERT_STREQ(show(&l), "4096+8192[heap/2] 65536+4096[-/0]");
        ASSERT_STREQ(l.items[0].labels[1], "team=a");
        ASSERT_EQ(l.items[1].labels, NULL);
        lib_ranges_done(&l);
        ASSERT_EQ(l.n, 0);
}

TEST(prepared_but_not_pushed) {
        LibRange r = {};
        LibRanges l = {};

        /* the daemon said no: the copy is dropped, the list is as before */
        ASSERT_OK(lib_ranges_prepare_add(&l, 0, 4096, "x", NULL, &r));
        lib_range_done(&r);
        ASSERT_EQ(l.n, 0);
        lib_ranges_done(&l);
}

TEST(subtract_splits_cuts_and_drops) {
        static const char *const labels[] = { "tier=bulk", NULL };
        LibRanges l = {};

        add(&l, 0, 10, "a", labels);
        add(&l, 20, 10, "b", NULL);
        add(&l, 40, 10, "c", NULL);

        subtract(&l, 4, 2); /* the middle of a: two pieces, both named and labelled */
        ASSERT_STREQ(show(&l), "0+4[a/1] 6+4[a/1] 20+10[b/0] 40+10[c/0]");
        subtract(&l, 25, 20); /* the end of b, the start of c */
        ASSERT_STREQ(show(&l), "0+4[a/1] 6+4[a/1] 20+5[b/0] 45+5[c/0]");
        subtract(&l, 0, 4); /* exactly one piece */
        ASSERT_STREQ(show(&l), "6+4[a/1] 20+5[b/0] 45+5[c/0]");
        subtract(&l, 100, 10); /* nothing there */
        ASSERT_STREQ(show(&l), "6+4[a/1] 20+5[b/0] 45+5[c/0]");
        subtract(&l, 0, 100); /* everything */
        ASSERT_EQ(l.n, 0);
        lib_ranges_done(&l);
}

TEST(subtract_leaves_the_list_alone) {
        LibRanges l = {}, rest = {};

        add(&l, 0, 10, "a", NULL);
        ASSERT_OK(lib_ranges_subtract(&l, 2, 2, &rest));
        ASSERT_STREQ(show(&l), "0+10[a/0]"); /* until the caller swaps (the daemon said yes) */
        ASSERT_STREQ(show(&rest), "0+2[a/0] 4+6[a/0]");
        lib_ranges_done(&rest);
        lib_ranges_done(&l);
}

TEST(remove_keeps_order) {
        LibRanges l = {};

        add(&l, 0, 1, "a", NULL);
        add(&l, 1, 1, "b", NULL);
        add(&l, 2, 1, "c", NULL);
        lib_ranges_remove(&l, 1);
        ASSERT_STREQ(show(&l), "0+1[a/0] 2+1[c/0]");
        lib_ranges_remove(&l, 5); /* out of range: nothing */
        lib_ranges_remove(&l, 1);
        lib_ranges_remove(&l, 0);
        ASSERT_EQ(l.n, 0);
        lib_ranges_done(&l);
}
