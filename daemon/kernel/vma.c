/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "pagemap.h"
#include "uapi.h"
#include "vma.h"

void vma_vec_done(VmaVec *v) {
        v->vmas = mfree(v->vmas);
        v->n = v->allocated = 0;
}

static int vma_vec_append(VmaVec *v, const VmaInfo *i) {
        if (v->n == v->allocated) {
                size_t a = MAX(v->allocated * 2, (size_t) 8);
                VmaInfo *n = reallocarray(v->vmas, a, sizeof *n);
                if (!n)
                        return -ENOMEM;
                v->vmas = n;
                v->allocated = a;
        }
        v->vmas[v->n++] = *i;
        return 0;
}

/* ---- the decision (pure) ---- */

int vma_check_list(const VmaInfo *v, size_t n, uint64_t start, uint64_t end,
                   sd_bus_error *ret_error) {
        uint64_t covered = start;

        if (start >= end)
                return sd_bus_error_set_errnof(ret_error, EINVAL,
                                               "empty range 0x%" PRIx64 "-0x%" PRIx64, start, end);

        for (size_t i = 0; i < n && covered < end; i++) {
                /* the part of this VMA inside the range: all a message may name */
                uint64_t a, b;

                if (v[i].end <= covered)
                        continue;
                if (v[i].start >= end)
                        break;
                if (v[i].start > covered)
                        break; /* a hole before this VMA */
                a = covered;
                b = MIN(v[i].end, end);

                if (!(v[i].perms & (VMA_PERM_READ | VMA_PERM_WRITE | VMA_PERM_EXEC)))
                        return sd_bus_error_set_errnof(
                                ret_error, EACCES,
                                "0x%" PRIx64 "-0x%" PRIx64
                                " of the range is PROT_NONE, which cannot be registered",
                                a, b);
                /* hugetlb first: private hugetlb memory also has an inode (hugetlbfs) */
                if (v[i].page_size != 0 && v[i].page_size != page_size())
                        return sd_bus_error_set_errnof(
                                ret_error, EOPNOTSUPP,
                                "0x%" PRIx64 "-0x%" PRIx64
                                " of the range is hugetlb memory, which cannot be paged out",
                                a, b);
                if (v[i].perms & VMA_PERM_SHARED)
                        return sd_bus_error_set_errnof(
                                ret_error, EOPNOTSUPP,
                                "0x%" PRIx64 "-0x%" PRIx64
                                " of the range is a shared mapping, only private anonymous memory can be tiered",
                                a, b);
                if (v[i].inode != 0)
                        return sd_bus_error_set_errnof(
                                ret_error, EOPNOTSUPP,
                                "0x%" PRIx64 "-0x%" PRIx64
                                " of the range is file-backed, only anonymous memory can be tiered",
                                a, b);
                covered = b;
        }
        if (covered >= end)
                return 0;

        /* the hole runs to the next VMA or to the end of the range, whichever comes first */
        uint64_t hole_end = end;
        for (size_t i = 0; i < n; i++)
                if (v[i].start > covered) {
                        hole_end = MIN(v[i].start, end);
                        break;
                }
        return sd_bus_error_set_errnof(ret_error, EFAULT,
                                       "the range is not (entirely) mapped: nothing at 0x%" PRIx64
                                       "-0x%" PRIx64,
                                       covered, hole_end);
}

/* ---- names (pure) ---- */

VmaNameKind vma_name_kind(const char *name, size_t len) {
        static const char heap[] = "[heap]", stack[] = "[stack]", anon[] = "[anon:";

        if (len == 0)
                return VMA_NAME_NONE;
        if (len == strlen(heap) && memcmp(name, heap, len) == 0)
                return VMA_NAME_HEAP;
        if (len == strlen(stack) && memcmp(name, stack, len) == 0)
                return VMA_NAME_STACK;
        if (len > strlen(anon) && memcmp(name, anon, strlen(anon)) == 0 && name[len - 1] == ']')
                return VMA_NAME_ANON;
        return VMA_NAME_OTHER;
}

/* ---- /proc/PID/maps lines (pure) ---- */

int vma_parse_maps_line(const char *line, VmaInfo *ret, const char **ret_name) {
        uint64_t start, end, offset, inode;
        unsigned major, minor;
        char perms[5] = {};
        const char *name;
        size_t len;
        int n = -1;

        /* The kernel prints "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu " and then, padded with
         * spaces to a column, the name, which may contain spaces (a newline in it is escaped as
         * "\012"): the name is the rest of the line. */
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4c %" SCNx64 " %x:%x %" SCNu64 "%n", &start,
                   &end, perms, &offset, &major, &minor, &inode, &n) < 7 ||
            n < 0)
                return -EINVAL;
        if (start >= end || !strchr("r-", perms[0]) || !strchr("w-", perms[1]) ||
            !strchr("x-", perms[2]) || !strchr("ps", perms[3]) || perms[0] == '\0' ||
            perms[1] == '\0' || perms[2] == '\0' || perms[3] == '\0')
                return -EINVAL;
        name = line + n;
        if (*name != '\0' && *name != '\n' && *name != ' ')
                return -EINVAL; /* junk glued to the inode number */
        name += strspn(name, " ");
        len = strcspn(name, "\n");

        *ret = (VmaInfo){
                .start = start,
                .end = end,
                .perms = (perms[0] == 'r' ? VMA_PERM_READ : 0) |
                        (perms[1] == 'w' ? VMA_PERM_WRITE : 0) |
                        (perms[2] == 'x' ? VMA_PERM_EXEC : 0) |
                        (perms[3] == 's' ? VMA_PERM_SHARED : 0),
                .page_size = 0,
                .inode = inode,
                .dev_major = major,
                .dev_minor = minor,
        };
        if (ret_name)
                *ret_name = name;
        return (int) MIN(len, (size_t) INT_MAX);
}

/* ---- readers (I/O) ---- */

int vma_query_range(int maps_fd, uint64_t start, uint64_t end, VmaVec *out) {
        return vma_query_range_max(maps_fd, start, end, 0, out);
}

static int query_one(int maps_fd, uint64_t addr, char *name, size_t name_size,
                     struct procmap_query *q) {
        *q = (struct procmap_query){
                .size = sizeof *q,
                .query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
                .query_addr = addr,
                .vma_name_addr = name ? (uint64_t) (uintptr_t) name : 0,
                .vma_name_size = name ? (uint32_t) name_size : 0,
        };
        return ioctl(maps_fd, PROCMAP_QUERY, q) < 0 ? -errno : 0;
}

static int query_range(int maps_fd, uint64_t start, uint64_t end, size_t max_vmas, bool named,
                       VmaVec *out) {
        size_t saved_n = out->n;
        uint64_t addr = start;
        /* a file's path can be PATH_MAX long, " (deleted)" added; only anonymous VMAs' names
         * matter, and a longer one is retried without the name */
        char name[PATH_MAX + 64];
        int r;

        while (addr < end && (max_vmas == 0 || out->n - saved_n < max_vmas)) {
                struct procmap_query q;
                bool name_unknown = false;
                VmaInfo v;

                r = query_one(maps_fd, addr, named ? name : NULL, sizeof name, &q);
                if (r == -ENAMETOOLONG && named) {
                        name_unknown = true;
                        r = query_one(maps_fd, addr, NULL, 0, &q);
                }
                if (r == -ENOENT)
                        break; /* no VMA at or after addr */
                if (r < 0)
                        goto fail;
                if (q.vma_start >= end)
                        break;
                if (q.vma_end <= addr || q.vma_start >= q.vma_end) {
                        r = -EIO; /* the kernel went backwards: never loop forever */
                        goto fail;
                }
                v = (VmaInfo){
                        .start = q.vma_start,
                        .end = q.vma_end,
                        .perms = (uint32_t) (q.vma_flags &
                                             (VMA_PERM_READ | VMA_PERM_WRITE | VMA_PERM_EXEC |
                                              VMA_PERM_SHARED)),
                        .page_size = q.vma_page_size,
                        .inode = q.inode,
                        .dev_major = q.dev_major,
                        .dev_minor = q.dev_minor,
                };
                if (name_unknown)
                        v.name_kind = VMA_NAME_OTHER;
                else if (named && q.vma_name_size > 0)
                        /* vma_name_size counts the terminating NUL */
                        v.name_kind = (uint8_t) vma_name_kind(name, q.vma_name_size - 1);
                r = vma_vec_append(out, &v);
                if (r < 0)
                        goto fail;
                addr = q.vma_end;
        }
        return 0;
fail:
        out->n = saved_n;
        return r;
}

int vma_query_range_max(int maps_fd, uint64_t start, uint64_t end, size_t max_vmas, VmaVec *out) {
        return query_range(maps_fd, start, end, max_vmas, false, out);
}

int vma_query_range_named(int maps_fd, uint64_t start, uint64_t end, size_t max_vmas, VmaVec *out) {
        return query_range(maps_fd, start, end, max_vmas, true, out);
}

int vma_read_maps_range(FILE *maps, uint64_t start, uint64_t end, VmaVec *out) {
        return vma_read_maps_range_max(maps, start, end, 0, out);
}

int vma_read_maps_range_max(FILE *maps, uint64_t start, uint64_t end, size_t max_vmas,
                            VmaVec *out) {
        _cleanup_free_ char *line = NULL;
        size_t saved_n = out->n, allocated = 0;
        ssize_t l;
        int r;

        errno = 0;
        while ((l = getline(&line, &allocated, maps)) >= 0) {
                const char *name;
                VmaInfo v;

                r = vma_parse_maps_line(line, &v, &name);
                if (r < 0)
                        goto fail;
                v.name_kind = (uint8_t) vma_name_kind(name, (size_t) r);
                if (v.end <= start)
                        continue;
                if (v.start >= end)
                        return 0; /* ascending: the rest of the file is beyond the range */
                r = vma_vec_append(out, &v);
                if (r < 0)
                        goto fail;
                if (v.end >= end)
                        return 0; /* covers the end: no need to read the next line */
                if (max_vmas > 0 && out->n - saved_n >= max_vmas)
                        return 0; /* the bound: the caller checks up to here */
        }
        if (ferror(maps)) {
                r = errno > 0 ? -errno : -EIO;
                goto fail;
        }
        return 0;
fail:
        out->n = saved_n;
        return r;
}

static void log_vmas(pid_t pid, const VmaVec *v, uint64_t start, uint64_t end) {
        if (log_get_max_level() < LOG_DEBUG)
                return;
        for (size_t i = 0; i < v->n; i++)
                log_debug("pid %d: 0x%" PRIx64 "-0x%" PRIx64 " overlaps 0x%" PRIx64 "-0x%" PRIx64
                          ": perms %c%c%c%c page size %" PRIu64 " dev %02x:%02x inode %" PRIu64,
                          (int) pid, v->vmas[i].start, v->vmas[i].end, start, end,
                          v->vmas[i].perms & VMA_PERM_READ ? 'r' : '-',
                          v->vmas[i].perms & VMA_PERM_WRITE ? 'w' : '-',
                          v->vmas[i].perms & VMA_PERM_EXEC ? 'x' : '-',
                          v->vmas[i].perms & VMA_PERM_SHARED ? 's' : 'p', v->vmas[i].page_size,
                          v->vmas[i].dev_major, v->vmas[i].dev_minor, v->vmas[i].inode);
}

int vma_check_range(const char *proc_root, pid_t pid, uint64_t start, uint64_t end, size_t max_vmas,
                    uint64_t *ret_end, sd_bus_error *ret_error) {
        _cleanup_(vma_vec_done) VmaVec v = {};
        _cleanup_close_ int fd = -EBADF;
        char path[PATH_MAX];
        int r;

        if (start >= end)
                return sd_bus_error_set_errnof(ret_error, EINVAL,
                                               "empty range 0x%" PRIx64 "-0x%" PRIx64, start, end);

        snprintf(path, sizeof path, "%s/%d/maps", proc_root, (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                r = errno == ENOENT ? ESRCH : errno;
                return sd_bus_error_set_errnof(ret_error, r,
                                               "cannot read the memory map of pid %d: %s",
                                               (int) pid, strerror(r));
        }

        r = vma_query_range_max(fd, start, end, max_vmas, &v);
        if (r == -ENOTTY || r == -EINVAL) {
                /* No PROCMAP_QUERY (before 6.11, or not a proc file): stream the maps file, which
                 * is still cheap (no page table walk), under the same bound. */
                _cleanup_fclose_ FILE *f = fdopen(fd, "re");
                if (!f)
                        r = -errno;
                else {
                        TAKE_FD(fd);
                        r = vma_read_maps_range_max(f, start, end, max_vmas, &v);
                }
        }
        /* the VMAs stopped short of end: check up to where they were read */
        if (r >= 0 && max_vmas > 0 && v.n == max_vmas && v.vmas[v.n - 1].end < end)
                end = MAX(v.vmas[v.n - 1].end, start + page_size());
        if (r < 0) {
                r = r == -ENOENT ? -ESRCH : r;
                return sd_bus_error_set_errnof(ret_error, -r,
                                               "cannot read the memory map of pid %d: %s",
                                               (int) pid, strerror(-r));
        }

        r = vma_check_list(v.vmas, v.n, start, end, ret_error);
        if (r < 0) {
                log_debug_errno(r, "pid %d: refusing 0x%" PRIx64 "-0x%" PRIx64 ": %m", (int) pid,
                                start, end);
                log_vmas(pid, &v, start, end);
                return r;
        }
        if (ret_end)
                *ret_end = end;
        return r;
}

/* ---- the registration proof ---- */

int vma_range_is_registered(const KernelOps *ops, int pagemap_fd, uint64_t start, uint64_t end,
                            uint64_t register_mode) {
        _cleanup_(page_region_vec_done) PageRegionVec v = {};
        uint64_t seen = 0, total;
        int r;

        if (start >= end || !IS_ALIGNED(start, page_size()) || !IS_ALIGNED(end, page_size()))
                return -EINVAL;

        if (register_mode == UFFDIO_REGISTER_MODE_WP) {
                /* A VMA-level category: every page of a wp-async VMA has it, populated or not, so
                 * it covers the whole range exactly when the whole range is registered. */
                r = pagemap_scan_range(ops, pagemap_fd, start, end, 0, PAGE_IS_WPALLOWED, 0,
                                       PAGE_IS_WPALLOWED, 0, &v);
                if (r < 0)
                        return r;
                total = end - start;
                seen = page_region_vec_bytes(&v);
        } else if (register_mode == UFFDIO_REGISTER_MODE_RWP) {
                /* Populated pages only; ACCESSED among them marks an unprotected RWP page. A
                 * pre-7.3 kernel rejects the unknown category with EINVAL. */
                r = pagemap_scan_range(ops, pagemap_fd, start, end, 0, 0,
                                       PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
                                       PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_ACCESSED, 0, &v);
                if (r < 0)
                        return r;
                total = page_region_vec_bytes(&v);
                if (total == 0)
                        return -ENODATA;
                for (size_t i = 0; i < v.n; i++)
                        if (v.regions[i].categories & PAGE_IS_ACCESSED)
                                seen += v.regions[i].end - v.regions[i].start;
        } else
                return -EINVAL;

        /* pagemap_scan_range() keeps regions inside [start, end) and disjoint: seen <= total */
        if (seen == 0)
                return VMA_REGISTERED_NONE;
        return seen >= total ? VMA_REGISTERED_ALL : VMA_REGISTERED_PART;
}

/* Whether page p reads as seen through the registration of mode: WRITTEN (wp-async: the uffd-wp
 * bit clear) or ACCESSED (rwp: not protected). 1 seen, 0 not, -ENXIO not populated any more. */
static int page_seen(const KernelOps *ops, int pagemap_fd, uint64_t p, uint64_t mode) {
        _cleanup_(page_region_vec_done) PageRegionVec v = {};
        uint64_t seen = mode == UFFDIO_REGISTER_MODE_RWP ? PAGE_IS_ACCESSED : PAGE_IS_WRITTEN;
        int r;

        r = pagemap_scan_range(ops, pagemap_fd, p, p + page_size(), 0, 0,
                               PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
                               PAGE_IS_PRESENT | PAGE_IS_SWAPPED | seen, 0, &v);
        if (r < 0)
                return r;
        if (v.n == 0)
                return -ENXIO;
        return !!(v.regions[0].categories & seen);
}

static int uffd_protect(const KernelOps *ops, int uffd, uint64_t p, uint64_t mode, bool protect) {
        if (mode == UFFDIO_REGISTER_MODE_RWP)
                return ops->rwprotect(uffd, p, page_size(), protect, false);
        return ops->writeprotect(uffd, p, page_size(), protect);
}

int vma_uffd_pairs(const KernelOps *ops, int uffd, int pagemap_fd, uint64_t start, uint64_t end,
                   uint64_t mode) {
        _cleanup_(page_region_vec_done) PageRegionVec v = {};
        bool rwp = mode == UFFDIO_REGISTER_MODE_RWP;
        uint64_t p;
        int r;

        if (start >= end || !IS_ALIGNED(start, page_size()) || !IS_ALIGNED(end, page_size()) ||
            (mode != UFFDIO_REGISTER_MODE_WP && !rwp))
                return -EINVAL;
        /* a present page: in wp-async ranges SWAPPED also means a PTE marker (pagemap.h) */
        r = pagemap_scan_range(ops, pagemap_fd, start, end, 0, PAGE_IS_PRESENT, 0, PAGE_IS_PRESENT,
                               1, &v);
        if (r < 0)
                return r;
        if (v.n == 0)
                return -ENODATA;
        p = v.regions[0].start;

        /* Two changes in opposite directions, each seen here: the process itself can make a
         * page read as seen (by touching it) or not (by dropping it), but not both on cue. */
        for (int step = 0; step < 2; step++) {
                /* wp-async: unprotect, then protect; rwp: protect, then unprotect (the page
                 * ends unprotected, as the rest of the proof left it) */
                bool protect = rwp ? step == 0 : step == 1;

                r = uffd_protect(ops, uffd, p, mode, protect);
                if (r == -ENOENT) /* nothing registered there in that uffd's address space */
                        return 0;
                if (r < 0)
                        return r;
                r = page_seen(ops, pagemap_fd, p, mode);
                if (r == -ENXIO)
                        return 0;
                if (r < 0)
                        return r;
                if (r == protect) /* seen while protected, or not seen while unprotected */
                        return 0;
        }
        return 1;
}

/* ---- a whole layout, in slices ---- */

int vma_walk_open(const char *proc_root, pid_t pid, VmaWalk *ret) {
        char path[PATH_MAX];
        int fd;

        snprintf(path, sizeof path, "%s/%d/maps", proc_root, (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        *ret = (VmaWalk){ .fd = fd };
        return 0;
}

int vma_walk_step(VmaWalk *w, size_t max_vmas, VmaVec *out) {
        /* the top of any address space: PROCMAP_QUERY takes any address below it */
        const uint64_t top = UINT64_MAX & ~((uint64_t) page_size() - 1);
        size_t before = out->n;
        int r;

        if (w->done)
                return 0;
        if (!w->stream) {
                r = vma_query_range_named(w->fd, w->cursor, top, max_vmas, out);
                if (r >= 0) {
                        if (out->n == before || (max_vmas > 0 && out->n - before < max_vmas)) {
                                w->done = true;
                                return 0;
                        }
                        w->cursor = out->vmas[out->n - 1].end;
                        return 1;
                }
                if ((r != -ENOTTY && r != -EINVAL) || w->cursor != 0)
                        return r == -ENOENT ? -ESRCH : r;
                /* No PROCMAP_QUERY (before 6.11, or not a proc file): stream the maps file. */
                w->stream = fdopen(w->fd, "re");
                if (!w->stream)
                        return -errno;
                w->fd = -EBADF;
        }
        /* The maps file is read once, whole, in the first step: its lines are cheap (no page
         * table walk), and a second read(2) would start from the next page of text, which may
         * have shifted meanwhile. */
        r = vma_read_maps_range(w->stream, 0, top, out);
        if (r < 0)
                return r;
        w->done = true;
        return 0;
}

void vma_walk_done(VmaWalk *w) {
        if (w->stream)
                fclose(w->stream);
        else
                safe_close(w->fd);
        *w = (VmaWalk){ .fd = -EBADF };
}
