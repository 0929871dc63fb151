/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tracking engine (tracker.c, client.c) driven through a fake KernelOps that injects what a
 * real kernel will not produce on demand: EAGAIN from a pending event at a chosen ioctl, ESRCH in
 * the middle of a cycle or of an eviction, ENOENT from a range unregistered under a fault,
 * canned PAGEMAP_SCAN answers that make chosen pages cold. The fake records every call, so the
 * tests assert on what the engine asked of the kernel, in order.
 *
 * The fds handed to client_new() are eventfds and /dev/null: the fake never touches them, and an
 * eventfd that is never written is never readable, so the uffd and pidfd sources stay quiet. The
 * range is real mapped memory only so that the addresses are plausible; nothing reads it. */

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client.h"
#include "classify.h"
#include "evict.h"
#include "macro.h"
#include "manager.h"
#include "rangeset.h"
#include "test.h"
#include "tracker.h"
#include "uapi.h"
#include "uffd.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#ifdef HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* ---- the fake kernel ---- */

typedef enum FakeOp {
        OP_API,
        OP_REGISTER,
        OP_UNREGISTER,
        OP_RWPROTECT,
        OP_WRITEPROTECT,
        OP_SET_MODE,
        OP_WAKE,
        OP_PAGEMAP_SCAN,
        OP_PAGEOUT,
        OP_READ_MSGS,
        _OP_MAX,
} FakeOp;

static const char *const op_names[_OP_MAX] = {
        [OP_API] = "api",
        [OP_REGISTER] = "register",
        [OP_UNREGISTER] = "unregister",
        [OP_RWPROTECT] = "rwprotect",
        [OP_WRITEPROTECT] = "writeprotect",
        [OP_SET_MODE] = "set_mode",
        [OP_WAKE] = "wake",
        [OP_PAGEMAP_SCAN] = "pagemap_scan",
        [OP_PAGEOUT] = "pageout",
        [OP_READ_MSGS] = "read_msgs",
};

typedef struct FakeCall {
        FakeOp op;
        int fd;
        uint64_t start, len; /* range ops; pagemap_scan: [start, start + len) */
        bool protect, dontwake; /* rwprotect, writeprotect */
        uint64_t enable, disable; /* set_mode */
        uint64_t features; /* api */
        uint64_t flags, category_mask, anyof_mask, return_mask; /* pagemap_scan */
        size_t iov_first, n_iov; /* pageout: fake.iovs[iov_first..+n_iov) */
        int64_t ret;
} FakeCall;

#define FAKE_MAX_CALLS 512
#define FAKE_MAX_INJECT 64
#define FAKE_MAX_REGIONS 32
#define FAKE_MAX_MSGS 16
#define FAKE_MAX_IOVS 512
#define FAKE_REG_PAGES (UINT64_C(160) << 10) /* 640 MiB of 4 KiB pages */
/* Queued as an injected result: "nothing injected for this call", behave like a kernel that
 * succeeds. Lets a test fail the second call of an op and not the first. */
#define FAKE_PASS INT64_MIN

static struct {
        FakeCall calls[FAKE_MAX_CALLS];
        size_t n_calls;
        struct {
                int64_t v[FAKE_MAX_INJECT];
                size_t n, next;
        } inject[_OP_MAX];
        /* What PAGEMAP_SCAN sees: `regions` for plain scans, `wp_regions` for the re-protecting
         * scan (PM_SCAN_WP_MATCHING), which may see writes that came after the first one. */
        struct page_region regions[FAKE_MAX_REGIONS], wp_regions[FAKE_MAX_REGIONS];
        size_t n_regions, n_wp_regions;
        /* Pending uffd messages, all handed out by the next read_msgs(). */
        struct uffd_msg msgs[FAKE_MAX_MSGS];
        size_t n_msgs;
        /* At most read_limits[i] messages for the i-th read (then: all), so a test can hold an
         * event back for a later read the way a kernel that queued it later would. */
        size_t read_limits[FAKE_MAX_MSGS];
        size_t n_read_limits, next_read_limit;
        bool mm_gone;
        struct iovec iovs[FAKE_MAX_IOVS];
        size_t n_iovs;
        /* What register/unregister did to the test's mapping, page by page: the registration
         * proof (PAGE_IS_WPALLOWED scans) reads it. */
        uint64_t reg_base;
        uint8_t registered[FAKE_REG_PAGES];
} fake;

static void fake_mark_registered(uint64_t start, uint64_t len, bool on) {
        uint64_t ps = page_size();

        for (uint64_t a = start; a < start + len; a += ps)
                if (a >= fake.reg_base && (a - fake.reg_base) / ps < FAKE_REG_PAGES)
                        fake.registered[(a - fake.reg_base) / ps] = on;
}

static size_t fake_registered_pages(void) {
        size_t n = 0;

        for (size_t i = 0; i < FAKE_REG_PAGES; i++)
                n += fake.registered[i];
        return n;
}

static FakeCall *fake_record(FakeOp op, int fd) {
        FakeCall *k;

        if (fake.n_calls >= FAKE_MAX_CALLS)
                test_fail(__FILE__, __LINE__, "more than %d kernel calls: engine looping?",
                          FAKE_MAX_CALLS);
        k = &fake.calls[fake.n_calls++];
        *k = (FakeCall){ .op = op, .fd = fd };
        return k;
}

static void fake_inject(FakeOp op, int64_t v) {
        if (fake.inject[op].n >= FAKE_MAX_INJECT)
                test_fail(__FILE__, __LINE__, "too many injections");
        fake.inject[op].v[fake.inject[op].n++] = v;
}

static int64_t fake_pop(FakeOp op) {
        if (fake.inject[op].next >= fake.inject[op].n)
                return FAKE_PASS;
        return fake.inject[op].v[fake.inject[op].next++];
}

/* The injected result if there is one, else `def`; recorded either way. */
static int64_t fake_result(FakeCall *k, int64_t def) {
        int64_t v = fake_pop(k->op);

        k->ret = v == FAKE_PASS ? def : v;
        return k->ret;
}

static void fake_region(bool wp, uint64_t start, uint64_t end, uint64_t categories) {
        size_t *n = wp ? &fake.n_wp_regions : &fake.n_regions;
        struct page_region *v = wp ? fake.wp_regions : fake.regions;

        if (*n >= FAKE_MAX_REGIONS)
                test_fail(__FILE__, __LINE__, "too many canned regions");
        v[(*n)++] = (struct page_region){ .start = start, .end = end, .categories = categories };
}

static void fake_regions_clear(void) {
        fake.n_regions = fake.n_wp_regions = 0;
}

static void fake_msg_unmap(uint64_t start, uint64_t end) {
        if (fake.n_msgs >= FAKE_MAX_MSGS)
                test_fail(__FILE__, __LINE__, "too many messages");
        fake.msgs[fake.n_msgs++] = (struct uffd_msg){
                .event = UFFD_EVENT_UNMAP,
                .arg.remove = { .start = start, .end = end },
        };
}

static void fake_msg_remap(uint64_t from, uint64_t to, uint64_t len) {
        if (fake.n_msgs >= FAKE_MAX_MSGS)
                test_fail(__FILE__, __LINE__, "too many messages");
        fake.msgs[fake.n_msgs++] = (struct uffd_msg){
                .event = UFFD_EVENT_REMAP,
                .arg.remap = { .from = from, .to = to, .len = len },
        };
}

static int fake_api(int uffd, uint64_t features, uint64_t *ret_features, uint64_t *ret_ioctls) {
        FakeCall *k = fake_record(OP_API, uffd);
        int r;

        k->features = features;
        r = (int) fake_result(k, 0);
        if (r < 0)
                return r;
        /* a kernel with everything: all that was asked for, SET_MODE among the ioctls */
        if (ret_features)
                *ret_features = features;
        if (ret_ioctls)
                *ret_ioctls = UINT64_MAX;
        return 0;
}

static int fake_register(int uffd, uint64_t start, uint64_t len, uint64_t mode,
                         uint64_t *ret_ioctls) {
        FakeCall *k = fake_record(OP_REGISTER, uffd);
        int r;

        k->start = start;
        k->len = len;
        k->flags = mode;
        r = (int) fake_result(k, 0);
        if (r >= 0 && ret_ioctls)
                *ret_ioctls = UINT64_MAX;
        if (r >= 0)
                fake_mark_registered(start, len, true);
        return r;
}

static int fake_unregister(int uffd, uint64_t start, uint64_t len) {
        FakeCall *k = fake_record(OP_UNREGISTER, uffd);

        k->start = start;
        k->len = len;
        fake_mark_registered(start, len, false);
        return (int) fake_result(k, 0);
}

static int fake_rwprotect(int uffd, uint64_t start, uint64_t len, bool protect, bool dontwake) {
        FakeCall *k = fake_record(OP_RWPROTECT, uffd);

        k->start = start;
        k->len = len;
        k->protect = protect;
        k->dontwake = dontwake;
        return (int) fake_result(k, 0);
}

static int fake_writeprotect(int uffd, uint64_t start, uint64_t len, bool protect) {
        FakeCall *k = fake_record(OP_WRITEPROTECT, uffd);

        k->start = start;
        k->len = len;
        k->protect = protect;
        return (int) fake_result(k, 0);
}

static int fake_set_mode(int uffd, uint64_t enable, uint64_t disable) {
        FakeCall *k = fake_record(OP_SET_MODE, uffd);

        k->enable = enable;
        k->disable = disable;
        return (int) fake_result(k, 0);
}

static int fake_wake(int uffd, uint64_t start, uint64_t len) {
        FakeCall *k = fake_record(OP_WAKE, uffd);

        k->start = start;
        k->len = len;
        return (int) fake_result(k, 0);
}

/* Answers from the canned regions the way the kernel filters them (all of category_mask, any of
 * category_anyof_mask, categories cut to return_mask), walking the whole range in one call. */
static int fake_pagemap_scan(int pagemap_fd, struct pm_scan_arg *arg) {
        FakeCall *k = fake_record(OP_PAGEMAP_SCAN, pagemap_fd);
        const struct page_region *src = (arg->flags & PM_SCAN_WP_MATCHING) ? fake.wp_regions
                                                                           : fake.regions;
        size_t n_src = (arg->flags & PM_SCAN_WP_MATCHING) ? fake.n_wp_regions : fake.n_regions;
        struct page_region *out = (struct page_region *) (uintptr_t) arg->vec;
        int64_t v;
        size_t n = 0;

        k->start = arg->start;
        k->len = arg->end - arg->start;
        k->flags = arg->flags;
        k->category_mask = arg->category_mask;
        k->anyof_mask = arg->category_anyof_mask;
        k->return_mask = arg->return_mask;
        v = fake_pop(OP_PAGEMAP_SCAN);
        if (v != FAKE_PASS && v < 0) {
                k->ret = v;
                return (int) v;
        }

        if (arg->category_mask == PAGE_IS_WPALLOWED) {
                /* the registration proof: the registered pages, in runs */
                uint64_t ps = page_size();
                for (uint64_t a = arg->start; a < arg->end; a += ps) {
                        uint64_t i = (a - fake.reg_base) / ps;
                        if (a < fake.reg_base || i >= FAKE_REG_PAGES || !fake.registered[i])
                                continue;
                        if (n > 0 && out[n - 1].end == a)
                                out[n - 1].end = a + ps;
                        else if (n < arg->vec_len)
                                out[n++] = (struct page_region){ a, a + ps, PAGE_IS_WPALLOWED };
                }
                arg->walk_end = arg->end;
                k->ret = (int64_t) n;
                return (int) n;
        }
        for (size_t i = 0; i < n_src; i++) {
                uint64_t s = MAX((uint64_t) src[i].start, (uint64_t) arg->start);
                uint64_t e = MIN((uint64_t) src[i].end, (uint64_t) arg->end);
                uint64_t cats = src[i].categories;

                if (s >= e)
                        continue;
                if ((cats & arg->category_mask) != arg->category_mask)
                        continue;
                if (arg->category_anyof_mask != 0 && !(cats & arg->category_anyof_mask))
                        continue;
                if (n >= arg->vec_len)
                        test_fail(__FILE__, __LINE__, "canned regions overflow the scan buffer");
                out[n++] = (struct page_region){
                        .start = s,
                        .end = e,
                        .categories = cats & arg->return_mask,
                };
        }
        arg->walk_end = arg->end;
        k->ret = (int64_t) n;
        return (int) n;
}

/* Records the vector; by default pages all of it out. An injected positive result is a partial
 * return (bytes done before the iovec that failed). */
static ssize_t fake_pageout(int pidfd, const struct iovec *iov, size_t n_iov) {
        FakeCall *k = fake_record(OP_PAGEOUT, pidfd);
        uint64_t total = 0;

        if (fake.n_iovs + n_iov > FAKE_MAX_IOVS)
                test_fail(__FILE__, __LINE__, "too many iovecs");
        k->iov_first = fake.n_iovs;
        k->n_iov = n_iov;
        for (size_t i = 0; i < n_iov; i++) {
                fake.iovs[fake.n_iovs++] = iov[i];
                total += iov[i].iov_len;
        }
        return (ssize_t) fake_result(k, (int64_t) total);
}

static ssize_t fake_read_msgs(int uffd, struct uffd_msg *msgs, size_t n) {
        FakeCall *k = fake_record(OP_READ_MSGS, uffd);
        int64_t v = fake_pop(OP_READ_MSGS);
        size_t m = MIN(n, fake.n_msgs);

        if (v != FAKE_PASS) {
                k->ret = v;
                return (ssize_t) v;
        }
        if (fake.next_read_limit < fake.n_read_limits) {
                size_t limit = fake.read_limits[fake.next_read_limit++];
                m = MIN(m, limit);
        }
        memcpy(msgs, fake.msgs, m * sizeof *msgs);
        memmove(fake.msgs, fake.msgs + m, (fake.n_msgs - m) * sizeof *msgs);
        fake.n_msgs -= m;
        k->ret = (int64_t) m;
        return (ssize_t) m;
}

/* Not recorded: asked before every eviction batch; a test that wants the address space gone
 * sets fake.mm_gone. */
static int fake_mm_alive(int pagemap_fd) {
        return !fake.mm_gone;
}

static const KernelOps fake_ops = {
        .api = fake_api,
        .register_range = fake_register,
        .unregister_range = fake_unregister,
        .rwprotect = fake_rwprotect,
        .writeprotect = fake_writeprotect,
        .set_mode = fake_set_mode,
        .wake = fake_wake,
        .pagemap_scan = fake_pagemap_scan,
        .pageout = fake_pageout,
        .read_msgs = fake_read_msgs,
        .mm_alive = fake_mm_alive,
};

/* ---- looking at what the engine called ---- */

static size_t fake_count(FakeOp op, size_t from) {
        size_t n = 0;

        for (size_t i = from; i < fake.n_calls; i++)
                n += fake.calls[i].op == op;
        return n;
}

/* The nth (from 0) call of op at or after call index `from`, or NULL. */
static const FakeCall *fake_nth(FakeOp op, size_t from, size_t nth) {
        for (size_t i = from; i < fake.n_calls; i++)
                if (fake.calls[i].op == op && nth-- == 0)
                        return &fake.calls[i];
        return NULL;
}

static void fake_dump(size_t from) {
        for (size_t i = from; i < fake.n_calls; i++) {
                const FakeCall *k = &fake.calls[i];
                fprintf(stderr, "    #%zu %s start=%#" PRIx64 " len=%#" PRIx64 " ret=%" PRId64 "\n",
                        i, op_names[k->op], k->start, k->len, k->ret);
        }
}

static void assert_ops_at(const char *file, int line, size_t from, const FakeOp *want,
                          size_t n_want) {
        bool ok = fake.n_calls - from == n_want;

        for (size_t i = 0; ok && i < n_want; i++)
                ok = fake.calls[from + i].op == want[i];
        if (ok)
                return;
        fprintf(stderr, "  expected:");
        for (size_t i = 0; i < n_want; i++)
                fprintf(stderr, " %s", op_names[want[i]]);
        fprintf(stderr, "\n  got:\n");
        fake_dump(from);
        test_fail(file, line, "kernel calls since #%zu differ", from);
}

#define ASSERT_OPS(from, ...)                                                    \
        assert_ops_at(__FILE__, __LINE__, from, (const FakeOp[]){ __VA_ARGS__ }, \
                      ELEMENTSOF(((const FakeOp[]){ __VA_ARGS__ })))

/* ---- one manager, one client ---- */

typedef struct Env {
        Manager *m;
        Client *c;
        uint64_t client_id;
        void *mem;
        size_t mem_len;
        uint64_t base;
        int fds[3]; /* uffd, pidfd, pagemap fd as handed over */
} Env;

static Env env;

#define PS ((uint64_t) page_size())
#define PG(i) (env.base + (uint64_t) (i) *PS)

static bool env_user_mode_only; /* the next env_setup()'s client: a UFFD_USER_MODE_ONLY uffd */

static void env_setup(Backend backend, size_t n_pages) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        Manager *m;
        int uffd, pidfd, pagemap_fd;

        memset(&fake, 0, sizeof fake);
        env = (Env){};
        ASSERT_OK(manager_new(&env.m));
        m = env.m;
        manager_set_backend(m, &fake_ops, backend, false);
        m->config->policies.default_policy.interval_usec = 1 * USEC_PER_SEC;
        m->config->policies.default_policy.cold_age_usec = 2 *
                USEC_PER_SEC; /* 2 cycles; re-arm period 1: all due */
        m->config->policies.default_policy.rate_bytes_per_sec = 0;
        m->config->policies.default_policy.floor_bytes = 0;
        /* the host's memory pressure must not decide whether these tests evict */
        m->config->policies.default_policy.psi_limit_permyriad = 10000;
        ratelimit_init(&m->evict_rate, 0, 0, now_usec());

        env.mem_len = n_pages * page_size();
        env.mem = mmap(NULL, env.mem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                       0);
        ASSERT_TRUE(env.mem != MAP_FAILED);
        env.base = (uint64_t) (uintptr_t) env.mem;
        fake.reg_base = env.base;

        uffd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        pidfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        pagemap_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ASSERT_OK(uffd);
        ASSERT_OK(pidfd);
        ASSERT_OK(pagemap_fd);
        env.fds[0] = uffd;
        env.fds[1] = pidfd;
        env.fds[2] = pagemap_fd;
        if (manager_add_client(m, getpid(), getuid(), getgid(), env_user_mode_only, "t", uffd,
                               pidfd, pagemap_fd, &e, &env.client_id) < 0)
                test_fail(__FILE__, __LINE__, "manager_add_client: %s", e.message);
        env.c = manager_find_client(m, env.client_id);
        ASSERT_TRUE(env.c);
        ASSERT_EQ(m->n_clients, 1);
}

static bool env_client_alive(void) {
        return manager_find_client(env.m, env.client_id) != NULL;
}

/* Tracks pages [first, first + n) of the mapping the way client_track() does after its checks. */
static void env_track(size_t first, size_t n) {
        ASSERT_OK(range_set_add(&env.c->ranges, PG(first), PG(first + n), 0));
        ASSERT_OK(tracker_range_added(&env.c->tracker, PG(first), PG(first + n)));
}

/* Dispatches what is ready until the cycle is over or the client is gone. Bounded, so a stuck
 * engine fails the test instead of hanging it. */
static void env_drain(void) {
        for (unsigned i = 0; i < 10000; i++) {
                if (!env_client_alive() || !env.c->tracker.in_cycle)
                        return;
                ASSERT_OK(sd_event_run(env.m->event, 0));
        }
        test_fail(__FILE__, __LINE__, "the eviction did not finish");
}

static uint8_t page_state(size_t i) {
        const TrackedRange *r = range_set_find(&env.c->ranges, PG(i));

        ASSERT_TRUE(r);
        return tracked_range_get(r, (PG(i) - r->start) / PS);
}

static void assert_fd_closed(int fd) {
        ASSERT_TRUE(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
}

static void env_teardown(void) {
        if (env_client_alive())
                manager_drop_client(env.m, env.c);
        manager_gc(env.m);
        env.c = NULL;
        ASSERT_EQ(env.m->n_clients, 0);
        env.m = manager_free(env.m);
        ASSERT_OK(munmap(env.mem, env.mem_len));
        /* the client owned the three fds: whoever freed it must have closed them */
        for (size_t i = 0; i < ELEMENTSOF(env.fds); i++)
                assert_fd_closed(env.fds[i]);
#ifdef HAVE_LSAN
        /* Each test ends with _exit() in a forked child, which skips LeakSanitizer's check at
         * exit: run it here, now that everything the test made has been freed. */
        ASSERT_EQ(__lsan_do_recoverable_leak_check(), 0);
#endif
}

/* Every page PRESENT, none accessed/written: all of it turns cold on the second cycle. */
static void all_present(size_t n_pages) {
        fake_regions_clear();
        fake_region(false, PG(0), PG(n_pages), PAGE_IS_PRESENT);
}

/* Two cycles over idle pages: the second finds them cold and leaves the eviction pending, with
 * the sync window (rwp) still open. */
static void run_to_pending_eviction(void) {
        ASSERT_OK(tracker_cycle_now(&env.c->tracker));
        ASSERT_FALSE(env.c->tracker.in_cycle);
        ASSERT_OK(tracker_cycle_now(&env.c->tracker));
        ASSERT_TRUE(env.c->tracker.in_cycle);
        ASSERT_TRUE(env.c->tracker.evict_runs.n_runs > 0);
}

static struct uffd_msg rwp_fault(uint64_t addr) {
        return (struct uffd_msg){
                .event = UFFD_EVENT_PAGEFAULT,
                .arg.pagefault = { .flags = UFFD_PAGEFAULT_FLAG_RWP, .address = addr },
        };
}

/* ---- the tests ---- */

TEST(inject_eagain_on_set_mode_reads_events_and_retries) {
        size_t mark;

        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        mark = fake.n_calls;

        /* an munmap of pages 4-7 is queued: the kernel refuses SET_MODE until it is read */
        fake_inject(OP_SET_MODE, -EAGAIN);
        fake_msg_unmap(PG(4), PG(8));

        ASSERT_OK(tracker_cycle_now(&env.c->tracker));
        ASSERT_OPS(mark, OP_SET_MODE, OP_READ_MSGS, OP_SET_MODE, OP_PAGEMAP_SCAN, OP_PAGEMAP_SCAN,
                   OP_SET_MODE, OP_RWPROTECT, OP_RWPROTECT);
        /* sync first (both tries), async at the end */
        for (size_t i = 0; i < 2; i++) {
                ASSERT_U64_EQ(fake_nth(OP_SET_MODE, mark, i)->enable, 0);
                ASSERT_U64_EQ(fake_nth(OP_SET_MODE, mark, i)->disable, UFFD_FEATURE_RWP_ASYNC);
        }
        ASSERT_EQ(fake_nth(OP_SET_MODE, mark, 0)->ret, -EAGAIN);
        ASSERT_U64_EQ(fake_nth(OP_SET_MODE, mark, 2)->enable, UFFD_FEATURE_RWP_ASYNC);
        ASSERT_U64_EQ(fake_nth(OP_SET_MODE, mark, 2)->disable, 0);

        /* the event was applied before the scan: the unmapped pages are neither tracked, nor
         * scanned, nor re-armed */
        ASSERT_EQ(env.c->ranges.n_ranges, 2);
        ASSERT_U64_EQ(range_set_bytes(&env.c->ranges), 12 * PS);
        for (size_t i = 4; i < 8; i++)
                ASSERT_TRUE(range_set_find(&env.c->ranges, PG(i)) == NULL);
        ASSERT_U64_EQ(fake_nth(OP_PAGEMAP_SCAN, mark, 0)->start, PG(0));
        ASSERT_U64_EQ(fake_nth(OP_PAGEMAP_SCAN, mark, 0)->len, 4 * PS);
        ASSERT_U64_EQ(fake_nth(OP_PAGEMAP_SCAN, mark, 1)->start, PG(8));
        ASSERT_U64_EQ(fake_nth(OP_PAGEMAP_SCAN, mark, 1)->len, 8 * PS);
        ASSERT_U64_EQ(fake_nth(OP_RWPROTECT, mark, 0)->start, PG(0));
        ASSERT_U64_EQ(fake_nth(OP_RWPROTECT, mark, 0)->len, 4 * PS);
        ASSERT_TRUE(fake_nth(OP_RWPROTECT, mark, 0)->protect);
        ASSERT_U64_EQ(fake_nth(OP_RWPROTECT, mark, 1)->start, PG(8));
        ASSERT_U64_EQ(fake_nth(OP_RWPROTECT, mark, 1)->len, 8 * PS);

        ASSERT_EQ(env.c->tracker.counters.cycles, 1);
        ASSERT_FALSE(env.c->tracker.in_cycle);
        ASSERT_FALSE(env.c->tracker.sync);
        ASSERT_EQ(env.c->tracker.counters.last_error, 0);
        env_teardown();
}

/* A user-mode-only uffd (an unprivileged program under uffdtier-run): kernel accesses to
 * protected pages would fail with EFAULT in a sync window, so its rwp cycles never open one. */
TEST(rwp_user_mode_only_has_no_sync_window) {
        size_t mark;

        env_user_mode_only = true;
        env_setup(BACKEND_RWP, 16);
        env_user_mode_only = false;
        env_track(0, 16);
        mark = fake.n_calls;
        ASSERT_OK(tracker_cycle_now(&env.c->tracker));
        ASSERT_EQ(fake_count(OP_SET_MODE, mark), 0);
        ASSERT_CMP(fake_count(OP_PAGEMAP_SCAN, mark), >, 0);
        ASSERT_CMP(fake_count(OP_RWPROTECT, mark), >, 0); /* re-armed all the same */
        ASSERT_FALSE(env.c->tracker.sync);
        ASSERT_EQ(env.c->tracker.counters.cycles, 1);
        env_teardown();
}

TEST(inject_eagain_forever_on_set_mode_gives_up_bounded) {
        size_t mark, n;

        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        mark = fake.n_calls;
        /* an event the engine never gets to read (a client producing them without end) */
        for (size_t i = 0; i < FAKE_MAX_INJECT; i++)
                fake_inject(OP_SET_MODE, -EAGAIN);

        ASSERT_OK(tracker_cycle_now(&env.c->tracker));
        n = fake_count(OP_SET_MODE, mark);
        ASSERT_TRUE(n > 1 && n < FAKE_MAX_INJECT);
        ASSERT_EQ(fake_count(OP_READ_MSGS, mark), n - 1);
        /* the cycle is abandoned, not half-run: no scan, no eviction, no window left open */
        ASSERT_EQ(fake_count(OP_PAGEMAP_SCAN, mark), 0);
        ASSERT_FALSE(env.c->tracker.in_cycle);
        ASSERT_FALSE(env.c->tracker.sync);
        ASSERT_EQ(env.c->tracker.counters.cycles, 0);
        ASSERT_EQ(env.c->tracker.counters.last_error, EAGAIN);
        ASSERT_TRUE(env_client_alive());
        env_teardown();
}

TEST(inject_esrch_from_read_msgs_during_eagain_retry_reports_gone) {
        size_t mark;

        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        mark = fake.n_calls;
        fake_inject(OP_SET_MODE, -EAGAIN);
        fake_inject(OP_READ_MSGS, -ESRCH);

        ASSERT_ERROR(tracker_cycle_now(&env.c->tracker), ESRCH);
        /* no second try on a process that is gone */
        ASSERT_OPS(mark, OP_SET_MODE, OP_READ_MSGS);
        env_teardown();
}

TEST(inject_eagain_on_fault_rwprotect_defers_until_next_read) {
        struct uffd_msg msg;
        size_t mark;

        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        all_present(16);
        run_to_pending_eviction();
        ASSERT_EQ(env.c->tracker.evict_runs.n_runs, 1);
        ASSERT_U64_EQ(env.c->tracker.evict_runs.runs[0].start, PG(0));
        ASSERT_U64_EQ(env.c->tracker.evict_runs.runs[0].end, PG(16));
        ASSERT_TRUE(env.c->tracker.sync);

        /* a thread touches page 5 in the sync window while an munmap of pages 12-15 is queued
         * behind it: the first read sees the fault only, the second the unmap */
        mark = fake.n_calls;
        fake_inject(OP_RWPROTECT, -EAGAIN);
        msg = rwp_fault(PG(5) + 123);
        fake.msgs[fake.n_msgs++] = msg;
        fake_msg_unmap(PG(12), PG(16));
        fake.read_limits[fake.n_read_limits++] = 1;
        ASSERT_OK(client_process_events(env.c));

        /* the fault is retried only after the read that brought the unmap, never inside it */
        ASSERT_OPS(mark, OP_READ_MSGS, OP_RWPROTECT, OP_READ_MSGS, OP_RWPROTECT);
        for (size_t i = 0; i < 2; i++) {
                const FakeCall *k = fake_nth(OP_RWPROTECT, mark, i);
                ASSERT_U64_EQ(k->start, PG(5));
                ASSERT_U64_EQ(k->len, PS);
                ASSERT_FALSE(k->protect);
                ASSERT_FALSE(k->dontwake); /* resolving must wake the thread */
        }
        ASSERT_EQ(env.c->tracker.counters.faults_served, 1);

        /* page 5 is hot and out of the pending list; the unmapped pages left it too */
        ASSERT_EQ(env.c->tracker.evict_runs.n_runs, 2);
        ASSERT_U64_EQ(env.c->tracker.evict_runs.runs[0].start, PG(0));
        ASSERT_U64_EQ(env.c->tracker.evict_runs.runs[0].end, PG(5));
        ASSERT_U64_EQ(env.c->tracker.evict_runs.runs[1].start, PG(6));
        ASSERT_U64_EQ(env.c->tracker.evict_runs.runs[1].end, PG(12));
        ASSERT_EQ(page_state(5) & PAGE_STATE_AGE_MASK, 0);

        /* and the eviction that follows leaves page 5 alone */
        mark = fake.n_calls;
        env_drain();
        ASSERT_EQ(fake_count(OP_PAGEOUT, mark), 1);
        ASSERT_EQ(fake_nth(OP_PAGEOUT, mark, 0)->n_iov, 2);
        ASSERT_U64_EQ((uintptr_t) fake.iovs[0].iov_base, PG(0));
        ASSERT_U64_EQ(fake.iovs[0].iov_len, 5 * PS);
        ASSERT_U64_EQ((uintptr_t) fake.iovs[1].iov_base, PG(6));
        ASSERT_U64_EQ(fake.iovs[1].iov_len, 6 * PS);
        ASSERT_FALSE(page_state(5) & PAGE_STATE_EVICTED);
        ASSERT_TRUE(page_state(4) & PAGE_STATE_EVICTED);
        ASSERT_TRUE(page_state(6) & PAGE_STATE_EVICTED);
        ASSERT_EQ(env.c->tracker.counters.cycles, 2);
        env_teardown();
}

/* Events apply in the order the kernel gave them, even when a fault of the same read meets
 * EAGAIN: a read of [fault, mremap A->B] followed by a read of [mremap B->C] must end at C. A
 * reader that fetched the second read from inside the fault (as it once did) applied B->C
 * first, found nothing at B, and left the range at B. */
TEST(inject_eagain_on_fault_keeps_event_order) {
        uint64_t a, b, c;
        struct uffd_msg msg;

        env_setup(BACKEND_RWP, 16);
        a = PG(0);
        b = env.base + 64 * PS;
        c = env.base + 128 * PS;
        env_track(0, 16);
        all_present(16);
        run_to_pending_eviction();
        ASSERT_TRUE(env.c->tracker.sync);

        fake_inject(OP_RWPROTECT, -EAGAIN);
        msg = rwp_fault(PG(5));
        fake.msgs[fake.n_msgs++] = msg;
        fake_msg_remap(a, b, 16 * PS);
        fake_msg_remap(b, c, 16 * PS);
        fake.read_limits[fake.n_read_limits++] = 2;
        ASSERT_OK(client_process_events(env.c));

        ASSERT_TRUE(range_set_find(&env.c->ranges, c) != NULL);
        ASSERT_TRUE(range_set_find(&env.c->ranges, b) == NULL);
        ASSERT_TRUE(range_set_find(&env.c->ranges, a) == NULL);
        ASSERT_EQ(env.c->tracker.counters.faults_served, 1);
        ASSERT_EQ(env.c->tracker.n_deferred, 0);
        /* the moved range left the pending evictions */
        ASSERT_EQ(env.c->tracker.evict_runs.n_runs, 0);
        env_teardown();
}

/* A fault that stays blocked (EAGAIN every time) is woken, not left waiting: the thread
 * refaults and the kernel delivers it again. */
TEST(inject_eagain_forever_on_fault_wakes_bounded) {
        struct uffd_msg msg;
        size_t mark;

        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        all_present(16);
        run_to_pending_eviction();

        for (int i = 0; i < 32; i++)
                fake_inject(OP_RWPROTECT, -EAGAIN);
        mark = fake.n_calls;
        msg = rwp_fault(PG(3));
        fake.msgs[fake.n_msgs++] = msg;
        ASSERT_OK(client_process_events(env.c));
        ASSERT_EQ(env.c->tracker.n_deferred, 0);
        ASSERT_EQ(fake_count(OP_WAKE, mark), 1);
        ASSERT_TRUE(fake_count(OP_READ_MSGS, mark) <= 6);
        ASSERT_TRUE(env_client_alive());
        env_teardown();
}

TEST(inject_esrch_from_pagemap_scan_mid_cycle_returns_esrch) {
        size_t mark;

        env_setup(BACKEND_RWP, 32);
        env_track(0, 8);
        env_track(16, 8);
        mark = fake.n_calls;
        /* the first range scans fine, the process is gone by the second */
        fake_inject(OP_PAGEMAP_SCAN, FAKE_PASS);
        fake_inject(OP_PAGEMAP_SCAN, -ESRCH);

        ASSERT_ERROR(tracker_cycle_now(&env.c->tracker), ESRCH);
        /* nothing more is asked of a dead process: no async switch, no re-arm */
        ASSERT_OPS(mark, OP_SET_MODE, OP_PAGEMAP_SCAN, OP_PAGEMAP_SCAN);
        ASSERT_U64_EQ(fake_nth(OP_PAGEMAP_SCAN, mark, 1)->start, PG(16));

        /* what on_cycle_timer() does with that answer */
        manager_drop_client(env.m, env.c);
        manager_gc(env.m);
        ASSERT_FALSE(env_client_alive());
        env_teardown();
}

TEST(inject_esrch_from_pagemap_scan_in_timer_frees_client) {
        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        fake_inject(OP_PAGEMAP_SCAN, -ESRCH);

        /* let the real timer run the cycle */
        ASSERT_OK(sd_event_source_set_time(env.c->tracker.cycle_timer, now_usec()));
        ASSERT_OK(sd_event_source_set_enabled(env.c->tracker.cycle_timer, SD_EVENT_ONESHOT));
        for (unsigned i = 0; i < 10000 && env_client_alive(); i++)
                ASSERT_OK(sd_event_run(env.m->event, 0));
        ASSERT_FALSE(env_client_alive());
        ASSERT_EQ(env.m->n_clients, 0);
        ASSERT_EQ(fake_count(OP_PAGEMAP_SCAN, 0), 1);
        env_teardown();
}

TEST(inject_esrch_from_pageout_frees_client) {
        size_t mark;

        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        all_present(16);
        run_to_pending_eviction();

        mark = fake.n_calls;
        fake_inject(OP_PAGEOUT, -ESRCH);
        env_drain();

        ASSERT_FALSE(env_client_alive());
        ASSERT_EQ(env.m->n_clients, 0);
        ASSERT_OPS(mark, OP_PAGEOUT);
        ASSERT_U64_EQ(env.m->gone_evicted_bytes, 0);
        env_teardown();
}

TEST(inject_partial_pageout_then_esrch_accounts_what_was_done) {
        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        /* two cold runs, pages 0-3 and 8-11: two iovecs in one batch */
        fake_regions_clear();
        fake_region(false, PG(0), PG(4), PAGE_IS_PRESENT);
        fake_region(false, PG(4), PG(8), PAGE_IS_PRESENT | PAGE_IS_ACCESSED);
        fake_region(false, PG(8), PG(12), PAGE_IS_PRESENT);
        fake_region(false, PG(12), PG(16), PAGE_IS_PRESENT | PAGE_IS_ACCESSED);
        run_to_pending_eviction();

        /* the first iovec is done, then the process exits */
        fake_inject(OP_PAGEOUT, (int64_t) (4 * PS));
        fake_inject(OP_PAGEOUT, -ESRCH);
        env_drain();

        ASSERT_FALSE(env_client_alive());
        ASSERT_EQ(fake_count(OP_PAGEOUT, 0), 2);
        /* pages advised before the failure went to swap all the same, and count */
        ASSERT_U64_EQ(env.m->gone_evicted_bytes, 4 * PS);
        env_teardown();
}

/* When an iovec fails with ENOMEM (part of it unmapped: the client raced an munmap),
 * evict_pageout() skips it and goes on; only the pages of the iovecs really paged out may be
 * marked EVICTED (this once marked a prefix of the batch instead). */
TEST(inject_enomem_from_pageout_marks_only_pages_paged_out) {
        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        /* cold: page 2 and pages 8-9 */
        fake_regions_clear();
        fake_region(false, PG(0), PG(2), PAGE_IS_PRESENT | PAGE_IS_ACCESSED);
        fake_region(false, PG(2), PG(3), PAGE_IS_PRESENT);
        fake_region(false, PG(3), PG(8), PAGE_IS_PRESENT | PAGE_IS_ACCESSED);
        fake_region(false, PG(8), PG(10), PAGE_IS_PRESENT);
        fake_region(false, PG(10), PG(16), PAGE_IS_PRESENT | PAGE_IS_ACCESSED);
        run_to_pending_eviction();

        /* page 2's iovec fails (unmapped under us); the rest goes through */
        fake_inject(OP_PAGEOUT, -ENOMEM);
        env_drain();

        ASSERT_TRUE(env_client_alive());
        ASSERT_EQ(fake_count(OP_PAGEOUT, 0), 2);
        ASSERT_EQ(fake_nth(OP_PAGEOUT, 0, 1)->n_iov, 1);
        ASSERT_U64_EQ((uintptr_t) fake.iovs[fake_nth(OP_PAGEOUT, 0, 1)->iov_first].iov_base, PG(8));
        ASSERT_U64_EQ(env.c->tracker.counters.evicted_bytes, 2 * PS);
        ASSERT_TRUE(page_state(8) & PAGE_STATE_EVICTED);
        ASSERT_TRUE(page_state(9) & PAGE_STATE_EVICTED);
        ASSERT_FALSE(page_state(2) & PAGE_STATE_EVICTED);
        env_teardown();
}

TEST(inject_enoent_on_fault_rwprotect_falls_back_to_wake) {
        struct uffd_msg msg;
        size_t mark;

        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        mark = fake.n_calls;
        /* the range was unregistered (munmap racing the fault): nothing to unprotect */
        fake_inject(OP_RWPROTECT, -ENOENT);
        msg = rwp_fault(PG(3) + 7);
        ASSERT_OK(tracker_handle_fault(&env.c->tracker, &msg));

        ASSERT_OPS(mark, OP_RWPROTECT, OP_WAKE);
        ASSERT_U64_EQ(fake_nth(OP_RWPROTECT, mark, 0)->start, PG(3));
        ASSERT_U64_EQ(fake_nth(OP_WAKE, mark, 0)->start, PG(3));
        ASSERT_U64_EQ(fake_nth(OP_WAKE, mark, 0)->len, PS);
        ASSERT_EQ(env.c->tracker.counters.faults_served, 1);
        ASSERT_EQ(env.c->tracker.counters.last_error, 0);
        env_teardown();
}

TEST(inject_esrch_on_fault_rwprotect_reports_gone) {
        struct uffd_msg msg;
        size_t mark;

        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        mark = fake.n_calls;
        fake_inject(OP_RWPROTECT, -ESRCH);
        msg = rwp_fault(PG(3));
        ASSERT_ERROR(tracker_handle_fault(&env.c->tracker, &msg), ESRCH);
        /* no wake fallback and no fault counted for a process that is gone */
        ASSERT_OPS(mark, OP_RWPROTECT);
        ASSERT_EQ(env.c->tracker.counters.faults_served, 0);
        env_teardown();
}

TEST(inject_einval_on_fault_rwprotect_still_wakes) {
        struct uffd_msg msg;
        size_t mark;

        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        mark = fake.n_calls;
        /* an error the engine has no answer for: the thread must not sleep on */
        fake_inject(OP_RWPROTECT, -EINVAL);
        msg = rwp_fault(PG(5));
        (void) tracker_handle_fault(&env.c->tracker, &msg);
        ASSERT_OPS(mark, OP_RWPROTECT, OP_WAKE);
        ASSERT_U64_EQ(fake_nth(OP_WAKE, mark, 0)->start, PG(5));
        ASSERT_EQ(env.c->tracker.counters.last_error, EINVAL);
        ASSERT_EQ(env.c->tracker.n_deferred, 0);
        ASSERT_TRUE(env_client_alive());
        env_teardown();
}

TEST(inject_esrch_mid_batch_closes_the_fork_descriptors_left_unread) {
        int child_uffd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        size_t mark;

        ASSERT_OK(child_uffd);
        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        mark = fake.n_calls;
        /* a fault whose resolution finds the process gone, then a FORK of the same read */
        fake_inject(OP_RWPROTECT, -ESRCH);
        fake.msgs[fake.n_msgs++] = rwp_fault(PG(2));
        fake.msgs[fake.n_msgs++] = (struct uffd_msg){
                .event = UFFD_EVENT_FORK,
                .arg.fork = { .ufd = (uint32_t) child_uffd },
        };
        ASSERT_ERROR(client_process_events(env.c), ESRCH);
        ASSERT_OPS(mark, OP_READ_MSGS, OP_RWPROTECT);
        /* no pending fork was parked for it, and its descriptor is not ours any more */
        ASSERT_TRUE(env.m->pending_forks == NULL);
        assert_fd_closed(child_uffd);
        env_teardown();
}

/* A TRACK not done by its deadline (PROTO_TRACK_DEADLINE_USEC, shortened here) is refused with
 * nothing left registered, never left half-done while the client gives up waiting. */
TEST(track_past_its_deadline_is_refused_and_undone) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const size_t n_pages = (size_t) ((UINT64_C(600) << 20) / PS);
        ProtoRange big, small;

        env_setup(BACKEND_WP_ASYNC, n_pages);
        env.m->client_env.track_deadline_usec = 1;
        big = (ProtoRange){ .start = env.base, .len = n_pages * PS };
        ASSERT_ERROR(client_track(env.c, &big, 1, "big", NULL, 0, &e), ETIMEDOUT);
        ASSERT_TRUE(strstr(e.message, "nothing is tracked") != NULL);
        ASSERT_TRUE(fake_count(OP_REGISTER, 0) >= 1);
        ASSERT_EQ(fake_registered_pages(), 0);
        ASSERT_U64_EQ(range_set_bytes(&env.c->ranges), 0);
        sd_bus_error_free(&e);
        /* one piece, done at once: the deadline does not refuse finished work */
        small = (ProtoRange){ .start = env.base, .len = 16 * PS };
        ASSERT_OK(client_track(env.c, &small, 1, "small", NULL, 0, &e));
        ASSERT_U64_EQ(range_set_bytes(&env.c->ranges), 16 * PS);
        ASSERT_EQ(fake_registered_pages(), 16);
        env_teardown();
}

TEST(inject_eagain_on_rearm_reads_events_and_retries) {
        size_t mark;

        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        mark = fake.n_calls;
        /* the re-arm at the end of the cycle hits a queued munmap of pages 0-3 */
        fake_inject(OP_RWPROTECT, -EAGAIN);
        fake_msg_unmap(PG(0), PG(4));

        ASSERT_OK(tracker_cycle_now(&env.c->tracker));
        ASSERT_OPS(mark, OP_SET_MODE, OP_PAGEMAP_SCAN, OP_SET_MODE, OP_RWPROTECT, OP_READ_MSGS,
                   OP_RWPROTECT);
        ASSERT_TRUE(fake_nth(OP_RWPROTECT, mark, 1)->protect);
        ASSERT_U64_EQ(range_set_bytes(&env.c->ranges), 12 * PS);
        ASSERT_EQ(env.c->tracker.counters.cycles, 1);
        ASSERT_EQ(env.c->tracker.counters.last_error, 0);
        env_teardown();
}

TEST(inject_wp_async_scan_uses_wp_matching_and_never_set_mode) {
        size_t mark;

        env_setup(BACKEND_WP_ASYNC, 16);
        env_track(0, 16);
        /* armed by write-protecting, not by RWPROTECT */
        ASSERT_OPS(1, OP_WRITEPROTECT);
        ASSERT_TRUE(fake_nth(OP_WRITEPROTECT, 0, 0)->protect);
        ASSERT_U64_EQ(fake_nth(OP_WRITEPROTECT, 0, 0)->len, 16 * PS);

        /* the first picture shows nothing written; pages 2-3 are written before the
         * re-protecting pass, which must see them hot */
        all_present(16);
        fake_region(true, PG(2), PG(4), PAGE_IS_PRESENT | PAGE_IS_WRITTEN);
        mark = fake.n_calls;
        run_to_pending_eviction();
        env_drain();

        ASSERT_EQ(fake_count(OP_SET_MODE, 0), 0);
        ASSERT_EQ(fake_count(OP_RWPROTECT, 0), 0);
        ASSERT_OPS(mark, OP_PAGEMAP_SCAN, OP_PAGEMAP_SCAN, OP_PAGEMAP_SCAN, OP_PAGEMAP_SCAN,
                   OP_PAGEOUT);
        for (size_t cycle = 0; cycle < 2; cycle++) {
                const FakeCall *plain = fake_nth(OP_PAGEMAP_SCAN, mark, 2 * cycle);
                const FakeCall *wp = fake_nth(OP_PAGEMAP_SCAN, mark, 2 * cycle + 1);

                ASSERT_U64_EQ(plain->flags, 0);
                ASSERT_U64_EQ(plain->anyof_mask, PAGE_IS_PRESENT | PAGE_IS_SWAPPED);
                ASSERT_TRUE(plain->return_mask & PAGE_IS_WRITTEN);
                ASSERT_U64_EQ(wp->flags, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC);
                ASSERT_U64_EQ(wp->category_mask, PAGE_IS_WRITTEN);
                ASSERT_U64_EQ(wp->return_mask, PAGE_IS_WRITTEN);
                ASSERT_U64_EQ(wp->start, PG(0)); /* re-arm period 1: the whole range is due */
                ASSERT_U64_EQ(wp->len, 16 * PS);
        }
        /* pages 2-3, written, stay */
        ASSERT_EQ(fake_nth(OP_PAGEOUT, mark, 0)->n_iov, 2);
        ASSERT_U64_EQ((uintptr_t) fake.iovs[0].iov_base, PG(0));
        ASSERT_U64_EQ(fake.iovs[0].iov_len, 2 * PS);
        ASSERT_U64_EQ((uintptr_t) fake.iovs[1].iov_base, PG(4));
        ASSERT_U64_EQ(fake.iovs[1].iov_len, 12 * PS);
        ASSERT_EQ(env.c->tracker.counters.cycles, 2);
        env_teardown();
}

/* Adaptive arming through the engine: a range written all over every cycle is re-protected
 * (PM_SCAN_WP_MATCHING) less and less often; with --arm-level-max=0, every cycle. A cycle in
 * which part of it was not written puts it back on the fixed schedule. */
static size_t wp_scans_over(unsigned cycles, size_t from) {
        for (unsigned i = 0; i < cycles; i++)
                ASSERT_OK(tracker_cycle_now(&env.c->tracker));
        size_t n = 0;
        for (size_t i = from; i < fake.n_calls; i++)
                n += fake.calls[i].op == OP_PAGEMAP_SCAN &&
                        (fake.calls[i].flags & PM_SCAN_WP_MATCHING);
        return n;
}

TEST(inject_wp_async_hot_chunk_is_rearmed_less_often) {
        size_t mark, n;

        env_setup(BACKEND_WP_ASYNC, 16);
        env.m->config->policies.default_policy.dry_run =
                true; /* the cycles here must not wait for an eviction */
        env_track(0, 16);
        fake_regions_clear();
        fake_region(false, PG(0), PG(16), PAGE_IS_PRESENT | PAGE_IS_WRITTEN);
        mark = fake.n_calls;
        /* re-arm period 1, levels climbing 1, 2, 3: due at most once per 1, 2, 4, then 8
         * cycles (the phase depends on the chunk's address): 3 to 5 of 16 instead of 16 */
        n = wp_scans_over(16, mark);
        ASSERT_TRUE(n >= 3 && n <= 5);
        ASSERT_EQ(arm_levels_get(&env.c->tracker.arm_levels, PG(0) >> CLASSIFY_CHUNK_SHIFT), 3);

        /* pages 0-3 no longer written: at the chunk's next arming it falls back to level 0 */
        fake_regions_clear();
        fake_region(false, PG(0), PG(4), PAGE_IS_PRESENT);
        fake_region(false, PG(4), PG(16), PAGE_IS_PRESENT | PAGE_IS_WRITTEN);
        mark = fake.n_calls;
        ASSERT_TRUE(wp_scans_over(8, mark) >= 1); /* the level-3 arming, then every cycle */
        ASSERT_EQ(arm_levels_get(&env.c->tracker.arm_levels, PG(0) >> CLASSIFY_CHUNK_SHIFT), 0);
        mark = fake.n_calls;
        ASSERT_EQ(wp_scans_over(4, mark), 4);
        env_teardown();
}

TEST(inject_wp_async_fixed_schedule_with_arm_level_max_0) {
        size_t mark;

        env_setup(BACKEND_WP_ASYNC, 16);
        env.m->config->policies.default_policy.arm_level_max = 0;
        env_track(0, 16);
        fake_regions_clear();
        fake_region(false, PG(0), PG(16), PAGE_IS_PRESENT | PAGE_IS_WRITTEN);
        mark = fake.n_calls;
        ASSERT_EQ(wp_scans_over(16, mark), 16);
        env_teardown();
}

TEST(inject_eperm_from_wp_matching_scan_skips_range_and_records_error) {
        size_t mark;

        env_setup(BACKEND_WP_ASYNC, 16);
        env_track(0, 16);
        all_present(16);
        mark = fake.n_calls;
        /* a VMA in the range is not registered wp-async (PM_SCAN_CHECK_WPASYNC) */
        fake_inject(OP_PAGEMAP_SCAN, FAKE_PASS);
        fake_inject(OP_PAGEMAP_SCAN, -EPERM);

        ASSERT_OK(tracker_cycle_now(&env.c->tracker));
        ASSERT_OPS(mark, OP_PAGEMAP_SCAN, OP_PAGEMAP_SCAN);
        ASSERT_EQ(env.c->tracker.counters.last_error, EPERM);
        ASSERT_EQ(env.c->tracker.counters.cycles, 1);
        ASSERT_FALSE(env.c->tracker.in_cycle);
        /* the range was not aged on a half-done scan */
        ASSERT_EQ(page_state(0), 0);
        ASSERT_TRUE(env_client_alive());
        env_teardown();
}

/* PAGEMAP_SCAN does not wait for pending uffd events, so an EAGAIN from it is an error like any
 * other: the range is skipped this cycle and the engine does not read events in the middle of
 * the scan loop (doing so once freed the range array under it: a use-after-free this test caught).
 * The pending UNMAP is applied when the uffd source runs. */
TEST(inject_eagain_on_wp_matching_scan_skips_range_events_applied_after) {
        size_t mark;

        env_setup(BACKEND_WP_ASYNC, 16);
        env_track(0, 16);
        all_present(16);
        ASSERT_OK(tracker_cycle_now(&env.c->tracker));

        mark = fake.n_calls;
        fake_inject(OP_PAGEMAP_SCAN, FAKE_PASS);
        fake_inject(OP_PAGEMAP_SCAN, -EAGAIN);
        fake_msg_unmap(PG(4), PG(8));
        ASSERT_OK(tracker_cycle_now(&env.c->tracker));
        env_drain();
        ASSERT_EQ(fake_count(OP_READ_MSGS, mark), 0);
        ASSERT_EQ(env.c->tracker.counters.last_error, EAGAIN);
        ASSERT_OK(client_process_events(env.c));

        ASSERT_TRUE(fake_count(OP_READ_MSGS, mark) >= 1);
        ASSERT_EQ(env.c->ranges.n_ranges, 2);
        ASSERT_U64_EQ(range_set_bytes(&env.c->ranges), 12 * PS);
        /* nothing unmapped is paged out */
        for (size_t i = 0; i < fake.n_iovs; i++) {
                uint64_t a = (uintptr_t) fake.iovs[i].iov_base, e = a + fake.iovs[i].iov_len;
                ASSERT_TRUE(e <= PG(4) || a >= PG(8));
        }
        /* every page left was aged once or twice, never scrambled */
        for (size_t i = 0; i < 16; i++)
                if (i < 4 || i >= 8)
                        ASSERT_TRUE((page_state(i) & PAGE_STATE_AGE_MASK) >= 1 &&
                                    (page_state(i) & PAGE_STATE_AGE_MASK) <= 2);
        ASSERT_EQ(env.c->tracker.counters.cycles, 2);
        env_teardown();
}

TEST(inject_canned_scan_cold_page_is_evicted_exactly) {
        size_t mark;

        env_setup(BACKEND_RWP, 16);
        env_track(0, 16);
        /* page 3 present and never accessed, everything else accessed every cycle */
        fake_regions_clear();
        fake_region(false, PG(0), PG(3), PAGE_IS_PRESENT | PAGE_IS_ACCESSED);
        fake_region(false, PG(3), PG(4), PAGE_IS_PRESENT);
        fake_region(false, PG(4), PG(16), PAGE_IS_PRESENT | PAGE_IS_ACCESSED);

        /* cold age 2 s at a 1 s interval: one cycle is not enough */
        ASSERT_OK(tracker_cycle_now(&env.c->tracker));
        ASSERT_FALSE(env.c->tracker.in_cycle);
        ASSERT_EQ(fake_count(OP_PAGEOUT, 0), 0);

        mark = fake.n_calls;
        ASSERT_OK(tracker_cycle_now(&env.c->tracker));
        ASSERT_TRUE(env.c->tracker.in_cycle);
        env_drain();
        /* paged out inside the sync window, then back to async and re-armed */
        ASSERT_OPS(mark, OP_SET_MODE, OP_PAGEMAP_SCAN, OP_PAGEOUT, OP_SET_MODE, OP_RWPROTECT);
        ASSERT_EQ(fake_nth(OP_PAGEOUT, mark, 0)->n_iov, 1);
        ASSERT_EQ(fake_nth(OP_PAGEOUT, mark, 0)->fd, env.fds[1]); /* the pidfd */
        ASSERT_U64_EQ((uintptr_t) fake.iovs[0].iov_base, PG(3));
        ASSERT_U64_EQ(fake.iovs[0].iov_len, PS);
        ASSERT_TRUE(page_state(3) & PAGE_STATE_EVICTED);
        for (size_t i = 0; i < 16; i++)
                if (i != 3)
                        ASSERT_FALSE(page_state(i) & PAGE_STATE_EVICTED);
        ASSERT_U64_EQ(env.c->tracker.counters.evicted_bytes, PS);
        ASSERT_EQ(env.c->tracker.counters.cycles, 2);
        ASSERT_FALSE(env.c->tracker.sync);

        /* in swap now: stays EVICTED and is not paged out again */
        fake.regions[1].categories = PAGE_IS_SWAPPED;
        mark = fake.n_calls;
        ASSERT_OK(tracker_cycle_now(&env.c->tracker));
        ASSERT_FALSE(env.c->tracker.in_cycle);
        ASSERT_EQ(fake_count(OP_PAGEOUT, mark), 0);
        ASSERT_TRUE(page_state(3) & PAGE_STATE_EVICTED);

        /* touched again: a refault */
        fake.regions[1].categories = PAGE_IS_PRESENT | PAGE_IS_ACCESSED;
        ASSERT_OK(tracker_cycle_now(&env.c->tracker));
        ASSERT_FALSE(page_state(3) & PAGE_STATE_EVICTED);
        ASSERT_U64_EQ(env.c->tracker.counters.refaulted_bytes, PS);
        env_teardown();
}

/* A sync window left open (the eviction cannot go on: here the eviction timer is held off, as a
 * flood of requests at a higher priority would) is closed by its own timer after
 * sync_window_max_usec: back to async, the cycle's evictions dropped, the cycle over. */
TEST(inject_sync_window_is_bounded_in_time) {
        size_t mark;

        env_setup(BACKEND_RWP, 16);
        env.m->client_env.tracker.sync_window_max_usec = 50 * USEC_PER_MSEC;
        env_track(0, 16);
        all_present(16);
        run_to_pending_eviction();
        ASSERT_TRUE(env.c->tracker.sync);
        /* the eviction never gets its turn */
        ASSERT_OK(sd_event_source_set_enabled(env.c->tracker.evict_timer, SD_EVENT_OFF));

        mark = fake.n_calls;
        for (unsigned i = 0; i < 1000 && env.c->tracker.sync; i++)
                ASSERT_OK(sd_event_run(env.m->event, 10 * USEC_PER_MSEC));
        ASSERT_FALSE(env.c->tracker.sync);
        ASSERT_FALSE(env.c->tracker.in_cycle);
        ASSERT_EQ(fake_count(OP_PAGEOUT, mark), 0);
        ASSERT_OPS(mark, OP_SET_MODE, OP_RWPROTECT);
        ASSERT_U64_EQ(env.c->tracker.counters.sync_windows_cut, 1);
        ASSERT_CMP(env.c->tracker.counters.last_sync_window_usec, >=, 50 * USEC_PER_MSEC);
        ASSERT_CMP(env.c->tracker.counters.last_sync_window_usec, <, 5 * USEC_PER_SEC);
        ASSERT_EQ(env.c->tracker.evict_runs.n_runs, 0);

        /* a window that cannot be closed at first is tried again (the pages are still cold) */
        ASSERT_OK(tracker_cycle_now(&env.c->tracker));
        ASSERT_TRUE(env.c->tracker.in_cycle);
        ASSERT_OK(sd_event_source_set_enabled(env.c->tracker.evict_timer, SD_EVENT_OFF));
        fake_inject(OP_SET_MODE, -EIO);
        for (unsigned i = 0; i < 1000 && env.c->tracker.sync; i++)
                ASSERT_OK(sd_event_run(env.m->event, 10 * USEC_PER_MSEC));
        ASSERT_FALSE(env.c->tracker.sync);
        ASSERT_U64_EQ(env.c->tracker.counters.sync_windows_cut, 2);
        env_teardown();
}

/* A uffd whose reads keep failing (EMFILE: a FORK event's descriptor cannot be installed, and
 * the event stays queued, so the uffd stays readable) is not read again at once: the source
 * rests, longer each time, and the client is dropped after 8 failures in a row. The loop never
 * spins on it, and the watchdog's progress counters see only failures. */
TEST(inject_emfile_from_read_backs_off_then_drops_the_client) {
        uint64_t t0;

        env_setup(BACKEND_WP_ASYNC, 16);
        env_track(0, 16);
        for (unsigned i = 0; i < 20; i++)
                fake_inject(OP_READ_MSGS, -EMFILE);
        ASSERT_OK(eventfd_write(env.fds[0], 1)); /* the "uffd" is readable from now on */
        t0 = now_usec();
        for (unsigned i = 0; i < 5000 && env_client_alive(); i++)
                ASSERT_OK(sd_event_run(env.m->event, 100 * USEC_PER_MSEC));
        ASSERT_FALSE(env_client_alive());
        ASSERT_EQ(fake_count(OP_READ_MSGS, 0), 8);
        /* 10 + 20 + ... + 640 ms of rest between the reads */
        ASSERT_CMP(now_usec() - t0, >=, 1270 * USEC_PER_MSEC);
        ASSERT_U64_EQ(env.m->progress.reads_failed, 8);
        ASSERT_U64_EQ(env.m->progress.reads_ok, 0);
        env_teardown();
}

static struct uffd_msg fork_msg(int fd) {
        return (struct uffd_msg){ .event = UFFD_EVENT_FORK, .arg.fork.ufd = (uint32_t) fd };
}

/* FORK events beyond forks_pending_per_client wait for nothing: their descriptor is closed at
 * once (the child runs on untracked), the others wait for their child. */
TEST(inject_pending_forks_are_capped) {
        int fds[4];

        env_setup(BACKEND_WP_ASYNC, 16);
        env.m->config->limits.forks_pending_per_client = 2;
        env_track(0, 16);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                fds[i] = eventfd(0, EFD_CLOEXEC);
                ASSERT_OK(fds[i]);
                fake.msgs[fake.n_msgs++] = fork_msg(fds[i]);
        }
        ASSERT_OK(client_process_events(env.c));
        ASSERT_TRUE(env.m->pending_forks != NULL);
        ASSERT_U64_EQ(env.m->forks_refused, 2);
        ASSERT_U64_EQ(env.c->forks_refused, 2);
        ASSERT_TRUE(fcntl(fds[0], F_GETFD) >= 0);
        ASSERT_TRUE(fcntl(fds[1], F_GETFD) >= 0);
        assert_fd_closed(fds[2]);
        assert_fd_closed(fds[3]);
        env_teardown(); /* the manager closes the pending ones */
        assert_fd_closed(fds[0]);
        assert_fd_closed(fds[1]);
}

/* The watchdog's rule: an idle loop progresses, one whose reads only failed does not. */
TEST(loop_progress_rule) {
        LoopProgress a = {}, b = {};

        ASSERT_TRUE(loop_progressing(&b, &a)); /* idle */
        b.reads_ok = 3;
        ASSERT_TRUE(loop_progressing(&b, &a));
        b.reads_failed = 5;
        ASSERT_TRUE(loop_progressing(&b, &a)); /* some failed, some did not */
        a = b;
        b.reads_failed = 9;
        ASSERT_FALSE(loop_progressing(&b, &a)); /* only failures since */
}
