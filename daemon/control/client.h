/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One handed-over userfaultfd: the memory of one process (or of a forked child of one). The
 * Client owns the uffd, the process's pidfd and its pagemap fd, keeps the exact set of tracked
 * ranges across fork/mremap/munmap/MADV_DONTNEED (uffd events, read by the one event reader
 * here), and owns its tracking engine (tracker.h). It never frees itself: when its process
 * exits or its uffd breaks it tells its owner through ClientHooks.gone, and the owner (the
 * Manager) stops it and frees it later from a queue. Closing the uffd gives the process its
 * memory back in full. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "limit.h"
#include "list.h"
#include "macro.h"
#include "policy.h"
#include "protocol.h"
#include "rangeset.h"
#include "tracker.h"
#include "vma.h"

typedef struct Client Client;
typedef struct TrackJob TrackJob; /* a TRACK under way (client.c) */

/* client_track(): the request goes on in later event-loop turns; ClientHooks.tracked answers. */
#define CLIENT_TRACK_PENDING 1

/* News for the owner. Each hook is called from one of the client's own event sources. */
typedef struct ClientHooks {
        /* The process exited, or its uffd or pidfd broke: queue the client's teardown. */
        void (*gone)(void *userdata, Client *c);
        /* A FORK event: the child's uffd (taken over by the hook, closed on failure). */
        void (*forked)(void *userdata, Client *parent, int child_uffd);
        /* A TRACK or UNTRACK that client_track()/client_untrack() left pending is over: r >= 0 done, else -errno with the
         * refusal in error. Not called for a TRACK dropped by client_stop(). */
        void (*tracked)(void *userdata, Client *c, int r, const sd_bus_error *error);
        /* The tracker paged out this many bytes of the client's memory. May be NULL. */
        void (*evicted)(void *userdata, Client *c, uint64_t bytes);
} ClientHooks;

/* Whether the event loop gets anywhere: uffd reads that delivered, and reads that failed (the
 * Manager feeds the service watchdog only while failures do not stand alone). */
typedef struct LoopProgress {
        uint64_t reads_ok;
        uint64_t reads_failed;
} LoopProgress;

/* Whether the loop got anywhere between two readings: not when reads failed and none succeeded
 * (an idle loop is fine). */
static inline bool loop_progressing(const LoopProgress *now, const LoopProgress *before) {
        return now->reads_failed == before->reads_failed || now->reads_ok != before->reads_ok;
}

/* What every client shares, owned by the Manager. */
typedef struct ClientEnv {
        TrackerEnv tracker;
        const Limits *limits;
        uint64_t track_deadline_usec; /* 0: PROTO_TRACK_DEADLINE_USEC (tests shorten it) */
        uint64_t fd_limit; /* RLIMIT_NOFILE in force, 0 = unknown */
        LoopProgress *progress; /* may be NULL */
} ClientEnv;

/* What a TRACK request said about its ranges; TrackedRange.tag indexes this. */
typedef struct TrackTag {
        char *name;
        char **labels; /* "key=value" */
        size_t n_labels;
        bool used; /* a free slot otherwise */
        bool referenced; /* scratch for client_gc_tags() */
} TrackTag;

/* Who the client is: the peer's credentials as the handoff socket verified them. */
typedef struct ClientIdentity {
        uint64_t id;
        pid_t pid;
        uid_t uid; /* the peer's effective uid and gid (SO_PEERCRED): the */
        gid_t gid; /* authority the daemon acts with on its behalf (creds.h) */
        const char *name; /* copied; may be NULL */
        const char *cgroup_path; /* unified-hierarchy path (copied; NULL if unknown), for PSI */
        bool user_mode_only; /* kernel-mode accesses fault with EFAULT in sync windows */
        uint64_t parent_id; /* 0 unless created by a FORK event */
        /* what the client's per-page state is charged to above its own level (its uid's
         * budget, whose parent is the daemon's); must outlive the client. NULL: unlimited */
        StateBudget *state_parent;
} ClientIdentity;

/* FOLLOW: the daemon tracks the process's private anonymous memory by itself (follow.h). A walk
 * of the process's layout runs every scan interval, in slices, and its difference with the
 * tracked ranges becomes a TRACK job of the daemon's own (each new run checked, registered and
 * proven like a TRACK request's; a refused one remembered in skip while its mapping stays). */
typedef struct ClientFollow {
        bool on;
        uint64_t min_bytes;
        char *name; /* for the followed ranges; may be NULL */
        char **labels;
        size_t n_labels;
        sd_event_source *timer; /* a walk every policy interval */
        sd_event_source *work; /* the walk under way, a slice per turn */
        bool walking;
        VmaWalk walk;
        VmaVec layout;
        RunVec skip; /* runs refused, not tried again while their mapping stays */
        bool limit_logged; /* the client's limits stopped following: said once */
        /* counters */
        uint64_t walks;
        uint64_t last_walk_vmas;
        uint64_t ranges_added; /* runs tracked by following */
        uint64_t ranges_refused;
        uint64_t ranges_dropped; /* tracked parts no followable VMA covered any more */
} ClientFollow;

struct Client {
        const ClientEnv *env;
        const ClientHooks *hooks;
        void *userdata;

        uint64_t id;
        pid_t pid;
        uid_t uid;
        gid_t gid;
        char *name;
        char *cgroup_path; /* unified-hierarchy path, for PSI */
        uint64_t parent_id;

        int uffd;
        int pidfd;
        int pagemap_fd;
        bool user_mode_only;
        uint64_t features; /* negotiated */

        sd_event_source *uffd_source;
        sd_event_source *pidfd_source;
        sd_event_source *read_retry; /* re-enables uffd_source after failed reads */
        unsigned read_failures; /* in a row */
        bool reading; /* inside the event reader: never re-entered */
        bool stopped;

        RangeSet ranges;
        StateBudget state_budget; /* what ranges' per-page state costs: this client's level */
        uint64_t splits_refused; /* unmaps that untracked a remainder (ranges_per_client) */
        uint64_t forks_refused; /* FORK events dropped at the pending-fork caps */
        TrackTag *tags;
        size_t n_tags;
        TrackJob *track_job; /* a TRACK under way, or NULL */
        ClientFollow follow;

        Tracker tracker;

        /* the owner's lists */
        bool gc_queued;
        LIST_FIELDS(Client, clients);
        LIST_FIELDS(Client, gc);
};

/* Negotiates the uffd for the env's backend and starts tracking. Takes ownership of the three
 * fds (closed on failure too). The refusal for the peer goes to ret_error. */
int client_new(const ClientEnv *env, const Policy *policy, const ClientHooks *hooks, void *userdata,
               const ClientIdentity *who, int uffd, int pidfd, int pagemap_fd,
               sd_bus_error *ret_error, Client **ret);
/* A forked child of parent: its uffd was negotiated with the parent's and carries a copy of
 * the parent's registrations. Takes ownership of the three fds. */
int client_new_forked(const Client *parent, const ClientIdentity *who, int uffd, int pidfd,
                      int pagemap_fd, Client **ret);
/* Only the owner calls these two: stop all sources (idempotent), then free. */
void client_stop(Client *c);
Client *client_free(Client *c);

/* Register each range with the uffd and start tracking it, all or nothing. Done in pieces
 * (client.c): what does not fit in this event-loop turn goes on later, and then this returns
 * CLIENT_TRACK_PENDING and the answer comes through hooks->tracked. -EBUSY while one is under
 * way. */
int client_track(Client *c, const ProtoRange *ranges, size_t n_ranges, const char *name,
                 char *const *labels, size_t n_labels, sd_bus_error *ret_error);
/* The ranges leave the range set and the tracker at once; their UFFDIO_UNREGISTER goes in
 * pieces, and when that does not fit in this turn this returns CLIENT_TRACK_PENDING and the
 * answer comes through hooks->tracked, as for client_track(). */
int client_untrack(Client *c, const ProtoRange *ranges, size_t n_ranges, sd_bus_error *ret_error);

/* FOLLOW: from now on the daemon tracks the process's followable memory of runs of at least
 * min_bytes itself (follow.h), under name and labels, walking its layout every scan interval;
 * the first walk starts in a later turn. TRACK and UNTRACK are refused from then on. -EALREADY
 * when following already, -EBUSY when ranges are tracked or a TRACK is under way. */
int client_follow(Client *c, uint64_t min_bytes, const char *name, char *const *labels,
                  size_t n_labels, sd_bus_error *ret_error);

/* The one event reader: drains and applies pending uffd events in the order the kernel gave
 * them, then retries faults deferred by EAGAIN. -ESRCH when the process is gone; -EBUSY if
 * called from inside itself (never re-entered). */
int client_process_events(Client *c);

void client_set_policy(Client *c, const Policy *policy);
/* Records the cgroup the process is in now (NULL: unknown); returns true when it changed.
 * Its PSI is read from there from the next cycle on. */
bool client_set_cgroup(Client *c, const char *cgroup_path);
const char *client_tag_name(const Client *c, uint32_t tag);

/* Getters for the owner's second half (the bus, the dump). */
/* The name of the policy the client runs under; "default" for the default policy. */
const char *client_policy_name(const Client *c);
/* The policy the client runs under (NULL only before the client is set up). */
const Policy *client_policy(const Client *c);
const TrackerCounters *client_counters(const Client *c);
/* Classifies but never evicts: the daemon monitors only, or the client's policy is a dry run. */
bool client_monitor_only(const Client *c);
uint64_t client_tracked_bytes(const Client *c);
/* tracker_evict_now() on the client's tracker. */
int client_evict_now(Client *c, uint64_t max_bytes, uint64_t *ret_queued);
