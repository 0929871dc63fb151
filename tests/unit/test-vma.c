/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vma.c: the pure range checker on tables, the maps-line parser on fixtures, the PROCMAP_QUERY
 * reader and the maps fallback against this process's own memory, vma_check_range() on a fake
 * proc root, and the registration proof: on the real kernel with userfaultfds of this process and
 * of a child (needs root and 6.7+: skipped otherwise), and through a scripted KernelOps for what
 * the kernel will not produce here (RWP categories, errors). */

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "pagemap.h"
#include "test.h"
#include "uapi.h"
#include "uffd.h"
#include "vma.h"

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define RW (VMA_PERM_READ | VMA_PERM_WRITE)

static uint64_t ptr_u64(const void *p) {
        return (uint64_t) (uintptr_t) p;
}

/* vma_check_list() with its message; checks that errno and message agree. */
static int check(const VmaInfo *v, size_t n, uint64_t start, uint64_t end, char *msg, size_t len) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = vma_check_list(v, n, start, end, &e);

        if (r < 0) {
                ASSERT_TRUE(sd_bus_error_is_set(&e));
                ASSERT_EQ(sd_bus_error_get_errno(&e), -r);
                ASSERT_TRUE(e.message != NULL);
                snprintf(msg, len, "%s", e.message);
        } else {
                ASSERT_FALSE(sd_bus_error_is_set(&e));
                msg[0] = '\0';
        }
        return r;
}

/* ---- UAPI ---- */

TEST(procmap_query_abi) {
        /* linux/fs.h (6.11): 104 bytes, _IOWR('f', 17, ...) */
        ASSERT_EQ(sizeof(struct procmap_query), 104);
        ASSERT_U64_EQ(PROCMAP_QUERY, 0xC0686611);
        ASSERT_EQ(offsetof(struct procmap_query, vma_page_size), 48);
        ASSERT_EQ(offsetof(struct procmap_query, inode), 64);
        ASSERT_EQ(offsetof(struct procmap_query, dev_major), 72);
        ASSERT_EQ(offsetof(struct procmap_query, vma_name_addr), 88);
        ASSERT_EQ(PROCMAP_QUERY_VMA_READABLE, VMA_PERM_READ);
        ASSERT_EQ(PROCMAP_QUERY_VMA_WRITABLE, VMA_PERM_WRITE);
        ASSERT_EQ(PROCMAP_QUERY_VMA_EXECUTABLE, VMA_PERM_EXEC);
        ASSERT_EQ(PROCMAP_QUERY_VMA_SHARED, VMA_PERM_SHARED);
        ASSERT_EQ(PROCMAP_QUERY_COVERING_OR_NEXT_VMA, 0x10);
}

/* ---- the pure checker ---- */

TEST(check_list_ok) {
        const uint64_t ps = page_size();
        const VmaInfo v[] = {
                { 0x10000, 0x20000, RW, ps, 0, 0, 0, 0 },
                { 0x20000, 0x30000, VMA_PERM_READ, ps, 0, 0, 0, 0 }, /* read-only is fine */
                { 0x30000, 0x40000, RW, 0, 0, 0, 0, 0 }, /* page size unknown (maps) */
                { 0x50000, 0x60000, RW, ps, 0, 0, 0, 0 },
        };
        char msg[256];

        /* exact fit across three VMAs */
        ASSERT_OK(check(v, ELEMENTSOF(v), 0x10000, 0x40000, msg, sizeof msg));
        /* starting and ending inside VMAs */
        ASSERT_OK(check(v, ELEMENTSOF(v), 0x18000, 0x31000, msg, sizeof msg));
        ASSERT_OK(check(v, ELEMENTSOF(v), 0x51000, 0x52000, msg, sizeof msg));
        /* VMAs outside the range do not matter, even bad ones */
        const VmaInfo bad_around[] = {
                { 0x0f000, 0x10000, 0, ps, 0, 0, 0, 0 },
                { 0x10000, 0x20000, RW, ps, 0, 0, 0, 0 },
                { 0x20000, 0x30000, RW | VMA_PERM_SHARED, ps, 7, 8, 1, 0 },
        };
        ASSERT_OK(check(bad_around, ELEMENTSOF(bad_around), 0x10000, 0x20000, msg, sizeof msg));
        /* empty */
        ASSERT_ERROR(check(v, ELEMENTSOF(v), 0x10000, 0x10000, msg, sizeof msg), EINVAL);
}

TEST(check_list_holes) {
        const uint64_t ps = page_size();
        const VmaInfo v[] = {
                { 0x10000, 0x20000, RW, ps, 0, 0, 0, 0 },
                { 0x30000, 0x40000, RW, ps, 0, 0, 0, 0 },
                { 0x90000, 0xa0000, RW, ps, 0, 0, 0, 0 },
        };
        char msg[256];

        /* a hole between two VMAs: the message names it, not the VMAs */
        ASSERT_ERROR(check(v, ELEMENTSOF(v), 0x18000, 0x38000, msg, sizeof msg), EFAULT);
        ASSERT_STREQ(msg, "the range is not (entirely) mapped: nothing at 0x20000-0x30000");
        /* a hole at the start */
        ASSERT_ERROR(check(v, ELEMENTSOF(v), 0x08000, 0x18000, msg, sizeof msg), EFAULT);
        ASSERT_STREQ(msg, "the range is not (entirely) mapped: nothing at 0x8000-0x10000");
        /* at the end: the next VMA (0x90000) lies beyond the range and is not named */
        ASSERT_ERROR(check(v, ELEMENTSOF(v), 0x38000, 0x48000, msg, sizeof msg), EFAULT);
        ASSERT_STREQ(msg, "the range is not (entirely) mapped: nothing at 0x40000-0x48000");
        /* nothing at all */
        ASSERT_ERROR(check(NULL, 0, 0x38000, 0x48000, msg, sizeof msg), EFAULT);
        ASSERT_STREQ(msg, "the range is not (entirely) mapped: nothing at 0x38000-0x48000");
        ASSERT_ERROR(check(v, ELEMENTSOF(v), 0x50000, 0x60000, msg, sizeof msg), EFAULT);
        ASSERT_STREQ(msg, "the range is not (entirely) mapped: nothing at 0x50000-0x60000");
        /* without a message */
        ASSERT_ERROR(vma_check_list(v, ELEMENTSOF(v), 0x18000, 0x38000, NULL), EFAULT);
}

TEST(check_list_refusals) {
        const uint64_t ps = page_size();
        const VmaInfo v[] = {
                { 0x10000, 0x20000, RW, ps, 0, 0, 0, 0 },
                { 0x20000, 0x30000, 0, ps, 0, 0, 0, 0 }, /* PROT_NONE */
                { 0x30000, 0x40000, RW | VMA_PERM_SHARED, ps, 1234, 0, 1, 0 }, /* shared (shmem) */
                { 0x40000, 0x50000, RW, ps, 5678, 8, 3, 0 }, /* private file */
                { 0x50000, 0x60000, RW, 2 * MIB, 999, 0, 16, 0 }, /* hugetlb (private) */
                { 0x60000, 0x70000, RW | VMA_PERM_SHARED, 2 * MIB, 999, 0, 16, 0 },
                { 0x70000, 0x80000, VMA_PERM_EXEC, ps, 0, 0, 0, 0 }, /* exec-only: accessible */
        };
        char msg[256];

        ASSERT_ERROR(check(v, ELEMENTSOF(v), 0x18000, 0x28000, msg, sizeof msg), EACCES);
        /* clipped to the range: the VMA's own bounds (0x20000-0x30000) are not disclosed */
        ASSERT_STREQ(msg, "0x20000-0x28000 of the range is PROT_NONE, which cannot be registered");
        ASSERT_ERROR(check(v, ELEMENTSOF(v), 0x34000, 0x38000, msg, sizeof msg), EOPNOTSUPP);
        ASSERT_STREQ(
                msg,
                "0x34000-0x38000 of the range is a shared mapping, only private anonymous memory can be tiered");
        ASSERT_ERROR(check(v, ELEMENTSOF(v), 0x40000, 0x50000, msg, sizeof msg), EOPNOTSUPP);
        ASSERT_STREQ(
                msg,
                "0x40000-0x50000 of the range is file-backed, only anonymous memory can be tiered");
        ASSERT_TRUE(strstr(msg, "5678") == NULL);
        /* hugetlb is named as such although it also has an inode (and is shared, below) */
        ASSERT_ERROR(check(v, ELEMENTSOF(v), 0x50000, 0x51000, msg, sizeof msg), EOPNOTSUPP);
        ASSERT_STREQ(msg,
                     "0x50000-0x51000 of the range is hugetlb memory, which cannot be paged out");
        ASSERT_ERROR(check(v, ELEMENTSOF(v), 0x60000, 0x70000, msg, sizeof msg), EOPNOTSUPP);
        ASSERT_TRUE(strstr(msg, "hugetlb") != NULL);
        ASSERT_OK(check(v, ELEMENTSOF(v), 0x70000, 0x80000, msg, sizeof msg));
        /* the first problem in address order wins */
        ASSERT_ERROR(check(v, ELEMENTSOF(v), 0x10000, 0x80000, msg, sizeof msg), EACCES);
        ASSERT_ERROR(check(v, ELEMENTSOF(v), 0x30000, 0x80000, msg, sizeof msg), EOPNOTSUPP);
        ASSERT_STREQ(
                msg,
                "0x30000-0x40000 of the range is a shared mapping, only private anonymous memory can be tiered");
        /* a bad VMA after a hole: the hole comes first */
        const VmaInfo h[] = { { 0x10000, 0x20000, RW, ps, 0, 0, 0, 0 },
                              { 0x30000, 0x40000, 0, ps, 0, 0, 0, 0 } };
        ASSERT_ERROR(check(h, ELEMENTSOF(h), 0x10000, 0x40000, msg, sizeof msg), EFAULT);
}

/* ---- the maps parser ---- */

TEST(parse_maps_lines) {
        const char *name;
        VmaInfo v;
        int n;

        n = vma_parse_maps_line("7f0a1c000000-7f0a1c021000 rw-p 00000000 00:00 0 \n", &v, &name);
        ASSERT_EQ(n, 0);
        ASSERT_U64_EQ(v.start, 0x7f0a1c000000);
        ASSERT_U64_EQ(v.end, 0x7f0a1c021000);
        ASSERT_EQ(v.perms, RW);
        ASSERT_U64_EQ(v.inode, 0);
        ASSERT_U64_EQ(v.page_size, 0);

        /* no trailing space, no newline */
        ASSERT_EQ(vma_parse_maps_line("10000-20000 ---p 00000000 00:00 0", &v, &name), 0);
        ASSERT_EQ(v.perms, 0);

        n = vma_parse_maps_line(
                "55d0c8a4e000-55d0c8a6f000 rw-p 00000000 00:00 0                          [heap]\n",
                &v, &name);
        ASSERT_EQ(n, 6);
        ASSERT_TRUE(strncmp(name, "[heap]", 6) == 0);

        n = vma_parse_maps_line(
                "7ffd3b5e0000-7ffd3b601000 rw-p 00000000 00:00 0                          [stack]\n",
                &v, &name);
        ASSERT_EQ(n, 7);
        ASSERT_TRUE(strncmp(name, "[stack]", 7) == 0);

        /* a file with spaces in its name, deleted, mapped shared and executable */
        const char *del =
                "7f0a1d000000-7f0a1d200000 r-xs 00001000 fd:01 1311042                    /tmp/my file (1).bin (deleted)\n";
        n = vma_parse_maps_line(del, &v, &name);
        ASSERT_EQ(n, (int) strlen("/tmp/my file (1).bin (deleted)"));
        ASSERT_TRUE(strncmp(name, "/tmp/my file (1).bin (deleted)", (size_t) n) == 0);
        ASSERT_EQ(v.perms, VMA_PERM_READ | VMA_PERM_EXEC | VMA_PERM_SHARED);
        ASSERT_U64_EQ(v.inode, 1311042);
        ASSERT_EQ(v.dev_major, 0xfd);
        ASSERT_EQ(v.dev_minor, 1);

        /* MAP_SHARED|MAP_ANONYMOUS is a shmem file: "/dev/zero (deleted)", inode != 0 */
        ASSERT_OK(vma_parse_maps_line(
                "7f0a1e000000-7f0a1e100000 rw-s 00000000 00:01 2050 /dev/zero (deleted)", &v,
                NULL));
        ASSERT_EQ(v.perms, RW | VMA_PERM_SHARED);
        ASSERT_U64_EQ(v.inode, 2050);

        /* malformed */
        ASSERT_ERROR(vma_parse_maps_line("", &v, &name), EINVAL);
        ASSERT_ERROR(vma_parse_maps_line("Size:   4 kB\n", &v, &name), EINVAL);
        ASSERT_ERROR(vma_parse_maps_line("20000-10000 rw-p 00000000 00:00 0\n", &v, &name), EINVAL);
        ASSERT_ERROR(vma_parse_maps_line("10000-20000 rw-q 00000000 00:00 0\n", &v, &name), EINVAL);
        ASSERT_ERROR(vma_parse_maps_line("10000-20000 rwp 00000000 00:00 0\n", &v, &name), EINVAL);
        ASSERT_ERROR(vma_parse_maps_line("10000-20000 rw-p 00000000 00:00\n", &v, &name), EINVAL);
        ASSERT_ERROR(vma_parse_maps_line("10000-20000 rw-p 00000000 00:00 0x\n", &v, &name),
                     EINVAL);
}

static const char maps_fixture[] =
        "00400000-00401000 r--p 00000000 fd:01 100 /usr/bin/my prog\n"
        "00401000-00402000 r-xp 00001000 fd:01 100 /usr/bin/my prog\n"
        "01000000-01021000 rw-p 00000000 00:00 0                                  [heap]\n"
        "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
        "7f0000100000-7f0000101000 ---p 00000000 00:00 0 \n"
        "7f0000101000-7f0000200000 rw-p 00000000 00:00 0 \n"
        "7f0000300000-7f0000400000 rw-s 00000000 00:01 4242 /dev/zero (deleted)\n"
        "7f0000400000-7f0000500000 rw-p 00000000 fd:01 77 /var/lib/db/data file (deleted)\n"
        "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
        "this line is never read: the walk stops at the first VMA beyond the range\n";

static int read_fixture(const char *text, uint64_t start, uint64_t end, VmaVec *out) {
        _cleanup_fclose_ FILE *f = fmemopen((void *) text, strlen(text), "r");
        ASSERT_TRUE(f != NULL);
        return vma_read_maps_range(f, start, end, out);
}

TEST(read_maps_range_fixture) {
        _cleanup_(vma_vec_done) VmaVec v = {};

        ASSERT_OK(read_fixture(maps_fixture, 0x7f00000ff000, 0x7f0000301000, &v));
        ASSERT_EQ(v.n, 4);
        ASSERT_U64_EQ(v.vmas[0].start, 0x7f0000000000);
        ASSERT_EQ(v.vmas[1].perms, 0);
        ASSERT_U64_EQ(v.vmas[2].end, 0x7f0000200000);
        ASSERT_EQ(v.vmas[3].perms, RW | VMA_PERM_SHARED);
        ASSERT_U64_EQ(v.vmas[3].inode, 4242);

        /* a malformed line before the range end fails and leaves out as it was */
        ASSERT_ERROR(read_fixture(maps_fixture, 0x7ffd00000000, 0x7ffd10000000, &v), EINVAL);
        ASSERT_EQ(v.n, 4);
        /* the [stack] VMA ends the walk when the range ends before the junk line's VMA */
        vma_vec_done(&v);
        ASSERT_OK(read_fixture(maps_fixture, 0x7ffd00000000, 0x7ffd00001000, &v));
        ASSERT_EQ(v.n, 1);
        /* nothing in range */
        vma_vec_done(&v);
        ASSERT_OK(read_fixture(maps_fixture, 0x7f0000200000, 0x7f0000300000, &v));
        ASSERT_EQ(v.n, 0);
        ASSERT_ERROR(vma_check_list(v.vmas, v.n, 0x7f0000200000, 0x7f0000300000, NULL), EFAULT);
}

/* vma_check_range() on a fake proc root: the fixture is no proc file, PROCMAP_QUERY says ENOTTY,
 * and the streamed fallback is used. */
TEST(check_range_fake_proc_root) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        char root[] = "/tmp/test-vma.XXXXXX", dir[64], path[96];
        FILE *f;

        ASSERT_TRUE(mkdtemp(root) != NULL);
        snprintf(dir, sizeof dir, "%s/4242", root);
        ASSERT_OK(mkdir(dir, 0755));
        snprintf(path, sizeof path, "%s/maps", dir);
        f = fopen(path, "we");
        ASSERT_TRUE(f != NULL);
        fputs(maps_fixture, f);
        fclose(f);

        ASSERT_OK(vma_check_range(root, 4242, 0x7f0000000000, 0x7f0000100000, 0, NULL, &e));
        ASSERT_OK(vma_check_range(root, 4242, 0x01000000, 0x01021000, 0, NULL, &e));
        ASSERT_ERROR(vma_check_range(root, 4242, 0x7f00000ff000, 0x7f0000102000, 0, NULL, &e),
                     EACCES);
        ASSERT_EQ(sd_bus_error_get_errno(&e), EACCES);
        ASSERT_STREQ(
                e.message,
                "0x7f0000100000-0x7f0000101000 of the range is PROT_NONE, which cannot be registered");
        sd_bus_error_free(&e);
        ASSERT_ERROR(vma_check_range(root, 4242, 0x7f0000400000, 0x7f0000401000, 0, NULL, &e),
                     EOPNOTSUPP);
        /* no path, no inode in what the peer sees */
        ASSERT_TRUE(strstr(e.message, "/var") == NULL && strstr(e.message, "data file") == NULL);
        ASSERT_TRUE(strstr(e.message, "77") == NULL);
        sd_bus_error_free(&e);
        ASSERT_ERROR(vma_check_range(root, 4242, 0x7f0000200000, 0x7f0000300000, 0, NULL, &e),
                     EFAULT);
        sd_bus_error_free(&e);
        /* the per-piece VMA bound holds in the fallback too: the check ends where the last VMA
         * read ends, and what lies beyond is not read */
        {
                uint64_t checked = 0;
                _cleanup_(vma_vec_done) VmaVec v = {};

                ASSERT_OK(vma_check_range(root, 4242, 0x7f0000000000, 0x7f0000100000, 1, &checked,
                                          &e));
                ASSERT_U64_EQ(checked, 0x7f0000100000);
                /* PROT_NONE is the 2nd VMA of this range: with a bound of 1 it is not reached */
                ASSERT_OK(vma_check_range(root, 4242, 0x7f0000000000, 0x7f0000200000, 1, &checked,
                                          &e));
                ASSERT_U64_EQ(checked, 0x7f0000100000);
                ASSERT_ERROR(vma_check_range(root, 4242, 0x7f0000000000, 0x7f0000200000, 2,
                                             &checked, &e),
                             EACCES);
                sd_bus_error_free(&e);
                ASSERT_OK(read_fixture(maps_fixture, 0x400000, 0x7f0000400000, &v));
                ASSERT_EQ(v.n, 7);
                vma_vec_done(&v);
                {
                        _cleanup_fclose_ FILE *mf = fmemopen((void *) maps_fixture,
                                                             strlen(maps_fixture), "r");
                        ASSERT_OK(vma_read_maps_range_max(mf, 0x400000, 0x7f0000400000, 3, &v));
                        ASSERT_EQ(v.n, 3);
                        ASSERT_U64_EQ(v.vmas[2].end, 0x01021000);
                }
        }
        /* the process is gone */
        ASSERT_ERROR(vma_check_range(root, 4243, 0x7f0000000000, 0x7f0000100000, 0, NULL, &e),
                     ESRCH);
        ASSERT_EQ(sd_bus_error_get_errno(&e), ESRCH);

        ASSERT_OK(unlink(path));
        ASSERT_OK(rmdir(dir));
        ASSERT_OK(rmdir(root));
}

/* ---- the readers against this process's real memory ---- */

static void assert_same_vmas(const VmaVec *a, const VmaVec *b) {
        ASSERT_EQ(a->n, b->n);
        for (size_t i = 0; i < a->n; i++) {
                ASSERT_U64_EQ(a->vmas[i].start, b->vmas[i].start);
                ASSERT_U64_EQ(a->vmas[i].end, b->vmas[i].end);
                ASSERT_EQ(a->vmas[i].perms, b->vmas[i].perms);
                ASSERT_U64_EQ(a->vmas[i].inode, b->vmas[i].inode);
                ASSERT_EQ(a->vmas[i].dev_major, b->vmas[i].dev_major);
                ASSERT_EQ(a->vmas[i].dev_minor, b->vmas[i].dev_minor);
        }
}

static int open_self_maps(void) {
        int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        return fd;
}

/* Reads the VMAs of [start, end) both ways; *ret_have_query: PROCMAP_QUERY worked. */
static void read_both(uint64_t start, uint64_t end, VmaVec *q, VmaVec *m, bool *ret_have_query) {
        _cleanup_close_ int fd = open_self_maps();
        _cleanup_fclose_ FILE *f = NULL;
        int r;

        r = vma_query_range(fd, start, end, q);
        if (r == -ENOTTY || r == -EINVAL)
                *ret_have_query = false;
        else {
                ASSERT_OK(r);
                *ret_have_query = true;
        }
        f = fopen("/proc/self/maps", "re");
        ASSERT_TRUE(f != NULL);
        ASSERT_OK(vma_read_maps_range(f, start, end, m));
}

TEST(real_memory_both_readers) {
        _cleanup_(vma_vec_done) VmaVec q = {}, m = {};
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const uint64_t ps = page_size();
        bool have_query;
        uint8_t *p;

        /* 8 pages: rw | PROT_NONE | rw, then a hole past the end */
        p = mmap(NULL, 9 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(p != MAP_FAILED);
        ASSERT_OK(munmap(p + 8 * ps, ps));
        ASSERT_OK(mprotect(p + 3 * ps, ps, PROT_NONE));
        memset(p, 1, 3 * ps);

        read_both(ptr_u64(p), ptr_u64(p) + 8 * ps, &q, &m, &have_query);
        ASSERT_EQ(m.n, 3);
        ASSERT_U64_EQ(m.vmas[0].start, ptr_u64(p));
        ASSERT_U64_EQ(m.vmas[0].end, ptr_u64(p) + 3 * ps);
        ASSERT_EQ(m.vmas[1].perms, 0);
        ASSERT_U64_EQ(m.vmas[2].end, ptr_u64(p) + 8 * ps);
        ASSERT_EQ(m.vmas[2].perms, RW);
        if (have_query) {
                assert_same_vmas(&q, &m);
                for (size_t i = 0; i < q.n; i++)
                        ASSERT_U64_EQ(q.vmas[i].page_size, ps);
        } else
                printf("  # no PROCMAP_QUERY on this kernel (before 6.11): fallback only\n");

        /* a range starting inside a VMA yields that VMA whole (clipping is the checker's job) */
        vma_vec_done(&q);
        vma_vec_done(&m);
        read_both(ptr_u64(p) + ps, ptr_u64(p) + 2 * ps, &q, &m, &have_query);
        ASSERT_EQ(m.n, 1);
        ASSERT_U64_EQ(m.vmas[0].start, ptr_u64(p));
        if (have_query)
                assert_same_vmas(&q, &m);

        /* the whole check on our own pid */
        ASSERT_OK(vma_check_range("/proc", getpid(), ptr_u64(p), ptr_u64(p) + 3 * ps, 0, NULL, &e));
        ASSERT_OK(vma_check_range("/proc", getpid(), ptr_u64(p) + 4 * ps, ptr_u64(p) + 8 * ps, 0,
                                  NULL, &e));
        ASSERT_ERROR(
                vma_check_range("/proc", getpid(), ptr_u64(p), ptr_u64(p) + 8 * ps, 0, NULL, &e),
                EACCES);
        sd_bus_error_free(&e);
        ASSERT_ERROR(vma_check_range("/proc", getpid(), ptr_u64(p) + 4 * ps, ptr_u64(p) + 9 * ps, 0,
                                     NULL, &e),
                     EFAULT);
        sd_bus_error_free(&e);
        munmap(p, 8 * ps);
}

TEST(real_memory_refusals) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_close_ int memfd = -EBADF;
        const uint64_t ps = page_size();
        const pid_t self = getpid();
        uint8_t *sh, *file, *huge;

        sh = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(sh != MAP_FAILED);
        ASSERT_ERROR(vma_check_range("/proc", self, ptr_u64(sh), ptr_u64(sh) + 4 * ps, 0, NULL, &e),
                     EOPNOTSUPP);
        ASSERT_TRUE(strstr(e.message, "shared") != NULL);
        sd_bus_error_free(&e);

        memfd = (int) syscall(SYS_memfd_create, "test-vma secret name", MFD_CLOEXEC);
        ASSERT_TRUE(memfd >= 0);
        ASSERT_OK(ftruncate(memfd, 4 * ps));
        file = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, memfd, 0);
        ASSERT_TRUE(file != MAP_FAILED);
        ASSERT_ERROR(
                vma_check_range("/proc", self, ptr_u64(file), ptr_u64(file) + 4 * ps, 0, NULL, &e),
                EOPNOTSUPP);
        ASSERT_TRUE(strstr(e.message, "file-backed") != NULL);
        ASSERT_TRUE(strstr(e.message, "secret") == NULL);
        sd_bus_error_free(&e);

        /* hugetlb needs reserved huge pages; without them there is nothing to map */
        huge = mmap(NULL, 2 * MIB, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        if (huge != MAP_FAILED) {
                _cleanup_close_ int fd = open_self_maps();
                _cleanup_(vma_vec_done) VmaVec q = {};
                ASSERT_ERROR(vma_check_range("/proc", self, ptr_u64(huge), ptr_u64(huge) + 2 * MIB,
                                             0, NULL, &e),
                             EOPNOTSUPP);
                if (vma_query_range(fd, ptr_u64(huge), ptr_u64(huge) + 2 * MIB, &q) >= 0) {
                        ASSERT_EQ(q.n, 1);
                        ASSERT_U64_EQ(q.vmas[0].page_size, 2 * MIB);
                        ASSERT_TRUE(strstr(e.message, "hugetlb") != NULL);
                }
                sd_bus_error_free(&e);
                munmap(huge, 2 * MIB);
        } else
                printf("  # no huge pages reserved (vm.nr_hugepages): hugetlb case not checked here\n");

        munmap(sh, 4 * ps);
        munmap(file, 4 * ps);
}

/* ---- the registration proof: scripted PAGEMAP_SCAN ---- */

typedef struct FakeScan {
        int ret;
        struct page_region regions[4];
        uint64_t walk_end;
} FakeScan;

static FakeScan fake;
static struct pm_scan_arg fake_arg;
static unsigned fake_calls;

static int fake_pagemap_scan(int fd, struct pm_scan_arg *arg) {
        ASSERT_EQ(fd, 9);
        fake_calls++;
        fake_arg = *arg;
        if (fake.ret > 0)
                memcpy((void *) (uintptr_t) arg->vec, fake.regions,
                       fake.ret * sizeof(struct page_region));
        arg->walk_end = fake.walk_end;
        return fake.ret;
}

static const KernelOps fake_ops = { .pagemap_scan = fake_pagemap_scan };

static int fake_registered(uint64_t mode, FakeScan s) {
        fake = s;
        fake_calls = 0;
        return vma_range_is_registered(&fake_ops, 9, 0x100000, 0x110000, mode);
}

#define WPA PAGE_IS_WPALLOWED
#define PR PAGE_IS_PRESENT
#define SW PAGE_IS_SWAPPED
#define AC PAGE_IS_ACCESSED

TEST(inject_registered_wp) {
        /* whole range */
        ASSERT_EQ(fake_registered(UFFDIO_REGISTER_MODE_WP,
                                  (FakeScan){ 1, { { 0x100000, 0x110000, WPA } }, 0x110000 }),
                  VMA_REGISTERED_ALL);
        ASSERT_EQ(fake_calls, 1);
        ASSERT_U64_EQ(fake_arg.start, 0x100000);
        ASSERT_U64_EQ(fake_arg.end, 0x110000);
        ASSERT_U64_EQ(fake_arg.category_mask, WPA);
        ASSERT_U64_EQ(fake_arg.category_inverted, 0);
        ASSERT_U64_EQ(fake_arg.flags, 0);
        /* split in two regions that still cover it */
        ASSERT_EQ(fake_registered(
                          UFFDIO_REGISTER_MODE_WP,
                          (FakeScan){ 2,
                                      { { 0x100000, 0x104000, WPA }, { 0x104000, 0x110000, WPA } },
                                      0x110000 }),
                  VMA_REGISTERED_ALL);
        /* a hole (another VMA or none) in the middle */
        ASSERT_EQ(fake_registered(
                          UFFDIO_REGISTER_MODE_WP,
                          (FakeScan){ 2,
                                      { { 0x100000, 0x104000, WPA }, { 0x105000, 0x110000, WPA } },
                                      0x110000 }),
                  VMA_REGISTERED_PART);
        ASSERT_EQ(fake_registered(UFFDIO_REGISTER_MODE_WP, (FakeScan){ 0, {}, 0x110000 }),
                  VMA_REGISTERED_NONE);
        /* errors come back unchanged */
        ASSERT_ERROR(fake_registered(UFFDIO_REGISTER_MODE_WP, (FakeScan){ -ESRCH, {}, 0 }), ESRCH);
        ASSERT_ERROR(fake_registered(UFFDIO_REGISTER_MODE_WP, (FakeScan){ -ENOTTY, {}, 0 }),
                     ENOTTY);
        ASSERT_ERROR(fake_registered(UFFDIO_REGISTER_MODE_WP, (FakeScan){ -EPERM, {}, 0 }), EPERM);
        /* a kernel that makes no progress: -EIO, not a loop */
        ASSERT_ERROR(fake_registered(UFFDIO_REGISTER_MODE_WP, (FakeScan){ 0, {}, 0x100000 }), EIO);
        /* bad input never reaches the kernel */
        fake_calls = 0;
        ASSERT_ERROR(
                vma_range_is_registered(&fake_ops, 9, 0x100001, 0x110000, UFFDIO_REGISTER_MODE_WP),
                EINVAL);
        ASSERT_ERROR(
                vma_range_is_registered(&fake_ops, 9, 0x110000, 0x110000, UFFDIO_REGISTER_MODE_WP),
                EINVAL);
        ASSERT_ERROR(vma_range_is_registered(&fake_ops, 9, 0x100000, 0x110000,
                                             UFFDIO_REGISTER_MODE_MISSING),
                     EINVAL);
        ASSERT_EQ(fake_calls, 0);
}

TEST(inject_registered_rwp) {
        const uint64_t m = UFFDIO_REGISTER_MODE_RWP;

        /* every populated page accessed (unprotected RWP pages), the rest unpopulated */
        ASSERT_EQ(fake_registered(m,
                                  (FakeScan){ 2,
                                              { { 0x100000, 0x102000, PR | AC },
                                                { 0x108000, 0x109000, SW | AC } },
                                              0x110000 }),
                  VMA_REGISTERED_ALL);
        ASSERT_U64_EQ(fake_arg.category_mask, 0);
        ASSERT_U64_EQ(fake_arg.category_anyof_mask, PR | SW);
        ASSERT_TRUE(fake_arg.return_mask & AC);
        /* a populated page without ACCESSED: not (all) ours */
        ASSERT_EQ(fake_registered(m,
                                  (FakeScan){ 2,
                                              { { 0x100000, 0x102000, PR | AC },
                                                { 0x102000, 0x103000, PR } },
                                              0x110000 }),
                  VMA_REGISTERED_PART);
        ASSERT_EQ(fake_registered(m, (FakeScan){ 1, { { 0x100000, 0x110000, PR } }, 0x110000 }),
                  VMA_REGISTERED_NONE);
        /* nothing populated: nothing to see */
        ASSERT_ERROR(fake_registered(m, (FakeScan){ 0, {}, 0x110000 }), ENODATA);
        /* a kernel without PAGE_IS_ACCESSED rejects the category */
        ASSERT_ERROR(fake_registered(m, (FakeScan){ -EINVAL, {}, 0 }), EINVAL);
        ASSERT_ERROR(fake_registered(m, (FakeScan){ -ESRCH, {}, 0 }), ESRCH);
}

/* ---- the registration proof on the real kernel ---- */

static uint64_t wp_features(void) {
        return UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
}

static void require_uffd_wp_async(void) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t features = 0;
        int r;

        if (geteuid() != 0)
                SKIP("needs root (userfaultfd)");
        r = uffd_open(UFFD_DEVICE_PATH, false, &fd);
        if (r < 0)
                SKIP("no userfaultfd: %s", strerror(-r));
        r = kernel_ops_real.api(fd, 0, &features, NULL);
        if (r < 0)
                SKIP("UFFDIO_API failed: %s", strerror(-r));
        if ((features & wp_features()) != wp_features())
                SKIP("kernel lacks UFFD_FEATURE_WP_ASYNC/WP_UNPOPULATED (6.7+)");
}

static int wp_uffd(void) {
        int fd = -EBADF;
        ASSERT_OK(uffd_open(UFFD_DEVICE_PATH, false, &fd));
        ASSERT_OK(kernel_ops_real.api(fd, wp_features(), NULL, NULL));
        return fd;
}

static int self_registered(int pagemap_fd, const uint8_t *p, size_t len) {
        return vma_range_is_registered(&kernel_ops_real, pagemap_fd, ptr_u64(p), ptr_u64(p) + len,
                                       UFFDIO_REGISTER_MODE_WP);
}

/* ---- pairing a uffd with a process: two address spaces of one page each ---- */

static struct {
        bool wp[2], rwp[2]; /* the page's protection in mm 0 and mm 1 */
        bool present;
        int enoent;
} pair;

/* uffd 20 + k and pagemap fd 30 + k act on mm k */
static int pair_writeprotect(int uffd, uint64_t start, uint64_t len, bool protect) {
        if (pair.enoent)
                return -ENOENT;
        pair.wp[uffd - 20] = protect;
        return 0;
}

static int pair_rwprotect(int uffd, uint64_t start, uint64_t len, bool protect, bool dontwake) {
        if (pair.enoent)
                return -ENOENT;
        pair.rwp[uffd - 20] = protect;
        return 0;
}

static int pair_pagemap_scan(int fd, struct pm_scan_arg *arg) {
        int k = fd - 30;
        uint64_t cat = PAGE_IS_PRESENT | (pair.wp[k] ? 0 : PAGE_IS_WRITTEN) |
                (pair.rwp[k] ? 0 : PAGE_IS_ACCESSED);
        struct page_region *vec = (struct page_region *) (uintptr_t) arg->vec;

        arg->walk_end = arg->end;
        if (!pair.present || arg->start > 0x100000 || arg->end <= 0x100000)
                return 0;
        vec[0] = (struct page_region){ 0x100000, 0x100000 + page_size(), cat & arg->return_mask };
        return 1;
}

static const KernelOps pair_ops = {
        .writeprotect = pair_writeprotect,
        .rwprotect = pair_rwprotect,
        .pagemap_scan = pair_pagemap_scan,
};

TEST(inject_uffd_pairs) {
        const uint64_t wp = UFFDIO_REGISTER_MODE_WP, rwp = UFFDIO_REGISTER_MODE_RWP;
        const uint64_t a = 0x100000, b = 0x110000;

        pair = (typeof(pair)){ .present = true };
        /* each uffd pairs with its own address space only, whatever state the pages are in */
        ASSERT_EQ(vma_uffd_pairs(&pair_ops, 20, 30, a, b, wp), 1);
        ASSERT_TRUE(pair.wp[0]); /* left protected */
        ASSERT_EQ(vma_uffd_pairs(&pair_ops, 21, 30, a, b, wp), 0);
        pair.wp[0] = false; /* the process wrote the page */
        ASSERT_EQ(vma_uffd_pairs(&pair_ops, 21, 30, a, b, wp), 0);
        ASSERT_EQ(vma_uffd_pairs(&pair_ops, 21, 31, a, b, wp), 1);
        /* rwp: a page the sibling touched reads accessed, unprotected or not through our uffd */
        ASSERT_EQ(vma_uffd_pairs(&pair_ops, 20, 30, a, b, rwp), 1);
        ASSERT_FALSE(pair.rwp[0]); /* left unprotected */
        ASSERT_EQ(vma_uffd_pairs(&pair_ops, 21, 30, a, b, rwp), 0);
        ASSERT_EQ(vma_uffd_pairs(&pair_ops, 20, 31, a, b, rwp), 0);
        /* nothing registered through that uffd there; no page to try; bad input */
        pair.enoent = 1;
        ASSERT_EQ(vma_uffd_pairs(&pair_ops, 20, 30, a, b, wp), 0);
        pair.enoent = 0;
        pair.present = false;
        ASSERT_ERROR(vma_uffd_pairs(&pair_ops, 20, 30, a, b, wp), ENODATA);
        ASSERT_ERROR(vma_uffd_pairs(&pair_ops, 20, 30, a + 1, b, wp), EINVAL);
        ASSERT_ERROR(vma_uffd_pairs(&pair_ops, 20, 30, a, b, UFFDIO_REGISTER_MODE_MISSING), EINVAL);
}

TEST(real_registration_own_uffd) {
        _cleanup_close_ int uffd = -EBADF, other = -EBADF, pagemap_fd = -EBADF;
        const size_t ps = page_size(), len = 64 * ps;
        uint8_t *p;

        require_uffd_wp_async();
        pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(pagemap_fd >= 0);
        p = mmap(NULL, len + ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(p != MAP_FAILED);
        ASSERT_OK(munmap(p + len, ps)); /* a hole right after */
        memset(p, 1, len / 2); /* half populated: WPALLOWED must not care */

        ASSERT_EQ(self_registered(pagemap_fd, p, len), VMA_REGISTERED_NONE);
        uffd = wp_uffd();
        ASSERT_OK(kernel_ops_real.register_range(uffd, ptr_u64(p), len, UFFDIO_REGISTER_MODE_WP,
                                                 NULL));
        ASSERT_EQ(self_registered(pagemap_fd, p, len), VMA_REGISTERED_ALL);
        /* protected or not, populated or not */
        ASSERT_OK(kernel_ops_real.writeprotect(uffd, ptr_u64(p), len, true));
        ASSERT_EQ(self_registered(pagemap_fd, p, len), VMA_REGISTERED_ALL);
        /* a range that runs into the hole is not all registered */
        ASSERT_EQ(self_registered(pagemap_fd, p, len + ps), VMA_REGISTERED_PART);
        /* half unregistered */
        ASSERT_OK(kernel_ops_real.unregister_range(uffd, ptr_u64(p) + len / 2, len / 2));
        ASSERT_EQ(self_registered(pagemap_fd, p, len), VMA_REGISTERED_PART);
        ASSERT_EQ(self_registered(pagemap_fd, p + len / 2, len / 2), VMA_REGISTERED_NONE);
        ASSERT_OK(kernel_ops_real.unregister_range(uffd, ptr_u64(p), len / 2));
        ASSERT_EQ(self_registered(pagemap_fd, p, len), VMA_REGISTERED_NONE);

        /* registered MODE_WP on a uffd without WP_ASYNC, or MODE_MISSING: not WPALLOWED, so it
         * cannot fake the proof either */
        ASSERT_OK(uffd_open(UFFD_DEVICE_PATH, false, &other));
        ASSERT_OK(kernel_ops_real.api(other, 0, NULL, NULL));
        ASSERT_OK(kernel_ops_real.register_range(other, ptr_u64(p), len,
                                                 UFFDIO_REGISTER_MODE_MISSING, NULL));
        ASSERT_EQ(self_registered(pagemap_fd, p, len), VMA_REGISTERED_NONE);
        /* ... but our REGISTER then fails with EBUSY: the kernel refuses a second uffd */
        ASSERT_ERROR(kernel_ops_real.register_range(uffd, ptr_u64(p), len, UFFDIO_REGISTER_MODE_WP,
                                                    NULL),
                     EBUSY);
        munmap(p, len);
}

static int send_fd(int sock, int fd) {
        char cbuf[CMSG_SPACE(sizeof(int))] = {}, byte = 'x';
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int recv_fd(int sock) {
        char cbuf[CMSG_SPACE(sizeof(int))] = {}, byte;
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf
        };
        struct cmsghdr *c;
        int fd;

        if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
                return -EIO;
        c = CMSG_FIRSTHDR(&mh);
        if (!c || c->cmsg_type != SCM_RIGHTS)
                return -EIO;
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
        return fd;
}

TEST(real_registration_foreign_uffd) {
        _cleanup_close_ int foreign = -EBADF, own = -EBADF, pagemap_fd = -EBADF,
                            child_pagemap = -EBADF;
        const size_t ps = page_size(), len = 64 * ps;
        int sp[2], status;
        char path[64], c = 0;
        uint8_t *p;
        pid_t pid;

        require_uffd_wp_async();
        pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(pagemap_fd >= 0);
        /* mapped before the fork: the child has a VMA at the same address */
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(p != MAP_FAILED);
        memset(p, 1, len);
        ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                /* a uffd on the child's own mm, handed over uninitialised; stay alive */
                int fd;
                close(sp[0]);
                if (uffd_open(UFFD_DEVICE_PATH, false, &fd) < 0 || send_fd(sp[1], fd) < 0)
                        _exit(1);
                close(fd);
                (void) read(sp[1], &c, 1);
                _exit(0);
        }
        close(sp[1]);
        foreign = recv_fd(sp[0]);
        ASSERT_TRUE(foreign >= 0);

        /* The attack: we hold the child's uffd and register "our" range through it. It
         * succeeds, on the child's mm: our range reads as not registered, the child's as
         * registered. */
        ASSERT_OK(kernel_ops_real.api(foreign, wp_features(), NULL, NULL));
        ASSERT_EQ(self_registered(pagemap_fd, p, len), VMA_REGISTERED_NONE);
        ASSERT_OK(kernel_ops_real.register_range(foreign, ptr_u64(p), len, UFFDIO_REGISTER_MODE_WP,
                                                 NULL));
        ASSERT_EQ(self_registered(pagemap_fd, p, len), VMA_REGISTERED_NONE);
        snprintf(path, sizeof path, "/proc/%d/pagemap", (int) pid);
        child_pagemap = open(path, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(child_pagemap >= 0);
        ASSERT_EQ(self_registered(child_pagemap, p, len), VMA_REGISTERED_ALL);

        /* Pairing: a change through the child's uffd shows in the child's pagemap only */
        ASSERT_EQ(vma_uffd_pairs(&kernel_ops_real, foreign, child_pagemap, ptr_u64(p),
                                 ptr_u64(p) + len, UFFDIO_REGISTER_MODE_WP),
                  1);
        ASSERT_EQ(vma_uffd_pairs(&kernel_ops_real, foreign, pagemap_fd, ptr_u64(p),
                                 ptr_u64(p) + len, UFFDIO_REGISTER_MODE_WP),
                  0);

        /* Why the pre-check: with our range also registered on a uffd of our own, the proof
         * after REGISTER (through the foreign uffd) would pass. The pre-check sees it first. */
        own = wp_uffd();
        ASSERT_OK(kernel_ops_real.register_range(own, ptr_u64(p), len, UFFDIO_REGISTER_MODE_WP,
                                                 NULL));
        ASSERT_EQ(self_registered(pagemap_fd, p, len), VMA_REGISTERED_ALL);
        /* now both address spaces carry a registration at p, as two forked siblings do: the
         * pagemaps cannot tell the uffds apart, the pairing can */
        ASSERT_EQ(self_registered(child_pagemap, p, len), VMA_REGISTERED_ALL);
        ASSERT_EQ(vma_uffd_pairs(&kernel_ops_real, own, pagemap_fd, ptr_u64(p), ptr_u64(p) + len,
                                 UFFDIO_REGISTER_MODE_WP),
                  1);
        ASSERT_EQ(vma_uffd_pairs(&kernel_ops_real, own, child_pagemap, ptr_u64(p), ptr_u64(p) + len,
                                 UFFDIO_REGISTER_MODE_WP),
                  0);
        ASSERT_EQ(vma_uffd_pairs(&kernel_ops_real, foreign, pagemap_fd, ptr_u64(p),
                                 ptr_u64(p) + len, UFFDIO_REGISTER_MODE_WP),
                  0);
        ASSERT_EQ(vma_uffd_pairs(&kernel_ops_real, foreign, child_pagemap, ptr_u64(p),
                                 ptr_u64(p) + len, UFFDIO_REGISTER_MODE_WP),
                  1);

        ASSERT_EQ(write(sp[0], &c, 1), 1);
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        close(sp[0]);
        munmap(p, len);
}

/* The rwp backend's proof, on an RWP kernel (7.3+; skipped elsewhere, run in the guest by
 * tests/vm): what PAGEMAP_SCAN shows of an RWP registration. */
TEST(real_registration_rwp) {
        _cleanup_close_ int uffd = -EBADF, pagemap_fd = -EBADF;
        const uint64_t want = UFFD_FEATURE_RWP | UFFD_FEATURE_RWP_ASYNC;
        const uint64_t rwp = UFFDIO_REGISTER_MODE_RWP;
        const size_t ps = page_size(), len = 16 * ps;
        uint64_t features = 0;
        uint8_t *p, *q;

        if (geteuid() != 0)
                SKIP("needs root (userfaultfd)");
        if (uffd_open(UFFD_DEVICE_PATH, false, &uffd) < 0 ||
            kernel_ops_real.api(uffd, 0, &features, NULL) < 0 || (features & want) != want)
                SKIP("no userfaultfd read-write protection here (Linux 7.3+ with CONFIG_USERFAULTFD_RWP)");
        uffd = safe_close(uffd);
        pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(pagemap_fd >= 0);
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(p != MAP_FAILED && q != MAP_FAILED);
        (void) madvise(p, len, MADV_NOHUGEPAGE);
        memset(p, 1, len / 2);
        memset(q, 1, len);

#define RWP_REG(a, l) \
        vma_range_is_registered(&kernel_ops_real, pagemap_fd, ptr_u64(a), ptr_u64(a) + (l), rwp)
        ASSERT_EQ(RWP_REG(q, len), VMA_REGISTERED_NONE); /* populated, not registered */
        ASSERT_EQ(RWP_REG(p, len), VMA_REGISTERED_NONE);
        ASSERT_ERROR(RWP_REG(p + len / 2, len / 2), ENODATA); /* nothing populated */

        ASSERT_OK(uffd_open(UFFD_DEVICE_PATH, false, &uffd));
        ASSERT_OK(kernel_ops_real.api(uffd, want, NULL, NULL));
        ASSERT_OK(kernel_ops_real.register_range(uffd, ptr_u64(p), len, rwp, NULL));
        ASSERT_EQ(RWP_REG(p, len), VMA_REGISTERED_ALL); /* every populated page ACCESSED */
        ASSERT_ERROR(RWP_REG(p + len / 2, len / 2), ENODATA); /* registered, but nothing to see */
        /* never WPALLOWED: the wp-async proof says "not registered" */
        ASSERT_EQ(vma_range_is_registered(&kernel_ops_real, pagemap_fd, ptr_u64(p),
                                          ptr_u64(p) + len, UFFDIO_REGISTER_MODE_WP),
                  VMA_REGISTERED_NONE);
        /* once protected, the pages read as not accessed: the proof only works before arming */
        ASSERT_OK(kernel_ops_real.set_mode(uffd, UFFD_FEATURE_RWP_ASYNC, 0));
        ASSERT_OK(kernel_ops_real.rwprotect(uffd, ptr_u64(p), len, true, false));
        ASSERT_EQ(RWP_REG(p, len), VMA_REGISTERED_NONE);
        p[0] = 2; /* touched again (async): that page is accessed */
        ASSERT_EQ(RWP_REG(p, len), VMA_REGISTERED_PART);
#undef RWP_REG
        munmap(p, len);
        munmap(q, len);
}
