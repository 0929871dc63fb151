/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A client's facts (bus-props.h UFFDTIER_CLIENT_PROPERTIES and _VALUES) computed from the
 * Client, and the STATUS reply they make. The bus and the dump render the same values. */

#include "client.h"
#include "prop-value.h"
#include "protocol.h"

/* idx: CLIENT_PROP_*. */
void client_prop_get(const Client *c, unsigned idx, PropValue *ret);

/* The STATUS reply: every fact with a status name, then the ranges (as many as fit in one
 * message). */
int client_status_reply(const Client *c, ProtoMessage *reply);
