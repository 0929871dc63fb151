/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Adaptive re-arming. Arming a page costs the client a fault the next time it touches it
 * (about 17 µs on a VM whose hypervisor makes faults dear), so a chunk that is wholly hot round
 * after round is re-armed less and less often: each 2 MiB chunk has a level L (0 by default), and
 * is due every rearm_period << L cycles instead of every rearm_period (classify_due_runs() is the
 * L = 0 schedule; the phase stays (cycle + chunk) % rearm_period, so the cost stays spread).
 * When a due chunk is armed and every page of it (within the range) was seen since its last
 * arming, its level goes up by one, to at most max_level; any page not seen puts it back to 0.
 *
 * The price is detection time, bounded and documented: "seen" stays set from the first access
 * until the page is re-armed, so a page in a chunk at level L that goes idle is found cold at
 * most cold_age + (rearm_period << L) cycles after its last access (cold_age + rearm_period at
 * level 0), and the chunk drops to level 0 at that arming. With the defaults (10 s interval,
 * 120 s cold age, re-arm period 6, max level 3) a steady hot set faults once per 8 minutes
 * instead of once a minute, and a page that goes cold is evicted within 10 minutes of its last
 * access instead of 3.
 *
 * Pure: levels are kept per chunk index (addr >> CLASSIFY_CHUNK_SHIFT) in a sorted vector that
 * holds only chunks above level 0. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rangeset.h"

#define ARM_LEVEL_MAX_DEFAULT 3U
#define ARM_LEVEL_MAX_LIMIT 6U

typedef struct ArmLevel {
        uint64_t chunk;
        uint8_t level;
} ArmLevel;

typedef struct ArmLevels {
        ArmLevel *v;
        size_t n, allocated;
} ArmLevels;

void arm_levels_done(ArmLevels *l);
unsigned arm_levels_get(const ArmLevels *l, uint64_t chunk);
/* Drops the levels of the chunks that meet [start, end) (unmapped, remapped, untracked). */
void arm_levels_forget(ArmLevels *l, uint64_t start, uint64_t end);

/* Appends to *due the parts of r that are due for arming in this cycle, as classify_due_runs()
 * with each chunk's level applied. -EINVAL for rearm_period 0, -ENOMEM. */
int arm_schedule_due(const ArmLevels *l, const TrackedRange *r, uint64_t cycle,
                     unsigned rearm_period, RunVec *due);

/* After the runs in due (those of r) were armed: raise the level of each chunk all of whose
 * pages in r have age 0 (seen since the last arming), up to max_level, and reset the others.
 * -ENOMEM leaves the levels as they were for the chunks not yet done (they just stay armed
 * more often). */
int arm_schedule_update(ArmLevels *l, const TrackedRange *r, const RunVec *due, unsigned max_level);
