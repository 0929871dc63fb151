#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One uid must never lock out another, nor make the daemon spin:
#   a. an unprivileged uid (nobody) opening every connection gets at most its share (a quarter of
#      --max-connections); root and other clients still connect and are served;
#   b. a daemon whose descriptors run out (RLIMIT_NOFILE 128, hard) refuses new connections with
#      a clear error instead of spinning on accept(), keeps serving the client it has, and logs
#      the refusals rate-limited.
# Usage: test-fairness.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no /usr/bin/python3"
command -v setpriv >/dev/null || skip "no setpriv"
command -v prlimit >/dev/null || skip "no prlimit"
chmod 0755 "$WORK"
cp "$HERE/flood.py" "$WORK/flood.py" && chmod 0755 "$WORK/flood.py"

flood_start() { # ID UID N
        local id=$1 uid=$2 n=$3 fd line
        mkfifo "$WORK/$id.in" "$WORK/$id.out"
        setpriv --reuid="$uid" --regid="$uid" --clear-groups "$PY" "$WORK/flood.py" "$SOCK" "$n" \
                <"$WORK/$id.in" >"$WORK/$id.out" 2>"$WORK/$id.err" &
        FPID[$id]=$!
        cleanup_push "kill -9 ${FPID[$id]} 2>/dev/null; wait ${FPID[$id]} 2>/dev/null; true"
        exec {fd}>"$WORK/$id.in"
        FIN[$id]=$fd
        exec {fd}<"$WORK/$id.out"
        FOUT[$id]=$fd
        read -r -t 60 -u "${FOUT[$id]}" line || { cat "$WORK/$id.err" >&2; fail "flood $id did not start"; }
        [ "$line" = "opened $n" ] || fail "flood $id: '$line'"
}
flood_check() { # ID -> REFUSED OPEN
        local id=$1 line
        echo check >&"${FIN[$id]}"
        read -r -t 60 -u "${FOUT[$id]}" line || fail "flood $id did not answer"
        set -- $line
        REFUSED=$2 OPEN=$4
}
declare -A FPID FIN FOUT

# a. shares
MAX=40
start_daemon --max-connections=$MAX --conn-rate=0 --interval=500ms --cold-age=2s
flood_start nobody 65534 $MAX
# a connection made after the flood is accepted after it (one backlog, first in first out):
# once this client is ready, every flood connection has been decided
client_start root --size 8M --name root-after-flood
flood_check nobody
echo "nobody: $OPEN of $MAX connections kept, $REFUSED refused"
[ "$OPEN" -le $((MAX / 4)) ] || fail "one uid holds $OPEN of $MAX connections, more than its share ($((MAX / 4)))"
[ "$OPEN" -ge 1 ] || fail "nobody got no connection at all"
client_cmd root status || fail "root's client is not served: $REPLY_TEXT"
grep -q "uid 65534 has .* connections open" "$DAEMON_LOG" || fail "the refusals are not logged"
n=$(grep -c "uid 65534 has .* connections open" "$DAEMON_LOG")
[ "$n" -le 6 ] || fail "$n refusal lines logged for one burst: not rate-limited"
client_stop root
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null

# b. out of descriptors
SOCK=$WORK/handoff2.sock
DAEMON_LOG=$WORK/daemon2.log
prlimit --nofile=128:128 "$UFFDTIERD" --socket="$SOCK" --log-level=debug --no-mlock --conn-rate=0 \
        --max-connections=1000 --interval=500ms --cold-age=2s >"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
cleanup_push "kill -9 $DAEMON_PID 2>/dev/null; wait $DAEMON_PID 2>/dev/null; true"
wait_for 30 test -S "$SOCK" || { cat "$DAEMON_LOG" >&2; fail "the second daemon did not start"; }
client_start kept --size 8M --name kept
flood_start rootflood 0 150
# a client that comes after the flood is refused with a message saying why (and the flood's
# connections have all been decided by then: one backlog, first in first out)
late=$(echo exit | timeout 120 "$TIER_CLIENT" --socket "$SOCK" --size 8M --name late 2>&1)
echo "late client: $late" | head -3
grep -q "READY" <<<"$late" && fail "a client got in although the daemon is out of descriptors"
grep -q "EMFILE" <<<"$late" || fail "the late client was not told why: $late"
flood_check rootflood
echo "out of descriptors: $OPEN kept, $REFUSED refused"
[ "$REFUSED" -ge 50 ] || fail "only $REFUSED of 150 connections refused with 128 descriptors"
grep -q "short of file descriptors" "$DAEMON_LOG" || fail "no log line about the descriptor shortage"
n=$(grep -c "short of file descriptors" "$DAEMON_LOG")
[ "$n" -le 6 ] || fail "$n descriptor lines logged: not rate-limited"
# not spinning: the daemon's CPU time over a few of its own cycles stays small
t0=$(awk '{print $14 + $15}' /proc/$DAEMON_PID/stat)
c0=$(status_value kept cycles) || fail "the kept client is not served: $REPLY_TEXT"
deadline=$((SECONDS + T))
while [ "$(status_value kept cycles)" -lt $((c0 + 4)) ]; do
        [ $SECONDS -lt $deadline ] || fail "the kept client's cycles stopped"
        sleep 0.2
done
t1=$(awk '{print $14 + $15}' /proc/$DAEMON_PID/stat)
ticks=$((t1 - t0))
echo "daemon CPU over 4 cycles with the listen queue full: $ticks ticks"
[ "$ticks" -le 100 ] || fail "the daemon used $ticks clock ticks in 4 cycles: spinning?"
client_cmd kept verify || fail "the kept client's data: $REPLY_TEXT"
echo exit >&"${FIN[rootflood]}"
client_stop kept
kill -0 "$DAEMON_PID" || fail "the daemon died"
echo PASS
