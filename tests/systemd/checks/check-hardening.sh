#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# In the container: the installed, hardened unit really runs the daemon as written. Its
# capabilities are the five it needs and no others, it runs under a seccomp filter with no new
# privileges, its /dev is private but has /dev/userfaultfd (and the daemon uses it), the file
# system is read-only to it, mlockall() worked, and `systemd-analyze security` rates the unit.
set -uo pipefail
. "$(dirname "$0")/common.sh"

# The unit's score must not get worse than this without a reason (measured: see the README).
EXPOSURE_MAX=${EXPOSURE_MAX:-2.0}

systemctl enable --now uffdtierd.service 2>/dev/null || fail "systemctl enable --now uffdtierd failed"
pid=$(main_pid) || fail "uffdtierd has no MainPID"
st=/proc/$pid/status
field() { awk -v f="$1:" '$1 == f { print $2 }' "$st"; }

step "capabilities"
# CAP_SETGID 6, CAP_SETUID 7, CAP_IPC_LOCK 14, CAP_SYS_PTRACE 19, CAP_SYS_NICE 23
allowed=$(((1 << 6) | (1 << 7) | (1 << 14) | (1 << 19) | (1 << 23)))
needed=$(((1 << 19) | (1 << 23)))
eff=$((16#$(field CapEff)))
bnd=$((16#$(field CapBnd)))
prm=$((16#$(field CapPrm)))
amb=$((16#$(field CapAmb)))
printf 'CapEff %016x CapPrm %016x CapBnd %016x CapAmb %016x\n' $eff $prm $bnd $amb
[ $((eff & ~allowed)) = 0 ] || fail "CapEff has capabilities the unit does not give: $(printf %x $((eff & ~allowed)))"
[ $((prm & ~allowed)) = 0 ] || fail "CapPrm has capabilities the unit does not give: $(printf %x $((prm & ~allowed)))"
[ "$bnd" = "$allowed" ] || fail "CapBnd is $(printf %x "$bnd"), not the unit's CapabilityBoundingSet= ($(printf %x $allowed))"
[ $((eff & needed)) = "$needed" ] || fail "CapEff lacks CAP_SYS_PTRACE or CAP_SYS_NICE"
[ "$amb" = 0 ] || fail "ambient capabilities: $(printf %x "$amb")"
[ "$(awk '$1 == "Uid:" { print $3 }' "$st")" = 0 ] || fail "the daemon does not run as root (DynamicUser= breaks userfaultfd)"

step "seccomp, no new privileges"
[ "$(field Seccomp)" = 2 ] || fail "Seccomp: $(field Seccomp) (2: a filter)"
[ "$(field NoNewPrivs)" = 1 ] || fail "NoNewPrivs: $(field NoNewPrivs)"
echo "Seccomp: 2, Seccomp_filters: $(field Seccomp_filters), NoNewPrivs: 1"

step "devices and file system as the daemon sees them"
in_ns() { nsenter --target "$pid" --mount -- "$@"; }
[ "$(in_ns stat -c %t:%T /dev/userfaultfd 2>/dev/null)" = a:101 ] ||
        fail "/dev/userfaultfd (10:257) is not in the service's /dev"
# PrivateDevices=yes: a /dev of its own, without the container's other devices
[ "$(in_ns stat -c %d /dev)" != "$(stat -c %d /dev)" ] || fail "the service shares the container's /dev (PrivateDevices= not applied)"
in_ns test -e /dev/console && fail "/dev/console is in the service's /dev (PrivateDevices= not applied)"
# ProtectSystem=strict: read-only, even for root
in_ns touch /usr/uffdtier-write-test 2>/dev/null && fail "the service can write to /usr"
in_ns touch /etc/uffdtier-write-test 2>/dev/null && fail "the service can write to /etc"
in_ns test -w /run/uffdtierd || fail "the service cannot write to its RuntimeDirectory"
[ "$(busctl --json=short get-property org.uffdtier1 /org/uffdtier1 org.uffdtier1.Manager Backend | jq -r .data)" = "$BACKEND" ] ||
        fail "the daemon's backend under the unit is not $BACKEND (the probe could not use /dev/userfaultfd?)"
journalctl -u uffdtierd _COMM=uffdtierd -o cat --no-pager | grep -qi 'userfaultfd.*\(denied\|not permitted\|EPERM\|EACCES\)' &&
        fail "the daemon logged a refused userfaultfd"
# and serves a client: the whole path (pidfd, pagemap, PROCMAP_QUERY, process_madvise) under seccomp
client_start c1 --size 8M --name hardening
client_cmd c1 status >/dev/null || fail "status failed: $REPLY_TEXT"
client_stop c1
journalctl -u uffdtierd _COMM=uffdtierd -o cat --no-pager | grep -q 'Bad system call\|SIGSYS' && fail "the seccomp filter killed a system call"
lck=$(field VmLck)
[ "${lck:-0}" -gt 0 ] || fail "VmLck is ${lck:-0} kB: mlockall() did not work under the unit"
echo "VmLck: $lck kB"

step "systemd-analyze security uffdtierd"
systemd-analyze security --no-pager uffdtierd.service >/tmp/security.txt 2>&1 || true
grep -E '^✗' /tmp/security.txt | sed 's/^/    /' | head -40
score_line=$(grep -i 'overall exposure level' /tmp/security.txt) || { cat /tmp/security.txt; fail "systemd-analyze security printed no exposure level"; }
echo "$score_line"
score=$(sed -E 's/.*: *([0-9]+\.[0-9]+).*/\1/' <<<"$score_line")
echo "EXPOSURE $score"
awk -v s="$score" -v m="$EXPOSURE_MAX" 'BEGIN { exit !(s <= m) }' ||
        fail "exposure $score is above $EXPOSURE_MAX"
pass
