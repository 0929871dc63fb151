/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-handoff: what the handoff itself costs a client, through libuffdtier's public API.
 *
 * Part 1, TRACK latency against the size of the rest of the client: one connection, one 64 KiB
 * private anonymous range (--range), and for each --sizes entry that much "other" memory mapped
 * next to it and made resident (one byte written per page, 4 KiB pages unless --thp; --sparse
 * maps it without touching it). With that memory in place, --warmup uncounted and then --pairs
 * counted uffdtier_track() + uffdtier_untrack() pairs of the range; each call is timed on its
 * own with CLOCK_MONOTONIC. The other memory is unmapped before the next size, so only one size
 * is resident at a time. The range and the other memory are separate mappings with PROT_NONE
 * guard pages around them, so registering the range never splits or merges the big mapping;
 * --mappings=N splits the other memory into N mappings (N VMAs) the same way.
 *
 * Part 2, full cycles per second: --cycles times uffdtier_connect() + uffdtier_track() of the
 * range + uffdtier_status() + uffdtier_disconnect(), from this process with no other memory
 * mapped; the rate over the whole loop and each phase's latency.
 *
 * It prints a small table and, as its last line, one JSON object with every number. The aims
 * (TRACK median within 2x between the smallest and the largest size, at least 1000 cycles per
 * second) are reported, never enforced: the exit status is non-zero only on errors. The daemon
 * limits connections per uid (200 per second by default); run it with --conn-rate=0 for part 2,
 * as tests/bench/run-handoff-bench.sh does. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"
#include "uffdtier.h"

#define SIZES_MAX 16
/* Keep this much of MemAvailable free when making other memory resident: a size that does not
 * fit is skipped (and said so), not pushed into swap, which would measure the swap device. */
#define MEM_HEADROOM_BYTES (512ULL << 20)
#define AIM_TRACK_RATIO_MAX 2.0
#define AIM_CYCLES_PER_SEC_MIN 1000.0

static struct {
        const char *socket_path;
        uint64_t sizes[SIZES_MAX];
        size_t n_sizes;
        uint64_t range_bytes;
        unsigned pairs;
        unsigned warmup;
        unsigned cycles;
        unsigned mappings;
        bool sparse;
        bool thp;
} arg = {
        .sizes = { 64ULL << 20, 1ULL << 30, 8ULL << 30 },
        .n_sizes = 3,
        .range_bytes = 64ULL << 10,
        .pairs = 200,
        .warmup = 10,
        .cycles = 2000,
        .mappings = 1,
};

static void help(void) {
        printf("bench-handoff [OPTIONS...]\n\n"
               "Measures TRACK latency against the client's other resident memory, and full\n"
               "connect/track/status/disconnect cycles per second.\n\n"
               "  -h --help            Show this help\n"
               "     --socket=PATH     The daemon's handoff socket (default $UFFDTIER_SOCKET,\n"
               "                       else %s)\n"
               "     --sizes=LIST      Other memory per TRACK run, comma-separated (default\n"
               "                       64M,1G,8G; the ratio compares the first and the last)\n"
               "     --range=SIZE      The tracked range (default 64K)\n"
               "     --pairs=N         Timed TRACK+UNTRACK pairs per size (default 200, 0 = skip)\n"
               "     --warmup=N        Untimed pairs before them (default 10)\n"
               "     --cycles=N        Full connect..disconnect cycles (default 2000, 0 = skip)\n"
               "     --mappings=N      Split the other memory into N mappings (default 1)\n"
               "     --sparse          Map the other memory without touching it (not resident)\n"
               "     --thp             Allow transparent huge pages (default: 4 KiB pages)\n",
               UFFDTIER_SOCKET_PATH);
}

static int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret) {
        uint64_t u;

        if (parse_u64(s, &u) < 0 || u < min || u > max)
                return -EINVAL;
        *ret = (unsigned) u;
        return 0;
}

static int parse_sizes(const char *s) {
        _cleanup_free_ char *copy = strdup(s);
        char *save = NULL;
        size_t n = 0;

        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (n >= SIZES_MAX || parse_size(t, &arg.sizes[n]) < 0 || arg.sizes[n] == 0)
                        return -EINVAL;
                n++;
        }
        if (n == 0)
                return -EINVAL;
        arg.n_sizes = n;
        return 0;
}

static int parse_argv(int argc, char **argv) {
        enum {
                ARG_SOCKET = 0x100,
                ARG_SIZES,
                ARG_RANGE,
                ARG_PAIRS,
                ARG_WARMUP,
                ARG_CYCLES,
                ARG_MAPPINGS,
                ARG_SPARSE,
                ARG_THP,
        };
        static const struct option options[] = { { "help", no_argument, NULL, 'h' },
                                                 { "socket", required_argument, NULL, ARG_SOCKET },
                                                 { "sizes", required_argument, NULL, ARG_SIZES },
                                                 { "range", required_argument, NULL, ARG_RANGE },
                                                 { "pairs", required_argument, NULL, ARG_PAIRS },
                                                 { "warmup", required_argument, NULL, ARG_WARMUP },
                                                 { "cycles", required_argument, NULL, ARG_CYCLES },
                                                 { "mappings", required_argument, NULL,
                                                   ARG_MAPPINGS },
                                                 { "sparse", no_argument, NULL, ARG_SPARSE },
                                                 { "thp", no_argument, NULL, ARG_THP },
                                                 {} };
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_SOCKET:
                        arg.socket_path = optarg;
                        r = 0;
                        break;
                case ARG_SIZES:
                        r = parse_sizes(optarg);
                        break;
                case ARG_RANGE:
                        r = parse_size(optarg, &arg.range_bytes);
                        if (r >= 0 && arg.range_bytes == 0)
                                r = -EINVAL;
                        break;
                case ARG_PAIRS:
                        r = parse_unsigned(optarg, 0, 1U << 24, &arg.pairs);
                        break;
                case ARG_WARMUP:
                        r = parse_unsigned(optarg, 0, 1U << 24, &arg.warmup);
                        break;
                case ARG_CYCLES:
                        r = parse_unsigned(optarg, 0, 1U << 24, &arg.cycles);
                        break;
                case ARG_MAPPINGS:
                        r = parse_unsigned(optarg, 1, 1U << 16, &arg.mappings);
                        break;
                case ARG_SPARSE:
                        arg.sparse = true;
                        r = 0;
                        break;
                case ARG_THP:
                        arg.thp = true;
                        r = 0;
                        break;
                default:
                        return -EINVAL;
                }
                if (r < 0) {
                        fprintf(stderr, "bench-handoff: invalid value for an option: \"%s\"\n",
                                optarg);
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "bench-handoff: unexpected argument: %s\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static uint64_t now_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* ---- statistics -------------------------------------------------------------------------- */

typedef struct Stats {
        double median_usec; /* nearest rank, like p90: always a measured value */
        double p90_usec;
        double max_usec;
} Stats;

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples: the smallest value at or above pct % of them. */
static double percentile_usec(const uint64_t *sorted_nsec, size_t n, unsigned pct) {
        size_t rank = DIV_ROUND_UP(n * pct, 100);
        return (double) sorted_nsec[rank > 0 ? rank - 1 : 0] / 1000.0;
}

static Stats stats_of(uint64_t *nsec, size_t n) {
        if (n == 0)
                return (Stats){};
        qsort(nsec, n, sizeof *nsec, cmp_u64);
        return (Stats){
                .median_usec = percentile_usec(nsec, n, 50),
                .p90_usec = percentile_usec(nsec, n, 90),
                .max_usec = (double) nsec[n - 1] / 1000.0,
        };
}

/* ---- the machine ------------------------------------------------------------------------- */

typedef struct Machine {
        long n_cpus;
        char model[128];
        char kernel[192];
        uint64_t mem_total_bytes;
} Machine;

/* A "Key:   value kB" line of /proc/meminfo, in bytes; 0 when it is missing. */
static uint64_t meminfo_bytes(const char *key) {
        _cleanup_fclose_ FILE *f = fopen("/proc/meminfo", "re");
        char line[256];
        size_t klen = strlen(key);
        unsigned long long kib;

        while (f && fgets(line, sizeof line, f))
                if (strncmp(line, key, klen) == 0 && line[klen] == ':' &&
                    sscanf(line + klen + 1, " %llu", &kib) == 1)
                        return (uint64_t) kib * 1024;
        return 0;
}

static void machine_read(Machine *ret) {
        _cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
        char line[512];
        struct utsname u;

        *ret = (Machine){ .n_cpus = sysconf(_SC_NPROCESSORS_ONLN) };
        snprintf(ret->model, sizeof ret->model, "unknown");
        while (f && fgets(line, sizeof line, f)) {
                char *p = strchr(line, ':');
                if (strncmp(line, "model name", 10) != 0 || !p)
                        continue;
                p += strspn(p + 1, " \t") + 1;
                p[strcspn(p, "\n")] = '\0';
                snprintf(ret->model, sizeof ret->model, "%s", p);
                break;
        }
        if (uname(&u) >= 0)
                snprintf(ret->kernel, sizeof ret->kernel, "%s %s", u.release, u.machine);
        ret->mem_total_bytes = meminfo_bytes("MemTotal");
}

/* Resident bytes of this process, from /proc/self/statm (counters, no page walk). */
static uint64_t self_rss_bytes(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/statm", "re");
        unsigned long long size, resident;

        if (!f || fscanf(f, "%llu %llu", &size, &resident) != 2)
                return 0;
        return (uint64_t) resident * page_size();
}

/* ---- memory ------------------------------------------------------------------------------ */

/* n_chunks mappings of chunk_bytes each, every one followed by a PROT_NONE guard page and the
 * first preceded by one, reserved as one PROT_NONE mapping and opened chunk by chunk: the guards
 * keep the kernel from merging the chunks with each other or with anything else. */
typedef struct Area {
        uint8_t *base; /* the reservation, guards included */
        size_t total_bytes;
        uint8_t *first; /* the first chunk */
        size_t chunk_bytes;
        unsigned n_chunks;
} Area;

static void area_unmap(Area *a) {
        if (a->base)
                (void) munmap(a->base, a->total_bytes);
        *a = (Area){};
}

static int area_map(uint64_t bytes, unsigned n_chunks, bool populate, Area *ret) {
        size_t ps = page_size();
        Area a = { .n_chunks = n_chunks };

        a.chunk_bytes = ALIGN_UP((size_t) DIV_ROUND_UP(bytes, n_chunks), ps);
        a.total_bytes = ps + (size_t) n_chunks * (a.chunk_bytes + ps);
        a.base = mmap(NULL, a.total_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                      -1, 0);
        if (a.base == MAP_FAILED)
                return -errno;
        a.first = a.base + ps;
        for (unsigned i = 0; i < n_chunks; i++) {
                uint8_t *p = a.first + (size_t) i * (a.chunk_bytes + ps);

                if (mprotect(p, a.chunk_bytes, PROT_READ | PROT_WRITE) < 0 ||
                    (!arg.thp && madvise(p, a.chunk_bytes, MADV_NOHUGEPAGE) < 0)) {
                        int r = -errno;
                        area_unmap(&a);
                        return r;
                }
                if (populate)
                        for (size_t off = 0; off < a.chunk_bytes; off += ps)
                                p[off] = 1;
        }
        *ret = a;
        return 0;
}

/* ---- output ------------------------------------------------------------------------------ */

static void json_string(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                unsigned char ch = (unsigned char) *s;
                if (ch == '"' || ch == '\\')
                        fprintf(f, "\\%c", ch);
                else if (ch < 0x20)
                        fprintf(f, "\\u%04x", ch);
                else
                        fputc(ch, f);
        }
        fputc('"', f);
}

static void json_stats(FILE *f, const char *key, const Stats *s) {
        fprintf(f, "\"%s\":{\"median\":%.1f,\"p90\":%.1f,\"max\":%.1f}", key, s->median_usec,
                s->p90_usec, s->max_usec);
}

static const char *fmt_bytes(char *buf, size_t len, uint64_t bytes) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = (double) bytes;
        size_t u = 0;

        while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        snprintf(buf, len, v == (double) (uint64_t) v ? "%.0f %s" : "%.1f %s", v, units[u]);
        return buf;
}

static void print_error(const char *what, struct uffdtier *h, int r) {
        char why[UFFDTIER_ERROR_MAX + 1] = "";

        if (h)
                (void) uffdtier_last_error(h, why, sizeof why);
        fprintf(stderr, "bench-handoff: %s failed: %s%s%s%s\n", what, strerror(-r),
                *why ? " (" : "", why, *why ? ")" : "");
        if (r == -EAGAIN)
                fprintf(stderr,
                        "bench-handoff: the daemon limits connections per uid: run it with "
                        "--conn-rate=0 (no limit) or a rate above the cycle rate\n");
}

/* ---- part 1: TRACK latency --------------------------------------------------------------- */

typedef struct TrackRun {
        uint64_t other_bytes;
        bool skipped; /* not enough free memory */
        uint64_t available_bytes; /* MemAvailable before mapping */
        uint64_t rss_bytes; /* this process's, with the other memory in place */
        double populate_sec;
        Stats track, untrack;
} TrackRun;

static int track_pairs(struct uffdtier *h, void *range, unsigned n, uint64_t *track_nsec,
                       uint64_t *untrack_nsec) {
        for (unsigned i = 0; i < n; i++) {
                uint64_t t0, t1, t2;
                int r;

                t0 = now_nsec();
                r = uffdtier_track(h, range, arg.range_bytes, "bench-handoff", NULL);
                t1 = now_nsec();
                if (r < 0) {
                        print_error("uffdtier_track()", h, r);
                        return r;
                }
                r = uffdtier_untrack(h, range, arg.range_bytes);
                t2 = now_nsec();
                if (r < 0) {
                        print_error("uffdtier_untrack()", h, r);
                        return r;
                }
                if (track_nsec) {
                        track_nsec[i] = t1 - t0;
                        untrack_nsec[i] = t2 - t1;
                }
        }
        return 0;
}

static int track_run(struct uffdtier *h, void *range, uint64_t other_bytes, TrackRun *ret) {
        _cleanup_free_ uint64_t *track_nsec = calloc(arg.pairs, sizeof(uint64_t));
        _cleanup_free_ uint64_t *untrack_nsec = calloc(arg.pairs, sizeof(uint64_t));
        TrackRun run = { .other_bytes = other_bytes };
        Area other = {};
        uint64_t t0;
        int r;

        if (!track_nsec || !untrack_nsec)
                return -ENOMEM;
        run.available_bytes = meminfo_bytes("MemAvailable");
        if (!arg.sparse && other_bytes + MEM_HEADROOM_BYTES > run.available_bytes) {
                run.skipped = true;
                *ret = run;
                return 0;
        }
        t0 = now_nsec();
        r = area_map(other_bytes, arg.mappings, !arg.sparse, &other);
        if (r < 0) {
                fprintf(stderr, "bench-handoff: cannot map %" PRIu64 " bytes: %s\n", other_bytes,
                        strerror(-r));
                return r;
        }
        run.populate_sec = (double) (now_nsec() - t0) / 1e9;
        run.rss_bytes = self_rss_bytes();

        r = track_pairs(h, range, arg.warmup, NULL, NULL);
        if (r >= 0)
                r = track_pairs(h, range, arg.pairs, track_nsec, untrack_nsec);
        area_unmap(&other);
        if (r < 0)
                return r;
        run.track = stats_of(track_nsec, arg.pairs);
        run.untrack = stats_of(untrack_nsec, arg.pairs);
        *ret = run;
        return 0;
}

/* ---- part 2: full cycles ----------------------------------------------------------------- */

enum {
        PHASE_CONNECT,
        PHASE_TRACK,
        PHASE_STATUS,
        PHASE_DISCONNECT,
        _PHASE_MAX
};
static const char *const phase_names[_PHASE_MAX] = { "connect", "track", "status", "disconnect" };

typedef struct CycleRun {
        unsigned n;
        double sec;
        double per_sec;
        Stats phase[_PHASE_MAX];
        Stats cycle;
} CycleRun;

static int cycle_run(void *range, CycleRun *ret) {
        _cleanup_free_ uint64_t *nsec = calloc((size_t) arg.cycles * (_PHASE_MAX + 1),
                                               sizeof(uint64_t));
        CycleRun run = { .n = arg.cycles };
        uint64_t start, end;

        if (!nsec)
                return -ENOMEM;
        start = now_nsec();
        for (unsigned i = 0; i < arg.cycles; i++) {
                struct uffdtier_status *st = NULL;
                struct uffdtier *h = NULL;
                uint64_t t[_PHASE_MAX + 1];
                int r;

                t[0] = now_nsec();
                r = uffdtier_connect(arg.socket_path, "bench-handoff", 0, &h);
                t[1] = now_nsec();
                if (r < 0) {
                        fprintf(stderr, "bench-handoff: in cycle %u:\n", i + 1);
                        print_error("uffdtier_connect()", NULL, r);
                        return r;
                }
                r = uffdtier_track(h, range, arg.range_bytes, "bench-handoff", NULL);
                t[2] = now_nsec();
                if (r >= 0) {
                        r = uffdtier_status(h, &st);
                        t[3] = now_nsec();
                        uffdtier_status_free(st);
                        if (r < 0) {
                                fprintf(stderr, "bench-handoff: in cycle %u:\n", i + 1);
                                print_error("uffdtier_status()", h, r);
                        }
                } else {
                        fprintf(stderr, "bench-handoff: in cycle %u:\n", i + 1);
                        print_error("uffdtier_track()", h, r);
                }
                if (r < 0) {
                        (void) uffdtier_disconnect(h);
                        return r;
                }
                r = uffdtier_disconnect(h);
                t[4] = now_nsec();
                if (r < 0) {
                        fprintf(stderr, "bench-handoff: in cycle %u:\n", i + 1);
                        print_error("uffdtier_disconnect()", NULL, r);
                        return r;
                }
                for (unsigned p = 0; p < _PHASE_MAX; p++)
                        nsec[(size_t) p * arg.cycles + i] = t[p + 1] - t[p];
                nsec[(size_t) _PHASE_MAX * arg.cycles + i] = t[_PHASE_MAX] - t[0];
        }
        end = now_nsec();

        run.sec = (double) (end - start) / 1e9;
        run.per_sec = run.sec > 0 ? run.n / run.sec : 0;
        for (unsigned p = 0; p < _PHASE_MAX; p++)
                run.phase[p] = stats_of(nsec + (size_t) p * arg.cycles, arg.cycles);
        run.cycle = stats_of(nsec + (size_t) _PHASE_MAX * arg.cycles, arg.cycles);
        *ret = run;
        return 0;
}

/* ---- main -------------------------------------------------------------------------------- */

static const char *backend_of(struct uffdtier *h, char *buf, size_t len) {
        struct uffdtier_status *st = NULL;

        snprintf(buf, len, "unknown");
        if (uffdtier_status(h, &st) >= 0 && st->backend)
                snprintf(buf, len, "%s", st->backend);
        uffdtier_status_free(st);
        return buf;
}

int main(int argc, char **argv) {
        TrackRun runs[SIZES_MAX] = {};
        CycleRun cycles = {};
        struct uffdtier *h = NULL;
        char a[32], b[32], backend[64] = "unknown";
        const TrackRun *lo = NULL, *hi = NULL;
        double ratio = -1;
        Area range = {};
        Machine mach;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (!IS_ALIGNED(arg.range_bytes, (uint64_t) page_size())) {
                fprintf(stderr, "bench-handoff: --range must be a multiple of the page size\n");
                return EXIT_FAILURE;
        }
        machine_read(&mach);

        /* The range is written once, so TRACK sees resident pages, as a real client's would. */
        r = area_map(arg.range_bytes, 1, true, &range);
        if (r < 0) {
                fprintf(stderr, "bench-handoff: cannot map the range: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        if (arg.pairs > 0) {
                r = uffdtier_connect(arg.socket_path, "bench-handoff", 0, &h);
                if (r < 0) {
                        print_error("uffdtier_connect()", NULL, r);
                        goto fail;
                }
                (void) backend_of(h, backend, sizeof backend);
                for (size_t i = 0; i < arg.n_sizes; i++) {
                        fprintf(stderr, "bench-handoff: TRACK latency with %s of other memory...\n",
                                fmt_bytes(a, sizeof a, arg.sizes[i]));
                        r = track_run(h, range.first, arg.sizes[i], &runs[i]);
                        if (r < 0)
                                goto fail;
                }
                r = uffdtier_disconnect(TAKE_PTR(h));
                if (r < 0) {
                        print_error("uffdtier_disconnect()", NULL, r);
                        goto fail;
                }
                lo = &runs[0];
                hi = &runs[arg.n_sizes - 1];
                if (arg.n_sizes > 1 && !lo->skipped && !hi->skipped && lo->track.median_usec > 0)
                        ratio = hi->track.median_usec / lo->track.median_usec;
        }
        if (arg.cycles > 0) {
                fprintf(stderr, "bench-handoff: %u connect/track/status/disconnect cycles...\n",
                        arg.cycles);
                r = cycle_run(range.first, &cycles);
                if (r < 0)
                        goto fail;
        }
        area_unmap(&range);

        /* ---- the table ---- */
        printf("machine: %ld CPUs, %s, %s RAM, kernel %s\n", mach.n_cpus, mach.model,
               fmt_bytes(a, sizeof a, mach.mem_total_bytes), mach.kernel);
        if (arg.pairs > 0) {
                printf("backend: %s\n\n", backend);
                printf("TRACK / UNTRACK latency of one %s private anonymous range, %u pairs (after %u untimed),\n"
                       "other memory %s, %s pages, %u mapping%s, one size at a time:\n\n",
                       fmt_bytes(a, sizeof a, arg.range_bytes), arg.pairs, arg.warmup,
                       arg.sparse ? "mapped but never touched (sparse)"
                                  : "resident (one byte written per page)",
                       arg.thp ? "THP allowed" : "4 KiB", arg.mappings,
                       arg.mappings == 1 ? "" : "s");
                printf("| other memory | client RSS | TRACK median | p90 | max | UNTRACK median | p90 | max |\n");
                printf("|---|---|---|---|---|---|---|---|\n");
                for (size_t i = 0; i < arg.n_sizes; i++) {
                        const TrackRun *t = &runs[i];
                        if (t->skipped) {
                                printf("| %s | skipped: only %s available | | | | | | |\n",
                                       fmt_bytes(a, sizeof a, t->other_bytes),
                                       fmt_bytes(b, sizeof b, t->available_bytes));
                                continue;
                        }
                        printf("| %s | %s | %.1f µs | %.1f µs | %.1f µs | %.1f µs | %.1f µs | %.1f µs |\n",
                               fmt_bytes(a, sizeof a, t->other_bytes),
                               fmt_bytes(b, sizeof b, t->rss_bytes), t->track.median_usec,
                               t->track.p90_usec, t->track.max_usec, t->untrack.median_usec,
                               t->untrack.p90_usec, t->untrack.max_usec);
                }
                printf("\n");
                if (ratio >= 0)
                        printf("TRACK median, %s / %s: %.2fx (aim: at most %.0fx: %s)\n",
                               fmt_bytes(a, sizeof a, hi->other_bytes),
                               fmt_bytes(b, sizeof b, lo->other_bytes), ratio, AIM_TRACK_RATIO_MAX,
                               ratio <= AIM_TRACK_RATIO_MAX ? "met" : "MISSED");
                else
                        printf("TRACK median ratio: not measured (one size, or a size skipped)\n");
        }
        if (arg.cycles > 0) {
                printf("\n%u full cycles (connect + TRACK %s + STATUS + disconnect) in %.3f s: %.0f per second (aim: at least %.0f: %s)\n\n",
                       cycles.n, fmt_bytes(a, sizeof a, arg.range_bytes), cycles.sec,
                       cycles.per_sec, AIM_CYCLES_PER_SEC_MIN,
                       cycles.per_sec >= AIM_CYCLES_PER_SEC_MIN ? "met" : "MISSED");
                printf("| phase | median | p90 | max |\n|---|---|---|---|\n");
                for (unsigned p = 0; p < _PHASE_MAX; p++)
                        printf("| %s | %.1f µs | %.1f µs | %.1f µs |\n", phase_names[p],
                               cycles.phase[p].median_usec, cycles.phase[p].p90_usec,
                               cycles.phase[p].max_usec);
                printf("| whole cycle | %.1f µs | %.1f µs | %.1f µs |\n", cycles.cycle.median_usec,
                       cycles.cycle.p90_usec, cycles.cycle.max_usec);
        }
        printf("\n");

        /* ---- the JSON line: latencies in µs ---- */
        printf("{\"bench\":\"handoff\",\"machine\":{\"nproc\":%ld,\"model\":", mach.n_cpus);
        json_string(stdout, mach.model);
        printf(",\"kernel\":");
        json_string(stdout, mach.kernel);
        printf(",\"mem_total_bytes\":%" PRIu64 "},\"backend\":", mach.mem_total_bytes);
        json_string(stdout, backend);
        printf(",\"range_bytes\":%" PRIu64 ",\"other_memory\":\"%s\",\"thp\":%s,\"mappings\":%u,"
               "\"pairs\":%u,\"warmup_pairs\":%u,\"track\":[",
               arg.range_bytes, arg.sparse ? "sparse" : "resident", arg.thp ? "true" : "false",
               arg.mappings, arg.pairs, arg.warmup);
        for (size_t i = 0; arg.pairs > 0 && i < arg.n_sizes; i++) {
                const TrackRun *t = &runs[i];
                printf("%s{\"other_bytes\":%" PRIu64, i ? "," : "", t->other_bytes);
                if (t->skipped)
                        printf(",\"skipped\":\"not enough memory\",\"available_bytes\":%" PRIu64
                               "}",
                               t->available_bytes);
                else {
                        printf(",\"rss_bytes\":%" PRIu64 ",\"populate_sec\":%.3f,", t->rss_bytes,
                               t->populate_sec);
                        json_stats(stdout, "track_usec", &t->track);
                        printf(",");
                        json_stats(stdout, "untrack_usec", &t->untrack);
                        printf("}");
                }
        }
        printf("],\"track_median_ratio\":");
        if (ratio >= 0)
                printf("%.3f,\"track_ratio_of\":[%" PRIu64 ",%" PRIu64 "]", ratio, hi->other_bytes,
                       lo->other_bytes);
        else
                printf("null");
        printf(",\"cycles\":");
        if (arg.cycles > 0) {
                printf("{\"n\":%u,\"sec\":%.3f,\"per_sec\":%.1f", cycles.n, cycles.sec,
                       cycles.per_sec);
                for (unsigned p = 0; p < _PHASE_MAX; p++) {
                        char key[32];
                        snprintf(key, sizeof key, "%s_usec", phase_names[p]);
                        printf(",");
                        json_stats(stdout, key, &cycles.phase[p]);
                }
                printf(",");
                json_stats(stdout, "cycle_usec", &cycles.cycle);
                printf("}");
        } else
                printf("null");
        printf(",\"aims\":{\"track_ratio_max\":%.1f,\"track_ratio_met\":%s,"
               "\"cycles_per_sec_min\":%.0f,\"cycles_met\":%s}}\n",
               AIM_TRACK_RATIO_MAX,
               ratio < 0                              ? "null"
                       : ratio <= AIM_TRACK_RATIO_MAX ? "true"
                                                      : "false",
               AIM_CYCLES_PER_SEC_MIN,
               arg.cycles == 0                                    ? "null"
                       : cycles.per_sec >= AIM_CYCLES_PER_SEC_MIN ? "true"
                                                                  : "false");
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;

fail:
        (void) uffdtier_disconnect(h);
        area_unmap(&range);
        return EXIT_FAILURE;
}
