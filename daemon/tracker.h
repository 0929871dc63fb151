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
#include <systemd/sd-event.h>

#include "classify.h"
#include "probe.h"
#include "uapi.h"

typedef struct Client Client;

#define TRACKER_LATENCY_BUCKETS 32 /* log2(µs) buckets for the fault-service latency */

typedef struct TrackerCounters {
        /* as of the last cycle */
        uint64_t tracked_bytes;
        uint64_t resident_bytes;
        uint64_t swapped_bytes;
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
        /* durations */
        uint64_t last_cycle_usec;      /* scan to the end of eviction */
        uint64_t last_sync_window_usec;
        uint64_t max_sync_window_usec;
        uint64_t fault_latency_max_usec;
        uint64_t fault_latency_buckets[TRACKER_LATENCY_BUCKETS];
        int last_error;
        char last_error_text[256];
} TrackerCounters;

typedef struct Tracker {
        sd_event_source *cycle_timer;
        sd_event_source *evict_timer;
        uint64_t cycle;
        bool in_cycle;          /* between the scan and the end of eviction */
        bool sync;              /* rwp: the uffd is in sync mode */
        bool psi_backing_off;
        uint64_t cycle_start_usec;
        uint64_t window_start_usec;
        RunVec evict_runs;      /* cold runs still to page out this cycle, front first */
        TrackerCounters counters;
} Tracker;

void tracker_init(Tracker *t);
void tracker_done(Tracker *t);

uint64_t tracker_backend_features(Backend b);
uint64_t tracker_backend_register_mode(Backend b);

int tracker_start(Client *c);
void tracker_stop(Client *c);
/* A range was registered: arm it whole. */
int tracker_range_added(Client *c, uint64_t start, uint64_t end);
/* Pages left (unmap, remap, MADV_DONTNEED, untrack): forget pending evictions there. */
void tracker_range_removed(Client *c, uint64_t start, uint64_t end);
/* A PAGEFAULT message from the client's uffd (rwp sync window). */
int tracker_handle_fault(Client *c, const struct uffd_msg *msg);
/* Run one cycle now (tests and the demo); normally the timer does. */
int tracker_cycle_now(Client *c);

uint64_t tracker_fault_latency_p99_usec(const TrackerCounters *k);
