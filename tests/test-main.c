/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define TEST_MAX 512
#define EXIT_SKIP 77

static struct test_case tests[TEST_MAX];
static size_t n_tests;

void test_register(const char *name, test_func_t func) {
        if (n_tests >= TEST_MAX) {
                fprintf(stderr, "too many tests\n");
                abort();
        }
        tests[n_tests++] = (struct test_case){ name, func };
}

void test_fail(const char *file, int line, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "  %s:%d: ", file, line);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        fflush(NULL);
        _exit(EXIT_FAILURE);
}

void test_skip(const char *why) {
        fprintf(stderr, "  skipped: %s\n", why);
        fflush(NULL);
        _exit(EXIT_SKIP);
}

static bool selected(const char *name, int argc, char **argv) {
        if (argc <= 1)
                return true;
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], name) == 0)
                        return true;
        return false;
}

int main(int argc, char **argv) {
        unsigned passed = 0, failed = 0, skipped = 0;

        for (size_t i = 0; i < n_tests; i++) {
                int status;
                pid_t pid;

                if (!selected(tests[i].name, argc, argv))
                        continue;
                fflush(NULL);
                pid = fork();
                if (pid < 0) {
                        perror("fork");
                        return EXIT_FAILURE;
                }
                if (pid == 0) {
                        tests[i].func();
                        fflush(NULL);
                        _exit(EXIT_SUCCESS);
                }
                if (waitpid(pid, &status, 0) < 0) {
                        perror("waitpid");
                        return EXIT_FAILURE;
                }
                if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                        printf("ok   %s\n", tests[i].name);
                        passed++;
                } else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIP) {
                        printf("skip %s\n", tests[i].name);
                        skipped++;
                } else {
                        if (WIFSIGNALED(status))
                                printf("FAIL %s (signal %d)\n", tests[i].name, WTERMSIG(status));
                        else
                                printf("FAIL %s (exit %d)\n", tests[i].name, WEXITSTATUS(status));
                        failed++;
                }
        }
        printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
        if (failed > 0)
                return EXIT_FAILURE;
        if (passed == 0 && skipped > 0)
                return EXIT_SKIP;
        return passed > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
