#!/bin/bash
# kubeproxy.sh - the fault proxy (tests/lib/kubeproxy.py) in front of a REAL
# kube-apiserver and etcd (tests/lib/controlplane.sh: API server only, no
# kubelet): every fault it injects, the conflicts the real server makes on
# its cue, kubectl and curl through it, and runtime-verifier's own client
# retrying through 429s and 500s.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/controlplane.sh"

if ! cp_bin_dir >/dev/null; then
	not_ok "the cluster binaries are built (tests/cluster/build: ~/.cache/runtime-verifier/cluster/*/bin)"
	done_testing
fi
T=$(mktemp -d)
PROXY_PY=$RV_TOP/tests/lib/kubeproxy.py
FAULTS=$T/faults.json
PLOG=$T/requests.log
ppid_file=$T/proxy.pid
cleanup() {
	local f
	for f in "$ppid_file" "$T/proxy2.pid"; do
		[ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
	done
	cp_stop
	rm -rf "$T"
}
trap cleanup EXIT

t_start=$(date +%s)
check "a real etcd and kube-apiserver start (API server only)" cp_start "$T/cp"
[ -n "${CP_URL:-}" ] || done_testing

# --- the proxy ---------------------------------------------------------------------------
echo '{}' >"$FAULTS"
python3 "$PROXY_PY" serve --upstream "$CP_URL" --upstream-ca "$CP_CA" --faults "$FAULTS" \
	--log "$PLOG" --dir "$T/proxy" --pidfile "$ppid_file" \
	--admin-cert "$CP_ADMIN_CERT" --admin-key "$CP_ADMIN_KEY" \
	>"$T/proxy.out" 2>"$T/proxy.err" &
for _ in $(seq 1 100); do [ -s "$T/proxy.out" ] && break; sleep 0.1; done
PORT=$(head -1 "$T/proxy.out")
like "$PORT" '^[0-9]+$' "the proxy prints its port"
is "$(cat "$ppid_file" 2>/dev/null)" "$!" "and writes its pidfile"
PURL=https://127.0.0.1:$PORT
PCA=$T/proxy/ca.crt
cp_kubeconfig "$T/px.kubeconfig" "$PURL" "$PCA" "$CP_ADMIN_TOKEN"
K() { "$CP_KUBECTL" --kubeconfig "$T/px.kubeconfig" --cache-dir "$T/kcache" --request-timeout=30s "$@"; }
KD() { "$CP_KUBECTL" --kubeconfig "$CP_KUBECONFIG" --cache-dir "$T/kcache-direct" --request-timeout=30s "$@"; }
# C PATH [curl args]: through the proxy with the admin token; prints the body
C() { local p=$1; shift; curl -s --cacert "$PCA" -H "Authorization: Bearer $CP_ADMIN_TOKEN" "$@" "$PURL$p"; }
fault() { python3 "$PROXY_PY" fault --faults "$FAULTS" "$@"; }
logcount() { jq -c "select($1)" "$PLOG" | wc -l; }
CM=/api/v1/namespaces/default/configmaps

# --- plain forwarding --------------------------------------------------------------------
is "$(K get ns default -o jsonpath='{.metadata.name}')" "default" "kubectl get through the proxy"
KD create configmap rv-state --from-literal=runs=1 >/dev/null
is "$(K get cm rv-state -o jsonpath='{.data.runs}')" "1" "kubectl sees what was written to the API server directly"
out=$(curl -s --cacert "$PCA" -H "Authorization: Bearer $CP_USER_TOKEN" "$PURL$CM")
is "$(jq -r '.code,.reason' <<<"$out" | paste -sd' ')" "403 Forbidden" "the client's bearer token passes through: a limited user gets the real 403"
like "$(jq -r .message <<<"$out")" '^configmaps is forbidden: User "rv-limited" cannot list resource "configmaps"' "with the real message naming the user"
K create serviceaccount probe >/dev/null
sa_tok=$(K create token probe)
out=$(curl -s --cacert "$PCA" -H "Authorization: Bearer $sa_tok" "$PURL$CM")
like "$(jq -r .message <<<"$out")" 'User "system:serviceaccount:default:probe" cannot list' "a service-account token from kubectl create token authenticates through the proxy"

# --- 429 -------------------------------------------------------------------------------------
fault throttle_every=2 retry_after=1
C "$CM/rv-state" -o /dev/null
C "$CM/rv-state" -D "$T/h" -o "$T/b"
like "$(head -1 "$T/h")" '^HTTP/1.1 429' "throttle_every=2: the 2nd resource request gets 429"
like "$(grep -i '^retry-after:' "$T/h" | tr -d '\r')" '^[Rr]etry-[Aa]fter: 1$' "with Retry-After: 1"
is "$(jq -r '[.kind,.apiVersion,.status,.reason,(.code|tostring),(.details.retryAfterSeconds|tostring)]|join(" ")' "$T/b")" \
	"Status v1 Failure TooManyRequests 429 1" "and a Status body: TooManyRequests, code 429, details.retryAfterSeconds"
fault throttle_every=2 retry_after=1 note=again # a change: the count starts again
C "$CM/rv-state" -o /dev/null
start=$(date +%s.%N)
out=$(K get cm rv-state -o name -v=6 2>&1)
rc=$?
secs=$(echo "$(date +%s.%N) - $start" | bc)
is "$rc" 0 "kubectl retries the 429 and succeeds"
like "$(grep -c 'status="429 Too Many Requests"' <<<"$out")" '^1$' "kubectl saw the 429"
like "$secs" '^([1-9]|[1-9][0-9])\.' "after waiting Retry-After ($secs s)"
fault throttle_every=1 retry_after=0
out=$(K get cm rv-state 2>&1)
like "$out" "^Error from server \(TooManyRequests\): Too many requests, please try again later" "throttle_every=1: kubectl gives up after its retries, showing the Status message"

# --- 500 ---------------------------------------------------------------------------------
fault clear error_every=1
code=$(C "$CM/rv-state" -o "$T/b" -w '%{http_code}')
is "$code $(jq -r '.reason+" "+.message' "$T/b")" "500 InternalError Internal error occurred: fault injected by kubeproxy" "error_every=1: 500 InternalError Status"
like "$(K get cm rv-state 2>&1)" "Internal error occurred: fault injected by kubeproxy" "kubectl shows it"

# --- discovery is never faulted -----------------------------------------------------------------
fault clear error_every=1 throttle_every=1 latency_ms=3000 reset_every=1
codes=""
for p in /api /api/v1 /apis /apis/apps /apis/apps/v1 /version /openapi/v3 /healthz /readyz /livez; do
	codes+="$(C "$p" -o /dev/null -w '%{http_code}') "
done
is "$codes" "200 200 200 200 200 200 200 200 200 200 " "discovery (/api, /apis, /version, /openapi, health) is never faulted"
api_resources() { K api-resources -o name --cache-dir "$T/kcache-fresh" >/dev/null; }
check "kubectl api-resources works under every fault" api_resources

# --- latency -------------------------------------------------------------------------------
fault clear latency_ms=700
t=$(C "$CM/rv-state" -o /dev/null -w '%{time_total}')
like "$t" '^(0\.[7-9]|[1-9])' "latency_ms=700: a resource request takes >= 0.7 s ($t s)"
t=$(C /version -o /dev/null -w '%{time_total}')
like "$t" '^0\.[0-4]' "while discovery is not delayed ($t s)"

# --- watch: streamed, and cut ------------------------------------------------------------------
fault clear
out=$(C "$CM?watch=1&timeoutSeconds=2" --no-buffer -w '\n%{http_code}')
rc=$?
is "$rc $(tail -1 <<<"$out")" "0 200" "a watch that the server ends (timeoutSeconds=2) ends cleanly through the proxy"
fault clear drop_watch_after=2
rv=$(C "$CM" | jq -r .metadata.resourceVersion)
start=$(date +%s.%N)
C "$CM?watch=1&resourceVersion=$rv" --no-buffer -o "$T/watch" 2>/dev/null &
wpid=$!
sleep 0.7
KD create configmap watched --from-literal=a=b >/dev/null
sleep 0.3
got_early=$(jq -r 'select(.type=="ADDED")|.object.metadata.name' "$T/watch" 2>/dev/null)
wait $wpid
rc=$?
secs=$(echo "$(date +%s.%N) - $start" | bc)
is "$got_early" "watched" "watch events stream through as they happen (ADDED seen before the watch ends)"
is "$rc" 18 "drop_watch_after=2: the watch is cut without the terminating chunk (curl: 18, transfer closed with outstanding read data)"
like "$secs" '^(1\.9|2\.|3\.)' "after 2 s ($secs s)"
is "$(logcount '.fault=="drop_watch_after"')" 1 "the log records the cut watch"

# --- continue tokens ----------------------------------------------------------------------------
fault clear
for i in 1 2 3; do KD create configmap "page-$i" --from-literal=i=$i >/dev/null; done
tok=$(C "$CM?limit=1" | jq -r .metadata.continue)
like "$tok" '^[A-Za-z0-9_-]{10,}$' "a list with limit=1 returns the real continue token"
fault expire_continue=true
C "$CM?limit=1&continue=$tok" -o "$T/b" -w '%{http_code}' >"$T/code"
is "$(cat "$T/code") $(jq -r '.reason+" "+(.code|tostring)' "$T/b")" "410 Expired 410" "expire_continue: the continue request gets 410 Expired"
is "$(jq -r .message "$T/b")" "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list." "with the apiserver's message (etcd3 inconsistentContinue)"
itok=$(jq -r .metadata.continue "$T/b")
out=$(curl -s --cacert "$CP_CA" -H "Authorization: Bearer $CP_ADMIN_TOKEN" "$CP_URL$CM?limit=1&continue=$itok")
is "$(jq -r '.kind' <<<"$out")" "ConfigMapList" "and its inconsistent token (rv -1) is accepted by the real server"
like "$(K get cm --chunk-size=1 2>&1)" "The provided continue parameter is too old" "kubectl get --chunk-size=1 shows the 410"
is "$(C "$CM?limit=1" | jq -r .kind)" "ConfigMapList" "a list without continue is not expired"

# --- conflicts made by the real server ------------------------------------------------------------
fault clear conflict_puts.configmaps=1
C "$CM/rv-state" >"$T/cm.json"
old_rv=$(jq -r .metadata.resourceVersion "$T/cm.json")
jq '.data.runs="2"' "$T/cm.json" >"$T/cm2.json"
code=$(C "$CM/rv-state" -X PUT -H 'Content-Type: application/json' --data-binary @"$T/cm2.json" -o "$T/b" -w '%{http_code}')
is "$code $(jq -r '.reason+" "+(.code|tostring)' "$T/b")" "409 Conflict 409" "conflict_puts.configmaps=1: a PUT with the old resourceVersion gets the real server's 409"
is "$(jq -r .message "$T/b")" 'Operation cannot be fulfilled on configmaps "rv-state": the object has been modified; please apply your changes to the latest version and try again' "with the apiserver's message"
is "$(jq -c .details "$T/b")" '{"name":"rv-state","kind":"configmaps"}' "and its details"
is "$(KD get cm rv-state -o jsonpath='{.metadata.annotations.test\.runtime-verifier\.io/concurrent-writes}')" "1" "the concurrent write is on the object (annotation = 1)"
new_rv=$(KD get cm rv-state -o jsonpath='{.metadata.resourceVersion}')
[ "$new_rv" != "$old_rv" ] && ok "its resourceVersion moved ($old_rv -> $new_rv)" || not_ok "its resourceVersion moved"
is "$(KD get cm rv-state -o jsonpath='{.data.runs}')" "1" "the client's data was not written"
C "$CM/rv-state" | jq '.data.runs="3"' >"$T/cm3.json"
code=$(C "$CM/rv-state" -X PUT -H 'Content-Type: application/json' --data-binary @"$T/cm3.json" -o /dev/null -w '%{http_code}')
is "$code" 200 "the knob is used up: a re-read and PUT succeeds"
fault clear conflict_puts.configmaps=2
C "$CM/rv-state" | jq '.data.runs="4"' >"$T/cm4.json"
like "$(K replace -f "$T/cm4.json" 2>&1)" 'Operation cannot be fulfilled on configmaps "rv-state": the object has been modified' "kubectl replace with a stale object shows the real conflict"
is "$(KD get cm rv-state -o jsonpath='{.metadata.annotations.test\.runtime-verifier\.io/concurrent-writes}')" "2" "the annotation counts the writes (2)"
is "$(K label cm rv-state x=y)" "configmap/rv-state labeled" "kubectl label (a PATCH) is not raced"
code=$(C /api/v1/namespaces/default/configmaps/nope -X PUT -H 'Content-Type: application/json' \
	--data-binary '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nope","resourceVersion":"1"}}' -o /dev/null -w '%{http_code}')
is "$code" 404 "a PUT of an object that does not exist is not raced (the real 404)"

# a resource in a group: conflict_puts.RESOURCE.GROUP
fault clear conflict_puts.leases.coordination.k8s.io=1
LS=/apis/coordination.k8s.io/v1/namespaces/default/leases
C "$LS" -X POST -H 'Content-Type: application/json' -o /dev/null \
	--data-binary '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"rv-lock"},"spec":{"holderIdentity":"a"}}'
C "$LS/rv-lock" | jq '.spec.holderIdentity="b"' >"$T/lease.json"
code=$(C "$LS/rv-lock" -X PUT -H 'Content-Type: application/json' --data-binary @"$T/lease.json" -o "$T/b" -w '%{http_code}')
is "$code $(jq -r .message "$T/b")" '409 Operation cannot be fulfilled on leases.coordination.k8s.io "rv-lock": the object has been modified; please apply your changes to the latest version and try again' \
	"conflict_puts.leases.coordination.k8s.io=1: the real 409 names the group"
is "$(jq -c .details "$T/b")" '{"name":"rv-lock","group":"coordination.k8s.io","kind":"leases"}' "with details name, group, kind"

fault clear already_exists_posts.configmaps=1
body='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fresh"},"data":{"a":"1"}}'
code=$(C "$CM" -X POST -H 'Content-Type: application/json' --data-binary "$body" -o "$T/b" -w '%{http_code}')
is "$code $(jq -r '.reason+" "+(.code|tostring)' "$T/b")" "409 AlreadyExists 409" "already_exists_posts.configmaps=1: the POST gets the real 409 AlreadyExists"
is "$(jq -r .message "$T/b")" 'configmaps "fresh" already exists' "with the apiserver's message"
is "$(KD get cm fresh -o jsonpath='{.metadata.annotations.test\.runtime-verifier\.io/concurrent-writes}{.data.a}')" "11" "the object was created from the POST's body, annotated"
code=$(C "$CM" -X POST -H 'Content-Type: application/json' --data-binary "${body/fresh/fresh2}" -o /dev/null -w '%{http_code}')
is "$code" 201 "the knob is used up: the next POST creates"
fault clear already_exists_posts.configmaps=1
code=$(C "$CM" -X POST -H 'Content-Type: application/json' --data-binary '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}' -o /dev/null -w '%{http_code}')
is "$code" 422 "a body the server refuses creates nothing (the real 422)"
code=$(C "$CM" -X POST -H 'Content-Type: application/json' --data-binary "${body/fresh/fresh3}" -o /dev/null -w '%{http_code}')
is "$code" 409 "and does not use the knob up"
fault clear already_exists_posts.configmaps=1 note=kubectl # a change: the count starts again
like "$(K create configmap fresh4 2>&1)" 'configmaps "fresh4" already exists' "kubectl create configmap shows the real AlreadyExists"

# --- slow bodies, resets ---------------------------------------------------------------------------
fault clear
KD create configmap big --from-literal=blob="$(head -c 3000 /dev/zero | tr '\0' x)" >/dev/null
len=$(C "$CM/big" | wc -c)
fault slow_body_bps=2000
start=$(date +%s.%N)
got=$(C "$CM/big" | wc -c)
secs=$(echo "$(date +%s.%N) - $start" | bc)
is "$got" "$len" "slow_body_bps=2000: the whole body arrives ($len bytes)"
like "$secs" '^(1\.[4-9]|[2-9])' "trickled at about 2000 bytes/s ($secs s)"
fault clear reset_every=2
C "$CM/big" -o /dev/null
C "$CM/big" -o "$T/b" 2>/dev/null
rc=$?
[ "$rc" -ne 0 ] && [ "$(wc -c <"$T/b")" -lt "$len" ] && ok "reset_every=2: the 2nd response is cut by a reset (curl $rc, $(wc -c <"$T/b") of $len bytes)" ||
	not_ok "reset_every=2: the 2nd response is cut by a reset (curl $rc)"
is "$(C "$CM/big" | wc -c)" "$len" "and the 3rd is whole"

# --- the request log -----------------------------------------------------------------------------
fault clear
for _ in 1 2 3; do C "$CM/counted" -o /dev/null; done
is "$(logcount '.path=="/api/v1/namespaces/default/configmaps/counted" and .method=="GET" and .status==404')" 3 "the log has one line per request (3 GETs, 404)"
is "$(logcount '.status==429 and .fault=="throttle_every"')" "$(logcount '.status==429')" "every 429 in the log is marked throttle_every"
is "$(logcount '.fault=="conflict_puts"')" 3 "concurrent writes are marked conflict_puts (3)"
is "$(logcount '(.path=="/api" or .path=="/apis" or (.path|startswith("/openapi")) or .path=="/version") and .fault!=null')" 0 "no discovery request was faulted"

# --- a second proxy: the cluster CA signs its certificate, a token file for its writes ------------
printf '%s\n' "$CP_ADMIN_TOKEN" >"$T/admin.token"
echo '{"already_exists_posts.configmaps": 1}' >"$T/faults2.json"
python3 "$PROXY_PY" serve --upstream "$CP_URL" --upstream-ca "$CP_CA" --faults "$T/faults2.json" \
	--log "$T/requests2.log" --dir "$T/proxy2" --pidfile "$T/proxy2.pid" --port-file "$T/proxy2.port" \
	--ca-cert "$CP_DIR/pki/ca.crt" --ca-key "$CP_DIR/pki/ca.key" --admin-token-file "$T/admin.token" \
	>/dev/null 2>"$T/proxy2.err" &
for _ in $(seq 1 100); do [ -s "$T/proxy2.port" ] && break; sleep 0.1; done
cp_kubeconfig "$T/px2.kubeconfig" "https://127.0.0.1:$(cat "$T/proxy2.port")" "$CP_CA" "$CP_ADMIN_TOKEN"
K2() { "$CP_KUBECTL" --kubeconfig "$T/px2.kubeconfig" --cache-dir "$T/kcache2" --request-timeout=30s "$@"; }
is "$(K2 get ns default -o name)" "namespace/default" "--ca-cert/--ca-key: clients trust the cluster's own CA"
like "$(K2 create configmap second 2>&1)" 'configmaps "second" already exists' "--admin-token-file: the proxy's own create uses the token (kubectl's protobuf POST raced)"
is "$(KD get cm second -o jsonpath='{.metadata.annotations.test\.runtime-verifier\.io/concurrent-writes}')" "1" "the protobuf-created object got the annotation by a merge patch"
kill -TERM "$(cat "$T/proxy2.pid")"
for _ in $(seq 1 50); do [ -e "$T/proxy2.pid" ] || break; sleep 0.1; done

# --- runtime-verifier's own client -----------------------------------------------------------------
if [ -x "$RV" ]; then
	KD create namespace rv-empty >/dev/null
	fault clear throttle_every=2 retry_after=1 error_every=5
	# 3 requests first (the 2nd gets 429), so runtime-verifier's first list
	# is the 4th: 429, then 500 (5th), 429 (6th), 200 (7th)
	for _ in 1 2 3; do C "$CM/warm-up" -o /dev/null; done
	before=$(wc -l <"$PLOG")
	"$RV" verify --kubeconfig "$T/px.kubeconfig" -n rv-empty --probe-image x >"$T/rv.out" 2>"$T/rv.err"
	rc=$?
	is "$rc" 0 "runtime-verifier verify through 429s and 500s on an empty namespace exits 0"
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/rv.err" | tail -5
	tail -n +$((before + 1)) "$PLOG" >"$T/rv.log"
	n429=$(jq -c 'select(.status==429)' "$T/rv.log" | wc -l)
	n500=$(jq -c 'select(.status==500)' "$T/rv.log" | wc -l)
	n200=$(jq -c 'select(.status==200)' "$T/rv.log" | wc -l)
	[ "$n429" -ge 1 ] && [ "$n500" -ge 1 ] && [ "$n200" -ge 1 ] && ok "it retried: $n429 x 429, $n500 x 500, $n200 x 200" || not_ok "it retried: $n429 x 429, $n500 x 500, $n200 x 200"
	is "$(jq -r .status "$T/rv.log" | tail -1)" 200 "its last request succeeded"
	jq -r '"# " + .method + " " + .path + " " + (.status|tostring) + " " + (.fault // "")' "$T/rv.log" | head -20
else
	not_ok "build/runtime-verifier is built (make all)"
fi

# --- shutdown --------------------------------------------------------------------------------------
fault clear
C "$CM?watch=1" --no-buffer -o /dev/null 2>/dev/null &
wpid=$!
sleep 0.5
ppid=$(cat "$ppid_file")
kill -TERM "$ppid"
for _ in $(seq 1 50); do kill -0 "$ppid" 2>/dev/null || break; sleep 0.1; done
alive() { kill -0 "$1" 2>/dev/null; }
check_fails "the proxy exits on SIGTERM" alive "$ppid"
check_fails "and removes its pidfile" test -e "$ppid_file"
for _ in $(seq 1 50); do kill -0 "$wpid" 2>/dev/null || break; sleep 0.1; done
check_fails "a watch open through it ends with it" alive "$wpid"
apid=$(cat "$CP_DIR/kube-apiserver.pid") epid=$(cat "$CP_DIR/etcd.pid")
cp_stop
check_fails "cp_stop: kube-apiserver is gone" alive "$apid"
check_fails "cp_stop: etcd is gone" alive "$epid"
free=yes
for p in "$PORT" "$(cat "$T/proxy2.port")" "$CP_PORT" "$CP_ETCD_PORT" "$CP_ETCD_PEER_PORT"; do
	# SO_REUSEADDR: a closed connection's TIME_WAIT does not count, a listener does
	python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen()' "$p" 2>/dev/null || free="no ($p)"
done
is "$free" yes "the ports are free again"
echo "# took $(($(date +%s) - t_start)) s"
done_testing
