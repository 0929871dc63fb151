/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* redis-load: fills a redis server with values it can verify, and reads them back, over redis's
 * unix socket (RESP, pipelined). For tests/integration/test-run-redis.sh.
 *
 *   redis-load SOCKET fill N SIZE SEED     SET key:I to value(I) for I in 0..N-1, in a random order
 *                                          (so the values of neighbouring keys are scattered in
 *                                          the server's memory)
 *   redis-load SOCKET check N SIZE SEED    GET every key, compare byte for byte: prints
 *                                          "checked N bad B missing M" and exits 1 unless B = M = 0
 *   redis-load SOCKET hot N SIZE SEED HOT SECONDS
 *                                          GET keys 0..HOT-1 (checked) over and over for SECONDS:
 *                                          prints "gets G bad B errors E max_ms X" (exits 1 on any
 *                                          bad value or error; a request waits at most 10 s);
 *                                          SIGTERM ends it early, with the same report
 *
 * value(I) is SIZE bytes of a pseudo-random stream seeded by SEED and I: it does not compress to
 * nothing, and every value differs. */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PIPELINE 64
#define TIMEOUT_MS 10000

static volatile sig_atomic_t stop;
static int fd = -1;
static char *rbuf;
static size_t rlen, rpos, rcap;

static uint64_t mix(uint64_t x) {
        x ^= x >> 33;
        x *= UINT64_C(0xff51afd7ed558ccd);
        x ^= x >> 33;
        x *= UINT64_C(0xc4ceb9fe1a85ec53);
        x ^= x >> 33;
        return x;
}

static void value(char *out, size_t size, uint64_t seed, uint64_t i) {
        for (size_t k = 0; k < size; k += 8) {
                uint64_t w = mix(seed ^ (i << 24) ^ (k / 8));
                memcpy(out + k, &w, size - k < 8 ? size - k : 8);
        }
}

static void on_term(int sig) {
        stop = 1;
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void die(const char *what) {
        fprintf(stderr, "redis-load: %s: %s\n", what, errno ? strerror(errno) : "protocol error");
        exit(2);
}

static void send_all(const char *p, size_t n) {
        while (n > 0) {
                ssize_t w = write(fd, p, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        die("write");
                p += w;
                n -= (size_t) w;
        }
}

/* at least n bytes buffered, waiting at most TIMEOUT_MS */
static void need(size_t n) {
        while (rlen - rpos < n) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t r;

                if (rpos > 0) {
                        memmove(rbuf, rbuf + rpos, rlen - rpos);
                        rlen -= rpos;
                        rpos = 0;
                }
                if (rcap - rlen < 65536) {
                        rcap = rcap * 2 + 65536;
                        rbuf = realloc(rbuf, rcap);
                        if (!rbuf)
                                die("realloc");
                }
                if (poll(&p, 1, TIMEOUT_MS) == 0) {
                        errno = ETIMEDOUT;
                        die("no answer");
                }
                r = read(fd, rbuf + rlen, rcap - rlen);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        die("read");
                rlen += (size_t) r;
        }
}

/* one line without its \r\n */
static char *line(void) {
        for (size_t scan = 0;; scan++) {
                need(scan + 2);
                if (rbuf[rpos + scan] == '\r' && rbuf[rpos + scan + 1] == '\n') {
                        char *l = rbuf + rpos;
                        l[scan] = 0;
                        rpos += scan + 2;
                        return l;
                }
        }
}

/* one reply: 1 for +OK or a matching bulk string, 0 for a mismatch or nil, -1 for an error */
static int reply(const char *expect, size_t size, bool *ret_missing) {
        char *l = line();
        long n;

        *ret_missing = false;
        if (l[0] == '+')
                return 1;
        if (l[0] == '-') {
                fprintf(stderr, "redis-load: error reply: %s\n", l);
                return -1;
        }
        if (l[0] != '$')
                die("unexpected reply");
        n = strtol(l + 1, NULL, 10);
        if (n < 0) {
                *ret_missing = true;
                return 0;
        }
        need((size_t) n + 2);
        bool ok = expect && (size_t) n == size && memcmp(rbuf + rpos, expect, size) == 0;
        rpos += (size_t) n + 2;
        return ok ? 1 : 0;
}

static size_t cmd(char *out, const char *verb, uint64_t i, const char *val, size_t size) {
        char key[32];
        int kl = snprintf(key, sizeof key, "key:%" PRIu64, i);
        size_t n;

        if (val) {
                n = (size_t) sprintf(out, "*3\r\n$%zu\r\n%s\r\n$%d\r\n%s\r\n$%zu\r\n", strlen(verb),
                                     verb, kl, key, size);
                memcpy(out + n, val, size);
                n += size;
                memcpy(out + n, "\r\n", 2);
                return n + 2;
        }
        return (size_t) sprintf(out, "*2\r\n$%zu\r\n%s\r\n$%d\r\n%s\r\n", strlen(verb), verb, kl,
                                key);
}

int main(int argc, char **argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint64_t n, size, seed, hot = 0, seconds = 0, bad = 0, missing = 0, errors = 0, gets = 0,
                                max_ms = 0;
        char *out, *exp;
        const char *mode;

        if (argc < 6) {
                fprintf(stderr,
                        "usage: redis-load SOCKET fill|check|hot N SIZE SEED [HOT SECONDS]\n");
                return 2;
        }
        mode = argv[2];
        n = strtoull(argv[3], NULL, 10);
        size = strtoull(argv[4], NULL, 10);
        seed = strtoull(argv[5], NULL, 10);
        if (strcmp(mode, "hot") == 0) {
                if (argc < 8)
                        return 2;
                hot = strtoull(argv[6], NULL, 10);
                seconds = strtoull(argv[7], NULL, 10);
                if (hot == 0 || hot > n)
                        return 2;
        }
        if (n == 0 || size == 0 || strlen(argv[1]) >= sizeof sa.sun_path)
                return 2;
        strcpy(sa.sun_path, argv[1]);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                die("connect");

        out = malloc(PIPELINE * (size + 128));
        exp = malloc(PIPELINE * size);
        if (!out || !exp)
                die("malloc");

        if (strcmp(mode, "fill") == 0) {
                /* a random permutation of 0..n-1 (Fisher-Yates on a seeded generator) */
                uint64_t *order = malloc(n * sizeof *order), state = seed;
                if (!order)
                        die("malloc");
                for (uint64_t i = 0; i < n; i++)
                        order[i] = i;
                for (uint64_t i = n - 1; i > 0; i--) {
                        uint64_t j = (state = mix(state + i)) % (i + 1), t = order[i];
                        order[i] = order[j];
                        order[j] = t;
                }
                for (uint64_t i = 0; i < n; i += PIPELINE) {
                        size_t len = 0, m = n - i < PIPELINE ? n - i : PIPELINE;
                        bool miss;
                        for (size_t k = 0; k < m; k++) {
                                value(exp, size, seed, order[i + k]);
                                len += cmd(out + len, "SET", order[i + k], exp, size);
                        }
                        send_all(out, len);
                        for (size_t k = 0; k < m; k++)
                                if (reply(NULL, 0, &miss) < 0)
                                        errors++;
                }
                free(order);
                printf("filled %" PRIu64 " errors %" PRIu64 "\n", n, errors);
                free(out);
                free(exp);
                return errors ? 1 : 0;
        }

        (void) signal(SIGTERM, on_term);
        uint64_t deadline = now_ms() + seconds * 1000, i = 0;
        bool is_hot = strcmp(mode, "hot") == 0;
        uint64_t count = is_hot ? hot : n;
        for (;;) {
                size_t len = 0, m;
                uint64_t t0;
                bool miss;

                if (is_hot) {
                        if (now_ms() >= deadline || stop)
                                break;
                        i %= count;
                } else if (i >= count)
                        break;
                m = count - i < PIPELINE ? count - i : PIPELINE;
                for (size_t k = 0; k < m; k++)
                        len += cmd(out + len, "GET", i + k, NULL, 0);
                t0 = now_ms();
                send_all(out, len);
                for (size_t k = 0; k < m; k++) {
                        int r;

                        value(exp, size, seed, i + k);
                        r = reply(exp, size, &miss);
                        if (r < 0)
                                errors++;
                        else if (miss)
                                missing++;
                        else if (r == 0)
                                bad++;
                }
                if (now_ms() - t0 > max_ms)
                        max_ms = now_ms() - t0;
                gets += m;
                i += m;
        }
        if (is_hot) {
                printf("gets %" PRIu64 " bad %" PRIu64 " errors %" PRIu64 " max_ms %" PRIu64 "\n",
                       gets, bad + missing, errors, max_ms);
                free(out);
                free(exp);
                return bad || missing || errors ? 1 : 0;
        }
        printf("checked %" PRIu64 " bad %" PRIu64 " missing %" PRIu64 " errors %" PRIu64
               " max_ms %" PRIu64 "\n",
               gets, bad, missing, errors, max_ms);
        free(out);
        free(exp);
        return bad || missing || errors ? 1 : 0;
}
