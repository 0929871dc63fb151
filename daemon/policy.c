/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>

#include "macro.h"
#include "policy.h"

void policy_init(Policy *p) {
        *p = (Policy) {
                .interval_usec = POLICY_INTERVAL_DEFAULT_USEC,
                .cold_age_usec = POLICY_COLD_AGE_DEFAULT_USEC,
                .rate_bytes_per_sec = POLICY_RATE_DEFAULT_BYTES_PER_SEC,
                .floor_bytes = 0,
                .psi_limit_permyriad = POLICY_PSI_LIMIT_DEFAULT_PERMYRIAD,
                .evict_chunk_bytes = POLICY_EVICT_CHUNK_DEFAULT_BYTES,
                .rearm_period_cycles = 0,
                .dry_run = false,
        };
}

unsigned policy_cold_age_cycles(const Policy *p) {
        uint64_t c = p->interval_usec ? DIV_ROUND_UP(p->cold_age_usec, p->interval_usec) : 1;
        return (unsigned) MAX(c, 1ULL);
}

unsigned policy_rearm_period(const Policy *p) {
        if (p->rearm_period_cycles > 0)
                return p->rearm_period_cycles;
        /* A hot page has to be observed only once per cold-age window; re-arming it every
         * half window costs it one fault per half window and delays cold detection by at most
         * half a window. */
        return MAX(policy_cold_age_cycles(p) / 2, 1U);
}

int policy_validate(const Policy *p, sd_bus_error *ret_error) {
        if (p->interval_usec < 10 * USEC_PER_MSEC || p->interval_usec > USEC_PER_DAY)
                return sd_bus_error_set_errnof(ret_error, EINVAL, "scan interval must be between 10ms and 1d");
        if (p->cold_age_usec < p->interval_usec)
                return sd_bus_error_set_errnof(ret_error, EINVAL, "cold age must be at least one scan interval");
        if (policy_cold_age_cycles(p) > POLICY_COLD_AGE_MAX_CYCLES)
                return sd_bus_error_set_errnof(ret_error, EINVAL, "cold age must be at most %u scan intervals (is %u)",
                         POLICY_COLD_AGE_MAX_CYCLES, policy_cold_age_cycles(p));
        if (p->psi_limit_permyriad > 10000)
                return sd_bus_error_set_errnof(ret_error, EINVAL, "PSI limit must be at most 100%%");
        if (p->evict_chunk_bytes < 4096)
                return sd_bus_error_set_errnof(ret_error, EINVAL, "eviction chunk must be at least one page");
        if (p->rearm_period_cycles > POLICY_COLD_AGE_MAX_CYCLES)
                return sd_bus_error_set_errnof(ret_error, EINVAL, "re-arm period must be at most %u cycles",
                         POLICY_COLD_AGE_MAX_CYCLES);
        return 0;
}
