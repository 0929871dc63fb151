/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sending and receiving one protocol packet, with descriptors, on an AF_UNIX SOCK_SEQPACKET
 * socket. Works on blocking and non-blocking sockets alike (a non-blocking one gives -EAGAIN);
 * EINTR is retried. No logging: the daemon and libuffdtier both use this. */

#include <stddef.h>

/* Sends buf as one packet with n_fds descriptors (SCM_RIGHTS; at most PROTO_FDS_MAX). Uses
 * MSG_NOSIGNAL, so a closed peer gives -EPIPE rather than SIGPIPE. The caller keeps its copies of
 * the descriptors. Returns 0, or -EINVAL (n_fds too large, len 0), -EAGAIN, -EPIPE, -EMSGSIZE
 * (larger than the socket's send buffer allows), or another -errno from sendmsg(). */
int proto_send(int fd, const void *buf, size_t len, const int *fds, size_t n_fds);

/* Receives one packet into buf. Descriptors arrive with O_CLOEXEC set (MSG_CMSG_CLOEXEC); the
 * first max_fds of them are stored in ret_fds (owned by the caller afterwards), any further ones
 * are closed. Returns:
 *   >= 0          the number of surplus descriptors that were closed (0 normally); *ret_len is
 *                 the packet length, 0 meaning the peer closed the connection
 *   -EBADMSG      an empty packet (SOCK_SEQPACKET delivers those; the protocol has none). Told
 *                 apart from end of file only when fd has SO_PASSCRED set (proto_recv_creds_on());
 *                 without it an empty packet reads as end of file
 *   -EMSGSIZE     the packet did not fit in size bytes (MSG_TRUNC)
 *   -ETOOMANYREFS more than PROTO_FDS_MAX descriptors were attached
 *   -EMFILE       the descriptors could not be received (MSG_CTRUNC: out of descriptors)
 *   -EAGAIN, or another -errno from recvmsg()
 * After -EBADMSG, -EMSGSIZE, -ETOOMANYREFS and -EMFILE the packet is consumed and every
 * descriptor that arrived with it is closed. ret_fds may be NULL when max_fds is 0; ret_n_fds may
 * be NULL (then descriptors are closed). Out parameters are written only on success. */
int proto_recv(int fd, void *buf, size_t size, size_t *ret_len, int *ret_fds, size_t max_fds,
               size_t *ret_n_fds);

/* Sets SO_PASSCRED on fd, so that proto_recv() tells an empty packet from end of file: every
 * dequeued packet then carries SCM_CREDENTIALS, end of file nothing (Linux; checked on 6.18). For
 * the receiving side of a connection whose address is already bound (an accept()ed socket): on an
 * unbound socket the kernel would autobind it to an abstract address on the next send. */
int proto_recv_creds_on(int fd);

/* Closes n descriptors of an array (skipping negative ones) and sets them to -EBADF. */
void proto_close_fds(int *fds, size_t n);
