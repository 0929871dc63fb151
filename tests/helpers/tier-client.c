/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tier-client: a cooperating program for the integration tests. It maps anonymous memory, fills it
 * with a pattern it can verify later, hands it to uffdtierd through libuffdtier, prints
 *     READY pid=<pid> addr=0x<addr> len=<bytes>
 * and then executes one command per line from stdin, answering each with one line "OK ..." or
 * "ERR <ERRNO-NAME> <message>" (status prints its data lines first). Commands:
 *
 *   touch-hot | read-hot | read-all | verify | status | fork | sleep MS | exit
 *   hot-at OFF                   the hot part (same size) from OFF on: a hot set that moves
 *   reconnect                    uffdtier_reconnect(): a new session, the ranges handed over again
 *   mremap NEWSIZE | munmap OFF LEN | madv-dontneed OFF LEN
 *   track OFF LEN [NAME [LABEL...]] | untrack OFF LEN
 *   read-into-buffer [OFF]       read(2) a page from a pipe into tracked memory (kernel access)
 *   raw-garbage | raw-truncated | raw-oversized | raw-bad-version | raw-track-before-hello
 *   raw-hello-wrong-fds pipe|regular|none|extra
 *   raw-empty                    an empty packet, then HELLO and STATUS on the same connection
 *   raw-many-fds [N]             a STATUS with N descriptors (PROTO_FDS_MAX + 1 by default)
 *   raw-flood-status N           HELLO, then N STATUS requests without reading the replies
 *   raw-garbage-repeat N         N garbage packets on one connection, each reply read: "OK N
 *                                answered" or "ERR ECONNRESET closed after K replies"
 *   raw-hello-negotiated-uffd | raw-hello-foreign-pidfd | raw-double-hello | raw-track-unaligned
 *   raw-hello-foreign-uffd [OFF LEN]   HELLO with a forked child's uffd, then TRACK (OFF LEN: that
 *                                part of our mapping; prints "CHILD registered=B verify=ok|bad")
 *   raw-hello-opath-pagemap | raw-hello-wronly-pagemap | raw-hello-opath-uffd
 *   raw-track ADDR LEN           own HELLO, then TRACK of an absolute range, whatever is there
 *   map anon|prot-none|shared|file LEN   a new mapping ("OK mapped addr=0x.. len=..")
 *   preregister OFF LEN          register that part with a second WP_ASYNC uffd of our own
 *   spawn PATH ARG... | spawn-stop PID   posix_spawn (no FORK event), stdin a pipe we hold
 *   exec PATH ARG...             execv, keeping the daemon connection (and stdin/stdout) open
 *
 * fork prints the child's line first: "CHILD READY pid=.. addr=.. len=.. verify=ok|bad@0xOFF"; the
 * child keeps its copy of the memory and lives until killed or until this process exits.
 * mremap moves the one contiguous mapped run (ERR EBUSY after a munmap made holes). exit (or end
 * of input) disconnects and prints "OK bye". A failed start (connect, initial track) prints one
 * ERR line instead of READY and exits 1.
 *
 * Options: --socket PATH (else $UFFDTIER_SOCKET, else the default), --size (256M), --hot-fraction
 * (0.25: the first quarter of the pages is the hot part), --name (client name; the initial range
 * is named "main"), --fill-seed S (0), --no-connect (no library session: for raw-* commands only),
 * --user-mode-only / --no-user-mode-only (the UFFDTIER_CONNECT_* flags).
 *
 * OFF is relative to the address of the last READY/mremap line; sizes take K/M/G suffixes. The
 * raw-* commands bypass the library on a new connection of their own and report the daemon's
 * answer: "ERR <ERRNO-NAME> <message>" for an error REPLY (the expected outcome), "OK accepted"
 * for a success, "ERR ECONNRESET ..." when it hung up without answering.
 *
 * Memory model, so `verify` knows what every byte should be: the mapping is an array of page
 * slots at base + i * page_size; each slot holds either the pattern of some "content page" c (the
 * 8-byte word w of that page is mix(seed, c * words_per_page + w)), zeroes (after MADV_DONTNEED or
 * mremap growth), or nothing (unmapped). Writes (touch-hot) rewrite the same pattern, so they make
 * pages dirty and accessed without changing what verify expects. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <dirent.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"
#include "protocol-io.h"
#include "protocol.h"
#include "uapi.h"
#include "uffdtier.h"

#define CONTENT_ZERO INT64_C(-1)
#define CONTENT_UNMAPPED INT64_C(-2)
/* How long a raw-* command waits for the daemon's answer. */
#define RAW_REPLY_TIMEOUT_MS 5000
#define CHILDREN_MAX 64
/* The kernel's SCM_MAX_FD: the most descriptors one sendmsg() can carry. */
#define RAW_FDS_MAX 253

static struct {
        const char *socket_path;
        uint64_t size;
        double hot_fraction;
        const char *name;
        uint64_t seed;
        bool connect;
        bool thp;
        unsigned connect_flags;
} arg = {
        .size = 256ULL << 20,
        .hot_fraction = 0.25,
        .name = "tier-client",
        .connect = true,
};

static struct uffdtier *handle;
static uint8_t *base;
static size_t n_pages; /* slots from base */
static int64_t *content; /* per slot: content page index, CONTENT_ZERO or CONTENT_UNMAPPED */
static size_t n_hot_pages; /* slots [hot_first, hot_first + n_hot_pages) are the hot part */
static size_t hot_first; /* 0 until hot-at moves it */
static size_t ps, words_per_page;
static pid_t children[CHILDREN_MAX];
static size_t n_children;

/* ---- output ---- */

static const char *errno_name(int error) {
        const char *n = strerrorname_np(error);
        return n ? n : "EUNKNOWN";
}

_printf_(1, 2) static int ok(const char *format, ...) {
        va_list ap;

        fputs("OK", stdout);
        if (format[0]) {
                fputc(' ', stdout);
                va_start(ap, format);
                vprintf(format, ap);
                va_end(ap);
        }
        fputc('\n', stdout);
        fflush(stdout);
        return 0;
}

/* error: positive or negative errno. The message must be one line. */
_printf_(2, 3) static int err(int error, const char *format, ...) {
        char text[1024];
        va_list ap;

        va_start(ap, format);
        vsnprintf(text, sizeof text, format, ap);
        va_end(ap);
        for (char *p = text; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        printf("ERR %s %s\n", errno_name(error < 0 ? -error : error), text);
        fflush(stdout);
        return 0;
}

/* A libuffdtier failure: the daemon's (or library's) explanation if there is one. */
static int err_lib(int r, const char *what) {
        char text[UFFDTIER_ERROR_MAX + 1];

        if (handle && uffdtier_last_error(handle, text, sizeof text) >= 0)
                return err(r, "%s: %s", what, text);
        return err(r, "%s: %s", what, strerror(-r));
}

/* ---- the pattern ---- */

static uint64_t mix(uint64_t x) {
        /* splitmix64's finaliser: cheap, and every input bit affects every output bit. */
        x += 0x9e3779b97f4a7c15ULL;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
}

static uint64_t pattern_word(int64_t c, size_t w) {
        return mix(arg.seed ^ mix((uint64_t) c * words_per_page + w));
}

static uint64_t *slot(size_t i) {
        return (uint64_t *) (base + i * ps);
}

static void fill_slot(size_t i, int64_t c) {
        uint64_t *p = slot(i);

        for (size_t w = 0; w < words_per_page; w++)
                p[w] = pattern_word(c, w);
        content[i] = c;
}

/* Returns -1 when the slot is as expected, else the byte offset (within the slot) of the first
 * difference, with the words in *ret_expected and *ret_got. */
static ssize_t check_slot(size_t i, uint64_t *ret_expected, uint64_t *ret_got) {
        const uint64_t *p = slot(i);

        for (size_t w = 0; w < words_per_page; w++) {
                uint64_t e = content[i] == CONTENT_ZERO ? 0 : pattern_word(content[i], w);
                if (p[w] != e) {
                        *ret_expected = e;
                        *ret_got = p[w];
                        return (ssize_t) (w * sizeof(uint64_t));
                }
        }
        return -1;
}

/* ---- argument parsing ---- */

static int parse_offset_len(const char *o, const char *l, size_t *ret_first, size_t *ret_count) {
        uint64_t off, len;

        if (!o || !l || parse_size(o, &off) < 0 || parse_size(l, &len) < 0)
                return -EINVAL;
        if (off % ps != 0 || len == 0 || len % ps != 0)
                return -EINVAL;
        if (off / ps > n_pages || len / ps > n_pages - off / ps)
                return -ERANGE;
        *ret_first = off / ps;
        *ret_count = len / ps;
        return 0;
}

/* ---- commands on memory ---- */

static int cmd_touch_hot(void) {
        size_t n = 0;

        for (size_t i = hot_first; i < MIN(hot_first + n_hot_pages, n_pages); i++) {
                if (content[i] == CONTENT_UNMAPPED)
                        continue;
                fill_slot(i, content[i] == CONTENT_ZERO ? (int64_t) i : content[i]);
                n++;
        }
        return ok("touched %zu pages", n);
}

/* Moves the hot part (its size unchanged) to start OFF bytes into the mapping: a workload whose
 * hot set changes. */
static int cmd_hot_at(const char *o) {
        uint64_t off;

        if (!o || parse_size(o, &off) < 0 || off % ps != 0)
                return err(EINVAL, "usage: hot-at OFFSET (page aligned)");
        if (off / ps >= n_pages)
                return err(ERANGE, "offset past the mapping");
        hot_first = off / ps;
        return ok("hot part at page %zu", hot_first);
}

static int cmd_read(size_t first, size_t limit) {
        volatile uint64_t sink = 0;
        size_t n = 0;

        for (size_t i = first; i < MIN(first + limit, n_pages); i++) {
                const volatile uint64_t *p = slot(i);

                if (content[i] == CONTENT_UNMAPPED)
                        continue;
                /* One word per 512 bytes: touches every cache line group a scanner could care
                 * about without spending the test's time on memory bandwidth. */
                for (size_t w = 0; w < words_per_page; w += 64)
                        sink += p[w];
                n++;
        }
        (void) sink;
        return ok("read %zu pages", n);
}

static int cmd_verify(void) {
        size_t n = 0;

        for (size_t i = 0; i < n_pages; i++) {
                uint64_t e, g;
                ssize_t off;

                if (content[i] == CONTENT_UNMAPPED)
                        continue;
                off = check_slot(i, &e, &g);
                if (off >= 0)
                        return err(EIO,
                                   "mismatch at offset 0x%zx (page %zu): expected 0x%016" PRIx64
                                   " got 0x%016" PRIx64,
                                   i * ps + (size_t) off, i, e, g);
                n++;
        }
        return ok("verified %zu pages", n);
}

static int cmd_status(void) {
        struct uffdtier_status *s;
        int r;

        if (!handle)
                return err(ENOTCONN, "not connected");
        r = uffdtier_status(handle, &s);
        if (r < 0)
                return err_lib(r, "status");
        printf("backend %s\n", s->backend ? s->backend : "-");
        for (size_t i = 0; i < s->n_counters; i++)
                printf("counter %s %" PRIu64 "\n", s->counters[i].name, s->counters[i].value);
        for (size_t i = 0; i < s->n_ranges; i++)
                printf("range 0x%" PRIxPTR " %zu %s\n", (uintptr_t) s->ranges[i].addr,
                       s->ranges[i].len, s->ranges[i].name ? s->ranges[i].name : "-");
        r = ok("%zu counters %zu ranges", s->n_counters, s->n_ranges);
        uffdtier_status_free(s);
        return r;
}

/* reconnect: uffdtier_reconnect(), after the daemon restarted. */
static int cmd_reconnect(void) {
        int r;

        if (!handle)
                return err(ENOTCONN, "not connected");
        r = uffdtier_reconnect(handle);
        if (r < 0)
                return err_lib(r, "reconnect");
        return ok("reconnected");
}

static int cmd_munmap(const char *o, const char *l) {
        size_t first, count;

        if (parse_offset_len(o, l, &first, &count) < 0)
                return err(EINVAL, "usage: munmap OFFSET LEN (page aligned, inside the mapping)");
        if (munmap(base + first * ps, count * ps) < 0)
                return err(errno, "munmap: %m");
        for (size_t i = first; i < first + count; i++)
                content[i] = CONTENT_UNMAPPED;
        return ok("unmapped %zu pages", count);
}

static int cmd_madv_dontneed(const char *o, const char *l) {
        size_t first, count;

        if (parse_offset_len(o, l, &first, &count) < 0)
                return err(EINVAL, "usage: madv-dontneed OFFSET LEN");
        if (madvise(base + first * ps, count * ps, MADV_DONTNEED) < 0)
                return err(errno, "madvise: %m");
        for (size_t i = first; i < first + count; i++)
                if (content[i] != CONTENT_UNMAPPED)
                        content[i] = CONTENT_ZERO;
        return ok("dropped %zu pages", count);
}

/* Moves the mapped run of slots [a, b) (it must be the only one) to a mapping of new_size bytes;
 * pages beyond the old end read as zeroes. */
static int cmd_mremap(const char *s) {
        size_t a = 0, b, new_pages;
        int64_t *nc;
        uint64_t new_size;
        void *p;

        if (!s || parse_size(s, &new_size) < 0 || new_size == 0 || new_size % ps != 0)
                return err(EINVAL, "usage: mremap NEWSIZE (page aligned)");
        while (a < n_pages && content[a] == CONTENT_UNMAPPED)
                a++;
        for (b = a; b < n_pages && content[b] != CONTENT_UNMAPPED; b++)
                ;
        for (size_t i = b; i < n_pages; i++)
                if (content[i] != CONTENT_UNMAPPED)
                        return err(EBUSY, "mremap needs a single contiguous mapping");
        if (a == b)
                return err(ENOENT, "nothing is mapped");

        new_pages = new_size / ps;
        nc = malloc(new_pages * sizeof *nc);
        if (!nc)
                return err(ENOMEM, "out of memory");
        p = mremap(base + a * ps, (b - a) * ps, new_size, MREMAP_MAYMOVE);
        if (p == MAP_FAILED) {
                free(nc);
                return err(errno, "mremap: %m");
        }
        for (size_t i = 0; i < new_pages; i++)
                nc[i] = i < b - a ? content[a + i] : CONTENT_ZERO;
        free(content);
        content = nc;
        /* The hot part stays the same pages of content, wherever they are now. */
        n_hot_pages = n_hot_pages > a ? n_hot_pages - a : 0;
        base = p;
        n_pages = new_pages;
        return ok("addr=0x%" PRIxPTR " len=%zu", (uintptr_t) base, (size_t) new_size);
}

static int cmd_track(char **args) {
        size_t first, count;
        int r;

        if (!handle)
                return err(ENOTCONN, "not connected");
        if (parse_offset_len(args[0], args[0] ? args[1] : NULL, &first, &count) < 0)
                return err(EINVAL, "usage: track OFFSET LEN [NAME [LABEL...]]");
        r = uffdtier_track(handle, base + first * ps, count * ps, args[1] ? args[2] : NULL,
                           args[1] && args[2] ? (const char *const *) args + 3 : NULL);
        if (r < 0)
                return err_lib(r, "track");
        return ok("tracked 0x%" PRIxPTR " %zu", (uintptr_t) (base + first * ps), count * ps);
}

/* track-churn N: N TRACK/UNTRACK pairs of one page of a mapping of its own, each with a name
 * and 32 labels that differ from pair to pair (what the daemon keeps per range must not grow
                 * with the pairs: tests/integration/test-growth.sh). */
static int cmd_track_churn(const char *s) {
        static char label_buf[32][48];
        const char *labels[33];
        char name[48];
        uint64_t n;
        void *m;
        int r = 0;

        if (!handle)
                return err(ENOTCONN, "not connected");
        if (!s || parse_u64(s, &n) < 0 || n == 0)
                return err(EINVAL, "usage: track-churn N");
        m = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
                return err(errno, "mmap: %m");
        memset(m, 0x3c, ps);
        for (uint64_t i = 0; i < n && r >= 0; i++) {
                snprintf(name, sizeof name, "churn-%" PRIu64, i);
                for (size_t j = 0; j < 32; j++) {
                        snprintf(label_buf[j], sizeof label_buf[j], "key%zu=value-%" PRIu64, j, i);
                        labels[j] = label_buf[j];
                }
                labels[32] = NULL;
                r = uffdtier_track(handle, m, ps, name, labels);
                if (r >= 0)
                        r = uffdtier_untrack(handle, m, ps);
        }
        (void) munmap(m, ps);
        if (r < 0)
                return err_lib(r, "track-churn");
        return ok("%" PRIu64 " pairs", n);
}

static int cmd_untrack(char **args) {
        size_t first, count;
        int r;

        if (!handle)
                return err(ENOTCONN, "not connected");
        if (parse_offset_len(args[0], args[0] ? args[1] : NULL, &first, &count) < 0)
                return err(EINVAL, "usage: untrack OFFSET LEN");
        r = uffdtier_untrack(handle, base + first * ps, count * ps);
        if (r < 0)
                return err_lib(r, "untrack");
        return ok("untracked 0x%" PRIxPTR " %zu", (uintptr_t) (base + first * ps), count * ps);
}

/* read(2) from a pipe into tracked memory: the kernel, not the CPU in user mode, accesses the
 * page (copy_to_user). The pipe carries exactly what the page should contain, so a successful
 * read leaves verify's expectations intact. By default the last mapped page: cold, if any is. */
static int cmd_read_into_buffer(const char *o) {
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        _cleanup_free_ uint64_t *expected = NULL;
        int p[2];
        size_t i;
        ssize_t n;

        if (o) {
                uint64_t off;
                if (parse_size(o, &off) < 0 || off % ps != 0 || off / ps >= n_pages)
                        return err(EINVAL, "usage: read-into-buffer [OFFSET]");
                i = off / ps;
        } else {
                for (i = n_pages; i > 0 && content[i - 1] == CONTENT_UNMAPPED; i--)
                        ;
                if (i == 0)
                        return err(ENOENT, "nothing is mapped");
                i--;
        }
        if (content[i] == CONTENT_UNMAPPED)
                return err(EINVAL, "page %zu is not mapped", i);
        if (pipe2(p, O_CLOEXEC) < 0)
                return err(errno, "pipe: %m");
        rfd = p[0], wfd = p[1];

        expected = malloc(ps);
        if (!expected)
                return err(ENOMEM, "out of memory");
        if (content[i] == CONTENT_ZERO)
                content[i] = (int64_t) i; /* the read makes it a pattern page */
        for (size_t w = 0; w < words_per_page; w++)
                expected[w] = pattern_word(content[i], w);
        if (write(wfd, expected, ps) != (ssize_t) ps)
                return err(errno ? errno : EIO, "write to pipe: %m");

        n = read(rfd, base + i * ps, ps);
        if (n < 0)
                return err(errno, "read into page %zu at 0x%" PRIxPTR ": %m", i,
                           (uintptr_t) (base + i * ps));
        return ok("read %zd bytes into page %zu", n, i);
}

static int cmd_fork(void) {
        int sync_pipe[2];
        char c;
        pid_t pid;

        if (n_children >= CHILDREN_MAX)
                return err(EAGAIN, "too many children");
        if (pipe2(sync_pipe, O_CLOEXEC) < 0)
                return err(errno, "pipe: %m");
        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                safe_close(sync_pipe[0]);
                safe_close(sync_pipe[1]);
                return err(errno, "fork: %m");
        }
        if (pid == 0) {
                uint64_t e, g;
                size_t bad = SIZE_MAX;

                /* The child keeps its copy of the memory and lives as long as the parent. It
                 * must not touch the parent's libuffdtier handle (it is the parent's session). */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() == 1)
                        _exit(EXIT_FAILURE);
                safe_close(sync_pipe[0]);
                (void) dup2(open("/dev/null", O_RDONLY | O_CLOEXEC), STDIN_FILENO);
                for (size_t i = 0; i < n_pages && bad == SIZE_MAX; i++)
                        if (content[i] != CONTENT_UNMAPPED && check_slot(i, &e, &g) >= 0)
                                bad = i;
                if (bad == SIZE_MAX)
                        printf("CHILD READY pid=%d addr=0x%" PRIxPTR " len=%zu verify=ok\n",
                               (int) getpid(), (uintptr_t) base, n_pages * ps);
                else
                        printf("CHILD READY pid=%d addr=0x%" PRIxPTR " len=%zu verify=bad@0x%zx\n",
                               (int) getpid(), (uintptr_t) base, n_pages * ps, bad * ps);
                fflush(stdout);
                if (write(sync_pipe[1], "x", 1) < 0)
                        _exit(EXIT_FAILURE);
                safe_close(sync_pipe[1]);
                for (;;)
                        pause();
        }
        safe_close(sync_pipe[1]);
        /* Print after the child's line, so the order on stdout is fixed. */
        if (read(sync_pipe[0], &c, 1) != 1) {
                safe_close(sync_pipe[0]);
                return err(ECHILD, "child %d died before it was ready", (int) pid);
        }
        safe_close(sync_pipe[0]);
        children[n_children++] = pid;
        return ok("child=%d", (int) pid);
}

static int cmd_sleep(const char *s) {
        uint64_t ms;

        if (!s || parse_u64(s, &ms) < 0)
                return err(EINVAL, "usage: sleep MS");
        (void) nanosleep(&(struct timespec){ .tv_sec = (time_t) (ms / 1000),
                                             .tv_nsec = (long) (ms % 1000) * 1000000 },
                         NULL);
        return ok("slept %" PRIu64 " ms", ms);
}

/* ---- raw protocol misbehaviours ---- */

/* A fresh userfaultfd; an unprivileged process (vm.unprivileged_userfaultfd=0) gets a
 * user-mode-only one, as the library would. */
static int new_uffd(void) {
        int u = (int) syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

        if (u < 0 && errno == EPERM)
                u = (int) syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
        return u;
}

static int raw_connect(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *path = arg.socket_path;
        int fd;

        if (!path)
                path = getenv("UFFDTIER_SOCKET");
        if (!path || !path[0])
                path = UFFDTIER_SOCKET_PATH;
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* Waits for the daemon's answer on a raw connection and reports it. Reads on after one
 * ECONNRESET, which the kernel reports ahead of a reply queued before the daemon hung up. */
static int raw_report(int fd) {
        static uint8_t buf[PROTO_MESSAGE_MAX_BYTES];

        for (bool reset_seen = false;;) {
                _cleanup_proto_message_ ProtoMessage m = {};
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                char reason[PROTO_REASON_MAX_BYTES];
                size_t len;
                int r;

                r = poll(&pfd, 1, RAW_REPLY_TIMEOUT_MS);
                if (r == 0)
                        return err(ETIMEDOUT, "no reply within %d ms", RAW_REPLY_TIMEOUT_MS);
                r = proto_recv(fd, buf, sizeof buf, &len, NULL, 0, NULL);
                if (r == -ECONNRESET && !reset_seen) {
                        reset_seen = true;
                        continue;
                }
                if (r == -ECONNRESET || (r >= 0 && len == 0))
                        return err(ECONNRESET, "the daemon closed the connection without a reply");
                if (r < 0)
                        return err(r, "receive: %s", strerror(-r));
                r = proto_decode(buf, len, reason, sizeof reason, &m);
                if (r < 0)
                        return err(EPROTO, "undecodable reply: %s", reason);
                if (m.type != PROTO_REPLY)
                        return err(EPROTO, "got %s instead of a REPLY",
                                   proto_type_to_string(m.type));
                if (m.error != 0)
                        return err(m.error, "%s", m.message);
                return ok("accepted");
        }
}

static int raw_send_report(const void *buf, size_t len, const int *fds, size_t n_fds) {
        _cleanup_close_ int fd = raw_connect();
        int r;

        if (fd < 0)
                return err(fd, "connect: %s", strerror(-fd));
        r = proto_send(fd, buf, len, fds, n_fds);
        if (r < 0)
                return err(r, "send: %s", strerror(-r));
        return raw_report(fd);
}

static int raw_send_message(const ProtoMessage *m, const int *fds, size_t n_fds) {
        static uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
        size_t len;
        int r;

        r = proto_encode(m, buf, sizeof buf, &len);
        if (r < 0)
                return err(r, "encode: %s", strerror(-r));
        return raw_send_report(buf, len, fds, n_fds);
}

static int cmd_raw_garbage(void) {
        uint8_t b[64];

        for (size_t i = 0; i < sizeof b; i++)
                b[i] = (uint8_t) mix(arg.seed + i);
        b[0] = 'X'; /* never the magic by accident */
        return raw_send_report(b, sizeof b, NULL, 0);
}

static int cmd_raw_garbage_repeat(const char *s) {
        _cleanup_close_ int fd = raw_connect();
        static uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
        uint64_t n, replies = 0;
        uint8_t b[64];

        if (!s || parse_u64(s, &n) < 0 || n == 0)
                return err(EINVAL, "usage: raw-garbage-repeat N");
        if (fd < 0)
                return err(fd, "connect: %s", strerror(-fd));
        for (size_t i = 0; i < sizeof b; i++)
                b[i] = (uint8_t) mix(arg.seed + i);
        b[0] = 'X';
        for (uint64_t i = 0; i < n; i++) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                size_t len;
                int r;

                r = proto_send(fd, b, sizeof b, NULL, 0);
                if (r == -EPIPE || r == -ECONNRESET)
                        break;
                if (r < 0)
                        return err(r, "send %" PRIu64 ": %s", i, strerror(-r));
                if (poll(&pfd, 1, RAW_REPLY_TIMEOUT_MS) == 0)
                        return err(ETIMEDOUT, "no reply to garbage packet %" PRIu64, i);
                r = proto_recv(fd, buf, sizeof buf, &len, NULL, 0, NULL);
                if (r == -ECONNRESET || (r >= 0 && len == 0))
                        break;
                if (r < 0)
                        return err(r, "receive: %s", strerror(-r));
                replies++;
        }
        if (replies == n) {
                /* the last reply may have come just before the hang-up */
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                uint8_t x;

                if (poll(&pfd, 1, RAW_REPLY_TIMEOUT_MS) > 0 && recv(fd, &x, 1, MSG_DONTWAIT) <= 0)
                        return err(ECONNRESET, "closed after %" PRIu64 " replies", replies);
                return ok("%" PRIu64 " answered", replies);
        }
        return err(ECONNRESET, "closed after %" PRIu64 " replies", replies);
}

static int cmd_raw_truncated(void) {
        _cleanup_proto_message_ ProtoMessage m = {};
        uint8_t b[64];
        size_t len;

        proto_message_init(&m, PROTO_STATUS, 1);
        if (proto_encode(&m, b, sizeof b, &len) < 0)
                return err(EINVAL, "encode failed");
        /* Magic, version, type and half of the seq. */
        return raw_send_report(b, PROTO_HEADER_BYTES - 6, NULL, 0);
}

static int cmd_raw_oversized(void) {
        size_t len = PROTO_MESSAGE_MAX_BYTES + 4096;
        _cleanup_free_ uint8_t *b = calloc(1, len);
        uint32_t magic = PROTO_MAGIC, pl = (uint32_t) (len - PROTO_HEADER_BYTES), seq = 1;
        uint16_t version = PROTO_VERSION, type = PROTO_STATUS;

        if (!b)
                return err(ENOMEM, "out of memory");
        memcpy(b, &magic, 4);
        memcpy(b + 4, &version, 2);
        memcpy(b + 6, &type, 2);
        memcpy(b + 8, &seq, 4);
        memcpy(b + 12, &pl, 4);
        return raw_send_report(b, len, NULL, 0);
}

static int cmd_raw_bad_version(void) {
        _cleanup_proto_message_ ProtoMessage m = {};
        uint8_t b[64];
        uint16_t v = PROTO_VERSION + 1;
        size_t len;

        proto_message_init(&m, PROTO_STATUS, 1);
        if (proto_encode(&m, b, sizeof b, &len) < 0)
                return err(EINVAL, "encode failed");
        memcpy(b + 4, &v, 2);
        return raw_send_report(b, len, NULL, 0);
}

static int cmd_raw_track_before_hello(void) {
        _cleanup_proto_message_ ProtoMessage m = {};

        proto_message_init(&m, PROTO_TRACK, 1);
        if (proto_message_add_range(&m, (uintptr_t) base, n_pages * ps) < 0)
                return err(EINVAL, "cannot build TRACK");
        return raw_send_message(&m, NULL, 0);
}

/* HELLO with the wrong descriptors: pipe ends, regular files, none, or the right three plus one
 * more. The descriptors are closed right after sending, like the library does. */
static int cmd_raw_hello_wrong_fds(const char *kind) {
        _cleanup_proto_message_ ProtoMessage m = {};
        int fds[4] = { -EBADF, -EBADF, -EBADF, -EBADF }, p[2];
        size_t n = 0;

        if (!kind)
                return err(EINVAL, "usage: raw-hello-wrong-fds pipe|regular|none|extra");
        if (streq(kind, "pipe")) {
                if (pipe2(p, O_CLOEXEC) < 0)
                        return err(errno, "pipe: %m");
                fds[0] = p[0], fds[1] = p[1], fds[2] = dup(p[0]);
                n = 3;
        } else if (streq(kind, "regular")) {
                for (n = 0; n < 3; n++) {
                        fds[n] = memfd_create("tier-client-regular", MFD_CLOEXEC);
                        if (fds[n] < 0) {
                                int e = errno;
                                proto_close_fds(fds, n);
                                return err(e, "memfd_create: %s", strerror(e));
                        }
                }
        } else if (streq(kind, "none")) {
                n = 0;
        } else if (streq(kind, "extra")) {
                fds[0] = new_uffd();
                fds[1] = (int) syscall(__NR_pidfd_open, getpid(), 0);
                fds[2] = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
                fds[3] = open("/dev/null", O_RDONLY | O_CLOEXEC);
                n = 4;
                for (size_t i = 0; i < n; i++)
                        if (fds[i] < 0) {
                                int e = errno;
                                proto_close_fds(fds, n);
                                return err(e, "cannot open descriptor %zu: %s", i, strerror(e));
                        }
        } else
                return err(EINVAL, "usage: raw-hello-wrong-fds pipe|regular|none|extra");

        proto_message_init(&m, PROTO_HELLO, 1);
        (void) proto_message_set_name(&m, "tier-client-raw");
        {
                static uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
                _cleanup_close_ int fd = raw_connect();
                size_t len;
                int r;

                if (fd < 0) {
                        proto_close_fds(fds, n);
                        return err(fd, "connect: %s", strerror(-fd));
                }
                r = proto_encode(&m, buf, sizeof buf, &len);
                if (r >= 0)
                        r = proto_send(fd, buf, len, fds, n);
                proto_close_fds(fds, n);
                if (r < 0)
                        return err(r, "send: %s", strerror(-r));
                return raw_report(fd);
        }
}

static int raw_send_message_on(int fd, const ProtoMessage *m) {
        static uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
        size_t len;
        int r;

        r = proto_encode(m, buf, sizeof buf, &len);
        if (r < 0)
                return err(r, "encode: %s", strerror(-r));
        r = proto_send(fd, buf, len, NULL, 0);
        if (r < 0)
                return err(r, "send: %s", strerror(-r));
        return raw_report(fd);
}

/* ---- commands added for the engine and handoff tests ---- */

/* Resident bytes of [OFF, OFF+LEN): pages whose page-table entry is present (pagemap bit 63).
 * Not mincore(): a page just paged out can sit in the swap cache, which mincore counts as
 * resident although the process no longer maps it. */
static int cmd_residency(const char *o, const char *l) {
        _cleanup_free_ uint64_t *ents = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t first, count, resident = 0, swapped = 0;
        ssize_t n;

        if (parse_offset_len(o, l, &first, &count) < 0)
                return err(EINVAL,
                           "usage: residency OFFSET LEN (page aligned, inside the mapping)");
        ents = calloc(count, sizeof *ents);
        if (!ents)
                return err(ENOMEM, "out of memory");
        fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err(errno, "open pagemap: %m");
        n = pread(fd, ents, count * sizeof *ents,
                  (off_t) (((uintptr_t) base / ps + first) * sizeof *ents));
        if (n != (ssize_t) (count * sizeof *ents))
                return err(n < 0 ? errno : EIO, "read pagemap: %m");
        for (size_t i = 0; i < count; i++) {
                if (ents[i] & (1ULL << 63))
                        resident += ps;
                else if (ents[i] & (1ULL << 62))
                        swapped += ps;
        }
        return ok("resident %zu swapped %zu of %zu", resident, swapped, count * ps);
}

/* Reads one word of every page of [OFF, OFF+LEN): an access the daemon must let through. */
static int cmd_read_range(const char *o, const char *l) {
        size_t first, count, n = 0;
        uint64_t sum = 0;

        if (parse_offset_len(o, l, &first, &count) < 0)
                return err(EINVAL, "usage: read OFFSET LEN (page aligned, inside the mapping)");
        for (size_t i = first; i < first + count; i++) {
                if (content[i] == CONTENT_UNMAPPED)
                        continue;
                sum += *(volatile uint64_t *) slot(i);
                n++;
        }
        return ok("read %zu pages (sum %" PRIx64 ")", n, sum);
}

/* N full sessions on new connections: connect, track a small mapping, status, disconnect. */
static int cmd_cycles(const char *s) {
        uint64_t n;

        if (!s || parse_u64(s, &n) < 0 || n == 0)
                return err(EINVAL, "usage: cycles N");
        for (uint64_t i = 0; i < n; i++) {
                struct uffdtier *h = NULL;
                struct uffdtier_status *st = NULL;
                void *m;
                int r;

                r = uffdtier_connect(arg.socket_path, "cycle", arg.connect_flags, &h);
                if (r < 0)
                        return err(r, "cycle %" PRIu64 ": connect: %s", i, strerror(-r));
                m = mmap(NULL, 16 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (m == MAP_FAILED) {
                        (void) uffdtier_disconnect(h);
                        return err(errno, "mmap: %m");
                }
                memset(m, 0x5a, 16 * ps);
                r = uffdtier_track(h, m, 16 * ps, "cycle", NULL);
                if (r >= 0)
                        r = uffdtier_status(h, &st);
                uffdtier_status_free(st);
                (void) uffdtier_disconnect(h);
                (void) munmap(m, 16 * ps);
                if (r < 0)
                        return err(r, "cycle %" PRIu64 ": %s", i, strerror(-r));
        }
        return ok("%" PRIu64 " cycles", n);
}

/* Tracks a mapping the daemon must refuse, through the library, and reports the refusal. */
static int cmd_track_special(const char *kind) {
        const int prw = PROT_READ | PROT_WRITE, pa = MAP_PRIVATE | MAP_ANONYMOUS;
        size_t len = 16 * ps;
        void *m = MAP_FAILED;
        int r;

        if (!handle)
                return err(ENOTCONN, "not connected");
        if (!kind)
                return err(
                        EINVAL,
                        "usage: track-special unmapped|overlap|prot-none|file|shared|too-big|too-many|unaligned");
        if (streq(kind, "unmapped")) {
                m = mmap(NULL, len, prw, pa, -1, 0);
                if (m != MAP_FAILED)
                        (void) munmap(m, len);
                r = uffdtier_track(handle, m, len, "unmapped", NULL);
                m = MAP_FAILED;
        } else if (streq(kind, "overlap")) {
                r = uffdtier_track(handle, base, ps, "overlap", NULL);
        } else if (streq(kind, "prot-none")) {
                m = mmap(NULL, len, PROT_NONE, pa, -1, 0);
                r = m == MAP_FAILED ? -errno : uffdtier_track(handle, m, len, "prot-none", NULL);
        } else if (streq(kind, "shared")) {
                m = mmap(NULL, len, prw, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
                r = m == MAP_FAILED ? -errno : uffdtier_track(handle, m, len, "shared", NULL);
        } else if (streq(kind, "file")) {
                char path[] = "/tmp/tier-client-file.XXXXXX";
                int fd = mkstemp(path);
                if (fd < 0)
                        return err(errno, "mkstemp: %m");
                (void) unlink(path);
                if (ftruncate(fd, (off_t) len) < 0) {
                        close(fd);
                        return err(errno, "ftruncate: %m");
                }
                m = mmap(NULL, len, prw, MAP_PRIVATE, fd, 0);
                close(fd);
                r = m == MAP_FAILED ? -errno : uffdtier_track(handle, m, len, "file", NULL);
        } else if (streq(kind, "too-big")) {
                len = (size_t) 1 << 30;
                m = mmap(NULL, len, prw, pa | MAP_NORESERVE, -1, 0);
                r = m == MAP_FAILED ? -errno : uffdtier_track(handle, m, len, "too-big", NULL);
        } else if (streq(kind, "too-many")) {
                /* separate one-page mappings with a guard page between them */
                len = 128 * ps;
                m = mmap(NULL, len, prw, pa, -1, 0);
                if (m == MAP_FAILED)
                        return err(errno, "mmap: %m");
                r = 0;
                for (size_t i = 0; i < 64 && r >= 0; i++) {
                        (void) mprotect((uint8_t *) m + (2 * i + 1) * ps, ps, PROT_NONE);
                        r = uffdtier_track(handle, (uint8_t *) m + 2 * i * ps, ps, "too-many",
                                           NULL);
                }
                if (r < 0) {
                        int rr = err_lib(r, "track");
                        for (size_t i = 0; i < 64; i++)
                                (void) uffdtier_untrack(handle, (uint8_t *) m + 2 * i * ps, ps);
                        (void) munmap(m, len);
                        return rr;
                }
        } else
                return err(EINVAL, "unknown kind %s", kind);

        if (r < 0) {
                int rr = err_lib(r, "track");
                if (m != MAP_FAILED)
                        (void) munmap(m, len);
                return rr;
        }
        if (m != MAP_FAILED) {
                (void) uffdtier_untrack(handle, m, len);
                (void) munmap(m, len);
        }
        return ok("accepted (unexpectedly)");
}

/* The three descriptors of a well-formed HELLO; uffd_override replaces the userfaultfd and
 * pidfd_override the pidfd when >= 0 (they are consumed). */
static int raw_hello_fds(int fds[3], int uffd_override, int pidfd_override) {
        fds[0] = uffd_override >= 0 ? uffd_override : new_uffd();
        fds[1] = pidfd_override >= 0 ? pidfd_override : (int) syscall(__NR_pidfd_open, getpid(), 0);
        fds[2] = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        for (size_t i = 0; i < 3; i++)
                if (fds[i] < 0) {
                        int e = errno;
                        proto_close_fds(fds, 3);
                        return -e;
                }
        return 0;
}

/* Opens a raw connection and sends HELLO with the given descriptors (closed here). */
static int raw_hello_on(int fd, int fds[3]) {
        _cleanup_proto_message_ ProtoMessage m = {};
        static uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
        size_t len;
        int r;

        proto_message_init(&m, PROTO_HELLO, 1);
        (void) proto_message_set_name(&m, "tier-client-raw");
        r = proto_encode(&m, buf, sizeof buf, &len);
        if (r >= 0)
                r = proto_send(fd, buf, len, fds, 3);
        proto_close_fds(fds, 3);
        return r;
}

/* Waits for one REPLY on fd: 0 for success, -errno for an error reply or a failure. */
static int raw_wait_ok(int fd) {
        static uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
        _cleanup_proto_message_ ProtoMessage m = {};
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        char reason[PROTO_REASON_MAX_BYTES];
        size_t len;
        int r;

        if (poll(&pfd, 1, RAW_REPLY_TIMEOUT_MS) <= 0)
                return -ETIMEDOUT;
        r = proto_recv(fd, buf, sizeof buf, &len, NULL, 0, NULL);
        if (r < 0)
                return r;
        if (len == 0 || proto_decode(buf, len, reason, sizeof reason, &m) < 0)
                return -EPROTO;
        return m.error ? -m.error : 0;
}

/* A complete HELLO on fd (with uffd_override as the userfaultfd when >= 0): 0 once accepted. */
static int raw_hello_ok(int fd, int uffd_override) {
        int fds[3], r;

        r = raw_hello_fds(fds, uffd_override, -1);
        if (r >= 0)
                r = raw_hello_on(fd, fds);
        if (r >= 0)
                r = raw_wait_ok(fd);
        return r;
}

static int cmd_raw_hello_variant(const char *variant, char **args) {
        _cleanup_close_ int fd = raw_connect();
        int fds[3], r;

        if (fd < 0)
                return err(fd, "connect: %s", strerror(-fd));

        if (streq(variant, "negotiated")) {
                /* a uffd that already went through UFFDIO_API */
                struct uffdio_api api = { .api = UFFD_API };
                int u = (int) syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
                if (u < 0 || ioctl(u, UFFDIO_API, &api) < 0)
                        return err(errno, "userfaultfd: %m");
                r = raw_hello_fds(fds, u, -1);
        } else if (streq(variant, "foreign-pidfd")) {
                /* the pidfd of another process (our parent) */
                int pf = (int) syscall(__NR_pidfd_open, getppid(), 0);
                if (pf < 0)
                        return err(errno, "pidfd_open: %m");
                r = raw_hello_fds(fds, -1, pf);
        } else if (streq(variant, "foreign-uffd")) {
                /* a uffd created by another process (a child, whose memory looks like ours)
                 * and handed to us: HELLO cannot tell, TRACK must. With OFF LEN: TRACK that part
                 * of our mapping instead of a fresh one, and print what the child sees of its
                 * own copy afterwards: "CHILD registered=<bytes> verify=ok|bad". */
                int sp[2], u = -1;
                size_t first = 0, count = 16;
                uint8_t *target;
                pid_t pid;
                bool own_range = args && args[0];
                /* a fresh mapping that exists, unregistered, in both processes */
                void *fresh = MAP_FAILED;

                if (own_range) {
                        if (parse_offset_len(args[0], args[1], &first, &count) < 0)
                                return err(EINVAL, "usage: raw-hello-foreign-uffd [OFFSET LEN]");
                        target = base + first * ps;
                } else {
                        fresh = mmap(NULL, count * ps, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                        if (fresh == MAP_FAILED)
                                return err(errno, "mmap: %m");
                        target = fresh;
                }
                if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                        return err(errno, "socketpair: %m");
                fflush(stdout);
                pid = fork();
                if (pid < 0)
                        return err(errno, "fork: %m");
                if (pid == 0) {
                        int cu = new_uffd();
                        char x;
                        (void) proto_send(sp[1], "u", 1, &cu, cu >= 0 ? 1 : 0);
                        /* asked: report on our copy of the range, then stay alive until the
                         * parent is done */
                        while (read(sp[1], &x, 1) == 1) {
                                char line[128];
                                uint64_t reg = 0, e, g;
                                bool good = true;
                                struct page_region rg[64];
                                struct pm_scan_arg a = {
                                        .size = sizeof a,
                                        .start = (uintptr_t) target,
                                        .end = (uintptr_t) (target + count * ps),
                                        .vec = (uintptr_t) rg,
                                        .vec_len = ELEMENTSOF(rg),
                                        .category_mask = PAGE_IS_WPALLOWED,
                                        .return_mask = PAGE_IS_WPALLOWED,
                                };
                                _cleanup_close_ int pm = open("/proc/self/pagemap",
                                                              O_RDONLY | O_CLOEXEC);
                                long n = pm < 0 ? -1 : ioctl(pm, PAGEMAP_SCAN, &a);
                                for (long i = 0; i < n; i++)
                                        reg += rg[i].end - rg[i].start;
                                for (size_t i = first; own_range && i < first + count; i++)
                                        if (content[i] != CONTENT_UNMAPPED &&
                                            check_slot(i, &e, &g) >= 0)
                                                good = false;
                                snprintf(line, sizeof line,
                                         "CHILD registered=%s%" PRIu64 " verify=%s",
                                         n < 0 ? "error:" : "", n < 0 ? (uint64_t) errno : reg,
                                         good ? "ok" : "bad");
                                (void) write(sp[1], line, strlen(line));
                        }
                        _exit(0);
                }
                {
                        char b[8];
                        size_t n = 0, l;
                        r = proto_recv(sp[0], b, sizeof b, &l, &u, 1, &n);
                        if (r < 0 || n != 1)
                                u = -1;
                }
                if (u < 0) {
                        close(sp[0]), close(sp[1]);
                        (void) kill(pid, SIGKILL), (void) waitpid(pid, NULL, 0);
                        return err(EIO, "did not get the child's userfaultfd");
                }
                r = raw_hello_ok(fd, u);
                if (r >= 0) {
                        _cleanup_proto_message_ ProtoMessage t = {};
                        proto_message_init(&t, PROTO_TRACK, 2);
                        (void) proto_message_add_range(&t, (uintptr_t) target, count * ps);
                        static uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
                        size_t len;
                        r = proto_encode(&t, buf, sizeof buf, &len);
                        if (r >= 0)
                                r = proto_send(fd, buf, len, NULL, 0);
                        if (r >= 0 && own_range) {
                                /* once the answer is there the daemon is done with the TRACK:
                                 * ask the child what became of its copy */
                                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                                char line[128] = "";
                                ssize_t l;
                                (void) poll(&pfd, 1, RAW_REPLY_TIMEOUT_MS);
                                if (write(sp[0], "?", 1) == 1 &&
                                    (l = read(sp[0], line, sizeof line - 1)) > 0)
                                        line[l] = 0;
                                printf("%s\n", line[0] ? line : "CHILD no answer");
                        }
                        r = r < 0 ? err(r, "send: %s", strerror(-r)) : raw_report(fd);
                } else
                        r = err(r, "HELLO with the child's uffd failed: %s", strerror(-r));
                close(sp[0]), close(sp[1]);
                (void) kill(pid, SIGKILL), (void) waitpid(pid, NULL, 0);
                if (fresh != MAP_FAILED)
                        (void) munmap(fresh, count * ps);
                return r;
        } else if (streq(variant, "opath-pagemap") || streq(variant, "wronly-pagemap") ||
                   streq(variant, "opath-uffd")) {
                /* the right objects, opened so that they cannot be used: the links say
                 * userfaultfd and /proc/PID/pagemap all the same */
                char path[64];
                int alt;
                r = raw_hello_fds(fds, -1, -1);
                if (r < 0)
                        return err(r, "cannot open descriptors: %s", strerror(-r));
                if (streq(variant, "opath-uffd"))
                        snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
                else
                        snprintf(path, sizeof path, "/proc/self/pagemap");
                alt = open(path,
                           (streq(variant, "wronly-pagemap") ? O_WRONLY : O_PATH) | O_CLOEXEC);
                if (alt < 0) {
                        r = -errno;
                        proto_close_fds(fds, 3);
                        return err(r, "open %s: %s", path, strerror(-r));
                }
                if (streq(variant, "opath-uffd"))
                        safe_close(fds[0]), fds[0] = alt;
                else
                        safe_close(fds[2]), fds[2] = alt;
        } else if (streq(variant, "double")) {
                r = raw_hello_ok(fd, -1);
                if (r < 0)
                        return err(r, "first HELLO failed: %s", strerror(-r));
                r = raw_hello_fds(fds, -1, -1);
        } else if (streq(variant, "unaligned")) {
                r = raw_hello_ok(fd, -1);
                if (r < 0)
                        return err(r, "HELLO failed: %s", strerror(-r));
                _cleanup_proto_message_ ProtoMessage t = {};
                proto_message_init(&t, PROTO_TRACK, 2);
                (void) proto_message_add_range(&t, (uintptr_t) base + 1, ps);
                return raw_send_message_on(fd, &t);
        } else
                return err(EINVAL, "unknown variant");
        if (r < 0)
                return err(r, "cannot build HELLO: %s", strerror(-r));
        r = raw_hello_on(fd, fds);
        if (r < 0)
                return err(r, "send: %s", strerror(-r));
        return raw_report(fd);
}

/* A child connects, sends a good HELLO and dies before reading the answer. */
static int cmd_raw_hello_then_die(void) {
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return err(errno, "fork: %m");
        if (pid == 0) {
                int fd = raw_connect(), fds[3];
                if (fd >= 0 && raw_hello_fds(fds, -1, -1) >= 0)
                        (void) raw_hello_on(fd, fds);
                _exit(0);
        }
        (void) waitpid(pid, &status, 0);
        return ok("child %d died in the handshake", (int) pid);
}

/* ---- socket hardening: packets the library never sends ---- */

/* Sends a packet with n_fds descriptors through a raw sendmsg(): proto_send() refuses empty
 * packets and more than PROTO_FDS_MAX descriptors. */
static int raw_sendmsg(int fd, const void *buf, size_t len, const int *fds, size_t n_fds) {
        union {
                struct cmsghdr align;
                uint8_t buf[CMSG_SPACE(sizeof(int) * RAW_FDS_MAX)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (n_fds > RAW_FDS_MAX)
                return -EINVAL;
        if (n_fds > 0) {
                struct cmsghdr *c;

                mh.msg_control = control.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
                return -errno;
        return 0;
}

/* An empty packet, then a HELLO and a STATUS on the same connection: the empty packet must be
 * answered (EBADMSG), not taken for a hang-up, and the connection must keep being served. */
static int cmd_raw_empty(void) {
        _cleanup_close_ int fd = raw_connect();
        static uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
        _cleanup_proto_message_ ProtoMessage st = {};
        size_t len;
        int r;

        if (fd < 0)
                return err(fd, "connect: %s", strerror(-fd));
        r = raw_sendmsg(fd, "", 0, NULL, 0);
        if (r < 0)
                return err(r, "send: %s", strerror(-r));
        r = raw_wait_ok(fd);
        if (r == -EPROTO || r == -ETIMEDOUT || r == -ECONNRESET)
                return err(r == -EPROTO ? ECONNRESET : -r,
                           "no answer to the empty packet (%s): the daemon took it for a hang-up",
                           strerror(-r));
        if (r != -EBADMSG)
                return err(r < 0 ? -r : EPROTO, "the empty packet got %s, expected EBADMSG",
                           r < 0 ? errno_name(-r) : "success");
        r = raw_hello_ok(fd, -1);
        if (r < 0)
                return err(r, "HELLO after the empty packet failed: %s", strerror(-r));
        proto_message_init(&st, PROTO_STATUS, 2);
        r = proto_encode(&st, buf, sizeof buf, &len);
        if (r >= 0)
                r = proto_send(fd, buf, len, NULL, 0);
        if (r >= 0)
                r = raw_wait_ok(fd);
        if (r < 0)
                return err(r, "STATUS after the empty packet failed: %s", strerror(-r));
        return ok(
                "empty packet answered with EBADMSG; HELLO and STATUS then served on the same connection");
}

/* A STATUS carrying N descriptors (of /dev/null), sent raw. */
static int cmd_raw_many_fds(const char *s) {
        _cleanup_proto_message_ ProtoMessage m = {};
        int fds[RAW_FDS_MAX];
        uint8_t buf[64];
        uint64_t n = PROTO_FDS_MAX + 1;
        size_t len;
        int r;

        if (s && (parse_u64(s, &n) < 0 || n == 0 || n > RAW_FDS_MAX))
                return err(EINVAL, "usage: raw-many-fds [N] (1..%d)", RAW_FDS_MAX);
        proto_message_init(&m, PROTO_STATUS, 1);
        if (proto_encode(&m, buf, sizeof buf, &len) < 0)
                return err(EINVAL, "encode failed");
        for (size_t i = 0; i < n; i++) {
                fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (fds[i] < 0) {
                        int e = errno;
                        proto_close_fds(fds, i);
                        return err(e, "open /dev/null: %s", strerror(e));
                }
        }
        {
                _cleanup_close_ int fd = raw_connect();
                if (fd < 0) {
                        proto_close_fds(fds, n);
                        return err(fd, "connect: %s", strerror(-fd));
                }
                r = raw_sendmsg(fd, buf, len, fds, n);
                proto_close_fds(fds, n);
                if (r < 0)
                        return err(r, "send: %s", strerror(-r));
                return raw_report(fd);
        }
}

/* A HELLO, then N STATUS requests without reading a single reply; then reads what the daemon
 * queued. Reports "OK sent S, read R replies, then the daemon closed the connection", or
 * ERR ETIMEDOUT when the connection is still open RAW_REPLY_TIMEOUT_MS after the last reply. */
static int cmd_raw_flood_status(const char *s) {
        _cleanup_close_ int fd = raw_connect();
        static uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
        uint64_t n, sent = 0, replies = 0;
        int r;

        if (!s || parse_u64(s, &n) < 0 || n == 0)
                return err(EINVAL, "usage: raw-flood-status N");
        if (fd < 0)
                return err(fd, "connect: %s", strerror(-fd));
        r = raw_hello_ok(fd, -1);
        if (r < 0)
                return err(r, "HELLO failed: %s", strerror(-r));
        for (; sent < n; sent++) {
                _cleanup_proto_message_ ProtoMessage st = {};
                size_t len;

                proto_message_init(&st, PROTO_STATUS, (uint32_t) (sent + 2));
                r = proto_encode(&st, buf, sizeof buf, &len);
                if (r < 0)
                        return err(r, "encode: %s", strerror(-r));
                r = proto_send(fd, buf, len, NULL, 0); /* blocking: waits while the daemon reads */
                if (r == -EPIPE || r == -ECONNRESET)
                        break;
                if (r < 0)
                        return err(r, "send %" PRIu64 ": %s", sent, strerror(-r));
        }
        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                size_t len;

                r = poll(&pfd, 1, RAW_REPLY_TIMEOUT_MS);
                if (r == 0)
                        return err(ETIMEDOUT,
                                   "sent %" PRIu64 " of %" PRIu64 ", read %" PRIu64
                                   " replies, and the connection is still open",
                                   sent, n, replies);
                r = proto_recv(fd, buf, sizeof buf, &len, NULL, 0, NULL);
                if (r == -ECONNRESET) /* our unread requests were discarded: replies may follow */
                        continue;
                if (r < 0)
                        return err(r, "receive: %s", strerror(-r));
                if (len == 0)
                        break;
                replies++;
        }
        return ok("sent %" PRIu64 " of %" PRIu64 ", read %" PRIu64
                  " replies, then the daemon closed the connection",
                  sent, n, replies);
}

/* ---- commands for the authority tests (an unprivileged attacker's moves) ---- */

#define SPAWNED_MAX 16
static struct {
        pid_t pid;
        int stdin_fd; /* the spawned program's stdin: closing it tells it to exit */
} spawned[SPAWNED_MAX];
static size_t n_spawned;
static int preregistered_uffd = -EBADF;

/* exec PATH ARGS...: replace this program, keeping the library's connection (and so the
 * handed-over userfaultfd and the daemon's client) open across the exec, and stdin/stdout. */
static int cmd_exec(char **args) {
        _cleanup_(closedirp) DIR *d = NULL;

        if (!args[0])
                return err(EINVAL, "usage: exec PATH [ARG...]");
        d = opendir("/proc/self/fd");
        if (!d)
                return err(errno, "opendir /proc/self/fd: %m");
        for (struct dirent *de; (de = readdir(d));) {
                char path[64], link[64];
                ssize_t l;
                int fd = atoi(de->d_name);

                if (de->d_name[0] == '.' || fd == dirfd(d))
                        continue;
                snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
                l = readlink(path, link, sizeof link - 1);
                if (l > 0 && strncmp(link, "socket:", 7) == 0)
                        (void) fcntl(fd, F_SETFD, 0);
        }
        fflush(stdout);
        execv(args[0], args);
        return err(errno, "execv %s: %m", args[0]);
}

/* spawn PATH ARGS...: start PATH as a child without fork() (posix_spawn: CLONE_VM|CLONE_VFORK,
 * so no userfaultfd FORK event), stdin a pipe we keep, stdout and stderr /dev/null. */
static int cmd_spawn(char **args) {
        posix_spawn_file_actions_t fa;
        int p[2], r;
        pid_t pid;

        if (!args[0])
                return err(EINVAL, "usage: spawn PATH [ARG...]");
        if (n_spawned >= SPAWNED_MAX)
                return err(EAGAIN, "too many spawned programs");
        if (pipe2(p, O_CLOEXEC) < 0)
                return err(errno, "pipe: %m");
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[0], STDIN_FILENO);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        r = posix_spawn(&pid, args[0], &fa, NULL, args, NULL);
        posix_spawn_file_actions_destroy(&fa);
        safe_close(p[0]);
        if (r != 0) {
                safe_close(p[1]);
                return err(r, "posix_spawn %s: %s", args[0], strerror(r));
        }
        spawned[n_spawned++] = (typeof(spawned[0])){ .pid = pid, .stdin_fd = p[1] };
        return ok("spawned pid=%d", (int) pid);
}

/* spawn-stop PID: kill and reap it (it no longer shows among our children). Closing its stdin
 * is not enough: fork children hold copies of the pipe. A setuid program started by us keeps our
 * uid as its real uid, so we may signal it. */
static void spawn_reap(size_t i) {
        safe_close(spawned[i].stdin_fd);
        (void) kill(spawned[i].pid, SIGKILL);
        (void) waitpid(spawned[i].pid, NULL, 0);
        spawned[i] = spawned[--n_spawned];
}

static int cmd_spawn_stop(const char *s) {
        uint64_t pid;

        if (!s || parse_u64(s, &pid) < 0)
                return err(EINVAL, "usage: spawn-stop PID");
        for (size_t i = 0; i < n_spawned; i++)
                if (spawned[i].pid == (pid_t) pid) {
                        spawn_reap(i);
                        return ok("reaped %d", (int) pid);
                }
        return err(ESRCH, "no spawned program %" PRIu64, pid);
}

/* preregister OFF LEN: register that part of our mapping with a second userfaultfd of our own
 * (WP_ASYNC, so that PAGEMAP_SCAN shows it registered), kept open until exit. */
static int cmd_preregister(const char *o, const char *l) {
        struct uffdio_api api = { .api = UFFD_API,
                                  .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
        size_t first, count;

        if (parse_offset_len(o, l, &first, &count) < 0)
                return err(EINVAL, "usage: preregister OFFSET LEN");
        if (preregistered_uffd < 0) {
                _cleanup_close_ int u = new_uffd();
                if (u < 0)
                        return err(errno, "userfaultfd: %m");
                if (ioctl(u, UFFDIO_API, &api) < 0)
                        return err(errno, "UFFDIO_API: %m");
                preregistered_uffd = TAKE_FD(u);
        }
        struct uffdio_register reg = {
                .range = { .start = (uintptr_t) (base + first * ps), .len = count * ps },
                .mode = UFFDIO_REGISTER_MODE_WP,
        };
        if (ioctl(preregistered_uffd, UFFDIO_REGISTER, &reg) < 0)
                return err(errno, "UFFDIO_REGISTER: %m");
        return ok("preregistered 0x%" PRIxPTR " %zu", (uintptr_t) (base + first * ps), count * ps);
}

/* map KIND LEN: a new mapping of that kind, filled where writable: anon | prot-none | shared
 * (MAP_SHARED anonymous) | file (MAP_PRIVATE of an unlinked temporary file). Never unmapped. */
static int cmd_map(const char *kind, const char *l) {
        int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS, fd = -1;
        uint64_t len;
        void *m;

        if (!kind || !l || parse_size(l, &len) < 0 || len == 0 || len % ps != 0)
                return err(EINVAL, "usage: map anon|prot-none|shared|file LEN");
        if (streq(kind, "prot-none"))
                prot = PROT_NONE;
        else if (streq(kind, "shared"))
                flags = MAP_SHARED | MAP_ANONYMOUS;
        else if (streq(kind, "file")) {
                char path[] = "/tmp/tier-client-map.XXXXXX";
                fd = mkstemp(path);
                if (fd < 0)
                        return err(errno, "mkstemp: %m");
                (void) unlink(path);
                if (ftruncate(fd, (off_t) len) < 0) {
                        close(fd);
                        return err(errno, "ftruncate: %m");
                }
                flags = MAP_PRIVATE;
        } else if (!streq(kind, "anon"))
                return err(EINVAL, "unknown kind %s", kind);
        m = mmap(NULL, len, prot, flags, fd, 0);
        if (fd >= 0)
                close(fd);
        if (m == MAP_FAILED)
                return err(errno, "mmap: %m");
        if (prot != PROT_NONE)
                memset(m, 0x5a, len);
        return ok("mapped addr=0x%" PRIxPTR " len=%" PRIu64, (uintptr_t) m, len);
}

/* raw-track ADDR LEN: a HELLO of our own on a new connection, then TRACK of the absolute range
 * [ADDR, ADDR+LEN) (hex or decimal), whatever is there; reports the daemon's answer. */
static int cmd_raw_track(const char *a, const char *l) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_proto_message_ ProtoMessage t = {};
        uint64_t addr, len;
        char *end;
        int r;

        errno = 0;
        addr = a ? strtoull(a, &end, 0) : 0;
        if (!a || errno || *end || !l || parse_size(l, &len) < 0)
                return err(EINVAL, "usage: raw-track ADDR LEN");
        fd = raw_connect();
        if (fd < 0)
                return err(fd, "connect: %s", strerror(-fd));
        r = raw_hello_ok(fd, -1);
        if (r < 0)
                return err(r, "HELLO failed: %s", strerror(-r));
        proto_message_init(&t, PROTO_TRACK, 2);
        (void) proto_message_add_range(&t, addr, len);
        return raw_send_message_on(fd, &t);
}

/* ---- main loop ---- */

static void kill_children(void) {
        while (n_spawned > 0)
                spawn_reap(n_spawned - 1);
        for (size_t i = 0; i < n_children; i++) {
                (void) kill(children[i], SIGKILL);
                (void) waitpid(children[i], NULL, 0);
        }
        n_children = 0;
}

/* Splits line into at most max - 1 words, NULL-terminated. */
static size_t split(char *line, char **words, size_t max) {
        size_t n = 0;
        char *save = NULL;

        for (char *w = strtok_r(line, " \t\r\n", &save); w && n + 1 < max;
             w = strtok_r(NULL, " \t\r\n", &save))
                words[n++] = w;
        words[n] = NULL;
        return n;
}

static bool run_command(char **w) {
        /* Every command answers on stdout itself; the return values only serve `return err()`. */
        const char *c = w[0];

        if (streq(c, "touch-hot"))
                cmd_touch_hot();
        else if (streq(c, "read-hot"))
                cmd_read(hot_first, n_hot_pages);
        else if (streq(c, "read-all"))
                cmd_read(0, n_pages);
        else if (streq(c, "hot-at"))
                cmd_hot_at(w[1]);
        else if (streq(c, "verify"))
                cmd_verify();
        else if (streq(c, "status"))
                cmd_status();
        else if (streq(c, "fork"))
                cmd_fork();
        else if (streq(c, "mremap"))
                cmd_mremap(w[1]);
        else if (streq(c, "munmap"))
                cmd_munmap(w[1], w[1] ? w[2] : NULL);
        else if (streq(c, "madv-dontneed"))
                cmd_madv_dontneed(w[1], w[1] ? w[2] : NULL);
        else if (streq(c, "track"))
                cmd_track(w + 1);
        else if (streq(c, "untrack"))
                cmd_untrack(w + 1);
        else if (streq(c, "read-into-buffer"))
                cmd_read_into_buffer(w[1]);
        else if (streq(c, "sleep"))
                cmd_sleep(w[1]);
        else if (streq(c, "raw-garbage"))
                cmd_raw_garbage();
        else if (streq(c, "raw-truncated"))
                cmd_raw_truncated();
        else if (streq(c, "raw-oversized"))
                cmd_raw_oversized();
        else if (streq(c, "raw-bad-version"))
                cmd_raw_bad_version();
        else if (streq(c, "raw-hello-wrong-fds"))
                cmd_raw_hello_wrong_fds(w[1]);
        else if (streq(c, "raw-track-before-hello"))
                cmd_raw_track_before_hello();
        else if (streq(c, "residency"))
                cmd_residency(w[1], w[1] ? w[2] : NULL);
        else if (streq(c, "read"))
                cmd_read_range(w[1], w[1] ? w[2] : NULL);
        else if (streq(c, "track-churn"))
                cmd_track_churn(w[1]);
        else if (streq(c, "cycles"))
                cmd_cycles(w[1]);
        else if (streq(c, "raw-garbage-repeat"))
                cmd_raw_garbage_repeat(w[1]);
        else if (streq(c, "track-special"))
                cmd_track_special(w[1]);
        else if (streq(c, "raw-hello-negotiated-uffd"))
                cmd_raw_hello_variant("negotiated", NULL);
        else if (streq(c, "raw-hello-foreign-pidfd"))
                cmd_raw_hello_variant("foreign-pidfd", NULL);
        else if (streq(c, "raw-hello-foreign-uffd"))
                cmd_raw_hello_variant("foreign-uffd", w + 1);
        else if (streq(c, "raw-double-hello"))
                cmd_raw_hello_variant("double", NULL);
        else if (streq(c, "raw-track-unaligned"))
                cmd_raw_hello_variant("unaligned", NULL);
        else if (streq(c, "raw-hello-opath-pagemap"))
                cmd_raw_hello_variant("opath-pagemap", NULL);
        else if (streq(c, "raw-hello-wronly-pagemap"))
                cmd_raw_hello_variant("wronly-pagemap", NULL);
        else if (streq(c, "raw-hello-opath-uffd"))
                cmd_raw_hello_variant("opath-uffd", NULL);
        else if (streq(c, "exec"))
                cmd_exec(w + 1);
        else if (streq(c, "spawn"))
                cmd_spawn(w + 1);
        else if (streq(c, "spawn-stop"))
                cmd_spawn_stop(w[1]);
        else if (streq(c, "preregister"))
                cmd_preregister(w[1], w[1] ? w[2] : NULL);
        else if (streq(c, "map"))
                cmd_map(w[1], w[1] ? w[2] : NULL);
        else if (streq(c, "raw-track"))
                cmd_raw_track(w[1], w[1] ? w[2] : NULL);
        else if (streq(c, "raw-hello-then-die"))
                cmd_raw_hello_then_die();
        else if (streq(c, "raw-empty"))
                cmd_raw_empty();
        else if (streq(c, "raw-many-fds"))
                cmd_raw_many_fds(w[1]);
        else if (streq(c, "raw-flood-status"))
                cmd_raw_flood_status(w[1]);
        else if (streq(c, "reconnect"))
                cmd_reconnect();
        else if (streq(c, "exit"))
                return false;
        else
                err(EINVAL, "unknown command \"%s\"", c);
        return true;
}

static void usage(FILE *f) {
        fprintf(f,
                "usage: tier-client [--socket PATH] [--size 256M] [--hot-fraction 0.25]\n"
                "                   [--name N] [--fill-seed S] [--no-connect]\n"
                "                   [--user-mode-only | --no-user-mode-only]\n"
                "Commands on stdin: see the comment at the top of tests/helpers/tier-client.c.\n");
}

static int parse_args(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                char *end;

                if (streq(a, "--help") || streq(a, "-h")) {
                        usage(stdout);
                        exit(EXIT_SUCCESS);
                } else if (streq(a, "--no-connect"))
                        arg.connect = false;
                else if (streq(a, "--user-mode-only"))
                        arg.connect_flags = UFFDTIER_CONNECT_USER_MODE_ONLY;
                else if (streq(a, "--no-user-mode-only"))
                        arg.connect_flags = UFFDTIER_CONNECT_NO_USER_MODE_ONLY;
                else if (!v)
                        return -EINVAL;
                else if (streq(a, "--socket"))
                        arg.socket_path = v, i++;
                else if (streq(a, "--name"))
                        arg.name = v, i++;
                else if (streq(a, "--size")) {
                        if (parse_size(v, &arg.size) < 0 || arg.size == 0)
                                return -EINVAL;
                        i++;
                } else if (streq(a, "--fill-seed")) {
                        if (parse_u64(v, &arg.seed) < 0)
                                return -EINVAL;
                        i++;
                } else if (streq(a, "--thp")) {
                        arg.thp = true;
                } else if (streq(a, "--hot-fraction")) {
                        errno = 0;
                        arg.hot_fraction = strtod(v, &end);
                        if (errno || *end || !(arg.hot_fraction >= 0 && arg.hot_fraction <= 1))
                                return -EINVAL;
                        i++;
                } else
                        return -EINVAL;
        }
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_free_ char *line = NULL;
        size_t line_size = 0;
        int r;

        if (parse_args(argc, argv) < 0) {
                usage(stderr);
                return EXIT_FAILURE;
        }
        /* A test driver reading our stdout may go away: exit on EPIPE, not SIGPIPE noise. */
        signal(SIGPIPE, SIG_IGN);

        ps = page_size();
        words_per_page = ps / sizeof(uint64_t);
        n_pages = DIV_ROUND_UP(arg.size, ps);
        n_hot_pages = (size_t) (arg.hot_fraction * (double) n_pages);
        if (arg.thp) {
                /* 2 MiB-aligned and MADV_HUGEPAGE before the first touch, so that the kernel
                 * backs the range with transparent huge pages */
                const size_t huge = 2U << 20;
                uint8_t *raw = mmap(NULL, n_pages * ps + huge, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (raw == MAP_FAILED)
                        base = MAP_FAILED;
                else {
                        uint8_t *aligned = (uint8_t *) ALIGN_UP((uintptr_t) raw, (uintptr_t) huge);
                        if (aligned > raw)
                                (void) munmap(raw, (size_t) (aligned - raw));
                        (void) munmap(aligned + n_pages * ps, (size_t) (raw + huge - aligned));
                        base = aligned;
                        (void) madvise(base, n_pages * ps, MADV_HUGEPAGE);
                }
        } else
                base = mmap(NULL, n_pages * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);
        content = calloc(n_pages, sizeof *content);
        if (base == MAP_FAILED || !content) {
                err(ENOMEM, "cannot map %zu bytes", n_pages * ps);
                return EXIT_FAILURE;
        }
        for (size_t i = 0; i < n_pages; i++)
                fill_slot(i, (int64_t) i);

        if (arg.connect) {
                r = uffdtier_connect(arg.socket_path, arg.name, arg.connect_flags, &handle);
                if (r < 0) {
                        err(r, "connect: %s", strerror(-r));
                        return EXIT_FAILURE;
                }
                r = uffdtier_track(handle, base, n_pages * ps, "main", NULL);
                if (r < 0) {
                        err_lib(r, "track");
                        (void) uffdtier_disconnect(handle);
                        return EXIT_FAILURE;
                }
        }

        printf("READY pid=%d addr=0x%" PRIxPTR " len=%zu\n", (int) getpid(), (uintptr_t) base,
               n_pages * ps);
        fflush(stdout);

        while (getline(&line, &line_size, stdin) > 0) {
                char *words[32];

                if (split(line, words, ELEMENTSOF(words)) == 0)
                        continue;
                if (!run_command(words))
                        break;
        }

        kill_children();
        r = 0;
        if (handle) {
                r = uffdtier_disconnect(handle);
                handle = NULL;
        }
        if (r < 0)
                err(r, "disconnect: %s", strerror(-r));
        else
                ok("bye");
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
