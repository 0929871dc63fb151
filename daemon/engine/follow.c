/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "follow.h"
#include "macro.h"

bool follow_vma_eligible(const VmaInfo *v, const VmaInfo *prev) {
        const uint32_t rw = VMA_PERM_READ | VMA_PERM_WRITE;

        if ((v->perms & rw) != rw || (v->perms & VMA_PERM_SHARED))
                return false;
        /* files, shmem (MAP_SHARED|MAP_ANONYMOUS is a shmem file), hugetlbfs, devices */
        if (v->inode != 0)
                return false;
        if (v->page_size != 0 && v->page_size != page_size())
                return false;
        switch (v->name_kind) {
        case VMA_NAME_NONE:
        case VMA_NAME_HEAP:
        case VMA_NAME_ANON:
                break;
        default:
                return false; /* the main stack, [vvar], [vdso], anything with a path */
        }
        /* A thread stack: glibc and musl map it with its guard page(s) at the low end, as
         * PROT_NONE. (An allocator's arena has its PROT_NONE reserve above its used part.) */
        if (v->name_kind == VMA_NAME_NONE && prev && prev->end == v->start && prev->inode == 0 &&
            !(prev->perms & (VMA_PERM_READ | VMA_PERM_WRITE | VMA_PERM_EXEC)) &&
            prev->end - prev->start <= FOLLOW_GUARD_MAX_BYTES)
                return false;
        return true;
}

/* Appends [start, end) minus the runs of b (sorted, disjoint) to out. *k: the index in b to
 * start looking at, moved forward: the callers ask in ascending order. */
static int subtract_append(uint64_t start, uint64_t end, const AddrRun *b, size_t nb, size_t *k,
                           RunVec *out) {
        uint64_t pos = start;
        int r;

        while (*k < nb && b[*k].end <= start)
                (*k)++;
        for (size_t i = *k; i < nb && b[i].start < end; i++) {
                if (b[i].start > pos) {
                        r = run_vec_append(out, pos, b[i].start, 0);
                        if (r < 0)
                                return r;
                }
                pos = MAX(pos, b[i].end);
                if (pos >= end)
                        return 0;
        }
        if (pos < end)
                return run_vec_append(out, pos, end, 0);
        return 0;
}

/* The followable VMAs of layout, adjacent ones merged into runs. */
static int eligible_runs(const VmaInfo *layout, size_t n, RunVec *ret) {
        for (size_t i = 0; i < n; i++) {
                int r;

                if (!follow_vma_eligible(&layout[i], i > 0 ? &layout[i - 1] : NULL))
                        continue;
                /* run_vec_append() merges a VMA that touches the previous run */
                r = run_vec_append(ret, layout[i].start, layout[i].end, 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

int follow_diff(const VmaInfo *layout, size_t n, const RangeSet *tracked, uint64_t min_bytes,
                const RunVec *skip, RunVec *ret_track, RunVec *ret_untrack) {
        _cleanup_(run_vec_done) RunVec cover = {}, have = {}, gaps = {};
        size_t k = 0;
        int r;

        r = eligible_runs(layout, n, &cover);
        if (r < 0)
                return r;
        for (size_t i = 0; i < tracked->n_ranges; i++) {
                r = run_vec_append(&have, tracked->ranges[i].start, tracked->ranges[i].end, 0);
                if (r < 0)
                        return r;
        }

        /* new: the untracked parts of runs long enough, less what was refused before */
        for (size_t i = 0; i < cover.n_runs; i++) {
                const AddrRun *c = &cover.runs[i];

                if (c->end - c->start < min_bytes)
                        continue;
                r = subtract_append(c->start, c->end, have.runs, have.n_runs, &k, &gaps);
                if (r < 0)
                        return r;
        }
        k = 0;
        for (size_t i = 0; i < gaps.n_runs; i++) {
                r = subtract_append(gaps.runs[i].start, gaps.runs[i].end, skip ? skip->runs : NULL,
                                    skip ? skip->n_runs : 0, &k, ret_track);
                if (r < 0)
                        return r;
        }

        /* gone: the tracked parts no followable VMA covers */
        k = 0;
        for (size_t i = 0; i < have.n_runs; i++) {
                r = subtract_append(have.runs[i].start, have.runs[i].end, cover.runs, cover.n_runs,
                                    &k, ret_untrack);
                if (r < 0)
                        return r;
        }
        return 0;
}

int follow_skip_add(RunVec *skip, uint64_t start, uint64_t end) {
        size_t i = 0, j;
        int r;

        if (end <= start)
                return -EINVAL;
        r = run_vec_reserve(skip, 1);
        if (r < 0)
                return r;
        /* the first run that ends at or after start: it may touch or overlap */
        while (i < skip->n_runs && skip->runs[i].end < start)
                i++;
        /* merge every run from i on that starts at or before end */
        for (j = i; j < skip->n_runs && skip->runs[j].start <= end; j++) {
                start = MIN(start, skip->runs[j].start);
                end = MAX(end, skip->runs[j].end);
        }
        if (j == i) { /* nothing merged: insert */
                memmove(skip->runs + i + 1, skip->runs + i,
                        (skip->n_runs - i) * sizeof *skip->runs);
                skip->n_runs++;
        } else if (j > i + 1) {
                memmove(skip->runs + i + 1, skip->runs + j,
                        (skip->n_runs - j) * sizeof *skip->runs);
                skip->n_runs -= j - i - 1;
        }
        skip->runs[i] = (AddrRun){ .start = start, .end = end };
        return 0;
}

size_t follow_prune_skip(const VmaInfo *layout, size_t n, RunVec *skip) {
        _cleanup_(run_vec_done) RunVec cover = {};
        size_t kept = 0, k = 0;

        if (skip->n_runs == 0)
                return 0;
        if (eligible_runs(layout, n, &cover) < 0) {
                run_vec_clear(skip); /* forget them all: they are tried again, nothing worse */
                return 0;
        }
        for (size_t i = 0; i < skip->n_runs; i++) {
                const AddrRun *s = &skip->runs[i];

                while (k < cover.n_runs && cover.runs[k].end <= s->start)
                        k++;
                if (k < cover.n_runs && cover.runs[k].start <= s->start &&
                    s->end <= cover.runs[k].end)
                        skip->runs[kept++] = *s;
        }
        skip->n_runs = kept;
        return kept;
}
