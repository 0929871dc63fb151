/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "slice.h"

SliceBudget slice_budget_make(uint64_t now_usec, uint64_t usec, uint64_t pages) {
        return (SliceBudget){
                .deadline_usec = usec == 0 || now_usec > UINT64_MAX - usec ? UINT64_MAX
                                                                           : now_usec + usec,
                .pages_left = pages == 0 ? UINT64_MAX : pages,
        };
}

void slice_budget_take(SliceBudget *b, uint64_t pages) {
        if (b->pages_left == UINT64_MAX)
                return;
        b->pages_left = pages >= b->pages_left ? 0 : b->pages_left - pages;
}

bool slice_budget_spent(const SliceBudget *b, uint64_t now_usec) {
        return b->pages_left == 0 || now_usec >= b->deadline_usec;
}

static bool is_pow2(uint64_t x) {
        return x != 0 && (x & (x - 1)) == 0;
}

int slice_next_window(const RangeSet *s, uint64_t cursor, uint64_t window_bytes, SliceWindow *ret) {
        size_t lo = 0, hi = s->n_ranges;
        const TrackedRange *r;
        uint64_t start, end;

        if (!is_pow2(window_bytes) || window_bytes < s->page_size)
                return -EINVAL;
        /* the first range with end > cursor (ranges are sorted and disjoint) */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->ranges[mid].end <= cursor)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo >= s->n_ranges)
                return 0;
        r = &s->ranges[lo];
        start = MAX(cursor, r->start);
        end = ALIGN_DOWN(start, window_bytes) + window_bytes;
        if (end <= start || end > r->end) /* wrapped at the top, or past the range */
                end = r->end;
        *ret = (SliceWindow){ .index = lo, .start = start, .end = end };
        return 1;
}

int slice_take_front(RunVec *v, uint64_t max_bytes, uint64_t align, AddrRun *ret) {
        AddrRun *first;
        uint64_t cut;

        if (!is_pow2(align))
                return -EINVAL;
        if (v->n_runs == 0)
                return 0;
        first = &v->runs[0];
        max_bytes = MAX(ALIGN_DOWN(max_bytes, align), align);
        if (first->end - first->start <= max_bytes) {
                *ret = *first;
                memmove(v->runs, v->runs + 1, (v->n_runs - 1) * sizeof *v->runs);
                v->n_runs--;
                return 1;
        }
        /* the last align boundary within max_bytes of the start: above the start, since
         * max_bytes >= align, and below the end, since the run is longer than max_bytes */
        cut = ALIGN_DOWN(first->start + max_bytes, align);
        *ret = (AddrRun){ .start = first->start, .end = cut, .flags = first->flags };
        first->start = cut;
        return 1;
}

uint64_t slice_adapt(uint64_t cur, uint64_t took_usec, uint64_t target_usec, uint64_t min,
                     uint64_t max) {
        uint64_t next = cur;

        if (took_usec > 2 * target_usec)
                next = cur / 2;
        else if (took_usec < target_usec / 2)
                next = cur + MAX(cur / 4, min);
        next = ALIGN_DOWN(next, min);
        return MIN(MAX(next, min), MAX(max, min));
}
