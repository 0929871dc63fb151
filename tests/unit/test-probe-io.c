/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* probe_run() (daemon/probe/probe-io.c): on this machine, as an unprivileged user, and on a fake /proc
 * tree. The decision on recorded kernels is in test-probe.c. */
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "probe-print.h"
#include "probe.h"
#include "test.h"

#define SET_MODE_IOCTL_BIT (UINT64_C(1) << 0x0A)
/* nobody */
#define UNPRIVILEGED_ID 65534

static bool contains(const char *haystack, const char *needle) {
        return strstr(haystack, needle) != NULL;
}

static bool has_cannot_see(const ProbeResult *r, const char *needle) {
        for (size_t i = 0; i < r->n_cannot_see; i++)
                if (contains(r->cannot_see[i], needle))
                        return true;
        return false;
}

TEST(run_this_machine) {
        ProbeInput in;
        ProbeResult r;

        if (geteuid() != 0)
                SKIP("needs root (userfaultfd for unprivileged users depends on sysctls)");
        ASSERT_OK(probe_run(NULL, &in));
        if (!in.uffd_available)
                SKIP("no userfaultfd here: %s", strerror(in.uffd_errno));
        ASSERT_OK(probe_decide(&in, &r));
        (void) probe_print_text(stderr, &in, &r);

        if (in.features_offered & (UINT64_C(1) << 17))
                SKIP("this kernel offers RWP; the test describes a 6.7+ kernel without it");
        if (!(in.features_offered & (UINT64_C(1) << 15)))
                SKIP("kernel older than 6.7 (features %#" PRIx64 ")", in.features_offered);

        /* A 6.7+ kernel without RWP, like the 6.18 development machines. */
        ASSERT_TRUE(in.pagemap_scan);
        ASSERT_TRUE(in.process_madvise);
        ASSERT_TRUE(in.swap_known);
        ASSERT_TRUE(in.cap_sys_ptrace);
        ASSERT_TRUE(in.cap_sys_nice);
        ASSERT_FALSE(in.uffd_user_mode_only);
        ASSERT_U64_EQ(in.api_ioctls & SET_MODE_IOCTL_BIT, 0);
        ASSERT_EQ(r.backend, BACKEND_WP_ASYNC);
        ASSERT_FALSE(r.available[BACKEND_RWP]);
        ASSERT_TRUE(contains(r.reason[BACKEND_RWP], "UFFD_FEATURE_RWP"));
        ASSERT_TRUE(has_cannot_see(&r, "reads of resident pages are invisible"));
}

/* What an unprivileged client finds: no access to the root-only device node, and the syscall
 * gives a full uffd only when vm.unprivileged_userfaultfd=1; otherwise the probe falls back to
 * UFFD_USER_MODE_ONLY, as libuffdtier does. (Each test runs in its own child: dropping
 * privileges here affects no other test.) */
TEST(run_unprivileged) {
        struct stat st;
        ProbeInput in;
        int unpriv;

        if (geteuid() != 0)
                SKIP("needs root to drop to an unprivileged user");
        if (stat("/dev/userfaultfd", &st) < 0 || (st.st_mode & 0006) != 0)
                SKIP("no /dev/userfaultfd, or it is world-accessible");
        ASSERT_OK(probe_run(NULL, &in));
        if (!in.uffd_available)
                SKIP("no userfaultfd here: %s", strerror(in.uffd_errno));
        unpriv = in.unprivileged_userfaultfd;
        if (unpriv < 0)
                SKIP("vm.unprivileged_userfaultfd unreadable");

        ASSERT_EQ(setgroups(0, NULL), 0);
        ASSERT_EQ(setresgid(UNPRIVILEGED_ID, UNPRIVILEGED_ID, UNPRIVILEGED_ID), 0);
        ASSERT_EQ(setresuid(UNPRIVILEGED_ID, UNPRIVILEGED_ID, UNPRIVILEGED_ID), 0);

        ASSERT_OK(probe_run(NULL, &in));
        ASSERT_TRUE(in.uffd_available);
        ASSERT_EQ(in.uffd_source, UFFD_SOURCE_SYSCALL);
        ASSERT_EQ(in.uffd_user_mode_only, unpriv == 0);
        ASSERT_FALSE(in.cap_sys_ptrace);
        ASSERT_TRUE(in.features_offered != 0);
}

static void write_file(const char *dir, const char *rel, const char *text) {
        char path[512];
        int fd;

        snprintf(path, sizeof path, "%s/%s", dir, rel);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                test_fail(__FILE__, __LINE__, "open %s: %m", path);
        ASSERT_EQ(write(fd, text, strlen(text)), (intmax_t) strlen(text));
        ASSERT_EQ(close(fd), 0);
}

static void make_dir(const char *dir, const char *rel) {
        char path[512];

        snprintf(path, sizeof path, "%s/%s", dir, rel);
        if (mkdir(path, 0755) < 0)
                test_fail(__FILE__, __LINE__, "mkdir %s: %m", path);
}

static void remove_path(const char *dir, const char *rel) {
        char path[512];

        snprintf(path, sizeof path, "%s/%s", dir, rel);
        (void) remove(path);
}

TEST(run_fake_proc) {
        char root[] = "/tmp/test-probe-XXXXXX", dev[600];
        ProbePaths paths;
        ProbeInput in;

        ASSERT_TRUE(mkdtemp(root) != NULL);
        snprintf(dev, sizeof dev, "%s/no-such-userfaultfd", root);
        paths = (ProbePaths){ .proc_root = root, .dev_userfaultfd = dev };
        make_dir(root, "pressure");
        make_dir(root, "self");
        make_dir(root, "sys");
        make_dir(root, "sys/vm");
        write_file(root, "swaps",
                   "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                   "/swapfile                               file\t\t2097148\t\t0\t\t-2\n"
                   "/dev/zram0                              partition\t1024\t\t0\t\t100\n");
        write_file(root, "meminfo", "SwapTotal:  999 kB\n");
        write_file(root, "pressure/memory",
                   "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                   "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
        /* CAP_SYS_PTRACE (19) only. */
        write_file(root, "self/status", "Name:\tx\nCapEff:\t0000000000080000\n");
        write_file(root, "sys/vm/unprivileged_userfaultfd", "0\n");

        ASSERT_OK(probe_run(&paths, &in));
        ASSERT_TRUE(in.swap_known);
        ASSERT_U64_EQ(in.swap_bytes, (UINT64_C(2097148) + 1024) * 1024);
        ASSERT_TRUE(in.psi);
        ASSERT_TRUE(in.cap_sys_ptrace);
        ASSERT_FALSE(in.cap_sys_nice);
        ASSERT_EQ(in.unprivileged_userfaultfd, 0);
        /* No self/pagemap in the fake tree: the scan cannot work and says why. */
        ASSERT_FALSE(in.pagemap_scan);
        ASSERT_EQ(in.pagemap_scan_errno, ENOENT);
        ASSERT_TRUE(in.uffd_source != UFFD_SOURCE_DEV);

        /* Without /proc/swaps, meminfo's SwapTotal; without pressure files, no PSI. */
        remove_path(root, "swaps");
        remove_path(root, "pressure/memory");
        remove_path(root, "sys/vm/unprivileged_userfaultfd");
        write_file(root, "self/status", "Name:\tx\nCapEff:\tzz\n");
        ASSERT_OK(probe_run(&paths, &in));
        ASSERT_TRUE(in.swap_known);
        ASSERT_U64_EQ(in.swap_bytes, UINT64_C(999) * 1024);
        ASSERT_FALSE(in.psi);
        ASSERT_FALSE(in.cap_sys_ptrace);
        ASSERT_FALSE(in.cap_sys_nice);
        ASSERT_EQ(in.unprivileged_userfaultfd, -1);

        remove_path(root, "meminfo");
        ASSERT_OK(probe_run(&paths, &in));
        ASSERT_FALSE(in.swap_known);

        remove_path(root, "self/status");
        remove_path(root, "sys/vm");
        remove_path(root, "sys");
        remove_path(root, "self");
        remove_path(root, "pressure");
        ASSERT_EQ(rmdir(root), 0);

        ASSERT_ERROR(probe_run(&paths, NULL), EINVAL);
}
