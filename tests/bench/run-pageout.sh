#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-pageout.sh [--zswap=on|off|keep] BUILD_DIR — CPU per GiB paged out: uffdtierd against raw
# process_madvise(MADV_PAGEOUT) on the same pages (tests/bench/bench-pageout, built in BUILD_DIR).
#
# Runs, each on a fresh PAGEOUT_SIZE mapping that is never touched after its fill:
#   raw          bench-pageout pages it all out itself, 2 MiB per iovec, 1024 iovecs per call
#   daemon       handed to a fresh uffdtierd --interval=1s --cold-age=2s --rate=0 (no limit)
#   daemon-rate  the same at the default rate limit (64M per second)
# and prints CPU ms per GiB that went to swap and the eviction throughput. The daemon's figure
# is its CPU from the first status showing an eviction to the one showing 95 % evicted (its scans
# while the memory aged are reported apart, per cycle). With PAGEOUT_PERF=1 (and perf installed)
# the daemon run is recorded with perf record -g and the top of perf report is printed.
#
# Environment: PAGEOUT_SIZE [1G]  PAGEOUT_RUNS [raw daemon daemon-rate raw]
# Swap: a temporary swapfile when there is not enough free swap; --zswap as in run-compare.sh.

set -u
ZSWAP_MODE=keep
case ${1:-} in --zswap=on | --zswap=off | --zswap=keep) ZSWAP_MODE=${1#--zswap=}; shift ;; esac
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
        echo "usage: $0 [--zswap=on|off|keep] BUILD_DIR" >&2
        exit 2
fi
BUILD=$1
UFFDTIERD=$BUILD/daemon/uffdtierd
LOAD=$BUILD/tests/bench/bench-pageout
for f in "$UFFDTIERD" "$LOAD"; do
        [ -x "$f" ] || { echo "$0: $f is not built" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "$0: needs root" >&2; exit 2; }
SIZE=${PAGEOUT_SIZE:-1G}
RUNS=${PAGEOUT_RUNS:-raw daemon daemon-rate raw}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/uffdtier-pageout.XXXXXX") || exit 1
DAEMON_PID=
PERF_PID=
SWAPFILE=
ZSWAP=/sys/module/zswap/parameters/enabled
ZSWAP_OLD=
stop_daemon() {
        [ -n "$DAEMON_PID" ] || return 0
        kill -TERM "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
}
cleanup() {
        [ -n "$PERF_PID" ] && kill -INT "$PERF_PID" 2>/dev/null && wait "$PERF_PID" 2>/dev/null
        stop_daemon
        if [ -n "$SWAPFILE" ]; then
                swapoff "$SWAPFILE" 2>/dev/null
                rm -f "$SWAPFILE"
        fi
        [ -n "$ZSWAP_OLD" ] && echo "$ZSWAP_OLD" >"$ZSWAP" && echo "zswap restored to $ZSWAP_OLD" >&2
        rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

value() {
        awk -F= -v k="$1" '$1 == k { v = substr($0, length(k) + 2) } END { print v }' "$2"
}

size_kib=$(awk -v s="$SIZE" 'BEGIN { n = s + 0; u = substr(s, length(s));
        m = u == "G" ? 1048576 : u == "M" ? 1024 : u == "K" ? 1 : 1 / 1024; printf "%d", n * m }')
if [ "$(awk '/^SwapFree:/ { print $2 }' /proc/meminfo)" -lt $((size_kib * 2)) ]; then
        SWAPFILE=$(mktemp /var/tmp/uffdtier-pageout-swap.XXXXXX) || exit 1
        chmod 600 "$SWAPFILE"
        fallocate -l $((size_kib * 2 + 4))K "$SWAPFILE" && mkswap "$SWAPFILE" >/dev/null 2>&1 &&
                swapon "$SWAPFILE" || { echo "$0: cannot set up a swapfile" >&2; exit 1; }
fi
if [ "$ZSWAP_MODE" != keep ]; then
        [ -w "$ZSWAP" ] || { echo "$0: this kernel has no zswap" >&2; exit 1; }
        ZSWAP_OLD=$(cat "$ZSWAP")
        case $ZSWAP_MODE in on) echo Y >"$ZSWAP" ;; off) echo N >"$ZSWAP" ;; esac
        echo "zswap: was $ZSWAP_OLD, set to $(cat "$ZSWAP") for this run (restored at the end)" >&2
fi

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1), Linux $(uname -r)"
echo "swap: $(awk 'NR > 1 { printf "%s %s; ", $1, $2 }' /proc/swaps)zswap $(cat "$ZSWAP" 2>/dev/null || echo none)"
echo
echo "| run | swapped out | CPU | CPU per GiB | wall | throughput | daemon idle CPU per cycle |"
echo "|---|---|---|---|---|---|---|"
for run in $RUNS; do
        out=$WORK/$run.out
        case $run in
        raw)
                "$LOAD" --size="$SIZE" --mode=raw >"$out" || exit 1
                ;;
        daemon | daemon-rate)
                args=(--interval=1s --cold-age=2s --no-bus --psi-limit=100%)
                [ "$run" = daemon ] && args+=(--rate=0)
                rm -f "$WORK/sock"
                "$UFFDTIERD" --socket="$WORK/sock" "${args[@]}" >"$WORK/$run.log" 2>&1 </dev/null &
                DAEMON_PID=$!
                for ((i = 0; i < 100; i++)); do [ -S "$WORK/sock" ] && break; sleep 0.1; done
                [ -S "$WORK/sock" ] || { cat "$WORK/$run.log" >&2; exit 1; }
                if [ "${PAGEOUT_PERF:-0}" = 1 ] && [ "$run" = daemon ] && command -v perf >/dev/null; then
                        perf record -q -g -p "$DAEMON_PID" -o "$WORK/perf.data" 2>/dev/null &
                        PERF_PID=$!
                fi
                "$LOAD" --size="$SIZE" --mode=daemon --socket="$WORK/sock" --daemon-pid="$DAEMON_PID" \
                        >"$out" || { tail "$WORK/$run.log" >&2; exit 1; }
                if [ -n "$PERF_PID" ]; then
                        kill -INT "$PERF_PID"
                        wait "$PERF_PID"
                        PERF_PID=
                        echo "perf (daemon, $run):" >"$WORK/perf.txt"
                        perf report -i "$WORK/perf.data" --no-children --stdio --sort=sym 2>/dev/null |
                                grep -E '^ +[0-9.]+%' | head -25 >>"$WORK/perf.txt"
                fi
                stop_daemon
                ;;
        *) echo "$0: unknown run $run" >&2; exit 2 ;;
        esac
        swapped=$(value swap_bytes "$out")
        cpu=$(value cpu_ms "$out")
        wall=$(value wall_ms "$out")
        bytes=$swapped
        [ "$run" != raw ] && bytes=$(value window_evicted_bytes "$out")
        idle=$(value idle_cpu_ms_per_cycle "$out")
        awk -v r="$run" -v s="$swapped" -v b="$bytes" -v c="$cpu" -v w="$wall" -v i="${idle:--}" 'BEGIN {
                printf "| %s | %.0f MiB | %.0f ms | %.0f ms | %.0f ms | %.0f MiB/s | %s |\n", r, s / 1048576,
                        c, (b > 0 ? c / (b / 1073741824) : 0), w, (w > 0 ? b / 1048576 / (w / 1000) : 0),
                        (i == "-" ? "-" : sprintf("%.2f ms", i)) }'
done
echo
echo "CPU: raw: the caller's user + system time in process_madvise; daemon: its on-CPU time while it"
echo "evicted (from the first status showing an eviction to 95 %, polled every 50 ms). Per GiB of what"
echo "went to swap (raw) or of what the daemon evicted in that window."
[ -f "$WORK/perf.txt" ] && cat "$WORK/perf.txt"
exit 0
