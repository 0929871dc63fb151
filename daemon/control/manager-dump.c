/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bus-caller.h"
#include "client-props.h"
#include "macro.h"
#include "manager-props.h"
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

static json_t *value_to_json(BusType type, const PropValue *v) {
        json_t *a;

        switch (type) {
        case BUS_TYPE_STR:
                return json_string(v->s);
        case BUS_TYPE_I32:
                return json_integer((json_int_t) v->i);
        case BUS_TYPE_BOOL:
                return json_boolean(v->u);
        case BUS_TYPE_STRV:
                a = json_array();
                for (size_t i = 0; a && v->nth && v->nth(v->obj, i); i++)
                        if (json_array_append_new(a, json_string(v->nth(v->obj, i))) < 0) {
                                json_decref(a);
                                return NULL;
                        }
                return a;
        case BUS_TYPE_BUCKETS:
                return u64_array(v->b, UFFDTIER_BUS_AGE_BUCKETS);
        default:
                return json_integer((json_int_t) v->u);
        }
}

/* o's member at a table's dump key: "key", or "section.key" in the object o.section (made
 * when missing). Takes v. */
static int set_at(json_t *o, const char *key, json_t *v) {
        const char *dot = strchr(key, '.');

        if (dot) {
                _cleanup_free_ char *section = strndup(key, dot - key);
                json_t *sub = section ? json_object_get(o, section) : NULL;

                if (section && !sub && set_new(o, section, sub = json_object()) < 0)
                        sub = NULL;
                if (!sub) {
                        json_decref(v);
                        return -ENOMEM;
                }
                o = sub;
                key = dot + 1;
        }
        return set_new(o, key, v);
}

/* Dump lists this many ranges of a client at most: its size stays bounded by the number of
 * clients (ranges_per_client may be large), like the status reply's packet. */
#define DUMP_RANGES_PER_CLIENT_MAX 64U

static int dump_client(const Client *c, bool detail, json_t **ret) {
        json_auto_t *o = json_object(), *ranges = json_array();
        int r = o && ranges ? 0 : -ENOMEM;

        for (unsigned i = 0; r >= 0 && i < _CLIENT_PROP_MAX; i++) {
                const BusProp *p = &uffdtier_client_props[i];
                PropValue v;

                if (!p->dump || (!detail && (p->flags & BUS_PROP_DETAIL)))
                        continue;
                client_prop_get(c, i, &v);
                r = set_at(o, p->dump, value_to_json(p->type, &v));
        }
        /* the addresses are the layout of the process: a detail */
        for (size_t i = 0;
             r >= 0 && detail && i < MIN(c->ranges.n_ranges, DUMP_RANGES_PER_CLIENT_MAX); i++) {
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
        if (r >= 0 && detail)
                r = set_new(o, "ranges", json_incref(ranges));
        /* the rest is counted, not listed (tracked_bytes covers them all) */
        if (r >= 0)
                r = set_u64(o, "ranges_omitted",
                            c->ranges.n_ranges -
                                    MIN(c->ranges.n_ranges, DUMP_RANGES_PER_CLIENT_MAX));
        if (r < 0)
                return r;
        *ret = json_incref(o);
        return 0;
}

/* The swap set-up's details beyond the Manager's properties (the table puts those in "swap"
 * too). */
static int dump_swap(const SwapSetup *s, json_t *o) {
        json_auto_t *devices = json_array();
        int r = o && devices ? 0 : -ENOMEM;

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
        return r;
}

int manager_dump_json(Manager *m, uid_t caller, char **ret) {
        json_auto_t *o = json_object(), *clients = json_array();
        json_t *probe = NULL;
        ManagerTotals t;
        char *s;
        int r = o && clients ? 0 : -ENOMEM;

        manager_get_totals(m, &t);
        for (unsigned i = 0; r >= 0 && i < _MANAGER_PROP_MAX; i++) {
                const BusProp *p = &uffdtier_manager_props[i];
                PropValue v;

                if (!p->dump)
                        continue;
                manager_prop_get(m, &t, i, &v);
                r = set_at(o, p->dump, value_to_json(p->type, &v));
        }
        if (r >= 0 && probe_to_json(&m->probe, &m->probe_result, &probe) >= 0)
                r = set_new(o, "kernel", probe);
        if (r >= 0)
                r = dump_swap(manager_swap_setup(m), json_object_get(o, "swap"));

        for (const Client *c = m->clients; r >= 0 && c; c = c->clients_next) {
                json_t *e = NULL;

                r = dump_client(c, bus_caller_may_see(caller, c->uid), &e);
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
