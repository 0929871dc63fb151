/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* slice-client: the two sides of the bounded-work test (test-slicing.sh) and benchmark
 * (tests/bench/run-slice-bench.sh).
 *
 *   slice-client --socket PATH big SIZE STRIDE
 *       maps SIZE bytes of anonymous memory (MAP_NORESERVE), writes a pattern into one page every
 *       STRIDE bytes (the rest is never touched: a large, sparse, fragmented range), hands all of
 *       it to the daemon in one TRACK and prints "READY pid=.. addr=.. len=.. touched=N track_us=T". Then one
 *       command per line: "status NAME..." prints "OK NAME=VALUE..." (the daemon's counters),
 *       "verify" reads every written page back ("OK verified N" or "ERR ..."), "retrack N"
 *       UNTRACKs and TRACKs all of it N times ("OK retracked N max_us=.. mean_us=.. untrack_max_us=..",
 *       each pair timed), "exit".
 *
 *   slice-client --socket PATH vmas COUNT SIZE
 *       maps COUNT adjacent VMAs of SIZE bytes each (alternately read-write and read-only, so
 *       the kernel cannot merge them), writes one page of each read-write one, and tracks all
 *       of them in one TRACK: "READY ... vmas=COUNT track_us=T", then the commands of big.
 *
 *   slice-client --socket PATH victim SIZE SECONDS
 *       maps and fills SIZE bytes, tracks them, then for SECONDS alternates MADV_DONTNEED of one
 *       page (written back afterwards) and munmap of one page of a spare tail (both wait until
 *       the daemon has read the uffd event they cause), timing each call. Prints
 *       "RESULT ops=N max_us=.. p99_us=.. p50_us=.. dontneed_max_us=.. munmap_max_us=.." and
 *       then "OK verified" when every byte of the memory is what it should be (or "ERR ...");
 *       exits 0 only then.
 *
 * Every page's pattern is derived from its address, so verify needs no copy. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"
#include "uffdtier.h"

static const char *socket_path;
static size_t ps;

static uint64_t now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static uint64_t pattern(uint64_t addr) {
        uint64_t x = addr * 0x9e3779b97f4a7c15ULL;
        return x ^ (x >> 29);
}

static void fill_page(uint8_t *p) {
        uint64_t *w = (uint64_t *) p;
        for (size_t i = 0; i < ps / 8; i++)
                w[i] = pattern((uint64_t) (p + i * 8));
}

static bool page_ok(const uint8_t *p) {
        const uint64_t *w = (const uint64_t *) p;
        for (size_t i = 0; i < ps / 8; i++)
                if (w[i] != pattern((uint64_t) (p + i * 8)))
                        return false;
        return true;
}

static bool page_zero(const uint8_t *p) {
        const uint64_t *w = (const uint64_t *) p;
        for (size_t i = 0; i < ps / 8; i++)
                if (w[i] != 0)
                        return false;
        return true;
}

static int die(const char *what, int r) {
        printf("ERR %s: %s\n", what, strerror(r < 0 ? -r : r));
        fflush(stdout);
        return 1;
}

static int connect_and_track(const char *name, void *addr, size_t len, struct uffdtier **ret) {
        struct uffdtier *h;
        int r;

        r = uffdtier_connect(socket_path, name, 0, &h);
        if (r < 0)
                return r;
        r = uffdtier_track(h, addr, len, "main", NULL);
        if (r < 0) {
                char buf[256];
                (void) uffdtier_last_error(h, buf, sizeof buf);
                fprintf(stderr, "track: %s\n", buf);
                uffdtier_disconnect(h);
                return r;
        }
        *ret = h;
        return 0;
}

/* The command loop of a client whose memory is tracked: status, verify (of the written pages
 * [base + off for off in 0, stride, ..., size)), exit. */
static int serve(struct uffdtier *h, uint8_t *base, uint64_t size, uint64_t stride, size_t touched);

static int run_big(uint64_t size, uint64_t stride) {
        struct uffdtier *h;
        uint8_t *base;
        size_t touched = 0;
        uint64_t t0;
        int r;

        base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                    -1, 0);
        if (base == MAP_FAILED)
                return die("mmap", errno);
        /* no transparent huge pages: the touched pages stay single pages among untouched ones */
        (void) madvise(base, size, MADV_NOHUGEPAGE);
        for (uint64_t off = 0; off < size; off += stride, touched++)
                fill_page(base + off);
        t0 = now_us();
        r = connect_and_track("slice-big", base, size, &h);
        if (r < 0)
                return die("connect/track", r);
        printf("READY pid=%d addr=%p len=%" PRIu64 " touched=%zu track_us=%" PRIu64 "\n",
               (int) getpid(), base, size, touched, now_us() - t0);
        fflush(stdout);

        return serve(h, base, size, stride, touched);
}

static int run_vmas(uint64_t count, uint64_t each) {
        struct uffdtier *h;
        uint8_t *base;
        uint64_t t0;
        int r;

        base = mmap(NULL, count * each, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED)
                return die("mmap", errno);
        for (uint64_t i = 0; i < count; i++) {
                if (i % 2 == 0)
                        fill_page(base + i * each);
                else if (mprotect(base + i * each, each, PROT_READ) < 0)
                        return die("mprotect", errno);
        }
        t0 = now_us();
        r = connect_and_track("slice-vmas", base, count * each, &h);
        if (r < 0)
                return die("connect/track", r);
        printf("READY pid=%d addr=%p len=%" PRIu64 " vmas=%" PRIu64 " track_us=%" PRIu64 "\n",
               (int) getpid(), base, count * each, count, now_us() - t0);
        return serve(h, base, count * each, 2 * each, (size_t) ((count + 1) / 2));
}

static int serve(struct uffdtier *h, uint8_t *base, uint64_t size, uint64_t stride,
                 size_t touched) {
        char line[512];
        int r;

        fflush(stdout);
        while (fgets(line, sizeof line, stdin)) {
                char *save = NULL, *cmd = strtok_r(line, " \t\n", &save);
                if (!cmd)
                        continue;
                if (streq(cmd, "exit"))
                        break;
                if (streq(cmd, "verify")) {
                        size_t bad = 0;
                        for (uint64_t off = 0; off < size; off += stride)
                                if (!page_ok(base + off))
                                        bad++;
                        if (bad)
                                printf("ERR %zu of %zu written pages differ\n", bad, touched);
                        else
                                printf("OK verified %zu\n", touched);
                } else if (streq(cmd, "retrack")) {
                        /* UNTRACK and TRACK the whole memory again, N times */
                        const char *n_s = strtok_r(NULL, " \t\n", &save);
                        uint64_t n = 1, max_us = 0, sum_us = 0, max_untrack_us = 0, i;

                        if (n_s && parse_u64(n_s, &n) < 0)
                                n = 1;
                        for (i = 0, r = 0; i < n && r >= 0; i++) {
                                uint64_t t1 = now_us(), dt;
                                r = uffdtier_untrack(h, base, size);
                                max_untrack_us = MAX(max_untrack_us, now_us() - t1);
                                if (r >= 0)
                                        r = uffdtier_track(h, base, size, "main", NULL);
                                dt = now_us() - t1;
                                max_us = MAX(max_us, dt);
                                sum_us += dt;
                        }
                        if (r < 0)
                                printf("ERR retrack: %s\n", strerror(-r));
                        else
                                printf("OK retracked %" PRIu64 " max_us=%" PRIu64
                                       " mean_us=%" PRIu64 " untrack_max_us=%" PRIu64 "\n",
                                       n, max_us, sum_us / n, max_untrack_us);
                } else if (streq(cmd, "status")) {
                        struct uffdtier_status *st;
                        char *name;

                        r = uffdtier_status(h, &st);
                        if (r < 0) {
                                printf("ERR status: %s\n", strerror(-r));
                                fflush(stdout);
                                continue;
                        }
                        printf("OK");
                        while ((name = strtok_r(NULL, " \t\n", &save))) {
                                uint64_t v = 0;
                                (void) uffdtier_status_get_counter(st, name, &v);
                                printf(" %s=%" PRIu64, name, v);
                        }
                        printf("\n");
                        uffdtier_status_free(st);
                } else
                        printf("ERR unknown command %s\n", cmd);
                fflush(stdout);
        }
        uffdtier_disconnect(h);
        printf("OK bye\n");
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static int run_victim(uint64_t size, uint64_t seconds) {
        /* the spare tail: one page unmapped per munmap, so the memory lasts for the run */
        size_t n_pages = size / ps, spare = n_pages / 2, n_times = 0, allocated = 1 << 16;
        size_t next_unmap = n_pages - 1, n_unmapped = 0;
        uint64_t *times = malloc(allocated * sizeof *times), max_dn = 0, max_un = 0, end;
        struct uffdtier *h;
        uint8_t *base;
        size_t bad = 0;
        int r;

        if (!times)
                return die("malloc", ENOMEM);
        base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED)
                return die("mmap", errno);
        (void) madvise(base, size, MADV_NOHUGEPAGE);
        for (size_t i = 0; i < n_pages; i++)
                fill_page(base + i * ps);
        r = connect_and_track("slice-victim", base, size, &h);
        if (r < 0)
                return die("connect/track", r);
        printf("READY pid=%d addr=%p len=%" PRIu64 "\n", (int) getpid(), base, size);
        fflush(stdout);

        end = now_us() + seconds * 1000000;
        for (size_t k = 0; now_us() < end; k++) {
                uint64_t t0, dt;
                bool unmap = (k % 2) && n_unmapped < spare;
                uint8_t *p;

                if (n_times == allocated) {
                        uint64_t *n = realloc(times, 2 * allocated * sizeof *times);
                        if (!n)
                                break;
                        times = n;
                        allocated *= 2;
                }
                if (unmap) {
                        p = base + next_unmap * ps;
                        t0 = now_us();
                        r = munmap(p, ps);
                        dt = now_us() - t0;
                        if (r < 0)
                                return die("munmap", errno);
                        next_unmap--;
                        n_unmapped++;
                        max_un = MAX(max_un, dt);
                } else {
                        p = base + (k / 2 % (n_pages - spare)) * ps;
                        t0 = now_us();
                        r = madvise(p, ps, MADV_DONTNEED);
                        dt = now_us() - t0;
                        if (r < 0)
                                return die("madvise", errno);
                        if (!page_zero(p))
                                bad++;
                        fill_page(p);
                        max_dn = MAX(max_dn, dt);
                }
                times[n_times++] = dt;
                /* a short pause: the point is how long each call waits, not how many are made */
                (void) usleep(200);
        }
        for (size_t i = 0; i <= next_unmap; i++)
                if (!page_ok(base + i * ps))
                        bad++;
        qsort(times, n_times, sizeof *times, cmp_u64);
        printf("RESULT ops=%zu max_us=%" PRIu64 " p99_us=%" PRIu64 " p50_us=%" PRIu64
               " dontneed_max_us=%" PRIu64 " munmap_max_us=%" PRIu64 "\n",
               n_times, n_times ? times[n_times - 1] : 0, n_times ? times[n_times * 99 / 100] : 0,
               n_times ? times[n_times / 2] : 0, max_dn, max_un);
        free(times);
        uffdtier_disconnect(h);
        if (bad) {
                printf("ERR %zu pages differ\n", bad);
                return 1;
        }
        printf("OK verified\n");
        return 0;
}

int main(int argc, char **argv) {
        uint64_t a = 0, b = 0;
        int i = 1;

        ps = (size_t) sysconf(_SC_PAGESIZE);
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc > 2 && streq(argv[1], "--socket")) {
                socket_path = argv[2];
                i = 3;
        }
        if (argc - i == 3 && streq(argv[i], "vmas")) {
                if (parse_u64(argv[i + 1], &a) < 0 || a == 0 || parse_size(argv[i + 2], &b) < 0 ||
                    b < ps)
                        return 2;
                return run_vmas(a, ALIGN_DOWN(b, (uint64_t) ps));
        }
        if (argc - i != 3 || parse_size(argv[i + 1], &a) < 0 || a < 4 * ps) {
                fprintf(stderr,
                        "usage: %s [--socket PATH] big SIZE STRIDE | vmas COUNT SIZE | victim SIZE SECONDS\n",
                        argv[0]);
                return 2;
        }
        a = ALIGN_DOWN(a, (uint64_t) ps);
        if (streq(argv[i], "big")) {
                if (parse_size(argv[i + 2], &b) < 0 || b < ps)
                        return 2;
                return run_big(a, ALIGN_DOWN(b, (uint64_t) ps));
        }
        if (streq(argv[i], "victim")) {
                if (parse_u64(argv[i + 2], &b) < 0)
                        return 2;
                return run_victim(a, b);
        }
        return 2;
}
