/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Bounded work per event-loop turn: the arithmetic of cutting one client's cycle into slices.
 * A slice is a run of windows (a part of one tracked range, at most window_bytes long, ending on
 * a window_bytes boundary or at the range's end) done until a budget of pages or of time is
 * spent; the next turn resumes at an address, never at an index or a pointer, since the uffd
 * events served between two turns may split, move or drop the ranges (tracker.c).
 *
 * Pure: no I/O, no clock (the caller passes the time in), no globals. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rangeset.h"

typedef struct SliceBudget {
        uint64_t deadline_usec; /* CLOCK_MONOTONIC; UINT64_MAX: no time limit */
        uint64_t pages_left; /* UINT64_MAX: no page limit */
} SliceBudget;

/* A budget of usec from now_usec and of pages; 0 for either means unlimited. */
SliceBudget slice_budget_make(uint64_t now_usec, uint64_t usec, uint64_t pages);
/* Counts pages of work done (saturating). */
void slice_budget_take(SliceBudget *b, uint64_t pages);
/* True once the pages are used up or the deadline has passed: yield to the event loop. */
bool slice_budget_spent(const SliceBudget *b, uint64_t now_usec);

typedef struct SliceWindow {
        size_t index; /* of the range in the set, valid until the set changes */
        uint64_t start, end; /* [start, end) inside that range */
} SliceWindow;

/* The next window at or after cursor: in the first range that ends after cursor, from
 * max(cursor, its start) to the next multiple of window_bytes or its end, whichever comes first.
 * window_bytes: a power of two, at least the page size (-EINVAL otherwise). Returns 1 with
 * *ret set, 0 when no range ends after cursor (the walk is over). */
int slice_next_window(const RangeSet *s, uint64_t cursor, uint64_t window_bytes, SliceWindow *ret);

/* Takes at most max_bytes (rounded down to align, a power of two; at least one align unit) off
 * the front of v into *ret, cutting its first run at an align boundary when it is longer.
 * Returns 1 with *ret set, 0 when v is empty. For work queued as runs (ranges to arm). */
int slice_take_front(RunVec *v, uint64_t max_bytes, uint64_t align, AddrRun *ret);

/* The size of the next batch of work whose cost per unit is not known in advance (a page-out
 * waits for swap I/O): the last batch of size cur took took_usec; halved when that was more
 * than twice target_usec, grown by a quarter (at least by min) when it was under half of it,
 * else kept; always within [min, max] and a multiple of min (min > 0, a power of two). */
uint64_t slice_adapt(uint64_t cur, uint64_t took_usec, uint64_t target_usec, uint64_t min,
                     uint64_t max);
