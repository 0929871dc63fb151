/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int max_level = LOG_INFO;
static int prefix_mode = -1; /* -1 auto, 0 never, 1 always */
static const char *ident;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_prefix_mode(int mode) {
        prefix_mode = mode;
}

void log_set_ident(const char *s) {
        ident = s;
}

int log_level_from_string(const char *s) {
        static const char *const names[] = {
                [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",     [LOG_CRIT] = "crit",
                [LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(s, names[i]) == 0)
                        return (int) i;
        if (strcmp(s, "error") == 0)
                return LOG_ERR;
        return -EINVAL;
}

static int want_prefix(void) {
        if (prefix_mode >= 0)
                return prefix_mode;
        /* The journal's stdout stream sets $JOURNAL_STREAM; a pipe or file is most likely the
         * journal or a test log too, where the level is worth keeping. */
        return getenv("JOURNAL_STREAM") || !isatty(STDERR_FILENO);
}

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) {
        char buf[2048];
        int saved = errno;
        va_list ap;

        if (error < 0)
                error = -error;
        /* Let "%m" in fmt refer to the error passed in, not to whatever errno happens to be. */
        errno = error;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);

        if (want_prefix())
                fprintf(stderr, "<%d>", level & LOG_PRIMASK);
        if (ident)
                fprintf(stderr, "%s: ", ident);
        if (max_level >= LOG_DEBUG)
                fprintf(stderr, "%s:%d: ", file, line);
        fprintf(stderr, "%s\n", buf);

        errno = saved;
        return error > 0 ? -error : 0;
}

bool log_ratelimit_allow(LogRatelimit *rl, uint64_t now, unsigned *ret_suppressed) {
        *ret_suppressed = 0;
        if (rl->window_start_usec == 0 ||
            now - rl->window_start_usec >= LOG_RATELIMIT_INTERVAL_USEC ||
            now < rl->window_start_usec) {
                *ret_suppressed = rl->suppressed;
                rl->window_start_usec = now;
                rl->n = 0;
                rl->suppressed = 0;
        }
        if (rl->n >= LOG_RATELIMIT_BURST) {
                rl->suppressed++;
                return false;
        }
        rl->n++;
        return true;
}
