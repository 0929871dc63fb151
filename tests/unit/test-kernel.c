/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel layer against the real kernel (userfaultfd write-protect, PAGEMAP_SCAN,
 * process_madvise) on the test's own memory, plus "fake_" tests that drive pagemap_scan_range()
 * through a scripted KernelOps to produce what the kernel won't on demand. The real tests need
 * root and a 6.7+ kernel and skip (77) with the reason otherwise. The pageout tests add a
 * temporary swapfile when the machine has no swap, and remove it whatever happens. */

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evict.h"
#include "fileio.h"
#include "macro.h"
#include "pagemap.h"
#include "test.h"
#include "uffd.h"

#define MIB (UINT64_C(1) << 20)

static uint64_t ptr_u64(const void *p) {
        return (uint64_t) (uintptr_t) p;
}

/* ---- fake: scripted PAGEMAP_SCAN ---- */

typedef struct ScanStep {
        uint64_t expect_start;
        uint64_t expect_max_pages;
        int ret; /* regions returned, or -errno */
        struct page_region regions[4];
        uint64_t walk_end;
} ScanStep;

static const ScanStep *scan_script;
static size_t scan_script_len, scan_script_pos;
static struct pm_scan_arg last_arg;

static int fake_pagemap_scan(int fd, struct pm_scan_arg *arg) {
        const ScanStep *s;

        if (scan_script_pos >= scan_script_len)
                test_fail(__FILE__, __LINE__, "unexpected PAGEMAP_SCAN call %zu", scan_script_pos);
        s = &scan_script[scan_script_pos++];
        last_arg = *arg;
        ASSERT_EQ(fd, 7);
        ASSERT_U64_EQ(arg->size, sizeof(struct pm_scan_arg));
        ASSERT_U64_EQ(arg->start, s->expect_start);
        ASSERT_U64_EQ(arg->max_pages, s->expect_max_pages);
        ASSERT_U64_EQ(arg->vec_len, PAGEMAP_SCAN_BATCH_REGIONS);
        ASSERT_TRUE(arg->vec != 0);
        if (s->ret > 0)
                memcpy((void *) (uintptr_t) arg->vec, s->regions,
                       s->ret * sizeof(struct page_region));
        arg->walk_end = s->walk_end;
        return s->ret;
}

static const KernelOps fake_scan_ops = { .pagemap_scan = fake_pagemap_scan };

static int run_scan(const ScanStep *steps, size_t n, uint64_t start, uint64_t end,
                    uint64_t max_pages, PageRegionVec *out) {
        int r;

        scan_script = steps;
        scan_script_len = n;
        scan_script_pos = 0;
        r = pagemap_scan_range(&fake_scan_ops, 7, start, end, PM_SCAN_WP_MATCHING, PAGE_IS_WRITTEN,
                               0, PAGE_IS_WRITTEN | PAGE_IS_PRESENT, max_pages, out);
        ASSERT_EQ(scan_script_pos, scan_script_len);
        return r;
}

#define W PAGE_IS_WRITTEN
#define WP (PAGE_IS_WRITTEN | PAGE_IS_PRESENT)

TEST(fake_scan_continuation_merges) {
        /* The kernel stops twice (its vector full), the second time in the middle of a run: the
         * run's two halves come back in different calls and must be joined. */
        const ScanStep steps[] = {
                { 0x100000,
                  0,
                  2,
                  { { 0x100000, 0x102000, W }, { 0x105000, 0x107000, W } },
                  0x107000 },
                { 0x107000,
                  0,
                  2,
                  { { 0x107000, 0x109000, W }, { 0x109000, 0x10a000, WP } },
                  0x180000 },
                { 0x180000, 0, 0, {}, 0x200000 },
        };
        _cleanup_(page_region_vec_done) PageRegionVec v = {};

        ASSERT_EQ(run_scan(steps, ELEMENTSOF(steps), 0x100000, 0x200000, 0, &v), 0);
        ASSERT_EQ(v.n, 3);
        ASSERT_U64_EQ(v.regions[0].start, 0x100000);
        ASSERT_U64_EQ(v.regions[0].end, 0x102000);
        ASSERT_U64_EQ(v.regions[1].start, 0x105000);
        ASSERT_U64_EQ(v.regions[1].end, 0x109000);
        ASSERT_U64_EQ(v.regions[1].categories, W);
        ASSERT_U64_EQ(v.regions[2].start, 0x109000);
        ASSERT_U64_EQ(v.regions[2].categories, WP);
        /* what was asked of the kernel */
        ASSERT_U64_EQ(last_arg.flags, PM_SCAN_WP_MATCHING);
        ASSERT_U64_EQ(last_arg.end, 0x200000);
        ASSERT_U64_EQ(last_arg.category_mask, W);
        ASSERT_U64_EQ(last_arg.category_inverted, 0);
        ASSERT_U64_EQ(last_arg.return_mask, WP);
        ASSERT_U64_EQ(page_region_vec_bytes(&v), 0x2000 + 0x4000 + 0x1000);

        /* appending to a vector that already ends where the scan starts merges there too */
        const ScanStep more[] = { { 0x200000, 0, 1, { { 0x200000, 0x201000, WP } }, 0x300000 } };
        v.regions[2].end = 0x200000;
        ASSERT_EQ(run_scan(more, 1, 0x200000, 0x300000, 0, &v), 0);
        ASSERT_EQ(v.n, 3);
        ASSERT_U64_EQ(v.regions[2].end, 0x201000);
}

TEST(fake_scan_max_pages_budget) {
        /* The budget spans the calls: 10 pages, 4 found in the first call, so the second may
         * report 6; it reports 6 and stops mid-range: "resume later" (1). */
        const ScanStep steps[] = {
                { 0x100000, 10, 1, { { 0x100000, 0x104000, W } }, 0x110000 },
                { 0x110000,
                  6,
                  2,
                  { { 0x110000, 0x112000, W }, { 0x120000, 0x124000, W } },
                  0x124000 },
        };
        _cleanup_(page_region_vec_done) PageRegionVec v = {};

        ASSERT_EQ(run_scan(steps, ELEMENTSOF(steps), 0x100000, 0x200000, 10, &v), 1);
        ASSERT_EQ(v.n, 3);
        ASSERT_U64_EQ(v.regions[v.n - 1].end, 0x124000); /* the resume point */

        /* budget used up exactly at the end of the range: complete (0) */
        const ScanStep exact[] = { { 0x100000, 2, 1, { { 0x1fe000, 0x200000, W } }, 0x200000 } };
        page_region_vec_clear(&v);
        ASSERT_EQ(run_scan(exact, 1, 0x100000, 0x200000, 2, &v), 0);
}

TEST(fake_scan_errors_restore_out) {
        /* ESRCH in the second call (the client died mid-cycle): out is as before, including the
         * pre-existing last region that the first call had extended by merging. */
        const ScanStep esrch[] = {
                { 0x100000, 0, 1, { { 0x100000, 0x101000, W } }, 0x101000 },
                { 0x101000, 0, -ESRCH, {}, 0 },
        };
        _cleanup_(page_region_vec_done) PageRegionVec v = {};

        ASSERT_OK(page_region_vec_append(&v, 0xf0000, 0x100000, W));
        ASSERT_ERROR(run_scan(esrch, ELEMENTSOF(esrch), 0x100000, 0x200000, 0, &v), ESRCH);
        ASSERT_EQ(v.n, 1);
        ASSERT_U64_EQ(v.regions[0].end, 0x100000);

        /* the kernel's errno comes back unchanged */
        const ScanStep enotty[] = { { 0x100000, 0, -ENOTTY, {}, 0 } };
        ASSERT_ERROR(run_scan(enotty, 1, 0x100000, 0x200000, 0, &v), ENOTTY);

        /* walk_end that does not advance, or goes past the end: -EIO, no endless loop */
        const ScanStep stuck[] = { { 0x100000, 0, 0, {}, 0x100000 } };
        ASSERT_ERROR(run_scan(stuck, 1, 0x100000, 0x200000, 0, &v), EIO);
        const ScanStep past[] = { { 0x100000, 0, 0, {}, 0x300000 } };
        ASSERT_ERROR(run_scan(past, 1, 0x100000, 0x200000, 0, &v), EIO);
        /* regions out of order, or beyond walk_end */
        const ScanStep unordered[] = {
                { 0x100000,
                  0,
                  2,
                  { { 0x105000, 0x106000, W }, { 0x101000, 0x102000, W } },
                  0x200000 },
        };
        ASSERT_ERROR(run_scan(unordered, 1, 0x100000, 0x200000, 0, &v), EIO);
        const ScanStep beyond[] = { { 0x100000, 0, 1, { { 0x105000, 0x106000, W } }, 0x104000 } };
        ASSERT_ERROR(run_scan(beyond, 1, 0x100000, 0x200000, 0, &v), EIO);
        ASSERT_EQ(v.n, 1);

        /* unaligned or empty ranges never reach the kernel */
        ASSERT_ERROR(run_scan(NULL, 0, 0x100001, 0x200000, 0, &v), EINVAL);
        ASSERT_ERROR(run_scan(NULL, 0, 0x100000, 0x200001, 0, &v), EINVAL);
        ASSERT_ERROR(run_scan(NULL, 0, 0x200000, 0x200000, 0, &v), EINVAL);
}

/* ---- real kernel ---- */

static uint64_t wp_features(void) {
        return UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
}

/* Skips unless root with a userfaultfd that offers WP_ASYNC (6.7+). */
static void require_uffd_wp_async(void) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t features = 0;
        int r;

        if (geteuid() != 0)
                SKIP("needs root (userfaultfd, process_madvise with CAP_SYS_NICE, swapon)");
        r = uffd_open(UFFD_DEVICE_PATH, false, &fd);
        if (r < 0)
                SKIP("no userfaultfd: %s", strerror(-r));
        r = kernel_ops_real.api(fd, 0, &features, NULL);
        if (r < 0)
                SKIP("UFFDIO_API failed: %s", strerror(-r));
        if ((features & wp_features()) != wp_features())
                SKIP("kernel lacks UFFD_FEATURE_WP_ASYNC/WP_UNPOPULATED (6.7+): features %#" PRIx64,
                     features);
}

typedef struct WpArea {
        int uffd;
        int pagemap_fd;
        uint8_t *base;
        size_t size;
} WpArea;

/* An anonymous mapping registered MODE_WP with a wp-async uffd, write-protected whole. */
static void wp_area_setup(WpArea *a, size_t size) {
        uint64_t ioctls = 0;

        *a = (WpArea){ .uffd = -EBADF, .pagemap_fd = -EBADF, .size = size };
        ASSERT_OK(uffd_open(UFFD_DEVICE_PATH, false, &a->uffd));
        ASSERT_OK(kernel_ops_real.api(a->uffd, wp_features(), NULL, NULL));
        a->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(a->base != MAP_FAILED);
        ASSERT_OK(kernel_ops_real.register_range(a->uffd, ptr_u64(a->base), size,
                                                 UFFDIO_REGISTER_MODE_WP, &ioctls));
        ASSERT_TRUE(ioctls & (UINT64_C(1) << _UFFDIO_WRITEPROTECT));
        ASSERT_OK(kernel_ops_real.writeprotect(a->uffd, ptr_u64(a->base), size, true));
        a->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(a->pagemap_fd >= 0);
}

static void wp_area_done(WpArea *a) {
        safe_close(a->pagemap_fd);
        safe_close(a->uffd);
        if (a->base && a->base != MAP_FAILED)
                munmap(a->base, a->size);
}

/* Written pages of the area, re-protecting them (the wp-async backend's re-arming scan). */
static int scan_written(const KernelOps *ops, const WpArea *a, uint64_t from, uint64_t max_pages,
                        PageRegionVec *out) {
        return pagemap_scan_range(ops, a->pagemap_fd, from, ptr_u64(a->base) + a->size,
                                  PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, PAGE_IS_WRITTEN, 0,
                                  PAGE_IS_WRITTEN, max_pages, out);
}

static void assert_region(const PageRegionVec *v, size_t i, const WpArea *a, size_t first_page,
                          size_t end_page, uint64_t categories) {
        const size_t ps = page_size();

        ASSERT_TRUE(i < v->n);
        ASSERT_U64_EQ(v->regions[i].start, ptr_u64(a->base) + first_page * ps);
        ASSERT_U64_EQ(v->regions[i].end, ptr_u64(a->base) + end_page * ps);
        ASSERT_U64_EQ(v->regions[i].categories, categories);
}

TEST(wp_async_written_pages_and_rearm) {
        _cleanup_(page_region_vec_done) PageRegionVec v = {};
        const size_t ps = page_size();
        WpArea a;
        uint64_t t0, t1;

        require_uffd_wp_async();
        wp_area_setup(&a, 16 * MIB);

        for (size_t p = 3; p <= 7; p++)
                a.base[p * ps] = 1;

        t0 = now_usec();
        ASSERT_EQ(scan_written(&kernel_ops_real, &a, ptr_u64(a.base), 0, &v), 0);
        t1 = now_usec();
        ASSERT_EQ(v.n, 1);
        assert_region(&v, 0, &a, 3, 8, PAGE_IS_WRITTEN);
        printf("  # PAGEMAP_SCAN(WP_MATCHING) of 16 MiB, 5 pages written: %" PRIu64 " us\n",
               t1 - t0);

        /* the scan re-protected them: nothing the second time */
        page_region_vec_clear(&v);
        ASSERT_EQ(scan_written(&kernel_ops_real, &a, ptr_u64(a.base), 0, &v), 0);
        ASSERT_EQ(v.n, 0);

        /* and writes after the scan show up again, the last page included */
        a.base[4 * ps] = 2;
        a.base[a.size - 1] = 3;
        ASSERT_EQ(scan_written(&kernel_ops_real, &a, ptr_u64(a.base), 0, &v), 0);
        ASSERT_EQ(v.n, 2);
        assert_region(&v, 0, &a, 4, 5, PAGE_IS_WRITTEN);
        assert_region(&v, 1, &a, a.size / ps - 1, a.size / ps, PAGE_IS_WRITTEN);

        /* a picture without re-arming: present and written categories, written only where
         * written since the last scan (nothing now) */
        page_region_vec_clear(&v);
        ASSERT_EQ(pagemap_scan_range(&kernel_ops_real, a.pagemap_fd, ptr_u64(a.base),
                                     ptr_u64(a.base) + a.size, 0, 0,
                                     PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
                                     PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_WRITTEN, 0, &v),
                  0);
        /* Kernel quirk: with WP_UNPOPULATED, write-protecting an unpopulated page installs a PTE
         * marker, a non-present "swap" entry, and PAGEMAP_SCAN reports it as PAGE_IS_SWAPPED.
         * In a wp-async range, SWAPPED means "swapped out or never populated". */
        ASSERT_EQ(v.n, 4);
        assert_region(&v, 0, &a, 0, 3, PAGE_IS_SWAPPED);
        assert_region(&v, 1, &a, 3, 8, PAGE_IS_PRESENT);
        assert_region(&v, 2, &a, 8, a.size / ps - 1, PAGE_IS_SWAPPED);
        assert_region(&v, 3, &a, a.size / ps - 1, a.size / ps, PAGE_IS_PRESENT);

        /* timings with every page populated */
        memset(a.base, 0x5a, a.size);
        page_region_vec_clear(&v);
        t0 = now_usec();
        ASSERT_EQ(scan_written(&kernel_ops_real, &a, ptr_u64(a.base), 0, &v), 0);
        t1 = now_usec();
        ASSERT_EQ(v.n, 1);
        assert_region(&v, 0, &a, 0, a.size / ps, PAGE_IS_WRITTEN);
        printf("  # PAGEMAP_SCAN(WP_MATCHING) re-arming 16 MiB, all written: %" PRIu64 " us\n",
               t1 - t0);
        t0 = now_usec();
        ASSERT_OK(kernel_ops_real.writeprotect(a.uffd, ptr_u64(a.base), a.size, true));
        t1 = now_usec();
        printf("  # UFFDIO_WRITEPROTECT of 16 MiB populated: %" PRIu64 " us\n", t1 - t0);

        wp_area_done(&a);
}

static unsigned scan_calls;

static int counting_pagemap_scan(int fd, struct pm_scan_arg *arg) {
        scan_calls++;
        return kernel_ops_real.pagemap_scan(fd, arg);
}

TEST(wp_async_walk_end_continuation) {
        _cleanup_(page_region_vec_done) PageRegionVec v = {};
        const size_t ps = page_size();
        KernelOps ops = kernel_ops_real;
        WpArea a;
        size_t n_pages;

        require_uffd_wp_async();
        wp_area_setup(&a, 16 * MIB);
        n_pages = a.size / ps;
        ops.pagemap_scan = counting_pagemap_scan;

        /* every other page: 2048 one-page regions, four times the region buffer */
        for (size_t p = 0; p < n_pages; p += 2)
                a.base[p * ps] = 1;
        scan_calls = 0;
        ASSERT_EQ(scan_written(&ops, &a, ptr_u64(a.base), 0, &v), 0);
        ASSERT_EQ(v.n, n_pages / 2);
        ASSERT_EQ(scan_calls, DIV_ROUND_UP(n_pages / 2, PAGEMAP_SCAN_BATCH_REGIONS));
        for (size_t i = 0; i < v.n; i++)
                assert_region(&v, i, &a, 2 * i, 2 * i + 1, PAGE_IS_WRITTEN);
        /* all re-armed, none lost at the call boundaries */
        page_region_vec_clear(&v);
        scan_calls = 0;
        ASSERT_EQ(scan_written(&ops, &a, ptr_u64(a.base), 0, &v), 0);
        ASSERT_EQ(v.n, 0);
        ASSERT_EQ(scan_calls, 1);

        /* max_pages: only the pages reported are re-protected, the rest stay written */
        for (size_t p = 10; p < 20; p++)
                a.base[p * ps] = 2;
        ASSERT_EQ(scan_written(&ops, &a, ptr_u64(a.base), 4, &v), 1);
        ASSERT_EQ(v.n, 1);
        assert_region(&v, 0, &a, 10, 14, PAGE_IS_WRITTEN);
        page_region_vec_clear(&v);
        ASSERT_EQ(scan_written(&ops, &a, ptr_u64(a.base), 0, &v), 0);
        ASSERT_EQ(v.n, 1);
        assert_region(&v, 0, &a, 14, 20, PAGE_IS_WRITTEN);

        /* a tiny budget, resumed at the end of the last region each time: one page per call,
         * the run comes back whole because the pieces are merged */
        for (size_t p = 30; p < 40; p++)
                a.base[p * ps] = 3;
        page_region_vec_clear(&v);
        uint64_t from = ptr_u64(a.base);
        int r;
        scan_calls = 0;
        while ((r = scan_written(&ops, &a, from, 1, &v)) == 1)
                from = v.regions[v.n - 1].end;
        ASSERT_EQ(r, 0);
        ASSERT_EQ(scan_calls, 10);
        ASSERT_EQ(v.n, 1);
        assert_region(&v, 0, &a, 30, 40, PAGE_IS_WRITTEN);

        wp_area_done(&a);
}

static ssize_t read_msgs_once(int uffd) {
        struct uffd_msg msgs[4];

        return kernel_ops_real.read_msgs(uffd, msgs, ELEMENTSOF(msgs));
}

TEST(kernel_errnos) {
        _cleanup_close_ int fresh = -EBADF, twice = -EBADF, sys = -EBADF, umo = -EBADF;
        _cleanup_(page_region_vec_done) PageRegionVec v = {};
        const size_t ps = page_size();
        WpArea a;
        uint8_t *hole;
        struct pm_scan_arg arg;

        require_uffd_wp_async();

        /* the syscall path, and a device path that does not exist falling back to it */
        ASSERT_OK(uffd_open(NULL, false, &sys));
        ASSERT_OK(uffd_open("/nonexistent/userfaultfd", true, &umo));
        ASSERT_TRUE(fcntl(sys, F_GETFL) & O_NONBLOCK);
        ASSERT_TRUE(fcntl(umo, F_GETFD) & FD_CLOEXEC);

        /* nothing works before UFFDIO_API, read included */
        ASSERT_OK(uffd_open(UFFD_DEVICE_PATH, false, &fresh));
        ASSERT_ERROR(read_msgs_once(fresh), EINVAL);
        /* UFFDIO_API succeeds once per fd */
        ASSERT_OK(uffd_open(UFFD_DEVICE_PATH, false, &twice));
        ASSERT_OK(kernel_ops_real.api(twice, 0, NULL, NULL));
        ASSERT_ERROR(kernel_ops_real.api(twice, 0, NULL, NULL), EINVAL);
        /* an unknown feature bit: EINVAL, and the kernel zeroes the answer */
        uint64_t f = 1, io = 1;
        ASSERT_ERROR(kernel_ops_real.api(fresh, UINT64_C(1) << 62, &f, &io), EINVAL);
        ASSERT_TRUE(f == 1 && io == 1); /* out-parameters untouched on failure */

        wp_area_setup(&a, 4 * MIB);
        ASSERT_EQ(read_msgs_once(a.uffd), 0); /* nothing pending */

        /* no RWP on this kernel: the ioctls are unknown to userfaultfd */
        int r = kernel_ops_real.rwprotect(a.uffd, ptr_u64(a.base), ps, true, false);
        int r2 = kernel_ops_real.set_mode(a.uffd, UFFD_FEATURE_RWP_ASYNC, 0);
        printf("  # RWPROTECT on a non-RWP kernel: %d (%s), SET_MODE: %d (%s)\n", r, strerror(-r),
               r2, strerror(-r2));
        ASSERT_TRUE(r < 0 && r2 < 0);

        /* write-protecting memory that is not registered */
        hole = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(hole != MAP_FAILED);
        ASSERT_ERROR(kernel_ops_real.writeprotect(a.uffd, ptr_u64(hole), ps, true), ENOENT);
        /* CHECK_WPASYNC over memory that is not wp-async */
        ASSERT_ERROR(pagemap_scan_range(&kernel_ops_real, a.pagemap_fd, ptr_u64(hole),
                                        ptr_u64(hole) + 3 * ps,
                                        PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
                                        PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 0, &v),
                     EPERM);
        /* registering across a hole */
        ASSERT_OK(munmap(hole + ps, ps));
        /* registering and write-protecting across a hole: the kernel takes the VMAs there are */
        ASSERT_OK(kernel_ops_real.register_range(a.uffd, ptr_u64(hole), 3 * ps,
                                                 UFFDIO_REGISTER_MODE_WP, NULL));
        ASSERT_OK(kernel_ops_real.writeprotect(a.uffd, ptr_u64(hole), 3 * ps, true));
        ASSERT_OK(kernel_ops_real.unregister_range(a.uffd, ptr_u64(hole), 3 * ps));
        /* registering twice the same range is fine; from another uffd it is busy */
        ASSERT_OK(kernel_ops_real.register_range(a.uffd, ptr_u64(a.base), ps,
                                                 UFFDIO_REGISTER_MODE_WP, NULL));
        ASSERT_OK(kernel_ops_real.api(sys, wp_features(), NULL, NULL));
        ASSERT_ERROR(kernel_ops_real.register_range(sys, ptr_u64(a.base), ps,
                                                    UFFDIO_REGISTER_MODE_WP, NULL),
                     EBUSY);
        /* unaligned */
        ASSERT_ERROR(kernel_ops_real.writeprotect(a.uffd, ptr_u64(a.base) + 1, ps, true), EINVAL);

        /* PAGEMAP_SCAN: ACCESSED is an RWP-kernel category; an unknown one is EINVAL */
        ASSERT_ERROR(pagemap_scan_range(&kernel_ops_real, a.pagemap_fd, ptr_u64(a.base),
                                        ptr_u64(a.base) + a.size, 0, PAGE_IS_ACCESSED, 0,
                                        PAGE_IS_ACCESSED, 0, &v),
                     EINVAL);
        arg = (struct pm_scan_arg){ .size = sizeof arg - 8,
                                    .start = ptr_u64(a.base),
                                    .end = ptr_u64(a.base) + ps };
        ASSERT_ERROR(kernel_ops_real.pagemap_scan(a.pagemap_fd, &arg), EINVAL);
        arg = (struct pm_scan_arg){ .size = sizeof arg,
                                    .start = ptr_u64(a.base) + 1,
                                    .end = ptr_u64(a.base) + ps };
        ASSERT_ERROR(kernel_ops_real.pagemap_scan(a.pagemap_fd, &arg), EINVAL);

        ASSERT_OK(kernel_ops_real.unregister_range(a.uffd, ptr_u64(a.base), a.size));
        ASSERT_ERROR(kernel_ops_real.writeprotect(a.uffd, ptr_u64(a.base), ps, true), ENOENT);
        ASSERT_OK(kernel_ops_real.wake(a.uffd, ptr_u64(a.base), ps));

        ASSERT_STREQ(uffd_event_to_string(UFFD_EVENT_PAGEFAULT), "pagefault");
        ASSERT_STREQ(uffd_event_to_string(UFFD_EVENT_UNMAP), "unmap");
        ASSERT_TRUE(uffd_event_to_string(0x42) == NULL);

        munmap(hole, ps);
        munmap(hole + 2 * ps, ps);
        wp_area_done(&a);
}

TEST(pageout_vector_stops_at_failing_iovec) {
        _cleanup_close_ int pidfd = -EBADF;
        const size_t ps = page_size();
        uint8_t *m;
        uint64_t done = 0;
        ssize_t l;

        if (geteuid() != 0)
                SKIP("needs root (process_madvise)");
        m = mmap(NULL, 8 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(m != MAP_FAILED);
        memset(m, 1, 8 * ps);
        ASSERT_OK(munmap(m + 3 * ps, ps));
        pidfd = (int) syscall(__NR_pidfd_open, getpid(), 0);
        if (pidfd < 0)
                SKIP("no pidfd_open: %m");

        /* [0,2) fine, [2,5) has a hole at 3, [6,8) fine */
        const struct iovec iov[] = { { m, 2 * ps },
                                     { m + 2 * ps, 3 * ps },
                                     { m + 6 * ps, 2 * ps } };
        /* the kernel reports the bytes before the failing iovec ... */
        l = kernel_ops_real.pageout(pidfd, iov, ELEMENTSOF(iov));
        if (l == -EINVAL || l == -ENOSYS)
                SKIP("no process_madvise(MADV_PAGEOUT): %s", strerror((int) -l));
        ASSERT_EQ(l, (ssize_t) (2 * ps));
        /* ... and its error once it is first */
        ASSERT_EQ(kernel_ops_real.pageout(pidfd, iov + 1, 2), -ENOMEM);
        /* evict_pageout() skips it and goes on */
        ASSERT_OK(evict_pageout(&kernel_ops_real, pidfd, iov, ELEMENTSOF(iov), &done, NULL));
        ASSERT_U64_EQ(done, 4 * ps);
        /* unaligned start */
        const struct iovec odd = { m + 1, ps };
        ASSERT_ERROR(evict_pageout(&kernel_ops_real, pidfd, &odd, 1, &done, NULL), EINVAL);
        munmap(m, 3 * ps);
        munmap(m + 4 * ps, 4 * ps);
}

/* ---- a client that goes away ---- */

static int send_fd(int sock, int fd, uint64_t addr) {
        char cbuf[CMSG_SPACE(sizeof(int))] = {};
        struct iovec iov = { .iov_base = &addr, .iov_len = sizeof addr };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int recv_fd(int sock, int *ret_fd, uint64_t *ret_addr) {
        char cbuf[CMSG_SPACE(sizeof(int))] = {};
        struct iovec iov = { .iov_base = ret_addr, .iov_len = sizeof *ret_addr };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf
        };
        struct cmsghdr *c;

        if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != sizeof *ret_addr)
                return -EIO;
        c = CMSG_FIRSTHDR(&mh);
        if (!c || c->cmsg_type != SCM_RIGHTS)
                return -EIO;
        memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
        return 0;
}

TEST(client_gone_errnos) {
        _cleanup_close_ int uffd = -EBADF, pagemap_fd = -EBADF, pidfd = -EBADF;
        _cleanup_(page_region_vec_done) PageRegionVec v = {};
        const size_t ps = page_size();
        const uint64_t len = 1 * MIB;
        int sp[2], status, r;
        uint64_t addr = 0;
        char path[64], c;
        pid_t pid;

        require_uffd_wp_async();
        ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                /* the client: a uffd on its own mm, handed over uninitialised, then wait */
                int fd;
                void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                               0);

                close(sp[0]);
                if (p == MAP_FAILED || uffd_open(UFFD_DEVICE_PATH, false, &fd) < 0 ||
                    send_fd(sp[1], fd, ptr_u64(p)) < 0)
                        _exit(1);
                close(fd); /* the client keeps no copy */
                memset(p, 1, len);
                (void) read(sp[1], &c, 1);
                _exit(0);
        }
        close(sp[1]);
        ASSERT_OK(recv_fd(sp[0], &uffd, &addr));

        /* the daemon's side: negotiate, register, protect, scan, page out */
        ASSERT_OK(kernel_ops_real.api(uffd, wp_features(), NULL, NULL));
        ASSERT_OK(kernel_ops_real.register_range(uffd, addr, len, UFFDIO_REGISTER_MODE_WP, NULL));
        ASSERT_OK(kernel_ops_real.writeprotect(uffd, addr, len, true));
        snprintf(path, sizeof path, "/proc/%d/pagemap", (int) pid);
        pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(pagemap_fd >= 0);
        pidfd = (int) syscall(__NR_pidfd_open, pid, 0);
        ASSERT_TRUE(pidfd >= 0);
        ASSERT_OK(pagemap_scan_range(&kernel_ops_real, pagemap_fd, addr, addr + len,
                                     PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, PAGE_IS_WRITTEN,
                                     0, PAGE_IS_WRITTEN, 0, &v));

        /* the client exits */
        ASSERT_OK(kill(pid, SIGKILL));
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        close(sp[0]);

        const struct iovec iov = { (void *) (uintptr_t) addr, len };
        uint64_t done = 0;
        ASSERT_ERROR(kernel_ops_real.writeprotect(uffd, addr, len, true), ESRCH);
        ASSERT_ERROR(evict_pageout(&kernel_ops_real, pidfd, &iov, 1, &done, NULL), ESRCH);
        r = pagemap_scan_range(&kernel_ops_real, pagemap_fd, addr, addr + len, 0, 0,
                               PAGE_IS_PRESENT, PAGE_IS_PRESENT, 0, &v);
        printf("  # after the client exited: PAGEMAP_SCAN %d (%s)\n", r,
               r < 0 ? strerror(-r) : "ok");
        ASSERT_ERROR(r, ESRCH);
        /* (UN)REGISTER say ENOMEM rather than ESRCH (6.18: mmget_not_zero() fails) */
        ASSERT_ERROR(kernel_ops_real.register_range(uffd, addr, ps, UFFDIO_REGISTER_MODE_WP, NULL),
                     ENOMEM);
        ASSERT_ERROR(kernel_ops_real.unregister_range(uffd, addr, len), ENOMEM);
        /* WAKE has nothing to do and succeeds; no event says the client left: the pidfd does */
        ASSERT_OK(kernel_ops_real.wake(uffd, addr, ps));
        ASSERT_EQ(read_msgs_once(uffd), 0);
}

/* ---- pageout with swap ---- */

#define SWAPFILE_BYTES (256 * MIB)

static char swap_path[128];
static bool swap_ours;

static void swap_remove(void) {
        if (!swap_ours)
                return;
        swap_ours = false;
        if (swapoff(swap_path) < 0 && errno != EINVAL)
                fprintf(stderr, "  swapoff %s: %m\n", swap_path);
        (void) unlink(swap_path);
}

static void swap_remove_on_signal(int sig) {
        swap_remove();
        signal(sig, SIG_DFL);
        raise(sig);
}

static bool have_swap(void) {
        _cleanup_free_ char *text = NULL;

        /* a header line, then one line per swap area */
        if (read_virtual_file("/proc/swaps", 64 * 1024, &text) < 0)
                return false;
        return strchr(text, '\n') && strchr(text, '\n')[1] != 0;
}

/* The on-disk format mkswap writes (linux/swap.h, union swap_header): version 1 at 1024, the
 * last usable page, no bad pages, and "SWAPSPACE2" in the last 10 bytes of the first page. */
static int swapfile_create(const char *path, uint64_t size) {
        const size_t ps = page_size();
        _cleanup_free_ uint8_t *hdr = calloc(1, ps);
        _cleanup_close_ int fd = -EBADF;
        uint32_t info[3] = { 1, (uint32_t) (size / ps - 1), 0 };

        if (!hdr)
                return -ENOMEM;
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, 0600) < 0 || fallocate(fd, 0, 0, (off_t) size) < 0)
                return -errno;
        memcpy(hdr + 1024, info, sizeof info);
        memcpy(hdr + ps - 10, "SWAPSPACE2", 10);
        if (pwrite(fd, hdr, ps, 0) != (ssize_t) ps || fsync(fd) < 0)
                return -errno;
        fd = safe_close(fd);
        if (swapon(path, 0) < 0)
                return -errno;
        return 0;
}

/* Runs fn in a child with swap available: adds a swapfile if there is none and removes it after
 * the child ended, however it ended (assertions _exit(); signals are caught here). */
static void with_swap(void (*fn)(void)) {
        int status, r;
        pid_t pid;

        if (!have_swap()) {
                snprintf(swap_path, sizeof swap_path, "/var/tmp/uffdtier-test-swap.%d",
                         (int) getpid());
                r = swapfile_create(swap_path, SWAPFILE_BYTES);
                if (r < 0) {
                        (void) unlink(swap_path);
                        SKIP("cannot add a swapfile at %s: %s", swap_path, strerror(-r));
                }
                swap_ours = true;
                atexit(swap_remove);
                signal(SIGTERM, swap_remove_on_signal);
                signal(SIGINT, swap_remove_on_signal);
                signal(SIGHUP, swap_remove_on_signal);
                printf("  # added swapfile %s (%" PRIu64 " MiB)\n", swap_path,
                       SWAPFILE_BYTES / MIB);
        }

        fflush(NULL);
        pid = fork();
        if (pid == 0) {
                swap_ours = false; /* the parent owns it */
                fn();
                fflush(NULL);
                _exit(0);
        }
        if (pid < 0) {
                swap_remove();
                test_fail(__FILE__, __LINE__, "fork: %m");
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        swap_remove();
        if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
                test_skip("(see above)");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                test_fail(__FILE__, __LINE__, "child failed (status %#x)", status);
}

/* "Swap:" of /proc/self/smaps_rollup, in bytes. */
static uint64_t smaps_swap_bytes(void) {
        _cleanup_free_ char *text = NULL;
        unsigned long long kb;
        const char *p;

        ASSERT_OK(read_virtual_file("/proc/self/smaps_rollup", 64 * 1024, &text));
        p = strstr(text, "\nSwap:");
        ASSERT_TRUE(p && sscanf(p + 6, "%llu kB", &kb) == 1);
        return (uint64_t) kb * 1024;
}

static uint64_t pattern(uint64_t i) {
        return i * UINT64_C(0x9E3779B97F4A7C15) + 0x1234;
}

/* Pages out [base, base+len) of ourselves in batches of batch_bytes; returns the bytes advised
 * and the number of process_madvise() batches. */
static uint64_t pageout_self(int pidfd, uint64_t base, uint64_t len, uint64_t batch_bytes,
                             unsigned *ret_batches) {
        const AddrRun run = { base, base + len, 0 };
        struct iovec iov[EVICT_IOV_MAX_DEFAULT];
        EvictCursor cursor = {};
        uint64_t total = 0, bytes, done;
        unsigned batches = 0;
        int n;

        while ((n = evict_build_batch(&run, 1, &cursor, batch_bytes, iov, ELEMENTSOF(iov),
                                      &bytes)) > 0) {
                ASSERT_OK(evict_pageout(&kernel_ops_real, pidfd, iov, (size_t) n, &done, NULL));
                ASSERT_U64_EQ(done, bytes);
                total += done;
                batches++;
        }
        ASSERT_OK(n);
        *ret_batches = batches;
        return total;
}

/* Categories of [start, end): bytes per category combination of interest. */
static void count_categories(int pagemap_fd, uint64_t start, uint64_t end, uint64_t *ret_present,
                             uint64_t *ret_swapped, uint64_t *ret_written) {
        _cleanup_(page_region_vec_done) PageRegionVec v = {};
        uint64_t present = 0, swapped = 0, written = 0;

        ASSERT_EQ(pagemap_scan_range(&kernel_ops_real, pagemap_fd, start, end, 0, 0,
                                     PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
                                     PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_WRITTEN, 0, &v),
                  0);
        for (size_t i = 0; i < v.n; i++) {
                uint64_t l = v.regions[i].end - v.regions[i].start;
                if (v.regions[i].categories & PAGE_IS_PRESENT)
                        present += l;
                if (v.regions[i].categories & PAGE_IS_SWAPPED)
                        swapped += l;
                if (v.regions[i].categories & PAGE_IS_WRITTEN)
                        written += l;
        }
        *ret_present = present;
        *ret_swapped = swapped;
        *ret_written = written;
}

static void pageout_64m(void) {
        const uint64_t len = 64 * MIB;
        _cleanup_close_ int pidfd = -EBADF, pagemap_fd = -EBADF;
        uint64_t *mem, present, swapped, written, t0, t1, t2, t3, bad = 0;
        unsigned batches;

        mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(mem != MAP_FAILED);
        for (uint64_t i = 0; i < len / 8; i++)
                mem[i] = pattern(i);
        pidfd = (int) syscall(__NR_pidfd_open, getpid(), 0);
        ASSERT_TRUE(pidfd >= 0);
        pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(pagemap_fd >= 0);

        count_categories(pagemap_fd, ptr_u64(mem), ptr_u64(mem) + len, &present, &swapped,
                         &written);
        ASSERT_U64_EQ(present, len);

        t0 = now_usec();
        ASSERT_U64_EQ(pageout_self(pidfd, ptr_u64(mem), len, 8 * MIB, &batches), len);
        t1 = now_usec();
        count_categories(pagemap_fd, ptr_u64(mem), ptr_u64(mem) + len, &present, &swapped,
                         &written);
        t2 = now_usec();
        printf("  # MADV_PAGEOUT of 64 MiB in %u batches: %" PRIu64
               " us; PAGEMAP_SCAN after: %" PRIu64 " us; swapped %" PRIu64 " KiB, present %" PRIu64
               " KiB\n",
               batches, t1 - t0, t2 - t1, swapped / 1024, present / 1024);
        ASSERT_U64_EQ(swapped, len);
        ASSERT_U64_EQ(present, 0);

        for (uint64_t i = 0; i < len / 8; i++)
                bad += mem[i] != pattern(i);
        t3 = now_usec();
        printf("  # swap-in and verify of 64 MiB: %" PRIu64 " us\n", t3 - t2);
        ASSERT_U64_EQ(bad, 0);
        count_categories(pagemap_fd, ptr_u64(mem), ptr_u64(mem) + len, &present, &swapped,
                         &written);
        ASSERT_U64_EQ(present, len);
        munmap(mem, len);
}

TEST(pageout_swap_and_read_back) {
        require_uffd_wp_async();
        with_swap(pageout_64m);
}

/* The wp-async backend's refault signal: a write-protected page paged out keeps its uffd-wp bit
 * on the swap entry, so reading it back makes it PRESENT but not WRITTEN; writing it does. */
static void wp_pageout_refault(void) {
        _cleanup_(page_region_vec_done) PageRegionVec v = {};
        const size_t ps = page_size();
        _cleanup_close_ int pidfd = -EBADF;
        uint64_t present, swapped, written, bad = 0;
        unsigned batches;
        WpArea a;

        wp_area_setup(&a, 16 * MIB);
        pidfd = (int) syscall(__NR_pidfd_open, getpid(), 0);
        ASSERT_TRUE(pidfd >= 0);
        uint64_t *w = (uint64_t *) a.base;
        for (uint64_t i = 0; i < a.size / 8; i++)
                w[i] = pattern(i);
        /* re-arm: all written, now all protected again */
        ASSERT_EQ(scan_written(&kernel_ops_real, &a, ptr_u64(a.base), 0, &v), 0);
        ASSERT_EQ(v.n, 1);

        uint64_t swap0 = smaps_swap_bytes();
        ASSERT_U64_EQ(pageout_self(pidfd, ptr_u64(a.base), a.size, 0, &batches), a.size);
        count_categories(a.pagemap_fd, ptr_u64(a.base), ptr_u64(a.base) + a.size, &present,
                         &swapped, &written);
        /* SWAPPED alone proves nothing here (markers read as SWAPPED too): PRESENT is gone
         * and the process's swap usage grew by the whole area */
        ASSERT_U64_EQ(present, 0);
        ASSERT_U64_EQ(swapped, a.size);
        ASSERT_U64_EQ(written, 0);
        ASSERT_TRUE(smaps_swap_bytes() >= swap0 + a.size);

        /* read page 5: swapped in, present, still not written */
        bad += w[5 * ps / 8] != pattern(5 * ps / 8);
        count_categories(a.pagemap_fd, ptr_u64(a.base) + 5 * ps, ptr_u64(a.base) + 6 * ps, &present,
                         &swapped, &written);
        ASSERT_U64_EQ(present, ps);
        ASSERT_U64_EQ(written, 0);
        /* write page 6: written */
        w[6 * ps / 8] = pattern(6 * ps / 8);
        page_region_vec_clear(&v);
        ASSERT_EQ(scan_written(&kernel_ops_real, &a, ptr_u64(a.base), 0, &v), 0);
        ASSERT_EQ(v.n, 1);
        assert_region(&v, 0, &a, 6, 7, PAGE_IS_WRITTEN);

        for (uint64_t i = 0; i < a.size / 8; i++)
                bad += w[i] != pattern(i);
        ASSERT_U64_EQ(bad, 0);
        wp_area_done(&a);
}

TEST(wp_pageout_refault_signal) {
        require_uffd_wp_async();
        with_swap(wp_pageout_refault);
}
