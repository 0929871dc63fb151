/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/capability.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"
#include "macro.h"

/* capget/capset without libcap: version 3, two 32-bit words. */
static int caps_get(struct __user_cap_data_struct data[2]) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };

        if (syscall(SYS_capget, &h, data) < 0)
                return negative_errno();
        return 0;
}

static int caps_set(struct __user_cap_data_struct data[2]) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };

        if (syscall(SYS_capset, &h, data) < 0)
                return negative_errno();
        return 0;
}

/* What grants a PTRACE_MODE_READ check on another user's process besides matching credentials:
 * CAP_SYS_PTRACE, and (seen on 6.18: process_madvise on a uid-1234 process with fsuid 65534 and
 * only CAP_SYS_NICE + one of these allowed) CAP_SYS_ADMIN and CAP_PERFMON. All three leave the
 * effective set while acting for a client. */
static const int ptrace_granting_caps[] = { CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_PERFMON };

static int caps_effective_set(bool on) {
        struct __user_cap_data_struct data[2] = {};
        int r;

        r = caps_get(data);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(ptrace_granting_caps); i++) {
                unsigned cap = (unsigned) ptrace_granting_caps[i], word = cap / 32,
                         bit = 1U << (cap % 32);

                if (on)
                        data[word].effective |= bit & data[word].permitted;
                else
                        data[word].effective &= ~bit;
        }
        return caps_set(data);
}

int creds_assume(uid_t uid, gid_t gid, Creds *saved) {
        int r;

        *saved = (Creds){ .fsuid = (uid_t) setfsuid((uid_t) -1),
                          .fsgid = (gid_t) setfsgid((gid_t) -1) };
        if (uid == 0)
                return 0; /* a root client: nothing to narrow */

        /* setfsgid first: once fsuid is not 0 the daemon loses the right to change it */
        (void) setfsgid(gid);
        if ((gid_t) setfsgid((gid_t) -1) != gid)
                return -EPERM;
        (void) setfsuid(uid);
        saved->active = true;
        if ((uid_t) setfsuid((uid_t) -1) != uid) {
                creds_restore(saved);
                return -EPERM;
        }
        r = caps_effective_set(false);
        if (r < 0) {
                creds_restore(saved);
                return r;
        }
        saved->dropped_caps = true;
        return 0;
}

void creds_restore(Creds *saved) {
        if (saved->dropped_caps) {
                int r = caps_effective_set(true);
                if (r < 0)
                        log_error_errno(
                                r, "cannot restore CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_PERFMON: %m");
                saved->dropped_caps = false;
        }
        if (saved->active) {
                /* back to root first: its fs capabilities return with fsuid 0 */
                (void) setfsuid(saved->fsuid);
                (void) setfsgid(saved->fsgid);
                saved->active = false;
        }
}
