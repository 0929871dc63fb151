/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The tracking engine: one cycle per client per scan interval.
 *
 *   rwp:      [async, armed] --interval--> SET_MODE(sync) -> PAGEMAP_SCAN(ACCESSED) -> age ->
 *             evict cold pages in chunks while faults are served -> SET_MODE(async) -> re-arm
 *             the chunks due this cycle (UFFDIO_RWPROTECT).
 *   wp-async: --interval--> PAGEMAP_SCAN (PRESENT/SWAPPED/WRITTEN) -> re-arm the chunks due
 *             (PAGEMAP_SCAN with PM_SCAN_WP_MATCHING) -> age -> evict cold pages in chunks.
 *             No sync window: writes are seen directly, reads only as refaults.
 *
 * Ages and classification are pure (classify.h); the kernel calls go through KernelOps so unit
 * tests can inject errors the kernel can't produce on demand. docs/DESIGN.md has the why. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "arm-schedule.h"
#include "classify.h"
#include "coldage.h"
#include "evict.h"
#include "ratelimit.h"
#include "macro.h"
#include "pace.h"
#include "memcg.h"
#include "policy.h"
#include "backend.h"
#include "pagemap.h"
#include "rangeset.h"
#include "slice.h"
#include "uapi.h"
#include "uffd.h"

#define TRACKER_LATENCY_BUCKETS 32 /* log2(µs) buckets for the fault-service latency */

typedef enum TrackerPsiSource {
        TRACKER_PSI_NONE, /* not read (no eviction yet, or the limit is off) */
        TRACKER_PSI_CGROUP, /* the client's cgroup-v2 memory.pressure */
        TRACKER_PSI_SYSTEM, /* /proc/pressure/memory: the cgroup has none (v1 hosts) */
        TRACKER_PSI_UNAVAILABLE,
        _TRACKER_PSI_MAX,
} TrackerPsiSource;

const char *tracker_psi_source_to_string(TrackerPsiSource s);

typedef struct TrackerCounters {
        /* as of the last cycle */
        uint64_t tracked_bytes;
        uint64_t resident_bytes;
        uint64_t swapped_bytes;
        uint64_t out_bytes; /* paged out by us and still in swap */
        /* What really left RAM: out_bytes less what the swap cache still holds (memory_source
         * says where that figure came from; on a host with plain swap and no pressure it is
         * about 0, see swap-setup.h). */
        uint64_t freed_bytes;
        MemcgSource memory_source;
        bool memory_shared; /* the source counts other processes too (MemcgStat.shared) */
        uint64_t memcg_usage_bytes; /* the client's memory cgroup, when it has one */
        uint64_t swapcached_bytes; /* the cgroup's, or the system's (memory_source) */
        uint64_t reclaimed_bytes; /* left the swap cache on our memory.reclaim, cumulative */
        TrackerPsiSource psi_source; /* where the last pressure reading came from */
        uint64_t hot_bytes;
        uint64_t cold_bytes;
        uint64_t huge_bytes;
        uint64_t wss_bytes[CLASSIFY_N_BUCKETS];
        uint64_t age_histogram_bytes[CLASSIFY_N_BUCKETS];
        /* cumulative */
        uint64_t evicted_bytes;
        uint64_t refaulted_bytes;
        uint64_t faults_served;
        uint64_t cycles;
        uint64_t evictions_skipped_psi;
        uint64_t evict_paced_usec; /* its batches waited this long for the pace (pace.h) */
        uint64_t cold_age_usec; /* in force: the policy's, or as tuned (coldage.h) */
        uint64_t refault_rate_ppm; /* the last tuning period's, per million of the working set
                                    * per minute; 0 while the cold age is fixed */
        /* durations */
        uint64_t last_cycle_usec; /* scan to the end of eviction */
        uint64_t last_cycle_slices; /* event-loop turns the last cycle's scan took */
        uint64_t max_slice_usec; /* the longest event-loop turn of its work (a slice of scan
                                        * or arming, an eviction batch), ever */
        uint64_t last_sync_window_usec;
        uint64_t max_sync_window_usec;
        uint64_t sync_windows_cut; /* closed by sync_window_max_usec, cumulative */
        uint64_t fault_latency_max_usec;
        uint64_t fault_latency_buckets[TRACKER_LATENCY_BUCKETS];
        int last_error;
        char last_error_text[256];
} TrackerCounters;

/* What every tracker shares, owned by the Manager and outliving every tracker. */
typedef struct TrackerEnv {
        sd_event *event;
        const KernelOps *kops;
        Backend backend;
        bool monitor_only; /* no swap: classify, never evict */
        bool reclaim; /* after a page-out, reclaim it from a cgroup-v2 client's cgroup */
        RateLimit *evict_rate; /* all clients share the eviction bandwidth */
        Pace *evict_pace; /* and the pace (pace.h): one thread pages out for all */
        const char *proc_root; /* for the system's PSI */
        const char *cgroup_root;
        const bool *paused; /* the owner's switch: while true nothing is evicted; may be NULL */
        /* rwp: the longest a sync window may stay open, whatever else the loop has to do (a
         * flood of requests, a slow eviction): then it is closed and the cycle's remaining
         * evictions dropped. 0: unbounded. */
        uint64_t sync_window_max_usec;
} TrackerEnv;

/* News for the tracker's owner (the Client). The tracker never frees anything above it. */
typedef struct TrackerHooks {
        /* Read and apply the uffd's pending events, then return: called when a kernel call says
         * EAGAIN (an event is pending) outside the owner's own event reader. -ESRCH: gone. */
        int (*read_events)(void *userdata);
        /* A timer-driven cycle or eviction found the process gone. The owner queues its
         * teardown; the tracker does nothing more until it is stopped. */
        void (*gone)(void *userdata);
        /* A batch of MADV_PAGEOUT paged out this many bytes (> 0). May be NULL. */
        void (*evicted)(void *userdata, uint64_t bytes);
} TrackerHooks;

/* What the tracker works on: borrowed from its owner, valid for the tracker's whole life. */
typedef struct TrackerTarget {
        uint64_t id; /* for log lines */
        pid_t pid;
        uid_t uid; /* whose authority eviction runs with (creds.h) */
        gid_t gid;
        int uffd;
        int pidfd;
        int pagemap_fd;
        RangeSet *ranges;
        const char *cgroup_path; /* unified-hierarchy path for PSI, or NULL */
        /* A user-mode-only uffd (UFFD_USER_MODE_ONLY: what an unprivileged program under
         * uffdtier-run gets): in a sync window the kernel's own accesses to protected pages
         * (read(2) into them, a socket's receive) would fail with EFAULT instead of waiting, so
         * rwp cycles stay in async mode for it: a page touched between the scan and its
         * eviction batch is paged out all the same and refaults, as with wp-async. */
        bool no_sync_window;
} TrackerTarget;

/* Faults whose resolution met EAGAIN (an event pending): retried after the next event read. */
/* Bounded work per event-loop turn (docs/DESIGN.md "Bounded work per turn"): a cycle's scan,
 * classification and wp-async re-arming go window by window (at most TRACKER_WINDOW_BYTES of
 * one range, on 2 MiB chunk boundaries), and arming queued by TRACK in pieces of that size, for
 * at most TRACKER_SLICE_USEC or TRACKER_SLICE_PAGES of address space per turn; the rest waits
 * for a later turn, after every uffd event and request that came in meanwhile. One window of
 * fully populated, fragmented memory takes a few ms here, so a turn ends within about
 * TRACKER_SLICE_USEC plus one window. */
#define TRACKER_WINDOW_BYTES (UINT64_C(256) << 20)
#define TRACKER_SLICE_USEC (5 * USEC_PER_MSEC)
#define TRACKER_SLICE_PAGES (UINT64_C(4) << 20) /* 16 GiB of 4 KiB pages */
/* A TRACK arms this much at once, so its refusals stay synchronous for ordinary ranges; the
 * rest of a larger range is queued and armed in pieces of this size (UFFDIO_WRITEPROTECT walks
 * the piece's VMAs and page tables: 1024 VMAs of 64 KiB took ~5 ms here). */
#define TRACKER_ARM_PIECE_BYTES (UINT64_C(64) << 20)
#define TRACKER_ARM_SYNC_BYTES TRACKER_ARM_PIECE_BYTES

#define TRACKER_DEFERRED_FAULTS_MAX 64
#define TRACKER_DEFERRED_TRIES 16

typedef struct Tracker {
        const TrackerEnv *env;
        const Policy *policy;
        const TrackerHooks *hooks;
        void *userdata;
        TrackerTarget target;
        bool stopped;

        struct {
                uint64_t addr; /* page address */
                uint64_t flags; /* uffd_msg.arg.pagefault.flags */
                uint64_t since_usec; /* loop time of the read that delivered it */
                unsigned tries;
        } deferred[TRACKER_DEFERRED_FAULTS_MAX];
        size_t n_deferred;

        sd_event_source *cycle_timer;
        sd_event_source *evict_timer;
        sd_event_source *window_timer; /* rwp: bounds the sync window in time */
        bool window_cut; /* this cycle's window was closed by window_timer: evict nothing */
        uint64_t cycle;
        bool in_cycle; /* between the scan and the end of eviction */
        bool sync; /* rwp: the uffd is in sync mode */
        bool psi_backing_off;
        uint64_t cycle_start_usec;
        uint64_t window_start_usec;
        uint64_t reclaim_pending_bytes; /* paged out since the last memory.reclaim */
        RunVec evict_runs; /* cold runs still to page out this cycle, front first */
        /* The cycle's scan in progress, resumed turn after turn by work_source. The cursor is
         * an address: events between two turns may split, move or drop ranges. */
        sd_event_source *work_source;
        struct {
                bool active;
                uint64_t cursor; /* next address to scan */
                unsigned slices;
                ClassifyParams params;
                ClassifyResult res;
                ClassifyProgress progress;
                PageRegionVec regions; /* scratch, kept for the next window */
                RunVec due; /* scratch */
        } scan;
        RunVec arm_queue; /* parts of newly tracked ranges still to arm */
        ArmLevels arm_levels; /* adaptive re-arming (arm-schedule.h) */
        ColdAge cold_age; /* the cold age in force, tuned to the policy's refault target */
        TrackerCounters counters;
        uint64_t evict_now_bytes; /* tracker_evict_now(): this cycle's cap; 0 = a normal cycle */
        uint64_t evict_batch_bytes; /* the next batch's size, adapted to its cost (0: not yet) */
} Tracker;

void tracker_init(Tracker *t, const TrackerEnv *env, const Policy *policy,
                  const TrackerHooks *hooks, void *userdata, const TrackerTarget *target);
/* Stops the timers and frees what the tracker holds; the target is not touched. */
void tracker_done(Tracker *t);

uint64_t tracker_backend_features(Backend b);
uint64_t tracker_backend_register_mode(Backend b);

int tracker_start(Tracker *t);
/* No more timers; idempotent. */
void tracker_stop(Tracker *t);
/* Switch to another policy (per-cgroup policies, reload); takes effect from the next cycle. A
 * tuned cold age starts again from the policy's ColdAge when the policy's cold age, its bounds,
 * its refault target or its interval differ. */
void tracker_set_policy(Tracker *t, const Policy *policy);
/* The owner moved the target's cgroup path (the process changed cgroup); path is the owner's. */
void tracker_set_cgroup_path(Tracker *t, const char *path);
/* A range was registered: arm it whole. */
int tracker_range_added(Tracker *t, uint64_t start, uint64_t end);
/* Pages left (unmap, remap, MADV_DONTNEED, untrack): forget pending evictions there. */
void tracker_range_removed(Tracker *t, uint64_t start, uint64_t end);
/* A PAGEFAULT message from the client's uffd (rwp sync window). Never reads events itself: a
 * resolution that meets EAGAIN is deferred (return 0) until tracker_retry_deferred_faults(),
 * which the event reader calls after applying the events of its next read. -ESRCH: gone. */
int tracker_handle_fault(Tracker *t, const struct uffd_msg *msg);
/* Retries deferred faults; those that meet EAGAIN again stay deferred. Returns how many are
 * still deferred, or -ESRCH. On the last try (or after TRACKER_DEFERRED_TRIES) a fault still
 * blocked is woken instead: the thread refaults and the kernel delivers a fresh message, so no
 * thread waits on a retry nobody will make. */
int tracker_retry_deferred_faults(Tracker *t, bool last_try);
/* Run one cycle now, its whole scan in this call (tests, the bus's EvictNow); normally the
 * timer starts it and the scan runs in slices. Returns 0 without doing anything while a cycle
 * is under way. */
int tracker_cycle_now(Tracker *t);
/* Run a cycle now and evict up to max_bytes (0: all) of what it finds cold, regardless of the
 * memory pressure limit (the floor and the rate limit still apply). ret_queued: the bytes queued
 * for eviction. -EBUSY while a cycle is under way, -EOPNOTSUPP when this tracker never evicts
 * (no backend, monitor only, dry run, paused), -ESRCH when the process is gone (the gone hook
 * has been called). */
int tracker_evict_now(Tracker *t, uint64_t max_bytes, uint64_t *ret_queued);
/* Record an error for status ("last error"); logged only when it differs from the last one. */
void tracker_set_error(Tracker *t, int error, const char *fmt, ...) _printf_(3, 4);
bool tracker_in_cycle(const Tracker *t);
/* Scan slices or queued arming still to do (for tests). */
bool tracker_has_work(const Tracker *t);

uint64_t tracker_fault_latency_p99_usec(const TrackerCounters *k);
