/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a page-out does to memory on this machine. MADV_PAGEOUT writes anonymous pages to swap,
 * but with a plain swap device or file the written pages stay in RAM, in the swap cache, until
 * something reclaims them (measured here: 256 MiB paged out left the cgroup at 257 MiB). With
 * zswap the compressed copy replaces the page at once, and zram swap completes its writes
 * synchronously, so the page is freed in the same call. This module reads the swap set-up
 * (/proc/swaps, /proc/meminfo, zswap's module parameters) and says which case holds. The
 * parsers are pure; swap_setup_read() is the I/O, with the roots as parameters. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SWAP_SETUP_DEVICES_MAX 16
#define SWAP_SETUP_DESCRIBE_MAX 512

typedef enum SwapKind {
        SWAP_KIND_FILE,
        SWAP_KIND_PARTITION,
        SWAP_KIND_ZRAM,
        _SWAP_KIND_MAX,
} SwapKind;

typedef struct SwapDevice {
        char path[128];
        SwapKind kind;
        uint64_t size_bytes;
        uint64_t used_bytes;
        int priority;
} SwapDevice;

typedef struct SwapSetup {
        SwapDevice devices[SWAP_SETUP_DEVICES_MAX];
        size_t n_devices;
        size_t n_devices_omitted; /* beyond SWAP_SETUP_DEVICES_MAX */
        bool zswap_present; /* the zswap module parameters exist */
        bool zswap_enabled;
        char zswap_compressor[32];
        unsigned zswap_max_pool_percent;
        bool swap_cached_known;
        uint64_t swap_cached_bytes; /* /proc/meminfo SwapCached */
} SwapSetup;

/* /proc/swaps ("Filename Type Size Used Priority", sizes in KiB; octal escapes in names are
 * kept as they are). Appends to *s; -EINVAL on a malformed line. */
int swap_setup_parse_swaps(const char *text, SwapSetup *s);
/* "SwapCached:" of /proc/meminfo, in bytes. -ENOENT without it. */
int swap_setup_parse_swap_cached(const char *text, uint64_t *ret_bytes);
/* Fills *ret from <proc_root>/swaps, <proc_root>/meminfo and
 * <sys_root>/module/zswap/parameters/. Files that are missing leave their fields unset. */
int swap_setup_read(const char *proc_root, const char *sys_root, SwapSetup *ret);

bool swap_setup_has_swap(const SwapSetup *s);
/* True when a paged-out page leaves RAM in the same call: zswap on, or every active swap
 * device is zram. */
bool swap_setup_pageout_frees_at_once(const SwapSetup *s);
/* The remedy to say when it does not (a sentence), or NULL when nothing is wrong. */
const char *swap_setup_remedy(const SwapSetup *s);
/* One line: "zswap on (zstd, pool 20%), swap: /swapfile (file, 2.0G, 0 used)". */
void swap_setup_describe(const SwapSetup *s, char *buf, size_t size);
const char *swap_kind_to_string(SwapKind k);
