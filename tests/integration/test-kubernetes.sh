#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The DaemonSet's container as a node runs it, without Kubernetes: conf/kubernetes's entrypoint
# (uffdtierd-entrypoint.sh) starts with the container's capabilities only (the unit's five,
# SYS_ADMIN and SETPCAP: setpriv) in a cgroup namespace of its own rooted at a cgroup of its own
# (what containerd gives an unprivileged container on cgroup v2), with the ConfigMap's files as
# /etc/uffdtierd. It must join the host's cgroup namespace, run uffdtierd with the unit's five
# capabilities and no more, serve the bus (bus.conf) that uffdtierctl — the liveness probe — uses,
# to root fully and to others read-only, copy the launcher where pods mount it, and give clients in
# pod cgroups of either kubelet cgroup driver the policy of their QoS class.
# Usage: test-kubernetes.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"
SRC=$(cd "$HERE/../.." && pwd)
K8S=$SRC/conf/kubernetes

need_root
need_uffd
need_backend
for tool in dbus-daemon nsenter unshare setpriv jq python3; do
        command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed (yamllint brings it)"
CTL=$BUILD/client/uffdtierctl
[ -x "$CTL" ] || fail "uffdtierctl not built at $CTL"
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG2" ] || skip "no cgroup2 hierarchy mounted"

# -- the ConfigMap's files, where the DaemonSet mounts them (items: key -> path)
ETC=$WORK/etc
python3 - "$K8S/uffdtierd-daemonset.yaml" "$ETC" <<'EOF' || fail "cannot extract the ConfigMap"
import os, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
ds = next(d for d in docs if d["kind"] == "DaemonSet")
vol = next(v for v in ds["spec"]["template"]["spec"]["volumes"] if v["name"] == "config")
cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == vol["configMap"]["name"])
for item in vol["configMap"]["items"]:
    path = os.path.join(sys.argv[2], item["path"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write(cm["data"][item["key"]])
EOF
echo "ConfigMap: $(cd "$ETC" && find . -type f | sort | tr '\n' ' ')"

# -- the bus configuration, with org.uffdtier1.conf from the tree instead of the installed one
sed "s|/usr/share/dbus-1/system.d/org.uffdtier1.conf|$SRC/conf/org.uffdtier1.conf|" "$K8S/bus.conf" >"$WORK/bus.conf"
# -- the image's launcher directory: what this build has of it
mkdir "$WORK/launcher-src"
for f in "$BUILD/client/libuffdtier.so.1" "$BUILD/client/libuffdtier-preload.so" "$BUILD/client/uffdtier-run"; do
        [ -e "$f" ] && cp -L "$f" "$WORK/launcher-src/"
done
nlauncher=$(ls "$WORK/launcher-src" | wc -l)
[ "$nlauncher" -ge 1 ] || fail "no libuffdtier.so.1 in $BUILD/client"

# -- cgroups: the container's (its namespace root) and three pods'
declare -a MADE=()
cg_make() { # PATH: mkdir -p, remembering what this test made (removed at cleanup, deepest first)
        local p="" part
        IFS=/ read -ra parts <<<"${1#/}"
        for part in "${parts[@]}"; do
                p=$p/$part
                [ -d "$CG2$p" ] && continue
                mkdir "$CG2$p" || fail "cannot create the cgroup $CG2$p"
                MADE+=("$p")
        done
}
cg_cleanup() {
        local i p
        for ((i = ${#MADE[@]} - 1; i >= 0; i--)); do
                p=${MADE[i]}
                for pid in $(cat "$CG2$p/cgroup.procs" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
                wait_for 10 sh -c "[ -z \"\$(cat '$CG2$p/cgroup.procs')\" ]"
                rmdir "$CG2$p" 2>/dev/null || echo "cannot remove the cgroup $CG2$p" >&2
        done
}
cleanup_push cg_cleanup
T=$$-$RANDOM
DS_CG=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poduffdtierds$T.slice/cri-containerd-ds$T.scope
declare -A POD_CG=(
        [be]=/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podbe$T.slice/cri-containerd-be$T.scope
        [gu]=/kubepods.slice/kubepods-poddgu$T.slice/cri-containerd-gu$T.scope
        [bu]=/kubepods/burstable/podbu$T/bu$T
)
declare -A POD_POLICY=([be]=besteffort [gu]=guaranteed [bu]=burstable)
cg_make "$DS_CG"
for k in "${!POD_CG[@]}"; do cg_make "${POD_CG[$k]}"; done

# -- the container: its cgroup, a cgroup namespace of its own, the container's capabilities
RUN=$WORK/run
chmod 711 "$WORK"
export UFFDTIER_BUS_ADDRESS=unix:path=$RUN/bus
SOCK=$RUN/handoff.sock
DAEMON_LOG=$WORK/daemon.log
CONTAINER_CAPS=-all,+sys_ptrace,+sys_nice,+ipc_lock,+setuid,+setgid,+sys_admin,+setpcap
env UFFDTIER_RUN_DIR="$RUN" UFFDTIERD="$UFFDTIERD" UFFDTIER_BUS_CONF="$WORK/bus.conf" \
        UFFDTIER_LAUNCHER_DIR="$WORK/launcher-src" UFFDTIER_HOST_PID=$$ \
        sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec unshare --cgroup -- "$@"' sh "$CG2$DS_CG" \
        setpriv --bounding-set="$CONTAINER_CAPS" --inh-caps=-all -- \
        "$K8S/uffdtierd-entrypoint.sh" --config="$ETC/uffdtierd.conf" --log-level=debug --no-mlock >"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
cleanup_push "for p in \$(pgrep -P $DAEMON_PID); do kill \$p 2>/dev/null; done; kill -9 $DAEMON_PID 2>/dev/null; wait $DAEMON_PID 2>/dev/null; true"
cleanup_push "[ \$? -eq 0 ] || { echo '---- entrypoint and daemon log (tail) ----' >&2; tail -40 '$DAEMON_LOG' >&2; }"
ctl_ok() { "$CTL" status >/dev/null 2>&1; }
wait_for 30 ctl_ok || fail "uffdtierctl status (the liveness probe) does not reach the daemon"
wait_for 10 test -S "$SOCK" || fail "no handoff socket at $SOCK"
grep -q "joining the host's cgroup namespace" "$DAEMON_LOG" || fail "the entrypoint did not join the host's cgroup namespace"

# -- the daemon: the entrypoint's pid (exec'd), the host's cgroup namespace, the unit's capabilities
[ "$(readlink "/proc/$DAEMON_PID/exe")" = "$(readlink -f "$UFFDTIERD")" ] || fail "pid $DAEMON_PID is not uffdtierd: $(readlink "/proc/$DAEMON_PID/exe")"
[ "$(readlink "/proc/$DAEMON_PID/ns/cgroup")" = "$(readlink /proc/self/ns/cgroup)" ] || fail "uffdtierd is not in the host's cgroup namespace"
expect_cg=$(sed -n 's/^0:://p' "/proc/$DAEMON_PID/cgroup")
[ "$expect_cg" = "$DS_CG" ] || fail "uffdtierd's cgroup is $expect_cg, expected $DS_CG"
mask() { # CAP_NAMES...: the capability mask as /proc/PID/status prints it
        local m=0 n
        for n; do m=$((m | 1 << n)); done
        printf '%016x\n' "$m"
}
# CAP_SETGID 6, CAP_SETUID 7, CAP_IPC_LOCK 14, CAP_SYS_PTRACE 19, CAP_SYS_NICE 23
unit_mask=$(mask 6 7 14 19 23)
for set in CapBnd CapPrm CapEff; do
        v=$(sed -n "s/^$set:[[:space:]]*//p" "/proc/$DAEMON_PID/status")
        [ "$v" = "$unit_mask" ] || fail "uffdtierd's $set is $v, the unit's five are $unit_mask"
done
[ "$(sed -n 's/^CapInh:[[:space:]]*//p' "/proc/$DAEMON_PID/status")" = 0000000000000000 ] || fail "uffdtierd has inheritable capabilities"
sed -n 's/^CapBnd:[[:space:]]*//p' /proc/"$(pgrep -P "$DAEMON_PID" dbus-daemon)"/status | grep -qx "$unit_mask" ||
        fail "dbus-daemon has more than the unit's capabilities"
echo "uffdtierd (pid $DAEMON_PID) in cgroup $expect_cg of the host's namespace, capabilities $unit_mask"
grep -q "configuration $ETC/uffdtierd.conf: 3 policies" "$DAEMON_LOG" || fail "the ConfigMap's three policies were not loaded"

# -- the launcher, where pods mount it
for f in "$WORK/launcher-src"/*; do
        cmp -s "$f" "$RUN/launcher/${f##*/}" || fail "the launcher's ${f##*/} is not in $RUN/launcher"
        [ "$(stat -c %a "$RUN/launcher/${f##*/}")" = 755 ] || fail "$RUN/launcher/${f##*/} is not mode 755"
done
echo "launcher: $nlauncher files in $RUN/launcher"

# -- clients in pod cgroups: their cgroup as the host names it, their QoS class's policy
for k in be gu bu; do
        # shellcheck disable=SC2016
        CLIENT_WRAP=(sh -c 'echo $$ >"$0" && exec "$@"' "$CG2${POD_CG[$k]}/cgroup.procs")
        client_start "$k" --size 4M --name "pod-$k"
done
CLIENT_WRAP=()
nclients_is() { [ "$("$CTL" status --json | jq .Manager.NClients)" = "$1" ]; }
wait_for 10 nclients_is 3 || fail "NClients did not become 3"
"$CTL" status --json >"$WORK/status.json" || fail "uffdtierctl status --json failed"
for k in be gu bu; do
        got=$(jq -c --argjson pid "${CPID[$k]}" '.Clients[] | select(.Pid == $pid) | [.CGroup, .Policy]' "$WORK/status.json")
        [ "$got" = "[\"${POD_CG[$k]}\",\"${POD_POLICY[$k]}\"]" ] ||
                fail "pod-$k: cgroup and policy $got, expected ${POD_CG[$k]} and ${POD_POLICY[$k]}"
        echo "pod-$k: ${POD_CG[$k]} -> policy ${POD_POLICY[$k]}"
done
grep -q "(pid ${CPID[gu]}): policy guaranteed .*mode monitor" "$DAEMON_LOG" || fail "the guaranteed pod is not monitor-only"

# -- the bus: root acts, everyone else reads
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
NOBODY_DIR=$(mktemp -d "${TMPDIR:-/tmp}/uffdtier-ctl.XXXXXX") || fail "mktemp failed"
cleanup_push "rm -rf '$NOBODY_DIR'"
chmod 755 "$NOBODY_DIR" && cp "$CTL" "$NOBODY_DIR/" || fail "cannot copy uffdtierctl"
"${NOBODY[@]}" "$NOBODY_DIR/uffdtierctl" status --json | jq -e '.Clients | length == 3' >/dev/null ||
        fail "nobody cannot read the clients on the DaemonSet's bus"
"${NOBODY[@]}" "$NOBODY_DIR/uffdtierctl" pause >"$WORK/nobody.out" 2>&1
[ $? = 4 ] || fail "nobody's pause was not refused: $(cat "$WORK/nobody.out")"
"$CTL" pause >/dev/null || fail "root cannot pause on the DaemonSet's bus"
[ "$("$CTL" status --json | jq .Manager.Paused)" = true ] || fail "root's pause did not pause"
"$CTL" resume >/dev/null || fail "root cannot resume"
for k in be gu bu; do
        client_cmd "$k" verify || fail "pod-$k's memory is not intact: $REPLY_TEXT"
done
echo PASS
