/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging to stderr. Under systemd (or whenever stderr is not a terminal) every line carries an
 * sd-daemon "<N>" priority prefix so the journal keeps the level. Never used by libuffdtier. */

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "macro.h"

void log_set_max_level(int level);
int log_get_max_level(void);
/* Force ("yes"), suppress ("no") or auto-detect the "<N>" prefixes; for tests. */
void log_set_prefix_mode(int mode);
void log_set_ident(const char *ident);
int log_level_from_string(const char *s);

/* Returns -abs(error) when error != 0, else 0, so callers can `return log_error_errno(r, ...)`. */
int log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
        _printf_(5, 6);

#define log_full_errno(level, error, ...)                                           \
        ({                                                                          \
                int _lvl_ = (level), _e_ = (error);                                 \
                (_lvl_ <= log_get_max_level())                                      \
                        ? log_internal(_lvl_, _e_, __FILE__, __LINE__, __VA_ARGS__) \
                        : (_e_ > 0 ? -_e_ : _e_);                                   \
        })
#define log_full(level, ...) ((void) log_full_errno(level, 0, __VA_ARGS__))

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

/* %m in the format prints strerror(error) (we set errno before formatting). */
#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, error, __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, error, __VA_ARGS__)
#define log_notice_errno(error, ...) log_full_errno(LOG_NOTICE, error, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, error, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, error, __VA_ARGS__)
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")

/* At most LOG_RATELIMIT_BURST lines per LOG_RATELIMIT_INTERVAL_USEC from one call site's state,
 * for what a client can make the daemon say again and again; the next line allowed says how many
 * were suppressed. */
typedef struct LogRatelimit {
        uint64_t window_start_usec;
        unsigned n;
        unsigned suppressed;
} LogRatelimit;

#define LOG_RATELIMIT_BURST 5U
#define LOG_RATELIMIT_INTERVAL_USEC (10ULL * 1000000ULL)

bool log_ratelimit_allow(LogRatelimit *rl, uint64_t now_usec, unsigned *ret_suppressed);

#define log_ratelimited(rl, level, ...)                                                     \
        do {                                                                                \
                unsigned _sup_;                                                             \
                if (log_ratelimit_allow((rl), now_usec(), &_sup_)) {                        \
                        if (_sup_ > 0)                                                      \
                                log_full(level, "(%u similar messages suppressed)", _sup_); \
                        log_full(level, __VA_ARGS__);                                       \
                }                                                                           \
        } while (0)
