/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for sequences of requests on one connection, the pure part of the request
 * path: each 4-byte op of the input becomes a request (HELLO, TRACK, UNTRACK) or a uffd event
 * (fork, mremap, MADV_DONTNEED, munmap) of one client. A request is encoded and decoded with the
 * real codec (daemon/common/protocol.c); what it asks is applied to the client's range set
 * (daemon/engine/rangeset.c) under the daemon's rules (ranges_per_client counted after a split, the
 * byte limit, overlaps refused), and a windowed ageing cycle (daemon/engine/classify.c, daemon/engine/slice.c)
 * runs over the set as the tracker would, interleaved with the other ops. Checked after every
 * op, against a page-by-page model of a small address window:
 *  - the set's invariants: ranges sorted, page-aligned, disjoint, touching ranges of the same
 *    tag merged; its byte count and each page's tag equal to the model's;
 *  - the range count never exceeds the limit, whatever the order of TRACKs and UNTRACKs (only
 *    the kernel's munmap may split a range beyond it);
 *  - a page's EVICTED bit set by MADV_PAGEOUT stays until the model says it goes;
 *  - nothing leaks when the client goes (HELLO again, or the end of the input) (ASan/LSan).
 * Input: op = type, a, b, c (bytes); see apply(). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "macro.h"
#include "protocol.h"
#include "rangeset.h"
#include "slice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(e)                                                                              \
        do {                                                                                  \
                if (!(e)) {                                                                   \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #e); \
                        abort();                                                              \
                }                                                                             \
        } while (0)

#define PS UINT64_C(4096)
#define N_PAGES 512 /* the model's window: 2 MiB */
#define BASE (UINT64_C(1) << 32)
#define RANGES_LIMIT 8
#define BYTES_LIMIT (256 * PS)
#define NO_TAG -1

typedef struct Model {
        int tag[N_PAGES]; /* NO_TAG: not tracked */
        bool evicted[N_PAGES];
        unsigned unmaps; /* munmap splits ranges whatever the limit says */
} Model;

static uint64_t addr_of(unsigned page) {
        return BASE + (uint64_t) page * PS;
}

static void model_reset(Model *m) {
        for (unsigned i = 0; i < N_PAGES; i++) {
                m->tag[i] = NO_TAG;
                m->evicted[i] = false;
        }
        m->unmaps = 0;
}

static void check_set(const RangeSet *s, const Model *m) {
        uint64_t bytes = 0;

        CHECK(s->n_ranges <= RANGES_LIMIT + m->unmaps);
        for (size_t i = 0; i < s->n_ranges; i++) {
                const TrackedRange *r = &s->ranges[i];
                CHECK(r->start < r->end);
                CHECK(r->start >= BASE && r->end <= addr_of(N_PAGES));
                CHECK(IS_ALIGNED(r->start, PS) && IS_ALIGNED(r->end, PS));
                if (i > 0) {
                        CHECK(s->ranges[i - 1].end <= r->start);
                        if (s->ranges[i - 1].end == r->start)
                                CHECK(s->ranges[i - 1].tag != r->tag);
                }
                for (uint64_t a = r->start; a < r->end; a += PS) {
                        unsigned p = (unsigned) ((a - BASE) / PS);
                        uint8_t st = tracked_range_get(r, (a - r->start) / PS);
                        CHECK(m->tag[p] == (int) r->tag);
                        CHECK(!!(st & PAGE_STATE_EVICTED) == m->evicted[p]);
                }
                bytes += r->end - r->start;
        }
        CHECK(bytes == range_set_bytes(s));
        for (unsigned p = 0; p < N_PAGES; p++)
                if (m->tag[p] != NO_TAG)
                        CHECK(range_set_find(s, addr_of(p)) != NULL);
                else
                        CHECK(range_set_find(s, addr_of(p)) == NULL);
}

/* A request through the real codec: encode, decode, compare. */
static void roundtrip(ProtoMessage *req, ProtoMessage *ret) {
        static uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
        char reason[PROTO_REASON_MAX_BYTES];
        size_t len;

        CHECK(proto_encode(req, buf, sizeof buf, &len) == 0);
        CHECK(proto_decode(buf, len, reason, sizeof reason, ret) == 0);
        CHECK(ret->type == req->type && ret->n_ranges == req->n_ranges);
        for (size_t i = 0; i < req->n_ranges; i++)
                CHECK(ret->ranges[i].start == req->ranges[i].start &&
                      ret->ranges[i].len == req->ranges[i].len);
}

/* The daemon's TRACK rules (client.c track_range_precheck), all or nothing per request. */
static void do_track(RangeSet *s, Model *m, const ProtoMessage *req, uint32_t tag) {
        size_t done = 0;
        bool ok = true;

        for (; done < req->n_ranges && ok; done++) {
                uint64_t start = req->ranges[done].start, end = start + req->ranges[done].len;
                unsigned p0 = (unsigned) ((start - BASE) / PS), p1 = (unsigned) ((end - BASE) / PS);
                int r;

                if (s->n_ranges >= RANGES_LIMIT ||
                    range_set_bytes(s) + (end - start) > BYTES_LIMIT) {
                        ok = false;
                        break;
                }
                r = range_set_add(s, start, end, tag);
                if (r == -EEXIST) {
                        bool overlap = false;
                        for (unsigned p = p0; p < p1; p++)
                                overlap = overlap || m->tag[p] != NO_TAG;
                        CHECK(overlap); /* refused only for an overlap */
                        ok = false;
                        break;
                }
                CHECK(r == 0);
                for (unsigned p = p0; p < p1; p++) {
                        CHECK(m->tag[p] == NO_TAG);
                        m->tag[p] = (int) tag;
                        m->evicted[p] = false;
                }
        }
        if (ok)
                return;
        /* undo the ranges of this request that went through */
        for (size_t i = 0; i < done; i++) {
                uint64_t start = req->ranges[i].start, end = start + req->ranges[i].len;
                CHECK(range_set_remove(s, start, end, NULL) == 0);
                for (unsigned p = (unsigned) ((start - BASE) / PS); p < (end - BASE) / PS; p++)
                        m->tag[p] = NO_TAG;
        }
}

/* The daemon's UNTRACK rule: a hole punched into a range counts as a range (client.c). */
static void do_untrack(RangeSet *s, Model *m, uint64_t start, uint64_t end) {
        uint64_t removed = 0, want = 0;

        for (size_t i = 0; i < s->n_ranges; i++)
                if (s->ranges[i].start < start && end < s->ranges[i].end &&
                    s->n_ranges >= RANGES_LIMIT)
                        return; /* refused: E2BIG */
        for (unsigned p = (unsigned) ((start - BASE) / PS); p < (end - BASE) / PS; p++)
                if (m->tag[p] != NO_TAG) {
                        want += PS;
                        m->tag[p] = NO_TAG;
                        m->evicted[p] = false;
                }
        CHECK(range_set_remove(s, start, end, &removed) == 0);
        CHECK(removed == want);
}

/* One ageing cycle in windows of 64 KiB, as the tracker's slices do it; nothing is seen, and the
 * EVICTED pages are unpopulated (their contents were dropped): EVICTED goes. */
static void do_cycle(RangeSet *s, Model *m, uint64_t cycle) {
        _cleanup_(classify_progress_done) ClassifyProgress g = {};
        _cleanup_(run_vec_done) RunVec ev = {};
        ClassifyParams p = { .cycle = cycle,
                             .cold_age_cycles = 2,
                             .seen_mask = PAGE_IS_ACCESSED,
                             .rearm_period = 1 };
        ClassifyResult res = {};
        uint64_t cursor = 0;
        SliceWindow w;

        while (slice_next_window(s, cursor, 16 * PS, &w) == 1) {
                TrackedRange *r = &s->ranges[w.index];
                if (!classify_progress_matches(&g, r, w.start))
                        CHECK(classify_progress_begin(&g, r, w.start) == 0);
                CHECK(classify_range_step(r, w.end, NULL, 0, &p, &g, &res, &ev) == 0);
                cursor = w.end;
                if (w.end == r->end)
                        CHECK(classify_range_finish(r, &g) == 0);
        }
        CHECK(res.tracked_bytes == range_set_bytes(s));
        CHECK(ev.n_runs == 0); /* nothing present: nothing to evict */
        for (unsigned i = 0; i < N_PAGES; i++)
                m->evicted[i] = false;
}

static void apply(RangeSet **s, Model *m, const uint8_t op[4], uint64_t *cycle) {
        _cleanup_proto_message_ ProtoMessage req = {}, got = {};
        unsigned a = op[1] % N_PAGES, len = 1 + op[2] % 64;
        uint64_t start = addr_of(a), end = addr_of(MIN(a + len, (unsigned) N_PAGES));

        switch (op[0] % 8) {
        case 0: /* HELLO: a new client on this connection; the old one goes */
                proto_message_init(&req, PROTO_HELLO, op[3]);
                CHECK(proto_message_set_name(&req, "fuzz") == 0);
                roundtrip(&req, &got);
                range_set_done(*s);
                model_reset(m);
                break;
        case 1: { /* TRACK of 1-3 ranges */
                unsigned n = 1 + op[3] % 3;
                proto_message_init(&req, PROTO_TRACK, op[3]);
                for (unsigned i = 0; i < n; i++) {
                        unsigned pa = (a + i * 2 * len) % N_PAGES;
                        unsigned pe = MIN(pa + len, (unsigned) N_PAGES);
                        CHECK(proto_message_add_range(&req, addr_of(pa),
                                                      (uint64_t) (pe - pa) * PS) == 0);
                }
                roundtrip(&req, &got);
                do_track(*s, m, &got, op[3] % 3);
                break;
        }
        case 2: /* UNTRACK */
                proto_message_init(&req, PROTO_UNTRACK, op[3]);
                CHECK(proto_message_add_range(&req, start, end - start) == 0);
                roundtrip(&req, &got);
                do_untrack(*s, m, got.ranges[0].start, got.ranges[0].start + got.ranges[0].len);
                break;
        case 3: { /* FORK: the child goes on with a copy */
                RangeSet *copy = calloc(1, sizeof *copy);
                CHECK(copy);
                if (range_set_copy(*s, NULL, copy) < 0) {
                        free(copy);
                        break;
                }
                range_set_done(*s);
                free(*s);
                *s = copy;
                break;
        }
        case 4: /* munmap: the pages leave */
                CHECK(range_set_remove(*s, start, end, NULL) == 0);
                m->unmaps++;
                for (unsigned p = a; p < (end - BASE) / PS; p++) {
                        m->tag[p] = NO_TAG;
                        m->evicted[p] = false;
                }
                break;
        case 5: /* MADV_PAGEOUT of what is tracked there */
                CHECK(classify_mark_evicted(*s, start, end) == 0);
                for (unsigned p = a; p < (end - BASE) / PS; p++)
                        if (m->tag[p] != NO_TAG)
                                m->evicted[p] = true;
                break;
        case 6: /* MADV_DONTNEED: contents gone, still tracked */
                CHECK(classify_discard(*s, start, end) == 0);
                for (unsigned p = a; p < (end - BASE) / PS; p++)
                        m->evicted[p] = false;
                break;
        case 7: /* a cycle of the tracker */
                do_cycle(*s, m, ++*cycle);
                break;
        }
        check_set(*s, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        RangeSet *s = calloc(1, sizeof *s);
        uint64_t cycle = 0;
        Model m;

        CHECK(s);
        CHECK(range_set_init(s, PS) == 0);
        model_reset(&m);
        for (size_t i = 0; i + 4 <= size && i < 4 * 4096; i += 4)
                apply(&s, &m, data + i, &cycle);
        range_set_done(s);
        free(s);
        return 0;
}
