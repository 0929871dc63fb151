/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.uffdtier1.Client: one object per client at /org/uffdtier1/client/<id>, served by a
 * fallback vtable whose find callback looks the id up in the Manager on every call, so a client
 * that went away answers NoSuchClient. Part of the Manager's second half: reads the Manager and
 * client getters only. */

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "manager.h"

extern const sd_bus_vtable client_bus_vtable[];

/* The fallback's find callback and node enumerator; userdata: the Manager. */
int client_bus_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                    void **ret_found, sd_bus_error *ret_error);
int client_bus_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                         sd_bus_error *ret_error);

/* "/org/uffdtier1/client/<id>"; -ENOMEM. */
int client_bus_path(uint64_t id, char **ret);
/* The inverse: -EINVAL unless path is the prefix, "/" and a decimal id without leading zeros. */
int client_bus_path_to_id(const char *path, uint64_t *ret_id);

/* PropertiesChanged for the client's counters (the tick calls it for clients that changed). */
int client_bus_emit_changed(sd_bus *bus, const Client *c);
