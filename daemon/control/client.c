/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "client.h"
#include "creds.h"
#include "follow.h"
#include "log.h"
#include "macro.h"
#include "slice.h"
#include "tracker.h"
#include "uapi.h"
#include "vma.h"

/* Events that keep the range set exact; each makes the client's syscall wait until we read it,
 * which is why the uffd source runs at the highest priority. */
#define CLIENT_EVENT_FEATURES                                                             \
        (UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | \
         UFFD_FEATURE_EVENT_UNMAP)
#define CLIENT_EVENTS_PER_READ 64
/* Rounds of reading when faults stay deferred behind a pending event (each round reads the
 * uffd again, so the pending event is applied before the retry). */
#define CLIENT_DEFERRED_ROUNDS 4
/* A read of the uffd that fails (EMFILE: a FORK event's descriptor cannot be installed, and the
 * kernel keeps the event queued, so the uffd stays readable) is not retried at once, which would
 * spin at the highest priority: the source rests for CLIENT_READ_BACKOFF_USEC, doubled per
 * failure, and after CLIENT_READ_FAILURES_MAX failures in a row the client is dropped (closing
 * its uffd releases the process's pending fork). */
#define CLIENT_READ_BACKOFF_USEC (10 * USEC_PER_MSEC)
#define CLIENT_READ_FAILURES_MAX 8U
/* Descriptors kept free beyond what a read may bring (every message of a read may be a FORK
 * bringing one): for the pidfd and pagemap fd of an adopted child, a connection, a file. */
#define CLIENT_FD_RESERVE 8U

const char *client_tag_name(const Client *c, uint32_t tag) {
        if (tag < c->n_tags && c->tags[tag].name)
                return c->tags[tag].name;
        return "";
}

static void track_tag_done(TrackTag *t) {
        free(t->name);
        for (size_t i = 0; i < t->n_labels; i++)
                free(t->labels[i]);
        free(t->labels);
}

/* Tell the owner, once; it stops and frees us later. */
static void client_gone(Client *c) {
        if (c->stopped)
                return;
        client_stop(c);
        c->hooks->gone(c->userdata, c);
}

static int on_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Client *c = userdata;

        log_info("client %" PRIu64 " (pid %d): process exited, releasing its memory", c->id,
                 (int) c->pid);
        client_gone(c);
        return 0;
}

static int on_read_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Client *c = userdata;

        if (!c->stopped && c->uffd_source)
                (void) sd_event_source_set_enabled(c->uffd_source, SD_EVENT_ON);
        return 0;
}

/* A read failed: rest the uffd source, or give up on the client. Returns -ESRCH to drop it. */
static int client_read_failed(Client *c, int error) {
        sd_event *e = c->env->tracker.event;
        uint64_t delay;
        int r;

        c->read_failures++;
        if (c->env->progress)
                c->env->progress->reads_failed++;
        if (c->read_failures >= CLIENT_READ_FAILURES_MAX) {
                log_warning_errno(error,
                                  "client %" PRIu64 " (pid %d): reading its userfaultfd failed %u "
                                  "times in a row, dropping the client: %m",
                                  c->id, (int) c->pid, c->read_failures);
                return -ESRCH;
        }
        delay = CLIENT_READ_BACKOFF_USEC << (c->read_failures - 1);
        if (!c->read_retry) {
                r = sd_event_add_time_relative(e, &c->read_retry, CLOCK_MONOTONIC, delay,
                                               USEC_PER_MSEC, on_read_retry, c);
                if (r < 0)
                        return -ESRCH; /* cannot rest it: dropping beats spinning */
                (void) sd_event_source_set_description(c->read_retry, "uffd-read-retry");
                (void) sd_event_source_set_priority(c->read_retry, SD_EVENT_PRIORITY_IMPORTANT);
        } else
                (void) sd_event_source_set_time_relative(c->read_retry, delay);
        (void) sd_event_source_set_enabled(c->read_retry, SD_EVENT_ONESHOT);
        (void) sd_event_source_set_enabled(c->uffd_source, SD_EVENT_OFF);
        log_full(c->read_failures == 1 ? LOG_NOTICE : LOG_DEBUG,
                 "client %" PRIu64 " (pid %d): reading its userfaultfd failed (%s), retrying in "
                 "%" PRIu64 " ms",
                 c->id, (int) c->pid, strerror(-error), (uint64_t) (delay / USEC_PER_MSEC));
        return 0;
}

/* How many messages a read may take: each may be a FORK that brings a descriptor, so no more than
 * there are descriptors to spare (judged by the lowest free one: the kernel hands out the lowest,
 * so when that is near the limit so is the table), less CLIENT_FD_RESERVE. -EMFILE: none. */
static int client_read_room(const Client *c) {
        int fd;

        if (c->env->fd_limit == 0)
                return CLIENT_EVENTS_PER_READ;
        fd = fcntl(c->uffd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        safe_close(fd);
        if ((uint64_t) fd + CLIENT_FD_RESERVE >= c->env->fd_limit)
                return -EMFILE;
        return (int) MIN((uint64_t) CLIENT_EVENTS_PER_READ,
                         c->env->fd_limit - CLIENT_FD_RESERVE - (uint64_t) fd);
}

static int on_uffd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Client *c = userdata;
        int r;

        if (revents & (EPOLLERR | EPOLLHUP)) {
                /* The uffd itself does not hang up when the process exits (the pidfd tells);
                 * an error here means the context is unusable. */
                log_warning("client %" PRIu64 ": userfaultfd reported %s, dropping the client",
                            c->id, revents & EPOLLERR ? "an error" : "hang-up");
                client_gone(c);
                return 0;
        }
        r = client_process_events(c);
        if (r == -ESRCH) {
                /* before the pidfd: an exiting process has no address space a while before its
                 * pidfd turns readable (the teardown of its memory comes first) */
                log_info("client %" PRIu64 " (pid %d): its address space is gone (exit or exec)",
                         c->id, (int) c->pid);
                client_gone(c);
        } else if (r < 0 && r != -EBUSY && client_read_failed(c, r) == -ESRCH) {
                client_gone(c);
        }
        return 0;
}

/* The tracker's hooks: it reads events through us (outside our reader only) and reports a
 * process found gone by a timer. */
static int on_tracker_read_events(void *userdata) {
        return client_process_events(userdata);
}

static void on_tracker_gone(void *userdata) {
        client_gone(userdata);
}

static void on_tracker_evicted(void *userdata, uint64_t bytes) {
        Client *c = userdata;

        if (c->hooks->evicted)
                c->hooks->evicted(c->userdata, c, bytes);
}

static const TrackerHooks client_tracker_hooks = {
        .read_events = on_tracker_read_events,
        .gone = on_tracker_gone,
        .evicted = on_tracker_evicted,
};

static int client_attach_sources(Client *c) {
        sd_event *e = c->env->tracker.event;
        char desc[64];
        int r;

        r = sd_event_add_io(e, &c->uffd_source, c->uffd, EPOLLIN, on_uffd, c);
        if (r < 0)
                return r;
        /* Faults and events block the client: serve them before any scan or eviction. */
        r = sd_event_source_set_priority(c->uffd_source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                return r;
        snprintf(desc, sizeof desc, "uffd-%" PRIu64, c->id);
        (void) sd_event_source_set_description(c->uffd_source, desc);

        r = sd_event_add_io(e, &c->pidfd_source, c->pidfd, EPOLLIN, on_pidfd, c);
        if (r < 0)
                return r;
        snprintf(desc, sizeof desc, "pidfd-%" PRIu64, c->id);
        (void) sd_event_source_set_description(c->pidfd_source, desc);
        return 0;
}

static int client_alloc(const ClientEnv *env, const Policy *policy, const ClientHooks *hooks,
                        void *userdata, const ClientIdentity *who, int uffd, int pidfd,
                        int pagemap_fd, Client **ret) {
        Client *c = calloc(1, sizeof *c);

        if (!c) {
                safe_close(uffd);
                safe_close(pidfd);
                safe_close(pagemap_fd);
                return -ENOMEM;
        }
        c->env = env;
        c->hooks = hooks;
        c->userdata = userdata;
        c->id = who->id;
        c->pid = who->pid;
        c->uid = who->uid;
        c->gid = who->gid;
        c->parent_id = who->parent_id;
        c->user_mode_only = who->user_mode_only;
        c->uffd = uffd;
        c->pidfd = pidfd;
        c->pagemap_fd = pagemap_fd;
        (void) range_set_init(&c->ranges, page_size());
        c->state_budget = (StateBudget){
                .parent = who->state_parent,
                .merge = classify_state_merge,
        };
        c->ranges.budget = &c->state_budget;
        if ((who->name && !(c->name = strdup(who->name))) ||
            (who->cgroup_path && !(c->cgroup_path = strdup(who->cgroup_path)))) {
                client_free(c);
                return -ENOMEM;
        }
        tracker_init(&c->tracker, &env->tracker, policy, &client_tracker_hooks, c,
                     &(TrackerTarget){
                             .id = c->id,
                             .pid = c->pid,
                             .uid = c->uid,
                             .gid = c->gid,
                             .uffd = c->uffd,
                             .pidfd = c->pidfd,
                             .pagemap_fd = c->pagemap_fd,
                             .ranges = &c->ranges,
                             .cgroup_path = c->cgroup_path,
                             .no_sync_window = c->user_mode_only,
                     });
        *ret = c;
        return 0;
}

int client_new(const ClientEnv *env, const Policy *policy, const ClientHooks *hooks, void *userdata,
               const ClientIdentity *who, int uffd, int pidfd, int pagemap_fd,
               sd_bus_error *ret_error, Client **ret) {
        const KernelOps *k = env->tracker.kops;
        Client *c = NULL;
        uint64_t want, got = 0, ioctls = 0;
        int r;

        r = client_alloc(env, policy, hooks, userdata, who, uffd, pidfd, pagemap_fd, &c);
        if (r < 0)
                return sd_bus_error_set_errnof(ret_error, -r, "out of memory");

        /* The daemon, not the client, negotiates: it knows the backend. UFFDIO_API works once
         * per fd, so an already negotiated uffd fails here with EINVAL. */
        want = tracker_backend_features(env->tracker.backend) | CLIENT_EVENT_FEATURES;
        r = k->api(c->uffd, want, &got, &ioctls);
        if (r == -EINVAL)
                r = sd_bus_error_set_errnof(
                        ret_error, EINVAL,
                        "UFFDIO_API refused features 0x%" PRIx64
                        ": the userfaultfd was already initialised, or is not a fresh one",
                        want);
        else if (r < 0)
                r = sd_bus_error_set_errnof(ret_error, -r, "UFFDIO_API failed: %s", strerror(-r));
        else if ((got & want) != want)
                r = sd_bus_error_set_errnof(ret_error, EOPNOTSUPP,
                                            "the userfaultfd lacks features 0x%" PRIx64,
                                            want & ~got);
        if (r < 0)
                goto fail;
        c->features = got;

        r = fcntl(c->uffd, F_GETFL);
        if (r >= 0 && !(r & O_NONBLOCK))
                (void) fcntl(c->uffd, F_SETFL, r | O_NONBLOCK);

        r = client_attach_sources(c);
        if (r >= 0)
                r = tracker_start(&c->tracker);
        if (r < 0) {
                r = sd_bus_error_set_errnof(ret_error, -r, "internal error: %s", strerror(-r));
                goto fail;
        }
        log_info("client %" PRIu64
                 " (pid %d, uid %u%s%s): userfaultfd negotiated for %s, features 0x%" PRIx64 "%s",
                 c->id, (int) c->pid, (unsigned) c->uid, c->name ? ", " : "",
                 c->name ? c->name : "", backend_to_string(env->tracker.backend), got,
                 c->user_mode_only
                         ? " (user-mode-only: kernel accesses fail with EFAULT in sync windows)"
                         : "");
        *ret = c;
        return 0;
fail:
        client_free(c);
        return r;
}

static bool tag_equal(const TrackTag *t, const char *name, char *const *labels, size_t n_labels) {
        if (!t->used || !streq_ptr(t->name, name) || t->n_labels != n_labels)
                return false;
        for (size_t i = 0; i < n_labels; i++)
                if (!streq(t->labels[i], labels[i]))
                        return false;
        return true;
}

/* Tags are shared by the ranges that say the same (a client that tracks and untracks the same
 * way again and again holds one), and freed when no range refers to them any more
 * (client_gc_tags), so what a client creates is bounded by what it tracks now. */
static int client_add_tag(Client *c, const char *name, char *const *labels, size_t n_labels,
                          uint32_t *ret) {
        TrackTag *n, t = { .used = true };
        size_t slot = c->n_tags;

        for (size_t i = 0; i < c->n_tags; i++) {
                if (tag_equal(&c->tags[i], name, labels, n_labels)) {
                        *ret = (uint32_t) i;
                        return 0;
                }
                if (!c->tags[i].used && slot == c->n_tags)
                        slot = i;
        }
        if (slot >= UINT32_MAX)
                return -E2BIG;
        if (name && !(t.name = strdup(name)))
                return -ENOMEM;
        if (n_labels > 0) {
                t.labels = calloc(n_labels, sizeof(char *));
                if (!t.labels) {
                        track_tag_done(&t);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < n_labels; i++, t.n_labels++)
                        if (!(t.labels[i] = strdup(labels[i]))) {
                                track_tag_done(&t);
                                return -ENOMEM;
                        }
        }
        if (slot == c->n_tags) {
                n = realloc(c->tags, (c->n_tags + 1) * sizeof *n);
                if (!n) {
                        track_tag_done(&t);
                        return -ENOMEM;
                }
                c->tags = n;
                c->n_tags++;
        }
        c->tags[slot] = t;
        *ret = (uint32_t) slot;
        return 0;
}

/* Frees the tags no range refers to; trailing free slots are given back. */
static void client_gc_tags(Client *c) {
        size_t n;

        for (size_t i = 0; i < c->n_tags; i++)
                c->tags[i].referenced = false;
        for (size_t i = 0; i < c->ranges.n_ranges; i++)
                if (c->ranges.ranges[i].tag < c->n_tags)
                        c->tags[c->ranges.ranges[i].tag].referenced = true;
        for (size_t i = 0; i < c->n_tags; i++)
                if (c->tags[i].used && !c->tags[i].referenced) {
                        track_tag_done(&c->tags[i]);
                        c->tags[i] = (TrackTag){};
                }
        for (n = c->n_tags; n > 0 && !c->tags[n - 1].used; n--)
                ;
        if (n == c->n_tags)
                return;
        c->n_tags = n;
        if (n == 0)
                c->tags = mfree(c->tags);
        else {
                TrackTag *t = realloc(c->tags, n * sizeof *t);
                if (t)
                        c->tags = t;
        }
}

/* A verbatim copy, slot for slot: the copied ranges refer to tags by index. */
static int client_copy_tags(Client *c, const Client *from) {
        if (from->n_tags == 0)
                return 0;
        c->tags = calloc(from->n_tags, sizeof *c->tags);
        if (!c->tags)
                return -ENOMEM;
        c->n_tags = from->n_tags;
        for (size_t i = 0; i < from->n_tags; i++) {
                const TrackTag *f = &from->tags[i];
                TrackTag *t = &c->tags[i];

                t->used = f->used;
                if (f->name && !(t->name = strdup(f->name)))
                        return -ENOMEM;
                if (f->n_labels > 0 && !(t->labels = calloc(f->n_labels, sizeof(char *))))
                        return -ENOMEM;
                for (size_t j = 0; j < f->n_labels; j++, t->n_labels++)
                        if (!(t->labels[j] = strdup(f->labels[j])))
                                return -ENOMEM;
        }
        return 0;
}

static int client_follow_copy(Client *c, const Client *parent);

int client_new_forked(const Client *parent, const ClientIdentity *who, int uffd, int pidfd,
                      int pagemap_fd, Client **ret) {
        Client *c = NULL;
        int r;

        r = client_alloc(parent->env, parent->tracker.policy, parent->hooks, parent->userdata, who,
                         uffd, pidfd, pagemap_fd, &c);
        if (r < 0)
                return r;
        c->features = parent->features; /* inherited by the kernel with the context */

        /* The child's registered ranges are a copy of the parent's at fork time, and so are
         * the protection markers (EVENT_FORK keeps them). */
        range_set_done(&c->ranges);
        r = range_set_copy(&parent->ranges, c->ranges.budget, &c->ranges);
        if (r >= 0)
                r = client_copy_tags(c, parent);
        if (r >= 0)
                r = client_follow_copy(c, parent);
        if (r >= 0)
                r = client_attach_sources(c);
        if (r >= 0)
                r = tracker_start(&c->tracker);
        if (r < 0) {
                client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

static TrackJob *track_job_free(TrackJob *j);
static void client_follow_stop(Client *c);
static void client_follow_done(Client *c);
void client_stop(Client *c) {
        if (!c)
                return;
        c->stopped = true;
        /* a TRACK under way is dropped; its ranges' registrations go with the uffd, and the
         * owner answers the request (it knows it is stopping us) */
        c->track_job = track_job_free(c->track_job);
        client_follow_stop(c);
        tracker_stop(&c->tracker);
        c->uffd_source = sd_event_source_disable_unref(c->uffd_source);
        c->pidfd_source = sd_event_source_disable_unref(c->pidfd_source);
        c->read_retry = sd_event_source_disable_unref(c->read_retry);
}

Client *client_free(Client *c) {
        if (!c)
                return NULL;

        client_stop(c);
        tracker_done(&c->tracker);
        /* Closing the last reference to the uffd unregisters everything and wakes any thread
         * still blocked on a fault: the process keeps running with its memory intact. */
        safe_close(c->uffd);
        safe_close(c->pidfd);
        safe_close(c->pagemap_fd);

        client_follow_done(c);
        range_set_done(&c->ranges);
        for (size_t i = 0; i < c->n_tags; i++)
                track_tag_done(&c->tags[i]);
        free(c->tags);
        free(c->cgroup_path);
        free(c->name);
        free(c);
        return NULL;
}

void client_set_policy(Client *c, const Policy *policy) {
        tracker_set_policy(&c->tracker, policy);
}

bool client_set_cgroup(Client *c, const char *cgroup_path) {
        char *copy = NULL;

        if (streq_ptr(c->cgroup_path, cgroup_path))
                return false;
        if (cgroup_path && !(copy = strdup(cgroup_path)))
                return false; /* keep the old path: PSI and the bus show a stale cgroup, nothing worse */
        free(c->cgroup_path);
        c->cgroup_path = copy;
        tracker_set_cgroup_path(&c->tracker, c->cgroup_path);
        return true;
}

/* ---- TRACK, in pieces ----
 *
 * The checks and the registration of a range cost in proportion to its VMAs and its populated
 * page tables (the proof scan after REGISTER walks every page: 120 ms for 64 GiB with a page
 * written per MiB here; 30000 VMAs took 80 ms). So a range is done piece by piece, at most
 * CLIENT_TRACK_PIECE_BYTES and CLIENT_TRACK_PIECE_VMAS at a time, for CLIENT_TRACK_SLICE_USEC
 * per event-loop turn: what does not fit in the request's own turn goes on from a defer source,
 * and the reply comes through ClientHooks.tracked (the connection reads nothing more meanwhile).
 * Each piece gets the full treatment (VMA check, not registered before, REGISTER, proof after),
 * so the whole range has it once all pieces passed; it is tracked (added to the range set and
 * armed) when its last piece passed. Events between two turns do not see the range until then:
 * an unmap of a piece already registered leaves it in the range, harmlessly (nothing is mapped
 * there; the next UNTRACK or unmap event drops it). */
#define CLIENT_TRACK_PIECE_BYTES (UINT64_C(256) << 20)
#define CLIENT_TRACK_PIECE_VMAS 1024
#define CLIENT_TRACK_SLICE_USEC (5 * USEC_PER_MSEC)
/* UFFDIO_UNREGISTER walks the piece's VMAs and, with WP_UNPOPULATED, clears a marker per page
 * table entry (35 ms for 65000 VMAs, ~100 ms for 64 GiB here): in pieces of this size. */
#define CLIENT_UNREGISTER_PIECE_BYTES (UINT64_C(64) << 20)

struct TrackJob {
        ProtoRange *ranges;
        size_t n_ranges;
        char *name;
        char **labels;
        size_t n_labels;
        size_t i; /* the range under way */
        bool begun; /* its checks passed, [its start, pos) is registered and proven */
        uint64_t pos;
        sd_event_source *source;
        /* UNTRACK: the ranges leave the set at once; their unregistration follows in pieces */
        bool untrack;
        /* FOLLOW: the daemon's own job; a refused range is skipped, not the whole job, and
         * nobody waits for an answer */
        bool follow;
        RunVec unreg;
        int error; /* a refusal met on the way, answered when the pieces are done */
        uint64_t deadline_usec; /* TRACK: undone and refused when not done by then */
        sd_bus_error error_text;
};

static TrackJob *track_job_free(TrackJob *j) {
        if (!j)
                return NULL;
        sd_event_source_disable_unref(j->source);
        run_vec_done(&j->unreg);
        sd_bus_error_free(&j->error_text);
        free(j->ranges);
        free(j->name);
        for (size_t i = 0; i < j->n_labels; i++)
                free(j->labels[i]);
        free(j->labels);
        free(j);
        return NULL;
}

/* What a range must satisfy before any kernel call: aligned, within the limits, not overlapping. */
static int track_range_precheck(Client *c, uint64_t start, uint64_t len, sd_bus_error *ret_error) {
        const Limits *lim = c->env->limits;
        const StateBudget *short_of;
        uint64_t need;
        uint64_t end;

        if (len == 0 || !IS_ALIGNED(start, page_size()) || !IS_ALIGNED(len, page_size()))
                return sd_bus_error_set_errnof(ret_error, EINVAL,
                                               "range 0x%" PRIx64 "+0x%" PRIx64
                                               " is not page-aligned (page size %zu) or empty",
                                               start, len, page_size());
        if (__builtin_add_overflow(start, len, &end))
                return sd_bus_error_set_errnof(ret_error, EINVAL,
                                               "range 0x%" PRIx64 "+0x%" PRIx64 " wraps around",
                                               start, len);
        if (c->ranges.n_ranges >= lim->ranges_per_client)
                return sd_bus_error_set_errnof(
                        ret_error, E2BIG,
                        "limit reached: at most %u ranges per client (ranges_per_client)",
                        lim->ranges_per_client);
        /* the least the range's state may cost: its chunk words, once its pages differ */
        need = range_state_words_bytes(len, c->ranges.page_shift);
        short_of = state_budget_short(&c->state_budget, need);
        if (short_of)
                return sd_bus_error_set_errnof(
                        ret_error, ENOSPC,
                        "limit reached: the daemon's memory for per-page state (%s=%" PRIu64
                        ", %" PRIu64 " in use) has no room for the %" PRIu64
                        " bytes this range may need: track less, or untrack what is not needed",
                        short_of->parent ? "state_bytes_per_uid" : "state_bytes_total",
                        short_of->limit, short_of->used, need);
        if (range_set_bytes(&c->ranges) + len > lim->bytes_per_client)
                return sd_bus_error_set_errnof(ret_error, E2BIG,
                                               "limit reached: at most %" PRIu64
                                               " bytes per client (bytes_per_client)",
                                               lim->bytes_per_client);
        for (size_t i = 0; i < c->ranges.n_ranges; i++) {
                const TrackedRange *t = &c->ranges.ranges[i];
                if (t->start < end && start < t->end)
                        return sd_bus_error_set_errnof(ret_error, EEXIST,
                                                       "range 0x%" PRIx64 "-0x%" PRIx64
                                                       " overlaps tracked range 0x%" PRIx64
                                                       "-0x%" PRIx64,
                                                       start, end, t->start, t->end);
        }
        return 0;
}

/* Checks, registers and proves [start, end), or the part of it up to *ret_end that the piece's
 * VMA budget reached. On failure the piece is left unregistered. */
static int track_piece(Client *c, uint64_t start, uint64_t end, uint64_t *ret_end,
                       sd_bus_error *ret_error) {
        const KernelOps *k = c->env->tracker.kops;
        uint64_t ioctls = 0, mode, proof_mode, len;
        int r;

        /* /proc/PID/maps opened with the client's credentials: the kernel refuses it when the
         * process is not the client's to read (any more). */
        {
                _cleanup_(creds_restore) Creds saved = {};

                r = creds_assume(c->uid, c->gid, &saved);
                if (r < 0)
                        return sd_bus_error_set_errnof(
                                ret_error, -r,
                                "internal error: cannot take the client's credentials");
                r = vma_check_range(c->env->tracker.proc_root, c->pid, start, end,
                                    CLIENT_TRACK_PIECE_VMAS, &end, ret_error);
                if (r < 0)
                        return r;
        }
        len = end - start;

        /* The range must not be registered with any userfaultfd yet: otherwise the proof
         * below could be passed by another uffd of the peer's own. -ENODATA (rwp, nothing
         * populated): nothing to see. */
        mode = tracker_backend_register_mode(c->env->tracker.backend);
        /* The proof is made in MODE_WP where the uffd has WP_ASYNC (the rwp backend negotiates
         * it for this alone): PAGE_IS_WPALLOWED covers every page of the range, populated or
         * not, where the rwp way (ACCESSED on populated pages) cannot see an empty range. */
        proof_mode = (c->features & UFFD_FEATURE_WP_ASYNC) ? UFFDIO_REGISTER_MODE_WP : mode;
        r = vma_range_is_registered(k, c->pagemap_fd, start, end, proof_mode);
        if (r < 0 && r != -ENODATA)
                return sd_bus_error_set_errnof(ret_error, -r,
                                               "cannot read the page map of 0x%" PRIx64
                                               "-0x%" PRIx64 ": %s",
                                               start, end, strerror(-r));
        if (r > 0)
                return sd_bus_error_set_errnof(ret_error, EBUSY,
                                               "0x%" PRIx64 "-0x%" PRIx64
                                               " is already registered with a userfaultfd",
                                               start, end);

        r = UFFD_RETRY_EAGAIN(k->register_range(c->uffd, start, len, proof_mode, &ioctls),
                              client_process_events(c));
        if (r == -ESRCH)
                return sd_bus_error_set_errnof(ret_error, ESRCH, "the process has exited");
        if (r < 0)
                return sd_bus_error_set_errnof(
                        ret_error, -r,
                        "UFFDIO_REGISTER of 0x%" PRIx64 "-0x%" PRIx64 " failed: %s%s", start, end,
                        strerror(-r),
                        r == -EBUSY ? " (already registered with another userfaultfd)" : "");

        /* Prove that the uffd acts on this peer's memory: its own pagemap must now show the
         * whole range registered. A uffd taken from another process registered that process's
         * memory (or failed); either way we undo and refuse. */
        r = vma_range_is_registered(k, c->pagemap_fd, start, end, proof_mode);
        if (r == -ENODATA)
                log_debug("client %" PRIu64 ": 0x%" PRIx64 "-0x%" PRIx64
                          " has no populated page, registration not provable",
                          c->id, start, end);
        else if (r != VMA_REGISTERED_ALL) {
                (void) k->unregister_range(c->uffd, start, len);
                return sd_bus_error_set_errnof(
                        ret_error, EPERM,
                        "the userfaultfd does not act on the memory of pid %d: hand over a userfaultfd created by the process itself",
                        (int) c->pid);
        }
        if (proof_mode != mode) {
                /* proven: the uffd's address space is the peer's for good. Now the real mode
                 * (MODE_WP and MODE_RWP do not combine). */
                (void) k->unregister_range(c->uffd, start, len);
                r = k->register_range(c->uffd, start, len, mode, &ioctls);
                if (r < 0)
                        return sd_bus_error_set_errnof(ret_error, -r,
                                                       "UFFDIO_REGISTER of 0x%" PRIx64 "-0x%" PRIx64
                                                       " failed: %s",
                                                       start, end, strerror(-r));
        }
        *ret_end = end;
        return 0;
}

/* Every piece of [start, end) passed: track it. On failure the whole range is unregistered. */
static int track_range_commit(Client *c, uint64_t start, uint64_t end, const char *name,
                              char *const *labels, size_t n_labels, sd_bus_error *ret_error) {
        const KernelOps *k = c->env->tracker.kops;
        uint32_t tag;
        int r;

        r = client_add_tag(c, name, labels, n_labels, &tag);
        if (r >= 0)
                r = range_set_add(&c->ranges, start, end, tag);
        if (r < 0) {
                client_gc_tags(c);
                (void) k->unregister_range(c->uffd, start, end - start);
                return sd_bus_error_set_errnof(ret_error, -r, "cannot track range: %s",
                                               strerror(-r));
        }
        r = tracker_range_added(&c->tracker, start, end);
        if (r < 0) {
                uint64_t removed;
                (void) range_set_remove(&c->ranges, start, end, &removed);
                client_gc_tags(c);
                (void) k->unregister_range(c->uffd, start, end - start);
                return sd_bus_error_set_errnof(ret_error, -r,
                                               "cannot arm range 0x%" PRIx64 "-0x%" PRIx64 ": %s",
                                               start, end, strerror(-r));
        }
        log_info("client %" PRIu64 " (pid %d): tracking 0x%" PRIx64 "-0x%" PRIx64 " (%" PRIu64
                 " KiB%s%s)",
                 c->id, (int) c->pid, start, end, (end - start) / 1024, name ? ", " : "",
                 name ? name : "");
        return 0;
}

static int client_untrack_one(Client *c, uint64_t start, uint64_t len, RunVec *defer_unregister,
                              sd_bus_error *ret_error);

/* All or nothing: unregisters the pieces of the range under way, untracks the ranges done. */
static void track_job_undo(Client *c, TrackJob *j) {
        if (j->i < j->n_ranges && j->begun && j->pos > j->ranges[j->i].start)
                (void) c->env->tracker.kops->unregister_range(c->uffd, j->ranges[j->i].start,
                                                              j->pos - j->ranges[j->i].start);
        for (size_t i = 0; i < j->i && i < j->n_ranges; i++)
                (void) client_untrack_one(c, j->ranges[i].start, j->ranges[i].len, NULL, NULL);
        j->i = j->n_ranges;
        j->begun = false;
}

/* UNTRACK: each range leaves the set and the tracker at once (cheap), its registration is
 * undone piece by piece afterwards; the answer comes when every piece is done. */
static int untrack_job_step(Client *c, TrackJob *j, SliceBudget *b, sd_bus_error *ret_error) {
        for (;;) {
                AddrRun a;
                int r;

                if (slice_budget_spent(b, now_usec()))
                        return 1;
                if (slice_take_front(&j->unreg, CLIENT_UNREGISTER_PIECE_BYTES, page_size(), &a) >
                    0) {
                        r = c->env->tracker.kops->unregister_range(c->uffd, a.start,
                                                                   a.end - a.start);
                        if (r < 0 && r != -ENOMEM && r != -EINVAL)
                                log_debug_errno(r,
                                                "client %" PRIu64 ": UFFDIO_UNREGISTER 0x%" PRIx64
                                                "-0x%" PRIx64 ": %m",
                                                c->id, a.start, a.end);
                        slice_budget_take(b, (a.end - a.start) / page_size());
                        continue;
                }
                if (j->i >= j->n_ranges)
                        break;
                r = client_untrack_one(c, j->ranges[j->i].start, j->ranges[j->i].len, &j->unreg,
                                       &j->error_text);
                if (r < 0) {
                        /* as before: the ranges before it stay untracked, the rest is not tried */
                        j->error = r;
                        j->i = j->n_ranges;
                        continue; /* the pieces queued so far are still undone */
                }
                j->i++;
        }
        if (j->error < 0) {
                (void) sd_bus_error_copy(ret_error, &j->error_text);
                return j->error;
        }
        return 0;
}

/* Goes on with the job until it is done or the budget is spent: 1 when more is left, 0 when
 * every range is tracked, -errno (ret_error set) when one was refused: then nothing of the
 * request stays registered or tracked (all or nothing). */
static int track_job_step(Client *c, TrackJob *j, SliceBudget *b, sd_bus_error *ret_error) {
        int r;

        while (j->i < j->n_ranges) {
                uint64_t start = j->ranges[j->i].start, len = j->ranges[j->i].len, end, piece_end;

                if (slice_budget_spent(b, now_usec()))
                        return 1;
                if (!j->begun) {
                        r = track_range_precheck(c, start, len, ret_error);
                        if (r < 0)
                                goto fail;
                        j->begun = true;
                        j->pos = start;
                }
                end = start + len;
                piece_end = ALIGN_DOWN(j->pos, CLIENT_TRACK_PIECE_BYTES) + CLIENT_TRACK_PIECE_BYTES;
                if (piece_end <= j->pos || piece_end > end)
                        piece_end = end;
                r = track_piece(c, j->pos, piece_end, &piece_end, ret_error);
                if (r < 0)
                        goto fail;
                slice_budget_take(b, (piece_end - j->pos) / page_size());
                j->pos = piece_end;
                /* (past the deadline with all of it done: the commit is cheap, answer yes) */
                if (now_usec() >= j->deadline_usec && !(j->pos == end && j->i + 1 == j->n_ranges)) {
                        /* The client gives up waiting at PROTO_REPLY_TIMEOUT_USEC: answer well
                         * before, with nothing left registered. */
                        r = sd_bus_error_set_errnof(
                                ret_error, ETIMEDOUT,
                                "the daemon could not register the request within %" PRIu64
                                " s (it had got to 0x%" PRIx64 " of range %zu of %zu, "
                                "0x%" PRIx64 "+0x%" PRIx64
                                "; the machine is busy, or the range has very many VMAs): nothing "
                                "is tracked; try again, or in smaller pieces",
                                (uint64_t) ((c->env->track_deadline_usec
                                                     ?: PROTO_TRACK_DEADLINE_USEC) /
                                            USEC_PER_SEC),
                                j->pos, j->i + 1, j->n_ranges, start, len);
                        goto fail;
                }
                if (j->pos < end)
                        continue;
                j->begun = false; /* the commit undoes its own range on failure */
                r = track_range_commit(c, start, end, j->name, j->labels, j->n_labels, ret_error);
                if (r < 0)
                        goto fail;
                j->i++;
        }
        return 0;

fail:
        track_job_undo(c, j);
        return r;
}

static int job_step(Client *c, TrackJob *j, SliceBudget *b, sd_bus_error *ret_error);

static int on_track_job(sd_event_source *s, void *userdata) {
        Client *c = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        SliceBudget b = slice_budget_make(now_usec(), CLIENT_TRACK_SLICE_USEC, 0);
        TrackJob *j = c->track_job;
        int r;

        r = job_step(c, j, &b, &e);
        if (r > 0) {
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        /* detached first: the answer may end the connection, and with it the client */
        c->track_job = NULL;
        if (j->follow) {
                track_job_free(j);
                if (r == -ESRCH)
                        client_gone(c);
                return 0;
        }
        c->hooks->tracked(c->userdata, c, r, &e);
        track_job_free(j);
        return 0;
}

/* defer_unregister: NULL to unregister at once, else the parts to unregister are appended there
 * (after the range set and the tracker let go of them) for the caller to undo later. */
static int client_untrack_one(Client *c, uint64_t start, uint64_t len, RunVec *defer_unregister,
                              sd_bus_error *ret_error) {
        uint64_t end, removed = 0;
        int r;

        if (len == 0 || !IS_ALIGNED(start, page_size()) || !IS_ALIGNED(len, page_size()) ||
            __builtin_add_overflow(start, len, &end))
                return sd_bus_error_set_errnof(ret_error, EINVAL,
                                               "range 0x%" PRIx64 "+0x%" PRIx64
                                               " is not page-aligned or empty",
                                               start, len);
        /* Punching a hole splits a range in two: the limit counts ranges after the split, so
         * that TRACK once plus UNTRACKs in the middle cannot hold more than ranges_per_client. */
        for (size_t i = 0; i < c->ranges.n_ranges; i++) {
                const TrackedRange *t = &c->ranges.ranges[i];
                if (t->start < start && end < t->end &&
                    c->ranges.n_ranges >= c->env->limits->ranges_per_client)
                        return sd_bus_error_set_errnof(
                                ret_error, E2BIG,
                                "limit reached: untracking 0x%" PRIx64 "-0x%" PRIx64
                                " would split a range, "
                                "and at most %u ranges per client are allowed (ranges_per_client)",
                                start, end, c->env->limits->ranges_per_client);
        }
        /* Only what we track is ours to unregister. */
        if (defer_unregister) {
                /* room first: once the set changed, the parts must not be lost */
                r = run_vec_reserve(defer_unregister, c->ranges.n_ranges);
                if (r < 0)
                        return sd_bus_error_set_errnof(ret_error, -r, "cannot untrack: %s",
                                                       strerror(-r));
        }
        for (size_t i = 0; i < c->ranges.n_ranges; i++) {
                const TrackedRange *t = &c->ranges.ranges[i];
                uint64_t a = MAX(t->start, start), b = MIN(t->end, end);
                if (a >= b)
                        continue;
                if (defer_unregister) {
                        (void) run_vec_append(defer_unregister, a, b, 0);
                        continue;
                }
                r = c->env->tracker.kops->unregister_range(c->uffd, a, b - a);
                if (r < 0 && r != -ENOMEM && r != -EINVAL)
                        log_debug_errno(r,
                                        "client %" PRIu64 ": UFFDIO_UNREGISTER 0x%" PRIx64
                                        "-0x%" PRIx64 ": %m",
                                        c->id, a, b);
        }
        r = range_set_remove(&c->ranges, start, end, &removed);
        if (r < 0)
                return sd_bus_error_set_errnof(ret_error, -r, "cannot untrack: %s", strerror(-r));
        if (removed == 0)
                return sd_bus_error_set_errnof(ret_error, ENOENT,
                                               "0x%" PRIx64 "-0x%" PRIx64 " is not tracked", start,
                                               end);
        tracker_range_removed(&c->tracker, start, end);
        client_gc_tags(c);
        log_info("client %" PRIu64 " (pid %d): untracked 0x%" PRIx64 "-0x%" PRIx64 " (%" PRIu64
                 " KiB)",
                 c->id, (int) c->pid, start, end, removed / 1024);
        return 0;
}

static int follow_job_step(Client *c, TrackJob *j, SliceBudget *b);

static int job_step(Client *c, TrackJob *j, SliceBudget *b, sd_bus_error *ret_error) {
        if (j->follow)
                return follow_job_step(c, j, b);
        return j->untrack ? untrack_job_step(c, j, b, ret_error)
                          : track_job_step(c, j, b, ret_error);
}

/* The request's own turn does what fits; the rest goes on from a defer source. */
static int client_run_job(Client *c, TrackJob *j, sd_bus_error *ret_error) {
        SliceBudget b = slice_budget_make(now_usec(), CLIENT_TRACK_SLICE_USEC, 0);
        int r;

        r = job_step(c, j, &b, ret_error);
        if (r <= 0) {
                track_job_free(j);
                return r;
        }
        /* the rest in later turns, below the uffd sources and the requests */
        r = sd_event_add_defer(c->env->tracker.event, &j->source, on_track_job, c);
        if (r >= 0) {
                (void) sd_event_source_set_priority(j->source, SD_EVENT_PRIORITY_NORMAL + 10);
                (void) sd_event_source_set_description(j->source, "client-track");
                (void) sd_event_source_set_enabled(j->source, SD_EVENT_ONESHOT);
                c->track_job = j;
                return CLIENT_TRACK_PENDING;
        }
        /* cannot go on later: finish at once (UNTRACK), or undo what this turn did (TRACK) */
        if (j->untrack) {
                SliceBudget unlimited = slice_budget_make(0, 0, 0);
                r = job_step(c, j, &unlimited, ret_error);
                track_job_free(j);
                return r;
        }
        track_job_undo(c, j);
        track_job_free(j);
        return sd_bus_error_set_errnof(ret_error, -r, "internal error: %s", strerror(-r));
}

/* A job holding its own copy of the request's ranges (the request's memory goes with the request). */
static int track_job_new(Client *c, const ProtoRange *ranges, size_t n_ranges, bool untrack,
                         TrackJob **ret, sd_bus_error *ret_error) {
        TrackJob *j;

        if (c->track_job)
                return sd_bus_error_set_errnof(ret_error, EBUSY,
                                               "a TRACK or UNTRACK is already under way");
        j = calloc(1, sizeof *j);
        if (!j)
                return sd_bus_error_set_errnof(ret_error, ENOMEM, "out of memory");
        j->untrack = untrack;
        j->n_ranges = n_ranges;
        j->deadline_usec = now_usec() + (c->env->track_deadline_usec ?: PROTO_TRACK_DEADLINE_USEC);
        if (n_ranges > 0) {
                j->ranges = reallocarray(NULL, n_ranges, sizeof *ranges);
                if (!j->ranges) {
                        track_job_free(j);
                        return sd_bus_error_set_errnof(ret_error, ENOMEM, "out of memory");
                }
                memcpy(j->ranges, ranges, n_ranges * sizeof *ranges);
        }
        *ret = j;
        return 0;
}

static int refuse_if_following(Client *c, const char *what, sd_bus_error *ret_error) {
        if (!c->follow.on)
                return 0;
        return sd_bus_error_set_errnof(ret_error, EBUSY,
                                       "%s refused: the daemon follows this process's memory "
                                       "itself (FOLLOW)",
                                       what);
}

int client_track(Client *c, const ProtoRange *ranges, size_t n_ranges, const char *name,
                 char *const *labels, size_t n_labels, sd_bus_error *ret_error) {
        TrackJob *j;
        int r;

        r = refuse_if_following(c, "TRACK", ret_error);
        if (r < 0)
                return r;

        r = track_job_new(c, ranges, n_ranges, false, &j, ret_error);
        if (r < 0)
                return r;
        if ((name && !(j->name = strdup(name))) ||
            (n_labels > 0 && !(j->labels = calloc(n_labels, sizeof *j->labels)))) {
                track_job_free(j);
                return sd_bus_error_set_errnof(ret_error, ENOMEM, "out of memory");
        }
        j->n_labels = n_labels;
        for (size_t i = 0; i < n_labels; i++)
                if (!(j->labels[i] = strdup(labels[i]))) {
                        track_job_free(j);
                        return sd_bus_error_set_errnof(ret_error, ENOMEM, "out of memory");
                }

        return client_run_job(c, j, ret_error);
}

int client_untrack(Client *c, const ProtoRange *ranges, size_t n_ranges, sd_bus_error *ret_error) {
        TrackJob *j;
        int r;

        r = refuse_if_following(c, "UNTRACK", ret_error);
        if (r < 0)
                return r;

        r = track_job_new(c, ranges, n_ranges, true, &j, ret_error);
        if (r < 0)
                return r;
        return client_run_job(c, j, ret_error);
}

/* ---- FOLLOW: the daemon tracks the process's memory by itself ----
 *
 * Every scan interval a walk reads the process's layout (vma.h: PROCMAP_QUERY, at most
 * CLIENT_FOLLOW_WALK_VMAS per event-loop turn), opened with the client's credentials like every
 * read of its maps. When it is complete, follow_diff() says what to track and what to drop; the
 * drops leave the range set at once (their unregistration queued), the new runs go to a follow
 * job: the TRACK job's pieces and checks, for CLIENT_TRACK_SLICE_USEC per turn, where a refused
 * run is remembered (skip) and the others go on. The next walk starts only when the job is over,
 * so a walk's layout is never diffed against ranges a job is still adding. */
#define CLIENT_FOLLOW_WALK_VMAS 1024

static int on_follow_timer(sd_event_source *s, uint64_t usec, void *userdata);
static int on_follow_work(sd_event_source *s, void *userdata);

static void client_follow_stop(Client *c) {
        c->follow.timer = sd_event_source_disable_unref(c->follow.timer);
        c->follow.work = sd_event_source_disable_unref(c->follow.work);
        if (c->follow.walking) {
                vma_walk_done(&c->follow.walk);
                c->follow.walking = false;
        }
}

static void client_follow_done(Client *c) {
        client_follow_stop(c);
        vma_vec_done(&c->follow.layout);
        run_vec_done(&c->follow.skip);
        free(c->follow.name);
        for (size_t i = 0; i < c->follow.n_labels; i++)
                free(c->follow.labels[i]);
        free(c->follow.labels);
        c->follow = (ClientFollow){};
}

static uint64_t follow_interval_usec(const Client *c) {
        const Policy *p = c->tracker.policy;
        return p && p->interval_usec > 0 ? p->interval_usec : 10 * USEC_PER_SEC;
}

static int client_follow_start(Client *c) {
        sd_event *e = c->env->tracker.event;
        char desc[64];
        int r;

        /* the first walk right away, then one per interval */
        r = sd_event_add_time_relative(e, &c->follow.timer, CLOCK_MONOTONIC, 0, 10 * USEC_PER_MSEC,
                                       on_follow_timer, c);
        if (r < 0)
                return r;
        snprintf(desc, sizeof desc, "follow-timer-%" PRIu64, c->id);
        (void) sd_event_source_set_description(c->follow.timer, desc);

        r = sd_event_add_defer(e, &c->follow.work, on_follow_work, c);
        if (r < 0)
                return r;
        /* below the uffd sources and the requests, as the TRACK jobs */
        (void) sd_event_source_set_priority(c->follow.work, SD_EVENT_PRIORITY_NORMAL + 10);
        snprintf(desc, sizeof desc, "follow-walk-%" PRIu64, c->id);
        (void) sd_event_source_set_description(c->follow.work, desc);
        return sd_event_source_set_enabled(c->follow.work, SD_EVENT_OFF);
}

static int follow_copy_labels(ClientFollow *f, const char *name, char *const *labels,
                              size_t n_labels) {
        if (name && !(f->name = strdup(name)))
                return -ENOMEM;
        if (n_labels > 0 && !(f->labels = calloc(n_labels, sizeof *f->labels)))
                return -ENOMEM;
        for (size_t i = 0; i < n_labels; i++, f->n_labels++)
                if (!(f->labels[i] = strdup(labels[i])))
                        return -ENOMEM;
        return 0;
}

int client_follow(Client *c, uint64_t min_bytes, const char *name, char *const *labels,
                  size_t n_labels, sd_bus_error *ret_error) {
        int r;

        if (c->follow.on)
                return sd_bus_error_set_errnof(ret_error, EALREADY,
                                               "this process is already followed");
        if (c->ranges.n_ranges > 0 || c->track_job)
                return sd_bus_error_set_errnof(
                        ret_error, EBUSY,
                        "FOLLOW refused: this client tracks ranges of its own (UNTRACK them first)");
        r = follow_copy_labels(&c->follow, name, labels, n_labels);
        if (r >= 0) {
                c->follow.on = true;
                c->follow.min_bytes = ALIGN_UP(MAX(min_bytes, (uint64_t) page_size()),
                                               (uint64_t) page_size());
                r = client_follow_start(c);
        }
        if (r < 0) {
                client_follow_done(c);
                return sd_bus_error_set_errnof(ret_error, -r, "cannot follow: %s", strerror(-r));
        }
        log_info("client %" PRIu64 " (pid %d): following its private anonymous memory (runs of "
                 "at least %" PRIu64 " KiB)",
                 c->id, (int) c->pid, c->follow.min_bytes / 1024);
        return 0;
}

/* A forked child of a followed process is followed too. */
static int client_follow_copy(Client *c, const Client *parent) {
        int r;

        if (!parent->follow.on)
                return 0;
        r = follow_copy_labels(&c->follow, parent->follow.name, parent->follow.labels,
                               parent->follow.n_labels);
        if (r < 0)
                return r;
        c->follow.on = true;
        c->follow.min_bytes = parent->follow.min_bytes;
        return client_follow_start(c);
}

static int on_follow_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Client *c = userdata;
        int r;

        (void) sd_event_source_set_time_relative(s, follow_interval_usec(c));
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        if (c->stopped || c->follow.walking || c->track_job)
                return 0; /* the last walk or its job is still under way: this one is skipped */

        /* /proc/PID/maps opened with the client's credentials, as for a TRACK */
        {
                _cleanup_(creds_restore) Creds saved = {};

                r = creds_assume(c->uid, c->gid, &saved);
                if (r >= 0)
                        r = vma_walk_open(c->env->tracker.proc_root, c->pid, &c->follow.walk);
        }
        if (r == -ESRCH) {
                client_gone(c);
                return 0;
        }
        if (r < 0) {
                tracker_set_error(&c->tracker, r, "cannot read the memory map to follow it");
                return 0;
        }
        c->follow.walking = true;
        c->follow.layout.n = 0;
        (void) sd_event_source_set_enabled(c->follow.work, SD_EVENT_ONESHOT);
        return 0;
}

/* The walk is complete: drop what is gone, start a job for what is new. */
static int follow_apply(Client *c) {
        _cleanup_(run_vec_done) RunVec add = {}, drop = {};
        TrackJob *j = NULL;
        int r;

        c->follow.walks++;
        c->follow.last_walk_vmas = c->follow.layout.n;
        (void) follow_prune_skip(c->follow.layout.vmas, c->follow.layout.n, &c->follow.skip);
        r = follow_diff(c->follow.layout.vmas, c->follow.layout.n, &c->ranges, c->follow.min_bytes,
                        &c->follow.skip, &add, &drop);
        if (r < 0)
                return r;
        if (add.n_runs == 0 && drop.n_runs == 0)
                return 0;

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->follow = true;
        /* the drops leave the range set now; their unregistration is the job's first work */
        for (size_t i = 0; i < drop.n_runs; i++) {
                uint64_t a = drop.runs[i].start, b = drop.runs[i].end;

                log_debug("client %" PRIu64 ": 0x%" PRIx64 "-0x%" PRIx64
                          " is no longer followable memory, untracking it",
                          c->id, a, b);
                if (client_untrack_one(c, a, b - a, &j->unreg, NULL) >= 0)
                        c->follow.ranges_dropped++;
        }
        if (add.n_runs > 0) {
                j->ranges = reallocarray(NULL, add.n_runs, sizeof *j->ranges);
                if (!j->ranges) {
                        /* the drops still need their unregistration: the job does only that */
                        add.n_runs = 0;
                } else
                        for (size_t i = 0; i < add.n_runs; i++)
                                j->ranges[i] = (ProtoRange){ add.runs[i].start,
                                                             add.runs[i].end - add.runs[i].start };
                j->n_ranges = add.n_runs;
        }
        r = sd_event_add_defer(c->env->tracker.event, &j->source, on_track_job, c);
        if (r < 0) {
                /* cannot go on later: unregister the drops now, track nothing this time */
                SliceBudget unlimited = slice_budget_make(0, 0, 0);
                j->n_ranges = 0;
                (void) follow_job_step(c, j, &unlimited);
                track_job_free(j);
                return r;
        }
        (void) sd_event_source_set_priority(j->source, SD_EVENT_PRIORITY_NORMAL + 10);
        (void) sd_event_source_set_description(j->source, "client-follow");
        (void) sd_event_source_set_enabled(j->source, SD_EVENT_ONESHOT);
        c->track_job = j;
        return 0;
}

static int on_follow_work(sd_event_source *s, void *userdata) {
        Client *c = userdata;
        int r;

        if (c->stopped || !c->follow.walking)
                return 0;
        r = vma_walk_step(&c->follow.walk, CLIENT_FOLLOW_WALK_VMAS, &c->follow.layout);
        if (r > 0) {
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        vma_walk_done(&c->follow.walk);
        c->follow.walking = false;
        if (r == -ESRCH) {
                client_gone(c);
                return 0;
        }
        if (r >= 0)
                r = follow_apply(c);
        if (r < 0)
                tracker_set_error(&c->tracker, r, "cannot follow the memory map");
        return 0;
}

/* A run the follow job could not track: left alone while its mapping stays as it is (skip), and
 * the job goes on with the next. A limit of the client's (too many ranges, too many bytes: a
 * huge reservation such as a sanitizer's shadow) is said once at notice level. */
static void follow_refused(Client *c, TrackJob *j, int r, const sd_bus_error *e) {
        uint64_t start = j->ranges[j->i].start, end = start + j->ranges[j->i].len;
        const char *why = e && e->message ? e->message : strerror(-r);

        if (j->begun && j->pos > start)
                (void) c->env->tracker.kops->unregister_range(c->uffd, start, j->pos - start);
        j->begun = false;
        c->follow.ranges_refused++;
        if ((r == -E2BIG || r == -ENOSPC) && !c->follow.limit_logged) {
                log_notice("client %" PRIu64 " (pid %d): not following 0x%" PRIx64 "-0x%" PRIx64
                           ": %s",
                           c->id, (int) c->pid, start, end, why);
                c->follow.limit_logged = true;
        } else
                log_debug("client %" PRIu64 ": not following 0x%" PRIx64 "-0x%" PRIx64 ": %s",
                          c->id, start, end, why);
        (void) follow_skip_add(&c->follow.skip, start, end);
        j->i++;
}

static int follow_job_step(Client *c, TrackJob *j, SliceBudget *b) {
        for (;;) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                uint64_t start, end, piece_end;
                AddrRun a;
                int r;

                if (slice_budget_spent(b, now_usec()))
                        return 1;
                if (slice_take_front(&j->unreg, CLIENT_UNREGISTER_PIECE_BYTES, page_size(), &a) >
                    0) {
                        (void) c->env->tracker.kops->unregister_range(c->uffd, a.start,
                                                                      a.end - a.start);
                        slice_budget_take(b, (a.end - a.start) / page_size());
                        continue;
                }
                if (j->i >= j->n_ranges)
                        return 0;

                start = j->ranges[j->i].start;
                end = start + j->ranges[j->i].len;
                if (!j->begun) {
                        r = track_range_precheck(c, start, end - start, &e);
                        if (r < 0) {
                                follow_refused(c, j, r, &e);
                                continue;
                        }
                        j->begun = true;
                        j->pos = start;
                }
                piece_end = ALIGN_DOWN(j->pos, CLIENT_TRACK_PIECE_BYTES) + CLIENT_TRACK_PIECE_BYTES;
                if (piece_end <= j->pos || piece_end > end)
                        piece_end = end;
                r = track_piece(c, j->pos, piece_end, &piece_end, &e);
                if (r == -ESRCH)
                        return r;
                if (r < 0) {
                        follow_refused(c, j, r, &e);
                        continue;
                }
                slice_budget_take(b, (piece_end - j->pos) / page_size());
                j->pos = piece_end;
                if (j->pos < end)
                        continue;
                j->begun = false;
                r = track_range_commit(c, start, end, c->follow.name, c->follow.labels,
                                       c->follow.n_labels, &e);
                if (r < 0) {
                        follow_refused(c, j, r, &e);
                        continue;
                }
                c->follow.ranges_added++;
                j->i++;
        }
}

/* ---- events ---- */

/* MADV_DONTNEED / MADV_REMOVE: the range stays mapped and registered, its pages are gone. */
static void client_pages_removed(Client *c, uint64_t start, uint64_t end) {
        int r = classify_discard(&c->ranges, ALIGN_DOWN(start, (uint64_t) page_size()),
                                 ALIGN_UP(end, (uint64_t) page_size()));
        if (r < 0)
                tracker_set_error(&c->tracker, r,
                                  "cannot follow MADV_DONTNEED of 0x%" PRIx64 "-0x%" PRIx64, start,
                                  end);
        tracker_range_removed(&c->tracker, start, end);
}

/* munmap(): the pages are gone. An unmap inside a range splits it; when that would make one
 * range too many (ranges_per_client), the smaller remainder is no longer tracked either, so that
 * munmap of single pages cannot grow a client's ranges without bound (up to vm.max_map_count).
 * It stays registered: unregistering costs in proportion to it, too much for the event reader;
 * under rwp its faults are resolved like any untracked address's. */
static void client_pages_unmapped(Client *c, uint64_t start, uint64_t end) {
        uint64_t a, e, removed;

        start = ALIGN_DOWN(start, (uint64_t) page_size());
        end = ALIGN_UP(end, (uint64_t) page_size());
        if (range_set_cut_bounds(&c->ranges, start, end, c->env->limits->ranges_per_client, &a,
                                 &e) > 0) {
                c->splits_refused++;
                log_full(c->splits_refused <= 3 ? LOG_NOTICE : LOG_DEBUG,
                         "client %" PRIu64 " (pid %d): unmap of 0x%" PRIx64 "-0x%" PRIx64
                         " would split a range beyond ranges_per_client=%u: no longer tracking "
                         "0x%" PRIx64 "-0x%" PRIx64,
                         c->id, (int) c->pid, start, end, c->env->limits->ranges_per_client, a, e);
        }
        tracker_range_removed(&c->tracker, a, e);
        if (range_set_remove(&c->ranges, a, e, &removed) < 0)
                tracker_set_error(&c->tracker, -ENOMEM,
                                  "cannot follow munmap of 0x%" PRIx64 "-0x%" PRIx64, start, end);
        client_gc_tags(c);
}

/* mremap(): as an unmap of the source and a new range at the destination, the ranges limit holds
 * the same way: the smaller remainder of a split source, then the moved piece itself, stop being
 * tracked when the client would have one range too many. */
static int client_pages_moved(Client *c, uint64_t from, uint64_t to, uint64_t len) {
        unsigned max = c->env->limits->ranges_per_client;
        uint64_t a, e;
        int r;

        if (range_set_cut_bounds(&c->ranges, from, from + len, max, &a, &e) > 0) {
                /* what goes besides the moved part: [a, from) or [from + len, e) */
                if (a < from)
                        client_pages_unmapped(c, a, from);
                else
                        client_pages_unmapped(c, from + len, e);
        }
        r = range_set_remap(&c->ranges, from, to, len);
        if (r < 0)
                return r;
        if (max > 0 && c->ranges.n_ranges > max) {
                c->splits_refused++;
                log_full(c->splits_refused <= 3 ? LOG_NOTICE : LOG_DEBUG,
                         "client %" PRIu64 " (pid %d): mremap to 0x%" PRIx64 "-0x%" PRIx64
                         " would make more than ranges_per_client=%u ranges: no longer tracking it",
                         c->id, (int) c->pid, to, to + len, max);
                (void) range_set_remove(&c->ranges, to, to + len, NULL);
                client_gc_tags(c);
        }
        return 0;
}

static int client_handle_msg(Client *c, const struct uffd_msg *msg) {
        int r;

        switch (msg->event) {
        case UFFD_EVENT_PAGEFAULT:
                return tracker_handle_fault(&c->tracker, msg);
        case UFFD_EVENT_FORK:
                /* the owner decides whose child this is; it takes the fd */
                c->hooks->forked(c->userdata, c, (int) msg->arg.fork.ufd);
                return 0;
        case UFFD_EVENT_REMAP:
                log_debug("client %" PRIu64 ": remap 0x%llx -> 0x%llx (%llu bytes)", c->id,
                          (unsigned long long) msg->arg.remap.from,
                          (unsigned long long) msg->arg.remap.to,
                          (unsigned long long) msg->arg.remap.len);
                tracker_range_removed(&c->tracker, msg->arg.remap.from,
                                      msg->arg.remap.from + msg->arg.remap.len);
                r = client_pages_moved(c, msg->arg.remap.from, msg->arg.remap.to,
                                       msg->arg.remap.len);
                if (r < 0)
                        tracker_set_error(&c->tracker, r, "cannot follow mremap 0x%llx -> 0x%llx",
                                          (unsigned long long) msg->arg.remap.from,
                                          (unsigned long long) msg->arg.remap.to);
                return 0;
        case UFFD_EVENT_REMOVE:
                log_debug("client %" PRIu64 ": remove 0x%llx-0x%llx", c->id,
                          (unsigned long long) msg->arg.remove.start,
                          (unsigned long long) msg->arg.remove.end);
                client_pages_removed(c, msg->arg.remove.start, msg->arg.remove.end);
                return 0;
        case UFFD_EVENT_UNMAP:
                log_debug("client %" PRIu64 ": unmap 0x%llx-0x%llx", c->id,
                          (unsigned long long) msg->arg.remove.start,
                          (unsigned long long) msg->arg.remove.end);
                client_pages_unmapped(c, msg->arg.remove.start, msg->arg.remove.end);
                return 0;
        default:
                log_debug("client %" PRIu64 ": ignoring uffd event %u", c->id, msg->event);
                return 0;
        }
}

/* One read, applied in order. Returns the number of messages, or -errno. */
static int client_read_once(Client *c) {
        struct uffd_msg msgs[CLIENT_EVENTS_PER_READ];
        ssize_t n;

        n = client_read_room(c);
        if (n > 0)
                n = c->env->tracker.kops->read_msgs(c->uffd, msgs, (size_t) n);
        if (n < 0) {
                if (n != -ESRCH)
                        tracker_set_error(&c->tracker, (int) n,
                                          "reading userfaultfd events failed");
                return (int) n;
        }
        if (n > 0) {
                c->read_failures = 0;
                if (c->env->progress)
                        c->env->progress->reads_ok++;
        }
        for (ssize_t i = 0; i < n; i++) {
                int r = client_handle_msg(c, &msgs[i]);
                if (r == -ESRCH) {
                        /* The rest of the batch is not applied, but a FORK among it brought a
                         * descriptor into our table: nobody would read that child's uffd, and its
                         * faults and munmap calls would wait on it for ever. Closing it releases
                         * the child (untracked). */
                        for (ssize_t j = i + 1; j < n; j++)
                                if (msgs[j].event == UFFD_EVENT_FORK) {
                                        log_info(
                                                "client %" PRIu64
                                                ": gone with a fork event unread, releasing the child's userfaultfd",
                                                c->id);
                                        safe_close((int) msgs[j].arg.fork.ufd);
                                }
                        return r;
                }
        }
        return (int) n;
}

int client_process_events(Client *c) {
        unsigned rounds = 0;
        int r = 0, n;

        if (c->reading)
                return -EBUSY;
        if (c->stopped)
                return 0;
        c->reading = true;
        for (;;) {
                /* Faults deferred by EAGAIN wait for the event behind them: read first, apply
                 * what was read in order, and only then retry them. */
                bool retry = c->tracker.n_deferred > 0;

                n = client_read_once(c);
                if (n < 0) {
                        r = n;
                        break;
                }
                if (retry) {
                        r = tracker_retry_deferred_faults(&c->tracker,
                                                          ++rounds >= CLIENT_DEFERRED_ROUNDS);
                        if (r < 0)
                                break;
                }
                r = 0;
                if (n == CLIENT_EVENTS_PER_READ)
                        continue; /* more may be queued */
                if (c->tracker.n_deferred == 0 || rounds >= CLIENT_DEFERRED_ROUNDS)
                        break;
        }
        c->reading = false;
        return r;
}

/* ---- getters for the owner's second half ---- */

const char *client_policy_name(const Client *c) {
        return c->tracker.policy && c->tracker.policy->name ? c->tracker.policy->name : "default";
}

const Policy *client_policy(const Client *c) {
        return c->tracker.policy;
}

bool client_monitor_only(const Client *c) {
        return c->env->tracker.monitor_only || (c->tracker.policy && c->tracker.policy->dry_run);
}

const TrackerCounters *client_counters(const Client *c) {
        return &c->tracker.counters;
}

uint64_t client_tracked_bytes(const Client *c) {
        return range_set_bytes(&c->ranges);
}

int client_evict_now(Client *c, uint64_t max_bytes, uint64_t *ret_queued) {
        if (c->stopped)
                return -ESRCH;
        return tracker_evict_now(&c->tracker, max_bytes, ret_queued);
}
