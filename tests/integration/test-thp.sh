#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A range backed by transparent huge pages: the daemon reports it per 2 MiB (huge_bytes), keeps
# the hot quarter resident, pages the cold rest out in whole huge pages, and every byte survives.
# Usage: test-thp.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
thp=/sys/kernel/mm/transparent_hugepage/enabled
grep -q '\[never\]' "$thp" 2>/dev/null && skip "transparent huge pages are disabled ($thp)"
[ -e "$thp" ] || skip "the kernel has no transparent huge pages"
swap_ensure 128

start_daemon --interval=500ms --cold-age=2s --rate=0 --psi-limit=100%
client_start t --size 64M --hot-fraction 0.25 --thp --name thp
len=${CLEN[t]}
hot=$((len / 4))
cold=$((len - hot))
anon_huge=$(smaps_field_kib "${CPID[t]}" "${CADDR[t]}" AnonHugePages "$len") || fail "no smaps for the range"
[ "$anon_huge" -ge 16384 ] || skip "the kernel gave only ${anon_huge} KiB of huge pages for the range"
echo "AnonHugePages at start: ${anon_huge} KiB"

wait_for $T counter_ge t huge_bytes $((16 * 1024 * 1024)) || fail "the daemon does not report the huge pages: $REPLY_TEXT"
echo "daemon: huge_bytes=$(status_value t huge_bytes)"

deadline=$((SECONDS + T))
while :; do
        client_cmd t touch-hot || fail "touch-hot: $REPLY_TEXT"
        evicted=$(status_value t evicted_bytes)
        [ "$evicted" -ge $((cold * 90 / 100)) ] && break
        [ $SECONDS -lt $deadline ] || fail "only $evicted of $cold cold bytes evicted"
        sleep 0.2
done
# evicted in whole huge pages
[ $((evicted % (2 * 1024 * 1024))) -eq 0 ] || fail "evicted $evicted bytes: not whole 2 MiB pages"
client_cmd t "residency 0 $hot" || fail "residency: $REPLY_TEXT"
hot_res=$(sed -n 's/^OK resident \([0-9]*\).*/\1/p' <<<"$REPLY_TEXT")
echo "evicted $evicted bytes; hot part resident $hot_res of $hot"
[ "$hot_res" -eq "$hot" ] || fail "the hot huge pages were evicted"
client_cmd t verify || fail "data corrupted: $REPLY_TEXT"
client_stop t
echo "PASS"
