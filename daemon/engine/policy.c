/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>

#include "arm-schedule.h"
#include "classify.h"
#include "macro.h"
#include "parse.h"
#include "policy.h"

void policy_init(Policy *p) {
        *p = (Policy){
                .interval_usec = POLICY_INTERVAL_DEFAULT_USEC,
                .cold_age_usec = POLICY_COLD_AGE_DEFAULT_USEC,
                .rate_bytes_per_sec = POLICY_RATE_DEFAULT_BYTES_PER_SEC,
                .floor_bytes = 0,
                .psi_limit_permyriad = POLICY_PSI_LIMIT_DEFAULT_PERMYRIAD,
                .evict_chunk_bytes = POLICY_EVICT_CHUNK_DEFAULT_BYTES,
                .rearm_period_cycles = 0,
                .arm_level_max = ARM_LEVEL_MAX_DEFAULT,
                .dry_run = false,
        };
}

/* In 64 bits and without DIV_ROUND_UP's x + y - 1, which wraps for a cold age near UINT64_MAX
 * ("infinity"); the caller saturates. */
static uint64_t cold_age_cycles_u64(const Policy *p) {
        if (p->interval_usec == 0)
                return 1;
        uint64_t c = p->cold_age_usec / p->interval_usec +
                (p->cold_age_usec % p->interval_usec != 0);
        return MAX(c, UINT64_C(1));
}

unsigned policy_cold_age_cycles(const Policy *p) {
        /* saturate: a plain cast would turn 2^32 + 1 cycles into 1 and pass the limit check */
        return (unsigned) MIN(cold_age_cycles_u64(p), (uint64_t) UINT_MAX);
}

unsigned policy_rearm_period_for(const Policy *p, unsigned cold_age_cycles) {
        if (p->rearm_period_cycles > 0)
                return MIN(p->rearm_period_cycles, MAX(cold_age_cycles, 1U));
        return classify_rearm_period_default(cold_age_cycles);
}

uint64_t policy_cold_age_min_usec(const Policy *p) {
        return p->cold_age_min_usec > 0 ? p->cold_age_min_usec : p->interval_usec;
}

uint64_t policy_cold_age_max_usec(const Policy *p) {
        uint64_t top = p->interval_usec * POLICY_COLD_AGE_MAX_CYCLES;

        return p->cold_age_max_usec > 0 ? MIN(p->cold_age_max_usec, top) : top;
}

void policy_cold_age_bounds(const Policy *p, uint64_t *ret_min_usec, uint64_t *ret_max_usec) {
        *ret_min_usec = policy_cold_age_min_usec(p);
        *ret_max_usec = policy_cold_age_max_usec(p);
}

unsigned policy_rearm_period(const Policy *p) {
        if (p->rearm_period_cycles > 0)
                return p->rearm_period_cycles;
        /* A hot page has to be observed only once per cold-age window; re-arming it every
         * half window costs it one fault per half window and delays cold detection by at most
         * half a window. */
        return classify_rearm_period_default(policy_cold_age_cycles(p));
}

int policy_validate(const Policy *p, sd_bus_error *ret_error) {
        char a[FORMAT_DURATION_MAX], b[FORMAT_DURATION_MAX];

        if (p->interval_usec < POLICY_INTERVAL_MIN_USEC ||
            p->interval_usec > POLICY_INTERVAL_MAX_USEC)
                return sd_bus_error_set_errnof(ret_error, EINVAL,
                                               "interval=%s: must be between 10ms and 1d",
                                               format_duration(a, sizeof a, p->interval_usec));
        if (p->cold_age_usec < p->interval_usec)
                return sd_bus_error_set_errnof(ret_error, EINVAL,
                                               "cold-age=%s: must be at least one interval (%s)",
                                               format_duration(a, sizeof a, p->cold_age_usec),
                                               format_duration(b, sizeof b, p->interval_usec));
        /* page ages are kept in 7 bits (classify.h): the cold age must fit */
        uint64_t cycles = cold_age_cycles_u64(p);
        if (cycles > POLICY_COLD_AGE_MAX_CYCLES)
                return sd_bus_error_set_errnof(
                        ret_error, EINVAL,
                        "cold-age=%s: must be at most %u intervals of %s "
                        "(is %" PRIu64 ")",
                        format_duration(a, sizeof a, p->cold_age_usec), POLICY_COLD_AGE_MAX_CYCLES,
                        format_duration(b, sizeof b, p->interval_usec), cycles);
        if (p->refault_target_permyriad > 10000)
                return sd_bus_error_set_errnof(
                        ret_error, EINVAL, "refault-target=%u.%02u%%: must be at most 100%%",
                        p->refault_target_permyriad / 100, p->refault_target_permyriad % 100);
        if (p->cold_age_min_usec > 0 && p->cold_age_min_usec < p->interval_usec)
                return sd_bus_error_set_errnof(
                        ret_error, EINVAL, "cold-age-min=%s: must be at least one interval (%s)",
                        format_duration(a, sizeof a, p->cold_age_min_usec),
                        format_duration(b, sizeof b, p->interval_usec));
        if (p->cold_age_max_usec > 0 &&
            p->cold_age_max_usec / p->interval_usec > POLICY_COLD_AGE_MAX_CYCLES)
                return sd_bus_error_set_errnof(
                        ret_error, EINVAL, "cold-age-max=%s: must be at most %u intervals of %s",
                        format_duration(a, sizeof a, p->cold_age_max_usec),
                        POLICY_COLD_AGE_MAX_CYCLES, format_duration(b, sizeof b, p->interval_usec));
        if (p->cold_age_min_usec > 0 && p->cold_age_max_usec > 0 &&
            p->cold_age_min_usec > p->cold_age_max_usec)
                return sd_bus_error_set_errnof(ret_error, EINVAL,
                                               "cold-age-min=%s: must be at most cold-age-max (%s)",
                                               format_duration(a, sizeof a, p->cold_age_min_usec),
                                               format_duration(b, sizeof b, p->cold_age_max_usec));
        if (p->psi_limit_permyriad > 10000)
                return sd_bus_error_set_errnof(
                        ret_error, EINVAL, "psi-limit=%u.%02u%%: must be at most 100%%",
                        p->psi_limit_permyriad / 100, p->psi_limit_permyriad % 100);
        /* the engine pages out whole pages per batch: a remainder would be silently dropped */
        if (p->evict_chunk_bytes == 0 || p->evict_chunk_bytes % page_size() != 0)
                return sd_bus_error_set_errnof(ret_error, EINVAL,
                                               "evict-chunk=%" PRIu64 ": must be a non-zero "
                                               "multiple of the page size (%zu bytes)",
                                               p->evict_chunk_bytes, page_size());
        /* A page stays "seen" until it is re-armed, so it is found cold up to rearm-period cycles
         * late (classify.h); a period longer than the cold age more than doubles that. */
        if (p->rearm_period_cycles > cycles)
                return sd_bus_error_set_errnof(ret_error, EINVAL,
                                               "rearm-period=%u: must be at most the cold age in "
                                               "cycles (%" PRIu64 ")",
                                               p->rearm_period_cycles, cycles);
        if (p->arm_level_max > ARM_LEVEL_MAX_LIMIT)
                return sd_bus_error_set_errnof(ret_error, EINVAL,
                                               "arm-level-max=%u: must be at most %u",
                                               p->arm_level_max, ARM_LEVEL_MAX_LIMIT);
        return 0;
}
