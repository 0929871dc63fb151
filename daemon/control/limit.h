/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Everything a client or a uid controls is bounded; refusals name the limit. Owned by the
 * Manager, read by the handoff socket (connections) and by each Client (ranges, bytes). */

#include <stdint.h>

typedef struct Limits {
        unsigned clients_per_uid;
        unsigned ranges_per_client;
        uint64_t bytes_per_client;
        unsigned connections_per_sec; /* per uid, token bucket */
        unsigned connections_burst;
        unsigned connections_total; /* open handoff connections, all uids */
        unsigned protocol_errors_max; /* malformed requests on one connection before it is closed */
} Limits;

#define LIMIT_CLIENTS_PER_UID_DEFAULT 64U
#define LIMIT_RANGES_PER_CLIENT_DEFAULT 1024U
#define LIMIT_BYTES_PER_CLIENT_DEFAULT (1ULL << 40)
#define LIMIT_CONNECTIONS_PER_SEC_DEFAULT 200U
#define LIMIT_CONNECTIONS_BURST_DEFAULT 2000U
#define LIMIT_CONNECTIONS_TOTAL_DEFAULT 1024U
#define LIMIT_PROTOCOL_ERRORS_MAX_DEFAULT 16U

static inline Limits limits_default(void) {
        return (Limits){
                .clients_per_uid = LIMIT_CLIENTS_PER_UID_DEFAULT,
                .ranges_per_client = LIMIT_RANGES_PER_CLIENT_DEFAULT,
                .bytes_per_client = LIMIT_BYTES_PER_CLIENT_DEFAULT,
                .connections_per_sec = LIMIT_CONNECTIONS_PER_SEC_DEFAULT,
                .connections_burst = LIMIT_CONNECTIONS_BURST_DEFAULT,
                .connections_total = LIMIT_CONNECTIONS_TOTAL_DEFAULT,
                .protocol_errors_max = LIMIT_PROTOCOL_ERRORS_MAX_DEFAULT,
        };
}
