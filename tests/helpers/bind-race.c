/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bind-race.so: an LD_PRELOAD shim for the socket hardening test. It plays the attacker who wins
 * the race between the daemon's bind() of its unix socket and whatever the daemon does next by
 * path: right after a successful bind() of an AF_UNIX path, it atomically replaces the new socket
 * file with a symbolic link to $BIND_RACE_SYMLINK_TO (symlink() next to it, then rename() over
 * it). A daemon that then calls chmod() on the path changes the link's target instead. Without
 * $BIND_RACE_SYMLINK_TO it does nothing. */

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

__attribute__((visibility("default"))) int bind(int fd, const struct sockaddr *sa, socklen_t len) {
        static int (*real_bind)(int, const struct sockaddr *, socklen_t);
        const struct sockaddr_un *un = (const struct sockaddr_un *) sa;
        const char *target = getenv("BIND_RACE_SYMLINK_TO");
        char path[sizeof un->sun_path + 1], tmp[sizeof path + 16];
        int r, saved;

        if (!real_bind)
                real_bind = (int (*)(int, const struct sockaddr *, socklen_t)) dlsym(RTLD_NEXT,
                                                                                     "bind");
        if (!real_bind) {
                errno = ENOSYS;
                return -1;
        }
        r = real_bind(fd, sa, len);
        if (r < 0 || !target || !sa || sa->sa_family != AF_UNIX || len <= sizeof(sa_family_t) ||
            un->sun_path[0] != '/')
                return r;
        saved = errno;
        memset(path, 0, sizeof path);
        memcpy(path, un->sun_path,
               (size_t) len - sizeof(sa_family_t) < sizeof un->sun_path
                       ? (size_t) len - sizeof(sa_family_t)
                       : sizeof un->sun_path);
        snprintf(tmp, sizeof tmp, "%s.race", path);
        (void) unlink(tmp);
        if (symlink(target, tmp) < 0 || rename(tmp, path) < 0)
                fprintf(stderr, "bind-race: cannot replace %s with a link to %s: %m\n", path,
                        target);
        else
                fprintf(stderr, "bind-race: replaced %s with a link to %s\n", path, target);
        errno = saved;
        return r;
}
