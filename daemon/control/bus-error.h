/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus API's named errors (org.uffdtier1.Error.*), in one place. The map makes
 * sd_bus_error_set_errno*() pick these names for the daemon's errnos, so a -errno from the
 * Manager reaches the caller with a name: ESRCH -> NoSuchClient, EPERM/EACCES -> AccessDenied,
 * EINVAL/ERANGE -> InvalidArgument, EOPNOTSUPP -> NotSupported, EBUSY -> Busy. */

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "macro.h"

extern const sd_bus_error_map uffdtier_bus_error_map[];

/* sd-bus names errnos itself (EOPNOTSUPP -> org.freedesktop.DBus.Error.NotSupported, ESRCH ->
 * ...UnixProcessIdUnknown) and consults added maps only for name -> errno. For an error that
 * came from the Manager (set with sd_bus_error_set_errnof()), this gives it our name for its
 * errno, keeping the message. Returns the -errno. r: the Manager's return value. */
int bus_error_rename(sd_bus_error *e, int r);

/* Registers the map with sd-bus (once per process; idempotent). */
int bus_error_register(void);

/* Each sets ret_error with a message saying what to do and returns the mapped -errno. */
int bus_error_no_such_client(sd_bus_error *ret_error, uint64_t id);
int bus_error_access_denied(sd_bus_error *ret_error, const char *method);
int bus_error_invalid_argument(sd_bus_error *ret_error, const char *fmt, ...) _printf_(2, 3);
