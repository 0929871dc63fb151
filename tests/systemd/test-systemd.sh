#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-systemd.sh BUILD CHECK — install the project with `meson install` into a throwaway Debian 12
# container whose PID 1 is a real systemd (systemd-nspawn, nspawn.sh), boot it, and run
# checks/check-CHECK.sh in it as a transient service of that systemd. The checks drive the
# installed units, uffdtierctl, busctl and journalctl as an administrator would.
#
# The build must be configured with --prefix=/usr --sysconfdir=/etc (scripts/test.sh does): the
# units, the D-Bus files and the configuration directory are where Debian's systemd and dbus read
# them only then.
#
# Needs root, systemd-nspawn and debootstrap (the rootfs is built once, from $UFFDTIER_TEST_MIRROR
# or the Debian archive in this machine's apt sources, and cached in /var/cache/uffdtier-tests). Leaves nothing behind: the
# container, its overlay, its cgroups and the staging tree are removed by cleanups that also run
# on failure and on SIGTERM/SIGINT; after a SIGKILL the container powers off by itself and the next
# run removes the rest.
set -uo pipefail
BUILD=$(realpath "${1:?usage: test-systemd.sh BUILD CHECK}")
CHECK=${2:?usage: test-systemd.sh BUILD CHECK}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
. "$SRC/tests/integration/lib.sh"
. "$HERE/nspawn.sh"

need_root
need_uffd
[ -e /dev/userfaultfd ] || skip "no /dev/userfaultfd to bind into the container (Linux 6.1+)"
ct_need_tools
[ -f "$HERE/checks/check-$CHECK.sh" ] || fail "no check named $CHECK"

if ! grep -q '^ExecStart=/usr/sbin/uffdtierd' "$BUILD/systemd/uffdtierd.service" ||
        ! grep -q '"/etc"' "$BUILD/config.h"; then
        skip "$BUILD is not configured with --prefix=/usr --sysconfdir=/etc (as scripts/test.sh does), so its installed files would not be where the container's systemd and dbus read them"
fi

# Eviction needs swap; the container shares this kernel's.
swap_ensure 512

ct_rootfs
ct_new
STAGE=$CT_RUN/stage
mkdir "$STAGE"
meson install -C "$BUILD" --no-rebuild --quiet --destdir "$STAGE/install" >"$STAGE/install.log" 2>&1 ||
        { cat "$STAGE/install.log" >&2; fail "meson install failed"; }

# The checks and what they drive: tests/integration's lib.sh and tier.sh with a BUILD tree whose
# daemon is the installed one. tier-client is linked against the build's libuffdtier by a
# RUNPATH that does not exist in the container, so it loads the installed library.
T=$STAGE/tests/usr/lib/uffdtier-tests
mkdir -p "$T/build/tests/helpers" "$T/build/daemon"
cp "$BUILD/tests/helpers/tier-client" "$T/build/tests/helpers/"
ln -s /usr/sbin/uffdtierd "$T/build/daemon/uffdtierd"
cp "$SRC/tests/integration/lib.sh" "$SRC/tests/integration/tier.sh" "$HERE/checks/"*.sh "$T/"

ct_boot "$STAGE/install" "$STAGE/tests"
echo "container up ($CT_ID); running check-$CHECK.sh"

ct_unit -p "Environment=BUILD=/usr/lib/uffdtier-tests/build" /usr/lib/uffdtier-tests/check-"$CHECK".sh
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
        echo "---- the container's journal (last 60 lines) ----" >&2
        ct_exec journalctl -b --no-pager -o short-monotonic -n 60 >&2
fi
ct_down
exit $rc
