/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The handoff socket: where cooperating processes connect (SOCK_SEQPACKET, docs/PROTOCOL.md),
 * prove who they are and hand over their userfaultfd. One Conn per connection; after a good
 * HELLO it owns one Client. Every bad request gets an error REPLY naming the problem, and the
 * connection (and everyone else's) keeps being served. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "list.h"

typedef struct Manager Manager;
typedef struct Client Client;

typedef struct Conn {
        Manager *manager;
        int fd;
        sd_event_source *source;
        pid_t pid;              /* SO_PEERCRED at connect time */
        uid_t uid;
        gid_t gid;
        int peer_pidfd;         /* SO_PEERPIDFD where the kernel has it (6.5+), else -EBADF */
        Client *client;         /* after HELLO */
        bool hello_done;
        unsigned n_requests;
        unsigned n_errors;
        LIST_FIELDS(struct Conn, conns);
} Conn;

/* Takes the listening socket from systemd (sd_listen_fds) or creates m->socket_path. */
int handoff_listen(Manager *m);
void handoff_close(Manager *m);

Conn *handoff_conn_free(Conn *c);
/* The client died on its own (process exit): forget it, keep the connection until it closes. */
void handoff_conn_client_gone(Conn *c);
