/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* follow.c: which VMAs a followed process has tracked, and the difference between a layout and
 * the tracked ranges, on tables; the layout walk (vma.c) against this process's own memory, by
 * PROCMAP_QUERY and through a fake proc root (the maps fallback). */

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "follow.h"
#include "macro.h"
#include "rangeset.h"
#include "test.h"
#include "vma.h"

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define RW (VMA_PERM_READ | VMA_PERM_WRITE)

static VmaInfo vma(uint64_t start, uint64_t end, uint32_t perms, uint64_t inode, uint8_t kind) {
        return (VmaInfo){
                .start = start, .end = end, .perms = perms, .inode = inode, .name_kind = kind
        };
}

TEST(name_kind) {
        ASSERT_EQ(vma_name_kind("", 0), VMA_NAME_NONE);
        ASSERT_EQ(vma_name_kind("[heap]", 6), VMA_NAME_HEAP);
        ASSERT_EQ(vma_name_kind("[stack]", 7), VMA_NAME_STACK);
        ASSERT_EQ(vma_name_kind("[anon:jemalloc]", 15), VMA_NAME_ANON);
        ASSERT_EQ(vma_name_kind("[anon:", 6), VMA_NAME_OTHER);
        ASSERT_EQ(vma_name_kind("[anon_shmem:x]", 14), VMA_NAME_OTHER);
        ASSERT_EQ(vma_name_kind("[vvar]", 6), VMA_NAME_OTHER);
        ASSERT_EQ(vma_name_kind("/usr/lib/libc.so.6", 18), VMA_NAME_OTHER);
        ASSERT_EQ(vma_name_kind("[heap] ", 6), VMA_NAME_HEAP); /* len counts */
}

TEST(eligible) {
        const uint64_t ps = page_size();
        VmaInfo v;

        v = vma(0x100000, 0x200000, RW, 0, VMA_NAME_NONE);
        ASSERT_TRUE(follow_vma_eligible(&v, NULL));
        v.name_kind = VMA_NAME_HEAP;
        ASSERT_TRUE(follow_vma_eligible(&v, NULL));
        v.name_kind = VMA_NAME_ANON;
        ASSERT_TRUE(follow_vma_eligible(&v, NULL));
        v.name_kind = VMA_NAME_STACK;
        ASSERT_FALSE(follow_vma_eligible(&v, NULL));
        v.name_kind = VMA_NAME_OTHER;
        ASSERT_FALSE(follow_vma_eligible(&v, NULL));

        v = vma(0x100000, 0x200000, VMA_PERM_READ, 0, VMA_NAME_NONE); /* read-only */
        ASSERT_FALSE(follow_vma_eligible(&v, NULL));
        v = vma(0x100000, 0x200000, 0, 0, VMA_NAME_NONE); /* PROT_NONE */
        ASSERT_FALSE(follow_vma_eligible(&v, NULL));
        v = vma(0x100000, 0x200000, RW | VMA_PERM_SHARED, 0, VMA_NAME_NONE);
        ASSERT_FALSE(follow_vma_eligible(&v, NULL));
        v = vma(0x100000, 0x200000, RW, 1234, VMA_NAME_OTHER); /* a file, shmem */
        ASSERT_FALSE(follow_vma_eligible(&v, NULL));
        v = vma(0x100000, 0x200000, RW, 1234, VMA_NAME_NONE);
        ASSERT_FALSE(follow_vma_eligible(&v, NULL));
        v = vma(0x200000, 0x400000, RW, 0, VMA_NAME_NONE);
        v.page_size = 2 * MIB; /* hugetlb */
        ASSERT_FALSE(follow_vma_eligible(&v, NULL));
        v.page_size = ps;
        ASSERT_TRUE(follow_vma_eligible(&v, NULL));

        /* a thread stack: right above a small PROT_NONE guard */
        VmaInfo guard = vma(0x1ff000, 0x200000, 0, 0, VMA_NAME_NONE);
        v = vma(0x200000, 0xa00000, RW, 0, VMA_NAME_NONE);
        ASSERT_FALSE(follow_vma_eligible(&v, &guard));
        /* not adjacent, or a large PROT_NONE reserve below: an ordinary mapping */
        guard = vma(0x1fe000, 0x1ff000, 0, 0, VMA_NAME_NONE);
        ASSERT_TRUE(follow_vma_eligible(&v, &guard));
        guard = vma(0x100000, 0x200000, 0, 0, VMA_NAME_NONE);
        ASSERT_TRUE(follow_vma_eligible(&v, &guard));
        /* an arena: PROT_NONE reserve above is no guard */
        VmaInfo below = vma(0x100000, 0x200000, RW, 0, VMA_NAME_NONE);
        ASSERT_TRUE(follow_vma_eligible(&v, &below));
}

static void expect_runs(const RunVec *v, const uint64_t (*want)[2], size_t n, int line) {
        if (v->n_runs != n)
                test_fail(__FILE__, line, "%zu runs, expected %zu", v->n_runs, n);
        for (size_t i = 0; i < n; i++)
                if (v->runs[i].start != want[i][0] || v->runs[i].end != want[i][1])
                        test_fail(__FILE__, line,
                                  "run %zu: %#" PRIx64 "-%#" PRIx64 ", expected %#" PRIx64
                                  "-%#" PRIx64,
                                  i, v->runs[i].start, v->runs[i].end, want[i][0], want[i][1]);
}
#define EXPECT_RUNS(v, ...)                                       \
        do {                                                      \
                const uint64_t _w_[][2] = { __VA_ARGS__ };        \
                expect_runs((v), _w_, ELEMENTSOF(_w_), __LINE__); \
        } while (0)
#define EXPECT_NO_RUNS(v) ASSERT_EQ((v)->n_runs, 0)

TEST(diff_new_process) {
        _cleanup_(range_set_done) RangeSet s = {};
        _cleanup_(run_vec_done) RunVec t = {}, u = {};
        const VmaInfo layout[] = {
                vma(0x400000, 0x401000, VMA_PERM_READ | VMA_PERM_EXEC, 77, VMA_NAME_OTHER),
                vma(0x600000, 0x601000, RW, 77, VMA_NAME_OTHER), /* .data: file */
                vma(0x1000000, 0x1200000, RW, 0, VMA_NAME_HEAP), /* 2 MiB heap */
                vma(0x7f0000000000, 0x7f0000010000, RW, 0, VMA_NAME_NONE), /* 64 KiB: small */
                vma(0x7f0000100000, 0x7f0000101000, 0, 0, VMA_NAME_NONE), /* guard */
                vma(0x7f0000101000, 0x7f0000901000, RW, 0, VMA_NAME_NONE), /* thread stack */
                vma(0x7f1000000000, 0x7f1004000000, RW, 0, VMA_NAME_NONE), /* 64 MiB arena */
                vma(0x7f1004000000, 0x7f1008000000, 0, 0, VMA_NAME_NONE), /* its reserve */
                vma(0x7ffc00000000, 0x7ffc00100000, RW, 0, VMA_NAME_STACK),
        };

        ASSERT_OK(range_set_init(&s, page_size()));
        ASSERT_OK(follow_diff(layout, ELEMENTSOF(layout), &s, 1 * MIB, NULL, &t, &u));
        EXPECT_RUNS(&t, { 0x1000000, 0x1200000 }, { 0x7f1000000000, 0x7f1004000000 });
        EXPECT_NO_RUNS(&u);

        /* min_bytes 0: the small mapping too, never the stacks */
        run_vec_clear(&t);
        ASSERT_OK(follow_diff(layout, ELEMENTSOF(layout), &s, 0, NULL, &t, &u));
        EXPECT_RUNS(&t, { 0x1000000, 0x1200000 }, { 0x7f0000000000, 0x7f0000010000 },
                    { 0x7f1000000000, 0x7f1004000000 });
}

TEST(diff_growth_and_gone) {
        _cleanup_(range_set_done) RangeSet s = {};
        _cleanup_(run_vec_done) RunVec t = {}, u = {}, skip = {};

        ASSERT_OK(range_set_init(&s, page_size()));
        ASSERT_OK(range_set_add(&s, 0x1000000, 0x1200000, 0)); /* the heap as first tracked */
        ASSERT_OK(range_set_add(&s, 0x5000000, 0x5400000, 0)); /* a mapping since made r/o */
        ASSERT_OK(range_set_add(&s, 0x6000000, 0x6400000, 0)); /* unmapped, no event seen */

        /* brk grew by 132 KiB twice (one new VMA: the two steps merged, ours did not) */
        const VmaInfo layout[] = {
                vma(0x1000000, 0x1200000, RW, 0, VMA_NAME_HEAP),
                vma(0x1200000, 0x1242000, RW, 0, VMA_NAME_HEAP),
                vma(0x5000000, 0x5200000, VMA_PERM_READ, 0, VMA_NAME_NONE),
                vma(0x5200000, 0x5400000, RW, 0, VMA_NAME_NONE),
                vma(0x7000000, 0x7080000, RW, 0, VMA_NAME_NONE), /* 512 KiB alone */
        };
        ASSERT_OK(follow_diff(layout, ELEMENTSOF(layout), &s, 1 * MIB, NULL, &t, &u));
        /* the growth is followed although it is far below min_bytes: its run is not */
        EXPECT_RUNS(&t, { 0x1200000, 0x1242000 });
        EXPECT_RUNS(&u, { 0x5000000, 0x5200000 }, { 0x6000000, 0x6400000 });

        /* refused before: skipped while the layout there stays */
        run_vec_clear(&t);
        run_vec_clear(&u);
        ASSERT_OK(run_vec_append(&skip, 0x1200000, 0x1242000, 0));
        ASSERT_OK(follow_diff(layout, ELEMENTSOF(layout), &s, 1 * MIB, &skip, &t, &u));
        EXPECT_NO_RUNS(&t);
        ASSERT_EQ(follow_prune_skip(layout, ELEMENTSOF(layout), &skip), 1);

        /* once the mapping there changed, the refusal is forgotten */
        const VmaInfo later[] = {
                vma(0x1000000, 0x1200000, RW, 0, VMA_NAME_HEAP),
        };
        ASSERT_EQ(follow_prune_skip(later, ELEMENTSOF(later), &skip), 0);
        EXPECT_NO_RUNS(&skip);
}

TEST(diff_partial_skip_and_holes) {
        _cleanup_(range_set_done) RangeSet s = {};
        _cleanup_(run_vec_done) RunVec t = {}, u = {}, skip = {};

        ASSERT_OK(range_set_init(&s, page_size()));
        ASSERT_OK(range_set_add(&s, 0x2000000, 0x2100000, 0));
        ASSERT_OK(range_set_add(&s, 0x2300000, 0x2400000, 1));
        const VmaInfo layout[] = {
                vma(0x1f00000, 0x2500000, RW, 0, VMA_NAME_NONE),
        };
        ASSERT_OK(run_vec_append(&skip, 0x2380000, 0x2480000, 0));
        ASSERT_OK(follow_diff(layout, ELEMENTSOF(layout), &s, 1 * MIB, &skip, &t, &u));
        EXPECT_RUNS(&t, { 0x1f00000, 0x2000000 }, { 0x2100000, 0x2300000 },
                    { 0x2480000, 0x2500000 });
        EXPECT_NO_RUNS(&u);
        ASSERT_EQ(follow_prune_skip(layout, ELEMENTSOF(layout), &skip), 1);
}

TEST(skip_add_sorted) {
        _cleanup_(run_vec_done) RunVec s = {};

        ASSERT_OK(follow_skip_add(&s, 0x5000, 0x6000));
        ASSERT_OK(follow_skip_add(&s, 0x1000, 0x2000));
        ASSERT_OK(follow_skip_add(&s, 0x9000, 0xa000));
        EXPECT_RUNS(&s, { 0x1000, 0x2000 }, { 0x5000, 0x6000 }, { 0x9000, 0xa000 });
        ASSERT_OK(follow_skip_add(&s, 0x2000, 0x3000)); /* touches: merged */
        EXPECT_RUNS(&s, { 0x1000, 0x3000 }, { 0x5000, 0x6000 }, { 0x9000, 0xa000 });
        ASSERT_OK(follow_skip_add(&s, 0x2800, 0x9800)); /* spans two */
        EXPECT_RUNS(&s, { 0x1000, 0xa000 });
        ASSERT_OK(follow_skip_add(&s, 0xb000, 0xc000));
        ASSERT_OK(follow_skip_add(&s, 0x0, 0x800));
        EXPECT_RUNS(&s, { 0x0, 0x800 }, { 0x1000, 0xa000 }, { 0xb000, 0xc000 });
        ASSERT_ERROR(follow_skip_add(&s, 0x5000, 0x5000), EINVAL);
}

/* ---- the layout walk on this process ---- */

static bool layout_has(const VmaVec *v, uint64_t start, uint64_t end, bool *ret_eligible) {
        for (size_t i = 0; i < v->n; i++)
                if (v->vmas[i].start <= start && end <= v->vmas[i].end) {
                        *ret_eligible = follow_vma_eligible(&v->vmas[i],
                                                            i ? &v->vmas[i - 1] : NULL);
                        return true;
                }
        return false;
}

static void walk_self(const char *proc_root, size_t step, VmaVec *out) {
        VmaWalk w;
        int r, steps = 0;

        ASSERT_OK(vma_walk_open(proc_root, getpid(), &w));
        while ((r = vma_walk_step(&w, step, out)) > 0)
                ASSERT_CMP(++steps, <, 100000);
        ASSERT_OK(r);
        vma_walk_done(&w);
        ASSERT_CMP(out->n, >, 3);
        for (size_t i = 1; i < out->n; i++)
                ASSERT_CMP(out->vmas[i - 1].end, <=, out->vmas[i].start);
}

TEST(walk_self) {
        _cleanup_(vma_vec_done) VmaVec v = {}, v1 = {};
        size_t len = 4 * MIB;
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        void *q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        bool eligible = false, stack_seen = false;

        ASSERT_TRUE(p != MAP_FAILED && q != MAP_FAILED);
        walk_self("/proc", 0, &v);
        walk_self("/proc", 3, &v1); /* in small steps: the same layout */
        ASSERT_CMP(v1.n, >=, v.n - 2);

        ASSERT_TRUE(layout_has(&v, (uintptr_t) p, (uintptr_t) p + len, &eligible));
        ASSERT_TRUE(eligible);
        ASSERT_TRUE(layout_has(&v, (uintptr_t) q, (uintptr_t) q + len, &eligible));
        ASSERT_FALSE(eligible);
        for (size_t i = 0; i < v.n; i++)
                if (v.vmas[i].name_kind == VMA_NAME_STACK) {
                        stack_seen = true;
                        ASSERT_FALSE(follow_vma_eligible(&v.vmas[i], i ? &v.vmas[i - 1] : NULL));
                }
        ASSERT_TRUE(stack_seen);
        munmap(p, len);
        munmap(q, len);
}

TEST(walk_fake_proc_root) {
        _cleanup_(vma_vec_done) VmaVec v = {};
        char dir[] = "/tmp/test-follow.XXXXXX", path[256];
        VmaWalk w;
        FILE *f;

        ASSERT_TRUE(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/%d", dir, (int) getpid());
        ASSERT_OK(mkdir(path, 0700));
        snprintf(path, sizeof path, "%s/%d/maps", dir, (int) getpid());
        f = fopen(path, "we");
        ASSERT_TRUE(f);
        fputs("00400000-00401000 r-xp 00000000 08:01 77   /usr/bin/prog\n"
              "01000000-01200000 rw-p 00000000 00:00 0    [heap]\n"
              "7f0000000000-7f0000400000 rw-p 00000000 00:00 0 \n"
              "7ffc00000000-7ffc00100000 rw-p 00000000 00:00 0    [stack]\n",
              f);
        fclose(f);

        ASSERT_OK(vma_walk_open(dir, getpid(), &w));
        ASSERT_EQ(vma_walk_step(&w, 2, &v), 0); /* the maps file is read whole */
        vma_walk_done(&w);
        ASSERT_EQ(v.n, 4);
        ASSERT_EQ(v.vmas[1].name_kind, VMA_NAME_HEAP);
        ASSERT_EQ(v.vmas[2].name_kind, VMA_NAME_NONE);
        ASSERT_EQ(v.vmas[3].name_kind, VMA_NAME_STACK);
        ASSERT_EQ(v.vmas[0].name_kind, VMA_NAME_OTHER);

        ASSERT_ERROR(vma_walk_open(dir, 1, &w), ESRCH);
        unlink(path);
        snprintf(path, sizeof path, "%s/%d", dir, (int) getpid());
        rmdir(path);
        rmdir(dir);
}
