#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-smoke: boot the RWP guest (tests/vm/run-in-vm.sh) and check inside it that the kernel offers
# userfaultfd read-write protection:
#   - tests/vm/rwp-check --exercise: UFFDIO_API(features=0) shows UFFD_FEATURE_RWP (bit 17),
#     UFFD_FEATURE_RWP_ASYNC (bit 18) and UFFDIO_SET_MODE, and protect + touch + PAGEMAP_SCAN work;
#   - when the daemon has its probe: `uffdtierd --probe --json` reports "backend": "rwp".
#
# Usage: test-vm-smoke.sh BUILD_DIR          (meson passes the build root)
# Exit status: 0 pass, 1 fail, 77 skip (the guest cannot be had here), else the harness's status.
# This file is POSIX sh: the guest half runs under busybox.

set -eu

if [ "${1:-}" = --guest ]; then
        build=$2 probe=$3
        echo "guest kernel: $(uname -r)"
        "$build/tests/vm/rwp-check" --exercise --registration || { echo "FAIL: rwp-check --exercise --registration"; exit 1; }
        if [ "$probe" = 1 ]; then
                out=$("$build/daemon/uffdtierd" --probe --json) || { echo "FAIL: uffdtierd --probe --json"; exit 1; }
                echo "$out"
                echo "$out" | grep -Eq '"backend"[[:space:]]*:[[:space:]]*"rwp"' ||
                        { echo 'FAIL: the probe does not report "backend": "rwp"'; exit 1; }
        fi
        echo "vm-smoke: ok"
        exit 0
fi

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
self=$here/$(basename "$0")

[ -x "$build/tests/vm/rwp-check" ] || { echo "FAIL: $build/tests/vm/rwp-check is not built" >&2; exit 1; }
set -- -f "$self" -f "$build/tests/vm/rwp-check"

# the probe is used once the daemon has it: it answers with JSON naming a backend on any kernel
probe=0
if [ -x "$build/daemon/uffdtierd" ] &&
        "$build/daemon/uffdtierd" --probe --json 2>/dev/null | grep -q '"backend"'; then
        probe=1
        set -- "$@" -f "$build/daemon/uffdtierd"
else
        echo "note: uffdtierd has no --probe yet; checking with rwp-check only"
fi

exec "$here/run-in-vm.sh" -s 64 -t 300 "$@" -- sh "$self" --guest "$build" "$probe"
