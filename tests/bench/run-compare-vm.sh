#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-compare-vm.sh [--swap=zram|disk] [--out=DIR] BUILD_DIR — the comparison benchmark
# (run-compare.sh) inside the Linux 7.3 guest of tests/vm/run-in-vm.sh, where the daemon uses the
# rwp backend and sees reads as well as writes.
#
# The guest is emulated (qemu TCG, ~50x slower than the host), so the workload is small and its
# absolute figures mean nothing; compare the regimes with each other, within the one run. The
# guest has cgroup v2 (memory.max for the LRU regime, memory.current for the usage) and, by
# default, 512 MiB of zram swap (--swap=zram); --swap=disk gives it plain swap on an emulated
# NVMe disk instead (then the daemon's memory.reclaim is what frees the written pages).
#
# Environment: the COMPARE_* variables of run-compare.sh, with guest-sized defaults
# (COMPARE_SIZE 128M, COMPARE_DURATION 40, COMPARE_COLD_AGE 5s, COMPARE_MOVE_PERIOD 10s, so a run
# spans eight cold-age periods).  Output in DIR (default ./compare-vm-TIMESTAMP): report.json,
# resident.png (drawn on the host with gnuplot, when installed), the guest's console (guest.log).

set -u
SWAP=zram
OUT=
while [ $# -gt 1 ]; do
        case $1 in
        --swap=zram | --swap=disk) SWAP=${1#--swap=} ;;
        --out=?*) OUT=${1#--out=} ;;
        *) echo "usage: $0 [--swap=zram|disk] [--out=DIR] BUILD_DIR" >&2; exit 2 ;;
        esac
        shift
done
[ $# -eq 1 ] && [ -d "$1" ] || { echo "usage: $0 [--swap=zram|disk] [--out=DIR] BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
VM=$HERE/../vm/run-in-vm.sh
for f in "$BUILD/daemon/uffdtierd" "$BUILD/tests/bench/bench-compare"; do
        [ -x "$f" ] || { echo "$0: $f is not built" >&2; exit 2; }
done
OUT=${OUT:-compare-vm-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || exit 1

swap_args=(-s 512)
[ "$SWAP" = disk ] && swap_args=(-s 0 -w 512)
env_args=(COMPARE_SIZE="${COMPARE_SIZE:-128M}" COMPARE_DURATION="${COMPARE_DURATION:-40}"
        COMPARE_COLD_AGE="${COMPARE_COLD_AGE:-5s}" COMPARE_MOVE_PERIOD="${COMPARE_MOVE_PERIOD:-10s}")
for v in COMPARE_SHAPES COMPARE_REGIMES COMPARE_INTERVAL COMPARE_LIMIT_FACTOR COMPARE_TAIL COMPARE_DAEMON_ARGS \
        COMPARE_SENPAI_INTERVAL COMPARE_SENPAI_TARGET; do
        [ -n "${!v:-}" ] && env_args+=("$v=${!v}")
done

# The guest prints its report between two markers; the rest of its output is the run's log.
"$VM" -m 1024 "${swap_args[@]}" -t 3600 \
        -f "$BUILD/daemon/uffdtierd" -f "$BUILD/tests/bench/bench-compare" -f "$HERE/run-compare.sh" \
        -f /bin/bash \
        -- env "${env_args[@]}" /bin/bash -c '
                /bin/bash "$1" --out=/tmp/compare "$2" || exit
                echo "=== report.json ==="; cat /tmp/compare/report.json; echo "=== end ==="
                for f in /tmp/compare/*.dat; do echo "=== ${f##*/} ==="; cat "$f"; echo "=== end ==="; done
        ' _ "$HERE/run-compare.sh" "$BUILD" | tee "$OUT/guest.log"
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] || { echo "$0: the guest's run failed (exit $rc); its log: $OUT/guest.log" >&2; exit "$rc"; }

# split the report and the usage samples out of the log (console lines may end in \r)
tr -d '\r' <"$OUT/guest.log" | awk -v out="$OUT" '
        /^=== end ===$/ { f = ""; next }
        /^=== .* ===$/ { f = out "/" $2; printf "" > f; next }
        f != "" { print >> f }'
[ -s "$OUT/report.json" ] || { echo "$0: no report in the guest's output" >&2; exit 1; }

if command -v gnuplot >/dev/null 2>&1; then
        shapes=$(ls "$OUT"/*.dat | sed 's|.*/||; s|-[a-z]*\.dat$||' | sort -u)
        n=$(wc -w <<<"$shapes")
        {
                echo "set terminal pngcairo size 900,$((300 * n)) font ',9'"
                echo "set output '$OUT/resident.png'"
                echo "set multiplot layout $n,1 title 'cgroup memory usage in the 7.3 guest (rwp, $SWAP swap)'"
                echo "set xlabel 'seconds after the fill'; set ylabel 'MiB'; set key outside right; set yrange [0:*]"
                for s in $shapes; do
                        echo "set title '$s'"
                        plot=plot sep=
                        for f in "$OUT/$s"-*.dat; do
                                r=${f##*/$s-}
                                plot+="$sep '$f' using 1:2 with lines lw 2 title '${r%.dat}'"
                                sep=,
                        done
                        echo "$plot"
                done
                echo "unset multiplot"
        } >"$OUT/chart.gp"
        gnuplot "$OUT/chart.gp" || echo "$0: gnuplot failed" >&2
fi
echo "report: $OUT/report.json$([ -f "$OUT/resident.png" ] && echo ", chart: $OUT/resident.png")"
