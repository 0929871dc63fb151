#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-compare.sh [--zswap=on|off|keep] [--out=DIR] BUILD_DIR — the comparison benchmark: what
# uffdtierd frees and what it costs, against the kernel's own reclaim on the same work.
#
# The same workload (tests/bench/bench-compare, built in BUILD_DIR; this script builds nothing),
# one thread over a COMPARE_SIZE mapping in three shapes:
#
#   rw      a hot set of 10 % of the pages, 10 % of its accesses writes
#   ro      a read-only hot set of 25 % (wp-async cannot see reads: the daemon's hard case)
#   moving  like rw, the hot set sliding by its own size every COMPARE_MOVE_PERIOD
#   thp     like rw, in transparent huge pages (MADV_HUGEPAGE) instead of 4 KiB pages
#   threads2  like rw, two threads, each on its own stripe of pages (every other page)
# (thp and threads2 only when named in COMPARE_SHAPES)
#
# with 100 stray reads per million accesses anywhere in the mapping, in three regimes, each in
# a memory cgroup of its own (v1 memory controller where the host mounts it, else v2):
#
#   untracked  no limit, no daemon: the reference
#   lru        the kernel's LRU under a cgroup limit of COMPARE_LIMIT_FACTOR x the hot set
#              (v1 memory.limit_in_bytes, v2 memory.max), set by the workload itself as the
#              measured part starts, after the fill (the reclaim down to it runs in the workload's
#              thread and is charged to the measured part, as the daemon's page-out is): an
#              oracle budget
#   senpai     the kernel's LRU under a limit no one told the hot set: Senpai's loop (Facebook's
#              published algorithm) lowers it step by step while memory pressure stays under a
#              target and raises it when pressure goes over: every COMPARE_SENPAI_INTERVAL, with p
#              the share of that time stalled on memory ("some"; the cgroup's memory.pressure on
#              v2, the system's on v1), limit = usage x (1 - 1 % x (1 - p / target)) under the
#              target COMPARE_SENPAI_TARGET, limit x (1 + min(p / target - 1, 1) x 10 %) over it
#   daemon     no limit, the memory handed to a fresh uffdtierd after the fill
#
# Per shape and regime it reports: memory freed (the cgroup's usage against the untracked run,
# mean of the last COMPARE_TAIL seconds; not VmSwap), throughput loss against untracked, p99.99
# access latency (one access in 16 timed), refaults per minute (the workload's major faults) as a
# percentage of the hot set's pages, reclaimer CPU counted the same way in every regime (daemon
# CPU + kswapd CPU + the workload's system time above the untracked run's), the time from the
# end of the fill until 90 % of the cold memory has left the cgroup, and bad pages (every page
# checked against its pattern at the end; must be 0); and per GiB freed: the accesses lost against
# the untracked run, the TLB-shootdown interrupts of all CPUs (/proc/interrupts), the workload's
# page faults (minor + major) and the reclaimer CPU.
#
# Output in DIR (default ./compare-TIMESTAMP): report.json, resident.png (gnuplot, if installed:
# Debian package gnuplot-nox; nothing is installed), the raw outputs; a summary table on stdout.
#
# Swap: a temporary swapfile in /var/tmp when there is not enough free swap (removed at the end).
# --zswap=on|off sets /sys/module/zswap/parameters/enabled for the run and restores it afterwards
# (it says so); keep (the default) leaves it.
#
# Environment (defaults in brackets):
#   COMPARE_SIZE [2G]  COMPARE_DURATION [60] (measured seconds per run)  COMPARE_SHAPES [rw ro
#   moving]  COMPARE_REGIMES [untracked lru senpai daemon]  COMPARE_INTERVAL [1s]  COMPARE_COLD_AGE [10s]
#   COMPARE_LIMIT_FACTOR [1.25]  COMPARE_MOVE_PERIOD [20s]  COMPARE_TAIL [10] (seconds averaged
#   for the memory freed)  COMPARE_DAEMON_ARGS [none] (more uffdtierd options)
#   COMPARE_SENPAI_INTERVAL [1] (seconds)  COMPARE_SENPAI_TARGET [0.1] (% of the time stalled)
# The default run (2G, 60 s, 3 x 4 runs) takes about 16 minutes here. Needs root.

set -u

ZSWAP_MODE=keep
OUT=
while [ $# -gt 1 ]; do
        case $1 in
        --zswap=on | --zswap=off | --zswap=keep) ZSWAP_MODE=${1#--zswap=} ;;
        --out=?*) OUT=${1#--out=} ;;
        *) echo "usage: $0 [--zswap=on|off|keep] [--out=DIR] BUILD_DIR" >&2; exit 2 ;;
        esac
        shift
done
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
        echo "usage: $0 [--zswap=on|off|keep] [--out=DIR] BUILD_DIR" >&2
        exit 2
fi
BUILD=$1
UFFDTIERD=$BUILD/daemon/uffdtierd
WORKLOAD=$BUILD/tests/bench/bench-compare
for f in "$UFFDTIERD" "$WORKLOAD"; do
        [ -x "$f" ] || { echo "$0: $f is not built" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "$0: needs root (memory cgroups, swap, zswap)" >&2; exit 2; }

SIZE=${COMPARE_SIZE:-2G}
DURATION=${COMPARE_DURATION:-60}
SHAPES=${COMPARE_SHAPES:-rw ro moving}
REGIMES=${COMPARE_REGIMES:-untracked lru senpai daemon}
INTERVAL=${COMPARE_INTERVAL:-1s}
COLD_AGE=${COMPARE_COLD_AGE:-10s}
FACTOR=${COMPARE_LIMIT_FACTOR:-1.25}
MOVE_PERIOD=${COMPARE_MOVE_PERIOD:-20s}
TAIL=${COMPARE_TAIL:-10}
SENPAI_INTERVAL=${COMPARE_SENPAI_INTERVAL:-1}
SENPAI_TARGET=${COMPARE_SENPAI_TARGET:-0.1}
SENPAI_PID=
read -r -a DAEMON_EXTRA <<<"${COMPARE_DAEMON_ARGS:-}"
OUT=${OUT:-compare-$(date +%Y%m%d-%H%M%S)}
[[ $DURATION =~ ^[0-9]+$ ]] && [ "$DURATION" -gt 0 ] || { echo "$0: COMPARE_DURATION must be whole seconds" >&2; exit 2; }
[[ $TAIL =~ ^[0-9]+$ ]] && [ "$TAIL" -gt 0 ] || { echo "$0: COMPARE_TAIL must be whole seconds" >&2; exit 2; }
for s in $SHAPES; do
        case $s in rw | ro | moving | thp | threads2) ;; *) echo "$0: unknown shape '$s'" >&2; exit 2 ;; esac
done
for g in $REGIMES; do
        case $g in untracked | lru | senpai | daemon) ;; *) echo "$0: unknown regime '$g'" >&2; exit 2 ;; esac
done
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)

# ---- cleanup on every path -------------------------------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/uffdtier-compare.XXXXXX") || exit 1
DAEMON_PID=
LOAD_PID=
CG_DIR=
SWAPFILE=
ZSWAP=/sys/module/zswap/parameters/enabled
ZSWAP_OLD=

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

cg_remove() {
        local i
        [ -n "$CG_DIR" ] || return 0
        for ((i = 0; i < 100; i++)); do
                [ -s "$CG_DIR/cgroup.procs" ] || break
                sleep 0.1
        done
        rmdir "$CG_DIR" 2>/dev/null || echo "$0: could not remove $CG_DIR" >&2
        CG_DIR=
}

stop_senpai() {
        [ -n "$SENPAI_PID" ] || return 0
        kill "$SENPAI_PID" 2>/dev/null
        wait "$SENPAI_PID" 2>/dev/null
        SENPAI_PID=
}

cleanup() {
        stop_senpai
        if [ -n "$LOAD_PID" ]; then
                kill -KILL "$LOAD_PID" 2>/dev/null
                wait "$LOAD_PID" 2>/dev/null
                LOAD_PID=
        fi
        stop_daemon
        cg_remove
        if [ -n "$SWAPFILE" ]; then
                swapoff "$SWAPFILE" 2>/dev/null
                rm -f "$SWAPFILE"
                echo "removed the temporary swapfile $SWAPFILE" >&2
        fi
        if [ -n "$ZSWAP_OLD" ]; then
                echo "$ZSWAP_OLD" >"$ZSWAP" && echo "zswap restored to $ZSWAP_OLD" >&2
        fi
        rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- helpers ---------------------------------------------------------------------------------

# value KEY FILE: the value of a key=value line of the workload's output
value() {
        awk -F= -v k="$1" '$1 == k { v = substr($0, length(k) + 2) } END { print v }' "$2"
}

calc() {
        awk "BEGIN { x = ($1); printf \"%.10g\\n\", x }" 2>/dev/null || echo "-"
}

bytes() { # SIZE: parse_size()'s integer forms (K, M, G, T suffixes, powers of 1024)
        local n u
        [[ $1 =~ ^([0-9]+)([KMGT]?)$ ]] || { echo ""; return; }
        n=${BASH_REMATCH[1]}
        u=${BASH_REMATCH[2]}
        case $u in
        "") echo "$n" ;;
        K) echo $((n << 10)) ;;
        M) echo $((n << 20)) ;;
        G) echo $((n << 30)) ;;
        T) echo $((n << 40)) ;;
        esac
}

hot_fraction() { # SHAPE
        case $1 in ro) echo 0.25 ;; *) echo 0.1 ;; esac
}

SIZE_BYTES=$(bytes "$SIZE")
[ -n "$SIZE_BYTES" ] || { echo "$0: COMPARE_SIZE must be a number with K, M, G or T" >&2; exit 2; }

# ---- memory cgroups --------------------------------------------------------------------------

if grep -q '^[0-9]*:[^:]*\bmemory\b[^:]*:' /proc/self/cgroup && [ -d /sys/fs/cgroup/memory ]; then
        CG_VERSION=1
        CG_ROOT=/sys/fs/cgroup/memory
        CG_USAGE=memory.usage_in_bytes
        CG_LIMIT=memory.limit_in_bytes
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
        CG_VERSION=2
        CG_ROOT=/sys/fs/cgroup
        CG_USAGE=memory.current
        CG_LIMIT=memory.max
        grep -qw memory "$CG_ROOT/cgroup.subtree_control" || echo +memory >"$CG_ROOT/cgroup.subtree_control" ||
                { echo "$0: cannot enable the memory controller for child cgroups" >&2; exit 1; }
else
        echo "$0: no memory cgroup controller here" >&2
        exit 1
fi

# ---- swap and zswap --------------------------------------------------------------------------

need_kib=$((SIZE_BYTES / 1024 + 256 * 1024))
free_kib=$(awk '/^SwapFree:/ { print $2 }' /proc/meminfo)
if [ "$free_kib" -lt "$need_kib" ]; then
        SWAPFILE=$(mktemp /var/tmp/uffdtier-compare-swap.XXXXXX) || exit 1
        chmod 600 "$SWAPFILE"
        mib=$((need_kib / 1024 + 1))
        echo "no $((need_kib / 1024)) MiB of free swap: adding the swapfile $SWAPFILE ($mib MiB)" >&2
        if ! { fallocate -l "${mib}M" "$SWAPFILE" 2>/dev/null && mkswap "$SWAPFILE" >/dev/null 2>&1 &&
                swapon "$SWAPFILE" 2>/dev/null; }; then
                rm -f "$SWAPFILE"
                dd if=/dev/zero of="$SWAPFILE" bs=1M count="$mib" status=none &&
                        mkswap "$SWAPFILE" >/dev/null 2>&1 && swapon "$SWAPFILE" ||
                        { echo "$0: cannot set up a swapfile in /var/tmp" >&2; exit 1; }
        fi
fi

if [ "$ZSWAP_MODE" != keep ]; then
        [ -w "$ZSWAP" ] || { echo "$0: --zswap=$ZSWAP_MODE: this kernel has no zswap ($ZSWAP)" >&2; exit 1; }
        ZSWAP_OLD=$(cat "$ZSWAP")
        case $ZSWAP_MODE in on) want=Y ;; off) want=N ;; esac
        echo "zswap: was $ZSWAP_OLD, set to $want for this run (restored at the end)" >&2
        echo "$want" >"$ZSWAP" || exit 1
fi
ZSWAP_NOW=$(cat "$ZSWAP" 2>/dev/null || echo none)
ZSWAP_COMP=$(cat /sys/module/zswap/parameters/compressor 2>/dev/null || echo -)

# ---- the machine -----------------------------------------------------------------------------

BACKEND=$("$UFFDTIERD" --probe --json 2>/dev/null | sed -n 's/.*"backend": *"\([a-z-]*\)".*/\1/p' | head -n 1)
MODEL=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
MEM_GIB=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
SWAP_DESC=$(awk 'NR > 1 { printf "%s%s %s %d MiB", sep, $1, $2, $3 / 1024; sep = ", " }' /proc/swaps)
MACHINE="$(nproc) CPUs, ${MODEL:-unknown CPU}, ${MEM_GIB} GiB RAM, Linux $(uname -r), backend ${BACKEND:-none}"
SETUP="swap: ${SWAP_DESC:-none}; zswap ${ZSWAP_NOW} (${ZSWAP_COMP}); memory cgroup v${CG_VERSION}"
N_RUNS=$(($(wc -w <<<"$SHAPES") * $(wc -w <<<"$REGIMES")))
echo "machine: $MACHINE"
echo "$SETUP"
echo "workload: $SIZE, one thread, shapes: $SHAPES; $DURATION s measured per run; daemon --interval=$INTERVAL --cold-age=$COLD_AGE ${COMPARE_DAEMON_ARGS:-}; limit ${FACTOR}x the hot set"
echo "about $((N_RUNS * (DURATION + 25))) s for $N_RUNS runs" >&2
case " $REGIMES " in
*" daemon "*) [ -n "$BACKEND" ] && [ "$BACKEND" != none ] ||
        { echo "$0: this kernel gives uffdtierd no tracking backend" >&2; exit 1; } ;;
esac

# ---- the runs --------------------------------------------------------------------------------

start_daemon() { # NAME
        local i
        rm -f "$WORK/handoff.sock"
        "$UFFDTIERD" --socket="$WORK/handoff.sock" --no-bus --interval="$INTERVAL" \
                --cold-age="$COLD_AGE" ${DAEMON_EXTRA[@]+"${DAEMON_EXTRA[@]}"} \
                >"$OUT/daemon-$1.log" 2>&1 </dev/null &
        DAEMON_PID=$!
        for ((i = 0; i < 100; i++)); do
                [ -S "$WORK/handoff.sock" ] && return 0
                kill -0 "$DAEMON_PID" 2>/dev/null || break
                sleep 0.1
        done
        echo "$0: uffdtierd did not start:" >&2
        cat "$OUT/daemon-$1.log" >&2
        exit 1
}

# cg_oom_kills: how many OOM kills the run's memory cgroup saw (v1 memory.oom_control, v2 memory.events)
cg_oom_kills() {
        local f=$CG_DIR/memory.oom_control
        [ "$CG_VERSION" = 2 ] && f=$CG_DIR/memory.events
        awk '$1 == "oom_kill" { print $2 }' "$f" 2>/dev/null
}

# psi_total: the cumulative "some" memory stall (µs) for the run's cgroup (v2), else the system's
psi_total() {
        local f=/proc/pressure/memory
        [ "$CG_VERSION" = 2 ] && [ -r "$CG_DIR/memory.pressure" ] && f=$CG_DIR/memory.pressure
        awk '$1 == "some" { for (i = 2; i <= NF; i++) if ($i ~ /^total=/) { sub("total=", "", $i); print $i } }' "$f"
}

# senpai OUTFILE: Senpai's loop on the run's cgroup, from the end of the fill (the workload's
# "shape=" line) on; logs each step to $OUT/NAME-senpai.log
senpai() {
        local out=$1 log=$2 t0 t1 usage limit p
        until grep -q '^shape=' "$out" 2>/dev/null; do sleep 0.1; done
        t0=$(psi_total)
        while :; do
                sleep "$SENPAI_INTERVAL"
                t1=$(psi_total)
                usage=$(cat "$CG_DIR/$CG_USAGE") || return 0
                limit=$(cat "$CG_DIR/$CG_LIMIT")
                [ "$limit" = max ] || [ "$limit" -gt $((usage * 2)) ] && limit=$usage
                p=$(awk -v a="$t0" -v b="$t1" -v i="$SENPAI_INTERVAL" 'BEGIN { printf "%.4f", (b - a) / (i * 1e6) * 100 }')
                limit=$(awk -v u="$usage" -v l="$limit" -v p="$p" -v t="$SENPAI_TARGET" 'BEGIN {
                        if (p < t) n = u * (1 - 0.01 * (1 - p / t));
                        else { x = p / t - 1; if (x > 1) x = 1; n = l * (1 + 0.1 * x) }
                        printf "%d", int(n / 4096) * 4096 }')
                echo "$limit" >"$CG_DIR/$CG_LIMIT" 2>/dev/null
                echo "pressure=$p% usage=$usage limit=$limit" >>"$log"
                t0=$t1
        done
}

declare -A OOM_KILLED
run_one() { # SHAPE REGIME
        local shape=$1 regime=$2 name="$1-$2" hot args=() rc limit ooms
        hot=$(hot_fraction "$shape")
        CG_DIR=$CG_ROOT/uffdtier-compare-$$-$name
        mkdir "$CG_DIR" || { echo "$0: cannot create $CG_DIR" >&2; exit 1; }
        args=(--size="$SIZE" --duration="${DURATION}s" --shape="$(case $shape in thp | threads2) echo rw ;; *) echo "$shape" ;; esac)" --hot="$hot"
                --move-period="$MOVE_PERIOD" --usage-file="$CG_DIR/$CG_USAGE")
        [ "$shape" = thp ] && args+=(--thp)
        [ "$shape" = threads2 ] && args+=(--threads=2)
        case $regime in
        lru)
                limit=$(awk -v s="$SIZE_BYTES" -v h="$hot" -v f="$FACTOR" \
                        'BEGIN { printf "%d", int(s * h * f / 4096) * 4096 }')
                args+=(--limit="$CG_DIR/$CG_LIMIT:$limit" --unlimit="$CG_DIR/$CG_LIMIT")
                ;;
        senpai)
                args+=(--unlimit="$CG_DIR/$CG_LIMIT")
                ;;
        daemon)
                start_daemon "$name"
                args+=(--track --socket="$WORK/handoff.sock" --daemon-pid="$DAEMON_PID")
                ;;
        esac
        (echo "$BASHPID" >"$CG_DIR/cgroup.procs" && exec "$WORKLOAD" "${args[@]}") \
                >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null &
        LOAD_PID=$!
        if [ "$regime" = senpai ]; then
                senpai "$OUT/$name.out" "$OUT/$name-senpai.log" &
                SENPAI_PID=$!
        fi
        # the loop stops before the workload's check (it lifts the limit then)
        if [ -n "$SENPAI_PID" ]; then
                until grep -q '^latency_max_bucket_ns=' "$OUT/$name.out" 2>/dev/null || ! kill -0 "$LOAD_PID" 2>/dev/null; do
                        sleep 0.2
                done
                stop_senpai
        fi
        wait "$LOAD_PID"
        rc=$?
        LOAD_PID=
        stop_daemon
        ooms=$(cg_oom_kills)
        cg_remove
        if [ "$rc" = 137 ] && { [ "$regime" = lru ] || [ "$regime" = senpai ]; } && [ "${ooms:-0}" -gt 0 ]; then
                # the kernel's own answer to this budget: a figure of the comparison, not a failure
                echo "   $name: OOM-killed by the kernel under the limit ($ooms kill(s))" >&2
                OOM_KILLED[$name]=1
                : >"$OUT/$name.dat"
                return 0
        fi
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
                echo "$0: bench-compare failed in run $name (exit $rc):" >&2
                cat "$OUT/$name.err" >&2
                exit 1
        fi
        awk '$1 == "sample" { split($2, t, "="); split($3, u, "="); if (u[2] >= 0) printf "%s %.1f\n", t[2], u[2] / 1048576 }' \
                "$OUT/$name.out" >"$OUT/$name.dat"
}

n=0
for shape in $SHAPES; do
        for regime in $REGIMES; do
                n=$((n + 1))
                echo "[$n/$N_RUNS] $shape $regime ..." >&2
                run_one "$shape" "$regime"
        done
done

# ---- figures ---------------------------------------------------------------------------------

# tail_usage FILE: mean cgroup usage (bytes) over the last TAIL seconds of the measured part
tail_usage() {
        awk -v d="$DURATION" -v w="$TAIL" '$1 == "sample" { split($2, t, "="); split($3, u, "=");
                if (t[2] >= d - w && u[2] >= 0) { s += u[2]; n++ } } END { if (n) printf "%.0f", s / n; else print -1 }' "$1"
}

# t90 FILE FULL COLD: first sample time at which usage <= FULL - 0.9 COLD ("" if never)
t90() {
        awk -v full="$2" -v cold="$3" '$1 == "sample" { split($2, t, "="); split($3, u, "=");
                if (u[2] >= 0 && u[2] <= full - 0.9 * cold) { printf "%.1f", t[2]; exit } }' "$1"
}

declare -A F_LOSSGIB F_TLBGIB F_FLTGIB F_CPUGIB F_FREED F_FREEDPCT F_LOSS F_P9999 F_REFAULT F_RCPU F_RCPUPCT F_T90 F_BAD F_TPUT F_RES
JSON_RUNS=
for shape in $SHAPES; do
        ref=$OUT/$shape-untracked.out
        [ -f "$ref" ] || ref=
        for regime in $REGIMES; do
                f=$OUT/$shape-$regime.out
                k=$shape-$regime
                if [ -n "${OOM_KILLED[$k]:-}" ]; then
                        JSON_RUNS+="${JSON_RUNS:+,
}    {\"shape\": \"$shape\", \"regime\": \"$regime\", \"oom_killed\": true}"
                        continue
                fi
                dur=$(value duration_sec "$f")
                tput=$(value throughput_per_sec "$f")
                hot_pages=$(value hot_pages "$f")
                cold=$((SIZE_BYTES - $(value hot_bytes "$f")))
                res=$(tail_usage "$f")
                sys=$(value sys_sec "$f")
                dcpu=$(value daemon_cpu_sec "$f")
                kcpu=$(value kswapd_cpu_sec "$f")
                if [ -n "$ref" ]; then
                        full=$(tail_usage "$ref")
                        tput0=$(value throughput_per_sec "$ref")
                        sys0=$(value sys_sec "$ref")
                        freed=$(calc "$full - $res")
                        loss=$(calc "(1 - $tput / $tput0) * 100")
                        extra=$(calc "($sys - $sys0 > 0) ? $sys - $sys0 : 0")
                else
                        # without the reference: the fill itself is the full size
                        full=$SIZE_BYTES
                        freed=$(calc "$full - $res")
                        loss=null
                        extra=$sys
                fi
                rcpu=$(calc "$dcpu + $kcpu + $extra")
                # per GiB freed (none when nothing was freed)
                tlb=$(value tlb_ipis "$f" | grep . || echo 0)
                flt=$(($(value minor_faults "$f") + $(value major_faults "$f")))
                gib=$(calc "$freed / 1073741824")
                if [ "$(calc "$gib > 0.01")" = 1 ] && [ -n "$ref" ]; then
                        F_LOSSGIB[$k]=$(calc "($tput0 - $tput) * $dur / $gib / 1e6")
                        F_TLBGIB[$k]=$(calc "$tlb / $gib")
                        F_FLTGIB[$k]=$(calc "$flt / $gib")
                        F_CPUGIB[$k]=$(calc "$rcpu / $gib")
                else
                        F_LOSSGIB[$k]=null F_TLBGIB[$k]=null F_FLTGIB[$k]=null F_CPUGIB[$k]=null
                fi
                F_TPUT[$k]=$tput
                F_RES[$k]=$(calc "$res / 1048576")
                F_FREED[$k]=$(calc "$freed / 1048576")
                F_FREEDPCT[$k]=$(calc "$freed * 100 / $cold")
                F_LOSS[$k]=$loss
                F_P9999[$k]=$(value latency_p9999_ns "$f")
                F_REFAULT[$k]=$(calc "$(value major_faults "$f") / ($dur / 60) * 100 / $hot_pages")
                F_RCPU[$k]=$rcpu
                F_RCPUPCT[$k]=$(calc "$rcpu * 100 / $dur")
                F_T90[$k]=$(t90 "$f" "$full" "$cold")
                F_BAD[$k]=$(($(value bad_pages "$f") + $(value bad_reads "$f")))
                t90j=${F_T90[$k]:-null}
                [ "$regime" = untracked ] && t90j=null
                JSON_RUNS+="${JSON_RUNS:+,
}    {\"shape\": \"$shape\", \"regime\": \"$regime\", \"duration_sec\": $dur,
     \"accesses_per_sec\": $tput, \"throughput_loss_pct\": ${loss},
     \"resident_end_bytes\": $res, \"freed_bytes\": $freed, \"cold_bytes\": $cold,
     \"freed_pct_of_cold\": ${F_FREEDPCT[$k]}, \"latency_p50_ns\": $(value latency_p50_ns "$f"),
     \"latency_p99_ns\": $(value latency_p99_ns "$f"), \"latency_p9999_ns\": ${F_P9999[$k]},
     \"major_faults\": $(value major_faults "$f"), \"refaults_per_min_pct_hot\": ${F_REFAULT[$k]},
     \"sys_sec\": $sys, \"daemon_cpu_sec\": $dcpu, \"kswapd_cpu_sec\": $kcpu,
     \"extra_sys_sec\": $extra, \"reclaimer_cpu_sec\": $rcpu,
     \"time_to_90pct_cold_freed_sec\": $t90j, \"bad_pages\": $(value bad_pages "$f"),
     \"bad_reads\": $(value bad_reads "$f"), \"daemon_evicted_bytes\": $(value daemon_evicted_bytes "$f" | grep . || echo null),
     \"daemon_freed_bytes\": $(value daemon_freed_bytes "$f" | grep . || echo null),
     \"tlb_ipis\": $tlb, \"tlb_ipis_per_cpu\": \"$(value tlb_ipis_per_cpu "$f")\", \"page_faults\": $flt,
     \"accesses_lost_per_gib_freed_millions\": ${F_LOSSGIB[$k]}, \"tlb_ipis_per_gib_freed\": ${F_TLBGIB[$k]},
     \"page_faults_per_gib_freed\": ${F_FLTGIB[$k]}, \"reclaimer_cpu_sec_per_gib_freed\": ${F_CPUGIB[$k]}}"
        done
done

cat >"$OUT/report.json" <<EOF
{
  "machine": "$MACHINE",
  "setup": "$SETUP",
  "command": "$0 --zswap=$ZSWAP_MODE $BUILD",
  "size_bytes": $SIZE_BYTES, "duration_sec": $DURATION, "interval": "$INTERVAL",
  "cold_age": "$COLD_AGE", "limit_factor": $FACTOR, "move_period": "$MOVE_PERIOD",
  "daemon_args": "${COMPARE_DAEMON_ARGS:-}",
  "runs": [
$JSON_RUNS
  ]
}
EOF

# ---- the chart -------------------------------------------------------------------------------

if command -v gnuplot >/dev/null 2>&1; then
        n_shapes=$(wc -w <<<"$SHAPES")
        {
                echo "set terminal pngcairo size 900,$((300 * n_shapes)) font ',9'"
                echo "set output '$OUT/resident.png'"
                echo "set multiplot layout $n_shapes,1 title 'cgroup memory usage, $SIZE workload; zswap $ZSWAP_NOW; $(uname -r)'"
                echo "set xlabel 'seconds after the fill'"
                echo "set ylabel 'MiB'"
                echo "set key outside right"
                echo "set yrange [0:*]"
                for shape in $SHAPES; do
                        echo "set title '$shape'"
                        plot="plot"
                        sep=
                        for regime in $REGIMES; do
                                plot+="$sep '$OUT/$shape-$regime.dat' using 1:2 with lines lw 2 title '$regime'"
                                sep=,
                        done
                        echo "$plot"
                done
                echo "unset multiplot"
        } >"$WORK/chart.gp"
        gnuplot "$WORK/chart.gp" 2>"$WORK/gnuplot.err" || { echo "gnuplot failed:" >&2; cat "$WORK/gnuplot.err" >&2; }
else
        echo "gnuplot is not installed (Debian package gnuplot-nox): no chart" >&2
fi

# ---- the table -------------------------------------------------------------------------------

echo
echo "| shape | regime | accesses/s | loss | resident | freed | freed/cold | p99.99 | refaults/min | reclaimer CPU | 90 % cold freed | bad pages |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for shape in $SHAPES; do
        for regime in $REGIMES; do
                k=$shape-$regime
                if [ -n "${OOM_KILLED[$k]:-}" ]; then
                        echo "| $shape | $regime | OOM-killed by the kernel under the limit | | | | | | | | | |"
                        continue
                fi
                loss=${F_LOSS[$k]}
                [ "$loss" = null ] && loss=- || loss=$(printf "%.0f %%" "$loss")
                [ "$regime" = untracked ] && loss=-
                t=${F_T90[$k]}
                if [ "$regime" = untracked ]; then t=-; elif [ -z "$t" ]; then t=never; else t="$t s"; fi
                printf "| %s | %s | %.2fM | %s | %.0f MiB | %.0f MiB | %.0f %% | %.1f µs | %.2f %% | %.1f s (%.0f %%) | %s | %s |\n" \
                        "$shape" "$regime" "$(calc "${F_TPUT[$k]} / 1e6")" "$loss" "${F_RES[$k]}" \
                        "${F_FREED[$k]}" "${F_FREEDPCT[$k]}" "$(calc "${F_P9999[$k]} / 1000")" \
                        "${F_REFAULT[$k]}" "${F_RCPU[$k]}" "${F_RCPUPCT[$k]}" "$t" "${F_BAD[$k]}"
        done
done
echo
echo "Per GiB freed (the work lost, charged from the end of the fill for every regime):"
echo
echo "| shape | regime | freed | accesses lost/GiB | TLB IPIs/GiB | page faults/GiB | reclaimer CPU/GiB | TLB IPIs per CPU |"
echo "|---|---|---|---|---|---|---|---|"
for shape in $SHAPES; do
        for regime in $REGIMES; do
                k=$shape-$regime
                [ "$regime" = untracked ] && continue
                [ -n "${OOM_KILLED[$k]:-}" ] && { echo "| $shape | $regime | OOM-killed | | | | | |"; continue; }
                if [ "${F_LOSSGIB[$k]}" = null ]; then
                        echo "| $shape | $regime | $(printf %.0f "${F_FREED[$k]}") MiB | - | - | - | - | $(value tlb_ipis_per_cpu "$OUT/$k.out") |"
                        continue
                fi
                printf "| %s | %s | %.0f MiB | %.1fM | %.0f | %.0f | %.2f s | %s |\n" "$shape" "$regime" \
                        "${F_FREED[$k]}" "${F_LOSSGIB[$k]}" "${F_TLBGIB[$k]}" "${F_FLTGIB[$k]}" \
                        "${F_CPUGIB[$k]}" "$(value tlb_ipis_per_cpu "$OUT/$k.out")"
        done
done
echo
echo "resident: the workload cgroup's usage, mean of the last $TAIL s; freed: the untracked run's minus that;"
echo "loss: 1 - accesses/s / the untracked run's; p99.99: of one access in 16, timed;"
echo "refaults/min: the workload's major faults per minute / the hot set's pages;"
echo "reclaimer CPU: daemon + kswapd + the workload's system time above the untracked run's (and % of one CPU);"
echo "90 % cold freed: seconds after the fill until usage <= untracked - 0.9 x cold."
echo "accesses lost/GiB: (untracked accesses/s - this run's) x seconds / GiB freed (millions)."
echo "The steady state apart: the mean of the last $TAIL s in the table's resident column; report.json has the samples."
echo "report: $OUT/report.json$([ -f "$OUT/resident.png" ] && echo ", chart: $OUT/resident.png")"
bad=0
for k in "${!F_BAD[@]}"; do [ "${F_BAD[$k]}" = 0 ] || bad=1; done
[ "$bad" = 0 ] || { echo "BAD PAGES: the integrity check failed" >&2; exit 3; }
exit 0
