/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stdarg.h>
#include <stdio.h>

#include "arm-schedule.h"
#include "creds.h"
#include "evict.h"
#include "log.h"
#include "macro.h"
#include "pagemap.h"
#include "parse.h"
#include "psi.h"
#include "tracker.h"

#define TRACKER_CYCLE_ACCURACY_USEC USEC_PER_MSEC
#define TRACKER_EVICT_ACCURACY_USEC 100ULL
/* A window that could not be closed (SET_MODE failed) is tried again this soon. */
#define TRACKER_WINDOW_RETRY_USEC (100 * USEC_PER_MSEC)
/* The first batch's size, before its cost is known: 16 pages (16 iovecs at worst). */
#define TRACKER_EVICT_FIRST_BATCH_BYTES (UINT64_C(64) << 10)

/* Only for calls made outside the owner's event reader (cycle, eviction, arming a new range):
 * the reader itself is never re-entered (faults defer instead, tracker_handle_fault). */
#define RETRY_EAGAIN(t, expr) UFFD_RETRY_EAGAIN(expr, (t)->hooks->read_events((t)->userdata))

static void cold_age_bounds(const Policy *p, ColdAgeBounds *ret) {
        *ret = (ColdAgeBounds){
                .target_permyriad = p->refault_target_permyriad,
                .interval_usec = p->interval_usec,
        };
        policy_cold_age_bounds(p, &ret->min_usec, &ret->max_usec);
}

static void cold_age_start(Tracker *t) {
        ColdAgeBounds b;

        cold_age_bounds(t->policy, &b);
        coldage_init(&t->cold_age, &b, t->policy->cold_age_usec, now_usec());
        t->counters.cold_age_usec = t->cold_age.cold_age_usec;
        t->counters.refault_rate_ppm = 0;
}

/* The cold age in force, in whole cycles (as policy_cold_age_cycles()). */
static unsigned cold_age_cycles(const Tracker *t) {
        Policy p = *t->policy;

        p.cold_age_usec = t->cold_age.cold_age_usec;
        return policy_cold_age_cycles(&p);
}

static unsigned rearm_period(const Tracker *t) {
        return policy_rearm_period_for(t->policy, cold_age_cycles(t));
}

void tracker_init(Tracker *t, const TrackerEnv *env, const Policy *policy,
                  const TrackerHooks *hooks, void *userdata, const TrackerTarget *target) {
        *t = (Tracker){
                .env = env,
                .policy = policy,
                .hooks = hooks,
                .userdata = userdata,
                .target = *target,
        };
        cold_age_start(t);
}

void tracker_done(Tracker *t) {
        tracker_stop(t);
        run_vec_done(&t->evict_runs);
        arm_levels_done(&t->arm_levels);
        classify_progress_done(&t->scan.progress);
        page_region_vec_done(&t->scan.regions);
        run_vec_done(&t->scan.due);
        run_vec_done(&t->arm_queue);
}

void tracker_set_policy(Tracker *t, const Policy *policy) {
        const Policy *old = t->policy;

        t->policy = policy;
        if (old->cold_age_usec != policy->cold_age_usec ||
            old->refault_target_permyriad != policy->refault_target_permyriad ||
            old->cold_age_min_usec != policy->cold_age_min_usec ||
            old->cold_age_max_usec != policy->cold_age_max_usec ||
            old->interval_usec != policy->interval_usec)
                cold_age_start(t);
}

void tracker_set_cgroup_path(Tracker *t, const char *path) {
        t->target.cgroup_path = path;
}

bool tracker_in_cycle(const Tracker *t) {
        return t->in_cycle;
}

bool tracker_has_work(const Tracker *t) {
        return t->scan.active || t->arm_queue.n_runs > 0;
}

static void work_schedule(Tracker *t) {
        if (t->work_source)
                (void) sd_event_source_set_enabled(t->work_source, SD_EVENT_ONESHOT);
}

void tracker_set_error(Tracker *t, int error, const char *fmt, ...) {
        TrackerCounters *k = &t->counters;
        char buf[sizeof k->last_error_text], text[sizeof k->last_error_text];
        int e = error < 0 ? -error : error;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        if (e != 0)
                snprintf(text, sizeof text, "%.200s: %.50s", buf, strerror(e));
        else
                snprintf(text, sizeof text, "%s", buf);
        /* A range that fails every cycle would say so every cycle: log changes only. */
        if (k->last_error == e && strcmp(k->last_error_text, text) == 0)
                return;
        k->last_error = e;
        memcpy(k->last_error_text, text, sizeof text);
        log_warning("client %" PRIu64 " (pid %d): %s", t->target.id, (int) t->target.pid, text);
}

uint64_t tracker_backend_features(Backend b) {
        switch (b) {
        case BACKEND_RWP:
                /* start in async mode: the first interval records accesses without faults;
                 * WP_ASYNC only to prove at TRACK that the uffd is the peer's (client.c) */
                return UFFD_FEATURE_RWP | UFFD_FEATURE_RWP_ASYNC | UFFD_FEATURE_WP_ASYNC |
                        UFFD_FEATURE_WP_UNPOPULATED;
        case BACKEND_WP_ASYNC:
                return UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
        default:
                return 0;
        }
}

uint64_t tracker_backend_register_mode(Backend b) {
        return b == BACKEND_RWP ? UFFDIO_REGISTER_MODE_RWP : UFFDIO_REGISTER_MODE_WP;
}

static uint64_t seen_mask(Backend b) {
        return b == BACKEND_RWP ? PAGE_IS_ACCESSED : PAGE_IS_WRITTEN;
}

/* ---- arming ---- */

static int arm(Tracker *t, uint64_t start, uint64_t end) {
        const KernelOps *k = t->env->kops;

        if (t->env->backend == BACKEND_RWP)
                return RETRY_EAGAIN(t,
                                    k->rwprotect(t->target.uffd, start, end - start, true, false));
        return RETRY_EAGAIN(t, k->writeprotect(t->target.uffd, start, end - start, true));
}

int tracker_range_added(Tracker *t, uint64_t start, uint64_t end) {
        /* Arming a huge range whole would hold every other client up for as long as the kernel
         * takes (with WP_UNPOPULATED it fills in a marker per page: ~100 ms for 64 GiB here),
         * so past its first window the rest is queued for the work source. Not yet armed pages
         * read as seen (written, accessed): hot, never evicted by mistake. */
        uint64_t sync_end = end;
        int r;

        if (t->work_source && end - start > TRACKER_ARM_SYNC_BYTES)
                sync_end = start + TRACKER_ARM_SYNC_BYTES;
        r = arm(t, start, sync_end);
        if (r < 0)
                return r;
        if (sync_end < end) {
                r = run_vec_append(&t->arm_queue, sync_end, end, 0);
                if (r < 0)
                        return r;
                work_schedule(t);
        }
        t->counters.tracked_bytes = range_set_bytes(t->target.ranges);
        return 0;
}

/* Forget pending evictions in [start, end): the pages were touched, or left. */
static void runs_cut(Tracker *t, uint64_t start, uint64_t end) {
        uint64_t removed;

        (void) run_vec_cut(&t->evict_runs, start, end, &removed);
}

void tracker_range_removed(Tracker *t, uint64_t start, uint64_t end) {
        runs_cut(t, start, end);
        arm_levels_forget(&t->arm_levels, start, end);
        t->counters.tracked_bytes = range_set_bytes(t->target.ranges);
}

/* ---- faults in the sync window (rwp) ---- */

static void record_latency(TrackerCounters *k, uint64_t usec) {
        unsigned b = 0;

        while ((1ULL << b) <= usec && b + 1 < TRACKER_LATENCY_BUCKETS)
                b++;
        k->fault_latency_buckets[b]++;
        k->fault_latency_max_usec = MAX(k->fault_latency_max_usec, usec);
}

uint64_t tracker_fault_latency_p99_usec(const TrackerCounters *k) {
        uint64_t total = 0, acc = 0;

        for (unsigned b = 0; b < TRACKER_LATENCY_BUCKETS; b++)
                total += k->fault_latency_buckets[b];
        if (total == 0)
                return 0;
        for (unsigned b = 0; b < TRACKER_LATENCY_BUCKETS; b++) {
                acc += k->fault_latency_buckets[b];
                if (acc * 100 >= total * 99)
                        return b == 0 ? 1 : (1ULL << b); /* upper bound of the bucket */
        }
        return k->fault_latency_max_usec;
}

/* Resolves the fault at page addr: 0 done, -EAGAIN (an event is pending: try again after the
 * next read), -ESRCH gone, other -errno recorded. */
static int fault_resolve(Tracker *t, uint64_t addr, uint64_t flags, uint64_t since_usec,
                         bool last_try) {
        const KernelOps *k = t->env->kops;
        int r;

        if (t->env->backend == BACKEND_RWP && (flags & UFFD_PAGEFAULT_FLAG_RWP)) {
                /* Resolve at once: unprotecting the page also wakes the blocked thread. */
                r = k->rwprotect(t->target.uffd, addr, page_size(), false, false);
                if (r == -ENOENT) /* unregistered under us (munmap racing): just wake */
                        r = k->wake(t->target.uffd, addr, page_size());
                else if (r == -EAGAIN && last_try)
                        /* Still blocked by a pending event: wake the thread; it refaults and
                         * the kernel delivers a fresh message, so nothing hangs. */
                        r = k->wake(t->target.uffd, addr, page_size());
        } else
                r = k->wake(t->target.uffd, addr, page_size());
        if (r == -EAGAIN || r == -ESRCH)
                return r;
        if (r < 0) {
                /* Whatever went wrong, the faulting thread must not sleep on: wake it (an rwp
                 * page still protected faults again, and the kernel delivers a fresh message). */
                tracker_set_error(t, r, "cannot resolve fault at 0x%" PRIx64 ", waking the thread",
                                  addr);
                if (t->env->backend == BACKEND_RWP && (flags & UFFD_PAGEFAULT_FLAG_RWP) &&
                    k->wake(t->target.uffd, addr, page_size()) == -ESRCH)
                        return -ESRCH;
                return r;
        }

        t->counters.faults_served++;
        if (since_usec > 0)
                record_latency(&t->counters, now_usec() - MIN(since_usec, now_usec()));

        /* The page is hot now, and must not be paged out under the thread that wanted it. */
        (void) classify_cancel(t->target.ranges, &t->evict_runs, addr);
        return 0;
}

int tracker_handle_fault(Tracker *t, const struct uffd_msg *msg) {
        uint64_t addr = ALIGN_DOWN((uint64_t) msg->arg.pagefault.address, (uint64_t) page_size());
        uint64_t loop_now = 0;
        int r;

        (void) sd_event_now(t->env->event, CLOCK_MONOTONIC, &loop_now);
        r = fault_resolve(t, addr, msg->arg.pagefault.flags, loop_now,
                          t->n_deferred >= TRACKER_DEFERRED_FAULTS_MAX);
        if (r != -EAGAIN)
                return r == -ESRCH ? r : 0;
        t->deferred[t->n_deferred++] = (typeof(t->deferred[0])){
                .addr = addr,
                .flags = msg->arg.pagefault.flags,
                .since_usec = loop_now,
        };
        return 0;
}

int tracker_retry_deferred_faults(Tracker *t, bool last_try) {
        size_t kept = 0;

        for (size_t i = 0; i < t->n_deferred; i++) {
                typeof(t->deferred[0]) *d = &t->deferred[i];
                int r = fault_resolve(t, d->addr, d->flags, d->since_usec,
                                      last_try || ++d->tries >= TRACKER_DEFERRED_TRIES);
                if (r == -ESRCH) {
                        t->n_deferred = 0;
                        return r;
                }
                if (r == -EAGAIN)
                        t->deferred[kept++] = *d;
        }
        t->n_deferred = kept;
        return (int) kept;
}

/* ---- one cycle ---- */

static void cycle_schedule_next(Tracker *t) {
        uint64_t next = t->cycle_start_usec + t->policy->interval_usec;

        (void) sd_event_source_set_time(t->cycle_timer, MAX(next, now_usec() + USEC_PER_MSEC));
        (void) sd_event_source_set_enabled(t->cycle_timer, SD_EVENT_ONESHOT);
}

static void memory_reclaim(Tracker *t);

/* rwp: back to async mode, if the window is open. -ESRCH if gone; another failure is recorded
 * and leaves the window open (window_timer tries again). */
static int window_close(Tracker *t) {
        uint64_t now;
        int r;

        if (!t->sync)
                return 0;
        r = RETRY_EAGAIN(t, t->env->kops->set_mode(t->target.uffd, UFFD_FEATURE_RWP_ASYNC, 0));
        if (r == -ESRCH)
                return r;
        if (r < 0) {
                tracker_set_error(t, r, "cannot switch userfaultfd to async mode");
                return 0;
        }
        t->sync = false;
        if (t->window_timer)
                (void) sd_event_source_set_enabled(t->window_timer, SD_EVENT_OFF);
        now = now_usec();
        t->counters.last_sync_window_usec = now - t->window_start_usec;
        t->counters.max_sync_window_usec = MAX(t->counters.max_sync_window_usec,
                                               t->counters.last_sync_window_usec);
        return 0;
}

/* Leave the window: back to async (rwp) and re-arm what is due. Returns -ESRCH if gone. */
static int cycle_finish(Tracker *t) {
        _cleanup_(run_vec_done) RunVec due = {};
        unsigned period = rearm_period(t);
        int r;

        if (t->env->backend == BACKEND_RWP) {
                r = window_close(t);
                if (r == -ESRCH)
                        return r;
                for (size_t i = 0; i < t->target.ranges->n_ranges; i++)
                        (void) arm_schedule_due(&t->arm_levels, &t->target.ranges->ranges[i],
                                                t->cycle, period, &due);
                for (size_t i = 0; i < due.n_runs; i++) {
                        r = arm(t, due.runs[i].start, due.runs[i].end);
                        if (r == -ESRCH)
                                return r;
                        if (r < 0 && r != -ENOENT) /* ENOENT: unmapped meanwhile */
                                tracker_set_error(t, r, "cannot re-arm 0x%" PRIx64 "-0x%" PRIx64,
                                                  due.runs[i].start, due.runs[i].end);
                }
                /* (events read while arming may have changed the ranges: walk them afresh) */
                for (size_t i = 0; i < t->target.ranges->n_ranges; i++)
                        (void) arm_schedule_update(&t->arm_levels, &t->target.ranges->ranges[i],
                                                   &due, t->policy->arm_level_max);
        }
        run_vec_clear(&t->evict_runs);
        if (!t->sync) /* (a window that would not close: at the next cycle's end) */
                memory_reclaim(t);
        t->in_cycle = false;
        t->counters.cycles++;
        t->counters.last_cycle_usec = now_usec() - t->cycle_start_usec;
        cycle_schedule_next(t);
        return 0;
}

static int on_evict_timer(sd_event_source *s, uint64_t usec, void *userdata);

static bool tracker_paused(const Tracker *t) {
        return t->env->paused && *t->env->paused;
}

/* Found gone from a timer: stop here and tell the owner, which queues the teardown. */
static void tracker_gone(Tracker *t) {
        tracker_stop(t);
        t->hooks->gone(t->userdata);
}

static void evict_schedule(Tracker *t, uint64_t delay_usec) {
        (void) sd_event_source_set_time(t->evict_timer, now_usec() + delay_usec);
        (void) sd_event_source_set_enabled(t->evict_timer, SD_EVENT_ONESHOT);
}

/* Drops what a batch consumed from the front of the pending runs. */
static void runs_consume(RunVec *v, const EvictCursor *cursor) {
        size_t k = MIN(cursor->run, v->n_runs);

        memmove(v->runs, v->runs + k, (v->n_runs - k) * sizeof *v->runs);
        v->n_runs -= k;
        if (v->n_runs > 0)
                v->runs[0].start += cursor->offset;
}

/* process_madvise acts on whatever the pidfd's process is now, so first make sure it is still
 * the address space that was handed over (an exec replaces it; the client's own pagemap fd
 * then reads nothing), and make the call with the client's credentials, so that the kernel's
 * ptrace check refuses a process the client could not read itself (an exec of a setuid
 * program between the check and the call). -ESRCH: not the client's memory any more. */
static int evict_with_client_authority(Tracker *t, const struct iovec *iov, size_t n_iov,
                                       uint64_t *ret_done, uint64_t *ret_done_per_iov) {
        _cleanup_(creds_restore) Creds saved = {};
        int r;

        *ret_done = 0;
        memset(ret_done_per_iov, 0, n_iov * sizeof *ret_done_per_iov);
        r = t->env->kops->mm_alive(t->target.pagemap_fd);
        if (r == 0) {
                log_info("client %" PRIu64
                         " (pid %d): its address space is gone (exec or exit), no more eviction",
                         t->target.id, (int) t->target.pid);
                return -ESRCH;
        }
        if (r < 0)
                return r;
        r = creds_assume(t->target.uid, t->target.gid, &saved);
        if (r < 0)
                return log_error_errno(r,
                                       "client %" PRIu64
                                       ": cannot take the client's credentials, not evicting: %m",
                                       t->target.id);
        r = evict_pageout(t->env->kops, t->target.pidfd, iov, n_iov, ret_done, ret_done_per_iov);
        /* EACCES: the ptrace check (mm_access) refused; EPERM: a capability check */
        if ((r == -EPERM || r == -EACCES) && t->target.uid != 0) {
                log_notice(
                        "client %" PRIu64
                        " (pid %d): the kernel refuses its uid %u access to the process now (a setuid exec?), dropping it",
                        t->target.id, (int) t->target.pid, (unsigned) t->target.uid);
                return -ESRCH;
        }
        return r;
}

/* The pace's pressure sample (pace.h): the system's PSI, since the CPU eviction takes is the
 * whole machine's and one thread pages out for every client. */
static void pace_read_pressure(Tracker *t, uint64_t now) {
        uint64_t stall[_PACE_SOURCE_MAX] = { PACE_STALL_UNKNOWN, PACE_STALL_UNKNOWN };
        PsiStats psi;

        if (!pace_sample_due(t->env->evict_pace, now))
                return;
        if (psi_read_system(t->env->proc_root, &psi) >= 0)
                stall[PACE_SOURCE_MEMORY] = psi.some.total_usec;
        if (psi_read_system_cpu(t->env->proc_root, &psi) >= 0)
                stall[PACE_SOURCE_CPU] = psi.some.total_usec;
        pace_sample(t->env->evict_pace, now, stall);
}

/* One bounded batch of MADV_PAGEOUT, then back to the event loop so faults and other clients
 * are served between batches. Returns 1 when more is left, 0 when done, -ESRCH if gone. */
static int evict_step(Tracker *t) {
        struct iovec iov[EVICT_IOV_MAX_DEFAULT];
        uint64_t done_per_iov[EVICT_IOV_MAX_DEFAULT];
        EvictCursor cursor = {};
        uint64_t budget, chunk, batch_bytes = 0, done = 0, now = now_usec();
        size_t n_iov = 0, max_iov;
        int r;

        if (t->evict_runs.n_runs == 0)
                return 0;
        if (tracker_paused(t)) {
                /* paused meanwhile: drop the rest of this cycle's list */
                run_vec_clear(&t->evict_runs);
                return 0;
        }
        /* The batch's size adapts to what a batch costs here (slice_adapt): a page-out of
         * scattered pages, each its own iovec, cost up to 2 ms a page on this VM with a busy swap
         * file, so 64 of them held the loop for 140 ms. Never below a huge page in front. */
        chunk = ALIGN_DOWN(t->policy->evict_chunk_bytes, (uint64_t) page_size());
        if (t->evict_batch_bytes == 0)
                t->evict_batch_bytes = TRACKER_EVICT_FIRST_BATCH_BYTES;
        budget = MIN(t->evict_batch_bytes, chunk);
        if ((t->evict_runs.runs[0].flags & ADDR_RUN_HUGE) && chunk >= EVICT_HUGE_BYTES)
                budget = MAX(budget, EVICT_HUGE_BYTES);
        max_iov = (size_t) MIN((uint64_t) ELEMENTSOF(iov), MAX(budget / page_size(), UINT64_C(1)));
        if (t->env->evict_pace) {
                uint64_t wait;

                pace_read_pressure(t, now);
                wait = pace_delay_usec(t->env->evict_pace, now);
                if (wait > 0) {
                        t->counters.evict_paced_usec += wait;
                        evict_schedule(t, wait);
                        return 1;
                }
        }
        if (t->policy->rate_bytes_per_sec > 0) {
                budget = ALIGN_DOWN(ratelimit_take(t->env->evict_rate, now, budget),
                                    (uint64_t) page_size());
                if (budget == 0) {
                        evict_schedule(
                                t,
                                MAX(ratelimit_delay_usec(t->env->evict_rate, now, page_size()),
                                    USEC_PER_MSEC));
                        return 1;
                }
        }
        r = evict_build_batch(t->evict_runs.runs, t->evict_runs.n_runs, &cursor, budget, iov,
                              max_iov, &batch_bytes);
        if (r >= 0)
                n_iov = (size_t) r;
        if (r < 0 || n_iov == 0) {
                /* a huge run larger than the budget: wait for more tokens */
                if (t->policy->rate_bytes_per_sec > 0)
                        ratelimit_refund(t->env->evict_rate, budget);
                if (r >= 0 && t->evict_runs.n_runs > 0 && budget < t->policy->evict_chunk_bytes) {
                        evict_schedule(
                                t,
                                MAX(ratelimit_delay_usec(t->env->evict_rate, now, EVICT_HUGE_BYTES),
                                    USEC_PER_MSEC));
                        return 1;
                }
                return 0;
        }
        r = evict_with_client_authority(t, iov, n_iov, &done, done_per_iov);
        if (t->env->evict_pace)
                pace_batch_done(t->env->evict_pace, now, now_usec() - now);
        if (now_usec() - now > 4 * TRACKER_SLICE_USEC)
                log_debug("client %" PRIu64 ": MADV_PAGEOUT of %zu iovecs, %" PRIu64
                          " bytes took %" PRIu64 " µs",
                          t->target.id, n_iov, batch_bytes, now_usec() - now);
        t->evict_batch_bytes = slice_adapt(budget, now_usec() - now, TRACKER_SLICE_USEC,
                                           page_size(), chunk);
        if (t->policy->rate_bytes_per_sec > 0 && budget > done)
                ratelimit_refund(t->env->evict_rate, budget - done);
        /* pages advised are gone to swap even if a later iovec failed: mark exactly those */
        for (size_t i = 0; i < n_iov; i++)
                if (done_per_iov[i] > 0) {
                        uint64_t a = (uint64_t) iov[i].iov_base;
                        (void) classify_mark_evicted(t->target.ranges, a, a + done_per_iov[i]);
                }
        t->counters.evicted_bytes += done;
        t->reclaim_pending_bytes += done;
        if (done > 0 && t->hooks->evicted)
                t->hooks->evicted(t->userdata, done);
        if (r == -ESRCH)
                return r;
        if (r < 0) {
                tracker_set_error(t, r, "MADV_PAGEOUT failed");
                return 0;
        }
        runs_consume(&t->evict_runs, &cursor);
        return t->evict_runs.n_runs > 0 ? 1 : 0;
}

/* The daemon's own CPU time: a turn that took long on the clock but not on the CPU was the
 * scheduler's (other jobs on the machine), not ours. */
static uint64_t thread_cpu_usec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void slice_account(Tracker *t, uint64_t start_usec, uint64_t start_cpu_usec,
                          const char *what) {
        uint64_t took = now_usec() - start_usec;

        t->counters.max_slice_usec = MAX(t->counters.max_slice_usec, took);
        if (took > 4 * TRACKER_SLICE_USEC)
                log_debug("client %" PRIu64 ": %s took %" PRIu64
                          " µs in one event-loop turn (%" PRIu64 " µs on the CPU)",
                          t->target.id, what, took, thread_cpu_usec() - start_cpu_usec);
}

static int on_evict_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Tracker *t = userdata;
        uint64_t start = now_usec(), start_cpu = thread_cpu_usec();
        int r;

        r = evict_step(t);
        slice_account(t, start, start_cpu, "an eviction batch");
        if (r > 0) {
                if (sd_event_source_get_enabled(t->evict_timer, NULL) <= 0)
                        evict_schedule(t, 0);
                return 0;
        }
        if (r == 0)
                r = cycle_finish(t);
        if (r == -ESRCH) {
                log_info("client %" PRIu64 " (pid %d): gone during eviction", t->target.id,
                         (int) t->target.pid);
                tracker_gone(t);
        }
        return 0;
}

/* The floor: keep at least policy.floor_bytes resident, by evicting less (from the end). */
static void runs_trim_to(RunVec *v, uint64_t max_bytes) {
        uint64_t total = run_vec_bytes(v);

        while (v->n_runs > 0 && total > max_bytes) {
                AddrRun *last = &v->runs[v->n_runs - 1];
                uint64_t len = last->end - last->start, excess = total - max_bytes;
                uint64_t unit = (last->flags & ADDR_RUN_HUGE) ? EVICT_HUGE_BYTES : page_size();

                if (len <= excess) {
                        v->n_runs--;
                        total -= len;
                } else {
                        uint64_t cut = ALIGN_UP(excess, unit);
                        if (cut >= len) {
                                v->n_runs--;
                                total -= len;
                        } else {
                                last->end -= cut;
                                total -= cut;
                        }
                }
        }
}

static const char *const psi_source_names[_TRACKER_PSI_MAX] = {
        [TRACKER_PSI_NONE] = "none",
        [TRACKER_PSI_CGROUP] = "cgroup",
        [TRACKER_PSI_SYSTEM] = "system",
        [TRACKER_PSI_UNAVAILABLE] = "unavailable",
};

const char *tracker_psi_source_to_string(TrackerPsiSource s) {
        return s >= 0 && s < _TRACKER_PSI_MAX ? psi_source_names[s] : "?";
}

/* The client's cgroup-v2 memory.pressure where it has one; on a cgroup-v1 host (or a cgroup
 * without PSI) the system's, and the counters say which. */
static bool psi_over_limit(Tracker *t) {
        PsiStats psi;
        int r = -ENOENT;

        if (t->policy->psi_limit_permyriad >= 10000)
                return false;
        if (t->target.cgroup_path)
                r = psi_read_cgroup(t->env->cgroup_root, t->target.cgroup_path, &psi);
        t->counters.psi_source = TRACKER_PSI_CGROUP;
        if (r < 0) {
                r = psi_read_system(t->env->proc_root, &psi);
                t->counters.psi_source = TRACKER_PSI_SYSTEM;
        }
        if (r < 0) {
                t->counters.psi_source = TRACKER_PSI_UNAVAILABLE;
                return false;
        }
        return psi.some.avg10_permyriad > t->policy->psi_limit_permyriad;
}

/* Memory that left RAM: what we paged out and is still in swap, less what the swap cache
 * holds. The swap cache figure is the client's cgroup's (v2, v1) or, where nothing finer exists,
 * the whole system's, which makes the figure a lower bound; so does a cgroup shared with other
 * processes (memory_shared says so). */
static void memory_account(Tracker *t, const MemcgStat *st) {
        uint64_t out = t->counters.out_bytes;
        uint64_t cached = st->swapcached_known ? MIN(st->swapcached_bytes, out) : out;

        t->counters.memory_source = st->source;
        t->counters.memory_shared = st->shared;
        t->counters.memcg_usage_bytes = st->usage_known ? st->usage_bytes : 0;
        t->counters.swapcached_bytes = st->swapcached_known ? st->swapcached_bytes : 0;
        t->counters.freed_bytes = out - cached;
}

/* After a scan: out_bytes as the scan found it, the cgroup as it is now. */
static void memory_read(Tracker *t, uint64_t out_bytes) {
        MemcgStat st;

        t->counters.out_bytes = out_bytes;
        if (memcg_read(t->env->proc_root, t->env->cgroup_root, t->target.pid, t->target.pidfd,
                       &st) < 0) {
                t->counters.memory_source = MEMCG_SOURCE_NONE;
                t->counters.memory_shared = false;
                t->counters.freed_bytes = 0;
                return;
        }
        memory_account(t, &st);
}

/* Right after the cycle's last eviction batch, outside the rwp sync window (a reclaim can take
 * long, and no fault may wait on it): on cgroup v2, ask memory.reclaim for what this cycle paged
 * out, bounded by what the cgroup's swap cache holds (written-back swap-cache pages sit at the
 * tail of the inactive list and go first). What counts as reclaimed is what left the swap cache
 * between a reading before and one after (a partial reclaim is partial), never more than was
 * asked; freed_bytes is then recomputed from the reading after (against out_bytes as the scan
 * found it: this cycle's page-outs count from the next scan on, so freed never exceeds out). */
static void memory_reclaim(Tracker *t) {
        uint64_t pending = t->reclaim_pending_bytes, want, left;
        MemcgStat before, after;
        int r;

        t->reclaim_pending_bytes = 0;
        if (pending == 0)
                return;
        if (memcg_read(t->env->proc_root, t->env->cgroup_root, t->target.pid, t->target.pidfd,
                       &before) < 0)
                return;
        memory_account(t, &before);
        if (!t->env->reclaim || before.source != MEMCG_SOURCE_V2 || !before.swapcached_known ||
            before.swapcached_is_system || before.swapcached_bytes == 0)
                return;
        want = MIN(pending, before.swapcached_bytes);
        r = memcg_reclaim(t->env->cgroup_root, before.path, want);
        if (r < 0 && r != -EAGAIN) {
                tracker_set_error(t, r, "memory.reclaim of %" PRIu64 " bytes in %s failed", want,
                                  before.path);
                return;
        }
        if (memcg_read(t->env->proc_root, t->env->cgroup_root, t->target.pid, t->target.pidfd,
                       &after) < 0 ||
            after.source != MEMCG_SOURCE_V2 || !streq(after.path, before.path) ||
            !after.swapcached_known)
                return;
        left = before.swapcached_bytes > after.swapcached_bytes
                ? before.swapcached_bytes - after.swapcached_bytes
                : 0;
        t->counters.reclaimed_bytes += MIN(left, want);
        memory_account(t, &after);
}

/* Scan the window [start, end) of range for the backend into `out` (sorted regions with the
 * backend's categories); for wp-async also re-protect the written pages of the window's chunks
 * due this cycle, listing them in *due. */
static int scan_window(Tracker *t, const TrackedRange *range, uint64_t start, uint64_t end,
                       PageRegionVec *out, RunVec *due) {
        TrackedRange view;
        int r;

        if (t->env->backend == BACKEND_RWP)
                return pagemap_scan_range(t->env->kops, t->target.pagemap_fd, start, end, 0, 0,
                                          PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_ACCESSED,
                                          PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_ACCESSED |
                                                  PAGE_IS_HUGE,
                                          0, out);

        /* wp-async: first the whole picture, with WRITTEN wherever the page was written since it
         * was last protected; then re-protect the written pages of the chunks due this cycle in
         * one atomic pass (PM_SCAN_WP_MATCHING), adding what was written in between. */
        r = pagemap_scan_range(t->env->kops, t->target.pagemap_fd, start, end, 0, 0,
                               PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
                               PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_WRITTEN | PAGE_IS_HUGE,
                               0, out);
        if (r < 0)
                return r;
        run_vec_clear(due);
        /* the schedule of the window alone: classify_due_runs() reads only the bounds */
        view = *range;
        view.start = start;
        view.end = end;
        r = arm_schedule_due(&t->arm_levels, &view, t->cycle, rearm_period(t), due);
        if (r < 0)
                return r;
        for (size_t i = 0; i < due->n_runs; i++) {
                _cleanup_(page_region_vec_done) PageRegionVec written = {};
                /* No EAGAIN retry here: reading uffd events could change the range set
                 * under the caller, and PAGEMAP_SCAN does not wait for pending events. */
                r = pagemap_scan_range(t->env->kops, t->target.pagemap_fd, due->runs[i].start,
                                       due->runs[i].end,
                                       PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, PAGE_IS_WRITTEN,
                                       0, PAGE_IS_WRITTEN, 0, &written);
                if (r < 0)
                        return r;
                r = page_region_vec_overlay(out, &written, PAGE_IS_WRITTEN | PAGE_IS_PRESENT);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Opens a cycle: counts it, resets the scan, opens the sync window (rwp). Returns 1 when the
 * scan is to run, 0 when there is nothing to do (a cycle under way, or the window could not be
 * opened: recorded, next cycle scheduled), -ESRCH. */
static int cycle_begin(Tracker *t) {
        int r;

        if (t->in_cycle)
                return 0;
        t->cycle++;
        t->scan.params = (ClassifyParams){
                .cycle = t->cycle,
                .cold_age_cycles = cold_age_cycles(t),
                .seen_mask = seen_mask(t->env->backend),
                .rearm_period = rearm_period(t),
        };
        t->scan.res = (ClassifyResult){};
        t->scan.cursor = 0;
        t->scan.slices = 0;
        classify_progress_done(&t->scan.progress);
        t->cycle_start_usec = now_usec();
        t->in_cycle = true;
        run_vec_clear(&t->evict_runs);

        if (t->env->backend == BACKEND_RWP && !t->target.no_sync_window) {
                r = RETRY_EAGAIN(t,
                                 t->env->kops->set_mode(t->target.uffd, 0, UFFD_FEATURE_RWP_ASYNC));
                if (r == -ESRCH)
                        return r;
                if (r < 0) {
                        tracker_set_error(t, r, "cannot switch userfaultfd to sync mode");
                        t->in_cycle = false;
                        cycle_schedule_next(t);
                        return 0;
                }
                t->sync = true;
                t->window_start_usec = now_usec();
                t->window_cut = false;
                if (t->window_timer && t->env->sync_window_max_usec > 0) {
                        (void) sd_event_source_set_time(t->window_timer,
                                                        t->window_start_usec +
                                                                t->env->sync_window_max_usec);
                        (void) sd_event_source_set_enabled(t->window_timer, SD_EVENT_ONESHOT);
                }
        }
        t->scan.active = true;
        return 1;
}

/* A range that cannot be scanned or classified this cycle: on to the next one. */
static void scan_skip_range(Tracker *t, const TrackedRange *range) {
        t->scan.cursor = range->end;
        classify_progress_done(&t->scan.progress);
}

/* Scans and classifies window after window from the cursor until the budget is spent. Between
 * two calls the client's events may have changed the ranges: the cursor is an address, and
 * a range whose bounds changed is walked afresh from the cursor (classify.h). Returns 1 when
 * more is left, 0 when the scan is over, -ESRCH when the process is gone. */
static int scan_step(Tracker *t, SliceBudget *b) {
        t->scan.slices++;
        for (;;) {
                SliceWindow w;
                TrackedRange *range;
                int r;

                if (slice_budget_spent(b, now_usec()))
                        return 1;
                r = slice_next_window(t->target.ranges, t->scan.cursor, TRACKER_WINDOW_BYTES, &w);
                if (r <= 0) {
                        classify_progress_done(&t->scan.progress);
                        return 0;
                }
                range = &t->target.ranges->ranges[w.index];
                if (!classify_progress_matches(&t->scan.progress, range, w.start)) {
                        r = classify_progress_begin(&t->scan.progress, range, w.start);
                        if (r < 0) {
                                scan_skip_range(t, range);
                                continue;
                        }
                }

                page_region_vec_clear(&t->scan.regions);
                r = scan_window(t, range, w.start, w.end, &t->scan.regions, &t->scan.due);
                if (r == -ESRCH)
                        return r;
                if (r < 0) {
                        tracker_set_error(t, r,
                                          "PAGEMAP_SCAN of 0x%" PRIx64 "-0x%" PRIx64 " failed",
                                          range->start, range->end);
                        scan_skip_range(t, range);
                        continue;
                }
                r = classify_range_step(range, w.end, t->scan.regions.regions, t->scan.regions.n,
                                        &t->scan.params, &t->scan.progress, &t->scan.res,
                                        &t->evict_runs);
                if (r < 0) {
                        tracker_set_error(t, r, "classifying 0x%" PRIx64 "-0x%" PRIx64 " failed",
                                          range->start, range->end);
                        scan_skip_range(t, range);
                        continue;
                }
                /* wp-async armed the due chunks in the scan: they climb or fall now (rwp arms
                 * them when the window closes, cycle_finish) */
                if (t->env->backend == BACKEND_WP_ASYNC) {
                        TrackedRange buf;
                        (void) arm_schedule_update(
                                &t->arm_levels,
                                classify_progress_view(&t->scan.progress, range, &buf),
                                &t->scan.due, t->policy->arm_level_max);
                }
                slice_budget_take(b, (w.end - w.start) >> range->page_shift);
                t->scan.cursor = w.end;
                if (w.end == range->end) {
                        r = classify_range_finish(range, &t->scan.progress);
                        if (r < 0)
                                tracker_set_error(t, r,
                                                  "classifying 0x%" PRIx64 "-0x%" PRIx64 " failed",
                                                  range->start, range->end);
                }
        }
}

/* The refault target (coldage.h): the cycle's refaults against the working set, what stays
 * resident. Takes effect from the next cycle. */
static void cold_age_tune(Tracker *t, const ClassifyResult *res) {
        char a[FORMAT_DURATION_MAX], b[FORMAT_DURATION_MAX];
        uint64_t before = t->cold_age.cold_age_usec;
        ColdAgeBounds bounds;

        cold_age_bounds(t->policy, &bounds);
        if (coldage_cycle(&t->cold_age, &bounds, now_usec(), res->refaulted_bytes,
                          res->resident_bytes) > 0)
                log_info("client %" PRIu64 " (pid %d): refaults at %" PRIu64 ".%04" PRIu64
                         " %% of the working set per minute (target %u.%02u %%): cold age %s -> %s",
                         t->target.id, (int) t->target.pid, t->cold_age.rate_ppm / 10000,
                         t->cold_age.rate_ppm % 10000, t->policy->refault_target_permyriad / 100,
                         t->policy->refault_target_permyriad % 100,
                         format_duration(a, sizeof a, before),
                         format_duration(b, sizeof b, t->cold_age.cold_age_usec));
        t->counters.cold_age_usec = t->cold_age.cold_age_usec;
        t->counters.refault_rate_ppm = t->cold_age.rate_ppm;
}

/* The scan is over: the cycle's figures, then eviction (in batches from its timer) or the end
 * of the cycle. -ESRCH when the process is gone. */
static int scan_done(Tracker *t) {
        const ClassifyResult *res = &t->scan.res;
        bool evict;

        t->scan.active = false;
        t->counters.last_cycle_slices = t->scan.slices;
        t->counters.tracked_bytes = res->tracked_bytes;
        t->counters.resident_bytes = res->resident_bytes;
        t->counters.swapped_bytes = res->swapped_bytes;
        memory_read(t, res->out_bytes);
        t->counters.hot_bytes = res->hot_bytes;
        t->counters.cold_bytes = res->cold_bytes;
        t->counters.huge_bytes = res->huge_bytes;
        t->counters.refaulted_bytes += res->refaulted_bytes;
        memcpy(t->counters.wss_bytes, res->wss_bytes, sizeof res->wss_bytes);
        memcpy(t->counters.age_histogram_bytes, res->age_histogram_bytes,
               sizeof res->age_histogram_bytes);
        cold_age_tune(t, res);

        evict = !t->env->monitor_only && !t->policy->dry_run && !tracker_paused(t) &&
                !t->window_cut && t->evict_runs.n_runs > 0;
        if (evict && t->evict_now_bytes > 0) {
                /* asked for explicitly (tracker_evict_now): no pressure back-off, the cap */
                runs_trim_to(&t->evict_runs, t->evict_now_bytes);
                t->evict_now_bytes = 0;
        } else if (evict && psi_over_limit(t)) {
                if (!t->psi_backing_off)
                        log_notice(
                                "client %" PRIu64
                                " (pid %d): memory pressure above %u.%02u%%, not evicting until it drops",
                                t->target.id, (int) t->target.pid,
                                t->policy->psi_limit_permyriad / 100,
                                t->policy->psi_limit_permyriad % 100);
                t->psi_backing_off = true;
                t->counters.evictions_skipped_psi++;
                evict = false;
        } else if (evict && t->psi_backing_off) {
                log_notice("client %" PRIu64
                           ": memory pressure back under the limit, evicting again",
                           t->target.id);
                t->psi_backing_off = false;
        }
        if (evict && t->policy->floor_bytes > 0)
                runs_trim_to(&t->evict_runs,
                             res->resident_bytes > t->policy->floor_bytes
                                     ? res->resident_bytes - t->policy->floor_bytes
                                     : 0);
        if (!evict || t->evict_runs.n_runs == 0)
                return cycle_finish(t);

        log_debug("client %" PRIu64 ": cycle %" PRIu64 ": evicting %" PRIu64
                  " KiB (scan in %u turns)",
                  t->target.id, t->cycle, run_vec_bytes(&t->evict_runs) / 1024, t->scan.slices);
        evict_schedule(t, 0);
        return 0;
}

/* A whole cycle's scan in this call: tracker_cycle_now(), tracker_evict_now(). */
static int cycle_run(Tracker *t) {
        SliceBudget unlimited = slice_budget_make(0, 0, 0);
        int r;

        r = cycle_begin(t);
        if (r <= 0)
                return r;
        r = scan_step(t, &unlimited);
        if (r < 0)
                return r;
        return scan_done(t);
}

/* Queued arming (tracker_range_added) in pieces until the budget is spent.
 * Returns -ESRCH when the process is gone. */
static int arm_step(Tracker *t, SliceBudget *b) {
        while (t->arm_queue.n_runs > 0 && !slice_budget_spent(b, now_usec())) {
                AddrRun a;
                int r;

                if (slice_take_front(&t->arm_queue, TRACKER_ARM_PIECE_BYTES, page_size(), &a) <= 0)
                        break;
                /* may read events (EAGAIN), which may change the ranges: nothing is held */
                r = arm(t, a.start, a.end);
                if (r == -ESRCH)
                        return r;
                /* ENOENT: unmapped or untracked meanwhile, nothing left to arm */
                if (r < 0 && r != -ENOENT)
                        tracker_set_error(t, r, "cannot arm 0x%" PRIx64 "-0x%" PRIx64, a.start,
                                          a.end);
                slice_budget_take(b, (a.end - a.start) / page_size());
        }
        return 0;
}

/* One turn of work: queued arming first (cheap and makes pages trackable), then the scan. */
static int on_work(sd_event_source *s, void *userdata) {
        Tracker *t = userdata;
        uint64_t start = now_usec(), start_cpu = thread_cpu_usec();
        SliceBudget b = slice_budget_make(start, TRACKER_SLICE_USEC, TRACKER_SLICE_PAGES);
        int r;

        r = arm_step(t, &b);
        if (r >= 0 && t->scan.active && !slice_budget_spent(&b, now_usec())) {
                r = scan_step(t, &b);
                if (r == 0)
                        r = scan_done(t);
        }
        slice_account(t, start, start_cpu,
                      t->scan.active ? "a slice of the scan" : "arming or the scan's end");
        if (r == -ESRCH) {
                log_info("client %" PRIu64 " (pid %d): gone during a cycle", t->target.id,
                         (int) t->target.pid);
                tracker_gone(t);
                return 0;
        }
        if (tracker_has_work(t))
                work_schedule(t);
        return 0;
}

/* The sync window has been open sync_window_max_usec: close it now, at the priority of the uffd
 * sources, whatever the scan or the eviction still had to do. The cycle goes on without
 * evicting (an access in async mode would not cancel a page's eviction). */
static int on_window_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Tracker *t = userdata;
        int r;

        if (!t->sync)
                return 0;
        r = window_close(t);
        if (r == -ESRCH) {
                tracker_gone(t);
                return 0;
        }
        if (t->sync) { /* could not switch: try again soon */
                (void) sd_event_source_set_time(s, now_usec() + TRACKER_WINDOW_RETRY_USEC);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        t->counters.sync_windows_cut++;
        t->window_cut = true;
        log_full(t->counters.sync_windows_cut <= 3 ? LOG_NOTICE : LOG_DEBUG,
                 "client %" PRIu64 " (pid %d): sync window closed after %" PRIu64
                 " ms (sync_window_max), %" PRIu64 " KiB of this cycle's evictions dropped",
                 t->target.id, (int) t->target.pid, t->counters.last_sync_window_usec / 1000,
                 run_vec_bytes(&t->evict_runs) / 1024);
        run_vec_clear(&t->evict_runs);
        if (t->in_cycle && !t->scan.active) { /* eviction under way: the cycle ends here */
                (void) sd_event_source_set_enabled(t->evict_timer, SD_EVENT_OFF);
                if (cycle_finish(t) == -ESRCH)
                        tracker_gone(t);
        }
        return 0;
}

static int on_cycle_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Tracker *t = userdata;
        int r;

        /* the scan runs from the work source, a slice per turn */
        r = cycle_begin(t);
        if (r == -ESRCH) {
                log_info("client %" PRIu64 " (pid %d): gone during a cycle", t->target.id,
                         (int) t->target.pid);
                tracker_gone(t);
        } else if (r > 0)
                work_schedule(t);
        return 0;
}

int tracker_cycle_now(Tracker *t) {
        return cycle_run(t);
}

int tracker_evict_now(Tracker *t, uint64_t max_bytes, uint64_t *ret_queued) {
        int r;

        if (t->stopped || !t->cycle_timer || t->env->monitor_only || t->policy->dry_run ||
            tracker_paused(t))
                return -EOPNOTSUPP;
        if (t->in_cycle)
                return -EBUSY;
        t->evict_now_bytes = max_bytes > 0 ? max_bytes : UINT64_MAX;
        r = cycle_run(t);
        t->evict_now_bytes = 0;
        if (r == -ESRCH) {
                log_info("client %" PRIu64 " (pid %d): gone during a cycle", t->target.id,
                         (int) t->target.pid);
                tracker_gone(t);
                return r;
        }
        if (r < 0)
                return r;
        *ret_queued = run_vec_bytes(&t->evict_runs);
        return 0;
}

int tracker_start(Tracker *t) {
        int r;

        t->stopped = false;
        if (t->env->backend == BACKEND_NONE)
                return 0; /* nothing to drive; status says so */
        /* Accuracy 0 would mean sd-event's default of 250 ms: far too coarse for the cycle and
         * for rate-limited eviction batches (it once held eviction to a third of its rate). */
        r = sd_event_add_time(t->env->event, &t->cycle_timer, CLOCK_MONOTONIC,
                              now_usec() + t->policy->interval_usec, TRACKER_CYCLE_ACCURACY_USEC,
                              on_cycle_timer, t);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(t->cycle_timer, "tracker-cycle");
        r = sd_event_add_time(t->env->event, &t->evict_timer, CLOCK_MONOTONIC, 0,
                              TRACKER_EVICT_ACCURACY_USEC, on_evict_timer, t);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(t->evict_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(t->evict_timer, "tracker-evict");
        if (t->env->backend == BACKEND_RWP) {
                r = sd_event_add_time(t->env->event, &t->window_timer, CLOCK_MONOTONIC, 0,
                                      TRACKER_CYCLE_ACCURACY_USEC, on_window_timer, t);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_enabled(t->window_timer, SD_EVENT_OFF);
                (void) sd_event_source_set_description(t->window_timer, "tracker-window");
                /* with the uffd sources: above requests, scans and evictions */
                (void) sd_event_source_set_priority(t->window_timer, SD_EVENT_PRIORITY_IMPORTANT);
        }
        /* below the uffd sources, so a blocked fault never waits behind a batch */
        (void) sd_event_source_set_priority(t->evict_timer, SD_EVENT_PRIORITY_NORMAL + 10);
        /* the slices of scan and arming: below the uffd sources and the requests too */
        r = sd_event_add_defer(t->env->event, &t->work_source, on_work, t);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(t->work_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(t->work_source, "tracker-work");
        (void) sd_event_source_set_priority(t->work_source, SD_EVENT_PRIORITY_NORMAL + 10);
        t->cycle_start_usec = now_usec();
        return 0;
}

void tracker_stop(Tracker *t) {
        t->stopped = true;
        t->cycle_timer = sd_event_source_disable_unref(t->cycle_timer);
        t->evict_timer = sd_event_source_disable_unref(t->evict_timer);
        t->window_timer = sd_event_source_disable_unref(t->window_timer);
        t->work_source = sd_event_source_disable_unref(t->work_source);
}
