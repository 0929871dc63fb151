/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholder until the configuration files land (conf.c defines the real manager_reload()):
 * lets the bus's Reload() method be built and tested. Dropped when conf.c is merged. */
#include <errno.h>

#include "manager.h"

int manager_reload(Manager *m, sd_bus_error *ret_error) {
        return sd_bus_error_set_errnof(ret_error, EOPNOTSUPP,
                                       "this build has no configuration files to reload");
}
