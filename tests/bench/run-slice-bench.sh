#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-slice-bench.sh BUILD_DIR [OTHER_BUILD_DIR...] — how long one client's uffd events wait
# behind another client's work (docs/DESIGN.md "Bounded work per turn").
#
# For each build directory (its uffdtierd; the helper always comes from the first one, so an
# older build can be compared), on a fresh daemon (1 s interval, 2 s cold age, no rate limit):
#   cycle  client A hands over 64 GiB with one written page per MiB (65536 scattered pages, which
#          all turn cold and are paged out); after a warm-up client B times BENCH_SECONDS of
#          MADV_DONTNEED and munmap calls on its own 16 MiB, each of which waits until the daemon
#          has read its uffd event, while A's cycles run;
#   track  client A maps BENCH_VMAS separate VMAs of 64 KiB and UNTRACKs and TRACKs all of them
#          again and again while B times its calls the same way.
# Prints one line per build and scenario: B's calls, their max / p99 / median wait, and A's
# figures (longest event-loop turn of its work, turns per cycle; TRACK times). Needs root and
# swap (a swapfile of BENCH_SWAP_MIB is added under /var/tmp when less is free, and removed).
#
# Environment: BENCH_SIZE [64G], BENCH_STRIDE [1M], BENCH_SECONDS [20], BENCH_VMAS [30000],
# BENCH_SWAP_MIB [600].
set -u

if [ $# -lt 1 ]; then
        echo "usage: $0 BUILD_DIR [OTHER_BUILD_DIR...]" >&2
        exit 2
fi
HELPER=$1/tests/helpers/slice-client
[ -x "$HELPER" ] || { echo "$0: $HELPER is not built" >&2; exit 2; }
SIZE=${BENCH_SIZE:-64G}
STRIDE=${BENCH_STRIDE:-1M}
SECS=${BENCH_SECONDS:-20}
VMAS=${BENCH_VMAS:-30000}
SWAP_MIB=${BENCH_SWAP_MIB:-600}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/uffdtier-slice-bench.XXXXXX") || exit 1
SWAPFILE=
DAEMON_PID=
APID=
cleanup() {
        [ -n "$APID" ] && kill -9 "$APID" 2>/dev/null && wait "$APID" 2>/dev/null
        [ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
        [ -n "$SWAPFILE" ] && { swapoff "$SWAPFILE" 2>/dev/null; rm -f "$SWAPFILE"; }
        rm -rf "$WORK"
}
trap cleanup EXIT

free_kib=$(awk '/^SwapFree:/ { print $2 }' /proc/meminfo)
if [ "$free_kib" -lt $((SWAP_MIB * 1024)) ]; then
        SWAPFILE=$(mktemp /var/tmp/uffdtier-bench-swap.XXXXXX) || exit 1
        chmod 600 "$SWAPFILE"
        { fallocate -l "${SWAP_MIB}M" "$SWAPFILE" && mkswap "$SWAPFILE" >/dev/null && swapon "$SWAPFILE"; } ||
                { echo "$0: cannot add a swapfile" >&2; exit 1; }
fi

start_daemon() { # BUILD
        rm -f "$WORK/s.sock"
        "$1/daemon/uffdtierd" --socket="$WORK/s.sock" --no-mlock --interval=1s --cold-age=2s --rate=0 \
                --psi-limit=100% --max-ranges=100000 >"$WORK/daemon.log" 2>&1 &
        DAEMON_PID=$!
        for ((i = 0; i < 100; i++)); do [ -S "$WORK/s.sock" ] && return 0; sleep 0.1; done
        echo "$0: the daemon did not start" >&2
        cat "$WORK/daemon.log" >&2
        exit 1
}
stop_all() {
        [ -n "$APID" ] && { echo exit >&"$AIN"; wait "$APID" 2>/dev/null; exec {AIN}>&- {AOUT}<&-; APID=; }
        kill "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
}
start_a() { # ARGS...
        rm -f "$WORK/a.in" "$WORK/a.out"
        mkfifo "$WORK/a.in" "$WORK/a.out"
        "$HELPER" --socket "$WORK/s.sock" "$@" <"$WORK/a.in" >"$WORK/a.out" 2>"$WORK/a.err" &
        APID=$!
        exec {AIN}>"$WORK/a.in" {AOUT}<"$WORK/a.out"
        read -r -t 300 -u "$AOUT" A_READY || { cat "$WORK/a.err" >&2; exit 1; }
        [[ $A_READY == READY* ]] || { echo "$0: client A: $A_READY" >&2; exit 1; }
}
a_cmd() {
        echo "$1" >&"$AIN"
        read -r -t 600 -u "$AOUT" A_REPLY
}
run_b() { # -> B_RESULT
        B_RESULT=$("$HELPER" --socket "$WORK/s.sock" victim 16M "$SECS" 2>&1 | grep RESULT)
        B_RESULT=${B_RESULT#RESULT }
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1), Linux $(uname -r)"
echo "A: $SIZE with a page written every $STRIDE (cycle), or $VMAS VMAs of 64 KiB (track); B: ${SECS}s of MADV_DONTNEED/munmap"
for build in "$@"; do
        start_daemon "$build"
        start_a big "$SIZE" "$STRIDE"
        sleep 5 # the first cycles: armed, aged, paged out
        run_b
        a_cmd "status cycles evicted_bytes last_cycle_usec last_cycle_slices max_slice_usec"
        echo "$build cycle: B $B_RESULT | A ${A_READY##* } ${A_REPLY#OK }"
        stop_all

        start_daemon "$build"
        start_a vmas "$VMAS" 64K
        a_cmd "retrack 1000000" >/dev/null & # until A is stopped: runs in the background
        retrack=$!
        sleep 1
        run_b
        kill "$APID" 2>/dev/null; wait "$APID" 2>/dev/null; APID=
        wait "$retrack" 2>/dev/null
        exec {AIN}>&- {AOUT}<&-
        echo "$build track: B $B_RESULT | A ${A_READY##* } (one TRACK of $VMAS VMAs)"
        stop_all
done
