#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the bus shows to whom (org.uffdtier1(5), VISIBILITY): totals and every client's figures
# are public; a client's pid, uid, name, cgroup, last error, range addresses and histograms only to
# root and to the client's own uid. Two clients, one of root and one of uid 65534, on a private
# bus; both read as uid 65534 (properties one by one and with GetAll, ListClients, Dump,
# uffdtierctl) and as root, and the change signals carry no detail's value.
# Usage: test-visibility.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
for tool in busctl setpriv jq; do
        command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done
NOBODY=65534
AS_NOBODY=(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups)

# what uid 65534 runs: copies in a 0755 directory (the build tree may be 0700)
PUB=$(mktemp -d "${TMPDIR:-/tmp}/uffdtier-vis.XXXXXX") || fail "mktemp failed"
cleanup_push "rm -rf '$PUB'"
chmod 0755 "$PUB" "$WORK"
cp "$TIER_CLIENT" "$BUILD/client/uffdtierctl" "$PUB/" || fail "cannot copy the programs"
cp -P "$BUILD"/client/libuffdtier.so "$BUILD"/client/libuffdtier.so.[0-9]* "$PUB/" 2>/dev/null || true
[ -e "$PUB/libuffdtier.so.1" ] || fail "cannot copy libuffdtier"
AS_NOBODY=(env "LD_LIBRARY_PATH=$PUB" "${AS_NOBODY[@]}")

swap_ensure 64
start_private_dbus
A=$DBUS_SYSTEM_BUS_ADDRESS
export UFFDTIER_BUS_ADDRESS=$A
sock=${A#unix:path=}
sock=${sock%%,*}
chmod 755 "$(dirname "$sock")" || fail "cannot open up $(dirname "$sock")"
MGR=(org.uffdtier1 /org/uffdtier1 org.uffdtier1.Manager)
MON=$WORK/monitor.json
busctl --address="$A" monitor --json=short >"$MON" 2>"$WORK/monitor.err" &
MON_PID=$!
cleanup_push "kill $MON_PID 2>/dev/null; wait $MON_PID 2>/dev/null; true"

start_daemon --bus-address="$A" --interval=300ms --cold-age=30s --psi-limit=100%
name_owned() { busctl --address="$A" --json=short call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.uffdtier1 2>/dev/null | jq -e '.data[0]' >/dev/null; }
wait_for 10 name_owned || fail "the daemon did not take the name org.uffdtier1"

TIER_CLIENT=$PUB/tier-client
client_start mine --size 8M --name root-secret
CLIENT_WRAP=("${AS_NOBODY[@]}")
client_start theirs --size 8M --name nobody-own
CLIENT_WRAP=()
[ "$(awk '/^Uid:/ { print $3 }' "/proc/${CPID[theirs]}/status")" = $NOBODY ] || fail "client theirs does not run as uid $NOBODY"

# as root (R) and as uid 65534 (N)
R=(busctl --address="$A" --json=short)
N=("${AS_NOBODY[@]}" busctl --address="$A" --json=short)
id_of_pid() { "${R[@]}" call "${MGR[@]}" ListClients | jq -r --argjson pid "$1" '.data[0][] | select(.[1] == $pid) | .[0]'; }
wait_for 10 eval '[ -n "$(id_of_pid ${CPID[mine]})" ] && [ -n "$(id_of_pid ${CPID[theirs]})" ]' || fail "the clients are not on the bus"
ROOT_ID=$(id_of_pid "${CPID[mine]}")
OWN_ID=$(id_of_pid "${CPID[theirs]}")
prop() { "$@" | jq -c -r .data; }
cget() { # WHO ID PROPERTY
        local -n who=$1
        prop "${who[@]}" get-property org.uffdtier1 "/org/uffdtier1/client/$2" org.uffdtier1.Client "$3"
}
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"; }
# the detail gets a cycle to have values (the histogram of 8 MiB)
wait_for 10 eval '[ "$(cget R $ROOT_ID AgeHistogramBytes | jq add)" -gt 0 ]' || fail "no histogram for the root client"

echo "== root reads everything"
expect_eq "root: Pid of root's client" "$(cget R "$ROOT_ID" Pid)" "${CPID[mine]}"
expect_eq "root: Name of the other's client" "$(cget R "$OWN_ID" Name)" nobody-own
expect_eq "root: Uid of the other's client" "$(cget R "$OWN_ID" Uid)" $NOBODY

echo "== uid $NOBODY: root's client shows its figures, not its details"
expect_eq "Pid" "$(cget N "$ROOT_ID" Pid)" 0
expect_eq "Uid" "$(cget N "$ROOT_ID" Uid)" 0
expect_eq "Name" "$(cget N "$ROOT_ID" Name)" ""
expect_eq "CGroup" "$(cget N "$ROOT_ID" CGroup)" ""
expect_eq "Unit" "$(cget N "$ROOT_ID" Unit)" ""
expect_eq "LastError" "$(cget N "$ROOT_ID" LastError)" ""
expect_eq "AgeHistogramBytes" "$(cget N "$ROOT_ID" AgeHistogramBytes)" "[0,0,0,0,0,0,0,0]"
expect_eq "WorkingSetBytes" "$(cget N "$ROOT_ID" WorkingSetBytes)" "[0,0,0,0,0,0,0,0]"
expect_eq "TrackedBytes (public)" "$(cget N "$ROOT_ID" TrackedBytes)" "${CLEN[mine]}"
expect_eq "Policy (public)" "$(cget N "$ROOT_ID" Policy)" default
all=$("${N[@]}" call org.uffdtier1 "/org/uffdtier1/client/$ROOT_ID" org.freedesktop.DBus.Properties GetAll s org.uffdtier1.Client | jq -c '.data[0] | map_values(.data)')
expect_eq "GetAll" "$(jq -c '[.Pid, .Uid, .Name, .CGroup, .LastError, (.AgeHistogramBytes | add), .TrackedBytes]' <<<"$all")" \
        "[0,0,\"\",\"\",\"\",0,${CLEN[mine]}]"
grep -q root-secret <<<"$all" && fail "GetAll as uid $NOBODY names root's client: $all"

echo "== uid $NOBODY: its own client in full"
expect_eq "own Pid" "$(cget N "$OWN_ID" Pid)" "${CPID[theirs]}"
expect_eq "own Uid" "$(cget N "$OWN_ID" Uid)" $NOBODY
expect_eq "own Name" "$(cget N "$OWN_ID" Name)" nobody-own
[ "$(cget N "$OWN_ID" AgeHistogramBytes | jq add)" -gt 0 ] || fail "uid $NOBODY does not see its own client's histogram"

echo "== ListClients, Dump"
list=$("${N[@]}" call "${MGR[@]}" ListClients | jq -c '.data[0]')
expect_eq "ListClients root entry" "$(jq -c --argjson id "$ROOT_ID" '.[] | select(.[0] == $id) | .[1:4]' <<<"$list")" '[0,"",""]'
expect_eq "ListClients own entry" "$(jq -c --argjson id "$OWN_ID" '.[] | select(.[0] == $id) | .[1:3]' <<<"$list")" "[${CPID[theirs]},\"nobody-own\"]"
"${N[@]}" call "${MGR[@]}" Dump | jq -r '.data[0]' >"$WORK/dump.json" || fail "Dump as uid $NOBODY failed"
grep -q root-secret "$WORK/dump.json" && fail "Dump as uid $NOBODY names root's client"
jq -e --argjson r "$ROOT_ID" --argjson o "$OWN_ID" --argjson len "${CLEN[mine]}" --argjson pid "${CPID[theirs]}" '
        (.clients[] | select(.id == $r) | (has("pid") or has("name") or has("cgroup") or has("ranges") or
                has("age_histogram_bytes") or has("last_error")) == false and .tracked_bytes == $len) and
        (.clients[] | select(.id == $o) | .pid == $pid and (.ranges | length) >= 1) and .totals.clients == 2' \
        "$WORK/dump.json" >/dev/null || fail "Dump as uid $NOBODY: $(head -c 3000 "$WORK/dump.json")"
"${R[@]}" call "${MGR[@]}" Dump | jq -r '.data[0]' |
        jq -e --argjson r "$ROOT_ID" '.clients[] | select(.id == $r) | .name == "root-secret" and (.ranges | length) >= 1' >/dev/null ||
        fail "Dump as root lacks the details"

echo "== uffdtierctl as uid $NOBODY"
"${AS_NOBODY[@]}" "$PUB/uffdtierctl" list >"$WORK/list.txt" || fail "uffdtierctl list as uid $NOBODY failed"
cat "$WORK/list.txt"
grep -q root-secret "$WORK/list.txt" && fail "uffdtierctl list as uid $NOBODY names root's client"
grep -q "nobody-own" "$WORK/list.txt" || fail "uffdtierctl list as uid $NOBODY lacks its own client"
"${AS_NOBODY[@]}" "$PUB/uffdtierctl" show "$ROOT_ID" >"$WORK/show.txt" || fail "uffdtierctl show as uid $NOBODY failed"
grep -qx "Pid=0" "$WORK/show.txt" || fail "uffdtierctl show: $(cat "$WORK/show.txt")"
grep -qx "TrackedBytes=${CLEN[mine]}" "$WORK/show.txt" || fail "uffdtierctl show lacks the public TrackedBytes"
"${AS_NOBODY[@]}" "$PUB/uffdtierctl" status >"$WORK/status.txt" || fail "uffdtierctl status as uid $NOBODY failed"
grep -q "${CPID[mine]}\|root-secret" "$WORK/status.txt" && fail "uffdtierctl status as uid $NOBODY shows root's client"
"${AS_NOBODY[@]}" "$PUB/uffdtierctl" metrics | grep -q root-secret && fail "uffdtierctl metrics as uid $NOBODY names root's client"

echo "== signals carry no detail"
client_cmd mine touch-hot >/dev/null || fail "touch-hot: $REPLY_TEXT"
cpath=/org/uffdtier1/client/$ROOT_ID
changed() { jq -c --arg p "$cpath" 'select(.type == "signal" and .member == "PropertiesChanged" and .path == $p) | .payload.data' "$MON"; }
wait_for 10 eval 'changed | grep -q AgeHistogramBytes' || fail "no PropertiesChanged names AgeHistogramBytes"
changed | jq -e -s 'map(.[1] | has("AgeHistogramBytes") or has("LastError") or has("WorkingSetBytes")) | any | not' >/dev/null ||
        fail "a PropertiesChanged carries a detail's value: $(changed | tail -1)"
changed | jq -e -s 'map(.[2] | index("AgeHistogramBytes") != null) | any' >/dev/null ||
        fail "AgeHistogramBytes is not among the invalidated properties"
jq -c 'select(.type == "signal")' "$MON" | grep -q root-secret && fail "a signal names root's client"

client_stop mine
client_stop theirs
kill -0 "$DAEMON_PID" || fail "the daemon died"
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
rc=$?
grep -q 'Sanitizer\|runtime error' "$DAEMON_LOG" && fail "sanitizer report in the daemon log: $(grep -m3 'Sanitizer\|runtime error' "$DAEMON_LOG")"
[ $rc -eq 0 ] || fail "the daemon exited with $rc on SIGTERM"
echo "PASS"
