#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# In the container: the installed units as an administrator uses them. `systemctl start`, READY and
# the STATUS= text in `systemctl status`, the journal's levels (journalctl -p), socket activation
# by a client's connect and D-Bus activation by a bus call.
set -uo pipefail
. "$(dirname "$0")/common.sh"

step "systemctl enable uffdtierd; systemctl start uffdtierd"
# enable: the socket (Also=) and the dbus-org.uffdtier1.service alias that D-Bus activation starts
systemctl enable uffdtierd.service 2>&1 || fail "systemctl enable uffdtierd failed"
[ "$(systemctl is-enabled uffdtierd.socket)" = enabled ] || fail "enabling uffdtierd did not enable its socket"
systemctl start uffdtierd || fail "systemctl start uffdtierd failed"
expect_prop uffdtierd ActiveState active
expect_prop uffdtierd SubState running
status_text=$(systemctl show -P StatusText uffdtierd)
[[ $status_text == "Tracking with the $BACKEND backend"* ]] ||
        fail "StatusText is '$status_text', not the daemon's STATUS= ('Tracking with the $BACKEND backend')"
# Type=notify: "active" is only reached through READY=1
[ "$(systemctl show -P Type uffdtierd)" = notify ] || fail "the installed unit is not Type=notify"
main=$(main_pid)
[ "$(readlink "/proc/$main/exe")" = /usr/sbin/uffdtierd ] ||
        fail "MainPID $main runs $(readlink "/proc/$main/exe"), not the installed /usr/sbin/uffdtierd"
out=$(systemctl status --no-pager uffdtierd 2>&1)
echo "$out" | sed -n '1,6p'
grep -q 'Active: active (running)' <<<"$out" || fail "systemctl status does not say active (running)"
grep -qF "Status: \"$status_text\"" <<<"$out" || fail "systemctl status does not show the STATUS= text"

step "the journal keeps the daemon's levels"
# A bad policy file on reload is a warning (the old configuration stays), naming file:line; the
# start-up lines are info. The daemon writes "<N>" prefixes to its journal stream.
printf '[Policy]\nMatch=/x\nColdAge=yesterday\n' >/etc/uffdtierd/policy.d/50-broken.conf
cleanup_push "rm -f /etc/uffdtierd/policy.d/50-broken.conf"
systemctl reload uffdtierd 2>/dev/null && fail "systemctl reload succeeded with a broken policy file"
daemon_lines() { journalctl -u uffdtierd _COMM=uffdtierd -o cat --no-pager "$@"; }
wait_for 30 eval 'daemon_lines -p warning | grep -q "50-broken.conf:3"' ||
        fail "journalctl -p warning does not show the daemon's line on the bad policy file (50-broken.conf:3)"
daemon_lines -p warning | grep "50-broken.conf:3" | sed 's/^/    warning: /'
daemon_lines -p err | grep -q "50-broken.conf:3" &&
        fail "the warning about the bad policy file shows under journalctl -p err"
daemon_lines -p info | grep -q "listening on the socket passed by systemd" ||
        fail "journalctl -p info does not show the daemon's start-up line"
daemon_lines -p notice | grep -q "listening on the socket passed by systemd" &&
        fail "the daemon's informational start-up line shows under journalctl -p notice"
daemon_lines | grep -qE '^<[0-7]>' &&
        fail "journal lines start with a raw <N> prefix: the stream's levels were not parsed"
prio=$(journalctl -u uffdtierd _COMM=uffdtierd -o json --no-pager |
        jq -r 'select(.MESSAGE | test("reload failed")) | .PRIORITY' | tail -n 1)
[ "$prio" = 4 ] || fail "the reload warning has PRIORITY=$prio in the journal, not 4"
rm -f /etc/uffdtierd/policy.d/50-broken.conf
systemctl reload uffdtierd || fail "systemctl reload failed with a good configuration"

step "socket activation: a client's connect starts the stopped service"
systemctl stop uffdtierd || fail "systemctl stop failed"
expect_prop uffdtierd ActiveState inactive
expect_prop uffdtierd.socket ActiveState active
[ -S /run/uffdtierd/handoff.sock ] || fail "the handoff socket is gone with the service stopped"
client_start c1 --size 16M --name activated
wait_for 30 is_active uffdtierd || fail "the connect did not start uffdtierd.service"
main=$(main_pid)
uffdtierctl list | grep -qw "${CPID[c1]}" || {
        uffdtierctl list >&2
        fail "the started daemon does not list the client that started it"
}
echo "started by the connect: MainPID $main, client pid ${CPID[c1]}"
client_cmd c1 verify || fail "the client's memory is not intact: $REPLY_TEXT"
client_stop c1

step "D-Bus activation: a call to org.uffdtier1 starts the stopped service"
systemctl stop uffdtierd || fail "systemctl stop failed"
expect_prop uffdtierd ActiveState inactive
v=$(busctl get-property org.uffdtier1 /org/uffdtier1 org.uffdtier1.Manager Version) ||
        fail "busctl get-property Version on the stopped service failed"
echo "Version: $v"
is_active uffdtierd || fail "the bus call did not start uffdtierd.service"
pass
