#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# flood.py SOCKET N: open N handoff connections and keep them; print "opened N" once they are
# all connected, then, for each line "check" read on stdin, print how many were refused (the
# daemon answered with an error REPLY and closed) and how many are still open. "exit" ends.
import select
import socket
import sys

path, n = sys.argv[1], int(sys.argv[2])
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    socks.append(s)
print(f"opened {len(socks)}", flush=True)
for line in sys.stdin:
    if line.strip() == "exit":
        break
    refused = 0
    for s in socks:
        r, _, _ = select.select([s], [], [], 0)
        if r:
            refused += 1
    print(f"refused {refused} open {len(socks) - refused}", flush=True)
