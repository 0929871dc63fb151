/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every fact the daemon shows about itself and its clients, declared once (docs/org.uffdtier1.5).
 * From these tables follow: the D-Bus properties with their flags, getters and change signals
 * (manager-bus.c, client-bus.c), the JSON dump (manager-dump.c), the socket's STATUS reply
 * (client-props.c), and uffdtierctl's show, status --json and metrics. A new counter is one
 * line here plus, for a new kind of value, nothing else.
 *
 * X(id, Name, type, flags, dump, status, metric, metric_name, help, value)
 *   id          a C identifier (uffdtierctl's field, the daemon's index)
 *   Name        the D-Bus property; NULL in the *_VALUES lists (not on the bus)
 *   type        STR, U64, U32, I32, BOOL, STRV or BUCKETS (BUS_TYPE_*)
 *   flags       BUS_PROP_CONST (never changes), BUS_PROP_CHANGE (announced when it changes),
 *               BUS_PROP_DETAIL (per-client detail: only root and the client's own uid see
 *               it; announced without its value), or 0 off the bus
 *   dump        the key in Dump's JSON ("section.key" for a nested object), or NULL
 *   status      the counter's name in the STATUS reply to the client itself, or NULL
 *   metric      METRIC_NONE, _GAUGE, _COUNTER, _SHARED and _SECONDS (gauges uffdtierctl does
 *               not add up over the clients of a series), _WINDOW and _AGE (BUCKETS, labelled
 *               by window or age), with its name and help
 *   value       how the daemon computes it (VAL_*, control/prop-value.h): for a client from
 *               `c` (the Client), `k` (its TrackerCounters) and `p` (its Policy); for the
 *               Manager from `m` and `t` (ManagerTotals). uffdtierctl never expands it. */

#include <stddef.h>

#include "bus-names.h"

typedef enum BusType {
        BUS_TYPE_STR,
        BUS_TYPE_U64,
        BUS_TYPE_U32,
        BUS_TYPE_I32,
        BUS_TYPE_BOOL,
        BUS_TYPE_STRV,
        BUS_TYPE_BUCKETS, /* "at" of UFFDTIER_BUS_AGE_BUCKETS entries */
} BusType;
#define _BUS_TYPE_MAX (BUS_TYPE_BUCKETS + 1)

#define BUS_SIG_STR "s"
#define BUS_SIG_U64 "t"
#define BUS_SIG_U32 "u"
#define BUS_SIG_I32 "i"
#define BUS_SIG_BOOL "b"
#define BUS_SIG_STRV "as"
#define BUS_SIG_BUCKETS "at"

enum {
        BUS_PROP_CONST = 1 << 0,
        BUS_PROP_CHANGE = 1 << 1,
        BUS_PROP_DETAIL = 1 << 2,
};

typedef enum MetricKind {
        METRIC_NONE,
        METRIC_GAUGE,
        METRIC_COUNTER,
        METRIC_SHARED, /* a gauge of a figure clients may share (their cgroup's): not added up */
        METRIC_SECONDS, /* a gauge of a USec percentile, in seconds: not added up */
        METRIC_WINDOW,
        METRIC_AGE,
} MetricKind;

typedef struct BusProp {
        const char *name; /* NULL: not on the bus */
        BusType type;
        unsigned flags;
        const char *dump;
        const char *status;
        MetricKind metric;
        const char *metric_name;
        const char *help;
} BusProp;

#define CHANGE_DETAIL (BUS_PROP_CHANGE | BUS_PROP_DETAIL)
#define CONST_DETAIL (BUS_PROP_CONST | BUS_PROP_DETAIL)

/* clang-format off */

/* org.uffdtier1.Client, one object per client. */
#define UFFDTIER_CLIENT_PROPERTIES(X) \
        X(id, "Id", U64, BUS_PROP_CONST, "id", NULL, METRIC_NONE, NULL, NULL, VAL_U64(c->id)) \
        X(parent_id, "ParentId", U64, BUS_PROP_CONST, "parent_id", NULL, METRIC_NONE, NULL, NULL, \
          VAL_U64(c->parent_id)) \
        X(pid, "Pid", U32, CONST_DETAIL, "pid", NULL, METRIC_NONE, NULL, NULL, VAL_U64(c->pid)) \
        X(uid, "Uid", U32, CONST_DETAIL, "uid", NULL, METRIC_NONE, NULL, NULL, VAL_U64(c->uid)) \
        X(name, "Name", STR, CONST_DETAIL, "name", NULL, METRIC_NONE, NULL, NULL, VAL_STR(c->name)) \
        X(cgroup, "CGroup", STR, CONST_DETAIL, "cgroup", NULL, METRIC_NONE, NULL, NULL, \
          VAL_STR(c->cgroup_path)) \
        X(unit, "Unit", STR, CONST_DETAIL, "unit", NULL, METRIC_NONE, NULL, NULL, \
          VAL_STR(cgroup_path_unit(c->cgroup_path))) \
        X(user_mode_only, "UserModeOnly", BOOL, BUS_PROP_CONST, "user_mode_only", "user_mode_only", \
          METRIC_NONE, NULL, NULL, VAL_BOOL(c->user_mode_only)) \
        X(policy, "Policy", STR, BUS_PROP_CHANGE, "policy", NULL, METRIC_NONE, NULL, NULL, \
          VAL_STR(client_policy_name(c))) \
        X(policy_mode, "PolicyMode", STR, BUS_PROP_CHANGE, NULL, NULL, METRIC_NONE, NULL, NULL, \
          VAL_STR(p->dry_run ? "monitor" : "evict")) \
        X(policy_interval_usec, "PolicyScanIntervalUSec", U64, BUS_PROP_CHANGE, NULL, NULL, \
          METRIC_NONE, NULL, NULL, VAL_U64(p->interval_usec)) \
        X(policy_cold_age_usec, "PolicyColdAgeUSec", U64, BUS_PROP_CHANGE, NULL, NULL, METRIC_NONE, \
          NULL, NULL, VAL_U64(p->cold_age_usec)) \
        X(policy_rate, "PolicyRateBytesPerSec", U64, BUS_PROP_CHANGE, NULL, NULL, METRIC_NONE, NULL, \
          NULL, VAL_U64(p->rate_bytes_per_sec)) \
        X(policy_floor, "PolicyFloorBytes", U64, BUS_PROP_CHANGE, NULL, NULL, METRIC_NONE, NULL, \
          NULL, VAL_U64(p->floor_bytes)) \
        X(policy_psi_limit, "PolicyPsiLimitPermyriad", U32, BUS_PROP_CHANGE, NULL, NULL, \
          METRIC_NONE, NULL, NULL, VAL_U64(p->psi_limit_permyriad)) \
        X(policy_refault_target, "PolicyRefaultTargetPermyriad", U32, BUS_PROP_CHANGE, NULL, NULL, \
          METRIC_NONE, NULL, NULL, VAL_U64(p->refault_target_permyriad)) \
        X(policy_cold_age_min, "PolicyColdAgeMinUSec", U64, BUS_PROP_CHANGE, NULL, NULL, \
          METRIC_NONE, NULL, NULL, VAL_U64(policy_cold_age_min_usec(p))) \
        X(policy_cold_age_max, "PolicyColdAgeMaxUSec", U64, BUS_PROP_CHANGE, NULL, NULL, \
          METRIC_NONE, NULL, NULL, VAL_U64(policy_cold_age_max_usec(p))) \
        X(cold_age_usec, "ColdAgeUSec", U64, BUS_PROP_CHANGE, "cold_age_usec", "cold_age_usec", \
          METRIC_SECONDS, "uffdtier_client_cold_age_seconds", \
          "The cold age in force, the policy's or as tuned (the largest of the clients').", \
          VAL_U64(k->cold_age_usec)) \
        X(refault_rate_ppm, "RefaultRatePPM", U64, BUS_PROP_CHANGE, "refault_rate_ppm", \
          "refault_rate_ppm", METRIC_NONE, NULL, NULL, VAL_U64(k->refault_rate_ppm)) \
        X(tracked, "TrackedBytes", U64, BUS_PROP_CHANGE, "tracked_bytes", "tracked_bytes", \
          METRIC_GAUGE, "uffdtier_client_tracked_bytes", "Memory the clients handed over.", \
          VAL_U64(client_tracked_bytes(c))) \
        X(resident, "ResidentBytes", U64, BUS_PROP_CHANGE, "resident_bytes", "resident_bytes", \
          METRIC_GAUGE, "uffdtier_client_resident_bytes", "The clients' tracked memory in RAM.", \
          VAL_U64(k->resident_bytes)) \
        X(swapped, "SwappedBytes", U64, BUS_PROP_CHANGE, "swapped_bytes", "swapped_bytes", \
          METRIC_GAUGE, "uffdtier_client_swapped_bytes", "The clients' tracked memory in swap.", \
          VAL_U64(k->swapped_bytes)) \
        X(paged_out, "PagedOutBytes", U64, BUS_PROP_CHANGE, "paged_out_bytes", "out_bytes", \
          METRIC_GAUGE, "uffdtier_client_paged_out_bytes", \
          "Paged out by the daemon and still in swap.", VAL_U64(k->out_bytes)) \
        X(freed, "FreedBytes", U64, BUS_PROP_CHANGE, "freed_bytes", "freed_bytes", METRIC_GAUGE, \
          "uffdtier_client_freed_bytes", "Of the paged-out memory, what left RAM.", \
          VAL_U64(k->freed_bytes)) \
        X(memcg_usage, "MemoryCGroupUsageBytes", U64, CHANGE_DETAIL, "memory_cgroup_usage_bytes", \
          "memcg_usage_bytes", METRIC_SHARED, "uffdtier_client_memory_cgroup_usage_bytes", \
          "The memory cgroup's usage (0: none); the clients share it.", VAL_U64(k->memcg_usage_bytes)) \
        X(swapcached, "SwapCachedBytes", U64, CHANGE_DETAIL, "swap_cached_bytes", \
          "swapcached_bytes", METRIC_NONE, NULL, NULL, VAL_U64(k->swapcached_bytes)) \
        X(reclaimed, "ReclaimedBytes", U64, BUS_PROP_CHANGE, "reclaimed_bytes", "reclaimed_bytes", \
          METRIC_NONE, NULL, NULL, VAL_U64(k->reclaimed_bytes)) \
        X(memory_source, "MemorySource", STR, BUS_PROP_CHANGE, "memory_source", "memory_source", \
          METRIC_NONE, NULL, NULL, VAL_ENUM(k->memory_source, memcg_source_to_string)) \
        X(memory_shared, "MemoryShared", BOOL, BUS_PROP_CHANGE, "memory_shared", "memory_shared", \
          METRIC_NONE, NULL, NULL, VAL_BOOL(k->memory_shared)) \
        X(psi_source, "PsiSource", STR, BUS_PROP_CHANGE, "psi_source", "psi_source", METRIC_NONE, \
          NULL, NULL, VAL_ENUM(k->psi_source, tracker_psi_source_to_string)) \
        X(hot, "HotBytes", U64, BUS_PROP_CHANGE, "hot_bytes", "hot_bytes", METRIC_GAUGE, \
          "uffdtier_client_hot_bytes", "Accessed in the last cycle.", VAL_U64(k->hot_bytes)) \
        X(cold, "ColdBytes", U64, BUS_PROP_CHANGE, "cold_bytes", "cold_bytes", METRIC_GAUGE, \
          "uffdtier_client_cold_bytes", "Resident and unaccessed for the cold age.", \
          VAL_U64(k->cold_bytes)) \
        X(huge, "HugeBytes", U64, BUS_PROP_CHANGE, "huge_bytes", "huge_bytes", METRIC_NONE, NULL, \
          NULL, VAL_U64(k->huge_bytes)) \
        X(evicted, "EvictedBytes", U64, BUS_PROP_CHANGE, "evicted_bytes", "evicted_bytes", \
          METRIC_COUNTER, "uffdtier_client_evicted_bytes_total", "Memory paged out.", \
          VAL_U64(k->evicted_bytes)) \
        X(refaulted, "RefaultedBytes", U64, BUS_PROP_CHANGE, "refaulted_bytes", "refaulted_bytes", \
          METRIC_COUNTER, "uffdtier_client_refaulted_bytes_total", \
          "Evicted memory accessed again.", VAL_U64(k->refaulted_bytes)) \
        X(faults, "FaultsServed", U64, BUS_PROP_CHANGE, "faults_served", "faults_served", \
          METRIC_COUNTER, "uffdtier_client_faults_served_total", "Access faults resolved.", \
          VAL_U64(k->faults_served)) \
        X(cycles, "Cycles", U64, BUS_PROP_CHANGE, "cycles", "cycles", METRIC_COUNTER, \
          "uffdtier_client_cycles_total", "Tracking cycles run.", VAL_U64(k->cycles)) \
        X(skipped_psi, "EvictionsSkippedPSI", U64, BUS_PROP_CHANGE, "evictions_skipped_psi", \
          "evictions_skipped_psi", METRIC_NONE, NULL, NULL, VAL_U64(k->evictions_skipped_psi)) \
        X(last_cycle_usec, "LastCycleUSec", U64, BUS_PROP_CHANGE, "last_cycle_usec", \
          "last_cycle_usec", METRIC_NONE, NULL, NULL, VAL_U64(k->last_cycle_usec)) \
        X(latency_max_usec, "FaultLatencyMaxUSec", U64, BUS_PROP_CHANGE, "fault_latency_max_usec", \
          "fault_latency_max_usec", METRIC_NONE, NULL, NULL, VAL_U64(k->fault_latency_max_usec)) \
        X(latency_p99_usec, "FaultLatencyP99USec", U64, BUS_PROP_CHANGE, "fault_latency_p99_usec", \
          "fault_latency_p99_usec", METRIC_SECONDS, "uffdtier_client_fault_latency_p99_seconds", \
          "99th percentile of the time to resolve an access fault (the largest of the clients').", \
          VAL_U64(tracker_fault_latency_p99_usec(k))) \
        X(last_error, "LastError", STR, CHANGE_DETAIL, "last_error", NULL, METRIC_NONE, NULL, NULL, \
          VAL_STR(k->last_error ? k->last_error_text : "")) \
        X(last_errno, "LastErrno", I32, CHANGE_DETAIL, "last_errno", "last_error", METRIC_NONE, \
          NULL, NULL, VAL_ERRNO(k->last_error)) \
        X(wss, "WorkingSetBytes", BUCKETS, CHANGE_DETAIL, "working_set_bytes", NULL, METRIC_WINDOW, \
          "uffdtier_client_working_set_bytes", \
          "Memory accessed within the last window_cycles cycles.", VAL_BUCKETS(k->wss_bytes)) \
        X(age, "AgeHistogramBytes", BUCKETS, CHANGE_DETAIL, "age_histogram_bytes", NULL, METRIC_AGE, \
          "uffdtier_client_age_bytes", \
          "Tracked memory by cycles since last accessed (age buckets 0, 1, 2-3, ..., 64-127).", \
          VAL_BUCKETS(k->age_histogram_bytes))

/* A client's facts that are not bus properties: in the dump and the STATUS reply only. */
#define UFFDTIER_CLIENT_VALUES(X) \
        X(evict_paced_usec, NULL, U64, 0, "evict_paced_usec", "evict_paced_usec", METRIC_NONE, \
          NULL, NULL, VAL_U64(k->evict_paced_usec)) \
        X(last_sync_window_usec, NULL, U64, 0, "last_sync_window_usec", "last_sync_window_usec", \
          METRIC_NONE, NULL, NULL, VAL_U64(k->last_sync_window_usec)) \
        X(max_sync_window_usec, NULL, U64, 0, "max_sync_window_usec", NULL, METRIC_NONE, NULL, \
          NULL, VAL_U64(k->max_sync_window_usec)) \
        X(last_cycle_slices, NULL, U64, 0, NULL, "last_cycle_slices", METRIC_NONE, NULL, NULL, \
          VAL_U64(k->last_cycle_slices)) \
        X(max_slice_usec, NULL, U64, 0, NULL, "max_slice_usec", METRIC_NONE, NULL, NULL, \
          VAL_U64(k->max_slice_usec)) \
        X(monitor_only, NULL, BOOL, 0, NULL, "monitor_only", METRIC_NONE, NULL, NULL, \
          VAL_BOOL(client_monitor_only(c))) \
        X(following, NULL, BOOL, 0, "following", "following", METRIC_NONE, NULL, NULL, \
          VAL_BOOL(c->follow.on)) \
        X(follow_min_bytes, NULL, U64, 0, "follow_min_bytes", "follow_min_bytes", METRIC_NONE, \
          NULL, NULL, VAL_U64(c->follow.min_bytes)) \
        X(follow_walks, NULL, U64, 0, "follow_walks", "follow_walks", METRIC_NONE, NULL, NULL, \
          VAL_U64(c->follow.walks)) \
        X(follow_last_walk_vmas, NULL, U64, 0, "follow_last_walk_vmas", "follow_last_walk_vmas", \
          METRIC_NONE, NULL, NULL, VAL_U64(c->follow.last_walk_vmas)) \
        X(follow_ranges_added, NULL, U64, 0, "follow_ranges_added", "follow_ranges_added", \
          METRIC_NONE, NULL, NULL, VAL_U64(c->follow.ranges_added)) \
        X(follow_ranges_refused, NULL, U64, 0, "follow_ranges_refused", "follow_ranges_refused", \
          METRIC_NONE, NULL, NULL, VAL_U64(c->follow.ranges_refused)) \
        X(follow_ranges_dropped, NULL, U64, 0, "follow_ranges_dropped", "follow_ranges_dropped", \
          METRIC_NONE, NULL, NULL, VAL_U64(c->follow.ranges_dropped)) \
        X(state_bytes, NULL, U64, 0, "state_bytes", "state_bytes", METRIC_NONE, NULL, NULL, \
          VAL_U64(c->state_budget.used)) \
        X(state_coarsened, NULL, U64, 0, "state_coarsened", "state_coarsened", METRIC_NONE, NULL, \
          NULL, VAL_U64(c->state_budget.coarsened)) \
        X(sync_windows_cut, NULL, U64, 0, "sync_windows_cut", "sync_windows_cut", METRIC_NONE, NULL, \
          NULL, VAL_U64(k->sync_windows_cut)) \
        X(forks_refused, NULL, U64, 0, "forks_refused", "forks_refused", METRIC_NONE, NULL, NULL, \
          VAL_U64(c->forks_refused)) \
        X(splits_refused, NULL, U64, 0, "splits_refused", "splits_refused", METRIC_NONE, NULL, NULL, \
          VAL_U64(c->splits_refused))

/* org.uffdtier1.Manager, the one object at UFFDTIER_BUS_PATH. */
#define UFFDTIER_MANAGER_PROPERTIES(X) \
        X(version, "Version", STR, BUS_PROP_CONST, "version", NULL, METRIC_NONE, NULL, NULL, \
          VAL_STR(PACKAGE_VERSION)) \
        X(backend, "Backend", STR, BUS_PROP_CONST, "backend", NULL, METRIC_NONE, NULL, NULL, \
          VAL_STR(backend_to_string(m->backend) ?: "none")) \
        X(cannot_see, "CannotSee", STRV, BUS_PROP_CONST, "cannot_see", NULL, METRIC_NONE, NULL, \
          NULL, VAL_STRV(manager_cannot_see_nth)) \
        X(kernel_features, "KernelFeatures", STRV, BUS_PROP_CONST, NULL, NULL, METRIC_NONE, NULL, \
          NULL, VAL_STRV(manager_kernel_feature_nth)) \
        X(paused, "Paused", BOOL, BUS_PROP_CHANGE, "paused", NULL, METRIC_GAUGE, "uffdtier_paused", \
          "1 while eviction is paused.", VAL_BOOL(m->paused)) \
        X(monitor_only, "MonitorOnly", BOOL, BUS_PROP_CHANGE, "monitor_only", NULL, METRIC_GAUGE, \
          "uffdtier_monitor_only", "1 while the daemon only classifies and never evicts.", \
          VAL_BOOL(manager_monitor_only(m))) \
        X(monitor_only_reason, "MonitorOnlyReason", STR, BUS_PROP_CHANGE, "monitor_only_reason", \
          NULL, METRIC_NONE, NULL, NULL, VAL_STR(manager_monitor_only_reason(m))) \
        X(interval_usec, "ScanIntervalUSec", U64, BUS_PROP_CHANGE, "policy.interval_usec", NULL, \
          METRIC_SECONDS, "uffdtier_scan_interval_seconds", \
          "Time between two cycles of a client.", VAL_U64(manager_policy(m)->interval_usec)) \
        X(cold_age_usec, "ColdAgeUSec", U64, BUS_PROP_CHANGE, "policy.cold_age_usec", NULL, \
          METRIC_NONE, NULL, NULL, VAL_U64(manager_policy(m)->cold_age_usec)) \
        X(n_clients, "NClients", U32, BUS_PROP_CHANGE, "totals.clients", NULL, METRIC_GAUGE, \
          "uffdtier_clients", "Clients tracked now.", VAL_U64(m->n_clients)) \
        X(swap_setup, "SwapSetup", STR, BUS_PROP_CHANGE, "swap.description", NULL, METRIC_NONE, \
          NULL, NULL, VAL_TEXT(swap_setup_describe(manager_swap_setup(m), v->buf, sizeof v->buf))) \
        X(pageout_frees, "PageOutFreesMemory", BOOL, BUS_PROP_CHANGE, "swap.pageout_frees_at_once", \
          NULL, METRIC_GAUGE, "uffdtier_pageout_frees_memory", \
          "1 when a page-out frees memory at once (zswap, zram).", \
          VAL_BOOL(swap_setup_pageout_frees_at_once(manager_swap_setup(m)))) \
        X(swap_remedy, "SwapRemedy", STR, BUS_PROP_CHANGE, "swap.remedy", NULL, METRIC_NONE, NULL, \
          NULL, VAL_STR(swap_setup_remedy(manager_swap_setup(m)))) \
        X(tracked, "TrackedBytes", U64, BUS_PROP_CHANGE, "totals.tracked_bytes", NULL, \
          METRIC_GAUGE, "uffdtier_tracked_bytes", "Memory handed over by all clients.", \
          VAL_U64(t->tracked_bytes)) \
        X(resident, "ResidentBytes", U64, BUS_PROP_CHANGE, "totals.resident_bytes", NULL, \
          METRIC_GAUGE, "uffdtier_resident_bytes", "Tracked memory in RAM.", \
          VAL_U64(t->resident_bytes)) \
        X(swapped, "SwappedBytes", U64, BUS_PROP_CHANGE, "totals.swapped_bytes", NULL, \
          METRIC_GAUGE, "uffdtier_swapped_bytes", "Tracked memory in swap.", \
          VAL_U64(t->swapped_bytes)) \
        X(paged_out, "PagedOutBytes", U64, BUS_PROP_CHANGE, "totals.paged_out_bytes", NULL, \
          METRIC_GAUGE, "uffdtier_paged_out_bytes", "Paged out by the daemon and still in swap.", \
          VAL_U64(t->out_bytes)) \
        X(freed, "FreedBytes", U64, BUS_PROP_CHANGE, "totals.freed_bytes", NULL, METRIC_GAUGE, \
          "uffdtier_freed_bytes", \
          "Of the paged-out memory, what left RAM (not held in the swap cache).", \
          VAL_U64(t->freed_bytes)) \
        X(hot, "HotBytes", U64, BUS_PROP_CHANGE, "totals.hot_bytes", NULL, METRIC_GAUGE, \
          "uffdtier_hot_bytes", "Tracked memory accessed in the last cycle.", \
          VAL_U64(t->hot_bytes)) \
        X(cold, "ColdBytes", U64, BUS_PROP_CHANGE, "totals.cold_bytes", NULL, METRIC_GAUGE, \
          "uffdtier_cold_bytes", "Resident memory unaccessed for the cold age.", \
          VAL_U64(t->cold_bytes)) \
        X(evicted, "EvictedBytes", U64, BUS_PROP_CHANGE, "totals.evicted_bytes", NULL, \
          METRIC_COUNTER, "uffdtier_evicted_bytes_total", \
          "Memory paged out, including clients that are gone.", VAL_U64(t->evicted_bytes)) \
        X(refaulted, "RefaultedBytes", U64, BUS_PROP_CHANGE, "totals.refaulted_bytes", NULL, \
          METRIC_COUNTER, "uffdtier_refaulted_bytes_total", \
          "Evicted memory that was accessed again.", VAL_U64(t->refaulted_bytes)) \
        X(faults, "FaultsServed", U64, BUS_PROP_CHANGE, "totals.faults_served", NULL, \
          METRIC_COUNTER, "uffdtier_faults_served_total", "Access faults the daemon resolved.", \
          VAL_U64(t->faults_served)) \
        X(wss, "WorkingSetBytes", BUCKETS, BUS_PROP_CHANGE, "totals.working_set_bytes", NULL, \
          METRIC_NONE, NULL, NULL, VAL_BUCKETS(t->wss_bytes))

/* The Manager's facts that are not bus properties: in the dump only. */
#define UFFDTIER_MANAGER_VALUES(X) \
        X(rate, NULL, U64, 0, "policy.rate_bytes_per_sec", NULL, METRIC_NONE, NULL, NULL, \
          VAL_U64(manager_policy(m)->rate_bytes_per_sec)) \
        X(refault_target, NULL, U64, 0, "policy.refault_target_permyriad", NULL, METRIC_NONE, NULL, \
          NULL, VAL_U64(manager_policy(m)->refault_target_permyriad)) \
        X(floor, NULL, U64, 0, "policy.floor_bytes", NULL, METRIC_NONE, NULL, NULL, \
          VAL_U64(manager_policy(m)->floor_bytes)) \
        X(psi_limit, NULL, U64, 0, "policy.psi_limit_permyriad", NULL, METRIC_NONE, NULL, NULL, \
          VAL_U64(manager_policy(m)->psi_limit_permyriad)) \
        X(evict_chunk, NULL, U64, 0, "policy.evict_chunk_bytes", NULL, METRIC_NONE, NULL, NULL, \
          VAL_U64(manager_policy(m)->evict_chunk_bytes)) \
        X(rearm_period, NULL, U64, 0, "policy.rearm_period_cycles", NULL, METRIC_NONE, NULL, NULL, \
          VAL_U64(policy_rearm_period(manager_policy(m)))) \
        X(dry_run, NULL, BOOL, 0, "policy.dry_run", NULL, METRIC_NONE, NULL, NULL, \
          VAL_BOOL(manager_policy(m)->dry_run))

/* clang-format on */

#define _CLIENT_PROP_INDEX(id, ...) CLIENT_PROP_##id,
#define _MANAGER_PROP_INDEX(id, ...) MANAGER_PROP_##id,
enum {
        UFFDTIER_CLIENT_PROPERTIES(_CLIENT_PROP_INDEX) _CLIENT_PROP_N_BUS,
        _CLIENT_PROP_BEFORE_VALUES = _CLIENT_PROP_N_BUS - 1,
        UFFDTIER_CLIENT_VALUES(_CLIENT_PROP_INDEX) _CLIENT_PROP_MAX,
};
enum {
        UFFDTIER_MANAGER_PROPERTIES(_MANAGER_PROP_INDEX) _MANAGER_PROP_N_BUS,
        _MANAGER_PROP_BEFORE_VALUES = _MANAGER_PROP_N_BUS - 1,
        UFFDTIER_MANAGER_VALUES(_MANAGER_PROP_INDEX) _MANAGER_PROP_MAX,
};

/* Indexed by CLIENT_PROP_* / MANAGER_PROP_*: the bus properties first, then the values. */
extern const BusProp uffdtier_client_props[_CLIENT_PROP_MAX];
extern const BusProp uffdtier_manager_props[_MANAGER_PROP_MAX];
extern const char *const bus_type_signature[_BUS_TYPE_MAX];
