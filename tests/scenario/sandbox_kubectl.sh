#!/bin/bash
# sandbox_kubectl.sh - fidelity: the real kubectl works against the sandbox,
# whose pods are real runc containers (issue 4's list, and a few more).
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../sandbox/lib.sh"

if ! sandbox_kubectl_ensure; then
	not_ok "kubectl is on the machine (or Debian's kubernetes-client installs)"
	done_testing
fi
sandbox_start
"$SBX" load "$SBX_HOME/scenarios/basic.json" >"$SANDBOX_DIR/load.json"
"$SBX" wait -n prod --timeout 60 >/dev/null
"$SBX" wait -n dev -l app=b --timeout 60 >/dev/null # broken-1 never runs: checked below
K() { kubectl --request-timeout=30s "$@"; }
REG=$SANDBOX_REGISTRY
DBG=$REG/tools/debug:v1

# --- get / selectors / pagination ----------------------------------------------------
out=$(K get pods -A -l 'app in (a,b),tier!=db' -o json)
is "$(jq -r '[.items[].metadata.name] | sort | join(",")' <<<"$out")" "api-1,web-1" "get pods -l 'app in (a,b),tier!=db' -o json"
is "$(jq -r '.kind' <<<"$out")" "List" "kubectl builds its List from the server's PodList"
out=$(K get pods -n dev --chunk-size=1 -v=6 2>&1)
is "$(grep -c 'GET https://.*/api/v1/namespaces/dev/pods?.*limit=1' <<<"$out")" 3 "get --chunk-size=1 fetches 3 pages"
is "$(grep -c 'continue=' <<<"$out")" 2 "pages 2 and 3 carry the continue token"
is "$(grep -cE '^(api-1|broken-1|db-1) ' <<<"$out")" 3 "and all pods are printed once"
like "$(K get pods -n prod)" "web-1 +1/1 +Running +0 " "the table: NAME READY STATUS RESTARTS AGE"
like "$(K get pod broken-1 -n dev)" "broken-1 +0/1 +(ErrImagePull|ImagePullBackOff) " "a missing image shows ErrImagePull/ImagePullBackOff"
is "$(K get pod broken-1 -n dev -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}')" "ImagePullBackOff" "waiting reason ImagePullBackOff after the first failure"

# --- imageID --------------------------------------------------------------------------
want=$(jq -r --arg r "$REG/demo/app:v1" '.images[$r]' "$SANDBOX_DIR/load.json")
is "$(K get pod web-1 -n prod -o jsonpath='{.status.containerStatuses[0].imageID}')" "$REG/demo/app@$want" \
	"status.containerStatuses[].imageID is registry/name@<the pushed manifest digest>"
is "$(K get pod web-1 -n prod -o jsonpath='{.status.containerStatuses[0].image}')" "$REG/demo/app:v1" "image is the reference"
like "$(K get pod web-1 -n prod -o jsonpath='{.status.containerStatuses[0].containerID}')" '^containerd://[0-9a-f]{64}$' "containerID"

# --- label, events ----------------------------------------------------------------------
is "$(K label pod web-1 -n prod drift=suspected)" "pod/web-1 labeled" "label pod"
is "$(K get pod web-1 -n prod -o jsonpath='{.metadata.labels.drift}')" "suspected" "the label is there"
is "$(K label pod web-1 -n prod drift=confirmed 2>&1)" "error: 'drift' already has a value (suspected), and --overwrite is false" "label without --overwrite refuses, as kubectl does"
K label pod web-1 -n prod drift=confirmed --overwrite >/dev/null
cat >"$SANDBOX_DIR/ev.json" <<'EOF'
{"apiVersion":"v1","kind":"Event","metadata":{"name":"web-1.rv1","namespace":"prod"},
 "involvedObject":{"apiVersion":"v1","kind":"Pod","name":"web-1","namespace":"prod"},
 "reason":"RuntimeDrift","message":"2 files modified under /app","type":"Warning",
 "source":{"component":"runtime-verifier"}}
EOF
is "$(K create -f "$SANDBOX_DIR/ev.json" -o name)" "event/web-1.rv1" "create an event with kubectl create -f"
ev=$(K get events -n prod)
like "$ev" "Warning +RuntimeDrift +pod/web-1 +2 files modified under /app" "get events shows it"
like "$ev" "Normal +Scheduled +pod/web-1 +Successfully assigned prod/web-1 to sandbox-node" "and the scheduler's event"
like "$ev" "Normal +Started +pod/web-1 +Started container app" "and the kubelet's"
is "$(K get events -n prod --field-selector reason=RuntimeDrift -o jsonpath='{.items[*].message}')" "2 files modified under /app" "events by field selector"

# --- configmaps: create, apply, conflict -----------------------------------------------------
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rv-state\n  namespace: prod\ndata:\n  runs: "1"\n' >"$SANDBOX_DIR/cm.yaml"
is "$(K apply -f "$SANDBOX_DIR/cm.yaml")" "configmap/rv-state created" "apply creates a configmap"
sed -i 's/"1"/"2"/' "$SANDBOX_DIR/cm.yaml"
is "$(K apply -f "$SANDBOX_DIR/cm.yaml" 2>&1)" "configmap/rv-state configured" "apply again patches it"
is "$(K get cm rv-state -n prod -o jsonpath='{.data.runs}')" "2" "with the new data"
K get cm rv-state -n prod -o json | jq '.data.runs="3" | .metadata.resourceVersion="1"' >"$SANDBOX_DIR/stale.json"
like "$(K replace -f "$SANDBOX_DIR/stale.json" 2>&1)" 'Error from server \(Conflict\): error when replacing .*: Operation cannot be fulfilled on configmaps "rv-state": the object has been modified; please apply your changes to the latest version and try again' \
	"replace with a stale resourceVersion: kubectl shows the 409 Conflict"

is "$(K create configmap made-by-kubectl -n prod --from-literal=a=1 --from-literal=empty=)" "configmap/made-by-kubectl created" \
	"kubectl create configmap (a protobuf body from the typed client)"
is "$(K get cm made-by-kubectl -n prod -o json | jq -c .data)" '{"a":"1","empty":""}' "its data arrives intact"
"$SBX" bind --user system:serviceaccount:prod:verifier --clusterrole view --namespace prod
"$SBX" kubeconfig --user system:serviceaccount:prod:verifier >"$SANDBOX_DIR/sa.kubeconfig"
is "$(KUBECONFIG=$SANDBOX_DIR/sa.kubeconfig kubectl auth can-i list pods -n prod)" "yes" "auth can-i as a bound service account: yes"
is "$(KUBECONFIG=$SANDBOX_DIR/sa.kubeconfig kubectl auth can-i patch pods --subresource=ephemeralcontainers -n prod 2>/dev/null)" "no" "and no for what the role lacks"
like "$(KUBECONFIG=$SANDBOX_DIR/sa.kubeconfig kubectl get pods -n dev 2>&1)" \
	'Error from server \(Forbidden\): pods is forbidden: User "system:serviceaccount:prod:verifier" cannot list resource "pods" in API group "" in the namespace "dev"' \
	"kubectl shows the 403 as it does against a real cluster"

# --- debug + logs: reading /proc/1/root of the target ------------------------------------------
cat >"$SANDBOX_DIR/same-uid.json" <<'EOF'
{"securityContext":{"runAsUser":1000,"runAsGroup":1000,"runAsNonRoot":true,"allowPrivilegeEscalation":false,
 "capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}}
EOF
cat >"$SANDBOX_DIR/other-uid.json" <<'EOF'
{"securityContext":{"runAsUser":2000,"runAsGroup":2000,"runAsNonRoot":true,"allowPrivilegeEscalation":false,
 "capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}}
EOF
waitterm() { # ns pod container
	for _ in $(seq 100); do
		s=$(K get pod "$2" -n "$1" -o json | jq -r --arg c "$3" '.status.ephemeralContainerStatuses[]? | select(.name==$c) | .state | keys[0]')
		[ "$s" = terminated ] && return 0
		sleep 0.2
	done
	return 1
}
out=$(K debug web-1 -n prod --image="$DBG" --target=app --container=probe1 --profile=restricted --custom="$SANDBOX_DIR/same-uid.json" \
	-- sh -c 'cat /proc/1/root/app/data/secret.txt; ls /proc/1/root/app; id -u; printf "root=%s" "$(cat /proc/1/root/app/config.ini)" >/dev/termination-log' 2>&1)
like "$out" 'Targeting container "app"' "debug --target=app in a restricted namespace (uid-mirroring, restricted profile)"
check "the ephemeral container runs to completion" waitterm prod web-1 probe1
logs=$(K logs web-1 -n prod -c probe1)
is "$logs" "only for uid 1000
config.ini
data
link
run.sh
1000" "logs -c shows the command's output, read through /proc/1/root of the target"
st=$(K get pod web-1 -n prod -o json | jq -c '.status.ephemeralContainerStatuses[] | select(.name=="probe1") | .state.terminated | [.exitCode, .reason, .message]')
is "$st" '[0,"Completed","root=greeting=hello"]' "terminated: exitCode 0, reason Completed, message from /dev/termination-log"
K debug web-1 -n prod --image="$DBG" --target=app --container=probe2 --profile=restricted --custom="$SANDBOX_DIR/other-uid.json" \
	-- sh -c 'id -u; ls /proc/1/root/app; cat /proc/1/root/app/config.ini' >/dev/null 2>&1
check "a probe with another uid runs to completion" waitterm prod web-1 probe2
logs=$(K logs web-1 -n prod -c probe2)
like "$logs" "^2000
ls: /proc/1/root/app: Permission denied
cat: can't open '/proc/1/root/app/config.ini': Permission denied$" "an ephemeral container with a different uid cannot read /proc/1/root/app (the kernel's ptrace rule)"
st=$(K get pod web-1 -n prod -o json | jq -c '.status.ephemeralContainerStatuses[] | select(.name=="probe2") | .state.terminated | [.exitCode, .reason]')
is "$st" '[1,"Error"]' "its exit code 1 is reported with reason Error"
out=$(K debug web-1 -n prod --image="$DBG" --target=app --container=debugger-abc --profile=general -- true 2>&1)
is "$out" 'Targeting container "app". If you don'"'"'t see processes from this container it may be because the container runtime doesn'"'"'t support this feature.
Error from server (Forbidden): pods "web-1" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "debugger-abc" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "debugger-abc" must set securityContext.capabilities.drop=["ALL"]; container "debugger-abc" must not include "SYS_PTRACE" in securityContext.capabilities.add)' \
	"debug --profile=general in a restricted namespace is refused with the real server's message"
out=$(K debug web-1 -n prod --image="$DBG" --target=app --container=root1 --profile=restricted \
	--custom=<(echo '{"securityContext":{"runAsUser":0}}') -- true 2>&1)
like "$out" 'violates PodSecurity "restricted:latest": runAsUser=0 \(container "root1" must not set runAsUser=0\)' "a root probe is refused in restricted"
K debug db-1 -n dev --image="$DBG" --target=app --container=asroot --profile=baseline --custom=<(echo '{"securityContext":{"runAsUser":0}}') \
	-- sh -c 'id -u; ls /proc/1/root/app' >/dev/null 2>&1
check "root without CAP_SYS_PTRACE (baseline profile) runs" waitterm dev db-1 asroot
like "$(K logs db-1 -n dev -c asroot)" "^0
ls: /proc/1/root/app: Permission denied$" "uid 0 without CAP_SYS_PTRACE cannot read a uid-1000 target's /proc/1/root either"
K debug db-1 -n dev --image="$REG/tools/nothere:v1" --target=app --container=nopull -- true >/dev/null 2>&1
for _ in $(seq 50); do
	r=$(K get pod db-1 -n dev -o json | jq -r '.status.ephemeralContainerStatuses[] | select(.name=="nopull") | .state.waiting.reason // empty')
	[ -n "$r" ] && [ "$r" != ContainerCreating ] && break
	sleep 0.2
done
like "$r" "^(ErrImagePull|ImagePullBackOff)$" "an ephemeral container with a missing image waits in $r"
# big termination message and log limits
K debug db-1 -n dev --image="$DBG" --target=app --container=big \
	-- sh -c 'head -c 5000 /dev/zero | tr "\0" x >/dev/termination-log; seq 1 100' >/dev/null 2>&1
check "big probe finishes" waitterm dev db-1 big
is "$(K get pod db-1 -n dev -o json | jq '.status.ephemeralContainerStatuses[] | select(.name=="big") | .state.terminated.message | length')" 4096 \
	"the termination message is cut at 4096 bytes"
is "$(K logs db-1 -n dev -c big --tail=2 | tr '\n' ' ')" "99 100 " "logs --tail"
is "$(K logs db-1 -n dev -c big --limit-bytes=6 | tr '\n' ' ')" "1 2 3 " "logs --limit-bytes"
like "$(K logs db-1 -n dev 2>&1 | head -1)" 'Defaulted container "app" out of: app, asroot \(ephem\), nopull \(ephem\), big \(ephem\)' "logs without -c: kubectl sees the ephemeral containers in the spec"
body=$(sbx_curl GET /api/v1/namespaces/dev/pods/db-1/log?container=nopull)
like "$(sed '$d' <<<"$body" | jq -r '.reason + ": " + .message')" "^BadRequest: container \"nopull\" in pod \"db-1\" is waiting to start: (image can't be pulled|trying and failing to pull image)$" \
	"logs of a container that never started: 400 with the kubelet's words"

# --- exec (WebSocket, v5.channel.k8s.io) --------------------------------------------------
is "$(K exec -n prod web-1 -c app -- sh -c 'id -u; cat /app/config.ini' 2>&1)" "1000
greeting=hello" "kubectl exec runs in the container as its user"
K exec -n prod web-1 -c app -- sh -c 'echo to-stderr >&2; exit 3' >"$SANDBOX_DIR/exec.out" 2>&1
is "$?" 3 "kubectl exec passes the exit code through"
like "$(cat "$SANDBOX_DIR/exec.out")" "to-stderr" "and stderr"
is "$(printf 'from stdin\n' | K exec -i -n prod web-1 -c app -- sh -c 'cat > /tmp/in; cat /tmp/in')" "from stdin" "kubectl exec -i forwards stdin"

# --- watch through kubectl ---------------------------------------------------------------------
check "kubectl wait --for=condition=Ready (a watch)" K wait --for=condition=Ready pod/web-1 -n prod --timeout=20s
K delete pod api-1 -n dev --grace-period=1 --wait=false >/dev/null
check "kubectl wait --for=delete sees the DELETED event" K wait --for=delete pod/api-1 -n dev --timeout=30s

done_testing
