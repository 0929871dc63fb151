/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers shared by the daemon, the CLI and libuffdtier: cleanup attributes and ownership
 * transfer (TAKE_PTR/TAKE_FD), array sizes and rounding. Header-only so the client library can use
 * it without linking the daemon's core. */

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _pure_ __attribute__((pure))
#define _const_ __attribute__((const))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))
#define _public_ __attribute__((visibility("default")))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define DIV_ROUND_UP(x, y) (((x) + (y) -1) / (y))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x)) (a) -1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + (a) -1, (a))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x)) (a) -1)) == 0)

#define NSEC_PER_USEC 1000ULL
#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)
#define USEC_PER_DAY (24ULL * USEC_PER_HOUR)
#define USEC_INFINITY UINT64_MAX

/* Take ownership out of a variable that has a cleanup attribute. */
#define TAKE_PTR(p)                         \
        ({                                  \
                __typeof__(p) *_pp_ = &(p); \
                __typeof__(p) _pv_ = *_pp_; \
                *_pp_ = NULL;               \
                _pv_;                       \
        })
#define TAKE_FD(fd)                 \
        ({                          \
                int *_pfd_ = &(fd); \
                int _fdv_ = *_pfd_; \
                *_pfd_ = -EBADF;    \
                _fdv_;              \
        })

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* close() that preserves errno and accepts negative fds; returns -EBADF for reassignment. */
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void freep(void *p) {
        free(*(void **) p);
}
static inline void closep(int *fd) {
        safe_close(*fd);
}
static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Define a cleanup function for a pointer type whose destructor takes and returns the pointer. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p) {   \
                if (*p)                         \
                        func(*p);               \
        }

/* -errno from a libc call that returned -1, never 0 even if errno was clobbered. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

static inline size_t page_size(void) {
        static size_t ps;
        if (_unlikely_(ps == 0))
                ps = (size_t) sysconf(_SC_PAGESIZE);
        return ps;
}

/* CLOCK_MONOTONIC in microseconds: what sd-event timers use. */
static inline uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

#define streq(a, b) (strcmp((a), (b)) == 0)

/* Equal strings, or both NULL. */
static inline bool streq_ptr(const char *a, const char *b) {
        return a && b ? streq(a, b) : a == b;
}
