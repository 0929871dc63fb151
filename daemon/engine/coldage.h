/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A cold age tuned per client to a refault target, as the far-memory service level of Google's
 * "Software-Defined Far Memory in Warehouse-Scale Computers" (ASPLOS 2019): at most a given share
 * of the working set promoted back from far memory per minute (0.2 % there). A refault is an
 * evicted page found resident or accessed again (classify.h); the working set is what stays
 * resident, i.e. what was accessed within the current cold age.
 *
 * The controller measures over a period of one cold age (at least COLDAGE_PERIOD_MIN_CYCLES
 * cycles), then doubles the cold age when the period's rate was over the target (refaults cost
 * the workload: back off fast), or takes a quarter off it when the rate was under half the target
 * (more can go), never beyond the bounds; the cold age is kept in whole scan intervals. A period
 * already over its whole budget ends early, so a changed hot set is answered within cycles.
 *
 * Pure: no I/O, no clock (the caller passes the time in). */

#include <stdbool.h>
#include <stdint.h>

#define COLDAGE_PERIOD_MIN_CYCLES 4U
#define COLDAGE_TARGET_DEFAULT_PERMYRIAD 20U /* 0.2 % of the working set per minute */

typedef struct ColdAgeBounds {
        unsigned target_permyriad; /* refaults per minute, of the working set; 0: fixed */
        uint64_t interval_usec; /* one scan cycle: the cold age's unit */
        uint64_t min_usec, max_usec; /* already within [interval, 126 intervals] */
} ColdAgeBounds;

typedef struct ColdAge {
        uint64_t cold_age_usec; /* in force */
        uint64_t period_start_usec;
        unsigned period_cycles;
        uint64_t period_refaulted_bytes;
        uint64_t period_wss_bytes; /* the largest working set seen in the period */
        uint64_t rate_ppm; /* the last period's refault rate: per million of the working set per
                            * minute (2000 = 0.2 %) */
        uint64_t raised, lowered; /* adjustments so far */
} ColdAge;

/* Starts at cold_age_usec (the policy's ColdAge), clamped into the bounds. */
void coldage_init(ColdAge *c, const ColdAgeBounds *b, uint64_t cold_age_usec, uint64_t now_usec);
/* A cycle ended at now_usec having found refaulted_bytes of refaults; the working set is
 * wss_bytes. Returns 1 when the cold age changed, 0 when not (and always 0 with a target of 0:
 * the cold age stays what coldage_init() set). */
int coldage_cycle(ColdAge *c, const ColdAgeBounds *b, uint64_t now_usec, uint64_t refaulted_bytes,
                  uint64_t wss_bytes);
/* Refault rate over a span: per million of wss_bytes per minute (saturating; 0 for an empty
 * span; a working set under one byte counts as one). */
uint64_t coldage_rate_ppm(uint64_t refaulted_bytes, uint64_t wss_bytes, uint64_t span_usec);
