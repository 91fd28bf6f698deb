# tests/cluster/lib.sh - shared by tests/cluster/build, clusterctl and the
# cluster tests. Source it; needs $top (the repository).

# The pinned versions (must match tests/cluster/tools/*/go.mod).
K8S_VERSION=1.37.2
ETCD_VERSION=3.7.0
CONTAINERD_VERSION=2.4.2
RUNC_VERSION=1.5.3
CNI_PLUGINS_VERSION=1.10.0
HELM_VERSION=4.3.2
CRANE_VERSION=0.22.1
SYFT_VERSION=1.57.2
KYVERNO_VERSION=1.19.1

# Bump when the way components are built changes (the cache key).
CLUSTER_BUILD_FORMAT=1

# cluster_cache_dir: the build output dir for these pins.
cluster_cache_dir() {
	local h
	h=$(cd "$top/tests/cluster" && {
		echo "format $CLUSTER_BUILD_FORMAT"
		cat tools/*/go.mod tools/*/go.sum tools/*/tools.go pause/pause.c
	} | sha256sum | cut -c1-16)
	echo "${RV_CLUSTER_CACHE:-$HOME/.cache/runtime-verifier/cluster}/$h"
}
