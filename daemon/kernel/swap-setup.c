/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "memcg.h"
#include "parse.h"
#include "swap-setup.h"

#define SWAP_SETUP_FILE_MAX_BYTES (64U * 1024U)

static const char *const swap_kind_names[_SWAP_KIND_MAX] = {
        [SWAP_KIND_FILE] = "file",
        [SWAP_KIND_PARTITION] = "partition",
        [SWAP_KIND_ZRAM] = "zram",
};

const char *swap_kind_to_string(SwapKind k) {
        return k >= 0 && k < _SWAP_KIND_MAX ? swap_kind_names[k] : "?";
}

static bool is_zram_path(const char *path) {
        const char *base = strrchr(path, '/');

        base = base ? base + 1 : path;
        return strncmp(base, "zram", 4) == 0;
}

int swap_setup_parse_swaps(const char *text, SwapSetup *s) {
        const char *line = text;
        bool header = true;

        while (line && *line) {
                const char *eol = strchrnul(line, '\n');
                char buf[512], name[256], type[32];
                unsigned long long size_kib, used_kib;
                int prio;
                size_t len = (size_t) (eol - line);

                if (header) { /* "Filename Type Size Used Priority" */
                        header = false;
                        goto next;
                }
                if (len == 0)
                        goto next;
                if (len >= sizeof buf)
                        return -EINVAL;
                memcpy(buf, line, len);
                buf[len] = '\0';
                if (sscanf(buf, "%255s %31s %llu %llu %d", name, type, &size_kib, &used_kib,
                           &prio) != 5)
                        return -EINVAL;
                if (size_kib > UINT64_MAX / 1024 || used_kib > UINT64_MAX / 1024)
                        return -EINVAL;
                if (s->n_devices >= SWAP_SETUP_DEVICES_MAX) {
                        s->n_devices_omitted++;
                        goto next;
                }
                SwapDevice *d = &s->devices[s->n_devices++];
                *d = (SwapDevice){
                        .kind = is_zram_path(name)    ? SWAP_KIND_ZRAM
                                : streq(type, "file") ? SWAP_KIND_FILE
                                                      : SWAP_KIND_PARTITION,
                        .size_bytes = (uint64_t) size_kib * 1024,
                        .used_bytes = (uint64_t) used_kib * 1024,
                        .priority = prio,
                };
                snprintf(d->path, sizeof d->path, "%.127s", name);
next:
                line = *eol ? eol + 1 : NULL;
        }
        return 0;
}

int swap_setup_parse_swap_cached(const char *text, uint64_t *ret_bytes) {
        return memcg_stat_value(text, "SwapCached", ret_bytes);
}

static int read_small(const char *dir, const char *name, char **ret) {
        char path[PATH_MAX + 64];

        snprintf(path, sizeof path, "%s/%s", dir, name);
        return read_virtual_file(path, SWAP_SETUP_FILE_MAX_BYTES, ret);
}

static void strip(char *s) {
        s[strcspn(s, "\n")] = '\0';
}

int swap_setup_read(const char *proc_root, const char *sys_root, SwapSetup *ret) {
        SwapSetup s = {};
        char dir[PATH_MAX];
        int r;

        {
                _cleanup_free_ char *t = NULL;
                if (read_small(proc_root, "swaps", &t) >= 0) {
                        r = swap_setup_parse_swaps(t, &s);
                        if (r < 0)
                                return r;
                }
        }
        {
                _cleanup_free_ char *t = NULL;
                if (read_small(proc_root, "meminfo", &t) >= 0 &&
                    swap_setup_parse_swap_cached(t, &s.swap_cached_bytes) >= 0)
                        s.swap_cached_known = true;
        }
        snprintf(dir, sizeof dir, "%s/module/zswap/parameters", sys_root);
        {
                _cleanup_free_ char *t = NULL;
                if (read_small(dir, "enabled", &t) >= 0) {
                        strip(t);
                        s.zswap_present = true;
                        s.zswap_enabled = streq(t, "Y") || streq(t, "1");
                }
        }
        {
                _cleanup_free_ char *t = NULL;
                if (read_small(dir, "compressor", &t) >= 0) {
                        strip(t);
                        snprintf(s.zswap_compressor, sizeof s.zswap_compressor, "%s", t);
                }
        }
        {
                _cleanup_free_ char *t = NULL;
                unsigned v;
                if (read_small(dir, "max_pool_percent", &t) >= 0 && sscanf(t, "%u", &v) == 1)
                        s.zswap_max_pool_percent = v;
        }
        *ret = s;
        return 0;
}

bool swap_setup_has_swap(const SwapSetup *s) {
        return s->n_devices > 0;
}

bool swap_setup_pageout_frees_at_once(const SwapSetup *s) {
        if (!swap_setup_has_swap(s))
                return false;
        if (s->zswap_enabled)
                return true;
        for (size_t i = 0; i < s->n_devices; i++)
                if (s->devices[i].kind != SWAP_KIND_ZRAM)
                        return false;
        return s->n_devices_omitted == 0;
}

const char *swap_setup_remedy(const SwapSetup *s) {
        if (!swap_setup_has_swap(s))
                return "add swap (a swap file, or zram) to let the daemon evict";
        if (swap_setup_pageout_frees_at_once(s))
                return NULL;
        if (s->zswap_present)
                return "paged-out pages stay in RAM as swap cache until memory runs short: enable zswap "
                       "(echo 1 > /sys/module/zswap/parameters/enabled, or zswap.enabled=1 on the kernel "
                       "command line), or swap to zram; on cgroup v2 the daemon also reclaims them from the "
                       "client's cgroup";
        return "paged-out pages stay in RAM as swap cache until memory runs short: swap to zram, or use a "
               "kernel with zswap; on cgroup v2 the daemon also reclaims them from the client's cgroup";
}

void swap_setup_describe(const SwapSetup *s, char *buf, size_t size) {
        size_t n = 0;

#define APPEND(...)                                                        \
        do {                                                               \
                if (n < size) {                                            \
                        int _k = snprintf(buf + n, size - n, __VA_ARGS__); \
                        n += _k > 0 ? (size_t) _k : 0;                     \
                }                                                          \
        } while (0)
        if (size == 0)
                return;
        buf[0] = '\0';
        if (s->zswap_present)
                APPEND("zswap %s (%s, pool %u%%)", s->zswap_enabled ? "on" : "off",
                       s->zswap_compressor[0] ? s->zswap_compressor : "?",
                       s->zswap_max_pool_percent);
        else
                APPEND("no zswap");
        if (s->n_devices == 0)
                APPEND(", no swap");
        for (size_t i = 0; i < s->n_devices; i++) {
                char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX];
                APPEND("%s %s (%s, %s, %s used)", i == 0 ? ", swap:" : ",", s->devices[i].path,
                       swap_kind_to_string(s->devices[i].kind),
                       format_bytes(a, sizeof a, s->devices[i].size_bytes),
                       format_bytes(b, sizeof b, s->devices[i].used_bytes));
        }
        if (s->n_devices_omitted > 0)
                APPEND(" and %zu more", s->n_devices_omitted);
#undef APPEND
}
