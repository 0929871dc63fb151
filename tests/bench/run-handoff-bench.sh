#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-handoff-bench.sh BUILD_DIR [bench-handoff OPTIONS...] — what the handoff costs a client.
#
# Starts a fresh uffdtierd (built in BUILD_DIR; this script builds nothing) on a private socket,
# runs tests/bench/bench-handoff against it (TRACK latency with 64 MiB, 1 GiB and 8 GiB of other
# resident memory, then full connect/track/status/disconnect cycles per second; see the
# program's header comment), stops the daemon and prints the program's table and its final JSON
# line, after a few lines about the daemon: its command, its CPU time and peak RSS over the run,
# its warnings and how it exited. Options after BUILD_DIR go to bench-handoff (e.g. --sizes=64M,1G
# --pairs=50 --cycles=500 for a quick run, --sparse, --mappings=N).
#
# The daemon limits connections per uid (200 per second, burst 2000, by default); the cycles
# part connects as fast as it can, so the daemon runs with --conn-rate=0 (no limit) unless
# BENCH_CONN_RATE says otherwise. No swap is needed: nothing is evicted.
#
# Environment (defaults in brackets):
#   BENCH_CONN_RATE [0]       the daemon's --conn-rate (0 = unlimited; "" = the daemon's default)
#   BENCH_DAEMON_ARGS [none]  more uffdtierd options, e.g. --no-mlock
#   BENCH_DAEMON_ENV [none]   VAR=VALUE words put in the daemon's environment only, e.g.
#                             MALLOC_PERTURB_=77
#
# Exits non-zero only on errors (the daemon did not start, the program failed, the daemon did
# not exit cleanly), never on a missed aim. Needs what the daemon needs (root here). Whatever
# happens, the daemon is stopped and the temporary directory removed.

set -u

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
        echo "usage: $0 BUILD_DIR [bench-handoff OPTIONS...]" >&2
        exit 2
fi
BUILD=$1
shift
UFFDTIERD=$BUILD/daemon/uffdtierd
BENCH=$BUILD/tests/bench/bench-handoff
for f in "$UFFDTIERD" "$BENCH"; do
        [ -x "$f" ] || { echo "$0: $f is not built" >&2; exit 2; }
done

CONN_RATE=${BENCH_CONN_RATE-0}
read -r -a DAEMON_EXTRA <<<"${BENCH_DAEMON_ARGS:-}"
read -r -a DAEMON_ENV <<<"${BENCH_DAEMON_ENV:-}"
for v in ${DAEMON_ENV[@]+"${DAEMON_ENV[@]}"}; do
        [[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { echo "$0: BENCH_DAEMON_ENV: not VAR=VALUE: $v" >&2; exit 2; }
done

# ---- cleanup on every path -------------------------------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/uffdtier-handoff-bench.XXXXXX") || exit 1
DAEMON_PID=
BENCH_PID=
DAEMON_RC=

stop_daemon() {
        local i
        [ -n "$DAEMON_PID" ] || return 0
        kill -TERM "$DAEMON_PID" 2>/dev/null
        for ((i = 0; i < 50; i++)); do
                kill -0 "$DAEMON_PID" 2>/dev/null || break
                sleep 0.1
        done
        kill -KILL "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_RC=$?
        DAEMON_PID=
}

cleanup() {
        if [ -n "$BENCH_PID" ]; then
                kill -KILL "$BENCH_PID" 2>/dev/null
                wait "$BENCH_PID" 2>/dev/null
                BENCH_PID=
        fi
        stop_daemon
        rm -rf "$WORK"
}
trap cleanup EXIT
# exit runs the EXIT trap; the status says which signal it was
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# daemon_cpu_ms PID: utime + stime of PID in ms (/proc/PID/stat, clock ticks)
daemon_cpu_ms() {
        local hz
        hz=$(getconf CLK_TCK)
        # the command name may contain spaces: count fields after the last ')'
        sed 's/.*) //' "/proc/$1/stat" 2>/dev/null |
                awk -v hz="$hz" '{ printf "%.0f", ($12 + $13) * 1000 / hz }'
}

# ---- the machine -----------------------------------------------------------------------------

MODEL=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
THP=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)
BACKEND=$("$UFFDTIERD" --probe --json 2>/dev/null | sed -n 's/.*"backend": *"\([a-z-]*\)".*/\1/p')
echo "machine: $(nproc) CPUs, ${MODEL:-unknown CPU}, $(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo) GiB RAM, $(awk '/^MemAvailable:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo) GiB available"
echo "kernel: $(uname -r), backend ${BACKEND:-none}, THP ${THP:-?}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -z "$BACKEND" ] || [ "$BACKEND" = none ]; then
        echo "$0: this kernel gives uffdtierd no tracking backend" >&2
        exit 1
fi

# ---- the run ---------------------------------------------------------------------------------

DAEMON_ARGS=(--socket="$WORK/handoff.sock")
[ -n "$CONN_RATE" ] && DAEMON_ARGS+=(--conn-rate="$CONN_RATE")
DAEMON_ARGS+=(${DAEMON_EXTRA[@]+"${DAEMON_EXTRA[@]}"})
echo "daemon: ${DAEMON_ENV[*]+${DAEMON_ENV[*]} }$UFFDTIERD ${DAEMON_ARGS[*]}"
echo "client: $BENCH --socket=$WORK/handoff.sock $*"

env ${DAEMON_ENV[@]+"${DAEMON_ENV[@]}"} "$UFFDTIERD" "${DAEMON_ARGS[@]}" \
        >"$WORK/daemon.log" 2>&1 </dev/null &
DAEMON_PID=$!
for ((i = 0; i < 100; i++)); do
        [ -S "$WORK/handoff.sock" ] && break
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        sleep 0.1
done
if [ ! -S "$WORK/handoff.sock" ]; then
        echo "$0: uffdtierd did not start:" >&2
        cat "$WORK/daemon.log" >&2
        exit 1
fi

CPU0=$(daemon_cpu_ms "$DAEMON_PID")
"$BENCH" --socket="$WORK/handoff.sock" "$@" >"$WORK/bench.out" </dev/null &
BENCH_PID=$!
wait "$BENCH_PID"
rc=$?
BENCH_PID=
CPU1=$(daemon_cpu_ms "$DAEMON_PID")
HWM=$(awk '/^VmHWM:/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$DAEMON_PID/status" 2>/dev/null)
if [ "$rc" -ne 0 ]; then
        echo "$0: bench-handoff failed (exit $rc); the daemon's last words:" >&2
        tail -20 "$WORK/daemon.log" >&2
        exit 1
fi
stop_daemon

# ---- the numbers -----------------------------------------------------------------------------

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "daemon: $(awk -v a="${CPU1:-0}" -v b="${CPU0:-0}" 'BEGIN { print a - b }') ms CPU (user + system) over the run, peak RSS ${HWM:-?}, exit status $DAEMON_RC"
warn=$(grep -c '^<[0-4]>' "$WORK/daemon.log")
if [ "$warn" -gt 0 ]; then
        echo "daemon warnings/errors ($warn):"
        grep '^<[0-4]>' "$WORK/daemon.log" | head -10
else
        echo "the daemon logged no warnings or errors."
fi
echo
cat "$WORK/bench.out"
if [ "$DAEMON_RC" -ne 0 ]; then
        echo "$0: uffdtierd exited with status $DAEMON_RC after SIGTERM; its last words:" >&2
        tail -20 "$WORK/daemon.log" >&2
        exit 1
fi
exit 0
