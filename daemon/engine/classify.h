/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Aging and cold classification, one cycle at a time. Pure: the engine scans the client's pagemap
 * (PAGEMAP_SCAN) over a tracked range and hands the regions in; this module advances each page's
 * state byte, adds up the statistics and lists what to evict. No I/O, no logging, no globals.
 *
 * Page state byte (TrackedRange pages/uniform):
 *   bits 0-6  age: cycles since the page was last seen accessed, saturating at 127
 *   bit 7     EVICTED: we paged it out and have not seen it come back
 *
 * Per page and cycle, from the categories of the region covering it (none: unpopulated):
 *   - seen (categories & seen_mask): age = 0.
 *   - else age = min(age + 1, 127).
 *   - refault: EVICTED and PRESENT again (or seen): age = 0, EVICTED cleared, and the page is held
 *     back from eviction for cold_age_cycles << min(n - 1, CLASSIFY_BACKOFF_SHIFT_MAX) cycles,
 *     n being how often it refaulted: each wrong guess doubles the wait. The wp-async backend
 *     sees reads at all only this way, as SWAPPED turning back into PRESENT. Pages that go twice
 *     their backoff past its end without refaulting are forgotten (n restarts at 1). With n = 1
 *     the hold ends just when the page could turn cold again anyway; it bites from n = 2 on.
 *   - neither PRESENT nor SWAPPED (unpopulated, e.g. after MADV_DONTNEED): EVICTED is cleared,
 *     since there is nothing left to come back; the age keeps growing.
 *   - candidate for eviction: age >= cold_age_cycles, PRESENT, not EVICTED, not held back.
 *   - PAGE_IS_HUGE: the pages of one 2 MiB-aligned block form a unit: one age for all (0 if any
 *     part is seen or refaults, else the youngest part's age + 1), evicted whole and listed only
 *     when the whole block is inside the range (so MADV_PAGEOUT never splits a huge page for us).
 *
 * Note: a page marked EVICTED that MADV_PAGEOUT could not actually move out (no swap) reads as
 * PRESENT next cycle and so counts as a refault. */

#include <stdbool.h>
#include <stdint.h>

#include "rangeset.h"
#include "uapi.h"

#define PAGE_STATE_AGE_MASK UINT8_C(0x7f)
#define PAGE_STATE_AGE_MAX 127U
#define PAGE_STATE_EVICTED UINT8_C(0x80)

/* x86-64 and arm64 (4K) PMD size: transparent huge pages and the re-arm chunk. */
#define CLASSIFY_HUGE_SHIFT 21
#define CLASSIFY_HUGE_BYTES (UINT64_C(1) << CLASSIFY_HUGE_SHIFT)
#define CLASSIFY_CHUNK_SHIFT CLASSIFY_HUGE_SHIFT
/* Backoff stops doubling at cold_age << 6: with a 1 min cold age a page that keeps refaulting is
 * retried about once an hour, not never. */
#define CLASSIFY_BACKOFF_SHIFT_MAX 6U
/* Log2 buckets: age 0, 1, 2-3, 4-7, 8-15, 16-31, 32-63, 64-127. */
#define CLASSIFY_N_BUCKETS 8

typedef struct ClassifyParams {
        uint64_t cycle; /* the cycle being classified, counting up */
        unsigned cold_age_cycles; /* 1..127: pages this old are cold */
        uint64_t seen_mask; /* PAGE_IS_ACCESSED (rwp) or PAGE_IS_WRITTEN (wp-async) */
        unsigned rearm_period; /* >= 1, see classify_due_runs() (checked, not used here) */
} ClassifyParams;

/* Byte counts of one cycle, accumulated over the ranges of a client (zero it first). */
typedef struct ClassifyResult {
        uint64_t tracked_bytes;
        uint64_t resident_bytes; /* PRESENT */
        uint64_t swapped_bytes; /* SWAPPED */
        uint64_t out_bytes; /* paged out by us and still in swap (EVICTED and SWAPPED):
                                   * exact, unlike swapped_bytes, which on wp-async also counts
                                   * never-touched pages carrying a WP_UNPOPULATED marker */
        uint64_t hot_bytes; /* accessed this cycle: seen or refaulted (age 0) */
        uint64_t cold_bytes; /* PRESENT or SWAPPED, age >= cold age */
        uint64_t huge_bytes; /* in HUGE regions */
        uint64_t refaulted_bytes; /* came back this cycle after being evicted */
        uint64_t refaults; /* refault events: a page, or a whole huge page */
        uint64_t held_bytes; /* would be evicted but for refault backoff */
        uint64_t evict_bytes; /* appended to the eviction list */
        /* wss_bytes[i]: PRESENT or SWAPPED bytes with age < 2^i, i.e. accessed within the last
         * 1, 2, 4, ... 128 cycles. Unpopulated pages never count: they hold no memory. */
        uint64_t wss_bytes[CLASSIFY_N_BUCKETS];
        /* Every tracked byte by age bucket (sums to tracked_bytes). */
        uint64_t age_histogram_bytes[CLASSIFY_N_BUCKETS];
} ClassifyResult;

/* -EINVAL unless cold_age_cycles is 1..127, rearm_period >= 1 and seen_mask != 0. */
int classify_params_check(const ClassifyParams *p);
/* max(1, cold_age_cycles / 2): a page is armed at least twice within a cold-age window. */
unsigned classify_rearm_period_default(unsigned cold_age_cycles);
/* 0..CLASSIFY_N_BUCKETS-1 */
unsigned classify_age_bucket(unsigned age);
void classify_result_add(ClassifyResult *sum, const ClassifyResult *x);

/* Advances every page of r by one cycle. regions: the scan of r (sorted, non-overlapping,
 * page-aligned, end exclusive; parts outside r are ignored). Adds to *stats and appends the cold
 * candidates to *evict as coalesced runs (ADDR_RUN_HUGE for whole huge pages); called for a
 * client's ranges in address order, *evict stays sorted.
 * -EINVAL: bad params or regions (nothing changed). -ENOMEM before the walk: nothing changed;
 * during it (growing *evict or the refault runs): the states and *stats are still complete, but
 * *evict may miss candidates and this cycle's refault backoff is lost, so evict nothing. */
int classify_range(TrackedRange *r, const struct page_region *regions, size_t n_regions,
                   const ClassifyParams *p, ClassifyResult *stats, RunVec *evict);

/* The same walk cut into windows, so that one event-loop turn never ages more than a bounded
 * part of a huge range (tracker.c, slice.h): classify_progress_begin() at the first page to
 * walk, classify_range_step() for each window [g->pos, end) in address order with the scan of
 * that window, classify_range_finish() once g->pos reaches the range's end. The result is the
 * one classify_range() gives for the same scans. Between two steps the range may be changed by
 * the caller's events only through the rangeset functions; a range whose bounds changed (split,
 * moved, merged, cut) no longer matches its progress (classify_progress_matches()): drop the
 * progress and begin again at the cursor, which costs the walked part of a range without
 * per-page bytes this cycle's ageing, and the walked part's new refault backoffs. Pages of a
 * range without per-page bytes keep their old state until the finish (the walked part's new
 * state is held in g), so only a walk that diverges allocates the bytes. */
typedef struct ClassifyProgress {
        bool active;
        uint64_t start, end; /* the range's bounds when the walk began */
        uint64_t begin; /* where the walk began */
        uint64_t pos; /* [begin, pos) is walked */
        bool have_next_uniform; /* range without bytes: the walked part's new state */
        uint8_t next_uniform;
        RefaultRun *runs; /* the walked part's refault runs after this cycle */
        size_t n_runs, allocated_runs;
        bool runs_oom;
} ClassifyProgress;

void classify_progress_done(ClassifyProgress *g);
/* -EINVAL unless pos is a page of r. Drops what g held. */
int classify_progress_begin(ClassifyProgress *g, const TrackedRange *r, uint64_t pos);
/* g is a walk of r (same bounds) that has reached pos. */
bool classify_progress_matches(const ClassifyProgress *g, const TrackedRange *r, uint64_t pos);
/* The walked part [g->begin, g->pos) of r as this cycle's walk left it, for readers between a
 * step and the finish (the re-arming schedule): r itself when it has per-page bytes, else
 * *buf, a copy of r whose uniform state is the walked part's new one (valid for that part). */
const TrackedRange *classify_progress_view(const ClassifyProgress *g, const TrackedRange *r,
                                           TrackedRange *buf);
/* Classifies [g->pos, end) of r; regions: the scan of that window (parts outside ignored).
 * Errors as classify_range(); -EINVAL when g is not a walk of r or end is not past g->pos
 * within r. On -ENOMEM with g->pos == end the window's states and stats are complete. */
int classify_range_step(TrackedRange *r, uint64_t end, const struct page_region *regions,
                        size_t n_regions, const ClassifyParams *p, ClassifyProgress *g,
                        ClassifyResult *stats, RunVec *evict);
/* Ends the walk (g->pos must be r->end): the new uniform state or the compacted bytes, the new
 * refault runs. g is done afterwards. -ENOMEM: the refault runs stay as they were. */
int classify_range_finish(TrackedRange *r, ClassifyProgress *g);

/* Re-arming schedule. Arming (protecting) a page costs the client one fault the next time it
 * touches it, so hot pages must not be re-armed every cycle; yet the "seen" category stays set
 * from the first access until the page is re-armed, so a page is only known to be idle from the
 * cycles after its last arming. Arming every page once per rearm_period cycles is therefore enough:
 * a page stops being seen at most rearm_period cycles after its last access, and is found cold at
 * most cold_age_cycles + rearm_period cycles after it. To spread the cost evenly over cycles, the
 * address space is cut into 2 MiB-aligned chunks and chunk k = addr >> 21 is due on the cycles
 * where (cycle + k) % rearm_period == 0. With rearm_period == 1 everything is due every cycle.
 * Newly tracked ranges are not covered by this: arm them whole when they are added.
 * Appends the due parts of r (coalesced) to *due; -EINVAL for rearm_period == 0. */
int classify_due_runs(const TrackedRange *r, uint64_t cycle, unsigned rearm_period, RunVec *due);

/* Two states in one, for a range or chunk coarsened past the state budget (StateBudget.merge):
 * the younger age, so nothing turns cold early, and EVICTED only when both were. */
uint8_t classify_state_merge(uint8_t a, uint8_t b);

/* After a successful MADV_PAGEOUT of [start, end): sets EVICTED on the tracked pages in it. */
int classify_mark_evicted(RangeSet *s, uint64_t start, uint64_t end);
/* A fault arrived for the page: it is in use, age 0. EVICTED is kept on purpose: the next scan
 * sees the page back and counts the refault with its backoff (counting here would count it twice
 * or lose the backoff). -EINVAL out of range, -ENOMEM. */
int classify_page_accessed(TrackedRange *r, uint64_t page_index);
/* The same by address, for the fault path while evictions are pending: if addr is in the sorted
 * pending list, its page is cut out of it, or its whole 2 MiB block for an ADDR_RUN_HUGE run (so
 * the rest of the huge page is not paged out under the thread, nor split), and all of what was
 * cut gets age 0. Untracked addresses are fine. Returns 1 if something was cut, 0 if addr was not
 * pending; on -ENOMEM nothing changed. */
int classify_cancel(RangeSet *s, RunVec *pending, uint64_t addr);
/* UFFD_EVENT_REMOVE (MADV_DONTNEED/MADV_REMOVE) of [start, end): the contents are gone but the
 * mapping stays tracked. Clears EVICTED, so a page touched again before the next scan is not
 * taken for a refault. */
int classify_discard(RangeSet *s, uint64_t start, uint64_t end);
