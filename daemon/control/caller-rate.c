/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "caller-rate.h"
#include "macro.h"

void caller_rates_init(CallerRates *t, uint64_t per_sec, uint64_t burst, uint64_t total_per_sec,
                       uint64_t now_usec) {
        t->per_sec = per_sec;
        t->burst = burst;
        ratelimit_init(&t->all, total_per_sec, 0, now_usec);
}

static CallerRate *caller_rates_get(CallerRates *t, const char *key, uint64_t now_usec) {
        CallerRate *oldest = NULL, *e;

        for (size_t i = 0; i < t->n; i++) {
                e = &t->entries[i];
                if (strncmp(e->key, key, sizeof e->key) == 0)
                        return e;
                if (!oldest || e->last_usec < oldest->last_usec)
                        oldest = e;
        }
        e = t->n < CALLER_RATES_MAX ? &t->entries[t->n++] : oldest;
        *e = (CallerRate){};
        strncpy(e->key, key, sizeof e->key - 1);
        ratelimit_init(&e->rate, t->per_sec, t->burst, now_usec);
        return e;
}

bool caller_rates_take(CallerRates *t, const char *key, uint64_t now_usec) {
        CallerRate *e;

        if (t->per_sec > 0) {
                e = caller_rates_get(t, key ?: "", now_usec);
                e->last_usec = now_usec;
                if (ratelimit_take(&e->rate, now_usec, 1) < 1) {
                        t->refused++;
                        return false;
                }
        }
        if (t->all.rate_bytes_per_sec > 0 && ratelimit_take(&t->all, now_usec, 1) < 1) {
                t->refused++;
                return false;
        }
        return true;
}
