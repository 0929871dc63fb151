/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "protocol-io.h"
#include "protocol.h"

void proto_close_fds(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                fds[i] = safe_close(fds[i]);
}

int proto_send(int fd, const void *buf, size_t len, const int *fds, size_t n_fds) {
        union {
                struct cmsghdr align;
                uint8_t buf[CMSG_SPACE(sizeof(int) * PROTO_FDS_MAX)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (len == 0 || n_fds > PROTO_FDS_MAX || (n_fds > 0 && !fds))
                return -EINVAL;
        if (n_fds > 0) {
                struct cmsghdr *c;

                mh.msg_control = control.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }

        do
                n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        /* A SOCK_SEQPACKET packet is sent whole or not at all. */
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

/* The kernel's SCM_MAX_FD: the most descriptors one sendmsg() can carry. Room for all of them means
 * the kernel never truncates descriptors for lack of space, so every descriptor that came is
 * counted (and closed), and too many is told apart from a packet too large. */
#define PROTO_RECV_FDS_ROOM 253

int proto_recv(int fd, void *buf, size_t size, size_t *ret_len, int *ret_fds, size_t max_fds,
               size_t *ret_n_fds) {
        union {
                struct cmsghdr align;
                uint8_t buf[CMSG_SPACE(sizeof(struct ucred)) +
                            CMSG_SPACE(sizeof(int) * PROTO_RECV_FDS_ROOM)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control.buf,
                .msg_controllen = sizeof control.buf,
        };
        int fds[PROTO_FDS_MAX];
        size_t n_fds = 0, n_all = 0, kept;
        bool creds = false;
        ssize_t n;

        if (!ret_fds || !ret_n_fds)
                max_fds = 0;

        do
                n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();

        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                const uint8_t *data = CMSG_DATA(c);
                size_t k;

                if (c->cmsg_level != SOL_SOCKET)
                        continue;
                if (c->cmsg_type == SCM_CREDENTIALS) {
                        creds = true;
                        continue;
                }
                if (c->cmsg_type != SCM_RIGHTS)
                        continue;
                k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++, n_all++) {
                        int d;

                        memcpy(&d, data + i * sizeof(int), sizeof d);
                        if (n_fds < ELEMENTSOF(fds))
                                fds[n_fds++] = d;
                        else
                                safe_close(d);
                }
        }

        if (mh.msg_flags & MSG_TRUNC) {
                proto_close_fds(fds, n_fds);
                return -EMSGSIZE;
        }
        if (n_all > PROTO_FDS_MAX) {
                proto_close_fds(fds, n_fds);
                return -ETOOMANYREFS;
        }
        if (mh.msg_flags & MSG_CTRUNC) {
                /* Not for lack of room (there is room for SCM_MAX_FD): the kernel could not
                 * install the descriptors, i.e. this process is out of them. */
                proto_close_fds(fds, n_fds);
                return -EMFILE;
        }
        if (n == 0) {
                proto_close_fds(fds, n_fds);
                /* A dequeued packet carries SCM_CREDENTIALS when SO_PASSCRED is on, end of file
                 * carries nothing: the one reliable way to tell them apart (MSG_EOR is never set
                 * on AF_UNIX, and EPOLLRDHUP only says the peer shut down, maybe after sending). */
                if (creds)
                        return -EBADMSG;
                *ret_len = 0;
                if (ret_n_fds)
                        *ret_n_fds = 0;
                return 0;
        }

        kept = MIN(n_fds, max_fds);
        proto_close_fds(fds + kept, n_fds - kept);
        if (kept > 0)
                memcpy(ret_fds, fds, kept * sizeof(int));
        *ret_len = (size_t) n;
        if (ret_n_fds)
                *ret_n_fds = kept;
        return (int) (n_fds - kept);
}

int proto_recv_creds_on(int fd) {
        int one = 1;

        if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
                return negative_errno();
        return 0;
}
