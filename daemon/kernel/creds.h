/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Acting with a client's authority. The daemon runs as root with CAP_SYS_PTRACE and CAP_SYS_NICE,
 * but it must never touch memory its client could not touch itself. Around each call that acts
 * on another process (process_madvise through the client's pidfd, opening /proc/PID/maps or a
 * forked child's pagemap), the calling thread takes the client's filesystem uid and gid and
 * drops CAP_SYS_PTRACE (and CAP_SYS_ADMIN and CAP_PERFMON, which pass the same check) from its
 * effective set: the kernel's own ptrace check (PTRACE_MODE_READ
 * with fs credentials) then refuses a process that is not the client's to read: one that has
 * exec'd a setuid program, or any other user's. CAP_SYS_NICE stays (process_madvise needs it).
 * A client that is root keeps the daemon's full authority: it has it anyway.
 *
 * The daemon is single-threaded; fsuid, fsgid and capabilities are per thread. */

#include <stdbool.h>
#include <sys/types.h>

typedef struct Creds {
        uid_t fsuid;
        gid_t fsgid;
        bool dropped_caps; /* CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_PERFMON left the effective set */
        bool active;
} Creds;

/* Become the client (uid, gid) for fs-credential checks. *saved must be given to creds_restore
 * whatever this returns. -errno when the switch could not be made (nothing is then changed). */
int creds_assume(uid_t uid, gid_t gid, Creds *saved);
void creds_restore(Creds *saved);
