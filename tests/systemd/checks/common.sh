# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# common.sh — sourced by every check-*.sh in the container (test-systemd.sh copies them, lib.sh and
# tier.sh to /usr/lib/uffdtier-tests; BUILD points at a tree whose daemon is the installed one).
# Clients talk to the installed socket unit's socket.
#
#   step TEXT                   print a heading
#   pass                        print PASS and exit 0
#   expect_prop UNIT PROP VAL   systemctl show -P PROP UNIT is VAL within 30 s, or fail
#   is_active UNIT              the unit is active
#   main_pid                    the service's MainPID (fails when there is none)
#   journal_has UNIT PRIO TEXT  a journal line of UNIT at PRIO or more urgent contains TEXT
#   workload_start ID SLICE [TIER-CLIENT ARGS...]   a tier-client as the transient service ID.service
#                               in SLICE (systemd-run --pipe: its stdin/stdout are our fifos, so
#                               client_cmd drives it); its own pid in $WPID[ID]; stopped at cleanup.
#                               WL_USER=NAME: as that user

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/tier.sh"
SOCK=/run/uffdtierd/handoff.sock
need_backend

step() { echo "==> $*"; }
pass() {
        echo PASS
        exit 0
}

expect_prop() {
        local unit=$1 prop=$2 want=$3
        wait_for 30 [ "$(systemctl show -P "$prop" "$unit")" = "$want" ] ||
                fail "$unit: $prop is '$(systemctl show -P "$prop" "$unit")', not '$want'"
}

is_active() { [ "$(systemctl is-active "$1")" = active ]; }

main_pid() {
        local p
        p=$(systemctl show -P MainPID uffdtierd)
        [ -n "$p" ] && [ "$p" != 0 ] || return 1
        echo "$p"
}

journal_has() {
        journalctl -u "$1" -p "$2" -o cat --no-pager | grep -qF -- "$3"
}

declare -A WPID
workload_start() {
        local id=$1 slice=$2
        shift 2
        cleanup_push "systemctl stop '$id.service' 2>/dev/null; systemctl reset-failed '$id.service' 2>/dev/null; true"
        CLIENT_WRAP=(systemd-run --quiet --pipe --wait --collect --unit="$id" --slice="$slice"
                --service-type=exec)
        [ -z "${WL_USER:-}" ] || CLIENT_WRAP+=(--uid="$WL_USER" --gid="$WL_USER")
        client_start "$id" "$@"
        CLIENT_WRAP=()
        WPID[$id]=$(systemctl show -P MainPID "$id.service")
        [ -n "${WPID[$id]}" ] && [ "${WPID[$id]}" != 0 ] || fail "$id.service has no MainPID"
}
