#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-qemu-tiered: a virtual machine under uffdtierd. Debian's qemu-system-x86_64 (software
# emulation) boots the guest of tests/vm/run-in-vm.sh under uffdtier-run, on this host, in a memory
# cgroup of its own; the host's uffdtierd follows the whole qemu process, whose guest RAM is one
# large anonymous mapping (-m with the default memory backend). In the guest, tests/vm/guest-data
# writes QEMU_DATA_MIB of data with its checksum into its own memory, then keeps a 4 MiB working
# set busy. The test checks that
#   - the idle guest RAM leaves the host's RAM: qemu's cgroup usage falls by at least 60 % of the
#     data after it was written, with zswap on (turned on by the test and restored);
#   - the guest keeps running meanwhile (it prints a tick a second; more ticks come after the fall);
#   - at the end, told over its second serial port, the guest finds its data intact (checksum).
# It prints the figures: usage after the write and after the fall, the time the fall took, the
# daemon's counters for qemu.
#
# Usage: test-vm-qemu-tiered.sh BUILD_DIR
# Exit status: 0 pass, 1 fail, 77 skip (no root, no tracking backend, no uffdtier-run, the guest
# kernel cannot be had: run-in-vm.sh's reasons).
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../integration/lib.sh"
. "$HERE/../integration/tier.sh"

need_root
need_uffd
need_backend
[ "${UFFDTIER_VM:-0}" = 1 ] && skip "runs on the host (it boots a guest itself)"
LAUNCHER=$BUILD/client/uffdtier-run
GUEST_DATA=$BUILD/tests/vm/guest-data
[ -x "$LAUNCHER" ] || skip "uffdtier-run is not built ($LAUNCHER)"
[ -x "$GUEST_DATA" ] || fail "guest-data is not built ($GUEST_DATA)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (scripts/install-deps.sh)"

DATA_MIB=${QEMU_DATA_MIB:-256}
GUEST_MIB=$((DATA_MIB + 256))
ZSWAP=/sys/module/zswap/parameters/enabled
[ -w "$ZSWAP" ] || skip "no zswap here: with plain swap on cgroup v1 a page-out does not free the page at once"
swap_ensure $((GUEST_MIB + 128))
old=$(cat "$ZSWAP")
cleanup_push "echo '$old' >'$ZSWAP'"
echo "zswap: was $old, turning it on for this test (restored at the end)"
echo Y >"$ZSWAP" || fail "cannot enable zswap"

# a memory cgroup for qemu alone, a child of ours (the rest of the hierarchy is left alone)
if grep -q '^[0-9]*:[^:]*\bmemory\b[^:]*:' /proc/self/cgroup && [ -d /sys/fs/cgroup/memory ]; then
        CG_PARENT=/sys/fs/cgroup/memory$(sed -n 's/^[0-9]*:[^:]*\bmemory\b[^:]*:\(.*\)/\1/p' /proc/self/cgroup)
        CG_USAGE=memory.usage_in_bytes
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
        CG_PARENT=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
        CG_USAGE=memory.current
        grep -qw memory "$CG_PARENT/cgroup.subtree_control" 2>/dev/null ||
                skip "cgroup v2: the memory controller is not enabled for children of $CG_PARENT"
else
        skip "no memory cgroup controller here"
fi
CG_DIR=${CG_PARENT%/}/uffdtier-qemu-$$
mkdir "$CG_DIR" || skip "cannot create a memory cgroup ($CG_DIR)"
cleanup_push "for p in \$(cat '$CG_DIR/cgroup.procs' 2>/dev/null); do kill -9 \$p 2>/dev/null; done; wait_for 30 sh -c '! [ -s \"$CG_DIR/cgroup.procs\" ]'; rmdir '$CG_DIR'"
usage() { cat "$CG_DIR/$CG_USAGE"; }
mib() { echo $(($1 >> 20)); }

start_daemon --interval=1s --cold-age=5s --stats-interval=5s --no-bus

CTL=$WORK/ctl
mkfifo "$CTL.in" "$CTL.out" || fail "mkfifo"
LOG=$WORK/vm.log
(
        echo "$BASHPID" >"$CG_DIR/cgroup.procs" || exit 125
        export UFFDTIER_VM_QEMU_WRAPPER="$LAUNCHER --socket=$SOCK --name=qemu --"
        export UFFDTIER_VM_CONTROL=$CTL
        export UFFDTIER_PRELOAD=$BUILD/client/libuffdtier-preload.so # the build tree's
        exec "$HERE/run-in-vm.sh" -s 0 -m "$GUEST_MIB" -t 1500 -f "$GUEST_DATA" -- \
                "$GUEST_DATA" --size="${DATA_MIB}M" --control=/dev/ttyS1
) >"$LOG" 2>&1 &
VM_PID=$!
cleanup_push "kill $VM_PID 2>/dev/null; wait $VM_PID 2>/dev/null; true"
cleanup_push "[ \$? -eq 0 ] || { echo '---- guest log (tail) ----' >&2; grep -v '^tick' '$LOG' | tail -30 >&2; }"

vm_gone() { ! kill -0 "$VM_PID" 2>/dev/null; }
written() { grep -q '^written ' "$LOG" || vm_gone; }
ticks() { grep -c '^tick ' "$LOG"; }

# boot and the write take minutes under emulation (1 GiB in about 4 on the development machines)
wait_for 900 written || fail "the guest did not write its data in 900 s"
if vm_gone; then
        wait "$VM_PID"
        rc=$?
        [ "$rc" = 77 ] && { cat "$LOG" >&2; skip "the guest cannot be had here (run-in-vm.sh)"; }
        fail "the guest ended before writing its data (exit $rc)"
fi
grep '^written ' "$LOG"
QPID=$(pgrep -f -n "qemu-system-x86_64 .*-serial pipe:$CTL") || fail "no qemu process"
grep -q 'uffdtier' "/proc/$QPID/maps" || echo "note: no uffdtier library mapped in qemu (the launcher may unload it)"
u_written=$(usage)
t0=$(date +%s)
echo "qemu (pid $QPID): cgroup usage $(mib "$u_written") MiB after the guest wrote $DATA_MIB MiB"

target=$((u_written - DATA_MIB * 6 / 10 * 1048576))
fallen() { [ "$(usage)" -le "$target" ] || vm_gone; }
wait_for 600 fallen || fail "qemu's cgroup usage stayed above $(mib "$target") MiB for 600 s (now $(mib "$(usage)") MiB)"
vm_gone && fail "the guest ended while its memory was being paged out"
t_fall=$(($(date +%s) - t0))
u_fallen=$(usage)
echo "qemu: cgroup usage $(mib "$u_fallen") MiB after ${t_fall} s (fell by $(mib $((u_written - u_fallen))) MiB)"

# the guest is still running: more ticks come
n=$(ticks)
wait_for 120 sh -c "[ \$(grep -c '^tick ' '$LOG') -gt $((n + 2)) ]" || fail "the guest stopped ticking after its memory was paged out"
u_busy=$(usage)
echo "qemu: cgroup usage $(mib "$u_busy") MiB while the guest runs on ($(ticks) ticks)"
grep ' qemu: ' "$DAEMON_LOG" | tail -n 1

echo verify >"$CTL.in" || fail "cannot write to the guest's control port"
wait_for 900 vm_gone || fail "the guest did not finish verifying in 900 s"
wait "$VM_PID"
rc=$?
grep -E '^(verified|MISMATCH)' "$LOG"
[ "$rc" = 0 ] || fail "the guest's check failed (exit $rc)"
grep -q '^verified ' "$LOG" || fail "the guest did not report its data verified"
echo "vm-qemu-tiered: ok (written $(mib "$u_written") MiB, fell to $(mib "$u_fallen") MiB in ${t_fall} s, data intact)"
