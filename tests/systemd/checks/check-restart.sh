#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# In the container: the daemon goes away under connected clients — `systemctl restart`, SIGKILL
# (systemd restarts it: Restart=on-failure) and a hung daemon killed by the watchdog. Each time the
# clients keep running with every byte of their memory intact, evicted pages included, and
# uffdtier_reconnect() (tier-client's reconnect) hands their memory to the new daemon, which tiers
# it again.
set -uo pipefail
. "$(dirname "$0")/common.sh"

cat >/etc/uffdtierd/uffdtierd.conf <<'EOF'
[Policy]
ScanInterval=1s
ColdAge=3s
EOF
# The watchdog case within seconds: the shipped 30 s, shortened by a drop-in as an administrator
# would; SIGKILL rather than SIGABRT so the host's core_pattern is not involved.
mkdir -p /etc/systemd/system/uffdtierd.service.d
cat >/etc/systemd/system/uffdtierd.service.d/50-watchdog.conf <<'EOF'
[Service]
WatchdogSec=3s
WatchdogSignal=SIGKILL
RestartSec=200ms
EOF
systemctl daemon-reload
systemctl enable --now uffdtierd.service 2>/dev/null || fail "systemctl enable --now uffdtierd failed"

workload_start w1 tenant.slice --size 32M --name survivor
counter_settle w1 evicted_bytes || fail "eviction does not settle"
echo "w1: ${STABLE_VALUE} of ${CLEN[w1]} bytes evicted before the first restart"
[ "$STABLE_VALUE" -gt 0 ] || fail "nothing was evicted"

nrestarts() { systemctl show -P NRestarts uffdtierd; }
new_main() { # OLD-PID: the service runs again under another MainPID
        local p
        is_active uffdtierd && p=$(main_pid) && [ "$p" != "$1" ]
}
survived() { # WHAT
        kill -0 "${WPID[w1]}" 2>/dev/null || fail "the client died with the daemon ($1)"
        [ "$(systemctl show -P ActiveState w1.service)" = active ] || fail "w1.service is not active after $1"
        client_cmd w1 verify || fail "the client's memory is not intact after $1: $REPLY_TEXT"
        echo "after $1: client pid ${WPID[w1]} alive, memory verified"
        # the old session is gone with the old daemon ...
        client_cmd w1 status && fail "the client's session survived $1"
        grep -q 'ECONNRESET\|EPIPE' <<<"$REPLY_TEXT" || fail "status after $1: $REPLY_TEXT (not ECONNRESET/EPIPE)"
        # ... and reconnecting hands the memory to the new one, which tiers it again
        client_cmd w1 reconnect || fail "reconnect after $1 failed: $REPLY_TEXT"
        tracked_on_bus() {
                busctl --json=short call org.uffdtier1 /org/uffdtier1 org.uffdtier1.Manager ListClients |
                        jq -e --argjson pid "${WPID[w1]}" --argjson len "${CLEN[w1]}" \
                                '.data[0] | map(select(.[1] == $pid and .[5] == $len)) | length == 1' >/dev/null
        }
        wait_for 30 tracked_on_bus || fail "after $1 and reconnect the new daemon does not list the client with ${CLEN[w1]} bytes"
        [ "$(status_value w1 tracked_bytes)" = "${CLEN[w1]}" ] || fail "after reconnect the client's status says tracked $(status_value w1 tracked_bytes)"
        # verify faulted everything back in: the new daemon's cycles evict it again
        wait_for 60 counter_ge w1 evicted_bytes $((CLEN[w1] / 2)) ||
                fail "after $1 and reconnect the new daemon does not evict (evicted $(status_value w1 evicted_bytes))"
        echo "after $1: reconnected, tracked again, $(status_value w1 evicted_bytes) bytes evicted by the new daemon"
}

step "systemctl restart uffdtierd"
old=$(main_pid)
systemctl restart uffdtierd || fail "systemctl restart failed"
wait_for 30 new_main "$old" || fail "no new daemon after systemctl restart"
survived "systemctl restart"

step "SIGKILL: systemd restarts the daemon"
old=$(main_pid) n0=$(nrestarts)
systemctl kill --signal=SIGKILL uffdtierd || fail "systemctl kill failed"
wait_for 30 new_main "$old" || fail "systemd did not restart the SIGKILLed daemon"
[ "$(nrestarts)" -gt "$n0" ] || fail "NRestarts did not grow after SIGKILL"
survived "SIGKILL"

step "a hung daemon: the watchdog kills it, systemd restarts it"
old=$(main_pid) n0=$(nrestarts)
kill -STOP "$old"
wait_for 60 new_main "$old" || fail "the stopped daemon was not replaced (watchdog)"
[ "$(nrestarts)" -gt "$n0" ] || fail "NRestarts did not grow after the watchdog"
journal_has uffdtierd notice "Watchdog timeout" || fail "the journal does not show the watchdog timeout"
survived "the watchdog"
pass
