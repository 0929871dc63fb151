/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How a program uses libuffdtier: map memory, hand it to uffdtierd, use it, look at what the
 * daemon reports, let go. Build against the installed library with
 *     cc uffdtier-example.c $(pkg-config --cflags --libs uffdtier)
 * and run it while uffdtierd is running (UFFDTIER_SOCKET=PATH to use another socket). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uffdtier.h"

#define REGION_BYTES (64u << 20)
#define ROUNDS 5

static void print_error(struct uffdtier *h, const char *what, int r) {
        char text[UFFDTIER_ERROR_MAX + 1];

        if (uffdtier_last_error(h, text, sizeof text) >= 0) /* h NULL: the failed connect */
                fprintf(stderr, "%s: %s (%s)\n", what, strerror(-r), text);
        else
                fprintf(stderr, "%s: %s\n", what, strerror(-r));
}

static void print_status(struct uffdtier *h) {
        struct uffdtier_status *s;
        int r;

        r = uffdtier_status(h, &s);
        if (r < 0) {
                print_error(h, "status", r);
                return;
        }
        printf("backend %s\n", s->backend ? s->backend : "(unknown)");
        for (size_t i = 0; i < s->n_counters; i++)
                printf("  %-24s %" PRIu64 "\n", s->counters[i].name, s->counters[i].value);
        for (size_t i = 0; i < s->n_ranges; i++)
                printf("  range %p+%zu %s\n", s->ranges[i].addr, s->ranges[i].len,
                       s->ranges[i].name ? s->ranges[i].name : "");
        uffdtier_status_free(s);
}

int main(void) {
        static const char *const labels[] = { "tier=example", NULL };
        struct uffdtier *h = NULL;
        char *mem;
        int r;

        mem = mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
                perror("mmap");
                return EXIT_FAILURE;
        }

        r = uffdtier_connect(NULL, "uffdtier-example", 0, &h);
        if (r < 0) {
                print_error(NULL, "connect", r);
                return EXIT_FAILURE;
        }
        r = uffdtier_track(h, mem, REGION_BYTES, "example-buffer", labels);
        if (r < 0) {
                print_error(h, "track", r);
                (void) uffdtier_disconnect(h);
                return EXIT_FAILURE;
        }

        /* Keep the first eighth hot; the rest is written once and then left alone. */
        memset(mem, 1, REGION_BYTES);
        for (int round = 0; round < ROUNDS; round++) {
                memset(mem, round, REGION_BYTES / 8);
                print_status(h);
                sleep(1);
        }

        r = uffdtier_disconnect(h);
        if (r < 0)
                fprintf(stderr, "disconnect: %s\n", strerror(-r));
        munmap(mem, REGION_BYTES);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
