#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# In the container, on the real system bus with the shipped bus policy: uffdtierctl status, --json
# and metrics; an orchestrator (orchestrator.sh: busctl only) reads every client's numbers, which
# must be what each workload's own library session reports and what the kernel says of its memory;
# a non-root user reads everything, changes nothing and cannot hand over what it does not own.
set -uo pipefail
HERE=$(dirname "$0")
. "$HERE/common.sh"

# Short cycles, so the workloads' memory goes cold and is evicted within the check.
cat >/etc/uffdtierd/uffdtierd.conf <<'EOF'
[Policy]
ScanInterval=1s
ColdAge=3s
EOF
systemctl enable --now uffdtierd.service 2>/dev/null || fail "systemctl enable --now uffdtierd failed"

step "two workloads: root in tenant.slice, user tester in users.slice"
workload_start wa tenant.slice --size 32M --name wa
WL_USER=tester workload_start wb users.slice --size 16M --name wb
uid_b=$(id -u tester)
for id in wa wb; do
        wait_for 60 counter_ge "$id" cycles 5 || fail "$id: the daemon does not cycle"
done
# Everything is cold after 3 s (nothing is touched): wait until eviction is over.
for id in wa wb; do
        counter_settle "$id" evicted_bytes || fail "$id: eviction does not settle"
        echo "$id: the daemon evicted $STABLE_VALUE of ${CLEN[$id]} bytes"
        [ "$STABLE_VALUE" -gt 0 ] || fail "$id: nothing evicted"
done

step "the orchestrator's numbers are the workloads' own"
# The workload's status (its own library session over the handoff socket) and the orchestrator's
# read (the bus) agree once both are from the same cycle of that client.
MISMATCH=
same_numbers() { # ID
        local id=$1 pid=${WPID[$1]} o lib n want got
        client_cmd "$id" status >/dev/null || { MISMATCH="$id: status failed: $REPLY_TEXT"; return 1; }
        lib=$REPLY_TEXT
        o=$("$HERE/orchestrator.sh" | jq -c --argjson pid "$pid" 'select(.Pid == $pid)')
        [ -n "$o" ] || { MISMATCH="$id: the orchestrator does not see pid $pid"; return 1; }
        for n in Cycles:cycles TrackedBytes:tracked_bytes ResidentBytes:resident_bytes \
                HotBytes:hot_bytes ColdBytes:cold_bytes EvictedBytes:evicted_bytes \
                RefaultedBytes:refaulted_bytes; do
                want=$(awk -v n="${n#*:}" '$1 == "counter" && $2 == n { print $3 }' <<<"$lib")
                got=$(jq -r ".${n%%:*}" <<<"$o")
                [ "$want" = "$got" ] || { MISMATCH="$id: ${n%%:*} is $got on the bus, ${n#*:} $want in the workload's status"; return 1; }
        done
        ORCH[$id]=$o
}
declare -A ORCH
for id in wa wb; do
        wait_for 30 same_numbers "$id" || fail "$MISMATCH"
        o=${ORCH[$id]}
        echo "$id: $(jq -c '{Id, Pid, Uid, Unit, CGroup, Policy, TrackedBytes, ResidentBytes, EvictedBytes, Cycles}' <<<"$o")"
        expect() { [ "$(jq -r "$1" <<<"$o")" = "$2" ] || fail "$id: $1 is $(jq -r "$1" <<<"$o"), expected $2"; }
        expect .GetPid "${WPID[$id]}"
        expect .Name "$id"
        expect .Unit "$id.service"
        expect .TrackedBytes "${CLEN[$id]}"
        expect '.List[1]' "${WPID[$id]}"
        expect '.List[5]' "${CLEN[$id]}"
done
o=${ORCH[wa]} id=wa
expect .Uid 0
expect .CGroup /tenant.slice/wa.service
o=${ORCH[wb]} id=wb
expect .Uid "$uid_b"
expect .CGroup /users.slice/wb.service
# ... and what the kernel says: the resident part is the workload's Rss in that range
for id in wa wb; do
        kernel_agrees() {
                local rss bus
                rss=$(smaps_rss_kib "${WPID[$id]}" "${CADDR[$id]}" "${CLEN[$id]}") || return 1
                bus=$(busctl --json=short get-property org.uffdtier1 "/org/uffdtier1/client/$(jq -r .Id <<<"${ORCH[$id]}")" \
                        org.uffdtier1.Client ResidentBytes | jq .data)
                [ "$bus" = $((rss * 1024)) ] || { MISMATCH="$id: ResidentBytes $bus, the kernel's Rss $((rss * 1024))"; return 1; }
        }
        wait_for 30 kernel_agrees || fail "$MISMATCH"
done

step "uffdtierctl status, status --json, metrics"
uffdtierctl status >/tmp/status.txt || fail "uffdtierctl status failed"
sed -n '1,30p' /tmp/status.txt
for id in wa wb; do
        grep -qw "${WPID[$id]}" /tmp/status.txt || fail "uffdtierctl status does not show $id (pid ${WPID[$id]})"
done
grep -q tenant.slice /tmp/status.txt || fail "uffdtierctl status has no line for the cgroup tenant.slice/wa.service"
uffdtierctl status --json >/tmp/status.json || fail "uffdtierctl status --json failed"
[ "$(jq '.Clients | length' /tmp/status.json)" = 2 ] || fail "status --json does not list two clients"
for id in wa wb; do
        [ "$(jq --argjson p "${WPID[$id]}" '.Clients[] | select(.Pid == $p) | .TrackedBytes' /tmp/status.json)" = "${CLEN[$id]}" ] ||
                fail "status --json: $id's TrackedBytes is not ${CLEN[$id]}"
done
[ "$(jq .Manager.NClients /tmp/status.json)" = 2 ] || fail "status --json: Manager.NClients is not 2"
uffdtierctl metrics >/tmp/metrics.txt || fail "uffdtierctl metrics failed"
for id in wa wb; do
        v=$(grep "^uffdtier_client_tracked_bytes{name=\"$id\"," /tmp/metrics.txt | awk '{print $2}')
        [ "$v" = "${CLEN[$id]}" ] || fail "metrics: $id's uffdtier_client_tracked_bytes is '$v', not ${CLEN[$id]}"
done
total=$(busctl --json=short get-property org.uffdtier1 /org/uffdtier1 org.uffdtier1.Manager TrackedBytes | jq .data)
[ "$(awk '$1 == "uffdtier_tracked_bytes" {print $2}' /tmp/metrics.txt)" = "$total" ] ||
        fail "metrics: uffdtier_tracked_bytes is not the Manager's TrackedBytes ($total)"
[ "$total" = $((CLEN[wa] + CLEN[wb])) ] || fail "Manager TrackedBytes $total is not the sum of both workloads"

step "user tester reads everything and changes nothing"
as_tester() { runuser -u tester -- "$@"; }
as_tester uffdtierctl status >/dev/null || fail "uffdtierctl status refused to tester"
as_tester uffdtierctl status --json | jq -e '.Clients | length == 2' >/dev/null ||
        fail "uffdtierctl status --json as tester does not list both clients"
as_tester uffdtierctl metrics | grep -q '^uffdtier_client_tracked_bytes' || fail "uffdtierctl metrics refused to tester"
as_tester "$HERE/orchestrator.sh" | jq -s -e 'length == 2' >/dev/null || fail "the orchestrator as tester does not see both clients"
id_a=$(jq -r .Id <<<"${ORCH[wa]}")
id_b=$(jq -r .Id <<<"${ORCH[wb]}")
evicted_a=$(busctl --json=short get-property org.uffdtier1 "/org/uffdtier1/client/$id_a" org.uffdtier1.Client EvictedBytes | jq .data)
MGR=(org.uffdtier1 /org/uffdtier1 org.uffdtier1.Manager)
refused() { # DESCRIPTION CMD...: must fail with an access error
        local what=$1 out rc
        shift
        out=$(as_tester "$@" 2>&1)
        rc=$?
        [ $rc -ne 0 ] || fail "$what succeeded for tester"
        grep -qi 'denied\|not allowed\|permission\|root' <<<"$out" || fail "$what as tester failed, but not as refused: $out"
        echo "refused to tester: $what ($(head -n 1 <<<"$out"))"
}
refused "busctl call Reload" busctl call "${MGR[@]}" Reload
refused "busctl call SetPaused" busctl call "${MGR[@]}" SetPaused b true
refused "busctl call EvictNow of root's client" busctl call "${MGR[@]}" EvictNow tt "$id_a" 0
refused "busctl call EvictNow of its own client" busctl call "${MGR[@]}" EvictNow tt "$id_b" 0
refused "busctl set-property" busctl set-property org.uffdtier1 /org/uffdtier1 org.uffdtier1.Manager Paused b true
for verb in reload pause resume "evict $id_a"; do
        # shellcheck disable=SC2086
        out=$(as_tester uffdtierctl $verb 2>&1)
        rc=$?
        [ $rc = 4 ] || fail "uffdtierctl $verb as tester exited $rc (not 4, permission denied): $out"
done
echo "refused to tester: uffdtierctl reload, pause, resume, evict (exit 4)"
[ "$(busctl --json=short get-property "${MGR[@]}" Paused | jq .data)" = false ] || fail "tester paused the daemon"
[ "$(busctl --json=short get-property org.uffdtier1 "/org/uffdtier1/client/$id_a" org.uffdtier1.Client EvictedBytes | jq .data)" = "$evicted_a" ] ||
        fail "root's client's EvictedBytes changed after tester's calls"
# ... while root may
uffdtierctl pause || fail "uffdtierctl pause as root failed"
[ "$(busctl --json=short get-property "${MGR[@]}" Paused | jq .data)" = true ] || fail "root's pause did not pause"
uffdtierctl resume || fail "uffdtierctl resume as root failed"

step "user tester cannot hand over memory it does not own"
WL_USER=tester workload_start wt users.slice --size 4M --name tester-raw
for cmd in raw-hello-foreign-pidfd raw-hello-foreign-uffd "raw-track ${CADDR[wa]} 65536"; do
        client_cmd wt "$cmd" && fail "tester's $cmd was accepted: $REPLY_TEXT"
        grep -q '^ERR' <<<"$REPLY_TEXT" || fail "tester's $cmd: no answer ($REPLY_TEXT)"
        echo "refused: $cmd: $(grep '^ERR' <<<"$REPLY_TEXT")"
done
client_cmd wa verify || fail "wa's memory is not intact: $REPLY_TEXT"
client_cmd wb verify || fail "wb's memory is not intact: $REPLY_TEXT"

step "uffdtier-metrics.timer writes node_exporter's textfile"
PROM=/var/lib/prometheus/node-exporter/uffdtier.prom
systemctl start uffdtier-metrics.service
[ "$(systemctl show -P ConditionResult uffdtier-metrics.service)" = no ] ||
        fail "uffdtier-metrics.service ran without node_exporter's directory"
[ -e "$PROM" ] && fail "$PROM written without node_exporter's directory"
mkdir -p "${PROM%/*}"
systemctl enable --now uffdtier-metrics.timer 2>/dev/null || fail "systemctl enable --now uffdtier-metrics.timer failed"
wait_for 30 test -s "$PROM" || fail "the timer did not write $PROM: $(systemctl status --no-pager uffdtier-metrics.service 2>&1 | tail -5)"
expect_prop uffdtier-metrics.service Result success
n=$(busctl --json=short get-property "${MGR[@]}" NClients | jq .data)
grep -qx "uffdtier_clients $n" "$PROM" || fail "$PROM: $(grep '^uffdtier_clients' "$PROM"), NClients is $n"
grep -q "^uffdtier_client_tracked_bytes{name=\"wa\",cgroup=\"/tenant.slice/wa.service\",policy=\"[^\"]*\"} ${CLEN[wa]}\$" "$PROM" ||
        fail "$PROM lacks wa's series: $(grep '^uffdtier_client_tracked_bytes' "$PROM")"
[ "$(stat -c %a "$PROM")" = 644 ] || fail "$PROM has mode $(stat -c %a "$PROM")"
[ "$(ls -A "${PROM%/*}")" = uffdtier.prom ] || fail "files left beside $PROM: $(ls -A "${PROM%/*}")"
# the timer runs it again (every 15 s): the file is replaced, not rewritten in place
ino=$(stat -c %i "$PROM")
replaced() { [ "$(stat -c %i "$PROM")" != "$ino" ]; }
wait_for 40 replaced || fail "$PROM was not replaced within 40 s"
echo "$PROM replaced by the timer: $(grep -c '^uffdtier_' "$PROM") samples"
# a stopped daemon is not started for its metrics; the file keeps its age
systemctl stop uffdtierd.service uffdtierd.socket
before=$(stat -c %Y.%i "$PROM")
systemctl start uffdtier-metrics.service
[ "$(stat -c %Y.%i "$PROM")" = "$before" ] || fail "$PROM changed with the daemon stopped"
is_active uffdtierd.service && fail "uffdtier-metrics.service started the daemon"
journal_has uffdtier-metrics.service 7 "exec-condition" ||
        fail "uffdtier-metrics.service did not skip on ExecCondition: $(journalctl -u uffdtier-metrics.service --no-pager -n 5)"
systemctl disable --now uffdtier-metrics.timer 2>/dev/null
pass
