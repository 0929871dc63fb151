/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bus-caller.h"
#include "bus-error.h"
#include "caller-rate.h"
#include "bus-names.h"
#include "client-bus.h"
#include "log.h"
#include "macro.h"
#include "manager-bus.h"
#include "manager-dump.h"
#include "manager-props.h"

/* What the bus last told about one client, to send only what changed, once per tick. */
typedef struct ClientBusState {
        uint64_t id;
        uint64_t pending_evicted_bytes; /* for the next Evicted signal */
        uint64_t tracked_bytes;
        TrackerCounters counters; /* the Policy property is sent along whenever these change */
} ClientBusState;

/* The Manager object's changing properties as last announced (prop_value_fingerprint()). */
typedef struct ManagerSnapshot {
        uint64_t fingerprint[_MANAGER_PROP_N_BUS];
} ManagerSnapshot;

struct ManagerBus {
        Manager *manager;
        sd_bus *bus;
        ClientBusState *clients;
        size_t n_clients;
        ManagerSnapshot last;
        CallerRates rates; /* Limits.bus_calls_* */
        unsigned rates_per_sec, rates_burst, rates_total; /* what rates was set up with */
        LogRatelimit log_rates;
};

/* ---- the rate of calls: per peer and for all of them ---- */

/* Every method call (property reads included) passes here first: over its peer's rate, or the
 * rate of all peers together, it is refused with LimitsExceeded (the bus has no "later"), so a
 * flood of calls cannot keep the loop from the scans, evictions and TRACKs below the bus. */
static int on_bus_filter(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        ManagerBus *b = userdata;
        const Limits *lim = &b->manager->config->limits;
        uint64_t now = now_usec();
        const char *sender;

        if (!sd_bus_message_is_method_call(msg, NULL, NULL))
                return 0;
        if (lim->bus_calls_per_sec != b->rates_per_sec || lim->bus_calls_burst != b->rates_burst ||
            lim->bus_calls_total_per_sec != b->rates_total) { /* a reload changed them */
                caller_rates_init(&b->rates, lim->bus_calls_per_sec, lim->bus_calls_burst,
                                  lim->bus_calls_total_per_sec, now);
                b->rates.n = 0;
                b->rates_per_sec = lim->bus_calls_per_sec;
                b->rates_burst = lim->bus_calls_burst;
                b->rates_total = lim->bus_calls_total_per_sec;
        }
        sender = sd_bus_message_get_sender(msg);
        if (caller_rates_take(&b->rates, sender, now))
                return 0;
        log_ratelimited(&b->log_rates, LOG_NOTICE,
                        "bus: %s called more than %u times per second (bus_calls_per_sec), or all "
                        "callers more than %u (bus_calls_total_per_sec): refused",
                        sender ?: "a peer", lim->bus_calls_per_sec, lim->bus_calls_total_per_sec);
        return sd_bus_error_setf(ret_error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                 "rate limit reached: at most %u calls per second per caller "
                                 "(bus_calls_per_sec) and %u of all callers "
                                 "(bus_calls_total_per_sec); try again later",
                                 lim->bus_calls_per_sec, lim->bus_calls_total_per_sec);
}

/* ---- authorization: reading is open, acting is for root ---- */

static int check_root(sd_bus_message *msg, const char *method, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t euid;
        int r;

        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, &euid);
        if (r < 0 || euid != 0) {
                /* fail closed: a caller whose euid cannot be learned is not root */
                log_notice("refused %s() from %s (euid %s)", method,
                           sd_bus_message_get_sender(msg) ?: "?", r < 0 ? "unknown" : "not 0");
                return bus_error_access_denied(ret_error, method);
        }
        return 0;
}

/* ---- properties ---- */

static int manager_bus_append(sd_bus_message *reply, unsigned idx, ManagerBus *b) {
        ManagerTotals t;
        PropValue v;

        manager_get_totals(b->manager, &t);
        manager_prop_get(b->manager, &t, idx, &v);
        return prop_value_append(reply, uffdtier_manager_props[idx].type, &v);
}

/* One getter per property, so none has to find out by name which one it is. */
#define GETTER(id, ...)                                                                           \
        static int property_get_##id(sd_bus *bus, const char *path, const char *interface,        \
                                     const char *property, sd_bus_message *reply, void *userdata, \
                                     sd_bus_error *ret_error) {                                   \
                return manager_bus_append(reply, MANAGER_PROP_##id, userdata);                    \
        }
UFFDTIER_MANAGER_PROPERTIES(GETTER)
#undef GETTER

/* ---- methods ---- */

static int cmp_client_id(const void *a, const void *b) {
        const Client *x = *(const Client *const *) a, *y = *(const Client *const *) b;

        return x->id < y->id ? -1 : x->id > y->id;
}

static int method_list_clients(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        ManagerBus *b = userdata;
        Manager *m = b->manager;
        _cleanup_free_ Client **v = calloc(m->n_clients + 1, sizeof *v);
        size_t n = 0;
        uid_t caller;
        Client *c;
        int r;

        if (!v)
                return -ENOMEM;
        LIST_FOREACH (clients, c, m->clients)
                if (n < m->n_clients)
                        v[n++] = c;
        qsort(v, n, sizeof *v, cmp_client_id);

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        caller = bus_caller_uid(sd_bus_message_get_bus(msg));
        r = sd_bus_message_open_container(reply, 'a', UFFDTIER_BUS_LIST_CLIENTS_ENTRY);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                /* pid, name and cgroup are details (bus-props.h): 0 and "" for strangers */
                bool see = bus_caller_may_see(caller, v[i]->uid);

                r = sd_bus_message_append(
                        reply, UFFDTIER_BUS_LIST_CLIENTS_ENTRY, v[i]->id,
                        see ? (uint32_t) v[i]->pid : 0, see && v[i]->name ? v[i]->name : "",
                        see && v[i]->cgroup_path ? v[i]->cgroup_path : "", client_policy_name(v[i]),
                        client_tracked_bytes(v[i]), client_counters(v[i])->resident_bytes,
                        client_counters(v[i])->evicted_bytes);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_dump(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        ManagerBus *b = userdata;
        _cleanup_free_ char *json = NULL;
        int r;

        (void) manager_swap_setup(b->manager); /* fresh, for the dump's "swap" */
        r = manager_dump_json(b->manager, bus_caller_uid(sd_bus_message_get_bus(msg)), &json);
        if (r < 0)
                return sd_bus_error_set_errnof(ret_error, -r, "Cannot build the dump: %s",
                                               strerror(-r));
        return sd_bus_reply_method_return(msg, "s", json);
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        ManagerBus *b = userdata;
        int r;

        r = check_root(msg, "Reload", ret_error);
        if (r < 0)
                return r;
        r = manager_reload(b->manager, ret_error);
        if (r < 0)
                return bus_error_rename(ret_error, r);
        return sd_bus_reply_method_return(msg, NULL);
}

static void emit_manager_changed(ManagerBus *b);

static int method_set_paused(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        ManagerBus *b = userdata;
        int paused, r;

        r = check_root(msg, "SetPaused", ret_error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "b", &paused);
        if (r < 0)
                return r;
        if (manager_set_paused(b->manager, paused) > 0)
                emit_manager_changed(b); /* an act, not a counter: announce it now */
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_evict_now(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        ManagerBus *b = userdata;
        uint64_t id, bytes, queued = 0;
        int r;

        r = check_root(msg, "EvictNow", ret_error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "tt", &id, &bytes);
        if (r < 0)
                return r;
        if (id == 0)
                return bus_error_invalid_argument(
                        ret_error, "Client ids start at 1 (ListClients() shows them).");
        if (bytes % page_size() != 0)
                return bus_error_invalid_argument(
                        ret_error,
                        "%" PRIu64
                        " bytes is not a multiple of the page size (%zu); 0 means all cold pages.",
                        bytes, page_size());
        if (!manager_find_client(b->manager, id))
                return bus_error_no_such_client(ret_error, id);
        r = manager_evict_now(b->manager, id, bytes, ret_error, &queued);
        if (r < 0)
                return bus_error_rename(ret_error, r);
        return sd_bus_reply_method_return(msg, "t", queued);
}

#define VTABLE_FLAGS(flags)                                     \
        ((flags) &BUS_PROP_CONST ? SD_BUS_VTABLE_PROPERTY_CONST \
                                 : SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)
#define PROPERTY(id, name, type, flags, ...) \
        SD_BUS_PROPERTY(name, BUS_SIG_##type, property_get_##id, 0, VTABLE_FLAGS(flags)),

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        UFFDTIER_MANAGER_PROPERTIES(PROPERTY)

        /* reading is open to everyone; the other three check the caller (check_root) */
        SD_BUS_METHOD_WITH_NAMES("ListClients", "", SD_BUS_PARAM(),
                                 "a" UFFDTIER_BUS_LIST_CLIENTS_ENTRY, SD_BUS_PARAM(clients),
                                 method_list_clients, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Dump", "", SD_BUS_PARAM(), "s", SD_BUS_PARAM(json), method_dump,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reload", "", "", method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetPaused", "b", SD_BUS_PARAM(paused), "", SD_BUS_PARAM(),
                                 method_set_paused, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("EvictNow", "tt", SD_BUS_PARAM(id) SD_BUS_PARAM(bytes), "t",
                                 SD_BUS_PARAM(queued_bytes), method_evict_now,
                                 SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_NAMES("ClientAdded", "to", SD_BUS_PARAM(id) SD_BUS_PARAM(path), 0),
        SD_BUS_SIGNAL_WITH_NAMES("ClientRemoved", "to", SD_BUS_PARAM(id) SD_BUS_PARAM(path), 0),
        SD_BUS_SIGNAL_WITH_NAMES("Evicted", "tt", SD_BUS_PARAM(id) SD_BUS_PARAM(bytes), 0),
        SD_BUS_VTABLE_END
};

/* ---- news from the Manager ---- */

static ClientBusState *state_find(ManagerBus *b, uint64_t id) {
        for (size_t i = 0; i < b->n_clients; i++)
                if (b->clients[i].id == id)
                        return &b->clients[i];
        return NULL;
}

static void emit_client_signal(ManagerBus *b, const char *member, uint64_t id) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = client_bus_path(id, &path);
        if (r >= 0)
                r = sd_bus_emit_signal(b->bus, UFFDTIER_BUS_PATH, UFFDTIER_BUS_MANAGER_INTERFACE,
                                       member, "to", id, path);
        if (r < 0)
                log_debug_errno(r, "cannot send %s(%" PRIu64 "): %m", member, id);
}

static void flush_evicted(ManagerBus *b, ClientBusState *s) {
        int r;

        if (s->pending_evicted_bytes == 0)
                return;
        r = sd_bus_emit_signal(b->bus, UFFDTIER_BUS_PATH, UFFDTIER_BUS_MANAGER_INTERFACE, "Evicted",
                               "tt", s->id, s->pending_evicted_bytes);
        if (r < 0)
                log_debug_errno(r, "cannot send Evicted(%" PRIu64 "): %m", s->id);
        s->pending_evicted_bytes = 0;
}

static void hook_client_added(void *u, const Client *c) {
        ManagerBus *b = u;
        ClientBusState *v = realloc(b->clients, (b->n_clients + 1) * sizeof *v);

        if (!v) {
                log_oom();
                return; /* its signals are lost; its object still works */
        }
        b->clients = v;
        b->clients[b->n_clients++] = (ClientBusState){
                .id = c->id,
                .tracked_bytes = client_tracked_bytes(c),
                .counters = *client_counters(c),
        };
        emit_client_signal(b, "ClientAdded", c->id);
}

static void hook_client_removed(void *u, const Client *c) {
        ManagerBus *b = u;
        ClientBusState *s = state_find(b, c->id);

        if (s) {
                flush_evicted(b, s); /* its last bytes still get told */
                *s = b->clients[--b->n_clients];
        }
        emit_client_signal(b, "ClientRemoved", c->id);
}

static void hook_evicted(void *u, const Client *c, uint64_t bytes) {
        ClientBusState *s = state_find(u, c->id);

        /* coalesced: one Evicted per client per tick at most */
        if (s)
                s->pending_evicted_bytes += bytes;
}

static void manager_snapshot(Manager *m, ManagerSnapshot *ret) {
        ManagerTotals t;

        manager_get_totals(m, &t);
        for (unsigned i = 0; i < _MANAGER_PROP_N_BUS; i++) {
                PropValue v;

                if (!(uffdtier_manager_props[i].flags & BUS_PROP_CHANGE))
                        continue;
                manager_prop_get(m, &t, i, &v);
                ret->fingerprint[i] = prop_value_fingerprint(uffdtier_manager_props[i].type, &v);
        }
}

static void emit_manager_changed(ManagerBus *b) {
        ManagerSnapshot now = {};
        const char *names[_MANAGER_PROP_N_BUS + 1];
        size_t n = 0;
        int r;

        manager_snapshot(b->manager, &now);
        for (unsigned i = 0; i < _MANAGER_PROP_N_BUS; i++)
                if (now.fingerprint[i] != b->last.fingerprint[i])
                        names[n++] = uffdtier_manager_props[i].name;
        names[n] = NULL;
        b->last = now;
        if (n == 0)
                return;
        r = sd_bus_emit_properties_changed_strv(b->bus, UFFDTIER_BUS_PATH,
                                                UFFDTIER_BUS_MANAGER_INTERFACE, (char **) names);
        if (r < 0)
                log_debug_errno(r, "cannot send PropertiesChanged: %m");
}

/* The Manager's tick: everything that changed since the last one, at most once per interval. */
static void hook_cycle_done(void *u) {
        ManagerBus *b = u;

        emit_manager_changed(b);
        for (size_t i = 0; i < b->n_clients; i++) {
                ClientBusState *s = &b->clients[i];
                const Client *c = manager_find_client(b->manager, s->id);
                int r;

                if (!c)
                        continue;
                flush_evicted(b, s);
                if (s->tracked_bytes == client_tracked_bytes(c) &&
                    memcmp(&s->counters, client_counters(c), sizeof s->counters) == 0)
                        continue;
                s->tracked_bytes = client_tracked_bytes(c);
                s->counters = *client_counters(c);
                r = client_bus_emit_changed(b->bus, c);
                if (r < 0)
                        log_debug_errno(r, "client %" PRIu64 ": cannot send PropertiesChanged: %m",
                                        s->id);
        }
}

static const ManagerHooks manager_bus_hooks = {
        .client_added = hook_client_added,
        .client_removed = hook_client_removed,
        .evicted = hook_evicted,
        .cycle_done = hook_cycle_done,
};

/* ---- setup ---- */

static int bus_connect(const char *address, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (!address)
                return sd_bus_open_system_with_description(ret, "uffdtierd");
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        (void) sd_bus_set_description(bus, "uffdtierd");
        r = sd_bus_set_address(bus, address);
        if (r < 0)
                return r;
        r = sd_bus_set_bus_client(bus, true);
        if (r < 0)
                return r;
        /* like the system bus: every caller is checked, none is trusted for being connected */
        r = sd_bus_set_trusted(bus, false);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

int manager_bus_new(Manager *m, const char *address, sd_bus_error *ret_error, ManagerBus **ret) {
        _cleanup_(manager_bus_freep) ManagerBus *b = NULL;
        int r;

        r = bus_error_register();
        if (r < 0)
                return sd_bus_error_set_errnof(ret_error, -r, "cannot register the bus errors");
        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->manager = m;

        r = bus_connect(address, &b->bus);
        if (r < 0)
                return sd_bus_error_set_errnof(ret_error, -r, "cannot connect to %s: %s",
                                               address ?: "the system bus", strerror(-r));
        r = sd_bus_add_filter(b->bus, NULL, on_bus_filter, b);
        if (r < 0)
                return sd_bus_error_set_errnof(ret_error, -r, "cannot add the bus filter: %s",
                                               strerror(-r));
        r = sd_bus_add_object_vtable(b->bus, NULL, UFFDTIER_BUS_PATH,
                                     UFFDTIER_BUS_MANAGER_INTERFACE, manager_vtable, b);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(b->bus, NULL, UFFDTIER_BUS_CLIENT_PREFIX,
                                               UFFDTIER_BUS_CLIENT_INTERFACE, client_bus_vtable,
                                               client_bus_find, m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(b->bus, NULL, UFFDTIER_BUS_CLIENT_PREFIX,
                                               client_bus_enumerate, m);
        if (r < 0)
                return sd_bus_error_set_errnof(ret_error, -r, "cannot register the bus objects: %s",
                                               strerror(-r));
        r = sd_bus_request_name(b->bus, UFFDTIER_BUS_NAME, 0);
        if (r < 0)
                return sd_bus_error_set_errnof(
                        ret_error, -r, "cannot own the name " UFFDTIER_BUS_NAME " (%s)%s",
                        strerror(-r),
                        r == -EEXIST ? ": another uffdtierd runs"
                                : r == -EACCES
                                ? ": the bus policy does not allow it, see org.uffdtier1.conf"
                                : "");
        r = sd_bus_attach_event(b->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return sd_bus_error_set_errnof(
                        ret_error, -r, "cannot attach the bus to the event loop: %s", strerror(-r));
        /* the clients already there (none at start-up, but the order is not ours to assume) */
        for (const Client *c = m->clients; c; c = c->clients_next)
                hook_client_added(b, c);
        manager_snapshot(m, &b->last);
        r = manager_set_hooks(m, &manager_bus_hooks, b);
        if (r < 0)
                return sd_bus_error_set_errnof(
                        ret_error, -r, "cannot start the notification timer: %s", strerror(-r));
        *ret = TAKE_PTR(b);
        return 0;
}

ManagerBus *manager_bus_free(ManagerBus *b) {
        if (!b)
                return NULL;
        if (b->manager && b->manager->hooks == &manager_bus_hooks)
                (void) manager_set_hooks(b->manager, NULL, NULL);
        if (b->bus) {
                (void) sd_bus_release_name(b->bus, UFFDTIER_BUS_NAME);
                (void) sd_bus_detach_event(b->bus);
        }
        bus_caller_forget();
        sd_bus_flush_close_unref(b->bus);
        free(b->clients);
        free(b);
        return NULL;
}
