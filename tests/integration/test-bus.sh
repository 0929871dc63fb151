#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The D-Bus API (org.uffdtier1(5)) and uffdtierctl against the real daemon on a private bus:
# every property and method with busctl, the man page's members against the live introspection,
# the refusals for a non-root caller, bad arguments, a client that goes away while its object is
# read, uffdtierctl's output against the live numbers, and the coalesced signals.
#
# Phase A runs the daemon with a one-hour interval, so no cycle runs but the ones EvictNow starts
# and every number stays put while it is compared. Phase B runs short cycles for pause/resume
# and the signals.
# Usage: test-bus.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
for tool in busctl dbus-send setpriv jq; do
        command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done
CTL=$BUILD/client/uffdtierctl
DOC=$HERE/../../docs/org.uffdtier1.5
[ -x "$CTL" ] || fail "uffdtierctl not built at $CTL"
[ -r "$DOC" ] || fail "no $DOC"
PAGE=$(getconf PAGESIZE)

swap_ensure 160
start_private_dbus
A=$DBUS_SYSTEM_BUS_ADDRESS
# uffdtierctl finds the bus here; the daemon gets --bus-address= explicitly
export UFFDTIER_BUS_ADDRESS=$A
# the private bus lives in a 0700 directory: let the unprivileged caller reach its socket
sock=${A#unix:path=}
sock=${sock%%,*}
chmod 755 "$(dirname "$sock")" || fail "cannot open up $(dirname "$sock")"

MGR=(org.uffdtier1 /org/uffdtier1 org.uffdtier1.Manager)
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
# the unprivileged caller runs uffdtierctl from a copy it can reach (the build tree may be 0700)
if ! "${NOBODY[@]}" test -x "$CTL"; then
        NOBODY_DIR=$(mktemp -d "${TMPDIR:-/tmp}/uffdtier-ctl.XXXXXX") || fail "mktemp failed"
        cleanup_push "rm -rf '$NOBODY_DIR'"
        chmod 755 "$NOBODY_DIR" && cp "$CTL" "$NOBODY_DIR/" && chmod 755 "$NOBODY_DIR/uffdtierctl" || fail "cannot copy uffdtierctl"
        NOBODY_CTL=$NOBODY_DIR/uffdtierctl
else
        NOBODY_CTL=$CTL
fi

bc() { busctl --address="$A" "$@"; }
# the value of a property (scalars bare, arrays as a JSON list)
mprop() { bc --json=short get-property "${MGR[@]}" "$1" | jq -c -r .data; }
cprop() { bc --json=short get-property org.uffdtier1 "/org/uffdtier1/client/$1" org.uffdtier1.Client "$2" | jq -c -r .data; }
# the D-Bus error name a call fails with ("" if it succeeds): dbus-send OBJECT IFACE.METHOD ARGS...
err_name() { dbus-send --bus="$A" --print-reply --dest=org.uffdtier1 "$@" 2>&1 >/dev/null | sed -n 's/^Error \([^:]*\):.*/\1/p'; }
nobody_err_name() { "${NOBODY[@]}" dbus-send --bus="$A" --print-reply --dest=org.uffdtier1 "$@" 2>&1 >/dev/null | sed -n 's/^Error \([^:]*\):.*/\1/p'; }
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"; }
name_owned() { bc --json=short call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.uffdtier1 2>/dev/null | jq -e '.data[0]' >/dev/null; }
nclients_is() { [ "$(mprop NClients)" = "$1" ]; }
client_id_of_pid() { bc --json=short call "${MGR[@]}" ListClients | jq -r --argjson pid "$1" '.data[0][] | select(.[1] == $pid) | .[0]'; }
# human sizes as uffdtierctl prints them (format_bytes: one truncated decimal, base 1024)
hsize() { awk -v b="$1" 'BEGIN { s = "KMGTPE"; i = 0; w = b; while (w >= 1024 && i < 6) { w = int(w / 1024); i++ }
        if (i == 0) { printf "%dB\n", b; exit } u = 1024 ^ i; printf "%d.%d%s\n", int(b / u), int((b % u) * 10 / u), substr(s, i, 1) }'; }

# A bus monitor for the signals, running before anything happens.
MON=$WORK/monitor.json
bc monitor --json=short >"$MON" 2>"$WORK/monitor.err" &
MON_PID=$!
cleanup_push "kill $MON_PID 2>/dev/null; wait $MON_PID 2>/dev/null; true"
# signals of the daemon's connection (sender) with member M, as compact JSON lines
signals() { jq -c --arg s "$1" --arg m "$2" 'select(.type == "signal" and .sender == $s and .member == $m)' "$MON"; }

start_bus_daemon() {
        start_daemon --bus-address="$A" "$@"
        wait_for 10 name_owned || fail "the daemon did not take the name org.uffdtier1"
        SENDER=$(bc --json=short call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetNameOwner s org.uffdtier1 | jq -r '.data[0]')
        # the monitor sees the daemon once it sees a call to it
        bc call org.uffdtier1 /org/uffdtier1 org.freedesktop.DBus.Peer Ping >/dev/null || fail "Ping failed"
        wait_for 10 grep -q '"member":"Ping"' "$MON" || fail "the bus monitor sees nothing: $(cat "$WORK/monitor.err")"
}

echo "== phase A: static numbers"
start_bus_daemon --interval=1h --cold-age=1h --rate=0 --psi-limit=100%

# -- the Manager's properties
expect_eq Version "$(mprop Version)" "$("$UFFDTIERD" --version | awk '{print $2}')"
expect_eq Backend "$(mprop Backend)" "$BACKEND"
expect_eq Paused "$(mprop Paused)" false
expect_eq MonitorOnly "$(mprop MonitorOnly)" false
expect_eq MonitorOnlyReason "$(mprop MonitorOnlyReason)" ""
expect_eq ScanIntervalUSec "$(mprop ScanIntervalUSec)" 3600000000
expect_eq ColdAgeUSec "$(mprop ColdAgeUSec)" 3600000000
expect_eq NClients "$(mprop NClients)" 0
for p in TrackedBytes ResidentBytes HotBytes ColdBytes EvictedBytes RefaultedBytes FaultsServed; do
        expect_eq "$p before any client" "$(mprop $p)" 0
done
expect_eq WorkingSetBytes "$(mprop WorkingSetBytes)" "[0,0,0,0,0,0,0,0]"
feature=WP_ASYNC
[ "$BACKEND" = rwp ] && feature=RWP
mprop KernelFeatures | jq -e --arg f "$feature" 'index($f) != null' >/dev/null ||
        fail "KernelFeatures lacks $feature: $(mprop KernelFeatures)"
if [ "$BACKEND" = wp-async ]; then
        mprop CannotSee | jq -e 'length > 0 and (map(test("read")) | any)' >/dev/null ||
                fail "CannotSee does not mention reads for wp-async: $(mprop CannotSee)"
fi

# -- the man page documents exactly what the daemon serves
doc_members() { # INTERFACE
        awk -v want="$1" '
                /^\.fi/ { iface = "" }
                $1 == "interface" { iface = $2; next }
                iface != want { next }
                /^ *methods:/ { kind = "method"; next }
                /^ *signals:/ { kind = "signal"; next }
                /^ *properties:/ { kind = "property"; next }
                /EmitsChangedSignal\("const"\)/ { emits = "const"; next }
                /EmitsChangedSignal\("invalidates"\)/ { emits = "emits-invalidation"; next }
                kind == "property" && $1 == "readonly" {
                        print "property", $3, $2, (emits != "" ? emits : "emits-change"); emits = ""; next
                }
                (kind == "method" || kind == "signal") && /\(/ {
                        line = $0; sub(/^ */, "", line)
                        name = line; sub(/\(.*/, "", name)
                        args = line; sub(/^[^(]*\(/, "", args); sub(/\);[^;]*$/, "", args)
                        ins = ""; outs = ""
                        n = split(args, a, ",")
                        for (i = 1; i <= n; i++) {
                                split(a[i], w, " ")
                                if (kind == "signal") ins = ins w[1]
                                else if (w[1] == "in") ins = ins w[2]
                                else outs = outs w[2]
                        }
                        print kind, name, (ins == "" ? "-" : ins), (outs == "" ? "-" : outs)
                }' "$DOC" | sort
}
live_members() { # OBJECT INTERFACE
        bc introspect org.uffdtier1 "$1" "$2" | awk '
                $1 ~ /^\./ {
                        name = substr($1, 2)
                        if ($2 == "method") print "method", name, $3, $4
                        else if ($2 == "signal") print "signal", name, $3, "-"
                        else if ($2 == "property") print "property", name, $3, $NF
                }' | sort
}
check_doc() { # OBJECT INTERFACE
        local doc live
        doc=$(doc_members "$2")
        live=$(live_members "$1" "$2")
        [ -n "$doc" ] || fail "org.uffdtier1.5 documents nothing for $2"
        [ -n "$live" ] || fail "introspection of $1 shows nothing for $2"
        [ "$doc" = "$live" ] || fail "org.uffdtier1.5 and the live $2 differ (< documented, > live):
$(diff <(echo "$doc") <(echo "$live"))"
        echo "$2: $(wc -l <<<"$live") members documented as served"
}
check_doc /org/uffdtier1 org.uffdtier1.Manager

# -- a client: ClientAdded, its object, its numbers
client_start main --size 64M --hot-fraction 0.25 --name bus-test
pid=${CPID[main]}
len=${CLEN[main]}
hot=$((len / 4))
cold=$((len - hot))
wait_for 10 nclients_is 1 || fail "NClients did not become 1"
ID=$(client_id_of_pid "$pid")
[ -n "$ID" ] || fail "ListClients has no entry for pid $pid"
CPATH=/org/uffdtier1/client/$ID
wait_for 10 eval 'signals "$SENDER" ClientAdded | grep -q "\[$ID,\"$CPATH\"\]"' ||
        fail "no ClientAdded($ID, $CPATH) signal"
check_doc "$CPATH" org.uffdtier1.Client
bc tree org.uffdtier1 | grep -q "$CPATH" || fail "busctl tree does not show $CPATH"

cg=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
unit=""
case ${cg##*/} in *.service | *.scope) unit=${cg##*/} ;; esac
expect_eq Id "$(cprop "$ID" Id)" "$ID"
expect_eq ParentId "$(cprop "$ID" ParentId)" 0
expect_eq Pid "$(cprop "$ID" Pid)" "$pid"
expect_eq Uid "$(cprop "$ID" Uid)" 0
expect_eq Name "$(cprop "$ID" Name)" bus-test
expect_eq CGroup "$(cprop "$ID" CGroup)" "$cg"
expect_eq Unit "$(cprop "$ID" Unit)" "$unit"
expect_eq Policy "$(cprop "$ID" Policy)" default
expect_eq TrackedBytes "$(cprop "$ID" TrackedBytes)" "$len"
expect_eq LastError "$(cprop "$ID" LastError)" ""
expect_eq LastErrno "$(cprop "$ID" LastErrno)" 0
expect_eq Cycles "$(cprop "$ID" Cycles)" 0
# a fixed cold age (no refault target): the policy's, and no rate measured
expect_eq ColdAgeUSec "$(cprop "$ID" ColdAgeUSec)" 3600000000
expect_eq RefaultRatePPM "$(cprop "$ID" RefaultRatePPM)" 0
expect_eq PolicyRefaultTargetPermyriad "$(cprop "$ID" PolicyRefaultTargetPermyriad)" 0
expect_eq PolicyColdAgeMaxUSec "$(cprop "$ID" PolicyColdAgeMaxUSec)" $((126 * 3600000000))
for p in UserModeOnly ResidentBytes SwappedBytes HotBytes ColdBytes HugeBytes EvictedBytes RefaultedBytes \
        FaultsServed EvictionsSkippedPSI LastCycleUSec FaultLatencyMaxUSec FaultLatencyP99USec; do
        v=$(cprop "$ID" $p) || fail "cannot read $p"
        [[ $v =~ ^([0-9]+|true|false)$ ]] || fail "$p: '$v'"
done
expect_eq "Manager TrackedBytes" "$(mprop TrackedBytes)" "$len"

# -- EvictNow with a cap: the first cycle finds the untouched three quarters cold (cold age = one
# cycle); the hot quarter, written just before, stays
client_cmd main touch-hot || fail "touch-hot: $REPLY_TEXT"
cap=$((4 << 20))
q=$(bc --json=short call "${MGR[@]}" EvictNow tt "$ID" "$cap" | jq -r '.data[0]') || fail "EvictNow($ID, $cap) failed"
[ "$q" -gt 0 ] && [ "$q" -le "$cap" ] || fail "EvictNow($ID, $cap) queued $q bytes"
evicted_is() { [ "$(cprop "$ID" EvictedBytes)" = "$1" ]; }
wait_for 30 evicted_is "$q" || fail "EvictedBytes is $(cprop "$ID" EvictedBytes), expected the $q queued"
expect_eq Cycles "$(cprop "$ID" Cycles)" 1
c1=$(cprop "$ID" ColdBytes)
[ "$c1" -ge $((cold * 95 / 100)) ] && [ "$c1" -le "$cold" ] || fail "ColdBytes $c1, expected ~$cold"
h1=$(cprop "$ID" AgeHistogramBytes | jq 'add')
expect_eq "AgeHistogramBytes sums to TrackedBytes" "$h1" "$len"
[ "$(cprop "$ID" WorkingSetBytes | jq length)" = 8 ] || fail "WorkingSetBytes has not 8 entries"
client_cmd main "residency 0 $hot" || fail "residency: $REPLY_TEXT"
hot_res=$(sed -n 's/^OK resident \([0-9]*\).*/\1/p' <<<"$REPLY_TEXT")
[ "$hot_res" -ge $((hot * 99 / 100)) ] || fail "EvictNow took hot pages: $hot_res of $hot resident"

# -- ListClients and Dump agree with the properties
entry=$(bc --json=short call "${MGR[@]}" ListClients | jq -c --argjson id "$ID" '.data[0][] | select(.[0] == $id)')
expect_eq "ListClients entry" "$entry" \
        "[$ID,$pid,\"bus-test\",\"$cg\",\"default\",$len,$(cprop "$ID" ResidentBytes),$q]"
bc --json=short call "${MGR[@]}" Dump | jq -r '.data[0]' >"$WORK/dump.json" || fail "Dump failed"
jq -e --argjson id "$ID" --argjson pid "$pid" --argjson len "$len" --argjson q "$q" --arg b "$BACKEND" '
        .backend == $b and .totals.clients == 1 and
        (.clients[] | select(.id == $id) | .pid == $pid and .tracked_bytes == $len and
                .evicted_bytes == $q and .name == "bus-test" and (.ranges | length) >= 1)' \
        "$WORK/dump.json" >/dev/null || fail "Dump does not match: $(head -c 2000 "$WORK/dump.json")"

# -- uffdtierctl against the same numbers (nothing moves in phase A)
"$CTL" status --json >"$WORK/status.json" || fail "uffdtierctl status --json failed"
for p in NClients TrackedBytes ResidentBytes ColdBytes EvictedBytes Backend Paused ScanIntervalUSec; do
        expect_eq "status --json Manager.$p" "$(jq -c -r ".Manager.$p" "$WORK/status.json")" "$(mprop $p)"
done
for p in Id Pid Name CGroup Policy TrackedBytes ResidentBytes ColdBytes EvictedBytes Cycles AgeHistogramBytes WorkingSetBytes; do
        expect_eq "status --json client.$p" \
                "$(jq -c -r --argjson id "$ID" ".Clients[] | select(.Id == \$id) | .$p" "$WORK/status.json")" \
                "$(cprop "$ID" $p)"
done
"$CTL" status >"$WORK/status.txt" || fail "uffdtierctl status failed"
grep -q "Backend: $BACKEND" "$WORK/status.txt" || fail "status lacks the backend: $(cat "$WORK/status.txt")"
grep -q "^CGroup $cg" "$WORK/status.txt" || fail "status lacks the cgroup $cg: $(cat "$WORK/status.txt")"
line=$(awk -v id="$ID" -v pid="$pid" '$1 == id && $2 == pid' "$WORK/status.txt")
[ -n "$line" ] || fail "status has no line for client $ID: $(cat "$WORK/status.txt")"
read -r _ _ lname lres levicted _ <<<"$line"
expect_eq "status name" "$lname" bus-test
expect_eq "status resident" "$lres" "$(hsize "$(cprop "$ID" ResidentBytes)")"
expect_eq "status evicted" "$levicted" "$(hsize "$q")"
"$CTL" list | grep -q "bus-test" || fail "uffdtierctl list lacks the client"
expect_eq "list --json" "$("$CTL" list --json | jq -c "map(.Id)")" "[$ID]"
"$CTL" show "$ID" >"$WORK/show.txt" || fail "uffdtierctl show $ID failed"
grep -qx "Pid=$pid" "$WORK/show.txt" || fail "show lacks Pid=$pid: $(cat "$WORK/show.txt")"
grep -qx "EvictedBytes=$q" "$WORK/show.txt" || fail "show lacks EvictedBytes=$q"
for l in ColdAgeUSec=3600000000 RefaultRatePPM=0 PolicyRefaultTargetPermyriad=0; do
        grep -qx "$l" "$WORK/show.txt" || fail "show lacks $l: $(cat "$WORK/show.txt")"
done
expect_eq "show PID" "$("$CTL" show "$pid" | grep '^Id=')" "Id=$ID"
expect_eq "show --json" "$("$CTL" show --json "$ID" | jq -c '[.Id, .Pid, .EvictedBytes]')" "[$ID,$pid,$q]"
"$CTL" histogram "$ID" >"$WORK/hist.txt" || fail "uffdtierctl histogram failed"
[ "$(grep -c '|' "$WORK/hist.txt")" = 8 ] || fail "histogram has not 8 bars: $(cat "$WORK/hist.txt")"
grep -q '|#' "$WORK/hist.txt" || fail "histogram draws no bar: $(cat "$WORK/hist.txt")"
expect_eq "histogram --json" "$("$CTL" histogram --json "$ID" | jq -c '[.Buckets[].Bytes]')" "$(cprop "$ID" AgeHistogramBytes)"
"$CTL" metrics >"$WORK/metrics.txt" || fail "uffdtierctl metrics failed"
bad=$(grep -v '^# \(HELP\|TYPE\) ' "$WORK/metrics.txt" | grep -Ev '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [0-9.e+-]+$')
[ -z "$bad" ] || fail "metrics lines not in the exposition format: $bad"
for m in $(grep -v '^#' "$WORK/metrics.txt" | sed 's/[{ ].*//' | sort -u); do
        [ "$(grep -c "^# TYPE $m " "$WORK/metrics.txt")" = 1 ] || fail "metric $m has not exactly one TYPE line"
done
labels="name=\"bus-test\",cgroup=\"$cg\",policy=\"default\""
expect_eq "metrics client resident" "$(grep -F "uffdtier_client_resident_bytes{$labels}" "$WORK/metrics.txt" | awk '{print $2}')" \
        "$(cprop "$ID" ResidentBytes)"
expect_eq "metrics client evicted" "$(grep -F "uffdtier_client_evicted_bytes_total{$labels}" "$WORK/metrics.txt" | awk '{print $2}')" "$q"
expect_eq "metrics evicted total" "$(awk '$1 == "uffdtier_evicted_bytes_total" {print $2}' "$WORK/metrics.txt")" "$(mprop EvictedBytes)"
"$CTL" dump | jq -e --argjson id "$ID" '.clients | map(.id) | index($id) != null' >/dev/null || fail "uffdtierctl dump"

# -- reading is open to everyone, acting is not
expect_eq "Version as nobody" "$("${NOBODY[@]}" busctl --address="$A" --json=short get-property "${MGR[@]}" Version | jq -r .data)" "$(mprop Version)"
"${NOBODY[@]}" busctl --address="$A" call "${MGR[@]}" ListClients >"$WORK/list-nobody.txt" || fail "ListClients refused to nobody"
# a client's name, pid and cgroup are its uid's and root's (test-visibility.sh has the rest)
grep -q bus-test "$WORK/list-nobody.txt" && fail "ListClients names root's client to nobody: $(cat "$WORK/list-nobody.txt")"
"${NOBODY[@]}" busctl --address="$A" call "${MGR[@]}" Dump >/dev/null || fail "Dump refused to nobody"
expect_eq "EvictedBytes as nobody" "$("${NOBODY[@]}" busctl --address="$A" --json=short get-property org.uffdtier1 "$CPATH" org.uffdtier1.Client EvictedBytes | jq -r .data)" "$q"
expect_eq "Pid as nobody" "$("${NOBODY[@]}" busctl --address="$A" --json=short get-property org.uffdtier1 "$CPATH" org.uffdtier1.Client Pid | jq -r .data)" 0
"${NOBODY[@]}" "$NOBODY_CTL" status >/dev/null || fail "uffdtierctl status failed as nobody"
expect_eq "SetPaused as nobody" "$(nobody_err_name /org/uffdtier1 org.uffdtier1.Manager.SetPaused boolean:true)" org.uffdtier1.Error.AccessDenied
expect_eq "Reload as nobody" "$(nobody_err_name /org/uffdtier1 org.uffdtier1.Manager.Reload)" org.uffdtier1.Error.AccessDenied
expect_eq "EvictNow as nobody" "$(nobody_err_name /org/uffdtier1 org.uffdtier1.Manager.EvictNow uint64:"$ID" uint64:0)" org.uffdtier1.Error.AccessDenied
expect_eq "Paused after the refusal" "$(mprop Paused)" false
expect_eq "EvictedBytes after the refusal" "$(cprop "$ID" EvictedBytes)" "$q"
"${NOBODY[@]}" "$NOBODY_CTL" pause >"$WORK/ctl.out" 2>&1
expect_eq "uffdtierctl pause as nobody: exit" "$?" 4
grep -q "root" "$WORK/ctl.out" || fail "the refusal does not say it needs root: $(cat "$WORK/ctl.out")"

# -- bad arguments
expect_eq "EvictNow(999)" "$(err_name /org/uffdtier1 org.uffdtier1.Manager.EvictNow uint64:999 uint64:0)" org.uffdtier1.Error.NoSuchClient
expect_eq "EvictNow(0)" "$(err_name /org/uffdtier1 org.uffdtier1.Manager.EvictNow uint64:0 uint64:0)" org.uffdtier1.Error.InvalidArgument
expect_eq "EvictNow(bytes not page-aligned)" "$(err_name /org/uffdtier1 org.uffdtier1.Manager.EvictNow uint64:"$ID" uint64:$((PAGE + 1)))" org.uffdtier1.Error.InvalidArgument
expect_eq "EvictNow with a wrong signature" "$(err_name /org/uffdtier1 org.uffdtier1.Manager.EvictNow string:x)" org.freedesktop.DBus.Error.InvalidArgs
expect_eq "Get on client 999" "$(err_name /org/uffdtier1/client/999 org.freedesktop.DBus.Properties.Get string:org.uffdtier1.Client string:Pid)" org.uffdtier1.Error.NoSuchClient
expect_eq "Get on a malformed client path" "$(err_name /org/uffdtier1/client/007 org.freedesktop.DBus.Properties.Get string:org.uffdtier1.Client string:Pid)" org.freedesktop.DBus.Error.UnknownObject
r=$(err_name /org/uffdtier1 org.uffdtier1.Manager.Reload)
case $r in "" | org.uffdtier1.Error.NotSupported) ;; *) fail "Reload as root: $r" ;; esac
"$CTL" show 999 >/dev/null 2>&1
expect_eq "uffdtierctl show 999: exit" "$?" 5
"$CTL" evict "$ID" $((PAGE + 1)) >/dev/null 2>&1
expect_eq "uffdtierctl evict with a bad size: exit" "$?" 2
"$CTL" frobnicate >/dev/null 2>&1
expect_eq "uffdtierctl frobnicate: exit" "$?" 2
"$CTL" show >/dev/null 2>&1
expect_eq "uffdtierctl show without an id: exit" "$?" 2
"$CTL" --bus-address="unix:path=$WORK/no-such-bus" status >/dev/null 2>&1
expect_eq "uffdtierctl on a bus that is not there: exit" "$?" 3

# -- EvictNow without a cap: the rest of what is cold, the hot quarter stays
client_cmd main touch-hot || fail "touch-hot: $REPLY_TEXT"
"$CTL" --json evict "$ID" >"$WORK/evict.json" || fail "uffdtierctl evict $ID failed"
q2=$(jq -r .QueuedBytes "$WORK/evict.json")
[ "$q2" -ge $(((cold - q) * 95 / 100)) ] && [ "$q2" -le $((cold - q)) ] || fail "evict queued $q2, expected ~$((cold - q))"
wait_for 30 evicted_is $((q + q2)) || fail "EvictedBytes is $(cprop "$ID" EvictedBytes), expected $((q + q2))"
client_cmd main "residency 0 $hot" || fail "residency: $REPLY_TEXT"
hot_res=$(sed -n 's/^OK resident \([0-9]*\).*/\1/p' <<<"$REPLY_TEXT")
[ "$hot_res" -ge $((hot * 99 / 100)) ] || fail "EvictNow(0) took hot pages: $hot_res of $hot resident"
client_cmd main verify || fail "data corrupted: $REPLY_TEXT"

# -- paged out vs freed: the second cycle's scan found the first one's $q bytes in swap
out=$(cprop "$ID" PagedOutBytes)
[ "$out" -ge $((q * 95 / 100)) ] && [ "$out" -le "$q" ] || fail "PagedOutBytes $out, expected ~$q (what the first cycle paged out)"
freed=$(cprop "$ID" FreedBytes)
[ "$freed" -le "$out" ] || fail "FreedBytes $freed is more than PagedOutBytes $out"
src=$(cprop "$ID" MemorySource)
case $src in cgroup-v1 | cgroup-v2 | system) ;; *) fail "MemorySource after a cycle: '$src'" ;; esac
case $(cprop "$ID" PsiSource) in cgroup | system | none) ;; *) fail "PsiSource: '$(cprop "$ID" PsiSource)'" ;; esac
[ "$src" = system ] || [ "$(cprop "$ID" MemoryCGroupUsageBytes)" -gt 0 ] || fail "MemoryCGroupUsageBytes is 0 with source $src"
expect_eq "Manager PagedOutBytes" "$(mprop PagedOutBytes)" "$out"
expect_eq "Manager FreedBytes" "$(mprop FreedBytes)" "$freed"
expect_eq "Manager SwappedBytes" "$(mprop SwappedBytes)" "$(cprop "$ID" SwappedBytes)"
frees=false
{ [ "$(cat /sys/module/zswap/parameters/enabled 2>/dev/null)" = Y ] || grep -q '^/dev/zram' /proc/swaps; } && frees=true
expect_eq PageOutFreesMemory "$(mprop PageOutFreesMemory)" "$frees"
mprop SwapSetup | grep -q "swap:" || fail "SwapSetup names no swap device: $(mprop SwapSetup)"
if [ $frees = false ]; then
        [ -n "$(mprop SwapRemedy)" ] || fail "SwapRemedy is empty where a page-out does not free memory"
fi
"$CTL" status >"$WORK/status2.txt" || fail "uffdtierctl status failed"
grep -q "Freed: $(hsize "$freed") of $(hsize "$out") paged out" "$WORK/status2.txt" ||
        fail "status does not show freed $(hsize "$freed") of $(hsize "$out"): $(cat "$WORK/status2.txt")"
grep -q "Swap: " "$WORK/status2.txt" || fail "status lacks the swap set-up"
shared=$(cprop "$ID" MemoryShared)
case $shared in true) shared_text=" (shared with other processes)" ;; false) shared_text= ;; *) fail "MemoryShared: '$shared'" ;; esac
# the client runs in the test's own cgroup, beside this shell: its figures are not its own alone
[ "$src" != system ] || [ "$shared" = true ] || fail "MemoryShared is false with the system's figures"
grep -qF "memory from $src$shared_text, pressure from $(cprop "$ID" PsiSource)" "$WORK/status2.txt" ||
        fail "status does not say where memory and pressure are read from: $(cat "$WORK/status2.txt")"
"$CTL" metrics >"$WORK/metrics2.txt" || fail "uffdtierctl metrics failed"
expect_eq "metrics freed" "$(awk '$1 == "uffdtier_freed_bytes" {print $2}' "$WORK/metrics2.txt")" "$freed"
expect_eq "metrics client paged out" "$(grep -F "uffdtier_client_paged_out_bytes{$labels}" "$WORK/metrics2.txt" | awk '{print $2}')" "$out"
bc --json=short call "${MGR[@]}" Dump | jq -r '.data[0]' >"$WORK/dump2.json" || fail "Dump failed"
jq -e --argjson id "$ID" --argjson out "$out" --argjson frees "$frees" '
        .swap.pageout_frees_at_once == $frees and (.swap.devices | length) >= 1 and .totals.paged_out_bytes == $out and
        (.clients[] | select(.id == $id) | .paged_out_bytes == $out and (.memory_source | length) > 0 and (.memory_shared | type) == "boolean")' \
        "$WORK/dump2.json" >/dev/null || fail "Dump's swap and freed figures: $(jq -c '{swap, totals}' "$WORK/dump2.json")"

# -- a client that goes away while its object is read
client_start victim --size 8M --name victim
vpid=${CPID[victim]}
wait_for 10 nclients_is 2 || fail "NClients did not become 2"
VID=$(client_id_of_pid "$vpid")
[ -n "$VID" ] || fail "no id for the second client"
(
        i=0
        while [ -d "$WORK" ] && [ ! -e "$WORK/stop-readers" ] && [ $i -lt 2000 ]; do
                busctl --address="$A" get-property org.uffdtier1 "/org/uffdtier1/client/$VID" org.uffdtier1.Client Pid TrackedBytes AgeHistogramBytes 2>&1
                busctl --address="$A" introspect org.uffdtier1 "/org/uffdtier1/client/$VID" >/dev/null 2>&1
                i=$((i + 1))
        done
) >"$WORK/readers.out" &
READERS=$!
cleanup_push "touch '$WORK/stop-readers'; wait $READERS 2>/dev/null; true"
( i=0; while [ -d "$WORK" ] && [ ! -e "$WORK/stop-readers" ] && [ $((i += 1)) -lt 500 ]; do "$CTL" status >/dev/null 2>>"$WORK/ctl-race.err" || echo "status exit $?" >>"$WORK/ctl-race.err"; done ) &
CTLS=$!
wait_for 10 grep -q "^u $vpid" "$WORK/readers.out" || fail "the readers do not read the victim"
kill -9 "$vpid"
vgone() { [ "$(err_name "/org/uffdtier1/client/$VID" org.freedesktop.DBus.Properties.Get string:org.uffdtier1.Client string:Pid)" = org.uffdtier1.Error.NoSuchClient ]; }
wait_for 10 vgone || fail "reading the gone client's object does not give NoSuchClient"
wait_for 10 grep -q "No client with id $VID" "$WORK/readers.out" || fail "the readers never saw NoSuchClient"
touch "$WORK/stop-readers"
wait "$READERS" "$CTLS"
odd=$(grep -v -e "^u $vpid\$" -e "^t 8388608\$" -e "^at 8 " -e "No client with id $VID" "$WORK/readers.out" | head -5)
[ -z "$odd" ] || fail "a read of the vanishing client gave something else: $odd"
[ ! -s "$WORK/ctl-race.err" ] || fail "uffdtierctl status failed while a client went away: $(head -5 "$WORK/ctl-race.err")"
kill -0 "$DAEMON_PID" || fail "the daemon died"
wait_for 10 eval 'signals "$SENDER" ClientRemoved | grep -q "\[$VID,\"/org/uffdtier1/client/$VID\"\]"' ||
        fail "no ClientRemoved($VID) signal"
"$CTL" show "$VID" >/dev/null 2>&1
expect_eq "uffdtierctl show of the gone client: exit" "$?" 5
wait "${CPID[victim]}" 2>/dev/null

client_stop main
stop_daemon() { # SIGTERM; it must exit 0 without a sanitizer report (leaks included)
        kill "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null
        local rc=$?
        grep -q 'Sanitizer\|runtime error' "$DAEMON_LOG" && fail "sanitizer report in the daemon log: $(grep -m3 'Sanitizer\|runtime error' "$DAEMON_LOG")"
        [ $rc -eq 0 ] || fail "the daemon exited with $rc on SIGTERM"
}
stop_daemon
"$CTL" status >"$WORK/ctl.out" 2>&1
expect_eq "uffdtierctl status without the daemon: exit" "$?" 3
grep -q "not running" "$WORK/ctl.out" || fail "uffdtierctl does not say the daemon is not running: $(cat "$WORK/ctl.out")"

echo "== phase B: pause, resume and the coalesced signals"
INTERVAL_MS=300
start_bus_daemon --interval=${INTERVAL_MS}ms --cold-age=600ms --rate=0 --psi-limit=100%
"$CTL" pause >/dev/null || fail "uffdtierctl pause failed"
expect_eq Paused "$(mprop Paused)" true
wait_for 10 eval 'signals "$SENDER" PropertiesChanged | grep -q "\"Paused\":{\"type\":\"b\",\"data\":true}"' ||
        fail "no PropertiesChanged(Paused=true)"

client_start paused --size 32M --hot-fraction 0.25 --name paused
pid=${CPID[paused]}
len=${CLEN[paused]}
cold=$((len - len / 4))
wait_for 10 nclients_is 1 || fail "NClients did not become 1"
ID=$(client_id_of_pid "$pid")
CPATH=/org/uffdtier1/client/$ID
cold_for_a_while() { [ "$(cprop "$ID" Cycles)" -ge 5 ] && [ "$(cprop "$ID" ColdBytes)" -gt 0 ]; }
wait_for 30 cold_for_a_while || fail "no cold pages while paused (Cycles $(cprop "$ID" Cycles), ColdBytes $(cprop "$ID" ColdBytes))"
expect_eq "EvictedBytes while paused" "$(cprop "$ID" EvictedBytes)" 0
expect_eq "EvictNow while paused" "$(err_name /org/uffdtier1 org.uffdtier1.Manager.EvictNow uint64:"$ID" uint64:0)" org.uffdtier1.Error.Busy
"$CTL" status | grep -q "paused" || fail "uffdtierctl status does not say paused"

"$CTL" resume >/dev/null || fail "uffdtierctl resume failed"
expect_eq Paused "$(mprop Paused)" false
deadline=$((SECONDS + T))
while :; do
        client_cmd paused touch-hot || fail "touch-hot: $REPLY_TEXT"
        ev=$(cprop "$ID" EvictedBytes)
        [ "$ev" -ge $((cold * 90 / 100)) ] && break
        [ $SECONDS -lt $deadline ] || fail "only $ev of $cold cold bytes evicted after resume"
        sleep 0.2
done
# every evicted byte is told, in Evicted signals
evicted_told() { signals "$SENDER" Evicted | jq -s --argjson id "$ID" 'map(select(.payload.data[0] == $id) | .payload.data[1]) | add // 0'; }
told_all() { [ "$(evicted_told)" = "$(cprop "$ID" EvictedBytes)" ]; }
wait_for 10 told_all || fail "Evicted signals tell $(evicted_told) bytes, EvictedBytes is $(cprop "$ID" EvictedBytes)"
client_stop paused
wait_for 10 eval 'signals "$SENDER" ClientRemoved | grep -q "\[$ID,"' || fail "no ClientRemoved($ID)"
expect_eq "Evicted total after the client left" "$(evicted_told)" "$(mprop EvictedBytes)"

# the rate: PropertiesChanged of each object and Evicted at most once per interval (the timer's
# slack is 10 ms; an act like SetPaused is announced at once and is not counted)
min_gap_ms() { # JQ-FILTER MEMBER: the smallest gap between two such signals, in ms (or "none")
        signals "$SENDER" "$2" | jq -r -s "map(select($1)) | map(.[\"timestamp-realtime\"]) | $3 |
                if length < 2 then \"none\" else [range(1; length) as \$i | (.[\$i] - .[\$i - 1])] | min / 1000 | floor end"
}
n_pc=$(signals "$SENDER" PropertiesChanged | jq -s --arg p "$CPATH" 'map(select(.path == $p)) | length')
[ "$n_pc" -ge 2 ] || fail "only $n_pc PropertiesChanged for $CPATH"
for what in "PropertiesChanged:.path == \"/org/uffdtier1\" and (.payload.data[1] | has(\"Paused\") | not)" \
        "PropertiesChanged:.path == \"$CPATH\"" "Evicted:.payload.data[0] == $ID"; do
        # the last Evicted comes with ClientRemoved, not with a tick
        cut=.
        [ "${what%%:*}" = Evicted ] && cut='.[:-1]'
        gap=$(min_gap_ms "${what#*:}" "${what%%:*}" "$cut")
        echo "${what%%:*} ${what#*:}: smallest gap $gap ms"
        [ "$gap" = none ] || [ "$gap" -ge $((INTERVAL_MS * 8 / 10)) ] ||
                fail "${what%%:*} ($what) came $gap ms apart, the interval is $INTERVAL_MS ms"
done

kill -0 "$DAEMON_PID" || fail "the daemon died"
stop_daemon
echo "PASS"
