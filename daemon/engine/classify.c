/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "macro.h"

/* The walk over a range goes piece by piece: a piece is a stretch of pages that share the
 * categories of one region (or of a gap between regions), one old refault run (or none) and, for
 * huge regions, one 2 MiB block. In a range without per-page bytes all pages of a piece are in the
 * same state, so a piece is handled in one step however large it is: a terabyte of reserved,
 * never-touched address space costs as much as one page. */

typedef struct Walk {
        const TrackedRange *r;
        const struct page_region *regions;
        size_t n_regions, ri;
        const RefaultRun *runs;
        size_t n_runs, ki;
        uint64_t pos, end; /* the window walked: [pos, end) of r */
} Walk;

typedef struct Piece {
        uint64_t start, end;
        uint64_t categories; /* 0: no region, unpopulated */
        const RefaultRun *run;
} Piece;

static bool walk_next(Walk *w, Piece *ret) {
        uint64_t end = w->end, categories = 0;
        const RefaultRun *run = NULL;

        if (w->pos >= w->end)
                return false;
        while (w->ri < w->n_regions && w->regions[w->ri].end <= w->pos)
                w->ri++;
        while (w->ki < w->n_runs && w->runs[w->ki].end <= w->pos)
                w->ki++;

        if (w->ri < w->n_regions) {
                const struct page_region *g = &w->regions[w->ri];
                if (g->start <= w->pos) {
                        categories = g->categories;
                        end = MIN(end, g->end);
                } else
                        end = MIN(end, g->start);
        }
        if (categories & PAGE_IS_HUGE) {
                uint64_t block_end = ALIGN_DOWN(w->pos, CLASSIFY_HUGE_BYTES) + CLASSIFY_HUGE_BYTES;
                if (block_end > w->pos) /* not wrapped at the top of the address space */
                        end = MIN(end, block_end);
        }
        if (w->ki < w->n_runs) {
                if (w->runs[w->ki].start <= w->pos) {
                        run = &w->runs[w->ki];
                        end = MIN(end, run->end);
                } else
                        end = MIN(end, w->runs[w->ki].start);
        }

        *ret = (Piece){ w->pos, end, categories, run };
        w->pos = end;
        return true;
}

typedef struct Classifier {
        TrackedRange *r;
        const ClassifyParams *p;
        uint64_t page_size;

        /* A range without per-page bytes is first walked "dry", only to learn whether its pages
         * still share one state afterwards (then it stays without bytes) or have to get them. */
        bool dry;
        bool diverged;
        /* ... and when it cannot get them (the state budget): its pages keep one state, the
         * merge of what they should have (classify_state_merge()) */
        bool coarse;
        bool have_next_uniform;
        uint8_t next_uniform;

        ClassifyResult *stats;
        RunVec *evict;
        RefaultRun *runs; /* the refault runs after this cycle, built in address order */
        size_t n_runs, allocated_runs;
        bool runs_oom, evict_oom;
} Classifier;

static unsigned age_of(uint8_t state) {
        return state & PAGE_STATE_AGE_MASK;
}

static unsigned age_next(unsigned age) {
        return age >= PAGE_STATE_AGE_MAX ? PAGE_STATE_AGE_MAX : age + 1;
}

static uint64_t backoff_cycles(const ClassifyParams *p, uint32_t count) {
        unsigned shift = count == 0 ? 0 : MIN(count - 1, CLASSIFY_BACKOFF_SHIFT_MAX);
        return (uint64_t) p->cold_age_cycles << shift;
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a + b < a ? UINT64_MAX : a + b;
}

/* A run is remembered for twice its backoff after the backoff ends: long enough that a page
 * evicted as soon as it was allowed and back within that time counts as a repeat offender. */
static const RefaultRun *run_alive(const RefaultRun *k, const ClassifyParams *p) {
        if (k && p->cycle < add_sat(k->until_cycle, 2 * backoff_cycles(p, k->count)))
                return k;
        return NULL;
}

static uint64_t page_of(const TrackedRange *r, uint64_t addr) {
        return (addr - r->start) >> r->page_shift;
}

static uint8_t state_read(const Classifier *c, uint64_t addr) {
        const TrackedRange *r = c->r;
        return r->chunks ? tracked_range_get(r, page_of(r, addr)) : r->uniform;
}

/* End of the stretch from addr (below end) whose pages all share addr's state: they all fare
 * the same, so the walk handles them in one step. Neighbouring pages usually do share a state
 * (same age since touched together, or never touched), which makes this the common case. */
static uint64_t state_run_end(const Classifier *c, uint64_t addr, uint64_t end) {
        const TrackedRange *r = c->r;

        if (!r->chunks)
                return end;
        return r->start +
                (tracked_range_run_end(r, page_of(r, addr), page_of(r, end)) << r->page_shift);
}

/* Sets [a, b) to state; all of it had one state before (see state_run_end()). */
static void state_write(Classifier *c, uint64_t a, uint64_t b, uint8_t state) {
        TrackedRange *r = c->r;

        if (r->chunks) {
                /* cannot fail with chunks: past the budget a chunk is coarsened */
                (void) tracked_range_fill(r, page_of(r, a), page_of(r, b), state);
                return;
        }
        /* Without chunks the old state stays readable in r->uniform until the walk is over. */
        if (!c->have_next_uniform) {
                c->next_uniform = state;
                c->have_next_uniform = true;
        } else if (c->next_uniform != state) {
                if (c->coarse)
                        c->next_uniform = classify_state_merge(c->next_uniform, state);
                else
                        c->diverged = true;
        }
}

static void account(Classifier *c, uint64_t bytes, uint64_t categories, unsigned age) {
        ClassifyResult *st = c->stats;
        bool present = categories & PAGE_IS_PRESENT;
        bool swapped = !present && (categories & PAGE_IS_SWAPPED);
        unsigned bucket = classify_age_bucket(age);

        st->tracked_bytes += bytes;
        if (present)
                st->resident_bytes += bytes;
        if (swapped)
                st->swapped_bytes += bytes;
        if (age == 0)
                st->hot_bytes += bytes;
        if (categories & PAGE_IS_HUGE)
                st->huge_bytes += bytes;
        st->age_histogram_bytes[bucket] += bytes;
        if (present || swapped) {
                if (age >= c->p->cold_age_cycles)
                        st->cold_bytes += bytes;
                for (unsigned i = bucket; i < CLASSIFY_N_BUCKETS; i++)
                        st->wss_bytes[i] += bytes;
        }
}

/* Records the refault run state of [a, b) after this cycle: a fresh backoff after a refault (the
 * count continuing from the old run if it is still remembered), else the old run unchanged. */
static void record_run(Classifier *c, uint64_t a, uint64_t b, const RefaultRun *old, bool refault,
                       uint32_t count) {
        RefaultRun k;

        if (refault)
                k = (RefaultRun){ a, b, add_sat(c->p->cycle, backoff_cycles(c->p, count)), count };
        else if (old)
                k = (RefaultRun){ a, b, old->until_cycle, old->count };
        else
                return;

        if (c->n_runs > 0) {
                RefaultRun *last = &c->runs[c->n_runs - 1];
                if (last->end == a && last->until_cycle == k.until_cycle &&
                    last->count == k.count) {
                        last->end = b;
                        return;
                }
        }
        if (c->runs_oom)
                return;
        if (c->n_runs == c->allocated_runs) {
                size_t n = MAX(c->allocated_runs * 2, (size_t) 8);
                RefaultRun *runs = reallocarray(c->runs, n, sizeof(RefaultRun));
                if (!runs) {
                        c->runs_oom = true;
                        return;
                }
                c->runs = runs;
                c->allocated_runs = n;
        }
        c->runs[c->n_runs++] = k;
}

static void evict_append(Classifier *c, uint64_t a, uint64_t b, uint32_t flags) {
        if (run_vec_append(c->evict, a, b, flags) < 0) {
                c->evict_oom = true;
                return;
        }
        c->stats->evict_bytes += b - a;
}

static uint32_t count_next(const RefaultRun *old) {
        if (!old)
                return 1;
        return old->count == UINT32_MAX ? UINT32_MAX : old->count + 1;
}

/* A piece of small pages: each page is its own unit, but pages in the same state share one
 * step (without per-page bytes: the whole piece). */
static void classify_small(Classifier *c, const Piece *q) {
        const ClassifyParams *p = c->p;
        bool seen = q->categories & p->seen_mask;
        bool present = q->categories & PAGE_IS_PRESENT;
        bool swapped = !present && (q->categories & PAGE_IS_SWAPPED);
        const RefaultRun *old = run_alive(q->run, p);
        bool held = old && p->cycle < old->until_cycle;
        uint64_t step;

        for (uint64_t a = q->start; a < q->end && !c->diverged; a += step) {
                uint8_t state = state_read(c, a);
                bool evicted = state & PAGE_STATE_EVICTED;
                bool refault = evicted && (present || seen);
                unsigned age = seen || refault ? 0 : age_next(age_of(state));
                /* Still out only while it is in swap; unpopulated means it was dropped. */
                bool still_evicted = evicted && !refault && swapped;

                step = state_run_end(c, a, q->end) - a;
                state_write(c, a, a + step,
                            (uint8_t) (age | (still_evicted ? PAGE_STATE_EVICTED : 0)));
                if (c->dry)
                        continue;

                account(c, step, q->categories, age);
                if (still_evicted)
                        c->stats->out_bytes += step;
                if (refault) {
                        c->stats->refaulted_bytes += step;
                        c->stats->refaults += step / c->page_size;
                }
                record_run(c, a, a + step, old, refault, count_next(old));
                /* refault implies age 0, so a refaulted page is never a candidate here. */
                if (age >= p->cold_age_cycles && present) {
                        if (held)
                                c->stats->held_bytes += step;
                        else
                                evict_append(c, a, a + step, 0);
                }
        }
}

/* The huge pages of one 2 MiB block, starting at *w: one unit. Two passes over its pieces: the
 * first decides the unit's fate, the second writes it to every page. Advances *w past the unit. */
static void classify_huge(Classifier *c, Walk *w) {
        const ClassifyParams *p = c->p;
        const Walk first = *w;
        bool seen = false, refault = false, all_present = true, held = false;
        unsigned min_age = PAGE_STATE_AGE_MAX, age;
        uint64_t block = ALIGN_DOWN(w->pos, CLASSIFY_HUGE_BYTES);
        uint64_t unit_start = w->pos, unit_end = w->pos;
        const RefaultRun *oldest = NULL; /* the alive run with the highest count */
        size_t n_pieces = 0;
        Walk it = first;
        Piece q;

        for (;;) {
                Walk before = it;
                if (!walk_next(&it, &q) || !(q.categories & PAGE_IS_HUGE) ||
                    ALIGN_DOWN(q.start, CLASSIFY_HUGE_BYTES) != block) {
                        it = before;
                        break;
                }
                bool piece_seen = q.categories & p->seen_mask;
                bool piece_present = q.categories & PAGE_IS_PRESENT;
                const RefaultRun *old = run_alive(q.run, p);
                uint64_t step;

                n_pieces++;
                unit_end = q.end;
                seen = seen || piece_seen;
                all_present = all_present && piece_present;
                if (old) {
                        held = held || p->cycle < old->until_cycle;
                        if (!oldest || old->count > oldest->count)
                                oldest = old;
                }
                for (uint64_t a = q.start; a < q.end; a += step) {
                        uint8_t state = state_read(c, a);
                        step = state_run_end(c, a, q.end) - a;
                        min_age = MIN(min_age, age_of(state));
                        if ((state & PAGE_STATE_EVICTED) && (piece_present || piece_seen))
                                refault = true;
                }
        }
        *w = it;

        age = seen || refault ? 0 : age_next(min_age);
        it = first;
        for (size_t i = 0; i < n_pieces && !c->diverged; i++) {
                bool present, swapped;
                const RefaultRun *old;
                uint64_t step;

                (void) walk_next(&it, &q);
                present = q.categories & PAGE_IS_PRESENT;
                swapped = !present && (q.categories & PAGE_IS_SWAPPED);
                old = run_alive(q.run, p);
                for (uint64_t a = q.start; a < q.end && !c->diverged; a += step) {
                        uint8_t state = state_read(c, a);
                        bool still_evicted = (state & PAGE_STATE_EVICTED) && !refault && swapped;

                        step = state_run_end(c, a, q.end) - a;
                        state_write(c, a, a + step,
                                    (uint8_t) (age | (still_evicted ? PAGE_STATE_EVICTED : 0)));
                        if (c->dry)
                                continue;
                        account(c, step, q.categories, age);
                        if (still_evicted)
                                c->stats->out_bytes += step;
                        /* The unit refaulted as one: all of it gets one backoff. */
                        record_run(c, a, a + step, old, refault, count_next(oldest));
                }
        }
        if (c->dry)
                return;

        if (refault) {
                c->stats->refaulted_bytes += unit_end - unit_start;
                c->stats->refaults++;
        }
        if (age >= p->cold_age_cycles && all_present) {
                if (held)
                        c->stats->held_bytes += unit_end - unit_start;
                else if (unit_start == block && unit_end == block + CLASSIFY_HUGE_BYTES)
                        evict_append(c, block, unit_end, ADDR_RUN_HUGE);
                /* else: a huge page straddling the range's edge. Paging out our part would split
                 * it, and the rest is not ours to judge: leave it resident. */
        }
}

static void classify_walk(Classifier *c, const struct page_region *regions, size_t n_regions,
                          uint64_t start, uint64_t end) {
        Walk w = {
                .r = c->r,
                .regions = regions,
                .n_regions = n_regions,
                .runs = c->r->refaults,
                .n_runs = c->r->n_refaults,
                .pos = start,
                .end = end,
        };

        while (!c->diverged) {
                Walk at = w;
                Piece q;

                if (!walk_next(&w, &q))
                        break;
                if (q.categories & PAGE_IS_HUGE) {
                        w = at;
                        classify_huge(c, &w);
                } else
                        classify_small(c, &q);
        }
}

static int regions_check(const struct page_region *regions, size_t n_regions, uint64_t page_size) {
        for (size_t i = 0; i < n_regions; i++) {
                const struct page_region *g = &regions[i];
                if (g->start >= g->end || !IS_ALIGNED(g->start, page_size) ||
                    !IS_ALIGNED(g->end, page_size))
                        return -EINVAL;
                if (i > 0 && regions[i - 1].end > g->start)
                        return -EINVAL;
        }
        return 0;
}

int classify_params_check(const ClassifyParams *p) {
        if (p->cold_age_cycles < 1 || p->cold_age_cycles > PAGE_STATE_AGE_MAX)
                return -EINVAL;
        if (p->rearm_period < 1 || p->seen_mask == 0)
                return -EINVAL;
        return 0;
}

unsigned classify_rearm_period_default(unsigned cold_age_cycles) {
        return MAX(1U, cold_age_cycles / 2);
}

unsigned classify_age_bucket(unsigned age) {
        if (age == 0)
                return 0;
        /* 1 -> 1, 2-3 -> 2, 4-7 -> 3, ... 64-127 -> 7 */
        return MIN((unsigned) (32 - __builtin_clz(age)), CLASSIFY_N_BUCKETS - 1U);
}

void classify_result_add(ClassifyResult *sum, const ClassifyResult *x) {
        sum->tracked_bytes += x->tracked_bytes;
        sum->resident_bytes += x->resident_bytes;
        sum->swapped_bytes += x->swapped_bytes;
        sum->out_bytes += x->out_bytes;
        sum->hot_bytes += x->hot_bytes;
        sum->cold_bytes += x->cold_bytes;
        sum->huge_bytes += x->huge_bytes;
        sum->refaulted_bytes += x->refaulted_bytes;
        sum->refaults += x->refaults;
        sum->held_bytes += x->held_bytes;
        sum->evict_bytes += x->evict_bytes;
        for (size_t i = 0; i < CLASSIFY_N_BUCKETS; i++) {
                sum->wss_bytes[i] += x->wss_bytes[i];
                sum->age_histogram_bytes[i] += x->age_histogram_bytes[i];
        }
}

void classify_progress_done(ClassifyProgress *g) {
        free(g->runs);
        *g = (ClassifyProgress){};
}

int classify_progress_begin(ClassifyProgress *g, const TrackedRange *r, uint64_t pos) {
        uint64_t ps = UINT64_C(1) << r->page_shift;

        if (pos < r->start || pos >= r->end || !IS_ALIGNED(pos, ps))
                return -EINVAL;
        classify_progress_done(g);
        *g = (ClassifyProgress){
                .active = true,
                .start = r->start,
                .end = r->end,
                .begin = pos,
                .pos = pos,
        };
        return 0;
}

bool classify_progress_matches(const ClassifyProgress *g, const TrackedRange *r, uint64_t pos) {
        return g->active && g->start == r->start && g->end == r->end && g->pos == pos;
}

const TrackedRange *classify_progress_view(const ClassifyProgress *g, const TrackedRange *r,
                                           TrackedRange *buf) {
        if (r->chunks || !g->active || !g->have_next_uniform)
                return r;
        *buf = *r;
        buf->uniform = g->next_uniform;
        return buf;
}

/* Gives a range without per-page bytes its bytes in the middle of a windowed walk: the pages
 * before the walk's begin and from pos on keep the old uniform state, the pages walked so far
 * take the state the walk gave them. */
static int materialize_walked(TrackedRange *r, const ClassifyProgress *g) {
        int k = tracked_range_materialize(r);

        if (k < 0)
                return k;
        if (g->have_next_uniform)
                (void) tracked_range_fill(r, page_of(r, g->begin), page_of(r, g->pos),
                                          g->next_uniform);
        return 0;
}

int classify_range_step(TrackedRange *r, uint64_t end, const struct page_region *regions,
                        size_t n_regions, const ClassifyParams *p, ClassifyProgress *g,
                        ClassifyResult *stats, RunVec *evict) {
        Classifier c = {
                .r = r,
                .p = p,
                .page_size = UINT64_C(1) << r->page_shift,
                .stats = stats,
                .evict = evict,
        };
        int k;

        k = classify_params_check(p);
        if (k < 0)
                return k;
        if (!g->active || g->start != r->start || g->end != r->end || end <= g->pos ||
            end > r->end || !IS_ALIGNED(end, c.page_size))
                return -EINVAL;
        k = regions_check(regions, n_regions, c.page_size);
        if (k < 0)
                return k;

        /* The refault runs of the walked part are built in g (the walk still reads the old ones
         * in r) and replace the old ones at classify_range_finish(). */
        c.runs = g->runs;
        c.n_runs = g->n_runs;
        c.allocated_runs = g->allocated_runs;
        c.runs_oom = g->runs_oom;

        if (!r->chunks) {
                /* Without chunks: the new state of what was walked so far is g's next_uniform
                 * (r->uniform still holds the old one for the rest); a dry walk of this window
                 * says whether it stays one state. */
                c.dry = true;
                c.have_next_uniform = g->have_next_uniform;
                c.next_uniform = g->next_uniform;
                classify_walk(&c, regions, n_regions, g->pos, end);
                if (c.diverged) {
                        k = materialize_walked(r, g);
                        if (k == -ENOSPC) { /* over the state budget: coarsen instead */
                                c.coarse = true;
                                if (r->budget)
                                        r->budget->coarsened++;
                        } else if (k < 0) {
                                g->runs = c.runs; /* ownership stays with g */
                                return k;
                        } else
                                g->have_next_uniform = false;
                }
                c.dry = c.diverged = false;
                c.have_next_uniform = g->have_next_uniform;
                c.next_uniform = g->next_uniform;
        }

        classify_walk(&c, regions, n_regions, g->pos, end);

        if (!r->chunks) {
                g->have_next_uniform = c.have_next_uniform;
                g->next_uniform = c.next_uniform;
        }
        g->runs = c.runs;
        g->n_runs = c.n_runs;
        g->allocated_runs = c.allocated_runs;
        g->runs_oom = c.runs_oom;
        g->pos = end;
        return c.runs_oom || c.evict_oom ? -ENOMEM : 0;
}

int classify_range_finish(TrackedRange *r, ClassifyProgress *g) {
        RefaultRun *runs = NULL;
        size_t n = 0, n_before = 0;
        int k = 0;

        if (!g->active || g->start != r->start || g->end != r->end || g->pos != r->end)
                return -EINVAL;

        if (!r->chunks && g->have_next_uniform) {
                if (g->begin == r->start)
                        r->uniform = g->next_uniform;
                else if (g->next_uniform != r->uniform) {
                        k = materialize_walked(r, g); /* -ENOMEM: this cycle's ageing is lost */
                        if (k == -ENOSPC) {
                                r->uniform = classify_state_merge(r->uniform, g->next_uniform);
                                if (r->budget)
                                        r->budget->coarsened++;
                                k = 0;
                        }
                }
        }
        if (r->chunks)
                tracked_range_compact(r);

        /* The old runs before the walk's begin (a walk resumed in the middle of the range) stay,
         * followed by the runs the walk built. */
        if (!g->runs_oom) {
                for (size_t i = 0; i < r->n_refaults && r->refaults[i].start < g->begin; i++)
                        n_before++;
                n = n_before + g->n_runs;
                if (n > 0 && !(runs = reallocarray(NULL, n, sizeof(RefaultRun))))
                        g->runs_oom = true;
        }
        if (!g->runs_oom) {
                for (size_t i = 0; i < n_before; i++) {
                        runs[i] = r->refaults[i];
                        runs[i].end = MIN(runs[i].end, g->begin);
                }
                if (g->n_runs > 0)
                        memcpy(runs + n_before, g->runs, g->n_runs * sizeof(RefaultRun));
                free(r->refaults);
                r->refaults = runs;
                r->n_refaults = n;
                r->allocated_refaults = n;
        } else
                k = -ENOMEM; /* keep the old runs: stale by one cycle, but consistent */
        classify_progress_done(g);
        return k;
}

int classify_range(TrackedRange *r, const struct page_region *regions, size_t n_regions,
                   const ClassifyParams *p, ClassifyResult *stats, RunVec *evict) {
        _cleanup_(classify_progress_done) ClassifyProgress g = {};
        int k, k2;

        k = classify_params_check(p);
        if (k < 0)
                return k;
        k = regions_check(regions, n_regions, UINT64_C(1) << r->page_shift);
        if (k < 0)
                return k;
        k = classify_progress_begin(&g, r, r->start);
        if (k < 0)
                return k;
        k = classify_range_step(r, r->end, regions, n_regions, p, &g, stats, evict);
        if (k < 0 && g.pos != r->end)
                return k; /* before the walk: nothing changed */
        k2 = classify_range_finish(r, &g);
        return k < 0 ? k : k2;
}

int classify_due_runs(const TrackedRange *r, uint64_t cycle, unsigned rearm_period, RunVec *due) {
        uint64_t period = rearm_period, k_first, k_last, phase, k;
        int ret;

        if (period == 0)
                return -EINVAL;
        if (period == 1)
                return run_vec_append(due, r->start, r->end, 0);

        k_first = r->start >> CLASSIFY_CHUNK_SHIFT;
        k_last = (r->end - 1) >> CLASSIFY_CHUNK_SHIFT;
        /* The first chunk k >= k_first with (cycle + k) % period == 0; then every period-th. */
        phase = (cycle % period + k_first % period) % period;
        k = k_first + (phase == 0 ? 0 : period - phase);
        for (; k <= k_last; k += period) {
                uint64_t a = MAX(k << CLASSIFY_CHUNK_SHIFT, r->start);
                uint64_t e = MIN((k + 1) << CLASSIFY_CHUNK_SHIFT, r->end);
                if (k == k_last)
                        e = r->end; /* (k + 1) << 21 may wrap at the top */
                ret = run_vec_append(due, a, e, 0);
                if (ret < 0)
                        return ret;
        }
        return 0;
}

uint8_t classify_state_merge(uint8_t a, uint8_t b) {
        /* the younger age (never turns a page cold early), EVICTED only when both were */
        return (uint8_t) (MIN(a & PAGE_STATE_AGE_MASK, b & PAGE_STATE_AGE_MASK) |
                          (a & b & PAGE_STATE_EVICTED));
}

int classify_mark_evicted(RangeSet *s, uint64_t start, uint64_t end) {
        return range_set_update(s, start, end, 0, PAGE_STATE_EVICTED);
}

int classify_discard(RangeSet *s, uint64_t start, uint64_t end) {
        return range_set_update(s, start, end, PAGE_STATE_EVICTED, 0);
}

int classify_page_accessed(TrackedRange *r, uint64_t page_index) {
        if (page_index >= tracked_range_n_pages(r))
                return -EINVAL;
        return tracked_range_set(r, page_index,
                                 tracked_range_get(r, page_index) & PAGE_STATE_EVICTED);
}

int classify_cancel(RangeSet *s, RunVec *pending, uint64_t addr) {
        uint64_t a = ALIGN_DOWN(addr, s->page_size), e = a + s->page_size;
        ssize_t i = run_vec_find(pending, a);
        int k;

        if (i >= 0) {
                const AddrRun *run = &pending->runs[i];
                if (run->flags & ADDR_RUN_HUGE) {
                        uint64_t block = ALIGN_DOWN(addr, CLASSIFY_HUGE_BYTES);
                        a = MAX(block, run->start);
                        e = MIN(block + CLASSIFY_HUGE_BYTES, run->end);
                }
                /* Room for a split, so the cut below cannot fail after the state changed. */
                k = run_vec_reserve(pending, 1);
                if (k < 0)
                        return k;
        }

        k = range_set_update(s, a, e, PAGE_STATE_AGE_MASK, 0);
        if (k < 0)
                return k;
        if (i < 0)
                return 0;
        (void) run_vec_cut(pending, a, e, NULL);
        return 1;
}
