/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-error.h"
#include "bus-names.h"
#include "client-bus.h"
#include "parse.h"

int client_bus_path(uint64_t id, char **ret) {
        char *p;

        if (asprintf(&p, UFFDTIER_BUS_CLIENT_PREFIX "/%" PRIu64, id) < 0)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int client_bus_path_to_id(const char *path, uint64_t *ret_id) {
        const char *s;
        uint64_t id;
        size_t n = strlen(UFFDTIER_BUS_CLIENT_PREFIX);

        if (!path || strncmp(path, UFFDTIER_BUS_CLIENT_PREFIX, n) != 0 || path[n] != '/')
                return -EINVAL;
        s = path + n + 1;
        if (s[0] < '1' || s[0] > '9' || strspn(s, "0123456789") != strlen(s))
                return -EINVAL;
        if (parse_u64(s, &id) < 0)
                return -EINVAL;
        *ret_id = id;
        return 0;
}

const char *client_bus_unit_of_cgroup(const char *cgroup_path) {
        const char *last, *dot;

        if (!cgroup_path)
                return "";
        last = strrchr(cgroup_path, '/');
        last = last ? last + 1 : cgroup_path;
        dot = strrchr(last, '.');
        if (!dot || dot == last || (!streq(dot, ".service") && !streq(dot, ".scope")))
                return "";
        return last;
}

int client_bus_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                    void **ret_found, sd_bus_error *ret_error) {
        Manager *m = userdata;
        uint64_t id;
        Client *c;

        if (client_bus_path_to_id(path, &id) < 0)
                return 0; /* not a client's path: sd-bus answers UnknownObject */
        c = manager_find_client(m, id);
        if (!c)
                /* gone (or queued for freeing) since the caller learned of it */
                return bus_error_no_such_client(ret_error, id);
        *ret_found = c;
        return 1;
}

int client_bus_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                         sd_bus_error *ret_error) {
        Manager *m = userdata;
        char **nodes = calloc(m->n_clients + 1, sizeof *nodes);
        const Client *c;
        size_t n = 0;
        int r;

        if (!nodes)
                return -ENOMEM;
        LIST_FOREACH (clients, c, m->clients) {
                if (n >= m->n_clients)
                        break;
                r = client_bus_path(c->id, &nodes[n]);
                if (r < 0) {
                        for (size_t i = 0; i < n; i++)
                                free(nodes[i]);
                        free(nodes);
                        return r;
                }
                n++;
        }
        *ret_nodes = nodes;
        return 0;
}

/* ---- properties: userdata is the Client the find callback just looked up ---- */

static int property_get_identity(sd_bus *bus, const char *path, const char *interface,
                                 const char *property, sd_bus_message *reply, void *userdata,
                                 sd_bus_error *ret_error) {
        const Client *c = userdata;

        if (streq(property, "Id"))
                return sd_bus_message_append(reply, "t", c->id);
        if (streq(property, "ParentId"))
                return sd_bus_message_append(reply, "t", c->parent_id);
        if (streq(property, "Pid"))
                return sd_bus_message_append(reply, "u", (uint32_t) c->pid);
        if (streq(property, "Uid"))
                return sd_bus_message_append(reply, "u", (uint32_t) c->uid);
        if (streq(property, "Name"))
                return sd_bus_message_append(reply, "s", c->name ?: "");
        if (streq(property, "CGroup"))
                return sd_bus_message_append(reply, "s", c->cgroup_path ?: "");
        if (streq(property, "Unit"))
                return sd_bus_message_append(reply, "s", client_bus_unit_of_cgroup(c->cgroup_path));
        if (streq(property, "Policy"))
                return sd_bus_message_append(reply, "s", client_policy_name(c));
        if (streq(property, "UserModeOnly"))
                return sd_bus_message_append(reply, "b", (int) c->user_mode_only);
        return -EINVAL;
}

/* The values of the client's policy (the name is Policy): what a reload changes. */
static int property_get_policy(sd_bus *bus, const char *path, const char *interface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *ret_error) {
        const Policy *p = client_policy(userdata);
        Policy defaults;

        if (!p) { /* not set up yet: the built-in defaults are what it would get */
                policy_init(&defaults);
                p = &defaults;
        }

        if (streq(property, "PolicyMode"))
                return sd_bus_message_append(reply, "s", p->dry_run ? "monitor" : "evict");
        if (streq(property, "PolicyScanIntervalUSec"))
                return sd_bus_message_append(reply, "t", p->interval_usec);
        if (streq(property, "PolicyColdAgeUSec"))
                return sd_bus_message_append(reply, "t", p->cold_age_usec);
        if (streq(property, "PolicyRateBytesPerSec"))
                return sd_bus_message_append(reply, "t", p->rate_bytes_per_sec);
        if (streq(property, "PolicyFloorBytes"))
                return sd_bus_message_append(reply, "t", p->floor_bytes);
        if (streq(property, "PolicyPsiLimitPermyriad"))
                return sd_bus_message_append(reply, "u", p->psi_limit_permyriad);
        return -EINVAL;
}

static int property_get_counter(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *ret_error) {
        const Client *c = userdata;
        const TrackerCounters *k = client_counters(c);
        static const struct {
                const char *name;
                size_t offset;
        } table[] = {
                { "ResidentBytes", offsetof(TrackerCounters, resident_bytes) },
                { "SwappedBytes", offsetof(TrackerCounters, swapped_bytes) },
                { "PagedOutBytes", offsetof(TrackerCounters, out_bytes) },
                { "FreedBytes", offsetof(TrackerCounters, freed_bytes) },
                { "MemoryCGroupUsageBytes", offsetof(TrackerCounters, memcg_usage_bytes) },
                { "SwapCachedBytes", offsetof(TrackerCounters, swapcached_bytes) },
                { "ReclaimedBytes", offsetof(TrackerCounters, reclaimed_bytes) },
                { "HotBytes", offsetof(TrackerCounters, hot_bytes) },
                { "ColdBytes", offsetof(TrackerCounters, cold_bytes) },
                { "HugeBytes", offsetof(TrackerCounters, huge_bytes) },
                { "EvictedBytes", offsetof(TrackerCounters, evicted_bytes) },
                { "RefaultedBytes", offsetof(TrackerCounters, refaulted_bytes) },
                { "FaultsServed", offsetof(TrackerCounters, faults_served) },
                { "Cycles", offsetof(TrackerCounters, cycles) },
                { "EvictionsSkippedPSI", offsetof(TrackerCounters, evictions_skipped_psi) },
                { "LastCycleUSec", offsetof(TrackerCounters, last_cycle_usec) },
                { "FaultLatencyMaxUSec", offsetof(TrackerCounters, fault_latency_max_usec) },
        };

        if (streq(property, "TrackedBytes"))
                return sd_bus_message_append(reply, "t", client_tracked_bytes(c));
        if (streq(property, "FaultLatencyP99USec"))
                return sd_bus_message_append(reply, "t", tracker_fault_latency_p99_usec(k));
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(property, table[i].name))
                        return sd_bus_message_append(
                                reply, "t",
                                *(const uint64_t *) ((const char *) k + table[i].offset));
        return -EINVAL;
}

static int property_get_last_error(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *ret_error) {
        const TrackerCounters *k = client_counters(userdata);

        if (streq(property, "LastErrno"))
                return sd_bus_message_append(
                        reply, "i", (int32_t) (k->last_error < 0 ? -k->last_error : k->last_error));
        return sd_bus_message_append(reply, "s", k->last_error ? k->last_error_text : "");
}

static int property_get_source(sd_bus *bus, const char *path, const char *interface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *ret_error) {
        const TrackerCounters *k = client_counters(userdata);

        if (streq(property, "MemorySource"))
                return sd_bus_message_append(reply, "s", memcg_source_to_string(k->memory_source));
        return sd_bus_message_append(reply, "s", tracker_psi_source_to_string(k->psi_source));
}

static int property_get_buckets(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *ret_error) {
        const TrackerCounters *k = client_counters(userdata);
        const uint64_t *v = streq(property, "WorkingSetBytes") ? k->wss_bytes
                                                               : k->age_histogram_bytes;

        return sd_bus_message_append_array(reply, 't', v, CLASSIFY_N_BUCKETS * sizeof(uint64_t));
}

#define COUNTER(name) \
        SD_BUS_PROPERTY(name, "t", property_get_counter, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)
#define CONST(name, sig) \
        SD_BUS_PROPERTY(name, sig, property_get_identity, 0, SD_BUS_VTABLE_PROPERTY_CONST)

const sd_bus_vtable client_bus_vtable[] = {
        SD_BUS_VTABLE_START(0),
        CONST("Id", "t"),
        CONST("ParentId", "t"),
        CONST("Pid", "u"),
        CONST("Uid", "u"),
        CONST("Name", "s"),
        CONST("CGroup", "s"),
        CONST("Unit", "s"),
        CONST("UserModeOnly", "b"),
        SD_BUS_PROPERTY("Policy", "s", property_get_identity, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PolicyMode", "s", property_get_policy, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PolicyScanIntervalUSec", "t", property_get_policy, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PolicyColdAgeUSec", "t", property_get_policy, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PolicyRateBytesPerSec", "t", property_get_policy, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PolicyFloorBytes", "t", property_get_policy, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PolicyPsiLimitPermyriad", "u", property_get_policy, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        COUNTER("TrackedBytes"),
        COUNTER("ResidentBytes"),
        COUNTER("SwappedBytes"),
        COUNTER("PagedOutBytes"),
        COUNTER("FreedBytes"),
        COUNTER("MemoryCGroupUsageBytes"),
        COUNTER("SwapCachedBytes"),
        COUNTER("ReclaimedBytes"),
        SD_BUS_PROPERTY("MemorySource", "s", property_get_source, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PsiSource", "s", property_get_source, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        COUNTER("HotBytes"),
        COUNTER("ColdBytes"),
        COUNTER("HugeBytes"),
        COUNTER("EvictedBytes"),
        COUNTER("RefaultedBytes"),
        COUNTER("FaultsServed"),
        COUNTER("Cycles"),
        COUNTER("EvictionsSkippedPSI"),
        COUNTER("LastCycleUSec"),
        COUNTER("FaultLatencyMaxUSec"),
        COUNTER("FaultLatencyP99USec"),
        SD_BUS_PROPERTY("LastError", "s", property_get_last_error, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastErrno", "i", property_get_last_error, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("WorkingSetBytes", "at", property_get_buckets, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("AgeHistogramBytes", "at", property_get_buckets, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END
};

int client_bus_emit_changed(sd_bus *bus, const Client *c) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = client_bus_path(c->id, &path);
        if (r < 0)
                return r;
        return sd_bus_emit_properties_changed(
                bus, path, UFFDTIER_BUS_CLIENT_INTERFACE, "Policy", "PolicyMode",
                "PolicyScanIntervalUSec", "PolicyColdAgeUSec", "PolicyRateBytesPerSec",
                "PolicyFloorBytes", "PolicyPsiLimitPermyriad", "TrackedBytes", "ResidentBytes",
                "SwappedBytes", "PagedOutBytes", "FreedBytes", "MemoryCGroupUsageBytes",
                "SwapCachedBytes", "ReclaimedBytes", "MemorySource", "PsiSource", "HotBytes",
                "ColdBytes", "HugeBytes", "EvictedBytes", "RefaultedBytes", "FaultsServed",
                "Cycles", "EvictionsSkippedPSI", "LastCycleUSec", "FaultLatencyMaxUSec",
                "FaultLatencyP99USec", "LastError", "LastErrno", "WorkingSetBytes",
                "AgeHistogramBytes", NULL);
}
