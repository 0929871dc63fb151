/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The knobs of the tracking engine, in one struct. The [Policy] section of uffdtierd.conf (the
 * default policy) and each policy.d file (a per-cgroup policy, policy-match.h) fill this same
 * struct (conf.c); the command line overrides the default policy. Pure. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

typedef struct Policy {
        uint64_t interval_usec; /* one tracking cycle */
        uint64_t cold_age_usec; /* unaccessed this long -> cold (the start, when tuned) */
        /* Tune the cold age per client to at most this share of its working set refaulted per
         * minute (coldage.h); 0: the cold age is fixed. Between the bounds (0: one interval,
         * POLICY_COLD_AGE_MAX_CYCLES intervals). */
        unsigned refault_target_permyriad;
        uint64_t cold_age_min_usec;
        uint64_t cold_age_max_usec;
        uint64_t rate_bytes_per_sec; /* eviction rate limit per daemon, 0 = unlimited */
        uint64_t floor_bytes; /* never evict a client below this many resident bytes */
        unsigned psi_limit_permyriad; /* back off while the cgroup's memory "some avg10" is above */
        uint64_t evict_chunk_bytes; /* bytes per process_madvise batch between event-loop turns */
        unsigned rearm_period_cycles; /* re-arm each page every N cycles; 0 = cold age / 2 */
        unsigned arm_level_max; /* a chunk hot round after round: re-armed at most every
                                       * rearm period << this (arm-schedule.h); 0 = never adapt */
        bool dry_run; /* monitor only: classify, never evict */
        const char *name; /* NULL: the default policy */
} Policy;

#define POLICY_INTERVAL_DEFAULT_USEC (10ULL * 1000000ULL)
#define POLICY_COLD_AGE_DEFAULT_USEC (120ULL * 1000000ULL)
/* No fixed cap: eviction is paced by its cost and by pressure (pace.h); a rate caps it besides. */
#define POLICY_RATE_DEFAULT_BYTES_PER_SEC 0ULL
#define POLICY_PSI_LIMIT_DEFAULT_PERMYRIAD 1000U /* 10.00% */
#define POLICY_EVICT_CHUNK_DEFAULT_BYTES (4ULL << 20)
/* Page ages are kept in 7 bits (see classify.h): the cold age must fit. */
#define POLICY_COLD_AGE_MAX_CYCLES 126U

/* The scan interval's bounds: below 10 ms a cycle's scan and re-arm would be most of the time. */
#define POLICY_INTERVAL_MIN_USEC (10ULL * 1000ULL)
#define POLICY_INTERVAL_MAX_USEC (24ULL * 3600ULL * 1000000ULL)

void policy_init(Policy *p);
/* Cold age in whole cycles (rounded up, at least 1; UINT_MAX when it does not fit, and 1 for a
 * zero interval, which policy_validate() refuses). */
unsigned policy_cold_age_cycles(const Policy *p);
/* rearm_period_cycles, or when 0 the default: half the cold age in cycles, at least 1. */
unsigned policy_rearm_period(const Policy *p);
/* The same for a cold age in force other than the policy's (a tuned one, coldage.h); an explicit
 * rearm_period_cycles is capped at its cycles. */
unsigned policy_rearm_period_for(const Policy *p, unsigned cold_age_cycles);
/* The bounds the cold age is tuned within (coldage.h), their defaults filled in. */
void policy_cold_age_bounds(const Policy *p, uint64_t *ret_min_usec, uint64_t *ret_max_usec);
uint64_t policy_cold_age_min_usec(const Policy *p);
uint64_t policy_cold_age_max_usec(const Policy *p);
/* 0 if consistent, else -EINVAL with ret_error (may be NULL) set to a message naming the option
 * (interval, cold-age, cold-age-min, cold-age-max, refault-target, psi-limit, evict-chunk,
 * rearm-period) and its value. */
int policy_validate(const Policy *p, sd_bus_error *ret_error);
