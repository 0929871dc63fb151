/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* follow-prog: a plain program that knows nothing of uffdtier, for the uffdtier-run tests
 * (tests/integration/test-run.sh). It grows its memory on command, by brk and by mmap, fills it
 * with a pattern it can verify, and reports what it sees of its own memory: how much of a region
 * is registered with a userfaultfd (PAGEMAP_SCAN, wp-async registrations) and how much is in
 * swap (/proc/self/pagemap). It prints
 *     READY pid=<pid> image=<n>
 * (n counts the execs: 0 for the first image) and then answers one command per line from stdin
 * with one line "OK ..." or "ERR ...":
 *
 *   brk SIZE | mmap SIZE       grow by sbrk() / a new private anonymous mapping, fill it:
 *                              "OK region=I addr=0x.. len=N"
 *   thread-mmap SIZE           the same from a new thread (which stays alive, idle)
 *   registered I | swapped I   "OK bytes=N" of region I
 *   verify                     every region holds its pattern ("ERR region I page P" if not)
 *   fork                       a child verifies every region and exits: "OK child=PID status=S"
 *   unmap I                    munmap() region I (an mmap region)
 *   churn I N                  N times: write a page of region I, then MADV_DONTNEED it (which
 *                              waits for the daemon's reading of the REMOVE event when the page
 *                              is followed); "OK calls=N p50_us=.. p99_us=.. max_us=.." (the
 *                              region's pattern is written back afterwards)
 *   exec                       execs itself again (same pid, image + 1); the new image says READY
 *   exit                       "OK bye"
 * SIZE takes K/M/G suffixes. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"
#include "uapi.h"

#define REGIONS_MAX 64

typedef struct Region {
        uint8_t *addr;
        size_t len;
        bool mapped;
} Region;

static Region regions[REGIONS_MAX];
static unsigned n_regions;
static unsigned image;

static uint64_t mix(uint64_t x) {
        x ^= x >> 33;
        x *= UINT64_C(0xff51afd7ed558ccd);
        x ^= x >> 33;
        x *= UINT64_C(0xc4ceb9fe1a85ec53);
        x ^= x >> 33;
        return x;
}

/* the pattern of region i: not compressible to nothing, different in every page */
static void fill(unsigned i) {
        uint64_t *w = (uint64_t *) regions[i].addr;

        for (size_t k = 0; k < regions[i].len / 8; k++)
                w[k] = mix(((uint64_t) i << 48) ^ k);
}

static int check(unsigned i, size_t *ret_page) {
        const uint64_t *w = (const uint64_t *) regions[i].addr;

        for (size_t k = 0; k < regions[i].len / 8; k++)
                if (w[k] != mix(((uint64_t) i << 48) ^ k)) {
                        *ret_page = k * 8 / page_size();
                        return -EIO;
                }
        return 0;
}

static int verify_all(unsigned *ret_region, size_t *ret_page) {
        for (unsigned i = 0; i < n_regions; i++)
                if (regions[i].mapped && check(i, ret_page) < 0) {
                        *ret_region = i;
                        return -EIO;
                }
        return 0;
}

static int add_region(uint8_t *addr, size_t len) {
        if (n_regions >= REGIONS_MAX)
                return -E2BIG;
        regions[n_regions] = (Region){ addr, len, true };
        fill(n_regions);
        return (int) n_regions++;
}

static void *thread_mmap(void *arg) {
        size_t len = *(size_t *) arg;
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        return p == MAP_FAILED ? NULL : p;
}

static uint64_t swapped_bytes(unsigned i) {
        size_t ps = page_size(), n = regions[i].len / ps;
        uint64_t *e = calloc(n, sizeof *e), bytes = 0;
        int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

        if (e && fd >= 0 &&
            pread(fd, e, n * 8, (off_t) ((uintptr_t) regions[i].addr / ps * 8)) ==
                    (ssize_t) (n * 8))
                for (size_t k = 0; k < n; k++)
                        if (e[k] & (UINT64_C(1) << 62))
                                bytes += ps;
        if (fd >= 0)
                close(fd);
        free(e);
        return bytes;
}

static uint64_t registered_bytes(unsigned i) {
        struct page_region out[64];
        uint64_t start = (uintptr_t) regions[i].addr, end = start + regions[i].len, bytes = 0;
        int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

        while (fd >= 0 && start < end) {
                struct pm_scan_arg a = {
                        .size = sizeof a,
                        .start = start,
                        .end = end,
                        .vec = (uintptr_t) out,
                        .vec_len = ELEMENTSOF(out),
                        .category_mask = PAGE_IS_WPALLOWED,
                        .return_mask = PAGE_IS_WPALLOWED,
                };
                long n = ioctl(fd, PAGEMAP_SCAN, &a);

                if (n < 0)
                        break;
                for (long k = 0; k < n; k++)
                        bytes += out[k].end - out[k].start;
                if (a.walk_end >= end || n < (long) ELEMENTSOF(out))
                        break;
                start = a.walk_end;
        }
        if (fd >= 0)
                close(fd);
        return bytes;
}

static uint64_t usec_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static void reply(const char *format, ...) _printf_(1, 2);
static void reply(const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        vprintf(format, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

static int region_arg(const char *arg, unsigned *ret) {
        uint64_t v;

        if (parse_u64(arg, &v) < 0 || v >= n_regions)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static void command(char *line, char **argv) {
        char *cmd = strtok(line, " \n"), *arg = strtok(NULL, " \n");
        unsigned i = 0;
        uint64_t size = 0;
        size_t page = 0;
        int r;

        if (!cmd)
                return;
        if ((streq(cmd, "brk") || streq(cmd, "mmap") || streq(cmd, "thread-mmap")) &&
            (!arg || parse_size(arg, &size) < 0 || size == 0 || size % page_size() != 0)) {
                reply("ERR EINVAL bad size");
                return;
        }
        if (streq(cmd, "brk")) {
                void *p = sbrk((intptr_t) size);

                if (p == (void *) -1) {
                        reply("ERR %s sbrk", strerrorname_np(errno));
                        return;
                }
                r = add_region(p, size);
        } else if (streq(cmd, "mmap") || streq(cmd, "thread-mmap")) {
                void *p;

                if (streq(cmd, "mmap"))
                        p = thread_mmap(&size);
                else {
                        pthread_t t;
                        void *res = NULL;
                        size_t len = size;

                        if (pthread_create(&t, NULL, thread_mmap, &len) != 0) {
                                reply("ERR EAGAIN pthread_create");
                                return;
                        }
                        (void) pthread_join(t, &res);
                        p = res;
                }
                if (!p) {
                        reply("ERR ENOMEM mmap");
                        return;
                }
                r = add_region(p, size);
        } else if (streq(cmd, "registered") || streq(cmd, "swapped")) {
                if (!arg || region_arg(arg, &i) < 0) {
                        reply("ERR EINVAL bad region");
                        return;
                }
                reply("OK bytes=%" PRIu64,
                      streq(cmd, "swapped") ? swapped_bytes(i) : registered_bytes(i));
                return;
        } else if (streq(cmd, "verify")) {
                if (verify_all(&i, &page) < 0)
                        reply("ERR EIO region %u page %zu", i, page);
                else
                        reply("OK verified %u regions", n_regions);
                return;
        } else if (streq(cmd, "fork")) {
                int status = 0;
                pid_t pid = fork();

                if (pid < 0) {
                        reply("ERR %s fork", strerrorname_np(errno));
                        return;
                }
                if (pid == 0)
                        _exit(verify_all(&i, &page) < 0 ? 1 : 0);
                (void) waitpid(pid, &status, 0);
                reply("OK child=%d status=%d", (int) pid, status);
                return;
        } else if (streq(cmd, "churn")) {
                char *arg2 = strtok(NULL, " \n");
                uint64_t n = 0, *t;
                size_t pages;

                if (!arg || region_arg(arg, &i) < 0 || !regions[i].mapped || !arg2 ||
                    parse_u64(arg2, &n) < 0 || n == 0 || n > 10000000) {
                        reply("ERR EINVAL churn REGION N");
                        return;
                }
                t = calloc(n, sizeof *t);
                if (!t) {
                        reply("ERR ENOMEM");
                        return;
                }
                pages = regions[i].len / page_size();
                for (uint64_t k = 0; k < n; k++) {
                        uint8_t *p = regions[i].addr + (k % pages) * page_size();
                        uint64_t t0;

                        p[0] = (uint8_t) k;
                        t0 = usec_now();
                        (void) madvise(p, page_size(), MADV_DONTNEED);
                        t[k] = usec_now() - t0;
                }
                qsort(t, n, sizeof *t, cmp_u64);
                fill(i);
                reply("OK calls=%" PRIu64 " p50_us=%" PRIu64 " p99_us=%" PRIu64 " max_us=%" PRIu64,
                      n, t[n / 2], t[n * 99 / 100], t[n - 1]);
                free(t);
                return;
        } else if (streq(cmd, "unmap")) {
                if (!arg || region_arg(arg, &i) < 0 || !regions[i].mapped) {
                        reply("ERR EINVAL bad region");
                        return;
                }
                (void) munmap(regions[i].addr, regions[i].len);
                regions[i].mapped = false;
                reply("OK unmapped");
                return;
        } else if (streq(cmd, "exec")) {
                char n[16];

                snprintf(n, sizeof n, "%u", image + 1);
                execv("/proc/self/exe", (char *[]){ argv[0], n, NULL });
                reply("ERR %s execv", strerrorname_np(errno));
                return;
        } else if (streq(cmd, "exit")) {
                reply("OK bye");
                exit(EXIT_SUCCESS);
        } else {
                reply("ERR EINVAL unknown command %s", cmd);
                return;
        }
        if (r < 0)
                reply("ERR E2BIG too many regions");
        else
                reply("OK region=%d addr=%p len=%" PRIu64, r, (void *) regions[r].addr, size);
}

int main(int argc, char **argv) {
        char line[256];

        if (argc > 1)
                image = (unsigned) atoi(argv[1]);
        reply("READY pid=%d image=%u", (int) getpid(), image);
        while (fgets(line, sizeof line, stdin))
                command(line, argv);
        return EXIT_SUCCESS;
}
