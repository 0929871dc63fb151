# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# tier.sh — drives the real daemon and tier-client helpers for the integration tests. Source it
# after lib.sh, with BUILD set to the meson build directory.
#
#   start_daemon [ARGS...]        uffdtierd on a private socket in $WORK; pid in $DAEMON_PID, log in
#                                 $DAEMON_LOG; killed at cleanup
#   client_start ID [ARGS...]     a tier-client whose stdin/stdout are fifos; waits for its READY
#                                 line: CPID[ID], CADDR[ID], CLEN[ID]. Run through the command
#                                 in the array CLIENT_WRAP when set (e.g. setpriv, as another user)
#   client_cmd ID CMD [TIMEOUT]   send one command, collect the lines up to "OK..." or "ERR..." in
#                                 $REPLY_TEXT; returns 0 for OK, 1 for ERR, 2 on timeout/EOF
#   status_value ID NAME          the daemon's counter NAME for that client (via the status command)
#   counter_ge ID NAME MIN        that counter is at least MIN (for wait_for)
#   counter_settle ID NAME [TIMEOUT]   wait until the counter stops growing: unchanged over two whole
#                                 daemon cycles of that client (its "cycles" counter), within TIMEOUT
#                                 seconds (default $T); the value is left in $STABLE_VALUE
#   daemon_alive                  the daemon still runs and accepts a new client

declare -A CPID CADDR CLEN CIN COUT
CLIENT_WRAP=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/uffdtier-it.XXXXXX") || fail "mktemp failed"
cleanup_push "rm -rf '$WORK'"
TIER_CLIENT=$BUILD/tests/helpers/tier-client
UFFDTIERD=$BUILD/daemon/uffdtierd
[ -x "$TIER_CLIENT" ] || fail "tier-client not built at $TIER_CLIENT"
[ -x "$UFFDTIERD" ] || fail "uffdtierd not built at $UFFDTIERD"

start_daemon() {
        SOCK=$WORK/handoff.sock
        DAEMON_LOG=$WORK/daemon.log
        "$UFFDTIERD" --socket="$SOCK" --log-level=debug --no-mlock "$@" >"$DAEMON_LOG" 2>&1 &
        DAEMON_PID=$!
        cleanup_push "kill -9 $DAEMON_PID 2>/dev/null; wait $DAEMON_PID 2>/dev/null; true"
        cleanup_push "[ \$? -eq 0 ] || { echo '---- daemon log (tail) ----' >&2; tail -40 '$DAEMON_LOG' >&2; }"
        wait_for 30 test -S "$SOCK" || { cat "$DAEMON_LOG" >&2; fail "the daemon did not start"; }
}

client_start() {
        local id=$1 line fd
        shift
        mkfifo "$WORK/$id.in" "$WORK/$id.out"
        "${CLIENT_WRAP[@]}" "$TIER_CLIENT" --socket "$SOCK" "$@" <"$WORK/$id.in" >"$WORK/$id.out" 2>"$WORK/$id.err" &
        CPID[$id]=$!
        cleanup_push "kill -9 ${CPID[$id]} 2>/dev/null; wait ${CPID[$id]} 2>/dev/null; true"
        exec {fd}>"$WORK/$id.in"
        CIN[$id]=$fd
        exec {fd}<"$WORK/$id.out"
        COUT[$id]=$fd
        if ! read -r -t 60 -u "${COUT[$id]}" line || [[ $line != READY* ]]; then
                cat "$WORK/$id.err" >&2
                fail "client $id did not get ready (got '$line')"
        fi
        CADDR[$id]=$(sed -E 's/.*addr=(0x[0-9a-f]+).*/\1/' <<<"$line")
        CLEN[$id]=$(sed -E 's/.*len=([0-9]+).*/\1/' <<<"$line")
}

client_cmd() {
        local id=$1 cmd=$2 timeout=${3:-60} line
        REPLY_TEXT=
        echo "$cmd" >&"${CIN[$id]}" || return 2
        while read -r -t "$timeout" -u "${COUT[$id]}" line; do
                REPLY_TEXT+="$line"$'\n'
                case $line in
                OK*) return 0 ;;
                ERR*) return 1 ;;
                esac
        done
        return 2
}

client_stop() {
        local id=$1
        client_cmd "$id" exit 10 >/dev/null 2>&1
        exec {CIN[$id]}>&- {COUT[$id]}<&-
        wait "${CPID[$id]}" 2>/dev/null
}

status_value() {
        local id=$1 name=$2
        client_cmd "$id" status >/dev/null || return 1
        awk -v n="$name" '$1 == "counter" && $2 == n { print $3; found = 1 } END { exit !found }' <<<"$REPLY_TEXT"
}

daemon_alive() {
        kill -0 "$DAEMON_PID" 2>/dev/null || return 1
        local id=probe$RANDOM
        client_start "$id" --size 4M
        client_cmd "$id" status || return 1
        client_stop "$id"
}

# counter_ge ID NAME MIN: the client's counter NAME is at least MIN (for wait_for)
counter_ge() {
        local v
        v=$(status_value "$1" "$2") || return 1
        [ "$v" -ge "$3" ]
}

# counter_cycles ID NAME: "VALUE CYCLES" -- the counter and the client's cycle count from one status
# reply (for wait_stable)
counter_cycles() {
        client_cmd "$1" status >/dev/null || return 1
        awk -v n="$2" '$1 == "counter" && $2 == n { v = $3 }
                $1 == "counter" && $2 == "cycles" { c = $3 }
                END { if (v == "" || c == "") exit 1; print v, c }' <<<"$REPLY_TEXT"
}

# A counter the daemon adds to during its cycles (refaults are counted by the scans after the
# access, one range after another) has its final value once two whole cycles went by without a
# change; reading it as soon as it is non-zero catches it half-way.
counter_settle() {
        wait_stable "${3:-$T}" 2 counter_cycles "$1" "$2"
}

# The backend this kernel gives the daemon, or skip.
need_backend() {
        BACKEND=$("$UFFDTIERD" --probe --json | sed -n 's/.*"backend": *"\([a-z-]*\)".*/\1/p')
        [ -n "$BACKEND" ] && [ "$BACKEND" != none ] ||
                skip "this kernel has no tracking backend: $("$UFFDTIERD" --probe | sed -n 2,3p | tr '\n' ' ')"
        echo "backend: $BACKEND"
        # T: the deadline of every wait on the daemon, for a machine at least twice as slow as the
        # 2-vCPU development machines (where none takes more than ~15 s); an emulated guest is
        # ~50x slower: give it time, not different numbers
        T=120
        [ "${UFFDTIER_VM:-0}" = 1 ] && T=600
}
