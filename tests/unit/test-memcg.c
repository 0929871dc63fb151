/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure parts of the memory accounting: memcg.c (memory.stat values, the memory cgroup of a
 * /proc/PID/cgroup text, a fake cgroup tree) and swap-setup.c (/proc/swaps, SwapCached, whether
 * a page-out frees memory at once, the remedy). */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "macro.h"
#include "memcg.h"
#include "swap-setup.h"
#include "test.h"

TEST(memcg_stat_value_bytes_and_kib) {
        uint64_t v = 0;
        const char *stat = "anon 1234\nfile 5\nswapcached 8192\nswapcachedx 1\n";
        const char *meminfo = "MemTotal:       24000000 kB\nSwapCached:         12 kB\n";

        ASSERT_OK(memcg_stat_value(stat, "swapcached", &v));
        ASSERT_U64_EQ(v, 8192);
        ASSERT_OK(memcg_stat_value(stat, "anon", &v));
        ASSERT_U64_EQ(v, 1234);
        ASSERT_OK(memcg_stat_value(meminfo, "SwapCached", &v));
        ASSERT_U64_EQ(v, 12 * 1024);
        ASSERT_ERROR(memcg_stat_value(stat, "swap", &v), ENOENT);
        ASSERT_ERROR(memcg_stat_value("swapcached x\n", "swapcached", &v), EINVAL);
        ASSERT_ERROR(memcg_stat_value("swapcached 99999999999999999999999\n", "swapcached", &v),
                     ERANGE);
}

TEST(memcg_path_prefers_v1_memory_controller) {
        char p[64];
        bool v2 = true;

        ASSERT_OK(memcg_path_from_proc_cgroup("9:name=systemd:/\n4:memory:/a/b\n0::/\n", p,
                                              sizeof p, &v2));
        ASSERT_STREQ(p, "/a/b");
        ASSERT_FALSE(v2);
        ASSERT_OK(memcg_path_from_proc_cgroup("3:cpu,memory:/x\n", p, sizeof p, &v2));
        ASSERT_STREQ(p, "/x");
        ASSERT_OK(memcg_path_from_proc_cgroup("0::/system.slice/foo.service\n", p, sizeof p, &v2));
        ASSERT_STREQ(p, "/system.slice/foo.service");
        ASSERT_TRUE(v2);
        /* "memoryx" is not the memory controller */
        ASSERT_ERROR(memcg_path_from_proc_cgroup("4:memoryx:/a\n", p, sizeof p, &v2), ENOENT);
        ASSERT_ERROR(memcg_path_from_proc_cgroup("", p, sizeof p, &v2), ENOENT);
        ASSERT_ERROR(
                memcg_path_from_proc_cgroup(
                        "0::/a-very-long-path-beyond-the-buffer-size-of-the-caller-0123456789\n", p,
                        16, &v2),
                EINVAL);
}

TEST(memcg_procs_has_other) {
        ASSERT_EQ(memcg_procs_has_other("", 42), 0);
        ASSERT_EQ(memcg_procs_has_other("42\n", 42), 0);
        ASSERT_EQ(memcg_procs_has_other("42", 42), 0);
        ASSERT_EQ(memcg_procs_has_other("42\n420\n", 42), 1);
        ASSERT_EQ(memcg_procs_has_other("4\n42\n", 42), 1);
        ASSERT_ERROR(memcg_procs_has_other("42x\n", 42), EINVAL);
        ASSERT_ERROR(memcg_procs_has_other("-1\n", 42), EINVAL);
        ASSERT_ERROR(memcg_procs_has_other("99999999999\n", 42), EINVAL);
}

static void write_file(const char *dir, const char *name, const char *text) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "we");
        ASSERT_TRUE(f);
        ASSERT_TRUE(fputs(text, f) >= 0);
        ASSERT_OK(fclose(f));
}

static void mkdir_p(const char *path) {
        char cmd[600];

        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
        ASSERT_OK(system(cmd));
}

TEST(memcg_read_fake_trees) {
        char root[] = "/tmp/uffdtier-memcg.XXXXXX", dir[1200], proc[300], cg[300];
        MemcgStat s;

        ASSERT_TRUE(mkdtemp(root));
        snprintf(proc, sizeof proc, "%s/proc", root);
        snprintf(cg, sizeof cg, "%s/cgroup", root);
        snprintf(dir, sizeof dir, "%s/42", proc);
        mkdir_p(dir);
        write_file(proc, "meminfo", "SwapCached:        100 kB\n");

        /* v2: the cgroup's own swapcached */
        write_file(dir, "cgroup", "0::/w.slice\n");
        snprintf(dir, sizeof dir, "%s/w.slice", cg);
        mkdir_p(dir);
        write_file(dir, "memory.current", "1048576\n");
        write_file(dir, "memory.stat", "anon 1\nswapcached 4096\n");
        ASSERT_OK(memcg_read(proc, cg, 42, -EBADF, &s));
        ASSERT_EQ(s.source, MEMCG_SOURCE_V2);
        ASSERT_U64_EQ(s.usage_bytes, 1048576);
        ASSERT_U64_EQ(s.swapcached_bytes, 4096);
        ASSERT_FALSE(s.swapcached_is_system);
        ASSERT_TRUE(s.shared); /* no cgroup.procs to say otherwise */
        write_file(dir, "cgroup.procs", "42\n");
        write_file(dir, "cgroup.stat", "nr_descendants 0\nnr_dying_descendants 3\n");
        ASSERT_OK(memcg_read(proc, cg, 42, -EBADF, &s));
        ASSERT_FALSE(s.shared);
        write_file(dir, "cgroup.stat", "nr_descendants 1\nnr_dying_descendants 0\n");
        ASSERT_OK(memcg_read(proc, cg, 42, -EBADF, &s));
        ASSERT_TRUE(s.shared); /* a cgroup below: its usage is counted here too */
        write_file(dir, "cgroup.stat", "nr_descendants 0\n");
        write_file(dir, "cgroup.procs", "42\n4242\n");
        ASSERT_OK(memcg_read(proc, cg, 42, -EBADF, &s));
        ASSERT_TRUE(s.shared);

        /* v1 without a memory.stat: usage from the memory controller, swap cache from the system */
        snprintf(dir, sizeof dir, "%s/42", proc);
        write_file(dir, "cgroup", "4:memory:/m\n0::/\n");
        snprintf(dir, sizeof dir, "%s/memory/m", cg);
        mkdir_p(dir);
        write_file(dir, "memory.usage_in_bytes", "777\n");
        ASSERT_OK(memcg_read(proc, cg, 42, -EBADF, &s));
        ASSERT_EQ(s.source, MEMCG_SOURCE_V1);
        ASSERT_U64_EQ(s.usage_bytes, 777);
        ASSERT_TRUE(s.swapcached_is_system);
        ASSERT_TRUE(s.shared); /* the system's swap cache */
        ASSERT_U64_EQ(s.swapcached_bytes, 100 * 1024);

        /* v1 with memory.stat: the cgroup's own swapcached, not its descendants' total */
        write_file(dir, "memory.stat",
                   "cache 0\nswap 8192\nswapcached 8192\ntotal_swapcached 65536\n");
        ASSERT_OK(memcg_read(proc, cg, 42, -EBADF, &s));
        ASSERT_EQ(s.source, MEMCG_SOURCE_V1);
        ASSERT_FALSE(s.swapcached_is_system);
        ASSERT_U64_EQ(s.swapcached_bytes, 8192);
        ASSERT_TRUE(s.shared);
        write_file(dir, "cgroup.procs", "42\n");
        ASSERT_OK(memcg_read(proc, cg, 42, -EBADF, &s));
        ASSERT_FALSE(s.shared);

        /* no memory cgroup files: the system only */
        snprintf(dir, sizeof dir, "%s/42", proc);
        write_file(dir, "cgroup", "4:memory:/gone\n");
        ASSERT_OK(memcg_read(proc, cg, 42, -EBADF, &s));
        ASSERT_EQ(s.source, MEMCG_SOURCE_SYSTEM);
        ASSERT_STREQ(s.path, "");
        ASSERT_TRUE(s.shared);

        /* a process that is gone */
        ASSERT_ERROR(memcg_read(proc, cg, 43, -EBADF, &s), ESRCH);
        /* pinned through a pidfd: the same reading is taken while the process lives, and not
         * once it has exited (pid 42's entry may be another process's by then) */
        {
                pid_t child = fork();
                int pidfd, status;

                ASSERT_TRUE(child >= 0);
                if (child == 0) {
                        pause();
                        _exit(0);
                }
                pidfd = (int) syscall(SYS_pidfd_open, child, 0);
                ASSERT_OK(pidfd);
                ASSERT_OK(memcg_read(proc, cg, 42, pidfd, &s));
                ASSERT_OK(kill(child, SIGKILL));
                ASSERT_EQ(waitpid(child, &status, 0), child);
                ASSERT_ERROR(memcg_read(proc, cg, 42, pidfd, &s), ESRCH);
                close(pidfd);
        }

        snprintf(dir, sizeof dir, "rm -rf '%s'", root);
        ASSERT_OK(system(dir));
}

static const char swaps_text[] =
        "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
        "/swapfile                               file\t\t2097148\t\t1024\t\t-2\n"
        "/dev/zram0                              partition\t4194300\t\t0\t\t100\n";

TEST(swap_setup_parse_and_decide) {
        SwapSetup s = {};
        char text[SWAP_SETUP_DESCRIBE_MAX];

        ASSERT_OK(swap_setup_parse_swaps(swaps_text, &s));
        ASSERT_EQ(s.n_devices, 2);
        ASSERT_STREQ(s.devices[0].path, "/swapfile");
        ASSERT_EQ(s.devices[0].kind, SWAP_KIND_FILE);
        ASSERT_U64_EQ(s.devices[0].size_bytes, 2097148ULL * 1024);
        ASSERT_U64_EQ(s.devices[0].used_bytes, 1024ULL * 1024);
        ASSERT_EQ(s.devices[0].priority, -2);
        ASSERT_EQ(s.devices[1].kind, SWAP_KIND_ZRAM);
        ASSERT_TRUE(swap_setup_has_swap(&s));

        /* a plain file among the devices, zswap off: pages stay in the swap cache */
        s.zswap_present = true;
        ASSERT_FALSE(swap_setup_pageout_frees_at_once(&s));
        ASSERT_TRUE(swap_setup_remedy(&s) != NULL);
        ASSERT_TRUE(strstr(swap_setup_remedy(&s), "zswap") != NULL);
        /* zswap on: freed at once */
        s.zswap_enabled = true;
        ASSERT_TRUE(swap_setup_pageout_frees_at_once(&s));
        ASSERT_TRUE(swap_setup_remedy(&s) == NULL);
        /* only zram: freed at once without zswap */
        s.zswap_enabled = false;
        s.devices[0] = s.devices[1];
        s.n_devices = 1;
        ASSERT_TRUE(swap_setup_pageout_frees_at_once(&s));
        swap_setup_describe(&s, text, sizeof text);
        ASSERT_TRUE(strstr(text, "zswap off") != NULL);
        ASSERT_TRUE(strstr(text, "/dev/zram0 (zram") != NULL);

        /* no swap at all */
        s = (SwapSetup){};
        ASSERT_OK(swap_setup_parse_swaps("Filename Type Size Used Priority\n", &s));
        ASSERT_FALSE(swap_setup_has_swap(&s));
        ASSERT_FALSE(swap_setup_pageout_frees_at_once(&s));
        ASSERT_TRUE(strstr(swap_setup_remedy(&s), "add swap") != NULL);

        ASSERT_ERROR(swap_setup_parse_swaps("h\n/swapfile file x y z\n", &s), EINVAL);
}

TEST(swap_setup_swap_cached) {
        uint64_t v;

        ASSERT_OK(swap_setup_parse_swap_cached("MemFree: 1 kB\nSwapCached:     256 kB\n", &v));
        ASSERT_U64_EQ(v, 256 * 1024);
        ASSERT_ERROR(swap_setup_parse_swap_cached("MemFree: 1 kB\n", &v), ENOENT);
}
