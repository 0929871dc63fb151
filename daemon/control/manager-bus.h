/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus API (docs/org.uffdtier1.5): org.uffdtier1 on the system bus, the Manager object
 * /org/uffdtier1 (manager-bus.c) and one object per client (client-bus.c). The Manager's second
 * half: main -> ManagerBus -> Manager. It calls manager_* and client getters and learns of
 * changes through ManagerHooks; nothing below includes this header. */

#include <systemd/sd-bus.h>

#include "manager.h"

typedef struct ManagerBus ManagerBus;

/* Connects (address NULL: the system bus), registers the objects, requests the name and
 * attaches to the Manager's event loop; after manager_startup(). ret_error says which step
 * failed. */
int manager_bus_new(Manager *m, const char *address, sd_bus_error *ret_error, ManagerBus **ret);
/* Clears the Manager's hooks, releases the name, closes the connection. NULL is fine. */
ManagerBus *manager_bus_free(ManagerBus *b);

static inline void manager_bus_freep(ManagerBus **b) {
        if (*b)
                manager_bus_free(*b);
}
