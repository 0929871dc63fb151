/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "memcg.h"

#define MEMCG_FILE_MAX_BYTES (64U * 1024U)

static const char *const memcg_source_names[_MEMCG_SOURCE_MAX] = {
        [MEMCG_SOURCE_NONE] = "none",
        [MEMCG_SOURCE_V2] = "cgroup-v2",
        [MEMCG_SOURCE_V1] = "cgroup-v1",
        [MEMCG_SOURCE_SYSTEM] = "system",
};

const char *memcg_source_to_string(MemcgSource s) {
        return s >= 0 && s < _MEMCG_SOURCE_MAX ? memcg_source_names[s] : "?";
}

int memcg_stat_value(const char *text, const char *key, uint64_t *ret) {
        size_t klen = strlen(key);

        for (const char *p = text; p && *p;) {
                if (strncmp(p, key, klen) == 0 && (p[klen] == ' ' || p[klen] == ':')) {
                        const char *v = p + klen + 1;
                        char *end;
                        unsigned long long x;

                        v += strspn(v, " \t");
                        errno = 0;
                        x = strtoull(v, &end, 10);
                        if (end == v)
                                return -EINVAL;
                        if (errno == ERANGE)
                                return -ERANGE;
                        /* meminfo gives kB, memory.stat bytes */
                        if (strncmp(end, " kB", 3) == 0) {
                                if (x > UINT64_MAX / 1024)
                                        return -ERANGE;
                                x *= 1024;
                        }
                        *ret = x;
                        return 0;
                }
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return -ENOENT;
}

int memcg_path_from_proc_cgroup(const char *text, char *ret_path, size_t size, bool *ret_v2) {
        const char *v1 = NULL, *v2 = NULL;
        size_t v1_len = 0, v2_len = 0;

        for (const char *p = text; p && *p;) {
                const char *eol = strchrnul(p, '\n'), *c1 = memchr(p, ':', (size_t) (eol - p)), *c2;

                if (c1 && (c2 = memchr(c1 + 1, ':', (size_t) (eol - c1 - 1)))) {
                        size_t clen = (size_t) (c2 - c1 - 1);
                        bool memory = false;

                        /* the controller list may be "memory" or a comma list containing it */
                        for (const char *q = c1 + 1; q < c2;) {
                                const char *comma = memchr(q, ',', (size_t) (c2 - q));
                                size_t l = comma ? (size_t) (comma - q) : (size_t) (c2 - q);
                                if (l == 6 && strncmp(q, "memory", 6) == 0)
                                        memory = true;
                                q += l + 1;
                        }
                        if (memory) {
                                v1 = c2 + 1;
                                v1_len = (size_t) (eol - v1);
                        } else if (clen == 0 && strncmp(p, "0:", 2) == 0) {
                                v2 = c2 + 1;
                                v2_len = (size_t) (eol - v2);
                        }
                }
                p = *eol ? eol + 1 : NULL;
        }
        if (!v1 && !v2)
                return -ENOENT;
        if ((v1 ? v1_len : v2_len) >= size || (v1 ? v1 : v2)[0] != '/')
                return -EINVAL;
        memcpy(ret_path, v1 ? v1 : v2, v1 ? v1_len : v2_len);
        ret_path[v1 ? v1_len : v2_len] = '\0';
        *ret_v2 = !v1;
        return 0;
}

int memcg_procs_has_other(const char *text, pid_t pid) {
        for (const char *p = text; p && *p;) {
                char *end;
                long x;

                if (*p == '\n') {
                        p++;
                        continue;
                }
                errno = 0;
                x = strtol(p, &end, 10);
                if (end == p || errno != 0 || x <= 0 || x > INT_MAX || (*end != '\n' && *end))
                        return -EINVAL;
                if ((pid_t) x != pid)
                        return 1;
                p = end;
        }
        return 0;
}

/* Whether the cgroup directory dir holds processes other than pid, or cgroups below it (whose
 * usage its own includes). Unreadable, or too many processes to list: shared. */
static bool cgroup_dir_shared(const char *dir, pid_t pid) {
        _cleanup_free_ char *procs = NULL, *stat = NULL;
        char path[PATH_MAX + 300];
        uint64_t n;

        snprintf(path, sizeof path, "%s/cgroup.procs", dir);
        if (read_virtual_file(path, MEMCG_FILE_MAX_BYTES, &procs) < 0 ||
            memcg_procs_has_other(procs, pid) != 0)
                return true;
        /* v2 only (v1 has no cgroup.stat: its hierarchical usage is not looked into) */
        snprintf(path, sizeof path, "%s/cgroup.stat", dir);
        if (read_virtual_file(path, MEMCG_FILE_MAX_BYTES, &stat) >= 0 &&
            memcg_stat_value(stat, "nr_descendants", &n) >= 0 && n > 0)
                return true;
        return false;
}

static int read_u64_file(const char *path, uint64_t *ret) {
        _cleanup_free_ char *t = NULL;
        unsigned long long x;
        int r;

        r = read_virtual_file(path, MEMCG_FILE_MAX_BYTES, &t);
        if (r < 0)
                return r;
        if (sscanf(t, "%llu", &x) != 1)
                return -EINVAL;
        *ret = x;
        return 0;
}

static void read_system_swapcached(const char *proc_root, MemcgStat *s) {
        _cleanup_free_ char *t = NULL;
        char path[PATH_MAX];

        snprintf(path, sizeof path, "%s/meminfo", proc_root);
        if (read_virtual_file(path, MEMCG_FILE_MAX_BYTES, &t) >= 0 &&
            memcg_stat_value(t, "SwapCached", &s->swapcached_bytes) >= 0) {
                s->swapcached_known = true;
                s->swapcached_is_system = true;
        }
}

/* 1 while the pidfd's process lives (its pidfd turns readable when it exits), 0 when not. */
static int pidfd_alive(int pidfd) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        int r;

        do
                r = poll(&p, 1, 0);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return negative_errno();
        return r == 0;
}

int memcg_read(const char *proc_root, const char *cgroup_root, pid_t pid, int pidfd,
               MemcgStat *ret) {
        MemcgStat s = { .source = MEMCG_SOURCE_SYSTEM };
        _cleanup_free_ char *t = NULL;
        char path[PATH_MAX + 300];
        bool v2 = false;
        int r;

        snprintf(path, sizeof path, "%s/%d/cgroup", proc_root, (int) pid);
        r = read_virtual_file(path, MEMCG_FILE_MAX_BYTES, &t);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        if (pidfd >= 0) {
                r = pidfd_alive(pidfd);
                if (r < 0)
                        return r;
                if (r == 0)
                        return -ESRCH; /* gone: what was read may be another process's */
        }
        if (memcg_path_from_proc_cgroup(t, s.path, sizeof s.path, &v2) >= 0 &&
            !strstr(s.path, "/..")) {
                if (v2) {
                        snprintf(path, sizeof path, "%s%s/memory.current", cgroup_root,
                                 streq(s.path, "/") ? "" : s.path);
                        if (read_u64_file(path, &s.usage_bytes) >= 0) {
                                _cleanup_free_ char *st = NULL;

                                snprintf(path, sizeof path, "%s%s", cgroup_root,
                                         streq(s.path, "/") ? "" : s.path);
                                s.shared = cgroup_dir_shared(path, pid);
                                s.source = MEMCG_SOURCE_V2;
                                s.usage_known = true;
                                snprintf(path, sizeof path, "%s%s/memory.stat", cgroup_root,
                                         streq(s.path, "/") ? "" : s.path);
                                if (read_virtual_file(path, MEMCG_FILE_MAX_BYTES, &st) >= 0 &&
                                    memcg_stat_value(st, "swapcached", &s.swapcached_bytes) >= 0)
                                        s.swapcached_known = true;
                        }
                } else {
                        snprintf(path, sizeof path, "%s/memory%s/memory.usage_in_bytes",
                                 cgroup_root, streq(s.path, "/") ? "" : s.path);
                        if (read_u64_file(path, &s.usage_bytes) >= 0) {
                                _cleanup_free_ char *st = NULL;

                                snprintf(path, sizeof path, "%s/memory%s", cgroup_root,
                                         streq(s.path, "/") ? "" : s.path);
                                s.shared = cgroup_dir_shared(path, pid);
                                s.source = MEMCG_SOURCE_V1;
                                s.usage_known = true;
                                /* v1 memory.stat has the cgroup's own swapcached too (total_swapcached
                                 * adds its descendants: the client's pages are charged here) */
                                snprintf(path, sizeof path, "%s/memory%s/memory.stat", cgroup_root,
                                         streq(s.path, "/") ? "" : s.path);
                                if (read_virtual_file(path, MEMCG_FILE_MAX_BYTES, &st) >= 0 &&
                                    memcg_stat_value(st, "swapcached", &s.swapcached_bytes) >= 0)
                                        s.swapcached_known = true;
                        }
                }
        }
        if (s.source == MEMCG_SOURCE_SYSTEM)
                s.path[0] = '\0';
        if (!s.swapcached_known)
                read_system_swapcached(proc_root, &s);
        if (s.source == MEMCG_SOURCE_SYSTEM || s.swapcached_is_system)
                s.shared = true;
        *ret = s;
        return 0;
}

int memcg_reclaim(const char *cgroup_root, const char *path, uint64_t bytes) {
        char p[PATH_MAX + 300], v[32];
        _cleanup_close_ int fd = -EBADF;
        ssize_t l;
        int n;

        if (!path || path[0] != '/' || strstr(path, "/.."))
                return -EINVAL;
        snprintf(p, sizeof p, "%s%s/memory.reclaim", cgroup_root, streq(path, "/") ? "" : path);
        fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        n = snprintf(v, sizeof v, "%" PRIu64, bytes);
        do
                l = write(fd, v, (size_t) n);
        while (l < 0 && errno == EINTR);
        if (l < 0)
                return negative_errno();
        return 0;
}
