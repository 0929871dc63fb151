/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-compare: the workload of the comparison benchmark (tests/bench/run-compare.sh).
 *
 * One thread over --size of private anonymous 4 KiB pages. Every page carries a pattern derived
 * from its index (the first half of the page: a pseudo-random stream seeded by the index, so a
 * compressor sees data, not zeros; the second half zeros) and from its version (the first and
 * last words, rewritten on every write). Then, for --duration, random accesses to a hot set:
 *
 *   --shape=rw      --hot of the pages, --write-ratio of the accesses are writes
 *   --shape=ro      --hot of the pages, reads only
 *   --shape=moving  like rw, but the hot window slides by its own size every --move-period
 *
 * and --stray accesses per million go to a page anywhere in the mapping (reads). One access in
 * LATENCY_SAMPLE_EVERY is timed; the timings go into a log-linear histogram. At the end every
 * page is checked against its pattern (pages that do not match: bad_pages, must be 0).
 *
 * Around the measured part it reads the CPU time of --daemon-pid and of the kswapd threads, and
 * every --sample-interval it reads --usage-file (the workload's memory cgroup usage), so that
 * resident memory over time and the reclaimers' CPU are taken over exactly the measured window.
 * With --limit=FILE:BYTES it sets a cgroup limit as the measured part starts (after the fill), and
 * it counts the TLB-shootdown interrupts of every CPU over the measured part (/proc/interrupts).
 * With --unlimit=FILE it writes "max" (memory.max) or "-1" (memory.limit_in_bytes) there before
 * the check, so checking does not thrash under a cgroup limit.
 *
 * Output: "sample t=SEC usage=BYTES accesses=N majflt=N" lines and key=value lines on stdout. */

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
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

#define PAGE_BYTES 4096u
#define PAGE_WORDS (PAGE_BYTES / sizeof(uint64_t))
/* Time one access in 16: clock_gettime() through the vDSO costs ~30 ns here, an access to a
 * random page of a hot set larger than the TLB reach ~100 ns, so timing every access would
 * distort the run; one in 16 gives ~10^7 samples a minute, enough for p99.99. */
#define LATENCY_SAMPLE_EVERY 16u
#define BENCH_THREADS_MAX 64u
/* Histogram: 32 sub-buckets per power of two of nanoseconds (3 % resolution), up to 2^40 ns. */
#define HIST_SUB 32u
#define HIST_POW 40u
#define MAX_KSWAPD 64

typedef enum Shape {
        SHAPE_RW,
        SHAPE_RO,
        SHAPE_MOVING
} Shape;

static struct {
        uint64_t size_bytes;
        uint64_t duration_usec;
        uint64_t sample_usec;
        uint64_t move_usec;
        Shape shape;
        double hot;
        double write_ratio;
        double stray_ppm;
        bool track;
        bool thp; /* transparent huge pages wanted (MADV_HUGEPAGE) instead of refused */
        unsigned threads;
        const char *socket_path;
        const char *usage_file;
        const char *unlimit_file;
        const char *limit_file; /* --limit=PATH:BYTES, written when the measured part starts */
        uint64_t limit_bytes;
        long daemon_pid;
} arg = {
        .size_bytes = 2ULL << 30,
        .duration_usec = 60 * USEC_PER_SEC,
        .sample_usec = USEC_PER_SEC / 2,
        .move_usec = 20 * USEC_PER_SEC,
        .shape = SHAPE_RW,
        .hot = -1,
        .write_ratio = 0.1,
        .stray_ppm = 100,
        .daemon_pid = -1,
        .threads = 1,
};

static void help(void) {
        printf("bench-compare [OPTIONS...]\n\n"
               "The comparison benchmark's workload: random accesses to a hot set, stray\n"
               "accesses to the whole mapping, an integrity check at the end.\n\n"
               "  -h --help               Show this help\n"
               "     --size=SIZE          Memory to map (default 2G)\n"
               "     --duration=DURATION  Measured time (default 60s)\n"
               "     --shape=rw|ro|moving Hot set with writes, read-only, moving (default rw)\n"
               "     --hot=FRACTION       Hot set / mapping (default 0.1, 0.25 for ro)\n"
               "     --write-ratio=F      Writes / hot accesses for rw and moving (default 0.1)\n"
               "     --stray=PPM          Accesses per million anywhere in the mapping (default 100)\n"
               "     --move-period=DUR    moving: the hot set moves by its size this often (20s)\n"
               "     --sample-interval=DUR  Read --usage-file this often (default 500ms)\n"
               "     --usage-file=PATH    The memory cgroup's usage file to sample\n"
               "     --unlimit=PATH       Lift this cgroup limit before the final check\n"
               "     --limit=PATH:BYTES   Write BYTES there as the measured part starts (after the\n"
               "                          fill, as the daemon starts after it: its reclaim is\n"
               "                          charged to the measured part, as the daemon's is)\n"
               "     --track              Hand the memory to uffdtierd after filling it\n"
               "     --thp                Ask for transparent huge pages (default: 4 KiB pages)\n"
               "     --threads=N          Threads of accesses, each on its own stripe of pages (1)\n"
               "     --socket=PATH        The daemon's handoff socket\n"
               "     --daemon-pid=PID     Count the daemon's CPU time over the measured part\n");
}

/* TLB-shootdown interrupts so far, per CPU, from the "TLB:" line of /proc/interrupts (x86); the
 * number of CPUs read, 0 when there is no such line. */
#define TLB_CPUS_MAX 256
static size_t tlb_ipis(uint64_t *per_cpu, size_t max) {
        char line[8192];
        size_t n = 0;
        FILE *f = fopen("/proc/interrupts", "re");

        if (!f)
                return 0;
        while (fgets(line, sizeof line, f)) {
                char *p = line, *end;

                while (*p == ' ')
                        p++;
                if (strncmp(p, "TLB:", 4) != 0)
                        continue;
                p += 4;
                for (;;) {
                        unsigned long long v = strtoull(p, &end, 10);
                        if (end == p || n >= max)
                                break;
                        per_cpu[n++] = v;
                        p = end;
                }
                break;
        }
        fclose(f);
        return n;
}

static void write_file(const char *path, const char *value, const char *what) {
        FILE *f = fopen(path, "we");

        if (!f || fputs(value, f) < 0 || fclose(f) != 0)
                fprintf(stderr, "bench-compare: cannot %s %s: %m\n", what, path);
}

static int parse_fraction(const char *s, double lo, double hi, double *ret) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi))
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_argv(int argc, char **argv) {
        enum {
                ARG_SIZE = 0x100,
                ARG_DURATION,
                ARG_SHAPE,
                ARG_HOT,
                ARG_WRITE_RATIO,
                ARG_STRAY,
                ARG_MOVE_PERIOD,
                ARG_SAMPLE_INTERVAL,
                ARG_USAGE_FILE,
                ARG_UNLIMIT,
                ARG_LIMIT,
                ARG_TRACK,
                ARG_THP,
                ARG_THREADS,
                ARG_SOCKET,
                ARG_DAEMON_PID,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "size", required_argument, NULL, ARG_SIZE },
                { "duration", required_argument, NULL, ARG_DURATION },
                { "shape", required_argument, NULL, ARG_SHAPE },
                { "hot", required_argument, NULL, ARG_HOT },
                { "write-ratio", required_argument, NULL, ARG_WRITE_RATIO },
                { "stray", required_argument, NULL, ARG_STRAY },
                { "move-period", required_argument, NULL, ARG_MOVE_PERIOD },
                { "sample-interval", required_argument, NULL, ARG_SAMPLE_INTERVAL },
                { "usage-file", required_argument, NULL, ARG_USAGE_FILE },
                { "unlimit", required_argument, NULL, ARG_UNLIMIT },
                { "limit", required_argument, NULL, ARG_LIMIT },
                { "track", no_argument, NULL, ARG_TRACK },
                { "thp", no_argument, NULL, ARG_THP },
                { "threads", required_argument, NULL, ARG_THREADS },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "daemon-pid", required_argument, NULL, ARG_DAEMON_PID },
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
                        if (parse_size(optarg, &arg.size_bytes) < 0 ||
                            arg.size_bytes < 16 * PAGE_BYTES)
                                goto bad;
                        break;
                case ARG_DURATION:
                        if (parse_duration(optarg, &arg.duration_usec) < 0 ||
                            arg.duration_usec == 0)
                                goto bad;
                        break;
                case ARG_SHAPE:
                        if (streq(optarg, "rw"))
                                arg.shape = SHAPE_RW;
                        else if (streq(optarg, "ro"))
                                arg.shape = SHAPE_RO;
                        else if (streq(optarg, "moving"))
                                arg.shape = SHAPE_MOVING;
                        else
                                goto bad;
                        break;
                case ARG_HOT:
                        if (parse_fraction(optarg, 0.001, 1, &arg.hot) < 0)
                                goto bad;
                        break;
                case ARG_WRITE_RATIO:
                        if (parse_fraction(optarg, 0, 1, &arg.write_ratio) < 0)
                                goto bad;
                        break;
                case ARG_STRAY:
                        if (parse_fraction(optarg, 0, 1e6, &arg.stray_ppm) < 0)
                                goto bad;
                        break;
                case ARG_MOVE_PERIOD:
                        if (parse_duration(optarg, &arg.move_usec) < 0 || arg.move_usec == 0)
                                goto bad;
                        break;
                case ARG_SAMPLE_INTERVAL:
                        if (parse_duration(optarg, &arg.sample_usec) < 0 || arg.sample_usec == 0)
                                goto bad;
                        break;
                case ARG_USAGE_FILE:
                        arg.usage_file = optarg;
                        break;
                case ARG_UNLIMIT:
                        arg.unlimit_file = optarg;
                        break;
                case ARG_LIMIT: {
                        char *colon = strrchr(optarg, ':');

                        if (!colon || parse_u64(colon + 1, &u) < 0 || u == 0)
                                goto bad;
                        *colon = 0;
                        arg.limit_file = optarg;
                        arg.limit_bytes = u;
                        break;
                }
                case ARG_TRACK:
                        arg.track = true;
                        break;
                case ARG_THP:
                        arg.thp = true;
                        break;
                case ARG_THREADS:
                        if (parse_u64(optarg, &u) < 0 || u == 0 || u > BENCH_THREADS_MAX)
                                goto bad;
                        arg.threads = (unsigned) u;
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
                fprintf(stderr, "bench-compare: invalid value for an option: \"%s\"\n", optarg);
                return -EINVAL;
        }
        if (optind < argc) {
                fprintf(stderr, "bench-compare: unexpected argument: %s\n", argv[optind]);
                return -EINVAL;
        }
        if (arg.hot < 0)
                arg.hot = arg.shape == SHAPE_RO ? 0.25 : 0.1;
        if (arg.shape == SHAPE_RO)
                arg.write_ratio = 0;
        return 1;
}

/* ---- the pattern ----------------------------------------------------------------------------- */

static inline uint64_t mix64(uint64_t x) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ULL;
        x ^= x >> 33;
        return x;
}

static inline uint64_t head_word(uint64_t idx, uint32_t version) {
        return mix64(idx * 2 + 1) ^ version;
}

static void page_fill(uint64_t *p, uint64_t idx) {
        uint64_t s = mix64(idx ^ 0x5bd1e9955bd1e995ULL) | 1;

        p[0] = head_word(idx, 0);
        for (size_t w = 1; w < PAGE_WORDS / 2; w++) {
                s ^= s << 13, s ^= s >> 7, s ^= s << 17;
                p[w] = s;
        }
        /* the second half stays as mmap() gave it, zero, but for the last word */
        p[PAGE_WORDS - 1] = ~head_word(idx, 0);
}

static bool page_ok(const uint64_t *p, uint64_t idx, uint32_t version) {
        uint64_t s = mix64(idx ^ 0x5bd1e9955bd1e995ULL) | 1;

        if (p[0] != head_word(idx, version) || p[PAGE_WORDS - 1] != ~head_word(idx, version))
                return false;
        for (size_t w = 1; w < PAGE_WORDS / 2; w++) {
                s ^= s << 13, s ^= s >> 7, s ^= s << 17;
                if (p[w] != s)
                        return false;
        }
        for (size_t w = PAGE_WORDS / 2; w < PAGE_WORDS - 1; w++)
                if (p[w] != 0)
                        return false;
        return true;
}

/* ---- measuring --------------------------------------------------------------------------------- */

static inline uint64_t now_nsec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static inline unsigned hist_bucket(uint64_t ns) {
        unsigned pow, sub;

        if (ns < HIST_SUB)
                return (unsigned) ns;
        pow = 63u - (unsigned) __builtin_clzll(ns); /* ns >= 2^pow, pow >= 5 */
        if (pow >= HIST_POW)
                return HIST_POW * HIST_SUB - 1;
        sub = (unsigned) ((ns >> (pow - 5)) & (HIST_SUB - 1));
        return (pow - 4) * HIST_SUB + sub;
}

/* the lower bound of a bucket, ns */
static uint64_t hist_value(unsigned b) {
        unsigned pow = b / HIST_SUB + 4, sub = b % HIST_SUB;

        if (b < HIST_SUB)
                return b;
        return ((uint64_t) (HIST_SUB + sub)) << (pow - 5);
}

static uint64_t hist_quantile(const uint64_t *h, uint64_t n, double q) {
        uint64_t want = (uint64_t) (q * (double) n), seen = 0;

        if ((double) want < q * (double) n)
                want++;
        for (unsigned b = 0; b < HIST_POW * HIST_SUB; b++) {
                seen += h[b];
                if (seen >= want && seen > 0)
                        return hist_value(b);
        }
        return 0;
}

/* utime + stime of a task, clock ticks; -errno when it is gone */
static int64_t task_cpu_ticks(long pid) {
        char path[64], buf[1024];
        unsigned long long utime, stime;
        const char *p;
        FILE *f;
        size_t n;

        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* the command name may hold spaces and parentheses: count from the last ')' */
        p = strrchr(buf, ')');
        if (!p ||
            sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                   &stime) != 2)
                return -EBADMSG;
        return (int64_t) (utime + stime);
}

static size_t kswapd_find(long *pids, size_t max) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return 0;
        while ((de = readdir(d)) && n < max) {
                char path[300], comm[64] = "";
                FILE *f;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof path, "/proc/%s/comm", de->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                if (fgets(comm, sizeof comm, f) && strncmp(comm, "kswapd", 6) == 0)
                        pids[n++] = strtol(de->d_name, NULL, 10);
                fclose(f);
        }
        closedir(d);
        return n;
}

static int64_t kswapd_ticks(const long *pids, size_t n) {
        int64_t sum = 0;

        for (size_t i = 0; i < n; i++) {
                int64_t t = task_cpu_ticks(pids[i]);
                if (t > 0)
                        sum += t;
        }
        return sum;
}

static int64_t usage_read(void) {
        char buf[64];
        FILE *f;
        bool ok;

        if (!arg.usage_file)
                return -1;
        f = fopen(arg.usage_file, "re");
        if (!f)
                return -1;
        ok = fgets(buf, sizeof buf, f) != NULL;
        fclose(f);
        return ok ? strtoll(buf, NULL, 10) : -1;
}

static double tv_sec(const struct timeval *tv) {
        return (double) tv->tv_sec + (double) tv->tv_usec / 1e6;
}

static inline uint64_t rng_next(uint64_t *s) {
        /* xorshift64*: fast enough that it does not dominate an access */
        *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
        return *s * 0x2545f4914f6cdd1dULL;
}

/* One thread's share of the accesses. With --threads=N thread i owns the pages whose index is i
 * modulo N, for its writes and its stray reads alike, so no page is written by two threads and no
 * read races a write (the integrity check stays exact); the hot window starts on a multiple of N. */
typedef struct Worker {
        unsigned index, n;
        uint64_t *mem;
        uint32_t *version;
        size_t n_pages, hot_pages;
        uint64_t stray_threshold, write_threshold;
        uint64_t t0, end;
        uint64_t rng;
        uint64_t accesses, writes, strays, timed, bad_reads, moves;
        uint64_t *hist;
        pthread_t thread;
} Worker;

static uint64_t worker_hot_start(Worker *w, uint64_t now) {
        uint64_t step;

        if (arg.shape != SHAPE_MOVING)
                return 0;
        /* the window slides by hot_pages per move period, in 1/64 steps */
        step = (now - w->t0) * 64 / arg.move_usec;
        w->moves = step / 64;
        return ALIGN_DOWN((step * w->hot_pages / 64) % w->n_pages, (uint64_t) w->n);
}

/* 1024 accesses between clock reads */
static void worker_burst(Worker *w, uint64_t hot_start) {
        size_t own_pages = MAX(w->n_pages / w->n, (size_t) 1),
               own_hot = MAX(w->hot_pages / w->n, (size_t) 1);

        for (unsigned k = 0; k < 1024; k++) {
                uint64_t x = rng_next(&w->rng), y = rng_next(&w->rng), idx, t = 0;
                bool stray = x < w->stray_threshold, write;
                uint64_t *p;

                if (stray) {
                        idx = (y % own_pages) * w->n + w->index;
                        write = false;
                        w->strays++;
                } else {
                        /* stripe by stripe, wrapping inside the thread's own pages */
                        idx = ((hot_start / w->n + y % own_hot) % own_pages) * w->n + w->index;
                        write = rng_next(&w->rng) < w->write_threshold;
                }
                p = w->mem + idx * PAGE_WORDS;
                bool sample = (w->accesses++ % LATENCY_SAMPLE_EVERY) == 0;
                if (sample)
                        t = now_nsec();
                if (write) {
                        uint32_t v = ++w->version[idx];
                        p[0] = head_word(idx, v);
                        p[PAGE_WORDS - 1] = ~head_word(idx, v);
                        w->writes++;
                } else if (*(volatile uint64_t *) p != head_word(idx, w->version[idx]))
                        w->bad_reads++;
                if (sample) {
                        w->hist[hist_bucket(now_nsec() - t)]++;
                        w->timed++;
                }
        }
}

static void *worker_run(void *userdata) {
        Worker *w = userdata;

        for (;;) {
                uint64_t now = now_usec();

                if (now >= w->end)
                        break;
                worker_burst(w, worker_hot_start(w, now));
        }
        return NULL;
}

int main(int argc, char **argv) {
        static uint64_t hist[HIST_POW * HIST_SUB];
        struct uffdtier *h = NULL;
        struct rusage ru0, ru1, rus;
        uint64_t *mem;
        uint32_t *version;
        size_t n_pages, hot_pages, len;
        uint64_t rng = 0x9e3779b97f4a7c15ULL, t0, t1, end, next_sample, accesses = 0, writes = 0,
                 strays = 0, timed = 0, bad_reads = 0, bad_pages = 0, moves = 0, stray_threshold,
                 write_threshold, sample_accesses = 0;
        long kswapd[MAX_KSWAPD];
        size_t n_kswapd, n_tlb;
        static uint64_t tlb0[TLB_CPUS_MAX], tlb1[TLB_CPUS_MAX];
        static Worker workers[BENCH_THREADS_MAX];
        int64_t d0 = 0, d1 = 0, k0, k1;
        long majflt_sample;
        int r, ret = EXIT_FAILURE;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        len = (size_t) ALIGN_UP(arg.size_bytes, (uint64_t) PAGE_BYTES);
        n_pages = len / PAGE_BYTES;
        hot_pages = MAX((size_t) 1, (size_t) ((double) n_pages * arg.hot));
        mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
                fprintf(stderr, "bench-compare: cannot map %zu bytes: %m\n", len);
                return EXIT_FAILURE;
        }
        /* 4 KiB pages by default: the daemon and the kernel's LRU then see the same granules;
         * --thp for the huge-page case */
        if (madvise(mem, len, arg.thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) < 0)
                fprintf(stderr, "bench-compare: madvise(%s) failed: %m\n",
                        arg.thp ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE");
        if (n_pages < arg.threads) {
                fprintf(stderr, "bench-compare: fewer pages than threads\n");
                return EXIT_FAILURE;
        }
        version = calloc(n_pages, sizeof *version);
        if (!version) {
                fprintf(stderr, "bench-compare: out of memory\n");
                return EXIT_FAILURE;
        }

        t0 = now_usec();
        for (size_t i = 0; i < n_pages; i++)
                page_fill(mem + i * PAGE_WORDS, i);
        printf("fill_sec=%.3f\n", (double) (now_usec() - t0) / USEC_PER_SEC);

        if (arg.track) {
                r = uffdtier_connect(arg.socket_path, "bench-compare", 0, &h);
                if (r < 0) {
                        fprintf(stderr, "bench-compare: cannot connect to the daemon: %s\n",
                                strerror(-r));
                        goto out;
                }
                r = uffdtier_track(h, mem, len, "bench", NULL);
                if (r < 0) {
                        char why[UFFDTIER_ERROR_MAX + 1] = "";
                        (void) uffdtier_last_error(h, why, sizeof why);
                        fprintf(stderr, "bench-compare: cannot track the memory: %s (%s)\n",
                                strerror(-r), why);
                        goto out;
                }
        }

        printf("thp=%d\nthreads=%u\n", arg.thp, arg.threads);
        printf("shape=%s\nsize_bytes=%zu\npages=%zu\nhot_pages=%zu\nhot_bytes=%zu\n"
               "write_ratio=%.3f\nstray_ppm=%.1f\ntracked=%d\n",
               arg.shape == SHAPE_RW           ? "rw"
                       : arg.shape == SHAPE_RO ? "ro"
                                               : "moving",
               len, n_pages, hot_pages, hot_pages * PAGE_BYTES, arg.write_ratio, arg.stray_ppm,
               arg.track);
        fflush(stdout);

        stray_threshold = (uint64_t) (arg.stray_ppm / 1e6 * 18446744073709551615.0);
        write_threshold = (uint64_t) (arg.write_ratio * 18446744073709551615.0);
        n_kswapd = kswapd_find(kswapd, MAX_KSWAPD);
        k0 = kswapd_ticks(kswapd, n_kswapd);
        if (arg.daemon_pid > 0 && (d0 = task_cpu_ticks(arg.daemon_pid)) < 0) {
                fprintf(stderr, "bench-compare: cannot read the CPU time of pid %ld: %s\n",
                        arg.daemon_pid, strerror((int) -d0));
                goto out;
        }
        n_tlb = tlb_ipis(tlb0, TLB_CPUS_MAX);
        getrusage(RUSAGE_SELF, &ru0);
        rus = ru0;
        majflt_sample = ru0.ru_majflt;
        t0 = now_usec();
        if (arg.limit_file) {
                /* in this thread, inside the measured part: a cgroup-v1 limit below the usage
                 * reclaims down to it right here, as the daemon's page-out runs inside it */
                char v[32];

                snprintf(v, sizeof v, "%" PRIu64, arg.limit_bytes);
                write_file(arg.limit_file, v, "set the limit");
                printf("limit_set_sec=%.3f\n", (double) (now_usec() - t0) / USEC_PER_SEC);
        }
        end = t0 + arg.duration_usec;
        next_sample = t0;
        for (unsigned i = 0; i < arg.threads; i++) {
                workers[i] = (Worker){
                        .index = i,
                        .n = arg.threads,
                        .mem = mem,
                        .version = version,
                        .n_pages = n_pages,
                        .hot_pages = hot_pages,
                        .stray_threshold = stray_threshold,
                        .write_threshold = write_threshold,
                        .t0 = t0,
                        .end = end,
                        .rng = rng + i * 0x632be59bd9b4e019ULL,
                        .hist = i == 0 ? hist : calloc(HIST_POW * HIST_SUB, sizeof(uint64_t)),
                };
                if (!workers[i].hist) {
                        fprintf(stderr, "bench-compare: out of memory\n");
                        goto out;
                }
        }
        for (unsigned i = 1; i < arg.threads; i++)
                if (pthread_create(&workers[i].thread, NULL, worker_run, &workers[i]) != 0) {
                        fprintf(stderr, "bench-compare: cannot start thread %u\n", i);
                        goto out;
                }

        for (;;) {
                uint64_t now = now_usec();

                if (now >= next_sample) {
                        (void) getrusage(RUSAGE_SELF, &rus);
                        printf("sample t=%.3f usage=%" PRId64 " accesses=%" PRIu64 " majflt=%ld\n",
                               (double) (now - t0) / USEC_PER_SEC, usage_read(),
                               accesses - sample_accesses, rus.ru_majflt - majflt_sample);
                        sample_accesses = accesses;
                        majflt_sample = rus.ru_majflt;
                        next_sample += arg.sample_usec;
                }
                if (now >= end)
                        break;
                worker_burst(&workers[0], worker_hot_start(&workers[0], now));
                accesses = workers[0].accesses;
        }
        for (unsigned i = 1; i < arg.threads; i++)
                (void) pthread_join(workers[i].thread, NULL);
        for (unsigned i = 0; i < arg.threads; i++) {
                Worker *w = &workers[i];

                if (i > 0) {
                        accesses += w->accesses;
                        for (unsigned b = 0; b < HIST_POW * HIST_SUB; b++)
                                hist[b] += w->hist[b];
                        free(w->hist);
                        w->hist = NULL;
                }
                writes += w->writes;
                strays += w->strays;
                timed += w->timed;
                bad_reads += w->bad_reads;
                moves = MAX(moves, w->moves);
        }
        t1 = now_usec();
        getrusage(RUSAGE_SELF, &ru1);
        if (n_tlb > 0 && tlb_ipis(tlb1, TLB_CPUS_MAX) == n_tlb) {
                uint64_t sum = 0;

                printf("tlb_ipis_per_cpu=");
                for (size_t i = 0; i < n_tlb; i++) {
                        printf("%s%" PRIu64, i ? "," : "", tlb1[i] - tlb0[i]);
                        sum += tlb1[i] - tlb0[i];
                }
                printf("\ntlb_ipis=%" PRIu64 "\n", sum);
        }
        k1 = kswapd_ticks(kswapd, n_kswapd);
        if (arg.daemon_pid > 0 && (d1 = task_cpu_ticks(arg.daemon_pid)) < 0) {
                fprintf(stderr, "bench-compare: cannot read the CPU time of pid %ld: %s\n",
                        arg.daemon_pid, strerror((int) -d1));
                goto out;
        }

        double dur = (double) (t1 - t0) / USEC_PER_SEC, hz = (double) sysconf(_SC_CLK_TCK);
        printf("duration_sec=%.3f\naccesses=%" PRIu64 "\nwrites=%" PRIu64 "\nstrays=%" PRIu64 "\n"
               "moves=%" PRIu64 "\nthroughput_per_sec=%.0f\nuser_sec=%.3f\nsys_sec=%.3f\n"
               "minor_faults=%ld\nmajor_faults=%ld\ndaemon_cpu_sec=%.3f\nkswapd_cpu_sec=%.3f\n"
               "kswapd_threads=%zu\nlatency_samples=%" PRIu64 "\n",
               dur, accesses, writes, strays, moves, (double) accesses / dur,
               tv_sec(&ru1.ru_utime) - tv_sec(&ru0.ru_utime),
               tv_sec(&ru1.ru_stime) - tv_sec(&ru0.ru_stime), ru1.ru_minflt - ru0.ru_minflt,
               ru1.ru_majflt - ru0.ru_majflt, (double) (d1 - d0) / hz, (double) (k1 - k0) / hz,
               n_kswapd, timed);
        printf("latency_p50_ns=%" PRIu64 "\nlatency_p99_ns=%" PRIu64 "\nlatency_p9999_ns=%" PRIu64
               "\nlatency_max_bucket_ns=%" PRIu64 "\n",
               hist_quantile(hist, timed, 0.5), hist_quantile(hist, timed, 0.99),
               hist_quantile(hist, timed, 0.9999), hist_quantile(hist, timed, 1.0));
        if (h) {
                struct uffdtier_status *st = NULL;
                if (uffdtier_status(h, &st) >= 0) {
                        for (size_t i = 0; i < st->n_counters; i++)
                                printf("daemon_%s=%" PRIu64 "\n", st->counters[i].name,
                                       st->counters[i].value);
                        uffdtier_status_free(st);
                }
        }
        fflush(stdout);

        if (arg.unlimit_file)
                write_file(arg.unlimit_file, strstr(arg.unlimit_file, "memory.max") ? "max" : "-1",
                           "lift the limit");
        t0 = now_usec();
        for (size_t i = 0; i < n_pages; i++)
                if (!page_ok(mem + i * PAGE_WORDS, i, version[i]))
                        bad_pages++;
        printf("check_sec=%.3f\nbad_reads=%" PRIu64 "\nbad_pages=%" PRIu64 "\n",
               (double) (now_usec() - t0) / USEC_PER_SEC, bad_reads, bad_pages);
        ret = bad_pages == 0 && bad_reads == 0 ? EXIT_SUCCESS : 3;
out:
        if (h)
                uffdtier_disconnect(h);
        return ret;
}
