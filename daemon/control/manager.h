/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's owner of everything: the sd-event loop, the handoff socket and its connections,
 * the clients, the kernel backend chosen at start-up and the policy. Single-threaded. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "client.h"
#include "conf.h"
#include "evict.h"
#include "handoff.h"
#include "limit.h"
#include "list.h"
#include "pace.h"
#include "policy.h"
#include "probe.h"
#include "swap-setup.h"
#include "uffd.h"

/* Ownership: main -> Manager -> {Handoff (socket, connections), Client (one per handed-over
 * uffd) -> Tracker (the engine) -> pure modules}. Calls go down only; the Handoff and every
 * Client report upward through the hooks the Manager gives them (manager.c). A Client is
 * freed in exactly one place: manager.c's gc, which drains the queue its hooks fill. */

typedef struct PendingFork PendingFork;

/* The per-page state budget of one uid, shared by its clients (which hold a reference). */
typedef struct UidBudget {
        uid_t uid;
        unsigned refs;
        StateBudget budget; /* parent: Manager.state_total */
        struct UidBudget *next;
} UidBudget;

/* News for the Manager's second half (the bus): set with manager_set_hooks(), each may be NULL.
 * client_added/client_removed: the client was linked / unlinked (still valid during the call);
 * evicted: a batch of the client's memory was paged out; cycle_done: the Manager's tick, once
 * per default scan interval, for coalesced change notifications. */
typedef struct ManagerHooks {
        void (*client_added)(void *u, const Client *c);
        void (*client_removed)(void *u, const Client *c);
        void (*evicted)(void *u, const Client *c, uint64_t bytes);
        void (*cycle_done)(void *u);
} ManagerHooks;

/* Sums over the live clients; the cumulative ones include clients that are gone. */
typedef struct ManagerTotals {
        uint64_t tracked_bytes;
        uint64_t resident_bytes;
        uint64_t swapped_bytes; /* of the tracked ranges, in swap (by us or by the kernel) */
        uint64_t out_bytes; /* paged out by us and still in swap */
        uint64_t freed_bytes; /* of out_bytes, what really left RAM (see TrackerCounters) */
        uint64_t hot_bytes;
        uint64_t cold_bytes;
        uint64_t evicted_bytes;
        uint64_t refaulted_bytes;
        uint64_t faults_served;
        uint64_t wss_bytes[CLASSIFY_N_BUCKETS];
} ManagerTotals;

typedef struct Manager {
        sd_event *event;
        const KernelOps *kops;

        ProbeInput probe;
        ProbeResult probe_result;
        SwapSetup swap_setup; /* does a page-out free memory at once? manager_swap_setup() */
        uint64_t swap_setup_usec; /* when it was read */
        Backend backend;
        bool monitor_only; /* no swap, or --dry-run: classify, never evict */

        Handoff *handoff;

        Client *clients;
        unsigned n_clients;
        Client *gc_queue; /* gone clients, freed by gc_source after the loop turn */
        sd_event_source *gc_source;
        PendingFork *pending_forks; /* forked children's uffds waiting for their pid */
        UidBudget *uid_budgets;
        LoopProgress progress; /* for the watchdog */
        LoopProgress progress_fed; /* as of the last WATCHDOG=1 */
        sd_event_source *watchdog_timer;
        uint64_t forks_refused; /* FORK events dropped at the pending-fork caps */
        StateBudget state_total; /* every client's per-page state */
        uint64_t next_client_id;
        uint64_t fd_limit; /* RLIMIT_NOFILE in force, 0 = unknown */

        RateLimit evict_rate; /* all clients share the eviction bandwidth */
        Pace evict_pace; /* and its pace by cost and pressure */
        ClientEnv client_env; /* what every client and tracker share (points into here) */

        char *proc_root; /* "/proc", a field so tests can point elsewhere */
        char *cgroup_root; /* unified hierarchy mount */

        sd_event_source *stats_timer;

        /* totals over clients that are gone, so the daemon's figures don't drop */
        uint64_t gone_evicted_bytes;
        uint64_t gone_refaulted_bytes;
        uint64_t gone_faults_served;

        bool paused; /* no client evicts (trackers still classify) */
        const ManagerHooks *hooks;
        void *hooks_userdata;
        sd_event_source *tick_timer; /* drives hooks->cycle_done */

        /* The configuration (conf.h), command line on top. policy above is its default policy;
         * clients whose cgroup matches a policy.d file point into config->policies.rules. */
        Config *config;
        char *config_path; /* uffdtierd.conf; policy.d/ is next to it */
        bool config_required; /* --config given: a missing file is an error */
        ConfOverrides overrides; /* the command line, applied again at every reload */
} Manager;

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
/* Probe the kernel, choose the backend, open the socket. */
int manager_startup(Manager *m);
int manager_run(Manager *m);
/* Reads the configuration again, aside; swaps it in only when every file parsed (else the error,
 * "FILE:LINE: message", goes to ret_error and the old configuration stays), then gives every
 * client the policy of its cgroup again. SIGHUP calls it. */
int manager_reload(Manager *m, sd_bus_error *ret_error);
/* The kernel seam and backend every client gets (manager_startup calls it after the probe;
 * unit tests call it with a fake KernelOps). Before the first client only. */
void manager_set_backend(Manager *m, const KernelOps *kops, Backend backend, bool monitor_only);

/* Creates a client from a verified handoff (what HELLO does); ret_id: its id. Takes the fds. */
int manager_add_client(Manager *m, pid_t pid, uid_t uid, gid_t gid, bool user_mode_only,
                       const char *name, int uffd, int pidfd, int pagemap_fd,
                       sd_bus_error *ret_error, uint64_t *ret_id);
/* Stops the client and queues it to be freed after this loop turn. */
void manager_drop_client(Manager *m, Client *c);
/* A live client (not queued for freeing), or NULL. */
Client *manager_find_client(Manager *m, uint64_t id);
unsigned manager_count_clients_of_uid(Manager *m, uid_t uid);
/* The state budget of uid (NULL if none yet). */
const StateBudget *manager_uid_state_budget(const Manager *m, uid_t uid);
/* Frees the queued clients now (the gc source does this after each loop turn). */
void manager_gc(Manager *m);
/* Log a one-line summary of every client (what the D-Bus API will expose later). */
void manager_log_stats(Manager *m);

/* The second half's hooks (NULL: none). Clear them before freeing their userdata. */
int manager_set_hooks(Manager *m, const ManagerHooks *hooks, void *userdata);
/* Returns 1 when the state changed, 0 when it already was so. */
int manager_set_paused(Manager *m, bool paused);
/* Monitor only for any reason (no swap, --dry-run). */
bool manager_monitor_only(const Manager *m);
/* Why the daemon only monitors, "" when it evicts. */
const char *manager_monitor_only_reason(const Manager *m);
/* The swap set-up as of at most a second ago (zswap can be switched and swap added at any time). */
const SwapSetup *manager_swap_setup(Manager *m);
void manager_get_totals(const Manager *m, ManagerTotals *ret);
/* The default policy: what a client whose cgroup matches no policy.d file runs under. */
const Policy *manager_policy(const Manager *m);
/* Start the client's cycle now and evict up to max_bytes (0: all) of its cold pages.
 * ret_queued: bytes queued for eviction. */
int manager_evict_now(Manager *m, uint64_t id, uint64_t max_bytes, sd_bus_error *ret_error,
                      uint64_t *ret_queued);

static inline void manager_freep(Manager **m) {
        if (*m)
                manager_free(*m);
}
