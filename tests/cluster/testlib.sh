# tests/cluster/testlib.sh - a private real cluster (tests/cluster/clusterctl)
# for one test script, always taken down (EXIT trap), also when the test
# fails or is killed. Source it after tests/lib/tap.sh. The cluster
# counterpart of tests/sandbox/lib.sh.
#
#   cluster_start    up, with its own state dir; sets and exports CLUSTER_DIR,
#                    CLUSTER_BIN, KUBECONFIG (the admin's), CLUSTER_REGISTRY,
#                    CLUSTER_SERVER, CLUSTER_RUNC_ROOT, PATH (the built kubectl
#                    first), and SCN (tests/cluster/scenarioctl)
#   cluster_stop     the fault proxy if started, clusterctl down; idempotent
#   cluster_proxy    start the fault proxy (scenarioctl proxy-start); sets PROXY_KUBECONFIG
#   cluster_curl METHOD PATH [curl args]   HTTPS as the admin; the body, then "\nHTTP nnn"
#   cluster_json METHOD PATH [curl args]   the body only
#
# The bridge and pod network are clusterctl's defaults unless CLUSTER_BRIDGE,
# CLUSTER_POD_CIDR (and CLUSTER_NODE) are set: two clusters on one machine
# need different ones. clusterctl records the last cluster it started in
# ${TMPDIR:-/tmp}/rv-cluster.current; the test runs it with a TMPDIR of its
# own, so that record never names (or replaces) someone else's cluster.
#
# The cluster's binaries must have been built (tests/cluster/build, `make
# cluster-build`): a cold build takes far longer than a test may run, so a
# test fails at once, saying so, when one is missing (no skip).

CLUSTER_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CTL="$CLUSTER_HOME/clusterctl"
SCN="$CLUSTER_HOME/scenarioctl"
CLUSTER_BASE=
CLUSTER_UP_SECONDS=
CLUSTER_DOWN_SECONDS=
PROXY_KUBECONFIG=

# clusterctl with the test's own TMPDIR (its pointer file) and CLUSTER_DIR
_cluster_ctl() {
	TMPDIR=$CLUSTER_BASE CLUSTER_DIR=$CLUSTER_DIR "$CTL" "$@"
}

cluster_stop() {
	[ -n "$CLUSTER_BASE" ] && [ -d "$CLUSTER_BASE" ] || return 0
	if [ -d "$CLUSTER_DIR" ]; then
		"$SCN" proxy-stop >/dev/null 2>&1
		local s
		s=$(date +%s)
		_cluster_ctl down > "$CLUSTER_BASE/down.log" 2>&1 ||
			{ echo "# clusterctl down failed:"; sed 's/^/#   /' "$CLUSTER_BASE/down.log"; }
		CLUSTER_DOWN_SECONDS=$(($(date +%s) - s))
		echo "# cluster down in ${CLUSTER_DOWN_SECONDS}s"
	fi
	rm -rf "$CLUSTER_BASE"
	CLUSTER_BASE=
	return 0
}

# cluster_binaries_missing: the components `clusterctl up` needs that are not built
cluster_binaries_missing() {
	local bin c
	bin="$("$CLUSTER_HOME/build" --print-dir)/bin"
	for c in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl \
		containerd containerd-shim-runc-v2 ctr runc cni/bridge cni/host-local cni/loopback; do
		[ -x "$bin/$c" ] || echo "$bin/$c"
	done
	[ -f "$("$CLUSTER_HOME/build" --print-dir)/pause-oci/index.json" ] || echo "the pause image"
}

cluster_start() {
	local missing s prev=""
	if [ "$(id -u)" != 0 ]; then
		not_ok "the real cluster needs root (containerd, runc, mounts, a bridge)"
		exit 1
	fi
	missing=$(cluster_binaries_missing)
	if [ -n "$missing" ]; then
		not_ok "the test cluster's binaries are built (missing: $(echo $missing); run tests/cluster/build or make cluster-build, ~30 min cold)"
		exit 1
	fi
	CLUSTER_BASE=$(mktemp -d "${TMPDIR:-/tmp}/rv-ctest.XXXXXX")
	# the state dir's name must be unique: clusterctl names the kubelet's
	# cgroupRoot after it, and two kubelets on one cgroup root kill each
	# other's pods (orphaned pod cgroups)
	CLUSTER_DIR=$CLUSTER_BASE/$(basename "$CLUSTER_BASE")
	export CLUSTER_DIR
	# keep a trap the test set before (chained after ours); cluster_stop is idempotent
	if [ -n "$(trap -p EXIT)" ]; then
		eval "set -- $(trap -p EXIT)"
		prev=$3
	fi
	trap "cluster_stop; $prev" EXIT
	trap 'exit 130' INT TERM
	s=$(date +%s)
	if ! _cluster_ctl up > "$CLUSTER_BASE/up.log" 2>&1; then
		not_ok "clusterctl up (bridge ${CLUSTER_BRIDGE:-rvcni0}, pods ${CLUSTER_POD_CIDR:-10.244.0.0/24})"
		tail -30 "$CLUSTER_BASE/up.log" | sed 's/^/# /'
		exit 1
	fi
	CLUSTER_UP_SECONDS=$(($(date +%s) - s))
	echo "# cluster up in ${CLUSTER_UP_SECONDS}s: $CLUSTER_DIR"
	eval "$(_cluster_ctl env)"
	export CLUSTER_DIR CLUSTER_BIN KUBECONFIG KUBECACHEDIR CLUSTER_REGISTRY CLUSTER_SERVER \
		CLUSTER_NODE CONTAINERD_ADDRESS CLUSTER_RUNC_ROOT PATH
}

cluster_proxy() {
	if ! "$SCN" proxy-start "$@" > "$CLUSTER_DIR/proxy.kubeconfig" 2> "$CLUSTER_BASE/proxy.err"; then
		not_ok "the fault proxy starts"
		sed 's/^/# /' "$CLUSTER_BASE/proxy.err"
		return 1
	fi
	PROXY_KUBECONFIG=$CLUSTER_DIR/proxy.kubeconfig
}

# cluster_curl METHOD PATH [curl args]: HTTPS to the API server as the admin
# (its client certificate); prints the body, then "\nHTTP nnn"
cluster_curl() {
	local method=$1 path=$2
	shift 2
	curl -sS --cacert "$CLUSTER_DIR/pki/ca.crt" --cert "$CLUSTER_DIR/pki/admin.crt" --key "$CLUSTER_DIR/pki/admin.key" \
		-X "$method" -w '\nHTTP %{http_code}' "$@" "$CLUSTER_SERVER$path"
}

# cluster_json METHOD PATH [curl args]: body only
cluster_json() {
	cluster_curl "$@" | sed '$d'
}
