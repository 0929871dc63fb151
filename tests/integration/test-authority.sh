#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon acts on a client's memory with the client's authority, never its own: an
# unprivileged attacker (uid 65534, no capabilities) tries to make it act on a setuid-root process
# or leak what it can see, while a well-behaved root client stays connected and served throughout.
#   a. an unprivileged client's cold memory is paged out all the same (the credential switch works)
#   b. exec of a setuid-root program keeping the connection: none of its pages are paged out and
#      the daemon says the handed-over address space is gone
#   c. fork adoption: a setuid-root child is never adopted (nor its pagemap opened), a plain fork
#      child is, and forks beyond clients_per_uid are not
#   d. TRACK refusals name no path and no address outside the requested range
#   e. a range pre-registered with a second uffd of the attacker's own cannot make the daemon
#      accept a forked child's uffd (the child's memory stays untouched)
#   f. HELLO descriptors opened O_PATH or with the wrong access mode are refused
# Usage: test-authority.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend
command -v setpriv >/dev/null 2>&1 || skip "setpriv (util-linux) is not installed"
NOBODY=65534
KiB=1024
MiB=$((1024 * 1024))
PS=$(getconf PAGESIZE)
SUID_VICTIM=$BUILD/tests/helpers/suid-victim
[ -x "$SUID_VICTIM" ] || fail "suid-victim not built at $SUID_VICTIM"

# What the attacker can reach: copies in a 0755 directory on a filesystem that honours setuid.
PUB=$(mktemp -d /tmp/uffdtier-auth.XXXXXX) || fail "mktemp failed"
cleanup_push "rm -rf '$PUB'"
chmod 0755 "$PUB" "$WORK"
findmnt -n -o OPTIONS -T "$PUB" | tr , '\n' | grep -qx nosuid && skip "$PUB is mounted nosuid"
cp "$TIER_CLIENT" "$PUB/tier-client"
cp -P "$BUILD"/client/libuffdtier.so "$BUILD"/client/libuffdtier.so.[0-9]* "$PUB/" 2>/dev/null || true
[ -e "$PUB/libuffdtier.so.1" ] || fail "cannot copy libuffdtier"
install -o root -g root -m 4755 "$SUID_VICTIM" "$PUB/suid-victim"
TIER_CLIENT=$PUB/tier-client
AS_NOBODY=(env "LD_LIBRARY_PATH=$PUB" setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups)

swap_ensure 160
# 512 KiB/s after a 4 MiB burst: eviction of a large cold range takes long enough that the
# attacker can exec in the middle of it (b); small ranges go out at once.
start_daemon --interval=500ms --cold-age=2s --rate=512K --psi-limit=100% --max-clients-per-uid=4 \
        --stats-interval=1h
[ "$(stat -c %a "$SOCK")" = 666 ] || fail "the handoff socket is mode $(stat -c %a "$SOCK"), not 0666"
"${AS_NOBODY[@]}" sh -c "test -x '$TIER_CLIENT' && test -x '$PUB/suid-victim' && test -w '$SOCK'" ||
        fail "uid $NOBODY cannot reach the client, the victim or the socket"

# ---- helpers ----
client_id_of() { # PID: the daemon's client id for that pid (from its log)
        sed -n "s/.*client \([0-9]*\) (pid $1, uid [0-9]*.*userfaultfd negotiated.*/\1/p;
                s/.*client \([0-9]*\) (pid $1): forked from client.*/\1/p" "$DAEMON_LOG" | tail -1
}
nobody_start() { # ID [ARGS...]: a tier-client as uid 65534
        local id=$1
        shift
        CLIENT_WRAP=("${AS_NOBODY[@]}")
        client_start "$id" "$@"
        CLIENT_WRAP=()
        [ "$(awk '/^Uid:/ { print $3 }' "/proc/${CPID[$id]}/status")" = $NOBODY ] ||
                fail "client $id does not run as uid $NOBODY"
}
euid_of() { awk '/^Uid:/ { print $3 }' "/proc/$1/status"; }
daemon_has_pagemap_of() { # PID: the daemon holds an open /proc/PID/pagemap
        local f
        for f in /proc/"$DAEMON_PID"/fd/*; do
                [ "$(readlink "$f" 2>/dev/null)" = "/proc/$1/pagemap" ] && return 0
        done
        return 1
}
client_gone() { grep -q "(pid $1): .*\(exited\|gone\|disconnected\|dropping it\)" "$DAEMON_LOG"; }
expect_refused() { # ID CMD ERRNO-REGEX TEXT-REGEX
        client_cmd "$1" "$2"
        local rc=$?
        [ $rc -eq 1 ] || fail "'$2' was not refused (rc $rc): $REPLY_TEXT"
        grep -qE "^ERR ($3) " <<<"$REPLY_TEXT" || fail "'$2': expected $3, got: $REPLY_TEXT"
        grep -qiE -- "$4" <<<"$REPLY_TEXT" || fail "'$2': the message does not say '$4': $REPLY_TEXT"
        echo "ok: $2 -> $(grep '^ERR' <<<"$REPLY_TEXT")"
}

# The well-behaved root client, connected from start to end.
client_start root --size 4M --hot-fraction 1 --name root-client
root_cycles0=$(status_value root cycles) || fail "status of the root client: $REPLY_TEXT"

# ---- a. an unprivileged client is tiered like any other ----
nobody_start a --size 8M --hot-fraction 0.25 --name nobody-a
len=${CLEN[a]}
hot=$((len / 4))
cold=$((len - hot))
deadline=$((SECONDS + T))
while :; do
        client_cmd a touch-hot || fail "touch-hot: $REPLY_TEXT"
        evicted=$(status_value a evicted_bytes) || fail "status failed: $REPLY_TEXT"
        [ "$evicted" -ge $((cold * 95 / 100)) ] && break
        [ $SECONDS -lt $deadline ] || fail "a: only $evicted of $cold cold bytes of uid $NOBODY evicted after ${T}s"
        sleep 0.2
done
client_cmd a touch-hot || fail "touch-hot: $REPLY_TEXT"
client_cmd a "residency 0 $hot" || fail "residency: $REPLY_TEXT"
hot_res=$(sed -n 's/^OK resident \([0-9]*\).*/\1/p' <<<"$REPLY_TEXT")
client_cmd a "residency $hot $cold" || fail "residency: $REPLY_TEXT"
cold_res=$(sed -n 's/^OK resident \([0-9]*\).*/\1/p' <<<"$REPLY_TEXT")
echo "a: evicted $evicted; hot resident $hot_res of $hot, cold resident $cold_res of $cold"
[ "$hot_res" -ge $((hot * 99 / 100)) ] || fail "a: the hot part was evicted: $hot_res of $hot resident"
[ "$cold_res" -le $((cold * 5 / 100)) ] || fail "a: the cold part stayed: $cold_res of $cold resident"
client_cmd a verify || fail "a: data corrupted: $REPLY_TEXT"
apid=${CPID[a]}
client_stop a
wait_for $T client_gone "$apid" || fail "a's disconnect went unnoticed"

# ---- b. exec of a setuid-root program in the middle of an eviction ----
nobody_start b --size 32M --hot-fraction 0 --name nobody-b
bpid=${CPID[b]}
bid=$(client_id_of "$bpid")
[ -n "$bid" ] || fail "b: no client id in the log"
# the 4 MiB burst goes at once; then 128 pages a second: exec once the slow part has begun
wait_for $T counter_ge b evicted_bytes $((5 * MiB)) ||
        fail "b: eviction did not get going (evicted $(status_value b evicted_bytes))"
client_cmd b "exec $PUB/suid-victim map ${CADDR[b]} ${CLEN[b]}" || fail "b: exec: $REPLY_TEXT"
grep -q "^OK victim pid=$bpid euid=0 " <<<"$REPLY_TEXT" || fail "b: the victim is not setuid root in pid $bpid: $REPLY_TEXT"
echo "b: pid $bpid is now setuid root with its memory at ${CADDR[b]}"
# Wait until the daemon's next eviction batch has had its chance: it says the address space is
# gone, or (the hole this test is for) pages of the victim reach swap.
victim_swapped() { [ "$(awk '/^VmSwap:/ { print $2 }' "/proc/$bpid/status")" -gt 0 ]; }
wait_for $T bash -c "grep -qE 'client $bid \\(pid $bpid\\): (its address space is gone|.*dropping it)' '$DAEMON_LOG' ||
        [ \$(awk '/^VmSwap:/ { print \$2 }' /proc/$bpid/status) -gt 0 ]" ||
        fail "b: the daemon neither stopped nor acted after the exec"
victim_swapped && echo "b: the victim has $(awk '/^VmSwap:/ { print $2 }' "/proc/$bpid/status") KiB in swap"
client_cmd b check || fail "b: the setuid program's memory was paged out: $REPLY_TEXT"
echo "b: $(grep '^OK' <<<"$REPLY_TEXT")"
grep -q "client $bid (pid $bpid): its address space is gone (exec or exit), no more eviction" "$DAEMON_LOG" ||
        fail "b: the daemon does not say that the address space is gone"
wait_for $T client_gone "$bpid" || fail "b: the daemon kept the exec'd client"
exec {CIN[b]}>&- {COUT[b]}<&-
wait "$bpid" 2>/dev/null

# ---- c. fork adoption ----
nobody_start c --size 4M --name nobody-c
cid=$(client_id_of "${CPID[c]}")
# c1: a setuid-root child started first (posix_spawn: no FORK event), then a plain fork
client_cmd c "spawn $PUB/suid-victim sleep" || fail "c: spawn: $REPLY_TEXT"
s1=$(sed -n 's/^OK spawned pid=\([0-9]*\).*/\1/p' <<<"$REPLY_TEXT")
wait_for 10 test "$(euid_of "$s1")" = 0 || fail "c: the spawned child $s1 is not setuid root"
client_cmd c fork || fail "c: fork: $REPLY_TEXT"
f1=$(sed -n 's/^CHILD READY pid=\([0-9]*\).*/\1/p' <<<"$REPLY_TEXT")
wait_for $T grep -q "(pid $f1): forked from client $cid" "$DAEMON_LOG" ||
        fail "c: the plain fork child $f1 was not adopted"
grep -q "(pid $s1)" "$DAEMON_LOG" && fail "c: the daemon took the setuid child $s1 for a client"
daemon_has_pagemap_of "$s1" && fail "c: the daemon holds /proc/$s1/pagemap of the setuid child"
echo "c: fork child $f1 adopted, setuid child $s1 not"
client_cmd c "spawn-stop $s1" || fail "c: spawn-stop: $REPLY_TEXT"
# c3: clients_per_uid=4 counts adopted children: c, f1, f2, f3; the next fork stays out
forks=()
for _ in 1 2 3; do
        client_cmd c fork || fail "c: fork: $REPLY_TEXT"
        forks+=("$(sed -n 's/^CHILD READY pid=\([0-9]*\).*/\1/p' <<<"$REPLY_TEXT")")
done
for f in "${forks[@]:0:2}"; do
        wait_for $T grep -q "(pid $f): forked from client $cid" "$DAEMON_LOG" || fail "c: fork child $f was not adopted"
done
f4=${forks[2]}
wait_for $T grep -q "client $cid: forked child $f4 not adopted: uid $NOBODY has 4 clients (clients_per_uid)" "$DAEMON_LOG" ||
        fail "c: no refusal of the 5th client of uid $NOBODY (child $f4)"
grep -q "(pid $f4): forked from" "$DAEMON_LOG" && fail "c: child $f4 was adopted beyond clients_per_uid"
echo "c: children ${forks[*]:0:2} adopted, $f4 refused (clients_per_uid=4)"
cpid=${CPID[c]}
client_stop c
for p in "$cpid" "$f1" "${forks[@]:0:2}"; do
        wait_for $T client_gone "$p" || fail "c: the daemon did not notice that $p went away"
done

# c2: the daemon's guess of which child is new (the highest unknown pid) is made to fall on the
# setuid child: it gets a higher pid than the fork child, by setting the kernel's last pid.
nobody_start c2 --size 4M --name nobody-c2
c2id=$(client_id_of "${CPID[c2]}")
last=$(cat /proc/sys/kernel/ns_last_pid)
pid_max=$(cat /proc/sys/kernel/pid_max)
lo=$((last + 50)) hi=$((last + 2050))
[ $hi -lt $((pid_max - 10)) ] || { lo=1000 hi=3000; }
# between writing ns_last_pid and the spawn/fork only builtins run: no process of ours takes a pid
echo $((hi - 1)) >/proc/sys/kernel/ns_last_pid
client_cmd c2 "spawn $PUB/suid-victim sleep" || fail "c2: spawn: $REPLY_TEXT"
[[ $REPLY_TEXT =~ spawned\ pid=([0-9]+) ]] || fail "c2: no pid: $REPLY_TEXT"
s2=${BASH_REMATCH[1]}
echo $((lo - 1)) >/proc/sys/kernel/ns_last_pid
client_cmd c2 fork || fail "c2: fork: $REPLY_TEXT"
[[ $REPLY_TEXT =~ CHILD\ READY\ pid=([0-9]+) ]] || fail "c2: no child pid: $REPLY_TEXT"
f2=${BASH_REMATCH[1]}
[ "$s2" -gt "$f2" ] || fail "c2: could not give the setuid child ($s2) a higher pid than the fork child ($f2)"
[ "$(euid_of "$s2")" = 0 ] || fail "c2: the spawned child $s2 is not setuid root"
wait_for $T grep -qE "client $c2id: (cannot adopt forked child $s2|child $s2 does not carry|forked child $s2 not adopted)|\(pid $s2\): forked from" "$DAEMON_LOG" ||
        fail "c2: the daemon did not decide about the fork"
grep -q "(pid $s2): forked from" "$DAEMON_LOG" && fail "c2: the daemon adopted the setuid child $s2 as a client"
# the guess is not the end: the next candidate, proven through the fork's own uffd, is the child
wait_for $T grep -q "(pid $f2): forked from client $c2id" "$DAEMON_LOG" ||
        fail "c2: the fork child $f2 was not adopted past the setuid child $s2"
daemon_has_pagemap_of "$s2" && fail "c2: the daemon holds /proc/$s2/pagemap of the setuid child"
echo "c2: $(grep -E "client $c2id: (cannot adopt|child $s2)" "$DAEMON_LOG" | tail -1 | sed 's/^.*client /client /')"
c2pid=${CPID[c2]}
client_stop c2
wait_for $T client_gone "$c2pid" || fail "c2: the daemon did not notice that c2 went away"

# ---- d. TRACK refusals disclose nothing outside the request ----
nobody_start d --size 4M --name nobody-d
dpid=${CPID[d]}
# check_refusal START LEN WHAT: refused, no path, no address outside [START, START+LEN]
check_refusal() {
        local start=$(($1)) len=$(($2)) what=$3 a
        client_cmd d "raw-track $(printf '0x%x' $start) $len"
        [ $? -eq 1 ] || fail "d: TRACK of $what was not refused: $REPLY_TEXT"
        grep -q / <<<"$REPLY_TEXT" && fail "d: the refusal for $what names a path: $REPLY_TEXT"
        grep -qiE 'libc|\[(vdso|vvar|stack|heap)\]|inode|dev ' <<<"$REPLY_TEXT" &&
                fail "d: the refusal for $what names the mapping: $REPLY_TEXT"
        for a in $(grep -oE '0x[0-9a-fA-F]+' <<<"$REPLY_TEXT"); do
                if [ $((a)) -lt $start ] || [ $((a)) -gt $((start + len)) ]; then
                        fail "d: the refusal for $what names $a, outside $(printf '0x%x' $start)+$len: $REPLY_TEXT"
                fi
        done
        echo "ok: $what -> $(grep '^ERR' <<<"$REPLY_TEXT")"
}
vma_of() { # PATTERN: "START END" of the first VMA of d whose maps line matches
        awk -v p="$1" '$0 ~ p { split($1, r, "-"); print "0x" r[1], "0x" r[2]; exit }' "/proc/$dpid/maps"
}
read -r ls le < <(vma_of 'libc[.-]')
[ -n "${ls:-}" ] || fail "d: no libc in /proc/$dpid/maps"
check_refusal $((ls + PS)) $((2 * PS)) "the inside of a libc mapping"
check_refusal "$ls" $((le - ls + 64 * PS)) "libc and what follows it"
read -r vs ve < <(vma_of '\[vdso\]')
[ -n "${vs:-}" ] && check_refusal "$vs" $((ve - vs)) "the vdso"
read -r ws we < <(vma_of '\[vvar\]')
[ -n "${ws:-}" ] && check_refusal "$ws" $((we - ws)) "the vvar page"
check_refusal 0x1000000 $((16 * PS)) "an unmapped range"
for kind in prot-none shared file; do
        client_cmd d "map $kind $((64 * KiB))" || fail "d: map $kind: $REPLY_TEXT"
        m=$(sed -n 's/^OK mapped addr=\(0x[0-9a-f]*\).*/\1/p' <<<"$REPLY_TEXT")
        check_refusal $((m + PS)) $((2 * PS)) "the inside of a $kind mapping"
done
# and the daemon's own message for the unmapped case still says what is wrong
client_cmd d "raw-track 0x1000000 $((16 * PS))"
grep -q "not (entirely) mapped" <<<"$REPLY_TEXT" || fail "d: the unmapped refusal lost its wording: $REPLY_TEXT"

# ---- f. HELLO descriptors that cannot be used are refused at HELLO ----
expect_refused d raw-hello-opath-pagemap EBADF "descriptor 2 .*O_RDONLY.*not O_PATH"
expect_refused d raw-hello-opath-uffd EBADF "descriptor 0 .*not O_PATH"
expect_refused root raw-hello-wronly-pagemap EBADF "descriptor 2 .*O_RDONLY"
client_stop d
wait_for $T client_gone "$dpid" || fail "d: the daemon did not notice that d went away"

# ---- e. pre-registration with a uffd of the attacker's own ----
nobody_start e --size 1M --no-connect --name nobody-e
client_cmd e "preregister 0 1M" || fail "e: preregister: $REPLY_TEXT"
client_cmd e "raw-hello-foreign-uffd 0 1M"
[ $? -eq 1 ] || fail "e: TRACK with a child's uffd over a pre-registered range was not refused: $REPLY_TEXT"
grep -qE "^ERR (EBUSY .*already registered|EPERM )" <<<"$REPLY_TEXT" || fail "e: unexpected refusal: $REPLY_TEXT"
grep -q "^CHILD registered=0 verify=ok" <<<"$REPLY_TEXT" || fail "e: the child's memory was touched: $REPLY_TEXT"
echo "ok: pre-registered range -> $(grep -E '^(ERR|CHILD)' <<<"$REPLY_TEXT" | tr '\n' ' ')"
client_stop e

# ---- the root client was served throughout, its bytes intact ----
client_cmd root status || fail "the root client lost service: $REPLY_TEXT"
root_cycles=$(status_value root cycles)
[ "$root_cycles" -gt "$root_cycles0" ] || fail "the root client's cycles did not advance ($root_cycles0 -> $root_cycles)"
client_cmd root verify || fail "the root client's memory is corrupted: $REPLY_TEXT"
echo "root client: $root_cycles cycles, $(grep '^OK' <<<"$REPLY_TEXT")"
client_stop root
kill -0 "$DAEMON_PID" || fail "the daemon died"
grep -q 'AddressSanitizer\|runtime error' "$DAEMON_LOG" && fail "sanitizer report in the daemon log"
echo "PASS"
