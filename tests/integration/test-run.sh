#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# uffdtier-run on a plain program (tests/helpers/follow-prog: no libuffdtier in it):
#   a. its heap grows by brk and by mmap (from main and from a thread) after the handoff: the new
#      memory is followed within a few cycles (registered with the uffd), its cold pages are
#      paged out, and every byte reads back intact;
#   b. munmap: the daemon forgets the range (its unmap event);
#   c. fork: the child (adopted by the daemon through the FORK event) sees intact memory;
#   d. exec: the new image (same pid) runs the preload again and is followed afresh;
#   e. the daemon is killed mid-run: the program runs on, its data intact, grows and verifies;
#   f. no daemon: the program runs untracked, with one line on stderr (none with --quiet);
#   g. --no-children: the preload leaves LD_PRELOAD, so an exec'd program runs without it;
#   h. a setuid program: ld.so ignores the preload (secure execution), it runs untracked.
# Usage: test-run.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/tier.sh"

need_root
need_uffd
need_backend

RUN=$BUILD/client/uffdtier-run
PROG=$BUILD/tests/helpers/follow-prog
export UFFDTIER_PRELOAD=$BUILD/client/libuffdtier-preload.so
[ -x "$RUN" ] && [ -x "$PROG" ] && [ -f "$UFFDTIER_PRELOAD" ] || fail "uffdtier-run, follow-prog or the preload not built"

swap_ensure 512

# prog_start ID [UFFDTIER-RUN OPTIONS...]: follow-prog under uffdtier-run, its stdin/stdout fifos
# (client_cmd from tier.sh drives it); CPID[ID]
prog_start() {
        local id=$1 line fd
        shift
        mkfifo "$WORK/$id.in" "$WORK/$id.out"
        "$RUN" "$@" -- "$PROG" <"$WORK/$id.in" >"$WORK/$id.out" 2>"$WORK/$id.err" &
        CPID[$id]=$!
        cleanup_push "kill -9 ${CPID[$id]} 2>/dev/null; wait ${CPID[$id]} 2>/dev/null; true"
        exec {fd}>"$WORK/$id.in"
        CIN[$id]=$fd
        exec {fd}<"$WORK/$id.out"
        COUT[$id]=$fd
        read -r -t 60 -u "${COUT[$id]}" line && [[ $line == READY* ]] ||
                { cat "$WORK/$id.err" >&2; fail "$id did not start (got '${line:-}')"; }
}

# value ID CMD: the N of "OK bytes=N"
bytes_of() {
        client_cmd "$1" "$2" >/dev/null || return 1
        sed -n 's/^OK bytes=\([0-9]*\).*/\1/p' <<<"$REPLY_TEXT"
}
registered_all() { [ "$(bytes_of "$1" "registered $2")" = "$3" ]; }
swapped_most() { [ "$(bytes_of "$1" "swapped $2")" -ge $(($3 * 9 / 10)) ]; }

# grow ID KIND SIZE_MIB: a new region; its index in REGION
grow() {
        client_cmd "$1" "$2 $3M" || fail "$1: $2 $3M: $REPLY_TEXT"
        REGION=$(sed -n 's/^OK region=\([0-9]*\).*/\1/p' <<<"$REPLY_TEXT")
}

# followed ID REGION SIZE_MIB: registered whole, then mostly paged out (it is never touched)
followed() {
        local id=$1 i=$2 len=$(($3 << 20))
        if [ "$BACKEND" = wp-async ]; then
                wait_for "$T" registered_all "$id" "$i" "$len" ||
                        fail "$id: region $i not followed: $(bytes_of "$id" "registered $i") of $len bytes registered"
        fi
        wait_for "$T" swapped_most "$id" "$i" "$len" ||
                fail "$id: region $i not paged out: $(bytes_of "$id" "swapped $i") of $len bytes in swap"
        echo "$id: region $i ($3 MiB) followed and paged out"
}

verify() {
        client_cmd "$1" verify || fail "$1: data corrupted: $REPLY_TEXT"
}

start_daemon --interval=500ms --cold-age=2s --rate=0 --psi-limit=100% --stats-interval=5s

# ---- a. growth by brk and mmap, b. munmap ----
prog_start a --socket "$SOCK" --name follow-a
grep -q "following its private anonymous memory" "$DAEMON_LOG" ||
        wait_for 10 grep -q "following its private anonymous memory" "$DAEMON_LOG" || fail "the daemon does not follow follow-a"
[ -s "$WORK/a.err" ] && fail "uffdtier-run said something with a daemon there: $(cat "$WORK/a.err")"
grow a brk 64
followed a "$REGION" 64
verify a
grow a mmap 48
followed a "$REGION" 48
grow a brk 16 # a second brk step: next to the tracked heap, a VMA of its own
followed a "$REGION" 16
grow a thread-mmap 32
followed a "$REGION" 32
verify a
echo "a: every byte intact after the page-outs"
# what the REMOVE event costs the program: MADV_DONTNEED of one followed page, 20000 times (each
# waits until the daemon read the event), against the same untracked below (f)
client_cmd a "churn 0 20000" || fail "churn: $REPLY_TEXT"
echo "a: MADV_DONTNEED of a followed page: ${REPLY_TEXT%$'\n'}"
max_us=$(sed -n 's/.*max_us=\([0-9]*\).*/\1/p' <<<"$REPLY_TEXT")
[ "$max_us" -lt 1000000 ] || fail "a MADV_DONTNEED waited $max_us us for the daemon"
verify a
client_cmd a "unmap 1" || fail "unmap: $REPLY_TEXT"
wait_for 10 grep -q "client [0-9]*: unmap " "$DAEMON_LOG" || fail "no unmap event seen by the daemon"
verify a

# ---- c. fork ----
client_cmd a fork || fail "fork: $REPLY_TEXT"
[[ $REPLY_TEXT == *"status=0"* ]] || fail "the forked child saw bad memory: $REPLY_TEXT"
grep -q "forked from client" "$DAEMON_LOG" && echo "c: the forked child was adopted and saw intact memory" ||
        echo "c: the forked child was not adopted (no FORK event) and saw intact memory"

# ---- d. exec ----
n_follow=$(grep -c "following its private anonymous memory" "$DAEMON_LOG")
echo exec >&"${CIN[a]}" # the new image answers with READY, not OK
read -r -t 60 -u "${COUT[a]}" line && [[ $line == "READY pid=${CPID[a]} image=1" ]] ||
        fail "exec: got '${line:-}'"
wait_for "$T" eval '[ "$(grep -c "following its private anonymous memory" "$DAEMON_LOG")" -gt '"$n_follow"' ]' ||
        fail "the exec'd image is not followed"
grow a mmap 24
followed a "$REGION" 24
verify a
echo "d: the exec'd image is followed afresh"

# ---- e. the daemon killed mid-run ----
grow a brk 32
followed a "$REGION" 32
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
verify a
grow a mmap 16
verify a
client_cmd a fork || fail "fork after the daemon died: $REPLY_TEXT"
[[ $REPLY_TEXT == *"status=0"* ]] || fail "fork after the daemon died: $REPLY_TEXT"
client_stop a
echo "e: the program ran on with every byte after the daemon was killed"

# ---- f. no daemon ----
SOCK=$WORK/nobody-listens.sock
prog_start f --socket "$SOCK"
grow f brk 8
client_cmd f "churn 0 20000" || fail "churn: $REPLY_TEXT"
echo "f: MADV_DONTNEED of an untracked page: ${REPLY_TEXT%$'\n'}"
verify f
client_stop f
[ "$(wc -l <"$WORK/f.err")" = 1 ] && grep -q "runs untracked" "$WORK/f.err" ||
        fail "without a daemon: expected one line on stderr, got: $(cat "$WORK/f.err")"
echo "f: $(cat "$WORK/f.err")"
prog_start fq --socket "$SOCK" --quiet
grow fq mmap 8
verify fq
client_stop fq
[ -s "$WORK/fq.err" ] && fail "--quiet: stderr not empty: $(cat "$WORK/fq.err")"

# ---- g. --no-children ----
prog_start g --socket "$SOCK" --quiet --no-children
grep -q libuffdtier-preload "/proc/${CPID[g]}/maps" || fail "the preload is not loaded"
echo exec >&"${CIN[g]}"
read -r -t 60 -u "${COUT[g]}" line && [[ $line == *"image=1" ]] || fail "exec: got '${line:-}'"
grep -q libuffdtier-preload "/proc/${CPID[g]}/maps" && fail "--no-children: the exec'd image has the preload"
tr '\0' '\n' <"/proc/${CPID[g]}/environ" | grep -q '^LD_PRELOAD=.*libuffdtier-preload' &&
        fail "--no-children: LD_PRELOAD still names the preload"
client_stop g
echo "g: --no-children: the exec'd image runs without the preload"

# ---- h. a setuid program ----
# With nobody listening, a preload that runs says "runs untracked": silence means it did not run.
SUID_DIR=$(mktemp -d /tmp/uffdtier-suid.XXXXXX) || fail "mktemp failed"
cleanup_push "rm -rf '$SUID_DIR'"
chmod 755 "$SUID_DIR"
# the program is a copy of follow-prog (which ends at the end of its input): of the same build as
# the preload, which a sanitizer build needs
cp "$PROG" "$SUID_DIR/plain" && cp "$PROG" "$SUID_DIR/suid" && chmod 755 "$SUID_DIR/plain" &&
        chmod 4755 "$SUID_DIR/suid" || fail "cannot make a setuid copy"
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
if "${AS_NOBODY[@]}" test -x "$RUN" -a -r "$UFFDTIER_PRELOAD" 2>/dev/null; then
        out=$("${AS_NOBODY[@]}" "$RUN" --socket "$SOCK" -- "$SUID_DIR/plain" </dev/null 2>&1)
        grep -q "runs untracked" <<<"$out" || fail "as nobody, the preload did not run in a plain program: $out"
        out=$("${AS_NOBODY[@]}" "$RUN" --socket "$SOCK" -- "$SUID_DIR/suid" </dev/null 2>&1) ||
                fail "the setuid program failed under uffdtier-run: $out"
        grep -q "runs untracked" <<<"$out" && fail "the preload ran in a setuid program: $out"
        echo "h: a setuid program runs without the preload (ld.so ignores it)"
else
        echo "h: not run (the build directory is not readable by nobody)"
fi

grep -q 'AddressSanitizer\|runtime error' "$DAEMON_LOG" && fail "sanitizer report in the daemon log"
echo "PASS"
