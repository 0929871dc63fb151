/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The address ranges one client asked us to track, with a state byte per page, kept exact across
 * the userfaultfd events the daemon receives:
 *
 *   UFFD_EVENT_UNMAP   range_set_remove(): the pages are gone.
 *   UFFD_EVENT_REMAP   range_set_remap(): mremap() moved [from, from+len) to [to, to+len).
 *   UFFD_EVENT_FORK    range_set_copy(): the child starts with a copy of the parent's state.
 *   UFFD_EVENT_REMOVE  MADV_DONTNEED/MADV_REMOVE only zap the contents: the mapping and its uffd
 *                      registration stay, so the range stays tracked (see classify_discard()).
 *
 * Pure: no I/O, no logging, no globals. What a state byte means is up to the caller (classify.h);
 * this module only stores, splits, moves and merges it.
 *
 * Storage costs in proportion to what differs (a client can track a terabyte it never touches):
 * a range whose pages all share one state costs nothing per page; otherwise it has one 8-byte
 * word per chunk of RANGE_CHUNK_PAGES pages (chunks aligned on absolute page numbers, so a split
 * or a trim keeps them), holding up to RANGE_CHUNK_INLINE_RUNS runs of equal state inline, and
 * only a chunk with more runs than that gets RANGE_CHUNK_PAGES bytes of its own. What it costs is
 * charged to a StateBudget; past the budget a chunk is coarsened instead (neighbouring runs merged
 * by the budget's merge rule), which loses precision, never correctness of the layout.
 *
 * Invariants: ranges are page-aligned, sorted by start, never overlap, and two ranges that touch
 * always have different tags (touching same-tag ranges are merged, state preserved). Every
 * mutating call either succeeds or fails with the set unchanged. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Refault history of a run of pages: how often they came back after we evicted them, and until
 * which cycle they may not be evicted again. classify.c gives the fields meaning; rangeset.c
 * only splits, shifts and merges the runs along with the pages. Runs are sorted, do not overlap
 * and lie inside their range. One run usually covers many pages (everything that refaulted in
 * the same cycle next to each other), which is why this is not per page. */
typedef struct RefaultRun {
        uint64_t start, end; /* page-aligned, [start, end) */
        uint64_t until_cycle; /* not evicted before this cycle */
        uint32_t count; /* refaults so far, saturating */
} RefaultRun;

/* What per-page state may cost, in bytes, at one level (a client, a uid, the daemon): a charge
 * must fit at every level up the parent chain. Owned by the caller; ranges keep a pointer. */
typedef struct StateBudget {
        uint64_t used, limit; /* limit 0: unlimited */
        struct StateBudget *parent;
        uint64_t coarsened; /* chunks (or whole ranges) coarsened because a charge was refused */
        /* Two states in one: how a coarsened run is stored (the caller's meaning, classify.h's
         * classify_state_merge()). NULL: the smaller one. Read at the leaf only. */
        uint8_t (*merge)(uint8_t a, uint8_t b);
} StateBudget;

/* true when bytes fit at every level (then charged at every level); NULL budget: always. */
bool state_budget_charge(StateBudget *b, uint64_t bytes);
void state_budget_uncharge(StateBudget *b, uint64_t bytes);
/* The first level up the chain where bytes more would not fit, or NULL. */
const StateBudget *state_budget_short(const StateBudget *b, uint64_t bytes);
/* What the chunk words of len bytes of address space cost once their pages differ: the least a
 * range may need (a new TRACK is refused when its budget is short of it). */
uint64_t range_state_words_bytes(uint64_t len, uint8_t page_shift);

#define RANGE_CHUNK_SHIFT 9
#define RANGE_CHUNK_PAGES (1U << RANGE_CHUNK_SHIFT)
#define RANGE_CHUNK_INLINE_RUNS 4

typedef struct TrackedRange {
        uint64_t start, end; /* page-aligned, [start, end) */
        uint32_t tag; /* which TRACK request it came from (name/labels live in the client) */
        uint8_t page_shift; /* log2 of the page size, copied from the set */
        uint8_t uniform; /* state of every page while `chunks` is NULL */
        /* One word per chunk from absolute chunk chunk0 on (inline runs or a pointer to
         * RANGE_CHUNK_PAGES bytes, see rangeset.c), or NULL while all pages are equal. Words of
         * pages outside [start, end) mean nothing. */
        uint64_t *chunks;
        uint64_t chunk0;
        size_t n_chunks;
        uint64_t state_bytes; /* what chunks cost, charged to budget */
        StateBudget *budget;
        RefaultRun *refaults;
        size_t n_refaults, allocated_refaults;
} TrackedRange;

typedef struct RangeSet {
        TrackedRange *ranges;
        size_t n_ranges, allocated;
        uint64_t page_size;
        uint8_t page_shift;
        StateBudget *budget; /* NULL: unlimited; set before the first add */
} RangeSet;

/* page_size must be a power of two (-EINVAL otherwise). */
int range_set_init(RangeSet *s, uint64_t page_size);
/* Frees everything; the set stays initialised (empty) and may be reused. Accepts a zeroed set. */
void range_set_done(RangeSet *s);

/* Tracks [start, end) with every page in state 0. -EINVAL: unaligned or empty; -EEXIST: overlaps a
 * tracked range. A range touching one with the same tag is merged into it. */
int range_set_add(RangeSet *s, uint64_t start, uint64_t end, uint32_t tag);
/* Stops tracking whatever part of [start, end) is tracked, splitting ranges as needed. Untracked
 * addresses are not an error: *ret_removed_bytes (may be NULL) says how much was tracked. -EINVAL:
 * unaligned or end < start. */
int range_set_remove(RangeSet *s, uint64_t start, uint64_t end, uint64_t *ret_removed_bytes);
/* mremap(): the tracked parts of [from, from+len) now live at [to, to+len), with their state and
 * refault history. Whatever was tracked at the destination is dropped first (the kernel unmapped
 * it). Moved pieces that touch a same-tag range merge with it. The two ranges may overlap.
 * -EINVAL: unaligned, empty, or wrapping around the address space. */
int range_set_remap(RangeSet *s, uint64_t from, uint64_t to, uint64_t len);
/* Deep copy, for a forked child, charged to budget (may be NULL; coarsened past it). *ret must not
 * be initialised (it is overwritten on success). */
int range_set_copy(const RangeSet *s, StateBudget *budget, RangeSet *ret);
/* The part of [start, end) to remove so that removing it leaves at most max_ranges ranges: when
 * cutting [start, end) out of the middle of a range would make one range too many, the smaller of
 * the two remainders goes too (the other one keeps its state). Returns 1 when widened, else 0;
 * *ret_start and *ret_end are always set. max_ranges 0: no limit. */
int range_set_cut_bounds(const RangeSet *s, uint64_t start, uint64_t end, size_t max_ranges,
                         uint64_t *ret_start, uint64_t *ret_end);
/* The bytes the per-page state of all ranges costs. */
uint64_t range_set_state_bytes(const RangeSet *s);

/* Applies state = (state & ~clear_bits) | set_bits to every tracked page in [start, end); -EINVAL
 * when unaligned, -ENOMEM when a range has to store per-page state and cannot. */
int range_set_update(RangeSet *s, uint64_t start, uint64_t end, uint8_t clear_bits,
                     uint8_t set_bits);

uint64_t range_set_bytes(const RangeSet *s);
/* The range containing addr, or NULL. Binary search. */
TrackedRange *range_set_find(const RangeSet *s, uint64_t addr);

static inline uint64_t tracked_range_n_pages(const TrackedRange *r) {
        return (r->end - r->start) >> r->page_shift;
}
/* page_index counts from r->start. Out-of-range indexes read as 0. */
uint8_t tracked_range_get(const TrackedRange *r, uint64_t page_index);
/* The first page index after page_index (below limit, and at most limit) whose state differs
 * from page_index's, or limit; may stop short at a chunk boundary. */
uint64_t tracked_range_run_end(const TrackedRange *r, uint64_t page_index, uint64_t limit);
/* Sets the pages [first, last) to state. Gives the range chunks on the first divergence from
 * `uniform`: -ENOMEM or -ENOSPC (budget) then, and nothing changed. Once it has chunks it does not
 * fail: a chunk that cannot get bytes is coarsened. -EINVAL out of range. */
int tracked_range_fill(TrackedRange *r, uint64_t first, uint64_t last, uint8_t state);
int tracked_range_set(TrackedRange *r, uint64_t page_index, uint8_t state);
/* Gives the range chunks (all pages equal to `uniform`) if it has none yet: -ENOMEM, -ENOSPC
 * when the budget refuses. */
int tracked_range_materialize(TrackedRange *r);
/* Frees the chunks when every page is equal, and a chunk's bytes when its runs fit inline, so
 * long-idle ranges cost nothing per page. */
void tracked_range_compact(TrackedRange *r);
/* Every page of the range in one state, the budget's merge of all of them: what a range that
 * cannot have chunks keeps. Frees the chunks. */
void tracked_range_coarsen(TrackedRange *r);
/* The refault run containing addr, or NULL. */
const RefaultRun *tracked_range_find_refault(const TrackedRange *r, uint64_t addr);

/* A growable list of [start, end) runs: the eviction list, the runs due for re-arming. Appending
 * coalesces with the last run when they touch and have the same flags, so the list stays sorted
 * and minimal as long as callers append in address order. */
#define ADDR_RUN_HUGE (UINT32_C(1) << 0) /* whole transparent huge pages; cut only by 2 MiB */

typedef struct AddrRun {
        uint64_t start, end;
        uint32_t flags;
} AddrRun;

typedef struct RunVec {
        AddrRun *runs;
        size_t n_runs, allocated;
} RunVec;

/* -EINVAL when end <= start. */
int run_vec_append(RunVec *v, uint64_t start, uint64_t end, uint32_t flags);
/* Makes room for `extra` more runs, so the next `extra` appends or one cut cannot fail. */
int run_vec_reserve(RunVec *v, size_t extra);
/* Removes [start, end) from a sorted vector, splitting a run when needed (needs one free slot:
 * -ENOMEM, vector unchanged). Returns the number of bytes removed. */
int run_vec_cut(RunVec *v, uint64_t start, uint64_t end, uint64_t *ret_removed_bytes);
/* Index of the run containing addr in a sorted vector, or -ENOENT. */
ssize_t run_vec_find(const RunVec *v, uint64_t addr);
uint64_t run_vec_bytes(const RunVec *v);
void run_vec_clear(RunVec *v);
void run_vec_done(RunVec *v);
