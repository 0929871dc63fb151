/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libuffdtier: the client side of the handoff protocol (docs/PROTOCOL.md). Never logs, never
 * exits: every failure is a -errno plus a text kept in the handle for uffdtier_last_error(). */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "lib-ranges.h"
#include "macro.h"
#include "protocol-io.h"
#include "protocol.h"
#include "uapi.h"
#include "uffd-create.h"
#include "uffdtier.h"

/* How long a request waits for the daemon. The daemon answers from its event loop, so anything
 * close to this means it is stuck or gone; long enough not to fire on a loaded machine. */
#define REQUEST_TIMEOUT_USEC PROTO_REPLY_TIMEOUT_USEC
/* BYE is a courtesy: do not hold up a program's exit for it. */
#define BYE_TIMEOUT_USEC (1 * USEC_PER_SEC)
/* Pause between connect() attempts while the daemon's listen backlog is full. */
#define CONNECT_RETRY_USEC (10 * USEC_PER_MSEC)

#define CONNECT_FLAGS_ALL (UFFDTIER_CONNECT_NO_USER_MODE_ONLY | UFFDTIER_CONNECT_USER_MODE_ONLY)

struct uffdtier {
        pthread_mutex_t lock; /* serialises requests: one request/reply pair at a time */
        int fd; /* SOCK_SEQPACKET, non-blocking; waits go through poll() */
        pid_t pid; /* the process that connected; a forked child must not talk */
        uint32_t seq;
        bool broken; /* the daemon hung up: nothing more can be sent */
        /* what uffdtier_reconnect() needs to start the same session with a new daemon */
        char *socket_path;
        char *name; /* NULL: none */
        unsigned flags;
        LibRanges ranges; /* tracked, as the program named them */
        char last_error[PROTO_TEXT_MAX_BYTES + 1];
        uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
};

_printf_(3, 4) static int set_error(struct uffdtier *h, int error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(h->last_error, sizeof h->last_error, format, ap);
        va_end(ap);
        return error;
}

/* Waits until fd is ready for events or the deadline passes: 0, -ETIMEDOUT, or -errno. */
static int wait_fd(int fd, short events, uint64_t deadline_usec) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = events };
                uint64_t now = now_usec();
                int r, timeout_ms;

                if (now >= deadline_usec)
                        return -ETIMEDOUT;
                timeout_ms = (int) DIV_ROUND_UP(deadline_usec - now, USEC_PER_MSEC);
                r = poll(&p, 1, timeout_ms);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return negative_errno();
                if (r > 0)
                        return 0; /* readable, writable, or POLLHUP/POLLERR: the I/O call tells */
        }
}

/* Sends req (with seq assigned here) and waits for the REPLY with the same seq. fds, if any, go
 * along with the request and are closed as soon as it is sent, before waiting: the daemon must
 * hold the only copy of a userfaultfd (kernel-interfaces.md §5). Called with h->lock held.
 * A REPLY with an error sets the handle's error text and returns -error. */
static int request(struct uffdtier *h, ProtoMessage *req, int *fds, size_t n_fds,
                   uint64_t timeout_usec, ProtoMessage *ret_reply) {
        const char *what = proto_type_to_string(req->type);
        uint64_t deadline = now_usec() + timeout_usec;
        bool reset_seen = false;
        size_t len;
        int r;

        if (h->broken)
                return set_error(h, -ECONNRESET, "The connection to uffdtierd was lost earlier.");

        /* seq 0 is the daemon's: it answers with 0 what it cannot attribute to a request. */
        if (++h->seq == 0)
                h->seq = 1;
        req->seq = h->seq;
        r = proto_encode(req, h->buf, sizeof h->buf, &len);
        if (r < 0)
                return set_error(h, r, "Cannot encode the %s request: %s", what, strerror(-r));

        for (;;) {
                r = proto_send(h->fd, h->buf, len, fds, n_fds);
                if (r != -EAGAIN)
                        break;
                r = wait_fd(h->fd, POLLOUT, deadline);
                if (r < 0)
                        break;
        }
        if (r == -ETIMEDOUT)
                return set_error(h, r,
                                 "uffdtierd did not accept the %s request within %" PRIu64 " s.",
                                 what, (uint64_t) (timeout_usec / USEC_PER_SEC));
        if (r == -EPIPE || r == -ECONNRESET) {
                /* The daemon hung up, but it may have said why first (a refusal right after
                 * accept(), with seq 0): that is still queued for us, and the loop below finds
                 * it, or end-of-file. */
                h->broken = true;
        } else if (r < 0)
                return set_error(h, r, "Cannot send the %s request: %s", what, strerror(-r));
        else if (fds)
                proto_close_fds(fds, n_fds);

        for (;;) {
                _cleanup_proto_message_ ProtoMessage reply = {};
                char reason[PROTO_REASON_MAX_BYTES];

                r = proto_recv(h->fd, h->buf, sizeof h->buf, &len, NULL, 0, NULL);
                if (r == -EAGAIN) {
                        r = wait_fd(h->fd, POLLIN, deadline);
                        if (r == -ETIMEDOUT) {
                                /* Whatever the daemon did with the request, the session's state
                                 * is unknown now: hang up, so that the daemon lets go of all of
                                 * it (a reply that comes later could not be matched either).
                                 * uffdtier_reconnect() starts afresh. */
                                h->fd = safe_close(h->fd);
                                h->broken = true;
                                return set_error(h, r,
                                                 "uffdtierd did not answer the %s request within "
                                                 "%" PRIu64 " s; disconnected.",
                                                 what, (uint64_t) (timeout_usec / USEC_PER_SEC));
                        }
                        if (r < 0)
                                return set_error(h, r, "Cannot wait for uffdtierd: %s",
                                                 strerror(-r));
                        continue;
                }
                if (r == -EMSGSIZE)
                        return set_error(h, -EPROTO, "uffdtierd sent an oversized reply.");
                /* When the daemon closes its end with our request still unread, the kernel
                 * reports ECONNRESET once, ahead of whatever the daemon sent before closing:
                 * read on, that may be the reason (a refusal), and the end comes as EOF. */
                if (r == -ECONNRESET && !reset_seen) {
                        reset_seen = true;
                        h->broken = true;
                        continue;
                }
                if (r == -ECONNRESET || (r >= 0 && len == 0)) {
                        h->broken = true;
                        return set_error(h, -ECONNRESET,
                                         "uffdtierd closed the connection instead of answering "
                                         "the %s request.",
                                         what);
                }
                if (r < 0)
                        return set_error(h, r, "Cannot receive from uffdtierd: %s", strerror(-r));

                r = proto_decode(h->buf, len, reason, sizeof reason, &reply);
                if (r == -EPROTONOSUPPORT)
                        return set_error(h, r, "uffdtierd speaks another protocol: %s", reason);
                if (r == -ENOMEM)
                        return set_error(h, r, "Out of memory.");
                if (r < 0)
                        return set_error(h, -EPROTO, "Malformed reply from uffdtierd: %s", reason);
                if (reply.type != PROTO_REPLY)
                        return set_error(h, -EPROTO,
                                         "uffdtierd sent a %s message instead of a REPLY.",
                                         proto_type_to_string(reply.type));
                /* A late answer to an earlier request that timed out: skip it. An error with
                 * seq 0 is not attributable to a request (the daemon refusing the connection,
                 * or a packet it could not even parse the header of): it ends this one. */
                if (reply.seq != req->seq && !(reply.seq == 0 && reply.error != 0))
                        continue;
                if (reply.error != 0)
                        return set_error(h, -reply.error, "%s", reply.message);

                h->last_error[0] = 0;
                *ret_reply = reply;
                reply = (ProtoMessage){};
                return 0;
        }
}

/* Common entry checks, with the lock taken on success. */
static int enter(struct uffdtier *h) {
        if (!h)
                return -EINVAL;
        pthread_mutex_lock(&h->lock);
        if (h->pid != getpid()) {
                pthread_mutex_unlock(&h->lock);
                return -EBADFD;
        }
        return 0;
}

static int map_builder_error(struct uffdtier *h, int r, const char *what) {
        switch (r) {
        case -EINVAL:
                return set_error(h, r, "Invalid %s.", what);
        case -E2BIG:
                return set_error(h, r, "Too many %ss.", what);
        case -EEXIST:
                return set_error(h, r, "Duplicate %s.", what);
        default:
                return set_error(h, r, "Cannot add %s: %s", what, strerror(-r));
        }
}

/* ---- connecting ---- */

/* A userfaultfd for this process, uninitialised (the daemon does UFFDIO_API). /dev/userfaultfd
 * first: access to it is the administrator's way of allowing full (kernel-fault handling) uffds
 * without CAP_SYS_PTRACE. Then the syscall, which gives a full uffd when
 * vm.unprivileged_userfaultfd=1 or we are privileged. Last, unless the caller said no, a
 * user-mode-only uffd, which the syscall always permits. */
static int make_userfaultfd(unsigned flags, bool *ret_user_mode_only) {
        UffdCreateFlags cf = 0;
        UffdCreateInfo info;
        int fd;

        if (flags & UFFDTIER_CONNECT_USER_MODE_ONLY)
                cf |= UFFD_CREATE_USER_MODE_ONLY;
        else if (!(flags & UFFDTIER_CONNECT_NO_USER_MODE_ONLY))
                cf |= UFFD_CREATE_FALLBACK_USER_MODE_ONLY;
        fd = uffd_create(UFFD_DEVICE_PATH, cf, &info);
        if (fd < 0)
                return fd;
        *ret_user_mode_only = info.user_mode_only;
        return fd;
}

static int connect_socket(struct uffdtier *h, const char *path, uint64_t deadline) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t l = strlen(path);

        if (l == 0)
                return set_error(h, -EINVAL, "Empty socket path.");
        if (l >= sizeof sa.sun_path)
                return set_error(h, -ENAMETOOLONG, "Socket path is too long: %s", path);
        memcpy(sa.sun_path, path, l);

        h->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (h->fd < 0)
                return set_error(h, negative_errno(), "Cannot create a socket: %m");

        for (;;) {
                if (connect(h->fd, (struct sockaddr *) &sa, sizeof sa) >= 0)
                        return 0;
                /* A non-blocking AF_UNIX connect() fails with EAGAIN while the listen backlog
                 * is full; there is nothing to poll() for, so retry for a while. */
                if (errno == EAGAIN && now_usec() + CONNECT_RETRY_USEC < deadline) {
                        (void) nanosleep(&(struct timespec){ .tv_nsec = CONNECT_RETRY_USEC * 1000 },
                                         NULL);
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN)
                        return set_error(h, -ETIMEDOUT, "uffdtierd at %s accepts no connections.",
                                         path);
                return set_error(h, negative_errno(), "Cannot connect to uffdtierd at %s: %m",
                                 path);
        }
}

static void handle_free(struct uffdtier *h) {
        if (!h)
                return;
        safe_close(h->fd);
        free(h->socket_path);
        free(h->name);
        lib_ranges_done(&h->ranges);
        pthread_mutex_destroy(&h->lock);
        free(h);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct uffdtier *, handle_free);

/* Connects h->fd to h->socket_path and says HELLO with a new userfaultfd, a pidfd and the
 * pagemap of this process. Called with h->lock held (or on a handle nobody else has yet). */
static int hello(struct uffdtier *h) {
        _cleanup_proto_message_ ProtoMessage m = {}, reply = {};
        int fds[PROTO_HELLO_N_FDS] = { -EBADF, -EBADF, -EBADF };
        bool user_mode_only = false;
        uint64_t deadline = now_usec() + REQUEST_TIMEOUT_USEC;
        int r;

        r = connect_socket(h, h->socket_path, deadline);
        if (r < 0)
                return r;

        r = make_userfaultfd(h->flags, &user_mode_only);
        if (r < 0)
                goto fail;
        fds[PROTO_HELLO_FD_UFFD] = r;
        r = (int) syscall(__NR_pidfd_open, h->pid, 0);
        if (r < 0) {
                r = negative_errno();
                goto fail;
        }
        fds[PROTO_HELLO_FD_PIDFD] = r;
        r = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (r < 0) {
                r = negative_errno();
                goto fail;
        }
        fds[PROTO_HELLO_FD_PAGEMAP] = r;

        proto_message_init(&m, PROTO_HELLO, 0);
        m.flags = user_mode_only ? PROTO_HELLO_USER_MODE_ONLY : 0;
        if (h->name) {
                r = proto_message_set_name(&m, h->name);
                if (r < 0)
                        goto fail;
        }

        r = request(h, &m, fds, ELEMENTSOF(fds), REQUEST_TIMEOUT_USEC, &reply);
        if (r < 0)
                goto fail;
        return 0;

fail:
        proto_close_fds(fds, ELEMENTSOF(fds));
        return r;
}

/* Why this thread's last uffdtier_connect() failed: the handle that held the text is gone by
 * then, so uffdtier_last_error(NULL, ...) reads it from here. */
static _Thread_local char connect_error[PROTO_TEXT_MAX_BYTES + 1];

_public_ int uffdtier_connect(const char *socket_path, const char *name, unsigned flags,
                              struct uffdtier **ret) {
        _cleanup_(handle_freep) struct uffdtier *h = NULL;
        int r;

        connect_error[0] = 0;
        if (!ret || (flags & ~CONNECT_FLAGS_ALL) ||
            (flags & CONNECT_FLAGS_ALL) == CONNECT_FLAGS_ALL)
                return -EINVAL;
        if (name && proto_check_string(name, PROTO_NAME_MAX_BYTES, false) < 0)
                return -EINVAL;
        if (!socket_path) {
                /* secure_getenv(): a set-uid program must not be pointed at another socket. */
                socket_path = secure_getenv("UFFDTIER_SOCKET");
                if (!socket_path || !socket_path[0])
                        socket_path = UFFDTIER_SOCKET_PATH;
        }

        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->fd = -EBADF;
        h->pid = getpid();
        h->flags = flags;
        r = pthread_mutex_init(&h->lock, NULL);
        if (r != 0) {
                free(TAKE_PTR(h));
                return -r;
        }
        h->socket_path = strdup(socket_path);
        if (!h->socket_path)
                return -ENOMEM;
        if (name) {
                h->name = strdup(name);
                if (!h->name)
                        return -ENOMEM;
        }

        r = hello(h);
        if (r < 0) {
                (void) snprintf(connect_error, sizeof connect_error, "%s", h->last_error);
                return r;
        }

        connect_error[0] = 0;
        *ret = TAKE_PTR(h);
        return 0;
}

/* One TRACK request for [start, start + len) (validated by the caller). */
static int track_one(struct uffdtier *h, uint64_t start, uint64_t len, const char *name,
                     const char *const *labels) {
        _cleanup_proto_message_ ProtoMessage m = {}, reply = {};
        int r;

        proto_message_init(&m, PROTO_TRACK, 0);
        if (proto_message_add_range(&m, start, len) < 0)
                return set_error(h, -EINVAL, "Invalid range 0x%" PRIx64 "+%" PRIu64 ".", start,
                                 len);
        if (name) {
                r = proto_message_set_name(&m, name);
                if (r < 0)
                        return map_builder_error(h, r, "range name");
        }
        for (size_t i = 0; labels && labels[i]; i++) {
                r = proto_message_add_label(&m, labels[i]);
                if (r < 0)
                        return map_builder_error(h, r, "label");
        }
        return request(h, &m, NULL, 0, REQUEST_TIMEOUT_USEC, &reply);
}

/* The daemon hung up or gave up on us: such an error ends the whole reconnect. */
static bool error_is_connection(int r) {
        return r == -ECONNRESET || r == -EPIPE || r == -ETIMEDOUT || r == -EPROTO ||
                r == -EPROTONOSUPPORT;
}

_public_ int uffdtier_reconnect(struct uffdtier *h) {
        _cleanup_proto_message_ ProtoMessage bye = {}, reply = {};
        char first_error[sizeof h->last_error] = "";
        int r, first = 0;

        r = enter(h);
        if (r < 0)
                return r;

        /* A daemon that still has this session also still has our userfaultfd, with the ranges
         * registered: the new TRACKs would be refused. Let it go first (it is gone already after
         * a restart; then this fails at once). */
        if (!h->broken) {
                proto_message_init(&bye, PROTO_BYE, 0);
                (void) request(h, &bye, NULL, 0, BYE_TIMEOUT_USEC, &reply);
        }
        h->fd = safe_close(h->fd);
        h->broken = false;

        r = hello(h);
        if (r < 0) {
                /* nothing to talk to; the ranges stay remembered for the next attempt */
                h->fd = safe_close(h->fd);
                h->broken = true;
                goto out;
        }

        for (size_t i = 0; i < h->ranges.n;) {
                const LibRange *x = &h->ranges.items[i];

                r = track_one(h, x->start, x->len, x->name, (const char *const *) x->labels);
                if (r >= 0) {
                        i++;
                        continue;
                }
                if (error_is_connection(r))
                        goto out;
                /* Refused (unmapped since, moved by mremap(), ...): forget it, hand over the rest,
                 * and report the first such refusal (the daemon's text names the range). */
                if (first == 0) {
                        first = r;
                        memcpy(first_error, h->last_error, sizeof first_error);
                }
                lib_ranges_remove(&h->ranges, i);
        }
        r = first;
        if (r < 0)
                memcpy(h->last_error, first_error, sizeof h->last_error);
out:
        pthread_mutex_unlock(&h->lock);
        return r;
}

/* ---- requests ---- */

/* Checks and page-aligns [addr, addr + len): the start and length a request carries. */
static int check_range(struct uffdtier *h, void *addr, size_t len, uint64_t *ret_start,
                       uint64_t *ret_len) {
        size_t ps = page_size();
        uintptr_t start = (uintptr_t) addr;

        if (!addr || start % ps != 0)
                return set_error(h, -EINVAL, "Address %p is not page aligned.", addr);
        if (len == 0 || len > SIZE_MAX - ps)
                return set_error(h, -EINVAL, "Invalid length %zu.", len);
        len = ALIGN_UP(len, ps);
        if (start + len < start)
                return set_error(h, -EINVAL, "Range %p+%zu wraps around.", addr, len);
        *ret_start = start;
        *ret_len = len;
        return 0;
}

_public_ int uffdtier_track(struct uffdtier *h, void *addr, size_t len, const char *name,
                            const char *const *labels) {
        LibRange remembered = {};
        uint64_t start, l;
        int r;

        r = enter(h);
        if (r < 0)
                return r;

        r = check_range(h, addr, len, &start, &l);
        if (r < 0)
                goto out;
        /* copied before asking, so that a yes from the daemon is always remembered */
        r = lib_ranges_prepare_add(&h->ranges, start, l, name, labels, &remembered);
        if (r < 0) {
                r = set_error(h, r, "Out of memory.");
                goto out;
        }
        r = track_one(h, start, l, name, labels);
        if (r >= 0)
                lib_ranges_push(&h->ranges, &remembered);
out:
        lib_range_done(&remembered);
        pthread_mutex_unlock(&h->lock);
        return r;
}

_public_ int uffdtier_follow(struct uffdtier *h, uint64_t min_bytes, const char *name,
                             const char *const *labels) {
        _cleanup_proto_message_ ProtoMessage m = {}, reply = {};
        int r;

        r = enter(h);
        if (r < 0)
                return r;

        proto_message_init(&m, PROTO_FOLLOW, 0);
        m.min_bytes = min_bytes;
        if (name) {
                r = proto_message_set_name(&m, name);
                if (r < 0) {
                        r = map_builder_error(h, r, "range name");
                        goto out;
                }
        }
        for (size_t i = 0; labels && labels[i]; i++) {
                r = proto_message_add_label(&m, labels[i]);
                if (r < 0) {
                        r = map_builder_error(h, r, "label");
                        goto out;
                }
        }
        r = request(h, &m, NULL, 0, REQUEST_TIMEOUT_USEC, &reply);
        /* A daemon of revision 1 does not know the message type (docs/PROTOCOL.md). */
        if (r == -EPROTO && strstr(h->last_error, "unknown message type")) {
                char why[sizeof h->last_error];

                memcpy(why, h->last_error, sizeof why);
                r = set_error(h, -EOPNOTSUPP, "uffdtierd is too old to follow a process (%s)", why);
        }
out:
        pthread_mutex_unlock(&h->lock);
        return r;
}

_public_ int uffdtier_untrack(struct uffdtier *h, void *addr, size_t len) {
        _cleanup_proto_message_ ProtoMessage m = {}, reply = {};
        LibRanges rest = {};
        uint64_t start, l;
        int r;

        r = enter(h);
        if (r < 0)
                return r;

        r = check_range(h, addr, len, &start, &l);
        if (r < 0)
                goto out;
        r = lib_ranges_subtract(&h->ranges, start, l, &rest);
        if (r < 0) {
                r = set_error(h, r, "Out of memory.");
                goto out;
        }
        proto_message_init(&m, PROTO_UNTRACK, 0);
        if (proto_message_add_range(&m, start, l) < 0) {
                r = set_error(h, -EINVAL, "Invalid range %p+%zu.", addr, len);
                goto out;
        }
        r = request(h, &m, NULL, 0, REQUEST_TIMEOUT_USEC, &reply);
        if (r >= 0) {
                lib_ranges_done(&h->ranges);
                h->ranges = rest;
                rest = (LibRanges){};
        }
out:
        lib_ranges_done(&rest);
        pthread_mutex_unlock(&h->lock);
        return r;
}

_public_ void uffdtier_status_free(struct uffdtier_status *s) {
        if (!s)
                return;
        free((char *) s->backend);
        for (size_t i = 0; s->counters && i < s->n_counters; i++)
                free((char *) s->counters[i].name);
        free((struct uffdtier_counter *) s->counters);
        for (size_t i = 0; s->ranges && i < s->n_ranges; i++)
                free((char *) s->ranges[i].name);
        free((struct uffdtier_range *) s->ranges);
        free(s);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct uffdtier_status *, uffdtier_status_free);

/* Moves the strings out of the reply into a freshly allocated status. */
static int status_from_reply(ProtoMessage *reply, struct uffdtier_status **ret) {
        _cleanup_(uffdtier_status_freep) struct uffdtier_status *s = calloc(1, sizeof *s);
        struct uffdtier_counter *counters = NULL;
        struct uffdtier_range *ranges = NULL;

        if (!s)
                return -ENOMEM;
        s->backend = TAKE_PTR(reply->backend);

        if (reply->n_counters > 0) {
                counters = calloc(reply->n_counters, sizeof *counters);
                if (!counters)
                        return -ENOMEM;
                s->counters = counters;
                s->n_counters = reply->n_counters;
                for (size_t i = 0; i < reply->n_counters; i++)
                        counters[i] = (struct uffdtier_counter){
                                .name = TAKE_PTR(reply->counters[i].name),
                                .value = reply->counters[i].value,
                        };
        }
        if (reply->n_range_infos > 0) {
                ranges = calloc(reply->n_range_infos, sizeof *ranges);
                if (!ranges)
                        return -ENOMEM;
                s->ranges = ranges;
                s->n_ranges = reply->n_range_infos;
                for (size_t i = 0; i < reply->n_range_infos; i++)
                        ranges[i] = (struct uffdtier_range){
                                .addr = (void *) (uintptr_t) reply->range_infos[i].start,
                                .len = (size_t) reply->range_infos[i].len,
                                .name = TAKE_PTR(reply->range_infos[i].name),
                        };
        }
        *ret = TAKE_PTR(s);
        return 0;
}

_public_ int uffdtier_status(struct uffdtier *h, struct uffdtier_status **ret) {
        _cleanup_proto_message_ ProtoMessage m = {}, reply = {};
        int r;

        if (!ret)
                return -EINVAL;
        r = enter(h);
        if (r < 0)
                return r;

        proto_message_init(&m, PROTO_STATUS, 0);
        r = request(h, &m, NULL, 0, REQUEST_TIMEOUT_USEC, &reply);
        if (r >= 0) {
                r = status_from_reply(&reply, ret);
                if (r < 0)
                        set_error(h, r, "Out of memory.");
        }
        pthread_mutex_unlock(&h->lock);
        return r;
}

_public_ int uffdtier_status_get_counter(const struct uffdtier_status *s, const char *name,
                                         uint64_t *ret) {
        if (!s || !name || !ret)
                return -EINVAL;
        for (size_t i = 0; i < s->n_counters; i++)
                if (streq(s->counters[i].name, name)) {
                        *ret = s->counters[i].value;
                        return 0;
                }
        return -ENOENT;
}

_public_ int uffdtier_last_error(struct uffdtier *h, char *buf, size_t size) {
        int r;

        if (!buf || size == 0)
                return -EINVAL;
        if (!h) { /* the last failed uffdtier_connect() of this thread */
                (void) snprintf(buf, size, "%s", connect_error);
                return connect_error[0] ? 0 : -ENODATA;
        }
        /* In a forked child another thread of the parent may have held the lock at fork time,
         * and nobody would ever release it: read the child's private copy without it. */
        if (h->pid != getpid()) {
                (void) snprintf(buf, size, "%s", h->last_error);
                return h->last_error[0] ? 0 : -ENODATA;
        }
        pthread_mutex_lock(&h->lock);
        (void) snprintf(buf, size, "%s", h->last_error);
        r = h->last_error[0] ? 0 : -ENODATA;
        pthread_mutex_unlock(&h->lock);
        return r;
}

_public_ int uffdtier_disconnect(struct uffdtier *h) {
        _cleanup_proto_message_ ProtoMessage m = {}, reply = {};
        int r = 0;

        if (!h)
                return 0;

        /* In a forked child the socket is shared with the parent: saying BYE would end the
         * parent's session. Just drop this copy. */
        if (h->pid == getpid()) {
                pthread_mutex_lock(&h->lock);
                proto_message_init(&m, PROTO_BYE, 0);
                r = request(h, &m, NULL, 0, BYE_TIMEOUT_USEC, &reply);
                pthread_mutex_unlock(&h->lock);
        }
        handle_free(h);
        return r;
}
