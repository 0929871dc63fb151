/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The access-tracking backends: which userfaultfd mode the daemon tracks with. The probe picks
 * one (probe.h), the engine works with it (tracker.h); neither needs the other for the name. */

#include <errno.h>

typedef enum Backend {
        BACKEND_NONE,
        BACKEND_WP_ASYNC,
        BACKEND_RWP,
        _BACKEND_MAX,
        _BACKEND_INVALID = -EINVAL,
} Backend;

/* "none", "wp-async", "rwp"; NULL when out of range. */
const char *backend_to_string(Backend b);
/* The inverse; _BACKEND_INVALID (-EINVAL) for NULL or an unknown name. */
Backend backend_from_string(const char *s);
