#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# orchestrator.sh — what a cluster agent would do: read every client of uffdtierd from the system
# bus with busctl alone and print one JSON object per client on a line: every property of the
# client's object by name (one GetAll call: one consistent snapshot), its ListClients entry as
# "List" and its Pid read once more on its own with get-property as "GetPid".
set -euo pipefail
MGR=(org.uffdtier1 /org/uffdtier1 org.uffdtier1.Manager)
busctl --json=short call "${MGR[@]}" ListClients | jq -c '.data[0][]' | while read -r entry; do
        id=$(jq -r '.[0]' <<<"$entry")
        path=/org/uffdtier1/client/$id
        pid=$(busctl --json=short get-property org.uffdtier1 "$path" org.uffdtier1.Client Pid | jq .data)
        busctl --json=short call org.uffdtier1 "$path" org.freedesktop.DBus.Properties GetAll \
                s org.uffdtier1.Client |
                jq -c --argjson list "$entry" --argjson pid "$pid" \
                        '.data[0] | map_values(.data) + {List: $list, GetPid: $pid}'
done
