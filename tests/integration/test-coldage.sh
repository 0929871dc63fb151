#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The cold age tuned to a refault target (coldage.h), with a workload whose hot set changes:
#   1. the hot tenth stays put: once the cold part is out nothing refaults, and the cold age comes
#      down from its start (4 s) towards its lower bound;
#   2. the hot set moves into the paged-out part: its pages refault, the rate goes over the
#      target (0.2 % of the working set per minute), and the cold age goes up again;
#   3. a refault target over 100 % is refused on the command line.
# Every page is checked at the end. Usage: test-coldage.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend

SIZE_MIB=${UFFDTIER_TEST_SIZE_MIB:-128}
swap_ensure $((SIZE_MIB * 2 + 64))

"$UFFDTIERD" --socket="$WORK/x.sock" --refault-target=150% --no-mlock >"$WORK/bad.log" 2>&1 &&
        fail "--refault-target=150% was accepted"
grep -q "refault-target" "$WORK/bad.log" || fail "no word on refault-target: $(cat "$WORK/bad.log")"

start_daemon --interval=500ms --cold-age=4s --refault-target=0.2% --cold-age-min=1s \
        --cold-age-max=60s --psi-limit=100%
client_start main --size ${SIZE_MIB}M --hot-fraction 0.1 --name coldage
len=${CLEN[main]}
hot=$((len / 10))

keep_hot() {
        client_cmd main touch-hot || fail "touch-hot: $REPLY_TEXT"
        [ "$BACKEND" = rwp ] && { client_cmd main read-hot || fail "read-hot: $REPLY_TEXT"; }
        return 0
}

age=$(status_value main cold_age_usec)
[ "$age" = 4000000 ] || fail "the cold age starts at $age µs, not the policy's 4 s"

# 1. a hot set that stays: no refaults once the cold part is out; the cold age falls
deadline=$((SECONDS + T))
while :; do
        keep_hot
        age=$(status_value main cold_age_usec) || fail "status: $REPLY_TEXT"
        [ "$age" -lt 4000000 ] && break
        [ $SECONDS -lt $deadline ] || fail "the cold age stayed at $age µs for ${T}s without refaults"
        sleep 0.1
done
echo "stable hot set: cold age down to $age µs, refault rate $(status_value main refault_rate_ppm) ppm/min," \
     "evicted $(status_value main evicted_bytes) bytes"
low=$age

# 2. the hot set moves to the middle of the mapping, into what was paged out: refaults
client_cmd main "hot-at $((len / 2))" || fail "hot-at: $REPLY_TEXT"
deadline=$((SECONDS + T))
while :; do
        keep_hot
        age=$(status_value main cold_age_usec) || fail "status: $REPLY_TEXT"
        [ "$age" -gt "$low" ] && break
        [ $SECONDS -lt $deadline ] || fail "the hot set moved, yet the cold age stayed at $age µs for ${T}s"
        sleep 0.1
done
rate=$(status_value main refault_rate_ppm)
echo "moved hot set: cold age up to $age µs, refault rate $rate ppm/min," \
     "refaulted $(status_value main refaulted_bytes) bytes"
[ "$rate" -gt 2000 ] || fail "the cold age went up, but the refault rate it acted on is $rate ppm/min (target 2000)"
[ "$age" -le 60000000 ] || fail "the cold age $age µs is past its bound"
grep -q "cold age .* -> " "$DAEMON_LOG" || fail "no log line for the changes of the cold age"

client_cmd main verify || fail "data corrupted: $REPLY_TEXT"
kill -0 "$DAEMON_PID" || fail "the daemon died"
grep -q 'AddressSanitizer\|runtime error' "$DAEMON_LOG" && fail "sanitizer report in the daemon log"
echo "PASS"
