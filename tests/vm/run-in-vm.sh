#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-in-vm.sh — run one command inside a throwaway Linux guest whose kernel has userfaultfd
# read-write protection (RWP, Linux >= 7.3), and return its exit status.
#
# Usage: run-in-vm.sh [-f PATH]... [-m MiB] [-s SWAP_MiB] [-w DISK_SWAP_MiB] [-c CPUS] [-t SECONDS] -- COMMAND [ARGS...]
#
#   -f PATH   copy PATH (file or directory) into the guest at the same absolute path; repeatable.
#             The shared libraries of every ELF executable or library copied are added too (ldd,
#             so RUNPATH/$ORIGIN of build-tree binaries works), and so is the interpreter of a
#             "#!" script when the guest lacks it (e.g. /bin/bash).
#   -m MiB    guest memory (default 1024)
#   -s MiB    size of the zram swap device (default 512; 0 = no zram)
#   -w MiB    plain swap on a disk of that size (default 0 = none): an emulated NVMe drive backed
#             by a sparse file in the work directory, /dev/nvme0n1 in the guest, swapped on at
#             boot. With -s 0 the guest's only swap is then an ordinary block device, as a
#             swapfile on a disk (zswap stays off: the guest kernel's default)
#   -c CPUS   guest CPUs (default 2)
#   -t SEC    timeout for the whole run, boot included (default 300)
#
# COMMAND runs as root in the guest, with /proc, /sys, /sys/fs/cgroup (cgroup2), /dev (devtmpfs,
# so /dev/userfaultfd exists when the kernel has it), /dev/pts, /dev/shm, /run and /tmp mounted
# (/run and /tmp stay plain directories of the in-RAM root when -f put files there),
# busybox providing the usual tools, stdin from /dev/null, UFFDTIER_VM=1 in the environment, and
# the current directory of the caller if it was copied in (else /).  Its output, together with
# kernel warnings (the guest boots with "quiet"), is streamed to stdout as it happens.
#
# Exit status: COMMAND's exit status in the guest (77 included);
#              124  timeout;
#              125  the harness failed (message on stderr);
#               77  also when the guest cannot be had at all: not an x86_64 host, qemu or busybox
#                   missing and not installable, no kernel >= 7.3 with CONFIG_USERFAULTFD_RWP=y
#                   reachable.  The reason is on stderr; test suites turn it into a SKIP.
#
# How: the guest kernel is Debian's newest linux-binary-X.Y-cloud-amd64 (X.Y >= 7.3) from the
# unstable/experimental suites, fetched with `apt-get download` through a private apt configuration
# that lives in the cache directory (the system's apt sources, lists and caches are not touched).
# Its config must say CONFIG_USERFAULTFD_RWP=y.  The kernel, its config and the few modules needed
# (zram and its dependencies) are kept in the cache; downloads are serialised with flock, so any
# number of runs may go on at once.  Each run builds an initramfs (busybox + your files) in a
# private temporary directory, removed on exit, and boots it with qemu's software emulation
# (-accel tcg: nested KVM cannot run this kernel).  Timings inside the guest are therefore not
# meaningful; behaviour is.  The vCPUs share one host thread (tcg,thread=single): with qemu 7.2's
# multi-threaded TCG the guest kernel's live code patching (static keys flipped while another vCPU
# runs that code) occasionally oopses on a stale int3; round-robin emulation costs ~0.7 s per boot.
#
# Environment:
#   UFFDTIER_VM_CACHE    cache directory (default /var/cache/uffdtier-vm for root, else
#                        ${XDG_CACHE_HOME:-~/.cache}/uffdtier-vm)
#   UFFDTIER_VM_REFRESH  set to 1 to look for a newer kernel package even when one is cached
#   UFFDTIER_VM_MIRROR   Debian mirror (default: the Debian archive in this machine's own apt
#                        sources, tests/apt-sources.sh; apt-get reads the machine's apt.conf, so
#                        its Acquire::http::Proxy applies)
#   UFFDTIER_VM_APPEND   extra kernel command line arguments
#   UFFDTIER_VM_TCG_THREAD  "single" (default) or "multi" (faster, see above)
#   UFFDTIER_VM_QEMU_WRAPPER  a command qemu runs under (words split on blanks), e.g.
#                        "uffdtier-run --socket=PATH --": the host tiers the guest's RAM
#   UFFDTIER_VM_CONTROL  PATH of a pair of FIFOs PATH.in and PATH.out (made by the caller): the
#                        guest's second serial port, /dev/ttyS1 (what is written to PATH.in the
#                        guest reads there)
#   TMPDIR               where the per-run work directory goes (default /var/tmp)

set -euo pipefail
shopt -s nullglob

PROG=run-in-vm
if [ "$(id -u)" = 0 ]; then
        CACHE=${UFFDTIER_VM_CACHE:-/var/cache/uffdtier-vm}
else
        CACHE=${UFFDTIER_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uffdtier-vm}
fi
MIRROR=${UFFDTIER_VM_MIRROR:-} # found in the apt sources when a kernel is to be fetched
# shellcheck source=../apt-sources.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../apt-sources.sh"
MIN_MAJOR=7 MIN_MINOR=3
KMODS=(zram) # modules to load in the guest (dependencies are resolved from the .ko files)
MEM=1024 SWAP=512 DISK_SWAP=0 CPUS=2 TMO=300
FILES=()

die() { echo "$PROG: $*" >&2; exit 125; }         # a real failure
unavailable() { echo "$PROG: $*" >&2; exit 77; } # the guest cannot be had here: skip
usage() { # EXIT_STATUS
        sed -n '/^# Usage:/,/^# Exit status/{/^# Exit status/d;s/^# \{0,1\}//;p}' "$0" >&"$(($1 ? 2 : 1))"
        exit "$1"
}
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

while getopts "f:m:s:w:c:t:h" opt; do
        case $opt in
        f) FILES+=("$OPTARG") ;;
        m) is_uint "$OPTARG" || die "-m needs a number of MiB"; MEM=$OPTARG ;;
        s) is_uint "$OPTARG" || die "-s needs a number of MiB"; SWAP=$OPTARG ;;
        w) is_uint "$OPTARG" || die "-w needs a number of MiB"; DISK_SWAP=$OPTARG ;;
        c) is_uint "$OPTARG" || die "-c needs a number of CPUs"; CPUS=$OPTARG ;;
        t) is_uint "$OPTARG" || die "-t needs a number of seconds"; TMO=$OPTARG ;;
        h) usage 0 ;;
        *) usage 125 ;;
        esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || usage 125

[ "$(uname -m)" = x86_64 ] || unavailable "needs an x86_64 host (the guest runs the host's binaries)"

# ---------------------------------------------------------------------------------------------
# 1. Host tools.  Missing ones are installed with apt-get when we are root; if that is not
#    possible the guest cannot be had (exit 77).

ensure_tools() {
        local need=() pair
        for pair in qemu-system-x86_64:qemu-system-x86 busybox:busybox-static cpio:cpio \
                xz:xz-utils flock:util-linux gzip:gzip dpkg-deb:dpkg apt-get:apt \
                ldd:libc-bin; do
                command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
        done
        [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
        [ ${#need[@]} -eq 0 ] && return 0
        [ "$(id -u)" = 0 ] || unavailable "missing ${need[*]} (run as root to install, or see scripts/install-deps.sh)"
        command -v apt-get >/dev/null 2>&1 || unavailable "missing ${need[*]} and no apt-get"
        echo "$PROG: installing ${need[*]}" >&2
        local log
        log=$(mktemp)
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >"$log" 2>&1; then
                # a fresh machine may have no package lists yet
                if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                        --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
                        tail -n 5 "$log" >&2
                        rm -f "$log"
                        unavailable "cannot install ${need[*]}"
                fi
        fi
        rm -f "$log"
}
ensure_tools

# ---------------------------------------------------------------------------------------------
# 2. The kernel.  Cache layout:
#      $CACHE/lock                       flock(1) lock for everything below
#      $CACHE/apt/                       private apt configuration, lists and caches
#      $CACHE/kernels/PKG_VERSION/       vmlinuz, config, package, modules/*.ko, modules/load-order
#      $CACHE/kernels/current -> ...     the kernel runs use

APT_DIR=$CACHE/apt
APT_OPTS=(
        -o Dir::Etc::SourceList="$APT_DIR/sources.list"
        -o Dir::Etc::SourceParts="$APT_DIR/sources.list.d"
        -o Dir::Etc::Preferences="$APT_DIR/preferences"
        -o Dir::Etc::PreferencesParts="$APT_DIR/preferences.d"
        -o Dir::State="$APT_DIR/state"
        -o Dir::State::Lists="$APT_DIR/lists"
        -o Dir::State::status="$APT_DIR/status"
        -o Dir::Cache="$APT_DIR/cache"
        -o APT::Architecture=amd64 -o APT::Architectures=amd64
        -o Acquire::Languages=none
        -q
)

apt_setup() {
        mkdir -p "$APT_DIR"/{sources.list.d,preferences.d,state,lists/partial,cache/archives/partial}
        : >"$APT_DIR/preferences"
        [ -e "$APT_DIR/status" ] || : >"$APT_DIR/status"
        local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
        printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$MIRROR" sid "$keyring" "$MIRROR" experimental \
                >"$APT_DIR/sources.list"
}

# newest linux-binary-X.Y[.Z][+flavour]-cloud-amd64 with X.Y >= MIN, as "name version"
pick_kernel() {
        local names name best_ver="" v
        names=$(apt-cache "${APT_OPTS[@]}" pkgnames linux-binary- 2>/dev/null |
                grep -E '^linux-binary-[0-9]+\.[0-9]+(\.[0-9]+)?(\+[a-z0-9]+)?-cloud-amd64$' |
                awk -v M="$MIN_MAJOR" -v m="$MIN_MINOR" 'match($0, /^linux-binary-[0-9]+\.[0-9]+(\.[0-9]+)?/) {
                        n = split(substr($0, 14, RLENGTH - 13), v, ".")
                        if (v[1] > M || (v[1] == M && v[2] >= m)) print v[1] "." v[2] "." (n > 2 ? v[3] : 0) " " $0
                }' | sort -V | awk '{print $2}') || true
        name=$(tail -n 1 <<<"$names")
        [ -n "$name" ] || return 1
        # the highest version of that package over both suites (sort -V does not know "~")
        for v in $(apt-cache "${APT_OPTS[@]}" show "$name" 2>/dev/null | sed -n 's/^Version: //p'); do
                if [ -z "$best_ver" ] || dpkg --compare-versions "$v" gt "$best_ver"; then best_ver=$v; fi
        done
        [ -n "$best_ver" ] || return 1
        echo "$name $best_ver"
}

# .ko dependencies, from the module's own modinfo section ("depends=a,b")
ko_depends() { xz -dcf "$1" | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '; }

# unpack PKG=VER (+ its modules and base packages) into $CACHE/kernels/PKG_VER
fetch_kernel() {
        local name=$1 ver=$2 dest tmp log pkgs=() p
        dest=$CACHE/kernels/${name}_${ver}
        [ -e "$dest/vmlinuz" ] && return 0
        tmp=$(mktemp -d "$CACHE/kernels/.new.XXXXXX")
        log=$tmp/apt.log
        for p in "$name" "${name/binary/modules}" "${name/binary/base}"; do
                apt-cache "${APT_OPTS[@]}" show "$p=$ver" >/dev/null 2>&1 && pkgs+=("$p=$ver")
        done
        echo "$PROG: downloading ${pkgs[*]}" >&2
        mkdir "$tmp/debs"
        # apt drops privileges to _apt for downloads: let it write there
        [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1 && chown _apt "$tmp/debs"
        if ! (cd "$tmp/debs" && apt-get "${APT_OPTS[@]}" download "${pkgs[@]}") >"$log" 2>&1; then
                tail -n 5 "$log" >&2
                rm -rf "$tmp"
                no_kernel "cannot download ${pkgs[*]} from $MIRROR"
                return 1
        fi
        mkdir "$tmp/x" "$tmp/modules"
        for p in "$tmp"/debs/*.deb; do dpkg-deb -x "$p" "$tmp/x" || { rm -rf "$tmp"; die "cannot unpack $p"; }; done
        local kver config vmlinuz
        kver=$(basename "$(echo "$tmp"/x/usr/lib/modules/*)")
        config=$tmp/x/usr/lib/modules/$kver/config
        [ -f "$config" ] || config=$(echo "$tmp"/x/boot/config-*)
        vmlinuz=$tmp/x/usr/lib/modules/$kver/vmlinuz
        [ -f "$vmlinuz" ] || vmlinuz=$(echo "$tmp"/x/boot/vmlinuz-*)
        if [ ! -f "$config" ] || [ ! -f "$vmlinuz" ]; then rm -rf "$tmp"; die "no kernel image or config in ${pkgs[*]}"; fi
        if ! grep -qx 'CONFIG_USERFAULTFD_RWP=y' "$config"; then
                rm -rf "$tmp"
                no_kernel "$name $ver lacks CONFIG_USERFAULTFD_RWP=y"
                return 1
        fi
        cp "$vmlinuz" "$tmp/vmlinuz"
        cp "$config" "$tmp/config"
        echo "$name $ver $kver" >"$tmp/package"
        # modules, dependencies first; built-in ones (=y) need nothing
        local -a todo=("${KMODS[@]}") order=()
        local m f d
        declare -A seen=()
        while [ ${#todo[@]} -gt 0 ]; do
                m=${todo[-1]}
                if [ -n "${seen[$m]:-}" ]; then
                        unset 'todo[-1]'
                        [ "${seen[$m]}" = open ] && { seen[$m]="done"; order+=("$m"); }
                        continue
                fi
                seen[$m]=open
                f=$(find "$tmp/x/usr/lib/modules/$kver/kernel" \( -name "$m.ko" -o -name "$m.ko.*" -o \
                        -name "${m//_/-}.ko" -o -name "${m//_/-}.ko.*" \) -print -quit)
                [ -n "$f" ] || { rm -rf "$tmp"; die "module $m not found in ${pkgs[*]}"; }
                xz -dcf "$f" >"$tmp/modules/$m.ko"
                for d in $(ko_depends "$tmp/modules/$m.ko"); do
                        [ -n "${seen[$d]:-}" ] || todo+=("$d")
                done
        done
        printf '%s\n' "${order[@]}" >"$tmp/modules/load-order"
        rm -rf "$tmp/x" "$tmp/debs" "$log"
        chmod 755 "$tmp"
        mv -T "$tmp" "$dest"
}

# no (new) kernel to be had: fall back on the cached one when there is one, else skip
no_kernel() {
        [ -e "$CACHE/kernels/current/vmlinuz" ] || unavailable "$*"
        echo "$PROG: warning: $*; using the cached kernel" >&2
}

prepare_kernel() {
        mkdir -p "$CACHE/kernels" || die "cannot create $CACHE (set UFFDTIER_VM_CACHE)"
        exec 9>>"$CACHE/lock" || die "cannot write $CACHE/lock (set UFFDTIER_VM_CACHE)"
        flock 9
        rm -rf "$CACHE"/kernels/.new.* # left by an interrupted run (we hold the lock)
        if [ ! -e "$CACHE/kernels/current/vmlinuz" ] || [ "${UFFDTIER_VM_REFRESH:-0}" = 1 ]; then
                if [ -z "$MIRROR" ]; then
                        apt_debian_mirror ||
                                unavailable "$APT_SOURCES_WHY: set UFFDTIER_VM_MIRROR to a Debian mirror"
                        MIRROR=$APT_DEBIAN_MIRROR
                fi
                apt_setup
                local log=$APT_DIR/update.log pick pname pver
                # apt-get update exits 0 when an index could not be fetched: look at what it said
                if ! apt-get "${APT_OPTS[@]}" update >"$log" 2>&1 ||
                        grep -qE '^(E:|W: (Failed to fetch|Some index files failed))' "$log"; then
                        grep -E '^(E|W):' "$log" | head -n 5 >&2
                        no_kernel "cannot fetch the sid/experimental package lists from $MIRROR"
                elif ! pick=$(pick_kernel); then
                        no_kernel "no linux-binary-*-cloud-amd64 >= $MIN_MAJOR.$MIN_MINOR in sid/experimental"
                elif read -r pname pver <<<"$pick" && fetch_kernel "$pname" "$pver"; then
                        ln -sfn "${pname}_${pver}" "$CACHE/kernels/current.tmp"
                        mv -T "$CACHE/kernels/current.tmp" "$CACHE/kernels/current"
                fi
        fi
        flock -u 9
}
prepare_kernel
# resolve once: a concurrent refresh may move "current", but kernel directories are never removed
KDIR=$(readlink -f "$CACHE/kernels/current")
grep -qx 'CONFIG_USERFAULTFD_RWP=y' "$KDIR/config" || die "$KDIR: kernel lacks CONFIG_USERFAULTFD_RWP=y"

# ---------------------------------------------------------------------------------------------
# 3. The initramfs, in a private work directory that goes away whatever happens.

W=$(mktemp -d "${TMPDIR:-/var/tmp}/uffdtier-vm.XXXXXX") || die "cannot create a work directory"
QEMU_PID=
# shellcheck disable=SC2317 # (called from the EXIT trap)
cleanup() {
        set +e
        if [ -n "$QEMU_PID" ]; then
                kill "$QEMU_PID" 2>/dev/null # timeout(1) passes the signal on to qemu
                wait "$QEMU_PID" 2>/dev/null
        fi
        rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

R=$W/root
# merged-/usr layout: whatever directory the host's files claim, they land in one tree
mkdir -p "$R"/usr/{bin,sbin,lib,lib64} "$R"/{proc,sys,dev,run,tmp,root,etc,mnt,var/tmp,modules}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$R/$d"; done
chmod 1777 "$R/tmp" "$R/var/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
echo uffdtier-vm >"$R/etc/hostname"

declare -A COPIED=()
is_elf() { local magic; LC_ALL=C IFS= read -r -n 4 -d '' magic <"$1" 2>/dev/null; [ "$magic" = $'\x7fELF' ]; }

# copy one host file to the same path in the guest (following symlinks: the guest gets the content)
put() {
        local src=$1 dst=${2:-$1}
        [ -n "${COPIED[$dst]:-}" ] && return 0
        COPIED[$dst]=1
        mkdir -p "$R$(dirname "$dst")"
        cp -L -p --remove-destination "$src" "$R$dst" || die "cannot copy $src"
}

# the shared libraries (and ELF interpreter) of an ELF file, at the paths the loader will open
add_libs() {
        local f=$1 lib out
        out=$(ldd "$f" 2>/dev/null) || return 0 # static, or not a dynamic object
        while read -r lib; do
                case $lib in
                NOTFOUND:*) echo "$PROG: warning: ${f}: ${lib#NOTFOUND:} not found by ldd" >&2 ;;
                /*) put "$lib" "$(realpath -sm "$lib")" ;;
                esac
        done < <(awk '$2 == "=>" && $3 == "not" { print "NOTFOUND:" $1; next }
                      $2 == "=>" && $3 ~ /^\// { print $3; next }
                      $1 ~ /^\// { print $1 }' <<<"$out")
}

# "#!" interpreters the guest lacks (busybox provides /bin/sh); "#!/usr/bin/env prog" too
add_interpreter() {
        local f=$1 line interp arg
        LC_ALL=C IFS= read -r line <"$f" 2>/dev/null || true
        [[ $line == '#!'* ]] || return 0
        read -r interp arg _ <<<"${line#\#!}"
        if [[ $interp == */env && -n ${arg:-} && $arg != -* ]]; then
                [ -e "$R/usr/bin/$arg" ] && return 0
                interp=$(command -v "$arg") || { echo "$PROG: warning: $f needs $arg, not on this host" >&2; return 0; }
        fi
        [[ $interp == /* ]] || return 0
        [ -e "$R$interp" ] && return 0
        [ -x "$interp" ] || { echo "$PROG: warning: $f needs $interp, not on this host" >&2; return 0; }
        put "$interp"
        add_libs "$interp"
}

scan_file() {
        if is_elf "$1"; then add_libs "$1"; elif [ -x "$1" ]; then add_interpreter "$1"; fi
}

add_path() {
        local p f
        p=$(realpath -s "$1") || die "-f $1: no such file or directory"
        [ -e "$p" ] || die "-f $1: no such file or directory"
        mkdir -p "$R$(dirname "$p")"
        if [ -d "$p" ]; then
                # the directory's own symlinks stay symlinks; a symlink given on the command line is followed
                rm -rf "${R:?}$p"
                cp -a -H "$p" "$R$p" || die "cannot copy $p"
                while IFS= read -r -d '' f; do
                        scan_file "$f"
                done < <(find -L "$p" -type f \( -perm -u+x -o -name '*.so' -o -name '*.so.*' \) -print0 2>/dev/null)
        else
                put "$p"
                scan_file "$p"
        fi
}

BUSYBOX=$(command -v busybox)
put "$BUSYBOX" /usr/bin/busybox
add_libs "$BUSYBOX" # nothing for busybox-static; makes a dynamic busybox work too
for applet in $("$BUSYBOX" --list); do
        [ -e "$R/usr/bin/$applet" ] || ln -s busybox "$R/usr/bin/$applet"
done
for f in "${FILES[@]}"; do add_path "$f"; done

cp "$KDIR"/modules/*.ko "$KDIR/modules/load-order" "$R/modules/"

# the command, one single-quoted word per argument
quote() { local s=${1//\'/\'\\\'\'}; printf "'%s' " "$s"; }
{
        printf 'set -- '
        for a in "$@"; do quote "$a"; done
        printf '\n'
} >"$R/command"

TOKEN=$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
cat >"$R/init" <<EOF
#!/bin/sh
# generated by run-in-vm.sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb UFFDTIER_VM=1
harness_fail() { echo "run-in-vm guest: \$*"; echo "UFFDTIER-VM-$TOKEN-SETUP-FAILED"; poweroff -f; }
mount -t proc proc /proc && mount -t sysfs sysfs /sys && mount -t devtmpfs devtmpfs /dev || harness_fail "cannot mount /proc /sys /dev"
mkdir -p /dev/pts /dev/shm
ln -s /proc/self/fd /dev/fd; ln -s fd/0 /dev/stdin; ln -s fd/1 /dev/stdout; ln -s fd/2 /dev/stderr
mount -t devpts devpts /dev/pts; mount -t tmpfs -o mode=1777 shm /dev/shm
# /run and /tmp get their own tmpfs unless files were copied there (the root is in RAM anyway)
[ -n "\$(ls -A /run)" ] || mount -t tmpfs -o mode=755 run /run
[ -n "\$(ls -A /tmp)" ] || mount -t tmpfs -o mode=1777 tmp /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
hostname uffdtier-vm; ip link set lo up 2>/dev/null
if [ ! -e /dev/userfaultfd ] && [ -r /sys/class/misc/userfaultfd/dev ]; then
        IFS=: read maj min </sys/class/misc/userfaultfd/dev && mknod -m 600 /dev/userfaultfd c "\$maj" "\$min"
fi
if [ $SWAP -gt 0 ]; then
        while read m; do insmod /modules/\$m.ko || harness_fail "insmod \$m failed"; done </modules/load-order
        echo ${SWAP}M >/sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null && swapon /dev/zram0 ||
                harness_fail "cannot set up the zram swap device"
fi
if [ $DISK_SWAP -gt 0 ]; then
        # the NVMe driver is built in, but probes asynchronously
        i=0
        while [ ! -b /dev/nvme0n1 ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
        mkswap /dev/nvme0n1 >/dev/null && swapon /dev/nvme0n1 || harness_fail "cannot set up the disk swap"
fi
cd $(quote "$PWD") 2>/dev/null || cd /
. /command
("\$@") </dev/null
echo "UFFDTIER-VM-$TOKEN-EXIT=\$?"
poweroff -f
EOF
chmod 755 "$R/init"

(cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) >"$W/initrd" ||
        die "cannot build the initramfs"

# ---------------------------------------------------------------------------------------------
# 4. Boot.  The console goes to a file that is streamed, cleaned, to stdout while the guest runs.

clean_console() {
        sed -u -E -e 's/\r+$//' -e 's/\r/\n/g' -e 's/\x1b(\[[0-9;?]*[A-Za-z]|[()][0-9A-Za-z]|[A-Za-z=>])//g' \
                -e "/UFFDTIER-VM-$TOKEN-/d" -e '/^(\[ *[0-9.]+\] )?reboot: (Power down|Restarting system)/d' \
                -e '/^(SeaBIOS|iPXE|Booting from|Press Ctrl|Machine UUID)/d' -e '/^[[:space:]]*$/d'
}

: >"$W/console"
DISK_ARGS=()
if [ "$DISK_SWAP" -gt 0 ]; then
        truncate -s "${DISK_SWAP}M" "$W/swap.img" || die "cannot create the swap disk image"
        DISK_ARGS=(-drive "file=$W/swap.img,if=none,id=swap,format=raw,cache=unsafe"
                -device "nvme,drive=swap,serial=uffdtier-swap")
fi
CONTROL_ARGS=()
if [ -n "${UFFDTIER_VM_CONTROL:-}" ]; then
        [ -p "$UFFDTIER_VM_CONTROL.in" ] && [ -p "$UFFDTIER_VM_CONTROL.out" ] ||
                die "UFFDTIER_VM_CONTROL: $UFFDTIER_VM_CONTROL.in and .out must be FIFOs"
        CONTROL_ARGS=(-serial "pipe:$UFFDTIER_VM_CONTROL")
fi
read -r -a QEMU_WRAPPER <<<"${UFFDTIER_VM_QEMU_WRAPPER:-}"
APPEND="console=ttyS0 quiet loglevel=4 panic=-1 transparent_hugepage=madvise rdinit=/init ${UFFDTIER_VM_APPEND:-}"
timeout -k 5 "$TMO" ${QEMU_WRAPPER[@]+"${QEMU_WRAPPER[@]}"} qemu-system-x86_64 -nodefaults -no-user-config -no-reboot \
        -machine pc -accel "tcg,thread=${UFFDTIER_VM_TCG_THREAD:-single}" -cpu max -smp "$CPUS" -m "$MEM" \
        -display none -serial "file:$W/console" ${CONTROL_ARGS[@]+"${CONTROL_ARGS[@]}"} \
        -kernel "$KDIR/vmlinuz" -initrd "$W/initrd" -append "$APPEND" ${DISK_ARGS[@]+"${DISK_ARGS[@]}"} \
        </dev/null >"$W/qemu.log" 2>&1 &
QEMU_PID=$!
tail -s 0.1 -n +1 -f --pid="$QEMU_PID" "$W/console" | clean_console &
TAIL_PID=$!
set +e
wait "$QEMU_PID"
q=$?
set -e
QEMU_PID=
wait "$TAIL_PID" || true

[ $q -eq 124 ] && { echo "$PROG: timeout after ${TMO}s" >&2; exit 124; }
if grep -q "UFFDTIER-VM-$TOKEN-SETUP-FAILED" "$W/console"; then die "guest setup failed (see above)"; fi
rc=$(tr -d '\r' <"$W/console" | sed -n "s/^.*UFFDTIER-VM-$TOKEN-EXIT=\([0-9][0-9]*\)\$/\1/p" | tail -n 1)
if [ -z "$rc" ]; then
        sed 's/^/qemu: /' "$W/qemu.log" >&2
        die "the guest did not report an exit status (qemu exit status $q)"
fi
exit "$rc"
