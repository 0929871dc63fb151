# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# nspawn.sh — a throwaway Debian 12 container whose PID 1 is a real systemd with a real system
# bus, on this kernel (systemd-nspawn). Sourced by test-systemd.sh after tests/integration/lib.sh.
#
#   ct_need_tools               skip (77) unless systemd-nspawn, debootstrap, nsenter are there
#   ct_rootfs                   the cached rootfs for $CT_PACKAGES (built once, under a lock):
#                               its path in $CT_ROOTFS; never written to after it is built
#   ct_new                      a run directory $CT_RUN (everything of this run goes there: the
#                               caller's staging trees too) and the run's cgroups; a cleanup
#                               (cleanup_push) removes them and powers the container off
#   ct_boot DIR...              boot a copy (an overlay) of the rootfs with the contents of each
#                               DIR copied over its / first; returns when the system is up
#   ct_exec CMD...              run CMD as root in the container's namespaces (nsenter)
#   ct_down                     power off and remove now, and fail unless nothing is left
#   ct_unit CMD...              run CMD as a transient service of the container's systemd and wait
#                               (stdin/stdout/stderr are the caller's): what a real unit gets. It
#                               waits in the background (in the run's cgroup), so a SIGTERM to the
#                               caller runs its cleanups at once.
#
# Where this host differs from a systemd machine, and what it takes:
# - PID 1 is not systemd and there is no host system bus: --register=no --keep-unit (else nspawn
#   asks machined over the bus and fails).
# - Hybrid cgroups (v1 controllers): SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 gives the container a pure
#   cgroup-v2 tree. Each run has a cgroup of its own in the v2 hierarchy and in the v1 name=systemd
#   one (nspawn makes payload/ and supervisor/ below both); teardown kills and removes it.
# - /run is not a tmpfs here: nspawn keeps state in /run/systemd/nspawn, so it runs in a private
#   mount namespace with a tmpfs there (and the overlay), which die with it.
# - /dev/userfaultfd is not in the container unless bound in. nspawn's capability set lacks
#   CAP_IPC_LOCK, which the unit gives the daemon for mlockall() on a real machine.
# - On a host whose PID 1 is systemd with a pure cgroup-v2 tree (a fresh Debian 12) the same works:
#   checked by running this file inside its own container, from a service of that systemd.
# - The driver may be SIGKILLed (meson's timeout): nspawn runs with a parent-death signal, so it
#   powers off; the next run removes what such a run left (cgroups, run directories).

CT_CACHE_DIR=${UFFDTIER_TEST_CACHE:-/var/cache/uffdtier-tests}
CT_RUN_PARENT=${UFFDTIER_TEST_RUNDIR:-/var/tmp}
CT_SUITE=bookworm
# The Debian mirror for debootstrap: $UFFDTIER_TEST_MIRROR, else the Debian archive in this
# machine's own apt sources (tests/apt-sources.sh), fetched through apt's proxy if it has one.
CT_MIRROR=${UFFDTIER_TEST_MIRROR:-}
# shellcheck source=../apt-sources.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../apt-sources.sh"
# What the installed project needs at run time, and jq for the checks' JSON.
CT_PACKAGES=systemd,systemd-sysv,dbus,libinih1,libjansson4,libcgroup2,jq
# Bump when ct_customize changes: it is part of the cache key.
CT_RECIPE=2
CT_BOOT_TIMEOUT_S=${UFFDTIER_TEST_BOOT_TIMEOUT:-120}
# more systemd-nspawn arguments (for debugging: --bind=..., --setenv=...)
[ -n "${CT_NSPAWN_ARGS+set}" ] || CT_NSPAWN_ARGS=()
CT_ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb
        LANG=C.UTF-8 HOME=/root SYSTEMD_PAGER= SYSTEMD_COLORS=0)

CT_ROOTFS='' CT_RUN='' CT_ID='' CT_NSPAWN_PID='' CT_LEADER='' CT_CG_V2='' CT_CG_V1=''

ct_log() { echo "nspawn: $*" >&2; }

ct_need_tools() {
        local t
        for t in systemd-nspawn debootstrap nsenter unshare setpriv flock; do
                command -v "$t" >/dev/null ||
                        skip "$t is not installed (scripts/install-deps.sh installs systemd-container and debootstrap)"
        done
        if [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
                CT_CG_V2=/sys/fs/cgroup/unified
        elif [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
                CT_CG_V2=/sys/fs/cgroup
        else
                skip "no cgroup2 hierarchy mounted: systemd-nspawn cannot boot a cgroup-v2 container"
        fi
        [ "$(stat -fc %T /sys/fs/cgroup/systemd 2>/dev/null)" = cgroupfs ] && CT_CG_V1=/sys/fs/cgroup/systemd
        return 0
}

ct_customize() { # ROOT: offline changes for a quick, quiet boot
        local r=$1
        systemctl --root="$r" set-default multi-user.target >/dev/null 2>&1
        # no getty on the console, no timers firing during a check
        systemctl --root="$r" mask console-getty.service getty@.service apt-daily.timer \
                apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
                e2scrub_reap.service systemd-tmpfiles-clean.timer >/dev/null 2>&1 || true
        mkdir -p "$r/etc/systemd/journald.conf.d"
        printf '[Journal]\nStorage=volatile\n' >"$r/etc/systemd/journald.conf.d/uffdtier-tests.conf"
        # an unprivileged user for the checks
        useradd --root "$r" --uid 1000 --user-group --create-home tester
        rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r/var/log/journal"
}

ct_rootfs() {
        local key tmp lock t0=$SECONDS
        ct_remove_stale
        if [ -z "$CT_MIRROR" ]; then
                apt_debian_mirror || skip "$APT_SOURCES_WHY: set UFFDTIER_TEST_MIRROR to a Debian mirror"
                CT_MIRROR=$APT_DEBIAN_MIRROR
        fi
        case $CT_MIRROR in
        http://* | https://* | ftp://* | file://*) ;;
        *) skip "debootstrap cannot fetch from $CT_MIRROR: set UFFDTIER_TEST_MIRROR to an http(s) Debian mirror" ;;
        esac
        key=$(printf '%s\n' "$CT_RECIPE" "$CT_SUITE" "$CT_MIRROR" "$CT_PACKAGES" | sha256sum | cut -c1-12)
        CT_ROOTFS=$CT_CACHE_DIR/rootfs-$CT_SUITE-$key
        mkdir -p "$CT_CACHE_DIR"
        exec {lock}>"$CT_CACHE_DIR/.lock-$key"
        flock "$lock"
        if [ ! -e "$CT_ROOTFS/etc/uffdtier-tests-rootfs" ]; then
                tmp=$CT_ROOTFS.tmp.$$
                rm -rf "$tmp"
                cleanup_push "rm -rf '$tmp'"
                ct_log "building $CT_ROOTFS (debootstrap $CT_SUITE: $CT_PACKAGES), once"
                if ! (apt_proxy_env && debootstrap --variant=minbase --include="$CT_PACKAGES" \
                        "$CT_SUITE" "$tmp" "$CT_MIRROR") >"$CT_CACHE_DIR/debootstrap-$key.log" 2>&1; then
                        tail -5 "$CT_CACHE_DIR/debootstrap-$key.log" >&2
                        rm -rf "$tmp"
                        exec {lock}>&-
                        # no network to the mirror is the one thing this machine may lack
                        if grep -qiE 'Failed getting release file|Temporary failure resolving|Could not resolve|Network is unreachable' \
                                "$CT_CACHE_DIR/debootstrap-$key.log"; then
                                skip "debootstrap cannot reach $CT_MIRROR (log: $CT_CACHE_DIR/debootstrap-$key.log)"
                        fi
                        fail "debootstrap failed (log: $CT_CACHE_DIR/debootstrap-$key.log)"
                fi
                ct_customize "$tmp"
                echo "$key $CT_PACKAGES" >"$tmp/etc/uffdtier-tests-rootfs"
                mv "$tmp" "$CT_ROOTFS"
                ct_log "rootfs built in $((SECONDS - t0)) s"
        fi
        exec {lock}>&-
}

# Leftovers of a run whose driver was SIGKILLed: its nspawn powered off (parent-death signal);
# remove its cgroups and its run directory.
ct_remove_stale() {
        local d id pid
        for d in "$CT_CG_V2"/uffdtier-ct-* "$CT_RUN_PARENT"/uffdtier-ct-* "$CT_CACHE_DIR"/rootfs-*.tmp.*; do
                [ -e "$d" ] || continue
                id=${d##*/}
                case $id in
                uffdtier-ct-*)
                        pid=${id#uffdtier-ct-}
                        pid=${pid%%-*}
                        ;;
                *) pid=${id##*.tmp.} ;;
                esac
                kill -0 "$pid" 2>/dev/null && continue
                ct_log "removing what the dead run $pid left: $d"
                case $id in
                uffdtier-ct-*)
                        _ct_cgroup_remove "$id"
                        [ -d "$CT_RUN_PARENT/$id" ] && ! grep -q " $CT_RUN_PARENT/$id/" /proc/self/mountinfo &&
                                rm -rf "${CT_RUN_PARENT:?}/$id"
                        ;;
                *) rm -rf "$d" ;; # a rootfs build that was killed
                esac
        done
        return 0
}

_ct_cgroup_remove() { # ID
        local id=$1 h p i
        if [ -d "$CT_CG_V2/$id" ]; then
                echo 1 >"$CT_CG_V2/$id/cgroup.kill" 2>/dev/null
                for ((i = 0; i < 100; i++)); do
                        grep -q '^populated 0' "$CT_CG_V2/$id/cgroup.events" && break
                        sleep 0.05
                done
        fi
        for h in $CT_CG_V2 $CT_CG_V1; do
                [ -d "$h/$id" ] || continue
                # v1 has no cgroup.kill: whatever is still listed (normally nothing)
                find "$h/$id" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r p; do
                        kill -KILL "$p" 2>/dev/null
                done
                find "$h/$id" -depth -type d -exec rmdir {} + 2>/dev/null ||
                        ct_log "WARNING: cannot remove cgroup $h/$id"
        done
        return 0
}

CT_DOWN=0
_ct_teardown() {
        local i
        [ "$CT_DOWN" = 0 ] || return 0
        CT_DOWN=1
        if [ -n "$CT_NSPAWN_PID" ] && kill -0 "$CT_NSPAWN_PID" 2>/dev/null; then
                kill -TERM "$CT_NSPAWN_PID" 2>/dev/null # nspawn: a clean poweroff
                for ((i = 0; i < 300; i++)); do
                        kill -0 "$CT_NSPAWN_PID" 2>/dev/null || break
                        sleep 0.1
                done
                if kill -0 "$CT_NSPAWN_PID" 2>/dev/null; then
                        ct_log "container did not power off in 30 s: SIGKILL"
                        kill -KILL "$CT_NSPAWN_PID" 2>/dev/null
                fi
                wait "$CT_NSPAWN_PID" 2>/dev/null
        fi
        _ct_cgroup_remove "$CT_ID"
        # The overlay and the tmpfs lived in nspawn's private mount namespace, gone with it.
        if grep -q " $CT_RUN/" /proc/self/mountinfo; then
                ct_log "WARNING: something is still mounted under $CT_RUN: not removing it"
        else
                rm -rf "$CT_RUN"
        fi
        return 0
}

# ct_down: power the container off and remove the run now, then check that nothing is left:
# no process of the run, no cgroup, no mount, no run directory, no overlay of this run.
ct_down() {
        local left=() h
        _ct_teardown
        kill -0 "$CT_NSPAWN_PID" 2>/dev/null && left+=("systemd-nspawn (pid $CT_NSPAWN_PID)")
        [ -n "$CT_LEADER" ] && kill -0 "$CT_LEADER" 2>/dev/null && left+=("the container's PID 1 ($CT_LEADER)")
        for h in $CT_CG_V2 $CT_CG_V1; do
                [ -e "$h/$CT_ID" ] && left+=("cgroup $h/$CT_ID")
        done
        [ -e "$CT_RUN" ] && left+=("$CT_RUN")
        grep -qF "$CT_ID" /proc/self/mountinfo && left+=("a mount of $CT_ID")
        grep -qF "upperdir=$CT_RUN/upper" /proc/[0-9]*/mountinfo 2>/dev/null && left+=("the run's overlay")
        [ ${#left[@]} = 0 ] || fail "the run left: ${left[*]}"
        echo "container $CT_ID powered off and removed: nothing left"
}

# Runs in a private mount namespace: the overlay over the cached rootfs, the trees copied in
# (keeping the rootfs's /lib -> usr/lib symlinks), a tmpfs for nspawn's state, then nspawn.
# shellcheck disable=SC2016
_CT_INNER='
set -e
run=$1 rootfs=$2
shift 2
m=$run/merged
mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$run/upper,workdir=$run/work" "$m"
while [ "$1" != -- ]; do
        tar -C "$1" -cf - . | tar -C "$m" --keep-directory-symlink --no-overwrite-dir -xpf -
        shift
done
shift
mkdir -p /run/systemd/nspawn
mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn
exec systemd-nspawn --directory="$m" "$@"
'

ct_new() {
        local d
        ct_remove_stale
        CT_ID=uffdtier-ct-$$-$RANDOM
        CT_RUN=$CT_RUN_PARENT/$CT_ID
        mkdir -m 0700 "$CT_RUN" || fail "cannot make $CT_RUN"
        cleanup_push _ct_teardown
        mkdir "$CT_RUN/upper" "$CT_RUN/work" "$CT_RUN/merged"
        for d in $CT_CG_V2 $CT_CG_V1; do mkdir "$d/$CT_ID" || fail "cannot make cgroup $d/$CT_ID"; done
}

ct_boot() { # DIR...: trees to copy over the rootfs's /
        local d state deadline c
        local args=(--boot --register=no --keep-unit --machine="$CT_ID" --console=read-only
                --link-journal=no --resolv-conf=off --timezone=off --private-network
                --bind=/dev/userfaultfd --capability=CAP_IPC_LOCK "${CT_NSPAWN_ARGS[@]}")
        local dirs=()
        for d; do dirs+=("$(realpath "$d")"); done
        (
                echo "$BASHPID" >"$CT_CG_V2/$CT_ID/cgroup.procs"
                [ -z "$CT_CG_V1" ] || echo "$BASHPID" >"$CT_CG_V1/$CT_ID/cgroup.procs"
                export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
                # setsid: no terminal signals; pdeathsig: a SIGKILLed driver still powers it off
                exec setsid setpriv --pdeathsig TERM unshare --mount --propagation private \
                        bash -c "$_CT_INNER" ct-inner "$CT_RUN" "$CT_ROOTFS" "${dirs[@]}" -- "${args[@]}"
        ) </dev/null >"$CT_RUN/console.log" 2>&1 &
        CT_NSPAWN_PID=$!
        deadline=$((SECONDS + CT_BOOT_TIMEOUT_S))
        CT_LEADER=
        while :; do
                kill -0 "$CT_NSPAWN_PID" 2>/dev/null || { _ct_console; fail "systemd-nspawn exited during boot"; }
                [ $SECONDS -lt $deadline ] || { _ct_console; fail "not booted in ${CT_BOOT_TIMEOUT_S} s (${state:-no state})"; }
                if [ -z "$CT_LEADER" ]; then
                        # nspawn's children (no procps needed)
                        for c in $(cat /proc/"$CT_NSPAWN_PID"/task/*/children 2>/dev/null); do
                                [ "$(cat "/proc/$c/comm" 2>/dev/null)" = systemd ] && CT_LEADER=$c
                        done
                        [ -n "$CT_LEADER" ] || { sleep 0.05; continue; }
                fi
                state=$(timeout 5 "${CT_ENV[@]}" nsenter --target "$CT_LEADER" --all --root --wd \
                        systemctl is-system-running --wait 2>/dev/null) || true
                case $state in
                running) break ;;
                degraded)
                        ct_log "WARNING: the container's system is degraded:"
                        ct_exec systemctl --failed --no-legend >&2
                        break
                        ;;
                "" | offline | initializing | starting) sleep 0.1 ;;
                *) _ct_console; fail "container: is-system-running says $state" ;;
                esac
        done
}

_ct_console() {
        ct_log "---- container console (last 30 lines) ----"
        tail -30 "$CT_RUN/console.log" | sed 's/\x1b\[[0-9;]*m//g' >&2
}

ct_exec() {
        "${CT_ENV[@]}" nsenter --target "$CT_LEADER" --all --root --wd "$@"
}

ct_unit() {
        local pid rc
        [ -d "$CT_CG_V2/$CT_ID/exec" ] || mkdir "$CT_CG_V2/$CT_ID/exec"
        (
                echo "$BASHPID" >"$CT_CG_V2/$CT_ID/exec/cgroup.procs"
                exec "${CT_ENV[@]}" nsenter --target "$CT_LEADER" --all --root --wd \
                        systemd-run --quiet --pipe --wait --collect --service-type=exec \
                        --unit="uffdtier-check-$$" -p WorkingDirectory=/root "$@"
        ) &
        pid=$!
        wait "$pid"
        rc=$?
        return $rc
}
