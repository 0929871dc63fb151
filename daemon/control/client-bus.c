/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-caller.h"
#include "bus-error.h"
#include "bus-names.h"
#include "client-bus.h"
#include "client-props.h"
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

static int client_bus_append(sd_bus *bus, sd_bus_message *reply, unsigned idx, const Client *c) {
        PropValue v;

        if ((uffdtier_client_props[idx].flags & BUS_PROP_DETAIL) &&
            !bus_caller_may_see(bus_caller_uid(bus), c->uid))
                prop_value_hidden(&v);
        else
                client_prop_get(c, idx, &v);
        return prop_value_append(reply, uffdtier_client_props[idx].type, &v);
}

/* One getter per property, so none has to find out by name which one it is. */
#define GETTER(id, ...)                                                                           \
        static int property_get_##id(sd_bus *bus, const char *path, const char *interface,        \
                                     const char *property, sd_bus_message *reply, void *userdata, \
                                     sd_bus_error *ret_error) {                                   \
                return client_bus_append(bus, reply, CLIENT_PROP_##id, userdata);                 \
        }
UFFDTIER_CLIENT_PROPERTIES(GETTER)
#undef GETTER

/* A detail changes without its value in the signal, which every listener gets. */
#define VTABLE_FLAGS(flags)                                                             \
        ((flags) &BUS_PROP_CONST            ? SD_BUS_VTABLE_PROPERTY_CONST              \
                 : (flags) &BUS_PROP_DETAIL ? SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION \
                                            : SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)
#define PROPERTY(id, name, type, flags, ...) \
        SD_BUS_PROPERTY(name, BUS_SIG_##type, property_get_##id, 0, VTABLE_FLAGS(flags)),

const sd_bus_vtable client_bus_vtable[] = { SD_BUS_VTABLE_START(0),
                                            UFFDTIER_CLIENT_PROPERTIES(PROPERTY)
                                                    SD_BUS_VTABLE_END };

int client_bus_emit_changed(sd_bus *bus, const Client *c) {
        _cleanup_free_ char *path = NULL;
        const char *names[_CLIENT_PROP_N_BUS + 1];
        size_t n = 0;
        int r;

        r = client_bus_path(c->id, &path);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < _CLIENT_PROP_N_BUS; i++)
                if (uffdtier_client_props[i].flags & BUS_PROP_CHANGE)
                        names[n++] = uffdtier_client_props[i].name;
        names[n] = NULL;
        return sd_bus_emit_properties_changed_strv(bus, path, UFFDTIER_BUS_CLIENT_INTERFACE,
                                                   (char **) names);
}
