/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "handoff.h"
#include "log.h"
#include "macro.h"
#include "protocol-io.h"
#include "protocol.h"
#include "uapi.h"

#define HANDOFF_BACKLOG 128
/* Descriptors kept free for the clients already connected (a HELLO brings three). */
#define HANDOFF_FD_HEADROOM 64U
/* Connections only root may open, so that root can always connect. */
#define HANDOFF_ROOT_RESERVE 16U
#define HANDOFF_PAUSE_USEC (100 * USEC_PER_MSEC)

struct Conn {
        Handoff *handoff;
        int fd;
        sd_event_source *source;
        HandoffPeer peer; /* SO_PEERCRED at connect time */
        int peer_pidfd; /* SO_PEERPIDFD where the kernel has it (6.5+), else -EBADF */
        uint64_t client_id; /* after HELLO; 0 before */
        bool hello_done;
        bool dead;
        bool pending; /* a request answered later (HANDOFF_PENDING): reading paused */
        sd_event_source *throttle; /* over its uid's request rate: reading resumes then */
        uint32_t pending_seq;
        unsigned n_requests;
        unsigned n_protocol_errors; /* requests no correct client sends: malformed, out of turn */
        LIST_FIELDS(Conn, conns);
};

/* ---- replies ---- */

static void conn_close(Conn *c);

/* The daemon never waits for a client. A reply that cannot be queued (EAGAIN: the replies the
 * client has not read fill the socket's send buffer, SO_SNDBUF, about 200 KiB by default) ends
 * the connection: dropping it would leave the client waiting for an answer that never comes, and
 * a client that sends without reading gets nothing more from the daemon anyway. Logged once:
 * the connection is gone after it. */
static int conn_send(Conn *c, const ProtoMessage *reply) {
        uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
        size_t len;
        int r;

        if (c->dead)
                return -ECONNRESET;
        r = proto_encode(reply, buf, sizeof buf, &len);
        if (r < 0)
                return log_error_errno(r, "pid %d: cannot encode reply: %m", (int) c->peer.pid);
        r = proto_send(c->fd, buf, len, NULL, 0);
        if (r == -EAGAIN) {
                int queued = 0;

                (void) ioctl(c->fd, SIOCOUTQ, &queued);
                log_warning("pid %d (uid %u): does not read its replies (%d bytes of them queued, "
                            "the socket's send buffer is full): disconnecting",
                            (int) c->peer.pid, (unsigned) c->peer.uid, queued);
                conn_close(c);
                return r;
        }
        if (r < 0)
                /* the peer may be gone; its hang-up arrives as an event of its own */
                return log_debug_errno(r, "pid %d: cannot send reply: %m", (int) c->peer.pid);
        return 0;
}

static int conn_reply(Conn *c, uint32_t seq, int error, const char *text) {
        _cleanup_proto_message_ ProtoMessage reply = {};

        proto_message_init(&reply, PROTO_REPLY, seq);
        if (error != 0) {
                /* what a client can make the daemon say again and again: rate-limited */
                log_ratelimited(&c->handoff->log_refusals, LOG_INFO,
                                "pid %d (uid %u): request refused: %s", (int) c->peer.pid,
                                (unsigned) c->peer.uid, text);
                if (proto_message_set_error(&reply, error < 0 ? -error : error, text) < 0)
                        return -ENOMEM;
        }
        return conn_send(c, &reply);
}

/* A request no correct client sends (a malformed message, a request out of turn, wrong
 * descriptors): answered like any refusal, and counted; after limits->protocol_errors_max of
 * them the connection is closed (a client it had handed over is released), so that a client
 * cannot keep the daemon decoding and logging garbage for ever. */
static int conn_protocol_error(Conn *c, uint32_t seq, int error, const char *fmt, ...)
        _printf_(4, 5);
static int conn_protocol_error(Conn *c, uint32_t seq, int error, const char *fmt, ...) {
        const Limits *l = c->handoff->limits;
        char text[PROTO_TEXT_MAX_BYTES];
        va_list ap;
        int r;

        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        r = conn_reply(c, seq, error, text);
        c->n_protocol_errors++;
        if (l->protocol_errors_max > 0 && c->n_protocol_errors >= l->protocol_errors_max &&
            !c->dead) {
                log_ratelimited(&c->handoff->log_protocol, LOG_NOTICE,
                                "pid %d (uid %u): %u malformed or out-of-turn requests "
                                "(protocol_errors_max=%u): disconnecting",
                                (int) c->peer.pid, (unsigned) c->peer.uid, c->n_protocol_errors,
                                l->protocol_errors_max);
                conn_close(c);
        }
        return r;
}

/* The one place a refusal from the owner (-errno plus an sd_bus_error) becomes a REPLY. The
 * errno is the returned one: sd-bus maps errnos to bus error names and back lossily (EPERM
 * comes back as EACCES), so the name is not consulted. The message is the error's, or the
 * errno's text. */
static int conn_reply_result(Conn *c, uint32_t seq, int r, const sd_bus_error *e) {
        if (r >= 0)
                return conn_reply(c, seq, 0, NULL);
        return conn_reply(c, seq, -r,
                          sd_bus_error_is_set(e) && e->message ? e->message : strerror(-r));
}

/* ---- peer verification ---- */

static int fd_link(int fd, char *buf, size_t size) {
        char path[64];
        ssize_t n;

        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        n = readlink(path, buf, size - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        return 0;
}

/* The pid a pidfd refers to ("Pid:" in its fdinfo; -1 once the process is gone). */
static int pidfd_get_pid(int pidfd, pid_t *ret) {
        char path[64], line[128];
        _cleanup_fclose_ FILE *f = NULL;

        snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        while (fgets(line, sizeof line, f)) {
                int pid;
                if (sscanf(line, "Pid: %d", &pid) == 1) {
                        if (pid <= 0)
                                return -ESRCH;
                        *ret = pid;
                        return 0;
                }
        }
        return -EBADF;
}

static int verify_hello_fds(Conn *c, const int fds[PROTO_HELLO_N_FDS], char *err, size_t errlen) {
        Handoff *h = c->handoff;
        char link[PATH_MAX], want[PATH_MAX];
        pid_t pid;
        int r;

        if (fd_link(fds[PROTO_HELLO_FD_UFFD], link, sizeof link) < 0 ||
            strcmp(link, "anon_inode:[userfaultfd]") != 0) {
                snprintf(err, errlen, "descriptor 0 must be a userfaultfd, got %.200s",
                         fd_link(fds[PROTO_HELLO_FD_UFFD], link, sizeof link) < 0 ? "?" : link);
                return -EBADF;
        }
        if (fd_link(fds[PROTO_HELLO_FD_PIDFD], link, sizeof link) < 0 ||
            strcmp(link, "anon_inode:[pidfd]") != 0 ||
            pidfd_get_pid(fds[PROTO_HELLO_FD_PIDFD], &pid) < 0) {
                snprintf(err, errlen, "descriptor 1 must be a pidfd of the connecting process");
                return -EBADF;
        }
        if (pid != c->peer.pid) {
                snprintf(err, errlen, "the pidfd is for pid %d, but the peer is pid %d", (int) pid,
                         (int) c->peer.pid);
                return -EPERM;
        }
        if (c->peer_pidfd >= 0) {
                pid_t peer;
                r = pidfd_get_pid(c->peer_pidfd, &peer);
                if (r < 0 || peer != pid) {
                        snprintf(err, errlen, "the connecting process has gone away or changed");
                        return -ESRCH;
                }
        }
        snprintf(want, sizeof want, "%s/%d/pagemap", h->proc_root, (int) c->peer.pid);
        if (fd_link(fds[PROTO_HELLO_FD_PAGEMAP], link, sizeof link) < 0 ||
            strcmp(link, want) != 0) {
                snprintf(err, errlen,
                         "descriptor 2 must be the peer's own /proc/self/pagemap (%.200s)", want);
                return -EBADF;
        }
        /* The links name the right objects even for O_PATH (or write-only) descriptors, on
         * which every ioctl and read then fails with EBADF, cycle after cycle: refuse them. (The
         * kernel makes a userfaultfd O_RDONLY, a pidfd O_RDWR: only O_PATH is wrong for those.) */
        for (unsigned i = 0; i < PROTO_HELLO_N_FDS; i++) {
                int fl = fcntl(fds[i], F_GETFL);

                if (fl < 0 || (fl & O_PATH) ||
                    (i == PROTO_HELLO_FD_PAGEMAP && (fl & O_ACCMODE) != O_RDONLY)) {
                        snprintf(err, errlen, "descriptor %u must be open %s, not O_PATH", i,
                                 i == PROTO_HELLO_FD_PAGEMAP ? "for reading only (O_RDONLY)"
                                                             : "for use");
                        return -EBADF;
                }
        }
        return 0;
}

/* ---- requests ---- */

static int handle_hello(Conn *c, const ProtoMessage *req, int *fds, size_t n_fds, size_t surplus) {
        Handoff *h = c->handoff;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        char err[PROTO_TEXT_MAX_BYTES];
        uint64_t id = 0;
        int r;

        if (c->hello_done)
                return conn_protocol_error(c, req->seq, EALREADY,
                                           "HELLO was already done on this connection");
        if (n_fds != PROTO_HELLO_N_FDS || surplus > 0)
                return conn_protocol_error(
                        c, req->seq, EBADF,
                        "HELLO needs exactly %d descriptors (userfaultfd, pidfd, pagemap), got %zu",
                        PROTO_HELLO_N_FDS, n_fds + surplus);
        r = verify_hello_fds(c, fds, err, sizeof err);
        if (r < 0)
                return conn_protocol_error(c, req->seq, r, "%s", err);

        r = h->hooks->hello(h->userdata, &c->peer, req, fds, &e, &id);
        if (r >= 0) {
                c->client_id = id;
                c->hello_done = true;
        }
        return conn_reply_result(c, req->seq, r, &e);
}

static int handle_request(Conn *c, const ProtoMessage *req) {
        Handoff *h = c->handoff;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_proto_message_ ProtoMessage reply = {};
        int r;

        switch (req->type) {
        case PROTO_TRACK:
        case PROTO_UNTRACK:
                r = req->type == PROTO_TRACK
                        ? h->hooks->track(h->userdata, c->client_id, req, &e)
                        : h->hooks->untrack(h->userdata, c->client_id, req, &e);
                if (r == HANDOFF_PENDING) {
                        /* Answered by handoff_request_done(). Until then nothing more is read
                         * from this connection, so its requests are still answered in order;
                         * a hang-up is still seen (EPOLLHUP/EPOLLRDHUP come whatever the mask). */
                        c->pending = true;
                        c->pending_seq = req->seq;
                        (void) sd_event_source_set_io_events(c->source, EPOLLRDHUP);
                        return 0;
                }
                break;
        case PROTO_FOLLOW:
                r = h->hooks->follow(h->userdata, c->client_id, req, &e);
                break;
        case PROTO_STATUS:
                proto_message_init(&reply, PROTO_REPLY, req->seq);
                r = h->hooks->status(h->userdata, c->client_id, &reply, &e);
                if (r >= 0)
                        return conn_send(c, &reply);
                break;
        default:
                return conn_protocol_error(c, req->seq, EPROTO, "unexpected %s",
                                           proto_type_to_string(req->type));
        }
        return conn_reply_result(c, req->seq, r, &e);
}

static void conn_dispatch(Conn *c, const void *buf, size_t len, int *fds, size_t n_fds,
                          size_t surplus) {
        _cleanup_proto_message_ ProtoMessage req = {};
        char reason[PROTO_REASON_MAX_BYTES] = "";
        ProtoHeader hdr = {};
        int r;

        c->n_requests++;
        r = proto_decode(buf, len, reason, sizeof reason, &req);
        if (r < 0) {
                (void) proto_peek_header(buf, len, &hdr); /* answer with its seq if we can */
                (void) conn_protocol_error(c, hdr.seq, r, "bad message: %s",
                                           reason[0] ? reason : strerror(-r));
                return;
        }
        if (req.type == PROTO_HELLO) {
                (void) handle_hello(c, &req, fds, n_fds, surplus);
                return;
        }
        if (n_fds > 0 || surplus > 0) {
                (void) conn_protocol_error(c, req.seq, EBADF, "%s carries no descriptors, got %zu",
                                           proto_type_to_string(req.type), n_fds + surplus);
                return;
        }
        if (!proto_type_is_request(req.type)) {
                (void) conn_protocol_error(c, req.seq, EPROTO, "%s is not a request",
                                           proto_type_to_string(req.type));
                return;
        }
        if (req.type == PROTO_BYE) {
                (void) conn_reply(c, req.seq, 0, NULL);
                log_info("pid %d: said goodbye", (int) c->peer.pid);
                conn_close(c);
                return;
        }
        if (!c->hello_done) {
                (void) conn_protocol_error(c, req.seq, EPROTO, "send HELLO before %s",
                                           proto_type_to_string(req.type));
                return;
        }
        (void) handle_request(c, &req);
}

static UidRate *uid_rate_find(Handoff *h, uid_t uid);

static int on_throttle(sd_event_source *s, uint64_t usec, void *userdata) {
        Conn *c = userdata;

        if (!c->dead)
                (void) sd_event_source_set_enabled(c->source, SD_EVENT_ON);
        return 0;
}

/* Requests per uid and second (Limits.requests_per_sec): over the rate, the connection is not
 * read until a token is there. The request waits in the socket; nothing is refused or lost. A
 * hang-up is seen then too. Returns true when the request may be read now. */
static bool conn_request_allowed(Conn *c) {
        Handoff *h = c->handoff;
        UidRate *u = uid_rate_find(h, c->peer.uid);
        uint64_t now = now_usec(), delay;
        int r;

        /* root is not held to it: it can stop the daemon anyway, and its tools (and tests)
         * may legitimately ask a lot */
        if (!u || c->peer.uid == 0 || h->limits->requests_per_sec == 0 ||
            ratelimit_take(&u->requests, now, 1) == 1)
                return true;
        delay = MAX(ratelimit_delay_usec(&u->requests, now, 1), USEC_PER_MSEC);
        if (!c->throttle) {
                r = sd_event_add_time_relative(h->event, &c->throttle, CLOCK_MONOTONIC, delay,
                                               USEC_PER_MSEC, on_throttle, c);
                if (r < 0)
                        return true; /* cannot wait: serve it */
                (void) sd_event_source_set_description(c->throttle, "handoff-throttle");
        } else
                (void) sd_event_source_set_time_relative(c->throttle, delay);
        (void) sd_event_source_set_enabled(c->throttle, SD_EVENT_ONESHOT);
        (void) sd_event_source_set_enabled(c->source, SD_EVENT_OFF);
        h->requests_delayed++;
        log_ratelimited(&h->log_requests, LOG_NOTICE,
                        "pid %d (uid %u): more than %u requests per second from its uid "
                        "(requests_per_sec), reading its connection later",
                        (int) c->peer.pid, (unsigned) c->peer.uid, h->limits->requests_per_sec);
        return false;
}

static int on_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Conn *c = userdata;
        static uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
        int fds[PROTO_HELLO_N_FDS] = { -EBADF, -EBADF, -EBADF };
        size_t len = 0, n_fds = 0;
        int r;

        if (c->pending) {
                /* only a hang-up can come while a request is under way */
                if (revents & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) {
                        log_debug("pid %d: connection closed during a request", (int) c->peer.pid);
                        conn_close(c);
                }
                return 0;
        }
        if ((revents & EPOLLIN) && !conn_request_allowed(c))
                return 0;
        r = proto_recv(c->fd, buf, sizeof buf, &len, fds, ELEMENTSOF(fds), &n_fds);
        if (r == -EAGAIN || r == -EINTR)
                return 0;
        /* None of these has a header to take a seq from: answered with seq 0. */
        switch (r) {
        case -EBADMSG:
                c->n_requests++;
                (void) conn_protocol_error(
                        c, 0, EBADMSG,
                        "bad message: an empty packet (a message has at least its %d-byte header)",
                        PROTO_HEADER_BYTES);
                return 0;
        case -EMSGSIZE:
                c->n_requests++;
                (void) conn_protocol_error(
                        c, 0, EMSGSIZE,
                        "message larger than %d bytes (limit PROTO_MESSAGE_MAX_BYTES)",
                        PROTO_MESSAGE_MAX_BYTES);
                return 0;
        case -ETOOMANYREFS:
                c->n_requests++;
                (void) conn_protocol_error(
                        c, 0, EMSGSIZE,
                        "more than %d descriptors in one packet (limit PROTO_FDS_MAX)",
                        PROTO_FDS_MAX);
                return 0;
        case -EMFILE:
                log_warning_errno(r, "pid %d: cannot receive its descriptors: %m",
                                  (int) c->peer.pid);
                (void) conn_reply(c, 0, EMFILE, "the daemon is out of file descriptors");
                return 0;
        }
        if (r < 0 || len == 0) {
                if (r < 0 && r != -ECONNRESET)
                        log_debug_errno(r, "pid %d: receive failed: %m", (int) c->peer.pid);
                log_debug("pid %d: connection closed", (int) c->peer.pid);
                conn_close(c);
                return 0;
        }
        conn_dispatch(c, buf, len, fds, n_fds, (size_t) r);
        /* whatever the request did not take is closed here */
        proto_close_fds(fds, ELEMENTSOF(fds));
        return 0;
}

static UidRate *uid_rate_find(Handoff *h, uid_t uid) {
        for (size_t i = 0; i < h->n_uid_rates; i++)
                if (h->uid_rates[i].uid == uid)
                        return &h->uid_rates[i];
        return NULL;
}

/* The one place a Conn is freed: from the gc source, or when the Handoff goes. */
static Conn *conn_free(Conn *c) {
        if (!c)
                return NULL;
        sd_event_source_disable_unref(c->source);
        sd_event_source_disable_unref(c->throttle);
        safe_close(c->fd);
        safe_close(c->peer_pidfd);
        free(c);
        return NULL;
}

static int on_gc(sd_event_source *s, void *userdata) {
        Handoff *h = userdata;

        while (h->dead_conns) {
                Conn *c = h->dead_conns;
                LIST_REMOVE(conns, h->dead_conns, c);
                conn_free(c);
        }
        return 0;
}

void handoff_request_done(Handoff *h, uint64_t client_id, int r, const sd_bus_error *error) {
        Conn *c;

        if (client_id == 0)
                return;
        LIST_FOREACH (conns, c, h->conns) {
                if (c->client_id != client_id || !c->pending || c->dead)
                        continue;
                c->pending = false;
                (void) sd_event_source_set_io_events(c->source, EPOLLIN);
                (void) conn_reply_result(c, c->pending_seq, r, error);
                return;
        }
}

/* Ends a connection from inside one of its callbacks: silence it, tell the owner about its
 * client, free it after this loop turn. */
static void conn_close(Conn *c) {
        Handoff *h = c->handoff;

        if (c->dead)
                return;
        c->dead = true;
        (void) sd_event_source_set_enabled(c->source, SD_EVENT_OFF);
        LIST_REMOVE(conns, h->conns, c);
        h->n_conns--;
        {
                UidRate *u = uid_rate_find(h, c->peer.uid);
                if (u && u->n_conns > 0)
                        u->n_conns--;
        }
        LIST_PREPEND(conns, h->dead_conns, c);
        if (c->client_id != 0) {
                log_info("client %" PRIu64 " (pid %d): disconnected, releasing its memory",
                         c->client_id, (int) c->peer.pid);
                h->hooks->closed(h->userdata, c->client_id);
        }
        (void) sd_event_source_set_enabled(h->gc_source, SD_EVENT_ONESHOT);
}

size_t uid_rates_prune(UidRate *rates, size_t n, uint64_t now_usec) {
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                const UidRate *u = &rates[i];

                if (u->n_conns == 0 &&
                    ratelimit_delay_usec(&u->rate, now_usec, u->rate.burst_bytes) == 0)
                        continue;
                if (k != i)
                        rates[k] = *u;
                k++;
        }
        return k;
}

/* The entry of uid, made if needed, after forgetting the idle ones. NULL when out of memory. */
static UidRate *uid_rate_get(Handoff *h, uid_t uid, uint64_t now) {
        size_t n = uid_rates_prune(h->uid_rates, h->n_uid_rates, now);
        UidRate *u;

        if (n != h->n_uid_rates) {
                h->n_uid_rates = n;
                if (n == 0)
                        h->uid_rates = mfree(h->uid_rates);
                else {
                        u = realloc(h->uid_rates, n * sizeof *u); /* shrinking: cannot fail badly */
                        if (u)
                                h->uid_rates = u;
                }
        }
        u = uid_rate_find(h, uid);
        if (u)
                return u;
        u = realloc(h->uid_rates, (h->n_uid_rates + 1) * sizeof *u);
        if (!u)
                return NULL;
        h->uid_rates = u;
        u = &h->uid_rates[h->n_uid_rates++];
        *u = (UidRate){ .uid = uid };
        ratelimit_init(&u->rate, h->limits->connections_per_sec, h->limits->connections_burst, now);
        ratelimit_init(&u->requests, h->limits->requests_per_sec, h->limits->requests_burst, now);
        return u;
}

static void refuse_connection(int fd, int error, const char *text) {
        _cleanup_proto_message_ ProtoMessage reply = {};
        uint8_t buf[1024];
        size_t len;

        proto_message_init(&reply, PROTO_REPLY, 0);
        if (proto_message_set_error(&reply, error, text) >= 0 &&
            proto_encode(&reply, buf, sizeof buf, &len) >= 0)
                (void) proto_send(fd, buf, len, NULL, 0);
}

/* One uid's share of the connections: a quarter, so that three others (and root, which has a
 * reserve of its own) can always connect. */
static unsigned handoff_connections_per_uid(const Limits *l) {
        return MAX(l->connections_total / 4, 1U);
}

static int on_listen_resume(sd_event_source *s, uint64_t usec, void *userdata) {
        Handoff *h = userdata;

        (void) sd_event_source_set_enabled(h->listen_source, SD_EVENT_ON);
        return 0;
}

static void handoff_pause_listening(Handoff *h, int error) {
        int r;

        log_ratelimited(&h->log_fds, LOG_WARNING, "accept() failed: %s; not accepting for %u ms",
                        strerror(error), (unsigned) (HANDOFF_PAUSE_USEC / USEC_PER_MSEC));
        (void) sd_event_source_set_enabled(h->listen_source, SD_EVENT_OFF);
        if (!h->resume_timer) {
                r = sd_event_add_time_relative(h->event, &h->resume_timer, CLOCK_MONOTONIC,
                                               HANDOFF_PAUSE_USEC, USEC_PER_MSEC, on_listen_resume,
                                               h);
                if (r < 0) {
                        /* cannot pause: better spin than stop listening for good */
                        (void) sd_event_source_set_enabled(h->listen_source, SD_EVENT_ON);
                        return;
                }
                (void) sd_event_source_set_description(h->resume_timer, "handoff-resume");
        } else {
                (void) sd_event_source_set_time_relative(h->resume_timer, HANDOFF_PAUSE_USEC);
        }
        (void) sd_event_source_set_enabled(h->resume_timer, SD_EVENT_ONESHOT);
}

static int on_listen(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Handoff *h = userdata;
        _cleanup_close_ int cfd = -EBADF;
        struct ucred cred;
        socklen_t sl = sizeof cred;
        UidRate *ur;
        uint64_t now;
        Conn *c;
        int r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno == EMFILE || errno == ENFILE) {
                        /* The connection stays queued and the socket readable: without a pause
                         * this would spin. Stop listening for a moment; everyone else is still
                         * served meanwhile. */
                        handoff_pause_listening(h, errno);
                        return 0;
                }
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_warning_errno(errno, "accept() failed: %m");
                return 0;
        }
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) < 0) {
                log_warning_errno(errno, "SO_PEERCRED failed: %m");
                return 0;
        }
        /* Descriptors are handed out lowest first, so a new one this high means the table is
         * nearly full: keep the rest for the clients already here (each HELLO brings three). */
        if (h->fd_limit > 0 && (uint64_t) cfd + HANDOFF_FD_HEADROOM >= h->fd_limit) {
                log_ratelimited(
                        &h->log_fds, LOG_WARNING,
                        "refusing pid %d: the daemon is short of file descriptors (fd %d of %" PRIu64
                        ")",
                        (int) cred.pid, cfd, h->fd_limit);
                refuse_connection(cfd, EMFILE,
                                  "the daemon is out of file descriptors, try again later");
                return 0;
        }
        if (h->n_conns >= h->limits->connections_total ||
            (cred.uid != 0 && h->n_conns + HANDOFF_ROOT_RESERVE >= h->limits->connections_total)) {
                log_ratelimited(
                        &h->log_conns, LOG_WARNING,
                        "refusing pid %d uid %u: %u connections open (connections_total=%u, %u kept for root)",
                        (int) cred.pid, (unsigned) cred.uid, h->n_conns,
                        h->limits->connections_total, HANDOFF_ROOT_RESERVE);
                refuse_connection(cfd, EUSERS,
                                  "limit reached: too many open connections (connections_total)");
                return 0;
        }
        now = now_usec();
        ur = uid_rate_get(h, cred.uid, now);
        if (!ur) {
                log_oom();
                refuse_connection(cfd, ENOMEM, "the daemon is out of memory");
                return 0;
        }
        if (cred.uid != 0 && ur->n_conns >= handoff_connections_per_uid(h->limits)) {
                log_ratelimited(
                        &h->log_conns, LOG_WARNING,
                        "refusing pid %d: uid %u has %u connections open (a uid's share is %u)",
                        (int) cred.pid, (unsigned) cred.uid, ur->n_conns,
                        handoff_connections_per_uid(h->limits));
                refuse_connection(
                        cfd, EUSERS,
                        "limit reached: too many open connections for this uid (connections_total / 4)");
                return 0;
        }
        if (h->limits->connections_per_sec > 0 && ratelimit_take(&ur->rate, now, 1) < 1) {
                log_warning("refusing pid %d: uid %u connects too often (connections_per_sec=%u)",
                            (int) cred.pid, (unsigned) cred.uid, h->limits->connections_per_sec);
                refuse_connection(
                        cfd, EAGAIN,
                        "limit reached: too many connections per second (connections_per_sec)");
                return 0;
        }

        c = calloc(1, sizeof *c);
        if (!c)
                return log_oom();
        c->handoff = h;
        c->peer = (HandoffPeer){ .pid = cred.pid, .uid = cred.uid, .gid = cred.gid };
        c->peer_pidfd = -EBADF;
        {
                int pfd = -EBADF;
                sl = sizeof pfd;
                if (getsockopt(cfd, SOL_SOCKET, SO_PEERPIDFD, &pfd, &sl) >= 0)
                        c->peer_pidfd = pfd;
        }
        /* So that an empty packet is told from a hang-up (proto_recv()). Packets queued before
         * this still carry credentials: the kernel adds them at receive time. */
        r = proto_recv_creds_on(cfd);
        if (r < 0)
                log_warning_errno(
                        r,
                        "pid %d: SO_PASSCRED failed, an empty packet will look like a hang-up: %m",
                        (int) cred.pid);
        r = sd_event_add_io(h->event, &c->source, cfd, EPOLLIN, on_conn, c);
        if (r < 0) {
                safe_close(c->peer_pidfd);
                free(c);
                return log_error_errno(r, "cannot watch connection: %m");
        }
        (void) sd_event_source_set_description(c->source, "handoff-conn");
        c->fd = TAKE_FD(cfd);
        LIST_PREPEND(conns, h->conns, c);
        h->n_conns++;
        ur->n_conns++;
        log_debug("connection from pid %d uid %u (%zu uids in the connection rate table)",
                  (int) c->peer.pid, (unsigned) c->peer.uid, h->n_uid_rates);
        return 0;
}

/* The directory of the socket. Made root's and 0755 when it does not exist; else accepted only
 * when it is a directory (not a link) of root's (or of our euid) that nobody else can write to,
 * as systemd's RuntimeDirectory= makes it: in such a directory nobody else can put a link or a
 * file at the socket path between our steps. Returns an O_DIRECTORY fd. */
static int socket_dir_open(const char *dir) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        bool created;

        created = mkdir(dir, 0755) >= 0;
        if (!created && errno != EEXIST)
                return log_error_errno(errno, "cannot create the socket directory %s: %m", dir);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ELOOP || errno == ENOTDIR)
                        return log_error_errno(
                                ENOTDIR,
                                "refusing the socket directory %s: not a directory (a symbolic link?)",
                                dir);
                return log_error_errno(errno, "cannot open the socket directory %s: %m", dir);
        }
        /* mkdir() applied the umask: other uids must still reach the socket */
        if (created && fchmod(fd, 0755) < 0)
                return log_error_errno(errno, "cannot make %s mode 0755: %m", dir);
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "cannot stat %s: %m", dir);
        if (st.st_uid != 0 && st.st_uid != geteuid())
                return log_error_errno(
                        EPERM,
                        "refusing the socket directory %s: it belongs to uid %u, not to root "
                        "(remove it, or let systemd create it: RuntimeDirectory=)",
                        dir, (unsigned) st.st_uid);
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return log_error_errno(
                        EPERM,
                        "refusing the socket directory %s: mode %04o lets others write to it "
                        "(it must not be group- or world-writable)",
                        dir, (unsigned) (st.st_mode & 07777));
        return TAKE_FD(fd);
}

/* Creates the listening socket at path, in a directory socket_dir_open() vouched for. */
static int socket_create(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *dir = NULL;
        const char *base;
        struct stat st;
        char *slash;
        mode_t old;
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(ENAMETOOLONG, "socket path too long: %s", path);
        strcpy(sa.sun_path, path);
        dir = strdup(path);
        if (!dir)
                return log_oom();
        slash = strrchr(dir, '/');
        if (!slash) {
                base = path;
                free(dir);
                dir = strdup(".");
                if (!dir)
                        return log_oom();
        } else {
                base = path + (slash - dir) + 1;
                slash[slash == dir ? 1 : 0] = '\0'; /* "/x.sock" lives in "/" */
        }
        if (!base[0])
                return log_error_errno(EINVAL, "socket path %s names a directory", path);

        dfd = socket_dir_open(dir);
        if (dfd < 0)
                return dfd;

        /* A stale socket (or a link) is replaced; anything else is not ours to delete. */
        if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                if (!S_ISSOCK(st.st_mode) && !S_ISLNK(st.st_mode))
                        return log_error_errno(
                                EEXIST, "refusing to replace %s: it exists and is not a socket",
                                path);
                if (unlinkat(dfd, base, 0) < 0)
                        return log_error_errno(errno, "cannot remove the old %s: %m", path);
        } else if (errno != ENOENT)
                return log_error_errno(errno, "cannot stat %s: %m", path);

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "socket() failed: %m");
        /* Any local process may offer its memory; what it can do is bounded by the limits and by
         * its own credentials: mode 0666. Set by the umask bind() applies, not by chmod(), which
         * would follow a link put at the path meanwhile; fchmod() on the socket's fd does not do it
         * either (it changes the socket's own inode, not the file: checked on Linux 6.18). The
         * daemon is single-threaded, so nothing else sees this umask. */
        old = umask(0111);
        r = bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ? -errno : 0;
        (void) umask(old);
        if (r < 0)
                return log_error_errno(r, "cannot bind %s: %m", path);
        if (listen(fd, HANDOFF_BACKLOG) < 0)
                return log_error_errno(errno, "listen() failed: %m");
        return TAKE_FD(fd);
}

int handoff_listen(Handoff *h) {
        int n, r, fd = -EBADF;

        n = sd_listen_fds(true);
        if (n < 0)
                return log_error_errno(n, "sd_listen_fds() failed: %m");
        if (n > 1)
                return log_error_errno(EINVAL, "expected one socket from systemd, got %d", n);
        if (n == 1) {
                /* systemd made the socket and its directory as the units say (SocketMode=,
                 * DirectoryMode=): socket_create()'s checks and modes do not apply */
                fd = SD_LISTEN_FDS_START;
                r = sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0);
                if (r <= 0)
                        return log_error_errno(
                                r < 0 ? r : EINVAL,
                                "the socket from systemd is not a listening SOCK_SEQPACKET unix socket");
                (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                h->listen_fd_from_systemd = true;
                log_info("listening on the socket passed by systemd");
        } else {
                fd = socket_create(h->socket_path);
                if (fd < 0)
                        return fd;
                log_info("listening on %s", h->socket_path);
        }
        h->listen_fd = fd;
        r = sd_event_add_io(h->event, &h->listen_source, fd, EPOLLIN, on_listen, h);
        if (r < 0)
                return log_error_errno(r, "cannot watch the listening socket: %m");
        (void) sd_event_source_set_description(h->listen_source, "handoff-listen");
        return 0;
}

int handoff_new(sd_event *event, const Limits *limits, const char *socket_path,
                const char *proc_root, const HandoffHooks *hooks, void *userdata, Handoff **ret) {
        _cleanup_(handoff_freep) Handoff *h = NULL;
        int r;

        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(event);
        h->limits = limits;
        h->hooks = hooks;
        h->userdata = userdata;
        h->listen_fd = -EBADF;
        h->socket_path = strdup(socket_path);
        h->proc_root = strdup(proc_root);
        if (!h->socket_path || !h->proc_root)
                return -ENOMEM;
        r = sd_event_add_defer(event, &h->gc_source, on_gc, h);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(h->gc_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(h->gc_source, "handoff-gc");
        *ret = TAKE_PTR(h);
        return 0;
}

void handoff_set_limits(Handoff *h, const Limits *limits) {
        h->limits = limits;
}

unsigned handoff_n_conns(const Handoff *h) {
        return h->n_conns;
}

Handoff *handoff_free(Handoff *h) {
        if (!h)
                return NULL;
        while (h->conns) {
                Conn *c = h->conns;
                LIST_REMOVE(conns, h->conns, c);
                conn_free(c);
        }
        on_gc(NULL, h);
        h->gc_source = sd_event_source_disable_unref(h->gc_source);
        h->resume_timer = sd_event_source_disable_unref(h->resume_timer);
        h->listen_source = sd_event_source_disable_unref(h->listen_source);
        if (h->listen_fd >= 0) {
                h->listen_fd = safe_close(h->listen_fd);
                if (!h->listen_fd_from_systemd && h->socket_path)
                        (void) unlink(h->socket_path);
        }
        free(h->uid_rates);
        free(h->socket_path);
        free(h->proc_root);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}
