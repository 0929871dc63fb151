/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "macro.h"
#include "rangeset.h"

/* Every structural change (add, remove, remap) rebuilds the array of ranges aside: ranges the
 * change does not touch are moved over as they are ("borrowed"), touched ones are rebuilt from
 * freshly allocated pieces. Nothing in the old set is modified before every allocation has
 * succeeded, which is what makes each call all-or-nothing. The cost is O(number of ranges) plus a
 * copy of the state bytes of the ranges that change: cheap next to the syscall that caused the
 * event. */

static bool aligned(const RangeSet *s, uint64_t addr) {
        return IS_ALIGNED(addr, s->page_size);
}

static void tracked_range_release(TrackedRange *r) {
        r->pages = mfree(r->pages);
        r->refaults = mfree(r->refaults);
        r->n_refaults = r->allocated_refaults = 0;
}

int range_set_init(RangeSet *s, uint64_t page_size) {
        if (page_size == 0 || (page_size & (page_size - 1)) != 0)
                return -EINVAL;
        *s = (RangeSet){
                .page_size = page_size,
                .page_shift = (uint8_t) __builtin_ctzll(page_size),
        };
        return 0;
}

void range_set_done(RangeSet *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_ranges; i++)
                tracked_range_release(&s->ranges[i]);
        s->ranges = mfree(s->ranges);
        s->n_ranges = s->allocated = 0;
}

uint8_t tracked_range_get(const TrackedRange *r, uint64_t page_index) {
        if (page_index >= tracked_range_n_pages(r))
                return 0;
        return r->pages ? r->pages[page_index] : r->uniform;
}

/* Per-page state of a large range: 16 MiB for 64 GiB. Faulting that in 4 KiB at a time took
 * 50-110 ms here (a fault is dear on a VM), in one event-loop turn; in transparent huge pages it
 * is 8 faults. A hint only (no I/O): where THP is off it is plain memory. */
#define PAGES_HUGE_BYTES (UINT64_C(2) << 20)

static uint8_t *pages_alloc(size_t n) {
        void *p = NULL;

        if (n < PAGES_HUGE_BYTES)
                return malloc(n);
        if (posix_memalign(&p, PAGES_HUGE_BYTES, n) != 0)
                return NULL;
        (void) madvise(p, ALIGN_DOWN(n, PAGES_HUGE_BYTES), MADV_HUGEPAGE);
        return p;
}

int tracked_range_materialize(TrackedRange *r) {
        uint64_t n = tracked_range_n_pages(r);

        if (r->pages)
                return 0;
        if (n > SIZE_MAX)
                return -ENOMEM;
        r->pages = pages_alloc((size_t) n);
        if (!r->pages)
                return -ENOMEM;
        memset(r->pages, r->uniform, (size_t) n);
        return 0;
}

int tracked_range_set(TrackedRange *r, uint64_t page_index, uint8_t state) {
        int k;

        if (page_index >= tracked_range_n_pages(r))
                return -EINVAL;
        if (!r->pages) {
                if (state == r->uniform)
                        return 0;
                k = tracked_range_materialize(r);
                if (k < 0)
                        return k;
        }
        r->pages[page_index] = state;
        return 0;
}

void tracked_range_compact(TrackedRange *r) {
        size_t n = (size_t) tracked_range_n_pages(r);

        if (!r->pages)
                return;
        /* pages[i] == pages[i+1] for all i, via one memcmp against itself shifted by one. */
        if (n > 1 && memcmp(r->pages, r->pages + 1, n - 1) != 0)
                return;
        r->uniform = r->pages[0];
        r->pages = mfree(r->pages);
}

const RefaultRun *tracked_range_find_refault(const TrackedRange *r, uint64_t addr) {
        size_t lo = 0, hi = r->n_refaults;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (r->refaults[mid].end <= addr)
                        lo = mid + 1;
                else if (r->refaults[mid].start > addr)
                        hi = mid;
                else
                        return &r->refaults[mid];
        }
        return NULL;
}

/* Index of the first range with end > addr (n_ranges if none). */
static size_t range_set_lower_bound(const RangeSet *s, uint64_t addr) {
        size_t lo = 0, hi = s->n_ranges;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->ranges[mid].end <= addr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

TrackedRange *range_set_find(const RangeSet *s, uint64_t addr) {
        size_t i = range_set_lower_bound(s, addr);

        if (i < s->n_ranges && s->ranges[i].start <= addr)
                return &s->ranges[i];
        return NULL;
}

uint64_t range_set_bytes(const RangeSet *s) {
        uint64_t sum = 0;

        for (size_t i = 0; i < s->n_ranges; i++)
                sum += s->ranges[i].end - s->ranges[i].start;
        return sum;
}

static bool refault_runs_equal(const RefaultRun *a, const RefaultRun *b) {
        return a->until_cycle == b->until_cycle && a->count == b->count;
}

/* A fresh range holding [a, b) of r, moved by delta (unsigned arithmetic, so a move down is a
 * wrap-around add). Copies the state bytes and the refault runs that fall inside. */
static int tracked_range_piece(const TrackedRange *r, uint64_t a, uint64_t b, uint64_t delta,
                               TrackedRange *ret) {
        TrackedRange p = {
                .start = a + delta,
                .end = b + delta,
                .tag = r->tag,
                .page_shift = r->page_shift,
                .uniform = r->uniform,
        };
        size_t first = 0, n = 0;

        if (r->pages) {
                size_t len = (size_t) ((b - a) >> r->page_shift);
                p.pages = pages_alloc(len);
                if (!p.pages)
                        return -ENOMEM;
                memcpy(p.pages, r->pages + ((a - r->start) >> r->page_shift), len);
        }

        while (first < r->n_refaults && r->refaults[first].end <= a)
                first++;
        while (first + n < r->n_refaults && r->refaults[first + n].start < b)
                n++;
        if (n > 0) {
                p.refaults = malloc(n * sizeof(RefaultRun));
                if (!p.refaults) {
                        tracked_range_release(&p);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < n; i++) {
                        RefaultRun k = r->refaults[first + i];
                        k.start = MAX(k.start, a) + delta;
                        k.end = MIN(k.end, b) + delta;
                        p.refaults[i] = k;
                }
                p.n_refaults = p.allocated_refaults = n;
        }

        /* A piece of a materialised range is often all-equal (say, the idle half of a split). */
        tracked_range_compact(&p);
        *ret = p;
        return 0;
}

/* A fresh range a ∪ b, where a.end == b.start and both have the same tag. */
static int tracked_range_merged(const TrackedRange *a, const TrackedRange *b, TrackedRange *ret) {
        TrackedRange m = {
                .start = a->start,
                .end = b->end,
                .tag = a->tag,
                .page_shift = a->page_shift,
                .uniform = a->uniform,
        };
        size_t n = a->n_refaults + b->n_refaults;

        if (a->pages || b->pages || a->uniform != b->uniform) {
                size_t na = (size_t) tracked_range_n_pages(a);
                size_t nb = (size_t) tracked_range_n_pages(b);

                m.pages = pages_alloc(na + nb);
                if (!m.pages)
                        return -ENOMEM;
                if (a->pages)
                        memcpy(m.pages, a->pages, na);
                else
                        memset(m.pages, a->uniform, na);
                if (b->pages)
                        memcpy(m.pages + na, b->pages, nb);
                else
                        memset(m.pages + na, b->uniform, nb);
        }
        if (n > 0) {
                m.refaults = malloc(n * sizeof(RefaultRun));
                if (!m.refaults) {
                        tracked_range_release(&m);
                        return -ENOMEM;
                }
                memcpy(m.refaults, a->refaults, a->n_refaults * sizeof(RefaultRun));
                m.n_refaults = a->n_refaults;
                for (size_t i = 0; i < b->n_refaults; i++) {
                        RefaultRun *last = m.n_refaults > 0 ? &m.refaults[m.n_refaults - 1] : NULL;
                        if (last && last->end == b->refaults[i].start &&
                            refault_runs_equal(last, &b->refaults[i]))
                                last->end = b->refaults[i].end;
                        else
                                m.refaults[m.n_refaults++] = b->refaults[i];
                }
                m.allocated_refaults = n;
        }
        *ret = m;
        return 0;
}

/* The new array of ranges while it is being built. src[i] is the index of the old range that
 * out[i] borrows unchanged, or -1 when out[i] is freshly allocated and owned by the builder. */
typedef struct Builder {
        TrackedRange *out;
        ssize_t *src;
        size_t n, allocated;
} Builder;

static void builder_abort(Builder *b) {
        for (size_t i = 0; i < b->n; i++)
                if (b->src[i] < 0)
                        tracked_range_release(&b->out[i]);
        free(b->out);
        free(b->src);
        *b = (Builder){};
}

static int builder_reserve(Builder *b, size_t n) {
        TrackedRange *out;
        ssize_t *src;

        if (n <= b->allocated)
                return 0;
        n = MAX(n, MAX(b->allocated * 2, (size_t) 8));
        out = reallocarray(b->out, n, sizeof(TrackedRange));
        if (!out)
                return -ENOMEM;
        b->out = out;
        src = reallocarray(b->src, n, sizeof(ssize_t));
        if (!src)
                return -ENOMEM;
        b->src = src;
        b->allocated = n;
        return 0;
}

/* Appends r (borrowed from old index src, or fresh when src < 0: then the builder owns it, also
 * on failure). Merges with the previous range when they touch and share the tag. */
static int builder_push(Builder *b, TrackedRange r, ssize_t src) {
        int k;

        if (b->n > 0) {
                TrackedRange *prev = &b->out[b->n - 1];
                if (prev->end == r.start && prev->tag == r.tag) {
                        TrackedRange m;
                        k = tracked_range_merged(prev, &r, &m);
                        if (src < 0)
                                tracked_range_release(&r);
                        if (k < 0)
                                return k;
                        /* A borrowed predecessor is simply no longer referenced: commit frees
                         * it with the other old ranges. */
                        if (b->src[b->n - 1] < 0)
                                tracked_range_release(prev);
                        *prev = m;
                        b->src[b->n - 1] = -1;
                        return 0;
                }
        }
        k = builder_reserve(b, b->n + 1);
        if (k < 0) {
                if (src < 0)
                        tracked_range_release(&r);
                return k;
        }
        b->out[b->n] = r;
        b->src[b->n] = src;
        b->n++;
        return 0;
}

/* Replaces the set's ranges with the built ones, freeing old ranges that were not borrowed.
 * Borrowed indexes appear in increasing order, since both arrays are sorted by address. */
static void builder_commit(Builder *b, RangeSet *s) {
        size_t k = 0;

        for (size_t i = 0; i < s->n_ranges; i++) {
                while (k < b->n && (b->src[k] < 0 || (size_t) b->src[k] < i))
                        k++;
                if (!(k < b->n && (size_t) b->src[k] == i))
                        tracked_range_release(&s->ranges[i]);
        }
        free(s->ranges);
        free(b->src);
        s->ranges = b->out;
        s->n_ranges = b->n;
        s->allocated = b->allocated;
        *b = (Builder){};
}

/* Pieces moved by a remap, already at their destination and sorted, waiting to be pushed. */
typedef struct MovedQueue {
        TrackedRange *pieces;
        size_t n, next;
} MovedQueue;

/* Pushes the queued moved pieces that start below limit: they go in before anything at limit. */
static int builder_flush_moved(Builder *b, MovedQueue *q, uint64_t limit) {
        int k;

        if (!q)
                return 0;
        while (q->next < q->n && q->pieces[q->next].start < limit) {
                k = builder_push(b, q->pieces[q->next], -1);
                q->pieces[q->next++] = (TrackedRange){}; /* the builder owns it now */
                if (k < 0)
                        return k;
        }
        return 0;
}

/* Pushes what is left of old range i after taking out two holes (empty when a >= b; they may
 * overlap), interleaving queued moved pieces by address: a destination hole inside an old range
 * gets its piece between the two remainders. An untouched range is borrowed. */
static int builder_push_rest(Builder *b, const RangeSet *s, size_t i, const uint64_t holes[2][2],
                             MovedQueue *q) {
        const TrackedRange *r = &s->ranges[i];
        uint64_t cuts[2][2];
        size_t n_cuts = 0;
        uint64_t pos;
        int k;

        for (size_t h = 0; h < 2; h++) {
                uint64_t a = MAX(holes[h][0], r->start), e = MIN(holes[h][1], r->end);
                if (a < e) {
                        cuts[n_cuts][0] = a;
                        cuts[n_cuts][1] = e;
                        n_cuts++;
                }
        }
        if (n_cuts == 0) {
                k = builder_flush_moved(b, q, r->start);
                if (k < 0)
                        return k;
                return builder_push(b, *r, (ssize_t) i);
        }
        if (n_cuts == 2 && cuts[1][0] < cuts[0][0]) {
                uint64_t t0 = cuts[0][0], t1 = cuts[0][1];
                cuts[0][0] = cuts[1][0];
                cuts[0][1] = cuts[1][1];
                cuts[1][0] = t0;
                cuts[1][1] = t1;
        }

        pos = r->start;
        for (size_t c = 0; c <= n_cuts; c++) {
                uint64_t e = c < n_cuts ? cuts[c][0] : r->end;
                if (pos < e) {
                        TrackedRange p;
                        k = builder_flush_moved(b, q, pos);
                        if (k < 0)
                                return k;
                        k = tracked_range_piece(r, pos, e, 0, &p);
                        if (k < 0)
                                return k;
                        k = builder_push(b, p, -1);
                        if (k < 0)
                                return k;
                }
                if (c < n_cuts)
                        pos = MAX(pos, cuts[c][1]);
        }
        return 0;
}

int range_set_add(RangeSet *s, uint64_t start, uint64_t end, uint32_t tag) {
        Builder b = {};
        size_t at;
        bool inserted = false;
        int k = 0;

        if (!aligned(s, start) || !aligned(s, end) || start >= end)
                return -EINVAL;
        at = range_set_lower_bound(s, start);
        if (at < s->n_ranges && s->ranges[at].start < end)
                return -EEXIST;

        k = builder_reserve(&b, s->n_ranges + 1);
        for (size_t i = 0; k >= 0 && i <= s->n_ranges; i++) {
                if (!inserted && (i == s->n_ranges || s->ranges[i].start >= end)) {
                        TrackedRange r = {
                                .start = start,
                                .end = end,
                                .tag = tag,
                                .page_shift = s->page_shift,
                        };
                        k = builder_push(&b, r, -1);
                        inserted = true;
                }
                if (k >= 0 && i < s->n_ranges)
                        k = builder_push(&b, s->ranges[i], (ssize_t) i);
        }
        if (k < 0) {
                builder_abort(&b);
                return k;
        }
        builder_commit(&b, s);
        return 0;
}

int range_set_remove(RangeSet *s, uint64_t start, uint64_t end, uint64_t *ret_removed_bytes) {
        const uint64_t holes[2][2] = { { start, end }, { 0, 0 } };
        uint64_t removed = 0;
        Builder b = {};
        size_t first;
        int k;

        if (!aligned(s, start) || !aligned(s, end) || end < start)
                return -EINVAL;

        first = range_set_lower_bound(s, start);
        for (size_t i = first; i < s->n_ranges && s->ranges[i].start < end; i++)
                removed += MIN(end, s->ranges[i].end) - MAX(start, s->ranges[i].start);
        if (removed == 0) {
                if (ret_removed_bytes)
                        *ret_removed_bytes = 0;
                return 0;
        }

        k = builder_reserve(&b, s->n_ranges + 1);
        for (size_t i = 0; k >= 0 && i < s->n_ranges; i++)
                k = builder_push_rest(&b, s, i, holes, NULL);
        if (k < 0) {
                builder_abort(&b);
                return k;
        }
        builder_commit(&b, s);
        if (ret_removed_bytes)
                *ret_removed_bytes = removed;
        return 0;
}

int range_set_remap(RangeSet *s, uint64_t from, uint64_t to, uint64_t len) {
        const uint64_t holes[2][2] = { { from, from + len }, { to, to + len } };
        MovedQueue q = {};
        Builder b = {};
        size_t first;
        int k = 0;

        if (!aligned(s, from) || !aligned(s, to) || !aligned(s, len) || len == 0 ||
            from + len < from || to + len < to)
                return -EINVAL;
        if (from == to)
                return 0;

        /* Cut the moved pieces out first, already at their new address. The delta is the same for
         * all of them, so they stay sorted. */
        first = range_set_lower_bound(s, from);
        for (size_t i = first; i < s->n_ranges && s->ranges[i].start < from + len; i++)
                q.n++;
        if (q.n > 0) {
                q.pieces = calloc(q.n, sizeof(TrackedRange));
                if (!q.pieces)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < q.n; i++) {
                const TrackedRange *r = &s->ranges[first + i];
                k = tracked_range_piece(r, MAX(r->start, from), MIN(r->end, from + len), to - from,
                                        &q.pieces[i]);
                if (k < 0)
                        goto fail;
        }

        /* Merge what stays (old ranges minus source and destination) with the moved pieces, by
         * address. They cannot overlap: the pieces lie inside the destination, which the rest
         * excludes. */
        k = builder_reserve(&b, s->n_ranges + q.n + 2);
        for (size_t i = 0; k >= 0 && i < s->n_ranges; i++)
                k = builder_push_rest(&b, s, i, holes, &q);
        if (k >= 0) /* pieces after the last old range; start < UINT64_MAX as start < end */
                k = builder_flush_moved(&b, &q, UINT64_MAX);
        if (k < 0)
                goto fail;
        builder_commit(&b, s);
        free(q.pieces);
        return 0;

fail:
        builder_abort(&b);
        for (size_t i = 0; i < q.n; i++) /* the ones not yet handed to the builder */
                tracked_range_release(&q.pieces[i]);
        free(q.pieces);
        return k;
}

int range_set_copy(const RangeSet *s, RangeSet *ret) {
        RangeSet c = {
                .page_size = s->page_size,
                .page_shift = s->page_shift,
        };

        if (s->n_ranges > 0) {
                c.ranges = calloc(s->n_ranges, sizeof(TrackedRange));
                if (!c.ranges)
                        return -ENOMEM;
                c.allocated = s->n_ranges;
        }
        for (size_t i = 0; i < s->n_ranges; i++) {
                const TrackedRange *r = &s->ranges[i];
                int k = tracked_range_piece(r, r->start, r->end, 0, &c.ranges[i]);
                if (k < 0) {
                        range_set_done(&c);
                        return k;
                }
                c.n_ranges++;
        }
        *ret = c;
        return 0;
}

int range_set_update(RangeSet *s, uint64_t start, uint64_t end, uint8_t clear_bits,
                     uint8_t set_bits) {
        size_t first;
        int k;

        if (!aligned(s, start) || !aligned(s, end) || end < start)
                return -EINVAL;
        first = range_set_lower_bound(s, start);

        /* First give every partly covered range whose pages would diverge its own bytes. That
         * changes no page's state, so failing half-way leaves the set's meaning untouched. */
        for (size_t i = first; i < s->n_ranges && s->ranges[i].start < end; i++) {
                TrackedRange *r = &s->ranges[i];
                bool whole = start <= r->start && r->end <= end;
                if (!r->pages && !whole && ((r->uniform & ~clear_bits) | set_bits) != r->uniform) {
                        k = tracked_range_materialize(r);
                        if (k < 0)
                                return k;
                }
        }

        for (size_t i = first; i < s->n_ranges && s->ranges[i].start < end; i++) {
                TrackedRange *r = &s->ranges[i];
                uint64_t a = MAX(start, r->start), e = MIN(end, r->end);

                if (!r->pages) {
                        r->uniform = (uint8_t) ((r->uniform & ~clear_bits) | set_bits);
                        continue;
                }
                uint64_t n = (e - r->start) >> r->page_shift;
                for (uint64_t p = (a - r->start) >> r->page_shift; p < n; p++)
                        r->pages[p] = (uint8_t) ((r->pages[p] & ~clear_bits) | set_bits);
                if (a == r->start && e == r->end)
                        tracked_range_compact(r);
        }
        return 0;
}

/* ---- RunVec ---- */

int run_vec_reserve(RunVec *v, size_t extra) {
        AddrRun *runs;
        size_t n;

        if (v->n_runs + extra <= v->allocated)
                return 0;
        if (extra > SIZE_MAX / 2 - v->n_runs)
                return -ENOMEM;
        n = MAX(v->n_runs + extra, MAX(v->allocated * 2, (size_t) 16));
        runs = reallocarray(v->runs, n, sizeof(AddrRun));
        if (!runs)
                return -ENOMEM;
        v->runs = runs;
        v->allocated = n;
        return 0;
}

int run_vec_append(RunVec *v, uint64_t start, uint64_t end, uint32_t flags) {
        int k;

        if (end <= start)
                return -EINVAL;
        if (v->n_runs > 0) {
                AddrRun *last = &v->runs[v->n_runs - 1];
                if (last->end == start && last->flags == flags) {
                        last->end = end;
                        return 0;
                }
        }
        k = run_vec_reserve(v, 1);
        if (k < 0)
                return k;
        v->runs[v->n_runs++] = (AddrRun){ start, end, flags };
        return 0;
}

ssize_t run_vec_find(const RunVec *v, uint64_t addr) {
        size_t lo = 0, hi = v->n_runs;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (v->runs[mid].end <= addr)
                        lo = mid + 1;
                else if (v->runs[mid].start > addr)
                        hi = mid;
                else
                        return (ssize_t) mid;
        }
        return -ENOENT;
}

int run_vec_cut(RunVec *v, uint64_t start, uint64_t end, uint64_t *ret_removed_bytes) {
        uint64_t removed = 0;
        size_t lo = 0, hi, w;

        if (end < start)
                return -EINVAL;
        if (end == start) { /* else a run around it would be split in two for nothing */
                if (ret_removed_bytes)
                        *ret_removed_bytes = 0;
                return 0;
        }
        while (lo < v->n_runs && v->runs[lo].end <= start)
                lo++;
        hi = lo;
        while (hi < v->n_runs && v->runs[hi].start < end)
                hi++;
        if (lo == hi) { /* nothing intersects (and runs may be NULL: no pointer arithmetic) */
                if (ret_removed_bytes)
                        *ret_removed_bytes = 0;
                return 0;
        }
        /* Runs lo..hi-1 intersect. Only one run strictly containing the cut needs a new slot. */
        if (hi == lo + 1 && v->runs[lo].start < start && v->runs[lo].end > end) {
                int k = run_vec_reserve(v, 1);
                if (k < 0)
                        return k;
                memmove(&v->runs[lo + 1], &v->runs[lo], (v->n_runs - lo) * sizeof(AddrRun));
                v->n_runs++;
                v->runs[lo].end = start;
                v->runs[lo + 1].start = end;
                if (ret_removed_bytes)
                        *ret_removed_bytes = end - start;
                return 0;
        }

        w = lo;
        for (size_t i = lo; i < hi; i++) {
                AddrRun r = v->runs[i];
                removed += MIN(end, r.end) - MAX(start, r.start);
                if (r.start < start)
                        v->runs[w++] = (AddrRun){ r.start, start, r.flags };
                else if (r.end > end)
                        v->runs[w++] = (AddrRun){ end, r.end, r.flags };
        }
        memmove(&v->runs[w], &v->runs[hi], (v->n_runs - hi) * sizeof(AddrRun));
        v->n_runs -= hi - w;
        if (ret_removed_bytes)
                *ret_removed_bytes = removed;
        return 0;
}

uint64_t run_vec_bytes(const RunVec *v) {
        uint64_t sum = 0;

        for (size_t i = 0; i < v->n_runs; i++)
                sum += v->runs[i].end - v->runs[i].start;
        return sum;
}

void run_vec_clear(RunVec *v) {
        v->n_runs = 0;
}

void run_vec_done(RunVec *v) {
        if (!v)
                return;
        v->runs = mfree(v->runs);
        v->n_runs = v->allocated = 0;
}
