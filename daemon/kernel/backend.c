/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "backend.h"
#include "macro.h"

static const char *const backend_table[_BACKEND_MAX] = {
        [BACKEND_NONE] = "none",
        [BACKEND_WP_ASYNC] = "wp-async",
        [BACKEND_RWP] = "rwp",
};

const char *backend_to_string(Backend b) {
        if (b < 0 || b >= _BACKEND_MAX)
                return NULL;
        return backend_table[b];
}

Backend backend_from_string(const char *s) {
        if (!s)
                return _BACKEND_INVALID;
        for (Backend b = 0; b < _BACKEND_MAX; b++)
                if (streq(s, backend_table[b]))
                        return b;
        return _BACKEND_INVALID;
}
