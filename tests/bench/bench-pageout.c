/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-pageout: CPU per GiB paged out, the daemon's against raw process_madvise(MADV_PAGEOUT).
 *
 * Maps --size of private anonymous 4 KiB pages and fills them (first half of each page a
 * pseudo-random stream, second half zeros: what a compressor sees is data, at about 2:1). Then:
 *
 *   --mode=raw     pages all of it out itself with process_madvise(MADV_PAGEOUT) on its own
 *                  pidfd, --chunk bytes per iovec, as many iovecs per call as the kernel takes;
 *                  reports its own CPU time for that (user + system: the kernel's page-out runs
 *                  in the caller) and the wall time
 *   --mode=daemon  hands it to uffdtierd (--socket, --daemon-pid) and never touches it, so all
 *                  of it goes cold; polls the daemon's status every 50 ms until evicted_bytes
 *                  reaches 95 % of the size; reports the daemon's CPU time from the first status
 *                  that shows an eviction to the last (its scans while the memory aged are left
 *                  out; they are reported apart, per cycle, as idle_cpu_ms_per_cycle)
 *
 * In both, the swap the mapping holds afterwards (smaps_rollup Swap:) is reported, so CPU per GiB
 * is per GiB that really went to swap. key=value lines on stdout. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"
#include "uffdtier.h"

#define PAGE_BYTES 4096u
#define IOV_PER_CALL 1024 /* UIO_MAXIOV */
#define POLL_USEC (50 * USEC_PER_MSEC)
#define TIMEOUT_USEC (600 * USEC_PER_SEC)

static struct {
        uint64_t size_bytes;
        uint64_t chunk_bytes;
        bool daemon;
        const char *socket_path;
        long daemon_pid;
} arg = {
        .size_bytes = 1ULL << 30,
        .chunk_bytes = 2ULL << 20,
        .daemon_pid = -1,
};

static int parse_argv(int argc, char **argv) {
        enum {
                ARG_SIZE = 0x100,
                ARG_CHUNK,
                ARG_MODE,
                ARG_SOCKET,
                ARG_DAEMON_PID
        };
        static const struct option options[] = { { "help", no_argument, NULL, 'h' },
                                                 { "size", required_argument, NULL, ARG_SIZE },
                                                 { "chunk", required_argument, NULL, ARG_CHUNK },
                                                 { "mode", required_argument, NULL, ARG_MODE },
                                                 { "socket", required_argument, NULL, ARG_SOCKET },
                                                 { "daemon-pid", required_argument, NULL,
                                                   ARG_DAEMON_PID },
                                                 {} };
        uint64_t u;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf("bench-pageout [--size=SIZE] [--chunk=SIZE] [--mode=raw|daemon]\n"
                               "              [--socket=PATH] [--daemon-pid=PID]\n");
                        return 0;
                case ARG_SIZE:
                        if (parse_size(optarg, &arg.size_bytes) < 0 || arg.size_bytes < PAGE_BYTES)
                                goto bad;
                        break;
                case ARG_CHUNK:
                        if (parse_size(optarg, &arg.chunk_bytes) < 0 ||
                            arg.chunk_bytes < PAGE_BYTES || arg.chunk_bytes % PAGE_BYTES != 0)
                                goto bad;
                        break;
                case ARG_MODE:
                        if (streq(optarg, "raw"))
                                arg.daemon = false;
                        else if (streq(optarg, "daemon"))
                                arg.daemon = true;
                        else
                                goto bad;
                        break;
                case ARG_SOCKET:
                        arg.socket_path = optarg;
                        break;
                case ARG_DAEMON_PID:
                        if (parse_u64(optarg, &u) < 0 || u == 0 || u > INT32_MAX)
                                goto bad;
                        arg.daemon_pid = (long) u;
                        break;
                default:
                        return -EINVAL;
                }
                continue;
bad:
                fprintf(stderr, "bench-pageout: invalid value for an option: \"%s\"\n", optarg);
                return -EINVAL;
        }
        if (arg.daemon && arg.daemon_pid <= 0) {
                fprintf(stderr, "bench-pageout: --mode=daemon needs --daemon-pid\n");
                return -EINVAL;
        }
        return 1;
}

static void fill(uint64_t *mem, size_t n_pages) {
        for (size_t i = 0; i < n_pages; i++) {
                uint64_t *p = mem + i * (PAGE_BYTES / 8), s = (i * 0x9e3779b97f4a7c15ULL) | 1;
                for (size_t w = 0; w < PAGE_BYTES / 16; w++) {
                        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
                        p[w] = s;
                }
        }
}

/* kB of swap of this process (smaps_rollup), or -1 */
static long swap_kib(void) {
        char line[256];
        long v = -1;
        FILE *f = fopen("/proc/self/smaps_rollup", "re");

        while (f && fgets(line, sizeof line, f))
                if (sscanf(line, "Swap: %ld kB", &v) == 1)
                        break;
        if (f)
                fclose(f);
        return v;
}

/* the task's on-CPU time, ms: /proc/PID/sched (ns precision) where it exists, else ticks */
static double task_cpu_ms(long pid) {
        char path[64], line[256];
        double ms = -1;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%ld/sched", pid);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof line, f))
                if (sscanf(line, "se.sum_exec_runtime : %lf", &ms) == 1)
                        break;
        if (f)
                fclose(f);
        if (ms >= 0)
                return ms;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        f = fopen(path, "re");
        if (f) {
                char buf[1024];
                unsigned long long ut, st;
                size_t n = fread(buf, 1, sizeof buf - 1, f);
                const char *p;
                buf[n] = '\0';
                p = strrchr(buf, ')');
                if (p &&
                    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                           &st) == 2)
                        ms = (double) (ut + st) * 1000.0 / (double) sysconf(_SC_CLK_TCK);
                fclose(f);
        }
        return ms;
}

static double rusage_cpu_sec(void) {
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
                (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
}

static int run_raw(uint8_t *mem, size_t len) {
        struct iovec iov[IOV_PER_CALL];
        size_t pos = 0, calls = 0;
        uint64_t t0, t1;
        double c0, c1;
        int pidfd;

        pidfd = (int) syscall(SYS_pidfd_open, getpid(), 0);
        if (pidfd < 0) {
                fprintf(stderr, "bench-pageout: pidfd_open: %m\n");
                return -errno;
        }
        c0 = rusage_cpu_sec();
        t0 = now_usec();
        while (pos < len) {
                size_t n = 0, start = pos;
                ssize_t done;

                while (n < IOV_PER_CALL && pos < len) {
                        size_t take = MIN((size_t) arg.chunk_bytes, len - pos);
                        iov[n++] = (struct iovec){ .iov_base = mem + pos, .iov_len = take };
                        pos += take;
                }
                done = syscall(SYS_process_madvise, pidfd, iov, n, MADV_PAGEOUT, 0);
                calls++;
                if (done < 0) {
                        fprintf(stderr, "bench-pageout: process_madvise: %m\n");
                        close(pidfd);
                        return -errno;
                }
                /* a short return (the kernel stops at MAX_RW_COUNT): resume after it */
                pos = start + (size_t) done;
        }
        t1 = now_usec();
        c1 = rusage_cpu_sec();
        close(pidfd);
        printf("calls=%zu\ncpu_ms=%.3f\nwall_ms=%.3f\n", calls, (c1 - c0) * 1000,
               (double) (t1 - t0) / 1000);
        return 0;
}

static int evicted_of(struct uffdtier *h, uint64_t *ret_evicted, uint64_t *ret_cycles) {
        struct uffdtier_status *st = NULL;
        int r;

        r = uffdtier_status(h, &st);
        if (r < 0)
                return r;
        r = uffdtier_status_get_counter(st, "evicted_bytes", ret_evicted);
        if (r >= 0)
                r = uffdtier_status_get_counter(st, "cycles", ret_cycles);
        uffdtier_status_free(st);
        return r;
}

static int run_daemon(uint8_t *mem, size_t len) {
        struct uffdtier *h = NULL;
        uint64_t ev = 0, cycles = 0, cycles_track, cycles_first = 0, t_first = 0, t_last = 0,
                 deadline, ev_first = 0;
        double cpu_track, cpu_first = -1, cpu_last = 0;
        int r;

        r = uffdtier_connect(arg.socket_path, "bench-pageout", 0, &h);
        if (r < 0) {
                fprintf(stderr, "bench-pageout: cannot connect to the daemon: %s\n", strerror(-r));
                return r;
        }
        r = uffdtier_track(h, mem, len, "pageout", NULL);
        if (r < 0) {
                fprintf(stderr, "bench-pageout: cannot track: %s\n", strerror(-r));
                goto out;
        }
        cpu_track = task_cpu_ms(arg.daemon_pid);
        r = evicted_of(h, &ev, &cycles_track);
        if (r < 0)
                goto out;
        deadline = now_usec() + TIMEOUT_USEC;
        for (;;) {
                double cpu = task_cpu_ms(arg.daemon_pid);
                uint64_t now = now_usec();

                r = evicted_of(h, &ev, &cycles);
                if (r < 0)
                        goto out;
                if (ev > 0 && cpu_first < 0) {
                        cpu_first = cpu, t_first = now, cycles_first = cycles, ev_first = ev;
                }
                if (ev >= len / 100 * 95) {
                        cpu_last = cpu, t_last = now;
                        break;
                }
                if (now > deadline) {
                        fprintf(stderr, "bench-pageout: only %" PRIu64 " bytes evicted\n", ev);
                        r = -ETIMEDOUT;
                        goto out;
                }
                usleep(POLL_USEC);
        }
        /* the window starts at the first status that showed an eviction: what was evicted
         * before it (one poll period at most) is left out of the bytes too */
        printf("evicted_bytes=%" PRIu64 "\nwindow_evicted_bytes=%" PRIu64 "\ncpu_ms=%.3f\n"
               "wall_ms=%.3f\ncycles_aging=%" PRIu64 "\nidle_cpu_ms_per_cycle=%.3f\n"
               "cycles_evicting=%" PRIu64 "\n",
               ev, ev - ev_first, cpu_last - cpu_first, (double) (t_last - t_first) / 1000,
               cycles_first - cycles_track,
               cycles_first > cycles_track
                       ? (cpu_first - cpu_track) / (double) (cycles_first - cycles_track)
                       : 0.0,
               cycles - cycles_first);
out:
        uffdtier_disconnect(h);
        return r;
}

int main(int argc, char **argv) {
        size_t len;
        void *mem;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        len = (size_t) ALIGN_UP(arg.size_bytes, (uint64_t) PAGE_BYTES);
        mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
                fprintf(stderr, "bench-pageout: cannot map %zu bytes: %m\n", len);
                return EXIT_FAILURE;
        }
        (void) madvise(mem, len, MADV_NOHUGEPAGE);
        fill(mem, len / PAGE_BYTES);
        printf("mode=%s\nsize_bytes=%zu\n", arg.daemon ? "daemon" : "raw", len);
        r = arg.daemon ? run_daemon(mem, len) : run_raw(mem, len);
        if (r < 0)
                return EXIT_FAILURE;
        printf("swap_bytes=%ld\n", swap_kib() * 1024);
        return EXIT_SUCCESS;
}
