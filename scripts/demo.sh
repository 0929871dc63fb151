#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The uffdtier demo: builds the tree, starts uffdtierd on a private socket (with a temporary
# swapfile when the machine has no swap, removed afterwards), starts a workload that hands 512 MiB
# to the daemon and keeps a known quarter of it hot, and shows the cold part leaving memory while
# the hot part stays, with the daemon's own figures. Then it reads everything back (refaults) and
# checks every byte. Run as root. DEMO_SECONDS (default 40) sets how long to watch at least; on a
# slow machine the watch goes on (up to 2 minutes more) until the cold part has left.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (the daemon needs CAP_SYS_PTRACE and CAP_SYS_NICE, and swap)" >&2; exit 1; }

echo "==> building"
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

work=$(mktemp -d /tmp/uffdtier-demo.XXXXXX)
swapfile=
daemon=
client=
bus=
zswap=/sys/module/zswap/parameters/enabled
zswap_old=
cleanup() {
        set +e
        if [ -n "$zswap_old" ]; then
                echo "$zswap_old" >"$zswap" && echo "==> zswap restored to $zswap_old"
        fi
        [ -n "$client" ] && kill "$client" 2>/dev/null && wait "$client" 2>/dev/null
        [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        [ -n "$bus" ] && kill "$bus" 2>/dev/null && wait "$bus" 2>/dev/null
        if [ -n "$swapfile" ]; then
                swapoff "$swapfile" && rm -f "$swapfile" && echo "==> removed the temporary swapfile $swapfile"
        fi
        rm -rf "$work"
}
trap cleanup EXIT INT TERM

./build/daemon/uffdtierd --probe | sed -n '1,3p'
if [ "$(awk '/^SwapTotal:/ { print $2 }' /proc/meminfo)" -lt 700000 ]; then
        swapfile=$(mktemp /var/tmp/uffdtier-demo-swap.XXXXXX)
        echo "==> this machine has no swap: adding a temporary 1 GiB swapfile $swapfile (removed at the end)"
        fallocate -l 1G "$swapfile" 2>/dev/null || dd if=/dev/zero of="$swapfile" bs=1M count=1024 status=none
        chmod 600 "$swapfile"
        mkswap "$swapfile" >/dev/null
        swapon "$swapfile"
fi

# With a plain swap file a page-out writes the page but leaves it in RAM, in the swap cache, until
# memory runs short; with zswap it leaves RAM at once. The demo turns zswap on (and back off at the
# end) so that what it shows as freed really left RAM; DEMO_ZSWAP=0 keeps the host as it is.
if [ "${DEMO_ZSWAP:-1}" = 1 ] && [ -w "$zswap" ] && [ "$(cat "$zswap")" = N ]; then
        zswap_old=N
        echo Y >"$zswap"
        echo "==> turning zswap on for the demo, so paged-out memory leaves RAM at once (restored at the end; DEMO_ZSWAP=0 keeps it off)"
fi

# A private bus, so the demo can show the daemon through uffdtierctl without touching the system
# bus (the daemon joins the system bus when it runs as a service).
if command -v dbus-daemon >/dev/null; then
        cat >"$work/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$work/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/> <allow own="*"/> <allow send_destination="*"/> <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
        dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile >"$work/bus.log" 2>&1 </dev/null &
        bus=$!
        for _ in $(seq 100); do [ -S "$work/bus.sock" ] && break; sleep 0.1; done
        export UFFDTIER_BUS_ADDRESS="unix:path=$work/bus.sock"
        echo "==> a private D-Bus for the demo: $UFFDTIER_BUS_ADDRESS"
else
        echo "==> dbus-daemon is not installed: the demo runs without the bus (no uffdtierctl status)"
fi

echo "==> starting uffdtierd (scan every 1s, cold after 5s, evict up to 128 MiB/s; the defaults are 10s, 120s, paced by cost and pressure)"
./build/daemon/uffdtierd --socket="$work/handoff.sock" --interval=1s --cold-age=5s --rate=128M \
        --stats-interval=10s >"$work/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 300); do [ -S "$work/handoff.sock" ] && break; sleep 0.1; done
[ -S "$work/handoff.sock" ] || { cat "$work/daemon.log"; exit 1; }

echo "==> starting the workload: 512 MiB handed over, the first 128 MiB kept hot"
mkfifo "$work/in" "$work/out"
./build/tests/helpers/tier-client --socket "$work/handoff.sock" --size 512M --hot-fraction 0.25 \
        --name demo <"$work/in" >"$work/out" 2>"$work/client.err" &
client=$!
exec {to}>"$work/in" {from}<"$work/out"
read -r -t 30 -u "$from" ready || { cat "$work/client.err"; exit 1; }
echo "    $ready"

cmd() { # send one command, print nothing, leave the reply in $reply
        reply=
        echo "$1" >&"$to"
        local line
        while read -r -t 60 -u "$from" line; do
                reply+="$line"$'\n'
                case $line in OK*) return 0 ;; ERR*) echo "$line" >&2; return 1 ;; esac
        done
        return 1
}
counter() { awk -v n="$1" '$1 == "counter" && $2 == n { printf "%d", $3 / 1048576 }' <<<"$reply"; }
value() { awk -v n="$1" '$1 == "counter" && $2 == n { print $3 }' <<<"$reply"; }
mib() { sed -n "s/^OK resident \([0-9]*\) swapped \([0-9]*\).*/\\$1/p" <<<"$reply" | awk '{ printf "%d", $1 / 1048576 }'; }

SECONDS=0 # the time column counts from here, not from the build
printf '\n%5s | %-22s | %-22s | %s\n' "time" "hot 128M: resident" "cold 384M: resident" "daemon: hot / cold / evicted / freed / refaulted (MiB)"
end=$((SECONDS + ${DEMO_SECONDS:-40}))
cap=$((end + 120))
next=0
cold_res=384
# until DEMO_SECONDS passed and the cold part is out (at most 5% of it resident), or the cap
while [ $SECONDS -lt $end ] || { [ "$cold_res" -gt 19 ] && [ $SECONDS -lt $cap ]; }; do
        cmd touch-hot
        if [ $SECONDS -ge $next ]; then
                next=$((SECONDS + 2))
                cmd "residency 0 128M"; hot_res=$(mib 1)
                cmd "residency 128M 384M"; cold_res=$(mib 1); cold_swp=$(mib 2)
                cmd status
                printf '%4ss | %4s MiB               | %4s MiB (%s in swap)%*s | %s / %s / %s / %s / %s\n' \
                        "$SECONDS" "$hot_res" "$cold_res" "$cold_swp" $((6 - ${#cold_swp})) "" \
                        "$(counter hot_bytes)" "$(counter cold_bytes)" "$(counter evicted_bytes)" \
                        "$(counter freed_bytes)" "$(counter refaulted_bytes)"
        fi
        sleep 0.5
done

if [ -n "$bus" ]; then
        echo
        echo "==> uffdtierctl status (over D-Bus)"
        ./build/client/uffdtierctl status | sed 's/^/    /' || echo "    (uffdtierctl status failed)"
fi

echo
echo "==> reading the whole buffer back (the cold part comes back from swap: refaults)"
[ "$cold_res" -gt 19 ] && echo "    (the cold part had not left yet: $cold_res MiB still resident)"
cmd read-all
# The daemon counts refaults in the scans of its cycles after the reads: the count is complete once
# it stayed the same over two whole cycles (cycles is its own counter), not when it is non-zero.
settle_end=$((SECONDS + 120))
last=
since=
settled=
while [ $SECONDS -lt $settle_end ]; do
        cmd status
        refaulted=$(value refaulted_bytes)
        cycles=$(value cycles)
        if [ "$refaulted" != "$last" ]; then
                last=$refaulted
                since=$cycles
        elif [ $((cycles - since)) -gt 2 ]; then
                settled=1
                break
        fi
        sleep 0.2
done
[ -n "$settled" ] || echo "    (the daemon was still counting after 2 minutes)"
echo "    daemon counts $(counter refaulted_bytes) MiB refaulted"
cmd verify
echo "    integrity: $(grep '^OK' <<<"$reply")"
echo
echo "==> the daemon's log:"
grep -vE '^<7>' "$work/daemon.log" | sed 's/^<[0-9]>/    /' | tail -12
