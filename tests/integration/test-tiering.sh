#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The tracking engine end to end, with real swap, on whatever backend this kernel has: wp-async
# on the 6.18 development machines, rwp inside the 7.3 guest (tests/vm/test-vm-rwp.sh runs this
# same script there). A tier-client maps 256 MiB, keeps a known quarter hot, and we check that the
# daemon pages out the cold rest, keeps the hot part resident, counts refaults when the cold part
# is read again, serves faults in the sync window (rwp), and that every byte reads back intact.
# Usage: test-tiering.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
backend=$BACKEND

SIZE_MIB=${UFFDTIER_TEST_SIZE_MIB:-256}
swap_ensure $((SIZE_MIB + 64))

start_daemon --interval=500ms --cold-age=2s --rate=0 --psi-limit=100% --stats-interval=5s
client_start main --size ${SIZE_MIB}M --hot-fraction 0.25 --name tiering
len=${CLEN[main]}
hot=$((len / 4))
cold=$((len - hot))
pid=${CPID[main]}

# 1. keep the hot quarter hot until the cold three quarters are out
deadline=$((SECONDS + T))
while :; do
        client_cmd main touch-hot || fail "touch-hot: $REPLY_TEXT"
        [ "$backend" = rwp ] && { client_cmd main read-hot || fail "read-hot: $REPLY_TEXT"; }
        evicted=$(status_value main evicted_bytes) || fail "status failed: $REPLY_TEXT"
        [ "$evicted" -ge $((cold * 95 / 100)) ] && break
        [ $SECONDS -lt $deadline ] || fail "only $evicted of $cold cold bytes evicted after ${T}s"
        sleep 0.2
done
echo "evicted $evicted bytes"

# 2. where the memory is now: the cold part in swap, the hot part resident (mincore). The hot part
# is touched again before each look, so that a slow machine does not see it turn cold meanwhile.
client_cmd main touch-hot || fail "touch-hot: $REPLY_TEXT"
client_cmd main "residency 0 $hot" || fail "residency: $REPLY_TEXT"
hot_res=$(sed -n 's/^OK resident \([0-9]*\).*/\1/p' <<<"$REPLY_TEXT")
client_cmd main "residency $hot $cold" || fail "residency: $REPLY_TEXT"
cold_res=$(sed -n 's/^OK resident \([0-9]*\).*/\1/p' <<<"$REPLY_TEXT")
swap_kib=$(smaps_swap_kib "$pid" "${CADDR[main]}" "$len") || fail "no smaps for the range"
echo "hot part resident: $hot_res of $hot; cold part resident: $cold_res of $cold; swap: ${swap_kib} KiB"
[ "$hot_res" -ge $((hot * 99 / 100)) ] || fail "the hot part was evicted: only $hot_res of $hot bytes resident"
[ "$cold_res" -le $((cold * 5 / 100)) ] || fail "the cold part stayed: $cold_res of $cold bytes resident"
[ "$swap_kib" -ge $((cold * 90 / 100 / 1024)) ] || fail "only ${swap_kib} KiB in swap, expected ~$((cold / 1024))"
# The daemon's own view agrees: none of the hot part is counted cold. (hot_bytes, "seen this
# cycle", depends on whether a chunk was re-armed just before the scan, so it is not compared.)
client_cmd main touch-hot || fail "touch-hot: $REPLY_TEXT"
cold_bytes=$(status_value main cold_bytes)
echo "daemon: cold_bytes=$cold_bytes hot_bytes=$(status_value main hot_bytes)"
[ "$cold_bytes" -le $((cold + cold / 50)) ] || fail "the daemon counts $cold_bytes bytes cold, more than the cold part ($cold)"
[ "$cold_bytes" -ge $((cold * 90 / 100)) ] || fail "the daemon counts only $cold_bytes bytes cold, expected ~$cold"

# 3. reading the cold part brings it back: counted as refaults, and every byte is intact
# The daemon counts refaults in the scans of the cycles after the access: wait until the count
# stops growing (two whole cycles without a change), not just until it is non-zero.
client_cmd main read-all 120 || fail "read-all: $REPLY_TEXT"
counter_settle main refaulted_bytes ||
        fail "the refault count did not settle within ${T}s (last: ${STABLE_VALUE:-no status})"
refaulted=$STABLE_VALUE
echo "refaulted: $refaulted bytes"
[ "$refaulted" -gt 0 ] || fail "no refaults counted after reading the evicted part"
[ "$refaulted" -ge $((cold / 2)) ] || fail "only $refaulted bytes counted as refaulted, expected most of $cold"
client_cmd main verify || fail "data corrupted: $REPLY_TEXT"
echo "$REPLY_TEXT"

client_stop main
kill -0 "$DAEMON_PID" || fail "the daemon died"
grep -q 'AddressSanitizer\|runtime error' "$DAEMON_LOG" && fail "sanitizer report in the daemon log"
echo "PASS"
