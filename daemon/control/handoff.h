/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The handoff socket: where cooperating processes connect (SOCK_SEQPACKET, docs/PROTOCOL.md),
 * prove who they are and hand over their userfaultfd. One Conn per connection. The socket layer
 * knows nothing of clients: it verifies the peer and its descriptors, decodes requests and
 * encodes replies, and hands each request up to its owner through HandoffHooks. A connection
 * knows the client it created only by id, so either can go first. Every bad request gets an
 * error REPLY naming the problem, and the connection (and everyone else's) keeps being served. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "ratelimit.h"
#include "limit.h"
#include "list.h"
#include "log.h"
#include "protocol.h"

typedef struct Conn Conn;

/* A hook's "the answer comes later" (see HandoffHooks.track, .untrack). */
#define HANDOFF_PENDING 1

/* The peer of a connection, as the kernel vouches for it (SO_PEERCRED, SO_PEERPIDFD). */
typedef struct HandoffPeer {
        pid_t pid;
        uid_t uid;
        gid_t gid;
} HandoffPeer;

/* The owner's answers to requests. A refusal returns -errno and fills ret_error, whose
 * message goes to the peer in the REPLY (the one place an error becomes a reply). */
typedef struct HandoffHooks {
        /* A HELLO whose three descriptors (uffd, pidfd, pagemap) passed the checks; the hook
         * takes them (closes them on failure too) and returns the new client's id. */
        int (*hello)(void *userdata, const HandoffPeer *peer, const ProtoMessage *req,
                     int fds[PROTO_HELLO_N_FDS], sd_bus_error *ret_error, uint64_t *ret_client_id);
        /* TRACK, UNTRACK: -ESRCH when the client is gone. Either may return HANDOFF_PENDING: the
         * answer comes later, through handoff_request_done(); nothing more is read from that
         * connection meanwhile. */
        int (*track)(void *userdata, uint64_t client_id, const ProtoMessage *req,
                     sd_bus_error *ret_error);
        int (*untrack)(void *userdata, uint64_t client_id, const ProtoMessage *req,
                       sd_bus_error *ret_error);
        /* FOLLOW: the daemon tracks the client's memory by itself from now on. */
        int (*follow)(void *userdata, uint64_t client_id, const ProtoMessage *req,
                      sd_bus_error *ret_error);
        /* STATUS: fill the reply's counters and ranges. */
        int (*status)(void *userdata, uint64_t client_id, ProtoMessage *reply,
                      sd_bus_error *ret_error);
        /* The connection that created client_id ended (hang-up or BYE). */
        void (*closed)(void *userdata, uint64_t client_id);
} HandoffHooks;

/* One uid's connection rate (Limits.connections_per_sec, a token bucket). */
typedef struct UidRate {
        uid_t uid;
        unsigned n_conns; /* its open connections */
        RateLimit rate;
        RateLimit requests; /* Limits.requests_per_sec */
} UidRate;

/* Drops the entries of idle uids: no open connection, and a bucket that is full again at now_usec,
 * so that an entry made afresh (ratelimit_init starts full) would behave the same. Keeps the
 * order of the others and returns their number: the table stays bounded by the uids that are
 * active (connected, or connected within the last burst / rate seconds). Pure. */
size_t uid_rates_prune(UidRate *rates, size_t n, uint64_t now_usec);

typedef struct Handoff {
        sd_event *event;
        const Limits *limits;
        const HandoffHooks *hooks;
        void *userdata;
        char *proc_root;

        char *socket_path;
        int listen_fd;
        bool listen_fd_from_systemd;
        sd_event_source *listen_source;

        Conn *conns;
        unsigned n_conns;
        Conn *dead_conns; /* closed in a callback, freed by gc_source */
        sd_event_source *gc_source;

        UidRate *uid_rates; /* pruned on every accept: see uid_rates_prune() */
        size_t n_uid_rates;

        uint64_t fd_limit; /* RLIMIT_NOFILE soft limit (raised at start), 0 = unknown */
        sd_event_source *resume_timer; /* listening paused after EMFILE */
        LogRatelimit log_fds, log_conns, log_refusals, log_protocol, log_requests;
        uint64_t requests_delayed; /* requests held back by Limits.requests_per_sec */
} Handoff;

int handoff_new(sd_event *event, const Limits *limits, const char *socket_path,
                const char *proc_root, const HandoffHooks *hooks, void *userdata, Handoff **ret);
/* Closes every connection (without calling hooks->closed) and the socket. */
Handoff *handoff_free(Handoff *h);
/* Takes the listening socket from systemd (sd_listen_fds) or creates socket_path. */
int handoff_listen(Handoff *h);
unsigned handoff_n_conns(const Handoff *h);
/* The limits to apply from now on (a reload); the owner keeps them alive. */
void handoff_set_limits(Handoff *h, const Limits *limits);
/* The answer to the request of client_id's connection that its hook left pending (-errno plus
 * error, or >= 0); reading the connection resumes. Nothing happens when no request of
 * client_id is pending (its connection is gone, or it never asked). */
void handoff_request_done(Handoff *h, uint64_t client_id, int r, const sd_bus_error *error);

static inline void handoff_freep(Handoff **h) {
        if (*h)
                handoff_free(*h);
}
