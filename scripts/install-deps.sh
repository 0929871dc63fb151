#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# install-deps.sh — install what building and testing uffdtier needs on Debian 12 (bookworm).
#
# Usage: scripts/install-deps.sh [--check] [--no-vm]
#   --check   only report what is missing (exit 1 if anything is)
#   --no-vm   leave out what the RWP guest tests need (qemu, busybox, cpio, xz, the archive keyring)
#
# Idempotent and fast when everything is there: packages are checked with dpkg-query first, and
# apt-get runs only for the missing ones.  The package lists are refreshed (apt-get update) only when
# there are none yet, or once if installing with the current lists fails.  Needs root (or sudo).

set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

check_only=0 vm=1
for arg; do
        case $arg in
        --check) check_only=1 ;;
        --no-vm) vm=0 ;;
        -h | --help) sed -n '4,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
        esac
done

# "a|b": either is fine, a is what gets installed
build_pkgs=(
        build-essential gcc clang "libclang-rt-14-dev|libclang-rt-dev" meson ninja-build pkg-config # meson brings python3
        libsystemd-dev libcgroup-dev libinih-dev libjansson-dev
        "dbus-daemon|dbus" # the integration tests' private bus
        util-linux procps ca-certificates
        jq # the bus test reads busctl's JSON
        gnuplot-nox # the comparison benchmark's chart (tests/bench/run-compare.sh)
        redis-server redis-tools # a real server under uffdtier-run (tests/integration/test-run-redis.sh)
        # the systemd suite: a Debian 12 container with a real systemd (no recommends: they pull
        # libnss-mymachines, which edits the host's /etc/nsswitch.conf)
        systemd-container debootstrap
        # metrics for fleets (test-metrics.sh): node_exporter serves the textfile, promtool (in
        # prometheus) checks it, curl scrapes; the Kubernetes manifests' lint (conf/kubernetes)
        prometheus-node-exporter prometheus curl yamllint
        # a real server tiered by uffdtier-run, with its own load tool (tests/bench/run-redis.sh)
        redis-server redis-tools
)
vm_pkgs=(
        qemu-system-x86 "busybox-static|busybox" cpio xz-utils debian-archive-keyring
)
wanted=("${build_pkgs[@]}")
[ $vm = 1 ] && wanted+=("${vm_pkgs[@]}")

installed() {
        [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]
}

missing=()
for alts in "${wanted[@]}"; do
        ok=0
        IFS='|' read -ra choices <<<"$alts"
        for p in "${choices[@]}"; do installed "$p" && { ok=1; break; }; done
        [ $ok = 1 ] || missing+=("${choices[0]}")
done

if [ ${#missing[@]} -eq 0 ]; then
        echo "install-deps: everything is installed"
        exit 0
fi
echo "install-deps: missing: ${missing[*]}"
[ $check_only = 1 ] && exit 1

SUDO=()
if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "install-deps: run as root (or install sudo)" >&2; exit 1; }
        SUDO=(sudo -E)
fi

apt_get() { "${SUDO[@]}" apt-get -q "$@"; }

# dbus-daemon is a package of its own since bookworm; older lists only know "dbus"
have_lists() { compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; }
updated=0
if ! have_lists; then
        apt_get update
        updated=1
fi
for i in "${!missing[@]}"; do
        if [ "${missing[i]}" = dbus-daemon ] && ! apt-cache show dbus-daemon >/dev/null 2>&1; then missing[i]=dbus; fi
done

# Installing is not starting: prometheus and prometheus-node-exporter would start their services
# (listening on every address) where nothing says not to. A policy-rc.d of our own says so while
# apt runs, if the machine has none.
policy=/usr/sbin/policy-rc.d
if [ ! -e $policy ] && [ $check_only = 0 ]; then
        "${SUDO[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy"
        trap '"${SUDO[@]}" rm -f '$policy EXIT
fi
install() { apt_get install -y --no-install-recommends "${missing[@]}"; }
if ! install; then
        [ $updated = 0 ] || exit 1
        echo "install-deps: retrying after apt-get update" >&2
        apt_get update
        install
fi
echo "install-deps: done"
