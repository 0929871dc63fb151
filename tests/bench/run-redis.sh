#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-redis.sh [--zswap=on|off|keep] [--out=DIR] BUILD_DIR — a real server, unmodified, under
# uffdtierd: Debian's redis-server with its own load tool (redis-benchmark), against the kernel's
# LRU under a memory-cgroup limit, side by side in one run.
#
# Each regime starts a fresh redis-server (127.0.0.1 only, no persistence) in a memory cgroup of
# its own, created under this shell's own memory cgroup (the rest of the hierarchy is left alone):
#
#   untracked  no limit, no daemon: the reference
#   lru        the kernel's LRU under a limit of REDIS_LIMIT_FACTOR x the hot data plus what redis
#              holds besides its values (its cgroup usage after the fill minus the values' pages),
#              written after the fill (v1 memory.limit_in_bytes, v2 memory.max): an oracle budget
#   daemon     no limit; redis runs under uffdtier-run (BUILD_DIR/client), handed to a fresh
#              uffdtierd that follows the whole process (heap, jemalloc's extents)
#
# The fill: REDIS_KEYS values of REDIS_VALUE_SIZE bytes (default 262144 x 4090: 1 GiB; with
# redis' 6-byte string header a value fills one 4 KiB jemalloc slot, one page), text from a seed
# (tests/bench/bench-redis-data: about 0.6-0.7 of its size compressed), SET in a seeded random key
# order so the hot keys are scattered over the heap. Then the same load for REDIS_WARMUP seconds
# (not measured: the daemon finds and pages out the cold values) and the measured part, both at
# once on the loopback:
#
#   redis-benchmark -n REDIS_GETS -c 50 -r REDIS_HOT_KEYS GET v:__rand_int__   (the hot subset)
#   redis-benchmark -n 20000 -c 10 -r REDIS_SET_KEYS -d REDIS_VALUE_SIZE -t set (other keys,
#                   "key:..."), run again and again until the GETs are done
#
# Reported per regime: GET requests/s, p50 and p99 latency (redis-benchmark's), the SETs' likewise,
# the cgroup's usage (mean over the measured part), memory freed (the untracked run's usage minus
# that), reclaimer CPU (daemon + kswapd + redis' system time above the untracked run's, over the
# measured part), zswap's pool at the end (/proc/meminfo: Zswap, Zswapped), and at the end every
# value read back and compared byte for byte (lost and changed must be 0; exit 3 otherwise).
#
# Output in DIR (default ./redis-TIMESTAMP): report.json, the raw outputs; a table on stdout.
# Swap: a temporary swapfile in /var/tmp when there is not enough free swap (removed at the end).
# --zswap=on|off sets /sys/module/zswap/parameters/enabled for the run and restores it afterwards.
#
# Environment (defaults in brackets): REDIS_KEYS [262144] REDIS_VALUE_SIZE [4090]
#   REDIS_HOT_KEYS [REDIS_KEYS/10] REDIS_SET_KEYS [REDIS_KEYS/100] REDIS_GETS [1000000]
#   REDIS_WARMUP [45] REDIS_REGIMES [untracked lru daemon] REDIS_INTERVAL [1s]
#   REDIS_COLD_AGE [10s] REDIS_LIMIT_FACTOR [1.25] REDIS_DAEMON_ARGS [none] REDIS_SEED [1]
# Needs root, redis-server and redis-tools (scripts/install-deps.sh). About 4 minutes per regime.

set -u

ZSWAP_MODE=keep
OUT=
usage() { echo "usage: $0 [--zswap=on|off|keep] [--out=DIR] BUILD_DIR" >&2; exit 2; }
while [ $# -gt 1 ]; do
        case $1 in
        --zswap=on | --zswap=off | --zswap=keep) ZSWAP_MODE=${1#--zswap=} ;;
        --out=?*) OUT=${1#--out=} ;;
        *) usage ;;
        esac
        shift
done
[ $# -eq 1 ] && [ -d "$1" ] || usage
BUILD=$(cd "$1" && pwd)
UFFDTIERD=$BUILD/daemon/uffdtierd
LAUNCHER=$BUILD/client/uffdtier-run
DATA=$BUILD/tests/bench/bench-redis-data
for f in "$UFFDTIERD" "$DATA"; do
        [ -x "$f" ] || { echo "$0: $f is not built" >&2; exit 2; }
done
for f in redis-server redis-benchmark redis-cli; do
        command -v "$f" >/dev/null 2>&1 || { echo "$0: $f is not installed (scripts/install-deps.sh)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "$0: needs root (memory cgroups, swap, zswap)" >&2; exit 2; }

KEYS=${REDIS_KEYS:-262144}
VSIZE=${REDIS_VALUE_SIZE:-4090}
HOT=${REDIS_HOT_KEYS:-$((KEYS / 10))}
SETKEYS=${REDIS_SET_KEYS:-$((KEYS / 100))}
GETS=${REDIS_GETS:-1000000}
WARMUP=${REDIS_WARMUP:-45}
REGIMES=${REDIS_REGIMES:-untracked lru daemon}
INTERVAL=${REDIS_INTERVAL:-1s}
COLD_AGE=${REDIS_COLD_AGE:-10s}
FACTOR=${REDIS_LIMIT_FACTOR:-1.25}
SEED=${REDIS_SEED:-1}
ROUNDS=${REDIS_ROUNDS:-2}
read -r -a DAEMON_EXTRA <<<"${REDIS_DAEMON_ARGS:-}"
SET_BATCH=20000
for v in KEYS VSIZE HOT SETKEYS GETS WARMUP SEED ROUNDS; do
        [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || { echo "$0: $v must be a positive integer" >&2; exit 2; }
done
[ "$HOT" -le "$KEYS" ] || { echo "$0: REDIS_HOT_KEYS is more than REDIS_KEYS" >&2; exit 2; }
for g in $REGIMES; do
        case $g in untracked | lru | daemon) ;; *) echo "$0: unknown regime '$g'" >&2; exit 2 ;; esac
done
case " $REGIMES " in
*" daemon "*) [ -x "$LAUNCHER" ] || { echo "$0: $LAUNCHER is not built" >&2; exit 2; } ;;
esac
OUT=${OUT:-redis-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
PAGE=4096
# pages one value takes: redis' sds header (6 bytes here) rounded up to jemalloc's size class
VPAGES=$(((VSIZE + 6 + PAGE - 1) / PAGE))

# ---- cleanup on every path -------------------------------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/uffdtier-redis.XXXXXX") || exit 1
chmod 755 "$WORK"
DAEMON_PID=
REDIS_PID=
BG_PIDS=()
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

stop_redis() {
        local i
        [ -n "$REDIS_PID" ] || return 0
        kill -TERM "$REDIS_PID" 2>/dev/null
        for ((i = 0; i < 100; i++)); do
                kill -0 "$REDIS_PID" 2>/dev/null || break
                sleep 0.1
        done
        kill -KILL "$REDIS_PID" 2>/dev/null
        wait "$REDIS_PID" 2>/dev/null
        REDIS_PID=
}

stop_bg() {
        local p
        for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do kill "$p" 2>/dev/null; done
        for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do wait "$p" 2>/dev/null; done
        BG_PIDS=()
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

cleanup() {
        stop_bg
        stop_redis
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

calc() {
        awk "BEGIN { x = ($1); printf \"%.10g\\n\", x }" 2>/dev/null || echo "-"
}

# ---- memory cgroups: children of our own ------------------------------------------------------

if grep -q '^[0-9]*:[^:]*\bmemory\b[^:]*:' /proc/self/cgroup && [ -d /sys/fs/cgroup/memory ]; then
        CG_VERSION=1
        CG_PARENT=/sys/fs/cgroup/memory$(sed -n 's/^[0-9]*:[^:]*\bmemory\b[^:]*:\(.*\)/\1/p' /proc/self/cgroup)
        CG_USAGE=memory.usage_in_bytes
        CG_LIMIT=memory.limit_in_bytes
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
        CG_VERSION=2
        CG_PARENT=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
        CG_PARENT=${CG_PARENT%/}
        CG_USAGE=memory.current
        CG_LIMIT=memory.max
        # v2: a cgroup with processes cannot have controllers for its children; a leaf is made for us
        if [ -s "$CG_PARENT/cgroup.procs" ] && [ "$CG_PARENT" != /sys/fs/cgroup ]; then
                echo "$0: cgroup v2: run this from a cgroup of its own (e.g. systemd-run --scope)" >&2
                exit 1
        fi
        grep -qw memory "$CG_PARENT/cgroup.subtree_control" || echo +memory >"$CG_PARENT/cgroup.subtree_control" ||
                { echo "$0: cannot enable the memory controller for child cgroups of $CG_PARENT" >&2; exit 1; }
else
        echo "$0: no memory cgroup controller here" >&2
        exit 1
fi
CG_PARENT=${CG_PARENT%/}

# ---- swap and zswap --------------------------------------------------------------------------

need_kib=$((KEYS * VPAGES * 4 + 512 * 1024))
free_kib=$(awk '/^SwapFree:/ { print $2 }' /proc/meminfo)
if [ "$free_kib" -lt "$need_kib" ]; then
        SWAPFILE=$(mktemp /var/tmp/uffdtier-redis-swap.XXXXXX) || exit 1
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
REDIS_VERSION=$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*malloc=\([^ ]*\).*/\1 (\2)/p')
MACHINE="$(nproc) CPUs, ${MODEL:-unknown CPU}, ${MEM_GIB} GiB RAM, Linux $(uname -r), backend ${BACKEND:-none}"
SETUP="swap: ${SWAP_DESC:-none}; zswap ${ZSWAP_NOW} (${ZSWAP_COMP}); memory cgroup v${CG_VERSION}; redis ${REDIS_VERSION:-?}"
HOT_BYTES=$(((HOT + SETKEYS) * VPAGES * PAGE))
echo "machine: $MACHINE"
echo "$SETUP"
echo "data: $KEYS values of $VSIZE bytes; GETs on $HOT hot keys, SETs on $SETKEYS other keys (hot data $((HOT_BYTES >> 20)) MiB);" \
        "warm-up ${WARMUP} s, then $GETS GETs; daemon --interval=$INTERVAL --cold-age=$COLD_AGE ${REDIS_DAEMON_ARGS:-}; limit ${FACTOR}x the hot data + the rest"
case " $REGIMES " in
*" daemon "*) [ -n "$BACKEND" ] && [ "$BACKEND" != none ] ||
        { echo "$0: this kernel gives uffdtierd no tracking backend" >&2; exit 1; } ;;
esac

# ---- helpers for a run -----------------------------------------------------------------------

PORT=$((20000 + $$ % 20000))

cg_usage() { cat "$CG_DIR/$CG_USAGE"; }

# cpu_ticks PID...: utime + stime of the processes (whole thread groups), in clock ticks
cpu_ticks() {
        local p s=0 t
        for p; do
                t=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || t=0
                s=$((s + ${t:-0}))
        done
        echo "$s"
}
sys_ticks() { awk '{ sub(/.*\) /, ""); print $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
maj_faults() { awk '{ sub(/.*\) /, ""); print $10 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# (no pgrep: the 7.3 guest has busybox alone)
KSWAPD=$(grep -lx 'kswapd[0-9]*' /proc/[0-9]*/comm 2>/dev/null | cut -d/ -f3 | tr '\n' ' ')
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

start_daemon() { # NAME
        local i
        rm -f "$WORK/handoff.sock"
        "$UFFDTIERD" --socket="$WORK/handoff.sock" --no-bus --interval="$INTERVAL" \
                --cold-age="$COLD_AGE" --stats-interval=5s ${DAEMON_EXTRA[@]+"${DAEMON_EXTRA[@]}"} \
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

start_redis() { # REGIME RUN
        local i pre=()
        # the build tree's preload library, not an installed one
        [ "$1" = daemon ] && pre=(env UFFDTIER_PRELOAD="$BUILD/client/libuffdtier-preload.so"
                "$LAUNCHER" --socket="$WORK/handoff.sock" --name=redis --)
        (echo "$BASHPID" >"$CG_DIR/cgroup.procs" && exec ${pre[@]+"${pre[@]}"} redis-server \
                --port "$PORT" --bind 127.0.0.1 --protected-mode yes --save "" --appendonly no \
                --dir "$WORK" --daemonize no --logfile "" --maxmemory 0) \
                >"$OUT/redis-$2.log" 2>&1 </dev/null &
        REDIS_PID=$!
        for ((i = 0; i < 200; i++)); do
                if [ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = PONG ]; then
                        # the one that answers is ours
                        [ "$(redis-cli -h 127.0.0.1 -p "$PORT" info server | tr -d '\r' |
                                sed -n 's/^process_id://p')" = "$REDIS_PID" ] && return 0
                        echo "$0: another redis answers on port $PORT" >&2
                        exit 1
                fi
                kill -0 "$REDIS_PID" 2>/dev/null || break
                sleep 0.1
        done
        echo "$0: redis-server did not start:" >&2
        cat "$OUT/redis-$2.log" >&2
        exit 1
}

# set_limit BYTES: v1 reclaims down to a new limit when it is written (EBUSY if it cannot yet)
set_limit() {
        local i
        for ((i = 0; i < 20; i++)); do
                echo "$1" >"$CG_DIR/$CG_LIMIT" 2>/dev/null && return 0
                sleep 0.5
        done
        echo "$0: cannot set $CG_DIR/$CG_LIMIT to $1" >&2
        exit 1
}

# the load: GETs on the hot keys (bounded by N) with SETs on other keys until they are done
run_load() { # GETS OUTPREFIX
        local n=$1 out=$2 get_pid set_pid
        redis-benchmark -h 127.0.0.1 -p "$PORT" -n "$n" -c 50 -r "$HOT" --csv GET 'v:__rand_int__' \
                >"$out.get" 2>"$out.get.err" </dev/null &
        get_pid=$!
        (
                : >"$out.set"
                while kill -0 "$get_pid" 2>/dev/null; do
                        redis-benchmark -h 127.0.0.1 -p "$PORT" -n "$SET_BATCH" -c 10 -r "$SETKEYS" \
                                -d "$VSIZE" -t set --csv 2>>"$out.set.err" </dev/null | grep '^"SET"' >>"$out.set"
                done
        ) &
        set_pid=$!
        BG_PIDS=("$get_pid" "$set_pid")
        wait "$get_pid" || { echo "$0: redis-benchmark (GET) failed:" >&2; cat "$out.get.err" >&2; exit 1; }
        wait "$set_pid"
        BG_PIDS=()
        grep -q '^"GET' "$out.get" || { echo "$0: redis-benchmark (GET) printed no result:" >&2; cat "$out.get" "$out.get.err" >&2; exit 1; }
}

csv_field() { # FILE FIELD(2=rps, 5=p50, 7=p99)
        awk -F'","' -v f="$2" '/^"GET/ { gsub(/"/, "", $f); print $f }' "$1"
}

# the SET batches: total requests / total time, the mean p50 and the worst p99
set_figures() { # FILE -> "rps p50 p99 batches"
        awk -F'","' -v n="$SET_BATCH" '{ gsub(/"/, ""); split($0, a, ","); if (a[2] > 0) { t += n / a[2]; c++ }
                p50 += a[5]; if (a[7] > p99) p99 = a[7] }
                END { if (c) printf "%.0f %.3f %.3f %d\n", c * n / t, p50 / c, p99, c; else print "0 0 0 0" }' "$1"
}

declare -A R_GET_RPS R_GET_P50 R_GET_P99 R_SET R_USAGE R_LOADED R_LIMIT R_DCPU R_KCPU R_SYS R_DUR \
        R_LOST R_CHANGED R_MAJ R_ZSWAP R_ZSWAPPED R_USED R_EVICTED R_OOM
run_one() { # REGIME RUN (RUN: the name of this run, regime-round)
        local regime=$1 run=$2 t0 t1 d0 d1 k0 k1 s0 s1 loaded other limit sampler rc z0 zd0 m0
        CG_DIR=$CG_PARENT/uffdtier-redis-$$-$run
        z0=$(awk '/^Zswap:/ { print $2 * 1024 }' /proc/meminfo)
        zd0=$(awk '/^Zswapped:/ { print $2 * 1024 }' /proc/meminfo)
        mkdir "$CG_DIR" || { echo "$0: cannot create $CG_DIR" >&2; exit 1; }
        [ "$regime" = daemon ] && start_daemon "$run"
        start_redis "$regime" "$run"

        echo "   fill: $KEYS values" >&2
        "$DATA" load --port="$PORT" --keys="$KEYS" --size="$VSIZE" --seed="$SEED" >"$OUT/$run.load" ||
                { echo "$0: the fill failed ($run)" >&2; exit 1; }
        loaded=$(cg_usage)
        R_LOADED[$run]=$loaded
        R_USED[$run]=$(redis-cli -h 127.0.0.1 -p "$PORT" info memory | tr -d '\r' | sed -n 's/^used_memory://p')
        R_LIMIT[$run]=
        if [ "$regime" = lru ]; then
                # what redis holds besides its values: the dict, keys, buffers, its code and libraries
                other=$((loaded - KEYS * VPAGES * PAGE))
                [ "$other" -gt 0 ] || other=0
                limit=$(awk -v h="$HOT_BYTES" -v f="$FACTOR" -v o="$other" \
                        'BEGIN { printf "%d", int((h * f + o) / 4096) * 4096 }')
                echo "   limit: $((limit >> 20)) MiB ($FACTOR x $((HOT_BYTES >> 20)) MiB hot + $((other >> 20)) MiB besides the values)" >&2
                set_limit "$limit"
                R_LIMIT[$run]=$limit
        fi

        echo "   warm-up: ${WARMUP} s of the load" >&2
        t0=$(date +%s)
        while [ $(($(date +%s) - t0)) -lt "$WARMUP" ]; do
                run_load 200000 "$WORK/warmup"
        done

        echo "   measured: $GETS GETs" >&2
        (while :; do echo "$EPOCHREALTIME $(cg_usage)"; sleep 1; done) >"$OUT/$run.usage" &
        sampler=$!
        d0=0
        [ -n "$DAEMON_PID" ] && d0=$(cpu_ticks "$DAEMON_PID")
        k0=$(cpu_ticks $KSWAPD)
        s0=$(sys_ticks "$REDIS_PID")
        m0=$(maj_faults "$REDIS_PID")
        t0=$EPOCHREALTIME
        run_load "$GETS" "$OUT/$run"
        t1=$EPOCHREALTIME
        d1=0
        [ -n "$DAEMON_PID" ] && d1=$(cpu_ticks "$DAEMON_PID")
        k1=$(cpu_ticks $KSWAPD)
        s1=$(sys_ticks "$REDIS_PID")
        R_MAJ[$run]=$(($(maj_faults "$REDIS_PID") - m0))
        kill "$sampler"
        wait "$sampler" 2>/dev/null
        # what this run added to zswap (other programs' pages may be there already)
        R_ZSWAP[$run]=$(awk -v z="$z0" '/^Zswap:/ { print $2 * 1024 - z }' /proc/meminfo)
        R_ZSWAPPED[$run]=$(awk -v z="$zd0" '/^Zswapped:/ { print $2 * 1024 - z }' /proc/meminfo)
        R_DUR[$run]=$(calc "$t1 - $t0")
        R_DCPU[$run]=$(calc "($d1 - $d0) / $HZ")
        R_KCPU[$run]=$(calc "($k1 - $k0) / $HZ")
        R_SYS[$run]=$(calc "($s1 - $s0) / $HZ")
        R_USAGE[$run]=$(awk '{ s += $2; n++ } END { printf "%.0f", n ? s / n : -1 }' "$OUT/$run.usage")
        R_GET_RPS[$run]=$(csv_field "$OUT/$run.get" 2)
        R_GET_P50[$run]=$(csv_field "$OUT/$run.get" 5)
        R_GET_P99[$run]=$(csv_field "$OUT/$run.get" 7)
        R_SET[$run]=$(set_figures "$OUT/$run.set")
        R_EVICTED[$run]=
        if [ -n "$DAEMON_PID" ]; then
                R_EVICTED[$run]=$(grep ' redis: ' "$OUT/daemon-$run.log" | tail -n 1 | sed 's/.*: tracked/tracked/')
        fi

        echo "   read-back: every value" >&2
        "$DATA" verify --port="$PORT" --keys="$KEYS" --size="$VSIZE" --seed="$SEED" \
                >"$OUT/$run.verify" 2>"$OUT/$run.verify.err"
        rc=$?
        [ "$rc" = 0 ] || [ "$rc" = 3 ] || { echo "$0: the read-back failed ($run):" >&2; cat "$OUT/$run.verify.err" >&2; exit 1; }
        R_LOST[$run]=$(sed -n 's/^lost=//p' "$OUT/$run.verify")
        R_CHANGED[$run]=$(sed -n 's/^changed=//p' "$OUT/$run.verify")
        kill -0 "$REDIS_PID" 2>/dev/null || { echo "$0: redis died ($run)" >&2; exit 1; }
        R_OOM[$run]=$(awk '$1 == "oom_kill" { print $2 }' "$CG_DIR/memory.oom_control" "$CG_DIR/memory.events" 2>/dev/null | head -n 1)
        stop_redis
        stop_daemon
        cg_remove
}

# the rounds alternate the order (forward, backward, ...) so a drift of the machine's load over
# the run weighs on every regime alike
RUNS=()
for ((round = 1; round <= ROUNDS; round++)); do
        order=$REGIMES
        [ $((round % 2)) = 0 ] && order=$(tr ' ' '\n' <<<"$REGIMES" | grep . | tac | tr '\n' ' ')
        for regime in $order; do RUNS+=("$regime-$round"); done
done
n=0
for run in "${RUNS[@]}"; do
        n=$((n + 1))
        echo "[$n/${#RUNS[@]}] $run ..." >&2
        run_one "${run%-*}" "$run"
done

# ---- figures ---------------------------------------------------------------------------------

# mean_of ARRAY REGIME: the mean of ARRAY's values over the runs of REGIME
mean_of() {
        local -n arr=$1
        local r vals=()
        for r in "${RUNS[@]}"; do [ "${r%-*}" = "$2" ] && vals+=("${arr[$r]}"); done
        printf '%s\n' "${vals[@]}" | awk '{ s += $1; n++ } END { printf "%.10g\n", n ? s / n : 0 }'
}

# the reference: the mean of the untracked runs
ref=
case " $REGIMES " in *" untracked "*) ref=untracked ;; esac
if [ -n "$ref" ]; then
        REF_RPS=$(mean_of R_GET_RPS untracked)
        REF_USAGE=$(mean_of R_USAGE untracked)
        REF_SYS=$(mean_of R_SYS untracked)
fi
JSON_RUNS=
TABLE=
bad=0
declare -A F_LOSS F_FREED F_RCPU F_RCPUPCT F_SETRPS F_SETP99
row() { # NAME RPS LOSS P50 P99 SETRPS SETP99 USAGE FREED RCPU RCPUPCT ZSWAP ZSWAPPED LOST CHANGED MAJ
        local lossf=-
        [ "$3" = null ] || lossf=$(printf "%.1f %%" "$3")
        printf "| %s | %.0f | %s | %.3f ms | %.3f ms | %.0f | %.3f ms | %.0f MiB | %.0f MiB | %.0f | %.1f s (%.0f %%) | %.0f of %.0f MiB | %s / %s |\n" \
                "$1" "$2" "$lossf" "$4" "$5" "$6" "$7" "$(calc "$8 / 1048576")" "$(calc "$9 / 1048576")" \
                "${16}" "${10}" "${11}" "$(calc "${12} / 1048576")" "$(calc "${13} / 1048576")" "${14}" "${15}"
}
for run in "${RUNS[@]}"; do
        regime=${run%-*}
        read -r set_rps set_p50 set_p99 set_batches <<<"${R_SET[$run]}"
        usage=${R_USAGE[$run]}
        if [ -n "$ref" ]; then
                freed=$(calc "$REF_USAGE - $usage")
                loss=$(calc "(1 - ${R_GET_RPS[$run]} / $REF_RPS) * 100")
                extra=$(calc "(${R_SYS[$run]} - $REF_SYS > 0) ? ${R_SYS[$run]} - $REF_SYS : 0")
        else
                freed=$(calc "${R_LOADED[$run]} - $usage")
                loss=null
                extra=${R_SYS[$run]}
        fi
        rcpu=$(calc "${R_DCPU[$run]} + ${R_KCPU[$run]} + $extra")
        F_LOSS[$run]=$loss F_FREED[$run]=$freed F_RCPU[$run]=$rcpu
        F_RCPUPCT[$run]=$(calc "$rcpu * 100 / ${R_DUR[$run]}")
        F_SETRPS[$run]=$set_rps F_SETP99[$run]=$set_p99
        [ "${R_LOST[$run]}" = 0 ] && [ "${R_CHANGED[$run]}" = 0 ] || bad=1
        JSON_RUNS+="${JSON_RUNS:+,
}    {\"run\": \"$run\", \"regime\": \"$regime\", \"measured_sec\": ${R_DUR[$run]},
     \"get_rps\": ${R_GET_RPS[$run]}, \"get_p50_ms\": ${R_GET_P50[$run]}, \"get_p99_ms\": ${R_GET_P99[$run]},
     \"get_loss_pct\": $loss, \"set_rps\": $set_rps, \"set_p50_ms_mean\": $set_p50,
     \"set_p99_ms_worst\": $set_p99, \"set_batches\": $set_batches,
     \"usage_after_fill_bytes\": ${R_LOADED[$run]}, \"redis_used_memory_bytes\": ${R_USED[$run]:-null},
     \"limit_bytes\": ${R_LIMIT[$run]:-null}, \"usage_mean_bytes\": $usage, \"freed_bytes\": $freed,
     \"daemon_cpu_sec\": ${R_DCPU[$run]}, \"kswapd_cpu_sec\": ${R_KCPU[$run]},
     \"redis_sys_sec\": ${R_SYS[$run]}, \"extra_sys_sec\": $extra, \"reclaimer_cpu_sec\": $rcpu,
     \"zswap_pool_bytes\": ${R_ZSWAP[$run]:-null}, \"zswapped_bytes\": ${R_ZSWAPPED[$run]:-null},
     \"oom_kills\": ${R_OOM[$run]:-0}, \"daemon_stats\": \"${R_EVICTED[$run]}\",
     \"major_faults\": ${R_MAJ[$run]}, \"lost\": ${R_LOST[$run]}, \"changed\": ${R_CHANGED[$run]}}"
        [ "$regime" = "$ref" ] && loss=null
        TABLE+=$(row "$run" "${R_GET_RPS[$run]}" "$loss" "${R_GET_P50[$run]}" "${R_GET_P99[$run]}" \
                "$set_rps" "$set_p99" "$usage" "$freed" "$rcpu" "${F_RCPUPCT[$run]}" "${R_ZSWAP[$run]:-0}" \
                "${R_ZSWAPPED[$run]:-0}" "${R_LOST[$run]}" "${R_CHANGED[$run]}" "${R_MAJ[$run]}")
        TABLE+=$'\n'
done
# one line per regime: the means of its runs (lost and changed: the sums)
SUMMARY=
for regime in $REGIMES; do
        loss=null
        [ -n "$ref" ] && [ "$regime" != "$ref" ] && loss=$(mean_of F_LOSS "$regime")
        lost=0 changed=0
        for run in "${RUNS[@]}"; do
                [ "${run%-*}" = "$regime" ] || continue
                lost=$((lost + ${R_LOST[$run]})) changed=$((changed + ${R_CHANGED[$run]}))
        done
        SUMMARY+=$(row "**$regime**" "$(mean_of R_GET_RPS "$regime")" "$loss" "$(mean_of R_GET_P50 "$regime")" \
                "$(mean_of R_GET_P99 "$regime")" "$(mean_of F_SETRPS "$regime")" "$(mean_of F_SETP99 "$regime")" \
                "$(mean_of R_USAGE "$regime")" "$(mean_of F_FREED "$regime")" "$(mean_of F_RCPU "$regime")" \
                "$(mean_of F_RCPUPCT "$regime")" "$(mean_of R_ZSWAP "$regime")" "$(mean_of R_ZSWAPPED "$regime")" \
                "$lost" "$changed" "$(mean_of R_MAJ "$regime")")
        SUMMARY+=$'\n'
done

cat >"$OUT/report.json" <<EOF
{
  "machine": "$MACHINE",
  "setup": "$SETUP",
  "command": "$0 --zswap=$ZSWAP_MODE $BUILD",
  "keys": $KEYS, "value_bytes": $VSIZE, "hot_keys": $HOT, "set_keys": $SETKEYS,
  "hot_bytes": $HOT_BYTES, "gets": $GETS, "warmup_sec": $WARMUP, "interval": "$INTERVAL",
  "cold_age": "$COLD_AGE", "limit_factor": $FACTOR, "daemon_args": "${REDIS_DAEMON_ARGS:-}",
  "rounds": $ROUNDS,
  "runs": [
$JSON_RUNS
  ]
}
EOF

echo
echo "| run | GET/s | GET loss | GET p50 | GET p99 | SET/s | SET p99 (worst) | cgroup usage | freed | refaults | reclaimer CPU | zswap | lost / changed |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf "%s" "$SUMMARY" "$TABLE"
echo
echo "bold: the mean of the regime's $ROUNDS runs (lost / changed: their sums); runs in the order they ran within a round;"
echo "GET loss: 1 - GET/s / the untracked runs' mean; p50, p99: redis-benchmark's (SET p99: the worst of its batches);"
echo "cgroup usage: mean over the measured part; freed: the untracked runs' mean usage minus that (lru limit: $(for r in "${RUNS[@]}"; do [ -n "${R_LIMIT[$r]:-}" ] && echo "$((R_LIMIT[$r] >> 20)) MiB" && break; done));"
echo "refaults: redis' major faults over the measured part (a GET or SET that waited for a page to come back);"
echo "reclaimer CPU: daemon + kswapd + redis' system time above the untracked runs' mean, over the measured part (% of one CPU);"
echo "zswap: what the run added to /proc/meminfo Zswap (RAM holding the compressed copies, not charged to a v1 cgroup) of Zswapped (their size)."
echo "report: $OUT/report.json"
[ "$bad" = 0 ] || { echo "LOST OR CHANGED VALUES: the read-back failed" >&2; exit 3; }
exit 0
