/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <systemd/sd-daemon.h>

#include "client.h"
#include "config.h"
#include "handoff.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "parse.h"

#define MANAGER_STATS_INTERVAL_DEFAULT_USEC (60ULL * USEC_PER_SEC)

int manager_new(Manager **ret) {
        Manager *m = calloc(1, sizeof *m);
        int r;

        if (!m)
                return -ENOMEM;
        m->listen_fd = -EBADF;
        m->kops = &kernel_ops_real;
        policy_init(&m->policy);
        m->limits = (Limits) {
                .clients_per_uid = LIMIT_CLIENTS_PER_UID_DEFAULT,
                .ranges_per_client = LIMIT_RANGES_PER_CLIENT_DEFAULT,
                .bytes_per_client = LIMIT_BYTES_PER_CLIENT_DEFAULT,
                .connections_per_sec = LIMIT_CONNECTIONS_PER_SEC_DEFAULT,
                .connections_burst = LIMIT_CONNECTIONS_BURST_DEFAULT,
                .connections_total = LIMIT_CONNECTIONS_TOTAL_DEFAULT,
        };
        m->stats_interval_usec = MANAGER_STATS_INTERVAL_DEFAULT_USEC;
        m->socket_path = strdup(UFFDTIER_SOCKET_DEFAULT);
        m->proc_root = strdup("/proc");
        m->cgroup_root = strdup("/sys/fs/cgroup");
        if (!m->socket_path || !m->proc_root || !m->cgroup_root) {
                manager_free(m);
                return -ENOMEM;
        }
        r = sd_event_default(&m->event);
        if (r < 0) {
                manager_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        handoff_close(m);
        while (m->clients)
                client_free(m->clients);
        m->stats_timer = sd_event_source_disable_unref(m->stats_timer);
        sd_event_unref(m->event);
        free(m->uid_rates);
        free(m->socket_path);
        free(m->proc_root);
        free(m->cgroup_root);
        free(m);
        return NULL;
}

void manager_add_client(Manager *m, Client *c) {
        LIST_PREPEND(clients, m->clients, c);
        m->n_clients++;
}

void manager_remove_client(Manager *m, Client *c) {
        m->gone_evicted_bytes += c->tracker.counters.evicted_bytes;
        m->gone_refaulted_bytes += c->tracker.counters.refaulted_bytes;
        m->gone_faults_served += c->tracker.counters.faults_served;
        LIST_REMOVE(clients, m->clients, c);
        m->n_clients--;
}

Client *manager_find_client(Manager *m, uint64_t id) {
        Client *c;

        LIST_FOREACH(clients, c, m->clients)
                if (c->id == id)
                        return c;
        return NULL;
}

unsigned manager_count_clients_of_uid(Manager *m, uid_t uid) {
        unsigned n = 0;
        Client *c;

        LIST_FOREACH(clients, c, m->clients)
                if (c->uid == uid)
                        n++;
        return n;
}

void manager_log_stats(Manager *m) {
        uint64_t tracked = 0, resident = 0, evicted = m->gone_evicted_bytes,
                 refaulted = m->gone_refaulted_bytes, faults = m->gone_faults_served;
        char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX], d[FORMAT_BYTES_MAX], e[FORMAT_BYTES_MAX],
                f[FORMAT_BYTES_MAX], g[FORMAT_BYTES_MAX];
        Client *c;

        LIST_FOREACH(clients, c, m->clients) {
                const TrackerCounters *k = &c->tracker.counters;

                log_info("client %" PRIu64 " pid %d%s%s: tracked %s resident %s hot %s cold %s evicted %s refaulted %s "
                         "faults %" PRIu64 " (p99 %" PRIu64 "us max %" PRIu64 "us) cycles %" PRIu64
                         " cycle %" PRIu64 "us sync %" PRIu64 "us%s%s",
                         c->id, (int) c->pid, c->name ? " " : "", c->name ? c->name : "",
                         format_bytes(a, sizeof a, range_set_bytes(&c->ranges)),
                         format_bytes(b, sizeof b, k->resident_bytes),
                         format_bytes(d, sizeof d, k->hot_bytes),
                         format_bytes(e, sizeof e, k->cold_bytes),
                         format_bytes(f, sizeof f, k->evicted_bytes),
                         format_bytes(g, sizeof g, k->refaulted_bytes), k->faults_served,
                         tracker_fault_latency_p99_usec(k), k->fault_latency_max_usec, k->cycles,
                         k->last_cycle_usec, k->last_sync_window_usec,
                         k->last_error ? " last error: " : "", k->last_error ? k->last_error_text : "");
                tracked += range_set_bytes(&c->ranges);
                resident += k->resident_bytes;
                evicted += k->evicted_bytes;
                refaulted += k->refaulted_bytes;
                faults += k->faults_served;
        }
        log_info("total: %u clients, backend %s%s, tracked %s resident %s evicted %s refaulted %s faults %" PRIu64,
                 m->n_clients, backend_to_string(m->backend), m->monitor_only ? " (monitor only)" : "",
                 format_bytes(a, sizeof a, tracked), format_bytes(b, sizeof b, resident),
                 format_bytes(d, sizeof d, evicted), format_bytes(e, sizeof e, refaulted), faults);
}

static int on_stats_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        if (m->n_clients > 0)
                manager_log_stats(m);
        (void) sd_event_source_set_time(s, usec + m->stats_interval_usec);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (si->ssi_signo == SIGUSR1) {
                manager_log_stats(m);
                return 0;
        }
        log_info("received %s, shutting down (clients keep their memory)", strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

int manager_startup(Manager *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = policy_validate(&m->policy, &e);
        if (r < 0)
                return log_error_errno(r, "invalid policy: %s", e.message);

        r = probe_run(&probe_paths_default, &m->probe);
        if (r < 0)
                return log_error_errno(r, "kernel feature probe failed: %m");
        r = probe_decide(&m->probe, &m->probe_result);
        if (r < 0)
                return log_error_errno(r, "kernel feature decision failed: %m");
        if (m->backend == BACKEND_NONE) /* not forced on the command line */
                m->backend = m->probe_result.backend;
        else if (!m->probe_result.available[m->backend])
                return log_error_errno(EOPNOTSUPP, "backend %s requested but not available: %s",
                                       backend_to_string(m->backend),
                                       m->probe_result.reason[m->backend]);

        if (m->backend == BACKEND_NONE)
                log_warning("no tracking backend on this kernel: %s; %s. Clients will be refused.",
                            m->probe_result.reason[BACKEND_RWP], m->probe_result.reason[BACKEND_WP_ASYNC]);
        else {
                log_info("backend %s", backend_to_string(m->backend));
                for (size_t i = 0; i < m->probe_result.n_cannot_see; i++)
                        log_info("backend %s cannot see: %s", backend_to_string(m->backend),
                                 m->probe_result.cannot_see[i]);
        }
        if (m->backend == BACKEND_WP_ASYNC)
                log_info("rwp unavailable: %s", m->probe_result.reason[BACKEND_RWP]);

        if (m->probe.swap_bytes == 0) {
                log_warning("no swap configured: MADV_PAGEOUT cannot evict anonymous memory, running in monitor-only mode");
                m->monitor_only = true;
        }
        if (m->policy.dry_run)
                log_notice("dry run: classifying only, never evicting");
        ratelimit_init(&m->evict_rate, m->policy.rate_bytes_per_sec,
                       MAX(m->policy.rate_bytes_per_sec, m->policy.evict_chunk_bytes), now_usec());

        r = handoff_listen(m);
        if (r < 0)
                return r;

        {
                sigset_t ss;
                sigemptyset(&ss);
                sigaddset(&ss, SIGTERM);
                sigaddset(&ss, SIGINT);
                sigaddset(&ss, SIGUSR1);
                (void) sigprocmask(SIG_BLOCK, &ss, NULL);
        }
        signal(SIGPIPE, SIG_IGN);
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGUSR1, on_signal, m);
        if (r < 0)
                return log_error_errno(r, "cannot watch signals: %m");

        r = sd_event_add_time_relative(m->event, &m->stats_timer, CLOCK_MONOTONIC,
                                       m->stats_interval_usec, 0, on_stats_timer, m);
        if (r < 0)
                return log_error_errno(r, "cannot add stats timer: %m");
        return 0;
}

int manager_run(Manager *m) {
        int r;

        (void) sd_notifyf(false, "READY=1\nSTATUS=Tracking with the %s backend", backend_to_string(m->backend));
        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "event loop failed: %m");
        return 0;
}
