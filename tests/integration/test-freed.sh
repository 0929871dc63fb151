#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Honest accounting: what the daemon calls freed is memory that left RAM, measured by the
# client's own memory cgroup. A tier-client runs in a memory cgroup of its own (v1 on hybrid
# hosts, v2 where the unified hierarchy has the memory controller); its cold part is paged out.
#   a. with zswap on (turned on by this test and restored afterwards): the cgroup's usage falls
#      by at least 90 % of what was paged out within two cycles, and the daemon's freed_bytes
#      matches the fall within 10 %;
#   b. with zswap off and a plain swapfile: the written pages stay in the swap cache, and the
#      daemon does not call them freed (at most 10 % of what it paged out) -- unless the kernel
#      has cgroup v2 memory.reclaim for the client's cgroup, where (a) must hold instead.
# Usage: test-freed.sh BUILD_DIR
# UFFDTIER_FREED_ZSWAP=0 leaves (a) out (the 7.3 guest's run: plain swap on a disk, no zswap).
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend

ZSWAP=/sys/module/zswap/parameters/enabled
SIZE_MIB=${UFFDTIER_TEST_SIZE_MIB:-128}
swap_ensure $((SIZE_MIB * 2 + 64))

# A memory cgroup for the client alone.
CG_NAME=uffdtier-freed-$$
if grep -q '^[0-9]*:[^:]*\bmemory\b[^:]*:' /proc/self/cgroup && [ -d /sys/fs/cgroup/memory ]; then
        CG_VERSION=1
        CG_DIR=/sys/fs/cgroup/memory/$CG_NAME
        CG_USAGE=memory.usage_in_bytes
        CG_PARENT_PROCS=/sys/fs/cgroup/memory$(sed -n 's/^[0-9]*:[^:]*memory[^:]*:\(.*\)/\1/p' /proc/self/cgroup)/cgroup.procs
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
        CG_VERSION=2
        CG_DIR=/sys/fs/cgroup/$CG_NAME
        CG_USAGE=memory.current
        CG_PARENT_PROCS=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)/cgroup.procs
        grep -qw memory /sys/fs/cgroup/cgroup.subtree_control || echo +memory >/sys/fs/cgroup/cgroup.subtree_control ||
                skip "cannot enable the memory controller for child cgroups"
else
        skip "no memory cgroup controller here"
fi
CG_PARENT_PROCS=${CG_PARENT_PROCS//\/\//\/}
mkdir "$CG_DIR" || skip "cannot create a memory cgroup ($CG_DIR)"
cleanup_push "echo \$\$ >'$CG_PARENT_PROCS' 2>/dev/null; for p in \$(cat '$CG_DIR/cgroup.procs' 2>/dev/null); do kill -9 \$p 2>/dev/null; done; wait_for 30 sh -c '! [ -s \"$CG_DIR/cgroup.procs\" ]'; rmdir '$CG_DIR'"
echo "client cgroup: $CG_DIR (v$CG_VERSION)"

usage() { cat "$CG_DIR/$CG_USAGE"; }

# One round: start a client in the cgroup, let its cold part be paged out, compare.
# Sets FALL (bytes the cgroup's usage fell), OUT (the daemon's out_bytes), FREED.
round() { # NAME
        local id=$1 hot cold u0 u1 evicted cycles0
        echo $$ >"$CG_DIR/cgroup.procs" || fail "cannot enter $CG_DIR"
        client_start "$id" --size ${SIZE_MIB}M --hot-fraction 0.25 --name "$id"
        echo $$ >"$CG_PARENT_PROCS" || fail "cannot leave $CG_DIR"
        hot=$((CLEN[$id] / 4))
        cold=$((CLEN[$id] - hot))
        u0=$(usage)
        deadline=$((SECONDS + T))
        while :; do
                client_cmd "$id" touch-hot || fail "touch-hot: $REPLY_TEXT"
                evicted=$(status_value "$id" evicted_bytes) || fail "status: $REPLY_TEXT"
                [ "$evicted" -ge $((cold * 95 / 100)) ] && break
                [ $SECONDS -lt $deadline ] || fail "only $evicted of $cold cold bytes evicted after ${T}s"
                sleep 0.2
        done
        # two more whole cycles: what the page-out leaves behind settles, and the daemon's
        # figures are those of a scan after it
        cycles0=$(status_value "$id" cycles)
        deadline=$((SECONDS + T))
        while [ "$(status_value "$id" cycles)" -lt $((cycles0 + 2)) ]; do
                client_cmd "$id" touch-hot || fail "touch-hot: $REPLY_TEXT"
                [ $SECONDS -lt $deadline ] || fail "the daemon ran no two cycles in ${T}s"
                sleep 0.2
        done
        u1=$(usage)
        FALL=$((u0 > u1 ? u0 - u1 : 0))
        OUT=$(status_value "$id" out_bytes)
        FREED=$(status_value "$id" freed_bytes)
        echo "$id: cgroup usage $u0 -> $u1 (fell $FALL), daemon: evicted $evicted out $OUT freed $FREED" \
             "source $(status_value "$id" memory_source) swapcached $(status_value "$id" swapcached_bytes)" \
             "reclaimed $(status_value "$id" reclaimed_bytes) shared $(status_value "$id" memory_shared)"
        RECLAIMED=$(status_value "$id" reclaimed_bytes)
        # the client is alone in its cgroup: the figures are its own
        [ "$(status_value "$id" memory_shared)" = 0 ] || fail "$id: the daemon says the client's own cgroup is shared"
        evicted=$(status_value "$id" evicted_bytes)
        [ "$RECLAIMED" -le "$evicted" ] || fail "$id: $RECLAIMED bytes counted as reclaimed, more than the $evicted paged out"
        [ "$OUT" -ge $((cold * 90 / 100)) ] || fail "$id: only $OUT bytes counted as out, expected ~$cold"
        client_cmd "$id" verify || fail "$id: data corrupted: $REPLY_TEXT"
        client_stop "$id"
}

check_freed() { # NAME
        [ "$FALL" -ge $((OUT * 90 / 100)) ] || fail "$1: the cgroup fell by $FALL, less than 90% of the $OUT bytes paged out"
        local d=$((FREED > FALL ? FREED - FALL : FALL - FREED))
        [ "$d" -le $((FALL / 10)) ] || fail "$1: the daemon says $FREED freed, the cgroup fell by $FALL (more than 10% apart)"
}

# what `uffdtierd --probe --json` says of the swap set-up now
# (no jq: the 7.3 guest runs this test with busybox alone; the key is unique in the report)
probe_frees() {
        "$UFFDTIERD" --probe --json | sed -n 's/^ *"pageout_frees_at_once": *\([a-z]*\).*/\1/p'
}

start_daemon --interval=500ms --cold-age=2s --rate=0 --psi-limit=100% --stats-interval=5s

if [ "${UFFDTIER_FREED_ZSWAP:-1}" = 0 ]; then
        echo "zswap: part (a) not run (UFFDTIER_FREED_ZSWAP=0); zswap is $(cat "$ZSWAP" 2>/dev/null || echo absent)"
        [ "$(cat "$ZSWAP" 2>/dev/null)" = Y ] && fail "zswap is on, but this run is meant for plain swap"
elif [ -w "$ZSWAP" ]; then
        old=$(cat "$ZSWAP")
        cleanup_push "echo '$old' >'$ZSWAP'"
        echo "zswap: was $old, turning it on for this test (restored at the end)"
        echo Y >"$ZSWAP" || fail "cannot enable zswap"
        [ "$(probe_frees)" = true ] || fail "with zswap on, --probe says a page-out does not free memory"
        round zswap
        check_freed zswap
        echo N >"$ZSWAP" || fail "cannot disable zswap"
else
        echo "zswap: not available here, part (a) not run"
fi

if ! grep -q '^/dev/zram' /proc/swaps && [ "$(cat "$ZSWAP" 2>/dev/null)" != Y ]; then
        [ "$(probe_frees)" = false ] || fail "plain swap, zswap off: --probe says a page-out frees memory"
        "$UFFDTIERD" --probe | grep -q "does not free memory at once" || fail "--probe does not warn that a page-out keeps memory"
fi
round plain
if [ "$CG_VERSION" = 2 ] && [ -e "$CG_DIR/memory.reclaim" ]; then
        echo "cgroup v2 with memory.reclaim: the daemon reclaims what it paged out"
        grep -q zram /proc/swaps && echo "note: zram is among the swap devices: (b) is not about plain swap alone"
        check_freed plain
        # what left the swap cache on the daemon's memory.reclaim, as read before and after it
        [ "$RECLAIMED" -ge $((FALL / 2)) ] || fail "plain: the cgroup fell by $FALL but the daemon counts only $RECLAIMED reclaimed"
else
        echo "cgroup v1, plain swap: the pages stay in the swap cache; the daemon must not call them freed"
        [ "$FREED" -le $((OUT / 10)) ] || fail "plain: the daemon says $FREED of $OUT bytes freed, but the cgroup fell by only $FALL"
        [ "$FALL" -le $((OUT / 2)) ] || echo "note: the cgroup fell by $FALL anyway (memory pressure?)"
fi

kill -0 "$DAEMON_PID" || fail "the daemon died"
grep -q 'AddressSanitizer\|runtime error' "$DAEMON_LOG" && fail "sanitizer report in the daemon log"
echo "PASS"
