#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-redis-vm.sh [--out=DIR] BUILD_DIR — the redis benchmark (run-redis.sh) inside the Linux 7.3
# guest of tests/vm/run-in-vm.sh, where the daemon uses the rwp backend and sees the GETs' reads.
#
# The guest runs the host's redis-server, redis-benchmark and redis-cli (copied in with their
# libraries), has cgroup v2 and 1 GiB of zram swap. It is emulated (qemu TCG, ~50x slower than the
# host): the data is guest-sized and the times mean nothing; the counts are the result — memory
# freed, redis' major faults (GETs that waited for a value to come back), the values read back.
#
# Environment: the REDIS_* variables of run-redis.sh, with guest-sized defaults (REDIS_KEYS 32768,
# i.e. 128 MiB; REDIS_GETS 100000; REDIS_WARMUP 40; REDIS_COLD_AGE 5s; REDIS_ROUNDS 1).
# Output in DIR (default ./redis-vm-TIMESTAMP): report.json and the guest's console (guest.log).

set -u
OUT=
while [ $# -gt 1 ]; do
        case $1 in
        --out=?*) OUT=${1#--out=} ;;
        *) echo "usage: $0 [--out=DIR] BUILD_DIR" >&2; exit 2 ;;
        esac
        shift
done
[ $# -eq 1 ] && [ -d "$1" ] || { echo "usage: $0 [--out=DIR] BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
VM=$HERE/../vm/run-in-vm.sh
for f in "$BUILD/daemon/uffdtierd" "$BUILD/tests/bench/bench-redis-data" "$BUILD/client/uffdtier-run"; do
        [ -x "$f" ] || { echo "$0: $f is not built" >&2; exit 2; }
done
files=()
for p in redis-server redis-benchmark redis-cli; do
        f=$(command -v "$p") || { echo "$0: $p is not installed (scripts/install-deps.sh)" >&2; exit 2; }
        files+=(-f "$(readlink -f "$f")")
        [ "$(readlink -f "$f")" = "$f" ] || files+=(-f "$f")
done
OUT=${OUT:-redis-vm-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || exit 1

env_args=(REDIS_KEYS="${REDIS_KEYS:-32768}" REDIS_GETS="${REDIS_GETS:-100000}"
        REDIS_WARMUP="${REDIS_WARMUP:-40}" REDIS_COLD_AGE="${REDIS_COLD_AGE:-5s}"
        REDIS_ROUNDS="${REDIS_ROUNDS:-1}")
for v in REDIS_VALUE_SIZE REDIS_HOT_KEYS REDIS_SET_KEYS REDIS_REGIMES REDIS_INTERVAL \
        REDIS_LIMIT_FACTOR REDIS_DAEMON_ARGS REDIS_SEED; do
        [ -n "${!v:-}" ] && env_args+=("$v=${!v}")
done

# the guest prints its report between two markers; the rest of its output is the run's log
"$VM" -m 1536 -s 1024 -t 3600 "${files[@]}" \
        -f "$BUILD/daemon/uffdtierd" -f "$BUILD/tests/bench/bench-redis-data" -f "$BUILD/client" \
        -f "$HERE/run-redis.sh" -f /bin/bash \
        -- env "${env_args[@]}" /bin/bash -c '
                /bin/bash "$1" --out=/tmp/redis "$2" || exit
                echo "=== report.json ==="; cat /tmp/redis/report.json; echo "=== end ==="
        ' _ "$HERE/run-redis.sh" "$BUILD" | tee "$OUT/guest.log"
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] || { echo "$0: the guest's run failed (exit $rc); its log: $OUT/guest.log" >&2; exit "$rc"; }
tr -d '\r' <"$OUT/guest.log" | awk -v out="$OUT" '
        /^=== end ===$/ { f = ""; next }
        /^=== .* ===$/ { f = out "/" $2; printf "" > f; next }
        f != "" { print >> f }'
[ -s "$OUT/report.json" ] || { echo "$0: no report in the guest's output" >&2; exit 1; }
echo "report: $OUT/report.json"
