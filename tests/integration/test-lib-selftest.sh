#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# lib-selftest: checks tests/integration/lib.sh itself — cleanups (order, fail/skip, subshells,
# signals), wait_for, swapfile_add/swap_ensure (the swap appears, and is gone afterwards even when the
# test is killed), count_fds, the smaps helpers and start_private_dbus.  Each scenario runs in its
# own bash process so that its cleanups really run at its exit.  Needs root.
#
# Usage: test-lib-selftest.sh [BUILD_DIR]     (the argument is ignored)

# shellcheck disable=SC2016 # (scenarios are single-quoted code for a child bash)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
LIB=$here/lib.sh
# shellcheck source=tests/integration/lib.sh
. "$LIB"
need_root

# run a scenario: `scenario 'bash code'` in a fresh bash that has sourced lib.sh; sets OUT and RC
scenario() {
        RC=0
        OUT=$(bash -c '. "$1"; shift; eval "$1"' _ "$LIB" "$1" 2>&1) || RC=$?
}
expect() { # WHAT EXPECTED ACTUAL
        [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}
swap_active() { awk -v f="$1" 'NR > 1 && $1 == f { found = 1 } END { exit !found }' /proc/swaps; }

# ---- cleanups ----
scenario 'cleanup_push "echo one"; cleanup_push echo two; exit 3'
expect "cleanups run last-in first-out, exit status kept" "two
one 3" "$OUT $RC"

scenario 'cleanup_push "echo cleaned"; fail "on purpose"'
expect "fail runs cleanups" "FAIL: on purpose
cleaned 1" "$OUT $RC"

scenario 'cleanup_push "echo cleaned"; skip "no reason"'
expect "skip runs cleanups" "SKIP: no reason
cleaned 77" "$OUT $RC"

scenario 'cleanup_push "echo parent"; ( cleanup_push "echo child"; echo in-child ); echo back'
# the subshell runs its own cleanup when it ends; the parent's runs once, at the very end
expect "a subshell runs only its own cleanups" "in-child child back parent " "$(tr '\n' ' ' <<<"$OUT")"

scenario 'cleanup_push "false"; cleanup_push "echo still-runs"; true'
[[ $OUT == *still-runs* && $RC == 0 ]] || fail "a failing cleanup must not stop the others ($OUT, $RC)"

scenario 'cleanup_push "echo first \$?"; cleanup_push "echo second \$?"; exit 5'
expect "cleanups see the exit status in \$?" "second 5
first 5 5" "$OUT $RC"
scenario 'cleanup_push "echo status \$?"; true'
expect "cleanups see 0 after a pass" "status 0 0" "$OUT $RC"

# ---- wait_for ----
wait_for 2 true || fail "wait_for 2 true"
t0=$SECONDS
if wait_for 1 false; then fail "wait_for 1 false succeeded"; fi
[ $((SECONDS - t0)) -ge 1 ] || fail "wait_for gave up early"
f=$(mktemp)
rm -f "$f"
(sleep 0.3 && touch "$f") &
wait_for 5 test -e "$f" || fail "wait_for did not see the file appear"
rm -f "$f"
wait

# ---- wait_stable: a value that grows for a while, against a clock that ticks every 0.1 s ----
d=$(mktemp -d)
echo 0 >"$d/clock"
echo 0 >"$d/value"
sample() { echo "$(cat "$d/value") $(cat "$d/clock")"; }
ticker() { # the clock runs for 8 s; the value grows with it for the first TICKS ticks
        local i
        for ((i = 1; i <= 80; i++)); do
                sleep 0.1
                [ "$i" -le "$1" ] && echo $((i * 1000)) >"$d/value.tmp" && mv "$d/value.tmp" "$d/value"
                echo "$i" >"$d/clock.tmp" && mv "$d/clock.tmp" "$d/clock"
        done
}
ticker 10 &
tpid=$!
wait_stable 20 2 sample || fail "wait_stable: a value that stopped growing did not settle ($STABLE_VALUE)"
clock=$(cat "$d/clock")
expect "wait_stable gives the final value" 10000 "$STABLE_VALUE"
# settled only once more than 2 ticks went by after the last change (at tick 10)
[ "$clock" -ge 13 ] || fail "wait_stable settled at tick $clock, before 2 whole ticks without a change"
kill "$tpid" 2>/dev/null
wait "$tpid" 2>/dev/null || true
# a value that keeps changing never settles: the deadline says so
echo 0 >"$d/clock"
ticker 80 &
tpid=$!
t0=$SECONDS
if wait_stable 1 2 sample; then fail "wait_stable settled on a value that keeps changing"; fi
[ $((SECONDS - t0)) -ge 1 ] || fail "wait_stable gave up early"
[[ $STABLE_VALUE =~ ^[0-9]+$ ]] || fail "wait_stable left no last value ('$STABLE_VALUE')"
kill "$tpid" 2>/dev/null
wait "$tpid" 2>/dev/null || true
# a stalled clock (the daemon stopped cycling) is no evidence that the value settled
echo 5 >"$d/clock"
if wait_stable 1 2 sample; then fail "wait_stable settled on a clock that does not move"; fi
# a sampler that fails or prints garbage is retried until the deadline
if wait_stable 1 2 false; then fail "wait_stable settled on a failing sampler"; fi
expect "no value from a failing sampler" "" "$STABLE_VALUE"
if wait_stable 1 2 echo "x y"; then fail "wait_stable settled on garbage"; fi
rm -rf "$d"
echo "ok: wait_stable"

# ---- count_fds ----
# two sleeping children that differ by one descriptor: their fd tables stay still while they are
# counted (this shell's own table does not: bash opens and closes descriptors of its own)
sleep 600 </dev/null >/dev/null 2>&1 &
p0=$!
sleep 600 </dev/null >/dev/null 2>&1 {extra}</dev/null &
p1=$!
cleanup_push "kill $p0 $p1 2>/dev/null || true"
# counted once both run sleep: before its exec a child is a copy of this shell, with its descriptors
is_sleep() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = sleep ]; }
wait_for 10 is_sleep $p0 || fail "the first child did not exec sleep"
wait_for 10 is_sleep $p1 || fail "the second child did not exec sleep"
n0=$(count_fds $p0)
n1=$(count_fds $p1)
expect "count_fds sees one more fd" $((n0 + 1)) "$n1"
[ "$n0" = "$(find "/proc/$p0/fd" -mindepth 1 -maxdepth 1 | wc -l)" ] || fail "count_fds disagrees with find"
count_fds 999999999 >/dev/null 2>&1 && fail "count_fds of a missing pid succeeded"

# ---- smaps helpers: the first VMA of this shell, straight from smaps, against the helpers ----
read -r vma_start want_rss < <(awk 'NR == 1 { split($1, r, "-"); s = r[1] } $1 == "Rss:" { print s, $2; exit }' /proc/$$/smaps)
expect "smaps_rss_kib" "$want_rss" "$(smaps_rss_kib $$ "$vma_start")"
expect "smaps_rss_kib with 0x and no leading zeros" "$want_rss" "$(smaps_rss_kib $$ "0x$(printf %x $((16#$vma_start)))")"
want_swap=$(awk '$1 == "Swap:" { print $2; exit }' /proc/$$/smaps)
expect "smaps_swap_kib" "$want_swap" "$(smaps_swap_kib $$ "$vma_start")"
total_rss=$(awk '$1 == "Rss:" { s += $2 } END { print s }' /proc/$$/smaps)
got=$(smaps_rss_kib $$ 0 $((1 << 62)))
# the shell's own smaps changes a little between the two reads: allow 64 KiB
diff=$((got - total_rss))
[ "${diff#-}" -le 64 ] || fail "smaps_rss_kib over everything: $got vs $total_rss"
smaps_rss_kib $$ 1000 >/dev/null 2>&1 && fail "smaps_rss_kib of a non-VMA address succeeded"
echo "ok: count_fds, smaps_rss_kib, smaps_swap_kib"

# ---- start_private_dbus ----
if command -v dbus-daemon >/dev/null; then
        scenario 'start_private_dbus; echo "$DBUS_PID $DBUS_SYSTEM_BUS_ADDRESS"
                sock=${DBUS_SYSTEM_BUS_ADDRESS#unix:path=}; sock=${sock%%,*}
                test -S "$sock" && echo socket-ok
                if command -v busctl >/dev/null; then
                        busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId >/dev/null && echo call-ok
                elif command -v dbus-send >/dev/null; then
                        dbus-send --bus="$DBUS_SYSTEM_BUS_ADDRESS" --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.GetId >/dev/null && echo call-ok
                else echo call-ok; fi'
        [ "$RC" = 0 ] || fail "start_private_dbus failed ($RC): $OUT"
        read -r dbus_pid dbus_addr <<<"$(sed -n 1p <<<"$OUT")"
        [[ $dbus_addr == unix:path=* ]] || fail "odd bus address '$dbus_addr'"
        [[ $OUT == *socket-ok*call-ok* ]] || fail "the private bus did not answer: $OUT"
        wait_for 5 bash -c "! kill -0 $dbus_pid 2>/dev/null" || fail "dbus-daemon $dbus_pid survived the cleanup"
        sock=${dbus_addr#unix:path=}
        sock=${sock%%,*}
        [ -e "$sock" ] && fail "the bus directory was not removed"
        echo "ok: start_private_dbus ($dbus_addr)"
else
        echo "note: no dbus-daemon, start_private_dbus not checked"
fi

# ---- swap (last: it skips where /var/tmp cannot hold a swapfile, e.g. tmpfs) ----
scenario 'swapfile_add 64; echo "$SWAPFILE"; awk -v f="$SWAPFILE" "NR > 1 && \$1 == f { print \"active\", \$3 }" /proc/swaps'
[ "$RC" = 77 ] && skip "swapfiles are not possible here: $OUT"
[ "$RC" = 0 ] || fail "swapfile_add scenario failed ($RC): $OUT"
swapfile=$(sed -n 1p <<<"$OUT")
[[ $swapfile == /var/tmp/uffdtier-swap.* ]] || fail "unexpected swapfile path '$swapfile'"
expect "the swapfile was active with 64 MiB" "active 65532" "$(sed -n 2p <<<"$OUT")"
swap_active "$swapfile" && fail "$swapfile is still in /proc/swaps after the test ended"
[ -e "$swapfile" ] && fail "$swapfile was not removed"
echo "ok: swapfile_add 64 -> $swapfile, gone afterwards"

# ---- swapfile_add: the test is killed (SIGTERM) ----
d=$(mktemp -d)
cleanup_push "rm -rf '$d'"
bash -c '. "$1"; swapfile_add 32; echo "$SWAPFILE" >"$2.tmp"; mv "$2.tmp" "$2"
        sleep 60 & cleanup_push "kill $!"; wait' _ "$LIB" "$d/path" &
pid=$!
wait_for 30 test -s "$d/path" || fail "the killed scenario did not start"
swapfile=$(cat "$d/path")
swap_active "$swapfile" || fail "$swapfile is not active"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
expect "status after SIGTERM" 143 "$rc"
swap_active "$swapfile" && fail "$swapfile is still active after SIGTERM"
[ -e "$swapfile" ] && fail "$swapfile was not removed after SIGTERM"
echo "ok: SIGTERM -> $swapfile swapped off and removed"

# ---- swap_ensure ----
free_before=$(swap_free_kib)
scenario 'swap_ensure 48; echo "$(swap_free_kib) ${SWAPFILE:-none}"'
[ "$RC" = 0 ] || fail "swap_ensure failed ($RC): $OUT"
read -r free_during swapfile <<<"$OUT"
[ "$free_during" -ge $((48 * 1024)) ] || fail "swap_ensure 48: only $free_during KiB free"
if [ "$free_before" -ge $((48 * 1024)) ]; then
        expect "swap_ensure with enough swap adds nothing" none "$swapfile"
else
        [ "$swapfile" != none ] || fail "swap_ensure added no swapfile"
        if [ -e "$swapfile" ] || swap_active "$swapfile"; then
                fail "swap_ensure's swapfile '$swapfile' was not cleaned up"
        fi
fi
# (free swap itself is not compared with before: other tests and processes swap meanwhile; what
# swap_ensure owns is its swapfile, checked above)
echo "ok: swap_ensure (free swap before: $free_before KiB)"

echo "lib-selftest: ok"
