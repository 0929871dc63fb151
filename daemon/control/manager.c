/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <systemd/sd-daemon.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "client.h"
#include "client-props.h"
#include "conf.h"
#include "config.h"
#include "creds.h"
#include "handoff.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "parse.h"
#include "vma.h"
#include "policy-match.h"

#define MANAGER_CONFIG_PATH_DEFAULT SYSCONFDIR "/uffdtierd/uffdtierd.conf"
/* A forked child is not in its parent's children list until fork() returns, which it does only
 * after we have read the FORK event: look for it a little later, for a while. */
#define FORK_RESOLVE_INTERVAL_USEC (5 * USEC_PER_MSEC)
#define FORK_RESOLVE_TRIES 400
/* How much of the first range an rwp fork child must prove registered (unprotected first). */
#define FORK_PROOF_MAX_BYTES (64ULL << 20)
/* Children not yet clients tried per look, newest first (a client forking faster than its
 * children are adopted leaves several). */
#define FORK_CANDIDATES_MAX 16
/* Descriptors kept free when adopting a fork child (the handoff keeps its own headroom). */
#define MANAGER_FD_HEADROOM 32U

struct PendingFork {
        Manager *manager;
        uint64_t parent_id; /* by id: the parent may go first */
        uid_t uid; /* the parent's */
        int uffd;
        unsigned tries;
        sd_event_source *timer;
        PendingFork *next;
};

static int on_gc(sd_event_source *s, void *userdata);
static int manager_watchdog_start(Manager *m);

int manager_new(Manager **ret) {
        Manager *m = calloc(1, sizeof *m);
        int r;

        if (!m)
                return -ENOMEM;
        m->kops = &kernel_ops_real;
        m->proc_root = strdup("/proc");
        m->cgroup_root = strdup("/sys/fs/cgroup");
        m->config_path = strdup(MANAGER_CONFIG_PATH_DEFAULT);
        m->overrides = (ConfOverrides) CONF_OVERRIDES_INIT;
        /* the built-in defaults until manager_startup() reads the files */
        r = config_new(&m->config);
        if (r < 0 || !m->proc_root || !m->cgroup_root || !m->config_path) {
                manager_free(m);
                return -ENOMEM;
        }
        r = sd_event_default(&m->event);
        if (r >= 0)
                r = sd_event_add_defer(m->event, &m->gc_source, on_gc, m);
        if (r < 0) {
                manager_free(m);
                return r;
        }
        (void) sd_event_source_set_enabled(m->gc_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(m->gc_source, "client-gc");
        *ret = m;
        return 0;
}

static void pending_fork_free(Manager *m, PendingFork *pf) {
        for (PendingFork **pp = &m->pending_forks; *pp; pp = &(*pp)->next)
                if (*pp == pf) {
                        *pp = pf->next;
                        break;
                }
        sd_event_source_disable_unref(pf->timer);
        safe_close(pf->uffd);
        free(pf);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        m->handoff = handoff_free(m->handoff);
        while (m->pending_forks)
                pending_fork_free(m, m->pending_forks);
        while (m->clients)
                manager_drop_client(m, m->clients);
        manager_gc(m);
        m->gc_source = sd_event_source_disable_unref(m->gc_source);
        m->stats_timer = sd_event_source_disable_unref(m->stats_timer);
        m->tick_timer = sd_event_source_disable_unref(m->tick_timer);
        m->watchdog_timer = sd_event_source_disable_unref(m->watchdog_timer);
        sd_event_unref(m->event);
        free(m->proc_root);
        free(m->cgroup_root);
        config_free(m->config);
        free(m->config_path);
        conf_overrides_done(&m->overrides);
        free(m);
        return NULL;
}

void manager_set_backend(Manager *m, const KernelOps *kops, Backend backend, bool monitor_only) {
        m->kops = kops;
        m->backend = backend;
        m->monitor_only = monitor_only;
        m->client_env = (ClientEnv) {
                .tracker = {
                        .event = m->event,
                        .kops = m->kops,
                        .backend = m->backend,
                        .monitor_only = m->monitor_only,
                        .reclaim = true,
                        .evict_rate = &m->evict_rate,
                        .evict_pace = &m->evict_pace,
                        .proc_root = m->proc_root,
                        .cgroup_root = m->cgroup_root,
                        .paused = &m->paused,
                        .sync_window_max_usec = m->config->limits.sync_window_max_usec,
                },
                .limits = &m->config->limits,
                .fd_limit = m->fd_limit,
                .progress = &m->progress,
        };
}

/* ---- clients: created here, freed here ---- */

void manager_drop_client(Manager *m, Client *c) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        bool answer;

        if (c->gc_queued)
                return;
        answer = c->track_job != NULL;
        client_stop(c);
        /* its counters are final now: keep them in the daemon's totals */
        m->gone_evicted_bytes += c->tracker.counters.evicted_bytes;
        m->gone_refaulted_bytes += c->tracker.counters.refaulted_bytes;
        m->gone_faults_served += c->tracker.counters.faults_served;
        c->gc_queued = true;
        LIST_REMOVE(clients, m->clients, c);
        m->n_clients--;
        if (m->hooks && m->hooks->client_removed)
                m->hooks->client_removed(m->hooks_userdata, c);
        LIST_PREPEND(gc, m->gc_queue, c);
        (void) sd_event_source_set_enabled(m->gc_source, SD_EVENT_ONESHOT);
        /* Its TRACK under way is answered, last: the answer may end the connection, whose
         * closed hook then finds no client to drop. */
        if (answer && m->handoff) {
                (void) sd_bus_error_set_errnof(&e, ESRCH,
                                               "the process's memory is no longer tracked");
                handoff_request_done(m->handoff, c->id, -ESRCH, &e);
        }
}

/* ---- the per-page state budgets: one per uid with clients, under the daemon's total ---- */

static UidBudget *uid_budget_find(const Manager *m, uid_t uid) {
        for (UidBudget *u = m->uid_budgets; u; u = u->next)
                if (u->uid == uid)
                        return u;
        return NULL;
}

const StateBudget *manager_uid_state_budget(const Manager *m, uid_t uid) {
        UidBudget *u = uid_budget_find(m, uid);
        return u ? &u->budget : NULL;
}

/* A reference to uid's budget, for a new client; NULL when out of memory. */
static StateBudget *uid_budget_ref(Manager *m, uid_t uid) {
        UidBudget *u = uid_budget_find(m, uid);

        if (!u) {
                u = calloc(1, sizeof *u);
                if (!u)
                        return NULL;
                u->uid = uid;
                u->budget = (StateBudget){
                        .limit = m->config->limits.state_bytes_per_uid,
                        .parent = &m->state_total,
                };
                u->next = m->uid_budgets;
                m->uid_budgets = u;
        }
        u->refs++;
        return &u->budget;
}

static void uid_budget_unref(Manager *m, uid_t uid) {
        for (UidBudget **pp = &m->uid_budgets; *pp; pp = &(*pp)->next) {
                UidBudget *u = *pp;
                if (u->uid != uid)
                        continue;
                if (--u->refs == 0) {
                        *pp = u->next;
                        free(u);
                }
                return;
        }
}

/* After a reload: the limits in force apply to what is charged, and to the windows opened, from
 * now on. */
static void manager_apply_state_limits(Manager *m) {
        m->client_env.tracker.sync_window_max_usec = m->config->limits.sync_window_max_usec;
        m->state_total.limit = m->config->limits.state_bytes_total;
        for (UidBudget *u = m->uid_budgets; u; u = u->next)
                u->budget.limit = m->config->limits.state_bytes_per_uid;
}

void manager_gc(Manager *m) {
        while (m->gc_queue) {
                Client *c = m->gc_queue;
                uid_t uid = c->uid;
                bool budgeted = c->state_budget.parent != NULL;

                LIST_REMOVE(gc, m->gc_queue, c);
                /* pending forks of this parent stay: they are resolved by id and may still
                 * find their child */
                client_free(c);
                if (budgeted) /* after the client's ranges gave their state back */
                        uid_budget_unref(m, uid);
        }
}

static int on_gc(sd_event_source *s, void *userdata) {
        manager_gc(userdata);
        return 0;
}

Client *manager_find_client(Manager *m, uint64_t id) {
        Client *c;

        LIST_FOREACH (clients, c, m->clients)
                if (c->id == id)
                        return c;
        return NULL;
}

unsigned manager_count_clients_of_uid(Manager *m, uid_t uid) {
        unsigned n = 0;
        Client *c;

        LIST_FOREACH (clients, c, m->clients)
                if (c->uid == uid)
                        n++;
        return n;
}

static void client_hook_gone(void *userdata, Client *c);
static void client_hook_forked(void *userdata, Client *parent, int child_uffd);

static void client_hook_evicted(void *userdata, Client *c, uint64_t bytes);

/* A TRACK that went on over several turns is over: its connection gets the answer. */
static void client_hook_tracked(void *userdata, Client *c, int r, const sd_bus_error *error) {
        Manager *m = userdata;

        if (m->handoff)
                handoff_request_done(m->handoff, c->id, r, error);
}

static const ClientHooks manager_client_hooks = {
        .gone = client_hook_gone,
        .forked = client_hook_forked,
        .tracked = client_hook_tracked,
        .evicted = client_hook_evicted,
};

static void manager_link_client(Manager *m, Client *c) {
        LIST_PREPEND(clients, m->clients, c);
        m->n_clients++;
        if (m->hooks && m->hooks->client_added)
                m->hooks->client_added(m->hooks_userdata, c);
}

/* ---- policies: the one of the client's cgroup ---- */

/* The policy for pid's cgroup (ret_cgroup: the path, NULL if unknown): a policy.d rule, or the
 * default policy when none matches or the cgroup cannot be read. */
static const Policy *manager_policy_for(Manager *m, pid_t pid, char **ret_cgroup) {
        _cleanup_free_ char *cg = NULL;
        ssize_t i = -1;
        int r;

        r = cgroup_path_of_pid(m->proc_root, pid, &cg);
        if (r < 0)
                log_debug_errno(r, "pid %d: cannot read its cgroup, using the default policy: %m",
                                (int) pid);
        else if (m->config)
                i = policy_match_best(m->config->policies.rules, m->config->policies.n_rules, cg);
        if (ret_cgroup)
                *ret_cgroup = TAKE_PTR(cg);
        return i >= 0 ? &m->config->policies.rules[i].policy : manager_policy(m);
}

static void log_client_policy(const Client *c, const Policy *p, const char *cgroup,
                              const char *what) {
        char a[FORMAT_DURATION_MAX], b[FORMAT_DURATION_MAX], d[FORMAT_BYTES_MAX],
                e[FORMAT_BYTES_MAX];

        log_info("client %" PRIu64
                 " (pid %d): %s %s (cgroup %s): scan interval %s, cold age %s, rate %s, "
                 "floor %s, PSI limit %u.%02u%%, re-arm period %u, mode %s",
                 c->id, (int) c->pid, what, policy_display_name(p), cgroup ? cgroup : "unknown",
                 format_duration(a, sizeof a, p->interval_usec),
                 format_duration(b, sizeof b, p->cold_age_usec),
                 p->rate_bytes_per_sec ? format_bytes(d, sizeof d, p->rate_bytes_per_sec)
                                       : "unlimited",
                 format_bytes(e, sizeof e, p->floor_bytes), p->psi_limit_permyriad / 100,
                 p->psi_limit_permyriad % 100, policy_rearm_period(p),
                 p->dry_run ? "monitor" : "evict");
}

int manager_add_client(Manager *m, pid_t pid, uid_t uid, gid_t gid, bool user_mode_only,
                       const char *name, int uffd, int pidfd, int pagemap_fd,
                       sd_bus_error *ret_error, uint64_t *ret_id) {
        _cleanup_free_ char *cgroup = NULL;
        const Policy *policy;
        ClientIdentity who = {
                .id = m->next_client_id + 1,
                .pid = pid,
                .uid = uid,
                .gid = gid,
                .name = name,
                .user_mode_only = user_mode_only,
        };
        Client *c;
        int r;

        if (m->backend == BACKEND_NONE) {
                safe_close(uffd);
                safe_close(pidfd);
                safe_close(pagemap_fd);
                return sd_bus_error_set_errnof(
                        ret_error, EOPNOTSUPP,
                        "this kernel offers no tracking backend (see uffdtierd --probe)");
        }
        if (manager_count_clients_of_uid(m, uid) >= m->config->limits.clients_per_uid) {
                safe_close(uffd);
                safe_close(pidfd);
                safe_close(pagemap_fd);
                return sd_bus_error_set_errnof(
                        ret_error, EUSERS,
                        "limit reached: at most %u clients per uid (clients_per_uid)",
                        m->config->limits.clients_per_uid);
        }
        if (!limits_client_total_ok(&m->config->limits, m->n_clients, (unsigned) uid)) {
                safe_close(uffd);
                safe_close(pidfd);
                safe_close(pagemap_fd);
                return sd_bus_error_set_errnof(
                        ret_error, EUSERS,
                        "limit reached: at most %u clients in all (clients_total, %u kept for root)",
                        m->config->limits.clients_total, LIMIT_ROOT_RESERVE);
        }
        policy = manager_policy_for(m, pid, &cgroup);
        who.cgroup_path = cgroup;
        who.state_parent = uid_budget_ref(m, uid);
        if (!who.state_parent) {
                safe_close(uffd);
                safe_close(pidfd);
                safe_close(pagemap_fd);
                return sd_bus_error_set_errnof(ret_error, ENOMEM, "out of memory");
        }
        r = client_new(&m->client_env, policy, &manager_client_hooks, m, &who, uffd, pidfd,
                       pagemap_fd, ret_error, &c);
        if (r < 0) {
                uid_budget_unref(m, uid);
                return r;
        }
        m->next_client_id = who.id;
        manager_link_client(m, c);
        log_client_policy(c, policy, cgroup, "policy");
        *ret_id = c->id;
        return 0;
}

static void client_hook_gone(void *userdata, Client *c) {
        manager_drop_client(userdata, c);
}

static void client_hook_evicted(void *userdata, Client *c, uint64_t bytes) {
        Manager *m = userdata;

        if (m->hooks && m->hooks->evicted)
                m->hooks->evicted(m->hooks_userdata, c, bytes);
}

/* ---- fork: the child's uffd becomes a client of its own ---- */

/* The children of parent that are no client yet, highest pid first, at most max of them. Two
 * quick forks leave two such children: which of them a uffd belongs to, only the proof through
 * that uffd tells (adopt_fork). */
static int find_new_children(Manager *m, const Client *parent, pid_t *ret, size_t max,
                             size_t *ret_n) {
        char path[PATH_MAX];
        size_t n = 0;

        /* /proc/PID/task/TID/children lists the children of that thread; a fork from any
         * thread of the client counts, so look at every task. */
        snprintf(path, sizeof path, "%s/%d/task", m->proc_root, (int) parent->pid);
        _cleanup_(closedirp) DIR *d = opendir(path);
        if (!d)
                return negative_errno();
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_fclose_ FILE *f = NULL;
                int pid;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "%s/%d/task/%s/children", m->proc_root,
                         (int) parent->pid, de->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                while (fscanf(f, "%d", &pid) == 1) {
                        Client *c;
                        bool known = false;
                        size_t at;

                        LIST_FOREACH (clients, c, m->clients)
                                if (c->pid == pid)
                                        known = true;
                        if (known || pid <= 0)
                                continue;
                        /* insert sorted, highest first; the lowest drops off a full list */
                        for (at = 0; at < n && ret[at] > pid; at++)
                                ;
                        if (at < n && ret[at] == pid)
                                continue;
                        if (at >= max)
                                continue;
                        memmove(ret + at + 1, ret + at, (MIN(n + 1, max) - at - 1) * sizeof *ret);
                        ret[at] = pid;
                        n = MIN(n + 1, max);
                }
        }
        *ret_n = n;
        return n > 0 ? 0 : -ESRCH;
}

static int adopt_fork(Manager *m, PendingFork *pf, const Client *parent, pid_t child) {
        _cleanup_close_ int pidfd = -EBADF, pagemap = -EBADF;
        StateBudget *state_parent;
        _cleanup_free_ char *name = NULL, *cgroup = NULL;
        const Policy *policy;
        char path[PATH_MAX];
        Client *c;
        int r;

        /* A child is a client of its parent's uid, and counts against its limits. */
        if (manager_count_clients_of_uid(m, parent->uid) >= m->config->limits.clients_per_uid) {
                log_notice("client %" PRIu64
                           ": forked child %d not adopted: uid %u has %u clients (clients_per_uid)",
                           parent->id, (int) child, (unsigned) parent->uid,
                           m->config->limits.clients_per_uid);
                return -EUSERS;
        }
        if (!limits_client_total_ok(&m->config->limits, m->n_clients, (unsigned) parent->uid)) {
                log_notice("client %" PRIu64
                           ": forked child %d not adopted: %u clients in all (clients_total)",
                           parent->id, (int) child, m->n_clients);
                return -EUSERS;
        }
        pidfd = (int) syscall(__NR_pidfd_open, child, 0);
        if (pidfd < 0)
                return errno == ESRCH ? -ENXIO : negative_errno(); /* that one is gone */
        if (m->fd_limit > 0 && (uint64_t) pidfd + MANAGER_FD_HEADROOM >= m->fd_limit) {
                log_warning(
                        "client %" PRIu64
                        ": forked child %d not adopted: the daemon is short of file descriptors",
                        parent->id, (int) child);
                return -EMFILE;
        }
        /* Opened with the parent's credentials: a child that is not the parent's to read (a
         * setuid program it started) is refused by the kernel, whatever the guess said. */
        {
                _cleanup_(creds_restore) Creds saved = {};

                r = creds_assume(parent->uid, parent->gid, &saved);
                if (r < 0)
                        return r;
                snprintf(path, sizeof path, "%s/%d/pagemap", m->proc_root, (int) child);
                pagemap = open(path, O_RDONLY | O_CLOEXEC);
                if (pagemap < 0 && (errno == EACCES || errno == EPERM)) {
                        /* not this fork's child, whatever else it is: the next candidate */
                        log_notice_errno(
                                errno,
                                "client %" PRIu64
                                ": cannot adopt forked child %d, not the client's to read: %m",
                                parent->id, (int) child);
                        return -ENXIO;
                }
                if (pagemap < 0)
                        return errno == ENOENT ? -ENXIO : negative_errno();
        }
        /* The guess must be right: the child's uffd carries the parent's registrations, so the
         * child's own pagemap must show them (rwp: where pages are populated), and a change
         * made through that uffd must show in this child's pagemap, not in a sibling's (two
         * quick forks: both children carry the registrations). -ENXIO: not this child. */
        if (parent->ranges.n_ranges > 0) {
                const TrackedRange *t0 = &parent->ranges.ranges[0];
                uint64_t mode = tracker_backend_register_mode(m->backend);
                uint64_t end = t0->end;

                if (mode == UFFDIO_REGISTER_MODE_RWP) {
                        /* rwp shows a registered page only while it is unprotected, and the
                         * child inherited the parent's protection: unprotect a bounded piece
                         * through the child's uffd (it acts on whatever mm that uffd belongs
                         * to), then the guessed child's pagemap must read it ACCESSED. Those
                         * pages merely start the child's first cycle hot. */
                        end = MIN(t0->end, t0->start + FORK_PROOF_MAX_BYTES);
                        r = m->kops->rwprotect(pf->uffd, t0->start, end - t0->start, false, false);
                        if (r < 0) {
                                log_notice_errno(
                                        r,
                                        "client %" PRIu64
                                        ": cannot unprotect the forked child's copy of 0x%" PRIx64
                                        "-0x%" PRIx64 ", not adopting it: %m",
                                        parent->id, t0->start, end);
                                return -ESRCH;
                        }
                }
                r = vma_range_is_registered(m->kops, pagemap, t0->start, end, mode);
                if (r != VMA_REGISTERED_ALL && r != -ENODATA) {
                        log_debug("client %" PRIu64
                                  ": child %d does not carry the parent's registrations",
                                  parent->id, (int) child);
                        return -ENXIO;
                }
                /* Both children of two quick forks pass that (and an rwp child that touched
                 * its memory reads accessed anyway): flip one page through the uffd and watch
                 * it here. */
                r = vma_uffd_pairs(m->kops, pf->uffd, pagemap, t0->start,
                                   MIN(t0->end, t0->start + FORK_PROOF_MAX_BYTES), mode);
                if (r == 0) {
                        log_debug("client %" PRIu64
                                  ": child %d is not the one behind this fork's userfaultfd",
                                  parent->id, (int) child);
                        return -ENXIO;
                }
                if (r < 0 && r != -ENODATA)
                        return r;
        }
        if (parent->name && asprintf(&name, "%s (child)", parent->name) < 0)
                name = NULL;
        /* the child may have been moved to another cgroup already: it gets its own policy */
        policy = manager_policy_for(m, child, &cgroup);

        state_parent = uid_budget_ref(m, parent->uid);
        if (!state_parent)
                return -ENOMEM;
        r = client_new_forked(parent,
                              &(ClientIdentity){
                                      .state_parent = state_parent,
                                      .id = m->next_client_id + 1,
                                      .pid = child,
                                      .uid = parent->uid,
                                      .gid = parent->gid,
                                      .name = name,
                                      .user_mode_only = parent->user_mode_only,
                                      .parent_id = parent->id,
                                      .cgroup_path = cgroup,
                              },
                              TAKE_FD(pf->uffd), TAKE_FD(pidfd), TAKE_FD(pagemap), &c);
        if (r < 0) {
                uid_budget_unref(m, parent->uid);
                return r;
        }
        m->next_client_id = c->id;
        manager_link_client(m, c);
        log_info("client %" PRIu64 " (pid %d): forked from client %" PRIu64
                 " (pid %d), tracking its %zu ranges",
                 c->id, (int) child, parent->id, (int) parent->pid, c->ranges.n_ranges);
        client_set_policy(c, policy);
        log_client_policy(c, policy, cgroup, "policy");
        return 0;
}

static int on_fork_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        PendingFork *pf = userdata;
        Manager *m = pf->manager;
        Client *parent = manager_find_client(m, pf->parent_id);
        pid_t children[FORK_CANDIDATES_MAX];
        size_t n = 0;
        int r;

        if (!parent) {
                log_info(
                        "client %" PRIu64
                        ": gone before its forked child was found, releasing the child's userfaultfd",
                        pf->parent_id);
                pending_fork_free(m, pf);
                return 0;
        }
        r = find_new_children(m, parent, children, ELEMENTSOF(children), &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = adopt_fork(m, pf, parent, children[i]);
                if (r == -ENXIO) { /* a sibling's: try the next one */
                        r = 0;
                        continue;
                }
                if (r == -ESRCH)
                        /* the uffd's own address space: its child exec'd or exited */
                        log_info("client %" PRIu64
                                 ": the child of a fork is gone, releasing its userfaultfd",
                                 parent->id);
                else if (r < 0)
                        log_warning_errno(r, "client %" PRIu64 ": cannot adopt forked child %d: %m",
                                          parent->id, (int) children[i]);
                pending_fork_free(m, pf);
                return 0;
        }
        if (++pf->tries >= FORK_RESOLVE_TRIES) {
                log_warning("client %" PRIu64 ": forked child not found, releasing its userfaultfd",
                            parent->id);
                pending_fork_free(m, pf);
                return 0;
        }
        (void) sd_event_source_set_time_relative(s, FORK_RESOLVE_INTERVAL_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

/* The child's uffd arrives in the parent's FORK event, before the child is visible: park it
 * and look for the child after this loop turn (as CRIU's lazy-pages joins forks). */
static void client_hook_forked(void *userdata, Client *parent, int child_uffd) {
        Manager *m = userdata;
        unsigned of_client = 0, of_uid = 0;
        PendingFork *pf;
        int r;

        /* Bounded per client and per uid: a program that forks (and reaps) in a loop would
         * otherwise park a descriptor and a /proc search per fork. The child of a dropped
         * event runs on untracked (closing its uffd drops its registrations). */
        for (PendingFork *p = m->pending_forks; p; p = p->next) {
                of_client += p->parent_id == parent->id;
                of_uid += p->uid == parent->uid;
        }
        if (of_client >= m->config->limits.forks_pending_per_client ||
            of_uid >= m->config->limits.forks_pending_per_uid) {
                parent->forks_refused++;
                m->forks_refused++;
                log_full(parent->forks_refused <= 3 ? LOG_NOTICE : LOG_DEBUG,
                         "client %" PRIu64 " (pid %d): forked child not followed: %u forks of this "
                         "client and %u of uid %u wait for their child "
                         "(forks_pending_per_client=%u, forks_pending_per_uid=%u)",
                         parent->id, (int) parent->pid, of_client, of_uid, (unsigned) parent->uid,
                         m->config->limits.forks_pending_per_client,
                         m->config->limits.forks_pending_per_uid);
                safe_close(child_uffd);
                return;
        }
        pf = calloc(1, sizeof *pf);
        if (!pf) {
                safe_close(child_uffd);
                log_oom();
                return;
        }
        pf->manager = m;
        pf->parent_id = parent->id;
        pf->uid = parent->uid;
        pf->uffd = child_uffd;
        r = sd_event_add_time_relative(m->event, &pf->timer, CLOCK_MONOTONIC, 0,
                                       FORK_RESOLVE_INTERVAL_USEC / 5, /* not the 250 ms default */
                                       on_fork_timer, pf);
        if (r < 0) {
                log_warning_errno(r, "client %" PRIu64 ": cannot follow fork: %m", parent->id);
                safe_close(child_uffd);
                free(pf);
                return;
        }
        pf->next = m->pending_forks;
        m->pending_forks = pf;
}

/* ---- the handoff socket's requests ---- */

static int hook_hello(void *userdata, const HandoffPeer *peer, const ProtoMessage *req,
                      int fds[PROTO_HELLO_N_FDS], sd_bus_error *ret_error,
                      uint64_t *ret_client_id) {
        return manager_add_client(
                userdata, peer->pid, peer->uid, peer->gid, req->flags & PROTO_HELLO_USER_MODE_ONLY,
                req->name, TAKE_FD(fds[PROTO_HELLO_FD_UFFD]), TAKE_FD(fds[PROTO_HELLO_FD_PIDFD]),
                TAKE_FD(fds[PROTO_HELLO_FD_PAGEMAP]), ret_error, ret_client_id);
}

static int find_for_request(Manager *m, uint64_t id, sd_bus_error *ret_error, Client **ret) {
        Client *c = manager_find_client(m, id);

        if (!c)
                return sd_bus_error_set_errnof(ret_error, ESRCH,
                                               "the process's memory is no longer tracked");
        *ret = c;
        return 0;
}

static int hook_track(void *userdata, uint64_t id, const ProtoMessage *req,
                      sd_bus_error *ret_error) {
        Client *c = NULL;
        int r = find_for_request(userdata, id, ret_error, &c);

        if (r < 0)
                return r;
        r = client_track(c, req->ranges, req->n_ranges, req->name, req->labels, req->n_labels,
                         ret_error);
        return r == CLIENT_TRACK_PENDING ? HANDOFF_PENDING : r;
}

static int hook_untrack(void *userdata, uint64_t id, const ProtoMessage *req,
                        sd_bus_error *ret_error) {
        Client *c = NULL;
        int r = find_for_request(userdata, id, ret_error, &c);

        if (r < 0)
                return r;
        r = client_untrack(c, req->ranges, req->n_ranges, ret_error);
        return r == CLIENT_TRACK_PENDING ? HANDOFF_PENDING : r;
}

static int hook_follow(void *userdata, uint64_t id, const ProtoMessage *req,
                       sd_bus_error *ret_error) {
        Client *c = NULL;
        int r = find_for_request(userdata, id, ret_error, &c);

        if (r < 0)
                return r;
        return client_follow(c, req->min_bytes, req->name, req->labels, req->n_labels, ret_error);
}

static int hook_status(void *userdata, uint64_t id, ProtoMessage *reply, sd_bus_error *ret_error) {
        Manager *m = userdata;
        Client *c = NULL;
        int r = find_for_request(m, id, ret_error, &c);

        if (r < 0)
                return r;
        r = client_status_reply(c, reply);
        if (r < 0)
                return sd_bus_error_set_errnof(ret_error, -r, "cannot build the status reply");
        return 0;
}

static void hook_closed(void *userdata, uint64_t id) {
        Manager *m = userdata;
        Client *c = manager_find_client(m, id);

        if (c)
                manager_drop_client(m, c);
}

static const HandoffHooks manager_handoff_hooks = {
        .hello = hook_hello,
        .track = hook_track,
        .untrack = hook_untrack,
        .follow = hook_follow,
        .status = hook_status,
        .closed = hook_closed,
};

void manager_log_stats(Manager *m) {
        uint64_t tracked = 0, resident = 0, evicted = m->gone_evicted_bytes,
                 refaulted = m->gone_refaulted_bytes, faults = m->gone_faults_served;
        char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX], d[FORMAT_BYTES_MAX], e[FORMAT_BYTES_MAX],
                f[FORMAT_BYTES_MAX], g[FORMAT_BYTES_MAX];
        Client *c;

        LIST_FOREACH (clients, c, m->clients) {
                const TrackerCounters *k = &c->tracker.counters;

                char fr[FORMAT_BYTES_MAX];
                log_info(
                        "client %" PRIu64
                        " pid %d%s%s: tracked %s resident %s hot %s cold %s evicted %s (freed %s, %s) refaulted %s "
                        "faults %" PRIu64 " (p99 %" PRIu64 "us max %" PRIu64 "us) cycles %" PRIu64
                        " cycle %" PRIu64 "us sync %" PRIu64 "us%s%s",
                        c->id, (int) c->pid, c->name ? " " : "", c->name ? c->name : "",
                        format_bytes(a, sizeof a, range_set_bytes(&c->ranges)),
                        format_bytes(b, sizeof b, k->resident_bytes),
                        format_bytes(d, sizeof d, k->hot_bytes),
                        format_bytes(e, sizeof e, k->cold_bytes),
                        format_bytes(f, sizeof f, k->evicted_bytes),
                        format_bytes(fr, sizeof fr, k->freed_bytes),
                        memcg_source_to_string(k->memory_source),
                        format_bytes(g, sizeof g, k->refaulted_bytes), k->faults_served,
                        tracker_fault_latency_p99_usec(k), k->fault_latency_max_usec, k->cycles,
                        k->last_cycle_usec, k->last_sync_window_usec,
                        k->last_error ? " last error: " : "",
                        k->last_error ? k->last_error_text : "");
                tracked += range_set_bytes(&c->ranges);
                resident += k->resident_bytes;
                evicted += k->evicted_bytes;
                refaulted += k->refaulted_bytes;
                faults += k->faults_served;
        }
        log_info(
                "total: %u clients, backend %s%s, tracked %s resident %s evicted %s refaulted %s faults %" PRIu64,
                m->n_clients, backend_to_string(m->backend),
                m->monitor_only ? " (monitor only)" : "", format_bytes(a, sizeof a, tracked),
                format_bytes(b, sizeof b, resident), format_bytes(d, sizeof d, evicted),
                format_bytes(e, sizeof e, refaulted), faults);
}

static int on_stats_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        if (m->n_clients > 0)
                manager_log_stats(m);
        (void) sd_event_source_set_time(s, usec + m->config->stats_interval_usec);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

/* ---- configuration ---- */

/* Takes c. Every pointer into the old configuration is replaced before it is freed. */
static void manager_apply_config(Manager *m, Config *c, bool startup) {
        Config *old = m->config;
        unsigned n = 0;
        Client *cl;

        m->config = c;
        m->client_env.limits = &c->limits;
        if (m->handoff)
                handoff_set_limits(m->handoff, &c->limits);
        manager_apply_state_limits(m);
        if (c->log_level >= 0)
                log_set_max_level(c->log_level);
        else if (!startup)
                log_set_max_level(LOG_INFO); /* LogLevel= removed from the file */
        if (!startup && m->handoff && !streq(c->socket_path, m->handoff->socket_path))
                log_notice("Socket=%s takes effect at the next start (listening on %s)",
                           c->socket_path, m->handoff->socket_path);
        if (!startup) {
                const Policy *d = manager_policy(m);

                /* the shared eviction bucket is sized from the default policy's Rate= */
                if (d->rate_bytes_per_sec != old->policies.default_policy.rate_bytes_per_sec)
                        ratelimit_init(&m->evict_rate, d->rate_bytes_per_sec,
                                       MAX(d->rate_bytes_per_sec, d->evict_chunk_bytes),
                                       now_usec());
                if (m->stats_timer && c->stats_interval_usec != old->stats_interval_usec)
                        (void) sd_event_source_set_time_relative(m->stats_timer,
                                                                 c->stats_interval_usec);
                LIST_FOREACH (clients, cl, m->clients) {
                        _cleanup_free_ char *cgroup = NULL;
                        const Policy *before = cl->tracker.policy,
                                     *p = manager_policy_for(m, cl->pid, &cgroup);
                        bool same = (!before->name && !p->name) ||
                                (before->name && p->name && streq(before->name, p->name));

                        /* "before" may point into the old config: read it before freeing */
                        if (!same)
                                log_info("client %" PRIu64 " (pid %d): policy %s -> %s", cl->id,
                                         (int) cl->pid, policy_display_name(before),
                                         policy_display_name(p));
                        /* the process may have moved: PSI, the bus and the dump follow it */
                        if (cgroup && client_set_cgroup(cl, cgroup))
                                log_info("client %" PRIu64 " (pid %d): now in cgroup %s", cl->id,
                                         (int) cl->pid, cgroup);
                        client_set_policy(cl, p);
                        log_client_policy(cl, p, cgroup, same ? "policy (reloaded)" : "policy");
                        n++;
                }
                /* queued clients are stopped, but still hold a pointer */
                LIST_FOREACH (gc, cl, m->gc_queue)
                        client_set_policy(cl, manager_policy(m));
                log_info("configuration reloaded%s%s: %zu policies, %u clients re-resolved",
                         c->path ? " from " : " (no file)", c->path ? c->path : "",
                         c->policies.n_rules, n);
        }
        config_free(old);
}

int manager_reload(Manager *m, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_load(m->config_path, m->config_required, &m->overrides, &e, &c);
        if (r < 0) {
                log_warning("reload failed, keeping the old configuration: %s",
                            e.message ? e.message : strerror(-r));
                if (ret_error)
                        (void) sd_bus_error_copy(ret_error, &e);
                return r;
        }
        manager_apply_config(m, TAKE_PTR(c), false);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("received SIGHUP, reloading the configuration");
        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, now_usec());
        (void) manager_reload(m, NULL); /* logged there; the old configuration stays on failure */
        (void) sd_notifyf(false, "READY=1\nSTATUS=Tracking with the %s backend",
                          backend_to_string(m->backend));
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (si->ssi_signo == SIGUSR1) {
                manager_log_stats(m);
                return 0;
        }
        log_info("received %s, shutting down (clients keep their memory)",
                 strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

/* Every client holds three descriptors (uffd, pidfd, pagemap) and every connection one or two:
 * take the hard limit (systemd's default soft limit is 1024, the hard one far higher). The
 * handoff socket refuses new connections, and forks are not adopted, when descriptors run
 * short, instead of failing half-way. Returns the soft limit in force. */
static uint64_t manager_raise_fd_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return 0;
        if (rl.rlim_cur < rl.rlim_max) {
                struct rlimit want = { .rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max };
                /* select() is never used here, so fds above 1024 are fine */
                if (setrlimit(RLIMIT_NOFILE, &want) >= 0)
                        rl = want;
        }
        log_debug("file descriptor limit %llu", (unsigned long long) rl.rlim_cur);
        return rl.rlim_cur == RLIM_INFINITY ? 0 : (uint64_t) rl.rlim_cur;
}

int manager_startup(Manager *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        Config *c = NULL;
        int r;

        r = config_load(m->config_path, m->config_required, &m->overrides, &e, &c);
        if (r < 0)
                return log_error_errno(r, "invalid configuration: %s",
                                       e.message ? e.message : strerror(-r));
        manager_apply_config(m, c, true);
        if (c->path)
                log_info("configuration %s: %zu policies", c->path, c->policies.n_rules);
        for (size_t i = 0; i < c->policies.n_rules; i++)
                log_debug("policy %s from %s", c->policies.rules[i].name,
                          c->policies.rules[i].file);

        r = probe_run(&probe_paths_default, &m->probe);
        if (r < 0)
                return log_error_errno(r, "kernel feature probe failed: %m");
        r = probe_decide(&m->probe, &m->probe_result);
        if (r < 0)
                return log_error_errno(r, "kernel feature decision failed: %m");
        if (m->backend == BACKEND_NONE) /* not forced on the command line */
                m->backend = m->probe_result.backend;
        else if (!m->probe_result.available[m->backend])
                return log_error_errno(EOPNOTSUPP, "backend %s requested but not available: %s",
                                       backend_to_string(m->backend),
                                       m->probe_result.reason[m->backend]);

        if (m->backend == BACKEND_NONE)
                log_warning("no tracking backend on this kernel: %s; %s. Clients will be refused.",
                            m->probe_result.reason[BACKEND_RWP],
                            m->probe_result.reason[BACKEND_WP_ASYNC]);
        else {
                log_info("backend %s", backend_to_string(m->backend));
                for (size_t i = 0; i < m->probe_result.n_cannot_see; i++)
                        log_info("backend %s cannot see: %s", backend_to_string(m->backend),
                                 m->probe_result.cannot_see[i]);
        }
        if (m->backend == BACKEND_WP_ASYNC)
                log_info("rwp unavailable: %s", m->probe_result.reason[BACKEND_RWP]);

        {
                char text[SWAP_SETUP_DESCRIBE_MAX];
                const char *remedy;

                swap_setup_describe(manager_swap_setup(m), text, sizeof text);
                log_info("swap: %s", text);
                remedy = swap_setup_remedy(&m->swap_setup);
                if (remedy && swap_setup_has_swap(&m->swap_setup))
                        log_warning("a page-out does not free memory at once here: %s", remedy);
        }
        if (m->probe.swap_bytes == 0) {
                log_warning(
                        "no swap configured: MADV_PAGEOUT cannot evict anonymous memory, running in monitor-only mode");
                m->monitor_only = true;
        }
        if (manager_policy(m)->dry_run)
                log_notice("dry run: classifying only, never evicting");
        ratelimit_init(
                &m->evict_rate, manager_policy(m)->rate_bytes_per_sec,
                MAX(manager_policy(m)->rate_bytes_per_sec, manager_policy(m)->evict_chunk_bytes),
                now_usec());
        pace_init(&m->evict_pace, PACE_TARGET_MEMORY_DEFAULT_PERMYRIAD,
                  PACE_TARGET_CPU_DEFAULT_PERMYRIAD);

        manager_set_backend(m, m->kops, m->backend, m->monitor_only);

        r = handoff_new(m->event, &m->config->limits, m->config->socket_path, m->proc_root,
                        &manager_handoff_hooks, m, &m->handoff);
        if (r < 0)
                return log_error_errno(r, "cannot set up the handoff socket: %m");
        m->fd_limit = manager_raise_fd_limit();
        m->handoff->fd_limit = m->fd_limit;
        m->client_env.fd_limit = m->fd_limit;
        r = handoff_listen(m->handoff);
        if (r < 0)
                return r;

        {
                sigset_t ss;
                sigemptyset(&ss);
                sigaddset(&ss, SIGTERM);
                sigaddset(&ss, SIGINT);
                sigaddset(&ss, SIGUSR1);
                sigaddset(&ss, SIGHUP);
                (void) sigprocmask(SIG_BLOCK, &ss, NULL);
        }
        signal(SIGPIPE, SIG_IGN);
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGUSR1, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "cannot watch signals: %m");

        r = sd_event_add_time_relative(m->event, &m->stats_timer, CLOCK_MONOTONIC,
                                       m->config->stats_interval_usec, 0, on_stats_timer, m);
        if (r < 0)
                return log_error_errno(r, "cannot add stats timer: %m");

        r = manager_watchdog_start(m);
        if (r < 0)
                log_warning_errno(r, "cannot enable the service watchdog: %m");
        return 0;
}

/* WATCHDOG=1 at half of WatchdogSec=, from a timer at the normal priority, and only while the
 * loop gets somewhere: not when sources above it (the uffd sources) keep it from running, nor
 * when all the loop did since the last time was failing to read (sd-event's own watchdog would
 * be fed by any turn, spinning ones included). */
static int on_watchdog_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        bool failing = !loop_progressing(&m->progress, &m->progress_fed);
        uint64_t interval = 0;

        if (failing)
                log_warning("event loop: only failed reads since the last watchdog ping, "
                            "not pinging");
        else
                (void) sd_notify(false, "WATCHDOG=1");
        m->progress_fed = m->progress;
        (void) sd_watchdog_enabled(false, &interval);
        (void) sd_event_source_set_time_relative(s, MAX(interval / 2, USEC_PER_MSEC));
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static int manager_watchdog_start(Manager *m) {
        uint64_t interval = 0;
        int r;

        r = sd_watchdog_enabled(false, &interval);
        if (r <= 0)
                return r;
        r = sd_event_add_time_relative(m->event, &m->watchdog_timer, CLOCK_MONOTONIC, interval / 2,
                                       interval / 10, on_watchdog_timer, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(m->watchdog_timer, "watchdog");
        log_debug("service watchdog enabled, every %" PRIu64 " ms", interval / 2 / 1000);
        return 0;
}

int manager_run(Manager *m) {
        int r;

        (void) sd_notifyf(false, "READY=1\nSTATUS=Tracking with the %s backend",
                          backend_to_string(m->backend));
        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "event loop failed: %m");
        return 0;
}

/* ---- for the second half (bus, dump) ---- */

/* At least this long between two ticks, whatever the interval says. */
#define MANAGER_TICK_MIN_USEC (100ULL * USEC_PER_MSEC)

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t now = usec;

        if (m->hooks && m->hooks->cycle_done)
                m->hooks->cycle_done(m->hooks_userdata);
        /* from now, not from when it was due: a late tick must not make the next one early,
         * since the tick is what bounds the rate of the bus's change signals */
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        (void) sd_event_source_set_time(
                s, MAX(now, usec) + MAX(manager_policy(m)->interval_usec, MANAGER_TICK_MIN_USEC));
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

int manager_set_hooks(Manager *m, const ManagerHooks *hooks, void *userdata) {
        int r;

        m->hooks = hooks;
        m->hooks_userdata = userdata;
        if (!hooks || !hooks->cycle_done) {
                m->tick_timer = sd_event_source_disable_unref(m->tick_timer);
                m->watchdog_timer = sd_event_source_disable_unref(m->watchdog_timer);
                return 0;
        }
        if (m->tick_timer)
                return 0;
        r = sd_event_add_time_relative(m->event, &m->tick_timer, CLOCK_MONOTONIC,
                                       MAX(manager_policy(m)->interval_usec, MANAGER_TICK_MIN_USEC),
                                       10 * USEC_PER_MSEC, on_tick, m);
        if (r < 0)
                return r;
        /* below the clients' own sources: the news of a cycle comes after the cycle */
        (void) sd_event_source_set_priority(m->tick_timer, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_description(m->tick_timer, "manager-tick");
        return 0;
}

int manager_set_paused(Manager *m, bool paused) {
        if (m->paused == paused)
                return 0;
        m->paused = paused;
        log_notice("%s",
                   paused ? "paused: classifying only, no client evicts until resumed"
                          : "resumed: evicting again");
        return 1;
}

const Policy *manager_policy(const Manager *m) {
        return &m->config->policies.default_policy;
}

bool manager_monitor_only(const Manager *m) {
        return m->monitor_only || manager_policy(m)->dry_run;
}

const char *manager_monitor_only_reason(const Manager *m) {
        if (m->monitor_only && m->probe.swap_known && m->probe.swap_bytes == 0)
                return "no swap configured: MADV_PAGEOUT cannot evict anonymous memory";
        if (m->monitor_only)
                return "monitor-only mode";
        if (manager_policy(m)->dry_run)
                return "dry run: classifying only, never evicting";
        return "";
}

const SwapSetup *manager_swap_setup(Manager *m) {
        uint64_t now = now_usec();

        if (m->swap_setup_usec == 0 || now - m->swap_setup_usec >= USEC_PER_SEC) {
                SwapSetup s = {};

                if (swap_setup_read(m->proc_root, "/sys", &s) >= 0)
                        m->swap_setup = s;
                m->swap_setup_usec = now;
        }
        return &m->swap_setup;
}

void manager_get_totals(const Manager *m, ManagerTotals *ret) {
        ManagerTotals t = {
                .evicted_bytes = m->gone_evicted_bytes,
                .refaulted_bytes = m->gone_refaulted_bytes,
                .faults_served = m->gone_faults_served,
        };
        const Client *c;

        LIST_FOREACH (clients, c, m->clients) {
                const TrackerCounters *k = client_counters(c);

                t.tracked_bytes += client_tracked_bytes(c);
                t.resident_bytes += k->resident_bytes;
                t.swapped_bytes += k->swapped_bytes;
                t.out_bytes += k->out_bytes;
                t.freed_bytes += k->freed_bytes;
                t.hot_bytes += k->hot_bytes;
                t.cold_bytes += k->cold_bytes;
                t.evicted_bytes += k->evicted_bytes;
                t.refaulted_bytes += k->refaulted_bytes;
                t.faults_served += k->faults_served;
                for (size_t i = 0; i < CLASSIFY_N_BUCKETS; i++)
                        t.wss_bytes[i] += k->wss_bytes[i];
        }
        *ret = t;
}

int manager_evict_now(Manager *m, uint64_t id, uint64_t max_bytes, sd_bus_error *ret_error,
                      uint64_t *ret_queued) {
        Client *c = manager_find_client(m, id);
        uint64_t queued = 0;
        int r;

        if (!c)
                return sd_bus_error_set_errnof(ret_error, ESRCH, "no client with id %" PRIu64, id);
        if (m->backend == BACKEND_NONE)
                return sd_bus_error_set_errnof(
                        ret_error, EOPNOTSUPP,
                        "this kernel offers no tracking backend (see uffdtierd --probe)");
        if (manager_monitor_only(m))
                return sd_bus_error_set_errnof(ret_error, EOPNOTSUPP,
                                               "the daemon only monitors: %s",
                                               manager_monitor_only_reason(m));
        if (m->paused)
                return sd_bus_error_set_errnof(
                        ret_error, EBUSY, "eviction is paused; resume it first (SetPaused(false))");
        r = client_evict_now(c, max_bytes, &queued);
        if (r == -EBUSY)
                return sd_bus_error_set_errnof(
                        ret_error, EBUSY,
                        "client %" PRIu64 " is in the middle of a cycle, try again", id);
        if (r == -ESRCH)
                return sd_bus_error_set_errnof(ret_error, ESRCH, "client %" PRIu64 " is gone", id);
        if (r < 0)
                return sd_bus_error_set_errnof(ret_error, -r,
                                               "cannot run client %" PRIu64 "'s cycle: %s", id,
                                               strerror(-r));
        log_info("client %" PRIu64 ": eviction requested (%s), %" PRIu64 " bytes queued", id,
                 max_bytes ? "capped" : "all cold pages", queued);
        *ret_queued = queued;
        return 0;
}
