#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What happens around a slow eviction (rate-limited, so that the cycle's window stays open):
#  - rwp only: accesses to protected pages during the sync window, from user space and from the
#    kernel (read(2) into tracked memory), are served at once and counted; the data is intact;
#  - a client that exits in the middle of its eviction is torn down, the daemon serves others;
#  - a daemon killed with SIGKILL mid-cycle leaves its client running with its memory intact.
# Runs on this kernel (wp-async) and in the 7.3 guest (rwp). Usage: test-lifecycle.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
swap_ensure 256

# 4 MiB/s: evicting 48 MiB takes ~12 s, the window stays open
start_daemon --interval=500ms --cold-age=1s --rate=4M --psi-limit=100% --stats-interval=5s

# ---- 1. faults in the sync window (rwp) ----
client_start a --size 64M --hot-fraction 0.25 --name lifecycle-a
wait_for $T counter_ge a evicted_bytes 1 || fail "eviction never started"
if [ "$BACKEND" = rwp ]; then
        before=$(status_value a faults_served)
        # pages of the cold part that have not been evicted yet are protected: touching them
        # now blocks in the sync window until the daemon resolves the fault
        client_cmd a "read 60M 1M" 120 || fail "read in the sync window: $REPLY_TEXT"
        client_cmd a "read-into-buffer 62M" 120 || fail "read(2) into tracked memory in the sync window: $REPLY_TEXT"
        after=$(status_value a faults_served)
        echo "faults served in the sync window: $((after - before))"
        [ "$after" -gt "$before" ] || fail "no fault was served in the sync window"
        p99=$(status_value a fault_latency_p99_usec)
        echo "fault-service latency p99: ${p99}us"
fi
client_cmd a verify 120 || fail "data corrupted: $REPLY_TEXT"

# ---- 2. a client that exits during its eviction ----
client_start b --size 64M --hot-fraction 0.25 --name lifecycle-b
wait_for $T counter_ge b evicted_bytes 1 || fail "eviction of b never started"
kill -9 "${CPID[b]}"
wait_for $T grep -q "pid ${CPID[b]}).*\(exited\|gone\|disconnected\)" "$DAEMON_LOG" ||
        fail "the daemon did not notice that client b exited"
daemon_alive || fail "the daemon stopped serving after a client died during eviction"
client_cmd a status || fail "client a lost its daemon: $REPLY_TEXT"

# ---- 3. the daemon killed with SIGKILL in the middle of a cycle ----
# a's memory is all back (read-all) and idle: it turns cold again after the cold age and is paged
# out at 4 MiB/s, which takes over 10 s for its 64 MiB. Kill the daemon once that eviction is under
# way: evicted_bytes only counts up, so wait for it to grow past where it is now.
client_cmd a read-all 120 || fail "read-all: $REPLY_TEXT"
evicted0=$(status_value a evicted_bytes) || fail "status: $REPLY_TEXT"
wait_for $T counter_ge a evicted_bytes $((evicted0 + 8 * 1024 * 1024)) ||
        fail "a's memory was not paged out again after read-all (evicted_bytes $evicted0)"
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
# the kernel closed the daemon's uffd: every range is unregistered, blocked threads woke up
client_cmd a touch-hot 60 || fail "client stuck after the daemon died: $REPLY_TEXT"
client_cmd a read-all 120 || fail "client cannot read its memory after the daemon died: $REPLY_TEXT"
client_cmd a verify 120 || fail "data corrupted after the daemon died: $REPLY_TEXT"
kill -0 "${CPID[a]}" || fail "the client died with the daemon"
echo "PASS"
