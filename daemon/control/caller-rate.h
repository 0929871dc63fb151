/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Calls per caller and per second: a token bucket for each of the most recent callers (a bus
 * peer by its unique name) and one for all of them together, so that neither one caller nor a
 * crowd of them can keep the event loop from the scans, evictions and TRACKs below it. The
 * table is bounded: the caller seen least recently gives up its entry (it starts full again,
 * which the shared bucket bounds). Pure: no I/O, no clock (the caller passes the time). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ratelimit.h"

#define CALLER_RATE_KEY_MAX 64
#define CALLER_RATES_MAX 128

typedef struct CallerRate {
        char key[CALLER_RATE_KEY_MAX];
        uint64_t last_usec; /* last call: for the replacement */
        RateLimit rate;
} CallerRate;

typedef struct CallerRates {
        CallerRate entries[CALLER_RATES_MAX];
        size_t n;
        RateLimit all;
        uint64_t per_sec, burst; /* per caller; 0 per_sec: unlimited */
        uint64_t refused;
} CallerRates;

/* per_sec 0: unlimited; burst 0: one second's worth; total_per_sec for all callers together
 * (0: unlimited). Keeps the entries; a change of rate applies to entries made afterwards. */
void caller_rates_init(CallerRates *t, uint64_t per_sec, uint64_t burst, uint64_t total_per_sec,
                       uint64_t now_usec);
/* One call of key at now_usec: true when it may go ahead (a token taken from the caller's
 * bucket and from the shared one), false when either is empty (counted in refused). */
bool caller_rates_take(CallerRates *t, const char *key, uint64_t now_usec);
