#!/bin/bash
# quarantine_cluster.sh - the port of quarantine.sh to the real test cluster
# (tests/cluster: the real controller-manager's Deployment, ReplicaSet and
# StatefulSet controllers, Eviction API and PodDisruptionBudgets, RBAC;
# conflicts made through the fault proxy, tests/lib/kubeproxy.py; every
# assertion kept). Repeated drift -> quarantine, end to end:
# counts kept in a ConfigMap (read back with kubectl), the label after N
# drifted runs, dry run, release after M clean runs, a concurrent writer
# (409 Conflict) without a lost count, eviction through the Eviction API
# (the ReplicaSet starts a new pod; a PodDisruptionBudget answers 429) and
# the error when the token may not update the ConfigMap; keys by namespace,
# kind and name (a StatefulSet named like the Deployment counts apart) and
# the state of the version before that (old keys) dropped once, not misread.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../cluster/testlib.sh"
set -u

work=$(mktemp -d "${TMPDIR:-/tmp}/rv-quarantine-test.XXXXXX")
cleanup() {
	cluster_stop
	rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/scenario.json" <<'JSON'
{
  "images": [
    {"name": "rv/probe", "tag": "dev", "base": "scratch",
     "files": [{"path": "/usr/bin/rv-probe", "from": "${SANDBOX_TOP}/build/rv-probe", "mode": "0755"}]},
    {"name": "demo/app", "tag": "v1",
     "files": [{"path": "/app", "dir": true, "mode": "0755", "uid": 1000, "gid": 1000},
               {"path": "/app/index.html", "content": "<h1>hello</h1>\n", "mode": "0644", "uid": 1000, "gid": 1000}],
     "user": "1000:1000", "cmd": ["/bin/sleep", "3600"]}
  ],
  "namespaces": [
    {"name": "prod", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
    {"name": "runtime-verifier"}
  ],
  "objects": [
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "prod"},
     "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
              "template": {"metadata": {"labels": {"app": "api"}},
                           "spec": {"terminationGracePeriodSeconds": 1,
                                    "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "runAsNonRoot": true,
                                                        "seccompProfile": {"type": "RuntimeDefault"}},
                                    "containers": [{"name": "app", "image": "${REGISTRY}/demo/app:v1",
                                                    "securityContext": {"allowPrivilegeEscalation": false,
                                                                        "capabilities": {"drop": ["ALL"]}}}]}}}}
  ]
}
JSON

T0=$(date +%s)
cluster_start
"$SCN" load "$work/scenario.json" > /dev/null
# the controllers create the pods: wait until both exist and run
wait_pods() {
	local i
	for i in $(seq 1 150); do
		[ "$(kubectl get pods -n prod -l app=api -o json | jq '[.items[] | select(.metadata.deletionTimestamp == null)] | length')" = 2 ] && break
		sleep 0.2
	done
	"$SCN" wait -n prod -l app=api --timeout 90 > /dev/null
}
wait_pods
PROBE="$CLUSTER_REGISTRY/rv/probe:dev"
cat > "$work/config.yaml" <<CFG
probe:
  maxEphemeralContainers: 100
timeouts:
  probe: 60s
quarantine:
  releaseAfter: 2
CFG
verify() {
	"$RV" verify --probe-image "$PROBE" --insecure-registry "$CLUSTER_REGISTRY" \
		--config "$work/config.yaml" -n prod -l app=api -o json "$@"
}
pods() { kubectl get pods -n prod -l app=api -o json | jq -r '[.items[] | select(.metadata.deletionTimestamp == null) | .metadata.name] | sort | .[]'; }
labelled() { kubectl get pods -n prod -l runtime-verifier.io/quarantine=true -o name | sort | tr '\n' ' '; }
state_of() { # KEY JQ
	kubectl get configmap runtime-verifier-state -n runtime-verifier -o json |
		jq -r --arg k "$1" '.data[$k]' | jq -r "$2"
}
state() { state_of prod.Deployment.api "$1"; }
keys() { kubectl get configmap runtime-verifier-state -n runtime-verifier -o json | jq -r '.data | keys | join(" ")'; }
rv_of() { kubectl get configmap runtime-verifier-state -n runtime-verifier -o jsonpath='{.metadata.resourceVersion}'; }
U=(--user 1000:1000)
read -r P1 P2 < <(pods | tr '\n' ' ')
t0=$(date +%s)

# --- 1. drifted once: counted, not labelled -------------------------------------
"$SCN" drift prod "$P1" app write /app/index.html '<h1>owned</h1>' "${U[@]}"
check_fails "no state ConfigMap before the first run" kubectl get configmap runtime-verifier-state -n runtime-verifier 2>/dev/null
verify --quarantine-after 2 > "$work/r1.json"
is "$?" 0 "run 1: drift without --fail-on-drift exits 0"
is "$(state .drifted)" 1 "run 1: the ConfigMap counts 1 drifted run for prod/api (read back with kubectl)"
is "$(state .quarantined)" false "run 1: not quarantined yet"
is "$(labelled)" "" "run 1: no pod labelled"
is "$(jq -r '.quarantine.workloads[0] | "\(.key) \(.workloadKind) \(.kind) \(.run) \(.drifted)"' "$work/r1.json")" \
	"prod.Deployment.api Deployment workload drifted 1" "the report's quarantine section has the workload's key, kind, run and count"
is "$(jq -r '[.pods[] | "\(.workload) \(.workloadRef.kind)/\(.workloadRef.name)"] | unique | join(",")' "$work/r1.json")" \
	"api Deployment/api" "each pod in the report names its workload's kind (the ReplicaSet resolved to its Deployment) and name"
is "$(keys)" "prod.Deployment.api" "the state's key is namespace, kind and name"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/r1.json" 2>/dev/null
check "the report is JSON" [ $? -eq 0 ]

# --- 2. dry run: computes the label, writes nothing ----------------------------
rv1=$(rv_of)
verify --quarantine-after 2 --quarantine-dry-run > "$work/dry.json"
is "$(jq -r '[.quarantine.actions[] | "\(.action) \(.pod) \(.status)"] | join(",")' "$work/dry.json")" \
	"label $P1 dry-run" "dry run: the report says the drifted pod would be labelled"
is "$(jq -r '.quarantine.workloads[0].drifted' "$work/dry.json")" 2 "dry run: and shows the count it would store"
is "$(rv_of)" "$rv1" "dry run: the ConfigMap is not written"
is "$(labelled)" "" "dry run: no label written"

# --- 3. drifted twice: the drifted pod (only) is labelled ------------------------
verify --quarantine-after 2 > "$work/r2.json"
is "$(labelled)" "pod/$P1 " "run 2: the drifted pod carries runtime-verifier.io/quarantine=true, the clean one not"
is "$(state '"\(.drifted) \(.quarantined) \(.pods | join(","))"')" "2 true $P1" \
	"run 2: the state says quarantined and remembers the pod"
is "$(jq -r '.quarantine.actions[0] | "\(.action) \(.status)"' "$work/r2.json")" "label done" "the report says labelled"
is "$(kubectl get events -n prod -o json | jq --arg p "$P1" '[.items[] | select(.reason=="Quarantined" and .involvedObject.name==$p)] | length')" 1 \
	"a Quarantined Event on the labelled pod"
"$RV" verify --probe-image "$PROBE" --insecure-registry "$CLUSTER_REGISTRY" --config "$work/config.yaml" \
	-n prod -l app=api --quarantine-after 2 > "$work/r2b.txt"
like "$(cat "$work/r2b.txt")" "prod/api \\(Deployment\\): drifted run; 3 drifted, 0 clean in a row; QUARANTINED" \
	"the text summary shows the workload's counts and that it is quarantined"
like "$(cat "$work/r2b.txt")" "label prod/$P1: done" "and the label it (re)applied"
is "$(kubectl get events -n prod -o json | jq --arg p "$P1" '[.items[] | select(.reason=="Quarantined" and .involvedObject.name==$p)] | length')" 1 \
	"a third drifted run labels again (idempotent) without a second Event"

# --- 4. clean again: two clean runs release it -----------------------------------
"$SCN" drift prod "$P1" app write /app/index.html $'<h1>hello</h1>\n' "${U[@]}"
verify --quarantine-after 2 > "$work/r3.json"
is "$(jq -r '.summary.drift' "$work/r3.json")" 0 "the drift is undone: every container clean"
is "$(state '"\(.clean) \(.quarantined)"')" "1 true" "clean run 1: counted, still quarantined"
is "$(labelled)" "pod/$P1 " "clean run 1: the label stays (releaseAfter 2)"
verify --quarantine-after 2 > "$work/r4.json"
is "$(labelled)" "" "clean run 2: the label is removed"
is "$(state '"\(.clean) \(.drifted) \(.quarantined)"')" "2 0 false" "clean run 2: released in the state"
is "$(kubectl get pod -n prod "$P1" -o json | jq -r '.metadata.labels | has("runtime-verifier.io/quarantine")')" false \
	"the label key is gone from the pod, not set to another value"

# --- 5. a concurrent writer: 409 Conflict, re-read, no lost count ---------------
# the faults come from the fault proxy: verify goes through it while they are
# set, as a service account with cluster-admin (the proxy cannot pass the
# admin's client certificate on)
cluster_proxy
pverify() { KUBECONFIG=$PROXY_KUBECONFIG verify "$@"; }
"$SCN" drift prod "$P1" app write /app/index.html '<h1>owned</h1>' "${U[@]}"
"$SCN" fault conflict_configmap_puts=2
pverify --quarantine-after 5 > "$work/c1.json"
is "$(jq -r '.quarantine.state.conflicts' "$work/c1.json")" 2 "two PUTs met a concurrent write (409) and were retried"
is "$(state .drifted)" 1 "the count after the conflicts is exactly one more"
is "$(kubectl get configmap runtime-verifier-state -n runtime-verifier -o json | jq -r '.metadata.annotations["test.runtime-verifier.io/concurrent-writes"]')" 2 \
	"and the other writer's change is kept (read again, not overwritten)"
"$SCN" fault conflict_configmap_puts=9
pverify --quarantine-after 5 > "$work/c2.json" 2> "$work/c2.err"
is "$?" 2 "a state that keeps changing: exit 2"
like "$(cat "$work/c2.err")" "cannot update the quarantine state ConfigMap 'runtime-verifier/runtime-verifier-state': still changing after 6 conflicts" \
	"after bounded retries (5) the error says so"
"$SCN" fault clear
is "$(state .drifted)" 1 "and nothing was counted"
# two verifiers at once, with a slow API server so that the GET and PUT of
# one fall between those of the other
"$SCN" fault latency_ms=40
pverify --quarantine-after 5 --run-id conc1 > "$work/c3.json" 2>/dev/null &
pa=$!
pverify --quarantine-after 5 --run-id conc2 > "$work/c4.json" 2>/dev/null &
pb=$!
wait "$pa"
wait "$pb"
"$SCN" fault clear
is "$(state .drifted)" 3 "two verifiers at once: both runs counted (1 + 2), none lost"
echo "# conflicts met by the concurrent runs: $(jq -s '[.[].quarantine.state.conflicts] | add' "$work/c3.json" "$work/c4.json")"
# whichever of the two wrote last is the run the entry remembers
last=$(state .lastRunId)
verify --quarantine-after 5 --run-id "$last" > /dev/null 2>&1
is "$(state .drifted)" 3 "the same run id ($last) applied again is not counted twice"

# --- 6. eviction: through the API, the ReplicaSet starts a fresh pod ------------
verify --quarantine-after 2 --evict > "$work/e1.json"
is "$(jq -r '[.quarantine.actions[] | "\(.action) \(.pod) \(.status)"] | join(",")' "$work/e1.json")" \
	"label $P1 done,evict $P1 done" "--evict: the drifted pod is labelled, then evicted"
wait_pods
is "$(pods | grep -c "^$P1\$")" 0 "the evicted pod is gone (or terminating)"
is "$(pods | wc -l)" 2 "its ReplicaSet started a new pod in its place"
read -r N1 N2 < <(pods | tr '\n' ' ')
"$SCN" wait -n prod -l app=api --timeout 60 > /dev/null
# a PodDisruptionBudget that allows no disruption: 429, reported, the pod stays
kubectl create -f - > /dev/null <<'YAML'
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: api, namespace: prod}
spec: {minAvailable: 2, selector: {matchLabels: {app: api}}}
YAML
"$SCN" drift prod "$N1" app write /app/index.html '<h1>owned</h1>' "${U[@]}"
verify --quarantine-after 2 --evict > "$work/e2.json" 2> "$work/e2.err"
is "$?" 0 "a PodDisruptionBudget's 429 is not a failure of the run"
is "$(jq -r '.quarantine.actions[] | select(.action=="evict") | .status' "$work/e2.json")" blocked \
	"the eviction is reported blocked"
like "$(jq -r '.quarantine.actions[] | select(.action=="evict") | .error' "$work/e2.json")" \
	"429.*disruption budget" "with the API server's reason"
is "$(pods | grep -c "^$N1\$")" 1 "and the pod is still there"
kubectl delete pdb api -n prod > /dev/null

# --- 7. RBAC: the shipped Role, and without configmaps update -------------------
kubectl apply -f "$RV_TOP/k8s/rbac/clusterrole.yaml" > /dev/null
kubectl apply -f "$RV_TOP/k8s/rbac/quarantine-state.yaml" > /dev/null
"$SCN" kubeconfig --user rv-q > "$work/kc-q"
"$SCN" bind --user rv-q --clusterrole runtime-verifier --namespace prod
kubectl create -f - > /dev/null <<'YAML'
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rv-q-state, namespace: runtime-verifier}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: runtime-verifier-quarantine-state}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: rv-q}]
YAML
KUBECONFIG="$work/kc-q" verify --quarantine-after 2 > "$work/q1.json" 2> "$work/q1.err"
is "$?" 0 "with the shipped Role the verifier's own rights suffice (exit 0)"
is "$(jq -r '.quarantine.errors | length' "$work/q1.json")" 0 "and no quarantine error"
kubectl patch role runtime-verifier-quarantine-state -n runtime-verifier --type=json \
	-p '[{"op":"replace","path":"/rules/0/verbs","value":["get"]}]' > /dev/null
KUBECONFIG="$work/kc-q" verify --quarantine-after 2 > "$work/q2.json" 2> "$work/q2.err"
is "$?" 2 "without configmaps update: exit 2"
like "$(cat "$work/q2.err")" "cannot update the quarantine state ConfigMap 'runtime-verifier/runtime-verifier-state'.*403.*cannot update resource \"configmaps\"" \
	"the error names the verb and the ConfigMap"
is "$(jq -r '.quarantine.actions | length' "$work/q2.json")" 0 "and no label is written without the state that remembers it"
kubectl delete configmap runtime-verifier-state -n runtime-verifier > /dev/null
kubectl patch role runtime-verifier-quarantine-state -n runtime-verifier --type=json \
	-p '[{"op":"remove","path":"/rules/1"}]' > /dev/null
KUBECONFIG="$work/kc-q" verify --quarantine-after 2 > /dev/null 2> "$work/q3.err"
like "$(cat "$work/q3.err")" "cannot create the quarantine state ConfigMap 'runtime-verifier/runtime-verifier-state'.*403" \
	"without configmaps create, the first run says it cannot create it"
# another writer creates the state between our GET (404) and POST: 409
# AlreadyExists, read again (its run is this run: not counted twice), updated
"$SCN" fault already_exists_posts.configmaps=1
pverify --quarantine-after 5 > "$work/x1.json" 2> "$work/x1.err"
is "$? $(jq -r '"\(.quarantine.state.conflicts) \(.quarantine.state.written)"' "$work/x1.json")" "0 1 true" \
	"the create meets 409 AlreadyExists: read again and written, exit 0"
"$SCN" fault clear
is "$(state .drifted) $(kubectl get configmap runtime-verifier-state -n runtime-verifier -o json | jq -r '.metadata.annotations["test.runtime-verifier.io/concurrent-writes"]')" \
	"1 1" "counted once, on the other writer's object (its annotation kept)"
kubectl delete configmap runtime-verifier-state -n runtime-verifier > /dev/null

# --- 8. what is read back is untrusted ----------------------------------------------
kubectl delete configmap runtime-verifier-state -n runtime-verifier > /dev/null
kubectl create configmap runtime-verifier-state -n runtime-verifier \
	--from-literal=prod.Deployment.api='{"namespace":"prod","workload":"other","kind":"Deployment","drifted":99,"clean":0,"quarantined":true,"lastRun":"2026-01-01T00:00:00Z"}' \
	--from-literal=junk='not json' > /dev/null
verify --quarantine-after 2 > "$work/t1.json" 2> "$work/t1.err"
is "$?" 2 "a tampered state: exit 2"
like "$(cat "$work/t1.err")" "state entry 'prod.Deployment.api' dropped: its key is not the key of its namespace, kind and workload" \
	"a value that does not belong to its key is dropped and said"
is "$(state .drifted)" 1 "and counting starts again from this run"

# --- 9. the state of the previous version: keys without the kind -------------------
# NS.workload.NAME / NS.pod.NAME: valid then, stale now; dropped and listed
# once, never read as the count of prod/api (5 drifted, quarantined)
kubectl delete configmap runtime-verifier-state -n runtime-verifier > /dev/null
kubectl create configmap runtime-verifier-state -n runtime-verifier \
	--from-literal=prod.workload.api='{"namespace":"prod","workload":"api","kind":"workload","drifted":5,"clean":0,"quarantined":true,"since":"2026-01-01T00:00:00Z","lastRun":"2026-01-01T00:00:00Z","lastRunId":"old1","pods":["api-old"]}' \
	--from-literal=prod.pod.debug='{"namespace":"prod","workload":"debug","kind":"pod","drifted":1,"clean":0,"quarantined":false,"lastRun":"2026-01-01T00:00:00Z"}' > /dev/null
verify --quarantine-after 5 > "$work/o1.json" 2> "$work/o1.err"
is "$?" 0 "old-format entries are not an error: exit 0"
is "$(jq -r '.quarantine.errors | length' "$work/o1.json")" 0 "and no quarantine error"
is "$(jq -r '[.quarantine.dropped[] | "\(.key) \(.quarantined)"] | sort | join(",")' "$work/o1.json")" \
	"prod.pod.debug false,prod.workload.api true" "both listed in quarantine.dropped, the quarantined one flagged"
like "$(jq -r '.quarantine.dropped[0].reason' "$work/o1.json")" "older version.*without the workload's kind" \
	"with the reason"
is "$(keys)" "prod.Deployment.api" "the state now holds only the new key"
is "$(state '"\(.drifted) \(.quarantined)"')" "1 false" "prod/api counts from this run (not 5 + 1, not quarantined)"
verify --quarantine-after 5 > "$work/o2.json"
is "$(jq -r '.quarantine.dropped | length' "$work/o2.json")" 0 "reported once: the next run drops nothing"

# --- 10. a StatefulSet named like the Deployment: its own count --------------------
# A real StatefulSet (its controller makes pod api-0): the sandbox's pod with
# an ownerReference to a StatefulSet that does not exist would be deleted by
# the real garbage collector.
kubectl create -f - > /dev/null <<YAML
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: api, namespace: prod}
spec:
  replicas: 1
  serviceName: api
  selector: {matchLabels: {app: api, rv-test: sts}}
  template:
    metadata: {labels: {app: api, rv-test: sts}}
    spec:
      terminationGracePeriodSeconds: 1
      securityContext: {runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: ${CLUSTER_REGISTRY}/demo/app:v1
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
YAML
for _ in $(seq 1 150); do kubectl get pod api-0 -n prod > /dev/null 2>&1 && break; sleep 0.2; done
"$SCN" wait -n prod -l app=api --timeout 60 > /dev/null
verify --quarantine-after 5 > "$work/s1.json"
is "$(jq -r '[.pods[] | select(.name == "api-0") | "\(.workloadRef.kind)/\(.workloadRef.name)"] | join(",")' "$work/s1.json")" \
	"StatefulSet/api" "the report names the StatefulSet as the pod's workload"
is "$(keys)" "prod.Deployment.api prod.StatefulSet.api" "two keys for two workloads of one name"
is "$(state_of prod.StatefulSet.api '"\(.kind) \(.clean) \(.drifted)"') $(state '"\(.kind) \(.drifted)"')" \
	"StatefulSet 1 0 Deployment 3" "the StatefulSet's clean run is its own; the Deployment's drifted count goes on"
"$SCN" drift prod api-0 app write /app/index.html '<h1>owned</h1>' "${U[@]}"
verify --quarantine-after 5 > "$work/s2.json"
is "$(state_of prod.StatefulSet.api .drifted) $(state .drifted)" "1 4" \
	"drifted alike: each counts its own runs (1 and 4), not one shared count"

# --- 11. every report above validates against the schema -----------------------------
check "the reports (labelled, dry run, released, conflicts, evicted, blocked, refused, tampered, old keys, two kinds) validate against docs/report.schema.json" \
	/usr/bin/python3 -c '
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
for f in sys.argv[2:]:
    r = json.load(open(f))
    assert "quarantine" in r, f
    jsonschema.validate(r, schema)' "$RV_TOP/docs/report.schema.json" \
	"$work"/r1.json "$work"/dry.json "$work"/r2.json "$work"/r4.json "$work"/c2.json \
	"$work"/e1.json "$work"/e2.json "$work"/q2.json "$work"/t1.json "$work"/o1.json "$work"/s2.json

echo "# quarantine_cluster.sh took $(( $(date +%s) - t0 )) s after the cluster started"
cluster_stop
echo "# quarantine_cluster.sh: $(($(date +%s) - T0))s (cluster up ${CLUSTER_UP_SECONDS}s, down ${CLUSTER_DOWN_SECONDS}s)"
done_testing
