/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "coldage.h"
#include "macro.h"

static uint64_t clamp_to_bounds(const ColdAgeBounds *b, uint64_t usec) {
        uint64_t i = MAX(b->interval_usec, UINT64_C(1));

        usec = MIN(MAX(usec, b->min_usec), b->max_usec);
        /* whole intervals, rounded down but never below the lower bound's */
        usec = MAX(usec / i, UINT64_C(1)) * i;
        if (usec < b->min_usec)
                usec += i;
        return usec;
}

uint64_t coldage_rate_ppm(uint64_t refaulted_bytes, uint64_t wss_bytes, uint64_t span_usec) {
        unsigned __int128 num, den;

        if (span_usec == 0)
                return 0;
        num = (unsigned __int128) refaulted_bytes * 1000000 * USEC_PER_MINUTE;
        den = (unsigned __int128) MAX(wss_bytes, UINT64_C(1)) * span_usec;
        num /= den;
        return num > UINT64_MAX ? UINT64_MAX : (uint64_t) num;
}

static void period_open(ColdAge *c, uint64_t now_usec) {
        c->period_start_usec = now_usec;
        c->period_cycles = 0;
        c->period_refaulted_bytes = 0;
        c->period_wss_bytes = 0;
}

void coldage_init(ColdAge *c, const ColdAgeBounds *b, uint64_t cold_age_usec, uint64_t now_usec) {
        *c = (ColdAge){
                .cold_age_usec = b->target_permyriad > 0 ? clamp_to_bounds(b, cold_age_usec)
                                                         : cold_age_usec,
        };
        period_open(c, now_usec);
}

int coldage_cycle(ColdAge *c, const ColdAgeBounds *b, uint64_t now_usec, uint64_t refaulted_bytes,
                  uint64_t wss_bytes) {
        uint64_t span, target_ppm, budget_ppm, next;
        unsigned period_cycles;
        bool over_budget;

        if (now_usec < c->period_start_usec) /* a clock that went back: start again */
                period_open(c, now_usec);
        c->period_cycles++;
        c->period_refaulted_bytes += refaulted_bytes;
        c->period_wss_bytes = MAX(c->period_wss_bytes, wss_bytes);
        if (b->target_permyriad == 0)
                return 0;

        span = now_usec - c->period_start_usec;
        target_ppm = (uint64_t) b->target_permyriad * 100;
        period_cycles = (unsigned) MAX(c->cold_age_usec / MAX(b->interval_usec, UINT64_C(1)),
                                       (uint64_t) COLDAGE_PERIOD_MIN_CYCLES);
        /* the refaults already exceed what a whole period may have (the budget of a period of
         * period_cycles intervals): no need to wait for its end */
        budget_ppm = coldage_rate_ppm(c->period_refaulted_bytes, c->period_wss_bytes,
                                      (uint64_t) period_cycles * b->interval_usec);
        over_budget = c->period_cycles >= 2 && budget_ppm > target_ppm;
        if (c->period_cycles < period_cycles && !over_budget)
                return 0;

        c->rate_ppm = coldage_rate_ppm(c->period_refaulted_bytes, c->period_wss_bytes,
                                       MAX(span, b->interval_usec));
        next = c->cold_age_usec;
        if (c->rate_ppm > target_ppm)
                next = c->cold_age_usec > UINT64_MAX / 2 ? UINT64_MAX : c->cold_age_usec * 2;
        else if (c->rate_ppm < target_ppm / 2)
                next = c->cold_age_usec - c->cold_age_usec / 4;
        next = clamp_to_bounds(b, next);
        period_open(c, now_usec);
        if (next == c->cold_age_usec)
                return 0;
        if (next > c->cold_age_usec)
                c->raised++;
        else
                c->lowered++;
        c->cold_age_usec = next;
        return 1;
}
