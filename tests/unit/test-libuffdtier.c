/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libuffdtier against a fake daemon: a forked child that speaks the protocol through the same
 * codec, so the library's side (descriptors, seq matching, errors, timeouts, fork) is tested
 * without uffdtierd. */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol-io.h"
#include "protocol.h"
#include "test.h"
#include "uapi.h"
#include "uffdtier.h"

typedef enum FakeMode {
        FAKE_NORMAL,
        FAKE_SILENT_BYE, /* never answers BYE */
        FAKE_HANGUP_ON_TRACK,
        FAKE_STALE_REPLY, /* sends a reply with a wrong seq before each real one */
        FAKE_BAD_VERSION, /* answers HELLO with a version 2 header */
        FAKE_GARBAGE, /* answers HELLO with garbage */
        FAKE_REFUSE_HELLO, /* EPERM */
        FAKE_EXPECT_USER_MODE_ONLY,
        FAKE_REFUSE_AT_ACCEPT, /* a seq 0 error right after accept(), then hang up */
} FakeMode;

typedef struct Fake {
        char dir[48];
        char path[96]; /* fits sun_path */
        pid_t pid;
} Fake;

/* Exits the fake daemon with a message; the client side sees a non-zero exit status. */
#define FAKE_CHECK(e)                                                                          \
        do {                                                                                   \
                if (!(e)) {                                                                    \
                        fprintf(stderr, "  fake daemon: %s:%d: %s\n", __FILE__, __LINE__, #e); \
                        _exit(2);                                                              \
                }                                                                              \
        } while (0)

static bool fd_link_contains(int fd, const char *needle) {
        char p[64], target[PATH_MAX];
        ssize_t n;

        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        n = readlink(p, target, sizeof target - 1);
        if (n < 0)
                return false;
        target[n] = 0;
        return strstr(target, needle) != NULL;
}

static void fake_reply(int fd, const ProtoMessage *reply) {
        uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
        size_t len;

        FAKE_CHECK(proto_encode(reply, buf, sizeof buf, &len) >= 0);
        FAKE_CHECK(proto_send(fd, buf, len, NULL, 0) >= 0);
}

static void fake_reply_error(int fd, uint32_t seq, int error, const char *text) {
        uint8_t buf[PROTO_MESSAGE_MAX_BYTES];
        size_t len;

        FAKE_CHECK(proto_encode_reply(seq, error, text, buf, sizeof buf, &len) >= 0);
        FAKE_CHECK(proto_send(fd, buf, len, NULL, 0) >= 0);
}

static void fake_handle_hello(int c, const ProtoMessage *m, int *fds, size_t n_fds, FakeMode mode) {
        struct uffdio_api api = { .api = UFFD_API };

        FAKE_CHECK(m->type == PROTO_HELLO);
        FAKE_CHECK(n_fds == PROTO_HELLO_N_FDS);
        FAKE_CHECK(fd_link_contains(fds[PROTO_HELLO_FD_UFFD], "userfaultfd"));
        FAKE_CHECK(fd_link_contains(fds[PROTO_HELLO_FD_PIDFD], "pidfd"));
        FAKE_CHECK(fd_link_contains(fds[PROTO_HELLO_FD_PAGEMAP], "/pagemap"));
        FAKE_CHECK((fcntl(fds[PROTO_HELLO_FD_UFFD], F_GETFL) & O_NONBLOCK) != 0);
        /* Uninitialised: the daemon's UFFDIO_API is the first, and it works from here. */
        FAKE_CHECK(ioctl(fds[PROTO_HELLO_FD_UFFD], UFFDIO_API, &api) == 0);
        FAKE_CHECK(m->name && streq(m->name, "unit-test"));
        if (mode == FAKE_EXPECT_USER_MODE_ONLY)
                FAKE_CHECK(m->flags == PROTO_HELLO_USER_MODE_ONLY);
        else
                FAKE_CHECK(m->flags == 0);
        proto_close_fds(fds, n_fds);

        if (mode == FAKE_BAD_VERSION) {
                uint8_t b[PROTO_HEADER_BYTES] = {};
                uint32_t magic = PROTO_MAGIC, seq = m->seq;
                uint16_t version = 2, type = PROTO_REPLY;

                memcpy(b, &magic, 4);
                memcpy(b + 4, &version, 2);
                memcpy(b + 6, &type, 2);
                memcpy(b + 8, &seq, 4);
                FAKE_CHECK(proto_send(c, b, sizeof b, NULL, 0) >= 0);
                return;
        }
        if (mode == FAKE_GARBAGE) {
                FAKE_CHECK(proto_send(c, "garbage!garbage!garbage!", 24, NULL, 0) >= 0);
                return;
        }
        if (mode == FAKE_REFUSE_HELLO) {
                fake_reply_error(c, m->seq, EPERM, "policy says no");
                return;
        }
        fake_reply_error(c, m->seq, 0, NULL);
}

static bool overlaps(const ProtoRange *a, const ProtoRange *b) {
        return a->start < b->start + b->len && b->start < a->start + a->len;
}

static _Noreturn void fake_serve(int listen_fd, FakeMode mode) {
        ProtoRange tracked[64];
        char names[64][PROTO_NAME_MAX_BYTES + 1];
        size_t n_tracked = 0;
        uint8_t buf[PROTO_MESSAGE_MAX_BYTES + 1];
        int c;

        c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        FAKE_CHECK(c >= 0);
        if (mode == FAKE_REFUSE_AT_ACCEPT) {
                fake_reply_error(c, 0, EUSERS, "too many connections");
                _exit(0);
        }

        for (bool hello = false;;) {
                _cleanup_proto_message_ ProtoMessage m = {}, reply = {};
                int fds[PROTO_FDS_MAX];
                size_t len, n_fds;
                char reason[PROTO_REASON_MAX_BYTES];

                FAKE_CHECK(proto_recv(c, buf, sizeof buf, &len, fds, PROTO_FDS_MAX, &n_fds) >= 0);
                if (len == 0)
                        _exit(0); /* client went away */
                FAKE_CHECK(proto_decode(buf, len, reason, sizeof reason, &m) >= 0);

                if (!hello) {
                        fake_handle_hello(c, &m, fds, n_fds, mode);
                        hello = true;
                        continue;
                }
                FAKE_CHECK(n_fds == 0);
                if (mode == FAKE_STALE_REPLY)
                        fake_reply_error(c, m.seq - 1, EIO, "stale");

                proto_message_init(&reply, PROTO_REPLY, m.seq);
                switch (m.type) {
                case PROTO_TRACK:
                        if (mode == FAKE_HANGUP_ON_TRACK)
                                _exit(0);
                        FAKE_CHECK(m.n_ranges == 1);
                        for (size_t i = 0; i < n_tracked; i++)
                                if (overlaps(&tracked[i], &m.ranges[0])) {
                                        fake_reply_error(c, m.seq, EEXIST,
                                                         "range overlaps one already tracked");
                                        goto next;
                                }
                        FAKE_CHECK(n_tracked < ELEMENTSOF(tracked));
                        snprintf(names[n_tracked], sizeof names[0], "%s", m.name ? m.name : "");
                        tracked[n_tracked++] = m.ranges[0];
                        if (m.n_labels > 0)
                                FAKE_CHECK(streq(m.labels[0], "tier=test"));
                        break;
                case PROTO_UNTRACK: {
                        size_t i;

                        for (i = 0; i < n_tracked; i++)
                                if (tracked[i].start == m.ranges[0].start &&
                                    tracked[i].len == m.ranges[0].len)
                                        break;
                        if (i == n_tracked) {
                                fake_reply_error(c, m.seq, ENOENT, "not tracked");
                                goto next;
                        }
                        tracked[i] = tracked[--n_tracked];
                        memcpy(names[i], names[n_tracked], sizeof names[0]);
                        break;
                }
                case PROTO_STATUS: {
                        uint64_t bytes = 0;

                        FAKE_CHECK(proto_message_set_backend(&reply, "fake") >= 0);
                        for (size_t i = 0; i < n_tracked; i++) {
                                bytes += tracked[i].len;
                                FAKE_CHECK(proto_message_add_range_info(&reply, tracked[i].start,
                                                                        tracked[i].len,
                                                                        names[i]) >= 0);
                        }
                        FAKE_CHECK(proto_message_add_counter(&reply, "tracked_bytes", bytes) >= 0);
                        FAKE_CHECK(proto_message_add_counter(&reply, "clients", 1) >= 0);
                        break;
                }
                case PROTO_BYE:
                        if (mode == FAKE_SILENT_BYE) {
                                sleep(2); /* longer than the 1 s BYE timeout */
                                _exit(0);
                        }
                        fake_reply(c, &reply);
                        _exit(0);
                default:
                        FAKE_CHECK(!"unexpected message");
                }
                fake_reply(c, &reply);
next:;
        }
}

/* Listens on f->path and forks the fake daemon that serves it. */
static void fake_listen(Fake *f, FakeMode mode) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int l;

        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", f->path);
        l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        ASSERT_OK(l);
        ASSERT_OK(bind(l, (struct sockaddr *) &sa, sizeof sa));
        ASSERT_OK(listen(l, 4));
        f->pid = fork();
        ASSERT_OK(f->pid);
        if (f->pid == 0)
                fake_serve(l, mode);
        close(l);
}

static void fake_start(Fake *f, FakeMode mode) {
        snprintf(f->dir, sizeof f->dir, "/tmp/test-libuffdtier-XXXXXX");
        ASSERT_TRUE(mkdtemp(f->dir));
        snprintf(f->path, sizeof f->path, "%s/handoff.sock", f->dir);
        fake_listen(f, mode);
}

/* The daemon dies (as under SIGKILL): its socket path is left without a listener. */
static void fake_kill(Fake *f) {
        ASSERT_OK(kill(f->pid, SIGKILL));
        ASSERT_EQ(waitpid(f->pid, NULL, 0), f->pid);
        ASSERT_OK(unlink(f->path));
}

/* Waits for the fake daemon, which must have exited cleanly, and removes its socket. */
static void fake_stop(Fake *f) {
        int status;

        ASSERT_EQ(waitpid(f->pid, &status, 0), f->pid);
        unlink(f->path);
        rmdir(f->dir);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
}

static unsigned count_userfaultfds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        unsigned n = 0;

        ASSERT_TRUE(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && fd_link_contains(atoi(de->d_name), "userfaultfd"))
                        n++;
        closedir(d);
        return n;
}

static void *map(size_t len) {
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(p != MAP_FAILED);
        return p;
}

static void expect_last_error(struct uffdtier *h, const char *needle) {
        char text[UFFDTIER_ERROR_MAX + 1];

        ASSERT_OK(uffdtier_last_error(h, text, sizeof text));
        if (!strstr(text, needle))
                test_fail(__FILE__, __LINE__, "last error \"%s\" lacks \"%s\"", text, needle);
}

TEST(connect_track_status_disconnect) {
        static const char *const labels[] = { "tier=test", "team=", NULL };
        struct uffdtier_status *s = NULL;
        struct uffdtier *h = NULL;
        size_t ps = page_size();
        char text[64];
        uint64_t v;
        Fake f;
        char *mem;

        fake_start(&f, FAKE_NORMAL);
        mem = map(16 * ps);
        ASSERT_OK(uffdtier_connect(f.path, "unit-test", 0, &h));
        ASSERT_EQ(count_userfaultfds(), 0); /* our copy was closed (kernel-interfaces.md §5) */
        ASSERT_ERROR(uffdtier_last_error(h, text, sizeof text), ENODATA);

        ASSERT_OK(uffdtier_track(h, mem, 8 * ps - 1 /* rounded up */, "heap", labels));
        ASSERT_OK(uffdtier_track(h, mem + 8 * ps, 4 * ps, NULL, NULL));
        ASSERT_ERROR(uffdtier_track(h, mem + 2 * ps, ps, NULL, NULL), EEXIST);
        expect_last_error(h, "overlaps");

        ASSERT_OK(uffdtier_status(h, &s));
        ASSERT_ERROR(uffdtier_last_error(h, text, sizeof text), ENODATA); /* cleared */
        ASSERT_STREQ(s->backend, "fake");
        ASSERT_EQ(s->n_ranges, 2);
        ASSERT_TRUE(s->ranges[0].addr == mem);
        ASSERT_EQ(s->ranges[0].len, 8 * ps);
        ASSERT_STREQ(s->ranges[0].name, "heap");
        ASSERT_TRUE(s->ranges[1].name == NULL);
        ASSERT_OK(uffdtier_status_get_counter(s, "tracked_bytes", &v));
        ASSERT_EQ(v, 12 * ps);
        ASSERT_ERROR(uffdtier_status_get_counter(s, "nope", &v), ENOENT);
        uffdtier_status_free(s);

        ASSERT_OK(uffdtier_untrack(h, mem + 8 * ps, 4 * ps));
        ASSERT_ERROR(uffdtier_untrack(h, mem + 8 * ps, 4 * ps), ENOENT);
        expect_last_error(h, "not tracked");

        ASSERT_OK(uffdtier_disconnect(h));
        fake_stop(&f);
}

TEST(argument_errors) {
        static const char *const bad_label[] = { "nokey", NULL };
        static const char *const dup_labels[] = { "a=1", "a=2", NULL };
        const char *many[UFFDTIER_LABELS_MAX + 2];
        char labels[UFFDTIER_LABELS_MAX + 1][16];
        struct uffdtier *h = NULL;
        size_t ps = page_size();
        Fake f;
        char *mem;

        ASSERT_ERROR(uffdtier_connect("/nonexistent/x.sock", NULL, 0, &h), ENOENT);
        ASSERT_ERROR(uffdtier_connect("/tmp/x", NULL, 1u << 7, &h), EINVAL);
        ASSERT_ERROR(uffdtier_connect("/tmp/x", NULL,
                                      UFFDTIER_CONNECT_USER_MODE_ONLY |
                                              UFFDTIER_CONNECT_NO_USER_MODE_ONLY,
                                      &h),
                     EINVAL);
        ASSERT_ERROR(uffdtier_connect("/tmp/x", "bad\nname", 0, &h), EINVAL);
        char long_path[200];
        memset(long_path, 'p', sizeof long_path - 1);
        long_path[sizeof long_path - 1] = 0;
        ASSERT_ERROR(uffdtier_connect(long_path, NULL, 0, &h), ENAMETOOLONG);
        ASSERT_ERROR(uffdtier_connect(NULL, NULL, 0, NULL), EINVAL);
        ASSERT_TRUE(h == NULL);

        fake_start(&f, FAKE_NORMAL);
        /* $UFFDTIER_SOCKET is used when no path is given. */
        setenv("UFFDTIER_SOCKET", f.path, 1);
        ASSERT_OK(uffdtier_connect(NULL, "unit-test", 0, &h));
        mem = map(4 * ps);
        ASSERT_ERROR(uffdtier_track(h, mem + 1, ps, NULL, NULL), EINVAL);
        expect_last_error(h, "not page aligned");
        ASSERT_ERROR(uffdtier_track(h, mem, 0, NULL, NULL), EINVAL);
        ASSERT_ERROR(uffdtier_track(h, NULL, ps, NULL, NULL), EINVAL);
        ASSERT_ERROR(uffdtier_track(h, (void *) (UINTPTR_MAX - ps + 1), 2 * ps, NULL, NULL),
                     EINVAL);
        ASSERT_ERROR(uffdtier_track(h, mem, ps, "", NULL), EINVAL);
        ASSERT_ERROR(uffdtier_track(h, mem, ps, NULL, bad_label), EINVAL);
        expect_last_error(h, "Invalid label");
        ASSERT_ERROR(uffdtier_track(h, mem, ps, NULL, dup_labels), EEXIST);
        for (size_t i = 0; i <= UFFDTIER_LABELS_MAX; i++) {
                snprintf(labels[i], sizeof labels[i], "k%zu=v", i);
                many[i] = labels[i];
        }
        many[UFFDTIER_LABELS_MAX + 1] = NULL;
        ASSERT_ERROR(uffdtier_track(h, mem, ps, NULL, many), E2BIG);
        ASSERT_ERROR(uffdtier_track(NULL, mem, ps, NULL, NULL), EINVAL);
        ASSERT_ERROR(uffdtier_status(h, NULL), EINVAL);
        ASSERT_OK(uffdtier_disconnect(h));
        ASSERT_OK(uffdtier_disconnect(NULL));
        fake_stop(&f);
}

TEST(user_mode_only_flag) {
        struct uffdtier *h = NULL;
        Fake f;

        fake_start(&f, FAKE_EXPECT_USER_MODE_ONLY);
        ASSERT_OK(uffdtier_connect(f.path, "unit-test", UFFDTIER_CONNECT_USER_MODE_ONLY, &h));
        ASSERT_OK(uffdtier_disconnect(h));
        fake_stop(&f);
}

TEST(daemon_refuses) {
        struct uffdtier *h = NULL;
        Fake f;

        fake_start(&f, FAKE_REFUSE_HELLO);
        ASSERT_ERROR(uffdtier_connect(f.path, "unit-test", 0, &h), EPERM);
        ASSERT_TRUE(h == NULL);
        ASSERT_EQ(count_userfaultfds(), 0);
        /* the handle is gone, the daemon's words are not */
        char why[128];
        ASSERT_OK(uffdtier_last_error(NULL, why, sizeof why));
        ASSERT_STREQ(why, "policy says no");
        fake_stop(&f);
        /* a connect that fails before any daemon is reached says so, not the old refusal */
        ASSERT_ERROR(uffdtier_connect(f.path, "unit-test", 0, &h), ENOENT);
        ASSERT_OK(uffdtier_last_error(NULL, why, sizeof why));
        ASSERT_TRUE(strstr(why, "Cannot connect to uffdtierd") != NULL);
}

TEST(daemon_speaks_other_version) {
        struct uffdtier *h = NULL;
        Fake f;

        fake_start(&f, FAKE_BAD_VERSION);
        ASSERT_ERROR(uffdtier_connect(f.path, "unit-test", 0, &h), EPROTONOSUPPORT);
        fake_stop(&f);
}

TEST(daemon_sends_garbage) {
        struct uffdtier *h = NULL;
        Fake f;

        fake_start(&f, FAKE_GARBAGE);
        ASSERT_ERROR(uffdtier_connect(f.path, "unit-test", 0, &h), EPROTO);
        fake_stop(&f);
}

TEST(daemon_hangs_up) {
        struct uffdtier *h = NULL;
        size_t ps = page_size();
        Fake f;
        char *mem = map(ps);

        fake_start(&f, FAKE_HANGUP_ON_TRACK);
        ASSERT_OK(uffdtier_connect(f.path, "unit-test", 0, &h));
        ASSERT_ERROR(uffdtier_track(h, mem, ps, NULL, NULL), ECONNRESET);
        expect_last_error(h, "closed the connection");
        ASSERT_ERROR(uffdtier_untrack(h, mem, ps), ECONNRESET);
        ASSERT_ERROR(uffdtier_disconnect(h), ECONNRESET);
        fake_stop(&f);
}

TEST(stale_replies_skipped) {
        struct uffdtier_status *s = NULL;
        struct uffdtier *h = NULL;
        Fake f;

        fake_start(&f, FAKE_STALE_REPLY);
        ASSERT_OK(uffdtier_connect(f.path, "unit-test", 0, &h));
        ASSERT_OK(uffdtier_status(h, &s));
        uffdtier_status_free(s);
        ASSERT_OK(uffdtier_disconnect(h));
        fake_stop(&f);
}

TEST(bye_timeout) {
        struct uffdtier *h = NULL;
        uint64_t t;
        Fake f;

        fake_start(&f, FAKE_SILENT_BYE);
        ASSERT_OK(uffdtier_connect(f.path, "unit-test", 0, &h));
        t = now_usec();
        ASSERT_ERROR(uffdtier_disconnect(h), ETIMEDOUT);
        t = now_usec() - t;
        ASSERT_CMP(t, >=, 900 * USEC_PER_MSEC);
        ASSERT_CMP(t, <, 3 * USEC_PER_SEC);
        fake_stop(&f);
}

TEST(forked_child_cannot_use_handle) {
        struct uffdtier *h = NULL;
        size_t ps = page_size();
        char *mem = map(ps);
        int status;
        pid_t pid;
        Fake f;

        fake_start(&f, FAKE_NORMAL);
        ASSERT_OK(uffdtier_connect(f.path, "unit-test", 0, &h));
        pid = fork();
        ASSERT_OK(pid);
        if (pid == 0) {
                ASSERT_ERROR(uffdtier_track(h, mem, ps, NULL, NULL), EBADFD);
                ASSERT_OK(uffdtier_disconnect(h)); /* frees, sends nothing */
                _exit(0);
        }
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* The parent's session is intact. */
        ASSERT_OK(uffdtier_track(h, mem, ps, NULL, NULL));
        ASSERT_OK(uffdtier_disconnect(h));
        fake_stop(&f);
}

TEST(daemon_refuses_at_accept) {
        struct uffdtier *h = NULL;
        Fake f;

        /* Whether HELLO is sent before the daemon hangs up or fails with EPIPE, the refusal
         * that is already queued is what the caller gets. */
        fake_start(&f, FAKE_REFUSE_AT_ACCEPT);
        ASSERT_ERROR(uffdtier_connect(f.path, "unit-test", 0, &h), EUSERS);
        fake_stop(&f);
}

static void *status_loop(void *userdata) {
        struct uffdtier *h = userdata;

        for (int i = 0; i < 200; i++) {
                struct uffdtier_status *s = NULL;
                uint64_t v;

                if (uffdtier_status(h, &s) < 0 ||
                    uffdtier_status_get_counter(s, "clients", &v) < 0 || v != 1) {
                        uffdtier_status_free(s);
                        return (void *) 1;
                }
                uffdtier_status_free(s);
        }
        return NULL;
}

TEST(threads_share_a_handle) {
        struct uffdtier *h = NULL;
        pthread_t t[4];
        Fake f;

        /* Requests from several threads are serialised: every reply reaches its own caller. */
        fake_start(&f, FAKE_STALE_REPLY);
        ASSERT_OK(uffdtier_connect(f.path, "unit-test", 0, &h));
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                ASSERT_EQ(pthread_create(&t[i], NULL, status_loop, h), 0);
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                void *ret;
                ASSERT_EQ(pthread_join(t[i], &ret), 0);
                ASSERT_TRUE(ret == NULL);
        }
        ASSERT_OK(uffdtier_disconnect(h));
        fake_stop(&f);
}

/* The daemon restarts under a connected client: uffdtier_reconnect() starts a new session on the
 * same socket with a new userfaultfd and hands over what is tracked (names and labels as given,
 * the fake checks the label), without what was untracked. */
TEST(reconnect_after_restart) {
        static const char *const labels[] = { "tier=test", NULL };
        struct uffdtier_status *s = NULL;
        struct uffdtier *h = NULL;
        size_t ps = page_size();
        Fake f;
        char *mem;

        fake_start(&f, FAKE_NORMAL);
        mem = map(16 * ps);
        ASSERT_OK(uffdtier_connect(f.path, "unit-test", 0, &h));
        ASSERT_OK(uffdtier_track(h, mem, 8 * ps, "heap", labels));
        ASSERT_OK(uffdtier_track(h, mem + 8 * ps, 4 * ps, "gone", NULL));
        ASSERT_OK(uffdtier_untrack(h, mem + 8 * ps, 4 * ps));
        ASSERT_OK(uffdtier_track(h, mem + 12 * ps, 2 * ps - 1 /* rounded up */, NULL, NULL));
        ASSERT_ERROR(uffdtier_track(h, mem, ps, NULL, NULL), EEXIST); /* refused: not remembered */

        fake_kill(&f);
        ASSERT_TRUE(uffdtier_status(h, &s) < 0);
        /* no daemon yet: the handle stays unusable, the ranges stay remembered */
        ASSERT_TRUE(uffdtier_reconnect(h) < 0);
        ASSERT_ERROR(uffdtier_status(h, &s), ECONNRESET);

        fake_listen(&f, FAKE_NORMAL);
        ASSERT_OK(uffdtier_reconnect(h));
        ASSERT_EQ(count_userfaultfds(), 0); /* the new uffd went to the daemon only */
        ASSERT_OK(uffdtier_status(h, &s));
        ASSERT_EQ(s->n_ranges, 2);
        ASSERT_EQ(s->ranges[0].addr, mem);
        ASSERT_EQ(s->ranges[0].len, 8 * ps);
        ASSERT_STREQ(s->ranges[0].name, "heap");
        ASSERT_EQ(s->ranges[1].addr, mem + 12 * ps);
        ASSERT_EQ(s->ranges[1].len, 2 * ps);
        uffdtier_status_free(s);
        ASSERT_OK(uffdtier_disconnect(h));
        fake_stop(&f);
}
