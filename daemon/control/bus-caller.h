/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who is asking: the effective uid of the sender of the bus message being served, for what the
 * bus shows to whom (docs/org.uffdtier1.5 "VISIBILITY"). Part of the Manager's second half. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#define BUS_CALLER_UNKNOWN ((uid_t) -1)

/* The sender's effective uid, asked of the bus once per message (a GetAll calls every getter),
 * BUS_CALLER_UNKNOWN when it cannot be learned or no message is being served (a signal). */
uid_t bus_caller_uid(sd_bus *bus);
/* Drops the message kept for the cache (before the bus goes). */
void bus_caller_forget(void);

/* Per-client detail is for root and for the client's own uid; an unknown caller sees none. */
static inline bool bus_caller_may_see(uid_t caller, uid_t owner) {
        return caller == 0 || (caller != BUS_CALLER_UNKNOWN && caller == owner);
}
