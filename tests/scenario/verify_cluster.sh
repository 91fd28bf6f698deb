#!/bin/bash
# verify_cluster.sh - runtime-verifier verify end to end on the real test
# cluster (tests/cluster: kube-apiserver with PodSecurity admission, kubelet,
# containerd, runc, all built from the pinned modules): real pods, real
# ephemeral probe containers the kubelet starts in the target's PID
# namespace, a real registry, a real git repository for provenance, the
# built kubectl reading what verify wrote, and API faults from the fault
# proxy (tests/lib/kubeproxy.py) in front of the real API server.
# The port of verify_sandbox.sh: every assertion is kept; where the real
# cluster behaves otherwise than the simulator did, the check is a TAP TODO
# naming the difference (issue 14).
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../cluster/testlib.sh"
source "$(dirname "$0")/../lib/registry.sh"
set -u

work=$(mktemp -d "${TMPDIR:-/tmp}/rv-verify-test.XXXXXX")
receiver_pid=
cleanup() {
	[ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null
	registry_stop
	cluster_stop
	rm -rf "$work"
}
trap cleanup EXIT

# --- a build repository whose last Dockerfile change has an agent co-author
repo="$work/repo"
git init -q "$repo"
git -C "$repo" config user.name "Dana Developer"
git -C "$repo" config user.email "dana@example.com"
printf 'FROM scratch\nCOPY app /app\n' > "$repo/Dockerfile"
git -C "$repo" add Dockerfile
git -C "$repo" commit -qm "Add the Dockerfile"
printf 'FROM scratch\nCOPY --chown=1000:1000 app /app\n' > "$repo/Dockerfile"
git -C "$repo" commit -qam "Simplify the build

Co-authored-by: Claude <noreply@anthropic.com>"
export RV_REVISION=$(git -C "$repo" rev-parse HEAD)

# --- a forged probe: it claims a result but its log is a truncated frame
mkdir -p "$work/t/app"
printf 'x\n' > "$work/t/app/x"
"$RV_PROBE" --root "$work/t" --path /app --termination-log "$work/summary" > "$work/frame"
{
	printf '#!/bin/sh\ncat <<"FRAME"\n'
	grep -v '^rv-frame 1 end' "$work/frame"
	printf 'FRAME\nprintf %%s "%s" > /dev/termination-log\n' "$(cat "$work/summary")"
} > "$work/fakeprobe"
export RV_FAKE_PROBE="$work/fakeprobe"

T0=$(date +%s)
cluster_start
"$SCN" load "$RV_TOP/tests/sandbox/scenarios/verify.json" > "$work/loaded.json" ||
	{ not_ok "scenarioctl load verify.json"; exit 1; }
"$SCN" wait -n prod --timeout 120 >/dev/null || not_ok "the prod pods run"
"$SCN" wait -n dev --timeout 120 >/dev/null || not_ok "the dev pods run"
PROBE="$CLUSTER_REGISTRY/rv/probe:dev"
cat > "$work/config.yaml" <<CFG
allowlist:
  - namespace: prod
    paths: ["/app/cache/**"]
probe:
  maxEphemeralContainers: 100
timeouts:
  probe: 60s
CFG
verify() {
	"$RV" verify --kubeconfig "$KUBECONFIG" --probe-image "$PROBE" \
		--insecure-registry "$CLUSTER_REGISTRY" --config "$work/config.yaml" --repo "$repo" "$@"
}
jqr() { jq -r "$@" "$work/r.json"; }
verdict() { jqr --arg p "$1" '.pods[] | select(.name==$p) | .containers[0].verdict'; }

# --- 1. clean pods in a restricted namespace, through uid mirroring -------------
verify -n prod -l app=web -o json > "$work/r.json"
rc=$?
is "$rc" 0 "three clean pods: exit 0"
is "$(jqr '.summary.clean')" 3 "all three are clean"
is "$(jqr '[.pods[].containers[0].imageRoot == .pods[].containers[0].runtimeRoot] | all')" true \
	"each runtime root hash equals the image's"
is "$(jqr '.stats.images')" 1 "3 pods of one image: the image is fingerprinted once"
bytes3=$(jqr '.stats.registryBytes')
verify -n prod -l app=web -o json --no-annotate > "$work/r1.json" 2>/dev/null
like "$(jq -r '.pods[0].containers[0].probe.container' "$work/r1.json")" '^rv-[0-9a-f]{8}-0$' \
	"the probe container is named rv-<run>-<n>"
is "$(jq -r '.stats.apiRequests' "$work/r1.json")" 7 \
	"API requests: one list, then a patch and a watch per clean pod (1 + 2 x 3)"
verify -n prod -l 'app=web' --no-annotate -o json > /dev/null
"$RV" verify --kubeconfig "$KUBECONFIG" --probe-image "$PROBE" --insecure-registry "$CLUSTER_REGISTRY" \
	-n prod -l app=cm -o json --no-annotate > "$work/r1.json"
is "$(jq -r '.stats.registryBytes' "$work/r1.json")" "$bytes3" \
	"one pod of the image fetches as many registry bytes as three"
is "$(jq -r '.pods[0].containers[0].verdict' "$work/r1.json")" clean \
	"a ConfigMap mounted over /app/config (hiding the image's files there) is not drift"
kubectl get pod web-0 -n prod -o json > "$work/pod.json"
is "$(jq -r '.spec.ephemeralContainers[0].securityContext | [.runAsUser, .runAsGroup, .allowPrivilegeEscalation, .readOnlyRootFilesystem, .seccompProfile.type, (.capabilities.drop|join(","))] | join(" ")' "$work/pod.json")" \
	"1000 1000 false true RuntimeDefault ALL" "the probe mirrors the target's uid, gid and dropped capabilities and adds only restrictions"
is "$(jq -r '.spec.ephemeralContainers[0].targetContainerName' "$work/pod.json")" app "the probe targets the app container"

# --- 1b. a private registry: the pod's imagePullSecrets serve verify too ------
# On a real node one image (one digest) pulled from two registries is one
# containerd image with two repo digests, and the kubelet reports either as
# the imageID of every container of it (section 13). So the private image is
# not demo/app:v1's bytes, as it was in the sandbox: an image of its own.
# Its address sorts before the cluster registry's (free ports are >= 32768
# here): containerd lists an image's repo digests in that order, and
# section 13 needs the private one first.
free_port() {
	python3 -c 'import socket
for p in range(20000, 21000):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    s.close()
    print(p)
    break'
}
registry_start "$work/private" --basic carol:pull-s3cret >/dev/null
cat > "$work/private-img.json" <<JSON
{"images": [{"name": "demo/private-app", "tag": "v1", "user": "1000:1000", "cmd": ["/bin/sleep", "3600"],
  "files": [{"path": "/app/private.txt", "content": "only in the private registry\n", "uid": 1000, "gid": 1000}]}]}
JSON
"$SCN" load "$work/private-img.json" >/dev/null
skopeo --insecure-policy copy -q --src-tls-verify=false --dest-tls-verify=false \
	--dest-creds carol:pull-s3cret "docker://$CLUSTER_REGISTRY/demo/private-app:v1" "docker://$REG_HOST/private/app:v1"
kubectl create secret docker-registry regcred -n prod --docker-server="$REG_HOST" \
	--docker-username=carol --docker-password=pull-s3cret >/dev/null
jq --arg img "$REG_HOST/private/app:v1" '.metadata.name="private" | .metadata.labels={"app":"private"}
	| del(.metadata.uid, .metadata.resourceVersion, .metadata.creationTimestamp, .metadata.annotations, .status)
	| .spec.imagePullSecrets=[{"name":"regcred"}] | .spec.containers[0].image=$img
	| del(.spec.ephemeralContainers, .spec.nodeName)' "$work/pod.json" > "$work/private.json"
kubectl create -f "$work/private.json" >/dev/null
"$SCN" wait -n prod -l app=private --timeout 60 >/dev/null
pverify() { verify -n prod -l app=private --insecure-registry "$REG_HOST" --no-annotate -o json "$@"; }
pverify > "$work/r.json"
is "$(verdict private)" clean "an image in a registry that needs credentials: fetched with the pod's imagePullSecrets"
kubectl delete secret regcred -n prod >/dev/null
pverify > "$work/r.json"
is "$(verdict private)" unverifiable "with the pull secret gone the image cannot be fetched: unverifiable, never clean"
like "$(jqr '.pods[0].containers[0].reason')" "401|unauthorized|UNAUTHORIZED|credentials" "the reason says the registry refused"
like "$(jqr '.pods[0].notes[0]')" "secrets \"regcred\" not found" "and the pod's notes say the secret is missing"

# --- 2. drift: modified, added binary, removed, chmod; an allowlisted change ----
U=(--user 1000:1000)
"$SCN" drift prod web-1 app write /app/static/index.html '<h1>owned</h1>' "${U[@]}"
"$SCN" drift prod web-1 app drop-binary /app/miner --run "${U[@]}"
"$SCN" drift prod web-1 app delete /app/run.sh "${U[@]}"
"$SCN" drift prod web-1 app chmod 0666 /app/config.yaml "${U[@]}"
"$SCN" drift prod web-2 app write /app/cache/session.db 'tmp' "${U[@]}"
verify -n prod -l app=web -o json --fail-on-drift=true > "$work/r.json"
is "$?" 1 "--fail-on-drift=true: exit 1 on drift"
is "$(verdict web-1)" drift "web-1 drifted"
is "$(verdict web-2)" clean "web-2 changed only an allowlisted path: clean"
is "$(jqr '.pods[] | select(.name=="web-2") | .containers[0].counts.allowed')" 1 "and the allowed change is counted"
f() { jqr --arg k "$1" --arg p "$2" '.pods[] | select(.name=="web-1") | .containers[0].findings[] | select(.kind==$k and .path==$p) | .severity'; }
is "$(f modified /app/static/index.html)" medium "a modified file is reported, medium"
is "$(f added /app/miner)" high "an added ELF binary is reported high"
is "$(jqr '.pods[] | select(.name=="web-1") | .containers[0].findings[] | select(.path=="/app/miner") | .elf')" true "and flagged as ELF"
is "$(f removed /app/run.sh)" low "a removed file is reported"
is "$(f mode /app/config.yaml)" low "a chmod is reported"
is "$(jqr '.aggregation | length')" 1 "one drift group"
is "$(jqr '.aggregation[0].count')" 1 "seen in one container"
is "$(jqr '.pods[] | select(.name=="web-1") | .containers[0].provenance.commit.id')" "$RV_REVISION" \
	"the image's revision label resolves to the commit"
is "$(jqr '.pods[] | select(.name=="web-1") | .containers[0].provenance.agentTouchedBuild')" true \
	"the report says an agent touched the build"
like "$(jqr '.pods[] | select(.name=="web-1") | .containers[0].provenance.commit.trailers[0] | "\(.name) \(.agent)"')" \
	'^Claude .+' "and names the agent from the Co-authored-by trailer"
verify -n prod -l app=web > "$work/text" 2>&1
like "$(cat "$work/text")" "agent in the build of prod/web-[0-2]/app .revision [0-9a-f]{12}.:" "the text summary names the agent's build change"
like "$(cat "$work/text")" "high +added +/app/miner" "and lists the added binary"
verify -n prod -l app=web -o json > /dev/null
is "$?" 0 "without --fail-on-drift, drift exits 0"

# identical drift in two pods is grouped and counted
"$SCN" drift prod web-0 app write /app/static/index.html '<h1>owned</h1>' "${U[@]}"
"$SCN" drift prod web-0 app drop-binary /app/miner "${U[@]}"
"$SCN" drift prod web-0 app delete /app/run.sh "${U[@]}"
"$SCN" drift prod web-0 app chmod 0666 /app/config.yaml "${U[@]}"
verify -n prod -l app=web -o json --no-annotate > "$work/r.json"
is "$(jqr '.aggregation[0].count')" 2 "the same drift in two pods is one group of 2"

# --- 3. events, read with the real kubectl ----------------------------------
like "$(kubectl get events -n prod --field-selector reason=DriftDetected -o json | jq -r '.items[0].message')" \
	"container app drifted from image sha256:" "kubectl shows the DriftDetected event"

# --- 4. permissions: never clean when the probe cannot read -----------------
verify -n dev -l app=locked -o json > "$work/r.json"
is "$?" 2 "a container with unreadable files: exit 2"
is "$(verdict locked)" incomplete "a file the target's uid cannot read makes the verdict incomplete, not clean"
like "$(jqr '.pods[0].containers[0].findings[0] | "\(.kind) \(.path)"')" "unreadable /app/root-only.key" "and names the file"
verify -n dev -l app=named -o json > "$work/r.json"
is "$(verdict named)" unverifiable "a target whose user is a name cannot be mirrored: unverifiable"
like "$(jqr '.pods[0].containers[0].reason')" "set runAsUser" "with the reason and the fix"
verify -n dev -l app=distroless -o json > "$work/r.json"
todo "real cluster: the image says USER 1000:1000 and has no /etc/passwd; the kubelet passes only the uid (RunAsUser 1000 from the image) and containerd takes the gid from the image's passwd, else 0: the target runs as 1000:0, the probe mirrors 1000:1000 and is refused /proc/1/root (EACCES)" \
	is "$(verdict distroless)" clean "a distroless pod (no shell in the image) is verified"
[ "$(verdict distroless)" = clean ] || echo "# distroless: $(jqr '.pods[0].containers[0].reason')"

# --- 4b. Pod Security refuses the probe: reported, and not retried blindly -----
# Admission judges a pod when it is admitted: a namespace made restricted
# after its pods started refuses the next ephemeral container of a pod that
# does not comply (the target runs as the image's user with no seccomp).
kubectl label ns dev pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
n0=$(kubectl get pod distroless -n dev -o json | jq '.spec.ephemeralContainers | length')
verify -n dev -l app=distroless -o json > "$work/r.json"
is "$(verdict distroless)" unverifiable "a probe Pod Security refuses: unverifiable"
like "$(jqr '.pods[0].containers[0].reason')" 'refused the probe container: .*violates PodSecurity "restricted:latest"' \
	"with the API server's PodSecurity message"
like "$(kubectl get pod distroless -n dev -o json | jq -r '.metadata.annotations["runtime-verifier.io/probe-rejected"]')" \
	"PodSecurity" "the refusal is remembered on the pod"
verify -n dev -l app=distroless -o json > "$work/r.json"
like "$(jqr '.pods[0].containers[0].reason')" "earlier verifier container was refused .* not retried" \
	"the next run reports it without trying again"
is "$(kubectl get pod distroless -n dev -o json | jq '.spec.ephemeralContainers | length')" "$n0" \
	"and the pod got no probe container from either run"
kubectl label ns dev pod-security.kubernetes.io/enforce=baseline --overwrite >/dev/null

# --- 5. a forged probe output is unverifiable, never clean ---------------------
"$RV" verify --kubeconfig "$KUBECONFIG" --probe-image "$CLUSTER_REGISTRY/rv/fakeprobe:dev" \
	--insecure-registry "$CLUSTER_REGISTRY" -n dev -l app=forged -o json > "$work/r.json"
is "$(verdict forged)" unverifiable "a truncated probe log makes the pod unverifiable"
like "$(jqr '.pods[0].containers[0].reason')" "failed its checks" "with the frame check's reason"

# --- 6. claims: mutable tag, moved tag, digest pinned ---------------------------
is "$(jqr '.pods[0].containers[0].claims[0].kind')" mutable-tag "a tag in the spec is flagged as mutable"
cat > "$work/v2.json" <<JSON
{"images": [{"name": "demo/app", "tag": "v1", "files": [{"path": "/app/new", "content": "v2\n"}]}]}
JSON
"$SCN" load "$work/v2.json" >/dev/null
verify -n prod -l app=cm -o json --no-annotate > "$work/r.json"
is "$(jqr '.pods[0].containers[0].claims | map(.kind) | join(",")')" "mutable-tag,tag-moved" \
	"a tag that now points to another image is flagged"
is "$(verdict cm)" clean "and the pod is still verified against the digest it runs"

# --- 7. footprint: the ephemeral-container cap ------------------------------------
have=$(kubectl get pod cm -n prod -o json | jq '[.spec.ephemeralContainers[] | select(.name|startswith("rv-"))] | length')
cap=$((have + 2))
printf 'probe:\n  maxEphemeralContainers: %d\n' "$cap" > "$work/cap.yaml"
for i in 1 2 3; do
	"$RV" verify --kubeconfig "$KUBECONFIG" --probe-image "$PROBE" --insecure-registry "$CLUSTER_REGISTRY" \
		--config "$work/cap.yaml" -n prod -l app=cm -o json --no-annotate > "$work/r.json"
	[ "$i" = 2 ] && is "$(verdict cm)" clean "below the cap the pod is probed"
done
is "$(verdict cm)" unverifiable "at the cap the pod is not probed again"
like "$(jqr '.pods[0].containers[0].reason')" "needs a restart" "and the report says it needs a restart"
is "$(kubectl get pod cm -n prod -o json | jq '[.spec.ephemeralContainers[] | select(.name|startswith("rv-"))] | length')" "$cap" \
	"the pod carries exactly the cap of verifier containers"

# --- 8. min-interval: a pod verified clean recently is not probed again ---------
verify -n prod -l app=web -o json --min-interval 1h > /dev/null
n1=$(kubectl get pod web-2 -n prod -o json | jq '.spec.ephemeralContainers | length')
verify -n prod -l app=web -o json --min-interval 1h > "$work/r.json"
is "$(verdict web-2)" skipped "a pod verified clean within --min-interval is skipped"
is "$(kubectl get pod web-2 -n prod -o json | jq '.spec.ephemeralContainers | length')" "$n1" \
	"and gets no new probe container"
like "$(jqr '.pods[] | select(.name=="web-2") | .containers[0].reason')" "verified clean at .* same container IDs" \
	"the report says when it was verified"
is "$(verdict web-1)" drift "a drifted pod is probed every run"

# --- 9. faults: 429s and 500s injected, the run completes --------------------------
# through the fault proxy in front of the real API server, as a service
# account with cluster-admin (the admin's client certificate cannot pass a
# TLS-terminating proxy)
cluster_proxy
"$SCN" fault throttle_every=4 retry_after=1 error_every=7
KUBECONFIG=$PROXY_KUBECONFIG verify -n prod -l app=web -o json --no-annotate > "$work/r.json"
is "$(jqr '[.summary.clean, .summary.drift, .summary.unverifiable] | join(" ")')" "1 2 0" \
	"with 429s and 500s injected the run completes with the same verdicts"
"$SCN" fault clear
like "$(jq -r '.fault // empty' "$CLUSTER_DIR/proxy/requests.log" | sort -u | paste -sd,)" "error_every,throttle_every" \
	"the proxy's log shows both faults were injected"

# --- 10. delivery: a signed webhook, the spool when the receiver is down ----------
sh "$RV_TOP/tests/lib/mkcerts.sh" "$work/certs"
printf 'hook-secret\n' > "$work/secret"
echo '{"/drift": [{"status": 202, "body": ""}]}' > "$work/script.json"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hook=(--report-to "https://127.0.0.1:$port/drift" --webhook-secret-file "$work/secret"
	--webhook-ca "$work/certs/ca.crt" --spool-dir "$work/spool")
# receiver down: the report is spooled
verify -n prod -l app=cm --no-annotate "${hook[@]}" > /dev/null 2> "$work/err"
like "$(cat "$work/err")" "spooled" "with the receiver down the report is spooled"
is "$(ls "$work/spool" | wc -l)" 1 "one report waits in the spool"
spooled=$(ls "$work/spool" | sed 's/\.json$//')
python3 "$RV_TOP/tests/lib/scripted_httpd.py" --cert "$work/certs/server.crt" --key "$work/certs/server.key" \
	--script "$work/script.json" --log "$work/hook.log" --port-file "$work/hookport" --port "$port" &
receiver_pid=$!
for _ in $(seq 50); do [ -f "$work/hookport" ] && break; sleep 0.1; done
verify -n prod -l app=cm --no-annotate "${hook[@]}" -o json > "$work/r.json" 2> "$work/err"
is "$(wc -l < "$work/hook.log")" 2 "the next run delivers the spooled report and its own"
is "$(ls "$work/spool" | wc -l)" 0 "the spool is empty again"
is "$(head -1 "$work/hook.log" | jq -r '.headers["Idempotency-Key"]')" "$spooled" "the spooled report keeps its idempotency key"
check "the signature verifies: HMAC-SHA256(secret, timestamp + '.' + body)" python3 - "$work/hook.log" "$work/secret" <<'PY'
import hashlib, hmac, json, sys
secret = open(sys.argv[2]).read().strip().encode()
ok = True
for line in open(sys.argv[1]):
    r = json.loads(line)
    h = r["headers"]
    want = "v1=" + hmac.new(secret, (h["X-RV-Timestamp"] + "." + r["body"]).encode(), hashlib.sha256).hexdigest()
    ok = ok and hmac.compare_digest(want, h["X-RV-Signature"]) and json.loads(r["body"])["kind"] == "VerificationReport"
sys.exit(0 if ok else 1)
PY

# --- 11. the report validates against its schema -------------------------------
verify -n prod -n dev -o json --no-annotate --repo "$repo" > "$work/r.json"
check "the JSON report validates against docs/report.schema.json" /usr/bin/python3 -c '
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "$work/r.json" "$RV_TOP/docs/report.schema.json"

# --- 12. bad input: clear errors, exit 2 ----------------------------------------
out=$(verify -n prod -l 'app in (web' 2>&1)
is "$?" 2 "a selector with a syntax error: exit 2"
like "$out" "cannot list pods in namespace 'prod'.*400" "and the API server's message"
sed "s|$CLUSTER_SERVER|https://127.0.0.1:1|" "$KUBECONFIG" > "$work/kc-down"
out=$("$RV" verify --kubeconfig "$work/kc-down" --probe-image "$PROBE" -n prod 2>&1)
is "$?" 2 "an unreachable API server: exit 2"
like "$out" "127.0.0.1:1.*(refused|connect)" "naming the server"
# the admin's kubeconfig with a bearer token the server does not know in place of its certificate
sed -e '/^    client-key-data: /d' -e 's/^    client-certificate-data: .*/    token: expired-or-wrong/' "$KUBECONFIG" > "$work/kc-bad"
out=$("$RV" verify --kubeconfig "$work/kc-bad" --probe-image "$PROBE" -n prod 2>&1)
like "$out" "401 Unauthorized" "a token the server refuses: 401 named"
sed '/server:/d' "$KUBECONFIG" > "$work/kc-noserver"
out=$("$RV" verify --kubeconfig "$work/kc-noserver" --probe-image "$PROBE" -n prod 2>&1)
like "$out" "has no server" "a kubeconfig missing its server says so"
out=$("$RV" verify --kubeconfig "$KUBECONFIG" -n prod 2>&1)
like "$out" "no probe image" "no probe image: says how to give one"
"$RV" verify --bogus >/dev/null 2>&1
is "$?" 64 "a usage error exits 64"

# --- 13. one digest pulled from two registries ------------------------------------
# demo/app:v1's very bytes pulled again by a pod from the private registry:
# containerd holds one image with both repo digests, and the kubelet's
# imageID for every container of that image may name either registry, also
# for pods that never pulled from it (and have no secret for it): here the
# first of the sorted repo digests, the private registry's (its port sorts
# first), once the pod's status changes.
kubectl create secret docker-registry regcred -n prod --docker-server="$REG_HOST" \
	--docker-username=carol --docker-password=pull-s3cret >/dev/null
# (by cm's digest: demo/app:v1 has moved since, section 6)
cm_digest=$(kubectl get pod cm -n prod -o jsonpath='{.status.containerStatuses[0].imageID}')
cm_digest=${cm_digest#*@}
skopeo --insecure-policy copy -q --src-tls-verify=false --dest-tls-verify=false \
	--dest-creds carol:pull-s3cret "docker://$CLUSTER_REGISTRY/demo/app@$cm_digest" "docker://$REG_HOST/private/app:same"
jq --arg img "$REG_HOST/private/app:same" '.metadata.name="twin" | .metadata.labels={"app":"twin"} | .spec.containers[0].image=$img' \
	"$work/private.json" > "$work/twin.json"
kubectl create -f "$work/twin.json" >/dev/null
"$SCN" wait -n prod -l app=twin --timeout 60 >/dev/null
# the kubelet writes a container's imageID again when the pod's status
# changes: a verify run (one more probe container) does that
verify -n prod -l app=cm -o json --no-annotate > /dev/null
for _ in $(seq 1 40); do
	case $(kubectl get pod cm -n prod -o jsonpath='{.status.containerStatuses[0].imageID}') in "$REG_HOST"/*) break ;; esac
	sleep 1
done
echo "# cm's imageID now: $(kubectl get pod cm -n prod -o jsonpath='{.status.containerStatuses[0].imageID}')"
verify -n prod -l app=cm -o json --no-annotate > "$work/r.json"
todo "real cluster: containerd lists both repo digests of one image and the kubelet's imageID names the private registry's for a pod that pulled from the cluster registry; verify fetches the image from the imageID's registry (no secret, plain HTTP): unverifiable" \
	is "$(verdict cm)" clean "a pod whose image digest was also pulled from another registry is still verified"
[ "$(verdict cm)" = clean ] || echo "# cm: $(jqr '.pods[0].containers[0].reason' | cut -c1-300)"

cluster_stop
echo "# verify_cluster.sh: $(($(date +%s) - T0))s (cluster up ${CLUSTER_UP_SECONDS}s, down ${CLUSTER_DOWN_SECONDS}s)"

done_testing
