#!/bin/bash
# policyreport_cluster.sh - verify --policy-reports end to end on the real
# test cluster (tests/cluster; the port of policyreport.sh, every assertion
# kept; conflicts made by the fault proxy, tests/lib/kubeproxy.py): one
# wgpolicyk8s.io/v1alpha2 PolicyReport per namespace, one result per
# container, read back with the real kubectl; replaced (not duplicated) by
# the next run; the shipped RBAC component is what it needs; concurrent
# writers (409 Conflict on PUT, retried a bounded number of times; 409
# AlreadyExists on POST, read again and updated); the stored
# objects validate against the CRD's schema (tests/fixtures/crds/, applied
# to the real API server, which prunes and validates).
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../cluster/testlib.sh"
set -u

work=$(mktemp -d "${TMPDIR:-/tmp}/rv-polr-test.XXXXXX")
cleanup() {
	cluster_stop
	rm -rf "$work"
}
trap cleanup EXIT
CRD="$RV_TOP/tests/fixtures/crds/wgpolicyk8s.io_policyreports.yaml"

T0=$(date +%s)
cluster_start
check "the real PolicyReport CRD applies" \
	sh -c 'kubectl apply -f "$1" > "$2" 2>&1' _ "$CRD" "$work/apply.out"
kubectl wait --for=condition=Established --timeout=60s crd/policyreports.wgpolicyk8s.io > /dev/null
cat > "$work/scenario.json" <<'JSON'
{"images": [
   {"name": "rv/probe", "tag": "dev", "base": "scratch",
    "files": [{"path": "/usr/bin/rv-probe", "from": "${SANDBOX_TOP}/build/rv-probe", "mode": "0755"}]},
   {"name": "demo/app", "tag": "v1",
    "files": [{"path": "/app", "dir": true, "mode": "0755", "uid": 1000, "gid": 1000},
              {"path": "/app/index.html", "content": "<h1>hello</h1>\n", "mode": "0644", "uid": 1000, "gid": 1000},
              {"path": "/app/run.sh", "content": "#!/bin/sh\nexec sleep 3600\n", "mode": "0755", "uid": 1000, "gid": 1000}],
    "user": "1000:1000", "cmd": ["/bin/sleep", "3600"]}],
 "namespaces": [{"name": "shop"}, {"name": "other"}],
 "pods": [
   {"namespace": "shop", "name": "good", "labels": {"app": "good"},
    "spec": {"securityContext": {"runAsUser": 1000, "runAsGroup": 1000},
             "containers": [{"name": "app", "image": "${REGISTRY}/demo/app:v1"}]}},
   {"namespace": "shop", "name": "bad", "labels": {"app": "bad"},
    "spec": {"securityContext": {"runAsUser": 1000, "runAsGroup": 1000},
             "containers": [{"name": "app", "image": "${REGISTRY}/demo/app:v1"}]}}]}
JSON
"$SCN" load "$work/scenario.json" > /dev/null
"$SCN" wait -n shop --timeout 90 > /dev/null
"$SCN" drift shop bad app write /app/index.html '<h1>owned</h1>' --user 1000:1000
"$SCN" drift shop bad app drop-binary /app/miner --user 1000:1000
PROBE="$CLUSTER_REGISTRY/rv/probe:dev"
printf 'probe:\n  maxEphemeralContainers: 100\n' > "$work/config.yaml"
verify() { # KUBECONFIG ARGS...: JSON report in $work/r.json, stderr in $work/err
	local kc=$1
	shift
	"$RV" verify --kubeconfig "$kc" --probe-image "$PROBE" --insecure-registry "$CLUSTER_REGISTRY" \
		--config "$work/config.yaml" --no-annotate --no-events -o json "$@" > "$work/r.json" 2> "$work/err"
}
jqr() { jq -r "$@" "$work/r.json"; }
getpolr() { kubectl get policyreports -n "$1" -o json > "$work/polr.json"; }
P() { jq -r "$@" "$work/polr.json"; }
R() { P '.items[0]'" | $1"; }   # the (one) report
res() { R ".results[] | select(.resources[0].name==\"$1\")"; }

# --- 1. one report per namespace, one result per container ------------------
verify "$KUBECONFIG" -n shop --policy-reports --run-id polr1
is "$?" 0 "verify --policy-reports over a clean and a drifted pod: exit 0 (no --fail-on-drift)"
is "$(jqr '[.pods[] | "\(.name)=\(.containers[0].verdict)"] | sort | join(" ")')" "bad=drift good=clean" \
	"the verdicts: bad drifted, good clean"
is "$(jqr '.errors | length')" 0 "no errors in the report"
getpolr shop
is "$(P '.items | length')" 1 "kubectl get policyreports -n shop: one report"
is "$(R '"\(.apiVersion) \(.kind) \(.metadata.name) \(.metadata.labels["app.kubernetes.io/managed-by"])"')" \
	"wgpolicyk8s.io/v1alpha2 PolicyReport runtime-verifier runtime-verifier" \
	"wgpolicyk8s.io/v1alpha2 PolicyReport runtime-verifier, labelled managed-by runtime-verifier"
is "$(R '.results | length')" "$(jqr '[.pods[].containers[]] | length')" "one result per verified container"
is "$(res good | jq -r .result) $(res bad | jq -r .result)" "pass fail" "good passes, bad fails"
is "$(res bad | jq -r .severity)" \
	"$(jqr '[.pods[] | select(.name=="bad") | .containers[0].findings[].severity] | if index("high") then "high" elif index("medium") then "medium" else "low" end')" \
	"the fail's severity is the highest finding's (an added ELF binary: high)"
is "$(R '[.summary.pass, .summary.fail, .summary.warn, .summary.error, .summary.skip] | join(" ")')" \
	"$(R '[(.results | map(select(.result=="pass")) | length), (.results | map(select(.result=="fail")) | length), (.results | map(select(.result=="warn")) | length), (.results | map(select(.result=="error")) | length), (.results | map(select(.result=="skip")) | length)] | join(" ")')" \
	"summary counts equal the results"
is "$(R '.summary.pass + .summary.fail')" 2 "summary: 1 pass + 1 fail"
is "$(res bad | jq -r '"\(.policy) \(.rule) \(.source)"')" "runtime-verifier image-integrity runtime-verifier" \
	"policy, rule and source name runtime-verifier"
is "$(res bad | jq -r '.properties | "\(.runtimeRoot) \(.imageRoot) \(.imageDigest) \(.driftGroup) \(.findings)"')" \
	"$(jqr '.pods[] | select(.name=="bad") | .containers[0] | "\(.runtimeRoot) \(.imageRoot) \(.imageDigest) \(.driftGroup) \(.counts.findings)"')" \
	"properties carry the runtime and image root hashes, the digest, the drift group and the count"
is "$(R '[.results[].properties | to_entries[] | .value | type] | unique | join(",")')" string "properties are strings only"
is "$(res good | jq -c '.resources[0] | [.apiVersion, .kind, .namespace, .name, .uid]')" \
	"$(kubectl get pod good -n shop -o json | jq -c '["v1", "Pod", .metadata.namespace, .metadata.name, .metadata.uid]')" \
	"each result names its Pod (apiVersion, kind, namespace, name, uid)"
uid1=$(R .metadata.uid)
rv1=$(R .metadata.resourceVersion)

# --- 2. the stored object against the CRD's schema ----------------------------
# Structural schemas prune undeclared fields: additionalProperties false
# wherever a schema lists properties, so an unknown field fails here.
cat > "$work/validate.py" <<'PY'
import json, sys, yaml, jsonschema
crd = yaml.safe_load(open(sys.argv[1]))
schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
def strict(s):
    if isinstance(s, dict):
        if "properties" in s and "additionalProperties" not in s and not s.get("x-kubernetes-preserve-unknown-fields"):
            s["additionalProperties"] = False
        for v in s.values():
            strict(v)
    elif isinstance(s, list):
        for v in s:
            strict(v)
strict(schema)
schema["properties"]["metadata"] = {"type": "object"}
ok = True
for o in json.load(open(sys.argv[2]))["items"]:
    try:
        jsonschema.validate(o, schema)
    except jsonschema.ValidationError as e:
        print("# %s/%s: %s" % (o["metadata"].get("namespace"), o["metadata"]["name"], e.message))
        ok = False
sys.exit(0 if ok else 1)
PY
check "the stored PolicyReport validates against the CRD's openAPIV3Schema (python3-jsonschema)" \
	python3 "$work/validate.py" "$CRD" "$work/polr.json"
jq '.items[0].results[0].result = "broken"' "$work/polr.json" > "$work/bad.json"
check_fails "a result outside the enum fails the same check" python3 "$work/validate.py" "$CRD" "$work/bad.json"
jq '.items[0].results[1].extra = "x"' "$work/polr.json" > "$work/bad.json"
check_fails "so does an undeclared field" python3 "$work/validate.py" "$CRD" "$work/bad.json"
body=$(cluster_curl POST '/apis/wgpolicyk8s.io/v1alpha2/namespaces/other/policyreports?fieldValidation=Strict' \
	-H 'Content-Type: application/json' \
	-d '{"apiVersion":"wgpolicyk8s.io/v1alpha2","kind":"PolicyReport","metadata":{"name":"t"},"results":[{"policy":"p","result":"pass","bogus":1}]}')
is "$(tail -n1 <<<"$body") $(sed '$d' <<<"$body" | jq -r .message)" \
	'HTTP 400 PolicyReport in version "v1alpha2" cannot be handled as a PolicyReport: strict decoding error: unknown field "results[0].bogus"' \
	"the API server applies the CRD: fieldValidation=Strict refuses an undeclared field, as verify asks for"

# --- 3. the next run replaces the results, never duplicates the report --------
verify "$KUBECONFIG" -n shop -l app=good --policy-reports --run-id polr2
is "$?" 0 "a second run, over the good pod only"
getpolr shop
is "$(P '.items | length')" 1 "still one report in the namespace"
is "$(R .metadata.uid)" "$uid1" "the same object (uid), updated in place"
check "with a new resourceVersion" test "$(R .metadata.resourceVersion)" != "$rv1"
is "$(R '[.results[].resources[0].name] | join(",")')" good "it holds this run's results only"
is "$(R '.metadata.annotations["runtime-verifier.io/run-id"] + " " + .results[0].properties.runId')" "polr2 polr2" \
	"and names this run"
is "$(R '"\(.summary.pass) \(.summary.fail)"')" "1 0" "the summary follows"

# --- 4. RBAC: the base role alone is not enough; the component is --------------
# The main ClusterRole as shipped, the PolicyReport one from the component.
kubectl apply -f "$RV_TOP/k8s/rbac/clusterrole.yaml" -f "$RV_TOP/k8s/components/policy-reports/clusterrole.yaml" > /dev/null
SA=system:serviceaccount:runtime-verifier:runtime-verifier
"$SCN" bind --user "$SA" --clusterrole runtime-verifier --namespace shop > /dev/null
"$SCN" kubeconfig --user "$SA" --namespace shop > "$work/sa.kubeconfig"
verify "$work/sa.kubeconfig" -n shop --policy-reports
is "$?" 2 "without the policyreports rules: exit 2 (an error of the run)"
is "$(jqr '[.pods[].containers[].verdict] | sort | join(" ")')" "clean drift" "every pod was still verified"
like "$(jqr '.errors[0]')" "policy report 'shop/runtime-verifier'.*cannot get resource \"policyreports\" in API group \"wgpolicyk8s.io\"" \
	"the report's error names the verb and the resource"
like "$(cat "$work/err")" "cannot get resource \"policyreports\"" "and so does stderr"
"$SCN" bind --user "$SA" --clusterrole runtime-verifier-policy-reports --namespace shop > /dev/null
kubectl delete policyreport runtime-verifier -n shop > /dev/null
verify "$work/sa.kubeconfig" -n shop --policy-reports --run-id polr3
is "$? $(jqr '.errors | length')" "0 0" "with components/policy-reports' role bound: exit 0, no error (get, then create)"
verify "$work/sa.kubeconfig" -n shop --policy-reports --run-id polr4
is "$? $(jqr '.errors | length')" "0 0" "and the next run replaces it (get, then update)"
getpolr shop
is "$(R '.metadata.annotations["runtime-verifier.io/run-id"] + " " + (.results | length | tostring)')" "polr4 2" \
	"the report is the last run's"
check "and validates against the CRD's schema" python3 "$work/validate.py" "$CRD" "$work/polr.json"

# --- 5. a report of that name that is not ours is left alone ------------------------
printf '%s\n' '{"apiVersion":"wgpolicyk8s.io/v1alpha2","kind":"PolicyReport","metadata":{"name":"runtime-verifier","namespace":"other"},"results":[]}' |
	kubectl create -f - > /dev/null
verify "$KUBECONFIG" -n other --policy-reports
is "$?" 2 "an existing runtime-verifier report without our managed-by label: exit 2"
like "$(jqr '.errors[0]')" "not labelled app.kubernetes.io/managed-by=runtime-verifier: not overwritten" "and it says why"
is "$(kubectl get policyreport runtime-verifier -n other -o json | jq -r '.metadata.labels // {} | length')" 0 \
	"the foreign report is unchanged"

# --- 6. concurrent writers: 409 Conflict and AlreadyExists ------------------------
# The fault proxy's knobs (docs/cluster-faults.md): before each PUT another
# writer really updates the report (its resourceVersion moves; the annotation
# below counts its writes), or creates it between the verifier's GET (404)
# and POST; the 409s are the real API server's. verify goes through the
# proxy, as a service account with cluster-admin (a TLS-terminating proxy
# cannot pass the admin's client certificate on).
cluster_proxy
PR=/apis/wgpolicyk8s.io/v1alpha2/namespaces/shop/policyreports
CW=test.runtime-verifier.io/concurrent-writes
GR=policyreports.wgpolicyk8s.io
# every write of shop's report after resourceVersion $1, from a watch:
# "TYPE resourceVersion run-id concurrent-writes" per line
writes() {
	[ -n "$1" ] || return 1   # (without one a watch starts with the current state)
	cluster_json GET "$PR?watch=1&resourceVersion=$1&timeoutSeconds=1&fieldSelector=metadata.name%3Druntime-verifier" -N |
		jq -r --arg cw "$CW" '"\(.type) \(.object.metadata.resourceVersion) \(.object.metadata.annotations["runtime-verifier.io/run-id"]) \(.object.metadata.annotations[$cw] // "-")"'
}
rv_now() { kubectl get policyreport runtime-verifier -n shop -o jsonpath='{.metadata.resourceVersion}'; }
rv0=$(rv_now)
"$SCN" fault "conflict_puts.$GR=2"
verify "$PROXY_KUBECONFIG" -n shop --policy-reports --run-id polr5
is "$? $(jqr '.errors | length')" "0 0" "two PUTs meet a concurrent write (409 Conflict): read again, written, exit 0"
"$SCN" fault clear
writes "$rv0" > "$work/writes"
is "$(cut -d' ' -f1,3,4 "$work/writes" | paste -sd,)" "MODIFIED polr4 1,MODIFIED polr4 2,MODIFIED polr5 -" \
	"the other writer's two updates, then ours: its change replaced only after the verifier read it"
check "resourceVersions along the chain increase ($rv0 then $(cut -d' ' -f2 "$work/writes" | paste -sd' '))" \
	sh -c 'prev=$1; shift; for v; do [ "$v" -gt "$prev" ] || exit 1; prev=$v; done' _ "$rv0" $(cut -d' ' -f2 "$work/writes")
getpolr shop
is "$(R .metadata.resourceVersion)" "$(tail -n1 "$work/writes" | cut -d' ' -f2)" "the stored report is the last write of the chain"
is "$(R '[.metadata.annotations["runtime-verifier.io/run-id"], (.results | length), ([.results[].properties.runId] | unique | join(",")), .summary.pass, .summary.fail] | join(" ")')" \
	"polr5 2 polr5 1 1" "it holds this run's results (1 pass, 1 fail)"
is "$(R ".metadata.annotations | has(\"$CW\")")" false "and not the other writer's annotation"
# (b) a report that changes before every PUT: bounded, then an error
"$SCN" fault "conflict_puts.$GR=9"
verify "$PROXY_KUBECONFIG" -n shop --policy-reports --run-id polr6
is "$?" 2 "a report changed before every PUT: exit 2"
like "$(jqr '.errors[0]')" "^policy report 'shop/runtime-verifier': still conflicting after 5 attempts: PUT [^ ]+: 409 Conflict: Operation cannot be fulfilled on policyreports.wgpolicyk8s.io \"runtime-verifier\": the object has been modified; please apply your changes to the latest version and try again\$" \
	"the report's error names the report, the conflict and the server's last answer"
like "$(cat "$work/err")" "policy report 'shop/runtime-verifier'.*conflict" "and so does stderr"
"$SCN" fault clear
getpolr shop
is "$(R ".metadata.annotations[\"$CW\"]")" 5 "bounded: 5 rounds (GET, PUT, 409), 5 of the 9 concurrent writes met"
is "$(R '.metadata.annotations["runtime-verifier.io/run-id"]')" polr5 "the other writer's report stays (nothing of run polr6)"
# (c) created by another writer between our GET (404) and our POST
kubectl delete policyreport runtime-verifier -n shop > /dev/null
rv0=$(cluster_json GET "$PR" | jq -r .metadata.resourceVersion)
"$SCN" fault "already_exists_posts.$GR=1"
verify "$PROXY_KUBECONFIG" -n shop --policy-reports --run-id polr7
is "$? $(jqr '.errors | length')" "0 0" "the POST meets 409 AlreadyExists: read again, updated, exit 0"
"$SCN" fault clear
writes "$rv0" > "$work/writes"
is "$(cut -d' ' -f1,3,4 "$work/writes" | paste -sd,)" "ADDED polr7 1,MODIFIED polr7 -" \
	"the other writer's create, then our update of what we read"
getpolr shop
is "$(P '.items | length') $(R .metadata.resourceVersion)" "1 $(tail -n1 "$work/writes" | cut -d' ' -f2)" \
	"one report, the last write of the chain"
is "$(R '[.metadata.annotations["runtime-verifier.io/run-id"], (.results | length), .summary.pass, .summary.fail] | join(" ")')" \
	"polr7 2 1 1" "holding this run's results"

# --- 7. no CRD installed ----------------------------------------------------------
kubectl delete crd policyreports.wgpolicyk8s.io > /dev/null
verify "$KUBECONFIG" -n shop -l app=good --policy-reports
is "$?" 2 "without the PolicyReport CRD: exit 2"
like "$(jqr '.errors[0]')" "is the PolicyReport CRD \(policyreports.wgpolicyk8s.io, wgpolicyk8s.io/v1alpha2\) installed" \
	"the error asks whether the CRD is installed"
verify "$KUBECONFIG" -n shop -l app=good
is "$? $(jqr '.errors | length')" "0 0" "without --policy-reports (the default) nothing is written, and nothing fails"

cluster_stop
echo "# policyreport_cluster.sh: $(($(date +%s) - T0))s (cluster up ${CLUSTER_UP_SECONDS}s, down ${CLUSTER_DOWN_SECONDS}s)"
done_testing
