#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A real server under uffdtier-run: Debian's redis-server (jemalloc), unchanged, with zswap turned
# on by this test (and restored). It is filled with 256 MiB of 4 KiB values (pseudo-random, keys
# inserted in a random order), then a tenth of the keys are read over and over while the daemon
# works. The cold values must leave RAM (most of them in swap: VmSwap of the server), redis must
# answer throughout (every hot GET right, none waiting 10 s), and every value must read back
# byte for byte at the end.
# Usage: test-run-redis.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
REDIS=$(command -v redis-server) || skip "redis-server is not installed (scripts/install-deps.sh)"

RUN=$BUILD/client/uffdtier-run
LOAD=$BUILD/tests/helpers/redis-load
export UFFDTIER_PRELOAD=$BUILD/client/libuffdtier-preload.so
[ -x "$RUN" ] && [ -x "$LOAD" ] && [ -f "$UFFDTIER_PRELOAD" ] || fail "uffdtier-run, redis-load or the preload not built"
# A sanitizer build's preload needs the sanitizer's runtime in redis, which is not instrumented:
# loaded there (LD_PRELOAD of libclang_rt.asan first), its allocator and quarantine grow redis's
# RSS by more than tiering takes off it, so what this test measures means nothing in that build.
# The plain build runs it; test-run covers the preload under the sanitizers in instrumented programs.
nm -D "$UFFDTIER_PRELOAD" 2>/dev/null | grep -q ' U __asan_init' &&
        skip "sanitizer build: redis is not instrumented (the plain build runs this test)"

N=${UFFDTIER_REDIS_KEYS:-65536}
SIZE=4096
SEED=$RANDOM
HOT=$((N / 10))
DATA_KIB=$((N * SIZE / 1024))
swap_ensure $((DATA_KIB / 1024 * 2 + 64))

ZSWAP=/sys/module/zswap/parameters/enabled
if [ -w "$ZSWAP" ]; then
        old=$(cat "$ZSWAP")
        cleanup_push "echo '$old' >'$ZSWAP'"
        echo Y >"$ZSWAP" || fail "cannot enable zswap"
        echo "zswap: was $old, on for this test (restored at the end)"
else
        echo "zswap: not available here, plain swap"
fi

start_daemon --interval=1s --cold-age=4s --rate=0 --psi-limit=100% --stats-interval=5s

RSOCK=$WORK/redis.sock
# redis runs as root here, in a directory of its own (no dump is ever written: --save "")
"$RUN" --socket "$SOCK" --name redis -- "$REDIS" --port 0 --unixsocket "$RSOCK" --save "" \
        --appendonly no --daemonize no --dir "$WORK" --logfile "$WORK/redis.log" \
        >"$WORK/redis.out" 2>&1 &
RPID=$!
cleanup_push "kill -9 $RPID 2>/dev/null; wait $RPID 2>/dev/null; true"
wait_for 30 test -S "$RSOCK" || fail "redis did not start: $(cat "$WORK/redis.out" "$WORK/redis.log" 2>/dev/null)"
grep -q libuffdtier-preload "/proc/$RPID/maps" || fail "the preload is not in redis"
wait_for 10 grep -q "client [0-9]* (pid $RPID): following" "$DAEMON_LOG" || fail "the daemon does not follow redis"

"$LOAD" "$RSOCK" fill "$N" "$SIZE" "$SEED" || fail "filling redis failed"
rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$RPID/status")
echo "redis filled: $N values of $SIZE bytes ($DATA_KIB KiB), VmRSS $rss0 KiB"

# the hot tenth, read over and over while the cold values go out
"$LOAD" "$RSOCK" hot "$N" "$SIZE" "$SEED" "$HOT" 3600 >"$WORK/hot.out" 2>&1 &
HOT_PID=$!
cleanup_push "kill $HOT_PID 2>/dev/null; wait $HOT_PID 2>/dev/null; true"

cold_kib=$((DATA_KIB - DATA_KIB / 10))
swapped() { awk '/^VmSwap:/ { print $2 }' "/proc/$RPID/status"; }
out_enough() { [ "$(swapped)" -ge $((cold_kib * 7 / 10)) ]; }
wait_for "$T" out_enough || fail "only $(swapped) KiB of redis in swap, expected 70 % of the $cold_kib KiB of cold values"
rss1=$(awk '/^VmRSS:/ { print $2 }' "/proc/$RPID/status")
echo "redis: VmRSS $rss0 -> $rss1 KiB, VmSwap $(swapped) KiB"
[ "$rss1" -le $((rss0 - cold_kib * 6 / 10)) ] || fail "redis's RSS fell only from $rss0 to $rss1 KiB"

kill -0 "$HOT_PID" 2>/dev/null || fail "the hot reader stopped: $(cat "$WORK/hot.out")"
kill -TERM "$HOT_PID"
wait "$HOT_PID" || fail "hot values wrong or redis not answering: $(cat "$WORK/hot.out")"
echo "redis answered throughout: $(cat "$WORK/hot.out")"
out=$("$LOAD" "$RSOCK" check "$N" "$SIZE" "$SEED") || fail "values lost or changed: $out"
echo "every value read back intact: $out"
kill -0 "$DAEMON_PID" || fail "the daemon died"
grep -q 'AddressSanitizer\|runtime error' "$DAEMON_LOG" && fail "sanitizer report in the daemon log"
echo "PASS"
