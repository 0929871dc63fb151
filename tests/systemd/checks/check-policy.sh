#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# In the container: per-cgroup policy files under the installed unit. A workload started with
# `systemd-run --slice=watch.slice` is matched by /etc/uffdtierd/policy.d/watch.conf (monitor
# only) and is not evicted; one in another slice gets the default policy and is. After the file
# changes, `systemctl reload uffdtierd` puts the new policy in force for the running client.
set -uo pipefail
. "$(dirname "$0")/common.sh"

cat >/etc/uffdtierd/uffdtierd.conf <<'EOF'
[Policy]
ScanInterval=1s
ColdAge=3s
EOF
cat >/etc/uffdtierd/policy.d/watch.conf <<'EOF'
[Policy]
Match=/watch.slice
Mode=monitor
EOF
systemctl enable --now uffdtierd.service 2>/dev/null || fail "systemctl enable --now uffdtierd failed"

cprop() { # ID PROPERTY: a client's property by its workload's pid
        local cid
        cid=$(busctl --json=short call org.uffdtier1 /org/uffdtier1 org.uffdtier1.Manager ListClients |
                jq --argjson pid "${WPID[$1]}" '.data[0][] | select(.[1] == $pid) | .[0]')
        [ -n "$cid" ] || return 1
        busctl --json=short get-property org.uffdtier1 "/org/uffdtier1/client/$cid" org.uffdtier1.Client "$2" | jq -r .data
}

step "a workload in watch.slice gets watch.conf's policy, one in batch.slice the default"
workload_start wm watch.slice --size 16M --name watched
workload_start wd batch.slice --size 16M --name batch
[ "$(cprop wm Policy)" = watch ] || fail "the client in watch.slice has policy '$(cprop wm Policy)', not watch"
[ "$(cprop wd Policy)" = default ] || fail "the client in batch.slice has policy '$(cprop wd Policy)', not default"
[ "$(cprop wm CGroup)" = /watch.slice/wm.service ] || fail "wm's cgroup is $(cprop wm CGroup)"
journal_has uffdtierd info "policy watch (cgroup /watch.slice/wm.service)" ||
        fail "the journal does not say which policy the client in watch.slice got"
wait_for 60 counter_ge wd evicted_bytes "${CLEN[wd]}" || fail "the default policy did not evict batch.slice's cold memory"
# by now the watched one is as cold, for as long: all cold, nothing evicted
wait_for 30 counter_ge wm cold_bytes "${CLEN[wm]}" || fail "the watched client's memory is not seen cold"
c0=$(status_value wm cycles)
wait_for 30 counter_ge wm cycles $((c0 + 3)) || fail "the watched client does not cycle"
ev=$(status_value wm evicted_bytes)
[ "$ev" = 0 ] || fail "the monitor-only policy evicted $ev bytes"
echo "batch.slice (default): evicted $(status_value wd evicted_bytes); watch.slice (monitor): cold $(status_value wm cold_bytes), evicted 0"

step "systemctl reload after the policy changes"
cat >/etc/uffdtierd/policy.d/watch.conf <<'EOF'
[Policy]
Match=/watch.slice
Mode=evict
ColdAge=2s
EOF
systemctl reload uffdtierd || fail "systemctl reload failed"
journal_has uffdtierd info "configuration reloaded" || fail "the journal does not show the reload"
wait_for 60 counter_ge wm evicted_bytes "${CLEN[wm]}" ||
        fail "after the reload the watched client is still not evicted (evicted $(status_value wm evicted_bytes))"
echo "after reload: watch.slice evicted $(status_value wm evicted_bytes)"
for id in wm wd; do client_cmd "$id" verify || fail "$id's memory is not intact: $REPLY_TEXT"; done
pass
