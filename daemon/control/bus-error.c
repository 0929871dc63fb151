/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-error.h"

/* The first entry for an errno is the name sd-bus gives it; the others map names back. */
const sd_bus_error_map uffdtier_bus_error_map[] = {
        SD_BUS_ERROR_MAP(UFFDTIER_BUS_ERROR_NO_SUCH_CLIENT, ESRCH),
        SD_BUS_ERROR_MAP(UFFDTIER_BUS_ERROR_ACCESS_DENIED, EPERM),
        SD_BUS_ERROR_MAP(UFFDTIER_BUS_ERROR_ACCESS_DENIED, EACCES),
        SD_BUS_ERROR_MAP(UFFDTIER_BUS_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(UFFDTIER_BUS_ERROR_INVALID_ARGUMENT, ERANGE),
        SD_BUS_ERROR_MAP(UFFDTIER_BUS_ERROR_NOT_SUPPORTED, EOPNOTSUPP),
        SD_BUS_ERROR_MAP(UFFDTIER_BUS_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP_END
};

int bus_error_register(void) {
        static bool done;
        int r;

        if (done)
                return 0;
        r = sd_bus_error_add_map(uffdtier_bus_error_map);
        if (r < 0)
                return r;
        done = true;
        return 0;
}

int bus_error_rename(sd_bus_error *e, int r) {
        _cleanup_free_ char *msg = NULL;
        int err = sd_bus_error_is_set(e) ? sd_bus_error_get_errno(e) : (r < 0 ? -r : r);
        const char *name = NULL;

        for (const sd_bus_error_map *m = uffdtier_bus_error_map; m->name; m++)
                if (m->code == err) {
                        name = m->name;
                        break;
                }
        if (!name || (sd_bus_error_is_set(e) && streq(e->name, name)))
                return sd_bus_error_is_set(e) ? -err : r;
        msg = strdup(sd_bus_error_is_set(e) && e->message ? e->message : strerror(err));
        if (!msg)
                return -ENOMEM;
        sd_bus_error_free(e);
        return sd_bus_error_set(e, name, msg);
}

int bus_error_no_such_client(sd_bus_error *ret_error, uint64_t id) {
        return sd_bus_error_setf(ret_error, UFFDTIER_BUS_ERROR_NO_SUCH_CLIENT,
                                 "No client with id %" PRIu64 ": it has exited or was never there "
                                 "(ListClients() shows the current ones).",
                                 id);
}

int bus_error_access_denied(sd_bus_error *ret_error, const char *method) {
        return sd_bus_error_setf(ret_error, UFFDTIER_BUS_ERROR_ACCESS_DENIED,
                                 "%s() changes what the daemon does and is for root only.", method);
}

int bus_error_invalid_argument(sd_bus_error *ret_error, const char *fmt, ...) {
        char buf[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        return sd_bus_error_set(ret_error, UFFDTIER_BUS_ERROR_INVALID_ARGUMENT, buf);
}
