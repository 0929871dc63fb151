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

#include "cgroup-path.h"
#include "client.h"
#include "handoff.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "tracker.h"
#include "uapi.h"
#include "vma.h"

/* Events that keep the range set exact; each makes the client's syscall wait until we read it,
 * which is why the uffd source runs at the highest priority. */
#define CLIENT_EVENT_FEATURES \
        (UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | \
         UFFD_FEATURE_EVENT_UNMAP)
#define CLIENT_EVENTS_PER_READ 64
/* A forked child is not in its parent's children list until fork() returns, which it does only
 * after we have read the FORK event: look for it a little later, for a while. */
#define FORK_RESOLVE_INTERVAL_USEC (5 * USEC_PER_MSEC)
#define FORK_RESOLVE_TRIES 400

struct PendingFork {
        Client *parent;
        int uffd;
        unsigned tries;
        sd_event_source *timer;
        PendingFork *next;
};

void client_set_error(Client *c, int error, const char *fmt, ...) {
        char buf[sizeof c->tracker.counters.last_error_text];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        c->tracker.counters.last_error = error < 0 ? -error : error;
        if (error != 0)
                snprintf(c->tracker.counters.last_error_text, sizeof buf, "%.200s: %.50s", buf,
                         strerror(c->tracker.counters.last_error));
        else
                snprintf(c->tracker.counters.last_error_text, sizeof buf, "%s", buf);
        log_warning("client %" PRIu64 " (pid %d): %s", c->id, (int) c->pid,
                    c->tracker.counters.last_error_text);
}

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

static int on_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Client *c = userdata;

        log_info("client %" PRIu64 " (pid %d): process exited, releasing its memory", c->id,
                 (int) c->pid);
        client_free(c);
        return 0;
}

static int on_uffd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Client *c = userdata;
        int r;

        if (revents & (EPOLLERR | EPOLLHUP)) {
                /* The uffd itself does not hang up when the process exits (the pidfd tells);
                 * an error here means the context is unusable. */
                log_warning("client %" PRIu64 ": userfaultfd reported %s, dropping the client",
                            c->id, revents & EPOLLERR ? "an error" : "hang-up");
                client_free(c);
                return 0;
        }
        r = client_process_events(c);
        if (r == -ESRCH) {
                client_free(c);
                return 0;
        }
        return 0;
}

static int client_attach_sources(Client *c) {
        Manager *m = c->manager;
        char desc[64];
        int r;

        r = sd_event_add_io(m->event, &c->uffd_source, c->uffd, EPOLLIN, on_uffd, c);
        if (r < 0)
                return r;
        /* Faults and events block the client: serve them before any scan or eviction. */
        r = sd_event_source_set_priority(c->uffd_source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                return r;
        snprintf(desc, sizeof desc, "uffd-%" PRIu64, c->id);
        (void) sd_event_source_set_description(c->uffd_source, desc);

        r = sd_event_add_io(m->event, &c->pidfd_source, c->pidfd, EPOLLIN, on_pidfd, c);
        if (r < 0)
                return r;
        snprintf(desc, sizeof desc, "pidfd-%" PRIu64, c->id);
        (void) sd_event_source_set_description(c->pidfd_source, desc);
        return 0;
}

static int client_alloc(Manager *m, int uffd, int pidfd, int pagemap_fd, pid_t pid, uid_t uid,
                        Client **ret) {
        Client *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->id = ++m->next_client_id;
        c->uffd = uffd;
        c->pidfd = pidfd;
        c->pagemap_fd = pagemap_fd;
        c->pid = pid;
        c->uid = uid;
        (void) range_set_init(&c->ranges, page_size());
        tracker_init(&c->tracker);
        *ret = c;
        return 0;
}

int client_new(Manager *m, int uffd, int pidfd, int pagemap_fd, pid_t pid, uid_t uid,
               bool user_mode_only, const char *name, char *errbuf, size_t errlen, Client **ret) {
        Client *c = NULL;
        uint64_t features, want, got = 0, ioctls = 0;
        int r;

        r = client_alloc(m, uffd, pidfd, pagemap_fd, pid, uid, &c);
        if (r < 0) {
                safe_close(uffd);
                safe_close(pidfd);
                safe_close(pagemap_fd);
                snprintf(errbuf, errlen, "out of memory");
                return r;
        }
        c->user_mode_only = user_mode_only;
        if (name && !(c->name = strdup(name))) {
                r = -ENOMEM;
                snprintf(errbuf, errlen, "out of memory");
                goto fail;
        }

        /* The daemon, not the client, negotiates: it knows the backend. UFFDIO_API works once
         * per fd, so an already negotiated uffd fails here with EINVAL. */
        features = tracker_backend_features(m->backend);
        want = features | CLIENT_EVENT_FEATURES;
        r = m->kops->api(uffd, want, &got, &ioctls);
        if (r < 0) {
                if (r == -EINVAL)
                        snprintf(errbuf, errlen,
                                 "UFFDIO_API refused features 0x%" PRIx64
                                 ": the userfaultfd was already initialised, or is not a fresh one",
                                 want);
                else
                        snprintf(errbuf, errlen, "UFFDIO_API failed: %s", strerror(-r));
                goto fail;
        }
        if ((got & want) != want) {
                r = -EOPNOTSUPP;
                snprintf(errbuf, errlen, "the userfaultfd lacks features 0x%" PRIx64,
                         want & ~got);
                goto fail;
        }
        c->features = got;

        r = fcntl(uffd, F_GETFL);
        if (r >= 0 && !(r & O_NONBLOCK))
                (void) fcntl(uffd, F_SETFL, r | O_NONBLOCK);

        (void) cgroup_path_of_pid(m->proc_root, pid, &c->cgroup_path);

        r = client_attach_sources(c);
        if (r < 0) {
                snprintf(errbuf, errlen, "internal error: %s", strerror(-r));
                goto fail;
        }
        r = tracker_start(c);
        if (r < 0) {
                snprintf(errbuf, errlen, "cannot start tracking: %s", strerror(-r));
                goto fail;
        }
        manager_add_client(m, c);
        log_info("client %" PRIu64 " (pid %d, uid %u%s%s): userfaultfd negotiated for %s, features 0x%" PRIx64 "%s",
                 c->id, (int) pid, (unsigned) uid, c->name ? ", " : "", c->name ? c->name : "",
                 backend_to_string(m->backend), got,
                 user_mode_only ? " (user-mode-only: kernel accesses fail with EFAULT in sync windows)" : "");
        *ret = c;
        return 0;
fail:
        client_free(c);
        return r;
}

static void pending_fork_free(PendingFork *pf) {
        PendingFork **pp;

        for (pp = &pf->parent->manager->pending_forks; *pp; pp = &(*pp)->next)
                if (*pp == pf) {
                        *pp = pf->next;
                        break;
                }
        sd_event_source_disable_unref(pf->timer);
        safe_close(pf->uffd);
        free(pf);
}

Client *client_free(Client *c) {
        if (!c)
                return NULL;

        for (PendingFork *pf = c->manager ? c->manager->pending_forks : NULL, *n; pf; pf = n) {
                n = pf->next;
                if (pf->parent == c)
                        pending_fork_free(pf);
        }
        tracker_stop(c);
        if (c->conn)
                handoff_conn_client_gone(c->conn);
        if (c->manager && (c->clients_next || c->clients_prev || c->manager->clients == c))
                manager_remove_client(c->manager, c);

        c->uffd_source = sd_event_source_disable_unref(c->uffd_source);
        c->pidfd_source = sd_event_source_disable_unref(c->pidfd_source);
        /* Closing the last reference to the uffd unregisters everything and wakes any thread
         * still blocked on a fault: the process keeps running with its memory intact. */
        safe_close(c->uffd);
        safe_close(c->pidfd);
        safe_close(c->pagemap_fd);

        range_set_done(&c->ranges);
        for (size_t i = 0; i < c->n_tags; i++)
                track_tag_done(&c->tags[i]);
        free(c->tags);
        tracker_done(&c->tracker);
        free(c->cgroup_path);
        free(c->name);
        free(c);
        return NULL;
}

static int client_add_tag(Client *c, const char *name, char *const *labels, size_t n_labels,
                          uint32_t *ret) {
        TrackTag *n, t = {};

        if (c->n_tags >= UINT32_MAX)
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
        n = realloc(c->tags, (c->n_tags + 1) * sizeof *n);
        if (!n) {
                track_tag_done(&t);
                return -ENOMEM;
        }
        c->tags = n;
        c->tags[c->n_tags] = t;
        *ret = (uint32_t) c->n_tags++;
        return 0;
}

int client_track(Client *c, uint64_t start, uint64_t len, const char *name, char *const *labels,
                 size_t n_labels, char *errbuf, size_t errlen) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Manager *m = c->manager;
        uint64_t end, ioctls = 0, mode;
        uint32_t tag;
        int r;

        if (len == 0 || !IS_ALIGNED(start, page_size()) || !IS_ALIGNED(len, page_size())) {
                snprintf(errbuf, errlen, "range 0x%" PRIx64 "+0x%" PRIx64 " is not page-aligned (page size %zu) or empty",
                         start, len, page_size());
                return -EINVAL;
        }
        if (__builtin_add_overflow(start, len, &end)) {
                snprintf(errbuf, errlen, "range 0x%" PRIx64 "+0x%" PRIx64 " wraps around", start, len);
                return -EINVAL;
        }
        if (c->ranges.n_ranges >= m->limits.ranges_per_client) {
                snprintf(errbuf, errlen, "limit reached: at most %u ranges per client (ranges_per_client)",
                         m->limits.ranges_per_client);
                return -E2BIG;
        }
        if (range_set_bytes(&c->ranges) + len > m->limits.bytes_per_client) {
                snprintf(errbuf, errlen, "limit reached: at most %" PRIu64 " bytes per client (bytes_per_client)",
                         m->limits.bytes_per_client);
                return -E2BIG;
        }
        for (size_t i = 0; i < c->ranges.n_ranges; i++) {
                const TrackedRange *t = &c->ranges.ranges[i];
                if (t->start < end && start < t->end) {
                        snprintf(errbuf, errlen, "range 0x%" PRIx64 "-0x%" PRIx64 " overlaps tracked range 0x%" PRIx64 "-0x%" PRIx64,
                                 start, end, t->start, t->end);
                        return -EEXIST;
                }
        }

        r = vma_check_range(m->proc_root, c->pid, start, end, &error);
        if (r < 0) {
                snprintf(errbuf, errlen, "%s", error.message ?: strerror(-r));
                return r;
        }

        mode = tracker_backend_register_mode(m->backend);
        /* Registered already (with a uffd of the peer's own), the proof below would pass even
         * if ours registered some other process's memory. -ENODATA (rwp, nothing populated):
         * nothing to see. */
        r = vma_range_is_registered(m->kops, c->pagemap_fd, start, end, mode);
        if (r < 0 && r != -ENODATA) {
                snprintf(errbuf, errlen, "cannot read the page map of 0x%" PRIx64 "-0x%" PRIx64 ": %s",
                         start, end, strerror(-r));
                return r;
        }
        if (r > 0) {
                snprintf(errbuf, errlen, "0x%" PRIx64 "-0x%" PRIx64 " is already registered with a userfaultfd",
                         start, end);
                return -EBUSY;
        }
        r = m->kops->register_range(c->uffd, start, len, mode, &ioctls);
        if (r == -EAGAIN) { /* an event is pending: drain it and try once more */
                (void) client_process_events(c);
                r = m->kops->register_range(c->uffd, start, len, mode, &ioctls);
        }
        if (r < 0) {
                snprintf(errbuf, errlen, "UFFDIO_REGISTER of 0x%" PRIx64 "-0x%" PRIx64 " failed: %s%s",
                         start, end, strerror(-r),
                         r == -EBUSY ? " (already registered with another userfaultfd)" : "");
                return r;
        }

        /* Prove that the uffd acts on this peer's memory: its pagemap must now show the range
         * registered. A uffd taken from another process registered that process's memory (or
         * failed); either way we undo and refuse. */
        r = vma_range_is_registered(m->kops, c->pagemap_fd, start, end, mode);
        if (r == -ENODATA)
                log_debug("client %" PRIu64 ": 0x%" PRIx64 "-0x%" PRIx64 " has no populated page, registration not provable",
                          c->id, start, end);
        else if (r != VMA_REGISTERED_ALL) {
                (void) m->kops->unregister_range(c->uffd, start, len);
                snprintf(errbuf, errlen,
                         "the userfaultfd does not act on the memory of pid %d: hand over a userfaultfd created by the process itself",
                         (int) c->pid);
                return -EPERM;
        }

        r = client_add_tag(c, name, labels, n_labels, &tag);
        if (r >= 0)
                r = range_set_add(&c->ranges, start, end, tag);
        if (r < 0) {
                (void) m->kops->unregister_range(c->uffd, start, len);
                snprintf(errbuf, errlen, "cannot track range: %s", strerror(-r));
                return r;
        }
        r = tracker_range_added(c, start, end);
        if (r < 0) {
                uint64_t removed;
                (void) range_set_remove(&c->ranges, start, end, &removed);
                (void) m->kops->unregister_range(c->uffd, start, len);
                snprintf(errbuf, errlen, "cannot arm range 0x%" PRIx64 "-0x%" PRIx64 ": %s", start,
                         end, strerror(-r));
                return r;
        }
        log_info("client %" PRIu64 " (pid %d): tracking 0x%" PRIx64 "-0x%" PRIx64 " (%" PRIu64 " KiB%s%s)",
                 c->id, (int) c->pid, start, end, len / 1024, name ? ", " : "", name ? name : "");
        return 0;
}

int client_untrack(Client *c, uint64_t start, uint64_t len, char *errbuf, size_t errlen) {
        uint64_t end, removed = 0;
        int r;

        if (len == 0 || !IS_ALIGNED(start, page_size()) || !IS_ALIGNED(len, page_size()) ||
            __builtin_add_overflow(start, len, &end)) {
                snprintf(errbuf, errlen, "range 0x%" PRIx64 "+0x%" PRIx64 " is not page-aligned or empty", start, len);
                return -EINVAL;
        }
        /* Only what we track is ours to unregister. */
        for (size_t i = 0; i < c->ranges.n_ranges; i++) {
                const TrackedRange *t = &c->ranges.ranges[i];
                uint64_t a = MAX(t->start, start), b = MIN(t->end, end);
                if (a >= b)
                        continue;
                r = c->manager->kops->unregister_range(c->uffd, a, b - a);
                if (r < 0 && r != -ENOMEM && r != -EINVAL)
                        log_debug_errno(r, "client %" PRIu64 ": UFFDIO_UNREGISTER 0x%" PRIx64 "-0x%" PRIx64 ": %m",
                                        c->id, a, b);
        }
        r = range_set_remove(&c->ranges, start, end, &removed);
        if (r < 0) {
                snprintf(errbuf, errlen, "cannot untrack: %s", strerror(-r));
                return r;
        }
        if (removed == 0) {
                snprintf(errbuf, errlen, "0x%" PRIx64 "-0x%" PRIx64 " is not tracked", start, end);
                return -ENOENT;
        }
        tracker_range_removed(c, start, end);
        log_info("client %" PRIu64 " (pid %d): untracked 0x%" PRIx64 "-0x%" PRIx64 " (%" PRIu64 " KiB)",
                 c->id, (int) c->pid, start, end, removed / 1024);
        return 0;
}

/* ---- fork: the child's uffd becomes a client of its own ---- */

static int find_new_child(Client *parent, pid_t *ret) {
        Manager *m = parent->manager;
        char path[PATH_MAX];
        _cleanup_fclose_ FILE *f = NULL;
        int best = -1;

        /* /proc/PID/task/TID/children lists the children of that thread; a fork from any
         * thread of the client counts, so look at every task. */
        snprintf(path, sizeof path, "%s/%d/task", m->proc_root, (int) parent->pid);
        _cleanup_(closedirp) DIR *d = opendir(path);
        if (!d)
                return negative_errno();
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "%s/%d/task/%s/children", m->proc_root,
                         (int) parent->pid, de->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                int pid;
                while (fscanf(f, "%d", &pid) == 1) {
                        Client *c;
                        bool known = false;
                        LIST_FOREACH(clients, c, m->clients)
                                if (c->pid == pid)
                                        known = true;
                        if (!known && pid > best)
                                best = pid;
                }
                fclose(f);
                f = NULL;
        }
        if (best < 0)
                return -ESRCH;
        *ret = best;
        return 0;
}

static int adopt_fork(PendingFork *pf, pid_t child) {
        Client *parent = pf->parent, *c = NULL;
        Manager *m = parent->manager;
        _cleanup_close_ int pidfd = -EBADF, pagemap = -EBADF;
        char path[256];
        int r;

        pidfd = (int) syscall(__NR_pidfd_open, child, 0);
        if (pidfd < 0)
                return negative_errno();
        snprintf(path, sizeof path, "%s/%d/pagemap", m->proc_root, (int) child);
        pagemap = open(path, O_RDONLY | O_CLOEXEC);
        if (pagemap < 0)
                return negative_errno();

        r = client_alloc(m, TAKE_FD(pf->uffd), TAKE_FD(pidfd), TAKE_FD(pagemap), child,
                         parent->uid, &c);
        if (r < 0)
                return r;
        c->parent_id = parent->id;
        c->user_mode_only = parent->user_mode_only;
        c->features = parent->features; /* inherited by the kernel with the context */
        if (parent->name && asprintf(&c->name, "%s (child)", parent->name) < 0)
                c->name = NULL;
        (void) cgroup_path_of_pid(m->proc_root, child, &c->cgroup_path);

        /* The child's registered ranges are a copy of the parent's at fork time, and so are
         * the protection markers (EVENT_FORK keeps them). */
        range_set_done(&c->ranges);
        r = range_set_copy(&parent->ranges, &c->ranges);
        if (r >= 0) {
                for (size_t i = 0; i < parent->n_tags && r >= 0; i++) {
                        uint32_t t;
                        r = client_add_tag(c, parent->tags[i].name, parent->tags[i].labels,
                                           parent->tags[i].n_labels, &t);
                }
        }
        if (r >= 0)
                r = client_attach_sources(c);
        if (r >= 0)
                r = tracker_start(c);
        if (r < 0) {
                client_free(c);
                return r;
        }
        manager_add_client(m, c);
        log_info("client %" PRIu64 " (pid %d): forked from client %" PRIu64 " (pid %d), tracking its %zu ranges",
                 c->id, (int) child, parent->id, (int) parent->pid, c->ranges.n_ranges);
        return 0;
}

static int on_fork_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        PendingFork *pf = userdata;
        pid_t child;
        int r;

        r = find_new_child(pf->parent, &child);
        if (r >= 0) {
                r = adopt_fork(pf, child);
                if (r < 0)
                        log_warning_errno(r, "client %" PRIu64 ": cannot adopt forked child %d: %m",
                                          pf->parent->id, (int) child);
                pending_fork_free(pf);
                return 0;
        }
        if (++pf->tries >= FORK_RESOLVE_TRIES) {
                log_warning("client %" PRIu64 ": forked child not found, releasing its userfaultfd",
                            pf->parent->id);
                pending_fork_free(pf);
                return 0;
        }
        (void) sd_event_source_set_time_relative(s, FORK_RESOLVE_INTERVAL_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static int client_queue_fork(Client *c, int child_uffd) {
        PendingFork *pf = calloc(1, sizeof *pf);
        int r;

        if (!pf) {
                safe_close(child_uffd);
                return -ENOMEM;
        }
        pf->parent = c;
        pf->uffd = child_uffd;
        r = sd_event_add_time_relative(c->manager->event, &pf->timer, CLOCK_MONOTONIC, 0,
                                       FORK_RESOLVE_INTERVAL_USEC / 5, /* not the 250 ms default */
                                       on_fork_timer, pf);
        if (r < 0) {
                safe_close(child_uffd);
                free(pf);
                return r;
        }
        pf->next = c->manager->pending_forks;
        c->manager->pending_forks = pf;
        return 0;
}

/* MADV_DONTNEED / MADV_REMOVE: the range stays mapped and registered, its pages are gone. */
static void client_pages_removed(Client *c, uint64_t start, uint64_t end) {
        int r = classify_discard(&c->ranges, ALIGN_DOWN(start, (uint64_t) page_size()),
                                 ALIGN_UP(end, (uint64_t) page_size()));
        if (r < 0)
                client_set_error(c, r, "cannot follow MADV_DONTNEED of 0x%" PRIx64 "-0x%" PRIx64, start, end);
        tracker_range_removed(c, start, end);
}

static int client_handle_msg(Client *c, const struct uffd_msg *msg) {
        uint64_t removed;
        int r;

        switch (msg->event) {
        case UFFD_EVENT_PAGEFAULT:
                return tracker_handle_fault(c, msg);
        case UFFD_EVENT_FORK:
                r = client_queue_fork(c, (int) msg->arg.fork.ufd);
                if (r < 0)
                        log_warning_errno(r, "client %" PRIu64 ": cannot follow fork: %m", c->id);
                return 0;
        case UFFD_EVENT_REMAP:
                log_debug("client %" PRIu64 ": remap 0x%llx -> 0x%llx (%llu bytes)", c->id,
                          (unsigned long long) msg->arg.remap.from,
                          (unsigned long long) msg->arg.remap.to,
                          (unsigned long long) msg->arg.remap.len);
                tracker_range_removed(c, msg->arg.remap.from, msg->arg.remap.from + msg->arg.remap.len);
                r = range_set_remap(&c->ranges, msg->arg.remap.from, msg->arg.remap.to,
                                    msg->arg.remap.len);
                if (r < 0)
                        client_set_error(c, r, "cannot follow mremap 0x%llx -> 0x%llx",
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
                tracker_range_removed(c, msg->arg.remove.start, msg->arg.remove.end);
                (void) range_set_remove(&c->ranges, msg->arg.remove.start, msg->arg.remove.end,
                                        &removed);
                return 0;
        default:
                log_debug("client %" PRIu64 ": ignoring uffd event %u", c->id, msg->event);
                return 0;
        }
}

int client_process_events(Client *c) {
        struct uffd_msg msgs[CLIENT_EVENTS_PER_READ];

        for (;;) {
                ssize_t n = c->manager->kops->read_msgs(c->uffd, msgs, ELEMENTSOF(msgs));
                if (n < 0) {
                        if (n == -ESRCH)
                                return -ESRCH;
                        client_set_error(c, (int) n, "reading userfaultfd events failed");
                        return (int) n;
                }
                if (n == 0)
                        return 0;
                for (ssize_t i = 0; i < n; i++) {
                        int r = client_handle_msg(c, &msgs[i]);
                        if (r == -ESRCH)
                                return r;
                }
                if ((size_t) n < ELEMENTSOF(msgs))
                        return 0;
        }
}
