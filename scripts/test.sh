#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds uffdtier twice with warnings as errors -- a plain build and an AddressSanitizer +
# UndefinedBehaviorSanitizer build (clang) -- and runs the whole test suite in each. Tests that
# need something this machine lacks exit 77 and show as SKIP with their reason in the log.
# The guest (vm) suite boots a 7.3 kernel under software emulation and runs in the plain build
# only: its binaries are the same code, and ASan under TCG emulation is slow for no gain.
# The systemd suite installs the plain build into a Debian 12 container (systemd-nspawn) and runs
# it under the installed, hardened unit: hence --prefix=/usr --sysconfdir=/etc, where Debian's
# systemd and dbus read the units and policy files. It runs in the plain build only, too: the unit's
# seccomp filter and MemoryDenyWriteExecute= are not made for ASan's runtime.
# Prints one closing line "N passed, N failed, N skipped" over both builds.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

setup() {
        local dir=$1; shift
        if [ -f "$dir/build.ninja" ]; then
                meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1
        else
                rm -rf "$dir"
                meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
        fi || { cat "$dir.setup.log"; echo "meson setup $dir failed" >&2; exit 1; }
}

run_suite() {
        local dir=$1; shift
        echo "==> meson test -C $dir $*"
        meson test -C "$dir" --print-errorlogs "$@"
}

rc=0
setup build-test -Dwerror=true -Dbuildtype=debugoptimized --prefix=/usr --sysconfdir=/etc
ninja -C build-test || exit 1
run_suite build-test || rc=1
mv build-test/meson-logs/testlog.json build-test/meson-logs/testlog-plain.json

CC=clang setup build-test-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debug
ninja -C build-test-asan || exit 1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        run_suite build-test-asan --no-suite vm --no-suite systemd --timeout-multiplier 3 || rc=1

python3 - "$root/build-test/meson-logs/testlog-plain.json" \
        "$root/build-test-asan/meson-logs/testlog.json" <<'PY'
import json, sys
p = f = s = 0
for path in sys.argv[1:]:
    with open(path) as fh:
        for line in fh:
            r = json.loads(line)["result"]
            if r in ("OK", "EXPECTEDFAIL"): p += 1
            elif r == "SKIP": s += 1
            else: f += 1
print(f"{p} passed, {f} failed, {s} skipped")
PY
exit $rc
