#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Configuration files and reload: a daemon with --config in a temp dir and a policy.d file
# matching the cgroup the test client runs in (the test's own cgroup: the client is its child);
# the client gets that policy (its cold age shows in the log line naming the policy); after the
# file changes and SIGHUP it is re-resolved; a bad file on reload is reported with file:line, the
# daemon keeps running and the old policy stays. Usage: test-config.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
for tool in busctl jq; do
        command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done
CTL=$BUILD/client/uffdtierctl
[ -x "$CTL" ] || fail "uffdtierctl not built at $CTL"

CG=$(sed -n 's/^0:://p' /proc/self/cgroup)
[ -n "$CG" ] || skip "no cgroup2 line in /proc/self/cgroup"
case $CG in *" (deleted)") skip "our cgroup was removed" ;; esac
echo "matching our cgroup: $CG"

CONF=$WORK/etc
mkdir -p "$CONF/policy.d"
cat >"$CONF/uffdtierd.conf" <<EOT
[Policy]
ScanInterval=1s
ColdAge=40s
EOT
cat >"$CONF/policy.d/50-test.conf" <<EOT
[Policy]
Name=itest
Match=$CG
ColdAge=17s
Mode=monitor
EOT
# a policy for somewhere else, read first: must not win
cat >"$CONF/policy.d/10-elsewhere.conf" <<EOT
[Policy]
Match=/uffdtier-test-nowhere
ColdAge=3s
EOT

start_private_dbus
start_daemon --config="$CONF/uffdtierd.conf" --psi-limit=100% --bus-address="$DBUS_SYSTEM_BUS_ADDRESS"
grep -q "configuration $CONF/uffdtierd.conf: 2 policies" "$DAEMON_LOG" || fail "the configuration was not loaded"

# ---- 1. the client gets the policy of its cgroup ----
client_start a --size 4M --name config-a
pid=${CPID[a]}
wait_for 10 grep -q "(pid $pid): policy itest (cgroup $CG): scan interval 1s, cold age 17s.*mode monitor" "$DAEMON_LOG" ||
        fail "client a did not get policy itest"

# ---- 2. change the file, SIGHUP: re-resolved ----
sed -i 's/^ColdAge=17s/ColdAge=23s/' "$CONF/policy.d/50-test.conf"
kill -HUP "$DAEMON_PID"
wait_for 10 grep -q "(pid $pid): policy (reloaded) itest (cgroup $CG): scan interval 1s, cold age 23s" "$DAEMON_LOG" ||
        fail "the reload did not give client a the changed policy"
grep -q "configuration reloaded from $CONF/uffdtierd.conf: 2 policies, 1 clients re-resolved" "$DAEMON_LOG" ||
        fail "no reload summary"

# the policy no longer matches: back to the default
sed -i "s|^Match=.*|Match=/uffdtier-test-nowhere-else|" "$CONF/policy.d/50-test.conf"
kill -HUP "$DAEMON_PID"
wait_for 10 grep -q "(pid $pid): policy itest -> default" "$DAEMON_LOG" || fail "client a kept policy itest"
wait_for 10 grep -q "(pid $pid): policy default (cgroup $CG): scan interval 1s, cold age 40s.*mode evict" "$DAEMON_LOG" ||
        fail "client a did not get the default policy"

# and matches again
sed -i "s|^Match=.*|Match=$CG|" "$CONF/policy.d/50-test.conf"
kill -HUP "$DAEMON_PID"
wait_for 10 grep -q "(pid $pid): policy default -> itest" "$DAEMON_LOG" || fail "client a did not get itest back"

# ---- 3. a bad file on reload: file:line, the daemon runs on, the old policy stays ----
printf '[Policy]\nMatch=/x\nColdAge=whenever\n' >"$CONF/policy.d/70-bad.conf"
sed -i 's/^ColdAge=23s/ColdAge=29s/' "$CONF/policy.d/50-test.conf" # must not take effect
kill -HUP "$DAEMON_PID"
wait_for 10 grep -q "reload failed, keeping the old configuration: $CONF/policy.d/70-bad.conf:3: invalid ColdAge= value \"whenever\": malformed" "$DAEMON_LOG" ||
        fail "the bad file was not reported with file:line"
grep -q "cold age 29s" "$DAEMON_LOG" && fail "a half-read configuration was applied"
daemon_alive || fail "the daemon stopped after a bad reload"
client_cmd a status || fail "client a lost the daemon: $REPLY_TEXT"
# the old policy (itest, monitor) stays: nothing is ever evicted from client a
[ "$(status_value a evicted_bytes)" = 0 ] || fail "client a was evicted under a monitor policy"

# a new client still gets the old configuration's policy for the cgroup
client_start b --size 4M --name config-b
wait_for 10 grep -q "(pid ${CPID[b]}): policy itest (cgroup $CG): scan interval 1s, cold age 23s" "$DAEMON_LOG" ||
        fail "client b did not get the old configuration's policy"

# fixed: the reload goes through
rm "$CONF/policy.d/70-bad.conf"
kill -HUP "$DAEMON_PID"
wait_for 10 grep -q "(pid $pid): policy (reloaded) itest (cgroup $CG): scan interval 1s, cold age 29s" "$DAEMON_LOG" ||
        fail "the fixed configuration was not applied"
# ---- 4. the process moves to another cgroup: a reload follows it ----
CG2_MNT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ -n "$CG2_MNT" ] && [ -d "$CG2_MNT$CG" ]; then
        MOVED=${CG%/}/uffdtier-test-moved.$$
        mkdir "$CG2_MNT$MOVED" || fail "cannot create the cgroup $CG2_MNT$MOVED"
        # move the client back before removing the cgroup (a cgroup with a process cannot go)
        cleanup_push "echo $pid >'$CG2_MNT$CG/cgroup.procs' 2>/dev/null; rmdir '$CG2_MNT$MOVED'"
        printf '[Policy]\nName=moved\nMatch=%s\nColdAge=31s\n' "$MOVED" >"$CONF/policy.d/60-moved.conf"
        echo "$pid" >"$CG2_MNT$MOVED/cgroup.procs" || fail "cannot move client a to $MOVED"
        kill -HUP "$DAEMON_PID"
        wait_for 10 grep -q "(pid $pid): now in cgroup $MOVED" "$DAEMON_LOG" ||
                fail "the reload did not see client a's new cgroup"
        wait_for 10 grep -q "(pid $pid): policy moved (cgroup $MOVED): scan interval 1s, cold age 31s" "$DAEMON_LOG" ||
                fail "client a did not get the policy of its new cgroup"
        # client b stayed: same policy as before
        wait_for 10 grep -q "(pid ${CPID[b]}): policy (reloaded) itest (cgroup $CG): scan interval 1s, cold age 29s" \
                "$DAEMON_LOG" || fail "client b lost its policy"
        daemon_alive || fail "the daemon stopped"
else
        echo "no cgroup2 hierarchy at a known mount: the move section is left out"
fi
# ---- 5. over D-Bus: the client's policy values, and uffdtierctl reload ----
bc() { busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" --json=short "$@"; }
idb=$(bc call org.uffdtier1 /org/uffdtier1 org.uffdtier1.Manager ListClients |
        jq -r --argjson pid "${CPID[b]}" '.data[0][] | select(.[1] == $pid) | .[0]')
[ -n "$idb" ] || fail "client b is not in ListClients"
cprop() { bc get-property org.uffdtier1 "/org/uffdtier1/client/$idb" org.uffdtier1.Client "$1" | jq -r .data; }
[ "$(cprop Policy)" = itest ] || fail "client b's Policy on the bus: $(cprop Policy)"
[ "$(cprop PolicyColdAgeUSec)" = 29000000 ] || fail "client b's PolicyColdAgeUSec: $(cprop PolicyColdAgeUSec)"
[ "$(cprop PolicyScanIntervalUSec)" = 1000000 ] || fail "client b's PolicyScanIntervalUSec: $(cprop PolicyScanIntervalUSec)"
[ "$(cprop PolicyMode)" = monitor ] || fail "client b's PolicyMode: $(cprop PolicyMode)"
sed -i 's/^ColdAge=.*/ColdAge=37s/; s/^Mode=monitor/Mode=evict/' "$CONF/policy.d/50-test.conf"
UFFDTIER_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS "$CTL" reload || fail "uffdtierctl reload failed"
wait_for 10 test "$(cprop PolicyColdAgeUSec)" = 37000000 ||
        fail "uffdtierctl reload did not change client b's cold age: $(cprop PolicyColdAgeUSec)"
[ "$(cprop PolicyMode)" = evict ] || fail "after the reload client b's PolicyMode is $(cprop PolicyMode)"
# a bad file through uffdtierctl: named with file:line, nothing changes
printf '[Policy]\nMatch=/x\nColdAge=soon\n' >"$CONF/policy.d/80-bad.conf"
UFFDTIER_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS "$CTL" reload >"$WORK/reload.out" 2>&1 &&
        fail "uffdtierctl reload of a bad file succeeded"
grep -q "80-bad.conf:3" "$WORK/reload.out" || fail "uffdtierctl reload does not name the bad line: $(cat "$WORK/reload.out")"
[ "$(cprop PolicyColdAgeUSec)" = 37000000 ] || fail "a bad reload changed client b's cold age"
daemon_alive || fail "the daemon stopped"
echo "PASS"
