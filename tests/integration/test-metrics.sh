#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Metrics where a fleet reads them: `uffdtierctl metrics --output=FILE` writes node_exporter's
# textfile, Debian's prometheus-node-exporter (started here on 127.0.0.1, its textfile collector
# pointed at a temp directory, the other collectors off) serves it, curl scrapes it, and the
# uffdtier_* series must be there with the values `uffdtierctl status --json` shows; `promtool
# check metrics` accepts the file; clients that share a name, cgroup and policy are one series (no
# id or pid labels); a reader never sees a half-written file; a bad --output and a stopped daemon
# give a clear error and leave the file alone.
#
# The daemon runs with a one-hour interval, so no cycle runs but the one `uffdtierctl evict` starts
# and the numbers stay put while they are compared.
# Usage: test-metrics.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
for tool in jq curl python3; do
        command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done
NODE_EXPORTER=$(command -v prometheus-node-exporter || command -v node_exporter) ||
        skip "prometheus-node-exporter is not installed (scripts/install-deps.sh installs it)"
command -v promtool >/dev/null 2>&1 ||
        skip "promtool is not installed (Debian's prometheus package; scripts/install-deps.sh installs it)"
CTL=$BUILD/client/uffdtierctl
[ -x "$CTL" ] || fail "uffdtierctl not built at $CTL"

CG=$(sed -n 's/^0:://p' /proc/self/cgroup)
[ -n "$CG" ] || skip "no cgroup2 line in /proc/self/cgroup"
case $CG in *" (deleted)") skip "our cgroup was removed" ;; esac

swap_ensure 64
start_private_dbus
export UFFDTIER_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS

# A policy for our cgroup, so the policy label is not just "default".
CONF=$WORK/etc
mkdir -p "$CONF/policy.d"
: >"$CONF/uffdtierd.conf"
printf '[Policy]\nName=fleet\nMatch=%s\n' "$CG" >"$CONF/policy.d/50-fleet.conf"
start_daemon --config="$CONF/uffdtierd.conf" --bus-address="$DBUS_SYSTEM_BUS_ADDRESS" \
        --interval=1h --cold-age=1h --rate=0 --psi-limit=100%
nclients_is() { [ "$("$CTL" status --json 2>/dev/null | jq .Manager.NClients)" = "$1" ]; }
wait_for 30 nclients_is 0 || fail "uffdtierctl does not reach the daemon"

# Two clients under one name (one series), one under another.
client_start a1 --size 8M --name fleet-a
client_start a2 --size 4M --name fleet-a
client_start b --size 6M --name 'fleet "b"'
wait_for 10 nclients_is 3 || fail "NClients did not become 3"
id_of_pid() { "$CTL" status --json | jq -r --argjson pid "$1" '.Clients[] | select(.Pid == $pid) | .Id'; }
ID_B=$(id_of_pid "${CPID[b]}")
[ -n "$ID_B" ] || fail "no client for pid ${CPID[b]}"
# the first cycle evicts what is cold: give the counters something to show
"$CTL" evict "$ID_B" >"$WORK/evict.out" || fail "uffdtierctl evict failed: $(cat "$WORK/evict.out")"
evicted() { [ "$("$CTL" status --json | jq --argjson id "$ID_B" '.Clients[] | select(.Id == $id) | .EvictedBytes')" -gt 0 ]; }
wait_for 30 evicted || fail "nothing was evicted from client $ID_B"

# -- the textfile, written atomically
TEXTDIR=$WORK/textfile
mkdir "$TEXTDIR"
PROM=$TEXTDIR/uffdtier.prom
"$CTL" status --json >"$WORK/status.json" || fail "uffdtierctl status --json failed"
"$CTL" metrics --output="$PROM" || fail "uffdtierctl metrics --output failed"
"$CTL" status --json >"$WORK/status2.json" || fail "uffdtierctl status --json failed"
cmp -s <(jq -S 'del(.Clients[].LastCycleUSec)' "$WORK/status.json") <(jq -S 'del(.Clients[].LastCycleUSec)' "$WORK/status2.json") ||
        fail "the numbers moved while the metrics were written: $(diff "$WORK/status.json" "$WORK/status2.json")"
[ "$(stat -c %a "$PROM")" = 644 ] || fail "$PROM has mode $(stat -c %a "$PROM"), expected 644 (the scraper's user reads it)"
[ "$(find "$TEXTDIR" -mindepth 1 | wc -l)" = 1 ] || fail "files left beside the output: $(ls -a "$TEXTDIR")"
promtool check metrics <"$PROM" >"$WORK/promtool.out" 2>&1 || fail "promtool check metrics: $(cat "$WORK/promtool.out")"
echo "promtool check metrics: ok ($(grep -c '^uffdtier_' "$PROM") samples)"
for m in $(grep -v '^#' "$PROM" | sed 's/[{ ].*//' | sort -u); do
        [ "$(grep -c "^# HELP $m " "$PROM")" = 1 ] || fail "metric $m has not exactly one HELP line"
        [ "$(grep -c "^# TYPE $m " "$PROM")" = 1 ] || fail "metric $m has not exactly one TYPE line"
done
grep -E '[{,](id|pid)=' "$PROM" && fail "a series is labelled by id or pid"
[ "$(grep -c '^uffdtier_client_tracked_bytes{' "$PROM")" = 2 ] ||
        fail "expected 2 label sets (fleet-a twice, fleet \"b\"): $(grep '^uffdtier_client_tracked_bytes' "$PROM")"

# -- node_exporter on a free port of 127.0.0.1, only its textfile collector
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
scrape() { curl -sf --max-time 10 "http://127.0.0.1:$PORT/metrics"; }
NE_PID=
for try in 1 2 3; do
        PORT=$(free_port) || fail "no free port"
        "$NODE_EXPORTER" --web.listen-address="127.0.0.1:$PORT" --collector.disable-defaults \
                --collector.textfile --collector.textfile.directory="$TEXTDIR" \
                --web.disable-exporter-metrics >"$WORK/node-exporter.log" 2>&1 &
        NE_PID=$!
        cleanup_push "kill $NE_PID 2>/dev/null; wait $NE_PID 2>/dev/null; true"
        ne_up() { kill -0 "$NE_PID" 2>/dev/null && scrape >/dev/null; }
        wait_for 30 ne_up && break
        kill -0 "$NE_PID" 2>/dev/null && fail "node_exporter runs but does not answer: $(cat "$WORK/node-exporter.log")"
        # the port was taken between the probe and the bind: another one
        grep -q "address already in use" "$WORK/node-exporter.log" || fail "node_exporter did not start: $(cat "$WORK/node-exporter.log")"
done
ne_up || fail "node_exporter did not start on three free ports: $(cat "$WORK/node-exporter.log")"
echo "node_exporter $("$NODE_EXPORTER" --version 2>&1 | head -1 | awk '{print $3}') on 127.0.0.1:$PORT"
scrape >"$WORK/scrape.txt" || fail "the scrape failed"
grep -qx 'node_textfile_scrape_error 0' "$WORK/scrape.txt" ||
        fail "node_exporter could not read the file: $(grep textfile "$WORK/scrape.txt"; cat "$WORK/node-exporter.log")"

# The scraped value of NAME{LABELS} (labels as node_exporter prints them: sorted by name; the key
# through the environment, as awk -v would undo its backslashes).
scraped() {
        K=$1 awk 'index($0, ENVIRON["K"] " ") == 1 { print $NF; n++ } END { exit n != 1 }' "$WORK/scrape.txt" ||
                fail "the scrape has no single sample $1: $(grep "^${1%%\{*}" "$WORK/scrape.txt" | head -5)"
}
num_eq() { awk -v a="$2" -v b="$3" 'BEGIN { exit !(a + 0 == b + 0) }' || fail "$1: scraped $2, uffdtierctl status --json says $3"; }
checked=0
check() { num_eq "$1" "$(scraped "$1")" "$2"; checked=$((checked + 1)); }

# totals: the Manager's properties
for pair in clients:NClients tracked_bytes:TrackedBytes resident_bytes:ResidentBytes \
        swapped_bytes:SwappedBytes paged_out_bytes:PagedOutBytes freed_bytes:FreedBytes \
        hot_bytes:HotBytes cold_bytes:ColdBytes evicted_bytes_total:EvictedBytes \
        refaulted_bytes_total:RefaultedBytes faults_served_total:FaultsServed; do
        check "uffdtier_${pair%%:*}" "$(jq ".Manager.${pair#*:}" "$WORK/status.json")"
done
check uffdtier_paused "$(jq '.Manager.Paused | if . then 1 else 0 end' "$WORK/status.json")"
check uffdtier_scan_interval_seconds 3600
version=$(jq -r .Manager.Version "$WORK/status.json")
check "uffdtier_info{backend=\"$BACKEND\",version=\"$version\"}" 1
[ "$(jq .Manager.EvictedBytes "$WORK/status.json")" -gt 0 ] || fail "EvictedBytes is 0"

# per label set: the sum over the clients that share it
for name in fleet-a 'fleet "b"'; do
        esc=${name//\"/\\\"}
        labels="cgroup=\"$CG\",name=\"$esc\",policy=\"fleet\""
        sum() { jq --arg n "$name" "[.Clients[] | select(.Name == \$n) | $1] | add" "$WORK/status.json"; }
        check "uffdtier_client_group_clients{$labels}" "$(sum 1)"
        for pair in tracked_bytes:TrackedBytes resident_bytes:ResidentBytes swapped_bytes:SwappedBytes \
                paged_out_bytes:PagedOutBytes freed_bytes:FreedBytes hot_bytes:HotBytes \
                cold_bytes:ColdBytes evicted_bytes_total:EvictedBytes \
                refaulted_bytes_total:RefaultedBytes faults_served_total:FaultsServed \
                cycles_total:Cycles; do
                check "uffdtier_client_${pair%%:*}{$labels}" "$(sum ".${pair#*:}")"
        done
        check "uffdtier_client_memory_cgroup_usage_bytes{$labels}" \
                "$(jq --arg n "$name" '[.Clients[] | select(.Name == $n) | .MemoryCGroupUsageBytes] | max' "$WORK/status.json")"
        check "uffdtier_client_working_set_bytes{$labels,window_cycles=\"1\"}" "$(sum '.WorkingSetBytes[0]')"
        check "uffdtier_client_age_bytes{age=\"0\",$labels}" "$(sum '.AgeHistogramBytes[0]')"
        check "uffdtier_client_age_bytes{age=\"64-127\",$labels}" "$(sum '.AgeHistogramBytes[7]')"
done
[ "$(jq '[.Clients[] | select(.Name == "fleet-a")] | length' "$WORK/status.json")" = 2 ] || fail "fleet-a is not two clients"
echo "$checked scraped values match uffdtierctl status --json"

# -- atomic replacement: a reader during a stream of rewrites sees whole files only
(for _ in $(seq 60); do "$CTL" metrics --output="$PROM" || exit 1; done) &
WRITER=$!
cleanup_push "kill $WRITER 2>/dev/null; wait $WRITER 2>/dev/null; true"
scrapes=0
while kill -0 "$WRITER" 2>/dev/null; do
        scrape >"$WORK/scrape-loop.txt" || fail "a scrape failed during the rewrites"
        grep -qx 'node_textfile_scrape_error 0' "$WORK/scrape-loop.txt" ||
                fail "node_exporter read a broken file during the rewrites: $(grep textfile "$WORK/scrape-loop.txt")"
        grep -q '^uffdtier_clients 3$' "$WORK/scrape-loop.txt" || fail "a scrape during the rewrites lacks uffdtier_clients"
        scrapes=$((scrapes + 1))
done
wait "$WRITER" || fail "uffdtierctl metrics --output failed during the rewrites"
[ "$(find "$TEXTDIR" -mindepth 1 | wc -l)" = 1 ] || fail "files left beside the output: $(ls -a "$TEXTDIR")"
echo "60 rewrites, $scrapes scrapes meanwhile: every one whole"

# -- bad output paths and a stopped daemon: a clear error, the file left as it was
before=$(md5sum <"$PROM")
"$CTL" metrics --output="$WORK/no-such-dir/uffdtier.prom" >"$WORK/err.out" 2>&1
expect_rc=$?
[ $expect_rc = 1 ] || fail "--output into a missing directory: exit $expect_rc"
grep -q "no-such-dir" "$WORK/err.out" || fail "the error does not name the path: $(cat "$WORK/err.out")"
"$CTL" metrics --output="$TEXTDIR/" >"$WORK/err.out" 2>&1
[ $? = 2 ] || fail "--output=DIR/ is not a usage error: $(cat "$WORK/err.out")"
"$CTL" status --output="$PROM" >"$WORK/err.out" 2>&1
[ $? = 2 ] || fail "--output with status is not a usage error: $(cat "$WORK/err.out")"
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
"$CTL" metrics --output="$PROM" >"$WORK/err.out" 2>&1
[ $? = 3 ] || fail "metrics with the daemon stopped: not exit 3: $(cat "$WORK/err.out")"
[ "$(md5sum <"$PROM")" = "$before" ] || fail "a failed run changed $PROM"
[ "$(find "$TEXTDIR" -mindepth 1 | wc -l)" = 1 ] || fail "files left beside the output: $(ls -a "$TEXTDIR")"
echo "PASS"
