/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef UFFDTIER_H
#define UFFDTIER_H

/* libuffdtier: hand memory of the calling process over to uffdtierd, the memory-tiering daemon.
 *
 * A program connects once, which gives the daemon a userfaultfd for the program's address space,
 * then names the ranges it wants tiered. The daemon watches which pages are used and moves cold
 * ones out; the program keeps using its memory as before. See libuffdtier(3).
 *
 * Every function returns 0 on success or a negative errno-style code; the library never logs,
 * never exits and keeps no global state. A handle may be used from several threads at once (the
 * calls are serialised), but only in the process that connected it: after fork() the child must
 * not use its copy (calls fail with -EBADFD) and should just uffdtier_disconnect() it. Errors that
 * every request can return, in addition to those listed per function:
 *
 *   -EINVAL        an argument is invalid (NULL handle, bad string, bad range)
 *   -ENOMEM        out of memory
 *   -ETIMEDOUT     the daemon did not answer within 10 seconds
 *   -ECONNRESET, -EPIPE
 *                  the daemon closed the connection (it exited, restarted or dropped this client);
 *                  the handle is unusable afterwards until uffdtier_reconnect() succeeds (or
 *                  disconnect it and connect again)
 *   -EPROTO        the daemon sent something this library cannot understand
 *   -EBADFD        the handle belongs to another process (used after fork())
 *   other -errno   reported by the daemon: uffdtier_last_error() says why in its own words
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The default path of the daemon's handoff socket; $UFFDTIER_SOCKET overrides it. */
#define UFFDTIER_SOCKET_PATH "/run/uffdtierd/handoff.sock"

/* Flags for uffdtier_connect(). */
enum {
        /* Never fall back to a UFFD_USER_MODE_ONLY userfaultfd. With such a descriptor, kernel
         * accesses to tiered memory (read(2) into it, O_DIRECT, vmsplice) can fail with EFAULT
         * while the daemon samples; programs doing I/O into tiered memory should set this and
         * rather get -EPERM from uffdtier_connect(). */
        UFFDTIER_CONNECT_NO_USER_MODE_ONLY = 1u << 0,
        /* Use a UFFD_USER_MODE_ONLY userfaultfd even when a full one is available. */
        UFFDTIER_CONNECT_USER_MODE_ONLY = 1u << 1,
};

/* Limits (the daemon enforces the same ones). */
#define UFFDTIER_NAME_MAX 64 /* bytes of a client or range name */
#define UFFDTIER_LABEL_MAX 256 /* bytes of one "key=value" label */
#define UFFDTIER_LABELS_MAX 32 /* labels per uffdtier_track() call */
#define UFFDTIER_ERROR_MAX 512 /* bytes of a daemon error message, without the NUL */

struct uffdtier;

struct uffdtier_counter {
        const char *name; /* e.g. "tracked_bytes" */
        uint64_t value;
};

struct uffdtier_range {
        void *addr;
        size_t len;
        const char *name; /* NULL when the range has no name */
};

/* A snapshot of what the daemon knows about this client. Allocated by uffdtier_status(), freed
 * (with everything it points to) by uffdtier_status_free(). Later versions may add fields at
 * the end; never allocate or copy this structure yourself. */
struct uffdtier_status {
        const char *backend; /* how pages are tracked, e.g. "rwp" or "wp-async"; may be NULL */
        size_t n_counters;
        const struct uffdtier_counter *counters;
        size_t n_ranges;
        const struct uffdtier_range *ranges; /* the ranges the daemon tracks for this client */
};

/* Connects to the daemon and hands it a userfaultfd for this process, a pidfd and the process's
 * pagemap. socket_path NULL means $UFFDTIER_SOCKET, else UFFDTIER_SOCKET_PATH. name (may be NULL)
 * identifies the program in the daemon's logs and status; at most UFFDTIER_NAME_MAX bytes of
 * printable UTF-8. flags: UFFDTIER_CONNECT_*.
 *   -EINVAL        unknown flags, both USER_MODE flags, invalid name
 *   -ENAMETOOLONG  socket_path does not fit in a unix socket address
 *   -ENOENT, -ECONNREFUSED
 *                  no daemon listens on socket_path
 *   -EACCES        not allowed to connect to socket_path
 *   -EPERM         no userfaultfd may be created (vm.unprivileged_userfaultfd=0 and no access to
 *                  /dev/userfaultfd, and the user-mode-only fallback is off or failed), or the
 *                  daemon refuses this client
 *   -ENOSYS        the kernel has no userfaultfd or no pidfd_open()
 *   -EPROTONOSUPPORT
 *                  the daemon speaks another protocol version
 *   -EOPNOTSUPP    the daemon cannot tier this process's memory (e.g. the kernel lacks a feature)
 *   -EUSERS        the daemon has too many clients
 * On success *ret is a new handle. */
int uffdtier_connect(const char *socket_path, const char *name, unsigned flags,
                     struct uffdtier **ret);

/* Asks the daemon to tier [addr, addr + len). addr must be page aligned; len is rounded up to a
 * whole page. The range must be mapped, private anonymous memory (or what the daemon's backend
 * supports). name (may be NULL) and labels (a NULL-terminated array of "key=value" strings, or
 * NULL) are matched against the daemon's policy.
 *   -EINVAL        addr not aligned, len 0, range wraps, invalid name or label; or the daemon
 *                  refuses the range (not mapped, unsupported mapping type)
 *   -E2BIG         more than UFFDTIER_LABELS_MAX labels
 *   -EEXIST        two labels with the same key, or the range overlaps one already tracked
 *   -ENOSPC        the daemon's limit on tracked ranges or bytes is reached
 *   -EPERM         the daemon's policy does not allow tiering this range */
int uffdtier_track(struct uffdtier *h, void *addr, size_t len, const char *name,
                   const char *const *labels);

/* Stops tiering [addr, addr + len) (same alignment rules as uffdtier_track()); evicted pages
 * come back on their next access as usual.
 *   -ENOENT        nothing in the range is tracked */
int uffdtier_untrack(struct uffdtier *h, void *addr, size_t len);

/* Fetches the daemon's view of this client. On success *ret must be freed with
 * uffdtier_status_free(). */
int uffdtier_status(struct uffdtier *h, struct uffdtier_status **ret);
void uffdtier_status_free(struct uffdtier_status *status);
/* Looks a counter up by name: -ENOENT when the daemon did not report it. */
int uffdtier_status_get_counter(const struct uffdtier_status *status, const char *name,
                                uint64_t *ret);

/* Copies the text explaining why the most recent failed call on h failed (the daemon's MESSAGE,
 * or the library's own explanation, e.g. of a timeout) into buf, NUL-terminated and cut to fit.
 * A successful call clears it. With h NULL: why this thread's last uffdtier_connect() failed
 * (its handle is gone), e.g. the daemon's refusal of the handoff.
 *   -ENODATA       the last call succeeded (buf is set to "")
 *   -EINVAL        buf is NULL, or size is 0 */
int uffdtier_last_error(struct uffdtier *h, char *buf, size_t size);

/* Starts a new session on the handle, with the daemon now listening on the socket it connected
 * to (same name and flags, a new userfaultfd), and hands it every range the handle tracks again,
 * with its name and labels: call it when a request failed with -ECONNRESET or -EPIPE because the
 * daemon restarted, or at any time (a live session is ended with a goodbye first). The library
 * does not reconnect by itself. The ranges are the ones uffdtier_track() was given, minus what
 * uffdtier_untrack() took out since.
 *   -ENOENT, -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET, ...
 *                  no new session (no daemon yet): the handle stays unusable and keeps its
 *                  ranges, call again later
 *   -EINVAL, -EPERM, ... (the daemon's refusal of a range)
 *                  the session is new and usable, but a range was refused (e.g. unmapped or moved
 *                  by mremap() since): that range is forgotten, every other one was handed over;
 *                  uffdtier_last_error() names the first refused range
 * (Since LIBUFFDTIER_2.) */
int uffdtier_reconnect(struct uffdtier *h);

/* Asks the daemon to follow this whole process from now on: it tracks, by itself, every private
 * anonymous readable and writable mapping (the heap, allocator arenas, large mmap()s; not stacks,
 * shared, file-backed or hugetlb memory) that lies in a run of adjacent such mappings of at least
 * min_bytes (rounded up to a page; 0: every one), picks new ones and growth up within one scan
 * interval, and forgets what is unmapped. name and labels (as for uffdtier_track()) are given to
 * those ranges for the daemon's policy. uffdtier_track() and uffdtier_untrack() are refused
 * afterwards. What uffdtier-run(1) and its preload library use. Needs a daemon of protocol
 * revision 2 (uffdtier 0.2).
 *   -EOPNOTSUPP    the daemon does not know FOLLOW (an older uffdtierd)
 *   -EALREADY      the process is followed already
 *   -EBUSY         this handle tracks ranges of its own
 * (Since LIBUFFDTIER_3.) */
int uffdtier_follow(struct uffdtier *h, uint64_t min_bytes, const char *name,
                    const char *const *labels);

/* Says goodbye to the daemon (waits at most 1 second for its answer), closes the connection and
 * frees h. The daemon then stops tiering this process and leaves its memory resident or lets it
 * come back on access. Returns the result of the goodbye (h is freed in any case); NULL is a
 * no-op returning 0. In a forked child it only frees the handle. */
int uffdtier_disconnect(struct uffdtier *h);

#ifdef __cplusplus
}
#endif

#endif
