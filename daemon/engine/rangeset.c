/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "rangeset.h"

/* Every structural change (add, remove, remap) rebuilds the array of ranges aside: ranges the
 * change does not touch are moved over as they are ("borrowed"), and so is the largest remainder
 * of a range cut in pieces (its chunk words outside its new bounds are dropped at the commit);
 * the other pieces are copied. Nothing in the old set is modified before every allocation has
 * succeeded, which is what makes each call all-or-nothing. The cost is O(number of ranges) plus
 * the state of the pieces copied: cheap next to the syscall that caused the event. */

static bool aligned(const RangeSet *s, uint64_t addr) {
        return IS_ALIGNED(addr, s->page_size);
}

/* ---- StateBudget ---- */

bool state_budget_charge(StateBudget *b, uint64_t bytes) {
        for (StateBudget *x = b; x; x = x->parent)
                if (x->limit > 0 && (x->used + bytes < x->used || x->used + bytes > x->limit))
                        return false;
        for (StateBudget *x = b; x; x = x->parent)
                x->used += bytes;
        return true;
}

void state_budget_uncharge(StateBudget *b, uint64_t bytes) {
        for (; b; b = b->parent)
                b->used = b->used >= bytes ? b->used - bytes : 0;
}

const StateBudget *state_budget_short(const StateBudget *b, uint64_t bytes) {
        for (; b; b = b->parent)
                if (b->limit > 0 && (b->used + bytes < b->used || b->used + bytes > b->limit))
                        return b;
        return NULL;
}

uint64_t range_state_words_bytes(uint64_t len, uint8_t page_shift) {
        uint64_t chunk = (uint64_t) RANGE_CHUNK_PAGES << page_shift;
        /* + 1: a range that does not start on a chunk boundary straddles one more */
        return (len / chunk + 1 + (len % chunk != 0)) * sizeof(uint64_t);
}

static uint8_t state_merge(const StateBudget *b, uint8_t x, uint8_t y) {
        if (x == y)
                return x;
        if (b && b->merge)
                return b->merge(x, y);
        return MIN(x, y);
}

static void note_coarsened(StateBudget *b) {
        if (b)
                b->coarsened++;
}

static bool range_charge(TrackedRange *r, uint64_t bytes) {
        if (!state_budget_charge(r->budget, bytes))
                return false;
        r->state_bytes += bytes;
        return true;
}

static void range_uncharge(TrackedRange *r, uint64_t bytes) {
        bytes = MIN(bytes, r->state_bytes);
        state_budget_uncharge(r->budget, bytes);
        r->state_bytes -= bytes;
}

/* ---- chunk words ----
 *
 * A word with bit 0 set holds 1..4 runs inline: bits 1-2 the number of runs minus one, bits 3-10
 * the state of run 0 (which starts at offset 0), then for runs 1..3, 17 bits each from bit 11: the
 * start offset in the chunk (9 bits) and the state (8 bits). A word with bit 0 clear points to
 * RANGE_CHUNK_PAGES state bytes (malloc() alignment keeps bit 0 clear). */

typedef struct ChunkRun {
        uint16_t start;
        uint8_t state;
} ChunkRun;

static bool word_inline(uint64_t w) {
        return w & 1;
}

static uint8_t *word_bytes(uint64_t w) {
        return (uint8_t *) (uintptr_t) w;
}

static uint64_t word_uniform(uint8_t state) {
        return 1 | (uint64_t) state << 3;
}

static size_t word_decode(uint64_t w, ChunkRun out[RANGE_CHUNK_INLINE_RUNS]) {
        size_t n = (size_t) ((w >> 1) & 3) + 1;

        out[0] = (ChunkRun){ 0, (uint8_t) (w >> 3) };
        for (size_t j = 1; j < n; j++) {
                unsigned sh = 11 + (unsigned) (j - 1) * 17;
                out[j] = (ChunkRun){ (uint16_t) ((w >> sh) & 0x1ff), (uint8_t) (w >> (sh + 9)) };
        }
        return n;
}

static uint64_t word_encode(const ChunkRun *runs, size_t n) {
        uint64_t w = 1 | (uint64_t) (n - 1) << 1 | (uint64_t) runs[0].state << 3;

        for (size_t j = 1; j < n; j++) {
                unsigned sh = 11 + (unsigned) (j - 1) * 17;
                w |= (uint64_t) runs[j].start << sh | (uint64_t) runs[j].state << (sh + 9);
        }
        return w;
}

static uint8_t word_get(uint64_t w, unsigned off) {
        ChunkRun runs[RANGE_CHUNK_INLINE_RUNS];
        size_t n;

        if (!word_inline(w))
                return word_bytes(w)[off];
        n = word_decode(w, runs);
        while (n > 1 && runs[n - 1].start > off)
                n--;
        return runs[n - 1].state;
}

/* End offset of the run of equal states from off. */
static unsigned word_run_end(uint64_t w, unsigned off) {
        ChunkRun runs[RANGE_CHUNK_INLINE_RUNS];
        size_t n;

        if (!word_inline(w)) {
                const uint8_t *b = word_bytes(w);
                unsigned e = off + 1;
                while (e < RANGE_CHUNK_PAGES && b[e] == b[off])
                        e++;
                return e;
        }
        n = word_decode(w, runs);
        for (size_t j = 1; j < n; j++)
                if (runs[j].start > off)
                        return runs[j].start;
        return RANGE_CHUNK_PAGES;
}

static void word_release(TrackedRange *r, uint64_t *w) {
        if (!word_inline(*w)) {
                free(word_bytes(*w));
                range_uncharge(r, RANGE_CHUNK_PAGES);
        }
        *w = word_uniform(0);
}

/* Appends a run to a run list being built in offset order, keeping it minimal. */
static void runs_push(ChunkRun *out, size_t *m, unsigned start, uint8_t state) {
        if (*m > 0 && out[*m - 1].start == start) {
                out[*m - 1].state = state;
                if (*m > 1 && out[*m - 2].state == state)
                        (*m)--;
                return;
        }
        if (*m > 0 && out[*m - 1].state == state)
                return;
        out[(*m)++] = (ChunkRun){ (uint16_t) start, state };
}

/* Merges neighbouring runs until n fit inline: always the pair covering the fewest pages, so
 * the coarsening blurs as little as possible. */
static void runs_coarsen(ChunkRun *runs, size_t *n, const StateBudget *b) {
        while (*n > RANGE_CHUNK_INLINE_RUNS) {
                size_t best = 0;
                unsigned best_len = UINT32_MAX;
                for (size_t i = 0; i + 1 < *n; i++) {
                        unsigned e = i + 2 < *n ? runs[i + 2].start : RANGE_CHUNK_PAGES;
                        if (e - runs[i].start < best_len) {
                                best_len = e - runs[i].start;
                                best = i;
                        }
                }
                runs[best].state = state_merge(b, runs[best].state, runs[best + 1].state);
                memmove(&runs[best + 1], &runs[best + 2], (*n - best - 2) * sizeof(ChunkRun));
                (*n)--;
                /* the merged run may now equal a neighbour */
                ChunkRun tmp[RANGE_CHUNK_INLINE_RUNS + 4];
                size_t m = 0;
                for (size_t i = 0; i < *n; i++)
                        runs_push(tmp, &m, runs[i].start, runs[i].state);
                memcpy(runs, tmp, m * sizeof(ChunkRun));
                *n = m;
        }
}

/* Sets offsets [a, b) of chunk k to state. Never fails: a chunk that needs bytes and cannot have
 * them (budget, memory) is coarsened. */
static void chunk_fill(TrackedRange *r, size_t k, unsigned a, unsigned b, uint8_t state) {
        uint64_t *w = &r->chunks[k];
        ChunkRun in[RANGE_CHUNK_INLINE_RUNS], out[RANGE_CHUNK_INLINE_RUNS + 4];
        size_t n, m = 0;
        uint8_t *bytes = NULL;

        if (a == 0 && b == RANGE_CHUNK_PAGES) {
                word_release(r, w);
                *w = word_uniform(state);
                return;
        }
        if (!word_inline(*w)) {
                memset(word_bytes(*w) + a, state, b - a);
                return;
        }
        n = word_decode(*w, in);
        for (size_t j = 0; j < n; j++)
                if (in[j].start < a)
                        runs_push(out, &m, in[j].start, in[j].state);
        runs_push(out, &m, a, state);
        if (b < RANGE_CHUNK_PAGES)
                runs_push(out, &m, b, word_get(*w, b));
        for (size_t j = 0; j < n; j++)
                if (in[j].start > b)
                        runs_push(out, &m, in[j].start, in[j].state);
        if (m <= RANGE_CHUNK_INLINE_RUNS) {
                *w = word_encode(out, m);
                return;
        }
        if (range_charge(r, RANGE_CHUNK_PAGES)) {
                bytes = malloc(RANGE_CHUNK_PAGES);
                if (!bytes)
                        range_uncharge(r, RANGE_CHUNK_PAGES);
        }
        if (bytes) {
                for (size_t j = 0; j < m; j++) {
                        unsigned e = j + 1 < m ? out[j + 1].start : RANGE_CHUNK_PAGES;
                        memset(bytes + out[j].start, out[j].state, e - out[j].start);
                }
                *w = (uint64_t) (uintptr_t) bytes;
                return;
        }
        runs_coarsen(out, &m, r->budget);
        note_coarsened(r->budget);
        *w = word_encode(out, m);
}

/* ---- ranges ---- */

static uint64_t page_abs(const TrackedRange *r, uint64_t page_index) {
        return (r->start >> r->page_shift) + page_index;
}

static size_t chunk_of(const TrackedRange *r, uint64_t page_index) {
        return (size_t) ((page_abs(r, page_index) >> RANGE_CHUNK_SHIFT) - r->chunk0);
}

static unsigned offset_of(const TrackedRange *r, uint64_t page_index) {
        return (unsigned) (page_abs(r, page_index) & (RANGE_CHUNK_PAGES - 1));
}

static void chunks_release(TrackedRange *r) {
        if (r->chunks) {
                for (size_t k = 0; k < r->n_chunks; k++)
                        if (!word_inline(r->chunks[k]))
                                free(word_bytes(r->chunks[k]));
                r->chunks = mfree(r->chunks);
        }
        r->n_chunks = 0;
        r->chunk0 = 0;
        range_uncharge(r, r->state_bytes);
}

static void tracked_range_release(TrackedRange *r) {
        chunks_release(r);
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
        if (!r->chunks)
                return r->uniform;
        return word_get(r->chunks[chunk_of(r, page_index)], offset_of(r, page_index));
}

uint64_t tracked_range_run_end(const TrackedRange *r, uint64_t page_index, uint64_t limit) {
        uint64_t end;
        unsigned off, e;
        size_t k;
        uint8_t state;

        limit = MIN(limit, tracked_range_n_pages(r));
        if (page_index >= limit || !r->chunks)
                return limit;
        k = chunk_of(r, page_index);
        off = offset_of(r, page_index);
        state = word_get(r->chunks[k], off);
        e = word_run_end(r->chunks[k], off);
        end = page_index + (e - off);
        /* on through following chunks that start in the same state */
        while (end < limit && e == RANGE_CHUNK_PAGES) {
                k++;
                if (word_get(r->chunks[k], 0) != state)
                        break;
                e = word_run_end(r->chunks[k], 0);
                end += e;
        }
        return MIN(end, limit);
}

int tracked_range_materialize(TrackedRange *r) {
        uint64_t first, last, n;

        if (r->chunks)
                return 0;
        first = (r->start >> r->page_shift) >> RANGE_CHUNK_SHIFT;
        last = ((r->end >> r->page_shift) - 1) >> RANGE_CHUNK_SHIFT;
        n = last - first + 1;
        if (n > SIZE_MAX / sizeof(uint64_t))
                return -ENOMEM;
        if (!range_charge(r, n * sizeof(uint64_t)))
                return -ENOSPC;
        r->chunks = malloc((size_t) n * sizeof(uint64_t));
        if (!r->chunks) {
                range_uncharge(r, n * sizeof(uint64_t));
                return -ENOMEM;
        }
        for (size_t k = 0; k < n; k++)
                r->chunks[k] = word_uniform(r->uniform);
        r->chunk0 = first;
        r->n_chunks = (size_t) n;
        return 0;
}

int tracked_range_fill(TrackedRange *r, uint64_t first, uint64_t last, uint8_t state) {
        uint64_t n = tracked_range_n_pages(r);
        int k;

        if (first > last || last > n)
                return -EINVAL;
        if (first == last)
                return 0;
        if (first == 0 && last == n) {
                chunks_release(r);
                r->uniform = state;
                return 0;
        }
        if (!r->chunks) {
                if (state == r->uniform)
                        return 0;
                k = tracked_range_materialize(r);
                if (k < 0)
                        return k;
        }
        for (uint64_t p = first; p < last;) {
                unsigned off = offset_of(r, p);
                unsigned e = (unsigned) MIN((uint64_t) RANGE_CHUNK_PAGES, off + (last - p));
                chunk_fill(r, chunk_of(r, p), off, e, state);
                p += e - off;
        }
        return 0;
}

int tracked_range_set(TrackedRange *r, uint64_t page_index, uint8_t state) {
        if (page_index >= tracked_range_n_pages(r))
                return -EINVAL;
        return tracked_range_fill(r, page_index, page_index + 1, state);
}

/* The budget's merge of the states of pages [first, last) of r, starting from acc. */
static uint8_t runs_merged(const TrackedRange *r, uint64_t first, uint64_t last, uint8_t acc,
                           const StateBudget *b) {
        for (uint64_t p = first, e; p < last; p = e) {
                e = tracked_range_run_end(r, p, last);
                acc = state_merge(b, acc, tracked_range_get(r, p));
        }
        return acc;
}

void tracked_range_coarsen(TrackedRange *r) {
        uint8_t s;

        if (!r->chunks)
                return;
        s = runs_merged(r, 0, tracked_range_n_pages(r), tracked_range_get(r, 0), r->budget);
        chunks_release(r);
        r->uniform = s;
        note_coarsened(r->budget);
}

/* Drops the chunks when all pages are equal. Stops at the first change: cheap for a range with
 * varied state. */
static bool compact_if_uniform(TrackedRange *r) {
        uint64_t n = tracked_range_n_pages(r);
        uint8_t s;

        if (!r->chunks || tracked_range_run_end(r, 0, n) != n)
                return false;
        s = tracked_range_get(r, 0);
        chunks_release(r);
        r->uniform = s;
        return true;
}

void tracked_range_compact(TrackedRange *r) {
        uint64_t n = tracked_range_n_pages(r);

        if (!r->chunks || compact_if_uniform(r))
                return;
        /* Chunks whose bytes fit in a few runs again go back inline (only the part inside the
         * range counts: the rest of an edge chunk means nothing). */
        for (size_t k = 0; k < r->n_chunks; k++) {
                const uint8_t *b;
                unsigned lo = 0, hi = RANGE_CHUNK_PAGES;
                ChunkRun runs[RANGE_CHUNK_INLINE_RUNS + 4];
                size_t m = 0;

                if (word_inline(r->chunks[k]))
                        continue;
                b = word_bytes(r->chunks[k]);
                if (k == 0)
                        lo = offset_of(r, 0);
                if (k == r->n_chunks - 1)
                        hi = offset_of(r, n - 1) + 1;
                runs_push(runs, &m, 0, b[lo]);
                for (unsigned o = lo + 1; o < hi && m <= RANGE_CHUNK_INLINE_RUNS; o++)
                        if (b[o] != b[o - 1])
                                runs_push(runs, &m, o, b[o]);
                if (m > RANGE_CHUNK_INLINE_RUNS)
                        continue;
                word_release(r, &r->chunks[k]);
                r->chunks[k] = word_encode(runs, m);
        }
}

/* Drops the chunk words outside the range's (narrowed) bounds and the refault runs outside it.
 * Cannot fail: for the piece of a split range that keeps its storage. */
static void tracked_range_shrink(TrackedRange *r) {
        size_t w = 0;

        if (r->chunks) {
                uint64_t first = (r->start >> r->page_shift) >> RANGE_CHUNK_SHIFT;
                uint64_t last = ((r->end >> r->page_shift) - 1) >> RANGE_CHUNK_SHIFT;
                size_t a = (size_t) (first - r->chunk0), b = (size_t) (last - r->chunk0) + 1;
                uint64_t *c;

                for (size_t k = 0; k < r->n_chunks; k++)
                        if (k < a || k >= b)
                                word_release(r, &r->chunks[k]);
                memmove(r->chunks, r->chunks + a, (b - a) * sizeof(uint64_t));
                range_uncharge(r, (r->n_chunks - (b - a)) * sizeof(uint64_t));
                r->n_chunks = b - a;
                r->chunk0 = first;
                c = realloc(r->chunks, r->n_chunks * sizeof(uint64_t));
                if (c)
                        r->chunks = c;
                (void) compact_if_uniform(r);
        }
        for (size_t i = 0; i < r->n_refaults; i++) {
                RefaultRun k = r->refaults[i];
                if (k.end <= r->start || k.start >= r->end)
                        continue;
                k.start = MAX(k.start, r->start);
                k.end = MIN(k.end, r->end);
                r->refaults[w++] = k;
        }
        r->n_refaults = w;
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

uint64_t range_set_state_bytes(const RangeSet *s) {
        uint64_t sum = 0;

        for (size_t i = 0; i < s->n_ranges; i++)
                sum += s->ranges[i].state_bytes;
        return sum;
}

int range_set_cut_bounds(const RangeSet *s, uint64_t start, uint64_t end, size_t max_ranges,
                         uint64_t *ret_start, uint64_t *ret_end) {
        const TrackedRange *r = range_set_find(s, start);

        *ret_start = start;
        *ret_end = end;
        if (max_ranges == 0 || s->n_ranges < max_ranges || !r || r->start >= start || end >= r->end)
                return 0;
        if (start - r->start <= r->end - end)
                *ret_start = r->start;
        else
                *ret_end = r->end;
        return 1;
}

static bool refault_runs_equal(const RefaultRun *a, const RefaultRun *b) {
        return a->until_cycle == b->until_cycle && a->count == b->count;
}

/* Copies the states of src's pages [from, to) to dst's pages from at on; dst has chunks. */
static void copy_runs(TrackedRange *dst, uint64_t at, const TrackedRange *src, uint64_t from,
                      uint64_t to) {
        for (uint64_t p = from, e; p < to; p = e) {
                e = tracked_range_run_end(src, p, to);
                (void) tracked_range_fill(dst, at + (p - from), at + (e - from),
                                          tracked_range_get(src, p));
        }
}

/* A fresh range holding [a, b) of r, moved by delta (unsigned arithmetic, so a move down is a
 * wrap-around add), charged to budget. Copies the states and the refault runs that fall inside:
 * the cost is that of the piece. */
static int tracked_range_piece(const TrackedRange *r, uint64_t a, uint64_t b, uint64_t delta,
                               StateBudget *budget, TrackedRange *ret) {
        TrackedRange p = {
                .start = a + delta,
                .end = b + delta,
                .tag = r->tag,
                .page_shift = r->page_shift,
                .uniform = r->uniform,
                .budget = budget,
        };
        size_t first = 0, n = 0;

        if (r->chunks) {
                uint64_t pa = (a - r->start) >> r->page_shift, pb = (b - r->start) >> r->page_shift;
                int k;

                p.uniform = tracked_range_get(r, pa);
                if (tracked_range_run_end(r, pa, pb) < pb) {
                        k = tracked_range_materialize(&p);
                        if (k == -ENOMEM)
                                return k;
                        if (k < 0) { /* over budget: one state for the piece */
                                p.uniform = runs_merged(r, pa, pb, p.uniform, budget);
                                note_coarsened(budget);
                        } else
                                copy_runs(&p, 0, r, pa, pb);
                }
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

        /* A piece of a range with chunks is often all-equal (say, the idle half of a split). */
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
                .budget = a->budget,
        };
        size_t n = a->n_refaults + b->n_refaults;

        if (a->chunks || b->chunks || a->uniform != b->uniform) {
                uint64_t na = tracked_range_n_pages(a), nb = tracked_range_n_pages(b);
                int k;

                m.uniform = tracked_range_get(a, 0);
                k = tracked_range_materialize(&m);
                if (k == -ENOMEM)
                        return k;
                if (k < 0) {
                        m.uniform = runs_merged(
                                b, 0, nb, runs_merged(a, 0, na, m.uniform, m.budget), m.budget);
                        note_coarsened(m.budget);
                } else {
                        copy_runs(&m, 0, a, 0, na);
                        copy_runs(&m, na, b, 0, nb);
                }
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
        tracked_range_compact(&m);
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

/* Replaces the set's ranges with the built ones, freeing old ranges that were not borrowed and
 * shrinking the storage of those borrowed with narrower bounds. Borrowed indexes appear in
 * increasing order, since both arrays are sorted by address. */
static void builder_commit(Builder *b, RangeSet *s) {
        size_t k = 0;

        for (size_t i = 0; i < s->n_ranges; i++) {
                while (k < b->n && (b->src[k] < 0 || (size_t) b->src[k] < i))
                        k++;
                if (!(k < b->n && (size_t) b->src[k] == i))
                        tracked_range_release(&s->ranges[i]);
                else if (b->out[k].start != s->ranges[i].start || b->out[k].end != s->ranges[i].end)
                        tracked_range_shrink(&b->out[k]);
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
        uint64_t pos, largest = 0;
        bool borrowed = false;
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

        /* The largest remainder keeps r's storage (borrowed with narrower bounds, shrunk at the
         * commit): a split costs the smaller pieces only. */
        pos = r->start;
        for (size_t c = 0; c <= n_cuts; c++) {
                uint64_t e = c < n_cuts ? cuts[c][0] : r->end;
                if (pos < e && e - pos > largest)
                        largest = e - pos;
                if (c < n_cuts)
                        pos = MAX(pos, cuts[c][1]);
        }
        pos = r->start;
        for (size_t c = 0; c <= n_cuts; c++) {
                uint64_t e = c < n_cuts ? cuts[c][0] : r->end;
                if (pos < e) {
                        TrackedRange p;
                        k = builder_flush_moved(b, q, pos);
                        if (k < 0)
                                return k;
                        if (!borrowed && e - pos == largest) {
                                p = *r;
                                p.start = pos;
                                p.end = e;
                                borrowed = true;
                                k = builder_push(b, p, (ssize_t) i);
                        } else {
                                k = tracked_range_piece(r, pos, e, 0, r->budget, &p);
                                if (k < 0)
                                        return k;
                                k = builder_push(b, p, -1);
                        }
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
                                .budget = s->budget,
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
                                        r->budget, &q.pieces[i]);
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

int range_set_copy(const RangeSet *s, StateBudget *budget, RangeSet *ret) {
        RangeSet c = {
                .page_size = s->page_size,
                .page_shift = s->page_shift,
                .budget = budget,
        };

        if (s->n_ranges > 0) {
                c.ranges = calloc(s->n_ranges, sizeof(TrackedRange));
                if (!c.ranges)
                        return -ENOMEM;
                c.allocated = s->n_ranges;
        }
        for (size_t i = 0; i < s->n_ranges; i++) {
                const TrackedRange *r = &s->ranges[i];
                int k = tracked_range_piece(r, r->start, r->end, 0, budget, &c.ranges[i]);
                if (k < 0) {
                        range_set_done(&c);
                        return k;
                }
                c.n_ranges++;
        }
        *ret = c;
        return 0;
}

/* Never fails once the arguments are valid: a range that cannot have chunks for the change is
 * coarsened (its one state becomes the merge of before and after). */
int range_set_update(RangeSet *s, uint64_t start, uint64_t end, uint8_t clear_bits,
                     uint8_t set_bits) {
        if (!aligned(s, start) || !aligned(s, end) || end < start)
                return -EINVAL;

        for (size_t i = range_set_lower_bound(s, start);
             i < s->n_ranges && s->ranges[i].start < end; i++) {
                TrackedRange *r = &s->ranges[i];
                uint64_t pa = (MAX(start, r->start) - r->start) >> r->page_shift;
                uint64_t pe = (MIN(end, r->end) - r->start) >> r->page_shift;

                for (uint64_t p = pa, e; p < pe; p = e) {
                        uint8_t old, now;

                        e = tracked_range_run_end(r, p, pe);
                        old = tracked_range_get(r, p);
                        now = (uint8_t) ((old & ~clear_bits) | set_bits);
                        if (now == old)
                                continue;
                        if (tracked_range_fill(r, p, e, now) < 0) {
                                r->uniform = state_merge(r->budget, r->uniform, now);
                                note_coarsened(r->budget);
                                break;
                        }
                }
                if (pa == 0 && pe == tracked_range_n_pages(r))
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
