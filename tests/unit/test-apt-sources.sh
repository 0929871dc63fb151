#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/apt-sources.sh on fake apt source trees: the Debian archive is found in one-line and
# deb822 files (disabled paragraphs, comments, options, security and third-party sources
# skipped), none is found where there is none, and apt's proxy reaches the environment.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../apt-sources.sh"

fails=0
H=http # the fixtures' scheme; their hosts are .invalid and never reached
check() { # WHAT GOT WANT
        if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAIL: $1: got '$2', expected '$3'"; fails=$((fails + 1)); fi
}
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
mkdir "$T/parts"
export APT_SOURCES_LIST=$T/list APT_SOURCES_PARTS=$T/parts

# one-line: options in brackets (with spaces), comments, deb-src and a third-party source
cat >"$T/list" <<X
# deb ${H}://commented.invalid/debian sid main
deb-src ${H}://src.invalid/debian sid main
deb [arch=amd64 signed-by=/k.gpg] ${H}://vendor.invalid/apt nodistro main
deb [ signed-by=/usr/share/keyrings/debian-archive-keyring.gpg ] ${H}://mirror.invalid:3142/debian/ sid main contrib
X
apt_debian_mirror
check "one-line" "$APT_DEBIAN_MIRROR" ${H}://mirror.invalid:3142/debian

# deb822 only: a disabled paragraph, a security suite, several URIs on continuation lines
: >"$T/list"
cat >"$T/parts/debian.sources" <<X
Enabled: no
Types: deb
URIs: ${H}://disabled.invalid/debian
Suites: unstable
Components: main

# the security archive is not the archive
Types: deb deb-src
URIs: ${H}://security.invalid/debian-security
Suites: trixie-security
Components: main

Types: deb
URIs:
 ${H}://first.invalid/debian
 ${H}://second.invalid/debian
Suites: experimental unstable
Components: contrib main
X
apt_debian_mirror
check "deb822" "$APT_DEBIAN_MIRROR" ${H}://first.invalid/debian
check "deb822 entries" "$(apt_source_entries | grep -c .)" 6

# a file apt does not read, and nothing else: none, with the reason
rm "$T/parts/debian.sources"
echo "deb ${H}://ignored.invalid/debian sid main" >"$T/parts/debian.list.disabled"
if apt_debian_mirror; then
        check "no Debian source" "$APT_DEBIAN_MIRROR" ""
else
        check "no Debian source" "$(grep -c 'no Debian archive' <<<"$APT_SOURCES_WHY")" 1
fi

# apt's proxy, when the environment has none (apt-config reads APT_CONFIG)
if command -v apt-config >/dev/null; then
        echo "Acquire::http::Proxy \"${H}://proxy.invalid:3128\";" >"$T/apt.conf"
        got=$(unset http_proxy https_proxy; APT_CONFIG=$T/apt.conf apt_proxy_env; echo "$http_proxy $https_proxy")
        check "proxy from apt" "$got" "${H}://proxy.invalid:3128 ${H}://proxy.invalid:3128"
        got=$(export http_proxy=${H}://env.invalid:1; APT_CONFIG=$T/apt.conf apt_proxy_env; echo "$http_proxy")
        check "the environment's proxy wins" "$got" "${H}://env.invalid:1"
fi
[ $fails -eq 0 ] || exit 1
echo PASS
