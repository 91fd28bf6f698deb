# tests/sandbox/lib.sh - start a private sandbox for one test script and
# always tear it down (EXIT trap), also when the test fails or is killed.
# Source it after tests/lib/tap.sh.
#
#   sandbox_start [--no-kubelet]   sets SANDBOX_DIR, KUBECONFIG, SANDBOX_REGISTRY, SANDBOX_SERVER, SBX
#   sbx_curl METHOD PATH [curl args]   HTTPS request as the admin; prints body, then "\nHTTP nnn"
#   TOKEN=... sbx_curl ...             the same as another user

SBX_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SBX="$SBX_HOME/sandboxctl"

sandbox_kubectl_ensure() {
	command -v kubectl >/dev/null 2>&1 && return 0
	# Debian's kubernetes-client (1.20) is old, but enough for get/label/logs
	if [ "$(id -u)" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null 2>&1
	fi
	command -v kubectl >/dev/null 2>&1
}

sandbox_stop() {
	[ -n "${SANDBOX_DIR:-}" ] && [ -d "$SANDBOX_DIR" ] && "$SBX" down >/dev/null 2>&1
	return 0
}

sandbox_start() {
	SANDBOX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rv-sbx-test.XXXXXX")
	export SANDBOX_DIR
	# keep a trap the test set before (chained after ours); sandbox_stop is idempotent
	local prev=""
	if [ -n "$(trap -p EXIT)" ]; then
		eval "set -- $(trap -p EXIT)"
		prev=$3
	fi
	trap "sandbox_stop; $prev" EXIT
	trap 'exit 130' INT TERM
	if ! "$SBX" up "$@" >/dev/null; then
		echo "Bail out! sandbox did not start"
		exit 1
	fi
	"$SBX" kubeconfig >"$SANDBOX_DIR/kubeconfig"
	export KUBECONFIG="$SANDBOX_DIR/kubeconfig"
	eval "$("$SBX" env)"
	SBX_ADMIN_TOKEN=$(sed -n 's/^    token: //p' "$KUBECONFIG")
}

sbx_curl() {
	local method=$1 path=$2
	shift 2
	curl -sS --cacert "$SANDBOX_DIR/ca.crt" -H "Authorization: Bearer ${TOKEN:-$SBX_ADMIN_TOKEN}" \
		-X "$method" -w '\nHTTP %{http_code}' "$@" "$SANDBOX_SERVER$path"
}

# sbx_json METHOD PATH [curl args]: body only
sbx_json() {
	sbx_curl "$@" | sed '$d'
}

# sbx_code METHOD PATH [curl args]: HTTP code only
sbx_code() {
	sbx_curl "$@" | tail -n 1 | sed 's/^HTTP //'
}
