#!/bin/bash
# cluster_node.sh - the real test cluster (tests/cluster): one node built from
# the pinned modules becomes Ready with the pinned kubelet and containerd; a
# pod from the local registry runs under containerd-shim-runc-v2 and runc;
# kubectl logs works; an ephemeral container runs and terminates with its
# termination message; `clusterctl down` leaves no process, mount, network
# namespace, veth, bridge or cgroup behind.
#
# Not part of `make check` yet (the cold build takes long): without
# RV_CLUSTER_TESTS=1 it only reports a skip. `make cluster-check` runs it.
source "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${RV_CLUSTER_TESTS:-0}" != 1 ]; then
	echo "ok 1 - # SKIP the real cluster test runs with RV_CLUSTER_TESTS=1 (make cluster-check)"
	exit 0
fi

. "$top/tests/cluster/lib.sh"
CTL=$top/tests/cluster/clusterctl
export CLUSTER_DIR
CLUSTER_DIR=$(mktemp -d /tmp/rv-cluster-test.XXXXXX)
work=$(mktemp -d /tmp/rv-cluster-work.XXXXXX)
cleanup() {
	"$CTL" down >/dev/null 2>&1 || true
	rm -rf "$work" "$CLUSTER_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

kflags() { sysctl -n vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops | tr '\n' ' '; }
kflags_before=$(kflags)
kube_chains_before=$(iptables-save 2>/dev/null | grep -c ':KUBE-')
s=$(date +%s)
if ! "$CTL" up > "$work/up.log" 2>&1; then
	not_ok "clusterctl up"
	sed 's/^/# /' "$work/up.log" | tail -40
	done_testing 2>/dev/null || exit 1
fi
ok "clusterctl up ($(($(date +%s) - s))s, build included)"
eval "$("$CTL" env)"
K=("$CLUSTER_BIN/kubectl" --kubeconfig "$KUBECONFIG")
RUNC=("$CLUSTER_BIN/runc" --root "$CLUSTER_RUNC_ROOT")

# --- the node ----------------------------------------------------------------------
is "$("${K[@]}" version -o json | jq -r .clientVersion.gitVersion)" "v$K8S_VERSION" "the built kubectl is v$K8S_VERSION"
is "$("${K[@]}" version -o json | jq -r .serverVersion.gitVersion)" "v$K8S_VERSION" "the API server is v$K8S_VERSION"
wide=$("${K[@]}" get nodes -o wide --no-headers)
echo "# $wide"
like "$wide" "^$CLUSTER_NODE +Ready +<none> .* v$K8S_VERSION +10\.244\.0\.1 .* containerd://v?$CONTAINERD_VERSION\$" \
	"kubectl get nodes -o wide: $CLUSTER_NODE Ready, kubelet v$K8S_VERSION, containerd $CONTAINERD_VERSION"
node=$("${K[@]}" get node "$CLUSTER_NODE" -o json)
is "$(jq -r '.status.nodeInfo.kubeletVersion' <<<"$node")" "v$K8S_VERSION" "nodeInfo.kubeletVersion"
like "$(jq -r '.status.nodeInfo.containerRuntimeVersion' <<<"$node")" "^containerd://v?$CONTAINERD_VERSION\$" "nodeInfo.containerRuntimeVersion"
is "$(jq -r '.status.conditions[] | select(.type=="Ready") | .status' <<<"$node")" True "the Ready condition is True (the CNI network is up)"

# every server of the cluster listens on loopback or the bridge's host address only
pids=$(cat "$CLUSTER_DIR"/pids/* 2>/dev/null | grep -E '^[0-9]+$' | paste -sd'|')
listen=$(ss -Hltnp | grep -E "pid=($pids)," | awk '{print $4}' | sort -u)
echo "# listening: $(echo $listen)"
is "$(grep -vE '^(127\.0\.0\.1|10\.244\.0\.1):[0-9]+$' <<<"$listen")" "" "every listener is on 127.0.0.1 or 10.244.0.1"

# --- an image in the local registry, a pod ------------------------------------------
python3 - "$top" "$work/img" <<'PY' || not_ok "building the test image"
import sys
sys.path.insert(0, sys.argv[1] + "/tests/lib")
import images
images.build({"tag": "t1", "base": "busybox", "cmd": ["/bin/sh"]}, sys.argv[2])
PY
check "the busybox test image is pushed to $CLUSTER_REGISTRY" skopeo --insecure-policy copy -q \
	--dest-tls-verify=false "oci:$work/img:t1" "docker://$CLUSTER_REGISTRY/rv/busybox:t1"
IMG=$CLUSTER_REGISTRY/rv/busybox:t1

"${K[@]}" create namespace t >/dev/null
"${K[@]}" label namespace t pod-security.kubernetes.io/enforce=baseline >/dev/null
for _ in $(seq 1 100); do
	"${K[@]}" -n t get serviceaccount default >/dev/null 2>&1 && break
	sleep 0.2
done
cat > "$work/pod.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: t}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: $IMG
    command: ["/bin/sh", "-c", "echo hello from the app; exec sleep 3600"]
EOF
apply_pod() { "${K[@]}" apply -f "$work/pod.yaml" >/dev/null; }
check "kubectl apply a pod" apply_pod
if "${K[@]}" -n t wait pod/app --for=condition=Ready --timeout=120s >/dev/null 2>"$work/wait.err"; then
	ok "the pod is Ready"
else
	not_ok "the pod is Ready"
	sed 's/^/# /' "$work/wait.err"
	"${K[@]}" -n t describe pod app | sed 's/^/# /' | tail -30
fi
pod=$("${K[@]}" -n t get pod app -o json)
is "$(jq -r .status.phase <<<"$pod")" Running "phase Running"
like "$(jq -r .status.podIP <<<"$pod")" "^10\.244\.0\.[0-9]+\$" "the pod has an address on the bridge network"
cid=$(jq -r '.status.containerStatuses[0].containerID' <<<"$pod")
like "$cid" "^containerd://[0-9a-f]{64}\$" "the container ID is containerd's"
cid=${cid#containerd://}

# --- containerd + runc --------------------------------------------------------------
check "runc --root (containerd's runc root) lists the container" \
	grep -q "^$cid\$" <("${RUNC[@]}" list -q)
pid=$("${RUNC[@]}" state "$cid" | jq -r .pid)
is "$(tr '\0' ' ' < "/proc/$pid/cmdline")" "sleep 3600 " "runc's pid for it is the pod's command"
ppid=$(awk '{print $4}' "/proc/$pid/stat")
is "$(readlink "/proc/$ppid/exe")" "$CLUSTER_BIN/containerd-shim-runc-v2" "its parent is the built containerd-shim-runc-v2"
like "$(tr '\0' ' ' < "/proc/$ppid/cmdline")" "-address $CLUSTER_DIR/containerd/containerd.sock" "a shim of this cluster's containerd"
check "the container has its own network namespace" test "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)"

is "$("${K[@]}" -n t logs app)" "hello from the app" "kubectl logs"

# --- an ephemeral container ---------------------------------------------------------
if "${K[@]}" -n t debug app -c probe --image="$IMG" --target=app --profile=baseline --quiet -- \
	sh -c 'ls /proc/1/root/bin/busybox >/dev/null && echo probe-done > /dev/termination-log' \
	> "$work/debug.out" 2>&1; then
	ok "kubectl debug adds an ephemeral container"
else
	not_ok "kubectl debug adds an ephemeral container"
	sed 's/^/# /' "$work/debug.out"
fi
term=
for _ in $(seq 1 120); do
	term=$("${K[@]}" -n t get pod app -o json 2>/dev/null |
		jq -c '.status.ephemeralContainerStatuses[]? | select(.name=="probe") | .state.terminated // empty')
	[ -n "$term" ] && break
	sleep 0.5
done
is "$(jq -c '[.exitCode, .reason, .message]' <<<"${term:-null}")" '[0,"Completed","probe-done\n"]' \
	"the ephemeral container terminated with exit 0 and its termination message"

# the host ends of the pods' veths (other jobs on this machine have their own)
veths=$(ip -o link show master rvcni0 type veth 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1)
check "the pod's veth is on the bridge rvcni0 ($(echo $veths))" test -n "$veths"

# --- down -----------------------------------------------------------------------------
check "clusterctl down" "$CTL" down
left=$(for p in /proc/[0-9]*; do tr '\0' ' ' 2>/dev/null < "$p/cmdline" | grep -q -- "$CLUSTER_DIR" && echo "${p#/proc/}"; done)
is "$left" "" "no process of the state dir is left"
is "$(ps -eo pid=,args= | grep -c "[c]ontainerd-shim-runc-v2 .*$CLUSTER_DIR")" 0 "no shim is left"
is "$(awk -v d="$CLUSTER_DIR" 'index($2, d) == 1' /proc/self/mounts)" "" "no mount under the state dir is left (rootfs, netns, shm)"
check_fails "no bridge rvcni0 is left" ip link show rvcni0 2>/dev/null
is "$(for v in $veths; do ip link show "$v" >/dev/null 2>&1 && echo "$v"; done)" "" "no veth of the pods is left"
is "$(ls -d /sys/fs/cgroup/*/rv-cluster-rv-cluster-test* 2>/dev/null)" "" "no cgroup is left"
is "$(kflags)" "$kflags_before" "the kernel flags the kubelet sets are back (overcommit, panic)"
is "$(iptables-save 2>/dev/null | grep -c ':KUBE-')" "$kube_chains_before" "no KUBE- iptables chain is left"
is "$(find /var/log/containers -lname "$CLUSTER_DIR/*" 2>/dev/null)" "" "no container log link into the state dir is left"
check_fails "the state dir is gone" test -e "$CLUSTER_DIR"

done_testing
