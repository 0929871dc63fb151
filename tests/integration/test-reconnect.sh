#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# uffdtier_reconnect() against the real daemon (tier-client's reconnect command):
#  - on a live session: the goodbye first, then the same ranges again (less what was untracked);
#  - after the daemon was SIGKILLed: the old session says ECONNRESET, a reconnect without a daemon
#    fails and keeps the ranges, one with a new daemon on the same socket hands them over, and the
#    new daemon evicts again; the memory is intact throughout;
#  - a range unmapped in part since it was tracked is refused by the new daemon: reconnect reports
#    it, forgets it, and the session is usable.
# Usage: test-reconnect.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
swap_ensure 128

ranges() { # ID: "ADDR LEN" of every range the daemon tracks for the client, one per line
        client_cmd "$1" status >/dev/null || return 1
        awk '$1 == "range" { print $2, $3 }' <<<"$REPLY_TEXT"
}

start_daemon --interval=500ms --cold-age=1s --psi-limit=100%
client_start a --size 16M --name reconnect
client_cmd a "untrack 0 1M" || fail "untrack: $REPLY_TEXT"
want=$(ranges a)
[ "$(wc -l <<<"$want")" = 1 ] || fail "expected one range after the untrack: $want"

# ---- live session ----
client_cmd a reconnect || fail "reconnect on a live session: $REPLY_TEXT"
[ "$(ranges a)" = "$want" ] || fail "after a live reconnect the daemon tracks '$(ranges a)', not '$want'"

# ---- the daemon killed and started again ----
wait_for $T counter_ge a evicted_bytes 1 || fail "nothing evicted before the kill"
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
client_cmd a status && fail "status succeeded with the daemon dead"
grep -q 'ECONNRESET\|EPIPE' <<<"$REPLY_TEXT" || fail "status with the daemon dead: $REPLY_TEXT"
client_cmd a reconnect && fail "reconnect succeeded without a daemon"
echo "without a daemon: $REPLY_TEXT"
client_cmd a verify || fail "memory not intact with the daemon dead: $REPLY_TEXT"
# the same socket path; the dead daemon's socket file must go, or start_daemon's wait for it is over
# before the new daemon listens
rm -f "$SOCK"
start_daemon --interval=500ms --cold-age=1s --psi-limit=100%
client_cmd a reconnect || fail "reconnect to the new daemon: $REPLY_TEXT"
[ "$(ranges a)" = "$want" ] || fail "the new daemon tracks '$(ranges a)', not '$want'"
wait_for $T counter_ge a evicted_bytes 1 || fail "the new daemon does not evict the reconnected client"
client_cmd a verify || fail "memory not intact after the reconnect: $REPLY_TEXT"
echo "reconnected: $(status_value a tracked_bytes) bytes tracked, $(status_value a evicted_bytes) evicted by the new daemon"

# ---- a range that is no longer entirely mapped ----
client_cmd a "munmap 8M 1M" || fail "munmap: $REPLY_TEXT"
client_cmd a reconnect && fail "reconnect handed over a range that is no longer entirely mapped"
echo "partly unmapped range: $REPLY_TEXT"
[ -z "$(ranges a)" ] || fail "the refused range is still tracked: $(ranges a)"
client_cmd a status || fail "the session is not usable after a refused range: $REPLY_TEXT"
client_stop a
echo PASS
