#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bounded work per event-loop turn: one client's cycle must not hold up another client's uffd
# events. Client A hands over one very large sparse range (64 GiB with one written page per MiB:
# 65536 scattered pages, every cycle a walk of 16 M page-table entries); client B meanwhile
# calls MADV_DONTNEED and munmap on its own tracked memory again and again, each call waiting
# until the daemon has read the uffd event it causes, and times every call. Checked: A's cycles
# still complete in several slices and page its cold pages out, both clients' data is intact, and
# B's longest wait stays under a generous bound (1 s: the point is that it is not a whole scan;
# the figure itself is measured by tests/bench/run-slice-bench.sh). Then TRACKs of 30000 VMAs,
# which go on over several turns, with their client killed under way: the daemon goes on.
# Usage: test-slicing.sh BUILD_DIR   (SLICE_SIZE, SLICE_STRIDE, SLICE_SECONDS to vary it)
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
SLICE_CLIENT=$BUILD/tests/helpers/slice-client
[ -x "$SLICE_CLIENT" ] || fail "slice-client not built at $SLICE_CLIENT"
SIZE=${SLICE_SIZE:-64G}
STRIDE=${SLICE_STRIDE:-1M}
SECONDS_B=${SLICE_SECONDS:-15}
BOUND_US=1000000
# 64 GiB of address space: the kernel needs 128 MiB of page tables for it, plus A's 256 MiB
avail_kib=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
[ "$avail_kib" -ge $((1024 * 1024)) ] || skip "needs 1 GiB of available memory, have $((avail_kib / 1024)) MiB"
swap_ensure 400

start_daemon --interval=1s --cold-age=2s --rate=0 --psi-limit=100%

# A: the big sparse range
mkfifo "$WORK/a.in" "$WORK/a.out"
"$SLICE_CLIENT" --socket "$SOCK" big "$SIZE" "$STRIDE" <"$WORK/a.in" >"$WORK/a.out" 2>"$WORK/a.err" &
APID=$!
cleanup_push "kill -9 $APID 2>/dev/null; wait $APID 2>/dev/null; true"
exec {AIN}>"$WORK/a.in" {AOUT}<"$WORK/a.out"
read -r -t 120 -u "$AOUT" line || { cat "$WORK/a.err" >&2; fail "client A did not start"; }
[[ $line == READY* ]] || fail "client A: $line"
echo "A: $line"
touched=$(sed -E 's/.*touched=([0-9]+).*/\1/' <<<"$line")

a_cmd() { # CMD -> the reply line in $A_REPLY
        echo "$1" >&"$AIN" || return 2
        read -r -t 120 -u "$AOUT" A_REPLY || return 2
        [[ $A_REPLY == OK* ]]
}
a_counter() { # NAME
        a_cmd "status $1" || return 1
        sed -E "s/.* $1=([0-9]+).*/\\1/" <<<"$A_REPLY"
}

# A's first cycles go by: the whole range is armed and its pages age
wait_for "$T" eval '[ "$(a_counter cycles)" -ge 2 ]' || fail "client A's cycles do not complete: $A_REPLY"
c0=$(a_counter cycles)

# B: munmap and MADV_DONTNEED on its own tracked memory, timed, while A's cycles run
out=$("$SLICE_CLIENT" --socket "$SOCK" victim 16M "$SECONDS_B" 2>&1) || { echo "$out" >&2; fail "client B failed"; }
echo "B: $(grep RESULT <<<"$out")"
grep -q "^OK verified" <<<"$out" || fail "client B's data: $out"
max_us=$(sed -nE 's/^RESULT .*max_us=([0-9]+) .*/\1/p' <<<"$out")
ops=$(sed -nE 's/^RESULT ops=([0-9]+).*/\1/p' <<<"$out")
[ -n "$max_us" ] && [ "$ops" -ge 100 ] || fail "client B made no measurements: $out"

c1=$(a_counter cycles)
a_cmd "status last_cycle_usec last_cycle_slices max_slice_usec evicted_bytes" || fail "A's status: $A_REPLY"
echo "A: $((c1 - c0)) cycles during B's run; $A_REPLY"
slices=$(sed -E 's/.* last_cycle_slices=([0-9]+).*/\1/' <<<"$A_REPLY")
max_slice=$(sed -E 's/.* max_slice_usec=([0-9]+).*/\1/' <<<"$A_REPLY")
[ "$c1" -gt "$c0" ] || fail "client A's cycles stopped while B ran"
[ "$slices" -ge 2 ] || fail "A's whole cycle ran in $slices event-loop turn(s): not sliced"

# A's cold pages (all of them: written once, never again) go out, and come back intact
want=$((touched * $(getconf PAGESIZE) * 9 / 10))
wait_for "$T" eval '[ "$(a_counter evicted_bytes)" -ge $want ]' ||
        fail "client A: only $(a_counter evicted_bytes) of $want bytes evicted"
a_cmd verify || fail "client A's data: $A_REPLY"
echo "A: $A_REPLY"

[ "$max_us" -lt "$BOUND_US" ] ||
        fail "client B waited up to $max_us µs behind A's cycles (bound $BOUND_US µs); the daemon's longest slice: $max_slice µs"
[ "$max_slice" -lt "$BOUND_US" ] || fail "the daemon's longest slice of A's work took $max_slice µs"
# TRACKs that go on over several turns (30000 VMAs) whose client is killed under way, at various
# points: the daemon drops them and goes on serving A
for delay in 0.01 0.03 0.06 0.1 0.2; do
        "$SLICE_CLIENT" --socket "$SOCK" vmas 30000 64K </dev/null >/dev/null 2>&1 &
        kpid=$!
        sleep "$delay"
        kill -9 "$kpid" 2>/dev/null
        wait "$kpid" 2>/dev/null
done
kill -0 "$DAEMON_PID" || fail "the daemon died when a client was killed during its TRACK"
a_cmd "status cycles" || fail "client A is not served after the killed TRACKs: $A_REPLY"
# and one that completes, while A cycles: its TRACK was answered after several turns
out=$(echo exit | "$SLICE_CLIENT" --socket "$SOCK" vmas 30000 64K 2>&1)
grep -q "^READY" <<<"$out" || fail "a TRACK of 30000 VMAs failed: $out"
echo "TRACK of 30000 VMAs: $(sed -nE 's/.*(track_us=[0-9]+).*/\1/p' <<<"$out")"
daemon_alive || fail "the daemon does not accept a new client"

a_cmd exit >/dev/null
kill -0 "$DAEMON_PID" || fail "the daemon died"
echo PASS
