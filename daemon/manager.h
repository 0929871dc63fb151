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
#include "policy.h"
#include "probe.h"
#include "uffd.h"

/* Ownership: main -> Manager -> {Handoff (socket, connections), Client (one per handed-over
 * uffd) -> Tracker (the engine) -> pure modules}. Calls go down only; the Handoff and every
 * Client report upward through the hooks the Manager gives them (manager.c). A Client is
 * freed in exactly one place: manager.c's gc, which drains the queue its hooks fill. */

typedef struct PendingFork PendingFork;

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
        Handoff *handoff;

        Client *clients;
        unsigned n_clients;
        Client *gc_queue;       /* gone clients, freed by gc_source after the loop turn */
        sd_event_source *gc_source;
        PendingFork *pending_forks; /* forked children's uffds waiting for their pid */
        uint64_t next_client_id;

        RateLimit evict_rate;   /* all clients share the eviction bandwidth */
        ClientEnv client_env;   /* what every client and tracker share (points into here) */

        char *proc_root;        /* "/proc", a field so tests can point elsewhere */
        char *cgroup_root;      /* unified hierarchy mount */

        sd_event_source *stats_timer;
        uint64_t stats_interval_usec;

        /* totals over clients that are gone, so the daemon's figures don't drop */
        uint64_t gone_evicted_bytes;
        uint64_t gone_refaulted_bytes;
        uint64_t gone_faults_served;

        /* The configuration (conf.h), command line on top. policy above is its default policy;
         * clients whose cgroup matches a policy.d file point into config->policies.rules. */
        Config *config;
        char *config_path;      /* uffdtierd.conf; policy.d/ is next to it */
        bool config_required;   /* --config given: a missing file is an error */
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
int manager_add_client(Manager *m, pid_t pid, uid_t uid, bool user_mode_only, const char *name,
                       int uffd, int pidfd, int pagemap_fd, sd_bus_error *ret_error,
                       uint64_t *ret_id);
/* Stops the client and queues it to be freed after this loop turn. */
void manager_drop_client(Manager *m, Client *c);
/* A live client (not queued for freeing), or NULL. */
Client *manager_find_client(Manager *m, uint64_t id);
unsigned manager_count_clients_of_uid(Manager *m, uid_t uid);
/* Frees the queued clients now (the gc source does this after each loop turn). */
void manager_gc(Manager *m);
/* Log a one-line summary of every client (what the D-Bus API will expose later). */
void manager_log_stats(Manager *m);

static inline void manager_freep(Manager **m) {
        if (*m)
                manager_free(*m);
}
