/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "pace.h"

void pace_init(Pace *p, unsigned memory_target_permyriad, unsigned cpu_target_permyriad) {
        *p = (Pace){
                .target_permyriad[PACE_SOURCE_MEMORY] = MIN(memory_target_permyriad, 10000U),
                .target_permyriad[PACE_SOURCE_CPU] = MIN(cpu_target_permyriad, 10000U),
                .duty_permyriad = PACE_DUTY_MAX_PERMYRIAD,
        };
}

uint64_t pace_delay_usec(const Pace *p, uint64_t now_usec) {
        return p->next_usec > now_usec ? p->next_usec - now_usec : 0;
}

void pace_batch_done(Pace *p, uint64_t start_usec, uint64_t took_usec) {
        unsigned d = MAX(p->duty_permyriad, 1U);
        uint64_t end = start_usec + took_usec, rest;

        /* took * (10000 - d) / d, saturating: a batch of hours at the floor is not a concern,
         * but a wrapped delay would be a batch at once */
        if (__builtin_mul_overflow(took_usec, (uint64_t) (10000U - MIN(d, 10000U)), &rest))
                rest = UINT64_MAX;
        rest /= d;
        p->next_usec = end > UINT64_MAX - rest ? UINT64_MAX : end + rest;
        p->busy_usec += took_usec;
}

bool pace_sample_due(const Pace *p, uint64_t now_usec) {
        return !p->sampling || now_usec < p->sample_start_usec ||
                now_usec - p->sample_start_usec >= PACE_SAMPLE_USEC;
}

static void sample_open(Pace *p, uint64_t now_usec, const uint64_t stall_usec[_PACE_SOURCE_MAX]) {
        p->sampling = true;
        p->sample_start_usec = now_usec;
        memcpy(p->sample_stall_usec, stall_usec, sizeof p->sample_stall_usec);
}

void pace_sample(Pace *p, uint64_t now_usec, const uint64_t stall_usec[_PACE_SOURCE_MAX]) {
        unsigned share[_PACE_SOURCE_MAX] = {};
        uint64_t elapsed;
        bool known = false, over = false;

        /* Not sampling, the clock went back, or eviction paused longer than its pace asked (the
         * stall of an idle spell is not eviction's doing): start afresh. */
        if (!p->sampling || now_usec <= p->sample_start_usec ||
            (now_usec > p->next_usec && now_usec - p->next_usec > PACE_SAMPLE_STALE_USEC)) {
                sample_open(p, now_usec, stall_usec);
                return;
        }
        elapsed = now_usec - p->sample_start_usec;
        for (unsigned i = 0; i < _PACE_SOURCE_MAX; i++) {
                uint64_t a = p->sample_stall_usec[i], b = stall_usec[i];

                if (a == PACE_STALL_UNKNOWN || b == PACE_STALL_UNKNOWN)
                        continue;
                if (b < a) { /* a total that went back: a different file, or a wrapped one */
                        sample_open(p, now_usec, stall_usec);
                        return;
                }
                /* (b - a) can exceed elapsed: the kernel's totals are per-CPU sums, and PSI
                 * counts a stall from its start; capped at 100 % */
                share[i] = (unsigned) (MIN(b - a, elapsed) * 10000 / elapsed);
                over = over || share[i] > p->target_permyriad[i];
                known = true;
        }
        sample_open(p, now_usec, stall_usec);
        if (!known)
                return; /* no pressure figures at all: the duty stays as it is */
        memcpy(p->pressure_permyriad, share, sizeof share);
        if (over) {
                p->duty_permyriad = MAX(p->duty_permyriad / 2, PACE_DUTY_MIN_PERMYRIAD);
                p->slowdowns++;
        } else
                p->duty_permyriad = MIN(p->duty_permyriad * 2, PACE_DUTY_MAX_PERMYRIAD);
}
