/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Everything a client or a uid controls is bounded; refusals name the limit. Owned by the
 * Manager, read by the handoff socket (connections) and by each Client (ranges, bytes). */

#include <stdbool.h>
#include <stdint.h>

typedef struct Limits {
        unsigned clients_per_uid;
        unsigned ranges_per_client;
        uint64_t bytes_per_client;
        unsigned connections_per_sec; /* per uid, token bucket */
        unsigned connections_burst;
        unsigned connections_total; /* open handoff connections, all uids */
        unsigned protocol_errors_max; /* malformed requests on one connection before it is closed */
        unsigned clients_total; /* clients of all uids (a user with subordinate uids has several
                                 * uids' worth of clients_per_uid); the last few for root */
        uint64_t state_bytes_per_uid; /* the daemon's memory for per-page state (rangeset.h) */
        uint64_t state_bytes_total;
        uint64_t sync_window_max_usec; /* rwp: the longest a sync window stays open */
        unsigned forks_pending_per_client; /* FORK events waiting for their child */
        unsigned forks_pending_per_uid;
        unsigned requests_per_sec; /* handoff requests per uid, token bucket; 0: unlimited */
        unsigned requests_burst;
        unsigned bus_calls_per_sec; /* D-Bus method calls per peer, token bucket */
        unsigned bus_calls_burst;
        unsigned bus_calls_total_per_sec; /* all peers together */
} Limits;

#define LIMIT_CLIENTS_PER_UID_DEFAULT 64U
#define LIMIT_RANGES_PER_CLIENT_DEFAULT 1024U
#define LIMIT_BYTES_PER_CLIENT_DEFAULT (1ULL << 40)
#define LIMIT_CONNECTIONS_PER_SEC_DEFAULT 200U
#define LIMIT_CONNECTIONS_BURST_DEFAULT 2000U
#define LIMIT_CONNECTIONS_TOTAL_DEFAULT 1024U
#define LIMIT_PROTOCOL_ERRORS_MAX_DEFAULT 16U
#define LIMIT_CLIENTS_TOTAL_DEFAULT 1024U
/* Of clients_total (and connections_total), kept for root. */
#define LIMIT_ROOT_RESERVE 16U

/* Whether one more client of uid fits under clients_total (n: the clients now). */
static inline bool limits_client_total_ok(const Limits *l, unsigned n, unsigned uid) {
        unsigned reserve = l->clients_total > LIMIT_ROOT_RESERVE ? LIMIT_ROOT_RESERVE : 0;
        return n < (uid == 0 ? l->clients_total : l->clients_total - reserve);
}
/* Per-page state costs 8 bytes per 2 MiB tracked where pages differ, plus 512 bytes per 2 MiB
 * where they differ a lot: 64 MiB covers 16 TiB of varied memory, or 256 GiB of pages all in
 * different states. The total stays well under the unit's MemoryMax=. */
#define LIMIT_STATE_BYTES_PER_UID_DEFAULT (64ULL << 20)
#define LIMIT_STATE_BYTES_TOTAL_DEFAULT (256ULL << 20)
/* A window normally lasts a scan and the eviction of what it found cold (tens of ms); while it
 * is open every first access of a tracked page waits for the daemon. */
#define LIMIT_SYNC_WINDOW_MAX_DEFAULT_USEC (2ULL * 1000000ULL)
/* Each pending fork holds a descriptor and a timer that searches /proc for the child every 5 ms
 * for up to 2 s. A program that forks in a loop has rarely more than a few children unresolved. */
#define LIMIT_FORKS_PENDING_PER_CLIENT_DEFAULT 16U
#define LIMIT_FORKS_PENDING_PER_UID_DEFAULT 64U
/* Requests and bus calls run above the scans, evictions and TRACK work: a STATUS costs ~20 us,
 * a bus call up to ~100 us, so these keep a flood under a tenth of the loop. A client asks a
 * handful per second; uffdtierctl a few per command. A handoff request over the rate waits
 * (its connection is not read until a token is there); a bus call over it is refused. */
#define LIMIT_REQUESTS_PER_SEC_DEFAULT 500U
#define LIMIT_REQUESTS_BURST_DEFAULT 1000U
#define LIMIT_BUS_CALLS_PER_SEC_DEFAULT 100U
#define LIMIT_BUS_CALLS_BURST_DEFAULT 200U
#define LIMIT_BUS_CALLS_TOTAL_PER_SEC_DEFAULT 1000U

static inline Limits limits_default(void) {
        return (Limits){
                .clients_per_uid = LIMIT_CLIENTS_PER_UID_DEFAULT,
                .ranges_per_client = LIMIT_RANGES_PER_CLIENT_DEFAULT,
                .bytes_per_client = LIMIT_BYTES_PER_CLIENT_DEFAULT,
                .connections_per_sec = LIMIT_CONNECTIONS_PER_SEC_DEFAULT,
                .connections_burst = LIMIT_CONNECTIONS_BURST_DEFAULT,
                .connections_total = LIMIT_CONNECTIONS_TOTAL_DEFAULT,
                .protocol_errors_max = LIMIT_PROTOCOL_ERRORS_MAX_DEFAULT,
                .clients_total = LIMIT_CLIENTS_TOTAL_DEFAULT,
                .state_bytes_per_uid = LIMIT_STATE_BYTES_PER_UID_DEFAULT,
                .state_bytes_total = LIMIT_STATE_BYTES_TOTAL_DEFAULT,
                .sync_window_max_usec = LIMIT_SYNC_WINDOW_MAX_DEFAULT_USEC,
                .forks_pending_per_client = LIMIT_FORKS_PENDING_PER_CLIENT_DEFAULT,
                .forks_pending_per_uid = LIMIT_FORKS_PENDING_PER_UID_DEFAULT,
                .requests_per_sec = LIMIT_REQUESTS_PER_SEC_DEFAULT,
                .requests_burst = LIMIT_REQUESTS_BURST_DEFAULT,
                .bus_calls_per_sec = LIMIT_BUS_CALLS_PER_SEC_DEFAULT,
                .bus_calls_burst = LIMIT_BUS_CALLS_BURST_DEFAULT,
                .bus_calls_total_per_sec = LIMIT_BUS_CALLS_TOTAL_PER_SEC_DEFAULT,
        };
}
