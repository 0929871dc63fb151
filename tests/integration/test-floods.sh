#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What one unprivileged uid (nobody) can make the daemon do stays bounded:
#   a. munmap of single pages inside a tracked range splits it only up to ranges_per_client: past
#      that the smaller remainder stops being tracked (logged), the client's data stays intact;
#   b. handoff requests: over --request-rate the uid's connection is read later (a flood of
#      STATUS takes as long as the rate says), nothing is refused or lost, and root's client is
#      answered at once meanwhile;
#   c. bus calls: over --bus-call-rate-total (5 per second; one busctl process per call) calls
#      are refused with LimitsExceeded naming the
#      limit, and the daemon's cycles go on.
# Usage: test-floods.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
for tool in setpriv busctl; do
        command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done
NOBODY=65534
PS=$(getconf PAGESIZE)
PUB=$(mktemp -d /tmp/uffdtier-flood.XXXXXX) || fail "mktemp failed"
cleanup_push "rm -rf '$PUB'"
chmod 0755 "$PUB" "$WORK"
cp "$TIER_CLIENT" "$PUB/tier-client" || fail "cannot copy tier-client"
cp -P "$BUILD"/client/libuffdtier.so "$BUILD"/client/libuffdtier.so.[0-9]* "$PUB/" 2>/dev/null || true
TIER_CLIENT=$PUB/tier-client
AS_NOBODY=(env "LD_LIBRARY_PATH=$PUB" setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups)
nobody_start() { # ID [ARGS...]
        local id=$1
        shift
        CLIENT_WRAP=("${AS_NOBODY[@]}")
        client_start "$id" "$@"
        CLIENT_WRAP=()
}
n_ranges() { # ID: the ranges in the daemon's status reply
        client_cmd "$1" status >/dev/null || return 1
        grep -c '^range ' <<<"$REPLY_TEXT"
}

swap_ensure 64
start_private_dbus
A=$DBUS_SYSTEM_BUS_ADDRESS
sock=${A#unix:path=}
sock=${sock%%,*}
chmod 755 "$(dirname "$sock")" || fail "cannot open up $(dirname "$sock")"
start_daemon --bus-address="$A" --interval=500ms --cold-age=2s --psi-limit=100% --stats-interval=1h \
        --max-ranges=3 --request-rate=50 --bus-call-rate-total=5

# a. splits at the ranges limit
nobody_start a --size 8M --name splitter
for off in 1M 3M 5M 7M; do
        client_cmd a "munmap $off 4K" || fail "munmap $off: $REPLY_TEXT"
done
n=$(n_ranges a) || fail "status: $REPLY_TEXT"
echo "a: 4 single-page munmaps inside one range: $n ranges tracked (ranges_per_client=3)"
[ "$n" -le 3 ] || fail "the client holds $n ranges, more than ranges_per_client=3"
[ "$n" -ge 2 ] || fail "the splits did not happen at all ($n ranges)"
grep -q "would split a range beyond ranges_per_client=3: no longer tracking" "$DAEMON_LOG" ||
        fail "the untracked remainder is not logged"
v=$(status_value a splits_refused) || fail "no splits_refused counter"
[ "$v" -ge 1 ] || fail "splits_refused is $v"
client_cmd a verify || fail "client a's data: $REPLY_TEXT"
client_stop a

# b. handoff requests: 300 STATUS from nobody at 50 per second after a burst of 100 take 4 s
nobody_start b --size 4M --name requester
client_start root --size 4M --name root
# root's STATUS, once nobody's flood is being held back, timed in the background
(
        wait_for 30 grep -q "requests per second from its uid" "$DAEMON_LOG" || exit 1
        r0=$(date +%s%N)
        client_cmd root status 10 >/dev/null && echo $((($(date +%s%N) - r0) / 1000000)) >"$WORK/root.ms"
) &
probe=$!
t0=$(date +%s%N)
for i in $(seq 1 300); do
        client_cmd b status 30 >/dev/null || fail "status $i of nobody's client: $REPLY_TEXT"
done
b_ms=$((($(date +%s%N) - t0) / 1000000))
wait "$probe"
r_ms=$(cat "$WORK/root.ms" 2>/dev/null) || fail "root's client was not answered during the flood"
echo "b: 300 STATUS from nobody took $b_ms ms (rate 50/s, burst 100); root's STATUS meanwhile: $r_ms ms"
grep -q "more than 50 requests per second from its uid (requests_per_sec)" "$DAEMON_LOG" ||
        fail "nobody's flood is not logged as held to requests_per_sec"
[ "$b_ms" -ge 3500 ] || fail "300 requests went through in $b_ms ms: not rate-limited"
[ "$r_ms" -lt 1000 ] || fail "root's request waited $r_ms ms behind nobody's"
client_stop b

# c. bus calls over the total rate are refused, and the cycles go on
c0=$(status_value root cycles)
refused=0
for i in $(seq 1 150); do
        out=$("${AS_NOBODY[@]}" busctl --address="$A" get-property org.uffdtier1 /org/uffdtier1 \
                org.uffdtier1.Manager Version 2>&1) && continue
        grep -q "bus_calls_total_per_sec" <<<"$out" || fail "bus call $i failed otherwise: $out"
        refused=$((refused + 1))
done
echo "c: $refused of 150 bus calls refused (bus_calls_total_per_sec=5)"
[ "$refused" -ge 1 ] || fail "no bus call was refused over the total rate"
wait_for 30 eval '[ "$(status_value root cycles)" -ge $((c0 + 2)) ]' ||
        fail "root's cycles stopped during the bus flood"
client_stop root
kill -0 "$DAEMON_PID" || fail "the daemon died"
echo PASS
