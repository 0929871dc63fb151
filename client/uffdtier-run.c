/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uffdtier-run: start a program with its memory followed by uffdtierd, without changing the
 * program. It puts libuffdtier-preload.so in LD_PRELOAD, passes its options on in the
 * environment (run-env.h) and execs the program; the preload library does the rest before the
 * program's main(). See uffdtier-run(1). */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "macro.h"
#include "parse.h"
#include "protocol.h"
#include "run-env.h"

static void help(void) {
        printf("Usage: uffdtier-run [OPTION]... [--] PROGRAM [ARGUMENT]...\n"
               "Run PROGRAM with its memory tiered by uffdtierd, unchanged.\n\n"
               "  -n, --name=NAME        the name the daemon shows (default: the program's)\n"
               "  -l, --label=KEY=VALUE  a label for the daemon's policy (repeatable; no commas)\n"
               "  -s, --socket=PATH      the daemon's handoff socket (default: $UFFDTIER_SOCKET,\n"
               "                         else %s)\n"
               "  -m, --min-range=SIZE   follow runs of mappings of at least SIZE (default 1M)\n"
               "  -q, --quiet            say nothing when the program runs untracked\n"
               "  -c, --no-children      programs it executes are not followed\n"
               "  -h, --help             this text\n"
               "  -V, --version          the version\n\n"
               "Without a daemon, or when the daemon refuses, the program runs untracked.\n",
               UFFDTIER_SOCKET_DEFAULT);
}

static int append_label(char **labels, const char *label) {
        size_t old = *labels ? strlen(*labels) : 0;
        char *n;

        if (strchr(label, ',') || proto_check_label(label) < 0)
                return -EINVAL;
        n = realloc(*labels, old + strlen(label) + 2);
        if (!n)
                return -ENOMEM;
        if (old > 0)
                n[old++] = ',';
        strcpy(n + old, label);
        *labels = n;
        return 0;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "name", required_argument, NULL, 'n' },
                { "label", required_argument, NULL, 'l' },
                { "socket", required_argument, NULL, 's' },
                { "min-range", required_argument, NULL, 'm' },
                { "quiet", no_argument, NULL, 'q' },
                { "no-children", no_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        _cleanup_free_ char *labels = NULL, *ld_preload = NULL;
        const char *preload, *old;
        uint64_t size;
        int c, r;

        /* "+": options end at PROGRAM, whose own options are its own */
        while ((c = getopt_long(argc, argv, "+n:l:s:m:qchV", options, NULL)) >= 0) {
                switch (c) {
                case 'n':
                        if (proto_check_string(optarg, PROTO_NAME_MAX_BYTES, false) < 0) {
                                fprintf(stderr,
                                        "uffdtier-run: invalid name '%s' (1..%d bytes of "
                                        "printable UTF-8)\n",
                                        optarg, PROTO_NAME_MAX_BYTES);
                                return EXIT_FAILURE;
                        }
                        if (setenv(RUN_ENV_NAME, optarg, 1) < 0)
                                return EXIT_FAILURE;
                        break;
                case 'l':
                        r = append_label(&labels, optarg);
                        if (r < 0) {
                                fprintf(stderr,
                                        "uffdtier-run: invalid label '%s' (KEY=VALUE, no "
                                        "comma, at most %d bytes)\n",
                                        optarg, PROTO_LABEL_MAX_BYTES);
                                return EXIT_FAILURE;
                        }
                        break;
                case 's':
                        if (setenv("UFFDTIER_SOCKET", optarg, 1) < 0)
                                return EXIT_FAILURE;
                        break;
                case 'm':
                        if (parse_size(optarg, &size) < 0) {
                                fprintf(stderr, "uffdtier-run: invalid size '%s'\n", optarg);
                                return EXIT_FAILURE;
                        }
                        if (setenv(RUN_ENV_MIN_RANGE, optarg, 1) < 0)
                                return EXIT_FAILURE;
                        break;
                case 'q':
                        (void) setenv(RUN_ENV_QUIET, "1", 1);
                        break;
                case 'c':
                        (void) setenv(RUN_ENV_NO_CHILDREN, "1", 1);
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case 'V':
                        printf("uffdtier-run %s\n", PACKAGE_VERSION);
                        return EXIT_SUCCESS;
                default:
                        fprintf(stderr, "Try 'uffdtier-run --help'.\n");
                        return EXIT_FAILURE;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "uffdtier-run: no program given. Try 'uffdtier-run --help'.\n");
                return EXIT_FAILURE;
        }
        if (labels && setenv(RUN_ENV_LABELS, labels, 1) < 0)
                return EXIT_FAILURE;

        preload = getenv(RUN_ENV_PRELOAD);
        if (!preload || !*preload)
                preload = UFFDTIER_PRELOAD_PATH;
        if (access(preload, R_OK) < 0) {
                if (!getenv(RUN_ENV_QUIET))
                        fprintf(stderr, "uffdtier-run: %s: %m; %s runs untracked\n", preload,
                                argv[optind]);
        } else {
                old = getenv("LD_PRELOAD");
                if (asprintf(&ld_preload, "%s%s%s", preload, old && *old ? ":" : "",
                             old ? old : "") < 0)
                        return EXIT_FAILURE;
                if (setenv("LD_PRELOAD", ld_preload, 1) < 0)
                        return EXIT_FAILURE;
        }

        execvp(argv[optind], argv + optind);
        r = errno;
        fprintf(stderr, "uffdtier-run: cannot execute %s: %s\n", argv[optind], strerror(r));
        return r == ENOENT ? 127 : 126;
}
