/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include <jansson.h>

#include "client-bus.h"
#include "config.h"
#include "manager-dump.h"
#include "probe-print.h"

/* jansson reports failure as NULL or -1: each helper turns that into -ENOMEM here. */
static int set_new(json_t *o, const char *key, json_t *v) {
        return v && json_object_set_new(o, key, v) == 0 ? 0 : -ENOMEM;
}

static int set_u64(json_t *o, const char *key, uint64_t v) {
        /* json_int_t is long long: counters stay far below 2^63 */
        return set_new(o, key, json_integer((json_int_t) v));
}

static int set_str(json_t *o, const char *key, const char *v) {
        return set_new(o, key, json_string(v ? v : ""));
}

static json_t *u64_array(const uint64_t *v, size_t n) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, json_integer((json_int_t) v[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static int dump_client(const Client *c, json_t **ret) {
        json_auto_t *o = json_object(), *ranges = json_array();
        const TrackerCounters *k = client_counters(c);
        int r = o && ranges ? 0 : -ENOMEM;

#define U64(key, v) \
        if (r >= 0) \
        r = set_u64(o, key, v)
#define STR(key, v) \
        if (r >= 0) \
        r = set_str(o, key, v)
        U64("id", c->id);
        U64("parent_id", c->parent_id);
        U64("pid", (uint64_t) c->pid);
        U64("uid", (uint64_t) c->uid);
        STR("name", c->name);
        STR("cgroup", c->cgroup_path);
        STR("unit", client_bus_unit_of_cgroup(c->cgroup_path));
        STR("policy", client_policy_name(c));
        if (r >= 0)
                r = set_new(o, "user_mode_only", json_boolean(c->user_mode_only));
        U64("tracked_bytes", client_tracked_bytes(c));
        U64("resident_bytes", k->resident_bytes);
        U64("swapped_bytes", k->swapped_bytes);
        U64("paged_out_bytes", k->out_bytes);
        U64("freed_bytes", k->freed_bytes);
        STR("memory_source", memcg_source_to_string(k->memory_source));
        U64("memory_cgroup_usage_bytes", k->memcg_usage_bytes);
        U64("swap_cached_bytes", k->swapcached_bytes);
        U64("reclaimed_bytes", k->reclaimed_bytes);
        STR("psi_source", tracker_psi_source_to_string(k->psi_source));
        U64("hot_bytes", k->hot_bytes);
        U64("cold_bytes", k->cold_bytes);
        U64("huge_bytes", k->huge_bytes);
        U64("evicted_bytes", k->evicted_bytes);
        U64("refaulted_bytes", k->refaulted_bytes);
        U64("faults_served", k->faults_served);
        U64("cycles", k->cycles);
        U64("evictions_skipped_psi", k->evictions_skipped_psi);
        U64("evict_paced_usec", k->evict_paced_usec);
        U64("last_cycle_usec", k->last_cycle_usec);
        U64("last_sync_window_usec", k->last_sync_window_usec);
        U64("max_sync_window_usec", k->max_sync_window_usec);
        U64("fault_latency_max_usec", k->fault_latency_max_usec);
        U64("fault_latency_p99_usec", tracker_fault_latency_p99_usec(k));
        U64("last_errno", (uint64_t) (k->last_error < 0 ? -k->last_error : k->last_error));
        STR("last_error", k->last_error ? k->last_error_text : "");
        if (r >= 0)
                r = set_new(o, "working_set_bytes", u64_array(k->wss_bytes, CLASSIFY_N_BUCKETS));
        if (r >= 0)
                r = set_new(o, "age_histogram_bytes",
                            u64_array(k->age_histogram_bytes, CLASSIFY_N_BUCKETS));
        for (size_t i = 0; r >= 0 && i < c->ranges.n_ranges; i++) {
                const TrackedRange *t = &c->ranges.ranges[i];
                json_t *e = json_object();

                r = e ? 0 : -ENOMEM;
                if (r >= 0)
                        r = set_u64(e, "start", t->start);
                if (r >= 0)
                        r = set_u64(e, "end", t->end);
                if (r >= 0)
                        r = set_str(e, "name", client_tag_name(c, t->tag));
                if (e && json_array_append_new(ranges, e) < 0)
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = set_new(o, "ranges", json_incref(ranges));
#undef U64
#undef STR
        if (r < 0)
                return r;
        *ret = json_incref(o);
        return 0;
}

/* The swap set-up as last read (the caller refreshes it: manager_swap_setup()). */
static int dump_swap(const SwapSetup *s, json_t *parent) {
        json_auto_t *o = json_object(), *devices = json_array();
        char text[SWAP_SETUP_DESCRIBE_MAX];
        int r = o && devices ? 0 : -ENOMEM;

        swap_setup_describe(s, text, sizeof text);
        if (r >= 0)
                r = set_str(o, "description", text);
        if (r >= 0)
                r = set_new(o, "pageout_frees_at_once",
                            json_boolean(swap_setup_pageout_frees_at_once(s)));
        if (r >= 0)
                r = set_str(o, "remedy", swap_setup_remedy(s));
        if (r >= 0)
                r = set_new(o, "zswap_enabled", json_boolean(s->zswap_enabled));
        if (r >= 0)
                r = set_str(o, "zswap_compressor", s->zswap_compressor);
        if (r >= 0)
                r = set_u64(o, "zswap_max_pool_percent", s->zswap_max_pool_percent);
        if (r >= 0 && s->swap_cached_known)
                r = set_u64(o, "swap_cached_bytes", s->swap_cached_bytes);
        for (size_t i = 0; r >= 0 && i < s->n_devices; i++) {
                json_t *e = json_object();

                r = e ? 0 : -ENOMEM;
                if (r >= 0)
                        r = set_str(e, "path", s->devices[i].path);
                if (r >= 0)
                        r = set_str(e, "kind", swap_kind_to_string(s->devices[i].kind));
                if (r >= 0)
                        r = set_u64(e, "size_bytes", s->devices[i].size_bytes);
                if (r >= 0)
                        r = set_u64(e, "used_bytes", s->devices[i].used_bytes);
                if (e && json_array_append_new(devices, e) < 0)
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = set_new(o, "devices", json_incref(devices));
        if (r >= 0)
                r = set_new(parent, "swap", json_incref(o));
        return r;
}

int manager_dump_json(const Manager *m, char **ret) {
        json_auto_t *o = json_object(), *clients = json_array(), *cannot_see = json_array(),
                    *policy = json_object(), *totals = json_object();
        json_t *probe = NULL;
        ManagerTotals t;
        char *s;
        int r = o && clients && cannot_see && policy && totals ? 0 : -ENOMEM;

        manager_get_totals(m, &t);
        if (r >= 0)
                r = set_str(o, "version", PACKAGE_VERSION);
        if (r >= 0)
                r = set_str(o, "backend", backend_to_string(m->backend));
        for (size_t i = 0; r >= 0 && i < m->probe_result.n_cannot_see; i++)
                if (json_array_append_new(cannot_see, json_string(m->probe_result.cannot_see[i])) <
                    0)
                        r = -ENOMEM;
        if (r >= 0)
                r = set_new(o, "cannot_see", json_incref(cannot_see));
        if (r >= 0)
                r = set_new(o, "paused", json_boolean(m->paused));
        if (r >= 0)
                r = set_new(o, "monitor_only", json_boolean(manager_monitor_only(m)));
        if (r >= 0)
                r = set_str(o, "monitor_only_reason", manager_monitor_only_reason(m));
        if (r >= 0 && probe_to_json(&m->probe, &m->probe_result, &probe) >= 0)
                r = set_new(o, "kernel", probe);
        if (r >= 0)
                r = dump_swap(&m->swap_setup, o);

        if (r >= 0)
                r = set_u64(policy, "interval_usec", m->policy.interval_usec);
        if (r >= 0)
                r = set_u64(policy, "cold_age_usec", m->policy.cold_age_usec);
        if (r >= 0)
                r = set_u64(policy, "rate_bytes_per_sec", m->policy.rate_bytes_per_sec);
        if (r >= 0)
                r = set_u64(policy, "floor_bytes", m->policy.floor_bytes);
        if (r >= 0)
                r = set_u64(policy, "psi_limit_permyriad", m->policy.psi_limit_permyriad);
        if (r >= 0)
                r = set_u64(policy, "evict_chunk_bytes", m->policy.evict_chunk_bytes);
        if (r >= 0)
                r = set_u64(policy, "rearm_period_cycles", policy_rearm_period(&m->policy));
        if (r >= 0)
                r = set_new(policy, "dry_run", json_boolean(m->policy.dry_run));
        if (r >= 0)
                r = set_new(o, "policy", json_incref(policy));

        if (r >= 0)
                r = set_u64(totals, "clients", m->n_clients);
        if (r >= 0)
                r = set_u64(totals, "tracked_bytes", t.tracked_bytes);
        if (r >= 0)
                r = set_u64(totals, "resident_bytes", t.resident_bytes);
        if (r >= 0)
                r = set_u64(totals, "swapped_bytes", t.swapped_bytes);
        if (r >= 0)
                r = set_u64(totals, "paged_out_bytes", t.out_bytes);
        if (r >= 0)
                r = set_u64(totals, "freed_bytes", t.freed_bytes);
        if (r >= 0)
                r = set_u64(totals, "hot_bytes", t.hot_bytes);
        if (r >= 0)
                r = set_u64(totals, "cold_bytes", t.cold_bytes);
        if (r >= 0)
                r = set_u64(totals, "evicted_bytes", t.evicted_bytes);
        if (r >= 0)
                r = set_u64(totals, "refaulted_bytes", t.refaulted_bytes);
        if (r >= 0)
                r = set_u64(totals, "faults_served", t.faults_served);
        if (r >= 0)
                r = set_new(totals, "working_set_bytes",
                            u64_array(t.wss_bytes, CLASSIFY_N_BUCKETS));
        if (r >= 0)
                r = set_new(o, "totals", json_incref(totals));

        for (const Client *c = m->clients; r >= 0 && c; c = c->clients_next) {
                json_t *e = NULL;

                r = dump_client(c, &e);
                if (r >= 0 && json_array_append_new(clients, e) < 0)
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = set_new(o, "clients", json_incref(clients));
        if (r < 0)
                return r;
        s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
