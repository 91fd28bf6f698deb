# controlplane.sh - a minimal REAL Kubernetes control plane for tests:
# etcd and kube-apiserver only. API server only, no kubelet, no
# controller-manager, no scheduler: pods are stored but never run, and
# namespaces get no "default" ServiceAccount unless a test creates one.
# Where a node is needed, use tests/cluster/clusterctl instead.
#
# Source it (bash), then:
#   cp_start DIR   etcd (loopback client and peer ports, data in DIR/etcd)
#                  and kube-apiserver (a free loopback port, RBAC, a token
#                  file, openssl certificates) from the cluster build cache;
#                  returns when /readyz answers ok
#   cp_stop        stops both (SIGTERM, then SIGKILL after 20 s) and waits
#
# cp_start sets:
#   CP_BIN         the built binaries (the first ~/.cache/runtime-verifier/
#                  cluster/*/bin, or $RV_CLUSTER_CACHE/*/bin)
#   CP_KUBECTL     $CP_BIN/kubectl (never the machine's kubectl)
#   CP_URL CP_PORT https://127.0.0.1:PORT, the API server
#   CP_CA          the CA that signed every certificate (DIR/pki/ca.crt)
#   CP_ADMIN_TOKEN a --token-auth-file token of user "rv-admin" in group
#                  system:masters
#   CP_USER_TOKEN  a token of user "rv-limited" (no group, no RBAC binding)
#   CP_ADMIN_CERT CP_ADMIN_KEY  a client certificate O=system:masters
#   CP_KUBECONFIG  DIR/admin.kubeconfig: CP_URL with CP_ADMIN_TOKEN
#   CP_ETCD_PORT CP_ETCD_PEER_PORT

cp_bin_dir() {
	local d
	for d in "${RV_CLUSTER_CACHE:-$HOME/.cache/runtime-verifier/cluster}"/*/bin; do
		if [ -x "$d/kube-apiserver" ] && [ -x "$d/etcd" ] && [ -x "$d/kubectl" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# cp_free_port: a loopback TCP port nobody listens on now.
cp_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cp_start() {
	CP_DIR=$1
	CP_BIN=$(cp_bin_dir) || { echo "controlplane: no built cluster binaries (tests/cluster/build)" >&2; return 1; }
	CP_KUBECTL=$CP_BIN/kubectl
	mkdir -p "$CP_DIR/etcd" "$CP_DIR/pki" "$CP_DIR/logs"
	local pki=$CP_DIR/pki
	sh "$(dirname "${BASH_SOURCE[0]}")/mkcerts.sh" "$pki" || return 1
	openssl req -newkey rsa:2048 -nodes -keyout "$pki/admin.key" -out "$pki/admin.csr" \
		-subj "/O=system:masters/CN=rv-admin-cert" >/dev/null 2>&1 &&
		printf 'extendedKeyUsage=clientAuth\n' >"$pki/admin.ext" &&
		openssl x509 -req -in "$pki/admin.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
			-CAcreateserial -out "$pki/admin.crt" -days 2 -extfile "$pki/admin.ext" >/dev/null 2>&1 ||
		return 1
	openssl genrsa -out "$pki/sa.key" 2048 >/dev/null 2>&1 &&
		openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" >/dev/null 2>&1 || return 1
	CP_CA=$pki/ca.crt CP_ADMIN_CERT=$pki/admin.crt CP_ADMIN_KEY=$pki/admin.key
	CP_ADMIN_TOKEN=admin-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	CP_USER_TOKEN=limited-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	printf '%s,rv-admin,uid-admin,"system:masters"\n%s,rv-limited,uid-limited\n' \
		"$CP_ADMIN_TOKEN" "$CP_USER_TOKEN" >"$pki/tokens.csv"

	CP_ETCD_PORT=$(cp_free_port) CP_ETCD_PEER_PORT=$(cp_free_port)
	"$CP_BIN/etcd" --name cp --data-dir "$CP_DIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$CP_ETCD_PORT" \
		--advertise-client-urls "http://127.0.0.1:$CP_ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$CP_ETCD_PEER_PORT" \
		--initial-advertise-peer-urls "http://127.0.0.1:$CP_ETCD_PEER_PORT" \
		--initial-cluster "cp=http://127.0.0.1:$CP_ETCD_PEER_PORT" \
		--listen-metrics-urls "" --unsafe-no-fsync \
		>"$CP_DIR/logs/etcd.log" 2>&1 &
	echo $! >"$CP_DIR/etcd.pid"
	local i
	for i in $(seq 1 100); do
		curl -sf "http://127.0.0.1:$CP_ETCD_PORT/health" >/dev/null && break
		kill -0 "$(cat "$CP_DIR/etcd.pid")" 2>/dev/null || { tail -5 "$CP_DIR/logs/etcd.log" >&2; return 1; }
		sleep 0.1
	done

	CP_PORT=$(cp_free_port)
	CP_URL=https://127.0.0.1:$CP_PORT
	"$CP_BIN/kube-apiserver" \
		--etcd-servers "http://127.0.0.1:$CP_ETCD_PORT" \
		--secure-port "$CP_PORT" --bind-address 127.0.0.1 --advertise-address 127.0.0.1 \
		--tls-cert-file "$pki/server.crt" --tls-private-key-file "$pki/server.key" \
		--client-ca-file "$pki/ca.crt" \
		--service-account-key-file "$pki/sa.pub" \
		--service-account-signing-key-file "$pki/sa.key" \
		--service-account-issuer https://kubernetes.default.svc \
		--token-auth-file "$pki/tokens.csv" \
		--authorization-mode RBAC \
		--service-cluster-ip-range 10.96.0.0/24 \
		--cert-dir "$CP_DIR/apiserver-certs" \
		--endpoint-reconciler-type none \
		--profiling=false \
		>"$CP_DIR/logs/kube-apiserver.log" 2>&1 &
	echo $! >"$CP_DIR/kube-apiserver.pid"
	for i in $(seq 1 600); do
		[ "$(curl -s --cacert "$CP_CA" -H "Authorization: Bearer $CP_ADMIN_TOKEN" "$CP_URL/readyz")" = ok ] && break
		kill -0 "$(cat "$CP_DIR/kube-apiserver.pid")" 2>/dev/null ||
			{ tail -20 "$CP_DIR/logs/kube-apiserver.log" >&2; return 1; }
		sleep 0.1
	done
	[ "$i" -lt 600 ] || { echo "controlplane: kube-apiserver not ready in 60 s" >&2; return 1; }

	CP_KUBECONFIG=$CP_DIR/admin.kubeconfig
	cp_kubeconfig "$CP_KUBECONFIG" "$CP_URL" "$CP_CA" "$CP_ADMIN_TOKEN"
	export CP_DIR CP_BIN CP_KUBECTL CP_URL CP_PORT CP_CA CP_ADMIN_TOKEN CP_USER_TOKEN \
		CP_ADMIN_CERT CP_ADMIN_KEY CP_KUBECONFIG CP_ETCD_PORT CP_ETCD_PEER_PORT
}

# cp_kubeconfig FILE SERVER CA TOKEN: a kubeconfig with a bearer token.
cp_kubeconfig() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: $2
    certificate-authority: $3
users:
- name: u
  user:
    token: $4
contexts:
- name: c
  context: {cluster: c, user: u, namespace: default}
current-context: c
EOF
}

# cp_stop_pid PIDFILE: SIGTERM the process it names, SIGKILL after 20 s.
cp_stop_pid() {
	local pid i
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 200); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -f "$1"
}

cp_stop() {
	[ -n "${CP_DIR:-}" ] || return 0
	cp_stop_pid "$CP_DIR/kube-apiserver.pid"
	cp_stop_pid "$CP_DIR/etcd.pid"
}
