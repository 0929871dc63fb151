/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* guest-data: the guest's side of vm-qemu-tiered. Runs inside a virtual machine whose RAM the host
 * tiers: writes --size of data into its own memory with a checksum, then keeps a small working
 * set busy until told to stop, and checks the data against the checksum.
 *
 *   guest-data --size=SIZE [--working-set=SIZE] --control=TTY
 *
 * Each 4 KiB page is half pseudo-random, half zeros (a compressor gets it to about half, as
 * real data). Prints "written MiB=N checksum=X", then "tick N" about once a second while it
 * rewrites the working set (its own 4 MiB by default, apart from the data) over and over, until a
 * line "verify" arrives on TTY (the guest's second serial port, which the host writes to); then
 * it recomputes the checksum and prints "verified" or "MISMATCH ..." and exits 0 or 1. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define PAGE_BYTES 4096u

static uint64_t now_msec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static int parse_mib(const char *s, size_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s || v == 0)
                return -EINVAL;
        if (*end == 'M' && end[1] == '\0')
                v <<= 20;
        else if (*end == 'G' && end[1] == '\0')
                v <<= 30;
        else if (*end != '\0')
                return -EINVAL;
        *ret = (size_t) v;
        return 0;
}

static void fill(uint64_t *p, size_t len, uint64_t seed) {
        for (size_t pg = 0; pg < len / PAGE_BYTES; pg++) {
                uint64_t *w = p + pg * (PAGE_BYTES / 8),
                         s = ((pg + 1) * 0x9e3779b97f4a7c15ULL) ^ seed;
                for (size_t i = 0; i < PAGE_BYTES / 16; i++) {
                        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
                        w[i] = s;
                }
                memset(w + PAGE_BYTES / 16, 0, PAGE_BYTES / 2);
        }
}

static uint64_t checksum(const uint64_t *p, size_t len) {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < len / 8; i++)
                h = (h ^ p[i]) * 0x100000001b3ULL;
        return h;
}

int main(int argc, char **argv) {
        static const struct option options[] = { { "size", required_argument, NULL, 's' },
                                                 { "working-set", required_argument, NULL, 'w' },
                                                 { "control", required_argument, NULL, 'c' },
                                                 {} };
        size_t size = 256u << 20, ws = 4u << 20;
        const char *control = NULL;
        char line[64];
        size_t line_len = 0;
        uint64_t *data, *work, sum, ticks = 0, last;
        struct termios t;
        int c, fd;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if ((c == 's' && parse_mib(optarg, &size) < 0) ||
                    (c == 'w' && parse_mib(optarg, &ws) < 0) || c == '?') {
                        fprintf(stderr, "guest-data: bad option\n");
                        return 2;
                }
                if (c == 'c')
                        control = optarg;
        }
        if (!control || size % PAGE_BYTES || ws % PAGE_BYTES) {
                fprintf(stderr,
                        "usage: guest-data --size=SIZE [--working-set=SIZE] --control=TTY\n");
                return 2;
        }
        fd = open(control, O_RDONLY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "guest-data: %s: %m\n", control);
                return 1;
        }
        if (tcgetattr(fd, &t) == 0) {
                cfmakeraw(&t);
                (void) tcsetattr(fd, TCSANOW, &t);
        }
        data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        work = mmap(NULL, ws, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (data == MAP_FAILED || work == MAP_FAILED) {
                fprintf(stderr, "guest-data: mmap: %m\n");
                return 1;
        }
        fill(data, size, (uint64_t) time(NULL));
        sum = checksum(data, size);
        printf("written MiB=%zu checksum=%016" PRIx64 "\n", size >> 20, sum);
        fflush(stdout);

        last = now_msec();
        for (uint64_t round = 1;; round++) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                fill(work, ws, round);
                if (now_msec() - last >= 1000) {
                        last = now_msec();
                        printf("tick %" PRIu64 "\n", ++ticks);
                        fflush(stdout);
                }
                if (poll(&pfd, 1, 0) > 0) {
                        char ch;
                        ssize_t n = read(fd, &ch, 1);
                        if (n == 1 && ch != '\r') {
                                if (ch != '\n' && line_len < sizeof line - 1) {
                                        line[line_len++] = ch;
                                        continue;
                                }
                                line[line_len] = '\0';
                                line_len = 0;
                                if (strcmp(line, "verify") == 0)
                                        break;
                        }
                }
        }
        uint64_t again = checksum(data, size);
        if (again != sum) {
                printf("MISMATCH: checksum %016" PRIx64 ", written %016" PRIx64 "\n", again, sum);
                return 1;
        }
        printf("verified MiB=%zu after %" PRIu64 " ticks\n", size >> 20, ticks);
        return 0;
}
