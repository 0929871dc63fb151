/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Dump(): everything the daemon knows, as one JSON document (the only jansson user of the bus
 * half; jansson's NULL-plus-json_error_t convention ends in manager-dump.c). */

#include "manager.h"

/* A NUL-terminated JSON object, to be freed with free(). -ENOMEM. */
/* caller: the uid asking; per-client details (bus-props.h BUS_PROP_DETAIL, and the ranges) are
 * left out of the clients it may not see (bus-caller.h). */
int manager_dump_json(Manager *m, uid_t caller, char **ret);
