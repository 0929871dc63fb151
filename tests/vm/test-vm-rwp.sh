#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one of the integration tests (tests/integration/test-*.sh) inside the 7.3 guest, where the
# daemon picks the rwp backend: the real RWP kernel, real zram swap, the real daemon and helper.
# Usage: test-vm-rwp.sh BUILD_DIR TEST_NAME      e.g. test-vm-rwp.sh build tiering
# Exit status: the guest test's (77 = skipped, with the reason), 77 too when no guest can be had.
set -u
build=$(cd "${1:?usage: $0 BUILD_DIR TEST}" && pwd)
name=${2:?usage: $0 BUILD_DIR TEST}
here=$(cd "$(dirname "$0")" && pwd)
it=$(cd "$here/../integration" && pwd)

[ "$(id -u)" = 0 ] || { echo "SKIP: booting the guest needs root (for the daemon inside it)"; exit 77; }
for f in "$build/daemon/uffdtierd" "$build/tests/helpers/tier-client" "$it/test-$name.sh"; do
        [ -e "$f" ] || { echo "FAIL: $f is missing" >&2; exit 1; }
done

# The guest has 1 GiB and 512 MiB of zram swap; the workload is kept at 128 MiB so that the
# emulated guest (qemu TCG, ~50x slower than the host) gets through it in minutes.
# test-freed is about plain swap: there the guest's swap is a 512 MiB disk (no zram, zswap off,
# the guest kernel's default), and only its plain-swap part runs: on the guest's cgroup v2 the
# daemon's memory.reclaim must free what it paged out.
swap=(-s 512)
extra=()
if [ "$name" = freed ]; then
        swap=(-s 0 -w 512)
        extra=(UFFDTIER_FREED_ZSWAP=0)
fi
exec "$here/run-in-vm.sh" -m 1024 "${swap[@]}" -t 900 \
        -f "$build/daemon/uffdtierd" -f "$build/tests/helpers/tier-client" \
        -f "$it/lib.sh" -f "$it/tier.sh" -f "$it/test-$name.sh" -f /bin/bash \
        -- env UFFDTIER_TEST_SIZE_MIB=128 ${extra[@]+"${extra[@]}"} /bin/bash "$it/test-$name.sh" "$build"
