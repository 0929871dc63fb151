/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arm-schedule.h"
#include "classify.h"
#include "macro.h"

void arm_levels_done(ArmLevels *l) {
        free(l->v);
        *l = (ArmLevels){};
}

/* Index of the first entry with chunk >= key. */
static size_t lower_bound(const ArmLevels *l, uint64_t key) {
        size_t lo = 0, hi = l->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (l->v[mid].chunk < key)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

unsigned arm_levels_get(const ArmLevels *l, uint64_t chunk) {
        size_t i = lower_bound(l, chunk);

        return i < l->n && l->v[i].chunk == chunk ? l->v[i].level : 0;
}

static int arm_levels_set(ArmLevels *l, uint64_t chunk, unsigned level) {
        size_t i = lower_bound(l, chunk);
        bool found = i < l->n && l->v[i].chunk == chunk;

        if (level == 0) {
                if (found && i + 1 < l->n)
                        memmove(l->v + i, l->v + i + 1, (l->n - i - 1) * sizeof *l->v);
                if (found)
                        l->n--;
                return 0;
        }
        if (found) {
                l->v[i].level = (uint8_t) level;
                return 0;
        }
        if (l->n == l->allocated) {
                size_t a = MAX(l->allocated * 2, (size_t) 16);
                ArmLevel *n = realloc(l->v, a * sizeof *n);
                if (!n)
                        return -ENOMEM;
                l->v = n;
                l->allocated = a;
        }
        if (i < l->n)
                memmove(l->v + i + 1, l->v + i, (l->n - i) * sizeof *l->v);
        l->v[i] = (ArmLevel){ .chunk = chunk, .level = (uint8_t) level };
        l->n++;
        return 0;
}

void arm_levels_forget(ArmLevels *l, uint64_t start, uint64_t end) {
        size_t i, j;

        if (start >= end || l->n == 0)
                return;
        i = lower_bound(l, start >> CLASSIFY_CHUNK_SHIFT);
        j = i;
        while (j < l->n && l->v[j].chunk <= (end - 1) >> CLASSIFY_CHUNK_SHIFT)
                j++;
        if (j < l->n)
                memmove(l->v + i, l->v + j, (l->n - j) * sizeof *l->v);
        l->n -= j - i;
}

int arm_schedule_due(const ArmLevels *l, const TrackedRange *r, uint64_t cycle,
                     unsigned rearm_period, RunVec *due) {
        _cleanup_(run_vec_done) RunVec base = {};
        int ret;

        /* The level-0 schedule, then each chunk of it kept only on every 2^L-th of its own
         * due cycles: the phase stays that of classify_due_runs(). */
        ret = classify_due_runs(r, cycle, rearm_period, &base);
        if (ret < 0)
                return ret;
        for (size_t i = 0; i < base.n_runs; i++) {
                uint64_t a = base.runs[i].start, e = base.runs[i].end;

                for (uint64_t k = a >> CLASSIFY_CHUNK_SHIFT; k <= (e - 1) >> CLASSIFY_CHUNK_SHIFT;
                     k++) {
                        unsigned level = arm_levels_get(l, k);
                        uint64_t ca = MAX(k << CLASSIFY_CHUNK_SHIFT, a);
                        uint64_t ce = MIN((k + 1) << CLASSIFY_CHUNK_SHIFT, e);

                        if (ce <= ca) /* (k + 1) << 21 wrapped at the top */
                                ce = e;
                        if (level > 0 && ((cycle + k) / rearm_period) % (UINT64_C(1) << level) != 0)
                                continue;
                        ret = run_vec_append(due, ca, ce, 0);
                        if (ret < 0)
                                return ret;
                }
        }
        return 0;
}

/* Every page of [a, e) within r has age 0 (seen or refaulted since its last arming). */
static bool all_seen(const TrackedRange *r, uint64_t a, uint64_t e, uint64_t page_size) {
        uint64_t first = (MAX(a, r->start) - r->start) / page_size;
        uint64_t last = (MIN(e, r->end) - r->start) / page_size;

        if (first >= last)
                return false;
        for (uint64_t i = first; i < last; i = tracked_range_run_end(r, i, last))
                if ((tracked_range_get(r, i) & PAGE_STATE_AGE_MASK) != 0)
                        return false;
        return true;
}

int arm_schedule_update(ArmLevels *l, const TrackedRange *r, const RunVec *due,
                        unsigned max_level) {
        uint64_t page_size = 0;

        max_level = MIN(max_level, ARM_LEVEL_MAX_LIMIT);
        for (size_t i = 0; i < due->n_runs; i++) {
                uint64_t a = MAX(due->runs[i].start, r->start), e = MIN(due->runs[i].end, r->end);

                if (a >= e)
                        continue;
                if (page_size == 0)
                        page_size = (r->end - r->start) / tracked_range_n_pages(r);
                for (uint64_t k = a >> CLASSIFY_CHUNK_SHIFT; k <= (e - 1) >> CLASSIFY_CHUNK_SHIFT;
                     k++) {
                        uint64_t ca = MAX(k << CLASSIFY_CHUNK_SHIFT, a);
                        uint64_t ce = MIN((k + 1) << CLASSIFY_CHUNK_SHIFT, e);
                        unsigned level = arm_levels_get(l, k);
                        int ret;

                        if (ce <= ca) /* (k + 1) << 21 wrapped at the top */
                                ce = e;
                        level = all_seen(r, ca, ce, page_size) ? MIN(level + 1, max_level) : 0;
                        ret = arm_levels_set(l, k, level);
                        if (ret < 0)
                                return ret;
                }
        }
        return 0;
}
