# tests/cluster/cluster.mk - included by the top Makefile.
#   make cluster-build       build the test cluster's components (cached by their pins)
#   make cluster-up          start a real one-node Kubernetes (state dir printed; kept in $TMPDIR/rv-cluster.current)
#   make cluster-down        stop it and remove every process, mount, netns, bridge, cgroup and file it made
#   make cluster-kubeconfig  print the admin kubeconfig
#   make cluster-check       tests/scenario/cluster_node.sh alone (make check runs it with the rest)
# CLUSTER_DIR=... picks the state dir for all of them.
CLUSTERCTL := tests/cluster/clusterctl

.PHONY: cluster-build cluster-up cluster-down cluster-kubeconfig cluster-check

cluster-build:
	@tests/cluster/build

cluster-up:
	@$(CLUSTERCTL) up

cluster-down:
	@$(CLUSTERCTL) down

cluster-kubeconfig:
	@$(CLUSTERCTL) kubeconfig

cluster-check:
	@bash tests/run cluster_node
