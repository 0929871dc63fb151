/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus API's names, shared by uffdtierd and uffdtierctl (docs/org.uffdtier1.5). */

#define UFFDTIER_BUS_NAME "org.uffdtier1"
#define UFFDTIER_BUS_PATH "/org/uffdtier1"
#define UFFDTIER_BUS_MANAGER_INTERFACE "org.uffdtier1.Manager"
#define UFFDTIER_BUS_CLIENT_INTERFACE "org.uffdtier1.Client"
/* One object per client: UFFDTIER_BUS_CLIENT_PREFIX "/<id>", the id in decimal. */
#define UFFDTIER_BUS_CLIENT_PREFIX "/org/uffdtier1/client"
/* Overrides the system bus for both the daemon (--bus-address=) and uffdtierctl. */
#define UFFDTIER_BUS_ADDRESS_ENV "UFFDTIER_BUS_ADDRESS"

#define UFFDTIER_BUS_ERROR_NO_SUCH_CLIENT "org.uffdtier1.Error.NoSuchClient"
#define UFFDTIER_BUS_ERROR_ACCESS_DENIED "org.uffdtier1.Error.AccessDenied"
#define UFFDTIER_BUS_ERROR_INVALID_ARGUMENT "org.uffdtier1.Error.InvalidArgument"
#define UFFDTIER_BUS_ERROR_NOT_SUPPORTED "org.uffdtier1.Error.NotSupported"
#define UFFDTIER_BUS_ERROR_BUSY "org.uffdtier1.Error.Busy"
#define UFFDTIER_BUS_ERROR_PAUSED "org.uffdtier1.Error.Paused"

/* Signature of one ListClients() entry: id, pid, name, cgroup, policy, tracked, resident,
 * evicted bytes. */
#define UFFDTIER_BUS_LIST_CLIENTS_ENTRY "(tusssttt)"

/* Buckets of WorkingSetBytes and AgeHistogramBytes: age 0, 1, 2-3, 4-7, ... 64-127 cycles. */
#define UFFDTIER_BUS_AGE_BUCKETS 8
