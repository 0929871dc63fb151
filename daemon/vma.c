/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "pagemap.h"
#include "vma.h"

#define VMA_SMAPS_MAX_BYTES (64U << 20)

typedef struct Vma {
        uint64_t start, end;
        char perms[5];
        uint64_t inode;
        char path[256];
        uint64_t kernel_page_kib;
        char vmflags[256];
} Vma;

/* A mapping's header line starts "start-end " in lowercase hex; attribute lines ("Size:",
 * "VmFlags:", ...) start with an upper-case letter. */
static bool is_header_line(const char *s) {
        size_t n = strspn(s, "0123456789abcdef");
        return n > 0 && s[n] == '-';
}

/* Parses the next mapping of an smaps text at *p; returns 1 with *ret filled, 0 at the end,
 * -EINVAL on malformed input. */
static int vma_next(const char **p, Vma *ret) {
        const char *s = *p, *eol;
        Vma v = {};
        unsigned long long a, b, off, inode;
        char dev[32];
        int n = 0;

        if (*s == '\0')
                return 0;
        eol = strchrnul(s, '\n');
        if (sscanf(s, "%llx-%llx %4s %llx %31s %llu %n", &a, &b, v.perms, &off, dev, &inode, &n) < 6)
                return -EINVAL;
        v.start = a;
        v.end = b;
        v.inode = inode;
        if (n > 0 && s + n < eol) {
                size_t l = MIN((size_t) (eol - (s + n)), sizeof v.path - 1);
                memcpy(v.path, s + n, l);
        }
        s = *eol ? eol + 1 : eol;
        /* attribute lines until the next header (which starts with a hex address) */
        while (*s != '\0') {
                eol = strchrnul(s, '\n');
                if (strncmp(s, "KernelPageSize:", 15) == 0)
                        v.kernel_page_kib = strtoull(s + 15, NULL, 10);
                else if (strncmp(s, "VmFlags:", 8) == 0) {
                        size_t l = MIN((size_t) (eol - (s + 8)), sizeof v.vmflags - 1);
                        memcpy(v.vmflags, s + 8, l);
                } else if (is_header_line(s))
                        break;
                s = *eol ? eol + 1 : eol;
        }
        *p = s;
        *ret = v;
        return 1;
}

int vma_check_range(const char *smaps, uint64_t start, uint64_t end, char *errbuf, size_t errlen) {
        const char *p = smaps;
        uint64_t covered = start;
        Vma v;
        int r;

        while ((r = vma_next(&p, &v)) > 0) {
                if (v.end <= covered || v.start >= end)
                        continue;
                if (v.start > covered)
                        break; /* a hole */
                if (v.perms[0] == '-' && v.perms[1] == '-' && v.perms[2] == '-') {
                        snprintf(errbuf, errlen, "0x%" PRIx64 "-0x%" PRIx64 " is PROT_NONE", v.start, v.end);
                        return -EACCES;
                }
                if (v.perms[3] != 'p') {
                        snprintf(errbuf, errlen, "0x%" PRIx64 "-0x%" PRIx64 " is a shared mapping, only private anonymous memory can be tiered",
                                 v.start, v.end);
                        return -EOPNOTSUPP;
                }
                if (v.kernel_page_kib > 4 || strstr(v.path, "anon_hugepage") || strstr(v.vmflags, " ht")) {
                        snprintf(errbuf, errlen, "0x%" PRIx64 "-0x%" PRIx64 " is hugetlb memory, which cannot be paged out",
                                 v.start, v.end);
                        return -EOPNOTSUPP;
                }
                if (v.inode != 0) {
                        snprintf(errbuf, errlen, "0x%" PRIx64 "-0x%" PRIx64 " is file-backed (%s), only anonymous memory can be tiered",
                                 v.start, v.end, v.path);
                        return -EOPNOTSUPP;
                }
                covered = v.end;
                if (covered >= end)
                        return 0;
        }
        if (r < 0) {
                snprintf(errbuf, errlen, "cannot parse the process's smaps");
                return r;
        }
        snprintf(errbuf, errlen, "0x%" PRIx64 "-0x%" PRIx64 " is not (entirely) mapped", covered, end);
        return -EFAULT;
}

bool vma_range_has_uffd_flag(const char *smaps, uint64_t start, uint64_t end) {
        const char *p = smaps;
        bool any = false;
        Vma v;

        while (vma_next(&p, &v) > 0) {
                if (v.end <= start || v.start >= end)
                        continue;
                /* flags are two letters separated by spaces; userfaultfd ones start with 'u' */
                bool found = false;
                for (const char *f = v.vmflags; *f; f++)
                        if ((f == v.vmflags || f[-1] == ' ') && f[0] == 'u' && f[1] && f[1] != ' ')
                                found = true;
                if (!found)
                        return false;
                any = true;
        }
        return any;
}

int vma_read_smaps(const char *proc_root, pid_t pid, char **ret) {
        char path[PATH_MAX];

        snprintf(path, sizeof path, "%s/%d/smaps", proc_root, (int) pid);
        /* about 1 KiB per mapping: 64 MiB is far beyond any sane process */
        return read_virtual_file(path, VMA_SMAPS_MAX_BYTES, ret);
}

int vma_check_range_pid(const char *proc_root, pid_t pid, uint64_t start, uint64_t end,
                        sd_bus_error *ret_error) {
        _cleanup_free_ char *smaps = NULL;
        char err[256];
        int r;

        r = vma_read_smaps(proc_root, pid, &smaps);
        if (r < 0)
                return sd_bus_error_set_errnof(ret_error, r == -ENOENT ? ESRCH : -r,
                                               "cannot read the memory map of pid %d", (int) pid);
        r = vma_check_range(smaps, start, end, err, sizeof err);
        if (r < 0)
                return sd_bus_error_set_errnof(ret_error, -r, "%s", err);
        return 0;
}

int vma_range_is_registered(const KernelOps *ops, int pagemap_fd, uint64_t start, uint64_t end) {
        _cleanup_(page_region_vec_done) PageRegionVec v = {};
        uint64_t at = start;
        int r;

        r = pagemap_scan_range(ops, pagemap_fd, start, end, 0, 0, 0, PAGE_IS_WPALLOWED, 0, &v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v.n; i++) {
                if (v.regions[i].start > at || !(v.regions[i].categories & PAGE_IS_WPALLOWED))
                        return 0;
                at = v.regions[i].end;
        }
        return at >= end;
}
