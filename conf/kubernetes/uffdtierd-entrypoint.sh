#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# uffdtierd-entrypoint.sh [UFFDTIERD ARGS...] — the uffdtierd container of the DaemonSet
# (uffdtierd-daemonset.yaml), installed in the image (Containerfile) as
# /usr/libexec/uffdtier/uffdtierd-entrypoint. In order:
#
# 1. Into the host's cgroup namespace. On a cgroup v2 node the container runtime gives an
#    unprivileged container a cgroup namespace of its own (containerd's CRI does; Kubernetes has no
#    field to ask for the host's): the daemon would read a client's cgroup as "/../../kubepods..."
#    and neither match a policy nor find its memory.current. nsenter(1) joins the namespace of the
#    host's PID 1 (hostPID: the container sees it); this setns(2) is the one use of CAP_SYS_ADMIN,
#    which the container has for it alone.
# 2. CAP_SYS_ADMIN and CAP_SETPCAP out of the bounding and inheritable sets (setpriv(1); dropping
#    from the bounding set is what CAP_SETPCAP is there for: root regains whatever is left in it
#    at the next execve). What runs from here on, uffdtierd included, has the five capabilities of
#    uffdtierd.service and no more.
# 3. The launcher (uffdtier-run, its preload library, libuffdtier: the image keeps them in
#    $UFFDTIER_LAUNCHER_DIR) copied to $UFFDTIER_RUN_DIR/launcher, where pods mount it from the host with the handoff socket; each
#    file replaced by a rename, so a pod that has it mapped keeps its copy.
# 4. A bus of the DaemonSet's own on $UFFDTIER_RUN_DIR/bus (bus.conf), for node agents and
#    uffdtierctl (the liveness probe, the metrics container): $UFFDTIER_BUS_ADDRESS.
# 5. exec uffdtierd on that bus, its handoff socket at $UFFDTIER_RUN_DIR/handoff.sock.
#
# Environment (the defaults are the image's paths; test-kubernetes.sh runs this script from a build
# tree with its own): UFFDTIER_RUN_DIR (/run/uffdtierd), UFFDTIERD (uffdtierd),
# UFFDTIER_BUS_CONF (/usr/share/uffdtier/kubernetes/bus.conf), UFFDTIER_LAUNCHER_DIR
# (/usr/lib/uffdtier/launcher), UFFDTIER_HOST_CGROUPNS (1: steps 1 and 2, 0: neither; default 1),
# UFFDTIER_HOST_PID (1: the process whose cgroup namespace is the host's).
set -eu

RUN_DIR=${UFFDTIER_RUN_DIR:-/run/uffdtierd}
BUS_CONF=${UFFDTIER_BUS_CONF:-/usr/share/uffdtier/kubernetes/bus.conf}
UFFDTIERD=${UFFDTIERD:-uffdtierd}
LAUNCHER_DIR=${UFFDTIER_LAUNCHER_DIR:-/usr/lib/uffdtier/launcher}
HOST_PID=${UFFDTIER_HOST_PID:-1}
BUS_ADDRESS=unix:path=$RUN_DIR/bus

say() { echo "uffdtierd-entrypoint: $*" >&2; }

if [ "${UFFDTIER_HOST_CGROUPNS:-1}" = 1 ] && [ "${UFFDTIER_ENTRYPOINT_STAGE:-}" != 2 ]; then
        host_ns=$(readlink "/proc/$HOST_PID/ns/cgroup") || {
                say "cannot read /proc/$HOST_PID/ns/cgroup: is hostPID: true set, and CAP_SYS_PTRACE given?"
                exit 1
        }
        if [ "$(readlink /proc/self/ns/cgroup)" != "$host_ns" ]; then
                say "joining the host's cgroup namespace (that of PID $HOST_PID)"
                NSENTER="nsenter --cgroup=/proc/$HOST_PID/ns/cgroup --"
        else
                NSENTER=
        fi
        export UFFDTIER_ENTRYPOINT_STAGE=2
        # shellcheck disable=SC2086 # NSENTER is a command or nothing
        exec $NSENTER setpriv --bounding-set=-sys_admin,-setpcap --inh-caps=-sys_admin,-setpcap -- "$0" "$@"
fi
unset UFFDTIER_ENTRYPOINT_STAGE
say "cgroup $(sed -n 's/^0:://p' /proc/self/cgroup), capability bounding set $(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)"

mkdir -p "$RUN_DIR"
chmod 0755 "$RUN_DIR"

# The launcher for pods: what the image has of it.
mkdir -p "$RUN_DIR/launcher"
chmod 0755 "$RUN_DIR/launcher"
n=0
for f in "$LAUNCHER_DIR"/*; do
        [ -f "$f" ] || continue
        dest=$RUN_DIR/launcher/${f##*/}
        cp -L "$f" "$dest.new"
        chmod 0755 "$dest.new"
        mv -f "$dest.new" "$dest"
        n=$((n + 1))
done
say "$n launcher files in $RUN_DIR/launcher"

# The bus: a fresh socket each start (a stale one from a killed container is removed).
rm -f "$RUN_DIR/bus"
dbus-daemon --config-file="$BUS_CONF" --address="$BUS_ADDRESS" --nofork --nopidfile --nosyslog &
i=0
while [ ! -S "$RUN_DIR/bus" ]; do
        kill -0 $! 2>/dev/null || { say "dbus-daemon exited"; exit 1; }
        i=$((i + 1))
        [ $i -le 100 ] || { say "dbus-daemon did not make $RUN_DIR/bus"; exit 1; }
        sleep 0.1
done
chmod 0666 "$RUN_DIR/bus"
export UFFDTIER_BUS_ADDRESS="$BUS_ADDRESS"
say "bus on $BUS_ADDRESS"

# dbus-daemon stays this process's child: uffdtierd is PID 1 of the container from here on; when
# the bus goes away, uffdtierctl status fails and the liveness probe restarts the container.
exec "$UFFDTIERD" --socket="$RUN_DIR/handoff.sock" --bus-address="$BUS_ADDRESS" "$@"
