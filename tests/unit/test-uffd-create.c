/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uffd_create() (daemon/common/uffd-create.c), the one userfaultfd creator of the daemon, the
 * probe and libuffdtier: the order of attempts, what it reports, and the user-mode-only fallback
 * as an unprivileged user. */
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "uapi.h"
#include "uffd-create.h"
#include "test.h"

/* nobody */
#define UNPRIVILEGED_ID 65534

static int read_unprivileged_userfaultfd(void) {
        FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "re");
        int v = -1;

        if (!f)
                return -1;
        if (fscanf(f, "%d", &v) != 1)
                v = -1;
        fclose(f);
        return v;
}

/* A created fd is what the daemon expects: non-blocking, close-on-exec, and a userfaultfd that
 * still takes UFFDIO_API. */
static void check_fd(int fd) {
        struct uffdio_api api = { .api = UFFD_API, .features = 0 };

        ASSERT_CMP(fd, >=, 0);
        ASSERT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
        ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        ASSERT_EQ(ioctl(fd, UFFDIO_API, &api), 0);
        ASSERT_TRUE(api.features != 0);
}

static bool have_device(void) {
        return access(UFFD_DEVICE_PATH, R_OK | W_OK) == 0;
}

TEST(bad_flags) {
        UffdCreateInfo info = { .source = UFFD_SOURCE_NONE, .dev_error = 1 };

        ASSERT_ERROR(uffd_create(NULL, 1u << 2, &info), EINVAL);
        ASSERT_ERROR(uffd_create(UFFD_DEVICE_PATH, (UffdCreateFlags) ~0u, &info), EINVAL);
        /* Not written on failure. */
        ASSERT_EQ(info.source, UFFD_SOURCE_NONE);
        ASSERT_EQ(info.dev_error, 1);
}

TEST(device) {
        _cleanup_close_ int fd = -EBADF;
        UffdCreateInfo info;

        if (!have_device())
                SKIP("no usable %s here", UFFD_DEVICE_PATH);
        fd = uffd_create(UFFD_DEVICE_PATH, 0, &info);
        check_fd(fd);
        ASSERT_EQ(info.source, UFFD_SOURCE_DEV);
        ASSERT_FALSE(info.user_mode_only);
        ASSERT_EQ(info.dev_error, 0);
}

TEST(syscall) {
        _cleanup_close_ int a = -EBADF, b = -EBADF, c = -EBADF;
        UffdCreateInfo info;

        if (geteuid() != 0)
                SKIP("needs root (a full uffd by syscall depends on vm.unprivileged_userfaultfd)");

        /* No device asked for. */
        a = uffd_create(NULL, 0, &info);
        check_fd(a);
        ASSERT_EQ(info.source, UFFD_SOURCE_SYSCALL);
        ASSERT_FALSE(info.user_mode_only);
        ASSERT_EQ(info.dev_error, 0);

        /* A device that is not there: the syscall, and why the device was not used. */
        b = uffd_create("/nonexistent/userfaultfd", UFFD_CREATE_FALLBACK_USER_MODE_ONLY, &info);
        check_fd(b);
        ASSERT_EQ(info.source, UFFD_SOURCE_SYSCALL);
        ASSERT_FALSE(info.user_mode_only);
        ASSERT_EQ(info.dev_error, -ENOENT);

        /* Something that is not a userfaultfd device: the ioctl fails, the syscall works. */
        c = uffd_create("/dev/null", 0, NULL);
        check_fd(c);
}

/* UFFD_USER_MODE_ONLY really is in effect: a read(2) into missing registered memory fails with
 * EFAULT instead of waiting for the (absent) fault handler. */
TEST(user_mode_only) {
        _cleanup_close_ int fd = -EBADF, p0 = -EBADF, p1 = -EBADF;
        struct uffdio_api api = { .api = UFFD_API, .features = 0 };
        size_t ps = page_size();
        struct uffdio_register reg;
        UffdCreateInfo info;
        int p[2];
        void *m;

        fd = uffd_create(have_device() ? UFFD_DEVICE_PATH : NULL, UFFD_CREATE_USER_MODE_ONLY,
                         &info);
        if (fd == -EPERM || fd == -ENOSYS)
                SKIP("no userfaultfd here: %s", strerror(-fd));
        ASSERT_CMP(fd, >=, 0);
        ASSERT_TRUE(info.user_mode_only);
        ASSERT_EQ(info.source, have_device() ? UFFD_SOURCE_DEV : UFFD_SOURCE_SYSCALL);
        ASSERT_EQ(ioctl(fd, UFFDIO_API, &api), 0);

        m = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(m != MAP_FAILED);
        reg = (struct uffdio_register){
                .range = { .start = (uintptr_t) m, .len = ps },
                .mode = UFFDIO_REGISTER_MODE_MISSING,
        };
        ASSERT_EQ(ioctl(fd, UFFDIO_REGISTER, &reg), 0);

        ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
        p0 = p[0];
        p1 = p[1];
        ASSERT_EQ(write(p1, "x", 1), 1);
        ASSERT_EQ(read(p0, m, 1), -1);
        ASSERT_EQ(errno, EFAULT);
        ASSERT_EQ(munmap(m, ps), 0);
}

/* As an unprivileged user: no access to the root-only device node (dev_error says so); with
 * vm.unprivileged_userfaultfd=0 a full uffd is refused with EPERM, and the fallback gives a
 * user-mode-only one. (Each test runs in its own child: dropping privileges affects no other.) */
TEST(unprivileged_fallback) {
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        UffdCreateInfo info;
        struct stat st;
        int unpriv = read_unprivileged_userfaultfd();

        if (geteuid() != 0)
                SKIP("needs root to drop to an unprivileged user");
        if (stat(UFFD_DEVICE_PATH, &st) < 0 || (st.st_mode & 0006) != 0)
                SKIP("no %s, or it is world-accessible", UFFD_DEVICE_PATH);
        if (unpriv < 0)
                SKIP("vm.unprivileged_userfaultfd unreadable");

        ASSERT_EQ(setgroups(0, NULL), 0);
        ASSERT_EQ(setresgid(UNPRIVILEGED_ID, UNPRIVILEGED_ID, UNPRIVILEGED_ID), 0);
        ASSERT_EQ(setresuid(UNPRIVILEGED_ID, UNPRIVILEGED_ID, UNPRIVILEGED_ID), 0);

        a = uffd_create(UFFD_DEVICE_PATH, UFFD_CREATE_FALLBACK_USER_MODE_ONLY, &info);
        check_fd(a);
        ASSERT_EQ(info.source, UFFD_SOURCE_SYSCALL);
        ASSERT_EQ(info.dev_error, -EACCES);
        ASSERT_EQ(info.user_mode_only, unpriv == 0);

        if (unpriv == 0)
                ASSERT_ERROR(uffd_create(UFFD_DEVICE_PATH, 0, &info), EPERM);
        else {
                b = uffd_create(UFFD_DEVICE_PATH, 0, &info);
                check_fd(b);
                ASSERT_FALSE(info.user_mode_only);
        }
}
