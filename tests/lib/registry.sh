# registry.sh - start and stop a real registry (Debian's docker-registry)
# on a free loopback port, for tests. Source it.
#
#   registry_start DIR [options]
#       --basic USER:PASS    require basic auth (htpasswd, bcrypt)
#       --tls                serve HTTPS with a certificate from a throwaway
#                            CA (DIR/certs/ca.crt; see mkcerts.sh)
#       --token REALM CERT   require bearer tokens from REALM, signed by
#                            the key of CERT (see token_server.py)
#   Sets REG_HOST (127.0.0.1:PORT), REG_URL, REG_PID, REG_CA (with --tls).
#   Storage is DIR/data; the log DIR/registry.log.
#
#   registry_stop                 stop the registry started last
#   registry_push LAYOUT:TAG REPO:TAG [skopeo options]
#                                 push from an OCI layout with skopeo
#   free_port                     print a free TCP port on 127.0.0.1
#   registry_test_dir NAME        make $t (a temp dir) and an empty pids[],
#                                 and on exit stop the registry and every
#                                 pid in pids[] and remove $t
#
# Every started process is stopped by registry_stop; call it from a trap.

RV_TOP=${RV_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

registry_start() {
	local dir=$1 basic="" tls=0 realm="" tcert="" port scheme i code
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--basic) basic=$2; shift 2 ;;
		--tls) tls=1; shift ;;
		--token) realm=$2; tcert=$3; shift 3 ;;
		*) echo "registry_start: unknown option $1" >&2; return 2 ;;
		esac
	done
	mkdir -p "$dir/data"
	port=$(free_port)
	{
		echo "version: 0.1"
		echo "log: {level: error, accesslog: {disabled: true}}"
		echo "storage:"
		echo "  filesystem: {rootdirectory: $dir/data}"
		echo "  delete: {enabled: true}"
		echo "http:"
		echo "  addr: 127.0.0.1:$port"
		echo "  secret: rv-test-secret"
		if [ "$tls" = 1 ]; then
			sh "$RV_TOP/tests/lib/mkcerts.sh" "$dir/certs" || return 1
			echo "  tls: {certificate: $dir/certs/server.crt, key: $dir/certs/server.key}"
		fi
		if [ -n "$basic" ]; then
			htpasswd -Bbn "${basic%%:*}" "${basic#*:}" > "$dir/htpasswd" || return 1
			echo "auth:"
			echo "  htpasswd: {realm: rv-test, path: $dir/htpasswd}"
		elif [ -n "$realm" ]; then
			echo "auth:"
			echo "  token: {realm: \"$realm\", service: rv-test-registry, issuer: rv-test-issuer, rootcertbundle: $tcert}"
		fi
	} > "$dir/config.yml"
	docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
	REG_PID=$!
	REG_HOST=127.0.0.1:$port
	scheme=http
	REG_CA=
	if [ "$tls" = 1 ]; then
		scheme=https
		REG_CA=$dir/certs/ca.crt
	fi
	REG_URL=$scheme://$REG_HOST
	for i in $(seq 1 100); do
		code=$(curl -s -o /dev/null -w '%{http_code}' ${REG_CA:+--cacert "$REG_CA"} "$REG_URL/v2/" 2>/dev/null || true)
		case $code in 200|401) return 0 ;; esac
		kill -0 "$REG_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "registry_start: the registry did not come up:" >&2
	cat "$dir/registry.log" >&2
	return 1
}

registry_test_dir() {
	t=$(mktemp -d "/tmp/rv-$1.XXXXXX")
	pids=()
	trap _registry_test_cleanup EXIT
	trap 'exit 1' INT TERM
}

_registry_test_cleanup() {
	local p
	registry_stop
	for p in "${pids[@]}"; do stop_pid "$p"; done
	rm -rf "$t"
}

registry_stop() {
	if [ -n "${REG_PID:-}" ]; then
		kill "$REG_PID" 2>/dev/null
		wait "$REG_PID" 2>/dev/null || true
		REG_PID=
	fi
	return 0
}

# registry_push LAYOUT:TAG DEST_REPO:TAG [skopeo copy options...]
registry_push() {
	local src=$1 dst=$2
	shift 2
	skopeo --insecure-policy copy -q "$@" --dest-tls-verify=false \
		"oci:$src" "docker://$REG_HOST/$dst" >/dev/null
}

# Wait for a port file written by one of the Python helpers.
_wait_port_file() {
	local f=$1 pid=$2 i
	for i in $(seq 1 100); do
		[ -s "$f" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# proxy_start DIR UPSTREAM_URL [BIND_ADDR]: a counting, fault-injecting
# proxy (regproxy.py). Rules in DIR/rules.json (re-read per request), log
# in DIR/proxy.log. Sets PROXY_HOST and PROXY_PID.
proxy_start() {
	local dir=$1 up=$2 bind=${3:-127.0.0.1}
	mkdir -p "$dir"
	[ -f "$dir/rules.json" ] || echo '[]' > "$dir/rules.json"
	rm -f "$dir/port"
	python3 "$RV_TOP/tests/lib/regproxy.py" --upstream "$up" --bind "$bind" \
		--port-file "$dir/port" --log "$dir/proxy.log" --rules "$dir/rules.json" \
		2>"$dir/proxy.err" &
	PROXY_PID=$!
	_wait_port_file "$dir/port" "$PROXY_PID" || { cat "$dir/proxy.err" >&2; return 1; }
	PROXY_HOST=$bind:$(cat "$dir/port")
}

# token_start DIR [token_server.py options]: a bearer token server with a
# fresh signing key (DIR/token.crt is the registry's rootcertbundle). Sets
# TOKEN_REALM, TOKEN_CERT and TOKEN_PID.
token_start() {
	local dir=$1
	shift
	mkdir -p "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/token.key" \
		-out "$dir/token.crt" -days 2 -subj "/CN=rv-test-token" >/dev/null 2>&1 || return 1
	rm -f "$dir/port"
	python3 "$RV_TOP/tests/lib/token_server.py" --key "$dir/token.key" \
		--cert "$dir/token.crt" --port-file "$dir/port" --log "$dir/token.log" "$@" \
		2>"$dir/token.err" &
	TOKEN_PID=$!
	_wait_port_file "$dir/port" "$TOKEN_PID" || { cat "$dir/token.err" >&2; return 1; }
	TOKEN_REALM=http://127.0.0.1:$(cat "$dir/port")/token
	TOKEN_CERT=$dir/token.crt
}

# stop_pid PID: stop one helper we started.
stop_pid() {
	[ -n "${1:-}" ] || return 0
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null || true
	return 0
}
