/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-caller.h"
#include "macro.h"

/* The last message asked about, held so that its address is not reused while it is cached. */
static sd_bus_message *cached_message;
static uid_t cached_uid = BUS_CALLER_UNKNOWN;

uid_t bus_caller_uid(sd_bus *bus) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        sd_bus_message *m = bus ? sd_bus_get_current_message(bus) : NULL;
        uid_t uid;

        if (!m)
                return BUS_CALLER_UNKNOWN;
        if (m == cached_message)
                return cached_uid;
        bus_caller_forget();
        if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds) < 0 ||
            sd_bus_creds_get_euid(creds, &uid) < 0)
                uid = BUS_CALLER_UNKNOWN; /* fail closed: no detail */
        cached_message = sd_bus_message_ref(m);
        cached_uid = uid;
        return uid;
}

void bus_caller_forget(void) {
        cached_message = sd_bus_message_unref(cached_message);
        cached_uid = BUS_CALLER_UNKNOWN;
}
