/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-redis-data: loads a redis server with values derived from a seed, and reads every one
 * back and compares it byte for byte (run-redis.sh's fill and its integrity check).
 *
 *   bench-redis-data load   --port=P --keys=N --size=B --seed=S
 *   bench-redis-data verify --port=P --keys=N --size=B --seed=S
 *
 * Keys are "v:%012u" for 0 <= i < N, the names redis-benchmark's "__rand_int__" produces, so
 * "GET v:__rand_int__" with -r H reads the first H keys. load SETs them in a seeded random order,
 * so keys that are near in number (the hot ones) are far apart in the server's memory. A value is
 * text: lines of 64 bytes, 48 pseudo-random characters of a 64-letter alphabet (6 bits of entropy
 * per byte) and a fixed 16-byte tail, so a compressor gets it to about 0.7 of its size (zswap keeps
 * some, not nothing). Both derive the value of key i from (seed, i) alone.
 *
 * The server is reached on 127.0.0.1 only, pipelined (PIPELINE commands per write). key=value
 * lines on stdout: keys, bytes, seconds, and for verify lost (missing keys) and changed (present,
 * different bytes). Exit 0, 1 on an error, 3 when verify found a lost or changed value. */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"

#define PIPELINE 32
#define KEY_FMT "v:%012" PRIu32
#define KEY_BYTES 14 /* "v:" + 12 digits */
#define LINE_BYTES 64
#define LINE_RANDOM_BYTES 48
#define READ_BUF_BYTES (256u << 10)

static struct {
        bool verify;
        uint16_t port;
        uint32_t keys;
        uint32_t size_bytes;
        uint64_t seed;
} arg = {
        .port = 6379,
        .keys = 262144,
        .size_bytes = 4090,
        .seed = 1,
};

static int parse_argv(int argc, char **argv) {
        enum {
                ARG_PORT = 0x100,
                ARG_KEYS,
                ARG_SIZE,
                ARG_SEED
        };
        static const struct option options[] = { { "help", no_argument, NULL, 'h' },
                                                 { "port", required_argument, NULL, ARG_PORT },
                                                 { "keys", required_argument, NULL, ARG_KEYS },
                                                 { "size", required_argument, NULL, ARG_SIZE },
                                                 { "seed", required_argument, NULL, ARG_SEED },
                                                 {} };
        uint64_t u;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf("bench-redis-data load|verify [--port=P] [--keys=N] [--size=BYTES] "
                               "[--seed=S]\n");
                        return 0;
                case ARG_PORT:
                        if (parse_u64(optarg, &u) < 0 || u == 0 || u > UINT16_MAX)
                                goto bad;
                        arg.port = (uint16_t) u;
                        break;
                case ARG_KEYS:
                        if (parse_u64(optarg, &u) < 0 || u == 0 || u > UINT32_MAX)
                                goto bad;
                        arg.keys = (uint32_t) u;
                        break;
                case ARG_SIZE:
                        if (parse_size(optarg, &u) < 0 || u == 0 || u > (1u << 20))
                                goto bad;
                        arg.size_bytes = (uint32_t) u;
                        break;
                case ARG_SEED:
                        if (parse_u64(optarg, &arg.seed) < 0)
                                goto bad;
                        break;
                default:
                        return -EINVAL;
                }
                continue;
bad:
                fprintf(stderr, "bench-redis-data: invalid value for an option: \"%s\"\n", optarg);
                return -EINVAL;
        }
        if (optind + 1 != argc || !(streq(argv[optind], "load") || streq(argv[optind], "verify"))) {
                fprintf(stderr, "bench-redis-data: load or verify, and nothing else\n");
                return -EINVAL;
        }
        arg.verify = streq(argv[optind], "verify");
        return 1;
}

static uint64_t splitmix64(uint64_t *s) {
        uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

/* the value of key i: a function of (seed, i) only */
static void make_value(uint64_t seed, uint32_t i, uint8_t *v, size_t len) {
        static const char alphabet[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        static const char tail[] = "\",\n  \"field\": \"";
        uint64_t s = seed * 0xd1b54a32d192ed03ULL ^ i, r = 0;
        unsigned left = 0;

        for (size_t k = 0; k < len; k++) {
                size_t col = k % LINE_BYTES;
                if (col >= LINE_RANDOM_BYTES) {
                        v[k] = (uint8_t) tail[col - LINE_RANDOM_BYTES];
                        continue;
                }
                if (left == 0) {
                        r = splitmix64(&s);
                        left = 10; /* 10 letters of 6 bits per 64-bit draw */
                }
                v[k] = (uint8_t) alphabet[r & 63];
                r >>= 6;
                left--;
        }
}

static int connect_server(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(arg.port) };
        int fd, one = 1;

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return fd;
}

static int write_all(int fd, const void *buf, size_t len) {
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* a buffered reader of the server's replies */
typedef struct Reader {
        int fd;
        uint8_t *buf;
        size_t start, end;
} Reader;

static int reader_fill(Reader *r) {
        ssize_t n;

        if (r->start > 0) {
                memmove(r->buf, r->buf + r->start, r->end - r->start);
                r->end -= r->start;
                r->start = 0;
        }
        if (r->end == READ_BUF_BYTES)
                return -ENOBUFS;
        do
                n = read(r->fd, r->buf + r->end, READ_BUF_BYTES - r->end);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ECONNRESET;
        r->end += (size_t) n;
        return 0;
}

/* one reply line (without CRLF) into line[cap] */
static int reader_line(Reader *r, char *line, size_t cap) {
        for (;;) {
                uint8_t *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
                if (nl) {
                        size_t len = (size_t) (nl - (r->buf + r->start));
                        if (len == 0 || r->buf[r->start + len - 1] != '\r' || len > cap)
                                return -EBADMSG;
                        memcpy(line, r->buf + r->start, len - 1);
                        line[len - 1] = '\0';
                        r->start += len + 1;
                        return 0;
                }
                int e = reader_fill(r);
                if (e < 0)
                        return e;
        }
}

/* the next n bytes, in place (valid until the next call) */
static int reader_bytes(Reader *r, size_t n, const uint8_t **ret) {
        while (r->end - r->start < n) {
                int e = reader_fill(r);
                if (e < 0)
                        return e;
        }
        *ret = r->buf + r->start;
        r->start += n;
        return 0;
}

static size_t append_bulk(uint8_t *out, const void *s, size_t len) {
        int n = sprintf((char *) out, "$%zu\r\n", len);
        memcpy(out + n, s, len);
        memcpy(out + n + len, "\r\n", 2);
        return (size_t) n + len + 2;
}

static double seconds_since(uint64_t t0) {
        return (double) (now_usec() - t0) / 1e6;
}

static int run(int fd) {
        size_t cmd_cap = PIPELINE * (arg.size_bytes + 64 + KEY_BYTES);
        _cleanup_free_ uint8_t *cmds = malloc(cmd_cap);
        _cleanup_free_ uint8_t *value = malloc(arg.size_bytes);
        _cleanup_free_ uint32_t *order = malloc(sizeof(uint32_t) * arg.keys);
        _cleanup_free_ uint8_t *rbuf = malloc(READ_BUF_BYTES);
        Reader rd = { .fd = fd, .buf = rbuf };
        uint64_t lost = 0, changed = 0, s = arg.seed ^ 0x5851f42d4c957f2dULL, t0 = now_usec();
        char line[64], key[KEY_BYTES + 1];
        int e;

        if (!cmds || !value || !order || !rbuf)
                return -ENOMEM;
        if (arg.size_bytes + 64 > READ_BUF_BYTES)
                return -E2BIG;
        /* load: a seeded Fisher-Yates shuffle of the key numbers; verify: in order */
        for (uint32_t i = 0; i < arg.keys; i++)
                order[i] = i;
        for (uint32_t i = arg.keys - 1; !arg.verify && i > 0; i--) {
                uint32_t j = (uint32_t) (splitmix64(&s) % ((uint64_t) i + 1)), t = order[i];
                order[i] = order[j];
                order[j] = t;
        }

        for (uint32_t base = 0; base < arg.keys; base += PIPELINE) {
                uint32_t n = MIN((uint32_t) PIPELINE, arg.keys - base);
                size_t len = 0;

                for (uint32_t k = 0; k < n; k++) {
                        snprintf(key, sizeof key, KEY_FMT, order[base + k]);
                        if (arg.verify) {
                                len += (size_t) sprintf((char *) cmds + len, "*2\r\n");
                                len += append_bulk(cmds + len, "GET", 3);
                                len += append_bulk(cmds + len, key, KEY_BYTES);
                        } else {
                                make_value(arg.seed, order[base + k], value, arg.size_bytes);
                                len += (size_t) sprintf((char *) cmds + len, "*3\r\n");
                                len += append_bulk(cmds + len, "SET", 3);
                                len += append_bulk(cmds + len, key, KEY_BYTES);
                                len += append_bulk(cmds + len, value, arg.size_bytes);
                        }
                }
                e = write_all(fd, cmds, len);
                if (e < 0)
                        return e;
                for (uint32_t k = 0; k < n; k++) {
                        const uint8_t *got;
                        uint64_t blen;

                        e = reader_line(&rd, line, sizeof line);
                        if (e < 0)
                                return e;
                        if (!arg.verify) {
                                if (!streq(line, "+OK")) {
                                        fprintf(stderr, "bench-redis-data: SET: %s\n", line);
                                        return -EIO;
                                }
                                continue;
                        }
                        if (streq(line, "$-1")) { /* nil: no such key */
                                if (lost++ < 10)
                                        fprintf(stderr, "bench-redis-data: lost: " KEY_FMT "\n",
                                                order[base + k]);
                                continue;
                        }
                        if (line[0] != '$' || parse_u64(line + 1, &blen) < 0 ||
                            blen > READ_BUF_BYTES - 2) {
                                fprintf(stderr, "bench-redis-data: GET: %s\n", line);
                                return -EIO;
                        }
                        e = reader_bytes(&rd, (size_t) blen + 2, &got);
                        if (e < 0)
                                return e;
                        make_value(arg.seed, order[base + k], value, arg.size_bytes);
                        if ((size_t) blen != arg.size_bytes || memcmp(got, value, arg.size_bytes)) {
                                if (changed++ < 10)
                                        fprintf(stderr,
                                                "bench-redis-data: changed: " KEY_FMT " (%" PRIu64
                                                " bytes)\n",
                                                order[base + k], blen);
                        }
                }
        }
        printf("keys=%" PRIu32 "\nbytes=%" PRIu64 "\nseconds=%.1f\n", arg.keys,
               (uint64_t) arg.keys * arg.size_bytes, seconds_since(t0));
        if (arg.verify)
                printf("lost=%" PRIu64 "\nchanged=%" PRIu64 "\n", lost, changed);
        return lost + changed > 0 ? 1 : 0;
}

int main(int argc, char **argv) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 1 : 0;
        fd = connect_server();
        if (fd < 0) {
                fprintf(stderr, "bench-redis-data: connecting to 127.0.0.1:%u: %s\n", arg.port,
                        strerror(-fd));
                return 1;
        }
        r = run(fd);
        if (r < 0) {
                fprintf(stderr, "bench-redis-data: %s: %s\n", arg.verify ? "verify" : "load",
                        strerror(-r));
                return 1;
        }
        return r > 0 ? 3 : 0;
}
