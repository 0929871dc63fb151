#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon's own memory stays bounded whatever unprivileged clients hand it:
#   a. four clients as nobody, each tracking MEM_SIZE (32 GiB) of MAP_NORESERVE memory with one
#      written page per 2 MiB, which the daemon pages out (so keeping it costs them nearly
#      nothing): the daemon's RSS grows by less than MEM_BOUND_MIB (one state byte per page, the
#      old layout, was 8 MiB per client; per-page state now costs 8 bytes per 2 MiB where pages
#      differ), and gives it back when they leave;
#   b. with a small per-uid state budget (--state-bytes-per-uid), a further TRACK of that uid is
#      refused with a message naming the limit, while another uid is still served.
# Usage: test-daemon-memory.sh BUILD_DIR   (MEM_SIZE, MEM_CLIENTS to vary it)
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
command -v setpriv >/dev/null 2>&1 || skip "setpriv (util-linux) is not installed"
SIZE=${MEM_SIZE:-32G}
N=${MEM_CLIENTS:-4}
BOUND_MIB=${MEM_BOUND_MIB:-16}
NOBODY=65534
PS=$(getconf PAGESIZE)
# each client: SIZE / 2 MiB written pages and one page table page per 2 MiB (64 + 64 MiB for 32 GiB)
avail_kib=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
[ "$avail_kib" -ge $((N * 256 * 1024 + 1024 * 1024)) ] ||
        skip "needs $((N * 256 + 1024)) MiB of available memory, have $((avail_kib / 1024)) MiB"
swap_ensure $((N * 80 + 64))

PUB=$(mktemp -d /tmp/uffdtier-mem.XXXXXX) || fail "mktemp failed"
cleanup_push "rm -rf '$PUB'"
chmod 0755 "$PUB" "$WORK"
cp "$BUILD/tests/helpers/slice-client" "$PUB/slice-client" || fail "slice-client not built"
cp -P "$BUILD"/client/libuffdtier.so "$BUILD"/client/libuffdtier.so.[0-9]* "$PUB/" 2>/dev/null || true
AS_NOBODY=(env "LD_LIBRARY_PATH=$PUB" setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups)

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"; }

declare -A MPID MIN MOUT
big_start() { # ID SIZE: a slice-client as nobody; its READY line in $LINE (or its ERR line)
        local id=$1 fd
        mkfifo "$WORK/$id.in" "$WORK/$id.out"
        "${AS_NOBODY[@]}" "$PUB/slice-client" --socket "$SOCK" big "$2" 2M \
                <"$WORK/$id.in" >"$WORK/$id.out" 2>"$WORK/$id.err" &
        MPID[$id]=$!
        cleanup_push "kill -9 ${MPID[$id]} 2>/dev/null; wait ${MPID[$id]} 2>/dev/null; true"
        exec {fd}>"$WORK/$id.in"
        MIN[$id]=$fd
        exec {fd}<"$WORK/$id.out"
        MOUT[$id]=$fd
        read -r -t 120 -u "${MOUT[$id]}" LINE || LINE="no answer: $(cat "$WORK/$id.err")"
}
big_cmd() { # ID CMD -> $REPLY_LINE
        echo "$2" >&"${MIN[$1]}" || return 2
        read -r -t 120 -u "${MOUT[$1]}" REPLY_LINE || return 2
        [[ $REPLY_LINE == OK* ]]
}
big_counter() { # ID NAME
        big_cmd "$1" "status $2" || return 1
        sed -E "s/.* $2=([0-9]+).*/\\1/" <<<"$REPLY_LINE"
}
all_evicted() { # every client's written pages are out
        local id want
        for id in "${!MPID[@]}"; do
                want=$((TOUCHED[$id] * PS * 9 / 10))
                [ "$(big_counter "$id" evicted_bytes)" -ge "$want" ] || return 1
        done
}
declare -A TOUCHED

# a. the RSS bound
start_daemon --interval=500ms --cold-age=1s --psi-limit=100% --stats-interval=1h
"${AS_NOBODY[@]}" sh -c "test -x '$PUB/slice-client' && test -w '$SOCK'" ||
        fail "uid $NOBODY cannot reach the client or the socket"
wait_for 10 test -n "$(rss_kib)"
rss0=$(rss_kib)
for i in $(seq 1 "$N"); do
        big_start m$i "$SIZE"
        [[ $LINE == READY* ]] || fail "client m$i: $LINE"
        TOUCHED[m$i]=$(sed -E 's/.*touched=([0-9]+).*/\1/' <<<"$LINE")
done
wait_for 300 all_evicted || fail "the clients' written pages were not all paged out"
rss1=$(rss_kib)
big_cmd m1 "status state_bytes evicted_bytes cycles"
echo "daemon RSS: $((rss0 / 1024)) MiB before, $((rss1 / 1024)) MiB with $N clients of $SIZE as nobody" \
        "(one written page per 2 MiB, paged out); m1: $REPLY_LINE"
[ $((rss1 - rss0)) -lt $((BOUND_MIB * 1024)) ] ||
        fail "the daemon grew by $(((rss1 - rss0) / 1024)) MiB for $N clients (bound $BOUND_MIB MiB)"
for id in "${!MPID[@]}"; do
        big_cmd "$id" verify || fail "client $id's data: $REPLY_LINE"
        big_cmd "$id" exit >/dev/null
done
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null

# b. the budget: room for one client's state words (8 bytes per 2 MiB of its range) and a half
words=$(($(numfmt --from=iec "$SIZE") / (2 * 1024 * 1024) * 8))
MPID=()
TOUCHED=()
start_daemon --interval=500ms --cold-age=1s --psi-limit=100% --stats-interval=1h \
        --state-bytes-per-uid=$((words * 3 / 2))
big_start b1 "$SIZE"
[[ $LINE == READY* ]] || fail "client b1: $LINE"
TOUCHED[b1]=$(sed -E 's/.*touched=([0-9]+).*/\1/' <<<"$LINE")
wait_for 300 eval '[ "$(big_counter b1 state_bytes)" -ge '"$words"' ]' ||
        fail "client b1's state did not grow to $words bytes: $REPLY_LINE"
big_start b2 "$SIZE"
echo "b2 (uid $NOBODY, over the budget): $LINE"
[[ $LINE == ERR* ]] || fail "a TRACK over the per-uid state budget was not refused: $LINE"
grep -q "state_bytes_per_uid" "$WORK/b2.err" || fail "the refusal does not name the limit: $(cat "$WORK/b2.err")"
echo "b2 was told: $(cat "$WORK/b2.err")"
# another uid is not held to nobody's budget
out=$(echo exit | timeout 120 "$PUB/slice-client" --socket "$SOCK" big 1G 2M 2>&1)
[[ $out == READY* ]] || fail "root's client was refused: $out"
big_cmd b1 verify || fail "client b1's data: $REPLY_LINE"
big_cmd b1 exit >/dev/null
kill -0 "$DAEMON_PID" || fail "the daemon died"
echo PASS
