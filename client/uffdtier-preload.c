/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libuffdtier-preload.so: put in LD_PRELOAD (by uffdtier-run, or a unit's Environment=), it hands
 * the process over to uffdtierd before main() and asks the daemon to follow all of it (FOLLOW,
 * docs/PROTOCOL.md). It never hurts the program: whatever fails, the program runs on untracked,
 * with at most one line on stderr. It keeps one descriptor, the connection (close-on-exec): the
 * daemon stops following when it closes, which an exec does; the new program runs the preload
 * again. The userfaultfd itself is the daemon's alone (libuffdtier closes its copy). */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"
#include "protocol.h"
#include "run-env.h"
#include "uffdtier.h"

/* The connection, for the whole life of the process (never freed: a goodbye at exit would only
 * cost the program time; the daemon notices the exit by the pidfd). */
static struct uffdtier *handle;

static bool env_true(const char *name) {
        const char *v = getenv(name);
        int b;

        return v && parse_boolean(v, &b) >= 0 && b;
}

static void say(const char *format, ...) _printf_(1, 2);
static void say(const char *format, ...) {
        char line[768];
        va_list ap;
        int n;

        if (env_true(RUN_ENV_QUIET))
                return;
        va_start(ap, format);
        n = vsnprintf(line, sizeof line, format, ap);
        va_end(ap);
        if (n < 0)
                return;
        n = MIN(n, (int) sizeof line - 2);
        line[n++] = '\n';
        /* one write(2): no stdio buffer of the program's is touched before its main() */
        (void) !write(STDERR_FILENO, line, (size_t) n);
}

/* --no-children: LD_PRELOAD without this library, so that what the program execs is not
 * followed. The program itself keeps it: it is loaded already. */
static void drop_from_ld_preload(void) {
        const char *old = getenv("LD_PRELOAD");
        char *copy, *out, *tok, *save = NULL;
        size_t o = 0;

        if (!old)
                return;
        copy = strdup(old);
        out = calloc(1, strlen(old) + 1);
        if (!copy || !out)
                goto done;
        /* ld.so separates the entries by spaces or colons */
        for (tok = strtok_r(copy, " :", &save); tok; tok = strtok_r(NULL, " :", &save)) {
                const char *base = strrchr(tok, '/');

                if (streq(base ? base + 1 : tok, RUN_PRELOAD_NAME))
                        continue;
                if (o > 0)
                        out[o++] = ':';
                memcpy(out + o, tok, strlen(tok));
                o += strlen(tok);
        }
        if (o == 0)
                (void) unsetenv("LD_PRELOAD");
        else
                (void) setenv("LD_PRELOAD", out, 1);
done:
        free(copy);
        free(out);
}

/* "a=b,c=d" -> a NULL-terminated array of pointers into the copy buf (at most max entries). */
static size_t split_labels(char *buf, const char **labels, size_t max) {
        char *save = NULL;
        size_t n = 0;

        for (char *tok = strtok_r(buf, ",", &save); tok && n < max;
             tok = strtok_r(NULL, ",", &save))
                if (*tok)
                        labels[n++] = tok;
        labels[n] = NULL;
        return n;
}

static void follow_me(void) {
        const char *labels[UFFDTIER_LABELS_MAX + 1] = {};
        const char *name = getenv(RUN_ENV_NAME), *v;
        char why[UFFDTIER_ERROR_MAX + 1] = "", *label_buf = NULL;
        uint64_t min_bytes = UINT64_MAX;
        struct uffdtier *h = NULL;
        int r;

        if (!name || !*name)
                name = program_invocation_short_name;
        v = getenv(RUN_ENV_MIN_RANGE);
        if (v && *v && parse_size(v, &min_bytes) < 0) {
                say("uffdtier: %s=%s is not a size, using the default", RUN_ENV_MIN_RANGE, v);
                min_bytes = UINT64_MAX;
        }
        v = getenv(RUN_ENV_LABELS);
        if (v && *v) {
                label_buf = strdup(v);
                if (label_buf)
                        (void) split_labels(label_buf, labels, UFFDTIER_LABELS_MAX);
        }

        /* a name the protocol refuses (too long, control characters) must not cost the
         * program its tiering: fall back to no name */
        r = uffdtier_connect(NULL, name, 0, &h);
        if (r == -EINVAL)
                r = uffdtier_connect(NULL, NULL, 0, &h);
        if (r < 0) {
                (void) uffdtier_last_error(NULL, why, sizeof why);
                say("uffdtier: %s runs untracked: cannot hand it to uffdtierd: %s",
                    program_invocation_short_name, why[0] ? why : strerror(-r));
                goto out;
        }
        r = uffdtier_follow(h, min_bytes == UINT64_MAX ? PROTO_FOLLOW_MIN_BYTES_DEFAULT : min_bytes,
                            NULL, labels[0] ? labels : NULL);
        if (r < 0) {
                (void) uffdtier_last_error(h, why, sizeof why);
                say("uffdtier: %s runs untracked: uffdtierd refused to follow it: %s",
                    program_invocation_short_name, why[0] ? why : strerror(-r));
                (void) uffdtier_disconnect(h);
                goto out;
        }
        handle = h;
out:
        free(label_buf);
}

__attribute__((constructor)) static void uffdtier_preload_init(void) {
        int saved_errno = errno;

        if (env_true(RUN_ENV_NO_CHILDREN))
                drop_from_ld_preload();
        follow_me();
        errno = saved_errno;
}
