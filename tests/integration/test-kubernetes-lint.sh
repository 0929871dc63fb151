#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Kubernetes manifests (conf/kubernetes) offline: yamllint (Debian 12's), then what they must
# say, read with python3-yaml (yamllint's own dependency): the DaemonSet in the host's PID
# namespace with /run/uffdtierd, /sys/fs/cgroup (read-only) and /dev/userfaultfd, the capabilities
# of uffdtierd.service (read from systemd/uffdtierd.service.in) plus the entrypoint's SYS_ADMIN and
# SETPCAP (dropped before uffdtierd starts: test-kubernetes.sh) and nothing else, requests and limits on every container, a liveness probe through uffdtierctl, the
# ConfigMap's policy files all mounted under policy.d/; the example pod with the socket directory
# and the launcher; no image but the placeholders. kubectl's client-side validation runs where it
# can without a server (kubectl 1.20, Debian 12's, cannot: it downloads the schema from the
# server), and says so where it cannot.
# Usage: test-kubernetes-lint.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
SRC=$(cd "$HERE/../.." && pwd)
K8S=$SRC/conf/kubernetes
UNIT=$SRC/systemd/uffdtierd.service.in

command -v yamllint >/dev/null 2>&1 || skip "yamllint is not installed (scripts/install-deps.sh installs it)"
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed (yamllint brings it)"

manifests=("$K8S"/*.yaml)
[ -e "${manifests[0]}" ] || fail "no manifests in $K8S"
yamllint -s -d '{extends: default, rules: {line-length: {max: 100}}}' "${manifests[@]}" ||
        fail "yamllint found problems"
echo "yamllint $(yamllint --version | awk '{print $2}'): ${#manifests[@]} manifests clean"

caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
[ -n "$caps" ] || fail "no CapabilityBoundingSet= in $UNIT"
python3 - "$K8S" "$caps" <<'EOF' || fail "the manifests do not say what they must"
import glob, os, sys, yaml

k8s, unit_caps = sys.argv[1], sys.argv[2].split()
problems = []
def check(cond, what):
    if not cond:
        problems.append(what)

docs = {}
for path in sorted(glob.glob(os.path.join(k8s, "*.yaml"))):
    for d in yaml.safe_load_all(open(path)):
        if d:
            docs[(d["kind"], d["metadata"]["name"])] = d
            # images are placeholders the user sets: no registry address in the project
            spec = d.get("spec", {})
            pod = spec.get("template", {}).get("spec", spec)
            for c in pod.get("containers", []) + pod.get("initContainers", []):
                check(c.get("image") in ("IMAGE", "APP_IMAGE"),
                      f"{path}: container {c['name']}: image {c.get('image')!r} is not a placeholder")
                res = c.get("resources", {})
                check("limits" in res and "memory" in res["limits"],
                      f"{path}: container {c['name']} has no memory limit")
                check("requests" in res, f"{path}: container {c['name']} has no requests")

ds = docs.get(("DaemonSet", "uffdtierd"))
check(ds is not None, "no DaemonSet uffdtierd")
if ds:
    pod = ds["spec"]["template"]["spec"]
    check(pod.get("hostPID") is True, "the DaemonSet is not in the host's PID namespace")
    vols = {v["name"]: v for v in pod["volumes"]}
    host = {v["hostPath"]["path"]: n for n, v in vols.items() if "hostPath" in v}
    for p in ("/run/uffdtierd", "/sys/fs/cgroup", "/dev/userfaultfd", "/var/lib/prometheus/node-exporter"):
        check(p in host, f"no hostPath volume {p}")
    check(vols.get(host.get("/dev/userfaultfd"), {}).get("hostPath", {}).get("type") == "CharDevice",
          "/dev/userfaultfd is not a CharDevice hostPath")
    cs = {c["name"]: c for c in pod["containers"]}
    for c in cs.values():  # Guaranteed QoS: every container's requests are its limits
        check(c["resources"].get("requests") == c["resources"].get("limits"),
              f"container {c['name']}: requests are not its limits (the pod is not Guaranteed)")
    d = cs.get("uffdtierd")
    check(d is not None, "no container uffdtierd")
    if d:
        sc = d["securityContext"]
        want = sorted(c.removeprefix("CAP_") for c in unit_caps) + ["SYS_ADMIN", "SETPCAP"]
        check(sorted(sc["capabilities"]["add"]) == sorted(want),
              f"capabilities {sorted(sc['capabilities']['add'])}, the unit's + the entrypoint's are {sorted(want)}")
        check(sc["capabilities"].get("drop") == ["ALL"], "the daemon does not drop ALL first")
        check(sc.get("privileged") is not True, "the daemon is privileged")
        check(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation is not false (NoNewPrivileges=yes)")
        check(sc.get("readOnlyRootFilesystem") is True, "the root filesystem is writable (ProtectSystem=strict)")
        probe = d.get("livenessProbe", {}).get("exec", {}).get("command", [])
        check(probe[:1] == ["uffdtierctl"], f"the liveness probe is not uffdtierctl: {probe}")
        mounts = {m["mountPath"]: m for m in d["volumeMounts"]}
        for p in ("/run/uffdtierd", "/sys/fs/cgroup", "/dev/userfaultfd", "/etc/uffdtierd"):
            check(p in mounts, f"the daemon does not mount {p}")
        check(mounts.get("/sys/fs/cgroup", {}).get("readOnly") is True,
              "/sys/fs/cgroup is writable (ProtectControlGroups=yes)")
        check(mounts.get("/run/uffdtierd", {}).get("name") == host.get("/run/uffdtierd"),
              "/run/uffdtierd is not the host's")
    m = cs.get("metrics")
    check(m is not None, "no metrics container")
    if m:
        check(m["securityContext"]["capabilities"] == {"drop": ["ALL"]}, "the metrics container has capabilities")
        check("--output=/var/lib/prometheus/node-exporter/uffdtier.prom" in " ".join(m["args"]),
              "the metrics container does not write node_exporter's textfile")
    cm_name = vols.get("config", {}).get("configMap", {}).get("name")
    cm = docs.get(("ConfigMap", cm_name))
    check(cm is not None, f"no ConfigMap {cm_name}")
    if cm:
        items = {i["key"]: i["path"] for i in vols["config"]["configMap"]["items"]}
        check(set(items) == set(cm["data"]), f"ConfigMap keys {sorted(cm['data'])} vs mounted {sorted(items)}")
        for k, p in items.items():
            check(p == "uffdtierd.conf" if k == "uffdtierd.conf" else p == f"policy.d/{k}",
                  f"ConfigMap key {k} mounted as {p}")
            check(k == "uffdtierd.conf" or "Match=/kubepods" in cm["data"][k], f"policy {k} matches no pod cgroup")

pod = docs.get(("Pod", "tiered-app"))
check(pod is not None, "no example Pod tiered-app")
if pod:
    vols = {v["name"]: v for v in pod["spec"]["volumes"]}
    for c in pod["spec"]["containers"]:
        mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
        mnt = mounts.get("/run/uffdtierd")
        check(mnt is not None and mnt.get("readOnly") is True
              and vols[mnt["name"]]["hostPath"]["path"] == "/run/uffdtierd",
              f"pod container {c['name']} does not mount the host's /run/uffdtierd read-only")
        env = {e["name"]: e["value"] for e in c.get("env", [])}
        check(env.get("LD_PRELOAD") == "/run/uffdtierd/launcher/libuffdtier-preload.so"
              or c.get("command", [""])[0] == "/run/uffdtierd/launcher/uffdtier-run",
              f"pod container {c['name']} neither preloads the library nor runs uffdtier-run")

for p in problems:
    print("  " + p, file=sys.stderr)
print(f"{len(docs)} objects checked: {', '.join(f'{k}/{n}' for k, n in sorted(docs))}")
sys.exit(1 if problems else 0)
EOF

# the DaemonSet's bus configuration is well-formed XML (dbus-daemon refuses to start otherwise)
python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$K8S/bus.conf" ||
        fail "$K8S/bus.conf is not well-formed XML"

# no server addresses: the manifests and the Containerfile name none (bus.conf's DOCTYPE is the
# D-Bus DTD's identifier, as in every bus configuration)
if grep -nE '[a-z]+://' "${manifests[@]}" "$K8S/Containerfile" "$K8S/uffdtierd-entrypoint.sh"; then
        fail "an address in conf/kubernetes"
fi

# kubectl: client-side validation if this one can do it without a server
if command -v kubectl >/dev/null 2>&1; then
        kv=$(timeout 20 kubectl version --client 2>/dev/null | head -n 1)
        if out=$(KUBECONFIG=/dev/null timeout 60 kubectl apply --dry-run=client --validate=true \
                -f "$K8S/uffdtierd-daemonset.yaml" -f "$K8S/example-pod.yaml" 2>&1); then
                echo "kubectl ($kv) client-side validation: $out"
        elif grep -qiE 'connection refused|openapi|server|unable to recognize|localhost:8080' <<<"$out"; then
                echo "kubectl ($kv): client-side validation needs a server here, not run: $(head -n 1 <<<"$out")"
        else
                fail "kubectl ($kv) validation: $out"
        fi
else
        echo "kubectl is not installed: its validation is not run"
fi
echo PASS
