# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# apt-sources.sh — where this machine gets Debian packages from, read from its own apt
# configuration, so that the project names no package server. Sourced by tests/vm/run-in-vm.sh
# (the guest's kernel) and tests/systemd/nspawn.sh (the container's rootfs).
#
#   apt_debian_mirror           set APT_DEBIAN_MIRROR to the URI of the Debian archive in the machine's apt sources:
#                               the one-line files (sources.list, sources.list.d/*.list) and the
#                               deb822 ones (sources.list.d/*.sources, Enabled: no skipped), where
#                               apt-config says they are. A Debian archive is a "deb" source with
#                               the component main for a Debian suite (unstable, sid, testing,
#                               stable, oldstable, experimental, or this Debian release's codename;
#                               -security, -updates and -backports suites are not the archive).
#                               A local mirror's or a caching proxy's URI (apt-cacher-ng's) is
#                               taken as it is. Returns 1, with the reason in APT_SOURCES_WHY, when
#                               there is none.
#   apt_proxy_env               export http_proxy/https_proxy from apt's Acquire::http::Proxy and
#                               Acquire::https::Proxy when the environment has none, for tools that
#                               fetch by themselves (debootstrap's wget); apt-get reads them itself.
#   apt_source_entries          print "TYPE URI SUITE COMPONENTS..." for every enabled source
#                               (for the two above, and for tests)
#
# APT_SOURCES_LIST and APT_SOURCES_PARTS override where the sources are read (tests use them).

APT_SOURCES_WHY= APT_DEBIAN_MIRROR=

apt_sources_paths() {
        local list parts
        if [ -n "${APT_SOURCES_LIST+set}" ] || [ -n "${APT_SOURCES_PARTS+set}" ]; then
                echo "${APT_SOURCES_LIST:-/dev/null}"
                echo "${APT_SOURCES_PARTS:-/dev/null}"
                return 0
        fi
        if command -v apt-config >/dev/null 2>&1; then
                eval "$(apt-config shell list Dir::Etc::SourceList/f parts Dir::Etc::SourceParts/d 2>/dev/null)"
        fi
        echo "${list:-/etc/apt/sources.list}"
        echo "${parts:-/etc/apt/sources.list.d/}"
}

# one-line format: deb [opt=val ...] URI SUITE [COMPONENT...]
apt_sources_oneline() { # FILE
        sed -e 's/#.*//' -e 's/\[[^]]*\]//g' "$1" 2>/dev/null |
                awk '($1 == "deb" || $1 == "deb-src") && NF >= 3 { $1 = $1; print }'
}

# deb822 format: paragraphs of "Field: value" lines; one entry per type, URI and suite
apt_sources_deb822() { # FILE
        awk '
        function flush(   nt, nu, ns, t, u, s, i, j, k, tv, uv, sv) {
                if (types != "" && uris != "" && suites != "" && tolower(enabled) != "no") {
                        nt = split(types, tv, /[ \t]+/)
                        nu = split(uris, uv, /[ \t]+/)
                        ns = split(suites, sv, /[ \t]+/)
                        for (i = 1; i <= nt; i++)
                                for (j = 1; j <= nu; j++)
                                        for (k = 1; k <= ns; k++)
                                                if (tv[i] != "" && uv[j] != "" && sv[k] != "")
                                                        print tv[i], uv[j], sv[k], comps
                }
                types = uris = suites = comps = enabled = ""; field = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]/ { # a continuation line (multi-line values)
                v = $0; gsub(/^[ \t]+|[ \t]+$/, "", v)
                if (field == "types") types = types " " v
                else if (field == "uris") uris = uris " " v
                else if (field == "suites") suites = suites " " v
                else if (field == "components") comps = comps " " v
                next
        }
        {
                i = index($0, ":")
                if (i == 0) next
                field = tolower(substr($0, 1, i - 1)); v = substr($0, i + 1)
                gsub(/^[ \t]+|[ \t]+$/, "", v)
                if (field == "types") types = v
                else if (field == "uris") uris = v
                else if (field == "suites") suites = v
                else if (field == "components") comps = v
                else if (field == "enabled") enabled = v
        }
        END { flush() }' "$1" 2>/dev/null
}

apt_source_entries() {
        local paths list parts f
        mapfile -t paths < <(apt_sources_paths)
        list=${paths[0]} parts=${paths[1]}
        [ -f "$list" ] && apt_sources_oneline "$list"
        if [ -d "$parts" ]; then
                for f in "$parts"/*.list; do [ -f "$f" ] && apt_sources_oneline "$f"; done
                for f in "$parts"/*.sources; do [ -f "$f" ] && apt_sources_deb822 "$f"; done
        fi
        return 0
}

apt_debian_mirror() {
        local codename='' id='' uri
        if [ -r /etc/os-release ]; then
                # shellcheck disable=SC1091
                id=$(. /etc/os-release && echo "${ID:-}")
                # shellcheck disable=SC1091
                codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
        fi
        # a codename names a Debian suite only on Debian (Ubuntu's are its own archive)
        [ "$id" = debian ] || codename=
        uri=$(apt_source_entries | awk -v cn="$codename" '
                $1 != "deb" { next }
                {
                        main = 0
                        for (i = 4; i <= NF; i++) if ($i == "main") main = 1
                        s = $3
                        debian = (s == "unstable" || s == "sid" || s == "testing" || s == "stable" ||
                                  s == "oldstable" || s == "experimental" || (cn != "" && s == cn))
                        if (main && debian) { sub(/\/+$/, "", $2); print $2; exit }
                }')
        if [ -z "$uri" ]; then
                APT_SOURCES_WHY="no Debian archive (a deb source with main for a Debian suite) in this machine's apt sources ($(apt_sources_paths | tr '\n' ' ' | sed 's/ $//'))"
                return 1
        fi
        APT_DEBIAN_MIRROR=$uri
}

apt_proxy_env() {
        local http='' https=''
        command -v apt-config >/dev/null 2>&1 || return 0
        eval "$(apt-config shell http Acquire::http::Proxy https Acquire::https::Proxy 2>/dev/null)"
        [ "$http" = DIRECT ] && http=
        [ "$https" = DIRECT ] && https=
        if [ -z "${http_proxy:-}" ] && [ -n "$http" ]; then export http_proxy=$http; fi
        if [ -z "${https_proxy:-}" ] && [ -n "${https:-$http}" ]; then export https_proxy=${https:-$http}; fi
        return 0
}
