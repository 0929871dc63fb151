/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs a fuzz target's LLVMFuzzerTestOneInput() over files, without libFuzzer, so the corpus is
 * a regression test with any compiler: `replay DIR|FILE...`. A failing input aborts (the test
 * fails); the output names each file before it is fed, so the culprit is the last one named. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bigger than any interesting input: the decoder rejects anything over 64 KiB up front. */
#define REPLAY_FILE_MAX_BYTES (1024 * 1024)

static int replay_file(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ uint8_t *data = NULL, *exact = NULL;
        size_t size = 0;
        ssize_t n = 0;

        if (fd < 0)
                return negative_errno();
        data = malloc(REPLAY_FILE_MAX_BYTES);
        if (!data)
                return -ENOMEM;
        while (size < REPLAY_FILE_MAX_BYTES &&
               (n = read(fd, data + size, REPLAY_FILE_MAX_BYTES - size)) > 0)
                size += (size_t) n;
        if (n < 0)
                return negative_errno();

        printf("%s (%zu bytes)\n", path, size);
        fflush(stdout);
        /* Feed a buffer of exactly the input's size, so ASan catches any overread. */
        exact = malloc(size ? size : 1);
        if (!exact)
                return -ENOMEM;
        memcpy(exact, data, size);
        (void) LLVMFuzzerTestOneInput(exact, size);
        return 0;
}

static int replay_dir(const char *path, unsigned *count) {
        struct dirent **entries = NULL;
        int n = scandir(path, &entries, NULL, alphasort), r = 0;

        if (n < 0)
                return negative_errno();
        for (int i = 0; i < n; i++) {
                char p[4096];
                struct stat st;

                snprintf(p, sizeof p, "%s/%s", path, entries[i]->d_name);
                if (entries[i]->d_name[0] != '.' && stat(p, &st) >= 0 && S_ISREG(st.st_mode)) {
                        int k = replay_file(p);
                        if (k < 0 && r == 0)
                                r = k;
                        (*count)++;
                }
                free(entries[i]);
        }
        free(entries);
        return r;
}

int main(int argc, char **argv) {
        unsigned count = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
                return EXIT_FAILURE;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %m\n", argv[i]);
                        return EXIT_FAILURE;
                }
                if (S_ISDIR(st.st_mode))
                        r = replay_dir(argv[i], &count);
                else {
                        r = replay_file(argv[i]);
                        count++;
                }
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
                        return EXIT_FAILURE;
                }
        }
        printf("%u inputs replayed\n", count);
        /* An empty corpus is a packaging mistake, not a pass. */
        return count > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
