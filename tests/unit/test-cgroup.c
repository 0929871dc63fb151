/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <ftw.h>
#include <libcgroup.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "fileio.h"
#include "macro.h"
#include "test.h"

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

static void rm_rf(char **dir) {
        if (*dir) {
                (void) nftw(*dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
                free(*dir);
        }
}

static char *fake_proc(void) {
        char *d = strdup("/tmp/test-cgroup.XXXXXX");
        ASSERT_TRUE(d);
        ASSERT_TRUE(mkdtemp(d));
        return d;
}

static void write_pid(const char *root, int pid, const char *text) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof path, "%s/%d", root, pid);
        ASSERT_TRUE(mkdir(path, 0755) == 0 || errno == EEXIST);
        snprintf(path, sizeof path, "%s/%d/cgroup", root, pid);
        f = fopen(path, "we");
        ASSERT_TRUE(f);
        fputs(text, f);
        ASSERT_EQ(fclose(f), 0);
}

/* A hybrid v1/v2 host (this one): a line per v1 hierarchy, the unified one last, and the v1
 * memory path is not the answer. */
TEST(fake_proc_hybrid_host) {
        _cleanup_(rm_rf) char *root = fake_proc();
        _cleanup_free_ char *p = NULL;

        write_pid(root, 4242,
                  "9:name=systemd:/user.slice/user-0.slice/session-1.scope\n"
                  "8:pids:/\n"
                  "4:memory:/process_api/a7d2efee1fda9e02e66a7192a105b687\n"
                  "1:cpu:/\n"
                  "0::/user.slice/user-0.slice/session-1.scope\n");
        ASSERT_OK(cgroup_path_of_pid(root, 4242, &p));
        ASSERT_STREQ(p, "/user.slice/user-0.slice/session-1.scope");
}

/* A cgroup2-only container: one line. */
TEST(fake_proc_cgroup2_only) {
        _cleanup_(rm_rf) char *root = fake_proc();
        _cleanup_free_ char *p = NULL;

        write_pid(root, 7, "0::/system.slice/uffdtier-test.service\n");
        ASSERT_OK(cgroup_path_of_pid(root, 7, &p));
        ASSERT_STREQ(p, "/system.slice/uffdtier-test.service");
        ASSERT_ERROR(cgroup_path_of_pid(root, 8, &(char *){ NULL }), ESRCH);
        write_pid(root, 9, "0::/gone (deleted)\n");
        ASSERT_ERROR(cgroup_path_of_pid(root, 9, &(char *){ NULL }), ENOENT);
        write_pid(root, 10, "4:memory:/x\n"); /* v1 only */
        ASSERT_ERROR(cgroup_path_of_pid(root, 10, &(char *){ NULL }), ENODATA);
}

TEST(ecg_to_errno) {
        ASSERT_EQ(cgroup_errno_from_ecg(0, 0), 0);
        ASSERT_EQ(cgroup_errno_from_ecg(ECGROUPNOTMOUNTED, 0), -ENOMEDIUM);
        ASSERT_EQ(cgroup_errno_from_ecg(ECGROUPNOTEXIST, 0), -ENOENT);
        ASSERT_EQ(cgroup_errno_from_ecg(ECGOTHER, EPERM), -EPERM);
        ASSERT_EQ(cgroup_errno_from_ecg(ECGOTHER, 0), -EIO);
        ASSERT_EQ(cgroup_errno_from_ecg(ECGINVAL, 0), -EINVAL);
        ASSERT_EQ(cgroup_errno_from_ecg(ECGROUPNOTALLOWED, 0), -EACCES);
        ASSERT_EQ(cgroup_errno_from_ecg(-ENOMEM, 0), -ENOMEM);
        ASSERT_EQ(cgroup_errno_from_ecg(59999, 0), -EIO);
}

/* On this machine: whatever libcgroup manages, the answer is the "0::" line of /proc/self/cgroup. */
TEST(real_self) {
        _cleanup_free_ char *text = NULL, *expect = NULL, *got = NULL, *lib = NULL;
        int r;

        r = read_virtual_file("/proc/self/cgroup", 65536, &text);
        if (r < 0)
                SKIP("cannot read /proc/self/cgroup: %s", strerror(-r));
        r = cgroup_path_from_proc_text(text, &expect);
        if (r == -ENODATA)
                SKIP("no cgroup2 hierarchy on this system");
        ASSERT_OK(r);
        ASSERT_OK(cgroup_path_of_pid("/proc", getpid(), &got));
        ASSERT_STREQ(got, expect);

        /* libcgroup's own unified answer, where it has one, is the same */
        r = cgroup_path_of_pid_libcgroup(getpid(), NULL, &lib);
        if (r >= 0)
                ASSERT_STREQ(lib, expect);
        else
                printf("libcgroup has no unified path here (%s): the /proc fallback answered\n",
                       strerror(-r));
}
