/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rwp-check — standalone check that the running kernel offers userfaultfd read-write protection.
 *
 *   rwp-check             UFFDIO_API(features = 0) on a throwaway uffd; prints what the kernel
 *                         offers and exits 0 when UFFD_FEATURE_RWP (bit 17), UFFD_FEATURE_RWP_ASYNC
 *                         (bit 18) and UFFDIO_SET_MODE are all there, 1 when not.
 *   rwp-check --exercise  also uses them: register an anonymous range with MODE_RWP, protect it,
 *                         touch two pages in async mode and check that PAGEMAP_SCAN reports exactly
 *                         those as PAGE_IS_ACCESSED, with their contents intact.
 *   rwp-check --registration  what PAGEMAP_SCAN shows of a MODE_RWP registration (the daemon's
 *                         proof that a uffd acts on the peer's memory, daemon/kernel/vma.h): prints and
 *                         checks that PAGE_IS_WPALLOWED is never set and PM_SCAN_CHECK_WPASYNC fails
 *                         with EPERM on an RWP range, that before the first RWPROTECT exactly the
 *                         populated pages read ACCESSED, and that a uffd negotiating RWP and
 *                         WP_ASYNC|WP_UNPOPULATED can register MODE_WP (every page WPALLOWED),
 *                         unregister and register MODE_RWP again.
 *
 * Exit status: 0 yes, 1 no (or the exercise failed), 2 usage, 77 no userfaultfd at all.
 * Needs nothing but libc and the project's UAPI compat header (daemon/common/uapi.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uapi.h"

#define NPAGES 16

static long page_size;

static int uffd_new(void) {
        int fd = (int) syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
        if (fd >= 0)
                return fd;
        int saved = errno;
        /* the syscall may be restricted (vm.unprivileged_userfaultfd); /dev/userfaultfd is not */
        int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
        if (dev >= 0) {
                fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
                saved = errno;
                close(dev);
                if (fd >= 0)
                        return fd;
        }
        errno = saved;
        return -1;
}

static int fail(const char *what) {
        fprintf(stderr, "rwp-check: %s: %s\n", what, strerror(errno));
        return 1;
}

/* pages of [start, start+len) that PAGEMAP_SCAN reports as accessed; -1 on error */
static long scan_accessed(int pagemap, char *start, size_t len, struct page_region *vec,
                          size_t nvec, long *nregions) {
        struct pm_scan_arg arg = {
                .size = sizeof(arg),
                .start = (uintptr_t) start,
                .end = (uintptr_t) start + len,
                .vec = (uintptr_t) vec,
                .vec_len = nvec,
                .category_mask = PAGE_IS_ACCESSED,
                .return_mask = PAGE_IS_ACCESSED,
        };
        long n = ioctl(pagemap, PAGEMAP_SCAN, &arg);
        if (n < 0)
                return -1;
        long pages = 0;
        for (long i = 0; i < n; i++)
                pages += (long) ((vec[i].end - vec[i].start) / (uint64_t) page_size);
        *nregions = n;
        return pages;
}

static int exercise(void) {
        size_t len = NPAGES * (size_t) page_size;
        struct page_region vec[NPAGES];
        long nregions, pages;

        int uffd = uffd_new();
        if (uffd < 0)
                return fail("userfaultfd");
        struct uffdio_api api = { .api = UFFD_API,
                                  .features = UFFD_FEATURE_RWP | UFFD_FEATURE_RWP_ASYNC };
        if (ioctl(uffd, UFFDIO_API, &api) < 0)
                return fail("UFFDIO_API(RWP|RWP_ASYNC)");

        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return fail("mmap");
        (void) madvise(p, len, MADV_NOHUGEPAGE);
        for (int i = 0; i < NPAGES; i++)
                memset(p + (size_t) i * page_size, 'a' + i, page_size);

        struct uffdio_register reg = {
                .range = { .start = (uintptr_t) p, .len = len },
                .mode = UFFDIO_REGISTER_MODE_RWP,
        };
        if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
                return fail("UFFDIO_REGISTER(MODE_RWP)");
        if (!(reg.ioctls & UFFD_RANGE_IOCTL_RWPROTECT_BIT)) {
                fprintf(stderr, "rwp-check: range ioctls 0x%llx lack RWPROTECT\n",
                        (unsigned long long) reg.ioctls);
                return 1;
        }
        /* whatever mode RWP_ASYNC negotiation starts in, make it async: accesses must not block */
        struct uffdio_set_mode mode = { .enable = UFFD_FEATURE_RWP_ASYNC };
        if (ioctl(uffd, UFFDIO_SET_MODE, &mode) < 0)
                return fail("UFFDIO_SET_MODE(enable=RWP_ASYNC)");
        struct uffdio_rwprotect rwp = {
                .range = { .start = (uintptr_t) p, .len = len },
                .mode = UFFDIO_RWPROTECT_MODE_RWP,
        };
        if (ioctl(uffd, UFFDIO_RWPROTECT, &rwp) < 0)
                return fail("UFFDIO_RWPROTECT(MODE_RWP)");

        int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (pagemap < 0)
                return fail("open /proc/self/pagemap");
        pages = scan_accessed(pagemap, p, len, vec, NPAGES, &nregions);
        if (pages < 0)
                return fail("PAGEMAP_SCAN(PAGE_IS_ACCESSED)");
        if (pages != 0) {
                fprintf(stderr, "rwp-check: %ld pages accessed right after RWPROTECT, expected 0\n",
                        pages);
                return 1;
        }

        /* read page 3, write page 9 */
        volatile char *v = p;
        char seen = v[3 * page_size + 1];
        v[9 * page_size + 1] = 'Z';
        if (seen != 'a' + 3) {
                fprintf(stderr, "rwp-check: page 3 reads '%c', expected '%c'\n", seen, 'a' + 3);
                return 1;
        }
        pages = scan_accessed(pagemap, p, len, vec, NPAGES, &nregions);
        if (pages < 0)
                return fail("PAGEMAP_SCAN(PAGE_IS_ACCESSED)");
        bool ok = pages == 2 && nregions == 2 &&
                vec[0].start == (uintptr_t) p + 3 * (uintptr_t) page_size &&
                vec[1].start == (uintptr_t) p + 9 * (uintptr_t) page_size;
        if (!ok) {
                fprintf(stderr,
                        "rwp-check: after touching pages 3 and 9, the scan found %ld pages in %ld regions:",
                        pages, nregions);
                for (long i = 0; i < nregions; i++)
                        fprintf(stderr, " [%ld,%ld)",
                                (long) ((vec[i].start - (uintptr_t) p) / page_size),
                                (long) ((vec[i].end - (uintptr_t) p) / page_size));
                fputc('\n', stderr);
                return 1;
        }
        for (int i = 0; i < NPAGES; i++) {
                char want = i == 9 ? 'Z' : (char) ('a' + i);
                if (p[(size_t) i * page_size + 1] != want) {
                        fprintf(stderr, "rwp-check: page %d corrupted\n", i);
                        return 1;
                }
        }
        close(pagemap);
        close(uffd);
        munmap(p, len);
        printf("exercise=ok\n");
        return 0;
}

/* regions of [p, p+len) matching mask (all pages when 0), categories in 0x3ff; -1 + errno */
static long scan_regions(int pagemap, char *p, size_t len, uint64_t flags, uint64_t mask,
                         struct page_region *vec, size_t nvec) {
        struct pm_scan_arg arg = {
                .size = sizeof(arg),
                .flags = flags,
                .start = (uintptr_t) p,
                .end = (uintptr_t) p + len,
                .vec = (uintptr_t) vec,
                .vec_len = nvec,
                .category_mask = mask,
                .return_mask = 0x3ff,
        };
        return ioctl(pagemap, PAGEMAP_SCAN, &arg);
}

static void print_regions(const char *what, char *p, const struct page_region *vec, long n) {
        printf("registration: %s:", what);
        for (long i = 0; i < n; i++)
                printf(" [%ld,%ld)=%#llx", (long) ((vec[i].start - (uintptr_t) p) / page_size),
                       (long) ((vec[i].end - (uintptr_t) p) / page_size),
                       (unsigned long long) vec[i].categories);
        printf("%s\n", n == 0 ? " none" : "");
}

static int registration(void) {
        size_t len = NPAGES * (size_t) page_size;
        struct page_region vec[NPAGES];
        long n;
        int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (pagemap < 0)
                return fail("open /proc/self/pagemap");

        /* 1. MODE_RWP, pages [0, NPAGES/2) populated */
        int uffd = uffd_new();
        struct uffdio_api api = { .api = UFFD_API,
                                  .features = UFFD_FEATURE_RWP | UFFD_FEATURE_RWP_ASYNC };
        if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) < 0)
                return fail("UFFDIO_API(RWP|RWP_ASYNC)");
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return fail("mmap");
        (void) madvise(p, len, MADV_NOHUGEPAGE);
        memset(p, 1, len / 2);
        struct uffdio_register reg = { .range = { (uintptr_t) p, len },
                                       .mode = UFFDIO_REGISTER_MODE_RWP };
        if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
                return fail("UFFDIO_REGISTER(MODE_RWP)");
        n = scan_regions(pagemap, p, len, 0, 0, vec, NPAGES);
        if (n < 0)
                return fail("PAGEMAP_SCAN");
        print_regions("MODE_RWP, pages 0-7 populated, all categories", p, vec, n);
        n = scan_regions(pagemap, p, len, 0, PAGE_IS_WPALLOWED, vec, NPAGES);
        print_regions("MODE_RWP, category_mask WPALLOWED", p, vec, n);
        if (n != 0) {
                fprintf(stderr, "rwp-check: WPALLOWED set on an RWP range\n");
                return 1;
        }
        n = scan_regions(pagemap, p, len, PM_SCAN_CHECK_WPASYNC, 0, vec, NPAGES);
        printf("registration: MODE_RWP, PM_SCAN_CHECK_WPASYNC: %s\n",
               n < 0 ? strerror(errno) : "succeeded");
        if (n >= 0 || errno != EPERM) {
                fprintf(stderr,
                        "rwp-check: PM_SCAN_CHECK_WPASYNC on an RWP range did not fail with EPERM\n");
                return 1;
        }
        n = scan_regions(pagemap, p, len, 0, PAGE_IS_ACCESSED, vec, NPAGES);
        print_regions("MODE_RWP before RWPROTECT, category_mask ACCESSED", p, vec, n);
        if (n != 1 || vec[0].start != (uintptr_t) p || vec[0].end != (uintptr_t) p + len / 2) {
                fprintf(stderr,
                        "rwp-check: before RWPROTECT, ACCESSED is not exactly the populated pages\n");
                return 1;
        }
        close(uffd);
        munmap(p, len);

        /* 2. the complete proof for RWP: register MODE_WP on a uffd that has both, then RWP */
        uffd = uffd_new();
        api = (struct uffdio_api){ .api = UFFD_API,
                                   .features = UFFD_FEATURE_RWP | UFFD_FEATURE_RWP_ASYNC |
                                           UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
        if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) < 0)
                return fail("UFFDIO_API(RWP|RWP_ASYNC|WP_ASYNC|WP_UNPOPULATED)");
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return fail("mmap");
        (void) madvise(p, len, MADV_NOHUGEPAGE);
        memset(p, 1, len / 2);
        reg = (struct uffdio_register){ .range = { (uintptr_t) p, len },
                                        .mode = UFFDIO_REGISTER_MODE_WP };
        if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
                return fail("UFFDIO_REGISTER(MODE_WP) on an RWP uffd");
        n = scan_regions(pagemap, p, len, 0, PAGE_IS_WPALLOWED, vec, NPAGES);
        print_regions("MODE_WP on an RWP+WP_ASYNC uffd, category_mask WPALLOWED", p, vec, n);
        /* split by the other categories (populated or not), but contiguous over the range */
        bool whole = n >= 1 && vec[0].start == (uintptr_t) p &&
                vec[n - 1].end == (uintptr_t) p + len;
        for (long i = 1; i < n; i++)
                whole = whole && vec[i].start == vec[i - 1].end;
        if (!whole) {
                fprintf(stderr,
                        "rwp-check: MODE_WP range of an RWP+WP_ASYNC uffd is not WPALLOWED throughout\n");
                return 1;
        }
        struct uffdio_range range = { (uintptr_t) p, len };
        if (ioctl(uffd, UFFDIO_UNREGISTER, &range) < 0)
                return fail("UFFDIO_UNREGISTER");
        reg = (struct uffdio_register){ .range = { (uintptr_t) p, len },
                                        .mode = UFFDIO_REGISTER_MODE_RWP };
        if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
                return fail("UFFDIO_REGISTER(MODE_RWP) after MODE_WP");
        struct uffdio_set_mode mode = { .enable = UFFD_FEATURE_RWP_ASYNC };
        struct uffdio_rwprotect rwp = { .range = { (uintptr_t) p, len },
                                        .mode = UFFDIO_RWPROTECT_MODE_RWP };
        if (ioctl(uffd, UFFDIO_SET_MODE, &mode) < 0 || ioctl(uffd, UFFDIO_RWPROTECT, &rwp) < 0)
                return fail("SET_MODE/RWPROTECT after re-registering");
        ((volatile char *) p)[2 * page_size] = 3;
        n = scan_regions(pagemap, p, len, 0, PAGE_IS_ACCESSED, vec, NPAGES);
        print_regions("then MODE_RWP, protected, page 2 written: ACCESSED", p, vec, n);
        if (n != 1 || vec[0].start != (uintptr_t) p + 2 * (uintptr_t) page_size ||
            vec[0].end != (uintptr_t) p + 3 * (uintptr_t) page_size) {
                fprintf(stderr,
                        "rwp-check: RWP after a MODE_WP registration does not track page 2\n");
                return 1;
        }
        close(uffd);
        munmap(p, len);
        close(pagemap);
        printf("registration=ok\n");
        return 0;
}

int main(int argc, char **argv) {
        bool do_exercise = false, do_registration = false;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--exercise") == 0)
                        do_exercise = true;
                else if (strcmp(argv[i], "--registration") == 0)
                        do_registration = true;
                else {
                        fprintf(stderr, "usage: rwp-check [--exercise] [--registration]\n");
                        return 2;
                }
        }
        page_size = sysconf(_SC_PAGESIZE);

        int uffd = uffd_new();
        if (uffd < 0) {
                fprintf(stderr, "rwp-check: no userfaultfd: %s\n", strerror(errno));
                return 77;
        }
        struct uffdio_api api = { .api = UFFD_API, .features = 0 };
        if (ioctl(uffd, UFFDIO_API, &api) < 0)
                return fail("UFFDIO_API(features=0)");
        close(uffd);

        bool rwp = api.features & UFFD_FEATURE_RWP;
        bool rwp_async = api.features & UFFD_FEATURE_RWP_ASYNC;
        bool set_mode = api.ioctls & UFFD_API_IOCTL_SET_MODE_BIT;
        printf("features=0x%" PRIx64 " ioctls=0x%" PRIx64 " rwp=%d rwp_async=%d set_mode=%d\n",
               (uint64_t) api.features, (uint64_t) api.ioctls, rwp, rwp_async, set_mode);
        fflush(stdout);
        if (!(rwp && rwp_async && set_mode))
                return 1;
        if (do_exercise && exercise() != 0)
                return 1;
        return do_registration ? registration() : 0;
}
