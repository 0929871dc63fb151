#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-bench.sh BUILD_DIR — what tracking costs a client whose whole memory is hot.
#
# Runs tests/bench/bench-workload (built in BUILD_DIR; this script builds nothing) without the
# daemon and then handed to a fresh uffdtierd on a private socket, once per configuration:
#
#   untracked       no daemon (run first and last: the two runs show the machine's drift)
#   default         the default policy (--interval=10s --cold-age=120s): what a user gets
#   default-worst   the same with --rearm-period=1: every page re-armed every cycle, i.e. without
#                   the arming schedule
#   short           --interval=1s --cold-age=12s: the same schedule (re-arm period 6), ten times as
#                   many cycles, so the daemon's cost per cycle is averaged over many of them
#   short-worst     the same with --rearm-period=1
#
# and prints a table: the workload's throughput (pages touched per second) and its overhead
# against the mean of the untracked runs, the workload's system time (wp-async tracking faults
# are resolved by the kernel in the faulting thread, so that is where they cost), its faults per
# cycle, and the daemon's CPU time per GiB tracked per cycle.
#
# Environment (defaults in brackets):
#   BENCH_SIZE [1G]  BENCH_DURATION [60] (seconds measured per run)  BENCH_WARMUP [5] (seconds
#   before measuring, which absorbs the first pass after tracking starts, when every page faults
#   once)  BENCH_INTERVAL [10s]  BENCH_COLD_AGE [120s]  BENCH_SHORT_INTERVAL [1s]
#   BENCH_SHORT_COLD_AGE [12s]  BENCH_MODE [write] (or read: with wp-async reads are invisible,
#   so read-only memory looks cold and is evicted)  BENCH_CONFIGS [the list above, in that order]
#   BENCH_DAEMON_ARGS [none] (more uffdtierd options for every tracked run)
#
# Needs what the daemon needs (root here). Whatever happens, the daemon and the workload are
# killed and the temporary directory removed.

set -u

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
        echo "usage: $0 BUILD_DIR" >&2
        exit 2
fi
BUILD=$1
UFFDTIERD=$BUILD/daemon/uffdtierd
WORKLOAD=$BUILD/tests/bench/bench-workload
for f in "$UFFDTIERD" "$WORKLOAD"; do
        [ -x "$f" ] || { echo "$0: $f is not built" >&2; exit 2; }
done

SIZE=${BENCH_SIZE:-1G}
DURATION=${BENCH_DURATION:-60}
WARMUP=${BENCH_WARMUP:-5}
INTERVAL=${BENCH_INTERVAL:-10s}
COLD_AGE=${BENCH_COLD_AGE:-120s}
SHORT_INTERVAL=${BENCH_SHORT_INTERVAL:-1s}
SHORT_COLD_AGE=${BENCH_SHORT_COLD_AGE:-12s}
MODE=${BENCH_MODE:-write}
CONFIGS=${BENCH_CONFIGS:-untracked default default-worst short short-worst untracked}
read -r -a DAEMON_EXTRA <<<"${BENCH_DAEMON_ARGS:-}"

case $MODE in
write) MODE_ARGS=() ;;
read) MODE_ARGS=(--read) ;;
*) echo "$0: BENCH_MODE must be write or read" >&2; exit 2 ;;
esac
[[ $DURATION =~ ^[0-9]+$ ]] && [ "$DURATION" -gt 0 ] || { echo "$0: BENCH_DURATION must be whole seconds" >&2; exit 2; }
[[ $WARMUP =~ ^[0-9]+$ ]] || { echo "$0: BENCH_WARMUP must be whole seconds" >&2; exit 2; }

# ---- cleanup on every path -------------------------------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/uffdtier-bench.XXXXXX") || exit 1
DAEMON_PID=
LOAD_PID=

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
        DAEMON_PID=
}

cleanup() {
        if [ -n "$LOAD_PID" ]; then
                kill -KILL "$LOAD_PID" 2>/dev/null
                wait "$LOAD_PID" 2>/dev/null
                LOAD_PID=
        fi
        stop_daemon
        rm -rf "$WORK"
}
trap cleanup EXIT
# exit runs the EXIT trap; the status says which signal it was
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- helpers ---------------------------------------------------------------------------------

# value KEY FILE: the value of a key=value line of the workload's output
value() {
        awk -F= -v k="$1" '$1 == k { v = substr($0, length(k) + 2) } END { print v }' "$2"
}

# calc EXPR: floating point (awk); prints "-" when the expression divides by zero
calc() {
        awk "BEGIN { x = ($1); printf \"%.10g\\n\", x }" 2>/dev/null || echo "-"
}

# usec DURATION: the integer+unit forms of parse_duration() (10s, 250ms, 2min, 1h, bare seconds)
usec() {
        local n u
        [[ $1 =~ ^([0-9]+)(us|ms|s|min|m|h)?$ ]] || { echo ""; return; }
        n=${BASH_REMATCH[1]}
        u=${BASH_REMATCH[2]:-s}
        case $u in
        us) echo "$n" ;;
        ms) echo $((n * 1000)) ;;
        s) echo $((n * 1000000)) ;;
        min | m) echo $((n * 60000000)) ;;
        h) echo $((n * 3600000000)) ;;
        esac
}

# rearm_period INTERVAL COLD_AGE [FORCED]: the daemon's policy_rearm_period(), for the table
rearm_period() {
        local i c cycles
        [ -n "${3:-}" ] && { echo "$3"; return; }
        i=$(usec "$1")
        c=$(usec "$2")
        [ -n "$i" ] && [ -n "$c" ] && [ "$i" -gt 0 ] || { echo "auto"; return; }
        cycles=$(((c + i - 1) / i))
        [ "$cycles" -ge 1 ] || cycles=1
        echo $((cycles / 2 > 1 ? cycles / 2 : 1))
}

start_daemon() { # NAME ARGS...
        local name=$1 i
        shift
        rm -f "$WORK/handoff.sock"
        "$UFFDTIERD" --socket="$WORK/handoff.sock" "$@" ${DAEMON_EXTRA[@]+"${DAEMON_EXTRA[@]}"} \
                >"$WORK/daemon-$name.log" 2>&1 </dev/null &
        DAEMON_PID=$!
        for ((i = 0; i < 100; i++)); do
                [ -S "$WORK/handoff.sock" ] && return 0
                kill -0 "$DAEMON_PID" 2>/dev/null || break
                sleep 0.1
        done
        echo "$0: uffdtierd did not start ($*):" >&2
        cat "$WORK/daemon-$name.log" >&2
        exit 1
}

run_workload() { # NAME ARGS...
        local name=$1 rc
        shift
        "$WORKLOAD" --size="$SIZE" --duration="${DURATION}s" --warmup="${WARMUP}s" \
                ${MODE_ARGS[@]+"${MODE_ARGS[@]}"} "$@" \
                >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
        LOAD_PID=$!
        wait "$LOAD_PID"
        rc=$?
        LOAD_PID=
        if [ "$rc" -ne 0 ]; then
                echo "$0: bench-workload failed in run '$name' (exit $rc):" >&2
                cat "$WORK/$name.err" >&2
                [ -f "$WORK/daemon-$name.log" ] && tail -20 "$WORK/daemon-$name.log" >&2
                exit 1
        fi
}

# ---- the machine -----------------------------------------------------------------------------

BACKEND=$("$UFFDTIERD" --probe --json 2>/dev/null | sed -n 's/.*"backend": *"\([a-z-]*\)".*/\1/p')
MODEL=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
THP=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)
MEM_GIB=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
SWAP_MIB=$(awk '/^SwapTotal:/ { printf "%.0f", $2 / 1024 }' /proc/meminfo)
RUNS=$(wc -w <<<"$CONFIGS")

echo "machine: $(nproc) CPUs, ${MODEL:-unknown CPU}, ${MEM_GIB} GiB RAM, ${SWAP_MIB} MiB swap"
echo "kernel: $(uname -r), backend ${BACKEND:-none}, THP ${THP:-?} (the workload uses 4 KiB pages)"
echo "workload: $SIZE, one ${MODE} per 4 KiB page, whole range in a loop; ${WARMUP} s warm-up + ${DURATION} s measured per run"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "about $((RUNS * (DURATION + WARMUP + 5))) s for $RUNS runs: $CONFIGS" >&2
[ -n "$BACKEND" ] && [ "$BACKEND" != none ] ||
        { echo "$0: this kernel gives uffdtierd no tracking backend" >&2; exit 1; }

# ---- the runs --------------------------------------------------------------------------------

declare -A R_TPUT R_TPUTC R_SYS R_FAULTS R_CYCLES R_CPU_MS R_PERIOD R_INTERVAL R_COLD R_WARN R_EVICTED
ORDER=()
n=0
for cfg in $CONFIGS; do
        n=$((n + 1))
        name="$n-$cfg"
        forced=
        case $cfg in
        untracked) ;;
        default) ival=$INTERVAL cold=$COLD_AGE ;;
        default-worst) ival=$INTERVAL cold=$COLD_AGE forced=1 ;;
        short) ival=$SHORT_INTERVAL cold=$SHORT_COLD_AGE ;;
        short-worst) ival=$SHORT_INTERVAL cold=$SHORT_COLD_AGE forced=1 ;;
        *) echo "$0: unknown configuration '$cfg'" >&2; exit 2 ;;
        esac
        echo "[$n/$RUNS] $cfg ..." >&2
        if [ "$cfg" = untracked ]; then
                run_workload "$name"
                R_INTERVAL[$name]=-
                R_COLD[$name]=-
                R_PERIOD[$name]=-
        else
                args=(--interval="$ival" --cold-age="$cold")
                [ -n "$forced" ] && args+=(--rearm-period="$forced")
                start_daemon "$name" "${args[@]}"
                run_workload "$name" --track --socket="$WORK/handoff.sock" --daemon-pid="$DAEMON_PID"
                stop_daemon
                R_INTERVAL[$name]=$ival
                R_COLD[$name]=$cold
                R_PERIOD[$name]=$(rearm_period "$ival" "$cold" "$forced")
                R_CYCLES[$name]=$(value daemon_cycles "$WORK/$name.out")
                R_EVICTED[$name]=$(value daemon_end_evicted_bytes "$WORK/$name.out")
                # /proc/PID/sched has ns precision; utime+stime only 10 ms ticks, a few per run
                ms=$(value daemon_runtime_ms "$WORK/$name.out")
                if [ -z "$ms" ]; then
                        ticks=$(value daemon_cpu_ticks "$WORK/$name.out")
                        hz=$(value clock_ticks_per_sec "$WORK/$name.out")
                        ms=$(calc "$ticks * 1000 / $hz")
                fi
                R_CPU_MS[$name]=$ms
                # warnings and errors of the daemon (levels 0-4), reported below the table
                R_WARN[$name]=$(grep -c '^<[0-4]>' "$WORK/daemon-$name.log")
                if [ "${R_WARN[$name]}" -gt 0 ]; then
                        cp "$WORK/daemon-$name.log" "$WORK/warn-$name.log"
                fi
        fi
        R_TPUT[$name]=$(value throughput_pages_per_sec "$WORK/$name.out")
        R_TPUTC[$name]=$(value throughput_pages_per_cpu_sec "$WORK/$name.out")
        R_SYS[$name]=$(calc "$(value sys_sec "$WORK/$name.out") * 100 / $(value duration_sec "$WORK/$name.out")")
        R_FAULTS[$name]=$(value minor_faults "$WORK/$name.out")
        ORDER+=("$name")
done

# overhead RATE BASE: "+1.2 %"
overhead() {
        awk -v t="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%+.1f %%", (1 - t / b) * 100; else print "-" }'
}

# ---- the table -------------------------------------------------------------------------------

base_sum=0
base_sumc=0
base_n=0
for name in "${ORDER[@]}"; do
        [[ $name == *-untracked ]] || continue
        base_sum=$(calc "$base_sum + ${R_TPUT[$name]}")
        base_sumc=$(calc "$base_sumc + ${R_TPUTC[$name]}")
        base_n=$((base_n + 1))
done
gib=$(calc "$(value size_bytes "$WORK/${ORDER[0]}.out") / 1073741824")

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run | interval | cold age | re-arm period | pages/s | overhead | pages/CPU-s | overhead per CPU-s | client sys time | faults/cycle | µs/fault | cycles | daemon CPU/GiB/cycle |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for name in "${ORDER[@]}"; do
        cfg=${name#*-}
        tput=${R_TPUT[$name]}
        tputc=${R_TPUTC[$name]}
        if [ "$base_n" -gt 0 ]; then
                over=$(overhead "$tput" "$(calc "$base_sum / $base_n")")
                overc=$(overhead "$tputc" "$(calc "$base_sumc / $base_n")")
        else
                over="n/a" overc="n/a"
        fi
        sys=$(awk -v s="${R_SYS[$name]}" 'BEGIN { printf "%.2f %%", s }')
        if [ "$cfg" = untracked ]; then
                fpc=- cycles=- cpu=- usf=-
        else
                cycles=${R_CYCLES[$name]}
                fpc=$(awk -v f="${R_FAULTS[$name]}" -v c="$cycles" 'BEGIN { if (c > 0) printf "%.0f", f / c; else print "-" }')
                usf=$(awk -v s="$(value sys_sec "$WORK/$name.out")" -v f="${R_FAULTS[$name]}" \
                        'BEGIN { if (f > 0) printf "%.2f", s * 1e6 / f; else print "-" }')
                cpu=$(awk -v ms="${R_CPU_MS[$name]}" -v c="$cycles" -v g="$gib" \
                        'BEGIN { if (c > 0 && g > 0) printf "%.2f ms", ms / g / c; else print "-" }')
        fi
        printf "| %s | %s | %s | %s | %.0f | %s | %.0f | %s | %s | %s | %s | %s | %s |\n" "$cfg" \
                "${R_INTERVAL[$name]}" "${R_COLD[$name]}" "${R_PERIOD[$name]}" "$tput" "$over" \
                "$tputc" "$overc" "$sys" "$fpc" "$usf" "$cycles" "$cpu"
done
echo
echo "overhead: 1 - pages/s / mean pages/s of the untracked runs (negative: faster than that mean);"
echo "per CPU-s: the same with pages per second of the workload's own CPU time, which time it spent"
echo "preempted by other programs does not lower."
echo "client sys time: the workload's system time / measured time (untracked runs show the floor);"
echo "with wp-async the kernel resolves a tracking fault in the faulting thread, so it is spent there."
echo "faults/cycle: the workload's minor faults over the measured part / the daemon's cycles in it;"
echo "µs/fault: the workload's system time / those faults (an upper bound: all system time counts)."
echo "daemon CPU: its on-CPU time over the measured part / GiB tracked / cycles in that part."

warned=0
for name in "${ORDER[@]}"; do
        [ -n "${R_WARN[$name]:-}" ] && [ "${R_WARN[$name]}" -gt 0 ] || continue
        warned=1
        echo
        echo "daemon warnings/errors in run ${name#*-}:"
        grep '^<[0-4]>' "$WORK/warn-$name.log" | head -10
done
for name in "${ORDER[@]}"; do
        [ -n "${R_EVICTED[$name]:-}" ] && [ "${R_EVICTED[$name]}" -gt 0 ] || continue
        echo "note: the daemon evicted ${R_EVICTED[$name]} bytes in run ${name#*-} (memory it did not see used)"
done
[ "$warned" = 0 ] && echo "the daemon logged no warnings or errors."
exit 0
