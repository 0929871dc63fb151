/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How much of a client's memory really is in RAM, from its memory cgroup: what the daemon
 * calls "freed" is what left RAM, not what it paged out (with plain swap the pages stay in the
 * swap cache). v2: memory.current and memory.stat's swapcached; v1 (hybrid hosts):
 * memory.usage_in_bytes and, where nothing says how much of it is swap cache, the system's
 * SwapCached from /proc/meminfo. Each reading names its source. Parsers are pure; memcg_read()
 * is the I/O, with the roots as parameters. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum MemcgSource {
        MEMCG_SOURCE_NONE,
        MEMCG_SOURCE_V2, /* the client's cgroup: memory.current, memory.stat */
        MEMCG_SOURCE_V1, /* the client's v1 memory cgroup: usage; swap cache: system */
        MEMCG_SOURCE_SYSTEM, /* no memory cgroup of its own: /proc/meminfo only */
        _MEMCG_SOURCE_MAX,
} MemcgSource;

typedef struct MemcgStat {
        MemcgSource source;
        char path[256]; /* the cgroup, as in /proc/PID/cgroup ("" for system) */
        bool usage_known;
        uint64_t usage_bytes; /* v2 memory.current, v1 memory.usage_in_bytes */
        bool swapcached_known;
        bool swapcached_is_system; /* the figure is the whole system's SwapCached */
        uint64_t swapcached_bytes;
        /* The figures count more than pid's memory: other processes in its cgroup, cgroups
         * below it (a cgroup's usage includes its descendants'), or the whole system. Then
         * freed and reclaimed figures are the cgroup's, not the client's alone. */
        bool shared;
} MemcgStat;

/* The value of `key` ("swapcached", "anon", ...) in a memory.stat or meminfo-like text of
 * "key value" lines. -ENOENT when absent, -ERANGE on overflow. */
int memcg_stat_value(const char *text, const char *key, uint64_t *ret);
/* From /proc/PID/cgroup text: the v1 memory controller's path ("N:memory:/a/b", preferred, since
 * a hybrid host accounts memory there) or else the unified "0::/a/b". *ret_v2 says which. */
int memcg_path_from_proc_cgroup(const char *text, char *ret_path, size_t size, bool *ret_v2);
/* From a cgroup.procs text (one pid a line): 1 when it lists a process other than pid, 0 when
 * not, -EINVAL on a line that is not a pid. */
int memcg_procs_has_other(const char *text, pid_t pid);
/* Reads pid's memory cgroup under cgroup_root ("/sys/fs/cgroup": v2 files at
 * <root><path>/memory.current, v1 at <root>/memory<path>/memory.usage_in_bytes). Falls back to
 * MEMCG_SOURCE_SYSTEM. */
/* pidfd (or -EBADF): the process pid must be; /proc/PID/cgroup is read by number, so the read
 * is taken only when the pidfd says the process is still alive after it (else the number may
 * have been reused meanwhile): -ESRCH otherwise. */
int memcg_read(const char *proc_root, const char *cgroup_root, pid_t pid, int pidfd,
               MemcgStat *ret);
const char *memcg_source_to_string(MemcgSource s);
/* Writes `bytes` to <cgroup_root><path>/memory.reclaim (cgroup v2, Linux 5.19+): the kernel
 * reclaims about that much from the cgroup. -EAGAIN when it could not reclaim it all. */
int memcg_reclaim(const char *cgroup_root, const char *path, uint64_t bytes);
