/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Manager's facts (bus-props.h UFFDTIER_MANAGER_PROPERTIES and _VALUES) computed from the
 * Manager, for the bus and the dump. */

#include "manager.h"
#include "prop-value.h"

/* idx: MANAGER_PROP_*; t: manager_get_totals() of now. */
void manager_prop_get(Manager *m, const ManagerTotals *t, unsigned idx, PropValue *ret);
