/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One handed-over userfaultfd: the memory of one process (or of a forked child of one). The
 * Client owns the uffd, the process's pidfd and its pagemap fd, keeps the exact set of tracked
 * ranges across fork/mremap/munmap/MADV_DONTNEED (uffd events), and carries the tracking
 * engine's per-client state (tracker.h). Torn down when its connection ends or the process
 * exits; closing the uffd gives the process its memory back in full. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "list.h"
#include "macro.h"
#include "pagemap.h"
#include "rangeset.h"
#include "tracker.h"

typedef struct Manager Manager;
typedef struct Conn Conn;
typedef struct Client Client;

/* What a TRACK request said about its ranges; TrackedRange.tag indexes this. */
typedef struct TrackTag {
        char *name;
        char **labels; /* "key=value" */
        size_t n_labels;
} TrackTag;

struct Client {
        Manager *manager;
        uint64_t id;
        pid_t pid;
        uid_t uid;
        char *name;
        char *cgroup_path;     /* unified-hierarchy path, for PSI */

        int uffd;
        int pidfd;
        int pagemap_fd;
        bool user_mode_only;   /* kernel-mode accesses fault with EFAULT in sync windows */
        uint64_t features;     /* negotiated */

        Conn *conn;            /* the handoff connection; NULL for a forked child */
        uint64_t parent_id;    /* 0 unless created by a FORK event */

        sd_event_source *uffd_source;
        sd_event_source *pidfd_source;

        RangeSet ranges;
        TrackTag *tags;
        size_t n_tags;

        Tracker tracker;

        LIST_FIELDS(Client, clients);
};

/* Takes ownership of the three fds (closed on failure too). Negotiates the uffd for the
 * manager's backend. errbuf gets a message for the peer on failure. */
int client_new(Manager *m, int uffd, int pidfd, int pagemap_fd, pid_t pid, uid_t uid,
               bool user_mode_only, const char *name, char *errbuf, size_t errlen, Client **ret);
Client *client_free(Client *c);

/* Register [start, start+len) with the uffd and start tracking it. -errno + message. */
int client_track(Client *c, uint64_t start, uint64_t len, const char *name, char *const *labels,
                 size_t n_labels, char *errbuf, size_t errlen);
int client_untrack(Client *c, uint64_t start, uint64_t len, char *errbuf, size_t errlen);

/* Drain and apply pending uffd events (also called by the tracker when an ioctl says EAGAIN). */
int client_process_events(Client *c);

/* Record an error for status ("last error") and log it once. */
void client_set_error(Client *c, int error, const char *fmt, ...) _printf_(3, 4);

const char *client_tag_name(const Client *c, uint32_t tag);
