/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "fileio.h"
#include "macro.h"
#include "psi.h"
#include "test.h"

TEST(psi_parse_good) {
        PsiStats st;

        ASSERT_OK(psi_parse("some avg10=1.23 avg60=0.50 avg300=100.00 total=18446744073709551615\n"
                            "full avg10=0.00 avg60=0.01 avg300=0.10 total=0\n",
                            &st));
        ASSERT_EQ(st.some.avg10_permyriad, 123);
        ASSERT_EQ(st.some.avg60_permyriad, 50);
        ASSERT_EQ(st.some.avg300_permyriad, 10000);
        ASSERT_U64_EQ(st.some.total_usec, UINT64_MAX);
        ASSERT_TRUE(st.has_full);
        ASSERT_EQ(st.full.avg10_permyriad, 0);
        ASSERT_EQ(st.full.avg60_permyriad, 1);
        ASSERT_EQ(st.full.avg300_permyriad, 10);
        ASSERT_U64_EQ(st.full.total_usec, 0);

        /* no trailing newline; "full" first; keys in another order; a key we don't know */
        ASSERT_OK(psi_parse("full total=5 avg300=0.00 avg60=0.00 avg10=99.99 extra=x\n"
                            "some avg10=7 avg60=7.5 avg300=0.07 total=42",
                            &st));
        ASSERT_EQ(st.full.avg10_permyriad, 9999);
        ASSERT_U64_EQ(st.full.total_usec, 5);
        ASSERT_EQ(st.some.avg10_permyriad, 700);
        ASSERT_EQ(st.some.avg60_permyriad, 750);
        ASSERT_EQ(st.some.avg300_permyriad, 7);
        ASSERT_U64_EQ(st.some.total_usec, 42);
}

TEST(psi_parse_missing_full) {
        PsiStats st;

        memset(&st, 0xff, sizeof st);
        ASSERT_OK(psi_parse("some avg10=0.10 avg60=0.20 avg300=0.30 total=123456\n", &st));
        ASSERT_FALSE(st.has_full);
        ASSERT_EQ(st.some.avg300_permyriad, 30);
        ASSERT_EQ(st.full.avg10_permyriad, 0);
        ASSERT_U64_EQ(st.full.total_usec, 0);
}

TEST(psi_parse_bad) {
        static const char *const bad[] = {
                "",
                "\n",
                "garbage",
                "some",
                "some\n",
                "some avg10=1.23", /* keys missing */
                "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", /* no some line */
                ("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n" /* two some lines */
                 "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
                "some avg10=0.00 avg10=0.00 avg60=0.00 avg300=0.00 total=0",
                "some avg10=1.234 avg60=0.00 avg300=0.00 total=0",
                "some avg10=1. avg60=0.00 avg300=0.00 total=0",
                "some avg10=.5 avg60=0.00 avg300=0.00 total=0",
                "some avg10=-1.00 avg60=0.00 avg300=0.00 total=0",
                "some avg10=+1.00 avg60=0.00 avg300=0.00 total=0",
                "some avg10=1,00 avg60=0.00 avg300=0.00 total=0",
                "some avg10= avg60=0.00 avg300=0.00 total=0",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=12a",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=0x10",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=",
                "some  avg10=0.00 avg60=0.00 avg300=0.00 total=0",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=0 ",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\r\n",
                "Some avg10=0.00 avg60=0.00 avg300=0.00 total=0",
                "somex avg10=0.00 avg60=0.00 avg300=0.00 total=0",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nhalf avg10=0.00\n",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00\n",
                "some =1 avg10=0.00 avg60=0.00 avg300=0.00 total=0",
                "some avg10 avg60=0.00 avg300=0.00 total=0",
                "some avg10=99999999999999999999x avg60=0.00 avg300=0.00 total=0",
                "\x01\x02\x03",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                PsiStats st = { .some.avg10_permyriad = 77 };
                int r = psi_parse(bad[i], &st);
                if (r != -EINVAL)
                        test_fail(__FILE__, __LINE__, "\"%s\": expected -EINVAL, got %d", bad[i],
                                  r);
                ASSERT_EQ(st.some.avg10_permyriad, 77); /* untouched */
        }
        ASSERT_ERROR(psi_parse(NULL, &(PsiStats){}), EINVAL);
}

TEST(psi_parse_huge_numbers) {
        static const char *const range[] = {
                "some avg10=100.01 avg60=0.00 avg300=0.00 total=0",
                "some avg10=101.00 avg60=0.00 avg300=0.00 total=0",
                "some avg10=4294967296.00 avg60=0.00 avg300=0.00 total=0",
                "some avg10=99999999999999999999999.00 avg60=0.00 avg300=0.00 total=0",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551616",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=99999999999999999999999999",
        };
        for (size_t i = 0; i < ELEMENTSOF(range); i++) {
                PsiStats st;
                int r = psi_parse(range[i], &st);
                if (r != -ERANGE)
                        test_fail(__FILE__, __LINE__, "\"%s\": expected -ERANGE, got %d", range[i],
                                  r);
        }
}

/* ---- a fake /proc and cgroup tree in a temporary directory ---- */

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

static void rm_rf(char **dir) {
        if (*dir) {
                (void) nftw(*dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
                free(*dir);
        }
}

static char *make_tmpdir(void) {
        char *d = strdup("/tmp/test-psi.XXXXXX");
        ASSERT_TRUE(d);
        ASSERT_TRUE(mkdtemp(d));
        return d;
}

/* Writes text to dir/rel, creating the directories on the way. */
static void write_at(const char *dir, const char *rel, const char *text) {
        char path[4096], *p;
        int fd;

        snprintf(path, sizeof path, "%s/%s", dir, rel);
        for (p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
                *p = 0;
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        test_fail(__FILE__, __LINE__, "mkdir %s: %m", path);
                *p = '/';
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

static const char pressure_a[] = "some avg10=12.50 avg60=3.00 avg300=0.75 total=1000\n"
                                 "full avg10=2.00 avg60=1.00 avg300=0.25 total=400\n";
static const char pressure_root[] = "some avg10=0.01 avg60=0.00 avg300=0.00 total=7\n"
                                    "full avg10=0.00 avg60=0.00 avg300=0.00 total=3\n";

TEST(psi_read_fake_tree) {
        _cleanup_(rm_rf) char *dir = make_tmpdir();
        char cgroot[4096], procroot[4096];
        PsiStats st;

        write_at(dir, "cg/memory.pressure", pressure_root);
        write_at(dir, "cg/a.slice/b c.scope/memory.pressure", pressure_a);
        write_at(dir, "cg/bad/memory.pressure", "nonsense\n");
        write_at(dir, "proc/pressure/memory", pressure_a);
        write_at(dir, "proc/pressure/cpu", pressure_root);
        snprintf(cgroot, sizeof cgroot, "%s/cg", dir);
        snprintf(procroot, sizeof procroot, "%s/proc", dir);

        ASSERT_OK(psi_read_cgroup(cgroot, "/a.slice/b c.scope", &st));
        ASSERT_EQ(st.some.avg10_permyriad, 1250);
        ASSERT_U64_EQ(st.full.total_usec, 400);
        ASSERT_OK(psi_read_cgroup(cgroot, "/", &st));
        ASSERT_U64_EQ(st.some.total_usec, 7);
        ASSERT_OK(psi_read_system(procroot, &st));
        ASSERT_EQ(st.some.avg300_permyriad, 75);
        ASSERT_OK(psi_read_system_cpu(procroot, &st));
        ASSERT_U64_EQ(st.some.total_usec, 7);

        ASSERT_ERROR(psi_read_cgroup(cgroot, "/bad", &st), EINVAL);
        ASSERT_ERROR(psi_read_cgroup(cgroot, "/missing", &st), ENOENT);
        ASSERT_ERROR(psi_read_cgroup(cgroot, "a.slice", &st), EINVAL);
        ASSERT_ERROR(psi_read_cgroup(cgroot, "/a.slice/..", &st), EINVAL);
        ASSERT_ERROR(psi_read_cgroup(cgroot, "/../../etc", &st), EINVAL);
        ASSERT_ERROR(psi_read_cgroup(cgroot, "/a.slice/../a.slice/b c.scope", &st), EINVAL);
        ASSERT_OK(psi_read_cgroup(cgroot, "/a.slice/b c.scope/", &st)); /* "//" is harmless */
        ASSERT_ERROR(psi_read_system(dir, &st), ENOENT);
}

TEST(psi_read_real) {
        PsiStats st;
        int r = psi_read_system("/proc", &st);

        if (r == -ENOENT || r == -EOPNOTSUPP)
                SKIP("no PSI on this kernel: %s", strerror(-r));
        ASSERT_OK(r);
        ASSERT_TRUE(st.has_full);
        ASSERT_TRUE(st.some.avg10_permyriad <= 10000);
}

TEST(read_virtual_file_limits) {
        _cleanup_(rm_rf) char *dir = make_tmpdir();
        _cleanup_free_ char *text = NULL;
        char path[4096];

        write_at(dir, "f", "12345678");
        snprintf(path, sizeof path, "%s/f", dir);
        ASSERT_OK(read_virtual_file(path, 8, &text));
        ASSERT_STREQ(text, "12345678");
        ASSERT_ERROR(read_virtual_file(path, 7, &(char *){ NULL }), EFBIG);

        int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, "a\0b", 3), 3);
        close(fd);
        ASSERT_ERROR(read_virtual_file(path, 100, &(char *){ NULL }), EBADMSG);

        /* procfs files report st_size 0 */
        _cleanup_free_ char *stat = NULL;
        ASSERT_OK(read_virtual_file("/proc/self/stat", 4096, &stat));
        ASSERT_TRUE(strlen(stat) > 10);
}

/* ---- /proc/PID/cgroup ---- */

TEST(cgroup_text_parse) {
        static const struct {
                const char *text;
                const char *path; /* NULL: expect error */
                int error;
        } t[] = {
                { "0::/user.slice/user-1000.slice/session-2.scope\n",
                  "/user.slice/user-1000.slice/session-2.scope", 0 },
                { "0::/\n", "/", 0 },
                /* hybrid: v1 controllers first, the unified line last (this machine) */
                { "9:name=systemd:/\n4:memory:/process_api/566681b6e837\n1:cpu:/\n0::/\n", "/", 0 },
                { "12:cpu:/x\n0::/a b/c\n", "/a b/c", 0 },
                /* "10::" is a v1 named hierarchy, not "0::" */
                { "10::/wrong\n0::/right", "/right", 0 },
                { "0::/a/b (deleted)\n", NULL, ENOENT },
                { "4:memory:/x\n1:cpu:/\n", NULL, ENODATA },
                { "", NULL, ENODATA },
                { "0::\n", NULL, EINVAL },
                { "0::relative\n", NULL, EINVAL },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *p = NULL;
                int r = cgroup_path_from_proc_text(t[i].text, &p);

                if (t[i].path) {
                        ASSERT_OK(r);
                        ASSERT_STREQ(p, t[i].path);
                } else {
                        if (r != -t[i].error)
                                test_fail(__FILE__, __LINE__, "case %zu: expected %d, got %d", i,
                                          -t[i].error, r);
                        ASSERT_TRUE(p == NULL);
                }
        }
}

TEST(cgroup_path_of_pid_fake_proc) {
        _cleanup_(rm_rf) char *dir = make_tmpdir();
        _cleanup_free_ char *p = NULL;

        write_at(dir, "1234/cgroup", "3:cpuset:/\n0::/system.slice/uffdtierd.service\n");
        write_at(dir, "99/cgroup", "3:cpuset:/\n");
        ASSERT_OK(cgroup_path_of_pid(dir, 1234, &p));
        ASSERT_STREQ(p, "/system.slice/uffdtierd.service");
        ASSERT_ERROR(cgroup_path_of_pid(dir, 99, &(char *){ NULL }), ENODATA);
        ASSERT_ERROR(cgroup_path_of_pid(dir, 4321, &(char *){ NULL }), ESRCH);
        ASSERT_ERROR(cgroup_path_of_pid(dir, 0, &(char *){ NULL }), EINVAL);

        _cleanup_free_ char *self = NULL;
        ASSERT_OK(cgroup_path_of_pid("/proc", getpid(), &self));
        ASSERT_TRUE(self[0] == '/');
}
