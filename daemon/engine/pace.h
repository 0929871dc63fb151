/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Pacing of eviction by what it costs and by pressure, in place of a fixed rate.
 *
 * Paging out runs in the daemon's one thread, a batch per event-loop turn; the wall time of a
 * batch is the CPU it burns (compressing into zswap, flushing TLBs) plus its waits for swap I/O.
 * The pace is a duty cycle: after a batch that took d µs the next may start d * (1 - duty) / duty
 * later, so eviction takes at most `duty` of one CPU, whichever client it is for. The duty
 * follows the pressure that eviction causes or meets: the share of wall time that tasks stalled
 * on memory (refaults of what was paged out, reclaim) or waited for a CPU (the "some" lines of
 * PSI), from the cumulative stall totals sampled every PACE_SAMPLE_USEC while evicting. Under
 * the target the duty doubles (from the floor to full speed in about half a second on an idle
 * machine); above it, it halves, down to a floor: slower, never stopped (the cycle's PSI limit
 * stops eviction, tracker.c).
 *
 * Pure: no I/O, no clock (the caller passes the time and the stall totals in). */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

#define PACE_SAMPLE_USEC (100 * USEC_PER_MSEC)
/* Idle this long past the time the pace set for the next batch, and the stall since is not
 * eviction's: the next sample starts afresh. */
#define PACE_SAMPLE_STALE_USEC (4 * PACE_SAMPLE_USEC)
#define PACE_DUTY_MAX_PERMYRIAD 10000U
/* The floor: 1/32 of a CPU; about 30 MiB/s at the ~1 GiB/s a batch reaches here into zswap. */
#define PACE_DUTY_MIN_PERMYRIAD 312U
/* The stall shares above which eviction slows. Memory: 1 % of wall time (a refault from zswap
 * costs ~10 µs, so 1 % is ~1000 refaults/s). CPU: 10 %, since a desktop or a shared build host
 * has some tasks waiting for a CPU now and then whatever eviction does; above that, a CPU taken
 * for paging out is taken from someone. */
#define PACE_TARGET_MEMORY_DEFAULT_PERMYRIAD 100U
#define PACE_TARGET_CPU_DEFAULT_PERMYRIAD 1000U

/* What a stall total is of. A source that cannot be read is passed as PACE_STALL_UNKNOWN. */
typedef enum PaceSource {
        PACE_SOURCE_MEMORY,
        PACE_SOURCE_CPU,
        _PACE_SOURCE_MAX,
} PaceSource;

#define PACE_STALL_UNKNOWN UINT64_MAX

typedef struct Pace {
        unsigned target_permyriad[_PACE_SOURCE_MAX]; /* stall share above which the duty falls;
                                                       * 10000: never */
        unsigned duty_permyriad; /* share of wall time eviction may take now */
        uint64_t next_usec; /* no batch starts before this */
        /* the sample under way */
        bool sampling;
        uint64_t sample_start_usec;
        uint64_t sample_stall_usec[_PACE_SOURCE_MAX];
        /* figures */
        unsigned pressure_permyriad[_PACE_SOURCE_MAX]; /* the last sample's stall shares */
        uint64_t busy_usec; /* time spent in batches, cumulative */
        uint64_t slowdowns; /* samples that halved the duty */
} Pace;

/* Starts at full speed (the sample corrects it within PACE_SAMPLE_USEC). */
void pace_init(Pace *p, unsigned memory_target_permyriad, unsigned cpu_target_permyriad);
/* Microseconds from now_usec until the next batch may start; 0 when it may now. */
uint64_t pace_delay_usec(const Pace *p, uint64_t now_usec);
/* A batch ran from start_usec for took_usec: when the next may start follows from the duty. */
void pace_batch_done(Pace *p, uint64_t start_usec, uint64_t took_usec);
/* Whether the caller should read the stall totals and pass them to pace_sample() now. */
bool pace_sample_due(const Pace *p, uint64_t now_usec);
/* Cumulative stall totals (µs, PSI "some") per source, PACE_STALL_UNKNOWN where unread. Opens a
 * sample, or closes the one under way and adapts the duty to its stall share. A sample that
 * spans a pause in eviction (PACE_SAMPLE_STALE_USEC past the pace's next start), or a total that
 * went backwards, only opens a new one. */
void pace_sample(Pace *p, uint64_t now_usec, const uint64_t stall_usec[_PACE_SOURCE_MAX]);
