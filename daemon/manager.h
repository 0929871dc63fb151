/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's owner of everything: the sd-event loop, the handoff socket and its connections,
 * the clients, the kernel backend chosen at start-up and the policy. Single-threaded. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "evict.h"
#include "list.h"
#include "policy.h"
#include "probe.h"
#include "uffd.h"

typedef struct Client Client;
typedef struct Conn Conn;
typedef struct PendingFork PendingFork;

/* Everything a client controls is bounded. Refusals name the limit. */
typedef struct Limits {
        unsigned clients_per_uid;
        unsigned ranges_per_client;
        uint64_t bytes_per_client;
        unsigned connections_per_sec;  /* per uid, token bucket */
        unsigned connections_burst;
        unsigned connections_total;    /* open handoff connections, all uids */
} Limits;

#define LIMIT_CLIENTS_PER_UID_DEFAULT 64U
#define LIMIT_RANGES_PER_CLIENT_DEFAULT 1024U
#define LIMIT_BYTES_PER_CLIENT_DEFAULT (1ULL << 40)
#define LIMIT_CONNECTIONS_PER_SEC_DEFAULT 200U
#define LIMIT_CONNECTIONS_BURST_DEFAULT 2000U
#define LIMIT_CONNECTIONS_TOTAL_DEFAULT 1024U

typedef struct UidRate {
        uid_t uid;
        RateLimit rate;
} UidRate;

typedef struct Manager {
        sd_event *event;
        const KernelOps *kops;

        ProbeInput probe;
        ProbeResult probe_result;
        Backend backend;
        bool monitor_only;      /* no swap, or --dry-run: classify, never evict */

        Policy policy;
        Limits limits;

        char *socket_path;
        int listen_fd;
        bool listen_fd_from_systemd;
        sd_event_source *listen_source;

        Conn *conns;
        unsigned n_conns;
        Client *clients;
        unsigned n_clients;
        PendingFork *pending_forks; /* forked children's uffds waiting for their pid (client.c) */
        uint64_t next_client_id;

        UidRate *uid_rates;
        size_t n_uid_rates;

        RateLimit evict_rate;   /* all clients share the eviction bandwidth */

        char *proc_root;        /* "/proc", a field so tests can point elsewhere */
        char *cgroup_root;      /* unified hierarchy mount */

        sd_event_source *stats_timer;
        uint64_t stats_interval_usec;

        /* totals over clients that are gone, so the daemon's figures don't drop */
        uint64_t gone_evicted_bytes;
        uint64_t gone_refaulted_bytes;
        uint64_t gone_faults_served;
} Manager;

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
/* Probe the kernel, choose the backend, open the socket. */
int manager_startup(Manager *m);
int manager_run(Manager *m);

void manager_add_client(Manager *m, Client *c);
void manager_remove_client(Manager *m, Client *c);
Client *manager_find_client(Manager *m, uint64_t id);
unsigned manager_count_clients_of_uid(Manager *m, uid_t uid);
/* Log a one-line summary of every client (what the D-Bus API will expose later). */
void manager_log_stats(Manager *m);

static inline void manager_freep(Manager **m) {
        if (*m)
                manager_free(*m);
}
