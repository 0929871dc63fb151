/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-workload: a client whose whole memory is hot, to measure what tracking costs it.
 *
 * It maps --size of private anonymous memory, writes every page once (so it is resident and the
 * loop below takes no first-touch faults), optionally hands it to uffdtierd (--track), then for
 * --warmup and --duration seconds walks the whole range over and over, touching one 8-byte word
 * per page (a store, or a load with --read). Only the --duration part is counted. Everything it
 * reports is one "key=value" line on stdout, for tests/bench/run-bench.sh:
 *
 *   throughput_pages_per_sec   pages touched per second of the measured part
 *   throughput_pages_per_cpu_sec
 *                              the same per second of this process's CPU time (user + system)
 *   minor_faults, sys_sec      this process's faults and system time in the measured part: with
 *                              wp-async the kernel resolves a tracking fault itself, so these are
 *                              where its cost shows (the daemon's faults_served stays 0)
 *   daemon_cpu_ticks, daemon_runtime_ms
 *                              with --daemon-pid: the daemon's utime+stime (/proc/PID/stat) and
 *                              its on-CPU time (/proc/PID/sched, ns precision, where the kernel
 *                              has it) over the measured part, read right next to the status
 *                              requests so that the cycles counted and the CPU match
 *   daemon_cycles              cycles the daemon ran for this client in the measured part
 *   daemon_end_NAME            every counter of uffdtier_status() at the end
 *
 * The warm-up exists because tracking starts with the whole range armed: the first pass after
 * uffdtier_track() faults on every page once, which is a start-up cost, not the steady state the
 * arming schedule is about.
 *
 * Pages are 4 KiB unless --thp: MADV_NOHUGEPAGE keeps the result independent of the machine's THP
 * setting, and small pages are the expensive case for tracking (one fault per 4 KiB). */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"
#include "uffdtier.h"

/* How many pages the loop touches between two looks at the clock: 2 MiB of 4 KiB pages, so the
 * clock (a vDSO call, tens of ns) costs well under 0.1% of the loop and the run ends within
 * about 100 µs of its deadline. */
#define CLOCK_CHECK_PAGES 512

static struct {
        uint64_t size_bytes;
        uint64_t duration_usec;
        uint64_t warmup_usec;
        bool track;
        const char *socket_path;
        bool read;
        bool thp;
        bool samples;
        long daemon_pid;
} arg = {
        .size_bytes = 1ULL << 30,
        .duration_usec = 60 * USEC_PER_SEC,
        .warmup_usec = 5 * USEC_PER_SEC,
        .daemon_pid = -1,
};

static void help(void) {
        printf("bench-workload [OPTIONS...]\n\n"
               "Touches one word per page of its whole memory in a loop and reports the rate.\n\n"
               "  -h --help               Show this help\n"
               "     --size=SIZE          Memory to map and touch (default 1G)\n"
               "     --duration=DURATION  Measured time (default 60s)\n"
               "     --warmup=DURATION    Unmeasured time first (default 5s)\n"
               "     --read               Load instead of store\n"
               "     --thp                Allow transparent huge pages (default: 4 KiB pages)\n"
               "     --track              Hand the memory to uffdtierd\n"
               "     --socket=PATH        The daemon's handoff socket (default $UFFDTIER_SOCKET,\n"
               "                          else %s)\n"
               "     --daemon-pid=PID     Report the daemon's CPU time over the measured part\n"
               "     --samples            Print one \"sample\" line per second\n",
               UFFDTIER_SOCKET_PATH);
}

static int parse_argv(int argc, char **argv) {
        enum {
                ARG_SIZE = 0x100,
                ARG_DURATION,
                ARG_WARMUP,
                ARG_READ,
                ARG_THP,
                ARG_TRACK,
                ARG_SOCKET,
                ARG_DAEMON_PID,
                ARG_SAMPLES,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "size", required_argument, NULL, ARG_SIZE },
                { "duration", required_argument, NULL, ARG_DURATION },
                { "warmup", required_argument, NULL, ARG_WARMUP },
                { "read", no_argument, NULL, ARG_READ },
                { "thp", no_argument, NULL, ARG_THP },
                { "track", no_argument, NULL, ARG_TRACK },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "daemon-pid", required_argument, NULL, ARG_DAEMON_PID },
                { "samples", no_argument, NULL, ARG_SAMPLES },
                {}
        };
        uint64_t u;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_SIZE:
                        if (parse_size(optarg, &arg.size_bytes) < 0 || arg.size_bytes == 0)
                                goto bad;
                        break;
                case ARG_DURATION:
                        if (parse_duration(optarg, &arg.duration_usec) < 0 ||
                            arg.duration_usec == 0)
                                goto bad;
                        break;
                case ARG_WARMUP:
                        if (parse_duration(optarg, &arg.warmup_usec) < 0)
                                goto bad;
                        break;
                case ARG_READ:
                        arg.read = true;
                        break;
                case ARG_THP:
                        arg.thp = true;
                        break;
                case ARG_TRACK:
                        arg.track = true;
                        break;
                case ARG_SOCKET:
                        arg.socket_path = optarg;
                        break;
                case ARG_DAEMON_PID:
                        if (parse_u64(optarg, &u) < 0 || u == 0 || u > INT32_MAX)
                                goto bad;
                        arg.daemon_pid = (long) u;
                        break;
                case ARG_SAMPLES:
                        arg.samples = true;
                        break;
                default:
                        return -EINVAL;
                }
                continue;
bad:
                fprintf(stderr, "bench-workload: invalid value for an option: \"%s\"\n", optarg);
                return -EINVAL;
        }
        if (optind < argc) {
                fprintf(stderr, "bench-workload: unexpected argument: %s\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

typedef struct DaemonCpu {
        uint64_t ticks; /* utime + stime, clock ticks */
        double runtime_ms; /* se.sum_exec_runtime, or < 0 when the kernel does not show it */
} DaemonCpu;

static int daemon_cpu_read(long pid, DaemonCpu *ret) {
        char path[64], buf[4096], line[256];
        unsigned long long utime, stime;
        _cleanup_fclose_ FILE *f = NULL;
        DaemonCpu cpu = { .runtime_ms = -1 };
        const char *p;
        size_t n;

        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        /* The command name (field 2) may contain spaces and parentheses: count from the last
         * ')'. utime and stime are fields 14 and 15, i.e. the 12th and 13th after it. */
        p = strrchr(buf, ')');
        if (!p ||
            sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                   &stime) != 2)
                return -EBADMSG;
        cpu.ticks = utime + stime;

        /* /proc/PID/sched is the main thread's: the daemon is a single-threaded event loop, so
         * that is all of it. It exists only with CONFIG_SCHED_DEBUG; ticks are the fallback. */
        fclose(TAKE_PTR(f));
        snprintf(path, sizeof path, "/proc/%ld/sched", pid);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof line, f)) {
                double ms;
                if (sscanf(line, "se.sum_exec_runtime : %lf", &ms) == 1) {
                        cpu.runtime_ms = ms;
                        break;
                }
        }
        *ret = cpu;
        return 0;
}

static uint64_t cycles_of(struct uffdtier *h, int *ret_error) {
        struct uffdtier_status *st = NULL;
        uint64_t v = 0;
        int r;

        r = uffdtier_status(h, &st);
        if (r >= 0) {
                r = uffdtier_status_get_counter(st, "cycles", &v);
                uffdtier_status_free(st);
        }
        *ret_error = r < 0 ? r : 0;
        return v;
}

static double tv_sec(const struct timeval *tv) {
        return (double) tv->tv_sec + (double) tv->tv_usec / 1e6;
}

typedef struct Loop {
        volatile uint64_t *const base;
        const size_t n_pages;
        const size_t words_per_page;
        size_t next; /* the page the walk continues at */
        uint64_t passes; /* whole walks completed */
        uint64_t sum; /* what --read loaded, printed so the loads are not optimised away */
} Loop;

/* Walks until end_usec; returns the pages touched. One store or load per page, nothing else:
 * the point is that every page is hot, not to measure memory bandwidth. */
static uint64_t loop_run(Loop *l, uint64_t end_usec) {
        uint64_t touched = 0, next_sample = now_usec() + USEC_PER_SEC, sample_pages = 0;
        struct rusage ru_sample;
        unsigned sec = 0;

        if (arg.samples)
                (void) getrusage(RUSAGE_SELF, &ru_sample);
        for (;;) {
                size_t stop = MIN(l->next + CLOCK_CHECK_PAGES, l->n_pages);
                uint64_t now;

                if (arg.read)
                        for (size_t i = l->next; i < stop; i++)
                                l->sum += l->base[i * l->words_per_page];
                else
                        for (size_t i = l->next; i < stop; i++)
                                l->base[i * l->words_per_page] = l->passes + i;
                touched += stop - l->next;
                if (stop == l->n_pages) {
                        l->next = 0;
                        l->passes++;
                } else
                        l->next = stop;

                now = now_usec();
                if (arg.samples && now >= next_sample) {
                        struct rusage ru;
                        (void) getrusage(RUSAGE_SELF, &ru);
                        printf("sample sec=%u pages=%" PRIu64 " minor_faults=%ld\n", ++sec,
                               touched - sample_pages, ru.ru_minflt - ru_sample.ru_minflt);
                        sample_pages = touched;
                        ru_sample = ru;
                        next_sample += USEC_PER_SEC;
                }
                if (now >= end_usec)
                        return touched;
        }
}

static void print_status(struct uffdtier *h) {
        struct uffdtier_status *st = NULL;
        int r;

        r = uffdtier_status(h, &st);
        if (r < 0) {
                fprintf(stderr, "bench-workload: final status request failed: %s\n", strerror(-r));
                return;
        }
        printf("backend=%s\n", st->backend ?: "unknown");
        for (size_t i = 0; i < st->n_counters; i++)
                printf("daemon_end_%s=%" PRIu64 "\n", st->counters[i].name, st->counters[i].value);
        uffdtier_status_free(st);
}

int main(int argc, char **argv) {
        struct uffdtier *h = NULL;
        DaemonCpu cpu0 = {}, cpu1 = {};
        struct rusage ru0, ru1;
        uint64_t t0, t1, pages, cycles0 = 0, cycles1 = 0;
        double user, sys;
        size_t page_size = (size_t) sysconf(_SC_PAGESIZE), len;
        void *mem;
        int r, ret = EXIT_FAILURE;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        len = (size_t) ALIGN_UP(arg.size_bytes, (uint64_t) page_size);
        mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
                fprintf(stderr, "bench-workload: cannot map %zu bytes: %m\n", len);
                return EXIT_FAILURE;
        }
        if (madvise(mem, len, arg.thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) < 0 && !arg.thp)
                fprintf(stderr, "bench-workload: MADV_NOHUGEPAGE failed, THP may be used: %m\n");
        /* Populate before tracking, so the measured loop sees tracking faults only. */
        memset(mem, 0x5a, len);

        Loop loop = {
                .base = mem,
                .n_pages = len / page_size,
                .words_per_page = page_size / sizeof(uint64_t),
        };

        if (arg.track) {
                r = uffdtier_connect(arg.socket_path, "bench-workload", 0, &h);
                if (r < 0) {
                        fprintf(stderr, "bench-workload: cannot connect to the daemon: %s\n",
                                strerror(-r));
                        goto out;
                }
                r = uffdtier_track(h, mem, len, "bench", NULL);
                if (r < 0) {
                        char why[UFFDTIER_ERROR_MAX + 1] = "";
                        (void) uffdtier_last_error(h, why, sizeof why);
                        fprintf(stderr, "bench-workload: cannot track the memory: %s (%s)\n",
                                strerror(-r), why);
                        goto out;
                }
        }

        printf("mode=%s\nsize_bytes=%zu\npage_size=%zu\npages=%zu\nthp=%d\ntracked=%d\n",
               arg.read ? "read" : "write", len, page_size, loop.n_pages, arg.thp, arg.track);
        if (arg.warmup_usec > 0) {
                getrusage(RUSAGE_SELF, &ru0);
                (void) loop_run(&loop, now_usec() + arg.warmup_usec);
                getrusage(RUSAGE_SELF, &ru1);
                printf("warmup_sec=%.3f\nwarmup_minor_faults=%ld\n",
                       (double) arg.warmup_usec / USEC_PER_SEC, ru1.ru_minflt - ru0.ru_minflt);
        }

        /* The status round trip and the /proc reads bracket the measured part as tightly as
         * possible: a cycle that ran in between would be counted on one side only. */
        if (h) {
                cycles0 = cycles_of(h, &r);
                if (r < 0) {
                        fprintf(stderr, "bench-workload: status request failed: %s\n",
                                strerror(-r));
                        goto out;
                }
        }
        if (arg.daemon_pid > 0 && (r = daemon_cpu_read(arg.daemon_pid, &cpu0)) < 0) {
                fprintf(stderr, "bench-workload: cannot read the CPU time of pid %ld: %s\n",
                        arg.daemon_pid, strerror(-r));
                goto out;
        }
        getrusage(RUSAGE_SELF, &ru0);
        t0 = now_usec();
        pages = loop_run(&loop, t0 + arg.duration_usec);
        t1 = now_usec();
        getrusage(RUSAGE_SELF, &ru1);
        if (arg.daemon_pid > 0 && (r = daemon_cpu_read(arg.daemon_pid, &cpu1)) < 0) {
                fprintf(stderr, "bench-workload: cannot read the CPU time of pid %ld: %s\n",
                        arg.daemon_pid, strerror(-r));
                goto out;
        }
        if (h) {
                cycles1 = cycles_of(h, &r);
                if (r < 0) {
                        fprintf(stderr, "bench-workload: status request failed: %s\n",
                                strerror(-r));
                        goto out;
                }
        }

        user = tv_sec(&ru1.ru_utime) - tv_sec(&ru0.ru_utime);
        sys = tv_sec(&ru1.ru_stime) - tv_sec(&ru0.ru_stime);
        /* Per CPU second too: time the workload spent preempted by other programs (a shared
         * machine) lowers the wall-clock rate but not this one, while the faults' system time
         * and their TLB misses in user time count in both. */
        printf("duration_sec=%.3f\npages_touched=%" PRIu64 "\npasses=%" PRIu64 "\n"
               "throughput_pages_per_sec=%.0f\nthroughput_pages_per_cpu_sec=%.0f\n"
               "minor_faults=%ld\nmajor_faults=%ld\nuser_sec=%.3f\nsys_sec=%.3f\n",
               (double) (t1 - t0) / USEC_PER_SEC, pages, loop.passes,
               (double) pages * USEC_PER_SEC / (double) (t1 - t0),
               user + sys > 0 ? (double) pages / (user + sys) : 0.0, ru1.ru_minflt - ru0.ru_minflt,
               ru1.ru_majflt - ru0.ru_majflt, user, sys);
        if (arg.read)
                printf("checksum=%" PRIu64 "\n", loop.sum);
        if (arg.daemon_pid > 0) {
                printf("daemon_cpu_ticks=%" PRIu64 "\nclock_ticks_per_sec=%ld\n",
                       cpu1.ticks - cpu0.ticks, sysconf(_SC_CLK_TCK));
                if (cpu0.runtime_ms >= 0 && cpu1.runtime_ms >= 0)
                        printf("daemon_runtime_ms=%.3f\n", cpu1.runtime_ms - cpu0.runtime_ms);
        }
        if (h) {
                printf("daemon_cycles=%" PRIu64 "\n", cycles1 - cycles0);
                print_status(h);
        }
        ret = EXIT_SUCCESS;
out:
        fflush(stdout);
        r = uffdtier_disconnect(h);
        if (r < 0 && ret == EXIT_SUCCESS)
                fprintf(stderr, "bench-workload: disconnect failed: %s\n", strerror(-r));
        (void) munmap(mem, len);
        return ret;
}
