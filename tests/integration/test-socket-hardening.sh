#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The handoff socket's own safety, against the real daemon on this kernel:
#   dir      a socket directory that is world-writable or not root's is refused with a message
#            naming it; one the daemon creates is root's and 0755 whatever the umask
#   symlink  a symbolic link at the socket path is not followed, not even one swapped in right after
#            bind() (tests/helpers/bind-race.c); the socket ends up 0666 whatever the umask
#   file     a file that is not a socket at the socket path is not deleted: the daemon refuses
#   empty    an empty packet is answered with EBADMSG, not taken for a hang-up, and the same
#            connection is served on
#   fds      too many descriptors and too large a packet are told apart, each naming its own limit
#   backlog  a client that does not read its replies is disconnected once its backlog fills the
#            socket, logged once, while another client is served throughout
#   uidrate  the per-uid connection rate table forgets idle uids (20 uids connect, the table
#            shrinks back to the one uid still connecting)
#   errors   an unprivileged client sending garbage on one connection is disconnected after
#            protocol_errors_max (16) malformed requests, and its refusals are logged rate-limited
#   caps     the global caps next to the per-uid ones, as set on the command line: with
#            --max-clients=17 one root client leaves no room for nobody (16 kept for root), and
#            --max-protocol-errors=3 disconnects after three
# Usage: test-socket-hardening.sh BUILD_DIR [SECTION...]   (default: every section, in this order)
set -u
BUILD=${1:?usage: $0 BUILD_DIR [SECTION...]}
shift
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
SECTIONS=${*:-dir symlink file empty fds backlog uidrate errors caps}
BIND_RACE=$BUILD/tests/helpers/bind-race.so
# start-up includes the kernel probe: generous, for a slow machine
START_S=30

# ---- helpers: a daemon of our own per case (tier.sh's start_daemon is for the shared one) ----

# run_daemon NAME SOCKET UMASK [VAR=VALUE...]: uffdtierd in the background with that umask and
# environment; pid in $D_PID, log in $D_LOG; killed at cleanup
run_daemon() {
        local name=$1 sock=$2 mask=$3
        shift 3
        D_LOG=$WORK/$name.log
        (umask "$mask" && exec env "$@" "$UFFDTIERD" --socket="$sock" --log-level=debug --no-mlock) \
                >"$D_LOG" 2>&1 &
        D_PID=$!
        cleanup_push "kill -9 $D_PID 2>/dev/null; wait $D_PID 2>/dev/null; true"
}

# gone PID: the process has exited (a zombie counts: it is our child until waited for)
gone() {
        local state
        state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
        [ "$state" = Z ]
}

listening() { grep -qF "listening on $1" "$D_LOG"; }
# settled SOCKET: the daemon listens on SOCKET or has exited
settled() { listening "$1" || gone "$D_PID"; }

stop_daemon() {
        kill "$D_PID" 2>/dev/null
        wait "$D_PID" 2>/dev/null
}

# expect_refused NAME SOCKET WHAT: the daemon exits with an error instead of listening, and its
# log names the socket's directory
expect_refused() {
        local name=$1 sock=$2 what=$3 dir rc
        dir=$(dirname "$sock")
        run_daemon "$name" "$sock" 022
        wait_for "$START_S" settled "$sock" ||
                fail "$what: the daemon neither listened nor exited within $START_S s"
        if listening "$sock"; then
                stop_daemon
                fail "$what ($dir, $(stat -c '%U %a' "$dir")) was accepted: the daemon listens on $sock"
        fi
        wait "$D_PID"
        rc=$?
        [ "$rc" -ne 0 ] || fail "$what: the daemon exited with status 0"
        grep -qF -- "$dir" "$D_LOG" || { cat "$D_LOG" >&2; fail "$what: the daemon's error does not name $dir"; }
        echo "ok: $what refused: $(grep -F -- "$dir" "$D_LOG" | tail -1)"
}

# ---- dir: the socket directory ----
section_dir() {
        local d
        d=$WORK/world-writable
        mkdir "$d" && chmod 1777 "$d"
        expect_refused ww "$d/handoff.sock" "a world-writable socket directory"
        [ ! -e "$d/handoff.sock" ] || fail "the refused daemon left a socket in $d"

        d=$WORK/not-roots
        mkdir "$d" && chmod 0755 "$d" && chown 65534:65534 "$d"
        expect_refused nr "$d/handoff.sock" "a socket directory owned by uid 65534"

        # created by the daemon under umask 077: still root's and 0755, so other uids reach the socket
        d=$WORK/created
        run_daemon created "$d/handoff.sock" 077
        wait_for "$START_S" listening "$d/handoff.sock" || { cat "$D_LOG" >&2; fail "the daemon did not start on $d"; }
        [ "$(stat -c '%u %a' "$d")" = "0 755" ] ||
                fail "the daemon created $d as $(stat -c 'uid %u mode %a' "$d"), expected uid 0 mode 755"
        echo "ok: created $d: $(stat -c 'uid %u mode %a' "$d")"
        stop_daemon
}

# ---- symlink: the socket path ----
section_symlink() {
        local d target
        target=$WORK/precious
        echo "not for the daemon" >"$target" && chmod 0600 "$target"

        # a link already there is replaced by the socket, not followed
        d=$WORK/link && mkdir -m 0755 "$d"
        ln -s "$target" "$d/handoff.sock"
        run_daemon link "$d/handoff.sock" 077
        wait_for "$START_S" listening "$d/handoff.sock" || { cat "$D_LOG" >&2; fail "the daemon did not start on $d"; }
        [ "$(stat -c %a "$target")" = 600 ] || fail "the link's target became mode $(stat -c %a "$target")"
        [ -S "$d/handoff.sock" ] && [ ! -L "$d/handoff.sock" ] || fail "$d/handoff.sock is not the daemon's socket"
        [ "$(stat -c %a "$d/handoff.sock")" = 666 ] ||
                fail "the socket is mode $(stat -c %a "$d/handoff.sock") under umask 077, expected 666"
        echo "ok: a link at the socket path was replaced; socket mode $(stat -c %a "$d/handoff.sock"), target still 600"
        stop_daemon

        # a link swapped in right after bind(): whatever the daemon does next by path must not reach
        # the target
        [ -e "$BIND_RACE" ] || fail "bind-race.so not built at $BIND_RACE"
        d=$WORK/race && mkdir -m 0755 "$d"
        # ASan's runtime wants to come first among the libraries: let the shim go before it
        run_daemon race "$d/handoff.sock" 022 LD_PRELOAD="$BIND_RACE" BIND_RACE_SYMLINK_TO="$target" \
                ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
        wait_for "$START_S" listening "$d/handoff.sock" || { cat "$D_LOG" >&2; fail "the daemon did not start on $d"; }
        grep -q "bind-race: replaced" "$D_LOG" || { cat "$D_LOG" >&2; fail "the shim did not swap the socket"; }
        [ "$(stat -c %a "$target")" = 600 ] ||
                fail "the daemon followed a link swapped in after bind(): its target became mode $(stat -c %a "$target")"
        echo "ok: a link swapped in after bind() was not followed (target still 600)"
        stop_daemon
}

# ---- file: something that is not a socket (nor a link) at the socket path is not the daemon's to
# delete ----
section_file() {
        local d
        d=$WORK/file && mkdir -m 0755 "$d"
        echo "data" >"$d/handoff.sock"
        run_daemon file "$d/handoff.sock" 022
        wait_for "$START_S" settled "$d/handoff.sock" ||
                fail "the daemon neither listened nor exited within $START_S s"
        [ -f "$d/handoff.sock" ] && [ "$(cat "$d/handoff.sock")" = data ] ||
                fail "the daemon deleted the regular file at its socket path"
        wait "$D_PID" && fail "the daemon started although a regular file is at its socket path"
        grep -qF "$d/handoff.sock" "$D_LOG" || fail "the daemon's error does not name $d/handoff.sock"
        echo "ok: a regular file at the socket path was left alone: $(grep -F "$d/handoff.sock" "$D_LOG" | tail -1)"
}

# ---- the shared daemon, for the protocol sections ----
shared_daemon() {
        [ -n "${DAEMON_PID:-}" ] && return 0
        # other uids must reach the socket (uidrate): the directory is root's and closed to writes
        chmod 0755 "$WORK"
        start_daemon --conn-rate=1000
        client_start raw --no-connect --size 64K --name raw
}

section_empty() {
        shared_daemon
        client_cmd raw raw-empty || fail "raw-empty: $REPLY_TEXT"
        echo "ok: $REPLY_TEXT"
}

# The daemon's descriptors once every connection so far is closed: a connection's descriptors
# go a little after its "connection closed" line (its memory is freed from a later source).
all_connections_closed() {
        [ "$(grep -c "connection from pid" "$DAEMON_LOG")" = "$(grep -c ": connection closed" "$DAEMON_LOG")" ]
}
daemon_fds_and_clock() { # the fd count and a clock in tenths of a second, for wait_stable
        local n
        n=$(count_fds "$DAEMON_PID") && echo "$n $(($(date +%s%N) / 100000000))"
}
idle_fds() {
        wait_for 10 all_connections_closed || fail "the daemon did not see every connection close: $(tail -3 "$DAEMON_LOG")"
        wait_stable 10 3 daemon_fds_and_clock || fail "the daemon's fd count did not settle (last: $STABLE_VALUE)"
        echo "$STABLE_VALUE"
}

section_fds() {
        local fds0
        shared_daemon
        fds0=$(idle_fds) || exit 1
        client_cmd raw "raw-many-fds" && fail "a packet with $((16 + 1)) descriptors was accepted: $REPLY_TEXT"
        grep -q "^ERR EMSGSIZE .*PROTO_FDS_MAX" <<<"$REPLY_TEXT" ||
                fail "too many descriptors: expected EMSGSIZE naming PROTO_FDS_MAX, got: $REPLY_TEXT"
        grep -qi "message_bytes\|larger than" <<<"$REPLY_TEXT" &&
                fail "too many descriptors: the reply names the size limit: $REPLY_TEXT"
        echo "ok: 17 descriptors -> $REPLY_TEXT"
        # exactly at the limit the packet is received, and refused for carrying descriptors at all
        client_cmd raw "raw-many-fds 16"
        grep -q "^ERR EBADF .*carries no descriptors, got 16" <<<"$REPLY_TEXT" ||
                fail "16 descriptors: expected EBADF 'carries no descriptors', got: $REPLY_TEXT"
        echo "ok: 16 descriptors -> $REPLY_TEXT"
        client_cmd raw raw-oversized && fail "an oversized packet was accepted: $REPLY_TEXT"
        grep -q "^ERR EMSGSIZE .*larger than 65536 .*PROTO_MESSAGE_MAX_BYTES" <<<"$REPLY_TEXT" ||
                fail "oversized: expected EMSGSIZE naming PROTO_MESSAGE_MAX_BYTES, got: $REPLY_TEXT"
        grep -qi "descriptor" <<<"$REPLY_TEXT" && fail "oversized: the reply speaks of descriptors: $REPLY_TEXT"
        echo "ok: oversized -> $REPLY_TEXT"
        wait_for 10 bash -c "[ \$(ls /proc/$DAEMON_PID/fd | wc -l) -eq $fds0 ]" ||
                fail "the daemon had $fds0 fds before and $(count_fds "$DAEMON_PID") after the descriptor floods"
        echo "ok: the daemon's descriptors with no connection, before and after the floods: $fds0"
}

section_backlog() {
        local n wmem out=$WORK/flood.out pid served=0 deadline lines
        shared_daemon
        client_start served --size 4M --name served
        # far more requests than replies fit in the daemon's send buffer
        wmem=$(cat /proc/sys/net/core/wmem_max 2>/dev/null || echo 212992)
        n=$((wmem / 64 + 1000))
        [ "$n" -ge 20000 ] || n=20000
        "$TIER_CLIENT" --socket "$SOCK" --no-connect --size 64K <<<"raw-flood-status $n" >"$out" 2>&1 &
        pid=$!
        cleanup_push "kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null; true"
        # the other client is served while the flood goes on, and after it
        deadline=$((SECONDS + 120))
        while ! grep -q "^OK sent\|^ERR" "$out"; do
                [ "$SECONDS" -lt "$deadline" ] || fail "the flooding client did not finish within 120 s"
                client_cmd served status 30 || fail "the other client was not served during the flood: $REPLY_TEXT"
                served=$((served + 1))
        done
        wait "$pid"
        grep -q "^OK sent .*then the daemon closed the connection" "$out" ||
                fail "a client that reads no replies was not disconnected: $(grep '^OK\|^ERR' "$out")"
        echo "ok: $(grep '^OK sent' "$out") ($served status requests of the other client served meanwhile)"
        lines=$(grep -c "pid $pid\b.*does not read its replies" "$DAEMON_LOG")
        [ "$lines" -eq 1 ] || fail "the daemon logged the disconnection of pid $pid $lines times, expected once"
        echo "ok: logged once: $(grep "pid $pid\b.*does not read its replies" "$DAEMON_LOG")"
        client_cmd served status || fail "the other client lost service after the flood: $REPLY_TEXT"
        client_stop served
}

section_uidrate() {
        local uid pid pids=() out n
        shared_daemon
        # 20 uids connect once each (an EBADMSG answer is all they get)
        for uid in $(seq 61001 61020); do
                setpriv --reuid="$uid" --regid="$uid" --clear-groups \
                        "$TIER_CLIENT" --socket "$SOCK" --no-connect --size 64K <<<"raw-garbage" \
                        >"$WORK/uid-$uid.out" 2>&1 &
                pid=$!
                pids+=("$pid")
                wait "$pid"
                grep -q "^ERR EBADMSG" "$WORK/uid-$uid.out" ||
                        fail "uid $uid was not answered: $(cat "$WORK/uid-$uid.out")"
        done
        for pid in "${pids[@]}"; do
                wait_for 30 grep -q "pid $pid: connection closed" "$DAEMON_LOG" ||
                        fail "the daemon did not see pid $pid hang up"
        done
        grep -q "connection from pid .* uid 61020 (.* uids in the connection rate table)" "$DAEMON_LOG" ||
                fail "the daemon does not log the size of its connection rate table"
        # all of them are idle now: the next connection finds only its own uid in the table
        client_cmd raw raw-garbage
        grep -q "^ERR EBADMSG" <<<"$REPLY_TEXT" || fail "raw-garbage: $REPLY_TEXT"
        out=$(grep "connection from pid .* uid 0 (" "$DAEMON_LOG" | tail -1)
        n=$(sed -n 's/.*(\([0-9]*\) uids in the connection rate table).*/\1/p' <<<"$out")
        [ "$n" = 1 ] || fail "after 20 idle uids the connection rate table has ${n:-?} entries, expected 1: $out"
        echo "ok: 20 idle uids forgotten: $out"
}

section_errors() {
        local out=$WORK/errors.out before after
        shared_daemon
        before=$(grep -c "request refused" "$DAEMON_LOG")
        setpriv --reuid=65534 --regid=65534 --clear-groups \
                "$TIER_CLIENT" --socket "$SOCK" --no-connect --size 64K <<<"raw-garbage-repeat 40" >"$out" 2>&1
        grep -q "^ERR ECONNRESET closed after 16 replies" "$out" ||
                fail "40 garbage packets on one connection: expected a disconnect after 16, got: $(grep '^OK\|^ERR' "$out")"
        grep -q "uid 65534): 16 malformed or out-of-turn requests (protocol_errors_max=16): disconnecting" "$DAEMON_LOG" ||
                fail "the disconnection is not logged with its limit"
        after=$(grep -c "request refused" "$DAEMON_LOG")
        # LOG_RATELIMIT_BURST (5) lines per 10 s window, whatever the client sends
        [ $((after - before)) -le 5 ] || fail "$((after - before)) refusals of one client logged in a row, expected at most 5"
        echo "ok: $(grep '^ERR' "$out"); $((after - before)) of its 16 refusals logged"
        client_cmd raw raw-garbage
        grep -q "^ERR EBADMSG" <<<"$REPLY_TEXT" || fail "a new connection is not served after the disconnect: $REPLY_TEXT"
}

section_caps() {
        local sock=$WORK/caps/handoff.sock log=$WORK/caps.log pid out SOCK_SAVED=${SOCK:-}
        chmod 0755 "$WORK"
        mkdir -m 0755 "$WORK/caps"
        "$UFFDTIERD" --socket="$sock" --log-level=debug --no-mlock --max-clients=17 \
                --max-protocol-errors=3 >"$log" 2>&1 &
        pid=$!
        cleanup_push "kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null; true"
        wait_for "$START_S" grep -qF "listening on $sock" "$log" || fail "the caps daemon did not start: $(tail -3 "$log")"
        SOCK=$sock
        client_start capsroot --size 4M --name caps-root
        SOCK=$SOCK_SAVED
        out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
                "$TIER_CLIENT" --socket "$sock" --size 4M <<<"exit" 2>&1)
        grep -q "^ERR EUSERS" <<<"$out" ||
                fail "nobody got a client past --max-clients=17 with root's one (16 kept for root): $out"
        grep -q "uid 65534): request refused: limit reached: at most 17 clients in all (clients_total, 16 kept for root)" "$log" ||
                fail "the refusal does not name clients_total: $(grep 'refused' "$log" | tail -1)"
        echo "ok: max-clients: $(grep '^ERR' <<<"$out"); $(grep -o 'limit reached: at most 17 clients.*' "$log" | tail -1)"
        out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
                "$TIER_CLIENT" --socket "$sock" --no-connect --size 64K <<<"raw-garbage-repeat 10" 2>&1)
        grep -q "^ERR ECONNRESET closed after 3 replies" <<<"$out" ||
                fail "--max-protocol-errors=3: $(grep '^OK\|^ERR' <<<"$out")"
        echo "ok: max-protocol-errors: $(grep '^ERR' <<<"$out")"
        client_stop capsroot
        kill "$pid"
        wait "$pid" 2>/dev/null
}

for s in $SECTIONS; do
        echo "---- $s ----"
        declare -F "section_$s" >/dev/null || fail "unknown section $s"
        "section_$s"
done
daemon_alive_if_started() { [ -z "${DAEMON_PID:-}" ] || daemon_alive; }
daemon_alive_if_started || fail "the shared daemon stopped serving"
echo "PASS"
