# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# lib.sh — helpers for the integration tests (bash).  Source it:  . "$(dirname "$0")/lib.sh"
#
# Exit-status protocol (meson): 0 pass, 1 fail, 77 skip.
#
#   fail MSG...                 print "FAIL: MSG" on stderr, exit 1 (cleanups run)
#   skip MSG...                 print "SKIP: MSG" on stderr, exit 77 (cleanups run)
#   need_root                   skip unless running as root
#   need_uffd                   skip unless the kernel has userfaultfd
#   cleanup_push CMD...         run CMD (eval'd) when this shell exits — normally, by fail/skip, or
#                               on INT/TERM/HUP — in reverse order of registration.  Cleanups belong
#                               to the process that registered them: a ( subshell ) that pushes
#                               starts its own list and runs it when it ends.  Each cleanup starts
#                               with $? set to the exit status of the test (0: it passed).
#   wait_for TIMEOUT_S CMD...   run CMD every 0.1 s until it succeeds (0) or TIMEOUT_S pass (1)
#   wait_stable TIMEOUT_S TICKS CMD...   for a value that settles: CMD prints "VALUE CLOCK" (two
#                               integers, CLOCK counting up, e.g. the daemon's cycles); run it every
#                               0.2 s until VALUE has stayed the same while CLOCK advanced by more
#                               than TICKS -- TICKS whole clock periods without a change, which a
#                               stalled clock never gives (0) -- or TIMEOUT_S pass (1). The last VALUE
#                               read is left in $STABLE_VALUE either way (empty if none).
#   swapfile_add SIZE_MiB       add a swapfile of SIZE_MiB (usable: 4 KiB less) under /var/tmp
#                               (always; needs root); its path is
#                               left in $SWAPFILE; swapoff + removal are registered as a cleanup.
#                               Skips (77) where the filesystem cannot hold swap.
#   swap_ensure SIZE_MiB        make sure at least SIZE_MiB of swap is free: nothing to do when the
#                               machine already has it (or in the RWP guest, which has zram), else
#                               swapfile_add
#   swap_free_kib               free swap of the machine, KiB
#   start_private_dbus          start a private dbus-daemon (config and socket in a temp dir, killed
#                               and removed at cleanup); exports DBUS_SYSTEM_BUS_ADDRESS (and
#                               DBUS_SESSION_BUS_ADDRESS) pointing at it, pid in $DBUS_PID
#   count_fds PID               number of open file descriptors of PID
#   smaps_rss_kib PID ADDR [LEN]    Rss: of the VMA of PID starting at ADDR (hex, 0x optional); with
#   smaps_swap_kib PID ADDR [LEN]   LEN (bytes) the sum over every VMA overlapping [ADDR, ADDR+LEN)
#                               (a registered range may be split).  Print nothing, return 1 if none.
#   smaps_field_kib PID ADDR FIELD [LEN]   the same for any smaps field (Rss, Pss, Swap, Anonymous...)
#
# Environment: UFFDTIER_VM=1 inside the RWP guest (tests/vm/run-in-vm.sh).

if [ -z "${BASH_VERSION:-}" ]; then
        echo "lib.sh needs bash" >&2
        exit 1
fi

# ---- failure, skipping ----------------------------------------------------------------------

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

skip() {
        echo "SKIP: $*" >&2
        exit 77
}

need_root() {
        [ "$(id -u)" = 0 ] || skip "needs root"
}

need_uffd() {
        # the sysctl exists whenever the kernel is built with userfaultfd; /dev/userfaultfd since 6.1
        [ -e /proc/sys/vm/unprivileged_userfaultfd ] || [ -e /dev/userfaultfd ] ||
                skip "the kernel has no userfaultfd"
}

# ---- cleanups -------------------------------------------------------------------------------

_LIB_CLEANUPS=()
_LIB_CLEANUP_OWNER=

_lib_cleanup_run() { # EXIT_STATUS: what $? is when each cleanup starts
        local i rc=${1:-0}
        [ "${_LIB_CLEANUP_OWNER:-}" = "$BASHPID" ] || return 0
        for ((i = ${#_LIB_CLEANUPS[@]} - 1; i >= 0; i--)); do
                local cmd=${_LIB_CLEANUPS[i]}
                unset '_LIB_CLEANUPS[i]'
                ( (exit "$rc"); eval "$cmd") || echo "cleanup failed: $cmd" >&2
        done
        _LIB_CLEANUPS=()
}

_lib_on_exit() {
        local rc=$?
        _lib_cleanup_run $rc
        exit $rc
}

_lib_on_signal() { # SIGNAL STATUS
        trap - EXIT
        _lib_cleanup_run "$2"
        exit "$2"
}

cleanup_push() {
        [ $# -gt 0 ] || return 0
        if [ "${_LIB_CLEANUP_OWNER:-}" != "$BASHPID" ]; then
                # first cleanup of this process: the list inherited from a parent shell is not ours
                _LIB_CLEANUPS=()
                _LIB_CLEANUP_OWNER=$BASHPID
                trap _lib_on_exit EXIT
                trap '_lib_on_signal INT 130' INT
                trap '_lib_on_signal TERM 143' TERM
                trap '_lib_on_signal HUP 129' HUP
        fi
        _LIB_CLEANUPS+=("$*")
}

# ---- polling --------------------------------------------------------------------------------

wait_for() { # TIMEOUT_S CMD...
        local timeout=$1
        shift
        local deadline=$((SECONDS + timeout))
        while :; do
                "$@" && return 0
                [ "$SECONDS" -lt "$deadline" ] || return 1
                sleep 0.1
        done
}

STABLE_VALUE=
wait_stable() { # TIMEOUT_S TICKS CMD...
        local timeout=$1 ticks=$2
        shift 2
        local deadline=$((SECONDS + timeout)) out value clock last= since=
        STABLE_VALUE=
        while :; do
                if out=$("$@") && read -r value clock <<<"$out" &&
                        [[ $value =~ ^[0-9]+$ && $clock =~ ^[0-9]+$ ]]; then
                        STABLE_VALUE=$value
                        if [ "$value" != "$last" ]; then
                                last=$value
                                since=$clock
                        elif [ $((clock - since)) -gt "$ticks" ]; then
                                return 0
                        fi
                fi
                [ "$SECONDS" -lt "$deadline" ] || return 1
                sleep 0.2
        done
}

# ---- swap -----------------------------------------------------------------------------------

swap_free_kib() {
        awk '/^SwapFree:/ { print $2 }' /proc/meminfo
}

# shellcheck disable=SC2034 # (set for the tests)
SWAPFILE=
swapfile_add() { # SIZE_MiB
        local mib=$1 f
        if ! [[ $mib =~ ^[0-9]+$ ]] || [ "$mib" -eq 0 ]; then fail "swapfile_add: bad size '$mib'"; fi
        need_root
        f=$(mktemp /var/tmp/uffdtier-swap.XXXXXX) || fail "swapfile_add: cannot create a file in /var/tmp"
        # registered first: whatever happens below, the file goes away
        cleanup_push "swapoff '$f' 2>/dev/null; rm -f '$f'"
        chmod 600 "$f"
        if ! { fallocate -l "${mib}M" "$f" 2>/dev/null && mkswap "$f" >/dev/null 2>&1 && swapon "$f" 2>/dev/null; }; then
                # some filesystems refuse fallocated swapfiles ("has holes"): write it out
                rm -f "$f"
                (umask 077 && dd if=/dev/zero of="$f" bs=1M count="$mib" status=none) ||
                        skip "cannot write a ${mib} MiB swapfile in /var/tmp"
                mkswap "$f" >/dev/null 2>&1 || fail "mkswap $f failed"
                swapon "$f" 2>/dev/null || skip "/var/tmp cannot hold a swapfile (swapon $f failed)"
        fi
        # shellcheck disable=SC2034
        SWAPFILE=$f
}

swap_ensure() { # SIZE_MiB
        local mib=$1
        [[ $mib =~ ^[0-9]+$ ]] || fail "swap_ensure: bad size '$mib'"
        [ "$(swap_free_kib)" -ge $((mib * 1024)) ] && return 0
        swapfile_add $((mib + 1)) # + the swap header page
}

# ---- a private D-Bus --------------------------------------------------------------------------

DBUS_PID=
start_private_dbus() {
        local dir
        command -v dbus-daemon >/dev/null 2>&1 || skip "dbus-daemon is not installed"
        dir=$(mktemp -d "${TMPDIR:-/tmp}/uffdtier-dbus.XXXXXX") || fail "mktemp failed"
        cleanup_push "rm -rf '$dir'"
        cat >"$dir/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$dir/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
EOF
        dbus-daemon --config-file="$dir/bus.conf" --nofork --nopidfile --print-address=1 \
                >"$dir/address" 2>"$dir/log" </dev/null &
        DBUS_PID=$!
        cleanup_push "kill $DBUS_PID 2>/dev/null; wait $DBUS_PID 2>/dev/null; true"
        wait_for 10 test -s "$dir/address" || {
                cat "$dir/log" >&2
                fail "the private dbus-daemon did not start"
        }
        DBUS_SYSTEM_BUS_ADDRESS=$(head -n 1 "$dir/address")
        DBUS_SESSION_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS
        export DBUS_SYSTEM_BUS_ADDRESS DBUS_SESSION_BUS_ADDRESS
}

# ---- /proc ------------------------------------------------------------------------------------

count_fds() { # PID
        local fds=("/proc/$1/fd/"*)
        [ -e "${fds[0]}" ] || { [ -d "/proc/$1/fd" ] && echo 0 && return 0; return 1; }
        echo "${#fds[@]}"
}

smaps_field_kib() { # PID ADDR FIELD [LEN]
        local pid=$1 addr=${2#0x} field=$3 len=${4:-}
        addr=${addr#0X}
        [[ $addr =~ ^[0-9a-fA-F]+$ ]] || fail "smaps: bad address '$2'"
        local start end=""
        start=$(printf '%016x' "$((16#$addr))")
        [ -n "$len" ] && end=$(printf '%016x' "$((16#$addr + len))")
        # addresses compared as 16-digit lowercase hex strings (no 64-bit arithmetic in mawk)
        awk -v start="$start" -v end="$end" -v field="$field:" '
                function pad(h) { h = tolower(h); while (length(h) < 16) h = "0" h; return h }
                /^[0-9a-f]+-[0-9a-f]+ / {
                        split($1, r, "-"); s = pad(r[1]); e = pad(r[2])
                        in_vma = (end == "") ? (s == start) : (s < end && e > start)
                        next
                }
                in_vma && $1 == field { sum += $2; found = 1 }
                END { if (!found) exit 1; print sum }
        ' "/proc/$pid/smaps"
}

smaps_rss_kib() { smaps_field_kib "$1" "$2" Rss "${3:-}"; }
smaps_swap_kib() { smaps_field_kib "$1" "$2" Swap "${3:-}"; }
