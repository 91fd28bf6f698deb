#!/bin/bash
# image_faults.sh - transfer faults between `runtime-verifier image` and a
# real registry, injected by a proxy (tests/lib/regproxy.py):
# a connection closed mid-blob (resumed with Range; also when the server
# then ignores Range), 5xx answers (retried), a 429 with Retry-After
# (honoured), blob bytes that do not match their digest (refused, no
# output), a blob longer than its descriptor (refused), and a redirect of
# blob downloads to another host, which must not receive the registry's
# Authorization header.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/tap.sh"
source "$here/../lib/registry.sh"

t=$(mktemp -d /tmp/rv-image-faults.XXXXXX)
pids=()
regs=()
cleanup() {
	for p in "${pids[@]}"; do stop_pid "$p"; done
	for p in "${regs[@]}"; do stop_pid "$p"; done
	rm -rf "$t"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

cat > "$t/spec.json" <<'EOF'
{"images": [{"tag": "v1", "layers": [
  {"entries": [{"path": "app/small", "data": "small\n"}]},
  {"compression": "none", "entries": [{"path": "app/big", "random": 2000000}]}]}]}
EOF
python3 "$RV_TOP/tests/lib/mkimage.py" "$t/spec.json" "$t/oci"
check "registry starts" registry_start "$t/reg"
regs+=("$REG_PID")
check "push" registry_push "$t/oci:v1" app/f:v1
UP=$REG_URL
check "proxy starts" proxy_start "$t/p" "$UP"
pids+=("$PROXY_PID")
P=$PROXY_HOST
"$RV" image --no-cache --insecure-registry "$REG_HOST" "$REG_HOST/app/f:v1" > "$t/ref.txt"
is "$?" 0 "reference run straight to the registry"

rules() { printf '%s\n' "$1" > "$t/p/rules.json"; : > "$t/p/proxy.log"; }
run() {
	"$RV" image --no-cache --insecure-registry "$P" --stats "$@" "$P/app/f:v1" > "$t/out.txt" 2> "$t/err.txt"
}
blob='/v2/app/f/blobs/sha256:'

rules '[{"match": "'"$blob"'", "times": 1, "action": "close_mid"}]'
run
is "$?" 0 "connection closed mid-blob: succeeds"
same_file "$t/out.txt" "$t/ref.txt" "connection closed mid-blob: same manifest"
like "$(cat "$t/err.txt")" "resumes=[1-9]" "connection closed mid-blob: resumed"
like "$(grep -c '"range": "bytes=[1-9]' "$t/p/proxy.log")" '^[1-9]' "connection closed mid-blob: the retry asked for a Range"

rules '[{"match": "'"$blob"'", "times": 1, "action": "close_mid"}, {"match": "'"$blob"'", "action": "ignore_range"}]'
run
is "$?" 0 "server ignores Range on resume: succeeds"
same_file "$t/out.txt" "$t/ref.txt" "server ignores Range on resume: same manifest (re-sent prefix dropped)"

rules '[{"match": "'"$blob"'", "times": 1, "action": "stall", "seconds": 20}]'
start=$(date +%s)
run --timeout 2
rc=$?
is "$rc" 0 "a transfer that stalls: abandoned after --timeout and resumed"
same_file "$t/out.txt" "$t/ref.txt" "a stalled transfer: same manifest"
check "a stalled transfer: did not wait for the server ($(( $(date +%s) - start )) s < 15 s)" test $(( $(date +%s) - start )) -lt 15

rules '[{"match": "'"$blob"'", "times": 2, "action": "status", "status": 503, "body": "busy"}]'
run
is "$?" 0 "503 twice: retried and succeeds"
like "$(cat "$t/err.txt")" "retries=[2-9]" "503 twice: counted retries"

rules '[{"match": "/manifests/", "times": 1, "action": "status", "status": 429, "headers": {"Retry-After": "2"}, "body": "slow down"}]'
start=$(date +%s%N)
run
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$rc" 0 "429 with Retry-After: succeeds"
check "429 with Retry-After 2: waited at least 2 s (${ms} ms)" test "$ms" -ge 1900

rules '[{"match": "'"$blob"'", "action": "status", "status": 503, "body": "down"}]'
"$RV" image --no-cache --insecure-registry "$P" --retries 2 "$P/app/f:v1" > "$t/out.txt" 2> "$t/err.txt"
is "$?" 2 "503 for ever: gives up with exit 2"
like "$(cat "$t/err.txt")" "HTTP 503" "503 for ever: says so"
is "$(grep -c '"status": 503' "$t/p/proxy.log")" 3 "503 for ever: 1 try + 2 retries"

rules '[{"match": "'"$blob"'", "action": "corrupt"}]'
run
is "$?" 2 "corrupt blob: exit 2"
like "$(cat "$t/err.txt")" "does not match its digest" "corrupt blob: says the digest does not match"
is "$(wc -c < "$t/out.txt")" 0 "corrupt blob: no output"

rules '[{"match": "'"$blob"'", "action": "extra", "bytes": 10}]'
run
is "$?" 2 "blob longer than its descriptor: exit 2"
like "$(cat "$t/err.txt")" "larger than its descriptor" "blob longer than its descriptor: says so"
is "$(wc -c < "$t/out.txt")" 0 "blob longer than its descriptor: no output"

rules '[{"match": "/manifests/", "action": "corrupt"}]'
dg=$(skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/app/f:v1" | sha256sum | cut -d' ' -f1)
"$RV" image --no-cache --insecure-registry "$P" "$P/app/f@sha256:$dg" > "$t/out.txt" 2> "$t/err.txt"
is "$?" 2 "manifest that does not match the requested digest: exit 2"
like "$(cat "$t/err.txt")" "manifest of .* does not match its digest" "manifest digest mismatch: says so"

# Redirects: an authenticated registry sends blob downloads to another
# host (127.0.0.2, "blob storage"), which must not see the credentials.
check "basic-auth registry starts" registry_start "$t/areg" --basic carol:s3cret-c
regs+=("$REG_PID")
check "push to the basic-auth registry" registry_push "$t/oci:v1" app/f:v1 --dest-creds carol:s3cret-c
AUP=$REG_URL
check "blob storage proxy on 127.0.0.2 starts" proxy_start "$t/store" "$UP" 127.0.0.2
pids+=("$PROXY_PID")
STORE=$PROXY_HOST
check "front proxy starts" proxy_start "$t/front" "$AUP"
pids+=("$PROXY_PID")
FRONT=$PROXY_HOST
printf '[{"match": "%s", "action": "redirect", "to": "http://%s"}]\n' "$blob" "$STORE" > "$t/front/rules.json"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$FRONT" "$(printf carol:s3cret-c | base64 -w0)" > "$t/cfg.json"
"$RV" image --no-cache --insecure-registry "$FRONT" --docker-config "$t/cfg.json" "$FRONT/app/f:v1" > "$t/out.txt" 2> "$t/err.txt"
is "$?" 0 "redirected blobs: succeeds"
same_file "$t/out.txt" "$t/ref.txt" "redirected blobs: same manifest"
like "$(grep -c "$blob" "$t/store/proxy.log")" '^[1-9]' "redirected blobs: fetched from the other host"
is "$(grep -c '"auth": true' "$t/store/proxy.log")" 0 "redirected blobs: no Authorization sent to the other host"
like "$(grep "/manifests/" "$t/front/proxy.log" | grep -c '"auth": true')" '^[1-9]' "the registry itself did get the credentials"

done_testing
