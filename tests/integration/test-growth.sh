#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What a client creates is freed when it goes away or removes it: the daemon's resident memory
# after 100000 TRACK/UNTRACK pairs, each with a name and 32 labels of its own, is within 1 MiB of
# where it was after a warm-up (it grew by 9 KiB a pair once), and stays so after the client
# disconnects. The daemon runs with --no-mlock here, so RSS is what it really touches.
# Usage: test-growth.sh BUILD_DIR [PAIRS]
set -u
BUILD=${1:?usage: $0 BUILD_DIR [PAIRS]}
PAIRS=${2:-100000}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
# AddressSanitizer keeps freed memory in quarantine (256 MiB by default), so the daemon's RSS says
# nothing there; that build's LeakSanitizer checks the same thing at exit instead.
[ -n "${ASAN_OPTIONS:-}" ] && skip "RSS is not meaningful under AddressSanitizer (freed memory is quarantined)"

rss_kib() { awk '/^VmRSS:/ { print $2 }' /proc/$DAEMON_PID/status; }

start_daemon --interval=1s --cold-age=60s --log-level=notice
client_start c --size 4M --name growth
client_cmd c "track-churn 2000" 600 || fail "warm-up: $REPLY_TEXT"
before=$(rss_kib)
client_cmd c "track-churn $PAIRS" 1800 || fail "churn: $REPLY_TEXT"
after=$(rss_kib)
echo "daemon RSS: ${before} KiB after the warm-up, ${after} KiB after $PAIRS pairs"
[ $((after - before)) -le 1024 ] || fail "the daemon grew by $((after - before)) KiB over $PAIRS TRACK/UNTRACK pairs"
client_cmd c status || fail "status: $REPLY_TEXT"
n=$(grep -c '^range ' <<<"$REPLY_TEXT")
[ "$n" -eq 1 ] || fail "the client holds $n ranges after the churn, expected its one mapping"
client_stop c
wait_for "$T" grep -q "disconnected\|said goodbye" "$DAEMON_LOG" || true
gone=$(rss_kib)
echo "daemon RSS after the client left: ${gone} KiB"
[ $((gone - before)) -le 1024 ] || fail "the daemon kept $((gone - before)) KiB after the client left"
kill -0 "$DAEMON_PID" || fail "the daemon died"
echo PASS
